/*
 * gt_gort.h - helpers shared by the tests that drive goroutines (channels,
 * select, sync, stress, sockets).  Include after gt.h and gort.h.  qlen()
 * is white-box (export_test.c): the goroutines queued on a channel.
 */
#ifndef GT_GORT_H
#define GT_GORT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "export_test.h"
#include "gort.h"
#include "gt.h"

static inline int64_t now_ns(void) {
    return gt_now_ns();
}

/* secs, scaled for sanitizer builds, in nanoseconds. */
static inline int64_t tmo(double secs) {
    return (int64_t)(secs * gt_scale() * 1e9);
}

/* Polls cond with gort_yield (sched_yield outside a goroutine) until it
 * holds, or fails after secs (scaled). */
#define WAIT_UNTIL(cond, secs, what)                                                              \
    do {                                                                                          \
        int64_t dl_ = now_ns() + tmo(secs);                                                       \
        while (!(cond)) {                                                                         \
            if (now_ns() > dl_)                                                                   \
                GT_FAIL("timed out after %.1fs waiting for %s", (double)(secs)*gt_scale(), what); \
            gort_yield();                                                                         \
        }                                                                                         \
    } while (0)

/* Lets time pass (in a goroutine: other goroutines run meanwhile). */
static inline void pause_ms(int ms) {
    int64_t dl = now_ns() + (int64_t)ms * 1000000;
    while (now_ns() < dl)
        gort_yield();
}

/* go fn(arg), failing the test if the runtime refuses. */
static inline void go(void (*fn)(void *), void *arg) {
    int r = gort_go(fn, arg);
    ASSERT_EQ(r, 0);
}

/* gort_main(fn, arg), which must return 0. */
static inline void run(int (*fn)(void *), void *arg) {
    int r = gort_main(fn, arg);
    ASSERT_EQ(r, 0);
}

/* A connected TCP pair over 127.0.0.1 made with the fd API (gort_listen,
 * gort_dial, gort_accept; the listener is closed again).  In a goroutine. */
static inline void gt_tcp_pair(int *a, int *b) {
    int lfd = gort_listen("127.0.0.1:0", 16);
    ASSERT_GE(lfd, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", gort_local_port(lfd));
    *a = gort_dial(addr, 0);
    ASSERT_GE(*a, 0);
    *b = gort_accept(lfd, NULL, NULL);
    ASSERT_GE(*b, 0);
    ASSERT_EQ(gort_close(lfd), 0);
}

/* io.ReadFull with gort_read: 0, or the error (EOF before n bytes: -EPIPE). */
static inline ssize_t gt_read_full(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = gort_read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return r == 0 ? -EPIPE : r;
        got += (size_t)r;
    }
    return 0;
}

/* Sudogs queued on c's receive (send == false) or send queue. */
static inline int qlen(gort_chan *c, bool send) {
    return gort__export_chan_qlen(c, send);
}

/* gt_loop_lets_timers_fire(fn): a goroutine calls fn in a loop beside
 * three goroutines that call malloc and free in a loop, and main's 20 ms
 * sleep must end within a second (scaled), at two Ps and at one.  A gort
 * call is a preemption point: a goroutine that calls one in a loop spends
 * nearly all its time in the runtime's code (or libc's), where no signal
 * preempts it, and without the check its P's timers waited for seconds or
 * for ever while the malloc loops kept the other P busy.  The malloc
 * loops make no gort call (where no signal preempts, under
 * ThreadSanitizer, one now and then), so that only the signal moves them.
 * Runs gort_main. */
static atomic_int gt_lp_stop, gt_lp_late, gt_lp_live;

static inline void gt_lp_malloc(void *arg) {
    (void)arg;
    unsigned s = 1;
    void *keep[64] = {0};
    for (unsigned n = 1; !atomic_load(&gt_lp_stop); n++) {
        s = s * 1103515245u + 12345u;
        int i = (int)((s >> 8) & 63);
        free(keep[i]);
        keep[i] = malloc(16 + ((s >> 16) & 1023));
#if defined(GORT_TSAN) || defined(__SANITIZE_THREAD__)
        if (n % 64 == 0)
            (void)gort_nanotime(); /* honours sysmon's request only */
#else
        (void)n;
#endif
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    atomic_fetch_sub(&gt_lp_live, 1);
}

static inline void gt_lp_caller(void *arg) {
    void (*fn)(void) = (void (*)(void))(uintptr_t)arg;
    while (!atomic_load(&gt_lp_stop))
        fn();
    atomic_fetch_sub(&gt_lp_live, 1);
}

/* Ends the loops if main has not woken in time (the test then fails). */
static inline void *gt_lp_watch(void *arg) {
    (void)arg;
    int64_t dl = now_ns() + tmo(1);
    while (!atomic_load(&gt_lp_stop) && now_ns() < dl)
        usleep(1000);
    if (!atomic_load(&gt_lp_stop)) {
        atomic_store(&gt_lp_late, 1);
        atomic_store(&gt_lp_stop, 1);
    }
    return NULL;
}

static inline int gt_lp_main(void *arg) {
    atomic_store(&gt_lp_stop, 0);
    atomic_store(&gt_lp_late, 0);
    atomic_store(&gt_lp_live, 4);
    pthread_t w;
    ASSERT_EQ(pthread_create(&w, NULL, gt_lp_watch, NULL), 0);
    for (int i = 0; i < 3; i++)
        go(gt_lp_malloc, NULL);
    go(gt_lp_caller, arg);
    gort_sleep(20 * GT_MS);
    atomic_store(&gt_lp_stop, 1);
    gort_syscall_enter();
    pthread_join(w, NULL);
    gort_syscall_exit();
    WAIT_UNTIL(atomic_load(&gt_lp_live) == 0, 10, "the loops to end");
    if (atomic_load(&gt_lp_late))
        GT_FAIL("at GOMAXPROCS=%d main's 20 ms sleep had not ended after %.1f s",
                gort_gomaxprocs(0), 1.0 * gt_scale());
    return 0;
}

static inline void gt_loop_lets_timers_fire(void (*fn)(void)) {
    if (RUNNING_ON_VALGRIND)
        GT_SKIP("valgrind runs one thread at a time and delivers the preemption signal late: "
                "the malloc loops starve the run (the sanitizer builds run it)");
    int procs = gort_gomaxprocs(0);
    run(gt_lp_main, (void *)(uintptr_t)fn);
    (void)gort_gomaxprocs(1); /* the next run's */
    run(gt_lp_main, (void *)(uintptr_t)fn);
    (void)gort_gomaxprocs(procs);
}

#endif /* GT_GORT_H */
