/*
 * gt_gort.h - helpers shared by the tests that drive goroutines (channels,
 * select, sync, stress).  Include after gt.h and gort.h.  qlen() is
 * white-box (export_test.c): the goroutines queued on a channel.
 */
#ifndef GT_GORT_H
#define GT_GORT_H

#include <stdbool.h>
#include <stdint.h>

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

/* Sudogs queued on c's receive (send == false) or send queue. */
static inline int qlen(gort_chan *c, bool send) {
    return gort__export_chan_qlen(c, send);
}

#endif /* GT_GORT_H */
