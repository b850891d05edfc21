/*
 * stack_test.c - goroutine stacks: scavenging of pooled stacks, guard modes.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gort.h"
#include "gt.h"

#define NDEEP 3000
#define DEPTH_BYTES (128 * 1024)

static gort_waitgroup wg;
static gort_waitgroup hold; /* keeps them all alive: NDEEP distinct stacks */

static void deep(void *arg) {
    (void)arg;
    volatile char buf[DEPTH_BYTES];
    for (size_t i = 0; i < sizeof buf; i += 1024) /* touch 128 KiB of stack */
        buf[i] = 1;
    gort_wg_done(&wg);
    gort_wg_wait(&hold);
}

/* 3,000 goroutines each touch 128 KiB of stack (~375 MiB committed), then
 * exit; their gs go to the free pools.  sysmon must hand the pages of all
 * but the warm pool back to the OS within a few seconds. */
static int main_scavenge(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    gort_wg_add(&hold, 1);
    gort_wg_add(&wg, NDEEP);
    for (int i = 0; i < NDEEP; i++)
        ASSERT_EQ(gort_go(deep, NULL), 0);
    gort_wg_wait(&wg);
    gort_stats s0;
    gort_read_stats(&s0);
    gort_wg_done(&hold); /* now let them exit */
    uint64_t touched = (uint64_t)NDEEP * DEPTH_BYTES;
    /* Most of what was touched is still resident right after a quick run
     * (a slow one, e.g. under TSan, already saw the scavenger at work). */
    if (gort_nanotime() - t0 < 500 * 1000 * 1000)
        ASSERT_GT(s0.stack_inuse_bytes, touched / 2);
    uint64_t now = s0.stack_inuse_bytes;
    for (int i = 0; i < 100 * gt_scale() && now > touched / 4; i++) {
        gort_sleep(100 * 1000 * 1000); /* the exiting goroutines need a P (GOMAXPROCS=1) */
        gort_stats s;
        gort_read_stats(&s);
        now = s.stack_inuse_bytes;
    }
    /* At most the warm pool (1,024 gs) and the P caches keep deep pages. */
    ASSERT_LT(now, touched / 4);
    return 0;
}

TEST(scavenge_pooled_stacks) {
    ASSERT_EQ(gort_main(main_scavenge, NULL), 0);
}

/* gort_free_os_memory returns the pooled stacks' pages at once, down to
 * each struct g (Go frees dead goroutines' stacks at every collection):
 * the pool kept them (16 KiB each, after a second idle) for good. */
#define NFREE 1000
#define FREE_BYTES (64 * 1024)

static void touch64(void *arg) {
    (void)arg;
    volatile char buf[FREE_BYTES];
    for (size_t i = 0; i < sizeof buf; i += 1024)
        buf[i] = 3;
    gort_wg_done(&wg);
    gort_wg_wait(&hold);
}

static int main_free_os(void *arg) {
    (void)arg;
    gort_wg_add(&hold, 1);
    gort_wg_add(&wg, NFREE);
    for (int i = 0; i < NFREE; i++)
        ASSERT_EQ(gort_go(touch64, NULL), 0);
    gort_wg_wait(&wg);
    gort_wg_done(&hold);
    int64_t deadline = gort_nanotime() + (int64_t)60 * 1000 * 1000 * 1000 * gt_scale();
    while (gort_numgoroutine() > 1) {
        ASSERT_LT(gort_nanotime(), deadline);
        gort_sleep(1000 * 1000);
    }
    uint64_t touched = (uint64_t)NFREE * FREE_BYTES;
    gort_free_os_memory();
    gort_stats s;
    gort_read_stats(&s);
    /* Only the Ps' own free lists (64 gs each) stay warm; sysmon's periodic
     * scavenging alone leaves 16 KiB of each, a quarter of what they hold. */
    ASSERT_LT(s.stack_inuse_bytes, touched / 4);
    return 0;
}

TEST(free_os_memory_returns_pooled_stacks) {
    gort_gomaxprocs(2);
    ASSERT_EQ(gort_main(main_free_os, NULL), 0);
}

static _Atomic int ran;
static void small(void *arg) {
    (void)arg;
    volatile char buf[32 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 1024)
        buf[i] = 2;
    atomic_fetch_add(&ran, 1);
    gort_wg_done(&wg);
    gort_wg_wait(&hold);
}

