# Questionnaire-aware validation in nginx: epro_instruments (the shipped
# conf/instruments.json and files of our own), epro_instrument_policy
# strict|known|off, a definitions file that is broken or missing, a
# reload that picks up a changed file, epro_clock_skew and epro_max_age.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro qw(:DEFAULT phq9_answers wait_log hup);
use EproCheck;

use Cwd ();
use File::Spec;
use File::Temp ();
use FindBin;
use POSIX ();
use Time::HiRes ();

# the repository's conf/instruments.json, wherever it is cloned
$ENV{TEST_NGINX_EPRO_SHIPPED} = Cwd::abs_path(
    File::Spec->catfile($FindBin::Bin, File::Spec->updir, 'conf',
                        'instruments.json'));

die "cannot read $ENV{TEST_NGINX_EPRO_SHIPPED}\n"
    unless -r $ENV{TEST_NGINX_EPRO_SHIPPED};

# definitions files the reload tests change while nginx runs
our $Tmp = File::Temp::tempdir('epro-013-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);

our %Defs = (
    reload => '{"instruments":[{"code":"RL","items":['
        . '{"id":"q1","type":"integer","min":0,"max":9},'
        . '{"id":"q2","type":"integer","max":9}]}]}',
    reload_new => '{"instruments":[{"code":"RL","items":['
        . '{"id":"q1","type":"integer","min":0,"max":3},'
        . '{"id":"q2","type":"integer","max":9}]}]}',
    broken => '{"instruments":[{"code":"RB","items":['
        . '{"id":"q1","type":"integer","max":3}]}]}',
    broken_new => '{"instruments":[{"code":"RB","items":[]}]}',
);

$ENV{TEST_NGINX_EPRO_RELOAD} = "$Tmp/reload.json";
$ENV{TEST_NGINX_EPRO_BROKEN} = "$Tmp/rb.json";

write_defs("$Tmp/reload.json", $Defs{reload});
write_defs("$Tmp/rb.json", $Defs{broken});

sub write_defs {
    my ($file, $text) = @_;

    # a new file renamed over the old one: nginx never reads half of it
    open my $out, '>', "$file.new" or die "$file.new: $!";
    print $out $text;
    close $out or die "$file.new: $!";
    rename "$file.new", $file or die "rename to $file: $!";
}

# "2026-11-20T08:15:00Z" (quoted, as JSON) $off seconds from now
sub ts {
    my ($off) = @_;
    return '"' . POSIX::strftime('%Y-%m-%dT%H:%M:%SZ',
                                 gmtime(time + $off)) . '"';
}

# a PHQ-9 submission "@IDn@" collected an hour ago
sub phq {
    my ($n, %set) = @_;
    return sub_json(submissionId => "\"\@ID$n\@\"",
                    instrument => '"PHQ-9"', collectedAt => ts(-3600),
                    answers => phq9_answers(%set));
}

# a submission "@IDn@" of $code with these answers, collected $off s from
# now (or at $off if it is a quoted string or Unix seconds)
sub subm {
    my ($n, $code, $answers, $off) = @_;
    my $at = $off // -3600;
    $at = ts($at) if $at !~ /^"/ && abs($at) < 1e9;
    return sub_json(submissionId => "\"\@ID$n\@\"", instrument => "\"$code\"",
                    collectedAt => $at, answers => $answers);
}

# posts $body until the response matches $re (15 s at most); the last
# [status, body]
sub poll {
    my ($body, $re) = @_;
    my $deadline = Time::HiRes::time() + 15;
    my $r;

    for (;;) {
        ($r) = Epro::post_many('/s', $body);
        return $r if $r && $r->[1] =~ $re;
        last if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.1);
    }

    return $r || [0, ''];
}

# "--- x eval" runs in Test::Base::Filter
{
    no strict 'refs';
    *{"Test::Base::Filter::$_"} = \&{"main::$_"}
        for qw(ts phq phq9_answers subm);
}

# a reload (HUP) needs a master process
master_on();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: PHQ-9 valid under the default policy (strict with a file): 201
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(phq(1))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID1@"]}
--- sql
SELECT instrument, answers->>'PHQ9_3', answers->'PHQ9_10' IS NULL FROM epro_submissions WHERE submission_id = '@ID1@'
--- sql_result
PHQ-9|3|1



