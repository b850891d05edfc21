/*
 * panic.c - defer, panic, recover and Goexit.  Mirrors runtime/panic.go.
 *
 * The model (Go's, with gort_call frames standing in for Go's function
 * frames):
 *
 *   - Every goroutine has three chains, all [owner G] (panic.h):
 *       g.callframe  the gort_call frames, innermost first.  Each running
 *                    deferred call gets an implicit frame too, so that a
 *                    gort_defer made inside it belongs to it (a light one,
 *                    without a setjmp of its own, for the calls a
 *                    gort_call runs at its normal end: runlight).
 *       g.defer_     the deferred calls not yet started, innermost first,
 *                    each tagged with the frame it belongs to (NULL: the
 *                    goroutine itself, i.e. outside any gort_call).
 *       g.panic_     the panics (and Goexits) in progress, newest first.
 *     A thread outside the runtime has the same chains in a thread-local
 *     stand-in for a g (foreign_state).
 *
 *   - Invariant: every record on g.defer_ belongs to a frame that is on
 *     g.callframe (or to the goroutine), and the records of the innermost
 *     frame come first.  A frame runs its own records before it pops
 *     itself; a panic pops records from the head as it runs them, so when it
 *     reaches a frame's records it has run those of every inner frame.
 *
 *   - A panic never unwinds before it has to: it runs the deferred calls
 *     LIFO on top of the stack where it was raised (so pointers to any
 *     frame's locals stay valid inside them), each in its own implicit
 *     frame.  When one of them recovered, the frame it was deferred in
 *     ends normally (Go: the deferring function returns): the frame's
 *     remaining deferred calls run, still on top of the stack, and only
 *     then one longjmp unwinds to that frame, whose gort_call returns 1.
 *     (Running them before the jump matters: they may point at locals of
 *     the frame's function, which the jump abandons.)  A recovery into the
 *     goroutine's own level ends the goroutine as if its function had
 *     returned.
 *
 *   - Nesting is decided by frame depth.  A panic records the depth of the
 *     innermost frame when it starts (startdepth).  A recovery into frame T
 *     ends every panic with startdepth >= T.depth (those were raised inside
 *     T's extent: Go's "p.startSP < sp" in recovery); older panics go on.
 *     A Goexit met on the way is not ended: the recovery resumes the
 *     Goexit instead (Go's "bypassed recovery"), so the goroutine still
 *     exits.
 *
 *   - gort_recover implements Go's argp rule in C: it answers only when the
 *     innermost frame is the implicit frame of the deferred call that the
 *     newest panic is running (no gort_call or other deferred call in
 *     between), and when its return address lies in that deferred
 *     function (symtab.c finds the function that contains an address) or
 *     is the one call site that invokes deferred calls (the deferred
 *     function tail-called gort_recover).  Known imprecision: a helper the
 *     compiler inlined into the deferred function, a helper that the
 *     deferred function tail-calls and that tail-calls gort_recover, and a
 *     plain recursive call of the deferred function by itself, all count
 *     as the deferred function.
 *
 * Unwinding is by longjmp: C frames between the panic and the recovering
 * frame are abandoned without any cleanup of their own (include/gort.h says
 * what that means for callers).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include "fault.h"
#include "internal.h"
#include "panic.h"

/* No inlining and no interprocedural specialisation: calldefer's single
 * indirect call site must stay the only one (see calldefer_ret). */
#if defined(__clang__)
#define GORT__NOIPA __attribute__((noinline))
#else
#define GORT__NOIPA __attribute__((noinline, noipa))
#endif

/* Go's deferpool is a slice of cap 32 per P; half moves to or from the
 * global pool when it is empty or full (panic.go newdefer/freedefer). */
#define DEFERPOOL_MAX 32

static const char nil_panic_msg[] = "panic called with nil argument";
static const char nil_func_msg[] =
    "runtime error: invalid memory address or nil pointer dereference";

/* The chains of a thread outside the runtime (and of g0). */
static _Thread_local struct g foreign_state;

/* The current goroutine, or this thread's stand-in. */
static inline struct g *getstate(void) {
    struct g *gp = gort__getg();
    return GORT_LIKELY(gp != NULL) ? gp : &foreign_state;
}

