# Several databases and tables in one nginx (issue 13): epro_database
# NAME CONNINFO [param=value ...] defines a database, epro_pass NAME picks
# it for an epro_submit location, epro_table works in server and location
# context.  The databases: "a" (the test database, also "default", which
# Epro.pm's epro_pg_conninfo defines), "b" (epro_024b, a second database
# in the same cluster, made here with the schema) and, for the faults,
# "down" (a port where nothing listens).  Tables: epro_submissions and
# t_024_a2 in "a", epro_submissions and t_024_b2 (a FHIR location's) in
# "b".
# EPRO_LONG_TESTS=1 adds the fault block: the cluster of "c" (its own,
# port 16480 and up) killed and started again under load while "a"
# takes load too.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use Time::HiRes ();
use Epro qw(:DEFAULT fhir_env);
use EproCheck;
use EproPg '024';

master_on();
workers(1);

our ($PgDir, $PgPort, $PrivatePg, $dbb);

my $schema = do {
    open my $fh, '<', 'sql/schema.sql' or die "sql/schema.sql: $!";
    local $/;
    <$fh>;
};

# the second database, its schema loaded as util/pg.sh loads the first's
if (sql(q{SELECT count(*) FROM pg_database WHERE datname = 'epro_024b'})
    eq "0\n")
{
    db()->do('CREATE DATABASE epro_024b');
}

our $ConnB = conninfo() =~ s/\bdbname=\S+/dbname=epro_024b/r;

sub dbb {
    return $dbb if $dbb && $dbb->ping;

    my %kv = map { split /=/, $_, 2 } split ' ', $ConnB;
    my $user = delete $kv{user} // 'epro';
    $dbb = DBI->connect('dbi:Pg:' . join(';', map { "$_=$kv{$_}" }
                                              sort keys %kv),
                        $user, '', { RaiseError => 1, AutoCommit => 1,
                                     PrintWarn => 0, PrintError => 0 });
    $dbb->do('SET client_min_messages = warning');
    return $dbb;
}

# sql() with "@IDn@" replaced (--- sql cannot wait for the last request)
sub sql_a {
    my ($q) = @_;
    return sql(EproCheck::subst($q));
}