=== TEST 2: PHQ-9 with the optional PHQ9_10, the lowest and highest values: 201
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(phq(2, PHQ9_1 => 0, PHQ9_2 => 3, PHQ9_10 => 2))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID2@"]}
--- sql
SELECT answers->>'PHQ9_1', answers->>'PHQ9_2', answers->>'PHQ9_10' FROM epro_submissions WHERE submission_id = '@ID2@'
--- sql_result
0|3|2



=== TEST 3: PHQ9_3 of 7: 422 at /answers/PHQ9_3, nothing stored
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(phq(3, PHQ9_3 => 7))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/PHQ9_3"]
--- error_count: 1
--- response_body_like: "path":"/answers/PHQ9_3","message":"PHQ9_3: 7 is above the maximum 3"
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID3@'
--- sql_result
0
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 4: PHQ9_1 of -1, PHQ9_5 of 1.5 and PHQ9_6 "2": an error each
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(phq(4, PHQ9_1 => -1, PHQ9_5 => 1.5, PHQ9_6 => '"2"'))
--- error_code: 422
--- error_paths
["/answers/PHQ9_1", "/answers/PHQ9_5", "/answers/PHQ9_6"]
--- error_count: 3
--- response_body_like eval
qr/"PHQ9_1: -1 is below the minimum 0".*"PHQ9_5: must be an integer".*"PHQ9_6: must be an integer"/
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID4@'
--- sql_result
0



=== TEST 5: PHQ9_8 missing and PHQ9_9 null: both required
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(phq(5, PHQ9_8 => undef, PHQ9_9 => 'null'))
--- error_code: 422
--- error_paths
["/answers/PHQ9_8", "/answers/PHQ9_9"]
--- error_count: 2
--- response_body_like eval
qr/"PHQ9_8: is required by PHQ-9".*"PHQ9_9: is required by PHQ-9"/
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID5@'
--- sql_result
0



=== TEST 6: an item PHQ-9 does not have: 422
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(phq(6, PHQ9_11 => 1))
--- error_code: 422
--- error_paths
["/answers/PHQ9_11"]
--- error_count: 1
--- response_body_like: "message":"PHQ9_11: not an item of PHQ-9"
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID6@'
--- sql_result
0



=== TEST 7: GAD-7 and EQ-5D-5L of the shipped file: valid, 201
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post('[' . subm(7, 'GAD-7', '{' . CORE::join(',', map { "\"GAD7_$_\":" . ($_ % 4) } 1 .. 8) . '}') . ','
     . subm(8, 'EQ-5D-5L', '{"MO":1,"SC":2,"UA":3,"PD":4,"AD":5,"VAS":100}') . ']')
--- error_code: 201
--- response_body
{"accepted":2,"duplicates":0,"ids":["@ID7@","@ID8@"]}
--- sql
SELECT instrument, answers->>'VAS' FROM epro_submissions WHERE submission_id IN ('@ID7@', '@ID8@') ORDER BY instrument
--- sql_result
EQ-5D-5L|100
GAD-7|



=== TEST 8: EQ-5D-5L VAS 101 and MO 0: 422, nothing of the batch stored
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post('[' . phq(9) . ','
     . subm(10, 'EQ-5D-5L', '{"MO":0,"SC":2,"UA":3,"PD":4,"AD":5,"VAS":101}') . ']')
--- error_code: 422
--- error_paths
["/1/answers/MO", "/1/answers/VAS"]
--- error_count: 2
--- response_body_like eval
qr/"MO: 0 is below the minimum 1".*"VAS: 101 is above the maximum 100"/
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID9@', '@ID10@')
--- sql_result
0



=== TEST 9: an unknown instrument under the default policy (strict): 422 at /instrument
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(subm(11, 'PHQ-8', '{"PHQ8_1":1}'))
--- error_code: 422
--- error_paths
["/instrument"]
--- error_count: 1
--- response_body_like: "path":"/instrument","message":"unknown instrument \\"PHQ-8\\""
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID11@'
--- sql_result
0



