/*
 * mgcsweep.c - sweeping.  Mirrors runtime/mgcsweep.go (mspan.sweep,
 * finishsweep_m).
 *
 * After a mark, every span is unswept (mgc.c advanced sweepgen by 2).  A
 * span is swept once, by whoever claims it first (CAS of its sweepgen from
 * sg - 2 to sg - 1): an allocator that needs a span of its class
 * (mcentral.c), the collector finishing the previous cycle's sweep before
 * it stops the world, or gort_gc.  Sweeping a span makes its mark bits its
 * alloc bits (objects not marked are free from now on) and clears the mark
 * bits for the next cycle; a span left with no object goes back to the page
 * heap.
 */
#include <string.h>

#include "malloc.h"
#include "trace.h"

/* Tells the tools about the objects of s that were allocated and are not
 * marked: they are free now. */
static void san_freed(mspan *s) {
    uint32_t fi = s->freeindex;
    for (uint32_t w = 0; w < s->nwords; w++) {
        uint64_t was = s->allocbits[w];
        if (fi >= (w + 1) * 64)
            was = ~(uint64_t)0;
        else if (fi > w * 64)
            was |= ((uint64_t)1 << (fi - w * 64)) - 1;
        uint64_t freed = was & ~s->markbits[w];
        while (freed != 0) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(freed);
            freed &= freed - 1;
            if (i >= s->nelems)
                break;
            gort__heap_san_free((void *)(s->base + (uintptr_t)i * s->elemsize), s->elemsize);
        }
    }
}

bool gort__sweep_span(mspan *s, bool preserve) {
    uint32_t sg = atomic_load_explicit(&gort__mheap->sweepgen, memory_order_relaxed);
    uint32_t nalloc = 0;
    for (uint32_t w = 0; w < s->nwords; w++)
        nalloc += (uint32_t)__builtin_popcountll(s->markbits[w]);
    uint32_t nfreed = s->alloccount - nalloc;
    GORT_TRACE(gort__trace_sweep_span((uint64_t)s->npages * GORT__HEAP_PAGE,
                                      (uint64_t)nfreed * s->elemsize));
    /* Go's sweep frees the profile specials of dead objects first. */
    if (GORT_UNLIKELY(s->specials != NULL))
        gort__mprof_sweep(s);
    if (nfreed != 0 && gort__heap_san_active())
        san_freed(s);
    if (nfreed != 0) {
        atomic_fetch_add_explicit(&gort__gcstats.frees, nfreed, memory_order_relaxed);
        atomic_fetch_add_explicit(&gort__gcstats.freed_bytes, (uint64_t)nfreed * s->elemsize,
                                  memory_order_relaxed);
    }
    if (nalloc == 0 && !preserve) {
        /* Nothing left: the pages go back (mheap_free poisons them). */
        gort__mheap_free(s);
        return false;
    }
    uint64_t *t = s->allocbits;
    s->allocbits = s->markbits;
    s->markbits = t;
    san_ignore_begin(); /* the heap's metadata, ordered by its locks (san.h) */
    memset(s->markbits, 0, s->nwords * sizeof(uint64_t));
    san_ignore_end();
    s->alloccount = nalloc;
    __atomic_store_n(&s->freeindex, 0, __ATOMIC_RELAXED);
    gort__span_refill_alloccache(s, 0);
    if (nfreed != 0)
        s->needzero = true;
    /* A span claimed for sweeping is in a critical section (see
     * gort__acquirem): no cycle can have marked meanwhile. */
    GORT_CHECK(atomic_load_explicit(&gort__mheap->sweepgen, memory_order_relaxed) == sg,
               "sweep: a collection marked while a span was being swept");
    /* Release: whoever acquires the swept span (through a list lock or by
     * seeing sg) sees the swapped bitmaps. */
    atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
    return true;
}

intptr_t gort__sweep_one(int spc) {
    mheap *h = gort__mheap;
    /* One span at a time, from the claim to the swept list: see
     * gort__acquirem (a stop-the-world may come in between). */
    gort__acquirem();
    mspan *s = gort__mcentral_take_unswept(&h->central[spc]);
    intptr_t freed = s != NULL ? 0 : -1;
    if (s != NULL) {
        uintptr_t n = s->npages;
        if (gort__sweep_span(s, false))
            gort__mcentral_put_swept(&h->central[spc], s);
        else
            freed = (intptr_t)n;
    }
    gort__releasem();
    return freed;
}

void gort__sweep_all(void) {
    if (gort__mheap == NULL)
        return;
    for (int i = 0; i < GORT__NUM_SPANCLASSES; i++)
        while (gort__sweep_one(i) >= 0) {
        }
}
