# Strict RFC 8259: what is malformed JSON (400), what is well-formed but
# not storable (422), and valid edge cases stored exactly as sent (201).
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Epro;
use EproCheck;

our %B = (
    pair    => q1('"\ud83d\ude00"', submissionId => '"@ID10@"'),
    emoji   => q1(qq{"\xf0\x9f\x98\x80 ok"}, submissionId => '"@ID11@"',
                  subjectId => qq{"P\xf0\x9f\x98\x80"}),
    mzero   => q1('-0', submissionId => '"@ID12@"'),
    exp     => q1('[1E+2, 1e-2, 0.5e1, -1.25E2]', submissionId => '"@ID13@"'),
    ws      => " \r\n\t" . '{ "submissionId" : "@ID14@" ,' . "\n\t"
               . '"studyId":"S1", "subjectId":"P1","visitName":"W1",'
               . "\r\n" . '"instrument":"PHQ-9","collectedAt":"2026-11-20T08:00:00Z",'
               . '"answers" : { "q1" : [ 1 , 2 ] } }' . "\n\r\t ",
    eacute  => q1('"caf\u00e9 \u00C9"', submissionId => '"@ID15@"',
                  studyId => '"S\u00e9"'),
    escapes => q1('"\"\\\\\/\b\f\n\r\t"', submissionId => '"@ID16@"'),
    e308    => q1('1e308', submissionId => '"@ID17@"'),
    n64     => q1('[' . ('1' x 64) . ',-' . ('9' x 63) . ',0.' . ('5' x 62) . ']', submissionId => '"@ID20@"'),
    upper   => q1('"\uD83D\uDE00\u00C9"', submissionId => '"@ID21@"'),
    array   => "[\n  " . sub_json(submissionId => '"@ID18@"') . " ,\n\t"
               . q1('{}', submissionId => '"@ID19@"', answers => '{"q1" :  "x"}') . "\n]",
);

no_error_log_default("[warn]\n[error]\n[alert]");
no_shuffle();
run_tests();

__DATA__

