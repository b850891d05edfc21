/*
 * mgc.c - the collector's cycle, its pacer and its statistics.  Mirrors
 * runtime/mgc.go (gcStart, gcMarkTermination, runtime.GC), mgcpacer.go
 * (the heap goal, GOGC, GOMEMLIMIT), mstats.go (the MemStats fields) and
 * debug.SetGCPercent / SetMemoryLimit / FreeOSMemory.
 *
 * A cycle (gc_cycle) here is:
 *   1. finish sweeping the previous cycle's spans (outside the pause);
 *   2. stop the world (gort__stop_the_world), hand every mcache's spans
 *      back to their mcentrals (Go's sweep termination);
 *   3. in concurrent mode (mgcdirty.c: the kernel's write-protection is the
 *      write barrier): restart the world, allocating black, and mark from
 *      the roots while the goroutines run; rescan the pages written
 *      meanwhile in a few rounds; stop the world again.  In stop-the-world
 *      mode (no userfaultfd, Valgrind, GORTDEBUG=gcstw=1) the world stays
 *      stopped and everything below is the mark;
 *   4. mark termination (mark_termination): rescan the pages written since
 *      the last round, the stacks, globals and the runtime's roots, and
 *      finish marking (mgcmark.c); queue the finalizers of unreachable
 *      objects that have one (mfinal.c); flip sweepgen, so every span
 *      becomes unswept at once; set the next heap goal; restart the world;
 *   5. the spans are swept lazily, span by span, by the allocators that
 *      need one (mcentral.c) and by the next cycle's step 1; runtime.GC
 *      (gort_gc) sweeps them all before it returns, as Go's does.
 * The goroutine that starts a cycle does its marking (with more than one P
 * a dedicated worker, with one P a fractional one: mgcmark.c
 * gort__gc_drain); goroutines that allocate meanwhile assist it in
 * proportion to what they allocate (gort__gc_pace), and wait for the
 * cycle's end at the heap goal.
 *
 * The pacer is Go's (1.18 on): heap goal = live heap after marking + (live
 * heap + the stacks and globals the collector scanned) x GOGC/100, at
 * least 4 MiB x GOGC/100, and, under GOMEMLIMIT, no more than the limit
 * minus the runtime's other memory.  A cycle starts when heap_live (bytes
 * of objects allocated since the last mark plus the marked ones; slots of
 * spans cached in mcaches count as allocated) reaches the trigger (the
 * goal when marking stops the world, earlier when it runs concurrently:
 * trigger_for, from what the last mark let the goroutines allocate); the
 * check is made by goroutines in the allocator's slow paths.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "fault.h"
#include "lockrank.h"
#include "malloc.h"
#include "trace.h"

/* Go's heapMinimum at GOGC=100 (heap_goal scales it with GOGC). */
#define HEAP_MINIMUM ((uint64_t)4 << 20)

/* The goal starts as the minimum heap, as Go's NextGC before its first
 * cycle; commit_goal sets it from then on. */
gcstats gort__gcstats = {.goal = HEAP_MINIMUM};

/* Settings: [atomic] (read by allocators, written by the setters). */
static _Atomic int32_t gcpercent = 100;
static _Atomic int64_t memlimit = INT64_MAX;
/* Set by gort_set_gc_percent / gort_set_memory_limit outside gort_main:
 * the next gort_main starts with the value set instead of GOGC's or
 * GOMEMLIMIT's, as with gort_gomaxprocs.  [atomic] Relaxed: they order
 * nothing but themselves; a setter outside gort_main comes before the
 * gort_main that reads them by the program's own order (the same thread,
 * or whatever made it start gort_main after the call). */
static _Atomic bool gcpercent_kept, memlimit_kept;
/* The least room between the live heap and the goal (see heap_goal). */
#define MIN_RUNWAY ((uint64_t)1 << 20)

/* Cycle statistics, [statlock]. */
static gort__rtlock statlock = GORT__RTLOCK_INIT(LOCKRANK_GCSTATS);
static struct {
    uint32_t numgc;
    uint64_t pause_total;
    uint64_t pause[256];
    uint64_t last_gc_unix;
    uint64_t gc_cpu_ns; /* pauses x procs, plus sweeping by gort_gc */
    uint64_t marked;    /* live heap after the last mark */
    uint64_t roots;     /* stacks and globals its final scan read */
    uint64_t runway;    /* bytes allocated from its start to its mark's end */
} st;
static _Atomic int64_t start_ns; /* first use of the heap (Go: program start) */
/* The scan work this cycle's mark is expected to do (Go's heapScanWork
 * estimate: the last mark's), for the assists' pace: [atomic], written
 * with the world stopped. */
static _Atomic uint64_t pace_expected;
/* Set when an allocation waited during this cycle (for credit, or at the
 * goal): [atomic], cleared as the cycle begins; a hint for the runway,
 * read at mark termination, whose stop of the world orders the sets
 * before it. */
static _Atomic bool throttled;
static _Atomic uint32_t numgc_atomic;

/* ------------------------------------------------------------------ pacer */

/* The stacks' resident bytes, for the memory limit's goal: Go counts the
 * memory its stacks use, and gort's stack slabs reserve address space 256
 * regions at a time (85 MB of it for a program of two goroutines, whose
 * goal under GOMEMLIMIT=20MiB fell to 64 KiB and collected every 60 KB).
 * Read (mincore, one call per slab) only while a limit is set, and never
 * with the world stopped: when a cycle starts, before it stops the world,
 * and when the limit or GOGC changes. */
static _Atomic uint64_t stack_resident;

static void note_stack_resident(void) {
    if (atomic_load_explicit(&memlimit, memory_order_relaxed) != INT64_MAX)
        atomic_store_explicit(&stack_resident, gort__stack_resident_bytes(), memory_order_relaxed);
}

/* The heap goal for a live heap of `marked` bytes, whose collection also
 * scanned `roots` bytes of stacks and globals, under the settings. */
