/*
 * trace.c - the execution tracer, in the format of Go 1.19's
 * runtime/trace.go, which `go tool trace` of Go 1.19 reads
 * (internal/trace/parser.go):
 *
 *   "go 1.19 trace\0\0\0", then batches: EvBatch [p, ticks] followed by
 *   that P's events, each [type | nargs << 6, (length,) tickdiff, args...,
 *   stack id]; at the end the stacks (EvStack: id, frames of {pc, func,
 *   file, line}), the strings (EvString) and EvFrequency.
 *
 * Each P has a buffer that only the M holding the P writes (ownership moves
 * with the P, under the scheduler's own synchronisation), so recording an
 * event takes no lock.  Events from a thread without a P (a blocking call's
 * exit, a thread outside the runtime, sysmon's network poll) go to a global
 * buffer, as P -1, under trace.lock.  A full buffer is written to the fd
 * under trace.lock.  Timestamps are ticks() (the time-stamp counter, which
 * the buffers of different Ps agree on), one read per event except for an
 * event stamped right after the buffer's last one (event_at's now).
 *
 * The parser orders the Ps' events by per-goroutine sequence numbers
 * (g->traceseq, as Go's): GoCreate makes a goroutine runnable at seq 1,
 * each GoStart/GoUnblock/GoSysExit carries the next one.  The per-P state
 * kept here (running, g) makes every ProcStart/ProcStop consistent with
 * what the parser checks.
 *
 * Start and stop stop the world, as Go's do: start records every existing
 * goroutine (GoCreate, and GoWaiting/GoInSyscall for the parked and those
 * in blocking calls); stop collects every buffer.
 *
 * The flight recorder (Go 1.25's FlightRecorder) records the same events
 * into memory instead of the fd, in generations: every window/2 (sysmon
 * wakes a recorder goroutine for it) the world is stopped, every buffer
 * is closed into the ending generation, and the new generation starts with
 * a snapshot of every goroutine's state and sequence number (not written
 * as events).  Generations older than the window are dropped.  Writing
 * makes a complete trace from the oldest generation kept: the snapshot
 * becomes the GoCreate/GoWaiting/GoInSyscall/GoStart events of a trace
 * start, and the sequence numbers of the events after it are rebased on
 * it (decoding and re-encoding GoStart, GoUnblock and GoSysExit).  At a
 * generation boundary every P but the recorder's is stopped (ProcStop),
 * so that consecutive generations join without a seam.
 *
 * Stacks and strings are interned into tables whose ids the events carry
 * (EvStack, EvString at the end of the trace).  A trace to an fd keeps one
 * table of each for the whole recording, as Go 1.19 does.  The flight
 * recorder's generations each keep their own, as Go 1.25's do: at a
 * rotation the live tables' entries move into the ending generation, ids
 * go on rising from where they were (never reused, so no event needs a new
 * id when written), and every buffer's stack cache is emptied; a write
 * emits the tables of the generations it writes, and dropping a generation
 * frees its tables.  One table for all of them grew without bound with a
 * program's ever-new task names or stacks, and each write with it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"
#include "pprof.h"
#include "trace.h"

enum {
    EvBatch = 1,
    EvFrequency = 2,
    EvStack = 3,
    EvGomaxprocs = 4,
    EvProcStart = 5,
    EvProcStop = 6,
    EvGCStart = 7,
    EvGCDone = 8,
    EvGCSTWStart = 9,
    EvGCSTWDone = 10,
    EvGCSweepStart = 11,
    EvGCSweepDone = 12,
    EvGoCreate = 13,
    EvGoStart = 14,
    EvGoEnd = 15,
    EvGoSched = 17,
    EvGoPreempt = 18,
    EvGoSleep = 19,
    EvGoBlock = 20,
    EvGoUnblock = 21,
    EvGoBlockSend = 22,
    EvGoBlockRecv = 23,
    EvGoBlockSelect = 24,
    EvGoBlockSync = 25,
    EvGoBlockCond = 26,
    EvGoBlockNet = 27,
    EvGoSysCall = 28,
    EvGoSysExit = 29,
    EvGoSysBlock = 30,
    EvGoWaiting = 31,
    EvGoInSyscall = 32,
    EvHeapAlloc = 33,
    EvHeapGoal = 34,
    EvString = 37,
    EvUserTaskCreate = 45,
    EvUserTaskEnd = 46,
    EvUserRegion = 47,
    EvGoBlockGC = 42,
    EvGCMarkAssistStart = 43,
    EvGCMarkAssistDone = 44,
    EvUserLog = 48,
};

#define TBUF_SIZE (64 << 10)
#define TRACE_MAXSTACK 64
#define NOSTACK UINT64_MAX
/* Each buffer's stack cache: STACK_CACHE direct-mapped entries, each
 * holding a whole stack (at most TRACE_MAXSTACK frames) and its id. */
#define STACK_CACHE 32
/* The flight recorder's memory: the generations kept hold at most this
 * much (the oldest go first, whatever the window), and a generation that
 * reaches a quarter of it ends early. */
#define FLIGHT_MAX_BYTES ((size_t)64 << 20)

/* Timestamps: the CPU's invariant time-stamp counter / 16 (Go uses its
 * cputicks / 64), a few ns per tick and a few ns to read, where
 * clock_gettime takes ~20; the frequency written at the end is measured
 * against gort_nanotime over the recording.  Like Go on amd64, this
 * trusts the counter to agree across CPUs (constant_tsc). */
static inline int64_t ticks(void) {
#if defined(__x86_64__)
    return (int64_t)(__builtin_ia32_rdtsc() >> 4);
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return (int64_t)v;
#else
    return gort_nanotime();
#endif
}

/* A stack cache entry: the frames themselves, compared in full on a hit,
 * so a cheap hash only picks the slot (id 0: empty).  Its id is one of the
 * live stack table's: a flight recorder's rotation empties every cache
 * with that table (rotate_locked). */
typedef struct scent {
    uint64_t id;
    int n;
    uintptr_t pcs[TRACE_MAXSTACK];
} scent;

typedef struct tbuf {
    int64_t pid;    /* P id, -1 for the global buffer */
    int64_t lastts; /* timestamp of the last event (or the batch) */
    bool running;   /* the parser sees the P started (ProcStart) */
    bool synth;     /* a flight recorder's snapshot: each event 1 tick after the last */
    /* Stacks this buffer's events used lately, so that a repeated stack
     * takes neither the table's lock nor its hash. */
    scent sc[STACK_CACHE];
    uint64_t g; /* goroutine the parser sees running on the P, 0: none */
    /* A sweep loop of the P's goroutine (gort__trace_sweep_start..done):
     * bytes of the spans it swept and of the objects it freed so far;
     * GCSweepStart is written at its first span, so a loop that sweeps
     * nothing writes nothing (Go's p.traceSweep/traceSwept/traceReclaimed). */
    bool sweep;
    uint64_t swept, reclaimed;
    size_t pos; /* bytes used; 0: no batch header yet */
    uint8_t data[TBUF_SIZE];
} tbuf;

_Atomic uint32_t gort__trace_enabled;

/* An interned value: its bytes (a stack's pcs, a string with its NUL) and
 * the id the trace names it by, from 1. */
typedef struct tentry {
    struct tentry *next;
    uint64_t hash, id;
    size_t len; /* bytes of data */
    unsigned char data[];
} tentry;
_Static_assert(offsetof(tentry, data) % _Alignof(uintptr_t) == 0,
               "a stack's pcs are read in place");

/* An interning table (the stacks' and the strings'): chained by hash, grown
 * by doubling from mincap.  The live tables (tr.stacks, tr.strs) take an
 * insert (ttable_id) under their own lock, and only from a thread that
 * holds a P or tr.lock, between taking the buffer that records the event
 * naming the id and that event (tb_acquire): so a stopped world with
 * tr.lock held excludes every insert, and a flight recorder's rotation
 * moves the live entries into the ending generation then (ttable_move)
 * without their locks (the stop's own locks order the inserts before it;
 * and the string table's lock may not be taken under allglock, which a
 * rotation holds), and no id from before the move lands in an event
 * after it.  dump_stacks,
 * dump_strings and ttable_free walk a table without its lock: one that
 * nothing inserts into any more (a trace's, once it stopped; a
 * generation's, once it ended) or a local one of the walker's own. */
typedef struct ttable {
    gort__rtlock lock;
    tentry **buckets; /* [lock] cap of them */
    uint32_t cap, n;  /* [lock] n entries */
    uint64_t lastid;  /* [lock] the last id given: from 1 on, kept across a move, never reused */
    size_t bytes;     /* [lock] its entries' and buckets' */
    uint32_t mincap;  /* [immutable] the first size */
} ttable;

/* Flight recorder: a closed buffer's bytes, in a generation. */
typedef struct chunk {
    struct chunk *next;
    size_t n;
    size_t mapped; /* bytes mapped for it (chunk_new) */
    uint8_t data[];
} chunk;

/* A goroutine at a generation's start. */
typedef struct snapg {
    uint64_t goid;
    uint64_t seq; /* its traceseq */
    uintptr_t fn;
    uint8_t st; /* G_RUNNABLE, G_WAITING, G_SYSCALL, or G_RUNNING (the recorder only) */
} snapg;

/* Bytes in the current generation (a copy of tr.cur->bytes for sysmon). */
static _Atomic size_t flight_curbytes;
/* Bytes in the live tables (ttable_id adds, a rotation and a start
 * reset): sysmon adds them to flight_curbytes. */
static _Atomic size_t flight_tabbytes;

typedef struct gen {
    struct gen *next; /* newer */
    int64_t start;    /* ticks() of the snapshot, before any of its events */
    int64_t start_ns; /* the same as nanotime */
    int64_t curp;     /* the P running the recorder goroutine */
    uint64_t mid;     /* its M */
    uint64_t gcseq;   /* GC cycles recorded before it */
    bool gcrunning;   /* one of them had not ended */
    snapg *gs;
    size_t ngs;
    chunk *chunks, *tail;
    size_t bytes; /* its chunks' bytes, and its tables' once it ended */
    bool lost;    /* a buffer of it was dropped (out of memory): not written */
    /* The stacks and strings its events name, moved here from the live
     * tables when it ends (rotate_locked; empty until then: the current
     * generation's are tr.stacks and tr.strs).  Immutable from then on,
     * read (flight_dump_locked) and freed (free_gen) under tr.lock, as
     * the list of generations is; their locks are never taken. */
    ttable stacks, strs;
} gen;

