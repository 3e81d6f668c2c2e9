# Faults under load (issue #3), the fast versions of bench/faults.pl:
# - one backend of a pool ended (pg_terminate_backend) while 100 requests
#   are in flight;
# - PostgreSQL stopped with `pg_ctl stop -m immediate` under load and
#   started again (a cluster of its own on port 56300);
# - `nginx -s reload` (HUP) twice under load, the first while batches are
#   in flight.
# Each client sends its own submissionId and retries 503, 504 and
# connection errors with the same body, as the README tells clients to:
# every 201 must be stored exactly once, and nothing may be lost.
# EPRO_LONG_TESTS=1 adds a longer outage (the reconnect backoff).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwd ();
use DBI;
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Path ();
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();
use Epro;

workers(2);
master_on();
worker_connections(1024);

# 56300, or the next port that can be bound: these are in Linux's
# ephemeral range, and a client's socket in TIME_WAIT on the port makes
# PostgreSQL's bind() fail
our $Port;
for my $p (56300 .. 56319) {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                  Listen => 1, ReuseAddr => 1) or next;
    close $s;
    $Port = $p;
    last;
}
$Port //= 56300;
our $Repo = Cwd::getcwd();
our $Pid = $$;
our $Tmp = File::Temp::tempdir('epro-012.XXXXXX', TMPDIR => 1);
our $PgDir = "$Tmp/pg";
our $Bin = $ENV{PG_BIN} || '/usr/lib/postgresql/15/bin';
our $Run = sprintf '%04x%04x', $$ & 0xffff, int rand 0xffff;
our $Seq = 0;
our ($PrivatePg, $PgError, $pg_dbh);

chmod 0755, $Tmp;

# tables of our own, since they get locked; made anew, like the schema
for my $t (qw(t_012_kill t_012_reload)) {
    db()->do("DROP TABLE IF EXISTS $t");
    db()->do("CREATE TABLE $t (LIKE epro_submissions INCLUDING ALL)");
}

# util/pg.sh on the cluster of this file
sub pg {
    my ($what) = @_;
    local $ENV{EPRO_PG_DIR} = $PgDir;
    local $ENV{EPRO_PG_PORT} = $Port;
    my $out = `'$Repo/util/pg.sh' $what 2>&1`;
    die "012: util/pg.sh $what failed:\n$out" if $? != 0;
}

# pg_ctl as PostgreSQL's user, from / (it may not enter the cwd)
sub pg_ctl {
    my (@args) = @_;
    my @as = $> == 0 ? ('runuser', '-u', 'postgres', '--') : ();
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        chdir '/';
        open STDOUT, '>', '/dev/null';
        { exec @as, "$Bin/pg_ctl", '-D', $PgDir, @args };
        POSIX::_exit(127);
    }

    waitpid $pid, 0;
    return $? == 0;
}

sub pg_db {
    return $pg_dbh if $pg_dbh && $pg_dbh->ping;

    $pg_dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$Port;dbname=epro",
                           'epro', '', { RaiseError => 1, AutoCommit => 1,
                                         PrintError => 0, PrintWarn => 0 });
    return $pg_dbh;
}

sub id {
    return sprintf '%s-%04x-4012-8000-%012x', $Run, $$ & 0xffff, ++$Seq;
}

# a submission a minute old, whatever the clock checks are
sub body {
    my ($id) = @_;
    my $answers = join ',', map { "\"PHQ9_$_\":" . ($_ % 4) } 1 .. 9;
    return "{\"submissionId\":\"$id\",\"studyId\":\"S012\","
        . "\"subjectId\":\"S012-$Run\",\"visitName\":\"Week 4\","
        . "\"instrument\":\"PHQ-9\",\"collectedAt\":" . (time - 60)
        . ",\"answers\":{$answers}}";
}

# Runs $code in a child (for blocking work: locks, pg_ctl) while the load
# goes on; the child reports lines on the returned handle.
sub aside {
    my ($code) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $r;
        $w->autoflush(1);
        eval { $code->($w) };
        print $w "failed: $@\n" if $@;
        # no END blocks: they would stop the cluster
        POSIX::_exit(0);
    }

    close $w;
    return { pid => $pid, fh => $r };
}

sub aside_wait {
    my ($a) = @_;
    local $/;
    my $out = readline($a->{fh}) // '';
    waitpid $a->{pid}, 0;
    return $out;
}

