/*
 * preempt_test.c - preemption (issue 12): the scheduler differences from Go
 * found by ports of Go's runtime tests, asynchronous preemption of
 * goroutines that never call gort, the stop-the-world by signal, blocked
 * threads, and GOMAXPROCS from the CPU affinity mask and cgroup limits.
 *
 * Every case runs in its own process.  A case whose failure mode is a hang
 * (a goroutine that never runs again) arms a watchdog thread outside the
 * runtime first: it fails the case after a bounded, scaled time instead.
 * The cases that test the cooperative scheduler alone (the ports of Go's
 * tests) run with GORTDEBUG=asyncpreemptoff=1, as Go's do under that
 * setting.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "export_test.h"
#include "gt.h"
#include "gort.h"

#include <errno.h>
#include <elf.h>
#include <fenv.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* Monotonic time without any gort call (never a scheduling point). */
static int64_t h_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t h_timeout(double secs) {
    return (int64_t)(secs * gt_scale() * 1e9);
}

/* The watchdog: a plain thread that fails the case with `what` unless
 * watchdog_stop is called within secs (scaled). */
static struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    double secs;
    const char *what;
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *watchdog_main(void *arg) {
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = h_timeout(wd.secs);
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec += ns % 1000000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&wd.mu);
    while (!wd.stop)
        if (pthread_cond_timedwait(&wd.cv, &wd.mu, &ts) == ETIMEDOUT && !wd.stop)
            GT_FAIL("watchdog: no progress after %.1fs: %s", wd.secs * gt_scale(), wd.what);
    pthread_mutex_unlock(&wd.mu);
    return NULL;
}

static void watchdog_start(double secs, const char *what) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&wd.cv, &ca);
    wd.secs = secs;
    wd.what = what;
    wd.stop = false;
    ASSERT_EQ(pthread_create(&wd.th, NULL, watchdog_main, NULL), 0);
}

static void watchdog_stop(void) {
    pthread_mutex_lock(&wd.mu);
    wd.stop = true;
    pthread_cond_signal(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
    pthread_join(wd.th, NULL);
}

/* ThreadSanitizer builds have no preemption signal (preempt.c's header):
 * the cases that need it skip there. */
#ifdef GORT_TSAN
#define NEEDS_SIGNAL() GT_SKIP("no preemption signal under ThreadSanitizer (preempt.c)")
#else
#define NEEDS_SIGNAL() ((void)0)
#endif

/* The cooperative scheduler alone: no asynchronous preemption. */
static void coop_only(void) {
    setenv("GORTDEBUG", "asyncpreemptoff=1", 1);
}

/* ------------------------------------------------------------------------
 * Item 6: scheduler differences from Go (ports of Go's runtime tests)
 * ------------------------------------------------------------------------ */

/* With one P and a goroutine looping on gort_yield, a sleeping goroutine
 * wakes on time (Go: Gosched runs schedule(), which runs the P's timers). */
static atomic_bool ts_woke;

static void ts_sleeper(void *arg) {
    (void)arg;
    gort_sleep(100 * GT_MS);
    atomic_store(&ts_woke, true);
}

static int main_yield_runs_timers(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    ASSERT_EQ(gort_go(ts_sleeper, NULL), 0);
    int64_t start = h_now();
    int64_t deadline = start + h_timeout(10);
    while (!atomic_load(&ts_woke) && h_now() < deadline)
        gort_yield();
    if (!atomic_load(&ts_woke))
        GT_FAIL("gort_sleep(100ms) did not return in %.1fs while main looped on gort_yield",
                10.0 * gt_scale());
    ASSERT_GE(h_now() - start, 100 * GT_MS);
    return 0;
}

TEST(yield_runs_timers_p1) {
    coop_only();
    gort_gomaxprocs(1);
    ASSERT_EQ(gort_main(main_yield_runs_timers, NULL), 0);
}

/* Go's TestStopTheWorldDeadlock shape: a goroutine that starts a copy of
 * itself and returns must not starve the others on one P (the child takes
 * runnext and inherits the time slice; a preemption request must still
 * end it). */
static atomic_bool pm_stop;
static atomic_long pm_spawned;

static void perpetuum(void *arg) {
    (void)arg;
    if (atomic_load(&pm_stop))
        return;
    atomic_fetch_add(&pm_spawned, 1);
    ASSERT_EQ(gort_go(perpetuum, NULL), 0);
}

static int main_perpetuum(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    ASSERT_EQ(gort_go(perpetuum, NULL), 0);
    /* A 100 ms yield loop (Go: about 0.16 s with asyncpreemptoff=1). */
    int64_t end = h_now() + 100 * GT_MS;
    long yields = 0;
    while (h_now() < end) {
        gort_yield();
        yields++;
    }
    atomic_store(&pm_stop, true);
    ASSERT_GT(yields, 0);
    ASSERT_GT(atomic_load(&pm_spawned), 0);
    return 0;
}

TEST(spawn_chain_does_not_starve_p1) {
    coop_only();
    gort_gomaxprocs(1);
    watchdog_start(30, "main's 100 ms yield loop starved by a goroutine that respawns itself");
    ASSERT_EQ(gort_main(main_perpetuum, NULL), 0);
    watchdog_stop();
}

/* Go's TestPingPongHog: a hog pair and a light pair ping-pong on one P while
 * main sleeps.  Both pairs hand the P to their buddy within a time slice,
 * so the counts stay within a factor (Go: ratio about 1.3; broken: 1000x).
 * main sleeps 500 ms, not Go's 100: that is about 50 slices of 10 ms
 * instead of 10, so that a loaded machine's late sysmon, which lengthens
 * whichever slice it falls in, cannot tip the ratio alone (with 100 ms, 2
 * of 30 loaded runs ended at 8-13). */
static gort_chan *pp_done;
static atomic_long pp_hog, pp_light;

typedef struct pp_arg {
    long limit;
    atomic_long *counter;
    gort_chan *wake;
} pp_arg;

static void pp_run(void *arg) {
    pp_arg *a = arg;
    for (;;) {
        bool v;
        gort_select_case cs[2] = {{pp_done, GORT_RECV, &v, false}, {a->wake, GORT_RECV, &v, false}};
        int i = gort_select(cs, 2, true);
        if (i == 0)
            return;
        /* The counting loop makes no gort call (Go's makes no call). */
        long c = atomic_load_explicit(a->counter, memory_order_relaxed);
        for (long k = 0; k < a->limit; k++) {
            c++;
            __asm__ volatile("" : "+r"(c));
        }
        atomic_store_explicit(a->counter, c, memory_order_relaxed);
        v = true;
        gort_chan_send(a->wake, &v);
    }
}

static int main_pingpong(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    pp_done = gort_chan_make(sizeof(bool), 0);
    gort_chan *hogc = gort_chan_make(sizeof(bool), 0);
    gort_chan *lightc = gort_chan_make(sizeof(bool), 0);
    static pp_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] =
            (pp_arg){i < 2 ? 1000000 : 1000, i < 2 ? &pp_hog : &pp_light, i < 2 ? hogc : lightc};
        ASSERT_EQ(gort_go(pp_run, &args[i]), 0);
    }
    bool v = true;
    gort_chan_send(hogc, &v);
    gort_chan_send(lightc, &v);
    gort_sleep(500 * GT_MS);
    gort_chan_close(pp_done);
    gort_chan_recv(hogc, &v);
    gort_chan_recv(lightc, &v);
    long hog = atomic_load(&pp_hog), light = atomic_load(&pp_light);
    /* Go's factor of 5: if the scheduler isn't working right, the gap
     * should be ~1000x. */
    if (hog > light * 5 || light > hog * 5)
        GT_FAIL("want hog/light in [0.2, 5]; got %ld/%ld = %g", hog, light,
                (double)hog / (double)(light ? light : 1));
    return 0;
}

