#!/usr/bin/env bash
# leakcheck.sh - the leak checks of `make test` (scripts/test.sh runs it
# after the presets): LeakSanitizer on the asan-ubsan build and valgrind
# memcheck on the valgrind build, each over a bounded subset of the unit
# tests, each first proving that it is live.
#
#   scripts/leakcheck.sh [lsan] [valgrind]      (default: both)
#
# lsan      Needs the asan-ubsan build (GORT_ASAN_BUILD, default build/asan;
#           test.sh has built it).  The canary (tests/leak/leak_canary.c, a
#           goroutine that drops 4242 bytes) must be reported; then the unit
#           tests matching LSAN_TESTS run with ASAN_OPTIONS=detect_leaks=1 and
#           must report zero leaks once gort_main has returned.  (The
#           asan-ubsan ctest run checks leaks in every test too: this step
#           makes sure that check is not vacuous.)
# valgrind  Configures and builds the valgrind preset (only the programs it
#           runs), checks the canary is reported as definitely lost, then
#           runs the unit tests matching VALGRIND_TESTS under memcheck
#           (--leak-check=full --errors-for-leak-kinds=definite,indirect; the
#           preset's wrapper, error exit code 99 so a memcheck error is told
#           apart from a failed assertion) with `ctest --preset valgrind`.
#           Bounded: about a minute and a half on 2 CPUs.
#
# Prints "leakcheck: N passed, M failed" last; exits 1 on any failure.
# Environment: GORT_WERROR, JOBS, LSAN_TESTS, VALGRIND_TESTS (ctest -R
# regexes), GORT_ASAN_BUILD, GORT_VALGRIND_BUILD.  The ASan binaries run
# under setarch -R, as in test.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
steps=${*:-lsan valgrind}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
werror=${GORT_WERROR:-OFF}
asan_build=${GORT_ASAN_BUILD:-build/asan}
vg_build=${GORT_VALGRIND_BUILD:-build/valgrind}
lsan_tests=${LSAN_TESTS:-^(chan|select|sync|time|panic|sched|stack|net|fault|heap)\.}
# The heap's cases take 40-60 s each under memcheck (the collector scans
# every root word by word, each access checked): two of them, so that the
# suite stays within the CI budget.
vg_tests=${VALGRIND_TESTS:-^((chan|select|sync|time|panic|net)\.|heap\.(unreachable_object_freed|finalizer_rules_and_texts)$)}
canary_bytes=4242

setarch=()
if command -v setarch >/dev/null 2>&1; then
    setarch=(setarch "$(uname -m)" -R)
fi

pass=0 fail=0
ok() { echo "leakcheck: ok: $*"; pass=$((pass + 1)); }
bad() { echo "leakcheck: FAILED: $*"; fail=$((fail + 1)); }

# ctest_count LOG: sets c_pass/c_fail from ctest's summary line.
ctest_count() {
    local line
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n1 || true)
    c_pass=0 c_fail=1
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        c_fail=${BASH_REMATCH[1]}
        c_pass=$((BASH_REMATCH[2] - c_fail))
    fi
}

