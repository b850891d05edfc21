/*
 * gt_gort.h - helpers shared by the tests that drive goroutines (channels,
 * select, sync, stress, sockets).  Include after gt.h and gort.h.  qlen()
 * is white-box (export_test.c): the goroutines queued on a channel.
 */
#ifndef GT_GORT_H
#define GT_GORT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

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

#endif /* GT_GORT_H */
