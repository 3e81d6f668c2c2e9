# The request body reaching the handler in different shapes: several
# memory buffers, a temporary file, client_body_in_file_only, chunked
# Transfer-Encoding, a large array and a submission with many answers.
# Each stores exactly the rows sent, and each row's payload column is the
# element's text exactly as sent.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Digest::MD5 qw(md5_hex);
use Encode ();
use Epro qw(:DEFAULT created sub_json);

# Submissions built here, byte strings (no "use utf8"): payload is compared
# byte for byte with what PostgreSQL stores, through md5() for long ones.

# one submission (Epro's sub_json()); %o: id, subject, note (a text
# answer), answers (the "answers" object's text), ws (1: odd but valid
# whitespace inside)
sub submission {
    my (%o) = @_;

    my $answers = $o{answers}
        // '{"PHQ9_1":1,"PHQ9_2":[0,1],"PHQ9_3":"x","PHQ9_4":true,'
           . '"PHQ9_5":null'
           . (defined $o{note} ? ",\"note\":\"$o{note}\"" : '') . '}';

    my $j = sub_json(submissionId => "\"$o{id}\"", studyId => '"STUDY-006"',
                     siteId => '"SITE-01"',
                     subjectId => '"' . ($o{subject} // 'S006') . '"',
                     visitName => '"Week 4"', instrument => '"PHQ-9"',
                     collectedAt => '"2026-11-20T08:15:00+01:00"',
                     answers => $answers);

    if ($o{ws}) {
        $j =~ s/,"/,\n\t  "/g;
        $j =~ s/":/" :  /g;
    }

    return $j;
}

# the 201 body naming @_
sub ids_json { created(scalar @_, 0, @_) }

# rows of the given ids, in id order: id|md5(payload)
sub md5_sql {
    my ($table, @ids) = @_;
    return "SELECT submission_id, md5(payload) FROM $table WHERE "
        . "submission_id IN (" . CORE::join(',', map { "'$_'" } @ids) . ") "
        . "ORDER BY submission_id::text";
}

sub md5_result {
    my (%by_id) = @_;
    return join '', map { "$_|" . md5_hex($by_id{$_}) . "\n" }
                    sort keys %by_id;
}

# a raw HTTP/1.1 request cut into packets at the given body offsets
sub raw_post {
    my ($body, $headers, @cuts) = @_;

    my $head = "POST /s HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\nConnection: close\r\n"
        . ($headers // 'Content-Length: ' . length($body) . "\r\n")
        . "\r\n";

    my @packets;
    my $from = 0;

    for my $cut ((sort { $a <=> $b } @cuts), length $body) {
        push @packets, substr($body, $from, $cut - $from);
        $from = $cut;
    }

    $packets[0] = $head . $packets[0];
    return \@packets;
}

sub chunked {
    my ($body, @sizes) = @_;
    my $out = '';
    my $from = 0;

    for my $size (@sizes, length($body)) {
        $size = length($body) - $from if $from + $size > length $body;
        next if $size == 0;
        $out .= sprintf("%x\r\n", $size) . substr($body, $from, $size)
                . "\r\n";
        $from += $size;
        last if $from >= length $body;
    }

    return $out . "0\r\n\r\n";
}

# a JSON string's text (escapes kept) of at least $n bytes, different for
# each $i, with UTF-8 and escapes in it
sub note {
    my ($i, $n) = @_;
    my $s = '';
    my $k = 0;
    $s .= "line $i." . ++$k . " caf\xc3\xa9 \\\"q\\\" \\\\ \\u00e9 \\/ "
        while length $s < $n;
    return $s;
}

our (%T, %B);

# 1: several memory buffers, cut inside a UTF-8 character and an escape
{
    my @ids = (uuid(), uuid());
    my @e = (submission(id => $ids[0], ws => 1, note => note(1, 300)),
             submission(id => $ids[1], subject => "S006-\xc3\xa9\xe2\x82\xac",
                      note => note(2, 250)));
    my $body = "[\n  $e[0] ,\r\n\t$e[1]\n]";
    my $euro = index($body, "\xe2\x82\xac") + 1;
    my $esc = index($body, '\\u00e9') + 3;

    $T{mem} = { ids => \@ids, e => \@e,
                req => raw_post($body, undef, 100, $euro, $esc) };
}

# 2: the same, small enough for the header buffer, in 4 packets
{
    my @ids = (uuid());
    my @e = (submission(id => $ids[0], ws => 1));
    my $body = " $e[0] ";

    $T{small} = { ids => \@ids, e => \@e,
                  req => raw_post($body, undef, 1, 50, 200) };
}

# 3: ~60 KB, through a temporary file
{
    my @ids = map { uuid() } 1 .. 60;
    my @e = map { submission(id => $ids[$_], ws => $_ % 2,
                           note => note($_, 800)) } 0 .. 59;

    $T{file} = { ids => \@ids, e => \@e,
                 body => "[" . join(",\n", @e) . "]" };
}

# 4: client_body_in_file_only, a single object
{
    my @ids = (uuid());
    my @e = (submission(id => $ids[0], ws => 1, note => note(4, 100)));

    $T{only} = { ids => \@ids, e => \@e, body => $e[0] };
}

# 5: client_body_in_file_only, ~60 KB sent in pieces
{
    my @ids = map { uuid() } 1 .. 60;
    my @e = map { submission(id => $ids[$_], note => note($_, 900)) } 0 .. 59;
    my $body = "[" . join(",", @e) . "]";

    $T{only_big} = { ids => \@ids, e => \@e,
                     req => raw_post($body, undef, 10, 20000, 40000) };
}

# 6: chunked, several chunks in one packet
{
    my @ids = (uuid(), uuid(), uuid());
    my @e = map { submission(id => $_, ws => 1, note => note(6, 120)) } @ids;
    my $body = "[" . join(", ", @e) . "]";

    $T{chunked} = { ids => \@ids, e => \@e,
        req => raw_post(chunked($body, 1, 7, 100, 333),
                        "Transfer-Encoding: chunked\r\n") };
}

# 7: chunked, chunks cut across packets (inside the size line, the data
#    and the CRLF)
{
    my @ids = (uuid(), uuid());
    my @e = map { submission(id => $_, note => note(7, 200)) } @ids;
    my $c = chunked("[" . join(",", @e) . "]", 300, 5, 200);

    $T{chunked_split} = { ids => \@ids, e => \@e,
        req => raw_post($c, "Transfer-Encoding: chunked\r\n",
                        1, 150, index($c, "\r\n5\r\n") + 1,
                        index($c, "\r\n5\r\n") + 7, length($c) - 3) };
}

# 8: chunked, ~60 KB, through a temporary file
{
    my @ids = map { uuid() } 1 .. 60;
    my @e = map { submission(id => $ids[$_], note => note($_, 850)) } 0 .. 59;
    my $c = chunked("[" . join(",", @e) . "]", map { 1000 + $_ } 1 .. 70);

    $T{chunked_file} = { ids => \@ids, e => \@e,
        req => raw_post($c, "Transfer-Encoding: chunked\r\n",
                        4000, 30000) };
}

# 9: 100 submissions, ~100 KB
{
    my @ids = map { uuid() } 1 .. 100;
    my @e = map { submission(id => $ids[$_], ws => $_ % 3 == 0,
                           subject => sprintf('S006-%03d', $_),
                           note => note($_, 880)) } 0 .. 99;

    $T{hundred} = { ids => \@ids, e => \@e,
                    body => "[" . join(",", @e) . "]" };
}

# 10: one submission with 200 answers
{
    my @ids = (uuid());
    my $answers = '{' . CORE::join(',', map {
        my $v = $_ % 5 == 0 ? "\"text $_ \\u00e9\""
              : $_ % 5 == 1 ? '[1,2.5,"a",true,null]'
              : $_ % 5 == 2 ? 'false'
              : $_ % 5 == 3 ? '-1.5e3' : $_;
        "\"ITEM_$_\":$v" } 1 .. 200) . '}';
    my @e = (submission(id => $ids[0], answers => $answers));

    $T{answers200} = { ids => \@ids, e => \@e, body => $e[0],
                       answers => $answers };
}

# 11: two pipelined requests: each body shares a buffer with the next
#     request's bytes
{
    my @ids = (uuid(), uuid(), uuid());
    my @e = (submission(id => $ids[0], ws => 1, note => note(11, 200)),
             submission(id => $ids[1], note => note(12, 100)),
             submission(id => $ids[2], ws => 1));

    $T{pipelined} = { ids => \@ids, e => \@e,
                      bodies => [$e[0], "[$e[1],$e[2]]"] };
}

for my $t (values %T) {
    $t->{md5} = md5_result(map { $t->{ids}[$_] => $t->{e}[$_] }
                           0 .. $#{ $t->{ids} });
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a body read in several memory buffers (cut inside a UTF-8 character and an escape)
--- config
    client_body_buffer_size 1k;
    location = /s { epro_submit; }
--- raw_request eval
$::T{mem}{req}
--- raw_request_middle_delay: 0.2
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{mem}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{mem}{ids} })
--- sql_result eval
$::T{mem}{md5}
--- grep_error_log eval
qr/http body new buf t:1 f:0/
--- grep_error_log_out eval
qr/\A(?:http body new buf t:1 f:0\n){3,}\z/
--- no_error_log
buffered to a temporary file
[error]
[alert]



=== TEST 2: the rows of TEST 1: one row each, columns from each element
--- request
GET /s
--- error_code: 405
--- sql eval
Encode::decode_utf8("SELECT subject_id, answers->'note' = '\"" . ::note(2, 250) . "\"'::jsonb, "
. "count(*) OVER () FROM epro_submissions WHERE submission_id IN ('"
. CORE::join("','", @{ $::T{mem}{ids} }) . "') ORDER BY submission_id = '"
. $::T{mem}{ids}[1] . "'")
--- sql_result eval
"S006|0|2\nS006-\x{e9}\x{20ac}|1|2\n"



=== TEST 3: a small body sent in 4 packets, kept in the header buffer
--- config
    client_body_buffer_size 1k;
    location = /s { epro_submit; }
--- raw_request eval
$::T{small}{req}
--- raw_request_middle_delay: 0.1
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{small}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{small}{ids} })
--- sql_result eval
$::T{small}{md5}
--- grep_error_log eval
qr/http body new buf t:1 f:0/
--- grep_error_log_out eval
qr/\A(?:http body new buf t:1 f:0\n){3,}\z/
--- no_error_log
buffered to a temporary file
[error]
[alert]



