/*
 * torture_test.c - randomized programs over the whole runtime (issue 6).
 *
 * One seed fixes the shape of the program: how many rounds of how many
 * workers, which channels (buffered or not, nil slots), and the sequence of
 * operations each worker draws from its own PRNG stream (derived from the
 * seed, the round and the worker's index).  The interleaving is not
 * deterministic; the program shape is.  The seed is printed first:
 *     torture: seed=N
 * and a run is repeated with
 *     GORT_TORTURE_SEED=N stress_torture mixed
 * GORT_TORTURE_SECONDS=S sets the duration (default 20 s, 10 s in the
 * sanitizer builds); GORT_TORTURE_ROUNDS=N runs exactly N rounds instead.
 * `make stress DURATION=600` runs it on the release build.
 *
 * Each round: a chaos goroutine changes GOMAXPROCS (1..4) every few
 * milliseconds; one drainer goroutine per channel receives until the
 * channel is closed; workers mix blocking and non-blocking sends and
 * receives, selects over random case sets (nil channels, duplicates,
 * default, their own timer's channel), mutex / rwmutex / cond / once /
 * waitgroup use, child and detached goroutines, panics recovered by
 * deferred calls, close races, channel timers stopped and reset, after_func
 * timers, tickers, gort_sleep, gort_yield, loopback TCP connections,
 * threads outside the runtime (sending, spawning; joined inside
 * gort_syscall_enter/exit) and goroutines locked to their threads.  Then the main goroutine
 * closes every channel (racing with the drainers) and checks that every
 * count balances exactly:
 *   - per channel: sent == received + drained-after-close, and the sums of
 *     the values sent and received agree (a lost value plus a duplicated one
 *     would cancel in the counts, not in the sums); every value carries a
 *     check word, so a torn copy is caught too;
 *   - the mutex- and rwmutex-protected counters equal the sums of the
 *     increments; the cond-guarded token pool is whole again; each once ran
 *     its function exactly once iff it was called;
 *   - goroutines spawned == goroutines finished (children, detached,
 *     helpers);
 *   - timers: fired + stopped == started (channel timers and after_func);
 *     a stopped ticker, drained, sends nothing more;
 *   - sleeps never return early.
 * Any imbalance fails the test with the seed and the numbers.  A watchdog
 * thread dumps every goroutine (SIGQUIT) if a round makes no progress.
 *
 * Sockets (op_socket, marked SOCKETS): loopback TCP connections through
 * the netpoller, echoing counted bytes; written == read back == echoed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Seed, duration, PRNG
 * ------------------------------------------------------------------------ */

static uint64_t seed;
static double run_secs;
static int64_t t_start, t_deadline;

