#!/usr/bin/env bash
# The benchmark of issue #4, in one command (see bench/bench.py):
#   bash bench/run.sh           full run, ~10 minutes: writes bench/RESULTS.md
#                               and bench/results/full-<date>.json
#   bash bench/run.sh --smoke   a few seconds per load (CI, ~2 min): writes
#                               bench/results/smoke.{md,json}
# Options after those go to bench/bench.py (--keep keeps the temp dirs).
# Exit status: 0 all good, 1 rows stored != 201s acknowledged (or a worker
# died, or a tool failed), 2 setup error.
#
# Starts its own PostgreSQL (util/pg.sh, port 16500, in a temp dir) and its
# own nginx on 127.0.0.1:18500, and stops both at exit.  As root it installs
# what is missing with apt-get (the project's util/deps.sh list, plus perf).
# The @medplum/core comparison installs its pinned version with npm into
# ~/.cache/epro-bench (EPRO_BENCH_CACHE) once; without node or npm, or the
# npm registry, that case says "not run" and why.
#   python3 bench/bench.py --core   only the core micro-benchmark and
#                               @medplum/core (no database, no nginx), JSON
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)

need=()
for t in gcc hey wrk h2load python3 /usr/sbin/nginx \
         /usr/lib/postgresql/15/bin/pgbench \
         /usr/sbin/pgbouncer node npm; do
    command -v "$t" > /dev/null 2>&1 || need+=("$t")
done

if [ "${#need[@]}" -gt 0 ] || ! command -v perf > /dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        if [ "${#need[@]}" -gt 0 ]; then
            bash "$repo/util/deps.sh"
            command -v python3 > /dev/null 2>&1 || {
                apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                    --no-install-recommends python3
            }
        fi
        if ! command -v perf > /dev/null 2>&1; then
            # optional: the profile section is skipped without it
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends linux-perf > /dev/null 2>&1 || true
        fi
    elif [ "${#need[@]}" -gt 0 ]; then
        echo "bench: missing ${need[*]} (run as root to install)" >&2
        exit 2
    fi
fi

[ -f "$repo/build/ngx_http_epro_module.so" ] || bash "$repo/util/build.sh"

exec python3 -B "$repo/bench/bench.py" "$@"