static uint64_t heap_goal(uint64_t marked, uint64_t roots) {
    int32_t pct = atomic_load_explicit(&gcpercent, memory_order_relaxed);
    int64_t lim = atomic_load_explicit(&memlimit, memory_order_relaxed);
    uint64_t goal = UINT64_MAX;
    if (pct >= 0) {
        goal = marked + (marked + roots) * (uint64_t)pct / 100;
        uint64_t min = HEAP_MINIMUM * (uint64_t)pct / 100;
        if (goal < min)
            goal = min;
        /* Some room past the live heap whatever GOGC says: at GOGC=0 the
         * goal was the live heap itself, and every allocation waited for
         * a whole cycle (one per allocation, a thousand times Go's time).
         * Go lets the goroutines allocate while a cycle marks, about a
         * MiB a cycle at GOGC=0. */
        if (goal < marked + MIN_RUNWAY)
            goal = marked + MIN_RUNWAY;
    }
    if (lim != INT64_MAX) {
        /* Go's memoryLimitHeapGoal: the limit less what is not heap
         * (stacks, metadata), less a little headroom (Go keeps 5%). */
        uint64_t other = atomic_load_explicit(&stack_resident, memory_order_relaxed);
        mheap *h = gort__mheap_made();
        if (h != NULL)
            other += atomic_load_explicit(&h->metasys, memory_order_relaxed);
        uint64_t l = (uint64_t)lim;
        uint64_t lgoal = l > other ? (l - other) / 100 * 95 : 0;
        /* Never below the live heap plus a little: a limit the live heap
         * exceeds would otherwise collect at every allocation. */
        uint64_t floor = marked + marked / 16 + (64u << 10);
        if (lgoal < floor)
            lgoal = floor;
        if (lgoal < goal)
            goal = lgoal;
    }
    return goal;
}

/* The heap size at which the next cycle starts.  Marking with the world
 * stopped can start at the goal; concurrent marking must start earlier,
 * since the goroutines keep allocating while it runs: the goal less the
 * runway (what they allocated during the last concurrent mark) and a
 * tenth more, kept between 70% and 95% of the way from the live heap to
 * the goal (Go 1.18's pacer: its runway estimate, its minimum and maximum
 * trigger). */
static uint64_t trigger_for(uint64_t marked, uint64_t goal, uint64_t runway) {
    if (!atomic_load_explicit(&gort__gc_concurrent, memory_order_relaxed) || goal == UINT64_MAX ||
        goal <= marked)
        return goal;
    uint64_t lo = marked + (goal - marked) / 100 * 70, hi = marked + (goal - marked) / 100 * 95;
    /* A large heap with little to mark may start as late as the minimum
     * heap's size before the goal (Go's maxTrigger). */
    if (goal > HEAP_MINIMUM && goal - HEAP_MINIMUM > hi)
        hi = goal - HEAP_MINIMUM;
    uint64_t need = runway + runway / 10;
    uint64_t trig = goal > need ? goal - need : 0;
    return trig < lo ? lo : trig > hi ? hi : trig;
}

static void commit_goal(void) {
    note_stack_resident();
    gort__lock(&statlock);
    uint64_t marked = st.marked, roots = st.roots, runway = st.runway;
    gort__unlock(&statlock);
    uint64_t goal = heap_goal(marked, roots);
    atomic_store_explicit(&gort__gcstats.goal, goal, memory_order_relaxed);
    atomic_store_explicit(&gort__gcstats.trigger, trigger_for(marked, goal, runway),
                          memory_order_relaxed);
}

/* ------------------------------------------------------------------ gctrace */

int32_t gort__debug_gctrace;

/* Go's itoaDiv: val with a decimal point dec digits from the right. */
static const char *itoa_div(char *end, uint64_t val, int dec) {
    char *i = end - 1;
    char *idec = i - dec;
    *end = '\0';
    while (val >= 10 || i >= idec) {
        *i-- = (char)('0' + val % 10);
        if (i == idec)
            *i-- = '.';
        val /= 10;
    }
    *i = (char)('0' + val);
    return i;
}

/* Go's fmtNSAsMS: whole ms from 10 ms up, else 3 significant digits. */
static const char *fmt_ms(char *buf, size_t len, uint64_t ns) {
    char *end = buf + len - 1;
    if (ns >= 10000000)
        return itoa_div(end, ns / 1000000, 0);
    uint64_t x = ns / 1000;
    if (x == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        return buf;
    }
    int dec = 3;
    while (x >= 100) {
        x /= 10;
        dec--;
    }
    return itoa_div(end, x, dec);
}

typedef struct cycle_times {
    int64_t start, mark, markterm, end; /* Go's tSweepTerm, tMark, tMarkTerm, tEnd */
    int64_t req;                        /* when a goroutine took gcsema to run it */
    uint64_t heapreq;                   /* heap_live then */
    uint64_t heap0, heap1, heap2;
    uint64_t goal;   /* the heap goal in effect while this cycle ran (Go's work.heapGoal) */
    uint64_t roots;  /* stacks and globals read by the final scan */
    uint64_t runway; /* allocated from req to mark termination (concurrent) */
    int32_t procs;
    uint64_t assist; /* ns goroutines spent in mark assists */
    bool forced;
    uint32_t n;
} cycle_times;

static void gctrace(const cycle_times *t, bool conc) {
    static bool said;
    if (!said) {
        said = true;
        gort__printf("gc: %s\n", gort__gc_mode());
    }
    char b[9][32];
    int64_t since = t->start - atomic_load_explicit(&start_ns, memory_order_relaxed);
    gort__lock(&statlock);
    uint64_t cpu = st.gc_cpu_ns;
    gort__unlock(&statlock);
    int64_t total = (t->end - atomic_load_explicit(&start_ns, memory_order_relaxed)) * t->procs;
    int util = total > 0 ? (int)(cpu * 100 / (uint64_t)total) : 0;
    uint64_t stw1 = (uint64_t)(t->mark - t->start), mark = (uint64_t)(t->markterm - t->mark),
             stw2 = (uint64_t)(t->end - t->markterm);
    /* Marking with the world stopped is all "mark termination" CPU on
     * one P; concurrent marking is a dedicated worker's, and the
     * assists'. */
    (void)conc;
    gort__printf("gc %u @%ss %d%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms cpu, "
                 "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %d P%s\n",
                 t->n, itoa_div(b[0] + 31, (uint64_t)(since > 0 ? since : 0) / 1000000, 3), util,
                 fmt_ms(b[1], 32, stw1), fmt_ms(b[2], 32, mark), fmt_ms(b[3], 32, stw2),
                 fmt_ms(b[4], 32, stw1 * (uint64_t)t->procs), fmt_ms(b[5], 32, t->assist),
                 fmt_ms(b[6], 32, mark), fmt_ms(b[7], 32, 0),
                 fmt_ms(b[8], 32, stw2 * (uint64_t)t->procs), (unsigned long long)(t->heap0 >> 20),
                 (unsigned long long)(t->heap1 >> 20), (unsigned long long)(t->heap2 >> 20),
                 (unsigned long long)(t->goal >> 20),
                 (unsigned long long)(gort__gc_scanned_stacks >> 20),
                 (unsigned long long)(gort__gc_scanned_globals >> 20), t->procs,
                 t->forced ? " (forced)" : "");
}

/* ------------------------------------------------------------------ the cycle */

static int64_t unix_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* For a collection started by a thread that is not running a goroutine,
 * and for gort_main's caller's frames (proc.c). */
