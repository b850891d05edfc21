/*
 * race_heap.c - the collected heap under the race detector.  Go's race
 * runtime forgets a new object's old accesses (racemalloc); gort must do
 * the same when the collector hands freed memory to a new owner, and its
 * own bookkeeping (span bitmaps, the profiler's tables) must not show as
 * the user's races.
 */
#include "racecase.h"

static gort_waitgroup wg;

/* Each goroutine writes objects of its own, fresh from gort_new, and drops
 * them; collections hand the memory of one's to the other. */
static void churn(void *arg) {
    (void)arg;
    for (int i = 0; i < 4000; i++) {
        long *obj = gort_new(64);
        obj[0] = i;
        obj[7] = i;
        if (i % 500 == 0)
            gort_gc();
        if (i % 100 == 0)
            gort_yield();
    }
    gort_wg_done(&wg);
}

NORACE(NoRaceHeapReuse) {
    gort_wg_add(&wg, 2);
    GO(churn, NULL);
    GO(churn, NULL);
    gort_wg_wait(&wg);
}

/* The same with large objects (spans of their own) and the allocation
 * profile on, so that the profiler records stacks from both goroutines. */
static void churn_large(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        char *obj = gort_new_noscan(40000);
        obj[0] = (char)i;
        obj[39999] = (char)i;
        if (i % 50 == 0)
            gort_gc();
    }
    gort_wg_done(&wg);
}

NORACE(NoRaceHeapReuseLarge) {
    gort_set_mem_profile_rate(1);
    gort_wg_add(&wg, 2);
    GO(churn_large, NULL);
    GO(churn_large, NULL);
    gort_wg_wait(&wg);
}

/* The collector leaves ThreadSanitizer's own 47 MiB of tables alone: they
 * were scanned as the program's globals, and counted in the heap goal. */
NORACE(NoRaceHeapGoalLeavesTsanAlone) {
    gort_gc();
    gort_stats s;
    gort_read_stats(&s);
    if (s.next_gc_bytes > 24u << 20) {
        fprintf(stderr, "next_gc_bytes %llu: libtsan's data counted\n",
                (unsigned long long)s.next_gc_bytes);
        abort();
    }
}

/* A real race on a shared object is still reported. */
static long *shared;

static void write_shared(void *arg) {
    (void)arg;
    shared[3] = 1;
    gort_wg_done(&wg);
}

RACE(RaceHeapShared) {
    shared = gort_new(64);
    gort_wg_add(&wg, 1);
    GO(write_shared, NULL);
    shared[3] = 2;
    gort_wg_wait(&wg);
}
