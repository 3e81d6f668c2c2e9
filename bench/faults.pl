#!/usr/bin/perl
# Load with fault injection for ngx_http_epro_module (issue #3).
#
#   perl bench/faults.pl --fault NAME [--clients 50] [--duration 10]
#                        [--at 3] [--keep] [options]
#
# Starts its own PostgreSQL (util/pg.sh with EPRO_PG_DIR in a temp dir,
# port 16200; a synchronous streaming standby on 16201 for failover) and
# its own nginx (/usr/sbin/nginx, 2 workers, 127.0.0.1:18200) with the
# module, then runs --clients clients for --duration seconds.  Each client
# sends submissions with unique ids and retries 503 and 504 (after
# Retry-After, at most --retry-cap s) and connection errors (backoff 50 ms
# to 1 s) with the same body until it gets 201, or until --drain seconds
# after the load (those ids count as gave_up).  A child process injects the
# fault at --at seconds:
#
#   none       nothing
#   startdown  PostgreSQL is down when nginx starts; started at --at
#   restart    pg_ctl stop -m immediate, down --down s, started again
#   terminate  pg_terminate_backend() of one pool connection (an active
#              one if any), --times times, 1 s apart
#   lock       another session inserts, uncommitted, the id one client then
#              sends: that statement waits --hold s (then rolled back)
#   queue      epro_queue_max_rows --queue-rows; the table is locked
#              --hold s (default 3): the queues fill
#   reload     nginx -s reload, twice; --busy S: while the table is
#              locked for S s, so that batches are in flight
#   quit       nginx -s quit (--busy as for reload), then nginx again
#   failover   conninfo with both hosts and target_session_attrs=
#              read-write; the primary is stopped (-m immediate), the
#              standby promoted --down s later
#   abort      --abort-rate of the requests: the client goes away after
#              sending half the body, or the body and up to 20 ms
#
# Other options: --pool (epro_pg_pool_size, 4), --pg-timeout (epro_pg_timeout,
# the module's default if not given), --conninfo '...' (appended to the
# conninfo, e.g. "options='-c statement_timeout=900'"), --per-request N
# (submissions per request, 1), --workers, --port, --pg-port, --standby.
#
# At the end every acknowledged id is looked up in the table (on the
# promoted standby after a failover), and the first line says:
#
#   fault=X acked=N stored=N lost=0 duplicated=0 gave_up=0
#
# then the answers per status, why retries were answered as duplicates,
# the time to 201, the longest time without a 201, the first 201 after the
# fault was cleared, the worker RSS before and after, the events (with the
# workers' CPU time between them) and the error log's lines, folded and
# counted.  Exits 1 if an acknowledged id is missing or stored twice or a
# worker crashed, 2 on a setup error.  Everything it started is stopped
# and its temp dir removed at exit (--keep keeps the dir).
use strict;
use warnings;

use Cwd qw(abs_path);
use DBI;
use Errno qw(EAGAIN ECONNREFUSED EINTR EWOULDBLOCK);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use FindBin;
use lib "$FindBin::RealBin/../t/lib";
use EproHost qw(free_port children gone);
use Getopt::Long;
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my $repo = abs_path(dirname(abs_path($0)) . '/..');

my %o = (
    fault       => 'none',
    clients     => 50,
    duration    => 10,
    at          => 3,
    down        => 2,
    hold        => undef,
    queue_rows  => 20,
    busy        => 0,
    port        => 18200,
    pg_port     => 16200,
    standby     => 16201,
    workers     => 2,
    pool        => 4,
    pg_timeout  => '',
    conninfo    => '',
    per_request => 1,
    retry_cap   => 2,
    drain       => 30,
    abort_rate  => 0.3,
    times       => 3,
    module      => "$repo/build/ngx_http_epro_module.so",
    nginx       => '/usr/sbin/nginx',
    pg_bin      => '/usr/lib/postgresql/15/bin',
);

GetOptions(\%o, 'fault=s', 'clients=i', 'duration=f', 'at=f', 'down=f',
           'hold=f', 'port=i', 'pg_port|pg-port=i', 'standby=i',
           'workers=i', 'pool=i', 'pg_timeout|pg-timeout=s',
           'per_request|per-request=i', 'retry_cap|retry-cap=f', 'drain=f',
           'abort_rate|abort-rate=f', 'times=i', 'module=s', 'nginx=s',
           'conninfo=s', 'queue_rows|queue-rows=i', 'busy=f',
           'keep', 'help|h')
    or exit 2;

if ($o{help}) {
    open my $fh, '<', $0 or die "$0: $!\n";
    while (<$fh>) {
        last unless /^#/;
        print if $. > 1;
    }
    exit 0;
}

my %faults = map { $_ => 1 }
    qw(none startdown restart terminate lock queue reload quit failover
       abort);

