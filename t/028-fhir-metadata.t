# FHIR server endpoints (issue 12): GET [base]/metadata answers the
# location's CapabilityStatement, made from its configuration (the
# Questionnaires it checks against listed as canonicals); other methods
# 405, a client that takes no JSON 406; a URI below a prefix location's
# base that is none of its routes 404; GET of the base or the type 405
# (no search).
#
# /fhir/ has the shipped conf/fhir/ (EQ-5D-5L, GAD-7, PHQ-9), /plain/
# no Questionnaires, /no-ims/ none and if_modified_since off, /bound/ an
# epro_bind whose variable is empty unless X-User is sent.
#
# "--- cs": the body is strict JSON, a CapabilityStatement, and each line
# "POINTER JSON" holds there: POINTER a path of member names and array
# indexes ("/rest/0/mode"), JSON the value, compared deeply.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use Epro qw(:DEFAULT fhir_env);

use JSON::PP ();

fhir_env();

$Epro::DefaultConfig = <<'EOF';
    location /fhir/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_SHIPPED;
    }

    location /plain/ {
        epro_submit fhir;
        epro_study S;
        epro_visit V;
    }

    location /bound/ {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_SHIPPED;
        epro_bind subjectId $http_x_user;
    }

    location /no-ims/ {
        if_modified_since off;
        epro_submit fhir;
        epro_study S;
        epro_visit V;
    }

    location = /exact/QuestionnaireResponse {
        epro_submit fhir;
        epro_study S;
        epro_visit V;
    }
EOF

sub pointer {
    my ($j, $path) = @_;

    for my $k (grep { length } split m{/}, $path) {
        return undef if !ref $j;
        $j = ref $j eq 'ARRAY' ? $j->[$k] : $j->{$k};
    }

    return $j;
}

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;

    return if $dry_run || !defined $block->cs;

    my $name = $block->name;
    my $json = JSON::PP->new->utf8->canonical;
    my $j = eval { $json->decode($body) };

    if (!ok(ref $j eq 'HASH'
            && ($j->{resourceType} // '') eq 'CapabilityStatement',
            "$name - a CapabilityStatement in strict JSON"))
    {
        diag("body: $body");
        return;
    }

    for my $line (grep { /\S/ } split /\n/, $block->cs) {
        my ($path, $want) = $line =~ /^\s*(\S+)\s+(.*?)\s*$/;
        my $got = pointer($j, $path);

        is_deeply($got, JSON::PP->new->allow_nonref->decode($want),
                  "$name - $path")
            or diag("got: " . $json->allow_nonref->encode($got));
    }
});

# metadata reads no body and touches no database: not even a warning
# (Epro.pm's default --- no_error_log is [error] and [alert])
no_error_log_default("[warn]\n[error]\n[alert]");
no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET [base]/metadata: an R4 CapabilityStatement of the location
--- request
GET /fhir/metadata
--- error_code: 200
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- cs
/status "active"
/kind "instance"
/fhirVersion "4.0.1"
/format ["json","application/fhir+json"]
/software/name "ngx_http_epro_module"
/rest/0/mode "server"
/rest/0/interaction [{"code":"transaction"},{"code":"batch"}]
/rest/0/resource/0/type "QuestionnaireResponse"
/rest/0/resource/0/interaction [{"code":"create"},{"code":"read"},{"code":"vread"}]
/rest/0/resource/0/conditionalCreate true
/rest/0/resource/0/conditionalRead "full-support"
/rest/0/resource/0/versioning "versioned"
/rest/0/resource/0/readHistory false
/rest/0/resource/0/updateCreate false
/rest/0/resource/1 null
/rest/1 null



=== TEST 2: the Questionnaires loaded for the location, as canonicals
--- request
GET /fhir/metadata
--- error_code: 200
--- cs
/rest/0/resource/0/extension [{"url":"urn:ngx-http-epro:StructureDefinition:questionnaire","valueCanonical":"https://euroqol.org/fhir/Questionnaire/eq-5d-5l|1.0"},{"url":"urn:ngx-http-epro:StructureDefinition:questionnaire","valueCanonical":"http://loinc.org/q/69737-5|2.74"},{"url":"urn:ngx-http-epro:StructureDefinition:questionnaire","valueCanonical":"http://loinc.org/q/44249-1|2.74"}]
/rest/0/resource/0/documentation "Responses are checked against these Questionnaires: `https://euroqol.org/fhir/Questionnaire/eq-5d-5l|1.0`, `http://loinc.org/q/69737-5|2.74`, `http://loinc.org/q/44249-1|2.74`."



=== TEST 3: implementation.url is the base, absolute as nginx makes a Location
--- request
GET /fhir/metadata
--- more_headers
Host: fhir.example
--- error_code: 200
--- response_body_like chomp
"implementation":\{"description":"[^"]+","url":"http://fhir\.example:\d+/fhir"\}



