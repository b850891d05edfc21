/*
 * conn.c - connection handles (gort_conn): Go's net.Conn, net.Listener and
 * net.PacketConn over the fd API (gort_read, gort_write, gort_wait_fd,
 * gort_set_deadline, gort_close), with TCP, UDP and Unix-domain sockets,
 * pipes and adopted fds.  Mirrors the parts of net (dial.go, sock_posix.go,
 * fd_unix.go, udpsock_posix.go, unixsock_posix.go) and os (pipe2_unix.go)
 * that a C API needs.
 *
 * Why handles.  A C fd is a bare number: once one goroutine closes a
 * connection, the kernel hands the same number to the next socket, and a
 * goroutine still holding the old number writes into the new connection.
 * Go cannot be confused that way (a *netFD is an object, closed for good).
 * Here a connection is a slot, found by fd number in a two-level table of
 * chunks that are never freed (type-stable, like the pollDescs), whose
 * word counts generations: a handle is (generation, fd), and every call
 * first takes a reference on the slot, which fails unless the slot is open
 * in the handle's generation.  The rejected alternative, a malloc'd object
 * per connection, turns a stale handle into a use after free.
 *
 * The slot word (Go's fdMutex, reduced): gen << 32 | CW_CLOSED | refs.
 *   - A call takes a reference with a CAS that checks gen and CW_CLOSED
 *     (conn_get), and drops it with a decrement (conn_put).
 *   - gort_conn_close sets CW_CLOSED (no new references), expires both
 *     deadlines of the fd (every call blocked in the poller wakes with
 *     -ETIMEDOUT, which it reports as -EBADF once it sees CW_CLOSED), waits
 *     on csema until the last reference has gone, and only then calls
 *     gort_close, whose close(2) frees the number: no call of the old
 *     connection can touch a new one.
 *   - A slot is opened for a new connection (conn_open) only after the
 *     kernel handed its number out again, so after the old close(2): the
 *     slot is then closed with no references; conn_open fills the fields
 *     and publishes the next generation with a release CAS.
 * Memory order: conn_get's acquire CAS pairs with conn_open's release CAS
 * (the fields are visible to every holder of a reference); the closer and
 * each conn_put write the word with release, and conn_open's acquire load
 * reads from them (directly or through the release sequence of the RMWs),
 * so every use of the fields by the old connection happens before the new
 * connection's writes.  A close between a reference holder's last gort
 * call and its next is harmless: that next call fails the reference or
 * finds the deadlines expired.
 *
 * Deadlines are the fd's (gort_set_deadline), also kept in the slot so
 * that read_from/write_to and accept can check them before the syscall,
 * as Go's prepareRead/prepareWrite do.  dmu orders set_deadline against
 * close: a set_deadline that took its reference before the close began
 * cannot undo the close's expiry.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "fault.h"
#include "internal.h"
#include "san.h"

#define CW_CLOSED (UINT64_C(1) << 31)
#define CW_REFS UINT64_C(0x7fffffff)

enum {
    CK_CONN = 0, /* connected socket, pipe end, adopted fd */
    CK_TCPL,     /* listener from gort_listen: accepted with gort_accept */
    CK_LISTEN,   /* listener of our own (unix, tcp4, tcp6): accept4 + gort_wait_fd */
    CK_PACKET,   /* unconnected datagram socket (ListenPacket) */
};

/* One connection (or listener) per fd number.  Chunks live until the
 * process exits (type-stable): a stale handle always finds some slot. */
typedef struct cslot {
    _Atomic uint64_t word;  /* [atomic] gen << 32 | CW_CLOSED | refs */
    _Atomic uint32_t csema; /* close sleeps here for the references to go */
    gort_mutex dmu;         /* deadlines against close */
    /* Written by conn_open (no reference exists), read under a reference: */
    uint8_t kind;           /* CK_* */
    bool unlink;            /* a Unix socket file this listener made: removed at close */
    gort_addr la;           /* LocalAddr */
    gort_addr ra;           /* RemoteAddr */
    _Atomic int64_t rd, wd; /* [atomic; write under dmu] the fd's deadlines, 0 none */
} cslot;

