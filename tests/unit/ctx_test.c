/*
 * ctx_test.c - gort_ctx (issue 15): background, cancel propagating down a
 * tree and not up, deadlines and timeouts (-ETIMEDOUT), inherited
 * deadlines, children born cancelled, values, freeing parents before
 * children, and a cancelled tree leaving no timer and no node behind.
 */
#include "gt.h"
#include "gort.h"
#include "export_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define MS GT_MS

static void run(int (*fn)(void *)) {
    ASSERT_EQ(gort_main(fn, NULL), 0);
}

/* true if ctx's done channel is closed (a receive proceeds with !ok). */
static bool done_closed(gort_ctx *ctx) {
    bool ok = true;
    if (!gort_chan_tryrecv(gort_ctx_done(ctx), NULL, &ok))
        return false;
    ASSERT_FALSE(ok);
    return true;
}

static int background_main(void *arg) {
    (void)arg;
    gort_ctx *bg = gort_ctx_background();
    ASSERT_TRUE(bg != NULL);
    ASSERT_EQ(gort_ctx_background(), bg);
    ASSERT_TRUE(gort_ctx_done(bg) == NULL);
    ASSERT_EQ(gort_ctx_err(bg), 0);
    ASSERT_EQ(gort_ctx_deadline(bg), 0);
    gort_ctx_cancel(bg);
    gort_ctx_free(bg);
    ASSERT_EQ(gort_ctx_err(bg), 0);
    ASSERT_TRUE(gort_ctx_value(bg, "k") == NULL);
    return 0;
}
TEST(background) {
    run(background_main);
}

static int tree_main(void *arg) {
    (void)arg;
    gort_ctx *root = gort_ctx_with_cancel(gort_ctx_background());
    gort_ctx *a = gort_ctx_with_cancel(root);
    gort_ctx *b = gort_ctx_with_cancel(a);
    gort_ctx *c = gort_ctx_with_cancel(root);
    ASSERT_TRUE(root && a && b && c);
    ASSERT_EQ(gort_chan_cap(gort_ctx_done(a)), 0);
    ASSERT_FALSE(done_closed(b));
    /* Cancelling a cancels b, not root or c. */
    gort_ctx_cancel(a);
    ASSERT_EQ(gort_ctx_err(a), -ECANCELED);
    ASSERT_EQ(gort_ctx_err(b), -ECANCELED);
    ASSERT_TRUE(done_closed(a));
    ASSERT_TRUE(done_closed(b));
    ASSERT_EQ(gort_ctx_err(root), 0);
    ASSERT_EQ(gort_ctx_err(c), 0);
    ASSERT_FALSE(done_closed(c));
    gort_ctx_cancel(a); /* idempotent */
    ASSERT_EQ(gort_ctx_err(a), -ECANCELED);
    /* Cancelling root reaches c. */
    gort_ctx_cancel(root);
    ASSERT_EQ(gort_ctx_err(c), -ECANCELED);
    ASSERT_TRUE(done_closed(c));
    /* A child of a cancelled context is born cancelled. */
    gort_ctx *d = gort_ctx_with_cancel(c);
    ASSERT_EQ(gort_ctx_err(d), -ECANCELED);
    ASSERT_TRUE(done_closed(d));
    gort_ctx_free(d);
    gort_ctx_free(b);
    gort_ctx_free(a);
    gort_ctx_free(c);
    gort_ctx_free(root);
    ASSERT_EQ(gort__export_ctx_live(), 0);
    return 0;
}
TEST(cancel_tree) {
    run(tree_main);
}

/* Goroutines blocked on a done channel (recv and select) are all woken. */
enum { NWAITERS = 50 };
static gort_waitgroup waiters_wg;
static atomic_int woken;

