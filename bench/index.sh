#!/bin/bash
# bench/index.sh [BUILD_DIR] [PACKAGES]
#
# The repository index (common/repoindex.c) at the size of a Fedora release,
# PACKAGES (default 70000) synthetic packages with Fedora-like file lists and
# build-ids, made by bench/index-bench.c as a packages.solv without lookup
# tables (what a writer of an older table format leaves), so no RPM has to
# be built: the first update makes the tables from it, as it would after a
# format change. Then: a no-op update, an update that reads one new real
# RPM, repoindex_open() and each kind of lookup (medians), the file sizes,
# and a full index build from 1,000 real RPM headers (the shared test data's
# RPMs under 1,000 names). Needs a built tree (its libretrace-common.a) and
# ../shared/testdata (or $TESTDATA). Not a test: prints a table.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/test}
n=${2:-70000}
testdata=${TESTDATA:-$top/../shared/testdata}
lib=$build/common/.libs/libretrace-common.a
[ -f "$lib" ] || { echo "no $lib: build first (scripts/run-tests builds $top/_build/test)" >&2; exit 1; }
[ -d "$testdata" ] || { echo "no test data at $testdata (set TESTDATA)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/retrace-bench-index.XXXXXX)
trap 'rm -rf "$work"' EXIT
bench=$work/index-bench
# shellcheck disable=SC2046
cc -O2 -I"$top/common" -I"$build" -o "$bench" "$top/bench/index-bench.c" "$lib" \
        $(pkg-config --cflags --libs libsolvext)

repo=$work/repo
rel=fedora-40-x86_64
now() { date +%s.%N; }
secs() { awk "BEGIN {printf \"%.2f\", $2 - $1}"; }
field() { sed -n "s/.*$1 \([^ ]*\).*/\1/p"; }

t0=$(now)
gen=$("$bench" gen "$repo" "$rel" "$n")
t1=$(now)
files=$(echo "$gen" | field files)
echo "generated $n packages, $files files in $(secs "$t0" "$t1") s"

first=$("$bench" update "$repo" "$rel")
echo "first update: $first"
noop=$("$bench" update "$repo" "$rel")
echo "no-op update: $noop"
gen_dir=$repo/$rel/$(readlink "$repo/$rel/index")
solv_size=$(stat -c %s "$gen_dir/packages.solv")
tbl_size=$(stat -c %s "$gen_dir/lookup.tbl")

# Warm, then measure, the reading side.
"$bench" query "$repo" "$rel" "$n" >/dev/null
query=$("$bench" query "$repo" "$rel" "$n")
echo "$query"

ln -s "$testdata/libabigail-real-fedora-rhel-rpms-with-debuginfo/sshpass-1.07-1.fc34.x86_64.rpm" \
        "$repo/$rel/Packages/"
one=$("$bench" update "$repo" "$rel")
echo "one new RPM: $one"

# 1,000 real RPM headers: the test data's RPMs again and again under new names.
rel2=fedora-41-x86_64
mkdir -p "$repo/$rel2/Packages"
mapfile -t rpms < <(find "$testdata/libabigail-real-fedora-rhel-rpms-with-debuginfo" \
        "$testdata/elfutils-debuginfod-rpms" -name '*.rpm' | sort)
for i in $(seq 0 999); do
        f=${rpms[$((i % ${#rpms[@]}))]}
        ln -s "$f" "$repo/$rel2/Packages/$(printf 'c%04d-' "$i")$(basename "$f")"
done
cat "${rpms[@]}" >/dev/null     # page cache: measure header parsing, not the disk
full=$("$bench" update "$repo" "$rel2")
echo "1000 real RPMs: $full"
full_noop=$("$bench" update "$repo" "$rel2")

ns() { echo "$query" | awk -v k="$1" '$1 == k {print $2}'; }
us() { awk "BEGIN {printf \"%.1f\", $(ns "$1") / 1000}"; }
cat <<EOF

repository index benchmark: $n packages, $files files ($(nproc) CPUs, $(uname -r))
----------------------------------------------------------------------------
tables from packages.solv, no RPM read   $(echo "$first" | field seconds) s
no-op update (scan, load, compare)       $(echo "$noop" | field seconds) s
update reading 1 new RPM                 $(echo "$one" | field seconds) s
packages.solv                            $(awk "BEGIN {printf \"%.1f\", $solv_size / 1048576}") MiB
lookup.tbl                               $(awk "BEGIN {printf \"%.1f\", $tbl_size / 1048576}") MiB
repoindex_open (median of 201)           $(us open) us
repoindex_is_current                     $(us is_current) us
find_build_id binary (median)            $(ns build_id_binary) ns
find_build_id debug                      $(ns build_id_debug) ns
find_build_id, absent                    $(ns build_id_miss) ns
find_path                                $(ns path) ns
find_path, absent                        $(ns path_miss) ns
find_nevra                               $(ns nevra) ns
debug_companions                         $(ns companions) ns
index build, 1000 real RPM headers       $(echo "$full" | field seconds) s
no-op update of those 1000               $(echo "$full_noop" | field seconds) s
EOF
