/*
 * tour.c - a short guided tour of gort (`make run`).
 *
 *     tour            the full tour (a few seconds)
 *     tour -smoke     a fast version (CTest runs it)
 *
 * Each section is one function in the sections[] table below; later
 * capabilities add their own sections there (channels and select, a worker
 * pool, panics and recover, goroutine dumps), before the statistics, which
 * always come last.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct tour {
    bool smoke; /* -smoke: small sizes, same sections */
    int procs;  /* GOMAXPROCS when the tour started */
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 1234567 -> "1,234,567" (one of four rotating buffers). */
static const char *commas(uint64_t v) {
    static char bufs[4][32];
    static int next;
    char *out = bufs[next++ % 4];
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[j++] = ',';
        out[j++] = tmp[i];
    }
    out[j] = '\0';
    return out;
}

static void heading(int number, const char *title) {
    char line[80];
    int n = snprintf(line, sizeof line, "-- %d. %s ", number, title);
    while (n < 72 && n < (int)sizeof line - 1)
        line[n++] = '-';
    line[n] = '\0';
    printf("\n%s\n", line);
}

/* ------------------------------------------------------------------------
 * 1. Goroutines are cheap
 * ------------------------------------------------------------------------ */

static atomic_uint_fast64_t sum;
static gort_waitgroup wg;

static void add_my_number(void *arg) {
    atomic_fetch_add(&sum, (uint64_t)(uintptr_t)arg);
    gort_wg_done(&wg);
}

static void section_goroutines(const struct tour *t) {
    uint64_t n = t->smoke ? 10000 : 100000;
    printf("  gort_go(fn, arg) starts a goroutine: a function with its own small stack,\n"
           "  scheduled by gort over a few OS threads.  Let's start %s of them; each\n"
           "  adds its number to a shared sum, and a waitgroup tells us when all are done.\n\n",
           commas(n));
    atomic_store(&sum, 0);
    double t0 = now_ms();
    gort_wg_add(&wg, (int64_t)n);
    int peak = 0;
    for (uint64_t i = 1; i <= n; i++) {
        int r = gort_go(add_my_number, (void *)(uintptr_t)i);
        if (r != 0) {
            printf("  gort_go failed: %s\n", strerror(-r));
            exit(1);
        }
        if (i % 1000 == 0 && gort_numgoroutine() > peak)
            peak = gort_numgoroutine();
    }
    gort_wg_wait(&wg);
    double ms = now_ms() - t0;
    uint64_t want = n * (n + 1) / 2;
    printf("  started and joined %s goroutines in %.1f ms (%.2f us each, start to finish)\n",
           commas(n), ms, ms * 1e3 / (double)n);
    printf("  up to %s of them were alive at once\n", commas((uint64_t)peak));
    printf("  sum = %s (expected %s) %s\n", commas(atomic_load(&sum)), commas(want),
           atomic_load(&sum) == want ? "- all of them ran" : "- WRONG");
}

/* ------------------------------------------------------------------------
 * 2. The scheduler spreads work over every core
 * ------------------------------------------------------------------------ */

#define CHUNKS 64

static struct chunk {
    uint32_t lo, hi; /* count the primes in [lo, hi) */
    uint32_t primes;
    long tid; /* the OS thread that did it */
} chunks[CHUNKS];