/* getstate for the first TLS read of a never-inlined entry point, before
 * any switch in it (runtime.h gort__getg_entry). */
static inline struct g *getstate_entry(void) {
    struct g *gp = gort__getg_entry();
    return GORT_LIKELY(gp != NULL) ? gp : &foreign_state;
}

static inline bool is_foreign(const struct g *gp) {
    return gp == &foreign_state;
}

/* The P of the running goroutine gp (NULL on a foreign thread).  A running
 * goroutine keeps its P at least until its next blocking gort call. */
static inline struct p *curp(struct g *gp) {
    if (is_foreign(gp) || gp->m == NULL)
        return NULL;
    return gp->m->p;
}

static _Noreturn void dopanic(struct g *gp, const char *msg, bool owned);
static void deferreturn(struct g *gp, struct gort__frame *fr);

/* ------------------------------------------------------------------------
 * Defer records: per-P pools, the global pool, malloc.
 * ------------------------------------------------------------------------ */

static GORT_NOINLINE struct gort__defer *newdefer_slow(struct p *pp) {
    struct gort__defer *d = NULL;
    gort__lock(&gort__sched.deferlock);
    if (pp != NULL) {
        /* Take up to half a pool from the global pool. */
        while (pp->ndeferpool < DEFERPOOL_MAX / 2 && gort__sched.deferpool != NULL) {
            struct gort__defer *x = gort__sched.deferpool;
            gort__sched.deferpool = x->link;
            x->link = pp->deferpool;
            pp->deferpool = x;
            pp->ndeferpool++;
        }
    } else if ((d = gort__sched.deferpool) != NULL) {
        gort__sched.deferpool = d->link;
    }
    gort__unlock(&gort__sched.deferlock);
    if (pp != NULL && (d = pp->deferpool) != NULL) {
        pp->deferpool = d->link;
        pp->ndeferpool--;
    }
    if (d == NULL) {
        d = gort__malloc(sizeof *d);
        if (d == NULL)
            gort__throw("out of memory");
    }
    return d;
}

static inline struct gort__defer *newdefer(struct g *gp) {
    struct gort__defer *d = gp->dspare;
    if (GORT_LIKELY(d != NULL)) {
        gp->dspare = NULL;
        return d;
    }
    struct p *pp = curp(gp);
    if (GORT_LIKELY(pp != NULL && (d = pp->deferpool) != NULL)) {
        pp->deferpool = d->link;
        pp->ndeferpool--;
        return d;
    }
    return newdefer_slow(pp);
}

static GORT_NOINLINE void freedefer_slow(struct p *pp, struct gort__defer *d) {
    gort__lock(&gort__sched.deferlock);
    if (pp != NULL) {
        /* Move half of the full local pool to the global one. */
        while (pp->ndeferpool > DEFERPOOL_MAX / 2) {
            struct gort__defer *x = pp->deferpool;
            pp->deferpool = x->link;
            pp->ndeferpool--;
            x->link = gort__sched.deferpool;
            gort__sched.deferpool = x;
        }
        gort__unlock(&gort__sched.deferlock);
        d->link = pp->deferpool;
        pp->deferpool = d;
        pp->ndeferpool++;
        return;
    }
    d->link = gort__sched.deferpool;
    gort__sched.deferpool = d;
    gort__unlock(&gort__sched.deferlock);
}

/* To the P's pool (or the global one). */
static inline void freedefer_pool(struct g *gp, struct gort__defer *d) {
    struct p *pp = curp(gp);
    if (GORT_LIKELY(pp != NULL && pp->ndeferpool < DEFERPOOL_MAX)) {
        d->link = pp->deferpool;
        pp->deferpool = d;
        pp->ndeferpool++;
        return;
    }
    freedefer_slow(pp, d);
}

static inline void freedefer(struct g *gp, struct gort__defer *d) {
    d->fn = NULL;
    d->arg = NULL;
    d->frame = NULL;
    /* A foreign thread's g is freed with its thread: no spare there. */
    if (GORT_LIKELY(gp->dspare == NULL && !is_foreign(gp) && !gp->foreign)) {
        gp->dspare = d;
        return;
    }
    freedefer_pool(gp, d);
}

