/*
 * chan_test.c - channels (issue 3): make/len/cap/free, buffered and
 * unbuffered hand-off, close, nil channels, element size 0, the
 * non-blocking forms, FIFO order of blocked senders and receivers, channels
 * shared with threads outside the runtime, and recovering from the channel
 * panics.
 *
 * Every case runs in its own process and calls gort_main itself.  Waits are
 * bounded (scaled by gt_scale()) and fail with a message, never hang.  Some
 * cases look inside a channel (the white-box helper qlen counts the sudogs
 * queued on it) to know that goroutines are really blocked before going on,
 * so that the order of blocking is deterministic.
 *
 * The panics themselves (exit status 2 and Go's message) are checked by
 * tests/crash/chan_*.c; the recover_ cases here need panic.c's
 * gort_call/gort_defer/gort_recover (issue 5).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"

#include "gt_gort.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * make, len, cap, free
 * ------------------------------------------------------------------------ */

static int make_len_cap_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int64_t), 5);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(gort_chan_len(c), 0);
    ASSERT_EQ(gort_chan_cap(c), 5);
    for (int64_t i = 0; i < 3; i++)
        gort_chan_send(c, &i);
    ASSERT_EQ(gort_chan_len(c), 3);
    int64_t v;
    ASSERT_TRUE(gort_chan_recv(c, &v));
    ASSERT_EQ(gort_chan_len(c), 2);
    gort_chan_free(c);

    gort_chan *u = gort_chan_make(sizeof(int64_t), 0);
    ASSERT_NOT_NULL(u);
    ASSERT_EQ(gort_chan_len(u), 0);
    ASSERT_EQ(gort_chan_cap(u), 0);
    gort_chan_free(u);

    ASSERT_EQ(gort_chan_len(NULL), 0);
    ASSERT_EQ(gort_chan_cap(NULL), 0);
    gort_chan_free(NULL); /* no-op */
    return 0;
}

TEST(make_len_cap) {
    run(make_len_cap_main, NULL);
}

/* make's limits work without the runtime too (no gort call blocks). */
TEST(make_limits) {
    ASSERT_NULL(gort_chan_make(65536, 1)); /* Go: element size must be < 64 KiB */
    gort_chan *c = gort_chan_make(65535, 2);
    ASSERT_NOT_NULL(c);
    gort_chan_free(c);
    ASSERT_NULL(gort_chan_make(8, SIZE_MAX / 4)); /* overflows / out of memory */
    ASSERT_NULL(gort_chan_make(8, SIZE_MAX));
    c = gort_chan_make(0, SIZE_MAX); /* no buffer memory needed */
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(gort_chan_cap(c), SIZE_MAX);
    gort_chan_free(c);
}

/* ------------------------------------------------------------------------
 * Buffered and unbuffered transfer
 * ------------------------------------------------------------------------ */

static int buffered_fifo_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int64_t), 100);
    /* Wrap around the ring several times. */
    for (int round = 0; round < 5; round++) {
        for (int64_t i = 0; i < 70; i++) {
            int64_t v = round * 1000 + i;
            gort_chan_send(c, &v);
        }
        for (int64_t i = 0; i < 70; i++) {
            int64_t v = -1;
            ASSERT_TRUE(gort_chan_recv(c, &v));
            ASSERT_EQ(v, round * 1000 + i);
        }
    }
    ASSERT_EQ(gort_chan_len(c), 0);
    gort_chan_free(c);
    return 0;
}

TEST(buffered_fifo) {
    run(buffered_fifo_main, NULL);
}

struct seq_arg {
    gort_chan *c;
    int64_t n;
    gort_waitgroup wg;
};

static void seq_sender(void *p) {
    struct seq_arg *a = p;
    for (int64_t i = 0; i < a->n; i++)
        gort_chan_send(a->c, &i);
    gort_chan_close(a->c);
    gort_wg_done(&a->wg);
}

/* Values arrive in order, then close ends the stream. */
static int handoff_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    struct seq_arg a = {.c = gort_chan_make(sizeof(int64_t), cap), .n = 20000};
    gort_wg_add(&a.wg, 1);
    go(seq_sender, &a);
    int64_t want = 0, v;
    while (gort_chan_recv(a.c, &v)) {
        ASSERT_EQ(v, want);
        want++;
    }
    ASSERT_EQ(want, a.n);
    gort_wg_wait(&a.wg);
    gort_chan_free(a.c);
    return 0;
}