uintptr_t gort__thread_stack_hi(void) {
    pthread_attr_t a;
    void *lo;
    size_t sz;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return 0;
    int r = pthread_attr_getstack(&a, &lo, &sz);
    pthread_attr_destroy(&a);
    return r == 0 ? (uintptr_t)lo + sz : 0;
}

/* One cycle at a time (Go's work.startSema): a goroutine that starts one
 * holds this from its start to the restart of the world at its end. */
static gort_mutex gcsema;
/* A cycle is under way, from before its first sweep to its end: for
 * gort__gc_pace, which waits for its end (on gcsema) when the heap has
 * reached the goal before the cycle has begun to mark.  [atomic]: a hint
 * only; read stale, one more span is taken, or the wait is for nothing. */
static _Atomic bool cycling;

/* Makes writes to the arena's pages in use visible from now on
 * (concurrent mode).  A page left unprotected counts as written: the
 * rescans (PAGEMAP_SCAN reports every present page without the
 * write-protect bit as written) visit it, and protect it again.  So
 * protecting less is always safe, and free pages are left out: what is
 * allocated on them before the first rescan round (most of what the
 * mutator allocates during the mark) then costs no write-protect fault,
 * and they hold no marked object to rescan until then (the rounds walk
 * only the runs in use too: gort__gc_rescan_dirty). */
static void track_writes(void) {
    mheap *h = gort__mheap;
    uintptr_t runs[GORT__TRACK_RUNS][2];
    size_t n = gort__mheap_inuse_runs(GORT__TRACK_GAP, runs, GORT__TRACK_RUNS);
    for (size_t i = 0; i < n; i++)
        gort__gc_dirty_protect(h->arena + (runs[i][0] << GORT__HEAP_PAGE_SHIFT),
                               h->arena + (runs[i][1] << GORT__HEAP_PAGE_SHIFT), true);
}

/* The runs in use at the final pause: [gcsema]. */
static uintptr_t untrack_runs[GORT__TRACK_RUNS][2];
static size_t untrack_n;

/* In the final pause: the runs whose protection untrack_writes lifts.
 * They hold every page that can hold an object then.  The start and the
 * rounds protected only runs in use then, with the same merging of short
 * gaps, and the mark frees no span; but the sweep after the start's stop
 * of the world may free some it protected, and the cap of
 * GORT__TRACK_RUNS may have put free pages in a last run.  Such a page,
 * outside these runs, stays protected: only its first write faults (a
 * protected page counts as written once written, so the next cycle's
 * rescans are not misled). */
static void untrack_snapshot(void) {
    untrack_n = gort__mheap_inuse_runs(GORT__TRACK_GAP, untrack_runs, GORT__TRACK_RUNS);
}

/* After the cycle, with the world running again: the protection the
 * cycle left on pages not written since (the start's, and the rounds'
 * re-protection) is lifted, so that the mutator's first write to each of
 * them until the next cycle costs no fault.  Only from the runs in use:
 * lifting it costs for every present page walked (about 0.3 us a page on
 * a paravirtualised machine, protected or not), and the committed arena's
 * free pages were most of it (alloc_small: 16,400 pages a cycle, against
 * 3,700 in use). */
static void untrack_writes(void) {
    mheap *h = gort__mheap;
    for (size_t i = 0; i < untrack_n; i++)
        gort__gc_dirty_protect(h->arena + (untrack_runs[i][0] << GORT__HEAP_PAGE_SHIFT),
                               h->arena + (untrack_runs[i][1] << GORT__HEAP_PAGE_SHIFT), false);
}

/* The end of the last cycle and the live heap it left: [gcsema]. */
static int64_t last_end;
static uint64_t last_marked;

/* What the goroutines will allocate from the next cycle's trigger to the
 * end of its concurrent mark (the trigger's runway): what they allocated
 * over the same span of this one.  The span begins when the cycle took
 * gcsema, not when its mark began: the sweep of what the last cycle left,
 * the write tracking's ioctl and the stop of the world come first, and
 * the goroutines allocate through them (assists_hold_the_goal's heap grew
 * 7 MB in them, past the goal, with the runway counted from the mark's
 * start).  But if an allocation had to wait (for credit, or at the goal),
 * that understates what they would have allocated, and measured alone a
 * late start would make the next start later still: then it is at least
 * what they allocate in that time, at the rate they allocated before the
 * cycle was asked for, on the Ps the dedicated worker left them. */
static uint64_t runway_for(const cycle_times *t) {
    uint64_t during = t->heap1 > t->heapreq ? t->heap1 - t->heapreq : 0;
    if (!atomic_load_explicit(&throttled, memory_order_relaxed) || last_end == 0 ||
        t->req <= last_end || t->heapreq <= last_marked)
        return during;
    double rate = (double)(t->heapreq - last_marked) / (double)(t->req - last_end);
    double share = t->procs > 1 ? (double)(t->procs - 1) / t->procs : 0.5;
    uint64_t est = (uint64_t)(rate * (double)(t->markterm - t->req) * share);
    return est > during ? est : during;
}

/* Mark termination, common to both modes; the world is stopped and the
 * nop lock held.  Returns the live heap. */
static uint64_t mark_termination(cycle_times *t, uintptr_t sp, uintptr_t hi, bool conc) {
    /* The final scan reads every stack and the globals once: their sizes
     * for the goal (the counters also hold the concurrent passes'). */
    uint64_t s0 = gort__gc_scanned_stacks, g0 = gort__gc_scanned_globals;
    gort__gc_mark(sp, hi);
    t->roots = gort__gc_scanned_stacks - s0 + gort__gc_scanned_globals - g0;
    gort__fin_queue_unmarked();
    gort__mprof_next_cycle();
    uint64_t marked = gort__gc_marked_bytes +
                      atomic_load_explicit(&gort__gcstats.black_bytes, memory_order_relaxed);
    atomic_store_explicit(&gort__gcstats.marking, 0, memory_order_relaxed);
    t->heap1 = atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed);
    t->heap2 = marked;
    atomic_store_explicit(&gort__gcstats.heap_live, marked, memory_order_relaxed);
    /* Release: a sweeper that acquires the new sweepgen (mcentral.c) sees
     * the mark bits set above. */
    atomic_store_explicit(&gort__mheap->sweepgen,
                          atomic_load_explicit(&gort__mheap->sweepgen, memory_order_relaxed) + 2,
                          memory_order_release);
    uint64_t goal = heap_goal(marked, t->roots);
    t->runway = conc ? runway_for(t) : 0;
    t->assist = gort__gc_assist_ns();
    atomic_store_explicit(&gort__gcstats.goal, goal, memory_order_relaxed);
    atomic_store_explicit(&gort__gcstats.trigger, trigger_for(marked, goal, t->runway),
                          memory_order_relaxed);
    GORT_TRACE(gort__trace_heap(marked, goal));
    GORT_TRACE(gort__trace_gc_done());
    return marked;
}

