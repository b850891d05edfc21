/*
 * server.h - what the example servers (echo, httpd, kvstore) share: the
 * listen address, the accept loop with Go's back-off, the open-file limit,
 * the -addr/-port flags, and the main of a server that only serves.  Header-only: each example is one program
 * built from its own directory.
 */
#ifndef GORT_EXAMPLES_SERVER_H
#define GORT_EXAMPLES_SERVER_H

#include "gort.h"
#include "gort_pprof_http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* "host:port" into buf; an IPv6 host gets brackets: "[::1]:8080". */
static inline void ex_hostport(char *buf, size_t n, const char *host, int port) {
    if (strchr(host, ':') && host[0] != '[')
        snprintf(buf, n, "[%s]:%d", host, port);
    else
        snprintf(buf, n, "%s:%d", host, port);
}

/* Listens on addr and says so on stdout ("NAME: listening on ADDR (port
 * N)": port 0 picks a free one).  Returns the fd, or -1 after printing
 * why not. */
static inline int ex_listen(const char *name, const char *addr, int backlog) {
    int lfd = gort_listen(addr, backlog);
    if (lfd < 0) {
        fprintf(stderr, "%s: listen %s: %s\n", name, addr, strerror(-lfd));
        return -1;
    }
    printf("%s: listening on %s (port %d)\n", name, addr, gort_local_port(lfd));
    fflush(stdout);
    return lfd;
}

/* Accepts forever, one serve(fd) goroutine per connection.  Out of fds or
 * memory: back off 10 ms and retry, as Go's net/http does.  Returns 1 on
 * any other accept error (printed). */
static inline int ex_accept_loop(const char *name, int lfd, void (*serve)(void *)) {
    for (;;) {
        int fd = gort_accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM || fd == -ENOBUFS) {
                gort_sleep(10 * 1000 * 1000);
                continue;
            }
            if (fd == -ECONNABORTED || fd == -EINTR)
                continue;
            fprintf(stderr, "%s: accept: %s\n", name, strerror(-fd));
            return 1;
        }
        if (gort_go(serve, (void *)(intptr_t)fd) < 0)
            gort_close(fd);
    }
}

/* Raises the open-file limit to the hard limit (one fd per connection). */
static inline void ex_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* -pprof ADDR: /debug/pprof/ served on a listener of its own at ADDR
 * (contrib/pprof_http), or NULL. */
static const char *ex_pprof_addr;

/* A server's flags: [-addr HOST] [-port N] [-pprof ADDR] (also --addr,
 * --port, --pprof).  Returns 0, or 2 after printing the usage. */
static inline int ex_server_flags(int argc, char **argv, const char **host, int *port) {
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-pprof") || !strcmp(argv[i], "--pprof")) && i + 1 < argc) {
            ex_pprof_addr = argv[++i];
            continue;
        }
        if ((!strcmp(argv[i], "-port") || !strcmp(argv[i], "--port")) && i + 1 < argc) {
            *port = atoi(argv[++i]);
        } else if ((!strcmp(argv[i], "-addr") || !strcmp(argv[i], "--addr")) && i + 1 < argc) {
            *host = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [-addr HOST] [-port N] [-pprof ADDR]   (default %s:%d;\n"
                    "       -port 0 picks a free port, printed at start;\n"
                    "       -pprof 127.0.0.1:6060 serves /debug/pprof/ there)\n",
                    argv[0], *host, *port);
            return 2;
        }
    }
    return 0;
}

struct ex_server {
    const char *name;
    const char *host;
    int port;
    int (*init)(void);
    void (*serve)(void *fd);
};

/* The main goroutine of ex_server_main: init, listen, accept forever. */
static inline int ex_server_run(void *arg) {
    struct ex_server *s = arg;
    char addr[300];
    ex_hostport(addr, sizeof addr, s->host, s->port);
    if (s->init != NULL && s->init() < 0) {
        fprintf(stderr, "%s: out of memory\n", s->name);
        return 1;
    }
    int lfd = ex_listen(s->name, addr, 1024);
    if (lfd < 0)
        return 1;
    if (ex_pprof_addr != NULL) {
        /* After the server's own line, which scripts read for its port. */
        int pport = gort_pprof_http_start(ex_pprof_addr);
        if (pport < 0) {
            fprintf(stderr, "%s: pprof listen %s: %s\n", s->name, ex_pprof_addr, strerror(-pport));
            return 1;
        }
        printf("%s: /debug/pprof/ on %s (port %d)\n", s->name, ex_pprof_addr, pport);
        fflush(stdout);
    }
    return ex_accept_loop(s->name, lfd, s->serve);
}

/* A whole server program: parses [-addr HOST] [-port N] (default
 * 127.0.0.1:port), raises the open-file limit, then runs the runtime with
 * a main goroutine that calls init (if any; negative: out of memory, exit
 * 1), listens and runs serve(fd) in a goroutine per connection.  Returns
 * main's exit status. */
static inline int ex_server_main(int argc, char **argv, const char *name, int port,
                                 int (*init)(void), void (*serve)(void *fd)) {
    struct ex_server s = {name, "127.0.0.1", port, init, serve};
    int bad = ex_server_flags(argc, argv, &s.host, &s.port);
    if (bad)
        return bad;
    ex_raise_nofile();
    int r = gort_main(ex_server_run, &s);
    return r < 0 ? 1 : r;
}

#endif /* GORT_EXAMPLES_SERVER_H */
