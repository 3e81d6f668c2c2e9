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
#   standby of the new leader.
# Every id answered 201 must be on the final leader, once; the 503s and
# 504s are counted and the time from each event until 201s come back is
# measured and reported with diag().
# Only with EPRO_LONG_TESTS=1 (about 1.5 minutes).  Ports: etcd, the
# members' PostgreSQL and REST APIs take the first free ones of
# 28100-28199 (TEST_NGINX_PATRONI_PORTS=FROM-LAST picks another range).
use lib 't/lib';
use Test::Nginx::Socket;
use File::Path ();
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Storable ();
use Time::HiRes ();
use Epro;
use EproPg '022';

if (!$ENV{EPRO_LONG_TESTS}) {
    Test::More::plan(skip_all => 'EPRO_LONG_TESTS=1 runs it: it starts '
                     . 'etcd and three Patroni members and takes about '
                     . '1.5 minutes');
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
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
YML
}

sub start_cluster {
    $Tmp = tmpdir();

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

# the cluster once it has a running leader and a synchronous standby, and
# $n members running in all; undef after $secs
sub wait_healthy {
    my ($secs, $n) = @_;
    return wait_for($secs, sub {
        my $c = cluster() or return;
        my @up = grep { up($_) } @{ $c->{members} };
        return role($c, 'leader') && role($c, 'sync_standby')
               && @up >= $n ? $c : undef;
    });
}

sub postmaster {
    my ($m) = @_;
    open my $fh, '<', "$Tmp/$m/data/postmaster.pid" or return undef;
    my $pid = <$fh>;
    return ($pid // '') =~ /^(\d+)/ ? $1 : undef;
}

# load() in a child process until $Stop exists: the caller makes the
# faults meanwhile
sub fork_load {
    my (%o) = @_;
    return aside(sub {
        my ($w) = @_;
        my $res = eval { load(%o) } || { error => "$@" };
        print $w Storable::freeze($res);
    });
}

sub load_wait {
    my ($l) = @_;
    my $data = aside_wait($l);
    my $res = eval { Storable::thaw($data) }
              || { error => 'the client died' };
    die "load: $res->{error}" if $res->{error};
    return $res;
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

# The scenario, from the test's post_check: returns what it measured.
sub scenario {
    my %r;
    $Stop = "$Tmp/stop-load";
    my $load = fork_load(uri => '/s', for => 150, until => $Stop,
                         clients => 30, deadline => 170);

    my $ok = eval {
        Time::HiRes::sleep(3);

        # 1. SIGKILL the leader's postmaster
        my $c = cluster();
        my $old = role($c, 'leader') or die 'no leader';
        $r{sync_at_kill} = role($c, 'sync_standby');
        my $pm = postmaster($old) or die "no postmaster.pid for $old";
        $r{kill} = Time::HiRes::time();
        kill 'KILL', $pm or die "kill $pm: $!";
        $r{killed} = $old;
        $r{leader1} = wait_for(40, sub {
            my $l = role(cluster(), 'leader');
            return defined $l && $l ne $old ? $l : undef;
        }) or die 'no new leader 40 s after the kill: ' . cluster_text();
        $r{leader1_at} = Time::HiRes::time();
        wait_healthy(40, 2)
            or die 'no synchronous standby 40 s after the failover: '
                   . cluster_text();
        $r{rejoined} = wait_healthy(40, 3) ? Time::HiRes::time() : undef;
        Time::HiRes::sleep(3);

        # 2. a planned switchover to the synchronous standby
        $c = cluster();
        my $from = role($c, 'leader');
        my $to = role($c, 'sync_standby');
        $r{switch} = Time::HiRes::time();
        # the API answers once the switchover is done (or has failed)
        my $api = $Port{"$from-api"};
        my $resp = HTTP::Tiny->new(timeout => 40)->post(
            "http://127.0.0.1:$api/switchover",
            { headers => { 'Content-Type' => 'application/json' },
              content => $Json->encode({ leader => $from,
                                         candidate => $to }) });
        $r{switch_answer} = "$resp->{status} $resp->{content}";
        $r{switch_from} = $from;
        $r{switch_to} = $to;
        $r{leader2} = wait_for(40, sub {
            my $l = role(cluster(), 'leader');
            return defined $l && $l eq $to ? $l : undef;
        });
        $r{leader2_at} = Time::HiRes::time();
        wait_healthy(40, 3);
        Time::HiRes::sleep(3);
        1;
    };
    $r{error} = $@ unless $ok;
    # what did not happen gets a time, so that the figures can be printed
    $r{$_} //= Time::HiRes::time()
        for qw(kill leader1_at switch leader2_at);

    open my $fh, '>', $Stop or die "$Stop: $!";
    close $fh;
    $r{load} = load_wait($load);
    $r{end} = Time::HiRes::time();
    $r{final} = role(cluster(), 'leader');
    return \%r;
}

$Ready = eval { start_cluster() };
$SetupError = $@;
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
        File::Path::remove_tree($Tmp);
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Patroni: leader killed, then a switchover: no 201 lost
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
main::wait_log(qr/epro: connection \d+: ready \(server /, 4, 10)
    or fail('the pools are not ready on the leader');
my $master = main::master();
my @workers = main::workers_of($master);
my $r = main::scenario();
my $res = $r->{load};
is($r->{error}, undef, 'the leader was killed, then switched over');
is($r->{leader1}, $r->{sync_at_kill},
   "the synchronous standby ($r->{sync_at_kill}) took over from the "
   . "killed $r->{killed}");
is($r->{leader2}, $r->{switch_to},
   "switched over from $r->{switch_from} to $r->{switch_to}")
    or diag("POST /switchover: $r->{switch_answer}");
ok(defined $r->{final}, "a leader at the end: $r->{final}");
my @ok = values %{ $res->{ok_at} };
ok((grep { $_ < $r->{kill} } @ok) >= 10,
   scalar(grep { $_ < $r->{kill} } @ok) . ' ids acknowledged before the '
   . 'kill');
main::all_stored_once('Patroni', $res,
                      main::pg_dbh($main::Port{"$r->{final}-pg"}),
                      'epro_submissions');
# a 503 says "nothing stored": a retry after 503s alone is no duplicate
is_deeply([grep { !grep { /^(?:504|conn)/ } @{ $res->{seen}{$_} } }
           keys %{ $res->{dup} }], [],
          'only retries after a 504 or a lost connection were duplicates');
my @k = main::outage($res, $r->{kill}, $r->{switch});
my @s = main::outage($res, $r->{switch}, $r->{end});
ok($k[1] < 15, sprintf('201s again %.2f s after the kill', $k[1]));
ok($s[1] < 15, sprintf('201s again %.2f s after the switchover request',
                       $s[1]));
is(main::master(), $master, 'the same nginx master');
is_deeply([main::workers_of($master)], \@workers,
          'the same workers: none restarted');
diag(sprintf('Patroni: %d ids, %d answered 201 (%d said "duplicates"); '
             . 'answers, retries included: %s',
             scalar @{ $res->{ids} }, scalar @ok,
             scalar keys %{ $res->{dup} },
             main::counts($res, 0, $r->{end} + 1)));
diag(sprintf('kill -9 of %s\'s postmaster: %s leader after %.2f s; no 201 '
             . 'from %.2f s to %.2f s; the killed member back as a standby '
             . 'after %s s', $r->{killed}, $r->{leader1} // '-',
             $r->{leader1_at} - $r->{kill}, @k,
             defined $r->{rejoined}
             ? sprintf('%.1f', $r->{rejoined} - $r->{kill}) : 'more than 40'));
diag(sprintf('switchover %s -> %s: leader after %.2f s; no 201 from %.2f s '
             . 'to %.2f s', $r->{switch_from} // '-', $r->{switch_to} // '-',
             $r->{leader2_at} - $r->{switch}, @s));
diag(sprintf('answers from the kill to the switchover (%.1f s): %s; '
             . 'from the switchover on (%.1f s): %s',
             $r->{switch} - $r->{kill},
             main::counts($res, $r->{kill}, $r->{switch}),
             $r->{end} - $r->{switch},
             main::counts($res, $r->{switch}, $r->{end} + 1)));
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]