static struct {
    gort__rtlock lock;       /* fd writes, the global buffer, start/stop */
    bool on;                 /* [lock] */
    bool flight;             /* [lock] recording to memory (flight recorder) */
    int64_t tick0, ns0;      /* [lock] ticks() and nanotime at the start */
    int64_t sysexit_min;     /* [lock] ticks() a call's return is not ours before (sysexit) */
    int64_t window;          /* [lock] flight: how far back to keep */
    gen *oldest, *cur;       /* [lock] flight: generations, oldest first */
    int fd;                  /* [lock] */
    int err;                 /* [lock] first write error */
    tbuf *global;            /* [lock] */
    tbuf *p[GORT_MAX_PROCS]; /* [owner P] (allocated at start or on first use) */
    /* The live tables (see ttable): the whole trace's, or the flight
     * recorder's current generation's. */
    ttable stacks;           /* [own lock] stacks: pcs (EvStack) */
    ttable strs;             /* [own lock] strings and the byte after (EvString): their NUL, or
                    * the next one of a user's string cut at USER_STR_MAX */
    _Atomic uint64_t taskid; /* [atomic] last task id */
} tr = {.lock = GORT__RTLOCK_INIT(LOCKRANK_TRACE),
        .stacks = {.lock = GORT__RTLOCK_INIT(LOCKRANK_TRACESTACKS), .mincap = 1024},
        .strs = {.lock = GORT__RTLOCK_INIT(LOCKRANK_TRACESTRINGS), .mincap = 256}};

/* ------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------ */

static size_t putvarint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static void flush(tbuf *b);

static void batch_header(tbuf *b) {
    int64_t ts = b->synth ? b->lastts + 1 : ticks();
    if (ts <= b->lastts)
        ts = b->lastts + 1;
    b->lastts = ts;
    b->data[b->pos++] = EvBatch | 1 << 6;
    b->pos += putvarint(b->data + b->pos, (uint64_t)b->pid);
    b->pos += putvarint(b->data + b->pos, (uint64_t)ts);
}

/* One event: type, args, and (stk != NOSTACK) a stack id; extra bytes of
 * room kept after it (a log's value).  now: read the clock; false for an
 * event that follows the buffer's last one with no time between worth a
 * clock read (~30 cycles, the largest part of an event): it is stamped
 * one tick after it. */
static void event_at(tbuf *b, int ev, const uint64_t *args, int nargs, uint64_t stk, size_t extra,
                     bool now) {
    size_t max = 2 + 6 * 10 + extra;
    if (b->pos + max > TBUF_SIZE)
        flush(b);
    if (b->pos == 0)
        batch_header(b);
    int64_t ts = b->synth || !now ? b->lastts + 1 : ticks();
    if (ts <= b->lastts)
        ts = b->lastts + 1;
    uint64_t diff = (uint64_t)(ts - b->lastts);
    b->lastts = ts;
    int narg = nargs + (stk != NOSTACK);
    if (narg > 3)
        narg = 3;
    /* Through a local pointer: stores through uint8_t * may alias b->pos,
     * which the compiler would otherwise reload and store at every byte. */
    uint8_t *start = b->data + b->pos, *p = start;
    *p++ = (uint8_t)(ev | narg << 6);
    uint8_t *lenp = NULL;
    if (narg == 3)
        lenp = p++; /* the length, filled in below (< 128) */
    p += putvarint(p, diff);
    for (int i = 0; i < nargs; i++)
        p += putvarint(p, args[i]);
    if (stk != NOSTACK)
        p += putvarint(p, stk);
    if (lenp != NULL)
        *lenp = (uint8_t)(p - start - 2);
    b->pos += (size_t)(p - start);
}

/* Writes b out (trace.lock taken here unless b is the global buffer,
 * whose users hold it). */
static inline void event(tbuf *b, int ev, const uint64_t *args, int nargs, uint64_t stk,
                         size_t extra) {
    event_at(b, ev, args, nargs, stk, extra, true);
}

/* A chunk of n bytes, its pages straight from the kernel, not malloc's:
 * a flush holds tr.lock (and may hold gort__acquirem, for a sweep's
 * event), so its thread is never suspended by a stop of the world, and a
 * collector's stop, which may suspend another thread inside malloc with
 * an arena's lock held, would wait for ever for one blocked in malloc on
 * that lock. */
static chunk *chunk_new(size_t n) {
    size_t len = (sizeof(chunk) + n + 4095) & ~(size_t)4095;
    chunk *c = gort__mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        return NULL;
    c->mapped = len;
    return c;
}

static void chunk_free(chunk *c) {
    if (c != NULL)
        munmap(c, c->mapped);
}

static void flush_locked(tbuf *b) {
    if (b->pos == 0)
        return;
    if (tr.flight) {
        chunk *c = chunk_new(b->pos);
        if (c != NULL && tr.cur != NULL) {
            c->next = NULL;
            c->n = b->pos;
            memcpy(c->data, b->data, b->pos);
            if (tr.cur->tail)
                tr.cur->tail->next = c;
            else
                tr.cur->chunks = c;
            tr.cur->tail = c;
            tr.cur->bytes += b->pos;
            /* Relaxed: sysmon only reads it as a hint to rotate early. */
            atomic_store_explicit(&flight_curbytes, tr.cur->bytes, memory_order_relaxed);
        } else {
            /* Out of memory: the generation loses this buffer, so the
             * written trace leaves it out (first_whole_locked). */
            chunk_free(c);
            if (tr.cur != NULL)
                tr.cur->lost = true;
        }
    } else if (tr.err == 0 && tr.fd >= 0) {
        tr.err = gort__write_all(tr.fd, b->data, b->pos, false); /* tr.lock held */
    }
    b->pos = 0;
}

static void flush(tbuf *b) {
    if (b == tr.global) {
        flush_locked(b);
        return;
    }
    gort__lock(&tr.lock);
    flush_locked(b);
    gort__unlock(&tr.lock);
}

/* Empties b's stack cache: its ids were the live stack table's, which a
 * rotation moved into the ending generation.  b's owner, or with the
 * world stopped and tr.lock held. */
static void forget_stacks(tbuf *b) {
    for (int i = 0; i < STACK_CACHE; i++)
        b->sc[i].id = 0;
}

static tbuf *tbuf_new(int64_t pid) {
    tbuf *b = gort__fixalloc(sizeof *b);
    if (b == NULL)
        return NULL;
    b->pid = pid;
    b->lastts = 0;
    b->running = false;
    b->synth = false;
    forget_stacks(b);
    b->g = 0;
    b->sweep = false;
    b->swept = b->reclaimed = 0;
    b->pos = 0;
    return b;
}

/* The buffer to record into from the calling thread: its P's (then
 * *locked is false), else the global one with trace.lock taken (*locked
 * true; release with tb_release).  NULL: not tracing (after all). */
static tbuf *tb_acquire(struct m *mp, bool *locked) {
    struct p *pp = mp ? mp->p : NULL;
    if (pp != NULL) {
        *locked = false;
        tbuf *b = tr.p[pp->id];
        if (GORT_UNLIKELY(b == NULL)) {
            b = tbuf_new(pp->id);
            if (b == NULL)
                return NULL;
            tr.p[pp->id] = b;
        }
        if (GORT_UNLIKELY(!b->running)) {
            uint64_t a = mp ? (uint64_t)mp->id : 0;
            event(b, EvProcStart, &a, 1, NOSTACK, 0);
            b->running = true;
        }
        return b;
    }
    *locked = true;
    gort__lock(&tr.lock);
    if (!tr.on || tr.global == NULL) {
        gort__unlock(&tr.lock);
        return NULL;
    }
    return tr.global;
}

static void tb_release(bool locked) {
    if (locked)
        gort__unlock(&tr.lock);
}

/* ------------------------------------------------------------------------
 * Stacks and strings
 * ------------------------------------------------------------------------ */

/* Rehashes t into cap buckets; false when out of memory (t unchanged). */
static bool ttable_grow(ttable *t, uint32_t cap) {
    tentry **nb = gort__fixcalloc(cap, sizeof *nb);
    if (nb == NULL)
        return false;
    for (uint32_t i = 0; i < t->cap; i++) {
        for (tentry *e = t->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            e->next = nb[e->hash & (cap - 1)];
            nb[e->hash & (cap - 1)] = e;
        }
    }
    gort__fixfree(t->buckets);
    t->buckets = nb;
    t->bytes += (size_t)(cap - t->cap) * sizeof *nb;
    t->cap = cap;
    return true;
}

/* The id of the len bytes at data (hash h) in t, added if new; 0 when out
 * of memory (the trace then names no stack or string there). */
static uint64_t ttable_id(ttable *t, const void *data, size_t len, uint64_t h) {
    uint64_t id = 0;
    gort__lock(&t->lock);
    size_t bytes0 = t->bytes;
    if (t->cap != 0) {
        for (tentry *e = t->buckets[h & (t->cap - 1)]; e != NULL; e = e->next) {
            if (e->hash == h && e->len == len && memcmp(e->data, data, len) == 0) {
                id = e->id;
                goto out;
            }
        }
    }
    if (t->n >= t->cap && !ttable_grow(t, t->cap ? t->cap * 2 : t->mincap))
        goto out;
    tentry *e = gort__fixalloc(sizeof *e + len);
    if (e == NULL)
        goto out;
    e->hash = h;
    e->len = len;
    e->id = id = ++t->lastid;
    t->n++;
    t->bytes += sizeof *e + len;
    memcpy(e->data, data, len);
    e->next = t->buckets[h & (t->cap - 1)];
    t->buckets[h & (t->cap - 1)] = e;
out:;
    size_t added = t->bytes - bytes0;
    gort__unlock(&t->lock);
    /* Relaxed: sysmon only reads the sum as a hint to rotate early. */
    if (added != 0 && (t == &tr.stacks || t == &tr.strs))
        atomic_fetch_add_explicit(&flight_tabbytes, added, memory_order_relaxed);
    return id;
}

/* Frees t's entries and buckets (nothing inserts into it any more): empty
 * again, its ids from 1 again. */
static void ttable_free(ttable *t) {
    for (uint32_t i = 0; i < t->cap; i++) {
        for (tentry *e = t->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            gort__fixfree(e);
        }
    }
    gort__fixfree(t->buckets);
    t->buckets = NULL;
    t->cap = t->n = 0;
    t->lastid = 0;
    t->bytes = 0;
}

/* Moves the live table t's entries into the empty to, an ending
 * generation's; t is left empty, its ids going on from the last one.
 * World stopped, tr.lock held: no insert runs (see ttable). */
static void ttable_move(ttable *t, ttable *to) {
    to->buckets = t->buckets;
    to->cap = t->cap;
    to->n = t->n;
    to->lastid = t->lastid;
    to->bytes = t->bytes;
    t->buckets = NULL;
    t->cap = t->n = 0;
    t->bytes = 0;
}