#define CS_CHUNK 1024
#define CS_MAXCHUNKS 4096 /* fds below 4M, as the pollDescs */

static _Atomic(cslot *) cstab[CS_MAXCHUNKS];

/* The slot of fd (NULL: out of range, or none and !create, or no memory). */
static cslot *slot_lookup(int fd, bool create) {
    if (fd < 0 || (unsigned)fd / CS_CHUNK >= CS_MAXCHUNKS)
        return NULL;
    _Atomic(cslot *) *p = &cstab[fd / CS_CHUNK];
    /* Acquire: pairs with the release CAS that published the chunk. */
    cslot *c = atomic_load_explicit(p, memory_order_acquire);
    if (c == NULL) {
        if (!create)
            return NULL;
        cslot *n = calloc(CS_CHUNK, sizeof *n);
        if (n == NULL)
            return NULL;
        cslot *exp = NULL;
        if (atomic_compare_exchange_strong_explicit(p, &exp, n, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            c = n;
        } else {
            gort__free(n);
            c = exp;
        }
    }
    return &c[fd % CS_CHUNK];
}

static inline int handle_fd(gort_conn c) {
    return (int)(uint32_t)c._id;
}

/* Takes a reference on c's slot: NULL if c is not open (stale, closed,
 * closing, or never valid). */
static cslot *conn_get(gort_conn c) {
    /* The gort_conn calls are preemption points, as the fd calls
     * (gort__pd_enter). */
    gort__preempt_check(gort__getg());
    uint32_t gen = (uint32_t)(c._id >> 32);
    if (gen == 0)
        return NULL;
    cslot *s = slot_lookup(handle_fd(c), false);
    if (s == NULL)
        return NULL;
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    do {
        if ((uint32_t)(w >> 32) != gen || (w & CW_CLOSED))
            return NULL;
        if ((w & CW_REFS) == CW_REFS)
            gort__throw("runtime: too many calls in progress on one connection");
        /* Acquire: pairs with conn_open's release (the fields). */
    } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w + 1, memory_order_acquire,
                                                    memory_order_relaxed));
    /* The goroutine notes the reference its call holds (the outermost, if
     * a call gets another: accept closing a conn it failed to set up),
     * for gort__conn_abandon. */
    struct g *gp = gort__getg();
    if (gp != NULL && !gp->foreign && gp->connref == NULL)
        gp->connref = s;
    return s;
}

/* The reference noted by conn_get is dropped (conn_put, or the closer's). */
static inline void conn_unnote(cslot *s) {
    struct g *gp = gort__getg();
    if (gp != NULL && gp->connref == s)
        gp->connref = NULL;
}

static void conn_drop(cslot *s) {
    /* Release: our use of the fd and the fields happens before the
     * closer's close(2) and the next conn_open. */
    uint64_t w = atomic_fetch_sub_explicit(&s->word, 1, memory_order_release) - 1;
    if ((w & (CW_CLOSED | CW_REFS)) == CW_CLOSED)
        gort__semrelease(&s->csema, false); /* the last one out wakes the closer */
}

static void conn_put(cslot *s) {
    conn_unnote(s);
    conn_drop(s);
}

void gort__conn_abandon(struct g *gp) {
    cslot *s = gp->connref;
    gp->connref = NULL;
    if (s != NULL)
        conn_drop(s);
}

static inline bool conn_closed(cslot *s) {
    return (atomic_load_explicit(&s->word, memory_order_relaxed) & CW_CLOSED) != 0;
}

/* A call's error, -EBADF once the connection is being closed (the close
 * expired the deadlines to wake it: Go's ErrNetClosing). */
static inline ssize_t conn_err(cslot *s, ssize_t r) {
    return r < 0 && conn_closed(s) ? -EBADF : r;
}

/* Opens fd's slot for a new connection; *c gets the handle.  la/ra may be
 * NULL (then read from the socket).  -EEXIST if the slot is open (adopting
 * a live connection's fd); -ENOMEM. */
