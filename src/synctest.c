/*
 * synctest.c - testing/synctest: bubbles with a fake clock.  Mirrors
 * runtime/synctest.go (Go 1.25).
 *
 * gort_synctest_run(fn, arg) makes a bubble, starts fn(arg) in a new
 * goroutine inside it (the bubble's main goroutine) and, as the bubble's
 * root, advances the bubble's clock whenever every goroutine of the bubble
 * is durably blocked, until they have all exited.  A goroutine started by a
 * goroutine of a bubble is in that bubble; so are the channels and timers
 * (sleeps, timers, tickers, after_func, context deadlines) it makes.
 *
 * Durably blocked (Go's isIdleInSynctest): parked on a channel of its own
 * bubble (send, receive, or a select whose channels are all the bubble's),
 * on a nil channel or an empty select, in gort_sleep, gort_cond_wait,
 * gort_synctest_wait, or gort_wg_wait on a WaitGroup associated with the
 * bubble (Go 1.25: its Add ran in the bubble; the association is the
 * bubble's id in the WaitGroup, see gort__synctest_associate and sync.c).
 * A goroutine blocked on a mutex, on a WaitGroup or a channel from outside
 * the bubble, in a foreign call or on I/O is not durably blocked, so the
 * clock waits for it - with one exception of gort's, below.
 *
 * fd deadlines.  A deadline set from a goroutine of a bubble (gort_set_
 * deadline and the conn/dial/wait_fd deadlines) is on the bubble's clock:
 * its timer goes into the bubble's heap.  Go 1.25 has no such thing (its
 * poller adds the fake time left to the real clock, and I/O is never
 * durable there: a read with an hour's deadline takes a real hour).  In
 * gort a goroutine parked on an fd whose deadline on that side is on its
 * bubble's clock is durably blocked (WAIT_SYNCTEST_IO): in fake time the
 * deadline is the event it waits for, so the clock may jump to it.  I/O
 * without such a deadline stays non-durable, as in Go.  So that readiness
 * already in the kernel (data another goroutine of the bubble wrote to a
 * pipe or a loopback socket) wins over a deadline, the root polls the
 * network without blocking before it moves the clock, and waits again if
 * that readied anything.  Readiness from outside the bubble that arrives
 * later in real time loses: the deadline passes first in fake time.
 *
 * Counting, as Go's: total is the bubble's live goroutines, running those
 * not durably blocked, and active counts the transient reasons not to call
 * the bubble idle: a park between gopark and the end of its unlock
 * function (the sleep's timer is only added there), and a wakeup in flight
 * (the root or a Wait caller chosen to run but not yet running).  The
 * bubble is idle when running == 0 and active == 0; whoever makes it so
 * (park_end, exit, a decrement of active) wakes, under the bubble's lock
 * and at most once (active stays raised until the woken goroutine runs):
 *   - the root, if a timer is due at the current fake time;
 *   - else the goroutine in gort_synctest_wait, if any (Wait does not move
 *     the clock);
 *   - else the root, which moves the clock to the next timer and runs it,
 *     or, with no timer left, ends the bubble: done when no goroutine is
 *     left, else a deadlock, reported as Go reports it (a panic in the
 *     caller of gort_synctest_run).
 *
 * The root is not counted: it is not a goroutine of the bubble (its
 * g->bubble is NULL except while it starts the main goroutine and runs the
 * bubble's timers, so that what they make and send is the bubble's), and
 * it parks with WAIT_SYNCTEST_RUN through a commit of its own.
 *
 * Memory order: every count, flag and the waiter/root fields live under
 * b->lock (a runtime lock: these paths run on g0 and never park while
 * holding it).  The fake clock `now` is written by the root under the lock
 * while the bubble is idle and read without it by the bubble's goroutines
 * (gort_nanotime), which were readied after the write: relaxed atomics
 * keep the sanitizers quiet, the wakeup (goready) orders them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "chan.h"
#include "fault.h"
#include "internal.h"
#include "lockrank.h"

/* gort_nanotime inside the library is the runtime's clock (internal.h);
 * the public one, defined here, reads the caller's bubble. */
#undef gort_nanotime

/* Go's synctestBaseTime: midnight UTC 2000-01-01. */
#define SYNCTEST_BASE_TIME INT64_C(946684800000000000)

/* A bubble.  Made on the heap by gort_synctest_run and freed by it at the
 * end, unless a deadlock leaves goroutines behind: they keep pointing at
 * it, so it is then never freed. */
