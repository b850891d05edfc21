/*
 * malloc.h - the collected heap's internal objects, shared by malloc.c,
 * mheap.c, mcentral.c, mcache.c, mgc.c, mgcmark.c, mgcsweep.c, mfinal.c.
 * Mirrors the types of runtime/malloc.go, mheap.go, mcentral.go, mcache.go
 * and mgc.go.
 *
 *   arena     one big reservation of address space (PROT_NONE), committed
 *             (made read-write) from the bottom up in chunks as the heap
 *             grows; the heap's pages are 8 KiB (Go's _PageSize)
 *   mspan     a run of pages: either one large object or objects of one size
 *             class; alloc and mark bitmaps (one bit per object) follow it
 *   mcentral  the spans of one span class (size class x scan/noscan): swept
 *             and unswept, partial and full (Go's spanSets, as lists)
 *   mcache    per P: the span each class allocates from, without a lock
 *   mheap     the page allocator (a bitmap, first fit from the lowest free
 *             page), the page->span map and the scavenged bits
 *
 * The metadata (span structures, bitmaps, page map, mheap and mcaches) lives
 * in memory of its own (mmap), never in the arena and never in the
 * program's data segments: the collector scans those conservatively, and a
 * pointer into the arena kept there would keep some object alive.
 */
#ifndef GORT_MALLOC_H
#define GORT_MALLOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "san.h"
#include "sizeclasses.h"

#ifdef GORT_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(GORT_HAVE_VALGRIND) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define GORT_HAVE_MEMCHECK 1
#endif

/* Whether the process runs under Valgrind: RUNNING_ON_VALGRIND, asked once
 * when the heap is made (malloc.c), so that the allocator's fast path and
 * the scanner's loop do not execute a client request (a few stores and a
 * magic instruction sequence each) natively.  Written before the heap is
 * published (malloc_ready's release store), read after its acquire. */
#ifdef GORT_HAVE_MEMCHECK
extern bool gort__heap_on_valgrind;
#define GORT__ON_VALGRIND() GORT_UNLIKELY(gort__heap_on_valgrind)
#else
#define GORT__ON_VALGRIND() false
#endif

/* Scanning reads other goroutines' stacks, poisoned redzones and memory
 * other threads may be writing (conservatively, as any word might be a
 * pointer): the scanners are not instrumented. */
#if defined(__clang__)
#define GORT_NOSAN_SCAN __attribute__((no_sanitize("address", "thread")))
#else
#define GORT_NOSAN_SCAN __attribute__((no_sanitize_address, no_sanitize_thread))
#endif

/* ------------------------------------------------------------------ spans */

enum { MS_FREE = 0, MS_INUSE = 1 };

typedef struct mspan {
    struct mspan *next; /* [list owner's lock] mcentral list / free-struct link */
    uintptr_t base;     /* [immutable while in use] first byte */
    uintptr_t npages;   /* [immutable while in use] */
    uintptr_t limit;    /* [immutable while in use] base + nelems * elemsize */
    uintptr_t elemsize; /* [immutable while in use] object size (large: npages * page) */
    uint32_t nelems;    /* [immutable while in use] objects (large: 1) */
    uint32_t divmagic;  /* [immutable while in use] (off * divmagic) >> 32 == off / elemsize */
    uint16_t nwords;    /* [immutable] 64-bit words in each bitmap */
    uint8_t spc;        /* [immutable while in use] span class: sizeclass << 1 | noscan */
    uint8_t state;      /* [heap lock] MS_* */
    bool needzero;      /* [owner] freed objects may hold old bytes: zero on allocation */
    /* [immutable while in use] With needzero, a large object's bytes from
     * base that may hold old ones: the pages between the first and the
     * last that were not fresh from the OS (the rest read as zeros). */
    uintptr_t zerolo, zerohi;
    /* sweepgen, as Go's mspan.sweepgen against mheap.sweepgen (sg):
     *   sg - 2  needs sweeping;  sg - 1  being swept;  sg  swept.
     * A sweeper claims a span with a CAS from sg - 2 to sg - 1. */
    _Atomic uint32_t sweepgen;
    /* Allocation state (Go's freeindex/allocCache/allocCount): the owner
     * (the mcache that caches the span, or the holder of the central lock,
     * or the sweeper that claimed it) writes it; the collector reads it with
     * the world stopped.  Object i is allocated iff i < freeindex or bit i
     * of allocbits is set. */
    uint32_t freeindex;
    uint32_t alloccount;
    uint64_t alloccache; /* ~allocbits from the word of freeindex, shifted */
    uint64_t *allocbits; /* -> bits[0..nwords) or bits[nwords..2*nwords) */
    uint64_t *markbits;  /* the other half; set by the collector */
    /* Go's profile specials: the objects of this span sampled by the heap
     * profile (pprof.c), each with its stack's bucket.  Pushed by the
     * allocator that owns the span, walked and pruned by the sweeper that
     * claimed it (the same ownership as the allocation state). */
    struct gort__mprof_special *specials;
    uint64_t bits[];
} mspan;

