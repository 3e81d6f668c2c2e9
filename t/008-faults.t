# Database faults: PostgreSQL unreachable (503 after epro_pg_timeout), a
# full queue (503 at once), a batch blocked behind a lock (504, then the
# worker reconnects), a statement cancelled (503), connections ended by the
# server, clients that leave while their rows are in flight or queued (the
# rows still commit, the worker does not crash), a flood against a blocked
# connection.  No log line may hold a submitted value: every value sent
# here carries "008-SECRET", and a trigger quotes rows in its messages.
# A WARNING while a batch commits (as PostgreSQL's "canceling wait for
# synchronous replication") makes its outcome unknown: 504, never 201.
# Beyond epro_queue_max_bytes a request waits with its body unread (no
# 100 Continue), up to epro_pg_timeout.  Tables t_008_*: ours, since they
# get locked.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use IO::Select;
use Time::HiRes ();
use Epro qw(:DEFAULT created http_post hold_room);
use EproPg '008';

master_on();
workers(1);
worker_connections(1024);

# own tables: they get locked
for my $t (qw(t_008_lock t_008_abort t_008_queue t_008_late t_008_cancel
               t_008_flood t_008_room))
{
    db()->do("CREATE TABLE IF NOT EXISTS $t "
             . "(LIKE epro_submissions INCLUDING ALL)");
}

# its trigger quotes the row's values in a WARNING, and in an ERROR for
# subjects ending in -REFUSE: none of that text may reach the log
db()->do("CREATE TABLE IF NOT EXISTS t_008_notice "
         . "(LIKE epro_submissions INCLUDING ALL)");
db()->do(<<'SQL');
CREATE OR REPLACE FUNCTION t_008_shout() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'row of % at %', NEW.subject_id, NEW.visit_name
        USING DETAIL = NEW.payload, HINT = NEW.answers::text;

    IF NEW.subject_id LIKE '%-REFUSE' THEN
        RAISE EXCEPTION 'refused % at %', NEW.subject_id, NEW.study_id
            USING DETAIL = NEW.payload, HINT = NEW.answers::text;
    END IF;

    RETURN NEW;
END
$$
SQL
db()->do("CREATE OR REPLACE TRIGGER t_008_shout BEFORE INSERT ON "
         . "t_008_notice FOR EACH ROW EXECUTE FUNCTION t_008_shout()");

# a WARNING only for an inserted row whose subject ends in -WARN, as
# PostgreSQL's when a commit stops waiting for its synchronous standby:
# AFTER INSERT, so a retry that finds its id stored draws none
db()->do("CREATE TABLE IF NOT EXISTS t_008_syncrep "
         . "(LIKE epro_submissions INCLUDING ALL)");
db()->do(<<'SQL');
CREATE OR REPLACE FUNCTION t_008_syncrep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.subject_id LIKE '%-WARN' THEN
        RAISE WARNING 'canceling wait for synchronous replication'
            USING DETAIL = NEW.payload;
    END IF;

    RETURN NULL;
END
$$
SQL
db()->do("CREATE OR REPLACE TRIGGER t_008_syncrep AFTER INSERT ON "
         . "t_008_syncrep FOR EACH ROW EXECUTE FUNCTION t_008_syncrep()");

our %Id = map { $_ => uuid() }
    qw(down full1 full2 lock1 lock2 abort queued inflight late cancel1
       cancel2 kill warn refuse down2 room1 room2 room3 room4 room5 room6
       room7 room8 room9 room10 room11 room12 sync1 sync2 late1 late2
       late3);

our ($Lock, $Sock, $Pos);

# one connection, room for one body (TESTs 13, 16 and 17)
our $Room = "epro_pg_conninfo \"" . conninfo() . " application_name=t008_room\";
epro_table t_008_room;
epro_pg_pool_size 1;
epro_queue_max_bytes 100;";

