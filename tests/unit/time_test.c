/*
 * time_test.c - timers (issue 4): deadline order, Stop/Reset return values
 * (Go 1.19), tickers dropping ticks for a slow receiver, Ticker.Reset's
 * panic, 10k sleepers, after_func in its own goroutine, sleep from a thread
 * outside the runtime, timers surviving GOMAXPROCS changes, a sleeping main
 * that is not a deadlock, and timer_free racing with firing.
 *
 * Timing checks are lower bounds plus generous upper bounds (gt_scale()).
 */
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define MS GT_MS

/* Receives one int64_t from c within secs (scaled), else fails. */
static int64_t recv_within(gort_chan *c, double secs) {
    int64_t dl = gort_nanotime() + (int64_t)(secs * gt_scale() * 1e9);
    int64_t v = 0;
    bool ok = false;
    while (!gort_chan_tryrecv(c, &v, &ok)) {
        if (gort_nanotime() > dl)
            GT_FAIL("no value on the timer channel after %.1fs", secs * gt_scale());
        gort_sleep(MS / 2);
    }
    ASSERT_TRUE(ok);
    return v;
}

/* ------------------------------------------------------------------ ordering */

enum { NORDER = 2000 };

/* The first deadline: far enough that every timer is made before it even
 * on a loaded machine (a timer made after its deadline fires at once, out
 * of deadline order). */
#define ORDER_BASE (100 * MS * gt_scale())

/* Fisher-Yates shuffle of NORDER deadlines t0 + ORDER_BASE + i * 50 us. */
static void shuffled_deadlines(int64_t *d, int64_t t0, unsigned seed) {
    for (int i = 0; i < NORDER; i++)
        d[i] = t0 + ORDER_BASE + i * (MS / 20);
    srand(seed);
    for (int i = NORDER - 1; i > 0; i--) {
        int j = rand() % (i + 1);
        int64_t t = d[i];
        d[i] = d[j];
        d[j] = t;
    }
}

/* Many timers with random deadlines fire in deadline order: on one P, a
 * timer never fires at a later time than one with a later deadline, and
 * none fires before its deadline.  A timer's deadline is known only within
 * [lo, hi] (gort_nanotime() before and after gort_timer_new, which reads
 * the clock itself), so pairs whose ranges overlap are not compared. */
static int order_main(void *arg) {
    (void)arg;
    int64_t *d = calloc(NORDER, sizeof *d);
    gort_timer **ts = calloc(NORDER, sizeof *ts);
    int *byd = calloc(NORDER, sizeof *byd);
    int64_t *lo = calloc(NORDER, sizeof *lo), *hi = calloc(NORDER, sizeof *hi);
    int64_t t0 = gort_nanotime();
    shuffled_deadlines(d, t0, 42);
    for (int i = 0; i < NORDER; i++) {
        int64_t ns = d[i] - gort_nanotime();
        int64_t add = ns > 0 ? ns : 0; /* the timer's deadline: its clock + add */
        lo[i] = gort_nanotime() + add;
        ts[i] = gort_timer_new(ns);
        hi[i] = gort_nanotime() + add;
        ASSERT_NOT_NULL(ts[i]);
        byd[(d[i] - t0 - ORDER_BASE) / (MS / 20)] = i;
    }
    int64_t *v = calloc(NORDER, sizeof *v);
    for (int k = 0; k < NORDER; k++) {
        int i = byd[k];
        ASSERT_TRUE(gort_chan_recv(gort_timer_chan(ts[i]), &v[i]));
        ASSERT_GE(v[i], lo[i]);
    }
    /* Deadline order: for timers a, b with hi[a] < lo[b], v[a] <= v[b].
     * Checked against the running maximum of the v of every timer whose
     * range ends before b's begins. */
    for (int k = 1; k < NORDER; k++) {
        int b = byd[k];
        for (int j = k - 1; j >= 0 && j >= k - 64; j--) {
            int a = byd[j];
            if (hi[a] < lo[b])
                ASSERT_LE(v[a], v[b]);
        }
    }
    for (int i = 0; i < NORDER; i++)
        gort_timer_free(ts[i]);
    free(d);
    free(ts);
    free(byd);
    free(lo);
    free(hi);
    free(v);
    return 0;
}

