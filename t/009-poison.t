# A row PostgreSQL refuses (an operator's CHECK) fails only its own
# request: the others batched with it are committed and get 201.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Digest::MD5 ();
use Epro;

db()->do(<<'SQL');
DROP TABLE IF EXISTS t_009_poison;
CREATE TABLE t_009_poison (LIKE epro_submissions INCLUDING ALL,
                           CHECK (subject_id <> 'POISON'));
SQL

our $Ids = [map { uuid() } 1 .. 6];

no_shuffle();
run_tests();

__DATA__

=== TEST 1: one poisoned request in a batch of six
--- http_config
    epro_table t_009_poison;
    epro_pg_pool_size 1;
    epro_batch_max_delay 300ms;
--- config
    location = /s { epro_submit; }
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- post_check
my @bodies = map { phq9(id => $main::Ids->[$_],
                        subject => $_ == 2 ? 'POISON' : "SUBJ-$_") } 0 .. 5;
my @res = post_many('/s', @bodies);
is(join(',', map { $_->[0] } @res), '201,201,422,201,201,201',
   'statuses');
like($res[2][1], qr/rejected-by-database".*SQLSTATE 23514/, '422 body');
like($res[2][1], qr/\Q$main::Ids->[2]\E/, '422 names the id');
is(sql('SELECT count(*) FROM t_009_poison WHERE submission_id = ANY(?)',
       $main::Ids), "5\n", 'five rows stored');
# resent alone, the rows are copied from the failed batch, not encoded
# again (the bodies are gone by then): every byte as sent
for my $i (0, 1, 3, 4, 5) {
    is(sql("SELECT subject_id || '|' || md5(payload) FROM t_009_poison "
           . 'WHERE submission_id = ?', $main::Ids->[$i]),
       "SUBJ-$i|" . Digest::MD5::md5_hex($bodies[$i]) . "\n",
       "row $i as sent");
}
--- no_error_log
[alert]
POISON
--- error_log
SQLSTATE 23514, constraint t_009_poison_subject_id_check
