/*
 * netpoll.c - the netpoller and the fd API.  Mirrors runtime/netpoll.go and
 * netpoll_epoll.go, plus the parts of internal/poll (fd_unix.go,
 * fd_mutex.go) and net (ipsock.go, dial.go) that a C API needs.
 *
 * One epoll instance, edge-triggered, and an eventfd (level-triggered) to
 * break a blocking poll.  Every fd gort polls has a pollDesc, found by fd
 * number in a two-level table of chunks that live until gort_main returns
 * (type-stable: a racy reader of a stale pollDesc reads some pollDesc).
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
 * its number stale and does nothing (Go's rseq/wseq).
 *
 * Concurrent reads (writes) of one fd take turns on rmu (wmu), as Go's
 * fdMutex serialises them: a semaphore has room for one waiter, and a
 * write of n bytes is not interleaved with another.
 *
 * Close (Go's fdMutex, reduced to what a C API needs): refs counts the
 * calls in progress on the fd, with FDREF_CLOSED set by gort_close.  Close
 * sets closing, wakes every parked goroutine (they return -EBADF), waits
 * on csema until the last call in progress has left, removes the fd from
 * epoll, and only then close(2)s it: the fd number cannot be reused while
 * anybody still uses it.  An event for an fd number already closed (and
 * perhaps reused) carries the old seq and is dropped.
 *
 * Threads outside the runtime use the same code: their fake g parks on a
 * futex and is woken directly.  Before gort_main (or after it returns) the
 * calls still work, blocking their thread in poll(2).
 *
 * The drained hint (stream sockets gort made: accept, dial).  Go reads
 * until EAGAIN before it parks: a request/response connection pays one
 * read(2) per request that finds nothing.  For a TCP socket of our own, a
 * read that returns fewer bytes than asked emptied the receive queue at
 * that moment (tcp_recvmsg stops early only when the queue is empty, or at
 * the urgent mark: see below), so the next gort_read may park on the read
 * semaphore at once and read when it is readied.  That is right only if
 * every byte that arrives after the short read is announced by a PD_READY
 * the next read will see, and edge-triggered epoll announces each arrival
 * once, perhaps to a READY that was set already.  So before each read(2)
 * the reader clears READY (a seq_cst CAS READY -> NIL, read_clear_ready);
 * then data that arrives after the clear wakes epoll after it, and the
 * netpoller's CAS to READY comes after our clear in rg's modification order
 * (the socket's lock and the epoll ready list order the arrival, the
 * harvest and the CAS after our read(2), which began after the clear).
 * Data that arrives between the clear and the read is read, and its
 * READY costs one spurious wake-up (a read that finds EAGAIN, the old
 * path).  A READY consumed without a read in between would break this:
 * only the reader consumes READY (netpollunblock never clears it), under
 * rmu, and gort_wait_fd, which consumes it without reading, forgets the
 * hint.  Deadlines and close are checked before parking, as before.
 *
 * TCP urgent data (MSG_OOB) makes a read stop at the urgent mark with
 * bytes still queued and no further event.  Stream sockets are registered
 * for EPOLLPRI too, and an event with EPOLLPRI sets the sticky urgent
 * flag: the hint is off for that socket from then on.  The flag is checked
 * after the clear and the short read, and either the event with EPOLLPRI
 * was harvested after the clear (then it set READY after the clear, and
 * the park returns at once) or its seq_cst store of urgent precedes, in
 * the seq_cst order, the netpoller's access to rg, which precedes our clear
 * (or the consuming CAS before it), which precedes our seq_cst load of
 * urgent.  A user's SO_RCVLOWAT makes a short read wait for the low-water
 * mark before the next read, which is what an EAGAIN would have led to.
 * Other fds (lazily registered: pipes, ttys, fds of unknown type) always
 * read until EAGAIN.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"

enum { PD_NIL = 0, PD_READY = 1, PD_WAIT = 2 };
enum { PDS_FREE = 0, PDS_POLLED, PDS_PLAIN };
enum { MODE_R = 1, MODE_W = 2 };

#define FDREF_CLOSED (1u << 31)

typedef struct polldesc {
    gort__rtlock lock;      /* deadlines, timers, open and close */
    _Atomic uint32_t seq;   /* [atomic; write under lock] +1 at open and at close */
    _Atomic uint32_t state; /* [atomic; write under lock] PDS_* */
    _Atomic uint32_t refs;  /* [atomic] calls in progress | FDREF_CLOSED */
    _Atomic uint32_t csema; /* close sleeps here for refs to drain */
    _Atomic bool closing;   /* [atomic; write under lock] gort_close started */
    bool lazy;              /* [lock] registered on first use, not made by gort */
    bool sock;              /* [lock] a socket (send with MSG_NOSIGNAL) */
    bool stream;            /* [lock] a TCP socket gort made (accept, dial): drained hint */
    bool rdrained;          /* [rmu; reset by pd_open] the last read came back short */
    _Atomic bool urgent;    /* [atomic] EPOLLPRI seen (TCP urgent data): no drained hint */
    _Atomic uintptr_t rg;   /* [atomic] read semaphore: PD_* or a g */
    _Atomic uintptr_t wg;   /* [atomic] write semaphore */
    _Atomic int64_t rd;     /* [atomic; write under lock] 0 none, -1 expired, else when */
    _Atomic int64_t wd;
    uint32_t rseq, wseq; /* [lock] deadline generations */
    timer rt, wt;        /* [lock] deadline timers */
    int fd;              /* [lock] */
    /* One reader and one writer at a time (Go's fdMutex read and write
     * locks): a second caller parks here, not on the semaphore. */
    gort_mutex rmu, wmu;
} polldesc;

