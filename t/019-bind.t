# epro_bind: a submission's subjectId, studyId or siteId must equal a
# value taken from the request (the authenticated identity), else 403
# and nothing of the request is stored.  X-User (or "set") stands for
# the identity a gateway gets from its auth; TEST 20 takes it from a real
# auth_request subrequest with auth_request_set.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;
use EproCheck;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: subjectId bound to $http_x_user: the patient's own submission is 201 and stored
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID1@"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID1@"]}
--- sql
SELECT subject_id FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
P1



=== TEST 2: another subject: 403 problem+json naming the member, nothing stored, no value in the answer or the log
--- log_level: info
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: SUBJ-OWN-4410
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID2@"',
                       subjectId => '"SUBJ-FOREIGN-7731"')
--- error_code: 403
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:forbidden","title":"Forbidden","status":403,"detail":"[^"]+","errors":\[\{"path":"/subjectId","message":"does not match the authenticated identity"\}\]\}$
--- error_paths
["/subjectId"]
--- error_count: 1
--- response_body_unlike: SUBJ-
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID2@'
--- sql_result
0
--- error_log
epro: forbidden: subjectId of submission 0 does not match epro_bind, 1 mismatch(es)
--- no_error_log
SUBJ-OWN-4410
SUBJ-FOREIGN-7731
[error]
[alert]



=== TEST 3: the identity variable not set (no X-User): 403 before the body is read, nothing stored
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID3@"')
--- error_code: 403
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:forbidden","title":"Forbidden","status":403,"detail":"the request has no authenticated subjectId; nothing was stored"\}$
--- error_paths
[]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID3@'
--- sql_result
0
--- error_log
epro: forbidden: the epro_bind value for subjectId is empty



=== TEST 4: an empty X-User is no identity either: 403
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User:
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID4@"', subjectId => '"P1"')
--- error_code: 403
--- response_body_like: "type":"urn:epro:problem:forbidden"
--- error_paths
[]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID4@'
--- sql_result
0
--- error_log
epro: forbidden: the epro_bind value for subjectId is empty



=== TEST 5: a variable set by "set" to an empty string: 403
--- config
    location = /s {
        set $who $arg_who;
        epro_bind subjectId $who;
        epro_submit;
    }
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID5@"')
--- error_code: 403
--- error_paths
[]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID5@'
--- sql_result
0



=== TEST 6: the same location with the variable set: 201
--- config
    location = /s {
        set $who $arg_who;
        epro_bind subjectId $who;
        epro_submit;
    }
--- request eval
"POST /s?who=P1\n" . sub_json(submissionId => '"@ID6@"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID6@"]}



=== TEST 7: an array with one foreign subject (index 2): 403 naming /2/subjectId, nothing of it stored
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . arr(sub_json(submissionId => '"@ID7@"'),
                  sub_json(submissionId => '"@ID8@"'),
                  sub_json(submissionId => '"@ID9@"', subjectId => '"P2"'),
                  sub_json(submissionId => '"@ID10@"'))
--- error_code: 403
--- response_body_like: "errors":\[\{"path":"/2/subjectId","message":"does not match the authenticated identity"\}\]
--- error_paths
["/2/subjectId"]
--- error_count: 1
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID7@', '@ID8@', '@ID9@', '@ID10@')
--- sql_result
0
--- error_log
epro: forbidden: subjectId of submission 2 does not match epro_bind, 1 mismatch(es)



=== TEST 8: an array of one: the path still has the index
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n \n[" . sub_json(submissionId => '"@ID11@"', subjectId => '"P2"') . ']'
--- error_code: 403
--- error_paths
["/0/subjectId"]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID11@'
--- sql_result
0



=== TEST 9: 25 foreign subjects: 20 errors, then "truncated"
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . arr(map { sub_json(submissionId => qq{"\@ID$_\@"},
                                 subjectId => '"P2"') } 12 .. 36)
--- error_code: 403
--- error_paths eval
'[' . CORE::join(',', map { "\"/$_/subjectId\"" } 0 .. 19) . ']'
--- error_count: 20
--- truncated: 1
--- sql eval
'SELECT count(*) FROM epro_submissions WHERE submission_id IN ('
. CORE::join(',', map { "'" . sid($_) . "'" } 12 .. 36) . ')'
--- sql_result
0
--- error_log
epro: forbidden: subjectId of submission 0 does not match epro_bind, 25 mismatch(es)



=== TEST 10: values are compared as stored: "P\u0031" is P1 (201), "p1" is not (403)
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID37@"', subjectId => '"P\\u0031"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID37@"]}
--- post_check
my $r = http_post(sub_json(submissionId => '"@ID38@"',
                           subjectId => '"p1"'),
                  header => "X-User: P1\r\n");
