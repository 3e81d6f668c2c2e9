# Failover the way operators run it (issue 14, part 5): Patroni (Debian's
# patroni 3.0) keeps a three-member PostgreSQL 15 cluster, its state in a
# one-member etcd 3.4 (the etcd3: DCS), with synchronous_mode and
# synchronous_mode_strict on, so that a commit returns only once a
# synchronous standby has flushed it.  nginx lists the three members with
# target_session_attrs=read-write and is never told about a failover.
# Under steady load (forked clients, a new id for each submission, 503,
# 504 and lost connections retried with the same body):
# - the leader's postgres gets SIGKILL; Patroni (primary_start_timeout 0)
#   fails over to the synchronous standby instead of restarting it;
# - then a planned switchover (Patroni's REST API) to the synchronous
#   standby of the new leader;
# - then the loss of the leader's host: its Patroni and its postgres get
#   SIGKILL, the leader key expires after the ttl (20 s).
# Every id answered 201 must be on the final leader, once; the 503s and
# 504s are counted and the time from each event until 201s come back is
# measured and reported with diag().
# Each event waits until both standbys stream from the leader, one of them
# synchronously.  Only with EPRO_LONG_TESTS=1 (about 2 minutes).  Ports: etcd, the
# members' PostgreSQL and REST APIs take the first free ones of
# 28100-28199 (TEST_NGINX_PATRONI_PORTS=FROM-LAST picks another range).
use lib 't/lib';
use Test::Nginx::Socket;
use File::Path ();
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use Epro;
use EproPg '022';

if (!$ENV{EPRO_LONG_TESTS}) {
    Test::More::plan(skip_all => 'EPRO_LONG_TESTS=1 runs it: it starts '
                     . 'etcd and three Patroni members and takes about '
                     . '2 minutes');
}

Test::More::plan('no_plan');

# a suite that cannot start its cluster must fail, not pass having
# checked nothing (util/deps.sh installs both)
for my $bin ('/usr/bin/patroni', '/usr/bin/etcd') {
    die "$bin not installed (apt-get install patroni etcd-server)\n"
        unless -x $bin;
}

workers(2);
master_on();
worker_connections(1024);
log_level("info");     # no debug lines for thousands of requests

our @Members = qw(m1 m2 m3);
our $Pid = $$;
our ($Tmp, %Port, %Proc, $Ready, $SetupError, $Stop);
our $Http = HTTP::Tiny->new(timeout => 2);
our $Json = JSON::PP->new->canonical;

# the first free port of the range, none taken twice
sub port_of {
    my ($what) = @_;
    my ($from, $last) = split /-/,
        $ENV{TEST_NGINX_PATRONI_PORTS} // '28100-28199';
    $Port{$what} = free_port($from, $last, values %Port);
    return $Port{$what};
}

# $cmd in the background in a session of its own, as PostgreSQL's user
# (when root) if $as_pg, its output appended to $log; its pid
sub spawn {
    my ($log, $as_pg, @cmd) = @_;
    my ($uid, $gid, $home) = (getpwnam 'postgres')[2, 3, 7];
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        POSIX::setsid();
        chdir '/';
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        if ($as_pg && $> == 0) {
            $ENV{HOME} = $home;
            POSIX::setgid($gid);
            $) = "$gid $gid";
            POSIX::setuid($uid);
        }
        { exec @cmd };
        POSIX::_exit(127);
    }

    return $pid;
}