=== TEST 10: epro_instrument_policy strict: the code is case-sensitive
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    epro_instrument_policy strict;
--- raw_request eval
post(subm(12, 'phq-9', phq9_answers()))
--- error_code: 422
--- error_paths
["/instrument"]
--- response_body_like: "unknown instrument \\"phq-9\\""
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID12@'
--- sql_result
0



=== TEST 11: epro_instrument_policy known: an unknown instrument is stored
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- config
    location = /s {
        epro_submit;
        epro_instrument_policy known;
    }
--- raw_request eval
post(subm(13, 'PHQ-8', '{"PHQ8_1":7}'))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID13@"]}
--- sql
SELECT instrument, answers->>'PHQ8_1' FROM epro_submissions WHERE submission_id = '@ID13@'
--- sql_result
PHQ-8|7



=== TEST 12: epro_instrument_policy known: a listed instrument is still checked
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- config
    location = /s {
        epro_submit;
        epro_instrument_policy known;
    }
--- raw_request eval
post(phq(14, PHQ9_3 => 7))
--- error_code: 422
--- error_paths
["/answers/PHQ9_3"]
--- response_body_like: "PHQ9_3: 7 is above the maximum 3"
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID14@'
--- sql_result
0



=== TEST 13: epro_instrument_policy off: out of range, unknown and missing items are stored
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    epro_instrument_policy off;
--- raw_request eval
post(phq(15, PHQ9_3 => 7, PHQ9_9 => undef, PHQ9_11 => '"x"'))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID15@"]}
--- sql
SELECT answers->>'PHQ9_3', answers->>'PHQ9_11', answers->'PHQ9_9' IS NULL FROM epro_submissions WHERE submission_id = '@ID15@'
--- sql_result
7|x|1



=== TEST 14: epro_instrument_policy off: an unknown instrument is stored
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- config
    location = /s {
        epro_submit;
        epro_instrument_policy off;
    }
--- raw_request eval
post(subm(16, 'PHQ-8', '{"PHQ8_1":9}'))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID16@"]}
--- sql
SELECT instrument FROM epro_submissions WHERE submission_id = '@ID16@'
--- sql_result
PHQ-8



=== TEST 15: no epro_instruments and no policy: off, anything goes
--- raw_request eval
post(phq(17, PHQ9_3 => 7))
--- error_code: 201
--- sql
SELECT answers->>'PHQ9_3' FROM epro_submissions WHERE submission_id = '@ID17@'
--- sql_result
7



=== TEST 16: epro_instruments in the location only: the default policy there is strict
--- config
    location = /s {
        epro_submit;
        epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    }
--- raw_request eval
post(phq(18, PHQ9_3 => 7))
--- error_code: 422
--- error_paths
["/answers/PHQ9_3"]
--- response_body_like: "PHQ9_3: 7 is above the maximum 3"
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID18@'
--- sql_result
0



=== TEST 17: epro_instruments in the server: the default policy is strict
--- config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    location = /s { epro_submit; }
--- raw_request eval
post(subm(19, 'PHQ-8', '{"PHQ8_1":1}'))
--- error_code: 422
--- error_paths
["/instrument"]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID19@'
--- sql_result
0



=== TEST 18: policy known in http, the file in the location: unknown instruments pass
--- http_config
    epro_instrument_policy known;
--- config
    location = /s {
        epro_submit;
        epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    }
--- raw_request eval
post(subm(20, 'PHQ-8', '{"PHQ8_1":1}'))
--- error_code: 201
--- sql
SELECT instrument FROM epro_submissions WHERE submission_id = '@ID20@'
--- sql_result
PHQ-8



=== TEST 19: the file in http, policy off in one location only
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- config
    location = /strict { epro_submit; }
    location = /s {
        epro_submit;
        epro_instrument_policy off;
    }
--- raw_request eval
post(phq(21, PHQ9_3 => 7))
--- error_code: 201
--- post_check
my ($r) = post_many('/strict', main::phq(22, PHQ9_3 => 7));
is($r->[0], 422, 'the other location is strict');
like($r->[1], qr/PHQ9_3: 7 is above the maximum 3/,
     'the other location: the message');