static void waiter(void *arg) {
    gort_ctx *ctx = arg;
    if (atomic_load(&woken) % 2 == 0) {
        ASSERT_FALSE(gort_chan_recv(gort_ctx_done(ctx), NULL));
    } else {
        gort_chan *never = gort_chan_make(sizeof(int), 0);
        gort_select_case cs[2] = {{never, GORT_RECV, NULL, false},
                                  {gort_ctx_done(ctx), GORT_RECV, NULL, false}};
        ASSERT_EQ(gort_select(cs, 2, true), 1);
        ASSERT_FALSE(cs[1].ok);
        gort_chan_free(never);
    }
    ASSERT_EQ(gort_ctx_err(ctx), -ECANCELED);
    atomic_fetch_add(&woken, 1);
    gort_wg_done(&waiters_wg);
}

static int wake_main(void *arg) {
    (void)arg;
    gort_ctx *root = gort_ctx_with_cancel(gort_ctx_background());
    gort_ctx *child = gort_ctx_with_cancel(root);
    gort_wg_add(&waiters_wg, NWAITERS);
    for (int i = 0; i < NWAITERS; i++)
        ASSERT_EQ(gort_go(waiter, i % 2 ? root : child), 0);
    gort_sleep(10 * MS);
    ASSERT_EQ(atomic_load(&woken), 0);
    gort_ctx_cancel(root);
    gort_wg_wait(&waiters_wg);
    ASSERT_EQ(atomic_load(&woken), NWAITERS);
    gort_ctx_free(child);
    gort_ctx_free(root);
    return 0;
}
TEST(cancel_wakes_waiters) {
    run(wake_main);
}

static int timeout_main(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    gort_ctx *ctx = gort_ctx_with_timeout(gort_ctx_background(), 30 * MS);
    ASSERT_TRUE(ctx != NULL);
    int64_t dl = gort_ctx_deadline(ctx);
    ASSERT_TRUE(dl >= t0 + 30 * MS);
    gort_ctx *child = gort_ctx_with_cancel(ctx);
    ASSERT_EQ(gort_ctx_deadline(child), dl);
    ASSERT_EQ(gort_ctx_err(ctx), 0);
    /* Blocks until the deadline. */
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(child), NULL));
    ASSERT_TRUE(gort_nanotime() >= dl);
    ASSERT_EQ(gort_ctx_err(ctx), -ETIMEDOUT);
    ASSERT_EQ(gort_ctx_err(child), -ETIMEDOUT);
    /* A later cancel keeps the first cause. */
    gort_ctx_cancel(ctx);
    ASSERT_EQ(gort_ctx_err(ctx), -ETIMEDOUT);
    gort_ctx_free(child);
    gort_ctx_free(ctx);

    /* A deadline already passed: cancelled at once. */
    ctx = gort_ctx_with_deadline(gort_ctx_background(), gort_nanotime() - 1);
    ASSERT_EQ(gort_ctx_err(ctx), -ETIMEDOUT);
    ASSERT_TRUE(done_closed(ctx));
    gort_ctx_free(ctx);
    /* One at 0 too: it has a deadline, passed, which its children
     * inherit (gort_ctx_deadline said 0, "none", for both). */
    ctx = gort_ctx_with_deadline(gort_ctx_background(), 0);
    ASSERT_EQ(gort_ctx_err(ctx), -ETIMEDOUT);
    ASSERT_TRUE(gort_ctx_deadline(ctx) < 0);
    gort_ctx *c0 = gort_ctx_with_timeout(ctx, 3600 * GT_SEC);
    ASSERT_EQ(gort_ctx_deadline(c0), gort_ctx_deadline(ctx));
    ASSERT_EQ(gort_ctx_err(c0), -ETIMEDOUT);
    gort_ctx_free(c0);
    gort_ctx_free(ctx);

    /* A child's later deadline is its parent's; an earlier one its own. */
    int64_t now = gort_nanotime();
    gort_ctx *p = gort_ctx_with_deadline(gort_ctx_background(), now + 3600 * GT_SEC);
    gort_ctx *later = gort_ctx_with_deadline(p, now + 7200 * GT_SEC);
    gort_ctx *sooner = gort_ctx_with_timeout(p, 20 * MS);
    ASSERT_EQ(gort_ctx_deadline(later), now + 3600 * GT_SEC);
    ASSERT_TRUE(gort_ctx_deadline(sooner) < now + 3600 * GT_SEC);
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(sooner), NULL));
    ASSERT_EQ(gort_ctx_err(sooner), -ETIMEDOUT);
    ASSERT_EQ(gort_ctx_err(p), 0);
    ASSERT_EQ(gort_ctx_err(later), 0);
    gort_ctx_free(p); /* cancels later too */
    ASSERT_EQ(gort_ctx_err(later), -ECANCELED);
    gort_ctx_free(later);
    gort_ctx_free(sooner);
    ASSERT_EQ(gort__export_ctx_live(), 0);
    return 0;
}
TEST(deadline) {
    run(timeout_main);
}

