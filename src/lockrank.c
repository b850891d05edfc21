/*
 * lockrank.c - the lock order and its check (GORT_LOCKRANK, the dev
 * preset).  Mirrors runtime/lockrank.go and lockrank_on.go.
 *
 * The order is a partial order given, as in Go's lockPartialOrder, by the
 * ranks that may be held when a lock of each rank is taken.  Each thread
 * keeps the locks it holds in a small array (thread-local: a runtime lock
 * is never held across a goroutine switch to another thread; a parking
 * goroutine's lock is released by the commit on the same thread's g0).
 * gort__lock checks before it takes the lock, so a violation throws
 * instead of deadlocking.  Nothing is checked once the process is dying
 * (a crash dump takes the locks it needs with whatever was held).
 *
 * The graph: "a -> b" means b may be taken while a is held.  Every edge
 * is a path in the code, named here; those marked * were also seen in the
 * test suite (dev preset).  None closes a cycle, and where Go has the same
 * locks the direction is Go's (lockrank.go).
 *   print    -> sched*, allg*, symtab*, dwarf  (dumps hold the print lock
 *                                            throughout: schedtrace, SIGQUIT),
 *               trace, tracestrings* (a fatal panic's flight recorder dump)
 *   sched    -> allg* (dumps, census), gfree* (gfput/gfget), timers*
 *               (checkdead asks for pending timers), trace, tracestacks
 *               (procresize and releasep record events; a full buffer is
 *               written under tr.lock)
 *   polldesc -> timers* (deadlines), poller (a deadline earlier than the
 *               poller's wakes it: gort__timer_wake)
 *   timers   -> timers* (a dead P's heap moves to another)
 *   hchan    -> hchan* (a select locks its channels in address order),
 *               sudog* (a blocked send, receive or select gets its sudogs
 *               with the channels locked)
 *   notifylist -> sudog
 *   dwarf    -> symtab*, tracestrings* (the trace's stack dump symbolises)
 *   ctx      -> ctx* (a cancel cancels the children), hchan* (it closes
 *               done), timers* (its deadline timer), poller (adding it),
 *               and what readying takes (READY below)
 *   READY (ctx, assistq: held across gort__goready) -> sched*, stack and
 *               threadprof (a new M), bubble* (gort__synctest_ready),
 *               trace, tracestacks (GoUnblock)
 *   PARK (hchan, semaroot, notifylist, fin, assistq: held across
 *               gort__gopark until its commit) -> bubble* (park_begin),
 *               trace*, tracestacks* (GoBlock)
 *   nopcache -> mcentral*, mheap*, heapprof* (an allocation without a P;
 *               the collector's sweep with the world stopped), fin*,
 *               gcwork*, gcroots*, gcchans*, allg* (its mark), trace,
 *               tracestacks* (its GC events)
 *   gcchans  -> hchan* (the channels' buffers are roots)
 *   allg     -> symtab*, dwarf (each g's stack, symbolised), trace*,
 *               tracestacks* (a trace's start records every g); a flight
 *               recorder's rotation takes allglock before tr.lock
 *   trace    -> tracestacks*, tracestrings*, symtab* (the global buffer's
 *               events; the flight recorder's dump symbolises)
 *   any      -> fixalloc* (the runtime's own memory, mfixalloc.c: a leaf)
 * The print lock is never taken under another ranked lock except while
 * dying, when nothing is checked.  trylock is not checked (it cannot
 * deadlock), but what it takes is held: dwlock, tr.lock in a crash dump.
 */
#include "lockrank.h"

#include "internal.h"

#ifdef GORT_LOCKRANK

#define R(x) ((uint64_t)1 << LOCKRANK_##x)