is($r->{status}, 403, 'lower case p1: 403');
$r = http_post(sub_json(submissionId => '"@ID39@"',
                        subjectId => '"P1 "'),
               header => "X-User: P1\r\n");
is($r->{status}, 403, 'trailing space: 403');
--- sql
SELECT submission_id = '@ID37@', subject_id FROM epro_submissions WHERE submission_id IN ('@ID37@', '@ID38@', '@ID39@')
--- sql_result
1|P1



=== TEST 11: a bad body keeps its 422, even for a foreign subject
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID40@"', subjectId => '"P2"',
                       collectedAt => '"yesterday"')
--- error_code: 422
--- error_paths
["/collectedAt"]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID40@'
--- sql_result
0



=== TEST 12: malformed JSON keeps its 400
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . '{"subjectId":"P2",'
--- error_code: 400
--- response_body_like: "type":"urn:epro:problem:malformed-json"



=== TEST 13: no identity comes before the method: GET without X-User is 403, with it 405
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- request eval
["GET /s", "GET /s"]
--- more_headers eval
["", "X-User: P1"]
--- error_code eval
[403, 405]



=== TEST 14: studyId bound to a constant: this location takes one study
--- config
    location = /s {
        epro_bind studyId STUDY-1;
        epro_submit;
    }
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID41@"', studyId => '"STUDY-1"')
--- error_code: 201
--- post_check
my $r = http_post(sub_json(submissionId => '"@ID42@"',
                           studyId => '"STUDY-2"'));
