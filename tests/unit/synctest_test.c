/*
 * synctest_test.c - gort_synctest_run / gort_synctest_wait (issue 15,
 * Go 1.25's testing/synctest): the fake clock's start, an hour of sleeps
 * in milliseconds of real time, timers, tickers, after_func and context
 * deadlines on the bubble's clock, Wait without moving the clock, a
 * goroutine blocked outside the bubble's durability holding the clock,
 * fd deadlines on the bubble's clock, WaitGroup durability by association
 * (Go 1.25), a mutex never durable, deadlocks reported as Go reports them
 * (recovered), and misuse panics.
 */
#include "gt.h"
#include "gort.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define MS GT_MS
#define SEC GT_SEC
#define BASE INT64_C(946684800000000000)

static void run(int (*fn)(void *)) {
    ASSERT_EQ(gort_main(fn, NULL), 0);
}

/* Runs fn in a bubble from a goroutine; asserts it returned 0. */
static void bubble(void (*fn)(void *), void *arg) {
    ASSERT_EQ(gort_synctest_run(fn, arg), 0);
}

/* ------------------------------------------------------------------ clock */

static int64_t seen_now;
static void clock_start(void *arg) {
    (void)arg;
    seen_now = gort_nanotime();
}
static int clock_main(void *arg) {
    (void)arg;
    int64_t real0 = gort_nanotime();
    bubble(clock_start, NULL);
    ASSERT_EQ(seen_now, BASE);
    /* Outside the bubble the clock is the real one. */
    ASSERT_TRUE(gort_nanotime() < BASE || gort_nanotime() - real0 < 3600 * SEC);
    ASSERT_TRUE(gort_nanotime() >= real0);
    return 0;
}
TEST(clock_starts_at_2000) {
    run(clock_main);
}

/* An hour of sleeping, in 1 s steps across 4 goroutines, takes ms. */
static gort_waitgroup hour_wg;
static atomic_int hour_steps;
static void hour_sleeper(void *arg) {
    int id = (int)(intptr_t)arg;
    int64_t t0 = gort_nanotime();
    for (int i = 0; i < 3600; i++) {
        gort_sleep(SEC);
        atomic_fetch_add(&hour_steps, 1);
    }
    ASSERT_EQ(gort_nanotime() - t0, 3600 * SEC);
    (void)id;
    gort_wg_done(&hour_wg);
}
static void hour_body(void *arg) {
    (void)arg;
    gort_wg_add(&hour_wg, 4);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(gort_go(hour_sleeper, (void *)(intptr_t)i), 0);
    gort_wg_wait(&hour_wg);
    ASSERT_EQ(gort_nanotime(), BASE + 3600 * SEC);
}
static int hour_main(void *arg) {
    (void)arg;
    int64_t real0 = gort_nanotime();
    bubble(hour_body, NULL);
    int64_t real = gort_nanotime() - real0;
    ASSERT_EQ(atomic_load(&hour_steps), 4 * 3600);
    /* Fake: an hour; real: well under a minute even under TSan. */
    ASSERT_TRUE(real < 60 * SEC);
    fprintf(stderr, "an hour of fake time took %.1f ms\n", real / 1e6);
    return 0;
}
TEST(sleep_an_hour) {
    run(hour_main);
}

/* ------------------------------------------------------------------ timers */

static atomic_int after_ran;
static int64_t after_at;
static void after_fn(void *arg) {
    (void)arg;
    after_at = gort_nanotime();
    atomic_store(&after_ran, 1);
}

static gort_timer *pending;