TEST(ping_pong_hog_p1) {
#ifdef GORT_TSAN
    /* As Go's TestPingPongHog skips in -race mode: the instrumented hog and
     * light pairs no longer keep the ratio it measures. */
    GT_SKIP("skipped under ThreadSanitizer, as Go skips it in -race mode");
#endif
    coop_only();
    gort_gomaxprocs(1);
    watchdog_start(30, "the ping-pong pairs and main's sleep");
    ASSERT_EQ(gort_main(main_pingpong, NULL), 0);
    watchdog_stop();
}

/* gort_yield gives way as Go's Gosched does (onto the global queue): with
 * GOMAXPROCS goroutines that never yield and main in a yield loop, every
 * one of them runs, even without asynchronous preemption. */
#define GY_N 3
static atomic_int gy_started;
static atomic_bool gy_stop;

/* Spins, with no gort call, until every spinner has started (then main
 * can have a P again and see it) or main gives up. */
static void gy_spinner(void *arg) {
    int procs = (int)(intptr_t)arg;
    atomic_fetch_add(&gy_started, 1);
    int64_t deadline = h_now() + h_timeout(20);
    while (!atomic_load(&gy_stop) && atomic_load(&gy_started) < procs && h_now() < deadline) {
    }
}

static int main_yield_global(void *arg) {
    int procs = (int)(intptr_t)arg;
    ASSERT_EQ(gort_gomaxprocs(0), procs);
    for (int i = 0; i < procs; i++)
        ASSERT_EQ(gort_go(gy_spinner, (void *)(intptr_t)procs), 0);
    int64_t deadline = h_now() + h_timeout(10);
    while (atomic_load(&gy_started) < procs && h_now() < deadline)
        gort_yield();
    int started = atomic_load(&gy_started);
    atomic_store(&gy_stop, true);
    if (started < procs)
        GT_FAIL("%d of %d spinners ran while main looped on gort_yield at GOMAXPROCS=%d", started,
                procs, procs);
    return 0;
}

TEST(yield_lets_queued_run_p3) {
    coop_only();
    gort_gomaxprocs(GY_N);
    watchdog_start(60, "main's yield loop");
    ASSERT_EQ(gort_main(main_yield_global, (void *)(intptr_t)GY_N), 0);
    watchdog_stop();
}

TEST(yield_lets_queued_run_p2) {
    coop_only();
    gort_gomaxprocs(2);
    watchdog_start(60, "main's yield loop");
    ASSERT_EQ(gort_main(main_yield_global, (void *)(intptr_t)2), 0);
    watchdog_stop();
}

/* The same with the queued goroutine behind a spinner on the other P: A
 * starts B (B goes to A's P's runnext) and spins until B runs, while main,
 * alone on the other P, loops on gort_yield: the yield must give B a way
 * to run (its own P takes it). */
static atomic_bool gb_b_ran;

static void gb_b(void *arg) {
    (void)arg;
    atomic_store(&gb_b_ran, true);
}

static void gb_a(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(gb_b, NULL), 0);
    int64_t deadline = h_now() + h_timeout(20);
    while (!atomic_load(&gb_b_ran) && h_now() < deadline) {
    }
}

static int main_yield_behind_spinner(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(gb_a, NULL), 0);
    int64_t deadline = h_now() + h_timeout(10);
    while (!atomic_load(&gb_b_ran) && h_now() < deadline)
        gort_yield();
    if (!atomic_load(&gb_b_ran))
        GT_FAIL("a goroutine queued behind a spinner never ran while main looped on gort_yield");
    return 0;
}

TEST(yield_runs_queued_behind_spinner_p2) {
    coop_only();
    gort_gomaxprocs(2);
    watchdog_start(60, "main's yield loop");
    ASSERT_EQ(gort_main(main_yield_behind_spinner, NULL), 0);
    watchdog_stop();
}

/* A goroutine in its P's runnext behind a spinner that never calls gort
 * (preemption off) runs only if the idle P steals it from runnext: the
 * thief's side of proc.c's runnext handshake (membarrier, then CAS), while
 * the owner puts and takes runnext with plain stores.  Main blocks, so its
 * P goes idle and its M looks for work; A starts B (into A's P's runnext,
 * as Go's newproc does) and spins until B has run.  200 rounds. */
enum { RS_ROUNDS = 200 };
static atomic_int rs_round;

static void rs_b(void *arg) {
    gort_chan *c = arg;
    atomic_fetch_add(&rs_round, 1);
    int v = 1;
    gort_chan_send(c, &v);
}

static void rs_a(void *arg) {
    int want = atomic_load(&rs_round) + 1;
    ASSERT_EQ(gort_go(rs_b, arg), 0);
    int64_t deadline = h_now() + h_timeout(20);
    while (atomic_load(&rs_round) < want && h_now() < deadline) {
    }
    if (atomic_load(&rs_round) < want)
        GT_FAIL("a goroutine in runnext behind a spinner was never stolen by the idle P");
}

static int main_runnext_stolen(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    for (int i = 0; i < RS_ROUNDS; i++) {
        ASSERT_EQ(gort_go(rs_a, c), 0);
        int v = 0;
        ASSERT_TRUE(gort_chan_recv(c, &v));
        ASSERT_EQ(v, 1);
    }
    ASSERT_EQ(atomic_load(&rs_round), RS_ROUNDS);
    gort_chan_free(c);
    return 0;
}

TEST(runnext_stolen_from_spinner_p2) {
    coop_only();
    gort_gomaxprocs(2);
    watchdog_start(120, "runnext behind a spinner");
    ASSERT_EQ(gort_main(main_runnext_stolen, NULL), 0);
    watchdog_stop();
}

/* ------------------------------------------------------------------------
 * Asynchronous preemption
 * ------------------------------------------------------------------------ */

/* The program: a goroutine spinning on a flag at GOMAXPROCS=1,
 * with no call in the loop, while main sleeps and then sets the flag. */
static atomic_bool sf_flag;
static atomic_bool sf_done;

static void sf_spinner(void *arg) {
    (void)arg;
    while (!atomic_load_explicit(&sf_flag, memory_order_relaxed)) {
    }
    atomic_store(&sf_done, true);
}

static int main_spin_flag(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    ASSERT_EQ(gort_go(sf_spinner, NULL), 0);
    gort_sleep(50 * GT_MS); /* the spinner holds the only P meanwhile */
    atomic_store(&sf_flag, true);
    int64_t deadline = h_now() + h_timeout(10);
    while (!atomic_load(&sf_done) && h_now() < deadline)
        gort_sleep(GT_MS);
    ASSERT_TRUE(atomic_load(&sf_done));
    return 0;
}

TEST(spin_on_flag_p1) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(1);
    watchdog_start(30, "main never ran again while a goroutine spun on a flag at GOMAXPROCS=1");
    ASSERT_EQ(gort_main(main_spin_flag, NULL), 0);
    watchdog_stop();
    ASSERT_GT(gort__export_npreempt_async(), 0);
}

/* A goroutine spinning on the clock (while (gort_nanotime() < end)) at
 * GOMAXPROCS=1 gives way to the one it readied: it spends most of its
 * time inside gort_nanotime, where the preemption signal cannot stop it,
 * so the call itself honours the request, as every gort call does.  With
 * the signal off here (the loop's own instructions are where it would
 * land, now and then), the spinner ran its whole 10 s before. */
static atomic_bool cs_stop;

