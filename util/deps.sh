#!/usr/bin/env bash
# Installs everything the build, the gateway and the tests need on Debian 12.
# Idempotent: re-running only checks. Needs root (apt-get).
set -euo pipefail

pkgs=(
    build-essential ca-certificates curl procps perl
    nginx nginx-dev libpcre2-dev libpcre3-dev zlib1g-dev libssl-dev
    libcjson-dev libpq-dev postgresql-15 postgresql-client-15
    libdbd-pg-perl libjson-pp-perl libtest-base-perl libtext-diff-perl
    libipc-run-perl liburi-perl libwww-perl libhttp-message-perl
    libtime-hires-perl hey wrk
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

# Test::Nginx is not in bookworm; take the pure-Perl package from the
# unstable suite, with apt itself, using the mirror this system already uses.
if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mirror=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        mirror=$(awk '
            /^URIs:/ { u = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++)
                             if ($i !~ /-/ && u !~ /security/) { print u; exit } }
        ' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
        mirror=$(awk '$1 == "deb" && $0 !~ /security/ {
                          for (i = 2; i <= NF; i++)
                              if ($i ~ /^(https?|file):/) { print $i; exit } }' \
                 /etc/apt/sources.list)
    fi
    [ -n "$mirror" ] || { echo "deps: no Debian mirror found in apt sources" >&2; exit 1; }

    printf 'deb [trusted=yes] %s sid main\n' "$mirror" > "$work/sid.list"
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    opts=(-o Dir::Etc::sourcelist="$work/sid.list"
          -o Dir::Etc::sourceparts=/dev/null
          -o Dir::State::Lists="$work/lists"
          -o Dir::Cache="$work/cache"
          -o APT::Get::List-Cleanup=0)
    apt-get "${opts[@]}" update -qq
    (cd "$work" && apt-get "${opts[@]}" download libtest-nginx-perl)
    apt-get install -y -qq --no-install-recommends "$work"/libtest-nginx-perl_*.deb
fi

echo "deps: ok"
