package EproCheck;

# Helpers for the suites 002-005, on top of Epro.pm:
#
# - sid(N) (Epro.pm's) is a submissionId unique to this run of this file,
#   "@IDn@" in --- request, --- sql, --- sql_result,
#   --- response_body(_like) and --- error_paths is replaced with sid(n),
#   "@UIDn@" with uc(sid(n));
# - post($body, %opt) builds a raw POST with the exact bytes of $body
#   (--- request strips white space around a body and adds nothing else),
#   for --- raw_request eval;
# - sub_json(%fields) (Epro.pm's) builds one valid submission
#   (submissionId "@ID1@"); each value given is raw JSON text ('"S1"',
#   '1', '{}'), undef leaves the member out, unknown names are appended
#   as extra members;
# - q1($text, %fields) is sub_json() with answers {"q1": $text};
# - arr(@texts) is the JSON array of those texts;
# - hex_of($body) is the hex of the bytes, to compare with
#   encode(convert_to(payload, 'UTF8'), 'hex') in --- sql;
# - "--- error_paths" with a JSON array of paths checks that the body is
#   an application/problem+json object with type, title, status (the HTTP
#   status), detail, the type the README gives for that status, and
#   errors on exactly those paths (compared as a set: one bad spot may
#   give more than one error), each error an object of a path and a
#   non-empty message; "[]" means no "errors" member; a 400 has exactly
#   one error; "--- error_count: N" checks the number of errors;
#   "--- truncated: 1" expects "truncated":true, without it "truncated"
#   must be absent.

use strict;
use warnings;

use JSON::PP ();
use Test::More;
use Test::Nginx::Socket ();

use Epro ();

use Exporter 'import';
our @EXPORT = qw(sid post sub_json q1 arr hex_of);

# Epro.pm's id generator and body builder
BEGIN {
    *sid = \&Epro::sid;
    *subst = \&Epro::subst;
    *sub_json = \&Epro::sub_json;
}

# "--- x eval" runs in Test::Base::Filter: make the helpers callable there
{
    no strict 'refs';
    *{"Test::Base::Filter::$_"} = \&$_ for @EXPORT;
}

sub post {
    my ($body, %o) = @_;

    $body = subst($body);

    my $uri = $o{uri} // '/s';
    my $method = $o{method} // 'POST';
    my $type = exists $o{type} ? $o{type} : 'application/json';

    return "$method $uri HTTP/1.1\r\n"
        . "Host: localhost\r\n"
        . "Connection: close\r\n"
        . (defined $type ? "Content-Type: $type\r\n" : '')
        . 'Content-Length: ' . length($body) . "\r\n"
        . "\r\n"
        . $body;
}

# a submission whose answers are {"q1": $value} (raw JSON text)
sub q1 {
    my ($value, %o) = @_;
    return sub_json(answers => "{\"q1\":$value}", %o);
}

# a JSON array of the given JSON texts
sub arr {
    return '[' . join(',', @_) . ']';
}

sub hex_of {
    return unpack 'H*', subst($_[0]);
}

Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;

    for my $s (qw(request sql sql_result response_body response_body_like
                  error_paths))
    {
        my $v = $block->$s;

        next if !defined $v || ref $v;

        my $n = subst($v);
        $block->set_value($s, $n) if $n ne $v;
    }
});

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;

    return if $dry_run || !defined $block->error_paths;

    my $name = $block->name;
    my $want = JSON::PP->new->utf8->decode($block->error_paths);

    my $j = eval { JSON::PP->new->utf8->decode($body) };

    if (!ok(ref $j eq 'HASH', "$name - problem body is a JSON object")) {
        diag("body: $body");
        return;
    }

    for my $k (qw(type title detail)) {
        ok(defined $j->{$k} && !ref $j->{$k} && length $j->{$k},
           "$name - problem has a \"$k\" string");
    }

    is($j->{status}, $block->error_code, "$name - problem status");

    my %types = (
        400 => 'malformed-json',
        405 => 'method-not-allowed',
        413 => 'http-413',
        415 => 'unsupported-media-type',
        422 => 'invalid-submission',
    );

    if (my $t = $types{ $block->error_code }) {
        is($j->{type}, "urn:epro:problem:$t", "$name - problem type");
    }

    if (!@$want) {
        ok(!exists $j->{errors}, "$name - no \"errors\" member");
        return;
    }

    if (!ok(ref $j->{errors} eq 'ARRAY', "$name - \"errors\" is an array")) {
        return;
    }

    my $shape = 1;

    for my $e (@{ $j->{errors} }) {
        $shape = 0 unless ref $e eq 'HASH'
            && join(',', sort keys %$e) eq 'message,path'
            && !ref $e->{path} && !ref $e->{message}
            && length $e->{message};
    }

    ok($shape, "$name - each error is {path, message}");

    my %uniq;
    my @got = grep { !$uniq{$_}++ } sort
        map { ref $_ eq 'HASH' ? $_->{path} // '(none)' : '(bad)' }
        @{ $j->{errors} };

    %uniq = ();
    my @exp = grep { !$uniq{$_}++ } sort @$want;

    is_deeply(\@got, \@exp, "$name - error paths")
        or diag("body: $body");

    my $count = $block->error_count;
    $count = 1 if !defined $count && $block->error_code == 400;

    if (defined $count) {
        is(scalar @{ $j->{errors} }, $count, "$name - number of errors")
            or diag("body: $body");
    }

    if ($block->truncated) {
        ok($j->{truncated} && JSON::PP::is_bool($j->{truncated}),
           "$name - \"truncated\":true");

    } else {
        ok(!exists $j->{truncated}, "$name - no \"truncated\" member");
    }
});

1;
