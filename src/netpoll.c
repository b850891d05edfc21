/*
 * netpoll.c - the pollDesc: the binary semaphores goroutines park on for
 * I/O readiness, and I/O deadlines.  Mirrors runtime/netpoll.go; the
 * poller itself is a backend behind the contract in netpoll.h
 * (netpoll_epoll.c), and the calls on fds are in fd.c and net.c.
 *
 * Every fd gort polls has a pollDesc, found by fd number in a two-level
 * table of chunks that live until gort_main returns and no call of a
 * thread outside the runtime is left in them (type-stable: a racy reader
 * of a stale pollDesc reads some pollDesc).
 *
 * A pollDesc's rg (and wg, for writes) is Go's binary semaphore:
 *   PD_NIL    nothing;
 *   PD_READY  an I/O readiness notification is pending;
 *   PD_WAIT   a goroutine prepares to park on the semaphore, not yet parked;
 *   a g *     the goroutine parked on it.
 * netpollblock moves NIL -> WAIT, then gopark's commit WAIT -> g (on g0,
 * after the goroutine's stack is idle); netpoll moves anything -> READY and
 * readies the g it displaced; deadlines and close move it -> NIL and ready
 * the g, which then finds the reason in pd_checkerr.  Every transition is
 * a seq_cst CAS or exchange on the word, so a reader that sees the new
 * value sees everything the writer did before (the deadline it expired,
 * closing).
 *
 * Deadlines are timers in the P heaps (time.c) carrying a sequence number:
 * a timer armed for an older deadline (or for an fd since closed) finds
 * its number stale and does nothing (Go's rseq/wseq).  A deadline set from
 * a goroutine of a synctest bubble is on the bubble's clock, its timer in
 * the bubble's heap, and a goroutine of that bubble parked until it is
 * durably blocked (WAIT_SYNCTEST_IO; synctest.c says why).
 *
 * Open and close make generations: seq is bumped by both, and the backend
 * announces an fd with its number and the seq it was registered under.  An
 * event for an fd number already closed (and perhaps reused) carries the
 * old seq and is dropped.
 */
#include <poll.h>
#include <stdlib.h>

#include "fault.h"
#include "lockrank.h"
#include "netpoll.h"

enum { PD_NIL = 0, PD_READY = 1, PD_WAIT = 2 };

#define PD_CHUNK 1024
#define PD_MAXCHUNKS 4096 /* fds below 4M */

static _Atomic(polldesc *) pdtab[PD_MAXCHUNKS];
/* The backend is up (gort__netpoll_init to gort__netpoll_fini): written
 * while no M runs, read plainly. */
static bool inited;
static _Atomic int32_t nwaiters; /* Go's netpollWaiters */
/* Calls of the fd layer from threads outside the runtime in flight
 * (gort__pd_enter, netpoll.h). */
static _Atomic int32_t pd_users;
/* The chunks of earlier runs' tables that such a call may still have been
 * in when gort_main returned, freed by the first gort__netpoll_fini that
 * finds none in flight.  Only fini touches the list, and fini runs in one
 * gort_main at a time. */
typedef struct pdgrave {
    struct pdgrave *next;
    polldesc *chunk;
} pdgrave;
static pdgrave *graves;

static void pd_deadline_fire(timer *t, int64_t now, uintptr_t seq);

/* ------------------------------------------------------------------ table */

