/*
 * runtime.h - the glossary of gort's objects.  Mirrors runtime/runtime2.go.
 *
 *   g      one goroutine (struct g)
 *   m      one OS thread (struct m)
 *   p      one logical processor, GOMAXPROCS of them (struct p)
 *   sched  the one global scheduler state (struct schedt)
 *   sudog  a goroutine waiting on something (struct sudog)
 *
 * Field disciplines (STYLE.md section 3).  Every field is tagged with one:
 *   [immutable]           set before the object is published, never changed
 *   [owner P] [owner M]   only the P's / M's own thread reads and writes
 *   [owner G]             only code running on the goroutine (or on g0 for it
 *                         while it is stopped) touches it
 *   [owner sysmon]        only the sysmon thread reads and writes
 *   [g0 only]             only the scheduler on g0 touches it
 *   [<lock>]              guarded by the named lock: [sched.lock],
 *                         [sched.gflock], [c->lock], [root->lock] (a
 *                         semaRoot), [allglock], ...; [wait lock] (sudog):
 *                         the lock of the channel or semaRoot it is queued on
 *   [atomic]              read and written with explicit atomics
 *   [atomic; write under <lock>]  atomic reads anywhere; writers hold <lock>
 *   [atomic; write by owner P]    atomic reads anywhere; only the owner writes
 *   [handoff]             written before a wake-up (goready, notewakeup) and
 *                         read by the woken side after it; the wake-up orders
 *                         the two (docs/MEMORY_MODEL.md)
 *   [sync]                itself a synchronisation object (a lock, a note)
 *   [STW only]            written only while the world is stopped
 * scripts/check-fields.sh (make test) fails on a field that is never read
 * or never set.
 *
 * g, m and p are type-stable while the runtime runs: a g of the default stack
 * size is never freed before gort_main returns (dead gs go to free lists with
 * their stacks), so a stale `struct g *` always points at some g.
 */
#ifndef GORT_RUNTIME_H
#define GORT_RUNTIME_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gort.h"
#include "arch/arch.h"

/* ------------------------------------------------------------------------
 * Low-level locks (lock_futex.c).  Mirrors runtime/lock_futex.go.
 * ------------------------------------------------------------------------ */

/* A runtime mutex: never parks a goroutine, blocks the thread on a futex
 * after brief spinning.  Zero value is unlocked and unranked: taking it
 * under GORT_LOCKRANK before gort__lockinit is fatal (lockrank.h).  Hold
 * it only briefly and never across a park. */
typedef struct gort__rtlock {
    _Atomic uint32_t key; /* [atomic] 0 unlocked, 1 locked, 2 locked with sleepers */
#ifdef GORT_LOCKRANK
    uint32_t rank; /* [immutable] LOCKRANK_* (lockrank.h), set where the lock is made */
#endif
} gort__rtlock;

/* A one-shot wakeup (Go's note): sleep blocks the thread until wakeup.
 * noteclear re-arms it; it must not race with sleep or wakeup. */
typedef struct gort__note {
    _Atomic uint32_t key; /* [atomic] 0 clear, 1 woken */
} gort__note;

/* ------------------------------------------------------------------------
 * Statuses and wait reasons
 * ------------------------------------------------------------------------ */

/* g status.  Who owns the g's stack in each state:
 *   G_IDLE      just allocated, not yet initialised; nobody.
 *   G_RUNNABLE  on a run queue (or about to be); the scheduler that takes it
 *               off the queue owns it.  Its stack is not in use.
 *   G_RUNNING   running user code on an M; the M owns stack and g.
 *   G_SYSCALL   inside gort_syscall_enter/exit; the M owns the stack, the P
 *               may be retaken.
 *   G_WAITING   parked (gopark); its stack is not in use and it is on no run
 *               queue; whoever calls goready on it takes ownership.
 *   G_DEAD      exited; on a free list or being reused.  */
enum {
    G_IDLE = 0,
    G_RUNNABLE,
    G_RUNNING,
    G_SYSCALL,
    G_WAITING,
    G_DEAD,
};

/* p status (runtime2.go _Pidle etc.) */
enum {
    P_IDLE = 0,
    P_RUNNING, /* owned by an M running user code or the scheduler */
    P_SYSCALL, /* its M is in a blocking call; may be retaken by sysmon */
    P_GCSTOP,  /* halted for stop-the-world */
    P_DEAD,    /* no longer used (GOMAXPROCS shrank) */
};