static const char *const names[LOCKRANK_N] = {
    [LOCKRANK_NONE] = "none",
    [LOCKRANK_CTX] = "ctx",
    [LOCKRANK_NOPCACHE] = "nopcache",
    [LOCKRANK_GCCHANS] = "gcchans",
    [LOCKRANK_ASSISTQ] = "assistq",
    [LOCKRANK_SCHED] = "sched",
    [LOCKRANK_ALLG] = "allg",
    [LOCKRANK_POLLER] = "poller",
    [LOCKRANK_HCHAN] = "hchan",
    [LOCKRANK_SEMAROOT] = "semaroot",
    [LOCKRANK_NOTIFYLIST] = "notifylist",
    [LOCKRANK_POLLDESC] = "polldesc",
    [LOCKRANK_TIMERS] = "timers",
    [LOCKRANK_GFREE] = "gfree",
    [LOCKRANK_SUDOG] = "sudog",
    [LOCKRANK_DEFER] = "defer",
    [LOCKRANK_STACK] = "stack",
    [LOCKRANK_BUBBLE] = "bubble",
    [LOCKRANK_ABANDONED] = "abandoned",
    [LOCKRANK_TRACE] = "trace",
    [LOCKRANK_TRACESTACKS] = "tracestacks",
    [LOCKRANK_TRACESTRINGS] = "tracestrings",
    [LOCKRANK_MCENTRAL] = "mcentral",
    [LOCKRANK_MHEAP] = "mheap",
    [LOCKRANK_FIN] = "fin",
    [LOCKRANK_HEAPPROF] = "heapprof",
    [LOCKRANK_BLOCKPROF] = "blockprof",
    [LOCKRANK_THREADPROF] = "threadprof",
    [LOCKRANK_CPUPROF] = "cpuprof",
    [LOCKRANK_LABELS] = "labels",
    [LOCKRANK_GCWORK] = "gcwork",
    [LOCKRANK_GCROOTS] = "gcroots",
    [LOCKRANK_GCSTATS] = "gcstats",
    [LOCKRANK_SYMTAB] = "symtab",
    [LOCKRANK_DWARF] = "dwarf",
    [LOCKRANK_PRINT] = "print",
    [LOCKRANK_FIXALLOC] = "fixalloc",
};

/* Locks held across gort__goready (Go's SCHED pseudo-rank: they "can call
 * into the scheduler"): readying takes the bubble's lock
 * (gort__synctest_ready), the trace's (GoUnblock), sched.lock, and, for a
 * new M (wakep -> startm -> newm), the stack lock and the threadcreate
 * profile's.  A pollDesc's lock is held across the wakep of a timer that
 * a thread without a P arms for a deadline (gort__timer_wake), as Go
 * ranks pollDesc before sched: no lock is held when a pollDesc's is
 * taken. */
#define READY (R(CTX) | R(ASSISTQ) | R(POLLDESC))
/* Locks held across gort__gopark until its commit releases them on g0:
 * parking takes the bubble's lock (gort__synctest_park_begin) and the
 * trace's (GoBlock) under them. */
#define PARK (R(HCHAN) | R(SEMAROOT) | R(NOTIFYLIST) | R(FIN) | R(ASSISTQ))

/* after[r]: the ranks that may be held when a lock of rank r is taken. */
static const uint64_t after[LOCKRANK_N] = {
    [LOCKRANK_CTX] = R(CTX),
    [LOCKRANK_NOPCACHE] = 0,
    [LOCKRANK_GCCHANS] = R(NOPCACHE),
    [LOCKRANK_ASSISTQ] = 0,
    [LOCKRANK_SCHED] = R(PRINT) | READY,
    [LOCKRANK_ALLG] = R(PRINT) | R(SCHED) | R(NOPCACHE),
    [LOCKRANK_POLLER] = R(POLLDESC) | R(CTX),
    [LOCKRANK_HCHAN] = R(HCHAN) | R(CTX) | R(NOPCACHE) | R(GCCHANS),
    [LOCKRANK_SEMAROOT] = 0,
    [LOCKRANK_NOTIFYLIST] = 0,
    [LOCKRANK_POLLDESC] = 0,
    [LOCKRANK_TIMERS] = R(SCHED) | R(POLLDESC) | R(TIMERS) | R(CTX),
    [LOCKRANK_GFREE] = R(SCHED),
    [LOCKRANK_SUDOG] = R(HCHAN) | R(NOTIFYLIST),
    [LOCKRANK_DEFER] = 0,
    [LOCKRANK_STACK] = READY,
    [LOCKRANK_BUBBLE] = READY | PARK,
    [LOCKRANK_ABANDONED] = 0,
    [LOCKRANK_TRACE] = READY | PARK | R(PRINT) | R(NOPCACHE) | R(SCHED) | R(ALLG),
    [LOCKRANK_TRACESTACKS] = READY | PARK | R(NOPCACHE) | R(SCHED) | R(ALLG) | R(TRACE),
    [LOCKRANK_TRACESTRINGS] = R(PRINT) | R(TRACE) | R(DWARF),
    [LOCKRANK_MCENTRAL] = R(NOPCACHE),
    [LOCKRANK_MHEAP] = R(NOPCACHE),
    [LOCKRANK_FIN] = R(NOPCACHE),
    [LOCKRANK_HEAPPROF] = R(NOPCACHE),
    [LOCKRANK_BLOCKPROF] = 0,
    [LOCKRANK_THREADPROF] = READY,
    [LOCKRANK_CPUPROF] = 0,
    [LOCKRANK_LABELS] = 0,
    [LOCKRANK_GCWORK] = R(NOPCACHE),
    [LOCKRANK_GCROOTS] = R(NOPCACHE),
    [LOCKRANK_GCSTATS] = 0,
    [LOCKRANK_SYMTAB] = R(PRINT) | R(ALLG) | R(TRACE) | R(DWARF),
    [LOCKRANK_DWARF] = R(PRINT) | R(ALLG),
    [LOCKRANK_PRINT] = 0,
    /* Every other rank. */
    [LOCKRANK_FIXALLOC] = R(FIXALLOC) - R(CTX),
};

