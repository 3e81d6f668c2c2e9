# epro_column COLUMN VALUE (issue 13): extra columns of the table, filled
# from nginx variables for every row of the request, sent as text[]
# parameters like the module's own.  An empty value (the variable not set)
# is stored as NULL; a value over 1024 bytes is a 400 naming the column.
# The column list is part of the target: two locations with different
# columns on one table never share a batch.
#
# Tables: t_025 (epro_submissions' columns, auth_user, device_id),
# t_025_plain (epro_submissions' columns only).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use Epro;
use EproCheck;

use Cwd ();
use File::Spec;
use FindBin;

my $root = Cwd::abs_path(File::Spec->catdir($FindBin::Bin,
                                            File::Spec->updir));

$ENV{TEST_NGINX_EPRO_FHIR_TEST} = "$root/t/fhir/test-q.json";

db()->do('DROP TABLE IF EXISTS t_025');
db()->do('CREATE TABLE t_025 (LIKE epro_submissions INCLUDING ALL)');
db()->do('ALTER TABLE t_025 ADD COLUMN auth_user text, '
         . 'ADD COLUMN device_id text');
db()->do('DROP TABLE IF EXISTS t_025_plain');
db()->do('CREATE TABLE t_025_plain (LIKE epro_submissions INCLUDING ALL)');

$Epro::DefaultConfig = <<'EOF';
    location = /c {
        epro_submit;
        epro_table t_025;
        epro_column auth_user $http_x_user;
        epro_column device_id $http_x_device;
    }
EOF

