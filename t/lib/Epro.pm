package Epro;

# Shared pieces of the Test::Nginx suites:
# - every block gets epro_pg_conninfo in its http{} unless it sets one;
# - "--- sql" runs a query after the response and compares its rows
#   (columns joined by "|", one row a line) with "--- sql_result";
# - "--- post_check" is Perl run after the response while nginx is up,
#   e.g. post_many() to send many requests at once;
# - "--- elapsed", one line per request of the block, "MIN MAX [what]"
#   or "-": the response came MIN to MAX seconds (MAX x4 under valgrind)
#   after $Epro::T0, which is set just before the block's --- init runs
#   (an init may set it again, later);
# - "--- seed eval", a body or an array of them POSTed to /s before the
#   block's request (before its --- init), each to be answered 201: the
#   rows an earlier block stores, so that the block passes alone too
#   (--- ONLY);
# - "--- metrics_delta", lines "SAMPLE N" and "result=LABEL N": between
#   just before the block's request (GET /metrics on the block's nginx,
#   after --- seed, before --- init) and its last response, SAMPLE grew
#   by N, and epro_requests_total{result="LABEL"} by N while no other
#   result moved;
# - db(), sql(), uuid() and phq9() for .t files that build bodies in Perl;
# - the defaults a block leaves out (below, before the preprocessor);
# - on request (use Epro qw(:DEFAULT :t)): sid() (uuid() is built on
#   it), the one id generator; sub_json() and phq9_answers() (phq9() is
#   built on them), the one body builder; created(), the 201 body; http(),
#   send_only(), response(), http_get(), http_post(), the raw HTTP client;
#   hold_room(), a request that holds the queue's room half sent;
#   metrics(), metrics_of(), delta(), req_key(), only_ok(), the /metrics
#   helper; wait_log(), wait_ready() and log_line(), to wait for a line of
#   a log; elapsed_ok(); db_connect(), a database connection of its own;
#   many_ok(), one_id_ok() and poison_ok(), the checks of many clients at
#   once that several suites make; repo_root(), the repository's
#   directory; fhir_env(), the FHIR suites' questionnaires and PHQ-9
#   response.

use strict;
use warnings;

use Cwd ();
use DBI;
use Digest::MD5 ();
use File::Spec;
use FindBin;
use Test::More;
use Test::Nginx::Socket ();

use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

use Exporter 'import';
our @EXPORT = qw(db sql uuid phq9 conninfo post_many no_error_log_default);
our @EXPORT_OK = qw(sid subst sub_json phq9_answers created http send_only
                    server_connect
                    response http_get http_post hold_room metrics
                    metrics_of delta req_key only_ok wait_log wait_ready
                    log_line elapsed_ok db_connect many_ok one_id_ok
                    poison_ok repo_root fhir_env hup);
our %EXPORT_TAGS = (t => \@EXPORT_OK);

my $conninfo = $ENV{TEST_NGINX_PG_CONNINFO}
    or die "TEST_NGINX_PG_CONNINFO is not set: run util/test.sh\n";

sub conninfo { $conninfo }

my $dbh;

# a new connection to the test database (a child needs its own)
sub db_connect {
    my %kv = map { split /=/, $_, 2 } split ' ', $conninfo;
    my $user = delete $kv{user} // 'epro';
    my $dsn = 'dbi:Pg:' . join ';', map { "$_=$kv{$_}" } sort keys %kv;

    return DBI->connect($dsn, $user, '',
                        { RaiseError => 1, AutoCommit => 1, PrintWarn => 0,
                          @_ });
}

sub db {
    return $dbh if $dbh && $dbh->ping;

    $dbh = db_connect();
    $dbh->do('SET client_min_messages = warning');
    return $dbh;
}

