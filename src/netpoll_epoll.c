/*
 * netpoll_epoll.c - the poller backend on Linux.  Mirrors
 * runtime/netpoll_epoll.go; implements the contract at the end of
 * netpoll.h (init, fini, open, close, break, wait).
 *
 * One epoll instance, edge-triggered for the fds, and an eventfd
 * (level-triggered) to break a blocking wait.  An event carries the tag
 * its fd was registered with (netpoll.c: fd number and pollDesc
 * generation); the eventfd's is EVFD_TAG, which no fd's tag equals.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "netpoll.h"

/* Written by gort__netpollinit and gort__netpollfini only, while no M
 * runs: every other access is a plain read. */
static int epfd = -1;
static int evfd = -1;
/* epoll_pwait2 (Linux 5.11) returned ENOSYS once, or Valgrind runs us (it
 * does not know the call, and says so on stderr): use epoll_wait. */
static _Atomic int pwait2_missing;

#define EVFD_TAG UINT64_MAX
/* Events harvested per wait (Go's netpoll reads 128 too). */
#define NEVENTS 128

int gort__netpollinit(void) {
    int err;
#ifdef GORT_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        atomic_store_explicit(&pwait2_missing, 1, memory_order_relaxed);
#endif
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        err = -errno;
        goto error1;
    }
    evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (evfd < 0) {
        err = -errno;
        goto error2;
    }
    /* Level-triggered: a non-blocking poll that sees the break leaves it
     * for the blocking poller, which alone drains it (netpoll_epoll.go). */
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EVFD_TAG};
    if (gort__epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) != 0) {
        err = -errno;
        goto error3;
    }
    return 0;

error3:
    close(evfd);
    evfd = -1;
error2:
    close(epfd);
    epfd = -1;
error1:
    return err;
}

void gort__netpollfini(void) {
    if (epfd >= 0)
        close(epfd);
    if (evfd >= 0)
        close(evfd);
    epfd = evfd = -1;
}

int gort__netpollopen(int fd, uint64_t tag, int flags) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET |
                                       ((flags & NETPOLL_URGENT) ? EPOLLPRI : 0),
                             .data.u64 = tag};
    if (flags & NETPOLL_REARM) {
        if (gort__epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
            return 0;
        if (errno != ENOENT)
            return -errno;
        /* Unknown to epoll, which drops a file's registration when it is
         * closed: the number names another file now. */
        return gort__epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 1 : -errno;
    }
    if (gort__epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return 0;
    /* Registered by an earlier generation whose fd was closed with close(2)
     * while a dup kept the file open: take it over. */
    if (errno == EEXIST && gort__epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    return -errno;
}

int gort__netpollclose(int fd) {
    return gort__epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

void gort__netpoll_break(void) {
    uint64_t one = 1;
    ssize_t r;
    do
        r = write(evfd, &one, sizeof one);
    while (r < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, a break is pending anyway. */
}

struct g *gort__netpollwait(int64_t delay, bool *broke) {
    if (epfd < 0)
        return NULL;
    struct epoll_event evs[NEVENTS];
    int n;
    if (delay <= 0) {
        n = epoll_wait(epfd, evs, NEVENTS, delay < 0 ? -1 : 0);
    } else {
        n = -1;
        errno = ENOSYS;
        if (!atomic_load_explicit(&pwait2_missing, memory_order_relaxed)) {
            /* Nanosecond timeouts (Linux 5.11): timers would otherwise be
             * late by up to a millisecond. */
            struct timespec ts = {(time_t)(delay / 1000000000), (long)(delay % 1000000000)};
            n = epoll_pwait2(epfd, evs, NEVENTS, &ts, NULL);
            if (n < 0 && errno == ENOSYS)
                atomic_store_explicit(&pwait2_missing, 1, memory_order_relaxed);
        }
        if (n < 0 && errno == ENOSYS) {
            int64_t ms = (delay + 999999) / 1000000;
            n = epoll_wait(epfd, evs, NEVENTS, ms > 1000000000 ? 1000000000 : (int)ms);
        }
    }
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
        int modes = 0;
        if (ev->events & (EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            modes |= MODE_NOHINT;
        if (ev->events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            modes |= MODE_R;
        if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            modes |= MODE_W;
        gort__netpollready(&tail, ev->data.u64, modes);
    }
    return list;
}
