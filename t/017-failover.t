# Faults of issue #3 that only bench/faults.pl covered so far:
# - failover: a primary and a synchronous streaming standby of this file
#   (pg_basebackup -R; ports 56400 and up); nginx lists both with
#   target_session_attrs=read-write.  Under load the primary is stopped
#   (-m immediate) and the standby promoted: every 201 is on the promoted
#   server exactly once, and 201s come back within seconds, from the same
#   nginx master and workers.
# - nginx -s quit (QUIT to the master) while batches wait for a table
#   lock: every request is answered 201 before the workers exit, and they
#   exit promptly once everything is answered.
# The load comes from a forked client; it retries 503, 504 and connection
# errors with the same body, as the README tells clients to.
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
use Storable ();
use Time::HiRes ();
use Epro;

workers(2);
master_on();
worker_connections(1024);
log_level("info");     # no debug lines for thousands of requests

our $Repo = Cwd::getcwd();
our $Pid = $$;
our $Bin = $ENV{PG_BIN} || '/usr/lib/postgresql/15/bin';
our $Run = sprintf '%04x%04x', $$ & 0xffff, int rand 0xffff;
our $Seq = 0;
our ($Tmp, $P1, $P2, $Pg1, $Pg2, $Ready, $SetupError, %started);

# our table, since it gets locked; made anew, like the schema
db()->do('DROP TABLE IF EXISTS t_017_quit');
db()->do('CREATE TABLE t_017_quit (LIKE epro_submissions INCLUDING ALL)');

# The port, or the next that can be bound: these are in Linux's ephemeral
# range, and a client's socket in TIME_WAIT on the port makes PostgreSQL's
# bind() fail.
sub free_port {
    my ($from, @not) = @_;

    for my $p ($from .. $from + 39) {
        next if grep { $_ == $p } @not;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Listen => 1,
                                      ReuseAddr => 1) or next;
        close $s;
        return $p;
    }

    return $from;
}

# a command as PostgreSQL's user (when root), from / (it may not enter
# the cwd); true if it succeeded
sub as_pg {
    my (@cmd) = @_;
    my @as = $> == 0 ? ('runuser', '-u', 'postgres', '--') : ();
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        chdir '/';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', "$Tmp/pg-commands.log";
        { exec @as, @cmd };
        POSIX::_exit(127);
    }

    waitpid $pid, 0;
    return $? == 0;
}

sub pg_ctl {
    my ($dir, @args) = @_;
    return as_pg("$Bin/pg_ctl", '-D', $dir, @args);
}

sub pg_dbh {
    my ($port) = @_;
    return DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=epro",
                        'epro', '', { RaiseError => 1, AutoCommit => 1,
                                      PrintError => 0, PrintWarn => 0 });
}