static void timers_body(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    gort_timer *t = gort_timer_new(5 * SEC);
    int64_t v = 0;
    ASSERT_TRUE(gort_chan_recv(gort_timer_chan(t), &v));
    ASSERT_EQ(v, t0 + 5 * SEC);
    ASSERT_EQ(gort_nanotime(), t0 + 5 * SEC);
    /* Stop before firing: no value, the clock does not jump to it. */
    ASSERT_TRUE(gort_timer_reset(t, 100 * SEC) == false);
    ASSERT_TRUE(gort_timer_stop(t));
    gort_timer_free(t);

    gort_ticker *tk = gort_ticker_new(2 * SEC);
    for (int i = 1; i <= 5; i++) {
        ASSERT_TRUE(gort_chan_recv(gort_ticker_chan(tk), &v));
        ASSERT_EQ(v, t0 + 5 * SEC + 2 * SEC * i);
    }
    gort_ticker_free(tk);

    gort_timer *af = gort_after_func(3 * SEC, after_fn, NULL);
    gort_sleep(10 * SEC);
    ASSERT_EQ(atomic_load(&after_ran), 1);
    ASSERT_EQ(after_at, t0 + 15 * SEC + 3 * SEC);
    gort_timer_free(af);

    /* A timer still pending when the bubble ends never fires. */
    pending = gort_timer_new(SEC);
}
static int timers_main(void *arg) {
    (void)arg;
    bubble(timers_body, NULL);
    /* Left in no heap: Stop finds it stopped, free works. */
    ASSERT_FALSE(gort_timer_stop(pending));
    gort_sleep(10 * MS);
    ASSERT_FALSE(gort_chan_tryrecv(gort_timer_chan(pending), NULL, NULL));
    gort_timer_free(pending);
    return 0;
}
TEST(timers_tickers_after_func) {
    run(timers_main);
}

static void ctx_body(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    gort_ctx *ctx = gort_ctx_with_timeout(gort_ctx_background(), 3600 * SEC);
    ASSERT_EQ(gort_ctx_deadline(ctx), t0 + 3600 * SEC);
    ASSERT_FALSE(gort_chan_recv(gort_ctx_done(ctx), NULL));
    ASSERT_EQ(gort_ctx_err(ctx), -ETIMEDOUT);
    ASSERT_EQ(gort_nanotime(), t0 + 3600 * SEC);
    gort_ctx_free(ctx);
}
static int ctx_main(void *arg) {
    (void)arg;
    bubble(ctx_body, NULL);
    return 0;
}
TEST(context_deadline) {
    run(ctx_main);
}

/* A select of bubble channels (here gort_select_timeout's timer and a
 * channel) and a sync.Cond wait are durable: the clock moves past them. */
static gort_mutex cmu;
static gort_cond cv;
static bool cready;
static void signaller(void *arg) {
    (void)arg;
    gort_sleep(5 * SEC);
    gort_mutex_lock(&cmu);
    cready = true;
    gort_cond_signal(&cv);
    gort_mutex_unlock(&cmu);
}
static void durable_body(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    gort_select_case cs[] = {{c, GORT_RECV, NULL, false}};
    ASSERT_EQ(gort_select_timeout(cs, 1, 90 * SEC), GORT_SELECT_TIMEOUT);
    ASSERT_EQ(gort_nanotime(), t0 + 90 * SEC);
    gort_chan *a = gort_after(10 * SEC);
    int64_t when = 0;
    ASSERT_TRUE(gort_chan_recv(a, &when));
    ASSERT_EQ(when, t0 + 100 * SEC);
    gort_cond_init(&cv, &cmu);
    ASSERT_EQ(gort_go(signaller, NULL), 0);
    gort_mutex_lock(&cmu);
    while (!cready)
        gort_cond_wait(&cv);
    gort_mutex_unlock(&cmu);
    ASSERT_EQ(gort_nanotime(), t0 + 105 * SEC);
    gort_chan_free(c);
}
static int durable_main(void *arg) {
    (void)arg;
    bubble(durable_body, NULL);
    return 0;
}
TEST(select_after_cond_durable) {
    run(durable_main);
}

/* ------------------------------------------------------------------ wait */

static atomic_int stage;
static void stage_worker(void *arg) {
    gort_chan *c = arg;
    atomic_store(&stage, 1);
    int v;
    ASSERT_TRUE(gort_chan_recv(c, &v));
    atomic_store(&stage, v);
}
static void wait_body(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    int64_t t0 = gort_nanotime();
    ASSERT_EQ(gort_go(stage_worker, c), 0);
    gort_synctest_wait(); /* the worker is durably blocked in recv */
    ASSERT_EQ(atomic_load(&stage), 1);
    int v = 7;
    gort_chan_send(c, &v);
    gort_synctest_wait(); /* the worker has exited */
    ASSERT_EQ(atomic_load(&stage), 7);
    ASSERT_EQ(gort_nanotime(), t0); /* Wait does not move the clock */
    gort_chan_free(c);
}
static int wait_main(void *arg) {
    (void)arg;
    bubble(wait_body, NULL);
    return 0;
}
TEST(wait_for_idle) {
    run(wait_main);
}

