/*
 * tour_chan.c - the tour's section on channels, select and a worker pool.
 *
 *     void tour_channels(int smoke);
 *
 * Call it from a goroutine (tour.c's sections run in the main goroutine);
 * it prints its own indented text under the section heading the caller
 * prints.  smoke != 0 uses small sizes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

void tour_channels(int smoke);

static double chan_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------------
 * Channels: a producer and a consumer
 * ------------------------------------------------------------------------ */

static void squares(void *arg) {
    gort_chan *out = arg;
    for (int64_t i = 1; i <= 6; i++) {
        int64_t sq = i * i;
        gort_chan_send(out, &sq); /* waits until the receiver takes it */
    }
    gort_chan_close(out); /* "no more values" */
}

static void part_channels(void) {
    printf("  A channel carries values between goroutines.  gort_chan_make(sizeof(int64_t), 0)\n"
           "  makes an unbuffered one: each send waits for a receiver (a rendezvous).\n"
           "  A goroutine sends the squares of 1..6 and closes the channel:\n\n    received:");
    gort_chan *c = gort_chan_make(sizeof(int64_t), 0);
    gort_go(squares, c);
    int64_t v;
    while (gort_chan_recv(c, &v)) /* false once closed and drained */
        printf(" %" PRId64, v);
    printf("   (then gort_chan_recv returned false: closed)\n\n");
    gort_chan_free(c);

    gort_chan *b = gort_chan_make(sizeof(int64_t), 3);
    for (int64_t i = 0; i < 3; i++)
        gort_chan_send(b, &i); /* room in the buffer: no receiver needed */
    int64_t x = 99;
    bool full = !gort_chan_trysend(b, &x);
    printf("  A buffered channel holds values until someone receives them: after three\n"
           "  sends, len=%zu cap=%zu, and a non-blocking gort_chan_trysend %s.\n",
           gort_chan_len(b), gort_chan_cap(b), full ? "reports it full" : "succeeded (?)");
    gort_chan_free(b);
}

/* ------------------------------------------------------------------------
 * select: waiting on several channels at once
 * ------------------------------------------------------------------------ */

struct ticker_arg {
    gort_chan *out;
    int64_t every; /* yields between messages: the "slow" one yields more */
    int count;
};

static void chatter(void *arg) {
    struct ticker_arg *t = arg;
    for (int64_t i = 0; i < t->count; i++) {
        for (int64_t k = 0; k < t->every; k++)
            gort_yield();
        gort_chan_send(t->out, &i);
    }
    gort_chan_close(t->out);
}

static void part_select(int smoke) {
    printf("\n  gort_select waits on several channels and takes whichever is ready (a\n"
           "  random one when several are).  Two goroutines talk at different speeds;\n"
           "  one select loop hears both, and turns a closed channel into NULL, which\n"
           "  select never picks (Go's nil-channel idiom):\n\n    ");
    int n = smoke ? 8 : 12;
    struct ticker_arg fast = {gort_chan_make(sizeof(int64_t), 0), 1, n};
    struct ticker_arg slow = {gort_chan_make(sizeof(int64_t), 0), 6, n / 3};
    gort_go(chatter, &fast);
    gort_go(chatter, &slow);
    gort_chan *cf = fast.out, *cs = slow.out;
    int got_fast = 0, got_slow = 0;
    while (cf != NULL || cs != NULL) {
        int64_t v;
        gort_select_case cases[2] = {
            {cf, GORT_RECV, &v, false},
            {cs, GORT_RECV, &v, false},
        };
        int i = gort_select(cases, 2, true);
        if (!cases[i].ok) { /* closed */
            if (i == 0)
                cf = NULL;
            else
                cs = NULL;
            continue;
        }
        if (i == 0) {
            got_fast++;
            printf("f");
        } else {
            got_slow++;
            printf("S");
        }
    }
    printf("\n\n    %d from the fast one (f), %d from the slow one (S), one loop.\n", got_fast,
           got_slow);
    gort_chan_free(fast.out);
    gort_chan_free(slow.out);

    gort_chan *idle = gort_chan_make(sizeof(int64_t), 0);
    int64_t v;
    gort_select_case poll[1] = {{idle, GORT_RECV, &v, false}};
    int r = gort_select(poll, 1, false);
    printf("  With block == false, select returns -1 when nothing is ready (Go's default:\n"
           "  case): here it returned %d.\n",
           r);
    gort_chan_free(idle);
}