/* Wait reasons, with Go's exact strings in gort__waitreason_str. */
enum {
    WAIT_ZERO = 0,
    WAIT_CHAN_RECV,            /* "chan receive" */
    WAIT_CHAN_SEND,            /* "chan send" */
    WAIT_CHAN_RECV_NIL,        /* "chan receive (nil chan)" */
    WAIT_CHAN_SEND_NIL,        /* "chan send (nil chan)" */
    WAIT_SELECT,               /* "select" */
    WAIT_SELECT_NO_CASES,      /* "select (no cases)" */
    WAIT_SLEEP,                /* "sleep" */
    WAIT_IO,                   /* "IO wait" */
    WAIT_SEMACQUIRE,           /* "semacquire" */
    WAIT_SYNC_MUTEX,           /* "sync.Mutex.Lock" */
    WAIT_SEMA_MUTEX,           /* "semacquire": an fd's read and write locks (Go's fdMutex) */
    WAIT_SYNC_RWMUTEX_R,       /* "sync.RWMutex.RLock" */
    WAIT_SYNC_RWMUTEX_W,       /* "sync.RWMutex.Lock" */
    WAIT_SYNC_WAITGROUP,       /* "sync.WaitGroup.Wait" */
    WAIT_SYNC_COND,            /* "sync.Cond.Wait" */
    WAIT_SYNC_ONCE,            /* "sync.Once.Do" (Go shows sync.Mutex.Lock) */
    WAIT_RUNTIME_MUTEX,        /* "semacquire": worldsema, gcsema (not in the block profile,
                                * whose reasons end with WAIT_SYNC_ONCE) */
    WAIT_TIMER_GOROUTINE_IDLE, /* "timer goroutine (idle)" */
    WAIT_PREEMPTED,            /* "preempted" */
    WAIT_LOCKED_THREAD,        /* "locked to thread" (not a Go reason; for dumps) */
    WAIT_SYSCALL,              /* "syscall" (shown for G_SYSCALL) */
    WAIT_FOREVER,              /* "wait forever" */
    WAIT_GOEXIT_MAIN,          /* main goroutine after Goexit */
    /* synctest (synctest.c): Go's waitReasonSynctest* */
    WAIT_SYNCTEST_CHAN_RECV, /* "chan receive (durable)": on a channel of the g's bubble */
    WAIT_SYNCTEST_CHAN_SEND, /* "chan send (durable)" */
    WAIT_SYNCTEST_SELECT,    /* "select (durable)": every channel of the select is the bubble's */
    WAIT_SYNCTEST_RUN,       /* "synctest.Run": the root, waiting for its bubble to idle */
    WAIT_SYNCTEST_WAIT,      /* "synctest.Wait" */
    WAIT_SYNCTEST_WAITGROUP, /* "sync.WaitGroup.Wait (durable)": a WaitGroup of the g's bubble */
    WAIT_SYNCTEST_IO,        /* "IO wait (durable)": until a deadline on the bubble's clock */
    WAIT_FINALIZER_WAIT,     /* "finalizer wait" (the finalizer goroutine) */
    WAIT_GC_ASSIST_WAIT,     /* "GC assist wait": an allocation's mark assist waits for credit */
    WAIT_NREASONS
};
extern const char *const gort__waitreason_str[WAIT_NREASONS];

/* ------------------------------------------------------------------------
 * Stacks (stack.c)
 * ------------------------------------------------------------------------ */

/* A goroutine stack: [lo, hi) usable, a guard of GORT__GUARD bytes below lo.
 * The struct g of a goroutine lives at the top of its stack mapping, above
 * hi, so one touched page holds both. */
typedef struct gort__stack {
    uintptr_t lo;   /* [immutable] lowest usable address */
    uintptr_t hi;   /* [immutable] one past the highest usable address */
    uintptr_t base; /* [immutable] start of the whole region (guard included) */
    size_t size;    /* [immutable] total region size (guard, stack, g) */
    uint8_t kind;   /* [immutable] STACK_SLAB / STACK_OWN_MAP */
    uint8_t guard;  /* [immutable] GUARD_MADVISE / GUARD_MPROTECT / GUARD_CANARY */
} gort__stack;

enum { STACK_SLAB = 1, STACK_OWN_MAP = 2 };
enum { GUARD_MADVISE = 1, GUARD_MPROTECT = 2, GUARD_CANARY = 3 };

#define GORT__PAGE 4096u
/* 64 KiB of guard: a frame (or alloca) of up to that much that skips the
 * pages below it still faults in the guard.  MADV_GUARD_INSTALL and
 * PROT_NONE guards cost address space only; larger frames are caught by
 * -fstack-clash-protection's page probes (gort.pc, gortConfig.cmake). */
#define GORT__GUARD (16 * GORT__PAGE)
#define GORT__STACK_CANARY 0x9e3779b97f4a7c15ull

/* ------------------------------------------------------------------------
 * The objects
 * ------------------------------------------------------------------------ */

struct g;
struct m;
struct p;
struct sudog;
struct gort__defer;
struct gort__panic;
struct gort__frame;

/*
 * g: one goroutine.  A g with a default-size stack, and every g0, sits at
 * the top of its stack region (malg, proc.c); a goroutine's is reused
 * through the per-P and global free lists (gfput/gfget) and lives until
 * gort_main returns.  A g with a stack of its own size is calloc'd (heapg):
 * its stack is unmapped when it exits, and the g stays in allgs and is
 * reused through sched.gfree_custom.
 */
