/*
 * sync.c - package sync: Mutex, RWMutex, Once, WaitGroup, Cond.  Mirrors
 * sync/mutex.go, sync/rwmutex.go, sync/once.go, sync/waitgroup.go and
 * sync/cond.go, over the semaphores of sema.c (runtime/sema.go).
 *
 * The struct layouts are public (gort.h) so that the types can live on the
 * stack and in other structs; their fields are accessed here through
 * atomic views (SYNC_ATOMIC).  The all-zero value of each is ready to use,
 * except gort_cond (gort_cond_init).  Nothing here knows whether the caller
 * is a goroutine or a thread outside the runtime: gort__semacquire and the
 * notify list park through gort__gopark, which blocks a foreign thread on a
 * futex instead.
 *
 * Memory order, in one sentence per type (details at each operation):
 *   Mutex: the CAS that sets mutexLocked is an acquire; the decrement that
 *     clears it in unlock is a release.  In starvation mode ownership passes
 *     through the semaphore (its release/acquire pair) instead.
 *   RWMutex: a reader's increment of readerCount acquires the writer's
 *     release in Unlock; a reader's decrement (RUnlock) releases to the
 *     writer's acquire in Lock, directly or through readerWait.
 *   Once: done is stored with release after fn returns, loaded with acquire.
 *   WaitGroup: every Add/Done is an acq_rel RMW on one word, so the RMW that
 *     takes the counter to zero has acquired every earlier Done; Wait's load
 *     (fast path) acquires the Done that made it zero, and its slow path is
 *     synchronised by the semaphore.
 *   Cond: the notify list's lock and goready (sema.c).
 *
 * Preemption points: every operation that may block parks through the
 * semaphore or the notify list (a scheduling point), and the mutex slow
 * paths check gp->preempt.  The uncontended fast paths do not: finding the
 * current g is an out-of-line call that would cost as much as the
 * operation itself (Go's fast paths are inlined and rely on asynchronous
 * preemption instead).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "san.h"

/* An atomic view of a plain public field (gort.h cannot use _Atomic). */
#define SYNC_ATOMIC(T, p) ((_Atomic T *)(p))

/* ------------------------------------------------------------------------
 * Mutex (sync/mutex.go)
 * ------------------------------------------------------------------------
 *
 * state: bit 0 mutexLocked, bit 1 mutexWoken (a waiter is awake, unlock
 * need not wake another), bit 2 mutexStarving, bits 3.. the number of
 * waiters blocked on sema.
 *
 * Mutex fairness.  A Mutex operates in two modes: normal and starvation.
 * In normal mode waiters are queued FIFO, but a woken waiter does not own
 * the mutex and competes with newly arriving goroutines for it; those have
 * an advantage (they are already running, and there can be many of them),
 * so a woken waiter often loses, and is then queued at the front.  A waiter
 * that fails to acquire the mutex for more than 1 ms switches the mutex to
 * starvation mode, in which the unlocker hands ownership directly to the
 * waiter at the front of the queue; newcomers neither try to acquire it nor
 * spin, they queue at the tail.  A waiter that receives ownership and is
 * the last waiter, or waited less than 1 ms, switches back to normal mode.
 * Normal mode performs much better (a goroutine can take the mutex several
 * times in a row even with waiters); starvation mode bounds tail latency.
 */

enum {
    MUTEX_LOCKED = 1,
    MUTEX_WOKEN = 2,
    MUTEX_STARVING = 4,
    MUTEX_WAITER_SHIFT = 3,
};
#define STARVATION_THRESHOLD_NS INT64_C(1000000)

/* Go's active_spin and active_spin_cnt (proc.go). */
#define ACTIVE_SPIN 4
#define ACTIVE_SPIN_CNT 30

#define MSTATE(m) SYNC_ATOMIC(int32_t, &(m)->_state)
#define MSEMA(m) SYNC_ATOMIC(uint32_t, &(m)->_sema)

/*
 * Go's sync_runtime_canSpin.  sync.Mutex is cooperative, so spin only a few
 * times, and only on a multicore machine with GOMAXPROCS > 1, at least one
 * other running P (approximated as Go does: not every other P idle or
 * spinning) and an empty local run queue (else running that work beats
 * spinning).  All reads are relaxed: a heuristic.
 */