struct gort__bubble {
    gort__rtlock lock;
    _Atomic int64_t now;                 /* [atomic; write under lock, while idle] fake clock */
    struct ptimers *heap;                /* [immutable] the bubble's timers (time.c) */
    struct g *root;                      /* [immutable] caller of gort_synctest_run */
    uint32_t id;                         /* [immutable] nonzero; WaitGroup associations */
    struct g *main;                      /* [lock] goroutine started by gort_synctest_run */
    struct g *waiter;                    /* [lock] goroutine parked in gort_synctest_wait */
    bool waiting;                        /* [lock] a gort_synctest_wait is in progress */
    bool root_waiting;                   /* [lock] the root is parked, waiting for idle */
    bool done;                           /* [lock] main has exited */
    int64_t total;                       /* [lock] live goroutines of the bubble */
    int64_t running;                     /* [lock] of those, not durably blocked */
    int64_t active;                      /* [lock] other activity (see the top) */
    struct gort__bubble *next_abandoned; /* [abandoned_lock] */
};

/* Bubbles a deadlock left goroutines in: never freed, and kept on this
 * list so that they stay reachable (leak checkers do not scan goroutine
 * stacks, where the only other pointers to them live). */
static gort__rtlock abandoned_lock = GORT__RTLOCK_INIT(LOCKRANK_ABANDONED);
static struct gort__bubble *abandoned;

_Atomic int32_t gort__synctest_nbubbles;
_Atomic int32_t gort__synctest_iowait;

/* The last bubble id handed out (0 is "no bubble"; wraps after 2^32-1
 * bubbles). */
static _Atomic uint32_t last_id;

static inline struct gort__bubble *cur_bubble(void) {
    /* Relaxed gate: see gort__goready; a goroutine in a bubble was made
     * after the count went up, in its own history. */
    if (GORT_LIKELY(atomic_load_explicit(&gort__synctest_nbubbles, memory_order_relaxed) == 0))
        return NULL;
    struct g *gp = gort__getg();
    return gp ? gp->bubble : NULL;
}

int64_t gort__now(void) {
    struct gort__bubble *b = cur_bubble();
    if (b != NULL)
        return atomic_load_explicit(&b->now, memory_order_relaxed);
    return gort__nanotime();
}

/* A gort call, so it honours a preemption request on entry as the others
 * do (relaxed load: a hint, as gort__preempt_check's): a goroutine
 * spinning on the clock (while (gort_nanotime() < end))
 * spends most of its time inside it, in the vDSO, where the preemption
 * signal never stops it, and at GOMAXPROCS=1 a goroutine it had readied
 * waited for the whole spin (222 ms of a 200 ms loop). */
GORT_API int64_t gort_nanotime(void) {
    struct g *gp = gort__getg();
    /* Not on a signal stack: a handler that reads the clock anyway (gort.h
     * says not to) must not switch goroutines from there. */
    if (GORT_UNLIKELY(gp != NULL && atomic_load_explicit(&gp->preempt, memory_order_relaxed))) {
        uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
        if (sp >= gp->stack.lo && sp < gp->stack.hi)
            gort__preempt_check_slow(gp);
    }
    return gort__now();
}

struct ptimers *gort__synctest_timers(void) {
    struct gort__bubble *b = cur_bubble();
    return b ? b->heap : NULL;
}

/* The g to wake if the bubble is idle, or NULL (Go's maybeWakeLocked).
 * b->lock held.  Raises active for the woken one, which lowers it. */
static struct g *maybe_wake_locked(struct gort__bubble *b) {
    if (b->running > 0 || b->active > 0)
        return NULL;
    int64_t next = gort__timers_heap_next(b->heap);
    bool due = next != 0 && next <= atomic_load_explicit(&b->now, memory_order_relaxed);
    if (!due && b->waiter != NULL) {
        struct g *w = b->waiter;
        b->waiter = NULL;
        b->active++;
        return w;
    }
    if (b->root_waiting) {
        b->root_waiting = false;
        b->active++;
        return b->root;
    }
    return NULL;
}

static void check_counts(struct gort__bubble *b) {
    if (b->total < 0 || b->running < 0 || b->active < 0 || b->running > b->total)
        gort__throw("synctest: bubble counts out of range");
}

void gort__synctest_newg(struct gort__bubble *b, struct g *newg) {
    gort__lock(&b->lock);
    newg->bubble = b;
    newg->bubble_blocked = false;
    b->total++;
    b->running++; /* runnable counts as running */
    if (b->main == NULL)
        b->main = newg;
    gort__unlock(&b->lock);
}

