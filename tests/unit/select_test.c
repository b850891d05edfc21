/*
 * select_test.c - gort_select (issue 3): the non-blocking form, ready
 * cases, uniform choice among ready cases (a chi-square bound), nil-channel
 * cases, the same channel in several cases and in both directions (a
 * select never matches itself), blocking selects woken by a send, a
 * receive or a close, many cases (the malloc'd orders and the heap sort),
 * no cases, and selects from a thread outside the runtime.
 *
 * "send on closed channel" from a select is checked by
 * tests/crash/select_send_closed.c and recovered here (recover_ case).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"

#include "gt_gort.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static gort_chan *mk(size_t cap) {
    gort_chan *c = gort_chan_make(sizeof(int64_t), cap);
    ASSERT_NOT_NULL(c);
    return c;
}

/* ------------------------------------------------------------------------
 * Non-blocking and ready cases
 * ------------------------------------------------------------------------ */

static int nonblocking_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_select(NULL, 0, false), -1);
    gort_chan *a = mk(0), *b = mk(1);
    int64_t va = 0, vb = 0;
    gort_select_case cs[3] = {
        {a, GORT_RECV, &va, false}, {b, GORT_RECV, &vb, false}, {NULL, GORT_SEND, &va, false}};
    ASSERT_EQ(gort_select(cs, 3, false), -1);
    /* Send on a full buffered channel, and on an unbuffered one without a
     * receiver: not ready either. */
    int64_t one = 1;
    gort_chan_send(b, &one);
    gort_select_case ss[2] = {{a, GORT_SEND, &one, false}, {b, GORT_SEND, &one, false}};
    ASSERT_EQ(gort_select(ss, 2, false), -1);
    /* Now the receive on b is ready. */
    vb = 0;
    ASSERT_EQ(gort_select(cs, 3, false), 1);
    ASSERT_TRUE(cs[1].ok);
    ASSERT_EQ(vb, 1);
    /* And a send on b too (the buffer has room again). */
    int64_t seven = 7;
    gort_select_case s1[2] = {{a, GORT_SEND, &seven, false}, {b, GORT_SEND, &seven, false}};
    ASSERT_EQ(gort_select(s1, 2, false), 1);
    ASSERT_TRUE(s1[1].ok);
    ASSERT_TRUE(gort_chan_recv(b, &vb));
    ASSERT_EQ(vb, 7);
    /* A closed channel's receive case is ready, with ok == false. */
    gort_chan_close(a);
    va = 99;
    cs[0].ok = true;
    ASSERT_EQ(gort_select(cs, 3, false), 0);
    ASSERT_FALSE(cs[0].ok);
    ASSERT_EQ(va, 0);
    gort_chan_free(a);
    gort_chan_free(b);
    return 0;
}

TEST(nonblocking) {
    run(nonblocking_main, NULL);
}

/* ------------------------------------------------------------------------
 * Uniform choice
 * ------------------------------------------------------------------------ */

/* With K always-ready cases, each is chosen with probability 1/K.  The
 * chi-square statistic with K-1 = 3 degrees of freedom exceeds 30 with
 * probability below 2e-6; 40 leaves room for any bias too small to matter.
 * Receive and send cases are mixed, on buffered channels kept ready. */
enum { UNI_K = 4 };