/* The exiting goroutine's spare record goes back to the pool. */
static inline void release_spare(struct g *gp) {
    struct gort__defer *d = gp->dspare;
    if (d != NULL) {
        gp->dspare = NULL;
        freedefer_pool(gp, d);
    }
}

/* ------------------------------------------------------------------------
 * Running deferred calls
 * ------------------------------------------------------------------------ */

/* The one call site of every deferred function.  The empty asm after the
 * call keeps it from being a tail call, so the return address of a
 * deferred function is always calldefer_ret (see gort_recover). */
static GORT__NOIPA void calldefer(void (*fn)(void *arg), void *arg) {
    fn(arg);
    __asm__ volatile("" ::: "memory");
}

static GORT__NOIPA void probe_return_address(void *slot) {
    *(uintptr_t *)slot = (uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0));
}

/* The return address of calldefer's call, found once by calling a probe
 * through it.  0 until then; racing callers store the same value. */
static _Atomic uintptr_t calldefer_ret_cache;

static uintptr_t calldefer_ret(void) {
    uintptr_t r = atomic_load_explicit(&calldefer_ret_cache, memory_order_relaxed);
    if (GORT_UNLIKELY(r == 0)) {
        calldefer(probe_return_address, &r);
        atomic_store_explicit(&calldefer_ret_cache, r, memory_order_relaxed);
    }
    return r;
}

static inline void pushframe(struct g *gp, struct gort__frame *fr, bool light) {
    fr->link = gp->callframe;
    fr->depth = (fr->link != NULL ? fr->link->depth : 0) + 1;
    fr->light = light;
    fr->resumed = false;
    fr->pushed = false;
    fr->unwinding = false;
    gp->callframe = fr;
}

/*
 * Runs one deferred call (d, already off the chain) in an implicit frame
 * of its own, then the calls deferred inside it.  p: the panic running it
 * (NULL: a frame's normal end or a Goexit).  A recovery into this frame (a
 * call deferred inside d recovered a panic raised inside d) resumes here
 * as if d's function had returned.
 */
static GORT_NOINLINE void rundefer(struct g *gp, struct gort__defer *d, struct gort__panic *p) {
    void (*fn)(void *) = d->fn;
    void *arg = d->arg;
    freedefer(gp, d);
    struct gort__frame fr;
    pushframe(gp, &fr, false);
    if (p != NULL) {
        p->argfn = fn;
        p->dframe = &fr;
    }
    if (GORT__SETJMP(fr.jb) == 0) {
        if (GORT_UNLIKELY(fn == NULL))
            dopanic(gp, nil_func_msg, false); /* Go: a nil deferred func panics when run */
        calldefer(fn, arg);
        if (gp->defer_ != NULL && gp->defer_->frame == &fr)
            deferreturn(gp, &fr);
        gp->callframe = fr.link;
        return;
    }
    /* Recovered into this frame: recovery() has run its deferred calls. */
    getstate()->callframe = fr.link;
}

/* Runs the deferred calls of frame fr (innermost on g.callframe), LIFO. */
static void deferreturn(struct g *gp, struct gort__frame *fr) {
    struct gort__defer *d;
    while ((d = gp->defer_) != NULL && d->frame == fr) {
        gp->defer_ = d->link;
        rundefer(gp, d, NULL);
    }
}

/*
 * deferreturn for the normal end of gort_call's frame fr: each deferred
 * call runs in a light frame, with no setjmp and no call of its own
 * (rundefer's took defer_call from 16.7 to 20.5 ns).  A recovery into a light frame (a call
 * deferred inside d recovered a panic raised inside d) resumes fr's
 * gort_call instead, with fr->resumed set, which goes on here as if d
 * had returned.  Calls deferred inside d run in rundefer's full frames.
 * Inlined into gort_call: lf lives in its frame.
 */
static inline __attribute__((always_inline)) void runlight(struct g *gp, struct gort__frame *fr) {
    struct gort__defer *d;
    while ((d = gp->defer_) != NULL && d->frame == fr) {
        gp->defer_ = d->link;
        void (*fn)(void *) = d->fn;
        void *arg = d->arg;
        freedefer(gp, d);
        struct gort__frame lf;
        pushframe(gp, &lf, true);
        if (GORT_UNLIKELY(fn == NULL))
            dopanic(gp, nil_func_msg, false); /* Go: a nil deferred func panics when run */
        calldefer(fn, arg);
        if (gp->defer_ != NULL && gp->defer_->frame == &lf)
            deferreturn(gp, &lf);
        gp->callframe = fr;
    }
}