static void clock_spinner(void *arg) {
    gort_chan *c = arg;
    int v = 1;
    gort_chan_send(c, &v); /* readies main, into runnext */
    int64_t end = gort_nanotime() + 10000 * GT_MS;
    while (gort_nanotime() < end && !atomic_load_explicit(&cs_stop, memory_order_relaxed)) {
    }
}

static int main_clock_spin(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    bool was = gort__export_set_asyncpreemptoff(true);
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    ASSERT_EQ(gort_go(clock_spinner, c), 0);
    int64_t t0 = h_now();
    int v;
    ASSERT_TRUE(gort_chan_recv(c, &v));
    int64_t waited = h_now() - t0;
    atomic_store(&cs_stop, true);
    gort__export_set_asyncpreemptoff(was);
    if (waited > 5000 * GT_MS)
        GT_FAIL("main ran again %lld ms after the spinner readied it", (long long)(waited / GT_MS));
    gort_chan_free(c);
    return 0;
}

TEST(clock_spinner_gives_way_p1) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(1);
    ASSERT_EQ(gort_main(main_clock_spin, NULL), 0);
}

/* A goroutine preempted asynchronously shows in a dump as Go's does,
 * "[runnable]": the runtime keeps it on its thread (an internal lock), but
 * it is not locked to that thread the way gort_lock_os_thread locks one
 * (it showed "[runnable, locked to thread]"). */
static char pd_buf[1 << 16];

static int main_preempted_dump(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(sf_spinner, NULL), 0);
    gort_sleep(50 * GT_MS); /* main runs again: the spinner was preempted */
    gort_stack(pd_buf, sizeof pd_buf, true);
    atomic_store(&sf_flag, true);
    char want[64];
    snprintf(want, sizeof want, "goroutine %d [runnable]:\n", 2);
    if (strstr(pd_buf, want) == NULL || strstr(pd_buf, "locked to thread") != NULL)
        GT_FAIL("the preempted spinner in a dump:\n%s", pd_buf);
    gort_lock_os_thread(); /* this one is locked to its thread */
    gort_stack(pd_buf, sizeof pd_buf, false);
    gort_unlock_os_thread();
    if (strstr(pd_buf, "goroutine 1 [running, locked to thread]:\n") == NULL)
        GT_FAIL("a goroutine locked to its thread in a dump:\n%s", pd_buf);
    return 0;
}

TEST(preempted_goroutine_in_dump) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(1);
    watchdog_start(30, "the dump of a preempted goroutine");
    ASSERT_EQ(gort_main(main_preempted_dump, NULL), 0);
    watchdog_stop();
}

/* A goroutine preempted in a function that has made no frame (a leaf,
 * which GCC builds without one even with -fno-omit-frame-pointer; here in
 * assembly, so that every preset builds it so) shows that function's
 * caller in a dump, as gdb shows it: the return address into the caller is
 * at the interrupted sp, in no frame record.  It was missing. */
#if defined(__x86_64__)
/* Hidden, not static: the assembly's reference then binds in the link
 * (clang's tsan build made a text relocation of it in a PIE). */
extern atomic_int pl_flag;
__attribute__((visibility("hidden"))) atomic_int pl_flag;
void pl_leaf(void);
__asm__(".text\n"
        ".type pl_leaf, @function\n"
        "pl_leaf:\n"
        "1:  movl pl_flag(%rip), %eax\n"
        "    testl %eax, %eax\n"
        "    je 1b\n"
        "    ret\n"
        ".size pl_leaf, .-pl_leaf\n");

__attribute__((noinline)) static void pl_caller(void *arg) {
    (void)arg;
    pl_leaf();
    atomic_fetch_add(&pl_flag, 1); /* not a tail call */
}

static int main_preempted_leaf(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(pl_caller, NULL), 0);
    /* Twenty preemptions, a dump each: the loop's first instruction is
     * pl_leaf's entry, where about one interruption in six lands, and the
     * dump must name pl_leaf there too (the pc is the instruction itself,
     * not a return address: looked up one byte lower, it named the
     * function before, or "?").  One dump caught that in 6 runs. */
    for (int round = 0; round < 20; round++) {
        gort_sleep(20 * GT_MS); /* main runs again: the spinner was preempted */
        gort_stack(pd_buf, sizeof pd_buf, true);
        const char *g2 = strstr(pd_buf, "goroutine 2 [runnable]:\n");
        const char *leaf = g2 ? strstr(g2, "\npl_leaf(...)\n") : NULL;
        if (leaf == NULL || strstr(leaf, "\npl_caller(...)\n") == NULL) {
            atomic_store(&pl_flag, 1);
            GT_FAIL("the preempted leaf and its caller in dump %d:\n%s", round, pd_buf);
        }
    }
    atomic_store(&pl_flag, 1);
    return 0;
}

/* The goroutine profile (debug=1: its frames named) of the same, twenty
 * times: a profile takes each pc as a return address and looks up pc - 1,
 * so the interrupted pc goes in as pc + 1 (Go's tracebackPCs); at
 * pl_leaf's entry it named the function before, or nothing. */
static char gpl_buf[1 << 16];

static int main_preempted_leaf_profile(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(pl_caller, NULL), 0);
    for (int round = 0; round < 20; round++) {
        gort_sleep(20 * GT_MS); /* main runs again: the spinner was preempted */
        FILE *f = tmpfile();
        ASSERT_TRUE(f != NULL);
        ASSERT_EQ(gort_pprof_write("goroutine", fileno(f), 1), 0);
        rewind(f);
        size_t n = fread(gpl_buf, 1, sizeof gpl_buf - 1, f);
        gpl_buf[n] = '\0';
        fclose(f);
        const char *leaf = strstr(gpl_buf, "\tpl_leaf+");
        if (leaf == NULL || strstr(leaf, "\tpl_caller+") == NULL) {
            atomic_store(&pl_flag, 1);
            GT_FAIL("the preempted leaf and its caller in goroutine profile %d:\n%s", round,
                    gpl_buf);
        }
        /* Offsets as Go's %#x writes them, "+0x0" at the entry too (C's
         * %#lx wrote "+0"); about a third of the rounds stop there. */
        if (strncmp(leaf, "\tpl_leaf+0x", 11) != 0) {
            atomic_store(&pl_flag, 1);
            GT_FAIL("the preempted leaf and its caller in goroutine profile %d:\n%s", round,
                    gpl_buf);
        }
    }
    atomic_store(&pl_flag, 1);
    return 0;
}
#endif

TEST(preempted_leaf_in_goroutine_profile) {
#if defined(__x86_64__)
    NEEDS_SIGNAL();
    gort_gomaxprocs(1);
    watchdog_start(30, "the goroutine profile of a preempted leaf");
    ASSERT_EQ(gort_main(main_preempted_leaf_profile, NULL), 0);
    watchdog_stop();
#endif
}

TEST(preempted_leaf_caller_in_dump) {
#if defined(__x86_64__)
    NEEDS_SIGNAL();
    gort_gomaxprocs(1);
    watchdog_start(30, "the dump of a preempted leaf");
    ASSERT_EQ(gort_main(main_preempted_leaf, NULL), 0);
    watchdog_stop();
#endif
}

/* GORTDEBUG=asyncpreemptoff=1 restores the cooperative scheduler: the same
 * program does not finish (checked for a bounded time in a child, which is
 * then killed), and finishes without the setting. */
