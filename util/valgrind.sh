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
# Under valgrind Test::Nginx sleeps seconds around every nginx start and
# reload, so a suite mostly waits: the suites run in EPRO_VG_JOBS (4)
# groups at once, group j on TEST_NGINX_PORT (1984) + j with a throw-away
# cluster of its own on 127.0.0.1:${TEST_NGINX_PG_PORT:-15434} + j.
# TEST_NGINX_PG_CONNINFO set: that one database, one group.
# EPRO_NO_BUILD=1: use the module as built.
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

# an nginx left running by an interrupted run would answer in place of
# this run's (under valgrind Test::Nginx does not notice that its own
# nginx could not listen)
for pid in "$logs"/servroot.*/logs/nginx.pid; do
    [ -f "$pid" ] && kill -9 "$(cat "$pid")" 2> /dev/null || true
done

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

# a directory stands for its suites
files=()
for s in "${suites[@]}"; do
    if [ -d "$s" ]; then
        files+=("${s%/}"/*.t)
    else
        files+=("$s")
    fi
done
suites=("${files[@]}")

jobs=${EPRO_VG_JOBS:-4}
[ -z "${TEST_NGINX_PG_CONNINFO:-}" ] || jobs=1
[ "$jobs" -le "${#suites[@]}" ] || jobs=${#suites[@]}

# the suites by their number of blocks (the time goes in the sleeps around
# each block's nginx), largest first, each to the group with fewest blocks
declare -a group load
for ((j = 0; j < jobs; j++)); do
    group[j]=
    load[j]=0
done

while read -r n suite; do
    min=0
    for ((j = 1; j < jobs; j++)); do
        [ "${load[j]}" -ge "${load[min]}" ] || min=$j
    done
    group[min]+=" $suite"
    load[min]=$(( load[min] + n ))
done < <(for s in "${suites[@]}"; do
             echo "$(grep -c '^=== TEST' "$s" || true) $s"
         done | sort -rn)

# group j: its own port, server root and database (a subshell: its
# cluster is stopped when it ends)
vg_group() {
    export TEST_NGINX_PORT=$(( ${TEST_NGINX_PORT:-1984} + $1 ))
    export TEST_NGINX_SERVROOT=$logs/servroot.$1
    epro_test_pg $(( ${TEST_NGINX_PG_PORT:-15434} + $1 )) epro-vg > /dev/null
    # shellcheck disable=SC2086
    prove -I t/lib $2 > "$logs/prove.$1.log" 2>&1
}

start=$(date +%s)
pids=()
for ((j = 0; j < jobs; j++)); do
    (vg_group "$j" "${group[j]}") &
    pids[j]=$!
done

prove_rc=0
for ((j = 0; j < jobs; j++)); do
    wait "${pids[j]}" || prove_rc=$?
done
secs=$(( $(date +%s) - start ))

cat "$logs"/prove.*.log > "$logs/prove.log"
grep -E '^(t/.* \.+ |Files=|Result:|  Failed tests:)' "$logs/prove.log" \
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

# a suite that stopped (Test::Nginx's bail out: nginx did not start, the
# database was not there) ran nothing under valgrind after that point
if [ "$nlogs" = 0 ] || grep -q '^Bailout called' "$logs/prove.log"; then
    grep '^Bailout called' "$logs/prove.log" >&2 || true
    echo "valgrind: FAILED: a suite stopped before its end, or no nginx" \
         "ran under valgrind" >&2
    exit 1
fi

if [ "$prove_rc" != 0 ] && [ "${EPRO_VG_STRICT:-0}" = 1 ]; then
    echo "valgrind: FAILED: tests failed (see $logs/prove.log)" >&2
    exit 1
fi

echo "valgrind: no memcheck error in the module"
