# FHIR read by id (issue 12): GET [base]/QuestionnaireResponse/<id> and
# .../_history/1 on an epro_submit fhir prefix location answer the stored
# resource, byte for byte what the create answered; 404 OperationOutcome
# for an unknown id, a native row, another version, an id that is not a
# lower-case UUID (those without a query), a resource of another patient
# under epro_bind; 304 for If-None-Match, and for If-Modified-Since as
# the location's if_modified_since says; HEAD; 405 for other methods;
# 503 with Retry-After within epro_pg_timeout when the database does not
# answer; many reads at once share SELECTs (epro_lookups_total).
#
# /fhir/ reads and creates responses to t/fhir/test-q.json ("http://t/q|1").
#
# "--- as_created": the body is exactly what the create in --- init
# answered ($::Created); "--- head_of_created": no body, and
# Content-Length is the length of $::Created.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use Epro qw(:DEFAULT :t);

use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();
use Time::Local ();

fhir_env();

$Epro::DefaultConfig = <<'EOF';
    location = /s { epro_submit; }
    location = /metrics { epro_status; }
    location = /t { return 200 "ok\n"; }

    location /fhir/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
    }

    location /fhir-before/ {
        if_modified_since before;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
    }

    location /fhir-off/ {
        if_modified_since off;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
    }

    location /bound/ {
        epro_bind subjectId $http_x_user;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
    }
EOF

# a response to http://t/q|1 whose identifier, hence id, is sid($n)
sub qr_body {
    my ($n, %o) = @_;
    my $id = sid($n);
    my $subject = $o{subject} // 'p1';

    my $j = '{"resourceType":"QuestionnaireResponse",'
        . qq("identifier":{"system":"urn:t","value":"$id"},)
        . '"questionnaire":"http://t/q|1","status":"completed",'
        . qq("subject":{"reference":"Patient/$subject"},)
        . '"meta":{"tag":[{"code":"x"}],"versionId":"7"},'
        . '"authored":"2026-11-27T08:15:00Z",'
        . '"item":[{"linkId":"b","answer":[{"valueBoolean":true}]},'
        . '{"linkId":"g","item":[{"linkId":"g1",'
        . '"answer":[{"valueInteger":1}]}]}]}';

    # pretty: whitespace after each key, '{', '[' and ',' between values
    $j =~ s/(":|[\[{]|,(?=["{\[]))/$1\n   /g if $o{pretty};

    return $j;
}

# creates it; the 201's body.  %o: subject, pretty, as qr_body()
sub create {
    my ($n, %o) = @_;
    my $r = http_post(qr_body($n, %o), uri => '/fhir/QuestionnaireResponse',
                      type => 'application/fhir+json');

    die "create $n: $r->{status} $r->{body}\n" if $r->{status} != 201;

    return $r->{body};
}

# the HTTP dates one second before and one day after the HTTP date $lm
sub around {
    my ($lm) = @_;
    my @mon = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);
    my @day = qw(Sun Mon Tue Wed Thu Fri Sat);
    my %m = map { $mon[$_] => $_ } 0 .. 11;
    my ($d, $b, $y, $hh, $mm, $ss)
        = $lm =~ /(\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT/
        or die "Last-Modified: $lm\n";
    my $t = Time::Local::timegm($ss, $mm, $hh, $d, $m{$b}, $y);

    return map {
        my @g = gmtime $_;
        sprintf('%s, %02d %s %d %02d:%02d:%02d GMT', $day[$g[6]], $g[3],
                $mon[$g[4]], $g[5] + 1900, $g[2], $g[1], $g[0]);
    } $t - 1, $t + 86400;
}

