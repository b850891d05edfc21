#!/usr/bin/env bash
# scripts/bench.sh - what `make bench` runs: gort-bench and the Go reference
# benchmarks (../shared/reference/go/bench.go, plus our own bench/go/main.go
# for the workloads the reference lacks: defer_call, panic_recover) side by
# side, interleaved, then a markdown table of medians, ratios gort/Go and
# the issues' targets.
#
#   scripts/bench.sh
#
# Environment:
#   BENCH_RUNS=3          rounds; in each round every workload runs once in
#                         gort and once in Go, alternating, each as a fresh
#                         process `-w NAME` (best of 3 repetitions inside)
#   BENCH_WORKLOADS=a,b   workloads to run (comma- or space-separated);
#                         default: every workload `gort-bench -list` prints
#                         that a Go program also has
#   BENCH_REPS=N          passed as -reps N to both programs (default: theirs, 3)
#   BENCH_TIMEOUT=120     seconds allowed for one process run
#   GORT_BENCH=path       the gort-bench binary to use
#   GORT_BUILD_DIR=dir    else: use dir/gort-bench, already built (make bench
#                         sets build/release); else build the release preset
#                         and use build/release/gort-bench
#   GORT_REFERENCE=dir    the reference (default: <repo>/../shared/reference,
#                         or next to the main checkout when <repo> is a
#                         git worktree elsewhere)
#
# Output: the table on stdout (also build/bench/table.md); the raw BENCH
# lines of every process run, with run number and implementation, in
# build/bench/raw.txt; stdout/stderr of every run under build/bench/logs/.
# Exit status 1 if any run failed (crash, wrong result, timeout); a missed
# target is reported (MISS) but is not a failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${GORT_REFERENCE:-$ROOT/../shared/reference}
# A git worktree elsewhere (e.g. /tmp/wt-x): look next to the main checkout.
if [ -z "${GORT_REFERENCE:-}" ] && [ ! -d "$REF" ]; then
    COMMON=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2> /dev/null || true)
    if [ -n "$COMMON" ] && [ -d "$COMMON/../../shared/reference" ]; then
        REF=$(cd "$COMMON/../../shared/reference" && pwd)
    fi
fi
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
OUT=$ROOT/build/bench
GOOUT=$ROOT/build/bench-go
LOGS=$OUT/logs
RAW=$OUT/raw.txt
TSV=$OUT/results.tsv

die() { echo "bench.sh: $*" >&2; exit 2; }
note() { echo "== $*" >&2; }

case $RUNS in ''|*[!0-9]*|0) die "BENCH_RUNS must be a positive integer (got '$RUNS')" ;; esac
case $TIMEOUT in ''|*[!0-9]*|0) die "BENCH_TIMEOUT must be a positive integer (got '$TIMEOUT')" ;; esac
REPS_ARGS=()
if [ -n "${BENCH_REPS:-}" ]; then
    case $BENCH_REPS in *[!0-9]*|0) die "BENCH_REPS must be a positive integer" ;; esac
    REPS_ARGS=(-reps "$BENCH_REPS")
fi

# ------------------------------------------------------------------ Go
export GOPROXY=off GOFLAGS=-mod=mod GO111MODULE=on
if ! command -v go > /dev/null 2>&1; then
    note "go not found: installing Debian's golang-go"
    SUDO=
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y golang-go \
        || die "apt-get install golang-go failed"
fi
[ -f "$REF/go/bench.go" ] || die "Go reference not found at $REF/go (set GORT_REFERENCE)"
mkdir -p "$GOOUT" "$OUT" "$LOGS"
note "build Go reference: $REF/go -> $GOOUT/bench"
(cd "$REF/go" && go build -o "$GOOUT/bench" .) || die "go build of the reference failed"
GO_BINS=("$GOOUT/bench")
# Workloads of later issues that the reference does not have (e.g. defer,
# panic) are timed by our own Go program under bench/go/, if there is one.
if [ -f "$ROOT/bench/go/go.mod" ]; then
    note "build bench/go -> $GOOUT/extra"
    (cd "$ROOT/bench/go" && go build -o "$GOOUT/extra" .) || die "go build of bench/go failed"
    GO_BINS+=("$GOOUT/extra")
fi
GO_VERSION=$(go version 2>/dev/null | awk '{print $3}')