static int conn_open(int fd, int kind, bool unlink, const gort_addr *la, const gort_addr *ra,
                     gort_conn *c) {
    cslot *s = slot_lookup(fd, true);
    if (s == NULL)
        return -ENOMEM;
    /* Acquire: reads from the old connection's closer or last conn_put. */
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    if ((uint32_t)(w >> 32) != 0 && !(w & CW_CLOSED))
        return -EEXIST;
    s->kind = (uint8_t)kind;
    s->unlink = unlink;
    /* The slot is the runtime's, ordered by its word: TSan is not to check
     * the calls it intercepts here (getsockname's write) as the user's. */
    san_ignore_begin();
    memset(&s->la, 0, sizeof s->la);
    memset(&s->ra, 0, sizeof s->ra);
    if (la) {
        s->la = *la;
    } else {
        s->la.len = sizeof s->la.sa;
        if (getsockname(fd, (struct sockaddr *)&s->la.sa, &s->la.len) != 0)
            s->la.len = 0;
    }
    if (ra) {
        s->ra = *ra;
    } else if (kind == CK_CONN) {
        s->ra.len = sizeof s->ra.sa;
        if (getpeername(fd, (struct sockaddr *)&s->ra.sa, &s->ra.len) != 0)
            s->ra.len = 0;
    }
    san_ignore_end();
    atomic_store_explicit(&s->rd, 0, memory_order_relaxed);
    atomic_store_explicit(&s->wd, 0, memory_order_relaxed);
    /* Register fd with the poller now (a no-op for the fd API's sockets):
     * the deadlines a close sets must not be the fd's first use, which
     * would make it nonblocking again after the program handed it to a
     * child in blocking mode (gort_process_spawn). */
    int err = gort_set_deadline(fd, 0, 0);
    if (err)
        return err;
    uint32_t gen;
    do {
        gen = (uint32_t)(w >> 32) + 1;
        if (gen == 0)
            gen = 1; /* 0 marks the invalid handle */
        /* Release: the fields above are visible to conn_get's acquire. */
    } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, (uint64_t)gen << 32,
                                                    memory_order_release, memory_order_acquire));
    c->_id = (uint64_t)gen << 32 | (uint32_t)fd;
    return 0;
}

/* ------------------------------------------------------------------ making sockets */

/* Closes an fd not (yet) in a slot; gort_close unregisters it from the
 * poller if a gort call registered it. */
static void close_raw(int fd) {
    int e = errno;
    (void)gort_close(fd);
    errno = e;
}

