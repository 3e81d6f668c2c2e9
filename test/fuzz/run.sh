#!/usr/bin/env bash
# Builds the libFuzzer target over the plain-C core and runs it.
#   test/fuzz/run.sh [seconds [libFuzzer options...]]     default 60 s
# Builds build/fuzz/fuzz_core (clang-14, ASan + UBSan), fuzzes a copy of
# test/fuzz/corpus (the committed corpus never grows) for that long, one
# process, inputs up to 64 KiB, and prints libFuzzer's final stats.
# Exits non-zero on a crash, a leak or a broken invariant; the input is
# left in build/fuzz/artifacts/.
# Extra options go to libFuzzer, e.g. "-fork=1 -ignore_crashes=1" to go
# on after a crash (one worker process) and collect them all.
# EPRO_FUZZ_SRC: another core directory (default src/core/), e.g. a snapshot.
# CC: the compiler (default clang-14).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
src=${EPRO_FUZZ_SRC:-$repo/src/core}
out=${EPRO_BUILD_DIR:-$repo/build}/fuzz
cc=${CC:-clang-14}

case "$secs" in
''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac

if ! command -v "$cc" > /dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -q clang-14 libclang-rt-14-dev > /dev/null
    else
        echo "fuzz: $cc not found (apt-get install clang-14" \
             "libclang-rt-14-dev)" >&2
        exit 1
    fi
fi

mkdir -p "$out"

"$cc" -std=c99 -g -O1 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -I"$src" \
    "$src"/epro_*.c "$repo/test/fuzz/fuzz_core.c" \
    -lcjson -lm -o "$out/fuzz_core"

# a fresh copy of the seeds: what the run finds stays under build/
rm -rf "$out/corpus" "$out/artifacts"
mkdir -p "$out/corpus" "$out/artifacts"
cp "$repo"/test/fuzz/corpus/* "$out/corpus/"

# the words of the contract and of JSON, to get past the checks sooner
cat > "$out/epro.dict" <<'DICT'
"\"submissionId\""
"\"studyId\""
"\"siteId\""
"\"subjectId\""
"\"visitName\""
"\"instrument\""
"\"collectedAt\""
"\"answers\""
"\"0b8d5d3e-1a2b-4c3d-8e4f-000000000001\""
"\"2026-11-27T08:15:00+01:00\""
"\"2026-02-29T23:59:59.123456789Z\""
"true"
"false"
"null"
"\\u0000"
"\\ud83d\\ude00"
"\\udc00"
"\\\""
"\\\\"
"1e308"
"-0.5E-3"
"\xf0\x9f\x98\x80"
"\xc3\xa9"
"\xed\xa0\x80"
DICT

echo "fuzz: $secs s on $(ls "$out/corpus" | wc -l) seeds," \
     "log in $out/fuzz.log"

rc=0
(cd "$out" && ./fuzz_core -max_total_time="$secs" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict=epro.dict -artifact_prefix=artifacts/ "$@" corpus) \
    > "$out/fuzz.log" 2>&1 || rc=$?

grep -E '^#[0-9]+:?[[:space:]].*cov: ' "$out/fuzz.log" | tail -1 || true
grep -E '^(Done [0-9]+ runs|stat::)' "$out/fuzz.log" || true
echo "fuzz: corpus now $(ls "$out/corpus" | wc -l) inputs"

if [ "$rc" != 0 ] || ls "$out"/artifacts/* > /dev/null 2>&1; then
    grep -E -A40 'ERROR: (Address|Leak)Sanitizer|ERROR: libFuzzer' \
        "$out/fuzz.log" | head -60 >&2 || true
    grep -E 'runtime error|invariant broken' "$out/fuzz.log" >&2 || true
    echo "fuzz: FAILED (exit $rc), inputs:" $(ls "$out/artifacts") >&2
    exit 1
fi

echo "fuzz: no crash"
