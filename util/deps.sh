#!/usr/bin/env bash
# Installs everything the build, the gateway and the tests need on Debian 12.
# Idempotent: re-running only checks. Needs root (apt-get).
set -euo pipefail

pkgs=(
    build-essential ca-certificates curl procps perl
    nginx nginx-dev libpcre2-dev libpcre3-dev zlib1g-dev libssl-dev
    libpq-dev postgresql-15 postgresql-client-15
    libcjson-dev                # the fuzzer's reference JSON tree only
    libdbd-pg-perl libjson-pp-perl libtest-base-perl libtext-diff-perl
    libipc-run-perl liburi-perl libwww-perl libhttp-message-perl
    libio-socket-ssl-perl openssl psmisc hey wrk make
    valgrind cppcheck clang-14 libclang-rt-14-dev apache2-utils
    nghttp2-client pgbouncer
    patroni etcd-server etcd-client
)

export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    # Some names above are virtual or absent in a given point release:
    # install what exists, one failing name must not stop the rest.
    avail=()
    for p in "${missing[@]}"; do
        apt-cache show "$p" >/dev/null 2>&1 && avail+=("$p")
    done
    apt-get install -y -qq --no-install-recommends "${avail[@]}"
fi

# bench/bench.py's @medplum/core comparison: node and npm, Debian's where
# there is no node yet (a node from elsewhere brings its own npm, and
# Debian's npm would want Debian's nodejs)
if ! command -v node > /dev/null 2>&1 || ! command -v npm > /dev/null 2>&1
then
    { apt-get update -qq \
      && apt-get install -y -qq --no-install-recommends nodejs npm; } \
        || echo "deps: no nodejs/npm: the bench's @medplum/core case" \
                "will say it did not run" >&2
fi

# Test::Nginx is not in bookworm; take the pure-Perl package from the
# unstable suite with apt itself: a copy of this system's own Debian entry,
# the suite changed to sid, used for this one download only.
if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT

    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        # the first stanza that is not the security archive
        awk -v RS= -v ORS='\n\n' '!/security/ { print; exit }' \
            /etc/apt/sources.list.d/debian.sources \
            | sed -E 's/^Suites:.*/Suites: sid/' > "$work/sid.sources"
        list=$work/sid.sources
    else
        awk '$1 == "deb" && !/security/ {
                 for (i = 2; i <= NF; i++)
                     if ($i ~ /^[a-z]+:\/\//) { $(i + 1) = "sid"; break }
                 print; exit }' /etc/apt/sources.list > "$work/sid.list"
        list=$work/sid.list
    fi

    grep -q sid "$list" || { echo "deps: no Debian entry in apt's sources" >&2; exit 1; }

    mkdir -p "$work/lists/partial" "$work/archives/partial"
    chmod 755 "$work"
    if id _apt > /dev/null 2>&1; then
        chown -R _apt "$work"
    fi

    # The registry here may serve a frozen snapshot of sid, whose Release
    # is past its Valid-Until; signatures are still checked.
    opts=(-o Acquire::Check-Valid-Until=false
          -o Dir::Etc::sourcelist="$list"
          -o Dir::Etc::sourceparts=/dev/null
          -o Dir::State::Lists="$work/lists"
          -o Dir::Cache::Archives="$work/archives"
          -o APT::Get::List-Cleanup=0)
    apt-get "${opts[@]}" update -qq
    (cd "$work" && apt-get "${opts[@]}" download libtest-nginx-perl)
    apt-get install -y -qq --no-install-recommends "$work"/libtest-nginx-perl_*.deb
fi

echo "deps: ok"