sub member_yml {
    my ($m) = @_;
    my ($api, $pg) = ($Port{"$m-api"}, $Port{"$m-pg"});
    my $dir = "$Tmp/$m";

    return <<"YML";
scope: epro022
namespace: /epro-022/
name: $m

restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api

etcd3:
  hosts: 127.0.0.1:$Port{etcd}

log:
  level: INFO

bootstrap:
  dcs:
    # fail over within seconds: loop_wait + 2 x retry_timeout <= ttl
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    # a postgres that crashed on the leader is not restarted there: the
    # synchronous standby takes over at once
    primary_start_timeout: 0
    # a commit returns once a synchronous standby has it, and with no
    # such standby it waits rather than return: what makes a failover
    # lose no acknowledged row
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 100
        fsync: 'on'
        synchronous_commit: 'on'
        wal_keep_size: 128MB
        # a standby whose leader went away retries that soon (5 s by
        # default): until one streams from the new leader, its commits
        # wait (synchronous_mode_strict)
        wal_retrieve_retry_interval: 1s
  initdb:
    - encoding: UTF8
    - locale: C

postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/data
  bin_dir: $EproPg::Bin
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: epro
      password: epro022
    replication:
      username: replicator
      password: rep022
  parameters:
    unix_socket_directories: '$dir'
    logging_collector: 'on'
    log_directory: '$dir/log'
    log_min_messages: warning
  # a standby whose rewind fails is made anew from the leader
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
YML
}

sub start_cluster {
    $Tmp = tmpdir();
    $EproPg::CommandLog = "$Tmp/pg-commands.log";

    # etcd, one member, as this user
    port_of($_) for 'etcd', 'etcd-peer';
    my $peer = "http://127.0.0.1:$Port{'etcd-peer'}";
    my $client = "http://127.0.0.1:$Port{etcd}";
    $Proc{etcd} = spawn("$Tmp/etcd.log", 0, '/usr/bin/etcd',
        '--name', 'e022', '--data-dir', "$Tmp/etcd",
        '--listen-client-urls', $client, '--advertise-client-urls', $client,
        '--listen-peer-urls', $peer, '--initial-advertise-peer-urls', $peer,
        '--initial-cluster', "e022=$peer", '--initial-cluster-state', 'new',
        '--log-level', 'warn');
    wait_for(10, sub { my $r = $Http->get("$client/health");
                       $r->{success} && $r->{content} =~ /"true"/ })
        or die "etcd does not answer on $client, see $Tmp/etcd.log\n";

    for my $m (@Members) {
        port_of("$m-$_") for 'api', 'pg';
        mkdir "$Tmp/$m" or die "$Tmp/$m: $!";
        open my $fh, '>', "$Tmp/$m/patroni.yml" or die "$!";
        print $fh member_yml($m);
        close $fh;
        pg_track("$Tmp/$m/data");
    }

    system('chown', '-R', 'postgres', $Tmp) if $> == 0;

    # all at once: one bootstraps, the others clone it
    for my $m (@Members) {
        $Proc{$m} = spawn("$Tmp/$m/patroni.log", 1, '/usr/bin/patroni',
                          "$Tmp/$m/patroni.yml");
    }

    my $c = wait_healthy(90, 3)
        or die "no leader with two streaming standbys after 90 s: "
               . cluster_text() . "; see $Tmp/m*/patroni.log\n";

    # the schema through the leader, found as nginx finds it
    my $db = DBI->connect('dbi:Pg:' . pg_hosts('postgres'), 'epro', '',
                          { RaiseError => 1, PrintError => 0,
                            PrintWarn => 0 });
    $db->do('CREATE DATABASE epro');
    $db->disconnect;

    # libpq tries the next host when one is down or read-only, not when
    # one refuses the login: a standby that has not replayed the CREATE
    # DATABASE yet ends the search ("database does not exist")
    for my $m (@Members) {
        wait_for(10, sub { pg_dbh($Port{"$m-pg"}) })
            or die "the database epro is not on $m after 10 s\n";
    }

    $db = DBI->connect('dbi:Pg:' . pg_hosts('epro'), 'epro', '',
                       { RaiseError => 1, PrintError => 0, PrintWarn => 0 });
    my $schema = "$EproPg::Repo/sql/schema.sql";
    open my $fh, '<', $schema or die "$schema: $!";
    $db->do('SET client_min_messages = warning');
    $db->do(do { local $/; <$fh> });
    $db->disconnect;

    return 1;
}

