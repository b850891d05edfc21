/*
 * wl_time.c - package time workloads: timer_churn, sleep_many.  Each
 * mirrors the function of the same name in ../shared/reference/go/bench.go;
 * README.md there defines them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

/* ---------------------------------------------------------------- timer_churn */

/* Main, timer_churn_n times: t := time.NewTimer(time.Hour); t.Stop() (Stop
 * must return true).  Go's garbage collector frees the timer; here
 * gort_timer_free does, inside the timed loop. */
int wl_timer_churn(bench_result *res) {
    const int64_t n = bench_sz->timer_churn_n;
    const int64_t hour = INT64_C(3600) * 1000000000;
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++) {
        gort_timer *t = gort_timer_new(hour);
        if (t == NULL)
            bench_fail("timer_churn: gort_timer_new failed");
        if (!gort_timer_stop(t))
            bench_fail("timer_churn: Stop returned false");
        gort_timer_free(t);
    }
    int64_t el = bench_now() - start;
    res[0] = (bench_result){"timer_churn", bench_ns_per(el, n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- sleep_many */

typedef struct sleep_many_state {
    int iters;
    int64_t dur;
    gort_waitgroup wg;
} sleep_many_state;

static void sleep_many_body(void *arg) {
    sleep_many_state *s = arg;
    for (int i = 0; i < s->iters; i++)
        gort_sleep(s->dur);
    gort_wg_done(&s->wg);
}

/* Main spawns sleep_many_g goroutines; each sleeps sleep_many_dur
 * sleep_many_iters times in a row, then Done.  Main waits.  Two lines:
 * total ms, and total minus the ideal (iters x dur). */
int wl_sleep_many(bench_result *res) {
    const int g = bench_sz->sleep_many_g;
    sleep_many_state s = {.iters = bench_sz->sleep_many_iters, .dur = bench_sz->sleep_many_dur};
    int64_t start = bench_now();
    gort_wg_add(&s.wg, g);
    for (int i = 0; i < g; i++)
        bench_go(sleep_many_body, &s);
    gort_wg_wait(&s.wg);
    int64_t el = bench_now() - start;
    double total_ms = (double)el / 1e6;
    double ideal_ms = (double)s.iters * (double)s.dur / 1e6;
    res[0] = (bench_result){"sleep_many_total_ms", total_ms, "ms"};
    res[1] = (bench_result){"sleep_many_overhead_ms", total_ms - ideal_ms, "ms"};
    return 2;
}