polldesc *gort__pd_lookup(int fd, bool create) {
    if (fd < 0 || (unsigned)fd / PD_CHUNK >= PD_MAXCHUNKS)
        return NULL;
    _Atomic(polldesc *) *slot = &pdtab[fd / PD_CHUNK];
    /* Acquire: pairs with the release CAS that published the chunk.
     * seq_cst for gort__netpoll_fini's Dekker pair with gort__pd_enter (a
     * plain load on x86, as acquire is). */
    polldesc *c = atomic_load_explicit(slot, memory_order_seq_cst);
    if (GORT_UNLIKELY(c == NULL)) {
        if (!create)
            return NULL;
        polldesc *n = gort__calloc(PD_CHUNK, sizeof *n);
        if (n == NULL)
            return NULL;
        for (int i = 0; i < PD_CHUNK; i++) {
            n[i].fd = fd / PD_CHUNK * PD_CHUNK + i;
            gort__lockinit(&n[i].lock, LOCKRANK_POLLDESC);
            n[i].rt = (timer){.idx = -1, .f = pd_deadline_fire, .arg = &n[i]};
            n[i].wt = (timer){.idx = -1, .f = pd_deadline_fire, .arg = &n[i]};
        }
        polldesc *exp = NULL;
        if (atomic_compare_exchange_strong_explicit(slot, &exp, n, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            c = n;
        } else {
            gort__free(n);
            c = exp;
        }
    }
    return &c[fd % PD_CHUNK];
}

static inline uint64_t pd_tag(polldesc *pd, uint32_t seq) {
    return (uint64_t)(uint32_t)pd->fd << 32 | seq;
}

static inline _Atomic uintptr_t *pd_sem(polldesc *pd, int mode) {
    return mode == MODE_R ? &pd->rg : &pd->wg;
}

/* ------------------------------------------------------------------ init */

int gort__netpoll_init(void) {
    int err = gort__netpollinit();
    if (err)
        return err;
    inited = true;
    atomic_store_explicit(&nwaiters, 0, memory_order_relaxed);
    return 0;
}

void gort__pd_enter_slow(void) {
    atomic_fetch_add_explicit(&pd_users, 1, memory_order_seq_cst);
}

void gort__pd_leave_slow(void) {
    /* Release would do (our uses of the pollDesc before fini's free);
     * seq_cst as the increment. */
    atomic_fetch_sub_explicit(&pd_users, 1, memory_order_seq_cst);
}

/* After every M has left and the runtime stopped running: the fds the
 * program did not close stay open (they are the program's), their
 * pollDescs go, and threads outside the runtime parked on one wait on in
 * poll(2).  Dekker with gort__pd_enter (seq_cst on both sides): a call
 * counted after our load of pd_users looks the table up after our
 * exchanges (it finds the next run's table, empty at first), and one
 * counted before it keeps this run's chunks alive until a later fini. */
void gort__netpoll_fini(void) {
    if (inited)
        gort__netpollfini();
    inited = false;
    for (int i = 0; i < PD_MAXCHUNKS; i++) {
        polldesc *c = atomic_exchange_explicit(&pdtab[i], NULL, memory_order_seq_cst);
        if (c == NULL)
            continue;
        /* Threads outside the runtime parked on a pollDesc (every
         * goroutine was unlinked by gort__netpoll_abandon) would sleep for
         * ever now that no M polls: wake them, as a deadline would.  One
         * that announced its wait (PD_WAIT) but has not parked re-checks
         * the running flag after that announcement (netpollblock), and
         * the runtime cleared the flag before this seq_cst load: either it
         * sees the flag clear and does not park, or we see its PD_WAIT and
         * clear it, which fails its commit.  Either way it goes back to
         * its call, which then waits in poll(2). */
        for (int k = 0; k < PD_CHUNK; k++) {
            polldesc *pd = &c[k];
            if (atomic_load_explicit(&pd->rg, memory_order_seq_cst) >= PD_WAIT ||
                atomic_load_explicit(&pd->wg, memory_order_seq_cst) >= PD_WAIT)
                gort__pd_wake(pd, MODE_R | MODE_W);
        }
        pdgrave *gr = gort__malloc(sizeof *gr);
        if (gr == NULL)
            continue; /* out of memory: the chunk stays allocated for good */
        *gr = (pdgrave){.next = graves, .chunk = c};
        graves = gr;
    }
    if (atomic_load_explicit(&pd_users, memory_order_seq_cst) != 0)
        return;
    while (graves) {
        pdgrave *next = graves->next;
        gort__free(graves->chunk);
        gort__free(graves);
        graves = next;
    }
}

void gort__pd_abandon(struct g *gp) {
    polldesc *pd = gp->pdref;
    gp->pdref = NULL;
    if (pd != NULL)
        pd_decref(pd);
}

/* See internal.h.  A waker outside the runtime pins the goroutines before
 * it takes one off a semaphore (gort__pd_unblock, gort__pd_setdeadline):
 * one that took it before our seq_cst load saw it there, or before the
 * re-load under the lock, is seen by shutdown's wait for the pins that
 * follows. */
void gort__netpoll_abandon(void) {
    for (int i = 0; i < PD_MAXCHUNKS; i++) {
        polldesc *c = atomic_load_explicit(&pdtab[i], memory_order_seq_cst);
        if (c == NULL)
            continue;
        for (int k = 0; k < PD_CHUNK; k++) {
            polldesc *pd = &c[k];
            if (atomic_load_explicit(&pd->rg, memory_order_seq_cst) <= PD_WAIT &&
                atomic_load_explicit(&pd->wg, memory_order_seq_cst) <= PD_WAIT)
                continue;
            gort__lock(&pd->lock);
            for (int mode = MODE_R; mode <= MODE_W; mode <<= 1) {
                _Atomic uintptr_t *gpp = pd_sem(pd, mode);
                uintptr_t old = atomic_load_explicit(gpp, memory_order_seq_cst);
                if (old > PD_WAIT && !((struct g *)old)->foreign &&
                    atomic_compare_exchange_strong_explicit(gpp, &old, PD_NIL, memory_order_seq_cst,
                                                            memory_order_seq_cst))
                    atomic_fetch_sub_explicit(&nwaiters, 1, memory_order_seq_cst);
            }
            gort__unlock(&pd->lock);
        }
    }
}

int32_t gort__netpoll_waiters(void) {
    return atomic_load_explicit(&nwaiters, memory_order_seq_cst);
}

/* ------------------------------------------------------------------ the semaphores */

/* Go's netpollunblock: moves the semaphore of mode to READY (ioready) or
 * NIL, and returns the goroutine parked on it, if any. */
static struct g *netpollunblock(polldesc *pd, int mode, bool ioready) {
    _Atomic uintptr_t *gpp = pd_sem(pd, mode);
    for (;;) {
        uintptr_t old = atomic_load_explicit(gpp, memory_order_seq_cst);
        if (old == PD_READY)
            return NULL;
        if (old == PD_NIL && !ioready)
            /* Only set pdReady for ioready.  runtime_pollWait will check
             * for timeout/cancel before waiting. */
            return NULL;
        uintptr_t new = ioready ? PD_READY : PD_NIL;
        if (atomic_compare_exchange_weak_explicit(gpp, &old, new, memory_order_seq_cst,
                                                  memory_order_seq_cst)) {
            if (old == PD_WAIT || old == PD_NIL)
                return NULL;
            atomic_fetch_sub_explicit(&nwaiters, 1, memory_order_seq_cst);
            return (struct g *)old;
        }
    }
}

/* Claims the wake-up of gp, which netpollunblock returned: false if gp
 * waits on both sides of an fd and the other side's waker has it. */
static inline bool pd_claim(struct g *gp) {
    if (!gp->pollboth)
        return true;
    /* acq_rel: the winner's goready is the only one; pairs with the
     * committing goroutine's own exchange in wait_commit_both. */
    return atomic_exchange_explicit(&gp->selectdone, 1, memory_order_acq_rel) == 0;
}

static void pd_ready(struct g *gp) {
    if (gp != NULL && pd_claim(gp))
        gort__goready(gp);
}

/* gopark's commit (Go's netpollblockcommit): the goroutine's stack is idle;
 * publish it on the semaphore unless readiness came meanwhile. */
static bool wait_commit(struct g *gp, void *arg) {
    _Atomic uintptr_t *gpp = arg;
    uintptr_t exp = PD_WAIT;
    if (!atomic_compare_exchange_strong_explicit(gpp, &exp, (uintptr_t)gp, memory_order_seq_cst,
                                                 memory_order_seq_cst))
        return false;
    /* Bump the waiter count; the first waiter makes sure some M polls. */
    if (atomic_fetch_add_explicit(&nwaiters, 1, memory_order_seq_cst) <= 0)
        gort__netpoll_kick();
    return true;
}

/* The wait reason of a goroutine about to park on pd for modes: durable
 * (WAIT_SYNCTEST_IO) in a synctest bubble if the wait ends at a deadline
 * on the bubble's clock - the fd's deadline of one of modes, or own (the
 * caller's own deadline timer, or NULL).  Read when it parks, as Go fixes
 * a wait's reason then: the deadline timers' heaps are read as hints (a
 * timer that fired or moved meanwhile has woken or will wake us anyway). */
static uint8_t io_reason(polldesc *pd, int modes, timer *own) {
    struct ptimers *bh = gort__synctest_timers();
    if (GORT_LIKELY(bh == NULL))
        return WAIT_IO;
    if (((modes & MODE_R) && atomic_load_explicit(&pd->rt.pt, memory_order_relaxed) == bh) ||
        ((modes & MODE_W) && atomic_load_explicit(&pd->wt.pt, memory_order_relaxed) == bh) ||
        (own != NULL && atomic_load_explicit(&own->pt, memory_order_relaxed) == bh))
        return WAIT_SYNCTEST_IO;
    return WAIT_IO;
}

/* Go's netpollblock: returns true if I/O is ready, false if woken for
 * another reason (deadline, close) or if the check after announcing the
 * wait found one. */
bool gort__netpollblock(polldesc *pd, int mode, timer *own) {
    _Atomic uintptr_t *gpp = pd_sem(pd, mode);
    for (;;) {
        uintptr_t old = PD_READY;
        /* Consume notification if already ready. */
        if (atomic_compare_exchange_strong_explicit(gpp, &old, PD_NIL, memory_order_seq_cst,
                                                    memory_order_seq_cst))
            return true;
        if (old == PD_NIL && atomic_compare_exchange_strong_explicit(
                                 gpp, &old, PD_WAIT, memory_order_seq_cst, memory_order_seq_cst))
            break;
        if (old != PD_READY && old != PD_NIL)
            gort__throw("runtime: double wait");
    }
    /* Need to recheck error states after setting gpp to pdWait.  This is
     * necessary because runtime_pollUnblock/runtime_pollSetDeadline/
     * deadlineimpl do the opposite: store to closing/rd/wd, publishInfo,
     * load of rg/wg.  So does gort__netpoll_fini, for a thread outside
     * the runtime, with the running flag (a seq_cst load): once it is
     * clear, no M polls and the caller waits in poll(2) instead. */
    if (pd_checkerr(pd, mode) == 0 && gort__runtime_running()) {
        uint8_t reason = io_reason(pd, mode, own);
        if (GORT_LIKELY(reason != WAIT_SYNCTEST_IO)) {
            gort__gopark(wait_commit, (void *)gpp, reason);
        } else {
            /* Durable: the bubble's root asks the kernel about this fd
             * before it moves the clock (synctest.c: io_pending).
             * Relaxed: the bubble's lock, taken as we park, publishes both
             * to the root. */
            struct g *gp = gort__getg();
            int64_t io = ((int64_t)pd->fd + 1) << 16 | (mode == MODE_R ? POLLIN : POLLOUT);
            atomic_store_explicit(&gp->syncio, io, memory_order_relaxed);
            atomic_fetch_add_explicit(&gort__synctest_iowait, 1, memory_order_relaxed);
            gort__gopark(wait_commit, (void *)gpp, reason);
            atomic_fetch_sub_explicit(&gort__synctest_iowait, 1, memory_order_relaxed);
            atomic_store_explicit(&gp->syncio, 0, memory_order_relaxed);
        }
    }
    uintptr_t old = atomic_exchange_explicit(gpp, PD_NIL, memory_order_seq_cst);
    if (old > PD_WAIT)
        gort__throw("runtime: corrupted polldesc");
    return old == PD_READY;
}

/* Go's poll_runtime_pollWait: 0 when the fd may be ready for mode, or the
 * reason it never will be (-EBADF, -ETIMEDOUT). */
int gort__pd_wait(polldesc *pd, int mode) {
    int err = pd_checkerr(pd, mode);
    if (err)
        return err;
    while (!gort__netpollblock(pd, mode, NULL)) {
        err = pd_checkerr(pd, mode);
        if (err)
            return err;
        /* gort_main returned (a thread outside the runtime): the caller
         * tries the fd again, then waits in poll(2). */
        if (!gort__runtime_running())
            return 0;
        /* Can happen if timeout has fired and unblocked us, but before we
         * had a chance to run, timeout has been reset.  Pretend it has not
         * happened and retry. */
    }
    return 0;
}

/* ------------------------------------------------------------------ netpoll */

void gort__netpollready(struct g ***tail, uint64_t tag, int modes) {
    polldesc *pd = gort__pd_lookup((int)(tag >> 32), false);
    /* A stale event (the fd closed since, perhaps reused) is dropped. */
    if (pd == NULL || atomic_load_explicit(&pd->seq, memory_order_acquire) != (uint32_t)tag)
        return;
    if (modes & MODE_NOHINT) {
        /* Urgent data (reads stop at its mark), or the peer's FIN or a
         * reset, which the data read before it may have announced
         * already (see fd.c, the drained hint).  seq_cst: before
         * netpollunblock's access to rg below. */
        atomic_store_explicit(&pd->nohint, true, memory_order_seq_cst);
    }
    for (int m = MODE_R; m <= MODE_W; m <<= 1) {
        if (!(modes & m))
            continue;
        struct g *gp = netpollunblock(pd, m, true);
        if (gp == NULL || !pd_claim(gp))
            continue;
        if (gp->foreign) {
            gort__goready(gp); /* wakes its thread; never queued */
            continue;
        }
        /* A goroutine of a bubble durably blocked on I/O (WAIT_SYNCTEST_IO)
         * counts as running again (as gort__goready does). */
        if (GORT_UNLIKELY(atomic_load_explicit(&gort__synctest_nbubbles, memory_order_relaxed) !=
                          0) &&
            gp->bubble != NULL)
            gort__synctest_ready(gp);
        gp->schedlink = NULL;
        **tail = gp;
        *tail = &gp->schedlink;
    }
}

struct g *gort__netpoll_ex(int64_t delay, bool *broke) {
    struct g *list = gort__netpollwait(delay, broke);
    atomic_store_explicit(&gort__sched.lastpoll, gort_nanotime(), memory_order_relaxed);
    return list;
}

struct g *gort__netpoll(int64_t delay) {
    return gort__netpoll_ex(delay, NULL);
}

/* ------------------------------------------------------------------ open and close */

polldesc *gort__pd_open(int fd, bool lazy, bool sock, bool stream, int *err) {
    polldesc *pd = gort__pd_lookup(fd, true);
    if (pd == NULL) {
        *err = fd < 0 ? -EBADF : -ENOMEM;
        return NULL;
    }
    gort__lock(&pd->lock);
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) != PDS_FREE) {
        gort__unlock(&pd->lock);
        return pd; /* someone else opened it first */
    }
    uint32_t seq = atomic_load_explicit(&pd->seq, memory_order_relaxed) + 1;
    atomic_store_explicit(&pd->seq, seq, memory_order_release);
    atomic_store_explicit(&pd->rg, PD_NIL, memory_order_relaxed);
    atomic_store_explicit(&pd->wg, PD_NIL, memory_order_relaxed);
    atomic_store_explicit(&pd->rd, 0, memory_order_relaxed);
    atomic_store_explicit(&pd->wd, 0, memory_order_relaxed);
    /* Race mode: the old file's close and deadlines order nothing for this
     * one (netpoll.h, before pd_checkerr). */
    _Static_assert(offsetof(polldesc, wd) == offsetof(polldesc, rd) + sizeof(int64_t),
                   "polldesc: rd and wd are one range");
    san_forget(&pd->rd, 2 * sizeof(int64_t));
    atomic_store_explicit(&pd->refs, 0, memory_order_relaxed);
    atomic_store_explicit(&pd->csema, 0, memory_order_relaxed);
    atomic_store_explicit(&pd->closing, false, memory_order_relaxed);
    atomic_store_explicit(&pd->nohint, false, memory_order_relaxed);
    atomic_store_explicit(&pd->nbset, !lazy, memory_order_relaxed);
    pd->rseq++;
    pd->wseq++;
    pd->lazy = lazy;
    pd->sock = sock;
    pd->rdrained = false;
    uint32_t st = PDS_POLLED;
    if (!inited) {
        st = PDS_PLAIN; /* no runtime: calls block in poll(2) */
    } else {
        int e = gort__netpollopen(fd, pd_tag(pd, seq), stream ? NETPOLL_URGENT : 0);
        if (e == -EPERM) {
            st = PDS_PLAIN; /* a regular file: always ready */
        } else if (e != 0) {
            *err = e;
            gort__unlock(&pd->lock);
            return NULL;
        }
    }
    /* The hint needs the edge-triggered notifications (not poll(2)). */
    pd->stream = stream && st == PDS_POLLED;
    /* Release: the fields above are visible to whoever sees the state. */
    atomic_store_explicit(&pd->state, st, memory_order_release);
    gort__unlock(&pd->lock);
    return pd;
}

