/*
 * debug.c - GORTDEBUG settings and the scheduler trace.  Mirrors
 * runtime/runtime1.go (dbgvars, parsedebugvars) and schedtrace in
 * runtime/proc.go.
 *
 * GORTDEBUG is a comma-separated list of name=value, like GODEBUG:
 *   schedtrace=N   every N ms, sysmon prints one "SCHED" line
 *   scheddetail=1  with schedtrace: the state of every P, M and G as well
 *   asyncpreemptoff=1  no asynchronous (signal) preemption, as Go's
 *                  GODEBUG=asyncpreemptoff=1 (preempt.c)
 *   gctrace=1      the collector prints one line per cycle (mgc.c), as Go's
 *   pollspin=N     an M about to block in the network poller first polls
 *                  without blocking for up to N us (default 10; 0: never),
 *                  see proc.c's become_poller (not in Go)
 *   stalldetect=MS sysmon reports, once, a goroutine that has run MS ms
 *                  without rescheduling (pprof.c; not in Go)
 *   memprofilerate=N  the heap profile's sampling rate, any N (<= 0: none)
 *                  (gort_set_mem_profile_rate; Go's GODEBUG=memprofilerate)
 *   flightrecorder=1  the execution tracer's flight recorder runs from the
 *                  start and is written out on a fatal error or SIGQUIT
 *                  (trace.c; Go 1.25's FlightRecorder)
 *   gcstw=1        the collector marks with the world stopped (mgcdirty.c;
 *                  not in Go).  Read when the heap is first used, once per
 *                  process, through gort__debug_getenv
 * Unknown names are ignored, as Go ignores them.  The variable is read by
 * gort_main before any other thread of the run exists (gort__debug_init);
 * the threads it creates later see the values through pthread_create.
 *
 * The trace reads other threads' fields racily, as Go's does: atomics with
 * relaxed loads, plain fields under sched.lock or allglock where those
 * guard them, and otherwise as a best-effort snapshot (scheddetail only;
 * those readers are SCHED_RACY).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Settings, parsed by gort__debug_init; read-only afterwards. */
static struct {
    int32_t schedtrace;  /* ms; 0 off */
    int32_t scheddetail; /* 1: per-P/M/G lines */
    int32_t pollspin;    /* us */
    int32_t asyncpreemptoff;
    int32_t stalldetect; /* ms; 0 off */
    int32_t flightrecorder;
    int32_t memprofilerate;
    bool memprofilerate_set; /* any value, a negative one included (Go's) */
} debug;

#define POLLSPIN_DEFAULT_US 10

int64_t gort__pollspin_ns;
bool gort__asyncpreemptoff;
int64_t gort__stalldetect_ns;
bool gort__flightrecorder;

typedef struct dbgvar {
    const char *name;
    int32_t *value;
    bool *set; /* NULL, or set true when the variable is given */
} dbgvar;

static const dbgvar dbgvars[] = {
    {"asyncpreemptoff", &debug.asyncpreemptoff, NULL},
    {"flightrecorder", &debug.flightrecorder, NULL},
    {"gctrace", &gort__debug_gctrace, NULL},
    {"memprofilerate", &debug.memprofilerate, &debug.memprofilerate_set},
    {"pollspin", &debug.pollspin, NULL},
    {"scheddetail", &debug.scheddetail, NULL},
    {"schedtrace", &debug.schedtrace, NULL},
    {"stalldetect", &debug.stalldetect, NULL},
};

static int64_t lasttrace; /* [sysmon] */

bool gort__atoi64(const char *s, size_t n, int64_t *out) {
    if (n == 0)
        return false;
    bool neg = s[0] == '-';
    uint64_t un = 0;
    for (size_t i = neg ? 1 : 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || un > UINT64_MAX / 10)
            return false;
        uint64_t un1 = un * 10 + (uint64_t)(s[i] - '0');
        if (un1 < un)
            return false;
        un = un1;
    }
    if (un > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return false;
    *out = neg ? (int64_t)(0 - un) : (int64_t)un;
    return true;
}