TEST(order) {
    gort_gomaxprocs(1);
    run(order_main, NULL);
}

typedef struct order_state {
    _Atomic int late; /* functions that ran before their deadline */
    gort_waitgroup wg;
} order_state;

typedef struct order_arg {
    order_state *s;
    int64_t when;
} order_arg;

static void order_fn(void *arg) {
    order_arg *a = arg;
    if (gort_nanotime() < a->when)
        atomic_fetch_add(&a->s->late, 1);
    gort_wg_done(&a->s->wg);
}

/* after_func timers with random deadlines, on all Ps: every one runs, none
 * before its deadline. */
static int order_af_main(void *arg) {
    (void)arg;
    int64_t *d = calloc(NORDER, sizeof *d);
    gort_timer **ts = calloc(NORDER, sizeof *ts);
    order_arg *args = calloc(NORDER, sizeof *args);
    order_state s = {0};
    int64_t t0 = gort_nanotime();
    shuffled_deadlines(d, t0, 7);
    gort_wg_add(&s.wg, NORDER);
    for (int i = 0; i < NORDER; i++) {
        args[i] = (order_arg){&s, d[i]};
        ts[i] = gort_after_func(d[i] - gort_nanotime(), order_fn, &args[i]);
        if (i % 64 == 0)
            gort_yield();
    }
    gort_wg_wait(&s.wg);
    ASSERT_EQ(atomic_load(&s.late), 0);
    for (int i = 0; i < NORDER; i++)
        gort_timer_free(ts[i]);
    free(d);
    free(ts);
    free(args);
    return 0;
}

TEST(order_after_func) {
    run(order_af_main, NULL);
}

/* ------------------------------------------------------------------ stop/reset */

static int stop_reset_main(void *arg) {
    (void)arg;
    /* Stop before it fires: true; again: false. */
    gort_timer *t = gort_timer_new(3600 * INT64_C(1000000000));
    ASSERT_TRUE(gort_timer_stop(t));
    ASSERT_FALSE(gort_timer_stop(t));
    /* Reset of a stopped timer: false; it then fires. */
    ASSERT_FALSE(gort_timer_reset(t, MS));
    int64_t before = gort_nanotime();
    int64_t v = recv_within(gort_timer_chan(t), 5);
    ASSERT_GE(v, before);
    /* After it fired: Stop false, Reset false (expired). */
    ASSERT_FALSE(gort_timer_stop(t));
    ASSERT_FALSE(gort_timer_reset(t, 3600 * INT64_C(1000000000)));
    /* Reset of an active timer: true. */
    ASSERT_TRUE(gort_timer_reset(t, 3600 * INT64_C(1000000000)));
    ASSERT_TRUE(gort_timer_reset(t, 2 * MS));
    recv_within(gort_timer_chan(t), 5);
    ASSERT_FALSE(gort_timer_stop(t));
    gort_timer_free(t);

    /* The value sent is gort_nanotime() at firing, at or after the deadline. */
    int64_t t0 = gort_nanotime();
    t = gort_timer_new(20 * MS);
    v = recv_within(gort_timer_chan(t), 5);
    ASSERT_GE(v - t0, 20 * MS);
    ASSERT_GE(gort_nanotime() - t0, 20 * MS);
    gort_timer_free(t);

    /* Free of an active timer: it never fires. */
    t = gort_timer_new(MS);
    gort_timer_free(t);
    gort_sleep(5 * MS);

    /* after_func timers: no channel; Stop before they fire is true. */
    t = gort_after_func(3600 * INT64_C(1000000000), (void (*)(void *))abort, NULL);
    ASSERT_NULL(gort_timer_chan(t));
    ASSERT_TRUE(gort_timer_stop(t));
    gort_timer_free(t);
    return 0;
}

TEST(stop_reset) {
    run(stop_reset_main, NULL);
}

/* Go's AfterFunc(d, nil) makes the timer; only its firing is the fatal
 * error "go of nil func value" (crash.after_func_nil_fires).  Stopped,
 * reset and stopped again before it fires, it does nothing. */