/* Stops the world for a pause that marks (and so scans the globals):
 * with the loaded objects listed just before, and the listing checked
 * once every thread is stopped (mgcmark.c, "The loader's lock and the
 * collector"): by a walk of the loader's list against it, or, when that
 * walk saw a change, with the lister's listing, made under the loader's
 * lock during the stop, if it comes within GLOBALS_LISTER_WAIT_NS.  A
 * check that resolves no listing (an object loaded in between whose ELF
 * header is not at its base, no fault probes, the lister late) restarts
 * the world for a new listing, three times at most; then the pause calls
 * the loader itself, as it did before listings (and a goroutine suspended
 * inside dl_iterate_phdr at that stop would hang it).  Returns when the
 * stop that held began: the pause counts from there, not from the
 * listings, made with the world running. */
enum { GLOBALS_TRIES = 4, GLOBALS_LISTER_WAIT_NS = 1000 * 1000 };
static int64_t stop_to_mark(const char *why) {
    for (int i = 1;; i++) {
        gort__gc_globals_list();
        int64_t begun = gort_nanotime();
        gort__stop_the_world(why);
        if (gort__gc_globals_check(true, GLOBALS_LISTER_WAIT_NS) || i == GLOBALS_TRIES)
            return begun;
        gort__start_the_world();
    }
}

/* One cycle.  sp: where the caller's stack is to be scanned from (every
 * frame above it and the registers saved below it).  gcsema held. */
static void gc_cycle(bool forced, uintptr_t sp) {
    cycle_times t = {.forced = forced,
                     .req = gort_nanotime(),
                     .heapreq =
                         atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed)};
    /* Hints (relaxed): see their declarations. */
    atomic_store_explicit(&cycling, true, memory_order_relaxed);
    atomic_store_explicit(&throttled, false, memory_order_relaxed);
    struct g *gp = gort__getg();
    uintptr_t hi = gp != NULL ? gp->stack.hi : gort__thread_stack_hi();
    bool running = gort__runtime_running();
    gort__gc_dirty_forked();
    bool conc = running && atomic_load_explicit(&gort__gc_concurrent, memory_order_relaxed);

    /* 1. Sweep what the last cycle left (Go's gcStart: "finish sweep"). */
    gort__sweep_all();
    note_stack_resident();
    if (conc)
        track_writes();

    if (running)
        gort__gc_helper_start();
    t.start = gort_nanotime();
    /* Before the stop, as Go's gcStart: the event's stack is interned,
     * which may take malloc, and the stop may suspend a thread inside it. */
    GORT_TRACE(gort__trace_gc_start());
    if (running) {
        /* The concurrent mode's first pause marks nothing. */
        if (conc)
            gort__stop_the_world("GC");
        else
            t.start = stop_to_mark("GC");
        GORT_TRACE(gort__trace_stw_start(1));
    }
    /* Threads without a P allocate under this lock: holding it keeps them
     * out of the heap while the world is stopped. */
    gort__lock(&gort__mcache_nop_lock);
    t.procs = running ? gort_gomaxprocs(0) : 1;
    /* 2. Sweep termination: a span allocated from while we waited for the
     * world to stop may have been left unswept; then the caches. */
    gort__sweep_all();
    gort__mcache_flush_all();
    /* The last cycle's sweep is complete: its heap profile is final. */
    gort__mprof_postsweep(gort__mprof_cycle());
    t.heap0 = atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed);
    t.goal = atomic_load_explicit(&gort__gcstats.goal, memory_order_relaxed);
    /* The assists' estimate of this mark's work: what the last one
     * greyed, or for the first the whole heap. */
    atomic_store_explicit(&pace_expected, gort__gc_scan_work != 0 ? gort__gc_scan_work : t.heap0,
                          memory_order_relaxed);
    gort__gc_mark_reset();
    atomic_store_explicit(&gort__gcstats.black_bytes, 0, memory_order_relaxed);
    int64_t pause1 = 0;
    if (conc) {
        /* 3a. Concurrent mark: allocate black from now on, restart the
         * world, mark from the roots, rescan what was written meanwhile. */
        atomic_store_explicit(&gort__gcstats.marking, 1, memory_order_relaxed);
        gort__unlock(&gort__mcache_nop_lock);
        t.mark = gort_nanotime();
        pause1 = t.mark - t.start;
        gort__gc_assist_queue(true);
        GORT_TRACE(gort__trace_stw_done());
        gort__start_the_world();
        gort__gc_mark_concurrent(sp, hi);
        gort__gc_mark_concurrent_rounds(8);
        gort__gc_assist_queue(false);
        t.markterm = stop_to_mark("GC mark termination");
        GORT_TRACE(gort__trace_stw_start(0));
        gort__lock(&gort__mcache_nop_lock);
        gort__mcache_flush_all();
        gort__gc_rescan_dirty(false);
        untrack_snapshot();
    } else {
        /* 3b. Mark with the world stopped. */
        t.mark = gort_nanotime();
    }
    mark_termination(&t, sp, hi, conc);
    if (!conc)
        t.markterm = gort_nanotime();
    gort__unlock(&gort__mcache_nop_lock);
    t.end = gort_nanotime();
    last_end = t.end;
    last_marked = t.heap2;
    uint64_t pause = (uint64_t)(pause1 + (conc ? t.end - t.markterm : t.end - t.start));
    gort__lock(&statlock);
    st.marked = t.heap2;
    st.roots = t.roots;
    st.runway = t.runway;
    st.pause[st.numgc % 256] = pause;
    st.numgc++;
    st.pause_total += pause;
    st.last_gc_unix = (uint64_t)unix_ns();
    /* The pauses stop every P; concurrent marking takes one, and the
     * assists their time. */
    st.gc_cpu_ns +=
        pause * (uint64_t)t.procs + (conc ? (uint64_t)(t.markterm - t.mark) + t.assist : 0);
    t.n = st.numgc;
    gort__unlock(&statlock);
    /* Release: pairs with the acquire load of numgc by a goroutine that
     * was about to start a cycle meanwhile. */
    atomic_store_explicit(&numgc_atomic, t.n, memory_order_release);
    if (running) {
        GORT_TRACE(gort__trace_stw_done());
        gort__start_the_world();
    }
    if (conc)
        untrack_writes();
    atomic_store_explicit(&cycling, false, memory_order_relaxed);
    /* Go flushes the heap profile after the world restarts: it walks
     * every bucket. */
    gort__mprof_flush();
    if (gort__debug_gctrace > 0)
        gctrace(&t, conc);
    gort__fin_wake();
}

/* Runs a cycle with this frame's registers saved below everything the
 * caller's frames hold (setjmp spills the callee-saved registers into jb,
 * which is the lowest address scanned). */
