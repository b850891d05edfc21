/*
 * mfinal.c - finalizers.  Mirrors runtime/mfinal.go (SetFinalizer,
 * queuefinalizer, the finalizer goroutine) and the finalizer specials of
 * mheap.go.
 *
 * Go's rules:
 *   - an object with a finalizer is not freed by the cycle that finds it
 *     unreachable: its finalizer is queued, and the object and everything it
 *     reaches survive that cycle (its contents are marked as roots during
 *     every mark, so they stay alive while the object does); once the
 *     finalizer has run, and the object is unreachable again, a later
 *     cycle frees it;
 *   - since an object's contents are roots, an object reachable from
 *     another finalized object (or from itself, through a cycle) stays
 *     reachable: finalizers run in dependency order, and cycles through
 *     finalized objects are never collected;
 *   - finalizers run one at a time, in queue order, on one goroutine, which
 *     waits as "finalizer wait" when the queue is empty.
 *
 * The table of finalizers (object -> function) is an open-addressing hash
 * table in malloc'd memory (not scanned: it must not keep objects alive);
 * the queue is scanned as a root.  Both under finlock.
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "lockrank.h"
#include "malloc.h"

typedef struct finrec {
    uintptr_t obj; /* 0: empty; 1: deleted */
    void (*fn)(void *);
} finrec;

static gort__rtlock finlock = GORT__RTLOCK_INIT(LOCKRANK_FIN);
static finrec *fintab; /* [finlock] */
static size_t fincap, finused, finlive;
static finrec *finq; /* [finlock] queued, FIFO ring */
static size_t finqcap, finqhead, finqlen;
static struct g *fing_parked; /* [finlock] the finalizer goroutine, parked */
static bool fing_started;     /* [finlock] created in this gort_main run */

_Atomic int gort__fing_system;

static size_t finhash(uintptr_t p, size_t cap) {
    return (size_t)((p >> 3) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

_Noreturn static void fin_oom(void) {
    gort__printf("runtime: cannot grow the finalizer table\n");
    gort__throw("runtime: out of memory");
}

static void fintab_rehash(size_t ncap) {
    finrec *n = gort__fixcalloc(ncap, sizeof *n); /* finlock held: not malloc (mfixalloc.c) */
    if (n == NULL)
        fin_oom();
    for (size_t i = 0; i < fincap; i++) {
        if (fintab[i].obj > 1) {
            size_t j = finhash(fintab[i].obj, ncap);
            while (n[j].obj != 0)
                j = (j + 1) & (ncap - 1);
            n[j] = fintab[i];
        }
    }
    gort__fixfree(fintab);
    fintab = n;
    fincap = ncap;
    finused = finlive;
}

static finrec *fintab_find(uintptr_t obj) {
    if (fincap == 0)
        return NULL;
    for (size_t j = finhash(obj, fincap); fintab[j].obj != 0; j = (j + 1) & (fincap - 1))
        if (fintab[j].obj == obj)
            return &fintab[j];
    return NULL;
}

/* dl_iterate_phdr's callback: *arg (an address) lies in a writable
 * PT_LOAD segment of this object?  Then *arg becomes 0. */
static int writable_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    uintptr_t *p = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && *p >= lo && *p - lo < ph->p_memsz) {
            *p = 0;
            return 1;
        }
    }
    return 0;
}

static bool in_writable_segment(uintptr_t p) {
    dl_iterate_phdr(writable_cb, &p);
    return p == 0;
}

GORT_API void gort_set_finalizer(void *obj, void (*fn)(void *obj)) {
    if (obj == NULL)
        gort_panic("runtime.SetFinalizer: first argument is nil");
    mspan *s = gort__mheap_made() != NULL ? gort__spanof((uintptr_t)obj) : NULL;
    if (s == NULL || (uintptr_t)obj >= s->limit) {
        /* Go's "global initializers might be linker-allocated": a pointer
         * into the data or bss of a loaded object is let be. */
        if (in_writable_segment((uintptr_t)obj))
            return;
        gort_panic("runtime.SetFinalizer: pointer not in allocated block");
    }
    /* base, elemsize, divmagic are fixed while the span is in use, and the
     * caller's own allocation of obj ordered their stores before this. */
    uint32_t i = s->nelems > 1 ? gort__span_objindex(s, (uintptr_t)obj) : 0;
    if ((uintptr_t)obj != s->base + (uintptr_t)i * s->elemsize)
        gort_panic("runtime.SetFinalizer: pointer not at beginning of allocated block");
    /* Race mode (docs/HACKING.md): this call -> fn(obj) (edge 25), which
     * run_one acquires on obj's address; before the entry is in the table,
     * so before the collector can queue it.  finlock orders the two for
     * the runtime, but ThreadSanitizer sees no runtime lock. */
    if (fn != NULL)
        san_release(obj);
    gort__lock(&finlock);
    finrec *r = fintab_find((uintptr_t)obj);
    if (fn == NULL) {
        if (r != NULL) {
            r->obj = 1;
            finlive--;
        }
        gort__unlock(&finlock);
        return;
    }
    if (r != NULL) {
        gort__unlock(&finlock);
        gort_panic("runtime.SetFinalizer: finalizer already set");
    }
    if ((finused + 1) * 4 > fincap * 3)
        fintab_rehash(finlive * 4 > fincap ? (fincap ? fincap * 2 : 64) : (fincap ? fincap : 64));
    size_t j = finhash((uintptr_t)obj, fincap);
    while (fintab[j].obj > 1)
        j = (j + 1) & (fincap - 1);
    if (fintab[j].obj == 0)
        finused++;
    fintab[j] = (finrec){(uintptr_t)obj, fn};
    finlive++;
    gort__unlock(&finlock);
}

