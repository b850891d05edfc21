/*
 * context.c - gort_ctx, Go's package context: cancellation trees with
 * deadlines and values.  Mirrors context/context.go (cancelCtx, timerCtx,
 * valueCtx folded into one node type).
 *
 * A context is a node with a parent (NULL under the background context),
 * a list of the children that cancelling it must cancel, a done channel
 * (element size 0, made with the node so that gort_ctx_done never fails),
 * an error (0, -ECANCELED, -ETIMEDOUT), an optional deadline timer and an
 * optional key/value.  The background context is a static node that is
 * never cancelled and has no done channel.
 *
 * Lifetime.  Without a garbage collector the user frees each context it
 * made (gort_ctx_free, which cancels it first).  A node is reference
 * counted: one reference for the user's handle and one for each child not
 * yet freed, which looks up values and the deadline through it.  So
 * freeing a parent before its children is allowed ("children stay valid
 * until freed"): the parent's memory goes when its last child goes.
 *
 * Cancelling.  cancel(ctx, err) sets err once, closes done, removes the
 * deadline timer from its heap (nothing stays in a timer heap once a tree
 * is cancelled) and cancels every linked child, then (for a cancel the user
 * asked for) unlinks ctx from its parent.  A child made under a cancelled
 * parent is born cancelled.
 *
 * Locks.  Each node has a runtime lock (gort__rtlock: these paths also
 * run on g0, from the deadline timer, and never park).  Order: parent
 * before child (cancel holds ctx while it cancels the children, as Go's
 * cancelCtx.cancel holds c.mu); a node's lock before its timer heap's lock
 * and before its done channel's lock.  A child unlinks itself by taking its
 * parent's lock while holding none.
 *
 * The deadline timer's function runs with no lock held (time.c): it
 * cancels with -ETIMEDOUT.  Free waits for a run in progress before the
 * node goes (gort__deltimer_sync).  Inside a synctest bubble the deadline
 * is on the bubble's fake clock and the timer in the bubble's heap.
 */
#include <errno.h>
#include <stdlib.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"

struct gort_ctx {
    gort__rtlock lock;
    struct gort_ctx *parent;   /* [immutable] NULL: a child of the background */
    struct gort_ctx *children; /* [lock] linked children (still to cancel with us) */
    struct gort_ctx *next;     /* [parent->lock] sibling links in parent->children */
    struct gort_ctx *prev;     /* [parent->lock] */
    bool linked;               /* [parent->lock] on parent->children */
    struct gort_ctx *pnext;    /* [background.lock] links on the pending list */
    struct gort_ctx *pprev;    /* [background.lock] */
    bool pending;              /* [background.lock] on the pending list */
    bool deferred;             /* [immutable] made while no gort_main ran */
    bool has_timer;            /* [immutable] t is this node's deadline timer */
    bool has_value;            /* [immutable] key/val are set */
    _Atomic int err;           /* [atomic; write under lock] 0, -ECANCELED, -ETIMEDOUT */
    _Atomic bool settled;      /* [atomic; write under lock] cancel done: closed, children too */
    gort_chan *done;           /* [immutable] closed by cancel; NULL for the background */
    int64_t deadline;          /* [immutable] own or inherited, 0: none */
    const void *key;           /* [immutable] with val, a collector root (with_value) */
    void *val;                 /* [immutable] */
    gort__gcroot root;         /* [rootlock] key and val as a root (has_value) */
    _Atomic uint32_t refs;     /* [atomic] the handle + one per child not yet freed */
    timer t;                   /* deadline timer (has_timer) */
};
_Static_assert(offsetof(struct gort_ctx, val) == offsetof(struct gort_ctx, key) + sizeof(void *),
               "gort_ctx: key and val are one root range");

static struct gort_ctx background = {.lock = GORT__RTLOCK_INIT(LOCKRANK_CTX)};

/* Contexts with a deadline timer made while no gort_main ran (before it,
 * or after it returned), when time.c has no P to keep a timer on: they
 * wait here for the next gort_main to arm their timers
 * (gort__ctx_arm_pending).  Guarded by background.lock, which nothing
 * else takes (the background context is never cancelled and keeps no
 * children); it is taken with no other lock held. */
