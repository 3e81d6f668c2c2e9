# FHIR R4 intake (issue 11): epro_submit fhir takes one
# QuestionnaireResponse, checks it against its Questionnaire
# (epro_questionnaires) and stores it as one row with its flattened
# answers, fhir_status and computed score.  One valid and one invalid
# block per rule family, the OperationOutcome naming every issue by its
# FHIRPath; identifier retries; Prefer; media types; epro_study, epro_site
# and epro_visit; epro_bind; nginx -t on a broken Questionnaire.
#
# /fhir/QuestionnaireResponse has the shipped conf/fhir/ (PHQ-9, GAD-7,
# EQ-5D-5L), /t/QuestionnaireResponse t/fhir/test-q.json (every item type
# and rule, the unit tests' Questionnaire "http://t/q|1").
#
# "--- fhir_issues": the body is an OperationOutcome whose issues, each
# "EXPRESSION CODE" ("-" for none), are exactly these lines (as a set).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use Epro qw(:DEFAULT fhir_env);
use EproCheck;

use JSON::PP ();

our $Phq9 = fhir_env();

$Epro::DefaultConfig = <<'EOF';
    location = /s { epro_submit; }

    location = /fhir/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_SHIPPED;
    }

    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
    }
EOF

# TEST 58's table: a WARNING, as PostgreSQL's when a commit stops waiting
# for its synchronous standby, for an inserted row of a subject ending in
# -WARN (AFTER INSERT: a retry that finds the row stored draws none)
db()->do('CREATE TABLE IF NOT EXISTS t_023_syncrep '
         . '(LIKE epro_submissions INCLUDING ALL)');
db()->do(<<'SQL');
CREATE OR REPLACE FUNCTION t_023_syncrep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.subject_id LIKE '%-WARN' THEN
        RAISE WARNING 'canceling wait for synchronous replication';
    END IF;

    RETURN NULL;
END
$$
SQL
db()->do('CREATE OR REPLACE TRIGGER t_023_syncrep AFTER INSERT ON '
         . 't_023_syncrep FOR EACH ROW EXECUTE FUNCTION t_023_syncrep()');

# an item with one answer; the smallest valid items of http://t/q|1
sub A {
    my ($link, $value) = @_;
    return qq({"linkId":"$link","answer":[{$value}]});
}

our $B_TRUE = A('b', '"valueBoolean":true');
our $G_OK = '{"linkId":"g","item":[' . A('g1', '"valueInteger":1') . ']}';
our $MIN_OK = "$B_TRUE,$G_OK";

# a response to http://t/q|1 with these items (undef: none); identifier
# @ID<id>@ (@IDN@, the block's own, unless given), status, extra members
# (raw, after a comma)
sub tq {
    my ($items, %o) = @_;
    my $id = $o{id} // 'N';
    my $status = $o{status} // 'completed';

    return '{"resourceType":"QuestionnaireResponse",'
        . qq("identifier":{"system":"urn:t","value":"\@ID$id\@"},)
        . qq("questionnaire":"http://t/q|1","status":"$status",)
        . '"subject":{"reference":"Patient/p1"},'
        . '"authored":"2026-11-27T08:15:00Z"'
        . (defined $o{extra} ? ",$o{extra}" : '')
        . (defined $items ? qq(,"item":[$items]) : '')
        . '}';
}

sub tpost {
    return "POST /t/QuestionnaireResponse\n" . tq(@_);
}

# the US Core PHQ-9 response of the unit tests, its identifier @UID<n>@
# (upper case: the id is its lower case); %o: total => N
sub phq9_fhir {
    my ($n, %o) = @_;
    my $j = $Phq9;

    $j =~ s/urn:uuid:[0-9A-Fa-f-]{36}/urn:uuid:\@UID$n\@/;
    $j =~ s/"valueInteger": 10/"valueInteger": $o{total}/
        if defined $o{total};

    return $j;
}