void gort__synctest_exit(struct g *gp) {
    struct gort__bubble *b = gp->bubble;
    gort__lock(&b->lock);
    b->total--;
    if (!gp->bubble_blocked)
        b->running--;
    gp->bubble_blocked = false;
    if (gp == b->main)
        b->done = true;
    check_counts(b);
    struct g *w = maybe_wake_locked(b);
    gort__unlock(&b->lock);
    gp->bubble = NULL;
    if (w != NULL)
        gort__goready(w);
}

/* Go's waitReason.isIdleInSynctest. */
static bool durable(uint8_t reason) {
    switch (reason) {
    case WAIT_CHAN_RECV_NIL:
    case WAIT_CHAN_SEND_NIL:
    case WAIT_SELECT_NO_CASES:
    case WAIT_SLEEP:
    case WAIT_SYNC_COND:
    case WAIT_SYNCTEST_WAITGROUP:
    case WAIT_SYNCTEST_IO:
    case WAIT_SYNCTEST_CHAN_RECV:
    case WAIT_SYNCTEST_CHAN_SEND:
    case WAIT_SYNCTEST_SELECT:
    case WAIT_SYNCTEST_WAIT:
        return true;
    default:
        return false;
    }
}

void gort__synctest_park_begin(struct g *gp, uint8_t reason) {
    struct gort__bubble *b = gp->bubble;
    /* Race mode (edge 26): what gp did before it blocks durably -> the
     * Wait (or Run) that finds the bubble idle, which acquires on b.  On
     * gp's own stack and fiber (gopark calls us before it switches), and
     * before the counts that let anyone call the bubble idle.  Merged: the
     * acquirer gets every goroutine's release, as Go's racereleasemergeg
     * on the bubble. */
    bool dur = durable(reason);
    if (dur)
        san_release(b);
    gort__lock(&b->lock);
    b->active++; /* until park_end: the unlock function has not run yet */
    if (dur) {
        gp->bubble_blocked = true;
        b->running--;
    }
    gort__unlock(&b->lock);
}

void gort__synctest_park_end(struct gort__bubble *b, struct g *gp, bool ok) {
    gort__lock(&b->lock);
    /* !ok: gp did not park and is still ours.  ok: gp may already have
     * been readied (and counted as running again): do not touch it. */
    if (!ok && gp->bubble_blocked) {
        gp->bubble_blocked = false;
        b->running++;
    }
    b->active--;
    check_counts(b);
    struct g *w = maybe_wake_locked(b);
    gort__unlock(&b->lock);
    if (w != NULL)
        gort__goready(w);
}

void gort__synctest_ready(struct g *gp) {
    struct gort__bubble *b = gp->bubble;
    gort__lock(&b->lock);
    if (gp->bubble_blocked) {
        gp->bubble_blocked = false;
        b->running++;
    }
    gort__unlock(&b->lock);
}

struct gort__bubble *gort__synctest_bubble(void) {
    return cur_bubble();
}

void gort__synctest_chan_check(struct gort__bubble *cb, const char *op) {
    struct g *gp = gort__getg();
    if (cb != NULL && (gp == NULL || gp->bubble != cb)) {
        /* Go: fatal("send on synctest channel from outside bubble"). */
        char msg[80];
        snprintf(msg, sizeof msg, "%s synctest channel from outside bubble", op);
        gort__fatal(msg);
    }
}

int gort__synctest_associate(_Atomic uint32_t *slot) {
    struct gort__bubble *b = cur_bubble();
    if (b == NULL)
        return SYNCTEST_UNBUBBLED;
    /* Relaxed: the id is only compared; the object's own synchronisation
     * (a WaitGroup's state word) orders the uses around it. */
    uint32_t cur = 0;
    if (atomic_compare_exchange_strong_explicit(slot, &cur, b->id, memory_order_relaxed,
                                                memory_order_relaxed) ||
        cur == b->id)
        return SYNCTEST_CURRENT;
    return SYNCTEST_OTHER;
}

bool gort__synctest_is_associated(_Atomic uint32_t *slot) {
    struct gort__bubble *b = cur_bubble();
    return b != NULL && atomic_load_explicit(slot, memory_order_relaxed) == b->id;
}

/* The root's commit (Go's synctestidle_c): parks unless the bubble is
 * already idle, in which case the root goes on at once. */
static bool root_commit(struct g *gp, void *arg) {
    (void)gp;
    struct gort__bubble *b = arg;
    gort__lock(&b->lock);
    bool park = !(b->running == 0 && b->active == 0);
    b->root_waiting = park;
    if (!park)
        b->active++; /* as maybe_wake_locked does for the root it wakes */
    gort__unlock(&b->lock);
    return park;
}