static gort_ctx *pending;

/* Takes ctx off the pending list.  background.lock held. */
static void unpend_locked(gort_ctx *ctx) {
    if (!ctx->pending)
        return;
    if (ctx->pprev != NULL)
        ctx->pprev->pnext = ctx->pnext;
    else
        pending = ctx->pnext;
    if (ctx->pnext != NULL)
        ctx->pnext->pprev = ctx->pprev;
    ctx->pnext = ctx->pprev = NULL;
    ctx->pending = false;
}

/* Live nodes (internal.h). */
_Atomic int64_t gort__ctx_live;

GORT_API gort_ctx *gort_ctx_background(void) {
    return &background;
}

/* Cancels ctx and its linked children with err.  ctx->lock not held. */
static void cancel(gort_ctx *ctx, int err) {
    gort__lock(&ctx->lock);
    if (atomic_load_explicit(&ctx->err, memory_order_relaxed) != 0) {
        gort__unlock(&ctx->lock);
        return;
    }
    /* Release: pairs with gort_ctx_err's acquire, so that what preceded the
     * cancel is visible to whoever sees the error (as the close of done
     * publishes it to receivers).  Race mode (edge 24): the same edge for
     * ThreadSanitizer, which does not see our atomics; announced before the
     * store, so that a gort_ctx_err that sees the error finds the release
     * made (the close below announces the done channel's own). */
    san_release(&ctx->err);
    atomic_store_explicit(&ctx->err, err, memory_order_release);
    gort_chan_close(ctx->done);
    if (ctx->has_timer)
        (void)gort__deltimer(&ctx->t); /* a fire in progress finishes on its own */
    for (gort_ctx *c = ctx->children; c != NULL;) {
        gort_ctx *next = c->next;
        c->linked = false; /* under our lock: c->next/prev/linked are ours */
        c->next = c->prev = NULL;
        cancel(c, err);
        c = next;
    }
    ctx->children = NULL;
    /* Release: pairs with gort_ctx_err's acquire, so that whoever sees the
     * error also sees the close of done and every child's cancel above. */
    atomic_store_explicit(&ctx->settled, true, memory_order_release);
    gort__unlock(&ctx->lock);
}

/* Removes ctx from its parent's children, if it is still there. */
static void unlink_from_parent(gort_ctx *ctx) {
    gort_ctx *p = ctx->parent;
    if (p == NULL)
        return;
    gort__lock(&p->lock);
    if (ctx->linked) {
        if (ctx->prev != NULL)
            ctx->prev->next = ctx->next;
        else
            p->children = ctx->next;
        if (ctx->next != NULL)
            ctx->next->prev = ctx->prev;
        ctx->next = ctx->prev = NULL;
        ctx->linked = false;
    }
    gort__unlock(&p->lock);
}

/* The deadline timer's function (no lock held; g0 or a bubble's root). */
static void deadline_fire(timer *t, int64_t now, uintptr_t seq) {
    (void)now;
    (void)seq;
    cancel((gort_ctx *)t->arg, -ETIMEDOUT);
}

/* Drops one reference; the last one frees the node and drops its parent's. */
static void release(gort_ctx *ctx) {
    while (ctx != NULL) {
        /* acq_rel: every user's accesses happen before the free. */
        if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
            return;
        if (ctx->has_timer) {
            /* Only a node made outside gort_main was ever on the pending
             * list; the lock also waits for gort__ctx_arm_pending to be
             * done reading our count.  Others skip the global lock. */
            if (ctx->deferred) {
                gort__lock(&background.lock);
                unpend_locked(ctx);
                gort__unlock(&background.lock);
            }
            (void)gort__deltimer_sync(&ctx->t); /* also waits for a fire in progress */
        }
        gort_chan_free(ctx->done);
        if (ctx->has_value)
            gort__gc_root_del(&ctx->root);
        gort_ctx *parent = ctx->parent;
        gort__free(ctx);
        atomic_fetch_sub_explicit(&gort__ctx_live, 1, memory_order_relaxed);
        ctx = parent;
    }
}

