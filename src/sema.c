/*
 * sema.c - semaphores for the sync package, and notifyList for sync.Cond.
 * Mirrors runtime/sema.go.
 *
 * These are not counting semaphores to be used directly: think of them as a
 * sleep and wakeup such that every sleep is paired with a single wakeup,
 * even if, due to races, the wakeup happens before the sleep (Mullender and
 * Cox, "Semaphores in Plan 9").  *addr is the count; a goroutine that finds
 * it zero parks on a sudog queued in the semaRoot its address hashes to.
 *
 * semtable: 251 semaRoots (a prime, so that it does not correlate with
 * addresses), one per cache line.  Each root holds, under its lock, a
 * treap (a binary search tree on the address, kept balanced by a random
 * heap priority in sudog.ticket) of sudogs with distinct addresses; each of
 * those heads a FIFO list (sudog.waitlink, tail in sudog.waittail) of the
 * other sudogs waiting on the same address.  Operations on the lists are
 * O(1), the tree search O(log n) in the number of distinct addresses that
 * have waiters and hash to the root.
 *
 * Invariants, for the sudogs of one root (all fields under root->lock):
 *   - tree nodes: addr distinct; BST order on addr through prev (smaller)
 *     and next (larger); parent links consistent; heap order on ticket
 *     (parent->ticket <= child->ticket); ticket odd (nonzero).
 *   - list members (reached through a node's waitlink): parent, prev, next
 *     NULL; the node's waittail is the last member (NULL: empty list).
 *   - nwait counts the sudogs in the root (all addresses), and is also read
 *     without the lock by semrelease's fast path.
 *   - A dequeued sudog has ticket 0; semrelease in handoff mode sets it to 1
 *     to tell the woken goroutine it already owns the count.
 *
 * Missed wakeups.  semacquire: nwait++, then re-check *addr, then queue and
 * park; semrelease: *addr++, then check nwait.  That is a Dekker pattern
 * (each side stores one word and loads the other), so the four accesses are
 * seq_cst: at least one side sees the other's store.  (On x86-64 the two
 * RMWs are LOCK XADD and the two loads plain MOVs, as in Go.)
 *
 * Wakeup order: FIFO per address, except that lifo == true (a sync.Mutex
 * waiter that has been woken before and lost the race) queues at the head.
 * In handoff mode (a starving sync.Mutex) semrelease gives the count to the
 * first waiter directly and yields the processor to it.
 */
#include <stdatomic.h>
#include <stddef.h>

#include "internal.h"
#include "lockrank.h"
#include "san.h"

/* ------------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------------ */

#define SEMTABSIZE 251

/* semaRoot: see the header comment.  Type-stable (a static table). */
struct semaroot {
    gort__rtlock lock;
    struct sudog *treap;    /* [lock] root of the tree of unique addresses */
    _Atomic uint32_t nwait; /* [atomic; write under lock] waiters in this root */
};

static struct {
    _Alignas(64) struct semaroot root;
} semtable[SEMTABSIZE] = {
    [0 ... SEMTABSIZE - 1] = {.root = {.lock = GORT__RTLOCK_INIT(LOCKRANK_SEMAROOT)}}};

static inline struct semaroot *semroot(_Atomic uint32_t *addr) {
    return &semtable[((uintptr_t)addr >> 3) % SEMTABSIZE].root;
}

/* Takes one count if there is one.  The load is seq_cst for the Dekker
 * pattern above; a successful CAS is an acquire that pairs with the release
 * half of semrelease's increment, so that what the releaser did before
 * gort__semrelease happens before the acquirer returns.  A failed CAS only
 * retries (relaxed). */
