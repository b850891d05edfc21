/*
 * memmodel_test.c - the happens-before edges of docs/MEMORY_MODEL.md, one
 * case per edge that no other test checks on its own.
 *
 * Each case writes a payload with plain (non-atomic) stores on one side of
 * the edge and reads it with plain loads on the other, many times, with
 * goroutines on several Ps.  Under ThreadSanitizer (the tsan preset) a
 * missing edge is a data race, which ends the test (halt_on_error=1); in
 * the other presets the payload is checked field by field, so a reordered
 * or stale read fails the assertion.  Nothing else orders the two sides:
 * where a case needs the writer to wait before the next round, it waits
 * through an edge that runs the other way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"

#include "export_test.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

enum { ROUNDS = 300, WORDS = 8 };

/* The payload: written plainly, checked plainly. */
static long payload[WORDS];

static void fill(long k) {
    for (int i = 0; i < WORDS; i++)
        payload[i] = k * WORDS + i;
}

static void check(long k) {
    for (int i = 0; i < WORDS; i++)
        ASSERT_EQ(payload[i], k * WORDS + i);
}

static void run_main(int (*fn)(void *)) {
    gort_gomaxprocs(2); /* two Ps even on one CPU: the sides run in parallel */
    run(fn, NULL);
}

/* ---- goroutine start: gort_go happens before the goroutine begins. */

static gort_waitgroup start_wg = GORT_WAITGROUP_INIT;

static void start_child(void *arg) {
    check((long)(intptr_t)arg);
    gort_wg_done(&start_wg);
}

static int go_start_main(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        gort_wg_add(&start_wg, 1);
        ASSERT_EQ(gort_go(start_child, (void *)(intptr_t)k), 0);
        gort_wg_wait(&start_wg); /* Done -> Wait: the child's reads are over */
    }
    return 0;
}

TEST(go_start) {
    run_main(go_start_main);
}

/* ---- a send happens before the corresponding receive completes
 * (buffered and unbuffered), and, unbuffered, a receive happens before the
 * corresponding send completes. */

typedef struct {
    gort_chan *c, *ack;
} pair;

static void send_side(void *arg) {
    pair *p = arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        gort_chan_send(p->c, &k);
        long a;
        ASSERT_TRUE(gort_chan_recv(p->ack, &a)); /* the receiver is done reading */
    }
}

static int send_recv(size_t cap) {
    pair p = {gort_chan_make(sizeof(long), cap), gort_chan_make(sizeof(long), 0)};
    ASSERT_EQ(gort_go(send_side, &p), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        long v;
        ASSERT_TRUE(gort_chan_recv(p.c, &v));
        ASSERT_EQ(v, k);
        check(k);
        gort_chan_send(p.ack, &k);
    }
    gort_chan_free(p.c);
    gort_chan_free(p.ack);
    return 0;
}

static int send_before_recv_unbuf_main(void *arg) {
    (void)arg;
    return send_recv(0);
}

static int send_before_recv_buf_main(void *arg) {
    (void)arg;
    return send_recv(4);
}

TEST(chan_send_before_recv_unbuffered) {
    run_main(send_before_recv_unbuf_main);
}

TEST(chan_send_before_recv_buffered) {
    run_main(send_before_recv_buf_main);
}

static void recv_side(void *arg) {
    pair *p = arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        long v;
        ASSERT_TRUE(gort_chan_recv(p->c, &v));
        ASSERT_TRUE(gort_chan_recv(p->ack, &v)); /* the sender is done reading */
    }
}

static int recv_before_send_main(void *arg) {
    (void)arg;
    pair p = {gort_chan_make(sizeof(long), 0), gort_chan_make(sizeof(long), 0)};
    ASSERT_EQ(gort_go(recv_side, &p), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        gort_chan_send(p.c, &k); /* completes after the receive */
        check(k);
        gort_chan_send(p.ack, &k);
    }
    gort_chan_free(p.c);
    gort_chan_free(p.ack);
    return 0;
}

TEST(chan_recv_before_send_completes_unbuffered) {
    run_main(recv_before_send_main);
}

/* ---- on a channel of capacity C, the k-th receive happens before the
 * (k+C)-th send completes (a buffered channel as a counting semaphore). */

enum { CAP = 3 };

static void kth_recv_side(void *arg) {
    pair *p = arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        long v;
        ASSERT_TRUE(gort_chan_recv(p->c, &v)); /* the k-th receive */
        ASSERT_TRUE(gort_chan_recv(p->ack, &v));
    }
}

