/*
 * mgcmark.c - marking.  Mirrors runtime/mgcmark.go (markroot, scanblock,
 * scanobject, greyobject, gcDrain), conservatively: C has no pointer maps,
 * so every aligned word of a root or of a scanned object that points into
 * an allocated object (anywhere inside it: interior pointers count, as in
 * Go) keeps that object alive.  Objects from gort_new_noscan are marked but
 * never scanned.
 *
 * Roots (the world is stopped):
 *   - the writable PT_LOAD segments (data, bss) of the executable and of
 *     every loaded shared object (dl_iterate_phdr), but for pages the
 *     program made unreadable (scan_readable) and the sanitizers' runtimes
 *     (sanitizer_runtime);
 *   - the stack of the goroutine (or thread) running the collection, from
 *     its sp (registers saved just below, see mgc.c gc_run) to its top;
 *   - every other goroutine's stack from its saved stack pointer to its
 *     top (the switch pushed its callee-saved registers there); a goroutine
 *     interrupted while running (gort__stw_interrupted_regs) from its sp,
 *     plus its saved registers; one in a blocking call (gort_syscall_enter)
 *     keeps running, so its whole stack is scanned, with the callee-saved
 *     registers its caller had at gort_syscall_enter (g->sysregs);
 *   - what the runtime keeps for goroutines: start arguments (g->arg),
 *     deferred calls' arguments;
 *   - registered roots, channel buffers and blocked senders' elements
 *     (mgc.c), after-func arguments (registered by time.c);
 *   - objects with finalizers (their contents) and queued finalizers
 *     (mfinal.c).
 * Not scanned: memory from malloc/mmap (unless registered), thread-local
 * storage, and the stacks of threads that are not running goroutines.
 *
 * The grey set is the collector's stack of (base, size) pairs in memory of
 * its own, and a pool of blocks of them that it shares with mark assists:
 * goroutines that allocate while the collector marks concurrently scan
 * some grey objects in proportion (gort__gc_assist; the pace is mgc.c's
 * gort__gc_pace).  Mark bits are set with an atomic or, by whoever greys
 * the object first, which then scans it.  With the world stopped, a
 * helper thread shares the scan of the goroutines' stacks (stw_stacks).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fault.h"
#include "lockrank.h"
#include "malloc.h"
#include "panic.h"
#include "trace.h"

uint64_t gort__gc_scanned_stacks, gort__gc_scanned_globals, gort__gc_marked_bytes;
uint64_t gort__gc_scan_work;

typedef struct wentry {
    uintptr_t base, size;
} wentry;

/* Grey objects shared between markers (Go's work.full and work.empty):
 * blocks of WBLOCK entries in memory of their own (never scanned), full
 * or partly full ones on wfull, spare ones on wempty.  The collector
 * hands a block of its own stack over when the pool is empty and it has
 * plenty (balance); mark assists (gort__gc_assist) take blocks from here
 * and put back what their scanning greys.  A block moves between lists
 * under wlock, whose release orders the entries written into it before
 * the next owner's reads. */
enum { WBLOCK = 256 };
typedef struct wblock {
    struct wblock *next;
    uint32_t n;
    wentry e[WBLOCK];
} wblock;
static gort__rtlock wlock = GORT__RTLOCK_INIT(LOCKRANK_GCWORK);
static wblock *wfull, *wempty; /* [wlock] */
/* Blocks on wfull: [wlock] for writes, read without it as a hint. */
static _Atomic uint32_t nfull;
/* An assist found the pool empty since the collector last fed it:
 * [atomic], relaxed (a hint). */
static _Atomic bool pool_hungry;

/* The collector's scan work not yet claimed by assists (Go's bgScanCredit):
 * [atomic], relaxed (a pace; it may dip below zero when two assists take
 * the same credit, as Go's may). */
static _Atomic int64_t bg_credit;

/* Assists waiting for credit (Go's work.assistQueue), in order, each with
 * the debt it still has: [aqlock].  aq_open: goroutines may still join
 * (the collector has work left that will pay them). */
typedef struct assistwait {
    struct g *gp;
    int64_t debt;
    struct assistwait *next;
} assistwait;
static gort__rtlock aqlock = GORT__RTLOCK_INIT(LOCKRANK_ASSISTQ);
static assistwait *aq_head, *aq_tail; /* [aqlock] */
static bool aq_open;                  /* [aqlock] */
static _Atomic uint32_t aq_len;       /* [aqlock] for writes; read without it as a hint */
/* Assists holding a block, which they will put back (its greys, and what
 * scanning them greyed): [wlock].  The collector's drain is finished only
 * when the pool is empty and no assist holds one. */
static uint32_t nassist;
/* Bytes greyed by assists (their part of gort__gc_marked_bytes) and, for
 * the assists' pacing, by the collector so far: [atomic], relaxed (the
 * collector reads the first with the world stopped; the second is only a
 * pace). */
static _Atomic uint64_t assist_marked, collector_marked;

/* A marker's grey stack: the collector's (blk NULL) grows in memory of
 * its own; an assist's is the pool block it holds.  The entries are
 * [head, len): the collector pops from the top and hands the bottom
 * (in a depth-first mark, the largest subtrees) to the pool. */
typedef struct gcwork {
    wentry *buf;
    size_t head, len, cap;
    uint64_t marked; /* bytes greyed */
    wblock *blk;
} gcwork;

/* The collector's: [collector only].  Its marked bytes and the assists'
 * make gort__gc_marked_bytes at mark termination. */
static gcwork cw;

static wblock *wblock_new(void) {
    enum { CHUNK = 64 };
    wblock *b = gort__mmap(NULL, CHUNK * sizeof(wblock), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) {
        gort__printf("runtime: cannot allocate mark work buffers\n");
        gort__throw("runtime: out of memory");
    }
    /* All but the first go to the spare list; wlock held. */
    for (int i = 1; i < CHUNK; i++) {
        b[i].next = wempty;
        wempty = &b[i];
    }
    return b;
}

/* A spare block; wlock held. */
static wblock *wblock_get(void) {
    wblock *b = wempty;
    if (b == NULL)
        return wblock_new();
    wempty = b->next;
    b->n = 0;
    return b;
}