static bool can_spin(int iter) {
    if (iter >= ACTIVE_SPIN || gort__ncpu() <= 1)
        return false;
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    int32_t idle = atomic_load_explicit(&gort__sched.npidle, memory_order_relaxed) +
                   atomic_load_explicit(&gort__sched.nmspinning, memory_order_relaxed);
    if (procs <= idle + 1)
        return false;
    struct m *mp = gort__getm();
    struct p *pp = mp != NULL ? mp->p : NULL;
    if (pp != NULL) {
        uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
        if (h != t || atomic_load_explicit(&pp->runnext, memory_order_relaxed) != NULL)
            return false;
    }
    return true;
}

/* reason: what a waiter shows in dumps (sync.Mutex.Lock; semacquire for
 * the runtime's own locks: gort__mutex_lock_sema), and whether the block
 * profile records it (gort__blockprof_reason). */
static inline __attribute__((always_inline)) void mutex_lock_slow(gort_mutex *m, uint8_t reason) {
    _Atomic int32_t *state = MSTATE(m);
    int64_t wait_start = 0;
    bool starving = false, awoke = false;
    int iter = 0;
    int32_t old = atomic_load_explicit(state, memory_order_relaxed);
    gort__preempt_check(gort__getg());
    for (;;) {
        /* Don't spin in starvation mode: ownership is handed off to
         * waiters, so we won't be able to acquire the mutex anyway. */
        if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED && can_spin(iter)) {
            /* Active spinning makes sense.  Try to set mutexWoken to tell
             * Unlock not to wake other blocked goroutines.  (Relaxed: a
             * hint between contenders, no data.) */
            if (!awoke && (old & MUTEX_WOKEN) == 0 && (old >> MUTEX_WAITER_SHIFT) != 0 &&
                atomic_compare_exchange_strong_explicit(state, &old, old | MUTEX_WOKEN,
                                                        memory_order_relaxed, memory_order_relaxed))
                awoke = true;
            gort__procyield(ACTIVE_SPIN_CNT);
            iter++;
            old = atomic_load_explicit(state, memory_order_relaxed);
            continue;
        }
        int32_t nstate = old;
        /* Don't try to acquire a starving mutex: new arrivals must queue. */
        if ((old & MUTEX_STARVING) == 0)
            nstate |= MUTEX_LOCKED;
        if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) != 0)
            nstate += 1 << MUTEX_WAITER_SHIFT;
        /* The current goroutine switches the mutex to starvation mode.  But
         * if the mutex is unlocked now, don't: Unlock expects a starving
         * mutex to have waiters, which would not be true here. */
        if (starving && (old & MUTEX_LOCKED) != 0)
            nstate |= MUTEX_STARVING;
        if (awoke) {
            /* We have been woken from sleep, so reset the flag either way. */
            if ((nstate & MUTEX_WOKEN) == 0)
                gort__throw("sync: inconsistent mutex state");
            nstate &= ~MUTEX_WOKEN;
        }
        /* Acquire on success: when this CAS takes the lock it pairs with
         * the release in gort_mutex_unlock.  When it only registers us as a
         * waiter the acquire is unneeded but harmless (one CAS serves both). */
        if (atomic_compare_exchange_weak_explicit(state, &old, nstate, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == 0)
                break; /* locked the mutex with the CAS */
            /* If we were already waiting before, queue at the front. */
            bool lifo = wait_start != 0;
            if (wait_start == 0)
                wait_start = gort_nanotime();
            gort__semacquire(MSEMA(m), lifo, reason);
            starving = starving || gort_nanotime() - wait_start > STARVATION_THRESHOLD_NS;
            old = atomic_load_explicit(state, memory_order_relaxed);
            if ((old & MUTEX_STARVING) != 0) {
                /* We were woken in starvation mode: ownership was handed
                 * to us (the semaphore's release/acquire ordered the
                 * previous owner's critical section before us), but the
                 * state is inconsistent: mutexLocked is not set and we are
                 * still counted as a waiter.  Fix that. */
                if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) != 0 || (old >> MUTEX_WAITER_SHIFT) == 0)
                    gort__throw("sync: inconsistent mutex state");
                int32_t delta = MUTEX_LOCKED - (1 << MUTEX_WAITER_SHIFT);
                if (!starving || (old >> MUTEX_WAITER_SHIFT) == 1) {
                    /* Exit starvation mode.  Critical to do it here and
                     * consider the wait time: starvation mode is so
                     * inefficient that two goroutines can go lock-step
                     * forever once they switch to it. */
                    delta -= MUTEX_STARVING;
                }
                atomic_fetch_add_explicit(state, delta, memory_order_relaxed);
                break;
            }
            awoke = true;
            iter = 0;
        }
        /* On failure the CAS reloaded old. */
    }
}

