/*
 * preempt_test.c - preemption (issue 12): the scheduler differences from Go
 * found by ports of Go's runtime tests, asynchronous preemption of
 * goroutines that never call gort, the stop-the-world by signal, blocked
 * threads, and GOMAXPROCS from the CPU affinity mask and cgroup limits.
 *
 * Every case runs in its own process.  A case whose failure mode is a hang
 * (a goroutine that never runs again) arms a watchdog thread outside the
 * runtime first: it fails the case after a bounded, scaled time instead.
 * The cases that test the cooperative scheduler alone (the ports of Go's
 * tests) run with GORTDEBUG=asyncpreemptoff=1, as Go's do under that
 * setting.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* Monotonic time without any gort call (never a scheduling point). */
static int64_t h_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t h_timeout(double secs) {
    return (int64_t)(secs * gt_scale() * 1e9);
}

/* The watchdog: a plain thread that fails the case with `what` unless
 * watchdog_stop is called within secs (scaled). */
static struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    double secs;
    const char *what;
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *watchdog_main(void *arg) {
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = h_timeout(wd.secs);
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec += ns % 1000000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&wd.mu);
    while (!wd.stop)
        if (pthread_cond_timedwait(&wd.cv, &wd.mu, &ts) == ETIMEDOUT && !wd.stop)
            GT_FAIL("watchdog: no progress after %.1fs: %s", wd.secs * gt_scale(), wd.what);
    pthread_mutex_unlock(&wd.mu);
    return NULL;
}

static void watchdog_start(double secs, const char *what) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&wd.cv, &ca);
    wd.secs = secs;
    wd.what = what;
    wd.stop = false;
    ASSERT_EQ(pthread_create(&wd.th, NULL, watchdog_main, NULL), 0);
}

static void watchdog_stop(void) {
    pthread_mutex_lock(&wd.mu);
    wd.stop = true;
    pthread_cond_signal(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
    pthread_join(wd.th, NULL);
}

/* The cooperative scheduler alone: no asynchronous preemption. */
static void coop_only(void) {
    setenv("GORTDEBUG", "asyncpreemptoff=1", 1);
}

/* ------------------------------------------------------------------------
 * Item 6: scheduler differences from Go (ports of Go's runtime tests)
 * ------------------------------------------------------------------------ */

/* With one P and a goroutine looping on gort_yield, a sleeping goroutine
 * wakes on time (Go: Gosched runs schedule(), which runs the P's timers). */
static atomic_bool ts_woke;

static void ts_sleeper(void *arg) {
    (void)arg;
    gort_sleep(100 * GT_MS);
    atomic_store(&ts_woke, true);
}

static int main_yield_runs_timers(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    ASSERT_EQ(gort_go(ts_sleeper, NULL), 0);
    int64_t start = h_now();
    int64_t deadline = start + h_timeout(10);
    while (!atomic_load(&ts_woke) && h_now() < deadline)
        gort_yield();
    if (!atomic_load(&ts_woke))
        GT_FAIL("gort_sleep(100ms) did not return in %.1fs while main looped on gort_yield",
                10.0 * gt_scale());
    ASSERT_GE(h_now() - start, 100 * GT_MS);
    return 0;
}

TEST(yield_runs_timers_p1) {
    coop_only();
    gort_gomaxprocs(1);
    ASSERT_EQ(gort_main(main_yield_runs_timers, NULL), 0);
}

/* Go's TestStopTheWorldDeadlock shape: a goroutine that starts a copy of
 * itself and returns must not starve the others on one P (the child takes
 * runnext and inherits the time slice; a preemption request must still
 * end it). */
static atomic_bool pm_stop;
static atomic_long pm_spawned;

static void perpetuum(void *arg) {
    (void)arg;
    if (atomic_load(&pm_stop))
        return;
    atomic_fetch_add(&pm_spawned, 1);
    ASSERT_EQ(gort_go(perpetuum, NULL), 0);
}

static int main_perpetuum(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    ASSERT_EQ(gort_go(perpetuum, NULL), 0);
    /* A 100 ms yield loop (Go: about 0.16 s with asyncpreemptoff=1). */
    int64_t end = h_now() + 100 * GT_MS;
    long yields = 0;
    while (h_now() < end) {
        gort_yield();
        yields++;
    }
    atomic_store(&pm_stop, true);
    ASSERT_GT(yields, 0);
    ASSERT_GT(atomic_load(&pm_spawned), 0);
    return 0;
}

TEST(spawn_chain_does_not_starve_p1) {
    coop_only();
    gort_gomaxprocs(1);
    watchdog_start(30, "main's 100 ms yield loop starved by a goroutine that respawns itself");
    ASSERT_EQ(gort_main(main_perpetuum, NULL), 0);
    watchdog_stop();
}

/* Go's TestPingPongHog: a hog pair and a light pair ping-pong on one P while
 * main sleeps.  Both pairs hand the P to their buddy within a time slice,
 * so the counts stay within a factor (Go: ratio about 1.3; broken: 1000x). */
static gort_chan *pp_done;
static atomic_long pp_hog, pp_light;

typedef struct pp_arg {
    long limit;
    atomic_long *counter;
    gort_chan *wake;
} pp_arg;

static void pp_run(void *arg) {
    pp_arg *a = arg;
    for (;;) {
        bool v;
        gort_select_case cs[2] = {{pp_done, GORT_RECV, &v, false}, {a->wake, GORT_RECV, &v, false}};
        int i = gort_select(cs, 2, true);
        if (i == 0)
            return;
        /* The counting loop makes no gort call (Go's makes no call). */
        long c = atomic_load_explicit(a->counter, memory_order_relaxed);
        for (long k = 0; k < a->limit; k++) {
            c++;
            __asm__ volatile("" : "+r"(c));
        }
        atomic_store_explicit(a->counter, c, memory_order_relaxed);
        v = true;
        gort_chan_send(a->wake, &v);
    }
}

static int main_pingpong(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    pp_done = gort_chan_make(sizeof(bool), 0);
    gort_chan *hogc = gort_chan_make(sizeof(bool), 0);
    gort_chan *lightc = gort_chan_make(sizeof(bool), 0);
    static pp_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] =
            (pp_arg){i < 2 ? 1000000 : 1000, i < 2 ? &pp_hog : &pp_light, i < 2 ? hogc : lightc};
        ASSERT_EQ(gort_go(pp_run, &args[i]), 0);
    }
    bool v = true;
    gort_chan_send(hogc, &v);
    gort_chan_send(lightc, &v);
    gort_sleep(100 * GT_MS);
    gort_chan_close(pp_done);
    gort_chan_recv(hogc, &v);
    gort_chan_recv(lightc, &v);
    long hog = atomic_load(&pp_hog), light = atomic_load(&pp_light);
    /* Go's factor of 5: if the scheduler isn't working right, the gap
     * should be ~1000x. */
    if (hog > light * 5 || light > hog * 5)
        GT_FAIL("want hog/light in [0.2, 5]; got %ld/%ld = %g", hog, light,
                (double)hog / (double)(light ? light : 1));
    return 0;
}