static int uniform_main(void *arg) {
    (void)arg;
    gort_chan *c[UNI_K];
    int64_t v[UNI_K] = {0};
    gort_select_case cs[UNI_K];
    for (int i = 0; i < UNI_K; i++) {
        c[i] = mk(4);
        if (i % 2 == 0) { /* receive cases: keep one element buffered */
            int64_t x = i;
            gort_chan_send(c[i], &x);
            cs[i] = (gort_select_case){c[i], GORT_RECV, &v[i], false};
        } else { /* send cases: keep room in the buffer */
            cs[i] = (gort_select_case){c[i], GORT_SEND, &v[i], false};
        }
    }
    const int trials = 40000;
    long count[UNI_K] = {0};
    for (int t = 0; t < trials; t++) {
        int r = gort_select(cs, UNI_K, t % 2 == 0); /* both forms */
        ASSERT_TRUE(r >= 0 && r < UNI_K);
        ASSERT_TRUE(cs[r].ok);
        count[r]++;
        /* Restore readiness. */
        if (r % 2 == 0)
            gort_chan_send(c[r], &v[r]);
        else
            ASSERT_TRUE(gort_chan_recv(c[r], NULL));
    }
    double expect = (double)trials / UNI_K, chi2 = 0;
    for (int i = 0; i < UNI_K; i++)
        chi2 += (count[i] - expect) * (count[i] - expect) / expect;
    if (chi2 > 40)
        GT_FAIL("select is not uniform: counts %ld %ld %ld %ld, chi2 = %.1f", count[0], count[1],
                count[2], count[3], chi2);
    for (int i = 0; i < UNI_K; i++)
        gort_chan_free(c[i]);
    return 0;
}

TEST(uniform) {
    run(uniform_main, NULL);
}

/* Two cases on the same ready channel (and a third that never is): both
 * same-channel cases get chosen about equally. */
static int uniform_same_chan_main(void *arg) {
    (void)arg;
    gort_chan *c = mk(2), *never = mk(0);
    int64_t x = 5, v0 = 0, v1 = 0, vn = 0;
    gort_select_case cs[3] = {
        {c, GORT_RECV, &v0, false}, {never, GORT_RECV, &vn, false}, {c, GORT_RECV, &v1, false}};
    long count[3] = {0};
    const int trials = 20000;
    for (int t = 0; t < trials; t++) {
        gort_chan_send(c, &x);
        int r = gort_select(cs, 3, true);
        count[r]++;
    }
    ASSERT_EQ(count[1], 0);
    double e = trials / 2.0;
    double chi2 = (count[0] - e) * (count[0] - e) / e + (count[2] - e) * (count[2] - e) / e;
    if (chi2 > 30) /* 1 degree of freedom: P(chi2 > 30) < 5e-8 */
        GT_FAIL("same-channel cases not uniform: %ld vs %ld", count[0], count[2]);
    gort_chan_free(c);
    gort_chan_free(never);
    return 0;
}

TEST(uniform_same_chan) {
    run(uniform_same_chan_main, NULL);
}

/* ------------------------------------------------------------------------
 * nil-channel cases and no cases
 * ------------------------------------------------------------------------ */

static atomic_int blocked_started, blocked_returned;

static void select_nil_forever(void *arg) {
    (void)arg;
    int64_t v;
    gort_select_case cs[2] = {{NULL, GORT_RECV, &v, false}, {NULL, GORT_SEND, &v, false}};
    atomic_fetch_add(&blocked_started, 1);
    gort_select(cs, 2, true);
    atomic_fetch_add(&blocked_returned, 1);
}

static void select_none_forever(void *arg) {
    (void)arg;
    atomic_fetch_add(&blocked_started, 1);
    gort_select(NULL, 0, true);
    atomic_fetch_add(&blocked_returned, 1);
}

static int nil_cases_main(void *arg) {
    (void)arg;
    gort_chan *c = mk(1);
    int64_t x = 3, v = 0;
    gort_chan_send(c, &x);
    /* A nil case never proceeds; the ready case always does. */
    for (int i = 0; i < 100; i++) {
        gort_select_case cs[3] = {
            {NULL, GORT_RECV, &v, false}, {c, GORT_RECV, &v, false}, {NULL, GORT_SEND, &x, false}};
        ASSERT_EQ(gort_select(cs, 3, true), 1);
        ASSERT_EQ(v, 3);
        gort_chan_send(c, &x);
    }
    gort_select_case only_nil[2] = {{NULL, GORT_RECV, &v, false}, {NULL, GORT_SEND, &x, false}};
    ASSERT_EQ(gort_select(only_nil, 2, false), -1);
    /* Blocking on nothing but nil channels, or on no cases: forever. */
    go(select_nil_forever, NULL);
    go(select_none_forever, NULL);
    WAIT_UNTIL(atomic_load(&blocked_started) == 2, 5, "the selects to start");
    pause_ms(50);
    ASSERT_EQ(atomic_load(&blocked_returned), 0);
    gort_chan_free(c);
    return 0;
}

