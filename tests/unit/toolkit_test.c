/*
 * toolkit_test.c - issue 15's smaller calls: gort_go_copy (the copy is the
 * goroutine's own, aligned, up to GORT_GO_COPY_MAX bytes, size 0 allowed),
 * channel reference counts (the last user frees, nobody polls), typed
 * channels and GORT_CHAN_RANGE, gort_select_timeout, gort_after, errgroup
 * (first error, context cancelled, SetLimit never exceeded) and
 * gort_wg_go.
 */
#include "gt.h"
#include "gort.h"

#include "export_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MS GT_MS

static void run(int (*fn)(void *)) {
    ASSERT_EQ(gort_main(fn, NULL), 0);
}

/* ------------------------------------------------------------------ go_copy */

typedef struct block {
    int64_t v[8];
} block;

static _Atomic int64_t total;
static gort_waitgroup wg;

static void sum_block(void *arg) {
    ASSERT_EQ((uintptr_t)arg % alignof(max_align_t), 0);
    const block *b = arg;
    int64_t s = 0;
    for (int i = 0; i < 8; i++)
        s += b->v[i];
    atomic_fetch_add(&total, s);
    gort_wg_done(&wg);
}

static int copy_main(void *arg) {
    (void)arg;
    enum { N = 20000 };
    block b;
    gort_wg_add(&wg, N);
    for (int64_t i = 0; i < N; i++) {
        for (int k = 0; k < 8; k++)
            b.v[k] = i + k;
        ASSERT_EQ(gort_go_copy(sum_block, &b, sizeof b), 0);
        /* The goroutine has its own copy: overwrite ours at once. */
        for (int k = 0; k < 8; k++)
            b.v[k] = -1000000;
    }
    gort_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&total), 8 * (int64_t)N * (N - 1) / 2 + 28 * (int64_t)N);
    return 0;
}
TEST(copy_is_owned) {
    run(copy_main);
}

static unsigned char pattern[GORT_GO_COPY_MAX];
static atomic_int checked;

static void check_max(void *arg) {
    const unsigned char *p = arg;
    for (unsigned i = 0; i < GORT_GO_COPY_MAX; i++)
        ASSERT_EQ(p[i], (unsigned char)(i * 7 + 1));
    /* The copy is writable and the goroutine's own. */
    ((unsigned char *)arg)[0] = 0;
    atomic_fetch_add(&checked, 1);
    gort_wg_done(&wg);
}

static void check_zero(void *arg) {
    ASSERT_TRUE(arg != NULL);
    ASSERT_EQ((uintptr_t)arg % alignof(max_align_t), 0);
    atomic_fetch_add(&checked, 1);
    gort_wg_done(&wg);
}

static int sizes_main(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < GORT_GO_COPY_MAX; i++)
        pattern[i] = (unsigned char)(i * 7 + 1);
    ASSERT_TRUE(GORT_GO_COPY_MAX >= 256);
    gort_wg_add(&wg, 4);
    ASSERT_EQ(gort_go_copy(check_max, pattern, GORT_GO_COPY_MAX), 0);
    ASSERT_EQ(gort_go_copy(check_max, pattern, GORT_GO_COPY_MAX), 0);
    ASSERT_EQ(gort_go_copy(check_zero, NULL, 0), 0);
    ASSERT_EQ(gort_go_copy(check_zero, pattern, 0), 0);
    ASSERT_EQ(gort_go_copy(check_max, pattern, GORT_GO_COPY_MAX + 1), -EINVAL);
    ASSERT_EQ(gort_go_copy(check_max, NULL, 8), -EINVAL);
    gort_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&checked), 4);
    ASSERT_EQ(pattern[0], 1); /* the caller's block was not touched */
    return 0;
}
TEST(copy_sizes) {
    run(sizes_main);
}

/* Every size from 0 to GORT_GO_COPY_MAX (each of the copy's paths and their
 * edges): the goroutine gets exactly the n bytes, read only within the
 * source (an exact-size heap block, freed as soon as gort_go_copy returns:
 * ASan reports a read beyond it or after the free). */
static size_t each_n;
static void check_each(void *arg) {
    const unsigned char *p = arg;
    for (size_t i = 0; i < each_n; i++)
        ASSERT_EQ(p[i], (unsigned char)(i * 13 + each_n));
    gort_wg_done(&wg);
}
static int each_main(void *arg) {
    (void)arg;
    for (size_t n = 0; n <= GORT_GO_COPY_MAX; n++) {
        unsigned char *src = malloc(n ? n : 1);
        ASSERT_TRUE(src != NULL);
        for (size_t i = 0; i < n; i++)
            src[i] = (unsigned char)(i * 13 + n);
        each_n = n;
        gort_wg_add(&wg, 1);
        ASSERT_EQ(gort_go_copy(check_each, src, n), 0);
        free(src);
        gort_wg_wait(&wg);
    }
    return 0;
}
TEST(copy_each_size) {
    run(each_main);
}

