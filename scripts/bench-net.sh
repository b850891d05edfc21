#!/usr/bin/env bash
# bench-net.sh - `make bench-net`: gort's example servers against the
# reference servers, under load generators nobody here wrote, each pair run
# back to back on the same machine:
#
#   wrk -t2 -c100 -d10s --latency   examples/httpd   vs  Go net/http (reference/go/httphello)
#   redis-benchmark -q -c 50 -n 200000 -t ping,set,get
#                                   examples/kvstore vs  redis-server
#   memory per idle keep-alive connection at 10,000 connections (the
#   reference's idleconns client), httpd vs httphello
#
# Prints BENCH lines and a table: metric, the best of each side over the
# rounds, their ratio, and the median over the rounds of the ratio of each
# back-to-back pair ("paired"), which the verdict uses: a noisy machine
# moves both sides of a pair together, while one lucky round can decide a
# best-of.  The two sides of a pair swap order every round.
# Knobs: BENCH_NET_RUNS (rounds, default 1),
# WRK_DURATION (default 10s), IDLE_CONNS (default 10000), REDIS_N (200000),
# REF (the reference directory), BUILD (default build/release).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/release}
REF=${REF:-$ROOT/../shared/reference}
if [ ! -d "$REF/go" ]; then
    main_wt=$(git -C "$ROOT" worktree list 2>/dev/null | awk 'NR == 1 { print $1 }')
    [ -n "$main_wt" ] && [ -d "$main_wt/../shared/reference/go" ] && REF=$main_wt/../shared/reference
fi
RUNS=${BENCH_NET_RUNS:-1}
WRK_DURATION=${WRK_DURATION:-10s}
IDLE_CONNS=${IDLE_CONNS:-10000}
REDIS_N=${REDIS_N:-200000}
OUT=$BUILD/bench-net
BIN=$OUT/bin
mkdir -p "$BIN"

for tool in wrk redis-benchmark redis-server go; do
    command -v "$tool" >/dev/null || { echo "bench-net: $tool missing (make deps)" >&2; exit 1; }
done
[ -x "$BUILD/httpd" ] && [ -x "$BUILD/kvstore" ] ||
    { echo "bench-net: $BUILD/httpd and $BUILD/kvstore are not built" >&2; exit 1; }

echo "# building the Go reference servers (GOPROXY=off)" >&2
(cd "$REF/go" && GOPROXY=off GOFLAGS=-mod=mod go build -o "$BIN/httphello" ./httphello &&
    GOPROXY=off GOFLAGS=-mod=mod go build -o "$BIN/idleconns" ./idleconns)

SERVER_PID=
cleanup() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench-net: nothing listens on port $1" >&2
    return 1
}

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# start_server NAME PORT: the gort or Go HTTP server, or kvstore/redis.
start_server() {
    case $1 in
    httpd) "$BUILD/httpd" -port "$2" >/dev/null 2>&1 & ;;
    httphello) "$BIN/httphello" -port "$2" >/dev/null 2>&1 & ;;
    kvstore) "$BUILD/kvstore" -port "$2" >/dev/null 2>&1 & ;;
    redis) redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no >/dev/null 2>&1 & ;;
    esac
    SERVER_PID=$!
    wait_port "$2"
}

# wrk against server $1; prints "rps p50 p99" (latencies in us).
wrk_run() {
    local port log
    port=$(free_port)
    log=$OUT/wrk-$1.txt
    start_server "$1" "$port"
    wrk -t2 -c100 -d"$WRK_DURATION" --latency "http://127.0.0.1:$port/" >"$log"
    cleanup
    grep -E 'Non-2xx|Socket errors' "$log" | sed 's/^/# wrk: /' >&2 || true
    awk '
    function us(s) {
        if (s ~ /us$/) return substr(s, 1, length(s) - 2) + 0
        if (s ~ /ms$/) return (substr(s, 1, length(s) - 2) + 0) * 1000
        if (s ~ /m$/)  return (substr(s, 1, length(s) - 1) + 0) * 60e6
        if (s ~ /s$/)  return (substr(s, 1, length(s) - 1) + 0) * 1e6
        return s + 0
    }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50% /         { p50 = us($2) }
    /^ +99% /         { p99 = us($2) }
    END { printf "%s %s %s\n", rps, p50, p99 }' "$log"
}

# redis-benchmark against server $1; prints "ping_inline ping_mbulk set get".
redis_run() {
    local port log
    port=$(free_port)
    log=$OUT/redis-$1.txt
    start_server "$1" "$port"
    redis-benchmark -q -p "$port" -c 50 -n "$REDIS_N" -t ping,set,get 2>&1 | tr '\r' '\n' |
        grep 'requests per second' >"$log" || true
    cleanup
    awk '
    { v = $2 }   # "SET: 123456.79 requests per second, p50=..."
    /^PING_INLINE:/ { pi = v } /^PING_MBULK:/ { pm = v } /^SET:/ { s = v } /^GET:/ { g = v }
    END { printf "%s %s %s %s\n", pi + 0, pm + 0, s + 0, g + 0 }' "$log"
}