static int after_func_nil_main(void *arg) {
    (void)arg;
    gort_timer *t = gort_after_func(3600 * INT64_C(1000000000), NULL, NULL);
    ASSERT_TRUE(t != NULL);
    ASSERT_NULL(gort_timer_chan(t));
    ASSERT_TRUE(gort_timer_stop(t));
    ASSERT_FALSE(gort_timer_reset(t, 3600 * INT64_C(1000000000)));
    ASSERT_TRUE(gort_timer_stop(t));
    gort_timer_free(t);
    return 0;
}

TEST(after_func_nil_stopped) {
    run(after_func_nil_main, NULL);
}

/* ------------------------------------------------------------------ tickers */

static void ticker_reset_zero(void *arg) {
    gort_ticker_reset(arg, 0);
}

static int ticker_main(void *arg) {
    (void)arg;
    ASSERT_NULL(gort_ticker_new(0));
    ASSERT_NULL(gort_ticker_new(-1));
    gort_ticker *tk = gort_ticker_new(MS);
    ASSERT_NOT_NULL(tk);
    gort_chan *c = gort_ticker_chan(tk);
    ASSERT_EQ(gort_chan_cap(c), 1u);
    /* A slow receiver: 50 periods pass, only one tick is buffered. */
    gort_sleep(50 * MS);
    ASSERT_EQ(gort_chan_len(c), 1u);
    int64_t v1 = recv_within(c, 5);
    int64_t v2 = recv_within(c, 5);
    ASSERT_GT(v2, v1);
    /* Ticks keep coming at about the period (not a burst of the dropped). */
    int64_t t0 = gort_nanotime();
    for (int i = 0; i < 10; i++)
        recv_within(c, 5);
    ASSERT_GE(gort_nanotime() - t0, 8 * MS);
    /* Reset to a long period: no tick for a while. */
    gort_ticker_reset(tk, 3600 * INT64_C(1000000000));
    int64_t dummy;
    (void)gort_chan_tryrecv(c, &dummy, NULL); /* a tick sent before the reset */
    gort_sleep(10 * MS);
    ASSERT_EQ(gort_chan_len(c), 0u);
    gort_ticker_reset(tk, 2 * MS);
    recv_within(c, 5);
    gort_ticker_stop(tk);
    (void)gort_chan_tryrecv(c, &dummy, NULL);
    gort_sleep(10 * MS);
    ASSERT_EQ(gort_chan_len(c), 0u);
    gort_ticker_free(tk);
    return 0;
}

static void recover_expect(void *arg) {
    (void)arg;
    const char *msg = gort_recover();
    ASSERT_NOT_NULL(msg);
    ASSERT_STREQ(msg, "non-positive interval for Ticker.Reset");
}

static void ticker_reset_zero_call(void *arg) {
    gort_defer(recover_expect, NULL);
    ticker_reset_zero(arg);
}

static int ticker_panic_main(void *arg) {
    (void)arg;
    gort_ticker *tk = gort_ticker_new(MS);
    ASSERT_EQ(gort_call(ticker_reset_zero_call, tk), 1);
    gort_ticker_free(tk);
    return 0;
}

TEST(ticker_drop) {
    run(ticker_main, NULL);
}

TEST(ticker_reset_panic) {
    run(ticker_panic_main, NULL);
}

/* ------------------------------------------------------------------ sleepers */

typedef struct sleepers_state {
    _Atomic int woke;
    gort_waitgroup wg;
} sleepers_state;

static void sleeper(void *arg) {
    sleepers_state *s = arg;
    int64_t t0 = gort_nanotime();
    gort_sleep(10 * MS);
    ASSERT_GE(gort_nanotime() - t0, 10 * MS);
    atomic_fetch_add(&s->woke, 1);
    gort_wg_done(&s->wg);
}

static int sleepers_main(void *arg) {
    (void)arg;
    int n = gt_scale() > 1 ? 2000 : 10000;
    sleepers_state s = {0};
    gort_wg_add(&s.wg, n);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(gort_go(sleeper, &s), 0);
    gort_wg_wait(&s.wg);
    ASSERT_EQ(atomic_load(&s.woke), n);
    return 0;
}

