/*
 * chan.c - channels.  Mirrors runtime/chan.go.
 *
 * struct gort_chan is Go's hchan (chan.h): a ring buffer of dataqsiz
 * elements, a queue of blocked senders and one of blocked receivers (sudogs
 * from the per-P caches), a closed flag, and a runtime lock (gort__rtlock)
 * guarding all of it.
 *
 * Invariants (chan.go's, with gort's "dead sudog" caveat of chan.h):
 *   At least one of c->sendq and c->recvq holds no live sudog, except while
 *   one goroutine's select has both a send and a receive case on c (it
 *   cannot match itself: its sudogs are queued only while it is parked).
 *   For buffered channels, also:
 *     qcount > 0 implies that recvq holds no live sudog.
 *     qcount < dataqsiz implies that sendq holds no live sudog.
 *   closed goes 0 -> 1 once; a closed channel never gains a sender.
 *
 * Hand-off.  A sender that finds a waiting receiver copies its element
 * straight into the receiver's destination (sudog.elem points into the
 * parked goroutine's stack or a foreign thread's stack) and readies it; a
 * receiver that finds a waiting sender takes the sender's element (for a
 * full buffered channel: the head of the buffer, and the sender's element
 * goes to the tail, the same slot).  The parked side learns the outcome from
 * sudog.success (true: a value moved; false: woken by close).  The waker
 * writes the element, gp->param and sg->success before goready, and goready
 * publishes them (release on the run queue, acquire when the scheduler takes
 * the g off it, or the note of a foreign thread's fake g).
 *
 * Parking.  A blocking goroutine enqueues its sudog with c->lock held and
 * parks with chanparkcommit as gopark's unlock function: the lock is
 * released on g0 only after the goroutine's stack is no longer in use
 * (ARCHITECTURE.md, decision 2), so a waker, which needs c->lock to find the
 * sudog, can never resume or write into a stack that is still running.
 * That is also why gort has no parkingOnChan flag: Go uses it to keep
 * stack shrinking away from a goroutine between "queued" and "parked";
 * gort's stacks never move.
 *
 * Lock-free fast paths.  The non-blocking forms (trysend, tryrecv, and a
 * select's single-case shapes) first decide "would block" without the lock,
 * as chan.go does: full(c) reads recvq.first or qcount, empty(c) reads
 * sendq.first or qcount, and both read closed.  Those fields are atomics
 * written under c->lock with release stores; the readers' acquire loads pair
 * with them (see chanrecv for why the order of the loads matters).
 *
 * Freeing.  Go's channels are garbage collected; gort's are freed by
 * gort_chan_free, which panics if goroutines are blocked on c.  The rule for
 * the user: a channel may be freed once no goroutine is blocked on it and no
 * call on it is in progress.  Two details make that rule safe:
 *   - After a waker has dequeued a sudog and readied its goroutine, neither
 *     the waker (after unlocking) nor the woken goroutine touches c again.
 *   - A select woken by another case still has to lock c to remove its
 *     sudog from c's queue; its sudog stays queued until then (chan.h), so
 *     gort_chan_free sees it and waits for it instead of freeing c under the
 *     select's feet, and select.c does not relock the winning case's channel
 *     when no other case of the select uses it.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "fault.h"
#include "internal.h"
#include "lockrank.h"

/* Go's limit: elem.size >= 1<<16 is invalid. */
#define MAX_ELEMSIZE (1u << 16)

/* The header is padded to a cache line so that the buffer and neighbouring
 * allocations do not share the lock's line. */
#define CACHELINE 64
#define HCHAN_SIZE ((sizeof(struct gort_chan) + CACHELINE - 1) & ~(size_t)(CACHELINE - 1))

/* ------------------------------------------------------------------------
 * make, free, len, cap
 * ------------------------------------------------------------------------ */

/* makechan.  Returns NULL when out of memory or elem_size >= 64 KiB, or when
 * the buffer size overflows (Go panics "makechan: size out of range"; the
 * contract here is a NULL return).  noscan: the elements never hold a
 * pointer, so the collector need not know the channel (gort__gc_chan_add). */
