# FHIR Bundles (issue 12): a transaction or batch Bundle of
# QuestionnaireResponses POSTed to the base of an epro_submit fhir
# location.  A transaction is all or nothing (one waiter, one database
# transaction); a batch stores its valid entries and answers the others
# with their OperationOutcome; an identifier that repeats is stored once;
# other types, methods, urls, resource types and conditions are 4xx
# naming the entry; epro_max_submissions, epro_bind, a database down.
# EPRO_LONG_TESTS=1 adds TEST 22 and 23: transactions POSTed under load
# while a cluster of their own (port 16540 and up) is restarted (fast,
# then immediate shutdown); each Bundle is stored whole or not at all.
#
# /t/ takes t/fhir/test-q.json ("http://t/q|1"), /fhir/ the shipped
# Questionnaires (PHQ-9...).  "@IDn@" anywhere is sid(n) (Epro::subst);
# a block n uses the ids n01, n02...
#
# "--- fhir_issues": the body is an OperationOutcome whose issues, each
# "EXPRESSION CODE", are exactly these lines (as a set).
# "--- entries": the body is a transaction-response (or batch-response,
# "--- batch") Bundle whose entries' responses are these lines in order:
# "STATUS ID" (location QuestionnaireResponse/ID/_history/1 and its
# etag; lastModified with 201 only) or "STATUS -" (an outcome, no
# location); lines "--" separate the answers of several requests.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use Epro qw(:DEFAULT :t);

use Digest::MD5 ();
use JSON::PP ();
use Time::HiRes ();
use EproPg '026';

our $Phq9 = fhir_env();

$Epro::DefaultConfig = <<'EOF';
    location = /s { epro_submit; }
    location = /metrics { epro_status; }

    location /fhir/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_SHIPPED;
    }

    location /t/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
        add_header X-Entries "$epro_entries $epro_rows $epro_duplicates $epro_refused" always;
    }
EOF

# TEST 21's table: PostgreSQL refuses a row of a subject ending in
# -REFUSE (a BEFORE INSERT trigger's ERROR)
db()->do('CREATE TABLE IF NOT EXISTS t_026_refuse '
         . '(LIKE epro_submissions INCLUDING ALL)');
db()->do(<<'SQL');
CREATE OR REPLACE FUNCTION t_026_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.subject_id LIKE '%-REFUSE' THEN
        RAISE EXCEPTION 'refused';
    END IF;

    RETURN NEW;
END
$$
SQL
db()->do('CREATE OR REPLACE TRIGGER t_026_refuse BEFORE INSERT ON '
         . 't_026_refuse FOR EACH ROW EXECUTE FUNCTION t_026_refuse()');

# the cluster of TEST 22 and 23, restarted under load
our ($PgDir, $PgPort, $PrivatePg);

if ($ENV{EPRO_LONG_TESTS}) {
    ($PgDir, $PgPort, $ENV{TEST_NGINX_PRIVATE_PG}, $PrivatePg)
        = private_pg(16540, 16559);
}

# an item with one answer; the smallest valid items of http://t/q|1
sub A {
    my ($link, $value) = @_;
    return qq({"linkId":"$link","answer":[{$value}]});
}

our $B_TRUE = A('b', '"valueBoolean":true');
our $G_OK = '{"linkId":"g","item":[' . A('g1', '"valueInteger":1') . ']}';
our $MIN_OK = "$B_TRUE,$G_OK";
our $BAD = "$MIN_OK," . A('tot', '"valueDecimal":1');

# a response to http://t/q|1: identifier @ID<id>@; %o: items (default
# the smallest valid ones), subject, extra members (raw), no_id
sub tq {
    my ($id, %o) = @_;
    my $items = $o{items} // $MIN_OK;
    my $subject = $o{subject} // 'p1';

    return '{"resourceType":"QuestionnaireResponse",'
        . ($o{no_id} ? ''
           : qq("identifier":{"system":"urn:t","value":"\@ID$id\@"},))
        . qq("questionnaire":"http://t/q|1","status":"completed",)
        . qq("subject":{"reference":"Patient/$subject"},)
        . '"authored":"2026-11-27T08:15:00Z"'
        . (defined $o{extra} ? ",$o{extra}" : '')
        . qq(,"item":[$items]})
}

# the US Core PHQ-9 response, its identifier @UID<n>@
sub phq9_fhir {
    my ($n) = @_;
    my $j = $Phq9;
    $j =~ s/urn:uuid:[0-9A-Fa-f-]{36}/urn:uuid:\@UID$n\@/;
    return $j;
}

