# installed.sh - sourced by the tests that build programs against the
# installed library as a user does (tests/*/*_installed.sh).
#
# gt_need NAME TOOL...: exits 77 (skipped) if a tool is missing.
# gt_install NAME BUILD_DIR [ARG...]: installs BUILD_DIR into a scratch
# prefix (cmake --install ... ARG...), removed at exit, and sets work (the
# scratch directory), libdir (the installed libraries) and
# PKG_CONFIG_PATH; exits 1 if the install fails.

gt_need() {
    gt_name=$1
    shift
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$gt_name: SKIP: $tool is not installed"
            exit 77
        fi
    done
}

gt_install() {
    gt_name=$1
    gt_dir=$2
    shift 2
    work=$(mktemp -d "${TMPDIR:-/tmp}/gort-$gt_name.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    if ! cmake --install "$gt_dir" --prefix "$work/prefix" "$@" >"$work/install.log" 2>&1; then
        cat "$work/install.log"
        echo "$gt_name: FAIL: cmake --install $gt_dir $*"
        exit 1
    fi
    libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$gt_dir/CMakeCache.txt")
    libdir="$work/prefix/${libdir:-lib}"
    export PKG_CONFIG_PATH="$libdir/pkgconfig"
}