/* Sets mode's deadline d (as gort__pd_setdeadline) with pd->lock held;
 * returns the goroutine an expired one unblocked, to be readied after the
 * unlock, and sets *pinned if it took the pin for that (see
 * gort__pd_unblock; pinned is NULL where no goroutine can be parked on
 * pd).  Without the runtime (before gort_main, or after it returns) there
 * are no timers: the calls block in poll(2) up to the deadline (fd.c
 * poll_thread), and a timer here crashed for want of a P. */
static struct g *setdeadline_locked(polldesc *pd, int mode, int64_t d, bool *pinned) {
    timer *t = mode == MODE_R ? &pd->rt : &pd->wt;
    _Atomic int64_t *dp = mode == MODE_R ? &pd->rd : &pd->wd;
    uint32_t *sp = mode == MODE_R ? &pd->rseq : &pd->wseq;
    (*sp)++; /* a timer already firing for the old deadline is stale now */
    gort__deltimer(t);
    if (d > 0 && d <= gort__now())
        d = -1;
    if (d < 0)
        san_release(dp); /* race mode: -> the call that returns -ETIMEDOUT (netpoll.h) */
    atomic_store_explicit(dp, d, memory_order_seq_cst);
    if (d > 0 && gort__runtime_running()) {
        t->seq = *sp;
        gort__addtimer_to(t, d, gort__synctest_timers());
    } else if (d < 0) {
        if (pinned != NULL)
            *pinned = gort__foreign_pin();
        return netpollunblock(pd, mode, false);
    }
    return NULL;
}

