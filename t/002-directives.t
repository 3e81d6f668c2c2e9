# Directives: each one works in its context; a bad value, a missing
# epro_pg_conninfo, a duplicate or a wrong context stops nginx with a
# message that names the directive.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;
use EproCheck;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: every http-level directive set to a valid value, a submission goes through
--- http_config
    epro_pg_pool_size 2;
    epro_pg_timeout 3s;
    epro_table epro_submissions;
    epro_batch_max_rows 10;
    epro_batch_max_delay 0;
    epro_queue_max_rows 100;
    epro_batch_max_bytes 64k;
    epro_queue_max_bytes 1m;
    epro_max_submissions 5;
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID1@"')
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID1@"]}
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
1



=== TEST 2: epro_table schema.name (public.epro_submissions) is valid and used
--- http_config
    epro_table public.epro_submissions;
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID2@"', studyId => '"T2"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID2@"]}
--- sql
SELECT study_id FROM public.epro_submissions WHERE submission_id = '@ID2@'
--- sql_result
T2



=== TEST 3: epro_batch_max_delay 5ms: the batch waits at most 5ms and commits
--- http_config
    epro_batch_max_delay 5ms;
--- request eval
"POST /s\n[" . sub_json(submissionId => '"@ID3@"') . ','
    . sub_json(submissionId => '"@ID4@"') . ']'
--- error_code: 201
--- response_body
{"accepted":2,"duplicates":0,"ids":["@ID3@","@ID4@"]}
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID3@', '@ID4@')
--- sql_result
2



=== TEST 4: epro_max_submissions 2 in the location: an array of 3 is 422, nothing stored
--- config
    location = /s {
        epro_max_submissions 2;
        epro_submit;
    }
--- request eval
"POST /s\n" . arr(map { sub_json(submissionId => qq{"\@ID$_\@"}) } 5 .. 7)
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID5@', '@ID6@', '@ID7@')
--- sql_result
0
--- error_log
epro: invalid submission



=== TEST 5: epro_max_submissions 2 in the location: an array of 2 is accepted
--- config
    location = /s {
        epro_max_submissions 2;
        epro_submit;
    }
--- request eval
"POST /s\n" . arr(map { sub_json(submissionId => qq{"\@ID$_\@"}) } 8 .. 9)
--- error_code: 201
--- response_body
{"accepted":2,"duplicates":0,"ids":["@ID8@","@ID9@"]}



=== TEST 6: epro_max_submissions in http{} is inherited by the location
--- http_config
    epro_max_submissions 1;
--- request eval
"POST /s\n" . arr(map { sub_json(submissionId => qq{"\@ID$_\@"}) } 10 .. 11)
--- error_code: 422
--- error_paths
[""]



=== TEST 7: epro_max_submissions in server{} overrides http{}
--- http_config
    epro_max_submissions 1;
--- config
    epro_max_submissions 2;
    location = /s { epro_submit; }
--- request eval
"POST /s\n" . arr(map { sub_json(submissionId => qq{"\@ID$_\@"}) } 12 .. 13)
--- error_code: 201
--- response_body
{"accepted":2,"duplicates":0,"ids":["@ID12@","@ID13@"]}



=== TEST 8: epro_submit inside "if" in a location
--- config
    location = /s {
        if ($arg_go) {
            epro_submit;
        }
    }