struct g {
    /* Line 0: all that spawning a recycled g writes (newproc1) and that
     * starting it reads first.  The g last ran, and was freed, on some
     * other P: one cache line moves to the spawner and back, not four. */
    gort__ctx ctx;           /* [owner G] saved context while not running;
                              * NULL: not started yet (runs fn(arg) on an
                              * untouched stack: gort__ctx_switch_fresh) */
    int64_t goid;            /* [owner G] set when (re)started */
    _Atomic uint32_t status; /* [atomic] G_* */
    bool foreign;            /* [immutable] fake g of a thread outside the runtime */
    bool is_main;            /* [owner G] goroutine 1 */
    bool heapg;              /* [immutable] g on the heap, stack of its own size */
    bool named;              /* [owner G] name[] was set by gort_go_attr */
    void (*fn)(void *);      /* [owner G] entry function */
    void *arg;               /* [owner G] its argument */
    int64_t parentgoid;      /* [owner G] goid of the creator (0: none) */
    void *createdby;         /* [owner G] creator's fn (as a code address) */
    struct m *m;             /* [owner M] M running it, NULL when not running */

    /* Line 1: read or written by the P that runs it. */
    gort__stack stack;           /* [immutable] */
    struct m *lockedm;           /* [owner G] M it is locked to (LockOSThread), or NULL */
    uint32_t lockedext;          /* [owner G] gort_lock_os_thread nesting count */
    uint32_t lockedint;          /* [owner G] runtime-internal locks: the preemption
                                  * trampoline keeps gp on its M (preempt.c) */
    _Atomic bool preempt;        /* [atomic] sysmon/STW request: yield at next check */
    uint8_t waitreason;          /* [owner G] WAIT_* */
    bool pollboth;               /* [owner G] parked on an fd's read and write sides at
                                 * once (gort_wait_fd): wakers race on selectdone */
    uint8_t argwords;            /* [owner G] words of argbuf in use (gort_go_copy): the
                                  * collector scans them as a root, here beside the
                                  * stack bounds it reads anyway */
    _Atomic uint32_t selectdone; /* [atomic] 1 once a select case won */

    /* Line 2: what every switch, park and wake-up reads or writes besides
     * lines 0 and 1.  With tens of thousands of goroutines each one's g
     * is cold when its turn comes: every line here is a cache miss per
     * switch, so the cold fields are kept below line 3.
     * Waiting state, written by the g before it parks, read by dumps: */
    struct g *schedlink;   /* [sched.lock] global lists; [owner P] a P's lists */
    int64_t waitsince;     /* [owner G] gort_nanotime() when it parked */
    struct sudog *waiting; /* [owner G] sudogs of a blocked select/chan op */
    void *param;           /* [handoff] passed by the waker (chan: the sudog) */
    /* Switched out: [lsan_lo, lsan_lo + lsan_len), its live stack
     * [ctx.sp, stack.hi) when it stopped, is an LSan root region; 0: none
     * (proc.c lsan_switched_out/lsan_resumed).  lsan_lo is read at every
     * resume. */
    uintptr_t lsan_lo; /* [handoff] written by the M that switched it out */
    /* errno of the goroutine while it is switched out (saved and restored
     * at every switch, so that errno survives a migration between Ms). */
    int errno_; /* [owner G] */
    /* Its P's nswitch (low half) when it last left that P by a direct
     * switch (switch_direct: a park, a yield): whoever readies it guesses
     * from it whether its stack is still in this CPU's cache (proc.c
     * ready_prefetch). */
    uint32_t outswitch; /* [handoff] written by the M that switched it out */
    /* Stall detector (pprof.c).  coopticks counts the g's cooperative
     * scheduling points: every start on a P by the scheduler or a direct
     * switch, and every gort_yield, but not its resumption after an
     * asynchronous preemption (asyncresume, set by the preemption
     * trampoline around its yield), which is not a gort call.  Never reset:
     * a recycled g's first start moves it.  The stall_* fields below are
     * sysmon's record of it. */
    _Atomic uint32_t coopticks; /* [atomic] written by its M, read by sysmon */
    bool asyncresume;           /* [owner G] */
    /* synctest (synctest.c).  bubble is set when the g is created by a
     * goroutine of a bubble (or by gort_synctest_run) and cleared when it
     * exits; bubble_blocked says that the bubble counts it as durably
     * blocked (not in its `running` count).  Read at every park. */
    bool bubble_blocked;         /* [bubble->lock] */
    struct gort__bubble *bubble; /* [owner G] */

