#!/bin/sh
# sanitizers.sh [BUILD_DIR] - users' programs under the race detector, built
# the way a user builds them: installs gort from BUILD_DIR (default
# build/release) into a scratch prefix, compiles tests/sanitizers/race_*.c
# with `cc -fsanitize=thread ... $(pkg-config --cflags --libs gort)` and runs
# every case SAN_REPS times (default 20): a NoRace case must exit 0 without
# a report, a Race case must be reported (SAN_RACE_RETRY: how many times a
# missed Race run is run again before it fails; default 0).  At most
# SAN_JOBS (default 2) runs at a time, each bounded by SAN_TIMEOUT seconds
# (default 60); the whole script by SAN_TOTAL seconds (default 1200).
# Then, built the same way: the ASan/LSan repros (asan_goexit, lsan_leaks),
# 20,000 recovered panics under TSan and ASan (recover_many), a program
# with three races run SAN_REPS times under TSan's defaults (tsan_reports),
# a deadlock's fatal error in race mode (exit 2)
# and a 300 KiB frame on a 256 KiB stack (tests/crash/stack_overflow_frame.c).
# The last line: "sanitizers: N passed, M failed".
set -eu

dir=${1:-build/release}
root=$(cd "$(dirname "$0")/.." && pwd)
reps=${SAN_REPS:-20}
jobs=${SAN_JOBS:-2}
per=${SAN_TIMEOUT:-60}
total=${SAN_TOTAL:-1200}
if [ ! -f "$dir/CMakeCache.txt" ]; then
    echo "sanitizers: $dir is not a configured build directory" >&2
    exit 2
fi
if ! echo 'int main(void){return 0;}' | cc -fsanitize=thread -x c -o /dev/null - 2>/dev/null; then
    echo "sanitizers: SKIP: cc cannot build with -fsanitize=thread (libtsan missing)"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/gort-san.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$dir" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; exit 1; }
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$dir/CMakeCache.txt")
export PKG_CONFIG_PATH="$work/prefix/${libdir:-lib}/pkgconfig"
export LD_LIBRARY_PATH="$work/prefix/${libdir:-lib}"
# ThreadSanitizer needs the classic address-space layout here.
run=""
if setarch "$(uname -m)" -R true 2>/dev/null; then
    run="setarch $(uname -m) -R"
fi

: >"$work/runs"
for src in "$root"/tests/sanitizers/race_*.c; do
    exe="$work/$(basename "$src" .c)"
    # shellcheck disable=SC2046
    cc -g -O1 -fsanitize=thread -Wall -Wextra -o "$exe" "$src" $(pkg-config --cflags --libs gort)
    "$exe" -list | while read -r kind name; do
        i=0
        while [ "$i" -lt "$reps" ]; do
            echo "$kind $exe $name $i" >>"$work/runs"
            i=$((i + 1))
        done
    done
done

# One run: prints "ok" or "FAIL <why>" with the case, under TSan's
# defaults (a Race case runs to its end after its reports).  A Race case
# runs with GOMAXPROCS=1, as Go's own race tests do (runtime/race's
# race_test.go): ThreadSanitizer can miss a race whose two accesses happen
# at the same moment on two threads (a logical race in its shadow update,
# which Go's test names); one P runs one goroutine at a time, and the
# goroutines' switches announce no happens-before edge, so the race is
# there to see.  NoRace cases keep every P, where a false report would
# show.  A Race run that
# went unreported is run again up to SAN_RACE_RETRY times (default 0) and
# then printed as "ok-retried": ThreadSanitizer occasionally misses a race
# between goroutines (docs/HACKING.md, "Race mode"); a crash, a hang or a
# report in a NoRace case is never retried.
cat >"$work/one.sh" <<SH
#!/bin/sh
kind=\$1 exe=\$2 name=\$3 i=\$4
out="$work/out.\$name.\$i"
try=0
while :; do
    procs=\${GOMAXPROCS:-}
    if [ "\$kind" = race ]; then procs=1; fi
    GOMAXPROCS=\$procs TSAN_OPTIONS="exitcode=66 \${TSAN_OPTIONS:-}" timeout $per $run "\$exe" "\$name" >"\$out" 2>&1
    rc=\$?
    if [ \$rc -eq 124 ]; then echo "FAIL \$name#\$i: timed out (hang)"; exit 0; fi
    if grep -q "WARNING: ThreadSanitizer: data race" "\$out"; then raced=1; else raced=0; fi
    if [ "\$kind" != race ] || [ \$raced -eq 1 ] || [ \$try -ge ${SAN_RACE_RETRY:-0} ] ||
        [ \$rc -ne 0 ]; then
        break
    fi
    try=\$((try + 1))
done
if [ "\$kind" = race ]; then
    if [ \$raced -eq 1 ] && [ \$rc -eq 66 ]; then
        if [ \$try -eq 0 ]; then echo "ok \$name"; else echo "ok-retried \$name#\$i (\$try)"; fi
        rm -f "\$out"
    else echo "FAIL \$name#\$i: race not reported (rc \$rc)"; fi
else
    if [ \$raced -eq 0 ] && [ \$rc -eq 0 ]; then echo "ok \$name"; rm -f "\$out"; else echo "FAIL \$name#\$i: rc \$rc, see below"; sed -n 1,40p "\$out"; fi