--- sql
SELECT submission_id FROM epro_submissions WHERE submission_id IN ('@ID21@', '@ID22@')
--- sql_result
@ID21@



=== TEST 20: a relative path is under the configuration's directory; every item type
--- user_files
>>> defs.json
{"instruments": [{"code": "REL", "version": "2", "title": "types",
  "unknownItems": "allow",
  "items": [
    {"id": "n", "type": "integer", "min": 1, "max": 5, "required": true},
    {"id": "d", "type": "decimal", "min": 0, "max": 1.5},
    {"id": "s", "type": "string", "maxLength": 3},
    {"id": "b", "type": "boolean"},
    {"id": "c", "type": "choice", "choices": ["yes", "no", 0]},
    {"id": "m", "type": "choice", "choices": [1, 2, 3], "multiple": true},
    {"id": "day", "type": "date"},
    {"id": "at", "type": "datetime"}]}]}
--- http_config
    epro_instruments ../html/defs.json;
--- raw_request eval
post(subm(23, 'REL', '{"n":5,"d":1.5,"s":"\u00e9t\u00e9","b":false,"c":0,'
     . '"m":[1,3],"day":"2024-02-29","at":"2026-01-31T08:00:00+01:00",'
     . '"extra":"x"}'))
--- error_code: 201
--- sql
SELECT encode(convert_to(answers->>'s', 'UTF8'), 'hex'), answers->>'m', answers->>'extra' FROM epro_submissions WHERE submission_id = '@ID23@'
--- sql_result
c3a974c3a9|[1, 3]|x



=== TEST 21: every item type wrong: an error each, in order
--- user_files
>>> defs.json
{"instruments": [{"code": "REL", "items": [
    {"id": "n", "type": "integer", "min": 1, "max": 5, "required": true},
    {"id": "d", "type": "decimal", "min": 0, "max": 1.5},
    {"id": "s", "type": "string", "maxLength": 3},
    {"id": "b", "type": "boolean"},
    {"id": "c", "type": "choice", "choices": ["yes", "no", 0]},
    {"id": "m", "type": "choice", "choices": [1, 2, 3], "multiple": true},
    {"id": "day", "type": "date"},
    {"id": "at", "type": "datetime"},
    {"id": "r", "type": "string", "required": true}]}]}
--- http_config
    epro_instruments ../html/defs.json;
--- raw_request eval
post(subm(24, 'REL', '{"n":2.5,"d":1.75,"s":"four","b":"true","c":"0",'
     . '"m":1,"day":"2026-02-29","at":"2026-01-31","r":[]}'))
--- error_code: 422
--- error_paths
["/answers/n", "/answers/d", "/answers/s", "/answers/b", "/answers/c",
 "/answers/m", "/answers/day", "/answers/at", "/answers/r"]
--- error_count: 9
--- response_body_like eval
qr/"n: must be an integer".*"d: 1.75 is above the maximum 1.5".*"s: 4 characters, at most 3 allowed".*"b: must be true or false".*"c: not one of the 3 choices".*"m: must be a list of values".*"day: must be a date \(YYYY-MM-DD\)".*"at: must be an RFC 3339 date-time".*"r: is required by REL"/
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID24@'
--- sql_result
0



=== TEST 22: a contract error: the instrument is not checked
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post(sub_json(submissionId => '"@ID25@"', studyId => undef,
              collectedAt => ts(-3600), answers => phq9_answers(PHQ9_3 => 7)))
--- error_code: 422
--- error_paths
["/studyId"]
--- error_count: 1
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID25@'
--- sql_result
0



=== TEST 23: a definitions file with max below min: nginx does not start
--- user_files
>>> broken.json
{"instruments": [{"code": "X", "items": [
    {"id": "a", "type": "integer", "min": 0, "max": 3},
    {"id": "b", "type": "integer", "min": 4, "max": 3}]}]}
--- config
    location = /s {
        epro_submit;
        epro_instruments ../html/broken.json;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid instruments file "[^"]*\/html\/broken\.json": \/instruments\/0\/items\/1\/max: is below min/



