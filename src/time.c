/*
 * time.c - timers, sleep, tickers.  Mirrors runtime/time.go (Go 1.14+ per-P
 * timer heaps) and the runtime side of package time (sleep.go, tick.go).
 *
 * Every P has a 4-ary min-heap of timers ordered by `when`, under the P's
 * timers lock (struct ptimers, hung off p->timers).  A timer is in at most
 * one heap; t->pt names it.  The scheduler runs a P's due timers in
 * schedule() and findrunnable() (gort__checktimers); a spinning M also runs
 * the due timers of other Ps, idle ones included (stealwork in proc.c); the
 * M that finds no work sleeps until the earliest deadline of all heaps
 * (proc.c, "the poller"), and adding an earlier timer wakes it
 * (gort__timer_wake, Go's wakeNetPoller).  There is no goroutine per timer
 * and every operation is O(log n) in the heap size.
 *
 * Invariants:
 *   - t->pt, t->idx, t->when and t->period change only under the lock of the
 *     heap t is in (or is being put in).  t->pt is also read without a lock
 *     (as a hint: deltimer re-checks it under the lock it names).
 *   - pt->when0 is the `when` of pt->h[0], or 0 for an empty heap; it is
 *     written under pt->lock and read without it (Go's timer0When).
 *   - A timer leaves every heap only under a heap lock; after that no new
 *     call of its function can start.  Calls already started are counted in
 *     t->firing (timers owned by the user only), which gort_timer_free and
 *     gort_ticker_free wait to reach 0: that is how fire-vs-free never
 *     touches freed memory.
 *   - Timers move between heaps only in procresize (the world is stopped),
 *     holding both locks, from a P going away to allp[0].
 *
 * Rejected alternative: Go's lock-free status machine (timerWaiting,
 * timerDeleted, timerModifying, ...) with lazy deletion.  It exists so that
 * Stop and Reset of a timer on another P need not take that P's lock, at the
 * cost of deleted timers lingering in heaps until cleantimers/adjusttimers
 * run.  Here Stop takes the lock of the heap the timer is in and removes it
 * at once (O(log n)); the lock is per P and almost always uncontended, since
 * a timer is normally stopped on the P that started it.  Without a garbage
 * collector, eager removal also keeps the moment a timer may be freed
 * simple: once it is out of every heap and t->firing is 0.
 *
 * Go 1.19 semantics (before 1.23's synchronous channels): channels have
 * capacity 1 and are sent with a non-blocking send (sendTime), so ticks a
 * slow receiver misses are dropped, and a Stop or Reset does not drain a
 * value already sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"
#include "san.h"

/* ------------------------------------------------------------------ types */

/* A heap entry: the deadline is kept next to the pointer (as Go 1.23's
 * timerWhen does) so that sifting does not touch the timers themselves,
 * which live all over memory (sleep timers on goroutine stacks). */
typedef struct hent {
    int64_t when; /* == t->when */
    timer *t;
} hent;

/* A P's heap (Go: p.timers, p.timersLock, p.timer0When, p.numTimers). */
typedef struct ptimers {
    gort__rtlock lock;
    hent *h;               /* [lock] 4-ary min-heap on when */
    uint32_t len, cap;     /* [lock] */
    _Atomic int64_t when0; /* [atomic; write under lock] h[0]->when or 0 */
} ptimers;

struct gort_timer {
    timer t;
    gort_chan *c;       /* [immutable] NULL for after_func */
    void (*fn)(void *); /* [immutable] after_func */
    void *fnarg;        /* [immutable] */
    gort__gcroot root;  /* [rootlock] fnarg as a root (after_func) */
};

struct gort_ticker {
    timer t;
    gort_chan *c; /* [immutable] */
};

/* Go's maxWhen: a deadline that never comes. */
#define MAXWHEN INT64_MAX

/* ------------------------------------------------------------------ heaps */

/* The heap of pp, allocated on first use.  p->timers is published with a
 * release CAS; readers acquire it (pairs with that CAS). */