static int value_main(void *arg) {
    (void)arg;
    static const char k1, k2, k3;
    int v1 = 1, v2 = 2, v1b = 11;
    gort_ctx *a = gort_ctx_with_value(gort_ctx_background(), &k1, &v1);
    gort_ctx *b = gort_ctx_with_cancel(a);
    gort_ctx *c = gort_ctx_with_value(b, &k2, &v2);
    gort_ctx *d = gort_ctx_with_value(c, &k1, &v1b); /* shadows k1 */
    ASSERT_EQ(gort_ctx_value(c, &k1), &v1);
    ASSERT_EQ(gort_ctx_value(c, &k2), &v2);
    ASSERT_TRUE(gort_ctx_value(c, &k3) == NULL);
    ASSERT_EQ(gort_ctx_value(d, &k1), &v1b);
    ASSERT_TRUE(gort_ctx_value(a, &k2) == NULL);
    /* A value context is cancelled with its parent. */
    gort_ctx_cancel(b);
    ASSERT_EQ(gort_ctx_err(d), -ECANCELED);
    ASSERT_EQ(gort_ctx_err(a), 0);
    /* Parents freed first: the children and their values stay valid. */
    gort_ctx_free(a);
    gort_ctx_free(b);
    gort_ctx_free(c);
    ASSERT_EQ(gort_ctx_value(d, &k2), &v2);
    ASSERT_EQ(gort_ctx_err(d), -ECANCELED);
    ASSERT_TRUE(done_closed(d));
    ASSERT_EQ(gort__export_ctx_live(), 4);
    gort_ctx_free(d);
    ASSERT_EQ(gort__export_ctx_live(), 0);
    return 0;
}
TEST(values_and_free_order) {
    run(value_main);
}

/* A deadline set outside gort_main (before it, or between two runs) fires
 * in the next gort_main: its timer waits for that run.  It never fired
 * (the timer had no P to go on), and a receive on its done channel was
 * "all goroutines are asleep - deadlock!". */
static gort_ctx *early, *early_child, *early_cancelled, *early_past;

static int early_deadline_main(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(early), NULL));
    ASSERT_EQ(gort_ctx_err(early), -ETIMEDOUT);
    ASSERT_LT(gort_nanotime() - t0, (int64_t)5000 * MS);
    /* The child is cancelled after the parent's done channel is closed,
     * as in Go (cancelCtx.cancel closes done, then cancels the children):
     * its own done channel says when. */
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(early_child), NULL));
    ASSERT_EQ(gort_ctx_err(early_child), -ETIMEDOUT);
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(early_past), NULL));
    ASSERT_EQ(gort_ctx_err(early_past), -ETIMEDOUT);
    ASSERT_EQ(gort_ctx_err(early_cancelled), -ECANCELED);
    return 0;
}

TEST(deadline_set_outside_gort_main) {
    for (int round = 0; round < 2; round++) { /* before the first run, then between runs */
        early = gort_ctx_with_timeout(gort_ctx_background(), 20 * MS);
        ASSERT_TRUE(early != NULL);
        early_child = gort_ctx_with_cancel(early);
        early_cancelled = gort_ctx_with_timeout(gort_ctx_background(), 20 * MS);
        gort_ctx_cancel(early_cancelled);
        /* Freed before the run: off the list, nothing left to fire. */
        gort_ctx_free(gort_ctx_with_timeout(gort_ctx_background(), 10 * MS));
        /* Past by the time the run starts. */
        early_past = gort_ctx_with_timeout(gort_ctx_background(), 1 * MS);
        usleep(5000);
        ASSERT_EQ(gort_ctx_err(early), 0);
        run(early_deadline_main);
        gort_ctx_free(early_child);
        gort_ctx_free(early);
        gort_ctx_free(early_cancelled);
        gort_ctx_free(early_past);
        ASSERT_EQ(gort__export_ctx_live(), 0);
    }
}