    /* Line 3: defer/panic (panic.c), and what spawning, exiting, tracing
     * and the sanitizers' switches touch. */
    struct gort__defer *defer_;    /* [owner G] innermost deferred call */
    struct gort__panic *panic_;    /* [owner G] innermost active panic */
    struct gort__frame *callframe; /* [owner G] innermost gort_call frame (panic.c) */
    /* Profiler labels (pprof.c): interned, never freed; inherited from the
     * creator (newproc1), cleared at exit.  Read by this thread's SIGPROF
     * handler and, with the world stopped, by the goroutine profile. */
    const struct gort__labelset *labels; /* [owner G] */
    /* Execution tracer (trace.c): the goroutine's event sequence number. */
    uint64_t traceseq; /* [handoff] the g's, and its waker's while it is parked */
    /* Sanitizer fiber state (arch/san). */
    void *asan_fake_stack; /* [owner G] */
    void *tsan_fiber;      /* [owner G] */
    /* One freed defer record kept for the goroutine's next gort_defer
     * (panic.c): no walk to the P's pool for a defer in a loop.  Back to
     * the pool when the goroutine exits; never on a foreign thread's g. */
    struct gort__defer *dspare; /* [owner G] */

    /* Cold: blocking calls, stop-the-world, dumps, foreign threads. */
    size_t lsan_len;     /* [handoff] see lsan_lo */
    uintptr_t syscallpc; /* [owner G] in a blocking call: the caller's pc ... */
    uintptr_t syscallfp; /* [owner G] ... and frame (tracebacks from other threads) */
    /* In a blocking call: the callee-saved registers its caller had at
     * gort_syscall_enter (a root: mgcmark.c scan_g). */
    uintptr_t sysregs[GORT__SYSREGS]; /* [owner G] */
    /* The trace has the goroutine in a blocking call (GoSysCall, or
     * GoInSyscall at the trace's start): its GoSysExit is still due, even
     * if the call's exit ran before tracing was on (trace.c). */
    bool tracesys; /* [handoff] as traceseq (also the trace start, world stopped) */
    /* When the blocking call returned, if its exit found no P to run on
     * and tracing was on (0: not so): the GoSysExit written once a P runs
     * the goroutine carries it (Go's sysexitticks). */
    int64_t sysexitticks; /* [handoff] */
    /* Stop-the-world by signal (preempt.c): while stwctx is non-NULL the
     * goroutine's M is suspended in the SIGURG handler and stwctx is the
     * interrupted context (a ucontext_t on its signal stack). */
    _Atomic(void *) stwctx; /* [atomic] written by its M's handler */
    /* Block profile (Go's sudog.releasetime): -1 while it is parked with
     * the profile on (gort__gopark), then the nanotime its waker readied
     * it at (gort__goready); 0 otherwise.  Written by the g before its
     * park is published and by the one waker before its goready, which
     * publishes it (proc.c gort__goready). */
    int64_t releasetime; /* [handoff] */
    /* Its sudog while it is parked in a semaphore's root or a Cond's list
     * (sema.c): shutdown takes it out (gort__sema_abandon). */
    struct sudog *semawait; /* [owner G] */
    /* The semaphore of semawait (its sudog's addr is cleared by the
     * dequeue): a readied goroutine abandoned at shutdown passes the
     * wake-up on (gort__sema_abandon_readied). */
    _Atomic uint32_t *semaddr; /* [owner G] */
    /* The connection a gort_conn call of the goroutine holds a reference
     * to (conn.c): shutdown drops it if the goroutine is abandoned in the
     * call (gort__conn_abandon). */
    void *connref; /* [owner G] */
    /* The pollDesc a call of the goroutine on an fd holds a reference to
     * (netpoll.h pd_incref): shutdown drops it if the goroutine is
     * abandoned in the call (gort__pd_abandon), so that a gort_close
     * waiting for the calls in progress to leave is not left waiting. */
    void *pdref; /* [owner G] */
    /* The pidfd gort_process_wait made and waits on, plus one (exec.c):
     * shutdown closes it if the goroutine is abandoned in the wait. */
    int waitfd; /* [owner G] */
    /* Its C++ exception state while it is switched out (the Itanium ABI's
     * __cxa_eh_globals: the caught exceptions' stack and the uncaught
     * count), saved and restored with errno when the program has a C++
     * runtime (m->ehglobals): libstdc++ keeps it per thread, and a
     * goroutine that blocked in a catch block found another's there.
     * Cold: C programs never touch it. */
    void *eh[2]; /* [owner G] */
    /* Fake gs of foreign threads park on this note instead of a run queue. */
    gort__note park;      /* [sync] */
    unsigned valgrind_id; /* [immutable] */
    /* Identity for dumps: */
    char name[32];        /* [owner G] gort_go_attr.name, NUL-terminated (if named) */
    bool stall_reported;  /* [owner sysmon] this stall was reported */
    uint32_t stall_ticks; /* [owner sysmon] coopticks when last seen */
    int64_t stall_since;  /* [owner sysmon] when coopticks was first seen at stall_ticks */
    /* Parked durably on an fd in a synctest bubble (WAIT_SYNCTEST_IO,
     * netpoll.c): (fd + 1) << 16 | the poll(2) events awaited, 0
     * otherwise.  Written by the goroutine around its park (the bubble's
     * lock, taken as it parks, publishes it), read by the bubble's root
     * before it moves the clock (synctest.c: io_pending). */
    _Atomic int64_t syncio; /* [atomic] */
    /* gort_go_copy's copy of the argument block: fn gets arg == argbuf;
     * its first argwords words are a collector root.  Last: only go_copy
     * spawns write it. */
    _Alignas(max_align_t) unsigned char argbuf[GORT_GO_COPY_MAX]; /* [owner G] */
};
/* The lines above, kept as their comments say (a default-size g is 64-byte
 * aligned at the top of its stack region: malg). */