/* The shared table's hash of pcs[0..n). */
static uint64_t stack_hash(const uintptr_t *pcs, int n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

/* The id of the stack pcs[0..n) in t (0: empty). */
static uint64_t stack_id_in(ttable *t, const uintptr_t *pcs, int n) {
    return n > 0 ? ttable_id(t, pcs, (size_t)n * sizeof *pcs, stack_hash(pcs, n)) : 0;
}

/* The id of the stack pcs[0..n) in the live table (0: empty).  cache:
 * the recording buffer, whose owner alone uses its stack cache, or NULL.
 * The cache's slot comes from a hash of one rotate and xor per frame (the
 * shared table's multiply per frame was most of an event's cost), mixed
 * once; a hit is checked against the frames themselves. */
static uint64_t stack_id(const uintptr_t *pcs, int n, tbuf *cache) {
    if (n <= 0)
        return 0;
    scent *e = NULL;
    if (cache != NULL) {
        uint64_t h = (uint64_t)n;
        for (int i = 0; i < n; i++)
            h = (h << 7 | h >> 57) ^ pcs[i];
        e = &cache->sc[(unsigned)((h * 0x9e3779b97f4a7c15ull) >> 58) % STACK_CACHE];
        if (e->id != 0 && e->n == n) {
            int i = 0;
            while (i < n && e->pcs[i] == pcs[i])
                i++;
            if (i == n)
                return e->id;
        }
    }
    uint64_t id = stack_id_in(&tr.stacks, pcs, n);
    if (e != NULL && id != 0) {
        e->id = id;
        e->n = n;
        memcpy(e->pcs, pcs, (size_t)n * sizeof *pcs);
    }
    return id;
}

/* The stack of the calling goroutine (or g0) from the frame skip + 1
 * levels above our caller: callers_id(0) in a hook starts at the runtime
 * function that called the hook. */
static GORT_NOINLINE uint64_t callers_id(int skip, tbuf *cache) {
    uintptr_t pcs[TRACE_MAXSTACK];
    int n = gort__prof_callers(skip + 1, pcs, TRACE_MAXSTACK);
    return stack_id(pcs, n, cache);
}

/* The calling goroutine's stack from the program's code: the runtime's
 * frames on top (those whose return address is in gort_text) are left
 * out, but for the last of them, the call the program made, when api
 * (gort_chan_send readied the goroutine: Go's unblock stacks start at
 * runtime.chansend1).  Go's GoCreate starts at the go statement's
 * function; a stack of runtime frames only (a timer's wakeup) is kept
 * whole.  The viewer grouped regions under newproc1, and the scheduler
 * latency profile's leaves were the runtime's. */
static GORT_NOINLINE uint64_t callers_user_id(bool api, tbuf *cache) {
    uintptr_t pcs[TRACE_MAXSTACK];
    int n = gort__prof_callers(1, pcs, TRACE_MAXSTACK);
    uintptr_t lo = (uintptr_t)__start_gort_text, hi = (uintptr_t)__stop_gort_text;
    int k = 0;
    while (lo != 0 && k < n && pcs[k] >= lo && pcs[k] < hi)
        k++;
    if (k == n)
        k = 0;
    else if (api && k > 0)
        k--;
    return stack_id(pcs + k, n - k, cache);
}

/* A user's string (a task's or region's name, a log's key or message)
 * is kept from its start up to this many bytes, about the room of an
 * empty buffer, which is Go's limit (traceString and trace_userLog cut
 * at the buffer's end).  The tail was kept, as for a function's name, and
 * a log's message was cut at 16 KiB. */
#define USER_STR_MAX (TBUF_SIZE - 1024)

/* The id of string s in t (0 for ""): a function's or file's name keeps
 * its last 1024 bytes (Go's traceFrameForPC), a user's string (user) its
 * first USER_STR_MAX. */
static uint64_t string_id_of(ttable *t, const char *s, bool user) {
    if (s == NULL || *s == '\0')
        return 0;
    size_t len = strlen(s);
    if (user && len > USER_STR_MAX) {
        len = USER_STR_MAX;
    } else if (!user && len > 1024) {
        s += len - 1024;
        len = 1024;
    }
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return ttable_id(t, s, len + 1, h);
}

/* A user's string's id in the live table. */
static uint64_t user_string_id(const char *s) {
    return string_id_of(&tr.strs, s, true);
}

/* ------------------------------------------------------------------------
 * The hooks (called through GORT_TRACE when gort__trace_enabled)
 * ------------------------------------------------------------------------ */

static inline bool tracing(void) {
    return atomic_load_explicit(&gort__trace_enabled, memory_order_relaxed) != 0;
}

void gort__trace_gocreate(struct g *newg) {
    if (!tracing())
        return;
    struct m *mp = gort__getm();
    bool locked;
    tbuf *b = tb_acquire(mp, &locked);
    if (b == NULL)
        return;
    newg->traceseq = 0;
    newg->tracesys = false; /* a reused g may keep it from an earlier trace */
    uintptr_t start = (uintptr_t)newg->fn + 1;
    uint64_t args[2] = {(uint64_t)newg->goid, stack_id(&start, 1, b)};
    event(b, EvGoCreate, args, 2, callers_user_id(false, b), 0);
    tb_release(locked);
}

/* gp's GoStart on b, with its next seq (now: see event_at); b's P runs
 * it from here. */
static void record_gostart(tbuf *b, struct g *gp, bool now) {
    gp->traceseq++;
    uint64_t args[2] = {(uint64_t)gp->goid, gp->traceseq};
    event_at(b, EvGoStart, args, 2, NOSTACK, 0, now);
    b->g = (uint64_t)gp->goid;
}

static void sysexit(struct g *gp);

static inline void gostart(struct m *mp, struct g *gp, bool now) {
    if (!tracing() || gp->foreign)
        return;
    if (GORT_UNLIKELY(gp->tracesys)) {
        sysexit(gp); /* its blocking call's exit, now that it has a P */
        now = true;  /* a clock read: after the exit's, on another buffer */
    }
    bool locked;
    tbuf *b = tb_acquire(mp, &locked);
    if (b == NULL)
        return;
    record_gostart(b, gp, now);
    tb_release(locked);
}

void gort__trace_gostart(struct m *mp, struct g *gp) {
    gostart(mp, gp, true);
}

void gort__trace_gostart_direct(struct m *mp, struct g *gp) {
    gostart(mp, gp, false);
}

static int block_event(uint8_t reason) {
    switch (reason) {
    case WAIT_CHAN_RECV:
    case WAIT_CHAN_RECV_NIL:
        return EvGoBlockRecv;
    case WAIT_CHAN_SEND:
    case WAIT_CHAN_SEND_NIL:
        return EvGoBlockSend;
    case WAIT_SELECT:
    case WAIT_SELECT_NO_CASES:
        return EvGoBlockSelect;
    case WAIT_SLEEP:
        return EvGoSleep;
    case WAIT_IO:
    case WAIT_SYNCTEST_IO:
        return EvGoBlockNet;
    case WAIT_SEMACQUIRE:
    case WAIT_SYNC_MUTEX:
    case WAIT_SEMA_MUTEX:
    case WAIT_RUNTIME_MUTEX:
    case WAIT_SYNC_RWMUTEX_R:
    case WAIT_SYNC_RWMUTEX_W:
    case WAIT_SYNC_WAITGROUP:
    case WAIT_SYNCTEST_WAITGROUP:
    case WAIT_SYNC_ONCE:
        return EvGoBlockSync;
    case WAIT_SYNC_COND:
        return EvGoBlockCond;
    case WAIT_GC_ASSIST_WAIT:
        return EvGoBlockGC;
    default:
        return EvGoBlock;
    }
}

/* The running goroutine stops: block (ev from reason), sched, preempt,
 * end, or a blocking call's start (GoSysCall + GoSysBlock). */
static GORT_NOINLINE void gostop(struct g *gp, int ev) {
    if (!tracing() || gp->foreign)
        return;
    bool locked;
    tbuf *b = tb_acquire(gp->m, &locked);
    if (b == NULL)
        return;
    if (ev == EvGoEnd) {
        event(b, EvGoEnd, NULL, 0, NOSTACK, 0);
    } else if (ev == EvGoSysCall) {
        gp->tracesys = true;
        gp->sysexitticks = 0; /* an earlier call's, not consumed: see sysexit */
        event(b, EvGoSysCall, NULL, 0, callers_id(1, b), 0);
        event_at(b, EvGoSysBlock, NULL, 0, NOSTACK, 0, false);
    } else {
        event(b, ev, NULL, 0, callers_id(1, b), 0);
    }
    b->g = 0;
    tb_release(locked);
}

void gort__trace_goblock(struct g *gp, uint8_t reason) {
    gostop(gp, block_event(reason));
}

void gort__trace_gosched(struct g *gp, bool preempted) {
    gostop(gp, preempted ? EvGoPreempt : EvGoSched);
}

void gort__trace_goend(struct g *gp) {
    gostop(gp, EvGoEnd);
}

void gort__trace_gosyscall(struct g *gp) {
    gostop(gp, EvGoSysCall);
}

void gort__trace_gounblock(struct g *gp) {
    if (!tracing() || gp->foreign)
        return;
    struct m *mp = gort__getm();
    bool locked;
    tbuf *b = tb_acquire(mp, &locked);
    if (b == NULL)
        return;
    gp->traceseq++;
    uint64_t args[2] = {(uint64_t)gp->goid, gp->traceseq};
    event(b, EvGoUnblock, args, 2, callers_user_id(true, b), 0);
    tb_release(locked);
}

/* gp's GoSysExit (due: gp->tracesys), written by the GoStart of the P
 * that runs gp after its blocking call, on the global buffer.  Its time
 * is the call's return (gort__trace_sysexit_stamp) when that was in this
 * trace's current part, else 0, the event's own (Go's traceGoSysExit):
 * the stamp is taken without a P, which a trace's start does not stop,
 * and the parser refuses an exit before the GoInSyscall or GoSysBlock it
 * ends (order1007).  A stamp not consumed here (the goroutine was not in
 * the trace's call when it was taken) is older than the cut, or cleared
 * by the goroutine's next call's GoSysCall.
 *
 * Only gp's own thread, holding a P, gets here, and the trace's start
 * (start_g) and the flight recorder's snapshot (snap_g) write or read
 * gp's tracesys and traceseq with the world stopped, when no thread holds
 * a P in the runtime's code: so these are never accessed concurrently (a
 * call's exit once read tracesys before taking a P, a race ThreadSanitizer
 * found).  tr.lock guards the global buffer. */
static void sysexit(struct g *gp) {
    gp->tracesys = false;
    int64_t ts = gp->sysexitticks;
    gp->sysexitticks = 0;
    gort__lock(&tr.lock);
    if (tr.on && tr.global != NULL) {
        if (ts < tr.sysexit_min)
            ts = 0;
        gp->traceseq++;
        uint64_t args[3] = {(uint64_t)gp->goid, gp->traceseq, (uint64_t)ts};
        event(tr.global, EvGoSysExit, args, 3, NOSTACK, 0);
    }
    gort__unlock(&tr.lock);
}

void gort__trace_sysexit_stamp(struct g *gp) {
    gp->sysexitticks = ticks();
}

/* The GC's events, for the collected heap (Go's traceGCStart/Done,
 * traceHeapAlloc/HeapGoal).  GCStart carries the cycle's sequence number
 * in the trace, which the parser orders GCs by. */
static _Atomic uint64_t gcseq; /* [atomic] GCStart events since the start */
static _Atomic bool gcrunning; /* [atomic] between GCStart and GCDone */

void gort__trace_gc_start(void) {
    if (!tracing())
        return;
    bool locked;
    tbuf *b = tb_acquire(gort__getm(), &locked);
    if (b == NULL)
        return;
    uint64_t seq = atomic_fetch_add_explicit(&gcseq, 1, memory_order_relaxed);
    atomic_store_explicit(&gcrunning, true, memory_order_relaxed);
    event(b, EvGCStart, &seq, 1, callers_id(0, b), 0);
    tb_release(locked);
}

/* One event without a stack, in the calling thread's buffer (its P's, or
 * the global one). */
static void thread_event(int ev, const uint64_t *args, int nargs) {
    bool locked;
    tbuf *b = tb_acquire(gort__getm(), &locked);
    if (b == NULL)
        return;
    event(b, ev, args, nargs, NOSTACK, 0);
    tb_release(locked);
}

void gort__trace_gc_done(void) {
    if (!tracing() || !atomic_exchange_explicit(&gcrunning, false, memory_order_relaxed))
        return;
    thread_event(EvGCDone, NULL, 0);
}

/* The GC's stops of the world (Go's traceGCSTWStart/Done), kind 1 for
 * sweep termination and 0 for mark termination, the two Go 1.19's parser
 * knows.  Both are called with the world stopped (mgc.c), so no other P
 * records between them and no flight recorder generation, itself a stop
 * of the world, begins between them: the pair is never split. */
static bool stwopen; /* [world stopped] a GCSTWStart is written */

void gort__trace_stw_start(int kind) {
    if (!tracing())
        return;
    uint64_t k = (uint64_t)kind;
    thread_event(EvGCSTWStart, &k, 1);
    stwopen = true;
}

void gort__trace_stw_done(void) {
    if (!tracing() || !stwopen)
        return;
    stwopen = false;
    thread_event(EvGCSTWDone, NULL, 0);
}

/* The P's buffer of the calling goroutine, or NULL (no P: a thread
 * outside the runtime, or one allocating from the shared cache, whose
 * sweeps Go would not trace either). */
static tbuf *p_buffer(void) {
    struct m *mp = gort__getm();
    struct g *gp = gort__getg();
    if (mp == NULL || mp->p == NULL || gp == NULL || gp->foreign)
        return NULL;
    bool locked;
    return tb_acquire(mp, &locked); /* a P's: never locked */
}

/* A sweep loop (Go's traceGCSweepStart/Span/Done).  The caller holds
 * gort__acquirem from start to done: its goroutine keeps its P and no
 * stop of the world (so no trace start or stop, and no flight recorder
 * generation) comes between, so the P's buffer holds the loop's state. */
void gort__trace_sweep_start(void) {
    if (!tracing())
        return;
    tbuf *b = p_buffer();
    if (b == NULL)
        return;
    b->sweep = true;
    b->swept = b->reclaimed = 0;
}

/* The P's buffer of a sweep loop under way on this thread, or NULL. */
static tbuf *sweep_buffer(void) {
    struct m *mp = gort__getm();
    tbuf *b = mp != NULL && mp->p != NULL ? tr.p[mp->p->id] : NULL;
    return b != NULL && b->sweep ? b : NULL;
}

void gort__trace_sweep_span(uint64_t swept, uint64_t reclaimed) {
    if (!tracing())
        return;
    tbuf *b = sweep_buffer();
    if (b == NULL)
        return;
    /* No stack (id 0), unlike Go's event: written under gort__acquirem,
     * where interning a stack once called malloc; the stack table now
     * takes the runtime's own memory (mfixalloc.c), so one could be
     * added. */
    if (b->swept == 0)
        event(b, EvGCSweepStart, NULL, 0, 0, 0);
    b->swept += swept;
    b->reclaimed += reclaimed;
}

void gort__trace_sweep_done(void) {
    if (!tracing())
        return;
    tbuf *b = sweep_buffer();
    if (b == NULL)
        return;
    b->sweep = false;
    if (b->swept == 0)
        return;
    uint64_t args[2] = {b->swept, b->reclaimed};
    event(b, EvGCSweepDone, args, 2, NOSTACK, 0);
}

/* A goroutine's mark assist (Go's traceGCMarkAssistStart/Done): per
 * goroutine in the parser, so it may span a park (GoBlockGC) and end on
 * another P; a Done whose Start was in an earlier flight recorder
 * generation is accepted there. */
void gort__trace_assist_start(void) {
    if (!tracing())
        return;
    tbuf *b = p_buffer();
    if (b == NULL)
        return;
    event(b, EvGCMarkAssistStart, NULL, 0, callers_user_id(true, b), 0);
}

void gort__trace_assist_done(void) {
    if (!tracing())
        return;
    tbuf *b = p_buffer();
    if (b == NULL)
        return;
    event(b, EvGCMarkAssistDone, NULL, 0, NOSTACK, 0);
}

void gort__trace_heap(uint64_t live, uint64_t goal) {
    if (!tracing())
        return;
    bool locked;
    tbuf *b = tb_acquire(gort__getm(), &locked);
    if (b == NULL)
        return;
    event(b, EvHeapAlloc, &live, 1, NOSTACK, 0);
    if (goal != 0)
        event_at(b, EvHeapGoal, &goal, 1, NOSTACK, 0, false);
    tb_release(locked);
}

void gort__trace_procstop(struct m *mp) {
    if (!tracing())
        return;
    struct p *pp = mp->p;
    tbuf *b = pp ? tr.p[pp->id] : NULL;
    if (b == NULL || !b->running || b->g != 0)
        return;
    event(b, EvProcStop, NULL, 0, NOSTACK, 0);
    b->running = false;
}

/* ------------------------------------------------------------------------
 * User annotations (runtime/trace's tasks, regions, logs)
 * ------------------------------------------------------------------------ */

bool gort_trace_enabled(void) {
    return tracing();
}

/* The event of a public annotation call, whose stack starts at its caller
 * (Go's trace.StartRegion and the rest record their caller's stack): the
 * public function is skipped, and is always there to skip, since each
 * passes user_event the address of a local of its own frame and so cannot
 * make it a tail call.  args[sarg] (sarg >= 0) becomes the id of the
 * string str, interned here, with the buffer taken (see ttable): before
 * it, a flight recorder's rotation could come between, and the event name
 * an id of the generation before, which the write may leave out. */
static GORT_NOINLINE void user_event(int ev, uint64_t *args, int nargs, int sarg, const char *str,
                                     const char *value) {
    struct m *mp = gort__getm();
    /* Not from a thread outside the runtime: the event would name g 0, on
     * which go tool trace's goroutine analysis dies (GoroutineStats). */
    if (mp == NULL || mp->curg == NULL)
        return;
    bool locked;
    tbuf *b = tb_acquire(mp, &locked);
    if (b == NULL)
        return;
    if (sarg >= 0)
        args[sarg] = user_string_id(str);
    size_t vlen = value ? strlen(value) : 0;
    if (vlen > USER_STR_MAX)
        vlen = USER_STR_MAX;
    event(b, ev, args, nargs, callers_id(1, b), value ? vlen + 10 : 0);
    if (value != NULL) {
        b->pos += putvarint(b->data + b->pos, vlen);
        memcpy(b->data + b->pos, value, vlen);
        b->pos += vlen;
    }
    tb_release(locked);
}

GORT_NOINLINE uint64_t gort_trace_task_new(uint64_t parent, const char *name) {
    uint64_t id = atomic_fetch_add_explicit(&tr.taskid, 1, memory_order_relaxed) + 1;
    if (!tracing())
        return id;
    uint64_t args[3] = {id, parent, 0};
    user_event(EvUserTaskCreate, args, 3, 2, name, NULL);
    return id;
}

GORT_NOINLINE void gort_trace_task_end(uint64_t task) {
    if (!tracing())
        return;
    user_event(EvUserTaskEnd, &task, 1, -1, NULL, NULL);
}

GORT_NOINLINE void gort_trace_region_start(uint64_t task, const char *name) {
    if (!tracing())
        return;
    uint64_t args[3] = {task, 0, 0};
    user_event(EvUserRegion, args, 3, 2, name, NULL);
}

GORT_NOINLINE void gort_trace_region_end(uint64_t task, const char *name) {
    if (!tracing())
        return;
    uint64_t args[3] = {task, 1, 0};
    user_event(EvUserRegion, args, 3, 2, name, NULL);
}

GORT_NOINLINE void gort_trace_log(uint64_t task, const char *key, const char *value) {
    if (!tracing())
        return;
    uint64_t args[2] = {task, 0};
    user_event(EvUserLog, args, 2, 1, key, value ? value : "");
}

/* ------------------------------------------------------------------------
 * Start and stop
 * ------------------------------------------------------------------------ */

/* The events of a trace start for goroutine gp (its seq restarting at 0):
 * GoCreate, then GoWaiting or GoInSyscall for a parked one or one in a
 * blocking call; the caller starts itself.  stacks: the table its start
 * function's stack goes in. */
static void start_events(tbuf *b, ttable *stacks, uint64_t goid, uintptr_t fn, uint32_t st,
                         bool self, uint64_t creator) {
    uintptr_t start = fn + 1;
    uint64_t args[2] = {goid, stack_id_in(stacks, &start, 1)};
    event(b, EvGoCreate, args, 2, creator, 0);
    if (self)
        return;
    if (st == G_WAITING)
        event(b, EvGoWaiting, &goid, 1, NOSTACK, 0);
    else if (st == G_SYSCALL)
        event(b, EvGoInSyscall, &goid, 1, NOSTACK, 0);
}

typedef struct startctx {
    tbuf *b;
    struct g *self;
    uint64_t stk;
} startctx;

/* With the world stopped: gp, not self, is still G_RUNNING.  Such a
 * goroutine was interrupted where it
 * could not be redirected (in libc, say) and waits inside the preemption
 * handler (preempt.c stw_suspend) with its P, which it goes on running on
 * once the world restarts: no scheduler event will say so, so the trace
 * treats it as preempted by the stop and started again on that P.  The
 * stop-the-world orders the handler's stores before our loads. */
static bool suspended(struct g *gp, uint32_t st, struct g *self) {
    return st == G_RUNNING && gp != self && gp->m != NULL && gp->m->p != NULL &&
           atomic_load_explicit(&gp->m->stwsuspended, memory_order_relaxed);
}

/* gp, suspended, runs again on its P once the world restarts: that P's
 * buffer (whose M is stopped) gets the P's ProcStart by gp's M
 * (tb_acquire) and gp's GoStart. */
static void restart_suspended(struct g *gp) {
    bool locked;
    tbuf *b = tb_acquire(gp->m, &locked);
    if (b == NULL)
        return;
    record_gostart(b, gp, true);
    tb_release(locked);
}

static void start_g(struct g *gp, void *arg) {
    startctx *sc = arg;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (st == G_DEAD || st == G_IDLE || gp->foreign)
        return;
    gp->traceseq = st == G_WAITING || st == G_SYSCALL ? 1 : 0;
    gp->tracesys = st == G_SYSCALL;
    start_events(sc->b, &tr.stacks, (uint64_t)gp->goid, (uintptr_t)gp->fn, st, gp == sc->self,
                 sc->stk);
    if (suspended(gp, st, sc->self))
        restart_suspended(gp); /* after its GoCreate, on its own P */
}

static void free_gen(gen *g) {
    for (chunk *c = g->chunks, *next; c != NULL; c = next) {
        next = c->next;
        chunk_free(c);
    }
    gort__fixfree(g->gs);
    ttable_free(&g->stacks);
    ttable_free(&g->strs);
    gort__fixfree(g);
}

typedef struct snapctx {
    gen *g;
    size_t cap;
    struct g *self;
    bool oom;
    /* The goroutines suspended in the preemption handler (suspended): at
     * most one per P. */
    struct g *susp[GORT_MAX_PROCS];
    int nsusp;
} snapctx;

static void snap_g(struct g *gp, void *arg) {
    snapctx *sc = arg;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (st == G_DEAD || st == G_IDLE || gp->foreign || sc->oom)
        return;
    if (sc->g->ngs == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 64;
        snapg *n = gort__fixrealloc(sc->g->gs, cap * sizeof *n);
        if (n == NULL) {
            sc->oom = true;
            return;
        }
        sc->g->gs = n;
        sc->cap = cap;
    }
    if (suspended(gp, st, sc->self)) {
        /* Runnable at the generation's start: rotate_locked preempts it
         * at the end of the last one and starts it again after. */
        if (sc->nsusp < GORT_MAX_PROCS)
            sc->susp[sc->nsusp++] = gp;
        st = G_RUNNABLE;
    } else if (gp->tracesys && st != G_SYSCALL) {
        /* Its blocking call returned, but no P has run it since, so the
         * GoSysExit is still due (sysexit): in the trace it is still in
         * the call, the GoInSyscall that exit ends.  Shown runnable, its
         * GoSysExit broke the written trace's order (the parser found no
         * consistent one in 1 of 10 recordings of
         * trace.syscall_exits_across_starts_and_generations_parse).
         * tracesys was written with its P, before the stop took it. */
        st = G_SYSCALL;
    }
    sc->g->gs[sc->g->ngs++] = (snapg){(uint64_t)gp->goid, gp->traceseq, (uintptr_t)gp->fn,
                                      gp == sc->self ? G_RUNNING : (uint8_t)st};
}

/* World stopped, tr.lock held: a goroutine still on b's running P (not
 * the caller's) is one suspended in the preemption handler, and is shown
 * preempted there. */
static void preempt_suspended_locked(tbuf *b) {
    if (b->g != 0)
        event(b, EvGoPreempt, NULL, 0, 0, 0);
    b->g = 0;
}

/* Flight recorder, world stopped, allglock (gs, n: gort__allgs_hold) and
 * then tr.lock held: closes the current generation and starts the next
 * one with a snapshot taken on self's P.  Returns false when out of
 * memory (recording goes on in the current generation).  The rotation
 * needs tr.lock (the buffers, the tables, the generations) and allglock
 * (the snapshot), which is taken first: a trace's start records its
 * goroutines under allglock and may flush a full buffer under tr.lock
 * (Go's order too: allg before trace).  No goroutine's state or sequence
 * number moves meanwhile: the world is stopped, the snapshot gate keeps
 * out the threads without a P (snap_close, before both locks), and a
 * blocking call's exit moves them only once it has a P again (sysexit). */
static bool rotate_locked(struct g *self, struct g **gs, int64_t n) {
    gen *g = gort__fixcalloc(1, sizeof *g);
    if (g == NULL)
        return false;
    struct p *curp = self->m->p;
    snapctx sc = {.g = g, .self = self};
    for (int64_t i = 0; i < n; i++)
        snap_g(gs[i], &sc);
    if (sc.oom) {
        free_gen(g);
        return false;
    }
    /* Every P but ours stops here, in the trace as in fact; then each
     * buffer is closed into the ending generation. */
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        tbuf *b = tr.p[i];
        if (b == NULL)
            continue;
        if (b->running && i != curp->id) {
            /* Its goroutine is started again below. */
            preempt_suspended_locked(b);
            event(b, EvProcStop, NULL, 0, NOSTACK, 0);
            b->running = false;
        }
        flush_locked(b);
    }
    flush_locked(tr.global);
    /* Every event of the ending generation is in its chunks: the stacks
     * and strings they name end with it, and no buffer's cache hands out
     * one of those ids again.  The world is stopped and tr.lock held, so
     * no insert runs (see ttable) and every buffer's owner is stopped or
     * waits for tr.lock. */
    if (tr.cur != NULL) {
        ttable_move(&tr.stacks, &tr.cur->stacks);
        ttable_move(&tr.strs, &tr.cur->strs);
        tr.cur->bytes += tr.cur->stacks.bytes + tr.cur->strs.bytes;
    }
    for (int i = 0; i < GORT_MAX_PROCS; i++)
        if (tr.p[i] != NULL)
            forget_stacks(tr.p[i]);
    forget_stacks(tr.global);
    g->start = ticks();
    g->start_ns = gort_nanotime();
    tr.sysexit_min = g->start; /* the snapshot's events are written before it */
    for (int i = 0; i < sc.nsusp; i++)
        restart_suspended(sc.susp[i]);
    g->curp = curp->id;
    g->mid = (uint64_t)self->m->id;
    g->gcseq = atomic_load_explicit(&gcseq, memory_order_relaxed);
    g->gcrunning = atomic_load_explicit(&gcrunning, memory_order_relaxed);
    if (tr.cur != NULL)
        tr.cur->next = g;
    else
        tr.oldest = g;
    tr.cur = g;
    /* Keep the generations that reach back to window: drop the oldest
     * while the one after it starts early enough. */
    while (tr.oldest != tr.cur && tr.oldest->next->start_ns <= g->start_ns - tr.window) {
        gen *old = tr.oldest;
        tr.oldest = old->next;
        free_gen(old);
    }
    size_t total = 0;
    for (gen *k = tr.oldest; k != NULL; k = k->next)
        total += k->bytes;
    while (tr.oldest != tr.cur && total > FLIGHT_MAX_BYTES) {
        gen *old = tr.oldest;
        total -= old->bytes;
        tr.oldest = old->next;
        free_gen(old);
    }
    /* Relaxed: hints for sysmon (ttable_id); no insert runs (see above). */
    atomic_store_explicit(&flight_curbytes, 0, memory_order_relaxed);
    atomic_store_explicit(&flight_tabbytes, 0, memory_order_relaxed);
    return true;
}