/* From a thread outside the runtime (the global queue path). */
#include <pthread.h>
static void *foreign_spawner(void *arg) {
    (void)arg;
    block b;
    for (int k = 0; k < 8; k++)
        b.v[k] = 1000 + k;
    ASSERT_EQ(gort_go_copy(sum_block, &b, sizeof b), 0);
    return NULL;
}
static int foreign_main(void *arg) {
    (void)arg;
    atomic_store(&total, 0);
    gort_wg_add(&wg, 1);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_spawner, NULL), 0);
    gort_wg_wait(&wg);
    pthread_join(t, NULL);
    ASSERT_EQ(atomic_load(&total), 8 * 1000 + 28);
    return 0;
}
TEST(copy_from_foreign_thread) {
    run(foreign_main);
}


/* ------------------------------------------------------------------ refcounts */

/* N consumers share a channel with the producer; each releases it when it
 * has seen the close; whoever is last frees it.  Nobody waits for anybody
 * to free it: ASan/LSan and valgrind check that it is freed exactly once. */
enum { NCONS = 8, NITEMS = 10000 };
static _Atomic int64_t consumed;

static gort_waitgroup cons_wg;

static void consumer(void *arg) {
    gort_chan *c = arg;
    int64_t v;
    while (gort_chan_recv(c, &v))
        atomic_fetch_add(&consumed, v);
    gort_chan_release(c);
    gort_wg_done(&cons_wg); /* only so that the test ends after them */
}

static int refs_main(void *arg) {
    (void)arg;
    for (int round = 0; round < 20; round++) {
        atomic_store(&consumed, 0);
        gort_chan *c = gort_chan_make(sizeof(int64_t), round % 2 ? 0 : 16);
        gort_wg_add(&cons_wg, NCONS);
        for (int i = 0; i < NCONS; i++)
            ASSERT_EQ(gort_go(consumer, gort_chan_retain(c)), 0);
        int64_t want = 0;
        for (int64_t i = 1; i <= NITEMS / 20; i++) {
            gort_chan_send(c, &i);
            want += i;
        }
        gort_chan_close(c);
        /* The producer lets go at once: consumers may still be blocked or
         * draining; the last of them frees c. */
        gort_chan_release(c);
        gort_wg_wait(&cons_wg);
        ASSERT_EQ(atomic_load(&consumed), want);
    }
    ASSERT_TRUE(gort_chan_retain(NULL) == NULL);
    gort_chan_release(NULL);
    return 0;
}
TEST(chan_refcount_last_frees) {
    run(refs_main);
}

/* ------------------------------------------------------------------ typed */

typedef struct point {
    int x, y;
} point;
GORT_CHAN_DECLARE(intchan, int);
GORT_CHAN_DECLARE(pointchan, point);

static void point_producer(void *arg) {
    pointchan pc = {arg};
    for (int i = 0; i < 100; i++)
        pointchan_send(pc, (point){i, -i});
    pointchan_close(pc);
    pointchan_release(pc);
}

static int typed_main(void *arg) {
    (void)arg;
    intchan c = intchan_make(4);
    ASSERT_TRUE(c.chan != NULL);
    ASSERT_EQ(intchan_cap(c), 4);
    intchan_send(c, 7);
    ASSERT_TRUE(intchan_trysend(c, 8));
    ASSERT_EQ(intchan_len(c), 2);
    int v = 0;
    bool ok = false;
    ASSERT_TRUE(intchan_recv(c, &v));
    ASSERT_EQ(v, 7);
    ASSERT_TRUE(intchan_tryrecv(c, &v, &ok));
    ASSERT_TRUE(ok);
    ASSERT_EQ(v, 8);
    ASSERT_FALSE(intchan_tryrecv(c, &v, &ok));
    /* Select cases. */
    int out = 5, in = 0;
    intchan d = intchan_make(0);
    gort_select_case cs[] = {intchan_recv_case(d, &in), intchan_send_case(c, &out)};
    ASSERT_EQ(gort_select(cs, 2, true), 1);
    ASSERT_TRUE(intchan_recv(c, &v));
    ASSERT_EQ(v, 5);
    /* Range until close. */
    for (int i = 1; i <= 4; i++)
        intchan_send(c, i * 10);
    intchan_close(c);
    int sum = 0, n = 0;
    GORT_CHAN_RANGE(intchan, c, x) {
        sum += x;
        n++;
    }
    ASSERT_EQ(sum, 100);
    ASSERT_EQ(n, 4);
    intchan_free(c);
    intchan_free(d);

    /* A struct element type, across goroutines, with break. */
    pointchan pc = pointchan_make(0);
    ASSERT_EQ(gort_go(point_producer, pointchan_retain(pc).chan), 0);
    int seen = 0;
    GORT_CHAN_RANGE(pointchan, pc, p) {
        ASSERT_EQ(p.x, seen);
        ASSERT_EQ(p.y, -seen);
        if (++seen == 100)
            continue;
    }
    ASSERT_EQ(seen, 100);
    pointchan_release(pc);
    return 0;
}
TEST(typed_channels) {
    run(typed_main);
}