/* splitmix64: one stream per (round, worker), derived from the seed. */
static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t stream(uint64_t a, uint64_t b) {
    uint64_t s = seed ^ (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
    rnd(&s);
    return s;
}

/* Uniform in [0, n). */
static uint64_t below(uint64_t *s, uint64_t n) {
    return rnd(s) % n;
}

/* Fails the test with the seed in front of the message. */
#define TFAIL(...)                                              \
    do {                                                        \
        char tmsg_[512];                                        \
        snprintf(tmsg_, sizeof tmsg_, __VA_ARGS__);             \
        GT_FAIL("torture: seed=%" PRIu64 " FAILED: %s (rerun: " \
                "GORT_TORTURE_SEED=%" PRIu64 ")",               \
                seed, tmsg_, seed);                             \
    } while (0)

/* ------------------------------------------------------------------------
 * The round's shared state
 * ------------------------------------------------------------------------ */

enum {
    MAX_CH = 8, /* channel slots per round (some nil) */
    MAX_WORKERS = 16,
    MAX_ONCE = 4,
    MAX_CASES = 12,
    MAX_AF = 8, /* pending after_func timers per worker */
};

/* A message: the check word catches torn or mixed-up copies. */
typedef struct msg {
    uint64_t v;
    uint64_t chk;
} msg;

static uint64_t msg_chk(uint64_t v) {
    return ~v * 0xff51afd7ed558ccdull;
}

typedef struct tchan {
    gort_chan *c; /* NULL: a nil slot */
    size_t cap;
    atomic_long sent, recvd, drained;
    atomic_ulong sent_sum, recv_sum;
} tchan;

struct round {
    int nr; /* round number */
    int nch, nworkers, nonce;
    tchan ch[MAX_CH];
    /* Set by main before it closes the channels: what a drainer receives
     * after seeing it counts as drained-after-close.  (A classification
     * only; the balance does not depend on it.) */
    atomic_bool closing;

    /* Protected by mu: */
    gort_mutex mu;
    int64_t mu_count;
    atomic_long mu_expect; /* sum of the workers' increments */

    /* Protected by rw: writers keep a == b; readers check it. */
    gort_rwmutex rw;
    int64_t rw_a, rw_b;
    atomic_long rw_expect;

    /* A token pool guarded by pool_mu, waited on with pool_cond. */
    gort_mutex pool_mu;
    gort_cond pool_cond;
    int pool_tokens, pool_size; /* [pool_mu] */
    atomic_long pool_acq, pool_rel;

    gort_once once[MAX_ONCE];
    atomic_long once_runs[MAX_ONCE], once_calls[MAX_ONCE];

    /* Goroutines other than the workers and drainers. */
    gort_waitgroup detached;
    atomic_long spawned, finished;

    /* Timers: channel timers owned by workers, after_func timers. */
    atomic_long tm_started, tm_fired, tm_stopped, tm_late;
    atomic_long af_started, af_fired, af_stopped;
    atomic_long ticks, ticker_late;

    /* Sockets: bytes the workers wrote and read back, bytes echoed. */
    atomic_long sock_conns, sock_written, sock_read, sock_echoed;

    atomic_long bad; /* any other inconsistency seen by a goroutine */
    char bad_what[160];
    atomic_flag bad_set;

    atomic_long ops, messages, panics, foreign;
    atomic_int chaos_stop;
    gort_waitgroup workers, drainers, chaos;
};

static struct round R;

/* Records the first inconsistency a goroutine sees; main fails the test. */
static void bad(const char *what) {
    atomic_fetch_add(&R.bad, 1);
    if (!atomic_flag_test_and_set(&R.bad_set))
        snprintf(R.bad_what, sizeof R.bad_what, "%s", what);
}

/* Totals over the run, for the summary line. */
static long tot_conns, tot_sock_bytes, tot_foreign;
static long tot_rounds, tot_ops, tot_msgs, tot_spawned, tot_timers, tot_panics, tot_ticks;

/* Watchdog state: last progress time and what the main goroutine does. */
static atomic_llong wd_progress;
static const char *_Atomic wd_phase = "start";
static atomic_int wd_round;
static atomic_int wd_stop;

/* ------------------------------------------------------------------------
 * Goroutine accounting
 * ------------------------------------------------------------------------ */

struct spawn {
    void (*fn)(void *);
    void *arg;
};

/* go fn(arg), counted: spawned before gort_go, finished when fn returned.
 * The round's detached waitgroup covers it, so main knows when all ended. */
static void counted_body(void *p) {
    struct spawn s = *(struct spawn *)p;
    free(p);
    s.fn(s.arg);
    atomic_fetch_add(&R.finished, 1);
    gort_wg_done(&R.detached);
}

static void go_counted(void (*fn)(void *), void *arg) {
    struct spawn *s = malloc(sizeof *s);
    if (s == NULL)
        TFAIL("out of memory");
    s->fn = fn;
    s->arg = arg;
    atomic_fetch_add(&R.spawned, 1);
    gort_wg_add(&R.detached, 1);
    int r = gort_go(counted_body, s);
    if (r != 0)
        TFAIL("gort_go returned %d", r);
}

/* ------------------------------------------------------------------------
 * Channels: values, drainers
 * ------------------------------------------------------------------------ */

static void note_sent(int i, const msg *m) {
    atomic_fetch_add(&R.ch[i].sent, 1);
    atomic_fetch_add(&R.ch[i].sent_sum, m->v);
    atomic_fetch_add(&R.messages, 1);
}

static void note_recv(int i, const msg *m) {
    if (m->chk != msg_chk(m->v))
        bad("received a corrupt message");
    atomic_fetch_add(&R.ch[i].recvd, 1);
    atomic_fetch_add(&R.ch[i].recv_sum, m->v);
}

static void drainer(void *p) {
    int i = (int)(intptr_t)p;
    msg m;
    while (gort_chan_recv(R.ch[i].c, &m)) {
        /* Acquire: pairs with main's release store before its closes; a
         * late "false" only misclassifies a value as received. */
        if (atomic_load_explicit(&R.closing, memory_order_acquire)) {
            if (m.chk != msg_chk(m.v))
                bad("drained a corrupt message");
            atomic_fetch_add(&R.ch[i].drained, 1);
            atomic_fetch_add(&R.ch[i].recv_sum, m.v);
        } else {
            note_recv(i, &m);
        }
    }
    if (m.v != 0 || m.chk != 0)
        bad("receive from a closed channel did not zero the element");
    gort_wg_done(&R.drainers);
}

/* ------------------------------------------------------------------------
 * A worker
 * ------------------------------------------------------------------------ */

enum { T_IDLE, T_ARMED_SHORT, T_ARMED_LONG };

struct worker {
    int id;
    uint64_t r;
    gort_timer *tm; /* this worker's channel timer */
    int tstate;
    long mu_inc, rw_inc;
    gort_timer *af[MAX_AF]; /* pending after_func timers */
    int naf;
};

static msg new_msg(struct worker *w) {
    msg m;
    m.v = rnd(&w->r) | 1; /* never 0: a zeroed element is not a value */
    m.chk = msg_chk(m.v);
    return m;
}

/* A random channel slot that is not nil, or -1 if all are. */
static int live_chan(struct worker *w) {
    int k = (int)below(&w->r, (uint64_t)R.nch);
    for (int j = 0; j < R.nch; j++) {
        int i = (k + j) % R.nch;
        if (R.ch[i].c != NULL)
            return i;
    }
    return -1;
}

/* Receives the value of a timer that fired (stop returned false, or it
 * was chosen in a select).  Go 1.19's Stop waits for a fire in progress
 * (deltimer spins on timerRunning), so the value is already there: a value
 * that comes only later is counted as late (tm_late). */
static void timer_collect_after_stop(struct worker *w) {
    int64_t t;
    bool ok;
    if (!gort_chan_tryrecv(gort_timer_chan(w->tm), &t, &ok)) {
        atomic_fetch_add(&R.tm_late, 1);
        /* The fire is in progress: its value arrives, or the test hangs
         * (and the watchdog dumps the goroutines). */
        ok = gort_chan_recv(gort_timer_chan(w->tm), &t);
    }
    if (!ok || t <= 0)
        bad("timer channel gave no time value");
    atomic_fetch_add(&R.tm_fired, 1);
}

/* Brings the worker's timer to T_IDLE with its channel empty, counting the
 * arm that ends as stopped or fired. */
static void timer_stop(struct worker *w) {
    bool stopped = gort_timer_stop(w->tm);
    if (w->tstate == T_IDLE) {
        if (stopped)
            bad("stop of an idle timer returned true");
        int64_t t;
        if (gort_chan_tryrecv(gort_timer_chan(w->tm), &t, NULL))
            bad("idle timer's channel held a value");
        return;
    }
    if (stopped)
        atomic_fetch_add(&R.tm_stopped, 1);
    else
        timer_collect_after_stop(w);
    w->tstate = T_IDLE;
}

/* Arms the idle timer for a short while (0..2 ms). */
static void timer_arm_short(struct worker *w, int64_t ns) {
    if (w->tstate != T_IDLE)
        timer_stop(w);
    if (gort_timer_reset(w->tm, ns))
        bad("reset of an idle timer returned true");
    atomic_fetch_add(&R.tm_started, 1);
    w->tstate = T_ARMED_SHORT;
}

static void op_timer(struct worker *w) {
    uint64_t k = below(&w->r, 5);
    int64_t ns = (int64_t)below(&w->r, 2000000);
    switch (k) {
    case 0: /* stop */
        timer_stop(w);
        break;
    case 1: /* arm short */
        timer_arm_short(w, ns);
        break;
    case 2: /* arm, then wait for it */
        if (w->tstate != T_ARMED_SHORT)
            timer_arm_short(w, ns / 4);
        {
            int64_t t;
            if (!gort_chan_recv(gort_timer_chan(w->tm), &t) || t <= 0)
                bad("timer fire without a time");
            atomic_fetch_add(&R.tm_fired, 1);
            w->tstate = T_IDLE;
        }
        break;
    case 3: /* reset an armed (long) timer: true, it had not fired */
        if (w->tstate == T_IDLE) {
            gort_timer_reset(w->tm, 30 * GT_SEC);
            atomic_fetch_add(&R.tm_started, 1);
            w->tstate = T_ARMED_LONG;
        } else if (w->tstate == T_ARMED_LONG) {
            if (gort_timer_reset(w->tm, 30 * GT_SEC)) {
                atomic_fetch_add(&R.tm_stopped, 1); /* the old arm ended */
            } else {
                bad("reset of a 30 s timer found it fired");
                timer_collect_after_stop(w);
            }
            atomic_fetch_add(&R.tm_started, 1);
        } else {
            timer_stop(w);
        }
        break;
    default: /* fresh timer objects: new, maybe stop, free */
    {
        gort_timer *t = gort_timer_new(ns);
        if (t == NULL)
            TFAIL("gort_timer_new: out of memory");
        atomic_fetch_add(&R.tm_started, 1);
        if (below(&w->r, 2) == 0 && gort_timer_stop(t)) {
            atomic_fetch_add(&R.tm_stopped, 1);
        } else {
            int64_t v;
            /* Stopped too late or not stopped: the value arrives. */
            if (!gort_chan_recv(gort_timer_chan(t), &v) || v <= 0)
                bad("fresh timer fire without a time");
            atomic_fetch_add(&R.tm_fired, 1);
        }
        gort_timer_free(t);
    } break;
    }
}

static void af_fn(void *p) {
    (void)p;
    atomic_fetch_add(&R.af_fired, 1);
}

/* Ends an after_func timer: stopped, or its function ran or is running
 * (af_fn counts that itself).  Free waits for a fire in progress. */
static void af_end(gort_timer *t) {
    if (gort_timer_stop(t))
        atomic_fetch_add(&R.af_stopped, 1);
    gort_timer_free(t);
}

/* Starts an after_func timer.  Half are stopped at once; the others stay
 * pending in the worker (maybe reset meanwhile) and end when the list is
 * full or the worker ends, most of them fired by then. */
static void op_after_func(struct worker *w) {
    int64_t ns = (int64_t)below(&w->r, 1000000);
    uint64_t k = below(&w->r, 4);
    gort_timer *t = gort_after_func(ns, af_fn, NULL);
    if (t == NULL)
        TFAIL("gort_after_func: out of memory");
    atomic_fetch_add(&R.af_started, 1);
    if (k < 2) {
        af_end(t);
        return;
    }
    if (w->naf == MAX_AF) {
        af_end(w->af[0]);
        memmove(&w->af[0], &w->af[1], (MAX_AF - 1) * sizeof w->af[0]);
        w->naf--;
    }
    w->af[w->naf++] = t;
    if (k == 3) { /* reset one of the pending ones */
        gort_timer *u = w->af[below(&w->r, (uint64_t)w->naf)];
        if (gort_timer_reset(u, ns))
            atomic_fetch_add(&R.af_stopped, 1); /* the old arm ended unfired */
        atomic_fetch_add(&R.af_started, 1);
    }
}

static void op_ticker(struct worker *w) {
    int64_t p1 = 100000 + (int64_t)below(&w->r, 1000000);
    int64_t p2 = 100000 + (int64_t)below(&w->r, 1000000);
    int n1 = 1 + (int)below(&w->r, 3);
    gort_ticker *tk = gort_ticker_new(p1);
    if (tk == NULL)
        TFAIL("gort_ticker_new: out of memory");
    int64_t v;
    for (int i = 0; i < n1; i++) {
        if (!gort_chan_recv(gort_ticker_chan(tk), &v) || v <= 0)
            bad("tick without a time");
        atomic_fetch_add(&R.ticks, 1);
    }
    gort_ticker_reset(tk, p2);
    if (!gort_chan_recv(gort_ticker_chan(tk), &v) || v <= 0)
        bad("tick without a time");
    atomic_fetch_add(&R.ticks, 1);
    gort_ticker_stop(tk);
    (void)gort_chan_tryrecv(gort_ticker_chan(tk), &v, NULL); /* at most one buffered */
    /* Go 1.19: after Stop returns no tick is sent any more. */
    gort_sleep(2 * p2);
    if (gort_chan_tryrecv(gort_ticker_chan(tk), &v, NULL))
        atomic_fetch_add(&R.ticker_late, 1);
    gort_ticker_free(tk);
}

/* Select over a random case set: sends and receives on random slots (nil
 * slots included, duplicates possible), maybe the worker's timer.  block:
 * the set then holds a send on a live channel (a drainer takes it), or the
 * armed timer, so the select always proceeds. */
static void op_select(struct worker *w, bool block) {
    gort_select_case cs[MAX_CASES];
    int idx[MAX_CASES]; /* channel slot, or -1 for the timer */
    msg out = new_msg(w), in = {0, 0};
    int64_t tval = 0;
    int n = 1 + (int)below(&w->r, 6);
    bool has_sink = false;
    for (int j = 0; j < n; j++) {
        int i = (int)below(&w->r, (uint64_t)R.nch);
        int dir = below(&w->r, 2) ? GORT_SEND : GORT_RECV;
        cs[j] = (gort_select_case){R.ch[i].c, dir, dir == GORT_SEND ? (void *)&out : &in, false};
        idx[j] = i;
        if (dir == GORT_SEND && R.ch[i].c != NULL)
            has_sink = true;
    }
    /* The timer's case can end a blocking select only when it is armed
     * for a short while: a 30 s arm is re-armed short first. */
    bool use_timer = below(&w->r, 3) == 0;
    int64_t tns = (int64_t)below(&w->r, 500000);
    if (use_timer && w->tstate != T_ARMED_SHORT)
        timer_arm_short(w, tns);
    if (use_timer || (block && !has_sink && w->tstate == T_ARMED_SHORT)) {
        cs[n] = (gort_select_case){gort_timer_chan(w->tm), GORT_RECV, &tval, false};
        idx[n++] = -1;
        has_sink = true;
    }
    /* Drawn whether used or not: the stream must not depend on outcomes
     * (whether the timer case won an earlier select), so that a seed
     * repeats the program's shape. */
    int sink = live_chan(w);
    if (block && !has_sink) {
        int i = sink;
        if (i < 0) { /* every slot nil: a non-blocking select instead */
            block = false;
        } else {
            cs[n] = (gort_select_case){R.ch[i].c, GORT_SEND, &out, false};
            idx[n++] = i;
        }
    }
    int k = gort_select(cs, n, block);
    if (k < 0) {
        if (block)
            bad("blocking select returned -1");
        return;
    }
    if (k >= n || cs[k].chan == NULL) {
        bad("select chose an impossible case");
        return;
    }
    if (idx[k] < 0) {
        if (!cs[k].ok || tval <= 0)
            bad("timer case without a time");
        atomic_fetch_add(&R.tm_fired, 1);
        w->tstate = T_IDLE;
    } else if (cs[k].dir == GORT_SEND) {
        if (!cs[k].ok)
            bad("send case not ok");
        note_sent(idx[k], &out);
    } else if (!cs[k].ok) {
        bad("receive case saw a closed channel before the round ended");
    } else {
        note_recv(idx[k], &in);
    }
}

static void op_chan(struct worker *w) {
    int i = live_chan(w);
    uint64_t k = below(&w->r, 3);
    if (i < 0)
        return;
    msg m = new_msg(w);
    switch (k) {
    case 0: /* blocking send: the drainer takes it */
        gort_chan_send(R.ch[i].c, &m);
        note_sent(i, &m);
        break;
    case 1:
        if (gort_chan_trysend(R.ch[i].c, &m))
            note_sent(i, &m);
        break;
    default: {
        msg in;
        bool ok;
        if (gort_chan_tryrecv(R.ch[i].c, &in, &ok)) {
            if (!ok)
                bad("tryrecv saw a closed channel before the round ended");
            else
                note_recv(i, &in);
        }
    } break;
    }
}

static void op_mutex(struct worker *w) {
    bool try = below(&w->r, 4) == 0;
    bool hold = below(&w->r, 8) == 0; /* drawn before the outcome of try */
    if (try) {
        if (!gort_mutex_trylock(&R.mu))
            return;
    } else {
        gort_mutex_lock(&R.mu);
    }
    R.mu_count++; /* plain: the mutex orders every access */
    if (hold)
        gort_yield(); /* hold it across a reschedule */
    gort_mutex_unlock(&R.mu);
    w->mu_inc++;
}

static void op_rwmutex(struct worker *w) {
    uint64_t k = below(&w->r, 4);
    if (k == 0 || k == 1) { /* reader */
        if (k == 1) {
            if (!gort_rwmutex_tryrlock(&R.rw))
                return;
        } else {
            gort_rwmutex_rlock(&R.rw);
        }
        int64_t a = R.rw_a; /* plain reads: readers exclude writers */
        gort_yield();
        int64_t b = R.rw_b;
        if (a != b)
            bad("rwmutex reader saw a writer's half update");
        gort_rwmutex_runlock(&R.rw);
    } else {
        if (k == 3) {
            if (!gort_rwmutex_trylock(&R.rw))
                return;
        } else {
            gort_rwmutex_lock(&R.rw);
        }
        R.rw_a++;
        gort_yield();
        R.rw_b++;
        gort_rwmutex_unlock(&R.rw);
        w->rw_inc++;
    }
}

/* Takes a token from the pool (waiting on the cond), holds it across a
 * yield or a short sleep (never across anything that waits for another
 * goroutine, so the pool cannot deadlock), gives it back. */
static void op_cond(struct worker *w) {
    bool broadcast = below(&w->r, 3) == 0;
    bool sleep = below(&w->r, 4) == 0;
    gort_mutex_lock(&R.pool_mu);
    while (R.pool_tokens == 0)
        gort_cond_wait(&R.pool_cond);
    R.pool_tokens--;
    gort_mutex_unlock(&R.pool_mu);
    atomic_fetch_add(&R.pool_acq, 1);
    if (sleep)
        gort_sleep(20000);
    else
        gort_yield();
    gort_mutex_lock(&R.pool_mu);
    R.pool_tokens++;
    atomic_fetch_add(&R.pool_rel, 1);
    if (broadcast)
        gort_cond_broadcast(&R.pool_cond);
    else
        gort_cond_signal(&R.pool_cond);
    gort_mutex_unlock(&R.pool_mu);
}

static void once_fn(void *p) {
    atomic_fetch_add(&R.once_runs[(intptr_t)p], 1);
}

static void op_once(struct worker *w) {
    int i = (int)below(&w->r, (uint64_t)R.nonce);
    atomic_fetch_add(&R.once_calls[i], 1);
    gort_once_do(&R.once[i], once_fn, (void *)(intptr_t)i);
    if (atomic_load(&R.once_runs[i]) != 1) /* once_do returns after fn */
        bad("once_do returned before its function ran");
}

/* Children under a waitgroup, possibly with grandchildren. */
struct child {
    gort_waitgroup *wg;
    atomic_long *done;
    uint64_t r;
    int depth;
};

static void child_fn(void *p) {
    struct child *c = p;
    uint64_t r = c->r;
    int work = (int)below(&r, 4);
    for (int i = 0; i < work; i++) {
        if (below(&r, 2)) {
            gort_mutex_lock(&R.mu);
            R.mu_count++;
            gort_mutex_unlock(&R.mu);
            atomic_fetch_add(&R.mu_expect, 1);
        } else {
            gort_yield();
        }
    }
    if (c->depth < 2 && below(&r, 3) == 0) {
        struct child *g = malloc(sizeof *g);
        if (g == NULL)
            TFAIL("out of memory");
        *g = (struct child){c->wg, c->done, rnd(&r), c->depth + 1};
        /* Add before go, from a goroutine the wait is still counting. */
        gort_wg_add(c->wg, 1);
        atomic_fetch_add(&R.spawned, 1);
        if (gort_go(child_fn, g) != 0)
            TFAIL("gort_go failed");
    }
    atomic_fetch_add(c->done, 1);
    atomic_fetch_add(&R.finished, 1);
    gort_waitgroup *wg = c->wg;
    free(c);
    gort_wg_done(wg);
}

static void op_waitgroup(struct worker *w) {
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    atomic_long done = 0;
    int k = 1 + (int)below(&w->r, 4);
    for (int i = 0; i < k; i++) {
        struct child *c = malloc(sizeof *c);
        if (c == NULL)
            TFAIL("out of memory");
        *c = (struct child){&wg, &done, rnd(&w->r), 0};
        gort_wg_add(&wg, 1);
        atomic_fetch_add(&R.spawned, 1);
        if (gort_go(child_fn, c) != 0)
            TFAIL("gort_go failed");
    }
    gort_wg_wait(&wg);
    /* Every child and grandchild counted itself before its Done. */
    if (atomic_load(&done) < k)
        bad("waitgroup wait returned before its children were done");
}

static void detached_fn(void *p) {
    uint64_t r = (uint64_t)(uintptr_t)p;
    int n = (int)below(&r, 3);
    for (int i = 0; i < n; i++)
        gort_yield();
    if (below(&r, 4) == 0)
        gort_sleep((int64_t)below(&r, 300000));
}

/* Close race: a sender sends until its send panics on the close (the panic
 * recovered by a deferred call), a receiver receives until closed, the
 * worker closes after a random while.  What the sender's sends returned
 * for must equal what the receiver got. */
struct crace {
    gort_chan *c;
    long sent, recvd;
    bool panicked;
    gort_waitgroup wg;
};

static void cr_recover(void *p) {
    struct crace *cr = p;
    const char *m = gort_recover();
    if (m != NULL) {
        cr->panicked = true;
        atomic_fetch_add(&R.panics, 1);
        if (strcmp(m, "send on closed channel") != 0)
            bad("unexpected panic message in the close race");
    }
}

static void cr_send_one(void *p) {
    struct crace *cr = p;
    gort_defer(cr_recover, cr);
    msg m = {(uint64_t)cr->sent + 1, msg_chk((uint64_t)cr->sent + 1)};
    if (cr->sent % 3 == 0) {
        gort_select_case cs[2] = {{NULL, GORT_RECV, NULL, false}, {cr->c, GORT_SEND, &m, false}};
        gort_select(cs, 2, true);
    } else {
        gort_chan_send(cr->c, &m);
    }
}

static void cr_sender(void *p) {
    struct crace *cr = p;
    while (cr->sent < 5000) {
        int r = gort_call(cr_send_one, cr);
        if (r != (cr->panicked ? 1 : 0))
            bad("gort_call's result disagrees with the recovered panic");
        if (cr->panicked)
            break;
        cr->sent++;
    }
    atomic_fetch_add(&R.finished, 1);
    gort_wg_done(&cr->wg);
}

static void cr_receiver(void *p) {
    struct crace *cr = p;
    msg m;
    while (gort_chan_recv(cr->c, &m)) {
        if (m.chk != msg_chk(m.v) || m.v != (uint64_t)cr->recvd + 1)
            bad("close race: value out of order or corrupt");
        cr->recvd++;
    }
    atomic_fetch_add(&R.finished, 1);
    gort_wg_done(&cr->wg);
}

static void op_close_race(struct worker *w) {
    struct crace cr = {0};
    cr.c = gort_chan_make(sizeof(msg), (size_t)below(&w->r, 4));
    if (cr.c == NULL)
        TFAIL("gort_chan_make: out of memory");
    int spins = (int)below(&w->r, 200);
    gort_wg_add(&cr.wg, 2);
    atomic_fetch_add(&R.spawned, 2);
    if (gort_go(cr_receiver, &cr) != 0 || gort_go(cr_sender, &cr) != 0)
        TFAIL("gort_go failed");
    for (int i = 0; i < spins; i++)
        gort_yield();
    gort_chan_close(cr.c);
    /* The waitgroup orders the helpers' plain writes of sent/recvd before
     * our reads (Done happens before Wait returns). */
    gort_wg_wait(&cr.wg);
    if (cr.sent != cr.recvd) {
        char b[96];
        snprintf(b, sizeof b, "close race: %ld sent, %ld received", cr.sent, cr.recvd);
        bad(b);
    }
    atomic_fetch_add(&R.messages, cr.sent);
    gort_chan_free(cr.c);
}

/* A pipeline: a producer sends n values and closes; the worker receives
 * them through selects (with a nil case) until closed. */
struct pipe {
    gort_chan *c;
    long n;
};

static void pipe_producer(void *p) {
    struct pipe *pp = p;
    for (long i = 0; i < pp->n; i++) {
        msg m = {(uint64_t)i + 1, msg_chk((uint64_t)i + 1)};
        gort_chan_send(pp->c, &m);
    }
    gort_chan_close(pp->c);
    atomic_fetch_add(&R.finished, 1);
}

static void op_pipeline(struct worker *w) {
    /* The pipe lives on this stack and the producer reads it until its
     * close; we return (and free the channel) only after our receive saw
     * the close, and the producer touches neither afterwards. */
    struct pipe pp = {gort_chan_make(sizeof(msg), (size_t)below(&w->r, 3)),
                      1 + (long)below(&w->r, 64)};
    if (pp.c == NULL)
        TFAIL("gort_chan_make: out of memory");
    atomic_fetch_add(&R.spawned, 1);
    if (gort_go(pipe_producer, &pp) != 0)
        TFAIL("gort_go failed");
    long got = 0;
    for (;;) {
        msg m;
        gort_select_case cs[2] = {{NULL, GORT_RECV, NULL, false}, {pp.c, GORT_RECV, &m, false}};
        int k = gort_select(cs, 2, true);
        if (k != 1) {
            bad("pipeline select chose the nil case");
            break;
        }
        if (!cs[1].ok)
            break;
        if (m.chk != msg_chk(m.v) || m.v != (uint64_t)got + 1)
            bad("pipeline: value out of order or corrupt");
        got++;
    }
    if (got != pp.n) {
        char b[96];
        snprintf(b, sizeof b, "pipeline: %ld sent, %ld received", pp.n, got);
        bad(b);
    }
    atomic_fetch_add(&R.messages, got);
    gort_chan_free(pp.c);
}

/* A panic recovered by a deferred call in a nested frame. */
static void pr_recover(void *p) {
    int *hit = p;
    if (gort_recover() != NULL)
        (*hit)++;
}

static void pr_body(void *p) {
    gort_defer(pr_recover, p);
    gort_panicf("torture panic %d", *(int *)p);
}

static void op_panic(void) {
    int hit = 0;
    if (gort_call(pr_body, &hit) != 1 || hit != 1)
        bad("panic was not recovered exactly once");
    atomic_fetch_add(&R.panics, 1);
}

/* A thread outside the runtime: blocking sends on a live channel (its
 * drainer takes them), a mutex increment, a counted goroutine, a sleep.
 * The worker joins it inside gort_syscall_enter/exit, so its P is handed
 * off while pthread_join blocks the thread. */
struct foreign {
    int ch, nsend;
    uint64_t r;
    long mu_inc;
};

static void *foreign_thread(void *p) {
    struct foreign *f = p;
    for (int i = 0; i < f->nsend; i++) {
        msg m;
        m.v = rnd(&f->r) | 1;
        m.chk = msg_chk(m.v);
        gort_chan_send(R.ch[f->ch].c, &m);
        note_sent(f->ch, &m);
    }
    gort_mutex_lock(&R.mu);
    R.mu_count++;
    gort_mutex_unlock(&R.mu);
    f->mu_inc++;
    go_counted(detached_fn, (void *)(uintptr_t)rnd(&f->r));
    gort_sleep((int64_t)below(&f->r, 200000)); /* nanosleep out here */
    return NULL;
}

static void op_foreign(struct worker *w) {
    struct foreign f = {live_chan(w), 1 + (int)below(&w->r, 16), rnd(&w->r), 0};
    if (f.ch < 0)
        return;
    pthread_t th;
    if (pthread_create(&th, NULL, foreign_thread, &f) != 0)
        TFAIL("pthread_create failed");
    gort_syscall_enter();
    pthread_join(th, NULL); /* orders the thread's writes of f before ours */
    gort_syscall_exit();
    atomic_fetch_add(&R.foreign, 1);
    w->mu_inc += f.mu_inc;
}

/* Locked to its thread for a few operations, as LockOSThread. */
static void op_locked(struct worker *w) {
    int n = 1 + (int)below(&w->r, 4);
    gort_lock_os_thread();
    for (int i = 0; i < n; i++) {
        op_mutex(w);
        gort_yield();
    }
    gort_unlock_os_thread();
}

static void op_sleep(struct worker *w) {
    int64_t ns = (int64_t)below(&w->r, 300000);
    int64_t t0 = gort_nanotime();
    gort_sleep(ns);
    if (gort_nanotime() - t0 < ns)
        bad("gort_sleep returned early");
}

/* SOCKETS: a loopback TCP connection through the netpoller.  The worker
 * listens on 127.0.0.1:0, a server goroutine accepts one connection and
 * echoes what it reads until EOF, the worker dials and writes random
 * chunks, reading each chunk's echo back before the next (so neither side
 * can fill both socket buffers and wait on the other), then closes.
 * Counted: bytes written and read back by the worker, bytes echoed by the
 * server; at the end of the round written == read == echoed, and every
 * byte came back as sent. */
struct echo_srv {
    int lfd;
};

static void echo_server(void *p) {
    struct echo_srv *es = p;
    int fd = gort_accept(es->lfd, NULL, NULL);
    gort_close(es->lfd);
    free(es);
    if (fd < 0) {
        bad("socket: accept failed");
        return;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = gort_read(fd, buf, sizeof buf);
        if (n == 0)
            break; /* the worker closed: EOF */
        if (n < 0) {
            bad("socket: server read failed");
            break;
        }
        if (gort_write(fd, buf, (size_t)n) != n) {
            bad("socket: server write failed");
            break;
        }
        atomic_fetch_add(&R.sock_echoed, n);
    }
    gort_close(fd);
}

static void op_socket(struct worker *w) {
    int nchunks = 1 + (int)below(&w->r, 8);
    struct echo_srv *es = malloc(sizeof *es);
    if (es == NULL)
        TFAIL("out of memory");
    es->lfd = gort_listen("127.0.0.1:0", 4);
    if (es->lfd < 0)
        TFAIL("gort_listen: %d", es->lfd);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", gort_local_port(es->lfd));
    go_counted(echo_server, es); /* es and the listener are the server's now */
    int fd = gort_dial(addr, gort_nanotime() + 30 * GT_SEC);
    if (fd < 0) /* the server would wait in accept forever: fail now */
        TFAIL("gort_dial %s: %d", addr, fd);
    atomic_fetch_add(&R.sock_conns, 1);
    unsigned char out[4096], in[4096];
    for (int c = 0; c < nchunks; c++) {
        size_t n = 1 + (size_t)below(&w->r, sizeof out);
        uint64_t fill = rnd(&w->r);
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)(fill >> (8 * (i % 8))) ^ (unsigned char)i;
        if (gort_write(fd, out, n) != (ssize_t)n) {
            bad("socket: client write failed");
            break;
        }
        atomic_fetch_add(&R.sock_written, (long)n);
        size_t got = 0;
        while (got < n) {
            ssize_t r = gort_read(fd, in + got, n - got);
            if (r <= 0) {
                bad("socket: client read failed or EOF before the echo");
                break;
            }
            got += (size_t)r;
        }
        if (got != n || memcmp(in, out, n) != 0)
            bad("socket: the echo differs from what was sent");
        atomic_fetch_add(&R.sock_read, (long)got);
    }
    gort_close(fd);
}