static _Atomic uint32_t flight_sema; /* sysmon -> recorder goroutine */
static _Atomic bool flight_quit;     /* [atomic] the recorder goroutine must exit */
static _Atomic int64_t flight_next;  /* [atomic] when sysmon next wakes it */
static _Atomic int64_t flight_period;
static _Atomic bool flight_woken; /* [atomic] a wakeup is pending */
/* A recorder goroutine was started and not yet waited for: stop waits on
 * flight_exit for it to return, as Go's FlightRecorder.Stop waits for its
 * reader.  A start right after a stop reset the quit flag and the
 * semaphore before the old goroutine saw them, and it stayed parked for
 * good (49 of 50 quick restarts left one). */
static _Atomic bool flight_has_g;
static _Atomic uint32_t flight_exit; /* recorder goroutine -> stop */
/* Held across each whole start and stop of a trace or the flight
 * recorder: both finish after the world restarts (a stop frees the
 * tables, waits for the recorder goroutine), and a start from another
 * goroutine meanwhile reset the recorder's state under a stop that then
 * waited for ever, or had its new tables freed. */
static gort_mutex trace_mu;
/* The goroutine holding trace_mu (NULL: none, or a thread outside the
 * runtime).  A holder may park (on worldsema in its stop of the world, or
 * for the recorder goroutine's exit) and be abandoned there when main
 * returns: gort__trace_abandon releases trace_mu for it, which the next
 * run's gort_trace_start waited for for ever (test
 * trace.main_returns_while_tracers_contend).  Relaxed: written under
 * trace_mu; read without it only by shutdown, once no goroutine runs, when
 * a goroutine's value can no longer change (a plain thread writes it only
 * after taking trace_mu, which that goroutine holds). */
