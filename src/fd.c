/*
 * fd.c - read, write, close, wait and deadlines on an fd, over the pollDesc
 * of netpoll.c.  Mirrors internal/poll's fd_unix.go, fd_mutex.go and
 * fd_poll_runtime.go.
 *
 * Concurrent reads (writes) of one fd take turns on rmu (wmu), as Go's
 * fdMutex serialises them: a semaphore has room for one waiter, and a
 * write of n bytes is not interleaved with another.
 *
 * Close (Go's fdMutex, reduced to what a C API needs): refs counts the
 * calls in progress on the fd, with FDREF_CLOSED set by gort_close.  Close
 * sets closing, wakes every parked goroutine (they return -EBADF), waits
 * on csema until the last call in progress has left, removes the fd from
 * the poller, and only then close(2)s it: the fd number cannot be reused
 * while anybody still uses it.
 *
 * Threads outside the runtime use the same code: their fake g parks on a
 * futex and is woken directly.  Before gort_main (or after it returns) the
 * calls still work, blocking their thread in poll(2); an fd first used
 * then joins the poller at its first wait inside gort_main
 * (gort__pd_promote).
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
 * the reader clears READY (a seq_cst CAS READY -> NIL, gort__pd_clearready);
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
 * bytes still queued and no further event.  And the peer's FIN or a reset
 * may arrive with the data, announced by the same event (edge-triggered
 * epoll reports them together when both came before the harvest): the
 * short read then leaves the EOF or the error to a next read that no
 * event will ever wake (it hung until its deadline, or for ever).  Stream
 * sockets are registered for EPOLLPRI too, and an event with EPOLLPRI,
 * EPOLLRDHUP, EPOLLHUP or EPOLLERR sets the sticky nohint flag: the hint is
 * off for that socket from then on.  The flag is checked after the clear
 * and the short read, and either the event was harvested after the clear
 * (then it set READY after the clear, and the park returns at once) or its
 * seq_cst store of nohint precedes, in the seq_cst order, the netpoller's
 * access to rg, which precedes our clear (or the consuming CAS before it),
 * which precedes our seq_cst load of nohint.  A user's SO_RCVLOWAT makes
 * a short read wait for the low-water mark before the next read, which is
 * what an EAGAIN would have led to.
 * Other fds (lazily registered: pipes, ttys, fds of unknown type) always
 * read until EAGAIN.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netpoll.h"

/* See netpoll.h. */
int gort__pd_acquire(int fd, bool nonblock, polldesc **out) {
    if (fd < 0)
        return -EBADF;
    polldesc *pd = gort__pd_lookup(fd, false);
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
        pd = gort__pd_open(fd, true, sock, false, &err);
        if (pd == NULL)
            return err;
        if (nonblock)
            atomic_store_explicit(&pd->nbset, true, memory_order_relaxed);
    } else if (nonblock && pd->lazy) {
        /* Blocking: registered by gort_wait_fd, which left the flags
         * alone (made nonblocking now); or the number names another file
         * than the one we registered (closed with close(2), the number
         * reused), then most likely blocking: if so and epoll does not
         * know it, it is new (made nonblocking, the old deadlines
         * dropped).  One the program (or gort_process_spawn) made blocking
         * again after gort made it nonblocking stays so.  A syscall per
         * call on fds gort did not make, two on blocking ones.  (Relaxed
         * nbset: a flag each caller sets to the same value.) */
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0)
            return -errno;
        if (!(fl & O_NONBLOCK) &&
            (!atomic_load_explicit(&pd->nbset, memory_order_relaxed) || gort__pd_recheck(pd)) &&
            fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
            return -errno;
        atomic_store_explicit(&pd->nbset, true, memory_order_relaxed);
    }
    if (!pd_incref(pd))
        return -EBADF;
    *out = pd;
    return 0;
}


/* ------------------------------------------------------------------ I/O */

/* Go's prepareRead/prepareWrite: the fd's error, or -ETIMEDOUT past its
 * deadline.  An expired deadline on an fd gort did not make may be that of
 * a file closed with close(2) whose number a new one has now: checked
 * here (a syscall on this path only), and dropped if so. */
static int pd_prepare(polldesc *pd, int mode) {
    int err = pd_checkerr(pd, mode);
    if (err == -ETIMEDOUT && gort__pd_recheck(pd))
        err = pd_checkerr(pd, mode);
    return err;
}

/* Blocks the thread (no runtime, or a file) until fd is ready for events
 * or the deadline; 0, -ETIMEDOUT or -errno. */