static void worker(void *p) {
    struct worker *w = p;
    w->tm = gort_timer_new(30 * GT_SEC);
    if (w->tm == NULL)
        TFAIL("gort_timer_new: out of memory");
    atomic_fetch_add(&R.tm_started, 1);
    w->tstate = T_ARMED_LONG;
    int nops = 50 + (int)below(&w->r, 250);
    for (int i = 0; i < nops; i++) {
        uint64_t k = below(&w->r, 100);
        if (k < 16)
            op_chan(w);
        else if (k < 24)
            op_select(w, false);
        else if (k < 34)
            op_select(w, true);
        else if (k < 42)
            op_mutex(w);
        else if (k < 48)
            op_rwmutex(w);
        else if (k < 53)
            op_cond(w);
        else if (k < 56)
            op_once(w);
        else if (k < 61)
            op_waitgroup(w);
        else if (k < 65)
            go_counted(detached_fn, (void *)(uintptr_t)rnd(&w->r));
        else if (k < 73)
            op_timer(w);
        else if (k < 77)
            op_after_func(w);
        else if (k < 79)
            op_ticker(w);
        else if (k < 82)
            op_close_race(w);
        else if (k < 85)
            op_pipeline(w);
        else if (k < 88)
            op_panic();
        else if (k < 91)
            op_sleep(w);
        else if (k < 93)
            op_socket(w);
        else if (k < 94)
            op_foreign(w);
        else if (k < 96)
            op_locked(w);
        else
            gort_yield();
        atomic_fetch_add(&R.ops, 1);
    }
    timer_stop(w); /* resolves the last arm as fired or stopped */
    for (int i = 0; i < w->naf; i++)
        af_end(w->af[i]);
    gort_timer_free(w->tm);
    atomic_fetch_add(&R.mu_expect, w->mu_inc);
    atomic_fetch_add(&R.rw_expect, w->rw_inc);
    gort_wg_done(&R.workers);
}

