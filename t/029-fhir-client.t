# Issue 12's "done when": a FHIR client library, fhir-kit-client from the
# npm registry (pinned; installed once into the bench's cache by
# t/lib/EproNode.pm), pointed at "location /fhir/ { epro_submit fhir; }",
# fetches the CapabilityStatement, creates one response and reads it
# back, posts a transaction Bundle of three
# PHQ-9 responses, follows each entry's location and reads back exactly
# what it sent (plus id and meta), posts it again (200 OK each, the same
# locations), and posts a batch with one bad entry, whose others are
# stored.  The client runs in t/fhir/client.mjs, one scenario a block;
# each of its checks is a test here, and --- sql counts the rows.
#
# Skipped, with the reason, only where node (>= 20) or npm is missing or
# npm cannot install the package.
#
# "@ID<k>@" in --- sql is the id of the block's k-th response (1 to 3):
# sid(<block> * 10 + k), its identifier urn:uuid:<that, upper case>.
use lib 't/lib';

use EproNode;

my $PkgDir;

# 1.9.2: the newest that runs on Debian 12's node 18 (2.x needs node 20);
# t/fhir/client.mjs takes either
BEGIN { $PkgDir = npm_package('fhir-kit-client', '1.9.2', 16) }

use Test::Nginx::Socket 'no_plan';

use Epro qw(:DEFAULT :t);

use JSON::PP ();

my $root = repo_root();

fhir_env();

$Epro::DefaultConfig = <<'EOF';
    location /fhir/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_SHIPPED;
    }
EOF

sub block_id {
    my ($n, $k) = @_;
    return sid($n * 10 + $k);
}

# runs the client's scenario against the block's nginx: one test per check
sub client_ok {
    my ($scenario, $n) = @_;
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || $Test::Nginx::Util::ServerPort;
    my @ids = map { uc block_id($n, $_) } 1 .. 3;
    my @cmd = (node_bin(), "$root/t/fhir/client.mjs", $PkgDir,
               "http://localhost:$port/fhir", $scenario,
               "$root/test/unit/fhir/phq-9-response.json", @ids);

    open my $fh, '-|', @cmd or die "cannot run node: $!";
    my @lines = <$fh>;
    close $fh;

    my $done = 0;

    for my $line (@lines) {
        my $r = eval { JSON::PP->new->utf8->decode($line) };

        if (!$r) {
            fail("$scenario: a line of the client: $line");
            next;
        }

        if ($r->{done}) {
            $done = 1;
            next;
        }

        ok($r->{ok}, "$scenario: $r->{name}")
            or diag($r->{diag} // '');
    }

    ok($done, "$scenario: the client ran to its end (exit status $?)");
}

add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    if (defined $block->sql) {
        $block->set_value('sql', $block->sql
                                 =~ s/\@ID(\d)\@/block_id($n, $1)/ger);
    }
});

no_shuffle();
# every block: --- no_error_log [error] and [alert] (Epro.pm's default)
run_tests();

__DATA__

=== TEST 1: capabilityStatement(): fhirVersion, transaction and batch, create and read, the PHQ-9 listed
--- post_check
main::client_ok('metadata', 1);



=== TEST 2: create() of one PHQ-9 response: its answer, read() and vread() are what was sent
--- post_check
main::client_ok('create', 2);
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
1



=== TEST 3: transaction of 3 PHQ-9 responses: each location read back as sent; again: 200 OK each, nothing stored twice
--- post_check
main::client_ok('transaction', 3);
--- sql
SELECT count(*), count(fhir_status) FROM epro_submissions
WHERE submission_id IN ('@ID1@', '@ID2@', '@ID3@')
--- sql_result
3|3



=== TEST 4: batch with one bad entry: the others stored and read back, the bad one not
--- post_check
main::client_ok('batch', 4);
--- sql
SELECT submission_id FROM epro_submissions
WHERE submission_id IN ('@ID1@', '@ID2@', '@ID3@') ORDER BY 1
--- sql_result eval
Epro::sid(41) . "\n" . Epro::sid(43) . "\n"