TEST(nil_cases) {
    run(nil_cases_main, NULL);
}

/* ------------------------------------------------------------------------
 * Blocking selects
 * ------------------------------------------------------------------------ */

struct blocksel {
    gort_chan *a, *b, *c;
    int64_t va, vb, vc;
    int result;
    bool ok;
    atomic_int done;
};

/* recv a, recv b, send c (value 33). */
static void blocksel_run(void *p) {
    struct blocksel *s = p;
    s->vc = 33;
    gort_select_case cs[3] = {{s->a, GORT_RECV, &s->va, false},
                              {s->b, GORT_RECV, &s->vb, false},
                              {s->c, GORT_SEND, &s->vc, false}};
    s->result = gort_select(cs, 3, true);
    s->ok = cs[s->result].ok;
    atomic_store(&s->done, 1);
}

static void blocksel_start(struct blocksel *s) {
    memset(s, 0, sizeof *s);
    s->a = mk(0);
    s->b = mk(0);
    s->c = mk(0);
    go(blocksel_run, s);
    WAIT_UNTIL(qlen(s->a, false) == 1 && qlen(s->b, false) == 1 && qlen(s->c, true) == 1, 5,
               "the select to block");
}

static void blocksel_finish(struct blocksel *s) {
    WAIT_UNTIL(atomic_load(&s->done) == 1, 5, "the select to return");
    /* Every losing sudog has been unlinked. */
    ASSERT_EQ(qlen(s->a, false) + qlen(s->b, false) + qlen(s->c, true), 0);
    gort_chan_free(s->a);
    gort_chan_free(s->b);
    gort_chan_free(s->c);
}

static int blocking_main(void *arg) {
    (void)arg;
    struct blocksel s;
    int64_t x;

    /* Woken by a send on b. */
    blocksel_start(&s);
    x = 21;
    gort_chan_send(s.b, &x);
    blocksel_finish(&s);
    ASSERT_EQ(s.result, 1);
    ASSERT_TRUE(s.ok);
    ASSERT_EQ(s.vb, 21);

    /* Woken by a receive on c. */
    blocksel_start(&s);
    x = 0;
    ASSERT_TRUE(gort_chan_recv(s.c, &x));
    blocksel_finish(&s);
    ASSERT_EQ(s.result, 2);
    ASSERT_TRUE(s.ok);
    ASSERT_EQ(x, 33);

    /* Woken by a close of a: ok == false, element zeroed. */
    blocksel_start(&s);
    s.va = 1234;
    gort_chan_close(s.a);
    blocksel_finish(&s);
    ASSERT_EQ(s.result, 0);
    ASSERT_FALSE(s.ok);
    ASSERT_EQ(s.va, 0);

    /* Woken by a non-blocking send (trysend sees the waiting receiver). */
    blocksel_start(&s);
    x = 8;
    ASSERT_TRUE(gort_chan_trysend(s.a, &x));
    blocksel_finish(&s);
    ASSERT_EQ(s.result, 0);
    ASSERT_EQ(s.va, 8);

    /* Woken by another select's receive. */
    blocksel_start(&s);
    {
        gort_chan *d = mk(0); /* nobody ever receives on d */
        int64_t got = 0;
        gort_select_case cs[2] = {{d, GORT_SEND, &x, false}, {s.c, GORT_RECV, &got, false}};
        ASSERT_EQ(gort_select(cs, 2, true), 1);
        ASSERT_EQ(got, 33);
        gort_chan_free(d);
    }
    blocksel_finish(&s);
    ASSERT_EQ(s.result, 2);
    return 0;
}