static _Atomic(struct g *) trace_mu_g;

static void trace_lock(void) {
    gort_mutex_lock(&trace_mu);
    atomic_store_explicit(&trace_mu_g, gort__getg(), memory_order_relaxed);
}

static void trace_unlock(void) {
    atomic_store_explicit(&trace_mu_g, NULL, memory_order_relaxed);
    gort_mutex_unlock(&trace_mu);
}

void gort__trace_abandon(void) {
    if (atomic_exchange_explicit(&trace_mu_g, NULL, memory_order_relaxed) != NULL)
        gort_mutex_unlock(&trace_mu);
}

/* The snapshot gate (trace.h).  A P-less thread made a goroutine
 * runnable while a trace's start recorded it as waiting: its trace check
 * had seen tracing off, so no GoUnblock said so, and its GoStart then
 * came with no unblock before it ("no consistent ordering of events
 * possible": trace.every_event_kind_at_random_starts_parses failed so 3
 * times in 15 runs, with more channel traffic than it has now).  Dekker, seq_cst on both sides: a thread that counts
 * itself in (pless_n) and then finds the gate open is seen by the closer,
 * which waits for its exit; the exit's release and the closer's acquire
 * publish the state it wrote.  One that finds the gate closed counts
 * itself out and waits for it to open.  The closer holds no lock a thread
 * inside may wait for (tr.lock, allglock), and the world is stopped, so
 * no goroutine with a P takes part. */
static _Atomic uint32_t pless_n;
static _Atomic bool snap_closed;

void gort__trace_pless_enter(void) {
    for (;;) {
        atomic_fetch_add_explicit(&pless_n, 1, memory_order_seq_cst);
        if (GORT_LIKELY(!atomic_load_explicit(&snap_closed, memory_order_seq_cst)))
            return;
        atomic_fetch_sub_explicit(&pless_n, 1, memory_order_seq_cst);
        /* Acquire: pairs with snap_open's release. */
        while (atomic_load_explicit(&snap_closed, memory_order_acquire))
            sched_yield();
    }
}

void gort__trace_pless_exit(void) {
    atomic_fetch_sub_explicit(&pless_n, 1, memory_order_release);
}

/* World stopped, no lock held: from here to snap_open no thread without
 * a P changes a goroutine's state or trace sequence. */
static void snap_close(void) {
    atomic_store_explicit(&snap_closed, true, memory_order_seq_cst);
    while (atomic_load_explicit(&pless_n, memory_order_seq_cst) != 0)
        sched_yield();
}

static void snap_open(void) {
    atomic_store_explicit(&snap_closed, false, memory_order_release);
}

/* Allocates the buffers and records the start: to fd, or (fd < 0) into
 * memory as the flight recorder's first generation. */