/* b onto the full list (or the spare one if it is empty); wlock held. */
static void wblock_put(wblock *b) {
    if (b->n == 0) {
        b->next = wempty;
        wempty = b;
        return;
    }
    b->next = wfull;
    wfull = b;
    atomic_store_explicit(&nfull, atomic_load_explicit(&nfull, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* A full block, or NULL; wlock held. */
static wblock *wblock_take(void) {
    wblock *b = wfull;
    if (b == NULL)
        return NULL;
    wfull = b->next;
    atomic_store_explicit(&nfull, atomic_load_explicit(&nfull, memory_order_relaxed) - 1,
                          memory_order_relaxed);
    return b;
}

static GORT_NOINLINE void wgrow(gcwork *w) {
    if (w->blk != NULL) {
        /* An assist's block is full: it goes to the pool, and the assist
         * goes on with a spare one. */
        gort__lock(&wlock);
        w->blk->n = (uint32_t)w->len;
        wblock_put(w->blk);
        w->blk = wblock_get();
        gort__unlock(&wlock);
        w->buf = w->blk->e;
        w->len = 0;
        return;
    }
    size_t ncap = w->cap ? w->cap * 2 : 65536;
    void *n = gort__mmap(NULL, ncap * sizeof(wentry), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (n == MAP_FAILED) {
        gort__printf("runtime: cannot grow the mark stack to %zu entries\n", ncap);
        gort__throw("runtime: out of memory");
    }
    if (w->buf != NULL) {
        san_ignore_begin(); /* the collector's own buffers (san.h) */
        memcpy(n, w->buf, w->len * sizeof(wentry));
        san_ignore_end();
        munmap(w->buf, w->cap * sizeof(wentry));
    }
    w->buf = n;
    w->cap = ncap;
}

static inline __attribute__((always_inline)) void wpush(gcwork *w, uintptr_t base, uintptr_t size) {
    if (GORT_UNLIKELY(w->len == w->cap))
        wgrow(w);
    w->buf[w->len++] = (wentry){base, size};
}

/* Go's greyobject for object i of the in-use span s. */
static inline __attribute__((always_inline)) void grey_at(gcwork *w, mspan *s, uint32_t i) {
    if (gort__span_isfree(s, i))
        return;
    _Atomic uint64_t *mw = (_Atomic uint64_t *)&s->markbits[i / 64];
    uint64_t bit = (uint64_t)1 << (i % 64);
    /* Relaxed: allocators marking black (concurrent mode) and assists set
     * bits of the same words with fetch_or, and whoever sets a bit pushes
     * the object; the bits are read after the final stop, which orders
     * everything. */
    if (atomic_load_explicit(mw, memory_order_relaxed) & bit)
        return;
    if (atomic_fetch_or_explicit(mw, bit, memory_order_relaxed) & bit)
        return;
    w->marked += s->elemsize;
    if (!(s->spc & 1))
        wpush(w, s->base + (uintptr_t)i * s->elemsize, s->elemsize);
}

/* The index of the object that p, inside the in-use span s, points into;
 * false for the span's tail, past its last object. */
static inline bool objindex(const mspan *s, uintptr_t p, uint32_t *i) {
    if (p >= s->limit)
        return false;
    *i = s->nelems > 1 ? gort__span_objindex(s, p) : 0;
    return true;
}

/* p points into the in-use span s. */
static inline __attribute__((always_inline)) void grey(gcwork *w, mspan *s, uintptr_t p) {
    /* Not objindex: a local whose address is taken, inlined into the
     * uninstrumented scanners, still gets GCC's use-after-scope poisoning
     * there, and no epilogue of theirs clears it: a later frame at the
     * same place (the drain's FIFO) read as out of scope. */
    if (p < s->limit)
        grey_at(w, s, s->nelems > 1 ? gort__span_objindex(s, p) : 0);
}

/* The candidates' pipeline (for stacks: scanroot).  A word that points into
 * the arena costs up to four cold loads before its mark bit is known (its
 * entry of the span map, the span's two header lines, its allocation and
 * mark bits), and thousands of stacks point all over the heap: done one
 * candidate at a time, marking waits on memory.  So a candidate goes
 * through stages PD candidates apart, each stage prefetching what the
 * next needs: B loads its span (and prefetches the span), C computes its
 * index (and prefetches its bits), D greys it.  The ring holds at most
 * 3 * PD + 1 candidates; pflush completes every stage of every candidate
 * in order (callers flush before they look at the mark stack's end:
 * gort__gc_drain). */
enum { PD = 8, PR = 32 };
typedef struct pent {
    uintptr_t v;
    mspan *s;
    uint32_t i;
} pent;
/* A stack scanner: its pipeline, the grey stack its stage D pushes to,
 * and the stack bytes it read.  The collector's is cm; the final pause's
 * helper thread has hm (stw_stacks).  Each is used by one thread at a time:
 * cm by the collector, hm by the helper between its job's start and its
 * end, which the job's handshake orders. */
typedef struct marker {
    gcwork *w;
    pent ring[PR];
    uint64_t push, nb, nc, nd;
    uint64_t stack_bytes;
} marker;
static marker cm = {.w = &cw};

GORT_NOSAN_SCAN static inline __attribute__((always_inline)) void pstage_b(pent *e) {
    mspan *s = gort__spanof(e->v);
    e->s = s;
    if (s != NULL) {
        __builtin_prefetch(s);
        __builtin_prefetch((const char *)s + 64);
    }
}

GORT_NOSAN_SCAN static inline __attribute__((always_inline)) void pstage_c(pent *e) {
    mspan *s = e->s;
    if (s == NULL)
        return;
    if (!objindex(s, e->v, &e->i)) {
        e->s = NULL;
        return;
    }
    __builtin_prefetch(&s->markbits[e->i / 64]);
    __builtin_prefetch(&s->allocbits[e->i / 64]);
}

/* The entry is cleared once done: the ring is in the library's .bss, which
 * the collector scans as a root, and a stale candidate there would keep
 * its object alive. */
GORT_NOSAN_SCAN static inline __attribute__((always_inline)) void pstage_d(gcwork *w, pent *e) {
    if (e->s != NULL)
        grey_at(w, e->s, e->i);
    e->v = 0;
    e->s = NULL;
}

GORT_NOSAN_SCAN static inline __attribute__((always_inline)) void ppush1(marker *m, uintptr_t v) {
    pent *e = &m->ring[m->push % PR];
    mheap *h = gort__mheap;
    e->v = v;
    __builtin_prefetch(&h->spans[(v - h->arena) >> GORT__HEAP_PAGE_SHIFT]);
    m->push++;
    if (m->push - m->nb > PD)
        pstage_b(&m->ring[m->nb++ % PR]);
    if (m->nb - m->nc > PD)
        pstage_c(&m->ring[m->nc++ % PR]);
    if (m->nc - m->nd > PD)
        pstage_d(m->w, &m->ring[m->nd++ % PR]);
}

GORT_NOSAN_SCAN static GORT_NOINLINE void pflush(marker *m) {
    while (m->nb < m->push)
        pstage_b(&m->ring[m->nb++ % PR]);
    while (m->nc < m->push)
        pstage_c(&m->ring[m->nc++ % PR]);
    while (m->nd < m->push)
        pstage_d(m->w, &m->ring[m->nd++ % PR]);
}

/* Go's scanblock, conservative: every aligned word in [lo, hi).  vg: under
 * Valgrind; pipe: through the candidates' pipeline (stacks: thousands of
 * goroutines' stacks point all over the heap) or greyed at once (heap
 * objects and globals: what they point to was mostly allocated together,
 * and is in cache; through the pipeline alloc_small's ring of 100,000
 * global slots cost 10% more per allocation).  Both
 * are constants in each call, so each variant is a loop of its own and
 * the native ones have no client request. */
GORT_NOSAN_SCAN static inline __attribute__((always_inline)) void
scanwords(gcwork *w, marker *m, uintptr_t lo, uintptr_t hi, bool vg, bool pipe) {
    mheap *h = gort__mheap;
    uintptr_t arena = h->arena;
    uintptr_t limit = atomic_load_explicit(&h->used, memory_order_relaxed) << GORT__HEAP_PAGE_SHIFT;
    _Atomic(mspan *) *spans = h->spans;
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    for (uintptr_t a = lo; a + sizeof(uintptr_t) <= hi; a += sizeof(uintptr_t)) {
        uintptr_t v = *(const volatile uintptr_t *)a;
#ifdef GORT_HAVE_MEMCHECK
        /* Stack slots and padding may be undefined to Valgrind: a guess at
         * a pointer is not a use of the value. */
        if (vg)
            VALGRIND_MAKE_MEM_DEFINED(&v, sizeof v);
#else
        (void)vg;
#endif
        uintptr_t off = v - arena;
        if (off >= limit)
            continue;
        if (pipe) {
            ppush1(m, v);
            continue;
        }
        /* Acquire: pairs with mheap_alloc's release (concurrent marking). */
        mspan *s = atomic_load_explicit(&spans[off >> GORT__HEAP_PAGE_SHIFT], memory_order_acquire);
        if (s != NULL)
            grey(w, s, v);
    }
}

GORT_NOSAN_SCAN static void scanblock(gcwork *w, uintptr_t lo, uintptr_t hi) {
    if (GORT__ON_VALGRIND())
        scanwords(w, NULL, lo, hi, true, false);
    else
        scanwords(w, NULL, lo, hi, false, false);
}

/* Go's oblets (scanobject's maxObletBytes): an object larger than OBLET
 * is scanned OBLET bytes at a time, the rest pushed back onto w as an
 * entry of its own.  So no marker takes on a large object whole: an
 * assist's work stays near its debt (it scanned a 1 GiB object in one
 * allocation), and the collector and the assists look for a stop of the
 * world, and the collector yields, between oblets.  Returns the bytes
 * scanned. */
enum { OBLET = 128 << 10 };
GORT_NOSAN_SCAN static uintptr_t scan_entry(gcwork *w, wentry e) {
    if (e.size > OBLET) {
        wpush(w, e.base + OBLET, e.size - OBLET);
        e.size = OBLET;
    }
    scanblock(w, e.base, e.base + e.size);
    return e.size;
}

void gort__gc_scan_steps(uintptr_t base, uintptr_t size, uint64_t *steps, uint64_t *largest) {
    gcwork w = {0};
    *steps = *largest = 0;
    wpush(&w, base, size);
    while (w.len > 0) {
        uintptr_t n = scan_entry(&w, w.buf[--w.len]);
        ++*steps;
        if (n > *largest)
            *largest = n;
    }
    munmap(w.buf, w.cap * sizeof(wentry));
}

/* A stack (or a goroutine's saved registers): through m's pipeline
 * (flushed by pflush: the collector's by the next gort__gc_drain). */
GORT_NOSAN_SCAN static void scanroot(marker *m, uintptr_t lo, uintptr_t hi) {
    if (GORT__ON_VALGRIND())
        scanwords(m->w, m, lo, hi, true, true);
    else
        scanwords(m->w, m, lo, hi, false, true);
}

void gort__gc_mark_range(uintptr_t lo, uintptr_t hi) {
    if (lo < hi)
        scanblock(&cw, lo, hi);
}

/* p, if it points into an object, greyed onto w. */
static void grey_ptr(gcwork *w, uintptr_t p) {
    mspan *s = gort__spanof(p);
    if (s != NULL)
        grey(w, s, p);
}

void gort__gc_mark_ptr(uintptr_t p) {
    grey_ptr(&cw, p);
}

/* Set while marking runs concurrently with the goroutines.  With more
 * than one P the marking goroutine is a dedicated worker (Go's
 * gcMarkWorkerDedicatedMode) and never yields; with GOMAXPROCS=1 it yields
 * every DRAIN_SLICE_NS or so, so that the others run (Go's fractional
 * worker). */
static bool drain_yields;
#define DRAIN_SLICE_NS (10 * 1000 * 1000)

/* The collector's stack is empty: refills it with a block from the pool.
 * False when the pool is empty and no assist holds a block (marking is
 * done for now); while an assist holds one, waits for it to put back what
 * it greys. */
static bool drain_refill(void) {
    for (;;) {
        gort__lock(&wlock);
        wblock *b = wblock_take();
        uint32_t busy = nassist;
        if (b != NULL) {
            if (cw.cap < WBLOCK)
                wgrow(&cw);
            san_ignore_begin(); /* the collector's own buffers (san.h) */
            memcpy(cw.buf, b->e, b->n * sizeof(wentry));
            san_ignore_end();
            cw.head = 0;
            cw.len = b->n;
            b->n = 0;
            wblock_put(b);
        }
        gort__unlock(&wlock);
        if (b != NULL)
            return true;
        if (busy == 0)
            return false;
        /* An assist scans a bounded amount on a thread that holds its P:
         * it puts its block back soon. */
        sched_yield();
    }
}

/* Go's gcWork.balance: an assist found the pool empty (or waits for
 * credit) and the collector has work to spare, so up to WBLOCK entries
 * from the bottom of its stack go to the pool.  Not otherwise: a block
 * nobody takes comes back to the collector, a lock and two copies for
 * nothing (alloc_small's marks, with no assist, took 10% longer). */
static void drain_balance(void) {
    size_t have = cw.len - cw.head;
    if (have < 8 || atomic_load_explicit(&nfull, memory_order_relaxed) >= 2 ||
        (!atomic_load_explicit(&pool_hungry, memory_order_relaxed) &&
         atomic_load_explicit(&aq_len, memory_order_relaxed) == 0))
        return;
    atomic_store_explicit(&pool_hungry, false, memory_order_relaxed);
    size_t k = have / 2 < WBLOCK ? have / 2 : WBLOCK;
    gort__lock(&wlock);
    wblock *b = wblock_get();
    san_ignore_begin(); /* the collector's own buffers (san.h) */
    memcpy(b->e, cw.buf + cw.head, k * sizeof(wentry));
    san_ignore_end();
    b->n = (uint32_t)k;
    wblock_put(b);
    gort__unlock(&wlock);
    cw.head += k;
}

static void flush_credit(int64_t work);

/* The collector's progress, for the assists' pace, and its work since
 * the last flush, as their credit. */
/* [collector only]: bytes of written pages rescanned in this cycle's
 * concurrent rounds; the collector's scan work (these and cw.marked) at
 * its last flush. */
static uint64_t rescan_total, credit_flushed;

static void drain_flush(void) {
    uint64_t work = cw.marked + rescan_total;
    atomic_store_explicit(&collector_marked, work, memory_order_relaxed);
    flush_credit((int64_t)(work - credit_flushed));
    credit_flushed = work;
}

void gort__gc_drain(void) {
    uint32_t n = 0;
    int64_t last = 0;
    bool yields = drain_yields && gort_gomaxprocs(0) == 1;
    if (yields)
        last = gort_nanotime();
    /* The grey objects are scattered and loading them is most of the
     * mark: each popped object is prefetched and goes through a small FIFO,
     * so that it is scanned PF pops later, once its memory has arrived. */
    enum { PF = 8 };
    wentry fifo[PF];
    uint32_t fhead = 0, flen = 0;
    for (;;) {
        if (cw.len == cw.head && flen == 0) {
            cw.len = cw.head = 0;
            pflush(&cm); /* its greys may push more */
            if (cw.len == 0 && !drain_refill())
                break;
        }
        wentry e;
        if (cw.len > cw.head) {
            wentry x = cw.buf[--cw.len];
            __builtin_prefetch((const void *)x.base);
            if (flen < PF) {
                fifo[(fhead + flen++) % PF] = x;
                continue;
            }
            e = fifo[fhead];
            fifo[fhead] = x;
        } else {
            e = fifo[fhead];
            flen--;
        }
        fhead = (fhead + 1) % PF;
        /* Every 256 objects, and after each oblet (a large object's
         * 128 KiB), the credit and the pool; every 1024, and after each
         * oblet, a stop or a yield. */
        bool oblet = scan_entry(&cw, e) == OBLET;
        if (!drain_yields || (++n % 256 != 0 && !oblet))
            continue;
        drain_flush();
        drain_balance();
        if (n % 1024 != 0 && !oblet)
            continue;
        if (yields && gort_nanotime() - last > DRAIN_SLICE_NS) {
            gort_yield();
            last = gort_nanotime();
        } else if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed)) {
            /* Someone stops the world (GOMAXPROCS, a dump): stop for it
             * (relaxed: a late look only delays the stop by 1024 objects). */
            gort__preempt_check(gort__getg());
        }
    }
    if (drain_yields)
        drain_flush();
}

/* Go's gcAssistAlloc, its scanning: up to work bytes of grey objects
 * from one block of the pool, on the calling goroutine's thread (which
 * holds its P and calls nothing that could yield, so a stop of the world
 * waits for it to put its block back: it stops early when one is asked
 * for, as Go's gcDrainN checks for preemption).  Returns the bytes
 * scanned; *took is false when the pool had nothing, or when it stopped
 * early (the caller then takes no other block). */
GORT_NOSAN_SCAN static uint64_t assist_block(uint64_t work, bool *took) {
    *took = false;
    if (atomic_load_explicit(&nfull, memory_order_relaxed) == 0) {
        atomic_store_explicit(&pool_hungry, true, memory_order_relaxed);
        return 0;
    }
    gort__lock(&wlock);
    wblock *b = wblock_take();
    if (b != NULL)
        nassist++;
    gort__unlock(&wlock);
    if (b == NULL)
        return 0;
    *took = true;
    gcwork w = {.buf = b->e, .len = b->n, .cap = WBLOCK, .blk = b};
    uint64_t done = 0;
    for (uint32_t k = 1; w.len > 0 && done < work; k++) {
        wentry e = w.buf[--w.len];
        uintptr_t scanned = scan_entry(&w, e);
        done += scanned;
        /* A stop of the world (mark termination's) waits for this thread:
         * what is left goes back to the pool (relaxed: a late look costs
         * 64 objects, or one oblet, more of the pause). */
        if ((k % 64 == 0 || scanned == OBLET) &&
            atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed)) {
            *took = false;
            break;
        }
    }
    gort__lock(&wlock);
    w.blk->n = (uint32_t)w.len;
    wblock_put(w.blk);
    nassist--;
    gort__unlock(&wlock);
    atomic_fetch_add_explicit(&assist_marked, w.marked, memory_order_relaxed);
    return done;
}

/* Time spent in assists' scanning this cycle (Go's assistTime): [atomic],
 * relaxed (read with the world stopped). */
static _Atomic uint64_t assist_ns;

uint64_t gort__gc_assist(uint64_t work) {
    if (atomic_load_explicit(&nfull, memory_order_relaxed) == 0) {
        atomic_store_explicit(&pool_hungry, true, memory_order_relaxed);
        return 0;
    }
    int64_t t0 = gort_nanotime();
    uint64_t done = 0;
    bool took = true;
    while (done < work && took)
        done += assist_block(work - done, &took);
    atomic_fetch_add_explicit(&assist_ns, (uint64_t)(gort_nanotime() - t0), memory_order_relaxed);
    return done;
}

uint64_t gort__gc_assist_ns(void) {
    return atomic_load_explicit(&assist_ns, memory_order_relaxed);
}

/* Allocations held back by the pacer since the start: [atomic], relaxed
 * (a count read by tests, ordering nothing). */
static _Atomic uint64_t throttled_total;

void gort__gc_throttle_count(void) {
    atomic_fetch_add_explicit(&throttled_total, 1, memory_order_relaxed);
}

uint64_t gort__gc_throttled(void) {
    return atomic_load_explicit(&throttled_total, memory_order_relaxed);
}

/* Go's gcFlushBgCredit: the collector's work since its last flush pays
 * the queued assists first, in order; what is left is credit. */
static void flush_credit(int64_t work) {
    if (atomic_load_explicit(&aq_len, memory_order_relaxed) == 0) {
        atomic_fetch_add_explicit(&bg_credit, work, memory_order_relaxed);
        return;
    }
    gort__lock(&aqlock);
    while (aq_head != NULL && work > 0) {
        assistwait *w = aq_head;
        if (w->debt > work) {
            w->debt -= work;
            work = 0;
            break;
        }
        work -= w->debt;
        aq_head = w->next;
        if (aq_head == NULL)
            aq_tail = NULL;
        atomic_store_explicit(&aq_len, atomic_load_explicit(&aq_len, memory_order_relaxed) - 1,
                              memory_order_relaxed);
        /* w lives on gp's stack: not touched after this. */
        gort__goready(w->gp);
    }
    gort__unlock(&aqlock);
    if (work > 0)
        atomic_fetch_add_explicit(&bg_credit, work, memory_order_relaxed);
}

/* Opens (at the start of a concurrent mark) or closes (when the
 * collector has no more work that would pay them) the assist queue; a
 * close readies every queued assist (Go's gcWakeAllAssists). */
void gort__gc_assist_queue(bool open) {
    gort__lock(&aqlock);
    aq_open = open;
    if (open)
        atomic_store_explicit(&bg_credit, 0, memory_order_relaxed);
    while (aq_head != NULL) {
        assistwait *w = aq_head;
        aq_head = w->next;
        gort__goready(w->gp);
    }
    aq_tail = NULL;
    atomic_store_explicit(&aq_len, 0, memory_order_relaxed);
    gort__unlock(&aqlock);
}

static bool park_assist(struct g *gp, void *arg) {
    (void)gp;
    gort__unlock(arg);
    return true;
}

bool gort__gc_assist_alloc(uint64_t debt) {
    /* Credit first (Go's "steal as much credit as we can"). */
    int64_t credit = atomic_load_explicit(&bg_credit, memory_order_relaxed);
    if (credit > 0) {
        int64_t take = credit < (int64_t)debt ? credit : (int64_t)debt;
        atomic_fetch_sub_explicit(&bg_credit, take, memory_order_relaxed);
        debt -= (uint64_t)take;
    }
    if (debt == 0)
        return false;
    gort__gc_throttle_count();
    /* The trace's assist spans the work and the wait for credit (Go's
     * gcAssistAlloc). */
    GORT_TRACE(gort__trace_assist_start());
    uint64_t done = gort__gc_assist(debt);
    if (done >= debt) {
        GORT_TRACE(gort__trace_assist_done());
        return false;
    }
    /* No work in the pool: wait for the collector's work to pay the rest
     * (Go's gcParkAssist). */
    assistwait w = {.gp = gort__getg(), .debt = (int64_t)(debt - done)};
    gort__lock(&aqlock);
    if (!aq_open) {
        gort__unlock(&aqlock);
        GORT_TRACE(gort__trace_assist_done());
        return false;
    }
    if (aq_tail != NULL)
        aq_tail->next = &w;
    else
        aq_head = &w;
    aq_tail = &w;
    atomic_store_explicit(&aq_len, atomic_load_explicit(&aq_len, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    /* aqlock is released once this goroutine is off its stack: whoever
     * readies it takes it off the queue under aqlock first. */
    gort__gopark(park_assist, &aqlock, WAIT_GC_ASSIST_WAIT);
    GORT_TRACE(gort__trace_assist_done());
    return true;
}

uint64_t gort__gc_mark_progress(void) {
    return atomic_load_explicit(&collector_marked, memory_order_relaxed) +
           atomic_load_explicit(&assist_marked, memory_order_relaxed);
}

/* Rescans the marked objects on the arena pages [lo, hi), which were
 * written while marking ran: only their part inside the range.  Returns
 * the bytes scanned. */
static uint64_t rescan_pages(uintptr_t lo, uintptr_t hi) {
    uint64_t scanned = 0;
    for (uintptr_t pg = lo & ~(GORT__HEAP_PAGE - 1); pg < hi;) {
        mspan *s = gort__spanof(pg);
        if (s == NULL || (s->spc & 1)) {
            pg += GORT__HEAP_PAGE;
            continue;
        }
        uintptr_t a = pg < lo ? lo : pg, b = s->base + s->npages * GORT__HEAP_PAGE;
        if (b > hi)
            b = hi;
        if (a >= s->limit) {
            pg = b;
            continue;
        }
        uint32_t i = s->nelems > 1 ? gort__span_objindex(s, a) : 0;
        for (uintptr_t obj = s->base + (uintptr_t)i * s->elemsize; obj < b && obj < s->limit;
             obj += s->elemsize, i++) {
            if (!(atomic_load_explicit((_Atomic uint64_t *)&s->markbits[i / 64],
                                       memory_order_relaxed) >>
                      (i % 64) &
                  1))
                continue;
            uintptr_t x = obj < a ? a : obj, y = obj + s->elemsize < b ? obj + s->elemsize : b;
            scanblock(&cw, x, y);
            scanned += y - x;
        }
        pg = (b + GORT__HEAP_PAGE - 1) & ~(GORT__HEAP_PAGE - 1);
    }
    return scanned;
}

static uint64_t rescanned_bytes;

static void rescan_cb(uintptr_t lo, uintptr_t hi) {
    rescanned_bytes += hi - lo;
    /* Rescanning is the concurrent rounds' work: it pays the assists. */
    rescan_total += rescan_pages(lo, hi);
    if (drain_yields && rescan_total + cw.marked - credit_flushed >= (64u << 10))
        drain_flush();
}

static uint32_t helper_walk(uintptr_t lo, uintptr_t hi);
static void helper_walk_done(uint32_t gen);

uint64_t gort__gc_rescan_dirty(bool reprotect) {
    mheap *h = gort__mheap;
    rescanned_bytes = 0;
    if (reprotect) {
        /* A round walks only the runs of pages in spans (those of now:
         * spans taken since the cycle's start are among them).  The rest
         * are free: present ones would be reported as written, since the
         * start left them unprotected, and protected here for nothing, to
         * be lifted again at the cycle's end (about 1.2 us a page on a
         * paravirtualised machine, for pages that had no object to
         * rescan).  A span taken after this snapshot lies on pages either
         * unprotected or protected by the start (a short gap, or the tail
         * of the last run): either way the next round or the final
         * pause's walk of the whole arena reports them once written. */
        uintptr_t runs[GORT__TRACK_RUNS][2];
        size_t n = gort__mheap_inuse_runs(GORT__TRACK_GAP, runs, GORT__TRACK_RUNS);
        for (size_t i = 0; i < n; i++)
            gort__gc_dirty_scan(h->arena + (runs[i][0] << GORT__HEAP_PAGE_SHIFT),
                                h->arena + (runs[i][1] << GORT__HEAP_PAGE_SHIFT), true, rescan_cb);
        gort__gc_drain();
        return rescanned_bytes;
    }
    uintptr_t end =
        h->arena + (atomic_load_explicit(&h->used, memory_order_relaxed) << GORT__HEAP_PAGE_SHIFT);
    /* The final pause, the world stopped: the helper walks the upper half
     * (the walk itself is most of this when little was written). */
    uintptr_t mid = h->arena + (((end - h->arena) / 2) & ~(uintptr_t)(GORT__HEAP_PAGE - 1));
    uint32_t gen = helper_walk(mid, end);
    if (gen == 0)
        mid = end;
    gort__gc_dirty_scan(h->arena, mid, false, rescan_cb);
    if (gen != 0)
        helper_walk_done(gen);
    gort__gc_drain();
    return rescanned_bytes;
}

/* ------------------------------------------------------------------ roots */

/* A page the collector copies the globals into, a page at a time, to
 * scan them (globals_copy_init): the runtime's memory, not a root.
 * [collector only]: gcsema held. */
static uintptr_t *gcopy;

/* Makes gcopy, if it can, before the scans that use it: not inside the
 * loader's calls, nor in a pause. */
static void globals_copy_init(void) {
    if (gcopy == NULL)
        gcopy = gort__fixalloc(GORT__PAGE);
}

/* Scans [lo, hi), a writable segment, but for the pages that cannot be
 * read: those the program made unreadable (mprotect PROT_NONE: a guard
 * page in a static array, say), and those of a library that a thread
 * still running unmaps meanwhile (a thread outside the runtime, or a
 * goroutine in a blocking call, whose dlclose no stop of the world
 * stops).  When probe says gort's fault handler would catch a fault,
 * each page is copied through the fault probe (gort__copy_readable), and
 * the copy scanned: a page unmapped at any moment is then skipped, where
 * a probe of each page before the scan that read it left a window in
 * which the scan faulted.  Without gcopy (out of memory), each page is
 * probed first, then read (that window left).  Without the probes (a
 * handler the program installed over gort's), the whole segment is read,
 * as if every page were readable. */
static void scan_readable(uintptr_t lo, uintptr_t hi, bool probe) {
    if (!probe) {
        scanblock(&cw, lo, hi);
        return;
    }
    if (gcopy != NULL) {
        uintptr_t a = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
        while (a + sizeof(uintptr_t) <= hi) {
            uintptr_t end = (a & ~(uintptr_t)(GORT__PAGE - 1)) + GORT__PAGE;
            if (end > hi)
                end = hi;
            size_t n = gort__copy_readable(gcopy, a, (end - a) / sizeof(uintptr_t));
            scanblock(&cw, (uintptr_t)gcopy, (uintptr_t)(gcopy + n));
            a = (a & ~(uintptr_t)(GORT__PAGE - 1)) + GORT__PAGE;
        }
        return;
    }
    uintptr_t run = lo;
    while (run < hi) {
        uintptr_t bad = gort__probe_readable(run, hi);
        if (bad > run)
            scanblock(&cw, run, bad);
        run = (bad & ~(uintptr_t)(GORT__PAGE - 1)) + GORT__PAGE;
    }
}

/* A sanitizer's runtime (libtsan.so, libasan.so): its data holds its own
 * tables (TSan's bss is 47 MiB), not the program's pointers.  Scanning it
 * made each collection in race mode 30 ms longer and counted it in the
 * heap goal (Go 1.18's globals), which rose from 4 to 47 MiB. */
/* An object's name is the loader's memory, freed by a dlclose on any
 * thread once the loader's lock lets it: the lock orders our reads
 * (inside dl_iterate_phdr) before the free, but ThreadSanitizer does not
 * see the loader's locks.  Its dl_iterate_phdr interceptor forgets the
 * callback's reads of dlpi_name for that, strlen bytes of it and not the
 * terminating NUL, which strrchr and name_hash read too: a dlclose's free
 * of the name was reported as a race with the lister's strrchr
 * (heap.loaded_library_global_keeps_alive_while_libraries_come_and_go in
 * the tsan preset beside the suite, at the name's NUL: the 48-byte path's
 * block + 0x30).  So the names are read uninstrumented, byte by byte
 * (libc's string functions are intercepted whoever calls them). */
#define NAME_RACY __attribute__((no_sanitize("thread")))

NAME_RACY static bool name_has_prefix(const char *s, const char *prefix) {
    for (; *prefix != '\0'; s++, prefix++)
        if (*s != *prefix)
            return false;
    return true;
}

NAME_RACY static bool sanitizer_runtime(const char *path) {
    if (path == NULL)
        return false;
    const char *base = path;
    for (const char *p = path; *p != '\0'; p++)
        if (*p == '/')
            base = p + 1;
    return name_has_prefix(base, "libtsan.so") || name_has_prefix(base, "libasan.so");
}

/* The loader's lock and the collector.  dl_iterate_phdr holds the
 * loader's lock (glibc's dl_load_write_lock) while its callback runs, and
 * the callback is the program's code, where a stop of the world may
 * suspend its goroutine: a pause that then called dl_iterate_phdr waited
 * for ever on the suspended holder (a goroutine walking the loaded
 * objects: the program's own walk, or an unwinder's, as libunwind finds
 * a frame's tables and libgcc did before glibc 2.35's _dl_find_object).
 * So no pause calls the loader.  The collector lists the objects and their
 * writable segments before it stops the world (gort__gc_globals_list),
 * and the pause walks the loader's own list of objects through its
 * debugger interface (_r_debug, read without the loader's lock: the
 * goroutines are stopped, but a load or unload under way, by one of them
 * or by a thread the stop does not stop, may leave an object in the list
 * whose pages are not all mapped, and every page is read through copies
 * made with the fault probe: walk_unchanged, scan_readable).  An object
 * in the listing is scanned from it; one loaded since is scanned from its
 * own program headers, found at its base (where glibc maps a library's
 * ELF header) and checked against the loader's record of its dynamic
 * section.  One unloaded since, or a load or unload under way, makes the
 * pause take the lister's listing instead (below).  Where neither can be
 * done (an ELF header elsewhere, the probes unavailable: a SIGSEGV
 * handler of the program's over gort's; the lister late), the check fails
 * and the world restarts for a new listing.  The concurrent mark lists
 * too, and scans copies of the listed pages (scan_globals_running).  With
 * one P, dl_iterate_phdr is called as a blocking call
 * (loader_call_begin): the holder of the loader's lock may be the
 * goroutine that needs the P. */

/* A writable segment of a loaded object, [lo, hi). */
typedef struct gseg {
    uintptr_t lo, hi;
} gseg;

/* Whether ph, a program header of the object loaded at base, is a
 * writable PT_LOAD segment (the object's globals); if so, its range. */
static bool writable_segment(const ElfW(Phdr) * ph, uintptr_t base, gseg *seg) {
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
        return false;
    seg->lo = base + ph->p_vaddr;
    seg->hi = seg->lo + ph->p_memsz;
    return true;
}

/* dl_iterate_phdr's callback for scan_globals; arg: the bool probe of
 * scan_readable.  Greys only (no drain): it may run in a blocking call,
 * without a P; the caller drains. */
static int scan_phdr(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    if (sanitizer_runtime(info->dlpi_name))
        return 0;
    gseg seg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (!writable_segment(&info->dlpi_phdr[i], info->dlpi_addr, &seg))
            continue;
        scan_readable(seg.lo, seg.hi, *(const bool *)arg);
        gort__gc_scanned_globals += seg.hi - seg.lo;
    }
    return 0;
}

/* Brackets a call into the loader from the collector's goroutine as a
 * blocking call, when the program has one P and the collector holds it
 * (not when it runs on a thread outside the runtime, or inside a blocking
 * call of the program's that allocated).  With one P, the lock's holder,
 * preempted in its callback, waits for that P; with more, it runs on
 * another (the collector is not the only one who could block them all:
 * any goroutine that waits on a libc lock holds its P the same way).  A
 * blocking call can cost the collector its P: sysmon retakes it from a
 * call that spans two of its looks, 20 us apart in a busy program, and
 * the collector then waits behind every runnable goroutine (in gc_pause,
 * listings of 10-20 us lost it, and the wait that followed the stop's
 * listing was counted in two pauses of 52 and 95 ms).  Nor is sysmon
 * kicked: the call is short unless the loader's lock is held, and
 * sysmon's own period (10 ms at most) is soon enough then; kicked, it
 * took the P from the first listing (its page faults, 20-40 us) and
 * started a thread, which heap.small_heap_under_rlimit_as had no address
 * space for (1 run in 50). */
static bool loader_call_begin(void) {
    struct m *mp = gort__getm();
    if (mp == NULL || mp->curg == NULL || mp->p == NULL || mp->oldp != NULL ||
        atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed) > 1)
        return false;
    mp->syscall_nokick = true;
    gort_syscall_enter();
    mp->syscall_nokick = false;
    return true;
}

static void loader_call_end(bool blocked) {
    if (blocked)
        gort_syscall_exit();
}

/* The writable segments of the executable and of the loaded objects,
 * scanned inside dl_iterate_phdr: with the world running where
 * scan_globals_running cannot copy (or no runtime runs), or, stopped,
 * when a pause's check failed at every attempt (stopped: the one case
 * left where a goroutine suspended inside dl_iterate_phdr hangs the
 * pause). */
static void scan_globals(bool stopped) {
    if (!stopped)
        globals_copy_init();
    bool probe = gort__probe_ok();
    bool blocked = !stopped && loader_call_begin();
    dl_iterate_phdr(scan_phdr, &probe);
    loader_call_end(blocked);
    gort__gc_drain();
}

/* The listing (gort__gc_globals_list): each loaded object as the loader
 * names it (its base, its name's address, and a hash of the name, so that
 * an object unloaded and another loaded at the same base, its name at the
 * old one's address, differ), sorted by base and name (the lister's is
 * not: no walk uses it), with its writable segments gl.l.seg[seg0, seg0 +
 * nseg); and, after a check, the segments of the objects loaded since
 * (gl.extra).  [collector only]: gcsema held. */
typedef struct gobj {
    uintptr_t addr;
    const char *name;
    uint64_t hash;
    uint32_t seg0, nseg;
    bool seen; /* found by the last check */
} gobj;
/* GL_EXTRA: the segments of objects loaded since the listing the check
 * can take; GL_WALK: the most records its walk reads in one namespace. */
enum { GL_EXTRA = 64, GL_WALK = 1 << 16 };
/* A listing: the objects, their segments, and the room made for them. */
typedef struct glisting {
    gobj *obj;
    gseg *seg;
    size_t nobj, capobj, nseg, capseg;
    bool full; /* the last listing ran out of room */
} glisting;
static struct {
    glisting l;
    gseg extra[GL_EXTRA];
    size_t nextra;
    bool failed;  /* out of memory while listing */
    bool current; /* the last check resolved every object the loader has */
    bool lister;  /* with the lister's listing (else a walk of the loader's) */
} gl;

NAME_RACY static uint64_t name_hash(const char *s) { /* see sanitizer_runtime */
    uint64_t h = 14695981039346656037ull;            /* FNV-1a */
    for (; s != NULL && *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Makes room for want entries of elem bytes in *a (capacity *cap). */
static bool gl_room(void **a, size_t *cap, size_t want, size_t elem) {
    if (want <= *cap)
        return true;
    void *q = gort__fixrealloc(*a, want * elem);
    if (q == NULL)
        return false;
    *a = q;
    *cap = want;
    return true;
}

/* dl_iterate_phdr's callback for the listing: into the room made before
 * (no allocation inside the blocking call, which must stay short: see
 * scan_globals_running); out of room, it stops and says so. */
static int list_phdr(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    glisting *L = arg;
    if (L->nobj == L->capobj) {
        L->full = true;
        return 1;
    }
    gobj *o = &L->obj[L->nobj++];
    *o = (gobj){
        info->dlpi_addr, info->dlpi_name, name_hash(info->dlpi_name), (uint32_t)L->nseg, 0, false};
    if (sanitizer_runtime(info->dlpi_name))
        return 0;
    gseg seg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (!writable_segment(&info->dlpi_phdr[i], info->dlpi_addr, &seg))
            continue;
        if (L->nseg == L->capseg) {
            L->full = true;
            return 1;
        }
        L->seg[L->nseg++] = seg;
        o->nseg++;
    }
    return 0;
}

/* Lists the loaded objects into L, from empty, within its room (L->full
 * says whether it ran out).  Takes the loader's lock. */
static void list_objects(glisting *L) {
    L->nobj = L->nseg = 0;
    L->full = false;
    dl_iterate_phdr(list_phdr, L);
}

static int gobj_cmp(const void *a, const void *b) {
    const gobj *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (uintptr_t)x->name < (uintptr_t)y->name ? -1 : (uintptr_t)x->name > (uintptr_t)y->name;
}

/* Heapsort of the listing's objects: in place (qsort may take malloc's
 * memory, in a thread arena of 64 MiB of address space the first time a
 * thread does: heap.small_heap_under_rlimit_as ran out). */
static void gobj_sift(gobj *a, size_t i, size_t n) {
    for (size_t c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && gobj_cmp(&a[c], &a[c + 1]) < 0)
            c++;
        if (gobj_cmp(&a[i], &a[c]) >= 0)
            return;
        gobj t = a[i];
        a[i] = a[c];
        a[c] = t;
    }
}

static void gobj_sort(gobj *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;)
        gobj_sift(a, i, n);
    for (size_t end = n; end-- > 1;) {
        gobj t = a[0];
        a[0] = a[end];
        a[end] = t;
        gobj_sift(a, 0, end);
    }
}