# GETs every uri at once, each on its own connection; [status, body] each
sub get_many {
    my (@uris) = @_;
    my (%buf, %idx);
    my $sel = IO::Select->new;

    for my $i (0 .. $#uris) {
        my $s = Epro::server_connect();
        syswrite($s, "GET $uris[$i] HTTP/1.0\r\nHost: localhost\r\n\r\n");
        $idx{$s} = $i;
        $buf{$s} = '';
        $sel->add($s);
    }

    my @res;
    my $deadline = Time::HiRes::time() + 30;

    while ($sel->count && Time::HiRes::time() < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread($s, my $chunk, 65536);

            if ($n) {
                $buf{$s} .= $chunk;
                next;
            }

            my ($st) = $buf{$s} =~ m{^HTTP/\S+ (\d+)};
            my ($body) = $buf{$s} =~ m{\r\n\r\n(.*)\z}s;
            $res[$idx{$s}] = [$st // 0, $body // ''];
            $sel->remove($s);
            close $s;
        }
    }

    return @res;
}

our $Created;

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;

    return if $dry_run;

    if (defined $block->as_created) {
        is($body, $Created, $block->name . ' - the create\'s body');
    }
});

# "@ID<n>@" is sid(<n>), "@IDN@" sid(<the block's number>)
add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    for my $s (qw(request response_headers response_headers_like init
                  post_check))
    {
        my $v = $block->$s;

        next if !defined $v || ref $v;

        $v =~ s/\@IDN\@/sid($n)/ge;
        $v =~ s/\@ID(\d+)\@/sid($1)/ge;
        $block->set_value($s, $v);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: create then read: 200, the create's representation byte for byte, ETag, Last-Modified
--- init
$::Created = main::create(1);
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- error_code: 200
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
ETag: W/"1"
--- response_headers_like
Last-Modified: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT
--- as_created
--- metrics_delta
epro_reads_total{result="found"} 1
epro_lookups_total 1



=== TEST 2: the created body is the sent resource with the server's id and meta
--- init
$::Created = main::create(2);
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- error_code: 200
--- response_body_like eval
qr/^\{"resourceType":"QuestionnaireResponse","id":"${\ Epro::sid(2) }","meta":\{"tag":\[\{"code":"x"\}\],"versionId":"1","lastUpdated":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z"\},"identifier":\{"system":"urn:t","value":"${\ Epro::sid(2) }"\},"questionnaire":"http:\/\/t\/q\|1",.*"authored":"2026-11-27T08:15:00Z","item":\[.*\]\}\n\z/s



=== TEST 3: /_history/1 is the same resource
--- init
$::Created = main::create(3);
--- request
GET /fhir/QuestionnaireResponse/@IDN@/_history/1
--- error_code: 200
--- response_headers
ETag: W/"1"
--- as_created



=== TEST 4: /_history/2: 404 OperationOutcome, no query
--- init
main::create(4);
--- request
GET /fhir/QuestionnaireResponse/@IDN@/_history/2
--- error_code: 404
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- response_body_like
^\{"resourceType":"OperationOutcome","issue":\[\{"severity":"error","code":"not-found",.*$
--- metrics_delta
epro_reads_total{result="not_found"} 1
epro_lookups_total 0



=== TEST 5: an unknown id: 404 OperationOutcome after one lookup
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- error_code: 404
--- response_body_like
^\{"resourceType":"OperationOutcome","issue":\[\{"severity":"error","code":"not-found",.*$
--- metrics_delta
epro_reads_total{result="not_found"} 1
epro_reads_total{result="found"} 0
epro_lookups_total 1



=== TEST 6: an id that is not a lower-case UUID: 404, no query
--- init
main::create(6);
--- request eval
[map { "GET /fhir/QuestionnaireResponse/$_" }
     uc(Epro::sid(6)), 'abc', Epro::sid(6) . '0', substr(Epro::sid(6), 0, 35) . 'g',
     Epro::sid(6) . '/foo', Epro::sid(6) . '/_history/', Epro::sid(6) . '/_history/1/x']
--- error_code eval
[(404) x 7]
--- response_body_like eval
[('"code":"not-found"') x 7]
--- metrics_delta
epro_reads_total{result="not_found"} 7
epro_lookups_total 0



=== TEST 7: a native-contract row is not a FHIR resource: 404
--- seed eval
Epro::phq9(id => Epro::sid(7))
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- error_code: 404
--- response_body_like chomp
"code":"not-found"



=== TEST 8: If-None-Match W/"1", "1" or *: 304 with the ETag, no body
--- init
main::create(8);
--- request eval
[("GET /fhir/QuestionnaireResponse/" . Epro::sid(8)) x 4]
--- more_headers eval
["If-None-Match: W/\"1\"", "If-None-Match: \"1\"", "If-None-Match: *",
 "If-None-Match: \"0\", W/\"1\""]
--- error_code eval
[304, 304, 304, 304]
--- response_headers eval
[("ETag: W/\"1\"") x 4]
--- response_body eval
['', '', '', '']
--- metrics_delta
epro_reads_total{result="found"} 4



=== TEST 9: If-None-Match of another version: 200
--- init
$::Created = main::create(9);
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- more_headers
If-None-Match: W/"2"
--- error_code: 200
--- as_created



=== TEST 10: If-None-Match on an unknown id: 404, not 304
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- more_headers
If-None-Match: *
--- error_code: 404



=== TEST 11: HEAD: the headers of the GET, Content-Length of the body, no body
--- init
$::Created = main::create(11);
--- request
HEAD /fhir/QuestionnaireResponse/@IDN@
--- error_code: 200
--- response_headers
ETag: W/"1"
Content-Type: application/fhir+json; charset=utf-8
--- post_check
is(Epro::http_get('/fhir/QuestionnaireResponse/' . Epro::sid(11),
                  'HEAD')->{headers}{'content-length'},
   length $::Created, 'HEAD - Content-Length of the body');



=== TEST 12: PUT, DELETE, POST on a resource: 405 OperationOutcome, Allow: GET, HEAD
--- init
main::create(12);
--- request eval
["PUT /fhir/QuestionnaireResponse/" . Epro::sid(12) . "\n{}",
 "DELETE /fhir/QuestionnaireResponse/" . Epro::sid(12),
 "POST /fhir/QuestionnaireResponse/" . Epro::sid(12) . "\n{}"]
--- more_headers
Content-Type: application/fhir+json
--- error_code eval
[405, 405, 405]
--- response_headers eval
[("Allow: GET, HEAD\nContent-Type: application/fhir+json; charset=utf-8")
 x 3]
--- response_body_like eval
[('"code":"not-supported"') x 3]
--- metrics_delta
epro_lookups_total 0



=== TEST 13: epro_bind: the patient's own resource is read
--- init
$::Created = main::create(13, subject => 'p13');
--- request
GET /bound/QuestionnaireResponse/@IDN@
--- more_headers
X-User: p13
--- error_code: 200
--- as_created



=== TEST 14: epro_bind: another patient's resource is not found (404, never 403)
--- init
main::create(14, subject => 'p14');
--- request
GET /bound/QuestionnaireResponse/@IDN@
--- more_headers
X-User: p1
--- error_code: 404
--- response_body_like chomp
"code":"not-found"
--- metrics_delta
epro_reads_total{result="not_found"} 1
epro_lookups_total 1



=== TEST 15: epro_bind with no identity: 403 before any query
--- request
GET /bound/QuestionnaireResponse/@IDN@
--- error_code: 403
--- metrics_delta
epro_lookups_total 0



=== TEST 16: the database unreachable: 503 OperationOutcome with Retry-After after epro_pg_timeout
--- http_config
epro_pg_conninfo "host=127.0.0.1 port=1 dbname=x connect_timeout=1";
epro_pg_timeout 1s;
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/fhir+json; charset=utf-8
--- response_body_like chomp
"code":"transient"
--- elapsed
0.9 2
--- error_log
epro: no answer from the database to a read in 1000 ms
--- no_error_log
[alert]



=== TEST 17: the database does not answer (the table locked): 503 with Retry-After within epro_pg_timeout
--- http_config
epro_pg_timeout 1s;
epro_pg_pool_size 1;
epro_table t_027_locked;
--- init
Epro::db()->do('CREATE TABLE IF NOT EXISTS t_027_locked '
               . '(LIKE epro_submissions INCLUDING ALL)');
--- request
GET /t
--- post_check
my $uri = '/fhir/QuestionnaireResponse/' . Epro::sid(17);
is(Epro::http_get($uri)->{status}, 404, 'the connection is up');
my $dbh = Epro::db_connect();
$dbh->begin_work;
$dbh->do('LOCK TABLE t_027_locked IN ACCESS EXCLUSIVE MODE');
my $t0 = Time::HiRes::time();
my $r = Epro::http_get($uri);
my $dt = Time::HiRes::time() - $t0;
$dbh->rollback;
is($r->{status}, 503, 'locked: 503');
is($r->{headers}{'retry-after'}, 1, 'locked: Retry-After');
like($r->{body}, qr/"code":"transient"/, 'locked: an OperationOutcome');
ok($dt >= 0.9 && $dt < ($ENV{TEST_NGINX_USE_VALGRIND} ? 6 : 2),
   sprintf('locked: answered after %.2f s, the timeout 1 s', $dt));
--- error_log
epro: no answer from the database to a read in 1000 ms
--- no_error_log
[alert]



=== TEST 18: a lookup does not wait behind a full batch queue
--- http_config
epro_queue_max_rows 1;
epro_pg_pool_size 1;
epro_batch_max_delay 3s;
epro_batch_max_rows 2;
--- init
$::Created = main::create(18);
--- request
GET /t
--- post_check
my $held = Epro::http_post(Epro::phq9(), send_only => 1);
Time::HiRes::sleep(0.2);
is(Epro::http_post(Epro::phq9())->{status}, 503, 'the batch queue is full');
my $t0 = Time::HiRes::time();
my $r = Epro::http_get('/fhir/QuestionnaireResponse/' . Epro::sid(18));
is($r->{status}, 200, 'the read: 200');
is($r->{body}, $::Created, 'the read: the resource');
ok(Time::HiRes::time() - $t0 < 1, 'the read did not wait for the batch');
is(Epro::response($held)->{status}, 201, 'the queued row commits');
--- no_error_log
[alert]



=== TEST 19: many reads at once: all found, fewer SELECTs than reads
--- http_config
epro_pg_pool_size 2;
--- request
GET /t
--- post_check
my @n = map { 1900 + $_ } 1 .. 40;
my %made = map { ($_ => main::create($_)) } @n;
my $m0 = Epro::metrics();
my @res = main::get_many(map { '/fhir/QuestionnaireResponse/' . Epro::sid($_) }
                         @n, 1999);
my $m1 = Epro::metrics();
is(scalar(grep { $_->[0] == 200 } @res[0 .. 39]), 40, '40 reads: 200');
is_deeply([grep { $res[$_][1] ne $made{$n[$_]} } 0 .. 39], [],
          'each the resource as created');
is($res[40][0], 404, 'the unknown one among them: 404');
is(Epro::delta($m0, $m1, 'epro_reads_total{result="found"}'), 40,
   'reads found +40');
my $selects = Epro::delta($m0, $m1, 'epro_lookups_total');
SKIP: {
    # under valgrind the worker is too slow for reads to meet in a lookup
    skip 'grouping depends on timing: not under valgrind', 1
        if $ENV{TEST_NGINX_USE_VALGRIND};
    ok($selects >= 1 && $selects < 41, "41 reads in $selects SELECT(s)");
}
is(Epro::delta($m0, $m1, 'epro_lookup_ids_total'), 41, '41 ids asked');



=== TEST 20: a pretty-printed resource: the read is the create's body, whitespace and all
--- init
$::Created = main::create(20, pretty => 1);
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- error_code: 200
--- as_created
--- response_body_like
"identifier":\s+\{\s+"system":



=== TEST 21: epro_pg_statement unnamed: the SELECT is sent unnamed, the read the same
--- http_config
epro_pg_statement unnamed;
--- init
$::Created = main::create(21);
--- request
GET /fhir/QuestionnaireResponse/@IDN@
--- error_code: 200
--- as_created
--- metrics_delta
epro_lookups_total 1



=== TEST 22: If-Match W/"1" and If-Unmodified-Since are not turned into 412 by nginx's not_modified filter (the module's ETag is its own header)
--- init
$::Created = main::create(22);
--- request eval
[("GET /fhir/QuestionnaireResponse/" . Epro::sid(22)) x 2]
--- more_headers eval
["If-Match: W/\"1\"", "If-Unmodified-Since: Thu, 01 Jan 2026 00:00:00 GMT"]
--- error_code eval
[200, 200]



=== TEST 23: a resource POSTed to the base itself or to [base]/QuestionnaireResponse gets the Location [base]/QuestionnaireResponse/<id>/_history/1, which reads it back
--- request eval
["POST /fhir/\n" . main::qr_body(23),
 "POST /fhir/QuestionnaireResponse\n" . main::qr_body(24),
 "GET /fhir/QuestionnaireResponse/" . Epro::sid(23) . "/_history/1",
 "GET /fhir/QuestionnaireResponse/" . Epro::sid(24) . "/_history/1"]
--- more_headers
Content-Type: application/fhir+json
--- error_code eval
[201, 201, 200, 200]
--- response_headers_like eval
["Location: http://localhost:\\d+/fhir/QuestionnaireResponse/" . Epro::sid(23) . "/_history/1",
 "Location: http://localhost:\\d+/fhir/QuestionnaireResponse/" . Epro::sid(24) . "/_history/1",
 "ETag: W/\"1\"", "ETag: W/\"1\""]



=== TEST 24: If-Modified-Since (if_modified_since exact, nginx's default): 304 at the Last-Modified time, 200 at another or an invalid one; If-None-Match decides when both are sent
--- init
main::create(25);
--- request
GET /t
--- post_check
my $uri = '/fhir/QuestionnaireResponse/' . Epro::sid(25);
my $lm = Epro::http_get($uri)->{headers}{'last-modified'};
my ($old, $new) = main::around($lm);
my $n = 0;
for my $t ([$lm, 304], [$new, 200], [$old, 200], ['yesterday', 200],
           ["$lm\r\nIf-None-Match: W/\"2\"", 200],
           ["$old\r\nIf-None-Match: W/\"1\"", 304])
{
    my $r = Epro::http("GET $uri HTTP/1.0\r\nHost: localhost\r\n"
                       . "If-Modified-Since: $t->[0]\r\n\r\n");
    $n++;
    is($r->{status}, $t->[1], "If-Modified-Since $n: $t->[1]");
    is($r->{body}, '', "If-Modified-Since $n: no body") if $t->[1] == 304;
    is($r->{headers}{etag}, 'W/"1"', "If-Modified-Since $n: the ETag");
}



=== TEST 25: if_modified_since before: 304 at or after the Last-Modified time; off: If-Modified-Since is not evaluated
--- init
main::create(26);
--- request
GET /t
--- post_check
my $id = Epro::sid(26);
my $lm = Epro::http_get("/fhir/QuestionnaireResponse/$id")
             ->{headers}{'last-modified'};
my ($old, $new) = main::around($lm);
my $n = 0;
for my $t (['fhir-before', $lm, 304], ['fhir-before', $new, 304],
           ['fhir-before', $old, 200], ['fhir-off', $lm, 200])
{
    my $r = Epro::http("GET /$t->[0]/QuestionnaireResponse/$id HTTP/1.0\r\n"
                       . "Host: localhost\r\n"
                       . "If-Modified-Since: $t->[1]\r\n\r\n");
    $n++;
    is($r->{status}, $t->[2], "$t->[0] $n: $t->[2]");
}