/* ------------------------------------------------------------------------
 * Public: gort_defer, gort_call
 * ------------------------------------------------------------------------ */

GORT_NOINLINE void gort_defer(void (*fn)(void *arg), void *arg) {
    struct g *gp = getstate_entry();
    struct gort__frame *fr = gp->callframe;
    if (GORT_UNLIKELY(fr == NULL && is_foreign(gp)))
        gort__fatal("gort_defer outside gort_call on a thread outside the runtime");
    struct gort__defer *d = newdefer(gp);
    d->fn = fn;
    d->arg = arg;
    d->frame = fr;
    d->link = gp->defer_;
    gp->defer_ = d;
}

/* A C++ exception (or a forced unwind: pthread_exit, pthread_cancel) that
 * leaves gort_call's function passes through gort_call: the unwinder runs
 * this cleanup of its frame (panic.c is built with -fexceptions), which
 * runs the frame's deferred calls, as Go runs a panicking function's, and
 * pops the frame; the exception then goes on to the program's handler.
 * Left alone, the frame stayed on the goroutine's chain with its
 * deferred calls (gort_once_do's unlock among them): a later gort_once_do
 * waited for ever, and the goroutine's exit ran them on a dead frame.  A
 * gort panic's longjmp runs no cleanup; at gort_call's normal end the
 * frame is popped already, and this does nothing.
 *
 * The exception may come out of one of the frame's deferred calls, run
 * at its normal end: that call's implicit frame, and any above it, are
 * popped first, their own deferred calls run.  The deferred calls run in
 * full frames (rundefer), so that a panic raised and recovered inside one
 * of them ends there; one recovered into this frame itself would have to
 * drop the exception, a fatal error (gort_call, fr.unwinding).  So is an
 * exception out of a deferred call that a panic raised inside this frame
 * runs: the panic could not go on. */
static void call_unwound(struct gort__frame *fr) {
    if (GORT_LIKELY(!fr->pushed))
        return;
    struct g *gp = getstate();
    if (gp->panic_ != NULL && gp->panic_->startdepth >= fr->depth)
        gort__throw("gort_call: a C++ exception left a deferred call that a panic was running");
    fr->unwinding = true;
    while (gp->callframe != fr) {
        struct gort__frame *top = gp->callframe;
        if (top == NULL || top->depth <= fr->depth)
            gort__throw("gort_call: a C++ exception unwound a frame that is not on the chain");
        deferreturn(gp, top);
        gp->callframe = top->link;
    }
    deferreturn(gp, fr);
    gp->callframe = fr->link;
    fr->pushed = false;
}

/* gp is live across the setjmp; after a longjmp it is read again before
 * any use, so no clobbered value is used; GCC's -Wclobbered cannot see
 * that. */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
