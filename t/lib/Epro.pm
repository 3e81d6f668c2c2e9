package Epro;

# Shared pieces of the Test::Nginx suites:
# - every block gets epro_pg_conninfo in its http{} unless it sets one;
# - "--- sql" runs a query after the response and compares its rows
#   (columns joined by "|", one row a line) with "--- sql_result";
# - db(), sql(), uuid() and phq9() for .t files that build bodies in Perl.

use strict;
use warnings;

use DBI;
use Test::More;
use Test::Nginx::Socket ();

use Exporter 'import';
our @EXPORT = qw(db sql uuid phq9 conninfo);

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
        . '"collectedAt":"2026-11-27T08:15:00+01:00",'
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

    return if $dry_run || !defined $block->sql;

    my $want = $block->sql_result // '';
    is(sql($block->sql), $want, $block->name . ' - sql');
});

1;