static int run_spin_flag_child(const char *gortdebug, double secs) {
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        if (gortdebug)
            setenv("GORTDEBUG", gortdebug, 1);
        else
            unsetenv("GORTDEBUG");
        gort_gomaxprocs(1);
        _exit(gort_main(main_spin_flag, NULL) == 0 ? 0 : 3);
    }
    int64_t deadline = h_now() + h_timeout(secs);
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        ASSERT_TRUE(r >= 0);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (h_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1; /* still running */
        }
        usleep(10000);
    }
}

TEST(asyncpreemptoff_honoured) {
    NEEDS_SIGNAL();
    ASSERT_EQ(run_spin_flag_child(NULL, 30), 0);
    /* Without asynchronous preemption main never runs again: 1 s (scaled)
     * is twenty times what the program takes with it. */
    ASSERT_EQ(run_spin_flag_child("asyncpreemptoff=1", 1), -1);
}

/* A ticker keeps ticking while GOMAXPROCS goroutines spin in C. */
static atomic_bool tk_stop;

static void tk_spinner(void *arg) {
    (void)arg;
    volatile uint64_t x = 0;
    while (!atomic_load_explicit(&tk_stop, memory_order_relaxed))
        x++;
}

static int main_ticker(void *arg) {
    (void)arg;
    int procs = gort_gomaxprocs(0);
    for (int i = 0; i < procs; i++)
        ASSERT_EQ(gort_go(tk_spinner, NULL), 0);
    gort_ticker *t = gort_ticker_new(10 * GT_MS);
    ASSERT_NOT_NULL(t);
    int64_t worst = 0, prev = h_now();
    for (int i = 0; i < 30; i++) {
        int64_t v;
        ASSERT_TRUE(gort_chan_recv(gort_ticker_chan(t), &v));
        int64_t now = h_now();
        if (now - prev > worst)
            worst = now - prev;
        prev = now;
    }
    gort_ticker_stop(t);
    gort_ticker_free(t);
    atomic_store(&tk_stop, true);
    /* 10 ms ticks: generously bounded (Go's slices are 10 ms; a loaded
     * 2-core machine, where the runnable threads of every process share
     * two CPUs, can keep a woken thread waiting for hundreds of ms).
     * Without preemption no tick would come at all. */
    if (worst > 2 * GT_SEC * gt_scale())
        GT_FAIL("a tick came %.1f ms after the previous one", worst / 1e6);
    return 0;
}

TEST(ticker_ticks_while_spinning) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(2);
    watchdog_start(60, "the ticker while every P spins");
    ASSERT_EQ(gort_main(main_ticker, NULL), 0);
    watchdog_stop();
}

/* Floating-point and vector registers survive preemption in the middle of
 * a computation: every xmm register and the x87 stack carry values through
 * a long loop, under a rounding mode of its own, while another goroutine
 * competes for the only P; the result matches the same loop run on a
 * plain thread. */
#if defined(__x86_64__)
static void fp_kernel(uint64_t iters, double out[18]) {
    double in[16];
    for (int i = 0; i < 16; i++)
        in[i] = 1.0 + i / 7.0;
    long double x = 1.0L;
    double k = 1.0000001;
    __asm__ volatile("movsd 0(%[in]), %%xmm0\n movsd 8(%[in]), %%xmm1\n"
                     "movsd 16(%[in]), %%xmm2\n movsd 24(%[in]), %%xmm3\n"
                     "movsd 32(%[in]), %%xmm4\n movsd 40(%[in]), %%xmm5\n"
                     "movsd 48(%[in]), %%xmm6\n movsd 56(%[in]), %%xmm7\n"
                     "movsd 64(%[in]), %%xmm8\n movsd 72(%[in]), %%xmm9\n"
                     "movsd 80(%[in]), %%xmm10\n movsd 88(%[in]), %%xmm11\n"
                     "movsd 96(%[in]), %%xmm12\n movsd 104(%[in]), %%xmm13\n"
                     "movsd 112(%[in]), %%xmm14\n movsd 120(%[in]), %%xmm15\n"
                     "fldt %[x]\n"
                     "1:\n"
                     "mulsd %[k], %%xmm0\n addsd %%xmm0, %%xmm1\n mulsd %[k], %%xmm2\n"
                     "addsd %%xmm2, %%xmm3\n mulsd %[k], %%xmm4\n addsd %%xmm4, %%xmm5\n"
                     "mulsd %[k], %%xmm6\n addsd %%xmm6, %%xmm7\n mulsd %[k], %%xmm8\n"
                     "addsd %%xmm8, %%xmm9\n mulsd %[k], %%xmm10\n addsd %%xmm10, %%xmm11\n"
                     "mulsd %[k], %%xmm12\n addsd %%xmm12, %%xmm13\n mulsd %[k], %%xmm14\n"
                     "addsd %%xmm14, %%xmm15\n"
                     "fld %%st(0)\n fmulp\n fsqrt\n fld1\n faddp\n"
                     "dec %[n]\n jnz 1b\n"
                     "fstpt %[x]\n"
                     "movsd %%xmm0, 0(%[o])\n movsd %%xmm1, 8(%[o])\n"
                     "movsd %%xmm2, 16(%[o])\n movsd %%xmm3, 24(%[o])\n"
                     "movsd %%xmm4, 32(%[o])\n movsd %%xmm5, 40(%[o])\n"
                     "movsd %%xmm6, 48(%[o])\n movsd %%xmm7, 56(%[o])\n"
                     "movsd %%xmm8, 64(%[o])\n movsd %%xmm9, 72(%[o])\n"
                     "movsd %%xmm10, 80(%[o])\n movsd %%xmm11, 88(%[o])\n"
                     "movsd %%xmm12, 96(%[o])\n movsd %%xmm13, 104(%[o])\n"
                     "movsd %%xmm14, 112(%[o])\n movsd %%xmm15, 120(%[o])\n"
                     : [n] "+r"(iters), [x] "+m"(x)
                     : [in] "r"(in), [o] "r"(out), [k] "m"(k)
                     : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                       "xmm15");
    out[16] = (double)x;
    out[17] = (double)(x * 1e6L - (long double)(int64_t)(x * 1e6L));
}
#endif

#define FP_ITERS 60000000ull
static double fp_want[18], fp_got[18];
static atomic_bool fp_stop;

static void *fp_thread(void *arg) {
    (void)arg;
    fesetround(FE_DOWNWARD);
#if defined(__x86_64__)
    fp_kernel(FP_ITERS, fp_want);
#endif
    return NULL;
}

static void fp_competitor(void *arg) {
    (void)arg;
    volatile uint64_t x = 0;
    while (!atomic_load_explicit(&fp_stop, memory_order_relaxed))
        x++;
}

static void fp_goroutine(void *arg) {
    atomic_bool *done = arg;
    fesetround(FE_DOWNWARD);
#if defined(__x86_64__)
    fp_kernel(FP_ITERS, fp_got);
#endif
    ASSERT_EQ(fegetround(), FE_DOWNWARD);
    atomic_store(done, true);
}

static int main_fp(void *arg) {
    (void)arg;
    static atomic_bool done;
    uint64_t before = gort__export_npreempt_async();
    ASSERT_EQ(gort_go(fp_competitor, NULL), 0);
    ASSERT_EQ(gort_go(fp_goroutine, &done), 0);
    while (!atomic_load(&done))
        gort_sleep(5 * GT_MS);
    atomic_store(&fp_stop, true);
    uint64_t n = gort__export_npreempt_async() - before;
    if (n < 5)
        GT_FAIL("only %llu asynchronous preemptions during the computation", (unsigned long long)n);
    return 0;
}