TEST(sleepers_10k) {
    run(sleepers_main, NULL);
}

/* Sleeps wake on time: each one is at least its duration, and not
 * absurdly late. */
static int sleep_time_main(void *arg) {
    (void)arg;
    gort_sleep(0);
    gort_sleep(-5);
    for (int i = 0; i < 20; i++) {
        int64_t t0 = gort_nanotime();
        gort_sleep(2 * MS);
        int64_t el = gort_nanotime() - t0;
        ASSERT_GE(el, 2 * MS);
        ASSERT_LT(el, 500 * MS * gt_scale());
    }
    return 0;
}

TEST(sleep_time) {
    run(sleep_time_main, NULL);
}

TEST(sleep_time_p1) {
    gort_gomaxprocs(1);
    run(sleep_time_main, NULL);
}

/* A sleeping main with no other goroutine is not a deadlock. */
static int sleep_main_only(void *arg) {
    (void)arg;
    gort_sleep(30 * MS);
    gort_timer *t = gort_timer_new(20 * MS);
    int64_t v;
    ASSERT_TRUE(gort_chan_recv(gort_timer_chan(t), &v));
    gort_timer_free(t);
    return 0;
}

TEST(sleep_not_deadlock) {
    run(sleep_main_only, NULL);
}

TEST(sleep_not_deadlock_p1) {
    gort_gomaxprocs(1);
    run(sleep_main_only, NULL);
}

/* ------------------------------------------------------------------ after_func */

typedef struct af_state {
    _Atomic int64_t goid;
    gort_chan *done;
} af_state;

static void af_fn(void *arg) {
    af_state *s = arg;
    atomic_store(&s->goid, gort_goid());
    int one = 1;
    gort_chan_send(s->done, &one);
}

static int after_func_main(void *arg) {
    (void)arg;
    af_state s = {0, gort_chan_make(sizeof(int), 0)};
    int64_t t0 = gort_nanotime();
    gort_timer *t = gort_after_func(5 * MS, af_fn, &s);
    ASSERT_NULL(gort_timer_chan(t));
    int v;
    ASSERT_TRUE(gort_chan_recv(s.done, &v));
    ASSERT_GE(gort_nanotime() - t0, 5 * MS);
    int64_t g = atomic_load(&s.goid);
    ASSERT_GT(g, 1);
    ASSERT_NE(g, gort_goid());
    ASSERT_FALSE(gort_timer_stop(t));
    /* Reset of an expired after_func timer runs it again. */
    ASSERT_FALSE(gort_timer_reset(t, MS));
    ASSERT_TRUE(gort_chan_recv(s.done, &v));
    ASSERT_NE(atomic_load(&s.goid), g);
    gort_timer_free(t);
    gort_chan_free(s.done);
    return 0;
}

TEST(after_func) {
    run(after_func_main, NULL);
}

/* ------------------------------------------------------------------ foreign threads */

static void *foreign_sleeper(void *arg) {
    _Atomic int *ok = arg;
    int64_t t0 = gort_nanotime();
    gort_sleep(10 * MS);
    if (gort_nanotime() - t0 >= 10 * MS)
        atomic_store(ok, 1);
    /* A timer made by a thread outside the runtime. */
    gort_timer *t = gort_timer_new(5 * MS);
    int64_t v;
    if (gort_chan_recv(gort_timer_chan(t), &v) && v >= t0)
        atomic_fetch_add(ok, 1);
    gort_timer_free(t);
    return NULL;
}

static int foreign_main(void *arg) {
    (void)arg;
    _Atomic int ok = 0;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, foreign_sleeper, &ok), 0);
    /* Keep main parked in gort while the thread works. */
    while (atomic_load(&ok) < 2)
        gort_sleep(MS);
    pthread_join(th, NULL);
    ASSERT_EQ(atomic_load(&ok), 2);
    return 0;
}

TEST(sleep_foreign) {
    run(foreign_main, NULL);
}

