#!/bin/sh
# check-symbols.sh [BUILD_DIR] - gort exports nothing but its API (STYLE.md 2).
#
#   nm -D --defined-only libgort.so   only gort_[^_]* names (the public API),
#                                     besides what the linker adds (_init, _end, ...)
#                                     and the slow paths gort.h's inline fast
#                                     paths call (gort__*_slow, listed in gort.h)
#   nm -g --defined-only libgort.a    only gort_* names (gort_ and gort__):
#                                     every global of the archive reaches the user's link
#
# BUILD_DIR defaults to build/release.  Exit status 1 lists the offenders.
set -eu

dir=${1:-build/release}
so="$dir/libgort.so"
a="$dir/libgort.a"
for f in "$so" "$a"; do
    if [ ! -e "$f" ]; then
        echo "check-symbols: $f not found (build first: make, or cmake --build --preset ...)" >&2
        exit 2
    fi
done

status=0

# Symbols the static linker defines in every shared object.
linker_syms='^(_init|_fini|__bss_start|_edata|_end|__end__|_IO_stdin_used|__data_start|data_start)$'
# The header's inline fast paths (gort_mutex_lock, ...) call these.
inline_syms='^gort__(mutex_lock|mutex_unlock|rwmutex_rlock|rwmutex_runlock)_slow$'

bad=$(nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' |
    grep -Ev "$linker_syms" | grep -Ev "$inline_syms" | grep -Ev '^gort_[^_]' || true)
nso=$(nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | grep -c '^gort_[^_]' || true)
if [ -n "$bad" ]; then
    echo "check-symbols: $so exports names outside the API (want gort_[^_]*; make them static," >&2
    echo "  or gort__ without GORT_API):" >&2
    echo "$bad" | sed 's/^/    /' >&2
    status=1
fi

# "file.o:" headers and blank lines are not symbols.  DW.ref.__gcc_personality_v0
# is the compiler's: a weak, hidden reference to the C unwinder's personality
# routine in code built with -fexceptions (panic.c: gort_call's cleanup), one
# copy per link, which no program can name (the dot).
personality='^DW\.ref\.__gcc_personality_v0$'
bad=$(nm -g --defined-only "$a" | awk 'NF >= 3 { print $3 }' | grep -Ev '^gort_' |
    grep -Ev "$personality" || true)
na=$(nm -g --defined-only "$a" | awk 'NF >= 3 { print $3 }' | grep -c '^gort_' || true)
if [ -n "$bad" ]; then
    echo "check-symbols: $a defines globals outside the gort_/gort__ namespace (make them static" >&2
    echo "  or rename them gort__<name>):" >&2
    echo "$bad" | sort -u | sed 's/^/    /' >&2
    status=1
fi

if [ "$status" = 0 ]; then
    echo "check-symbols: ok ($nso exported from libgort.so, $na globals in libgort.a)"
fi
exit "$status"