TEST(unbuffered_handoff) {
    run(handoff_main, (void *)(uintptr_t)0);
}

TEST(buffered_handoff) {
    run(handoff_main, (void *)(uintptr_t)7);
}

TEST(unbuffered_handoff_p1) {
    gort_gomaxprocs(1);
    run(handoff_main, (void *)(uintptr_t)0);
}

struct big {
    unsigned char b[1000];
};

static void big_fill(struct big *x, int seed) {
    for (size_t i = 0; i < sizeof x->b; i++)
        x->b[i] = (unsigned char)(seed * 31 + (int)i);
}

static bool big_check(const struct big *x, int seed) {
    for (size_t i = 0; i < sizeof x->b; i++)
        if (x->b[i] != (unsigned char)(seed * 31 + (int)i))
            return false;
    return true;
}

struct big_arg {
    gort_chan *c;
    atomic_int stage;
};

static void big_receiver(void *p) {
    struct big_arg *a = p;
    struct big x;
    memset(&x, 0, sizeof x);
    ASSERT_TRUE(gort_chan_recv(a->c, &x)); /* blocks first: direct hand-off to us */
    ASSERT_TRUE(big_check(&x, 1));
    atomic_store(&a->stage, 1);
}

static void big_sender(void *p) {
    struct big_arg *a = p;
    struct big x;
    big_fill(&x, 2);
    gort_chan_send(a->c, &x); /* blocks first: the receiver copies from us */
    memset(&x, 0, sizeof x);  /* after the send returns, our copy is ours again */
    atomic_store(&a->stage, 2);
}

/* A 1000-byte element through both direct hand-offs (into a parked
 * receiver's stack, out of a parked sender's stack) and through a buffer
 * that is full when a sender blocks. */
static int large_elem_main(void *arg) {
    (void)arg;
    struct big_arg a = {.c = gort_chan_make(sizeof(struct big), 0)};
    struct big x;
    go(big_receiver, &a);
    WAIT_UNTIL(qlen(a.c, false) == 1, 5, "the receiver to block");
    big_fill(&x, 1);
    gort_chan_send(a.c, &x);
    WAIT_UNTIL(atomic_load(&a.stage) == 1, 5, "the receiver to check");

    go(big_sender, &a);
    WAIT_UNTIL(qlen(a.c, true) == 1, 5, "the sender to block");
    memset(&x, 0, sizeof x);
    ASSERT_TRUE(gort_chan_recv(a.c, &x));
    ASSERT_TRUE(big_check(&x, 2));
    WAIT_UNTIL(atomic_load(&a.stage) == 2, 5, "the sender to return");
    gort_chan_free(a.c);

    /* Buffered, cap 2, full: a third sender blocks; receiving the head
     * moves its element to the tail. */
    gort_chan *b = gort_chan_make(sizeof(struct big), 2);
    for (int i = 10; i < 12; i++) {
        big_fill(&x, i);
        gort_chan_send(b, &x);
    }
    struct big_arg a2 = {.c = b};
    go(big_sender, &a2); /* sends seed 2 */
    WAIT_UNTIL(qlen(b, true) == 1, 5, "the third sender to block");
    int want[3] = {10, 11, 2};
    for (int i = 0; i < 3; i++) {
        ASSERT_TRUE(gort_chan_recv(b, &x));
        ASSERT_TRUE(big_check(&x, want[i]));
    }
    WAIT_UNTIL(atomic_load(&a2.stage) == 2, 5, "the sender to return");
    gort_chan_free(b);
    return 0;
}

TEST(large_elem) {
    run(large_elem_main, NULL);
}

/* recv with elem == NULL drops the value; a pending sender still completes. */
static int recv_null_elem_main(void *arg) {
    (void)arg;
    struct big_arg a = {.c = gort_chan_make(sizeof(struct big), 0)};
    go(big_sender, &a);
    WAIT_UNTIL(qlen(a.c, true) == 1, 5, "the sender to block");
    ASSERT_TRUE(gort_chan_recv(a.c, NULL));
    WAIT_UNTIL(atomic_load(&a.stage) == 2, 5, "the sender to return");
    gort_chan_free(a.c);
    gort_chan *b = gort_chan_make(sizeof(int64_t), 1);
    int64_t v = 5;
    gort_chan_send(b, &v);
    ASSERT_TRUE(gort_chan_recv(b, NULL));
    ASSERT_EQ(gort_chan_len(b), 0);
    gort_chan_free(b);
    return 0;
}

