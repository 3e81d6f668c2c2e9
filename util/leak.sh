#!/usr/bin/env bash
# Test::Nginx's check-leak mode on the hot paths (t/018-leak.t): ab sends
# each block's request over and over while nginx's RSS is sampled every
# 20 ms; fails if a block's RSS grows (slope over EPRO_LEAK_MAX_K KB per
# sample, default 1, after Test::Nginx drops the first 10% of samples).
#   util/leak.sh [suites]        default t/018-leak.t
# TEST_NGINX_PG_CONNINFO set: that database; else a throw-away cluster on
# 127.0.0.1:${TEST_NGINX_PG_PORT:-15435}.  EPRO_NO_BUILD=1: the module as
# built.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
cd "$repo"
. util/testenv.sh

epro_need ab apache2-utils

if [ "${EPRO_NO_BUILD:-0}" != 1 ]; then
    util/build.sh > /dev/null
fi

epro_test_pg "${TEST_NGINX_PG_PORT:-15435}" epro-leak > /dev/null

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_LOAD_MODULES=$build/ngx_http_epro_module.so
export TEST_NGINX_CHECK_LEAK=1
export TEST_NGINX_CHECK_LEAK_COUNT=${TEST_NGINX_CHECK_LEAK_COUNT:-300}

suites=("$@")
[ "${#suites[@]}" -gt 0 ] || suites=(t/018-leak.t)

out=$(prove -I t/lib "${suites[@]}" 2>&1) || true

# evidence that ab's requests went through: the rows of blocks 1 and 2
if [ -n "$epro_pg_tmp" ]; then
    rows=$(util/pg.sh psql -Atc \
           "SELECT count(*) FROM epro_submissions WHERE study_id = 'STUDY-L'")
    echo "leak: $rows rows stored by the 201 blocks"
fi

# per block: its name, its RSS samples, then "LeakTest: k=<slope>"
echo "$out" | perl -ne '
    BEGIN { $max = $ENV{EPRO_LEAK_MAX_K} // 1; $bad = 0; $n = 0 }
    if (/^(t\/\S+ TEST \d+: .*)$/) { $name = $1 }
    if (/^LeakTest: \[(\d+).*?(\d+)\]$/) { ($first, $last) = ($1, $2) }
    if (/^LeakTest: k=(\S+)/) {
        $n++;
        my $k = $1;
        my $ok = $k ne "N/A" && $k <= $max;
        $bad++ unless $ok;
        printf "leak: %-4s k=%-8s RSS %s -> %s KB  %s\n",
               $ok ? "ok" : "FAIL", $k, $first // "?", $last // "?",
               $name // "?";
    }
    END {
        print "leak: no LeakTest output\n" and exit 1 if !$n;
        printf "leak: %d block(s), %d growing (k > %s KB per sample)\n",
               $n, $bad, $max;
        exit($bad ? 1 : 0);
    }'
