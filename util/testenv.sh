# Sourced by util/test.sh, util/valgrind.sh and util/leak.sh.

# epro_need <command> <package>: installs the package if the command is
# missing (as root), else says what to install
epro_need() {
    command -v "$1" > /dev/null && return 0

    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -q "$2" > /dev/null
    else
        echo "$(basename "$0"): $1 not installed (apt-get install $2)" >&2
        exit 1
    fi
}

# epro_test_pg <port> <name>: unless TEST_NGINX_PG_CONNINFO names a
# database, a throw-away cluster on 127.0.0.1:<port> in /tmp/<name>.XXXXXX
# (removed at exit; $epro_pg_tmp), and TEST_NGINX_PG_CONNINFO for it
epro_test_pg() {
    epro_pg_tmp=

    [ -z "${TEST_NGINX_PG_CONNINFO:-}" ] || return 0

    epro_pg_tmp=$(mktemp -d "/tmp/$2.XXXXXX")
    chmod 755 "$epro_pg_tmp"
    export EPRO_PG_DIR=$epro_pg_tmp/pg
    export EPRO_PG_PORT=$1
    trap 'util/pg.sh stop; rm -rf "$epro_pg_tmp"' EXIT
    util/pg.sh start
    TEST_NGINX_PG_CONNINFO="host=127.0.0.1 port=$1 dbname=epro user=epro"
    export TEST_NGINX_PG_CONNINFO
}