TEST(sleep_outside_runtime) {
    int64_t t0 = gort_nanotime();
    gort_sleep(5 * MS);
    ASSERT_GE(gort_nanotime() - t0, 5 * MS);
}

/* Timers with no runtime to fire them: made outside gort_main, NULL (they
 * crashed); one left pending when gort_main returned is stopped, its Stop
 * and Reset harmless (they crashed), and a Reset in a later gort_main
 * arms it again. */
static gort_timer *left_timer;
static gort_ticker *left_ticker;

static void never_fn(void *arg) {
    (void)arg;
}

static int leave_timers_main(void *arg) {
    (void)arg;
    left_timer = gort_timer_new(3600 * 1000 * MS);
    left_ticker = gort_ticker_new(3600 * 1000 * MS);
    ASSERT_NOT_NULL(left_timer);
    ASSERT_NOT_NULL(left_ticker);
    return 0;
}

static int rearm_main(void *arg) {
    (void)arg;
    ASSERT_FALSE(gort_timer_reset(left_timer, MS));
    int64_t v = 0;
    ASSERT_TRUE(gort_chan_recv(gort_timer_chan(left_timer), &v));
    ASSERT_GT(v, 0);
    return 0;
}

TEST(timers_outside_gort_main) {
    ASSERT_NULL(gort_timer_new(MS));
    ASSERT_NULL(gort_after_func(MS, never_fn, NULL));
    ASSERT_NULL(gort_ticker_new(MS));
    run(leave_timers_main, NULL);
    ASSERT_FALSE(gort_timer_stop(left_timer));
    ASSERT_FALSE(gort_timer_reset(left_timer, MS));
    gort_ticker_reset(left_ticker, MS);
    gort_ticker_stop(left_ticker);
    gort_ticker_free(left_ticker);
    ASSERT_NULL(gort_timer_new(MS)); /* after it too */
    run(rearm_main, NULL);
    gort_timer_free(left_timer);
}

/* ------------------------------------------------------------------ GOMAXPROCS */

typedef struct gmp_state {
    _Atomic int fired;
    gort_waitgroup wg;
} gmp_state;

static void gmp_fn(void *arg) {
    gmp_state *s = arg;
    atomic_fetch_add(&s->fired, 1);
    gort_wg_done(&s->wg);
}

static int gomaxprocs_main(void *arg) {
    (void)arg;
    enum { N = 400 };
    gmp_state s = {0};
    gort_timer *ts[N];
    gort_gomaxprocs(8);
    gort_wg_add(&s.wg, N);
    /* Timers spread over Ps: yield between creations so main moves. */
    for (int i = 0; i < N; i++) {
        ts[i] = gort_after_func(20 * MS + (i % 10) * MS, gmp_fn, &s);
        if (i % 16 == 0)
            gort_yield();
    }
    gort_gomaxprocs(1);
    gort_gomaxprocs(3);
    gort_gomaxprocs(1);
    gort_wg_wait(&s.wg);
    ASSERT_EQ(atomic_load(&s.fired), N);
    for (int i = 0; i < N; i++)
        gort_timer_free(ts[i]);
    /* And a sleep straddling a shrink. */
    gort_gomaxprocs(4);
    gort_timer *t = gort_timer_new(10 * MS);
    gort_gomaxprocs(1);
    recv_within(gort_timer_chan(t), 5);
    gort_timer_free(t);
    return 0;
}

TEST(gomaxprocs_change) {
    run(gomaxprocs_main, NULL);
}

/* Timers created on other Ps survive those Ps going away. */
typedef struct gmp2_state {
    gort_timer *t[8];
    gort_waitgroup made;
} gmp2_state;

static void gmp2_make(void *arg) {
    gmp2_state *s = arg;
    for (int i = 0; i < 8; i++) {
        if (s->t[i] == NULL) {
            s->t[i] = gort_timer_new(30 * MS);
            break;
        }
    }
    gort_wg_done(&s->made);
}

static gort_mutex gmp2_mu = GORT_MUTEX_INIT;

static void gmp2_make_locked(void *arg) {
    gort_mutex_lock(&gmp2_mu);
    gmp2_make(arg);
    gort_mutex_unlock(&gmp2_mu);
}