sub sql {
    my ($q, @bind) = @_;
    my $rows = db()->selectall_arrayref($q, undef, @bind);
    return join '', map { join('|', map { $_ // '' } @$_) . "\n" } @$rows;
}

# the repository: the parent of the .t file's directory
sub repo_root {
    return Cwd::abs_path(File::Spec->catdir($FindBin::Bin,
                                            File::Spec->updir));
}

# For the FHIR suites: $TEST_NGINX_EPRO_FHIR_SHIPPED (conf/fhir) and
# $TEST_NGINX_EPRO_FHIR_TEST (t/fhir/test-q.json) for their
# epro_questionnaires; returns the unit tests' US Core PHQ-9 response.
sub fhir_env {
    my $root = repo_root();

    $ENV{TEST_NGINX_EPRO_FHIR_SHIPPED} = "$root/conf/fhir";
    $ENV{TEST_NGINX_EPRO_FHIR_TEST} = "$root/t/fhir/test-q.json";

    my $j = do {
        local (@ARGV, $/) = ("$root/test/unit/fhir/phq-9-response.json");
        <>;
    };

    die "cannot read the PHQ-9 response\n" unless $j;
    return $j;
}

# POSTs every body at once, each on its own connection, to the nginx under
# test; returns [status, body] for each, in order.  For --- post_check.
sub post_many {
    my ($uri, @bodies) = @_;
    my (%out, %buf, %idx);
    my $sel = IO::Select->new;

    for my $i (0 .. $#bodies) {
        my $s = server_connect();
        my $b = $bodies[$i];
        my $req = "POST $uri HTTP/1.0\r\nHost: localhost\r\n"
                . "Content-Type: application/json\r\n"
                . 'Content-Length: ' . length($b) . "\r\n\r\n$b";
        $out{$s} = $req;
        $idx{$s} = $i;
        $buf{$s} = '';
        $sel->add($s);
    }

    my $wsel = IO::Select->new($sel->handles);
    my @res;
    my $deadline = Time::HiRes::time() + 30;

    while ($sel->count && Time::HiRes::time() < $deadline) {
        my ($r, $w) = IO::Select->select($sel, $wsel, undef, 1);

        for my $s (@{ $w || [] }) {
            my $n = syswrite($s, $out{$s});
            substr($out{$s}, 0, $n // 0, '');
            $wsel->remove($s) if $out{$s} eq '';
        }

        for my $s (@{ $r || [] }) {
            my $n = sysread($s, my $chunk, 65536);
            if ($n) {
                $buf{$s} .= $chunk;
                next;
            }
            my ($st) = $buf{$s} =~ m{^HTTP/\S+ (\d+)};
            my ($body) = $buf{$s} =~ m{\r\n\r\n(.*)\z}s;
            $res[$idx{$s}] = [$st // 0, $body // ''];
            $sel->remove($s);
            $wsel->remove($s);
            close $s;
        }
    }

    return @res;
}

# The one id generator.  sid(N) is a v4 submissionId unique to this run
# of this file (the database is shared and never truncated) and the same
# for the same N; uuid() is a new one at each call, from numbers far
# above any N a .t file names, and with the process id in them, so that a
# forked client (EproPg's aside()) makes ids of its own.
my $file = $0 =~ m{(\d+)-[^/]*\.t$} ? $1 : 0;
my $run = sprintf '%08x', int(rand(0xffffffff)) ^ (time & 0xffffffff);
my $seq = 0;

sub sid {
    my ($n) = @_;
    return sprintf '%s-%04d-4000-a000-%012d', $run, $file, $n;
}

# a process's own ids: its pid and a counter, whose part beyond 100 000
# goes to the fourth group (a load of more than 100 000 ids made the
# same id twice when the counter wrapped, and the second looked like a
# duplicate the server had invented)
sub uuid {
    $seq++;
    return sprintf '%s-%04d-4000-a%03x-%012d', $run, $file,
                   int($seq / 100_000) % 0x1000,
                   500_000_000_000 + $$ * 100_000 + $seq % 100_000;
}

# the 201 body naming @ids
sub created {
    my ($accepted, $duplicates, @ids) = @_;
    return "{\"accepted\":$accepted,\"duplicates\":$duplicates,\"ids\":["
        . join(',', map { "\"$_\"" } @ids) . "]}\n";
}

# The checks of many clients at once, for --- post_check.  many_ok():
# $n clients, each POSTing one PHQ-9 submission with an id of its own and
# the subject "S<file>-$tag-<i>": each answered 201 naming its id, each
# stored exactly once with its subject, nothing else stored.
sub many_ok {
    my ($tag, $n) = @_;

    my @ids = map { uuid() } 1 .. $n;
    my @res = post_many('/s', map { phq9(id => $ids[$_],
                                         subject => "S$file-$tag-$_") }
                                  0 .. $#ids);
    my (@created, @wrong);

    for my $i (0 .. $#ids) {
        my ($status, $body) = @{ $res[$i] // [0, ''] };

        next if $status != 201;

        push @created, $ids[$i];
        push @wrong, "$i: $body" if $body ne created(1, 0, $ids[$i]);
    }

    is(scalar @created, $n, "$tag: $n clients, $n answered 201")
        or diag(join ', ', map { $_->[0] } @res);
    is_deeply(\@wrong, [], "$tag: each 201 names its own id, accepted 1");

    my %rows = map { split /\|/ } split /\n/,
        sql('SELECT submission_id, count(*) FROM epro_submissions '
            . 'WHERE submission_id = ANY(?::uuid[]) GROUP BY 1', \@ids);

    is(scalar keys %rows, scalar @created,
       "$tag: as many rows as 201 answers");
    is_deeply([grep { $rows{$_} != 1 } keys %rows], [],
              "$tag: each row stored once");
    is_deeply([grep { !exists $rows{$_} } @created], [],
              "$tag: each 201 id is in the table");

    my $subjects = sql('SELECT count(*) FROM epro_submissions WHERE '
                       . 'submission_id = ANY(?::uuid[]) AND subject_id = '
                       . "'S$file-$tag-' || (array_position(?::uuid[], "
                       . 'submission_id) - 1)', \@ids, \@ids);
    is($subjects, scalar(@created) . "\n", "$tag: each row has its subject");
}

# one new id sent by $n clients at once, the subjects "S<file>-SAME-<i>":
# each answered 201, one accepted, the others duplicates, one row, that
# of the accepted request
sub one_id_ok {
    my ($n) = @_;
    my $id = uuid();
    my @res = post_many('/s', map { phq9(id => $id,
                                         subject => "S$file-SAME-$_") }
                                  1 .. $n);

    is(join(',', map { $_->[0] } @res), join(',', (201) x $n),
       "$n x 201");
    is(scalar(grep { $_->[1] eq created(1, 0, $id) } @res), 1,
       'one accepted');
    is(scalar(grep { $_->[1] eq created(0, 1, $id) } @res), $n - 1,
       ($n - 1) . ' duplicates');
    is(sql('SELECT count(*) FROM epro_submissions WHERE submission_id = ?',
           $id), "1\n", 'one row');

    my ($won) = grep { $res[$_][1] eq created(1, 0, $id) } 0 .. $#res;

    is(sql('SELECT subject_id FROM epro_submissions WHERE submission_id = ?',
           $id), "S$file-SAME-" . (($won // -2) + 1) . "\n",
       "the row is the accepted request's");
}

# Six at once into $table, which refuses the subject POISON (a CHECK),
# the nginx under test batching them together (one connection, a batch
# delay): the third alone fails, 422 naming its id; the batch is split
# and the five others are committed, each row as sent (copied from the
# failed batch, not encoded again: the bodies are gone by then).
sub poison_ok {
    my ($table) = @_;
    my @ids = map { uuid() } 1 .. 6;
    my @bodies = map { phq9(id => $ids[$_],
                            subject => $_ == 2 ? 'POISON' : "SUBJ-$_") }
                     0 .. 5;
    my @res = post_many('/s', @bodies);

    is(join(',', map { $_->[0] } @res), '201,201,422,201,201,201',
       'statuses');
    like($res[2][1], qr/rejected-by-database".*SQLSTATE 23514/, '422 body');
    like($res[2][1], qr/\Q$ids[2]\E/, '422 names the id');
    is(sql("SELECT count(*) FROM $table WHERE submission_id = ANY(?)",
           \@ids), "5\n", 'five rows stored');

    for my $i (0, 1, 3, 4, 5) {
        is(sql("SELECT subject_id || '|' || md5(payload) FROM $table "
               . 'WHERE submission_id = ?', $ids[$i]),
           "SUBJ-$i|" . Digest::MD5::md5_hex($bodies[$i]) . "\n",
           "row $i as sent");
    }
}

# The raw HTTP client, for --- post_check: send_only() sends the bytes of
# $req on a connection of its own and returns the socket, response() reads
# until the server closes it: {status, headers (lower-case names), body};
# http() is both.
sub send_only {
    my ($req) = @_;
    my $s = server_connect();

    print $s $req;
    return $s;
}

# A connection to the nginx under test.  Under valgrind it may not
# listen yet when --- init or --- seed runs: a refused connection is
# retried for up to 10 s, as Test::Nginx's own client does.
sub server_connect {
    my $port = $ENV{TEST_NGINX_SERVER_PORT}
               || $Test::Nginx::Util::ServerPort;
    my $s;

    for my $try (1 .. 40) {
        $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                   PeerPort => $port, Proto => 'tcp',
                                   Timeout => 10);
        last if $s || !$!{ECONNREFUSED};
        select(undef, undef, undef, 0.25);
    }

    die "connect: $!" if !$s;
    return $s;
}

sub response {
    my ($s) = @_;
    local $/;
    my $raw = <$s> // '';
    close $s;

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status) = $head =~ m{^HTTP/\S+ (\d+)};
    my %h;

    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }

    return { status => $status // 0, headers => \%h, body => $body // '' };
}

sub http {
    my ($req) = @_;
    return response(send_only($req));
}

sub http_get {
    my ($uri, $method) = @_;
    $method //= 'GET';
    return http("$method $uri HTTP/1.0\r\nHost: localhost\r\n\r\n");
}

# POSTs $body; %o: uri (/s), method, type (undef: no Content-Type), header
# (more header lines), chunked (1000-byte chunks), send_only (return the
# socket, the response unread), sent (send the header and only that many
# bytes of the body, and return the socket)
sub http_post {
    my ($body, %o) = @_;
    my $type = exists $o{type} ? $o{type} : 'application/json';
    my $method = $o{method} // 'POST';
    my $uri = $o{uri} // '/s';
    my $req = "$method $uri HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n" . ($o{header} // '')
            . (defined $type ? "Content-Type: $type\r\n" : '');

    if ($o{chunked}) {
        $req .= "Transfer-Encoding: chunked\r\n\r\n";
        for (my $i = 0; $i < length $body; $i += 1000) {
            my $c = substr $body, $i, 1000;
            $req .= sprintf("%x\r\n", length $c) . "$c\r\n";
        }
        $req .= "0\r\n\r\n";

    } else {
        $req .= 'Content-Length: ' . length($body) . "\r\n\r\n"
              . (defined $o{sent} ? substr($body, 0, $o{sent}) : $body);
    }

    return $o{send_only} || defined $o{sent} ? send_only($req) : http($req);
}

# A request that holds the queue's room (epro_queue_max_bytes): its body
# is let in, nothing else being queued, and only its first 10 bytes are
# sent; returns the socket, on which the caller sends substr($body, 10)
# to free the room.  The next request waits for room.
sub hold_room {
    my ($body) = @_;
    my $s = http_post($body, sent => 10);
    Time::HiRes::sleep(0.2);
    return $s;
}

# The metrics helper: metrics_of() turns an exposition into
# {"name{labels}" => value}, dying on a line that is neither a comment
# nor a sample; metrics() is that of GET /metrics on the nginx under test.
sub metrics_of {
    my ($text) = @_;
    my %m;

    for (split /\n/, $text) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or die "bad sample line: $_\n";
        $m{$k} = $v;
    }

    return \%m;
}

sub metrics {
    my $r = http_get('/metrics');
    die "GET /metrics: $r->{status}\n" if $r->{status} != 200;
    return metrics_of($r->{body});
}

sub delta {
    my ($before, $after, $key) = @_;
    return ($after->{$key} // 0) - ($before->{$key} // 0);
}

sub req_key { "epro_requests_total{result=\"$_[0]\"}" }

# from the metrics $m0 to $m1, epro_requests_total{result="$label"} grew
# by $n and no other result moved
sub only_ok {
    my ($label, $n, $m0, $m1, $what) = @_;
    my %labels = map { /^epro_requests_total\{result="(\w+)"\}$/
                       ? ($1 => 1) : () } keys %$m0, keys %$m1;
    my @moved = map { "$_:" . delta($m0, $m1, req_key($_)) }
                grep { delta($m0, $m1, req_key($_))
                       != ($_ eq $label ? $n : 0) }
                sort keys %labels;
    is("@moved", '', "$what: result=\"$label\" +$n, no other moved");
}

# sends the block's nginx master a HUP (a reload); wait => 1: returns
# once the workers it had are gone (15 s at most), since until then an
# old worker may still take a new connection (a reload that fails keeps
# them: no wait then)
sub hup {
    my (%o) = @_;
    my $file = $Test::Nginx::Util::PidFile;
    open my $in, '<', $file or die "$file: $!";
    my $pid = <$in>;
    close $in;
    chomp $pid;
    chomp(my @old = `pgrep -P $pid`);
    kill 'HUP', $pid or die "kill -HUP $pid: $!";

    return unless $o{wait};

    my $deadline = Time::HiRes::time() + 15;

    while (Time::HiRes::time() < $deadline) {
        last unless grep { kill 0, $_ } @old;
        Time::HiRes::sleep(0.05);
    }
}

# true once $n (1) lines of the error log of the block's nginx match $re,
# false after $secs (15) seconds
sub wait_log {
    my ($re, $secs, $n) = @_;
    my $deadline = Time::HiRes::time() + ($secs // 15);

    for (;;) {
        if (open my $in, '<', $Test::Nginx::Util::ErrLogFile) {
            my $count = grep { $_ =~ $re } <$in>;
            return 1 if $count >= ($n // 1);
        }

        return 0 if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
}

# waits up to 5 s until the nginx under test has $n connections ready
# (all workers together), dies otherwise
sub wait_ready {
    my ($n) = @_;
    wait_log(qr/epro: connection \d+: ready/, 5, $n)
        or die "the connections of nginx are not ready\n";
}

# the first line of $file that starts with "$tag ", waiting up to 5 s for
# it (an access log is written after the response); '' if none
sub log_line {
    my ($file, $tag) = @_;

    for (1 .. 100) {
        if (open my $fh, '<', $file) {
            my ($line) = grep { /^\Q$tag\E / } <$fh>;
            return $line if defined $line;
        }
        Time::HiRes::sleep(0.05);
    }

    return '';
}

# The one body builder.  sub_json(%fields) is one submission: each value
# given is raw JSON text ('"S1"', '1', '{}'), undef leaves the member out,
# unknown names are appended as extra members; by default submissionId is
# "@ID1@", and "@IDn@" anywhere is replaced with sid(n), "@UIDn@" with
# uc(sid(n)) (subst()).
my @order = qw(submissionId studyId siteId subjectId visitName instrument
               collectedAt answers);

sub subst {
    my ($v) = @_;
    $v =~ s/\@(U?)ID(\d+)\@/$1 ? uc(sid($2)) : sid($2)/ge;
    return $v;
}

sub sub_json {
    my (%o) = @_;

    my %v = (
        submissionId => '"@ID1@"',
        studyId      => '"S1"',
        siteId       => '"A"',
        subjectId    => '"P1"',
        visitName    => '"W1"',
        instrument   => '"PHQ-9"',
        collectedAt  => '"2026-11-20T08:00:00Z"',
        answers      => '{"q1":1}',
    );

    my @keys = @order;

    for my $k (sort keys %o) {
        push @keys, $k unless exists $v{$k};
        $v{$k} = $o{$k};
    }

    my @m;

    for my $k (@keys) {
        next unless defined $v{$k};
        push @m, "\"$k\":$v{$k}";
    }

    return subst('{' . join(',', @m) . '}');
}

# PHQ-9 answers PHQ9_1..9 with $n % 4; %set changes some (raw JSON text,
# undef leaves the item out)
sub phq9_answers {
    my (%set) = @_;
    my %a = map { ("PHQ9_$_" => $_ % 4) } 1 .. 9;

    for my $k (keys %set) {
        if (defined $set{$k}) {
            $a{$k} = $set{$k};
        } else {
            delete $a{$k};
        }
    }

    my @keys = sort { ($a =~ /(\d+)$/)[0] <=> ($b =~ /(\d+)$/)[0]
                      || $a cmp $b } keys %a;

    return '{' . join(',', map { "\"$_\":$a{$_}" } @keys) . '}';
}

# a PHQ-9 submission: id (a new uuid() if not given, undef: none),
# subject (SUBJ-0001); any other field as sub_json() takes it
sub phq9 {
    my (%o) = @_;
    my $id = exists $o{id} ? delete $o{id} : uuid();
    my $subject = delete $o{subject} // 'SUBJ-0001';

    return sub_json(submissionId => defined $id ? "\"$id\"" : undef,
                    studyId => '"STUDY-1"', siteId => '"SITE-01"',
                    subjectId => "\"$subject\"", visitName => '"Week 4"',
                    instrument => '"PHQ-9"',
                    collectedAt => '"2026-11-20T08:15:00+01:00"',
                    answers => phq9_answers(), %o);
}

# What a block leaves out, as in lua-nginx-module's t/: the one location
# most blocks test, the Content-Type of a JSON POST, and the log levels no
# block may reach.  A file whose blocks must not even warn raises the last
# with no_error_log_default("[warn]\n[error]\n[alert]") before run_tests.
# A block that gives its own section keeps it; an empty "--- more_headers"
# sends none, a block with "--- must_die" gets no --- no_error_log.  A
# block with no request, its work all in --- post_check, sends GET /t,
# answered "ok" by a location = /t added to its config (unless it has
# one).
# what --- seed gave, sent by the block's --- init
our @Seeds;

our $DefaultConfig = "    location = /s { epro_submit; }\n";
our $TConfig = "    location = /t { return 200 \"ok\\n\"; }\n";
our $DefaultNoErrorLog = "[error]\n[alert]\n";

sub no_error_log_default {
    my ($v) = @_;
    $v .= "\n" if $v !~ /\n\z/;
    $DefaultNoErrorLog = $v;
}

Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';

    if ($http !~ /epro_pg_conninfo/ && !defined $block->no_conninfo) {
        $block->set_value('http_config',
                          "epro_pg_conninfo \"$conninfo\";\n$http");
    }

    if (!defined $block->config) {
        $block->set_value('config', $DefaultConfig);
    }

    if (!defined $block->request && !defined $block->raw_request
        && !defined $block->pipelined_requests)
    {
        $block->set_value('request', "GET /t\n");
        $block->set_value('response_body', "ok\n")
            if !defined $block->response_body;
        $block->set_value('config', $block->config . $TConfig)
            if $block->config !~ m{location\s*=\s*/t\s};
    }

    my $req = $block->request;

    if (!defined $block->more_headers && defined $req && !ref $req
        && $req =~ /\A\s*POST\s/)
    {
        $block->set_value('more_headers',
                          "Content-Type: application/json\n");
    }

    if (!defined $block->no_error_log && !defined $block->must_die) {
        $block->set_value('no_error_log', $DefaultNoErrorLog);
    }

    my $init = $block->init // '';

    if (defined $block->elapsed) {
        $init = "\$Epro::T0 = Time::HiRes::time();\n$init";
    }

    if (defined $block->metrics_delta) {
        $init = "\$Epro::M0 = Epro::metrics();\n$init";
    }

    if (defined $block->seed) {
        my $seed = $block->seed;
        push @Seeds, ref $seed ? $seed : [$seed];
        $init = "Epro::seed($#Seeds);\n$init";
    }

    $block->set_value('init', $init) if $init ne ($block->init // '');
});

sub seed {
    my ($i) = @_;
    my @bodies = @{ $Seeds[$i] };
    my @res = post_many('/s', @bodies);

    for my $j (0 .. $#bodies) {
        my ($status, $body) = @{ $res[$j] // [0, ''] };
        die "--- seed: $status $body\n" if $status != 201;
    }
}

our ($T0, $M0);

# the --- metrics_delta checks, against $M0
sub metrics_delta_ok {
    my ($block) = @_;
    my $name = $block->name;
    my $m1 = metrics();

    for my $line (split /\n/, $block->metrics_delta) {
        next if $line !~ /\S/;

        if ($line =~ /^\s*result=(\w+)\s+(-?\d+)\s*$/) {
            only_ok($1, $2, $M0, $m1, $name);

        } elsif ($line =~ /^\s*(\S+)\s+(-?\d+(?:\.\d+)?)\s*$/) {
            is(delta($M0, $m1, $1), $2, "$name - $1 +$2");

        } else {
            fail("$name - bad --- metrics_delta line: $line");
        }
    }
}

# under valgrind everything is slower: answered too early is still wrong,
# later is allowed
sub elapsed_ok {
    my ($name, $min, $max) = @_;
    my $dt = Time::HiRes::time() - $T0;
    $max *= 4 if $ENV{TEST_NGINX_USE_VALGRIND};
    ok($dt >= $min && $dt < $max,
       sprintf("%s: answered in %.2f s (%.1f to %.1f)", $name, $dt, $min,
               $max));
}

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;

    return if $dry_run;

    if (defined $block->elapsed) {
        my $want = (split /\n/, $block->elapsed)[$req_idx] // '-';

        if ($want =~ /^\s*(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s*(.*?)\s*$/) {
            elapsed_ok(length $3 ? $3 : $block->name, $1, $2);

        } elsif ($want !~ /^\s*-?\s*$/) {
            fail($block->name . " - bad --- elapsed line: $want");
        }
    }

    if (defined $block->metrics_delta) {
        my $req = $block->raw_request // $block->request;
        my $last = ref $req eq 'ARRAY' ? $#$req : 0;
        metrics_delta_ok($block) if $req_idx == $last;
    }

    # perl code run while the block's nginx is still up
    if (defined $block->post_check) {
        eval $block->post_check;
        fail($block->name . " - post_check: $@") if $@;
    }

    return if !defined $block->sql;

    my $want = $block->sql_result // '';
    is(sql($block->sql), $want, $block->name . ' - sql');
});

1;