GORT_NOINLINE GORT_API void gort__mutex_lock_slow(gort_mutex *m) {
    mutex_lock_slow(m, WAIT_SYNC_MUTEX);
}

GORT_NOINLINE void gort__mutex_lock_sema(gort_mutex *m, bool profiled) {
    int32_t zero = 0;
    /* Acquire: as gort_mutex_lock's. */
    if (GORT_UNLIKELY(!atomic_compare_exchange_strong_explicit(
            MSTATE(m), &zero, MUTEX_LOCKED, memory_order_acquire, memory_order_relaxed)))
        mutex_lock_slow(m, profiled ? WAIT_SEMA_MUTEX : WAIT_RUNTIME_MUTEX);
    san_acquire(m);
}

/* Lock: fast path, grab an unlocked mutex.  Acquire pairs with the release
 * of the previous unlock. */
GORT_API void gort_mutex_lock(gort_mutex *m) {
    int32_t zero = 0;
    if (GORT_UNLIKELY(!atomic_compare_exchange_strong_explicit(
            MSTATE(m), &zero, MUTEX_LOCKED, memory_order_acquire, memory_order_relaxed)))
        gort__mutex_lock_slow(m);
    san_acquire(m); /* <- the previous unlock (race mode; gort.h calls us then) */
}

/* TryLock: never blocks.  There may be a goroutine waiting for the mutex,
 * but we are running now and may grab it before that goroutine wakes. */