/*
 * The lister: a plain thread (every signal blocked, no P, no runtime lock)
 * that lists the loaded objects for the pause, under the loader's lock.
 * No pause may call the loader (above), but a thread the stop does not
 * stop may: if the lock is free, or held by a thread that runs on (a
 * plain thread's dlopen or dlclose, a goroutine's in a blocking call), it
 * gets the lock within a moment and lists what the loader has, exactly;
 * only a holder that the stop suspended (a goroutine inside
 * dl_iterate_phdr's callback, or inside dlopen) keeps it waiting.  The
 * pause walks the loader's list itself first (walk_unchanged, below),
 * which takes no other thread's turn on a CPU, and asks the lister only
 * when that walk saw a change it cannot resolve alone (an object unloaded
 * since the listing, a load or unload under way), waiting for the answer
 * a while (GLOBALS_LISTER_WAIT_NS, mgc.c); without one, the world
 * restarts for a new listing.  The lister lists into tl, whose room the
 * collector makes with the world running (lister_prepare, as large as the
 * listing just made); an answer swaps tl and gl's listing.  A request it
 * has not answered in time is answered later into tl and dropped: no
 * request is made while one is out.
 *
 * The handshake, as the stack helper's: the collector makes tl's room,
 * then stores the next request number into lreq with release; the
 * lister's acquire load of lreq sees that room.  The lister's release
 * store of that number into ldone publishes what it wrote into tl (and
 * the loader's records it read under the lock, which the pause's scan of
 * the listed segments relies on) to the collector's acquire load.
 */
