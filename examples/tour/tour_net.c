/*
 * tour_net.c - the tour's section on timers, the netpoller and blocking
 * calls.
 *
 *     void tour_net(int smoke);
 *
 * Call it from a goroutine.  It shows: a ticker and a timeout with
 * select; an echo server with one goroutine per connection talking to
 * many client goroutines over loopback (the goroutines park in the
 * netpoller, the threads do not); a read deadline; and every processor's
 * goroutine stuck in a blocking call while the rest of the program runs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void tour_net(int smoke);

#define MS (1000 * 1000LL)

static double net_now_ms(void) {
    return (double)gort_nanotime() / 1e6;
}

/* ------------------------------------------------------------------ timers */

static void timers(void) {
    gort_ticker *tk = gort_ticker_new(20 * MS);
    gort_timer *timeout = gort_timer_new(110 * MS);
    int ticks = 0;
    for (;;) {
        int64_t when;
        gort_select_case cs[2] = {{gort_ticker_chan(tk), GORT_RECV, &when, false},
                                  {gort_timer_chan(timeout), GORT_RECV, &when, false}};
        if (gort_select(cs, 2, true) == 1)
            break;
        ticks++;
    }
    printf("  a 20 ms ticker and a 110 ms timeout in one select: %d ticks, then the timeout\n",
           ticks);
    gort_ticker_free(tk);
    gort_timer_free(timeout);
}

/* ------------------------------------------------------------------ echo */

static _Atomic long echoed;

static ssize_t read_full(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = gort_read(fd, buf + got, n - got);
        if (r <= 0)
            return r == 0 ? -EPIPE : r;
        got += (size_t)r;
    }
    return (ssize_t)n;
}

/* One goroutine per connection: read 32 bytes, write them back. */
static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[32];
    while (read_full(fd, buf, sizeof buf) > 0 && gort_write(fd, buf, sizeof buf) > 0) {
    }
    gort_close(fd);
}

static void acceptor(void *arg) {
    int lfd = (int)(intptr_t)arg;
    int fd;
    while ((fd = gort_accept(lfd, NULL, NULL)) >= 0)
        gort_go(serve, (void *)(intptr_t)fd);
}

struct client_args {
    char addr[64];
    int rounds;
    gort_waitgroup *wg;
};

static void client(void *arg) {
    struct client_args *a = arg;
    int fd = gort_dial(a->addr, gort_nanotime() + 5000 * MS);
    if (fd >= 0) {
        char out[32], in[32];
        memset(out, 'g', sizeof out);
        for (int i = 0; i < a->rounds; i++) {
            if (gort_write(fd, out, sizeof out) < 0 || read_full(fd, in, sizeof in) < 0 ||
                memcmp(in, out, sizeof in) != 0)
                break;
            atomic_fetch_add(&echoed, 1);
        }
        gort_close(fd);
    }
    gort_wg_done(a->wg);
}

static void echo(int smoke) {
    int conns = smoke ? 20 : 200, rounds = smoke ? 10 : 100;
    int lfd = gort_listen("127.0.0.1:0", 0);
    if (lfd < 0) {
        printf("  (no loopback here: %s)\n", strerror(-lfd));
        return;
    }
    struct client_args a = {.rounds = rounds};
    snprintf(a.addr, sizeof a.addr, "127.0.0.1:%d", gort_local_port(lfd));
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    a.wg = &wg;
    gort_go(acceptor, (void *)(intptr_t)lfd);
    double t0 = net_now_ms();
    gort_stats before;
    gort_read_stats(&before);
    gort_wg_add(&wg, conns);
    for (int i = 0; i < conns; i++)
        gort_go(client, &a);
    gort_wg_wait(&wg);
    double ms = net_now_ms() - t0;
    gort_stats after;
    gort_read_stats(&after);
    printf("  an echo server on %s, a goroutine per connection, %d client goroutines:\n", a.addr,
           conns);
    printf("  %ld round trips in %.0f ms, on %llu OS threads: goroutines waiting for the\n"
           "  network are parked in the netpoller (epoll), not their threads.\n",
           atomic_load(&echoed), ms, (unsigned long long)after.threads);
    /* A read deadline (the server waits for 32 bytes that never come). */
    int c = gort_dial(a.addr, 0);
    if (c >= 0) {
        gort_set_deadline(c, gort_nanotime() + 30 * MS, 0);
        char b;
        double t1 = net_now_ms();
        ssize_t r = gort_read(c, &b, 1);
        printf("  a read with a 30 ms deadline and nobody writing: %s after %.0f ms\n",
               r == -ETIMEDOUT ? "-ETIMEDOUT" : strerror((int)-r), net_now_ms() - t1);
        gort_close(c);
    }
    gort_close(lfd); /* wakes the acceptor with -EBADF */
}

/* ------------------------------------------------------------------ blocking calls */

static _Atomic int asleep;

static void stuck(void *arg) {
    (void)arg;
    atomic_fetch_add(&asleep, 1);
    gort_syscall_enter(); /* a call that blocks its thread */
    usleep(300 * 1000);
    gort_syscall_exit();
    atomic_fetch_sub(&asleep, 1);
}

static void counter(void *arg) {
    _Atomic long *n = arg;
    for (int i = 0; i < 1000; i++) {
        gort_yield();
        atomic_fetch_add(n, 1);
    }
}

static void blocking(void) {
    int procs = gort_gomaxprocs(0);
    for (int i = 0; i < procs; i++)
        gort_go(stuck, NULL);
    while (atomic_load(&asleep) < procs)
        gort_yield();
    double t0 = net_now_ms();
    _Atomic long n = 0;
    gort_go(counter, &n);
    while (atomic_load(&n) < 1000)
        gort_sleep(MS);
    printf("  %d goroutines (one per P) blocked in usleep(300 ms) inside\n"
           "  gort_syscall_enter/exit; meanwhile another goroutine ran 1000 steps in %.1f ms\n"
           "  (sysmon handed the blocked Ps to other threads).\n",
           procs, net_now_ms() - t0);
    while (atomic_load(&asleep) > 0)
        gort_sleep(5 * MS);
}

void tour_net(int smoke) {
    timers();
    echo(smoke);
    blocking();
}
