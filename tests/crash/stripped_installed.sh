#!/bin/sh
# stripped_installed.sh BUILD_DIR - a dump from the library installed
# stripped (`cmake --install --strip`, as a distribution ships it, its
# debug information apart): at GORTRACEBACK=single and all the runtime's
# own frames stay hidden, as with debug information, and at system they
# show.  traceback.c's showframe knew the runtime's static functions only
# by DWARF's file names, so a stripped library's dump showed them, as
# "?(...)" once their names were gone too.  Exit 77: skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../harness/installed.sh"
gt_need stripped_installed pkg-config cc readelf
gt_install stripped_installed "$1" --strip
if readelf -S "$libdir/libgort.so" | grep -q -e '\.debug_info' -e '\.symtab'; then
    echo "stripped_installed: FAIL: the installed libgort.so kept its symbols or debug information"
    exit 1
fi
cat >"$work/prog.c" <<'PROG'
#include <gort.h>

__attribute__((noinline)) static void user_panics(void) {
    gort_panic("stripped");
}

__attribute__((noinline)) static void user_goroutine(void *arg) {
    (void)arg;
    user_panics();
}

static int main_fn(void *arg) {
    (void)arg;
    gort_go(user_goroutine, NULL);
    gort_sleep(10LL * 1000 * 1000 * 1000);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
PROG
# shellcheck disable=SC2046
if ! cc -O2 -g -fno-optimize-sibling-calls -o "$work/prog" "$work/prog.c" \
    $(pkg-config --cflags --libs gort); then
    echo "stripped_installed: FAIL: building against the installed library (pkg-config)"
    exit 1
fi
fail=0
for level in single all system; do
    LD_LIBRARY_PATH="$libdir" GORTRACEBACK=$level "$work/prog" >/dev/null 2>"$work/$level.txt"
    st=$?
    if [ "$st" -ne 2 ] || ! grep -q '^panic: stripped' "$work/$level.txt" ||
        ! grep -q '^user_panics(\.\.\.)$' "$work/$level.txt" ||
        ! grep -q '^user_goroutine(\.\.\.)$' "$work/$level.txt"; then
        echo "stripped_installed: FAIL: GORTRACEBACK=$level: exit $st, or the panic or its user frames missing:"
        cat "$work/$level.txt"
        fail=1
        continue
    fi
    # Every frame line that is not the program's own: the runtime's.
    others=$(grep '^[^[:space:]].*(\.\.\.)$' "$work/$level.txt" |
        grep -v -e '^user_panics(' -e '^user_goroutine(' -e '^main_fn(' -e '^gort_' || true)
    case $level in
    system)
        if [ -z "$others" ]; then
            echo "stripped_installed: FAIL: GORTRACEBACK=system shows no runtime frame:"
            cat "$work/$level.txt"
            fail=1
        fi
        ;;
    *)
        if [ -n "$others" ]; then
            echo "stripped_installed: FAIL: GORTRACEBACK=$level shows the runtime's frames:"
            cat "$work/$level.txt"
            fail=1
        fi
        ;;
    esac
done
[ "$fail" -eq 0 ] && echo "stripped_installed: ok"
exit "$fail"