static void set_nodelay(int fd, const gort__net *net) {
    int one = 1;
    if (net->socktype == SOCK_STREAM && net->family != AF_UNIX)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* One connect attempt to a: the fd, or -errno. */
static int dial_one(const gort__net *net, const gort_addr *a, int64_t deadline) {
    if (deadline != 0 && deadline <= gort__now())
        return -ETIMEDOUT;
    int fd = socket(a->sa.ss_family, net->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r;
    do
        r = connect(fd, (const struct sockaddr *)&a->sa, a->len);
    while (r != 0 && errno == EINTR);
    if (r != 0 && errno != EINPROGRESS) {
        int e = -errno;
        close_raw(fd);
        return e;
    }
    /* Go's connect (fd_unix.go): wait until writable, then read SO_ERROR. */
    while (r != 0) {
        int err = gort_wait_fd(fd, GORT_POLL_WRITE, deadline);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (err == 0 && soerr == 0)
            break;
        if (err == 0 && (soerr == EINPROGRESS || soerr == EALREADY || soerr == EINTR))
            continue;
        close_raw(fd);
        return err ? err : -soerr;
    }
    set_nodelay(fd, net);
    return fd;
}

/* dial_one, but a TCP socket never connected to itself: closed and dialled
 * again, twice at most, as Go does (net.c, dial_tcp). */
static int dial_tcp(const gort__net *net, const gort_addr *a, int64_t deadline) {
    for (int i = 0;; i++) {
        int fd = dial_one(net, a, deadline);
        if (fd < 0 || net->socktype != SOCK_STREAM || i == 2 || !gort__self_connected(fd))
            return fd;
        close_raw(fd);
    }
}

GORT_API int gort_conn_dial(gort_conn *c, const char *network, const char *addr, int64_t deadline) {
    gort__net net;
    int err = gort__net_parse(network, &net);
    if (err)
        return err;
    int fd;
    if (net.family == AF_UNSPEC && net.socktype == SOCK_STREAM) {
        fd = gort_dial(addr, deadline); /* the fd API's TCP path */
    } else {
        gort_addr as[8];
        int n = gort__net_resolve(&net, addr, false, as, 8);
        if (n < 0)
            return n;
        fd = -ECONNREFUSED;
        for (int i = 0; i < n; i++) {
            fd = dial_tcp(&net, &as[i], deadline);
            if (fd >= 0 || fd == -ETIMEDOUT)
                break;
        }
    }
    if (fd < 0)
        return fd;
    err = conn_open(fd, CK_CONN, false, NULL, NULL, c);
    if (err)
        close_raw(fd);
    return err;
}

GORT_API int gort_conn_listen(gort_conn *c, const char *network, const char *addr) {
    gort__net net;
    int err = gort__net_parse(network, &net);
    if (err)
        return err;
    if (net.family == AF_UNSPEC && net.socktype == SOCK_STREAM) {
        int fd = gort_listen(addr, 0); /* the fd API's TCP path */
        if (fd < 0)
            return fd;
        err = conn_open(fd, CK_TCPL, false, NULL, NULL, c);
        if (err)
            close_raw(fd);
        return err;
    }
    gort_addr a;
    int n = gort__net_resolve(&net, addr, true, &a, 1);
    if (n < 0)
        return n;
    bool dual = net.family == AF_UNSPEC && a.sa.ss_family == AF_INET6 &&
                IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&a.sa)->sin6_addr);
    int fd;
    for (;;) {
        fd = socket(a.sa.ss_family, net.socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0 || !dual || errno != EAFNOSUPPORT)
            break;
        /* No IPv6 here: the wildcard is 0.0.0.0. */
        int port = ntohs(((struct sockaddr_in6 *)&a.sa)->sin6_port);
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a.sa;
        memset(&a, 0, sizeof a);
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        a.len = sizeof *s4;
        dual = false;
    }
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0;
    if (net.socktype == SOCK_STREAM && net.family != AF_UNIX)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (dual)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&a.sa, a.len) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    bool unlink_file = net.family == AF_UNIX && addr[0] != '@';
    if (net.socktype == SOCK_STREAM && listen(fd, SOMAXCONN) != 0) {
        err = -errno;
        if (unlink_file)
            unlink(addr);
        close(fd);
        return err;
    }
    int kind = net.socktype == SOCK_STREAM ? CK_LISTEN : CK_PACKET;
    err = conn_open(fd, kind, unlink_file, NULL, NULL, c);
    if (err) {
        if (unlink_file)
            unlink(addr);
        close(fd);
    }
    return err;
}

/* Go's prepareRead/prepareWrite: -ETIMEDOUT once the deadline has passed. */
static inline int deadline_passed(_Atomic int64_t *d) {
    int64_t v = atomic_load_explicit(d, memory_order_relaxed);
    return v != 0 && v <= gort__now() ? -ETIMEDOUT : 0; /* the caller's clock */
}

/* Go's fd.Read loop, for the calls the fd API has no wrapper of (accept4,
 * recvfrom, sendto): op(fd, arg) until it does not fail with EAGAIN,
 * parking in the poller for mode (GORT_POLL_READ or GORT_POLL_WRITE) in
 * between.  op returns >= 0 or -errno (-EINTR: call again).  -ETIMEDOUT
 * once the connection's deadline for mode has passed. */
