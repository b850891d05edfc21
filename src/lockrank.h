/*
 * lockrank.h - the rank of every runtime lock (gort__rtlock) and the order
 * they may be taken in.  Mirrors runtime/lockrank.go (generated there by
 * mklockrank.go); lockrank.c has the table and the checks.
 *
 * A lock is given its rank where it is made: GORT__RTLOCK_INIT for a
 * static, gort__lockinit for one in memory that was zeroed (calloc'd or
 * mmap'd structures: a channel, a context, a bubble and its timer heap,
 * the page heap and its mcentrals, a P's timer heap; sched's locks at
 * every schedinit).  With GORT_LOCKRANK (the dev preset) every gort__lock
 * checks the ranks of the locks its thread already holds against the
 * table and throws "lock ordering problem" on a violation, before it can
 * deadlock; taking a lock that has no rank (LOCKRANK_NONE: zeroed and
 * never given one), by gort__lock or gort__trylock, throws "lock ordering
 * problem: lock without a rank".  Without GORT_LOCKRANK the ranks and the
 * checks compile to nothing.  Ranks are listed roughly outermost first,
 * but the order is the table in lockrank.c, not the numbering.
 */
#ifndef GORT_LOCKRANK_H
#define GORT_LOCKRANK_H

#include "runtime.h"

enum {
    LOCKRANK_NONE = 0,
    LOCKRANK_CTX,          /* a gort_ctx's lock (context.c): parent before child */
    LOCKRANK_NOPCACHE,     /* gort__mcache_nop_lock (mcache.c): held through a collection */
    LOCKRANK_GCCHANS,      /* chanlock (mgc.c): the channels the collector scans */
    LOCKRANK_ASSISTQ,      /* aqlock (mgcmark.c): the mark assists' queue */
    LOCKRANK_SCHED,        /* sched.lock */
    LOCKRANK_ALLG,         /* allglock (proc.c): allgs */
    LOCKRANK_POLLER,       /* poller_lock (proc.c): the M blocked in the poller */
    LOCKRANK_HCHAN,        /* a channel's lock (chan.h) */
    LOCKRANK_SEMAROOT,     /* a semaphore root (sema.c) */
    LOCKRANK_NOTIFYLIST,   /* a gort_cond's notifyList (sema.c) */
    LOCKRANK_POLLDESC,     /* a pollDesc (netpoll.h) */
    LOCKRANK_TIMERS,       /* a P's or a synctest bubble's timer heap (time.c) */
    LOCKRANK_GFREE,        /* sched.gflock: the global free gs */
    LOCKRANK_SUDOG,        /* sched.sudoglock */
    LOCKRANK_DEFER,        /* sched.deferlock */
    LOCKRANK_STACK,        /* stk.lock (stack.c): slabs and the stack pool */
    LOCKRANK_BUBBLE,       /* a synctest bubble's lock (synctest.c) */
    LOCKRANK_ABANDONED,    /* abandoned_lock (synctest.c): bubbles a deadlock left */
    LOCKRANK_TRACE,        /* tr.lock (trace.c): the global buffer, the fd, start/stop */
    LOCKRANK_TRACESTACKS,  /* tr.stacks.lock (trace.c): the stack table */
    LOCKRANK_TRACESTRINGS, /* tr.strs.lock (trace.c): the string table */
    LOCKRANK_MCENTRAL,     /* a span class's mcentral (malloc.h) */
    LOCKRANK_MHEAP,        /* the page heap's lock (malloc.h) */
    LOCKRANK_FIN,          /* finlock (mfinal.c): finalizers and their queue */
    LOCKRANK_HEAPPROF,     /* heaplock (pprof.c): the heap profile */
    LOCKRANK_BLOCKPROF,    /* blocklock (pprof.c): the block and mutex profiles */
    LOCKRANK_THREADPROF,   /* tclock (pprof.c): the threadcreate profile */
    LOCKRANK_CPUPROF,      /* cpu.lock (pprof.c): the CPU profile and its threads */
    LOCKRANK_LABELS,       /* labellock (pprof.c): interned profiler label sets */
    LOCKRANK_GCWORK,       /* wlock (mgcmark.c): the shared blocks of grey objects */
    LOCKRANK_GCROOTS,      /* rootlock (mgc.c): registered roots */
    LOCKRANK_GCSTATS,      /* statlock (mgc.c): the cycles' statistics */
    LOCKRANK_SYMTAB,       /* buildlock (symtab.c) */
    LOCKRANK_DWARF,        /* dwlock (traceback.c) */
    LOCKRANK_PRINT,        /* printlk (print.c): dumps take the others under it */
    LOCKRANK_FIXALLOC,     /* fixlock (mfixalloc.c): a leaf, taken under any other */
    LOCKRANK_N
};
_Static_assert(LOCKRANK_N <= 64, "lockrank.c keeps a set of ranks in a uint64_t");

#ifdef GORT_LOCKRANK
#define GORT__RTLOCK_INIT(r) \
    { .rank = (r) }
static inline void gort__lockinit(gort__rtlock *l, uint32_t rank) {
    l->rank = rank;
}
/* lock_futex.c calls these around taking and releasing l. */
void gort__lockrank_check(gort__rtlock *l);
void gort__lockrank_held(gort__rtlock *l);
void gort__lockrank_released(gort__rtlock *l);
#else
#define GORT__RTLOCK_INIT(r) \
    { 0 }
static inline void gort__lockinit(gort__rtlock *l, uint32_t rank) {
    (void)l;
    (void)rank;
}
#endif

#endif