bool gort__atoi32(const char *s, size_t n, int32_t *out) {
    int64_t v;
    if (!gort__atoi64(s, n, &v) || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

/* parsedebugvars: name=value pairs separated by commas, into the n vars.
 * A value Go's atoi32 does not read ("100ms", " 1", "+1") leaves the
 * variable as it was, as in Go. */
static void parsedebugvars(const char *s, const dbgvar *vars, size_t n) {
    while (s != NULL && *s != '\0') {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        if (eq != NULL) {
            size_t nlen = (size_t)(eq - s);
            for (size_t i = 0; i < n; i++) {
                int32_t v;
                if (strlen(vars[i].name) == nlen && memcmp(vars[i].name, s, nlen) == 0 &&
                    gort__atoi32(eq + 1, len - nlen - 1, &v)) {
                    *vars[i].value = v;
                    if (vars[i].set != NULL)
                        *vars[i].set = true;
                }
            }
        }
        s = end ? end + 1 : NULL;
    }
}

int32_t gort__debug_getenv(const char *name) {
    int32_t v = 0;
    const dbgvar one = {name, &v, NULL};
    parsedebugvars(getenv("GORTDEBUG"), &one, 1);
    return v;
}

/* A line being built in a stack buffer, written in one piece. */
typedef struct linebuf {
    char b[4096];
    size_t n;
} linebuf;

__attribute__((format(printf, 2, 3))) static void add(linebuf *l, const char *fmt, ...) {
    if (l->n + 1 >= sizeof l->b)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->b + l->n, sizeof l->b - l->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        l->n += (size_t)k;
    if (l->n >= sizeof l->b)
        l->n = sizeof l->b - 1;
}

static void flush(linebuf *l) {
    for (size_t off = 0; off < l->n; off += 1000) /* gort__printf's buffer is 1 KiB */
        gort__printf("%.*s", (int)(l->n - off < 1000 ? l->n - off : 1000), l->b + off);
    l->n = 0;
    l->b[0] = '\0';
}

/* Go's g status numbers (_Gdead is 6 there). */
static int gostatus(uint32_t st) {
    return st == G_DEAD ? 6 : (int)st;
}

/* The detail lines read other threads' plain fields without a lock, as
 * Go's do: uninstrumented for TSan (a snapshot, possibly torn between
 * fields, never dereferencing anything that can be freed). */
#define SCHED_RACY __attribute__((no_sanitize("thread")))

SCHED_RACY static void detail_g(struct g *gp, void *arg) {
    (void)arg;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    uint8_t wr = gp->waitreason;
    /* Go clears a goroutine's m when it stops running; gort keeps the
     * last one, which means nothing once the goroutine is off its M. */
    struct m *mp = st == G_RUNNING || st == G_SYSCALL ? gp->m : NULL;
    struct m *lm = gp->lockedm;
    linebuf l = {.n = 0};
    add(&l, "  G%lld: status=%d(%s) m=", (long long)gp->goid, gostatus(st),
        st == G_WAITING && wr < WAIT_NREASONS ? gort__waitreason_str[wr] : "");
    if (mp)
        add(&l, "%lld", (long long)mp->id);
    else
        add(&l, "nil");
    if (lm)
        add(&l, " lockedm=%lld\n", (long long)lm->id);
    else
        add(&l, " lockedm=nil\n");
    flush(&l);
}

/* proc.go schedtrace. */
SCHED_RACY static void schedtrace(bool detailed, int64_t now) {
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    linebuf l = {.n = 0};
    if (detailed)
        gort__print_lock(); /* before sched.lock: the lines stay together */
    gort__lock(&gort__sched.lock);
    add(&l,
        "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%lld spinningthreads=%d "
        "needspinning=0 idlethreads=%d runqueue=%d",
        (long long)((now - gort__sched.starttime) / 1000000), procs,
        atomic_load_explicit(&gort__sched.npidle, memory_order_relaxed),
        (long long)(gort__sched.mnext - gort__sched.nmfreed),
        atomic_load_explicit(&gort__sched.nmspinning, memory_order_relaxed), gort__sched.nmidle,
        atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed));
    if (detailed)
        /* sysmonwait: sysmon prints this, so it is not waiting. */
        add(&l, " gcwaiting=%u nmidlelocked=%d stopwait=%d sysmonwait=0\n",
            atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed),
            gort__sched.nmidlelocked, gort__sched.stopwait);
    for (int32_t i = 0; i < procs && i < GORT_MAX_PROCS; i++) {
        struct p *pp = atomic_load_explicit(&gort__allp[i], memory_order_relaxed);
        if (pp == NULL)
            break;
        uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
        if (detailed) {
            struct m *mp = pp->m;
            add(&l, "  P%d: status=%u schedtick=%u syscalltick=%u m=", i,
                atomic_load_explicit(&pp->status, memory_order_relaxed),
                atomic_load_explicit(&pp->schedtick, memory_order_relaxed),
                atomic_load_explicit(&pp->syscalltick, memory_order_relaxed));
            if (mp)
                add(&l, "%lld", (long long)mp->id);
            else
                add(&l, "nil");
            add(&l, " runqsize=%u gfreecnt=%d timerslen=0\n", t - h, pp->gfreecnt);
            flush(&l);
        } else {
            add(&l, "%s%u", i == 0 ? " [" : " ", t - h);
            if (i == procs - 1)
                add(&l, "]\n");
        }
    }
    if (!detailed) {
        gort__unlock(&gort__sched.lock);
        flush(&l); /* one write */
        return;
    }
    for (struct m *mp = gort__sched.allm; mp != NULL; mp = mp->alllink) {
        struct p *pp = mp->p;
        struct g *curg = mp->curg;
        struct g *lg = mp->lockedg;
        add(&l, "  M%lld: p=", (long long)mp->id);
        if (pp)
            add(&l, "%d", pp->id);
        else
            add(&l, "nil");
        add(&l, " curg=");
        if (curg)
            add(&l, "%lld", (long long)curg->goid);
        else
            add(&l, "nil");
        add(&l,
            " mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=%s blocked=%s lockedg=",
            mp->spinning ? "true" : "false", mp->blocked ? "true" : "false");
        if (lg)
            add(&l, "%lld\n", (long long)lg->goid);
        else
            add(&l, "nil\n");
        flush(&l);
    }
    gort__unlock(&gort__sched.lock);
    gort__forallg(detail_g, NULL);
    gort__print_unlock();
}