/* A new node under parent, linked (or born cancelled), with the deadline
 * min(parent's, deadline) (0: none).  NULL when out of memory. */
static gort_ctx *newctx(gort_ctx *parent, int64_t deadline) {
    if (parent == NULL)
        gort_panic("cannot create context from nil parent");
    gort_ctx *ctx = gort__calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    gort__lockinit(&ctx->lock, LOCKRANK_CTX);
    ctx->done = gort_chan_make(0, 0);
    if (ctx->done == NULL) {
        gort__free(ctx);
        return NULL;
    }
    atomic_init(&ctx->refs, 1);
    atomic_fetch_add_explicit(&gort__ctx_live, 1, memory_order_relaxed);
    ctx->t.idx = -1;
    if (parent == &background) {
        ctx->deadline = deadline;
        return ctx;
    }
    ctx->parent = parent;
    ctx->deadline = parent->deadline;
    if (deadline != 0 && (ctx->deadline == 0 || deadline < ctx->deadline))
        ctx->deadline = deadline;
    /* Relaxed: the caller holds a reference to parent already. */
    atomic_fetch_add_explicit(&parent->refs, 1, memory_order_relaxed);
    gort__lock(&parent->lock);
    int perr = atomic_load_explicit(&parent->err, memory_order_relaxed);
    if (perr == 0) {
        ctx->next = parent->children;
        if (ctx->next != NULL)
            ctx->next->prev = ctx;
        parent->children = ctx;
        ctx->linked = true;
    }
    gort__unlock(&parent->lock);
    if (perr != 0)
        cancel(ctx, perr);
    return ctx;
}

GORT_API gort_ctx *gort_ctx_with_cancel(gort_ctx *parent) {
    return newctx(parent, 0);
}

GORT_API gort_ctx *gort_ctx_with_deadline(gort_ctx *parent, int64_t deadline) {
    /* 0 is "no deadline" to gort_ctx_deadline and to a child's
     * inheritance; a deadline at 0 is long past on either clock (the
     * monotonic one counts from boot, a bubble's from 2000), as is -1, so
     * it is kept as -1 (it read as no deadline at all). */
    if (deadline == 0)
        deadline = -1;
    if (parent != NULL && parent->deadline != 0 && parent->deadline <= deadline)
        return newctx(parent, 0); /* the parent's deadline comes first (Go) */
    gort_ctx *ctx = newctx(parent, deadline);
    if (ctx == NULL)
        return NULL;
    if (deadline <= gort__now()) {
        cancel(ctx, -ETIMEDOUT); /* deadline already passed */
        return ctx;
    }
    ctx->has_timer = true;
    ctx->t.f = deadline_fire;
    ctx->t.arg = ctx;
    ctx->t.track = true;
    /* Outside gort_main the timer waits for the next one.  The check is
     * made again under background.lock, which gort__ctx_arm_pending takes
     * after gort_main has set the runtime running: either it sees ctx on
     * the list, or we see the runtime running and arm the timer ourselves.
     * A first sight of it running (seq_cst, the store's order) needs no
     * lock: inside a run, contexts are made without a global lock. */
    if (!gort__runtime_running()) {
        gort__lock(&background.lock);
        if (!gort__runtime_running()) {
            ctx->pnext = pending;
            if (pending != NULL)
                pending->pprev = ctx;
            pending = ctx;
            ctx->pending = true;
            ctx->deferred = true;
            gort__unlock(&background.lock);
            return ctx;
        }
        gort__unlock(&background.lock);
    }
    /* Under the lock, after checking err: a cancel that ran before us (the
     * parent's) must not leave the timer behind in a heap. */
    gort__lock(&ctx->lock);
    if (atomic_load_explicit(&ctx->err, memory_order_relaxed) == 0)
        gort__addtimer_to(&ctx->t, deadline, gort__synctest_timers());
    gort__unlock(&ctx->lock);
    return ctx;
}