static inline uint32_t gort__span_objindex(const mspan *s, uintptr_t p) {
    return (uint32_t)(((uint64_t)(p - s->base) * s->divmagic) >> 32);
}

static inline bool gort__span_isfree(const mspan *s, uint32_t i) {
    /* Relaxed atomic: a concurrent marker reads freeindex while the owner
     * allocates (a stale value only makes a just-allocated object look
     * free, and that one is allocated black). */
    return i >= __atomic_load_n(&s->freeindex, __ATOMIC_RELAXED) &&
           !(s->allocbits[i / 64] >> (i % 64) & 1);
}

/* ------------------------------------------------------------------ mcentral */

typedef struct mcentral {
    gort__rtlock lock;
    uint8_t spc;
    /* [lock] Go's partial/full spanSets, indexed by sweepgen/2 % 2: the
     * swept ones of this cycle are [sg/2 % 2], the unswept [1 - sg/2 % 2]. */
    mspan *partial[2];
    mspan *full[2];
} mcentral;

/* ------------------------------------------------------------------ mcache */

typedef struct mcache {
    mspan *alloc[GORT__NUM_SPANCLASSES]; /* [owner P] */
    /* [owner P; gort_set_mem_profile_rate with the world stopped] Go's
     * mcache.nextSample: bytes still to allocate before the next heap
     * profile sample (0 with rate 1: every object; UINTPTR_MAX with rate 0:
     * none), so that mallocgc's test is one compare and one subtract. */
    uintptr_t next_sample;
} mcache;

/* ------------------------------------------------------------------ mheap */

#define GORT__HEAP_PAGE_SHIFT 13
#define GORT__HEAP_PAGE ((uintptr_t)1 << GORT__HEAP_PAGE_SHIFT)
/* Committed (made read-write) in chunks of this much. */
#define GORT__HEAP_CHUNK ((uintptr_t)64 << 20)

typedef struct mheap {
    gort__rtlock lock;
    uintptr_t arena;         /* [immutable] first byte of the reservation */
    uintptr_t arena_pages;   /* [immutable] pages reserved */
    _Atomic uintptr_t used;  /* [lock; atomic for readers] committed pages */
    uint64_t *allocmap;      /* [lock] page in use by a span */
    uint64_t *scavmap;       /* [lock] free page returned to the OS (reads as zero) */
    uintptr_t searchpage;    /* [lock] no free page below it */
    _Atomic(mspan *) *spans; /* page -> span, for pages of in-use spans */
    mspan *freestructs[17];  /* [lock] free span structs by nwords (1..16) */
    uintptr_t metapos;       /* [lock] bump allocator of span structs */
    uintptr_t metaend;
    /* Counters in bytes [lock; atomic for readers]. */
    _Atomic uint64_t inuse;    /* pages of in-use spans */
    _Atomic uint64_t released; /* free pages returned to the OS */
    _Atomic uint64_t metasys;  /* metadata mapped */
    _Atomic uint32_t sweepgen; /* [STW write] Go's mheap.sweepgen */
    mcentral central[GORT__NUM_SPANCLASSES];
} mheap;

extern mheap *gort__mheap;

/* The heap, or NULL before the first allocation made it: for the readers
 * that do not make it (stats, the pacer, sysmon's scavenger, SetFinalizer).
 * Acquire: pairs with heap_init's release store, so that the fields it
 * wrote are seen.  Callers that made the heap (pthread_once) read
 * gort__mheap directly. */
static inline mheap *gort__mheap_made(void) {
    return __atomic_load_n(&gort__mheap, __ATOMIC_ACQUIRE);
}