enum { MAXHELD = 16 };
/* The locks this thread holds.  Ranks that may nest in themselves (a
 * select locks every channel of its cases) take one entry, with a count:
 * there may be thousands of them. */
static _Thread_local struct {
    gort__rtlock *l; /* the lock (the first one, for a nesting rank) */
    uint32_t rank;
    uint32_t n; /* locks of a nesting rank held */
} held[MAXHELD];
static _Thread_local int nheld;

static inline bool nests(uint32_t rank) {
    return (after[rank] & ((uint64_t)1 << rank)) != 0;
}

/* Set while a violation is reported: printing takes the print lock, which
 * the locks held may not allow. */
static _Thread_local bool reporting;

static void report(gort__rtlock *l, const char *what) {
    reporting = true;
    gort__print_lock();
    gort__printf("runtime: lock ordering problem: taking %s (rank %u) while holding:\n",
                 names[l->rank], l->rank);
    for (int i = 0; i < nheld; i++)
        gort__printf("\t%s (rank %u) %p x%u\n", names[held[i].rank], held[i].rank,
                     (void *)held[i].l, held[i].n);
    gort__print_unlock();
    gort__throw(what);
}

/* l was never given a rank (gort__lockinit, GORT__RTLOCK_INIT): a lock in
 * memory that was zeroed and not initialised.  Every runtime lock has a
 * rank, so this is a runtime bug, which would otherwise go unchecked. */
static _Noreturn void unranked(gort__rtlock *l) {
    reporting = true;
    gort__print_lock();
    gort__printf("runtime: lock ordering problem: lock %p has no rank\n", (void *)l);
    gort__print_unlock();
    gort__throw("lock ordering problem: lock without a rank");
}

void gort__lockrank_check(gort__rtlock *l) {
    uint32_t r = l->rank;
    if (reporting || gort__dying())
        return;
    if (GORT_UNLIKELY(r == LOCKRANK_NONE))
        unranked(l);
    if (GORT_UNLIKELY(r >= LOCKRANK_N))
        gort__throw("lock with a bad rank");
    for (int i = 0; i < nheld; i++) {
        if (held[i].l == l && !nests(r))
            report(l, "lock ordering problem: lock taken twice");
        if (!(after[r] & ((uint64_t)1 << held[i].rank)))
            report(l, "lock ordering problem");
    }
}

void gort__lockrank_held(gort__rtlock *l) {
    uint32_t r = l->rank;
    if (GORT_UNLIKELY(r == LOCKRANK_NONE)) {
        /* Taken by gort__trylock, which checks nothing else. */
        if (!reporting && !gort__dying())
            unranked(l);
        return;
    }
    if (nests(r)) {
        for (int i = 0; i < nheld; i++) {
            if (held[i].rank == r) {
                held[i].n++;
                return;
            }
        }
    }
    if (GORT_UNLIKELY(nheld == MAXHELD))
        gort__throw("lockrank: too many locks held");
    held[nheld].l = l;
    held[nheld].rank = r;
    held[nheld].n = 1;
    nheld++;
}

void gort__lockrank_released(gort__rtlock *l) {
    uint32_t r = l->rank;
    /* Taken while reporting or dying (not held): see gort__lockrank_held. */
    if (r == LOCKRANK_NONE)
        return;
    /* Usually the last one taken; Go allows any order of release too. */
    for (int i = nheld - 1; i >= 0; i--) {
        if (nests(r) ? held[i].rank == r : held[i].l == l) {
            if (--held[i].n > 0)
                return;
            for (int j = i; j < nheld - 1; j++)
                held[j] = held[j + 1];
            nheld--;
            return;
        }
    }
    if (!gort__dying())
        gort__throw("lockrank: unlock of a lock this thread does not hold");
}

#endif