static ssize_t conn_io(cslot *s, int fd, int mode, ssize_t (*op)(int fd, void *arg), void *arg) {
    _Atomic int64_t *deadline = mode == GORT_POLL_READ ? &s->rd : &s->wd;
    for (;;) {
        ssize_t r = deadline_passed(deadline);
        if (r)
            return r;
        r = op(fd, arg);
        if (r == -EINTR)
            continue;
        if (r != -EAGAIN)
            return r;
        r = gort_wait_fd(fd, mode, 0); /* also the fd's own deadline */
        if (r)
            return r;
    }
}

/* accept4 for conn_io: arg is the peer's gort_addr.  A connection aborted
 * before we took it is skipped (Go's accept does the same). */
static ssize_t accept_op(int lfd, void *arg) {
    gort_addr *ra = arg;
    ra->len = sizeof ra->sa;
    int fd = accept4(lfd, (struct sockaddr *)&ra->sa, &ra->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        return fd;
    return errno == ECONNABORTED ? -EINTR : -errno;
}

GORT_API int gort_conn_accept(gort_conn l, gort_conn *c) {
    cslot *s = conn_get(l);
    if (s == NULL)
        return -EBADF;
    int lfd = handle_fd(l);
    gort_addr ra;
    memset(&ra, 0, sizeof ra);
    ra.len = sizeof ra.sa;
    int fd = -EINVAL;
    if (s->kind == CK_TCPL) {
        fd = gort_accept(lfd, (struct sockaddr *)&ra.sa, &ra.len);
    } else if (s->kind == CK_LISTEN) {
        fd = (int)conn_io(s, lfd, GORT_POLL_READ, accept_op, &ra);
        if (fd >= 0 && s->la.sa.ss_family != AF_UNIX) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
    }
    if (fd >= 0) {
        int err = conn_open(fd, CK_CONN, false, NULL, &ra, c);
        if (err) {
            close_raw(fd);
            fd = err;
        }
    }
    fd = (int)conn_err(s, fd);
    conn_put(s);
    return fd < 0 ? fd : 0;
}

GORT_API int gort_conn_adopt(gort_conn *c, int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -errno;
    return conn_open(fd, CK_CONN, false, NULL, NULL, c);
}

GORT_API int gort_conn_pipe(gort_conn *r, gort_conn *w) {
    gort__preempt_check(gort__getg()); /* as conn_get */
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
        return -errno;
    int err = conn_open(p[0], CK_CONN, false, NULL, NULL, r);
    if (err == 0) {
        err = conn_open(p[1], CK_CONN, false, NULL, NULL, w);
        if (err)
            (void)gort_conn_close(*r);
        else
            return 0;
    } else {
        close(p[0]);
    }
    close(p[1]);
    return err;
}

/* ------------------------------------------------------------------ I/O */

GORT_API ssize_t gort_conn_read(gort_conn c, void *buf, size_t n) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    ssize_t r = conn_err(s, gort_read(handle_fd(c), buf, n));
    conn_put(s);
    return r;
}

GORT_API ssize_t gort_conn_write(gort_conn c, const void *buf, size_t n) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    ssize_t r = conn_err(s, gort_write(handle_fd(c), buf, n));
    conn_put(s);
    return r;
}

/* recvfrom for conn_io. */
struct recvfrom_args {
    void *buf;
    size_t n;
    gort_addr a; /* the sender */
};

static ssize_t recvfrom_op(int fd, void *arg) {
    struct recvfrom_args *x = arg;
    x->a.len = sizeof x->a.sa;
    ssize_t r = recvfrom(fd, x->buf, x->n, MSG_DONTWAIT, (struct sockaddr *)&x->a.sa, &x->a.len);
    return r >= 0 ? r : -errno;
}

GORT_API ssize_t gort_conn_read_from(gort_conn c, void *buf, size_t n, gort_addr *from) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    struct recvfrom_args x = {.buf = buf, .n = n};
    ssize_t r = conn_io(s, handle_fd(c), GORT_POLL_READ, recvfrom_op, &x);
    if (r >= 0 && from) {
        if (x.a.len > sizeof x.a.sa)
            x.a.len = sizeof x.a.sa;
        *from = x.a;
    }
    r = conn_err(s, r);
    conn_put(s);
    return r;
}

