/*
 * echo.c - a TCP echo server and its load client on gort, one goroutine
 * per connection on both sides.
 *
 *     echo [-addr HOST] [-port N]                    serve (default 127.0.0.1:7000)
 *     echo -client [-addr HOST] [-port N] [-c CONNS] [-m MSGS] [-size BYTES]
 *
 * The client opens CONNS connections at once (default 100), sends MSGS
 * messages of BYTES bytes on each (default 1000 of 64), reads every echo
 * back, checks every byte (each message has its own pattern, so a
 * reordered or crossed echo is caught too) and prints the round trips per
 * second.  It exits 1 on any error or mismatch.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"
#include "../common/server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct options {
    const char *host;
    int port;
    int client;
    int conns, msgs, size;
    char addr[300]; /* host:port */
};

/* ------------------------------------------------------------------------
 * Server
 * ------------------------------------------------------------------------ */

/* The connection goroutine: writes back whatever it reads, until EOF. */
static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = gort_read(fd, buf, sizeof buf);
        if (n <= 0 || gort_write(fd, buf, (size_t)n) < 0)
            break;
    }
    gort_close(fd);
}

static int server(struct options *o) {
    int lfd = ex_listen("echo", o->addr, 4096);
    return lfd < 0 ? 1 : ex_accept_loop("echo", lfd, serve);
}

/* ------------------------------------------------------------------------
 * Client
 * ------------------------------------------------------------------------ */

struct client {
    struct options *o;
    gort_waitgroup wg;
    atomic_long round_trips;
    atomic_int failures;
};

struct worker {
    struct client *cl;
    int id;
};

/* The byte i of message m on connection id: differs between messages and
 * connections, so a byte from the wrong one shows. */
static unsigned char pattern(int id, int m, int i) {
    return (unsigned char)(id * 131 + m * 31 + i * 7 + (i >> 8));
}

/* One client connection: dial, then MSGS send-and-verify round trips. */
static void worker(void *arg) {
    struct worker *w = arg;
    struct client *cl = w->cl;
    struct options *o = cl->o;
    unsigned char *msg = malloc((size_t)o->size), *back = malloc((size_t)o->size);
    int64_t deadline = gort_nanotime() + 30LL * 1000 * 1000 * 1000;
    int fd = msg && back ? gort_dial(o->addr, deadline) : -ENOMEM;
    if (fd < 0) {
        fprintf(stderr, "echo: conn %d: dial %s: %s\n", w->id, o->addr, strerror(-fd));
        atomic_fetch_add(&cl->failures, 1);
        goto out;
    }
    for (int m = 0; m < o->msgs; m++) {
        for (int i = 0; i < o->size; i++)
            msg[i] = pattern(w->id, m, i);
        ssize_t r = gort_write(fd, msg, (size_t)o->size);
        if (r < 0) {
            fprintf(stderr, "echo: conn %d: write: %s\n", w->id, strerror((int)-r));
            atomic_fetch_add(&cl->failures, 1);
            goto close;
        }
        for (int got = 0; got < o->size; got += (int)r) {
            r = gort_read(fd, back + got, (size_t)(o->size - got));
            if (r <= 0) {
                fprintf(stderr, "echo: conn %d: read: %s\n", w->id,
                        r == 0 ? "EOF" : strerror((int)-r));
                atomic_fetch_add(&cl->failures, 1);
                goto close;
            }
        }
        if (memcmp(msg, back, (size_t)o->size) != 0) {
            int i = 0;
            while (msg[i] == back[i])
                i++;
            fprintf(stderr, "echo: conn %d: message %d: byte %d is %d, sent %d\n", w->id, m, i,
                    back[i], msg[i]);
            atomic_fetch_add(&cl->failures, 1);
            goto close;
        }
        atomic_fetch_add_explicit(&cl->round_trips, 1, memory_order_relaxed);
    }
close:
    gort_close(fd);
out:
    free(msg);
    free(back);
    gort_wg_done(&cl->wg);
}

static int client(struct options *o) {
    struct client cl = {.o = o};
    struct worker *ws = calloc((size_t)o->conns, sizeof *ws);
    if (ws == NULL)
        return 1;
    int64_t t0 = gort_nanotime();
    for (int i = 0; i < o->conns; i++) {
        ws[i] = (struct worker){&cl, i};
        gort_wg_add(&cl.wg, 1);
        if (gort_go(worker, &ws[i]) < 0) {
            gort_wg_done(&cl.wg);
            atomic_fetch_add(&cl.failures, 1);
        }
    }
    gort_wg_wait(&cl.wg);
    double secs = (double)(gort_nanotime() - t0) / 1e9;
    long rt = atomic_load(&cl.round_trips);
    int fails = atomic_load(&cl.failures);
    printf("echo: %d conns x %d msgs x %d bytes: %ld round trips verified in %.2f s = %.0f round "
           "trips/s, %d failed connections\n",
           o->conns, o->msgs, o->size, rt, secs, secs > 0 ? rt / secs : 0.0, fails);
    free(ws);
    return fails || rt != (long)o->conns * o->msgs ? 1 : 0;
}

static int run(void *arg) {
    struct options *o = arg;
    return o->client ? client(o) : server(o);
}

int main(int argc, char **argv) {
    struct options o = {.host = "127.0.0.1", .port = 7000, .conns = 100, .msgs = 1000, .size = 64};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (*a == '-' && a[1] == '-')
            a++; /* --flag as -flag */
        if (!strcmp(a, "-client"))
            o.client = 1;
        else if (!strcmp(a, "-addr") && i + 1 < argc)
            o.host = argv[++i];
        else if (!strcmp(a, "-port") && i + 1 < argc)
            o.port = atoi(argv[++i]);
        else if (!strcmp(a, "-c") && i + 1 < argc)
            o.conns = atoi(argv[++i]);
        else if (!strcmp(a, "-m") && i + 1 < argc)
            o.msgs = atoi(argv[++i]);
        else if (!strcmp(a, "-size") && i + 1 < argc)
            o.size = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [-addr HOST] [-port N]      serve (default 127.0.0.1:7000)\n"
                    "       %s -client [-addr HOST] [-port N] [-c CONNS] [-m MSGS] [-size BYTES]\n",
                    argv[0], argv[0]);
            return 2;
        }
    }
    if (o.conns < 1 || o.msgs < 0 || o.size < 1) {
        fprintf(stderr, "echo: -c and -size must be positive, -m not negative\n");
        return 2;
    }
    ex_hostport(o.addr, sizeof o.addr, o.host, o.port);
    ex_raise_nofile();
    int r = gort_main(run, &o);
    return r < 0 ? 1 : r;
}
