#!/bin/sh
# cxx_installed.sh BUILD_DIR - a C++ program's names as a user meets them:
# installs BUILD_DIR into a scratch prefix, builds tests/cxx/cxx_names.cc
# with `c++ $(pkg-config --cflags --libs gort)`, runs it with
# GORTRACEBACK=all, and checks that its goroutine profile (stdout) and
# its panic's dump (stderr) name its frames demangled, as Go names a
# function: "app::Worker::fail", not _ZNK3app6Worker4failEv.  Exit 77:
# skipped.
set -u
dir=$1
here=$(cd "$(dirname "$0")" && pwd)
for tool in pkg-config c++; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "cxx_installed: SKIP: $tool is not installed"
        exit 77
    fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/gort-cxxinst.XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! cmake --install "$dir" --prefix "$work/prefix" >"$work/install.log" 2>&1; then
    cat "$work/install.log"
    echo "cxx_installed: FAIL: cmake --install $dir"
    exit 1
fi
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$dir/CMakeCache.txt")
libdir="$work/prefix/${libdir:-lib}"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
if ! c++ -O2 -g -fno-optimize-sibling-calls -o "$work/cxx_names" "$here/cxx_names.cc" \
    $(pkg-config --cflags --libs gort); then
    echo "cxx_installed: FAIL: building against the installed library (pkg-config)"
    exit 1
fi
GORTRACEBACK=all LD_LIBRARY_PATH="$libdir" "$work/cxx_names" >"$work/out" 2>"$work/err"
st=$?
fail=0
if [ "$st" -ne 2 ]; then
    echo "cxx_installed: FAIL: exit status $st, want 2 (the panic)"
    fail=1
fi
for want in 'app::Worker::wait+0x' 'app::(anonymous namespace)::helper+0x' 'app::real_main<int>+0x'; do
    if ! grep -qF "$want" "$work/out"; then
        echo "cxx_installed: FAIL: the goroutine profile has no frame $want"
        fail=1
    fi
done
for want in 'panic: boom from C++' 'app::Worker::fail(...)' 'app::Worker::run(...)' \
    'app::Worker::wait(...)' 'app::(anonymous namespace)::helper(...)' \
    'app::real_main<int>(...)' 'created by app::(anonymous namespace)::helper in goroutine 1'; do
    if ! grep -qF "$want" "$work/err"; then
        echo "cxx_installed: FAIL: the dump has no line $want"
        fail=1
    fi
done
if grep -q '_Z' "$work/out" "$work/err"; then
    echo "cxx_installed: FAIL: a mangled name is left"
    fail=1
fi
if [ "$fail" -ne 0 ]; then
    echo "--- stdout"
    cat "$work/out"
    echo "--- stderr"
    cat "$work/err"
    exit 1
fi
echo "cxx_installed: ok"