# Takes ACCESS EXCLUSIVE on $table for $hold seconds in a child; returns
# once the lock is held.
sub hold_lock {
    my ($table, $hold) = @_;
    my $a = aside(sub {
        my ($w) = @_;
        my %kv = map { split /=/, $_, 2 } split ' ', conninfo();
        my $user = delete $kv{user} // 'epro';
        my $db = DBI->connect('dbi:Pg:' . join(';', map { "$_=$kv{$_}" }
                                                    sort keys %kv),
                              $user, '', { RaiseError => 1,
                                           PrintError => 0 });
        $db->do("SET idle_in_transaction_session_timeout = '10s'");
        $db->begin_work;
        $db->do("LOCK TABLE $table IN ACCESS EXCLUSIVE MODE");
        print $w "locked\n";
        Time::HiRes::sleep($hold);
        $db->commit;
    });
    my $line = readline $a->{fh};
    die "012: cannot lock $table: " . ($line // "no answer\n")
        unless ($line // '') eq "locked\n";
    return $a;
}

sub workers_of {
    my ($master) = @_;
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $pp) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @pids, $pid if $pp == $master;
    }

    return @pids;
}

# a process that exited, reaped or not
sub gone {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $line = <$fh> // return 1;
    return $line =~ /^\d+ \(.*\) [ZX] /;
}

