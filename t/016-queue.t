# Each queued request waits epro_pg_timeout from its own arrival, even when
# it joined a batch that was queued earlier.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use POSIX ();
use Time::HiRes ();
use Epro;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a late request in a queued batch is not refused early
--- http_config
    epro_pg_conninfo "host=127.0.0.1 port=1 dbname=epro user=epro";
    epro_pg_timeout 2s;
--- post_check
my $pid = fork();
if ($pid == 0) {
    post_many('/s', phq9());
    POSIX::_exit(0);    # no END blocks: they would stop nginx
}
Time::HiRes::sleep(1.5);
my $t0 = Time::HiRes::time();
my ($late) = post_many('/s', phq9());
my $waited = sprintf '%.2f', Time::HiRes::time() - $t0;
waitpid($pid, 0);
is($late->[0], 503, 'the late request gets 503');
cmp_ok($waited, '>', 1.8, "and only after its own wait ($waited s)");
--- error_log
1 queued row(s) refused
--- no_error_log
[alert]