TEST(blocking) {
    run(blocking_main, NULL);
}

/* ------------------------------------------------------------------------
 * The same channel in several cases, both directions; self-select
 * ------------------------------------------------------------------------ */

struct multi {
    gort_chan *c;
    int64_t v1, v2, vs;
    int result;
    atomic_int done;
};

static void multi_run(void *p) {
    struct multi *m = p;
    m->vs = 77;
    gort_select_case cs[3] = {{m->c, GORT_RECV, &m->v1, false},
                              {m->c, GORT_SEND, &m->vs, false},
                              {m->c, GORT_RECV, &m->v2, false}};
    m->result = gort_select(cs, 3, true);
    atomic_store(&m->done, 1);
}

static int same_chan_main(void *arg) {
    (void)arg;
    for (int round = 0; round < 200; round++) {
        struct multi m = {.c = mk(0)};
        go(multi_run, &m);
        WAIT_UNTIL(qlen(m.c, false) == 2 && qlen(m.c, true) == 1, 5, "the select to block");
        int64_t x = round;
        if (round % 2 == 0) {
            gort_chan_send(m.c, &x); /* matches one of the two receive cases */
            WAIT_UNTIL(atomic_load(&m.done) == 1, 5, "the select to return");
            ASSERT_TRUE(m.result == 0 || m.result == 2);
            ASSERT_EQ(m.result == 0 ? m.v1 : m.v2, round);
        } else {
            ASSERT_TRUE(gort_chan_recv(m.c, &x)); /* matches the send case */
            ASSERT_EQ(x, 77);
            WAIT_UNTIL(atomic_load(&m.done) == 1, 5, "the select to return");
            ASSERT_EQ(m.result, 1);
        }
        ASSERT_EQ(qlen(m.c, false) + qlen(m.c, true), 0);
        gort_chan_free(m.c);
    }
    return 0;
}

TEST(same_chan) {
    run(same_chan_main, NULL);
}

/* Go's TestSelfSelect: two goroutines each select { case c <- p: case v := <-c }
 * on one channel.  On an unbuffered channel a select must never receive its
 * own value (it cannot match its own send). */
enum { SELF_P = 2, SELF_ITERS = 4000 }; /* 2: every match pairs one select of each */

struct selfsel {
    gort_chan *c;
    atomic_int selfrecv;
    gort_waitgroup wg;
};

static void selfsel_worker(void *p) {
    struct selfsel *s = p;
    static atomic_long ids;
    int64_t me = atomic_fetch_add(&ids, 1);
    for (int i = 0; i < SELF_ITERS; i++) {
        int64_t out = me, in = -1;
        gort_select_case cs[2];
        if (i % 2 == 0) {
            cs[0] = (gort_select_case){s->c, GORT_SEND, &out, false};
            cs[1] = (gort_select_case){s->c, GORT_RECV, &in, false};
        } else {
            cs[0] = (gort_select_case){s->c, GORT_RECV, &in, false};
            cs[1] = (gort_select_case){s->c, GORT_SEND, &out, false};
        }
        int r = gort_select(cs, 2, true);
        if (cs[r].dir == GORT_RECV && gort_chan_cap(s->c) == 0 && in == me)
            atomic_fetch_add(&s->selfrecv, 1);
    }
    gort_wg_done(&s->wg);
}

static int self_select_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    struct selfsel s = {.c = mk(cap)};
    gort_wg_add(&s.wg, SELF_P);
    for (int i = 0; i < SELF_P; i++)
        go(selfsel_worker, &s);
    gort_wg_wait(&s.wg);
    ASSERT_EQ(atomic_load(&s.selfrecv), 0);
    gort_chan_free(s.c);
    return 0;
}

TEST(self_select) {
    run(self_select_main, (void *)(uintptr_t)0);
}

TEST(self_select_buffered) {
    run(self_select_main, (void *)(uintptr_t)10);
}

