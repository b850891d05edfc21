#!/usr/bin/env bash
# limits.sh - the body of `make limits`: how many goroutines, timers and
# loopback connections this machine sustains with gort (build/release/gort-limits, from
# limits/limits.c) next to Go (limits/go, built here with GOPROXY=off), and
# what happens at the limit.  Prints a table; not part of `make test`.
#
# Connections use two fds each (both ends live in the process); both sides
# raise the soft RLIMIT_NOFILE to the hard limit first (Go does so itself).
#
# Every run is capped (the machine is shared): at most LIMITS_CAP_MIB MiB of
# resident memory (default: min(4096, 80% of MemAvailable)) and LIMITS_MAX
# of each thing (default 10 million).  A figure that stopped at the cap says
# "capped": the machine's own limit is higher.
#
# The "exhaustion" row runs both sides under `ulimit -v` (LIMITS_VMEM_MIB,
# default 4096 MiB of address space) until goroutine creation fails, to show
# what happens at a real limit: gort_go returns -ENOMEM and the program goes
# on (it then releases every goroutine and exits 0); Go's runtime dies with
# "fatal error: out of memory".
#
# Environment: GORT_BUILD_DIR (default build/release), LIMITS_CAP_MIB,
# LIMITS_MAX, LIMITS_VMEM_MIB.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${GORT_BUILD_DIR:-build/release}
GORT=$BUILD/gort-limits
GOBIN=$BUILD/limits-go/gortlimits
MAX=${LIMITS_MAX:-10000000}
VMEM=${LIMITS_VMEM_MIB:-4096}
avail=$(awk '/^MemAvailable:/ {print int($2 / 1024 * 8 / 10)}' /proc/meminfo)
CAP=${LIMITS_CAP_MIB:-$((avail < 4096 ? avail : 4096))}

[ -x "$GORT" ] || { echo "limits.sh: $GORT is not built (make build)" >&2; exit 1; }
export GOPROXY=off GOFLAGS=-mod=mod GO111MODULE=on
if command -v go >/dev/null 2>&1; then
    mkdir -p "$(dirname "$GOBIN")"
    GOBIN=$(cd "$(dirname "$GOBIN")" && pwd)/gortlimits
    (cd limits/go && go build -o "$GOBIN" .) || { echo "limits.sh: go build failed" >&2; exit 1; }
else
    echo "limits.sh: go not found (Debian: apt-get install golang-go); Go's column stays empty" >&2
    GOBIN=
fi

# field LINE KEY: the value of KEY=... in a LIMIT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# run NAME CMD...: runs one measurement, prints its LIMIT line (or what
# killed it) to stderr, keeps the line in $out.
run() {
    local name=$1 log rc=0
    shift
    log=$(mktemp "${TMPDIR:-/tmp}/gort-limits.XXXXXX")
    "$@" >"$log" 2>&1 || rc=$?
    out=$(grep '^LIMIT ' "$log" | tail -n1 || true)
    if [ -z "$out" ]; then
        # Died at the limit: keep the last progress count and the reason.
        local n why
        n=$(sed -n 's/^progress goroutines=//p' "$log" | tail -n1)
        why=$(grep -m1 '^fatal error' "$log" || grep -m1 -E '^(runtime:|panic:)' "$log" || echo "?")
        out="LIMIT $name count=${n:-?} stop=crash,exit=$rc:${why// /_}"
    fi
    echo "  $name: $out" >&2
    rm -f "$log"
}

echo "== limits: RSS cap ${CAP} MiB, count cap $MAX, exhaustion under ulimit -v ${VMEM} MiB" >&2

describe() { # LINE -> "count (capped)" etc.
    local c s
    c=$(field "$1" count)
    s=$(field "$1" stop)
    case $s in
    rss-cap) echo "$c (capped at ${CAP} MiB RSS)" ;;
    max) echo "$c (capped at $MAX)" ;;
    *) echo "$c" ;;
    esac
}

