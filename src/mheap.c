/*
 * mheap.c - the page heap.  Mirrors runtime/mheap.go, the page allocator of
 * mpagealloc.go and the scavenger's page-level work of mgcscavenge.go.
 *
 * The heap is one reservation of address space (PROT_NONE, up to 64 GiB,
 * less where the system refuses that much), committed read-write from the
 * bottom up in 64 MiB chunks as the heap grows (Go's arenas are reserved
 * and mapped the same way, in 64 MiB heapArenas).  Its 8 KiB pages are
 * tracked by two bitmaps: allocmap (the page belongs to a span) and scavmap
 * (the page is free and was returned to the OS, or was never touched:
 * it reads as zeros).  A span is the lowest run of free pages that fits
 * (Go's pageAlloc is first fit by address too, with a radix tree of
 * summaries over its bitmap; here a search hint, searchpage, below which no
 * page is free, keeps the common search short).
 *
 * Every page of an in-use span maps to its span in h->spans, so the
 * collector resolves any word to its object in constant time: spanof, then
 * (p - base) * divmagic >> 32.
 *
 * Span structures and their two bitmaps (Go's gcBits) are one block of
 * metadata, carved from chunks of their own and recycled through free
 * lists by bitmap size.  The lock is h->lock, a runtime lock held briefly
 * and never across a park.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "fault.h"
#include "lockrank.h"
#include "malloc.h"

mheap *gort__mheap;
static pthread_once_t heap_once = PTHREAD_ONCE_INIT;

#define PAGE GORT__HEAP_PAGE
#define SHIFT GORT__HEAP_PAGE_SHIFT
#define META_CHUNK ((uintptr_t)1 << 20)

_Noreturn void gort__heap_oom(uintptr_t bytes) {
    uint64_t inuse = gort__mheap ? atomic_load(&gort__mheap->inuse) : 0;
    gort__printf("runtime: out of memory: cannot allocate %llu-byte block (%llu in use)\n",
                 (unsigned long long)bytes, (unsigned long long)inuse);
    gort__throw("runtime: out of memory");
}

/* Metadata memory: anonymous, read-write, never in the arena. */
static void *meta_map(size_t n, bool noreserve) {
    void *p = gort__mmap(NULL, n, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0), -1, 0);
    if (p == MAP_FAILED)
        gort__heap_oom(n);
    gort__vma_name(p, n, "gort heap metadata");
    return p;
}

static void heap_init(void) {
    /* Reserve: as much as the system allows, 64 GiB down to 8 MiB.  Under
     * RLIMIT_AS a small heap beats none (the floor was 256 MiB: the first
     * gort_new of a process with 200 MiB to spare was fatal); running out
     * of it is the usual fatal error. */
    uintptr_t size = (uintptr_t)64 << 30, tried = size;
    void *base = MAP_FAILED;
    for (; size >= ((uintptr_t)8 << 20); size /= 2) {
        tried = size;
        base = gort__mmap(NULL, size + PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                          -1, 0);
        if (base != MAP_FAILED)
            break;
    }
    if (base == MAP_FAILED)
        gort__heap_oom(tried); /* the smallest reservation, not half of it */
    gort__vma_name(base, size + PAGE, "gort heap");
    mheap *h = meta_map(sizeof *h, false);
    /* The first page boundary strictly above base: at least 4 KiB of the
     * reservation stays below the arena, never used.  Whatever mapping
     * lies below ends at base at most, so a pointer just past its end (an
     * `end` kept in a scanned global, such as pprof.c's specialend) is not
     * the address of the heap's first object; were it, the conservative
     * scan would keep that object alive for as long as the pointer stays. */
    h->arena = ((uintptr_t)base + PAGE) & ~(PAGE - 1);
    h->arena_pages = size / PAGE;
    h->spans = meta_map(h->arena_pages * sizeof(mspan *), true);
    h->allocmap = meta_map(h->arena_pages / 8, true);
    h->scavmap = meta_map(h->arena_pages / 8, true);
    /* The page map and bitmaps are reserved, and become resident only
     * where the heap grows; counted here is what is always resident. */
    atomic_store_explicit(&h->metasys, sizeof *h, memory_order_relaxed);
    /* Go starts sweepgen at 0 too; spans made now are "swept" (== sg). */
    atomic_store_explicit(&h->sweepgen, 0, memory_order_relaxed);
    /* meta_map's memory is zeroed: the locks get their ranks here. */
    gort__lockinit(&h->lock, LOCKRANK_MHEAP);
    for (int i = 0; i < GORT__NUM_SPANCLASSES; i++) {
        gort__lockinit(&h->central[i].lock, LOCKRANK_MCENTRAL);
        h->central[i].spc = (uint8_t)i;
    }
    /* Published by pthread_once (its return orders these writes before
     * any caller's use of gort__mheap) and, for gort__mheap_made's readers,
     * by this release store. */
    __atomic_store_n(&gort__mheap, h, __ATOMIC_RELEASE);
}