TEST(fp_registers_survive_preemption) {
#if !defined(__x86_64__)
    GT_SKIP("x86-64 only");
#endif
    NEEDS_SIGNAL();
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, fp_thread, NULL), 0);
    pthread_join(th, NULL);
    gort_gomaxprocs(1);
    watchdog_start(120, "the floating-point computation");
    ASSERT_EQ(gort_main(main_fp, NULL), 0);
    watchdog_stop();
    for (int i = 0; i < 18; i++)
        if (memcmp(&fp_want[i], &fp_got[i], sizeof(double)) != 0)
            GT_FAIL("register %d: %.17g preempted, %.17g on a plain thread", i, fp_got[i],
                    fp_want[i]);
}

/* A goroutine preempted with values on the x87 register stack keeps them
 * to itself: every other goroutine starts with the stack empty, as the
 * ABI has it at every call (its values leaked to the threads started
 * while it waited, through clone's copy of the FPU state, and made other
 * goroutines' long double arithmetic NaN). */
#if defined(__x86_64__)
static uint16_t x87_tagword(void) {
    unsigned char env[28];
    __asm__ volatile("fnstenv %0\n fldenv %0" : "=m"(env));
    return (uint16_t)(env[8] | env[9] << 8);
}

static void x87_spinner(void *arg) {
    gort_waitgroup *wg = arg;
    long double a = 1.5L, b = 2.5L, c = 0.999999L;
    uint64_t n = 300000000ull;
    __asm__ volatile("fldt %[a]\n fldt %[b]\n fldt %[c]\n"
                     "1:\n fmul %%st(0), %%st(1)\n dec %[n]\n jnz 1b\n"
                     "fstp %%st(0)\n fstpt %[b]\n fstp %%st(0)\n"
                     : [n] "+r"(n), [b] "+m"(b)
                     : [a] "m"(a), [c] "m"(c)
                     : "cc", "memory");
    gort_wg_done(wg);
}
#endif

static atomic_int x87_dirty, x87_checked;

static void x87_checker(void *arg) {
    (void)arg;
#if defined(__x86_64__)
    uint16_t tag = x87_tagword();
    if (tag != 0xffff) {
        fprintf(stderr, "goroutine %lld starts with x87 tag word %#x\n", (long long)gort_goid(),
                tag);
        atomic_fetch_add(&x87_dirty, 1);
    }
#endif
    atomic_fetch_add(&x87_checked, 1);
}

static int main_x87(void *arg) {
    (void)arg;
#if defined(__x86_64__)
    static gort_waitgroup wg;
    uint64_t before = gort__export_npreempt_async();
    gort_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(gort_go(x87_spinner, &wg), 0);
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(gort_go(x87_checker, NULL), 0);
        gort_sleep(5 * GT_MS);
    }
    gort_wg_wait(&wg);
    while (atomic_load(&x87_checked) < 20)
        gort_sleep(GT_MS);
    ASSERT_EQ(atomic_load(&x87_dirty), 0);
    ASSERT_GT(gort__export_npreempt_async() - before, 3);
#endif
    return 0;
}

TEST(x87_stack_stays_with_preempted) {
#if !defined(__x86_64__)
    GT_SKIP("x86-64 only");
#endif
    NEEDS_SIGNAL();
    gort_gomaxprocs(1);
    watchdog_start(120, "the x87 spinners");
    ASSERT_EQ(gort_main(main_x87, NULL), 0);
    watchdog_stop();
}

/* A goroutine preempted asynchronously resumes on the same thread: the
 * thread pointer (%fs:0, glibc's TCB self pointer) is read at every
 * iteration of a loop that another goroutine keeps preempting. */
static atomic_long st_moves;

static inline uintptr_t thread_pointer(void) {
    uintptr_t tp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
#endif
    return tp;
}

static void st_checker(void *arg) {
    atomic_bool *done = arg;
    uintptr_t t0 = thread_pointer();
    int64_t end = h_now() + 300 * GT_MS * gt_scale();
    for (uint64_t i = 0;; i++) {
        uintptr_t t = thread_pointer();
        if (t != t0) {
            atomic_fetch_add(&st_moves, 1);
            t0 = t;
        }
        if ((i & 1023) == 0 && h_now() > end)
            break;
    }
    atomic_store(done, true);
}

static int main_same_thread(void *arg) {
    (void)arg;
    static atomic_bool done;
    uint64_t before = gort__export_npreempt_async();
    ASSERT_EQ(gort_go(fp_competitor, NULL), 0);
    ASSERT_EQ(gort_go(st_checker, &done), 0);
    while (!atomic_load(&done))
        gort_sleep(5 * GT_MS);
    atomic_store(&fp_stop, true);
    ASSERT_EQ(atomic_load(&st_moves), 0);
    ASSERT_GT(gort__export_npreempt_async() - before, 3);
    return 0;
}

TEST(preempted_resumes_on_same_thread) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(2);
    watchdog_start(60, "the thread checker");
    ASSERT_EQ(gort_main(main_same_thread, NULL), 0);
    watchdog_stop();
}

/* errno set before a blocking gort call is intact after it, though other
 * goroutines set errno on the same threads meanwhile and the goroutine may
 * resume on another thread.  errno is read and written in functions of
 * their own: glibc declares __errno_location const, so a compiler may keep
 * errno's address (the old thread's) across a call in the same function,
 * which gort.h tells users not to rely on. */
__attribute__((noinline)) static void er_set(int v) {
    errno = v;
}

__attribute__((noinline)) static int er_get(void) {
    return errno;
}

static atomic_bool er_stop;

static void er_noise(void *arg) {
    (void)arg;
    while (!atomic_load(&er_stop)) {
        ASSERT_EQ(close(-1), -1); /* errno = EBADF, as libc leaves it */
        gort_yield();
    }
}

static int main_errno(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(er_noise, NULL), 0);
    ASSERT_EQ(gort_go(er_noise, NULL), 0);
    for (int i = 0; i < 50; i++) {
        er_set(1000 + i);
        gort_sleep(GT_MS);
        ASSERT_EQ(er_get(), 1000 + i);
        er_set(2000 + i);
        gort_yield();
        ASSERT_EQ(er_get(), 2000 + i);
        gort_syscall_enter();
        er_set(3000 + i); /* as a failing call leaves it */
        gort_syscall_exit();
        ASSERT_EQ(er_get(), 3000 + i);
    }
    atomic_store(&er_stop, true);
    return 0;
}

TEST(errno_survives_blocking_calls) {
    gort_gomaxprocs(2);
    ASSERT_EQ(gort_main(main_errno, NULL), 0);
}

/* A runtime lock's futex wait leaves errno alone: goroutines take runtime
 * locks after their errno is restored (a contended lock under a parked
 * goroutine's wakeup), and CI saw errno EAGAIN after gort_yield in
 * errno_survives_blocking_calls under TSan.  The wait returns at once,
 * with EAGAIN from the kernel, since the value differs. */
TEST(futex_wait_keeps_errno) {
    _Atomic uint32_t word = 1;
    er_set(4242);
    gort__export_futexsleep(&word, 0, -1);
    ASSERT_EQ(er_get(), 4242);
    er_set(4343);
    gort__export_futexsleep(&word, 1, 1000); /* times out: ETIMEDOUT */
    ASSERT_EQ(er_get(), 4343);
}

/* ------------------------------------------------------------------------
 * Blocking calls made without gort_syscall_enter
 * ------------------------------------------------------------------------ */

/* Two goroutines in a bare read(2) on pipes at GOMAXPROCS=2 do not stall
 * the rest of the program: the signal finds each thread blocked in a
 * restartable call and the trampoline hands its P off for the call. */
static int br_pipes[2][2];
static atomic_int br_read;