=== TEST 4: ~60 KB through a temporary file (client_body_buffer_size 1k)
--- config
    client_body_buffer_size 1k;
    location = /s { epro_submit; }
--- request eval
"POST /s\n$::T{file}{body}"
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{file}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{file}{ids} })
--- sql_result eval
$::T{file}{md5}
--- error_log
a client request body is buffered to a temporary file



=== TEST 5: client_body_in_file_only on, one object
--- config
    client_body_in_file_only on;
    location = /s { epro_submit; }
--- request eval
"POST /s\n$::T{only}{body}"
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{only}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{only}{ids} })
--- sql_result eval
$::T{only}{md5}
--- error_log
a client request body is buffered to a temporary file



=== TEST 6: client_body_in_file_only on, ~60 KB in 4 packets
--- config
    client_body_in_file_only on;
    client_body_buffer_size 1k;
    location = /s { epro_submit; }
--- raw_request eval
$::T{only_big}{req}
--- raw_request_middle_delay: 0.05
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{only_big}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{only_big}{ids} })
--- sql_result eval
$::T{only_big}{md5}
--- error_log
a client request body is buffered to a temporary file



=== TEST 7: chunked Transfer-Encoding, several chunks in one packet
--- raw_request eval
$::T{chunked}{req}
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{chunked}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{chunked}{ids} })
--- sql_result eval
$::T{chunked}{md5}
--- grep_error_log eval
qr/http body new buf t:1 f:0/
--- grep_error_log_out eval
qr/\A(?:http body new buf t:1 f:0\n){3,}\z/
--- error_log
http request body chunked filter



