#!/usr/bin/env bash
# Builds the gateway image with podman (Debian's, as root; no Docker engine
# needed) and tests it: the image answers a submission, stored in a private
# PostgreSQL on the host's loopback.
#   docker/build.sh            build, run, post one submission, report size
#   docker/build.sh build      build only
# The debian:bookworm base is made offline-friendly with debootstrap
# (minbase, from this machine's Debian mirror) and `podman import`, once.
# Host networking: the container listens on 127.0.0.1:8080 of the host
# and reaches PostgreSQL on 127.0.0.1:${EPRO_PG_PORT:-15445}.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
image=localhost/epro-gateway:latest
name=epro-gateway-test

[ "$(id -u)" = 0 ] || { echo "docker/build.sh: run as root" >&2; exit 1; }

for p in podman runc debootstrap; do
    command -v "$p" > /dev/null && continue
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends podman runc debootstrap uidmap \
        containernetworking-plugins > /dev/null
    break
done

pm=(podman --runtime runc --cgroup-manager cgroupfs)
# podman's defaults ask for more than a sandbox may allow (runc then fails
# with "error setting rlimit ... operation not permitted"): open files as
# this shell may have them, and a number of processes that is always let
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=65536
nproc=4096
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

if ! "${pm[@]}" image exists debian:bookworm; then
    mirror=$(awk '/^URIs:/ { print $2; exit }' \
             /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    root=$(mktemp -d /tmp/epro-bookworm.XXXXXX)
    echo "docker/build.sh: debootstrap bookworm (minbase) from" \
         "${mirror:-the default mirror}"
    debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} \
        > "$build/debootstrap.log" 2>&1 \
        || { tail -20 "$build/debootstrap.log" >&2; exit 1; }
    # the image's apt uses the same mirror as this machine
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        cp /etc/apt/sources.list.d/debian.sources \
           "$root/etc/apt/sources.list.d/"
        rm -f "$root/etc/apt/sources.list"
    fi
    # as Debian's own images: no package cache, no lists
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | "${pm[@]}" import - debian:bookworm > /dev/null
    rm -rf "$root"
fi

mkdir -p "$build"
"${pm[@]}" build --network host "${limits[@]}" -f docker/Dockerfile \
    -t "$image" "$repo" > "$build/image-build.log" 2>&1 \
    || { tail -40 "$build/image-build.log" >&2; exit 1; }

# the build stage's layers are of no further use
"${pm[@]}" image prune -f > /dev/null

size=$("${pm[@]}" image inspect --format '{{.Size}}' "$image")
echo "docker/build.sh: $image built, $((size / 1024 / 1024)) MiB"

# no compiler and no -dev package in what runs
if "${pm[@]}" run --rm --network host "${limits[@]}" --entrypoint sh \
       "$image" -c 'command -v cc || command -v gcc \
                    || dpkg -l | grep -- "-dev "'
then
    echo "docker/build.sh: the runtime image holds build tools" >&2
    exit 1
fi

[ "${1:-}" = build ] && exit 0

export EPRO_PG_PORT=${EPRO_PG_PORT:-15445}
export EPRO_PG_DIR=$(mktemp -d /tmp/epro-img-pg.XXXXXX)/pg
chmod 755 "$(dirname "$EPRO_PG_DIR")"

cleanup() {
    "${pm[@]}" rm -f -t 5 "$name" > /dev/null 2>&1 || true
    "$repo/util/pg.sh" stop || true
    rm -rf "$(dirname "$EPRO_PG_DIR")"
}
trap cleanup EXIT

"$repo/util/pg.sh" start

"${pm[@]}" run -d --name "$name" --network host "${limits[@]}" \
    -e PGHOST=127.0.0.1 -e PGPORT="$EPRO_PG_PORT" "$image" > /dev/null

id=$(cat /proc/sys/kernel/random/uuid)
code=000
for i in $(seq 50); do
    code=$(curl -s -o "$build/image-smoke.out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' \
        --data '{"submissionId":"'"$id"'","studyId":"IMG","subjectId":"I-1","visitName":"smoke","instrument":"PHQ-9","collectedAt":1700000000,"answers":{"PHQ9_1":0,"PHQ9_2":1,"PHQ9_3":0,"PHQ9_4":2,"PHQ9_5":0,"PHQ9_6":0,"PHQ9_7":1,"PHQ9_8":0,"PHQ9_9":0}}' \
        http://127.0.0.1:8080/submissions || true)
    [ "$code" = 201 ] && break
    sleep 0.2
done

cat "$build/image-smoke.out" 2>/dev/null; echo
if [ "$code" != 201 ]; then
    "${pm[@]}" logs "$name" 2>&1 | tail -20 >&2
    echo "docker/build.sh: got $code, not 201" >&2
    exit 1
fi

"$repo/util/pg.sh" psql -Atc \
    "SELECT count(*) FROM epro_submissions WHERE submission_id = '$id'" \
    | grep -qx 1
user=$("${pm[@]}" exec "$name" id -un)
[ "$user" = epro ] || { echo "docker/build.sh: runs as $user" >&2; exit 1; }
echo "docker/build.sh: the image (nginx as $user) stored a submission"
