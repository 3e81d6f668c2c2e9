# The hot paths for TEST_NGINX_CHECK_LEAK=1 (util/leak.sh): each block is
# sent over and over by ab while nginx's RSS is sampled; a leak shows as a
# slope.  In the normal run they are plain tests.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: one submission, id generated: 201
--- request
POST /s
{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-1","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}}
--- error_code: 201
--- response_body_like: ^\{"accepted":1,"duplicates":0,"ids":\["[0-9a-f-]{36}"\]\}$
--- no_error_log
[error]
[alert]
LEAK-
PHQ9_



=== TEST 2: an array of 20, read through a temporary file: 201
--- config
    client_body_buffer_size 1k;
    location = /s { epro_submit; }
--- request
POST /s
[{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A00","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A01","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A02","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A03","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A04","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A05","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A06","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A07","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A08","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A09","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A10","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A11","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A12","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A13","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A14","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A15","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A16","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A17","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A18","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}},{"studyId":"STUDY-L","siteId":"SITE-01","subjectId":"LEAK-A19","visitName":"Week 4","instrument":"PHQ-9","collectedAt":"2026-11-20T08:15:00+01:00","answers":{"PHQ9_1":1,"PHQ9_2":2,"PHQ9_3":3,"PHQ9_4":0,"PHQ9_5":1,"PHQ9_6":2,"PHQ9_7":3,"PHQ9_8":0,"PHQ9_9":1}}]
--- error_code: 201
--- response_body_like: ^\{"accepted":20,"duplicates":0,
--- no_error_log
[error]
[alert]
LEAK-
PHQ9_



=== TEST 3: malformed JSON: 400
--- request
POST /s
{"studyId":"S","answers":{"a":01}}
--- error_code: 400
--- response_body_like: malformed-json



=== TEST 4: a contract violation: 422 naming the fields
--- request
POST /s
{"studyId":"","subjectId":"P","instrument":"PHQ-9","collectedAt":"yesterday","answers":{}}
--- error_code: 422
--- response_body_like: /studyId.*/collectedAt