=== TEST 8: chunked, chunks cut across packets, small buffers in memory
--- config
    client_body_buffer_size 1k;
    location = /s { epro_submit; }
--- raw_request eval
$::T{chunked_split}{req}
--- raw_request_middle_delay: 0.1
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{chunked_split}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{chunked_split}{ids} })
--- sql_result eval
$::T{chunked_split}{md5}
--- grep_error_log eval
qr/http body new buf t:1 f:0/
--- grep_error_log_out eval
qr/\A(?:http body new buf t:1 f:0\n){3,}\z/
--- error_log
http request body chunked filter
--- no_error_log
buffered to a temporary file
[error]
[alert]



=== TEST 9: chunked, ~60 KB through a temporary file
--- config
    client_body_buffer_size 1k;
    location = /s { epro_submit; }
--- raw_request eval
$::T{chunked_file}{req}
--- raw_request_middle_delay: 0.05
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{chunked_file}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{chunked_file}{ids} })
--- sql_result eval
$::T{chunked_file}{md5}
--- error_log
a client request body is buffered to a temporary file
http request body chunked filter



=== TEST 10: an array of 100 submissions (~100 KB), all stored
--- request eval
"POST /s\n$::T{hundred}{body}"
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{hundred}{ids} })
--- sql eval
::md5_sql('epro_submissions', @{ $::T{hundred}{ids} })
--- sql_result eval
$::T{hundred}{md5}