/* ------------------------------------------------------------------------
 * A worker pool
 * ------------------------------------------------------------------------ */

#define JOB_SIZE 1000

struct job {
    int64_t first, end; /* the job covers [first, end) */
};

struct result {
    int64_t start; /* start of the longest Collatz chain in the job */
    int64_t steps; /* its length */
    int worker;
};

struct pool {
    gort_chan *jobs, *results;
    gort_waitgroup wg;
    int next_id; /* [idmu] */
    gort_mutex idmu;
};

static int64_t collatz_steps(int64_t n) {
    int64_t steps = 0;
    while (n != 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

static void worker(void *arg) {
    struct pool *p = arg;
    gort_mutex_lock(&p->idmu);
    int id = p->next_id++;
    gort_mutex_unlock(&p->idmu);
    struct job j;
    while (gort_chan_recv(p->jobs, &j)) { /* until the jobs channel is closed */
        struct result r = {0, -1, id};
        for (int64_t n = j.first; n < j.end; n++) {
            int64_t s = collatz_steps(n);
            if (s > r.steps) {
                r.steps = s;
                r.start = n;
            }
        }
        gort_chan_send(p->results, &r);
    }
    gort_wg_done(&p->wg);
}

struct feed {
    gort_chan *jobs;
    int64_t njobs;
};

/* Sends the jobs, then closes the channel: the workers' loops end when it
 * drains. */
static void feeder(void *arg) {
    struct feed *f = arg;
    for (int64_t i = 0; i < f->njobs; i++) {
        struct job j = {i == 0 ? 1 : i * JOB_SIZE, (i + 1) * JOB_SIZE}; /* chains start at 1 */
        gort_chan_send(f->jobs, &j);
    }
    gort_chan_close(f->jobs);
}

/* Closes results once every worker is done (Go: go func() { wg.Wait(); close(results) }()). */
static void closer(void *arg) {
    struct pool *p = arg;
    gort_wg_wait(&p->wg);
    gort_chan_close(p->results);
}

static void part_pool(int smoke) {
    int nworkers = 2 * gort_gomaxprocs(0);
    if (nworkers > 16)
        nworkers = 16;
    int64_t limit = smoke ? 100000 : 1000000;
    int64_t njobs = limit / JOB_SIZE;
    printf("\n  A worker pool: %d workers take jobs from one buffered channel and send\n"
           "  results on another; a WaitGroup tells when to close the results.  The jobs:\n"
           "  the longest Collatz chain that starts below %" PRId64 ", in %" PRId64
           " slices of %d.\n",
           nworkers, limit, njobs, JOB_SIZE);
    struct pool p = {.jobs = gort_chan_make(sizeof(struct job), 64),
                     .results = gort_chan_make(sizeof(struct result), 64)};
    double t0 = chan_now_ms();
    gort_wg_add(&p.wg, nworkers);
    for (int i = 0; i < nworkers; i++)
        gort_go(worker, &p);
    gort_go(closer, &p);
    /* The jobs come from a goroutine of their own, so that main collects
     * results meanwhile (both channels are bounded). */
    struct feed feed = {p.jobs, njobs};
    gort_go(feeder, &feed);

    struct result best = {0, -1, -1}, r;
    int per_worker[16] = {0};
    int64_t results = 0;
    while (gort_chan_recv(p.results, &r)) {
        results++;
        per_worker[r.worker]++;
        if (r.steps > best.steps || (r.steps == best.steps && r.start < best.start))
            best = r;
    }
    double ms = chan_now_ms() - t0;
    printf("\n    %" PRId64 " results in %.1f ms: the longest chain starts at %" PRId64 " (%" PRId64
           " steps).\n    jobs per worker:",
           results, ms, best.start, best.steps);
    for (int i = 0; i < nworkers; i++)
        printf(" %d", per_worker[i]);
    printf("\n");
    gort_chan_free(p.jobs);
    gort_chan_free(p.results);
}

void tour_channels(int smoke) {
    part_channels();
    part_select(smoke);
    part_pool(smoke);
}
