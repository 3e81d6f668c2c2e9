# Behind PgBouncer in transaction pooling mode (Debian's pgbouncer, 2
# server connections for 4 of each nginx): a prepared INSERT cannot work
# there, epro_pg_statement unnamed does, with the same answers: 201 only
# once committed, each id stored once, duplicates, a refused row split
# out, and the statement_timeout still set on the server (transaction-
# local), so that a batch stuck behind a lock is cancelled there too.
# PgBouncer listens on TEST_NGINX_PGBOUNCER_PORT, or the first free port
# of 16500-16539, in front of the test database.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use DBI;
use POSIX ();
use Time::HiRes ();
use Epro qw(:DEFAULT created);
use EproPg '021';

workers(1);
master_on();
worker_connections(1024);

our $Bouncer = '/usr/sbin/pgbouncer';

# a suite that cannot start its pooler must fail, not pass having checked
# nothing (util/deps.sh installs it)
die "$Bouncer not installed (apt-get install pgbouncer)\n"
    unless -x $Bouncer;

our $Port = $ENV{TEST_NGINX_PGBOUNCER_PORT} || free_port(16500, 16539);
our $Tmp = tmpdir();
our $Pid = $$;

END {
    if (defined $Pid && $$ == $Pid && open my $fh, '<', "$Tmp/pgb.pid") {
        my $pid = <$fh>;
        kill 'TERM', $1 if ($pid // '') =~ /^(\d+)/;
    }
}

# the test database's host, port, name and user
our %Db = map { split /=/, $_, 2 } split ' ', conninfo();

sub start_bouncer {
    open my $fh, '>', "$Tmp/pgb.ini" or die "$!";
    print $fh <<"INI";
[databases]
$Db{dbname} = host=$Db{host} port=$Db{port} dbname=$Db{dbname}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $Port
unix_socket_dir =
auth_type = trust
auth_file = $Tmp/users.txt
pool_mode = transaction
default_pool_size = 2
max_db_connections = 2
max_client_conn = 200
logfile = $Tmp/pgb.log
pidfile = $Tmp/pgb.pid
INI
    close $fh;

    open $fh, '>', "$Tmp/users.txt" or die "$!";
    print $fh "\"$Db{user}\" \"\"\n";
    close $fh;

    # it refuses to run as root
    system('chown', '-R', 'postgres', $Tmp) if $> == 0;

    as_pg($Bouncer, '-d', '-q', "$Tmp/pgb.ini")
        or die "021: pgbouncer did not start, see $Tmp/pgb.log\n";

    for (1 .. 100) {
        return if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$Port");
        Time::HiRes::sleep(0.05);
    }

    die "021: pgbouncer does not listen on $Port\n";
}

# A gateway that ran before left "epro_insert" prepared on both server
# connections (as a reload does): each in a transaction of its own, so
# that the two land on the two servers.
sub leave_statements {
    my @h = map {
        DBI->connect("dbi:Pg:host=127.0.0.1;port=$Port;dbname=$Db{dbname}",
                     $Db{user}, '', { RaiseError => 1, AutoCommit => 0,
                                      PrintError => 0, PrintWarn => 0,
                                      pg_server_prepare => 0 })
    } 1 .. 2;

    $_->do('PREPARE epro_insert AS SELECT 1') for @h;
    $_->commit for @h;
    $_->disconnect for @h;
}

db()->do(<<'SQL');
DROP TABLE IF EXISTS t_021_poison, t_021_lock;
CREATE TABLE t_021_poison (LIKE epro_submissions INCLUDING ALL,
                           CHECK (subject_id <> 'POISON'));
CREATE TABLE t_021_lock (LIKE epro_submissions INCLUDING ALL);
SQL

start_bouncer();
leave_statements();

our $Via = "host=127.0.0.1 port=$Port dbname=$Db{dbname} user=$Db{user}";
our %Id = map { $_ => uuid() } qw(one dup lock);

add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';

    $block->set_value('http_config',
                      "epro_pg_conninfo \"$Via\";\n"
                      . (defined $block->prepared
                         ? '' : "epro_pg_statement unnamed;\n")
                      . $http);
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: prepared (the default) behind a transaction pooler: the PREPARE meets the one another client left on that server connection, no connection comes up, 503
--- prepared
--- http_config
    epro_pg_timeout 1s;
--- request eval
"POST /s\n" . ::phq9()
--- error_code: 503
--- response_body_like: "type":"urn:epro:problem:database-unavailable"
--- error_log eval
qr/cannot prepare the INSERT: prepared statement "epro_insert" already exists \(SQLSTATE 42P05\), a pooler in transaction mode\? see "epro_pg_statement unnamed"/
--- no_error_log
[alert]



=== TEST 2: unnamed: one submission, 201 once committed, stored once
--- request eval
"POST /s\n" . ::phq9(id => $::Id{one})
--- error_code: 201
--- response_body eval
::created(1, 0, $::Id{one})
--- sql eval
"SELECT count(*) FROM epro_submissions WHERE submission_id = '$::Id{one}'"
--- sql_result
1



=== TEST 3: unnamed: the same id again is a duplicate, not stored twice
--- more_headers
Content-Type: application/json
--- request eval
["POST /s\n" . ::phq9(id => $::Id{dup}), "POST /s\n" . ::phq9(id => $::Id{dup})]
--- error_code eval
[201, 201]
--- response_body eval
[::created(1, 0, $::Id{dup}), ::created(0, 1, $::Id{dup})]
--- sql eval
"SELECT count(*) FROM epro_submissions WHERE submission_id = '$::Id{dup}'"
--- sql_result
1



=== TEST 4: unnamed: 60 at once through 2 server connections, each 201 and stored once; 20 at once with one id: one accepted, 19 duplicates
--- http_config
    epro_batch_max_delay 20ms;
--- post_check
many_ok('pgbouncer', 60);
one_id_ok(20);



=== TEST 5: unnamed: a row the database refuses (a CHECK) fails its own request only; the batch is split, the others committed
--- http_config
    epro_table t_021_poison;
    epro_pg_pool_size 1;
    epro_batch_max_delay 300ms;
--- post_check
poison_ok('t_021_poison');
--- error_log
SQLSTATE 23514, constraint t_021_poison_subject_id_check
--- no_error_log
[alert]
POISON



=== TEST 6: unnamed: a batch blocked behind a lock gets 504 after epro_pg_timeout, and the server cancels it a second later (statement_timeout, local to its transaction), the lock still held: nothing stored
--- http_config
    epro_table t_021_lock;
    epro_pg_pool_size 1;
    epro_pg_timeout 1s;
--- init
$main::Lock = main::hold_lock('t_021_lock', 4);
$Epro::T0 = Time::HiRes::time();
--- request eval
"POST /s\n" . ::phq9(id => $::Id{lock})
--- error_code: 504
--- response_body_like: "type":"urn:epro:problem:commit-unconfirmed"
--- elapsed
0.95 1.6 504
--- post_check
Time::HiRes::sleep(0.2) while Time::HiRes::time() < $Epro::T0 + 2.6;
is(sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
       . "'Lock' AND query LIKE '%t_021_lock%'"), "0\n",
   'the INSERT was cancelled on the server while the lock is held');
ok(Time::HiRes::time() < main::lock_wait($main::Lock), 'the lock was held');
is(sql('SELECT count(*) FROM t_021_lock WHERE submission_id = ?',
       $main::Id{lock}), "0\n", 'nothing stored');
--- error_log
the commit was not confirmed in time
--- no_error_log
[alert]
