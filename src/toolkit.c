/*
 * toolkit.c - the everyday helpers of issue 15 built on the runtime's
 * primitives: select with a deadline, time.After channels that free
 * themselves, errgroup (golang.org/x/sync/errgroup) and WaitGroup.Go.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "fault.h"
#include "internal.h"

/* ------------------------------------------------------------------ select */

/* Cases up to this many (plus the timer's) live on the stack. */
#define SELECT_STACK_CASES 16

/* Outside gort_main no timer fires, but channels still work between
 * threads: poll the cases, sleeping between polls from 20 us up to 1 ms. */
static int select_poll(gort_select_case *cases, int ncases, int64_t ns) {
    int64_t now = gort_nanotime();
    int64_t deadline = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    int64_t nap = 20000;
    for (;;) {
        int r = gort_select(cases, ncases, false);
        if (r >= 0)
            return r;
        now = gort_nanotime();
        if (now >= deadline)
            return GORT_SELECT_TIMEOUT;
        gort_sleep(deadline - now < nap ? deadline - now : nap); /* nanosleep here */
        if (nap < 1000000)
            nap *= 2;
    }
}

GORT_API int gort_select_timeout(gort_select_case *cases, int ncases, int64_t ns) {
    if (ncases < 0)
        gort_panic("gort_select: negative ncases");
    if (ns <= 0) {
        int r = gort_select(cases, ncases, false);
        return r < 0 ? GORT_SELECT_TIMEOUT : r;
    }
    /* A thread outside the runtime polls too: a timer it parked on would
     * never fire once gort_main returns (pending timers are dropped), and
     * it would wait for ever. */
    if (!gort__runtime_running() || gort__getg() == NULL)
        return select_poll(cases, ncases, ns);
    gort_select_case stackcases[SELECT_STACK_CASES + 1];
    gort_select_case *all = stackcases;
    if (ncases > SELECT_STACK_CASES) {
        all = gort__malloc(((size_t)ncases + 1) * sizeof *all);
        if (all == NULL)
            gort__throw("gort_select_timeout: out of memory");
    }
    gort_timer *t = gort_timer_new(ns);
    if (t == NULL)
        gort__throw("gort_select_timeout: out of memory");
    if (ncases > 0) /* cases may be NULL then */
        memcpy(all, cases, (size_t)ncases * sizeof *all);
    all[ncases] = (gort_select_case){gort_timer_chan(t), GORT_RECV, NULL, false};
    int r = gort_select(all, ncases + 1, true);
    if (r == ncases) {
        r = GORT_SELECT_TIMEOUT;
    } else {
        cases[r].ok = all[r].ok;
    }
    gort_timer_free(t);
    if (all != stackcases)
        gort__free(all);
    return r;
}

/* ------------------------------------------------------------------ after */

/* The timer of a gort_after channel: freed by its own function, which runs
 * once (it is never stopped), and is untracked, so that the timer code
 * touches it no more once the function has started (time.c runone). */
typedef struct after {
    timer t;
    gort_chan *c;
} after;

static void after_fire(timer *t, int64_t now, uintptr_t seq) {
    (void)seq;
    after *a = (after *)t;
    gort_chan *c = a->c;
    gort__free(a);
    (void)gort_chan_trysend(c, &now); /* cap 1, one send: never full */
    gort_chan_release(c);             /* the timer's reference */
}

GORT_API gort_chan *gort_after(int64_t ns) {
    if (!gort__runtime_running())
        return NULL; /* nothing would ever fire it, as gort_timer_new */
    after *a = gort__malloc(sizeof *a);
    if (a == NULL)
        return NULL;
    gort_chan *c = gort__chan_make_noscan(sizeof(int64_t), 1);
    if (c == NULL) {
        gort__free(a);
        return NULL;
    }
    /* Counted before anyone can receive from c (gort__chan_autofree_recv). */
    atomic_fetch_add_explicit(&gort__chan_nautofree, 1, memory_order_relaxed);
    c->autofree = true;
    gort_chan_retain(c); /* one for the receiver, one for the timer */
    a->c = c;
    a->t = (timer){.idx = -1, .f = after_fire, .arg = c};
    int64_t now = gort__now();
    int64_t when = ns <= 0 ? now : (ns > INT64_MAX - now ? INT64_MAX : now + ns);
    gort__addtimer_to(&a->t, when, gort__synctest_timers());
    return c;
}

/* ------------------------------------------------------------------ errgroup */

/*
 * Go's errgroup.Group: a WaitGroup, the first error (under errlock, set
 * once), an optional cancel of the group's context, and for SetLimit a
 * semaphore channel of capacity n (Go's `sem chan token`: go sends a token
 * before starting, the goroutine receives one when it is done).
 */
struct gort_errgroup {
    gort_waitgroup wg;
    gort_mutex errlock;
    bool haserr;            /* [errlock] */
    int err;                /* [errlock] the first non-zero value */
    gort_ctx *ctx;          /* [immutable] with_context's, or NULL */
    gort_chan *sem;         /* [owner: the caller of go/set_limit] NULL: no limit */
    _Atomic int64_t active; /* [atomic] functions started and not yet returned */
};

/* What the goroutine of go_copy gets (fits GORT_GO_COPY_MAX). */
typedef struct egcall {
    gort_errgroup *g;
    int (*fn)(void *);
    void *arg; /* go: the user's argument */
    bool copy; /* go_copy: fn gets data (the goroutine's copy) instead */
    _Alignas(max_align_t) unsigned char data[GORT_ERRGROUP_COPY_MAX];
} egcall;
_Static_assert(offsetof(egcall, data) <= GORT_GO_COPY_MAX - GORT_ERRGROUP_COPY_MAX,
               "egcall: header larger than GORT_GO_COPY_MAX - GORT_ERRGROUP_COPY_MAX");

