/*
 * chan_stress_test.c - channels and select under load (issue 3).
 *
 * Seeded and time-bounded.  The seed is printed at the start; rerun one with
 *     GORT_STRESS_SEED=<seed> stress_chan_stress_test <case>
 * GORT_STRESS_SECONDS=<s> sets the duration of each case (default 3 s,
 * divided by gt_scale() in sanitizer builds); every case runs at least one
 * full round whatever the duration.
 *
 * Every value carries its producer and sequence number; receivers mark it in
 * a bitmap with an atomic increment, so a lost value (count 0) and a
 * duplicated one (count 2) are both caught, and the totals must balance
 * exactly.  Where a receiver sees a producer's values through one channel,
 * it also checks that they arrive in the producer's order (FIFO).
 *
 *   mpmc_unbuffered, mpmc_buffered   8 producers, 8 consumers, one channel;
 *                                    two producers are threads outside the
 *                                    runtime
 *   select_pipeline                  sources -> relays -> sinks through
 *                                    selects over random subsets of
 *                                    channels in both directions, nil cases,
 *                                    closes racing with the selects
 *   close_race                       close racing with blocked and running
 *                                    senders (their panics recovered) and
 *                                    receivers
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static uint64_t seed;
static int64_t deadline;

static void stress_init(const char *name) {
    const char *s = getenv("GORT_STRESS_SEED");
    seed = s && *s ? strtoull(s, NULL, 0) : (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    const char *d = getenv("GORT_STRESS_SECONDS");
    double secs = d && *d ? atof(d) : 3.0 / gt_scale();
    printf("%s: seed %" PRIu64 " (GORT_STRESS_SEED=%" PRIu64 "), %.2f s\n", name, seed, seed, secs);
    fflush(stdout);
    deadline = now_ns() + (int64_t)(secs * 1e9);
}

static bool time_left(void) {
    return now_ns() < deadline;
}

/* splitmix64: per-goroutine streams from the seed. */
static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define VAL(p, i) ((int64_t)(p) << 32 | (int64_t)(i))
#define VAL_P(v) ((int)((v) >> 32))
#define VAL_I(v) ((int64_t)((v)&0xffffffff))

/* ------------------------------------------------------------------------
 * mpmc: 8 producers (2 of them foreign threads), 8 consumers
 * ------------------------------------------------------------------------ */

enum { MP_P = 8, MP_C = 8, MP_FOREIGN = 2, MP_PER = 20000 };

struct mpmc {
    gort_chan *c;
    atomic_uchar *seen; /* [MP_P * MP_PER] */
    atomic_long received;
    atomic_int bad;
    atomic_int next_pid;
    atomic_int producers_done;
    gort_waitgroup cons;
};

static void mp_produce(struct mpmc *m) {
    int p = atomic_fetch_add(&m->next_pid, 1);
    for (int64_t i = 0; i < MP_PER; i++) {
        int64_t v = VAL(p, i);
        gort_chan_send(m->c, &v);
    }
    atomic_fetch_add(&m->producers_done, 1);
}

static void mp_producer(void *p) {
    mp_produce(p);
}

static void *mp_foreign_producer(void *p) {
    mp_produce(p);
    return NULL;
}

static void mp_consumer(void *p) {
    struct mpmc *m = p;
    int64_t last[MP_P];
    for (int i = 0; i < MP_P; i++)
        last[i] = -1;
    int64_t v;
    while (gort_chan_recv(m->c, &v)) {
        int pid = VAL_P(v);
        int64_t i = VAL_I(v);
        if (pid < 0 || pid >= MP_P || i >= MP_PER || i <= last[pid]) {
            atomic_fetch_add(&m->bad, 1); /* out of range, or out of order */
            continue;
        }
        last[pid] = i;
        atomic_fetch_add(&m->seen[(size_t)pid * MP_PER + (size_t)i], 1);
        atomic_fetch_add(&m->received, 1);
    }
    gort_wg_done(&m->cons);
}

