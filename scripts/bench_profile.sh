#!/usr/bin/env bash
# scripts/bench_profile.sh - what profiling and tracing cost (issue 14's
# targets): CPU profiling at 100 Hz on `sieve` (<= 1%), execution tracing
# on `pingpong_unbuf_pN` (<= 10%, and <= Go's runtime/trace overhead on
# the same workload).  Each configuration runs as a fresh process, the
# configurations interleaved, BENCH_RUNS rounds; the medians are compared.
#
#   scripts/bench_profile.sh
#
# Environment: BENCH_RUNS (default 5), GORT_BUILD_DIR (default
# build/release, built if missing), GORT_REFERENCE (as scripts/bench.sh).
# The Go reference is rebuilt with bench/go_trace/trace_on.go added, which
# starts runtime/trace when GOBENCH_TRACE=FILE is set.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${GORT_REFERENCE:-$ROOT/../shared/reference}
if [ -z "${GORT_REFERENCE:-}" ] && [ ! -d "$REF" ]; then
    COMMON=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2> /dev/null || true)
    if [ -n "$COMMON" ] && [ -d "$COMMON/../../shared/reference" ]; then
        REF=$(cd "$COMMON/../../shared/reference" && pwd)
    fi
fi
RUNS=${BENCH_RUNS:-5}
BUILD=${GORT_BUILD_DIR:-$ROOT/build/release}
OUT=$ROOT/build/bench-profile
mkdir -p "$OUT/go"

if [ ! -x "$BUILD/gort-bench" ]; then
    (cd "$ROOT" && cmake --preset release > /dev/null && cmake --build "$BUILD" --target gort-bench -j2 > /dev/null)
fi
cp "$REF/go/bench.go" "$REF/go/go.mod" "$OUT/go/"
cp "$ROOT/bench/go_trace/trace_on.go" "$OUT/go/"
(cd "$OUT/go" && go build -o "$OUT/gobench" .)

# value NAME CMD...: the BENCH line's value of workload NAME.
value() {
    local name=$1
    shift
    "$@" | awk -v n="$name" '$1 == "BENCH" && $2 == n { print $3; exit }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A res
for r in $(seq 1 "$RUNS"); do
    res[sieve_off]+="$(value sieve "$BUILD/gort-bench" -w sieve)"$'\n'
    res[sieve_cpu]+="$(GORT_BENCH_CPUPROFILE=$OUT/sieve.pb.gz value sieve "$BUILD/gort-bench" -w sieve)"$'\n'
    res[pp_off]+="$(value pingpong_unbuf_pN "$BUILD/gort-bench" -w pingpong_unbuf_pN)"$'\n'
    res[pp_trace]+="$(GORT_BENCH_TRACE=$OUT/pp.trace value pingpong_unbuf_pN "$BUILD/gort-bench" -w pingpong_unbuf_pN)"$'\n'
    res[go_off]+="$(value pingpong_unbuf_pN "$OUT/gobench" -w pingpong_unbuf_pN)"$'\n'
    res[go_trace]+="$(GOBENCH_TRACE=$OUT/go.trace value pingpong_unbuf_pN "$OUT/gobench" -w pingpong_unbuf_pN)"$'\n'
    echo "round $r done" >&2
done
m() { printf '%s' "${res[$1]}" | grep -v '^$' | median; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b / a - 1) * 100 }'; }
so=$(m sieve_off) sc=$(m sieve_cpu) po=$(m pp_off) pt=$(m pp_trace) go=$(m go_off) gt=$(m go_trace)
echo "| workload | off | on | overhead | target |"
echo "| --- | --- | --- | --- | --- |"
echo "| sieve, gort, CPU profile 100 Hz (ms) | $so | $sc | $(pct "$so" "$sc") | <= 1% |"
echo "| pingpong_unbuf_pN, gort, trace (ns/op) | $po | $pt | $(pct "$po" "$pt") | <= 10%, <= Go's |"
echo "| pingpong_unbuf_pN, Go 1.19, runtime/trace (ns/op) | $go | $gt | $(pct "$go" "$gt") | |"
