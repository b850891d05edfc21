/*
 * net.c - TCP listen, accept and dial over the fd layer (fd.c).  Mirrors
 * the parts of Go's net package (ipsock.go, dial.go, tcpsock_posix.go)
 * that a C API needs; addresses are split by addr.c, and a port given as
 * a service name is looked up by port.c.
 *
 * Sockets gort makes are non-blocking and close-on-exec, registered with
 * the poller at once (gort__pd_open); accepted and dialled connections get
 * TCP_NODELAY, as in Go, and the drained hint (see fd.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netpoll.h"

/* A numeric host (or "" for the wildcard/loopback) -> sockaddr; 1 if host
 * is numeric, 0 if it is a name. */
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

static void set_nodelay(int fd) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Splits addr into host (hostlen bytes) and *port (a service name looked
 * up for TCP), and fills *ss and *len if the host is numeric: 1 then, 0
 * for a name to resolve, or gort__parse_hostport's -errno (-EINVAL if
 * addr is malformed, -ENOENT for an unknown service). */
static int parse_addr(const char *addr, bool listen, char *host, size_t hostlen, int *port,
                      struct sockaddr_storage *ss, socklen_t *len) {
    int err = gort__parse_hostport(addr, SOCK_STREAM, host, hostlen, port);
    if (err)
        return err;
    *len = 0;
    return numeric_addr(host, *port, listen, ss, len);
}

static int net_listen(const char *addr, int backlog) {
    char host[256];
    int port;
    struct sockaddr_storage ss;
    socklen_t len;
    struct addrinfo *res = NULL;
    if (addr != NULL && addr[0] == '\0')
        addr = ":0"; /* Go's net.Listen("tcp", ""): every address, any port */
    int num = parse_addr(addr, true, host, sizeof host, &port, &ss, &len);
    if (num < 0)
        return num;
    if (num == 0) {
        int err = gort__getaddrinfo(host, port, AF_UNSPEC, SOCK_STREAM, true, &res);
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
        if (gort__pd_open(fd, false, true, false, &err) == NULL) {
            close(fd);
            return err;
        }
        return fd;
    }
}

GORT_API int gort_local_port(int fd) {
    gort__preempt_check(gort__getg()); /* as gort__pd_enter */
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

static int net_accept(int lfd, struct sockaddr *sa, socklen_t *salen) {
    polldesc *pd;
    int err = gort__pd_acquire(lfd, true, &pd);
    if (err)
        return err;
    gort__mutex_lock_sema(&pd->rmu, true);
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
        fd = gort__pd_retry(pd, MODE_R);
        if (fd)
            break;
    }
    gort_mutex_unlock(&pd->rmu);
    pd_decref(pd);
    if (fd < 0)
        return fd;
    set_nodelay(fd);
    if (gort__pd_open(fd, false, true, true, &err) == NULL) {
        close(fd);
        return err;
    }
    return fd;
}

/* One connect attempt; the fd or -errno. */
static int dial_one(const struct sockaddr *sa, socklen_t len, int64_t deadline) {
    if (deadline != 0 && deadline <= gort__now())
        return -ETIMEDOUT;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int err = 0;
    polldesc *pd = gort__pd_open(fd, false, true, true, &err);
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
        if (deadline != 0)
            gort__pd_setdeadline(pd, MODE_W, deadline);
        for (;;) {
            if (!pd_incref(pd)) {
                err = -EBADF;
                break;
            }
            err = gort__pd_block(pd, MODE_W);
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
        if (deadline != 0)
            gort__pd_setdeadline(pd, MODE_W, 0);
    }
    set_nodelay(fd);
    return fd;
}

bool gort__self_connected(int fd) {
    struct sockaddr_storage l, r;
    socklen_t ll = sizeof l, rl = sizeof r;
    if (getsockname(fd, (struct sockaddr *)&l, &ll) != 0 ||
        getpeername(fd, (struct sockaddr *)&r, &rl) != 0 || l.ss_family != r.ss_family)
        return false;
    if (l.ss_family == AF_INET) {
        struct sockaddr_in *l4 = (struct sockaddr_in *)&l, *r4 = (struct sockaddr_in *)&r;
        return l4->sin_port == r4->sin_port && l4->sin_addr.s_addr == r4->sin_addr.s_addr;
    }
    if (l.ss_family == AF_INET6) {
        struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&l, *r6 = (struct sockaddr_in6 *)&r;
        return l6->sin6_port == r6->sin6_port &&
               memcmp(&l6->sin6_addr, &r6->sin6_addr, sizeof l6->sin6_addr) == 0;
    }
    return false;
}

/*
 * dial_one, but never connected to itself.  A dial of a loopback port
 * nobody listens on connects the socket to itself when the kernel picks
 * that very port as the local one (TCP's simultaneous open): the caller
 * would read back what it writes, where a refusal was due.  Go closes such
 * a connection and dials again, twice at most, then keeps what it gets
 * (tcpsock_posix.go, doDialTCP); so do we.
 */
static int dial_tcp(const struct sockaddr *sa, socklen_t len, int64_t deadline) {
    for (int i = 0;; i++) {
        int fd = dial_one(sa, len, deadline);
        if (fd < 0 || i == 2 || !gort__self_connected(fd))
            return fd;
        gort_close(fd);
    }
}

static int net_dial(const char *addr, int64_t deadline) {
    char host[256];
    int port;
    struct sockaddr_storage ss;
    socklen_t len;
    int num = parse_addr(addr, false, host, sizeof host, &port, &ss, &len);
    if (num < 0)
        return num;
    if (num == 1)
        return dial_tcp((struct sockaddr *)&ss, len, deadline);
    struct addrinfo *res = NULL;
    int err = gort__getaddrinfo(host, port, AF_UNSPEC, SOCK_STREAM, false, &res);
    if (err)
        return err;
    err = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        err = dial_tcp(ai->ai_addr, ai->ai_addrlen, deadline);
        if (err >= 0 || err == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    return err;
}

/* ------------------------------------------------------------------ entry points */

/* Each call is counted while it runs on a thread outside the runtime
 * (gort__pd_enter, netpoll.h): the pollDescs it uses outlive gort_main's
 * return until it is done. */

GORT_API int gort_listen(const char *addr, int backlog) {
    bool counted = gort__pd_enter();
    int r = net_listen(addr, backlog);
    gort__pd_leave(counted);
    return r;
}

GORT_API int gort_accept(int lfd, struct sockaddr *sa, socklen_t *salen) {
    bool counted = gort__pd_enter();
    int r = net_accept(lfd, sa, salen);
    gort__pd_leave(counted);
    return r;
}

GORT_API int gort_dial(const char *addr, int64_t deadline) {
    bool counted = gort__pd_enter();
    int r = net_dial(addr, deadline);
    gort__pd_leave(counted);
    return r;
}
