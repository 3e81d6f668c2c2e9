# epro_status: the Prometheus text format (version 0.0.4), a HELP and a
# TYPE for every family; counters that grow by exactly what was sent, one
# result label for each way a request ends; connection gauges; cumulative
# histograms; database errors by SQLSTATE class; the $epro_* variables in
# an access log against the same numbers.  Counters are shared by all
# workers and survive reloads, so every check reads them before and after.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwd ();
use File::Basename ();
use IO::Socket::INET;
use Time::HiRes ();
use Epro qw(:DEFAULT phq9_answers response http_get http_post metrics delta
            req_key log_line);

master_on();
workers(2);

our $Instruments = Cwd::abs_path(File::Basename::dirname(__FILE__)
                                 . '/../conf/instruments.json');
-f $Instruments or die "015-status: $Instruments not found\n";
$ENV{TEST_NGINX_EPRO_INSTRUMENTS} = $Instruments;

db()->do(<<'SQL');
DROP TABLE IF EXISTS t_015_poison;
CREATE TABLE t_015_poison (LIKE epro_submissions INCLUDING ALL,
                           CHECK (subject_id <> 'POISON'));
SQL

# its statement trigger makes every commit take a second
db()->do(<<'SQL');
DROP TABLE IF EXISTS t_015_slow;
CREATE TABLE t_015_slow (LIKE epro_submissions INCLUDING ALL);
CREATE OR REPLACE FUNCTION t_015_slow() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
CREATE TRIGGER t_015_slow BEFORE INSERT ON t_015_slow
    FOR EACH STATEMENT EXECUTE FUNCTION t_015_slow();
SQL

our $Tag = sprintf 'S015-%08x', int rand 0xffffffff;
our $Poison = uuid();

our @Results = qw(created bad_json contract instrument forbidden
                  rejected_by_database too_large unsupported_type method
                  unavailable timeout client_gone refused error);

sub sub_json {
    my (%o) = @_;
    return phq9(id => $o{id}, subject => $o{subject},
                defined $o{phq9_3}
                    ? (answers => phq9_answers(PHQ9_3 => $o{phq9_3})) : (),
                $o{no_visit} ? (visitName => undef) : ());
}

sub wait_for {
    my ($cond, $secs) = @_;
    my $m;

    for (1 .. $secs * 10) {
        $m = metrics();
        return $m if $cond->($m);
        Time::HiRes::sleep(0.1);
    }

    return $m;
}

sub conns {
    my ($m, $state) = @_;
    return $m->{"epro_connections{state=\"$state\"}"} // 'absent';
}