static glisting tl;              /* the lister's from a request to its answer */
static _Atomic uint32_t lreq;    /* [atomic] the last request (the collector) */
static _Atomic uint32_t ldone;   /* [atomic] the last answer (the lister) */
static _Atomic pid_t lister_pid; /* the process the lister runs in */
static bool tl_ready;            /* [collector only] tl has room and no request is out */
/* How long lister_listed spins before it sleeps. */
enum { LISTER_SPIN_NS = 100 * 1000 };

/* Starts a detached thread named name that runs fn: the collector's
 * lister and helper, which run no goroutine, with every signal blocked.
 * False if it could not be made. */
static bool start_plain_thread(void *(*fn)(void *), const char *name) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t attr;
    gort__sys_thread_attr(&attr);
    int err = gort__pthread_create(&t, &attr, fn, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        return false;
    pthread_setname_np(t, name);
    pthread_detach(t);
    return true;
}

/* The request handshake of those two threads.  post_request stores the
 * next request number into *req with release (so the job written before
 * it is seen by the thread's acquire load in await_request) and wakes the
 * thread; 0 is skipped, the thread's "nothing seen yet".  Returns the
 * number, which the thread stores into its answer word when done. */
static uint32_t post_request(_Atomic uint32_t *req) {
    uint32_t r = atomic_load_explicit(req, memory_order_relaxed) + 1;
    if (r == 0)
        r = 1;
    atomic_store_explicit(req, r, memory_order_release);
    gort__futexwakeup(req, 1);
    return r;
}