/* Not durably blocked (Go): a goroutine of the bubble blocks in blocked(),
 * which a goroutine outside the bubble ends after 50 ms of real time; the
 * clock waits for it, so a sleep of one fake second ends after it passed. */
typedef struct hold {
    void (*blocked)(void);
    atomic_int passed;
} hold;
static void hold_blocked(void *arg) {
    hold *h = arg;
    h->blocked();
    atomic_store(&h->passed, 1);
}
static void hold_body(void *arg) {
    hold *h = arg;
    int64_t t0 = gort_nanotime();
    ASSERT_EQ(gort_go(hold_blocked, h), 0);
    gort_sleep(SEC); /* cannot fire before blocked() returned */
    ASSERT_EQ(atomic_load(&h->passed), 1);
    ASSERT_EQ(gort_nanotime(), t0 + SEC);
}
static void hold_clock(void (*blocked)(void)) {
    hold h = {.blocked = blocked};
    bubble(hold_body, &h);
}

/* A channel from outside the bubble. */
static gort_chan *outside;
static void recv_outside(void) {
    int v;
    ASSERT_TRUE(gort_chan_recv(outside, &v));
}
static void outer_sender(void *arg) {
    (void)arg;
    gort_sleep(50 * MS);
    int v = 1;
    gort_chan_send(outside, &v);
}
static int holdclock_main(void *arg) {
    (void)arg;
    outside = gort_chan_make(sizeof(int), 0);
    ASSERT_EQ(gort_go(outer_sender, NULL), 0);
    hold_clock(recv_outside);
    gort_chan_free(outside);
    return 0;
}
TEST(outside_channel_not_durable) {
    run(holdclock_main);
}

/* Many goroutines sleeping, sending and selecting on bubble channels: the
 * clock ends exactly at the latest sleeper's total, every value arrives. */
enum { NPROD = 40, NMSG = 25 };
static gort_chan *many_c;
static int64_t prod_total[NPROD];
static void producer(void *arg) {
    int id = (int)(intptr_t)arg;
    int64_t slept = 0;
    for (int i = 0; i < NMSG; i++) {
        int64_t d = ((id * 7919 + i * 104729) % 1000 + 1) * MS;
        gort_sleep(d);
        slept += d;
        int64_t v = id;
        gort_select_case cs[] = {{many_c, GORT_SEND, &v, false}};
        ASSERT_EQ(gort_select_timeout(cs, 1, 3600 * SEC), 0);
    }
    prod_total[id] = slept;
}
static void many_body(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    many_c = gort_chan_make(sizeof(int64_t), 3);
    for (int i = 0; i < NPROD; i++)
        ASSERT_EQ(gort_go(producer, (void *)(intptr_t)i), 0);
    int counts[NPROD] = {0};
    gort_ticker *tk = gort_ticker_new(100 * MS);
    int got = 0, ticks = 0;
    while (got < NPROD * NMSG) {
        int64_t v;
        gort_select_case cs[] = {{many_c, GORT_RECV, &v, false},
                                 {gort_ticker_chan(tk), GORT_RECV, NULL, false}};
        if (gort_select(cs, 2, true) == 0) {
            counts[v]++;
            got++;
        } else {
            ticks++;
        }
    }
    gort_ticker_free(tk);
    gort_synctest_wait(); /* the producers have exited */
    int64_t latest = 0;
    for (int i = 0; i < NPROD; i++) {
        ASSERT_EQ(counts[i], NMSG);
        if (prod_total[i] > latest)
            latest = prod_total[i];
    }
    ASSERT_EQ(gort_nanotime() - t0, latest);
    ASSERT_TRUE(ticks >= latest / (100 * MS) - 1);
    gort_chan_free(many_c);
}
static int many_main(void *arg) {
    (void)arg;
    bubble(many_body, NULL);
    return 0;
}
TEST(many_goroutines) {
    run(many_main);
}