=== TEST 24: a definitions file with an unknown member: its pointer
--- user_files
>>> broken.json
{"instruments": [{"code": "X", "items": [
    {"id": "a", "type": "integer", "maximum": 3}]}]}
--- http_config
    epro_instruments ../html/broken.json;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid instruments file "[^"]*\/html\/broken\.json": \/instruments\/0\/items\/0\/maximum: unknown member/



=== TEST 25: a definitions file with a trailing comma: not strict JSON, the byte
--- user_files
>>> broken.json
{"instruments": [{"code": "X", "items": [{"id": "a", "type": "date"},]}]}
--- http_config
    epro_instruments ../html/broken.json;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid instruments file "[^"]*\/html\/broken\.json": \/instruments\/0\/items\/1: malformed JSON at byte 69: /



=== TEST 26: a definitions file that is not JSON at all
--- user_files
>>> broken.json
instruments:
  - code: PHQ-9
--- http_config
    epro_instruments ../html/broken.json;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid instruments file "[^"]*\/html\/broken\.json": malformed JSON at byte 0: /



=== TEST 27: an empty definitions file
--- user_files
>>> empty.json
--- http_config
    epro_instruments ../html/empty.json;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid instruments file "[^"]*\/html\/empty\.json": the file is empty/



=== TEST 28: a duplicate instrument code: its pointer
--- user_files
>>> dup.json
{"instruments": [
  {"code": "A", "items": [{"id": "a", "type": "integer"}]},
  {"code": "A", "items": [{"id": "a", "type": "integer"}]}]}
--- http_config
    epro_instruments ../html/dup.json;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid instruments file "[^"]*\/html\/dup\.json": \/instruments\/1\/code: duplicate code/



