# TLS to PostgreSQL: a cluster of its own on port 16110 or the next free
# one (or TEST_NGINX_TLS_PG_PORT) with a server certificate for localhost and
# 127.0.0.1 from a test CA; the module connects with sslmode=verify-full.
# Rows are committed over TLS (one, a ~300 KB batch spanning many TLS
# records, 200 concurrent clients), every module connection is ssl in
# pg_stat_ssl, and a wrong root certificate refuses the connection: 503,
# the conninfo never logged.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Cwd ();
use DBI;
use File::Path ();
use File::Temp ();
use JSON::PP ();
use Epro qw(:DEFAULT created);
use EproPg ();

workers(2);
master_on();
worker_connections(1024);

our $Port = $ENV{TEST_NGINX_TLS_PG_PORT} || EproPg::free_port(16110, 16129);
our $Repo = Cwd::getcwd();
our $Pid = $$;
our $Tmp = File::Temp::tempdir('epro-tls.XXXXXX', TMPDIR => 1);
our $Ssl = "$Tmp/ssl";
our $PgDir = "$Tmp/pg";
our $Run = sprintf '%04x%04x', $$ & 0xffff, int rand 0xffff;
our $tls_dbh;

# runs a command quietly; dies with its output if it fails
sub quiet {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "010-tls: $cmd failed:\n$out" if $? != 0;
}

sub pg {
    my ($what) = @_;
    local $ENV{EPRO_PG_DIR} = $PgDir;
    local $ENV{EPRO_PG_PORT} = $Port;
    my $out = `'$Repo/util/pg.sh' $what 2>&1`;

    if ($? != 0) {
        my $log = `tail -20 '$PgDir/postgresql.log' 2>/dev/null` // '';
        die "010-tls: util/pg.sh $what failed:\n$out$log";
    }
}

sub certificates {
    mkdir $Ssl or die "$Ssl: $!";

    open my $fh, '>', "$Ssl/server.ext" or die "$!";
    print $fh "basicConstraints = critical, CA:FALSE\n"
        . "keyUsage = critical, digitalSignature, keyEncipherment\n"
        . "extendedKeyUsage = serverAuth\n"
        . "subjectAltName = DNS:localhost, IP:127.0.0.1\n";
    close $fh;

    my $key = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
    my $ca = '-addext "basicConstraints = critical, CA:TRUE" '
           . '-addext "keyUsage = critical, keyCertSign, cRLSign"';

    for my $name (qw(ca wrong-ca)) {
        quiet("openssl req -x509 $key -days 2 -subj '/CN=epro $name'"
              . " $ca -keyout '$Ssl/$name.key' -out '$Ssl/$name.crt'");
    }

    quiet("openssl req $key -subj /CN=localhost -keyout '$Ssl/server.key'"
          . " -out '$Ssl/server.csr'");
    quiet("openssl x509 -req -in '$Ssl/server.csr' -CA '$Ssl/ca.crt'"
          . " -CAkey '$Ssl/ca.key' -CAcreateserial -days 2"
          . " -extfile '$Ssl/server.ext' -out '$Ssl/server.crt'");

    # PostgreSQL wants its key owned by the server's user, mode 0600
    if ($> == 0) {
        my ($uid, $gid) = (getpwnam 'postgres')[2, 3];
        defined $uid or die "010-tls: no postgres user\n";
        chown $uid, $gid, "$Ssl/server.key", "$Ssl/server.crt"
            or die "chown: $!";
    }

    chmod 0600, "$Ssl/server.key";
    chmod 0644, map { "$Ssl/$_" } qw(ca.crt wrong-ca.crt server.crt);
    chmod 0755, $Tmp, $Ssl;
}

sub start_cluster {
    certificates();
    pg('start');

    open my $fh, '>>', "$PgDir/postgresql.conf" or die "$!";
    print $fh "ssl = on\n"
        . "ssl_cert_file = '$Ssl/server.crt'\n"
        . "ssl_key_file = '$Ssl/server.key'\n";
    close $fh;

    pg('stop');
    pg('start');
}

sub conninfo_tls {
    my ($host, $root, $app) = @_;
    return "host=$host port=$Port dbname=epro user=epro "
        . "sslmode=verify-full sslrootcert=$Ssl/$root "
        . "application_name=$app";
}

sub tls_db {
    return $tls_dbh if $tls_dbh && $tls_dbh->ping;

    $tls_dbh = DBI->connect("dbi:Pg:host=localhost;port=$Port;dbname=epro;"
                            . "sslmode=verify-full;sslrootcert=$Ssl/ca.crt;"
                            . 'application_name=epro-tls-check',
                            'epro', '', { RaiseError => 1, AutoCommit => 1,
                                          PrintWarn => 0 });
    return $tls_dbh;
}

