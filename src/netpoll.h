/*
 * netpoll.h - the pollDesc and the poller backend contract, shared by
 *   netpoll.c        pollDesc, its rg/wg semaphores and deadlines (Go's
 *                    runtime/netpoll.go);
 *   netpoll_epoll.c  the backend: epoll and an eventfd (netpoll_epoll.go);
 *   fd.c             read, write, close, wait_fd and set_deadline on an fd
 *                    (internal/poll's fd_unix.go, fd_mutex.go);
 *   net.c            listen, accept and dial (net's ipsock.go, dial.go).
 * Nothing outside these four files includes it; the scheduler's side of
 * the poller is in internal.h (gort__netpoll, gort__netpoll_break, ...).
 */
#ifndef GORT_NETPOLL_H
#define GORT_NETPOLL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "san.h"

/* pollDesc states: not registered, registered with the backend, or in
 * use without it (no runtime, or a file the backend cannot poll: the calls
 * block their thread in poll(2)). */
enum { PDS_FREE = 0, PDS_POLLED, PDS_PLAIN };
/* Which side of an fd: read, write (the bits of GORT_POLL_READ/WRITE).
 * MODE_NOHINT comes only from the backend: TCP urgent data is pending, or
 * the peer shut its side down or the connection failed (EPOLLRDHUP,
 * EPOLLHUP, EPOLLERR): a read may stop short with no further event. */
enum { MODE_R = 1, MODE_W = 2, MODE_NOHINT = 4 };

/* The bit of polldesc.refs that gort_close sets. */
#define FDREF_CLOSED (1u << 31)

/*
 * Go's pollDesc, one per fd number, in a table of chunks that live until
 * gort_main returns and no call from a thread outside the runtime is left
 * in one (type-stable: a racy reader of a stale pollDesc reads some
 * pollDesc; see netpoll.c).  The fields the fd layer (fd.c, net.c)
 * owns are those under rmu and the flags set by gort__pd_open.
 */
typedef struct polldesc {
    gort__rtlock lock;      /* deadlines, timers, open and close */
    _Atomic uint32_t seq;   /* [atomic; write under lock] +1 at open and at close */
    _Atomic uint32_t state; /* [atomic; write under lock] PDS_* */
    _Atomic uint32_t refs;  /* [atomic] calls in progress | FDREF_CLOSED */
    _Atomic uint32_t csema; /* [atomic] close sleeps here for refs to drain */
    _Atomic bool closing;   /* [atomic; write under lock] gort_close started */
    bool lazy;              /* [lock] registered on first use, not made by gort */
    bool sock;              /* [lock] a socket (send with MSG_NOSIGNAL) */
    bool stream;            /* [lock] a TCP socket gort made (accept, dial): drained hint */
    bool rdrained;          /* [rmu; reset by pd_open] the last read came back short */
    _Atomic bool nohint;    /* [atomic] MODE_NOHINT seen: no drained hint from then on */
    /* gort made this registration's fd nonblocking, or found it so, for a
     * gort_read, gort_write or gort_set_deadline (fd.c gort__pd_acquire);
     * false after a lazy registration by gort_wait_fd, which leaves the
     * flags alone. */
    _Atomic bool nbset;   /* [atomic; reset by pd_open] */
    _Atomic uintptr_t rg; /* [atomic] read semaphore: PD_* or a g (netpoll.c) */
    _Atomic uintptr_t wg; /* [atomic] write semaphore */
    _Atomic int64_t rd;   /* [atomic; write under lock] 0 none, -1 expired, else when */
    _Atomic int64_t wd;   /* [atomic; write under lock] as rd, for writes */
    uint32_t rseq, wseq;  /* [lock] deadline generations */
    timer rt, wt;         /* [lock] deadline timers */
    int fd;               /* [immutable] set when the chunk is made */
    /* One reader and one writer at a time (Go's fdMutex read and write
     * locks): a second caller parks here, not on the semaphore. */
    gort_mutex rmu, wmu;
} polldesc;

/* ------------------------------------------------------------ netpoll.c */

/* The pollDesc of fd, or NULL if fd is out of range (or, with !create, has
 * none; with create, when memory is exhausted). */
polldesc *gort__pd_lookup(int fd, bool create);
/* Go's poll_runtime_pollOpen: registers fd (a new pollDesc generation).
 * lazy: an fd gort did not make, seen first by one of our calls.  stream: a
 * connected TCP socket gort made (the drained hint; registered for urgent
 * data too).  Returns the pollDesc or NULL with *err set. */
polldesc *gort__pd_open(int fd, bool lazy, bool sock, bool stream, int *err);
/* A lazily registered fd may have been closed with close(2) behind our
 * back and its number reused: then the backend forgot it.  Re-registers it
 * before parking (a syscall, for fds gort did not make only), and, when
 * the number now names another file, drops the old one's deadlines; true
 * then. */