bool gort__pd_recheck(polldesc *pd) {
    if (!pd->lazy || !inited)
        return false;
    gort__lock(&pd->lock);
    /* Registered while no gort_main ran (PDS_PLAIN): this run's backend
     * never had it, so its absence says nothing of the file.  Taken for a
     * replaced file, a deadline set outside gort_main and past (-1) was
     * dropped at the run's first read, which then waited for ever. */
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN) {
        gort__unlock(&pd->lock);
        return false;
    }
    uint32_t seq = atomic_load_explicit(&pd->seq, memory_order_relaxed);
    bool replaced = gort__netpollopen(pd->fd, pd_tag(pd, seq), NETPOLL_REARM) == 1;
    if (replaced) {
        /* The deadlines were set on the file that had the number: none
         * now (no goroutine to ready for a cleared one). */
        (void)setdeadline_locked(pd, MODE_R, 0, NULL);
        (void)setdeadline_locked(pd, MODE_W, 0, NULL);
    }
    gort__unlock(&pd->lock);
    return replaced;
}

bool gort__pd_promote(polldesc *pd) {
    if (!inited)
        return false;
    gort__lock(&pd->lock);
    uint32_t st = atomic_load_explicit(&pd->state, memory_order_relaxed);
    if (st == PDS_PLAIN && !atomic_load_explicit(&pd->closing, memory_order_relaxed)) {
        uint32_t seq = atomic_load_explicit(&pd->seq, memory_order_relaxed);
        if (gort__netpollopen(pd->fd, pd_tag(pd, seq), 0) == 0) {
            /* Deadlines set while no runtime ran have no timer: arm them
             * (one already past expires now; nobody is parked on pd). */
            for (int mode = MODE_R; mode <= MODE_W; mode <<= 1) {
                int64_t d = atomic_load_explicit(pd_deadline_word(pd, mode), memory_order_relaxed);
                if (d > 0)
                    (void)setdeadline_locked(pd, mode, d, NULL);
            }
            /* Release, as pd_open's store: pairs with gort__pd_acquire's
             * acquire load (the fields it publishes are unchanged).  The
             * readers that test for PDS_PLAIN load it relaxed: one that
             * still sees PDS_PLAIN comes here and takes the lock, one that
             * sees PDS_POLLED parks on a registration made before it. */
            atomic_store_explicit(&pd->state, PDS_POLLED, memory_order_release);
            st = PDS_POLLED;
        }
    }
    gort__unlock(&pd->lock);
    return st == PDS_POLLED;
}