# a response to http://t/q|1 (t/fhir/test-q.json) with its smallest items
sub tq {
    my ($id) = @_;
    return '{"resourceType":"QuestionnaireResponse",'
        . qq("identifier":{"system":"urn:t","value":"$id"},)
        . '"questionnaire":"http://t/q|1","status":"completed",'
        . '"subject":{"reference":"Patient/p1"},'
        . '"authored":"2026-11-27T08:15:00Z","item":['
        . '{"linkId":"b","answer":[{"valueBoolean":true}]},'
        . '{"linkId":"g","item":[{"linkId":"g1",'
        . '"answer":[{"valueInteger":1}]}]},'
        . '{"linkId":"c","answer":[{"valueCoding":{"system":"http://s",'
        . '"code":"a"}},{"valueCoding":{"system":"http://s","code":"b"}}]},'
        . '{"linkId":"tot","answer":[{"valueDecimal":3}]}]}';
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the extra columns stored with the row
--- more_headers
Content-Type: application/json
X-User: user-1
X-Device: dev-"1"\
--- request eval
"POST /c\n" . sub_json(submissionId => '"@ID1@"')
--- error_code: 201
--- sql
SELECT subject_id, auth_user, device_id FROM t_025
 WHERE submission_id = '@ID1@'
--- sql_result
P1|user-1|dev-"1"\



=== TEST 2: a variable not set stores NULL
--- more_headers
Content-Type: application/json
X-User: user-2
--- request eval
"POST /c\n" . sub_json(submissionId => '"@ID2@"')
--- error_code: 201
--- sql
SELECT auth_user, device_id IS NULL FROM t_025
 WHERE submission_id = '@ID2@'
--- sql_result
user-2|1



=== TEST 3: an array: every row gets the values
--- more_headers
Content-Type: application/json
X-User: user-3
X-Device: dev-3
--- request eval
"POST /c\n[" . sub_json(submissionId => '"@ID3@"') . ","
    . sub_json(submissionId => '"@ID4@"') . "]"
--- error_code: 201
--- sql
SELECT submission_id, auth_user, device_id FROM t_025
 WHERE submission_id IN ('@ID3@', '@ID4@') ORDER BY 1
--- sql_result
@ID3@|user-3|dev-3
@ID4@|user-3|dev-3



=== TEST 4: a value over 1024 bytes: 400 naming the column, nothing stored, the value in no log
--- log_level: info
--- more_headers eval
"Content-Type: application/json\nX-User: user-4\nX-Device: "
    . ('VALUE-4' x 147)
--- request eval
"POST /c\n" . sub_json(submissionId => '"@ID5@"')
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:epro:problem:column-too-long","title":"Column Too Long","status":400,"detail":"the value for column device_id is over 1024 bytes; nothing was stored"\}$
--- sql
SELECT count(*) FROM t_025 WHERE submission_id = '@ID5@'
--- sql_result
0
--- error_log
epro: the epro_column value for device_id is over 1024 bytes
--- no_error_log
VALUE-4
[error]
[alert]



=== TEST 5: 1024 bytes exactly are stored
--- more_headers eval
"Content-Type: application/json\nX-User: user-5\nX-Device: "
    . ('x' x 1024)
--- request eval
"POST /c\n" . sub_json(submissionId => '"@ID6@"')
--- error_code: 201
--- sql
SELECT length(device_id) FROM t_025 WHERE submission_id = '@ID6@'
--- sql_result
1024



=== TEST 6: server-level columns are inherited
--- config
    epro_table t_025;
    epro_column auth_user $http_x_user;
    epro_column device_id $http_x_device;
    location = /both { epro_submit; }
    location = /own { epro_submit; epro_column device_id "fixed-$http_x_user"; }
--- more_headers
Content-Type: application/json
X-User: user-6
X-Device: dev-6
--- request eval
"POST /both\n" . sub_json(submissionId => '"@ID7@"')
--- error_code: 201
--- sql
SELECT auth_user, device_id FROM t_025 WHERE submission_id = '@ID7@'
--- sql_result
user-6|dev-6



=== TEST 7: a location with epro_column lines of its own has only those
--- config
    epro_table t_025;
    epro_column auth_user $http_x_user;
    epro_column device_id $http_x_device;
    location = /both { epro_submit; }
    location = /own { epro_submit; epro_column device_id "fixed-$http_x_user"; }
--- more_headers
Content-Type: application/json
X-User: user-6
X-Device: dev-6
--- request eval
"POST /own\n" . sub_json(submissionId => '"@ID8@"')
--- error_code: 201
--- sql
SELECT auth_user IS NULL, device_id FROM t_025 WHERE submission_id = '@ID8@'
--- sql_result
1|fixed-user-6



=== TEST 8: two locations with different columns on one table, interleaved: one batch each
--- http_config
    epro_pg_pool_size 1;
    epro_batch_max_delay 300ms;
--- config
    epro_table t_025;
    location = /u { epro_submit; epro_column auth_user $http_x_user; }
    location = /d { epro_submit; epro_column device_id $http_x_user; }
    location = /metrics { epro_status; }
--- request
GET /metrics
--- error_code: 200
--- post_check
my $m0 = Epro::metrics();
my @ids = map { Epro::uuid() } 1 .. 6;
my @socks = map {
    Epro::http_post(Epro::phq9(id => $ids[$_]), uri => $_ % 2 ? '/d' : '/u',
                    header => "X-User: who-$_\r\n", send_only => 1)
} 0 .. 5;
my @st = map { Epro::response($_)->{status} } @socks;
is("@st", '201 201 201 201 201 201', 'all 201');
my $m1 = Epro::metrics();
is(Epro::delta($m0, $m1, 'epro_batches_total'), 2,
   'two batches: one per column list');
my $rows = Epro::db()->selectall_arrayref(
    q{SELECT submission_id::text, coalesce(auth_user, '-'),
             coalesce(device_id, '-')
        FROM t_025 WHERE submission_id = ANY(?::uuid[])}, undef, \@ids);
my %in = map { $_->[0] => "$_->[1]/$_->[2]" } @$rows;
is(join(',', map { $in{$ids[$_]} // 'none' } 0 .. 5),
   'who-0/-,-/who-1,who-2/-,-/who-3,who-4/-,-/who-5',
   'each row with its location\'s column');



=== TEST 9: epro_pg_statement unnamed: the columns stored too
--- http_config
    epro_pg_statement unnamed;
--- more_headers
Content-Type: application/json
X-User: user-8
X-Device: dev-8
--- request eval
"POST /c\n" . sub_json(submissionId => '"@ID9@"')
--- error_code: 201
--- sql
SELECT auth_user, device_id FROM t_025 WHERE submission_id = '@ID9@'
--- sql_result
user-8|dev-8



=== TEST 10: a FHIR location with epro_column
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
        epro_table t_025;
        epro_column auth_user $http_x_user;
        epro_column device_id $http_x_device;
    }
--- more_headers
Content-Type: application/fhir+json
X-User: user-9
X-Device: dev-9
--- request eval
"POST /t/QuestionnaireResponse\n" . main::tq(Epro::sid(10))
--- error_code: 201
--- sql
SELECT study_id, fhir_status, auth_user, device_id FROM t_025
 WHERE submission_id = '@ID10@'
--- sql_result
T-STUDY|completed|user-9|dev-9



=== TEST 11: a FHIR location, a value too long: 400 OperationOutcome naming the column
--- config
    location = /t/QuestionnaireResponse {
        epro_submit fhir;
        epro_questionnaires $TEST_NGINX_EPRO_FHIR_TEST;
        epro_study T-STUDY;
        epro_visit T-VISIT;
        epro_table t_025;
        epro_column device_id $http_x_device;
    }
--- more_headers eval
"Content-Type: application/fhir+json\nX-Device: " . ('VALUE-10' x 200)
--- request eval
"POST /t/QuestionnaireResponse\n" . main::tq(Epro::sid(11))
--- error_code: 400
--- response_body_like: ^\{"resourceType":"OperationOutcome".*column device_id is over 1024 bytes
--- response_body_unlike: VALUE-10
--- sql
SELECT count(*) FROM t_025 WHERE submission_id = '@ID11@'
--- sql_result
0



=== TEST 12: a column the table lacks: the INSERT is prepared at connect and fails there (42703), the database is unavailable, 503
--- log_level: info
--- http_config
    epro_pg_timeout 1s;
--- config
    location = /p {
        epro_submit;
        epro_table t_025_plain;
        epro_column device_id $http_x_device;
    }
--- more_headers
Content-Type: application/json
X-Device: dev-11
--- request eval
"POST /p\n" . sub_json(submissionId => '"@ID12@"')
--- error_code: 503
--- error_log eval
qr/\[error\] .*epro: .*42703/
--- no_error_log
dev-11
[alert]



=== TEST 13: the same with epro_pg_statement unnamed: the batch fails (42703) at once, 503, nothing stored
--- log_level: info
--- http_config
    epro_pg_statement unnamed;
--- config
    location = /p {
        epro_submit;
        epro_table t_025_plain;
        epro_column device_id $http_x_device;
    }
--- more_headers
Content-Type: application/json
X-Device: dev-12
--- request eval
"POST /p\n" . sub_json(submissionId => '"@ID13@"')
--- error_code: 503
--- error_log eval
qr/\[error\] .*epro: .*42703/
--- no_error_log
dev-12
[alert]
--- sql
SELECT count(*) FROM t_025_plain WHERE submission_id = '@ID13@'
--- sql_result
0



=== TEST 14: a bad column name stops nginx -t
--- config
    location = /c { epro_submit; epro_column device-id $http_x_device; }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid column name "device-id" in "epro_column": expected letters, digits and underscores in \S+nginx\.conf:\d+/



=== TEST 15: a column name starting with a digit stops nginx -t
--- config
    location = /c { epro_submit; epro_column 1device $http_x_device; }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid column name "1device" in "epro_column"/



=== TEST 16: one of the module's own columns stops nginx -t
--- config
    location = /c { epro_submit; epro_column subject_id $http_x_user; }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*column "subject_id" in "epro_column" is one of the module's own in \S+nginx\.conf:\d+/



=== TEST 17: a column twice in one block stops nginx -t
--- config
    location = /c {
        epro_submit;
        epro_column device_id $http_x_device;
        epro_column device_id $http_x_user;
    }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*duplicate "epro_column" for "device_id" in \S+nginx\.conf:\d+/



=== TEST 18: no value stops nginx -t
--- config
    location = /c { epro_submit; epro_column device_id; }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "epro_column" directive/