die "--fault must be one of: " . join(' ', sort keys %faults) . "\n"
    unless $faults{$o{fault}};
$o{hold} //= $o{fault} eq 'queue' ? 3 : 8;

die "--clients must be 1 to 100\n"
    if $o{clients} < 1 || $o{clients} > 100;
die "$o{module}: not found (bash util/build.sh)\n" unless -f $o{module};

$SIG{PIPE} = 'IGNORE';

# the port, or one of the next 19 that can be bound (something else may
# hold it)
$o{pg_port} = free_port($o{pg_port}, $o{pg_port} + 19);
$o{standby} = free_port($o{standby}, $o{standby} + 19, $o{pg_port});

my $T0 = time;
my $root = $> == 0;
my $tmp = tempdir('/tmp/epro-faults.XXXXXX');
chmod 0755, $tmp;

my $ngx = "$tmp/nginx";
my $pg1 = "$tmp/pg1";
my $pg2 = "$tmp/pg2";
my $app = "epro_bench";
my %started;        # what cleanup() stops: nginx pid, pg dirs
my $injector;       # pid of the fault child

sub note { print STDERR sprintf('%6.2f ', time - $T0), @_, "\n" }

# commands of PostgreSQL as its own user, from / (it may not enter $PWD)
sub as_pg {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        chdir '/';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', "$tmp/pg-commands.log";
        exec($root ? ('runuser', '-u', 'postgres', '--') : (), @cmd)
            or POSIX::_exit(127);
    }

    waitpid $pid, 0;
    return $? == 0;
}

sub pg_sh {
    my ($dir, $port, @args) = @_;
    local $ENV{EPRO_PG_DIR} = $dir;
    local $ENV{EPRO_PG_PORT} = $port;
    my $out = `"$repo/util/pg.sh" @args 2>&1`;
    die "util/pg.sh @args ($dir): $out" if $?;
    return $out;
}

sub pg_ctl {
    my ($dir, @args) = @_;
    return as_pg("$o{pg_bin}/pg_ctl", '-D', $dir, @args);
}

sub dbh {
    my ($port) = @_;
    return DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=epro",
                        'epro', '', { RaiseError => 1, PrintError => 0,
                                      PrintWarn => 0, AutoCommit => 1 });
}

sub conninfo {
    my $c = "host=127.0.0.1 port=$o{pg_port} dbname=epro user=epro "
          . "application_name=$app";

    if ($o{fault} eq 'failover') {
        $c = "host=127.0.0.1,127.0.0.1 port=$o{pg_port},$o{standby} "
           . "dbname=epro user=epro application_name=$app "
           . "target_session_attrs=read-write connect_timeout=2";
    }

    return "$c $o{conninfo}";
}


# ---------------------------------------------------------------- setup

sub setup_pg {
    pg_sh($pg1, $o{pg_port}, 'start');
    $started{pg}{$pg1} = 1;

    my $db = dbh($o{pg_port});
    $db->do('TRUNCATE epro_submissions');

    return if $o{fault} ne 'failover';

    # a streaming standby, synchronous: no acknowledged commit is only on
    # the primary
    as_pg("$o{pg_bin}/pg_basebackup", '-h', '127.0.0.1', '-p', $o{pg_port},
          '-U', 'epro', '-D', $pg2, '-X', 'stream', '-c', 'fast')
        or die "pg_basebackup failed\n";
    $started{pg}{$pg2} = 1;

    as_pg('sh', '-c', "touch '$pg2/standby.signal' && cat >> "
          . "'$pg2/postgresql.conf' <<CONF\n"
          . "port = $o{standby}\n"
          . "unix_socket_directories = '$pg2'\n"
          . "primary_conninfo = 'host=127.0.0.1 port=$o{pg_port} "
          . "user=epro application_name=standby1'\n"
          . "CONF\n")
        or die "cannot configure the standby\n";

    pg_ctl($pg2, '-l', "$pg2/postgresql.log", '-w', '-t', '60', 'start')
        or die "the standby does not start\n";

    $db->do("ALTER SYSTEM SET synchronous_standby_names = 'standby1'");
    $db->do('SELECT pg_reload_conf()');

    for (1 .. 100) {
        my ($s) = $db->selectrow_array("SELECT sync_state FROM "
            . "pg_stat_replication WHERE application_name = 'standby1'");
        return if ($s // '') eq 'sync';
        sleep 0.1;
    }

    die "the standby is not synchronous\n";
}

sub nginx_conf {
    my $timeout = $o{pg_timeout} ne ''
                  ? "    epro_pg_timeout $o{pg_timeout};\n" : '';
    $timeout .= "    epro_queue_max_rows $o{queue_rows};\n"
        if $o{fault} eq 'queue';

    mkdir $ngx;
    mkdir "$ngx/logs";
    open my $fh, '>', "$ngx/nginx.conf" or die "$ngx/nginx.conf: $!";
    print $fh <<CONF;
load_module $o{module};
${\ ($root ? 'user root;' : '') }
worker_processes $o{workers};
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 4096; }

http {
    access_log off;
    client_body_temp_path body;
    keepalive_requests 100000;

    epro_pg_conninfo "${\ conninfo() }";
    epro_pg_pool_size $o{pool};
$timeout
    server {
        listen 127.0.0.1:$o{port};

        location = /submissions {
            client_max_body_size 1m;
            epro_submit;
        }
    }
}
CONF
    close $fh;
}