is($r->{status}, 403, 'another study: 403');
like($r->{body}, qr{"errors":\[\{"path":"/studyId","message":"does not match},
     'another study: /studyId named');
--- sql
SELECT submission_id = '@ID41@', study_id FROM epro_submissions WHERE submission_id IN ('@ID41@', '@ID42@')
--- sql_result
1|STUDY-1
--- error_log
epro: forbidden: studyId of submission 0 does not match epro_bind



=== TEST 15: siteId bound: its own site 201, another site 403, no siteId 403
--- config
    location = /s {
        epro_bind siteId $http_x_site;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-Site: SITE-01
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID43@"', siteId => '"SITE-01"')
--- error_code: 201
--- post_check
my $r = http_post(sub_json(submissionId => '"@ID44@"',
                           siteId => '"SITE-02"'),
                  header => "X-Site: SITE-01\r\n");
is($r->{status}, 403, 'another site: 403');
like($r->{body}, qr{"path":"/siteId","message":"does not match},
     'another site: /siteId');
$r = http_post(sub_json(submissionId => '"@ID45@"',
                        siteId => undef),
               header => "X-Site: SITE-01\r\n");
is($r->{status}, 403, 'no siteId: 403');
like($r->{body}, qr{"errors":\[\{"path":"/siteId","message":"is absent[^"]*"\}\]},
     'no siteId: /siteId is absent');
--- sql
SELECT submission_id = '@ID43@', site_id FROM epro_submissions WHERE submission_id IN ('@ID43@', '@ID44@', '@ID45@')
--- sql_result
1|SITE-01



=== TEST 16: three binds: all match 201; each mismatch is named, in submission then member order
--- config
    location = /s {
        epro_bind studyId $http_x_study;
        epro_bind siteId $http_x_site;
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-Study: S1
X-Site: A
X-User: P1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID46@"')
--- error_code: 201
--- post_check
my @h = ('X-Study: S1', 'X-Site: A', 'X-User: P1');
my $r = http_post(EproCheck::arr(
                      sub_json(submissionId => '"@ID47@"'),
                      sub_json(submissionId => '"@ID48@"',
                               studyId => '"S2"', subjectId => '"P2"')),
                  header => join('', map { "$_\r\n" } @h));
is($r->{status}, 403, 'study and subject wrong: 403');
my @paths = $r->{body} =~ /"path":"([^"]*)"/g;
is("@paths", '/1/studyId /1/subjectId', 'both named, in order');
$r = http_post(sub_json(submissionId => '"@ID49@"'),
               header => "X-Study: S1\r\nX-User: P1\r\n");
is($r->{status}, 403, 'one of three values missing: 403');
like($r->{body}, qr/no authenticated siteId/, 'the missing one is named');
--- sql
SELECT submission_id = '@ID46@' FROM epro_submissions WHERE submission_id IN ('@ID46@', '@ID47@', '@ID48@', '@ID49@')
--- sql_result
1



=== TEST 17: inherited: http{} binds subjectId, a server and a location without epro_bind enforce it
--- http_config
    epro_bind subjectId $http_x_user;
--- config
    location = /s { epro_submit; }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID50@"', subjectId => '"P2"')
--- error_code: 403
--- error_paths
["/subjectId"]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID50@'
--- sql_result
0



=== TEST 18: like add_header, a location with its own epro_bind lines replaces the inherited list
--- config
    epro_bind subjectId $http_x_user;

    location = /s { epro_submit; }

    location = /study {
        epro_bind studyId $http_x_study;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
X-Study: S1
--- request eval
"POST /study\n" . sub_json(submissionId => '"@ID51@"', subjectId => '"P2"')
--- error_code: 201
--- post_check
my $r = http_post(sub_json(submissionId => '"@ID52@"',
                           subjectId => '"P2"'),
                  header => "X-User: P1\r\n");
is($r->{status}, 403, 'the location without epro_bind inherits subjectId: 403');
$r = http_post(sub_json(submissionId => '"@ID53@"',
                        studyId => '"S2"'),
               uri => '/study', header => "X-User: P1\r\nX-Study: S1\r\n");
is($r->{status}, 403, '/study checks studyId: 403');
--- sql
SELECT submission_id = '@ID51@' FROM epro_submissions WHERE submission_id IN ('@ID51@', '@ID52@', '@ID53@')
--- sql_result
1



=== TEST 19: result "forbidden" in $epro_result and in epro_requests_total
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        add_header X-Result $epro_result always;
        epro_submit;
    }
    location = /metrics { epro_status; }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID54@"', subjectId => '"P2"')
--- error_code: 403
--- response_headers
X-Result: forbidden
--- post_check
my $m0 = metrics();
ok(defined $m0->{req_key('forbidden')},
   'the metric has a "forbidden" sample');
http_post(sub_json(submissionId => '"@ID55@"'));
http_post(sub_json(submissionId => '"@ID56@"', subjectId => '"P3"'),
          header => "X-User: P1\r\n");
is(delta($m0, metrics(), req_key('forbidden')), 2,
   'forbidden +2 (no identity, foreign subject)');



=== TEST 20: auth_request + auth_request_set: the subject the auth service returns is the one a token may store
--- http_config
    # the auth service: a token names one subject
    map $http_authorization $token_subject {
        "Bearer token-p1"  P1;
        "Bearer token-p2"  P2;
        default            "";
    }

    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/auth.sock;

        location = /verify {
            add_header X-Subject $token_subject;

            if ($token_subject = "") {
                return 401;
            }

            return 204;
        }
    }
--- config
    location = /s {
        auth_request /auth;
        auth_request_set $auth_subject $upstream_http_x_subject;
        epro_bind subjectId $auth_subject;
        epro_submit;
    }

    location = /auth {
        internal;
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/auth.sock:/verify;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }
--- more_headers
Content-Type: application/json
Authorization: Bearer token-p1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID57@"', subjectId => '"P1"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID57@"]}
--- post_check
my $r = http_post(sub_json(submissionId => '"@ID58@"',
                           subjectId => '"P2"'),
                  header => "Authorization: Bearer token-p1\r\n");
is($r->{status}, 403, "P1's token, P2's submission: 403");
like($r->{body}, qr{"path":"/subjectId"}, '403 names /subjectId');
$r = http_post(sub_json(submissionId => '"@ID59@"',
                        subjectId => '"P2"'),
               header => "Authorization: Bearer token-p2\r\n");
is($r->{status}, 201, "P2's token, P2's submission: 201");
$r = http_post(sub_json(submissionId => '"@ID60@"',
                        subjectId => '"P2"'));
is($r->{status}, 401, 'no token: 401 from auth_request');
--- sql
SELECT subject_id FROM epro_submissions WHERE submission_id IN ('@ID57@', '@ID58@', '@ID59@', '@ID60@') ORDER BY 1
--- sql_result
P1
P2



=== TEST 21: an unknown member stops nginx -t, naming file and line
--- config
    location = /s {
        epro_bind patientId $http_x_user;
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*unknown member "patientId" in "epro_bind": expected studyId, siteId or subjectId in \S+nginx\.conf:\d+/



=== TEST 22: a member twice in one block stops nginx -t
--- config
    location = /s {
        epro_bind subjectId $http_x_user;
        epro_bind subjectId $http_x_other;
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*duplicate "epro_bind" for "subjectId" in \S+nginx\.conf:\d+/



=== TEST 23: the same member in server{} and in a location is not a duplicate
--- config
    epro_bind subjectId $http_x_other;

    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
X-Other: P2
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID61@"', subjectId => '"P1"')
--- error_code: 201