TEST(recv_null_elem) {
    run(recv_null_elem_main, NULL);
}

/* ------------------------------------------------------------------------
 * Element size 0 (chan struct{})
 * ------------------------------------------------------------------------ */

struct zero_arg {
    gort_chan *c;
    int n;
    gort_waitgroup wg;
};

static void zero_sender(void *p) {
    struct zero_arg *a = p;
    for (int i = 0; i < a->n; i++)
        gort_chan_send(a->c, NULL);
    gort_chan_close(a->c);
    gort_wg_done(&a->wg);
}

static int elem_size_zero_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(0, 3);
    ASSERT_NOT_NULL(c);
    for (int i = 0; i < 3; i++)
        ASSERT_TRUE(gort_chan_trysend(c, NULL));
    ASSERT_FALSE(gort_chan_trysend(c, NULL));
    ASSERT_EQ(gort_chan_len(c), 3);
    for (int i = 0; i < 3; i++)
        ASSERT_TRUE(gort_chan_recv(c, NULL));
    bool ok = true;
    ASSERT_FALSE(gort_chan_tryrecv(c, NULL, &ok));
    gort_chan_free(c);

    for (size_t cap = 0; cap < 3; cap += 2) {
        struct zero_arg a = {.c = gort_chan_make(0, cap), .n = 5000};
        gort_wg_add(&a.wg, 1);
        go(zero_sender, &a);
        int got = 0;
        char dummy = 'x';
        while (gort_chan_recv(a.c, &dummy)) /* a non-NULL elem of size 0 is untouched */
            got++;
        ASSERT_EQ(got, a.n);
        ASSERT_EQ(dummy, 'x');
        gort_wg_wait(&a.wg);
        gort_chan_free(a.c);
    }
    return 0;
}

TEST(elem_size_zero) {
    run(elem_size_zero_main, NULL);
}

/* ------------------------------------------------------------------------
 * close
 * ------------------------------------------------------------------------ */

static int close_drains_buffer_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int64_t), 4);
    for (int64_t i = 1; i <= 3; i++)
        gort_chan_send(c, &i);
    gort_chan_close(c);
    ASSERT_EQ(gort_chan_len(c), 3);
    int64_t v;
    for (int64_t i = 1; i <= 3; i++) {
        v = 0;
        ASSERT_TRUE(gort_chan_recv(c, &v));
        ASSERT_EQ(v, i);
    }
    v = 42;
    ASSERT_FALSE(gort_chan_recv(c, &v));
    ASSERT_EQ(v, 0); /* zeroed */
    v = 42;
    bool ok = true;
    ASSERT_TRUE(gort_chan_tryrecv(c, &v, &ok));
    ASSERT_FALSE(ok);
    ASSERT_EQ(v, 0);
    ASSERT_TRUE(gort_chan_tryrecv(c, NULL, NULL));
    gort_chan_free(c);

    /* tryrecv on a closed channel with data still returns the data. */
    c = gort_chan_make(sizeof(int64_t), 2);
    v = 9;
    gort_chan_send(c, &v);
    gort_chan_close(c);
    v = 0;
    ok = false;
    ASSERT_TRUE(gort_chan_tryrecv(c, &v, &ok));
    ASSERT_TRUE(ok);
    ASSERT_EQ(v, 9);
    gort_chan_free(c);
    return 0;
}

TEST(close_drains_buffer) {
    run(close_drains_buffer_main, NULL);
}

struct closewake_arg {
    gort_chan *c;
    atomic_int woke_false;
    atomic_int nonzero;
    gort_waitgroup wg;
};

static void closewake_receiver(void *p) {
    struct closewake_arg *a = p;
    int64_t v = 77;
    if (!gort_chan_recv(a->c, &v))
        atomic_fetch_add(&a->woke_false, 1);
    if (v != 0)
        atomic_fetch_add(&a->nonzero, 1);
    gort_wg_done(&a->wg);
}