/* A value on the collected heap that only a context holds stays alive
 * while the context exists, also after its handle was freed while a
 * child still looks values up through it (Go: the valueCtx holds it).
 * Before the node was a collector root, the value was finalized here. */
static _Atomic int gcval_finalized;
static const int gcval_key = 0;

static void gcval_fin(void *p) {
    (void)p;
    atomic_store(&gcval_finalized, 1);
}

static __attribute__((noinline)) gort_ctx *gcval_make(void) {
    uint64_t *v = gort_new(8 * sizeof *v);
    for (int i = 0; i < 8; i++)
        v[i] = 0x5eed0000u + (uint64_t)i;
    gort_set_finalizer(v, gcval_fin);
    gort_ctx *parent = gort_ctx_with_value(gort_ctx_background(), &gcval_key, v);
    ASSERT_TRUE(parent != NULL);
    gort_ctx *child = gort_ctx_with_cancel(parent);
    ASSERT_TRUE(child != NULL);
    gort_ctx_free(parent); /* the child keeps the node */
    return child;
}

static int gcval_main(void *arg) {
    (void)arg;
    gort_ctx *child = gcval_make();
    gt_clear_stack_below();
    /* Several cycles: a stale copy of the pointer (in a register the
     * runtime saved, a dead frame) may keep it for the first few. */
    for (int i = 0; i < 20; i++) {
        gort_gc();
        for (int j = 0; j < 2000; j++)
            gort_keep_alive(gort_new(8 * sizeof(uint64_t)));
        gort_sleep(5 * MS); /* the finalizer goroutine's turn */
        ASSERT_EQ(atomic_load(&gcval_finalized), 0);
    }
    const uint64_t *v = gort_ctx_value(child, &gcval_key);
    ASSERT_TRUE(v != NULL);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(v[i], 0x5eed0000u + (uint64_t)i);
    gort_ctx_free(child);
    return 0;
}
TEST(value_on_heap_kept_alive) {
    run(gcval_main);
}

/* A tree of contexts with hour-long deadlines: cancelling its root removes
 * every timer from the heaps (no leak while the nodes are still held), and
 * freeing the nodes leaves none (ASan/LSan check the memory). */
static int leak_main(void *arg) {
    (void)arg;
    enum { N = 200 };
    static gort_ctx *nodes[N];
    ASSERT_EQ(gort__export_timers_earliest(), 0);
    nodes[0] = gort_ctx_with_timeout(gort_ctx_background(), 3600 * GT_SEC);
    for (int i = 1; i < N; i++) {
        gort_ctx *parent = nodes[(i - 1) / 3];
        nodes[i] =
            i % 2 ? gort_ctx_with_timeout(parent, 3600 * GT_SEC - i) : gort_ctx_with_cancel(parent);
        ASSERT_TRUE(nodes[i] != NULL);
    }
    ASSERT_EQ(gort__export_ctx_live(), N);
    ASSERT_TRUE(gort__export_timers_earliest() != 0);
    gort_ctx_cancel(nodes[0]);
    ASSERT_EQ(gort__export_timers_earliest(), 0);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(gort_ctx_err(nodes[i]), -ECANCELED);
        ASSERT_TRUE(done_closed(nodes[i]));
    }
    /* Free in a scrambled order, parents before children included. */
    for (int i = 0; i < N; i++)
        gort_ctx_free(nodes[(i * 7) % N]);
    ASSERT_EQ(gort__export_ctx_live(), 0);
    ASSERT_EQ(gort_numgoroutine(), 1);
    return 0;
}
TEST(cancelled_tree_frees_everything) {
    run(leak_main);
}