static int gomaxprocs2_main(void *arg) {
    (void)arg;
    gmp2_state s = {0};
    gort_gomaxprocs(8);
    gort_wg_add(&s.made, 8);
    for (int i = 0; i < 8; i++)
        gort_go(gmp2_make_locked, &s);
    gort_wg_wait(&s.made);
    gort_gomaxprocs(1);
    for (int i = 0; i < 8; i++) {
        recv_within(gort_timer_chan(s.t[i]), 5);
        gort_timer_free(s.t[i]);
    }
    return 0;
}

TEST(gomaxprocs_shrink) {
    run(gomaxprocs2_main, NULL);
}

/* ------------------------------------------------------------------ free while firing */

typedef struct ff_state {
    _Atomic int stop;
    gort_waitgroup wg;
    _Atomic int64_t calls;
} ff_state;

static void ff_cb(void *arg) {
    ff_state *s = arg;
    atomic_fetch_add(&s->calls, 1);
}

static void ff_worker(void *arg) {
    ff_state *s = arg;
    unsigned seed = (unsigned)gort_goid();
    while (!atomic_load(&s->stop)) {
        /* Timers due now or very soon, freed at about the moment they
         * fire: the free waits for a send/spawn in progress. */
        int64_t d = (int64_t)(rand_r(&seed) % 20) * 1000;
        gort_timer *t = gort_timer_new(d);
        gort_timer *a = gort_after_func(d, ff_cb, s);
        gort_ticker *k = gort_ticker_new(1000 + d);
        if (rand_r(&seed) % 2)
            gort_yield();
        else
            gort_sleep(d + 1);
        gort_timer_free(t);
        gort_timer_free(a);
        gort_ticker_free(k);
    }
    gort_wg_done(&s->wg);
}

static int free_firing_main(void *arg) {
    (void)arg;
    ff_state s = {0};
    int nw = 8;
    gort_wg_add(&s.wg, nw);
    for (int i = 0; i < nw; i++)
        gort_go(ff_worker, &s);
    gort_sleep(300 * MS);
    atomic_store(&s.stop, 1);
    gort_wg_wait(&s.wg);
    /* after_func goroutines may still run: let them finish. */
    gort_sleep(20 * MS);
    return 0;
}

TEST(free_while_firing) {
    run(free_firing_main, NULL);
}

/* ------------------------------------------------------------------ exit */

static gort_timer *exit_timer;
static gort_ticker *exit_ticker;

static void exit_sleeper(void *arg) {
    (void)arg;
    gort_sleep(3600 * INT64_C(1000000000));
}

/* main returns while goroutines sleep and timers are pending: the runtime
 * shuts down cleanly, the user's timers can still be freed afterwards, and
 * a second gort_main works. */
static int exit_main(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++)
        gort_go(exit_sleeper, NULL);
    exit_timer = gort_timer_new(3600 * INT64_C(1000000000));
    exit_ticker = gort_ticker_new(MS);
    gort_sleep(5 * MS);
    return 0;
}

TEST(exit_with_timers) {
    run(exit_main, NULL);
    gort_timer_free(exit_timer);
    gort_ticker_free(exit_ticker);
    run(sleep_main_only, NULL);
}

/* ------------------------------------------------------------------ early wake */

typedef struct early_state {
    gort_chan *c;
    _Atomic int64_t woke;
} early_state;

static void early_g(void *arg) {
    early_state *s = arg;
    gort_sleep(5 * MS);
    int one = 1;
    gort_chan_send(s->c, &one);
}

static void *early_thread(void *arg) {
    early_state *s = arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    /* Every goroutine is blocked and an M sleeps until the 1 h timer: a
     * new goroutine's 5 ms sleep must wake it (wakeNetPoller), and a timer
     * made here too. */
    gort_go(early_g, s);
    gort_timer *t = gort_timer_new(5 * MS);
    int64_t v;
    gort_chan_recv(gort_timer_chan(t), &v);
    atomic_store(&s->woke, v);
    gort_timer_free(t);
    return NULL;
}

