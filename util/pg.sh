#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for the gateway and the tests.
#   util/pg.sh start|stop|status|psql [args]
# EPRO_PG_DIR (default build/pg) and EPRO_PG_PORT (default 15432) choose
# where and on which port; it listens on 127.0.0.1 only, with fsync and
# synchronous_commit on.  Database "epro", user "epro", schema loaded.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${EPRO_PG_DIR:-$repo/build/pg}
port=${EPRO_PG_PORT:-15432}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

# PostgreSQL refuses to run as root: run it as "postgres" then; if that
# user cannot reach the build directory (a repo under /root), keep the
# data in /tmp and leave a link under the build directory.
as=(env)
if [ "$(id -u)" = 0 ]; then
    as=(runuser -u postgres -- env)
fi

# from /: the postgres user may not enter the current directory
run() { (cd / && "${as[@]}" "$@"); }

data() {
    if [ -L "$dir" ] || [ -d "$dir" ]; then
        return
    fi

    mkdir -p "$(dirname "$dir")"

    if [ "$(id -u)" = 0 ]; then
        if run test -w "$(dirname "$dir")" 2>/dev/null \
           || { chown postgres "$(dirname "$dir")" 2>/dev/null \
                && run test -w "$(dirname "$dir")"; }
        then
            mkdir -p "$dir" && chown postgres "$dir"
        else
            real=$(mktemp -d /tmp/epro-pg.XXXXXX)
            chown postgres "$real"
            ln -s "$real" "$dir"
        fi
    else
        mkdir -p "$dir"
    fi
}

start() {
    data

    if [ ! -f "$dir/PG_VERSION" ]; then
        run "$bin/initdb" -D "$dir" -E UTF8 --locale=C -U epro -A trust \
            > /dev/null
        cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$(readlink -f "$dir")'
max_connections = 300
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
    fi

    if ! run "$bin/pg_ctl" -D "$dir" status > /dev/null 2>&1; then
        # -p: the port asked for now, even if the cluster was made with another
        if ! run "$bin/pg_ctl" -D "$dir" -l "$dir/postgresql.log" -w -t 60 \
                 -o "-p $port" start > /dev/null
        then
            echo "pg: cannot start on port $port; $dir/postgresql.log:" >&2
            tail -n 20 "$dir/postgresql.log" >&2 || true
            exit 1
        fi
    fi

    if ! run "$bin/psql" -h 127.0.0.1 -p "$port" -U epro -d postgres -Atqc \
             "SELECT 1 FROM pg_database WHERE datname = 'epro'" | grep -q 1
    then
        run "$bin/createdb" -h 127.0.0.1 -p "$port" -U epro epro
    fi

    PGOPTIONS="-c client_min_messages=warning" \
    run "$bin/psql" -h 127.0.0.1 -p "$port" -U epro -d epro -qX \
        -v ON_ERROR_STOP=1 -f - < "$repo/sql/schema.sql"

    echo "pg: running on 127.0.0.1:$port, data in $dir"
}

case "${1:-start}" in
start)  start ;;
stop)   [ -f "$dir/PG_VERSION" ] \
            && run "$bin/pg_ctl" -D "$dir" -m fast -w stop > /dev/null \
            || true ;;
status) run "$bin/pg_ctl" -D "$dir" status ;;
psql)   shift; run "$bin/psql" -h 127.0.0.1 -p "$port" -U epro -d epro "$@" ;;
*)      echo "usage: $0 start|stop|status|psql [args]" >&2; exit 2 ;;
esac
