/*
 * malloc.c - gort_new, gort_new_noscan, gort_keep_alive.  Mirrors
 * runtime/malloc.go's mallocgc.
 *
 * Small objects (up to 32 KiB) come from the P's mcache: the span of the
 * object's span class (size class, scan or noscan) hands out its next free
 * slot (nextFreeFast: one count-trailing-zeros on the cached alloc bits);
 * when it is full, the mcache refills from the mcentral (mcache.c), and
 * that is where a collection may start (Go checks its trigger there too).
 * Large objects get a span of their own from the page heap.
 *
 * Heap profile sampling (Go's mallocgc + profilealloc): each cache counts
 * down the bytes to its next sample (next_sample); the common path is one
 * compare and one subtract, and the object that reaches the sample is
 * recorded (pprof.c) with a new distance drawn.
 *
 * Zeroing: pages fresh from the OS (or scavenged) read as zeros; a span
 * whose objects may hold old bytes has needzero set and its objects are
 * cleared when handed out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>

#include "malloc.h"
#include "trace.h"

static pthread_once_t malloc_once = PTHREAD_ONCE_INIT;
static _Atomic bool malloc_ready;

#ifdef GORT_HAVE_MEMCHECK
bool gort__heap_on_valgrind; /* [immutable after malloc_init] */
#endif

static void malloc_init(void) {
#ifdef GORT_HAVE_MEMCHECK
    gort__heap_on_valgrind = RUNNING_ON_VALGRIND != 0;
#endif
    gort__mheap_init();
    gort__mcache_init_nop();
    gort__gc_dirty_init();
    atomic_store_explicit(&malloc_ready, true, memory_order_release);
}

static inline void ensure_init(void) {
    /* Acquire: pairs with the release above; after it the heap is ready. */
    if (GORT_UNLIKELY(!atomic_load_explicit(&malloc_ready, memory_order_acquire)))
        pthread_once(&malloc_once, malloc_init);
}

void gort__malloc_init(void) {
    ensure_init();
}

bool gort__malloc_ready(void) {
    return atomic_load_explicit(&malloc_ready, memory_order_acquire);
}

/* Go's nextFreeFast: the next free slot of s within its cached alloc bits,
 * or 0. */
static inline uintptr_t next_free_fast(mspan *s) {
    uint64_t cache = s->alloccache;
    if (cache == 0)
        return 0;
    uint32_t bit = (uint32_t)__builtin_ctzll(cache);
    uint32_t result = s->freeindex + bit;
    if (result >= s->nelems)
        return 0;
    uint32_t freeidx = result + 1;
    if (freeidx % 64 == 0 && freeidx != s->nelems)
        return 0;
    s->alloccache = (cache >> bit) >> 1;
    /* Relaxed atomic: read by gort_set_finalizer on other threads. */
    __atomic_store_n(&s->freeindex, freeidx, __ATOMIC_RELAXED);
    s->alloccount++;
    return s->base + (uintptr_t)result * s->elemsize;
}

/* An object of span class spc from the span c caches, or 0 when that
 * span is full. */
static inline uintptr_t cache_take(mcache *c, uint8_t spc) {
    mspan *s = c->alloc[spc];
    uintptr_t v = next_free_fast(s);
    if (GORT_LIKELY(v != 0))
        return v;
    return gort__span_nextfree(s);
}

/* An object of span class spc from a new span, which c caches from now on. */
static uintptr_t cache_refill(mcache *c, uint8_t spc) {
    gort__acquirem();
    gort__mcache_refill(c, spc);
    gort__releasem();
    uintptr_t v = gort__span_nextfree(c->alloc[spc]);
    GORT_CHECK(v != 0, "mallocgc: refilled span has no free object");
    return v;
}

/* mallocgc's slow path for a goroutine whose span of class spc is full:
 * first the pacer (which may have it mark, or park it until the marking
 * cycle ends: mgc.c gort__gc_pace), then a new span, from the cache of
 * the P it runs on afterwards (a parked goroutine may resume on another
 * P, and that P's span may have room again; the caller reads the cache
 * again too). */