=== TEST 1: -01 (leading zero)
--- raw_request eval
post(q1('-01'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 2: 2. (no digit after the point)
--- raw_request eval
post(q1('2.'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 3: 0.e1
--- raw_request eval
post(q1('0.e1'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 4: .5
--- raw_request eval
post(q1('.5'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 5: +1
--- raw_request eval
post(q1('+1'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 6: 1e (empty exponent)
--- raw_request eval
post(q1('1e'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 7: NaN
--- raw_request eval
post(q1('NaN'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 8: Infinity
--- raw_request eval
post(q1('Infinity'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 9: -Infinity
--- raw_request eval
post(q1('-Infinity'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 10: a bare minus
--- raw_request eval
post(q1('-'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 11: a raw tab inside a string
--- raw_request eval
post(q1(qq{"a\tb"}))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 12: a raw newline inside a string
--- raw_request eval
post(q1(qq{"a\nb"}))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 13: a raw DEL-free control character 0x1f inside a string
--- raw_request eval
post(q1(qq{"a\x1fb"}))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 14: invalid escape \x
--- raw_request eval
post(q1('"a\\x41"'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 15: invalid escape \U (uppercase)
--- raw_request eval
post(q1('"\\U00e9"'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 16: invalid \u12G4
--- raw_request eval
post(q1('"\\u12G4"'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 17: a \u escape cut short by the closing quote
--- raw_request eval
post(q1('"\\u12"'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 18: single quotes around a string
--- raw_request eval
post(sub_json(studyId => q{'S1'}))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 19: single quotes around a member name
--- raw_request eval
post(sub_json(answers => q{{'q1':1}}))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 20: a raw tab inside a member name
--- raw_request eval
post(sub_json(answers => qq{{"q\t1":1}}))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 21: a trailing comma in an object (answers)
--- raw_request eval
post(sub_json(answers => '{"q1":1,}'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 22: a trailing comma in the top-level object
--- raw_request eval
my $b = sub_json(); $b =~ s/\}$/,}/; post($b)
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 23: a trailing comma in an array
--- raw_request eval
post(q1('[1,2,]'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1/2"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 24: an empty element in an array
--- raw_request eval
post(q1('[1,,2]'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1/1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 25: a block comment before the body
--- raw_request eval
post('/* c */ ' . sub_json())
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 26: a line comment inside an object
--- raw_request eval
my $b = sub_json(); $b =~ s/"studyId":/"studyId": \/\/ c\n/; post($b)
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 27: bytes after the value: {} {}
--- raw_request eval
post(sub_json() . ' {}')
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 28: bytes after the value: {}x
--- raw_request eval
post(sub_json() . 'x')
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 29: a second value after a newline
--- raw_request eval
post(sub_json() . "\n" . sub_json())
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 30: an unterminated string
--- raw_request eval
post('{"submissionId":"@ID1@","studyId":"S1')
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 31: an unterminated string ending in a backslash
--- raw_request eval
post('{"studyId":"S1\\')
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 32: an unterminated object
--- raw_request eval
my $b = sub_json(); $b =~ s/\}$//; post($b)
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 33: a missing colon
--- raw_request eval
post(sub_json(answers => '{"q1" 1}'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 34: nesting 65 deep (63 arrays in an answer)
--- raw_request eval
post(q1(('[' x 63) . (']' x 63)))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths eval
'["/answers/q1' . ('/0' x 62) . '"]'
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 35: an invalid literal (tru)
--- raw_request eval
post(q1('tru'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 36: an uppercase literal (True)
--- raw_request eval
post(q1('True'))
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 37: an empty body
--- raw_request eval
post('')
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 38: a whitespace-only body
--- raw_request eval
post(" \r\n\t ")
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 39: a bare BOM
--- raw_request eval
post("\xef\xbb\xbf")
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 40: a BOM before a valid object
--- raw_request eval
post("\xef\xbb\xbf" . sub_json())
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 41: a NUL byte after the value
--- raw_request eval
post(sub_json() . "\x00")
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 42: form feed is not JSON white space
--- raw_request eval
post("\f" . sub_json())
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- error_paths
[""]
--- error_log eval
qr/\[info\] .*epro: malformed JSON/



=== TEST 43: a 0xff byte inside a string
--- raw_request eval
post(q1("\"a\xffb\""))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 44: an overlong sequence c0 af inside a string
--- raw_request eval
post(q1("\"a\xc0\xafb\""))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 45: a UTF-8 encoded surrogate ed a0 80 inside a string
--- raw_request eval
post(q1("\"\xed\xa0\x80\""))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 46: a truncated 3-byte sequence inside a string
--- raw_request eval
post(q1("\"a\xe2\x82\""))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 47: a code point above U+10FFFF (f4 90 80 80)
--- raw_request eval
post(q1("\"\xf4\x90\x80\x80\""))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 48: invalid UTF-8 in studyId
--- raw_request eval
post(sub_json(studyId => "\"S\xff\""))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/studyId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 49: invalid UTF-8 in an item id
--- raw_request eval
post(sub_json(answers => "{\"q\xff\":1}"))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 50: \u0000 inside a string
--- raw_request eval
post(q1('"a\\u0000b"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 51: an unpaired high surrogate \ud800
--- raw_request eval
post(q1('"\\ud800"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 52: an unpaired low surrogate \udc00
--- raw_request eval
post(q1('"\\udc00"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 53: a high surrogate followed by a non-surrogate \ud800\u0041
--- raw_request eval
post(q1('"\\ud800\\u0041"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 54: two high surrogates \ud800\ud800
--- raw_request eval
post(q1('"\\ud800\\ud800"'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 55: a number with exponent 400
--- raw_request eval
post(q1('1e400'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 56: a number with exponent +309
--- raw_request eval
post(q1('-2.5E+309'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 57: a number of 65 characters
--- raw_request eval
post(q1('1' x 65))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 58: several content errors are all reported
--- raw_request eval
post(q1('"\\u0000"', studyId => '"\\udc00"', subjectId => "\"\xff\""))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1","/studyId","/subjectId"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 59: more than 20 bad strings: 20 errors and "truncated":true
--- raw_request eval
post(sub_json(answers => '{' . CORE::join(',', map { qq{"i$_":"\\u0000"} } 1 .. 25) . '}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/i1", "/answers/i2", "/answers/i3", "/answers/i4", "/answers/i5", "/answers/i6", "/answers/i7", "/answers/i8", "/answers/i9", "/answers/i10", "/answers/i11", "/answers/i12", "/answers/i13", "/answers/i14", "/answers/i15", "/answers/i16", "/answers/i17", "/answers/i18", "/answers/i19", "/answers/i20"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/
--- error_count: 20
--- truncated: 1



=== TEST 60: an error inside the second submission of an array: path /1/...
--- raw_request eval
post(arr(sub_json(), q1('"\\ud800"', submissionId => '"@ID2@"')))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/1/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 61: the path of an escaped item id is the decoded id (q\u0031 is /answers/q1)
--- raw_request eval
post(sub_json(answers => '{"q\\u0031":"\\u0000"}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 62: the path of an item id with "/" and "~" is escaped (RFC 6901)
--- raw_request eval
post(sub_json(answers => '{"a/b~c":"\\u0000"}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/a~1b~0c"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 63: the path of an item id with an escaped "/" is escaped too
--- raw_request eval
post(sub_json(answers => '{"a\\/b":"\\u0000"}'))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/a~1b"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 64: nesting 64 deep passes the JSON check, the contract refuses nested arrays
--- raw_request eval
post(q1(('[' x 62) . (']' x 62)))
--- error_code: 422
--- response_headers
Content-Type: application/problem+json
--- error_paths
["/answers/q1"]
--- error_log eval
qr/\[info\] .*epro: invalid submission/



=== TEST 65: the escaped surrogate pair \ud83d\ude00 is U+1F600; payload kept as sent
--- raw_request eval
post($main::B{pair})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID10@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers->>'q1' = chr(128512) FROM epro_submissions WHERE submission_id IN ('@ID10@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{pair}) . "|1\n"
--- no_error_log
[error]
[alert]



=== TEST 66: a literal 4-byte UTF-8 emoji in an answer and in subjectId
--- raw_request eval
post($main::B{emoji})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID11@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers->>'q1' = chr(128512) || ' ok', subject_id = 'P' || chr(128512) FROM epro_submissions WHERE submission_id IN ('@ID11@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{emoji}) . "|1|1\n"
--- no_error_log
[error]
[alert]



=== TEST 67: -0 is a number
--- raw_request eval
post($main::B{mzero})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID12@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers->'q1' = '0'::jsonb FROM epro_submissions WHERE submission_id IN ('@ID12@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{mzero}) . "|1\n"
--- no_error_log
[error]
[alert]



=== TEST 68: exponents: 1E+2, 1e-2, 0.5e1, -1.25E2
--- raw_request eval
post($main::B{exp})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID13@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers->'q1' = '[100, 0.01, 5, -125]'::jsonb FROM epro_submissions WHERE submission_id IN ('@ID13@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{exp}) . "|1\n"
--- no_error_log
[error]
[alert]



=== TEST 69: white space around and inside the value: the payload is the value as sent
--- raw_request eval
post($main::B{ws})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID14@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers::text FROM epro_submissions WHERE submission_id IN ('@ID14@') ORDER BY submission_id
--- sql_result eval
(my $v = $main::B{ws}) =~ s/^\s+|\s+$//g; hex_of($v) . qq{|{"q1": [1, 2]}\n}
--- no_error_log
[error]
[alert]



=== TEST 70: \u00e9 escapes are decoded in answers and in studyId, kept in payload
--- raw_request eval
post($main::B{eacute})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID15@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers->>'q1' = 'caf' || chr(233) || ' ' || chr(201), study_id = 'S' || chr(233) FROM epro_submissions WHERE submission_id IN ('@ID15@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{eacute}) . "|1|1\n"
--- no_error_log
[error]
[alert]



=== TEST 71: the short escapes \" \\ \/ \b \f \n \r \t
--- raw_request eval
post($main::B{escapes})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID16@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers->>'q1' = E'"\\/\b\f\n\r\t' FROM epro_submissions WHERE submission_id IN ('@ID16@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{escapes}) . "|1\n"
--- no_error_log
[error]
[alert]



=== TEST 72: exponent 308 is in range
--- raw_request eval
post($main::B{e308})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID17@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), (answers->>'q1')::numeric = 1e308 FROM epro_submissions WHERE submission_id IN ('@ID17@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{e308}) . "|1\n"
--- no_error_log
[error]
[alert]



=== TEST 73: numbers of 64 characters are in range
--- raw_request eval
post($main::B{n64})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID20@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), jsonb_array_length(answers->'q1'), (answers->'q1'->>0) = repeat('1', 64) FROM epro_submissions WHERE submission_id IN ('@ID20@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{n64}) . "|3|1\n"
--- no_error_log
[error]
[alert]



=== TEST 74: uppercase hex digits in \u escapes
--- raw_request eval
post($main::B{upper})
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"accepted":1,"duplicates":0,"ids":["@ID21@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers->>'q1' = chr(128512) || chr(201) FROM epro_submissions WHERE submission_id IN ('@ID21@') ORDER BY submission_id
--- sql_result eval
hex_of($main::B{upper}) . "|1\n"
--- no_error_log
[error]
[alert]



=== TEST 75: in an array each payload is the element's text exactly as sent
--- raw_request eval
post($main::B{array})
--- error_code: 201
--- response_body
{"accepted":2,"duplicates":0,"ids":["@ID18@","@ID19@"]}
--- sql
SELECT encode(convert_to(payload, 'UTF8'), 'hex'), answers::text FROM epro_submissions WHERE submission_id IN ('@ID18@', '@ID19@') ORDER BY submission_id
--- sql_result eval
hex_of(sub_json(submissionId => '"@ID18@"')) . qq{|{"q1": 1}\n}
. hex_of(q1('{}', submissionId => '"@ID19@"', answers => '{"q1" :  "x"}')) . qq{|{"q1": "x"}\n}
--- no_error_log
[error]
[alert]
