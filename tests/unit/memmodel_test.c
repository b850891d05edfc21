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
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/* ---- the non-blocking forms: a gort_chan_trysend that succeeds is a send
 * and a gort_chan_tryrecv that succeeds a receive, with their edges.  Odd
 * rounds go through a buffered channel, try forms on both sides; even
 * rounds through an unbuffered one, where the trysend succeeds once the
 * receiver is blocked in gort_chan_recv. */

typedef struct tryset {
    gort_chan *buf, *unbuf, *ack;
    gort_waitgroup done; /* the sender's calls are over: the channels may go */
} tryset;

static void trysend_side(void *arg) {
    tryset *t = arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        while (!gort_chan_trysend(k % 2 ? t->buf : t->unbuf, &k))
            gort_yield();
        long a;
        bool ok = false;
        while (!gort_chan_tryrecv(t->ack, &a, &ok)) /* the receiver is done reading */
            gort_yield();
        ASSERT_TRUE(ok);
    }
    gort_wg_done(&t->done);
}

static int try_main(void *arg) {
    (void)arg;
    tryset t = {gort_chan_make(sizeof(long), 1), gort_chan_make(sizeof(long), 0),
                gort_chan_make(sizeof(long), 1), GORT_WAITGROUP_INIT};
    gort_wg_add(&t.done, 1);
    ASSERT_EQ(gort_go(trysend_side, &t), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        long v = 0;
        bool ok = false;
        if (k % 2) {
            while (!gort_chan_tryrecv(t.buf, &v, &ok))
                gort_yield();
            ASSERT_TRUE(ok);
        } else {
            ASSERT_TRUE(gort_chan_recv(t.unbuf, &v));
        }
        ASSERT_EQ(v, k);
        check(k);
        /* Empty: the sender took the last ack before it sent k. */
        ASSERT_TRUE(gort_chan_trysend(t.ack, &k));
    }
    gort_wg_wait(&t.done);
    gort_chan_free(t.buf);
    gort_chan_free(t.unbuf);
    gort_chan_free(t.ack);
    return 0;
}

TEST(chan_trysend_before_tryrecv) {
    run_main(try_main);
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

/* ---- a timer's channel: gort_timer_reset happens before the send of the
 * time it arms, and that send before the receive.  The timer and its
 * reader exist before the rounds; each round's payload is written after
 * the reader has the timer, and reaches it only through the reset. */

static gort_timer *tc_timer;
static gort_chan *tc_ack;

static void tc_reader(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS; k++) {
        int64_t when;
        ASSERT_TRUE(gort_chan_recv(gort_timer_chan(tc_timer), &when));
        check(k);
        gort_chan_send(tc_ack, &k);
    }
}

static int timer_chan_main(void *arg) {
    (void)arg;
    tc_timer = gort_timer_new(tmo(3600));
    ASSERT_NOT_NULL(tc_timer);
    ASSERT_TRUE(gort_timer_stop(tc_timer));
    tc_ack = gort_chan_make(sizeof(long), 0);
    ASSERT_EQ(gort_go(tc_reader, NULL), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        ASSERT_FALSE(gort_timer_reset(tc_timer, 50 * 1000)); /* stopped, or fired and drained */
        long a;
        ASSERT_TRUE(gort_chan_recv(tc_ack, &a));
    }
    gort_timer_free(tc_timer);
    gort_chan_free(tc_ack);
    return 0;
}

