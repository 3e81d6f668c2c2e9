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