sub nginx {
    my @args = @_;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        # "signal process started" and the like go to a file
        open STDERR, '>>', "$ngx/logs/commands.log";
        exec($o{nginx}, '-p', $ngx, '-c', "$ngx/nginx.conf", @args)
            or POSIX::_exit(127);
    }

    waitpid $pid, 0;
    return $? == 0;
}

sub master_pid {
    open my $fh, '<', "$ngx/logs/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

sub start_nginx {
    nginx('-q') or die "nginx does not start: see $ngx/logs/commands.log\n";

    for (1 .. 100) {
        my $pid = master_pid();
        if ($pid && kill 0, $pid) {
            $started{nginx} = $pid;
            return $pid;
        }
        sleep 0.05;
    }

    die "nginx wrote no pid file\n";
}

sub rss {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) {
        return $1 if /^VmRSS:\s+(\d+)/;
    }
    return 0;
}

sub workers_rss {
    my $m = master_pid() or return 'none';
    my @w = children($m);
    return join ' ', map { "$_:" . rss($_) . 'kB' } @w;
}

# CPU seconds used so far by the current workers
sub workers_cpu {
    my $m = master_pid() or return (0, '');
    my $ticks = 0;

    for my $pid (children($m)) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $line = <$fh> // next;
        $line =~ s/^.*\) //;
        my @f = split ' ', $line;
        $ticks += $f[11] + $f[12];      # utime, stime
    }

    return ($ticks / 100, join ',', children($m));
}

sub wait_gone {
    my ($limit, @pids) = @_;
    my $t = time;

    while (time - $t < $limit) {
        return time - $t unless grep { !gone($_) } @pids;
        sleep 0.02;
    }

    return undef;
}

# waits until every worker has its pool ready (or a timeout)
sub wait_pool {
    my ($port, $n, $limit) = @_;
    my $db = eval { dbh($port) } or return;
    my $t = time;

    while (time - $t < $limit) {
        my ($c) = $db->selectrow_array('SELECT count(*) FROM '
            . 'pg_stat_activity WHERE application_name = ?', undef, $app);
        return 1 if $c >= $n;
        sleep 0.05;
    }

    return 0;
}

sub cleanup {
    return if $$ != $started{owner};

    if ($injector) {
        kill 'TERM', $injector;
        waitpid $injector, 0;
        $injector = undef;
    }

    my $m = master_pid() // $started{nginx};
    for my $pid (grep { $_ } $m, $started{nginx}) {
        next unless kill 0, $pid;
        kill 'QUIT', $pid;
        kill 'TERM', $pid unless defined wait_gone(10, $pid);
        kill 'KILL', $pid unless defined wait_gone(5, $pid);
    }

    for my $dir (keys %{ $started{pg} || {} }) {
        pg_ctl($dir, '-m', 'immediate', '-w', 'stop')
            if -f "$dir/postmaster.pid";
    }

    if ($o{keep}) {
        note("kept $tmp");
    } else {
        system('rm', '-rf', $tmp);
    }
}

$started{owner} = $$;

END {
    my $rc = $?;
    cleanup() if $started{owner};
    $? = $rc;
}

$SIG{INT} = $SIG{TERM} = sub { note('interrupted'); exit 2 };


# ---------------------------------------------------------------- faults

# The injector runs in a child, so that pg_ctl and friends never stall the
# clients; it reports "mark NAME" lines on a pipe.
my ($mark_r, $mark_w);

sub mark {
    my ($name) = @_;
    syswrite $mark_w, sprintf("%.3f %s\n", time, $name);
}

