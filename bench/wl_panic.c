/*
 * wl_panic.c - defer/panic/recover workloads: defer_call, panic_recover.
 * The reference (../shared/reference/go/bench.go) has no such workloads;
 * bench/go/main.go is our own Go program that times the same two with Go's
 * defer, panic and recover, and scripts/bench.sh runs it next to these.
 * The definitions (identical in both programs; main goroutine, GOMAXPROCS
 * the default, best of -reps repetitions, clock around the loop only):
 *
 * defer_call - defer_call_n (20,000,000) calls of a function that defers
 *     one call to a no-op function taking a pointer argument, and returns.
 *     The deferred function increments the counter it points at; the loop
 *     checks counter == N afterwards.
 *         Go:   //go:noinline func deferOnce(p *int) { defer noop(p) }
 *               //go:noinline func noop(p *int) { *p++ }
 *         gort: gort_call(defer_once, &counter), defer_once does
 *               gort_defer(noop, arg) (a gort_call frame is gort's function
 *               frame for defers).
 *     Value: elapsed / N, ns/op (defer + return + the deferred call).
 *
 * panic_recover - panic_recover_n (1,000,000) calls of a function that
 *     defers a function which calls recover and counts a non-nil result,
 *     then panics with a constant string.  count == N is checked.
 *         Go:   func panicOnce(c *int) { defer rec(c); panic("boom") }
 *               func rec(c *int) { if recover() != nil { *c++ } }
 *         gort: gort_call(panic_once, &count) must return 1; panic_once does
 *               gort_defer(rec, arg) then gort_panic("boom"); rec does
 *               if (gort_recover()) (*count)++.
 *     Value: elapsed / N, ns/op (defer + panic + recover + unwind).
 *
 * Every function here is noinline (and the counters are checked), so the
 * compiler can neither fold the calls into the loop nor drop them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#define BENCH_NOINLINE __attribute__((noinline))

/* ---------------------------------------------------------------- defer_call */

static BENCH_NOINLINE void defer_noop(void *arg) {
    (*(int64_t *)arg)++;
}

static BENCH_NOINLINE void defer_once(void *arg) {
    gort_defer(defer_noop, arg);
}

int wl_defer_call(bench_result *res) {
    const int64_t n = bench_sz->defer_call_n;
    int64_t counter = 0;
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++)
        gort_call(defer_once, &counter);
    int64_t el = bench_now() - start;
    if (counter != n)
        bench_fail("defer_call: bad counter: %lld, want %lld", (long long)counter, (long long)n);
    res[0] = (bench_result){"defer_call", bench_ns_per(el, n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- panic_recover */

static BENCH_NOINLINE void panic_rec(void *arg) {
    if (gort_recover() != NULL)
        (*(int64_t *)arg)++;
}

static BENCH_NOINLINE void panic_once(void *arg) {
    gort_defer(panic_rec, arg);
    gort_panic("boom");
}

int wl_panic_recover(bench_result *res) {
    const int64_t n = bench_sz->panic_recover_n;
    int64_t count = 0;
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++) {
        if (gort_call(panic_once, &count) != 1)
            bench_fail("panic_recover: gort_call did not report a recovered panic");
    }
    int64_t el = bench_now() - start;
    if (count != n)
        bench_fail("panic_recover: bad count: %lld, want %lld", (long long)count, (long long)n);
    res[0] = (bench_result){"panic_recover", bench_ns_per(el, n), "ns/op"};
    return 1;
}