static ptimers *ptimers_of(struct p *pp) {
    ptimers *pt = atomic_load_explicit(&pp->timers, memory_order_acquire);
    if (GORT_LIKELY(pt != NULL))
        return pt;
    ptimers *n = gort__fixalloc(sizeof *n); /* not malloc: callers may hold locks (mfixalloc.c) */
    if (n == NULL)
        gort__throw("timers: out of memory");
    gort__lockinit(&n->lock, LOCKRANK_TIMERS);
    ptimers *exp = NULL;
    if (atomic_compare_exchange_strong_explicit(&pp->timers, &exp, n, memory_order_acq_rel,
                                                memory_order_acquire))
        return n;
    gort__fixfree(n);
    return exp;
}

static inline ptimers *ptimers_peek(struct p *pp) {
    if (pp == NULL)
        return NULL;
    /* Acquire: pairs with the release CAS in ptimers_of. */
    return atomic_load_explicit(&pp->timers, memory_order_acquire);
}

static inline void hset(ptimers *pt, uint32_t i, hent e) {
    pt->h[i] = e;
    e.t->idx = (int32_t)i;
}

static void siftup(ptimers *pt, uint32_t i) {
    hent e = pt->h[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 4;
        if (e.when >= pt->h[p].when)
            break;
        hset(pt, i, pt->h[p]);
        i = p;
    }
    hset(pt, i, e);
}

static void siftdown(ptimers *pt, uint32_t i) {
    uint32_t n = pt->len;
    hent e = pt->h[i];
    for (;;) {
        uint32_t c = i * 4 + 1;
        if (c >= n)
            break;
        uint32_t best = c;
        uint32_t end = c + 4 < n ? c + 4 : n;
        for (uint32_t k = c + 1; k < end; k++)
            if (pt->h[k].when < pt->h[best].when)
                best = k;
        if (pt->h[best].when >= e.when)
            break;
        hset(pt, i, pt->h[best]);
        i = best;
    }
    hset(pt, i, e);
}

/* The heap invariant and the back-indices (GORT_DEBUG >= 3).  pt->lock
 * held. */
static GORT_UNUSED bool heap_valid(ptimers *pt) {
    for (uint32_t i = 0; i < pt->len; i++) {
        if (pt->h[i].t->idx != (int32_t)i || pt->h[i].when != pt->h[i].t->when)
            return false;
        if (i > 0 && pt->h[i].when < pt->h[(i - 1) / 4].when)
            return false;
    }
    return true;
}

/* Publishes h[0]'s deadline.  pt->lock held.  seq_cst: the store is one
 * side of the Dekker pair with the poller (proc.c become_poller), which
 * stores its deadline and then loads every when0; adders store when0 and
 * then load the poller's deadline (gort__timer_wake). */
static inline void update_when0(ptimers *pt) {
    atomic_store_explicit(&pt->when0, pt->len ? pt->h[0].when : 0, memory_order_seq_cst);
}

/* Adds t to pt.  pt->lock held.  Returns true if t became the earliest. */
static bool heap_add(ptimers *pt, timer *t) {
    if (pt->len == pt->cap) {
        uint32_t ncap = pt->cap ? pt->cap * 2 : 64;
        hent *nh = gort__fixrealloc(pt->h, ncap * sizeof *nh); /* pt->lock held */
        if (nh == NULL)
            gort__throw("timers: out of memory");
        pt->h = nh;
        pt->cap = ncap;
    }
    uint32_t i = pt->len++;
    hset(pt, i, (hent){t->when, t});
    siftup(pt, i);
    /* Relaxed: t->pt is re-checked under pt->lock by every reader that acts
     * on it (deltimer). */
    atomic_store_explicit(&t->pt, pt, memory_order_relaxed);
    GORT_ASSERT_EXPENSIVE(heap_valid(pt));
    if (t->idx == 0) {
        update_when0(pt);
        return true;
    }
    return false;
}

/* Removes t (which is in pt).  pt->lock held. */
static void heap_del(ptimers *pt, timer *t) {
    uint32_t i = (uint32_t)t->idx;
    uint32_t last = --pt->len;
    if (i != last) {
        hset(pt, i, pt->h[last]);
        if (i > 0 && pt->h[i].when < pt->h[(i - 1) / 4].when)
            siftup(pt, i);
        else
            siftdown(pt, i);
    }
    pt->h[last] = (hent){0, NULL};
    t->idx = -1;
    /* Release: pairs with deltimer's acquire load, which may return "not
     * in a heap" without taking pt->lock (see runone). */
    atomic_store_explicit(&t->pt, NULL, memory_order_release);
    GORT_ASSERT_EXPENSIVE(heap_valid(pt));
    if (i == 0 || pt->len == 0)
        update_when0(pt);
}