static int trace_begin(int fd, int64_t window) {
    struct g *self = gort__getg();
    if (self == NULL || !gort__runtime_running())
        return -EINVAL; /* from a goroutine, as runtime/trace.Start */
    gort__stop_the_world_malloc("start tracing");
    snap_close();
    gort__lock(&tr.lock);
    if (tr.on) {
        gort__unlock(&tr.lock);
        snap_open();
        gort__start_the_world();
        return -EBUSY;
    }
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    bool oom = (tr.global = tbuf_new(-1)) == NULL;
    for (int32_t i = 0; i < procs && !oom; i++)
        oom = (tr.p[i] = tbuf_new(i)) == NULL;
    gen *g = NULL;
    if (!oom && fd < 0)
        oom = (g = gort__fixcalloc(1, sizeof *g)) == NULL;
    if (oom) {
        for (int i = 0; i < GORT_MAX_PROCS; i++) {
            gort__fixfree(tr.p[i]);
            tr.p[i] = NULL;
        }
        gort__fixfree(tr.global);
        tr.global = NULL;
        gort__fixfree(g);
        gort__unlock(&tr.lock);
        snap_open();
        gort__start_the_world();
        return -ENOMEM;
    }
    tr.fd = fd;
    tr.err = 0;
    tr.flight = fd < 0;
    tr.ns0 = gort_nanotime();
    tr.tick0 = ticks();
    atomic_store_explicit(&gcseq, 0, memory_order_relaxed);
    atomic_store_explicit(&gcrunning, false, memory_order_relaxed);
    /* Relaxed: a hint for sysmon, who reads it once flight_next is set. */
    atomic_store_explicit(&flight_curbytes, 0, memory_order_relaxed);
    atomic_store_explicit(&flight_tabbytes, 0, memory_order_relaxed);
    tr.window = window;
    if (fd >= 0) {
        static const char hdr[16] = "go 1.19 trace\0\0";
        tr.err = gort__write_all(fd, (const uint8_t *)hdr, 16, false);
    }
    tr.on = true;
    gort__unlock(&tr.lock);

    struct m *mp = self->m;
    bool locked;
    tbuf *b = tb_acquire(mp, &locked); /* our P's; its ProcStart */
    if (b != NULL) {
        uint64_t procsarg = (uint64_t)procs;
        startctx sc = {b, self, callers_id(1, NULL)};
        event(b, EvGomaxprocs, &procsarg, 1, sc.stk, 0);
        gort__forallg(start_g, &sc);
        record_gostart(b, self, true);
    }
    /* After the GoInSyscall events (Go's ticksStart has the same place). */
    gort__lock(&tr.lock);
    tr.sysexit_min = ticks();
    gort__unlock(&tr.lock);
    if (g != NULL) {
        /* The first generation: the start events above are its first
         * chunk, so it needs no snapshot. */
        g->start = 0;
        g->start_ns = gort_nanotime(); /* what the crash-time dump reports from */
        g->curp = -1;
        tr.oldest = tr.cur = g;
    }
    /* Relaxed: the other Ms see it after start_the_world, whose locks
     * order it; an M in a blocking call that reads it early finds the
     * global buffer under trace.lock, which checks tr.on. */
    atomic_store_explicit(&gort__trace_enabled, 1, memory_order_relaxed);
    snap_open();
    gort__start_the_world();
    return 0;
}

GORT_NOINLINE int gort_trace_start(int fd) {
    /* A preemption point: it stops the world, and a goroutine that starts
     * and stops tracing in a loop runs nearly all its time in the
     * runtime's code, where no signal preempts it (see gort_gc). */
    gort__preempt_check(gort__getg());
    if (fd < 0)
        return -EINVAL;
    trace_lock();
    int r = trace_begin(fd, 0);
    trace_unlock();
    return r;
}

/* The stacks, symbolised: EvStack records (and the strings they use). */
typedef struct dumpctx {
    gort__pbuf *out;
    ttable *names;  /* where the functions' and files' names go */
    gort__pbuf rec; /* the frames of the stack being written */
    int nframes;
    int ninl; /* inlined frames seen at the current pc */
    const uintptr_t *pcs;
} dumpctx;

static void frame_cb(void *arg, int i, const char *name, const char *file, int line, bool inlined) {
    dumpctx *d = arg;
    char nb[256];
    if (name == NULL) {
        snprintf(nb, sizeof nb, "%#lx", (unsigned long)d->pcs[i]);
    } else {
        size_t n = gort__symtab_namelen(name);
        if (n >= sizeof nb)
            n = sizeof nb - 1;
        memcpy(nb, name, n);
        nb[n] = '\0';
    }
    /* cmd/trace keys locations by pc alone: a frame inlined at pc gets a
     * pc of its own that no code has (top bit set), or its function would
     * be lost behind the first frame seen at that pc. */
    uint64_t pc = d->pcs[i] + 1;
    if (inlined)
        pc = 1ull << 63 | (uint64_t)d->pcs[i] << 4 | (uint64_t)(d->ninl++ & 15);
    else
        d->ninl = 0;
    gort__pb_varint(&d->rec, pc);
    gort__pb_varint(&d->rec, string_id_of(d->names, nb, false));
    gort__pb_varint(&d->rec, string_id_of(d->names, file ? file : "?", false));
    gort__pb_varint(&d->rec, (uint64_t)line);
    d->nframes++;
}

/* One stack's EvStack record, from its symbolised frames in d. */
static void put_stack(gort__pbuf *out, uint64_t id, dumpctx *d) {
    gort__pbuf payload = {0};
    gort__pb_varint(&payload, id);
    gort__pb_varint(&payload, (uint64_t)d->nframes);
    gort__pb_put(&payload, d->rec.b, d->rec.n);
    uint8_t ev = EvStack | 3 << 6;
    gort__pb_put(out, &ev, 1);
    gort__pb_varint(out, payload.n);
    gort__pb_put(out, payload.b, payload.n);
    gort__pb_free(&payload);
    gort__pb_free(&d->rec);
}

/* Every stack's frames in one symbolisation: pc k of the whole belongs
 * to stack owner[k], whose first pc is base[owner[k]]. */
typedef struct dumpall {
    dumpctx *ds;
    const uint32_t *owner;
    const size_t *base;
} dumpall;

static void frame_all_cb(void *arg, int i, const char *name, const char *file, int line,
                         bool inlined) {
    dumpall *a = arg;
    uint32_t k = a->owner[i];
    frame_cb(&a->ds[k], i - (int)a->base[k], name, file, line, inlined);
}

/* The EvStack records of t's stacks, symbolised; their functions' and
 * files' names go in names (whose ids must not be any of the trace's
 * other strings').  All the pcs go to gort__symbolize at once: it runs
 * libdw on a helper thread of its own for each call, and a call a stack
 * took about a millisecond each (thousands of stacks held tr.lock for
 * seconds).  Out of memory for that, a stack at a time. */
static void dump_stacks(gort__pbuf *out, const ttable *t, ttable *names) {
    size_t total = 0, ns = 0;
    for (uint32_t i = 0; i < t->cap; i++)
        for (tentry *s = t->buckets[i]; s != NULL; s = s->next) {
            total += s->len / sizeof(uintptr_t);
            ns++;
        }
    if (ns == 0)
        return;
    uintptr_t *look = gort__fixalloc((total + 1) * sizeof *look);
    uint32_t *owner = gort__fixalloc((total + 1) * sizeof *owner);
    size_t *base = gort__fixalloc(ns * sizeof *base);
    dumpctx *ds = gort__fixcalloc(ns, sizeof *ds);
    const tentry **ents = gort__fixalloc(ns * sizeof *ents);
    bool all = look != NULL && owner != NULL && base != NULL && ds != NULL && ents != NULL &&
               total <= INT32_MAX;
    size_t k = 0, at = 0;
    for (uint32_t i = 0; i < t->cap; i++) {
        for (const tentry *s = t->buckets[i]; s != NULL; s = s->next) {
            const uintptr_t *pcs = (const uintptr_t *)(const void *)s->data;
            int n = (int)(s->len / sizeof *pcs);
            if (!all) {
                uintptr_t one[TRACE_MAXSTACK];
                for (int j = 0; j < n; j++)
                    one[j] = pcs[j] - 1;
                dumpctx d = {.out = out, .names = names, .pcs = one};
                gort__symbolize(one, n, frame_cb, &d);
                put_stack(out, s->id, &d);
                continue;
            }
            ents[k] = s;
            base[k] = at;
            ds[k] = (dumpctx){.out = out, .names = names, .pcs = look + at};
            for (int j = 0; j < n; j++) {
                look[at] = pcs[j] - 1;
                owner[at++] = (uint32_t)k;
            }
            k++;
        }
    }
    if (all) {
        dumpall a = {ds, owner, base};
        gort__symbolize(look, (int)total, frame_all_cb, &a);
        for (size_t j = 0; j < ns; j++)
            put_stack(out, ents[j]->id, &ds[j]);
    }
    gort__fixfree(look);
    gort__fixfree(owner);
    gort__fixfree(base);
    gort__fixfree(ds);
    gort__fixfree(ents);
}

/* The EvString records of t's strings. */
static void dump_strings(gort__pbuf *out, const ttable *t) {
    for (uint32_t i = 0; i < t->cap; i++) {
        for (tentry *e = t->buckets[i]; e != NULL; e = e->next) {
            uint8_t ev = EvString;
            gort__pb_put(out, &ev, 1);
            gort__pb_varint(out, e->id);
            gort__pb_varint(out, e->len - 1);
            gort__pb_put(out, e->data, e->len - 1);
        }
    }
}

/* ticks() per second, measured since the start (at least 1 ms of it). */
static uint64_t tick_freq(void) {
    int64_t ns, t;
    do {
        ns = gort_nanotime() - tr.ns0;
        t = ticks() - tr.tick0;
    } while (ns < 1000000);
    double f = (double)t * 1e9 / (double)ns;
    return f >= 1 ? (uint64_t)f : 1;
}

static void dump_frequency(gort__pbuf *out) {
    uint8_t ev = EvFrequency;
    gort__pb_put(out, &ev, 1);
    gort__pb_varint(out, tick_freq());
}

/* The end of a trace to an fd, recording stopped: stacks, strings (the
 * stacks' names join the table's), frequency. */
static void dump_tables(gort__pbuf *out) {
    dump_stacks(out, &tr.stacks, &tr.strs);
    dump_strings(out, &tr.strs);
    dump_frequency(out);
}

static void tables_free(void) {
    ttable_free(&tr.stacks);
    ttable_free(&tr.strs);
}

/* World stopped, tr.lock held, the trace about to end: no goroutine may
 * be left running in it (Go 1.19's viewer makes a goroutine's run a slice
 * from its GoStart to the event that ends it, and dies on a start with
 * none).  self stops as Go's StopTrace stops it (GoSched, with its
 * stack); one still on another P is one suspended in the handler, shown
 * preempted there, as rotate_locked does. */
static void stop_running_locked(struct g *self) {
    struct p *curp = self->m != NULL ? self->m->p : NULL;
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        tbuf *b = tr.p[i];
        if (b == NULL || !b->running)
            continue;
        if (curp != NULL && i == curp->id && b->g != 0) {
            event(b, EvGoSched, NULL, 0, callers_id(1, b), 0);
            b->g = 0;
        } else {
            preempt_suspended_locked(b);
        }
    }
}

