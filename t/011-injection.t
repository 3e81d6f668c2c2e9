# Strings that mean something to SQL or to PostgreSQL's array literals
# (quotes, backslashes, $$, ;, braces, commas, NULL, \N, newlines sent as
# JSON escapes...) in every text field, as item ids and in answers are
# stored verbatim: the columns, the answers and the payload are compared
# with what was sent, through DBI.  Rows are sent in one array (one
# array literal per column), one request at a time (a batch each), and
# as many requests gathered into one batch.
# Every block gets "--- no_error_log" [error] [alert] from t/lib/Epro.pm
# unless it names its own.
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Encode ();
use JSON::PP ();
use Epro qw(:DEFAULT created);

workers(1);
master_on();
worker_connections(1024);

our @Strings = (
    q{'}, q{''}, q{"}, q{""}, q{\\}, q{a\\}, q{\\"}, q{"\\}, q{\\\\\\},
    q{\\'}, q{$$}, q{$1}, q{$tag$ x $tag$}, q{;}, q{a;b},
    q{'); DROP TABLE epro_submissions; --},
    q{"); DROP TABLE epro_submissions; --},
    q{x' OR '1'='1}, q[{], q[}], q[{}], q[{a,b}], q[{"a","b"}], q[{NULL}],
    q[}{], q{NULL}, q{null}, q{Null}, q{\N}, q{\\N}, q{,}, q{a,b}, q{,,},
    qq{line1\nline2}, qq{\r\n}, qq{tab\there}, qq{\\n}, q{ leading},
    q{trailing }, q{ }, q{[1:1]={x}}, q{/* c */ --}, q{%s%n%x},
    qq{\x{e9}\x{20ac}\x{1f600}}, q{E'\\x41'}, q{::text}, q{:q1},
    q{"a":1}, q{\"}, qq{"\\\n,"},
);

our $Json = JSON::PP->new->canonical;

# One submission with $s in every text field, as item ids and in answers;
# returns [id, {column => value}, payload text, answers].
sub tricky {
    my ($s, %o) = @_;
    my $id = uuid();
    my $answers = { q1 => $s, $s => [$s, 1, undef, $s], "$s-" => "-$s" };
    my $site = exists $o{site} ? $o{site} : $s;
    my %sub = (submissionId => $id, studyId => $s, subjectId => $s,
               visitName => $s, instrument => $s,
               collectedAt => '2025-11-27T08:00:00Z', answers => $answers);
    $sub{siteId} = $site if defined $site;

    return [$id, { study_id => $s, site_id => $site, subject_id => $s,
                   visit_name => $s, instrument => $s },
            $o{payload} // $Json->encode(\%sub), $answers];
}

sub body_of {
    my (@subs) = @_;
    my $b = @subs == 1 ? $subs[0][2]
                       : '[' . join(",\n", map { $_->[2] } @subs) . ']';
    return Encode::encode_utf8($b);
}

# every row there once, its columns, answers and payload as sent
sub verbatim {
    my ($what, @subs) = @_;
    my @ids = map { $_->[0] } @subs;
    my $rows = db()->selectall_hashref(
        'SELECT submission_id, study_id, site_id, subject_id, visit_name, '
        . 'instrument, answers::text AS answers, payload '
        . 'FROM epro_submissions WHERE submission_id = ANY(?::uuid[])',
        'submission_id', undef, \@ids);
    my (@missing, @cols, @payload, @answers);

    for my $sub (@subs) {
        my $row = $rows->{ $sub->[0] };
        my $name = $Json->encode([$sub->[1]{study_id}]);

        if (!$row) {
            push @missing, $name;
            next;
        }

        my %got = map { $_ => $row->{$_} } keys %{ $sub->[1] };
        push @cols, $name if !eq_hash(\%got, $sub->[1]);
        push @payload, $name if $row->{payload} ne $sub->[2];
        push @answers, $name
            if !eq_hash(JSON::PP->new->decode($row->{answers}), $sub->[3]);
    }

    is_deeply(\@missing, [], "$what: every row stored");
    is_deeply(\@cols, [], "$what: text columns verbatim");
    is_deeply(\@answers, [], "$what: answers verbatim");
    is_deeply(\@payload, [], "$what: payload verbatim");
    is(db()->selectrow_array('SELECT count(*) FROM epro_submissions '
                             . 'WHERE submission_id = ANY(?::uuid[])',
                             undef, \@ids),
       scalar @subs, "$what: once each");
}

# each body POSTed alone (one after another, or all at once)
sub post_each {
    my ($what, $together, @subs) = @_;
    my @res = $together
            ? post_many('/s', map { body_of($_) } @subs)
            : map { post_many('/s', body_of($_)) } @subs;
    my @wrong = grep { ($res[$_][0] // 0) != 201
                       || $res[$_][1] ne created(1, 0, $subs[$_][0]) }
                     0 .. $#subs;

    is_deeply([map { $Json->encode([$subs[$_][1]{study_id},
                                    $res[$_][0]]) } @wrong],
              [], "$what: each answered 201 with its id");
    verbatim($what, @subs);
}

our @Array = map { tricky($_) } @Strings;

# siteId "NULL" is the string, an absent siteId is NULL
push @Array, tricky('no site', site => undef);

# the same characters written as JSON escapes: decoded in the columns,
# kept as sent in the payload
{
    my $id = uuid();
    my $esc = '\u0027\u0022\u005c\u007b\u007d\u002c\u0024\u0024\u003b'
            . '\n\r\t\/\"\\\\';
    my $s = qq{'"\\{},\$\$;\n\r\t/"\\};
    my $payload = qq({"submissionId":"$id","studyId":"$esc",)
        . qq("siteId":"$esc","subjectId":"$esc","visitName":"$esc",)
        . qq("instrument":"$esc","collectedAt":1700000000,)
        . qq("answers":{"$esc":"$esc","q1":["$esc"]}});
    push @Array, [$id, { study_id => $s, site_id => $s, subject_id => $s,
                         visit_name => $s, instrument => $s },
                  $payload, { $s => $s, q1 => [$s] }];
}

our @One = map { tricky($_) } @Strings;
our @Together = map { tricky($_) } @Strings;

our $Mix = tricky(q{'";\\{},$$NULL\N} . "\n" . q{--});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: every string in one array: one literal per column, all verbatim
--- config
    location = /s {
        client_max_body_size 1m;
        epro_submit;
    }
--- request eval
"POST /s\n" . ::body_of(@::Array)
--- error_code: 201
--- response_body eval
::created(scalar @::Array, 0, map { $_->[0] } @::Array)
--- post_check
main::verbatim('one array', @main::Array);
is(sql('SELECT site_id IS NULL FROM epro_submissions '
       . 'WHERE submission_id = ANY(?::uuid[]) ORDER BY 1',
       [map { $_->[0] } grep { ($_->[1]{site_id} // '') eq 'NULL'
                               || !defined $_->[1]{site_id} }
                        @main::Array]),
   "0\n1\n", 'siteId "NULL" is a string, an absent siteId is NULL');



=== TEST 2: the mixture in one field of one request: stored verbatim
--- request eval
"POST /s\n" . ::body_of($::Mix)
--- error_code: 201
--- response_body eval
::created(1, 0, $::Mix->[0])
--- sql eval
"SELECT study_id = subject_id AND study_id = visit_name "
. "AND study_id = instrument AND study_id = site_id, "
. "payload::jsonb -> 'answers' = answers, length(study_id) "
. "FROM epro_submissions WHERE submission_id = '$::Mix->[0]'"
--- sql_result eval
"1|1|" . length($::Mix->[1]{study_id}) . "\n"
--- post_check
main::verbatim('the mixture', $main::Mix);



=== TEST 3: every string in a request of its own, one after another
--- timeout: 30
--- post_check
main::post_each('one by one', 0, @main::One);



=== TEST 4: every string in a request of its own, all at once: one batch
--- http_config
    epro_pg_pool_size 1;
    epro_batch_max_delay 200ms;
--- timeout: 30
--- post_check
main::post_each('all at once', 1, @main::Together);
--- error_log eval
qr/committed \d+ of ([2-9]|\d\d+) row\(s\)/



=== TEST 5: the table is still there and holds each of these rows once
(seeded here too, so that the block passes alone: a row stored by TESTs
1-4 is a duplicate, answered 201 and not stored again)
--- config
    location = /s { epro_submit; }
    location = /t { return 200 "ok\n"; }
--- seed eval
[map { ::body_of($_) } @::Array, @::One, @::Together, $::Mix]
--- request
GET /t
--- response_body
ok
--- sql eval
"SELECT count(*) FROM epro_submissions WHERE submission_id = ANY('{"
. CORE::join(",", map { $_->[0] } @::Array, @::One, @::Together, $::Mix)
. "}'::uuid[])"
--- sql_result eval
(@::Array + @::One + @::Together + 1) . "\n"