sub master {
    open my $fh, '<', $Test::Nginx::Util::PidFile or die "pid file: $!";
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

# The load: each id of $o{ids} (or, with $o{for}, new ids for that many
# seconds) is POSTed to $o{uri} on a connection of its own (HTTP/1.0),
# $o{clients} at a time.  503 and 504 are retried after
# Retry-After (at most 1 s), a connection error after 0.1 s, with the same
# body, until 201 or $o{deadline} seconds.  $o{at} holds [seconds, code]
# pairs: code runs once the load has run that long.  Returns, per id, the
# list of answers ("201", "503", "504", "conn", "other:..."), the time of
# each 201 and the number of 201 saying "duplicates":1.
sub load {
    my (%o) = @_;
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || $Test::Nginx::Util::ServerPort;
    my @todo = map { [$_, 0] } @{ $o{ids} };
    my (%seen, %ok_at, %dup, %by, %body);
    my @at = sort { $a->[0] <=> $b->[0] } @{ $o{at} || [] };
    my $sel_r = IO::Select->new;
    my $sel_w = IO::Select->new;
    my $t0 = Time::HiRes::time();
    my $running = 0;

    my $retry = sub {
        my ($c, $what, $delay) = @_;
        push @{ $seen{$c->{id}} }, $what;
        $sel_r->remove($c->{sock});
        $sel_w->remove($c->{sock});
        close $c->{sock};
        delete $by{$c->{sock}};
        $running--;
        push @todo, [$c->{id}, Time::HiRes::time() + $delay] if $delay >= 0;
    };

    while (Time::HiRes::time() - $t0 < $o{deadline}) {
        my $now = Time::HiRes::time();

        while (@at && $now - $t0 >= $at[0][0]) {
            (shift @at)->[1]->();
        }

        if ($o{for} && $now - $t0 < $o{for}) {
            # keep $o{clients} busy with new ids
            while (@todo + $running < $o{clients}) {
                my $id = id();
                push @{ $o{ids} }, $id;
                push @todo, [$id, 0];
            }
        }

        last if !@todo && !$running && !@at
                && !($o{for} && $now - $t0 < $o{for});

        # start what is due, up to $o{clients} at once
        @todo = sort { $a->[1] <=> $b->[1] } @todo;
        while (@todo && $running < $o{clients} && $todo[0][1] <= $now) {
            my ($id) = @{ shift @todo };
            my $body = $body{$id} //= body($id);    # the same on retries
            my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                             PeerPort => $port,
                                             Proto => 'tcp', Blocking => 0);
            if (!$sock) {
                push @{ $seen{$id} }, 'conn';
                push @todo, [$id, $now + 0.1];
                last;
            }
            $by{$sock} = { id => $id, sock => $sock, in => '',
                           out => "POST $o{uri} HTTP/1.0\r\n"
                                  . "Host: localhost\r\n"
                                  . "Content-Type: application/json\r\n"
                                  . 'Content-Length: ' . length($body)
                                  . "\r\n\r\n$body" };
            $sel_w->add($sock);
            $running++;
        }

        my ($r, $w) = IO::Select->select($sel_r, $sel_w, undef, 0.02);

        for my $s (@{ $w || [] }) {
            my $c = $by{$s} or next;
            my $n = syswrite $s, $c->{out};
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                $retry->($c, 'conn', 0.1);
                next;
            }
            substr($c->{out}, 0, $n, '');
            next if $c->{out} ne '';
            $sel_w->remove($s);
            $sel_r->add($s);
        }

        for my $s (@{ $r || [] }) {
            my $c = $by{$s} or next;
            my $n = sysread $s, my $buf, 65536;
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                $retry->($c, 'conn', 0.1);
                next;
            }
            if ($n) {
                $c->{in} .= $buf;
                next;
            }

            # HTTP/1.0: the whole answer is in once the server closes
            my ($st) = $c->{in} =~ m{^HTTP/\S+ (\d+)};
            my ($ra) = $c->{in} =~ m{\r\nRetry-After: (\d+)}i;
            my ($b) = $c->{in} =~ m{\r\n\r\n(.*)\z}s;
            $st //= 'conn';

            if ($st eq '201') {
                $ok_at{$c->{id}} = Time::HiRes::time();
                $dup{$c->{id}} = 1 if ($b // '') =~ /"duplicates":1/;
                $retry->($c, '201', -1);
            } elsif ($st eq '503' || $st eq '504') {
                my $d = $ra // 1;
                $retry->($c, $st, $d > 1 ? 1 : $d);
            } elsif ($st eq 'conn') {
                $retry->($c, 'conn', 0.1);
            } else {
                $retry->($c, "other:$st " . substr($b // '', 0, 200), -1);
            }
        }
    }

    for my $c (values %by) {
        push @{ $seen{$c->{id}} }, 'unanswered';
        close $c->{sock};
    }

    push @{ $seen{$_->[0]} }, 'never sent' for grep { !$seen{$_->[0]} }
                                                @todo;

    return { seen => \%seen, ok_at => \%ok_at, dup => \%dup, t0 => $t0,
             ids => $o{ids} };
}

# the answers of a load: "201 x 97, 504->201 x 3" and the like
sub outcomes {
    my ($res) = @_;
    my %n;
    $n{ join '->', @$_ }++ for values %{ $res->{seen} };
    return join ', ', map { "$_ x $n{$_}" } sort keys %n;
}

# every id acknowledged, each stored exactly once
sub all_stored_once {
    my ($name, $res, $ids, $sql) = @_;
    my @not = grep { !$res->{ok_at}{$_} } @$ids;

    is(scalar @not, 0, "$name: every id answered 201 in the end")
        or diag(outcomes($res));

    my %rows = map { split /\|/ } split /\n/, $sql->(
        'SELECT submission_id, count(*) FROM %s WHERE '
        . 'submission_id = ANY(?::uuid[]) GROUP BY 1', $ids);

    is_deeply([grep { !$rows{$_} } @$ids], [],
              "$name: every acknowledged id is stored");
    is_deeply([grep { $rows{$_} != 1 } keys %rows], [],
              "$name: no id stored twice");
}

sub log_count {
    my ($re) = @_;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or die "$!";
    return scalar grep { /$re/ } <$fh>;
}

sub wait_log {
    my ($re, $n, $limit) = @_;
    my $t = Time::HiRes::time();
    while (Time::HiRes::time() - $t < $limit) {
        return 1 if log_count($re) >= $n;
        Time::HiRes::sleep(0.02);
    }
    return 0;
}

# the cluster of TEST 2 and TEST 4
$PrivatePg = eval { pg('start'); 1 };
$PgError = $@;
warn $PgError if !$PrivatePg;

$ENV{TEST_NGINX_PRIVATE_PG} = "host=127.0.0.1 port=$Port dbname=epro "
                              . "user=epro application_name=t012_restart";
$ENV{TEST_NGINX_SHARED_PG} = conninfo();

END {
    if (defined $Pid && $$ == $Pid && $Tmp) {
        local $?;
        $pg_dbh->disconnect if $pg_dbh;
        pg_ctl('-m', 'immediate', '-w', 'stop') if -f "$PgDir/postmaster.pid";
        my $real = readlink $PgDir;
        File::Path::remove_tree($real) if $real;
        File::Path::remove_tree($Tmp);
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a pool backend ended with 100 requests in flight: 504, retried
--- http_config
    epro_pg_conninfo "$TEST_NGINX_SHARED_PG application_name=t012_kill";
    epro_table t_012_kill;
    epro_pg_pool_size 2;
    epro_pg_timeout 5s;
--- config
    location = /s { epro_submit; }
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- post_check
main::wait_log(qr/epro: connection \d+: ready/, 4, 5)
    or fail('the pools are not ready');
# every statement waits for the lock: 4 batches are in flight
my $lock = main::hold_lock('t_012_kill', 1.5);
my @ids = map { main::id() } 1 .. 100;
my $killed = '';
my $res = main::load(uri => '/s', ids => \@ids, clients => 100,
                     deadline => 10, at => [[0.5, sub {
    $killed = sql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = 't012_kill'
                    AND wait_event_type = 'Lock' LIMIT 1});
}]]);
main::aside_wait($lock);
is($killed, "1\n", 'a backend waiting with a batch was ended');
my @first = map { $res->{seen}{$_}[0] } @ids;
ok((grep { $_ eq '504' } @first) >= 1, 'its batch got 504')
    or diag(main::outcomes($res));
is_deeply([grep { $_ ne '504' && $_ ne '201' } @first], [],
          'the other requests got 201 at once')
    or diag(main::outcomes($res));
main::all_stored_once('terminate', $res, \@ids, sub {
    my ($q, @bind) = @_;
    sql(sprintf($q, 't_012_kill'), @bind);
});
my @later = map { main::id() } 1 .. 20;
my $after = main::load(uri => '/s', ids => \@later, clients => 20,
                       deadline => 5);
is(main::outcomes($after), '201 x 20', 'later requests: 201 at once');
ok(main::log_count(qr/\[error\].*epro: connection \d+: .*reconnecting/) >= 1,
   'the lost connection is logged');
ok(main::log_count(qr/\[notice\].*epro: connection \d+: ready/) >= 1,
   'its reconnection is logged');
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]