bool gort__pd_recheck(polldesc *pd);
/* An fd registered while no gort_main ran (PDS_PLAIN: its waits block the
 * thread in poll(2)) and waited on now that one runs: registers it with
 * the backend, so that a wait parks the goroutine (and gort_close wakes
 * it), and arms the deadlines it was given.  A regular file, which the
 * backend refuses, stays PDS_PLAIN, as does a closing pd.  True if pd is
 * polled now. */
bool gort__pd_promote(polldesc *pd);
/* Go's poll_runtime_pollUnblock: marks pd closing, stops its deadlines and
 * wakes every goroutine parked on it (they return -EBADF). */
void gort__pd_unblock(polldesc *pd);
/* Go's poll_runtime_pollClose: removes pd's fd from the backend and frees
 * the pollDesc for the fd number's next generation.  After
 * gort__pd_unblock, once no call is in progress on pd. */
void gort__pd_close(polldesc *pd);
/* Go's poll_runtime_pollWait: 0 when the fd may be ready for mode, or the
 * reason it never will be (-EBADF, -ETIMEDOUT).  May park. */
int gort__pd_wait(polldesc *pd, int mode);
/* Go's netpollblock: parks until mode is ready (true) or woken for another
 * reason (deadline, close, gort__pd_wake: false).  own: a deadline timer
 * of the caller's that ends the wait too (gort_wait_fd's), or NULL; in a
 * synctest bubble the wait is durable if it ends at a deadline on the
 * bubble's clock. */
bool gort__netpollblock(polldesc *pd, int mode, timer *own);
/* Parks gp once on both semaphores of pd (gort_wait_fd for read and
 * write), unless one is ready, pd is closing or *expired; returns with
 * both semaphores NIL.  The caller re-checks why it woke.  own: as for
 * gort__netpollblock. */
void gort__netpollblock_both(polldesc *pd, struct g *gp, _Atomic bool *expired, timer *own);
/* Wakes the goroutines parked on the semaphores of modes without readiness
 * (they re-check why: gort_wait_fd's own deadline). */
void gort__pd_wake(polldesc *pd, int modes);
/* Go's poll_runtime_pollSetDeadline for one side.  d: absolute time on the
 * caller's clock (gort__now: a synctest bubble's fake clock inside one,
 * and then the deadline's timer is in the bubble's heap), 0 for none; a
 * deadline in the past expires at once. */
void gort__pd_setdeadline(polldesc *pd, int mode, int64_t d);
/* Clears a pending read readiness before a read(2) on a stream socket (the
 * drained hint, fd.c).  rmu held. */
void gort__pd_clearready(polldesc *pd);
/* Called by the backend's poll for each event (Go's netpollready): tag is
 * what gort__netpollopen registered, modes the MODE_* bits that are ready.
 * Appends the goroutines to run at **tail and advances *tail. */
void gort__netpollready(struct g ***tail, uint64_t tag, int modes);

/*
 * Race mode (docs/HACKING.md): the edges of a close and of a deadline
 * already past (MEMORY_MODEL.md 19, 20) announced to ThreadSanitizer,
 * which sees none of the atomics below.  The sync objects are the words a
 * woken call reads its reason from: pd->rd for the read side, pd->wd for
 * the write side.  gort_close releases both before it sets FDREF_CLOSED
 * (so before closing too); a setter of a past deadline releases that side
 * before its store of -1; a call that returns -EBADF or -ETIMEDOUT for
 * what it read there acquires.  A deadline that expires later is stored by
 * a timer, which releases nothing: its -ETIMEDOUT acquires only what past
 * deadlines of this registration released.  pd_open forgets both (a new
 * file under the number owes nothing to the old one's closer).
 */
static inline _Atomic int64_t *pd_deadline_word(polldesc *pd, int mode) {
    return mode == MODE_R ? &pd->rd : &pd->wd;
}

/* The error a call on pd's side mode must return before touching the fd:
 * -EBADF when closing, -ETIMEDOUT past the deadline, else 0.  Acquire
 * (race mode) when it is one. */
static inline int pd_checkerr(polldesc *pd, int mode) {
    _Atomic int64_t *dp = pd_deadline_word(pd, mode);
    if (atomic_load_explicit(&pd->closing, memory_order_seq_cst)) {
        san_acquire(dp); /* <- gort_close */
        return -EBADF;
    }
    int64_t d = atomic_load_explicit(dp, memory_order_seq_cst);
    if (d < 0) {
        san_acquire(dp); /* <- the setter of a past deadline */
        return -ETIMEDOUT;
    }
    return 0;
}

/* Go's fdMutex incref: false if the fd is being closed.  Acquire, also
 * when it fails: a call that finds FDREF_CLOSED returns -EBADF after what
 * the closer did before gort_close (pairs with its acq_rel fetch_or; Go's
 * atomics are sequentially consistent). */
