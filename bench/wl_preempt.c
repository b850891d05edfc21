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
#include <time.h>

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
 * gort_main reads once), so that both halves run in one process under the
 * same conditions, and its count of asynchronous preemptions (the rounds
 * with preemption on must have been preempted for the comparison to mean
 * anything): the one thing here outside gort.h, from the test builds'
 * white-box hooks (src/export_test.h), which CMake links into gort-bench
 * (GORT_BENCH_EXPORT).  A build against the installed library
 * (scripts/bench-race.sh) has no hooks, and this workload then fails with
 * a message. */
#ifdef GORT_BENCH_EXPORT
#include "export_test.h"
#else
static bool gort__export_set_asyncpreemptoff(bool off) {
    (void)off;
    bench_fail("spin_overhead: needs the runtime's internal switch "
               "(gort-bench as CMake builds it, with src/export_test.c)");
}
static uint64_t gort__export_npreempt_async(void) {
    return 0;
}
#endif

static atomic_ulong spin_sink;

static void spin_body(void *arg) {
    const int64_t n = bench_sz->spin_iters;
    uint64_t x = 88172645463325252ull;
    for (int64_t i = 0; i < n; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    atomic_fetch_add(&spin_sink, (unsigned long)x);
    gort_wg_done(arg);
}

/* The CPU time of the whole process (every thread: the spinners, the
 * signal's handler and trampoline, sysmon), in ns. */
static int64_t process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One round: GOMAXPROCS spinners, asynchronous preemption on or off;
 * its elapsed time, and in *cpu the process's CPU time. */
static int64_t spin_round(int procs, bool preempt, int64_t *cpu) {
    gort__export_set_asyncpreemptoff(!preempt);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    int64_t start = bench_now(), cpu0 = process_cpu();
    gort_wg_add(&wg, procs);
    for (int i = 0; i < procs; i++)
        bench_go(spin_body, &wg);
    gort_wg_wait(&wg);
    *cpu = process_cpu() - cpu0;
    return bench_now() - start;
}

/* GOMAXPROCS goroutines each run spin_iters steps of a pure compute loop
 * (no call), with asynchronous preemption (sysmon preempts each about
 * every 10 ms; with nothing else to run, the preempted goroutine goes on at
 * once) and with it off.  The rounds alternate, spin_rounds of each, the
 * order swapped every pair (on-off, off-on, ...) so that neither half
 * always runs first; each half's value is its fastest round, since noise
 * (other processes on the machine) only ever adds time.  One repetition
 * (workloads.h): a best-of-reps on the first value would pick the run
 * whose "on" half was luckiest.  Values: ns per step with and without,
 * and the difference in percent (the bound: at most 1%); then the
 * same difference in the process's CPU time (also the fastest round of
 * each), which the other processes of a loaded machine disturb less;
 * and the asynchronous preemptions per round with it on. */
int wl_spin_overhead(bench_result *res) {
    int procs = gort_gomaxprocs(0);
    bool was = gort__export_set_asyncpreemptoff(false);
    int64_t on = INT64_MAX, off = INT64_MAX, cpu_on = INT64_MAX, cpu_off = INT64_MAX;
    uint64_t npreempt = 0;
    for (int r = 0; r < bench_sz->spin_rounds; r++) {
        for (int half = 0; half < 2; half++) {
            bool preempt = (half == 0) == (r % 2 == 0);
            uint64_t n0 = gort__export_npreempt_async();
            int64_t cpu, t = spin_round(procs, preempt, &cpu);
            if (preempt)
                npreempt += gort__export_npreempt_async() - n0;
            int64_t *best = preempt ? &on : &off, *cbest = preempt ? &cpu_on : &cpu_off;
            if (t < *best)
                *best = t;
            if (cpu < *cbest)
                *cbest = cpu;
        }
    }
    gort__export_set_asyncpreemptoff(was);
    const int64_t n = bench_sz->spin_iters;
    res[0] = (bench_result){"spin_overhead_on", bench_ns_per(on, n), "ns/op"};
    res[1] = (bench_result){"spin_overhead_off", bench_ns_per(off, n), "ns/op"};
    res[2] = (bench_result){"spin_overhead", ((double)on / (double)off - 1) * 100, "%"};
    res[3] = (bench_result){"spin_overhead_cpu", ((double)cpu_on / (double)cpu_off - 1) * 100, "%"};
    res[4] = (bench_result){"spin_overhead_preempts",
                            (double)npreempt / (double)bench_sz->spin_rounds, "/round"};
    return 5;
}