/* The wakers below pin the goroutines when called from a thread outside
 * the runtime (gort_close, gort_set_deadline), from before they may take
 * a goroutine off a semaphore until they have readied it: shutdown frees
 * the goroutines it unlinked from the semaphores (gort__netpoll_abandon)
 * only after the pins are gone.  The pin comes after the deadline timers'
 * gort__deltimer, which may wait for shutdown to take a timer out of its
 * heap (time.c), and shutdown does that only after its wait for the
 * pins. */
void gort__pd_unblock(polldesc *pd) {
    gort__lock(&pd->lock);
    atomic_store_explicit(&pd->closing, true, memory_order_seq_cst);
    pd->rseq++;
    pd->wseq++;
    gort__deltimer(&pd->rt);
    gort__deltimer(&pd->wt);
    bool pinned = gort__foreign_pin();
    struct g *rg = netpollunblock(pd, MODE_R, false);
    struct g *wg = netpollunblock(pd, MODE_W, false);
    gort__unlock(&pd->lock);
    pd_ready(rg);
    pd_ready(wg);
    if (pinned)
        gort__foreign_unpin();
}

void gort__pd_close(polldesc *pd) {
    gort__lock(&pd->lock);
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_POLLED && inited)
        (void)gort__netpollclose(pd->fd);
    /* A new generation: events still queued for the old one are dropped. */
    atomic_store_explicit(&pd->seq, atomic_load_explicit(&pd->seq, memory_order_relaxed) + 1,
                          memory_order_release);
    atomic_store_explicit(&pd->state, PDS_FREE, memory_order_release);
    gort__unlock(&pd->lock);
}