static int mpmc_main(void *arg) {
    size_t cap = (size_t)(uintptr_t)arg;
    long rounds = 0, total = 0;
    struct mpmc m;
    m.seen = calloc((size_t)MP_P * MP_PER, sizeof *m.seen);
    ASSERT_NOT_NULL(m.seen);
    do {
        memset(m.seen, 0, (size_t)MP_P * MP_PER);
        atomic_init(&m.received, 0);
        atomic_init(&m.bad, 0);
        atomic_init(&m.next_pid, 0);
        atomic_init(&m.producers_done, 0);
        m.cons = (gort_waitgroup)GORT_WAITGROUP_INIT;
        m.c = gort_chan_make(sizeof(int64_t), cap);
        gort_wg_add(&m.cons, MP_C);
        for (int i = 0; i < MP_C; i++)
            go(mp_consumer, &m);
        pthread_t th[MP_FOREIGN];
        for (int i = 0; i < MP_FOREIGN; i++)
            ASSERT_EQ(pthread_create(&th[i], NULL, mp_foreign_producer, &m), 0);
        for (int i = 0; i < MP_P - MP_FOREIGN; i++)
            go(mp_producer, &m);
        /* Wait for the producers by polling (the foreign ones are not
         * goroutines a WaitGroup could be Done'd by from the start without
         * the runtime knowing of them; see chan_test). */
        while (atomic_load(&m.producers_done) < MP_P)
            gort_yield();
        for (int i = 0; i < MP_FOREIGN; i++)
            pthread_join(th[i], NULL);
        gort_chan_close(m.c);
        gort_wg_wait(&m.cons);
        ASSERT_EQ(atomic_load(&m.bad), 0);
        ASSERT_EQ(atomic_load(&m.received), (long)MP_P * MP_PER);
        for (size_t k = 0; k < (size_t)MP_P * MP_PER; k++)
            if (atomic_load(&m.seen[k]) != 1)
                GT_FAIL("value %zu of producer %zu seen %d times", k % MP_PER, k / MP_PER,
                        (int)atomic_load(&m.seen[k]));
        gort_chan_free(m.c);
        rounds++;
        total += MP_P * MP_PER;
    } while (time_left());
    free(m.seen);
    printf("%ld rounds, %ld values, none lost or duplicated\n", rounds, total);
    return 0;
}

TEST(mpmc_unbuffered) {
    stress_init("mpmc_unbuffered");
    run(mpmc_main, (void *)(uintptr_t)0);
}

TEST(mpmc_buffered) {
    stress_init("mpmc_buffered");
    run(mpmc_main, (void *)(uintptr_t)64);
}

/* ------------------------------------------------------------------------
 * select_pipeline: sources -> S[] -> relays -> T[] -> sinks
 * ------------------------------------------------------------------------ */

enum {
    PL_NS = 6,     /* stage-1 channels */
    PL_NT = 5,     /* stage-2 channels */
    PL_SRC = 6,    /* sources */
    PL_REL = 5,    /* relays */
    PL_SNK = 4,    /* sinks */
    PL_PER = 6000, /* values per source per round */
    PL_HOLD = 4,   /* values a relay may hold */
};

struct pipeline {
    gort_chan *s[PL_NS], *t[PL_NT];
    atomic_uchar *seen; /* [PL_SRC * PL_PER] */
    atomic_long received;
    atomic_int bad;
    atomic_int next_id; /* sources: 0..PL_SRC-1 */
    atomic_int next_rs; /* relays and sinks: random streams */
    gort_waitgroup src, rel, snk;
};

/*
 * Appends select cases on chans (NULL entries are skipped).  full == false:
 * a random subset (each channel with probability 1/2, at least one), for a
 * non-blocking attempt.  full == true: every channel, for a blocking select:
 * a blocking select over a random subset could wait forever for a channel
 * nobody else is selecting on.  Either way the order is shuffled, and now
 * and then a case is duplicated or a nil case added.  Returns the new count.
 */