/* ------------------------------------------------------------------ fd deadlines */

/* A deadline set inside a bubble is on its clock: a read on a pipe with an
 * hour's deadline times out after an hour of fake time, in ms of real
 * time, and so do a write deadline and gort_wait_fd's own deadline; data
 * another goroutine of the bubble writes before the deadline wins. */
static int fdl_p[2];
static void fdl_writer(void *arg) {
    (void)arg;
    gort_sleep(10 * SEC);
    ASSERT_EQ(gort_write(fdl_p[1], "x", 1), 1);
}
static void fdl_body(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    char buf[4096];
    ASSERT_EQ(gort_set_deadline(fdl_p[0], t0 + 3600 * SEC, 0), 0);
    ASSERT_EQ(gort_read(fdl_p[0], buf, 1), -ETIMEDOUT);
    ASSERT_EQ(gort_nanotime(), t0 + 3600 * SEC);
    /* Expired: at once, without moving the clock. */
    ASSERT_EQ(gort_read(fdl_p[0], buf, 1), -ETIMEDOUT);
    ASSERT_EQ(gort_nanotime(), t0 + 3600 * SEC);

    /* A writer of the bubble beats a later deadline. */
    int64_t t1 = gort_nanotime();
    ASSERT_EQ(gort_set_deadline(fdl_p[0], t1 + 3600 * SEC, 0), 0);
    ASSERT_EQ(gort_go(fdl_writer, NULL), 0);
    ASSERT_EQ(gort_read(fdl_p[0], buf, sizeof buf), 1);
    ASSERT_EQ(buf[0], 'x');
    ASSERT_EQ(gort_nanotime(), t1 + 10 * SEC);

    /* gort_wait_fd's own deadline. */
    ASSERT_EQ(gort_wait_fd(fdl_p[0], GORT_POLL_READ, t1 + 70 * SEC), -ETIMEDOUT);
    ASSERT_EQ(gort_nanotime(), t1 + 70 * SEC);
    ASSERT_EQ(gort_set_deadline(fdl_p[0], 0, 0), 0);

    /* A write deadline, on a full pipe. */
    memset(buf, 'y', sizeof buf);
    ASSERT_EQ(gort_set_deadline(fdl_p[1], 0, t1 + 130 * SEC), 0);
    ssize_t n;
    while ((n = gort_write(fdl_p[1], buf, sizeof buf)) == (ssize_t)sizeof buf) {
    }
    ASSERT_EQ(n, -ETIMEDOUT);
    ASSERT_EQ(gort_nanotime(), t1 + 130 * SEC);
}
static int fdl_main(void *arg) {
    (void)arg;
    ASSERT_EQ(pipe(fdl_p), 0);
    int64_t real0 = gort_nanotime();
    bubble(fdl_body, NULL);
    int64_t real = gort_nanotime() - real0;
    ASSERT_TRUE(real < 60 * SEC);
    fprintf(stderr, "fd deadlines over an hour of fake time took %.1f ms\n", real / 1e6);
    ASSERT_EQ(gort_close(fdl_p[0]), 0);
    ASSERT_EQ(gort_close(fdl_p[1]), 0);
    return 0;
}
TEST(fd_deadline_on_bubble_clock) {
    run(fdl_main);
}

/* A read without a deadline is not durably blocked (Go). */
static int fdo_p[2];
static void read_pipe(void) {
    char c;
    ASSERT_EQ(gort_read(fdo_p[0], &c, 1), 1);
}
static void fdo_writer(void *arg) {
    (void)arg;
    gort_sleep(50 * MS);
    ASSERT_EQ(gort_write(fdo_p[1], "z", 1), 1);
}
static int fdo_main(void *arg) {
    (void)arg;
    ASSERT_EQ(pipe(fdo_p), 0);
    ASSERT_EQ(gort_go(fdo_writer, NULL), 0);
    hold_clock(read_pipe);
    ASSERT_EQ(gort_close(fdo_p[0]), 0);
    ASSERT_EQ(gort_close(fdo_p[1]), 0);
    return 0;
}
TEST(fd_read_without_deadline_not_durable) {
    run(fdo_main);
}

/* ------------------------------------------------------------------ WaitGroup, Mutex */