run "gort goroutines" "$GORT" goroutines -max "$MAX" -cap-mib "$CAP"
g_gor=$out
go_gor=""
[ -n "$GOBIN" ] && { run "Go goroutines" "$GOBIN" goroutines -max "$MAX" -cap-mib "$CAP"; go_gor=$out; }
run "gort timers" "$GORT" timers -max "$MAX" -cap-mib "$CAP"
g_tim=$out
go_tim=""
[ -n "$GOBIN" ] && { run "Go timers" "$GOBIN" timers -max "$MAX" -cap-mib "$CAP"; go_tim=$out; }
run "gort exhaustion" bash -c "ulimit -v $((VMEM * 1024)) && exec '$GORT' goroutines -max $MAX -cap-mib $CAP"
g_exh=$out
go_exh=""
[ -n "$GOBIN" ] && {
    run "Go exhaustion" bash -c "ulimit -v $((VMEM * 1024)) && exec '$GOBIN' goroutines -progress -max $MAX -cap-mib $CAP"
    go_exh=$out
}
run "gort conns" "$GORT" conns -max "$MAX" -cap-mib "$CAP"
g_con=$out
go_con=""
[ -n "$GOBIN" ] && { run "Go conns" "$GOBIN" conns -max "$MAX" -cap-mib "$CAP"; go_con=$out; }

printf '\n%-34s | %-34s | %-34s\n' "limit" "gort" "Go"
printf '%s\n' "-----------------------------------+------------------------------------+-----------------------------------"
printf '%-34s | %-34s | %-34s\n' "parked goroutines" "$(describe "$g_gor")" "$(describe "$go_gor")"
printf '%-34s | %-34s | %-34s\n' "  bytes of RSS each" "$(field "$g_gor" bytes_each)" "$(field "$go_gor" bytes_each)"
printf '%-34s | %-34s | %-34s\n' "  parked goroutines per GiB (RSS)" "$(field "$g_gor" per_gib)" "$(field "$go_gor" per_gib)"
printf '%-34s | %-34s | %-34s\n' "  spawn / release, s" "$(field "$g_gor" spawn_s) / $(field "$g_gor" release_s)" "$(field "$go_gor" spawn_s) / $(field "$go_gor" release_s)"
printf '%-34s | %-34s | %-34s\n' "live timers (after_func, 1 h)" "$(describe "$g_tim")" "$(describe "$go_tim")"
printf '%-34s | %-34s | %-34s\n' "  bytes each (with an 8 B pointer)" "$(field "$g_tim" bytes_each)" "$(field "$go_tim" bytes_each)"
printf '%-34s | %-34s | %-34s\n' "  start / stop all, s" "$(field "$g_tim" start_s) / $(field "$g_tim" stop_s)" "$(field "$go_tim" start_s) / $(field "$go_tim" stop_s)"
printf '%-34s | %-34s | %-34s\n' "goroutines under ulimit -v ${VMEM}M" "$(field "$g_exh" count)" "$(field "$go_exh" count)"
printf '%-34s | %-34s | %-34s\n' "  what happens at the limit" "$(field "$g_exh" stop)" "$(field "$go_exh" stop | cut -c1-40)"
printf '%-34s | %-34s | %-34s\n' "open loopback connections" "$(describe "$g_con")" "$(describe "$go_con")"
printf '%-34s | %-34s | %-34s\n' "  bytes of RSS each (+ its reader)" "$(field "$g_con" bytes_each)" "$(field "$go_con" bytes_each)"
printf '%-34s | %-34s | %-34s\n' "  what happens at the limit" "$(field "$g_con" stop) (nofile $(field "$g_con" nofile))" "$(field "$go_con" stop) (nofile $(field "$go_con" nofile))"
echo
echo "Figures marked capped stopped at this run's caps (a shared machine), not at the machine's limit."
echo "gort's stacks are 256 KiB of address space each (committed as touched), Go's start at 8 KiB:"
echo "under an address-space limit (ulimit -v) gort runs out of address space long before memory."