TEST(timer_reset_before_chan_recv) {
    run_main(timer_chan_main);
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

/* Until the reader is parked on its fd (the edge under test runs the
 * other way: from the closer or the deadline's setter to the reader). */
static void wait_reader_parked(void) {
    int64_t dl = gort_nanotime() + tmo(10);
    while (gort__export_netpoll_waiters() == 0) {
        ASSERT_TRUE(gort_nanotime() < dl);
        gort_yield();
    }
}

static int poller_unblock_main(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS / 10; k++) {
        int p[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p), 0);
        unblock_arg u = {p[0], gort_chan_make(sizeof(ssize_t), 0), k, k % 2 == 0};
        ASSERT_EQ(gort_go(blocked_reader, &u), 0);
        wait_reader_parked();
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

/* ---- a thread outside the runtime has the edges of a goroutine: its
 * channel send before a goroutine's receive and back, and a gort_mutex
 * that it and a goroutine take in turns. */

static gort_chan *ft_c, *ft_ack;
static gort_mutex ft_mu = GORT_MUTEX_INIT;
static long ft_count = 2L * ROUNDS; /* plain, under ft_mu; the payload's k when it starts */
static gort_waitgroup ft_wg = GORT_WAITGROUP_INIT;

/* One side of the mutex phase: either side's unlock before the other's lock. */
static void ft_mutex_rounds(void) {
    for (int i = 0; i < ROUNDS; i++) {
        gort_mutex_lock(&ft_mu);
        check(ft_count);
        ft_count++;
        fill(ft_count);
        gort_mutex_unlock(&ft_mu);
    }
}

static void *ft_thread(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS; k++) { /* thread -> goroutine */
        fill(k);
        gort_chan_send(ft_c, &k);
        long a;
        ASSERT_TRUE(gort_chan_recv(ft_ack, &a));
    }
    for (long k = 1; k <= ROUNDS; k++) { /* goroutine -> thread */
        long v;
        ASSERT_TRUE(gort_chan_recv(ft_c, &v));
        ASSERT_EQ(v, k);
        check(k + ROUNDS);
        gort_chan_send(ft_ack, &v);
    }
    ft_mutex_rounds();
    gort_wg_done(&ft_wg);
    return NULL;
}

static int foreign_main(void *arg) {
    (void)arg;
    ft_c = gort_chan_make(sizeof(long), 0);
    ft_ack = gort_chan_make(sizeof(long), 0);
    gort_wg_add(&ft_wg, 1);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, ft_thread, NULL), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        long v;
        ASSERT_TRUE(gort_chan_recv(ft_c, &v));
        ASSERT_EQ(v, k);
        check(k);
        gort_chan_send(ft_ack, &v);
    }
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k + ROUNDS);
        gort_chan_send(ft_c, &k);
        long a;
        ASSERT_TRUE(gort_chan_recv(ft_ack, &a));
    }
    ft_mutex_rounds();
    gort_wg_wait(&ft_wg); /* the thread's Done: its last unlock is over */
    ASSERT_EQ(ft_count, 4L * ROUNDS);
    check(ft_count);
    gort_syscall_enter(); /* the thread is exiting: a short block */
    ASSERT_EQ(pthread_join(th, NULL), 0);
    gort_syscall_exit();
    gort_chan_free(ft_c);
    gort_chan_free(ft_ack);
    return 0;
}

TEST(foreign_thread_edges) {
    run_main(foreign_main);
}

/* ---- gort_go_copy: the copy is made before gort_go_copy returns (the
 * caller may overwrite its block at once), and the call happens before
 * the goroutine begins. */

typedef struct copyblk {
    long k;
    long words[WORDS];
} copyblk;

static gort_waitgroup copy_wg = GORT_WAITGROUP_INIT;

static void copy_child(void *arg) {
    const copyblk *b = arg;
    for (int i = 0; i < WORDS; i++)
        ASSERT_EQ(b->words[i], b->k * WORDS + i);
    check(b->k);
    gort_wg_done(&copy_wg);
}

static int go_copy_main(void *arg) {
    (void)arg;
    copyblk blk;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        blk.k = k;
        for (int i = 0; i < WORDS; i++)
            blk.words[i] = k * WORDS + i;
        gort_wg_add(&copy_wg, 1);
        ASSERT_EQ(gort_go_copy(copy_child, &blk, sizeof blk), 0);
        memset(&blk, 0xff, sizeof blk); /* the child reads its copy */
        gort_wg_wait(&copy_wg);
    }
    return 0;
}

TEST(go_copy_copies_before_return) {
    run_main(go_copy_main);
}

/* ---- errgroup: gort_errgroup_go (go_copy, try_go) happens before the
 * function begins, and every function's return before gort_errgroup_wait
 * returns; with a context, the first function to fail returns before the
 * group's context is cancelled.  gort_wg_go: the call before fn begins,
 * fn's return before the gort_wg_wait it releases returns. */

