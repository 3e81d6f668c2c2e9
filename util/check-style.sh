#!/usr/bin/env bash
# House style and static analysis of the C sources.
#   util/check-style.sh
# 1. Every *.c and *.h of the project (build/ aside; found with find, so a
#    release tarball checks the same): no line over 80 columns, no tab,
#    no trailing white space, no // comment.  Each finding is printed as
#    file:line.
# 2. cppcheck (warning, performance, portability and its errors) on the
#    plain-C core, src/core/*.c, and on the nginx glue with the include
#    directories of the configured nginx tree in build/nginx-src (made by
#    util/build.sh, which is run if that tree is missing).
# Exits 1 if anything is found or nothing was there to check, 0 if all
# is clean.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${EPRO_BUILD_DIR:-$repo/build}
cd "$repo"

status=0

mapfile -t existing < <(find . -path ./build -prune -o -path ./.git -prune \
                        -o -path '*/node_modules' -prune \
                        -o -type f \( -name '*.c' -o -name '*.h' \) -print \
                        | sed 's#^\./##' | sort)

if [ "${#existing[@]}" -gt 0 ]; then
    perl -CS -e '
        use strict;
        use warnings;
        use Encode ();

        my $bad = 0;

        for my $file (@ARGV) {
            open my $fh, "<:raw", $file or die "$file: $!\n";
            my $block = 0;

            while (my $raw = <$fh>) {
                $raw =~ s/\r?\n\z//;
                # columns are characters; bytes if it is not UTF-8
                my $line = eval {
                    Encode::decode("UTF-8", $raw, Encode::FB_CROAK)
                } // $raw;
                my @what;

                push @what, "longer than 80 columns (" . length($line) . ")"
                    if length($line) > 80;
                push @what, "tab" if $line =~ /\t/;
                push @what, "trailing white space" if $line =~ /\s\z/;

                # a // outside strings, characters and /* */ comments
                my $i = 0;
                my $n = length $line;
                while ($i < $n) {
                    my $c = substr($line, $i, 1);
                    my $two = substr($line, $i, 2);

                    if ($block) {
                        if ($two eq "*/") { $block = 0; $i += 2; next }
                        $i++;
                        next;
                    }

                    if ($two eq "/*") { $block = 1; $i += 2; next }
                    if ($two eq "//") { push @what, "// comment"; last }

                    if ($c eq "\"" || $c eq "\x27") {
                        $i++;
                        while ($i < $n && substr($line, $i, 1) ne $c) {
                            $i++ if substr($line, $i, 1) eq "\\";
                            $i++;
                        }
                    }

                    $i++;
                }

                next if !@what;
                print "$file:$.: ", join(", ", @what), "\n";
                $bad = 1;
            }

            close $fh;
        }

        exit $bad;
    ' -- "${existing[@]}" || status=1
fi

echo "style: ${#existing[@]} files checked" >&2

# a check that finds nothing to check is a broken check
if [ "${#existing[@]}" -lt 10 ] || [ ! -f src/core/epro_core.h ]; then
    echo "style: too few C files found: run from the repository" >&2
    status=1
fi

# cppcheck

if ! command -v cppcheck > /dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -q cppcheck > /dev/null
    else
        echo "style: cppcheck not found (apt-get install cppcheck)" >&2
        exit 1
    fi
fi

cppcheck=(cppcheck --quiet --error-exitcode=1 --inline-suppr
          --enable=warning,performance,portability
          --suppress=missingIncludeSystem --template=gcc)

core=(src/core/*.c)
"${cppcheck[@]}" --std=c99 -I src/core "${core[@]}" || status=1

nginx=$build/nginx-src
if [ ! -f "$nginx/objs/ngx_auto_config.h" ]; then
    util/build.sh > /dev/null
fi

pg_inc=$(pg_config --includedir)
glue=(ngx_http_epro_module.c src/ngx/*.c)

# The nginx headers make every macro (NGX_MODULE_V1, ngx_string, ...)
# known, so nothing needs silencing but what cppcheck says about nginx's
# own headers.  One configuration, the one objs/ngx_auto_config.h was
# generated for (Linux, GCC, x86-64): nginx's headers have too many
# #ifdefs to try them all, and the others are never built here.
"${cppcheck[@]}" -D__linux__ -D__GNUC__=12 -D__x86_64__ \
    --suppress="*:$nginx/*" --suppress="*:$pg_inc/*" \
    -I "$nginx/src/core" -I "$nginx/src/event" \
    -I "$nginx/src/event/modules" -I "$nginx/src/os/unix" \
    -I "$nginx/objs" -I "$nginx/src/http" -I "$nginx/src/http/modules" \
    -I "$nginx/src/http/v2" -I src/core -I src/ngx -I "$pg_inc" \
    "${glue[@]}" || status=1

if [ "$status" = 0 ]; then
    echo "style: clean" >&2
else
    echo "style: FAILED" >&2
fi

exit "$status"