# the primary (util/pg.sh) and its synchronous streaming standby
sub setup_failover {
    $Tmp = File::Temp::tempdir('epro-017.XXXXXX', TMPDIR => 1);
    chmod 0755, $Tmp;
    $P1 = free_port(56400);
    $P2 = free_port($P1 + 1, $P1);
    $Pg1 = "$Tmp/pg1";
    $Pg2 = "$Tmp/pg2";

    {
        local $ENV{EPRO_PG_DIR} = $Pg1;
        local $ENV{EPRO_PG_PORT} = $P1;
        $started{$Pg1} = 1;
        my $out = `'$Repo/util/pg.sh' start 2>&1`;
        die "util/pg.sh start failed:\n$out" if $? != 0;
    }

    # util/pg.sh gave $Tmp to postgres: the standby's directory is made
    # by pg_basebackup itself
    $started{$Pg2} = 1;
    as_pg("$Bin/pg_basebackup", '-d', "host=127.0.0.1 port=$P1 user=epro "
          . 'application_name=t017_standby', '-D', $Pg2, '-X', 'stream',
          '-c', 'fast', '-R')
        or die "pg_basebackup failed: see $Tmp/pg-commands.log\n";

    open my $fh, '>>', "$Pg2/postgresql.conf" or die "$Pg2: $!";
    print $fh "port = $P2\nunix_socket_directories = '$Pg2'\n";
    close $fh;

    pg_ctl($Pg2, '-l', "$Pg2/postgresql.log", '-w', '-t', '60', 'start')
        or die "the standby does not start: see $Pg2/postgresql.log\n";

    my $db = pg_dbh($P1);
    $db->do("ALTER SYSTEM SET synchronous_standby_names = 't017_standby'");
    $db->do('SELECT pg_reload_conf()');

    for (1 .. 100) {
        my ($s) = $db->selectrow_array('SELECT sync_state FROM '
            . "pg_stat_replication WHERE application_name = 't017_standby'");
        return 1 if ($s // '') eq 'sync';
        Time::HiRes::sleep(0.1);
    }

    die "the standby is not synchronous after 10 s\n";
}

sub id {
    return sprintf '%s-%04x-4017-8000-%012x', $Run, $$ & 0xffff, ++$Seq;
}

# a submission a minute old, whatever the clock checks are
sub body {
    my ($id) = @_;
    my $answers = join ',', map { "\"PHQ9_$_\":" . ($_ % 4) } 1 .. 9;
    return "{\"submissionId\":\"$id\",\"studyId\":\"S017\","
        . "\"subjectId\":\"S017-$Run\",\"visitName\":\"Week 4\","
        . "\"instrument\":\"PHQ-9\",\"collectedAt\":" . (time - 60)
        . ",\"answers\":{$answers}}";
}

sub port {
    return $ENV{TEST_NGINX_SERVER_PORT} || $Test::Nginx::Util::ServerPort;
}

# The load: each id of $o{ids} (or, with $o{for}, new ids for that many
# seconds) is POSTed to $o{uri} on a connection of its own (HTTP/1.0),
# $o{clients} at a time.  503 and 504 are retried after Retry-After (at
# most 1 s), a connection error after 0.1 s, with the same body, until 201
# or $o{deadline} seconds; with $o{once} nothing is retried.  Returns, per
# id, the list of answers ("201", "503", "504", "conn", "other:..."), the
# time of each 201 and whether it said "duplicates":1.
sub load {
    my (%o) = @_;
    my @ids = @{ $o{ids} || [] };
    my @todo = map { [$_, 0] } @ids;
    my (%seen, %ok_at, %dup, %by, %body);
    my $sel_r = IO::Select->new;
    my $sel_w = IO::Select->new;
    my $t0 = Time::HiRes::time();
    my $running = 0;

    my $done = sub {
        my ($c, $what, $delay) = @_;
        push @{ $seen{$c->{id}} }, $what;
        $sel_r->remove($c->{sock});
        $sel_w->remove($c->{sock});
        close $c->{sock};
        delete $by{$c->{sock}};
        $running--;
        $delay = -1 if $o{once};
        push @todo, [$c->{id}, Time::HiRes::time() + $delay] if $delay >= 0;
    };

    while (Time::HiRes::time() - $t0 < $o{deadline}) {
        my $now = Time::HiRes::time();
        my $more = $o{for} && $now - $t0 < $o{for};

        # keep $o{clients} busy with new ids
        while ($more && @todo + $running < $o{clients}) {
            my $id = id();
            push @ids, $id;
            push @todo, [$id, 0];
        }

        last if !@todo && !$running && !$more;

        # start what is due, up to $o{clients} at once
        @todo = sort { $a->[1] <=> $b->[1] } @todo;
        while (@todo && $running < $o{clients} && $todo[0][1] <= $now) {
            my ($id) = @{ shift @todo };
            my $body = $body{$id} //= body($id);    # the same on retries
            my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                             PeerPort => port(),
                                             Proto => 'tcp', Blocking => 0);
            if (!$sock) {
                push @{ $seen{$id} }, 'conn';
                push @todo, [$id, $now + 0.1] unless $o{once};
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
                $done->($c, 'conn', 0.1);
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
                $done->($c, 'conn', 0.1);
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
                $done->($c, '201', -1);
            } elsif ($st eq '503' || $st eq '504') {
                my $d = $ra // 1;
                $done->($c, $st, $d > 1 ? 1 : $d);
            } elsif ($st eq 'conn') {
                $done->($c, 'conn', 0.1);
            } else {
                $done->($c, "other:$st " . substr($b // '', 0, 200), -1);
            }
        }
    }

    for my $c (values %by) {
        push @{ $seen{$c->{id}} }, 'unanswered';
        close $c->{sock};
    }

    push @{ $seen{$_->[0]} }, 'never sent' for @todo;

    return { seen => \%seen, ok_at => \%ok_at, dup => \%dup, t0 => $t0,
             ids => \@ids };
}

# load() in a child process: the caller injects the fault meanwhile
sub fork_load {
    my (%o) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $r;
        my $res = eval { load(%o) } || { error => "$@" };
        print $w Storable::freeze($res);
        close $w;
        # no END blocks: they would stop nginx and the clusters
        POSIX::_exit(0);
    }

    close $w;
    return { pid => $pid, fh => $r };
}

sub load_wait {
    my ($l) = @_;
    my $data = do { local $/; readline $l->{fh} };
    waitpid $l->{pid}, 0;
    my $res = eval { Storable::thaw($data) }
              || { error => 'the client died' };
    die "load: $res->{error}" if $res->{error};
    return $res;
}

# the answers of a load: "201 x 97, 504->201 x 3" and the like
sub outcomes {
    my ($res) = @_;
    my %n;
    $n{ join '->', @$_ }++ for values %{ $res->{seen} };
    return join ', ', map { "$_ x $n{$_}" } sort keys %n;
}

# every id answered 201 in the end, each stored exactly once
sub all_stored_once {
    my ($name, $res, $db, $table) = @_;
    my $ids = $res->{ids};

    is_deeply([grep { !$res->{ok_at}{$_} } @$ids], [],
              "$name: every id answered 201 in the end")
        or diag(outcomes($res));

    my %rows = map { @$_ } @{ $db->selectall_arrayref(
        "SELECT submission_id::text, count(*) FROM $table "
        . 'WHERE submission_id = ANY(?::uuid[]) GROUP BY 1', undef,
        [keys %{ $res->{ok_at} }]) };

    is_deeply([grep { !$rows{$_} } keys %{ $res->{ok_at} }], [],
              "$name: every acknowledged id is stored");
    is_deeply([grep { $rows{$_} != 1 } keys %rows], [],
              "$name: no id stored twice");
}

# Takes ACCESS EXCLUSIVE on $table for $hold seconds in a child, with a
# DBI session of its own; returns once the lock is held.
sub hold_lock {
    my ($table, $hold) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $r;
        $w->autoflush(1);
        eval {
            my %kv = map { split /=/, $_, 2 } split ' ', conninfo();
            my $user = delete $kv{user} // 'epro';
            my $db = DBI->connect('dbi:Pg:' . join(';', map {
                                      "$_=$kv{$_}" } sort keys %kv),
                                  $user, '', { RaiseError => 1,
                                               PrintError => 0 });
            $db->do("SET idle_in_transaction_session_timeout = '10s'");
            $db->begin_work;
            $db->do("LOCK TABLE $table IN ACCESS EXCLUSIVE MODE");
            print $w "locked\n";
            Time::HiRes::sleep($hold);
            # the time the COMMIT is sent: nothing waiting can commit sooner
            printf $w "released %.3f\n", Time::HiRes::time();
            $db->commit;
        };
        print $w "failed: $@\n" if $@;
        POSIX::_exit(0);
    }

    close $w;
    my $line = readline $r;
    die "017: cannot lock $table: " . ($line // "no answer\n")
        unless ($line // '') eq "locked\n";
    return { pid => $pid, fh => $r };
}

# the time the lock's COMMIT was sent
sub lock_wait {
    my ($l) = @_;
    my $out = do { local $/; readline $l->{fh} } // '';
    waitpid $l->{pid}, 0;
    my ($t) = $out =~ /^released (\S+)$/m or die "017: lock: $out";
    return $t;
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

    return sort { $a <=> $b } @pids;
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

sub log_lines {
    my ($re) = @_;
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or die "$!";
    return grep { /$re/ } <$fh>;
}

sub log_count {
    my ($re) = @_;
    return scalar(my @l = log_lines($re));
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

# stub_status's "Writing": requests read and not yet answered, this one
# included
sub writing {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => port(), Proto => 'tcp')
        or return -1;
    print $s "GET /st HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my $out = do { local $/; <$s> } // '';
    my ($n) = $out =~ /Writing: (\d+)/;
    return $n // -1;
}

# the clusters of TEST 1; if they cannot be made, TEST 1 fails
$Ready = eval { setup_failover() };
$SetupError = $@;
$ENV{TEST_NGINX_FAILOVER_PG} = "host=127.0.0.1,127.0.0.1 port="
    . ($P1 // 1) . ',' . ($P2 // 1) . ' dbname=epro user=epro '
    . 'target_session_attrs=read-write';

$ENV{TEST_NGINX_SHARED_PG} = conninfo();

END {
    if (defined $Pid && $$ == $Pid && $Tmp) {
        local $?;
        for my $dir (grep { -f "$_/postmaster.pid" } keys %started) {
            pg_ctl($dir, '-m', 'immediate', '-w', 'stop');
        }
        File::Path::remove_tree($Tmp);
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: failover under load: no 201 lost, 201 again, same nginx
--- http_config
    epro_pg_conninfo "$TEST_NGINX_FAILOVER_PG";
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
if (!$main::Ready) {
    fail("the primary and its standby: $main::SetupError");
    return;
}
main::wait_log(qr/epro: connection \d+: ready \(server [\d.]+:$main::P1\)/,
               4, 5)
    or fail('the pools are not ready on the primary');
my $master = main::master();
my @workers = main::workers_of($master);
my $load = main::fork_load(uri => '/s', for => 6, clients => 30,
                           deadline => 15);
Time::HiRes::sleep(1);
my $stop = Time::HiRes::time();
main::pg_ctl($main::Pg1, '-m', 'immediate', '-w', 'stop')
    or fail('pg_ctl stop the primary');
my $stopped = Time::HiRes::time();
# longer than epro_pg_timeout: queued rows get 503 meanwhile
Time::HiRes::sleep(2.5);
main::pg_ctl($main::Pg2, '-w', '-t', '30', 'promote')
    or fail('pg_ctl promote the standby');
my $promoted = Time::HiRes::time();
my $res = main::load_wait($load);
my @ok = sort { $a <=> $b } values %{ $res->{ok_at} };
my @before = grep { $_ < $stop } @ok;
my ($first) = grep { $_ > $promoted } @ok;
note(sprintf('primary stopped at %.2f s (in %.2f s), standby promoted at '
             . '%.2f s, first 201 after it at %s s; %d ids: %s; %d retries '
             . 'answered "duplicates"', $stop - $res->{t0},
             $stopped - $stop, $promoted - $res->{t0},
             defined $first ? sprintf('%.2f', $first - $res->{t0}) : '-',
             scalar @{ $res->{ids} }, main::outcomes($res),
             scalar keys %{ $res->{dup} }));
ok(@before >= 10, scalar(@before) . ' ids acknowledged by the primary');
ok((grep { grep { $_ eq '503' } @$_ } values %{ $res->{seen} }),
   'rows queued with no writable server got 503, then 201');
# a 503 says "nothing stored": a retry after 503s alone is no duplicate
is_deeply([grep { !grep { /^(?:504|conn)/ } @{ $res->{seen}{$_} } }
           keys %{ $res->{dup} }], [],
          'only retries after a 504 or a lost connection were duplicates');
main::all_stored_once('failover', $res, main::pg_dbh($main::P2),
                      'epro_submissions');
ok(defined $first && $first - $promoted < 3,
   sprintf('201 again %.2f s after the promotion',
           ($first // 99) - $promoted));
is(main::master(), $master, 'the same nginx master');
is_deeply([main::workers_of($master)], \@workers,
          'the same workers: none restarted');
ok(main::log_count(qr/\[error\].*epro: connection \d+: .*reconnecting/)
   >= 4, 'every connection was lost and logged');
my $on_p2 = qr/ready \(server [\d.]+:$main::P2\)/;
is(main::log_count(qr/\[notice\].*epro: connection \d+: $on_p2/), 4,
   'every connection is ready again, on the promoted standby');
# what the module said after the primary went away
note(map { /\] \d+#\d+: (epro: .*)/ ? "$1\n" : () }
     main::log_lines(qr/\[(?:error|warn|notice)\].*epro: connection/));
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]



=== TEST 2: QUIT with batches in flight: all answered 201, then the exit
--- no_check_leak
--- http_config
    epro_pg_conninfo "$TEST_NGINX_SHARED_PG application_name=t017_quit";
    epro_table t_017_quit;
    epro_pg_pool_size 2;
    epro_pg_timeout 5s;
--- config
    location = /s { epro_submit; }
    location = /st { stub_status; }
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- post_check
main::wait_log(qr/epro: connection \d+: ready/, 4, 5)
    or fail('the pools are not ready');
my $master = main::master();
my @workers = main::workers_of($master);
my $n = 40;
my @ids = map { main::id() } 1 .. $n;
# every statement waits for the lock: batches are in flight, the other
# rows queued
my $lock = main::hold_lock('t_017_quit', 1.5);
my $locked = Time::HiRes::time();
my $load = main::fork_load(uri => '/s', ids => \@ids, clients => $n,
                           once => 1, deadline => 8);
my $t = Time::HiRes::time();
Time::HiRes::sleep(0.02) while main::writing() < $n + 1
                               && Time::HiRes::time() - $t < 1;
is(main::writing(), $n + 1, "nginx has read the $n requests");
my $waiting = 0;
$t = Time::HiRes::time();
while (Time::HiRes::time() - $t < 1) {
    $waiting = sql(q{SELECT count(*) FROM pg_stat_activity
                     WHERE application_name = 't017_quit'
                     AND wait_event_type = 'Lock'}) + 0;
    last if $waiting;
    Time::HiRes::sleep(0.02);
}
ok($waiting >= 1, "$waiting batches in flight wait for the lock");
my $quit = Time::HiRes::time();
kill 'QUIT', $master or fail("QUIT: $!");
my $released = main::lock_wait($lock);
my $res = main::load_wait($load);
my ($last) = sort { $b <=> $a } values %{ $res->{ok_at} };
is(main::outcomes($res), "201 x $n", 'every request got 201, not a reset');
main::all_stored_once('quit', $res, main::db(), 't_017_quit');
ok(!grep({ $_ < $released } values %{ $res->{ok_at} }),
   'answered after the lock was released, with QUIT already sent');
$last //= Time::HiRes::time();
my @pids = ($master, @workers);
Time::HiRes::sleep(0.01) while grep({ !main::gone($_) } @pids)
                               && Time::HiRes::time() - $last < 2;
my $exit = Time::HiRes::time();
is_deeply([grep { !main::gone($_) } @pids], [],
          sprintf('master and workers gone %.2f s after the last answer',
                  $exit - $last));
note(sprintf('from the lock: QUIT at %.2f s, released at %.2f s, last 201 '
             . 'at %.2f s, all gone at %.2f s', $quit - $locked,
             $released - $locked, $last - $locked,
             $exit - $locked));
ok(!-e $Test::Nginx::Util::PidFile, 'the pid file is removed');
is(main::log_count(qr/\[notice\].* exiting$/), 2,
   'both workers logged their exit');
--- no_error_log
exited on signal
[error]
[alert]
[crit]
[emerg]