/* The span holding address p, or NULL (not in the arena / not in use). */
static inline mspan *gort__spanof(uintptr_t p) {
    mheap *h = gort__mheap;
    uintptr_t off = p - h->arena;
    if (off >= atomic_load_explicit(&h->used, memory_order_relaxed) << GORT__HEAP_PAGE_SHIFT)
        return NULL;
    /* Acquire: pairs with mheap_alloc's release; the span is initialised. */
    return atomic_load_explicit(&h->spans[off >> GORT__HEAP_PAGE_SHIFT], memory_order_acquire);
}

/* Critical sections of the heap (gort__acquirem, Go's acquirem in mallocgc
 * and the sweeper): while a thread has claimed a span (for sweeping, from
 * the page heap, or between an mcache and its mcentral) the span is on no
 * list and in no mcache, so a collection must not mark and flip sweepgen
 * meanwhile (the span would come back with a stale sweepgen, never be
 * swept again, and keep a stale mark bit: the objects it points to would
 * not be scanned in later cycles).  The preemption handler neither
 * preempts nor suspends a thread in such a section (preempt.c), so a
 * stop-the-world waits until it is over, as Go's waits for an M with
 * m.locks set. */

/* malloc.c */
/* Makes the heap, its nop cache and its write tracking, once per process
 * (the first allocation does it too). */
void gort__malloc_init(void);
/* Whether the heap is made, its nop cache included: acquire, so that a
 * true orders everything malloc_init wrote before the caller's reads (the
 * heap is made at the first allocation, on any thread). */
bool gort__malloc_ready(void);

/* mheap.c */
/* Makes the heap (once per process): reservation, page map, metadata.
 * Throws "runtime: out of memory" when it cannot. */
void gort__mheap_init(void);
/* Go's out-of-memory fatal error for a request of `bytes`: "runtime: out
 * of memory: cannot allocate N-byte block (M in use)", then the fatal
 * error "runtime: out of memory". */
_Noreturn void gort__heap_oom(uintptr_t bytes);
/* A span of npages from the page heap, initialised for span class spc
 * (nelems objects of elemsize; the bitmaps cleared).  sweepgen = current.
 * Throws out of memory. */
mspan *gort__mheap_alloc(uintptr_t npages, uint8_t spc, uintptr_t elemsize, uint32_t nelems);
/* Returns s's pages to the page heap and s's struct to the free lists. */
void gort__mheap_free(mspan *s);
/* The runs of pages in use by spans, [runs[i][0], runs[i][1]) in page
 * indexes, for the collector's write tracking (mgc.c): free gaps shorter
 * than mingap pages are merged into the runs around them, and the last of
 * at most max runs extends to the end of the committed heap.  Returns the
 * number of runs.  A snapshot: spans allocated or freed right after it
 * are the caller's concern. */
size_t gort__mheap_inuse_runs(uintptr_t mingap, uintptr_t (*runs)[2], size_t max);
/* The write tracking's runs (mgc.c, mgcmark.c): free gaps shorter than
 * GORT__TRACK_GAP pages go with their neighbours, and there are at most
 * GORT__TRACK_RUNS (each a protecting ioctl, which flushes the TLB of every
 * CPU running the process). */
enum { GORT__TRACK_GAP = 8, GORT__TRACK_RUNS = 64 };
/* Returns free pages to the OS until at most `retain` bytes of the heap are
 * resident-or-reusable (heap_sys - released); at most `max` bytes per call
 * (0: no cap).  Returns the bytes released. */
uint64_t gort__mheap_scavenge(uint64_t retain, uint64_t max);
/* Committed bytes (HeapSys). */
static inline uint64_t gort__mheap_sys(void) {
    return (uint64_t)atomic_load_explicit(&gort__mheap->used, memory_order_relaxed)
           << GORT__HEAP_PAGE_SHIFT;
}

/* mcentral.c */
/* A span of class spc with at least one free object (Go's cacheSpan). */
mspan *gort__mcentral_cache(mcentral *c);
/* Gives back a span an mcache held (Go's uncacheSpan). */
void gort__mcentral_uncache(mcentral *c, mspan *s);
/* Puts a swept span on the swept list it belongs to (partial or full). */
void gort__mcentral_put_swept(mcentral *c, mspan *s);
/* Takes one unswept span of c off its lists, claimed for sweeping (its
 * sweepgen is sg - 1), or NULL. */