/* ------------------------------------------------------------------ select_timeout */

static int selto_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int v = 0;
    gort_select_case cs[] = {{c, GORT_RECV, &v, false}};
    int64_t t0 = gort_nanotime();
    ASSERT_EQ(gort_select_timeout(cs, 1, 20 * MS), GORT_SELECT_TIMEOUT);
    ASSERT_TRUE(gort_nanotime() - t0 >= 20 * MS);
    ASSERT_EQ(gort_select_timeout(cs, 1, 0), GORT_SELECT_TIMEOUT);
    int one = 1;
    gort_chan_send(c, &one);
    ASSERT_EQ(gort_select_timeout(cs, 1, 3600 * GT_SEC), 0);
    ASSERT_TRUE(cs[0].ok);
    ASSERT_EQ(v, 1);
    gort_chan_send(c, &one);
    ASSERT_EQ(gort_select_timeout(cs, 1, -1), 0); /* polls */
    /* Zero cases: sleeps. */
    t0 = gort_nanotime();
    ASSERT_EQ(gort_select_timeout(NULL, 0, 5 * MS), GORT_SELECT_TIMEOUT);
    ASSERT_TRUE(gort_nanotime() - t0 >= 5 * MS);
    /* More cases than fit on its stack. */
    gort_select_case many[40];
    for (int i = 0; i < 40; i++)
        many[i] = (gort_select_case){i == 33 ? c : NULL, GORT_RECV, &v, false};
    ASSERT_EQ(gort_select_timeout(many, 40, MS), GORT_SELECT_TIMEOUT);
    int two = 2;
    gort_chan_send(c, &two);
    ASSERT_EQ(gort_select_timeout(many, 40, 3600 * GT_SEC), 33);
    ASSERT_EQ(v, 2);
    gort_chan_free(c);
    /* No timer is left behind. */
    ASSERT_EQ(gort__export_timers_earliest(), 0); /* white-box (export_test.c) */
    return 0;
}
TEST(select_timeout) {
    run(selto_main);
}

/* Before gort_main, no timer would fire: the select polls its cases
 * between naps (it was a fatal error that said "out of memory"), and
 * gort_after is NULL, as gort_timer_new (its channel never fired). */
typedef struct late_send {
    gort_chan *c;
    int v;
} late_send;

static void *late_sender(void *arg) {
    late_send *l = arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    gort_chan_send(l->c, &l->v);
    return NULL;
}

TEST(select_timeout_outside_gort_main) {
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    ASSERT_NOT_NULL(c);
    int v = 0;
    gort_select_case cs[] = {{c, GORT_RECV, &v, false}};
    int64_t t0 = gort_nanotime();
    ASSERT_EQ(gort_select_timeout(cs, 1, 3 * MS), GORT_SELECT_TIMEOUT);
    ASSERT_TRUE(gort_nanotime() - t0 >= 3 * MS);
    t0 = gort_nanotime();
    ASSERT_EQ(gort_select_timeout(NULL, 0, 2 * MS), GORT_SELECT_TIMEOUT);
    ASSERT_TRUE(gort_nanotime() - t0 >= 2 * MS);
    late_send l = {c, 7};
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, late_sender, &l), 0);
    ASSERT_EQ(gort_select_timeout(cs, 1, 60 * GT_SEC), 0);
    ASSERT_TRUE(cs[0].ok);
    ASSERT_EQ(v, 7);
    pthread_join(th, NULL);
    ASSERT_NULL(gort_after(MS));
    gort_chan_free(c);
    run(selto_main); /* and inside it, as before */
}