lsan() {
    echo "== [lsan] $asan_build, tests matching '$lsan_tests'"
    if [[ ! -d $asan_build ]]; then
        bad "lsan: $asan_build is not built (make test PRESETS=asan-ubsan builds it)"
        return
    fi
    cmake --build "$asan_build" -j "$jobs" --target leak_canary >/dev/null || {
        bad "lsan: cannot build leak_canary"
        return
    }
    local out rc=0
    out=$(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "${setarch[@]}" \
        "$asan_build/tests/leak_canary" 2>&1) || rc=$?
    if ((rc != 0)) && grep -q 'LeakSanitizer: detected memory leaks' <<<"$out" &&
        grep -q "$canary_bytes byte(s) in 1 object(s)" <<<"$out"; then
        ok "lsan: the canary's $canary_bytes-byte leak is reported (exit $rc)"
    else
        echo "$out" | tail -n 20
        bad "lsan: the canary's leak was not reported (exit $rc): leak checking is not live"
        return
    fi
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/gort-lsan.XXXXXX")
    rc=0
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 GT_TIMEOUT_SCALE=4 \
        "${setarch[@]}" ctest --test-dir "$asan_build" -j "$jobs" -L unit -R "$lsan_tests" \
        --output-on-failure >"$log" 2>&1 || rc=$?
    ctest_count "$log"
    if ((rc == 0 && c_fail == 0)) && ! grep -q 'LeakSanitizer' "$log"; then
        ok "lsan: $c_pass unit tests, zero leaks"
    else
        grep -B2 -A20 'LeakSanitizer' "$log" | head -n 60 || tail -n 40 "$log"
        bad "lsan: $c_fail of $((c_pass + c_fail)) unit tests failed or leaked"
    fi
    rm -f "$log"
}

valgrind_step() {
    echo "== [valgrind] $vg_build, tests matching '$vg_tests'"
    if ! command -v valgrind >/dev/null 2>&1; then
        bad "valgrind: not installed (scripts/deps.sh installs it)"
        return
    fi
    local log rc=0
    log=$(mktemp "${TMPDIR:-/tmp}/gort-valgrind.XXXXXX")
    if ! cmake --preset valgrind -B "$vg_build" -DGORT_WERROR="$werror" >"$log" 2>&1; then
        cat "$log"
        rm -f "$log"
        bad "valgrind: configure failed"
        return
    fi
    # Only what runs: the canary and the unit test programs of the subset.
    local targets=(leak_canary)
    local t
    for t in $(ctest --test-dir "$vg_build" -N -L unit -R "$vg_tests" |
        sed -n 's/^ *Test *#[0-9]*: \([a-z0-9_]*\)\..*/\1/p' | sort -u); do
        targets+=("${t}_test")
    done
    if ! cmake --build "$vg_build" -j "$jobs" --target "${targets[@]}" >"$log" 2>&1; then
        tail -n 40 "$log"
        rm -f "$log"
        bad "valgrind: build failed"
        return
    fi
    local out
    rc=0
    out=$(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$vg_build/tests/leak_canary" 2>&1) || rc=$?
    if ((rc == 99)) && grep -qE '4,?242 bytes in 1 blocks are definitely lost' <<<"$out"; then
        ok "valgrind: the canary's $canary_bytes-byte leak is reported (exit 99)"
    else
        echo "$out" | tail -n 20
        bad "valgrind: the canary's leak was not reported (exit $rc): leak checking is not live"
        rm -f "$log"
        return
    fi
    rc=0
    # The preset's environment (GT_TIMEOUT_SCALE=10) and wrapper (valgrind
    # with the flags above) apply; --test-dir follows -B.
    GT_TIMEOUT_SCALE=10 ctest --test-dir "$vg_build" -j "$jobs" -L unit -R "$vg_tests" \
        --output-on-failure >"$log" 2>&1 || rc=$?
    ctest_count "$log"
    if ((rc == 0 && c_fail == 0)); then
        ok "valgrind: $c_pass unit tests, no memcheck errors, no definite or indirect leaks"
    else
        grep -E -A30 '(definitely|indirectly) lost|Invalid|uninitialised|Failed|\*\*\*' "$log" |
            head -n 80 || tail -n 40 "$log"
        bad "valgrind: $c_fail of $((c_pass + c_fail)) unit tests failed under memcheck"
    fi
    rm -f "$log"
}

start=$(date +%s)
for s in $steps; do
    case $s in
    lsan) lsan ;;
    valgrind) valgrind_step ;;
    *) bad "unknown step '$s' (lsan, valgrind)" ;;
    esac
done
echo "leakcheck: $pass passed, $fail failed ($(($(date +%s) - start)) s)"
((fail == 0))