/* Changes GOMAXPROCS every few milliseconds until told to stop. */
static void chaos(void *p) {
    uint64_t r = (uint64_t)(uintptr_t)p;
    while (!atomic_load(&R.chaos_stop)) {
        gort_sleep(500000 + (int64_t)below(&r, 4000000));
        gort_gomaxprocs(1 + (int)below(&r, 4));
    }
    gort_wg_done(&R.chaos);
}

/* ------------------------------------------------------------------------
 * A round and its checks
 * ------------------------------------------------------------------------ */

static void phase(const char *what) {
    atomic_store(&wd_phase, what);
    atomic_store(&wd_progress, (long long)gt_now_ns());
}

static void check_eq(const char *what, long a, long b) {
    if (a != b)
        TFAIL("round %d: %s: %ld != %ld (imbalance %ld)", R.nr, what, a, b, a - b);
}

static void run_round(int nr) {
    static struct worker ws[MAX_WORKERS];
    uint64_t r = stream(0x70f7u, (uint64_t)nr);
    memset(&R, 0, sizeof R);
    R.nr = nr;
    atomic_store(&wd_round, nr);
    R.nch = 1 + (int)below(&r, MAX_CH);
    R.nworkers = 2 + (int)below(&r, MAX_WORKERS - 1);
    R.nonce = 1 + (int)below(&r, MAX_ONCE);
    R.pool_size = R.pool_tokens = 1 + (int)below(&r, 3);
    gort_cond_init(&R.pool_cond, &R.pool_mu);
    for (int i = 0; i < R.nch; i++) {
        uint64_t k = below(&r, 8);
        if (k == 0 && i > 0)
            continue; /* a nil slot (slot 0 is always live) */
        R.ch[i].cap = k < 4 ? 0 : (size_t)below(&r, 9);
        R.ch[i].c = gort_chan_make(sizeof(msg), R.ch[i].cap);
        if (R.ch[i].c == NULL)
            TFAIL("gort_chan_make: out of memory");
    }

    phase("spawning");
    gort_wg_add(&R.chaos, 1);
    if (gort_go(chaos, (void *)(uintptr_t)rnd(&r)) != 0)
        TFAIL("gort_go failed");
    for (int i = 0; i < R.nch; i++) {
        if (R.ch[i].c == NULL)
            continue;
        gort_wg_add(&R.drainers, 1);
        if (gort_go(drainer, (void *)(intptr_t)i) != 0)
            TFAIL("gort_go failed");
    }
    gort_wg_add(&R.workers, R.nworkers);
    for (int i = 0; i < R.nworkers; i++) {
        ws[i] = (struct worker){.id = i, .r = stream((uint64_t)nr + 1, (uint64_t)i + 1)};
        if (gort_go(worker, &ws[i]) != 0)
            TFAIL("gort_go failed");
    }

    phase("waiting for the workers");
    gort_wg_wait(&R.workers);
    phase("waiting for detached goroutines");
    gort_wg_wait(&R.detached);
    atomic_store(&R.chaos_stop, 1);
    gort_wg_wait(&R.chaos);

    phase("closing");
    /* Release: pairs with the drainers' acquire loads of closing. */
    atomic_store_explicit(&R.closing, true, memory_order_release);
    for (int i = 0; i < R.nch; i++)
        if (R.ch[i].c != NULL)
            gort_chan_close(R.ch[i].c);
    gort_wg_wait(&R.drainers);

    phase("waiting for after_func timers");
    /* after_func goroutines are not counted by any waitgroup: wait for the
     * count (a lost fire shows here as a hang, caught by the watchdog). */
    while (atomic_load(&R.af_fired) + atomic_load(&R.af_stopped) < atomic_load(&R.af_started))
        gort_sleep(100000);
    /* Pipeline producers count themselves after their close. */
    phase("waiting for helpers");
    while (atomic_load(&R.finished) < atomic_load(&R.spawned))
        gort_yield();

    phase("checking");
    /* Every goroutine that writes the plain fields read below (mu_count,
     * rw_a/rw_b, pool_tokens, bad_what) has been waited for: workers,
     * drainers and detached goroutines through their waitgroups (Done
     * happens before Wait returns), children and close-race helpers
     * through the waitgroups their worker waited on before its own Done. */
    if (atomic_load(&R.bad) != 0)
        TFAIL("round %d: %ld inconsistencies, the first: %s", nr, atomic_load(&R.bad), R.bad_what);
    for (int i = 0; i < R.nch; i++) {
        tchan *c = &R.ch[i];
        if (c->c == NULL)
            continue;
        long s = atomic_load(&c->sent), rv = atomic_load(&c->recvd), d = atomic_load(&c->drained);
        if (s != rv + d || atomic_load(&c->sent_sum) != atomic_load(&c->recv_sum))
            TFAIL("round %d channel %d (cap %zu): sent %ld != received %ld + drained %ld "
                  "(lost %ld), sums %s",
                  nr, i, c->cap, s, rv, d, s - rv - d,
                  atomic_load(&c->sent_sum) == atomic_load(&c->recv_sum) ? "equal" : "differ");
        if (gort_chan_len(c->c) != 0)
            TFAIL("round %d channel %d: %zu values left after the drain", nr, i,
                  gort_chan_len(c->c));
        gort_chan_free(c->c);
    }
    check_eq("mutex counter vs increments", R.mu_count, atomic_load(&R.mu_expect));
    check_eq("rwmutex counter vs increments", R.rw_a, atomic_load(&R.rw_expect));
    check_eq("rwmutex halves", R.rw_a, R.rw_b);
    check_eq("cond pool tokens", R.pool_tokens, R.pool_size);
    check_eq("cond pool acquires vs releases", atomic_load(&R.pool_acq), atomic_load(&R.pool_rel));
    for (int i = 0; i < R.nonce; i++)
        check_eq("once runs", atomic_load(&R.once_runs[i]), atomic_load(&R.once_calls[i]) > 0);
    check_eq("goroutines spawned vs finished", atomic_load(&R.spawned), atomic_load(&R.finished));
    check_eq("timers started vs fired + stopped", atomic_load(&R.tm_started),
             atomic_load(&R.tm_fired) + atomic_load(&R.tm_stopped));
    /* Go 1.19's Stop and Reset wait for a fire in progress (deltimer spins
     * on timerRunning): after Stop returns false the value is in the
     * channel, and a stopped ticker sends nothing more. */
    check_eq("timer values that arrived after Stop returned false", atomic_load(&R.tm_late), 0);
    check_eq("ticks sent after Ticker.Stop returned", atomic_load(&R.ticker_late), 0);
    check_eq("socket bytes written vs read back", atomic_load(&R.sock_written),
             atomic_load(&R.sock_read));
    check_eq("socket bytes written vs echoed", atomic_load(&R.sock_written),
             atomic_load(&R.sock_echoed));
    check_eq("after_func started vs fired + stopped", atomic_load(&R.af_started),
             atomic_load(&R.af_fired) + atomic_load(&R.af_stopped));

    tot_rounds++;
    tot_ops += atomic_load(&R.ops);
    tot_msgs += atomic_load(&R.messages);
    tot_spawned += atomic_load(&R.spawned);
    tot_timers += atomic_load(&R.tm_started) + atomic_load(&R.af_started);
    tot_panics += atomic_load(&R.panics);
    tot_ticks += atomic_load(&R.ticks);
    tot_conns += atomic_load(&R.sock_conns);
    tot_foreign += atomic_load(&R.foreign);
    tot_sock_bytes += atomic_load(&R.sock_written);
}

