# The submission contract: every rule gives 422 with the member's JSON
# Pointer, all violations at once (at most 20), nothing stored; the edges
# that are valid are stored as the README says.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;
use EproCheck;

# n members {"x01":1,...}
sub Test::Base::Filter::members {
    my ($n) = @_;
    return '{' . CORE::join(',', map { sprintf '"x%02d":1', $_ } 1 .. $n) . '}';
}

# an answers object of n items
sub Test::Base::Filter::items {
    my ($n) = @_;
    return '{' . CORE::join(',', map { qq{"i$_":$_} } 1 .. $n) . '}';
}

no_error_log_default("[warn]\n[error]\n[alert]");
no_shuffle();
run_tests();

__DATA__

=== TEST 1: studyId missing
--- raw_request eval
post(sub_json(studyId => undef))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- response_body_like: "path":"/studyId","message":"is required"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 2: subjectId missing
--- raw_request eval
post(sub_json(subjectId => undef))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/subjectId"]
--- response_body_like: "path":"/subjectId","message":"is required"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 3: visitName missing
--- raw_request eval
post(sub_json(visitName => undef))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/visitName"]
--- response_body_like: "path":"/visitName","message":"is required"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 4: instrument missing
--- raw_request eval
post(sub_json(instrument => undef))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/instrument"]
--- response_body_like: "path":"/instrument","message":"is required"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 5: collectedAt missing
--- raw_request eval
post(sub_json(collectedAt => undef))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- response_body_like: "path":"/collectedAt","message":"is required"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 6: answers missing
--- raw_request eval
post(sub_json(answers => undef))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- response_body_like: "path":"/answers","message":"is required"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 7: an empty object: every required member is reported
--- raw_request eval
post('{}')
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId", "/subjectId", "/visitName", "/instrument", "/collectedAt", "/answers"]
--- error_count: 6
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 8: studyId a number
--- raw_request eval
post(sub_json(studyId => '1'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 9: studyId null
--- raw_request eval
post(sub_json(studyId => 'null'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 10: subjectId true
--- raw_request eval
post(sub_json(subjectId => 'true'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/subjectId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 11: visitName an array
--- raw_request eval
post(sub_json(visitName => '["W1"]'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/visitName"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 12: instrument an object
--- raw_request eval
post(sub_json(instrument => '{}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/instrument"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 13: siteId a number
--- raw_request eval
post(sub_json(siteId => '5'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/siteId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 14: submissionId a number
--- raw_request eval
post(sub_json(submissionId => '123'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 15: submissionId null
--- raw_request eval
post(sub_json(submissionId => 'null'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 16: collectedAt true
--- raw_request eval
post(sub_json(collectedAt => 'true'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 17: collectedAt null
--- raw_request eval
post(sub_json(collectedAt => 'null'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 18: answers a string
--- raw_request eval
post(sub_json(answers => '"q1=1"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 19: answers an array
--- raw_request eval
post(sub_json(answers => '[{"q1":1}]'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 20: answers null
--- raw_request eval
post(sub_json(answers => 'null'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 21: studyId of 65 characters
--- raw_request eval
post(sub_json(studyId => '"' . ('s' x 65) . '"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 22: studyId empty
--- raw_request eval
post(sub_json(studyId => '""'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 23: siteId, subjectId, visitName, instrument of 65 characters
--- raw_request eval
post(sub_json(map { $_ => '"' . ('v' x 65) . '"' } qw(siteId subjectId visitName instrument)))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/siteId", "/subjectId", "/visitName", "/instrument"]
--- error_count: 4
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 24: studyId of 65 two-byte characters
--- raw_request eval
post(sub_json(studyId => '"' . ("\xc3\xa9" x 65) . '"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 25: studyId of 65 characters written as \u escapes
--- raw_request eval
post(sub_json(studyId => '"' . ('\\u00e9' x 65) . '"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 26: studyId of 64 characters is accepted
--- raw_request eval
post(sub_json(submissionId => '"@ID1@"', studyId => '"' . ('s' x 64) . '"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID1@"]}
--- sql
SELECT char_length(study_id) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
64
--- no_error_log
[error]
[alert]



=== TEST 27: studyId of 64 two-byte and subjectId of 64 four-byte characters are accepted
--- raw_request eval
post(sub_json(submissionId => '"@ID2@"', studyId => '"' . ("\xc3\xa9" x 64) . '"', subjectId => '"' . ("\xf0\x9f\x98\x80" x 64) . '"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID2@"]}
--- sql
SELECT char_length(study_id), octet_length(study_id), study_id = repeat(chr(233), 64), char_length(subject_id), octet_length(subject_id) FROM epro_submissions WHERE submission_id = '@ID2@'
--- sql_result
64|128|1|64|256
--- no_error_log
[error]
[alert]



=== TEST 28: 64 characters written as \u escapes are 64 characters
--- raw_request eval
post(sub_json(submissionId => '"@ID3@"', visitName => '"' . ('\\u00e9' x 64) . '"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID3@"]}
--- sql
SELECT visit_name = repeat(chr(233), 64) FROM epro_submissions WHERE submission_id = '@ID3@'
--- sql_result
1
--- no_error_log
[error]
[alert]



=== TEST 29: submissionId not a UUID
--- raw_request eval
post(sub_json(submissionId => '"not-a-uuid"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 30: submissionId without dashes
--- raw_request eval
my $u = sid(1); $u =~ s/-//g; post(sub_json(submissionId => qq{"$u"}))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 31: submissionId in braces
--- raw_request eval
post(sub_json(submissionId => '"{@ID1@}"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 32: submissionId with a non-hex digit
--- raw_request eval
my $u = sid(1); $u =~ s/^./g/; post(sub_json(submissionId => qq{"$u"}))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 33: submissionId with a dash misplaced
--- raw_request eval
my $u = sid(1); $u =~ s/^(\w{7})(\w)-/$1-$2/; post(sub_json(submissionId => qq{"$u"}))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 34: submissionId empty
--- raw_request eval
post(sub_json(submissionId => '""'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 35: an uppercase submissionId is answered and stored lowercase, the payload keeps it as sent
--- raw_request eval
post(sub_json(submissionId => '"@UID4@"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID4@"]}
--- sql
SELECT submission_id::text, payload LIKE '%@UID4@%' FROM epro_submissions WHERE submission_id = '@ID4@'
--- sql_result
@ID4@|1
--- no_error_log
[error]
[alert]



=== TEST 36: the same submissionId twice in one array
--- raw_request eval
post(arr(sub_json(submissionId => '"@ID5@"'), sub_json(submissionId => '"@ID5@"')))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/1/submissionId"]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID5@'
--- sql_result
0
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 37: the same submissionId in two cases in one array
--- raw_request eval
post(arr(sub_json(submissionId => '"@ID6@"'), sub_json(submissionId => '"@UID6@"')))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/1/submissionId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 38: siteId is optional: NULL in the table
--- raw_request eval
post(sub_json(submissionId => '"@ID7@"', siteId => undef))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID7@"]}
--- sql
SELECT site_id IS NULL FROM epro_submissions WHERE submission_id = '@ID7@'
--- sql_result
1
--- no_error_log
[error]
[alert]



=== TEST 39: collectedAt 2026-01-31T08:00:00Z (Z)
--- raw_request eval
post(sub_json(submissionId => '"@ID8@"', collectedAt => '"2026-01-31T08:00:00Z"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID8@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID8@'
--- sql_result
2026-01-31 08:00:00+00
--- no_error_log
[error]
[alert]



=== TEST 40: collectedAt 2026-01-31T08:00:00+01:00 (+01:00)
--- raw_request eval
post(sub_json(submissionId => '"@ID9@"', collectedAt => '"2026-01-31T08:00:00+01:00"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID9@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID9@'
--- sql_result
2026-01-31 07:00:00+00
--- no_error_log
[error]
[alert]



=== TEST 41: collectedAt 2026-01-31T08:00:00-05:30 (-05:30)
--- raw_request eval
post(sub_json(submissionId => '"@ID10@"', collectedAt => '"2026-01-31T08:00:00-05:30"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID10@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID10@'
--- sql_result
2026-01-31 13:30:00+00
--- no_error_log
[error]
[alert]



=== TEST 42: collectedAt 2026-01-31T08:00:00.123456Z (fractional seconds)
--- raw_request eval
post(sub_json(submissionId => '"@ID11@"', collectedAt => '"2026-01-31T08:00:00.123456Z"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID11@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID11@'
--- sql_result
2026-01-31 08:00:00.123456+00
--- no_error_log
[error]
[alert]



=== TEST 43: collectedAt 2026-01-31T08:00:00.123456789+00:00 (9 fractional digits)
--- raw_request eval
post(sub_json(submissionId => '"@ID12@"', collectedAt => '"2026-01-31T08:00:00.123456789+00:00"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID12@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID12@'
--- sql_result
2026-01-31 08:00:00.123457+00
--- no_error_log
[error]
[alert]



=== TEST 44: collectedAt 2026-01-31t08:00:00z (lowercase t and z)
--- raw_request eval
post(sub_json(submissionId => '"@ID13@"', collectedAt => '"2026-01-31t08:00:00z"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID13@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID13@'
--- sql_result
2026-01-31 08:00:00+00
--- no_error_log
[error]
[alert]



=== TEST 45: collectedAt 2026-01-31T08:00:00+15:59 (offset +15:59)
--- raw_request eval
post(sub_json(submissionId => '"@ID14@"', collectedAt => '"2026-01-31T08:00:00+15:59"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID14@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID14@'
--- sql_result
2026-01-30 16:01:00+00
--- no_error_log
[error]
[alert]



=== TEST 46: collectedAt 2024-02-29T12:00:00Z (29 February of a leap year)
--- raw_request eval
post(sub_json(submissionId => '"@ID15@"', collectedAt => '"2024-02-29T12:00:00Z"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID15@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID15@'
--- sql_result
2024-02-29 12:00:00+00
--- no_error_log
[error]
[alert]



=== TEST 47: collectedAt integer Unix seconds 1700000000
--- raw_request eval
post(sub_json(submissionId => '"@ID16@"', collectedAt => '1700000000'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID16@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID16@'
--- sql_result
2023-11-14 22:13:20+00
--- no_error_log
[error]
[alert]



=== TEST 48: collectedAt integer Unix seconds 0
--- raw_request eval
post(sub_json(submissionId => '"@ID17@"', collectedAt => '0'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID17@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID17@'
--- sql_result
1970-01-01 00:00:00+00
--- no_error_log
[error]
[alert]



=== TEST 49: collectedAt integer Unix seconds 253402300799
--- config
    location = /s {
        epro_clock_skew off;
        epro_submit;
    }
--- raw_request eval
post(sub_json(submissionId => '"@ID18@"', collectedAt => '253402300799'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID18@"]}
--- sql
SELECT collected_at::text FROM epro_submissions WHERE submission_id = '@ID18@'
--- sql_result
9999-12-31 23:59:59+00
--- no_error_log
[error]
[alert]



=== TEST 50: collectedAt -5 (negative seconds)
--- raw_request eval
post(sub_json(collectedAt => '-5'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 51: collectedAt 1.5 (fractional seconds)
--- raw_request eval
post(sub_json(collectedAt => '1.5'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 52: collectedAt 253402300800 (seconds after year 9999)
--- raw_request eval
post(sub_json(collectedAt => '253402300800'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 53: collectedAt "2026-13-01T00:00:00Z" (month 13)
--- raw_request eval
post(sub_json(collectedAt => '"2026-13-01T00:00:00Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 54: collectedAt "2026-01-31T08:00:00" (no offset)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T08:00:00"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 55: collectedAt "2026-01-31T08:00:00+16:00" (offset +16:00)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T08:00:00+16:00"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 56: collectedAt "2026-02-29T08:00:00Z" (29 February of 2026)
--- raw_request eval
post(sub_json(collectedAt => '"2026-02-29T08:00:00Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 57: collectedAt "2026-04-31T08:00:00Z" (31 April)
--- raw_request eval
post(sub_json(collectedAt => '"2026-04-31T08:00:00Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 58: collectedAt "2026-01-31T24:00:00Z" (hour 24)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T24:00:00Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 59: collectedAt "2026-01-31" (a date only)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 60: collectedAt "2026-01-31T08:00Z" (no seconds)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T08:00Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 61: collectedAt "2026-01-31T08:00:00.Z" (an empty fraction)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T08:00:00.Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 62: collectedAt "2026-01-31T08:00:00.1234567890Z" (10 fractional digits)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T08:00:00.1234567890Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 63: collectedAt "2026-01-31T08:00:00+0100" (offset without colon)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T08:00:00+0100"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 64: collectedAt "0000-01-01T00:00:00Z" (year 0)
--- raw_request eval
post(sub_json(collectedAt => '"0000-01-01T00:00:00Z"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 65: collectedAt "2026-01-31T08:00:00ZZ" (bytes after the offset)
--- raw_request eval
post(sub_json(collectedAt => '"2026-01-31T08:00:00ZZ"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 66: collectedAt "" (empty)
--- raw_request eval
post(sub_json(collectedAt => '""'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 67: collectedAt "1700000000" (Unix seconds in a string)
--- raw_request eval
post(sub_json(collectedAt => '"1700000000"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/collectedAt"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 68: answers empty
--- raw_request eval
post(sub_json(answers => '{}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 69: answers with 1001 items
--- raw_request eval
post(sub_json(answers => items(1001)))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 70: answers with 1000 items is accepted
--- raw_request eval
post(sub_json(submissionId => '"@ID19@"', answers => items(1000)))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID19@"]}
--- sql
SELECT count(*) FROM epro_submissions, jsonb_object_keys(answers) WHERE submission_id = '@ID19@'
--- sql_result
1000
--- no_error_log
[error]
[alert]



=== TEST 71: a duplicate item id
--- raw_request eval
post(sub_json(answers => '{"q1":1,"q2":2,"q1":3}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- response_body_like: "path":"/answers/q1","message":"duplicate item"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 72: a nested object as a value
--- raw_request eval
post(q1('{"a":1}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 73: an array containing an object
--- raw_request eval
post(q1('[1,{"a":1}]'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 74: an array containing an array
--- raw_request eval
post(q1('[1,[2]]'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 75: a string of 4097 characters
--- raw_request eval
post(q1('"' . ('x' x 4097) . '"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 76: a string of 4097 characters inside an array
--- raw_request eval
post(q1('[1,"' . ('x' x 4097) . '"]'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 77: strings of 4096 characters (and 4096 two-byte characters) are accepted
--- raw_request eval
post(sub_json(submissionId => '"@ID20@"', answers => '{"a":"' . ('x' x 4096) . '","b":["' . ("\xc3\xa9" x 4096) . '"]}'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID20@"]}
--- sql
SELECT char_length(answers->>'a'), char_length(answers->'b'->>0) FROM epro_submissions WHERE submission_id = '@ID20@'
--- sql_result
4096|4096
--- no_error_log
[error]
[alert]



=== TEST 78: every kind of answer value
--- raw_request eval
post(sub_json(submissionId => '"@ID21@"', answers => '{"n":-1.5,"s":"x","t":true,"f":false,"z":null,"a":[1,"y",false,null],"e":[]}'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID21@"]}
--- sql
SELECT answers::text FROM epro_submissions WHERE submission_id = '@ID21@'
--- sql_result
{"a": [1, "y", false, null], "e": [], "f": false, "n": -1.5, "s": "x", "t": true, "z": null}
--- no_error_log
[error]
[alert]



=== TEST 79: an item id of 65 characters
--- raw_request eval
post(sub_json(answers => '{"' . ('i' x 65) . '":1}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 80: an item id of 64 characters is accepted
--- raw_request eval
post(sub_json(submissionId => '"@ID22@"', answers => '{"' . ('i' x 64) . '":1}'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID22@"]}
--- sql
SELECT answers -> repeat('i', 64) = '1'::jsonb FROM epro_submissions WHERE submission_id = '@ID22@'
--- sql_result
1
--- no_error_log
[error]
[alert]



=== TEST 81: an empty item id
--- raw_request eval
post(sub_json(answers => '{"":1}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 82: an unknown member (studyID, a typo) is named, and studyId is missing
--- raw_request eval
my $b = sub_json(); $b =~ s/"studyId"/"studyID"/; post($b)
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyID", "/studyId"]
--- response_body_like: "path":"/studyID","message":"unknown member"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 83: an extra member
--- raw_request eval
post(sub_json(extra => '1'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/extra"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 84: an unknown member named with "/" and "~"
--- raw_request eval
post(sub_json('a/b~c' => '1'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/a~1b~0c"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 85: a duplicate member
--- raw_request eval
post(sub_json(studyId => '"S1","studyId":"S2"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- response_body_like: "path":"/studyId","message":"duplicate member"
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 86: a duplicate member spelled with an escape (stud\u0079Id)
--- raw_request eval
post(sub_json(studyId => '"S1","stud\\u0079Id":"S2"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 87: a duplicate item id spelled with an escape (q1 and q\u0031)
--- raw_request eval
post(sub_json(answers => '{"q1":1,"q\\u0031":2}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 88: an unknown member with a quote and a control character in its name
--- raw_request eval
post(sub_json('a\\"b\\u0001' => '1'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/a\"b\u0001"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 89: array body: the second element invalid, nothing of the first stored
--- raw_request eval
post(arr(sub_json(submissionId => '"@ID23@"'), sub_json(submissionId => '"@ID24@"', studyId => undef)))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/1/studyId"]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID23@', '@ID24@')
--- sql_result
0
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 90: array body: errors in several elements are all reported
--- raw_request eval
post(arr(sub_json(studyId => '1'), sub_json(submissionId => '"@ID25@"'), sub_json(submissionId => '"@ID26@"', answers => '{}')))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/0/studyId", "/2/answers"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 91: array body: an element that is not an object
--- raw_request eval
post(arr(sub_json(submissionId => '"@ID27@"'), '[]'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 92: an empty array
--- raw_request eval
post('[]')
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 93: a number as the body
--- raw_request eval
post('1')
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 94: a string as the body
--- raw_request eval
post('"x"')
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 95: null as the body
--- raw_request eval
post('null')
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 96: 101 submissions with the default epro_max_submissions 100
--- config
    location = /s { client_body_buffer_size 64k; epro_submit; }
--- raw_request eval
post(arr(map { sub_json(submissionId => undef) } 1 .. 101))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 97: several errors are reported at once
--- raw_request eval
post(sub_json(submissionId => '"nope"', studyId => undef, collectedAt => '"yesterday"', answers => '{}', siteId => '""'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/submissionId", "/studyId", "/collectedAt", "/answers", "/siteId"]
--- error_count: 5
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 98: exactly 20 errors: not truncated
--- raw_request eval
post(members(14))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/x01", "/x02", "/x03", "/x04", "/x05", "/x06", "/x07", "/x08", "/x09", "/x10", "/x11", "/x12", "/x13", "/x14", "/studyId", "/subjectId", "/visitName", "/instrument", "/collectedAt", "/answers"]
--- error_count: 20
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 99: 21 errors: 20 reported and "truncated":true
--- raw_request eval
post(members(15))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/x01", "/x02", "/x03", "/x04", "/x05", "/x06", "/x07", "/x08", "/x09", "/x10", "/x11", "/x12", "/x13", "/x14", "/x15", "/studyId", "/subjectId", "/visitName", "/instrument", "/collectedAt"]
--- error_count: 20
--- truncated: 1
--- response_body_like: ,"truncated":true\}
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 100: 31 errors: the first 20 reported and "truncated":true
--- raw_request eval
post(members(25))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/x01", "/x02", "/x03", "/x04", "/x05", "/x06", "/x07", "/x08", "/x09", "/x10", "/x11", "/x12", "/x13", "/x14", "/x15", "/x16", "/x17", "/x18", "/x19", "/x20"]
--- error_count: 20
--- truncated: 1
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 101: more than 20 errors across an array: 20 reported and "truncated":true
--- raw_request eval
post(arr(map { sub_json(submissionId => undef, studyId => '1', subjectId => '2', visitName => '3') } 1 .. 8))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/0/studyId", "/0/subjectId", "/0/visitName", "/1/studyId", "/1/subjectId", "/1/visitName", "/2/studyId", "/2/subjectId", "/2/visitName", "/3/studyId", "/3/subjectId", "/3/visitName", "/4/studyId", "/4/subjectId", "/4/visitName", "/5/studyId", "/5/subjectId", "/5/visitName", "/6/studyId", "/6/subjectId"]
--- error_count: 20
--- truncated: 1
--- error_log eval
qr/\[info\] .*epro: invalid submission/