_Static_assert(offsetof(struct g, schedlink) == 128 &&
                   offsetof(struct g, bubble) + sizeof(void *) <= 192 &&
                   offsetof(struct g, defer_) == 192 &&
                   offsetof(struct g, dspare) + sizeof(void *) <= 256,
               "struct g: the hot fields left lines 0-3");
_Static_assert(offsetof(struct g, m) + sizeof(struct m *) == 64,
               "struct g: line 0 holds what newproc1 writes");
_Static_assert(GORT_GO_COPY_MAX / sizeof(void *) <= UINT8_MAX,
               "struct g: argwords counts argbuf's words");

/*
 * m: one OS thread.  Created by newm, lives in allm until gort_main returns.
 * g0 runs the scheduler on a stack of its own (allocated, with a guard).
 */
struct m {
    int64_t id;      /* [immutable] */
    struct g *g0;    /* [immutable] scheduler goroutine */
    struct g *curg;  /* [owner M] user g running, or NULL */
    struct p *p;     /* [owner M] attached P, or NULL */
    struct p *nextp; /* [handoff] P to take on wakeup (set by startm) */
    struct p *oldp;  /* [owner M] P before a syscall */
    /* Set around gort_syscall_enter for a call expected to be short (the
     * collector's into the loader, mgcmark.c): sysmon is left in its
     * back-off, which a retake of the P would cut short. */
    bool syscall_nokick; /* [owner M] */
    bool spinning;       /* [owner M] looking for work (counted in nmspinning) */
    /* Stopped spinning without runnext_visible's membarrier: paid before
     * it sleeps for long or runs a goroutine (proc.c, "the spinner's
     * debt"). */
    bool owes_visible; /* [owner M] */
    /* Stopped spinning and has run no goroutine since: its next stop
     * defers runnext_visible (proc.c, "the spinner's debt"). */
    bool spun_idle;           /* [owner M] */
    bool blocked;             /* [owner M] sleeping on park */
    bool exiting;             /* [owner M] thread is going away */
    bool is_m0;               /* [immutable] the thread that called gort_main */
    gort__note park;          /* [sync] sleep here when idle */
    struct m *schedlink;      /* [sched.lock] idle list link */
    struct m *alllink;        /* [sched.lock] allm list link */
    struct m *freelink;       /* [sched.lock] sched.freem list link */
    struct g *lockedg;        /* [owner M] g locked to this M */
    uint64_t fastrand;        /* [owner M] random state */
    pthread_t thread;         /* [immutable] set by newm before the thread runs */
    bool thread_started;      /* [sched.lock] pthread_create succeeded */
    _Atomic bool thread_done; /* [atomic] the thread has left mstart */
    void *native_sp;          /* [owner M] native thread context (switch back to exit) */
    void *sigaltstack;        /* [owner M] alternate signal stack */
    size_t sigaltstack_size;  /* [owner M] */
    stack_t sigaltstack_old;  /* [owner M] the thread's own before (gort_main's caller's) */
    void *native_tsan_fiber;  /* [owner M] TSan fiber of the native thread */
    /* per-M scratch used by gopark through mcall: */
    bool (*waitunlockf)(struct g *, void *); /* [owner M] */
    void *waitlock;                          /* [owner M] */
    struct g *pending_put;     /* [owner M] g to put on the runq after a direct switch */
    bool pending_global;       /* [owner M] pending_put goes to the global queue (yield) */
    struct g *pending_park;    /* [owner M] g whose unlockf runs after a direct switch */
    struct g *pending_exit;    /* [owner M] dead g to recycle after a direct switch */
    bool lockedidle;           /* [sched.lock] sleeping in stoplockedm, or m0 whose
                                * locked g exited (parked until shutdown) */
    void *g0_top;              /* [immutable] top of g0's stack (mcall target) */
    const void *native_bottom; /* [owner M] native stack bounds (ASan) */
    size_t native_size;        /* [owner M] */
    void *native_fake;         /* [owner M] native context's ASan fake stack */
    int *errnop;               /* [immutable] this thread's errno, from its start */
    void **ehglobals;          /* [immutable] this thread's __cxa_eh_globals, or NULL */
    /* Signals (preempt.c). */
    int32_t tid;                    /* [immutable] kernel thread id, from its start */
    _Atomic uint32_t signalpending; /* [atomic] a SIGURG is on its way (Go's signalPending) */
    _Atomic bool stwsuspended;      /* [atomic] suspended in the handler for a STW */
    uint8_t tramp;                  /* [owner M] what the trampoline the handler set up does */
    uintptr_t stwregs[23 + 32];     /* [owner M] suspended: gregs, then xmm0-15 (preempt.c) */
    uint64_t basemask;              /* [owner M] signal mask outside handlers (first word) */
    struct g *syscall_reported;     /* [owner sysmon] last g reported for a blocking call */
    int64_t syscall_reported_goid;  /* [owner sysmon] and its goid */
};

