/*
 * limits.c - gort-limits: how far gort goes on this machine (issue 6).
 *
 * Run by `make limits` (scripts/limits.sh), next to limits/go/, a Go
 * program doing the same with Go's runtime.  Not part of `make test`.
 *
 *   gort-limits goroutines [-max N] [-cap-mib M] [-stack BYTES]
 *       Spawns goroutines in batches of 10000, each parked in a receive on
 *       one channel, until gort_go fails, the count reaches N (default 10
 *       million) or the resident set grows past M MiB (default: 4096, or
 *       80% of MemAvailable if less).  Then closes the channel and waits
 *       for every goroutine to end.
 *   gort-limits timers [-max N] [-cap-mib M]
 *       Starts N (default 10 million) gort_after_func timers an hour in the
 *       future, or as many as fit under the cap, then stops and frees them.
 *   gort-limits conns [-max N] [-cap-mib M]
 *       Opens loopback TCP connections (a goroutine parked in gort_read on
 *       the accepted end of each) until N, the cap, or an error (an fd
 *       limit: -EMFILE), then closes them all.
 *
 * Output: one machine-readable line per run,
 *   LIMIT <what> count=N rss_mib=R bytes_each=B per_gib=P stop=<why> ...
 * where stop says what ended the run: "max" (the count cap), "rss-cap"
 * (the memory cap: the figure is capped, not the machine's limit), or the
 * call that failed with its error ("gort_go=-ENOMEM"): a clean error, never
 * a crash.  RSS is measured from /proc/self/statm, relative to the resident
 * set before the first spawn.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * 1024.0 * 1024.0)

static long opt_max = 10000000;
static long opt_cap_mib;
static long opt_stack;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size in bytes.  /proc/self/statm stays open: at an fd
 * limit (the conns run) opening it would fail. */
static long rss_bytes(void) {
    static int fd = -1;
    char buf[128];
    long size = 0, res = 0;
    if (fd < 0)
        fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        fprintf(stderr, "gort-limits: cannot read /proc/self/statm\n");
        exit(1);
    }
    buf[n] = 0;
    if (sscanf(buf, "%ld %ld", &size, &res) != 2)
        res = 0;
    return res * sysconf(_SC_PAGESIZE);
}

static long mem_available_mib(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long kb = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb / 1024;
}

static const char *errname(int e) {
    switch (e) {
    case ENOMEM:
        return "ENOMEM";
    case EAGAIN:
        return "EAGAIN";
    case EINVAL:
        return "EINVAL";
    case EMFILE:
        return "EMFILE";
    case ENFILE:
        return "ENFILE";
    case EADDRNOTAVAIL:
        return "EADDRNOTAVAIL";
    default:
        return "?";
    }
}

/* ------------------------------------------------------------------------
 * Goroutines
 * ------------------------------------------------------------------------ */

static gort_chan *park_ch;
static atomic_long parked, exited;

static void parker(void *p) {
    (void)p;
    atomic_fetch_add(&parked, 1);
    gort_chan_recv(park_ch, NULL); /* until the close */
    atomic_fetch_add(&exited, 1);
}

static int goroutines_main(void *arg) {
    (void)arg;
    park_ch = gort_chan_make(0, 0);
    if (park_ch == NULL)
        return 1;
    gort_go_attr attr = {(size_t)opt_stack, NULL};
    long cap = opt_cap_mib * 1024 * 1024;
    long base = rss_bytes();
    long n = 0;
    char stop[64] = "max";
    double t0 = now_s();
    while (n < opt_max) {
        long batch = opt_max - n < 10000 ? opt_max - n : 10000;
        int r = 0;
        for (long i = 0; i < batch; i++) {
            r = opt_stack ? gort_go_attr_spawn(parker, NULL, &attr) : gort_go(parker, NULL);
            if (r != 0)
                break;
            n++;
        }
        /* Let the batch reach its receive, so its stacks are touched. */
        while (atomic_load(&parked) < n)
            gort_yield();
        if (r != 0) {
            snprintf(stop, sizeof stop, "gort_go=-%s", errname(-r));
            break;
        }
        if (rss_bytes() - base > cap) {
            snprintf(stop, sizeof stop, "rss-cap");
            break;
        }
    }
    double t_spawn = now_s() - t0;
    long used = rss_bytes() - base;
    gort_stats st;
    gort_read_stats(&st);
    t0 = now_s();
    gort_chan_close(park_ch);
    while (atomic_load(&exited) < n)
        gort_sleep(1000000);
    double t_exit = now_s() - t0;
    printf("LIMIT goroutines count=%ld rss_mib=%.0f bytes_each=%.0f per_gib=%.0f stop=%s "
           "spawn_s=%.2f release_s=%.2f stack_sys_mib=%.0f cap_mib=%ld\n",
           n, used / MIB, n ? (double)used / n : 0, used > 0 ? n / (used / GIB) : 0, stop, t_spawn,
           t_exit, (double)st.stack_sys_bytes / MIB, opt_cap_mib);
    return 0;
}

/* ------------------------------------------------------------------------
 * Timers
 * ------------------------------------------------------------------------ */

static void never(void *p) {
    (void)p;
}