/* ------------------------------------------------------------------ deadlines */

/* A deadline timer fired (Go's netpolldeadlineimpl).  On g0 with a P, or
 * on a synctest bubble's root (a deadline on the bubble's clock). */
static void pd_deadline_fire(timer *t, int64_t now, uintptr_t seq) {
    (void)now;
    polldesc *pd = t->arg;
    int mode = t == &pd->rt ? MODE_R : MODE_W;
    gort__lock(&pd->lock);
    /* The seq arg is seq when the timer was set.  If it's stale, ignore
     * the timer event. */
    if ((uint32_t)seq != (mode == MODE_R ? pd->rseq : pd->wseq)) {
        gort__unlock(&pd->lock);
        return;
    }
    /* seq_cst: before netpollunblock's load of the semaphore (see
     * netpollblock's re-check). */
    atomic_store_explicit(mode == MODE_R ? &pd->rd : &pd->wd, -1, memory_order_seq_cst);
    struct g *gp = netpollunblock(pd, mode, false);
    gort__unlock(&pd->lock);
    pd_ready(gp);
}

/* Go's poll_runtime_pollSetDeadline for one side.  d: absolute time on the
 * caller's clock (its bubble's inside a synctest bubble), 0 for none; a
 * deadline in the past expires at once. */
void gort__pd_setdeadline(polldesc *pd, int mode, int64_t d) {
    bool pinned = false; /* see gort__pd_unblock */
    gort__lock(&pd->lock);
    struct g *gp = NULL;
    if (!atomic_load_explicit(&pd->closing, memory_order_relaxed))
        gp = setdeadline_locked(pd, mode, d, &pinned);
    gort__unlock(&pd->lock);
    pd_ready(gp);
    if (pinned)
        gort__foreign_unpin();
}