static GORT_NOINLINE uintptr_t malloc_refill(uint8_t spc) {
    gort__gc_pace((uint64_t)gort__class_to_allocnpages[spc >> 1] << GORT__HEAP_PAGE_SHIFT);
    mcache *c = gort__mcache_get();
    uintptr_t v = cache_take(c, spc);
    return v != 0 ? v : cache_refill(c, spc);
}

/* Clears a small object in place of a call to memset: up to 128 bytes,
 * word stores (the empty asm keeps the compiler from turning the loop back
 * into that call). */
static inline void zero_object(uintptr_t v, uintptr_t size) {
    if (size > 128) {
        memset((void *)v, 0, size);
        return;
    }
    for (uintptr_t a = v; a < v + size; a += sizeof(uint64_t)) {
        *(uint64_t *)a = 0;
        __asm__ volatile("" : : "r"(a));
    }
}

static inline void finish_object(mspan *s, uintptr_t v, uintptr_t size) {
    gort__heap_san_alloc((void *)v, size);
    if (s->needzero)
        zero_object(v, size);
    /* Relaxed: the flag changes only with the world stopped (and under the
     * nop lock), which orders it for every allocator. */
    if (GORT_UNLIKELY(atomic_load_explicit(&gort__gcstats.marking, memory_order_relaxed)))
        gort__gc_mark_black(s, v);
}

/* Go's profilealloc: v (size bytes in s) reached c's sample point. */
static GORT_NOINLINE void profilealloc(mcache *c, mspan *s, uintptr_t v, uintptr_t size) {
    c->next_sample = gort__mprof_next_sample();
    gort__mprof_malloc(s, v, size);
}

/* Counts size bytes against c's next heap profile sample. */
static inline void maybe_profile(mcache *c, mspan *s, uintptr_t v, uintptr_t size) {
    if (GORT_UNLIKELY(size >= c->next_sample))
        profilealloc(c, s, v, size);
    else
        c->next_sample -= size;
}

/* Allocation from a thread without a P: the shared cache, under its lock
 * (which the collector holds while it runs: no allocate-black needed). */
static GORT_NOINLINE uintptr_t alloc_nop(uint8_t spc, uintptr_t *size) {
    gort__lock(&gort__mcache_nop_lock);
    uintptr_t v = cache_take(gort__mcache_nop, spc);
    if (v == 0)
        v = cache_refill(gort__mcache_nop, spc);
    mspan *s = gort__mcache_nop->alloc[spc];
    *size = s->elemsize;
    finish_object(s, v, s->elemsize);
    maybe_profile(gort__mcache_nop, s, v, s->elemsize);
    gort__unlock(&gort__mcache_nop_lock);
    return v;
}

/* Go's mheap.reclaim: before a large object takes new pages, large spans
 * the last cycle left unswept are swept until npages pages have gone back
 * to the page heap, or none is left.  Nothing else sweeps them before the
 * next cycle starts (small spans are swept by the allocators of their
 * class): the dead large objects of a whole cycle stayed allocated beside
 * the goal, and a heap under a 32 MiB memory limit reached 56 MB. */
static void reclaim_large(uintptr_t npages) {
    uintptr_t freed = 0;
    for (int spc = 0; spc < 2 && freed < npages; spc++) {
        for (intptr_t n; freed < npages;) {
            /* Each span is a sweep loop of the trace's own (Go's
             * mheap.reclaim makes the whole loop one): gort__sweep_one
             * lets a stop of the world in between two spans. */
            gort__acquirem();
            GORT_TRACE(gort__trace_sweep_start());
            n = gort__sweep_one(spc);
            GORT_TRACE(gort__trace_sweep_done());
            gort__releasem();
            if (n < 0)
                break;
            freed += (uintptr_t)n;
        }
    }
}