sub inject {
    my $f = $o{fault};

    sleep $o{at};

    if ($f eq 'startdown') {
        mark('pg starting');
        pg_sh($pg1, $o{pg_port}, 'start');
        mark('fault cleared: pg started');

    } elsif ($f eq 'restart') {
        mark('fault: pg_ctl stop -m immediate');
        pg_ctl($pg1, '-m', 'immediate', '-w', 'stop');
        mark('pg stopped');
        sleep $o{down};
        mark('pg starting');
        pg_ctl($pg1, '-l', "$pg1/postgresql.log", '-w', '-t', '60', 'start');
        mark('fault cleared: pg started');

    } elsif ($f eq 'terminate') {
        my $db = dbh($o{pg_port});

        for my $i (1 .. $o{times}) {
            # one backend of the pool, preferably one with a batch in flight
            my ($pid, $state) = $db->selectrow_array(
                'SELECT pid, state FROM pg_stat_activity '
                . 'WHERE application_name = ? ORDER BY state = '
                . "'active' DESC, random() LIMIT 1", undef, $app);
            if ($pid) {
                $db->do('SELECT pg_terminate_backend(?)', undef, $pid);
                mark("fault: terminated backend $pid ($state)");
            }
            sleep 1;
        }

        mark('fault cleared');

    } elsif ($f eq 'lock') {
        # another session inserts the id that one client is about to send
        # and keeps its transaction open: that client's statement waits
        my $db = dbh($o{pg_port});
        $db->begin_work;
        $db->do(q{INSERT INTO epro_submissions (submission_id, study_id,
                  subject_id, visit_name, instrument, collected_at,
                  received_at, answers, payload) VALUES (?, 'S', 'LOCK',
                  'V', 'PHQ-9', now(), now(), '{}', '{}')}, undef,
                lock_id());
        mark('fault: lock held');
        sleep $o{hold};
        my ($n, $waiting) = dbh($o{pg_port})->selectrow_array(
            'SELECT count(*), count(*) FILTER (WHERE wait_event_type = '
            . "'Lock') FROM pg_stat_activity WHERE application_name = ?",
            undef, $app);
        mark("backends of the module: $n, waiting for the lock: $waiting");
        $db->rollback;
        mark('fault cleared: lock released');

    } elsif ($f eq 'queue') {
        # every statement waits: the queues fill up to epro_queue_max_rows
        my $db = dbh($o{pg_port});
        $db->begin_work;
        $db->do('LOCK TABLE epro_submissions IN ACCESS EXCLUSIVE MODE');
        mark('fault: table locked');
        sleep $o{hold};
        $db->rollback;
        mark('fault cleared: table unlocked');

    } elsif ($f eq 'reload' || $f eq 'quit') {
        for my $i (1 .. ($f eq 'reload' ? 2 : 1)) {
            my $m = master_pid();
            my @old = children($m);
            my $lock;

            if ($o{busy}) {
                # --busy: the signal comes while every batch is waiting
                # for a table lock, released --busy seconds later
                pipe(my $lr, my $lw) or die "pipe: $!";
                $lock = fork // die "fork: $!";
                if ($lock == 0) {
                    close $lr;
                    my $db = dbh($o{pg_port});
                    $db->begin_work;
                    $db->do('LOCK TABLE epro_submissions IN ACCESS '
                            . 'EXCLUSIVE MODE');
                    mark("table locked for $o{busy} s");
                    syswrite $lw, "locked\n";
                    sleep $o{busy};
                    $db->rollback;
                    mark('table unlocked');
                    POSIX::_exit(0);
                }
                close $lw;
                <$lr>;          # the lock is held: batches pile up
                close $lr;
                sleep 0.3;
            }

            if ($f eq 'reload') {
                mark("fault: nginx -s reload ($i)");
                nginx('-s', 'reload');
                my $dt = wait_gone(30, @old);
                mark(defined $dt
                     ? sprintf('old workers exited after %.2f s', $dt)
                     : 'old workers still there after 30 s');
                waitpid $lock, 0 if $lock;
                sleep 1.5;
                next;
            }

            mark('fault: nginx -s quit');
            nginx('-s', 'quit');
            my $dw = wait_gone(30, @old);
            mark(defined $dw
                 ? sprintf('the workers exited after %.2f s', $dw)
                 : 'the workers are still there after 30 s');
            my $dt = wait_gone(30, $m);
            mark(defined $dt
                 ? sprintf('nginx exited after %.2f s', $dt)
                 : 'nginx still there after 30 s');
            waitpid $lock, 0 if $lock;
            sleep 0.5;
            nginx('-q') or mark('nginx does not start again');
            mark('fault cleared: nginx started');
        }

    } elsif ($f eq 'failover') {
        mark('fault: primary stopped (-m immediate)');
        pg_ctl($pg1, '-m', 'immediate', '-w', 'stop');
        mark('primary stopped');
        sleep $o{down};
        mark('promoting the standby');
        pg_ctl($pg2, '-w', 'promote');
        mark('fault cleared: standby promoted');
    }
}