static gort_chan *makechan(size_t elem_size, size_t cap, bool noscan) {
    if (elem_size >= MAX_ELEMSIZE)
        return NULL;
    if (elem_size > 0 && cap > (SIZE_MAX - HCHAN_SIZE) / elem_size)
        return NULL;
    size_t bufsize = elem_size * cap;
    void *mem = NULL;
    if (gort__posix_memalign(&mem, CACHELINE, HCHAN_SIZE + bufsize) != 0)
        return NULL;
    struct gort_chan *c = mem;
    memset(c, 0, sizeof *c);
    atomic_init(&c->lock.key, 0);
    gort__lockinit(&c->lock, LOCKRANK_HCHAN);
    atomic_init(&c->closed, 0);
    atomic_init(&c->qcount, 0);
    atomic_init(&c->recvq.first, NULL);
    atomic_init(&c->sendq.first, NULL);
    c->dataqsiz = cap;
    c->elemsize = elem_size;
    c->bubble = gort__synctest_bubble();
    atomic_init(&c->refs, 1);
    /* An element smaller than a pointer cannot hold one either. */
    c->noscan = noscan || elem_size < sizeof(void *);
    /* Like Go, buf points at the channel itself when there is no buffer
     * memory, so that chanbuf never forms an out-of-bounds pointer. */
    c->buf = bufsize > 0 ? (unsigned char *)c + HCHAN_SIZE : (unsigned char *)c;
    /* Its buffer and blocked senders are roots of the collector (mgc.c). */
    if (gort__gc_chan_add(c) != 0) {
        gort__free(c);
        return NULL;
    }
    return c;
}

GORT_API gort_chan *gort_chan_make(size_t elem_size, size_t cap) {
    return makechan(elem_size, cap, false);
}

gort_chan *gort__chan_make_noscan(size_t elem_size, size_t cap) {
    return makechan(elem_size, cap, true);
}

/* true if q holds a sudog whose goroutine is blocked (not a dead select
 * sudog, chan.h).  *transit is set if it holds dead ones.  c->lock held. */
static bool waitq_has_blocked(struct gort__waitq *q, bool *transit) {
    for (struct sudog *sg = atomic_load_explicit(&q->first, memory_order_relaxed); sg != NULL;
         sg = sg->next) {
        /* Relaxed: selectdone only changes 0 -> 1 here (a waker on another
         * channel), and 1 -> 0 under our lock; a stale 0 reads as blocked,
         * which is what the goroutine was an instant ago. */
        if (sg->isselect && atomic_load_explicit(&sg->g->selectdone, memory_order_relaxed) != 0)
            *transit = true;
        else
            return true;
    }
    return false;
}

/* Frees c (NULL: no-op).  Panics if goroutines are blocked on c.  A select
 * that has already been woken through another case but has not yet removed
 * its sudog from c is waited for (it is running or runnable and removes it
 * at once). */
GORT_API void gort_chan_free(gort_chan *c) {
    if (c == NULL)
        return;
    for (;;) {
        gort__lock(&c->lock);
        bool transit = false;
        bool blocked =
            waitq_has_blocked(&c->recvq, &transit) || waitq_has_blocked(&c->sendq, &transit);
        gort__unlock(&c->lock);
        if (blocked)
            gort_panic("free of channel with blocked goroutines");
        if (!transit)
            break;
        /* Let the woken select run its pass 3 (it needs c->lock, which we
         * no longer hold). */
        if (gort__getg() != NULL)
            gort__gosched();
        else
            sched_yield();
    }
    /* Our last gort__lock/unlock pair saw both queues empty: every goroutine
     * that will ever lock c has unlocked it (acquire in gort__lock pairs
     * with their release), so nobody touches c after this point. */
    if (c->autofree)
        atomic_fetch_sub_explicit(&gort__chan_nautofree, 1, memory_order_relaxed);
    gort__gc_chan_del(c);
    gort__free(c);
}

/* Reference counts (gort.h, "Channel lifetime").  retain: relaxed, the
 * caller holds a reference already, so the count cannot reach 0 meanwhile.
 * release: acq_rel, so that every party's operations on c happen before
 * the free by whichever release is last. */
_Atomic int32_t gort__chan_nautofree;

