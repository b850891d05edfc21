#!/bin/sh
# cxx_installed.sh BUILD_DIR - C++ programs as a user builds them:
# installs BUILD_DIR into a scratch prefix and builds tests/cxx/*.cc with
# `c++ $(pkg-config --cflags --libs gort)`.  cxx_names runs with
# GORTRACEBACK=all: its goroutine profile (stdout) and its panic's dump
# (stderr) must name its frames demangled, as Go names a function
# ("app::Worker::fail", not _ZNK3app6Worker4failEv).  cxx_eh checks that
# C++ exception state is per goroutine, at GOMAXPROCS=1 and 2.  Exit 77:
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
for prog in cxx_names cxx_eh; do
    # shellcheck disable=SC2046
    if ! c++ -O2 -g -fno-optimize-sibling-calls -o "$work/$prog" "$here/$prog.cc" \
        $(pkg-config --cflags --libs gort); then
        echo "cxx_installed: FAIL: building $prog against the installed library (pkg-config)"
        exit 1
    fi
done
fail=0
for procs in 1 2; do
    GOMAXPROCS=$procs LD_LIBRARY_PATH="$libdir" "$work/cxx_eh" >"$work/eh" 2>&1
    st=$?
    if [ "$st" -ne 0 ] || [ "$(grep -c '^ok: ' "$work/eh")" -ne 3 ]; then
        echo "cxx_installed: FAIL: cxx_eh at GOMAXPROCS=$procs, exit status $st:"
        head -40 "$work/eh"
        fail=1
    fi
done
GORTRACEBACK=all LD_LIBRARY_PATH="$libdir" "$work/cxx_names" >"$work/out" 2>"$work/err"
st=$?
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