static GORT_NOINLINE void gc_run(bool forced) {
    uint32_t n0 = atomic_load_explicit(&numgc_atomic, memory_order_acquire);
    if (forced) {
        gort__mutex_lock_sema(&gcsema, false);
    } else if (!gort_mutex_trylock(&gcsema)) {
        /* Held by a cycle (cycling: the pacer holds allocators back), or
         * by a thread that waits for a cycle's end, starts one or leaves
         * one.  That holder may lose its CPU between its unlock and its
         * hand-off to a starving waiter (gcsema stays unavailable
         * meanwhile): past the goal, wait for it rather than allocate on,
         * as Go's gcStart waits on its startSema.  Returning at once, a
         * plain thread took the heap to 700 MB for a 4 MB goal while the
         * holder did not run (heap.plain_threads_paced_alone, one run in
         * about twenty beside another test process).  Relaxed: hints,
         * looked at again under gcsema below. */
        if (atomic_load_explicit(&cycling, memory_order_relaxed) ||
            atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed) <
                atomic_load_explicit(&gort__gcstats.goal, memory_order_relaxed))
            return;
        gort__mutex_lock_sema(&gcsema, false);
    }
    if (!forced && (atomic_load_explicit(&numgc_atomic, memory_order_acquire) != n0 ||
                    atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed) <
                        atomic_load_explicit(&gort__gcstats.trigger, memory_order_relaxed))) {
        gort_mutex_unlock(&gcsema); /* someone else's cycle ran meanwhile */
        return;
    }
    jmp_buf jb;
    setjmp(jb);
    gc_cycle(forced, (uintptr_t)&jb);
    gort_mutex_unlock(&gcsema);
    /* jb must stay live (and below every scanned frame) until here. */
    __asm__ volatile("" : : "r"(&jb) : "memory");
}

int gort__gc_globals_test(void (*between)(void *arg), void *arg, void *const *where, bool walk,
                          bool lister, bool *by_lister) {
    gort__mutex_lock_sema(&gcsema, false);
    gort__gc_globals_list();
    between(arg);
    /* A second for the lister: a loaded machine may not run it sooner. */
    int r = !gort__gc_globals_check(walk, lister ? 1000 * 1000 * 1000 : 0)
                ? -1
                : gort__gc_globals_covers((uintptr_t)*where);
    *by_lister = gort__gc_globals_by_lister();
    /* A fresh listing, which no check has found current: a cycle without
     * a stop (no runtime running) must not take this one's. */
    gort__gc_globals_list();
    gort_mutex_unlock(&gcsema);
    return r;
}

static bool gc_enabled(void) {
    return atomic_load_explicit(&gcpercent, memory_order_relaxed) >= 0 ||
           atomic_load_explicit(&memlimit, memory_order_relaxed) != INT64_MAX;
}

/* A thread outside the runtime (no goroutine, or a plain thread's
 * foreign g) that allocates while the runtime runs: Go has no such
 * thread.  It cannot assist (no stop stops it), so past the goal while a
 * cycle runs it waits for the cycle's end, as an assist that finds no
 * work does (gcParkAssist); and past the trigger with no cycle marking it
 * starts one.  Before, nothing held plain threads back and only a
 * goroutine's allocation started a cycle: three plain threads allocating
 * 40 KB objects beside a collecting goroutine ran out of memory in 2 runs
 * of 3, and alone they grew the heap without bound (tests
 * heap.plain_threads_paced_*).  A goroutine without a P (in a blocking
 * call) neither paces nor starts a cycle, nor does g0 (gp NULL on an M:
 * it must not park, and has no stack worth scanning). */
static bool plain_thread(const struct g *gp) {
    return gp != NULL ? gp->foreign : gort__getm() == NULL;
}

void gort__gc_maybe_trigger_keep(void *keep) {
    uint64_t live = atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed);
    if (GORT_LIKELY(live < atomic_load_explicit(&gort__gcstats.trigger, memory_order_relaxed)))
        return;
    struct g *gp = gort__getg();
    bool plain = plain_thread(gp);
    if ((!plain && (gp == NULL || gort__mcache_get() == NULL)) || !gort__runtime_running() ||
        !gc_enabled())
        return;
    /* While a cycle marks, gort__gc_pace holds allocators back instead. */
    if (atomic_load_explicit(&gort__gcstats.marking, memory_order_relaxed))
        return;
    void *volatile held = keep; /* in this frame, above gc_run's */
    if (!plain) {
        gc_run(false);
        (void)held;
        return;
    }
    /* A plain thread's cycle scans its stack from gc_run's frame up, but a
     * foreign g's bounds are not its thread's: the new object, this
     * thread's alone, is a root for the cycle. */
    gort__gcroot r;
    gort__gc_root_add(&r, (const void *)&held, sizeof held);
    gc_run(false);
    gort__gc_root_del(&r);
}

/* Go's assistWorkPerByte: the scan work still expected over the heap
 * still allowed before the goal, for bytes about to be allocated.  Work
 * already past the estimate keeps a floor of an eighth of it (Go's
 * hard goal: the estimate may be short).  The room counted is half of
 * what is left before the goal: paced to the goal itself, gort's marks
 * ended with the heap near it, while Go's end far short of it (in
 * gc_pause Go's heap peaks at 1.30 GB against a 1.48 GB goal, its
 * fractional worker leaving most of the marking to assists).  Everything
 * allocated during a mark survives it (allocate-black): with the full
 * room, the goroutines allocated 140-160 MB during each of gc_pause's marks,
 * the marked heap was 730-745 MB for 655 MB live, and heap_overhead was
 * 2.45 against Go's 2.35; with half, 80-105 MB, 685-710 MB and 2.26-2.33.
 * The price is the smaller heap's more frequent cycles (binary_trees:
 * 217 instead of 196, about 6% more time). */
static uint64_t assist_debt(uint64_t bytes, uint64_t live, uint64_t goal) {
    uint64_t expected = atomic_load_explicit(&pace_expected, memory_order_relaxed);
    uint64_t done = gort__gc_mark_progress();
    uint64_t remaining = expected > done ? expected - done : 0;
    if (remaining < expected / 8)
        remaining = expected / 8;
    uint64_t room = (goal - live) / 2;
    if (room == 0)
        room = 1;
    return (uint64_t)((double)bytes * (double)remaining / (double)room);
}

enum { ASSIST_MAX = 1 << 20 };

/* gort_main's start and exit (proc.c world_hold): no cycle may run
 * across either.  A cycle's goroutine that parked (on worldsema, behind a
 * goroutine's gort_read_stats) when main returned was abandoned holding
 * gcsema with its cycle half done: the next gort_main's first collection
 * waited for ever. */
void gort__gc_hold(void) {
    gort__mutex_lock_sema(&gcsema, false);
}

void gort__gc_release(void) {
    gort_mutex_unlock(&gcsema);
}