# Server RSS growth per idle keep-alive connection (run.sh's http_idle).
idle_run() {
    (
        ulimit -n 30000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
        local port log before after idle_pid
        port=$(free_port)
        log=$OUT/idle-$1.txt
        start_server "$1" "$port"
        "$BIN/idleconns" -port "$port" -n 1 -hold 0s >/dev/null
        sleep 1
        before=$(rss_bytes "$SERVER_PID")
        "$BIN/idleconns" -port "$port" -n "$IDLE_CONNS" -hold 120s >"$log" 2>&1 &
        idle_pid=$!
        for _ in $(seq 600); do
            grep -q '^READY' "$log" && break
            kill -0 "$idle_pid" 2>/dev/null || break
            sleep 0.1
        done
        if ! grep -q '^READY' "$log"; then
            echo "bench-net: idleconns against $1 did not get ready" >&2
            kill "$idle_pid" 2>/dev/null || true
            cleanup
            echo "0"
            exit 0
        fi
        sleep 2
        after=$(rss_bytes "$SERVER_PID")
        kill "$idle_pid" 2>/dev/null || true
        wait "$idle_pid" 2>/dev/null || true
        cleanup
        echo "# idle $1: VmRSS before=$before after=$after conns=$IDLE_CONNS" >&2
        awk -v b="$before" -v a="$after" -v n="$IDLE_CONNS" 'BEGIN { printf "%.1f\n", (a - b) / n }'
    )
}

best_max() { awk 'BEGIN { m = "" } { if (m == "" || $1 + 0 > m + 0) m = $1 } END { print m }'; }
best_min() { awk 'BEGIN { m = "" } { if (m == "" || $1 + 0 < m + 0) m = $1 } END { print m }'; }

declare -A V
for r in $(seq "$RUNS"); do
    echo "== round $r/$RUNS" >&2
    order() { if [ $((r % 2)) = 1 ]; then echo "$1 $2"; else echo "$2 $1"; fi; }
    for s in $(order httpd httphello); do
        read -r rps p50 p99 <<<"$(wrk_run $s)"
        echo "# wrk $s: $rps req/s p50=${p50}us p99=${p99}us" >&2
        V[$s.rps]+="$rps"$'\n'
        V[$s.p50]+="$p50"$'\n'
        V[$s.p99]+="$p99"$'\n'
    done
    for s in $(order kvstore redis); do
        read -r pi pm st gt <<<"$(redis_run $s)"
        echo "# redis-benchmark $s: ping_inline=$pi ping_mbulk=$pm set=$st get=$gt" >&2
        V[$s.ping_inline]+="$pi"$'\n'
        V[$s.ping_mbulk]+="$pm"$'\n'
        V[$s.set]+="$st"$'\n'
        V[$s.get]+="$gt"$'\n'
    done
    for s in httpd httphello; do
        V[$s.idle]+="$(idle_run $s)"$'\n'
    done
done

pick() { # pick SERVER METRIC max|min
    printf '%s' "${V[$1.$2]}" | grep -v '^$' | if [ "$3" = max ]; then best_max; else best_min; fi
}

paired() { # paired GSERVER RSERVER METRIC: median of the per-round ratios
    paste <(printf '%s' "${V[$1.$3]}" | grep -v '^$') <(printf '%s' "${V[$2.$3]}" | grep -v '^$') |
        awk '$2 + 0 > 0 { print $1 / $2 }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

row() { # row NAME UNIT GORT REF TARGET PAIRED (target like ">=1.5" or "<=1.0")
    awk -v n="$1" -v u="$2" -v g="$3" -v r="$4" -v t="$5" -v pr="$6" 'BEGIN {
        ratio = (r + 0 > 0) ? g / r : 0
        st = "-"
        if (t ~ /^>=/) st = (pr >= substr(t, 3) + 0) ? "PASS" : "MISS"
        if (t ~ /^<=/) st = (pr <= substr(t, 3) + 0) ? "PASS" : "MISS"
        printf "| %-22s | %12.1f | %12.1f | %6.2f | %6.3f | %-6s | %-4s |\n", n " (" u ")", g, r, ratio, pr, t, st
        printf "BENCH %s %.1f %s\n", n, g, u > "/dev/stderr"
    }'
}

{
    echo "# bench-net: $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) rounds=$RUNS (gort, reference: best of each side; paired: median of the per-round ratios, the verdict)"
    echo "| metric | gort | reference | ratio | paired | target | |"
    echo "|---|---:|---:|---:|---:|---|---|"
    row http_hello_rps req/s "$(pick httpd rps max)" "$(pick httphello rps max)" ">=1.5" \
        "$(paired httpd httphello rps)"
    row http_hello_lat_p50 us "$(pick httpd p50 min)" "$(pick httphello p50 min)" "" \
        "$(paired httpd httphello p50)"
    row http_hello_lat_p99 us "$(pick httpd p99 min)" "$(pick httphello p99 min)" "<=1.0" \
        "$(paired httpd httphello p99)"
    for m in ping_inline ping_mbulk set get; do
        row "kv_$m" req/s "$(pick kvstore $m max)" "$(pick redis $m max)" ">=1.0" \
            "$(paired kvstore redis $m)"
    done
    row http_idle_conn_rss bytes/conn "$(pick httpd idle min)" "$(pick httphello idle min)" "<=1.0" \
        "$(paired httpd httphello idle)"
    echo "(reference: Go net/http for http_*, redis-server $(redis-server --version | awk '{print $3}') for kv_*)"
} | tee "$OUT/table.md"
