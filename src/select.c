/*
 * select.c - the select statement.  Mirrors runtime/select.go (selectgo).
 *
 * gort_select(cases, ncases, block) runs Go's algorithm:
 *
 *   0. Cases on NULL channels are left out of both orders: they never
 *      proceed.  pollorder is a uniformly random permutation of the other
 *      cases (Fisher-Yates with gort__fastrandn), lockorder the same cases
 *      sorted by channel address (insertion sort for the usual few cases,
 *      Go's heap sort for many, constant stack either way).
 *   1. Lock every channel in lockorder (each once), and look for a case
 *      that can proceed now, in pollorder: that makes the choice among ready
 *      cases uniform.  A send case on a closed channel panics.
 *   2. Nothing ready and block == false: unlock, return -1 (Go's default).
 *      Otherwise queue one sudog per case on its channel (isselect = true),
 *      chained on gp->waiting in lock order, and park; selparkcommit unlocks
 *      the channels on g0 once the stack is no longer in use.
 *   3. The first waker to win the CAS on gp->selectdone (chan.h,
 *      gort__waitq_dequeue) completes its case and passes the sudog in
 *      gp->param; every other waker skips our sudogs.  On waking, relock the
 *      channels that still hold our sudogs, reset selectdone, unlink the
 *      losing sudogs, unlock, and return the winner.
 *
 * The same channel may appear in several cases and in both directions.  A
 * select cannot match its own send and receive cases on one channel: in
 * pass 1 its sudogs are not queued yet, and once they are it is parked, so
 * only another goroutine can complete one of them.
 *
 * Difference from Go (C has no GC; see chan.c "Freeing"): in pass 3 Go
 * relocks every channel.  gort does not relock the winning case's channel
 * when no other case uses it (no sudog of ours is left there), so a waker
 * that completes our case may free its channel as soon as its own call
 * returns.  Losing sudogs stay queued until we unlink them here, never
 * unlinked by other wakers (chan.h), so gort_chan_free sees them.
 */
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "fault.h"
#include "internal.h"

/* Orders of up to this many cases live on the stack; more are malloc'd. */
#define STACK_CASES 64
/* Up to this many cases are sorted by insertion sort, more by heap sort. */
#define INSERTION_SORT_MAX 16

static inline uintptr_t sortkey(const gort_select_case *cases, int32_t i) {
    return (uintptr_t)cases[i].chan;
}

/* Sorts the first n entries of pollorder into lockorder by channel address.
 * Starting from pollorder permutes cases on the same channel randomly, as
 * Go does. */
static void sort_lockorder(const gort_select_case *cases, const int32_t *pollorder,
                           int32_t *lockorder, int n) {
    if (n <= INSERTION_SORT_MAX) {
        for (int i = 0; i < n; i++) {
            int32_t o = pollorder[i];
            uintptr_t k = sortkey(cases, o);
            int j = i;
            while (j > 0 && sortkey(cases, lockorder[j - 1]) > k) {
                lockorder[j] = lockorder[j - 1];
                j--;
            }
            lockorder[j] = o;
        }
        return;
    }
    /* Heap sort (select.go): n log n time and constant stack. */
    for (int i = 0; i < n; i++) {
        int j = i;
        uintptr_t k = sortkey(cases, pollorder[i]);
        while (j > 0 && sortkey(cases, lockorder[(j - 1) / 2]) < k) {
            int p = (j - 1) / 2;
            lockorder[j] = lockorder[p];
            j = p;
        }
        lockorder[j] = pollorder[i];
    }
    for (int i = n - 1; i >= 0; i--) {
        int32_t o = lockorder[i];
        uintptr_t k = sortkey(cases, o);
        lockorder[i] = lockorder[0];
        int j = 0;
        for (;;) {
            int ch = j * 2 + 1;
            if (ch >= i)
                break;
            if (ch + 1 < i && sortkey(cases, lockorder[ch]) < sortkey(cases, lockorder[ch + 1]))
                ch++;
            if (k < sortkey(cases, lockorder[ch])) {
                lockorder[j] = lockorder[ch];
                j = ch;
                continue;
            }
            break;
        }
        lockorder[j] = o;
    }
}

