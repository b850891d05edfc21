/*
 * race_toolkit.c - the toolkit's edges under the race detector
 * (docs/MEMORY_MODEL.md 22 to 24: gort_go_copy, errgroup and
 * gort_wg_go, a context's cancel), each with a plain variable written on
 * one side and read on the other (racecase.h).
 */
#include "racecase.h"

#include <errno.h>
#include <stdatomic.h>

int tx, ty; /* external: the stores must stay */
static gort_waitgroup wg;
static gort_chan *ch;

/* 22: the call happens before the goroutine begins; the goroutine reads
 * its copy, so the caller may overwrite its block at once. */
struct blk {
    int v[8];
};
static void read_copy(void *a) {
    const struct blk *b = a;
    if (b->v[0] != 1 || b->v[7] != 1 || tx != 1)
        abort();
    gort_wg_done(&wg);
}
NORACE(NoRaceGoCopy) {
    struct blk b;
    for (int i = 0; i < 8; i++)
        b.v[i] = 1;
    tx = 1;
    gort_wg_add(&wg, 1);
    if (gort_go_copy(read_copy, &b, sizeof b) != 0)
        abort();
    memset(&b, 0xff, sizeof b); /* the goroutine has its copy */
    gort_wg_wait(&wg);
}

/* ... and not what the caller writes after it. */
static void read_tx(void *a) {
    (void)a;
    (void)*(volatile int *)&tx;
    gort_wg_done(&wg);
}
RACE(RaceGoCopyWriteAfter) {
    struct blk b = {{0}};
    gort_wg_add(&wg, 1);
    if (gort_go_copy(read_tx, &b, sizeof b) != 0)
        abort();
    tx = 2;
    gort_wg_wait(&wg);
}

/* 23: errgroup go (go_copy, try_go) happens before the function begins,
 * each function's return before gort_errgroup_wait returns; with a
 * context, the failing function's return before the cancel it causes. */
enum { EGN = 6 };
int eg_slot[EGN], eg_failed;
static gort_ctx *eg_ctx;
static int eg_fn(void *a) {
    intptr_t i = (intptr_t)a;
    eg_slot[i] = tx + (int)i;
    return 0;
}
static int eg_fn_copy(void *a) {
    return eg_fn((void *)*(const intptr_t *)a);
}
static int eg_fail(void *a) {
    (void)a;
    eg_failed = 1;
    return -EIO;
}
static int eg_watch(void *a) {
    (void)a;
    if (gort_chan_recv(gort_ctx_done(eg_ctx), NULL))
        abort();
    if (eg_failed != 1)
        abort();
    return 0;
}
static void errgroup_round(int limit) {
    gort_errgroup *g = gort_errgroup_with_context(gort_ctx_background(), &eg_ctx);
    if (g == NULL)
        abort();
    if (limit)
        gort_errgroup_set_limit(g, limit);
    tx = 10 + limit;
    if (gort_errgroup_go(g, eg_watch, NULL) != 0)
        abort();
    for (intptr_t i = 0; i < EGN; i++) {
        int r;
        if (i % 3 == 0)
            r = gort_errgroup_go(g, eg_fn, (void *)i);
        else if (i % 3 == 1)
            r = gort_errgroup_go_copy(g, eg_fn_copy, &i, sizeof i);
        else
            while ((r = gort_errgroup_try_go(g, eg_fn, (void *)i)) == -EAGAIN)
                gort_yield(); /* no free slot yet */
        if (r != 0)
            abort();
    }
    if (gort_errgroup_go(g, eg_fail, NULL) != 0 || gort_errgroup_wait(g) != -EIO)
        abort();
    for (int i = 0; i < EGN; i++)
        if (eg_slot[i] != tx + i)
            abort();
    if (eg_failed != 1)
        abort();
    eg_failed = 0;
    gort_errgroup_free(g);
}
NORACE(NoRaceErrgroup) {
    errgroup_round(0);
    errgroup_round(3);
}

/* A write after gort_errgroup_go is not ordered before the function. */
static int eg_read_tx(void *a) {
    (void)a;
    (void)*(volatile int *)&tx;
    return 0;
}
RACE(RaceErrgroupWriteAfterGo) {
    gort_errgroup *g = gort_errgroup_new();
    if (g == NULL || gort_errgroup_go(g, eg_read_tx, NULL) != 0)
        abort();
    tx = 3;
    (void)gort_errgroup_wait(g);
    gort_errgroup_free(g);
}

/* gort_wg_go: the call before fn begins, fn's return before the Wait. */
static void wg_go_fn(void *a) {
    intptr_t i = (intptr_t)a;
    eg_slot[i] = tx + (int)i;
}
NORACE(NoRaceWaitGroupGo) {
    tx = 20;
    for (intptr_t i = 0; i < EGN; i++)
        if (gort_wg_go(&wg, wg_go_fn, (void *)i) != 0)
            abort();
    gort_wg_wait(&wg);
    for (int i = 0; i < EGN; i++)
        if (eg_slot[i] != 20 + i)
            abort();
}

/* 24: the cancel of a context (its own, its parent's cancel or free)
 * happens before a receive from its done channel that finds it closed and
 * before a gort_ctx_err that returns non-zero.  The watcher gets the
 * context before the payload is written. */
static gort_chan *ctx_pass;
static void ctx_watch(void *a) {
    int how = (int)(intptr_t)a;
    gort_ctx *c;
    if (!gort_chan_recv(ctx_pass, &c))
        abort();
    if (how == 0) {
        if (gort_chan_recv(gort_ctx_done(c), NULL))
            abort();
    } else {
        while (gort_ctx_err(c) == 0)
            gort_yield();
    }
    (void)*(volatile int *)&tx;
    csend(ch, 1);
}
/* how: 0 done channel, 1 gort_ctx_err; what: 0 own cancel, 1 parent's
 * cancel, 2 parent's free. */
static void ctx_round(int how, int what, int write_after) {
    gort_ctx *parent = gort_ctx_with_cancel(gort_ctx_background());
    gort_ctx *c = parent ? gort_ctx_with_cancel(parent) : NULL;
    if (c == NULL)
        abort();
    GO(ctx_watch, (intptr_t)how);
    gort_chan_send(ctx_pass, &c);
    if (!write_after)
        tx = 30 + how + what;
    if (what == 0)
        gort_ctx_cancel(c);
    else if (what == 1)
        gort_ctx_cancel(parent);
    else {
        gort_ctx_free(parent);
        parent = NULL;
    }
    if (write_after)
        tx = 40;
    crecv(ch);
    gort_ctx_free(c);
    gort_ctx_free(parent);
}
NORACE(NoRaceCtxCancelDone) {
    ctx_pass = gort_chan_make(sizeof(gort_ctx *), 0);
    ch = mkchan(0);
    for (int what = 0; what < 3; what++)
        ctx_round(0, what, 0);
}
NORACE(NoRaceCtxCancelErr) {
    ctx_pass = gort_chan_make(sizeof(gort_ctx *), 0);
    ch = mkchan(0);
    for (int what = 0; what < 3; what++)
        ctx_round(1, what, 0);
}

/* A write after the cancel is not ordered before the watcher's read. */
RACE(RaceCtxWriteAfterCancel) {
    ctx_pass = gort_chan_make(sizeof(gort_ctx *), 0);
    ch = mkchan(0);
    ctx_round(1, 0, 1);
}