/* close wakes every blocked receiver with false and a zeroed element. */
static int close_wakes_receivers_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    struct closewake_arg a = {.c = gort_chan_make(sizeof(int64_t), cap)};
    enum { N = 50 };
    gort_wg_add(&a.wg, N);
    for (int i = 0; i < N; i++)
        go(closewake_receiver, &a);
    WAIT_UNTIL(qlen(a.c, false) == N, 10, "the receivers to block");
    gort_chan_close(a.c);
    gort_wg_wait(&a.wg);
    ASSERT_EQ(atomic_load(&a.woke_false), N);
    ASSERT_EQ(atomic_load(&a.nonzero), 0);
    ASSERT_EQ(qlen(a.c, false), 0);
    gort_chan_free(a.c);
    return 0;
}

TEST(close_wakes_receivers) {
    run(close_wakes_receivers_main, (void *)(uintptr_t)0);
}

TEST(close_wakes_receivers_buffered) {
    run(close_wakes_receivers_main, (void *)(uintptr_t)3);
}

/* ------------------------------------------------------------------------
 * Non-blocking forms
 * ------------------------------------------------------------------------ */

struct try_arg {
    gort_chan *c;
    int64_t got;
    atomic_int done;
};

static void try_receiver(void *p) {
    struct try_arg *a = p;
    int64_t v = -1;
    ASSERT_TRUE(gort_chan_recv(a->c, &v));
    a->got = v;
    atomic_store(&a->done, 1);
}

static void try_sender(void *p) {
    struct try_arg *a = p;
    int64_t v = 123;
    gort_chan_send(a->c, &v);
    atomic_store(&a->done, 1);
}

static int trysend_tryrecv_main(void *arg) {
    (void)arg;
    int64_t v = 1;
    bool ok;
    /* Buffered: full and empty. */
    gort_chan *b = gort_chan_make(sizeof(int64_t), 2);
    ASSERT_FALSE(gort_chan_tryrecv(b, &v, &ok));
    ASSERT_TRUE(gort_chan_trysend(b, &v));
    v = 2;
    ASSERT_TRUE(gort_chan_trysend(b, &v));
    v = 3;
    ASSERT_FALSE(gort_chan_trysend(b, &v));
    ASSERT_EQ(gort_chan_len(b), 2);
    v = 0;
    ASSERT_TRUE(gort_chan_tryrecv(b, &v, &ok));
    ASSERT_TRUE(ok);
    ASSERT_EQ(v, 1);
    ASSERT_TRUE(gort_chan_tryrecv(b, &v, NULL));
    ASSERT_EQ(v, 2);
    ASSERT_FALSE(gort_chan_tryrecv(b, &v, &ok));
    gort_chan_free(b);

    /* Unbuffered: nobody waiting -> would block; a waiting receiver or
     * sender makes the non-blocking form succeed. */
    gort_chan *u = gort_chan_make(sizeof(int64_t), 0);
    ASSERT_FALSE(gort_chan_trysend(u, &v));
    ASSERT_FALSE(gort_chan_tryrecv(u, &v, &ok));
    struct try_arg a = {.c = u};
    go(try_receiver, &a);
    WAIT_UNTIL(qlen(u, false) == 1, 5, "the receiver to block");
    v = 55;
    ASSERT_TRUE(gort_chan_trysend(u, &v));
    WAIT_UNTIL(atomic_load(&a.done) == 1, 5, "the receiver to finish");
    ASSERT_EQ(a.got, 55);

    struct try_arg s = {.c = u};
    go(try_sender, &s);
    WAIT_UNTIL(qlen(u, true) == 1, 5, "the sender to block");
    v = 0;
    ok = false;
    ASSERT_TRUE(gort_chan_tryrecv(u, &v, &ok));
    ASSERT_TRUE(ok);
    ASSERT_EQ(v, 123);
    WAIT_UNTIL(atomic_load(&s.done) == 1, 5, "the sender to finish");

    /* Closed: tryrecv proceeds with ok == false. */
    gort_chan_close(u);
    ok = true;
    v = 8;
    ASSERT_TRUE(gort_chan_tryrecv(u, &v, &ok));
    ASSERT_FALSE(ok);
    ASSERT_EQ(v, 0);
    gort_chan_free(u);
    return 0;
}