/* Stops recording (world stopped by the caller, tr.lock held): the
 * buffers are closed (written, or into the current generation) and
 * freed. */
static void end_locked(void) {
    atomic_store_explicit(&gort__trace_enabled, 0, memory_order_relaxed);
    tr.on = false;
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        if (tr.p[i] != NULL) {
            flush_locked(tr.p[i]);
            gort__fixfree(tr.p[i]);
            tr.p[i] = NULL;
        }
    }
    flush_locked(tr.global);
    gort__fixfree(tr.global);
    tr.global = NULL;
}

static void trace_stop_locked(struct g *self);

void gort_trace_stop(void) {
    struct g *self = gort__getg();
    if (self == NULL)
        return;
    gort__preempt_check(self); /* as gort_trace_start */
    trace_lock();
    trace_stop_locked(self);
    trace_unlock();
}

/* gort_trace_stop, trace_mu held. */
static void trace_stop_locked(struct g *self) {
    gort__stop_the_world_malloc("stop tracing");
    gort__lock(&tr.lock);
    if (!tr.on || tr.flight) {
        gort__unlock(&tr.lock);
        gort__start_the_world();
        return;
    }
    stop_running_locked(self);
    end_locked();
    int fd = tr.fd;
    gort__unlock(&tr.lock);
    gort__start_the_world();

    /* The world runs again: nothing records any more (tracing is off and
     * every buffer is gone), so the tables are ours. */
    gort__pbuf out = {0};
    dump_tables(&out);
    gort__lock(&tr.lock);
    if (tr.err == 0)
        tr.err = out.oom ? -ENOMEM : gort__write_all(fd, out.b, out.n, false);
    tr.fd = -1;
    gort__unlock(&tr.lock);
    gort__pb_free(&out);
    tables_free();
}

/* ------------------------------------------------------------------------
 * The flight recorder
 * ------------------------------------------------------------------------ */

static size_t getvarint(const uint8_t *p, size_t n, uint64_t *v) {
    uint64_t x = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *v = x;
            return i + 1;
        }
    }
    return 0; /* truncated */
}

/* goid -> the amount to take off its sequence numbers. */
typedef struct basemap {
    uint64_t *goid, *base;
    size_t cap;
    uint64_t gcbase; /* GC cycles before the first generation written */
} basemap;

static uint64_t base_of(const basemap *m, uint64_t goid) {
    if (m->cap == 0)
        return 0;
    for (size_t i = (size_t)(goid * 0x9e3779b97f4a7c15ull) & (m->cap - 1); m->goid[i] != 0;
         i = (i + 1) & (m->cap - 1))
        if (m->goid[i] == goid)
            return m->base[i];
    return 0;
}

static bool base_build(basemap *m, const gen *g) {
    size_t cap = 16;
    while (cap < 2 * g->ngs + 2)
        cap *= 2;
    m->goid = gort__fixcalloc(cap, sizeof *m->goid);
    m->base = gort__fixcalloc(cap, sizeof *m->base);
    if (m->goid == NULL || m->base == NULL)
        return false;
    m->cap = cap;
    for (size_t k = 0; k < g->ngs; k++) {
        const snapg *sg = &g->gs[k];
        /* Written state after the start events: seq 1 runnable (GoCreate),
         * 2 waiting (GoWaiting/GoInSyscall) or running (GoStart 1); the
         * recorded state is traceseq + 1. */
        uint64_t written = sg->st == G_RUNNABLE ? 1 : 2;
        size_t i = (size_t)(sg->goid * 0x9e3779b97f4a7c15ull) & (cap - 1);
        while (m->goid[i] != 0)
            i = (i + 1) & (cap - 1);
        m->goid[i] = sg->goid;
        m->base[i] = sg->seq + 1 - written;
    }
    return true;
}

/* Appends chunk bytes p[0..n) to out with every sequence number rebased:
 * returns false on bytes it cannot decode. */
static bool rebase(gort__pbuf *out, const uint8_t *p, size_t n, const basemap *m) {
    size_t off = 0;
    while (off < n) {
        uint8_t h = p[off];
        int type = h & 0x3f, narg = h >> 6;
        uint64_t v[16];
        int nv = 0;
        size_t start = off++;
        if (type == EvBatch || narg < 3) {
            for (int k = 0; k < narg + 1; k++) {
                size_t l = getvarint(p + off, n - off, &v[nv++]);
                if (l == 0)
                    return false;
                off += l;
            }
        } else {
            uint64_t len;
            size_t l = getvarint(p + off, n - off, &len);
            if (l == 0 || off + l + len > n)
                return false;
            off += l;
            size_t end = off + len;
            while (off < end && nv < 16) {
                l = getvarint(p + off, end - off, &v[nv++]);
                if (l == 0)
                    return false;
                off += l;
            }
            if (off != end)
                return false;
        }
        if (type == EvUserLog) { /* the value string follows */
            uint64_t slen;
            size_t l = getvarint(p + off, n - off, &slen);
            if (l == 0 || off + l + slen > n)
                return false;
            off += l + (size_t)slen;
        }
        int seqidx = type == EvGoStart || type == EvGoUnblock || type == EvGoSysExit ? 2
                     : type == EvGCStart                                             ? 1
                                                                                     : -1;
        if (seqidx < 0 || nv <= seqidx) {
            gort__pb_put(out, p + start, off - start);
            continue;
        }
        v[seqidx] -= type == EvGCStart ? m->gcbase : base_of(m, v[1]);
        gort__pbuf ev = {0};
        for (int k = 0; k < nv; k++)
            gort__pb_varint(&ev, v[k]);
        gort__pb_put(out, &h, 1);
        if (narg == 3)
            gort__pb_varint(out, ev.n);
        gort__pb_put(out, ev.b, ev.n);
        gort__pb_free(&ev);
    }
    return true;
}

/* The oldest generation from which every one up to end (exclusive; NULL:
 * all) is whole: each generation starts from a snapshot of its own, so the
 * trace can begin after the newest one that lost a buffer.  NULL when the
 * last of them lost one.  tr.lock held. */
static gen *first_whole_locked(const gen *end) {
    gen *first = tr.oldest;
    for (gen *g = tr.oldest; g != NULL && g != end; g = g->next)
        if (g->lost)
            first = g->next;
    return first != end ? first : NULL;
}

/* The trace of the generations kept, from the oldest of the whole ones
 * (first_whole_locked; -ENOMEM when there is none), into out.  tr.lock
 * held.  end: the generation after the last one written (the current one
 * or an earlier one), whose rotation ended the written events: the
 * goroutine that rotated it was still running on its P there, and is
 * shown stopping (GoSched, without a stack) at that moment, so that its
 * run ends (see stop_running_locked).  The stacks and strings written are
 * those of the generations written (immutable since they ended), and a
 * local table each for what the write adds: the stacks of the snapshot's
 * start events and the stacks' functions' and files' names. */
static int flight_dump_locked(gort__pbuf *out, const gen *end) {
    static const char hdr[16] = "go 1.19 trace\0\0";
    gort__pb_put(out, hdr, 16);
    if (tr.oldest == NULL || end == NULL)
        return -EINVAL;
    gen *first = first_whole_locked(end);
    if (first == NULL)
        return -ENOMEM;
    /* Ids rise across generations: the newest written holds the largest
     * the written events name, and the local tables' start above them.
     * (The current generation's may be the same ids: it is not written.) */
    const gen *last = first;
    while (last->next != end)
        last = last->next;
    ttable xstacks = {.lock = GORT__RTLOCK_INIT(LOCKRANK_TRACESTACKS),
                      .mincap = 64,
                      .lastid = last->stacks.lastid};
    ttable names = {.lock = GORT__RTLOCK_INIT(LOCKRANK_TRACESTRINGS),
                    .mincap = 256,
                    .lastid = last->strs.lastid};
    int err = 0;
    basemap m = {0};
    if (first->curp >= 0) {
        /* A later generation: its snapshot as the events of a trace start,
         * in a batch of the recorder's P. */
        /* A GC cycle in progress becomes the written trace's first. */
        m.gcbase = first->gcseq - (first->gcrunning ? 1 : 0);
        tbuf *b = NULL;
        if (!base_build(&m, first) || (b = tbuf_new(first->curp)) == NULL) {
            err = -ENOMEM;
            goto out;
        }
        /* Timestamps just before the generation's first event. */
        b->synth = true;
        b->lastts = first->start - 16 - (int64_t)first->ngs * 4;
        event(b, EvProcStart, &first->mid, 1, NOSTACK, 0);
        uint64_t self = 0;
        for (size_t k = 0; k < first->ngs; k++) {
            if (b->pos + 256 > TBUF_SIZE) {
                gort__pb_put(out, b->data, b->pos);
                b->pos = 0; /* the next event starts a new batch */
            }
            const snapg *sg = &first->gs[k];
            start_events(b, &xstacks, sg->goid, sg->fn, sg->st, sg->st == G_RUNNING, 0);
            if (sg->st == G_RUNNING)
                self = sg->goid;
        }
        uint64_t args[2] = {self, 1};
        if (self != 0)
            event(b, EvGoStart, args, 2, NOSTACK, 0);
        uint64_t gc0 = 0;
        if (first->gcrunning)
            event(b, EvGCStart, &gc0, 1, 0, 0);
        gort__pb_put(out, b->data, b->pos);
        gort__fixfree(b);
    }
    bool ok = true;
    for (gen *g = first; g != end && ok; g = g->next)
        for (chunk *c = g->chunks; c != NULL && ok; c = c->next)
            ok = rebase(out, c->data, c->n, &m);
    if (!ok) {
        err = -EINVAL;
        goto out;
    }
    if (end->curp >= 0) {
        uint8_t ev[2 + 2 * 10 + 2], *q = ev;
        *q++ = EvBatch | 1 << 6;
        q += putvarint(q, (uint64_t)end->curp);
        q += putvarint(q, (uint64_t)end->start);
        *q++ = EvGoSched | 1 << 6;
        *q++ = 0; /* 0 ticks after the batch */
        *q++ = 0; /* no stack */
        gort__pb_put(out, ev, (size_t)(q - ev));
    }
    for (gen *g = first; g != end; g = g->next)
        dump_stacks(out, &g->stacks, &names);
    dump_stacks(out, &xstacks, &names);
    for (gen *g = first; g != end; g = g->next)
        dump_strings(out, &g->strs);
    dump_strings(out, &names);
    dump_frequency(out);
    err = out->oom ? -ENOMEM : 0;
out:
    gort__fixfree(m.goid);
    gort__fixfree(m.base);
    ttable_free(&xstacks);
    ttable_free(&names);
    return err;
}

_Atomic int gort__trace_sysgs;