/* Runs the bubble's due timers as the bubble (see the top). */
static void run_timers(struct gort__bubble *b, struct g *root) {
    if (root != NULL)
        root->bubble = b;
    (void)gort__timers_run(b->heap, atomic_load_explicit(&b->now, memory_order_relaxed));
    if (root != NULL)
        root->bubble = NULL;
}

/* Polls the network without blocking and readies what it finds (any
 * goroutine's, not only the bubble's: they are due anyway).  True if it
 * readied one. */
static bool poll_network(void) {
    struct g *list = gort__netpoll(0);
    bool any = list != NULL;
    while (list != NULL) {
        struct g *gp = list;
        list = gp->schedlink;
        gort__goready(gp);
    }
    return any;
}

/* Whether a goroutine parked durably on an fd (g.syncio) has that fd
 * ready in the kernel.  The root's non-blocking poll finds nothing when
 * another M has already taken the fd's event from epoll and not yet
 * readied the goroutine: netpollready claims the goroutine (the poller's
 * waiter count drops to 0) before gort__synctest_ready counts it as
 * running again, and a root that looked in between moved the clock to a
 * read's deadline with the data in the pipe (synctest.fd_deadline_on_
 * bubble_clock under tsan: 10 of 160 runs beside a second copy).  The
 * kernel's level-triggered answer covers that window: the event is then
 * in flight, and the root waits for it rather than move the clock.
 * Every bubble's durable I/O waiters are asked (a g's bubble field is
 * its own to read), and gs that may be running again: a stale or foreign
 * answer costs the root one more look. */
static void io_check_g(struct g *gp, void *arg) {
    bool *ready = arg;
    int64_t io = atomic_load_explicit(&gp->syncio, memory_order_relaxed);
    if (*ready || io == 0)
        return;
    struct pollfd p = {.fd = (int)(io >> 16) - 1, .events = (short)(io & 0xffff)};
    if (poll(&p, 1, 0) == 1 && !(p.revents & POLLNVAL))
        *ready = true;
}

static bool io_pending(void) {
    bool ready = false;
    gort__forallg(io_check_g, &ready);
    return ready;
}

/* Prints the goroutines a deadlock leaves in b (Go lists them in the
 * panic's traceback, "goroutine N [chan receive (durable), synctest]"). */
static void print_left(struct g *gp, void *arg) {
    if (gp->bubble == arg && atomic_load_explicit(&gp->status, memory_order_relaxed) == G_WAITING) {
        gort__print_goroutine(gp, false);
        gort__printf("\n");
    }
}