=== TEST 11: the rows of TEST 10: 100 rows, subjects in order
--- request
GET /s
--- error_code: 405
--- sql eval
"SELECT count(*), string_agg(subject_id, ',' ORDER BY subject_id), "
. "count(DISTINCT received_at), min(length(payload)) > 1000 "
. "FROM epro_submissions WHERE submission_id IN ('"
. CORE::join("','", @{ $::T{hundred}{ids} }) . "')"
--- sql_result eval
"100|" . CORE::join(',', map { sprintf 'S006-%03d', $_ } 0 .. 99) . "|1|1\n"



=== TEST 12: one submission with 200 answers
--- request eval
"POST /s\n$::T{answers200}{body}"
--- error_code: 201
--- response_body eval
::ids_json(@{ $::T{answers200}{ids} })
--- sql eval
"SELECT md5(payload), (SELECT count(*) FROM jsonb_object_keys(answers)), "
. "answers = '$::T{answers200}{answers}'::jsonb, "
. "answers->>'ITEM_200', answers->'ITEM_6' "
. "FROM epro_submissions WHERE submission_id = '$::T{answers200}{ids}[0]'"
--- sql_result eval
Digest::MD5::md5_hex($::T{answers200}{body}) . "|200|1|text 200 \x{e9}|[1, 2.5, \"a\", true, null]\n"



=== TEST 13: two pipelined requests on one connection, both bodies in one buffer
--- more_headers
Content-Type: application/json
--- pipelined_requests eval
["POST /s\n$::T{pipelined}{bodies}[0]", "POST /s\n$::T{pipelined}{bodies}[1]"]
--- error_code eval
[201, 201]
--- response_body eval
[::ids_json($::T{pipelined}{ids}[0]), ::ids_json(@{ $::T{pipelined}{ids} }[1, 2])]
--- sql eval
::md5_sql('epro_submissions', @{ $::T{pipelined}{ids} })
--- sql_result eval
$::T{pipelined}{md5}