/* Stacks released by the scavenger are reused and work (fresh zero pages). */
static int main_reuse(void *arg) {
    (void)arg;
    for (int round = 0; round < 2; round++) {
        gort_wg_add(&hold, 1);
        gort_wg_add(&wg, NDEEP);
        for (int i = 0; i < NDEEP; i++)
            ASSERT_EQ(gort_go(round ? small : deep, NULL), 0);
        gort_wg_wait(&wg);
        gort_wg_done(&hold);
        /* hold is reused by the next round: every waiter must have
         * returned from gort_wg_wait first (Go's rule; otherwise a new
         * waiter takes a wakeup meant for an old one and panics "WaitGroup
         * is reused before previous Wait has returned").  3,000 wakeups can
         * take longer than any fixed sleep on a loaded machine (TSan, CI):
         * wait until they have all exited, bounded. */
        int64_t deadline = gort_nanotime() + (int64_t)60 * 1000 * 1000 * 1000 * gt_scale();
        while (gort_numgoroutine() > 1) {
            if (gort_nanotime() > deadline)
                GT_FAIL("timed out waiting for %d goroutines to leave gort_wg_wait",
                        gort_numgoroutine() - 1);
            gort_sleep(1000 * 1000);
        }
        usleep(1500 * 1000); /* blocks this thread: the scavenger runs meanwhile */
    }
    ASSERT_EQ(atomic_load(&ran), NDEEP);
    return 0;
}

TEST(scavenged_stacks_reused) {
    ASSERT_EQ(gort_main(main_reuse, NULL), 0);
}

/* Two stop-the-worlds requested at once (gort_stack(all) and GOMAXPROCS
 * changes from different goroutines) take turns instead of deadlocking. */
static _Atomic int stw_done;
static void procs_flipper(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++)
        gort_gomaxprocs(i % 2 ? 1 : 2);
    atomic_fetch_add(&stw_done, 1);
    gort_wg_done(&wg);
}
static void stacker(void *arg) {
    char *buf = arg; /* one buffer per goroutine */
    for (int i = 0; i < 50; i++)
        ASSERT_GT(gort_stack(buf, 1 << 16, true), 0);
    atomic_fetch_add(&stw_done, 1);
    gort_wg_done(&wg);
}
static int main_stw(void *arg) {
    (void)arg;
    gort_wg_add(&wg, 4);
    ASSERT_EQ(gort_go(procs_flipper, NULL), 0);
    static char bufs[2][1 << 16];
    ASSERT_EQ(gort_go(stacker, bufs[0]), 0);
    ASSERT_EQ(gort_go(procs_flipper, NULL), 0);
    ASSERT_EQ(gort_go(stacker, bufs[1]), 0);
    gort_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&stw_done), 4);
    return 0;
}

TEST(concurrent_stop_the_world) {
    ASSERT_EQ(gort_main(main_stw, NULL), 0);
}

/* Under RLIMIT_AS with less room than a slab of 256 stacks (82 MiB), the
 * slab is made smaller: gort_main and gort_go work while stacks fit, and
 * gort_go says -ENOMEM, cleanly, once none does.  Before, gort_main itself
 * returned -ENOMEM with 64 MiB to spare (its main goroutine needed a
 * whole slab).  Only where RLIMIT_AS means what it says: the sanitizers
 * and valgrind reserve far more address space than they use. */
enum { AS_ROOM = 64 << 20, AS_GOROUTINES = 40 };

static gort_chan *as_release;

static void as_parked(void *arg) {
    (void)arg;
    gort_chan_recv(as_release, NULL);
}

static int main_small_as(void *arg) {
    (void)arg;
    as_release = gort_chan_make(0, 0);
    ASSERT_TRUE(as_release != NULL);
    int n = 0;
    for (; n < AS_GOROUTINES; n++)
        ASSERT_EQ(gort_go(as_parked, NULL), 0);
    /* Past the limit: -ENOMEM, never a crash. */
    int r = 0;
    while (n < 10000 && (r = gort_go(as_parked, NULL)) == 0)
        n++;
    ASSERT_EQ(r, -ENOMEM);
    gort_chan_close(as_release);
    for (int i = 0; i < 1000 && gort_numgoroutine() > 1; i++)
        gort_sleep(GT_MS);
    ASSERT_EQ(gort_numgoroutine(), 1);
    gort_chan_free(as_release);
    return 42;
}

static int child_small_as(void *arg) {
    (void)arg;
    if (gt_limit_address_space(AS_ROOM) != 0)
        return 4;
    gort_gomaxprocs(1);
    return gort_main(main_small_as, NULL) == 42 ? 0 : 5;
}

TEST(slabs_shrink_under_rlimit_as) {
    if (GT_SANITIZER_ADDRESS_SPACE)
        GT_SKIP("the sanitizers reserve terabytes of address space");
    if (RUNNING_ON_VALGRIND)
        GT_SKIP("valgrind reserves its own address space");
    char out[4096];
    int ws = gt_run_child(child_small_as, NULL, out, sizeof out);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        GT_FAIL("child: status %#x, stderr:\n%s", ws, out);
}

GT_MAIN()