/* In the thread: waits until *req is past seen and returns the new number.
 * Acquire: pairs with post_request's release (the job is seen). */
static uint32_t await_request(_Atomic uint32_t *req, uint32_t seen) {
    uint32_t r;
    while ((r = atomic_load_explicit(req, memory_order_acquire)) == seen)
        gort__futexsleep(req, seen, -1);
    return r;
}

static void *lister_main(void *arg) {
    (void)arg;
    uint32_t seen = 0;
    for (;;) {
        uint32_t r = await_request(&lreq, seen);
        seen = r;
        list_objects(&tl);
        atomic_store_explicit(&ldone, r, memory_order_release);
        gort__futexwakeup(&ldone, 1);
    }
    return NULL;
}

/* With the world running, after a listing into gl: starts the lister if
 * this process has none (none yet, or the parent's: a fork keeps no
 * thread but the caller), and makes tl's room for a listing as large,
 * when no request is out. */
static void lister_prepare(void) {
    tl_ready = false;
    pid_t pid = getpid();
    if (atomic_load_explicit(&lister_pid, memory_order_relaxed) != pid) {
        atomic_store_explicit(&lreq, 0, memory_order_relaxed);
        atomic_store_explicit(&ldone, 0, memory_order_relaxed);
        if (!start_plain_thread(lister_main, "gort gc lister"))
            return; /* a walk that sees a change restarts the world */
        atomic_store_explicit(&lister_pid, pid, memory_order_relaxed);
    }
    /* Acquire: pairs with the lister's release of ldone (tl is ours). */
    if (atomic_load_explicit(&ldone, memory_order_acquire) !=
        atomic_load_explicit(&lreq, memory_order_relaxed))
        return; /* still at a request the pause stopped waiting for */
    if (!gl_room((void **)&tl.obj, &tl.capobj, gl.l.capobj, sizeof *tl.obj) ||
        !gl_room((void **)&tl.seg, &tl.capseg, gl.l.capseg, sizeof *tl.seg))
        return;
    /* Written here, not first touched inside the lister's call. */
    memset(tl.obj, 0, tl.capobj * sizeof *tl.obj);
    memset(tl.seg, 0, tl.capseg * sizeof *tl.seg);
    tl_ready = true;
}