enum { EG_N = 6 };
static long eg_k;           /* plain: written before the group's calls */
static long eg_slots[EG_N]; /* plain: one per function, read after wait */
static long eg_failed;      /* plain: written by the failing function */
static gort_ctx *eg_ctx;    /* the group's context, set before the calls */
static gort_waitgroup eg_wg = GORT_WAITGROUP_INIT;

static int eg_fill(intptr_t i) {
    check(eg_k);
    eg_slots[i] = eg_k * EG_N + i;
    return 0;
}

static int eg_fn(void *arg) {
    return eg_fill((intptr_t)arg);
}

static int eg_fn_copy(void *arg) {
    return eg_fill(*(const intptr_t *)arg);
}

static int eg_fail(void *arg) {
    eg_failed = (long)(intptr_t)arg;
    return -EIO;
}

/* Waits for the group's context: eg_fail's error cancels it (wait would
 * too, but only once this function has returned). */
static int eg_watch(void *arg) {
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(eg_ctx), NULL));
    ASSERT_EQ(eg_failed, (long)(intptr_t)arg);
    return 0;
}

static void wg_go_fn(void *arg) {
    (void)eg_fill((intptr_t)arg);
}

static void eg_check_slots(long k) {
    for (int i = 0; i < EG_N; i++) {
        ASSERT_EQ(eg_slots[i], k * EG_N + i);
        eg_slots[i] = 0;
    }
}

static int errgroup_main(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS / 10; k++) {
        eg_k = k;
        fill(k);
        gort_errgroup *g = gort_errgroup_with_context(gort_ctx_background(), &eg_ctx);
        ASSERT_NOT_NULL(g);
        if (k % 2 == 0)
            gort_errgroup_set_limit(g, 3); /* go waits for a slot now and then */
        ASSERT_EQ(gort_errgroup_go(g, eg_watch, (void *)(intptr_t)k), 0);
        for (intptr_t i = 0; i < EG_N; i++) {
            if (i % 3 == 0)
                ASSERT_EQ(gort_errgroup_go(g, eg_fn, (void *)i), 0);
            else if (i % 3 == 1)
                ASSERT_EQ(gort_errgroup_go_copy(g, eg_fn_copy, &i, sizeof i), 0);
            else {
                int r;
                while ((r = gort_errgroup_try_go(g, eg_fn, (void *)i)) == -EAGAIN)
                    gort_yield(); /* no free slot yet */
                ASSERT_EQ(r, 0);
            }
        }
        ASSERT_EQ(gort_errgroup_go(g, eg_fail, (void *)(intptr_t)k), 0);
        ASSERT_EQ(gort_errgroup_wait(g), -EIO);
        eg_check_slots(k);
        ASSERT_EQ(eg_failed, k);
        gort_errgroup_free(g);

        eg_k = k + ROUNDS;
        fill(k + ROUNDS);
        for (intptr_t i = 0; i < EG_N; i++)
            ASSERT_EQ(gort_wg_go(&eg_wg, wg_go_fn, (void *)i), 0);
        gort_wg_wait(&eg_wg);
        eg_check_slots(k + ROUNDS);
    }
    return 0;
}

TEST(errgroup_go_before_fn_before_wait) {
    run_main(errgroup_main);
}

/* ---- context: the cancel of a context (gort_ctx_cancel, its parent's
 * cancel, or gort_ctx_free of the parent) happens before a receive from its
 * done channel that returns because the channel is closed, and before a
 * gort_ctx_err that returns non-zero.  The watcher gets each round's
 * context before the payload is written. */

static gort_chan *ctx_pass, *ctx_ack;

static void ctx_watcher(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS; k++) {
        gort_ctx *c;
        ASSERT_TRUE(gort_chan_recv(ctx_pass, &c));
        if (k % 4 == 3) {
            while (gort_ctx_err(c) == 0)
                gort_yield();
            ASSERT_EQ(gort_ctx_err(c), -ECANCELED);
        } else {
            ASSERT_FALSE(gort_chan_recv(gort_ctx_done(c), NULL));
        }
        check(k);
        gort_chan_send(ctx_ack, &k);
    }
}

