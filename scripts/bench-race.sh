#!/usr/bin/env bash
# scripts/bench-race.sh - what `make bench-race` runs: the cost of race mode.
# gort-bench is built as a user builds a race-detector binary
# (cc -fsanitize=thread ... $(pkg-config --cflags --libs gort) against gort
# installed from build/release into a scratch prefix) and timed next to the
# plain gort-bench, and the Go reference next to `go build -race` of it
# (Debian's golang ships the race runtime), on the same workloads.
#
#   BENCH_WORKLOADS=pingpong_unbuf_pN,chan_mpmc   (default)
#   BENCH_REPS=3                                  best of, inside each process
#   GORT_BUILD_DIR=build/release                  an already built release tree
#
# Output: a markdown table of ns/op and the race/plain ratios, also in
# build/bench/race.md.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${GORT_REFERENCE:-$ROOT/../shared/reference}
if [ -z "${GORT_REFERENCE:-}" ] && [ ! -d "$REF" ]; then
    COMMON=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2> /dev/null || true)
    [ -n "$COMMON" ] && REF=$(cd "$COMMON/../../shared/reference" 2> /dev/null && pwd)
fi
WORKLOADS=${BENCH_WORKLOADS:-pingpong_unbuf_pN,chan_mpmc}
REPS=${BENCH_REPS:-3}
BUILD=${GORT_BUILD_DIR:-build/release}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=$ROOT/build/bench
die() { echo "bench-race.sh: $*" >&2; exit 2; }
[ -f "$BUILD/CMakeCache.txt" ] || die "$BUILD is not a configured build (make build)"
[ -f "$REF/go/bench.go" ] || die "Go reference not found at $REF/go (set GORT_REFERENCE)"
mkdir -p "$OUT"
work=$(mktemp -d "${TMPDIR:-/tmp}/gort-benchrace.XXXXXX")
trap 'rm -rf "$work"' EXIT

# gort: plain and race-mode builds of the same bench sources.
cmake --install "$BUILD" --prefix "$work/prefix" > "$work/install.log" 2>&1 \
    || { cat "$work/install.log" >&2; die "cmake --install failed"; }
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
export PKG_CONFIG_PATH="$work/prefix/${libdir:-lib}/pkgconfig"
export LD_LIBRARY_PATH="$work/prefix/${libdir:-lib}"
flags=$(pkg-config --cflags --libs gort) || die "pkg-config gort failed"
# shellcheck disable=SC2086
cc -O2 -g -D_GNU_SOURCE -I"$ROOT/bench" -o "$work/gort-plain" "$ROOT"/bench/*.c $flags -lm \
    || die "building gort-bench failed"
# shellcheck disable=SC2086
cc -O2 -g -D_GNU_SOURCE -fsanitize=thread -I"$ROOT/bench" -o "$work/gort-race" "$ROOT"/bench/*.c \
    $flags -lm || die "building gort-bench with -fsanitize=thread failed"

# Go: the reference, plain and -race.
export GOPROXY=off GOFLAGS=-mod=mod GO111MODULE=on
(cd "$REF/go" && go build -o "$work/go-plain" . && go build -race -o "$work/go-race" .) \
    > "$work/go.log" 2>&1 || { cat "$work/go.log" >&2; die "go build (-race) of the reference failed"; }

run="setarch $(uname -m) -R"
$run true 2> /dev/null || run=""
value() { # binary workload -> ns/op (best of REPS), or "fail"
    local v
    v=$(timeout 600 $run "$1" -reps "$REPS" -w "$2" 2> "$work/err.log" | awk -v w="$2" '$1 == "BENCH" && $2 == w {print $3; exit}')
    echo "${v:-fail}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else print "-" }'; }
{
    echo "| workload | gort ns/op | gort race ns/op | gort race/plain | Go ns/op | Go -race ns/op | Go race/plain |"
    echo "|---|---|---|---|---|---|---|"
    for w in ${WORKLOADS//,/ }; do
        gp=$(value "$work/gort-plain" "$w")
        gr=$(value "$work/gort-race" "$w")
        op=$(value "$work/go-plain" "$w")
        orc=$(value "$work/go-race" "$w")
        echo "| $w | $gp | $gr | $(ratio "$gr" "$gp") | $op | $orc | $(ratio "$orc" "$op") |"
    done
} | tee "$OUT/race.md"