/* Locks the channels of lockorder[0..n) in order, each once, leaving out
 * the case index `skip` (-1: none).  Equal channels are adjacent in
 * lockorder, and stay adjacent when one entry is left out. */
static void sellock(const gort_select_case *cases, const int32_t *lockorder, int n, int32_t skip) {
    gort_chan *last = NULL;
    for (int i = 0; i < n; i++) {
        if (lockorder[i] == skip)
            continue;
        gort_chan *c = cases[lockorder[i]].chan;
        if (c != last) {
            last = c;
            gort__lock(&c->lock);
        }
    }
}

/* Unlocks what sellock(cases, lockorder, n, skip) locked, in reverse. */
static void selunlock(const gort_select_case *cases, const int32_t *lockorder, int n,
                      int32_t skip) {
    gort_chan *prev = NULL; /* channel of the entry after i (in lock order) */
    for (int i = n - 1; i >= 0; i--) {
        if (lockorder[i] == skip)
            continue;
        gort_chan *c = cases[lockorder[i]].chan;
        if (c != prev) {
            /* The first time we meet c walking down is its last instance. */
            gort__unlock(&c->lock);
            prev = c;
        }
    }
}

/* The unlock callback handed to the hand-off helpers of chan.c. */
struct selunlock_arg {
    const gort_select_case *cases;
    const int32_t *lockorder;
    int n;
};

static void selunlock_cb(void *p) {
    const struct selunlock_arg *a = p;
    selunlock(a->cases, a->lockorder, a->n, -1);
}

/* gopark's unlock function: runs on g0 (or on the foreign thread) once gp's
 * stack is no longer in use, so it must not touch the cases or orders (on
 * gp's stack): gp->waiting lists our sudogs in lock order.  As soon as a
 * channel is unlocked, a waker may dequeue our sudog on it and ready gp, and
 * gp may run on another M: so a channel is unlocked only after its last
 * sudog has been passed, and sg->waitlink is read while sg's channel is
 * still locked by us (gp cannot start pass 3 before we release it). */
static bool selparkcommit(struct g *gp, void *arg) {
    (void)arg;
    gort_chan *lastc = NULL;
    for (struct sudog *sg = gp->waiting; sg != NULL; sg = sg->waitlink) {
        if (sg->c != lastc && lastc != NULL)
            gort__unlock(&lastc->lock);
        lastc = sg->c;
    }
    if (lastc != NULL)
        gort__unlock(&lastc->lock);
    return true;
}

static _Noreturn void block_forever(uint8_t reason) {
    gort__getg_or_foreign();
    gort__gopark(NULL, NULL, reason);
    GORT_UNREACHABLE();
}