mspan *gort__mcentral_take_unswept(mcentral *c);

/* mcache.c */
extern mspan gort__emptyspan;
/* The mcache of each P, made at its first allocation. */
extern _Atomic(mcache *) gort__mcaches[GORT_MAX_PROCS];
/* Makes P id's cache (its first allocation). */
mcache *gort__mcache_make(int id);
/* The calling P's cache, or NULL (no P: a thread outside the runtime).
 * Inline for mallocgc's fast path (Go's getMCache: mp.p.mcache).  Relaxed:
 * only this P's owner stores its cache (mcache_make, release), and the
 * collector that flushes it runs with the world stopped. */
static inline mcache *gort__mcache_get(void) {
    struct m *mp = gort__getm();
    if (mp == NULL || mp->p == NULL || mp->curg == NULL)
        return NULL;
    int id = mp->p->id;
    mcache *c = atomic_load_explicit(&gort__mcaches[id], memory_order_relaxed);
    if (GORT_UNLIKELY(c == NULL))
        c = gort__mcache_make(id);
    return c;
}
/* Replaces c->alloc[spc] with a span with room (Go's refill). */
void gort__mcache_refill(mcache *c, uint8_t spc);
/* Gives every cached span back to its mcentral (world stopped). */
void gort__mcache_flush_all(void);
/* The cache for threads without a P, and its lock. */
extern mcache *gort__mcache_nop;
extern gort__rtlock gort__mcache_nop_lock;
/* Makes gort__mcache_nop (once, from malloc.c's init). */
void gort__mcache_init_nop(void);
/* Allocation from a span: the next free object or 0 (Go's nextFreeFast +
 * nextFreeIndex). */
uintptr_t gort__span_nextfree(mspan *s);
void gort__span_refill_alloccache(mspan *s, uint32_t word);

/* pprof.c: the heap profile (Go's mprof.go) */
/* Go's nextSample: the distance in bytes to the next sample, exponentially
 * distributed with mean MemProfileRate (0 for rate 1, UINTPTR_MAX when
 * off). */
uintptr_t gort__mprof_next_sample(void);
/* Records the sampled object v (size bytes, in span s, which the caller
 * owns): the allocating goroutine's stack, and a special on s so that the
 * sweeper reports its free.  Go's mProf_Malloc + setprofilebucket. */
void gort__mprof_malloc(mspan *s, uintptr_t v, uintptr_t size);
/* The sweeper of s (claimed, mark bits final): the sampled objects of s
 * not marked are freed; records their frees and drops their specials. */
void gort__mprof_sweep(mspan *s);
/* The profile's cycle (Go's mProf_NextCycle at mark termination, world
 * stopped; mProf_Flush after the world restarts; mProf_PostSweep when the
 * sweep of profile cycle `cycle` (read by gort__mprof_cycle before it)
 * is complete: a no-op if another cycle has begun meanwhile). */
void gort__mprof_next_cycle(void);
void gort__mprof_flush(void);
uint32_t gort__mprof_cycle(void);
void gort__mprof_postsweep(uint32_t cycle);
/* Sets every mcache's next_sample from the current rate. */
void gort__mcache_reset_samples(void);

/* mgcsweep.c */
/* Sweeps a span claimed for sweeping (sweepgen sg - 1).  Unless preserve,
 * frees it to the page heap when no object is left (returns false); else
 * (returns true) leaves it swept and on no list: the caller uses it or
 * hands it to gort__mcentral_put_swept. */
bool gort__sweep_span(mspan *s, bool preserve);
/* Sweeps everything left (Go's finishsweep / sweep done). */
void gort__sweep_all(void);
/* Sweeps one unswept span of span class spc: the pages it freed (0: it
 * kept objects), or -1 when none was left. */
intptr_t gort__sweep_one(int spc);

