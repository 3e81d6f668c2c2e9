package Epro;

# Shared pieces of the Test::Nginx suites:
# - every block gets epro_pg_conninfo in its http{} unless it sets one;
# - "--- sql" runs a query after the response and compares its rows
#   (columns joined by "|", one row a line) with "--- sql_result";
# - "--- post_check" is Perl run after the response while nginx is up,
#   e.g. post_many() to send many requests at once;
# - db(), sql(), uuid() and phq9() for .t files that build bodies in Perl.

use strict;
use warnings;

use DBI;
use Test::More;
use Test::Nginx::Socket ();

use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

use Exporter 'import';
our @EXPORT = qw(db sql uuid phq9 conninfo post_many);

my $conninfo = $ENV{TEST_NGINX_PG_CONNINFO}
    or die "TEST_NGINX_PG_CONNINFO is not set: run util/test.sh\n";

sub conninfo { $conninfo }

my $dbh;

sub db {
    return $dbh if $dbh && $dbh->ping;

    my %kv = map { split /=/, $_, 2 } split ' ', $conninfo;
    my $user = delete $kv{user} // 'epro';
    my $dsn = 'dbi:Pg:' . join ';', map { "$_=$kv{$_}" } sort keys %kv;

    $dbh = DBI->connect($dsn, $user, '',
                        { RaiseError => 1, AutoCommit => 1, PrintWarn => 0 });
    $dbh->do('SET client_min_messages = warning');
    return $dbh;
}

sub sql {
    my ($q, @bind) = @_;
    my $rows = db()->selectall_arrayref($q, undef, @bind);
    return join '', map { join('|', map { $_ // '' } @$_) . "\n" } @$rows;
}

# POSTs every body at once, each on its own connection, to the nginx under
# test; returns [status, body] for each, in order.  For --- post_check.
sub post_many {
    my ($uri, @bodies) = @_;
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || $Test::Nginx::Util::ServerPort;
    my (%out, %buf, %idx);
    my $sel = IO::Select->new;

    for my $i (0 .. $#bodies) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp')
            or die "connect: $!";
        my $b = $bodies[$i];
        my $req = "POST $uri HTTP/1.0\r\nHost: localhost\r\n"
                . "Content-Type: application/json\r\n"
                . 'Content-Length: ' . length($b) . "\r\n\r\n$b";
        $out{$s} = $req;
        $idx{$s} = $i;
        $buf{$s} = '';
        $sel->add($s);
    }

    my $wsel = IO::Select->new($sel->handles);
    my @res;
    my $deadline = Time::HiRes::time() + 30;

    while ($sel->count && Time::HiRes::time() < $deadline) {
        my ($r, $w) = IO::Select->select($sel, $wsel, undef, 1);

        for my $s (@{ $w || [] }) {
            my $n = syswrite($s, $out{$s});
            substr($out{$s}, 0, $n // 0, '');
            $wsel->remove($s) if $out{$s} eq '';
        }

        for my $s (@{ $r || [] }) {
            my $n = sysread($s, my $chunk, 65536);
            if ($n) {
                $buf{$s} .= $chunk;
                next;
            }
            my ($st) = $buf{$s} =~ m{^HTTP/\S+ (\d+)};
            my ($body) = $buf{$s} =~ m{\r\n\r\n(.*)\z}s;
            $res[$idx{$s}] = [$st // 0, $body // ''];
            $sel->remove($s);
            $wsel->remove($s);
            close $s;
        }
    }

    return @res;
}

my $seq = 0;

# a random-looking but reproducible-per-run v4 UUID
sub uuid {
    my $n = sprintf '%012x', ++$seq;
    my $r = sprintf '%08x', int(rand(0xffffffff));
    return "$r-" . sprintf('%04x', $$ & 0xffff) . "-4000-8000-$n";
}

sub phq9 {
    my (%o) = @_;
    my $id = exists $o{id} ? $o{id} : uuid();
    my $answers = join ',', map { "\"PHQ9_$_\":" . ($_ % 4) } 1 .. 9;
    return '{' . (defined $id ? "\"submissionId\":\"$id\"," : '')
        . '"studyId":"STUDY-1","siteId":"SITE-01",'
        . '"subjectId":"' . ($o{subject} // 'SUBJ-0001') . '",'
        . '"visitName":"Week 4","instrument":"PHQ-9",'
        . '"collectedAt":"2026-11-20T08:15:00+01:00",'
        . "\"answers\":{$answers}}";
}

Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';

    if ($http !~ /epro_pg_conninfo/ && !defined $block->no_conninfo) {
        $block->set_value('http_config',
                          "epro_pg_conninfo \"$conninfo\";\n$http");
    }
});

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;

    return if $dry_run;

    # perl code run while the block's nginx is still up
    if (defined $block->post_check) {
        eval $block->post_check;
        fail($block->name . " - post_check: $@") if $@;
    }

    return if !defined $block->sql;

    my $want = $block->sql_result // '';
    is(sql($block->sql), $want, $block->name . ' - sql');
});

1;