/* ------------------------------------------------------------------------
 * Watchdog: a plain thread; a round without progress for too long dumps
 * every goroutine (SIGQUIT: gort prints them and exits 2).
 * ------------------------------------------------------------------------ */

static void *watchdog(void *p) {
    (void)p;
    int64_t limit = 60 * GT_SEC * gt_scale();
    while (!atomic_load(&wd_stop)) {
        usleep(200000);
        int64_t idle = gt_now_ns() - (int64_t)atomic_load(&wd_progress);
        if (idle > limit) {
            fprintf(stderr,
                    "torture: seed=%" PRIu64 " STUCK: round %d, phase \"%s\" for %.0f s "
                    "(rerun: GORT_TORTURE_SEED=%" PRIu64 "); dumping goroutines\n",
                    seed, atomic_load(&wd_round), atomic_load(&wd_phase), (double)idle / 1e9, seed);
            fflush(NULL);
            kill(getpid(), SIGQUIT);
            sleep(10);
            _exit(3);
        }
    }
    return NULL;
}

static int torture_main(void *arg) {
    (void)arg;
    int procs0 = gort_gomaxprocs(0);
    /* GORT_TORTURE_ROUNDS=N: exactly N rounds, whatever the time (the same
     * seed then gives the same ops count: the program's shape). */
    const char *rs = getenv("GORT_TORTURE_ROUNDS");
    int rounds = rs && *rs ? atoi(rs) : 0;
    int nr = 0;
    do {
        run_round(nr++);
    } while (rounds > 0 ? nr < rounds : gt_now_ns() < t_deadline);
    gort_gomaxprocs(procs0);
    return 0;
}