static int ctx_main(void *arg) {
    (void)arg;
    ctx_pass = gort_chan_make(sizeof(gort_ctx *), 0);
    ctx_ack = gort_chan_make(sizeof(long), 0);
    ASSERT_EQ(gort_go(ctx_watcher, NULL), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        gort_ctx *parent = gort_ctx_with_cancel(gort_ctx_background());
        ASSERT_NOT_NULL(parent);
        gort_ctx *c = gort_ctx_with_cancel(parent);
        ASSERT_NOT_NULL(c);
        gort_chan_send(ctx_pass, &c); /* before the payload: not the edge checked */
        fill(k);
        if (k % 4 == 1) {
            gort_ctx_cancel(parent); /* propagated to c */
        } else if (k % 4 == 2) {
            gort_ctx_free(parent); /* cancels; c stays valid until freed */
            parent = NULL;
        } else {
            gort_ctx_cancel(c); /* seen through done (0) or gort_ctx_err (3) */
        }
        long a;
        ASSERT_TRUE(gort_chan_recv(ctx_ack, &a));
        gort_ctx_free(c);
        gort_ctx_free(parent);
    }
    gort_chan_free(ctx_pass);
    gort_chan_free(ctx_ack);
    return 0;
}

TEST(ctx_cancel_before_done_recv) {
    run_main(ctx_main);
}

/* ---- finalizers: gort_set_finalizer(obj, fn) happens before fn(obj).
 * Each round's object is made, filled and given its finalizer by a
 * goroutine that then exits, and the finalizer checks the object and the
 * payload.  The runtime's own synchronisation (the maker's exit, the
 * collector's stop of the world) orders the maker before the finalizer
 * too, so ThreadSanitizer would hardly report a missing edge here: this
 * case checks mostly by value. */

typedef struct finobj {
    long k;
    long words[WORDS];
} finobj;

static gort_chan *fin_done;

static void fin_fn(void *p) {
    const finobj *o = p;
    for (int i = 0; i < WORDS; i++)
        ASSERT_EQ(o->words[i], o->k * WORDS + i);
    check(o->k);
    long k = o->k;
    gort_chan_send(fin_done, &k);
}

static void fin_maker(void *arg) {
    long k = (long)(intptr_t)arg;
    finobj *o = gort_new(sizeof *o);
    o->k = k;
    for (int i = 0; i < WORDS; i++)
        o->words[i] = k * WORDS + i;
    fill(k);
    gort_set_finalizer(o, fin_fn);
}

static int finalizer_main(void *arg) {
    (void)arg;
    fin_done = gort_chan_make(sizeof(long), 1);
    for (long k = 1; k <= ROUNDS / 10; k++) {
        ASSERT_EQ(gort_go(fin_maker, (void *)(intptr_t)k), 0);
        /* Collect until the finalizer has run (the maker may not have run
         * yet, and a stale copy of the pointer may keep the object a while). */
        int64_t dl = gort_nanotime() + tmo(10);
        long got = 0;
        for (;;) {
            gort_select_case cs[1] = {{fin_done, GORT_RECV, &got, false}};
            if (gort_select_timeout(cs, 1, 2 * GT_MS) == 0)
                break;
            ASSERT_TRUE(gort_nanotime() < dl);
            gort_gc();
        }
        ASSERT_EQ(got, k);
    }
    gort_chan_free(fin_done);
    return 0;
}

TEST(set_finalizer_before_fn) {
    run_main(finalizer_main);
}

/* ---- synctest: what each other goroutine of the bubble did before it
 * became durably blocked (or exited) happens before gort_synctest_wait
 * returns; every goroutine of the bubble exits before gort_synctest_run
 * returns. */

enum { ST_BUBBLES = 10, ST_FINAL = 1000000 };
static gort_chan *st_release; /* the bubble's: a receive on it blocks durably */

static void st_worker(void *arg) {
    long k = (long)(intptr_t)arg;
    fill(k);
    if (k % 2) /* odd: blocked until released; even: exits */
        ASSERT_TRUE(gort_chan_recv(st_release, NULL));
}

static void st_last(void *arg) {
    fill((long)(intptr_t)arg);
}