/* With the world stopped: the lister's listing of the loaded objects, made
 * under the loader's lock, into gl (every object seen), if it answers
 * within wait ns with room enough.  False if not (the check then fails,
 * and the world restarts for a new listing). */
static bool lister_listed(int64_t wait) {
    if (!tl_ready || atomic_load_explicit(&lister_pid, memory_order_relaxed) != getpid())
        return false;
    tl_ready = false;
    /* Its release: the room lister_prepare made in tl, before the
     * lister's acquire load. */
    uint32_t r = post_request(&lreq);
    /* Spins first, keeping this thread's CPU (the lister, on another,
     * answers in tens of microseconds), then sleeps. */
    int64_t now = gort_nanotime(), spin = now + LISTER_SPIN_NS, until = now + wait;
    for (;;) {
        /* Acquire: pairs with the lister's release of ldone. */
        uint32_t d = atomic_load_explicit(&ldone, memory_order_acquire);
        if (d == r)
            break;
        now = gort_nanotime();
        if (now >= until)
            return false;
        if (now < spin)
            gort__procyield(64);
        else
            gort__futexsleep(&ldone, d, until - now);
    }
    if (tl.full)
        return false;
    glisting t = gl.l;
    gl.l = tl;
    tl = t;
    for (size_t i = 0; i < gl.l.nobj; i++)
        gl.l.obj[i].seen = true;
    return true;
}

void gort__gc_globals_list(void) {
    gl.current = false;
    globals_copy_init(); /* for the pause's scan */
    for (;;) {
        gl.failed = false;
        /* Room for 64 objects and 128 segments at first, or for as many
         * as the last listing that ran out of room; written here, so that
         * its pages are not first touched inside the blocking call (a
         * fault is some 14 us on a paravirtualised machine: two of them
         * there were long enough for sysmon to take the P). */
        if (!gl_room((void **)&gl.l.obj, &gl.l.capobj, 64, sizeof *gl.l.obj) ||
            !gl_room((void **)&gl.l.seg, &gl.l.capseg, 128, sizeof *gl.l.seg)) {
            gl.failed = true;
            return;
        }
        memset(gl.l.obj, 0, gl.l.capobj * sizeof *gl.l.obj);
        memset(gl.l.seg, 0, gl.l.capseg * sizeof *gl.l.seg);
        bool blocked = loader_call_begin();
        list_objects(&gl.l);
        loader_call_end(blocked);
        if (!gl.l.full)
            break;
        /* More objects than room: twice the room, and again. */
        if (!gl_room((void **)&gl.l.obj, &gl.l.capobj, gl.l.capobj * 2, sizeof *gl.l.obj) ||
            !gl_room((void **)&gl.l.seg, &gl.l.capseg, gl.l.capseg * 2, sizeof *gl.l.seg)) {
            gl.failed = true;
            return;
        }
    }
    gobj_sort(gl.l.obj, gl.l.nobj);
    lister_prepare();
}

/* Copies the n bytes at src to dst (src and n multiples of a word)
 * through the fault probe, a page at a time: false if a page faulted. */
static bool copy_probed(void *dst, uintptr_t src, size_t n) {
    uintptr_t *d = dst;
    while (n > 0) {
        size_t chunk = (src & ~(uintptr_t)(GORT__PAGE - 1)) + GORT__PAGE - src;
        if (chunk > n)
            chunk = n;
        size_t w = chunk / sizeof(uintptr_t);
        if (gort__copy_readable(d, src, w) != w)
            return false;
        d += w;
        src += chunk;
        n -= chunk;
    }
    return true;
}
_Static_assert(sizeof(ElfW(Ehdr)) % sizeof(uintptr_t) == 0 &&
                   sizeof(ElfW(Phdr)) % sizeof(uintptr_t) == 0,
               "ELF headers are copied a word at a time");

/* The head of a loader's record (the public fields of <link.h>'s struct
 * link_map), copied through the fault probe: the pause reads the records
 * without the loader's lock, and a thread the stop does not stop may free
 * one as it is read (walk_unchanged). */
typedef struct lmrec {
    ElfW(Addr) l_addr;
    const char *l_name;
    ElfW(Dyn) * l_ld;
    const struct link_map *l_next, *l_prev;
} lmrec;
_Static_assert(sizeof(lmrec) % sizeof(uintptr_t) == 0 &&
                   offsetof(struct link_map, l_prev) == offsetof(lmrec, l_prev),
               "lmrec is link_map's head");

/* An address a loader's record or name can be at: in user space (on
 * x86-64 a non-canonical address faults with no address the probe could
 * match: a general protection fault).  47 bits on x86-64, 48 on arm64:
 * Linux maps nothing above unless asked to. */
static bool user_addr(uintptr_t p) {
#if defined(__x86_64__)
    return p >= GORT__PAGE && p < (uintptr_t)1 << 47;
#else
    return p >= GORT__PAGE && p < (uintptr_t)1 << 48;
#endif
}

/* Copies the record at l into *r, through the fault probe. */
static bool read_record(const struct link_map *l, lmrec *r) {
    uintptr_t a = (uintptr_t)l;
    return user_addr(a) && a % sizeof(uintptr_t) == 0 && copy_probed(r, a, sizeof *r);
}

/* Copies the name at s into buf (GORT__PAGE bytes, the collector's copy
 * page), through the fault probe: false if a page faults or the name
 * does not end within it.  NULL reads as "". */
static bool read_name(const char *s, char *buf) {
    buf[0] = '\0';
    if (s == NULL)
        return true;
    uintptr_t a = (uintptr_t)s, w0 = a & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (!user_addr(a))
        return false;
    size_t skip = a - w0, n = 0;
    uintptr_t word;
    for (uintptr_t w = w0; n < GORT__PAGE; w += sizeof word) {
        if (gort__copy_readable(&word, w, 1) != 1)
            return false;
        const char *c = (const char *)&word;
        for (size_t i = skip; i < sizeof word && n < GORT__PAGE; i++) {
            buf[n++] = c[i];
            if (c[i] == '\0')
                return true;
        }
        skip = 0;
    }
    return false;
}

/* The loader's object r (its name copied in name) in the listing, or
 * NULL. */
static gobj *listed(const lmrec *r, const char *name) {
    gobj key = {.addr = r->l_addr, .name = r->l_name};
    gobj *o = bsearch(&key, gl.l.obj, gl.l.nobj, sizeof *gl.l.obj, gobj_cmp);
    return o != NULL && o->hash == name_hash(name) ? o : NULL;
}

/* l, loaded since the listing: its writable segments into gl.extra, from
 * the program headers its ELF header at its base names, if that header
 * is readable, well formed, and names l's dynamic section where the
 * loader recorded it.  False if not, or no room is left.  The headers
 * are read from copies made through the fault probe: a thread that the
 * stop does not stop may be unloading l meanwhile. */
static bool loaded_since(const lmrec *l, const char *name) {
    uintptr_t base = l->l_addr;
    ElfW(Ehdr) eh;
    if (base == 0 || base % sizeof(uintptr_t) != 0 || !copy_probed(&eh, base, sizeof eh))
        return false;
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_phentsize != sizeof(ElfW(Phdr)) ||
        eh.e_phnum == 0 || eh.e_phnum >= PN_XNUM)
        return false;
    uintptr_t phlo = base + eh.e_phoff, phhi = phlo + (size_t)eh.e_phnum * sizeof(ElfW(Phdr));
    if (phhi < phlo || phlo % sizeof(uintptr_t) != 0)
        return false;
    ElfW(Phdr) ph;
    bool dyn = false;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (!copy_probed(&ph, phlo + (size_t)i * sizeof ph, sizeof ph))
            return false;
        dyn |= ph.p_type == PT_DYNAMIC && base + ph.p_vaddr == (uintptr_t)l->l_ld;
    }
    if (!dyn)
        return false;
    if (sanitizer_runtime(name))
        return true;
    gseg seg;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (!copy_probed(&ph, phlo + (size_t)i * sizeof ph, sizeof ph))
            return false;
        if (!writable_segment(&ph, base, &seg))
            continue;
        if (gl.nextra == GL_EXTRA)
            return false;
        gl.extra[gl.nextra++] = seg;
    }
    return true;
}

/* With the world stopped: a walk of the loader's list, without its lock,
 * against the listing made before the stop.  True if it resolved every
 * object the loader has (the listing's seen, those loaded since into
 * gl.extra) and saw no change: every listed object still there, and the
 * loader's state consistent before and after.
 * A goroutine stopped or suspended by the stop wrote what it wrote
 * before (the loader's links and records among it) in time for this
 * read, through the stop's handshake, as the stacks the pause scans.
 * Not every thread is stopped, though: a thread outside the runtime, or
 * a goroutine in a blocking call (whose P the stop took), runs on and
 * may be loading or unloading meanwhile.  So the objects' own pages (ELF
 * and program headers here, the segments in the scan) are read only
 * through copies made with the fault probe: a page that thread unmaps is
 * skipped, not a fault.  So are the loader's records themselves (their
 * heads and names: read_record, read_name), and the walk is bounded: a
 * record such a thread frees as it is read, its memory unmapped or taken
 * by another allocation, gives a fault that is caught or values that
 * resolve to no object, not a crash or a walk without end.  A freed
 * record whose link, overwritten, still points to a record makes the
 * walk skip objects still loaded: a listed one is then unseen, which is
 * a change, and one loaded since the listing needs that thread to load
 * it and unload another within the walk's few microseconds, with the
 * loader's state found consistent at both ends.  The walk's reads race
 * with such a thread's writes, which ThreadSanitizer reports
 * (heap.collections_while_a_plain_thread_unloads_a_library skips
 * there). */