void gort__mheap_init(void) {
    pthread_once(&heap_once, heap_init);
}

/* ------------------------------------------------------------------ bitmaps */

static inline bool bit_get(const uint64_t *m, uintptr_t i) {
    return m[i / 64] >> (i % 64) & 1;
}

/* First index in [from, limit) whose bit is (set ? 1 : 0), or limit. */
static uintptr_t bit_next(const uint64_t *m, uintptr_t from, uintptr_t limit, bool set) {
    uintptr_t i = from;
    while (i < limit) {
        uint64_t w = m[i / 64];
        if (!set)
            w = ~w;
        w &= ~(uint64_t)0 << (i % 64);
        if (w != 0) {
            uintptr_t r = (i & ~(uintptr_t)63) + (uintptr_t)__builtin_ctzll(w);
            return r < limit ? r : limit;
        }
        i = (i & ~(uintptr_t)63) + 64;
    }
    return limit;
}

static void bits_set(uint64_t *m, uintptr_t i, uintptr_t n, bool set) {
    for (uintptr_t end = i + n; i < end;) {
        if (i % 64 == 0 && end - i >= 64) {
            m[i / 64] = set ? ~(uint64_t)0 : 0;
            i += 64;
            continue;
        }
        if (set)
            m[i / 64] |= (uint64_t)1 << (i % 64);
        else
            m[i / 64] &= ~((uint64_t)1 << (i % 64));
        i++;
    }
}

static uintptr_t bits_count(const uint64_t *m, uintptr_t i, uintptr_t n) {
    uintptr_t c = 0;
    for (uintptr_t end = i + n; i < end;) {
        if (i % 64 == 0 && end - i >= 64) {
            c += (uintptr_t)__builtin_popcountll(m[i / 64]);
            i += 64;
            continue;
        }
        c += bit_get(m, i);
        i++;
    }
    return c;
}

/* ------------------------------------------------------------------ pages */

/* The lowest run of n free pages below `used`, or UINTPTR_MAX.  h->lock. */
static uintptr_t find_run(mheap *h, uintptr_t n) {
    uintptr_t used = atomic_load_explicit(&h->used, memory_order_relaxed);
    uintptr_t i = bit_next(h->allocmap, h->searchpage, used, false);
    h->searchpage = i; /* every page below the first free one is in use */
    while (i < used) {
        uintptr_t j = bit_next(h->allocmap, i, i + n < used ? i + n : used, true);
        if (j - i >= n)
            return i;
        i = bit_next(h->allocmap, j, used, false);
    }
    return UINTPTR_MAX;
}

/* Commits at least n more pages.  h->lock. */
static void grow(mheap *h, uintptr_t n) {
    uintptr_t used = atomic_load_explicit(&h->used, memory_order_relaxed);
    uintptr_t chunk = GORT__HEAP_CHUNK / PAGE;
    uintptr_t want = (used + n + chunk - 1) / chunk * chunk;
    if (want > h->arena_pages)
        want = h->arena_pages;
    if (want < used + n) {
        gort__unlock(&h->lock);
        gort__heap_oom(n * PAGE);
    }
    if (mprotect((void *)(h->arena + used * PAGE), (want - used) * PAGE, PROT_READ | PROT_WRITE) !=
        0) {
        gort__unlock(&h->lock);
        gort__heap_oom(n * PAGE);
    }
    /* New memory for the race detector: whatever its mapping left in TSan's
     * shadow is no access of the objects it will hold. */
    san_forget((void *)(h->arena + used * PAGE), (want - used) * PAGE);
    /* Fresh pages read as zeros and are not resident: "scavenged" (Go counts
     * a grown heap as released too, until it is used). */
    bits_set(h->scavmap, used, want - used, true);
    atomic_fetch_add_explicit(&h->released, (uint64_t)(want - used) * PAGE, memory_order_relaxed);
    /* Not write-protected even while a collection tracks writes: free
     * pages need no tracking (mgc.c track_writes). */
    /* Relaxed: readers of used (spanof) only look at pages of spans they
     * got pointers into, which were published after this store under the
     * lock or through the collector's stop-the-world. */
    atomic_store_explicit(&h->used, want, memory_order_relaxed);
}