TEST(trysend_tryrecv) {
    run(trysend_tryrecv_main, NULL);
}

/* ------------------------------------------------------------------------
 * nil channels
 * ------------------------------------------------------------------------ */

static atomic_int nil_returned;
static atomic_int nil_started;

static void nil_sender(void *p) {
    (void)p;
    int64_t v = 1;
    atomic_fetch_add(&nil_started, 1);
    gort_chan_send(NULL, &v);
    atomic_fetch_add(&nil_returned, 1);
}

static void nil_receiver(void *p) {
    (void)p;
    int64_t v;
    atomic_fetch_add(&nil_started, 1);
    gort_chan_recv(NULL, &v);
    atomic_fetch_add(&nil_returned, 1);
}

/* Send and receive on NULL block forever; the non-blocking forms report
 * "would block"; len and cap are 0.  The blocked goroutines are abandoned
 * when main returns. */
static int nil_channel_main(void *arg) {
    (void)arg;
    int64_t v = 3;
    bool ok = true;
    ASSERT_FALSE(gort_chan_trysend(NULL, &v));
    ASSERT_FALSE(gort_chan_tryrecv(NULL, &v, &ok));
    ASSERT_TRUE(ok); /* untouched */
    for (int i = 0; i < 4; i++) {
        go(nil_sender, NULL);
        go(nil_receiver, NULL);
    }
    WAIT_UNTIL(atomic_load(&nil_started) == 8, 5, "the goroutines to start");
    pause_ms(50);
    ASSERT_EQ(atomic_load(&nil_returned), 0);
    ASSERT_EQ(gort_numgoroutine(), 9);
    return 0;
}

TEST(nil_channel) {
    run(nil_channel_main, NULL);
}

/* ------------------------------------------------------------------------
 * FIFO order of blocked senders and receivers
 * ------------------------------------------------------------------------ */

struct fifo_arg {
    gort_chan *c;
    int64_t id;
    int64_t got;
    gort_waitgroup *wg;
};

static void fifo_sender(void *p) {
    struct fifo_arg *a = p;
    gort_chan_send(a->c, &a->id);
    gort_wg_done(a->wg);
}

static void fifo_receiver(void *p) {
    struct fifo_arg *a = p;
    ASSERT_TRUE(gort_chan_recv(a->c, &a->got));
    gort_wg_done(a->wg);
}

enum { FIFO_N = 32 };

/* Senders that block in order 0..N-1 are served in that order (after the
 * values already buffered). */
static int fifo_senders_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    gort_chan *c = gort_chan_make(sizeof(int64_t), cap);
    for (int64_t i = 0; i < (int64_t)cap; i++) {
        int64_t v = -100 + i;
        gort_chan_send(c, &v);
    }
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    struct fifo_arg a[FIFO_N];
    gort_wg_add(&wg, FIFO_N);
    for (int i = 0; i < FIFO_N; i++) {
        a[i] = (struct fifo_arg){.c = c, .id = i, .wg = &wg};
        go(fifo_sender, &a[i]);
        /* Sender i is queued before sender i+1 starts. */
        WAIT_UNTIL(qlen(c, true) == i + 1, 5, "a sender to block");
    }
    for (int64_t i = 0; i < (int64_t)cap; i++) {
        int64_t v;
        ASSERT_TRUE(gort_chan_recv(c, &v));
        ASSERT_EQ(v, -100 + i);
    }
    for (int64_t i = 0; i < FIFO_N; i++) {
        int64_t v = -1;
        ASSERT_TRUE(gort_chan_recv(c, &v));
        ASSERT_EQ(v, i);
    }
    gort_wg_wait(&wg);
    gort_chan_free(c);
    return 0;
}

TEST(fifo_senders) {
    run(fifo_senders_main, (void *)(uintptr_t)0);
}

TEST(fifo_senders_buffered) {
    run(fifo_senders_main, (void *)(uintptr_t)3);
}