/* A WaitGroup whose Add ran inside the bubble: Wait on it is durable (the
 * bubble goes idle while it waits); back at zero with its waiter, it
 * leaves the bubble and another bubble may use it. */
static gort_waitgroup wg_in;
static atomic_int wg_in_passed;
static void wg_in_waiter(void *arg) {
    (void)arg;
    gort_wg_wait(&wg_in);
    atomic_store(&wg_in_passed, 1);
}
static void wg_in_body(void *arg) {
    (void)arg;
    gort_wg_add(&wg_in, 1);
    ASSERT_EQ(gort_go(wg_in_waiter, NULL), 0);
    gort_synctest_wait(); /* returns: the waiter is durably blocked */
    ASSERT_EQ(atomic_load(&wg_in_passed), 0);
    gort_wg_done(&wg_in);
    gort_synctest_wait();
    ASSERT_EQ(atomic_load(&wg_in_passed), 1);
}
static void wg_in_again(void *arg) {
    (void)arg;
    atomic_store(&wg_in_passed, 0);
    wg_in_body(NULL);
    /* Wait at zero with no waiter also ends the association. */
    gort_wg_add(&wg_in, 2);
    gort_wg_done(&wg_in);
    gort_wg_done(&wg_in);
    gort_wg_wait(&wg_in);
}
static int wg_in_main(void *arg) {
    (void)arg;
    bubble(wg_in_body, NULL);
    bubble(wg_in_again, NULL);
    bubble(wg_in_again, NULL); /* would be a fatal error if still associated */
    /* Unassociated: usable outside too. */
    gort_wg_add(&wg_in, 1);
    gort_wg_done(&wg_in);
    gort_wg_wait(&wg_in);
    return 0;
}
TEST(waitgroup_of_bubble_durable) {
    run(wg_in_main);
}

/* A WaitGroup whose Add ran outside: Wait on it inside is not durable. */
static gort_waitgroup wg_out;
static void wait_wg_out(void) {
    gort_wg_wait(&wg_out);
}
static void wg_out_doner(void *arg) {
    (void)arg;
    gort_sleep(50 * MS);
    gort_wg_done(&wg_out);
}
static int wg_out_main(void *arg) {
    (void)arg;
    gort_wg_add(&wg_out, 1);
    ASSERT_EQ(gort_go(wg_out_doner, NULL), 0);
    hold_clock(wait_wg_out);
    return 0;
}
TEST(waitgroup_from_outside_not_durable) {
    run(wg_out_main);
}

/* A goroutine blocked on a Mutex is never durably blocked (Go). */
static gort_mutex mu_out = GORT_MUTEX_INIT;
static atomic_int mu_locked;
static void lock_mu_out(void) {
    gort_mutex_lock(&mu_out);
    gort_mutex_unlock(&mu_out);
}
static void mu_holder(void *arg) {
    (void)arg;
    gort_mutex_lock(&mu_out);
    atomic_store(&mu_locked, 1);
    gort_sleep(50 * MS);
    gort_mutex_unlock(&mu_out);
}
static int mu_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(mu_holder, NULL), 0);
    while (!atomic_load(&mu_locked))
        gort_sleep(MS);
    hold_clock(lock_mu_out);
    return 0;
}
TEST(mutex_not_durable) {
    run(mu_main);
}

/* ------------------------------------------------------------------ deadlock */

static char recovered[256];
static void rec(void *arg) {
    (void)arg;
    const char *m = gort_recover();
    snprintf(recovered, sizeof recovered, "%s", m ? m : "(nil)");
}

static void blocked_forever(void *arg) {
    gort_chan *c = arg;
    gort_chan_recv(c, NULL);
}
/* The channels the deadlocked goroutines stay blocked on for good (kept
 * reachable, so that the leak checkers do not report them). */
gort_chan *synctest_stuck[2];