/* ------------------------------------------------------------------ for the fd layer */

void gort__pd_clearready(polldesc *pd) {
    /* seq_cst CAS: reads from the netpoller's CAS to READY (so what the
     * netpoller stored before it, nohint, is visible), and orders the clear
     * before our read(2): a READY set for data that arrives after that read
     * comes later in rg's modification order and survives. */
    uintptr_t exp = PD_READY;
    if (atomic_load_explicit(&pd->rg, memory_order_relaxed) == PD_READY)
        (void)atomic_compare_exchange_strong_explicit(&pd->rg, &exp, PD_NIL, memory_order_seq_cst,
                                                      memory_order_seq_cst);
}

void gort__pd_wake(polldesc *pd, int modes) {
    bool pinned = gort__foreign_pin(); /* see gort__pd_unblock */
    gort__lock(&pd->lock);
    struct g *rg = (modes & MODE_R) ? netpollunblock(pd, MODE_R, false) : NULL;
    struct g *wg = (modes & MODE_W) ? netpollunblock(pd, MODE_W, false) : NULL;
    gort__unlock(&pd->lock);
    pd_ready(rg);
    pd_ready(wg);
    if (pinned)
        gort__foreign_unpin();
}

/* gopark's commit for a wait on both sides: publish gp on both
 * semaphores, unless one became ready (or was cleared) meanwhile. */