# an entry POSTing $res; %o: method, url, ifNoneExist, fullUrl, extra
sub entry {
    my ($res, %o) = @_;
    my $method = $o{method} // 'POST';
    my $url = $o{url} // 'QuestionnaireResponse';

    return '{'
        . (defined $o{fullUrl} ? qq("fullUrl":"$o{fullUrl}",) : '')
        . qq("resource":$res,"request":{"method":"$method","url":"$url")
        . (defined $o{ifNoneExist}
           ? qq(,"ifNoneExist":"$o{ifNoneExist}") : '')
        . '}'
        . (defined $o{extra} ? ",$o{extra}" : '')
        . '}';
}

sub bundle {
    my ($type, @entries) = @_;
    return qq({"resourceType":"Bundle","type":"$type","entry":[)
        . join(',', @entries) . ']}';
}

# the md5 of each resource's text as sent, for a check of the payload
sub md5_of {
    return join "\n", map { Digest::MD5::md5_hex(subst($_)) } @_;
}

# TEST 22 and 23's Bundles: the load's id $key is a transaction of 5 to
# 20 PHQ-9 responses, each with an identifier of its own (sid() of 2200001
# and up), kept in %Entries
our (%Entries, $Next);

sub restart_bundle {
    my ($key) = @_;
    my @n = map { 2_200_000 + ++$Next } 1 .. 5 + int rand 16;

    $Entries{$key} = [map { sid($_) } @n];
    return subst(bundle('transaction', map { entry(phq9_fhir($_)) } @n));
}

# Transactions from 6 clients, each sent once (a retry could complete a
# partly stored Bundle and hide it) for 9 s; after 1 s and after 5 s the
# cluster is stopped with -m $mode and started again (the blocks' 500 ms
# epro_pg_timeout makes some Bundles 503 meanwhile).  Then, for every
# Bundle: its entries stored are all or none; a 200 or 503 (nothing
# stored) is whole or absent as its answer says, a 504 (unknown) either.
sub restart_ok {
    my ($mode) = @_;
    my (@keys, @restarts);
    my $restart = sub {
        push @restarts, aside(sub {
            my ($w) = @_;
            my $t = Time::HiRes::time();
            pg_ctl($PgDir, '-m', $mode, '-w', 'stop') or die "stop\n";
            pg_sh('start', $PgDir, $PgPort);
            printf $w "up in %.2f s\n", Time::HiRes::time() - $t;
        });
    };

    pg_dbh($PgPort)->do('CHECKPOINT');    # a shorter crash recovery
    %Entries = ();

    my $res = load(uri => '/fhir/', ids => \@keys, for => 9, clients => 6,
                   deadline => 40, once => 1, ok => '200',
                   type => 'application/fhir+json',
                   body => \&restart_bundle,
                   at => [[1, $restart], [5, sub {
        diag("$mode: " . aside_wait(pop @restarts) =~ s/\n//r);
        $restart->();
    }]]);
    my $up = aside_wait(pop @restarts);

    like($up, qr/^up in /, "$mode: the cluster was restarted twice");

    my %stored;
    my $rows = pg_dbh($PgPort)->selectall_arrayref(
        'SELECT submission_id::text, count(*) FROM epro_submissions '
        . 'WHERE submission_id = ANY(?::uuid[]) GROUP BY 1', undef,
        [map { @$_ } values %Entries]);

    $stored{$_->[0]} = $_->[1] for @$rows;

    my (%n, @partial, @lost, @phantom, @odd);

    for my $key (@keys) {
        my $answer = join '->', @{ $res->{seen}{$key} };
        my $ids = $Entries{$key};
        my $in = grep { $stored{$_} } @$ids;
        my $state = $in == 0 ? 'absent' : $in == @$ids ? 'whole' : 'partial';

        $n{$answer}++;
        $n{$state}++;
        $n{"$answer $state"}++;
        push @partial, "$answer: $in of " . @$ids if $state eq 'partial';
        push @lost, $key if $answer eq '200' && $state ne 'whole';
        push @phantom, $key if $answer eq '503' && $state ne 'absent';
        push @odd, $answer if $answer !~ /^(?:200|503|504)$/;
    }

    diag("$mode: " . @keys . ' Bundles, ' . keys(%stored)
         . ' entries stored; '
         . join(', ', map { "$_ x " . ($n{$_} // 0) }
                qw(200 503 504 whole absent partial))
         . '; ' . join(', ', map { "$_ x $n{$_}" } grep { / / } sort keys %n)
         . "; $up");
    is_deeply(\@partial, [], "$mode: no Bundle stored in part");
    is_deeply(\@lost, [], "$mode: every Bundle answered 200 is stored");
    is_deeply(\@phantom, [], "$mode: no Bundle answered 503 is stored");
    is_deeply(\@odd, [], "$mode: every answer 200, 503 or 504")
        or diag(outcomes($res));
    is_deeply([grep { $_ != 1 } values %stored], [],
              "$mode: no entry stored twice");
    ok($n{200} && @keys > $n{200},
       "$mode: some Bundles stored, some refused");
}

{
    no strict 'refs';
    *{"Test::Base::Filter::$_"} = \&$_
        for qw(A tq phq9_fhir entry bundle md5_of);
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;

    return if $dry_run;

    my $name = $block->name;

    if (defined $block->fhir_issues) {
        my $j = eval { JSON::PP->new->utf8->decode($body) };

        if (!ok(ref $j eq 'HASH'
                && ($j->{resourceType} // '') eq 'OperationOutcome'
                && ref $j->{issue} eq 'ARRAY',
                "$name - an OperationOutcome"))
        {
            diag("body: $body");
            return;
        }

        my @got = sort map { ($_->{expression} ? $_->{expression}[0] : '-')
                             . ' ' . ($_->{code} // '?') } @{ $j->{issue} };
        my @want = sort grep { length }
                   map { s/^\s+|\s+$//gr } split /\n/, $block->fhir_issues;

        is_deeply(\@got, \@want, "$name - issues") or diag("body: $body");
    }

    return if !defined $block->entries;

    my @answers = split /^--\s*$/m, subst($block->entries);
    my @want = grep { length } map { s/^\s+|\s+$//gr }
               split /\n/, $answers[$req_idx] // '';
    my $type = defined $block->batch ? 'batch-response'
                                     : 'transaction-response';
    my $j = eval { JSON::PP->new->utf8->decode($body) };

    if (!ok(ref $j eq 'HASH' && ($j->{resourceType} // '') eq 'Bundle'
            && ($j->{type} // '') eq $type && ref $j->{entry} eq 'ARRAY',
            "$name - a $type Bundle"))
    {
        diag("body: $body");
        return;
    }

    my @got;

    for my $e (@{ $j->{entry} }) {
        my $r = $e->{response} // {};
        my ($code) = ($r->{status} // '') =~ /^(\d+) /;
        my $id = '-';

        if (defined $r->{location}) {
            ($id) = $r->{location}
                    =~ m{^QuestionnaireResponse/([0-9a-f-]{36})/_history/1$};
            $id //= "bad location $r->{location}";
            $id = "bad etag" if ($r->{etag} // '') ne 'W/"1"';
        }

        $id = 'no outcome'
            if $code >= 400
               && ($r->{outcome}{resourceType} // '') ne 'OperationOutcome';
        $id = 'lastModified'
            if ($code == 201) != (($r->{lastModified} // '')
                                  =~ /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
        $id = 'a resource' if exists $e->{resource};

        push @got, "$code $id";
    }

    is_deeply(\@got, \@want, "$name - entries") or diag("body: $body");
});

add_block_preprocessor(sub {
    my $block = shift;

    for my $s (qw(request sql sql_result response_body_like)) {
        my $v = $block->$s;

        next if !defined $v;

        $block->set_value($s, ref $v eq 'ARRAY' ? [map { subst($_) } @$v]
                                                : subst($v));
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a transaction of two responses: 200, a transaction-response of two 201s, both rows in one batch, each payload the entry's resource as sent
--- request eval
"POST /t/\n" . bundle('transaction',
                      entry(tq(101), fullUrl => 'urn:uuid:@ID191@'),
                      entry(tq(102, subject => 'p2')))
--- error_code: 200
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
X-Entries: 2 2 0 0
--- entries
201 @ID101@
201 @ID102@
--- sql eval
"SELECT md5(payload), subject_id, study_id, visit_name, fhir_status
 FROM epro_submissions
 WHERE submission_id IN ('\@ID101\@', '\@ID102\@') ORDER BY subject_id"
--- sql_result eval
my @m = split /\n/, md5_of(tq(101), tq(102, subject => 'p2'));
"$m[0]|p1|T-STUDY|T-VISIT|completed\n$m[1]|p2|T-STUDY|T-VISIT|completed\n"
--- metrics_delta
epro_submissions_accepted_total 2
epro_batches_total 1
result=created 1



=== TEST 2: a transaction with one entry breaking its Questionnaire's rules: 422 naming the entry, nothing stored
--- request eval
"POST /t/\n" . bundle('transaction', entry(tq(201)),
                      entry(tq(202, items => $::BAD)))
--- error_code: 422
--- fhir_issues
Bundle.entry[1].resource.item[2].answer[0].valueDecimal business-rule
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID201@', '@ID202@')
--- sql_result
0



=== TEST 3: a transaction whose entry is not R4: 400 naming the entry's element; issues of every entry; nothing stored
--- request eval
"POST /t/\n" . bundle('transaction', entry(tq(301, extra => '"foo":1')),
                      entry(tq(302)), entry(tq(303, items => $::BAD)))
--- error_code: 400
--- fhir_issues
Bundle.entry[0].resource.foo structure
Bundle.entry[2].resource.item[2].answer[0].valueDecimal business-rule
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID301@', '@ID302@', '@ID303@')
--- sql_result
0



=== TEST 4: a batch with a bad entry in the middle: 200, the others stored (one batch), the bad one 422 with its outcome
--- request eval
"POST /t/\n" . bundle('batch', entry(tq(401)),
                      entry(tq(402, items => $::BAD)), entry(tq(403)))
--- batch
--- error_code: 200
--- response_headers
X-Entries: 3 2 0 1
--- response_body_like chomp
"outcome":\{"resourceType":"OperationOutcome","issue":\[\{"severity":"error","code":"business-rule","diagnostics":"[^"]+","expression":\["Bundle.entry\[1\].resource.item\[2\].answer\[0\].valueDecimal"\]\}\]\}\}
--- entries
201 @ID401@
422 -
201 @ID403@
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID401@', '@ID402@', '@ID403@')
--- sql_result
2
--- metrics_delta
epro_submissions_accepted_total 2
epro_batches_total 1
epro_fhir_bundles_total{type="batch"} 1
epro_fhir_bundles_total{type="transaction"} 0
epro_fhir_bundle_entries_total{outcome="queued"} 2
epro_fhir_bundle_entries_total{outcome="refused"} 1



=== TEST 5: a batch of bad entries only: 200 at once, nothing queued or stored
--- request eval
"POST /t/\n" . bundle('batch', entry(tq(501, items => $::BAD)),
                      entry(tq(502, extra => '"foo":1')))
--- batch
--- error_code: 200
--- response_headers
X-Entries: 2 0 0 2
--- entries
422 -
400 -
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID501@', '@ID502@')
--- sql_result
0
--- metrics_delta
epro_batches_total 0
result=created 1



=== TEST 6: an identifier twice in one transaction: stored once, the later entry answered 200 with the same location
--- request eval
"POST /t/\n" . bundle('transaction', entry(tq(601)), entry(tq(602)),
                      entry(tq(601)))
--- error_code: 200
--- response_headers
X-Entries: 3 2 1 0
--- entries
201 @ID601@
201 @ID602@
200 @ID601@
--- metrics_delta
epro_submissions_accepted_total 2
epro_fhir_bundles_total{type="transaction"} 1
epro_fhir_bundle_entries_total{outcome="queued"} 2
epro_fhir_bundle_entries_total{outcome="repeated"} 1
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID601@', '@ID602@')
--- sql_result
2



=== TEST 7: the same Bundle sent again (a retry): every entry 200, nothing stored twice; a batch too
--- request eval
["POST /t/\n" . bundle('transaction', entry(tq(701)), entry(tq(702))),
 "POST /t/\n" . bundle('transaction', entry(tq(701)), entry(tq(702))),
 "POST /t/\n" . bundle('transaction', entry(tq(702)), entry(tq(703)))]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Entries: 2 2 0 0", "X-Entries: 2 0 2 0", "X-Entries: 2 1 1 0"]
--- entries
201 @ID701@
201 @ID702@
--
200 @ID701@
200 @ID702@
--
200 @ID702@
201 @ID703@
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID701@', '@ID702@')
--- sql_result
2



=== TEST 8: a Bundle of another type: 400 naming Bundle.type
--- request eval
"POST /t/\n" . bundle('collection', entry(tq(801)))
--- error_code: 400
--- fhir_issues
Bundle.type not-supported
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID801@'
--- sql_result
0



=== TEST 9: unknown, empty and missing Bundle elements: 400
--- request eval
"POST /t/\n" . '{"resourceType":"Bundle","total":1,"entry":[]}'
--- error_code: 400
--- fhir_issues
Bundle.total structure
Bundle.entry structure
Bundle.type required



=== TEST 10: a transaction entry with another method, url, resource type or fullUrl: 400 naming each, nothing stored
--- request eval
"POST /t/\n" . bundle('transaction',
                      entry(tq(1001), method => 'PUT'),
                      entry(tq(1002), url => 'Observation'),
                      entry('{"resourceType":"Patient","id":"x"}'),
                      entry(tq(1004), fullUrl => 'urn:uuid:nope'),
                      entry(tq(1005)))
--- error_code: 400
--- fhir_issues
Bundle.entry[0].request.method not-supported
Bundle.entry[1].request.url not-supported
Bundle.entry[2].resource.resourceType not-supported
Bundle.entry[3].fullUrl value
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID1001@', '@ID1002@', '@ID1004@', '@ID1005@')
--- sql_result
0



=== TEST 11: in a batch, a GET entry is 400 with its outcome and the others stored
--- request eval
"POST /t/\n" . bundle('batch', entry(tq(1101), method => 'GET'),
                      entry(tq(1102)))
--- batch
--- error_code: 200
--- entries
400 -
201 @ID1102@
--- response_body_like chomp
"expression":\["Bundle.entry\[0\].request.method"\]
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID1101@', '@ID1102@')
--- sql_result
1



=== TEST 12: ifNoneExist naming the resource's own identifier (system|value, percent-encoded, or the value alone) is taken
--- request eval
"POST /t/\n" . bundle('transaction',
                      entry(tq(1201), ifNoneExist => 'identifier=urn:t|@ID1201@'),
                      entry(tq(1202), ifNoneExist => 'identifier=urn%3At%7C@ID1202@'),
                      entry(tq(1203), ifNoneExist => 'identifier=@ID1203@'))
--- error_code: 200
--- entries
201 @ID1201@
201 @ID1202@
201 @ID1203@
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID1201@', '@ID1202@', '@ID1203@')
--- sql_result
3



=== TEST 13: ifNoneExist that does not name the identifier: 400 naming each entry
--- request eval
"POST /t/\n" . bundle('transaction',
                      entry(tq(1301), ifNoneExist => 'identifier=urn:t|@ID1399@'),
                      entry(tq(1302), ifNoneExist => 'identifier=urn:x|@ID1302@'),
                      entry(tq(1303), ifNoneExist => 'status=completed'),
                      entry(tq(1304, no_id => 1), ifNoneExist => 'identifier=x'))
--- error_code: 400
--- fhir_issues
Bundle.entry[0].request.ifNoneExist not-supported
Bundle.entry[1].request.ifNoneExist not-supported
Bundle.entry[2].request.ifNoneExist not-supported
Bundle.entry[3].request.ifNoneExist not-supported



=== TEST 14: more entries than epro_max_submissions: 413, nothing stored
--- config
    location /t/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
        epro_max_submissions 2;
    }
--- request eval
"POST /t/\n" . bundle('transaction', entry(tq(1401)), entry(tq(1402)),
                      entry(tq(1403)))
--- error_code: 413
--- fhir_issues
Bundle.entry too-costly
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID1401@', '@ID1402@', '@ID1403@')
--- sql_result
0



=== TEST 15: epro_bind: one entry of another subject makes the whole batch 403 naming that entry, nothing stored, no value logged
--- log_level: info
--- config
    location /t/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
        epro_bind subjectId $http_x_user;
    }
--- more_headers
Content-Type: application/fhir+json
X-User: p1
--- request eval
"POST /t/\n" . bundle('batch', entry(tq(1501)),
                      entry(tq(1502, subject => 'FOREIGN-77')))
--- error_code: 403
--- fhir_issues
Bundle.entry[1].resource.subject forbidden
--- response_body_unlike: FOREIGN
--- no_error_log
FOREIGN
[error]
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID1501@', '@ID1502@')
--- sql_result
0



=== TEST 16: PostgreSQL down: a transaction is 503 for the whole request, Retry-After, nothing stored
--- http_config
    epro_pg_conninfo "host=127.0.0.1 port=1 dbname=epro user=epro";
    epro_pg_timeout 300ms;
--- request eval
"POST /t/\n" . bundle('transaction', entry(tq(1601)), entry(tq(1602)))
--- error_code: 503
--- response_headers_like
Retry-After: \d+
--- fhir_issues
- transient
--- error_log
2 queued row(s) refused
--- no_error_log
[alert]
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID1601@', '@ID1602@')
--- sql_result
0



=== TEST 17: on a location without epro_study or epro_visit, an entry that names neither is 422 naming that entry's elements
--- request eval
"POST /fhir/\n" . bundle('transaction', entry(phq9_fhir(1701)),
                         entry(phq9_fhir(1702) =~ s/"encounter": \{[^}]*\},//r =~ s/"extension": \[.*?\n \],//sr))
--- more_headers
Content-Type: application/fhir+json
--- error_code: 422
--- fhir_issues
Bundle.entry[1].resource.extension required
Bundle.entry[1].resource.encounter required
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id IN ('@ID1701@', '@ID1702@')
--- sql_result
0



=== TEST 18: a transaction of a PHQ-9 and an identifier-less response: 200, both stored, Prefer not applied
--- request eval
"POST /fhir/\n" . bundle('transaction', entry(phq9_fhir(1801)),
                         entry(phq9_fhir(1801) =~ s/"identifier": \{[^}]*\},//r))
--- more_headers
Content-Type: application/fhir+json
Prefer: return=representation
--- error_code: 200
--- response_headers
!Preference-Applied
--- response_body_like
^\{"resourceType":"Bundle","type":"transaction-response","entry":\[\{"response":\{"status":"201 Created","location":"QuestionnaireResponse/@ID1801@/_history/1","etag":"W/\\"1\\"","lastModified":"[^"]+"\}\},\{"response":\{"status":"201 Created","location":"QuestionnaireResponse/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/_history/1","etag":"W/\\"1\\"","lastModified":"[^"]+"\}\}\]\}$
--- sql
SELECT count(*), sum(score) FROM epro_submissions
WHERE payload LIKE '%"identifier"%@UID1801@%'
--- sql_result
1|10



=== TEST 19: an empty transaction: 200 with no entries, nothing queued
--- request eval
"POST /t/\n" . '{"resourceType":"Bundle","type":"transaction"}'
--- error_code: 200
--- response_body
{"resourceType":"Bundle","type":"transaction-response","entry":[]}
--- metrics_delta
epro_batches_total 0



=== TEST 20: a lone QuestionnaireResponse still works on the prefix location; a Bundle's Bundle-level JSON error is 400
--- request eval
["POST /t/QuestionnaireResponse\n" . tq(2001),
 "POST /t/\n" . '{"resourceType":"Bundle","type":"batch","entry":[}']
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 400]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID2001@'
--- sql_result
1



=== TEST 21: PostgreSQL refuses one entry's row: the whole transaction is refused and rolled back, none of its rows stored
--- http_config
    epro_table t_026_refuse;
--- request eval
"POST /t/\n" . bundle('transaction', entry(tq(2101)),
                      entry(tq(2102, subject => 'p-REFUSE')),
                      entry(tq(2103)))
--- error_code_like: ^(?:422|503)$
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- sql
SELECT count(*) FROM t_026_refuse
WHERE submission_id IN ('@ID2101@', '@ID2102@', '@ID2103@')
--- sql_result
0
--- error_log eval
qr/\[error\].*epro: connection \d+: batch of 3 row\(s\) failed, SQLSTATE P0001\b/
--- no_error_log
p-REFUSE
[alert]



=== TEST 22: (EPRO_LONG_TESTS) transactions under load while PostgreSQL is restarted twice (fast shutdown): each Bundle stored whole or not at all, every 200 stored, no 503 stored
--- skip_eval: 1: !$main::PrivatePg || !$ENV{EPRO_LONG_TESTS}
--- http_config
    epro_pg_conninfo "$TEST_NGINX_PRIVATE_PG";
    epro_pg_pool_size 2;
    epro_pg_timeout 500ms;
--- post_check
wait_ready(2);
main::restart_ok('fast');
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]



=== TEST 23: (EPRO_LONG_TESTS) the same with an immediate shutdown (a crash: batches in flight are lost to the server's recovery)
--- skip_eval: 1: !$main::PrivatePg || !$ENV{EPRO_LONG_TESTS}
--- http_config
    epro_pg_conninfo "$TEST_NGINX_PRIVATE_PG";
    epro_pg_pool_size 2;
    epro_pg_timeout 500ms;
--- post_check
wait_ready(2);
main::restart_ok('immediate');
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]