TEST(ping_pong_hog_p1) {
    coop_only();
    gort_gomaxprocs(1);
    watchdog_start(30, "the ping-pong pairs and main's sleep");
    ASSERT_EQ(gort_main(main_pingpong, NULL), 0);
    watchdog_stop();
}

/* gort_yield gives way as Go's Gosched does (onto the global queue): with
 * GOMAXPROCS goroutines that never yield and main in a yield loop, every
 * one of them runs, even without asynchronous preemption. */
#define GY_N 3
static atomic_int gy_started;
static atomic_bool gy_stop;

static void gy_spinner(void *arg) {
    (void)arg;
    atomic_fetch_add(&gy_started, 1);
    int64_t deadline = h_now() + h_timeout(20);
    while (!atomic_load(&gy_stop) && h_now() < deadline) {
    }
}

static int main_yield_global(void *arg) {
    int procs = (int)(intptr_t)arg;
    ASSERT_EQ(gort_gomaxprocs(0), procs);
    for (int i = 0; i < procs; i++)
        ASSERT_EQ(gort_go(gy_spinner, NULL), 0);
    int64_t deadline = h_now() + h_timeout(10);
    while (atomic_load(&gy_started) < procs && h_now() < deadline)
        gort_yield();
    int started = atomic_load(&gy_started);
    atomic_store(&gy_stop, true);
    if (started < procs)
        GT_FAIL("%d of %d spinners ran while main looped on gort_yield at GOMAXPROCS=%d", started,
                procs, procs);
    return 0;
}

TEST(yield_lets_queued_run_p3) {
    coop_only();
    gort_gomaxprocs(GY_N);
    watchdog_start(60, "main's yield loop");
    ASSERT_EQ(gort_main(main_yield_global, (void *)(intptr_t)GY_N), 0);
    watchdog_stop();
}

TEST(yield_lets_queued_run_p2) {
    coop_only();
    gort_gomaxprocs(2);
    watchdog_start(60, "main's yield loop");
    ASSERT_EQ(gort_main(main_yield_global, (void *)(intptr_t)2), 0);
    watchdog_stop();
}

/* The same with the queued goroutine behind a spinner on the other P: A
 * starts B (B goes to A's P's runnext) and spins until B runs, while main,
 * alone on the other P, loops on gort_yield: the yield must give B a way
 * to run (its own P takes it). */
static atomic_bool gb_b_ran;

static void gb_b(void *arg) {
    (void)arg;
    atomic_store(&gb_b_ran, true);
}

static void gb_a(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(gb_b, NULL), 0);
    int64_t deadline = h_now() + h_timeout(20);
    while (!atomic_load(&gb_b_ran) && h_now() < deadline) {
    }
}

static int main_yield_behind_spinner(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(gb_a, NULL), 0);
    int64_t deadline = h_now() + h_timeout(10);
    while (!atomic_load(&gb_b_ran) && h_now() < deadline)
        gort_yield();
    if (!atomic_load(&gb_b_ran))
        GT_FAIL("a goroutine queued behind a spinner never ran while main looped on gort_yield");
    return 0;
}

TEST(yield_runs_queued_behind_spinner_p2) {
    coop_only();
    gort_gomaxprocs(2);
    watchdog_start(60, "main's yield loop");
    ASSERT_EQ(gort_main(main_yield_behind_spinner, NULL), 0);
    watchdog_stop();
}

GT_MAIN()