{
    no strict 'refs';
    *{"Test::Base::Filter::$_"} = \&$_ for qw(A tq tpost phq9_fhir);
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;

    return if $dry_run || !defined $block->fhir_issues;

    my $name = $block->name;
    my $j = eval { JSON::PP->new->utf8->decode($body) };

    if (!ok(ref $j eq 'HASH'
            && ($j->{resourceType} // '') eq 'OperationOutcome'
            && ref $j->{issue} eq 'ARRAY',
            "$name - an OperationOutcome"))
    {
        diag("body: $body");
        return;
    }

    my @issues = @{ $j->{issue} };

    ok(!grep({ ($_->{severity} // '') ne 'error'
               || !length($_->{diagnostics} // '') } @issues),
       "$name - each issue an error with diagnostics");

    my @got = sort map { ($_->{expression} ? $_->{expression}[0] : '-')
                         . ' ' . ($_->{code} // '?') } @issues;
    my @want = sort grep { length }
               map { s/^\s+|\s+$//gr } split /\n/, $block->fhir_issues;

    is_deeply(\@got, \@want, "$name - issues") or diag("body: $body");
});

# Each block has ids of its own: "@ID1@" and "@IDN@" ("@UID1@",
# "@UIDN@") in its request, sql, response_body_like and response_headers,
# arrays too, become sid(<the block's number>).  Registered last, it runs
# first (Test::Nginx runs them in reverse).
sub own_ids {
    my ($v, $n) = @_;
    $v =~ s/\@(U?)ID[1N]\@/$1 ? uc(sid($n)) : sid($n)/ge;
    return $v;
}

add_block_preprocessor(sub {
    my $block = shift;
    my ($n) = $block->name =~ /TEST (\d+)/;

    for my $s (qw(request sql response_body_like response_headers)) {
        my $v = $block->$s;

        next if !defined $v;

        $block->set_value($s, ref $v eq 'ARRAY'
                              ? [map { own_ids($_, $n) } @$v]
                              : own_ids($v, $n));
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a US Core PHQ-9 response posted as is: 201, stored with its computed score
--- request eval
"POST /fhir/QuestionnaireResponse\n" . phq9_fhir(1)
--- more_headers
Content-Type: application/fhir+json; charset=utf-8; fhirVersion=4.0
--- error_code: 201
--- response_headers_like eval
"Location: http://localhost(:\\d+)?/fhir/QuestionnaireResponse/"
    . sid(1) . "/_history/1\n"
    . "ETag: W/\"1\"\n"
    . "Last-Modified: \\w{3}, \\d\\d \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT\n"
    . "Content-Type: application/fhir\\+json; charset=utf-8\n"
--- response_body_like
(?s)^\{"resourceType":"QuestionnaireResponse","id":"@ID1@","meta":\{"profile": \[\s*"http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse"\s*\],"versionId":"1","lastUpdated":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z"\},"extension": \[.*"authored": "2026-11-27T08:15:00\+01:00",.*"linkId": "44261-6",.*\}$
--- sql
SELECT study_id, site_id IS NULL, subject_id, visit_name, instrument,
       fhir_status, score, answers ->> '44250-9', answers ->> '44261-6',
       answers ->> '69722-7',
       collected_at = '2026-11-27T08:15:00+01:00',
       payload LIKE '%"id": "phq9-response-1"%'
FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
study-042|1|pat-0017|visit-3|http://loinc.org/q/44249-1|2.74|completed|10|LA6569-3|10|LA6573-5|1|1



=== TEST 2: a PHQ-9 response whose total disagrees with the answers' weights: 422 naming the total
--- request eval
"POST /fhir/QuestionnaireResponse\n" . phq9_fhir(2, total => 11)
--- more_headers
Content-Type: application/fhir+json
--- error_code: 422
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- fhir_issues
QuestionnaireResponse.item[9].answer[0].valueInteger business-rule
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID2@'
--- sql_result
0



=== TEST 3: the total of http://t/q|1 sent right: 201, the score stored
--- request eval
tpost("$::MIN_OK,"
      . '{"linkId":"c","answer":[{"valueCoding":{"system":"http://s",'
      . '"code":"a"}},{"valueCoding":{"system":"http://s","code":"b"}}]},'
      . A('tot', '"valueDecimal":3'))
--- error_code: 201
--- sql
SELECT score, answers::text, fhir_status, study_id, visit_name
FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
3|{"b": true, "c": ["a", "b"], "tot": 3, "g.g1": [1]}|completed|T-STUDY|T-VISIT



=== TEST 4: the total of http://t/q|1 sent wrong: 422
--- request eval
tpost("$::MIN_OK," . A('tot', '"valueDecimal":1'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueDecimal business-rule



=== TEST 5: structure: an unknown element is a 400 naming it
--- request eval
tpost($::MIN_OK, extra => '"foo":1')
--- error_code: 400
--- fhir_issues
QuestionnaireResponse.foo structure



=== TEST 6: structure: malformed JSON is a 400 OperationOutcome
--- request eval
"POST /t/QuestionnaireResponse\n" . '{"resourceType":"QuestionnaireResponse",'
--- error_code: 400
--- fhir_issues
- structure



=== TEST 7: status codes: in-progress needs no required item
--- request eval
tpost(A('i', '"valueInteger":3'), status => 'in-progress')
--- error_code: 201
--- sql
SELECT fhir_status, score, answers::text FROM epro_submissions
WHERE submission_id = '@ID1@'
--- sql_result
in-progress|0|{"i": 3}



=== TEST 8: status codes: an unknown code is a 400
--- request eval
tpost($::MIN_OK, status => 'done')
--- error_code: 400
--- fhir_issues
QuestionnaireResponse.status code-invalid



=== TEST 9: datatypes: decimal, integer, date, dateTime, time, string, url, quantity in their formats
--- request eval
tpost("$::MIN_OK,"
      . CORE::join(',', A('d', '"valueDecimal":2.5'),
                   A('i', '"valueInteger":10'),
             A('dt', '"valueDate":"2020-01-01"'),
             A('ts', '"valueDateTime":"2026-11"'),
             A('tm', '"valueTime":"08:15:00.5"'),
             A('s', '"valueString":"hello"'),
             A('u', '"valueUri":"http://x/y"'),
             A('qty', '"valueQuantity":{"value":72.5,"unit":"kg"}')))
--- error_code: 201
--- sql
SELECT answers ->> 'd', answers ->> 'i', answers ->> 'dt', answers ->> 'ts',
       answers ->> 'tm', answers ->> 's', answers ->> 'u', answers ->> 'qty'
FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
2.5|10|2020-01-01|2026-11|08:15:00.5|hello|http://x/y|72.5



=== TEST 10: datatypes: a bad date, dateTime, time and integer: every one named, 400
--- request eval
tpost("$::MIN_OK,"
      . CORE::join(',', A('i', '"valueInteger":1.5'),
             A('dt', '"valueDate":"2026-02-30"'),
             A('ts', '"valueDateTime":"2026-11-27T08:15:00"'),
             A('tm', '"valueTime":"24:00:00"')))
--- error_code: 400
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueInteger structure
QuestionnaireResponse.item[3].answer[0].valueDate structure
QuestionnaireResponse.item[4].answer[0].valueDateTime structure
QuestionnaireResponse.item[5].answer[0].valueTime structure



=== TEST 11: linkId: an item the Questionnaire does not have is a 422
--- request eval
tpost("$::MIN_OK," . '{"linkId":"zz"}')
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2] structure



=== TEST 12: linkId: a nested item at the top is a 422
--- request eval
tpost("$::MIN_OK," . A('g1', '"valueInteger":1'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2] structure



=== TEST 13: linkId: items out of the Questionnaire's order are a 422
--- request eval
tpost(A('i', '"valueInteger":1') . ",$::B_TRUE,$::G_OK")
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[1] structure
QuestionnaireResponse.item[2] structure



=== TEST 14: required: a completed response without item b is a 422
--- request eval
tpost($::G_OK)
--- error_code: 422
--- fhir_issues
QuestionnaireResponse required



=== TEST 15: repeats: two answers to a repeating choice are stored as an array
--- request eval
tpost("$::MIN_OK,"
      . '{"linkId":"c","answer":[{"valueCoding":{"system":"http://s",'
      . '"code":"a"}},{"valueCoding":{"system":"http://s","code":"b"}}]}')
--- error_code: 201
--- sql
SELECT answers -> 'c', score FROM epro_submissions
WHERE submission_id = '@ID1@'
--- sql_result
["a", "b"]|3



=== TEST 16: repeats: two answers to an item that does not repeat are a 422
--- request eval
tpost("$::MIN_OK,"
      . '{"linkId":"i","answer":[{"valueInteger":1},{"valueInteger":2}]}')
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2] structure



=== TEST 17: enableWhen: e answered while b is true
--- request eval
tpost("$::B_TRUE,$::G_OK," . A('e', '"valueString":"on"'))
--- error_code: 201
--- sql
SELECT answers ->> 'e' FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
on



=== TEST 18: enableWhen: e answered while b is false (disabled) is a 422
--- request eval
tpost(A('b', '"valueBoolean":false') . ",$::G_OK,"
      . A('e', '"valueString":"x"'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2] business-rule



=== TEST 19: value type: a valueString for an integer item is a 422
--- request eval
tpost("$::MIN_OK," . A('i', '"valueString":"3"'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueString value



=== TEST 20: answerOption: a Coding by system and code, an integer option
--- request eval
tpost("$::MIN_OK,"
      . A('c', '"valueCoding":{"system":"http://s","code":"b"}') . ','
      . A('ci', '"valueInteger":2'))
--- error_code: 201
--- sql
SELECT answers -> 'c', answers -> 'ci' FROM epro_submissions
WHERE submission_id = '@ID1@'
--- sql_result
["b"]|2



=== TEST 21: answerOption: an unknown code and a known code of another system: 422 each
--- request eval
tpost("$::MIN_OK,"
      . '{"linkId":"c","answer":[{"valueCoding":{"system":"http://s",'
      . '"code":"z"}},{"valueCoding":{"system":"http://other",'
      . '"code":"a"}}]},'
      . A('ci', '"valueInteger":3'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueCoding code-invalid
QuestionnaireResponse.item[2].answer[1].valueCoding code-invalid
QuestionnaireResponse.item[3].answer[0].valueInteger code-invalid



=== TEST 22: minValue and maxValue: the bounds themselves are in
--- request eval
tpost("$::MIN_OK,"
      . CORE::join(',', A('d', '"valueDecimal":9.5'),
                   A('i', '"valueInteger":0'),
             A('dt', '"valueDate":"2020-01-01"')))
--- error_code: 201



=== TEST 23: minValue and maxValue: below and above are a 422
--- request eval
tpost("$::MIN_OK,"
      . CORE::join(',', A('d', '"valueDecimal":0.4'),
                   A('i', '"valueInteger":11'),
             A('dt', '"valueDate":"2019-12-31"')))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueDecimal value
QuestionnaireResponse.item[3].answer[0].valueInteger value
QuestionnaireResponse.item[4].answer[0].valueDate value



=== TEST 24: maxLength: 5 characters (not bytes) fit
--- request eval
tpost("$::MIN_OK," . A('s', '"valueString":"\u00e9\u00e9\u00e9\u00e9\u00e9"'))
--- error_code: 201



=== TEST 25: maxLength: 6 characters are a 422
--- request eval
tpost("$::MIN_OK," . A('s', '"valueString":"abcdef"'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueString value



=== TEST 26: maxDecimalPlaces: one place fits
--- request eval
tpost("$::MIN_OK," . A('d', '"valueDecimal":1.5'))
--- error_code: 201



=== TEST 27: maxDecimalPlaces: two places are a 422
--- request eval
tpost("$::MIN_OK," . A('d', '"valueDecimal":1.25'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueDecimal value



=== TEST 28: item.text: the Questionnaire's text sent along
--- request eval
tpost('{"linkId":"b","text":"B?","answer":[{"valueBoolean":true}]},'
      . $::G_OK)
--- error_code: 201



=== TEST 29: item.text: another text is a 422
--- request eval
tpost('{"linkId":"b","text":"b?","answer":[{"valueBoolean":true}]},'
      . $::G_OK)
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[0].text value



=== TEST 30: groups carry no answers: a 422, and its required item missing too
--- request eval
tpost("$::B_TRUE," . '{"linkId":"g","answer":[{"valueInteger":1}]}')
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[1] structure
QuestionnaireResponse.item[1] required



=== TEST 31: every violation at once, each with its FHIRPath
--- request eval
tpost(A('b', '"valueBoolean":false') . ','
      . A('i', '"valueInteger":11') . ','
      . A('s', '"valueString":"abcdef"') . ','
      . A('e', '"valueString":"x"'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse required
QuestionnaireResponse.item[1].answer[0].valueInteger value
QuestionnaireResponse.item[2].answer[0].valueString value
QuestionnaireResponse.item[3] business-rule



=== TEST 32: identifier: a retry is stored once and answered 200 with the same Location, no lastUpdated
--- request eval
[tpost($::MIN_OK), tpost($::MIN_OK)]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 200]
--- response_headers eval
my $loc = 'Location: http://localhost:$ServerPort/t/QuestionnaireResponse/'
          . "\@IDN\@/_history/1\n";
["${loc}ETag: W/\"1\"\n", "${loc}ETag: W/\"1\"\n!Last-Modified\n"]
--- response_body_like eval
['^\{"resourceType":"QuestionnaireResponse","id":"@IDN@","meta":\{"versionId":"1","lastUpdated":"[^"]+"\},"identifier"',
 '^\{"resourceType":"QuestionnaireResponse","id":"@IDN@","meta":\{"versionId":"1"\},"identifier"']
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
1



=== TEST 33: identifier: a value that is no UUID maps to the v5 UUID of system|value
--- request eval
"POST /t/QuestionnaireResponse\n"
    . tq($::MIN_OK) =~ s/"system":"urn:t","value":"[^"]+"/"system":"https:\/\/app.example.org\/fhir\/qr-id","value":"ABC-123-${\ sid(1)}"/r
--- error_code: 201
--- sql eval
use Digest::SHA ();
my $name = 'https://app.example.org/fhir/qr-id|ABC-123-' . sid(1);
my $ns = pack 'H*', '99a8785b07a4468487a374f8c93bbe31';
my @b = unpack 'C16', substr(Digest::SHA::sha1($ns . $name), 0, 16);
$b[6] = ($b[6] & 0x0f) | 0x50;
$b[8] = ($b[8] & 0x3f) | 0x80;
my $h = unpack 'H*', pack 'C16', @b;
$h =~ s/^(.{8})(.{4})(.{4})(.{4})/$1-$2-$3-$4-/;
"SELECT count(*) FROM epro_submissions WHERE submission_id = '$h'"
--- sql_result
1



=== TEST 34: Prefer: return=minimal: 201 with an empty body
--- request eval
tpost($::MIN_OK)
--- more_headers
Content-Type: application/fhir+json
Prefer: return=minimal
--- error_code: 201
--- response_body eval
''
--- response_headers_like
Location: http://localhost(:\d+)?/t/QuestionnaireResponse/[0-9a-f-]{36}/_history/1



=== TEST 35: Prefer: return=OperationOutcome: an informational outcome
--- request eval
tpost($::MIN_OK)
--- more_headers
Content-Type: application/fhir+json
Prefer: respond-async, return=OperationOutcome
--- error_code: 201
--- response_body_like
^\{"resourceType":"OperationOutcome","issue":\[\{"severity":"information","code":"informational","diagnostics":"created QuestionnaireResponse/@ID1@"\}\]\}$



=== TEST 36: Prefer: return=representation and no identifier: a UUIDv7 id, the client's id replaced
--- request eval
"POST /t/QuestionnaireResponse\n"
    . tq($::MIN_OK, extra => '"id":"mine"')
        =~ s/"identifier":\{[^}]*\},//r
--- more_headers
Content-Type: application/fhir+json
Prefer: return=representation
--- error_code: 201
--- response_body_like
^\{"resourceType":"QuestionnaireResponse","id":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","meta":\{"versionId":"1","lastUpdated":"[^"]+"\},"questionnaire":"http://t/q\|1",.*"item":\[.*\]\}$



=== TEST 37: media types: application/fhir+json with charset and fhirVersion, in any order
--- request eval
tpost($::MIN_OK)
--- more_headers
Content-Type: application/fhir+json;fhirVersion=4.0; charset="UTF-8"
--- error_code: 201



=== TEST 38: media types: another fhirVersion, charset or type is a 415 OperationOutcome
--- request eval
[map { Epro::subst(tpost($::MIN_OK, id => 100 + $_)) } 1 .. 4]
--- more_headers eval
["Content-Type: application/fhir+json; fhirVersion=3.0",
 "Content-Type: application/fhir+json; charset=latin1",
 "Content-Type: application/fhir+xml",
 "Content-Type: application/fhir+json; fhirVersion=4.0; fhirVersion=4.0"]
--- error_code eval
[415, 415, 415, 415]
--- fhir_issues
- not-supported



=== TEST 39: a GET is a 405 OperationOutcome with Allow
--- request
GET /t/QuestionnaireResponse
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/fhir+json; charset=utf-8
--- fhir_issues
- not-supported



=== TEST 40: a body over client_max_body_size is a 413 OperationOutcome
--- config
    location = /t/QuestionnaireResponse {
        client_max_body_size 100;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
    }
--- request eval
tpost($::MIN_OK)
--- error_code: 413
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- fhir_issues
- too-long
--- no_error_log
[alert]



=== TEST 41: study, site and visit from nginx variables where the resource has none
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study $http_x_study;
        epro_site $arg_site;
        epro_visit "V-$http_x_visit";
    }
--- request eval
"POST /t/QuestionnaireResponse?site=S7\n" . tq($::MIN_OK)
--- more_headers
Content-Type: application/json
X-Study: ST-9
X-Visit: 3
--- error_code: 201
--- sql
SELECT study_id, site_id, visit_name FROM epro_submissions
WHERE submission_id = '@ID1@'
--- sql_result
ST-9|S7|V-3



=== TEST 42: the resource's own study and visit win over the location's
--- config
    location = /fhir/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_SHIPPED;
        epro_study OTHER;
        epro_site SITE-1;
        epro_visit OTHER;
    }
--- request eval
"POST /fhir/QuestionnaireResponse\n" . phq9_fhir(1)
--- error_code: 201
--- sql
SELECT study_id, site_id, visit_name FROM epro_submissions
WHERE submission_id = '@ID1@'
--- sql_result
study-042|SITE-1|visit-3



=== TEST 43: no study and no visit from the resource or the location: a 422 naming both
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study $http_x_study;
    }
--- request eval
tpost($::MIN_OK)
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.extension required
QuestionnaireResponse.encounter required
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
0



=== TEST 44: epro_bind subjectId: the patient's own response is stored
--- config
    location = /t/QuestionnaireResponse {
        epro_bind subjectId $http_x_user;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study S;
        epro_visit V;
    }
--- request eval
tpost($::MIN_OK)
--- more_headers
Content-Type: application/json
X-User: p1
--- error_code: 201



=== TEST 45: epro_bind subjectId: another patient's response is a 403 naming the subject, nothing stored
--- config
    location = /t/QuestionnaireResponse {
        epro_bind subjectId $http_x_user;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study S;
        epro_visit V;
    }
--- request eval
tpost($::MIN_OK)
--- more_headers
Content-Type: application/json
X-User: p2
--- error_code: 403
--- fhir_issues
QuestionnaireResponse.subject forbidden
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
0



=== TEST 46: epro_bind with no identity: a 403 OperationOutcome before the body
--- config
    location = /t/QuestionnaireResponse {
        epro_bind subjectId $http_x_user;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
    }
--- request eval
tpost($::MIN_OK)
--- error_code: 403
--- fhir_issues
- forbidden



=== TEST 47: an unknown Questionnaire is a 422 under the default policy, strict
--- request eval
"POST /t/QuestionnaireResponse\n" . tq($::MIN_OK) =~ s/http:\/\/t\/q\|1/http:\/\/other\/q/r
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.questionnaire not-found



=== TEST 48: epro_questionnaire_policy known: an unknown Questionnaire is stored unchecked, answers {} and no score
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_questionnaire_policy known;
        epro_study S;
        epro_visit V;
    }
--- request eval
"POST /t/QuestionnaireResponse\n" . tq($::MIN_OK) =~ s/http:\/\/t\/q\|1/http:\/\/other\/q/r
--- error_code: 201
--- sql
SELECT instrument, answers::text, score IS NULL FROM epro_submissions
WHERE submission_id = '@ID1@'
--- sql_result
http://other/q|{}|1



=== TEST 49: a native submission next to the FHIR ones: answers from its payload, no fhir_status, no score
--- request eval
"POST /s\n" . sub_json(submissionId => '"@IDN@"')
--- more_headers
Content-Type: application/json
--- error_code: 201
--- sql
SELECT fhir_status IS NULL, score IS NULL, answers = payload::jsonb -> 'answers'
FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
1|1|1



=== TEST 50: nginx -t: a broken Questionnaire file names the file and the JSON path
--- user_files
>>> broken.json
{"resourceType": "Questionnaire", "url": "http://b/q",
 "item": [{"linkId": "a", "type": "string"}, {"linkId": "b", "type": "attachment"}]}
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires ../html/broken.json;
    }
--- request
GET /t/QuestionnaireResponse
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid Questionnaire file "[^"]*\/html\/broken\.json": \/item\/1\/type: must be one of/



=== TEST 51: nginx -t: a missing Questionnaire file
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires ../html/nothing-here.json;
    }
--- request
GET /t/QuestionnaireResponse
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*nothing-here\.json" failed/



=== TEST 52: nginx -t: epro_submit with an argument other than fhir
--- config
    location = /t/QuestionnaireResponse {
        epro_submit xml;
    }
--- request
GET /t/QuestionnaireResponse
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid value "xml" in "epro_submit": expected "fhir" or nothing/



=== TEST 53: nginx -t: a strict policy without epro_questionnaires
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaire_policy strict;
    }
--- request
GET /t/QuestionnaireResponse
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_questionnaire_policy" other than "off" needs "epro_questionnaires"/



=== TEST 54: PostgreSQL unreachable: a 503 OperationOutcome with Retry-After naming the id, nothing logged of the resource
--- http_config
    epro_pg_conninfo "host=127.0.0.1 port=1 dbname=epro user=epro";
    epro_pg_timeout 300ms;
--- request eval
tpost($::MIN_OK)
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/fhir+json; charset=utf-8
--- response_body_like
"code":"transient","diagnostics":"nothing was stored; retry later with the same identifier \(QuestionnaireResponse/@ID1@\)"\}\]\}$
--- fhir_issues
- transient
--- error_log eval
qr/\[error\].*epro: no database connection for 300 ms, 1 queued row\(s\) refused/
--- no_error_log
Patient/p1
[alert]



=== TEST 55: Preference-Applied names the honoured return=, on the 201 and on the retry's 200 (RFC 7240)
--- request eval
[tpost($::MIN_OK), tpost($::MIN_OK)]
--- more_headers
Content-Type: application/fhir+json
Prefer: return=minimal
--- error_code eval
[201, 200]
--- response_headers eval
["Preference-Applied: return=minimal\n",
 "Preference-Applied: return=minimal\n"]
--- response_body eval
['', '']



=== TEST 56: Preference-Applied: representation and OperationOutcome, among other preferences, any case
--- request eval
[map { Epro::subst(tpost($::MIN_OK, id => 120 + $_)) } 1 .. 3]
--- more_headers eval
["Content-Type: application/fhir+json\nPrefer: return=representation",
 "Content-Type: application/fhir+json\n"
     . "Prefer: respond-async, return=OperationOutcome; x=1",
 "Content-Type: application/fhir+json\nPrefer: handling=lenient\n"
     . "Prefer: RETURN=Minimal"]
--- error_code eval
[201, 201, 201]
--- response_headers eval
["Preference-Applied: return=representation\n",
 "Preference-Applied: return=OperationOutcome\n",
 "Preference-Applied: return=minimal\n"]
--- response_body_like eval
['^\{"resourceType":"QuestionnaireResponse",',
 '^\{"resourceType":"OperationOutcome",',
 '^$']



=== TEST 57: no Prefer, or a return= the module does not know: the default representation, no Preference-Applied
--- request eval
[map { Epro::subst(tpost($::MIN_OK, id => 130 + $_)) } 1 .. 3]
--- more_headers eval
["Content-Type: application/fhir+json",
 "Content-Type: application/fhir+json\nPrefer: return=minimalist",
 "Content-Type: application/fhir+json\nPrefer: x-return=minimal"]
--- error_code eval
[201, 201, 201]
--- response_headers eval
["!Preference-Applied\n", "!Preference-Applied\n", "!Preference-Applied\n"]
--- response_body_like eval
['^\{"resourceType":"QuestionnaireResponse",',
 '^\{"resourceType":"QuestionnaireResponse",',
 '^\{"resourceType":"QuestionnaireResponse",']



=== TEST 58: a WARNING while the row commits (a synchronous standby not waited for): a 504 OperationOutcome naming the id, the row stored; the retry 200 (already stored), the row once
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
        epro_table t_023_syncrep;
    }
--- request eval
[map { tpost($::MIN_OK) =~ s{Patient/p1}{Patient/p-WARN}r } 1 .. 2]
--- more_headers
Content-Type: application/fhir+json
--- error_code eval
[504, 200]
--- response_body_like eval
['^\{"resourceType":"OperationOutcome","issue":\[\{"severity":"error","code":"timeout","diagnostics":"the commit was not confirmed in time, the outcome is unknown; a retry with the same identifier is safe \(QuestionnaireResponse/@ID1@\)"\}\]\}$',
 '^\{"resourceType":"QuestionnaireResponse","id":"@ID1@","meta":\{"versionId":"1"\},']
--- sql
SELECT count(*), min(subject_id) FROM t_023_syncrep
WHERE submission_id = '@ID1@'
--- sql_result
1|p-WARN
--- post_check
if ($req_idx == 0) {
    ok(Epro::wait_log(qr/\[notice\].*epro: connection \d+: a batch of 1 (?#
                         )row\(s\) was committed after a WARNING/, 2),
       'the 504 logged at notice');
}
--- no_error_log
p-WARN
[error]
[alert]



=== TEST 59: a body nginx wrote to a file is gathered in the parse arena: the representation is copied out of it before the arena is reused, and is the same as from memory; so is a retry's
--- config
    location = /t/QuestionnaireResponse {
        client_body_in_file_only clean;
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
    }
--- request eval
[tpost($::MIN_OK), tpost($::MIN_OK)]
--- more_headers
Content-Type: application/fhir+json
--- error_code eval
[201, 200]
--- response_body_like eval
['^\{"resourceType":"QuestionnaireResponse","id":"@ID1@","meta":\{"versionId":"1","lastUpdated":"[^"]+"\},"identifier":\{"system":"urn:t","value":"@ID1@"\},"questionnaire":"http://t/q\|1",.*"item":\[.*\]\}$',
 '^\{"resourceType":"QuestionnaireResponse","id":"@ID1@","meta":\{"versionId":"1"\},"identifier":\{"system":"urn:t","value":"@ID1@"\},"questionnaire":"http://t/q\|1",.*"item":\[.*\]\}$']



=== TEST 60: a retry with If-Match or If-Unmodified-Since is still the retry's 200 (nginx's not_modified filter does not make it 412)
--- request eval
[tpost($::MIN_OK), tpost($::MIN_OK), tpost($::MIN_OK)]
--- more_headers eval
["Content-Type: application/fhir+json",
 "Content-Type: application/fhir+json\nIf-Match: W/\"1\"",
 "Content-Type: application/fhir+json\n"
     . "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:01 GMT"]
--- error_code eval
[201, 200, 200]
--- response_body_like eval
['^\{"resourceType":"QuestionnaireResponse","id":"@ID1@"',
 '^\{"resourceType":"QuestionnaireResponse","id":"@ID1@"',
 '^\{"resourceType":"QuestionnaireResponse","id":"@ID1@"']
--- no_error_log
[error]
[alert]



=== TEST 61: a regex location (no FHIR base): its Location is the URI escaped again, so a %0D%0A in the URI cannot add a header
--- config
    location ~ ^/rfhir/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
    }
--- raw_request eval
my $b = Epro::subst(tq($::MIN_OK));
"POST /rfhir/x%0d%0aSet-Cookie:%20pwned=1%0d%0aX:%20y HTTP/1.1\r\n"
. "Host: localhost\r\nConnection: close\r\n"
. "Content-Type: application/fhir+json\r\nPrefer: return=minimal\r\n"
. "Content-Length: " . length($b) . "\r\n\r\n$b"
--- error_code: 201
--- response_headers_like
Location: ^http://localhost(?::\d+)?/rfhir/x%0D%0ASet-Cookie:%20pwned=1%0D%0AX:%20y/[0-9a-f-]{36}/_history/1$
--- raw_response_headers_unlike: \r\n(?:Set-Cookie|X):
--- no_error_log
[error]
[alert]



=== TEST 62: an "if" block inside the location is the same endpoint (nginx runs the location's handler with the block's configuration)
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;

        if ($http_x_debug) {
            set $debug 1;
        }
    }
--- request eval
[map { Epro::subst(tpost($::MIN_OK, id => $_)) } 621 .. 622]
--- more_headers eval
["Content-Type: application/fhir+json\nX-Debug: 1",
 "Content-Type: application/fhir+json"]
--- error_code eval
[201, 201]
--- response_body_like eval
['^\{"resourceType":"QuestionnaireResponse",',
 '^\{"resourceType":"QuestionnaireResponse",']
--- post_check
is(sql('SELECT count(*) FROM epro_submissions WHERE submission_id = ? '
       . "AND visit_name = 'T-VISIT'", sid(621 + $req_idx)), "1\n",
   "request $req_idx stored with the location's values");
--- no_error_log
exited on signal
[error]
[alert]



=== TEST 63: a "limit_except" block inside the location: the methods it limits run the location's handler too (as proxy_pass does)
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;

        # POST is not GET: it runs in this block's configuration
        limit_except GET {
            allow 127.0.0.1;
            deny all;
        }
    }
--- request eval
Epro::subst(tpost($::MIN_OK, id => 631))
--- more_headers
Content-Type: application/fhir+json
--- error_code: 201
--- response_body_like: ^\{"resourceType":"QuestionnaireResponse",
--- sql
SELECT count(*) FROM epro_submissions
WHERE submission_id = '@ID631@' AND visit_name = 'T-VISIT'
--- sql_result
1
--- no_error_log
[error]
[alert]



=== TEST 64: a prefix location keeps its FHIR base in an "if" or "limit_except" block: the Location is [base]/QuestionnaireResponse/<id>, a URI below the base that is no FHIR interaction is 404
--- config
    location /fb/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;

        if ($http_x_debug) {
            set $debug 1;
        }

        limit_except GET {
            allow 127.0.0.1;
            deny all;
        }
    }
--- request eval
[Epro::subst(tpost($::MIN_OK, id => 641)) =~ s{^POST /t/}{POST /fb/}r,
 Epro::subst(tpost($::MIN_OK, id => 642)) =~ s{^POST /t/QuestionnaireResponse}{POST /fb/Patient}r,
 "GET /fb/Patient/1"]
--- more_headers eval
["Content-Type: application/fhir+json\nX-Debug: 1\nPrefer: return=minimal",
 "Content-Type: application/fhir+json\nX-Debug: 1",
 "X-Debug: 1"]
--- error_code eval
[201, 404, 404]
--- response_headers_like eval
["Location: ^http://localhost(?::\\d+)?/fb/QuestionnaireResponse/[0-9a-f-]{36}/_history/1\$",
 "",
 ""]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID642@'
--- sql_result
0
--- no_error_log
[error]
[alert]



=== TEST 65: enableWhen in a repeating group reads the same repetition (g3 needs g1 > 5 in its own g)
--- request eval
tpost("$::B_TRUE,"
      . '{"linkId":"g","item":[' . A('g1', '"valueInteger":1') . ']},'
      . '{"linkId":"g","item":[' . A('g1', '"valueInteger":9') . ','
      . A('g3', '"valueString":"x"') . ']}')
--- error_code: 201
--- sql
SELECT answers -> 'g.g1', answers -> 'g.g3' FROM epro_submissions
WHERE submission_id = '@ID1@'
--- sql_result
[1, 9]|["x"]



=== TEST 66: enableWhen in a repeating group: g3 answered in the repetition whose g1 is 1 is disabled, whatever another g holds
--- request eval
tpost("$::B_TRUE,"
      . '{"linkId":"g","item":[' . A('g1', '"valueInteger":9') . ']},'
      . '{"linkId":"g","item":[' . A('g1', '"valueInteger":1') . ','
      . A('g3', '"valueString":"x"') . ']}')
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].item[1] business-rule



=== TEST 67: an answer Coding matches an option on system and code: a system the option lacks is not that option
--- request eval
tpost("$::MIN_OK,"
      . A('oc', '"valueCoding":{"system":"http://s","code":"k"}'))
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0].valueCoding code-invalid



=== TEST 68: an answer without value[x] (R4 0..1), holding nested items, is stored
--- request eval
tpost("$::MIN_OK,"
      . '{"linkId":"nq","answer":[{"item":['
      . A('why', '"valueString":"x"') . ']}]}')
--- error_code: 201
--- sql
SELECT answers FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
{"b": true, "g.g1": [1], "nq.why": "x"}



=== TEST 69: an answer without the nested item its question requires (status completed) is a 422 naming the answer
--- request eval
tpost("$::MIN_OK," . '{"linkId":"nq","answer":[{"valueString":"no"}]}')
--- error_code: 422
--- fhir_issues
QuestionnaireResponse.item[2].answer[0] required



=== TEST 70: FHIR JSON's "_x" beside a primitive (status, linkId, value[x], meta.profile as a list) is accepted and stored as sent
--- request eval
tpost("$::MIN_OK,"
      . '{"linkId":"s","_linkId":{"id":"l1"},"answer":[{"valueString":"x",'
      . '"_valueString":{"extension":[{"url":"http://e","valueCode":"c"}]}}]}',
      extra => '"_status":{"id":"s1"},"meta":{"profile":["http://p","http://q"],'
               . '"_profile":[null,{"id":"p2"}]}')
--- error_code: 201
--- sql
SELECT answers -> 's', payload::jsonb -> '_status' ->> 'id',
       payload::jsonb -> 'item' -> 2 -> 'answer' -> 0 -> '_valueString' -> 'extension' -> 0 ->> 'valueCode'
FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
"x"|s1|c



=== TEST 71: "_x" beside no primitive, of the wrong shape, or a list's of the wrong length: 400 naming each
--- request eval
tpost("$::MIN_OK,"
      . '{"linkId":"s","answer":[{"valueString":"x","_valueString":{"url":"u"}}]}',
      extra => '"_subject":{"id":"x"},"meta":{"profile":["http://p"],"_profile":[null,null]}')
--- error_code: 400
--- fhir_issues
QuestionnaireResponse._subject structure
QuestionnaireResponse.meta._profile structure
QuestionnaireResponse.item[2].answer[0]._valueString.url structure



=== TEST 72: the datatypes inside the resource are held to R4: an Identifier's period, a Reference's identifier, a Coding's userSelected, a required binding
--- request eval
tpost("$::MIN_OK,"
      . A('c', '"valueCoding":{"system":"http://s","code":"a","userSelected":"yes"}'),
      extra => '"author":{"identifier":{"use":"primary","period":{"start":"2026-13-01"}}},'
               . '"text":{"status":"generated"}')
--- error_code: 400
--- fhir_issues
QuestionnaireResponse.author.identifier.use structure
QuestionnaireResponse.author.identifier.period.start structure
QuestionnaireResponse.text.div required
QuestionnaireResponse.item[2].answer[0].valueCoding.userSelected structure



=== TEST 73: "_id" and meta's "_versionId" go with the client's id and versionId: the representation has the server's, without them
--- request eval
tpost($::MIN_OK, extra => '"id":"mine","_id":{"id":"i"},"meta":{"versionId":"9","_versionId":{"id":"v"},"_source":{"id":"s"}}')
--- error_code: 201
--- response_body_like chomp
^\{"resourceType":"QuestionnaireResponse","id":"@IDN@","meta":\{"_source":\{"id":"s"\},"versionId":"1","lastUpdated":"[^"]+"\},"identifier"
--- response_body_unlike chomp
"_id"|"_versionId"