static int pick_cases(gort_select_case *cs, int n, gort_chan **chans, int nchans, int dir,
                      void *elem, bool full, uint64_t *r) {
    uint64_t mask = rnd(r);
    int first = n;
    for (int i = 0; i < nchans; i++)
        if (chans[i] != NULL && (full || (mask >> i & 1)))
            cs[n++] = (gort_select_case){chans[i], dir, elem, false};
    if (n == first) {
        for (int i = 0; i < nchans; i++)
            if (chans[i] != NULL) {
                cs[n++] = (gort_select_case){chans[i], dir, elem, false};
                break;
            }
    }
    for (int i = n - 1; i > first; i--) { /* shuffle */
        int j = first + (int)(rnd(r) % (uint64_t)(i - first + 1));
        gort_select_case t = cs[i];
        cs[i] = cs[j];
        cs[j] = t;
    }
    if ((mask >> 40 & 7) == 0 && n > first)
        cs[n++] = cs[first]; /* the same channel twice */
    if ((mask >> 44 & 7) == 0)
        cs[n++] = (gort_select_case){NULL, dir, elem, false}; /* never proceeds */
    return n;
}

static void pl_source(void *p) {
    struct pipeline *pl = p;
    int id = atomic_fetch_add(&pl->next_id, 1);
    uint64_t r = seed ^ (uint64_t)(id + 1) * 0x1234567;
    gort_select_case cs[PL_NS + 2];
    for (int64_t i = 0; i < PL_PER; i++) {
        int64_t v = VAL(id, i);
        int n = pick_cases(cs, 0, pl->s, PL_NS, GORT_SEND, &v, false, &r);
        int k = gort_select(cs, n, false);
        if (k < 0) {
            n = pick_cases(cs, 0, pl->s, PL_NS, GORT_SEND, &v, true, &r);
            k = gort_select(cs, n, true);
        }
        if (k < 0 || cs[k].chan == NULL || !cs[k].ok)
            atomic_fetch_add(&pl->bad, 1);
    }
    gort_wg_done(&pl->src);
}

/* Receives from S (until every S channel is closed) and forwards to T,
 * holding up to PL_HOLD values: its selects mix receive and send cases. */
static void pl_relay(void *p) {
    struct pipeline *pl = p;
    uint64_t r = seed ^ (uint64_t)(atomic_fetch_add(&pl->next_rs, 1) + 1) * 0x9876543;
    gort_chan *open_s[PL_NS];
    memcpy(open_s, pl->s, sizeof open_s);
    int nopen = PL_NS;
    int64_t hold[PL_HOLD];
    int nhold = 0;
    gort_select_case cs[PL_NS + PL_NT + 4];
    while (nopen > 0 || nhold > 0) {
        int64_t in = -1;
        int n = 0, nrecv = 0, k = -1;
        for (int attempt = 0; attempt < 2 && k < 0; attempt++) {
            bool full = attempt == 1; /* first a non-blocking try on a subset */
            n = 0;
            if (nhold < PL_HOLD && nopen > 0)
                n = pick_cases(cs, n, open_s, PL_NS, GORT_RECV, &in, full, &r);
            nrecv = n;
            if (nhold > 0)
                n = pick_cases(cs, n, pl->t, PL_NT, GORT_SEND, &hold[nhold - 1], full, &r);
            k = gort_select(cs, n, full);
        }
        if (k < 0 || cs[k].chan == NULL) {
            atomic_fetch_add(&pl->bad, 1);
            break;
        }
        if (k < nrecv) {
            if (cs[k].ok) {
                hold[nhold++] = in;
            } else { /* closed: never select it again (a nil case) */
                for (int i = 0; i < PL_NS; i++)
                    if (open_s[i] == cs[k].chan)
                        open_s[i] = NULL;
                nopen--;
            }
        } else {
            nhold--; /* hold[nhold] was sent */
        }
    }
    gort_wg_done(&pl->rel);
}

