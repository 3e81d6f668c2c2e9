#!/usr/bin/env bash
# The Debian package as an operator uses it: builds it (util/deb.sh),
# installs it with apt-get on the system nginx, adds a server to the stock
# /etc/nginx layout (conf.d/), posts one submission through it and checks
# the row; then takes the server out and purges the package again.
# Root only; the system nginx is reloaded if it runs, else started and
# stopped.  A private PostgreSQL on 127.0.0.1:${EPRO_PG_PORT:-15444}.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
port=${EPRO_DEB_PORT:-18091}
conf=/etc/nginx/conf.d/epro-smoke.conf

export EPRO_PG_PORT=${EPRO_PG_PORT:-15444}
export EPRO_PG_DIR=$(mktemp -d /tmp/epro-deb-pg.XXXXXX)/pg
chmod 755 "$(dirname "$EPRO_PG_DIR")"

[ "$(id -u)" = 0 ] || { echo "deb-smoke: run as root" >&2; exit 1; }

running() {
    [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null
}

started=
cleanup() {
    rm -f "$conf"
    if [ -n "$started" ]; then
        nginx -s quit 2>/dev/null || true
    elif running; then
        nginx -s reload 2>/dev/null || true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq \
        libnginx-mod-http-epro > /dev/null 2>&1 || true
    "$repo/util/pg.sh" stop || true
    rm -rf "$(dirname "$EPRO_PG_DIR")"
}
trap cleanup EXIT

bash "$repo/util/deb.sh"
deb=$(ls "$build"/deb/libnginx-mod-http-epro_*.deb)
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" > /dev/null

# what dh_nginx promised: the .so, its load file, enabled
test -f /usr/lib/nginx/modules/ngx_http_epro_module.so
grep -q 'ngx_http_epro_module.so' \
    /etc/nginx/modules-enabled/50-mod-http-epro.conf
echo "deb-smoke: installed $(dpkg-query -W -f='${Package} ${Version}' \
    libnginx-mod-http-epro), enabled in /etc/nginx/modules-enabled"

"$repo/util/pg.sh" start

cat > "$conf" <<CONF
# written by util/deb-smoke.sh; removed when it ends
epro_pg_conninfo "host=127.0.0.1 port=$EPRO_PG_PORT dbname=epro user=epro";

server {
    listen 127.0.0.1:$port;

    location = /submissions {
        epro_submit;
    }
}
CONF

nginx -t -q
if running; then
    nginx -s reload
else
    nginx
    started=1
fi

id=$(cat /proc/sys/kernel/random/uuid)
for i in $(seq 50); do
    code=$(curl -s -o /tmp/epro-deb-smoke.out -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' \
        --data '{"submissionId":"'"$id"'","studyId":"DEB","subjectId":"D-1","visitName":"smoke","instrument":"X","collectedAt":1700000000,"answers":{"q":1}}' \
        "http://127.0.0.1:$port/submissions" || true)
    [ "$code" = 201 ] && break
    sleep 0.2
done

cat /tmp/epro-deb-smoke.out; echo
[ "$code" = 201 ] || { echo "deb-smoke: got $code, not 201" >&2; exit 1; }
"$repo/util/pg.sh" psql -Atc \
    "SELECT count(*) FROM epro_submissions WHERE submission_id = '$id'" \
    | grep -qx 1
echo "deb-smoke: the packaged module stored a submission through /etc/nginx"