# the same, on the second database
sub sql_b {
    my ($q) = @_;
    my $rows = dbb()->selectall_arrayref(EproCheck::subst($q));
    return join '', map { join('|', map { $_ // '' } @$_) . "\n" } @$rows;
}

dbb()->do($schema);

dbb()->do('DROP TABLE IF EXISTS t_024_b2');
dbb()->do('CREATE TABLE t_024_b2 (LIKE epro_submissions INCLUDING ALL)');

db()->do('DROP TABLE IF EXISTS t_024_a2');
db()->do('CREATE TABLE t_024_a2 (LIKE epro_submissions INCLUDING ALL)');

$ENV{TEST_NGINX_DB_A} = conninfo();
my $phq9_fhir = fhir_env();

# the unit tests' US Core PHQ-9 response, its identifier "@UID<n>@"
sub phq9_fhir {
    my ($n) = @_;
    return $phq9_fhir =~ s/urn:uuid:[0-9A-Fa-f-]{36}/urn:uuid:\@UID$n\@/r;
}
$ENV{TEST_NGINX_DB_B} = $ConnB;
# nothing listens there: refused at once
$ENV{TEST_NGINX_DB_DOWN} = 'host=127.0.0.1 port=' . free_port(16460, 16479)
                           . ' dbname=epro user=epro';

# the cluster of the fault block
if ($ENV{EPRO_LONG_TESTS}) {
    ($PgDir, $PgPort, $ENV{TEST_NGINX_DB_C}, $PrivatePg)
        = private_pg(16480, 16499);
}

our $Http = <<'HTTP';
    epro_database a "$TEST_NGINX_DB_A";
    epro_database b "$TEST_NGINX_DB_B" pool_size=2 batch_max_rows=50;
HTTP

our $Config = <<'CONFIG';
    location = /a1 { epro_submit; epro_pass a; }
    location = /a2 { epro_submit; epro_pass a; epro_table t_024_a2; }
    location = /b1 { epro_submit; epro_pass b; }
    location = /d { epro_submit; }
    location = /metrics { epro_status; }
CONFIG

add_block_preprocessor(sub {
    my $block = shift;

    if (defined $block->http_config) {
        my $http = $block->http_config;
        $http =~ s/^\s*\@HTTP\@\s*$/$Http/m;
        $block->set_value('http_config', $http);
    }

    if (defined $block->config) {
        my $config = $block->config;
        $config =~ s/^\s*\@CONFIG\@\s*$/$Config/m;
        $block->set_value('config', $config);
    }

    if (ref $block->request && !defined $block->more_headers) {
        $block->set_value('more_headers', "Content-Type: application/json");
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: two databases, three tables, and the default database: each row lands where its location says
--- http_config
@HTTP@
--- config
@CONFIG@
--- request eval
["POST /a1\n" . sub_json(submissionId => '"@ID1@"'),
 "POST /a2\n" . sub_json(submissionId => '"@ID2@"'),
 "POST /b1\n" . sub_json(submissionId => '"@ID3@"'),
 "POST /d\n" . sub_json(submissionId => '"@ID4@"')]
--- error_code eval
[201, 201, 201, 201]
--- post_check
if ($req_idx == 3) {
    is(main::sql_b(q{SELECT submission_id FROM epro_submissions
                     WHERE submission_id IN ('@ID1@', '@ID2@', '@ID3@',
                                             '@ID4@')}),
       Epro::sid(3) . "\n", 'database b holds the row of /b1 only');
    is(main::sql_a(q{
        SELECT 'epro_submissions', submission_id FROM epro_submissions
         WHERE submission_id IN ('@ID1@', '@ID2@', '@ID3@', '@ID4@')
        UNION ALL
        SELECT 't_024_a2', submission_id FROM t_024_a2
         WHERE submission_id IN ('@ID1@', '@ID2@', '@ID3@', '@ID4@')
        ORDER BY 1, 2}),
       EproCheck::subst("epro_submissions|\@ID1\@\n"
                        . "epro_submissions|\@ID4\@\nt_024_a2|\@ID2\@\n"),
       'database a: /a1 and /d in epro_submissions, /a2 in t_024_a2');
}



=== TEST 2: epro_table and epro_pass in server context, a location overrides the table
--- http_config
@HTTP@
--- config
    epro_pass b;
    epro_table epro_submissions;
    location = /s { epro_submit; }
    location = /a2 { epro_submit; epro_pass a; epro_table t_024_a2; }
--- request eval
["POST /s\n" . sub_json(submissionId => '"@ID11@"'),
 "POST /a2\n" . sub_json(submissionId => '"@ID12@"')]
--- error_code eval
[201, 201]
--- post_check
if ($req_idx == 1) {
    is(main::sql_b(q{SELECT submission_id FROM epro_submissions
                     WHERE submission_id IN ('@ID11@', '@ID12@')}),
       Epro::sid(11) . "\n", '/s went to database b');
    is(main::sql_a(q{SELECT submission_id FROM t_024_a2
                     WHERE submission_id IN ('@ID11@', '@ID12@')}),
       Epro::sid(12) . "\n", '/a2 went to t_024_a2 of database a');
}



=== TEST 3: one database unreachable: its location gets 503 after its timeout, the others 201 at once
--- http_config
@HTTP@
    epro_database down "$TEST_NGINX_DB_DOWN" timeout=1s pool_size=1;
--- config
@CONFIG@
    location = /down { epro_submit; epro_pass down; }
--- request eval
["POST /down\n" . sub_json(submissionId => '"@ID21@"'),
 "POST /a1\n" . sub_json(submissionId => '"@ID22@"'),
 "POST /b1\n" . sub_json(submissionId => '"@ID23@"'),
 "POST /d\n" . sub_json(submissionId => '"@ID24@"')]
--- error_code eval
[503, 201, 201, 201]
--- elapsed
0.9 3 503 after the timeout of "down"
- 
- 
- 
--- post_check
if ($req_idx == 0) {
    my @r = Epro::post_many('/a1', map { Epro::phq9() } 1 .. 20);
    is(join(',', map { $_->[0] } @r), join(',', (201) x 20),
       'while "down" is down, /a1 answers 201 to 20 at once');
    # logged at the start, before the block's requests
    ok(Epro::wait_log(qr/\[error\] .*epro: connection 0: .*reconnecting, (?#
                         )database: "down"/),
       'the error line names the database');
    ok(!Epro::wait_log(qr/\[error\] .*database: "[ab]"/, 0),
       'no error for a or b');
}
--- no_error_log
[alert]



=== TEST 4: rows of two tables of one database, sent together, interleaved: one batch per table
--- http_config
    epro_database a "$TEST_NGINX_DB_A" batch_max_delay=300ms pool_size=1;
--- config
    location = /a1 { epro_submit; epro_pass a; }
    location = /a2 { epro_submit; epro_pass a; epro_table t_024_a2; }
    location = /metrics { epro_status; }
--- request
GET /metrics
--- error_code: 200
--- post_check
my $m0 = Epro::metrics();
my @ids = map { Epro::uuid() } 1 .. 6;
my @bodies = map { Epro::phq9(id => $_) } @ids;
my $port = $ENV{TEST_NGINX_SERVER_PORT} || $Test::Nginx::Util::ServerPort;
# interleaved, all at once: /a1, /a2, /a1, /a2, ...
my @socks = map {
    Epro::http_post($bodies[$_], uri => $_ % 2 ? '/a2' : '/a1',
                    send_only => 1)
} 0 .. 5;
my @st = map { Epro::response($_)->{status} } @socks;
is("@st", '201 201 201 201 201 201', 'all 201');
my $m1 = Epro::metrics();
is(Epro::delta($m0, $m1, 'epro_batches_total{database="a"}'), 2,
   'two batches: one per table');
is(Epro::delta($m0, $m1, 'epro_batch_rows_bucket{database="a",le="2"}'), 0,
   'no batch of one or two rows');
is(Epro::delta($m0, $m1, 'epro_batch_rows_bucket{database="a",le="5"}'), 2,
   'both of three rows');
my %in = map { @$_ } @{ Epro::db()->selectall_arrayref(
    q{SELECT submission_id::text, 'a1' FROM epro_submissions
       WHERE submission_id = ANY(?::uuid[])
      UNION ALL
      SELECT submission_id::text, 'a2' FROM t_024_a2
       WHERE submission_id = ANY(?::uuid[])}, undef, \@ids, \@ids) };
is(join(',', map { $in{$_} // 'none' } @ids), 'a1,a2,a1,a2,a1,a2',
   'each row in its location\'s table');



=== TEST 5: the metrics carry database="NAME", the default one "default"; $epro_database
--- http_config
@HTTP@
    log_format db '$request_uri $epro_database $epro_result';
--- config
@CONFIG@
    access_log logs/db.log db;
--- request eval
["POST /a1\n" . sub_json(submissionId => '"@ID31@"'),
 "POST /b1\n" . sub_json(submissionId => '"@ID32@"'),
 "POST /d\n" . sub_json(submissionId => '"@ID33@"'),
 "GET /metrics"]
--- error_code eval
[201, 201, 201, 200]
--- response_body_like eval
[qr/"accepted":1/, qr/"accepted":1/, qr/"accepted":1/,
 qr/^epro_requests_total\{database="a",result="created"\} [1-9]/m]
--- post_check
if ($req_idx == 3) {
    my $m = Epro::metrics();
    for my $db (qw(a b default)) {
        ok(($m->{"epro_requests_total{database=\"$db\",result=\"created\"}"}
            // 0) >= 1, "created counted for $db");
        ok(($m->{"epro_submissions_accepted_total{database=\"$db\"}"}
            // 0) >= 1, "accepted counted for $db");
        ok(defined $m->{"epro_connections{database=\"$db\",state=\"idle\"}"},
           "connections of $db");
        ok(defined $m->{"epro_batch_rows_count{database=\"$db\"}"},
           "batch histogram of $db");
    }
    is($m->{'epro_connections{database="b",state="idle"}'}, 2,
       'pool_size=2 of b: two connections idle');
    ok(!grep({ !/database="/ } keys %$m), 'every sample is labelled');
    my $log = $Test::Nginx::Util::ServRoot . '/logs/db.log';
    my @l = map { my $l = Epro::log_line($log, $_); chomp $l; $l }
            qw(/a1 /b1 /d);
    is("@l", '/a1 a created /b1 b created /d default created',
       '$epro_database in the access log');
}



=== TEST 6: one database only (epro_pg_conninfo): the metrics are as they were, unlabelled
--- config
    location = /s { epro_submit; }
    location = /metrics { epro_status; }
--- request eval
["POST /s\n" . sub_json(submissionId => '"@ID41@"'), "GET /metrics"]
--- error_code eval
[201, 200]
--- response_body_like eval
[qr/"accepted":1/,
 qr/^epro_requests_total\{result="created"\} [1-9].*^epro_connections\{state="idle"\} 4$/ms]
--- response_body_unlike eval
[qr/database/, qr/database/]



=== TEST 7: epro_pass names an unknown database
--- http_config
@HTTP@
--- config
    location = /s { epro_submit; epro_pass nosuch; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*unknown database "nosuch" in "epro_pass"/



=== TEST 8: a database defined twice
--- http_config
@HTTP@
    epro_database a "$TEST_NGINX_DB_A";
--- config
@CONFIG@
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*duplicate database "a"/



=== TEST 9: epro_database default beside epro_pg_conninfo
--- http_config
    epro_database default "$TEST_NGINX_DB_A";
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_pg_conninfo" and "epro_database default" both define the database "default"/



=== TEST 10: epro_database default alone is the default database
--- no_conninfo: 1
--- http_config
    epro_database default "$TEST_NGINX_DB_A";
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID51@"')
--- error_code: 201
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID51@'
--- sql_result
1



=== TEST 11: a bad table name in a location
--- http_config
@HTTP@
--- config
    location = /s { epro_submit; epro_pass a; epro_table "a;b"; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid table name "a;b" in "epro_table"/



=== TEST 12: epro_table in a location without epro_submit
--- http_config
@HTTP@
--- config
    location = /s { epro_submit; epro_pass a; }
    location = /x { epro_table t_024_a2; return 200; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_table" in a location without "epro_submit"/



=== TEST 13: epro_pass in a location without epro_submit
--- http_config
@HTTP@
--- config
    location = /x { epro_pass a; return 200; }
--- request
GET /x
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_pass" in a location without "epro_submit"/



=== TEST 14: a table on a location without a database (no epro_pg_conninfo, no epro_pass)
--- no_conninfo: 1
--- http_config
    epro_database a "$TEST_NGINX_DB_A";
--- config
    location = /s { epro_submit; epro_table t_024_a2; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_submit" is used but "epro_pg_conninfo" is not set \(nor "epro_pass"\)/



=== TEST 15: a parameter out of range
--- http_config
    epro_database a "$TEST_NGINX_DB_A" pool_size=0;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"pool_size" in "epro_database" must be between 1 and 256/



=== TEST 16: an unknown parameter
--- http_config
    epro_database a "$TEST_NGINX_DB_A" size=1;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid parameter "size=1" in "epro_database"/



=== TEST 17: a bad value for statement=
--- http_config
    epro_database a "$TEST_NGINX_DB_A" statement=named;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid value "statement=named" in "epro_database"/



=== TEST 18: a database name with a character metric labels cannot hold
--- http_config
    epro_database "a\"b" "$TEST_NGINX_DB_A";
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid database name "a"b" in "epro_database"/



=== TEST 19: a connection string libpq cannot parse, its text not logged
--- http_config
    epro_database a "host=127.0.0.1 password=s3cr3t-pw nosuchoption=1";
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_database" is not a valid libpq connection string/
--- no_error_log
s3cr3t-pw



=== TEST 20: statement=unnamed on one database, prepared on the other, two tables each prepared
--- http_config
    epro_database a "$TEST_NGINX_DB_A" statement=unnamed;
    epro_database b "$TEST_NGINX_DB_B";
--- config
    location = /a1 { epro_submit; epro_pass a; }
    location = /a2 { epro_submit; epro_pass a; epro_table t_024_a2; }
    location = /b1 { epro_submit; epro_pass b; }
    location = /b2 { epro_submit; epro_pass b; epro_table public.epro_submissions; }
--- request eval
["POST /a1\n" . sub_json(submissionId => '"@ID61@"'),
 "POST /a2\n" . sub_json(submissionId => '"@ID62@"'),
 "POST /b1\n" . sub_json(submissionId => '"@ID63@"'),
 "POST /b2\n" . sub_json(submissionId => '"@ID64@"')]
--- error_code eval
[201, 201, 201, 201]
--- post_check
if ($req_idx == 3) {
    is(main::sql_b(q{SELECT count(*) FROM epro_submissions
                     WHERE submission_id IN ('@ID63@', '@ID64@')}),
       "2\n", 'both tables of b (one table by two names) took their rows');
    is(main::sql_a(q{
        SELECT (SELECT count(*) FROM epro_submissions
                 WHERE submission_id = '@ID61@')
             + (SELECT count(*) FROM t_024_a2
                 WHERE submission_id = '@ID62@')}),
       "2\n", 'both tables of a took their rows');
}



=== TEST 21: a FHIR location with epro_pass and epro_table: the QuestionnaireResponse lands in that table of database b, with its score
--- http_config
@HTTP@
--- config
@CONFIG@
    location = /b/QuestionnaireResponse {
        epro_submit fhir;
        epro_pass b;
        epro_table t_024_b2;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_SHIPPED;
    }
--- request eval
"POST /b/QuestionnaireResponse\n" . main::phq9_fhir(71)
--- more_headers
Content-Type: application/fhir+json
--- error_code: 201
--- response_headers_like eval
"Location: http://localhost(:\\d+)?/b/QuestionnaireResponse/"
    . Epro::sid(71) . "/_history/1\n"
--- post_check
is(main::sql_b(q{SELECT fhir_status, score, instrument FROM t_024_b2
                 WHERE submission_id = '@ID71@'}),
   "completed|10|http://loinc.org/q/44249-1|2.74\n",
   'the row, its status and score in t_024_b2 of database b');
is(main::sql_b(q{SELECT count(*) FROM epro_submissions
                 WHERE submission_id = '@ID71@'}),
   "0\n", 'not in epro_submissions of b');
is(main::sql_a(q{SELECT count(*) FROM epro_submissions
                 WHERE submission_id = '@ID71@'}),
   "0\n", 'nor in database a');



=== TEST 22: (EPRO_LONG_TESTS) the cluster of "c" killed and started again under load while "a" takes load: nothing lost, no failure on "a"
--- skip_eval: 1: !$main::PrivatePg || !$ENV{EPRO_LONG_TESTS}
--- http_config
    epro_database a "$TEST_NGINX_DB_A" pool_size=2;
    epro_database c "$TEST_NGINX_DB_C" pool_size=2 timeout=2s;
--- config
    location = /a { epro_submit; epro_pass a; }
    location = /c { epro_submit; epro_pass c; }
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- post_check
Epro::wait_log(qr/epro: connection \d+: ready/, 5, 4)
    or fail('the pools are not ready');
main::pg_dbh($main::PgPort)->do('CHECKPOINT');
# "a" in a child, never retried: every request must get 201 at once
my @aids;
my $a_load = main::fork_load(uri => '/a', ids => \@aids, for => 8,
                             clients => 20, deadline => 20, once => 1);
my ($restart, @cids);
my $cres = main::load(uri => '/c', ids => \@cids, for => 8, clients => 20,
                      deadline => 30, at => [[1, sub {
    $restart = main::aside(sub {
        my ($w) = @_;
        main::pg_ctl($main::PgDir, '-m', 'immediate', '-w', 'stop')
            or die "stop\n";
        Time::HiRes::sleep(3);
        main::pg_sh('start', $main::PgDir, $main::PgPort);
        print $w "up\n";
    });
}]]);
is(main::aside_wait($restart), "up\n", 'the cluster of c was restarted');
my $ares = main::load_wait($a_load);
main::all_stored_once('c, killed', $cres, main::pg_dbh($main::PgPort),
                      'epro_submissions');
ok((grep { $_ ne '201' } map { @$_ } values %{ $cres->{seen} }) > 0,
   'c was down for a while') or diag(main::outcomes($cres));
like(main::outcomes($ares), qr/^201 x \d+$/, 'a: every request 201 at once');
main::all_stored_once('a', $ares, main::db(), 'epro_submissions');
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]



=== TEST 23: a reload that fails (a listen port taken) leaves the running counters alone; a database renamed by reloads starts at 0 in a block no configuration named, and its old name's counters are there again when the name comes back
--- http_config
    epro_database a "$TEST_NGINX_DB_A";
--- config
    location = /a1 { epro_submit; epro_pass a; }
    location = /metrics { epro_status; }
--- request
GET /metrics
--- error_code: 200
--- post_check
my $conf = "$Test::Nginx::Util::ServRoot/conf/nginx.conf";
my $text = do { open my $fh, '<', $conf or die "$conf: $!"; local $/; <$fh> };
my $named = sub { $text =~ s/epro_database a /epro_database $_[0] /r
                        =~ s/epro_pass a;/epro_pass $_[0];/r };
my $created = sub { $_[0]->{"epro_requests_total{database=\"$_[1]\","
                            . 'result="created"}'} // 0 };

# writes the configuration, reloads, waits for database $db in /metrics
my $reload = sub {
    my ($conf_text, $db) = @_;
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh $conf_text;
    close $fh;
    Epro::hup(wait => 1);
    for (1 .. 100) {
        my $m = Epro::metrics();
        return $m if exists $m->{"epro_queued_rows{database=\"$db\"}"};
        Time::HiRes::sleep(0.1);
    }
    return Epro::metrics();
};

for (1 .. 2) {
    is(Epro::http_post(Epro::phq9(), uri => '/a1')->{status}, 201, 'a 201');
}
my $n = $created->(Epro::metrics(), 'a');
ok($n >= 2, "a counted ($n)");

# renamed, and a listen port another socket holds: nginx gives up
my $busy = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, ReuseAddr => 0)
    or die "listen: $!";
my $bad = $named->('x') =~ s/(\bserver \{)/"$1\n        listen 127.0.0.1:"
                                            . $busy->sockport . ";"/er;
open my $fh, '>', $conf or die "$conf: $!";
print $fh $bad;
close $fh;
Epro::hup();
ok(Epro::wait_log(qr/still could not bind\(\)/, 10), 'the reload failed');
my $m = Epro::metrics();
is($created->($m, 'a'), $n, 'the running configuration\'s counters kept');
ok(!grep({ /database="x"/ } keys %$m), 'no x');

# a -> x -> y: each new name in a block never named, a's kept
$m = $reload->($named->('x'), 'x');
is($created->($m, 'x'), 0, 'x starts at 0');
is(Epro::http_post(Epro::phq9(), uri => '/a1')->{status}, 201, 'x 201');
is($created->(Epro::metrics(), 'x'), 1, 'x counted');
$m = $reload->($named->('y'), 'y');
is($created->($m, 'y'), 0, 'y starts at 0');
$m = $reload->($text, 'a');
is($created->($m, 'a'), $n, 'a\'s counters again under its name');
$m = $reload->($named->('x'), 'x');
is($created->($m, 'x'), 1, 'and x\'s under its own');
--- no_error_log
[error]
[crit]
[alert]