/* The P to put a new timer on: the caller's, else allp[0] (threads outside
 * the runtime). */
static struct p *timer_p(void) {
    struct m *mp = gort__getm();
    if (mp != NULL && mp->p != NULL)
        return mp->p;
    return atomic_load_explicit(&gort__allp[0], memory_order_acquire);
}

/* Puts t in pt (pt->lock held) with deadline when and, if period > 0,
 * that period (a ticker's Reset).  Normally t is in no heap.  But two
 * Resets of one timer may run at once: each takes it out, then each puts
 * it in, and the second must not add it twice (that corrupted the heap).
 * So a t already in pt is moved, and false is returned for a t in another
 * heap, whose lock the caller must take (deltimer) before it tries again;
 * the last Reset to put it in wins, as in Go.  *earliest: t became pt's
 * earliest. */
static bool heap_put(ptimers *pt, timer *t, int64_t when, int64_t period, bool *earliest) {
    /* t is claimed for pt by this CAS from NULL, under pt->lock: of two
     * puts in different heaps, one wins and the other sees its heap (a
     * plain load under our own lock could miss a store made under
     * another).  Acquire on failure: the winner's heap, whose lock orders
     * the rest; a deltimer that reads the new value waits on pt->lock
     * until t is in the array. */
    ptimers *cur = NULL;
    if (!atomic_compare_exchange_strong_explicit(&t->pt, &cur, pt, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        if (cur != pt)
            return false;
        heap_del(pt, t);
    }
    t->when = when;
    if (period > 0)
        t->period = period;
    *earliest = heap_add(pt, t);
    return true;
}

/* Go's addtimer/modtimer (the adding half): puts t in the current P's heap
 * with deadline when (period: see heap_put). */
static void addtimer_p(timer *t, int64_t when, int64_t period) {
    if (when < 0)
        when = MAXWHEN; /* overflow of now + d */
    /* A thread outside the runtime counts itself while it uses the heap
     * and may wake an M: shutdown frees both (gort__foreign_enter).  No
     * runtime (before or after gort_main, or shutting down): the timer
     * stays stopped. */
    bool foreign = gort__getm() == NULL;
    if (foreign && !gort__foreign_enter(true))
        return;
    struct p *pp = timer_p();
    if (GORT_UNLIKELY(pp == NULL)) {
        if (foreign)
            gort__foreign_unpin();
        return;
    }
    bool has_p = !foreign && gort__getm()->p == pp;
    bool earliest;
    for (;;) {
        ptimers *pt = ptimers_of(pp);
        gort__lock(&pt->lock);
        /* A P that procresize killed has had its timers moved (after its
         * status store, under this lock, which our lock acquire sees). */
        if (GORT_UNLIKELY(atomic_load_explicit(&pp->status, memory_order_relaxed) == P_DEAD)) {
            gort__unlock(&pt->lock);
            pp = atomic_load_explicit(&gort__allp[0], memory_order_acquire);
            has_p = false;
            continue;
        }
        bool put = heap_put(pt, t, when, period, &earliest);
        gort__unlock(&pt->lock);
        if (put)
            break;
        (void)gort__deltimer(t);
    }
    if (earliest)
        gort__timer_wake(when, has_p);
    if (foreign)
        gort__foreign_unpin();
}

void gort__addtimer(timer *t, int64_t when) {
    addtimer_p(t, when, 0);
}

static void runone(ptimers *pt, timer *t, int64_t now);

/* ------------------------------------------------------------- bubble heaps */

/*
 * A synctest bubble (synctest.c) has a heap of its own, keyed by its fake
 * clock: the same struct ptimers with no P (pp == NULL), so that deltimer,
 * Stop, Reset and free work on its timers unchanged.  The scheduler never
 * looks at it (it is on no P): the bubble's root runs it when the bubble
 * is idle (gort__timers_run), on the root's goroutine.  Timers the user
 * makes from a goroutine of a bubble go there (addtimer_user below);
 * runtime timers (fd deadlines) stay on the per-P heaps and real time.
 */
struct ptimers *gort__timers_heap_new(void) {
    ptimers *pt = gort__fixalloc(sizeof(ptimers));
    if (pt != NULL)
        gort__lockinit(&pt->lock, LOCKRANK_TIMERS);
    return pt;
}

void gort__timers_heap_free(ptimers *pt) {
    if (pt == NULL)
        return;
    gort__lock(&pt->lock);
    for (uint32_t i = 0; i < pt->len; i++) {
        /* Release: pairs with deltimer's acquire (as heap_del's store). */
        pt->h[i].t->idx = -1;
        atomic_store_explicit(&pt->h[i].t->pt, NULL, memory_order_release);
    }
    pt->len = 0;
    gort__unlock(&pt->lock);
    gort__fixfree(pt->h);
    gort__fixfree(pt);
}

int64_t gort__timers_run(ptimers *pt, int64_t now) {
    gort__lock(&pt->lock);
    while (pt->len > 0 && pt->h[0].when <= now)
        runone(pt, pt->h[0].t, now);
    int64_t next = pt->len ? pt->h[0].when : 0;
    gort__unlock(&pt->lock);
    return next;
}

int64_t gort__timers_heap_next(ptimers *pt) {
    /* seq_cst as every when0 access (update_when0). */
    return atomic_load_explicit(&pt->when0, memory_order_seq_cst);
}

/* gort__addtimer_to with a period (see heap_put). */
static void addtimer_in(timer *t, int64_t when, int64_t period, ptimers *pt) {
    if (pt == NULL) {
        addtimer_p(t, when, period);
        return;
    }
    if (when < 0)
        when = MAXWHEN;
    for (;;) {
        bool earliest; /* nobody sleeps on a bubble's heap: no wake */
        gort__lock(&pt->lock);
        bool put = heap_put(pt, t, when, period, &earliest);
        gort__unlock(&pt->lock);
        if (put)
            return;
        (void)gort__deltimer(t);
    }
}

void gort__addtimer_to(timer *t, int64_t when, ptimers *pt) {
    addtimer_in(t, when, 0, pt);
}

/* Adds a timer the user made, with a deadline in the caller's clock, to
 * the caller's bubble's heap or the P's. */
static inline void addtimer_user(timer *t, int64_t when) {
    addtimer_in(t, when, 0, gort__synctest_timers());
}

static bool deltimer_heap(timer *t);

/* Go's deltimer: removes t from whatever heap it is in.  Returns true if it
 * was in one (it had not fired yet).  A thread outside the runtime counts
 * itself while it uses a P's heap, which shutdown frees; while shutdown
 * runs it waits instead until shutdown has taken t out (the caller may
 * free t next, and shutdown would write to it). */
bool gort__deltimer(timer *t) {
    if (GORT_LIKELY(gort__getm_entry() != NULL))
        return deltimer_heap(t);
    if (!gort__foreign_enter(false)) {
        while (gort__runtime_stopping() && atomic_load_explicit(&t->pt, memory_order_acquire))
            gort__osyield();
        return deltimer_heap(t);
    }
    bool r = deltimer_heap(t);
    gort__foreign_unpin();
    return r;
}

static bool deltimer_heap(timer *t) {
    for (;;) {
        /* Acquire: pairs with heap_del's release store of NULL (then the
         * firing count of a run in progress is visible).  A non-NULL value
         * is only a hint, re-checked under the lock it names. */
        ptimers *pt = atomic_load_explicit(&t->pt, memory_order_acquire);
        if (pt == NULL)
            return false;
        gort__lock(&pt->lock);
        if (atomic_load_explicit(&t->pt, memory_order_relaxed) != pt) {
            gort__unlock(&pt->lock); /* moved by procresize or fired meanwhile */
            continue;
        }
        heap_del(pt, t);
        gort__unlock(&pt->lock);
        return true;
    }
}

/* Waits for calls of t->f already started to finish (t is in no heap, so no
 * new one can start). */
void gort__waitfiring(timer *t) {
    /* Acquire: pairs with the release decrement in runone, so f's accesses
     * to the timer and its channel happen before our free. */
    while (atomic_load_explicit(&t->firing, memory_order_acquire) != 0) {
        if (gort__getg() != NULL)
            gort__gosched();
        else
            gort__osyield();
    }
}

/* Runs the earliest timer of pt, which is due.  pt->lock held; released
 * while f runs and re-taken (Go's runOneTimer). */
static void runone(ptimers *pt, timer *t, int64_t now) {
    bool track = t->track;
    void (*f)(timer *, int64_t, uintptr_t) = t->f;
    uintptr_t seq = t->seq; /* before t leaves the heap: see gort__deltimer */
    if (track)
        /* Before t leaves the heap: a freer either takes pt->lock after us,
         * or sees t->pt == NULL through its acquire load in deltimer, which
         * pairs with the release store in heap_del; either way it then
         * sees this increment and waits (waitfiring). */
        atomic_fetch_add_explicit(&t->firing, 1, memory_order_relaxed);
    if (t->period > 0) {
        /* Leave in heap but adjust next time to fire. */
        int64_t delta = t->when - now;
        /* Go's when += period * (1 + -delta/period), capped at maxWhen
         * where it wraps: checked here, as C's signed overflow is
         * undefined (a tick of a huge period on a bubble's clock). */
        int64_t w;
        if (__builtin_mul_overflow(t->period, 1 + -delta / t->period, &w) ||
            __builtin_add_overflow(t->when, w, &w) || w < 0)
            w = MAXWHEN;
        t->when = w;
        pt->h[0].when = t->when; /* t is h[0] */
        siftdown(pt, 0);
    } else {
        heap_del(pt, t);
    }
    update_when0(pt);
    gort__unlock(&pt->lock);
    f(t, now, seq);
    if (track)
        /* Release: pairs with waitfiring's acquire.  t is not touched after. */
        atomic_fetch_sub_explicit(&t->firing, 1, memory_order_release);
    gort__lock(&pt->lock);
}

/* Go's checkTimers: runs pp's due timers.  *now is 0 or a recent
 * gort_nanotime() (filled in when needed).  True if any timer ran.
 * Runs on g0 of an M holding a P (not necessarily pp).  (Go returns the
 * earliest deadline left for findRunnable's pollUntil; the poller here
 * asks gort__timers_earliest instead.) */
bool gort__checktimers(struct p *pp, int64_t *now) {
    ptimers *pt = ptimers_peek(pp);
    if (pt == NULL)
        return false;
    /* Relaxed: a stale value only delays the check to the next round. */
    int64_t next = atomic_load_explicit(&pt->when0, memory_order_relaxed);
    if (next == 0)
        return false;
    if (*now == 0)
        *now = gort_nanotime();
    if (*now < next)
        return false;
    bool ran = false;
    gort__lock(&pt->lock);
    while (pt->len > 0) {
        if (pt->h[0].when > *now)
            break;
        runone(pt, pt->h[0].t, *now);
        ran = true;
    }
    gort__unlock(&pt->lock);
    return ran;
}

/* Go's nobarrierWakeTime: the earliest deadline of pp's timers, or 0.
 * seq_cst: see update_when0. */
int64_t gort__timers_next(struct p *pp) {
    ptimers *pt = ptimers_peek(pp);
    return pt ? atomic_load_explicit(&pt->when0, memory_order_seq_cst) : 0;
}

/* Go's moveTimers: moves every timer of from (a P going away) to to.  The
 * world is stopped. */
void gort__timers_move(struct p *from, struct p *to) {
    ptimers *src = ptimers_peek(from);
    if (src == NULL || src->len == 0)
        return;
    ptimers *dst = ptimers_of(to);
    gort__lock(&src->lock);
    gort__lock(&dst->lock);
    for (uint32_t i = 0; i < src->len; i++) {
        timer *t = src->h[i].t;
        src->h[i] = (hent){0, NULL};
        heap_add(dst, t);
    }
    src->len = 0;
    update_when0(src);
    update_when0(dst);
    gort__unlock(&dst->lock);
    gort__unlock(&src->lock);
}

/* At shutdown: frees pp's heap (timers still in it belong to the user). */
void gort__timers_pfree(struct p *pp) {
    ptimers *pt = ptimers_peek(pp);
    if (pt == NULL)
        return;
    /* Release: pairs with gort__deltimer's acquire load of a thread
     * outside the runtime that waits for this (it may free t next). */
    for (uint32_t i = 0; i < pt->len; i++)
        atomic_store_explicit(&pt->h[i].t->pt, NULL, memory_order_release);
    gort__fixfree(pt->h);
    gort__fixfree(pt);
    atomic_store_explicit(&pp->timers, NULL, memory_order_relaxed);
}

/* For checkdead: true if any P has a timer.  sched.lock held. */
bool gort__timers_pending(void) {
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < procs; i++)
        if (gort__timers_next(atomic_load_explicit(&gort__allp[i], memory_order_acquire)) != 0)
            return true;
    return false;
}