static void st_body(void *arg) {
    long b = (long)(intptr_t)arg;
    st_release = gort_chan_make(0, 0);
    for (long k = 1; k <= ROUNDS / ST_BUBBLES; k++) {
        ASSERT_EQ(gort_go(st_worker, (void *)(intptr_t)k), 0);
        gort_synctest_wait();
        check(k);
        char z = 0;
        if (k % 2)
            gort_chan_send(st_release, &z);
    }
    gort_chan_free(st_release);
    /* May still run once this goroutine, the bubble's main, has returned:
     * gort_synctest_run waits for it. */
    ASSERT_EQ(gort_go(st_last, (void *)(intptr_t)(ST_FINAL + b)), 0);
}

static int synctest_main(void *arg) {
    (void)arg;
    for (long b = 0; b < ST_BUBBLES; b++) {
        ASSERT_EQ(gort_synctest_run(st_body, (void *)(intptr_t)b), 0);
        check(ST_FINAL + b);
    }
    return 0;
}

TEST(synctest_wait_and_run_return) {
    run_main(synctest_main);
}

/* ---- connections: the edges of the fd calls they wrap.  A
 * gort_conn_write happens before the gort_conn_read that returns its
 * bytes; gort_conn_close happens before a call blocked on the connection
 * returns -EBADF; an expiring gort_conn_set_deadline before it returns
 * -ETIMEDOUT. */

static gort_conn conns[2];
static gort_waitgroup conn_wg = GORT_WAITGROUP_INIT;

/* Both ends of a socketpair as connections. */
static void conn_pair(gort_conn c[2]) {
    int p[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
    ASSERT_EQ(gort_conn_adopt(&c[0], p[0]), 0);
    ASSERT_EQ(gort_conn_adopt(&c[1], p[1]), 0);
}

static void conn_writer(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        char b = (char)k;
        ASSERT_EQ(gort_conn_write(conns[0], &b, 1), 1);
        ASSERT_EQ(gort_conn_read(conns[0], &b, 1), 1); /* the ack: the reader is done */
    }
    gort_wg_done(&conn_wg);
}

static int conn_rw_main(void *arg) {
    (void)arg;
    conn_pair(conns);
    gort_wg_add(&conn_wg, 1);
    ASSERT_EQ(gort_go(conn_writer, NULL), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        char b;
        ASSERT_EQ(gort_conn_read(conns[1], &b, 1), 1);
        ASSERT_EQ(b, (char)k);
        check(k);
        ASSERT_EQ(gort_conn_write(conns[1], &b, 1), 1);
    }
    gort_wg_wait(&conn_wg);
    ASSERT_EQ(gort_conn_close(conns[0]), 0);
    ASSERT_EQ(gort_conn_close(conns[1]), 0);
    return 0;
}

TEST(conn_write_before_read) {
    run_main(conn_rw_main);
}

typedef struct conn_unblock {
    gort_conn c;
    gort_chan *done;
    long k;
    bool deadline; /* expire a deadline instead of closing */
} conn_unblock;

static void conn_blocked_reader(void *arg) {
    conn_unblock *u = arg;
    char b;
    ssize_t r = gort_conn_read(u->c, &b, 1);
    ASSERT_EQ(r, u->deadline ? -ETIMEDOUT : -EBADF);
    check(u->k);
    gort_chan_send(u->done, &r);
}

static int conn_unblock_main(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS / 10; k++) {
        gort_conn c[2];
        conn_pair(c);
        conn_unblock u = {c[0], gort_chan_make(sizeof(ssize_t), 0), k, k % 2 == 0};
        ASSERT_EQ(gort_go(conn_blocked_reader, &u), 0);
        wait_reader_parked();
        fill(k);
        if (u.deadline)
            ASSERT_EQ(gort_conn_set_deadline(c[0], gort_nanotime() - 1, 0), 0);
        else
            ASSERT_EQ(gort_conn_close(c[0]), 0);
        ssize_t r;
        ASSERT_TRUE(gort_chan_recv(u.done, &r));
        gort_chan_free(u.done);
        if (u.deadline)
            ASSERT_EQ(gort_conn_close(c[0]), 0);
        ASSERT_EQ(gort_conn_close(c[1]), 0);
    }
    return 0;
}

TEST(conn_close_and_deadline_before_wakeup) {
    run_main(conn_unblock_main);
}

