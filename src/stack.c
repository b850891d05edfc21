/*
 * stack.c - goroutine stacks.  Mirrors the intent of runtime/stack.go under
 * ARCHITECTURE.md decision 3: stacks cannot move, so each goroutine gets a
 * fixed-size region of virtual memory, committed lazily by the kernel.
 *
 * Region layout (addresses grow upward):
 *
 *   base            lo                                     hi        base+size
 *   | guard (16 pages) | usable stack ..................... | struct g |
 *
 * Default-size regions are carved from slabs of SLAB_STACKS regions (one
 * mmap each, MAP_NORESERVE), so a million goroutines need only a few
 * thousand mappings.  A slab is 81 MiB of address space: where that much
 * is not to be had (RLIMIT_AS), the slab is halved until it fits, down to
 * one region, so that gort_main and gort_go fail only when not even one
 * stack fits.  The guard pages of each region are installed with
 * madvise(MADV_GUARD_INSTALL) (Linux 6.13+), which does not split the
 * mapping, so vm.max_map_count (65530) is no limit.  On older kernels the
 * guard is an mprotect(PROT_NONE) range (two mappings per stack) while a
 * mapping budget lasts, then a canary word checked when the goroutine parks
 * and exits.  Slab regions are never unmapped before gort_main returns:
 * their gs are type-stable and reused through the free lists in proc.c.
 *
 * Invariants:
 *   - every region is page aligned and a whole number of pages;
 *   - [base, lo) faults (GUARD_MADVISE, GUARD_MPROTECT), or holds the canary
 *     at lo (GUARD_CANARY);
 *   - gort__stack_sys_bytes counts the virtual bytes of all live mappings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define SLAB_STACKS 256
/* Mappings we allow ourselves for mprotect guards before falling back to
 * canaries: half of the default vm.max_map_count, leaving room for malloc,
 * libraries and the user. */
#define MPROTECT_BUDGET 30000

size_t gort__default_stack_size = GORT_DEFAULT_STACK_SIZE;
_Atomic uint64_t gort__stack_sys_bytes;

typedef struct slab {
    struct slab *next; /* [stacklock] */
    uintptr_t base;    /* [immutable] */
    size_t size;       /* [immutable] */
    int cap;           /* [immutable] regions it holds: SLAB_STACKS, fewer under RLIMIT_AS */
    int used;          /* [stacklock] regions carved so far */
} slab;

static struct {
    gort__rtlock lock;
    slab *slabs;          /* [lock] newest first; slabs->used < slabs->cap means room */
    int guard_mode;       /* [lock] GUARD_* chosen at init */
    long mprotect_guards; /* [lock] mappings split by mprotect guards so far */
    uint64_t own_bytes;   /* [lock] the mappings of stacks of their own size */
} stk = {.lock = GORT__RTLOCK_INIT(LOCKRANK_STACK)};

static size_t region_size(size_t usable) {
    size_t need = GORT__GUARD + usable + sizeof(struct g) + 64;
    return (need + GORT__PAGE - 1) & ~(size_t)(GORT__PAGE - 1);
}