/* The earliest deadline over all Ps, or 0. */
int64_t gort__timers_earliest(void) {
    int64_t best = 0;
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < procs; i++) {
        int64_t w = gort__timers_next(atomic_load_explicit(&gort__allp[i], memory_order_acquire));
        if (w != 0 && (best == 0 || w < best))
            best = w;
    }
    return best;
}

/* ------------------------------------------------------------------ sleep */

static void goready_timer(timer *t, int64_t now, uintptr_t seq) {
    (void)now;
    (void)seq;
    gort__goready((struct g *)t->arg);
}

/* A sleeping goroutine's timer and the heap it goes in (its bubble's, or
 * NULL: the P's), chosen while the goroutine runs. */
typedef struct sleeper {
    timer t;
    ptimers *heap;
} sleeper;

/* gopark's unlock function: the goroutine is parked (its stack idle), now
 * its timer may fire.  Go's resetForSleep. */
static bool sleep_commit(struct g *gp, void *arg) {
    (void)gp;
    sleeper *s = arg;
    gort__addtimer_to(&s->t, s->t.when, s->heap);
    return true;
}

/* time.Sleep.  On a thread outside the runtime: nanosleep. */
GORT_API void gort_sleep(int64_t ns) {
    if (ns <= 0)
        return;
    struct g *gp = gort__getg();
    if (gp == NULL || !gort__runtime_running()) {
        struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        return;
    }
    int64_t when;
    if (__builtin_add_overflow(gort__now(), ns, &when))
        when = MAXWHEN; /* Go's when(): an overflow is maxWhen */
    /* The timer lives on this stack: after it fires (goready) nobody
     * touches it again (untracked), and the goroutine returns only then. */
    sleeper s = {
        .t = {.idx = -1, .when = when < 0 ? MAXWHEN : when, .f = goready_timer, .arg = gp},
        .heap = gort__synctest_timers(),
    };
    gort__gopark(sleep_commit, &s, WAIT_SLEEP);
}

