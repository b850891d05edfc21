/*
 * lockrank.h - the rank of every runtime lock (gort__rtlock) and the order
 * they may be taken in.  Mirrors runtime/lockrank.go (generated there by
 * mklockrank.go); lockrank.c has the table and the checks.
 *
 * A lock is given its rank where it is made (gort__lockinit, or
 * GORT__RTLOCK_INIT for a static).  With GORT_LOCKRANK (the dev preset)
 * every gort__lock checks the ranks of the locks its thread already holds
 * against the table and throws "lock ordering problem" on a violation,
 * before it can deadlock; without it the ranks and the checks compile to
 * nothing.  A lock of rank LOCKRANK_NONE (never given one: a zeroed lock)
 * is not checked.  Ranks are listed roughly outermost first, but the
 * order is the table in lockrank.c, not the numbering.
 */
#ifndef GORT_LOCKRANK_H
#define GORT_LOCKRANK_H

#include "runtime.h"

enum {
    LOCKRANK_NONE = 0,
    LOCKRANK_SCHED,      /* sched.lock */
    LOCKRANK_ALLG,       /* allglock (proc.c): allgs */
    LOCKRANK_POLLER,     /* poller_lock (proc.c): the M blocked in the poller */
    LOCKRANK_HCHAN,      /* a channel's lock (chan.h) */
    LOCKRANK_SEMAROOT,   /* a semaphore root (sema.c) */
    LOCKRANK_NOTIFYLIST, /* a gort_cond's notifyList (sema.c) */
    LOCKRANK_POLLDESC,   /* a pollDesc (netpoll.h) */
    LOCKRANK_TIMERS,     /* a P's timer heap (time.c) */
    LOCKRANK_GFREE,      /* sched.gflock: the global free gs */
    LOCKRANK_SUDOG,      /* sched.sudoglock */
    LOCKRANK_DEFER,      /* sched.deferlock */
    LOCKRANK_STACK,      /* stk.lock (stack.c): slabs and the stack pool */
    LOCKRANK_SYMTAB,     /* buildlock (symtab.c) */
    LOCKRANK_DWARF,      /* dwlock (traceback.c) */
    LOCKRANK_PRINT,      /* printlk (print.c): taken with anything held */
    LOCKRANK_N
};

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