size_t gort__mheap_inuse_runs(uintptr_t mingap, uintptr_t (*runs)[2], size_t max) {
    mheap *h = gort__mheap;
    size_t n = 0;
    gort__lock(&h->lock);
    uintptr_t used = atomic_load_explicit(&h->used, memory_order_relaxed);
    for (uintptr_t i = 0; n < max;) {
        uintptr_t lo = bit_next(h->allocmap, i, used, true);
        if (lo == used)
            break;
        uintptr_t hi = bit_next(h->allocmap, lo, used, false);
        while (hi < used) {
            uintptr_t next = bit_next(h->allocmap, hi, used, true);
            if (next == used || next - hi >= mingap)
                break;
            hi = bit_next(h->allocmap, next, used, false);
        }
        if (n == max - 1)
            hi = used;
        runs[n][0] = lo;
        runs[n][1] = hi;
        n++;
        i = hi;
    }
    gort__unlock(&h->lock);
    return n;
}

/* A span struct with bitmaps of nwords words each.  h->lock. */
static mspan *span_struct(mheap *h, uint16_t nwords) {
    mspan *s = h->freestructs[nwords];
    if (s != NULL) {
        h->freestructs[nwords] = s->next;
        return s;
    }
    size_t sz = (sizeof(mspan) + 2u * nwords * sizeof(uint64_t) + 63) & ~(size_t)63;
    if (h->metapos + sz > h->metaend) {
        h->metapos = (uintptr_t)meta_map(META_CHUNK, false);
        h->metaend = h->metapos + META_CHUNK;
        atomic_fetch_add_explicit(&h->metasys, META_CHUNK, memory_order_relaxed);
    }
    s = (mspan *)h->metapos;
    h->metapos += sz;
    s->nwords = nwords;
    return s;
}

mspan *gort__mheap_alloc(uintptr_t npages, uint8_t spc, uintptr_t elemsize, uint32_t nelems) {
    mheap *h = gort__mheap;
    if (npages == 0 || npages > h->arena_pages)
        gort__heap_oom(npages * PAGE);
    uint16_t nwords = (uint16_t)((nelems + 63) / 64);
    gort__lock(&h->lock);
    uintptr_t i = find_run(h, npages);
    if (i == UINTPTR_MAX) {
        grow(h, npages);
        i = find_run(h, npages);
        if (i == UINTPTR_MAX) {
            gort__unlock(&h->lock);
            gort__heap_oom(npages * PAGE);
        }
    }
    bits_set(h->allocmap, i, npages, true);
    uintptr_t nscav = bits_count(h->scavmap, i, npages);
    /* The pages that may hold old bytes (not scavenged): from the first
     * to the last of them, for a large object's zeroing.  Only a run that
     * mixes both kinds needs the scan: with none scavenged it is the whole
     * run, and with all of them needzero is false below. */
    uintptr_t zlo = i, zhi = i + npages;
    if (nscav != 0 && nscav != npages) {
        zlo = zhi = bit_next(h->scavmap, i, i + npages, false);
        for (uintptr_t k = zlo; k < i + npages;) {
            zhi = bit_next(h->scavmap, k, i + npages, true);
            k = bit_next(h->scavmap, zhi, i + npages, false);
        }
    }
    if (nscav != 0) {
        bits_set(h->scavmap, i, npages, false);
        atomic_fetch_sub_explicit(&h->released, (uint64_t)nscav * PAGE, memory_order_relaxed);
    }
    mspan *s = span_struct(h, nwords);
    s->next = NULL;
    s->base = h->arena + i * PAGE;
    s->npages = npages;
    s->elemsize = elemsize;
    s->nelems = nelems;
    s->limit = s->base + (uintptr_t)nelems * elemsize;
    s->divmagic = nelems > 1 ? (uint32_t)(UINT32_MAX / elemsize + 1) : 0;
    s->spc = spc;
    s->state = MS_INUSE;
    s->needzero = nscav != npages;
    s->zerolo = (zlo - i) * PAGE;
    s->zerohi = (zhi - i) * PAGE;
    s->freeindex = 0;
    s->alloccount = 0;
    s->alloccache = ~(uint64_t)0;
    s->allocbits = s->bits;
    s->markbits = s->bits + nwords;
    s->specials = NULL;
    san_ignore_begin(); /* the heap's metadata, ordered by its locks (san.h) */
    memset(s->bits, 0, 2u * nwords * sizeof(uint64_t));
    san_ignore_end();
    atomic_store_explicit(&s->sweepgen, atomic_load_explicit(&h->sweepgen, memory_order_relaxed),
                          memory_order_relaxed);
    /* Release: a concurrent marker that loads the entry (acquire) sees the
     * span initialised; spanof on a pointer the caller got from an
     * allocation is ordered by that allocation's own synchronisation. */
    for (uintptr_t k = 0; k < npages; k++)
        atomic_store_explicit(&h->spans[i + k], s, memory_order_release);
    atomic_fetch_add_explicit(&h->inuse, (uint64_t)npages * PAGE, memory_order_relaxed);
    gort__unlock(&h->lock);
    return s;
}