sub tls_sql {
    my ($q, @bind) = @_;
    my $rows = tls_db()->selectall_arrayref($q, undef, @bind);
    return join '', map { join('|', map { $_ // '' } @$_) . "\n" } @$rows;
}

# phq9() with a collectedAt in the past, whatever epro_clock_skew is
sub past {
    my ($json) = @_;
    $json =~ s/"collectedAt":"[^"]*"/"collectedAt":1700000000/;
    return $json;
}

# "id|count" of each of these ids stored, in id order
sub stored {
    my ($ids) = @_;
    return tls_sql('SELECT submission_id, count(*) FROM epro_submissions '
                   . 'WHERE submission_id = ANY(?::uuid[]) GROUP BY 1 '
                   . 'ORDER BY submission_id::text', $ids);
}

# every connection of the module is TLS, and there is at least one
sub all_ssl {
    my ($app) = @_;
    is(tls_sql(q{SELECT count(*) > 0, bool_and(s.ssl),
                        bool_and(s.version LIKE 'TLSv1._')
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                 WHERE a.application_name = ?}, $app),
       "1|1|1\n", "$app: the module's connections are TLS (pg_stat_ssl)");
}

# ~300 KB: 100 submissions of ~3 KB of text answers each
sub big {
    my ($id, $i) = @_;
    my $text = join ' ', map { sprintf 'w%04d-%d', $_, $i } 1 .. 400;
    return '{"submissionId":"' . $id . '","studyId":"S010",'
        . '"subjectId":"S010-BIG-' . $i . '","visitName":"W1",'
        . '"instrument":"NOTES","collectedAt":1700000000,'
        . '"answers":{"a":"' . substr($text, 0, 1600) . '","b":"'
        . substr($text, 1600, 1600) . '","c":' . $i . '}}';
}

# $n clients at once, one submission each: all 201, each stored once
sub many {
    my ($n) = @_;
    my @ids = map { uuid() } 1 .. $n;
    my @res = post_many('/s', map { past(phq9(id => $ids[$_],
                                              subject => "S010-$Run-$_")) }
                                  0 .. $#ids);
    my @wrong = grep { ($res[$_][0] // 0) != 201
                       || $res[$_][1] ne created(1, 0, $ids[$_]) }
                 0 .. $#ids;

    is_deeply(\@wrong, [], "$n concurrent clients: each answered 201")
        or diag(join ', ', map { "$_: " . ($res[$_][0] // 'none') }
                               @wrong[0 .. ($#wrong < 9 ? $#wrong : 9)]);
    is(stored(\@ids), join('', map { "$_|1\n" } sort @ids),
       "$n concurrent clients: each stored exactly once");
    is(tls_sql('SELECT count(*) FROM epro_submissions WHERE subject_id '
               . "LIKE 'S010-$Run-%'"),
       "$n\n", "$n concurrent clients: no other row");
}

start_cluster();

$ENV{TEST_NGINX_TLS_CONNINFO} = conninfo_tls('localhost', 'ca.crt',
                                             'epro-tls-test');
$ENV{TEST_NGINX_TLS_IP_CONNINFO} = conninfo_tls('127.0.0.1', 'ca.crt',
                                                'epro-tls-ip');
$ENV{TEST_NGINX_WRONG_CONNINFO} = conninfo_tls('localhost', 'wrong-ca.crt',
                                               'epro-tls-wrong');
$ENV{TEST_NGINX_SSL_DIR} = $Ssl;

our ($A, $B, $C) = (uuid(), uuid(), uuid());
our @Big = map { uuid() } 0 .. 99;
our $BigBody = '[' . join(',', map { big($Big[$_], $_) } 0 .. 99) . ']';

END {
    if (defined $Pid && $$ == $Pid && $Tmp) {
        local $?;
        $tls_dbh->disconnect if $tls_dbh;
        eval { pg('stop') };
        warn $@ if $@;
        my $real = readlink $PgDir;
        File::Path::remove_tree($real) if $real;
        File::Path::remove_tree($Tmp);
    }
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: one submission over verify-full TLS: 201, stored, TLS in pg_stat_ssl
--- http_config
    epro_pg_conninfo "$TEST_NGINX_TLS_CONNINFO";
--- request eval
"POST /s\n" . ::past(::phq9(id => $::A, subject => 'S010-ONE'))
--- error_code: 201
--- response_body eval
::created(1, 0, $::A)
--- post_check
is(main::tls_sql('SELECT study_id, site_id, subject_id, instrument, '
                 . 'answers::text FROM epro_submissions '
                 . 'WHERE submission_id = ?', $main::A),
   'STUDY-1|SITE-01|S010-ONE|PHQ-9|{"PHQ9_1": 1, "PHQ9_2": 2, '
   . '"PHQ9_3": 3, "PHQ9_4": 0, "PHQ9_5": 1, "PHQ9_6": 2, "PHQ9_7": 3, '
   . "\"PHQ9_8\": 0, \"PHQ9_9\": 1}\n", 'stored over TLS');
main::all_ssl('epro-tls-test');



=== TEST 2: an array of 2, generated ids, over TLS
--- http_config
    epro_pg_conninfo "$TEST_NGINX_TLS_CONNINFO";
--- request eval
"POST /s\n[" . ::past(::phq9(id => undef, subject => "S010-GEN-$::Run-0"))
. ',' . ::past(::phq9(id => $::B, subject => "S010-GEN-$::Run-1")) . ']'
--- error_code: 201
--- response_body_like eval
my $v7 = '[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
qr/^\{"accepted":2,"duplicates":0,"ids":\["$v7","$::B"\]\}\n\z/
--- post_check
my ($gen) = $body =~ /"ids":\["([^"]+)"/;
is(main::tls_sql('SELECT subject_id FROM epro_submissions WHERE '
                 . 'submission_id = ANY(?::uuid[]) ORDER BY subject_id',
                 [$gen, $main::B]),
   "S010-GEN-$main::Run-0\nS010-GEN-$main::Run-1\n", 'both stored');
main::all_ssl('epro-tls-test');



=== TEST 3: host=127.0.0.1 is verified against the IP in subjectAltName
--- http_config
    epro_pg_conninfo "$TEST_NGINX_TLS_IP_CONNINFO";
--- request eval
"POST /s\n" . ::past(::phq9(id => $::C, subject => 'S010-IP'))
--- error_code: 201
--- response_body eval
::created(1, 0, $::C)
--- post_check
is(main::stored([$main::C]), "$main::C|1\n", 'stored');
main::all_ssl('epro-tls-ip');



=== TEST 4: ~300 KB, 100 submissions in one batch: spans many TLS records
--- http_config
    epro_pg_conninfo "$TEST_NGINX_TLS_CONNINFO";
--- config
    location = /s {
        client_max_body_size 1m;
        epro_submit;
    }
--- request eval
"POST /s\n$::BigBody"
--- error_code: 201
--- response_body eval
::created(scalar @::Big, 0, @::Big)
--- timeout: 30
--- post_check
ok(length($main::BigBody) > 300_000, 'the body is over 300 KB')
    or diag(length $main::BigBody);
is(main::stored(\@main::Big), join('', map { "$_|1\n" } sort @main::Big),
   'all 100 stored once');
my %sent = map { $main::Big[$_] => main::big($main::Big[$_], $_) } 0 .. 99;
my $rows = main::tls_db()->selectall_arrayref(
    'SELECT submission_id, payload, answers->>\'b\' FROM epro_submissions '
    . 'WHERE submission_id = ANY(?::uuid[])', undef, \@main::Big);
my @diff = grep { $_->[1] ne $sent{$_->[0]}
                  || $_->[2] ne JSON::PP::decode_json($sent{$_->[0]})
                                    ->{answers}{b} } @$rows;
is(scalar @diff, 0, 'every payload and answer stored byte for byte');
main::all_ssl('epro-tls-test');



=== TEST 5: 200 concurrent clients over TLS: all 201, each stored once
--- http_config
    epro_pg_conninfo "$TEST_NGINX_TLS_CONNINFO";
    epro_pg_pool_size 4;
--- timeout: 60
--- post_check
main::many(200);
main::all_ssl('epro-tls-test');



=== TEST 6: verify-full, wrong root certificate: 503, conninfo not logged
--- http_config
    epro_pg_conninfo "$TEST_NGINX_WRONG_CONNINFO";
    epro_pg_timeout 1s;
--- request eval
"POST /s\n" . ::past(::phq9(id => $::Big[0] =~ s/^.{8}/0e010e01/r))
--- error_code: 503
--- response_headers
Content-Type: application/problem+json
--- response_body_like chomp
^\{"type":"urn:epro:problem:database-unavailable",.*"ids":\["0e010e01-
--- post_check
is(main::tls_sql(q{SELECT count(*) FROM pg_stat_activity
                   WHERE application_name = 'epro-tls-wrong'}),
   "0\n", 'no connection was made');
is(main::stored([$main::Big[0] =~ s/^.{8}/0e010e01/r]), '',
   'nothing stored');
--- error_log eval
qr/\[error\].*epro: connection \d+: .*certificate verify failed/
--- no_error_log eval
['sslrootcert', 'wrong-ca', 'epro-tls-wrong', 'user=epro',
 $ENV{TEST_NGINX_SSL_DIR}, '[alert]']
