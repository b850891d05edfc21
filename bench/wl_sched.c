/*
 * wl_sched.c - scheduler workloads: spawn_wait, spawn_seq, yield_p1,
 * park_1m_rss.  Each mirrors the function of the same name in
 * ../shared/reference/go/bench.go; README.md there defines them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---------------------------------------------------------------- spawn_wait */

static void spawn_wait_body(void *arg) {
    gort_wg_done(arg);
}

/* Spawn spawn_wait_n goroutines that each call wg.Done(); wait. */
int wl_spawn_wait(bench_result *res) {
    const int64_t n = bench_sz->spawn_wait_n;
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    int64_t start = bench_now();
    gort_wg_add(&wg, n);
    for (int64_t i = 0; i < n; i++)
        bench_go(spawn_wait_body, &wg);
    gort_wg_wait(&wg);
    int64_t el = bench_now() - start;
    res[0] = (bench_result){"spawn_wait", bench_ns_per(el, n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- spawn_seq */

static void spawn_seq_body(void *arg) {
    gort_chan_send(arg, NULL);
}

/* Spawn one goroutine that sends on an unbuffered chan struct{}, receive
 * from it, repeat. */
int wl_spawn_seq(bench_result *res) {
    const int64_t n = bench_sz->spawn_seq_n;
    gort_chan *done = bench_chan_make(0, 0);
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++) {
        bench_go(spawn_seq_body, done);
        gort_chan_recv(done, NULL);
    }
    int64_t el = bench_now() - start;
    gort_chan_free(done);
    res[0] = (bench_result){"spawn_seq", bench_ns_per(el, n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- yield_p1 */

static void yield_body(void *arg) {
    const int64_t n = bench_sz->yield_n;
    for (int64_t i = 0; i < n; i++)
        gort_yield();
    gort_wg_done(arg);
}

/* GOMAXPROCS(1) (set by the driver); two goroutines each call gort_yield()
 * yield_n times. */
int wl_yield_p1(bench_result *res) {
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    int64_t start = bench_now();
    gort_wg_add(&wg, 2);
    for (int g = 0; g < 2; g++)
        bench_go(yield_body, &wg);
    gort_wg_wait(&wg);
    int64_t el = bench_now() - start;
    res[0] = (bench_result){"yield_p1", bench_ns_per(el, 2 * bench_sz->yield_n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- park_1m_rss */

/* VmRSS of this process in bytes (kB x 1024), from /proc/self/status. */
static int64_t vm_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        bench_fail("park_1m_rss: cannot open /proc/self/status");
    char line[256];
    int64_t kb = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoll(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    if (kb < 0)
        bench_fail("park_1m_rss: no VmRSS");
    return kb * 1024;
}

typedef struct park_state {
    gort_chan *ch; /* chan struct{}, never sent on; closed to release all */
    gort_waitgroup ready, exited;
} park_state;

static void park_body(void *arg) {
    park_state *s = arg;
    gort_wg_done(&s->ready);
    gort_chan_recv(s->ch, NULL);
    gort_wg_done(&s->exited);
}

/* VmRSS before; spawn park_g goroutines that each signal a WaitGroup and
 * then block receiving from one shared channel; once all have signalled,
 * VmRSS again.  Two results: bytes per parked goroutine and spawn time per
 * goroutine.  Then close the channel and wait for all to exit (not
 * measured).  Runs once per process (single_rep). */
int wl_park_1m_rss(bench_result *res) {
    const int64_t n = bench_sz->park_g;
    int64_t before = vm_rss();
    park_state s = {.ch = bench_chan_make(0, 0)};
    int64_t start = bench_now();
    gort_wg_add(&s.ready, n);
    gort_wg_add(&s.exited, n);
    for (int64_t i = 0; i < n; i++)
        bench_go(park_body, &s);
    gort_wg_wait(&s.ready);
    int64_t spawn_el = bench_now() - start;
    int64_t after = vm_rss();
    gort_chan_close(s.ch);
    gort_wg_wait(&s.exited);
    gort_chan_free(s.ch);
    res[0] = (bench_result){"park_1m_rss", (double)(after - before) / (double)n, "bytes/op"};
    res[1] = (bench_result){"park_1m_spawn", bench_ns_per(spawn_el, n), "ns/op"};
    return 2;
}