GORT_API int gort_synctest_run(void (*fn)(void *arg), void *arg) {
    if (fn == NULL)
        gort__fatal("go of nil func value");
    if (!gort__runtime_running())
        return -EAGAIN;
    struct g *root = gort__getg();
    if (root == NULL)
        return -EINVAL; /* the root must be a goroutine (it starts the bubble's) */
    if (root->bubble != NULL)
        gort_panic("synctest.Run called from within a synctest bubble");
    struct gort__bubble *b = gort__calloc(1, sizeof *b);
    if (b == NULL)
        return -ENOMEM;
    gort__lockinit(&b->lock, LOCKRANK_BUBBLE);
    b->heap = gort__timers_heap_new();
    if (b->heap == NULL) {
        gort__free(b);
        return -ENOMEM;
    }
    atomic_init(&b->now, SYNCTEST_BASE_TIME);
    b->root = root;
    do /* relaxed: ids need only be distinct */
        b->id = atomic_fetch_add_explicit(&last_id, 1, memory_order_relaxed) + 1;
    while (b->id == 0);
    /* Before any goroutine of the bubble exists (see cur_bubble). */
    atomic_fetch_add_explicit(&gort__synctest_nbubbles, 1, memory_order_relaxed);

    /* gort_go from the root as a goroutine of the bubble: newproc1's hook
     * makes the new g the bubble's first, its main. */
    root->bubble = b;
    int err = gort_go(fn, arg);
    root->bubble = NULL;
    if (err != 0) {
        atomic_fetch_sub_explicit(&gort__synctest_nbubbles, 1, memory_order_relaxed);
        gort__timers_heap_free(b->heap);
        gort__free(b);
        return err;
    }

    gort__lock(&b->lock);
    b->active++;          /* the root itself, while it runs timers */
    int64_t io_since = 0; /* when io_pending began to hold the clock, or 0 */
    for (;;) {
        gort__unlock(&b->lock);
        run_timers(b, root);
        /* Lower our own activity (waking a Wait caller if that makes the
         * bubble idle) and wait for the bubble to idle. */
        gort__lock(&b->lock);
        b->active--;
        struct g *w = maybe_wake_locked(b);
        gort__unlock(&b->lock);
        if (w != NULL)
            gort__goready(w);
        gort__gopark(root_commit, b, WAIT_SYNCTEST_RUN);
        gort__lock(&b->lock);
        /* We hold one count of active again (root_commit or the waker
         * raised it).  running is 0, unless something outside the bubble
         * readied one of its goroutines meanwhile: then wait again. */
        if (b->running != 0)
            continue;
        int64_t next = gort__timers_heap_next(b->heap);
        if (b->total == 0 || b->done || next == 0)
            break; /* time stops once main has exited, as in Go */
        /* Readiness already in the kernel wins over a deadline on our
         * clock (see the top): poll once; if that readied anyone, the
         * bubble is no longer idle (or was not idle for long): wait again. */
        if (gort__netpoll_waiters() > 0 ||
            atomic_load_explicit(&gort__synctest_iowait, memory_order_relaxed) > 0) {
            gort__unlock(&b->lock);
            bool readied = poll_network();
            /* An event in flight on another M (io_pending): let that M
             * run, and look again.  Bounded: after a second of real time
             * the clock moves as if nothing were pending. */
            if (!readied &&
                atomic_load_explicit(&gort__synctest_iowait, memory_order_relaxed) > 0 &&
                io_pending()) {
                if (io_since == 0)
                    io_since = gort_nanotime();
                if (gort_nanotime() - io_since < 1000000000) {
                    gort__osyield();
                    readied = true;
                }
            } else {
                io_since = 0;
            }
            gort__lock(&b->lock);
            /* Anything changed meanwhile (a close from outside the bubble
             * may have readied one of ours or removed a timer): look again
             * from the top. */
            if (readied || b->running != 0 || gort__timers_heap_next(b->heap) != next)
                continue;
        }
        int64_t now = atomic_load_explicit(&b->now, memory_order_relaxed);
        if (next < now)
            gort__throw("synctest: time went backwards");
        atomic_store_explicit(&b->now, next, memory_order_relaxed);
    }
    int64_t total = b->total;
    bool done = b->done;
    b->active--;
    gort__unlock(&b->lock);

    if (total != 0) {
        /* Go: panic(synctestDeadlockError{reason}).  The goroutines left
         * behind stay blocked and keep pointing at b: b is not freed. */
        const char *reason =
            done ? "deadlock: main bubble goroutine has exited but blocked goroutines remain"
                 : "deadlock: all goroutines in bubble are blocked";
        gort__print_lock();
        gort__printf("synctest: %s; goroutines in the bubble:\n\n", reason);
        gort__forallg(print_left, b);
        gort__print_unlock();
        gort__lock(&abandoned_lock);
        b->next_abandoned = abandoned;
        abandoned = b;
        gort__unlock(&abandoned_lock);
        atomic_fetch_sub_explicit(&gort__synctest_nbubbles, 1, memory_order_relaxed);
        gort_panic(reason);
    }
    /* Every goroutine of the bubble has exited (their exits, under
     * b->lock, happen before our last lock).  Timers left running never
     * fire: they are left in no heap.  Race mode (edge 27): each exit
     * released on b (gort__goexit1) before it counted itself out. */
    san_acquire(b);
    gort__timers_heap_free(b->heap);
    gort__free(b);
    atomic_fetch_sub_explicit(&gort__synctest_nbubbles, 1, memory_order_relaxed);
    return 0;
}

/* The Wait caller's commit (Go's synctestwait_c). */
static bool wait_commit(struct g *gp, void *arg) {
    struct gort__bubble *b = arg;
    gort__lock(&b->lock);
    b->waiter = gp;
    gort__unlock(&b->lock);
    return true;
}

GORT_API void gort_synctest_wait(void) {
    struct g *gp = gort__getg();
    struct gort__bubble *b = gp ? gp->bubble : NULL;
    if (b == NULL)
        gort_panic("goroutine is not in a bubble");
    gort__lock(&b->lock);
    if (b->waiting) {
        gort__unlock(&b->lock);
        gort_panic("wait already in progress");
    }
    b->waiting = true;
    gort__unlock(&b->lock);
    /* Durable: once the others are idle, park_end's (or their) wakeup
     * picks us, raising active for us. */
    gort__gopark(wait_commit, b, WAIT_SYNCTEST_WAIT);
    san_acquire(b); /* <- the others' durable blocks and exits (race mode) */
    gort__lock(&b->lock);
    b->active--;
    b->waiting = false;
    check_counts(b);
    struct g *w = maybe_wake_locked(b);
    gort__unlock(&b->lock);
    if (w != NULL)
        gort__goready(w);
}