/* Reads the seed and the duration (default: dflt seconds, half that in
 * the sanitizer builds) and prints the seed. */
static void torture_init(double dflt) {
    const char *s = getenv("GORT_TORTURE_SEED");
    seed = s && *s ? strtoull(s, NULL, 0) : (uint64_t)gt_now_ns() ^ ((uint64_t)getpid() << 32);
    const char *d = getenv("GORT_TORTURE_SECONDS");
    run_secs = d && *d ? atof(d) : (gt_scale() > 1 ? dflt / 2 : dflt);
    printf("torture: seed=%" PRIu64 " (rerun: GORT_TORTURE_SEED=%" PRIu64 "), %.1f s\n", seed, seed,
           run_secs);
    fflush(stdout);
    t_start = gt_now_ns();
    t_deadline = t_start + (int64_t)(run_secs * 1e9);
}

TEST(mixed) {
    torture_init(20.0);
    phase("start");
    pthread_t wd;
    ASSERT_EQ(pthread_create(&wd, NULL, watchdog, NULL), 0);
    run(torture_main, NULL);
    atomic_store(&wd_stop, 1);
    pthread_join(wd, NULL);
    double secs = (double)(gt_now_ns() - t_start) / 1e9;
    printf("torture: seed=%" PRIu64 " duration=%.1fs rounds=%ld ops=%ld messages=%ld "
           "goroutines=%ld timers=%ld ticks=%ld panics=%ld conns=%ld socket_bytes=%ld threads=%ld "
           "lost=0\n",
           seed, secs, tot_rounds, tot_ops, tot_msgs, tot_spawned, tot_timers, tot_ticks,
           tot_panics, tot_conns, tot_sock_bytes, tot_foreign);
}