static int kth_recv_main(void *arg) {
    (void)arg;
    pair p = {gort_chan_make(sizeof(long), CAP), gort_chan_make(sizeof(long), 0)};
    for (long k = 1; k <= CAP; k++)
        gort_chan_send(p.c, &k); /* sends 1..C do not block */
    ASSERT_EQ(gort_go(kth_recv_side, &p), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        long v = k + CAP;
        gort_chan_send(p.c, &v); /* the (k+C)-th send: completes after receive k */
        check(k);
        gort_chan_send(p.ack, &k);
    }
    gort_chan_free(p.c);
    gort_chan_free(p.ack);
    return 0;
}

TEST(chan_kth_recv_before_k_plus_cap_send) {
    run_main(kth_recv_main);
}

/* ---- closing a channel happens before a receive that returns because the
 * channel is closed. */

static void close_side(void *arg) {
    gort_chan *c = arg;
    fill((long)gort_chan_cap(c) + 1000);
    gort_chan_close(c);
}

static int close_main(void *arg) {
    (void)arg;
    for (long k = 0; k < ROUNDS; k++) {
        gort_chan *c = gort_chan_make(sizeof(long), (size_t)(k % 3));
        ASSERT_EQ(gort_go(close_side, c), 0);
        long v = -1;
        ASSERT_FALSE(gort_chan_recv(c, &v)); /* zero value, closed */
        ASSERT_EQ(v, 0);
        check((long)gort_chan_cap(c) + 1000);
        gort_chan_free(c);
    }
    return 0;
}

TEST(chan_close_before_recv_of_zero) {
    run_main(close_main);
}

/* ---- select: a case that proceeds is a send or a receive, with their
 * edges. */

static void select_send_side(void *arg) {
    pair *p = arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        gort_select_case cs[2] = {{p->c, GORT_SEND, &k, false}, {NULL, GORT_RECV, NULL, false}};
        ASSERT_EQ(gort_select(cs, 2, true), 0);
        long a;
        ASSERT_TRUE(gort_chan_recv(p->ack, &a));
    }
}

static int select_main(void *arg) {
    (void)arg;
    pair p = {gort_chan_make(sizeof(long), 0), gort_chan_make(sizeof(long), 0)};
    gort_chan *never = gort_chan_make(sizeof(long), 0);
    ASSERT_EQ(gort_go(select_send_side, &p), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        long v = 0, w = 0;
        gort_select_case cs[2] = {{never, GORT_RECV, &w, false}, {p.c, GORT_RECV, &v, false}};
        ASSERT_EQ(gort_select(cs, 2, true), 1);
        ASSERT_EQ(v, k);
        check(k);
        gort_chan_send(p.ack, &k);
    }
    gort_chan_free(p.c);
    gort_chan_free(p.ack);
    gort_chan_free(never);
    return 0;
}

TEST(select_send_before_select_recv) {
    run_main(select_main);
}

/* ---- Mutex: the n-th unlock happens before the (n+1)-th lock returns;
 * RWMutex: an unlock before a later rlock, an runlock before a later lock. */

static gort_mutex mu = GORT_MUTEX_INIT;
static long counter; /* plain, under mu */
static gort_waitgroup mu_wg = GORT_WAITGROUP_INIT;

static void mutex_side(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS * 10; i++) {
        gort_mutex_lock(&mu);
        long c = counter;
        fill(c + 1);
        counter = c + 1;
        gort_mutex_unlock(&mu);
    }
    gort_wg_done(&mu_wg);
}

static int mutex_main(void *arg) {
    (void)arg;
    counter = 0;
    fill(0);
    gort_wg_add(&mu_wg, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(gort_go(mutex_side, NULL), 0);
    for (int i = 0; i < ROUNDS; i++) {
        gort_mutex_lock(&mu);
        check(counter);
        gort_mutex_unlock(&mu);
        gort_yield();
    }
    gort_wg_wait(&mu_wg);
    ASSERT_EQ(counter, 3L * ROUNDS * 10);
    check(counter);
    return 0;
}

TEST(mutex_unlock_before_lock) {
    run_main(mutex_main);
}

static gort_rwmutex rw = GORT_RWMUTEX_INIT;
static long version; /* plain, under rw */
static gort_waitgroup rw_wg = GORT_WAITGROUP_INIT;

static void rw_reader(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS * 3; i++) {
        gort_rwmutex_rlock(&rw);
        check(version);
        gort_rwmutex_runlock(&rw);
        if (i % 16 == 0)
            gort_yield();
    }
    gort_wg_done(&rw_wg);
}

