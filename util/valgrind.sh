#!/usr/bin/env bash
# Runs Test::Nginx suites with nginx (master and workers) under valgrind
# memcheck, leak check on, and fails if memcheck reports an error whose
# stack passes through the module (ngx_http_epro* or epro_*).
#   util/valgrind.sh                  t/001-submit.t t/003-http.t
#                                     t/006-body.t t/007-batching.t
#                                     t/008-faults.t t/009-poison.t
#                                     t/011-injection.t t/018-leak.t
#                                     t/019-bind.t t/023-fhir.t
#                                     t/026-fhir-bundle.t t/027-fhir-read.t
#   util/valgrind.sh t/004-json.t     other suites
# Suppressions: util/valgrind.supp (nginx, libpq and OpenSSL only).
# Each process writes build/valgrind/vg.<pid>.log; errors outside the
# module are listed but do not fail the run, nor do test failures (timing
# tests are slow under valgrind), unless EPRO_VG_STRICT=1.
# TEST_NGINX_PG_CONNINFO set: that database; else a throw-away cluster on
# 127.0.0.1:${TEST_NGINX_PG_PORT:-15434}.  EPRO_NO_BUILD=1: use the module
# as built.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
logs=$build/valgrind
cd "$repo"
. util/testenv.sh

epro_need valgrind valgrind

if [ "${EPRO_NO_BUILD:-0}" != 1 ]; then
    util/build.sh > /dev/null
fi

epro_test_pg "${TEST_NGINX_PG_PORT:-15434}" epro-vg > /dev/null

rm -rf "$logs"
mkdir -p "$logs"

# Test::Nginx takes a non-numeric TEST_NGINX_USE_VALGRIND as valgrind's
# options ("valgrind -q $opts nginx ..."): the same memcheck run as =1,
# with our suppressions and a log per process (workers are forked, so
# each has its own pid and log).
export TEST_NGINX_USE_VALGRIND="--tool=memcheck --leak-check=full \
--show-possibly-lost=no --errors-for-leak-kinds=definite \
--keep-debuginfo=yes --num-callers=40 --gen-suppressions=all \
--suppressions=$repo/util/valgrind.supp --log-file=$logs/vg.%p.log"
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$build/ngx_http_epro_module.so
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$module}
# valgrind needs a moment before nginx listens, and TLS handshakes under
# it take seconds: the client waits up to 10 s instead of 3
export TEST_NGINX_SLEEP=${TEST_NGINX_SLEEP:-1}
export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-10}

suites=("$@")
if [ "${#suites[@]}" = 0 ]; then
    suites=(t/001-submit.t t/003-http.t t/006-body.t t/007-batching.t
            t/008-faults.t t/009-poison.t t/011-injection.t t/018-leak.t
            t/019-bind.t t/023-fhir.t t/026-fhir-bundle.t t/027-fhir-read.t)
fi

start=$(date +%s)
prove_rc=0
prove -I t/lib "${suites[@]}" > "$logs/prove.log" 2>&1 || prove_rc=$?
secs=$(( $(date +%s) - start ))

grep -E '^(t/|Files=|Result:|  Failed tests:|All tests)' "$logs/prove.log" \
    || true

# memcheck's errors: a line "==pid== <what>" then its "at"/"by" frames,
# up to an empty "==pid== " line; --gen-suppressions' blocks follow
# unprefixed.  An error is the module's if a frame names it.
perl -e '
    use strict;
    use warnings;

    my (@ours, @theirs);

    sub done {
        my ($rec) = @_;
        return if !$rec;
        my $mine = $rec->{frames} =~ /: (?:ngx_http_epro\w*|epro_\w+) /;
        push @{ $mine ? \@ours : \@theirs }, $rec;
    }

    for my $file (@ARGV) {
        open my $fh, "<", $file or die "$file: $!\n";
        my $rec;

        while (my $line = <$fh>) {
            next if $line !~ /^==\d+== ?(.*)$/;
            my $text = $1;

            if ($text =~ /^\s*$/) {
                done($rec);
                undef $rec;
                next;
            }

            if (!$rec) {
                $rec = { what => $text, text => "$file:\n", frames => "",
                         top => [] };
            }

            $rec->{text} .= "    $text\n";

            if ($text =~ /^\s+(?:at|by) 0x\w+: (\S+)/) {
                $rec->{frames} .= "$text\n";
                push @{ $rec->{top} }, $1 if @{ $rec->{top} } < 4;
            }
        }

        done($rec);
    }

    my %seen;
    for my $r (@theirs) {
        (my $what = $r->{what}) =~ s/\d[\d,]* bytes in \d[\d,]* blocks/N bytes/;
        $what =~ s/ in loss record .*//;
        $seen{"$what: " . join(" < ", @{ $r->{top} })}++;
    }

    if (%seen) {
        print "valgrind: errors outside the module (not failing):\n";
        print map { "  $seen{$_} x $_\n" } sort keys %seen;
    }

    if (@ours) {
        print "valgrind: ", scalar(@ours), " error(s) in the module:\n";
        print map { $_->{text} } @ours;
        exit 1;
    }

    exit 0;
' "$logs"/vg.*.log && vg_rc=0 || vg_rc=$?

nlogs=$(ls "$logs"/vg.*.log 2> /dev/null | wc -l)
echo "valgrind: ${secs}s, $nlogs process logs in $logs, prove exit $prove_rc"

if [ "$vg_rc" != 0 ]; then
    echo "valgrind: FAILED: memcheck errors in the module" >&2
    exit 1
fi

if [ "$prove_rc" != 0 ] && [ "${EPRO_VG_STRICT:-0}" = 1 ]; then
    echo "valgrind: FAILED: tests failed (see $logs/prove.log)" >&2
    exit 1
fi

echo "valgrind: no memcheck error in the module"