/* Can this kernel install guard pages inside a mapping? */
static bool probe_guard_install(void) {
    void *p = gort__mmap(NULL, 2 * GORT__PAGE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return false;
    bool ok = madvise(p, GORT__PAGE, MADV_GUARD_INSTALL) == 0;
    munmap(p, 2 * GORT__PAGE);
    return ok;
}

int gort__stack_init(void) {
    stk.guard_mode = probe_guard_install() ? GUARD_MADVISE : GUARD_MPROTECT;
    const char *env = getenv("GORTSTACKGUARD"); /* testing: force a fallback */
    if (env && strcmp(env, "mprotect") == 0)
        stk.guard_mode = GUARD_MPROTECT;
    else if (env && strcmp(env, "canary") == 0)
        stk.guard_mode = GUARD_CANARY;
    return 0;
}

/* Installs the guard of a region at base.  stk.lock held.  Returns the
 * guard kind actually used. */
static int install_guard(uintptr_t base) {
    if (stk.guard_mode == GUARD_MADVISE) {
        if (madvise((void *)base, GORT__GUARD, MADV_GUARD_INSTALL) == 0)
            return GUARD_MADVISE;
        stk.guard_mode = GUARD_MPROTECT; /* e.g. under valgrind: fall back */
    }
    if (stk.guard_mode == GUARD_MPROTECT && stk.mprotect_guards < MPROTECT_BUDGET) {
        if (mprotect((void *)base, GORT__GUARD, PROT_NONE) == 0) {
            stk.mprotect_guards++;
            return GUARD_MPROTECT;
        }
    }
    *(volatile uint64_t *)(base + GORT__GUARD) = GORT__STACK_CANARY;
    return GUARD_CANARY;
}

static void fill(gort__stack *out, uintptr_t base, size_t size, int kind, int guard) {
    out->base = base;
    out->size = size;
    out->lo = base + GORT__GUARD;
    out->hi = base + size; /* the caller places its struct g below this */
    out->kind = (uint8_t)kind;
    out->guard = (uint8_t)guard;
}

int gort__stackalloc(size_t size, gort__stack *out) {
    if (size < GORT_MIN_STACK_SIZE || size > GORT_MAX_STACK_SIZE)
        return -EINVAL;
    size_t rsize = region_size(size);
    if (size != gort__default_stack_size) {
        void *p = gort__mmap(NULL, rsize, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (p == MAP_FAILED)
            return -ENOMEM;
        gort__vma_name(p, rsize, "gort stack");
        gort__lock(&stk.lock);
        int guard = install_guard((uintptr_t)p);
        stk.own_bytes += rsize;
        gort__unlock(&stk.lock);
        atomic_fetch_add_explicit(&gort__stack_sys_bytes, rsize, memory_order_relaxed);
        fill(out, (uintptr_t)p, rsize, STACK_OWN_MAP, guard);
        return 0;
    }
    gort__lock(&stk.lock);
    slab *s = stk.slabs;
    if (s == NULL || s->used == s->cap) {
        gort__unlock(&stk.lock);
        int cap = SLAB_STACKS;
        size_t ssize;
        void *p;
        for (;;) {
            ssize = rsize * (size_t)cap;
            p = gort__mmap(NULL, ssize, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
            if (p != MAP_FAILED)
                break;
            if (errno != ENOMEM || cap == 1)
                return -ENOMEM;
            cap /= 2; /* RLIMIT_AS, or no hole that large: a smaller slab */
        }
        gort__vma_name(p, ssize, "gort stacks");
        slab *ns = gort__malloc(sizeof *ns);
        if (ns == NULL) {
            munmap(p, ssize);
            return -ENOMEM;
        }
        ns->base = (uintptr_t)p;
        ns->size = ssize;
        ns->cap = cap;
        ns->used = 0;
        atomic_fetch_add_explicit(&gort__stack_sys_bytes, ssize, memory_order_relaxed);
        gort__lock(&stk.lock);
        ns->next = stk.slabs;
        stk.slabs = ns;
        s = ns;
    }
    uintptr_t base = s->base + (uintptr_t)s->used * rsize;
    s->used++;
    int guard = install_guard(base);
    gort__unlock(&stk.lock);
    fill(out, base, rsize, STACK_SLAB, guard);
    return 0;
}

void gort__stackfree(gort__stack *s) {
    if (s->kind != STACK_OWN_MAP)
        return; /* slab regions live until gort__stack_fini */
    gort__lock(&stk.lock);
    if (s->guard == GUARD_MPROTECT)
        stk.mprotect_guards--;
    stk.own_bytes -= s->size;
    gort__unlock(&stk.lock);
    atomic_fetch_sub_explicit(&gort__stack_sys_bytes, s->size, memory_order_relaxed);
    munmap((void *)s->base, s->size);
}

bool gort__stack_in_guard(const gort__stack *s, uintptr_t addr) {
    return addr >= s->base && addr < s->lo;
}

void gort__stack_check_canary(const gort__stack *s, int64_t goid) {
    if (s->guard != GUARD_CANARY)
        return;
    if (*(volatile uint64_t *)s->lo != GORT__STACK_CANARY) {
        gort__printf("runtime: goroutine %lld overran its stack (canary at %p destroyed)\n",
                     (long long)goid, (void *)s->lo);
        gort__throw("stack overflow");
    }
}

/* Sums the resident pages of all slabs (mincore over whole slabs: one
 * call per slab), and counts the stacks of their own size whole (not
 * walked: few, and sized by their users). */
uint64_t gort__stack_resident_bytes(void) {
    uint64_t total = 0;
    static unsigned char
        vec[(SLAB_STACKS * (GORT_DEFAULT_STACK_SIZE + GORT__GUARD + 2 * GORT__PAGE)) / GORT__PAGE +
            16];
    gort__lock(&stk.lock);
    for (slab *s = stk.slabs; s; s = s->next) {
        size_t pages = s->size / GORT__PAGE;
        if (pages > sizeof vec)
            continue;
        if (mincore((void *)s->base, s->size, vec) != 0)
            continue;
        for (size_t i = 0; i < pages; i++)
            total += (vec[i] & 1) ? GORT__PAGE : 0;
    }
    total += stk.own_bytes;
    gort__unlock(&stk.lock);
    return total;
}

void gort__stack_fini(void) {
    gort__lock(&stk.lock);
    slab *s = stk.slabs;
    stk.slabs = NULL;
    stk.mprotect_guards = 0;
    gort__unlock(&stk.lock);
    while (s) {
        slab *next = s->next;
        atomic_fetch_sub_explicit(&gort__stack_sys_bytes, s->size, memory_order_relaxed);
        munmap((void *)s->base, s->size);
        gort__free(s);
        s = next;
    }
}