/* The current M (proc.c; NULL on a thread that is not the runtime's). */
extern __thread struct m *gort__tls_m __attribute__((tls_model("initial-exec")));

/* Inline forms of gort__getm and gort__getg, for the first TLS read of a
 * function that is never inlined into another (an entry point marked
 * GORT_NOINLINE, or a static one called only from such entry points),
 * before any switch in it.  A goroutine may resume on another thread after
 * any switch, and within one function the compiler may keep what it read
 * from TLS (ARCHITECTURE.md, 6); it cannot carry that into the function
 * from elsewhere.  After a switch, use gort__getm/gort__getg (out of line)
 * or gp->m. */
static inline struct m *gort__getm_entry(void) {
    struct m *mp = gort__tls_m;
    __asm__ volatile("" : "+r"(mp));
    return mp;
}

static inline struct g *gort__getg_entry(void) {
    struct m *mp = gort__getm_entry();
    return mp ? mp->curg : NULL;
}

/* A thread outside the runtime that dequeued a waiting goroutine (a
 * channel send or close, a semaphore release, a Cond's notify) pins the
 * runtime's goroutines from before it drops the waiter's lock until it
 * has readied the waiter: shutdown_runtime unlinks every waiter under its
 * lock, then waits for the pins before it frees a goroutine (proc.c).
 * The poller's wakers (a close, a deadline) pin from before they take the
 * pollDesc's lock (netpoll.c).  True if the caller pinned, and must
 * unpin. */
void gort__foreign_pin_slow(void);
void gort__foreign_unpin(void);
static inline bool gort__foreign_pin(void) {
    if (__builtin_expect(gort__getm_entry() != NULL, 1))
        return false;
    gort__foreign_pin_slow();
    return true;
}

/* A thread outside the runtime about to use a P's timer heap (time.c)
 * counts itself in flight while it does, as the pin does: true if it
 * may, false (and not counted) once the runtime stopped running, or, if
 * waking (it may start an M), once shutdown began.  Release with
 * gort__foreign_unpin. */
bool gort__foreign_enter(bool waking);
/* True from the start of gort_main's shutdown until the timer heaps are
 * gone: a timer a thread outside the runtime finds in a heap then is
 * taken out by shutdown (its pt cleared). */
bool gort__runtime_stopping(void);

/* Local run queue size (runtime2.go: runq [256]guintptr). */
#define GORT__RUNQ 256
#define GORT__SUDOG_CACHE 128
/* Free gs a P keeps (gfput moves half of them to the global pool when full). */
#define GORT__GFREE_LOCAL 64

/* Keeps a group of fields on cache lines of its own (see struct schedt). */
#define GORT__LINE _Alignas(64)

struct ptimers;

/*
 * p: one logical processor.  Allocated by procresize, never freed while the
 * runtime runs (a shrunk P goes P_DEAD and may come back).
 */
struct p {
    int32_t id;                   /* [immutable] */
    _Atomic uint32_t status;      /* [atomic] P_* */
    struct p *link;               /* [sched.lock] idle list link */
    _Atomic uint32_t schedtick;   /* [atomic; write by owner P] +1 on every schedule() */
    _Atomic(struct g *) runningg; /* [atomic; write by owner P] user g running on it */
    uint64_t goidcache;           /* [owner P] next goid of a batch from sched.goidgen */
    uint64_t goidcacheend;        /* [owner P] end of that batch */
    _Atomic uint32_t syscalltick; /* [atomic] incremented on every syscall */
    _Atomic int64_t schedwhen;    /* [atomic] sysmon: nanotime schedtick last seen; 0: none */
    uint32_t sysmontick;          /* [owner sysmon] last observed schedtick */
    uint32_t sysmonsyscalltick;   /* [owner sysmon] last observed syscalltick */
    int64_t syscallseen;          /* [owner sysmon] nanotime syscalltick last changed */
    struct m *m;                  /* [owner P] M it is attached to, NULL if idle */

