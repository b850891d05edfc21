/*
 * mcache.c - per-P caches of spans.  Mirrors runtime/mcache.go.
 *
 * Each P owns one mcache holding, per span class, the span it allocates
 * from; only the goroutine running on that P touches it, so allocation
 * takes no lock (gort's goroutines are not preempted inside the allocator:
 * it makes no call that yields, and the preemption signal leaves runtime
 * code alone).  A stop-the-world may suspend a thread zeroing an object in
 * libc's memset, after the object was taken (the collector flushes the
 * cache meanwhile), but never inside refill, a critical section
 * (gort__acquirem).  When a span is full, refill gives it back
 * to its mcentral and takes one with room.  Slots of a cached span count as
 * allocated from the moment it is cached (Go's accounting: heapLive,
 * mallocs and total_alloc are bumped at refill; the slots still free are
 * taken back when the span is released).
 *
 * Threads that are not running goroutines (no P) share one more cache
 * under gort__mcache_nop_lock, which the collector holds while it works.
 */
#include <sys/mman.h>

#include "fault.h"
#include "lockrank.h"
#include "malloc.h"
#include "trace.h"

/* The span of an empty cache slot: no free object, so every allocation
 * from it takes the slow path (Go's emptymspan). */
mspan gort__emptyspan;

/* [owner P; the collector with the world stopped] */
_Atomic(mcache *) gort__mcaches[GORT_MAX_PROCS];
mcache *gort__mcache_nop;
gort__rtlock gort__mcache_nop_lock = GORT__RTLOCK_INIT(LOCKRANK_NOPCACHE);

static mcache *mcache_new(void) {
    mcache *c =
        gort__mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        gort__printf("runtime: cannot allocate an mcache\n");
        gort__throw("runtime: out of memory");
    }
    atomic_fetch_add_explicit(&gort__mheap->metasys, sizeof *c, memory_order_relaxed);
    for (int i = 0; i < GORT__NUM_SPANCLASSES; i++)
        c->alloc[i] = &gort__emptyspan;
    c->next_sample = gort__mprof_next_sample();
    return c;
}

mcache *gort__mcache_make(int id) {
    mcache *c = mcache_new();
    /* Release: the collector (world stopped, so ordered anyway) and a
     * later owner of this P on another thread see an initialised cache. */
    atomic_store_explicit(&gort__mcaches[id], c, memory_order_release);
    return c;
}

void gort__span_refill_alloccache(mspan *s, uint32_t word) {
    s->alloccache = word < s->nwords ? ~s->allocbits[word] : 0;
}

/* Go's nextFreeIndex: the index of the next free object at or after
 * freeindex, or nelems. */
static uint32_t next_free_index(mspan *s) {
    uint32_t sfreeindex = s->freeindex, snelems = s->nelems;
    if (sfreeindex == snelems)
        return snelems;
    uint64_t cache = s->alloccache;
    while (cache == 0) {
        sfreeindex = (sfreeindex + 64) & ~(uint32_t)63;
        if (sfreeindex >= snelems) {
            __atomic_store_n(&s->freeindex, snelems, __ATOMIC_RELAXED);
            return snelems;
        }
        gort__span_refill_alloccache(s, sfreeindex / 64);
        cache = s->alloccache;
    }
    uint32_t bit = (uint32_t)__builtin_ctzll(cache);
    uint32_t result = sfreeindex + bit;
    if (result >= snelems) {
        __atomic_store_n(&s->freeindex, snelems, __ATOMIC_RELAXED);
        return snelems;
    }
    s->alloccache = (cache >> bit) >> 1;
    sfreeindex = result + 1;
    if (sfreeindex % 64 == 0 && sfreeindex != snelems)
        gort__span_refill_alloccache(s, sfreeindex / 64);
    /* Relaxed atomic store: gort_set_finalizer and the collector read it
     * from other threads (their own ordering comes from elsewhere). */
    __atomic_store_n(&s->freeindex, sfreeindex, __ATOMIC_RELAXED);
    return result;
}

