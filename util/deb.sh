#!/usr/bin/env bash
# Builds the Debian package libnginx-mod-http-epro from debian/ with
# dh-sequence-nginx (nginx-dev), as Debian builds its libnginx-mod-*:
#   util/deb.sh        -> build/deb/libnginx-mod-http-epro_<version>_<arch>.deb
# Install it on the system nginx with
#   apt-get install ./build/deb/libnginx-mod-http-epro_*.deb
# which puts the .so in /usr/lib/nginx/modules and enables it through
# /etc/nginx/modules-enabled/50-mod-http-epro.conf.
# Needs no git: the source is copied from this tree (build/ left out).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${EPRO_BUILD_DIR:-$repo/build}/deb

if [ "$(id -u)" = 0 ]; then
    need=()
    for p in dpkg-dev debhelper nginx-dev libpq-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
            || need+=("$p")
    done
    if [ "${#need[@]}" -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${need[@]}" > /dev/null
    fi
fi

rm -rf "$out"
mkdir -p "$out/src"
tar -C "$repo" --exclude=./build --exclude=./.git --exclude='./t/servroot*' \
    -cf - . | tar -C "$out/src" -xf -

(cd "$out/src" && dpkg-buildpackage -b -us -uc > "$out/build.log" 2>&1) \
    || { tail -40 "$out/build.log" >&2; exit 1; }

rm -rf "$out/src"
ls "$out"/*.deb