=== TEST 4: a date and an implementation description, as R4 requires
--- request
GET /fhir/metadata
--- error_code: 200
--- response_body_like chomp
^\{"resourceType":"CapabilityStatement","status":"active","date":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z","kind":"instance",.*"implementation":\{"description":"[^"]+","url":"http://[^"]+/fhir"\},"fhirVersion":"4\.0\.1",.*\}\n$



=== TEST 5: a location without Questionnaires lists none
--- request
GET /plain/metadata
--- error_code: 200
--- cs
/rest/0/resource/0/extension null
/rest/0/resource/0/documentation "Responses are taken without a Questionnaire check."
/rest/0/resource/0/conditionalCreate true
/rest/0/resource/0/conditionalRead "full-support"



=== TEST 6: HEAD: the headers of a GET, no body
--- request
HEAD /fhir/metadata
--- error_code: 200
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- response_body



=== TEST 7: POST [base]/metadata: 405 OperationOutcome, Allow: GET, HEAD
--- request
POST /fhir/metadata
{}
--- more_headers
Content-Type: application/fhir+json
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/fhir+json; charset=utf-8
--- response_body_like chomp
^\{"resourceType":"OperationOutcome","issue":\[\{"severity":"error","code":"not-supported","diagnostics":"the CapabilityStatement is read with GET"\}\]\}



=== TEST 8: DELETE [base]/metadata: 405 too
--- request
DELETE /fhir/metadata
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 9: epro_bind with its variable empty: metadata is routed before the bind
--- request
GET /bound/metadata
--- error_code: 200
--- cs
/fhirVersion "4.0.1"



=== TEST 10: the same location's creates are still bound: 403 at once
--- request
GET /bound/QuestionnaireResponse
--- error_code: 403



=== TEST 11: Accept: application/fhir+json, with parameters
--- request
GET /fhir/metadata
--- more_headers
Accept: application/fhir+json; fhirVersion=4.0; q=1
--- error_code: 200
--- cs
/fhirVersion "4.0.1"



=== TEST 12: a browser's Accept, */* among XML: JSON
--- request
GET /fhir/metadata
--- more_headers
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8
--- error_code: 200
--- cs
/kind "instance"



=== TEST 13: Accept with XML only: 406 OperationOutcome
--- request
GET /fhir/metadata
--- more_headers
Accept: application/fhir+xml
--- error_code: 406
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- response_body_like chomp
"code":"not-supported","diagnostics":"this server answers in FHIR JSON only



=== TEST 14: ?_format=json wins over an XML Accept
--- request
GET /fhir/metadata?_format=json
--- more_headers
Accept: application/fhir+xml
--- error_code: 200
--- cs
/fhirVersion "4.0.1"



=== TEST 15: ?_format=application/fhir%2Bjson
--- request
GET /fhir/metadata?_format=application/fhir%2Bjson
--- error_code: 200
--- cs
/fhirVersion "4.0.1"



=== TEST 16: ?_format=xml: 406
--- request
GET /fhir/metadata?_format=xml
--- error_code: 406



=== TEST 17: GET [base]/Patient: 404 OperationOutcome (one resource type)
--- request
GET /fhir/Patient
--- error_code: 404
--- response_headers
Content-Type: application/fhir+json; charset=utf-8
--- response_body_like chomp
^\{"resourceType":"OperationOutcome","issue":\[\{"severity":"error","code":"not-found",



=== TEST 18: POST [base]/Patient: 404, nothing read
--- request
POST /fhir/Patient
{"resourceType":"Patient"}
--- more_headers
Content-Type: application/fhir+json
--- error_code: 404
--- response_body_like chomp
"code":"not-found"



=== TEST 19: a metadata below another path of the base: 404
--- request
GET /fhir/Patient/metadata
--- error_code: 404



=== TEST 20: GET of the base: 405 with Allow: POST (Bundles are posted there; no search)
--- request
GET /fhir/
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/fhir+json; charset=utf-8



=== TEST 21: GET [base]/QuestionnaireResponse (a search): 405 with Allow: POST
--- request
GET /fhir/QuestionnaireResponse
--- error_code: 405
--- response_headers
Allow: POST



=== TEST 22: a create on [base]/QuestionnaireResponse still reaches the check (422 here: no Questionnaire named)
--- request
POST /plain/QuestionnaireResponse
{"resourceType":"QuestionnaireResponse","status":"completed"}
--- more_headers
Content-Type: application/fhir+json
--- error_code: 422
--- response_body_like chomp
"resourceType":"OperationOutcome"



=== TEST 23: an exact location takes its own URI as a create, as before
--- request
GET /exact/QuestionnaireResponse
--- error_code: 405
--- response_headers
Allow: POST



=== TEST 24: If-None-Match: * is not a 304: the CapabilityStatement has no validator to match
--- request
GET /fhir/metadata
--- more_headers
If-None-Match: *
--- error_code: 200
--- cs
/kind "instance"



=== TEST 25: if_modified_since off: reads answer If-None-Match only (conditionalRead not-match)
--- request
GET /no-ims/metadata
--- error_code: 200
--- cs
/rest/0/resource/0/conditionalRead "not-match"
/rest/0/resource/0/conditionalCreate true