uintptr_t gort__span_nextfree(mspan *s) {
    uint32_t i = next_free_index(s);
    if (i == s->nelems)
        return 0;
    s->alloccount++;
    return s->base + (uintptr_t)i * s->elemsize;
}

/* Counts the slots of s still free as allocated (give: cached for this P,
 * Go's mcache refill) or, taking them back, as no longer allocated.
 * Wrapping unsigned arithmetic makes the take-back a subtraction. */
static void account_free_slots(mspan *s, bool give) {
    uint64_t n = s->nelems - s->alloccount;
    if (n == 0)
        return;
    uint64_t k = give ? n : -n, bytes = k * s->elemsize;
    atomic_fetch_add_explicit(&gort__gcstats.mallocs, k, memory_order_relaxed);
    atomic_fetch_add_explicit(&gort__gcstats.total_alloc, bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&gort__gcstats.heap_live, bytes, memory_order_relaxed);
    /* While marking, every slot handed out is allocated black. */
    if (atomic_load_explicit(&gort__gcstats.marking, memory_order_relaxed))
        atomic_fetch_add_explicit(&gort__gcstats.black_bytes, bytes, memory_order_relaxed);
}

void gort__mcache_refill(mcache *c, uint8_t spc) {
    mcentral *central = &gort__mheap->central[spc];
    mspan *s = c->alloc[spc];
    if (s != &gort__emptyspan) {
        account_free_slots(s, false);
        gort__mcentral_uncache(central, s);
    }
    c->alloc[spc] = &gort__emptyspan;
    /* The spans it sweeps to find one are the trace's sweep loop (Go's
     * mcentral.cacheSpan); the caller holds gort__acquirem. */
    GORT_TRACE(gort__trace_sweep_start());
    s = gort__mcentral_cache(central);
    GORT_TRACE(gort__trace_sweep_done());
    account_free_slots(s, true);
    c->alloc[spc] = s;
}

static void flush(mcache *c) {
    for (int i = 0; i < GORT__NUM_SPANCLASSES; i++) {
        mspan *s = c->alloc[i];
        if (s == &gort__emptyspan)
            continue;
        account_free_slots(s, false);
        gort__mcentral_uncache(&gort__mheap->central[i], s);
        c->alloc[i] = &gort__emptyspan;
    }
}

void gort__mcache_flush_all(void) {
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        mcache *c = atomic_load_explicit(&gort__mcaches[i], memory_order_acquire);
        if (c != NULL)
            flush(c);
    }
    if (gort__mcache_nop != NULL)
        flush(gort__mcache_nop);
}

/* gort_set_mem_profile_rate: every cache draws its next sample from the
 * new rate now (Go reads MemProfileRate on every allocation; here the rate
 * lives in next_sample).  Each P's cache is written by its owner only, so
 * the world is stopped meanwhile: the stop orders these writes with the
 * owners' next allocations.  Outside a running runtime no P allocates.
 * The nop cache is under its lock. */
void gort__mcache_reset_samples(void) {
    bool stw = gort__stop_the_world_if_running("memprofilerate");
    gort__lock(&gort__mcache_nop_lock);
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        /* Acquire: pairs with mcache_get's release of a new cache. */
        mcache *c = atomic_load_explicit(&gort__mcaches[i], memory_order_acquire);
        if (c != NULL)
            c->next_sample = gort__mprof_next_sample();
    }
    /* Not yet ready: the first allocation is making it, with the new rate. */
    if (gort__malloc_ready() && gort__mcache_nop != NULL)
        gort__mcache_nop->next_sample = gort__mprof_next_sample();
    gort__unlock(&gort__mcache_nop_lock);
    gort__start_the_world_if(stw);
}

/* The nop cache, made with the heap (malloc.c's init). */
void gort__mcache_init_nop(void) {
    gort__mcache_nop = mcache_new();
}