static void pl_sink(void *p) {
    struct pipeline *pl = p;
    uint64_t r = seed ^ (uint64_t)(atomic_fetch_add(&pl->next_rs, 1) + 100) * 0x5555;
    gort_chan *open_t[PL_NT];
    memcpy(open_t, pl->t, sizeof open_t);
    int nopen = PL_NT;
    gort_select_case cs[PL_NT + 2];
    while (nopen > 0) {
        int64_t v = -1;
        int n = pick_cases(cs, 0, open_t, PL_NT, GORT_RECV, &v, false, &r);
        int k = gort_select(cs, n, false);
        if (k < 0) {
            n = pick_cases(cs, 0, open_t, PL_NT, GORT_RECV, &v, true, &r);
            k = gort_select(cs, n, true);
        }
        if (!cs[k].ok) {
            for (int i = 0; i < PL_NT; i++)
                if (open_t[i] == cs[k].chan)
                    open_t[i] = NULL;
            nopen--;
            continue;
        }
        int id = VAL_P(v);
        int64_t i = VAL_I(v);
        if (id < 0 || id >= PL_SRC || i >= PL_PER) {
            atomic_fetch_add(&pl->bad, 1);
            continue;
        }
        atomic_fetch_add(&pl->seen[(size_t)id * PL_PER + (size_t)i], 1);
        atomic_fetch_add(&pl->received, 1);
    }
    gort_wg_done(&pl->snk);
}

static int pipeline_main(void *arg) {
    (void)arg;
    static struct pipeline pl;
    pl.seen = calloc((size_t)PL_SRC * PL_PER, 1);
    ASSERT_NOT_NULL(pl.seen);
    long rounds = 0, total = 0;
    uint64_t r = seed;
    do {
        memset(pl.seen, 0, (size_t)PL_SRC * PL_PER);
        atomic_init(&pl.received, 0);
        atomic_init(&pl.bad, 0);
        atomic_init(&pl.next_id, 0);
        atomic_init(&pl.next_rs, 0);
        pl.src = pl.rel = pl.snk = (gort_waitgroup)GORT_WAITGROUP_INIT;
        for (int i = 0; i < PL_NS; i++)
            pl.s[i] = gort_chan_make(sizeof(int64_t), rnd(&r) % 3 == 0 ? 0 : rnd(&r) % 8);
        for (int i = 0; i < PL_NT; i++)
            pl.t[i] = gort_chan_make(sizeof(int64_t), rnd(&r) % 3 == 0 ? 0 : rnd(&r) % 8);
        gort_wg_add(&pl.src, PL_SRC);
        gort_wg_add(&pl.rel, PL_REL);
        gort_wg_add(&pl.snk, PL_SNK);
        for (int i = 0; i < PL_REL; i++)
            go(pl_relay, &pl);
        for (int i = 0; i < PL_SNK; i++)
            go(pl_sink, &pl);
        for (int i = 0; i < PL_SRC; i++)
            go(pl_source, &pl);
        gort_wg_wait(&pl.src);
        /* Close racing with the relays' selects. */
        for (int i = 0; i < PL_NS; i++)
            gort_chan_close(pl.s[i]);
        gort_wg_wait(&pl.rel);
        for (int i = 0; i < PL_NT; i++)
            gort_chan_close(pl.t[i]);
        gort_wg_wait(&pl.snk);
        ASSERT_EQ(atomic_load(&pl.bad), 0);
        ASSERT_EQ(atomic_load(&pl.received), (long)PL_SRC * PL_PER);
        for (size_t k = 0; k < (size_t)PL_SRC * PL_PER; k++)
            if (atomic_load(&pl.seen[k]) != 1)
                GT_FAIL("value %zu of source %zu seen %d times", k % PL_PER, k / PL_PER,
                        (int)atomic_load(&pl.seen[k]));
        for (int i = 0; i < PL_NS; i++)
            gort_chan_free(pl.s[i]);
        for (int i = 0; i < PL_NT; i++)
            gort_chan_free(pl.t[i]);
        rounds++;
        total += PL_SRC * PL_PER;
    } while (time_left());
    free(pl.seen);
    printf("%ld rounds, %ld values through the pipeline, none lost or duplicated\n", rounds, total);
    return 0;
}

TEST(select_pipeline) {
    stress_init("select_pipeline");
    run(pipeline_main, NULL);
}

/* ------------------------------------------------------------------------
 * close_race: close racing with senders and receivers
 * ------------------------------------------------------------------------ */

enum { CR_S = 6, CR_R = 4, CR_MAX = 4000 };

