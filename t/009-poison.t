# A row PostgreSQL refuses (an operator's CHECK) fails only its own
# request: the others batched with it are committed and get 201.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;

db()->do(<<'SQL');
DROP TABLE IF EXISTS t_009_poison;
CREATE TABLE t_009_poison (LIKE epro_submissions INCLUDING ALL,
                           CHECK (subject_id <> 'POISON'));
SQL

no_shuffle();
run_tests();

__DATA__

=== TEST 1: one poisoned request in a batch of six
--- http_config
    epro_table t_009_poison;
    epro_pg_pool_size 1;
    epro_batch_max_delay 300ms;
--- post_check
poison_ok('t_009_poison');
--- no_error_log
[alert]
POISON
--- error_log
SQLSTATE 23514, constraint t_009_poison_subject_id_check



=== TEST 2: the poisoned request's client left while its batch waited: the one that stayed is sent again alone and gets 201 (the bad row is not its own); the poisoned row, answered to nobody, is not stored
--- http_config eval
"epro_table t_009_poison;
epro_pg_pool_size 1;
epro_batch_max_delay " . ($ENV{TEST_NGINX_USE_VALGRIND} ? '4s' : '1s') . ';'
--- post_check
my ($bad, $good) = (uuid(), uuid());
my $s = http_post(phq9(id => $bad, subject => 'POISON'), send_only => 1);
Time::HiRes::sleep(0.2);
my $g = http_post(phq9(id => $good, subject => 'SUBJ-STAYED'),
                  send_only => 1);
Time::HiRes::sleep(0.3);
close $s;
my $r = response($g);
is($r->{status}, 201, 'the request that stayed: 201');
like($r->{body}, qr/\Q$good\E/, 'naming its id');
is(sql('SELECT count(*) FROM t_009_poison WHERE submission_id = ?', $good),
   "1\n", 'its row stored');
is(sql('SELECT count(*) FROM t_009_poison WHERE submission_id = ?', $bad),
   "0\n", 'the poisoned row not');
--- error_log eval
[qr/client left before the commit of 1 row\(s\)/,
 qr/SQLSTATE 23514, constraint t_009_poison_subject_id_check/]
--- no_error_log
[alert]
POISON