GORT_API gort_errgroup *gort_errgroup_new(void) {
    return gort__calloc(1, sizeof(gort_errgroup));
}

GORT_API gort_errgroup *gort_errgroup_with_context(gort_ctx *parent, gort_ctx **ctx) {
    gort_errgroup *g = gort_errgroup_new();
    if (g == NULL)
        return NULL;
    g->ctx = gort_ctx_with_cancel(parent);
    if (g->ctx == NULL) {
        gort__free(g);
        return NULL;
    }
    *ctx = g->ctx;
    return g;
}

GORT_API void gort_errgroup_set_limit(gort_errgroup *g, int n) {
    /* Relaxed: the caller is the one who starts functions; a count it reads
     * here may only be higher than the truth (a function finishing). */
    int64_t active = atomic_load_explicit(&g->active, memory_order_relaxed);
    if (active != 0)
        gort_panicf("errgroup: modify limit while %lld goroutines in the group are still active",
                    (long long)active);
    gort_chan_free(g->sem);
    g->sem = NULL;
    if (n >= 0) {
        g->sem = gort_chan_make(0, (size_t)n);
        if (g->sem == NULL)
            gort__throw("errgroup: out of memory");
    }
}

static void eg_done(gort_errgroup *g, int err) {
    if (err != 0) {
        gort_mutex_lock(&g->errlock);
        bool first = !g->haserr;
        if (first) {
            g->haserr = true;
            g->err = err;
        }
        gort_mutex_unlock(&g->errlock);
        if (first && g->ctx != NULL)
            gort_ctx_cancel(g->ctx);
    }
    atomic_fetch_sub_explicit(&g->active, 1, memory_order_relaxed);
    if (g->sem != NULL)
        (void)gort_chan_recv(g->sem, NULL); /* give the token back */
    gort_wg_done(&g->wg);
}

static void eg_run(void *p) {
    egcall *call = p;
    gort_errgroup *g = call->g;
    int err = call->fn(call->copy ? (void *)call->data : call->arg);
    eg_done(g, err);
}

/* Starts call (a block of size bytes); the slot (if any) is taken. */
static int eg_start(gort_errgroup *g, const egcall *call, size_t size) {
    gort_wg_add(&g->wg, 1);
    atomic_fetch_add_explicit(&g->active, 1, memory_order_relaxed);
    int err = gort_go_copy(eg_run, call, size);
    if (err != 0) {
        atomic_fetch_sub_explicit(&g->active, 1, memory_order_relaxed);
        if (g->sem != NULL)
            (void)gort_chan_recv(g->sem, NULL);
        gort_wg_done(&g->wg);
    }
    return err;
}

GORT_API int gort_errgroup_go(gort_errgroup *g, int (*fn)(void *arg), void *arg) {
    if (g->sem != NULL)
        gort_chan_send(g->sem, NULL); /* blocks while n functions run */
    egcall call = {.g = g, .fn = fn, .arg = arg};
    return eg_start(g, &call, offsetof(egcall, data));
}

GORT_API int gort_errgroup_go_copy(gort_errgroup *g, int (*fn)(void *arg), const void *arg,
                                   size_t size) {
    if (size > GORT_ERRGROUP_COPY_MAX || (arg == NULL && size != 0))
        return -EINVAL;
    if (g->sem != NULL)
        gort_chan_send(g->sem, NULL);
    egcall call = {.g = g, .fn = fn, .copy = true};
    if (size != 0)
        memcpy(call.data, arg, size);
    return eg_start(g, &call, offsetof(egcall, data) + size);
}

GORT_API int gort_errgroup_try_go(gort_errgroup *g, int (*fn)(void *arg), void *arg) {
    if (g->sem != NULL && !gort_chan_trysend(g->sem, NULL))
        return -EAGAIN;
    egcall call = {.g = g, .fn = fn, .arg = arg};
    return eg_start(g, &call, offsetof(egcall, data));
}

GORT_API int gort_errgroup_wait(gort_errgroup *g) {
    gort_wg_wait(&g->wg);
    if (g->ctx != NULL)
        gort_ctx_cancel(g->ctx);
    /* The functions' eg_done calls happen before wg_wait returns. */
    gort_mutex_lock(&g->errlock);
    int err = g->err;
    gort_mutex_unlock(&g->errlock);
    return err;
}

GORT_API void gort_errgroup_free(gort_errgroup *g) {
    if (g == NULL)
        return;
    gort_ctx_free(g->ctx);
    gort_chan_free(g->sem);
    gort__free(g);
}

/* ------------------------------------------------------------------ wg_go */

typedef struct wgcall {
    gort_waitgroup *wg;
    void (*fn)(void *);
    void *arg;
} wgcall;

static void wg_run(void *p) {
    wgcall *call = p;
    gort_waitgroup *wg = call->wg;
    call->fn(call->arg);
    gort_wg_done(wg);
}

GORT_API int gort_wg_go(gort_waitgroup *wg, void (*fn)(void *arg), void *arg) {
    if (fn == NULL)
        gort__fatal("go of nil func value");
    gort_wg_add(wg, 1);
    wgcall call = {wg, fn, arg};
    int err = gort_go_copy(wg_run, &call, sizeof call);
    if (err != 0)
        gort_wg_done(wg);
    return err;
}