void gort__debug_init(void) {
    debug.schedtrace = 0;
    debug.scheddetail = 0;
    debug.pollspin = POLLSPIN_DEFAULT_US;
    debug.asyncpreemptoff = 0;
    debug.stalldetect = 0;
    debug.flightrecorder = 0;
    debug.memprofilerate_set = false;
    gort__debug_gctrace = 0;
    parsedebugvars(getenv("GORTDEBUG"), dbgvars, sizeof dbgvars / sizeof dbgvars[0]);
    /* Before any goroutine runs: sets the rate without a stop.  Any value
     * given counts, as Go's MemProfileRate = n: a negative one turns the
     * profile off (it was ignored, and the default rate kept). */
    if (debug.memprofilerate_set)
        gort_set_mem_profile_rate(debug.memprofilerate);
    gort__asyncpreemptoff = debug.asyncpreemptoff != 0;
    gort__stalldetect_ns = debug.stalldetect > 0 ? (int64_t)debug.stalldetect * 1000000 : 0;
    gort__flightrecorder = debug.flightrecorder > 0;
    int32_t us = debug.pollspin < 0 ? 0 : debug.pollspin > 1000000 ? 1000000 : debug.pollspin;
    gort__pollspin_ns = (int64_t)us * 1000;
    lasttrace = 0; /* the first sysmon round prints "SCHED 0ms", as Go's */
}

void gort__schedtrace_tick(int64_t now) {
    if (debug.schedtrace <= 0)
        return;
    if (lasttrace == 0 || now - lasttrace >= (int64_t)debug.schedtrace * 1000000) {
        lasttrace = now;
        schedtrace(debug.scheddetail > 0, now);
    }
}
