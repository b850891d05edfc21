#!/bin/sh
# check-install.sh [BUILD_DIR] - installs gort into a scratch prefix and
# builds small consumers against it, the four ways a user would:
#   pkg-config (shared), pkg-config --static (a fully static program),
#   find_package -> gort::gort, find_package -> gort::gort_static.
#
# BUILD_DIR defaults to build/release.  GORT_INSTALL_PREFIX overrides the
# scratch prefix (kept afterwards then; a mktemp one is removed).
set -eu

dir=${1:-build/release}
if [ ! -f "$dir/CMakeCache.txt" ]; then
    echo "check-install: $dir is not a configured build directory" >&2
    exit 2
fi
if [ -n "${GORT_INSTALL_PREFIX:-}" ]; then
    prefix=$GORT_INSTALL_PREFIX
    rm -rf "$prefix"
    work=$(mktemp -d "${TMPDIR:-/tmp}/gort-consumer.XXXXXX")
    trap 'rm -rf "$work"' EXIT
else
    prefix=$(mktemp -d "${TMPDIR:-/tmp}/gort-inst.XXXXXX")
    work="$prefix/.consumer"
    trap 'rm -rf "$prefix"' EXIT
fi
mkdir -p "$work"

fail() {
    echo "check-install: FAIL: $*" >&2
    exit 1
}

cmake --install "$dir" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install"; }

libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$dir/CMakeCache.txt")
libdir=${libdir:-lib}
for f in include/gort.h "$libdir/libgort.a" "$libdir/libgort.so" "$libdir/libgort.so.0" \
    "$libdir/pkgconfig/gort.pc" "$libdir/cmake/gort/gortConfig.cmake" \
    "$libdir/cmake/gort/gortConfigVersion.cmake" "$libdir/cmake/gort/gortTargets.cmake"; do
    [ -e "$prefix/$f" ] || fail "$f was not installed"
done

cat >"$work/consumer.c" <<'C'
#include <gort.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    if (strcmp(gort_version(), GORT_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", GORT_VERSION_STRING, gort_version());
        return 1;
    }
    printf("consumer: gort %s\n", gort_version());
    return 0;
}
C

# 1. pkg-config, shared.
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
pc_version=$(pkg-config --modversion gort) || fail "pkg-config --modversion gort"
# shellcheck disable=SC2046
cc -o "$work/pc" "$work/consumer.c" $(pkg-config --cflags --libs gort) ||
    fail "building against pkg-config gort"
LD_LIBRARY_PATH="$prefix/$libdir" "$work/pc" >/dev/null || fail "pkg-config consumer did not run"
readelf -d "$work/pc" | grep -q 'NEEDED.*libgort\.so\.0' || fail "pkg-config consumer is not linked to libgort.so.0"

# 1b. pkg-config --static: a fully static program (libdw's own libraries
# come through libdw.pc; -ldw alone left the link 339 symbols short).
cat >"$work/consumer_tb.c" <<'C'
#include <gort.h>
#include <stdio.h>
#include <string.h>

static char buf[4096];

static int real_main(void *arg) {
    (void)arg;
    gort_stack(buf, sizeof buf, false); /* the traceback, which links libdw */
    return strstr(buf, "real_main") == NULL;
}

int main(void) {
    return gort_main(real_main, NULL);
}
C
# shellcheck disable=SC2046
cc -static -o "$work/pc_static" "$work/consumer_tb.c" $(pkg-config --static --cflags --libs gort) \
    2>"$work/static.log" || { cat "$work/static.log" >&2; fail "a static link with pkg-config --static gort"; }
"$work/pc_static" >/dev/null || fail "the static pkg-config consumer did not run"
if readelf -d "$work/pc_static" 2>/dev/null | grep -q NEEDED; then
    fail "the static pkg-config consumer needs shared libraries"
fi

# 2. and 3. find_package, shared and static.
cat >"$work/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(gort_consumer C)
find_package(gort 0.1 REQUIRED CONFIG)
add_executable(consumer_shared consumer.c)
target_link_libraries(consumer_shared PRIVATE gort::gort)
add_executable(consumer_static consumer.c)
target_link_libraries(consumer_static PRIVATE gort::gort_static)
CM
cmake -S "$work" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "find_package(gort)"; }
cmake --build "$work/build" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; fail "building the find_package consumers"; }
"$work/build/consumer_shared" >/dev/null || fail "gort::gort consumer did not run"
"$work/build/consumer_static" >/dev/null || fail "gort::gort_static consumer did not run"
readelf -d "$work/build/consumer_shared" | grep -q 'NEEDED.*libgort\.so\.0' ||
    fail "gort::gort consumer is not linked to libgort.so.0"
if readelf -d "$work/build/consumer_static" | grep -q 'NEEDED.*libgort'; then
    fail "gort::gort_static consumer depends on libgort.so"
fi

echo "check-install: ok (gort $pc_version: pkg-config, pkg-config --static, gort::gort, gort::gort_static)"
