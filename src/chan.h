/*
 * chan.h - hchan (struct gort_chan) and its wait queues, shared by chan.c and
 * select.c.  Mirrors the hchan/waitq part of runtime/chan.go.
 *
 * A channel is one allocation: the header below, padded to a cache line,
 * followed by the ring buffer of dataqsiz elements of elemsize bytes.  There
 * is no GC: gort_chan_free frees it (see chan.c, "Freeing").
 */
#ifndef GORT_CHAN_H
#define GORT_CHAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "san.h"

/*
 * A FIFO of sudogs blocked on one direction of a channel (Go's waitq).
 * Linked through sudog.next/prev, which c->lock protects.  `first` is also
 * read without the lock by the non-blocking fast paths (chan.c: full/empty),
 * hence atomic; every write happens under c->lock and is a release store
 * (see chan.c, "Lock-free fast paths", for what the readers' acquire pairs
 * with).
 *
 * A sudog of a select whose select has already been won by another case
 * ("dead": sg->isselect && sg->g->selectdone == 1) stays queued until its own
 * goroutine removes it under c->lock (select.c, pass 3).  Go unlinks such
 * sudogs in dequeue; gort leaves them so that the queue shows every
 * goroutine that will still lock c, which gort_chan_free relies on.
 */
struct gort__waitq {
    _Atomic(struct sudog *) first; /* [c->lock; atomic for the fast paths] */
    struct sudog *last;            /* [c->lock] */
};

/*
 * struct gort_chan is Go's hchan.  Allocated by gort_chan_make, freed by
 * gort_chan_free; never moved.  lock protects every field and also the
 * fields next, prev, elem and success of the sudogs queued on the channel.
 * Do not ready a g (goready) while holding lock: wake after unlocking, as Go
 * does.
 */
struct gort_chan {
    gort__rtlock lock;
    _Atomic uint32_t closed;  /* [atomic; write under lock] 0 open, 1 closed; never reopens */
    _Atomic size_t qcount;    /* [atomic; write under lock] elements in the buffer */
    size_t dataqsiz;          /* [immutable] capacity of the ring buffer */
    size_t elemsize;          /* [immutable] < 64 KiB, may be 0 */
    unsigned char *buf;       /* [immutable] dataqsiz slots (points at c when unused) */
    size_t sendx;             /* [lock] next slot to fill */
    size_t recvx;             /* [lock] next slot to drain */
    struct gort__waitq recvq; /* [lock] blocked receivers */
    struct gort__waitq sendq; /* [lock] blocked senders */
    /* Toolkit (issue 15): */
    struct gort__bubble *bubble; /* [immutable] synctest bubble that made it, or NULL */
    _Atomic uint32_t refs;       /* [atomic] references (gort_chan_retain/release) */
    bool autofree;               /* [immutable] gort_after: a received value drops a reference */
    bool noscan; /* [immutable] its elements cannot hold a pointer: no collector root (mgc.c) */
};

/* Channels with autofree set (gates gort__chan_autofree_recv). */
extern _Atomic int32_t gort__chan_nautofree;

/* After a value was received from c: a gort_after channel drops the
 * receiver's reference.  Relaxed gate: c was made (and counted) before
 * the receiver could learn of it, through whatever published c. */
static inline void gort__chan_autofree_recv(struct gort_chan *c) {
    if (GORT_UNLIKELY(atomic_load_explicit(&gort__chan_nautofree, memory_order_relaxed) != 0) &&
        c->autofree)
        gort_chan_release(c);
}

/* Bubble check of an operation on c (op: Go's "send on", ...): only when
 * some bubble exists (relaxed gate, see gort__goready) and c is a bubble's. */
static inline void gort__chan_bubble_check(struct gort_chan *c, const char *op) {
    if (GORT_UNLIKELY(atomic_load_explicit(&gort__synctest_nbubbles, memory_order_relaxed) != 0) &&
        c->bubble != NULL)
        gort__synctest_chan_check(c->bubble, op);
}

/* The address at which sends (reads) and close (a write) of c are shown to
 * the race detector (Go's c.raceaddr()): a field no user code touches. */
static inline const void *gort__chan_raceaddr(struct gort_chan *c) {
    return &c->buf;
}

/* Pointer to the i'th slot of the ring buffer (Go's chanbuf). */
static inline unsigned char *gort__chanbuf(struct gort_chan *c, size_t i) {
    return c->buf + i * c->elemsize;
}