# a libpq conninfo naming the three members, for the writable one
sub pg_hosts {
    my ($dbname) = @_;
    return 'host=' . join(',', ('127.0.0.1') x @Members) . ' port='
        . join(',', map { $Port{"$_-pg"} } @Members)
        . " dbname=$dbname target_session_attrs=read-write";
}

sub wait_for {
    my ($secs, $code) = @_;
    my $t = Time::HiRes::time();

    while (Time::HiRes::time() - $t < $secs) {
        my $v = eval { $code->() };
        return $v if $v;
        Time::HiRes::sleep(0.1);
    }

    return undef;
}

# GET /cluster from the first member that answers: {members => [{name,
# role, state, ...}]}
sub cluster {
    for my $m (@Members) {
        my $api = $Port{"$m-api"};
        my $r = $Http->get("http://127.0.0.1:$api/cluster");
        next unless $r->{success};
        my $c = eval { $Json->decode($r->{content}) } or next;
        return $c;
    }

    return undef;
}

sub cluster_text {
    my $c = cluster() or return 'no REST API answers';
    return join ', ', map { "$_->{name} $_->{role} $_->{state}" }
                      @{ $c->{members} };
}

# a member whose postgres runs (3.0 says "running" of a standby too)
sub up {
    my ($m) = @_;
    return ($m->{state} // '') =~ /^(?:running|streaming)$/;
}

sub role {
    my ($c, $role) = @_;
    my ($m) = grep { $_->{role} eq $role && up($_) }
              @{ $c->{members} || [] };
    return $m ? $m->{name} : undef;
}

# The cluster once it has a running leader and a synchronous standby, and
# $n members in all, the standbys streaming from the leader; undef after
# $secs.  Patroni says "running" of a standby before it has found that it
# must rewind: the leader's pg_stat_replication tells.
sub wait_healthy {
    my ($secs, $n) = @_;
    return wait_for($secs, sub {
        my $c = cluster() or return;
        my $l = role($c, 'leader') or return;
        role($c, 'sync_standby') or return;
        my $db = DBI->connect("dbi:Pg:host=127.0.0.1;port="
                              . $Port{"$l-pg"} . ';dbname=postgres',
                              'epro', '', { RaiseError => 1,
                                            PrintError => 0 });
        my ($all, $sync) = $db->selectrow_array(q{
            SELECT count(*), count(*) FILTER (WHERE sync_state = 'sync')
            FROM pg_stat_replication WHERE state = 'streaming'});
        $db->disconnect;
        return $all >= $n - 1 && $sync >= 1 ? $c : undef;
    });
}

sub postmaster {
    my ($m) = @_;
    open my $fh, '<', "$Tmp/$m/data/postmaster.pid" or return undef;
    my $pid = <$fh>;
    return ($pid // '') =~ /^(\d+)/ ? $1 : undef;
}

# The outage around an event at $t: the longest pause between two 201s
# from 1 s before it on; (its start, its end), relative to $t.
sub outage {
    my ($res, $t, $until) = @_;
    my @ok = grep { $_ > $t - 1 && $_ < $until }
             sort { $a <=> $b } values %{ $res->{ok_at} };
    my ($from, $to) = ($t, $t);

    for my $i (1 .. $#ok) {
        ($from, $to) = @ok[$i - 1, $i] if $ok[$i] - $ok[$i - 1] > $to - $from;
    }

    return ($from - $t, $to - $t);
}

# what the clients got from $from to $to: "201 x N, 503 x N, ..."
# (retries included)
sub counts {
    my ($res, $from, $to) = @_;
    my %n;
    $n{$_->[1]}++ for grep { $_->[0] >= $from && $_->[0] < $to }
                      @{ $res->{events} };
    return join(', ', map { "$_ x $n{$_}" } sort keys %n) || 'nothing';
}

# After event $e (the leader $e->{from} gone): the new leader, once the
# other members see it, and then a synchronous standby of it; the times
# in $e.
sub new_leader {
    my ($e) = @_;
    $e->{leader} = wait_for(40, sub {
        my $l = role(cluster(), 'leader');
        return defined $l && $l ne $e->{from} ? $l : undef;
    }) or die "no new leader 40 s after the $e->{what}: "
              . cluster_text() . "\n";
    $e->{leader_at} = Time::HiRes::time();
    wait_healthy(40, 2)
        or die "no synchronous standby 40 s after the $e->{what}: "
               . cluster_text() . "\n";
    $e->{sync_at} = Time::HiRes::time();
}

# The events: the leader's postgres killed, a switchover, the leader's
# host lost (its Patroni and postgres killed); each once the cluster has
# a leader and a synchronous standby, and the load had 3 s to flow again.
sub kill_postgres {
    my ($e) = @_;
    my $pm = postmaster($e->{from}) or die "no postmaster.pid\n";
    $e->{t} = Time::HiRes::time();
    kill 'KILL', $pm or die "kill $pm: $!\n";
}

sub switchover {
    my ($e) = @_;
    my $api = $Port{"$e->{from}-api"};
    $e->{t} = Time::HiRes::time();
    # the API answers once the switchover is done (or has failed)
    my $resp = HTTP::Tiny->new(timeout => 40)->post(
        "http://127.0.0.1:$api/switchover",
        { headers => { 'Content-Type' => 'application/json' },
          content => $Json->encode({ leader => $e->{from},
                                     candidate => $e->{sync} }) });
    $e->{answer} = "$resp->{status} $resp->{content}";
}

sub kill_host {
    my ($e) = @_;
    my $pm = postmaster($e->{from}) or die "no postmaster.pid\n";
    $e->{t} = Time::HiRes::time();
    # Patroni first: it would restart its postgres
    kill 'KILL', $Proc{$e->{from}} or die "kill Patroni: $!\n";
    kill 'KILL', $pm or die "kill $pm: $!\n";
}

# The scenario, from the test's post_check: the events with their times
# and the load's answers.
sub scenario {
    my @events = (
        { name => 'kill_postgres', run => \&kill_postgres,
          what => "kill -9 of the leader's postgres" },
        { name => 'switchover', run => \&switchover,
          what => 'switchover' },
        { name => 'kill_host', run => \&kill_host,
          what => "loss of the leader's host" },
    );
    my %r = (events => \@events);
    $Stop = "$Tmp/stop-load";
    my $load = fork_load(uri => '/s', for => 150, until => $Stop,
                         clients => 30, deadline => 170);

    my $ok = eval {
        for my $e (@events) {
            # the three members back (the one that lost its postgres or
            # was demoted rejoins as a standby), then 3 s of 201s
            wait_healthy(60, 3)
                or die "not all members back 60 s before the $e->{what}: "
                       . cluster_text() . "\n";
            Time::HiRes::sleep(3);
            my $c = cluster();
            $e->{from} = role($c, 'leader') or die "no leader\n";
            $e->{sync} = role($c, 'sync_standby') or die "no sync\n";
            $e->{run}->($e);
            new_leader($e);
        }
        Time::HiRes::sleep(3);
        1;
    };
    $r{error} = $@ unless $ok;

    open my $fh, '>', $Stop or die "$Stop: $!";
    close $fh;
    $r{load} = load_wait($load);
    $r{end} = Time::HiRes::time();
    $r{final} = role(cluster(), 'leader');

    # what did not happen gets a time, so that the figures can be printed
    for my $e (@events) {
        $e->{$_} //= $r{end} for qw(t leader_at sync_at);
    }

    return \%r;
}

# Patroni's thread pools take POSIX semaphores: /dev/shm must be a tmpfs
# (a bare chroot binds /dev without it; .ci/run mounts one)
$Ready = system('mountpoint -q /dev/shm') == 0
         ? eval { start_cluster() } : undef;
$SetupError = system('mountpoint -q /dev/shm') == 0
              ? $@ : "/dev/shm is not a tmpfs mount: Patroni cannot run\n";
$ENV{TEST_NGINX_PATRONI_PG} = $Ready ? pg_hosts('epro') . ' user=epro'
                              : 'host=127.0.0.1 port=1 dbname=epro user=epro';

END {
    if (defined $Pid && $$ == $Pid && $Tmp) {
        local $?;
        # Patroni first, or it restarts what is stopped under it
        kill 'KILL', grep { defined } @Proc{@Members};
        pg_stop_all();
        kill 'TERM', $Proc{etcd} if $Proc{etcd};
        waitpid $_, 0 for grep { defined } values %Proc;
        # the logs of etcd, Patroni and PostgreSQL stay after a failure
        # (or with TEST_NGINX_PATRONI_KEEP=1)
        if ($ENV{TEST_NGINX_PATRONI_KEEP}
            || !Test::More->builder->is_passing)
        {
            Test::More::diag("kept $Tmp");
        } else {
            File::Path::remove_tree($Tmp);
        }
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Patroni: postgres killed, switchover, host lost: no 201 lost
--- http_config
    epro_pg_conninfo "$TEST_NGINX_PATRONI_PG";
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
    fail("the Patroni cluster: $main::SetupError");
    return;
}
Epro::wait_log(qr/epro: connection \d+: ready \(server /, 10, 4)
    or fail('the pools are not ready on the leader');
my $master = main::master();
my @workers = main::workers_of($master);
my $r = main::scenario();
my $res = $r->{load};
my @ev = @{ $r->{events} };
is($r->{error}, undef, 'the three events ran') or return;
my @ok = values %{ $res->{ok_at} };
ok((grep { $_ < $ev[0]{t} } @ok) >= 10,
   scalar(grep { $_ < $ev[0]{t} } @ok) . ' ids acknowledged before the '
   . 'first event');
main::all_stored_once('Patroni', $res,
                      main::pg_dbh($main::Port{"$r->{final}-pg"}),
                      'epro_submissions');
main::dups_after_unknown_only($res);
is(main::master(), $master, 'the same nginx master');
is_deeply([main::workers_of($master)], \@workers,
          'the same workers: none restarted');
diag(sprintf('Patroni: %d ids, %d answered 201 (%d said "duplicates"); '
             . 'answers, retries included: %s; final leader %s',
             scalar @{ $res->{ids} }, scalar @ok,
             scalar keys %{ $res->{dup} },
             main::counts($res, 0, $r->{end} + 1), $r->{final} // '-'));
# a lost host keeps the leader key until the ttl (20 s) expires
my %limit = (kill_postgres => 15, switchover => 15, kill_host => 40);
for my $i (0 .. $#ev) {
    my $e = $ev[$i];
    my $next = $i < $#ev ? $ev[$i + 1]{t} : $r->{end} + 1;
    my @o = main::outage($res, $e->{t}, $next);
    is($e->{leader}, $e->{sync},
       "$e->{what}: the synchronous standby ($e->{sync}) leads, not "
       . "$e->{from}") or diag($e->{answer} // '');
    ok($o[1] < $limit{$e->{name}},
       sprintf('%s: 201s again %.2f s after it', $e->{what}, $o[1]));
    diag(sprintf('%s (%s): %s leader after %.2f s, Patroni names a '
                 . 'synchronous standby after %.2f s; no 201 from %.2f s '
                 . 'to %.2f s; '
                 . 'answers until the next event (%.1f s): %s',
                 $e->{what}, $e->{from}, $e->{leader} // '-',
                 $e->{leader_at} - $e->{t}, $e->{sync_at} - $e->{t}, @o,
                 $next - $e->{t}, main::counts($res, $e->{t}, $next)));
}
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]