static inline bool pd_incref(polldesc *pd) {
    uint32_t r = atomic_load_explicit(&pd->refs, memory_order_acquire);
    do {
        if (r & FDREF_CLOSED) {
            san_acquire(&pd->rd); /* <- gort_close (race mode, see pd_checkerr) */
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&pd->refs, &r, r + 1, memory_order_acquire,
                                                    memory_order_acquire));
    /* A goroutine's call holds one reference at a time. */
    struct g *gp = gort__getg();
    if (gp != NULL)
        gp->pdref = pd;
    return true;
}

static inline void pd_decref(polldesc *pd) {
    struct g *gp = gort__getg();
    if (gp != NULL && gp->pdref == pd)
        gp->pdref = NULL;
    /* Release: our use of the fd happens before the closer's close(2). */
    uint32_t r = atomic_fetch_sub_explicit(&pd->refs, 1, memory_order_release) - 1;
    if (r == FDREF_CLOSED)
        gort__semrelease(&pd->csema, false); /* the last one out wakes the closer */
}

/* ------------------------------------------------------------ fd.c */

/*
 * Every call of the fd layer (fd.c, net.c) from a thread outside the
 * runtime is counted from its start, before it looks a pollDesc up, to its
 * return: gort__netpoll_fini frees the table's chunks only when no such
 * call is in flight, and leaves them to a later fini otherwise (such a
 * call may hold a pollDesc across gort_main's return).  A goroutine's
 * calls are not counted: they end before shutdown.  Whether the caller has
 * an M does not change during a call.  gort__pd_enter returns true if it
 * counted the call, which gort__pd_leave then uncounts.
 */
void gort__pd_enter_slow(void);
void gort__pd_leave_slow(void);
static inline bool gort__pd_enter(void) {
    if (GORT_LIKELY(gort__getm_entry() != NULL)) {
        /* Every fd and socket call is a preemption point: one that
         * returns at once (past its deadline, EAGAIN) in a loop ran nearly
         * all its time in runtime code and libc (see gort_gc). */
        gort__preempt_check(gort__getg());
        return false;
    }
    gort__pd_enter_slow();
    return true;
}
static inline void gort__pd_leave(bool counted) {
    if (GORT_UNLIKELY(counted))
        gort__pd_leave_slow();
}

/* The pollDesc for a call on fd, with a reference held (release with
 * pd_decref), opening it lazily for an fd gort did not make.  nonblock:
 * make such an fd nonblocking (read/write; gort_wait_fd leaves it as is).
 * 0 or -errno (-EBADF while the fd is being closed). */
int gort__pd_acquire(int fd, bool nonblock, polldesc **out);
/* Waits for mode on pd after an EAGAIN: parks when the poller runs, else
 * blocks the thread in poll(2).  0 or -errno. */
int gort__pd_block(polldesc *pd, int mode);
/* After a call on pd's fd failed with errno: 0 to try it again (EINTR, or
 * EAGAIN and the fd may be ready now), or the error to return. */
int gort__pd_retry(polldesc *pd, int mode);

/* ------------------------------------------------------------ the backend
 *
 * What a poller backend provides (netpoll_epoll.c; Go's netpollinit,
 * netpollopen, netpollclose, netpollBreak and netpoll).  netpoll.c alone
 * calls these, except gort__netpoll_break (internal.h), which the
 * scheduler calls too.  Registrations are edge-triggered: an fd is
 * announced ready once per change, through gort__netpollready.
 */

/* Flags of gort__netpollopen. */
enum {
    NETPOLL_URGENT = 1, /* also announce urgent data (MODE_NOHINT with MODE_R) */
    NETPOLL_REARM = 2,  /* fd is most likely registered already: refresh its tag */
};

/* Makes the poller and its break channel; 0 or -errno (nothing to undo).
 * Called by gort_main before any M starts. */
int gort__netpollinit(void);
/* Undoes gort__netpollinit, after every M has left. */
void gort__netpollfini(void);
/* Registers fd for read, write and hang-up readiness, announced with tag
 * (never UINT64_MAX).  An fd registered already (a stale registration, or
 * NETPOLL_REARM) gets the new tag.  0 (with NETPOLL_REARM, 1 when fd was
 * not registered: its number now names another file); -EPERM if fd cannot be polled (a
 * regular file: always ready); else -errno. */
int gort__netpollopen(int fd, uint64_t tag, int flags);
/* Unregisters fd; 0 or -errno. */
int gort__netpollclose(int fd);
/* Go's netpoll(delay): waits up to delay ns (< 0: until an event or a
 * break; 0: not at all) and calls gort__netpollready for every event.
 * Returns the goroutines to run (linked by schedlink); *broke, if given,
 * is set when the wait saw a break.  Throws on failure, after printing it. */
struct g *gort__netpollwait(int64_t delay, bool *broke);

#endif