TEST(self_select_p1) {
    gort_gomaxprocs(1);
    run(self_select_main, (void *)(uintptr_t)0);
}

/* A lone select with send and receive on one unbuffered channel blocks
 * (it cannot match itself) until another goroutine takes one side. */
static void lone_self_select(void *p) {
    struct multi *m = p;
    m->vs = 5;
    gort_select_case cs[2] = {{m->c, GORT_SEND, &m->vs, false}, {m->c, GORT_RECV, &m->v1, false}};
    m->result = gort_select(cs, 2, true);
    atomic_store(&m->done, 1);
}

static int lone_self_main(void *arg) {
    (void)arg;
    struct multi m = {.c = mk(0)};
    go(lone_self_select, &m);
    WAIT_UNTIL(qlen(m.c, false) == 1 && qlen(m.c, true) == 1, 5, "the select to block");
    pause_ms(20);
    ASSERT_EQ(atomic_load(&m.done), 0);
    int64_t x;
    ASSERT_TRUE(gort_chan_recv(m.c, &x));
    ASSERT_EQ(x, 5);
    WAIT_UNTIL(atomic_load(&m.done) == 1, 5, "the select to return");
    ASSERT_EQ(m.result, 0);
    ASSERT_EQ(qlen(m.c, false) + qlen(m.c, true), 0);
    gort_chan_free(m.c);
    return 0;
}

TEST(lone_self_select) {
    run(lone_self_main, NULL);
}

/* ------------------------------------------------------------------------
 * Many cases: malloc'd orders, heap sort
 * ------------------------------------------------------------------------ */

enum { MANY = 200 };

static int many_cases_main(void *arg) {
    (void)arg;
    static gort_chan *c[MANY];
    static int64_t v[MANY];
    static gort_select_case cs[MANY];
    for (int i = 0; i < MANY; i++) {
        c[i] = mk(1);
        cs[i] = (gort_select_case){i % 7 == 3 ? NULL : c[i], GORT_RECV, &v[i], false};
    }
    ASSERT_EQ(gort_select(cs, MANY, false), -1);
    /* One ready case at a time: always found. */
    for (int i = 0; i < MANY; i++) {
        if (cs[i].chan == NULL)
            continue;
        int64_t x = 1000 + i;
        gort_chan_send(c[i], &x);
        int r = gort_select(cs, MANY, true);
        ASSERT_EQ(r, i);
        ASSERT_EQ(v[i], 1000 + i);
    }
    /* Every case ready: every one gets chosen eventually, each once per
     * refill round, and the counts stay balanced. */
    long count[MANY] = {0};
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < MANY; i++)
            if (cs[i].chan != NULL)
                gort_chan_send(c[i], &(int64_t){i});
        for (;;) {
            int r = gort_select(cs, MANY, false);
            if (r < 0)
                break;
            ASSERT_EQ(v[r], r);
            count[r]++;
        }
    }
    for (int i = 0; i < MANY; i++)
        ASSERT_EQ(count[i], cs[i].chan != NULL ? 20 : 0);
    for (int i = 0; i < MANY; i++)
        gort_chan_free(c[i]);
    return 0;
}

TEST(many_cases) {
    run(many_cases_main, NULL);
}

struct manyblock {
    gort_chan **c;
    int n;
    int result;
    int64_t val;
    atomic_int done;
};

static void manyblock_run(void *p) {
    struct manyblock *m = p;
    gort_select_case *cs = calloc((size_t)m->n, sizeof *cs);
    int64_t *v = calloc((size_t)m->n, sizeof *v);
    ASSERT_NOT_NULL(cs);
    ASSERT_NOT_NULL(v);
    for (int i = 0; i < m->n; i++)
        cs[i] = (gort_select_case){m->c[i], GORT_RECV, &v[i], false};
    m->result = gort_select(cs, m->n, true);
    m->val = v[m->result];
    free(cs);
    free(v);
    atomic_store(&m->done, 1);
}

