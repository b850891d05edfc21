/*
 * export_test.c - white-box hooks for the tests (Go's export_test.go):
 * each exposes one internal the tests need, so that they include
 * export_test.h instead of the runtime's private headers.  Compiled only
 * into test programs (CMake: gort_export_test), never into libgort.
 */
#include "export_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "fault.h"
#include "internal.h"
#include "lockrank.h"
#include "malloc.h"
#include "trace.h"

int gort__export_chan_qlen(gort_chan *c, bool send) {
    gort__lock(&c->lock);
    int n = 0;
    /* Relaxed: c->lock orders every write of the queue before us. */
    for (struct sudog *s =
             atomic_load_explicit(send ? &c->sendq.first : &c->recvq.first, memory_order_relaxed);
         s != NULL; s = s->next)
        n++;
    gort__unlock(&c->lock);
    return n;
}

void gort__export_sysmon_nopreempt(bool on) {
    /* Relaxed: set before gort_main starts sysmon (pthread_create orders it). */
    atomic_store_explicit(&gort__sysmon_nopreempt, on, memory_order_relaxed);
}

void gort__export_sysmon_stall(int64_t ns) {
    /* Relaxed: set before gort_main starts sysmon (pthread_create orders it). */
    atomic_store_explicit(&gort__sysmon_stall_ns, ns, memory_order_relaxed);
}

int64_t gort__export_timers_earliest(void) {
    return gort__timers_earliest();
}

int64_t gort__export_ctx_live(void) {
    return atomic_load_explicit(&gort__ctx_live, memory_order_relaxed);
}

int gort__export_netpoll_waiters(void) {
    return gort__netpoll_waiters();
}

bool gort__export_lockrank_enabled(void) {
#ifdef GORT_LOCKRANK
    return true;
#else
    return false;
#endif
}

void gort__export_lockrank_pair(bool reversed) {
    static gort__rtlock outer = GORT__RTLOCK_INIT(LOCKRANK_SCHED);
    static gort__rtlock inner = GORT__RTLOCK_INIT(LOCKRANK_ALLG);
    gort__rtlock *first = reversed ? &inner : &outer;
    gort__rtlock *second = reversed ? &outer : &inner;
    gort__lock(first);
    gort__lock(second);
    gort__unlock(second);
    gort__unlock(first);
}

void gort__export_lockrank_nested(int n) {
    gort__rtlock *ls = calloc((size_t)n, sizeof *ls);
    if (ls == NULL)
        gort__throw("out of memory");
    for (int i = 0; i < n; i++) {
        gort__lockinit(&ls[i], LOCKRANK_HCHAN);
        gort__lock(&ls[i]);
    }
    for (int i = 0; i < n; i++)
        gort__unlock(&ls[i]);
    gort__free(ls);
}

void gort__export_lockrank_unranked(bool try) {
    static gort__rtlock unranked; /* zero: no GORT__RTLOCK_INIT */
    if (try) {
        if (!gort__trylock(&unranked))
            gort__throw("trylock of a free lock failed");
    } else {
        gort__lock(&unranked);
    }
    gort__unlock(&unranked);
}

uintptr_t gort__export_heap_arena(void) {
    gort__mheap_init();
    return gort__mheap->arena;
}

void gort__export_heap_lock(bool take) {
    gort__mheap_init();
    if (take)
        gort__lock(&gort__mheap->lock);
    else
        gort__unlock(&gort__mheap->lock);
}

void gort__export_gc_lock(bool take) {
    if (take)
        gort__gc_hold();
    else
        gort__gc_release();
}

uint64_t gort__export_gc_throttled(void) {
    return gort__gc_throttled();
}

bool gort__export_gc_concurrent(void) {
    return atomic_load_explicit(&gort__gc_concurrent, memory_order_relaxed) != 0;
}

void gort__export_gc_scan_steps(const void *p, size_t size, uint64_t *steps, uint64_t *largest) {
    gort__gc_scan_steps((uintptr_t)p, size, steps, largest);
}

int gort__export_gc_globals_covers_after(void (*between)(void *arg), void *arg, void *const *where,
                                         bool walk, bool lister, bool *by_lister) {
    return gort__gc_globals_test(between, arg, where, walk, lister, by_lister);
}

uintptr_t gort__export_traceback_scan_fp(uintptr_t sp, uintptr_t lo, uintptr_t hi, uintptr_t *own) {
    return gort__traceback_scan_fp(sp, lo, hi, own);
}

bool gort__export_preempt_pc_is_user(uintptr_t pc) {
    return gort__preempt_pc_class(pc) == GORT__PC_USER;
}

struct age_arg {
    int64_t goid, ns;
    bool found;
};

static void age_one(struct g *gp, void *arg) {
    struct age_arg *a = arg;
    if (gp->goid == a->goid &&
        atomic_load_explicit(&gp->status, memory_order_relaxed) == G_WAITING) {
        gp->waitsince -= a->ns;
        a->found = true;
    }
}

bool gort__export_age_wait(int64_t goid, int64_t ns) {
    struct age_arg a = {goid, ns, false};
    gort__forallg(age_one, &a);
    return a.found;
}