static bool is_prime(uint32_t n) {
    if (n < 2)
        return false;
    for (uint32_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return false;
    return true;
}

static void count_primes(void *arg) {
    struct chunk *c = arg;
    uint32_t count = 0;
    for (uint32_t n = c->lo; n < c->hi; n++)
        count += is_prime(n);
    c->primes = count;
    c->tid = (long)syscall(SYS_gettid);
    gort_wg_done(&wg);
}

/* Runs the whole job on the current GOMAXPROCS; returns ms and the count. */
static double run_primes(uint32_t limit, uint32_t *total) {
    double t0 = now_ms();
    gort_wg_add(&wg, CHUNKS);
    for (int i = 0; i < CHUNKS; i++) {
        chunks[i].lo = (uint32_t)((uint64_t)limit * i / CHUNKS);
        chunks[i].hi = (uint32_t)((uint64_t)limit * (i + 1) / CHUNKS);
        chunks[i].primes = 0;
        chunks[i].tid = 0;
        if (gort_go(count_primes, &chunks[i]) != 0) {
            printf("  gort_go failed\n");
            exit(1);
        }
    }
    gort_wg_wait(&wg);
    double ms = now_ms() - t0;
    *total = 0;
    for (int i = 0; i < CHUNKS; i++)
        *total += chunks[i].primes;
    return ms;
}

static void section_parallel(const struct tour *t) {
    uint32_t limit = t->smoke ? 300000 : 3000000;
    printf("  A CPU-bound job: count the primes below %s, cut into %d chunks,\n"
           "  one goroutine per chunk.  Idle processors steal work from busy ones,\n"
           "  so every core gets a share.  First on one processor, then on %d.\n\n",
           commas(limit), CHUNKS, t->procs);

    uint32_t p1, pn;
    gort_gomaxprocs(1);
    double ms1 = run_primes(limit, &p1);
    gort_gomaxprocs(t->procs);
    double msn = run_primes(limit, &pn);

    printf("  GOMAXPROCS=1:  %7.1f ms\n", ms1);
    printf("  GOMAXPROCS=%d:  %7.1f ms   speedup %.2fx", t->procs, msn, ms1 / msn);
    if (t->procs == 1)
        printf("   (this machine has one CPU: nothing to spread over)");
    printf("\n  primes found: %s %s\n\n", commas(pn),
           p1 == pn ? "(the same both times)" : "(MISMATCH between runs!)");

    /* Who did the work in the second run? */
    long tids[CHUNKS];
    int counts[CHUNKS], ntids = 0;
    for (int i = 0; i < CHUNKS; i++) {
        int j = 0;
        while (j < ntids && tids[j] != chunks[i].tid)
            j++;
        if (j == ntids) {
            tids[ntids] = chunks[i].tid;
            counts[ntids++] = 0;
        }
        counts[j]++;
    }
    int most = 0;
    for (int j = 0; j < ntids; j++)
        most = counts[j] > most ? counts[j] : most;
    printf("  who did the work with GOMAXPROCS=%d (%d OS threads took part):\n", t->procs, ntids);
    for (int j = 0; j < ntids && j < 8; j++) {
        char bar[41];
        int w = most ? counts[j] * 40 / most : 0;
        memset(bar, '#', (size_t)w);
        bar[w] = '\0';
        printf("    thread %-8ld %3d chunks  %s\n", tids[j], counts[j], bar);
    }
    if (ntids > 8)
        printf("    ... and %d more threads\n", ntids - 8);
}

/* ------------------------------------------------------------------------
 * Channels, select and a worker pool (tour_chan.c)
 * ------------------------------------------------------------------------ */

void tour_channels(int smoke);

static void section_channels(const struct tour *t) {
    tour_channels(t->smoke);
}

/* ------------------------------------------------------------------------
 * Timers, the network and blocking calls (tour_net.c)
 * ------------------------------------------------------------------------ */

void tour_net(int smoke);

static void section_net(const struct tour *t) {
    tour_net(t->smoke);
}

/* ------------------------------------------------------------------------
 * Profiles and the execution tracer (tour_prof.c)
 * ------------------------------------------------------------------------ */

void tour_profiles(int smoke);

static void section_profiles(const struct tour *t) {
    tour_profiles(t->smoke);
}

/* ------------------------------------------------------------------------
 * Messages nobody frees: the collected heap (tour_heap.c)
 * ------------------------------------------------------------------------ */

void tour_heap(int smoke);

static void section_heap(const struct tour *t) {
    tour_heap(t->smoke);
}

/* ------------------------------------------------------------------------
 * Panics, recover and goroutine dumps
 * ------------------------------------------------------------------------ */

struct division {
    int a, b, q;
};

static void rescue(void *arg) {
    const char *msg = gort_recover(); /* directly in the deferred call: stops the panic */
    if (msg != NULL)
        printf("    rescue: recovered \"%s\" (deferred by %s)\n", msg, (const char *)arg);
}

static void divide(void *arg) {
    struct division *d = arg;
    gort_defer(rescue, "divide");
    if (d->b == 0)
        gort_panicf("integer divide by zero (%d / %d)", d->a, d->b);
    d->q = d->a / d->b;
}

static gort_chan *dump_chan;
static gort_mutex dump_mu = GORT_MUTEX_INIT;
static gort_waitgroup dump_wg = GORT_WAITGROUP_INIT;

static void wait_for_message(void *arg) {
    (void)arg;
    gort_chan_recv(dump_chan, NULL);
}

static void wait_for_lock(void *arg) {
    (void)arg;
    gort_mutex_lock(&dump_mu);
    gort_mutex_unlock(&dump_mu);
}

static void wait_for_group(void *arg) {
    (void)arg;
    gort_wg_wait(&dump_wg);
}

static char dump_buf[1 << 15];

static bool dump_has_all(void) {
    gort_stack(dump_buf, sizeof dump_buf, true);
    return strstr(dump_buf, "[chan receive]") && strstr(dump_buf, "[sync.Mutex.Lock]") &&
           strstr(dump_buf, "[sync.WaitGroup.Wait]");
}

static void section_panics(const struct tour *t) {
    (void)t;
    printf("  gort_call(fn, arg) runs fn in a frame of its own; gort_defer registers a\n"
           "  call to run when that frame ends, even by a panic; gort_recover, called\n"
           "  directly by a deferred call, stops the panic.  10 / 2, then 1 / 0:\n\n");
    struct division ok = {10, 2, 0}, bad = {1, 0, 0};
    int r1 = gort_call(divide, &ok);
    printf("    gort_call(divide, 10 / 2) = %d, quotient %d\n", r1, ok.q);
    int r2 = gort_call(divide, &bad);
    printf("    gort_call(divide, 1 / 0)  = %d (1: a panic was recovered; we go on)\n", r2);

    printf("\n  gort_stack(buf, len, true) is Go's runtime.Stack: every goroutine, what it\n"
           "  waits for, and where (SIGQUIT prints the same and exits).  Three goroutines\n"
           "  park on a channel, a mutex and a waitgroup:\n\n");
    dump_chan = gort_chan_make(sizeof(int), 0);
    gort_mutex_lock(&dump_mu);
    gort_wg_add(&dump_wg, 1);
    gort_go(wait_for_message, NULL);
    gort_go(wait_for_lock, NULL);
    gort_go(wait_for_group, NULL);
    for (int i = 0; i < 10000 && !dump_has_all(); i++) {
        usleep(100);
        gort_yield();
    }
    /* Indent the dump. */
    for (char *line = dump_buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        printf("    %s\n", line);
    }
    gort_mutex_unlock(&dump_mu);
    gort_wg_done(&dump_wg);
    gort_chan_close(dump_chan);
    while (gort_numgoroutine() > 1)
        gort_yield();
    gort_chan_free(dump_chan);
}

/* ------------------------------------------------------------------------
 * Last: what the runtime counted
 * ------------------------------------------------------------------------ */

static void section_stats(const struct tour *t) {
    (void)t;
    gort_stats s;
    gort_read_stats(&s);
    printf("  gort_read_stats() since gort_main started:\n\n");
    printf("    goroutines created   %12s\n", commas(s.goroutines_created));
    printf("    goroutines alive     %12s   (just main now)\n", commas(s.goroutines));
    printf("    GOMAXPROCS           %12s\n", commas(s.procs));
    printf("    OS threads (Ms)      %12s   (%s idle, %s spinning)\n", commas(s.threads),
           commas(s.idle_threads), commas(s.spinning_threads));
    printf("    context switches     %12s\n", commas(s.context_switches));
    printf("    work steals          %12s   (times an idle P took work from another P)\n",
           commas(s.steals));
    printf("    stack memory         %12s KiB in use, %s KiB from the OS\n",
           commas(s.stack_inuse_bytes / 1024), commas(s.stack_sys_bytes / 1024));
}

/* ------------------------------------------------------------------------ */

static const struct section {
    const char *title;
    void (*run)(const struct tour *t);
} sections[] = {
    {"Goroutines are cheap", section_goroutines},
    {"The scheduler spreads work over every core", section_parallel},
    {"Channels, select and a worker pool", section_channels},
    {"Timers, the network and blocking calls", section_net},
    {"Messages nobody frees: the collected heap", section_heap},
    {"Panics, recover and goroutine dumps", section_panics},
    {"Profiles and traces for go tool pprof and go tool trace", section_profiles},
    /* Keep the statistics last. */
    {"What the runtime counted", section_stats},
};

static int tour_main(void *arg) {
    struct tour *t = arg;
    t->procs = gort_gomaxprocs(0);
    printf("gort %s tour: Go's goroutines and M:P:G scheduler, in C\n", gort_version());
    printf("this machine: %d CPUs, GOMAXPROCS=%d%s\n", gort_numcpu(), t->procs,
           t->smoke ? "  (smoke run: small sizes)" : "");
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        heading((int)i + 1, sections[i].title);
        sections[i].run(t);
    }
    printf("\nThat's the tour.  The API is in include/gort.h.\n");
    return 0;
}

int main(int argc, char **argv) {
    struct tour t = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-smoke") == 0 || strcmp(argv[i], "--smoke") == 0) {
            t.smoke = true;
        } else {
            fprintf(stderr, "usage: %s [-smoke]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int r = gort_main(tour_main, &t);
    if (r < 0) {
        fprintf(stderr, "tour: gort_main failed: %s\n", strerror(-r));
        return 1;
    }
    return r;
}