GORT_API bool gort_mutex_trylock(gort_mutex *m) {
    int32_t old = atomic_load_explicit(MSTATE(m), memory_order_relaxed);
    if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) != 0)
        return false;
    if (!atomic_compare_exchange_strong_explicit(MSTATE(m), &old, old | MUTEX_LOCKED,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    san_acquire(m);
    return true;
}

GORT_NOINLINE GORT_API void gort__mutex_unlock_slow(gort_mutex *m, int32_t nstate) {
    if (((nstate + MUTEX_LOCKED) & MUTEX_LOCKED) == 0)
        gort__fatal("sync: unlock of unlocked mutex");
    _Atomic int32_t *state = MSTATE(m);
    if ((nstate & MUTEX_STARVING) == 0) {
        int32_t old = nstate;
        for (;;) {
            /* No waiters, or a goroutine has already been woken or grabbed
             * the lock: nobody to wake.  In starvation mode ownership is
             * handed directly from the unlocker to the next waiter; we are
             * not part of that chain, since we did not observe
             * mutexStarving when we unlocked above: get out of the way. */
            if ((old >> MUTEX_WAITER_SHIFT) == 0 ||
                (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)) != 0)
                return;
            /* Grab the right to wake someone (relaxed: the wakee competes
             * for the lock with its own acquire CAS). */
            nstate = (old - (1 << MUTEX_WAITER_SHIFT)) | MUTEX_WOKEN;
            if (atomic_compare_exchange_weak_explicit(state, &old, nstate, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                gort__semrelease(MSEMA(m), false);
                /* A preemption point where it is cheap next to the wakeup:
                 * lets the woken waiter run even on one P. */
                gort__preempt_check(gort__getg());
                return;
            }
        }
    } else {
        /* Starving mode: hand ownership to the next waiter and yield our
         * time slice so that it can start running at once.  mutexLocked is
         * not set; the waiter sets it after waking.  The mutex still counts
         * as locked while mutexStarving is set, so newcomers won't take it.
         * The empty asm keeps this from being a tail call: the mutex
         * profile skips a fixed number of frames to reach the unlocker. */
        gort__semrelease(MSEMA(m), true);
        __asm__ volatile("" ::: "memory");
    }
}

/* Unlock: drop the lock bit.  Release pairs with the acquire of the next
 * lock (its CAS, or, in starvation mode, the semaphore hand-off that
 * follows in mutex_unlock_slow). */
GORT_API void gort_mutex_unlock(gort_mutex *m) {
    san_release(m); /* -> the next lock */
    int32_t nstate =
        atomic_fetch_sub_explicit(MSTATE(m), MUTEX_LOCKED, memory_order_release) - MUTEX_LOCKED;
    if (GORT_UNLIKELY(nstate != 0))
        gort__mutex_unlock_slow(m, nstate);
}

/* ------------------------------------------------------------------------
 * RWMutex (sync/rwmutex.go)
 * ------------------------------------------------------------------------
 *
 * readerCount: the readers holding the lock (or blocked on readerSem),
 * minus rwmutexMaxReaders while a writer is pending or holds it.
 * readerWait: the readers a pending writer still waits for (those that held
 * the lock when it arrived).  w serialises writers.  A pending writer makes
 * readerCount negative, so new readers block on readerSem until its Unlock:
 * writer preference, as Go's.
 */

#define RWMUTEX_MAX_READERS (1 << 30)

#define RW_COUNT(rw) SYNC_ATOMIC(int32_t, &(rw)->_reader_count)
#define RW_WAIT(rw) SYNC_ATOMIC(int32_t, &(rw)->_reader_wait)
#define RW_WSEM(rw) SYNC_ATOMIC(uint32_t, &(rw)->_writer_sem)
#define RW_RSEM(rw) SYNC_ATOMIC(uint32_t, &(rw)->_reader_sem)

GORT_NOINLINE GORT_API void gort__rwmutex_rlock_slow(gort_rwmutex *rw) {
    /* A writer is pending: wait for it.  Its Unlock releases readerSem
     * once per blocked reader; the semaphore orders its critical section
     * before us. */
    gort__semacquire(RW_RSEM(rw), false, WAIT_SYNC_RWMUTEX_R);
}

/* RLock.  Acquire: pairs with the release of the last writer's Unlock
 * (its increment of readerCount, in whose release sequence our RMW reads). */
GORT_API void gort_rwmutex_rlock(gort_rwmutex *rw) {
    if (GORT_UNLIKELY(atomic_fetch_add_explicit(RW_COUNT(rw), 1, memory_order_acquire) + 1 < 0))
        gort__rwmutex_rlock_slow(rw);
    /* Race mode, as Go's RWMutex: writers' Unlock releases readerSem,
     * RLock acquires it; RUnlock releases writerSem, Lock acquires both. */
    san_acquire(RW_RSEM(rw));
}

GORT_API bool gort_rwmutex_tryrlock(gort_rwmutex *rw) {
    int32_t c = atomic_load_explicit(RW_COUNT(rw), memory_order_relaxed);
    for (;;) {
        if (c < 0)
            return false;
        if (atomic_compare_exchange_weak_explicit(RW_COUNT(rw), &c, c + 1, memory_order_acquire,
                                                  memory_order_relaxed)) {
            san_acquire(RW_RSEM(rw));
            return true;
        }
    }
}

GORT_NOINLINE GORT_API void gort__rwmutex_runlock_slow(gort_rwmutex *rw, int32_t r) {
    if (r + 1 == 0 || r + 1 == -RWMUTEX_MAX_READERS)
        gort__fatal("sync: RUnlock of unlocked RWMutex");
    /* A writer is pending.  acq_rel: our release (with the release
     * sequence of readerWait) reaches the writer, whether it observes the
     * count reach zero in its own RMW in Lock or is woken below. */
    if (atomic_fetch_sub_explicit(RW_WAIT(rw), 1, memory_order_acq_rel) - 1 == 0) {
        /* The last reader unblocks the writer. */
        gort__semrelease(RW_WSEM(rw), false);
    }
}

/* RUnlock.  Release: pairs with the writer's acquire in Lock. */
GORT_API void gort_rwmutex_runlock(gort_rwmutex *rw) {
    san_release(RW_WSEM(rw));
    int32_t r = atomic_fetch_sub_explicit(RW_COUNT(rw), 1, memory_order_release) - 1;
    if (GORT_UNLIKELY(r < 0))
        gort__rwmutex_runlock_slow(rw, r);
}

/* Lock. */
GORT_API void gort_rwmutex_lock(gort_rwmutex *rw) {
    /* First, resolve competition with other writers. */
    gort_mutex_lock(&rw->_w);
    /* Announce to readers that there is a pending writer.  Acquire: the
     * readers that already left (RUnlock, release) are in this RMW's
     * history. */
    int32_t r = atomic_fetch_sub_explicit(RW_COUNT(rw), RWMUTEX_MAX_READERS, memory_order_acquire);
    /* Wait for active readers.  acq_rel on readerWait: acquire the readers
     * that leave before we add (they decremented it below zero). */
    if (r != 0 && atomic_fetch_add_explicit(RW_WAIT(rw), r, memory_order_acq_rel) + r != 0)
        gort__semacquire(RW_WSEM(rw), false, WAIT_SYNC_RWMUTEX_W);
    san_acquire(RW_RSEM(rw));
    san_acquire(RW_WSEM(rw));
}

GORT_API bool gort_rwmutex_trylock(gort_rwmutex *rw) {
    if (!gort_mutex_trylock(&rw->_w))
        return false;
    int32_t zero = 0;
    if (!atomic_compare_exchange_strong_explicit(RW_COUNT(rw), &zero, -RWMUTEX_MAX_READERS,
                                                 memory_order_acquire, memory_order_relaxed)) {
        gort_mutex_unlock(&rw->_w);
        return false;
    }
    san_acquire(RW_RSEM(rw));
    san_acquire(RW_WSEM(rw));
    return true;
}

/* Unlock. */
GORT_API void gort_rwmutex_unlock(gort_rwmutex *rw) {
    san_release(RW_RSEM(rw));
    /* Announce to readers that there is no active writer.  Release: pairs
     * with the acquire of the readers' increments (RLock). */
    int32_t r = atomic_fetch_add_explicit(RW_COUNT(rw), RWMUTEX_MAX_READERS, memory_order_release) +
                RWMUTEX_MAX_READERS;
    if (GORT_UNLIKELY(r >= RWMUTEX_MAX_READERS))
        gort__fatal("sync: Unlock of unlocked RWMutex");
    /* Unblock the blocked readers, if any. */
    for (int32_t i = 0; i < r; i++)
        gort__semrelease(RW_RSEM(rw), false);
    /* Allow other writers to proceed. */
    gort_mutex_unlock(&rw->_w);
}

/* ------------------------------------------------------------------------
 * Once (sync/once.go)
 * ------------------------------------------------------------------------ */

#define ONCE_DONE(o) SYNC_ATOMIC(uint32_t, &(o)->_done)

struct once_call {
    gort_once *o;
    void (*fn)(void *);
    void *arg;
    bool finished; /* [owner G] once_finish has run */
};

/* Marks o done and unlocks it, once.  Release store of done: pairs with
 * the acquire in gort_once_do, so that every caller that sees done == 1
 * also sees fn's effects. */
static void once_finish(void *p) {
    struct once_call *oc = p;
    if (oc->finished)
        return;
    oc->finished = true;
    san_release(oc->o); /* fn -> every Do that returns after it */
    atomic_store_explicit(ONCE_DONE(oc->o), 1, memory_order_release);
    gort_mutex_unlock(&oc->o->_m);
}

/* Runs fn in its own gort_call frame with once_finish deferred, so that a
 * panicking fn counts as having run and does not leave the mutex locked
 * (Go's deferred o.done.Store(1) and o.m.Unlock()). */
static void once_body(void *p) {
    struct once_call *oc = p;
    gort_defer(once_finish, oc);
    /* Go's Do(nil): the call of the nil func panics (a runtime error that
     * can be recovered), and o counts as done; a call through NULL here
     * would be a fault, which ends the process. */
    if (GORT_UNLIKELY(oc->fn == NULL))
        gort__panic_nilfunc();
    oc->fn(oc->arg);
}

static GORT_NOINLINE void once_do_slow(gort_once *o, void (*fn)(void *), void *arg) {
    gort_mutex_lock(&o->_m);
    /* Relaxed: under o->_m, which ordered any earlier store. */
    if (atomic_load_explicit(ONCE_DONE(o), memory_order_relaxed) == 0) {
        struct once_call oc = {o, fn, arg, false};
        gort_call(once_body, &oc);
        /* Normally a no-op: the deferred once_finish ran when the frame
         * ended.  Explicit as well, so that Once does not depend on it. */
        once_finish(&oc);
    } else {
        gort_mutex_unlock(&o->_m);
    }
}

/* Do.  Fast path: an acquire load that pairs with once_finish.  Callers
 * that arrive while fn runs block on the mutex until it has returned. */
GORT_API void gort_once_do(gort_once *o, void (*fn)(void *), void *arg) {
    if (GORT_UNLIKELY(atomic_load_explicit(ONCE_DONE(o), memory_order_acquire) == 0))
        once_do_slow(o, fn, arg);
    san_acquire(o);
}

/* ------------------------------------------------------------------------
 * WaitGroup (sync/waitgroup.go)
 * ------------------------------------------------------------------------
 *
 * state: the counter in the high 32 bits, the number of waiters in the low
 * 31 bits.  Wait increments the waiters with a CAS that fails if the
 * counter changed; the Add that takes the counter to zero with waiters
 * resets the word to 0 and releases the semaphore once per waiter.
 *
 * synctest (Go 1.25's waitGroupBubbleFlag): bit 31 says an Add ran inside
 * a bubble, whose id _bubble holds (the association, Go's
 * synctest.Associate).  A Wait in that bubble on it is durably blocking.
 * The association ends when an Add of the bubble takes the counter to zero
 * with waiters, or a Wait finds the counter zero with none.
 */

#define WG_STATE(wg) SYNC_ATOMIC(uint64_t, &(wg)->_state)
#define WG_SEMA(wg) SYNC_ATOMIC(uint32_t, &(wg)->_sema)
#define WG_BUBBLE(wg) SYNC_ATOMIC(uint32_t, &(wg)->_bubble)
#define WG_BUBBLE_FLAG UINT64_C(0x80000000)
#define WG_WAITERS(state) ((uint32_t)(state)&UINT32_C(0x7fffffff))

static GORT_NOINLINE void wg_add_slow(gort_waitgroup *wg, int64_t delta, uint64_t state,
                                      bool bubbled) {
    if ((state & WG_BUBBLE_FLAG) && !bubbled)
        gort__fatal("sync: WaitGroup.Add called from inside and outside synctest bubble");
    int32_t v = (int32_t)(state >> 32);
    uint32_t w = WG_WAITERS(state);
    if (v < 0)
        gort_panic("sync: negative WaitGroup counter");
    if (w != 0 && delta > 0 && (int64_t)v == delta)
        gort_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    if (v > 0 || w == 0)
        return;
    /* This goroutine has set the counter to 0 with waiters > 0.  There can
     * be no concurrent mutation of state now: Adds must not happen
     * concurrently with Wait, and Wait does not add a waiter when it sees a
     * zero counter.  Still do a cheap misuse check. */
    if (atomic_load_explicit(WG_STATE(wg), memory_order_relaxed) != state)
        gort_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    /* Reset the waiters count (and the bubble flag) to 0.  Relaxed: the
     * semrelease below is a release that the waiters' semacquire acquires
     * before they check it. */
    atomic_store_explicit(WG_STATE(wg), 0, memory_order_relaxed);
    if (bubbled) /* no Add can run now (above): end the association */
        atomic_store_explicit(WG_BUBBLE(wg), 0, memory_order_relaxed);
    for (; w != 0; w--)
        gort__semrelease(WG_SEMA(wg), false);
}

/* An Add from a goroutine of a bubble (Go's synctest.Associate in Add):
 * true if the WaitGroup is (now) the caller's bubble's. */
static GORT_NOINLINE bool wg_associate(gort_waitgroup *wg) {
    switch (gort__synctest_associate(WG_BUBBLE(wg))) {
    case SYNCTEST_UNBUBBLED:
        return false;
    case SYNCTEST_OTHER:
        gort__fatal("sync: WaitGroup.Add called from multiple synctest bubbles");
    default:
        break;
    }
    /* Relaxed: the flag is a mark; the Add's own RMW orders the work. */
    uint64_t old = atomic_fetch_or_explicit(WG_STATE(wg), WG_BUBBLE_FLAG, memory_order_relaxed);
    if (old != 0 && !(old & WG_BUBBLE_FLAG))
        gort__fatal("sync: WaitGroup.Add called from inside and outside synctest bubble");
    return true;
}

/* Add's counter.  acq_rel: the release publishes the caller's work to the
 * RMW that takes the counter to zero (Done -> Wait), the acquire lets that
 * RMW carry every earlier Done's release on to the waiters it wakes.
 * bubbled: the Add associated the WaitGroup with its bubble. */
static inline __attribute__((always_inline)) void wg_count(gort_waitgroup *wg, int64_t delta,
                                                           bool bubbled) {
    uint64_t state =
        atomic_fetch_add_explicit(WG_STATE(wg), (uint64_t)delta << 32, memory_order_acq_rel) +
        ((uint64_t)delta << 32);
    /* Fast path: counter still positive and no waiters, or counter zero
     * and no waiters (and no bubble flag). */
    if (GORT_LIKELY((int32_t)(state >> 32) > 0 && (uint32_t)state == 0) || state == 0)
        return;
    wg_add_slow(wg, delta, state, bubbled);
}

/* Add with a bubble or the race detector in play.  Tail-called by
 * gort_wg_add and gort_wg_done: its return address is their caller's. */
static GORT_NOINLINE void wg_add_full(gort_waitgroup *wg, int64_t delta) {
    if (delta < 0)
        san_release(WG_SEMA(wg)); /* Done -> Wait's return (Go: ReleaseMerge) */
    /* Relaxed gate, as gort__goready's: a goroutine of a bubble was made
     * after the count went up. */
    bool bubbled = false;
    if (atomic_load_explicit(&gort__synctest_nbubbles, memory_order_relaxed) != 0)
        bubbled = wg_associate(wg);
    wg_count(wg, delta, bubbled);
    /* Race mode, as Go: the first increment must be synchronised with
     * Wait; a read of the semaphore that races with Wait's write. */
    if (delta > 0 && san_tsan_on() &&
        (int32_t)(atomic_load_explicit(WG_STATE(wg), memory_order_relaxed) >> 32) == delta)
        san_read(WG_SEMA(wg), __builtin_return_address(0));
}

/* Add and Done.  Plain (neither a synctest bubble nor the race detector
 * has any business with the WaitGroup, the program's usual case: a byte
 * and a word that stay in cache): the counter's RMW and its check.  Every
 * other path is a tail call, so the fast path needs no frame.  The gate is
 * relaxed, as gort__goready's: a goroutine of a bubble was made after
 * nbubbles went up. */
static inline __attribute__((always_inline)) void wg_add_entry(gort_waitgroup *wg, int64_t delta) {
    if (GORT_UNLIKELY(san_tsan_on() ||
                      atomic_load_explicit(&gort__synctest_nbubbles, memory_order_relaxed) != 0)) {
        wg_add_full(wg, delta);
        return;
    }
    wg_count(wg, delta, false);
}

GORT_API void gort_wg_add(gort_waitgroup *wg, int64_t delta) {
    wg_add_entry(wg, delta);
}

GORT_API void gort_wg_done(gort_waitgroup *wg) {
    wg_add_entry(wg, -1);
}

static GORT_NOINLINE void wg_wait_block(gort_waitgroup *wg, uint64_t state) {
    for (;;) {
        if ((int32_t)(state >> 32) == 0) {
            /* Counter is 0: no need to wait (acquire load below).  No Add
             * can run concurrently now: end a bubble's association. */
            if (WG_WAITERS(state) == 0 && (state & WG_BUBBLE_FLAG) &&
                gort__synctest_is_associated(WG_BUBBLE(wg)) &&
                atomic_compare_exchange_strong_explicit(WG_STATE(wg), &state, 0,
                                                        memory_order_relaxed, memory_order_relaxed))
                atomic_store_explicit(WG_BUBBLE(wg), 0, memory_order_relaxed);
            return;
        }
        /* Increment the waiters count.  The wakeup itself is synchronised by
         * the semaphore; the acquire is for the failure case (C11 does not
         * allow a failure order stronger than the success order). */
        if (atomic_compare_exchange_weak_explicit(WG_STATE(wg), &state, state + 1,
                                                  memory_order_acquire, memory_order_acquire)) {
            if (WG_WAITERS(state) == 0) /* the first waiter: see gort_wg_add */
                san_write(WG_SEMA(wg), __builtin_return_address(0));
            /* Durable in a bubble only if an Add of this bubble ran. */
            bool durable = (state & WG_BUBBLE_FLAG) && gort__synctest_is_associated(WG_BUBBLE(wg));
            gort__semacquire(WG_SEMA(wg), false,
                             durable ? WAIT_SYNCTEST_WAITGROUP : WAIT_SYNC_WAITGROUP);
            if (atomic_load_explicit(WG_STATE(wg), memory_order_relaxed) != 0)
                gort_panic("sync: WaitGroup is reused before previous Wait has returned");
            return;
        }
        /* The failed CAS reloaded state with acquire, for the return above. */
    }
}

/* Wait's every path but the fast one; the acquire annotation pairs with
 * the Done that zeroed the counter (Go: ReleaseMerge/Acquire). */
static GORT_NOINLINE void wg_wait_slow(gort_waitgroup *wg, uint64_t state) {
    wg_wait_block(wg, state);
    san_acquire(WG_SEMA(wg));
}

/* Wait.  Fast path: the counter is zero; the acquire load pairs with the
 * release of the Add/Done that zeroed it. */
GORT_API void gort_wg_wait(gort_waitgroup *wg) {
    uint64_t state = atomic_load_explicit(WG_STATE(wg), memory_order_acquire);
    /* Anything else (a count, waiters, the bubble flag, the race
     * detector's annotation) is a tail call: no frame on the fast path. */
    if (GORT_LIKELY(state == 0 && !san_tsan_on()))
        return;
    wg_wait_slow(wg, state);
}

/* ------------------------------------------------------------------------
 * Cond (sync/cond.go), over the notify list of sema.c
 * ------------------------------------------------------------------------ */

GORT_API void gort_cond_init(gort_cond *c, gort_mutex *m) {
    c->_l = m;
    gort__notifylist_init(c);
}

/* Wait: atomically unlocks c->_l and suspends; relocks before returning.
 * Taking the ticket before unlocking means a Signal that follows our
 * Unlock cannot be missed, even if it runs before we park. */
GORT_API void gort_cond_wait(gort_cond *c) {
    /* Go's c.L.Unlock() on a nil L: a panic the program can recover. */
    if (GORT_UNLIKELY(c->_l == NULL))
        gort_panic("sync: gort_cond_wait on a Cond without a mutex (no gort_cond_init, or one "
                   "given NULL)");
    uint32_t t = gort__notifylist_add(c);
    gort_mutex_unlock(c->_l);
    gort__notifylist_wait(c, t);
    san_acquire(c); /* <- the Signal or Broadcast that woke us */
    gort_mutex_lock(c->_l);
}

/* Signal wakes the goroutine that has waited longest, if any. */
GORT_API void gort_cond_signal(gort_cond *c) {
    san_release(c);
    gort__notifylist_notify_one(c);
}

GORT_API void gort_cond_broadcast(gort_cond *c) {
    san_release(c);
    gort__notifylist_notify_all(c);
}

/* ------------------------------------------------------------------------
 * Shutdown
 * ------------------------------------------------------------------------ */

/* See internal.h.  Atomic subtractions: a plain thread may be in the same
 * object's CAS loops meanwhile, and retries with the new state (relaxed:
 * no data is handed over). */
void gort__sync_abandon(_Atomic uint32_t *sema, uint8_t reason) {
    if (reason == WAIT_SYNC_MUTEX || reason == WAIT_SEMA_MUTEX || reason == WAIT_RUNTIME_MUTEX) {
        gort_mutex *m = (gort_mutex *)(void *)((char *)sema - offsetof(gort_mutex, _sema));
        atomic_fetch_sub_explicit(MSTATE(m), 1 << MUTEX_WAITER_SHIFT, memory_order_relaxed);
    } else if (reason == WAIT_SYNC_WAITGROUP || reason == WAIT_SYNCTEST_WAITGROUP) {
        gort_waitgroup *wg =
            (gort_waitgroup *)(void *)((char *)sema - offsetof(gort_waitgroup, _sema));
        atomic_fetch_sub_explicit(WG_STATE(wg), 1, memory_order_relaxed);
    }
}