/* A blocked select over 100 channels is woken by a send on any one. */
static int many_blocking_main(void *arg) {
    (void)arg;
    enum { N = 100 };
    static gort_chan *c[N];
    for (int i = 0; i < N; i++)
        c[i] = mk(0);
    for (int k = 0; k < N; k += 17) {
        struct manyblock m = {.c = c, .n = N};
        go(manyblock_run, &m);
        WAIT_UNTIL(qlen(c[N - 1], false) == 1, 5, "the select to block");
        int64_t x = 500 + k;
        gort_chan_send(c[k], &x);
        WAIT_UNTIL(atomic_load(&m.done) == 1, 5, "the select to return");
        ASSERT_EQ(m.result, k);
        ASSERT_EQ(m.val, 500 + k);
        for (int i = 0; i < N; i++)
            ASSERT_EQ(qlen(c[i], false), 0);
    }
    for (int i = 0; i < N; i++)
        gort_chan_free(c[i]);
    return 0;
}

TEST(many_blocking) {
    run(many_blocking_main, NULL);
}

/* ------------------------------------------------------------------------
 * Select from a thread outside the runtime
 * ------------------------------------------------------------------------ */

struct foreign_sel {
    gort_chan *in1, *in2, *out;
    long got;
};

/* The thread receives from in1 or in2 by select until both are closed,
 * acknowledging each value on out. */
static void *foreign_selector(void *p) {
    struct foreign_sel *f = p;
    gort_chan *in1 = f->in1, *in2 = f->in2;
    while (in1 != NULL || in2 != NULL) {
        int64_t v1 = 0, v2 = 0;
        gort_select_case cs[2] = {{in1, GORT_RECV, &v1, false}, {in2, GORT_RECV, &v2, false}};
        int r = gort_select(cs, 2, true);
        if (!cs[r].ok) {
            if (r == 0)
                in1 = NULL; /* a nil case never proceeds */
            else
                in2 = NULL;
            continue;
        }
        f->got++;
        int64_t ack = r == 0 ? v1 : v2;
        gort_chan_send(f->out, &ack);
    }
    return NULL;
}

static int foreign_select_main(void *arg) {
    (void)arg;
    struct foreign_sel f = {.in1 = mk(0), .in2 = mk(0), .out = mk(0)};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_selector, &f), 0);
    WAIT_UNTIL(qlen(f.in1, false) == 1, 5, "the thread to block"); /* see chan_test */
    for (int64_t i = 0; i < 2000; i++) {
        gort_chan_send(i % 3 == 0 ? f.in1 : f.in2, &i);
        int64_t ack = -1;
        ASSERT_TRUE(gort_chan_recv(f.out, &ack));
        ASSERT_EQ(ack, i);
    }
    gort_chan_close(f.in1);
    gort_chan_close(f.in2);
    pthread_join(t, NULL);
    ASSERT_EQ(f.got, 2000);
    gort_chan_free(f.in1);
    gort_chan_free(f.in2);
    gort_chan_free(f.out);
    return 0;
}

TEST(foreign_select) {
    run(foreign_select_main, NULL);
}

/* ------------------------------------------------------------------------
 * send on closed channel, recovered (needs panic.c's recover, issue 5)
 * ------------------------------------------------------------------------ */

static char recovered_buf[128];
static bool recovered;

static void recover_it(void *arg) {
    (void)arg;
    const char *m = gort_recover();
    recovered = m != NULL;
    if (m)
        snprintf(recovered_buf, sizeof recovered_buf, "%s", m);
}

static void select_send_closed(void *p) {
    gort_chan *c = p;
    gort_defer(recover_it, NULL);
    int64_t x = 1, y;
    gort_chan *other = NULL;
    gort_select_case cs[2] = {{other, GORT_RECV, &y, false}, {c, GORT_SEND, &x, false}};
    gort_select(cs, 2, false);
}

struct blocked_selsend {
    gort_chan *c, *d;
    atomic_int stage;
};