GORT_API int gort_select(gort_select_case *cases, int ncases, bool block) {
    if (GORT_UNLIKELY(ncases < 0))
        gort_panic("gort_select: negative ncases");
    if (ncases == 0) {
        if (!block)
            return -1;
        block_forever(WAIT_SELECT_NO_CASES);
    }
    /* A preemption point, checked on entry (see gort_chan_send). */
    gort__preempt_check(gort__getg());

    int32_t stackorder[2 * STACK_CASES];
    int32_t *order = stackorder;
    if (ncases > STACK_CASES) {
        order = gort__malloc(2 * (size_t)ncases * sizeof *order);
        if (order == NULL)
            gort__throw("gort_select: out of memory");
    }
    int32_t *pollorder = order;
    int32_t *lockorder = order + ncases;

    /* Generate the permuted poll order, leaving out cases without channels. */
    int norder = 0;
    for (int i = 0; i < ncases; i++) {
        gort_select_case *cas = &cases[i];
        if (GORT_UNLIKELY(cas->dir != GORT_SEND && cas->dir != GORT_RECV)) {
            if (order != stackorder)
                gort__free(order);
            gort_panic("gort_select: invalid case direction");
        }
        if (cas->chan == NULL)
            continue;
        gort__chan_bubble_check(cas->chan, "select on");
        uint32_t j = norder == 0 ? 0 : gort__fastrandn((uint32_t)norder + 1);
        pollorder[norder] = pollorder[j];
        pollorder[j] = i;
        norder++;
    }
    if (norder == 0) {
        if (order != stackorder)
            gort__free(order);
        if (!block)
            return -1;
        /* Only nil channels: never proceeds (Go parks with "select"). */
        block_forever(WAIT_SELECT);
    }

    sort_lockorder(cases, pollorder, lockorder, norder);
    struct selunlock_arg ua = {cases, lockorder, norder};

    /* Lock all the channels involved in the select. */
    sellock(cases, lockorder, norder, -1);

    int casi = -1;
    gort_select_case *cas = NULL;
    gort_chan *c = NULL;
    struct sudog *sg = NULL;

    /* Pass 1: look for something already waiting, in poll order. */
    for (int i = 0; i < norder; i++) {
        casi = pollorder[i];
        cas = &cases[casi];
        c = cas->chan;
        if (cas->dir == GORT_RECV) {
            sg = gort__waitq_dequeue(&c->sendq);
            if (sg != NULL)
                goto recv;
            if (atomic_load_explicit(&c->qcount, memory_order_relaxed) > 0)
                goto bufrecv;
            if (atomic_load_explicit(&c->closed, memory_order_relaxed) != 0)
                goto rclose;
        } else {
            if (atomic_load_explicit(&c->closed, memory_order_relaxed) != 0)
                goto sclose;
            sg = gort__waitq_dequeue(&c->recvq);
            if (sg != NULL)
                goto send;
            if (atomic_load_explicit(&c->qcount, memory_order_relaxed) < c->dataqsiz)
                goto bufsend;
        }
    }

    if (!block) {
        selunlock(cases, lockorder, norder, -1);
        casi = -1;
        goto retc;
    }

    /* Pass 2: enqueue on all channels, in lock order. */
    struct g *gp = gort__getg_or_foreign();
    if (GORT_UNLIKELY(gp->waiting != NULL))
        gort__throw("gp.waiting != nil");
    struct sudog **nextp = &gp->waiting;
    for (int i = 0; i < norder; i++) {
        int ci = lockorder[i];
        gort_select_case *k = &cases[ci];
        struct sudog *s = gort__acquire_sudog();
        s->g = gp;
        s->isselect = true;
        s->success = false;
        s->elem = k->elem;
        s->c = k->chan;
        s->waitlink = NULL;
        if (k->dir == GORT_SEND || k->chan->dataqsiz == 0)
            san_release(s); /* -> the goroutine that dequeues it (chan.c) */
        /* Construct the waiting list in lock order. */
        *nextp = s;
        nextp = &s->waitlink;
        if (k->dir == GORT_RECV)
            gort__waitq_enqueue(&k->chan->recvq, s);
        else
            gort__waitq_enqueue(&k->chan->sendq, s);
    }

    /* Wait for someone to wake us up.  In a synctest bubble the wait is
     * durable only if every channel is the bubble's (Go's selectgo). */
    gp->param = NULL;
    uint8_t reason = WAIT_SELECT;
    if (GORT_UNLIKELY(gp->bubble != NULL)) {
        reason = WAIT_SYNCTEST_SELECT;
        for (int i = 0; i < norder; i++)
            if (cases[pollorder[i]].chan->bubble != gp->bubble)
                reason = WAIT_SELECT;
    }
    gort__gopark(selparkcommit, NULL, reason);

    /* Pass 3.  The waker dequeued the winning sudog, wrote gp->param (and
     * the element and success) before goready, which published them.  Find
     * the winning case (the sudog list is in lock order), then lock every
     * channel that still holds one of our sudogs: all but the winner's,
     * unless another case uses that channel too. */
    struct sudog *win = gp->param;
    gp->param = NULL;
    if (GORT_UNLIKELY(win == NULL))
        gort__throw("selectgo: bad wakeup");
    san_acquire(win); /* <- the goroutine (or close) that woke us */
    int32_t wincasi = -1;
    {
        struct sudog *s = gp->waiting;
        for (int i = 0; i < norder; i++, s = s->waitlink) {
            if (s == win) {
                wincasi = lockorder[i];
                break;
            }
        }
    }
    if (GORT_UNLIKELY(wincasi < 0))
        gort__throw("selectgo: bad wakeup");
    sellock(cases, lockorder, norder, wincasi);

    /* Every waker that could still look at our sudogs needs one of the locks
     * we now hold, so the flag can be reset (relaxed: see chan.h). */
    atomic_store_explicit(&gp->selectdone, 0, memory_order_relaxed);

    bool casesuccess = false;
    struct sudog *sglist = gp->waiting;
    gp->waiting = NULL;
    for (int i = 0; i < norder; i++) {
        int ci = lockorder[i];
        gort_select_case *k = &cases[ci];
        struct sudog *next = sglist->waitlink;
        if (sglist == win) {
            /* Already dequeued by the goroutine that woke us up. */
            casesuccess = sglist->success;
        } else if (k->dir == GORT_SEND) {
            gort__waitq_remove(&k->chan->sendq, sglist);
        } else {
            gort__waitq_remove(&k->chan->recvq, sglist);
        }
        sglist->isselect = false;
        sglist->elem = NULL;
        sglist->c = NULL;
        sglist->waitlink = NULL;
        gort__release_sudog(sglist);
        sglist = next;
    }
    selunlock(cases, lockorder, norder, wincasi);

    casi = wincasi;
    cas = &cases[casi];
    if (cas->dir == GORT_SEND) {
        if (!casesuccess)
            goto sclose_unlocked; /* woken by close */
        cas->ok = true;
    } else {
        cas->ok = casesuccess; /* false: woken by close, elem was zeroed */
    }
    goto retc;

bufrecv:
    /* Can receive from the buffer. */
    {
        size_t q = atomic_load_explicit(&c->qcount, memory_order_relaxed);
        unsigned char *qp = gort__chanbuf(c, c->recvx);
        if (cas->elem != NULL)
            gort__elemcopy(cas->elem, qp, c->elemsize);
        san_acqrel(qp);
        if (++c->recvx == c->dataqsiz)
            c->recvx = 0;
        gort__chan_set_qcount(c, q - 1);
    }
    selunlock(cases, lockorder, norder, -1);
    cas->ok = true;
    goto retc;

bufsend:
    /* Can send to the buffer. */
    san_read(gort__chan_raceaddr(c), __builtin_return_address(0));
    {
        size_t q = atomic_load_explicit(&c->qcount, memory_order_relaxed);
        unsigned char *qp = gort__chanbuf(c, c->sendx);
        gort__elemcopy(qp, cas->elem, c->elemsize);
        san_acqrel(qp);
        if (++c->sendx == c->dataqsiz)
            c->sendx = 0;
        gort__chan_set_qcount(c, q + 1);
    }
    selunlock(cases, lockorder, norder, -1);
    cas->ok = true;
    goto retc;

recv:
    /* Can receive from a sleeping sender (sg). */
    gort__chan_recv_from_waiter(c, sg, cas->elem, selunlock_cb, &ua);
    cas->ok = true;
    goto retc;

rclose:
    /* Read at the end of a closed channel. */
    selunlock(cases, lockorder, norder, -1);
    san_acquire(c); /* <- the close */
    if (cas->elem != NULL)
        gort__elemclear(cas->elem, c->elemsize);
    cas->ok = false;
    goto retc;

send:
    /* Can send to a sleeping receiver (sg). */
    san_read(gort__chan_raceaddr(c), __builtin_return_address(0));
    gort__chan_send_to_waiter(c, sg, cas->elem, selunlock_cb, &ua);
    cas->ok = true;
    goto retc;

retc:
    if (order != stackorder)
        gort__free(order);
    /* A value received from a self-freeing channel (gort_after). */
    if (casi >= 0 && cases[casi].dir == GORT_RECV && cases[casi].ok)
        gort__chan_autofree_recv(cases[casi].chan);
    return casi;

sclose:
    /* Send on a closed channel. */
    selunlock(cases, lockorder, norder, -1);
sclose_unlocked:
    if (order != stackorder)
        gort__free(order);
    gort_panic("send on closed channel");
}