/* ------------------------------------------------------------------ timers */

/* Go's sendTime: a non-blocking send of the time, so a full buffer (a slow
 * receiver) drops the tick. */
static void sendtime(timer *t, int64_t now, uintptr_t seq) {
    (void)seq;
    san_acquire(t); /* <- gort_timer_new / reset (race mode) */
    (void)gort_chan_trysend((gort_chan *)t->arg, &now);
}

/* Go's goFunc: runs the function in a goroutine of its own. */
static void gofunc(timer *t, int64_t now, uintptr_t seq) {
    (void)now;
    (void)seq;
    gort_timer *tm = (gort_timer *)t;
    san_acquire(t); /* <- gort_after_func / reset; the goroutine inherits it */
    if (gort__go_noyield(tm->fn, tm->fnarg) != 0 && gort__runtime_running())
        gort__throw("after_func: cannot start goroutine");
}

/* now + ns in the caller's clock (its bubble's inside a synctest bubble). */
static inline int64_t when_after(int64_t ns) {
    int64_t now = gort__now();
    if (ns <= 0)
        return now;
    int64_t w;
    if (__builtin_add_overflow(now, ns, &w) || w < 0)
        return MAXWHEN; /* Go's when(): an overflow is maxWhen */
    return w;
}

GORT_API gort_timer *gort_timer_new(int64_t ns) {
    if (!gort__runtime_running())
        return NULL; /* nothing would ever fire it (it crashed) */
    gort_timer *tm = gort__malloc(sizeof *tm);
    if (tm == NULL)
        return NULL;
    tm->c = gort__chan_make_noscan(sizeof(int64_t), 1);
    if (tm->c == NULL) {
        gort__free(tm);
        return NULL;
    }
    tm->fn = NULL;
    tm->fnarg = NULL;
    tm->t = (timer){.idx = -1, .f = sendtime, .arg = tm->c, .track = true};
    san_release(&tm->t);
    addtimer_user(&tm->t, when_after(ns));
    return tm;
}