/* Copies one element.  The constant-size branches let the compiler use one
 * move for the common 8-byte (Go int) and 4-byte elements. */
static inline void gort__elemcopy(void *dst, const void *src, size_t n) {
    if (n == 8) {
        memcpy(dst, src, 8);
    } else if (n == 4) {
        memcpy(dst, src, 4);
    } else if (n != 0) {
        /* Race mode: the copy is the runtime's, not the goroutine's (its
         * edges are announced apart, as Go's memmove is not instrumented). */
        san_ignore_begin();
        memcpy(dst, src, n);
        san_ignore_end();
    }
}

/* Zeroes an element (a receive from a closed channel), as elemcopy. */
static inline void gort__elemclear(void *dst, size_t n) {
    san_ignore_begin();
    memset(dst, 0, n);
    san_ignore_end();
}

/* Stores of qcount and of a waitq's first are made under c->lock; they are
 * release stores so that a lock-free reader that acquires them also sees
 * everything the lock holder's critical sections did before (in particular
 * a close), see chan.c "Lock-free fast paths". */
static inline void gort__chan_set_qcount(struct gort_chan *c, size_t n) {
    atomic_store_explicit(&c->qcount, n, memory_order_release);
}

/* Appends sg to q.  c->lock held. */
static inline void gort__waitq_enqueue(struct gort__waitq *q, struct sudog *sg) {
    sg->next = NULL;
    struct sudog *x = q->last;
    if (x == NULL) {
        sg->prev = NULL;
        atomic_store_explicit(&q->first, sg, memory_order_release);
        q->last = sg;
        return;
    }
    sg->prev = x;
    x->next = sg;
    q->last = sg;
}

/* Unlinks sg, which must be on q (Go's dequeueSudoG, without the "maybe
 * already removed" case: gort never unlinks another goroutine's select
 * sudog).  c->lock held. */
static inline void gort__waitq_remove(struct gort__waitq *q, struct sudog *sg) {
    struct sudog *x = sg->prev, *y = sg->next;
    if (x != NULL)
        x->next = y;
    else
        atomic_store_explicit(&q->first, y, memory_order_release);
    if (y != NULL)
        y->prev = x;
    else
        q->last = x;
    sg->next = NULL;
    sg->prev = NULL;
}

/*
 * Removes and returns the first sudog of q that may be woken, or NULL (Go's
 * waitq.dequeue).  A select sudog may be woken only by the waker that wins
 * the CAS of its g's selectdone from 0 to 1; dead sudogs (the CAS fails) are
 * skipped and left queued for their owner to remove.  c->lock held.
 *
 * selectdone is a plain mutual-exclusion flag between wakers holding
 * different channel locks: the winner alone goes on to write the element,
 * gp->param and sg->success and to call goready, which publishes them.  The
 * losers read nothing the winner wrote, so relaxed order suffices (the RMWs
 * on one location are totally ordered anyway).  The selecting goroutine
 * resets it to 0 while holding the locks of every channel it still has
 * sudogs on (select.c, pass 3).
 */
static inline struct sudog *gort__waitq_dequeue(struct gort__waitq *q) {
    for (struct sudog *sg = atomic_load_explicit(&q->first, memory_order_relaxed); sg != NULL;
         sg = sg->next) {
        if (sg->isselect) {
            _Atomic uint32_t *done = &sg->g->selectdone;
            uint32_t zero = 0;
            /* The load first: dead sudogs are skipped without an RMW. */
            if (atomic_load_explicit(done, memory_order_relaxed) != 0 ||
                !atomic_compare_exchange_strong_explicit(done, &zero, 1, memory_order_relaxed,
                                                         memory_order_relaxed))
                continue;
        }
        gort__waitq_remove(q, sg);
        return sg;
    }
    return NULL;
}

/* The two halves of a direct hand-off, shared with select.c (chan.go's send
 * and recv).  c is locked by the caller; sg is already dequeued.  Both copy
 * the element, then call unlockf(ularg) to release the lock(s), then wake
 * sg's goroutine with success == true. */
void gort__chan_send_to_waiter(struct gort_chan *c, struct sudog *sg, const void *ep,
                               void (*unlockf)(void *), void *ularg);
void gort__chan_recv_from_waiter(struct gort_chan *c, struct sudog *sg, void *ep,
                                 void (*unlockf)(void *), void *ularg);

#endif /* GORT_CHAN_H */
