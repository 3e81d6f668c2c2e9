#!/usr/bin/env bash
# A soak: single PHQ-9 submissions from wrk at c=1000 for SECONDS (default
# 600) against the gateway of util/run.sh, sampling each nginx worker's
# PSS (smaps_rollup) every 30 s; at the end, 201s counted by wrk against
# rows stored (at least as many).  Loopback only, bounded in time.
#   bash bench/soak.sh [seconds]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-600}
port=${EPRO_PORT:-8080}
study=SOAK-$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$repo/util/run.sh" start > /dev/null
sleep 1

printf '{"studyId":"%s","siteId":"S1","subjectId":"P1","visitName":"W4",%s' \
    "$study" '"instrument":"PHQ-9","collectedAt":1700000000,"answers":{
    "PHQ9_1":1,"PHQ9_2":0,"PHQ9_3":2,"PHQ9_4":1,"PHQ9_5":3,"PHQ9_6":0,
    "PHQ9_7":1,"PHQ9_8":0,"PHQ9_9":0}}' > "$tmp/body.json"

master=$(cat "$repo/build/gateway/logs/nginx.pid")

pss() {
    local out="" w
    for w in $(pgrep -P "$master"); do
        out="$out $(awk '/^Pss:/ {print $2}' "/proc/$w/smaps_rollup")"
    done
    echo "$out"
}

wrk -t2 -c1000 -d"${secs}s" --timeout 10s -s "$repo/bench/post.lua" \
    "http://127.0.0.1:$port/submissions" -- "$tmp/body.json" \
    > "$tmp/wrk.out" 2>&1 &
load=$!

echo "t_s worker_pss_kB"
t=0
while kill -0 "$load" 2> /dev/null; do
    echo "$t$(pss)"
    sleep 30
    t=$((t + 30))
done
wait "$load" || true
echo "end$(pss)"

grep -E "Requests/sec|Latency" "$tmp/wrk.out" || true
created=$(sed -n 's/.*"201":\([0-9]*\).*/\1/p' "$tmp/wrk.out" | head -1)
stored=$("$repo/util/pg.sh" psql -Atc \
    "SELECT count(*) FROM epro_submissions WHERE study_id = '$study'")
# requests still in flight when wrk stops are committed but not counted
# by it: every 201 must be stored, a few more rows may be
echo "201s=${created:-0} stored=$stored"
[ "$stored" -ge "${created:-0}" ]