GORT_API gort_timer *gort_after_func(int64_t ns, void (*fn)(void *arg), void *arg) {
    /* A NULL fn is Go's AfterFunc(d, nil): the timer is made, and only its
     * firing fails (gofunc's go of a nil func is the fatal error), so one
     * stopped in time does nothing. */
    if (!gort__runtime_running())
        return NULL;
    gort_timer *tm = gort__malloc(sizeof *tm);
    if (tm == NULL)
        return NULL;
    tm->c = NULL;
    tm->fn = fn;
    tm->fnarg = arg;
    /* The argument stays alive for the collector while the timer exists
     * (Go: the Timer's closure), until gort_timer_free. */
    gort__gc_root_add(&tm->root, &tm->fnarg, sizeof tm->fnarg);
    tm->t = (timer){.idx = -1, .f = gofunc, .arg = tm, .track = true};
    san_release(&tm->t);
    addtimer_user(&tm->t, when_after(ns));
    return tm;
}

GORT_API gort_chan *gort_timer_chan(gort_timer *t) {
    return t ? t->c : NULL;
}

/* Stop and Reset as Go 1.19: deltimer, then wait for a call of t->f that
 * had already started (Go's deltimer and modtimer spin on timerRunning).
 * So when Stop returns false the fire's value is in the channel, and no
 * tick of a stopped ticker lands after Stop returns: the "if !t.Stop() {
 * <-t.C }" and "select { case <-t.C: default: }" idioms both hold. */