static void deadlock_body(void *arg) {
    (void)arg;
    gort_chan *c = synctest_stuck[0] = gort_chan_make(0, 0);
    ASSERT_EQ(gort_go(blocked_forever, c), 0);
    gort_chan_recv(c, NULL); /* both block: deadlock */
}
static void exited_body(void *arg) {
    (void)arg;
    gort_chan *c = synctest_stuck[1] = gort_chan_make(0, 0);
    ASSERT_EQ(gort_go(blocked_forever, c), 0);
    gort_sleep(SEC); /* main exits, leaving one blocked */
}
static void call_bubble(void *arg) {
    gort_defer(rec, NULL);
    (void)gort_synctest_run((void (*)(void *))arg, NULL);
}
static int deadlock_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_call(call_bubble, (void *)deadlock_body), 1);
    ASSERT_STREQ(recovered, "deadlock: all goroutines in bubble are blocked");
    ASSERT_EQ(gort_call(call_bubble, (void *)exited_body), 1);
    ASSERT_STREQ(recovered,
                 "deadlock: main bubble goroutine has exited but blocked goroutines remain");
    /* Bubbles still work afterwards. */
    bubble(clock_start, NULL);
    ASSERT_EQ(seen_now, BASE);
    return 0;
}
TEST(deadlock_detected) {
    run(deadlock_main);
}

/* ------------------------------------------------------- system goroutines */

/* The runtime's own goroutines never join a bubble, whoever starts them
 * (Go's newproc1: only user goroutines inherit the bubble). The finalizer
 * goroutine, first started here by a collection inside a bubble, would
 * otherwise stay in it parked in "finalizer wait" once the bubble's main
 * returned; the flight recorder's and the os/signal loop likewise. */
static atomic_int fin_ran;
static void bubble_fin(void *obj) {
    (void)obj;
    atomic_fetch_add(&fin_ran, 1);
}
static __attribute__((noinline)) void bubble_fin_alloc(void) {
    void *p = gort_new(64);
    gort_set_finalizer(p, bubble_fin);
}
static gort_chan *sysg_sig;
static void sysg_body(void *arg) {
    /* The os/signal loop, first started here. */
    int s = SIGUSR1;
    ASSERT_EQ(gort_signal_notify(sysg_sig, &s, 1), 0);
    raise(SIGUSR1);
    int got = 0;
    ASSERT_TRUE(gort_chan_recv(sysg_sig, &got));
    ASSERT_EQ(got, SIGUSR1);
    gort_signal_stop(sysg_sig);
    bubble_fin_alloc();
    gt_clear_stack_below();
    for (int i = 0; i < 20 && atomic_load(&fin_ran) == 0; i++) {
        gort_gc();
        gort_yield();
    }
    if (arg != NULL)
        ASSERT_EQ(gort_flight_recorder_start(0), 0);
}
static int sysg_main(void *arg) {
    (void)arg;
    /* Made outside: a delivery from outside the bubble does not end a
     * receive the bubble counts as durable. */
    sysg_sig = gort_chan_make(sizeof(int), 1);
    bubble(sysg_body, "flight recorder too");
    bubble(sysg_body, NULL); /* the loop serves the next bubble too */
    /* The finalizer ran (on a goroutine outside the bubble, so the
     * bubble could end). */
    for (int i = 0; i < 50 && atomic_load(&fin_ran) == 0; i++) {
        gort_gc();
        gort_sleep(MS);
    }
    ASSERT_TRUE(atomic_load(&fin_ran) >= 1);
    gort_flight_recorder_stop();
    return 0;
}
TEST(runtime_goroutines_stay_outside) {
    run(sysg_main);
}

/* ------------------------------------------------------------------ misuse */

static void wait_outside(void *arg) {
    (void)arg;
    gort_defer(rec, NULL);
    gort_synctest_wait();
}
static void nested_body(void *arg) {
    (void)arg;
    gort_defer(rec, NULL);
    (void)gort_synctest_run(clock_start, NULL);
}
static void nested_outer(void *arg) {
    (void)gort_call(nested_body, arg);
}
static int misuse_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_call(wait_outside, NULL), 1);
    ASSERT_STREQ(recovered, "goroutine is not in a bubble");
    bubble(nested_outer, NULL);
    ASSERT_STREQ(recovered, "synctest.Run called from within a synctest bubble");
    return 0;
}
TEST(misuse_panics) {
    run(misuse_main);
}

TEST(outside_a_goroutine) {
    ASSERT_EQ(gort_synctest_run(clock_start, NULL), -EAGAIN);
}

GT_MAIN()