/* With the world stopped; finlock is free (nobody holds it across a park,
 * and a thread outside the runtime holds it only briefly). */
void gort__fin_markroots(void) {
    gort__lock(&finlock);
    for (size_t i = 0; i < fincap; i++) {
        uintptr_t obj = fintab[i].obj;
        if (obj <= 1)
            continue;
        mspan *s = gort__spanof(obj);
        if (s != NULL && !(s->spc & 1))
            gort__gc_mark_range(obj, obj + s->elemsize);
    }
    for (size_t k = 0; k < finqlen; k++)
        gort__gc_mark_ptr(finq[(finqhead + k) % finqcap].obj);
    gort__unlock(&finlock);
}

static void finq_push(finrec r) {
    if (finqlen == finqcap) {
        size_t ncap = finqcap ? finqcap * 2 : 64;
        finrec *n = gort__fixcalloc(ncap, sizeof *n); /* finlock held */
        if (n == NULL)
            fin_oom();
        for (size_t k = 0; k < finqlen; k++)
            n[k] = finq[(finqhead + k) % finqcap];
        gort__fixfree(finq);
        finq = n;
        finqcap = ncap;
        finqhead = 0;
    }
    finq[(finqhead + finqlen++) % finqcap] = r;
}

int gort__fin_queue_unmarked(void) {
    int n = 0;
    gort__lock(&finlock);
    for (size_t i = 0; i < fincap; i++) {
        uintptr_t obj = fintab[i].obj;
        if (obj <= 1)
            continue;
        mspan *s = gort__spanof(obj);
        if (s == NULL)
            continue;
        uint32_t idx = s->nelems > 1 ? gort__span_objindex(s, obj) : 0;
        uint64_t bit = (uint64_t)1 << (idx % 64);
        if (s->markbits[idx / 64] & bit)
            continue;
        /* Unreachable: queue the finalizer and keep the object (its
         * contents were marked as roots) for one more cycle. */
        s->markbits[idx / 64] |= bit;
        gort__gc_marked_bytes += s->elemsize;
        finq_push(fintab[i]);
        fintab[i].obj = 1;
        finlive--;
        n++;
    }
    gort__unlock(&finlock);
    return n;
}

static bool fin_park_unlock(struct g *gp, void *arg) {
    (void)arg;
    fing_parked = gp;
    gort__unlock(&finlock);
    return true;
}

/* Runs the next queued finalizer; false if the queue is empty (finlock is
 * then held). */
static GORT_NOINLINE bool run_one(void) {
    gort__lock(&finlock);
    if (finqlen == 0)
        return false;
    finrec r = finq[finqhead];
    finqhead = (finqhead + 1) % finqcap;
    finqlen--;
    gort__unlock(&finlock);
    /* Relaxed: a count for gort_numgoroutine, racy by nature there. */
    atomic_store_explicit(&gort__fing_system, 0, memory_order_relaxed);
    san_acquire((void *)r.obj); /* <- gort_set_finalizer (race mode) */
    r.fn((void *)r.obj);
    atomic_store_explicit(&gort__fing_system, 1, memory_order_relaxed);
    return true;
}

/* Overwrites the stack below the caller's frame: the finalizer's dead
 * frames still hold its object's address, and the collector scans a
 * parked goroutine's frames conservatively, so the goroutine would keep
 * the object it just finalized alive (Boehm's GC_clear_stack). */
static GORT_NOINLINE void scrub_stack(void) {
    volatile char pad[4096];
    memset((char *)pad, 0, sizeof pad);
    gort_keep_alive((const void *)pad);
}

/* The finalizer goroutine (Go's runfinq). */
static void runfinq(void *arg) {
    (void)arg;
    for (;;) {
        while (run_one())
            scrub_stack();
        /* finlock held, queue empty. */
        gort__gopark(fin_park_unlock, NULL, WAIT_FINALIZER_WAIT);
    }
}

void gort__fin_wake(void) {
    if (!gort__runtime_running())
        return;
    gort__lock(&finlock);
    if (finqlen == 0) {
        gort__unlock(&finlock);
        return;
    }
    struct g *gp = fing_parked;
    fing_parked = NULL;
    bool start = !fing_started;
    fing_started = true;
    gort__unlock(&finlock);
    if (gp != NULL) {
        gort__goready(gp);
    } else if (start) {
        atomic_store_explicit(&gort__fing_system, 1, memory_order_relaxed);
        if (gort__go_system(runfinq, NULL, NULL) != 0) {
            atomic_store_explicit(&gort__fing_system, 0, memory_order_relaxed);
            gort__lock(&finlock);
            fing_started = false; /* the next cycle tries again */
            gort__unlock(&finlock);
        }
    }
}

void gort__fin_reset_run(void) {
    atomic_store_explicit(&gort__fing_system, 0, memory_order_relaxed);
    gort__lock(&finlock);
    fing_parked = NULL;
    fing_started = false;
    gort__unlock(&finlock);
}
