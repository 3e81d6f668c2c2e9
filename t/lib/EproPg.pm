package EproPg;

# Helpers for the fault suites 012 and 017, on top of Epro.pm:
#
# - `use EproPg 'NNN'` names the file: body($id) is then a PHQ-9
#   submission (Epro.pm's phq9()) a minute old for study "SNNN"; ids are
#   Epro.pm's uuid();
# - private PostgreSQL clusters: free_port() (EproHost.pm) probes for a
#   port that can be bound, pg_sh() runs util/pg.sh with EPRO_PG_DIR and
#   EPRO_PG_PORT, as_pg() and pg_ctl() run a command as the "postgres"
#   user (when root), pg_dbh() connects to one, pg_stop_all() (for END)
#   stops every cluster started through pg_sh() or given to pg_track();
#   private_pg() starts a suite's own cluster that END stops and removes;
# - the load: load() POSTs submissions and retries them as the README tells
#   clients to, outcomes() sums up its answers, all_stored_once() checks
#   that every id is stored exactly once;
# - aside() runs blocking work in a child, fork_load() a load() (its
#   result from load_wait()), hold_lock() holds a table lock in one,
#   lock_wait() tells when it was released;
# - nginx: master(), workers_of(), gone() (EproHost.pm), log_lines(),
#   log_count(), port(); Epro.pm's wait_log() and wait_ready() wait for
#   log lines.

use strict;
use warnings;

use Cwd ();
use DBI;
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Path ();
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Storable ();
use Test::More;
use Time::HiRes ();
use Epro qw(conninfo db_connect phq9 uuid);
use EproHost qw(free_port children gone);

use parent 'Exporter';
our @EXPORT = qw(free_port tmpdir as_pg pg_ctl pg_sh pg_track pg_dbh
                 pg_stop_all private_pg body port load outcomes
                 all_stored_once dups_after_unknown_only aside aside_wait
                 fork_load load_wait hold_lock lock_wait workers_of gone
                 master log_lines log_count);

our $Repo = Cwd::getcwd();
our $Bin = $ENV{PG_BIN} || '/usr/lib/postgresql/15/bin';
our $Run = sprintf '%04x%04x', $$ & 0xffff, int rand 0xffff;
our $Tag = '000';
# where as_pg() appends the commands' stderr (undef: left as it is)
our $CommandLog;
my %started;

sub import {
    my ($class, $tag) = @_;
    $Tag = $tag if defined $tag;
    $class->export_to_level(1, $class, @EXPORT);
}

# a temporary directory PostgreSQL's user may enter
sub tmpdir {
    my $dir = File::Temp::tempdir("epro-$Tag.XXXXXX", TMPDIR => 1);
    chmod 0755, $dir;
    return $dir;
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
        open STDERR, '>>', $CommandLog if defined $CommandLog;
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

# util/pg.sh $what on the cluster in $dir, on $port
sub pg_sh {
    my ($what, $dir, $port) = @_;
    local $ENV{EPRO_PG_DIR} = $dir;
    local $ENV{EPRO_PG_PORT} = $port;
    $started{$dir} = 1 if $what eq 'start';
    my $out = `'$Repo/util/pg.sh' $what 2>&1`;
    die "util/pg.sh $what failed:\n$out" if $? != 0;
}

# a cluster made otherwise, for pg_stop_all()
sub pg_track {
    my ($dir) = @_;
    $started{$dir} = 1;
}

sub pg_dbh {
    my ($port) = @_;
    return DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=epro",
                        'epro', '', { RaiseError => 1, AutoCommit => 1,
                                      PrintError => 0, PrintWarn => 0 });
}

# stops the clusters that run and removes the data that util/pg.sh kept in
# /tmp behind a link; for END, in the parent only
sub pg_stop_all {
    for my $dir (sort keys %started) {
        pg_ctl($dir, '-m', 'immediate', '-w', 'stop')
            if -f "$dir/postmaster.pid";
        my $real = readlink $dir;
        File::Path::remove_tree($real) if $real;
    }
}

# A cluster of the suite's own (its long blocks restart it): util/pg.sh
# starts it on the first free port of $from .. $last, in a temporary
# directory that END removes after pg_stop_all(), in the process that
# called this only.  Returns the cluster's directory, its port, its
# conninfo and whether it started (if not, after a warning).
my ($own_pid, @own_tmp);

