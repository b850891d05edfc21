#!/bin/sh
# gdb_installed.sh BUILD_DIR - gort's gdb support as a user meets it:
# installs BUILD_DIR (the release preset in `make test`) into a scratch
# prefix, builds tests/gdb/gdb_parked.c against the installed libgort.so
# with `cc -O2 -g $(pkg-config --cflags --libs gort)`, and runs
# gdb_test.sh on it (live process and core file; the script comes from
# the installed library's .debug_gdb_scripts section).  Exit 77: skipped.
#
# -fno-optimize-sibling-calls: a call in tail position leaves its caller no
# frame at -O2, for gdb as for any unwinder (README.md, "Race detector,
# sanitizers, valgrind", on gdb).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/installed.sh"
gt_need gdb_installed pkg-config
gt_install gdb_installed "$1"
# shellcheck disable=SC2046
if ! cc -O2 -g -fno-optimize-sibling-calls -o "$work/gdb_parked" "$here/gdb_parked.c" \
    $(pkg-config --cflags --libs gort); then
    echo "gdb_installed: FAIL: building against the installed library (pkg-config)"
    exit 1
fi
if ! readelf -d "$work/gdb_parked" | grep -q 'NEEDED.*libgort\.so'; then
    echo "gdb_installed: FAIL: the program is not linked to the installed libgort.so"
    exit 1
fi
LD_LIBRARY_PATH="$libdir" sh "$here/gdb_test.sh" "$work/gdb_parked"
