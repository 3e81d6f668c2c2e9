#!/usr/bin/env bash
# Builds the libFuzzer targets over the plain-C core and runs each:
#   fuzz_core  the native contract (epro_parse), test/fuzz/corpus/
#   fuzz_fhir  FHIR QuestionnaireResponses and Questionnaires
#              (epro_fhir_parse, epro_fhir_load), test/fuzz/corpus-fhir/
#   test/fuzz/run.sh [seconds [libFuzzer options...]]   default 60 s each
# Each target (clang-14, ASan + UBSan) first replays its committed corpus
# (every seed once: a seed that crashes or breaks an invariant fails at
# once), then explores a copy of it (the committed corpus never grows)
# for that long, one process, inputs up to 64 KiB, with its dictionary,
# and prints libFuzzer's final stats.
# Exits non-zero on a crash, a leak or a broken invariant; the input is
# left in build/fuzz/<target>/artifacts/.
# Extra options go to libFuzzer, e.g. "-fork=1 -ignore_crashes=1" to go
# on after a crash (one worker process) and collect them all.
# EPRO_FUZZ_SRC: another core directory (default src/core/), e.g. a
# snapshot.  EPRO_FUZZ_TARGETS: the targets to run (default both).
# CC: the compiler (default clang-14).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
src=${EPRO_FUZZ_SRC:-$repo/src/core}
out=${EPRO_BUILD_DIR:-$repo/build}/fuzz
cc=${CC:-clang-14}
targets=${EPRO_FUZZ_TARGETS:-core fhir}

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

# fuzz <target> <seeds> <dictionary> [-D...]: build, replay, explore
fuzz() {
    local name=$1 seeds=$2 dict=$3 dir=$out/$1 rc=0
    shift 3

    mkdir -p "$dir"
    "$cc" -std=c99 -g -O1 -Wall -Wextra -Werror \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -fno-omit-frame-pointer -I"$src" "$@" \
        "$src"/epro_*.c "$repo/test/fuzz/fuzz_$name.c" \
        -lcjson -lm -o "$dir/fuzz_$name"    # cJSON: fuzz_core's reference

    # a fresh copy of the seeds: what the run finds stays under build/
    rm -rf "$dir/corpus" "$dir/artifacts"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp "$seeds"/* "$dir/corpus/"

    echo "fuzz_$name: replaying $(ls "$seeds" | wc -l) seeds, then" \
         "$secs s; log in $dir/fuzz.log"

    (cd "$dir" && ./"fuzz_$name" -runs=0 -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix=artifacts/ corpus) \
        > "$dir/replay.log" 2>&1 || rc=$?

    if [ "$rc" = 0 ]; then
        (cd "$dir" && ./"fuzz_$name" -max_total_time="$secs" \
            -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -dict="$dict" \
            -artifact_prefix=artifacts/ $extra corpus) \
            > "$dir/fuzz.log" 2>&1 || rc=$?
    else
        cp "$dir/replay.log" "$dir/fuzz.log"
    fi

    grep -E '^#[0-9]+:?[[:space:]].*cov: ' "$dir/fuzz.log" | tail -1 || true
    grep -E '^(Done [0-9]+ runs|stat::)' "$dir/fuzz.log" || true
    echo "fuzz_$name: corpus now $(ls "$dir/corpus" | wc -l) inputs"

    if [ "$rc" != 0 ] || ls "$dir"/artifacts/* > /dev/null 2>&1; then
        grep -E -A40 'ERROR: (Address|Leak)Sanitizer|ERROR: libFuzzer' \
            "$dir/fuzz.log" | head -60 >&2 || true
        grep -E 'runtime error|invariant broken' "$dir/fuzz.log" >&2 || true
        echo "fuzz_$name: FAILED (exit $rc), inputs:" $(ls "$dir/artifacts") >&2
        return 1
    fi

    echo "fuzz_$name: no crash"
}

extra="$*"
status=0

for t in $targets; do
    case $t in
    core)
        fuzz core "$repo/test/fuzz/corpus" "$repo/test/fuzz/epro.dict" \
            || status=1 ;;
    fhir)
        fuzz fhir "$repo/test/fuzz/corpus-fhir" "$repo/test/fuzz/fhir.dict" \
            -DFUZZ_FHIR_CONF="\"$repo/conf/fhir\"" || status=1 ;;
    *)
        echo "fuzz: unknown target $t" >&2; exit 2 ;;
    esac
done

exit $status