/* ------------------------------------------------------------------------
 * stop_vs_fire: Stop racing with the fire, many times (the torture run
 * meets this race only now and then).  Go 1.19's contract: when Stop
 * returns false the value is already in the channel; when Ticker.Stop
 * returns no tick follows.
 * ------------------------------------------------------------------------ */

enum { SF_G = 2 };

static atomic_long sf_late, sf_races, sf_tick_late;

static void sf_worker(void *p) {
    uint64_t r = stream(0x5f, (uint64_t)(uintptr_t)p);
    gort_waitgroup *wg = &R.workers;
    while (gt_now_ns() < t_deadline) {
        int64_t ns = 20000 + (int64_t)below(&r, 60000);
        gort_timer *t = gort_timer_new(ns);
        if (t == NULL)
            TFAIL("gort_timer_new: out of memory");
        int64_t until = gort_nanotime() + ns - 5000 + (int64_t)below(&r, 10000);
        while (gort_nanotime() < until) {
        }
        int64_t v;
        if (!gort_timer_stop(t)) {
            atomic_fetch_add(&sf_races, 1);
            if (!gort_chan_tryrecv(gort_timer_chan(t), &v, NULL)) {
                atomic_fetch_add(&sf_late, 1);
                gort_chan_recv(gort_timer_chan(t), &v); /* arrives later */
            }
        }
        gort_timer_free(t);

        gort_ticker *tk = gort_ticker_new(ns);
        if (tk == NULL)
            TFAIL("gort_ticker_new: out of memory");
        until = gort_nanotime() + ns - 5000 + (int64_t)below(&r, 10000);
        while (gort_nanotime() < until) {
        }
        gort_ticker_stop(tk);
        (void)gort_chan_tryrecv(gort_ticker_chan(tk), &v, NULL);
        gort_sleep(2 * ns);
        if (gort_chan_tryrecv(gort_ticker_chan(tk), &v, NULL))
            atomic_fetch_add(&sf_tick_late, 1);
        gort_ticker_free(tk);
    }
    gort_wg_done(wg);
}

