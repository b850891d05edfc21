#!/usr/bin/env bash
# test.sh - the body of `make test`.
#
# For each preset (default: dev release asan-ubsan tsan): configure, build, run
# `ctest --preset`; stop at the first failure.  After the dev suite also
# check the exported symbols (check-symbols.sh), the installed package
# (check-install.sh) and the Debian packages (check-package.sh).  Then the leak checks (leakcheck.sh: LeakSanitizer
# on the asan-ubsan build, valgrind memcheck on a subset of the unit tests;
# each check counts as one test).  The last line is the total:
#     N passed, M failed
#
# Environment:
#   GORT_TEST_PRESETS  presets to run, in order (make test PRESETS="dev tsan")
#   GORT_WERROR        ON/OFF, passed to CMake (the Makefile sets ON under CI)
#   JOBS               build parallelism (default: nproc)
#   CTEST_ARGS         extra ctest arguments, e.g. "-L unit" or "-R chan"
#   GORT_TEST_LEAKCHECK=0      skip the LeakSanitizer and valgrind steps
#   GORT_TEST_FUZZ_SECONDS=N   seconds per fuzz target (default 20; 0 skips)
#   GORT_TEST_LEAKCHECK  0 skips the leak checks
#   GORT_TEST_SANITIZERS=0     skip scripts/sanitizers.sh (after the dev suite)
#
# Before the presets, the static checks of the tree, one test each:
# check-fields.sh (no dead field in src/runtime.h), check-paths.sh (no
# absolute path of a build machine in a tracked file) and check-sources.sh
# (every tracked .c file is named in a CMake list).
#
# Sanitizers and ASLR: TSan (and ASan) of gcc 12 / clang 14 predate the
# support for the high mmap randomisation of recent kernels and die with
# "FATAL: ThreadSanitizer: unexpected memory mapping" when
# vm.mmap_rnd_bits > 28.  So the sanitizer suites always run under
# `setarch -R` (no address randomisation for the tests' processes alone);
# this script never changes a system setting.
set -euo pipefail

cd "$(dirname "$0")/.."
presets=${GORT_TEST_PRESETS:-dev release asan-ubsan tsan}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
werror=${GORT_WERROR:-OFF}
read -r -a ctest_args <<<"${CTEST_ARGS:-}"

total_pass=0
total_fail=0
start=$(date +%s)

# " (at N s)": the time since the start, for the stage lines.
at() {
    echo " (at $(($(date +%s) - start)) s)"
}

summary() {
    echo "== make test: $(($(date +%s) - start)) s, presets: $presets"
    echo "$total_pass passed, $total_fail failed"
}

# Prints the command prefix the sanitizer suites need: setarch -R (util-linux),
# or nothing, with a warning, where there is no setarch.
aslr_wrapper() {
    if command -v setarch >/dev/null 2>&1; then
        echo "setarch $(uname -m) -R"
    else
        echo "test.sh: no setarch (util-linux): sanitizer suites run with full ASLR" >&2
    fi
}

for check in check-fields.sh check-paths.sh check-sources.sh; do
    echo "== $check"
    if scripts/$check; then
        total_pass=$((total_pass + 1))
    else
        total_fail=$((total_fail + 1))
        summary
        exit 1
    fi
done