static int early_main(void *arg) {
    (void)arg;
    early_state s = {gort_chan_make(sizeof(int), 0), 0};
    gort_timer *far = gort_timer_new(3600 * INT64_C(1000000000));
    gort_sleep(MS); /* let an idle M settle on the far timer */
    int64_t t0 = gort_nanotime();
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, early_thread, &s), 0);
    int v;
    ASSERT_TRUE(gort_chan_recv(s.c, &v));
    int64_t el = gort_nanotime() - t0;
    /* pthread_join blocks this thread and, with no gort_syscall_enter
     * hand-off yet, its P: with GOMAXPROCS=1 the thread's own timer (on that
     * P) could then never fire.  Wait by parking until it is done. */
    while (atomic_load(&s.woke) == 0)
        gort_sleep(MS);
    pthread_join(th, NULL);
    ASSERT_GE(el, 35 * MS);
    ASSERT_LT(el, 2000 * MS * gt_scale());
    ASSERT_NE(atomic_load(&s.woke), 0);
    ASSERT_TRUE(gort_timer_stop(far));
    gort_timer_free(far);
    gort_chan_free(s.c);
    return 0;
}

TEST(earlier_timer_wakes_sleeper) {
    run(early_main, NULL);
}

TEST(earlier_timer_wakes_sleeper_p1) {
    gort_gomaxprocs(1);
    run(early_main, NULL);
}

/* Two goroutines reset one timer, or one ticker, at the same time, as Go
 * allows: each Reset takes the timer out and puts it back, and the second
 * put found it in a heap already and added it twice (the heap corrupted:
 * a crash in the timer code, or a lost sleep and a hang).  Afterwards the
 * timer still fires once and sleeps still end. */
static gort_timer *rr_timer;
static gort_ticker *rr_ticker;
static atomic_int rr_hits;
static gort_waitgroup rr_wg = GORT_WAITGROUP_INIT;

static void rr_hit(void *arg) {
    (void)arg;
    atomic_fetch_add(&rr_hits, 1);
}

static void rr_resetter(void *arg) {
    bool ticker = arg != NULL;
    for (int i = 0; i < 2000; i++) {
        if (ticker)
            gort_ticker_reset(rr_ticker, 10 * 1000 + (i % 3) * 20 * 1000);
        else
            (void)gort_timer_reset(rr_timer, (i % 3) * 20 * 1000);
        if (i % 10 == 0)
            gort_sleep(30 * 1000);
    }
    gort_wg_done(&rr_wg);
}

static int reset_race_main(void *arg) {
    (void)arg;
    int base = gort_numgoroutine();
    for (int round = 0; round < 10; round++) {
        rr_timer = gort_after_func(50 * 1000, rr_hit, NULL);
        rr_ticker = gort_ticker_new(50 * 1000);
        ASSERT_TRUE(rr_timer != NULL && rr_ticker != NULL);
        gort_wg_add(&rr_wg, 4);
        for (int k = 0; k < 4; k++)
            go(rr_resetter, k < 2 ? NULL : (void *)1);
        gort_wg_wait(&rr_wg);
        /* Stopped, then one more Reset: exactly one more fire.  The calls
         * already started run in goroutines of their own: wait until they
         * are gone (the resetters too), not for a time, which a loaded
         * machine can outlast (a late one counted as a second fire, 1 run
         * in 200 with four copies under TSan). */
        (void)gort_timer_stop(rr_timer);
        WAIT_UNTIL(gort_numgoroutine() == base, 5, "the fires already started to finish");
        int before = atomic_load(&rr_hits);
        (void)gort_timer_reset(rr_timer, GT_MS);
        WAIT_UNTIL(atomic_load(&rr_hits) != before, 5, "the timer to fire once");
        gort_sleep(5 * GT_MS);
        ASSERT_EQ(atomic_load(&rr_hits), before + 1);
        gort_timer_free(rr_timer);
        gort_ticker_free(rr_ticker);
    }
    return 0;
}

TEST(concurrent_resets) {
    setenv("GOMAXPROCS", "2", 1);
    run(reset_race_main, NULL);
    unsetenv("GOMAXPROCS");
}

