/*
 * lock_futex.c - runtime locks and notes on Linux futexes.
 * Mirrors runtime/lock_futex.go.
 *
 * gort__rtlock: key 0 = unlocked, 1 = locked, 2 = locked and someone may be
 * sleeping in futex_wait.  Acquire spins briefly (active then passive)
 * before sleeping, as Go's lock2 does.  Lock acquisition is an acquire
 * exchange/CAS; release is a release exchange, pairing with it.
 *
 * gort__note: key 0 = clear, 1 = woken.  Exactly one wakeup per clear.
 * notewakeup's release exchange pairs with notesleep's acquire load, so what
 * the waker wrote before the wakeup is visible after the sleep returns.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lockrank.h"

enum { MUTEX_UNLOCKED = 0, MUTEX_LOCKED = 1, MUTEX_SLEEPING = 2 };
enum { ACTIVE_SPIN = 4, ACTIVE_SPIN_CNT = 30, PASSIVE_SPIN = 1 };

void gort__futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns) {
    struct timespec ts, *tsp = NULL;
    if (ns >= 0) {
        ts.tv_sec = (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        tsp = &ts;
    }
    /* EAGAIN (value changed), EINTR and ETIMEDOUT are all normal wakeups:
     * callers re-check their condition.  errno is left as it was: a
     * goroutine takes runtime locks on its own stack after its errno is
     * restored (finishing a park, a wakeup), and gort calls keep its value
     * (gort.h). */
    int saved = errno;
    syscall(SYS_futex, (void *)addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0);
    errno = saved;
}

void gort__futexwakeup(_Atomic uint32_t *addr, int cnt) {
    long r = syscall(SYS_futex, (void *)addr, FUTEX_WAKE_PRIVATE, cnt, NULL, NULL, 0);
    if (GORT_UNLIKELY(r < 0)) {
        gort__printf("runtime: futexwakeup addr=%p returned %d\n", (void *)addr, errno);
        gort__throw("futexwakeup failed");
    }
}

void gort__osyield(void) {
    sched_yield();
}

void gort__procyield(int cycles) {
    for (int i = 0; i < cycles; i++)
        gort__cpu_relax();
}

/* Runtime locks this thread holds or is acquiring (Go's m.locks): the
 * preemption signal handler (preempt.c) never preempts or suspends a
 * thread that holds one.  Only this thread writes it and only its own
 * signal handler reads it, so a compiler fence orders it against the lock
 * word: it is raised before the acquire and lowered after the release. */
__thread int32_t gort__tls_locks __attribute__((tls_model("initial-exec")));

static inline void locks_inc(void) {
    gort__acquirem();
}

static inline void locks_dec(void) {
    gort__releasem();
}

bool gort__trylock(gort__rtlock *l) {
    uint32_t exp = MUTEX_UNLOCKED;
    locks_inc();
    /* Acquire: pairs with the release exchange in gort__unlock. */
    bool ok = atomic_compare_exchange_strong_explicit(&l->key, &exp, MUTEX_LOCKED,
                                                      memory_order_acquire, memory_order_relaxed);
    if (!ok) {
        locks_dec();
        return false;
    }
#ifdef GORT_LOCKRANK
    /* Not checked (a trylock cannot deadlock), but held. */
    gort__lockrank_held(l);
#endif
    return true;
}

