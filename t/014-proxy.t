# The gateway of conf/gateway.example.conf on loopback: TLS termination
# (a self-signed certificate made here), auth_request to an auth service,
# limit_req per client, the client's address from X-Forwarded-For (realip)
# and every other path proxied to an application, the auth service and
# the application being a second server block of the same nginx.
#
# Test::Nginx sends plain HTTP to its own port, which the gateway server
# listens on too; what needs TLS is sent from --- post_check with
# IO::Socket::SSL (verifying the certificate) to the TLS port, and with
# curl for HTTP/2.
#
# A second study behind the same auth_request (issue 13): its own
# database (epro_014b, a second database in the test cluster, made here
# with the schema) and table (study2_submissions, with the columns
# auth_user and device_id), the subject the auth service vouches for
# (X-Subject) bound with epro_bind and stored with epro_column, with the
# phone's X-Device-Id.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use File::Temp ();
use IO::Socket::SSL ();
use Time::HiRes ();
use Epro qw(:DEFAULT log_line);

no_root_location();

our $Tmp = File::Temp::tempdir('epro-proxy.XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);
{
    my $out = `openssl req -x509 -newkey ec \\
                   -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \\
                   -subj /CN=localhost \\
                   -addext 'subjectAltName = DNS:localhost, IP:127.0.0.1' \\
                   -keyout $Tmp/server.key -out $Tmp/server.crt 2>&1`;
    die "014-proxy: openssl failed:\n$out" if $? != 0;
}
$ENV{TEST_NGINX_CERT_DIR} = $Tmp;

# the second study's database
if (sql(q{SELECT count(*) FROM pg_database WHERE datname = 'epro_014b'})
    eq "0\n")
{
    db()->do('CREATE DATABASE epro_014b');
}

our $Conn2 = conninfo() =~ s/\bdbname=\S+/dbname=epro_014b/r;
$ENV{TEST_NGINX_DB_STUDY2} = $Conn2;

our $db2;

sub db2 {
    return $db2 if $db2 && $db2->ping;

    my %kv = map { split /=/, $_, 2 } split ' ', $Conn2;
    my $user = delete $kv{user} // 'epro';
    $db2 = DBI->connect('dbi:Pg:' . join(';', map { "$_=$kv{$_}" }
                                              sort keys %kv),
                        $user, '', { RaiseError => 1, AutoCommit => 1,
                                     PrintWarn => 0, PrintError => 0 });
    $db2->do('SET client_min_messages = warning');
    return $db2;
}

sub sql2 {
    my ($q, @bind) = @_;
    my $rows = db2()->selectall_arrayref($q, undef, @bind);
    return join '', map { join('|', map { $_ // '' } @$_) . "\n" } @$rows;
}

{
    open my $fh, '<', 'sql/schema.sql' or die "sql/schema.sql: $!";
    local $/;
    db2()->do(<$fh>);
}

db2()->do('DROP TABLE IF EXISTS study2_submissions');
db2()->do('CREATE TABLE study2_submissions '
          . '(LIKE epro_submissions INCLUDING ALL)');
db2()->do('ALTER TABLE study2_submissions ADD COLUMN auth_user text, '
          . 'ADD COLUMN device_id text');

# ids known to --- request, --- sql and --- post_check alike
our @Id = map { uuid() } 0 .. 15;

sub tls_port { $Test::Nginx::Util::RandPorts->{TEST_NGINX_RAND_PORT_1} }

sub tls_connect {
    my $s = IO::Socket::SSL->new(
        PeerHost => '127.0.0.1', PeerPort => tls_port(),
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(),
        SSL_ca_file => "$Tmp/server.crt",
        SSL_hostname => 'localhost',
        SSL_verifycn_name => 'localhost', SSL_verifycn_scheme => 'http',
        Timeout => 10)
        or die "TLS connect: $IO::Socket::SSL::SSL_ERROR\n";
    return $s;
}

# one HTTP/1.1 request over TLS; %o: method, uri, body, headers (lines),
# sock (an open connection, kept open).  Returns { status, headers (lower
# case names), body, sock }.
sub tls {
    my (%o) = @_;
    my $s = $o{sock} // tls_connect();
    my $method = $o{method} // 'POST';
    my $body = $o{body} // '';
    my $req = "$method " . ($o{uri} // '/api/submissions') . " HTTP/1.1\r\n"
            . "Host: localhost\r\n"
            . join('', map { "$_\r\n" } @{ $o{headers} // [] })
            . ($o{sock} ? '' : "Connection: close\r\n")
            . ($method eq 'POST'
               ? "Content-Type: application/json\r\n"
                 . 'Content-Length: ' . length($body) . "\r\n"
               : '')
            . "\r\n$body";

    print $s $req or die "TLS write: $!";

    my $buf = '';
    my $deadline = Time::HiRes::time() + 10;

    until ($buf =~ /\r\n\r\n/) {
        die "TLS read: timeout\n" if Time::HiRes::time() > $deadline;
        my $n = $s->sysread($buf, 65536, length $buf);
        die "TLS read: connection closed\n" if defined $n && $n == 0;
    }

    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my %h;

    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }

    my $len = $h{'content-length'}
        // die "TLS read: no Content-Length\n";

    while (length $rest < $len) {
        die "TLS read: timeout\n" if Time::HiRes::time() > $deadline;
        my $n = $s->sysread($rest, 65536, length $rest);
        die "TLS read: connection closed\n" if defined $n && $n == 0;
    }

    close $s if !$o{sock};

    return { status => $status // 0, headers => \%h, body => $rest,
             sock => $o{sock} ? $s : undef };
}

sub good { ('Authorization: Bearer good', @_) }

# the gateway's access log line for $client (written after the response)
sub gw_line { log_line("$Test::Nginx::Util::ServRoot/logs/gw.log", $_[0]) }

sub addr_of {
    my (@ids) = @_;
    return sql('SELECT submission_id, host(client_addr) FROM epro_submissions'
               . ' WHERE submission_id = ANY(?)', \@ids);
}

our $HttpConfig = <<'_EOC_';
    # 1 request a minute per client, no burst: the second is refused
    limit_req_zone $binary_remote_addr zone=epro:1m rate=1r/m;
    limit_req_status 429;
    limit_req_log_level warn;

    log_format gw '$remote_addr $scheme $server_protocol $status '
                  'result=$epro_result ids=$epro_ids';

    # the auth service and the application
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/app.sock;

        location = /verify {
            # the subject the token stands for (the first study ignores it)
            add_header X-Subject SUBJ-0001;

            if ($http_authorization = "Bearer good") {
                return 204;
            }
            return 401;
        }

        location / {
            return 200 "app: $request_method $request_uri
real=$http_x_real_ip proto=$http_x_forwarded_proto\n";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl http2;
    ssl_certificate $TEST_NGINX_CERT_DIR/server.crt;
    ssl_certificate_key $TEST_NGINX_CERT_DIR/server.key;

    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;

    access_log $TEST_NGINX_SERVER_ROOT/logs/gw.log gw;

    location = /api/submissions {
        limit_req zone=epro nodelay;
        auth_request /auth;
        client_body_buffer_size 8k;
        epro_submit;
    }

    location = /auth {
        internal;
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/app.sock:/verify;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }

    location = /metrics {
        epro_status;
        allow 127.0.0.1;
        deny all;
    }

    location / {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/app.sock;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
_EOC_

# the blocks of the second study: one more database and location (the
# others keep one database, their metrics unlabelled)
our $HttpConfig2 = $HttpConfig . <<'_EOC_';
    epro_database study2 "$TEST_NGINX_DB_STUDY2";
_EOC_

our $Config2 = $Config . <<'_EOC_';

    # the second study: its database and table, the same auth_request
    location = /api/study2/submissions {
        auth_request /auth;
        auth_request_set $auth_subject $upstream_http_x_subject;
        epro_bind subjectId $auth_subject;
        epro_column auth_user $auth_subject;
        epro_column device_id $http_x_device_id;
        epro_pass study2;
        epro_table study2_submissions;
        epro_submit;
    }
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: other paths go to the application, over HTTP and HTTPS
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers
X-Forwarded-For: 198.51.100.1
--- request
GET /app/hello?x=1
--- error_code: 200
--- response_body
app: GET /app/hello?x=1
real=198.51.100.1 proto=http
--- post_check
my $r = main::tls(method => 'GET', uri => '/app/hello?x=2',
                  headers => ['X-Forwarded-For: 198.51.100.2']);
is($r->{status}, 200, 'TLS: 200');
is($r->{body}, "app: GET /app/hello?x=2\nreal=198.51.100.2 proto=https\n",
   'TLS: the application answered, with the client and the scheme');



=== TEST 2: a submission over TLS is stored with the client's address
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers
Content-Type: application/json
Authorization: Bearer good
X-Forwarded-For: 203.0.113.8
--- request eval
"POST /api/submissions\n" . main::phq9(id => $::Id[0])
--- error_code: 201
--- response_body eval
qq{{"accepted":1,"duplicates":0,"ids":["$::Id[0]"]}\n}
--- post_check
my $r = main::tls(body => phq9(id => $main::Id[1]),
                  headers => [main::good('X-Forwarded-For: 203.0.113.7')]);
is($r->{status}, 201, 'TLS: 201');
is($r->{body}, qq{{"accepted":1,"duplicates":0,"ids":["$main::Id[1]"]}\n},
   'TLS: body');
is(main::gw_line('203.0.113.7'),
   "203.0.113.7 https HTTP/1.1 201 result=created ids=$main::Id[1]\n",
   'TLS: the access log');
--- sql eval
"SELECT host(client_addr) FROM epro_submissions
 WHERE submission_id IN ('$::Id[0]', '$::Id[1]') ORDER BY 1"
--- sql_result
203.0.113.7
203.0.113.8



=== TEST 3: without the right token: 401 from auth_request, nothing stored
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers
Content-Type: application/json
X-Forwarded-For: 203.0.113.20
--- init
my $client = 21;
for my $auth ([], ['Authorization: Bearer bad'],
              ['Authorization: Basic Z29vZA==']) {
    my $r = main::tls(body => Epro::phq9(id => $main::Id[3]),
                      headers => ['X-Forwarded-For: 203.0.113.' . $client++,
                                  @$auth]);
    Test::More::is($r->{status}, 401, "TLS, '@$auth': 401");
    Test::More::like($r->{body}, qr/"status":401/,
                     "TLS, '@$auth': problem+json");
}
--- request eval
"POST /api/submissions\n" . main::phq9(id => $::Id[2])
--- error_code: 401
--- metrics_delta
epro_requests_total{result="created"} 0
epro_submissions_accepted_total 0
epro_requests_total{result="error"} 0
--- sql eval
"SELECT count(*) FROM epro_submissions
 WHERE submission_id IN ('$::Id[2]', '$::Id[3]')"
--- sql_result
0



=== TEST 4: limit_req: the same client's second request is 429
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers
Content-Type: application/json
Authorization: Bearer good
X-Forwarded-For: 203.0.113.30
--- request eval
"POST /api/submissions\n" . main::phq9(id => $::Id[4])
--- error_code: 201
--- post_check
my $m0 = metrics();
my $r = main::tls(body => phq9(id => $main::Id[5]),
                  headers => [main::good('X-Forwarded-For: 203.0.113.30')]);
is($r->{status}, 429, 'the same client again, over TLS: 429');
like($r->{body}, qr/"status":429/, '429: problem+json');
my $m1 = metrics();
is(delta($m0, $m1, req_key('created')), 0, '429: created +0');
is(delta($m0, $m1, req_key('error')), 0, '429: error +0');
# another client behind the same balancer is not limited
$r = main::tls(body => phq9(id => $main::Id[6]),
               headers => [main::good('X-Forwarded-For: 203.0.113.31')]);
is($r->{status}, 201, 'another client: 201');
# limit_req comes before auth_request: a refused token still counts
$r = main::tls(body => phq9(id => $main::Id[7]),
               headers => ['X-Forwarded-For: 203.0.113.32']);
is($r->{status}, 401, 'a third client without a token: 401');
$r = main::tls(body => phq9(id => $main::Id[7]),
               headers => [main::good('X-Forwarded-For: 203.0.113.32')]);
is($r->{status}, 429, 'then with one: 429');
--- sql eval
"SELECT submission_id FROM epro_submissions
 WHERE submission_id IN ('$::Id[4]', '$::Id[5]', '$::Id[6]', '$::Id[7]')
 ORDER BY 1"
--- sql_result eval
my @s = sort @::Id[4, 6]; "$s[0]\n$s[1]\n"
--- error_log eval
qr/\[warn\] .*limiting requests, .* zone "epro", client: 203\.0\.113\.30,/



=== TEST 5: realip: the last address the balancer did not add, per request
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers
Content-Type: application/json
Authorization: Bearer good
X-Forwarded-For: 2001:db8::7
--- request eval
"POST /api/submissions\n" . main::phq9(id => $::Id[8])
--- error_code: 201
--- post_check
# a client's own X-Forwarded-For is to the left of what the balancer adds
my $r = main::tls(body => phq9(id => $main::Id[9]),
                  headers => [main::good('X-Forwarded-For: 10.9.9.9, '
                                         . '203.0.113.40')]);
is($r->{status}, 201, 'spoofed left part: 201');
# a trusted address on the right is skipped (real_ip_recursive)
$r = main::tls(body => phq9(id => $main::Id[10]),
               headers => [main::good('X-Forwarded-For: 203.0.113.41, '
                                      . '127.0.0.1')]);
is($r->{status}, 201, 'trusted right part: 201');
# one keepalive connection: the second request has no header, so its
# address is the connection's again
my $s = main::tls_connect();
$r = main::tls(sock => $s, body => phq9(id => $main::Id[11]),
               headers => [main::good('X-Forwarded-For: 203.0.113.42')]);
is($r->{status}, 201, 'keepalive, first: 201');
$r = main::tls(sock => $s, body => phq9(id => $main::Id[12]),
               headers => [main::good()]);
is($r->{status}, 201, 'keepalive, second: 201');
close $s;
my %want = (8 => '2001:db8::7', 9 => '203.0.113.40', 10 => '203.0.113.41',
            11 => '203.0.113.42', 12 => '127.0.0.1');
my %got = map { split /\|/ } split /\n/, main::addr_of(@main::Id[8 .. 12]);
is(join(' ', map { $got{$main::Id[$_]} // 'missing' } sort keys %want),
   join(' ', map { $want{$_} } sort keys %want), 'client_addr of each row');



=== TEST 6: 100 submissions in one TLS request, the body in a temp file
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers
Content-Type: application/json
Authorization: Bearer good
X-Forwarded-For: 203.0.113.50
--- request eval
"POST /api/submissions\n["
. CORE::join(',', map { main::phq9() } 1 .. 100) . ']'
--- error_code: 201
--- response_body_like: ^\{"accepted":100,"duplicates":0,
--- post_check
my @ids = map { uuid() } 1 .. 100;
my $body = '[' . join(',', map { phq9(id => $_) } @ids) . ']';
ok(length($body) > 8192, 'larger than client_body_buffer_size');
my $r = main::tls(body => $body,
                  headers => [main::good('X-Forwarded-For: 203.0.113.51')]);
is($r->{status}, 201, 'TLS: 201');
like($r->{body}, qr/^\{"accepted":100,"duplicates":0,/, 'TLS: 100 accepted');
is(sql('SELECT count(*), count(DISTINCT client_addr), min(host(client_addr))'
       . ' FROM epro_submissions WHERE submission_id = ANY(?)', \@ids),
   "100|1|203.0.113.51\n", 'TLS: 100 rows, the client address');
--- error_log
a client request body is buffered to a temporary file



=== TEST 7: HTTP/2 over TLS
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- request
GET /app/h2
--- error_code: 200
--- post_check
my $file = "$main::Tmp/h2.json";
open my $fh, '>', $file or die "$file: $!";
print $fh phq9(id => $main::Id[13]);
close $fh;
my $port = main::tls_port();
my $curl = sub {
    open my $ph, '-|', 'curl', '-sS', '--http2',
         '--cacert', "$main::Tmp/server.crt",
         '--resolve', "localhost:$port:127.0.0.1",
         '-H', 'Content-Type: application/json', @_,
         '--data-binary', "\@$file", '-o', '/dev/null',
         '-w', '%{http_version} %{http_code}',
         "https://localhost:$port/api/submissions"
        or die "curl: $!";
    local $/;
    return scalar <$ph>;
};
is($curl->('-H', 'Authorization: Bearer good',
           '-H', 'X-Forwarded-For: 203.0.113.60'), '2 201', 'HTTP/2: 201');
is($curl->('-H', 'X-Forwarded-For: 203.0.113.61'), '2 401',
   'HTTP/2 without a token: 401');
is(main::addr_of($main::Id[13]), "$main::Id[13]|203.0.113.60\n",
   'HTTP/2: stored with the client address');
like(main::gw_line('203.0.113.60'),
     qr{^203\.0\.113\.60 https HTTP/2\.0 201 result=created ids=},
     'HTTP/2: the access log');

# 100 submissions in one HTTP/2 request: DATA frames, a temp file
my @ids = map { uuid() } 1 .. 100;
open $fh, '>', $file or die "$file: $!";
print $fh '[' . join(',', map { phq9(id => $_) } @ids) . ']';
close $fh;
is($curl->('-H', 'Authorization: Bearer good',
           '-H', 'X-Forwarded-For: 203.0.113.62'), '2 201',
   'HTTP/2, 100 submissions: 201');
is(sql('SELECT count(*) FROM epro_submissions WHERE submission_id = ANY(?)'
       . " AND client_addr = '203.0.113.62'", \@ids), "100\n",
   'HTTP/2: 100 rows');



=== TEST 8: /metrics: allow/deny see the real client address
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- more_headers
X-Forwarded-For: 203.0.113.70
--- request
GET /metrics
--- error_code: 403
--- post_check
my $r = main::tls(method => 'GET', uri => '/metrics');
is($r->{status}, 200, 'from 127.0.0.1 over TLS: 200');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     'the Prometheus type');
like($r->{body}, qr/^epro_requests_total\{result="created"\} \d+$/m,
     'the counters');
--- error_log
access forbidden by rule, client: 203.0.113.70
--- no_error_log
[alert]



=== TEST 9: the second study over TLS: its database and table, the subject and the device stored with the row
--- http_config eval: $::HttpConfig2
--- config eval: $::Config2
--- request
GET /app/x
--- error_code: 200
--- post_check
my ($id1, $id2) = (uuid(), uuid());
my $r = main::tls(uri => '/api/study2/submissions',
                  headers => [main::good('X-Device-Id: phone-7',
                                         'X-Forwarded-For: 203.0.113.80')],
                  body => phq9(id => $id1));
is($r->{status}, 201, 'study 2: 201');
is(main::sql2('SELECT subject_id, auth_user, device_id, host(client_addr)'
              . ' FROM study2_submissions WHERE submission_id = ?', $id1),
   "SUBJ-0001|SUBJ-0001|phone-7|203.0.113.80\n",
   'study 2: the row in epro_014b.study2_submissions with the subject '
   . 'and the device');
is(sql('SELECT count(*) FROM epro_submissions WHERE submission_id = ?',
       $id1), "0\n", 'study 2: nothing in the first database');

# the first study, same auth, same nginx: the first database
$r = main::tls(headers => [main::good('X-Forwarded-For: 203.0.113.81')],
               body => phq9(id => $id2));
is($r->{status}, 201, 'study 1: 201');
is(sql('SELECT count(*) FROM epro_submissions WHERE submission_id = ?',
       $id2), "1\n", 'study 1: its row in the first database');
is(main::sql2('SELECT count(*) FROM study2_submissions'
              . ' WHERE submission_id = ?', $id2), "0\n",
   'study 1: nothing in the second');



=== TEST 10: the second study: no token is 401, another subject 403, nothing stored
--- http_config eval: $::HttpConfig2
--- config eval: $::Config2
--- request
GET /app/x
--- error_code: 200
--- post_check
my @ids = map { uuid() } 1 .. 2;
my $r = main::tls(uri => '/api/study2/submissions',
                  headers => ['X-Forwarded-For: 203.0.113.90'],
                  body => phq9(id => $ids[0]));
is($r->{status}, 401, 'study 2 without a token: 401');
$r = main::tls(uri => '/api/study2/submissions',
               headers => [main::good('X-Forwarded-For: 203.0.113.91')],
               body => phq9(id => $ids[1], subject => 'SUBJ-0002'));
is($r->{status}, 403, 'study 2, another subject: 403');
like($r->{body}, qr/"path":"\/subjectId"/, 'naming the member');
is(main::sql2('SELECT count(*) FROM study2_submissions'
              . ' WHERE submission_id = ANY(?)', \@ids), "0\n",
   'nothing stored');