static void br_reader(void *arg) {
    int i = (int)(intptr_t)arg;
    char c;
    ssize_t n = read(br_pipes[i][0], &c, 1); /* no gort_syscall_enter */
    ASSERT_EQ(n, 1);
    ASSERT_EQ(c, 'x');
    atomic_fetch_add(&br_read, 1);
}

static atomic_long br_work;

static void br_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        gort_sleep(GT_MS);
        atomic_fetch_add(&br_work, 1);
    }
}

static int main_bare_read(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_gomaxprocs(0), 2);
    uint64_t before = gort__export_npreempt_syscall();
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(pipe(br_pipes[i]), 0);
        ASSERT_EQ(gort_go(br_reader, (void *)(intptr_t)i), 0);
    }
    /* Let both readers block, each holding a P. */
    for (int i = 0; i < 20; i++)
        gort_sleep(GT_MS);
    ASSERT_EQ(gort_go(br_worker, NULL), 0);
    int64_t deadline = h_now() + h_timeout(10);
    while (atomic_load(&br_work) < 20 && h_now() < deadline)
        gort_sleep(GT_MS);
    ASSERT_EQ(atomic_load(&br_work), 20);
    ASSERT_EQ(atomic_load(&br_read), 0);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(write(br_pipes[i][1], "x", 1), 1);
    while (atomic_load(&br_read) < 2 && h_now() < deadline)
        gort_sleep(GT_MS);
    ASSERT_EQ(atomic_load(&br_read), 2);
    ASSERT_GT(gort__export_npreempt_syscall() - before, 0);
    for (int i = 0; i < 2; i++) {
        close(br_pipes[i][0]);
        close(br_pipes[i][1]);
    }
    return 0;
}

TEST(bare_read_does_not_stall_p2) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(2);
    watchdog_start(60, "the program while two goroutines block in a bare read()");
    ASSERT_EQ(gort_main(main_bare_read, NULL), 0);
    watchdog_stop();
}

/* The report of a blocking call made without gort_syscall_enter gives the
 * time the goroutine has held its P, not counting time the process sat
 * stopped (SIGSTOP here; a debugger's ptrace stop at a breakpoint alike):
 * a goroutine that was running before a 3 s stop and makes a bare
 * nanosleep(2) right after it is reported at about 1 s, not 3 or more. */
static int64_t stopped_spin = 50 * GT_MS;

static int main_stopped(void *arg) {
    (void)arg;
    gort_sleep(GT_MS);
    /* Run without a scheduling point long enough for sysmon to see the
     * P's slice start: its clock then spans the stop. */
    int64_t end = h_now() + stopped_spin;
    while (h_now() < end) {
    }
    raise(SIGSTOP); /* the helper process continues us 3 s later */
    /* Not restartable: reported after 1 s.  As the header says, a
     * preemption signal sent just before the call blocked (sysmon saw the
     * thread running, or runnable and waiting for a CPU on a loaded
     * machine) fails it with EINTR, and its handler, finding nothing else
     * to run, starts the P's slice again: so the whole 1.6 s again after
     * each EINTR, or the rest of one sleep can be under the report's 1 s
     * (no report, twice in loaded asan runs). */
    for (;;) {
        struct timespec ts = {1, 600 * 1000 * 1000};
        if (nanosleep(&ts, NULL) == 0 || errno != EINTR)
            break;
    }
    return 0;
}

/* The state letter of process pid (/proc/PID/stat), or 0. */
static char proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

static int run_stopped(void *arg) {
    (void)arg;
    pid_t self = getpid();
    pid_t helper = fork();
    if (helper < 0)
        return 2;
    if (helper == 0) {
        /* Once the program has stopped itself (bounded), 3 s later. */
        int64_t deadline = h_now() + 60 * 1000 * GT_MS * gt_scale();
        while (proc_state(self) != 'T' && h_now() < deadline)
            usleep(1000);
        struct timespec ts = {3, 0};
        nanosleep(&ts, NULL);
        kill(self, SIGCONT);
        _exit(0);
    }
    int r = gort_main(main_stopped, NULL);
    waitpid(helper, NULL, 0);
    return r;
}

/* The same with each of sysmon's rounds taking 50 ms after its clock
 * reading, so that the stop most likely falls there: sysmon measured the
 * time away from a reading taken after that work, and missed such a stop
 * (the report said 3.0 s in one asan run in CI). */
static int run_stopped_in_round(void *arg) {
    gort__export_sysmon_stall(50 * GT_MS);
    stopped_spin = 300 * GT_MS; /* sysmon, at ~60 ms a round, sees the slice */
    return run_stopped(arg);
}

static void blocking_report_excludes(int (*run)(void *)) {
    char out[4096];
    int ws = gt_run_child(run, NULL, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    const char *rep = strstr(out, "in a blocking call without gort_syscall_enter");
    if (rep == NULL)
        GT_FAIL("no blocking-call report; stderr:\n%s", out);
    const char *held = strstr(out, " for ");
    long secs = -1, tenths = -1;
    if (held == NULL || held > rep || sscanf(held, " for %ld.%lds", &secs, &tenths) != 2)
        GT_FAIL("no duration in the report:\n%s", out);
    /* At least the 1 s threshold; under 2 s: the stop (~3 s) is not counted. */
    if (secs != 1)
        GT_FAIL("held for %ld.%lds, want 1.x s (the stop counted?):\n%s", secs, tenths, out);
}

TEST(blocking_report_excludes_stop) {
    NEEDS_SIGNAL();
    blocking_report_excludes(run_stopped);
}

TEST(blocking_report_excludes_stop_in_sysmons_round) {
    NEEDS_SIGNAL();
    blocking_report_excludes(run_stopped_in_round);
}

/* A goroutine that no signal can stop (here it blocks the preemption
 * signal on its locked thread; under ThreadSanitizer there is none at
 * all) holds a stop of the world until it makes a gort call.  It spins
 * 1.5 s while another goroutine collects: after a second the runtime
 * names it on stderr instead of hanging silently, and the collection
 * completes once it unblocks the signal. */
static atomic_int unstop_state;

static void unstoppable(void *arg) {
    (void)arg;
    gort_lock_os_thread();
    sigset_t urg, old;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    pthread_sigmask(SIG_BLOCK, &urg, &old);
    atomic_store(&unstop_state, 1);
    int64_t end = h_now() + 1500 * GT_MS;
    while (h_now() < end) {
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    gort_unlock_os_thread();
    atomic_store(&unstop_state, 2);
}

static int unstop_main(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    if (gort_go(unstoppable, NULL) != 0)
        return 2;
    while (atomic_load(&unstop_state) == 0)
        gort_sleep(GT_MS);
    gort_gc();
    while (atomic_load(&unstop_state) != 2)
        gort_sleep(GT_MS);
    return 0;
}

static int run_unstop(void *arg) {
    (void)arg;
    return gort_main(unstop_main, NULL);
}

TEST(stw_wait_names_unstoppable_goroutine) {
    char out[4096];
    int ws = gt_run_child(run_unstop, NULL, out, sizeof out);
    if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0))
        GT_FAIL("child status %#x; stderr:\n%s", ws, out);
    if (strstr(out, "runtime: stop the world (GC) has waited ") == NULL ||
        strstr(out, " which makes no gort call") == NULL)
        GT_FAIL("no report of the goroutine the stop waited for; stderr:\n%s", out);
}

/* ------------------------------------------------------------------------
 * Stop the world by signal (white-box: the heap's interface)
 * ------------------------------------------------------------------------ */

#define SW_N 2
static atomic_long sw_count[SW_N];
static atomic_bool sw_stop;
static void *sw_g[SW_N];
static char sw_buf[SW_N][1 << 16];

