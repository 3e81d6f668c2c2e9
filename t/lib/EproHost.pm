package EproHost;

# What the fault suites (through EproPg.pm) and bench/faults.pl ask of
# this machine, plain Perl for both (no Test::Nginx, no database):
# - free_port() probes for a port that can be bound;
# - children() lists a process's children (nginx's workers);
# - gone() tells whether a process exited, reaped or not.

use strict;
use warnings;

use IO::Socket::INET;

use Exporter 'import';
our @EXPORT_OK = qw(free_port children gone);

# The first port of $from .. $last but @not that can be bound, else $from.
# Callers pick ports below Linux's ephemeral range (32768 and up): a
# client's socket in TIME_WAIT on a port makes PostgreSQL's bind() fail.
sub free_port {
    my ($from, $last, @not) = @_;

    for my $p ($from .. $last) {
        next if grep { $_ == $p } @not;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Listen => 1,
                                      ReuseAddr => 1) or next;
        close $s;
        return $p;
    }

    return $from;
}

# the children of $ppid, by pid
sub children {
    my ($ppid) = @_;
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $pp) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @pids, $pid if $pp == $ppid;
    }

    return sort { $a <=> $b } @pids;
}

# a process that exited, even if its parent has not reaped it yet
sub gone {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $line = <$fh> // return 1;
    return $line =~ /^\d+ \(.*\) [ZX] /;
}

1;