static void blocked_selsend_body(void *p) {
    struct blocked_selsend *b = p;
    gort_defer(recover_it, NULL);
    int64_t x = 1, y;
    gort_select_case cs[2] = {{b->d, GORT_RECV, &y, false}, {b->c, GORT_SEND, &x, false}};
    gort_select(cs, 2, true); /* blocks; c's close makes it panic */
}

static void blocked_selsend(void *p) {
    struct blocked_selsend *b = p;
    recovered = false;
    int r = gort_call(blocked_selsend_body, b);
    atomic_store(&b->stage,
                 r == 1 && recovered && strcmp(recovered_buf, "send on closed channel") == 0 ? 1
                                                                                             : 2);
}

static int recover_select_main(void *arg) {
    (void)arg;
    gort_chan *c = mk(1);
    gort_chan_close(c);
    recovered = false;
    ASSERT_EQ(gort_call(select_send_closed, c), 1);
    ASSERT_TRUE(recovered);
    ASSERT_STREQ(recovered_buf, "send on closed channel");
    gort_chan_free(c);

    struct blocked_selsend b = {.c = mk(0), .d = mk(0)};
    go(blocked_selsend, &b);
    WAIT_UNTIL(qlen(b.c, true) == 1, 5, "the select to block");
    gort_chan_close(b.c);
    WAIT_UNTIL(atomic_load(&b.stage) != 0, 5, "the select to panic and recover");
    ASSERT_EQ(atomic_load(&b.stage), 1);
    ASSERT_EQ(qlen(b.d, false), 0);
    gort_chan_free(b.c);
    gort_chan_free(b.d);
    return 0;
}

TEST(recover_send_closed) {
    run(recover_select_main, NULL);
}

GT_MAIN()

/* Goroutines select on two channels while plain threads send on the first
 * and gort_main returns.  A select readied through one case but abandoned
 * before it ran left its sudogs queued on the other channel, pointing at
 * a freed goroutine: the free of that channel afterwards (or any later
 * operation on it) read the freed g (SIGSEGV in waitq_has_blocked). */
static gort_chan *fss_a, *fss_b;
static atomic_int fss_stop, fss_exited;

static void fss_receiver(void *arg) {
    (void)arg;
    int v;
    for (;;) {
        gort_select_case c[2] = {{fss_a, GORT_RECV, &v, false}, {fss_b, GORT_RECV, &v, false}};
        (void)gort_select(c, 2, true);
    }
}

static void *fss_sender(void *arg) {
    (void)arg;
    for (int v = 0; !atomic_load(&fss_stop); v++)
        gort_chan_send(fss_a, &v);
    atomic_fetch_add(&fss_exited, 1);
    return NULL;
}

static int fss_main(void *arg) {
    pthread_t *t = arg;
    for (int i = 0; i < 4; i++)
        gort_go(fss_receiver, NULL);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, fss_sender, NULL), 0);
    gort_sleep(20 * 1000 * 1000);
    return 7;
}

TEST(foreign_send_to_select_while_main_returns) {
    if (RUNNING_ON_VALGRIND)
        GT_SKIP("valgrind runs one thread at a time, and the plain threads' loops starve "
                "the run (ThreadSanitizer and AddressSanitizer run it)");
    for (int round = 0; round < 20; round++) {
        pthread_t t[2];
        atomic_store(&fss_stop, 0);
        atomic_store(&fss_exited, 0);
        fss_a = gort_chan_make(sizeof(int), 0);
        fss_b = gort_chan_make(sizeof(int), 0);
        ASSERT_EQ(gort_main(fss_main, t), 7);
        atomic_store(&fss_stop, 1);
        while (atomic_load(&fss_exited) < 2)
            if (!gort_chan_tryrecv(fss_a, NULL, NULL))
                gort_yield();
        for (int i = 0; i < 2; i++)
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
        gort_chan_free(fss_a);
        gort_chan_free(fss_b);
    }
}
