#!/usr/bin/env bash
# fuzz.sh - the body of `make fuzz`: builds the libFuzzer targets
# (tests/fuzz/fuzz_*.c, the "fuzz" preset: clang, ASan + UBSan) and runs
# each for FUZZ_SECONDS (default 60), one after the other.
#
# Each target starts from its seeds in tests/fuzz/corpus/<target>/ and
# keeps what it finds in <build>/corpus/<target>/ (never in the source
# tree); a crash leaves crash-*/leak-*/timeout-* files in
# <build>/artifacts/ and makes the script fail.
#
# Environment:
#   FUZZ_SECONDS   per target (default 60)
#   FUZZ_TARGETS   which targets (default: every fuzz_*.c), e.g. "resp"
#   FUZZ_BUILD_DIR the build tree (default build/fuzz)
#   JOBS           build parallelism (default 2)
#   FUZZ_ARGS      extra libFuzzer flags, e.g. "-max_len=4096"
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD_DIR:-build/fuzz}
jobs=${JOBS:-2}
read -r -a extra <<<"${FUZZ_ARGS:-}"

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz.sh: clang is not installed (libFuzzer comes with it): apt-get install clang" >&2
    exit 1
fi
if [[ -z ${FUZZ_TARGETS:-} ]]; then
    FUZZ_TARGETS=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)
fi

mkdir -p "$(dirname "$build")"
cmake --preset fuzz -B "$build" >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
for t in $FUZZ_TARGETS; do
    cmake --build "$build" -j "$jobs" --target "fuzz_$t"
done

# Sanitizer runtimes of clang 14 and high mmap randomisation (see test.sh).
wrapper=()
if command -v setarch >/dev/null 2>&1; then
    wrapper=(setarch "$(uname -m)" -R)
fi

failed=0
mkdir -p "$build/artifacts"
for t in $FUZZ_TARGETS; do
    corpus="$build/corpus/$t"
    mkdir -p "$corpus"
    echo "== fuzz_$t: ${seconds}s (seeds tests/fuzz/corpus/$t, corpus $corpus)"
    if ! "${wrapper[@]}" "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$t-" "${extra[@]}" "$corpus" "tests/fuzz/corpus/$t" \
        2>"$build/fuzz_$t.log"; then
        tail -60 "$build/fuzz_$t.log"
        echo "== fuzz_$t FAILED (log $build/fuzz_$t.log, inputs $build/artifacts/)"
        failed=$((failed + 1))
        continue
    fi
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)|^#[0-9]+ *DONE' \
        "$build/fuzz_$t.log" || true
    echo "== fuzz_$t ok"
done
exit $((failed > 0))
