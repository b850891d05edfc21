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
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/installed.sh"
gt_need cxx_installed pkg-config c++
gt_install cxx_installed "$1"
# cxx_names_static: the same with libstdc++ linked in (-static-libstdc++),
# its __cxa_demangle not exported.
build() {
    # shellcheck disable=SC2046
    if ! c++ -O2 -g -fno-optimize-sibling-calls -o "$work/$1" "$here/$2.cc" $3 \
        $(pkg-config --cflags --libs gort); then
        echo "cxx_installed: FAIL: building $1 against the installed library (pkg-config)"
        exit 1
    fi
}
build cxx_names cxx_names ""
build cxx_names_static cxx_names -static-libstdc++
build cxx_eh cxx_eh ""
fail=0
for procs in 1 2; do
    GOMAXPROCS=$procs LD_LIBRARY_PATH="$libdir" "$work/cxx_eh" >"$work/eh" 2>&1
    st=$?
    if [ "$st" -ne 0 ] || [ "$(grep -c '^ok: ' "$work/eh")" -ne 5 ]; then
        echo "cxx_installed: FAIL: cxx_eh at GOMAXPROCS=$procs, exit status $st:"
        head -40 "$work/eh"
        fail=1
    fi
done
names='app::Worker::wait
app::(anonymous namespace)::helper
app::real_main<int>
app::Logger<int (*)(char const*, ...)>::run
app::make_coop<int>
app::get_handler<int>
app::Vec::operator<'
for prog in cxx_names cxx_names_static; do
    GORTRACEBACK=all LD_LIBRARY_PATH="$libdir" "$work/$prog" "$work/goroutine.pb.gz" \
        >"$work/out" 2>"$work/err"
    st=$?
    bad=0
    if [ "$st" -ne 2 ]; then
        echo "cxx_installed: FAIL: $prog: exit status $st, want 2 (the panic)"
        bad=1
    fi
    # The text profile, and the proto one as `go tool pprof` shows it (it
    # simplifies a name whose system_name is the name itself).
    top=""
    if command -v go >/dev/null 2>&1; then
        top=$(go tool pprof -top -nodecount=100 "$work/$prog" "$work/goroutine.pb.gz" 2>&1)
    fi
    while IFS= read -r want; do
        if ! grep -qF "$want+0x" "$work/out"; then
            echo "cxx_installed: FAIL: $prog: the goroutine profile has no frame $want"
            bad=1
        fi
        if ! grep -qF -- "$want(...)" "$work/err"; then
            echo "cxx_installed: FAIL: $prog: the dump has no frame $want"
            bad=1
        fi
        if [ -n "$top" ] && ! printf '%s\n' "$top" | grep -qF -- " $want"; then
            echo "cxx_installed: FAIL: $prog: go tool pprof -top shows no $want"
            bad=1
        fi
    done <<EOF2
$names
EOF2
    for want in 'panic: boom from C++' 'app::Worker::fail(...)' 'app::Worker::run(...)' \
        'created by app::(anonymous namespace)::helper in goroutine 1'; do
        if ! grep -qF "$want" "$work/err"; then
            echo "cxx_installed: FAIL: $prog: the dump has no line $want"
            bad=1
        fi
    done
    if grep -q '_Z' "$work/out" "$work/err"; then
        echo "cxx_installed: FAIL: $prog: a mangled name is left"
        bad=1
    fi
    if [ "$bad" -ne 0 ]; then
        echo "--- stdout"
        cat "$work/out"
        echo "--- stderr"
        cat "$work/err"
        [ -n "$top" ] && printf -- '--- go tool pprof -top\n%s\n' "$top"
        fail=1
    fi
done
if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "cxx_installed: ok"