bool gort__deltimer_sync(timer *t) {
    bool active = gort__deltimer(t);
    gort__waitfiring(t);
    return active;
}

GORT_API bool gort_timer_stop(gort_timer *t) {
    if (t == NULL)
        gort_panic("time: Stop called on uninitialized Timer");
    return gort__deltimer_sync(&t->t);
}

GORT_API bool gort_timer_reset(gort_timer *t, int64_t ns) {
    if (t == NULL)
        gort_panic("time: Reset called on uninitialized Timer");
    bool active = gort__deltimer_sync(&t->t);
    san_release(&t->t);
    addtimer_user(&t->t, when_after(ns));
    return active;
}

GORT_API void gort_timer_free(gort_timer *t) {
    if (t == NULL)
        return;
    (void)gort__deltimer_sync(&t->t);
    if (t->c == NULL)
        gort__gc_root_del(&t->root);
    gort_chan_free(t->c);
    gort__free(t);
}

/* ------------------------------------------------------------------ tickers */

GORT_API gort_ticker *gort_ticker_new(int64_t period) {
    if (period <= 0 || !gort__runtime_running())
        return NULL;
    gort_ticker *tk = gort__malloc(sizeof *tk);
    if (tk == NULL)
        return NULL;
    tk->c = gort__chan_make_noscan(sizeof(int64_t), 1);
    if (tk->c == NULL) {
        gort__free(tk);
        return NULL;
    }
    tk->t = (timer){.idx = -1, .period = period, .f = sendtime, .arg = tk->c, .track = true};
    san_release(&tk->t);
    addtimer_user(&tk->t, when_after(period));
    return tk;
}

GORT_API gort_chan *gort_ticker_chan(gort_ticker *t) {
    return t ? t->c : NULL;
}

/* Ticker.Reset: stops the ticker and resets its period; the next tick
 * arrives after the new period. */
GORT_API void gort_ticker_reset(gort_ticker *t, int64_t period) {
    if (period <= 0)
        gort_panic("non-positive interval for Ticker.Reset");
    if (t == NULL)
        gort_panic("time: Reset called on uninitialized Ticker");
    gort__deltimer_sync(&t->t);
    san_release(&t->t);
    /* The new period is stored under the heap's lock, as runone reads it
     * (another Reset may have put the ticker back in a heap already). */
    addtimer_in(&t->t, when_after(period), period, gort__synctest_timers());
}

GORT_API void gort_ticker_stop(gort_ticker *t) {
    if (t == NULL)
        return;
    gort__deltimer_sync(&t->t);
}

GORT_API void gort_ticker_free(gort_ticker *t) {
    if (t == NULL)
        return;
    (void)gort__deltimer_sync(&t->t);
    gort_chan_free(t->c);
    gort__free(t);
}