static bool walk_unchanged(void) {
    if (_r_debug.r_version < 1)
        return false;
    for (size_t i = 0; i < gl.l.nobj; i++)
        gl.l.obj[i].seen = false;
    /* Without the probes, a load or unload under way (its objects' pages
     * mapped or unmapped as the loader goes) would be read blind. */
    bool probe = gort__probe_ok();
    /* Every namespace's list (r_version 2: glibc 2.35's
     * r_debug_extended). */
    int version = _r_debug.r_version;
    lmrec rec;
    const char *name;
    for (const struct r_debug_extended *r = (const struct r_debug_extended *)(void *)&_r_debug;
         r != NULL; r = version >= 2 ? r->r_next : NULL) {
        volatile const struct r_debug *rb = &r->base;
        if (rb->r_state != RT_CONSISTENT)
            return false;
        size_t steps = 0;
        for (const struct link_map *l = rb->r_map; l != NULL; l = rec.l_next) {
            if (!probe) {
                /* Read plainly: as the loader left it (RT_CONSISTENT). */
                memcpy(&rec, l, sizeof rec);
                name = rec.l_name != NULL ? rec.l_name : "";
            } else if (gcopy == NULL || ++steps > GL_WALK || !read_record(l, &rec) ||
                       !read_name(rec.l_name, (char *)gcopy)) {
                return false;
            } else {
                name = (const char *)gcopy;
            }
            gobj *o = listed(&rec, name);
            if (o != NULL)
                o->seen = true;
            else if (!probe || !loaded_since(&rec, name))
                return false;
        }
        if (rb->r_state != RT_CONSISTENT)
            return false;
    }
    for (size_t i = 0; i < gl.l.nobj; i++)
        if (!gl.l.obj[i].seen)
            return false; /* unloaded since the listing, or skipped */
    return true;
}

/* With the world stopped: the loaded objects, found by a walk of the
 * loader's list if walk and it saw no change (walk_unchanged), else by the
 * lister if it answers within wait ns (above, "The lister"; 0: it is not
 * asked).  A pause walks first: the walk takes microseconds on this
 * thread, where a handoff to the lister costs the pause its CPU when
 * other processes want the machine's (the pausing thread, woken, waits
 * for a turn: pauses of 2-5 ms at the 90th percentile on a 2-CPU machine
 * with two busy processes, against 0.3 ms).  The lister, which takes the
 * loader's lock, answers when the walk cannot: an object unloaded since
 * the listing, or a load or unload under way. */
bool gort__gc_globals_check(bool walk, int64_t wait) {
    gl.current = false;
    gl.lister = false;
    gl.nextra = 0;
    if (gl.failed)
        return false;
    if (walk && walk_unchanged()) {
        gl.current = true;
        return true;
    }
    gl.nextra = 0;
    gl.lister = wait > 0 && lister_listed(wait);
    gl.current = gl.lister;
    return gl.current;
}

bool gort__gc_globals_by_lister(void) {
    return gl.current && gl.lister;
}

bool gort__gc_globals_covers(uintptr_t p) {
    if (!gl.current)
        return false;
    for (size_t i = 0; i < gl.l.nobj; i++)
        for (uint32_t k = gl.l.obj[i].seg0;
             gl.l.obj[i].seen && k < gl.l.obj[i].seg0 + gl.l.obj[i].nseg; k++)
            if (p >= gl.l.seg[k].lo && p < gl.l.seg[k].hi)
                return true;
    for (size_t k = 0; k < gl.nextra; k++)
        if (p >= gl.extra[k].lo && p < gl.extra[k].hi)
            return true;
    return false;
}

/* The globals with the world running (the concurrent mark): from a
 * listing, outside the loader's lock, each page copied first through the
 * fault probe (a library unloaded meanwhile leaves a page that faults,
 * not read further; a page the program made unreadable likewise) and the
 * copy scanned.  The loader is called only for the listing, which is
 * quick: a blocking call long enough for sysmon to take the P starts
 * another thread (Go's handoffp), where scanning inside dl_iterate_phdr
 * started one in every cycle and heap.small_heap_under_rlimit_as ran out
 * of address space.  Without the probes, or out of memory, through the
 * loader as before (scan_globals). */
static void scan_globals_running(void) {
    globals_copy_init();
    if (gcopy == NULL || !gort__probe_ok()) {
        scan_globals(false);
        return;
    }
    gort__gc_globals_list();
    if (gl.failed) {
        scan_globals(false);
        return;
    }
    for (size_t k = 0; k < gl.l.nseg; k++) {
        scan_readable(gl.l.seg[k].lo, gl.l.seg[k].hi, true);
        gort__gc_scanned_globals += gl.l.seg[k].hi - gl.l.seg[k].lo;
    }
    gort__gc_drain();
}

/* The globals, with the world stopped: the listing's objects that the
 * last check found, and those it found loaded since; if that check
 * failed (and every attempt with it), or there was none (a cycle with no
 * runtime running stops nothing), through the loader. */
static void scan_globals_stopped(void) {
    if (!gl.current) {
        scan_globals(gort__runtime_running());
        return;
    }
    bool probe = gort__probe_ok();
    for (size_t i = 0; i < gl.l.nobj; i++) {
        if (!gl.l.obj[i].seen)
            continue;
        for (uint32_t k = gl.l.obj[i].seg0; k < gl.l.obj[i].seg0 + gl.l.obj[i].nseg; k++) {
            scan_readable(gl.l.seg[k].lo, gl.l.seg[k].hi, probe);
            gort__gc_scanned_globals += gl.l.seg[k].hi - gl.l.seg[k].lo;
        }
    }
    for (size_t k = 0; k < gl.nextra; k++) {
        scan_readable(gl.extra[k].lo, gl.extra[k].hi, probe);
        gort__gc_scanned_globals += gl.extra[k].hi - gl.extra[k].lo;
    }
    gl.current = false;
    gort__gc_drain();
}

typedef struct stackscan {
    struct g *self;
    marker *m;
} stackscan;

static void scan_stack(marker *m, uintptr_t lo, uintptr_t hi) {
    if (lo >= hi)
        return;
    scanroot(m, lo, hi);
    m->stack_bytes += hi - lo;
}

/* What the runtime keeps for gp: its start argument (or gort_go_copy's
 * block, in the g) and its deferred calls' arguments.  Not instrumented,
 * as the scanners: a thread outside the runtime, which no stop stops, may
 * be setting up a recycled g meanwhile (its gort_go's write of arg was a
 * race ThreadSanitizer reported).  What such a thread passes then is its
 * own to keep alive (gort.h: a plain thread's stores while a collection
 * runs). */
GORT_NOSAN_SCAN static void scan_g_runtime(gcwork *w, struct g *gp) {
    grey_ptr(w, (uintptr_t)gp->arg);
    if (GORT_UNLIKELY(gp->argwords != 0))
        scanblock(w, (uintptr_t)gp->argbuf,
                  (uintptr_t)gp->argbuf + (uintptr_t)gp->argwords * sizeof(void *));
    for (struct gort__defer *d = gp->defer_; d != NULL; d = d->link)
        grey_ptr(w, (uintptr_t)d->arg);
}

static void scan_g(struct g *gp, void *arg) {
    stackscan *ss = arg;
    marker *m = ss->m;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (st == G_DEAD || st == G_IDLE)
        return;
    scan_g_runtime(m->w, gp);
    if (gp == ss->self)
        return; /* scanned from the collector's own sp */
    uintptr_t hi = gp->stack.hi;
    uintptr_t sp;
    const void *regs;
    size_t nregs;
    if (st == G_RUNNING && gort__stw_interrupted_regs(gp, &sp, &regs, &nregs)) {
        scanroot(m, (uintptr_t)regs, (uintptr_t)regs + nregs);
        scan_stack(m, sp, hi);
    } else if (st == G_RUNNING || st == G_SYSCALL) {
        /* Still running (a blocking call; or stopped somewhere we were not
         * told): all of its stack, conservatively, and in a blocking call
         * the registers its caller kept across it. */
        if (st == G_SYSCALL)
            scanroot(m, (uintptr_t)gp->sysregs, (uintptr_t)(gp->sysregs + GORT__SYSREGS));
        scan_stack(m, gp->stack.lo, hi);
    } else if (gp->ctx.sp != NULL) {
        scan_stack(m, (uintptr_t)gp->ctx.sp, hi);
    }
    /* Not drained here: the candidates of one stack are too few to keep
     * the pipeline busy (gort__gc_mark drains once after every stack). */
}

void gort__gc_mark_reset(void) {
    gort__gc_scanned_stacks = 0;
    cm.stack_bytes = 0;
    gort__gc_scanned_globals = 0;
    gort__gc_marked_bytes = 0;
    cw.head = cw.len = 0;
    cw.marked = 0;
    rescan_total = 0;
    credit_flushed = 0;
    atomic_store_explicit(&collector_marked, 0, memory_order_relaxed);
    atomic_store_explicit(&assist_marked, 0, memory_order_relaxed);
    atomic_store_explicit(&assist_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&pool_hungry, false, memory_order_relaxed);
    cm.push = cm.nb = cm.nc = cm.nd = 0;
    /* The last mark drained the pool, and no assist outlives its cycle. */
    gort__lock(&wlock);
    GORT_CHECK(wfull == NULL && nassist == 0, "gc: mark work left in the pool by the last cycle");
    gort__unlock(&wlock);
}

/* Concurrent phase: every default-size goroutine stack from its last saved
 * sp (racy: the stacks are rescanned with the world stopped), without
 * draining (allglock is held). */
static void scan_g_concurrent(struct g *gp, void *arg) {
    stackscan *ss = arg;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (gp == ss->self || st == G_DEAD || st == G_IDLE || gp->stack.kind != STACK_SLAB)
        return;
    uintptr_t sp = (uintptr_t)__atomic_load_n(&gp->ctx.sp, __ATOMIC_RELAXED);
    uintptr_t lo = gp->stack.lo, hi = gp->stack.hi;
    /* No saved context: not started (nothing on its stack yet), or
     * running (its stack is rescanned with the world stopped anyway). */
    if (sp == 0 || sp < lo || sp >= hi)
        return;
    scan_stack(ss->m, sp, hi);
}

/* The stack bytes m read go into gort__gc_scanned_stacks. */
static void fold_stack_bytes(marker *m) {
    gort__gc_scanned_stacks += m->stack_bytes;
    m->stack_bytes = 0;
}

