# HTTP: methods, media types, empty and oversized bodies, the shape of the
# 201 and of the application/problem+json answers.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;
use EproCheck;
use Digest::MD5 ();

# TEST 24's mirror stores here
db()->do('CREATE TABLE IF NOT EXISTS t_003_mirror '
         . '(LIKE epro_submissions INCLUDING ALL)');

no_error_log_default("[warn]\n[error]\n[alert]");
no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET is 405 with Allow: POST and a problem+json body
--- request
GET /s
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:method-not-allowed","title":"Method Not Allowed","status":405,"detail":"[^"]+"\}$
--- error_paths
[]



=== TEST 2: PUT with a JSON body is 405
--- more_headers
Content-Type: application/json
--- request eval
"PUT /s\n" . sub_json(submissionId => '"@ID1@"')
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/problem+json
--- response_body_like: "type":"urn:epro:problem:method-not-allowed"
--- error_paths
[]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
0



=== TEST 3: DELETE is 405
--- request
DELETE /s
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/problem+json
--- response_body_like: "type":"urn:epro:problem:method-not-allowed"
--- error_paths
[]



=== TEST 4: HEAD is 405 with Allow: POST and no body
--- request
HEAD /s
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/problem+json
--- response_body



=== TEST 5: no Content-Type is 415
--- raw_request eval
post(sub_json(submissionId => '"@ID2@"'), type => undef)
--- error_code: 415
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:unsupported-media-type","title":"Unsupported Media Type","status":415,"detail":"[^"]+"\}$
--- error_paths
[]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID2@'
--- sql_result
0



=== TEST 6: Content-Type text/plain is 415
--- more_headers
Content-Type: text/plain
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID3@"')
--- error_code: 415
--- response_headers
Content-Type: application/problem+json
--- response_body_like: "type":"urn:epro:problem:unsupported-media-type"
--- error_paths
[]



=== TEST 7: application/json; charset=latin1 is 415
--- more_headers
Content-Type: application/json; charset=latin1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID4@"')
--- error_code: 415
--- response_headers
Content-Type: application/problem+json
--- response_body_like: "type":"urn:epro:problem:unsupported-media-type"
--- error_paths
[]



=== TEST 8: application/jsonx is 415
--- more_headers
Content-Type: application/jsonx
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID5@"')
--- error_code: 415
--- response_headers
Content-Type: application/problem+json
--- error_paths
[]



=== TEST 9: application/json; charset=utf-8 is accepted
--- more_headers
Content-Type: application/json; charset=utf-8
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID6@"')
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID6@"]}
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID6@'
--- sql_result
1



=== TEST 10: Application/JSON;charset="UTF-8" is accepted
--- more_headers
Content-Type: Application/JSON;charset="UTF-8"
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID7@"')
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID7@"]}