GORT_API gort_chan *gort_chan_retain(gort_chan *c) {
    if (c != NULL)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

GORT_API void gort_chan_release(gort_chan *c) {
    if (c == NULL)
        return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        gort_chan_free(c);
}

/* len(c).  Relaxed: a snapshot, as Go's chanlen. */
GORT_API size_t gort_chan_len(gort_chan *c) {
    if (c == NULL)
        return 0;
    return atomic_load_explicit(&c->qcount, memory_order_relaxed);
}

GORT_API size_t gort_chan_cap(gort_chan *c) {
    return c == NULL ? 0 : c->dataqsiz;
}

/* ------------------------------------------------------------------------
 * Hand-off helpers (chan.go's send and recv)
 * ------------------------------------------------------------------------ */

static void unlock_chan(void *c) {
    gort__unlock(&((struct gort_chan *)c)->lock);
}

/* Publishes the outcome to sg's goroutine and readies it.  Called after the
 * channel lock(s) are released (Go: never ready a g while holding c->lock).
 * sg is dequeued and its selectdone won, so nobody else touches it or gp
 * until goready. */
static inline void wake_waiter(struct sudog *sg, bool success) {
    san_release(sg); /* our side of the hand-off -> the woken goroutine */
    struct g *gp = sg->g;
    gp->param = sg;
    sg->success = success;
    gort__goready(gp);
}

/* send: c is empty (or unbuffered) and locked, sg a dequeued receiver.  The
 * element goes straight to the receiver's destination; then unlock, wake. */
static inline void chan_send_direct(struct gort_chan *c, struct sudog *sg, const void *ep,
                                    void (*unlockf)(void *), void *ularg) {
    if (c->dataqsiz == 0) {
        san_acquire(sg); /* unbuffered: the receive completes before the send */
    } else if (san_tsan_on()) {
        /* Race mode, as Go's send: pretend the value goes through the
         * buffer (empty: recvx == sendx), so the slot's edges stay those of
         * the k-th send and receive; the indices move only in race mode. */
        san_acqrel(gort__chanbuf(c, c->recvx));
        if (++c->recvx == c->dataqsiz)
            c->recvx = 0;
        c->sendx = c->recvx;
    }
    if (sg->elem != NULL) {
        gort__elemcopy(sg->elem, ep, c->elemsize);
        sg->elem = NULL;
    }
    bool pinned = gort__foreign_pin();
    unlockf(ularg);
    wake_waiter(sg, true);
    if (pinned)
        gort__foreign_unpin();
}

/* recv: c is full (or unbuffered) and locked, sg a dequeued sender.
 * Unbuffered: copy from the sender.  Buffered: take the head of the buffer
 * and put the sender's element at the tail, which is the same slot since
 * the buffer is full.  Then unlock, wake. */
static inline void chan_recv_direct(struct gort_chan *c, struct sudog *sg, void *ep,
                                    void (*unlockf)(void *), void *ularg) {
    san_acquire(sg); /* what the sender did before it parked */
    if (c->dataqsiz == 0) {
        if (ep != NULL)
            gort__elemcopy(ep, sg->elem, c->elemsize);
    } else {
        unsigned char *qp = gort__chanbuf(c, c->recvx);
        if (ep != NULL)
            gort__elemcopy(ep, qp, c->elemsize);
        gort__elemcopy(qp, sg->elem, c->elemsize);
        san_acqrel(qp); /* our receive and the sender's send, one slot */
        if (++c->recvx == c->dataqsiz)
            c->recvx = 0;
        c->sendx = c->recvx; /* c->sendx = (c->sendx+1) % c->dataqsiz */
    }
    sg->elem = NULL;
    bool pinned = gort__foreign_pin();
    unlockf(ularg);
    wake_waiter(sg, true);
    if (pinned)
        gort__foreign_unpin();
}

/* See internal.h.  A select's sudog a waker already dequeued (the case that
 * woke it, as the goroutine was being readied) is on no queue: found on
 * neither, left alone. */
static void chan_abandon(struct g *gp, bool readied) {
    /* A readied goroutine: its waker dequeued the sudog it wrote to
     * gp->param, whose channel may have been freed since; a select's
     * other sudogs are still queued (it would have taken them off in its
     * pass 3, which it never runs). */
    struct sudog *win = readied ? gp->param : NULL;
    for (struct sudog *sg = gp->waiting; sg != NULL; sg = sg->waitlink) {
        struct gort_chan *c = sg->c;
        if (c == NULL || (readied && (sg == win || !sg->isselect)))
            continue;
        gort__lock(&c->lock);
        struct gort__waitq *qs[2] = {&c->recvq, &c->sendq};
        for (int i = 0; i < 2; i++) {
            for (struct sudog *x = atomic_load_explicit(&qs[i]->first, memory_order_relaxed);
                 x != NULL; x = x->next) {
                if (x == sg) {
                    gort__waitq_remove(qs[i], sg);
                    break;
                }
            }
        }
        gort__unlock(&c->lock);
    }
    gp->waiting = NULL;
}

void gort__chan_abandon(struct g *gp) {
    chan_abandon(gp, false);
}

void gort__chan_abandon_readied(struct g *gp) {
    chan_abandon(gp, true);
}

void gort__chan_send_to_waiter(struct gort_chan *c, struct sudog *sg, const void *ep,
                               void (*unlockf)(void *), void *ularg) {
    chan_send_direct(c, sg, ep, unlockf, ularg);
}

void gort__chan_recv_from_waiter(struct gort_chan *c, struct sudog *sg, void *ep,
                                 void (*unlockf)(void *), void *ularg) {
    chan_recv_direct(c, sg, ep, unlockf, ularg);
}

/* gopark's unlock function for a single-channel operation: runs on g0 (or
 * on the foreign thread) once gp's stack is no longer in use. */
static bool chanparkcommit(struct g *gp, void *lock) {
    (void)gp;
    gort__unlock((gort__rtlock *)lock);
    return true;
}

/* chansend's and chanrecv's blocking half (c->lock held, released by the
 * park): parks the calling goroutine on q (&c->sendq or &c->recvq) with
 * elem ep, until a peer completes the operation (true: sudog.success) or
 * close wakes it (false).  release: publish our writes to the peer that
 * dequeues us (san_release; the race detector's edge).  Always inlined:
 * a parked goroutine's traceback names chansend/chanrecv, as Go's. */
static inline __attribute__((always_inline)) bool
chan_block(struct gort_chan *c, struct gort__waitq *q, void *ep, bool release, uint8_t reason) {
    struct g *gp = gort__getg_or_foreign();
    /* The sudog lives in this frame, not in the P's cache (Go's
     * acquireSudog): stacks never move here, the frame outlives the wait,
     * and every waker is done with the sudog before its goready
     * (wake_waiter; close reads the next link first), so nobody touches it
     * once we run again.  pingpong_unbuf_p1 123.9 -> 114.2 ns, ring 85 ->
     * 78 ns a hop (8 and 6 alternating runs): the cache pop was a chain of
     * five dependent loads. */
    struct sudog sg = {.g = gp, .elem = ep, .c = c};
    struct sudog *mysg = &sg;
    gp->waiting = mysg;
    gp->param = NULL;
    if (release)
        san_release(mysg);
    gort__waitq_enqueue(q, mysg);
    gort__gopark(chanparkcommit, &c->lock, reason);
    san_acquire(mysg); /* <- the peer (or close) that woke us */
    /* ep stays live (in a register or a stack slot, both scanned) until
     * the peer has copied from or into it, as Go's chansend KeepAlive(ep):
     * the collector does not read sudogs, and ep may be the only pointer
     * to a gort_new buffer (a sender's value, a receiver's destination
     * that close zeroes). */
    __asm__ volatile("" : : "r"(ep));

    /* Someone woke us up: goready made their writes to mysg visible. */
    if (GORT_UNLIKELY(mysg != gp->waiting))
        gort__throw("G waiting list is corrupted");
    gp->waiting = NULL;
    gp->param = NULL;
    return mysg->success;
}

/* ------------------------------------------------------------------------
 * Lock-free "would block" checks (chan.go's full and empty)
 * ------------------------------------------------------------------------ */

/* full: a send on c would block, assuming c is not closed.  Relaxed: a
 * "would block" answer publishes nothing, and chansend's comment explains
 * why either order of the two observations is fine. */
static inline bool chan_full(struct gort_chan *c) {
    if (c->dataqsiz == 0)
        return atomic_load_explicit(&c->recvq.first, memory_order_relaxed) == NULL;
    return atomic_load_explicit(&c->qcount, memory_order_relaxed) == c->dataqsiz;
}

/* empty: a receive on c would block, assuming c is not closed.  Acquire:
 * pairs with the release stores of sendq.first and qcount under c->lock
 * (chan.h), so that the later load of closed in chanrecv's fast path sees a
 * close that preceded the state we observed here. */
static inline bool chan_empty(struct gort_chan *c) {
    if (c->dataqsiz == 0)
        return atomic_load_explicit(&c->sendq.first, memory_order_acquire) == NULL;
    return atomic_load_explicit(&c->qcount, memory_order_acquire) == 0;
}

/* ------------------------------------------------------------------------
 * send
 * ------------------------------------------------------------------------ */

/* Outcomes of chansend and chanrecv. */
enum {
    CHAN_WOULDBLOCK = 0, /* block == false and the operation could not proceed */
    CHAN_DONE = 1,       /* proceeded without parking */
    CHAN_PARKED = 2,     /* proceeded after parking (the scheduler just ran us) */
};

/*
 * chansend: c <- *ep.  block == false: returns CHAN_WOULDBLOCK instead of
 * blocking.  Panics "send on closed channel".  c == NULL blocks forever
 * (block) or returns CHAN_WOULDBLOCK.  May park.
 */
static int chansend(struct gort_chan *c, const void *ep, bool block) {
    if (GORT_UNLIKELY(c == NULL)) {
        if (!block)
            return CHAN_WOULDBLOCK;
        gort__getg_or_foreign(); /* a foreign thread gets its fake g first */
        gort__gopark(NULL, NULL, WAIT_CHAN_SEND_NIL);
        GORT_UNREACHABLE();
    }

    /*
     * Fast path: check for a failed non-blocking operation without the
     * lock.  After observing that the channel is not closed, we observe
     * that it is not ready for sending.  Because a closed channel cannot go
     * from "ready for sending" to "not ready", even if it was closed between
     * the two observations they imply a moment when it was both open and not
     * ready; we behave as if we observed it then.  The loads may be
     * reordered: "not ready" then "not closed" implies it was not closed at
     * the first observation either.  So both loads are relaxed.
     */
    gort__chan_bubble_check(c, "send on");
    if (!block && atomic_load_explicit(&c->closed, memory_order_relaxed) == 0 && chan_full(c))
        return CHAN_WOULDBLOCK;
    san_read(gort__chan_raceaddr(c), __builtin_return_address(0));

    gort__lock(&c->lock);

    if (GORT_UNLIKELY(atomic_load_explicit(&c->closed, memory_order_relaxed) != 0)) {
        gort__unlock(&c->lock);
        gort_panic("send on closed channel");
    }

    struct sudog *sg = gort__waitq_dequeue(&c->recvq);
    if (sg != NULL) {
        /* A waiting receiver: pass the value directly, bypassing the
         * buffer (if any). */
        chan_send_direct(c, sg, ep, unlock_chan, c);
        return CHAN_DONE;
    }

    size_t qcount = atomic_load_explicit(&c->qcount, memory_order_relaxed);
    if (qcount < c->dataqsiz) {
        /* Room in the buffer: enqueue the element. */
        unsigned char *qp = gort__chanbuf(c, c->sendx);
        gort__elemcopy(qp, ep, c->elemsize);
        san_acqrel(qp);
        if (++c->sendx == c->dataqsiz)
            c->sendx = 0;
        gort__chan_set_qcount(c, qcount + 1);
        gort__unlock(&c->lock);
        return CHAN_DONE;
    }

    if (!block) {
        gort__unlock(&c->lock);
        return CHAN_WOULDBLOCK;
    }

    /* Block on the channel.  Some receiver will complete the operation for
     * us (or close will wake us to panic).  ep is only read through (copied
     * from); san_release: -> the receiver that dequeues us
     * (chan_recv_direct). */
    bool sent = chan_block(c, &c->sendq, (void *)ep, true,
                           c->bubble ? WAIT_SYNCTEST_CHAN_SEND : WAIT_CHAN_SEND);
    if (!sent)
        gort_panic("send on closed channel");
    return CHAN_PARKED;
}

GORT_NOINLINE GORT_API void gort_chan_send(gort_chan *c, const void *elem) {
    /* A send is a preemption point, checked on entry as Go's prologue
     * does: before the send readies a receiver into runnext, where it
     * would inherit the expired time slice (TestPingPongHog).  Never
     * inlined: the inline TLS read is this function's first. */
    gort__preempt_check(gort__getg_entry());
    (void)chansend(c, elem, true);
}

/* select { case c <- *elem: return true; default: return false }.  A closed
 * channel panics, as a select's send case does. */
GORT_API bool gort_chan_trysend(gort_chan *c, const void *elem) {
    return chansend(c, elem, false) != CHAN_WOULDBLOCK;
}

/* ------------------------------------------------------------------------
 * close
 * ------------------------------------------------------------------------ */

/* closechan: wakes every blocked receiver (they get a zero value and false)
 * and every blocked sender (they panic).  Panics "close of nil channel" or
 * "close of closed channel". */
GORT_API void gort_chan_close(gort_chan *c) {
    if (c == NULL)
        gort_panic("close of nil channel");
    gort__chan_bubble_check(c, "close of");

    gort__lock(&c->lock);
    if (atomic_load_explicit(&c->closed, memory_order_relaxed) != 0) {
        gort__unlock(&c->lock);
        gort_panic("close of closed channel");
    }
    san_write(gort__chan_raceaddr(c), __builtin_return_address(0));
    san_release(c); /* -> every receive that sees the close */
    /* Release: pairs with the acquire load of closed in chanrecv's fast
     * path, which may return "closed" without taking the lock, so that
     * everything before the close happens before that receive returns. */
    atomic_store_explicit(&c->closed, 1, memory_order_release);

    /* Collect the waiters, chained through sudog.next (free once dequeued),
     * and ready them after dropping the lock. */
    struct sudog *list = NULL, **tail = &list;
    struct sudog *sg;
    /* Release all readers: zero value, success = false. */
    while ((sg = gort__waitq_dequeue(&c->recvq)) != NULL) {
        if (sg->elem != NULL) {
            gort__elemclear(sg->elem, c->elemsize);
            sg->elem = NULL;
        }
        *tail = sg;
        tail = &sg->next;
    }
    /* Release all writers: they will panic. */
    while ((sg = gort__waitq_dequeue(&c->sendq)) != NULL) {
        sg->elem = NULL;
        *tail = sg;
        tail = &sg->next;
    }
    bool pinned = list != NULL && gort__foreign_pin();
    gort__unlock(&c->lock);

    /* Ready all gs now that we've dropped the channel lock.  Read next
     * before waking: once the woken goroutine runs its sudog is gone
     * (its chan_block frame returned, or a select's went back to the
     * cache). */
    while (list != NULL) {
        sg = list;
        list = sg->next;
        sg->next = NULL;
        wake_waiter(sg, false);
    }
    if (pinned)
        gort__foreign_unpin();
}

/* ------------------------------------------------------------------------
 * receive
 * ------------------------------------------------------------------------ */

/*
 * chanrecv: *ep = <-c (ep may be NULL: the value is dropped).
 * block == false and nothing ready: returns CHAN_WOULDBLOCK (*received
 * untouched).  Otherwise returns CHAN_DONE or CHAN_PARKED; *received is
 * false when c is closed and drained (then *ep is zeroed), true when a value
 * was received.  c == NULL blocks forever (block) or returns
 * CHAN_WOULDBLOCK.  May park.
 */
static int chanrecv(struct gort_chan *c, void *ep, bool block, bool *received) {
    if (GORT_UNLIKELY(c == NULL)) {
        if (!block)
            return CHAN_WOULDBLOCK;
        gort__getg_or_foreign();
        gort__gopark(NULL, NULL, WAIT_CHAN_RECV_NIL);
        GORT_UNREACHABLE();
    }

    /*
     * Fast path: check for a failed non-blocking operation without the
     * lock.  After observing that the channel is not ready for receiving,
     * we observe whether it is closed.  A channel cannot be reopened, so a
     * later "not closed" implies it was not closed at the first observation
     * either: we behave as if we observed it then and report that the
     * receive cannot proceed.  The order matters (reversed, a send, a close
     * and a drain in between would be missed), so chan_empty's load is an
     * acquire: the load of closed cannot move before it, and it sees any
     * close that preceded the state chan_empty observed.
     */
    gort__chan_bubble_check(c, "receive on");
    if (!block && chan_empty(c)) {
        /* Acquire: pairs with closechan's release store.  "Closed" is
         * returned below without the lock, so what preceded the close must
         * be visible to our caller. */
        if (atomic_load_explicit(&c->closed, memory_order_acquire) == 0)
            return CHAN_WOULDBLOCK;
        /* The channel is irreversibly closed.  Re-check whether it has
         * unreceived data, which could have arrived between the empty and
         * closed checks above.  Sequential consistency between these loads
         * is also required here, when racing with such a send: the acquire
         * above orders this load after it. */
        if (chan_empty(c)) {
            san_acquire(c); /* <- the close */
            if (ep != NULL)
                gort__elemclear(ep, c->elemsize);
            *received = false;
            return CHAN_DONE;
        }
    }

    gort__lock(&c->lock);

    if (atomic_load_explicit(&c->closed, memory_order_relaxed) != 0) {
        if (atomic_load_explicit(&c->qcount, memory_order_relaxed) == 0) {
            gort__unlock(&c->lock);
            san_acquire(c); /* <- the close */
            if (ep != NULL)
                gort__elemclear(ep, c->elemsize);
            *received = false;
            return CHAN_DONE;
        }
        /* The channel has been closed, but its buffer has data: drain it. */
    } else {
        /* Just found a waiting sender that is not closed. */
        struct sudog *sg = gort__waitq_dequeue(&c->sendq);
        if (sg != NULL) {
            /* Unbuffered: receive directly from the sender.  Buffered and
             * full: take the head, and the sender's value goes to the tail. */
            chan_recv_direct(c, sg, ep, unlock_chan, c);
            *received = true;
            return CHAN_DONE;
        }
    }

    size_t qcount = atomic_load_explicit(&c->qcount, memory_order_relaxed);
    if (qcount > 0) {
        /* Receive directly from the buffer.  (Go clears the slot for the GC;
         * gort has no GC and leaves it.) */
        unsigned char *qp = gort__chanbuf(c, c->recvx);
        if (ep != NULL)
            gort__elemcopy(ep, qp, c->elemsize);
        san_acqrel(qp);
        if (++c->recvx == c->dataqsiz)
            c->recvx = 0;
        gort__chan_set_qcount(c, qcount - 1);
        gort__unlock(&c->lock);
        *received = true;
        return CHAN_DONE;
    }

    if (!block) {
        gort__unlock(&c->lock);
        return CHAN_WOULDBLOCK;
    }

    /* No sender available: block on this channel.  A sender completes us
     * (success), or close does (zeroed *ep).  Unbuffered, san_release: ->
     * the sender that dequeues us. */
    *received = chan_block(c, &c->recvq, ep, c->dataqsiz == 0,
                           c->bubble ? WAIT_SYNCTEST_CHAN_RECV : WAIT_CHAN_RECV);
    return CHAN_PARKED;
}

GORT_NOINLINE GORT_API bool gort_chan_recv(gort_chan *c, void *elem) {
    bool received = false;
    gort__preempt_check(gort__getg_entry()); /* on entry, as gort_chan_send */
    (void)chanrecv(c, elem, true, &received);
    if (received)
        gort__chan_autofree_recv(c);
    return received;
}

GORT_API bool gort_chan_tryrecv(gort_chan *c, void *elem, bool *ok) {
    bool received = false;
    if (chanrecv(c, elem, false, &received) == CHAN_WOULDBLOCK)
        return false;
    if (ok != NULL)
        *ok = received;
    if (received)
        gort__chan_autofree_recv(c);
    return true;
}
