#!/usr/bin/env bash
# Sets up and runs the gateway: installs what is missing (as root), builds
# the module, starts the private PostgreSQL (util/pg.sh) and runs Debian's
# nginx with the module on 127.0.0.1:${EPRO_PORT:-8080}, POST /submissions.
#   util/run.sh          in the foreground (Ctrl-C stops nginx and PostgreSQL)
#   util/run.sh start    in the background;  util/run.sh stop
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
port=${EPRO_PORT:-8080}
listen=${EPRO_LISTEN:-127.0.0.1}
pg_port=${EPRO_PG_PORT:-15432}
gw=$build/gateway
mode=${1:-fg}

if [ "$mode" = stop ]; then
    [ -f "$gw/logs/nginx.pid" ] \
        && /usr/sbin/nginx -p "$gw" -c "$gw/nginx.conf" -s quit 2>/dev/null \
        || true
    "$repo/util/pg.sh" stop
    exit 0
fi

if [ "$(id -u)" = 0 ]; then
    "$repo/util/deps.sh"
fi

"$repo/util/build.sh"
EPRO_PG_PORT=$pg_port "$repo/util/pg.sh" start

mkdir -p "$gw/logs"
user=""
[ "$(id -u)" = 0 ] && user="user root;"

cat > "$gw/nginx.conf" <<CONF
load_module $build/ngx_http_epro_module.so;
$user
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 4096; }

http {
    log_format epro '\$remote_addr [\$time_local] "\$request" \$status '
                    'result=\$epro_result rows=\$epro_rows '
                    'dups=\$epro_duplicates batch=\$epro_batch_rows '
                    'commit_ms=\$epro_commit_ms ids=\$epro_ids';
    access_log logs/access.log epro;
    client_body_temp_path body;

    epro_pg_conninfo "host=127.0.0.1 port=$pg_port dbname=epro user=epro";
    epro_instruments $repo/conf/instruments.json;

    server {
        listen $listen:$port;

        location = /submissions {
            client_max_body_size 1m;
            epro_submit;
        }

        # a FHIR R4 base: QuestionnaireResponses and Bundles of them
        # (conf/examples/phq-9-response.json), read by id, /fhir/metadata;
        # the resources carry no study: this gateway names it
        location /fhir/ {
            client_max_body_size 1m;
            epro_submit fhir;
            epro_questionnaires $repo/conf/fhir;
            epro_study DEMO;
        }

        location = /metrics {
            allow 127.0.0.1;
            deny all;
            epro_status;
        }
    }
}
CONF

/usr/sbin/nginx -p "$gw" -c "$gw/nginx.conf" -t -q

if [ "$mode" = start ]; then
    pid=$(cat "$gw/logs/nginx.pid" 2> /dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
        /usr/sbin/nginx -p "$gw" -c "$gw/nginx.conf" -s reload
    else
        /usr/sbin/nginx -p "$gw" -c "$gw/nginx.conf"
    fi
    echo "gateway: http://127.0.0.1:$port/submissions (logs in $gw/logs)"
    exit 0
fi

trap '"$repo/util/pg.sh" stop' EXIT
echo "gateway: http://127.0.0.1:$port/submissions (Ctrl-C stops it)"
/usr/sbin/nginx -p "$gw" -c "$gw/nginx.conf" -g "daemon off;"