/* Spins in C without a call (i even) or mostly inside libc (i odd: the
 * signal finds it where it cannot be preempted, so it is suspended in the
 * handler). */
static void sw_spinner(void *arg) {
    int i = (int)(intptr_t)arg;
    sw_g[i] = gort__export_getg();
    while (!atomic_load_explicit(&sw_stop, memory_order_relaxed)) {
        if (i & 1)
            memset(sw_buf[i], (int)atomic_load_explicit(&sw_count[i], memory_order_relaxed),
                   sizeof sw_buf[i]);
        atomic_fetch_add_explicit(&sw_count[i], 1, memory_order_relaxed);
    }
}

static int main_stw(void *arg) {
    (void)arg;
    int procs = gort_gomaxprocs(0);
    for (int i = 0; i < SW_N; i++)
        ASSERT_EQ(gort_go(sw_spinner, (void *)(intptr_t)i), 0);
    int64_t deadline = h_now() + h_timeout(10);
    for (int i = 0; i < SW_N; i++)
        while (atomic_load(&sw_count[i]) == 0 && h_now() < deadline)
            gort_sleep(GT_MS);
    for (int round = 0; round < 20; round++) {
        gort__export_stop_the_world();
        ASSERT_TRUE(gort__export_others_stopped());
        long c0[SW_N];
        for (int i = 0; i < SW_N; i++) {
            c0[i] = atomic_load(&sw_count[i]);
            /* Suspended with its registers, or stopped at a safe point. */
            ASSERT_GE(gort__export_stw_interrupted(sw_g[i]), 0);
        }
        usleep(2000);
        for (int i = 0; i < SW_N; i++)
            ASSERT_EQ(atomic_load(&sw_count[i]), c0[i]); /* stopped means stopped */
        gort__export_start_the_world();
        gort_sleep(2 * GT_MS);
    }
    /* GOMAXPROCS changes stop the world too (without suspending). */
    ASSERT_EQ(gort_gomaxprocs(1), procs);
    ASSERT_EQ(gort_gomaxprocs(procs), 1);
    long c1 = atomic_load(&sw_count[0]);
    while (atomic_load(&sw_count[0]) == c1 && h_now() < deadline)
        gort_sleep(GT_MS);
    ASSERT_GT(atomic_load(&sw_count[0]), c1);
    atomic_store(&sw_stop, true);
    return 0;
}

TEST(stop_the_world_stops_spinners) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(3);
    watchdog_start(60, "stop-the-world with goroutines spinning in C");
    ASSERT_EQ(gort_main(main_stw, NULL), 0);
    watchdog_stop();
}

/* A goroutine stopping the world is no program's blocking call.  Here a
 * GOMAXPROCS change waits for a spinner in C (which such a stop does not
 * suspend, and which may not be preempted: asyncpreemptoff=1), and the
 * stopper's own thread gets preemption signals meanwhile, as from a
 * sysmon request sent just before the stop began.  The handler once took
 * the system call it found (the stop's futex wait, or the getpid of its
 * tgkill) for a blocking call of the program's and wrapped it in
 * gort_syscall_enter/exit: on return the stopper waited for a P that only
 * the restart of the world it was stopping would give back
 * (stress.torture.mixed hung in CI so, once).  A stopped P's thread is
 * now left alone. */
static atomic_bool ss_started, ss_spun;
static _Atomic long ss_tid;

static void ss_spinner(void *arg) {
    (void)arg;
    atomic_store(&ss_started, true);
    int64_t end = h_now() + 300 * GT_MS;
    volatile uint64_t x = 0;
    while (h_now() < end)
        for (int i = 0; i < 100000; i++)
            x++;
    atomic_store(&ss_spun, true);
    gort_yield(); /* stops here for the world */
}

/* A thread outside the runtime: signals the stopper while it waits. */
static void *ss_signaller(void *arg) {
    (void)arg;
    while (!gort__export_gcwaiting())
        usleep(100);
    while (!atomic_load(&ss_spun)) {
        syscall(SYS_tgkill, getpid(), (pid_t)atomic_load(&ss_tid), SIGURG);
        usleep(500);
    }
    return NULL;
}

static int main_stopper(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(ss_spinner, NULL), 0);
    while (!atomic_load(&ss_started))
        gort_sleep(GT_MS);
    atomic_store(&ss_tid, (long)syscall(SYS_gettid));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, ss_signaller, NULL), 0);
    long n0 = (long)gort__export_npreempt_syscall();
    ASSERT_EQ(gort_gomaxprocs(3), 2);
    ASSERT_EQ(gort_gomaxprocs(0), 3);
    pthread_join(t, NULL);
    /* None of the stopper's calls was taken for a blocking call. */
    ASSERT_EQ((long)gort__export_npreempt_syscall(), n0);
    return 0;
}

TEST(stopper_is_not_a_blocking_call) {
    NEEDS_SIGNAL();
    coop_only();
    gort_gomaxprocs(2);
    watchdog_start(30, "a GOMAXPROCS change waiting for a spinner in C, signalled");
    ASSERT_EQ(gort_main(main_stopper, NULL), 0);
    watchdog_stop();
    unsetenv("GORTDEBUG");
}

/* ------------------------------------------------------------------------
 * GOMAXPROCS from the affinity mask and the cgroup CPU limit
 * ------------------------------------------------------------------------ */

static int main_report(void *arg) {
    int *out = arg;
    out[0] = gort_gomaxprocs(0);
    out[1] = gort_numcpu();
    return 0;
}

/* As under `taskset -c 0`: the affinity mask is one CPU. */
TEST(gomaxprocs_from_affinity) {
    unsetenv("GOMAXPROCS");
    int pfd[2];
    ASSERT_EQ(pipe(pfd), 0);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0)
            _exit(4);
        int out[2] = {0, 0};
        if (gort_main(main_report, out) != 0)
            _exit(3);
        _exit(write(pfd[1], out, sizeof out) == sizeof out ? 0 : 5);
    }
    close(pfd[1]);
    int out[2] = {0, 0};
    ASSERT_EQ(read(pfd[0], out, sizeof out), (ssize_t)sizeof out);
    close(pfd[0]);
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ASSERT_EQ(out[0], 1);
    ASSERT_EQ(out[1], 1);
}

/* A fake cgroup tree: the tightest limit along the hierarchy counts, a
 * parent's included (Go 1.25 reads the leaf only). */
static char cg_dir[256];

static void cg_write(const char *rel, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cg_dir, rel);
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
}

static void cg_mkdir(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cg_dir, rel);
    ASSERT_EQ(mkdir(path, 0755), 0);
}

static double cg_limit(void) {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/cgroup", cg_dir);
    snprintf(b, sizeof b, "%s/mountinfo", cg_dir);
    return gort__export_cgroup_cpu_limit_from(a, b);
}