# a submission whose every value is a marker that must never be logged
sub secret {
    my ($id, $subject) = @_;
    return '{' . (defined $id ? '"submissionId":"' . $id . '",' : '')
        . '"studyId":"STUDY-008-SECRET",'
        . '"siteId":"SITE-008-SECRET","subjectId":"'
        . ($subject // 'SUBJ-008-SECRET') . '",'
        . '"visitName":"VISIT-008-SECRET","instrument":"PHQ9-008-SECRET",'
        . '"collectedAt":"2026-11-20T08:15:00+01:00",'
        . '"answers":{"PHQ9_1":3,"NOTE":"ANSWER-008-SECRET"}}';
}

sub problem {
    my ($status, @ids) = @_;
    my %p = (
        503 => ['database-unavailable', 'Service Unavailable',
                'nothing was stored; retry later with the same '
                . 'submissionId values'],
        504 => ['commit-unconfirmed', 'Gateway Timeout',
                'the commit was not confirmed in time, the outcome is '
                . 'unknown; retrying with the same submissionId values '
                . 'is safe'],
    );
    my ($type, $title, $detail) = @{ $p{$status} };

    return "{\"type\":\"urn:epro:problem:$type\",\"title\":\"$title\","
        . "\"status\":$status,\"detail\":\"$detail\",\"ids\":["
        . join(',', map { "\"$_\"" } @ids) . "]}\n";
}

# refused before the body is read: no ids to name
sub queue_full {
    return '{"type":"urn:epro:problem:database-unavailable",'
        . '"title":"Service Unavailable","status":503,'
        . '"detail":"the queue is full; nothing was stored, retry later"}'
        . "\n";
}

# sends a request on a socket of its own and leaves it waiting
sub send_aside {
    my ($body) = @_;

    $Sock = http_post($body, send_only => 1);
}

# what arrives on $s within $secs: the first bytes, or all until the server
# closes with $eof
sub read_for {
    my ($s, $secs, $eof) = @_;
    my $sel = IO::Select->new($s);
    my $got = '';

    $secs *= 4 if $ENV{TEST_NGINX_USE_VALGRIND};

    my $deadline = Time::HiRes::time() + $secs;

    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($s, my $chunk, 65536);
        last unless $n;
        $got .= $chunk;
        last unless $eof;
    }

    return $got;
}

# A request that waits for room with "Expect: 100-continue", its body
# unsent: returns the socket.
sub expect_room {
    my ($body) = @_;
    return http_post($body, sent => 0,
                     header => "Expect: 100-continue\r\n");
}

# The first sends the rest and gets 201; then the waiting one gets its
# 100 Continue, sends its body and gets 201 for its id, stored once.
sub free_room {
    my ($first, $b1, $second, $b2, $id) = @_;
    print $first substr($b1, 10);
    like(read_for($first, 3, 1), qr{^HTTP/1\.1 201 }, 'the first: 201');
    like(read_for($second, 3), qr{^HTTP/1\.1 100 Continue\r\n\r\n\z},
         'the waiting one: 100 Continue once the first is committed');
    print $second $b2;
    like(read_for($second, 3, 1),
         qr{^HTTP/1\.1 201 .*\r\n\r\n\Q${\ created(1, 0, $id) }\E\z}s,
         'and 201');
    is(rows('t_008_room', $id), "1\n", 'stored once');
}

sub read_aside {
    local $/;
    my $resp = <$Sock>;
    close $Sock;
    undef $Sock;
    return $resp;
}

# A client that POSTs $body and leaves after $after seconds without
# reading the response, as --- timeout and --- abort do; then $wait more
# seconds, as --- wait does, for what follows its leaving.
sub leave {
    my ($body, $after, $wait) = @_;
    my $s = http_post($body, send_only => 1);
    Time::HiRes::sleep($after);
    close $s;
    Time::HiRes::sleep($wait);
}

# where the next line of the error log of the block's nginx will start
sub log_pos {
    return -s $Test::Nginx::Util::ErrLogFile // 0;
}