# ------------------------------------------------------------------ gort
if [ -n "${GORT_BENCH:-}" ]; then
    GORT=$GORT_BENCH
elif [ -n "${GORT_BUILD_DIR:-}" ]; then
    # Already built by the caller (make bench builds the release preset).
    case $GORT_BUILD_DIR in /*) GORT=$GORT_BUILD_DIR/gort-bench ;; *) GORT=$ROOT/$GORT_BUILD_DIR/gort-bench ;; esac
else
    note "build gort (cmake release preset)"
    (cd "$ROOT" && cmake --preset release > "$LOGS/cmake-configure.log" 2>&1 \
        && cmake --build --preset release > "$LOGS/cmake-build.log" 2>&1) \
        || { tail -n 30 "$LOGS"/cmake-*.log >&2; die "building the release preset failed (logs in $LOGS)"; }
    GORT=$ROOT/build/release/gort-bench
fi
[ -x "$GORT" ] || die "gort-bench not found or not executable: $GORT (set GORT_BENCH)"

# ------------------------------------------------------------------ workloads
GORT_LIST=$("$GORT" -list) || die "$GORT -list failed"
declare -A GO_OF=() # workload -> Go binary that has it
for b in "${GO_BINS[@]}"; do
    for w in $("$b" -list); do
        [ -n "${GO_OF[$w]:-}" ] || GO_OF[$w]=$b
    done
done
WORKLOADS=()
if [ -n "${BENCH_WORKLOADS:-}" ]; then
    for w in ${BENCH_WORKLOADS//,/ }; do
        grep -qx -- "$w" <<< "$GORT_LIST" || die "gort-bench has no workload '$w' (see $GORT -list)"
        WORKLOADS+=("$w")
    done
else
    for w in $GORT_LIST; do
        [ -n "${GO_OF[$w]:-}" ] && WORKLOADS+=("$w")
    done
fi
[ ${#WORKLOADS[@]} -gt 0 ] || die "no workloads to run"

# ------------------------------------------------------------------ run
: > "$RAW"
: > "$TSV"
rm -f "$LOGS"/run-*.txt
FAILS=()
GORT_HDR=
GO_HDR=

# run_one ROUND IMPL WORKLOAD BINARY: one fresh process `BINARY -w WORKLOAD`,
# bounded by the timeout; appends its BENCH lines to raw.txt and results.tsv.
run_one() {
    local r=$1 impl=$2 w=$3 bin=$4
    local base="$LOGS/run-$r-$impl-$w"
    local t0 t1 rc
    t0=$(date +%s.%N)
    timeout -k 5 "$TIMEOUT" "$bin" "${REPS_ARGS[@]}" -w "$w" > "$base.out" 2> "$base.err" < /dev/null
    rc=$?
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    local hdr
    hdr=$(grep -m1 '^# ' "$base.out" || true)
    if [ "$impl" = gort ] && [ -z "$GORT_HDR" ]; then GORT_HDR=$hdr; fi
    if [ "$impl" = go ] && [ -z "$GO_HDR" ]; then GO_HDR=$hdr; fi
    local why=
    if [ $rc -eq 124 ] || { [ $rc -eq 137 ] && [ "${secs%.*}" -ge "$TIMEOUT" ]; }; then
        why="timeout after ${TIMEOUT}s"
    elif [ $rc -gt 128 ]; then
        why="killed by signal SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    elif [ $rc -ne 0 ]; then
        why="exit status $rc"
    elif ! grep -q '^BENCH ' "$base.out"; then
        why="no BENCH line"
    fi
    grep '^BENCH ' "$base.out" | sed "s/^/run=$r impl=$impl workload=$w /" >> "$RAW"
    if [ -n "$why" ]; then
        local err
        err=$(tail -n 3 "$base.err" | tr '\n' ' ' | cut -c1-300)
        echo "run=$r impl=$impl workload=$w FAILED: $why: $err" >> "$RAW"
        FAILS+=("round $r: $impl $w: $why (command: $bin ${REPS_ARGS[*]} -w $w; stderr: ${err:-none}; log: $base.err)")
        echo "   $impl $w: FAILED ($why)" >&2
        echo -e "$r\t$impl\t$w\tFAILED\t-\t-" >> "$TSV"
        return
    fi
    awk -v r="$r" -v impl="$impl" -v w="$w" '$1 == "BENCH" { printf "%s\t%s\t%s\t%s\t%s\t%s\n", r, impl, w, $2, $3, $4 }' \
        "$base.out" >> "$TSV"
    echo "   $impl $w: $(grep '^BENCH ' "$base.out" | awk '{ printf "%s%s %s %s", sep, $2, $3, $4; sep = "; " }') (${secs}s)" >&2
}

note "gort: $GORT"
note "Go:   ${GO_BINS[*]} ($GO_VERSION)"
note "$RUNS round(s) of: ${WORKLOADS[*]}"
for r in $(seq "$RUNS"); do
    note "round $r/$RUNS"
    for w in "${WORKLOADS[@]}"; do
        run_one "$r" gort "$w" "$GORT"
        if [ -n "${GO_OF[$w]:-}" ]; then
            run_one "$r" go "$w" "${GO_OF[$w]}"
        fi
    done
done

# ------------------------------------------------------------------ table
# Targets from the issues.  A bare number is a bound on the ratio gort/Go
# (<= for times, >= for rates); a number followed by the row's unit (e.g.
# "<20ns/op") is a bound on gort's own median value.  Operators: < <= > >=.
declare -A TARGET=(
    [yield_p1]="<=0.2" [spawn_seq]="<=0.5" [spawn_wait]="<=0.5"
    [pingpong_unbuf_p1]="<=0.5" [ring]="<=0.5"
    [pingpong_unbuf_pN]="<=1.0" [chan_buf_spsc]="<=1.0" [chan_mpmc]="<=1.0"
    [select2]="<=1.0" [mutex_uncontended]="<=1.0" [mutex_contended]="<=1.0"
    [rwmutex_read]="<=1.0" [waitgroup_cycle]="<=1.0" [sieve]="<=1.0"
    [timer_churn]="<=1.0" [tcp_echo]=">=1.0"
    [defer_call]="<20ns/op" [panic_recover]="<2000ns/op"
    [spawn_args]="<=0.5" [ctx_select]="<=1.0"
    [binary_trees]="<=1.0" [alloc_small]="<=1.0" [gc_pause_max]="<=1000us"
    [gc_pause_p99]="<=1.0" [heap_overhead]="<=1.0"
)
TARGETS=
for k in "${!TARGET[@]}"; do TARGETS+="$k=${TARGET[$k]} "; done
ORDER="${WORKLOADS[*]}"

# A gc_pause round in which no collection cycle ended during the 10 s (a
# loaded machine mutates too slowly to reach the next goal) printed pauses of
# 0: those are no measurement, so its pause values become "none", left out of
# the medians (the range column then says "(k/N runs)") and counted below the
# table.
NOCYCLE=$(awk -F'\t' '$4 == "gc_pause_cycles" && $5 + 0 == 0 { n[$2]++ }
    END { if (n["gort"] + n["go"]) printf "gort %d, Go %d", n["gort"], n["go"] }' "$TSV")
awk -F'\t' 'NR == FNR { if ($4 == "gc_pause_cycles" && $5 + 0 == 0) skip[$1 "," $2] = 1; next }
    { if ($4 ~ /^gc_pause_(p50|p99|max)$/ && (($1 "," $2) in skip)) $5 = "none"; print }' OFS='\t' "$TSV" "$TSV" > "$TSV.table"

TABLE=$OUT/table.md
{
    echo "gort: ${GORT_HDR:-?} ($GORT)"
    echo "Go:   ${GO_HDR:-?}"
    echo "$RUNS round(s), each workload a fresh process per round, gort and Go alternating;"
    echo "values are medians over the rounds of each process's best-of-reps value;"
    echo "a target with a unit bounds gort's value, a bare number the ratio gort/Go."
    echo
    awk -F'\t' -v targets="$TARGETS" -v order="$ORDER" -v runs="$RUNS" '
    function fmt(v) { return sprintf(v < 100 ? "%.2f" : "%.1f", v) }
    function median(s,    v, m, a, b, t) {
        m = split(substr(s, 2), v, " ")
        for (a = 1; a <= m; a++)
            for (b = a; b > 1 && v[b - 1] + 0 > v[b] + 0; b--) { t = v[b]; v[b] = v[b - 1]; v[b - 1] = t }
        lo[s] = v[1]; hi[s] = v[m]
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    BEGIN {
        n = split(targets, tl, " ")
        for (i = 1; i <= n; i++) { split(tl[i], kv, "="); tgt[kv[1]] = substr(tl[i], length(kv[1]) + 2) }
        nw = split(order, wl, " ")
    }
    $4 == "FAILED" { fail[$2 "," $3]++; next }
    {
        key = $4
        if (!(key in wof)) { wof[key] = $3; unit[key] = $6; names[$3] = names[$3] " " key }
        if ($5 == "none") next
        vals[$2 "," key] = vals[$2 "," key] " " $5
        cnt[$2 "," key]++
    }
    END {
        print "| workload | gort | Go | unit | gort/Go | target | status | gort range | Go range |"
        print "| --- | ---: | ---: | --- | ---: | --- | --- | --- | --- |"
        for (i = 1; i <= nw; i++) {
            w = wl[i]
            if (names[w] == "") {
                printf "| %s | %s | %s | | | %s | FAIL | | |\n", w, \
                    fail["gort," w] ? "FAILED" : "–", fail["go," w] ? "FAILED" : "–", \
                    (w in tgt) ? tgt[w] : ""
                continue
            }
            k = split(substr(names[w], 2), nl, " ")
            for (j = 1; j <= k; j++) {
                key = nl[j]; u = unit[key]
                higher = (u == "rt/s" || u == "req/s")
                g = ""; o = ""; gr = ""; orr = ""
                if (("gort," key) in vals) { s = vals["gort," key]; g = median(s); gr = fmt(lo[s]) "–" fmt(hi[s]) }
                if (("go," key) in vals)   { s = vals["go," key];   o = median(s); orr = fmt(lo[s]) "–" fmt(hi[s]) }
                ratio = ""; r = ""
                if (g != "" && o != "" && o + 0 != 0) { r = g / o; ratio = sprintf("%.2f", r) (higher ? " (higher is better)" : "") }
                t = (key in tgt) ? tgt[key] : ""
                st = ""
                if (t != "") {
                    op = t; sub(/[0-9.].*$/, "", op)
                    num = substr(t, length(op) + 1); sfx = num; sub(/^[0-9.]+/, "", sfx)
                    cv = (sfx == "") ? r : g # a bare number bounds the ratio, else the gort value
                    if (cv != "") {
                        cv += 0; num += 0
                        if (op == "<=") ok = (cv <= num)
                        else if (op == "<") ok = (cv < num)
                        else if (op == ">=") ok = (cv >= num)
                        else ok = (cv > num)
                        st = ok ? "PASS" : "MISS"
                    }
                }
                nf = fail["gort," w] + fail["go," w]
                if (nf) st = st (st != "" ? ", " : "") "FAIL: " nf " failed run(s)"
                if (g == "" && fail["gort," w]) g = "FAILED"
                if (o == "" && fail["go," w]) o = "FAILED"
                gs = (g != "" && g != "FAILED") ? fmt(g) : (g == "" ? "–" : g)
                os = (o != "" && o != "FAILED") ? fmt(o) : (o == "" ? "–" : o)
                if (cnt["gort," key] && cnt["gort," key] < runs) gr = gr " (" cnt["gort," key] "/" runs " runs)"
                if (cnt["go," key] && cnt["go," key] < runs) orr = orr " (" cnt["go," key] "/" runs " runs)"
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", key, gs, os, u, ratio, t, st, gr, orr
            }
        }
    }' "$TSV.table"
    if [ -n "$NOCYCLE" ]; then
        echo
        echo "gc_pause: rounds with no collection cycle in the 10 s, left out of the pause rows: $NOCYCLE"
    fi
    if grep -q 'park_1m_rss' "$TSV"; then
        echo
        awk -F'\t' '$4 == "park_1m_rss" { v[$2] = v[$2] " " $5 }
            END { printf "park_1m_rss, bytes per parked goroutine (per round): gort%s; Go%s\n", v["gort"], v["go"] }' "$TSV"
    fi
    if [ ${#FAILS[@]} -gt 0 ]; then
        echo
        echo "Failed runs:"
        for f in "${FAILS[@]}"; do echo "- $f"; done
    fi
    echo
    echo "raw values: $RAW"
} > "$TABLE"
echo
cat "$TABLE"

[ ${#FAILS[@]} -eq 0 ] || exit 1
exit 0
