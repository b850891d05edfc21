/*
 * wl_sync.c - sync package workloads: mutex_uncontended, mutex_contended,
 * rwmutex_read, waitgroup_cycle.  Each mirrors the function of the same name
 * in ../shared/reference/go/bench.go; README.md there defines them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

/* ---------------------------------------------------------------- mutex_uncontended */

/* One goroutine, lock(); unlock() mutex_unc_n times. */
int wl_mutex_uncontended(bench_result *res) {
    const int64_t n = bench_sz->mutex_unc_n;
    gort_mutex mu = GORT_MUTEX_INIT;
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++) {
        gort_mutex_lock(&mu);
        gort_mutex_unlock(&mu);
    }
    int64_t el = bench_now() - start;
    res[0] = (bench_result){"mutex_uncontended", bench_ns_per(el, n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- mutex_contended */

typedef struct mutex_cont_state {
    gort_mutex mu;
    int64_t counter; /* [mu] */
    int64_t per;
    gort_waitgroup wg;
} mutex_cont_state;

static void mutex_cont_body(void *arg) {
    mutex_cont_state *s = arg;
    const int64_t per = s->per; /* Go's closure captures it by value */
    for (int64_t i = 0; i < per; i++) {
        gort_mutex_lock(&s->mu);
        s->counter++;
        gort_mutex_unlock(&s->mu);
    }
    gort_wg_done(&s->wg);
}

/* mutex_cont_g goroutines each do mutex_cont_n/mutex_cont_g times:
 * lock(); counter++; unlock().  The counter is checked. */
int wl_mutex_contended(bench_result *res) {
    const int g = bench_sz->mutex_cont_g;
    mutex_cont_state s = {.per = bench_sz->mutex_cont_n / g};
    int64_t start = bench_now();
    gort_wg_add(&s.wg, g);
    for (int i = 0; i < g; i++)
        bench_go(mutex_cont_body, &s);
    gort_wg_wait(&s.wg);
    int64_t el = bench_now() - start;
    if (s.counter != s.per * g)
        bench_fail("mutex_contended: bad counter: %lld, want %lld", (long long)s.counter,
                   (long long)(s.per * g));
    res[0] = (bench_result){"mutex_contended", bench_ns_per(el, s.per * g), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- rwmutex_read */

typedef struct rw_read_state {
    gort_rwmutex rw;
    int64_t per;
    gort_waitgroup wg;
} rw_read_state;

static void rw_read_body(void *arg) {
    rw_read_state *s = arg;
    const int64_t per = s->per; /* Go's closure captures it by value */
    for (int64_t i = 0; i < per; i++) {
        gort_rwmutex_rlock(&s->rw);
        gort_rwmutex_runlock(&s->rw);
    }
    gort_wg_done(&s->wg);
}

/* rw_read_g goroutines each do rw_read_n/rw_read_g times: rlock(); runlock(). */
int wl_rwmutex_read(bench_result *res) {
    const int g = bench_sz->rw_read_g;
    rw_read_state s = {.per = bench_sz->rw_read_n / g};
    int64_t start = bench_now();
    gort_wg_add(&s.wg, g);
    for (int i = 0; i < g; i++)
        bench_go(rw_read_body, &s);
    gort_wg_wait(&s.wg);
    int64_t el = bench_now() - start;
    res[0] = (bench_result){"rwmutex_read", bench_ns_per(el, s.per * g), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- waitgroup_cycle */

/* One goroutine, wg_cycle_n times: add(1); done(); wait(). */
int wl_waitgroup_cycle(bench_result *res) {
    const int64_t n = bench_sz->wg_cycle_n;
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++) {
        gort_wg_add(&wg, 1);
        gort_wg_done(&wg);
        gort_wg_wait(&wg);
    }
    int64_t el = bench_now() - start;
    res[0] = (bench_result){"waitgroup_cycle", bench_ns_per(el, n), "ns/op"};
    return 1;
}
