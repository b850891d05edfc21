/*
 * wl_net.c - netpoller workloads: tcp_echo.  Mirrors tcpEcho in
 * ../shared/reference/go/bench.go; README.md there defines it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---------------------------------------------------------------- tcp_echo */

typedef struct tcp_echo_state {
    int lfd;
    char addr[64];
    gort_waitgroup srv_wg;   /* connection goroutines */
    gort_waitgroup ready;    /* clients connected */
    gort_waitgroup finished; /* clients stopped */
    gort_chan *start;        /* closed to start the clients */
    _Atomic int32_t stop;
    _Atomic int64_t total;
} tcp_echo_state;

/* io.ReadFull: 0, or the error (EOF as -EPIPE). */
static ssize_t read_full(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = gort_read(fd, buf + got, n - got);
        if (r <= 0)
            return r == 0 ? -EPIPE : r;
        got += (size_t)r;
    }
    return 0;
}

typedef struct echo_conn {
    tcp_echo_state *st;
    int fd;
} echo_conn;

/* Server side of one connection: read exactly 64 bytes, write them back,
 * until an error. */
static void tcp_echo_serve(void *arg) {
    echo_conn *c = arg;
    tcp_echo_state *st = c->st;
    int fd = c->fd;
    free(c);
    size_t sz = (size_t)bench_sz->tcp_msg_size;
    char buf[256];
    for (;;) {
        if (read_full(fd, buf, sz) != 0)
            break;
        if (gort_write(fd, buf, sz) != (ssize_t)sz)
            break;
    }
    gort_close(fd);
    gort_wg_done(&st->srv_wg);
}

static void tcp_echo_acceptor(void *arg) {
    tcp_echo_state *st = arg;
    for (;;) {
        int fd = gort_accept(st->lfd, NULL, NULL);
        if (fd < 0)
            return; /* the listener was closed */
        echo_conn *c = malloc(sizeof *c);
        if (c == NULL)
            bench_fail("tcp_echo: out of memory");
        c->st = st;
        c->fd = fd;
        gort_wg_add(&st->srv_wg, 1);
        bench_go(tcp_echo_serve, c);
    }
}

static void tcp_echo_client(void *arg) {
    tcp_echo_state *st = arg;
    int fd = gort_dial(st->addr, 0);
    if (fd < 0)
        bench_fail("tcp_echo: dial: %s", strerror(-fd));
    size_t sz = (size_t)bench_sz->tcp_msg_size;
    char wbuf[256] = {0}, rbuf[256];
    gort_wg_done(&st->ready);
    (void)gort_chan_recv(st->start, NULL);
    int64_t n = 0;
    while (atomic_load_explicit(&st->stop, memory_order_relaxed) == 0) {
        ssize_t r = gort_write(fd, wbuf, sz);
        if (r != (ssize_t)sz)
            bench_fail("tcp_echo: write: %s", strerror((int)-r));
        r = read_full(fd, rbuf, sz);
        if (r != 0)
            bench_fail("tcp_echo: read: %s", strerror((int)-r));
        n++;
    }
    atomic_fetch_add_explicit(&st->total, n, memory_order_relaxed);
    gort_close(fd);
    gort_wg_done(&st->finished);
}

int wl_tcp_echo(bench_result *res) {
    if (bench_sz->tcp_msg_size > 256)
        bench_fail("tcp_echo: message size over 256");
    tcp_echo_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        bench_fail("tcp_echo: out of memory");
    st->lfd = gort_listen("127.0.0.1:0", 0);
    if (st->lfd < 0)
        bench_fail("tcp_echo: listen: %s", strerror(-st->lfd));
    snprintf(st->addr, sizeof st->addr, "127.0.0.1:%d", gort_local_port(st->lfd));
    st->start = bench_chan_make(0, 0);
    bench_go(tcp_echo_acceptor, st);
    int clients = bench_sz->tcp_clients;
    gort_wg_add(&st->ready, clients);
    gort_wg_add(&st->finished, clients);
    for (int i = 0; i < clients; i++)
        bench_go(tcp_echo_client, st);
    gort_wg_wait(&st->ready);
    int64_t start = bench_now();
    gort_chan_close(st->start);
    gort_sleep(bench_sz->tcp_duration);
    atomic_store_explicit(&st->stop, 1, memory_order_relaxed);
    gort_wg_wait(&st->finished);
    int64_t el = bench_now() - start;
    gort_close(st->lfd);
    gort_wg_wait(&st->srv_wg);
    int64_t total = atomic_load_explicit(&st->total, memory_order_relaxed);
    gort_chan_free(st->start);
    free(st);
    res[0] = (bench_result){"tcp_echo", (double)total / ((double)el / 1e9), "rt/s"};
    return 1;
}