void gort__export_pidfd_off(bool on) {
    atomic_store_explicit(&gort__pidfd_off, on, memory_order_relaxed);
}

void gort__export_trace_gc_start(void) {
    gort__trace_gc_start();
}

void gort__export_trace_heap(uint64_t live, uint64_t goal) {
    gort__trace_heap(live, goal);
}

void gort__export_trace_gc_done(void) {
    gort__trace_gc_done();
}

uint64_t gort__export_npreempt_async(void) {
    return atomic_load_explicit(&gort__npreempt_async, memory_order_relaxed);
}

uint64_t gort__export_npreempt_syscall(void) {
    return atomic_load_explicit(&gort__npreempt_syscall, memory_order_relaxed);
}

bool gort__export_set_asyncpreemptoff(bool off) {
    bool was = gort__asyncpreemptoff;
    gort__asyncpreemptoff = off;
    return was;
}

void gort__export_futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns) {
    gort__futexsleep(addr, val, ns);
}

double gort__export_cgroup_cpu_limit_from(const char *procfile, const char *mountinfo) {
    return gort__cgroup_cpu_limit_from(procfile, mountinfo);
}

void *gort__export_getg(void) {
    return gort__getg();
}

void gort__export_stop_the_world(void) {
    gort__stop_the_world("test");
}

void gort__export_start_the_world(void) {
    gort__start_the_world();
}

bool gort__export_gcwaiting(void) {
    /* Relaxed: the caller polls it. */
    return atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed);
}

bool gort__export_others_stopped(void) {
    struct m *self = gort__getm();
    int procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int i = 0; i < procs; i++) {
        struct p *pp = gort__allp[i];
        /* Relaxed: the world is stopped, and the stop ordered the writes. */
        if (pp != self->p && atomic_load_explicit(&pp->status, memory_order_relaxed) != P_GCSTOP)
            return false;
    }
    return true;
}

int gort__export_stw_interrupted(void *g) {
    struct g *gp = g;
    uintptr_t sp;
    const void *regs;
    size_t len;
    if (gort__stw_interrupted_regs(gp, &sp, &regs, &len))
        return sp >= gp->stack.lo && sp < gp->stack.hi && regs != NULL &&
                       len >= 16 * sizeof(uintptr_t)
                   ? 1
                   : -1;
    /* Relaxed: the world is stopped. */
    return atomic_load_explicit(&gp->status, memory_order_relaxed) != G_RUNNING ? 0 : -1;
}

int gort__export_fixalloc_check(void) {
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 4000, 65519, 65520, 65521, 1 << 20};
    enum { N = sizeof sizes / sizeof sizes[0] };
    unsigned char *ps[N];
    static gort__rtlock l = GORT__RTLOCK_INIT(LOCKRANK_GCSTATS);
    gort__lock(&l); /* allowed under any runtime lock */
    for (size_t i = 0; i < N; i++) {
        ps[i] = gort__fixalloc(sizes[i]);
        if (ps[i] == NULL || ((uintptr_t)ps[i] & 63) != 0) {
            gort__unlock(&l);
            return 1;
        }
        for (size_t k = 0; k < sizes[i]; k++)
            if (ps[i][k] != 0) {
                gort__unlock(&l);
                return 2;
            }
        memset(ps[i], 0xa5, sizes[i]);
    }
    gort__unlock(&l);
    /* Grown and shrunk, the first bytes stay. */
    unsigned char *r = gort__fixrealloc(ps[5], 70000);
    if (r == NULL || r[0] != 0xa5 || r[99] != 0xa5 || r[100] != 0)
        return 3;
    r = gort__fixrealloc(r, 50);
    if (r == NULL || r[0] != 0xa5 || r[49] != 0xa5)
        return 4;
    ps[5] = r;
    for (size_t i = 0; i < N; i++)
        gort__fixfree(ps[i]);
    /* Freed blocks come back zeroed. */
    for (size_t i = 0; i < N; i++) {
        unsigned char *p = gort__fixcalloc(1, sizes[i]);
        if (p == NULL)
            return 5;
        for (size_t k = 0; k < sizes[i]; k++)
            if (p[k] != 0)
                return 6;
        gort__fixfree(p);
    }
    if (gort__fixcalloc(SIZE_MAX / 2, 4) != NULL)
        return 7;
    gort__fixfree(NULL);
    return 0;
}

void gort__export_fixfree_twice(void) {
    void *p = gort__fixalloc(40);
    gort__fixfree(p);
    gort__fixfree(p);
}

bool gort__export_malloc_check_enabled(void) {
    return GORT_DEBUG >= 1;
}

void gort__export_malloc_under_lock(bool free_only) {
    void *p = free_only ? gort__malloc(16) : NULL;
    static gort__rtlock l = GORT__RTLOCK_INIT(LOCKRANK_GCSTATS);
    gort__lock(&l);
    if (free_only)
        gort__free(p);
    else
        p = gort__malloc(16);
    gort__unlock(&l);
    if (!free_only)
        gort__free(p);
}

int gort__export_lookup_port_in(const char *path, int socktype, const char *service, int *port) {
    return gort__lookup_port_in(path, socktype, service, port);
}
