# Faults under load (issue #3), the fast versions of bench/faults.pl:
# - one backend of a pool ended (pg_terminate_backend) while 100 requests
#   are in flight;
# - PostgreSQL stopped with `pg_ctl stop -m immediate` under load and
#   started again (a cluster of its own on port 16300);
# - `nginx -s reload` (HUP) twice under load, the first while batches are
#   in flight.
# Each client sends its own submissionId and retries 503, 504 and
# connection errors with the same body, as the README tells clients to:
# every 201 must be stored exactly once, and nothing may be lost.
# EPRO_LONG_TESTS=1 adds a longer outage (the reconnect backoff).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use File::Path ();
use Time::HiRes ();
use Epro;
use EproPg '012';

workers(2);
master_on();
worker_connections(1024);

# 16300, or the next port that can be bound
our $Port = free_port(16300, 16319);
our $Pid = $$;
our $Tmp = tmpdir();
our $PgDir = "$Tmp/pg";
our ($PrivatePg, $PgError, $pg_dbh);

# tables of our own, since they get locked; made anew, like the schema
for my $t (qw(t_012_kill t_012_reload)) {
    db()->do("DROP TABLE IF EXISTS $t");
    db()->do("CREATE TABLE $t (LIKE epro_submissions INCLUDING ALL)");
}

# util/pg.sh on the cluster of this file
sub pg {
    my ($what) = @_;
    eval { pg_sh($what, $PgDir, $Port); 1 } or die "012: $@";
}

sub pg_db {
    return $pg_dbh if $pg_dbh && $pg_dbh->ping;

    $pg_dbh = pg_dbh($Port);
    return $pg_dbh;
}

# The load of TEST 2 and TEST 4: new ids from 50 clients for $for
# seconds; after 0.3 s the cluster is stopped (-m immediate), and $start,
# in the same child, starts it again.  Returns the load's result and the
# time the cluster was up again.
sub outage {
    my ($for, $deadline, $start) = @_;
    my $restart;

    pg_db()->do('CHECKPOINT');    # a shorter crash recovery

    my $res = load(uri => '/s', for => $for, clients => 50,
                   deadline => $deadline, at => [[0.3, sub {
        $restart = aside(sub {
            my ($w) = @_;
            my $t = Time::HiRes::time();
            pg_ctl($PgDir, '-m', 'immediate', '-w', 'stop')
                or die "stop\n";
            $start->();
            printf $w "%.3f\n", Time::HiRes::time();
            printf $w "# restarted in %.2f s\n", Time::HiRes::time() - $t;
        });
    }]]);
    my $out = aside_wait($restart);
    my ($up) = $out =~ /^(\d+\.\d+)$/m;

    fail("the restart failed: $out") if !defined $up;
    Test::More::note(outcomes($res), '; ', $out =~ /^# (.*)/m);
    return ($res, $up);
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
        pg_stop_all();
        File::Path::remove_tree($Tmp);
    }
}

# the faults make errors; no block may log a crash or worse
no_error_log_default("exited on signal\n[alert]\n[crit]\n[emerg]\n");
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a pool backend ended with 100 requests in flight: 504, retried
--- http_config
    epro_pg_conninfo "$TEST_NGINX_SHARED_PG application_name=t012_kill";
    epro_table t_012_kill;
    epro_pg_pool_size 2;
    epro_pg_timeout 5s;
--- post_check
wait_ready(4);
# every statement waits for the lock: 4 batches are in flight
my $lock = main::hold_lock('t_012_kill', 1.5);
my @ids = map { uuid() } 1 .. 100;
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
main::all_stored_once('terminate', $res, main::db(), 't_012_kill');
my @later = map { uuid() } 1 .. 20;
my $after = main::load(uri => '/s', ids => \@later, clients => 20,
                       deadline => 5);
is(main::outcomes($after), '201 x 20', 'later requests: 201 at once');
ok(main::log_count(qr/\[error\].*epro: connection \d+: .*reconnecting/) >= 1,
   'the lost connection is logged');
ok(main::log_count(qr/\[notice\].*epro: connection \d+: ready/) >= 1,
   'its reconnection is logged');



=== TEST 2: pg_ctl stop -m immediate under load, start: 201 within 2 s
--- skip_eval: 1: !$main::PrivatePg
--- http_config
    epro_pg_conninfo "$TEST_NGINX_PRIVATE_PG";
    epro_pg_pool_size 2;
    epro_pg_timeout 2s;
--- post_check
wait_ready(4);
my ($res, $up) = main::outage(3, 12, sub {
    main::pg_ctl($main::PgDir, '-l', "$main::PgDir/postgresql.log",
                 '-w', 'start') or die "start\n";
});
# batches in flight get 504, queued rows wait or get 503: not every run
# has them, but every run loses all 4 connections
ok(main::log_count(qr/\[error\].*epro: connection \d+: .*reconnecting/)
   >= 4, 'every connection was lost and logged once');
main::all_stored_once('restart', $res, main::pg_db(),
                      'epro_submissions');
# service is back: a request sent when PostgreSQL came back got 201 soon
my ($first) = sort { $a <=> $b } grep { $_ > $up } values %{ $res->{ok_at} };
if (!defined $first) {
    my $probe = main::load(uri => '/s', ids => [uuid()], clients => 1,
                           deadline => 5);
    ($first) = values %{ $probe->{ok_at} };
}
ok(defined $first && $first - $up < 2,
   sprintf('201 again %.2f s after the restart', ($first // 99) - $up))
    or diag(main::outcomes($res));
ok(main::log_count(qr/\[notice\].*epro: connection \d+: ready/) >= 4,
   'every connection is ready again');



=== TEST 3: HUP twice under load, batches in flight: no request lost
--- http_config
    epro_pg_conninfo "$TEST_NGINX_SHARED_PG application_name=t012_reload";
    epro_table t_012_reload;
    epro_pg_pool_size 2;
--- post_check
wait_ready(4);
my @ids = map { uuid() } 1 .. 400;
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
main::all_stored_once('reload', $res, main::db(), 't_012_reload');
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
--- post_check
wait_ready(4);
my ($res, $up) = main::outage(11, 25, sub {
    Time::HiRes::sleep(8);
    main::pg('start');
});
main::all_stored_once('long outage', $res, main::pg_db(),
                      'epro_submissions');
# Under load the restart may be reported ($up) after the module has
# already drained every request: then a request sent now must get 201 at
# once (the connections are back)
my ($first) = sort { $a <=> $b } grep { $_ > $up } values %{ $res->{ok_at} };
if (!defined $first) {
    $up = Time::HiRes::time();
    my $probe = main::load(uri => '/s', ids => [uuid()], clients => 1,
                           deadline => 5);
    ($first) = values %{ $probe->{ok_at} };
}
ok(defined $first && $first - $up < 1,
   sprintf('201 again %.2f s after the restart', ($first // 99) - $up))
    or diag(main::outcomes($res));