my $Lock;
sub lock_id { return $Lock //= new_id() }


# ---------------------------------------------------------------- load

my $Run = sprintf '%08x', int(rand(0xffffffff));
my $Seq = 0;

sub new_id {
    $Seq++;
    return sprintf '%s-%04x-4000-8000-%012x', $Run, $$ & 0xffff, $Seq;
}

sub body_of {
    my (@ids) = @_;
    my $answers = join ',', map { "\"PHQ9_$_\":" . ($_ % 4) } 1 .. 9;
    # a minute ago: the device's clock is never ahead of the server's
    my $at = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time - 60));
    my @subs = map {
        "{\"submissionId\":\"$_\",\"studyId\":\"STUDY-BENCH\","
        . "\"siteId\":\"SITE-01\",\"subjectId\":\"SUBJ-$Seq\","
        . "\"visitName\":\"Week 4\",\"instrument\":\"PHQ-9\","
        . "\"collectedAt\":\"$at\","
        . "\"answers\":{$answers}}"
    } @ids;
    return @subs == 1 ? $subs[0] : '[' . join(',', @subs) . ']';
}

my (%status, %acked, %history, @ok_times, @events, %sent_ids);
my ($gave_up, $dup_acks, $unanswered_commits, $timeouts) = (0, 0, 0, 0);
my $inflight_max = 0;
my (@latency, $retried);
my $module_id = '';

sub record {
    my ($what) = @_;
    $status{$what}++;
}

# one client: a state machine over a non-blocking socket
sub new_slot {
    my ($i) = @_;
    return { i => $i, state => 'idle', sock => undef, uses => 0 };
}

sub next_submission {
    my ($s, $now, $ids) = @_;
    $ids //= [map { new_id() } 1 .. $o{per_request}];
    $s->{ids} = $ids;
    $s->{body} = body_of(@$ids);
    $s->{attempts} = 0;
    $s->{errors} = 0;
    $s->{first} = $now;
    $s->{last_fail} = '';
    $s->{fails} = {};
    $s->{state} = 'send';
    $sent_ids{$_} = 1 for @$ids;
}

sub drop_sock {
    my ($s, $sel_r, $sel_w) = @_;
    return unless $s->{sock};
    $sel_r->remove($s->{sock});
    $sel_w->remove($s->{sock});
    close $s->{sock};
    $s->{sock} = undef;
    $s->{uses} = 0;
}

sub retry_later {
    my ($s, $delay, $why) = @_;
    $s->{state} = 'wait';
    $s->{wake} = time + $delay;
    $s->{last_fail} = $why;
    $s->{fails}{$why}++;
}

sub conn_error {
    my ($s, $sel_r, $sel_w, $why) = @_;

    # a kept-alive connection the server closed before reading the
    # request is the ordinary keep-alive race: retried, counted apart
    my $kind = ($s->{uses} > 0 && $s->{rbuf} eq '') ? 'reused-closed'
             : $why;
    record("conn:$kind");
    drop_sock($s, $sel_r, $sel_w);
    $s->{errors}++;
    my $d = 0.05 * 2 ** ($s->{errors} > 5 ? 5 : $s->{errors} - 1);
    retry_later($s, ($d > 1 ? 1 : $d) * (0.5 + rand), "conn:$kind");
}

sub start_request {
    my ($s, $sel_r, $sel_w) = @_;

    if (!$s->{sock}) {
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $o{port},
                                         Proto => 'tcp', Blocking => 0);
        if (!$sock) {
            record('conn:refused');
            $s->{errors}++;
            my $d = 0.05 * 2 ** ($s->{errors} > 5 ? 5 : $s->{errors} - 1);
            retry_later($s, $d > 1 ? 1 : $d, 'conn:refused');
            return;
        }
        $s->{sock} = $sock;
        $s->{uses} = 0;
    }

    $s->{attempts}++;
    $s->{wbuf} = "POST /submissions HTTP/1.1\r\nHost: bench\r\n"
               . "Content-Type: application/json\r\n"
               . 'Content-Length: ' . length($s->{body}) . "\r\n\r\n"
               . $s->{body};
    $s->{rbuf} = '';
    $s->{sent_at} = time;
    $s->{state} = 'write';

    # --fault abort: the client goes away, at once or after a while
    $s->{abort} = undef;
    if ($o{fault} eq 'abort' && rand() < $o{abort_rate}) {
        $s->{abort} = rand() < 0.3
                      ? { at => int(length($s->{wbuf}) / 2) }
                      : { after => rand(0.02) };
    }

    $sel_w->add($s->{sock});
}