/* mgc.c: counters and the pacer */
typedef struct gcstats {
    _Atomic uint64_t heap_live;   /* bytes of objects allocated or cached for allocation */
    _Atomic uint64_t mallocs;     /* objects allocated (cached slots count) */
    _Atomic uint64_t frees;       /* objects freed */
    _Atomic uint64_t total_alloc; /* bytes allocated, cumulative */
    _Atomic uint64_t freed_bytes; /* bytes freed, cumulative */
    _Atomic uint64_t trigger;     /* heap_live at which a cycle starts */
    _Atomic uint64_t goal;        /* heap goal of the cycle in progress / next */
    _Atomic uint32_t marking;     /* 1 while the collector marks concurrently (allocate black) */
    _Atomic uint64_t black_bytes; /* bytes allocated black in this cycle (cached slots count) */
} gcstats;
extern gcstats gort__gcstats;

/* Called by the allocator's slow paths: starts a cycle when heap_live has
 * reached the trigger.  keep: the object just allocated, held (scanned)
 * across the cycle.  Nothing for a goroutine without a P (in a blocking
 * call); a thread outside the runtime starts one too (mgc.c). */
void gort__gc_maybe_trigger_keep(void *keep);
/* Called before the caller takes bytes more of the heap (a span for its
 * mcache, or a large object) while a cycle runs.  A goroutine with a P
 * assists the marking in proportion, and once the heap has reached its
 * goal it helps while there is work and then waits for the cycle to end;
 * a thread outside the runtime (the nop cache's) waits for the end past
 * the goal; a goroutine in a blocking call does neither. */
void gort__gc_pace(uint64_t bytes);
/* An object handed out (allocator) or freed (sweeper), for the tools:
 * AddressSanitizer poisons free objects; under Valgrind a free object is
 * no-access memory; ThreadSanitizer forgets a freed object's accesses, so
 * that its next owner's are no race with them (Go's racefree; not at the
 * allocation, as Go's racemalloc, where its test cost alloc_small 8%).
 * (Objects are not announced to Valgrind as malloc-like blocks: its leak
 * check would then report every object the collector has not yet
 * reclaimed at exit.) */
static inline void gort__heap_san_alloc(void *p, size_t n) {
#ifdef GORT_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#ifdef GORT_HAVE_MEMCHECK
    if (GORT__ON_VALGRIND())
        VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
    (void)p;
    (void)n;
}
static inline void gort__heap_san_free(void *p, size_t n) {
    san_forget(p, n);
#ifdef GORT_HAVE_MEMCHECK
    if (GORT__ON_VALGRIND())
        VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
#ifdef GORT_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
    (void)p;
    (void)n;
}
/* True when freed objects must be enumerated for the tools. */
static inline bool gort__heap_san_active(void) {
#if defined(GORT_ASAN)
    return true;
#elif defined(GORT_HAVE_MEMCHECK)
    return GORT__ON_VALGRIND() || san_tsan_on();
#else
    return san_tsan_on();
#endif
}

/* mgcmark.c */
/* Marks everything reachable from the roots; world stopped.  scan_sp: the
 * collecting goroutine's (or thread's) stack pointer to scan from. */
void gort__gc_mark(uintptr_t scan_sp, uintptr_t scan_hi);
/* The globals of a pause (mgcmark.c, "The loader's lock and the
 * collector"): gort__gc_globals_list lists the loaded objects' writable
 * segments, with the world running, just before a stop whose pause scans
 * them; gort__gc_globals_check, with the world stopped, tells whether
 * that listing still covers every object the loader has (by a walk of
 * the loader's list), or takes the lister's listing made meanwhile, and
 * if either the pause's gort__gc_mark scans it instead of calling the
 * loader. */
void gort__gc_globals_list(void);
/* walk: walk the loader's list first; wait: how long to wait for the
 * lister's listing when that walk saw a change, or was not made (0: do
 * not ask the lister). */
bool gort__gc_globals_check(bool walk, int64_t wait);
/* After a check that succeeded: whether the pause would scan the byte
 * at p. */
bool gort__gc_globals_covers(uintptr_t p);
/* After a check that succeeded: whether it took the lister's listing. */
bool gort__gc_globals_by_lister(void);
/* For tests: with no cycle running (gcsema held), lists, runs
 * between(arg), checks (walk and lister as for gort__gc_globals_check,
 * the lister given a second), sets *by_lister to whether the check took
 * the lister's listing, and returns -1 if the check failed, else whether
 * the pause would scan the byte at *where (read after between). */
int gort__gc_globals_test(void (*between)(void *arg), void *arg, void *const *where, bool walk,
                          bool lister, bool *by_lister);