void gort__mheap_free(mspan *s) {
    mheap *h = gort__mheap;
    uintptr_t i = (s->base - h->arena) / PAGE;
    uintptr_t n = s->npages;
    GORT_CHECK(s->specials == NULL, "mheap_free: span has profile specials");
#ifdef GORT_ASAN
    ASAN_POISON_MEMORY_REGION((void *)s->base, n * PAGE);
#endif
    gort__lock(&h->lock);
    for (uintptr_t k = 0; k < n; k++)
        atomic_store_explicit(&h->spans[i + k], NULL, memory_order_relaxed);
    bits_set(h->allocmap, i, n, false);
    if (i < h->searchpage)
        h->searchpage = i;
    atomic_fetch_sub_explicit(&h->inuse, (uint64_t)n * PAGE, memory_order_relaxed);
    s->state = MS_FREE;
    s->next = h->freestructs[s->nwords];
    h->freestructs[s->nwords] = s;
    gort__unlock(&h->lock);
}

/* ------------------------------------------------------------------ scavenger */

uint64_t gort__mheap_scavenge(uint64_t retain, uint64_t max) {
    mheap *h = gort__mheap;
    if (h == NULL)
        return 0;
    uint64_t done = 0;
    gort__lock(&h->lock);
    uintptr_t used = atomic_load_explicit(&h->used, memory_order_relaxed);
    uint64_t sys = (uint64_t)used * PAGE;
    /* From the top down (Go's scavenger also works from the highest
     * addresses, where the allocator, first fit from the bottom, is least
     * likely to want pages again soon). */
    uintptr_t i = used;
    while (i > 0) {
        uint64_t retained = sys - atomic_load_explicit(&h->released, memory_order_relaxed);
        if (retained <= retain || (max != 0 && done >= max))
            break;
        i--;
        if (bit_get(h->allocmap, i) || bit_get(h->scavmap, i))
            continue;
        /* A run of free, unscavenged pages ending at i. */
        uintptr_t lo = i;
        uint64_t want = retained - retain;
        while (lo > 0 && !bit_get(h->allocmap, lo - 1) && !bit_get(h->scavmap, lo - 1) &&
               (uint64_t)(i + 1 - lo) * PAGE < want &&
               (max == 0 || done + (i + 1 - lo) * PAGE < max))
            lo--;
        uintptr_t n = i + 1 - lo;
        /* MADV_DONTNEED: the pages read as zeros afterwards, which is what
         * the scavmap bit promises.  The pages are free: nobody reads them. */
        if (madvise((void *)(h->arena + lo * PAGE), n * PAGE, MADV_DONTNEED) == 0) {
            bits_set(h->scavmap, lo, n, true);
            atomic_fetch_add_explicit(&h->released, (uint64_t)n * PAGE, memory_order_relaxed);
            done += (uint64_t)n * PAGE;
        }
        i = lo;
    }
    gort__unlock(&h->lock);
    return done;
}