void gort__ctx_arm_pending(void) {
    for (;;) {
        gort__lock(&background.lock);
        gort_ctx *ctx = pending;
        if (ctx == NULL) {
            gort__unlock(&background.lock);
            return;
        }
        unpend_locked(ctx);
        /* A reference of our own while we arm it, unless its last one is
         * already being dropped (that release waits for our unlock to look
         * for it on the list, finds it gone, and frees it).  Relaxed: the
         * lock orders us with that release's unpend, and the node stays
         * ours to read until our own release below. */
        uint32_t refs = atomic_load_explicit(&ctx->refs, memory_order_relaxed);
        while (refs != 0 &&
               !atomic_compare_exchange_weak_explicit(&ctx->refs, &refs, refs + 1,
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
        gort__unlock(&background.lock);
        if (refs == 0)
            continue;
        /* Under its lock, after checking err, as gort_ctx_with_deadline
         * (a cancel made meanwhile leaves no timer behind).  A deadline
         * already past fires at once. */
        gort__lock(&ctx->lock);
        if (atomic_load_explicit(&ctx->err, memory_order_relaxed) == 0)
            gort__addtimer_to(&ctx->t, ctx->deadline, NULL);
        gort__unlock(&ctx->lock);
        release(ctx);
    }
}

GORT_API gort_ctx *gort_ctx_with_timeout(gort_ctx *parent, int64_t ns) {
    int64_t now = gort__now();
    int64_t d = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    return gort_ctx_with_deadline(parent, d);
}

GORT_API gort_ctx *gort_ctx_with_value(gort_ctx *parent, const void *key, void *val) {
    gort_ctx *ctx = newctx(parent, 0);
    if (ctx == NULL)
        return NULL;
    ctx->key = key;
    ctx->val = val;
    /* The key and the value stay alive for the collector while the node
     * exists (Go: the valueCtx holds them), until release frees it. */
    gort__gc_root_add(&ctx->root, &ctx->key, 2 * sizeof(void *));
    ctx->has_value = true;
    return ctx;
}

GORT_API void *gort_ctx_value(gort_ctx *ctx, const void *key) {
    for (; ctx != NULL && ctx != &background; ctx = ctx->parent)
        if (ctx->has_value && ctx->key == key)
            return ctx->val;
    return NULL;
}

GORT_API int64_t gort_ctx_deadline(gort_ctx *ctx) {
    return ctx == NULL ? 0 : ctx->deadline;
}

GORT_API void gort_ctx_cancel(gort_ctx *ctx) {
    if (ctx == NULL || ctx == &background)
        return;
    cancel(ctx, -ECANCELED);
    unlink_from_parent(ctx);
}

GORT_API gort_chan *gort_ctx_done(gort_ctx *ctx) {
    return ctx == NULL ? NULL : ctx->done;
}

GORT_API int gort_ctx_err(gort_ctx *ctx) {
    if (ctx == NULL)
        return 0;
    /* Acquire: pairs with cancel's release store (and, in race mode, its
     * san_release: only an error seen is an edge). */
    int err = atomic_load_explicit(&ctx->err, memory_order_acquire);
    if (err == 0)
        return 0;
    /* Go's Err takes the lock that cancel holds from the error's store to
     * after the close of done and the children's cancels, so that a
     * non-nil Err means all of that is done.  The same here: an error
     * seen while cancel is still running waits for its unlock.  Acquire:
     * pairs with the release store of settled at cancel's end; when it
     * is not seen yet, our lock acquire orders us after cancel's unlock
     * (the error we saw was stored under that lock). */
    if (!atomic_load_explicit(&ctx->settled, memory_order_acquire)) {
        gort__lock(&ctx->lock);
        gort__unlock(&ctx->lock);
    }
    san_acquire(&ctx->err);
    return err;
}

GORT_API void gort_ctx_free(gort_ctx *ctx) {
    if (ctx == NULL || ctx == &background)
        return;
    gort_ctx_cancel(ctx);
    release(ctx);
}
