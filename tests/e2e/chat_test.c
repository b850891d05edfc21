/*
 * chat_test.c - examples/chat end to end over loopback: 1,000 clients
 * join (each sees its own arrival), each sends one line (a fraction of them
 * under the sanitizers), and every client receives every line exactly once
 * (counted per sender); then SIGTERM: each
 * client is told "server shutting down" and disconnected, and the server
 * exits 0.  E2E_SERVER is the chat binary.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "e2e.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>

enum { NCLIENTS = 1000 };

typedef struct cl {
    int fd;
    char me[64];    /* "127.0.0.1:port", from "You are ..." */
    char buf[4096]; /* the partial line */
    size_t len;
    bool entered, told, eof;
    int lines;                        /* chat lines received */
    uint8_t from[(NCLIENTS + 7) / 8]; /* senders seen */
} cl;

static cl *cls;
static int ncl;   /* clients */
static int nsend; /* of which the first nsend send a line */

static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* One complete line for client c. */
static void on_line(cl *c, const char *line) {
    if (strncmp(line, "You are ", 8) == 0) {
        ASSERT_EQ(c->me[0], '\0');
        snprintf(c->me, sizeof c->me, "%s", line + 8);
        return;
    }
    const char *hello = strstr(line, ": hello from ");
    if (hello != NULL) {
        int i = atoi(hello + 13);
        ASSERT_TRUE(i >= 0 && i < nsend);
        ASSERT_EQ(c->from[i / 8] & (1 << (i % 8)), 0); /* once each */
        c->from[i / 8] |= (uint8_t)(1 << (i % 8));
        /* The sender's address prefixes its line. */
        ASSERT_EQ(strncmp(line, cls[i].me, strlen(cls[i].me)), 0);
        c->lines++;
        return;
    }
    if (strcmp(line, "server shutting down") == 0) {
        c->told = true;
        return;
    }
    size_t ml = strlen(c->me);
    if (ml > 0 && strncmp(line, c->me, ml) == 0 && strcmp(line + ml, " has arrived") == 0)
        c->entered = true;
    /* Others' arrivals: nothing to count. */
}

/* Reads what is there for every ready client; false past the deadline. */
static bool pump(int ep, int64_t deadline) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, 100);
    for (int k = 0; k < n; k++) {
        cl *c = &cls[evs[k].data.u32];
        for (;;) {
            ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (r <= 0) {
                c->eof = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                break;
            }
            c->len += (size_t)r;
            c->buf[c->len] = '\0';
            char *p = c->buf, *nl;
            while ((nl = strchr(p, '\n')) != NULL) {
                *nl = '\0';
                on_line(c, p);
                p = nl + 1;
            }
            c->len -= (size_t)(p - c->buf);
            memmove(c->buf, p, c->len);
            ASSERT_LT(c->len, sizeof c->buf - 1); /* no line that long */
        }
    }
    return gt_now_ns() < deadline;
}

static int count(bool (*pred)(const cl *)) {
    int k = 0;
    for (int i = 0; i < ncl; i++)
        k += pred(&cls[i]);
    return k;
}

static bool entered(const cl *c) {
    return c->entered;
}
static bool all_lines(const cl *c) {
    return c->lines == nsend;
}
static bool told(const cl *c) {
    return c->told;
}
static bool done(const cl *c) {
    return c->told && c->eof;
}

TEST(thousand_clients_every_line) {
    raise_nofile();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    ncl = rl.rlim_cur >= NCLIENTS + 100 ? NCLIENTS : (int)rl.rlim_cur - 100;
    ASSERT_GT(ncl, 10);
    cls = calloc((size_t)ncl, sizeof *cls);
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int64_t deadline = gt_now_ns() + 60 * GT_SEC * gt_scale();
    for (int i = 0; i < ncl; i++) {
        cls[i].fd = e2e_connect(s.port);
        fcntl(cls[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, cls[i].fd, &ev), 0);
        if (i % 64 == 63)
            pump(ep, deadline);
    }
    /* Everyone is in the broker once it has seen its own arrival. */
    while (count(entered) < ncl)
        ASSERT_TRUE(pump(ep, deadline));
    /* Every client sends (1,000,000 deliveries); under the sanitizers,
     * which run the server 5-15 times slower, a fraction of them do. */
    nsend = ncl / gt_scale();
    for (int i = 0; i < nsend; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "hello from %d\n", i);
        ASSERT_EQ(send(cls[i].fd, line, (size_t)n, MSG_NOSIGNAL), n);
    }
    while (count(all_lines) < ncl)
        if (!pump(ep, deadline))
            GT_FAIL("%d of %d clients got all %d lines", count(all_lines), ncl, nsend);
    long total = 0;
    for (int i = 0; i < ncl; i++)
        total += cls[i].lines;
    ASSERT_EQ(total, (long)ncl * nsend);
    /* SIGTERM: every client is told and disconnected; exit status 0. */
    ASSERT_EQ(kill(s.pid, SIGTERM), 0);
    for (int tries = 1; count(done) < ncl; tries++) {
        ASSERT_TRUE(pump(ep, deadline));
        /* Until the shutdown has begun (not after: once the server is
         * done with it, SIGTERM kills), resend (see e2e_signal_threads). */
        if (tries % 20 == 0 && count(told) == 0)
            e2e_signal_threads(s.pid, SIGTERM);
    }
    int st = 0;
    pid_t r;
    while ((r = waitpid(s.pid, &st, WNOHANG)) == 0) {
        ASSERT_LT(gt_now_ns(), deadline);
        usleep(1000);
    }
    ASSERT_EQ(r, s.pid);
    if (!WIFEXITED(st))
        GT_FAIL("chat did not exit: status 0x%x", st);
    ASSERT_EQ(WEXITSTATUS(st), 0);
    for (int i = 0; i < ncl; i++)
        close(cls[i].fd);
    close(ep);
    free(cls);
}

GT_MAIN()