    /* Local run queue: a lock-free ring.  The owner P puts at tail and takes
     * at head; thieves take at head with CAS.  Slots are atomics so that
     * a thief's speculative read of a slot the owner rewrites is not a data
     * race (its CAS on head fails then). */
    GORT__LINE _Atomic uint32_t runqhead; /* [atomic] consumers CAS it (release) */
    _Atomic uint32_t runqtail;            /* [atomic; write by owner P] (release) */
    /* runnext: a g readied by the current g, run next (inherits the time
     * slice).  Thieves CAS it to NULL; the owner sets and takes it with
     * CAS, or with plain atomic loads and stores inside a runnext section
     * (proc.c, "runnext without a locked instruction"). */
    _Atomic(struct g *) runnext;      /* [atomic] */
    _Atomic uint32_t runnext_busy;    /* [atomic; write by owner P] in a runnext section */
    _Atomic uint32_t runnext_thieves; /* [atomic] thieves about to CAS runnext */
    GORT__LINE _Atomic(struct g *) runq[GORT__RUNQ]; /* [atomic; write by owner P] */

    /* Free gs with default-size stacks (gfput/gfget): a stack of
     * pointers, the most recently freed (cache-warm) on top. */
    struct g *gfree[GORT__GFREE_LOCAL]; /* [owner P] */
    int32_t gfreecnt;                   /* [owner P] */

    /* Sudog cache (acquireSudog/releaseSudog). */
    struct sudog *sudogcache[GORT__SUDOG_CACHE]; /* [owner P] */
    int32_t nsudog;                              /* [owner P] */

    /* Defer record cache (panic.c). */
    struct gort__defer *deferpool; /* [owner P] */
    int32_t ndeferpool;            /* [owner P] */

    /* Timers (time.c): the heap and its lock, made on first use and
     * published by CAS. */
    _Atomic(struct ptimers *) timers; /* [atomic] */

    /* Counters: single writer (the owner) with relaxed load+store, read
     * racily (relaxed) by gort_read_stats. */
    _Atomic uint64_t nswitch;   /* [atomic; write by owner P] switches into user gs */
    _Atomic uint64_t nsteal;    /* [atomic; write by owner P] successful steals */
    _Atomic uint64_t ngcreated; /* [atomic; write by owner P] goroutines created here */
    _Atomic uint64_t ngexited;  /* [atomic; write by owner P] goroutines exited here */
};

/*
 * sched: the one global scheduler state (gort__sched), zeroed by
 * schedinit at each gort_main and by its shutdown.  Groups of fields that
 * different threads write are kept on cache lines of their own
 * (GORT__LINE), so that the read-mostly flags every fast path checks do
 * not bounce with sched.lock.
 */
struct schedt {
    GORT__LINE gort__rtlock lock; /* [sync] */

    GORT__LINE _Atomic uint64_t goidgen; /* [atomic] last goid handed out */

    /* Idle Ms and Ps. */
    struct m *midle;                   /* [sched.lock] */
    int32_t nmidle;                    /* [sched.lock] */
    int32_t nmidlelocked;              /* [sched.lock] Ms idle waiting for their locked g */
    int64_t mnext;                     /* [sched.lock] next M id; also number of Ms created */
    int32_t nmfreed;                   /* [sched.lock] Ms whose threads exited */
    struct m *allm;                    /* [sched.lock] every M, for shutdown */
    struct m *freem;                   /* [sched.lock] Ms gone from allm (mfree_later) */
    struct p *pidle;                   /* [sched.lock] */
    GORT__LINE _Atomic int32_t npidle; /* [atomic; write under sched.lock] */
    _Atomic int32_t nmspinning;        /* [atomic] */

    /* Global run queue. */
    /* A ring of pointers, not a list through g->schedlink: moving a batch
     * touches no g (each g sits on a page of its own, at the top of its
     * stack: walking a list of them is a TLB miss per g, under the lock). */
    GORT__LINE struct g **runq; /* [sched.lock] ring of runqcap slots (power of 2) */
    _Atomic uint32_t runqcap;   /* [atomic; write under sched.lock] >= gs in allgs */
    uint32_t runqhd;            /* [sched.lock] index of the head */
    _Atomic int32_t runqsize;   /* [atomic; write under sched.lock] */

    /* Global free gs (default stacks): a stack of pointers like the run
     * queue's ring, so that moving a batch touches no g.  Slots [0, gfcold)
     * hold gs whose stack pages were returned to the OS; the rest are warm,
     * the most recently freed on top.  gflow is the lowest gfn since the
     * last scavenge: the slots below it sat unused for a whole period.
     * While the scavenger works on slots [gfcold, gfresv) unlocked, nobody
     * pops below gfresv. */
    GORT__LINE gort__rtlock gflock; /* [sync] */
    struct g **gfa;                 /* [sched.gflock] gfcap slots, gfcap >= gs in allgs */
    _Atomic uint32_t gfcap;         /* [atomic; write under sched.gflock] only grows */
    _Atomic uint32_t gfn;           /* [atomic; write under sched.gflock] gs in gfa */
    uint32_t gfcold;                /* [sched.gflock] */
    uint32_t gflow;                 /* [sched.gflock] */
    uint32_t gfresv;                /* [sched.gflock] */
    struct g *gfree_custom;         /* [sched.gflock] dead heap gs (own-size stacks), no stack */

