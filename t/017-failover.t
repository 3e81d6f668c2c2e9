# Faults of issue #3 that only bench/faults.pl covered so far:
# - failover: a primary and a synchronous streaming standby of this file
#   (pg_basebackup -R; ports 16400 and up); nginx lists both with
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
use File::Path ();
use Time::HiRes ();
use Epro;
use EproPg '017';

workers(2);
master_on();
worker_connections(1024);
log_level("info");     # no debug lines for thousands of requests

our $Pid = $$;
our ($Tmp, $P1, $P2, $Pg1, $Pg2, $Ready, $SetupError);

# our table, since it gets locked; made anew, like the schema
db()->do('DROP TABLE IF EXISTS t_017_quit');
db()->do('CREATE TABLE t_017_quit (LIKE epro_submissions INCLUDING ALL)');

# the primary (util/pg.sh) and its synchronous streaming standby
sub setup_failover {
    $Tmp = tmpdir();
    $EproPg::CommandLog = "$Tmp/pg-commands.log";
    $P1 = free_port(16400, 16439);
    $P2 = free_port($P1 + 1, $P1 + 40, $P1);
    $Pg1 = "$Tmp/pg1";
    $Pg2 = "$Tmp/pg2";

    pg_sh('start', $Pg1, $P1);

    # util/pg.sh gave $Tmp to postgres: the standby's directory is made
    # by pg_basebackup itself
    pg_track($Pg2);
    as_pg("$EproPg::Bin/pg_basebackup",
          '-d', "host=127.0.0.1 port=$P1 user=epro "
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

# stub_status's "Writing": requests read and not yet answered, this one
# included
sub writing {
    my $r = eval { Epro::http_get('/st') } or return -1;
    my ($n) = $r->{body} =~ /Writing: (\d+)/;
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
        pg_stop_all();
        File::Path::remove_tree($Tmp);
    }
}

# the faults make errors; no block may log a crash or worse
no_error_log_default("exited on signal\n[alert]\n[crit]\n[emerg]\n");
no_shuffle();
run_tests();

__DATA__

=== TEST 1: failover under load: no 201 lost, 201 again, same nginx
--- http_config
    epro_pg_conninfo "$TEST_NGINX_FAILOVER_PG";
    epro_pg_pool_size 2;
    epro_pg_timeout 2s;
--- post_check
if (!$main::Ready) {
    fail("the primary and its standby: $main::SetupError");
    return;
}
wait_log(qr/epro: connection \d+: ready \(server [\d.]+:$main::P1\)/,
         5, 4)
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
main::dups_after_unknown_only($res);
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
--- post_check
wait_ready(4);
my $master = main::master();
my @workers = main::workers_of($master);
my $n = 40;
my @ids = map { uuid() } 1 .. $n;
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