static int timers_main(void *arg) {
    (void)arg;
    gort_timer **ts = malloc((size_t)opt_max * sizeof *ts);
    if (ts == NULL)
        return 1;
    long cap = opt_cap_mib * 1024 * 1024;
    long base = rss_bytes();
    long n = 0;
    char stop[64] = "max";
    double t0 = now_s();
    while (n < opt_max) {
        gort_timer *t = gort_after_func(3600 * INT64_C(1000000000), never, NULL);
        if (t == NULL) {
            snprintf(stop, sizeof stop, "gort_after_func=NULL");
            break;
        }
        ts[n++] = t;
        if (n % 100000 == 0 && rss_bytes() - base > cap) {
            snprintf(stop, sizeof stop, "rss-cap");
            break;
        }
    }
    double t_start = now_s() - t0;
    long used = rss_bytes() - base;
    t0 = now_s();
    long stopped = 0;
    for (long i = 0; i < n; i++) {
        stopped += gort_timer_stop(ts[i]);
        gort_timer_free(ts[i]);
    }
    double t_stop = now_s() - t0;
    free(ts);
    /* The pointer array (8 bytes a timer) is in the figure, as the Go
     * program's slice is in Go's. */
    printf("LIMIT timers count=%ld rss_mib=%.0f bytes_each=%.0f per_gib=%.0f stop=%s "
           "start_s=%.2f stop_s=%.2f stopped=%ld cap_mib=%ld\n",
           n, used / MIB, n ? (double)used / n : 0, used > 0 ? n / (used / GIB) : 0, stop, t_start,
           t_stop, stopped, opt_cap_mib);
    return stopped == n ? 0 : 1;
}

/* ------------------------------------------------------------------------
 * Connections: the netpoller's hook
 * ------------------------------------------------------------------------ */

/* One accepted connection: a goroutine parked in gort_read until EOF. */
static atomic_long conn_readers, conn_ended;

static void conn_reader(void *p) {
    int fd = (int)(intptr_t)p;
    char b[64];
    atomic_fetch_add(&conn_readers, 1);
    while (gort_read(fd, b, sizeof b) > 0) {
    }
    gort_close(fd);
    atomic_fetch_add(&conn_ended, 1);
}

/* Opens loopback connections: each is a dialled fd kept by main and an
 * accepted fd with a goroutine parked in gort_read (Go's goroutine per
 * connection), until N, the RSS cap, or an error (an fd limit: -EMFILE).
 * Two fds a connection: the soft RLIMIT_NOFILE is raised to the hard one
 * first, as Go does at start-up since 1.19. */
static int conns_main(void *arg) {
    (void)arg;
    int lfd = gort_listen("127.0.0.1:0", 4096);
    if (lfd < 0) {
        printf("LIMIT conns count=0 stop=gort_listen=-%s\n", errname(-lfd));
        return 1;
    }
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", gort_local_port(lfd));
    int *cfd = malloc((size_t)opt_max * sizeof *cfd);
    if (cfd == NULL)
        return 1;
    long cap = opt_cap_mib * 1024 * 1024;
    long base = rss_bytes();
    long n = 0;
    char stop[64] = "max";
    double t0 = now_s();
    while (n < opt_max) {
        int c = gort_dial(addr, 0);
        if (c < 0) {
            snprintf(stop, sizeof stop, "gort_dial=-%s", errname(-c));
            break;
        }
        int s = gort_accept(lfd, NULL, NULL);
        if (s < 0) {
            gort_close(c);
            snprintf(stop, sizeof stop, "gort_accept=-%s", errname(-s));
            break;
        }
        int r = gort_go(conn_reader, (void *)(intptr_t)s);
        if (r != 0) {
            gort_close(c);
            gort_close(s);
            snprintf(stop, sizeof stop, "gort_go=-%s", errname(-r));
            break;
        }
        cfd[n++] = c;
        if (n % 1000 == 0) {
            while (atomic_load(&conn_readers) < n)
                gort_yield();
            if (rss_bytes() - base > cap) {
                snprintf(stop, sizeof stop, "rss-cap");
                break;
            }
        }
    }
    while (atomic_load(&conn_readers) < n)
        gort_yield();
    double t_open = now_s() - t0;
    long used = rss_bytes() - base;
    t0 = now_s();
    for (long i = 0; i < n; i++)
        gort_close(cfd[i]); /* the reader sees EOF */
    while (atomic_load(&conn_ended) < n)
        gort_sleep(1000000);
    double t_close = now_s() - t0;
    gort_close(lfd);
    free(cfd);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("LIMIT conns count=%ld rss_mib=%.0f bytes_each=%.0f per_gib=%.0f stop=%s "
           "open_s=%.2f close_s=%.2f nofile=%ld cap_mib=%ld\n",
           n, used / MIB, n ? (double)used / n : 0, used > 0 ? n / (used / GIB) : 0, stop, t_open,
           t_close, (long)rl.rlim_cur, opt_cap_mib);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s goroutines|timers|conns [-max N] [-cap-mib M] [-stack B]\n",
                argv[0]);
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-max") == 0)
            opt_max = atol(argv[i + 1]);
        else if (strcmp(argv[i], "-cap-mib") == 0)
            opt_cap_mib = atol(argv[i + 1]);
        else if (strcmp(argv[i], "-stack") == 0)
            opt_stack = atol(argv[i + 1]);
        else {
            fprintf(stderr, "%s: unknown flag %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    if (opt_cap_mib <= 0) {
        long avail = mem_available_mib() * 8 / 10;
        opt_cap_mib = avail > 0 && avail < 4096 ? avail : 4096;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    (void)rss_bytes(); /* opens /proc/self/statm */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    int (*fn)(void *);
    if (strcmp(argv[1], "goroutines") == 0)
        fn = goroutines_main;
    else if (strcmp(argv[1], "timers") == 0)
        fn = timers_main;
    else if (strcmp(argv[1], "conns") == 0)
        fn = conns_main;
    else {
        fprintf(stderr, "%s: unknown limit %s\n", argv[0], argv[1]);
        return 2;
    }
    int r = gort_main(fn, NULL);
    if (r < 0)
        fprintf(stderr, "gort_main: %s\n", errname(-r));
    return r == 0 ? 0 : 1;
}