void gort__gc_mark_concurrent(uintptr_t scan_sp, uintptr_t scan_hi) {
    struct g *self = gort__getg();
    /* Our own frames above the cycle's: they do not change while it runs
     * (the cycle is below them), so what they reach is marked here,
     * concurrently, and the final pause's scan of them finds it marked.
     * Left to that pause, a large object only they held (the one whose
     * allocation started the cycle, or one gort_gc's caller holds) was
     * scanned with the world stopped: a 1 GiB one stopped every
     * goroutine for about 3 s. */
    if (scan_hi > scan_sp)
        scan_stack(&cm, scan_sp, scan_hi);
    scan_globals_running();
    stackscan ss = {self, &cm};
    gort__forallg(scan_g_concurrent, &ss);
    fold_stack_bytes(&cm);
    drain_yields = true;
    gort__gc_drain();
    gort__gc_scan_registered();
    gort__gc_drain();
    drain_yields = false;
}

/* Concurrent phase, after the roots: rounds of rescanning written pages. */
void gort__gc_mark_concurrent_rounds(int rounds) {
    drain_yields = true;
    for (int r = 0; r < rounds; r++)
        if (gort__gc_rescan_dirty(true) < (256u << 10))
            break;
    /* The stacks once more (those that were running at the first pass are
     * mostly parked now): the final pause rescans them all anyway, but
     * then finds what they reach already marked and has little to drain
     * (in gc_pause its drain took 0.4-2.5 ms before this). */
    stackscan ss = {gort__getg(), &cm};
    gort__forallg_stacks(scan_g_concurrent, &ss);
    fold_stack_bytes(&cm);
    gort__gc_drain();
    /* And the pages written while that pass ran, so that the final pause
     * rescans only what was written after it. */
    gort__gc_rescan_dirty(true);
    drain_yields = false;
}

/* ------------------------------------------------ the final pause's helper */

/* With the world stopped, the final pause reads every goroutine's stack:
 * in gc_pause, 10,000 stack tops scattered over their own pages, cold,
 * 2.9-5.3 ms on one thread.  Memory latency, not work, bounds it, so a
 * second thread halves it (1.5-2.8 ms): stw_stacks has the gs scanned
 * by the collector and a helper thread of its own together, each taking
 * chunks of them until none is left, as Go's mark termination once had
 * gchelper threads.  The helper is a plain thread with every signal
 * blocked, made before the first cycle that has enough gs to share and a
 * second CPU (gort__gc_helper_start, before the world stops); it runs no
 * goroutine and takes no runtime lock.  It greys onto a stack of its own
 * (hw) and drains it itself: mark bits are set with an atomic or, so each
 * object is pushed by one marker only.  The same pause's walk of the
 * written pages (gort__gc_rescan_dirty) is split with it too, in arenas
 * of 32 MiB or more: it walks the upper half and hands back the ranges
 * it found, which the collector rescans (the walk is ~0.7 ms of a 1.5
 * GB arena even when nothing was written).
 *
 * The handshake: the collector writes the job (hjob) and then stores the
 * next generation into hgen with release; the helper's acquire load of
 * hgen sees the job (and, through the collector, everything the stopped
 * goroutines wrote).  The helper's release store of that generation into
 * hdone publishes its marks, its hw.marked, hm.stack_bytes and the
 * ranges it found (hr) to the collector's acquire load.  The collector
 * holds allglock from before the job until after the helper is done, so
 * the gs array the job names is not reallocated meanwhile. */
enum { HELP_MIN_GS = 512, HELP_MIN_WALK = 32 << 20 };
static gcwork hw;
static marker hm = {.w = &hw};
static struct {
    bool walk;     /* a walk of written pages, else stacks */
    struct g **gs; /* stacks: gs[0, n), the collector's own g self */
    int64_t n;
    struct g *self;
    uintptr_t lo, hi; /* walk: [lo, hi) of the arena */
} hjob;
static _Atomic uint32_t hgen, hdone;
/* Stacks: the index of the next chunk of hjob.gs to claim.  Both threads
 * claim chunks until none is left, so neither waits long for the other
 * (with halves fixed in advance, one waited 0.15-1.5 ms for the other).
 * Relaxed: the fetch-add alone makes each claim unique; the gs array and
 * what the scans find are ordered by hgen and hdone. */
static _Atomic int64_t hnext;
enum { HELP_CHUNK = 128 };
/* The written ranges a walk found, in order: the collector rescans them
 * after the walk (rescanning is its own work; the helper only walks).
 * Past HRANGES, the last grows to cover the rest: rescanning more pages
 * than were written is safe.  The helper's between the job's start and
 * end, the collector's after. */
enum { HRANGES = 4096 };
static struct { uintptr_t lo, hi; } hr[HRANGES];
static size_t nhr;
static _Atomic pid_t helper_pid; /* the process the helper runs in */

GORT_NOSAN_SCAN static void helper_drain(void) {
    while (hw.len > 0) {
        wentry e = hw.buf[--hw.len];
        scan_entry(&hw, e);
    }
}

/* Scans the stacks of the gs of hjob in chunks claimed from hnext, into
 * m, until none is left. */
static void scan_chunks(marker *m) {
    stackscan ss = {hjob.self, m};
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&hnext, HELP_CHUNK, memory_order_relaxed);
        if (i >= hjob.n)
            return;
        gort__gs_stacks(hjob.gs + i, hjob.n - i < HELP_CHUNK ? hjob.n - i : HELP_CHUNK, scan_g,
                        &ss);
    }
}

static void helper_collect(uintptr_t lo, uintptr_t hi) {
    if (nhr < HRANGES) {
        hr[nhr].lo = lo;
        hr[nhr].hi = hi;
        nhr++;
    } else {
        hr[HRANGES - 1].hi = hi;
    }
}

static void *helper_main(void *arg) {
    (void)arg;
    uint32_t seen = 0;
    for (;;) {
        uint32_t g = await_request(&hgen, seen);
        seen = g;
        if (hjob.walk) {
            nhr = 0;
            gort__gc_dirty_scan(hjob.lo, hjob.hi, false, helper_collect);
        } else {
            scan_chunks(&hm);
            pflush(&hm);
            helper_drain();
        }
        atomic_store_explicit(&hdone, g, memory_order_release);
    }
    return NULL;
}

/* Whether the gs are many enough to share with a helper. */
static bool helper_wanted(int64_t n) {
    return n >= HELP_MIN_GS && !GORT__ON_VALGRIND() && gort__ncpu() > 1;
}

void gort__gc_helper_start(void) {
    int64_t n;
    gort__allgs_hold(&n);
    gort__allgs_release();
    if (!helper_wanted(n))
        return;
    pid_t pid = getpid();
    if (atomic_load_explicit(&helper_pid, memory_order_relaxed) == pid)
        return;
    /* None yet, or the parent's (a fork keeps no thread but the caller):
     * the new one starts from generation 0, with nothing to do. */
    atomic_store_explicit(&hgen, 0, memory_order_relaxed);
    atomic_store_explicit(&hdone, 0, memory_order_relaxed);
    if (!start_plain_thread(helper_main, "gort gc helper"))
        return; /* the pause scans every stack on its own */
    atomic_store_explicit(&helper_pid, pid, memory_order_relaxed);
}

/* Whether this process has a helper (made only where it was wanted). */
static bool helper_running(void) {
    return atomic_load_explicit(&helper_pid, memory_order_relaxed) == getpid();
}

static void helper_wait(uint32_t gen) {
    while (atomic_load_explicit(&hdone, memory_order_acquire) != gen)
        sched_yield();
}

/* With the world stopped: the helper walks [lo, hi) of the arena for
 * written pages, if it runs and the range is long enough to be worth the
 * hand-over; returns the job's generation, or 0 (the caller walks it). */
static uint32_t helper_walk(uintptr_t lo, uintptr_t hi) {
    if (hi - lo < HELP_MIN_WALK / 2 || !helper_running())
        return 0;
    hjob.walk = true;
    hjob.lo = lo;
    hjob.hi = hi;
    return post_request(&hgen); /* the job in hjob, to the helper */
}

/* Waits for the walk of generation gen and rescans what it found. */
static void helper_walk_done(uint32_t gen) {
    helper_wait(gen);
    for (size_t i = 0; i < nhr; i++)
        rescan_cb(hr[i].lo, hr[i].hi);
}

/* Every goroutine's stack, with the world stopped: split with the helper
 * when there are enough of them and a second CPU to run it. */
static void stw_stacks(struct g *self) {
    int64_t n;
    struct g **gs = gort__allgs_hold(&n);
    if (n >= HELP_MIN_GS && helper_running()) {
        hjob.walk = false;
        hjob.gs = gs;
        hjob.n = n;
        hjob.self = self;
        atomic_store_explicit(&hnext, 0, memory_order_relaxed);
        uint32_t gen = post_request(&hgen);
        scan_chunks(&cm);
        /* Our part's greys are drained after allglock is released, as
         * before there was a helper (the drain takes wlock). */
        helper_wait(gen);
        cw.marked += hw.marked;
        hw.marked = 0;
        fold_stack_bytes(&hm);
    } else {
        stackscan ss = {self, &cm};
        gort__gs_stacks(gs, n, scan_g, &ss);
    }
    gort__allgs_release();
}

void gort__gc_mark(uintptr_t scan_sp, uintptr_t scan_hi) {
    /* Our own stack first, then our own runtime-held pointers. */
    if (scan_hi > scan_sp)
        scan_stack(&cm, scan_sp, scan_hi);
    struct g *self = gort__getg();
    if (self != NULL)
        scan_g_runtime(&cw, self);
    gort__gc_drain();
    scan_globals_stopped();
    if (gort__runtime_running())
        stw_stacks(self);
    fold_stack_bytes(&cm);
    gort__gc_scan_registered();
    gort__gc_drain();
    gort__fin_markroots();
    gort__gc_drain();
    /* The world is stopped: no assist runs, and all have added theirs. */
    gort__gc_marked_bytes = cw.marked + atomic_load_explicit(&assist_marked, memory_order_relaxed);
    gort__gc_scan_work = gort__gc_marked_bytes + rescan_total;
}
