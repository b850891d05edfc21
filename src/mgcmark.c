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
 *     every loaded shared object (dl_iterate_phdr);
 *   - the stack of the goroutine (or thread) running the collection, from
 *     its sp (registers saved just below, see mgc.c gc_run) to its top;
 *   - every other goroutine's stack from its saved stack pointer to its
 *     top (the switch pushed its callee-saved registers there); a goroutine
 *     interrupted while running (gort__stw_interrupted_regs) from its sp,
 *     plus its saved registers; one in a blocking call (gort_syscall_enter)
 *     keeps running, so its whole stack is scanned;
 *   - what the runtime keeps for goroutines: start arguments (g->arg),
 *     deferred calls' arguments;
 *   - registered roots, channel buffers and blocked senders' elements
 *     (mgc.c), after-func arguments (registered by time.c);
 *   - objects with finalizers (their contents) and queued finalizers
 *     (mfinal.c).
 * Not scanned: memory from malloc/mmap (unless registered), thread-local
 * storage, and the stacks of threads that are not running goroutines.
 *
 * The grey set is a stack of (base, size) pairs in memory of its own.
 * Marking runs on one thread (the collecting goroutine's), so mark bits
 * are plain stores.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "fault.h"
#include "malloc.h"
#include "panic.h"

uint64_t gort__gc_scanned_stacks, gort__gc_scanned_globals, gort__gc_marked_bytes;

bool gort__stw_interrupted_regs(struct g *gp, uintptr_t *sp, const void **regs, size_t *regs_len);

typedef struct wentry {
    uintptr_t base, size;
} wentry;

/* The mark stack: [collector only]. */
static wentry *wbuf;
static size_t wlen, wcap;

static GORT_NOINLINE void wgrow(void) {
    size_t ncap = wcap ? wcap * 2 : 65536;
    void *n = gort__mmap(NULL, ncap * sizeof(wentry), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (n == MAP_FAILED) {
        gort__printf("runtime: cannot grow the mark stack to %zu entries\n", ncap);
        gort__fatal("runtime: out of memory");
    }
    if (wbuf != NULL) {
        memcpy(n, wbuf, wlen * sizeof(wentry));
        munmap(wbuf, wcap * sizeof(wentry));
    }
    wbuf = n;
    wcap = ncap;
}

static inline void wpush(uintptr_t base, uintptr_t size) {
    if (GORT_UNLIKELY(wlen == wcap))
        wgrow();
    wbuf[wlen++] = (wentry){base, size};
}

/* Go's greyobject for object i of the in-use span s. */
static inline void grey_at(mspan *s, uint32_t i) {
    if (gort__span_isfree(s, i))
        return;
    _Atomic uint64_t *w = (_Atomic uint64_t *)&s->markbits[i / 64];
    uint64_t bit = (uint64_t)1 << (i % 64);
    /* Relaxed: allocators marking black (concurrent mode) set bits of the
     * same words with fetch_or; the bits are read after the final stop,
     * which orders everything. */
    if (atomic_load_explicit(w, memory_order_relaxed) & bit)
        return;
    if (atomic_fetch_or_explicit(w, bit, memory_order_relaxed) & bit)
        return;
    gort__gc_marked_bytes += s->elemsize;
    if (!(s->spc & 1))
        wpush(s->base + (uintptr_t)i * s->elemsize, s->elemsize);
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
static inline void grey(mspan *s, uintptr_t p) {
    uint32_t i;
    if (objindex(s, p, &i))
        grey_at(s, i);
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
static pent pring[PR];                         /* [collector only] */
static uint64_t ppush, pnextb, pnextc, pnextd; /* [collector only] */

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
GORT_NOSAN_SCAN static inline __attribute__((always_inline)) void pstage_d(pent *e) {
    if (e->s != NULL)
        grey_at(e->s, e->i);
    e->v = 0;
    e->s = NULL;
}

GORT_NOSAN_SCAN static inline __attribute__((always_inline)) void ppush1(uintptr_t v) {
    pent *e = &pring[ppush % PR];
    mheap *h = gort__mheap;
    e->v = v;
    __builtin_prefetch(&h->spans[(v - h->arena) >> GORT__HEAP_PAGE_SHIFT]);
    ppush++;
    if (ppush - pnextb > PD)
        pstage_b(&pring[pnextb++ % PR]);
    if (pnextb - pnextc > PD)
        pstage_c(&pring[pnextc++ % PR]);
    if (pnextc - pnextd > PD)
        pstage_d(&pring[pnextd++ % PR]);
}

GORT_NOSAN_SCAN static GORT_NOINLINE void pflush(void) {
    while (pnextb < ppush)
        pstage_b(&pring[pnextb++ % PR]);
    while (pnextc < ppush)
        pstage_c(&pring[pnextc++ % PR]);
    while (pnextd < ppush)
        pstage_d(&pring[pnextd++ % PR]);
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
scanwords(uintptr_t lo, uintptr_t hi, bool vg, bool pipe) {
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
            ppush1(v);
            continue;
        }
        /* Acquire: pairs with mheap_alloc's release (concurrent marking). */
        mspan *s = atomic_load_explicit(&spans[off >> GORT__HEAP_PAGE_SHIFT], memory_order_acquire);
        if (s != NULL)
            grey(s, v);
    }
}

GORT_NOSAN_SCAN static void scanblock(uintptr_t lo, uintptr_t hi) {
    if (GORT__ON_VALGRIND())
        scanwords(lo, hi, true, false);
    else
        scanwords(lo, hi, false, false);
}

/* A stack (or a goroutine's saved registers): through the pipeline
 * (flushed by the next gort__gc_drain). */
GORT_NOSAN_SCAN static void scanroot(uintptr_t lo, uintptr_t hi) {
    if (GORT__ON_VALGRIND())
        scanwords(lo, hi, true, true);
    else
        scanwords(lo, hi, false, true);
}

void gort__gc_mark_range(uintptr_t lo, uintptr_t hi) {
    if (lo < hi)
        scanblock(lo, hi);
}

void gort__gc_mark_ptr(uintptr_t p) {
    mspan *s = gort__spanof(p);
    if (s != NULL)
        grey(s, p);
}

/* Set while marking runs concurrently with the goroutines.  With more
 * than one P the marking goroutine is a dedicated worker (Go's
 * gcMarkWorkerDedicatedMode) and never yields; with GOMAXPROCS=1 it yields
 * every 10 ms or so, so that the others run (Go's fractional worker). */
static bool drain_yields;

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
        if (wlen == 0 && flen == 0) {
            pflush(); /* its greys may push more */
            if (wlen == 0)
                break;
        }
        wentry e;
        if (wlen > 0) {
            wentry x = wbuf[--wlen];
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
        scanblock(e.base, e.base + e.size);
        if (!drain_yields || ++n % 1024 != 0)
            continue;
        if (yields && gort_nanotime() - last > 10000000) {
            gort_yield();
            last = gort_nanotime();
        } else if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed)) {
            /* Someone stops the world (GOMAXPROCS, a dump): stop for it
             * (relaxed: a late look only delays the stop by 1024 objects). */
            gort__preempt_check(gort__getg());
        }
    }
}

