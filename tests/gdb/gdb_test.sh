#!/bin/sh
# gdb_test.sh EXE - gort's gdb support (gdb/gort-gdb.py, auto-loaded from
# the library's .debug_gdb_scripts section) on tests/gdb/gdb_parked.c:
# goroutines parked on a channel (one locked to its thread), a mutex, a
# WaitGroup, a sleep (one with a stack size of its own) and the network,
# two preempted while spinning and one not started, and a WaitGroup added
# to in a synctest bubble.  `info goroutines` must list each with its wait
# reason and `goroutine N bt` show the user's function and file:line, on
# the live process (stopped by its SIGTRAP, and at a breakpoint in an
# inlined function), on its core file (GORTRACEBACK=crash) and on one
# gdb's gcore writes.  Exit 77: skipped.
set -u
exe=$1
if ! command -v gdb >/dev/null 2>&1; then
    echo "gdb_test: SKIP: gdb is not installed"
    exit 77
fi
if ! gdb -nx -batch -ex "python print('py-ok')" 2>/dev/null | grep -q py-ok; then
    echo "gdb_test: SKIP: this gdb has no Python"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/gort-gdb.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
# The library's embedded script loads only from a safe path: allow all.
gdbrun() { # first command ("run" or "echo"), then gdb's file arguments
    first=$1
    shift
    timeout 120 gdb -nx -batch -iex "set auto-load safe-path /" -iex "set confirm off" \
        -ex "$first" -ex "info goroutines" -ex "goroutine all bt" -ex "print *park_chan" \
        -ex "print park_mutex" -ex "print park_wg" -ex "print bubble_wg" \
        -ex "thread apply all bt" -ex "kill" "$@" 2>&1
}
check() { # what, file
    for want in "\\[chan receive\\] gort_chan_recv" "\\[sync.Mutex.Lock\\] parked_on_mutex" \
        "\\[sync.WaitGroup.Wait\\] gort_wg_wait" "\\[sleep\\] gort_sleep" "\\[IO wait\\] gort_accept" \
        "in parked_on_chan () at .*gdb_parked.c:[0-9]" "in wait_no_fp () at .*gdb_parked.c:[0-9]" \
        "\\[chan receive, locked to thread\\] gort_chan_recv" \
        "goroutine [0-9]* \\[chan receive, locked to thread\\]:" \
        "in parked_locked () at .*gdb_parked.c:[0-9]" \
        "in parked_own_stack () at .*gdb_parked.c:[0-9]" \
        "in parked_on_wg () at .*gdb_parked.c:[0-9]" \
        "in parked_on_sleep () at .*gdb_parked.c:[0-9]" "in parked_on_net () at .*gdb_parked.c:[0-9]" \
        "in main_fn () at .*gdb_parked.c:[0-9]" "\\[runnable\\] spin_loop .*gdb_parked.c:[0-9]" \
        "in spinning () at .*gdb_parked.c:[0-9]" "\\[runnable\\] never_started .*gdb_parked.c:[0-9]" \
        "gort_chan len=0 cap=3 closed=false elemsize=4 recv_waiting=1 send_waiting=0" \
        "gort_mutex locked waiters=1" "gort_waitgroup counter=2 waiters=1" \
        "gort_waitgroup counter=1 waiters=0"; do
        if ! grep -q "$want" "$2"; then
            echo "gdb_test: FAIL ($1): no line matching: $want"
            fail=1
        fi
    done
}
# Every thread's backtrace ends at its first frame (a scheduler thread's
# at the function gort__ctx_mcall runs on g0), not in a bogus frame.
check_threads() { # what, file
    if grep -q "0x0000000000000000 in ?? ()" "$2"; then
        echo "gdb_test: FAIL ($1): a thread's backtrace goes on past its first frame:"
        grep -B2 "0x0000000000000000 in ?? ()" "$2" | head -6
        fail=1
    fi
}

# 1. The live process, stopped by its own SIGTRAP.
gdbrun run "$exe" >"$work/live.txt"
check live "$work/live.txt"
check_threads live "$work/live.txt"

# 2. Stopped at a breakpoint in a function inlined into main_fn: the
# selected thread's innermost frame is an inline frame, which gdb's inline
# unwinder claims before any Python unwinder.
timeout 120 gdb -nx -batch -iex "set auto-load safe-path /" -iex "set confirm off" \
    -ex "break stop" -ex run -ex "info goroutines" -ex "goroutine all bt" -ex kill "$exe" \
    >"$work/inline.txt" 2>&1
for want in "Breakpoint 1, stop" "\\[chan receive\\] gort_chan_recv" \
    "\\[sync.Mutex.Lock\\] parked_on_mutex" "in parked_on_chan () at .*gdb_parked.c:[0-9]" \
    "in wait_no_fp () at .*gdb_parked.c:[0-9]" "in parked_on_sleep () at .*gdb_parked.c:[0-9]" \
    "in parked_on_net () at .*gdb_parked.c:[0-9]" "in spinning () at .*gdb_parked.c:[0-9]"; do
    if ! grep -q "$want" "$work/inline.txt"; then
        echo "gdb_test: FAIL (inline frame 0): no line matching: $want"
        fail=1
    fi
done

# 3. Its core file: written by the kernel where core_pattern names a file.
(
    cd "$work" || exit 1
    ulimit -c unlimited 2>/dev/null
    GORTRACEBACK=crash "$exe" >/dev/null 2>&1
)
core=$(ls "$work"/core* 2>/dev/null | head -n 1)
if [ -n "$core" ]; then
    gdbrun "echo core\\n" "$exe" "$core" >"$work/core.txt"
    check core "$work/core.txt"
    check_threads core "$work/core.txt"
    echo "gdb_test: core file checked ($(basename "$core"))"
else
    echo "gdb_test: core part SKIPPED: no core file written" \
        "(core_pattern: $(cat /proc/sys/kernel/core_pattern 2>/dev/null))"
fi

# 4. A core written by gdb's gcore: where it cannot read the stack slabs
# (their MADV_GUARD_INSTALL guard pages fail its reads), the goroutine
# records on them are missing, and the commands must say so rather than
# list no goroutine.
timeout 120 gdb -nx -batch -iex "set confirm off" -ex run -ex "gcore $work/gcore.core" -ex kill \
    "$exe" >"$work/gcore.log" 2>&1
if [ -f "$work/gcore.core" ]; then
    gdbrun "echo gcore\\n" "$exe" "$work/gcore.core" >"$work/gcore.txt"
    if ! grep -q "goroutine records or stacks are not in this core file" "$work/gcore.txt"; then
        check gcore "$work/gcore.txt"
    elif grep -q "0x0000000000000000 in ? ()\\|\\] ? ?:0" "$work/gcore.txt"; then
        # A goroutine whose record is there but not its stack (parked_own_stack).
        echo "gdb_test: FAIL (gcore): a frame read from a stack not in the core"
        fail=1
    fi
else
    echo "gdb_test: gcore part SKIPPED: gcore wrote no file"
fi
if [ $fail -ne 0 ]; then
    echo "--- live:"
    cat "$work/live.txt"
    echo "--- stopped in an inline frame:"
    cat "$work/inline.txt"
    [ -f "$work/core.txt" ] && echo "--- core:" && cat "$work/core.txt"
    [ -f "$work/gcore.txt" ] && echo "--- gcore:" && cat "$work/gcore.txt"
    exit 1
fi
echo "gdb_test: ok (live process and core file)"