/* Cancels racing from many goroutines with deadlines firing and frees. */
static gort_waitgroup race_wg;
static void racer(void *arg) {
    gort_ctx *parent = arg;
    for (int i = 0; i < 200; i++) {
        gort_ctx *c = gort_ctx_with_timeout(parent, (i % 5) * 100 * GT_US);
        gort_ctx *cc = gort_ctx_with_cancel(c);
        if (i % 3 == 0)
            gort_ctx_cancel(c);
        if (i % 2)
            gort_yield();
        gort_ctx_free(c);
        ASSERT_TRUE(gort_ctx_err(cc) != 0);
        gort_ctx_free(cc);
    }
    gort_wg_done(&race_wg);
}

static int race_main(void *arg) {
    (void)arg;
    gort_ctx *root = gort_ctx_with_cancel(gort_ctx_background());
    gort_wg_add(&race_wg, 8);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(gort_go(racer, root), 0);
    gort_sleep(MS);
    gort_ctx_cancel(root);
    gort_wg_wait(&race_wg);
    gort_ctx_free(root);
    ASSERT_EQ(gort__export_ctx_live(), 0);
    ASSERT_EQ(gort__export_timers_earliest(), 0);
    return 0;
}
TEST(concurrent_cancel_and_free) {
    run(race_main);
}

static void nil_parent(void *arg) {
    (void)arg;
    (void)gort_ctx_with_cancel(NULL);
}
static char recovered[128];
static void rec(void *arg) {
    (void)arg;
    const char *m = gort_recover(); /* valid until we return: copy it */
    snprintf(recovered, sizeof recovered, "%s", m ? m : "(nil)");
}
static void call_nil_parent(void *arg) {
    gort_defer(rec, NULL);
    nil_parent(arg);
}
static int nil_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_call(call_nil_parent, NULL), 1);
    ASSERT_STREQ(recovered, "cannot create context from nil parent");
    return 0;
}
TEST(nil_parent_panics) {
    run(nil_main);
}

/* Go's Err takes the lock its cancel holds until done is closed and every
 * child is cancelled: whoever sees a parent's error sees all of that.  A
 * thread outside the runtime polls the parent while the main goroutine
 * cancels it; a parent's error seen before its done was closed or its
 * children cancelled (gort_ctx_err read the error without waiting for the
 * cancel to finish) is counted. */
enum { ORDER_KIDS = 64, ORDER_ROUNDS = 300 };
static gort_ctx *order_parent;
static gort_ctx *order_kids[ORDER_KIDS];
static _Atomic bool order_ready;
static int order_bad; /* [observer thread until joined] */

static void *order_observer(void *arg) {
    (void)arg;
    atomic_store(&order_ready, true);
    while (gort_ctx_err(order_parent) == 0) {
    }
    bool ok = true;
    if (!gort_chan_tryrecv(gort_ctx_done(order_parent), NULL, &ok))
        order_bad++;
    for (int i = 0; i < ORDER_KIDS; i++)
        if (gort_ctx_err(order_kids[i]) != -ECANCELED)
            order_bad++;
    return NULL;
}

static int err_order_main(void *arg) {
    (void)arg;
    for (int r = 0; r < ORDER_ROUNDS; r++) {
        order_parent = gort_ctx_with_cancel(gort_ctx_background());
        for (int i = 0; i < ORDER_KIDS; i++)
            order_kids[i] = gort_ctx_with_cancel(order_parent);
        atomic_store(&order_ready, false);
        pthread_t th;
        ASSERT_EQ(pthread_create(&th, NULL, order_observer, NULL), 0);
        while (!atomic_load(&order_ready))
            gort_yield();
        gort_ctx_cancel(order_parent);
        ASSERT_EQ(pthread_join(th, NULL), 0);
        for (int i = 0; i < ORDER_KIDS; i++)
            gort_ctx_free(order_kids[i]);
        gort_ctx_free(order_parent);
    }
    ASSERT_EQ(order_bad, 0);
    return 0;
}
TEST(err_seen_means_cancel_finished) {
    run(err_order_main);
}

GT_MAIN()