/* ------------------------------------------------------------------ after */

static int after_main(void *arg) {
    (void)arg;
    /* Received: frees itself (ASan/LSan/valgrind check it is freed). */
    for (int i = 0; i < 100; i++) {
        int64_t t0 = gort_nanotime();
        gort_chan *a = gort_after(i % 10 * 100 * GT_US);
        int64_t when = 0;
        ASSERT_TRUE(gort_chan_recv(a, &when));
        ASSERT_TRUE(when >= t0 + i % 10 * 100 * GT_US);
    }
    /* Received through a select and through tryrecv. */
    gort_chan *a = gort_after(MS);
    gort_select_case cs[] = {{a, GORT_RECV, NULL, false}};
    ASSERT_EQ(gort_select(cs, 1, true), 0);
    a = gort_after(0);
    bool ok = false;
    while (!gort_chan_tryrecv(a, NULL, &ok))
        gort_sleep(GT_MS / 10);
    ASSERT_TRUE(ok);
    /* Given up before it fires (a select chose another case): release. */
    gort_chan *never = gort_chan_make(0, 0);
    gort_chan *b = gort_after(3 * MS);
    gort_chan_release(b);
    gort_sleep(20 * MS * gt_scale()); /* it fires, and frees itself */
    /* Given up after it fired. */
    gort_chan *late = gort_after(0);
    gort_sleep(5 * MS);
    gort_chan_release(late);
    gort_chan_free(never);
    return 0;
}
TEST(after_frees_itself) {
    run(after_main);
}

/* ------------------------------------------------------------------ errgroup */

static atomic_int running, maxrunning, ran;

static int limited_job(void *arg) {
    (void)arg;
    int r = atomic_fetch_add(&running, 1) + 1;
    int m = atomic_load(&maxrunning);
    while (r > m && !atomic_compare_exchange_weak(&maxrunning, &m, r)) {
    }
    for (int i = 0; i < 3; i++)
        gort_yield();
    if (atomic_fetch_add(&ran, 1) % 7 == 0)
        gort_sleep(100 * GT_US);
    atomic_fetch_sub(&running, 1);
    return 0;
}

static int gated_job(void *arg) {
    gort_chan_recv(arg, NULL);
    return 0;
}

static char recovered[128];
static void rec(void *arg) {
    (void)arg;
    const char *m = gort_recover();
    snprintf(recovered, sizeof recovered, "%s", m ? m : "(nil)");
}
static void set_limit_busy(void *arg) {
    gort_defer(rec, NULL);
    gort_errgroup_set_limit(arg, 3);
}

static int limit_main(void *arg) {
    (void)arg;
    for (int limit = 1; limit <= 4; limit++) {
        atomic_store(&maxrunning, 0);
        atomic_store(&ran, 0);
        gort_errgroup *g = gort_errgroup_new();
        gort_errgroup_set_limit(g, limit);
        for (int i = 0; i < 300; i++)
            ASSERT_EQ(gort_errgroup_go(g, limited_job, NULL), 0);
        ASSERT_EQ(gort_errgroup_wait(g), 0);
        ASSERT_EQ(atomic_load(&ran), 300);
        ASSERT_TRUE(atomic_load(&maxrunning) <= limit);
        ASSERT_TRUE(atomic_load(&maxrunning) >= 1);
        gort_errgroup_free(g);
    }
    /* try_go fails while the limit is reached; changing the limit then
     * panics with Go's text. */
    gort_errgroup *g = gort_errgroup_new();
    gort_errgroup_set_limit(g, 1);
    gort_chan *gate = gort_chan_make(0, 0);
    ASSERT_EQ(gort_errgroup_try_go(g, gated_job, gate), 0);
    ASSERT_EQ(gort_errgroup_try_go(g, gated_job, gate), -EAGAIN);
    ASSERT_EQ(gort_call(set_limit_busy, g), 1);
    ASSERT_STREQ(recovered,
                 "errgroup: modify limit while 1 goroutines in the group are still active");
    gort_chan_close(gate);
    ASSERT_EQ(gort_errgroup_wait(g), 0);
    gort_errgroup_set_limit(g, -1); /* idle again: allowed */
    gort_errgroup_free(g);
    gort_chan_free(gate);
    return 0;
}
TEST(errgroup_limit_never_exceeded) {
    run(limit_main);
}


/* The first error wins, the group's context is cancelled by it, and the
 * functions still running see the cancellation. */