fi
SH
chmod +x "$work/one.sh"
timeout "$total" xargs -P "$jobs" -L 1 "$work/one.sh" <"$work/runs" >"$work/results" || true
n=$(wc -l <"$work/runs")
okn=$(grep -c '^ok' "$work/results" || true)
bad=$(grep -c '^FAIL ' "$work/results" || true)
retried=$(grep -c '^ok-retried ' "$work/results" || true)
grep -v '^ok ' "$work/results" || true
[ "$retried" -eq 0 ] || echo "sanitizers: $retried Race runs reported only on a retry"
missing=$((n - okn - bad))
ncases=$(cut -d' ' -f3 "$work/runs" | sort -u | wc -l)
echo "sanitizers: race: $ncases cases x $reps runs: $okn passed, $((bad + missing)) failed"

# ASan, LSan and the stack guard, built the same way.
extra_ok=0
extra_fail=0
check() { # name, then a command that must succeed
    name=$1
    shift
    if "$@"; then
        extra_ok=$((extra_ok + 1))
    else
        echo "FAIL $name"
        extra_fail=$((extra_fail + 1))
    fi
}
build() { # exe, source, flags...
    exe=$1 src=$2
    shift 2
    # shellcheck disable=SC2046
    cc -g -O1 "$@" -o "$work/$exe" "$root/$src" $(pkg-config --cflags --libs gort)
}
if build asan_goexit tests/sanitizers/asan_goexit.c -fsanitize=address 2>"$work/cc.log"; then
    check asan_goexit sh -c "$run '$work/asan_goexit' >'$work/asan.out' 2>&1 &&
        grep -q 'asan_goexit: ok' '$work/asan.out' && ! grep -q 'ERROR: AddressSanitizer' '$work/asan.out'"
    build lsan_leaks tests/sanitizers/lsan_leaks.c -fsanitize=address
    check lsan_leaks sh -c "ASAN_OPTIONS=detect_leaks=1 $run '$work/lsan_leaks' >'$work/lsan.out' 2>&1;
        grep -q 'in leak_in_main ' '$work/lsan.out' && grep -q 'in leak_in_goroutine ' '$work/lsan.out' &&
        ! grep -q 'in kept_alive ' '$work/lsan.out'"
else
    echo "sanitizers: SKIP asan/lsan: cc cannot build with -fsanitize=address"
fi
for san in thread address; do
    if build "recover_$san" tests/sanitizers/recover_many.c -fsanitize=$san 2>>"$work/cc.log"; then
        check "recover_many ($san)" sh -c "$run '$work/recover_$san' >'$work/rec.out' 2>&1 &&
            grep -q 'recover_many: done' '$work/rec.out'"
    fi
done
# Three races in one program under TSan's defaults (halt_on_error=0):
# every run reports all three and ends (a preemption signal that TSan
# delivered late once corrupted such a run; src/preempt.c).
if build tsan_reports tests/sanitizers/tsan_reports.c -fsanitize=thread 2>>"$work/cc.log"; then
    check "tsan_reports x$reps" sh -c "i=0; while [ \$i -lt $reps ]; do
        GOMAXPROCS=1 TSAN_OPTIONS='exitcode=66 halt_on_error=0' timeout $per $run '$work/tsan_reports' >'$work/rep.out' 2>&1
        rc=\$?; n=\$(grep -c 'WARNING: ThreadSanitizer: data race' '$work/rep.out')
        if [ \$rc -ne 66 ] || [ \$n -ne 3 ] || ! grep -q 'tsan_reports: done' '$work/rep.out'; then
            echo \"tsan_reports run \$i: rc \$rc, \$n reports\"; sed -n 1,60p '$work/rep.out'; exit 1; fi
        i=\$((i + 1)); done"
fi
# A fatal error in race mode exits 2, as without TSan (TSan's exit hooks
# made it 66: the runtime's threads keep TSan's ignores on for good).
if build race_deadlock tests/crash/deadlock.c -fsanitize=thread 2>>"$work/cc.log"; then
    check "race_deadlock exit 2" sh -c "TSAN_OPTIONS=exitcode=66 timeout $per $run '$work/race_deadlock' \
        >'$work/dl.out' 2>&1; rc=\$?; [ \$rc -eq 2 ] &&
        grep -q 'fatal error: all goroutines are asleep - deadlock!' '$work/dl.out' ||
        { echo \"race_deadlock: rc \$rc\"; sed -n 1,20p '$work/dl.out'; exit 1; }"
fi
# A 300 KiB frame on a 256 KiB stack, with gort.pc's flags only.
build stack_frame tests/crash/stack_overflow_frame.c
check stack_overflow_frame sh -c "'$work/stack_frame' >'$work/stack.out' 2>&1; rc=\$?;
    [ \$rc -eq 2 ] && grep -q 'goroutine stack exceeds 262144-byte limit' '$work/stack.out'"
echo "sanitizers: asan/lsan/stack: $extra_ok passed, $extra_fail failed"
echo "sanitizers: $((okn + extra_ok)) passed, $((bad + missing + extra_fail)) failed"
[ "$okn" -eq "$n" ] && [ "$extra_fail" -eq 0 ]
