# HTTP/2 in front of epro_submit (h2c with prior knowledge, driven by curl:
# Test::Nginx's own HTTP/2 mode writes "http2 on;", which nginx 1.22
# lacks): one submission, many streams on one connection, a 422, and a
# stream that waits for room as an HTTP/1.1 request does.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro qw(:DEFAULT :t);
use EproCheck;
use EproPg ();

use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

$ENV{TEST_NGINX_CURL} //= 'curl';

# a suite that cannot drive HTTP/2 must fail, not pass having checked nothing
die "curl without HTTP/2 support\n" unless `curl --version` =~ /\bHTTP2\b/;
die "h2load not found (apt-get install nghttp2-client)\n"
    unless `h2load --version 2>&1` =~ /h2load/;

# the h2c server beside Test::Nginx's HTTP/1.1 one, bounded as
# conf/gateway.example.conf bounds it
our $H2 = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 http2;
        http2_max_concurrent_streams 8;
        http2_body_preread_size 64k;
        location = /s { epro_submit; }
    }
_EOC_

our $Room = <<'_EOC_';
    epro_table t_020_room;
    epro_pg_pool_size 1;
    epro_queue_max_bytes 100;
_EOC_

db()->do('CREATE TABLE IF NOT EXISTS t_020_room (LIKE epro_submissions '
    . 'INCLUDING ALL)');

sub h2_port { $Test::Nginx::Util::RandPorts->{TEST_NGINX_RAND_PORT_1} }

# POSTs each body over HTTP/2 (one after the other, on one connection);
# returns "status version body" for each, in order
sub h2_post {
    my (@bodies) = @_;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $url = 'http://127.0.0.1:' . h2_port() . '/s';
    my @args;

    for my $i (0 .. $#bodies) {
        open my $fh, '>', "$dir/$i.json" or die "$dir/$i.json: $!";
        print $fh Epro::subst($bodies[$i]);
        close $fh;
        push @args, ($i ? '--next' : ()), '--http2-prior-knowledge', '-sS',
            '-H', 'Content-Type: application/json',
            '--data-binary', "\@$dir/$i.json", '-o', "$dir/$i.out",
            '-w', "$i %{http_code} %{http_version} %{num_connects}\\n", $url;
    }

    open my $curl, '-|', $ENV{TEST_NGINX_CURL}, @args
        or die "curl: $!";
    my %w = map { my @f = split; ($f[0] => "$f[1] $f[2]") } <$curl>;
    close $curl;

    return map {
        open my $fh, '<', "$dir/$_.out";
        local $/;
        my $b = $fh ? <$fh> : '';
        "$w{$_} $b";
    } 0 .. $#bodies;
}

# h2load: $n requests of $body on one connection, $m streams at a time
sub h2load {
    my ($n, $m, $body) = @_;
    my ($fh, $file) = File::Temp::tempfile(UNLINK => 1);
    print $fh Epro::subst($body);
    close $fh;

    return scalar `h2load -n $n -c 1 -m $m -d $file -H 'Content-Type: application/json' http://127.0.0.1:${\ h2_port()}/s 2>&1`;
}

no_long_string();
# every block: --- no_error_log [error] and [alert] (Epro.pm's default)
run_tests();

__DATA__

=== TEST 1: one submission over h2c: 201, stored
--- http_config eval: $::H2
--- post_check
my ($r) = main::h2_post(sub_json());
like($r, qr{^201 2 \{"accepted":1,"duplicates":0,"ids":\["[^"]+"\]\}},
     '201 over HTTP/2');
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
1



=== TEST 2: 16 streams on one connection, 8 at a time (h2load): each 201, each stored
--- http_config eval: $::H2
--- post_check
my $out = main::h2load(16, 8, Epro::sub_json(submissionId => undef,
                                                  subjectId => '"@ID2@"'));
like($out, qr/^requests: 16 total, 16 started, 16 done, 16 succeeded/m,
     'h2load: 16 requests done') or diag($out);
like($out, qr/^status codes: 16 2xx/m, 'sixteen 2xx over HTTP/2');
--- sql
SELECT count(*) FROM epro_submissions WHERE subject_id = '@ID2@'
--- sql_result
16



=== TEST 3: an invalid submission over h2c: 422 problem+json naming the member
--- http_config eval: $::H2
--- post_check
my ($r) = main::h2_post(sub_json(submissionId => '"@ID3@"', visitName => '7'));
like($r, qr{^422 2 \{"type":"urn:epro:problem:invalid-submission".*"path":"/visitName"},
     '422 over HTTP/2');
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID3@'
--- sql_result
0



=== TEST 4: a stream beyond epro_queue_max_bytes waits for room and gets 201 once the first request commits
--- http_config eval: $::Room . $::H2
--- init
Epro::wait_ready(1);
--- post_check
my $b1 = sub_json(submissionId => '"@ID41@"');
my $first = hold_room($b1);
# the h2 request in a child, its "status version body" on a pipe
my $h2 = EproPg::aside(sub {
    print { $_[0] } main::h2_post(sub_json(submissionId => '"@ID42@"'));
});
ok(!IO::Select->new($h2->{fh})->can_read(0.5),
   'the stream waits while there is no room');
print $first substr($b1, 10);
is(response($first)->{status}, 201, 'the first: 201');
ok(IO::Select->new($h2->{fh})->can_read(5), 'then the stream is answered');
like(EproPg::aside_wait($h2), qr{^201 2 }, 'with 201');
--- sql
SELECT count(*) FROM t_020_room WHERE submission_id IN ('@ID41@', '@ID42@')
--- sql_result
2



=== TEST 5: a stream that waits for room longer than epro_pg_timeout: 503 with Retry-After, nothing stored
--- http_config eval: $::Room . "epro_pg_timeout 1s;\n" . $::H2
--- init
Epro::wait_ready(1);
--- post_check
my $first = hold_room(sub_json(submissionId => '"@ID51@"'));
my $t0 = Time::HiRes::time();
my ($r) = main::h2_post(sub_json(submissionId => '"@ID52@"'));
my $dt = Time::HiRes::time() - $t0;
like($r, qr{^503 2 .*the queue is full}s, '503 queue full over HTTP/2');
ok($dt > 0.9, "answered after epro_pg_timeout ($dt s)");
close $first;
--- sql
SELECT count(*) FROM t_020_room WHERE submission_id = '@ID52@'
--- sql_result
0
--- error_log eval
qr/\[warn\].*epro: queue full/