#define PD_CHUNK 1024
#define PD_MAXCHUNKS 4096 /* fds below 4M */

static _Atomic(polldesc *) pdtab[PD_MAXCHUNKS];
static int epfd = -1;
static int evfd = -1;
static _Atomic int32_t nwaiters; /* Go's netpollWaiters */
static _Atomic int pwait2_missing;

#define EVFD_TAG UINT64_MAX

static void pd_deadline_fire(timer *t, int64_t now, uintptr_t seq);

/* ------------------------------------------------------------------ table */

/* The pollDesc of fd, or NULL if fd is out of range (or, with !create, has
 * none; with create, when memory is exhausted). */
static polldesc *pd_lookup(int fd, bool create) {
    if (fd < 0 || (unsigned)fd / PD_CHUNK >= PD_MAXCHUNKS)
        return NULL;
    _Atomic(polldesc *) *slot = &pdtab[fd / PD_CHUNK];
    /* Acquire: pairs with the release CAS that published the chunk. */
    polldesc *c = atomic_load_explicit(slot, memory_order_acquire);
    if (GORT_UNLIKELY(c == NULL)) {
        if (!create)
            return NULL;
        polldesc *n = gort__calloc(PD_CHUNK, sizeof *n);
        if (n == NULL)
            return NULL;
        for (int i = 0; i < PD_CHUNK; i++) {
            n[i].fd = fd / PD_CHUNK * PD_CHUNK + i;
            n[i].rt = (timer){.idx = -1, .f = pd_deadline_fire, .arg = &n[i]};
            n[i].wt = (timer){.idx = -1, .f = pd_deadline_fire, .arg = &n[i]};
        }
        polldesc *exp = NULL;
        if (atomic_compare_exchange_strong_explicit(slot, &exp, n, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            c = n;
        } else {
            free(n);
            c = exp;
        }
    }
    return &c[fd % PD_CHUNK];
}

static inline uint64_t pd_tag(polldesc *pd, uint32_t seq) {
    return (uint64_t)(uint32_t)pd->fd << 32 | seq;
}

/* ------------------------------------------------------------------ init */

int gort__netpoll_init(void) {
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return -errno;
    evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (evfd < 0) {
        int e = -errno;
        close(epfd);
        epfd = -1;
        return e;
    }
    /* Level-triggered: a non-blocking poll that sees the break leaves it
     * for the blocking poller, which alone drains it (netpoll_epoll.go). */
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EVFD_TAG};
    if (gort__epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) != 0) {
        int e = -errno;
        close(evfd);
        close(epfd);
        evfd = epfd = -1;
        return e;
    }
    atomic_store_explicit(&nwaiters, 0, memory_order_relaxed);
    return 0;
}

/* After every M has left: the fds the program did not close stay open (they
 * are the program's), their pollDescs go. */
void gort__netpoll_fini(void) {
    if (epfd >= 0)
        close(epfd);
    if (evfd >= 0)
        close(evfd);
    epfd = evfd = -1;
    for (int i = 0; i < PD_MAXCHUNKS; i++) {
        polldesc *c = atomic_load_explicit(&pdtab[i], memory_order_relaxed);
        if (c) {
            atomic_store_explicit(&pdtab[i], NULL, memory_order_relaxed);
            free(c);
        }
    }
}

int32_t gort__netpoll_waiters(void) {
    return atomic_load_explicit(&nwaiters, memory_order_seq_cst);
}