=== TEST 11: an empty body (Content-Length: 0) is 400
--- raw_request eval
post('')
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:malformed-json","title":"Malformed JSON","status":400,"detail":"[^"]+","errors":\[\{"path":"","message":"[^"]+"\}\]\}$
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 12: a POST without a body or Content-Length is 400
--- request
POST /s
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]



=== TEST 13: a body over client_max_body_size is 413, problem+json, nothing stored
--- config
    location = /s {
        client_max_body_size 1k;
        epro_submit;
    }
--- raw_request eval
post(sub_json(submissionId => '"@ID8@"', answers => '{"q1":"' . ('x' x 2048) . '"}'))
--- error_code: 413
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:http-413","title":"Payload Too Large","status":413,"detail":"[^"]+"\}$
--- error_paths
[]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID8@'
--- sql_result
0
--- error_log
client intended to send too large body
--- no_error_log
[alert]



=== TEST 14: a chunked body over client_max_body_size is 413 too
--- config
    location = /s {
        client_max_body_size 1k;
        epro_submit;
    }
--- raw_request eval
my $b = sub_json(submissionId => '"@ID9@"', answers => '{"q1":"' . ('x' x 2048) . '"}');
"POST /s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
. sprintf('%x', length $b) . "\r\n$b\r\n0\r\n\r\n"
--- error_code: 413
--- response_headers
Content-Type: application/problem+json
--- response_body_like: "type":"urn:epro:problem:http-413"
--- error_paths
[]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID9@'
--- sql_result
0
--- no_error_log
[alert]



=== TEST 15: a body just under client_max_body_size is accepted
--- config
    location = /s {
        client_max_body_size 1k;
        epro_submit;
    }
--- raw_request eval
post(sub_json(submissionId => '"@ID10@"', answers => '{"q1":"' . ('x' x 700) . '"}'))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID10@"]}
--- no_error_log
[error]
[alert]



=== TEST 16: the 201: Content-Type application/json, Content-Length, a generated UUIDv7
--- request eval
"POST /s\n" . sub_json(submissionId => undef)
--- error_code: 201
--- response_headers
Content-Type: application/json
Content-Length: 77
--- response_body_like: ^\{"accepted":1,"duplicates":0,"ids":\["[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\]\}\n$
--- no_error_log
[error]
[alert]



=== TEST 17: the 201 of an array: ids in request order
--- request eval
"POST /s\n" . arr(sub_json(submissionId => '"@ID12@"'), sub_json(submissionId => '"@ID11@"'))
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":2,"duplicates":0,"ids":["@ID12@","@ID11@"]}
--- no_error_log
[error]
[alert]



=== TEST 18: 422 has the status line "422 Unprocessable Content" and an errors array
--- request eval
"POST /s\n" . sub_json(studyId => undef)
--- error_code: 422
--- raw_response_headers_like: ^HTTP/1\.1 422 Unprocessable Content\r\n
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:invalid-submission","title":"Invalid Submission","status":422,"detail":"[^"]+","errors":\[\{"path":"/studyId","message":"[^"]+"\}\]\}$
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission: 1 error\(s\)/



=== TEST 19: a body larger than client_body_buffer_size (in a temp file) is read
--- config
    location = /s {
        client_body_buffer_size 1k;
        epro_submit;
    }
--- raw_request eval
post(sub_json(submissionId => '"@ID13@"', answers => '{"q1":"' . ('y' x 3000) . '"}'))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID13@"]}
--- sql
SELECT length(answers->>'q1'), length(payload) FROM epro_submissions WHERE submission_id = '@ID13@'
--- sql_result eval
"3000|" . length(sub_json(submissionId => '"@ID13@"', answers => '{"q1":"' . ('y' x 3000) . '"}')) . "\n"
--- no_error_log
[error]
[alert]



=== TEST 20: a body that arrives in two packets
--- raw_request eval
my $r = post(sub_json(submissionId => '"@ID14@"'));
[substr($r, 0, length($r) - 40), substr($r, length($r) - 40)]
--- raw_request_middle_delay: 0.05
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID14@"]}
--- no_error_log
[error]
[alert]



=== TEST 21: a retry with the same submissionId is a duplicate, stored once
--- more_headers
Content-Type: application/json
--- request eval
["POST /s\n" . sub_json(submissionId => '"@ID15@"'), "POST /s\n" . sub_json(submissionId => '"@ID15@"', studyId => '"OTHER"')]
--- error_code eval
[201, 201]
--- response_body eval
[qq{{"accepted":1,"duplicates":0,"ids":["@{[sid(15)]}"]}\n}, qq{{"accepted":0,"duplicates":1,"ids":["@{[sid(15)]}"]}\n}]
--- sql
SELECT study_id FROM epro_submissions WHERE submission_id = '@ID15@'
--- sql_result
S1
--- no_error_log
[error]
[alert]



=== TEST 22: a chunked body within the limits is accepted
--- raw_request eval
my $b = sub_json(submissionId => '"@ID16@"');
"POST /s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
. sprintf('%x', 50) . "\r\n" . substr($b, 0, 50) . "\r\n"
. sprintf('%x', length($b) - 50) . "\r\n" . substr($b, 50) . "\r\n0\r\n\r\n"
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID16@"]}
--- sql
SELECT payload FROM epro_submissions WHERE submission_id = '@ID16@'
--- sql_result eval
sub_json(submissionId => '"@ID16@"') . "\n"
--- no_error_log
[error]
[alert]



=== TEST 23: client_body_in_file_only: the body is read back from its file
--- config
    location = /s {
        client_body_in_file_only clean;
        epro_submit;
    }
--- raw_request eval
post(sub_json(submissionId => '"@ID17@"'))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID17@"]}
--- sql_result eval
sub_json(submissionId => '"@ID17@"') . "\n"
--- sql
SELECT payload FROM epro_submissions WHERE submission_id = '@ID17@'
--- no_error_log
[error]
[alert]



=== TEST 24: a mirror subrequest into an epro_submit location reads the main request's body and leaves it whole: the proxied copy (over 4 KB, so a buffer of its own) is stored as sent too
--- config
    location = /m {
        mirror /epro_m;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/s;
    }

    location = /epro_m {
        internal;
        epro_table t_003_mirror;
        epro_submit;
    }

    location = /s {
        epro_submit;
    }
--- raw_request eval
post(sub_json(submissionId => '"@ID18@"', answers => '{"q1":"' . ('m' x 3000) . '","q2":"' . ('n' x 3000) . '"}'), uri => '/m')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID18@"]}
--- post_check
# the mirror's answer is not waited for: its row may come a little later
for (1 .. 50) {
    last if sql('SELECT count(*) FROM t_003_mirror WHERE submission_id = ?',
                sid(18)) eq "1\n";
    Time::HiRes::sleep(0.1);
}
--- sql
SELECT 'main', md5(payload) FROM epro_submissions WHERE submission_id = '@ID18@'
UNION ALL
SELECT 'mirror', md5(payload) FROM t_003_mirror WHERE submission_id = '@ID18@'
--- sql_result eval
my $md5 = Digest::MD5::md5_hex(Epro::subst(sub_json(submissionId => '"@ID18@"', answers => '{"q1":"' . ('m' x 3000) . '","q2":"' . ('n' x 3000) . '"}')));
"main|$md5\nmirror|$md5\n"
--- no_error_log
[error]
[alert]



=== TEST 25: an "if" block inside the location is the same endpoint: the request it matches is stored like the others (nginx runs the location's handler with the block's configuration)
--- config
    location = /s {
        epro_submit;

        if ($http_x_debug) {
            set $debug 1;
        }
    }
--- more_headers
Content-Type: application/json
X-Debug: 1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID19@"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID19@"]}
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID19@'
--- sql_result
1
--- no_error_log
exited on signal
[error]
[alert]



=== TEST 26: an "if" block with a content handler of its own (proxy_pass) is not the endpoint: its answer passes untouched
--- config
    location = /s {
        epro_submit;

        if ($http_x_legacy) {
            rewrite ^ /legacy break;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
        }
    }

    location = /legacy {
        return 409 "legacy says conflict\n";
    }
--- more_headers
Content-Type: application/json
X-Legacy: 1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID20@"')
--- error_code: 409
--- response_body
legacy says conflict
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID20@'
--- sql_result
0
--- no_error_log
[error]
[alert]