/* Waits for the cycle under way to end: it holds gcsema from its start to
 * the restart of the world at its end. */
static void wait_cycle_end(void) {
    gort__gc_hold();
    gort__gc_release();
}

void gort__gc_pace(uint64_t bytes) {
    /* Relaxed: marking and the goal change with the world stopped;
     * cycling is a hint (see it). */
    if (GORT_LIKELY(!atomic_load_explicit(&gort__gcstats.marking, memory_order_relaxed) &&
                    !atomic_load_explicit(&cycling, memory_order_relaxed)))
        return;
    struct g *gp = gort__getg();
    if (plain_thread(gp)) {
        if (!gort__runtime_running())
            return;
        /* Past the trigger, not the goal: it cannot assist, and what it
         * takes while a cycle marks is allocated black and survives it.
         * Three plain threads that took up to the goal each cycle doubled
         * the next goal, and beside a collecting goroutine on a loaded
         * machine grew the heap past 512 MB (2 runs in 10). */
        while (atomic_load_explicit(&cycling, memory_order_relaxed) &&
               atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed) >=
                   atomic_load_explicit(&gort__gcstats.trigger, memory_order_relaxed)) {
            atomic_store_explicit(&throttled, true, memory_order_relaxed);
            wait_cycle_end();
        }
        return;
    }
    if (gp == NULL || gort__mcache_get() == NULL)
        return;
    bool paid = false;
    for (;;) {
        uint64_t goal = atomic_load_explicit(&gort__gcstats.goal, memory_order_relaxed);
        uint64_t live = atomic_load_explicit(&gort__gcstats.heap_live, memory_order_relaxed);
        if (!atomic_load_explicit(&gort__gcstats.marking, memory_order_relaxed)) {
            /* A cycle has been asked for but does not mark yet (it
             * sweeps, or stops the world), or marks with the world
             * stopped: past the goal, wait for its end, as below. */
            if (live < goal || !atomic_load_explicit(&cycling, memory_order_relaxed))
                return;
            atomic_store_explicit(&throttled, true, memory_order_relaxed);
            wait_cycle_end();
            paid = true;
            continue;
        }
        if (live < goal) {
            if (paid)
                return;
            /* Go's gcAssistAlloc: scan in proportion to what this
             * allocation takes of the room left before the goal (at most
             * ASSIST_MAX at a time, so that a stop of the world never
             * waits long for it). */
            uint64_t debt = assist_debt(bytes, live, goal);
            if (debt > ASSIST_MAX)
                debt = ASSIST_MAX;
            if (debt == 0 || !gort__gc_assist_alloc(debt))
                return;
            /* It waited for credit, and so did others, readied by the
             * same flush: their spans may have taken the heap to its goal
             * since, so look again (without a new debt). */
            atomic_store_explicit(&throttled, true, memory_order_relaxed);
            paid = true;
            continue;
        }
        /* The heap has reached its goal while the cycle marks: the marking
         * is not keeping up, so this goroutine marks while there is work
         * in the pool, and then waits for the cycle to end before it takes
         * more memory (Go parks an assist that finds no work to do the
         * same way: gcParkAssist). */
        atomic_store_explicit(&throttled, true, memory_order_relaxed);
        gort__gc_throttle_count();
        GORT_TRACE(gort__trace_assist_start());
        uint64_t assisted = gort__gc_assist(64u << 10);
        GORT_TRACE(gort__trace_assist_done());
        if (assisted == 0) {
            wait_cycle_end();
            /* The next cycle may be marking already, with the heap past
             * its goal: thousands of goroutines woken here, each taking a
             * span, took gc_pause's early cycles 5-20 MB past it. */
            paid = true;
            continue;
        }
        /* A stop of the world (mark termination's among them) need not
         * wait for the pool to empty. */
        gort__preempt_check(gp);
    }
}

GORT_API void gort_gc(void) {
    /* A preemption point, as Go's GC (which parks its caller): a goroutine
     * that collects in a loop runs nearly all its time in runtime code,
     * where no signal preempts it, and its P's timers and queue waited
     * for ever (heap.gc_in_a_loop_lets_timers_fire). */
    gort__preempt_check(gort__getg());
    gort__malloc_init();
    if (atomic_load_explicit(&start_ns, memory_order_relaxed) == 0)
        atomic_store_explicit(&start_ns, gort_nanotime(), memory_order_relaxed);
    gc_run(true);
    uint32_t cycle = gort__mprof_cycle();
    int64_t t0 = gort_nanotime();
    /* A thread outside the runtime is not stopped by a stop-the-world, so
     * its sweeping could span the next cycle's mark (see gort__acquirem):
     * it sweeps holding gcsema, as a cycle's own sweeps do. */
    bool outside = gort__getg() == NULL;
    if (outside)
        gort__mutex_lock_sema(&gcsema, false);
    gort__sweep_all();
    /* The heap profile now shows this cycle (Go's mProf_PostSweep). */
    gort__mprof_postsweep(cycle);
    if (outside)
        gort_mutex_unlock(&gcsema);
    int64_t el = gort_nanotime() - t0;
    gort__lock(&statlock);
    st.gc_cpu_ns += (uint64_t)el;
    gort__unlock(&statlock);
}

/* ------------------------------------------------------------------ settings */

GORT_API int gort_set_gc_percent(int percent) {
    gort__preempt_check(gort__getg()); /* as gort_set_memory_limit */
    int old =
        atomic_exchange_explicit(&gcpercent, percent < 0 ? -1 : percent, memory_order_relaxed);
    if (!gort__runtime_running())
        atomic_store_explicit(&gcpercent_kept, true, memory_order_relaxed);
    commit_goal();
    /* Turned off: return with no cycle running, as Go's setGCPercent
     * waits for a mark under way (gcWaitOnMark).  The goal committed above
     * starts no new one: a cycle that took gcsema before this wait is
     * waited for, and one that takes it after acquires it from the
     * unlock here, which the trigger's store precedes, so gc_run's look
     * under gcsema finds the trigger out of reach. */
    if (percent < 0)
        wait_cycle_end();
    return old;
}

GORT_API int64_t gort_set_memory_limit(int64_t bytes) {
    /* A preemption point: a new goal measures the stacks' resident pages
     * (mincore over the slabs), runtime code where no signal preempts a
     * goroutine that sets the limit in a loop (see gort_gc); its P's
     * timers waited for seconds (heap.memory_limit_in_a_loop_lets_timers_fire). */
    gort__preempt_check(gort__getg());
    if (bytes < 0)
        return atomic_load_explicit(&memlimit, memory_order_relaxed);
    int64_t old = atomic_exchange_explicit(&memlimit, bytes, memory_order_relaxed);
    if (!gort__runtime_running())
        atomic_store_explicit(&memlimit_kept, true, memory_order_relaxed);
    commit_goal();
    return old;
}