static int stop_vs_fire_main(void *arg) {
    (void)arg;
    memset(&R, 0, sizeof R);
    /* Fewer racers than Ps: an idle M sleeps until the timer's deadline
     * and fires it from another P while the racer spins towards its Stop. */
    int procs0 = gort_gomaxprocs(4);
    gort_wg_add(&R.workers, SF_G);
    for (int i = 0; i < SF_G; i++)
        if (gort_go(sf_worker, (void *)(uintptr_t)i) != 0)
            TFAIL("gort_go failed");
    gort_wg_wait(&R.workers);
    gort_gomaxprocs(procs0);
    printf("torture: seed=%" PRIu64 " stop_vs_fire: %ld stops lost the race, %ld of them "
           "before the value was sent; %ld ticks after Ticker.Stop\n",
           seed, atomic_load(&sf_races), atomic_load(&sf_late), atomic_load(&sf_tick_late));
    if (atomic_load(&sf_late) != 0 || atomic_load(&sf_tick_late) != 0)
        TFAIL("Stop returned before a fire in progress had sent (%ld timer values, %ld ticks "
              "came after Stop)",
              atomic_load(&sf_late), atomic_load(&sf_tick_late));
    return 0;
}

TEST(stop_vs_fire) {
    torture_init(5.0);
    run(stop_vs_fire_main, NULL);
}

GT_MAIN()