TEST(cgroup_cpu_limit) {
    snprintf(cg_dir, sizeof cg_dir, "/tmp/gort-cg-%d", (int)getpid());
    ASSERT_EQ(mkdir(cg_dir, 0755), 0);
    char mi[1024];
    /* cgroup v2: /a/b in a mount of the whole hierarchy. */
    cg_mkdir("v2");
    cg_mkdir("v2/a");
    cg_mkdir("v2/a/b");
    snprintf(mi, sizeof mi,
             "30 23 0:27 / %s/v2 rw,nosuid - cgroup2 cgroup2 rw\n"
             "31 23 0:28 / /proc rw - proc proc rw\n",
             cg_dir);
    cg_write("mountinfo", mi);
    cg_write("cgroup", "0::/a/b\n");
    ASSERT_TRUE(cg_limit() == 0); /* no cpu.max anywhere */
    cg_write("v2/a/b/cpu.max", "max 100000\n");
    ASSERT_TRUE(cg_limit() == 0);
    cg_write("v2/a/b/cpu.max", "250000 100000\n");
    ASSERT_TRUE(cg_limit() == 2.5);
    cg_write("v2/a/cpu.max", "150000 100000\n"); /* the parent is tighter */
    ASSERT_TRUE(cg_limit() == 1.5);
    cg_write("v2/cpu.max", "50000 100000\n"); /* and the root tighter still */
    ASSERT_TRUE(cg_limit() == 0.5);
    /* cgroup v1: the cpu controller, mounted with its own root. */
    cg_mkdir("v1");
    cg_mkdir("v1/x");
    snprintf(mi, sizeof mi, "32 31 0:29 / %s/v1 rw,relatime - cgroup cgroup rw,cpu,cpuacct\n",
             cg_dir);
    cg_write("mountinfo", mi);
    cg_write("cgroup", "4:memory:/m\n2:cpu,cpuacct:/x\n0::/\n");
    cg_write("v1/x/cpu.cfs_quota_us", "-1\n");
    cg_write("v1/x/cpu.cfs_period_us", "100000\n");
    ASSERT_TRUE(cg_limit() == 0);
    cg_write("v1/x/cpu.cfs_quota_us", "300000\n");
    ASSERT_TRUE(cg_limit() == 3.0);
    cg_write("v1/cpu.cfs_quota_us", "200000\n");
    cg_write("v1/cpu.cfs_period_us", "100000\n");
    ASSERT_TRUE(cg_limit() == 2.0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cg_dir);
    ASSERT_EQ(system(cmd), 0);
}

/* ------------------------------------------------------------------------
 * Names of the runtime's mappings
 * ------------------------------------------------------------------------ */

static int main_maps(void *arg) {
    bool *named = arg;
    FILE *f = fopen("/proc/self/maps", "re");
    ASSERT_NOT_NULL(f);
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "[anon:gort stacks]") != NULL)
            named[0] = true;
        if (strstr(line, "[anon:gort signal stack]") != NULL)
            named[1] = true;
    }
    fclose(f);
    return 0;
}

/* The executable's PLT sections, from its section headers: [lo, hi)
 * at most 8, with the load bias of the executable. */
static int exe_plts(uintptr_t lo[8], uintptr_t hi[8]) {
    FILE *f = fopen("/proc/self/exe", "rb");
    if (f == NULL)
        return -1;
    ElfW(Ehdr) eh;
    int n = 0;
    if (fread(&eh, sizeof eh, 1, f) == 1) {
        ElfW(Shdr) *sh = calloc(eh.e_shnum, sizeof *sh);
        fseek(f, (long)eh.e_shoff, SEEK_SET);
        if (sh != NULL && fread(sh, sizeof *sh, eh.e_shnum, f) == eh.e_shnum) {
            char *names = calloc(1, sh[eh.e_shstrndx].sh_size + 1);
            fseek(f, (long)sh[eh.e_shstrndx].sh_offset, SEEK_SET);
            if (names != NULL &&
                fread(names, 1, sh[eh.e_shstrndx].sh_size, f) == sh[eh.e_shstrndx].sh_size) {
                /* the main program's bias: its entry in the link map */
                uintptr_t bias = (uintptr_t)_r_debug.r_map->l_addr;
                for (int i = 0; i < eh.e_shnum && n < 8; i++)
                    if (strncmp(names + sh[i].sh_name, ".plt", 4) == 0 &&
                        (sh[i].sh_flags & SHF_EXECINSTR) && sh[i].sh_size > 0) {
                        lo[n] = bias + sh[i].sh_addr;
                        hi[n] = lo[n] + sh[i].sh_size;
                        n++;
                    }
            }
            free(names);
        }
        free(sh);
    }
    fclose(f);
    return n;
}

static void plt_case_fn(void) {}

static int main_plt(void *arg) {
    (void)arg;
    uintptr_t lo[8], hi[8];
    int n = exe_plts(lo, hi);
    ASSERT_GT(n, 0);
    /* The user's own code is user text, the stubs through which the
     * runtime (linked statically into this test) calls libc and the
     * sanitizers are not: a pc there may be half-way through a goroutine
     * switch (ASan's __sanitizer_finish_switch_fiber, called through one,
     * was preempted there: "starting fiber switch while in fiber switch"). */
    ASSERT_TRUE(gort__export_preempt_pc_is_user((uintptr_t)(void *)plt_case_fn));
    for (int i = 0; i < n; i++)
        for (uintptr_t pc = lo[i]; pc < hi[i]; pc += 4)
            ASSERT_FALSE(gort__export_preempt_pc_is_user(pc));
    return 0;
}

TEST(plt_is_not_a_safe_point) {
    ASSERT_EQ(gort_main(main_plt, NULL), 0);
}

/* [anon:gort stacks] and [anon:gort signal stack] in /proc/self/maps, on
 * kernels that name anonymous mappings (PR_SET_VMA_ANON_NAME, 5.17+). */
TEST(mappings_named) {
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(p != MAP_FAILED);
    bool can = prctl(0x53564d41, 0, (unsigned long)p, 4096ul, (unsigned long)"probe") == 0;
    munmap(p, 4096);
    if (!can)
        GT_SKIP("this kernel does not name anonymous mappings");
    bool named[2] = {false, false};
    ASSERT_EQ(gort_main(main_maps, named), 0);
    ASSERT_TRUE(named[0]);
    ASSERT_TRUE(named[1]);
}

/* gort_main returns while goroutines loop without a gort call on the
 * other Ps (one of them locked to its thread): the exit's preemption
 * signal stops them where they are, abandoned as Go's exit abandons them.
 * gort_main used to wait for them for ever (nothing signalled them). */
static atomic_int sx_running;

static void sx_spinner(void *arg) {
    if (arg != NULL)
        gort_lock_os_thread();
    atomic_fetch_add(&sx_running, 1);
    volatile unsigned long x = 0;
    for (;;)
        x++;
}

static int main_spin_exit(void *arg) {
    (void)arg;
    atomic_store(&sx_running, 0);
    ASSERT_EQ(gort_go(sx_spinner, NULL), 0);
    ASSERT_EQ(gort_go(sx_spinner, &sx_running), 0);
    while (atomic_load(&sx_running) < 2)
        gort_sleep(GT_MS);
    return 5;
}

TEST(exit_stops_spinning_goroutines) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(3);
    watchdog_start(10, "gort_main waited for goroutines looping without a gort call");
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(gort_main(main_spin_exit, NULL), 5);
    watchdog_stop();
}

/* A program that blocks every signal before gort_main (to take them with
 * sigwait, say): the runtime's threads unblock the preemption signal and
 * the synchronous ones, as Go's minitSignalMask does, so the spinner at
 * GOMAXPROCS=1 is preempted (it held the only P for ever: the threads
 * inherited the mask); the caller's mask is its own again afterwards. */
TEST(blocked_signals_still_preempt) {
    NEEDS_SIGNAL();
    gort_gomaxprocs(1);
    sigset_t all, before, after;
    sigfillset(&all);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &all, &before), 0);
    watchdog_start(10, "main never ran again with every signal blocked before gort_main");
    ASSERT_EQ(gort_main(main_spin_flag, NULL), 0);
    watchdog_stop();
    ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &before, &after), 0);
    ASSERT_TRUE(sigismember(&after, SIGURG));
    ASSERT_TRUE(sigismember(&after, SIGSEGV));
}

GT_MAIN()
