#!/bin/sh
# check-package.sh [BUILD_DIR] - makes the Debian packages (cpack -G DEB:
# libgort0, libgort-dev), unpacks them into a scratch root with dpkg-deb -x
# (nothing is installed on this system), and builds and runs a program
# against them with pkg-config, as a user who ran
# `apt install ./libgort0_*.deb ./libgort-dev_*.deb` would.
#
# Checks: each package's name, version, dependencies and files (the shared
# library alone in libgort0, everything to build with in libgort-dev), and
# that the program links to libgort.so.0 from the scratch root and runs
# goroutines and a channel.  BUILD_DIR defaults to build/release.
set -eu

dir=${1:-build/release}
if [ ! -f "$dir/CMakeCache.txt" ]; then
    echo "check-package: $dir is not a configured build directory" >&2
    exit 2
fi
for tool in cpack dpkg-deb pkg-config cc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "check-package: needs $tool" >&2; exit 2; }
done
root=$(mktemp -d "${TMPDIR:-/tmp}/gort-pkgroot.XXXXXX")
trap 'rm -rf "$root"' EXIT
work="$root/.work"
mkdir -p "$work"

fail() {
    echo "check-package: FAIL: $*" >&2
    exit 1
}

[ -f "$dir/CPackConfig.cmake" ] || fail "$dir has no CPackConfig.cmake: configure it again (cmake --preset ...)"
rm -rf "$dir/packages"
(cd "$dir" && cpack -G DEB) >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log" >&2; fail "cpack"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$dir/CMakeCache.txt")
rt=$(ls "$dir"/packages/libgort0_"$version"_*.deb 2>/dev/null | head -n1)
dev=$(ls "$dir"/packages/libgort-dev_"$version"_*.deb 2>/dev/null | head -n1)
[ -n "$rt" ] || fail "no libgort0_${version}_*.deb in $dir/packages"
[ -n "$dev" ] || fail "no libgort-dev_${version}_*.deb in $dir/packages"

# Control fields.
[ "$(dpkg-deb -f "$rt" Package)" = libgort0 ] || fail "$rt: Package is not libgort0"
[ "$(dpkg-deb -f "$dev" Package)" = libgort-dev ] || fail "$dev: Package is not libgort-dev"
[ "$(dpkg-deb -f "$rt" Version)" = "$version" ] || fail "$rt: Version is not $version"
dpkg-deb -f "$dev" Depends | grep -q "libgort0 (= $version)" ||
    fail "libgort-dev does not depend on libgort0 (= $version)"
dpkg-deb -f "$rt" Depends | grep -q libc6 || fail "libgort0 does not depend on libc6"

# Files: the runtime package holds the shared library and nothing to build with.
dpkg-deb -c "$rt" | awk '{print $6}' >"$work/rt.files"
dpkg-deb -c "$dev" | awk '{print $6}' >"$work/dev.files"
grep -q '/libgort\.so\.0$' "$work/rt.files" || fail "libgort0 lacks libgort.so.0"
grep -q '/libgort\.so\.'"$version"'$' "$work/rt.files" || fail "libgort0 lacks libgort.so.$version"
if grep -qE 'gort\.h$|libgort\.a$|libgort\.so$|\.pc$|\.cmake$' "$work/rt.files"; then
    fail "libgort0 carries development files"
fi
for f in include/gort.h libgort.a libgort.so pkgconfig/gort.pc cmake/gort/gortConfig.cmake; do
    grep -q "/$f\$" "$work/dev.files" || fail "libgort-dev lacks $f"
done
if grep -q '/libgort\.so\.0' "$work/dev.files"; then
    fail "libgort-dev carries the shared library itself"
fi
# gdb finds the extension under auto-load/ plus the library's own absolute
# directory (the package's, not the configured prefix's).
so=$(grep '/libgort\.so\.'"$version"'$' "$work/rt.files" | head -n1)
gdbpy="./usr/share/gdb/auto-load${so#.}-gdb.py"
grep -qxF "$gdbpy" "$work/rt.files" || fail "libgort0 lacks $gdbpy (gdb's auto-load path of ${so#.})"

# Unpack both into the scratch root (dpkg-deb -x: no dpkg database, no
# maintainer scripts, nothing outside $root).
dpkg-deb -x "$rt" "$root" || fail "dpkg-deb -x $rt"
dpkg-deb -x "$dev" "$root" || fail "dpkg-deb -x $dev"
pc=$(find "$root/usr" -name gort.pc | head -n1)
[ -n "$pc" ] || fail "no gort.pc under $root/usr"
libdir=$(dirname "$(dirname "$pc")")

cat >"$work/prog.c" <<'C'
#include <gort.h>
#include <stdio.h>

static void producer(void *arg) {
    gort_chan *c = arg;
    for (int i = 1; i <= 100; i++)
        gort_chan_send(c, &i);
    gort_chan_close(c);
}

static int main_fn(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 4);
    if (c == NULL || gort_go(producer, c) != 0)
        return 1;
    int v, sum = 0;
    while (gort_chan_recv(c, &v))
        sum += v;
    gort_chan_free(c);
    printf("sum %d gort %s\n", sum, gort_version());
    return sum == 5050 ? 0 : 1;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
C

export PKG_CONFIG_PATH="$libdir/pkgconfig"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR || true
[ "$(pkg-config --modversion gort)" = "$version" ] || fail "pkg-config --modversion gort"
case $(pkg-config --cflags gort) in
-I"$root"/*) ;;
*) fail "pkg-config --cflags does not point into the scratch root: $(pkg-config --cflags gort)" ;;
esac
# shellcheck disable=SC2046
cc -o "$work/prog" "$work/prog.c" $(pkg-config --cflags --libs gort) ||
    fail "building against the packages with pkg-config"
readelf -d "$work/prog" | grep -q 'NEEDED.*libgort\.so\.0' || fail "the program is not linked to libgort.so.0"
out=$(LD_LIBRARY_PATH="$libdir" "$work/prog") || fail "the program failed: $out"
[ "$out" = "sum 5050 gort $version" ] || fail "unexpected output: $out"
LD_LIBRARY_PATH="$libdir" ldd "$work/prog" | grep -q "libgort\.so\.0 => $root" ||
    fail "libgort.so.0 was not loaded from the scratch root"

echo "check-package: ok ($(basename "$rt"), $(basename "$dev"): pkg-config build from a scratch root)"