void gort__netpoll_break(void) {
    uint64_t one = 1;
    ssize_t r;
    do
        r = write(evfd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, a break is pending anyway. */
}

/* ------------------------------------------------------------------ the semaphores */

static inline _Atomic uintptr_t *pd_sem(polldesc *pd, int mode) {
    return mode == MODE_R ? &pd->rg : &pd->wg;
}

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

static int pd_checkerr(polldesc *pd, int mode) {
    if (atomic_load_explicit(&pd->closing, memory_order_seq_cst))
        return -EBADF;
    int64_t d = atomic_load_explicit(mode == MODE_R ? &pd->rd : &pd->wd, memory_order_seq_cst);
    if (d < 0)
        return -ETIMEDOUT;
    return 0;
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

/* Go's netpollblock: returns true if I/O is ready, false if woken for
 * another reason (deadline, close) or if the check after announcing the
 * wait found one. */
static bool netpollblock(polldesc *pd, int mode) {
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
     * load of rg/wg. */
    if (pd_checkerr(pd, mode) == 0)
        gort__gopark(wait_commit, (void *)gpp, WAIT_IO);
    uintptr_t old = atomic_exchange_explicit(gpp, PD_NIL, memory_order_seq_cst);
    if (old > PD_WAIT)
        gort__throw("runtime: corrupted polldesc");
    return old == PD_READY;
}

/* Go's poll_runtime_pollWait: 0 when the fd may be ready for mode, or the
 * reason it never will be (-EBADF, -ETIMEDOUT). */
static int pd_wait(polldesc *pd, int mode) {
    int err = pd_checkerr(pd, mode);
    if (err)
        return err;
    while (!netpollblock(pd, mode)) {
        err = pd_checkerr(pd, mode);
        if (err)
            return err;
        /* Can happen if timeout has fired and unblocked us, but before we
         * had a chance to run, timeout has been reset.  Pretend it has not
         * happened and retry. */
    }
    return 0;
}

/* ------------------------------------------------------------------ netpoll */

struct g *gort__netpoll_ex(int64_t delay, bool *broke) {
    if (epfd < 0)
        return NULL;
    struct epoll_event evs[128];
    int n;
    if (delay <= 0) {
        n = epoll_wait(epfd, evs, 128, delay < 0 ? -1 : 0);
    } else {
        n = -1;
        errno = ENOSYS;
        if (!atomic_load_explicit(&pwait2_missing, memory_order_relaxed)) {
            /* Nanosecond timeouts (Linux 5.11): timers would otherwise be
             * late by up to a millisecond. */
            struct timespec ts = {(time_t)(delay / 1000000000), (long)(delay % 1000000000)};
            n = epoll_pwait2(epfd, evs, 128, &ts, NULL);
            if (n < 0 && errno == ENOSYS)
                atomic_store_explicit(&pwait2_missing, 1, memory_order_relaxed);
        }
        if (n < 0 && errno == ENOSYS) {
            int64_t ms = (delay + 999999) / 1000000;
            n = epoll_wait(epfd, evs, 128, ms > 1000000000 ? 1000000000 : (int)ms);
        }
    }
    atomic_store_explicit(&gort__sched.lastpoll, gort_nanotime(), memory_order_relaxed);
    if (n < 0) {
        if (errno != EINTR) {
            gort__printf("runtime: netpoll failed with %d\n", errno);
            gort__throw("runtime: netpoll failed");
        }
        return NULL;
    }
    struct g *list = NULL, **tail = &list;
    for (int i = 0; i < n; i++) {
        struct epoll_event *ev = &evs[i];
        if (ev->data.u64 == EVFD_TAG) {
            if (broke)
                *broke = true;
            if (delay != 0) {
                /* netpollBreak could be picked up by a nonblocking poll.
                 * Only read the counter (resetting it) if blocking. */
                uint64_t v;
                ssize_t r = read(evfd, &v, sizeof v);
                (void)r;
            }
            continue;
        }
        polldesc *pd = pd_lookup((int)(ev->data.u64 >> 32), false);
        /* A stale event (the fd closed since, perhaps reused) is dropped. */
        if (pd == NULL ||
            atomic_load_explicit(&pd->seq, memory_order_acquire) != (uint32_t)ev->data.u64)
            continue;
        int mode = 0;
        if (ev->events & EPOLLPRI) {
            /* Urgent data: reads stop at its mark (see the drained hint).
             * seq_cst: before netpollunblock's access to rg below. */
            atomic_store_explicit(&pd->urgent, true, memory_order_seq_cst);
        }
        if (ev->events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            mode |= MODE_R;
        if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            mode |= MODE_W;
        for (int m = MODE_R; m <= MODE_W; m <<= 1) {
            if (!(mode & m))
                continue;
            struct g *gp = netpollunblock(pd, m, true);
            if (gp == NULL || !pd_claim(gp))
                continue;
            if (gp->foreign) {
                gort__goready(gp); /* wakes its thread; never queued */
                continue;
            }
            gp->schedlink = NULL;
            *tail = gp;
            tail = &gp->schedlink;
        }
    }
    return list;
}

struct g *gort__netpoll(int64_t delay) {
    return gort__netpoll_ex(delay, NULL);
}

/* ------------------------------------------------------------------ open and close */

/* Registers fd (a new pollDesc generation).  lazy: an fd gort did not
 * make, seen first by one of our calls.  stream: a connected TCP socket
 * gort made (the drained hint; registered for EPOLLPRI too).  Returns the
 * pollDesc or NULL with *err set. */
static polldesc *pd_open(int fd, bool lazy, bool sock, bool stream, int *err) {
    polldesc *pd = pd_lookup(fd, true);
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
    atomic_store_explicit(&pd->refs, 0, memory_order_relaxed);
    atomic_store_explicit(&pd->csema, 0, memory_order_relaxed);
    atomic_store_explicit(&pd->closing, false, memory_order_relaxed);
    atomic_store_explicit(&pd->urgent, false, memory_order_relaxed);
    pd->rseq++;
    pd->wseq++;
    pd->lazy = lazy;
    pd->sock = sock;
    pd->rdrained = false;
    uint32_t st = PDS_POLLED;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET |
                                       (stream ? EPOLLPRI : 0),
                             .data.u64 = pd_tag(pd, seq)};
    if (epfd < 0) {
        st = PDS_PLAIN; /* no runtime: calls block in poll(2) */
    } else if (gort__epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        if (errno == EPERM) {
            st = PDS_PLAIN; /* a regular file: always ready */
        } else if (errno == EEXIST) {
            /* Registered by an earlier generation whose fd was closed with
             * close(2) while a dup kept the file open: take it over. */
            if (gort__epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
                st = PDS_FREE;
        } else {
            st = PDS_FREE;
        }
        if (st == PDS_FREE) {
            *err = -errno;
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

/* Go's fdMutex incref: false if the fd is being closed. */
static bool pd_incref(polldesc *pd) {
    uint32_t r = atomic_load_explicit(&pd->refs, memory_order_relaxed);
    do {
        if (r & FDREF_CLOSED)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pd->refs, &r, r + 1, memory_order_acquire,
                                                    memory_order_relaxed));
    return true;
}

static void pd_decref(polldesc *pd) {
    /* Release: our use of the fd happens before the closer's close(2). */
    uint32_t r = atomic_fetch_sub_explicit(&pd->refs, 1, memory_order_release) - 1;
    if (r == FDREF_CLOSED)
        gort__semrelease(&pd->csema, false); /* the last one out wakes the closer */
}

/* The pollDesc for a call on fd, with a reference held (release with
 * pd_decref), opening it lazily for an fd gort did not make.  nonblock:
 * make such an fd nonblocking (read/write; gort_wait_fd leaves it as is).
 * 0 or -errno (-EBADF while the fd is being closed). */
static int pd_acquire(int fd, bool nonblock, polldesc **out) {
    if (fd < 0)
        return -EBADF;
    polldesc *pd = pd_lookup(fd, false);
    /* Acquire: pairs with pd_open's release store of the state. */
    if (pd == NULL || atomic_load_explicit(&pd->state, memory_order_acquire) == PDS_FREE) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
            return -errno;
        if (nonblock && !(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
            return -errno;
        int type, err = 0;
        socklen_t len = sizeof type;
        bool sock = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
        pd = pd_open(fd, true, sock, false, &err);
        if (pd == NULL)
            return err;
    }
    if (!pd_incref(pd))
        return -EBADF;
    *out = pd;
    return 0;
}

/* A lazily registered fd may have been closed with close(2) behind our
 * back and its number reused: then epoll forgot it.  Checked before
 * parking (a syscall, for fds gort did not make only). */
static void pd_recheck(polldesc *pd) {
    if (!pd->lazy || epfd < 0)
        return;
    gort__lock(&pd->lock);
    uint32_t seq = atomic_load_explicit(&pd->seq, memory_order_relaxed);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = pd_tag(pd, seq)};
    if (gort__epoll_ctl(epfd, EPOLL_CTL_MOD, pd->fd, &ev) != 0 && errno == ENOENT)
        (void)gort__epoll_ctl(epfd, EPOLL_CTL_ADD, pd->fd, &ev);
    gort__unlock(&pd->lock);
}

GORT_API int gort_close(int fd) {
    polldesc *pd = pd_lookup(fd, false);
    if (pd == NULL || atomic_load_explicit(&pd->state, memory_order_acquire) == PDS_FREE)
        return close(fd) == 0 ? 0 : -errno;
    uint32_t r = atomic_fetch_or_explicit(&pd->refs, FDREF_CLOSED, memory_order_acq_rel);
    if (r & FDREF_CLOSED)
        return -EBADF; /* another gort_close got here first */
    /* Go's poll_runtime_pollUnblock: wake every waiter with -EBADF. */
    gort__lock(&pd->lock);
    atomic_store_explicit(&pd->closing, true, memory_order_seq_cst);
    pd->rseq++;
    pd->wseq++;
    gort__deltimer(&pd->rt);
    gort__deltimer(&pd->wt);
    struct g *rg = netpollunblock(pd, MODE_R, false);
    struct g *wg = netpollunblock(pd, MODE_W, false);
    gort__unlock(&pd->lock);
    pd_ready(rg);
    pd_ready(wg);
    /* Wait for the calls in progress to leave (Go: runtime_Semacquire(
     * &fd.csema) in fd.Close).  Acquire (the semaphore) pairs with their
     * release decrements. */
    if ((r & ~FDREF_CLOSED) != 0)
        gort__semacquire(&pd->csema, false, WAIT_SEMACQUIRE);
    gort__lock(&pd->lock);
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_POLLED && epfd >= 0)
        (void)gort__epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    /* A new generation: events still queued for the old one are dropped. */
    atomic_store_explicit(&pd->seq, atomic_load_explicit(&pd->seq, memory_order_relaxed) + 1,
                          memory_order_release);
    atomic_store_explicit(&pd->state, PDS_FREE, memory_order_release);
    gort__unlock(&pd->lock);
    /* Only now may the number be reused. */
    return close(fd) == 0 || errno == EINTR ? 0 : -errno;
}

/* ------------------------------------------------------------------ deadlines */

/* A deadline timer fired (Go's netpolldeadlineimpl).  On g0 with a P. */
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

/* Go's poll_runtime_pollSetDeadline for one side.  d: absolute nanotime,
 * 0 for none; a deadline in the past expires at once. */
static void pd_setdeadline(polldesc *pd, int mode, int64_t d) {
    timer *t = mode == MODE_R ? &pd->rt : &pd->wt;
    _Atomic int64_t *dp = mode == MODE_R ? &pd->rd : &pd->wd;
    uint32_t *sp = mode == MODE_R ? &pd->rseq : &pd->wseq;
    gort__lock(&pd->lock);
    if (atomic_load_explicit(&pd->closing, memory_order_relaxed)) {
        gort__unlock(&pd->lock);
        return;
    }
    (*sp)++; /* a timer already firing for the old deadline is stale now */
    gort__deltimer(t);
    struct g *gp = NULL;
    if (d > 0 && d <= gort_nanotime())
        d = -1;
    atomic_store_explicit(dp, d, memory_order_seq_cst);
    if (d > 0) {
        t->seq = *sp;
        gort__addtimer(t, d);
    } else if (d < 0) {
        gp = netpollunblock(pd, mode, false);
    }
    gort__unlock(&pd->lock);
    pd_ready(gp);
}

GORT_API int gort_set_deadline(int fd, int64_t read_deadline, int64_t write_deadline) {
    polldesc *pd;
    int err = pd_acquire(fd, true, &pd);
    if (err)
        return err;
    pd_setdeadline(pd, MODE_R, read_deadline);
    pd_setdeadline(pd, MODE_W, write_deadline);
    pd_decref(pd);
    return 0;
}

/* ------------------------------------------------------------------ I/O */

/* Blocks the thread (no runtime, or a file) until fd is ready for events
 * or the deadline; 0, -ETIMEDOUT or -errno. */
static int poll_thread(int fd, short events, int64_t deadline) {
    for (;;) {
        int ms = -1;
        if (deadline > 0) {
            int64_t left = deadline - gort_nanotime();
            if (left <= 0)
                return -ETIMEDOUT;
            ms = (int)((left + 999999) / 1000000);
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return (p.revents & POLLNVAL) ? -EBADF : 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

/* Waits for mode on pd after an EAGAIN: parks when the poller runs, else
 * blocks the thread in poll(2). */
static int pd_block(polldesc *pd, int mode) {
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN ||
        !gort__runtime_running()) {
        int err = pd_checkerr(pd, mode);
        if (err)
            return err;
        int64_t d = atomic_load_explicit(mode == MODE_R ? &pd->rd : &pd->wd, memory_order_relaxed);
        return poll_thread(pd->fd, mode == MODE_R ? POLLIN : POLLOUT, d);
    }
    pd_recheck(pd);
    return pd_wait(pd, mode);
}

/* After a call on pd's fd failed with errno: 0 to try it again (EINTR, or
 * EAGAIN and the fd may be ready now), or the error to return. */
static int pd_retry(polldesc *pd, int mode) {
    if (errno == EINTR)
        return 0;
    if (errno != EAGAIN)
        return -errno;
    return pd_block(pd, mode);
}

/* Clears a pending readiness notification before a read(2) on a stream
 * socket (the drained hint, above).  rmu held: rg is READY or NIL. */
static inline void read_clear_ready(polldesc *pd) {
    /* seq_cst CAS: reads from the netpoller's CAS to READY (so what the
     * netpoller stored before it, urgent, is visible), and orders the clear
     * before our read(2): a READY set for data that arrives after that read
     * comes later in rg's modification order and survives. */
    uintptr_t exp = PD_READY;
    if (atomic_load_explicit(&pd->rg, memory_order_relaxed) == PD_READY)
        (void)atomic_compare_exchange_strong_explicit(&pd->rg, &exp, PD_NIL, memory_order_seq_cst,
                                                      memory_order_seq_cst);
}

GORT_API ssize_t gort_read(int fd, void *buf, size_t n) {
    polldesc *pd;
    int err = pd_acquire(fd, true, &pd);
    if (err)
        return err;
    gort_mutex_lock(&pd->rmu);
    /* The last read came back short: wait for readiness before reading. */
    bool skip = pd->rdrained;
    pd->rdrained = false;
    ssize_t r;
    for (;;) {
        r = pd_checkerr(pd, MODE_R); /* Go's prepareRead */
        if (r)
            break;
        if (skip) {
            skip = false;
            r = pd_block(pd, MODE_R);
            if (r)
                break;
            continue;
        }
        if (pd->stream) {
            read_clear_ready(pd);
            r = read(fd, buf, n);
            /* seq_cst load of urgent: after the clear (see the hint). */
            if (r > 0 && (size_t)r < n && !atomic_load_explicit(&pd->urgent, memory_order_seq_cst))
                pd->rdrained = true;
        } else if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN) {
            /* A file: the read may block its thread (entersyscall). */
            gort_syscall_enter();
            r = read(fd, buf, n);
            int e = errno;
            gort_syscall_exit();
            errno = e;
        } else {
            r = read(fd, buf, n);
        }
        if (r >= 0)
            break;
        r = pd_retry(pd, MODE_R);
        if (r)
            break;
    }
    gort_mutex_unlock(&pd->rmu);
    pd_decref(pd);
    return r;
}

/* write(2) to a non-socket without dying of SIGPIPE: the signal is blocked
 * for the call and a pending one consumed (Go ignores SIGPIPE on fds other
 * than 1 and 2; so do we, on every fd written through gort). */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t n) {
    sigset_t pipe, old;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    ssize_t r = write(fd, buf, n);
    int e = errno;
    if (r < 0 && e == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return r;
}

GORT_API ssize_t gort_write(int fd, const void *buf, size_t n) {
    polldesc *pd;
    int err = pd_acquire(fd, true, &pd);
    if (err)
        return err;
    gort_mutex_lock(&pd->wmu);
    size_t done = 0;
    ssize_t r = 0;
    for (;;) {
        r = pd_checkerr(pd, MODE_W); /* Go's prepareWrite */
        if (r)
            break;
        size_t left = n - done;
        if (pd->sock) {
            r = send(fd, (const char *)buf + done, left, MSG_NOSIGNAL);
        } else if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN) {
            gort_syscall_enter();
            r = write_nosigpipe(fd, (const char *)buf + done, left);
            int e = errno;
            gort_syscall_exit();
            errno = e;
        } else {
            r = write_nosigpipe(fd, (const char *)buf + done, left);
        }
        if (r >= 0) {
            done += (size_t)r;
            if (done == n) {
                r = (ssize_t)n;
                break;
            }
            continue;
        }
        r = pd_retry(pd, MODE_W);
        if (r)
            break;
    }
    gort_mutex_unlock(&pd->wmu);
    pd_decref(pd);
    return r;
}

/* ------------------------------------------------------------------ gort_wait_fd */

typedef struct waitfd {
    polldesc *pd;
    int modes;
    _Atomic bool expired;
} waitfd;

/* wait_fd's own deadline (the fd's deadlines belong to gort_read/write). */
static void waitfd_expire(timer *t, int64_t now, uintptr_t seq) {
    (void)now;
    (void)seq;
    waitfd *w = t->arg;
    atomic_store_explicit(&w->expired, true, memory_order_seq_cst);
    gort__lock(&w->pd->lock);
    struct g *rg = (w->modes & MODE_R) ? netpollunblock(w->pd, MODE_R, false) : NULL;
    struct g *wg = (w->modes & MODE_W) ? netpollunblock(w->pd, MODE_W, false) : NULL;
    gort__unlock(&w->pd->lock);
    pd_ready(rg);
    pd_ready(wg);
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

GORT_API int gort_wait_fd(int fd, int events, int64_t deadline) {
    int modes = events & (GORT_POLL_READ | GORT_POLL_WRITE); /* same bits as MODE_* */
    if (modes == 0)
        return -EINVAL;
    polldesc *pd;
    int err = pd_acquire(fd, false, &pd);
    if (err)
        return err;
    short pev = (short)(((modes & MODE_R) ? POLLIN : 0) | ((modes & MODE_W) ? POLLOUT : 0));
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN ||
        !gort__runtime_running()) {
        err = atomic_load_explicit(&pd->closing, memory_order_relaxed)
                  ? -EBADF
                  : poll_thread(fd, pev, deadline);
        pd_decref(pd);
        return err;
    }
    if (modes & MODE_R) {
        gort_mutex_lock(&pd->rmu);
        /* We may consume READY without reading: the drained hint is off. */
        pd->rdrained = false;
    }
    if (modes & MODE_W)
        gort_mutex_lock(&pd->wmu);
    struct g *gp = gort__getg_or_foreign();
    waitfd w = {.pd = pd, .modes = modes};
    timer t = {.idx = -1, .f = waitfd_expire, .arg = &w, .track = true};
    bool armed = false;
    pd_recheck(pd);
    for (;;) {
        /* Closed, or a deadline of the fd's own (gort_set_deadline). */
        err = pd_checkerr(pd, (modes & MODE_R) ? MODE_R : MODE_W);
        if (!err && modes == (MODE_R | MODE_W))
            err = pd_checkerr(pd, MODE_W);
        if (err)
            break;
        if (atomic_load_explicit(&w.expired, memory_order_seq_cst) ||
            (deadline > 0 && deadline <= gort_nanotime())) {
            err = -ETIMEDOUT;
            break;
        }
        /* Edge-triggered readiness may have been consumed by an earlier
         * read that did not drain the fd: ask the kernel first. */
        struct pollfd p = {.fd = fd, .events = pev};
        if (poll(&p, 1, 0) > 0) {
            err = (p.revents & POLLNVAL) ? -EBADF : 0;
            break;
        }
        if (deadline > 0 && !armed) {
            armed = true;
            gort__addtimer(&t, deadline);
        }
        if (modes != (MODE_R | MODE_W)) {
            (void)netpollblock(pd, modes);
            continue; /* re-check: closed, expired, or ready */
        }
        /* Both sides: announce on each, then park once. */
        uintptr_t exp = PD_NIL;
        if (!atomic_compare_exchange_strong_explicit(&pd->rg, &exp, PD_WAIT, memory_order_seq_cst,
                                                     memory_order_seq_cst)) {
            if (exp != PD_READY)
                gort__throw("runtime: double wait");
            atomic_store_explicit(&pd->rg, PD_NIL, memory_order_seq_cst);
            continue;
        }
        exp = PD_NIL;
        if (!atomic_compare_exchange_strong_explicit(&pd->wg, &exp, PD_WAIT, memory_order_seq_cst,
                                                     memory_order_seq_cst)) {
            if (exp != PD_READY)
                gort__throw("runtime: double wait");
            (void)waitboth_take(&pd->rg, gp);
            atomic_store_explicit(&pd->wg, PD_NIL, memory_order_seq_cst);
            continue;
        }
        gp->pollboth = true;
        atomic_store_explicit(&gp->selectdone, 0, memory_order_relaxed);
        if (pd_checkerr(pd, MODE_R) != -EBADF && !atomic_load(&w.expired))
            gort__gopark(wait_commit_both, pd, WAIT_IO);
        bool rr = waitboth_take(&pd->rg, gp);
        bool wr = waitboth_take(&pd->wg, gp);
        gp->pollboth = false;
        if (rr)
            atomic_store_explicit(&pd->rg, PD_NIL, memory_order_seq_cst);
        if (wr)
            atomic_store_explicit(&pd->wg, PD_NIL, memory_order_seq_cst);
    }
    if (armed) {
        (void)gort__deltimer_sync(&t); /* t and w live on this stack */
    }
    if (modes & MODE_W)
        gort_mutex_unlock(&pd->wmu);
    if (modes & MODE_R)
        gort_mutex_unlock(&pd->rmu);
    pd_decref(pd);
    return err;
}

/* ------------------------------------------------------------------ addresses */

/* A numeric host (or "" for the wildcard/loopback) -> sockaddr; 1 if host
 * is numeric, 0 if it is a name, -EINVAL if malformed. */
static int numeric_addr(const char *host, int port, bool listen, struct sockaddr_storage *ss,
                        socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (host[0] == '\0') {
        if (listen) {
            s6->sin6_family = AF_INET6; /* dual stack [::], see gort_listen */
            s6->sin6_addr = in6addr_any;
            s6->sin6_port = htons((uint16_t)port);
            *len = sizeof *s6;
        } else {
            s4->sin_family = AF_INET; /* Go dials the local system */
            s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            s4->sin_port = htons((uint16_t)port);
            *len = sizeof *s4;
        }
        return 1;
    }
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
        return 1;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
        return 1;
    }
    return 0;
}

/* Resolves a name (getaddrinfo may block on DNS: the P is handed off). */
static int resolve(const char *host, int port, bool passive, struct addrinfo **res) {
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
    gort_syscall_enter();
    int r = getaddrinfo(host, ps, &hints, res);
    int e = errno;
    gort_syscall_exit();
    if (r == 0)
        return 0;
    switch (r) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return -e;
    default:
        return -EINVAL;
    }
}

static void set_nodelay(int fd) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

GORT_API int gort_listen(const char *addr, int backlog) {
    char host[256];
    int port;
    if (gort__split_hostport(addr, host, sizeof host, &port) != 0)
        return -EINVAL;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    struct addrinfo *res = NULL;
    int num = numeric_addr(host, port, true, &ss, &len);
    if (num == 0) {
        int err = resolve(host, port, true, &res);
        if (err)
            return err;
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    bool wildcard = host[0] == '\0';
    if (backlog <= 0)
        backlog = SOMAXCONN;
    for (;;) {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            if (wildcard && ss.ss_family == AF_INET6 && errno == EAFNOSUPPORT) {
                /* No IPv6 here: the wildcard is 0.0.0.0. */
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
                memset(&ss, 0, sizeof ss);
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
                len = sizeof *s4;
                continue;
            }
            return -errno;
        }
        int one = 1, zero = 0;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (wildcard && ss.ss_family == AF_INET6)
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        int err = 0;
        if (pd_open(fd, false, true, false, &err) == NULL) {
            close(fd);
            return err;
        }
        return fd;
    }
}

GORT_API int gort_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

GORT_API int gort_accept(int lfd, struct sockaddr *sa, socklen_t *salen) {
    polldesc *pd;
    int err = pd_acquire(lfd, true, &pd);
    if (err)
        return err;
    gort_mutex_lock(&pd->rmu);
    int fd;
    for (;;) {
        fd = pd_checkerr(pd, MODE_R);
        if (fd)
            break;
        fd = accept4(lfd, sa, salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            break;
        if (errno == ECONNABORTED)
            continue; /* Go retries a connection reset before accept */
        fd = pd_retry(pd, MODE_R);
        if (fd)
            break;
    }
    gort_mutex_unlock(&pd->rmu);
    pd_decref(pd);
    if (fd < 0)
        return fd;
    set_nodelay(fd);
    if (pd_open(fd, false, true, true, &err) == NULL) {
        close(fd);
        return err;
    }
    return fd;
}

/* One connect attempt; the fd or -errno. */
static int dial_one(const struct sockaddr *sa, socklen_t len, int64_t deadline) {
    if (deadline > 0 && deadline <= gort_nanotime())
        return -ETIMEDOUT;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int err = 0;
    polldesc *pd = pd_open(fd, false, true, true, &err);
    if (pd == NULL) {
        close(fd);
        return err;
    }
    int r;
    do
        r = connect(fd, sa, len);
    while (r != 0 && errno == EINTR);
    if (r != 0 && errno != EINPROGRESS) {
        err = -errno;
        gort_close(fd);
        return err;
    }
    if (r != 0) {
        /* Wait for the connection with the deadline as a write deadline
         * (Go's connect in fd_unix.go), then clear it. */
        if (deadline > 0)
            pd_setdeadline(pd, MODE_W, deadline);
        for (;;) {
            if (!pd_incref(pd)) {
                err = -EBADF;
                break;
            }
            err = pd_block(pd, MODE_W);
            pd_decref(pd);
            if (err)
                break;
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr == 0)
                break;
            if (soerr != EINPROGRESS && soerr != EALREADY && soerr != EINTR) {
                err = -soerr;
                break;
            }
        }
        if (err) {
            gort_close(fd);
            return err;
        }
        if (deadline > 0)
            pd_setdeadline(pd, MODE_W, 0);
    }
    set_nodelay(fd);
    return fd;
}

GORT_API int gort_dial(const char *addr, int64_t deadline) {
    char host[256];
    int port;
    if (gort__split_hostport(addr, host, sizeof host, &port) != 0)
        return -EINVAL;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int num = numeric_addr(host, port, false, &ss, &len);
    if (num == 1)
        return dial_one((struct sockaddr *)&ss, len, deadline);
    struct addrinfo *res = NULL;
    int err = resolve(host, port, false, &res);
    if (err)
        return err;
    err = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        err = dial_one(ai->ai_addr, ai->ai_addrlen, deadline);
        if (err >= 0 || err == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    return err;
}