# the text format: every line a HELP, a TYPE or a sample; every family
# with a HELP then a TYPE before its samples, its samples together
sub check_format {
    my ($text) = @_;
    my (%help, %type, %seen_family, @errors);
    my $current = '';

    like($text, qr/\n\z/, 'format: ends with a newline');

    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S/) {
            push @errors, "second HELP for $1" if $help{$1}++;
            $current = $1;

        } elsif ($line =~ /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/) {
            my ($name, $t) = ($1, $2);
            push @errors, "TYPE before HELP for $name" if !$help{$name};
            push @errors, "second TYPE for $name" if $type{$name};
            push @errors, "bad type $t for $name"
                if $t !~ /^(?:counter|gauge|histogram|summary|untyped)$/;
            $type{$name} = $t;
            $current = $name;

        } elsif ($line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)
                            (?:\{[a-zA-Z_]\w*="[^"\\\n]*"
                                (?:,[a-zA-Z_]\w*="[^"\\\n]*")*\})?
                            \x20(-?\d+(?:\.\d+)?)$/x)
        {
            my ($name, $family) = ($1, $1);
            my $base = $name =~ s/_(?:bucket|sum|count)$//r;
            $family = $base
                if !$type{$name} && ($type{$base} // '') eq 'histogram';
            push @errors, "sample of $family without a TYPE"
                if !$type{$family};
            push @errors, "samples of $family not together"
                if $family ne $current;
            push @errors, "counter $family does not end in _total"
                if ($type{$family} // '') eq 'counter'
                   && $family !~ /_total$/;
            $seen_family{$family} = 1;

        } else {
            push @errors, "bad line: $line";
        }
    }

    is(join("\n", @errors), '', 'format: HELP, TYPE and sample lines');

    is(join(' ', map { "$_:" . ($type{$_} // 'missing') }
                 qw(epro_requests_total epro_submissions_accepted_total
                    epro_submissions_duplicate_total epro_batches_total
                    epro_batch_rows epro_commit_seconds epro_queued_rows
                    epro_queue_bytes epro_waiting_requests
                    epro_connections epro_db_errors_total)),
       'epro_requests_total:counter epro_submissions_accepted_total:counter'
       . ' epro_submissions_duplicate_total:counter'
       . ' epro_batches_total:counter epro_batch_rows:histogram'
       . ' epro_commit_seconds:histogram epro_queued_rows:gauge'
       . ' epro_queue_bytes:gauge epro_waiting_requests:gauge'
       . ' epro_connections:gauge epro_db_errors_total:counter',
       'format: the families and their types');

    my @labels = $text =~ /^epro_requests_total\{result="(\w+)"\}/mg;
    is("@labels", "@Results", 'format: one sample per result');

    my @states = $text =~ /^epro_connections\{state="(\w+)"\}/mg;
    is("@states", 'down connecting preparing idle busy',
       'format: one sample per connection state');
}

# the buckets of a histogram: cumulative, le ascending, ending in +Inf
# equal to _count
sub check_histogram {
    my ($text, $name) = @_;
    my @b = $text =~ /^${name}_bucket\{le="([^"]+)"\} (\d+)$/mg;
    my ($count) = $text =~ /^${name}_count (\d+)$/m;
    my ($sum) = $text =~ /^${name}_sum (\d+(?:\.\d+)?)$/m;
    my @errors;
    my ($prev_le, $prev_n) = (-1, 0);

    push @errors, 'no buckets' if !@b;

    while (my ($le, $n) = splice @b, 0, 2) {
        if ($le eq '+Inf') {
            push @errors, "+Inf is not last" if @b;
            push @errors, "+Inf $n != _count " . ($count // 'missing')
                if !defined $count || $n != $count;

        } else {
            push @errors, "le=$le after le=$prev_le" if $le <= $prev_le;
            $prev_le = $le;
        }

        push @errors, "le=$le: $n < $prev_n" if $n < $prev_n;
        $prev_n = $n;
        push @errors, 'last bucket is not +Inf' if !@b && $le ne '+Inf';
    }

    push @errors, 'no _sum' if !defined $sum;
    is(join('; ', @errors), '', "$name: cumulative buckets, +Inf = _count");

    return ($count, $sum);
}

our $Http = <<'_EOC_';
    epro_instruments $TEST_NGINX_EPRO_INSTRUMENTS;
    epro_pg_pool_size 3;
    log_format epro_t '$http_x_tag $status result=$epro_result '
                      'rows=$epro_rows dups=$epro_duplicates '
                      'batch=$epro_batch_rows commit_ms=$epro_commit_ms '
                      'ids=$epro_ids';
_EOC_

our $Config = <<'_EOC_';
    location = /s {
        client_max_body_size 64k;
        access_log $TEST_NGINX_SERVER_ROOT/logs/epro.log epro_t;
        epro_submit;
    }

    location = /metrics {
        epro_status;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the text format 0.0.4: HELP and TYPE for every family
--- http_config eval: $::Http
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- response_headers_like
Content-Type: ^text/plain; version=0\.0\.4(; charset=utf-8)?$
--- post_check
main::check_format($body);
main::check_histogram($body, 'epro_batch_rows');
main::check_histogram($body, 'epro_commit_seconds');



=== TEST 2: N submissions: created and accepted grow by N
--- http_config eval: $::Http
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- post_check
my $n = 7;
my @ids = map { uuid() } 1 .. $n;
my $m0 = metrics();
my @res = post_many('/s', map { phq9(id => $_) } @ids);
is(join(',', map { $_->[0] } @res), join(',', (201) x $n), 'all 201');
my $m1 = metrics();
is(delta($m0, $m1, req_key('created')), $n, 'created +N');
is(delta($m0, $m1, 'epro_submissions_accepted_total'), $n,
   'accepted +N');
is(delta($m0, $m1, 'epro_submissions_duplicate_total'), 0,
   'duplicates +0');
is(delta($m0, $m1, 'epro_batch_rows_sum'), $n, 'batch rows sum +N');
my $batches = delta($m0, $m1, 'epro_batches_total');
ok($batches >= 1 && $batches <= $n, "1 to N batches ($batches)");
is(delta($m0, $m1, 'epro_batch_rows_count'), $batches,
   'batch_rows_count + batches');
is(delta($m0, $m1, 'epro_commit_seconds_count'), $batches,
   'commit_seconds_count + batches');
only_ok('created', $n, $m0, $m1, 'N submissions');

# a retry of one of them: created, not accepted, one duplicate
my $r = http_post(phq9(id => $ids[0]));
is($r->{status}, 201, 'retry 201');
like($r->{body}, qr/"accepted":0,"duplicates":1/, 'retry body');
my $m2 = metrics();
only_ok('created', 1, $m1, $m2, 'a retry');
is(delta($m1, $m2, 'epro_submissions_accepted_total'), 0,
   'retry: accepted +0');
is(delta($m1, $m2, 'epro_submissions_duplicate_total'), 1,
   'retry: duplicates +1');
is(sql('SELECT count(*) FROM epro_submissions WHERE submission_id = ANY(?)',
       \@ids), "$n\n", 'N rows');



=== TEST 3: a submission that breaks the contract (no visitName) is result="contract"
--- http_config eval: $::Http
--- config eval: $::Config
--- request eval
"POST /s\n" . ::sub_json(no_visit => 1)
--- error_code: 422
--- metrics_delta
result=contract 1



=== TEST 4: a submission its instrument refuses (PHQ9_3 7) is result="instrument"
--- http_config eval: $::Http
--- config eval: $::Config
--- request eval
"POST /s\n" . ::sub_json(phq9_3 => 7)
--- error_code: 422
--- metrics_delta
result=instrument 1



=== TEST 5: malformed JSON is result="bad_json"
--- http_config eval: $::Http
--- config eval: $::Config
--- request
POST /s
{"studyId":
--- error_code: 400
--- metrics_delta
result=bad_json 1



=== TEST 6: Content-Type text/plain is result="unsupported_type"
--- http_config eval: $::Http
--- config eval: $::Config
--- more_headers
Content-Type: text/plain
--- request eval
"POST /s\n" . ::phq9()
--- error_code: 415
--- metrics_delta
result=unsupported_type 1



=== TEST 7: no Content-Type is result="unsupported_type"
--- http_config eval: $::Http
--- config eval: $::Config
--- more_headers
--- request eval
"POST /s\n" . ::phq9()
--- error_code: 415
--- metrics_delta
result=unsupported_type 1



=== TEST 8: GET is result="method"
--- http_config eval: $::Http
--- config eval: $::Config
--- request
GET /s
--- error_code: 405
--- metrics_delta
result=method 1



=== TEST 9: PUT is result="method"
--- http_config eval: $::Http
--- config eval: $::Config
--- more_headers
Content-Type: application/json
--- request eval
"PUT /s\n" . ::phq9()
--- error_code: 405
--- metrics_delta
result=method 1



=== TEST 10: a body over client_max_body_size is result="too_large"
--- http_config eval: $::Http
--- config eval: $::Config
--- more_headers
X-Tag: first-413
--- request eval
"POST /s\n[" . ('1,' x 40000) . '1]'
--- error_code: 413
--- response_body_like: "type":"urn:epro:problem:http-413"
--- post_check
my $big = '[' . ('1,' x 40000) . '1]';
my $log = "$Test::Nginx::Util::ServRoot/logs/epro.log";
for my $chunked (0, 1) {
    my $how = $chunked ? 'chunked' : 'Content-Length';
    my $m0 = metrics();
    my $r = http_post($big, chunked => $chunked,
                       header => "X-Tag: $main::Tag-413-$chunked\r\n");
    is($r->{status}, 413, "$how: 413");
    only_ok('too_large', 1, $m0, metrics(), "$how 413");
    like(log_line($log, "$main::Tag-413-$chunked"),
         qr/^\S+ 413 result=too_large rows=- /, "$how: logged");
}
--- error_log
client intended to send too large body
client intended to send too large chunked body
--- no_error_log
[alert]



=== TEST 11: idle connections = workers x pool size, also after a reload
--- http_config eval: $::Http
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- post_check
my $idle = sub { my $m = shift;
                 main::conns($m, 'idle') == 6
                 && !grep { main::conns($m, $_) }
                    qw(down connecting preparing busy) };
my $m = main::wait_for($idle, 10);
is(join(' ', map { "$_=" . main::conns($m, $_) }
             qw(down connecting preparing idle busy)),
   'down=0 connecting=0 preparing=0 idle=6 busy=0', '2 workers x 3, idle');
is($m->{epro_queued_rows}, 0, 'nothing queued');

# a reload: the old workers' connections leave the gauges as they close
my $pidfile = "$Test::Nginx::Util::ServRoot/logs/nginx.pid";
open my $fh, '<', $pidfile or die "$pidfile: $!";
chomp(my $master = <$fh>);
kill 'HUP', $master or die "HUP $master: $!";
Time::HiRes::sleep(0.5);
$m = main::wait_for($idle, 10);
is(join(' ', map { "$_=" . main::conns($m, $_) }
             qw(down connecting preparing idle busy)),
   'down=0 connecting=0 preparing=0 idle=6 busy=0', 'after a reload');
my $r = http_post(phq9());
is($r->{status}, 201, 'a submission after the reload');



=== TEST 12: a worker that dies does not leave its connections counted
--- http_config eval: $::Http
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- post_check
my $idle = sub { my $m = shift;
                 main::conns($m, 'idle') == 6
                 && !grep { main::conns($m, $_) }
                    qw(down connecting preparing busy) };
main::wait_for($idle, 10);
my $pidfile = "$Test::Nginx::Util::ServRoot/logs/nginx.pid";
open my $fh, '<', $pidfile or die "$pidfile: $!";
chomp(my $master = <$fh>);
chomp(my @workers = `pgrep -P $master`);
is(scalar @workers, 2, 'two workers');
kill 'KILL', $workers[0];
Time::HiRes::sleep(0.5);
my $m = main::wait_for($idle, 5);
is(join(' ', map { "$_=" . main::conns($m, $_) }
             qw(down connecting preparing idle busy)),
   'down=0 connecting=0 preparing=0 idle=6 busy=0',
   'after a worker was killed and respawned');
--- no_error_log
[error]
--- error_log
exited on signal 9



=== TEST 13: histograms: each batch in its bucket, cumulative, +Inf = count
--- http_config eval: $::Http
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- post_check
# one request at a time, so each is a batch of its own rows
my @le = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, '+Inf');
for my $c ([1, 1], [2, 2], [3, 5], [10, 10], [11, 20], [60, 100]) {
    my ($rows, $bucket) = @$c;
    my $m0 = metrics();
    my $r = http_post('[' . join(',', map { phq9() } 1 .. $rows) . ']');
    is($r->{status}, 201, "$rows row(s): 201");
    my $m1 = metrics();
    is(join(' ', map { delta($m0, $m1,
                                   "epro_batch_rows_bucket{le=\"$_\"}") }
                 @le),
       join(' ', map { $_ eq '+Inf' || $_ >= $bucket ? 1 : 0 } @le),
       "$rows row(s): counted from le=\"$bucket\" up");
    is(delta($m0, $m1, 'epro_batch_rows_sum'), $rows,
       "$rows row(s): _sum +$rows");
    is(delta($m0, $m1, 'epro_commit_seconds_count'), 1,
       "$rows row(s): one commit timed");
}
my $text = http_get('/metrics')->{body};
my ($count) = main::check_histogram($text, 'epro_batch_rows');
my ($ccount) = main::check_histogram($text, 'epro_commit_seconds');
my ($batches) = $text =~ /^epro_batches_total (\d+)$/m;
is($count, $batches, 'batch_rows_count = batches_total');
is($ccount, $batches, 'commit_seconds_count = batches_total');



=== TEST 14: a row PostgreSQL refuses counts in epro_db_errors_total{class="23"}
--- http_config eval: "    epro_table t_015_poison;\n$::Http"
--- config eval: $::Config
--- request eval
"POST /s\n" . ::phq9(id => $::Poison, subject => 'POISON')
--- error_code: 422
--- response_body_like: rejected-by-database.*SQLSTATE 23514
--- metrics_delta
epro_db_errors_total{class="23"} 1
result=rejected_by_database 1
epro_submissions_accepted_total 0
--- post_check
my $m1 = metrics();
is(join(',', grep { delta($Epro::M0, $m1, $_) }
             grep { /^epro_db_errors_total/ } keys %$m1),
   'epro_db_errors_total{class="23"}', 'no other class');
my $type = "# TYPE epro_db_errors_total counter\n";
my $c23 = 'epro_db_errors_total{class="23"} ';
like(http_get('/metrics')->{body},
     qr/^# HELP epro_db_errors_total .*\n\Q$type$c23\E\d+$/m,
     'the class sample follows its HELP and TYPE');
my $r = http_post(phq9(id => uuid()));
is($r->{status}, 201, 'a good row after it: 201');
--- sql eval
"SELECT count(*) FROM t_015_poison WHERE submission_id = '$::Poison'"
--- sql_result
0
--- no_error_log
[alert]
POISON
--- error_log
SQLSTATE 23514



=== TEST 15: $epro_* in an access log match the answers and the counters
--- http_config eval: $::Http
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- post_check
my $log = "$Test::Nginx::Util::ServRoot/logs/epro.log";
my ($x, $y) = (uuid(), uuid());
my $tag = $main::Tag;
my $h = sub { "X-Tag: $tag-$_[0]\r\n" };

my $r = http_post(phq9(id => $x), header => $h->('one'));
is($r->{status}, 201, 'one: 201');
like(log_line($log, "$tag-one"),
     qr/^\S+ 201 result=created rows=1 dups=0 batch=1 commit_ms=\d+ ids=$x$/,
     'one: logged');

# one new row, one already stored: the commit time against the counter
my $m0 = metrics();
$r = http_post('[' . phq9(id => $x) . ',' . phq9(id => $y) . ']',
                header => $h->('two'));
is($r->{status}, 201, 'two: 201');
is($r->{body}, qq{{"accepted":1,"duplicates":1,"ids":["$x","$y"]}\n},
   'two: body');
my $m1 = metrics();
my $line = log_line($log, "$tag-two");
like($line,
     qr/^\S+ 201 result=created rows=1 dups=1 batch=2 commit_ms=\d+ /,
     'two: logged');
my ($ms) = $line =~ /commit_ms=(\d+)/;
my ($ids) = $line =~ /ids=(\S+)/;
is($ids, "$x,$y", 'two: $epro_ids in request order');
is(sprintf('%.3f', delta($m0, $m1, 'epro_commit_seconds_sum')),
   sprintf('%.3f', $ms / 1000), '$epro_commit_ms = commit_seconds_sum +');
is(delta($m0, $m1, 'epro_batch_rows_bucket{le="2"}')
   - delta($m0, $m1, 'epro_batch_rows_bucket{le="1"}'), 1,
   '$epro_batch_rows 2 = a batch in le="2"');
is(delta($m0, $m1, 'epro_submissions_accepted_total'), 1,
   '$epro_rows = accepted +');
is(delta($m0, $m1, 'epro_submissions_duplicate_total'), 1,
   '$epro_duplicates = duplicate +');

# the outcomes that store nothing: a result, no numbers, no ids
my $none = 'rows=- dups=- batch=- commit_ms=- ids=-';
my @cases = (
    [contract => 422, sub { http_post(main::sub_json(no_visit => 1), @_) }],
    [instrument => 422, sub { http_post(main::sub_json(phq9_3 => 7), @_) }],
    [bad_json => 400, sub { http_post('[1,', @_) }],
    [unsupported_type => 415,
     sub { http_post(phq9(), type => 'text/plain', @_) }],
    [method => 405, sub { http_post('', method => 'DELETE', @_) }],
);
for my $c (@cases) {
    my ($label, $status, $send) = @$c;
    $r = $send->(header => $h->($label));
    is($r->{status}, $status, "$label: $status");
    like(log_line($log, "$tag-$label"),
         qr/^\S+ $status result=$label \Q$none\E$/, "$label: logged");
}



=== TEST 16: epro_status answers GET and HEAD; POST is 405
--- http_config eval: $::Http
--- config eval: $::Config
--- request
POST /metrics
{}
--- error_code: 405
--- post_check
my $r = http_get('/metrics', 'HEAD');
is($r->{status}, 200, 'HEAD: 200');
is($r->{body}, '', 'HEAD: no body');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     'HEAD: the type');
$r = http_post('x', uri => '/metrics', type => 'text/plain',
                method => 'PUT');
is($r->{status}, 405, 'PUT: 405');
is($r->{headers}{allow}, 'GET, HEAD', '405 names the allowed methods');
is(http_get('/metrics')->{status}, 200, 'GET after them: 200');
--- no_error_log
[alert]



=== TEST 17: epro_status without epro_submit: the families, all zero
--- http_config
--- config
    location = /metrics { epro_status; }
--- request
GET /metrics
--- error_code: 200
--- post_check
main::check_format($body);
is(join(',', grep { !/ 0(\.0+)?$/ } grep { !/^#/ } split /\n/, $body), '',
   'every sample is 0');



=== TEST 18: no database: 503 is result="unavailable", no connection idle
--- http_config eval
"    epro_pg_conninfo 'host=127.0.0.1 port=1 dbname=epro user=epro';\n"
. "    epro_pg_timeout 300ms;\n$::Http"
--- config eval: $::Config
--- more_headers
Content-Type: application/json
--- request eval
["POST /s\n" . main::phq9(), "POST /s\n" . main::phq9()]
--- error_code eval
[503, 503]
--- response_headers eval
["Retry-After: 1", "Retry-After: 1"]
--- metrics_delta
result=unavailable 2
epro_submissions_accepted_total 0
--- post_check
if ($req_idx == 1) {
    my $m1 = metrics();
    is(main::conns($m1, 'idle') + main::conns($m1, 'busy'), 0,
       'no connection idle or busy');
    is(main::conns($m1, 'down') + main::conns($m1, 'connecting')
       + main::conns($m1, 'preparing'), 6, 'all 6 down or connecting');
    is($m1->{epro_queued_rows}, 0, 'nothing left queued');
}
--- no_error_log
[alert]



=== TEST 19: slow commits: the busy and queued gauges; a client that leaves
--- http_config eval
"    epro_table t_015_slow;\n" . ($::Http =~ s/pool_size 3/pool_size 1/r)
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- post_check
my $log = "$Test::Nginx::Util::ServRoot/logs/epro.log";
my $settled = sub { my $m = shift;
                    main::conns($m, 'idle') == 2 && !$m->{epro_queued_rows} };
my $m0 = main::wait_for($settled, 10);

# three at once on two workers of one connection each: two of them meet
# in one worker, one commits (a second) while the other waits
my @ids = map { uuid() } 1 .. 3;
my @s = map { http_post(phq9(id => $_), send_only => 1) } @ids;
my $m1 = main::wait_for(sub { main::conns($_[0], 'busy') >= 1
                              && $_[0]{epro_queued_rows} >= 1 }, 3);
ok(main::conns($m1, 'busy') >= 1, 'a connection busy');
ok($m1->{epro_queued_rows} >= 1, 'a row queued');
ok($m1->{epro_queue_bytes} > 0, 'queue bytes > 0');
is(main::conns($m1, 'busy') + main::conns($m1, 'idle'), 2,
   'busy + idle = 2');
is(join(',', map { response($_)->{status} } @s), '201,201,201',
   'all 201');
my $m2 = main::wait_for($settled, 10);
is(main::conns($m2, 'busy') . ' ' . $m2->{epro_queued_rows}, '0 0',
   'then nothing busy or queued');
is("$m2->{epro_queue_bytes} $m2->{epro_waiting_requests}", '0 0',
   'queue bytes and waiting requests back to 0');
is(delta($m0, $m2, 'epro_submissions_accepted_total'), 3,
   'accepted +3');

# a client that leaves while its row is in flight: the row commits
my $id = uuid();
my $s = http_post(phq9(id => $id), send_only => 1,
                   header => "X-Tag: $main::Tag-gone\r\n");
main::wait_for(sub { main::conns($_[0], 'busy') >= 1 }, 3);
close $s;
my $m3 = main::wait_for(sub { delta($m2, $_[0],
                              'epro_submissions_accepted_total') == 1
                              && $settled->($_[0]) }, 10);
only_ok('client_gone', 1, $m2, $m3, 'a client that left');
is(delta($m2, $m3, 'epro_submissions_accepted_total'), 1,
   'its row is committed');
like(log_line($log, "$main::Tag-gone"),
     qr/^\S+ 499 result=client_gone /, 'logged as client_gone');



=== TEST 20: slow commits and epro_queue_max_bytes 1: the waiting requests gauge
--- http_config eval
"    epro_table t_015_slow;\n    epro_queue_max_bytes 1;\n"
. ($::Http =~ s/pool_size 3/pool_size 1/r)
--- config eval: $::Config
--- request
GET /metrics
--- error_code: 200
--- post_check
my $settled = sub { my $m = shift;
                    main::conns($m, 'idle') == 2 && !$m->{epro_queue_bytes}
                    && !$m->{epro_waiting_requests} };
my $m0 = main::wait_for($settled, 10);

# three at once on two workers: in one of them a request waits for room
my @ids = map { uuid() } 1 .. 3;
my @s = map { http_post(phq9(id => $_), send_only => 1) } @ids;
my $m1 = main::wait_for(sub { $_[0]{epro_waiting_requests} >= 1 }, 3);
ok($m1->{epro_waiting_requests} >= 1, 'a request waiting for room');
is($m1->{epro_queued_rows}, 0, 'its row not queued yet');
is(join(',', map { response($_)->{status} } @s), '201,201,201',
   'all 201');
my $m2 = main::wait_for($settled, 10);
is("$m2->{epro_queue_bytes} $m2->{epro_waiting_requests}", '0 0',
   'then nothing held or waiting');
is(delta($m0, $m2, 'epro_submissions_accepted_total'), 3,
   'accepted +3');



=== TEST 21: a commit not confirmed in time: 504, result="timeout"
--- http_config eval
"    epro_table t_015_slow;\n    epro_pg_timeout 300ms;\n$::Http"
--- config eval: $::Config
--- more_headers
Content-Type: application/json
X-Tag: first-504
--- request eval
"POST /s\n" . main::phq9()
--- error_code: 504
--- post_check
my $log = "$Test::Nginx::Util::ServRoot/logs/epro.log";
my $m0 = metrics();
my $id = uuid();
my $r = http_post(phq9(id => $id), header => "X-Tag: $main::Tag-504\r\n");
is($r->{status}, 504, 'the status');
like($r->{body}, qr/:commit-unconfirmed".*"ids":\["$id"\]/, 'the id');
only_ok('timeout', 1, $m0, metrics(), 'a commit timed out');
like(log_line($log, "$main::Tag-504"),
     qr/^\S+ 504 result=timeout rows=- dups=- batch=- commit_ms=- ids=$id$/,
     'logged as timeout, with the id');
--- no_error_log
[alert]
