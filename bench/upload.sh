#!/bin/bash
# bench/upload.sh [BUILD_DIR] [ROUNDS]
#
# A 1 GiB upload to mod_retrace against cat of the same file to the same
# disk, alternating A B A B so drift hits both, on a private httpd from
# scripts/write-config. Prints each round, the medians, the ratio
# upload/cat, and the largest growth of any httpd process's peak RSS
# (VmHWM, reset before the first round) over its size before.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/test}
rounds=${2:-5}
module=$build/mod_retrace/.libs/mod_retrace.so
[ -f "$module" ] || { echo "no $module: build first (scripts/run-tests builds $top/_build/test)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/retrace-bench-upload.XXXXXX)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=() ; [ "$(id -u)" -eq 0 ] && user=(nobody "$(id -gn nobody)")
"$top/scripts/write-config" "$work" "$port" "$module" "${user[@]}"
sed -i 's/^MaxPackedSize = .*/MaxPackedSize = 2048/; s/^MaxUnpackedSize = .*/MaxUnpackedSize = 2048/; s/^MinStorageLeft = .*/MinStorageLeft = 0/' \
        "$work/etc/retrace-server.conf"
httpd=$(command -v apache2 || command -v httpd)
"$httpd" -f "$work/etc/httpd.conf" -k start
trap '"$httpd" -f "$work/etc/httpd.conf" -k stop; sleep 1; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/settings" 2>/dev/null && break; sleep 0.1; done

# A tar with a 1 GiB core of random bytes and ABRT's small files.
mkdir "$work/crash"
head -c 1G /dev/urandom >"$work/crash/coredump"
echo /usr/bin/sleep >"$work/crash/executable"
echo coreutils-8.12-6.fc16 >"$work/crash/package"
tar -C "$work/crash" -cf "$work/upload.tar" coredump executable package
rm -rf "$work/crash"
size=$(stat -c %s "$work/upload.tar")

pids=$(pgrep -f "$work/etc/httpd.conf")
declare -A base
for p in $pids; do
        echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true
        base[$p]=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status")
done

now() { date +%s.%N; }
up=() cat_=()
for i in $(seq "$rounds"); do
        sync
        t0=$(now)
        code=$(curl -sS -o /dev/null -w '%{http_code}' -T "$work/upload.tar" -X POST \
                -H 'Content-Type: application/x-tar' "http://127.0.0.1:$port/create")
        t1=$(now)
        [ "$code" = 201 ] || { echo "upload answered $code" >&2; exit 1; }
        rm -rf "$work"/spool/tasks/* "$work"/spool/queue/*
        sync
        t2=$(now)
        cat "$work/upload.tar" >"$work/spool/cat-copy"
        t3=$(now)
        rm -f "$work/spool/cat-copy"
        up+=("$(awk "BEGIN {print $t1 - $t0}")") cat_+=("$(awk "BEGIN {print $t3 - $t2}")")
        printf 'round %d: upload %.2f s, cat %.2f s\n' "$i" "${up[-1]}" "${cat_[-1]}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mu=$(median "${up[@]}") mc=$(median "${cat_[@]}")
growth=0
for p in $pids; do
        hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        g=$(( hwm - ${base[$p]:-0} ))
        [ "$g" -gt "$growth" ] && growth=$g
done
awk -v s="$size" -v u="$mu" -v c="$mc" -v g="$growth" 'BEGIN {
        printf "%d bytes: upload median %.2f s (%.0f MiB/s), cat median %.2f s (%.0f MiB/s), upload/cat %.2f\n",
               s, u, s / u / 1048576, c, s / c / 1048576, u / c
        printf "largest httpd peak-RSS growth: %.1f MiB\n", g / 1024 }'