/* Receivers that block in order 0..N-1 get the values sent in that order. */
static int fifo_receivers_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    gort_chan *c = gort_chan_make(sizeof(int64_t), cap);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    struct fifo_arg a[FIFO_N];
    gort_wg_add(&wg, FIFO_N);
    for (int i = 0; i < FIFO_N; i++) {
        a[i] = (struct fifo_arg){.c = c, .id = i, .got = -1, .wg = &wg};
        go(fifo_receiver, &a[i]);
        WAIT_UNTIL(qlen(c, false) == i + 1, 5, "a receiver to block");
    }
    for (int64_t i = 0; i < FIFO_N; i++)
        gort_chan_send(c, &i);
    gort_wg_wait(&wg);
    for (int i = 0; i < FIFO_N; i++)
        ASSERT_EQ(a[i].got, i);
    gort_chan_free(c);
    return 0;
}

TEST(fifo_receivers) {
    run(fifo_receivers_main, (void *)(uintptr_t)0);
}

TEST(fifo_receivers_buffered) {
    run(fifo_receivers_main, (void *)(uintptr_t)4);
}

/* ------------------------------------------------------------------------
 * Many producers and consumers (small; see tests/stress for the big one)
 * ------------------------------------------------------------------------ */

enum { MPMC_P = 8, MPMC_C = 8, MPMC_PER = 2000 };

struct mpmc {
    gort_chan *c;
    atomic_uchar seen[MPMC_P][MPMC_PER];
    atomic_long received;
    atomic_int pid;
    gort_waitgroup prod, cons;
};

static void mpmc_producer(void *p) {
    struct mpmc *m = p;
    int64_t id = atomic_fetch_add(&m->pid, 1);
    for (int64_t i = 0; i < MPMC_PER; i++) {
        int64_t v = id << 32 | i;
        gort_chan_send(m->c, &v);
    }
    gort_wg_done(&m->prod);
}

static void mpmc_consumer(void *p) {
    struct mpmc *m = p;
    int64_t v;
    while (gort_chan_recv(m->c, &v)) {
        int64_t id = v >> 32, i = v & 0xffffffff;
        ASSERT_TRUE(id >= 0 && id < MPMC_P && i >= 0 && i < MPMC_PER);
        ASSERT_EQ(atomic_fetch_add(&m->seen[id][i], 1), 0); /* never twice */
        atomic_fetch_add(&m->received, 1);
    }
    gort_wg_done(&m->cons);
}

static int mpmc_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    static struct mpmc m;
    memset(&m, 0, sizeof m);
    m.c = gort_chan_make(sizeof(int64_t), cap);
    gort_wg_add(&m.prod, MPMC_P);
    gort_wg_add(&m.cons, MPMC_C);
    for (int i = 0; i < MPMC_C; i++)
        go(mpmc_consumer, &m);
    for (int i = 0; i < MPMC_P; i++)
        go(mpmc_producer, &m);
    gort_wg_wait(&m.prod);
    gort_chan_close(m.c);
    gort_wg_wait(&m.cons);
    ASSERT_EQ(atomic_load(&m.received), (long)MPMC_P * MPMC_PER);
    for (int p = 0; p < MPMC_P; p++)
        for (int i = 0; i < MPMC_PER; i++)
            ASSERT_EQ(atomic_load(&m.seen[p][i]), 1);
    gort_chan_free(m.c);
    return 0;
}

TEST(mpmc_unbuffered) {
    run(mpmc_main, (void *)(uintptr_t)0);
}

TEST(mpmc_buffered) {
    run(mpmc_main, (void *)(uintptr_t)16);
}

/* ------------------------------------------------------------------------
 * Threads outside the runtime
 * ------------------------------------------------------------------------ */

struct foreign_arg {
    gort_chan *to_t, *from_t;
    int64_t n;
};

/* The foreign thread echoes v*2 for every v until to_t is closed, blocking
 * on its futex whenever the goroutine side is not ready. */
static void *foreign_echo(void *p) {
    struct foreign_arg *a = p;
    int64_t v;
    while (gort_chan_recv(a->to_t, &v)) {
        int64_t w = v * 2;
        gort_chan_send(a->from_t, &w);
    }
    return NULL;
}