GORT_API void gort_free_os_memory(void) {
    gort_gc();
    gort__mheap_scavenge(0, 0);
    /* The goroutines' stack pool is the runtime's: under gcsema it is
     * either in use by a running runtime or gone (world_hold in proc.c),
     * so a plain thread's call while gort_main returns scavenges after
     * the tear-down, not during it. */
    gort__gc_hold();
    gort__stack_scavenge_all();
    gort__gc_release();
}

/* Go's parseByteCount, case by case: a count read by atoi64 that is not
 * negative ("-0" is 0), ending in a digit, or in B after a digit, or in
 * KiB, MiB, GiB or TiB (after which atoi64 takes "-" as 0, as Go's). */
static bool parse_byte_count(const char *s, int64_t *out) {
    size_t n = strlen(s);
    int64_t v;
    if (n == 0)
        return false;
    size_t digits; /* the count's length */
    int shift = 0;
    char last = s[n - 1];
    if (last >= '0' && last <= '9') {
        digits = n;
    } else if (last != 'B' || n < 2) {
        return false;
    } else if (s[n - 2] >= '0' && s[n - 2] <= '9') {
        digits = n - 1;
    } else {
        const char *units = "KMGT";
        const char *u = n >= 4 && s[n - 2] == 'i' ? strchr(units, s[n - 3]) : NULL;
        if (u == NULL)
            return false;
        digits = n - 3;
        shift = 10 * (int)(u - units + 1);
    }
    if (!gort__atoi64(s, digits, &v) || v < 0 || v > (INT64_MAX >> shift))
        return false;
    *out = (int64_t)((uint64_t)v << shift);
    return true;
}

/* Reads the settings only: the heap itself (and the descriptors the
 * concurrent collector keeps open) is made at the first allocation. */
void gort__heap_init_run(void) {
    int64_t zero = 0;
    atomic_compare_exchange_strong(&start_ns, &zero, gort_nanotime());
    /* Go's readGOGC: "off" is -1, a number (Go's atoi32) is taken,
     * anything else is 100. */
    const char *s = getenv("GOGC");
    int32_t pct = 100;
    int32_t v;
    if (s != NULL && strcmp(s, "off") == 0)
        pct = -1;
    else if (s != NULL && gort__atoi32(s, strlen(s), &v))
        pct = v < 0 ? -1 : v;
    /* A value set outside gort_main wins (once), as a SetGCPercent made
     * after Go's runtime read GOGC. */
    if (!atomic_exchange_explicit(&gcpercent_kept, false, memory_order_relaxed))
        atomic_store_explicit(&gcpercent, pct, memory_order_relaxed);
    /* Go's readGOMEMLIMIT. */
    s = getenv("GOMEMLIMIT");
    int64_t lim = INT64_MAX;
    if (s != NULL && *s != '\0' && strcmp(s, "off") != 0 && !parse_byte_count(s, &lim)) {
        gort__printf("GOMEMLIMIT=%s\n", s);
        gort__throw("malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`");
    }
    if (!atomic_exchange_explicit(&memlimit_kept, false, memory_order_relaxed))
        atomic_store_explicit(&memlimit, lim, memory_order_relaxed);
    commit_goal();
    gort__fin_reset_run();
}

/* sysmon, every round: the background scavenger (Go's bgscavenge).  Keeps
 * the memory the heap holds (not returned to the OS) at most 10% above the
 * heap goal (Go's retainExtraPercent), returning at most 1 MiB per call so
 * that sysmon's round stays short. */
void gort__heap_scavenge_tick(int64_t now) {
    static int64_t last;
    if (gort__mheap_made() == NULL || now - last < 1000000)
        return;
    last = now;
    uint64_t goal = atomic_load_explicit(&gort__gcstats.goal, memory_order_relaxed);
    uint64_t retain = goal + goal / 10;
    if (retain < goal)
        retain = UINT64_MAX;
    int64_t lim = atomic_load_explicit(&memlimit, memory_order_relaxed);
    if (lim != INT64_MAX && (uint64_t)lim / 100 * 95 < retain)
        retain = (uint64_t)lim / 100 * 95;
    gort__mheap_scavenge(retain, 1u << 20);
}

/* ------------------------------------------------------------------ stats */

void gort__heap_read_stats(gort_stats *s) {
    /* Ready, not merely made: another thread's first allocation may be
     * making the nop cache, which the flush below reads. */
    mheap *h = gort__malloc_ready() ? gort__mheap_made() : NULL;
    if (h == NULL) {
        /* No heap yet: nothing allocated, and the first goal (Go's NextGC
         * before any collection: the minimum heap). */
        s->next_gc_bytes = atomic_load_explicit(&gort__gcstats.goal, memory_order_relaxed);
        return;
    }
    /* As Go's ReadMemStats: the caches' spans go back to their mcentrals,
     * with the world stopped, so that the slots a cache holds but has not
     * handed out yet (counted as allocated while cached, mcache.c) are not
     * counted: mallocs, total_alloc and heap_alloc are exact, and the
     * cumulative ones never go back (they counted whole cached spans and
     * fell after a collection took the unused slots back).  The caller
     * (gort_read_stats) has stopped the world, or holds worldsema with no
     * runtime running. */
    gort__lock(&gort__mcache_nop_lock);
    gort__mcache_flush_all();
    gort__unlock(&gort__mcache_nop_lock);
    uint64_t total = atomic_load_explicit(&gort__gcstats.total_alloc, memory_order_relaxed);
    uint64_t freed = atomic_load_explicit(&gort__gcstats.freed_bytes, memory_order_relaxed);
    uint64_t mallocs = atomic_load_explicit(&gort__gcstats.mallocs, memory_order_relaxed);
    uint64_t frees = atomic_load_explicit(&gort__gcstats.frees, memory_order_relaxed);
    uint64_t sys = gort__mheap_sys();
    uint64_t inuse = atomic_load_explicit(&h->inuse, memory_order_relaxed);
    s->heap_alloc_bytes = total > freed ? total - freed : 0;
    s->heap_sys_bytes = sys;
    s->heap_idle_bytes = sys > inuse ? sys - inuse : 0;
    s->heap_inuse_bytes = inuse;
    s->heap_released_bytes = atomic_load_explicit(&h->released, memory_order_relaxed);
    s->heap_objects = mallocs > frees ? mallocs - frees : 0;
    s->mallocs = mallocs;
    s->frees = frees;
    s->total_alloc_bytes = total;
    s->next_gc_bytes = atomic_load_explicit(&gort__gcstats.goal, memory_order_relaxed);
    gort__lock(&statlock);
    s->num_gc = st.numgc;
    s->pause_total_ns = st.pause_total;
    memcpy(s->pause_ns, st.pause, sizeof s->pause_ns);
    s->last_gc_unix_ns = st.last_gc_unix;
    uint64_t cpu = st.gc_cpu_ns;
    gort__unlock(&statlock);
    int64_t el = gort_nanotime() - atomic_load_explicit(&start_ns, memory_order_relaxed);
    int procs = gort_gomaxprocs(0);
    s->gc_cpu_fraction = el > 0 && procs > 0 ? (double)cpu / ((double)el * procs) : 0;
}

