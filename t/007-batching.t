# Idempotency and group commit: the same submissionId stored once, ids
# generated when absent, small and delayed batches, and 200 concurrent
# clients on 2 workers with a pool of 4 connections each.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use JSON::PP ();
use Epro qw(:DEFAULT created);

workers(2);
master_on();
worker_connections(1024);

our $V7 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

our ($A, $B, $C) = (uuid(), uuid(), uuid());
our @Ids8 = map { uuid() } 1 .. 3;
our $Given = uuid();
our $Run = sprintf '%04x%04x', $$ & 0xffff, int rand 0xffff;

# ids answered for a request without submissionId: UUIDv7, from now, and
# stored with the request's subjects
sub generated {
    my ($body, $subjects, $given) = @_;

    no warnings "portable";

    my $res = eval { JSON::PP::decode_json($body) } // {};
    my @ids = @{ $res->{ids} // [] };

    is(scalar @ids, scalar @$subjects, 'one id per submission');
    is($res->{accepted}, scalar @$subjects, 'all accepted');

    my %seen;
    for my $i (0 .. $#ids) {
        my $id = $ids[$i];

        if (defined $given->[$i]) {
            is($id, $given->[$i], "id $i is the one sent");
            next;
        }

        like($id, $V7, "id $i is a UUIDv7");

        # the first 48 bits are the Unix time in ms
        my $ms = hex(substr($id, 0, 8) . substr($id, 9, 4));
        ok(abs($ms / 1000 - time) < 60, "id $i is from now") or diag($ms);

        ok(!$seen{$id}++, "id $i is unique");
    }

    is(sql('SELECT submission_id::text, subject_id FROM epro_submissions '
           . 'WHERE submission_id = ANY(?::uuid[]) '
           . 'ORDER BY array_position(?::uuid[], submission_id)',
           \@ids, \@ids),
       join('', map { "$ids[$_]|$subjects->[$_]\n" } 0 .. $#ids),
       'the rows are stored under the ids answered');
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a submissionId sent the first time is accepted
--- http_config
    epro_pg_pool_size 4;
--- request eval
"POST /s\n" . ::phq9(id => $::A, subject => 'S007-FIRST')
--- error_code: 201
--- response_body eval
::created(1, 0, $::A)
--- sql eval
"SELECT count(*), min(subject_id) FROM epro_submissions WHERE submission_id = '$::A'"
--- sql_result
1|S007-FIRST



=== TEST 2: the same submissionId again is a duplicate; the row is not changed
--- http_config
    epro_pg_pool_size 4;
--- seed eval
::phq9(id => $::A, subject => 'S007-FIRST')
--- request eval
"POST /s\n" . ::phq9(id => uc $::A, subject => 'S007-RETRY')
--- error_code: 201
--- response_body eval
::created(0, 1, $::A)
--- sql eval
"SELECT count(*), min(subject_id), min(payload) = '" . ::phq9(id => $::A, subject => 'S007-FIRST') . "' FROM epro_submissions WHERE submission_id = '$::A'"
--- sql_result
1|S007-FIRST|1



=== TEST 3: twice more in one block, on new connections: still one row
--- http_config
    epro_pg_pool_size 4;
--- more_headers
Content-Type: application/json
--- seed eval
::phq9(id => $::A, subject => 'S007-FIRST')
--- request eval
["POST /s\n" . ::phq9(id => $::A), "POST /s\n" . ::phq9(id => $::A)]
--- error_code eval
[201, 201]
--- response_body eval
[::created(0, 1, $::A), ::created(0, 1, $::A)]
--- sql eval
"SELECT count(*) FROM epro_submissions WHERE submission_id = '$::A'"
--- sql_result
1



=== TEST 4: an array of a stored id and a new one: accepted 1, duplicates 1
--- http_config
    epro_pg_pool_size 4;
--- seed eval
::phq9(id => $::A, subject => 'S007-FIRST')
--- request eval
"POST /s\n[" . ::phq9(id => $::A, subject => 'S007-AGAIN') . ","
. ::phq9(id => $::B, subject => 'S007-NEW') . "]"
--- error_code: 201
--- response_body eval
::created(1, 1, $::A, $::B)
--- sql eval
"SELECT submission_id = '$::A', subject_id FROM epro_submissions WHERE submission_id IN ('$::A', '$::B') ORDER BY 1 DESC"
--- sql_result
1|S007-FIRST
0|S007-NEW



=== TEST 5: the new id first and the stored one second
--- http_config
    epro_pg_pool_size 4;
--- seed eval
[::phq9(id => $::A, subject => 'S007-FIRST'), ::phq9(id => $::B, subject => 'S007-NEW')]
--- request eval
"POST /s\n[" . ::phq9(id => $::C, subject => 'S007-NEW2') . ","
. ::phq9(id => $::B, subject => 'S007-AGAIN') . "]"
--- error_code: 201
--- response_body eval
::created(1, 1, $::C, $::B)
--- sql eval
"SELECT submission_id = '$::C', subject_id FROM epro_submissions WHERE submission_id IN ('$::B', '$::C') ORDER BY 1"
--- sql_result
0|S007-NEW
1|S007-NEW2



=== TEST 6: no submissionId: a UUIDv7 is generated, answered and stored
--- http_config
    epro_pg_pool_size 4;
--- request eval
"POST /s\n" . ::phq9(id => undef, subject => "S007-GEN-$::Run")
--- error_code: 201
--- response_body_like eval
qr/^\{"accepted":1,"duplicates":0,"ids":\["[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\]\}\n\z/
--- post_check
main::generated($body, ["S007-GEN-$main::Run"]);



=== TEST 7: an array, some with ids and some without
--- http_config
    epro_pg_pool_size 4;
--- request eval
"POST /s\n["
. ::phq9(id => undef, subject => "S007-GEN-$::Run-0") . ","
. ::phq9(id => $::Given, subject => "S007-GEN-$::Run-1") . ","
. ::phq9(id => undef, subject => "S007-GEN-$::Run-2") . ","
. ::phq9(id => undef, subject => "S007-GEN-$::Run-3") . "]"
--- error_code: 201
--- post_check
main::generated($body, [map { "S007-GEN-$main::Run-$_" } 0 .. 3],
                [undef, $main::Given]);



=== TEST 8: epro_batch_max_rows 1: an array is not split, rows all stored
--- http_config
    epro_pg_pool_size 4;
    epro_batch_max_rows 1;
--- request eval
"POST /s\n[" . CORE::join(',', map { ::phq9(id => $_) } @::Ids8) . "]"
--- error_code: 201
--- response_body eval
::created(3, 0, @::Ids8)
--- sql eval
"SELECT count(*) FROM epro_submissions WHERE submission_id IN ('"
. CORE::join("','", @::Ids8) . "')"
--- sql_result
3



=== TEST 9: 200 concurrent clients, 2 workers, pool of 4
--- http_config
    epro_pg_pool_size 4;
--- post_check
many_ok('default', 200);
--- error_log eval
qr/committed \d+ of ([2-9]|\d\d+) row\(s\)/



=== TEST 10: 200 concurrent clients, epro_batch_max_rows 1
--- http_config
    epro_pg_pool_size 4;
    epro_batch_max_rows 1;
--- post_check
many_ok('rows1', 200);
--- no_error_log eval
[qr/committed \d+ of ([2-9]|\d\d+) row\(s\)/, '[error]', '[alert]']



=== TEST 11: 200 concurrent clients, epro_batch_max_delay 20ms
--- http_config
    epro_pg_pool_size 4;
    epro_batch_max_delay 20ms;
--- post_check
many_ok('delay20', 200);
--- error_log eval
qr/committed \d+ of ([2-9]|\d\d+) row\(s\)/



=== TEST 12: 200 concurrent clients, epro_batch_max_rows 1 and epro_batch_max_delay 20ms
--- http_config
    epro_pg_pool_size 4;
    epro_batch_max_rows 1;
    epro_batch_max_delay 20ms;
--- post_check
many_ok('rows1delay20', 200);



=== TEST 13: one new id sent by 30 clients at once (many in one batch): stored once, accepted once
--- http_config
    epro_pg_pool_size 4;
    epro_batch_max_delay 100ms;
--- post_check
# Two workers share the 30 connections as the kernel hands them out: the
# committing batch can, rarely, be a worker's lone request.  The round is
# repeated (up to 5 times, each checked in full) until the id's first row
# committed in a batch of several, which --- error_log then asserts.
for my $round (1 .. 5) {
    one_id_ok(30);
    open my $fh, '<', $Test::Nginx::Util::ErrLogFile or die "$!";
    last if grep { /committed 1 of ([2-9]|\d\d+) row\(s\)/ } <$fh>;
}
--- error_log eval
qr/committed 1 of ([2-9]|\d\d+) row\(s\)/



=== TEST 14: epro_batch_max_bytes 1: a batch closes after one request, even with epro_batch_max_delay; an array still shares one batch
--- http_config
    epro_pg_pool_size 4;
    epro_batch_max_delay 100ms;
    epro_batch_max_bytes 1;
--- post_check
many_ok('bytes1', 30);
my @ids = map { uuid() } 1 .. 3;
my @res = post_many('/s', '[' . join(',', map { phq9(id => $_) } @ids) . ']');
is($res[0][1], main::created(3, 0, @ids), 'an array of 3: 201');
--- grep_error_log eval
qr/committed \d+ of \d+ row\(s\)/
--- grep_error_log_out eval
("committed 1 of 1 row(s)\n" x 30) . "committed 3 of 3 row(s)\n"