static void rw_writer(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        gort_rwmutex_lock(&rw);
        check(version); /* the readers' runlocks happen before this lock */
        version++;
        fill(version);
        gort_rwmutex_unlock(&rw);
        gort_yield();
    }
    gort_wg_done(&rw_wg);
}

static int rwmutex_main(void *arg) {
    (void)arg;
    version = 0;
    fill(0);
    gort_wg_add(&rw_wg, 4);
    ASSERT_EQ(gort_go(rw_writer, NULL), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(gort_go(rw_reader, NULL), 0);
    gort_wg_wait(&rw_wg);
    ASSERT_EQ(version, (long)ROUNDS);
    return 0;
}

TEST(rwmutex_unlock_before_rlock) {
    run_main(rwmutex_main);
}

/* ---- Once: the return of fn happens before any gort_once_do returns. */

static gort_once once = GORT_ONCE_INIT;
static gort_waitgroup once_wg = GORT_WAITGROUP_INIT;

static void once_fn(void *arg) {
    (void)arg;
    gort_yield(); /* let the other callers arrive and wait */
    fill(42);
}

static void once_side(void *arg) {
    (void)arg;
    gort_once_do(&once, once_fn, NULL);
    check(42);
    gort_wg_done(&once_wg);
}

static int once_main(void *arg) {
    (void)arg;
    enum { N = 50 };
    gort_wg_add(&once_wg, N);
    for (int i = 0; i < N; i++)
        ASSERT_EQ(gort_go(once_side, NULL), 0);
    gort_wg_wait(&once_wg);
    check(42);
    return 0;
}

TEST(once_fn_before_do_returns) {
    run_main(once_main);
}

/* ---- WaitGroup: every Done happens before the Wait it releases returns. */

enum { WG_N = 64 };
static long slots[WG_N]; /* plain; one per goroutine */
static gort_waitgroup slot_wg = GORT_WAITGROUP_INIT;

static void slot_side(void *arg) {
    intptr_t i = (intptr_t)arg;
    slots[i] = (long)i * 7 + 1;
    gort_wg_done(&slot_wg);
}

static int wg_main(void *arg) {
    (void)arg;
    for (int round = 0; round < ROUNDS / 10; round++) {
        gort_wg_add(&slot_wg, WG_N);
        for (intptr_t i = 0; i < WG_N; i++)
            ASSERT_EQ(gort_go(slot_side, (void *)i), 0);
        gort_wg_wait(&slot_wg);
        for (int i = 0; i < WG_N; i++) {
            ASSERT_EQ(slots[i], (long)i * 7 + 1);
            slots[i] = 0;
        }
    }
    return 0;
}

TEST(waitgroup_done_before_wait_returns) {
    run_main(wg_main);
}

/* ---- Cond: Signal and Broadcast happen before the Wait they wake
 * returns (with the Cond's mutex re-locked, which orders it too). */

static gort_mutex cmu = GORT_MUTEX_INIT;
static gort_cond cv;
static long ready; /* plain, under cmu */
static gort_waitgroup cv_wg = GORT_WAITGROUP_INIT;

static void cond_waiter(void *arg) {
    long want = (long)(intptr_t)arg;
    gort_mutex_lock(&cmu);
    while (ready < want)
        gort_cond_wait(&cv);
    check(ready);
    gort_mutex_unlock(&cmu);
    gort_wg_done(&cv_wg);
}

static int cond_main(void *arg) {
    (void)arg;
    gort_cond_init(&cv, &cmu);
    ready = 0;
    for (long k = 1; k <= ROUNDS / 10; k++) {
        gort_wg_add(&cv_wg, 3);
        for (int i = 0; i < 3; i++)
            ASSERT_EQ(gort_go(cond_waiter, (void *)(intptr_t)k), 0);
        gort_yield();
        gort_mutex_lock(&cmu);
        fill(k);
        ready = k;
        if (k % 2)
            gort_cond_broadcast(&cv);
        else
            for (int i = 0; i < 3; i++)
                gort_cond_signal(&cv);
        gort_mutex_unlock(&cmu);
        gort_wg_wait(&cv_wg);
    }
    return 0;
}

TEST(cond_signal_before_wait_returns) {
    run_main(cond_main);
}

/* ---- Timers: gort_after_func (and gort_timer_reset of such a timer)
 * happens before fn starts; the send of a timer's channel happens before
 * the receive, as any send. */

static gort_waitgroup af_wg = GORT_WAITGROUP_INIT;
static long af_k; /* plain: written before after_func/reset, read by fn */

static void af_fn(void *arg) {
    (void)arg;
    check(af_k);
    gort_wg_done(&af_wg);
}

static int after_func_main(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS / 10; k++) {
        af_k = k;
        fill(k);
        gort_wg_add(&af_wg, 1);
        gort_timer *t = gort_after_func(100 * 1000, af_fn, NULL);
        ASSERT_NOT_NULL(t);
        gort_wg_wait(&af_wg);
        /* Again through Reset. */
        af_k = k + 1000;
        fill(k + 1000);
        gort_wg_add(&af_wg, 1);
        ASSERT_FALSE(gort_timer_reset(t, 100 * 1000));
        gort_wg_wait(&af_wg);
        gort_timer_free(t);
    }
    return 0;
}