struct closerace {
    gort_chan *c;
    atomic_uchar seen[CR_S][CR_MAX];
    int64_t sent[CR_S]; /* [sender i] values whose send returned */
    atomic_int bad;
    atomic_long received;
    atomic_int next_id;
    gort_waitgroup snd, rcv;
};

struct cr_send {
    struct closerace *cr;
    int64_t v;
    bool panicked;
};

static void cr_recover(void *p) {
    struct cr_send *s = p;
    const char *m = gort_recover();
    if (m != NULL) {
        s->panicked = true;
        if (strcmp(m, "send on closed channel") != 0)
            atomic_fetch_add(&s->cr->bad, 1);
    }
}

static void cr_send_one(void *p) {
    struct cr_send *s = p;
    gort_defer(cr_recover, s);
    if (VAL_I(s->v) % 3 == 0) { /* a select's send case, sometimes */
        gort_select_case cs[2] = {{NULL, GORT_RECV, NULL, false},
                                  {s->cr->c, GORT_SEND, &s->v, false}};
        gort_select(cs, 2, true);
    } else {
        gort_chan_send(s->cr->c, &s->v);
    }
}

/* Sends until the send panics (recovered); counts what was sent. */
static void cr_sender(void *p) {
    struct closerace *cr = p;
    int id = atomic_fetch_add(&cr->next_id, 1);
    int64_t i;
    for (i = 0; i < CR_MAX; i++) {
        struct cr_send s = {cr, VAL(id, i), false};
        int r = gort_call(cr_send_one, &s);
        if (r != (s.panicked ? 1 : 0))
            atomic_fetch_add(&cr->bad, 1);
        if (s.panicked)
            break;
    }
    cr->sent[id] = i;
    gort_wg_done(&cr->snd);
}

static void cr_receiver(void *p) {
    struct closerace *cr = p;
    int64_t v;
    while (gort_chan_recv(cr->c, &v)) {
        int id = VAL_P(v);
        int64_t i = VAL_I(v);
        if (id < 0 || id >= CR_S || i >= CR_MAX) {
            atomic_fetch_add(&cr->bad, 1);
            continue;
        }
        atomic_fetch_add(&cr->seen[id][i], 1);
        atomic_fetch_add(&cr->received, 1);
    }
    gort_wg_done(&cr->rcv);
}

static int close_race_main(void *arg) {
    (void)arg;
    static struct closerace cr;
    uint64_t r = seed;
    long rounds = 0, total = 0;
    do {
        memset(&cr, 0, sizeof cr);
        cr.c = gort_chan_make(sizeof(int64_t), rnd(&r) % 4);
        gort_wg_add(&cr.snd, CR_S);
        gort_wg_add(&cr.rcv, CR_R);
        for (int i = 0; i < CR_R; i++)
            go(cr_receiver, &cr);
        for (int i = 0; i < CR_S; i++)
            go(cr_sender, &cr);
        /* Close after a random while: some senders are blocked, some
         * running, some receivers blocked. */
        int spins = (int)(rnd(&r) % 2000);
        for (int i = 0; i < spins; i++)
            gort_yield();
        gort_chan_close(cr.c);
        gort_wg_wait(&cr.snd);
        gort_wg_wait(&cr.rcv);
        ASSERT_EQ(atomic_load(&cr.bad), 0);
        long sent = 0;
        for (int s = 0; s < CR_S; s++) {
            sent += cr.sent[s];
            for (int64_t i = 0; i < CR_MAX; i++) {
                int want = i < cr.sent[s] ? 1 : 0;
                if (atomic_load(&cr.seen[s][i]) != want)
                    GT_FAIL("sender %d value %" PRId64 ": seen %d times, want %d", s, i,
                            (int)atomic_load(&cr.seen[s][i]), want);
            }
        }
        ASSERT_EQ(atomic_load(&cr.received), sent);
        gort_chan_free(cr.c);
        rounds++;
        total += sent;
    } while (time_left());
    printf("%ld rounds, %ld values sent before the closes, all received once\n", rounds, total);
    return 0;
}

TEST(close_race) {
    stress_init("close_race");
    run(close_race_main, NULL);
}

GT_MAIN()