static bool wait_commit_both(struct g *gp, void *arg) {
    polldesc *pd = arg;
    uintptr_t exp = PD_WAIT;
    bool r = atomic_compare_exchange_strong_explicit(&pd->rg, &exp, (uintptr_t)gp,
                                                     memory_order_seq_cst, memory_order_seq_cst);
    exp = PD_WAIT;
    bool w = atomic_compare_exchange_strong_explicit(&pd->wg, &exp, (uintptr_t)gp,
                                                     memory_order_seq_cst, memory_order_seq_cst);
    /* Count each side gp is published on; every waker that takes gp off
     * a side (netpollunblock) or our own take-back subtracts one. */
    int32_t pub = (int32_t)r + (int32_t)w;
    if (pub && atomic_fetch_add_explicit(&nwaiters, pub, memory_order_seq_cst) <= 0)
        gort__netpoll_kick();
    if (r && w)
        return true;
    /* Readiness on one side came first: don't park, unless a waker that
     * took gp off the side we did publish claims the wake-up first (then
     * it readies us, and we must park to be readied). */
    if (atomic_exchange_explicit(&gp->selectdone, 1, memory_order_acq_rel) != 0)
        return true;
    /* We own the wake-up: take gp back off the side we published, if a
     * waker has not displaced it (it then gave up on pd_claim). */
    _Atomic uintptr_t *side = r ? &pd->rg : w ? &pd->wg : NULL;
    exp = (uintptr_t)gp;
    if (side && atomic_compare_exchange_strong_explicit(side, &exp, PD_NIL, memory_order_seq_cst,
                                                        memory_order_seq_cst))
        atomic_fetch_sub_explicit(&nwaiters, 1, memory_order_seq_cst);
    return false;
}

/* Clears our announcement on one side after a wait on both: returns true
 * if that side was ready.  A readiness notification is kept for the next
 * wait (edge-triggered epoll will not repeat it). */
static bool waitboth_take(_Atomic uintptr_t *gpp, struct g *gp) {
    uintptr_t old = atomic_load_explicit(gpp, memory_order_seq_cst);
    for (;;) {
        if (old == PD_READY)
            return true;
        if (old != PD_WAIT && old != (uintptr_t)gp)
            return false; /* NIL (deadline, close) */
        if (atomic_compare_exchange_weak_explicit(gpp, &old, PD_NIL, memory_order_seq_cst,
                                                  memory_order_seq_cst)) {
            if (old == (uintptr_t)gp)
                atomic_fetch_sub_explicit(&nwaiters, 1, memory_order_seq_cst);
            return false;
        }
    }
}

void gort__netpollblock_both(polldesc *pd, struct g *gp, _Atomic bool *expired, timer *own) {
    uintptr_t exp = PD_NIL;
    if (!atomic_compare_exchange_strong_explicit(&pd->rg, &exp, PD_WAIT, memory_order_seq_cst,
                                                 memory_order_seq_cst)) {
        if (exp != PD_READY)
            gort__throw("runtime: double wait");
        atomic_store_explicit(&pd->rg, PD_NIL, memory_order_seq_cst);
        return;
    }
    exp = PD_NIL;
    if (!atomic_compare_exchange_strong_explicit(&pd->wg, &exp, PD_WAIT, memory_order_seq_cst,
                                                 memory_order_seq_cst)) {
        if (exp != PD_READY)
            gort__throw("runtime: double wait");
        (void)waitboth_take(&pd->rg, gp);
        atomic_store_explicit(&pd->wg, PD_NIL, memory_order_seq_cst);
        return;
    }
    gp->pollboth = true;
    atomic_store_explicit(&gp->selectdone, 0, memory_order_relaxed);
    /* The running flag: as in gort__netpollblock. */
    if (pd_checkerr(pd, MODE_R) != -EBADF && !atomic_load(expired) && gort__runtime_running())
        gort__gopark(wait_commit_both, pd, io_reason(pd, MODE_R | MODE_W, own));
    bool rr = waitboth_take(&pd->rg, gp);
    bool wr = waitboth_take(&pd->wg, gp);
    gp->pollboth = false;
    if (rr)
        atomic_store_explicit(&pd->rg, PD_NIL, memory_order_seq_cst);
    if (wr)
        atomic_store_explicit(&pd->wg, PD_NIL, memory_order_seq_cst);
}
