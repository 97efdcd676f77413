# Shared by scripts/run-server and scripts/run-tests: dependency
# installation and the build. Sourced, not run.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

DEBIAN_PACKAGES="apache2 apache2-dev libapr1-dev libaprutil1-dev libarchive-dev
 liblzma-dev libzstd-dev zlib1g-dev librpm-dev libsolv-dev libsolvext-dev libdw-dev
 libcurl4-openssl-dev libssl-dev libinih-dev libcmocka-dev rpm debugedit
 createrepo-c cpio gnupg gcc-multilib libc6-dbg bzip2 python3-prometheus-client chromium gdb elfutils bubblewrap pkg-config autoconf automake libtool make
 gcc curl python3 zstd xz-utils openssl procps clang libclang-rt-dev valgrind"
FEDORA_PACKAGES="httpd httpd-devel mod_ssl apr-devel apr-util-devel
 libarchive-devel xz-devel libzstd-devel zlib-devel rpm-devel rpm-build libsolv-devel
 elfutils-devel libcurl-devel openssl-devel inih-devel libcmocka-devel
 createrepo_c cpio gnupg2 rpm-sign python3-prometheus_client chromium gdb elfutils bubblewrap pkgconf-pkg-config autoconf automake
 libtool make gcc curl python3 zstd xz openssl procps-ng clang compiler-rt valgrind"

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
        if [ "$(id -u)" -eq 0 ]; then
                "$@"
        elif command -v sudo >/dev/null 2>&1; then
                sudo "$@"
        else
                die "installing packages needs root; run as root: $*"
        fi
}

# Installs whatever of the package list is missing, with apt-get or dnf.
install_deps() {
        local missing=()
        if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
                for p in $DEBIAN_PACKAGES; do
                        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
                                missing+=("$p")
                done
                [ ${#missing[@]} -eq 0 ] && return 0
                say "installing ${missing[*]}"
                as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
                        die "apt-get update failed"
                as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                        --no-install-recommends "${missing[@]}" >/dev/null ||
                        die "apt-get install ${missing[*]} failed"
        elif command -v dnf >/dev/null 2>&1; then
                for p in $FEDORA_PACKAGES; do
                        rpm -q "$p" >/dev/null 2>&1 || missing+=("$p")
                done
                [ ${#missing[@]} -eq 0 ] && return 0
                say "installing ${missing[*]}"
                as_root dnf install -y -q "${missing[@]}" || die "dnf install ${missing[*]} failed"
        else
                die "neither apt-get nor dnf found: install the build dependencies by hand (see README)"
        fi
}

# build BUILD_DIR [configure options...]: autoreconf, configure (once per
# option set), make. The tree itself stays unconfigured, so several build
# directories can coexist.
build() {
        local dir=$1; shift
        local jobs; jobs=$(nproc 2>/dev/null || echo 2)
        if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] ||
           [ "$top/Makefile.am" -nt "$top/Makefile.in" ]; then
                (cd "$top" && autoreconf -fi >"${TMPDIR:-/tmp}/autoreconf.$$.log" 2>&1) ||
                        { cat "${TMPDIR:-/tmp}/autoreconf.$$.log"; die "autoreconf failed"; }
                rm -f "${TMPDIR:-/tmp}/autoreconf.$$.log"
        fi
        mkdir -p "$dir"
        local want="$*"
        if [ ! -f "$dir/config.status" ] || [ "$(cat "$dir/.configure-args" 2>/dev/null)" != "$want" ]; then
                (cd "$dir" && "$top/configure" -q "$@") || die "configure failed (see $dir/config.log)"
                printf '%s' "$want" >"$dir/.configure-args"
        fi
        make -C "$dir" -s -j"$jobs" >/dev/null || make -C "$dir" || die "the build failed"
}

# The httpd binary and its module directory, Debian or Fedora.
find_httpd() {
        HTTPD=$(command -v apache2 || command -v httpd || ls /usr/sbin/apache2 /usr/sbin/httpd 2>/dev/null | head -n1)
        [ -n "$HTTPD" ] || die "httpd not found"
        HTTPD_MODULES=$(apxs -q LIBEXECDIR 2>/dev/null)
        [ -d "$HTTPD_MODULES" ] || die "httpd's module directory not found (apxs -q LIBEXECDIR)"
}