for preset in $presets; do
    echo "== [$preset] configure$(at)"
    log=$(mktemp "${TMPDIR:-/tmp}/gort-configure.XXXXXX")
    if ! cmake --preset "$preset" -DGORT_WERROR="$werror" >"$log" 2>&1; then
        cat "$log"
        rm -f "$log"
        total_fail=$((total_fail + 1))
        echo "== [$preset] configure FAILED"
        summary
        exit 1
    fi
    if grep -q 'CMake Warning' "$log"; then cat "$log"; else grep '^-- gort ' "$log" || true; fi
    rm -f "$log"
    echo "== [$preset] build"
    if ! cmake --build --preset "$preset" -j "$jobs"; then
        total_fail=$((total_fail + 1))
        echo "== [$preset] build FAILED"
        summary
        exit 1
    fi

    wrapper=""
    case $preset in asan-ubsan | tsan) wrapper=$(aslr_wrapper) ;; esac
    echo "== [$preset] ctest --preset $preset ${ctest_args[*]}$(at)"
    log=$(mktemp "${TMPDIR:-/tmp}/gort-ctest.XXXXXX")
    rc=0
    # shellcheck disable=SC2086
    $wrapper ctest --preset "$preset" "${ctest_args[@]}" 2>&1 | tee "$log" || rc=$?

    # "100% tests passed, 0 tests failed out of 12"; nothing when there are no tests.
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)
    # Skipped tests (exit 77, GT_SKIP) count as neither passed nor failed.
    skip=$(grep -cE '^[[:space:]]*[0-9]+ - .* \((Skipped|Disabled)\)$' "$log" || true)
    rm -f "$log"
    pass=0 fail=0
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        fail=${BASH_REMATCH[1]}
        pass=$((BASH_REMATCH[2] - fail - skip))
    fi
    if ((rc != 0 && fail == 0)); then
        fail=1 # ctest failed without a count (bad preset, no build, ...)
    fi
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    echo "== [$preset] $pass passed, $fail failed, $skip skipped"
    if ((fail != 0)); then
        summary
        exit 1
    fi

    if [[ $preset == dev ]]; then
        echo "== [dev] check-symbols"
        scripts/check-symbols.sh build/dev || { total_fail=$((total_fail + 1)); summary; exit 1; }
        echo "== [dev] check-install"
        scripts/check-install.sh build/dev || { total_fail=$((total_fail + 1)); summary; exit 1; }
        echo "== [dev] check-package"
        scripts/check-package.sh build/dev || { total_fail=$((total_fail + 1)); summary; exit 1; }
        # Users' programs under TSan/ASan/LSan, built against the installed
        # library (tests/sanitizers/); GORT_TEST_SANITIZERS=0 skips it.
        if [[ ${GORT_TEST_SANITIZERS:-1} != 0 ]]; then
            echo "== [dev] sanitizers (users' programs: race detector, ASan, LSan)$(at)"
            slog=$(mktemp "${TMPDIR:-/tmp}/gort-san.XXXXXX")
            src=0
            scripts/sanitizers.sh build/dev 2>&1 | tee "$slog" || src=$?
            sline=$(grep -E '^sanitizers: [0-9]+ passed, [0-9]+ failed' "$slog" | tail -n1 || true)
            rm -f "$slog"
            if [[ $sline =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
                total_pass=$((total_pass + BASH_REMATCH[1]))
                total_fail=$((total_fail + BASH_REMATCH[2]))
            fi
            if ((src != 0)); then
                [[ $sline =~ \ 0\ failed ]] && total_fail=$((total_fail + 1))
                summary
                exit 1
            fi
        fi
    fi
done

# Leak checks (scripts/leakcheck.sh): LeakSanitizer on the asan-ubsan build
# when that preset ran, valgrind memcheck on a bounded subset of the unit
# tests.  GORT_TEST_LEAKCHECK=0 skips them.
if [[ ${GORT_TEST_LEAKCHECK:-1} != 0 ]]; then
    steps=""
    [[ " $presets " == *" asan-ubsan "* ]] && steps="lsan"
    steps="$steps valgrind"
    echo "== leak checks:$steps$(at)"
    log=$(mktemp "${TMPDIR:-/tmp}/gort-leakcheck.XXXXXX")
    rc=0
    # shellcheck disable=SC2086
    GORT_ASAN_BUILD=${GORT_ASAN_BUILD:-build/asan} GORT_VALGRIND_BUILD=${GORT_VALGRIND_BUILD:-build/valgrind} \
        JOBS=$jobs GORT_WERROR=$werror \
        scripts/leakcheck.sh $steps 2>&1 | tee "$log" || rc=$?
    line=$(grep -E '^leakcheck: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n1 || true)
    rm -f "$log"
    if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        total_pass=$((total_pass + BASH_REMATCH[1]))
        total_fail=$((total_fail + BASH_REMATCH[2]))
    fi
    if ((rc != 0)); then
        [[ $line =~ \ 0\ failed ]] && total_fail=$((total_fail + 1))
        summary
        exit 1
    fi
fi

# Fuzzing, bounded (scripts/fuzz.sh): every libFuzzer target for
# GORT_TEST_FUZZ_SECONDS (default 20) from its seed corpus; a crash fails
# the run.  GORT_TEST_FUZZ_SECONDS=0 skips it.
fuzz_seconds=${GORT_TEST_FUZZ_SECONDS:-20}
if ((fuzz_seconds > 0)); then
    echo "== fuzz: each target for ${fuzz_seconds}s$(at)"
    if FUZZ_SECONDS=$fuzz_seconds JOBS=$jobs scripts/fuzz.sh; then
        total_pass=$((total_pass + $(ls tests/fuzz/fuzz_*.c | wc -l)))
    else
        total_fail=$((total_fail + 1))
        summary
        exit 1
    fi
fi

summary