static int poll_thread(int fd, short events, int64_t deadline) {
    for (;;) {
        int ms = -1;
        if (deadline != 0) {
            int64_t now = gort__now(); /* the caller's clock */
            if (deadline <= now)       /* first: a negative deadline - now may overflow */
                return -ETIMEDOUT;
            int64_t left = deadline - now;
            int64_t lms = left / 1000000 + (left % 1000000 != 0); /* rounded up */
            ms = lms > INT_MAX ? INT_MAX : (int)lms;              /* then poll again */
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return (p.revents & POLLNVAL) ? -EBADF : 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

/* See netpoll.h. */
int gort__pd_block(polldesc *pd, int mode) {
    if (!gort__runtime_running() ||
        (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN &&
         !gort__pd_promote(pd))) {
        int err = pd_checkerr(pd, mode);
        if (err)
            return err;
        int64_t d = atomic_load_explicit(mode == MODE_R ? &pd->rd : &pd->wd, memory_order_relaxed);
        return poll_thread(pd->fd, mode == MODE_R ? POLLIN : POLLOUT, d);
    }
    gort__pd_recheck(pd);
    return gort__pd_wait(pd, mode);
}

/* See netpoll.h. */
int gort__pd_retry(polldesc *pd, int mode) {
    if (errno == EINTR)
        return 0;
    if (errno != EAGAIN)
        return -errno;
    return gort__pd_block(pd, mode);
}

static ssize_t fd_read(int fd, void *buf, size_t n) {
    polldesc *pd;
    int err = gort__pd_acquire(fd, true, &pd);
    if (err)
        return err;
    gort__mutex_lock_sema(&pd->rmu, true);
    /* The last read came back short: wait for readiness before reading.
     * A read of 0 bytes reads nothing: it returns at once, as Go's, and
     * leaves the hint and READY (which the next read needs) alone. */
    bool skip = pd->rdrained && n > 0;
    if (n > 0)
        pd->rdrained = false;
    ssize_t r;
    for (;;) {
        r = pd_prepare(pd, MODE_R);
        if (r || n == 0)
            break;
        if (skip) {
            skip = false;
            r = gort__pd_block(pd, MODE_R);
            if (r)
                break;
            continue;
        }
        if (pd->stream) {
            gort__pd_clearready(pd);
            r = read(fd, buf, n);
            /* seq_cst load of nohint: after the clear (see the hint). */
            if (r > 0 && (size_t)r < n && !atomic_load_explicit(&pd->nohint, memory_order_seq_cst))
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
        r = gort__pd_retry(pd, MODE_R);
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

static ssize_t fd_write(int fd, const void *buf, size_t n) {
    polldesc *pd;
    int err = gort__pd_acquire(fd, true, &pd);
    if (err)
        return err;
    gort__mutex_lock_sema(&pd->wmu, true);
    size_t done = 0;
    ssize_t r = 0;
    for (;;) {
        r = pd_prepare(pd, MODE_W);
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
        r = gort__pd_retry(pd, MODE_W);
        if (r)
            break;
    }
    gort_mutex_unlock(&pd->wmu);
    pd_decref(pd);
    return r;
}

static int fd_close(int fd) {
    polldesc *pd = gort__pd_lookup(fd, false);
    if (pd == NULL || atomic_load_explicit(&pd->state, memory_order_acquire) == PDS_FREE)
        return close(fd) == 0 ? 0 : -errno;
    /* Race mode: this call -> the calls that return -EBADF for it
     * (netpoll.h, before pd_checkerr); before they can see the mark. */
    san_release(&pd->rd);
    san_release(&pd->wd);
    uint32_t r = atomic_fetch_or_explicit(&pd->refs, FDREF_CLOSED, memory_order_acq_rel);
    if (r & FDREF_CLOSED)
        return -EBADF; /* another gort_close got here first */
    gort__pd_unblock(pd);
    /* Wait for the calls in progress to leave (Go: runtime_Semacquire(
     * &fd.csema) in fd.Close).  Acquire (the semaphore) pairs with their
     * release decrements. */
    if ((r & ~FDREF_CLOSED) != 0)
        gort__semacquire(&pd->csema, false, WAIT_SEMACQUIRE);
    gort__pd_close(pd);
    /* Only now may the number be reused. */
    return close(fd) == 0 || errno == EINTR ? 0 : -errno;
}

static int fd_set_deadline(int fd, int64_t read_deadline, int64_t write_deadline) {
    polldesc *pd;
    int err = gort__pd_acquire(fd, true, &pd);
    if (err)
        return err;
    /* A new file behind a reused number: forget the old one's first, not
     * this deadline at the next wait. */
    gort__pd_recheck(pd);
    /* A regular file or a directory (which epoll refuses, so the fd is
     * PDS_PLAIN; outside gort_main every fd is, and a pipe's deadlines
     * still hold there): its reads never wait, and a deadline would only
     * fail them.  Go's SetDeadline returns os.ErrNoDeadline for it. */
    struct stat st;
    if (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN &&
        fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        pd_decref(pd);
        return -ENOTSUP;
    }
    gort__pd_setdeadline(pd, MODE_R, read_deadline);
    gort__pd_setdeadline(pd, MODE_W, write_deadline);
    pd_decref(pd);
    return 0;
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
    /* seq_cst: before gort__pd_wake's accesses to the semaphores, which the
     * waiter's re-check after announcing its wait pairs with. */
    atomic_store_explicit(&w->expired, true, memory_order_seq_cst);
    gort__pd_wake(w->pd, w->modes);
}

static int fd_wait_fd(int fd, int events, int64_t deadline) {
    int modes = events & (GORT_POLL_READ | GORT_POLL_WRITE); /* same bits as MODE_* */
    if (modes == 0)
        return -EINVAL;
    polldesc *pd;
    int err = gort__pd_acquire(fd, false, &pd);
    if (err)
        return err;
    short pev = (short)(((modes & MODE_R) ? POLLIN : 0) | ((modes & MODE_W) ? POLLOUT : 0));
    if (!gort__runtime_running() ||
        (atomic_load_explicit(&pd->state, memory_order_relaxed) == PDS_PLAIN &&
         !gort__pd_promote(pd))) {
        err = atomic_load_explicit(&pd->closing, memory_order_relaxed)
                  ? -EBADF
                  : poll_thread(fd, pev, deadline);
        pd_decref(pd);
        return err;
    }
    if (modes & MODE_R) {
        gort__mutex_lock_sema(&pd->rmu, true);
        /* We may consume READY without reading: the drained hint is off. */
        pd->rdrained = false;
    }
    if (modes & MODE_W)
        gort__mutex_lock_sema(&pd->wmu, true);
    struct g *gp = gort__getg_or_foreign();
    waitfd w = {.pd = pd, .modes = modes};
    timer t = {.idx = -1, .f = waitfd_expire, .arg = &w, .track = true};
    bool armed = false;
    gort__pd_recheck(pd);
    for (;;) {
        /* Closed, or a deadline of the fd's own (gort_set_deadline). */
        err = pd_checkerr(pd, (modes & MODE_R) ? MODE_R : MODE_W);
        if (!err && modes == (MODE_R | MODE_W))
            err = pd_checkerr(pd, MODE_W);
        if (err)
            break;
        if (atomic_load_explicit(&w.expired, memory_order_seq_cst) ||
            (deadline != 0 && deadline <= gort__now())) {
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
        /* gort_main returned while a thread outside the runtime waited
         * (the poller woke it, gort__netpoll_fini): on in poll(2). */
        if (!gort__runtime_running()) {
            err = poll_thread(fd, pev, deadline);
            break;
        }
        if (deadline != 0 && !armed) {
            armed = true;
            /* On the caller's clock: a synctest bubble's heap inside one. */
            gort__addtimer_to(&t, deadline, gort__synctest_timers());
        }
        if (modes != (MODE_R | MODE_W)) {
            (void)gort__netpollblock(pd, modes, armed ? &t : NULL);
            continue; /* re-check: closed, expired, or ready */
        }
        /* Both sides: announce on each, then park once. */
        gort__netpollblock_both(pd, gp, &w.expired, armed ? &t : NULL);
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

/* ------------------------------------------------------------------ entry points */

/* Each call is counted while it runs on a thread outside the runtime
 * (gort__pd_enter, netpoll.h): the pollDescs it uses outlive gort_main's
 * return until it is done. */

GORT_API ssize_t gort_read(int fd, void *buf, size_t n) {
    bool counted = gort__pd_enter();
    ssize_t r = fd_read(fd, buf, n);
    gort__pd_leave(counted);
    return r;
}

GORT_API ssize_t gort_write(int fd, const void *buf, size_t n) {
    bool counted = gort__pd_enter();
    ssize_t r = fd_write(fd, buf, n);
    gort__pd_leave(counted);
    return r;
}

GORT_API int gort_close(int fd) {
    bool counted = gort__pd_enter();
    int r = fd_close(fd);
    gort__pd_leave(counted);
    return r;
}

GORT_API int gort_set_deadline(int fd, int64_t read_deadline, int64_t write_deadline) {
    bool counted = gort__pd_enter();
    int r = fd_set_deadline(fd, read_deadline, write_deadline);
    gort__pd_leave(counted);
    return r;
}

GORT_API int gort_wait_fd(int fd, int events, int64_t deadline) {
    bool counted = gort__pd_enter();
    int r = fd_wait_fd(fd, events, deadline);
    gort__pd_leave(counted);
    return r;
}