/* ---- signals: raise(3) of a notified signal (its handler runs on the
 * raising thread before raise returns) happens before the receive of the
 * delivery that carries it; every delivery to a channel happens before
 * gort_signal_stop of that channel returns, so that it may then be freed.
 * The raiser is a thread outside the runtime: no goroutine switch on its
 * thread orders it before the signal loop or the receiver. */

static gort_chan *sig_c, *sig_ack;

static void *sig_raiser(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS; k++) {
        fill(k);
        ASSERT_EQ(raise(SIGUSR1), 0);
        long a;
        ASSERT_TRUE(gort_chan_recv(sig_ack, &a)); /* the receiver is done reading */
    }
    return NULL;
}

static int signal_main(void *arg) {
    (void)arg;
    int s = SIGUSR1;
    /* Capacity 1, drained every round: no delivery is dropped. */
    sig_c = gort_chan_make(sizeof(int), 1);
    sig_ack = gort_chan_make(sizeof(long), 0);
    ASSERT_EQ(gort_signal_notify(sig_c, &s, 1), 0);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, sig_raiser, NULL), 0);
    for (long k = 1; k <= ROUNDS; k++) {
        int got = 0;
        ASSERT_TRUE(gort_chan_recv(sig_c, &got));
        ASSERT_EQ(got, SIGUSR1);
        check(k);
        gort_chan_send(sig_ack, &k);
    }
    gort_syscall_enter(); /* the thread is exiting: a short block */
    ASSERT_EQ(pthread_join(th, NULL), 0);
    gort_syscall_exit();
    gort_signal_stop(sig_c);
    gort_chan_free(sig_c);
    gort_chan_free(sig_ack);
    /* A full channel: the signal loop's delivery fails without the
     * channel's lock, and only the stop orders it before the free. */
    for (int i = 0; i < ROUNDS / 10; i++) {
        gort_chan *c = gort_chan_make(sizeof(int), 1);
        int v = 0;
        gort_chan_send(c, &v);
        ASSERT_EQ(gort_signal_notify(c, &s, 1), 0);
        ASSERT_EQ(raise(SIGUSR1), 0);
        if (i % 2)
            gort_yield(); /* now and then, let the loop run first */
        gort_signal_stop(c);
        ASSERT_TRUE(gort_chan_recv(c, &v));
        ASSERT_EQ(v, 0);
        gort_chan_free(c);
    }
    return 0;
}

TEST(signal_raise_before_recv_and_stop) {
    run_main(signal_main);
}

/* ---- processes: what the parent wrote to a file before
 * gort_process_spawn is there for the child; argv is the child's before
 * the spawn returns; what the child wrote before it exited is there once
 * gort_process_wait returns.  (Kernel objects: the check is by value.) */

static int process_main(void *arg) {
    (void)arg;
    for (long k = 1; k <= ROUNDS / 10; k++) {
        int in = memfd_create("memmodel-in", MFD_CLOEXEC);
        int out = memfd_create("memmodel-out", MFD_CLOEXEC);
        ASSERT_GE(in, 0);
        ASSERT_GE(out, 0);
        char text[32], argk[32], want[64], got[64];
        int n = snprintf(text, sizeof text, "in %ld\n", k);
        ASSERT_EQ(pwrite(in, text, (size_t)n, 0), n);
        snprintf(argk, sizeof argk, "arg %ld\n", k);
        int m = snprintf(want, sizeof want, "%s%s", argk, text);
        char *argv[] = {"sh", "-c", "printf %s \"$1\"; cat", "sh", argk, NULL};
        int fds[3] = {in, out, -1};
        pid_t pid;
        ASSERT_EQ(gort_process_spawn(&pid, "/bin/sh", argv, NULL, fds), 0);
        memset(argk, 'x', sizeof argk - 1); /* the child has its argv */
        int st = 0;
        ASSERT_EQ(gort_process_wait(pid, &st), 0);
        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        ssize_t r = pread(out, got, sizeof got - 1, 0);
        ASSERT_EQ(r, m);
        got[r] = '\0';
        ASSERT_STREQ(got, want);
        close(in);
        close(out);
    }
    return 0;
}

TEST(process_spawn_and_wait) {
    run_main(process_main);
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