sub finish_response {
    my ($s, $sel_r, $sel_w, $code, $hdr, $body) = @_;
    my $now = time;

    $s->{uses}++;
    record($code);

    if ($hdr =~ /^connection:\s*close/mi) {
        drop_sock($s, $sel_r, $sel_w);
    }

    if ($code == 201) {
        my ($acc, $dup) = $body =~ /"accepted":(\d+),"duplicates":(\d+)/;
        my @ids = $body =~ /"([0-9a-f-]{36})"/g;

        if (join(',', @ids) ne join(',', @{ $s->{ids} })) {
            record('201-wrong-ids');
        }

        $acked{$_}++ for @{ $s->{ids} };
        push @ok_times, $now;
        push @latency, $now - $s->{first};
        $retried += @{ $s->{ids} } if $s->{attempts} > 1;

        if ($dup) {
            # an earlier attempt committed: which answers did it get?
            my $f = $s->{fails};
            my $why = $f->{504} ? '504'
                    : (grep { /^conn:(?!refused|aborted)/ } keys %$f)
                      ? 'a connection error with no answer'
                    : $f->{'conn:aborted'} ? 'the client left'
                    : $f->{503} ? '503 only (said: nothing stored)'
                    : 'no failed attempt';
            $dup_acks += $dup;
            $unanswered_commits += $dup
                if $why eq 'a connection error with no answer';
            $history{$why} += $dup;
        }

        $s->{state} = 'idle';
        return;
    }

    if ($code == 503 || $code == 504) {
        my ($ra) = $hdr =~ /^retry-after:\s*(\d+)/mi;
        $ra //= 1;
        $ra = $o{retry_cap} if $ra > $o{retry_cap};
        retry_later($s, $ra * (0.9 + rand(0.2)), $code);
        return;
    }

    # anything else is not retried: it says nothing about the rows
    push @events, sprintf('%.2f unexpected %s: %s', $now - $T0, $code,
                          substr($body, 0, 200));
    $gave_up += @{ $s->{ids} };
    $s->{state} = 'idle';
}

# parses what was read; returns 1 once a whole response was handled
sub parse {
    my ($s, $sel_r, $sel_w) = @_;
    my $i = index($s->{rbuf}, "\r\n\r\n");
    return 0 if $i < 0;

    my $hdr = substr($s->{rbuf}, 0, $i + 2);
    my ($code) = $hdr =~ m{^HTTP/1\.\d (\d{3})};
    my ($len) = $hdr =~ /^content-length:\s*(\d+)/mi;
    $len //= 0;
    return 0 if length($s->{rbuf}) < $i + 4 + $len;

    my $body = substr($s->{rbuf}, $i + 4, $len);
    $sel_r->remove($s->{sock});
    finish_response($s, $sel_r, $sel_w, $code // 0, $hdr, $body);
    return 1;
}

sub run_load {
    my (@slots) = map { new_slot($_) } 0 .. $o{clients} - 1;
    my $sel_r = IO::Select->new;
    my $sel_w = IO::Select->new;
    my %by_fh;
    my $end = $T0 + $o{duration};
    my $deadline = $end + $o{drain};
    my $lock_sent = 0;

    $sel_r->add($mark_r) if $mark_r;

    while (1) {
        my $now = time;
        my $busy = 0;
        my $next = $now + 0.05;

        for my $s (@slots) {
            if ($s->{state} eq 'idle') {
                if ($o{fault} eq 'lock' && !$lock_sent && $s->{i} == 0
                    && $started{locked})
                {
                    $lock_sent = 1;
                    next_submission($s, $now, [lock_id()]);
                } elsif ($now < $end) {
                    next_submission($s, $now);
                } else {
                    next;
                }
            }

            $busy++;

            if ($s->{state} eq 'wait') {
                if ($now >= $s->{wake}) {
                    $s->{state} = 'send';
                } else {
                    $next = $s->{wake} if $s->{wake} < $next;
                    next;
                }
            }

            if ($s->{state} eq 'send') {
                start_request($s, $sel_r, $sel_w);
                $by_fh{$s->{sock}} = $s if $s->{sock};
            }

            if ($s->{state} eq 'read' && $now - $s->{sent_at} > 30) {
                # no answer in 30 s: the worker is stuck
                $timeouts++;
                push @events, sprintf('%.2f no answer in 30 s', $now - $T0);
                conn_error($s, $sel_r, $sel_w, 'timeout');
            }

            if ($s->{state} eq 'aborting' && $now >= $s->{wake}) {
                record('aborted');
                drop_sock($s, $sel_r, $sel_w);
                retry_later($s, 0.01, 'conn:aborted');
            }
        }

        my $inflight = grep { $_->{state} =~ /^(write|read|aborting)$/ }
                       @slots;
        $inflight_max = $inflight if $inflight > $inflight_max;

        last if !$busy && $now >= $end;

        if ($now >= $deadline) {
            for my $s (grep { $_->{state} ne 'idle' } @slots) {
                $gave_up += @{ $s->{ids} };
                push @events, sprintf('%.2f gave up on %s after %d '
                    . 'attempts (last: %s)', $now - $T0,
                    join(',', @{ $s->{ids} }), $s->{attempts},
                    $s->{last_fail});
                drop_sock($s, $sel_r, $sel_w);
            }
            last;
        }

        my $t = $next - $now;
        $t = 0 if $t < 0;
        my ($r, $w) = IO::Select->select($sel_r, $sel_w, undef, $t);

        for my $fh (@{ $w || [] }) {
            my $s = $by_fh{$fh} or next;
            next unless $s->{sock} && $s->{sock} == $fh;
            my $len = length $s->{wbuf};
            $len = $s->{abort}{at} if $s->{abort} && $s->{abort}{at};
            my $n = syswrite $fh, $s->{wbuf}, $len;

            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                conn_error($s, $sel_r, $sel_w,
                           $! == ECONNREFUSED ? 'refused' : 'write');
                next;
            }

            substr($s->{wbuf}, 0, $n, '');

            if ($s->{abort} && $s->{abort}{at}) {
                # half the body sent: the client goes away
                record('aborted');
                drop_sock($s, $sel_r, $sel_w);
                retry_later($s, 0.01, 'conn:aborted');
                next;
            }

            next if $s->{wbuf} ne '';

            $sel_w->remove($fh);

            if ($s->{abort}) {
                $s->{state} = 'aborting';
                $s->{wake} = time + $s->{abort}{after};
                next;
            }

            $sel_r->add($fh);
            $s->{state} = 'read';
        }

        for my $fh (@{ $r || [] }) {
            if ($mark_r && $fh == $mark_r) {
                my $n = sysread $mark_r, my $buf, 4096;
                if (!$n) {
                    $sel_r->remove($mark_r);
                    next;
                }
                for my $line (split /\n/, $buf) {
                    my ($t, $what) = split / /, $line, 2;
                    my ($cpu, $pids) = workers_cpu();
                    $what .= sprintf ' (workers used %.2f s CPU since '
                        . 'the previous event)', $cpu - $started{cpu}
                        if defined $started{cpu}
                           && $started{pids} eq $pids;
                    @started{qw(cpu pids)} = ($cpu, $pids);
                    push @events, sprintf('%.2f %s', $t - $T0, $what);
                    note($what);
                    $started{locked} = 1 if $what =~ /lock held/;
                    $started{cleared} = $t if $what =~ /^fault cleared/;
                    $started{fault_at} //= $t if $what =~ /^fault:/;
                }
                next;
            }

            my $s = $by_fh{$fh} or next;
            next unless $s->{sock} && $s->{sock} == $fh;
            my $n = sysread $fh, my $buf, 65536;

            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                conn_error($s, $sel_r, $sel_w, 'reset');
                next;
            }

            if ($n == 0) {
                conn_error($s, $sel_r, $sel_w,
                           $s->{rbuf} eq '' ? 'closed' : 'truncated');
                next;
            }

            $s->{rbuf} .= $buf;
            parse($s, $sel_r, $sel_w);
        }
    }

    for my $s (@slots) {
        drop_sock($s, $sel_r, $sel_w);
    }
}


