# The happy path: objects and arrays committed, ids, duplicates, rows.
# Every block gets "--- no_error_log" [error] [alert] from t/lib/Epro.pm
# unless it names its own.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: one submission is committed and answered 201
--- request
POST /s
{"submissionId":"0b8d5d3e-1a2b-4c3d-8e4f-000000000001","studyId":"S1","siteId":"A","subjectId":"P1","visitName":"W1","instrument":"PHQ-9","collectedAt":"2026-11-20T08:00:00+01:00","answers":{"q1":1,"q2":[0,1],"q3":"x","q4":true,"q5":null}}
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["0b8d5d3e-1a2b-4c3d-8e4f-000000000001"]}
--- sql
SELECT study_id, site_id, subject_id, visit_name, instrument, collected_at = '2026-11-20T07:00:00Z', answers::text, received_at > now() - interval '1 minute' FROM epro_submissions WHERE submission_id = '0b8d5d3e-1a2b-4c3d-8e4f-000000000001'
--- sql_result
S1|A|P1|W1|PHQ-9|1|{"q1": 1, "q2": [0, 1], "q3": "x", "q4": true, "q5": null}|1



=== TEST 2: a diary of 200 answers: stored whole, answers and payload compressed with lz4 (sql/schema.sql)
--- request eval
"POST /s\n" . '{"submissionId":"0b8d5d3e-1a2b-4c3d-8e4f-000000000002","studyId":"S1","siteId":"A","subjectId":"P1","visitName":"W1","instrument":"DIARY-200","collectedAt":"2026-11-20T08:00:00+01:00","answers":{'
. CORE::join(',', map { $_ % 2 ? "\"D$_\":" . ($_ % 11) : "\"D$_\":\"a few words of free text, $_\"" } 1 .. 200) . '}}'
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["0b8d5d3e-1a2b-4c3d-8e4f-000000000002"]}
--- sql
SELECT (SELECT count(*) FROM jsonb_object_keys(answers)), length(payload) > 2000, pg_column_compression(answers), pg_column_compression(payload) FROM epro_submissions WHERE submission_id = '0b8d5d3e-1a2b-4c3d-8e4f-000000000002'
--- sql_result
200|1|lz4|lz4