=== TEST 2: pg_ctl stop -m immediate under load, start: 201 within 2 s
--- skip_eval: 1: !$main::PrivatePg
--- http_config
    epro_pg_conninfo "$TEST_NGINX_PRIVATE_PG";
    epro_pg_pool_size 2;
    epro_pg_timeout 2s;
--- config
    location = /s { epro_submit; }
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- post_check
main::wait_log(qr/epro: connection \d+: ready/, 4, 5)
    or fail('the pools are not ready');
main::pg_db()->do('CHECKPOINT');    # a shorter crash recovery
my @ids;
my ($restart, $up);
my $res = main::load(uri => '/s', ids => \@ids, for => 3, clients => 50,
                     deadline => 12, at => [[0.3, sub {
    $restart = main::aside(sub {
        my ($w) = @_;
        my $t = Time::HiRes::time();
        main::pg_ctl('-m', 'immediate', '-w', 'stop') or die "stop\n";
        main::pg_ctl('-l', "$main::PgDir/postgresql.log", '-w', 'start')
            or die "start\n";
        printf $w "%.3f\n", Time::HiRes::time();
        printf $w "# restarted in %.2f s\n", Time::HiRes::time() - $t;
    });
}]]);
my $out = main::aside_wait($restart);
($up) = $out =~ /^(\d+\.\d+)$/m or fail("the restart failed: $out");
note(main::outcomes($res), '; ', $out =~ /^# (.*)/m);
# batches in flight get 504, queued rows wait or get 503: not every run
# has them, but every run loses all 4 connections
ok(main::log_count(qr/\[error\].*epro: connection \d+: .*reconnecting/)
   >= 4, 'every connection was lost and logged once');
main::all_stored_once('restart', $res, \@ids, sub {
    my ($q, @bind) = @_;
    my $rows = main::pg_db()->selectall_arrayref(
        sprintf($q, 'epro_submissions'), undef, @bind);
    join '', map { "$_->[0]|$_->[1]\n" } @$rows;
});
# service is back: a request sent when PostgreSQL came back got 201 soon
my ($first) = sort { $a <=> $b } grep { $_ > $up } values %{ $res->{ok_at} };
if (!defined $first) {
    my $probe = main::load(uri => '/s', ids => [main::id()], clients => 1,
                           deadline => 5);
    ($first) = values %{ $probe->{ok_at} };
}
ok(defined $first && $first - $up < 2,
   sprintf('201 again %.2f s after the restart', ($first // 99) - $up));
ok(main::log_count(qr/\[notice\].*epro: connection \d+: ready/) >= 4,
   'every connection is ready again');
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]



=== TEST 3: HUP twice under load, batches in flight: no request lost
--- http_config
    epro_pg_conninfo "$TEST_NGINX_SHARED_PG application_name=t012_reload";
    epro_table t_012_reload;
    epro_pg_pool_size 2;
--- config
    location = /s { epro_submit; }
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- post_check
main::wait_log(qr/epro: connection \d+: ready/, 4, 5)
    or fail('the pools are not ready');
my @ids = map { main::id() } 1 .. 400;
my (@old1, @old2, $lock);
my $master = main::master();
my $res = main::load(uri => '/s', ids => \@ids, clients => 40,
                     deadline => 12, at => [
    [0.2, sub { $lock = main::hold_lock('t_012_reload', 0.6) }],
    [0.4, sub {
        @old1 = main::workers_of($master);
        kill 'HUP', $master or die "HUP: $!";
    }],
    [0.8, sub { main::aside_wait($lock) }],
    [1.4, sub {
        @old2 = grep { my $p = $_; !grep { $_ == $p } @old1 }
                main::workers_of($master);
        kill 'HUP', $master or die "HUP: $!";
    }],
]);
is(main::outcomes($res), '201 x 400',
   'every request got 201 at the first attempt');
main::all_stored_once('reload', $res, \@ids, sub {
    my ($q, @bind) = @_;
    sql(sprintf($q, 't_012_reload'), @bind);
});
ok(@old1 == 2 && @old2 == 2, 'two generations of workers replaced');
my $t = Time::HiRes::time();
while (grep { !main::gone($_) } @old1, @old2) {
    last if Time::HiRes::time() - $t > 3;
    Time::HiRes::sleep(0.02);
}
is_deeply([grep { !main::gone($_) } @old1, @old2], [],
          'the old workers have exited');
ok(main::log_count(qr/\[notice\].* exiting/) >= 4,
   'each old worker logged its exit');
--- no_error_log
exited on signal
[error]
[alert]
[crit]
[emerg]



=== TEST 4: (EPRO_LONG_TESTS) down 8 s under load: 201 within 1 s of start
--- skip_eval: 1: !$main::PrivatePg || !$ENV{EPRO_LONG_TESTS}
--- http_config
    epro_pg_conninfo "$TEST_NGINX_PRIVATE_PG";
    epro_pg_pool_size 2;
    epro_pg_timeout 2s;
--- config
    location = /s { epro_submit; }
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- post_check
main::wait_log(qr/epro: connection \d+: ready/, 4, 5)
    or fail('the pools are not ready');
main::pg_db()->do('CHECKPOINT');    # a shorter crash recovery
my @ids;
my ($restart, $up);
my $res = main::load(uri => '/s', ids => \@ids, for => 11, clients => 50,
                     deadline => 25, at => [[0.3, sub {
    $restart = main::aside(sub {
        my ($w) = @_;
        main::pg_ctl('-m', 'immediate', '-w', 'stop') or die "stop\n";
        Time::HiRes::sleep(8);
        main::pg('start');
        printf $w "%.3f\n", Time::HiRes::time();
    });
}]]);
my $out = main::aside_wait($restart);
($up) = $out =~ /^(\d+\.\d+)$/m or fail("the restart failed: $out");
main::all_stored_once('long outage', $res, \@ids, sub {
    my ($q, @bind) = @_;
    my $rows = main::pg_db()->selectall_arrayref(
        sprintf($q, 'epro_submissions'), undef, @bind);
    join '', map { "$_->[0]|$_->[1]\n" } @$rows;
});
my ($first) = sort { $a <=> $b } grep { $_ > $up } values %{ $res->{ok_at} };
ok(defined $first && $first - $up < 1,
   sprintf('201 again %.2f s after the restart', ($first // 99) - $up));
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]