static void flight_g(void *arg) {
    (void)arg;
    for (;;) {
        gort__semacquire(&flight_sema, false, WAIT_SLEEP);
        atomic_store_explicit(&flight_woken, false, memory_order_relaxed);
        if (atomic_load_explicit(&flight_quit, memory_order_acquire)) {
            atomic_fetch_sub_explicit(&gort__trace_sysgs, 1, memory_order_relaxed);
            gort__semrelease(&flight_exit, false);
            return;
        }
        struct g *self = gort__getg();
        gort__stop_the_world_malloc("flight recorder");
        snap_close();
        int64_t n;
        struct g **gs = gort__allgs_hold(&n); /* before tr.lock: see rotate_locked */
        gort__lock(&tr.lock);
        if (tr.on && tr.flight)
            (void)rotate_locked(self, gs, n);
        gort__unlock(&tr.lock);
        gort__allgs_release();
        snap_open();
        gort__start_the_world();
    }
}

/* Sysmon, which is no M: from the semaphore's dequeue of the recorder
 * goroutine to its goready, that goroutine still shows as waiting, and a
 * checkdead then (gort_flight_recorder_stop's goroutine waiting for the
 * recorder to exit, every M idle) reported "all goroutines are asleep"
 * (about 1 run in 8 of trace.flight_recorder_tables_bounded beside three
 * busy tests).  Sysmon counts itself as a thread outside the runtime in a
 * gort call (gort__foreign_block, which checkdead reads seq_cst) from
 * before it reads flight_next to after the wakeup: a checkdead that reads
 * no such thread ran before this round's dequeue. */
void gort__trace_sysmon(int64_t now) {
    /* Relaxed: a stale value only moves a rotation by one sysmon round. */
    if (atomic_load_explicit(&flight_next, memory_order_relaxed) == 0)
        return;
    gort__foreign_block(1);
    int64_t next = atomic_load_explicit(&flight_next, memory_order_relaxed);
    size_t bytes = atomic_load_explicit(&flight_curbytes, memory_order_relaxed) +
                   atomic_load_explicit(&flight_tabbytes, memory_order_relaxed);
    /* The next rotation by compare and swap: a plain store here, after
     * gort_flight_recorder_stop's store of 0, brought the schedule back
     * (sysmon then counted itself in a gort call every round and released
     * a semaphore nobody waited on, until the next start).  Relaxed: the
     * schedule publishes nothing; the semaphore orders the wakeup. */
    if (next != 0 && (now >= next || bytes >= FLIGHT_MAX_BYTES / 4) &&
        atomic_compare_exchange_strong_explicit(
            &flight_next, &next, now + atomic_load_explicit(&flight_period, memory_order_relaxed),
            memory_order_relaxed, memory_order_relaxed)) {
        /* One wakeup at a time (the recorder clears it when it wakes). */
        if (!atomic_exchange_explicit(&flight_woken, true, memory_order_relaxed))
            gort__semrelease(&flight_sema, false);
    }
    gort__foreign_block(-1);
}

static void flight_stop_locked(void);

GORT_NOINLINE int gort_flight_recorder_start(int64_t window_ns) {
    if (window_ns <= 0)
        window_ns = 10LL * 1000000000;
    trace_lock();
    int r = trace_begin(-1, window_ns);
    if (r != 0) {
        trace_unlock();
        return r; /* -EBUSY: a recorder or a trace runs, its state left alone */
    }
    /* No recorder goroutine is left (the last stop waited for it), and
     * sysmon begins no wakeup until flight_next is set below.  One it
     * began before the last stop cleared flight_next may still be under
     * way (gort__trace_sysmon: its flag set, its semaphore release to
     * come), and land before this reset (which drops it) or after (the
     * new recorder then rotates once early, which is harmless). */
    atomic_store_explicit(&flight_quit, false, memory_order_relaxed);
    atomic_store_explicit(&flight_woken, false, memory_order_relaxed);
    atomic_store_explicit(&flight_sema, 0, memory_order_relaxed);
    /* Counted as the runtime's before it exists (relaxed: a count for
     * gort_numgoroutine, which may be off by one for an instant anyway). */
    atomic_fetch_add_explicit(&gort__trace_sysgs, 1, memory_order_relaxed);
    /* Relaxed: start and stop are ordered by trace_mu. */
    atomic_store_explicit(&flight_has_g, true, memory_order_relaxed);
    r = gort__go_system(flight_g, NULL, NULL);
    if (r != 0) {
        atomic_store_explicit(&flight_has_g, false, memory_order_relaxed);
        atomic_fetch_sub_explicit(&gort__trace_sysgs, 1, memory_order_relaxed);
        flight_stop_locked();
        trace_unlock();
        return r;
    }
    /* A generation a second at most: a crash dump (which cannot close the
     * open buffers) ends at most that long before the crash. */
    int64_t period = window_ns / 2 < 1000000000 ? window_ns / 2 : 1000000000;
    atomic_store_explicit(&flight_period, period, memory_order_relaxed);
    atomic_store_explicit(&flight_next, gort_nanotime() + period, memory_order_relaxed);
    trace_unlock();
    return 0;
}

GORT_NOINLINE int gort_flight_recorder_write(int fd) {
    struct g *self = gort__getg();
    if (fd < 0 || self == NULL)
        return -EINVAL;
    /* A preemption point, as every call that stops the world (see
     * gort_gc); with no recorder, no stop (it is looked at again below). */
    gort__preempt_check(self);
    gort__lock(&tr.lock);
    bool running = tr.on && tr.flight;
    gort__unlock(&tr.lock);
    if (!running)
        return -EINVAL;
    /* Close the buffers into a generation, so that the trace reaches up to
     * now. */
    gort__stop_the_world_malloc("flight recorder");
    snap_close();
    int64_t n;
    struct g **gs = gort__allgs_hold(&n); /* before tr.lock: see rotate_locked */
    gort__lock(&tr.lock);
    bool on = tr.on && tr.flight;
    bool rotated = on && rotate_locked(self, gs, n);
    gort__unlock(&tr.lock);
    gort__allgs_release();
    snap_open();
    gort__start_the_world();
    if (!on)
        return -EINVAL;
    if (!rotated)
        return -ENOMEM;
    gort__pbuf out = {0};
    gort__lock(&tr.lock);
    int r = tr.on && tr.flight ? flight_dump_locked(&out, tr.cur) : -EINVAL;
    gort__unlock(&tr.lock);
    if (r == 0)
        r = gort__write_all(fd, out.b, out.n, true);
    gort__pb_free(&out);
    return r;
}

void gort_flight_recorder_stop(void) {
    struct g *self = gort__getg();
    if (self == NULL)
        return;
    trace_lock();
    flight_stop_locked();
    trace_unlock();
}

/* gort_flight_recorder_stop, trace_mu held. */
static void flight_stop_locked(void) {
    atomic_store_explicit(&flight_next, 0, memory_order_relaxed);
    gort__stop_the_world_malloc("stop flight recorder");
    gort__lock(&tr.lock);
    if (!tr.on || !tr.flight) {
        gort__unlock(&tr.lock);
        gort__start_the_world();
        return;
    }
    end_locked();
    tr.flight = false;
    for (gen *g = tr.oldest, *next; g != NULL; g = next) {
        next = g->next;
        free_gen(g);
    }
    tr.oldest = tr.cur = NULL;
    gort__unlock(&tr.lock);
    gort__start_the_world();
    tables_free();
    /* Release: the recorder goroutine's acquire sees quit, and exits. */
    atomic_store_explicit(&flight_quit, true, memory_order_release);
    gort__semrelease(&flight_sema, false);
    if (atomic_exchange_explicit(&flight_has_g, false, memory_order_relaxed))
        gort__semacquire(&flight_exit, false, WAIT_SEMACQUIRE);
}

/* On a fatal error or SIGQUIT with GORTDEBUG=flightrecorder=1: the
 * generations closed so far (the world cannot be stopped here, so the
 * current generation's open buffers are left out) into
 * gort-flightrecorder-PID.trace in the working directory.  Best effort:
 * skipped if the tracer's lock is held. */
void gort__trace_flight_crash(void) {
    if (!gort__flightrecorder || !gort__trylock(&tr.lock))
        return;
    if (tr.on && tr.flight && tr.oldest != NULL && tr.oldest->next != NULL) {
        /* The current generation has no closed buffers yet to rely on:
         * write up to its start. */
        gen *cur = tr.cur;
        gort__pbuf out = {0};
        int err = flight_dump_locked(&out, cur);
        if (err != 0) {
            /* Out of memory now or when it recorded: said, not skipped. */
            gort__printf("flight recorder: cannot write its trace (errno=%d)\n", -err);
        } else {
            char path[64];
            snprintf(path, sizeof path, "gort-flightrecorder-%d.trace", (int)getpid());
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            err = fd < 0 ? -errno : gort__write_all(fd, out.b, out.n, false);
            if (fd >= 0)
                close(fd);
            /* Out of descriptors, a full disk, RLIMIT_FSIZE: said, not a
             * silent absence or a claim of a file cut short. */
            if (err != 0)
                gort__printf("flight recorder: cannot write %s (errno=%d)\n", path, -err);
            else
                gort__printf(
                    "flight recorder: the last %lld ms before this are in %s\n",
                    (long long)((cur->start_ns - first_whole_locked(cur)->start_ns) / 1000000),
                    path);
        }
        gort__pb_free(&out);
    } else if (tr.on && tr.flight) {
        /* Said, not a silent absence: what it holds is all in the
         * generation under way, whose buffers the crashed threads may
         * be writing. */
        gort__printf("flight recorder: nothing written: all it holds is in the generation under "
                     "way (the first, or the one left at its memory cap)\n");
    }
    gort__unlock(&tr.lock);
}

/* GORTDEBUG=flightrecorder=1: started by the main goroutine (proc.c). */
void gort__trace_flight_autostart(void) {
    if (gort__flightrecorder)
        (void)gort_flight_recorder_start(0);
}

void gort__trace_shutdown(void) {
    atomic_store_explicit(&flight_next, 0, memory_order_relaxed);
    /* A recorder goroutine is abandoned with the rest: nobody waits. */
    atomic_store_explicit(&flight_has_g, false, memory_order_relaxed);
    gort__lock(&tr.lock);
    if (!tr.on) {
        gort__unlock(&tr.lock);
        return;
    }
    /* The goroutines whose runs no event ended (the main goroutine, which
     * returned) end them here, as gort_trace_stop's do: the viewer dies
     * on a run with no end. */
    for (int i = 0; i < GORT_MAX_PROCS; i++)
        if (tr.p[i] != NULL && tr.p[i]->running)
            preempt_suspended_locked(tr.p[i]);
    end_locked();
    if (tr.flight) {
        tr.flight = false;
        for (gen *g = tr.oldest, *next; g != NULL; g = next) {
            next = g->next;
            free_gen(g);
        }
        tr.oldest = tr.cur = NULL;
    } else {
        gort__pbuf out = {0};
        dump_tables(&out);
        if (tr.err == 0 && !out.oom)
            tr.err = gort__write_all(tr.fd, out.b, out.n, false);
        gort__pb_free(&out);
        tr.fd = -1;
    }
    gort__unlock(&tr.lock);
    tables_free();
}

bool gort__trace_is_sysg(const struct g *gp) {
    return gp->fn == flight_g;
}
