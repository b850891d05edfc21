/*
 * sched_stress_test.c - randomized spawn trees on the M:P:G scheduler.
 *
 * Seeded and time-bounded.  The seed is printed at the start; rerun one with
 *     GORT_STRESS_SEED=<seed> stress_sched_stress_test <case>
 * GORT_STRESS_SECONDS=<s> sets the duration (default 4 s, divided by
 * gt_scale() in sanitizer builds).
 *
 * Every goroutine is counted in (by its spawner, before gort_go) and out
 * (when it ends); at the end the totals must balance exactly.  The trees
 * grow from the main goroutine, from goroutines, and from a thread outside
 * the runtime, while the main goroutine changes GOMAXPROCS and some
 * goroutines lock themselves to their threads (a few exit locked).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long cur_tid(void) {
    return (long)syscall(SYS_gettid);
}

/* atomic_load for assertions (their message shows "ld(&x)"). */
static long ld(atomic_long *p) {
    return atomic_load(p);
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t stress_seed(const char *name) {
    const char *s = getenv("GORT_STRESS_SEED");
    uint64_t seed;
    if (s && *s)
        seed = strtoull(s, NULL, 0);
    else
        seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    fprintf(stderr, "%s: seed=%" PRIu64 " (rerun with GORT_STRESS_SEED=%" PRIu64 ")\n", name, seed,
            seed);
    return seed;
}

static double stress_seconds(double dflt) {
    const char *s = getenv("GORT_STRESS_SECONDS");
    if (s && *s)
        return atof(s);
    return dflt / gt_scale();
}

/* ------------------------------------------------------------------------
 * Spawn trees
 *
 * A node's argument packs its seed and depth.  A node yields, burns a
 * little CPU, spawns up to 4 children (fewer when the live count is high),
 * and now and then locks itself to its thread for a few yields, or (rarely,
 * bounded) exits while locked, which takes its thread with it.
 * ------------------------------------------------------------------------ */

#define MAX_DEPTH 7
#define LIVE_CAP 20000
#define MAX_EXIT_LOCKED 24
/* Each locked goroutine holds an OS thread while it waits for its turn, so
 * the number locked at once is bounded (Go dies past 10,000 threads). */
#define MAX_LOCKED_NOW 8

static atomic_long spawned;  /* counted in by the spawner, before gort_go */
static atomic_long started;  /* counted by the node when it starts */
static atomic_long finished; /* counted by the node when it ends */
static atomic_long yields;
static atomic_long locked_sections;
static atomic_long exit_locked;
static atomic_long from_foreign;
static atomic_long lock_moved; /* a locked goroutine found itself on another thread */
static atomic_int locked_now;  /* goroutines inside a locked section now */
static atomic_int stop_roots;

static void *pack(uint64_t seed, int depth) {
    return (void *)(uintptr_t)((seed << 4) | (uint64_t)depth);
}

static void node(void *arg);

/* Counts a child in and spawns it; the count stays balanced either way. */
static void spawn_node(uint64_t seed, int depth) {
    atomic_fetch_add(&spawned, 1);
    int r = gort_go(node, pack(seed, depth));
    if (r != 0) {
        fprintf(stderr, "gort_go failed with %d (live %ld)\n", r,
                atomic_load(&spawned) - atomic_load(&finished));
        ASSERT_EQ(r, 0);
    }
}

static void burn(uint64_t n) {
    for (volatile uint64_t i = 0; i < n; i++) {
    }
}

static void node(void *arg) {
    uint64_t packed = (uint64_t)(uintptr_t)arg;
    int depth = (int)(packed & 15);
    uint64_t rng = packed >> 4;
    atomic_fetch_add(&started, 1);

    uint64_t r = splitmix64(&rng);
    int nyield = (int)(r % 6);
    for (int i = 0; i < nyield; i++) {
        burn(splitmix64(&rng) % 500);
        gort_yield();
        atomic_fetch_add(&yields, 1);
    }

    long live = atomic_load(&spawned) - atomic_load(&finished);
    int nchild = depth < MAX_DEPTH && live < LIVE_CAP ? (int)(splitmix64(&rng) % 5) : 0;
    for (int i = 0; i < nchild; i++) {
        spawn_node(splitmix64(&rng), depth + 1);
        if (splitmix64(&rng) % 3 == 0)
            gort_yield();
    }

    uint64_t dice = splitmix64(&rng) % 1000;
    if (dice < 32 && atomic_fetch_add(&locked_now, 1) >= MAX_LOCKED_NOW) {
        atomic_fetch_sub(&locked_now, 1);
        dice = 1000; /* too many locked goroutines already: skip */
    }
    if (dice < 30) {
        /* A locked section: the thread must not change. */
        gort_lock_os_thread();
        bool nested = dice < 10;
        if (nested)
            gort_lock_os_thread();
        long tid = cur_tid();
        for (int i = 0; i < 3; i++) {
            gort_yield();
            if (cur_tid() != tid)
                atomic_fetch_add(&lock_moved, 1);
        }
        if (nested)
            gort_unlock_os_thread();
        gort_unlock_os_thread();
        atomic_fetch_sub(&locked_now, 1);
        atomic_fetch_add(&locked_sections, 1);
    } else if (dice < 32) {
        if (atomic_fetch_add(&exit_locked, 1) < MAX_EXIT_LOCKED) {
            gort_lock_os_thread();
            gort_yield();
            atomic_fetch_sub(&locked_now, 1);
            atomic_fetch_add(&finished, 1);
            return; /* exits locked: takes its thread with it */
        }
        atomic_fetch_sub(&locked_now, 1);
    }
    atomic_fetch_add(&finished, 1);
}

static void *foreign_thread(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    while (!atomic_load(&stop_roots)) {
        if (atomic_load(&spawned) - atomic_load(&finished) < LIVE_CAP / 2) {
            spawn_node(splitmix64(&rng), 0);
            atomic_fetch_add(&from_foreign, 1);
        }
        struct timespec ts = {0, (long)(splitmix64(&rng) % 200) * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* In the main goroutine: polls until the counts balance, or fails. */
static void wait_balanced(double secs) {
    int64_t deadline = now_ns() + (int64_t)(secs * gt_scale() * 1e9);
    while (atomic_load(&finished) < atomic_load(&spawned)) {
        if (now_ns() > deadline) {
            fprintf(stderr,
                    "timed out waiting for the trees to finish: spawned %ld, started %ld, "
                    "finished %ld\n",
                    atomic_load(&spawned), atomic_load(&started), atomic_load(&finished));
            ASSERT_EQ(ld(&finished), ld(&spawned));
        }
        gort_yield();
    }
}

static uint64_t tree_seed;
static double tree_seconds;

static int main_trees(void *arg) {
    (void)arg;
    uint64_t rng = tree_seed;
    gort_gomaxprocs(2);
    int procs = 2;

    pthread_t ft;
    ASSERT_EQ(pthread_create(&ft, NULL, foreign_thread, (void *)(uintptr_t)splitmix64(&rng)), 0);

    int64_t start = now_ns();
    int64_t end = start + (int64_t)(tree_seconds * 1e9);
    int64_t next_procs = start;
    long changes = 0;
    /* The foreign thread spawns only when it gets the CPU and finds the
     * live count low: the run goes on past its time until it did (a loaded
     * machine may give it neither in a sanitizer's short run), up to a
     * scaled deadline after which the check below fails. */
    int64_t foreign_deadline = end + (int64_t)(20 * gt_scale() * 1e9);
    while (now_ns() < end || (atomic_load(&from_foreign) == 0 && now_ns() < foreign_deadline)) {
        if (atomic_load(&spawned) - atomic_load(&finished) < LIVE_CAP / 2)
            spawn_node(splitmix64(&rng), (int)(splitmix64(&rng) % 3));
        uint64_t n = splitmix64(&rng) % 4;
        for (uint64_t i = 0; i < n; i++)
            gort_yield();
        if (now_ns() >= next_procs) {
            int want = 1 + (int)(splitmix64(&rng) % 4);
            int prev = gort_gomaxprocs(want);
            if (prev != procs)
                fprintf(stderr, "gort_gomaxprocs(%d) returned %d, want %d\n", want, prev, procs);
            ASSERT_EQ(prev, procs);
            procs = want;
            gort_stats s;
            gort_read_stats(&s);
            ASSERT_EQ(s.procs, procs);
            changes++;
            next_procs = now_ns() + (int64_t)(splitmix64(&rng) % 50) * 1000000;
        }
    }

    atomic_store(&stop_roots, 1);
    /* Join the foreign thread without blocking this goroutine's thread on it. */
    while (pthread_tryjoin_np(ft, NULL) == EBUSY)
        gort_yield();
    ASSERT_EQ(gort_gomaxprocs(2), procs);

    wait_balanced(60);
    ASSERT_EQ(ld(&finished), ld(&spawned));
    ASSERT_EQ(ld(&started), ld(&spawned));
    ASSERT_EQ(ld(&lock_moved), 0);

    /* Every goroutine has ended, so only main remains. */
    int64_t deadline = now_ns() + (int64_t)(20 * gt_scale() * 1e9);
    while (gort_numgoroutine() != 1 && now_ns() < deadline)
        gort_yield();
    ASSERT_EQ(gort_numgoroutine(), 1);

    gort_stats s;
    gort_read_stats(&s);
    ASSERT_GE(s.goroutines_created, (uint64_t)ld(&spawned));
    fprintf(stderr,
            "spawn_trees: %.1fs: %ld goroutines (%ld from a foreign thread), %ld yields, "
            "%ld locked sections, %ld exited locked, %ld GOMAXPROCS changes; "
            "stats: %" PRIu64 " switches, %" PRIu64 " steals, %" PRIu64 " threads\n",
            (now_ns() - start) / 1e9, atomic_load(&spawned), atomic_load(&from_foreign),
            atomic_load(&yields), atomic_load(&locked_sections),
            atomic_load(&exit_locked) < MAX_EXIT_LOCKED ? atomic_load(&exit_locked)
                                                        : (long)MAX_EXIT_LOCKED,
            changes, s.context_switches, s.steals, s.threads);
    ASSERT_GT(ld(&from_foreign), 0);
    /* Idle Ms are kept for reuse, but never more than were needed at once:
     * up to 4 Ps, MAX_LOCKED_NOW locked goroutines, spinning and idle Ms. */
    if (s.threads > 64)
        fprintf(stderr, "the runtime holds %" PRIu64 " threads: Ms are not being reused\n",
                s.threads);
    ASSERT_LE(s.threads, 64);
    return 42;
}

TEST(spawn_trees) {
    tree_seed = stress_seed("spawn_trees");
    tree_seconds = stress_seconds(4.0);
    ASSERT_EQ(gort_main(main_trees, NULL), 42);
    ASSERT_EQ(ld(&finished), ld(&spawned));
}

/* ------------------------------------------------------------------------
 * Repeated gort_main with random work and abandoned goroutines
 *
 * Each run spawns random trees and waits for them (they must balance), and
 * also leaves some looping goroutines behind: abandoned when main_fn
 * returns, they must never run again, in this run or the next.
 * ------------------------------------------------------------------------ */

static atomic_long abandoned_ticks;

static void looper(void *arg) {
    (void)arg;
    for (;;) {
        atomic_fetch_add(&abandoned_ticks, 1);
        gort_yield();
    }
}

struct run_arg {
    uint64_t seed;
    int value;
};

static int main_run(void *arg) {
    struct run_arg *ra = arg;
    uint64_t rng = ra->seed;
    ASSERT_EQ(gort_goid(), 1);
    gort_gomaxprocs(1 + (int)(splitmix64(&rng) % 3));
    int roots = 1 + (int)(splitmix64(&rng) % 50);
    for (int i = 0; i < roots; i++)
        spawn_node(splitmix64(&rng), 2 + (int)(splitmix64(&rng) % 4));
    int loopers = (int)(splitmix64(&rng) % 20);
    for (int i = 0; i < loopers; i++)
        ASSERT_EQ(gort_go(looper, NULL), 0);
    wait_balanced(30);
    int n = (int)(splitmix64(&rng) % 100);
    for (int i = 0; i < n; i++)
        gort_yield();
    return ra->value;
}

TEST(repeated_main) {
    uint64_t rng = stress_seed("repeated_main");
    double secs = stress_seconds(2.0);
    int64_t end = now_ns() + (int64_t)(secs * 1e9);
    int runs = 0;
    /* At least two runs (a restart), however long one takes on a loaded
     * machine (a sanitizer build's time is 2 s / scale), within a scaled
     * deadline. */
    int64_t deadline = end + (int64_t)(60 * gt_scale() * 1e9);
    do {
        struct run_arg ra = {splitmix64(&rng), (int)(splitmix64(&rng) % 1000)};
        ASSERT_EQ(gort_main(main_run, &ra), ra.value);
        ASSERT_EQ(ld(&finished), ld(&spawned));
        ASSERT_EQ(gort_numgoroutine(), 0);
        long ticks = atomic_load(&abandoned_ticks);
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
        ASSERT_EQ(ld(&abandoned_ticks), ticks); /* nothing runs after gort_main */
        ASSERT_EQ(gort_go(looper, NULL), -EAGAIN);
        runs++;
    } while (now_ns() < end || (runs < 2 && now_ns() < deadline));
    fprintf(stderr, "repeated_main: %d runs, %ld goroutines, %ld abandoned-looper ticks\n", runs,
            atomic_load(&spawned), atomic_load(&abandoned_ticks));
    ASSERT_GE(runs, 2);
}

GT_MAIN()