static inline bool cansemacquire(_Atomic uint32_t *addr) {
    for (;;) {
        uint32_t v = atomic_load_explicit(addr, memory_order_seq_cst);
        if (v == 0)
            return false;
        if (atomic_compare_exchange_weak_explicit(addr, &v, v - 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    }
}

/* ------------------------------------------------------------------------
 * The treap (root->lock held throughout)
 * ------------------------------------------------------------------------ */

/* Rotates the tree rooted at x: (x a (y b c)) becomes (y (x a b) c). */
static void rotate_left(struct semaroot *root, struct sudog *x) {
    struct sudog *p = x->parent, *y = x->next, *b = y->prev;
    y->prev = x;
    x->parent = y;
    x->next = b;
    if (b != NULL)
        b->parent = x;
    y->parent = p;
    if (p == NULL)
        root->treap = y;
    else if (p->prev == x)
        p->prev = y;
    else {
        if (p->next != x)
            gort__throw("semaRoot rotateLeft");
        p->next = y;
    }
}

/* Rotates the tree rooted at y: (y (x a b) c) becomes (x a (y b c)). */
static void rotate_right(struct semaroot *root, struct sudog *y) {
    struct sudog *p = y->parent, *x = y->prev, *b = x->next;
    x->next = y;
    y->parent = x;
    y->prev = b;
    if (b != NULL)
        b->parent = y;
    x->parent = p;
    if (p == NULL)
        root->treap = x;
    else if (p->prev == y)
        p->prev = x;
    else {
        if (p->next != y)
            gort__throw("semaRoot rotateRight");
        p->next = x;
    }
}

/* Adds s (for goroutine gp) to the waiters on addr: at the tail of addr's
 * list, or at its head when lifo. */
static void semroot_queue(struct semaroot *root, _Atomic uint32_t *addr, struct sudog *s,
                          struct g *gp, bool lifo) {
    s->g = gp;
    s->addr = (void *)addr;
    s->next = NULL;
    s->prev = NULL;
    s->parent = NULL;
    s->waitlink = NULL;
    s->waittail = NULL;

    struct sudog *last = NULL;
    struct sudog **pt = &root->treap;
    for (struct sudog *t = *pt; t != NULL; t = *pt) {
        if (t->addr == (void *)addr) {
            /* Already have addr in the tree. */
            if (lifo) {
                /* Substitute s in t's place in the treap, t first in s's list. */
                *pt = s;
                s->ticket = t->ticket;
                /* s now heads the waiters: it takes over the time the
                 * head's wait is charged from. */
                s->acquiretime = t->acquiretime;
                s->parent = t->parent;
                s->prev = t->prev;
                s->next = t->next;
                if (s->prev != NULL)
                    s->prev->parent = s;
                if (s->next != NULL)
                    s->next->parent = s;
                s->waitlink = t;
                s->waittail = t->waittail;
                if (s->waittail == NULL)
                    s->waittail = t;
                t->parent = NULL;
                t->prev = NULL;
                t->next = NULL;
                t->waittail = NULL;
            } else {
                /* Add s to the end of t's list. */
                if (t->waittail == NULL)
                    t->waitlink = s;
                else
                    t->waittail->waitlink = s;
                t->waittail = s;
                s->waitlink = NULL;
            }
            return;
        }
        last = t;
        pt = (uintptr_t)addr < (uintptr_t)t->addr ? &t->prev : &t->next;
    }

    /* Add s as a new leaf in the tree of unique addresses.  The treap keeps
     * it balanced on average with a random heap priority in ticket:
     * s->ticket <= both children's.  The low bit is set because ticket is
     * compared with zero elsewhere. */
    s->ticket = gort__fastrand() | 1;
    s->parent = last;
    *pt = s;

    /* Rotate up into the tree according to the ticket (priority). */
    while (s->parent != NULL && s->parent->ticket > s->ticket) {
        if (s->parent->prev == s)
            rotate_right(root, s->parent);
        else {
            if (s->parent->next != s)
                gort__throw("semaRoot queue");
            rotate_left(root, s->parent);
        }
    }
}

/* Finds, removes and returns the first goroutine waiting on addr, or NULL
 * (Go's semaRoot.dequeue).  *now: if the mutex profile sampled that
 * waiter (acquiretime != 0), the time it was woken (nanotime), else 0.
 * The next waiter on addr then counts its wait from *now, so that each
 * unlock is charged only the wait since the previous one, the contention
 * its own holder caused. */
static struct sudog *semroot_dequeue(struct semaroot *root, _Atomic uint32_t *addr, int64_t *now) {
    *now = 0;
    struct sudog **ps = &root->treap;
    struct sudog *s = *ps;
    for (; s != NULL; s = *ps) {
        if (s->addr == (void *)addr)
            break;
        ps = (uintptr_t)addr < (uintptr_t)s->addr ? &s->prev : &s->next;
    }
    if (s == NULL)
        return NULL;

    if (GORT_UNLIKELY(s->acquiretime != 0))
        *now = gort_nanotime();
    struct sudog *t = s->waitlink;
    if (t != NULL) {
        /* Substitute t, also waiting on addr, for s in the tree. */
        *ps = t;
        t->ticket = s->ticket;
        t->parent = s->parent;
        t->prev = s->prev;
        if (t->prev != NULL)
            t->prev->parent = t;
        t->next = s->next;
        if (t->next != NULL)
            t->next->parent = t;
        t->waittail = t->waitlink != NULL ? s->waittail : NULL;
        t->acquiretime = *now;
        s->waitlink = NULL;
        s->waittail = NULL;
    } else {
        /* Rotate s down to be a leaf of the tree for removal, respecting
         * priorities. */
        while (s->next != NULL || s->prev != NULL) {
            if (s->next == NULL || (s->prev != NULL && s->prev->ticket < s->next->ticket))
                rotate_right(root, s);
            else
                rotate_left(root, s);
        }
        /* Remove s, now a leaf. */
        if (s->parent != NULL) {
            if (s->parent->prev == s)
                s->parent->prev = NULL;
            else
                s->parent->next = NULL;
        } else {
            root->treap = NULL;
        }
    }
    s->parent = NULL;
    s->addr = NULL;
    s->next = NULL;
    s->prev = NULL;
    s->ticket = 0;
    return s;
}

/* ------------------------------------------------------------------------
 * semacquire / semrelease
 * ------------------------------------------------------------------------ */

static bool semparkcommit(struct g *gp, void *lock) {
    (void)gp;
    gort__unlock((gort__rtlock *)lock);
    return true;
}

/* Blocks until *addr > 0, then decrements it (Go's semacquire1).  lifo:
 * queue at the head of addr's waiters.  reason: the WAIT_* shown in dumps.
 * May park; from a thread outside the runtime, blocks the thread. */
void gort__semacquire(_Atomic uint32_t *addr, bool lifo, uint8_t reason) {
    /* Easy case. */
    if (cansemacquire(addr)) {
        san_acquire(addr); /* <- the semrelease whose count we took */
        return;
    }

    /* Harder case: increment the waiter count, try cansemacquire one more
     * time and return if it succeeded, else enqueue ourselves and sleep (the
     * waiter descriptor is dequeued by the signaler). */
    struct g *gp = gort__getg_or_foreign();
    /* The sudog lives in this frame, as a channel operation's (chan.c
     * chan_block): whoever dequeues it is done with it before the goready
     * that lets this frame go on.  (Not from the sudog cache: a plain
     * thread waiting here across gort_main's return would keep a sudog the
     * runtime's shutdown frees.) */
    struct sudog sg = {.acquiretime = GORT_MUTEXPROF_T0(reason)};
    struct sudog *s = &sg;
    struct semaroot *root = semroot(addr);
    for (;;) {
        gort__lock(&root->lock);
        /* Add ourselves to nwait to disable the easy case in semrelease
         * (seq_cst: the Dekker pattern of the header comment). */
        atomic_fetch_add_explicit(&root->nwait, 1, memory_order_seq_cst);
        /* Check cansemacquire to avoid a missed wakeup. */
        if (cansemacquire(addr)) {
            atomic_fetch_sub_explicit(&root->nwait, 1, memory_order_relaxed);
            gort__unlock(&root->lock);
            break;
        }
        /* Any semrelease after the cansemacquire knows we're waiting (we
         * set nwait above), so go to sleep. */
        semroot_queue(root, addr, s, gp, lifo);
        gp->semawait = s;
        gp->semaddr = addr;
        gort__gopark(semparkcommit, &root->lock, reason);
        gp->semawait = NULL;
        gp->semaddr = NULL;
        /* goready published the releaser's writes (ticket).  ticket != 0:
         * the count was handed to us; else compete for it. */
        if (s->ticket != 0 || cansemacquire(addr))
            break;
    }
    san_acquire(addr);
}

/* Increments *addr and wakes one waiter, if any (Go's semrelease1).
 * handoff: give the count directly to the woken waiter and yield the
 * processor to it (a starving sync.Mutex). */
void gort__semrelease(_Atomic uint32_t *addr, bool handoff) {
    struct semaroot *root = semroot(addr);
    san_release(addr); /* -> the semacquire that takes this count */
    /* seq_cst: the Dekker pattern; its release half pairs with the acquire
     * of cansemacquire's CAS. */
    atomic_fetch_add_explicit(addr, 1, memory_order_seq_cst);

    /* Easy case: no waiters?  This check must happen after the increment,
     * to avoid a missed wakeup (see the loop in gort__semacquire). */
    if (atomic_load_explicit(&root->nwait, memory_order_seq_cst) == 0)
        return;

    /* Harder case: search for a waiter and wake it. */
    gort__lock(&root->lock);
    if (atomic_load_explicit(&root->nwait, memory_order_relaxed) == 0) {
        /* The count was already consumed by another goroutine, so no need
         * to wake up another goroutine. */
        gort__unlock(&root->lock);
        return;
    }
    int64_t t0;
    struct sudog *s = semroot_dequeue(root, addr, &t0);
    if (s != NULL)
        atomic_fetch_sub_explicit(&root->nwait, 1, memory_order_relaxed);
    bool pinned = s != NULL && gort__foreign_pin();
    gort__unlock(&root->lock);
    if (s == NULL)
        return;

    /* May be slow or even yield, so done after unlocking.  s is ours until
     * goready: its goroutine is parked and only we dequeued it. */
    if (s->ticket != 0)
        gort__throw("corrupted semaphore ticket");
    if (GORT_UNLIKELY(t0 != 0))
        gort__mutexevent(t0 - s->acquiretime);
    bool handed = false;
    if (handoff && cansemacquire(addr)) {
        s->ticket = 1;
        handed = true;
    }
    gort__goready(s->g);
    if (pinned)
        gort__foreign_unpin();
    if (handed && gort__getg() != NULL) {
        /* Direct G handoff: goready put the waiter in our P's runnext;
         * yield so that it runs now and inherits our time slice (Go's
         * goyield).  Only in the starving regime: otherwise another waiter
         * could take the semaphore while we are yielding, which would be
         * wasteful (golang.org/issue/33747). */
        gort__gosched();
    }
}

/* ------------------------------------------------------------------------
 * notifyList (sync.Cond)
 * ------------------------------------------------------------------------
 *
 * A ticket-based notification list, laid out in the public struct gort_cond
 * (_wait, _notify, _lock, _head, _tail).  wait is the ticket of the next
 * waiter, taken with an atomic increment outside the lock; notify is the
 * ticket of the next waiter to be notified, read outside the lock but
 * written only under it.  Both wrap around; they are compared as int32
 * differences, valid while fewer than 2^31 goroutines wait on one Cond.
 *
 * Memory order: every handover of data goes through lock (gort__lock is an
 * acquire, gort__unlock a release) or through goready; the lock-free reads
 * in the notify fast paths only decide that there is nobody to wake, and a
 * waiter that is not yet visible there will see the new notify ticket under
 * the lock in notifyListWait and not sleep.  So the atomics are relaxed.
 */

#define NL_WAIT(c) ((_Atomic uint32_t *)&(c)->_wait)
#define NL_NOTIFY(c) ((_Atomic uint32_t *)&(c)->_notify)
#ifdef GORT_LOCKRANK
/* A ranked gort__rtlock does not fit in the cond's public lock word: with
 * lock ranking (the dev preset) the conds share NLSTRIPES ranked locks,
 * picked by address (mutual exclusion as before, only coarser).  A thread
 * never holds two notifyList locks. */
#define NLSTRIPES 61
static gort__rtlock nlstripes[NLSTRIPES] = {[0 ... NLSTRIPES - 1] =
                                                GORT__RTLOCK_INIT(LOCKRANK_NOTIFYLIST)};
#define NL_LOCK(c) (&nlstripes[((uintptr_t)(c) >> 4) % NLSTRIPES])
#else
_Static_assert(sizeof(gort__rtlock) == sizeof(uint32_t) &&
                   _Alignof(gort__rtlock) <= _Alignof(uint32_t),
               "gort_cond._lock must be able to hold a gort__rtlock");
#define NL_LOCK(c) ((gort__rtlock *)(void *)&(c)->_lock)
#endif

/* less(a, b): a < b for running counts that may wrap. */
static inline bool less(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) < 0;
}

/* Resets the notify list of c (gort_cond_init). */
void gort__notifylist_init(gort_cond *c) {
    atomic_store_explicit(NL_WAIT(c), 0, memory_order_relaxed);
    atomic_store_explicit(NL_NOTIFY(c), 0, memory_order_relaxed);
    atomic_store_explicit(&NL_LOCK(c)->key, 0, memory_order_relaxed);
    c->_head = NULL;
    c->_tail = NULL;
}

/* Adds the caller to the list; it must then call gort__notifylist_wait
 * with the returned ticket.  May be called concurrently (e.g. from a
 * Cond.Wait under a read lock). */
uint32_t gort__notifylist_add(gort_cond *c) {
    return atomic_fetch_add_explicit(NL_WAIT(c), 1, memory_order_relaxed);
}

static bool nlparkcommit(struct g *gp, void *lock) {
    (void)gp;
    gort__unlock((gort__rtlock *)lock);
    return true;
}

/* Waits for the notification of ticket t: returns at once if it has been
 * sent since gort__notifylist_add, else parks. */
void gort__notifylist_wait(gort_cond *c, uint32_t t) {
    gort__rtlock *l = NL_LOCK(c);
    gort__lock(l);
    /* Return right away if this ticket has already been notified. */
    if (less(t, atomic_load_explicit(NL_NOTIFY(c), memory_order_relaxed))) {
        gort__unlock(l);
        return;
    }
    /* Enqueue ourselves at the tail and park. */
    struct g *gp = gort__getg_or_foreign();
    /* In this frame, as semacquire's: the notifier is done with it before
     * its goready. */
    struct sudog sg = {.g = gp, .ticket = t, .addr = c};
    struct sudog *s = &sg;
    struct sudog *tail = c->_tail;
    if (tail == NULL)
        c->_head = s;
    else
        tail->next = s;
    c->_tail = s;
    gp->semawait = s;
    gort__gopark(nlparkcommit, l, WAIT_SYNC_COND);
    gp->semawait = NULL;
}

/* Notifies every waiter on the list. */
void gort__notifylist_notify_all(gort_cond *c) {
    /* Fast path: no new waiters since the last notification. */
    if (atomic_load_explicit(NL_WAIT(c), memory_order_relaxed) ==
        atomic_load_explicit(NL_NOTIFY(c), memory_order_relaxed))
        return;

    /* Pull the list out into a local variable; the waiters are readied
     * outside the lock. */
    gort__rtlock *l = NL_LOCK(c);
    gort__lock(l);
    struct sudog *s = c->_head;
    c->_head = NULL;
    c->_tail = NULL;
    /* The next ticket to be notified becomes the current wait: every
     * earlier waiter is already in the list or will notice that it has
     * been notified when it tries to add itself. */
    atomic_store_explicit(NL_NOTIFY(c), atomic_load_explicit(NL_WAIT(c), memory_order_relaxed),
                          memory_order_relaxed);
    bool pinned = s != NULL && gort__foreign_pin();
    gort__unlock(l);

    while (s != NULL) {
        struct sudog *next = s->next;
        s->next = NULL;
        gort__goready(s->g);
        s = next;
    }
    if (pinned)
        gort__foreign_unpin();
}

/* Takes s, which follows p (NULL: s is the head), out of c's list.  The
 * list's lock held; s->next is left for the caller. */
static void nl_unlink(gort_cond *c, struct sudog *p, struct sudog *s) {
    if (p != NULL)
        p->next = s->next;
    else
        c->_head = s->next;
    if (s->next == NULL)
        c->_tail = p;
}

/* Notifies the waiter with the oldest unnotified ticket. */
void gort__notifylist_notify_one(gort_cond *c) {
    /* Fast path: no new waiters since the last notification. */
    if (atomic_load_explicit(NL_WAIT(c), memory_order_relaxed) ==
        atomic_load_explicit(NL_NOTIFY(c), memory_order_relaxed))
        return;

    gort__rtlock *l = NL_LOCK(c);
    gort__lock(l);
    /* Re-check under the lock if we need to do anything. */
    uint32_t t = atomic_load_explicit(NL_NOTIFY(c), memory_order_relaxed);
    if (t == atomic_load_explicit(NL_WAIT(c), memory_order_relaxed)) {
        gort__unlock(l);
        return;
    }
    /* Update the next notify ticket number. */
    atomic_store_explicit(NL_NOTIFY(c), t + 1, memory_order_relaxed);

    /* Find the g that needs to be notified.  If it hasn't made it to the
     * list yet we won't find it, but it won't park itself once it sees the
     * new notify number.  The scan looks linear but stops quickly: a g is
     * behind others on the list only to the extent that it lost the race
     * between taking a ticket and queueing. */
    for (struct sudog *p = NULL, *s = c->_head; s != NULL; p = s, s = s->next) {
        if (s->ticket == t) {
            nl_unlink(c, p, s);
            bool pinned = gort__foreign_pin();
            gort__unlock(l);
            s->next = NULL;
            gort__goready(s->g);
            if (pinned)
                gort__foreign_unpin();
            return;
        }
    }
    gort__unlock(l);
}

/* ------------------------------------------------------------------------
 * Shutdown
 * ------------------------------------------------------------------------ */

/* See internal.h.  Under the root's (or the Cond's) lock, as a plain
 * thread may use the semaphore meanwhile.  A sudog a waker already
 * dequeued (addr cleared, for a semaphore, or off the Cond's list) is
 * left alone.  s->addr is read before the lock it is written under: only
 * a plain thread's semrelease can dequeue s now (every M is joined), and
 * if it does, the search under the lock does not find s either. */
void gort__sema_abandon(struct g *gp) {
    struct sudog *s = gp->semawait;
    if (s == NULL)
        return;
    gp->semawait = NULL;
    if (gp->waitreason == WAIT_SYNC_COND) {
        gort_cond *c = s->addr;
        gort__rtlock *l = NL_LOCK(c);
        gort__lock(l);
        for (struct sudog *p = NULL, *x = c->_head; x != NULL; p = x, x = x->next) {
            if (x == s) {
                nl_unlink(c, p, s);
                break;
            }
        }
        gort__unlock(l);
        return;
    }
    _Atomic uint32_t *addr = s->addr;
    if (addr == NULL)
        return;
    struct semaroot *root = semroot(addr);
    gort__lock(&root->lock);
    struct sudog *t = root->treap;
    while (t != NULL && t->addr != (void *)addr)
        t = (uintptr_t)addr < (uintptr_t)t->addr ? t->prev : t->next;
    bool found = false;
    if (t == s) {
        /* The first waiter on addr: the tree node. */
        int64_t now;
        semroot_dequeue(root, addr, &now);
        found = true;
    } else if (t != NULL) {
        for (struct sudog *p = t, *x = t->waitlink; x != NULL; p = x, x = x->waitlink) {
            if (x == s) {
                p->waitlink = x->waitlink;
                if (t->waittail == x)
                    t->waittail = p == t ? NULL : p;
                x->waitlink = NULL;
                found = true;
                break;
            }
        }
    }
    if (found)
        atomic_fetch_sub_explicit(&root->nwait, 1, memory_order_relaxed);
    gort__unlock(&root->lock);
    /* Still counted as a waiter by its mutex or WaitGroup (a waker that
     * dequeued it would have uncounted it). */
    if (found)
        gort__sync_abandon(addr, gp->waitreason);
    else
        gp->semawait = s; /* dequeued by a waker still in flight: readied */
}

void gort__sema_abandon_readied(struct g *gp) {
    struct sudog *s = gp->semawait;
    if (s == NULL)
        return;
    gp->semawait = NULL;
    _Atomic uint32_t *addr = gp->semaddr;
    gp->semaddr = NULL;
    /* A Cond's notify that woke gp is spent, as if gp had returned. */
    if (gp->waitreason == WAIT_SYNC_COND || addr == NULL)
        return;
    /* A count handed to gp (ticket) goes back; else the releaser's
     * increment is still there for gp to take. */
    if (s->ticket != 0)
        atomic_fetch_add_explicit(addr, 1, memory_order_seq_cst);
    struct semaroot *root = semroot(addr);
    gort__lock(&root->lock);
    struct sudog *w = NULL;
    if (atomic_load_explicit(addr, memory_order_relaxed) > 0 &&
        atomic_load_explicit(&root->nwait, memory_order_relaxed) > 0) {
        int64_t t0;
        w = semroot_dequeue(root, addr, &t0);
        if (w != NULL)
            atomic_fetch_sub_explicit(&root->nwait, 1, memory_order_relaxed);
    }
    gort__unlock(&root->lock);
    /* Only plain threads are left waiting (shutdown unlinked the
     * goroutines): its wake is a notewakeup. */
    if (w != NULL)
        gort__goready(w->g);
}