static GORT_NOINLINE void *alloc_large(size_t size, bool noscan) {
    if (size > ((uintptr_t)1 << 46))
        gort__heap_oom(size);
    uintptr_t npages = (size + GORT__HEAP_PAGE - 1) >> GORT__HEAP_PAGE_SHIFT;
    uint8_t spc = noscan ? 1 : 0;
    /* The goroutine may resume on another P. */
    gort__gc_pace(npages << GORT__HEAP_PAGE_SHIFT);
    mcache *c = gort__mcache_get();
    bool nop = c == NULL;
    /* A thread without a P sweeps under the nop lock, which a cycle takes
     * once the world is stopped: no stop stops such a thread, and a
     * collection that started while it swept a span died of "a collection
     * marked while a span was being swept" (heap.plain_threads_paced_*). */
    if (nop)
        gort__lock(&gort__mcache_nop_lock);
    reclaim_large(npages);
    /* From the page heap to the mcentral's swept list, the span is on no
     * list: no collection meanwhile (the zeroing below included). */
    gort__acquirem();
    mspan *s = gort__mheap_alloc(npages, spc, npages * GORT__HEAP_PAGE, 1);
    /* Relaxed atomic: a concurrent marker may already see the span. */
    __atomic_store_n(&s->freeindex, 1, __ATOMIC_RELAXED);
    s->alloccount = 1;
    s->alloccache = 0;
    uintptr_t bytes = npages * GORT__HEAP_PAGE;
    atomic_fetch_add_explicit(&gort__gcstats.mallocs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&gort__gcstats.total_alloc, bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&gort__gcstats.heap_live, bytes, memory_order_relaxed);
    void *v = (void *)s->base;
    gort__heap_san_alloc(v, bytes);
    /* Only the pages that may hold old bytes: a large object that reuses
     * a few freed pages and takes the rest fresh from the OS cleared all of
     * it (1 GiB: 9 s of page faults, and all of it resident). */
    if (s->needzero && s->zerolo < size)
        memset((char *)v + s->zerolo, 0, (s->zerohi < size ? s->zerohi : size) - s->zerolo);
    if (atomic_load_explicit(&gort__gcstats.marking, memory_order_relaxed)) {
        gort__gc_mark_black(s, s->base);
        atomic_fetch_add_explicit(&gort__gcstats.black_bytes, bytes, memory_order_relaxed);
    }
    /* Before the span is on a list: until then no sweeper can claim it. */
    maybe_profile(nop ? gort__mcache_nop : c, s, s->base, bytes);
    gort__mcentral_put_swept(&gort__mheap->central[spc], s);
    gort__releasem();
    if (nop)
        gort__unlock(&gort__mcache_nop_lock);
    gort__gc_maybe_trigger_keep(v);
    /* A preemption point, as the small objects' refill: a goroutine that
     * allocates large objects in a loop runs in runtime code (the
     * zeroing, the page heap) nearly all its time. */
    gort__preempt_check(gort__getg());
    return v;
}

static inline void *mallocgc(size_t size, bool noscan) {
    ensure_init();
    if (GORT_UNLIKELY(size > GORT__MAX_SMALL_SIZE))
        return alloc_large(size, noscan);
    if (size == 0)
        size = 1; /* a distinct object for each call (Go returns &zerobase) */
    uint8_t spc = (uint8_t)(gort__size_to_class(size) << 1 | (noscan ? 1 : 0));
    mcache *c = gort__mcache_get();
    if (GORT_UNLIKELY(c == NULL)) {
        uintptr_t sz;
        gort__gc_pace(0);
        void *v = (void *)alloc_nop(spc, &sz);
        gort__gc_maybe_trigger_keep(v);
        return v;
    }
    uintptr_t v = cache_take(c, spc);
    bool refilled = false;
    if (GORT_UNLIKELY(v == 0)) {
        v = malloc_refill(spc);
        c = gort__mcache_get();
        refilled = true;
    }
    mspan *s = c->alloc[spc];
    finish_object(s, v, s->elemsize);
    maybe_profile(c, s, v, s->elemsize);
    if (GORT_UNLIKELY(refilled)) {
        gort__gc_maybe_trigger_keep((void *)v);
        /* A goroutine that only allocates still stops for a collection
         * another one started (Go's mallocgc is a preemption point too). */
        gort__preempt_check(gort__getg());
    }
    return (void *)v;
}

GORT_API void *gort_new(size_t size) {
    return mallocgc(size, false);
}

GORT_API void *gort_new_noscan(size_t size) {
    return mallocgc(size, true);
}

/* runtime.KeepAlive: the call itself is the use.  Not inlined, and the
 * pointer goes through an empty asm statement the compiler must assume
 * reads it, so p stays live (in a register or a scanned stack slot) up to
 * here. */
GORT_API GORT_NOINLINE void gort_keep_alive(const void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
}
