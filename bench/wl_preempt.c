/*
 * wl_preempt.c - preemption workloads: preempt_latency (as defined in
 * ../shared/reference/README.md and go/bench.go) and spin_overhead (not in
 * the reference: what asynchronous preemption costs a pure compute loop).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bench.h"

#if defined(__SANITIZE_THREAD__)
#define BENCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BENCH_TSAN 1
#endif
#endif

/* ---------------------------------------------------------------- preempt_latency */

#define PREEMPT_SLEEPS 500 /* go/bench.go preemptSleeps */

static atomic_int pl_stop;

static void pl_spinner(void *arg) {
    /* No call in the loop (Go's `for atomic.LoadInt32(&stop) == 0 {}`). */
    while (atomic_load_explicit(&pl_stop, memory_order_relaxed) == 0) {
    }
    gort_wg_done(arg);
}

typedef struct pl_state {
    double late[PREEMPT_SLEEPS];
    gort_chan *done;
} pl_state;

static void pl_sleeper(void *arg) {
    pl_state *st = arg;
    for (int i = 0; i < PREEMPT_SLEEPS; i++) {
        int64_t t0 = bench_now();
        gort_sleep(1000000);
        st->late[i] = (double)(bench_now() - t0 - 1000000) / 1e3;
    }
    gort_chan_close(st->done);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* GOMAXPROCS goroutines spin on an atomic flag with no calls in the loop;
 * one more sleeps 1 ms 500 times and records, for each, (time woken - time
 * the sleep began - 1 ms).  p50 and p99 of that lateness in us (nearest
 * rank).  Then the flag stops the spinners. */
int wl_preempt_latency(bench_result *res) {
#ifdef BENCH_TSAN
    /* No preemption signal under ThreadSanitizer (src/preempt.c): the
     * spinners would hold every P for ever and the sleeper never run. */
    (void)res;
    bench_skip("no asynchronous preemption under ThreadSanitizer");
    return 0;
#endif
    static pl_state st;
    int procs = gort_gomaxprocs(0);
    gort_waitgroup spinners = GORT_WAITGROUP_INIT;
    atomic_store(&pl_stop, 0);
    for (int i = 0; i < procs; i++) {
        gort_wg_add(&spinners, 1);
        bench_go(pl_spinner, &spinners);
    }
    st.done = bench_chan_make(0, 0);
    bench_go(pl_sleeper, &st);
    gort_chan_recv(st.done, NULL);
    atomic_store(&pl_stop, 1);
    gort_wg_wait(&spinners);
    gort_chan_free(st.done);
    qsort(st.late, PREEMPT_SLEEPS, sizeof st.late[0], cmp_double);
    int n = PREEMPT_SLEEPS;
    res[0] = (bench_result){"preempt_latency_p50", st.late[n / 2 - 1 + n % 2], "us"};
    res[1] = (bench_result){"preempt_latency_p99", st.late[(n * 99 + 99) / 100 - 1], "us"};
    return 2;
}

/* ---------------------------------------------------------------- spin_overhead */

/* A white-box switch of the runtime (GORTDEBUG=asyncpreemptoff, which
 * gort_main reads once): the one thing here outside gort.h, so that both
 * halves run in one process under the same conditions. */
extern bool gort__asyncpreemptoff;

#define SPIN_ITERS (1L << 28) /* LCG steps per goroutine */

static atomic_ulong spin_sink;

static void spin_body(void *arg) {
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < SPIN_ITERS; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    atomic_fetch_add(&spin_sink, (unsigned long)x);
    gort_wg_done(arg);
}

static int64_t spin_round(int procs) {
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    int64_t start = bench_now();
    gort_wg_add(&wg, procs);
    for (int i = 0; i < procs; i++)
        bench_go(spin_body, &wg);
    gort_wg_wait(&wg);
    return bench_now() - start;
}

/* GOMAXPROCS goroutines each run SPIN_ITERS steps of a pure compute loop
 * (no call), once with asynchronous preemption (sysmon preempts each about
 * every 10 ms; with nothing else to run, the preempted goroutine goes on at
 * once) and once with it off.  Values: ns per step with and without, and
 * the difference in percent (the bound: at most 1%). */
int wl_spin_overhead(bench_result *res) {
    int procs = gort_gomaxprocs(0);
    bool was = gort__asyncpreemptoff;
    gort__asyncpreemptoff = false;
    int64_t on = spin_round(procs);
    gort__asyncpreemptoff = true;
    int64_t off = spin_round(procs);
    gort__asyncpreemptoff = was;
    res[0] = (bench_result){"spin_overhead_on", bench_ns_per(on, SPIN_ITERS), "ns/op"};
    res[1] = (bench_result){"spin_overhead_off", bench_ns_per(off, SPIN_ITERS), "ns/op"};
    res[2] = (bench_result){"spin_overhead", ((double)on / (double)off - 1) * 100, "%"};
    return 3;
}