#endif
GORT_NOINLINE int gort_call(void (*fn)(void *arg), void *arg) {
    struct g *gp = getstate_entry();
    struct gort__frame fr __attribute__((cleanup(call_unwound)));
    pushframe(gp, &fr, false);
    fr.pushed = true;
    if (GORT__SETJMP(fr.jb) == 0) {
        if (GORT_UNLIKELY(fn == NULL))
            dopanic(gp, nil_func_msg, false);
        fn(arg);
    } else {
        /* After the jump only memory is trusted: gp is read again. */
        gp = getstate();
        if (GORT_UNLIKELY(fr.unwinding))
            gort__throw("gort_call: a deferred call recovered a panic while a C++ exception "
                        "unwound its frame");
        if (!fr.resumed) {
            /* A call deferred in this frame recovered: recovery() has
             * ended the panic, run the frame's other deferred calls and
             * made this frame the innermost again. */
            gp->callframe = fr.link;
            fr.pushed = false;
            return 1;
        }
        /* A recovery into the light frame of one of our deferred calls
         * (recovery() ran that frame's deferred calls): it returned, and
         * our normal end goes on. */
        fr.resumed = false;
        gp->callframe = &fr;
    }
    if (gp->defer_ != NULL && gp->defer_->frame == &fr)
        runlight(gp, &fr);
    gp->callframe = fr.link;
    fr.pushed = false;
    return 0;
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* ------------------------------------------------------------------------
 * Panic messages
 * ------------------------------------------------------------------------ */

/* Last resort when malloc fails: one static buffer (then the caller's own
 * string, which stays valid while the deferred calls run: nothing is
 * unwound before a recovery). */
static char fallback_buf[512];
static _Atomic bool fallback_busy;

static const char *copymsg(const char *msg, bool *owned) {
    *owned = false;
    if (msg == NULL)
        return nil_panic_msg;
    size_t n = strlen(msg);
    char *c = gort__malloc(n + 1);
    if (c != NULL) {
        memcpy(c, msg, n + 1);
        *owned = true;
        return c;
    }
    if (!atomic_exchange_explicit(&fallback_busy, true, memory_order_acquire)) {
        snprintf(fallback_buf, sizeof fallback_buf, "%s", msg);
        return fallback_buf;
    }
    return msg;
}

static void freemsg(struct gort__panic *p) {
    if (p->msg_owned)
        gort__free((void *)p->msg);
    else if (p->msg == fallback_buf)
        atomic_store_explicit(&fallback_busy, false, memory_order_release);
    p->msg = NULL;
    p->msg_owned = false;
}

/* ------------------------------------------------------------------------
 * Unrecovered panics
 * ------------------------------------------------------------------------ */

static void printstr(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

/* panic.go printpanics: oldest first, each nested one after a tab; Goexits
 * are not shown. */
static void printpanics(const struct gort__panic *p) {
    if (p->link != NULL) {
        printpanics(p->link);
        if (!p->link->goexit)
            printstr("\t");
    }
    if (p->goexit)
        return;
    printstr("panic: ");
    printstr(p->msg);
    if (p->recovered)
        printstr(" [recovered]");
    printstr("\n");
    /* A nil deferred function: Go's call of it faults at pc 0, and its
     * report has the signal's line. */
    if (p->msg == nil_func_msg)
        printstr("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]\n");
}

/*
 * panic.go fatalpanic + dopanic_m: the panic messages, then the goroutine
 * per GORTRACEBACK, then exit status 2 (SIGABRT for GORTRACEBACK=crash).
 *
 * The process ends with _exit: like Go's exit(2), no atexit handler runs.
 * But gort programs are C programs that print with stdio, so the stdio
 * buffers are flushed first (before the panic text, so that what the
 * program printed earlier comes first when both streams share a file).
 */
static _Noreturn void fatalpanic(struct g *gp, const struct gort__panic *p) {
    if (!is_foreign(gp))
        gort__freeze_the_world(); /* Go's startpanic_m */
    fflush(NULL);
    gort__print_lock(); /* never released: a concurrent fatal panic waits here */
    printpanics(p);
    int level = gort__traceback_level();
    if (level > 0) {
        if (!is_foreign(gp)) {
            gort__dump_goroutines(gp, level >= 2, true);
        } else {
            /* A thread outside the runtime has no goroutine. */
            printstr("\ngoroutine 0 [running]:\n\t(thread outside the runtime)\n");
            if (level >= 2)
                gort__dump_goroutines(NULL, true, true);
        }
    }
    gort__fatal_exit();
}

/* ------------------------------------------------------------------------
 * panic and recovery
 * ------------------------------------------------------------------------ */

/* The goroutine's function is over because a call it deferred at its top
 * level recovered: it ends as if fn had returned (proc.c's
 * gort__goroutine_return). */
static _Noreturn void base_return(struct g *gp) {
    gp->callframe = NULL;
    if (is_foreign(gp))
        GORT_UNREACHABLE(); /* gort_defer refuses goroutine-level records there */
    /* Go: the function returns normally; its other deferred calls run. */
    gort__run_exit_defers(gp);
    if (gp->is_main)
        gort__sched.main_ret = 0; /* Go: main returned normally, exit status 0 */
    gort__goroutine_return(gp);
}

/*
 * The newest panic has been recovered by a call deferred in frame target
 * (NULL: at the goroutine's level), and that call has returned.  Ends the
 * panics raised inside target's extent and resumes target (Go's recovery),
 * unless that would jump past a Goexit in progress: then the Goexit
 * resumes.
 */
static _Noreturn void recovery(struct g *gp, struct gort__frame *target) {
    uintptr_t tdepth = target != NULL ? target->depth : 0;
    struct gort__panic *q = gp->panic_;
    while (q != NULL && q->startdepth >= tdepth) {
        if (q->goexit) {
            gp->panic_ = q;
            gp->callframe = q->gframe;
            GORT__LONGJMP(q->jb);
        }
        struct gort__panic *next = q->link;
        freemsg(q);
        q = next;
    }
    gp->panic_ = q;
    if (target == NULL)
        base_return(gp);
    /* The frame ends normally: its remaining deferred calls run now, still
     * on top of the stack, so that pointers into the frames the longjmp
     * will abandon (the locals of target's function) stay valid in them. */
    gp->callframe = target;
    if (gp->defer_ != NULL && gp->defer_->frame == target)
        deferreturn(gp, target);
    if (target->light) {
        /* A light frame has no jb: its gort_call resumes its normal end
         * (runlight), past the deferred call that recovered into it. */
        target->link->resumed = true;
        GORT__LONGJMP(target->link->jb);
    }
    GORT__LONGJMP(target->jb);
}

/* panic.go gopanic: runs the deferred calls, newest first, until one
 * recovers (then recovery) or none is left (then fatalpanic). */
static _Noreturn GORT_NOINLINE void dopanic(struct g *gp, const char *msg, bool owned) {
    /* Field by field: zeroing the whole record (its jmp_buf is 200 bytes,
     * used by Goexit's record only) was a third of a panic's cost. */
    struct gort__panic p;
    p.link = gp->panic_;
    p.msg = msg;
    p.msg_owned = owned;
    p.recovered = false;
    p.goexit = false;
    p.startdepth = gp->callframe != NULL ? gp->callframe->depth : 0;
    p.argfn = NULL;
    p.dframe = NULL;
    p.gframe = NULL;
    gp->panic_ = &p;
    struct gort__defer *d;
    while ((d = gp->defer_) != NULL) {
        struct gort__frame *target = d->frame;
        gp->defer_ = d->link;
        rundefer(gp, d, &p);
        p.argfn = NULL;
        p.dframe = NULL;
        if (p.recovered)
            recovery(gp, target);
    }
    fatalpanic(gp, &p);
}

void gort_panic(const char *msg) {
    struct g *gp = getstate();
    bool owned;
    const char *m = copymsg(msg, &owned);
    dopanic(gp, m, owned);
}

void gort__panic_nilfunc(void) {
    dopanic(getstate(), nil_func_msg, false);
}

void gort_panicf(const char *fmt, ...) {
    struct g *gp = getstate();
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) /* a bad format: show it as it is */
        gort_panic(fmt);
    char *buf = gort__malloc((size_t)n + 1);
    if (buf == NULL) {
        bool owned;
        const char *m = copymsg(small, &owned);
        dopanic(gp, m, owned);
    }
    if ((size_t)n < sizeof small) {
        memcpy(buf, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    dopanic(gp, buf, true);
}

/*
 * Is ret (a return address) inside the deferred function fn, i.e. did fn
 * call gort_recover directly?
 */
static bool called_directly(uintptr_t fn, uintptr_t ret) {
    if (ret == calldefer_ret()) {
        /* The deferred function tail-called gort_recover (common: a
         * function whose last statement is gort_recover()), or the
         * deferred function is gort_recover itself (Go: defer recover()
         * does not recover). */
        return fn != (uintptr_t)(void (*)(void))gort_recover;
    }
    /* ret - 1: the call instruction itself, inside the caller even when
     * the call is the caller's last instruction. */
    uintptr_t pc = ret - 1, start, fstart;
    size_t size, fsize;
    const char *name, *fname;
    if (gort__symtab_lookup(pc, &start, &size, &name) == 0) {
        if (start == fn)
            return true;
        /* A piece of fn that the compiler split off: fn.part.0, fn.cold,
         * fn.isra.0, fn.constprop.0 ... */
        if (gort__symtab_lookup(fn, &fstart, &fsize, &fname) != 0 || fstart != fn)
            return false;
        /* By the names in the file: a C++ piece's shown name is its
         * function's (demangled, its clone suffix dropped). */
        const char *sys = gort__symtab_sysname(pc), *fsys = gort__symtab_sysname(fn);
        if (sys != NULL && fsys != NULL) {
            name = sys;
            fname = fsys;
        }
        size_t n = strlen(fname);
        return strncmp(name, fname, n) == 0 && name[n] == '.';
    }
    /* No symbol covers ret (stripped code).  The unwind tables survive
     * stripping: their entry for ret starts at its function (or at a piece
     * of it the compiler split off, which this cannot recognise). */
    void *encl = _Unwind_FindEnclosingFunction((void *)pc);
    if (encl != NULL)
        return (uintptr_t)encl == fn;
    /* Nothing at all: accept an address a little above fn with no other
     * known function starting in between. */
    return pc >= fn && pc - fn < 64 * 1024 && gort__symtab_next_start(fn) > pc;
}

GORT_NOINLINE const char *gort_recover(void) {
    uintptr_t ret = (uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0));
    struct g *gp = getstate();
    struct gort__panic *p = gp->panic_;
    if (p == NULL || p->goexit || p->recovered || p->dframe == NULL || gp->callframe != p->dframe)
        return NULL;
    if (!called_directly((uintptr_t)p->argfn, ret))
        return NULL;
    p->recovered = true;
    return p->msg;
}

/* ------------------------------------------------------------------------
 * Goexit and goroutine end
 * ------------------------------------------------------------------------ */

/*
 * Runs every deferred call left on gp (the current goroutine), LIFO,
 * across all its frames, as a Goexit: gort_recover returns NULL in them
 * (the Goexit is the newest "panic"), and a recovery of a panic raised in
 * one of them that would unwind past this point resumes the loop instead.
 * Then drops the panics the Goexit interrupted: the goroutine is over.
 */
void gort__run_exit_defers(struct g *gp) {
    GORT_ASSERT(gp == gort__getg());
    if (GORT_LIKELY(gp->defer_ == NULL && gp->panic_ == NULL)) {
        gp->callframe = NULL;
        release_spare(gp);
        return;
    }
    struct gort__panic ge;
    memset(&ge, 0, sizeof ge);
    ge.link = gp->panic_;
    ge.goexit = true;
    ge.gframe = gp->callframe;
    ge.startdepth = gp->callframe != NULL ? gp->callframe->depth : 0;
    gp->panic_ = &ge;
    /* recovery() resumes here (with g.panic_ == &ge, g.callframe == gframe). */
    (void)GORT__SETJMP(ge.jb);
    struct gort__defer *d;
    while ((d = gp->defer_) != NULL) {
        gp->defer_ = d->link;
        rundefer(gp, d, NULL);
    }
    for (struct gort__panic *q = ge.link, *next; q != NULL; q = next) {
        next = q->link;
        freemsg(q);
    }
    gp->panic_ = NULL;
    gp->callframe = NULL;
    release_spare(gp);
}

/* At shutdown (proc.c shutdown_runtime, before the Ps are freed): returns
 * every pooled defer record to the heap. */
void gort__panic_fini(void) {
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        struct p *pp = gort__allp[i];
        if (pp == NULL)
            continue;
        struct gort__defer *d = pp->deferpool, *next;
        for (; d != NULL; d = next) {
            next = d->link;
            gort__free(d);
        }
        pp->deferpool = NULL;
        pp->ndeferpool = 0;
    }
    gort__lock(&gort__sched.deferlock);
    struct gort__defer *d = gort__sched.deferpool, *next;
    gort__sched.deferpool = NULL;
    gort__unlock(&gort__sched.deferlock);
    for (; d != NULL; d = next) {
        next = d->link;
        gort__free(d);
    }
}

void gort__panic_reset_g(struct g *gp) {
    /* Records of a goroutine that was abandoned (gort_main returned while
     * it ran) go back to the heap; its panics lived on its stack. */
    struct gort__defer *d = gp->defer_, *next;
    for (; d != NULL; d = next) {
        next = d->link;
        gort__free(d);
    }
    gp->defer_ = NULL;
    gp->panic_ = NULL;
    gp->callframe = NULL;
    gort__free(gp->dspare);
    gp->dspare = NULL;
}