sub private_pg {
    my ($from, $last) = @_;
    my $tmp = tmpdir();
    my $dir = "$tmp/pg";
    my $port = free_port($from, $last);

    $own_pid = $$;
    push @own_tmp, $tmp;

    my $ok = eval { pg_sh('start', $dir, $port); 1 };
    warn $@ if !$ok;

    return ($dir, $port,
            "host=127.0.0.1 port=$port dbname=epro user=epro", $ok);
}

END {
    if (@own_tmp && $$ == $own_pid) {
        local $?;
        pg_stop_all();
        File::Path::remove_tree(@own_tmp);
    }
}

# a submission a minute old, whatever the clock checks are
sub body {
    my ($id) = @_;
    return phq9(id => $id, studyId => "\"S$Tag\"", siteId => undef,
                subject => "S$Tag-$Run", collectedAt => time - 60);
}

sub port {
    return $ENV{TEST_NGINX_SERVER_PORT} || $Test::Nginx::Util::ServerPort;
}

# The load: each id of $o{ids} (or, with $o{for}, new ids for that many
# seconds, pushed onto $o{ids} if given) is POSTed to $o{uri} on a
# connection of its own (HTTP/1.0), $o{clients} at a time.  503 and 504
# are retried after Retry-After (at most 1 s), a connection error after
# 0.1 s, with the same body, until 201 or $o{deadline} seconds; with
# $o{once} nothing is retried.  $o{at} holds [seconds, code] pairs: code
# runs once the load has run that long.  With $o{until}, a file's name, no
# new id starts once that file exists (the caller decides when the load is
# over; $o{for} stays the longest it may run).  $o{body}, a code taking
# the id, makes the bodies instead of body() (a FHIR Bundle...), sent as
# $o{type} (default application/json); $o{ok} is the status that means
# done (default 201).  Returns, per id, the list of answers ("201", "503",
# "504", "conn", "other:..."), the time of each 201 (or $o{ok}) and
# whether it said "duplicates":1, and every answer as [time, answer] in
# the order they came (events).
sub load {
    my (%o) = @_;
    my $ids = $o{ids} || [];
    my @todo = map { [$_, 0] } @$ids;
    my %made = map { $_ => 1 } @$ids;
    my (%seen, %ok_at, %dup, %by, %body, @events);
    my @at = sort { $a->[0] <=> $b->[0] } @{ $o{at} || [] };
    my $sel_r = IO::Select->new;
    my $sel_w = IO::Select->new;
    my $t0 = Time::HiRes::time();
    my $running = 0;
    my $make = $o{body} || \&body;
    my $ok = $o{ok} // '201';
    my $type = $o{type} // 'application/json';

    my $done = sub {
        my ($c, $what, $delay) = @_;
        push @{ $seen{$c->{id}} }, $what;
        push @events, [Time::HiRes::time(), $what];
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
        my $more = $o{for} && $now - $t0 < $o{for}
                   && !(defined $o{until} && -e $o{until});

        while (@at && $now - $t0 >= $at[0][0]) {
            (shift @at)->[1]->();
        }

        # keep $o{clients} busy with new ids
        while ($more && @todo + $running < $o{clients}) {
            my $id = uuid();
            die "load: the id $id was made twice\n" if $made{$id}++;
            push @$ids, $id;
            push @todo, [$id, 0];
        }

        last if !@todo && !$running && !@at && !$more;

        # start what is due, up to $o{clients} at once
        @todo = sort { $a->[1] <=> $b->[1] } @todo;
        while (@todo && $running < $o{clients} && $todo[0][1] <= $now) {
            my ($id) = @{ shift @todo };
            my $body = $body{$id} //= $make->($id);    # the same on retries
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
                                  . "Content-Type: $type\r\n"
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

            if ($st eq $ok) {
                $ok_at{$c->{id}} = Time::HiRes::time();
                $dup{$c->{id}} = 1 if ($b // '') =~ /"duplicates":1/;
                $done->($c, $ok, -1);
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
             ids => $ids, events => \@events };
}

# the answers of a load: "201 x 97, 504->201 x 3" and the like
sub outcomes {
    my ($res) = @_;
    my %n;
    $n{ join '->', @$_ }++ for values %{ $res->{seen} };
    return join ', ', map { "$_ x $n{$_}" } sort keys %n;
}

# every id of a load answered 201 in the end, each stored in $table of $db
# exactly once
sub all_stored_once {
    my ($name, $res, $db, $table) = @_;
    my $ids = $res->{ids};

    is_deeply([grep { !$res->{ok_at}{$_} } @$ids], [],
              "$name: every id answered 201 in the end")
        or diag(outcomes($res));

    my %rows = map { @$_ } @{ $db->selectall_arrayref(
        "SELECT submission_id::text, count(*) FROM $table "
        . 'WHERE submission_id = ANY(?::uuid[]) GROUP BY 1', undef,
        [@$ids]) };

    is_deeply([grep { !$rows{$_} } @$ids], [],
              "$name: every acknowledged id is stored");
    is_deeply([grep { $rows{$_} != 1 } keys %rows], [],
              "$name: no id stored twice");
}

# A 503 says "nothing stored": an id answered "duplicates" must have
# met a 504 or a lost connection before (the outcome of its first try
# was unknown).
sub dups_after_unknown_only {
    my ($res) = @_;
    my @bad = grep { !grep { /^(?:504|conn)/ } @{ $res->{seen}{$_} } }
              sort keys %{ $res->{dup} };

    is(scalar @bad, 0,
       'only retries after a 504 or a lost connection were duplicates')
        or diag(join "\n", map { "$_: " . join '->', @{ $res->{seen}{$_} } }
                            grep { defined } @bad[0 .. 9]);
}

# Runs $code in a child (for blocking work: locks, pg_ctl, a load); the
# child reports on the returned handle.
sub aside {
    my ($code) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $r;
        $w->autoflush(1);
        eval { $code->($w) };
        print $w "failed: $@\n" if $@;
        # no END blocks: they would stop nginx and the clusters
        POSIX::_exit(0);
    }

    close $w;
    return { pid => $pid, fh => $r };
}

# what the child of aside() reported, once it is gone
sub aside_wait {
    my ($a) = @_;
    my $out = do { local $/; readline $a->{fh} } // '';
    waitpid $a->{pid}, 0;
    return $out;
}

# load() in a child (aside()): the caller injects the fault meanwhile;
# load_wait() returns its result, or dies with the child's error
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

# Takes ACCESS EXCLUSIVE on $table in a child, with a session of its own
# on the test database, and holds it $hold seconds; with %o cancel => S
# and app => NAME it first cancels, after S seconds, the statements of
# application_name NAME waiting for the lock.  Returns once the lock is
# held (lock_wait() on what it returns tells when it was released).  The
# server ends the session, and the lock, by itself if the child is stuck.
sub hold_lock {
    my ($table, $hold, %o) = @_;
    my $a = aside(sub {
        my ($w) = @_;
        my $db = db_connect(PrintError => 0);
        $db->do("SET idle_in_transaction_session_timeout = '10s'");
        $db->do("SET lock_timeout = '5s'");
        $db->begin_work;
        $db->do("LOCK TABLE $table IN ACCESS EXCLUSIVE MODE");
        print $w "locked\n";

        if ($o{cancel}) {
            Time::HiRes::sleep($o{cancel});
            $db->selectall_arrayref(
                'SELECT pg_cancel_backend(pid) FROM pg_stat_activity '
                . "WHERE application_name = ? AND wait_event_type = "
                . "'Lock'", undef, $o{app});
        }

        Time::HiRes::sleep($hold);
        # the time the COMMIT is sent: nothing waiting can commit sooner
        printf $w "released %.3f\n", Time::HiRes::time();
        $db->commit;
        $db->disconnect;
    });

    local $SIG{ALRM} = sub { die "$Tag: no lock on $table after 10 s\n" };
    alarm 10;
    my $line = readline $a->{fh};
    alarm 0;

    die "$Tag: cannot lock $table: " . ($line // "no answer\n")
        unless ($line // '') eq "locked\n";
    return $a;
}

# the time the lock's COMMIT was sent
sub lock_wait {
    my ($l) = @_;
    my $out = aside_wait($l);
    my ($t) = $out =~ /^released (\S+)$/m or die "$Tag: lock: $out";
    return $t;
}

# nginx's workers: its master's children
sub workers_of {
    my ($master) = @_;
    return children($master);
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

1;