=== TEST 29: a missing definitions file: nginx does not start and names it
--- config
    location = /s {
        epro_submit;
        epro_instruments /nonexistent/epro-013/no-such-instruments.json;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"\/nonexistent\/epro-013\/no-such-instruments\.json" failed \(2: No such file or directory\)/



=== TEST 30: epro_instrument_policy strict without epro_instruments: nginx does not start
--- config
    location = /s {
        epro_submit;
        epro_instrument_policy strict;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_instrument_policy" other than "off" needs "epro_instruments"/



=== TEST 31: epro_instrument_policy known in http without epro_instruments: nginx does not start
--- http_config
    epro_instrument_policy known;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_instrument_policy" other than "off" needs "epro_instruments"/



=== TEST 32: epro_instrument_policy off without epro_instruments: fine
--- config
    location = /s {
        epro_submit;
        epro_instrument_policy off;
    }
--- raw_request eval
post(phq(26, PHQ9_3 => 9))
--- error_code: 201
--- sql
SELECT answers->>'PHQ9_3' FROM epro_submissions WHERE submission_id = '@ID26@'
--- sql_result
9



=== TEST 33: epro_instrument_policy with a bad value
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    epro_instrument_policy lenient;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*invalid value "lenient" in \S+nginx\.conf:\d+/



=== TEST 34: epro_instruments twice in one block
--- config
    location = /s {
        epro_submit;
        epro_instruments $TEST_NGINX_EPRO_SHIPPED;
        epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_instruments" directive is duplicate/



=== TEST 35: a reload (HUP) picks up a changed definitions file
--- http_config
    epro_instruments $TEST_NGINX_EPRO_RELOAD;
--- raw_request eval
post(subm(27, 'RL', '{"q1":5}'))
--- error_code: 201
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID27@"]}
--- post_check
main::write_defs($ENV{TEST_NGINX_EPRO_RELOAD}, $main::Defs{reload_new});
Epro::hup(wait => 1);
# refused before and after (q2), so nothing is stored while waiting
my $r = main::poll(main::subm(28, 'RL', '{"q1":5,"q2":10}'),
                   qr/q1: 5 is above the maximum 3/);
is($r->[0], 422, 'after the reload: 422');
like($r->[1], qr/"q1: 5 is above the maximum 3"/,
     'after the reload: the new maximum');
like($r->[1], qr/"q2: 10 is above the maximum 9"/,
     'after the reload: the unchanged rule');
($r) = post_many('/s', main::subm(29, 'RL', '{"q1":5}'));
is($r->[0], 422, 'what was accepted before the reload is refused');
($r) = post_many('/s', main::subm(30, 'RL', '{"q1":3}'));
is($r->[0], 201, 'within the new maximum: 201');
main::write_defs($ENV{TEST_NGINX_EPRO_RELOAD}, $main::Defs{reload});
--- sql
SELECT submission_id, answers->>'q1' FROM epro_submissions WHERE submission_id IN ('@ID27@', '@ID28@', '@ID29@', '@ID30@') ORDER BY answers->>'q1' DESC
--- sql_result
@ID27@|5
@ID30@|3



=== TEST 36: a reload with a broken definitions file keeps the old rules
--- http_config
    epro_instruments $TEST_NGINX_EPRO_BROKEN;
--- raw_request eval
post(subm(31, 'RB', '{"q1":2}'))
--- error_code: 201
--- post_check
main::write_defs($ENV{TEST_NGINX_EPRO_BROKEN}, $main::Defs{broken_new});
Epro::hup();
ok(wait_log(qr/invalid instruments file/),
   'the failed reload is logged');
my ($r) = post_many('/s', main::subm(32, 'RB', '{"q1":3}'));
is($r->[0], 201, 'the old definitions still accept');
($r) = post_many('/s', main::subm(33, 'RB', '{"q1":4}'));
is($r->[0], 422, 'the old definitions still refuse');
like($r->[1], qr/q1: 4 is above the maximum 3/, 'the old maximum');
main::write_defs($ENV{TEST_NGINX_EPRO_BROKEN}, $main::Defs{broken});
--- sql
SELECT submission_id FROM epro_submissions WHERE submission_id IN ('@ID31@', '@ID32@', '@ID33@') ORDER BY answers->>'q1'
--- sql_result
@ID31@
@ID32@
--- error_log eval
qr/\[emerg\] .*invalid instruments file "[^"]*rb\.json": \/instruments\/0\/items: must be an array of 1 to 1000 items/



=== TEST 37: the default clock skew (5m): collectedAt 10 minutes ahead is refused
--- raw_request eval
post(subm(34, 'PHQ-9', phq9_answers(), 600))
--- error_code: 422
--- error_paths
["/collectedAt"]
--- error_count: 1
--- response_body_like: "path":"/collectedAt","message":"is [\d.]+ s ahead of the server's clock, more than the 300 s allowed"
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID34@'
--- sql_result
0



=== TEST 38: the default clock skew (5m): collectedAt a minute ahead is accepted
--- raw_request eval
post(subm(35, 'PHQ-9', phq9_answers(), 60))
--- error_code: 201
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID35@'
--- sql_result
1



=== TEST 39: epro_clock_skew 1m: collectedAt 10 minutes ahead is refused
--- http_config
    epro_clock_skew 1m;
--- raw_request eval
post(subm(36, 'PHQ-9', phq9_answers(), 600))
--- error_code: 422
--- error_paths
["/collectedAt"]
--- response_body_like: "message":"is [\d.]+ s ahead of the server's clock, more than the 60 s allowed"
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID36@'
--- sql_result
0



=== TEST 40: epro_clock_skew 1m: 20 seconds ahead, and in another offset, is accepted
--- config
    location = /s {
        epro_submit;
        epro_clock_skew 1m;
    }
--- raw_request eval
my $t = time + 20;
post('[' . subm(37, 'PHQ-9', phq9_answers(), 20) . ','
     . subm(38, 'PHQ-9', phq9_answers(),
            '"' . POSIX::strftime('%Y-%m-%dT%H:%M:%S-05:00',
                                  gmtime($t - 5 * 3600)) . '"') . ']')
--- error_code: 201
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID37@', '@ID38@')
--- sql_result
2



=== TEST 41: epro_clock_skew off: collectedAt 10 minutes (and a year) ahead is accepted
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    epro_clock_skew off;
--- raw_request eval
post('[' . subm(39, 'PHQ-9', phq9_answers(), 600) . ','
     . subm(40, 'PHQ-9', phq9_answers(), 366 * 86400) . ']')
--- error_code: 201
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID39@', '@ID40@') AND collected_at > now()
--- sql_result
2



=== TEST 42: epro_max_age 1d: collectedAt 3 days ago is refused
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    epro_max_age 1d;
--- raw_request eval
post(subm(41, 'PHQ-9', phq9_answers(), -3 * 86400))
--- error_code: 422
--- error_paths
["/collectedAt"]
--- error_count: 1
--- response_body_like: "path":"/collectedAt","message":"is older than the 86400 s accepted"
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID41@'
--- sql_result
0



=== TEST 43: epro_max_age 1d: Unix seconds 3 days ago are refused too
--- config
    location = /s {
        epro_submit;
        epro_max_age 1d;
    }
--- raw_request eval
post(subm(42, 'PHQ-9', phq9_answers(), time - 3 * 86400))
--- error_code: 422
--- error_paths
["/collectedAt"]
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID42@'
--- sql_result
0



=== TEST 44: epro_max_age 1d: an hour ago is accepted
--- http_config
    epro_max_age 1d;
--- raw_request eval
post(subm(43, 'PHQ-9', phq9_answers(), -3600))
--- error_code: 201
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID43@'
--- sql_result
1



=== TEST 45: no epro_max_age (off): three years ago is accepted
--- raw_request eval
post(subm(44, 'PHQ-9', phq9_answers(), -3 * 365 * 86400))
--- error_code: 201
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID44@'
--- sql_result
1



=== TEST 46: epro_max_age 1d in http, off in the location
--- http_config
    epro_max_age 1d;
--- config
    location = /s {
        epro_submit;
        epro_max_age off;
    }
--- raw_request eval
post(subm(45, 'PHQ-9', phq9_answers(), -3 * 86400))
--- error_code: 201
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID45@'
--- sql_result
1



=== TEST 47: the clock and the instrument in one submission: both reported
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
    epro_max_age 1d;
--- raw_request eval
post('[' . phq(46) . ','
     . subm(47, 'PHQ-9', phq9_answers(PHQ9_3 => 7), -3 * 86400) . ']')
--- error_code: 422
--- error_paths
["/1/collectedAt", "/1/answers/PHQ9_3"]
--- error_count: 2
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id IN ('@ID46@', '@ID47@')
--- sql_result
0



=== TEST 48: a contract error: the clock is not checked
--- http_config
    epro_clock_skew 1m;
--- raw_request eval
post(sub_json(submissionId => '"@ID48@"', visitName => undef,
              collectedAt => ts(3600)))
--- error_code: 422
--- error_paths
["/visitName"]
--- error_count: 1
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID48@'
--- sql_result
0



=== TEST 49: epro_clock_skew with a bad value
--- http_config
    epro_clock_skew soon;
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_clock_skew" directive invalid value/



=== TEST 50: epro_max_age twice in one block
--- config
    location = /s {
        epro_submit;
        epro_max_age 1d;
        epro_max_age 2d;
    }
--- request
GET /s
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"epro_max_age" directive is duplicate/



=== TEST 51: more than 20 errors, then a submission without answers: 422, no crash
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post('[{"x":0},{"x":0},{"x":0},{"instrument":"PHQ-9"},'
     . '{"instrument":"PHQ-9","answers":[1]}]')
--- error_code: 422
--- response_body_like: "truncated":true
--- no_error_log
[alert]
[error]



=== TEST 52: a repeated submissionId is reported beside the instruments' errors
--- http_config
    epro_instruments $TEST_NGINX_EPRO_SHIPPED;
--- raw_request eval
post('[' . subm(52, 'PHQ-0', '{"q1":1}') . ','
     . subm(52, 'PHQ-9', phq9_answers(PHQ9_3 => 7)) . ','
     . sub_json(submissionId => '"@UID52@"', instrument => '"PHQ-9"',
                collectedAt => '1700000000', answers => phq9_answers())
     . ']')
--- error_code: 422
--- error_paths
["/0/instrument", "/1/answers/PHQ9_3", "/1/submissionId", "/2/submissionId"]
--- error_count: 4
--- sql
SELECT count(*) FROM epro_submissions WHERE submission_id = '@ID52@'
--- sql_result
0
