#!/usr/bin/env bash
# Runs every test: the core's unit tests (no nginx), then the Test::Nginx
# suites in t/ against Debian's nginx with the module loaded and a
# throw-away PostgreSQL 15 cluster on 127.0.0.1:${TEST_NGINX_PG_PORT:-15433}.
#   util/test.sh                 everything
#   util/test.sh t/002-json.t    some suites (arguments go to prove)
# TEST_NGINX_PG_CONNINFO set: use that database instead of a new cluster.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
cd "$repo"
. util/testenv.sh

if [ "$(id -u)" = 0 ]; then
    util/deps.sh
fi

util/build.sh
make -s -C test/unit test

epro_test_pg "${TEST_NGINX_PG_PORT:-15433}" epro-test

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_LOAD_MODULES=$build/ngx_http_epro_module.so

prove -I t/lib -r "${@:-t/}"