/* Go's durations up to math.MaxInt64 are legal (time.Sleep(math.MaxInt64),
 * NewTimer, a Ticker's period): a deadline past the clock's range is
 * maxWhen.  gort computed now + ns (and a ticker's next tick) with C's
 * signed overflow, undefined behaviour that UBSan reported ("signed
 * integer overflow" in when_after, gort_sleep and runone) in the
 * asan-ubsan build; the child's stderr must be empty of it. */
static void sleep_max(void *arg) {
    (void)arg;
    gort_sleep(INT64_MAX);
}

static int64_t max_ticks[2];

static void bubble_max_ticker(void *arg) {
    (void)arg;
    /* On the fake clock the second tick's time overflows: maxWhen. */
    gort_ticker *t = gort_ticker_new(INT64_MAX / 2);
    ASSERT_TRUE(gort_chan_recv(gort_ticker_chan(t), &max_ticks[0]));
    ASSERT_TRUE(gort_chan_recv(gort_ticker_chan(t), &max_ticks[1]));
    gort_ticker_free(t);
    gort_sleep(1); /* now + 1 overflows too: at once */
}

static int max_durations_main(void *arg) {
    (void)arg;
    go(sleep_max, NULL);
    gort_timer *t = gort_timer_new(INT64_MAX);
    ASSERT_TRUE(gort_timer_reset(t, INT64_MAX));
    ASSERT_TRUE(gort_timer_stop(t));
    gort_timer_free(t);
    gort_ticker *tk = gort_ticker_new(INT64_MAX);
    gort_ticker_reset(tk, INT64_MAX);
    gort_ticker_free(tk);
    gort_timer_free(gort_after_func(INT64_MAX, sleep_max, NULL));
    ASSERT_EQ(gort_synctest_run(bubble_max_ticker, NULL), 0);
    ASSERT_EQ(max_ticks[0], 946684800000000000LL + INT64_MAX / 2);
    ASSERT_EQ(max_ticks[1], INT64_MAX);
    return 0;
}

static int max_durations_child(void *arg) {
    (void)arg;
    return gort_main(max_durations_main, NULL);
}

TEST(max_durations_no_overflow) {
    char out[4096];
    int ws = gt_run_child(max_durations_child, NULL, out, sizeof out);
    if (strstr(out, "runtime error") != NULL)
        GT_FAIL("undefined behaviour reported:\n%s", out);
    ASSERT_TRUE(WIFEXITED(ws));
    ASSERT_EQ(WEXITSTATUS(ws), 0);
}

/* Plain threads making, resetting, stopping and freeing timers while
 * gort_main returns, and on after it: a call that found the runtime
 * running must not use a P or a timer heap that shutdown frees under it,
 * and a timer it stopped must be out of every heap before it is freed. */
static atomic_int tsh_stop;

static void *tsh_worker(void *arg) {
    (void)arg;
    while (!atomic_load(&tsh_stop)) {
        gort_timer *t = gort_timer_new(1000 * MS);
        if (t != NULL) {
            (void)gort_timer_reset(t, 2000 * MS);
            (void)gort_timer_stop(t);
            gort_timer_free(t);
        }
        gort_timer *f = gort_after_func(1000 * MS, NULL, NULL);
        gort_timer_free(f);
    }
    return NULL;
}

static int tsh_main(void *arg) {
    (void)arg;
    gort_sleep(20 * MS);
    return 7;
}

TEST(foreign_timers_while_main_returns) {
    if (RUNNING_ON_VALGRIND)
        GT_SKIP("valgrind runs one thread at a time, and the plain threads' loops starve "
                "the run (ThreadSanitizer and AddressSanitizer run it)");
    for (int round = 0; round < 20; round++) {
        atomic_store(&tsh_stop, 0);
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            ASSERT_EQ(pthread_create(&t[i], NULL, tsh_worker, NULL), 0);
        ASSERT_EQ(gort_main(tsh_main, NULL), 7);
        pause_ms(5);
        atomic_store(&tsh_stop, 1);
        for (int i = 0; i < 3; i++)
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
    }
}

GT_MAIN()