static int foreign_thread_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    struct foreign_arg a = {.to_t = gort_chan_make(sizeof(int64_t), cap),
                            .from_t = gort_chan_make(sizeof(int64_t), cap),
                            .n = 5000};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_echo, &a), 0);
    /* Wait (without blocking) until the thread is blocked in the runtime:
     * the runtime learns of a foreign thread at its first blocking call,
     * and until then a goroutine blocked on it would look deadlocked. */
    WAIT_UNTIL(qlen(a.to_t, false) == 1, 5, "the thread to block");
    for (int64_t i = 0; i < a.n; i++) {
        int64_t v = -1;
        gort_chan_send(a.to_t, &i);
        ASSERT_TRUE(gort_chan_recv(a.from_t, &v));
        ASSERT_EQ(v, i * 2);
    }
    gort_chan_close(a.to_t);
    pthread_join(t, NULL);
    gort_chan_free(a.to_t);
    gort_chan_free(a.from_t);
    return 0;
}

TEST(foreign_thread_pingpong) {
    run(foreign_thread_main, (void *)(uintptr_t)0);
}

TEST(foreign_thread_pingpong_buffered) {
    run(foreign_thread_main, (void *)(uintptr_t)2);
}

struct foreign_close_arg {
    gort_chan *c;
    atomic_int result; /* 0 running, 1 got false, 2 got true */
};

static void *foreign_blocked_receiver(void *p) {
    struct foreign_close_arg *a = p;
    int64_t v = 5;
    bool ok = gort_chan_recv(a->c, &v);
    atomic_store(&a->result, ok ? 2 : (v == 0 ? 1 : 3));
    return NULL;
}

/* A foreign thread blocked in recv is woken by a goroutine's close. */
static int foreign_close_main(void *arg) {
    (void)arg;
    struct foreign_close_arg a = {.c = gort_chan_make(sizeof(int64_t), 0)};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_blocked_receiver, &a), 0);
    WAIT_UNTIL(qlen(a.c, false) == 1, 5, "the thread to block");
    gort_chan_close(a.c);
    pthread_join(t, NULL);
    ASSERT_EQ(atomic_load(&a.result), 1);
    gort_chan_free(a.c);
    return 0;
}

TEST(foreign_thread_close) {
    run(foreign_close_main, NULL);
}

/* ------------------------------------------------------------------------
 * Freeing
 * ------------------------------------------------------------------------ */

struct freesel_arg {
    gort_chan *a, *b;
    gort_waitgroup wg;
    atomic_int bad;
};

static void freesel_selector(void *p) {
    struct freesel_arg *s = p;
    int64_t va = 0, vb = 0;
    gort_select_case cs[2] = {{s->a, GORT_RECV, &va, false}, {s->b, GORT_RECV, &vb, false}};
    int r = gort_select(cs, 2, true);
    if (r != 0 || va != 11 || !cs[0].ok)
        atomic_fetch_add(&s->bad, 1);
    gort_wg_done(&s->wg);
}

/* A select woken through channel a still has a sudog queued on b.  The
 * waker frees both channels as soon as its send returns: freeing a must
 * be safe (the select does not relock it), and freeing b must wait for the
 * select to unlink itself (ASan would report a use after free otherwise). */
static int free_after_select_main(void *arg) {
    (void)arg;
    for (int i = 0; i < 300; i++) {
        struct freesel_arg s = {.a = gort_chan_make(sizeof(int64_t), 0),
                                .b = gort_chan_make(sizeof(int64_t), 0)};
        gort_wg_add(&s.wg, 1);
        go(freesel_selector, &s);
        WAIT_UNTIL(qlen(s.a, false) == 1 && qlen(s.b, false) == 1, 5, "the select to block");
        int64_t v = 11;
        gort_chan_send(s.a, &v);
        gort_chan_free(s.a);
        gort_chan_free(s.b);
        gort_wg_wait(&s.wg);
        ASSERT_EQ(atomic_load(&s.bad), 0);
    }
    return 0;
}

TEST(free_after_select) {
    run(free_after_select_main, NULL);
}

/* ------------------------------------------------------------------------
 * Recovering from the channel panics (needs panic.c's recover, issue 5)
 * ------------------------------------------------------------------------ */

static const char *recovered;
static char recovered_buf[128];

static void recover_into_buf(void *arg) {
    (void)arg;
    const char *m = gort_recover();
    recovered = m ? recovered_buf : NULL;
    if (m)
        snprintf(recovered_buf, sizeof recovered_buf, "%s", m);
}

static void do_send_closed(void *c) {
    gort_defer(recover_into_buf, NULL);
    int64_t v = 1;
    gort_chan_send(c, &v);
}