/* ------------------------------------------------------------------ roots */

/* Registered roots (gort_gc_add_roots): ranges of memory the collector
 * scans.  A malloc'd array under rootlock; not itself scanned.  The
 * runtime's own (gort__gc_root_add) are a circular list under the same
 * lock, rootlist its head. */
typedef struct rootrange {
    uintptr_t lo, len;
} rootrange;
static gort__rtlock rootlock = GORT__RTLOCK_INIT(LOCKRANK_GCROOTS);
static rootrange *roots; /* [rootlock] */
static size_t nroots, caproots;
static gort__gcroot rootlist = {&rootlist, &rootlist, 0, 0}; /* [rootlock] */

void gort__gc_root_add(gort__gcroot *r, const void *lo, size_t len) {
    gort__lock(&rootlock);
    r->lo = (uintptr_t)lo;
    r->len = len;
    r->next = rootlist.next;
    r->prev = &rootlist;
    rootlist.next->prev = r;
    rootlist.next = r;
    gort__unlock(&rootlock);
}

void gort__gc_root_del(gort__gcroot *r) {
    gort__lock(&rootlock);
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->next = r->prev = NULL;
    gort__unlock(&rootlock);
}

GORT_API int gort_gc_add_roots(const void *start, size_t len) {
    /* A range at NULL or past the end of the address space is no memory:
     * the next collection's scan would fault on it. */
    if ((start == NULL && len != 0) || (uintptr_t)start + len < (uintptr_t)start)
        return -EINVAL;
    gort__lock(&rootlock);
    if (nroots == caproots) {
        size_t ncap = caproots ? caproots * 2 : 16;
        rootrange *r = gort__fixrealloc(roots, ncap * sizeof *r); /* rootlock held */
        if (r == NULL) {
            gort__unlock(&rootlock);
            return -ENOMEM;
        }
        roots = r;
        caproots = ncap;
    }
    roots[nroots++] = (rootrange){(uintptr_t)start, len};
    gort__unlock(&rootlock);
    return 0;
}

GORT_API int gort_gc_remove_roots(const void *start, size_t len) {
    gort__lock(&rootlock);
    for (size_t i = nroots; i-- > 0;) {
        if (roots[i].lo == (uintptr_t)start && roots[i].len == len) {
            roots[i] = roots[--nroots];
            gort__unlock(&rootlock);
            return 0;
        }
    }
    gort__unlock(&rootlock);
    return -ENOENT;
}

/* Channels whose elements can hold a pointer: their buffers and their
 * blocked senders' elements are roots.  An open-addressing set of
 * pointers (0 empty, 1 deleted) under chanlock. */
static gort__rtlock chanlock = GORT__RTLOCK_INIT(LOCKRANK_GCCHANS);
static uintptr_t *chanset; /* [chanlock] */
static size_t chancap, chanused, chanlive;

static size_t hashp(uintptr_t p, size_t cap) {
    return (size_t)((p >> 6) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

static int chanset_grow(void) {
    size_t ncap = chancap ? chancap * 2 : 64;
    if (chanlive * 4 < chancap)
        ncap = chancap; /* mostly tombstones: rehash in place size */
    /* chanlock held: not malloc (mfixalloc.c). */
    uintptr_t *n = gort__fixcalloc(ncap, sizeof *n);
    if (n == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < chancap; i++) {
        uintptr_t p = chanset[i];
        if (p > 1) {
            size_t j = hashp(p, ncap);
            while (n[j] != 0)
                j = (j + 1) & (ncap - 1);
            n[j] = p;
        }
    }
    gort__fixfree(chanset);
    chanset = n;
    chancap = ncap;
    chanused = chanlive;
    return 0;
}

int gort__gc_chan_add(struct gort_chan *c) {
    if (c->noscan)
        return 0;
    gort__lock(&chanlock);
    if ((chanused + 1) * 4 > chancap * 3 && chanset_grow() != 0) {
        gort__unlock(&chanlock);
        return -ENOMEM;
    }
    size_t j = hashp((uintptr_t)c, chancap);
    while (chanset[j] > 1)
        j = (j + 1) & (chancap - 1);
    if (chanset[j] == 0)
        chanused++;
    chanset[j] = (uintptr_t)c;
    chanlive++;
    gort__unlock(&chanlock);
    return 0;
}

void gort__gc_chan_del(struct gort_chan *c) {
    if (c->noscan)
        return;
    gort__lock(&chanlock);
    if (chancap != 0) {
        size_t j = hashp((uintptr_t)c, chancap);
        while (chanset[j] != 0) {
            if (chanset[j] == (uintptr_t)c) {
                chanset[j] = 1;
                chanlive--;
                break;
            }
            j = (j + 1) & (chancap - 1);
        }
    }
    gort__unlock(&chanlock);
}

/* A channel's roots: the elements in its buffer (from recvx, qcount of
 * them: a slot already received from holds nothing, as Go clears it) and
 * the elements its blocked senders offer. */
static void scan_chan(struct gort_chan *c) {
    gort__lock(&c->lock);
    size_t n = atomic_load_explicit(&c->qcount, memory_order_relaxed);
    for (size_t k = 0, i = c->recvx; k < n; k++) {
        uintptr_t slot = (uintptr_t)gort__chanbuf(c, i);
        gort__gc_mark_range(slot, slot + c->elemsize);
        if (++i == c->dataqsiz)
            i = 0;
    }
    for (struct sudog *sg = atomic_load_explicit(&c->sendq.first, memory_order_relaxed); sg != NULL;
         sg = sg->next) {
        if (sg->elem != NULL)
            gort__gc_mark_range((uintptr_t)sg->elem, (uintptr_t)sg->elem + c->elemsize);
    }
    gort__unlock(&c->lock);
}

void gort__gc_scan_registered(void) {
    gort__lock(&rootlock);
    for (size_t i = 0; i < nroots; i++)
        gort__gc_mark_range(roots[i].lo, roots[i].lo + roots[i].len);
    for (gort__gcroot *r = rootlist.next; r != &rootlist; r = r->next)
        gort__gc_mark_range(r->lo, r->lo + r->len);
    gort__unlock(&rootlock);
    gort__lock(&chanlock);
    for (size_t i = 0; i < chancap; i++)
        if (chanset[i] > 1)
            scan_chan((struct gort_chan *)chanset[i]);
    gort__unlock(&chanlock);
}