    /* Global sudog cache. */
    GORT__LINE gort__rtlock sudoglock; /* [sync] */
    struct sudog *sudogcache;          /* [sched.sudoglock] linked through next */

    /* Global defer record cache (panic.c). */
    gort__rtlock deferlock;        /* [sync] */
    struct gort__defer *deferpool; /* [sched.deferlock] */

    /* Stop the world (GOMAXPROCS changes). */
    GORT__LINE _Atomic uint32_t gcwaiting; /* [atomic] 1 while STW is requested */
    int32_t stopwait;                      /* [sched.lock] Ps still to stop */
    gort__note stopnote;                   /* [sync] STW initiator sleeps here */
    _Atomic int32_t gomaxprocs;            /* [atomic; write under sched.lock] during STW */

    /* Lifecycle. */
    _Atomic uint32_t exiting;         /* [atomic] main returned: Ms leave at next schedule */
    struct g *gmain;                  /* [immutable] goroutine 1 */
    int main_ret;                     /* [handoff] main g's result, read after exiting */
    _Atomic uint64_t ngcreated_ext;   /* [atomic] created by foreign threads */
    _Atomic int32_t nforeign_blocked; /* [atomic] foreign threads blocked in gort calls */

    /* sysmon and the poller */
    pthread_t sysmon_thread;  /* [immutable] */
    bool sysmon_started;      /* [immutable] */
    _Atomic int64_t lastpoll; /* [atomic] when the network was last polled */
    int64_t starttime;        /* [immutable] */
    int baseline_threads;     /* [immutable] process threads when gort_main started */
};

extern struct schedt gort__sched;
/* While true, sysmon makes no preemption request (retake).  Only tests set
 * it (export_test.c: gort__export_sysmon_nopreempt); false in programs. */
extern _Atomic bool gort__sysmon_nopreempt;
/* While positive, sysmon sleeps this long after each round's clock
 * reading, a round whose work takes long.  Only tests set it
 * (gort__export_sysmon_stall); 0 in programs. */
extern _Atomic int64_t gort__sysmon_stall_ns;
/* allp: the Ps, indexed by id.  Entries are stored only during STW
 * (procresize) and read without a lock by sysmon, the stats and stealing,
 * hence atomic; a P once stored is never freed while the runtime runs. */
extern _Atomic(struct p *) gort__allp[GORT_MAX_PROCS];

/*
 * sudog: a g waiting on a channel, a select case or a semaphore
 * (runtime2.go sudog).  A select's come from the per-P cache
 * (acquire_sudog) and go back to it when their goroutine has woken; a
 * plain channel operation's lives in its chan_block frame (chan.c), a
 * semaphore's or a Cond's in the waiting function's frame (sema.c).  A
 * sudog is on at most one wait queue at a time.
 */
struct sudog {
    /* Protected by the lock of what the sudog is queued on: c->lock for a
     * channel (chan.c, select.c), root->lock for a semaphore or a Cond
     * (sema.c, where next and prev are the treap's children). */
    struct g *g;            /* [wait lock] the waiting goroutine */
    struct sudog *next;     /* [wait lock] */
    struct sudog *prev;     /* [wait lock] */
    void *elem;             /* [c->lock] data element (may point into g's stack) */
    bool success;           /* [c->lock] true: woken by a value, false: by close */
    uint32_t ticket;        /* [root->lock] sema: handoff / cond ticket */
    struct sudog *parent;   /* [root->lock] the treap */
    struct sudog *waittail; /* [root->lock] last of the waitlink list of one address */
    void *addr;             /* [root->lock] semaphore address; a Cond waiter's gort_cond */
    struct sudog *waitlink; /* [root->lock] in sema.c, the waiters of one address; in a
                             * select, the g.waiting list its goroutine builds before
                             * queueing and walks after (as Go's, one field for both) */
    /* Mutex profile (sema.c): when the wait the next unlock is charged for
     * began, the waiter's queueing or the previous waiter's wake-up
     * (semroot_dequeue); 0: not sampled.  Set by the owner before
     * queueing, then under root->lock. */
    int64_t acquiretime; /* [root->lock] */

    /* Owned by the waiting goroutine, which sets them before queueing: */
    bool isselect;       /* [owner G] g is in a select: selectdone decides */
    struct gort_chan *c; /* [owner G] channel */
};

#endif /* GORT_RUNTIME_H */