static void do_trysend_closed(void *c) {
    gort_defer(recover_into_buf, NULL);
    int64_t v = 1;
    gort_chan_trysend(c, &v);
}

static void do_close(void *c) {
    gort_defer(recover_into_buf, NULL);
    gort_chan_close(c);
}

static void expect_recovered(void (*fn)(void *), void *arg, const char *msg) {
    recovered = NULL;
    ASSERT_EQ(gort_call(fn, arg), 1);
    ASSERT_STREQ(recovered, msg);
}

struct blocked_send_arg {
    gort_chan *c;
    atomic_int stage;
};

static void blocked_sender_body(void *p) {
    struct blocked_send_arg *a = p;
    gort_defer(recover_into_buf, NULL);
    int64_t v = 1;
    gort_chan_send(a->c, &v); /* blocks, then panics when c is closed */
}

static void blocked_sender(void *p) {
    struct blocked_send_arg *a = p;
    recovered = NULL;
    int r = gort_call(blocked_sender_body, a);
    atomic_store(&a->stage,
                 r == 1 && recovered && strcmp(recovered, "send on closed channel") == 0 ? 1 : 2);
}

static int recover_chan_panics_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int64_t), 1);
    gort_chan_close(c);
    expect_recovered(do_send_closed, c, "send on closed channel");
    expect_recovered(do_trysend_closed, c, "send on closed channel");
    expect_recovered(do_close, c, "close of closed channel");
    expect_recovered(do_close, NULL, "close of nil channel");
    gort_chan_free(c);

    /* A sender blocked when the channel is closed panics, recoverably. */
    struct blocked_send_arg a = {.c = gort_chan_make(sizeof(int64_t), 0)};
    go(blocked_sender, &a);
    WAIT_UNTIL(qlen(a.c, true) == 1, 5, "the sender to block");
    gort_chan_close(a.c);
    WAIT_UNTIL(atomic_load(&a.stage) != 0, 5, "the sender to recover");
    ASSERT_EQ(atomic_load(&a.stage), 1);
    gort_chan_free(a.c);
    return 0;
}

TEST(recover_chan_panics) {
    run(recover_chan_panics_main, NULL);
}

GT_MAIN()

/* Goroutines left blocked on channels (a receive, a send, a select) when
 * gort_main returns are abandoned, their stacks freed: the channels keep
 * no waiter of theirs, so the next gort_main, or a plain thread after it,
 * may use and free them.  (Before, their queues held sudogs in freed
 * stacks: trysend and close crashed, free and send died of SIGSEGV.) */
static gort_chan *ab_r, *ab_s;

static void ab_recv(void *arg) {
    (void)arg;
    int v;
    gort_chan_recv(ab_r, &v);
}

static void ab_send(void *arg) {
    (void)arg;
    int v = 1;
    gort_chan_send(ab_s, &v);
}

static void ab_select(void *arg) {
    (void)arg;
    int v = 2, w;
    gort_select_case cs[2] = {{ab_r, GORT_RECV, &w, false}, {ab_s, GORT_SEND, &v, false}};
    gort_select(cs, 2, true);
}

static int ab_block_main(void *arg) {
    (void)arg;
    go(ab_recv, NULL);
    go(ab_send, NULL);
    go(ab_select, NULL);
    WAIT_UNTIL(gort_chan_len(ab_r) == 0 && gort_numgoroutine() == 4, 10, "blockers started");
    pause_ms(20); /* all three parked */
    return 0;
}

static int ab_use_main(void *arg) {
    (void)arg;
    int v = 3;
    bool ok;
    ASSERT_FALSE(gort_chan_trysend(ab_r, &v));      /* no receiver left */
    ASSERT_FALSE(gort_chan_tryrecv(ab_s, &v, &ok)); /* no sender left */
    gort_chan_close(ab_r);
    return 0;
}

TEST(abandoned_waiters_leave_channels) {
    ab_r = gort_chan_make(sizeof(int), 0);
    ab_s = gort_chan_make(sizeof(int), 0);
    run(ab_block_main, NULL);
    run(ab_use_main, NULL);
    int v = 4;
    bool ok;
    ASSERT_FALSE(gort_chan_tryrecv(ab_s, &v, &ok)); /* a plain thread, no runtime */
    gort_chan_free(ab_r);
    gort_chan_free(ab_s);
}