--- request eval
"POST /s?go=1\n" . sub_json(submissionId => '"@ID14@"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID14@"]}



=== TEST 9: the module loaded but unused needs no epro_pg_conninfo
--- no_conninfo: 1
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 10: epro_pg_pool_size 0
--- http_config
    epro_pg_pool_size 0;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*epro_pg_pool_size/



=== TEST 11: epro_pg_pool_size abc
--- http_config
    epro_pg_pool_size abc;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_pg_pool_size" directive invalid number/



=== TEST 12: epro_table bad-name
--- http_config
    epro_table bad-name;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid table name "bad-name" in "epro_table"/



=== TEST 13: epro_table a.b.c
--- http_config
    epro_table a.b.c;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid table name "a\.b\.c" in "epro_table"/



=== TEST 14: epro_table .x
--- http_config
    epro_table .x;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid table name "\.x" in "epro_table"/



=== TEST 15: epro_table 1abc
--- http_config
    epro_table 1abc;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid table name "1abc" in "epro_table"/



=== TEST 16: epro_table x. (empty second part)
--- http_config
    epro_table x.;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid table name "x\." in "epro_table"/



=== TEST 17: epro_table with a 64-character identifier (PostgreSQL's limit is 63)
--- http_config eval
"epro_table " . ('t' x 64) . ";"
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid table name "t{64}" in "epro_table"/



=== TEST 18: epro_table twice
--- http_config
    epro_table epro_submissions;
    epro_table epro_submissions;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_table" directive is duplicate/



=== TEST 19: epro_batch_max_rows 0
--- http_config
    epro_batch_max_rows 0;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*epro_batch_max_rows/



=== TEST 20: epro_pg_timeout xyz
--- http_config
    epro_pg_timeout xyz;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_pg_timeout" directive invalid value/



=== TEST 21: epro_max_submissions 0
--- config
    location = /s {
        epro_max_submissions 0;
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*epro_max_submissions/



=== TEST 22: epro_queue_max_rows 0
--- http_config
    epro_queue_max_rows 0;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*epro_queue_max_rows/



=== TEST 23: epro_queue_max_bytes 2x
--- http_config
    epro_queue_max_bytes 2x;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_queue_max_bytes" directive invalid value/



=== TEST 24: epro_batch_max_bytes -1
--- http_config
    epro_batch_max_bytes -1;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_batch_max_bytes" directive invalid value/



=== TEST 25: epro_submit without epro_pg_conninfo
--- no_conninfo: 1
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_submit" is used but "epro_pg_conninfo" is not set/



=== TEST 26: epro_submit twice in one location
--- config
    location = /s {
        epro_submit;
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_submit" directive is duplicate/



=== TEST 27: epro_pg_conninfo inside a location
--- config
    location = /s {
        epro_pg_conninfo "host=127.0.0.1";
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_pg_conninfo" directive is not allowed here/



=== TEST 28: epro_submit in server{} (wrong context)
--- config
    epro_submit;
    location = /t { return 200; }
--- request
GET /t
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_submit" directive is not allowed here/



=== TEST 29: epro_submit with an argument other than fhir (issue 11 gave it one, "fhir")
--- config
    location = /s { epro_submit on; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid value "on" in "epro_submit": expected "fhir" or nothing/



=== TEST 29b: epro_submit with two arguments
--- config
    location = /s { epro_submit fhir on; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "epro_submit" directive/



=== TEST 30: an invalid epro_pg_conninfo is refused at startup, the password is not logged
--- http_config
    epro_pg_conninfo "host=127.0.0.1 password=s3cr3t-pw nosuchoption=1";
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_pg_conninfo" is not a valid libpq connection string/
--- no_error_log
s3cr3t-pw



=== TEST 31: epro_bind with one argument
--- config
    location = /s {
        epro_bind subjectId;
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "epro_bind" directive/



=== TEST 32: epro_bind with an empty value (it would refuse every request)
--- config
    location = /s {
        epro_bind subjectId "";
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*empty value for "subjectId" in "epro_bind" in \S+nginx\.conf:\d+/



=== TEST 33: epro_bind inside "if" (wrong context)
--- config
    location = /s {
        if ($arg_go) {
            epro_bind subjectId $arg_go;
        }
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_bind" directive is not allowed here/



=== TEST 34: epro_bind in http{}, server{} and a location, each a valid value
--- http_config
    epro_bind studyId S1;
--- config
    epro_bind siteId A;

    location = /s {
        epro_bind subjectId $http_x_user;
        epro_submit;
    }
--- more_headers
Content-Type: application/json
X-User: P1
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID15@"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID15@"]}



=== TEST 35: epro_pg_statement unnamed straight to PostgreSQL: no PREPARE, a submission goes through, a duplicate is one
--- http_config
    epro_pg_statement unnamed;
--- more_headers
Content-Type: application/json
--- request eval
["POST /s\n" . sub_json(submissionId => '"@ID16@"'),
 "POST /s\n" . sub_json(submissionId => '"@ID16@"')]
--- error_code eval
[201, 201]
--- response_body eval
[Epro::subst('{"accepted":1,"duplicates":0,"ids":["@ID16@"]}' . "\n"),
 Epro::subst('{"accepted":0,"duplicates":1,"ids":["@ID16@"]}' . "\n")]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID16@'
--- sql_result
1



=== TEST 36: epro_pg_statement prepared (the default) said explicitly
--- http_config
    epro_pg_statement prepared;
--- request eval
"POST /s\n" . sub_json(submissionId => '"@ID17@"')
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID17@"]}



=== TEST 37: epro_pg_statement named
--- http_config
    epro_pg_statement named;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid value "named" in .*nginx.conf:\d+/



=== TEST 38: epro_pg_statement in server{}
--- config
    epro_pg_statement unnamed;
    location = /s { epro_submit; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_pg_statement" directive is not allowed here/



=== TEST 39: epro_pg_timeout 0 would end every batch at once: nginx -t refuses it
--- http_config
    epro_pg_timeout 0;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*the timeout of the database "default" is 0/



=== TEST 40: timeout=0 on an epro_database line: refused the same way
--- http_config
    epro_database other "host=127.0.0.1 port=1 dbname=x" timeout=0;
--- config
    location = /o { epro_pass other; epro_submit; }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*the timeout of the database "other" is 0/



=== TEST 41: epro_submit and epro_status in one location: refused (one of them could never answer)
--- config
    location = /both {
        epro_submit;
        epro_status;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_status" directive cannot be used with "epro_submit" in one location/



=== TEST 42: the same the other way round
--- config
    location = /both {
        epro_status;
        epro_submit;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_submit" directive cannot be used with "epro_status" in one location/