# ---------------------------------------------------------------- report

# the module's log lines, numbers folded, counted; nginx's own alerts and
# crashes too
sub log_summary {
    my %n;
    my @order;
    my %first;

    open my $fh, '<', "$ngx/logs/error.log" or return ();
    while (my $line = <$fh>) {
        my ($time, $level, $msg) =
            $line =~ m{^\S+ (\S+) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$}
            or next;
        next unless $msg =~ /epro:|exited on signal|open socket|
                             worker process|exiting|shutting/x
                    || $level =~ /^(alert|crit|emerg)$/;
        $msg =~ s/, client: .*//;
        $msg =~ s/(\d+#\d+)/N/g;
        $msg =~ s/\b(worker process|backend) \d+/$1 N/g;
        $msg =~ s/signal \d+/signal N/;
        $msg =~ s/ \d+ ms,/ N ms,/;
        $msg =~ s/\(\d+ rows\)/(N rows)/;
        $msg =~ s/batch of \d+ row/batch of N row/;
        $msg =~ s/\d+ queued row/N queued row/;
        my $key = "[$level] $msg";
        push @order, $key unless $n{$key}++;
        $first{$key} //= $time;
    }

    return map { sprintf '%5d x %s  (first at %s)', $n{$_}, $_, $first{$_} }
           @order;
}

sub main {
    setup_pg();

    if ($o{fault} eq 'startdown') {
        pg_ctl($pg1, '-m', 'fast', '-w', 'stop');
    }

    nginx_conf();
    start_nginx();

    # which build ran: the file changes under concurrent work
    my @st = stat $o{module};
    my $head = `git -C '$repo' rev-parse --short HEAD 2>/dev/null` // '';
    chomp $head;
    $module_id = sprintf '%s (built %s UTC, repo HEAD %s)', $o{module},
        POSIX::strftime('%H:%M:%S', gmtime $st[9]), $head || '?';

    my $want = $o{workers} * $o{pool};
    if ($o{fault} ne 'startdown' && !wait_pool($o{pg_port}, $want, 10)) {
        note("the pools are not ready after 10 s");
    }

    for (1 .. 100) {
        my @w = children(master_pid());
        last if @w >= $o{workers};
        sleep 0.02;
    }

    my $rss_before = workers_rss();

    lock_id();      # made here: the injector must know it too
    pipe($mark_r, $mark_w) or die "pipe: $!";
    $injector = fork // die "fork: $!";

    if ($injector == 0) {
        close $mark_r;
        $started{owner} = 0;
        eval { inject() if $o{fault} ne 'none' && $o{fault} ne 'abort' };
        mark("injector failed: $@") if $@;
        POSIX::_exit(0);
    }

    close $mark_w;
    $T0 = time;
    run_load();
    my $elapsed = time - $T0;

    waitpid $injector, 0;
    $injector = undef;

    # the load's last marks
    while (sysread $mark_r, my $buf, 4096) {
        for my $line (split /\n/, $buf) {
            my ($t, $what) = split / /, $line, 2;
            push @events, sprintf('%.2f %s', $t - $T0, $what);
        }
    }

    my $rss_after = workers_rss();

    # the acknowledged ids, where they are now
    my $db_port = $o{fault} eq 'failover' ? $o{standby} : $o{pg_port};
    my $db = dbh($db_port);
    my @acked = keys %acked;
    my %found;
    my $rows = $db->selectall_arrayref(
        'SELECT submission_id::text, count(*) FROM epro_submissions '
        . 'WHERE submission_id = ANY(?::uuid[]) GROUP BY 1', undef,
        \@acked);
    $found{$_->[0]} = $_->[1] for @$rows;

    my $stored = keys %found;
    my $lost = grep { !$found{$_} } @acked;
    my $dupl = grep { $_ > 1 } values %found;
    my ($total) = $db->selectrow_array(
        'SELECT count(*) FROM epro_submissions');
    my $unacked_stored = $total - $stored;

    # recovery: the longest time without a 201, and the first 201 after
    # the fault was cleared
    my ($gap, $gap_at) = (0, 0);
    my @t = sort { $a <=> $b } @ok_times;
    for my $k (1 .. $#t) {
        last if $t[$k - 1] > $T0 + $o{duration};
        if ($t[$k] - $t[$k - 1] > $gap) {
            ($gap, $gap_at) = ($t[$k] - $t[$k - 1], $t[$k - 1] - $T0);
        }
    }
    my $recover = '-';
    if ($started{cleared}) {
        my ($first) = grep { $_ > $started{cleared} } @t;
        $recover = defined $first
                   ? sprintf('%.2f s', $first - $started{cleared})
                   : 'never';
    }

    my @log = log_summary();
    my $crashes = grep { /exited on signal/ } @log;
    my $alerts = grep { /^\s*\d+ x \[(alert|crit|emerg)\]/ } @log;

    print "fault=$o{fault} acked=" . scalar(@acked) . " stored=$stored "
        . "lost=$lost duplicated=$dupl gave_up=$gave_up\n";
    print 'status: ' . join(' ', map { "$_=$status{$_}" }
                            sort keys %status) . "\n";
    printf "load: %d clients, %.1f s, %.0f acked/s, at most %d in flight\n",
        $o{clients}, $elapsed, @acked / ($elapsed || 1), $inflight_max;
    print "retries answered as duplicates: $dup_acks"
        . join('', map { "; after $_: $history{$_}" } sort keys %history)
        . "\n";
    print "stored but never acknowledged (gave up or left): "
        . "$unacked_stored\n";
    print "no answer within 30 s: $timeouts\n";
    my @l = sort { $a <=> $b } @latency;
    printf "time to 201 (first attempt to 201): p50 %.3f s, p99 %.3f s, "
        . "max %.2f s; ids that needed a retry: %d\n",
        (@l ? ($l[$#l / 2], $l[int($#l * 0.99)], $l[-1]) : (0, 0, 0)),
        $retried // 0;
    printf "longest time without a 201: %.2f s (from %.2f s)\n", $gap,
        $gap_at;
    print "first 201 after the fault was cleared: $recover\n";
    print "module: $module_id\n";
    print "worker RSS before: $rss_before\n";
    print "worker RSS after:  $rss_after\n";
    print "events:\n", map { "  $_\n" } @events;
    print "log ($ngx/logs/error.log):\n", map { "  $_\n" } @log;
    print "crashes=$crashes alerts=$alerts\n";

    return ($lost || $dupl || $crashes) ? 1 : 0;
}

my $rc = eval { main() };
if (!defined $rc) {
    print STDERR "faults.pl: $@";
    $rc = 2;
}
exit $rc;