/* Marks obj's contents (not obj) as roots: objects with finalizers. */
void gort__gc_mark_range(uintptr_t lo, uintptr_t hi);
/* Marks the object at p (if any) and what it reaches. */
void gort__gc_mark_ptr(uintptr_t p);
/* Drains the mark stack. */
void gort__gc_drain(void);
/* A mark assist: scans up to work bytes of grey objects from the shared
 * pool; returns what it scanned (non-zero if the pool had work). */
uint64_t gort__gc_assist(uint64_t work);
/* Go's gcAssistAlloc: pays debt bytes of scan work, from the collector's
 * credit, by marking, or by waiting for the collector's work to pay it
 * (then returns true). */
bool gort__gc_assist_alloc(uint64_t debt);
/* Makes the final pause's helper thread (mgcmark.c stw_stacks) if there
 * are goroutines enough to share their stacks with it and this process
 * has none yet; the collector calls it before it stops the world (making
 * a thread takes libc's locks, which a stopped thread may hold). */
void gort__gc_helper_start(void);
/* Nanoseconds assists spent marking in this cycle. */
uint64_t gort__gc_assist_ns(void);
/* Counts an allocation the collector's credit did not pay for (it marked,
 * or waited for credit or for the cycle's end); gort__gc_throttled reads
 * the total since the program started. */
void gort__gc_throttle_count(void);
uint64_t gort__gc_throttled(void);
/* Opens the assists' wait queue at the start of a concurrent mark, or
 * closes it (readying every waiter) when no more credit will come. */
void gort__gc_assist_queue(bool open);
/* export_test.c: scans the grey entry (base, size) as a marker pops it,
 * on a grey stack of its own, until nothing is left of it: the scans that
 * took (oblets) and the largest, in bytes.  What the range points to is
 * greyed: for a range that holds no heap pointers. */
void gort__gc_scan_steps(uintptr_t base, uintptr_t size, uint64_t *steps, uint64_t *largest);
/* Bytes greyed so far in this cycle's mark, by the collector and the
 * assists (a relaxed estimate, for the assists' pace). */
uint64_t gort__gc_mark_progress(void);
/* Concurrent marking (mgcmark.c, mgcdirty.c). */
void gort__gc_mark_reset(void);
/* scan_sp, scan_hi: the collector's own frames, as for gort__gc_mark. */
void gort__gc_mark_concurrent(uintptr_t scan_sp, uintptr_t scan_hi);
void gort__gc_mark_concurrent_rounds(int rounds);
uint64_t gort__gc_rescan_dirty(bool reprotect);
extern _Atomic int gort__gc_concurrent;
void gort__gc_dirty_init(void);
void gort__gc_dirty_forked(void);
const char *gort__gc_mode(void);
void gort__gc_dirty_protect(uintptr_t lo, uintptr_t hi, bool on);
void gort__gc_dirty_scan(uintptr_t lo, uintptr_t hi, bool reprotect,
                         void (*fn)(uintptr_t lo, uintptr_t hi));
/* An object allocated while marking runs is marked at once (Go's
 * allocate-black): the collector never sees it white. */
static inline void gort__gc_mark_black(mspan *s, uintptr_t v) {
    uint32_t i = s->nelems > 1 ? gort__span_objindex(s, v) : 0;
    atomic_fetch_or_explicit((_Atomic uint64_t *)&s->markbits[i / 64], (uint64_t)1 << (i % 64),
                             memory_order_relaxed);
}
/* Bytes scanned by the last mark, by kind. */
extern uint64_t gort__gc_scanned_stacks, gort__gc_scanned_globals, gort__gc_marked_bytes;
/* The last mark's scan work: bytes greyed, and of written pages rescanned
 * (the assists' pace for the next). */
extern uint64_t gort__gc_scan_work;

/* Registered roots and channels (mgc.c). */
void gort__gc_scan_registered(void);

/* mfinal.c */
/* During mark: the contents of every object with a finalizer, and every
 * queued object, as roots. */
void gort__fin_markroots(void);
/* After mark: queues the finalizers of unmarked objects (marking them). */
int gort__fin_queue_unmarked(void);
/* gort_main starts: the old run's finalizer goroutine is gone. */
void gort__fin_reset_run(void);

#endif /* GORT_MALLOC_H */