TEST(after_func_before_fn) {
    run_main(after_func_main);
}

/* ---- The poller: a gort_write of data happens before the gort_read that
 * returns it; gort_close happens before a call in progress on the fd
 * returns -EBADF; an expiring deadline (gort_set_deadline) happens before
 * the blocked call returns -ETIMEDOUT.  (A call that starts after
 * gort_close uses a closed fd number: no edge, as with close(2).) */

static int sv[2];
static gort_waitgroup net_wg = GORT_WAITGROUP_INIT;

static void net_writer(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        char b = (char)k;
        ASSERT_EQ(gort_write(sv[0], &b, 1), 1);
        ASSERT_EQ(gort_read(sv[0], &b, 1), 1); /* the ack: the reader is done */
    }
    gort_wg_done(&net_wg);
}

static int poller_rw_main(void *arg) {
    (void)arg;
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    gort_wg_add(&net_wg, 1);
    ASSERT_EQ(gort_go(net_writer, NULL), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        char b;
        ASSERT_EQ(gort_read(sv[1], &b, 1), 1); /* parks in the poller, mostly */
        ASSERT_EQ(b, (char)k);
        check(k);
        ASSERT_EQ(gort_write(sv[1], &b, 1), 1);
    }
    gort_wg_wait(&net_wg);
    ASSERT_EQ(gort_close(sv[0]), 0);
    ASSERT_EQ(gort_close(sv[1]), 0);
    return 0;
}

TEST(poller_write_before_read) {
    run_main(poller_rw_main);
}

typedef struct {
    int fd;
    gort_chan *done;
    long k;
    bool deadline; /* expire a deadline instead of closing */
} unblock_arg;

static void blocked_reader(void *arg) {
    unblock_arg *u = arg;
    char b;
    ssize_t r = gort_read(u->fd, &b, 1);
    ASSERT_EQ(r, u->deadline ? -ETIMEDOUT : -EBADF);
    check(u->k);
    gort_chan_send(u->done, &r);
}

static int poller_unblock_main(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS / 10; k++) {
        int p[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p), 0);
        unblock_arg u = {p[0], gort_chan_make(sizeof(ssize_t), 0), k, k % 2 == 0};
        ASSERT_EQ(gort_go(blocked_reader, &u), 0);
        /* Until the reader is parked on the fd (the edge runs the other way). */
        int64_t dl = gort_nanotime() + tmo(10);
        while (gort__export_netpoll_waiters() == 0) {
            ASSERT_TRUE(gort_nanotime() < dl);
            gort_yield();
        }
        fill(k);
        if (u.deadline)
            ASSERT_EQ(gort_set_deadline(p[0], gort_nanotime() - 1, 0), 0);
        else
            ASSERT_EQ(gort_close(p[0]), 0);
        ssize_t r;
        ASSERT_TRUE(gort_chan_recv(u.done, &r));
        gort_chan_free(u.done);
        if (u.deadline)
            ASSERT_EQ(gort_close(p[0]), 0);
        ASSERT_EQ(gort_close(p[1]), 0);
    }
    return 0;
}

TEST(poller_close_and_deadline_before_wakeup) {
    run_main(poller_unblock_main);
}

/* ---- gort_main: the main goroutine's writes happen before gort_main
 * returns to its caller. */

static int main_writes(void *arg) {
    (void)arg;
    fill(777);
    return 0;
}

TEST(main_before_gort_main_returns) {
    run_main(main_writes);
    check(777);
}

GT_MAIN()