/* Rescans the marked objects on the arena pages [lo, hi), which were
 * written while marking ran: only their part inside the range. */
static void rescan_pages(uintptr_t lo, uintptr_t hi) {
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
            scanblock(x, y);
        }
        pg = (b + GORT__HEAP_PAGE - 1) & ~(GORT__HEAP_PAGE - 1);
    }
}

static uint64_t rescanned_bytes;

static void rescan_cb(uintptr_t lo, uintptr_t hi) {
    rescanned_bytes += hi - lo;
    rescan_pages(lo, hi);
}

uint64_t gort__gc_rescan_dirty(bool reprotect) {
    mheap *h = gort__mheap;
    uintptr_t end =
        h->arena + (atomic_load_explicit(&h->used, memory_order_relaxed) << GORT__HEAP_PAGE_SHIFT);
    rescanned_bytes = 0;
    gort__gc_dirty_scan(h->arena, end, reprotect, rescan_cb);
    gort__gc_drain();
    return rescanned_bytes;
}

/* ------------------------------------------------------------------ roots */

static int scan_phdr(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    (void)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        scanblock(lo, lo + ph->p_memsz);
        gort__gc_scanned_globals += ph->p_memsz;
        gort__gc_drain();
    }
    return 0;
}

typedef struct stackscan {
    struct g *self;
} stackscan;

