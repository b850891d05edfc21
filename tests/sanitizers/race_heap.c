/*
 * race_heap.c - the collected heap under the race detector.  Go's race
 * runtime forgets a new object's old accesses (racemalloc); gort must do
 * the same when the collector hands freed memory to a new owner, and its
 * own bookkeeping (span bitmaps, the profiler's tables) must not show as
 * the user's races.
 */
#include "racecase.h"

#include <stdatomic.h>

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

/* 25: gort_set_finalizer(obj, fn) happens before fn(obj).  A goroutine
 * makes the object, writes it and a variable, gives it its finalizer and
 * exits; main, told through a relaxed atomic (no edge), collects until the
 * finalizer has run.  The finalizer goroutine is started first, by an
 * object of its own: its start is no edge from the maker. */
int fin_x; /* external: the stores must stay */
static atomic_int fin_made;
static gort_chan *fin_done;

static void fin_prime(void *p) {
    (void)p;
    csend(fin_done, 0);
}
static void fin_check(void *p) {
    const long *o = p;
    if (o[0] != 7 || fin_x != 7)
        abort();
    csend(fin_done, 1);
}
static void fin_read(void *p) {
    (void)p;
    (void)*(volatile int *)&fin_x;
    csend(fin_done, 1);
}
static void fin_maker(void *a) {
    int write_after = (int)(intptr_t)a;
    long *o = gort_new(64);
    o[0] = 7;
    if (!write_after)
        fin_x = 7;
    gort_set_finalizer(o, write_after ? fin_read : fin_check);
    if (write_after)
        fin_x = 8;
    atomic_store_explicit(&fin_made, 1, memory_order_relaxed);
}
/* Collects until the finalizer reports (a stale copy of the pointer may
 * keep the object a cycle or two). */
static void fin_collect(int want) {
    for (;;) {
        int got = -1;
        gort_select_case cs[1] = {{fin_done, GORT_RECV, &got, false}};
        if (gort_select_timeout(cs, 1, 2000000) == 0) {
            if (got != want)
                abort();
            return;
        }
        gort_gc();
    }
}
/* Objects are made by goroutines that exit: a stale copy of the pointer
 * on main's stack, which the collector scans conservatively, could keep
 * one for good. */
static void fin_prime_maker(void *a) {
    (void)a;
    gort_set_finalizer(gort_new(64), fin_prime);
    atomic_store_explicit(&fin_made, 1, memory_order_relaxed);
}
static void fin_case(int write_after) {
    fin_done = mkchan(1);
    GO(fin_prime_maker, 0);
    while (!atomic_load_explicit(&fin_made, memory_order_relaxed))
        gort_yield();
    atomic_store_explicit(&fin_made, 0, memory_order_relaxed);
    fin_collect(0);
    GO(fin_maker, (intptr_t)write_after);
    while (!atomic_load_explicit(&fin_made, memory_order_relaxed))
        gort_yield();
    fin_collect(1);
}
NORACE(NoRaceSetFinalizer) {
    fin_case(0);
}

/* A write to the object's world after the call is not ordered by it. */
RACE(RaceFinalizerWriteAfterSet) {
    fin_case(1);
}
