#!/usr/bin/env bash
# Builds ngx_http_epro_module.so against Debian's nginx (nginx-dev), the
# same configure flags as the packaged binary, so `load_module` takes it.
#   util/build.sh            -> build/ngx_http_epro_module.so
# Upstream nginx instead: in its source tree,
#   ./configure --with-compat --add-dynamic-module=/path/to/this/repo
#   make modules
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
src=${NGINX_SRC:-/usr/share/nginx/src}

[ -f "$src/conf_flags" ] || {
    echo "build: $src/conf_flags not found (apt-get install nginx-dev)" >&2
    exit 1
}

mkdir -p "$build"

# configure once per nginx version and per change of ./config (its list
# of files); make alone picks up source changes
stamp="$build/nginx-src/.configured"
if [ ! -f "$stamp" ] || [ "$src/conf_flags" -nt "$stamp" ] \
   || [ "$repo/config" -nt "$stamp" ]; then
    rm -rf "$build/nginx-src"
    cp -r "$src" "$build/nginx-src"
    (
        cd "$build/nginx-src"
        # shellcheck disable=SC1091
        source ./conf_flags
        ./configure "${NGX_CONF_FLAGS[@]}" \
            --with-cc-opt="-g -O2 -Wall -Wextra -Wno-unused-parameter" \
            --add-dynamic-module="$repo" > "$build/configure.log" 2>&1 \
            || { tail -30 "$build/configure.log" >&2; exit 1; }
    )
    touch "$stamp"
fi

make -s -C "$build/nginx-src" -f objs/Makefile modules
# a new inode: a running nginx keeps its mapping of the old file intact
cp "$build/nginx-src/objs/ngx_http_epro_module.so" "$build/.module.so.new"
mv -f "$build/.module.so.new" "$build/ngx_http_epro_module.so"
echo "build: $build/ngx_http_epro_module.so"