# --- no_error_log for one string, on the lines of the error log from
# byte $pos on: what a request in --- post_check (or the block's request
# after --- init) logged
sub no_log_from {
    my ($pos, $str, $what) = @_;

    # a line of the log phase comes just after the response
    Time::HiRes::sleep(0.05);

    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or die "$!";
    seek $fh, $pos, 0;
    my @hit = grep { index($_, $str) >= 0 } <$fh>;
    ok(!@hit, "no \"$str\" logged $what") or diag(@hit);
}

# what --- grep_error_log shows for $re, on the whole error log of the
# block's nginx so far
sub grep_log {
    my ($re) = @_;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or die "$!";
    return join '', map { /$re/ ? "$&\n" : () } <$fh>;
}

# like(), on the whole error log of the block's nginx (--- error_log looks
# only at the lines logged since the previous request of the block)
sub log_like {
    my ($re, $name) = @_;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or die "$!";
    my $n = grep { /$re/ } <$fh>;
    ok($n > 0, "error log: $name") or diag("no line matches $re");
}

sub rows {
    my ($table, $id) = @_;
    return sql("SELECT count(*) FROM $table WHERE submission_id = ?", $id);
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: PostgreSQL unreachable: 503 after epro_pg_timeout, Retry-After, the ids
--- http_config
    epro_pg_conninfo "host=127.0.0.1 port=1 dbname=epro user=epro";
    epro_pg_timeout 500ms;
--- request eval
"POST /s\n" . ::secret($::Id{down})
--- error_code: 503
--- response_headers
Content-Type: application/problem+json
--- response_headers_like
Retry-After: \d+
--- response_body eval
::problem(503, $::Id{down})
--- elapsed
0.45 1.2 unreachable
--- post_check
is(main::rows('epro_submissions', $main::Id{down}), "0\n", 'nothing stored');
--- error_log eval
[qr/\[error\].*epro: connection 0: connection to server at "127\.0\.0\.1", port 1 failed: Connection refused/,
 qr/\[error\].*epro: no database connection for 500 ms, 1 queued row\(s\) refused/]
--- no_error_log
008-SECRET
[alert]



=== TEST 2: PostgreSQL unreachable: the 503 names generated ids too
--- http_config
    epro_pg_conninfo "postgresql://epro@127.0.0.1:1/epro";
    epro_pg_timeout 300ms;
--- request eval
"POST /s\n[" . ::secret($::Id{down2}) . "," . ::secret(undef) . "]"
--- error_code: 503
--- response_headers_like
Retry-After: \d+
--- response_body_like eval
my $id = $::Id{down2};
qr/^\{"type":"urn:epro:problem:database-unavailable",.*,"ids":\["$id","[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\]\}\n\z/
--- error_log
epro: no database connection for 300 ms, 2 queued row(s) refused
--- no_error_log
008-SECRET
[alert]



=== TEST 3: the queue is full (epro_queue_max_rows): 503 at once, nothing stored
--- http_config
    epro_queue_max_rows 1;
--- request eval
"POST /s\n[" . ::secret($::Id{full1}) . "," . ::secret($::Id{full2}) . "]"
--- error_code: 503
--- response_headers
Content-Type: application/problem+json
--- response_headers_like
Retry-After: \d+
--- response_body eval
::problem(503, $::Id{full1}, $::Id{full2})
--- elapsed
0 0.4 queue full
--- post_check
is(main::rows('epro_submissions', $main::Id{full1}), "0\n", 'nothing stored');
--- error_log
epro: queue full (0 rows, 
--- no_error_log
008-SECRET
[error]
[alert]



=== TEST 4: a batch blocked behind a lock: 504 with the ids after epro_pg_timeout; the worker reconnects and the next request gets 201; once the lock is gone the 504's row is stored at most once, and a retry with its id stores it exactly once
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_lock\";
epro_table t_008_lock;
epro_pg_pool_size 1;
epro_pg_timeout 1s;"
--- more_headers
Content-Type: application/json
--- init
Epro::wait_ready(1);
$main::Lock = main::hold_lock('t_008_lock', 1.5);
$Epro::T0 = Time::HiRes::time();
--- request eval
["POST /s\n" . ::secret($::Id{lock1}), "POST /s\n" . ::secret($::Id{lock2})]
--- error_code eval
[504, 201]
--- response_body eval
[::problem(504, $::Id{lock1}), ::created(1, 0, $::Id{lock2})]
--- elapsed
0.95 1.45 504
1.4 2.4 201 after the lock
--- post_check
if ($req_idx == 1) {
    main::log_like(qr/\[error\].*epro: connection 0: the commit was not confirmed in time, reconnecting/, '504 logged');
    main::log_like(qr/\[notice\].*epro: connection 0: ready/, 'reconnected');

    main::lock_wait($main::Lock);
    my $n = main::rows('t_008_lock', $main::Id{lock1});
    diag("the row of the 504 request was " . ($n == 1 ? '' : 'NOT ')
         . "committed after the lock was released");
    ok($n <= 1, "the 504 request's row is stored at most once");

    my $pos = main::log_pos();
    my $r = http_post(main::secret($main::Id{lock1}));
    my $id = $main::Id{lock1};
    is($r->{status}, 201, 'the retry of the 504: 201');
    like($r->{body}, qr/^\{"accepted":(1,"duplicates":0|0,"duplicates":1),"ids":\["$id"\]\}\n\z/, 'the retry of the 504: its id');
    is(sql("SELECT count(*), min(payload) = '" . main::secret($id) . "' FROM t_008_lock WHERE submission_id = '$id' UNION ALL SELECT count(*), true FROM t_008_lock WHERE submission_id = '$main::Id{lock2}'"),
       "1|1\n1|1\n", 'both rows are stored once, the retried one as sent');
    main::no_log_from($pos, '[error]', 'by the retry');
}
--- no_error_log
008-SECRET
[alert]



=== TEST 5: a client leaves while its batch is in flight: no crash, the row still commits, exactly once (its retry is a duplicate)
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_abort\";
epro_table t_008_abort;
epro_pg_pool_size 1;
epro_pg_timeout 5s;"
--- init
Epro::wait_ready(1);
$main::Lock = main::hold_lock('t_008_abort', 1);
main::leave(main::secret($main::Id{abort}), 0.5, 2);
main::lock_wait($main::Lock);
--- request eval
"POST /s\n" . ::secret($::Id{abort})
--- error_code: 201
--- response_body eval
::created(0, 1, $::Id{abort})
--- sql eval
"SELECT count(*), min(payload) = '" . ::secret($::Id{abort}) . "', min(subject_id) FROM t_008_abort WHERE submission_id = '$::Id{abort}'"
--- sql_result
1|1|SUBJ-008-SECRET
--- error_log eval
[qr/\[info\].*epro: client left before the commit of 1 row\(s\); they are still committed/,
 qr/epro: connection 0: committed 1 of 1 row\(s\)/]
--- no_error_log
008-SECRET
exited on signal
[error]
[alert]
[emerg]



=== TEST 6: a client leaves while its batch is still queued behind a busy connection: the row still commits; the client that stayed gets 201; both rows are committed once
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_queue\";
epro_table t_008_queue;
epro_pg_pool_size 1;
epro_pg_timeout 5s;"
--- init
Epro::wait_ready(1);
$main::Lock = main::hold_lock('t_008_queue', 1);
main::send_aside(main::secret($main::Id{inflight}));
Time::HiRes::sleep(0.1);
main::leave(main::secret($main::Id{queued}), 0.5, 2);
Test::More::is(main::grep_log(qr/committed \d+ of \d+ row\(s\)/),
               "committed 1 of 1 row(s)\ncommitted 1 of 1 row(s)\n",
               'each row is committed in a batch of its own');
main::lock_wait($main::Lock);
--- request eval
"POST /s\n" . ::secret($::Id{queued})
--- error_code: 201
--- response_body eval
::created(0, 1, $::Id{queued})
--- post_check
like(main::read_aside(),
     qr/^HTTP\/1\.1 201 .*\r\n\r\n\Q${\ main::created(1, 0, $main::Id{inflight}) }\E\z/s,
     'the waiting client got 201');
--- sql eval
"SELECT count(*) FROM t_008_queue WHERE submission_id IN ('$::Id{queued}', '$::Id{inflight}') GROUP BY submission_id"
--- sql_result
1
1
--- error_log eval
[qr/\[info\].*epro: client left before the commit of 1 row\(s\); they are still committed/,
 qr/epro: connection 0: committed 1 of 1 row\(s\)/]
--- no_error_log
008-SECRET
exited on signal
[error]
[alert]
[emerg]



=== TEST 7: a client leaves, then its batch is not confirmed in time (504 to nobody): no crash; once the lock is gone its row is stored at most once
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_late\";
epro_table t_008_late;
epro_pg_pool_size 1;
epro_pg_timeout 1s;"
--- init
Epro::wait_ready(1);
$main::Lock = main::hold_lock('t_008_late', 1.5);
main::leave(main::secret($main::Id{late}), 0.5, 1.5);
main::lock_wait($main::Lock);
$main::Pos = main::log_pos();
--- request
GET /s
--- error_code: 405
--- post_check
main::no_log_from($main::Pos, '[error]', 'by the GET');
--- sql eval
"SELECT count(*) <= 1 FROM t_008_late WHERE submission_id = '$::Id{late}'"
--- sql_result
1
--- error_log eval
[qr/\[info\].*epro: client left before the commit of 1 row\(s\)/,
 qr/\[error\].*epro: connection 0: the commit was not confirmed in time, reconnecting/]
--- no_error_log
008-SECRET
exited on signal
[alert]
[emerg]



=== TEST 8: the statement is cancelled while blocked: 503 (rolled back, nothing stored); the connection serves the next request
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_cancel\";
epro_table t_008_cancel;
epro_pg_pool_size 1;
epro_pg_timeout 5s;"
--- more_headers
Content-Type: application/json
--- init
Epro::wait_ready(1);
$main::Lock = main::hold_lock('t_008_cancel', 0.5, cancel => 0.5,
                             app => 't008_cancel');
$Epro::T0 = Time::HiRes::time();
--- request eval
["POST /s\n" . ::secret($::Id{cancel1}), "POST /s\n" . ::secret($::Id{cancel2})]
--- error_code eval
[503, 201]
--- response_headers_like eval
["Retry-After: \\d+", ""]
--- response_body eval
[::problem(503, $::Id{cancel1}), ::created(1, 0, $::Id{cancel2})]
--- elapsed
0.4 0.95 cancelled
--- post_check
if ($req_idx == 1) {
    main::lock_wait($main::Lock);
    is(main::rows('t_008_cancel', $main::Id{cancel1}), "0\n", '503: nothing stored');
    is(main::rows('t_008_cancel', $main::Id{cancel2}), "1\n", '201: stored');
    main::log_like(qr/\[error\].*epro: connection 0: batch of 1 row\(s\) failed, SQLSTATE 57014\b/, 'the cancel is logged');
}
--- no_error_log
008-SECRET
reconnecting
[alert]



=== TEST 9: the server ends the idle connections: the worker reconnects and answers 201
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_kill\";
epro_pg_pool_size 1;"
--- init
Epro::wait_ready(1);
Test::More::is(Epro::sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 't008_kill'"), "1\n", 'the connection is ended');
Time::HiRes::sleep(0.3);
--- request eval
"POST /s\n" . ::secret($::Id{kill})
--- error_code: 201
--- response_body eval
::created(1, 0, $::Id{kill})
--- sql eval
"SELECT count(*) FROM epro_submissions WHERE submission_id = '$::Id{kill}'"
--- sql_result
1
--- error_log eval
[qr/\[error\].*epro: connection 0: connection lost, reconnecting/,
 qr/\[notice\].*epro: connection 0: ready/]
--- no_error_log
008-SECRET
[alert]



=== TEST 10: a trigger's WARNING quoting the row: the row is stored, but a WARNING during the commit makes it 504 (outcome unknown); only its SQLSTATE is logged
--- http_config
    epro_table t_008_notice;
    epro_pg_pool_size 1;
--- request eval
"POST /s\n" . ::secret($::Id{warn})
--- error_code: 504
--- response_body eval
::problem(504, $::Id{warn})
--- sql eval
"SELECT count(*) FROM t_008_notice WHERE submission_id = '$::Id{warn}'"
--- sql_result
1
--- error_log eval
qr/\[notice\].*epro: connection 0: PostgreSQL WARNING, SQLSTATE 01000$/
--- no_error_log
008-SECRET
row of
[error]
[alert]



=== TEST 11: a trigger's ERROR quoting the row: refused, nothing stored, only the SQLSTATE is logged
--- http_config
    epro_table t_008_notice;
    epro_pg_pool_size 1;
--- request eval
"POST /s\n" . ::secret($::Id{refuse}, 'SUBJ-008-SECRET-REFUSE')
--- error_code_like: ^(?:422|503)$
--- response_body_like eval
my $id = $::Id{refuse};
qr/"ids":\["$id"\]/
--- sql eval
"SELECT count(*) FROM t_008_notice WHERE submission_id = '$::Id{refuse}'"
--- sql_result
0
--- error_log eval
qr/\[error\].*epro: connection 0: batch of 1 row\(s\) failed, SQLSTATE P0001\b/
--- no_error_log
008-SECRET
refused
row of
[alert]



=== TEST 12: 150 clients at once while the only connection is blocked: beyond epro_queue_max_rows 503 at once; every 201 stored once, no 503 stored
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_flood\";
epro_table t_008_flood;
epro_pg_pool_size 1;
epro_queue_max_rows 50;
epro_pg_timeout 5s;"
--- init
Epro::wait_ready(1);
$main::Lock = main::hold_lock('t_008_flood', 1);
--- post_check
my @ids = map { uuid() } 1 .. 150;
my @res = post_many('/s', map { main::secret($_) } @ids);
my (@created, @refused, @other);
for my $i (0 .. $#ids) {
    my ($st, $b) = @{ $res[$i] // [0, ''] };
    if ($st == 201 && $b eq main::created(1, 0, $ids[$i])) { push @created, $ids[$i] }
    elsif ($st == 503 && ($b eq main::problem(503, $ids[$i])
                          || $b eq main::queue_full()))
    {
        push @refused, $ids[$i];
    }
    else { push @other, "$i: $st $b" }
}
main::lock_wait($main::Lock);
is_deeply(\@other, [], 'only 201 and 503 answers');
ok(@refused >= 50, scalar(@refused) . ' refused (at least 50)');
ok(@created >= 1, scalar(@created) . ' created');
is(sql('SELECT count(*) FROM t_008_flood WHERE submission_id = ANY(?::uuid[])', \@created),
   scalar(@created) . "\n", 'every 201 is stored');
is(sql('SELECT count(*) FROM t_008_flood WHERE submission_id = ANY(?::uuid[])', \@refused),
   "0\n", 'no 503 is stored');
is(sql('SELECT count(*) - count(DISTINCT submission_id) FROM t_008_flood'), "0\n",
   'no id twice');
--- error_log
refusing requests
--- no_error_log
008-SECRET
[error]
[alert]



=== TEST 13: beyond epro_queue_max_bytes a request waits, its body unread (no 100 Continue), and gets in once there is room
--- http_config eval: $::Room
--- init
Epro::wait_ready(1);
--- post_check
my ($b1, $b2) = map { main::secret($main::Id{$_}) } qw(room1 room2);
my $first = hold_room($b1);
my $second = main::expect_room($b2);
is(main::read_for($second, 0.5), '', 'no 100 Continue while there is no room');
main::free_room($first, $b1, $second, $b2, $main::Id{room2});
--- no_error_log
008-SECRET
refusing requests
[error]
[alert]



=== TEST 14: a request that waits for room longer than epro_pg_timeout: 503 queue full, Retry-After, its body never read
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_room\";
epro_table t_008_room;
epro_pg_pool_size 1;
epro_pg_timeout 1s;
epro_queue_max_bytes 100;"
--- init
Epro::wait_ready(1);
$main::Sock = Epro::hold_room(main::secret($main::Id{room3}));
$Epro::T0 = Time::HiRes::time();
--- request eval
"POST /s\n" . ::secret($::Id{room4})
--- error_code: 503
--- response_headers_like
Retry-After: \d+
--- response_body eval
::queue_full()
--- elapsed
0.95 1.6 waited for room
--- post_check
close $main::Sock;
undef $main::Sock;
is(main::rows('t_008_room', $main::Id{room4}), "0\n", 'nothing stored');
--- error_log eval
qr/\[warn\].*epro: queue full \(0 rows, \d+ bytes\), refusing requests/
--- no_error_log
008-SECRET
[error]
[alert]



=== TEST 15: no database connection is up: beyond epro_queue_max_bytes 503 at once
--- http_config
    epro_pg_conninfo "host=127.0.0.1 port=1 dbname=epro user=epro";
    epro_pg_timeout 1s;
    epro_queue_max_bytes 100;
--- init
main::send_aside(main::secret($main::Id{room5}));
Time::HiRes::sleep(0.2);
$Epro::T0 = Time::HiRes::time();
--- request eval
"POST /s\n" . ::secret($::Id{room6})
--- error_code: 503
--- response_body eval
::queue_full()
--- elapsed
0 0.4 queue full
--- post_check
like(main::read_aside(), qr{^HTTP/1\.1 503 .*"ids":\["$main::Id{room5}"\]\}\n\z}s,
     'the queued one: 503 after epro_pg_timeout');
--- error_log
refusing requests
--- no_error_log
008-SECRET
[alert]



=== TEST 16: a client leaves while it waits for room: the next one still gets in, in its turn
--- http_config eval: $::Room
--- init
Epro::wait_ready(1);
--- post_check
my ($b1, $b2) = map { main::secret($main::Id{$_}) } qw(room7 room8);
my $first = hold_room($b1);
my $gone = main::expect_room(main::secret(undef));
my $second = main::expect_room($b2);
Time::HiRes::sleep(0.2);
close $gone;
Time::HiRes::sleep(0.2);
is(main::read_for($second, 0.1), '', 'the one after it still waits');
main::free_room($first, $b1, $second, $b2, $main::Id{room8});
--- no_error_log
008-SECRET
refusing requests
exited on signal
[error]
[alert]



=== TEST 17: nginx -s reload while a request waits for room: the old worker lets it in and commits it
--- http_config eval: $::Room
--- init
Epro::wait_ready(1);
--- post_check
my ($b1, $b2) = map { main::secret($main::Id{$_}) } qw(room9 room10);
my $first = hold_room($b1);
my $second = main::expect_room($b2);
is(main::read_for($second, 0.3), '', 'waiting for room');
my $pidfile = "$Test::Nginx::Util::ServRoot/logs/nginx.pid";
open my $fh, '<', $pidfile or die "$pidfile: $!";
chomp(my $master = <$fh>);
kill 'HUP', $master or die "HUP $master: $!";
Time::HiRes::sleep(0.5);
main::free_room($first, $b1, $second, $b2, $main::Id{room10});
--- no_error_log
008-SECRET
[error]
[alert]



=== TEST 18: a WARNING during a batch's commit (a synchronous standby not waited for): 504 while the row is stored; the retry 201, the row once; the connection stays in use; without the WARNING 201
--- http_config
    epro_table t_008_syncrep;
    epro_pg_pool_size 1;
--- more_headers
Content-Type: application/json
--- request eval
["POST /s\n" . ::secret($::Id{sync1}, 'SUBJ-008-SECRET-WARN'),
 "POST /s\n" . ::secret($::Id{sync1}, 'SUBJ-008-SECRET-WARN'),
 "POST /s\n" . ::secret($::Id{sync2})]
--- error_code eval
[504, 201, 201]
--- response_body eval
[::problem(504, $::Id{sync1}), ::created(0, 1, $::Id{sync1}),
 ::created(1, 0, $::Id{sync2})]
--- post_check
if ($req_idx == 0) {
    is(main::rows('t_008_syncrep', $main::Id{sync1}),
       "1\n", 'the 504 request\'s row is stored');
}
if ($req_idx == 2) {
    is(sql("SELECT count(*) FROM t_008_syncrep WHERE submission_id IN "
           . "('$main::Id{sync1}', '$main::Id{sync2}')"), "2\n",
       'each row once');
    main::log_like(qr/\[notice\].*epro: connection 0: PostgreSQL WARNING, SQLSTATE 01000$/, 'the WARNING logged, its code only');
    main::log_like(qr/\[notice\].*epro: connection 0: a batch of 1 row\(s\) was committed after a WARNING \(a synchronous standby may not have it\): answered as outcome unknown/, 'the 504 logged at notice');
}
--- no_error_log
008-SECRET
canceling wait
reconnecting
[error]
[alert]



=== TEST 19: the first in line for room leaves: the one behind it, which fits, gets in at once (not after epro_pg_timeout, nor when the room is freed)
--- http_config eval
"epro_pg_conninfo \"" . Epro::conninfo() . " application_name=t008_room2\";
epro_table t_008_room;
epro_pg_pool_size 1;
epro_pg_timeout 5s;
epro_queue_max_bytes 1000;"
--- init
Epro::wait_ready(1);
--- post_check
my ($b1, $b2) = map { main::secret($main::Id{$_}) } qw(room11 room12);
# the first holds room for its body (~330 bytes) while it uploads
my $first = hold_room($b1);
# this one would not fit beside it (900 bytes), the next one would
my $big = main::expect_room('x' x 900);
my $second = main::expect_room($b2);
Time::HiRes::sleep(0.2);
is(main::read_for($second, 0.1), '', 'behind the big one, it waits');
close $big;
like(main::read_for($second, 1), qr{^HTTP/1\.1 100 Continue\r\n\r\n\z},
     'the big one gone: 100 Continue at once');
print $second $b2;
like(main::read_for($second, 3, 1),
     qr{^HTTP/1\.1 201 .*\r\n\r\n\Q${\ main::created(1, 0, $main::Id{room12}) }\E\z}s,
     'and 201 while the first still uploads');
print $first substr($b1, 10);
like(main::read_for($first, 3, 1), qr{^HTTP/1\.1 201 }, 'the first: 201');
is(main::rows('t_008_room', $main::Id{room12}), "1\n", 'stored once');
--- no_error_log
008-SECRET
refusing requests
exited on signal
[error]
[alert]



=== TEST 20: no database: each batch gets its 503 epro_pg_timeout after its oldest request, also one behind a younger batch (the remainder of an expired batch, at the head of the queue)
--- http_config
    epro_pg_conninfo "host=127.0.0.1 port=1 dbname=epro user=epro";
    epro_pg_timeout 1s;
--- config
    location = /s { epro_submit; }
    location = /s2 { epro_table t_008_late; epro_submit; }
--- post_check
# A opens a batch of /s's table, B one of /s2's, C joins A's: at 1 s A
# gets 503 and C goes on in a batch of its own (it came at 0.6 s), which
# is then the first in the queue; B's must still end at 1.3 s
my $a = http_post(main::secret($main::Id{late1}), send_only => 1);
Time::HiRes::sleep(0.3);
my $t = Time::HiRes::time();
my $b = http_post(main::secret($main::Id{late2}), send_only => 1,
                  uri => '/s2');
Time::HiRes::sleep(0.3);
my $c = http_post(main::secret($main::Id{late3}), send_only => 1);
my $r = Epro::response($b);
my $waited = Time::HiRes::time() - $t;
is($r->{status}, 503, 'B: 503');
my $max = $ENV{TEST_NGINX_USE_VALGRIND} ? 2.5 : 1.2;
ok($waited > 0.9 && $waited < $max,
   sprintf('B waited %.2f s (epro_pg_timeout 1 s, not its batch\'s turn '
           . 'behind C)', $waited));
is(Epro::response($a)->{status}, 503, 'A: 503');
is(Epro::response($c)->{status}, 503, 'C: 503');
--- no_error_log
008-SECRET
[alert]