/* Go's lock2: takes l. */
static inline void lock2(gort__rtlock *l) {
    /* Speculative grab for the uncontended case (acquire, pairs with unlock). */
    uint32_t v = atomic_exchange_explicit(&l->key, MUTEX_LOCKED, memory_order_acquire);
    if (GORT_LIKELY(v == MUTEX_UNLOCKED))
        return;
    /* v is MUTEX_LOCKED or MUTEX_SLEEPING.  If we ever change key from
     * MUTEX_SLEEPING to something else, we must be careful to change it back
     * to MUTEX_SLEEPING before returning, to ensure that the sleeping thread
     * gets its wakeup call (lock_futex.go). */
    uint32_t wait = v;
    for (;;) {
        for (int i = 0; i < ACTIVE_SPIN; i++) {
            while (atomic_load_explicit(&l->key, memory_order_relaxed) == MUTEX_UNLOCKED) {
                uint32_t exp = MUTEX_UNLOCKED;
                if (atomic_compare_exchange_weak_explicit(&l->key, &exp, wait, memory_order_acquire,
                                                          memory_order_relaxed))
                    return;
            }
            gort__procyield(ACTIVE_SPIN_CNT);
        }
        for (int i = 0; i < PASSIVE_SPIN; i++) {
            while (atomic_load_explicit(&l->key, memory_order_relaxed) == MUTEX_UNLOCKED) {
                uint32_t exp = MUTEX_UNLOCKED;
                if (atomic_compare_exchange_weak_explicit(&l->key, &exp, wait, memory_order_acquire,
                                                          memory_order_relaxed))
                    return;
            }
            gort__osyield();
        }
        v = atomic_exchange_explicit(&l->key, MUTEX_SLEEPING, memory_order_acquire);
        if (v == MUTEX_UNLOCKED)
            return;
        wait = MUTEX_SLEEPING;
        /* Before sleeping (the slow path only): in a child forked inside
         * gort_main the holder's thread is gone and no wakeup will come. */
        gort__forked_child_lockwait();
        gort__futexsleep(&l->key, MUTEX_SLEEPING, -1);
    }
}

/* gort__lock and gort__unlock start on a 64-byte line, where the fast
 * path of each fits: where they fall decides a ring hop's cost by a fifth
 * or more on this machine (an Intel Xeon under KVM).  A build whose other
 * changes left gort__lock 32 bytes into a line and gort__unlock 48 (its
 * fast path across two lines) took 177-209 ns a hop, against 145-164 for
 * the same code with both aligned; the code before that change, where
 * they fell at 48 and 0, took 140-180 (alternating runs of `gort-bench
 * -w ring`). */

/* Go's lockWithRank: with GORT_LOCKRANK, the lock order is checked before
 * l is taken (lockrank.c). */
GORT_HOT_ALIGN void gort__lock(gort__rtlock *l) {
    locks_inc();
#ifdef GORT_LOCKRANK
    gort__lockrank_check(l);
#endif
    lock2(l);
#ifdef GORT_LOCKRANK
    gort__lockrank_held(l);
#endif
}

GORT_HOT_ALIGN void gort__unlock(gort__rtlock *l) {
#ifdef GORT_LOCKRANK
    gort__lockrank_released(l);
#endif
    /* Release: publishes the critical section to the next acquirer. */
    uint32_t v = atomic_exchange_explicit(&l->key, MUTEX_UNLOCKED, memory_order_release);
    if (GORT_UNLIKELY(v == MUTEX_UNLOCKED))
        gort__throw("unlock of unlocked lock");
    if (v == MUTEX_SLEEPING)
        gort__futexwakeup(&l->key, 1);
    locks_dec();
}

void gort__noteclear(gort__note *n) {
    atomic_store_explicit(&n->key, 0, memory_order_relaxed);
}

void gort__notewakeup(gort__note *n) {
    /* Release: pairs with the acquire loads in notesleep/notetsleep. */
    uint32_t old = atomic_exchange_explicit(&n->key, 1, memory_order_release);
    if (GORT_UNLIKELY(old != 0)) {
        gort__printf("notewakeup - double wakeup (%u)\n", old);
        gort__throw("notewakeup - double wakeup");
    }
    gort__futexwakeup(&n->key, 1);
}

/* notewakeup for a note another waker may have set already: a second
 * wakeup is no error (begin_exit and startlockedm, at exit).  Release, as
 * notewakeup's. */
void gort__notewakeup_idempotent(gort__note *n) {
    if (atomic_exchange_explicit(&n->key, 1, memory_order_release) == 0)
        gort__futexwakeup(&n->key, 1);
}

void gort__notesleep(gort__note *n) {
    while (atomic_load_explicit(&n->key, memory_order_acquire) == 0)
        gort__futexsleep(&n->key, 0, -1);
}

bool gort__notetsleep(gort__note *n, int64_t ns) {
    if (ns < 0) {
        gort__notesleep(n);
        return true;
    }
    if (atomic_load_explicit(&n->key, memory_order_acquire) != 0)
        return true;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t deadline = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + ns;
    for (;;) {
        gort__futexsleep(&n->key, 0, ns);
        if (atomic_load_explicit(&n->key, memory_order_acquire) != 0)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        ns = deadline - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
        if (ns <= 0)
            return atomic_load_explicit(&n->key, memory_order_acquire) != 0;
    }
}