static void scan_stack(uintptr_t lo, uintptr_t hi) {
    if (lo >= hi)
        return;
    scanroot(lo, hi);
    gort__gc_scanned_stacks += hi - lo;
}

/* What the runtime keeps for gp: its start argument and its deferred
 * calls' arguments. */
static void scan_g_runtime(struct g *gp) {
    gort__gc_mark_ptr((uintptr_t)gp->arg);
    for (struct gort__defer *d = gp->defer_; d != NULL; d = d->link)
        gort__gc_mark_ptr((uintptr_t)d->arg);
}

static void scan_g(struct g *gp, void *arg) {
    stackscan *ss = arg;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (st == G_DEAD || st == G_IDLE)
        return;
    scan_g_runtime(gp);
    if (gp == ss->self)
        return; /* scanned from the collector's own sp */
    uintptr_t hi = gp->stack.hi;
    uintptr_t sp;
    const void *regs;
    size_t nregs;
    if (st == G_RUNNING && gort__stw_interrupted_regs(gp, &sp, &regs, &nregs)) {
        scanroot((uintptr_t)regs, (uintptr_t)regs + nregs);
        scan_stack(sp, hi);
    } else if (st == G_RUNNING || st == G_SYSCALL) {
        /* Still running (a blocking call; or stopped somewhere we were not
         * told): all of its stack, conservatively. */
        scan_stack(gp->stack.lo, hi);
    } else if (gp->ctx.sp != NULL) {
        scan_stack((uintptr_t)gp->ctx.sp, hi);
    }
    /* Not drained here: the candidates of one stack are too few to keep
     * the pipeline busy (gort__gc_mark drains once after every stack). */
}

void gort__gc_mark_reset(void) {
    gort__gc_scanned_stacks = 0;
    gort__gc_scanned_globals = 0;
    gort__gc_marked_bytes = 0;
    wlen = 0;
    ppush = pnextb = pnextc = pnextd = 0;
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
    scan_stack(sp, hi);
}

void gort__gc_mark_concurrent(void) {
    struct g *self = gort__getg();
    dl_iterate_phdr(scan_phdr, NULL);
    stackscan ss = {self};
    gort__forallg(scan_g_concurrent, &ss);
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
    stackscan ss = {gort__getg()};
    gort__forallg_stacks(scan_g_concurrent, &ss);
    gort__gc_drain();
    drain_yields = false;
}

void gort__gc_mark(uintptr_t scan_sp, uintptr_t scan_hi) {
    /* Our own stack first, then our own runtime-held pointers. */
    if (scan_hi > scan_sp)
        scan_stack(scan_sp, scan_hi);
    struct g *self = gort__getg();
    if (self != NULL)
        scan_g_runtime(self);
    gort__gc_drain();
    dl_iterate_phdr(scan_phdr, NULL);
    if (gort__runtime_running()) {
        stackscan ss = {self};
        gort__forallg_stacks(scan_g, &ss);
    }
    gort__gc_scan_registered();
    gort__gc_drain();
    gort__fin_markroots();
    gort__gc_drain();
}
