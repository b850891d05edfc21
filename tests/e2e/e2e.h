/*
 * e2e.h - helpers for the examples' end-to-end tests (tests/e2e/NAME_test.c):
 * start an example server as a child process on a free port, talk to it
 * over plain blocking loopback sockets, stop it.
 *
 * A server prints "...(port N)" on its first stdout line once it listens
 * (every example does); e2e_start reads N from there.  The sockets here are
 * the kernel's, not gort's: the tests check the servers, not the runtime
 * in the test process.
 */
#ifndef E2E_H
#define E2E_H

#include "gt.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

typedef struct e2e_server {
    pid_t pid;
    int port;
} e2e_server;

/* Starts bin with args (NULL-terminated, after argv[0]) plus "-port 0" and
 * waits for its "(port N)" line.  Fails the test if it does not come. */
GT_UNUSED_ static e2e_server e2e_start(const char *bin, const char *const *args) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test exits at once: so does the server */
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        const char *argv[32] = {bin};
        int n = 1;
        while (args && args[n - 1] && n < 28) {
            argv[n] = args[n - 1];
            n++;
        }
        argv[n++] = "-port";
        argv[n++] = "0";
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        fprintf(stderr, "e2e: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    char line[512];
    size_t len = 0;
    int64_t deadline = gt_now_ns() + 10 * GT_SEC * gt_scale();
    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        ssize_t r = read(p[0], line + len, sizeof line - 1 - len);
        if (r <= 0 || gt_now_ns() > deadline)
            break;
        len += (size_t)r;
    }
    line[len] = '\0';
    close(p[0]); /* the server's later prints get EPIPE: it prints nothing more */
    const char *at = strstr(line, "(port ");
    if (at == NULL) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        GT_FAIL("%s printed no \"(port N)\" line: \"%s\"", bin, line);
    }
    e2e_server s = {pid, atoi(at + 6)};
    ASSERT_GT(s.port, 0);
    return s;
}

/* Sends sig to every thread of process pid.  A test that waits for a
 * server to act on a signal resends it this way: under TSan a signal the
 * kernel gives to a thread asleep in a raw futex (kill(2) picks the main
 * thread first) waits until that thread makes an intercepted call, which
 * an idle M may never do; one of the threads that run takes its own. */
GT_UNUSED_ static void e2e_signal_threads(pid_t pid, int sig) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            syscall(SYS_tgkill, (int)pid, atoi(e->d_name), sig);
    if (d != NULL)
        closedir(d);
}

/* Stops the server: it must still be running (no crash), then SIGTERM. */
GT_UNUSED_ static void e2e_stop(e2e_server *s) {
    int st;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    if (r == s->pid)
        GT_FAIL("the server exited early: status 0x%x", st);
    kill(s->pid, SIGTERM);
    ASSERT_EQ(waitpid(s->pid, &st, 0), s->pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
}

/* A blocking TCP connection to 127.0.0.1:port with receive timeouts. */
GT_UNUSED_ static int e2e_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 5 * gt_scale()};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

GT_UNUSED_ static void e2e_send(int fd, const void *p, size_t n) {
    for (size_t off = 0; off < n;) {
        ssize_t w = send(fd, (const char *)p + off, n - off, MSG_NOSIGNAL);
        ASSERT_TRUE(w > 0);
        off += (size_t)w;
    }
}

GT_UNUSED_ static void e2e_sends(int fd, const char *s) {
    e2e_send(fd, s, strlen(s));
}

/* Reads exactly n bytes into buf (NUL-terminated; buf has n + 1 bytes). */
GT_UNUSED_ static void e2e_recv_n(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            GT_FAIL("recv after %zu of %zu bytes: %s", got, n, r == 0 ? "EOF" : strerror(errno));
        got += (size_t)r;
    }
    buf[n] = '\0';
}

/* Reads until EOF (at most cap - 1 bytes, NUL-terminated); returns the
 * length.  A timeout fails the test: the server must close. */
GT_UNUSED_ static size_t e2e_recv_eof(int fd, char *buf, size_t cap) {
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r == 0)
            break;
        if (r < 0 && errno == ECONNRESET)
            break;
        if (r < 0)
            GT_FAIL("no EOF after %zu bytes: %s", got, strerror(errno));
        got += (size_t)r;
        ASSERT_LT(got, cap - 1);
    }
    buf[got] = '\0';
    return got;
}

/* Sends s and expects exactly the reply want. */
GT_UNUSED_ static void e2e_expect(int fd, const char *s, const char *want) {
    static char buf[1 << 16];
    e2e_sends(fd, s);
    e2e_recv_n(fd, buf, strlen(want));
    ASSERT_STREQ(buf, want);
}

#endif /* E2E_H */