typedef struct job {
    gort_ctx *ctx;
    int id;
} job;
static atomic_int saw_cancel;

static int ctx_job(void *arg) {
    job *j = arg; /* the goroutine's own copy */
    if (j->id == 3) {
        gort_sleep(2 * MS);
        return -EIO;
    }
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(j->ctx), NULL));
    ASSERT_EQ(gort_ctx_err(j->ctx), -ECANCELED);
    atomic_fetch_add(&saw_cancel, 1);
    return 0;
}

static int first_main(void *arg) {
    (void)arg;
    gort_ctx *ctx = NULL;
    gort_errgroup *g = gort_errgroup_with_context(gort_ctx_background(), &ctx);
    ASSERT_TRUE(g != NULL && ctx != NULL);
    for (int i = 0; i < 9; i++) {
        job j = {ctx, i};
        ASSERT_EQ(gort_errgroup_go_copy(g, ctx_job, &j, sizeof j), 0);
    }
    ASSERT_EQ(gort_errgroup_wait(g), -EIO);
    ASSERT_EQ(atomic_load(&saw_cancel), 8);
    ASSERT_EQ(gort_ctx_err(ctx), -ECANCELED);
    gort_errgroup_free(g);

    /* No error: wait returns 0 and still cancels the context (Go). */
    g = gort_errgroup_with_context(gort_ctx_background(), &ctx);
    ASSERT_EQ(gort_errgroup_go_copy(g, limited_job, NULL, 0), 0);
    ASSERT_EQ(gort_errgroup_go_copy(g, limited_job, &g, GORT_ERRGROUP_COPY_MAX + 1), -EINVAL);
    ASSERT_EQ(gort_errgroup_wait(g), 0);
    ASSERT_EQ(gort_ctx_err(ctx), -ECANCELED);
    gort_errgroup_free(g);
    return 0;
}
TEST(errgroup_first_error_cancels) {
    run(first_main);
}

/* ------------------------------------------------------------------ wg_go */

static atomic_int wg_ran;
static void wg_job(void *arg) {
    atomic_fetch_add(&wg_ran, (int)(intptr_t)arg);
}
static int wggo_main(void *arg) {
    (void)arg;
    gort_waitgroup w = GORT_WAITGROUP_INIT;
    for (int i = 1; i <= 100; i++)
        ASSERT_EQ(gort_wg_go(&w, wg_job, (void *)(intptr_t)i), 0);
    gort_wg_wait(&w);
    ASSERT_EQ(atomic_load(&wg_ran), 5050);
    return 0;
}
TEST(waitgroup_go) {
    run(wggo_main);
}

GT_MAIN()

/* Plain threads in gort_select_timeout (on a channel nobody sends on)
 * while gort_main returns: a call that parked on its timer's channel
 * while the runtime ran waited for ever once the timer was dropped. */
static gort_chan *fst_never;
static atomic_int fst_stop, fst_exited;

static void *fst_thread(void *arg) {
    (void)arg;
    while (!atomic_load(&fst_stop)) {
        gort_select_case c[1] = {{fst_never, GORT_RECV, NULL, false}};
        ASSERT_EQ(gort_select_timeout(c, 1, 2 * MS), GORT_SELECT_TIMEOUT);
    }
    atomic_fetch_add(&fst_exited, 1);
    return NULL;
}

static int fst_main(void *arg) {
    pthread_t *t = arg;
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, fst_thread, NULL), 0);
    gort_sleep(20 * MS);
    return 7;
}

TEST(foreign_select_timeout_across_main_return) {
    if (RUNNING_ON_VALGRIND)
        GT_SKIP("valgrind runs one thread at a time, and the plain threads' loops starve "
                "the run (ThreadSanitizer and AddressSanitizer run it)");
    fst_never = gort_chan_make(sizeof(int), 0);
    for (int round = 0; round < 20; round++) {
        pthread_t t[2];
        atomic_store(&fst_stop, 0);
        atomic_store(&fst_exited, 0);
        ASSERT_EQ(gort_main(fst_main, t), 7);
        atomic_store(&fst_stop, 1);
        int64_t dl = gt_now_ns() + 5 * GT_SEC * gt_scale();
        while (atomic_load(&fst_exited) < 2) {
            if (gt_now_ns() > dl)
                GT_FAIL("round %d: gort_select_timeout(2 ms) still blocked 5 s after gort_main "
                        "returned",
                        round);
            gort_yield();
        }
        for (int i = 0; i < 2; i++)
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
    }
    gort_chan_free(fst_never);
}