/* sendto for conn_io. */
struct sendto_args {
    const void *buf;
    size_t n;
    const gort_addr *to;
};

static ssize_t sendto_op(int fd, void *arg) {
    const struct sendto_args *x = arg;
    ssize_t r = sendto(fd, x->buf, x->n, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&x->to->sa, x->to->len);
    return r >= 0 ? r : -errno;
}

GORT_API ssize_t gort_conn_write_to(gort_conn c, const void *buf, size_t n, const gort_addr *to) {
    if (to == NULL || to->len == 0)
        return -EINVAL;
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    struct sendto_args x = {.buf = buf, .n = n, .to = to};
    ssize_t r = conn_io(s, handle_fd(c), GORT_POLL_WRITE, sendto_op, &x);
    r = conn_err(s, r);
    conn_put(s);
    return r;
}

GORT_API int gort_conn_set_deadline(gort_conn c, int64_t read_deadline, int64_t write_deadline) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    gort_mutex_lock(&s->dmu);
    int err = -EBADF;
    if (!conn_closed(s)) {
        atomic_store_explicit(&s->rd, read_deadline, memory_order_relaxed);
        atomic_store_explicit(&s->wd, write_deadline, memory_order_relaxed);
        err = gort_set_deadline(handle_fd(c), read_deadline, write_deadline);
    }
    gort_mutex_unlock(&s->dmu);
    conn_put(s);
    return err;
}

GORT_API int gort_conn_close(gort_conn c) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    int fd = handle_fd(c);
    /* Read what the close needs while our reference keeps the fields. */
    bool unlink_file = s->unlink;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1] = "";
    if (unlink_file)
        memcpy(path, ((struct sockaddr_un *)&s->la.sa)->sun_path, sizeof path - 1);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    do {
        if (w & CW_CLOSED) {
            conn_put(s);
            return -EBADF; /* another close got here first */
        }
        /* acq_rel: no new reference after this; orders our reads above. */
    } while (!atomic_compare_exchange_weak_explicit(&s->word, &w, w | CW_CLOSED,
                                                    memory_order_acq_rel, memory_order_relaxed));
    /* Wake every call blocked in the poller: the deadlines expire at once
     * (1 is in the past).  Under dmu, a set_deadline in progress either
     * ran before (overridden) or sees CW_CLOSED and does nothing. */
    gort_mutex_lock(&s->dmu);
    atomic_store_explicit(&s->rd, 1, memory_order_relaxed);
    atomic_store_explicit(&s->wd, 1, memory_order_relaxed);
    (void)gort_set_deadline(fd, 1, 1);
    gort_mutex_unlock(&s->dmu);
    /* Drop our reference; wait for the others.  Release: as conn_put;
     * acquire (through csema when we wait): their uses happen before the
     * close(2) below. */
    conn_unnote(s);
    uint64_t left = atomic_fetch_sub_explicit(&s->word, 1, memory_order_acq_rel) - 1;
    if ((left & CW_REFS) != 0)
        gort__semacquire(&s->csema, false, WAIT_SEMACQUIRE);
    if (unlink_file)
        (void)unlink(path);
    return gort_close(fd);
}

GORT_API int gort_conn_close_write(gort_conn c) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    int err = shutdown(handle_fd(c), SHUT_WR) == 0 ? 0 : -errno;
    conn_put(s);
    return err;
}

GORT_API int gort_conn_local_addr(gort_conn c, gort_addr *a) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    *a = s->la;
    conn_put(s);
    return 0;
}

GORT_API int gort_conn_remote_addr(gort_conn c, gort_addr *a) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    *a = s->ra;
    conn_put(s);
    return 0;
}

GORT_API int gort_conn_fd(gort_conn c) {
    cslot *s = conn_get(c);
    if (s == NULL)
        return -EBADF;
    conn_put(s);
    return handle_fd(c);
}
