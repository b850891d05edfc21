/*
 * proc.c - goroutine scheduler.  Mirrors runtime/proc.go.
 *
 * The main concepts are:
 *   G - goroutine.
 *   M - worker thread, or machine.
 *   P - processor, a resource that is required to execute Go code.
 *       An M must have an associated P to execute goroutines; it can be
 *       blocked or in a blocking call without one.
 *
 * Design essay (see proc.go's header for the original argument).
 *
 * Worker thread parking/unparking.  We need to balance between keeping
 * enough running worker threads to use the available hardware parallelism
 * and parking excessive running threads to conserve CPU and power.  This is
 * not simple for two reasons: (1) scheduler state is intentionally
 * distributed (in particular, per-P work queues), so it is not possible to
 * compute global predicates on fast paths; (2) for optimal thread management
 * we would need to know the future.
 *
 * Rejected alternatives (as in Go): centralising all scheduler state (kills
 * scalability); direct goroutine hand-off (leads to thread state thrashing,
 * since the thread that readies a goroutine can be out of work the next
 * moment, and destroys locality); waking a thread whenever a goroutine is
 * readied and an idle P exists (thread thrashing again).
 *
 * The approach taken: we unpark an additional thread when we ready a
 * goroutine if (1) there is an idle P and (2) there are no "spinning" worker
 * threads.  A worker thread is spinning if it is out of local work and did
 * not find work in the global run queue or the local queues of other Ps.
 * Spinning threads are counted in sched.nmspinning; at most GOMAXPROCS/2
 * spin.  If a spinning thread finds work it takes itself out of the spinning
 * state and proceeds to execution; if it finds no work it takes itself out
 * of the spinning state and parks.  When the last spinning thread finds work
 * and stops spinning, it must unpark a new spinning thread (resetspinning).
 * The tricky part is the transition from spinning to non-spinning: it races
 * with submission of new goroutines, so the spinning thread first decrements
 * nmspinning and then re-checks all work sources (with sequentially
 * consistent atomics between the decrement and the checks); the submitter
 * first publishes the work and then checks nmspinning (also seq_cst), so at
 * least one of the two sees the other.
 *
 * C-specific decisions (ARCHITECTURE.md):
 *   - Parking goes through g0 (gort__ctx_mcall): the parking goroutine's
 *     stack is no longer in use when its unlock function publishes it.
 *   - gort_yield switches directly to the next goroutine of the local queue
 *     and has the *resumed* goroutine put the yielder on the run queue
 *     (m->pending_put, run by finish_switch on the destination stack), so the
 *     yielder is published only once its stack is idle, without a detour
 *     through g0.
 *   - The current M is read through gort__getm(), a call the optimiser
 *     cannot hoist or merge, because a goroutine can resume on another thread
 *     after any switch.  After a switch, code uses gp->m, never a cached m.
 *   - Preemption: sysmon sets g->preempt on a goroutine that has run 10 ms
 *     without passing through the scheduler, every runtime call checks it,
 *     and sysmon also signals its thread (SIGURG), whose handler preempts it
 *     at once at an async-safe point (preempt.c).  Under ThreadSanitizer or
 *     with GORTDEBUG=asyncpreemptoff=1 only the cooperative check remains.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"
#include "trace.h"
#include "san.h"

/* Its locks are ranked here for use before the first gort_main (a thread
 * outside the runtime defers, and panics: the defer pool's deferlock) and
 * again by sched_reset. */
struct schedt gort__sched = {.lock = GORT__RTLOCK_INIT(LOCKRANK_SCHED),
                             .gflock = GORT__RTLOCK_INIT(LOCKRANK_GFREE),
                             .sudoglock = GORT__RTLOCK_INIT(LOCKRANK_SUDOG),
                             .deferlock = GORT__RTLOCK_INIT(LOCKRANK_DEFER)};
_Atomic(struct p *) gort__allp[GORT_MAX_PROCS];

__thread struct m *gort__tls_m __attribute__((tls_model("initial-exec")));
static __thread struct g *tls_foreign_g __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_rand __attribute__((tls_model("initial-exec")));

/* 1 between start and shutdown.  Not in gort__sched, which is reset at
 * every start: threads outside the runtime read it at any time. */
static _Atomic uint32_t rt_running;
/* Calls from threads outside the runtime that have passed the running
 * check and may still touch scheduler state; shutdown waits for zero
 * (seq_cst on both sides: either the caller sees exiting, or shutdown sees
 * the caller). */
static _Atomic int32_t foreign_inflight;

/* The pin (runtime.h): counted with the calls above, so that shutdown's
 * waits for zero cover it.  A pin taken before the waiter's unlock
 * happens before shutdown's unlinking of that waiter under the same lock,
 * which comes before shutdown's last wait, which so sees it (or its
 * unpin); a thread that takes its lock after the unlinking finds no
 * waiter of ours. */
void gort__foreign_pin_slow(void) {
    atomic_fetch_add_explicit(&foreign_inflight, 1, memory_order_seq_cst);
}

void gort__foreign_unpin(void) {
    atomic_fetch_sub_explicit(&foreign_inflight, 1, memory_order_seq_cst);
}

/* 1 from the start of shutdown_runtime to its end, after the timer heaps
 * are gone (gort__runtime_stopping).  Not in gort__sched, which shutdown
 * resets: threads outside the runtime read it at any time. */
static _Atomic uint32_t rt_stopping;

/* See runtime.h.  Dekker with shutdown_runtime, as gort__goready's
 * foreign path (seq_cst on both sides): a caller that counted itself
 * before shutdown's store of exiting (of the running flag) is waited for
 * by the wait that follows that store, before the Ms are joined (before
 * the heaps are freed); one that counted later sees the store. */
bool gort__foreign_enter(bool waking) {
    atomic_fetch_add_explicit(&foreign_inflight, 1, memory_order_seq_cst);
    if (gort__runtime_running() &&
        !(waking && atomic_load_explicit(&gort__sched.exiting, memory_order_seq_cst)))
        return true;
    atomic_fetch_sub_explicit(&foreign_inflight, 1, memory_order_seq_cst);
    return false;
}

bool gort__runtime_stopping(void) {
    return atomic_load_explicit(&rt_stopping, memory_order_seq_cst) != 0;
}

/* gort_main is not re-entrant: a second concurrent call gets -EBUSY. */
static _Atomic uint32_t main_busy;
/* Set in a child that fork() made while a gort_main ran (atfork_child).
 * Only the forking thread lives on there: the other Ms, sysmon and the
 * goroutines they ran are gone, but the goroutines queued, sleeping or
 * parked are still in the copied scheduler, and the child's thread would
 * run them (the parent's work done twice) or wait for ever for the Ps
 * and threads that are gone.  Written once, in the child while it has
 * one thread; read there only (relaxed: nothing else to order). */
static _Atomic bool forked_child;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* One stop-the-world at a time (Go's worldsema).  A gort_mutex, so that a
 * goroutine waiting for it parks and its P can stop for the STW in
 * progress; a thread-blocking lock here could deadlock. */
static gort_mutex worldsema;

/*
 * The collector's lock and then worldsema, held by gort_main from just
 * before the running flag is set until the runtime is up (before the main
 * goroutine runs), and by the main goroutine from its return (before
 * begin_exit) until gort_main has torn the runtime down.  Neither a cycle
 * nor a stop of the world then spans a start or an exit, so a caller that
 * holds either lock sees the running flag stay as it was:
 * - a goroutine's cycle parked on worldsema mid-cycle when main returned
 *   was abandoned holding gcsema, its cycle half done (the next
 *   gort_main's first collection waited for ever: test
 *   heap.main_returns_while_collections_contend); main now waits for it;
 * - a plain thread's stop while main returned ran beside the tear-down (a
 *   fatal error, SIGSEGV in a new M, or a hang): it now waits until the
 *   runtime is gone and finds it not running (stop_the_world_if_running).
 * Order as a cycle's: gcsema, then worldsema.
 */
static void world_hold(void) {
    /* A child forked inside gort_main exits at main's return (begin_exit):
     * the locks may be the parent's, held by a thread that is gone. */
    if (atomic_load_explicit(&forked_child, memory_order_relaxed))
        return;
    gort__gc_hold();
    gort__mutex_lock_sema(&worldsema, false);
}

static void world_release(void) {
    gort_mutex_unlock(&worldsema);
    gort__gc_release();
}

/* GOMAXPROCS override set by gort_gomaxprocs outside gort_main, from any
 * thread (relaxed: a value, nothing else to order; a call that races
 * gort_main's start may set this run's or the next). */
static _Atomic int32_t gomaxprocs_next;

/* allgs: every user goroutine that has a struct g (live or dead on a free
 * list).  Appended under allglock; read under allglock. */
static gort__rtlock allglock = GORT__RTLOCK_INIT(LOCKRANK_ALLG);
static struct g **allgs;
static int64_t allglen, allgcap;

/* Coarse clock updated by sysmon, for wait-since stamps. */
static _Atomic int64_t coarse_now;

/* Foreign threads that have entered the runtime and are still alive:
 * while any exists, checkdead cannot prove a deadlock (Go does the same for
 * cgo's extra Ms: it skips the check in c-archive/c-shared builds). */
static _Atomic int32_t nforeign_alive;
static pthread_key_t foreign_key;
static pthread_once_t foreign_once = PTHREAD_ONCE_INIT;

#define G0_STACK_SIZE (64 * 1024)
/* sysmon asks a goroutine that has run this long to yield (forcePreemptNS). */
#define FORCE_PREEMPT_NS (10 * 1000 * 1000)
/* sysmon's sleep: 20 us while it finds work, doubled after
 * SYSMON_IDLE_ROUNDS idle rounds up to 10 ms (Go's sysmon).  The 10 ms is
 * also how stale the last network poll may get before sysmon polls
 * itself, and how long a P may sit in a blocking call, with nothing queued
 * while other Ms idle, before it is retaken (proc.go uses the same 10 ms
 * in all three places). */
#define SYSMON_MINDELAY_NS (20 * 1000)
#define SYSMON_MAXDELAY_NS (10 * 1000 * 1000)
#define SYSMON_IDLE_ROUNDS 50
/* sysmon woke this much later than it asked: the process was stopped
 * (SIGSTOP, or a debugger's ptrace stop at a breakpoint), during which no
 * goroutine ran.  That time is not counted in a running P's slice, nor in
 * the time a goroutine is reported to have held its P in a blocking call
 * (CLOCK_MONOTONIC runs on while the process is stopped).  100 ms: far
 * above sysmon's own wake-up latency on a loaded machine. */
#define SYSMON_AWAY_NS (100 * 1000 * 1000)
/* Every GLOBRUNQ_TICK-th schedule on a P takes from the global run queue
 * first, so that the local queue cannot starve it (Go's schedule():
 * schedtick%61; a prime, so it does not fall into step with a program's
 * periodic patterns). */
#define GLOBRUNQ_TICK 61

/* The last attempt to start a thread failed (see internal.h). */
_Atomic bool gort__newm_failing;

/* See runtime.h: a test hook, false in every program. */
_Atomic bool gort__sysmon_nopreempt;
_Atomic int64_t gort__sysmon_stall_ns;

const char *const gort__waitreason_str[WAIT_NREASONS] = {
    [WAIT_ZERO] = "",
    [WAIT_CHAN_RECV] = "chan receive",
    [WAIT_CHAN_SEND] = "chan send",
    [WAIT_CHAN_RECV_NIL] = "chan receive (nil chan)",
    [WAIT_CHAN_SEND_NIL] = "chan send (nil chan)",
    [WAIT_SELECT] = "select",
    [WAIT_SELECT_NO_CASES] = "select (no cases)",
    [WAIT_SLEEP] = "sleep",
    [WAIT_IO] = "IO wait",
    [WAIT_SEMACQUIRE] = "semacquire",
    [WAIT_SYNC_MUTEX] = "sync.Mutex.Lock",
    [WAIT_SEMA_MUTEX] = "semacquire",
    [WAIT_RUNTIME_MUTEX] = "semacquire",
    [WAIT_SYNC_RWMUTEX_R] = "sync.RWMutex.RLock",
    [WAIT_SYNC_RWMUTEX_W] = "sync.RWMutex.Lock",
    [WAIT_SYNC_WAITGROUP] = "sync.WaitGroup.Wait",
    [WAIT_SYNC_COND] = "sync.Cond.Wait",
    [WAIT_SYNC_ONCE] = "sync.Mutex.Lock",
    [WAIT_TIMER_GOROUTINE_IDLE] = "timer goroutine (idle)",
    [WAIT_PREEMPTED] = "preempted",
    [WAIT_LOCKED_THREAD] = "locked to thread",
    [WAIT_SYSCALL] = "syscall",
    [WAIT_FOREVER] = "wait forever",
    [WAIT_GOEXIT_MAIN] = "wait forever",
    [WAIT_SYNCTEST_CHAN_RECV] = "chan receive (durable)",
    [WAIT_SYNCTEST_CHAN_SEND] = "chan send (durable)",
    [WAIT_SYNCTEST_SELECT] = "select (durable)",
    [WAIT_SYNCTEST_RUN] = "synctest.Run",
    [WAIT_SYNCTEST_WAIT] = "synctest.Wait",
    [WAIT_SYNCTEST_WAITGROUP] = "sync.WaitGroup.Wait (durable)",
    [WAIT_SYNCTEST_IO] = "IO wait (durable)",
    [WAIT_FINALIZER_WAIT] = "finalizer wait",
    [WAIT_GC_ASSIST_WAIT] = "GC assist wait",
};

/* Under TSan the functions that never return are uninstrumented shells
 * (GORT_NO_TSAN_FRAME); the work they do lives in instrumented functions
 * that return, kept out of line so TSan sees their atomics. */
#ifdef GORT_TSAN
#define TSAN_OUTLINE __attribute__((noinline))
#else
#define TSAN_OUTLINE
#endif

static void schedule(struct m *mp) __attribute__((noreturn));
static void execute(struct m *mp, struct g *gp, bool inherit) __attribute__((noreturn));
static void stopm(struct m *mp);
static void startm(struct p *pp, bool spinning);
static void handoffp(struct p *pp);
static void checkdead(void);
static void mexit(struct m *mp) __attribute__((noreturn));
static struct p *releasep(struct m *mp);
static void acquirep(struct m *mp, struct p *pp);

/* The functions of a goroutine hand-off (ring, pingpong: mcall, park_m,
 * gort__gopark, gort__goready, runqput, schedule, execute) each start at
 * a cache line (GORT_HOT_ALIGN), as the runtime lock's do: where
 * unrelated changes left them moved ring by a fifth.  Session 38's other
 * changes took it to 156-199 ns a hop at two Ps, against 132-156 for the
 * code before them and 134-147 with these aligned (alternating runs of
 * `gort-bench -w ring`). */

/* ------------------------------------------------------------------ TLS */

GORT_NOINLINE struct m *gort__getm(void) {
    struct m *mp = gort__tls_m;
    /* Opaque to the optimiser: calls are never merged or hoisted. */
    __asm__ volatile("" : "+r"(mp));
    return mp;
}

/* gort__getm for the preemption signal handler: never instrumented. */
GORT_NO_TSAN_FRAME GORT_NOINLINE struct m *gort__getm_signal(void) {
    struct m *mp = gort__tls_m;
    __asm__ volatile("" : "+r"(mp));
    return mp;
}

GORT_NOINLINE struct g *gort__getg(void) {
    struct m *mp = gort__tls_m;
    __asm__ volatile("" : "+r"(mp));
    return mp ? mp->curg : NULL;
}

static void foreign_thread_exit(void *arg) {
    struct g *gp = arg;
    atomic_fetch_sub_explicit(&nforeign_alive, 1, memory_order_seq_cst);
    gort__fixfree(gp);
}

static void foreign_key_init(void) {
    pthread_key_create(&foreign_key, foreign_thread_exit);
}

/* The fake g of a thread outside the runtime (or of g0, which must never
 * park: that throws). */
struct g *gort__getg_or_foreign(void) {
    struct g *gp = gort__getg();
    if (gp)
        return gp;
    struct m *mp = gort__getm();
    if (mp != NULL)
        gort__throw("blocking operation on the scheduler stack (g0)");
    gp = tls_foreign_g;
    if (gp)
        return gp;
    pthread_once(&foreign_once, foreign_key_init);
    /* Not malloc: a channel operation asks for it under the channel's
     * lock (mfixalloc.c). */
    gp = gort__fixalloc(sizeof *gp);
    if (gp == NULL)
        gort__throw("out of memory allocating a thread's goroutine record");
    gp->foreign = true;
    atomic_store_explicit(&gp->status, G_RUNNING, memory_order_relaxed);
    tls_foreign_g = gp;
    atomic_fetch_add_explicit(&nforeign_alive, 1, memory_order_seq_cst);
    pthread_setspecific(foreign_key, gp);
    return gp;
}

/* pthread_atfork's child handler, on the forking thread in the child,
 * which is then the process's only thread.  main_busy is set from the
 * start of gort_main to its return: the runtime's state, made or half
 * made, is the parent's. */
static void atfork_child(void) {
    if (atomic_load_explicit(&main_busy, memory_order_relaxed) != 0)
        atomic_store_explicit(&forked_child, true, memory_order_relaxed);
}

static void atfork_init(void) {
    /* Fails only for want of memory: then a forked child is not told
     * (as before this handler existed). */
    (void)pthread_atfork(NULL, NULL, atfork_child);
}

/* A child forked inside gort_main cannot go on with the runtime: a call
 * that would run another goroutine, wait for one or stop the world ends
 * it with a fatal error instead of running the parent's goroutines or
 * hanging. */
static void forked_child_check(void) {
    if (GORT_UNLIKELY(atomic_load_explicit(&forked_child, memory_order_relaxed)))
        gort__fatal("gort: a child forked inside gort_main cannot run goroutines (fork only to "
                    "exec: see gort_process_spawn)");
}

void gort__forked_child_lockwait(void) {
    if (GORT_LIKELY(!atomic_load_explicit(&forked_child, memory_order_relaxed)))
        return;
    /* Already dying (the report itself met such a lock): it cannot go on,
     * and a second fatal error would wait for ever for the first. */
    if (gort__dying())
        gort__die(2);
    gort__fatal("gort: a child forked inside gort_main needs a runtime lock that another thread "
                "held at the fork (fork only to exec: see gort_process_spawn)");
}

bool gort__runtime_running(void) {
    return atomic_load_explicit(&rt_running, memory_order_seq_cst) != 0;
}

/* ------------------------------------------------------------------ random */

static inline uint64_t wyrand(uint64_t *state) {
    *state += 0xa0761d6478bd642full;
    __uint128_t t = (__uint128_t)*state * (*state ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(t >> 64) ^ (uint64_t)t;
}

uint32_t gort__fastrand(void) {
    struct m *mp = gort__getm_entry(); /* no switch before it here */
    uint64_t *st = mp ? &mp->fastrand : &tls_rand;
    if (GORT_UNLIKELY(*st == 0)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        *st = (uint64_t)ts.tv_nsec ^ ((uint64_t)(uintptr_t)st << 17) ^ 0x9e3779b97f4a7c15ull;
    }
    return (uint32_t)wyrand(st);
}

/* ------------------------------------------------------------------ time */

/* The runtime's clock, CLOCK_MONOTONIC.  Inside the library the name
 * gort_nanotime means this function (internal.h); the public
 * gort_nanotime() is synctest.c's, which reads a bubble's fake clock. */
int64_t gort__nanotime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ switches */

/* First code on a context's stack after any switch into it: finishes the
 * sanitizer switch and runs the action the previous goroutine left for us
 * (publishing the yielder once its stack is idle). */
static void finish_park(struct m *mp);
static void runqput_tail(struct p *pp, struct g *gp);
static void globrunqput_wake(struct g *gp);
static void finish_exit(struct m *mp);
static inline void lsan_switched_out(struct g *gp);

/* gp runs again (or is dead): its stack is the thread's again.  Exactly
 * the region lsan_switched_out registered is unregistered (LSan dies on any
 * other), from the record, never recomputed from ctx.sp or the stack
 * bounds.  The record is cleared before the call: on this thread the
 * record then never names a region LSan no longer holds, even if the call
 * is interrupted and gp switched out and back inside it (a blocking call
 * the sanitizer makes through libc is one the preemption signal wraps in
 * its trampoline, which may yield: lsan_switched_out then registers the
 * deeper region afresh and lsan_resumed drops it, nested inside this
 * call; seen with a libc mutex there).  The signal fence keeps
 * the compiler from sinking the clearing store below the call; other
 * threads see the record only through the hand-off that published gp
 * (run queue release, unlock function, execute's jump). */
static inline void lsan_resumed(struct g *gp) {
    uintptr_t lo = gp->lsan_lo;
    if (GORT_UNLIKELY(lo != 0)) {
        size_t len = gp->lsan_len;
        gp->lsan_lo = 0;
        atomic_signal_fence(memory_order_seq_cst);
        san_root_del((void *)lo, len);
    }
}

/* The actions the previous goroutine left for the one switched to (see
 * finish_switch): out of line, so that a switch that left none (a yield
 * on one P, a resume by execute) costs no call. */
static GORT_NOINLINE void finish_switch_pending(struct m *mp) {
    struct g *put = mp->pending_put;
    if (put != NULL) {
        lsan_switched_out(put);
        mp->pending_put = NULL;
        if (mp->pending_global) {
            mp->pending_global = false;
            globrunqput_wake(put);
        } else {
            runqput_tail(mp->p, put);
        }
    }
    if (mp->pending_park != NULL) {
        lsan_switched_out(mp->pending_park);
        finish_park(mp);
    }
    if (mp->pending_exit != NULL)
        finish_exit(mp);
}

/* The program's C++ runtime's, or NULL (a C program, or libstdc++ linked
 * statically and not exported): a weak reference, not dlsym, whose
 * failure leaves a dlerror message in the thread's storage (see
 * symtab.c). */
extern void **__cxa_get_globals(void) __attribute__((weak));

/* A goroutine's C++ exception state (g->eh) is saved where its errno is,
 * at entry to every call that switches it out, before it can be readied
 * elsewhere, and restored by finish_switch.  The runtime itself never
 * throws or catches, so the thread's state is the goroutine's until then.
 * Word by word, as errno is copied, not with memcpy: a user's
 * ThreadSanitizer intercepts memcpy and memset even in the uninstrumented
 * library, and took g->eh, written by the threads a goroutine ran on
 * (ordered by the runtime's own synchronisation, which it does not see),
 * for a race. */
static inline __attribute__((always_inline)) void eh_copy(void **dst, void *const *src) {
    dst[0] = src[0];
    dst[1] = src[1];
}

static inline __attribute__((always_inline)) void eh_save(const struct m *mp, struct g *gp) {
    if (GORT_UNLIKELY(mp->ehglobals != NULL))
        eh_copy(gp->eh, mp->ehglobals);
}

static inline __attribute__((always_inline)) void finish_switch(struct g *self) {
    san_switch_end(self->asan_fake_stack, NULL, NULL);
    lsan_resumed(self);
    struct m *mp = self->m;
    if (mp->pending_put != NULL || mp->pending_park != NULL || mp->pending_exit != NULL)
        finish_switch_pending(mp);
    /* errno is per goroutine: it was saved on entry to the call that
     * switched self out (gort__gopark, gort_yield, ...: before any runtime
     * code could change it), maybe on another thread.  Restored last: the
     * pending work above may take a contended lock, whose futex wait sets
     * errno (EAGAIN).  Through the M's cached address of its thread's
     * errno: no call on the switch path. */
    *mp->errnop = self->errno_;
    if (GORT_UNLIKELY(mp->ehglobals != NULL))
        eh_copy(mp->ehglobals, self->eh);
}

/* Switch from user g gp to g0 of its M and call fn(gp) there. */
GORT_HOT_ALIGN static void mcall(struct g *gp, void (*fn)(void *)) {
    struct m *mp = gp->m;
    struct g *g0 = mp->g0;
    san_switch_begin(&gp->asan_fake_stack, (void *)g0->stack.lo, g0->stack.hi - g0->stack.lo,
                     g0->tsan_fiber);
    gort__ctx_mcall(&gp->ctx.sp, mp->g0_top, fn, gp);
    /* Resumed by execute() or by a direct switch, maybe on another M. */
    finish_switch(gp);
}

/* On g0, entered from mcall: the previous user g is no longer running. */
static inline struct m *g0_enter(struct g *gp) {
    struct m *mp = gp->m;
    san_switch_end(NULL, NULL, NULL);
    lsan_switched_out(gp);
    mp->curg = NULL;
    if (mp->p)
        atomic_store_explicit(&mp->p->runningg, NULL, memory_order_relaxed);
    return mp;
}

/* ------------------------------------------------------------------ allgs */

static int globrunq_grow(uint32_t want);

static int gfpool_reserve(uint32_t want);
static void goentry(void *arg);

static int allgadd(struct g *gp) {
    gort__lock(&allglock);
    /* Room in the free pool for every g (gflock, like sched.lock below,
     * is not taken under allglock). */
    while ((uint64_t)allglen + 1 > atomic_load_explicit(&gort__sched.gfcap, memory_order_relaxed)) {
        uint32_t want = (uint32_t)(allglen + 1) * 2;
        gort__unlock(&allglock);
        int r = gfpool_reserve(want);
        if (r != 0)
            return r;
        gort__lock(&allglock);
    }
    /* Room in the global run queue's ring for every g first (sched.lock
     * is taken before allglock, as checkdead does: so without it). */
    while ((uint64_t)allglen + 1 >
           atomic_load_explicit(&gort__sched.runqcap, memory_order_relaxed)) {
        uint32_t want = (uint32_t)(allglen + 1) * 2;
        gort__unlock(&allglock);
        gort__lock(&gort__sched.lock);
        int r = globrunq_grow(want);
        gort__unlock(&gort__sched.lock);
        if (r != 0)
            return r;
        gort__lock(&allglock);
    }
    if (allglen == allgcap) {
        int64_t ncap = allgcap ? allgcap * 2 : 1024;
        struct g **n = gort__fixrealloc(allgs, (size_t)ncap * sizeof *n);
        if (n == NULL) {
            gort__unlock(&allglock);
            return -ENOMEM;
        }
        allgs = n;
        allgcap = ncap;
    }
    allgs[allglen++] = gp;
    gort__unlock(&allglock);
    return 0;
}

void gort__forallg(void (*fn)(struct g *gp, void *arg), void *arg) {
    gort__lock(&allglock);
    for (int64_t i = 0; i < allglen; i++)
        fn(allgs[i], arg);
    gort__unlock(&allglock);
}

struct g **gort__allgs_hold(int64_t *n) {
    gort__lock(&allglock);
    *n = allglen;
    return allgs;
}

void gort__allgs_release(void) {
    gort__unlock(&allglock);
}

void gort__gs_stacks(struct g **gs, int64_t n, void (*fn)(struct g *gp, void *arg), void *arg) {
    for (int64_t i = 0; i < n; i++) {
        /* The gs are scattered (each at the top of its own stack region)
         * and cold: start loading the g eight ahead, and the top of the
         * stack of the one four ahead (its ctx.sp was loaded four rounds
         * ago): fn scans it from there, typically a few hundred bytes.
         * In gc_pause (10,000 goroutines) this took the final pause's p50
         * from 6.4-7.7 to 4.8-6.8 ms (four and two ahead), and eight and
         * four ahead its median from 2.6 to 2.3 ms (47 cycles; sixteen
         * and eight: 2.8 ms). */
        if (i + 8 < n)
            __builtin_prefetch(gs[i + 8]);
        if (i + 4 < n) {
            const char *sp = __atomic_load_n(&gs[i + 4]->ctx.sp, __ATOMIC_RELAXED);
            if (sp != NULL)
                for (int k = 0; k < 12; k++)
                    __builtin_prefetch(sp + 64 * k);
        }
        fn(gs[i], arg);
    }
}

void gort__forallg_stacks(void (*fn)(struct g *gp, void *arg), void *arg) {
    int64_t n;
    struct g **gs = gort__allgs_hold(&n);
    gort__gs_stacks(gs, n, fn, arg);
    gort__allgs_release();
}

/* Allocates a g with its stack.  Default-size stacks (and g0s) hold their g
 * at the top of the region.  Goroutines with a stack size of their own get
 * a g from the heap instead, because their stack is unmapped when they exit
 * while the g must stay valid (type-stable) for racy readers such as
 * sysmon; such gs are reused through sched.gfree_custom. */
static struct g *malg(size_t stacksize, bool user) {
    gort__stack st;
    struct g *gp = NULL;
    bool heapg = user && stacksize != gort__default_stack_size;
    if (heapg) {
        gort__lock(&gort__sched.gflock);
        gp = gort__sched.gfree_custom;
        if (gp)
            gort__sched.gfree_custom = gp->schedlink;
        gort__unlock(&gort__sched.gflock);
        if (gp == NULL) {
            gp = gort__calloc(1, sizeof *gp);
            if (gp == NULL)
                return NULL;
            gp->heapg = true;
            if (allgadd(gp) != 0) {
                san_fiber_destroy(gp->tsan_fiber);
                gort__free(gp);
                return NULL;
            }
        }
        if (gort__stackalloc(stacksize, &st) != 0) {
            gort__lock(&gort__sched.gflock);
            gp->schedlink = gort__sched.gfree_custom;
            gort__sched.gfree_custom = gp;
            gort__unlock(&gort__sched.gflock);
            return NULL;
        }
        gp->stack = st;
        gp->stack.hi = st.hi & ~(uintptr_t)15;
        gp->valgrind_id = san_valgrind_register((void *)gp->stack.lo, (void *)gp->stack.hi);
        atomic_store_explicit(&gp->status, G_IDLE, memory_order_relaxed);
        return gp;
    }
    if (gort__stackalloc(stacksize, &st) != 0)
        return NULL;
    uintptr_t gaddr = (st.hi - sizeof(struct g)) & ~(uintptr_t)63;
    gp = (struct g *)gaddr;
    memset(gp, 0, sizeof *gp);
    gp->stack = st;
    gp->stack.hi = gaddr & ~(uintptr_t)15;
    gp->tsan_fiber = user ? NULL : san_fiber_create(); /* users: at start */
    gp->valgrind_id = san_valgrind_register((void *)gp->stack.lo, (void *)gp->stack.hi);
    atomic_store_explicit(&gp->status, G_IDLE, memory_order_relaxed);
    if (user && allgadd(gp) != 0) {
        san_fiber_destroy(gp->tsan_fiber);
        san_valgrind_deregister(gp->valgrind_id);
        gort__stackfree(&gp->stack);
        return NULL;
    }
    return gp;
}

/*
 * LeakSanitizer's roots.  It scans each thread's current stack from its sp
 * up (ASan's fiber switches tell it which stack that is), globals, and the
 * root regions registered here: a slab goroutine's struct g (its fn's arg)
 * from newproc1 to its exit, and the live part of its stack, [sp, hi),
 * while it is switched out.  Stale pointers below a goroutine's sp and in
 * dead goroutines' stacks do not hide leaks.
 */
static inline void groot(struct g *gp, bool live) {
    /* Only LSan registers regions (lsan_lo is set only then, too): one
     * test of the mode on every spawn and exit otherwise. */
    if (GORT_LIKELY(!(gort__san_mode & GORT_SAN_MODE_LSAN)))
        return;
    if (!live)
        lsan_resumed(gp);
    if (gp->heapg)
        return; /* calloc'd: found through allgs */
    uintptr_t end = gp->stack.base + gp->stack.size;
    if (live)
        san_root_add((void *)gp->stack.hi, end - gp->stack.hi);
    else
        san_root_del((void *)gp->stack.hi, end - gp->stack.hi);
}

/* gp has just been switched out (its ctx.sp is saved) and is not yet
 * published: only this thread touches its record until the hand-off that
 * lets another M resume it, which orders these writes before that M's
 * lsan_resumed.  The record is written after the region is registered (it
 * names only a region LSan holds) and keeps the exact (lo, len) passed. */
static inline void lsan_switched_out(struct g *gp) {
    if (GORT_UNLIKELY(gort__san_mode & GORT_SAN_MODE_LSAN) && gp->ctx.sp != NULL &&
        gp->lsan_lo == 0) {
        uintptr_t lo = (uintptr_t)gp->ctx.sp;
        size_t len = gp->stack.hi - lo;
        san_root_add((void *)lo, len);
        gp->lsan_len = len;
        atomic_signal_fence(memory_order_seq_cst);
        gp->lsan_lo = lo;
    }
}

/* Releases the stack of a dead goroutine with a stack of its own; the g
 * itself goes to gfree_custom.  Runs on g0 (the stack is not in use). */
static void gfree_custom(struct g *gp) {
    san_valgrind_deregister(gp->valgrind_id);
    gp->valgrind_id = 0;
    gort__stack st = gp->stack;
    san_unpoison((void *)st.lo, st.hi - st.lo);
    gort__stackfree(&st);
    memset(&gp->stack, 0, sizeof gp->stack);
    gort__lock(&gort__sched.gflock);
    gp->schedlink = gort__sched.gfree_custom;
    gort__sched.gfree_custom = gp;
    gort__unlock(&gort__sched.gflock);
}

/* Frees a g0 and its stack (freem_reap, shutdown). */
static void gfree_g0(struct g *gp) {
    san_fiber_destroy(gp->tsan_fiber);
    san_valgrind_deregister(gp->valgrind_id);
    gort__stack st = gp->stack;
    san_unpoison((void *)st.lo, st.hi - st.lo);
    gort__stackfree(&st);
}

/* ------------------------------------------------------------------ run queues */

/* Runnext without a locked instruction.  Every hop of a goroutine chain
 * (ring, spawn_seq, a send that readies a receiver) puts a g into runnext
 * and takes it out again on the owner, and with two Ps or more both were
 * CASes, because a thief may CAS runnext to NULL meanwhile (with one P no
 * thief can exist, and the owner uses plain stores).  On an Intel machine
 * under KVM, medians of five alternating pairs on a quiet machine:
 * spawn_seq 200 -> 184 ns, pingpong_unbuf_pN 211 -> 196; ring unchanged
 * (152 -> 153 ns a hop, against 105 at GOMAXPROCS=1: its cost at two Ps
 * was runnext_visible's call, below, until the spinner's debt).
 * Thieves are rare and already slow (runqgrab sleeps 3 us before it tries
 * runnext), so the cost moves to them, as an asymmetric Dekker handshake
 * whose heavy side is membarrier(2):
 *
 *   owner (runnext_enter/leave)       thief (runnext_steal)
 *   busy = 1                          thieves += 1 (locked: visible)
 *   compiler barrier                  membarrier(PRIVATE_EXPEDITED)
 *   thieves == 0 ? plain load/store   busy == 0 (acquire) ? CAS
 *                : CAS (as before)    thieves -= 1
 *   busy = 0 (release)
 *
 * membarrier returns only after every running thread of the process has
 * passed a full memory barrier (a thread not running passed one when it
 * was switched out).  If the owner's read of thieves came after that
 * barrier, it sees the thief's count (made visible before the call) and
 * takes the CAS path, which is safe against the thief's CAS.  If it came
 * before, its busy = 1, earlier in program order, is visible when the
 * call returns: the thief sees 1 and does not CAS, or sees the release
 * store of 0 that ends the section, and then the section's runnext store
 * too.  So a thief's CAS never falls inside a section of plain accesses.
 * Every access is a C11 atomic (ThreadSanitizer sees no data race; the g
 * is published by the release store into runnext and the thief's acquire
 * CAS).  No signal handler touches a run queue, so a section is never
 * re-entered on its own thread.  Without membarrier (old kernels,
 * Valgrind, a seccomp filter) runnext_asym stays false and both sides
 * CAS, as Go's runqput and runqget do. */
static bool runnext_asym; /* set by schedinit, before any P runs */

static void runnext_init(void) {
    runnext_asym = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/* For a spinning M that stops spinning, between its decrement of
 * nmspinning and a look at every run queue (findrunnable): that look must
 * see a g that a submitter put into runnext before it found us spinning
 * (gort__wakep's loads) and so woke nobody.  The submitter's plain store
 * may still sit in its CPU's store buffer while its loads of npidle and
 * nmspinning go ahead (the CAS it replaced was the StoreLoad barrier of
 * the spinning protocol, see "Atomics rules" in HACKING.md); membarrier
 * drains every running thread's, the same asymmetric trade as
 * runnext_steal's: a submitter's thread that passes its barrier after
 * our decrement then sees nmspinning dropped and wakes an M itself, one
 * that passed it before has its store visible to our look.  Without it
 * an idle P and a runnable g in runnext were left waiting for the next
 * wakeup (preempt.runnext_stolen_from_spinner_p2 lost one in about 150
 * rounds).
 *
 * The spinner's debt.  The call interrupts every CPU running the process
 * (an IPI), and under KVM that cost the busy CPU more than the locked
 * instructions it saved: ring at two Ps, whose idle M stops spinning
 * about 2,300 times in a million hops and is started again within a
 * microsecond each time, ran 146-169 ns a hop against 119-134 with the
 * call deferred (four alternating pairs, quiet machine; 120-128 at
 * GOMAXPROCS=1).  So an M that stops spinning again without having run a
 * goroutine since it last stopped (m.spun_idle: ring's idle M) does its
 * last look without the call and owes it (m.owes_visible), settling
 * before it runs a goroutine (visible_pay_running) and before it sleeps
 * for long, after a first sleep of at most VISIBLE_NS that nobody cut
 * short (visible_pay_idle: the call, then the look again).  Until then it
 * looks at every source again whenever it is started, and a store left
 * in a store buffer reaches memory within that time on any machine we
 * know; the call is what makes the look certain.  A submitter's g is so
 * seen at most VISIBLE_NS later than with the call made at once.  An M
 * that ran a goroutine since it last stopped pays at once, as before:
 * deferred for every M, mutex_contended went from 40 to 45-50 ns, its
 * idle M, woken for each handoff, now missing the work that the call's
 * microseconds had let it find before it slept.  (A stop of the world
 * clears a debt too: it ends with a wakep, and its signals and locks
 * drained every store.) */
static inline void runnext_visible(void) {
    if (runnext_asym)
        (void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/* How long an M that owes runnext_visible sleeps before it pays. */
#define VISIBLE_NS (10 * 1000)

/* The owner's section: true if the thieves are away and runnext may be
 * read and written with plain atomic loads and stores until
 * runnext_leave; false (and not entered) to CAS instead. */
static inline bool runnext_enter(struct p *pp) {
    if (!runnext_asym)
        return false;
    atomic_store_explicit(&pp->runnext_busy, 1, memory_order_relaxed);
    /* The store above must not move below the load for the compiler; the
     * CPU's store-load reordering is the thief's membarrier's to undo. */
    atomic_signal_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&pp->runnext_thieves, memory_order_relaxed) == 0)
        return true;
    atomic_store_explicit(&pp->runnext_busy, 0, memory_order_relaxed);
    return false;
}

static inline void runnext_leave(struct p *pp) {
    /* Release: the section's runnext store before a thief's acquire load
     * of busy that reads 0. */
    atomic_store_explicit(&pp->runnext_busy, 0, memory_order_release);
}

/* A thief's CAS of pp's runnext from next to NULL, under the handshake
 * when the owner may use plain stores.  False if runnext is no longer
 * next, or the owner is in a section (the caller tries again later). */
static bool runnext_steal(struct p *pp, struct g *next) {
    if (!runnext_asym)
        return atomic_compare_exchange_strong_explicit(&pp->runnext, &next, NULL,
                                                       memory_order_acquire, memory_order_relaxed);
    /* Most tries find another g there by now: no system call for them. */
    if (atomic_load_explicit(&pp->runnext, memory_order_relaxed) != next)
        return false;
    atomic_fetch_add_explicit(&pp->runnext_thieves, 1, memory_order_seq_cst);
    bool took = false;
    /* Acquire on busy: pairs with runnext_leave's release. */
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 &&
        atomic_load_explicit(&pp->runnext_busy, memory_order_acquire) == 0)
        took = atomic_compare_exchange_strong_explicit(&pp->runnext, &next, NULL,
                                                       memory_order_acquire, memory_order_relaxed);
    atomic_fetch_sub_explicit(&pp->runnext_thieves, 1, memory_order_release);
    return took;
}

/* Put gp on pp's local run queue; next: into runnext (kicking the old one to
 * the tail).  If the queue is full, moves half of it to the global queue.
 * Runs on pp's owner. */
static bool runqput(struct p *pp, struct g *gp, bool next);

static void globrunq_reserve(uint32_t more);
static inline void globrunq_push(struct g *gp, uint32_t size);

static bool runqputslow(struct p *pp, struct g *gp, uint32_t h, uint32_t t) {
    struct g *batch[GORT__RUNQ / 2 + 1];
    uint32_t n = t - h;
    n = n / 2;
    if (n != GORT__RUNQ / 2)
        gort__throw("runqputslow: queue is not full");
    for (uint32_t i = 0; i < n; i++)
        batch[i] = atomic_load_explicit(&pp->runq[(h + i) % GORT__RUNQ], memory_order_relaxed);
    /* Release on success: consumers' acquire of head pairs with it (Go: CasRel). */
    if (!atomic_compare_exchange_strong_explicit(&pp->runqhead, &h, h + n, memory_order_release,
                                                 memory_order_relaxed))
        return false;
    batch[n] = gp;
    gort__lock(&gort__sched.lock);
    globrunq_reserve(n + 1);
    uint32_t size = (uint32_t)atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed);
    for (uint32_t i = 0; i <= n; i++)
        globrunq_push(batch[i], size + i);
    atomic_fetch_add_explicit(&gort__sched.runqsize, (int32_t)n + 1, memory_order_seq_cst);
    gort__unlock(&gort__sched.lock);
    return true;
}

/* Returns true if the local queue was full and half of it went to the
 * global queue. */
GORT_HOT_ALIGN static bool runqput(struct p *pp, struct g *gp, bool next) {
    if (next && atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed) == 1) {
        /* One P: no thief can touch runnext (see runqget), so no CAS. */
        struct g *old = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
        atomic_store_explicit(&pp->runnext, gp, memory_order_release);
        if (old == NULL)
            return false;
        gp = old;
        next = false;
    }
    if (next) {
        struct g *old;
        if (runnext_enter(pp)) {
            /* Read inside the section: a thief may have taken it before. */
            old = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
            /* Release: gp's state to a thief's acquire CAS. */
            atomic_store_explicit(&pp->runnext, gp, memory_order_release);
            runnext_leave(pp);
        } else {
            old = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
            /* The owner CASes because thieves may CAS runnext to NULL. */
            while (!atomic_compare_exchange_weak_explicit(
                &pp->runnext, &old, gp, memory_order_release, memory_order_relaxed))
                ;
        }
        if (old == NULL)
            return false;
        gp = old; /* kick the old runnext out to the regular run queue */
    }
    for (;;) {
        /* Acquire: pairs with the release CAS of consumers on head, so the
         * slot we are about to reuse has been read by them. */
        uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
        uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
        if (t - h < GORT__RUNQ) {
            atomic_store_explicit(&pp->runq[t % GORT__RUNQ], gp, memory_order_relaxed);
            /* Release: makes the slot (and the g's state) visible to
             * consumers, which load tail with acquire. */
            atomic_store_explicit(&pp->runqtail, t + 1, memory_order_release);
            return false;
        }
        if (runqputslow(pp, gp, h, t))
            return true;
    }
}

static void runqput_tail(struct p *pp, struct g *gp) {
    runqput(pp, gp, false);
}

/* Get a g from the local runnable queue.  inherit: it came from runnext and
 * should inherit the time slice.  Runs on pp's owner. */
static struct g *runqget(struct p *pp, bool *inherit) {
    struct g *next = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
    if (next != NULL && atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed) == 1) {
        /* One P: the owner is the only one to touch runnext. */
        atomic_store_explicit(&pp->runnext, NULL, memory_order_relaxed);
        *inherit = true;
        return next;
    }
    /* If there's a runnext, it's the next g to run.  Only the owner sets it
     * non-NULL, so a CAS failure means a thief took it: fall through. */
    if (next != NULL) {
        if (runnext_enter(pp)) {
            /* Read again inside the section: a thief may have taken it. */
            next = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
            atomic_store_explicit(&pp->runnext, NULL, memory_order_relaxed);
            runnext_leave(pp);
        } else if (!atomic_compare_exchange_strong_explicit(
                       &pp->runnext, &next, NULL, memory_order_acquire, memory_order_relaxed)) {
            next = NULL;
        }
        if (next != NULL) {
            *inherit = true;
            return next;
        }
    }
    *inherit = false;
    if (atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed) == 1) {
        /* One P: no thief can exist (stealing needs a P of one's own, and
         * GOMAXPROCS only changes with the world stopped), so the owner is
         * the only consumer and a plain release store commits the take. */
        uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
        if (t == h)
            return NULL;
        struct g *gp = atomic_load_explicit(&pp->runq[h % GORT__RUNQ], memory_order_relaxed);
        atomic_store_explicit(&pp->runqhead, h + 1, memory_order_release);
        return gp;
    }
    for (;;) {
        uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
        uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
        if (t == h)
            return NULL;
        struct g *gp = atomic_load_explicit(&pp->runq[h % GORT__RUNQ], memory_order_relaxed);
        /* Release: commits the consume (Go: CasRel). */
        if (atomic_compare_exchange_weak_explicit(&pp->runqhead, &h, h + 1, memory_order_release,
                                                  memory_order_relaxed))
            return gp;
    }
}

static bool runqempty(struct p *pp) {
    /* Defend against a race where (1) pp has G in runnext but runqhead ==
     * runqtail, (2) runqput kicks G to the runq, (3) runqget clears runnext
     * (proc.go: runqempty). */
    for (;;) {
        uint32_t head = atomic_load_explicit(&pp->runqhead, memory_order_seq_cst);
        uint32_t tail = atomic_load_explicit(&pp->runqtail, memory_order_seq_cst);
        struct g *runnext = atomic_load_explicit(&pp->runnext, memory_order_seq_cst);
        if (tail == atomic_load_explicit(&pp->runqtail, memory_order_seq_cst))
            return head == tail && runnext == NULL;
    }
}

bool gort__p_nothing_else(struct p *pp) {
    int64_t tw = gort__timers_next(pp);
    return runqempty(pp) &&
           atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) == 0 &&
           !atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) &&
           (tw == 0 || tw > gort_nanotime());
}

/* Grabs a batch of goroutines from pp's runnable queue into batch (a ring
 * of GORT__RUNQ starting at batchhead).  Returns the number grabbed.  Can be
 * executed by any P. */
static uint32_t runqgrab(struct p *pp, _Atomic(struct g *) *batch, uint32_t batchhead,
                         bool stealrunnext) {
    for (;;) {
        uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
        /* Acquire: pairs with the owner's release store of tail. */
        uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_acquire);
        uint32_t n = t - h;
        n = n - n / 2;
        if (n == 0) {
            if (stealrunnext) {
                struct g *next = atomic_load_explicit(&pp->runnext, memory_order_acquire);
                if (next != NULL) {
                    if (atomic_load_explicit(&pp->status, memory_order_relaxed) == P_RUNNING) {
                        /* Sleep to ensure that pp isn't about to run the g we
                         * are about to steal.  The important use case here
                         * is when the g running on pp ready()s another g and
                         * then almost immediately blocks (proc.go). */
                        usleep(3);
                    }
                    if (!runnext_steal(pp, next))
                        continue;
                    atomic_store_explicit(&batch[batchhead % GORT__RUNQ], next,
                                          memory_order_relaxed);
                    return 1;
                }
            }
            return 0;
        }
        if (n > GORT__RUNQ / 2)
            continue; /* read inconsistent h and t */
        for (uint32_t i = 0; i < n; i++) {
            struct g *gp =
                atomic_load_explicit(&pp->runq[(h + i) % GORT__RUNQ], memory_order_relaxed);
            atomic_store_explicit(&batch[(batchhead + i) % GORT__RUNQ], gp, memory_order_relaxed);
        }
        if (atomic_compare_exchange_strong_explicit(&pp->runqhead, &h, h + n, memory_order_release,
                                                    memory_order_relaxed))
            return n;
    }
}

/* Steal half of the elements from p2's local runnable queue and put them
 * onto pp's; returns one of the stolen elements or NULL. */
static struct g *runqsteal(struct p *pp, struct p *p2, bool stealrunnext) {
    uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
    uint32_t n = runqgrab(p2, pp->runq, t, stealrunnext);
    if (n == 0)
        return NULL;
    n--;
    struct g *gp = atomic_load_explicit(&pp->runq[(t + n) % GORT__RUNQ], memory_order_relaxed);
    if (n == 0)
        return gp;
    uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
    if (t - h + n >= GORT__RUNQ)
        gort__throw("runqsteal: runq overflow");
    atomic_store_explicit(&pp->runqtail, t + n, memory_order_release);
    return gp;
}

/* Global run queue.  sched.lock held.  The ring always has room for every
 * g of allgs (allgadd grows it first, and fails the spawn with -ENOMEM if
 * it cannot), so queueing never allocates: callers have nobody to report
 * a failure to. */
static int globrunq_grow(uint32_t want) {
    uint32_t old = atomic_load_explicit(&gort__sched.runqcap, memory_order_relaxed);
    if (want <= old)
        return 0;
    uint32_t cap = old ? old : 1024;
    while (cap < want)
        cap *= 2;
    struct g **n = gort__fixalloc(cap * sizeof *n);
    if (n == NULL)
        return -ENOMEM;
    uint32_t size = (uint32_t)atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed);
    for (uint32_t i = 0; i < size; i++)
        n[i] = gort__sched.runq[(gort__sched.runqhd + i) & (old - 1)];
    gort__fixfree(gort__sched.runq);
    gort__sched.runq = n;
    gort__sched.runqhd = 0;
    atomic_store_explicit(&gort__sched.runqcap, cap, memory_order_relaxed);
    return 0;
}

static void globrunq_reserve(uint32_t more) {
    uint32_t size = (uint32_t)atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed);
    if (GORT_UNLIKELY(size + more >
                      atomic_load_explicit(&gort__sched.runqcap, memory_order_relaxed)))
        gort__throw("runtime: global run queue overflow");
}

static inline void globrunq_push(struct g *gp, uint32_t size) {
    uint32_t cap = atomic_load_explicit(&gort__sched.runqcap, memory_order_relaxed);
    gort__sched.runq[(gort__sched.runqhd + size) & (cap - 1)] = gp;
}

static void globrunqput(struct g *gp) {
    globrunq_reserve(1);
    globrunq_push(gp, (uint32_t)atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed));
    atomic_fetch_add_explicit(&gort__sched.runqsize, 1, memory_order_seq_cst);
}

/* A yielder on the global queue (Go's goschedImpl), then an idle P woken
 * to look at it or at the goroutines queued behind busy Ps (Go 1.21's
 * goschedImpl wakep). */
static void globrunqput_wake(struct g *gp) {
    gort__lock(&gort__sched.lock);
    globrunqput(gp);
    gort__unlock(&gort__sched.lock);
    gort__wakep();
}

static void globrunqputhead(struct g *gp) {
    globrunq_reserve(1);
    gort__sched.runqhd = (gort__sched.runqhd - 1) &
                         (atomic_load_explicit(&gort__sched.runqcap, memory_order_relaxed) - 1);
    gort__sched.runq[gort__sched.runqhd] = gp;
    atomic_fetch_add_explicit(&gort__sched.runqsize, 1, memory_order_seq_cst);
}

/* Moves pp's local run queue (runnext first) to the head of the global
 * queue, in order, for a P that goes idle or away.  sched.lock held. */
static void runq_to_global(struct p *pp) {
    bool inh;
    struct g *gs[GORT__RUNQ + 1];
    int n = 0;
    struct g *gp;
    while ((gp = runqget(pp, &inh)) != NULL)
        gs[n++] = gp;
    for (int k = n - 1; k >= 0; k--)
        globrunqputhead(gs[k]);
}

/* Try to get a batch of G's from the global runnable queue.  sched.lock held. */
static struct g *globrunqget(struct p *pp, int32_t max) {
    int32_t size = atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed);
    if (size == 0)
        return NULL;
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    int32_t n = size / procs + 1;
    if (n > size)
        n = size;
    if (max > 0 && n > max)
        n = max;
    if (n > GORT__RUNQ / 2)
        n = GORT__RUNQ / 2;
    /* The rest go to the local queue: no more than fit (runqput's overflow
     * path would take sched.lock, which we hold).  Only the owner adds to
     * it, so the room can only grow meanwhile. */
    uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
    uint32_t room = GORT__RUNQ - (t - h);
    if ((uint32_t)(n - 1) > room)
        n = (int32_t)room + 1;
    /* Take n from the ring's head at once: one update of runqsize. */
    uint32_t cap = atomic_load_explicit(&gort__sched.runqcap, memory_order_relaxed);
    uint32_t hd = gort__sched.runqhd;
    struct g *gp = gort__sched.runq[hd];
    for (int32_t i = 1; i < n; i++)
        atomic_store_explicit(&pp->runq[(t + (uint32_t)i - 1) % GORT__RUNQ],
                              gort__sched.runq[(hd + (uint32_t)i) & (cap - 1)],
                              memory_order_relaxed);
    /* Release: publishes the slots (and the gs) to thieves, as in runqput. */
    atomic_store_explicit(&pp->runqtail, t + (uint32_t)(n - 1), memory_order_release);
    gort__sched.runqhd = (hd + (uint32_t)n) & (cap - 1);
    atomic_fetch_sub_explicit(&gort__sched.runqsize, n, memory_order_seq_cst);
    return gp;
}

/* ------------------------------------------------------------------ idle lists */

/* Put mp on the idle list.  sched.lock held. */
static void mput(struct m *mp) {
    mp->schedlink = gort__sched.midle;
    gort__sched.midle = mp;
    gort__sched.nmidle++;
    checkdead();
}

static struct m *mget(void) {
    struct m *mp = gort__sched.midle;
    if (mp) {
        gort__sched.midle = mp->schedlink;
        gort__sched.nmidle--;
    }
    return mp;
}

/* Put pp on the idle P list.  sched.lock held. */
static void pidleput(struct p *pp) {
    if (!runqempty(pp))
        gort__throw("pidleput: P has non-empty run queue");
    atomic_store_explicit(&pp->status, P_IDLE, memory_order_relaxed);
    pp->link = gort__sched.pidle;
    gort__sched.pidle = pp;
    atomic_fetch_add_explicit(&gort__sched.npidle, 1, memory_order_seq_cst);
}

static struct p *pidleget(void) {
    struct p *pp = gort__sched.pidle;
    if (pp) {
        gort__sched.pidle = pp->link;
        atomic_fetch_sub_explicit(&gort__sched.npidle, 1, memory_order_seq_cst);
    }
    return pp;
}

/* ------------------------------------------------------------------ Ms */

static void mstart0(void *arg);

/* Takes mp, whose thread is gone or going, off allm onto sched.freem,
 * where allocm frees it and its g0 once the thread is done (Go's
 * sched.freem).  Every goroutine that exited locked to its thread left
 * its M and g0 on allm until shutdown: 132 KiB of address space (the g0
 * stack and its guard) and 5 KB resident each.  sched.lock held. */
static void mfree_later(struct m *mp) {
    for (struct m **pm = &gort__sched.allm; *pm != NULL; pm = &(*pm)->alllink) {
        if (*pm == mp) {
            *pm = mp->alllink;
            break;
        }
    }
    mp->freelink = gort__sched.freem;
    gort__sched.freem = mp;
}

/* Frees the Ms on sched.freem whose threads are done; with wait, waits
 * for the others too (shutdown). */
static void freem_reap(bool wait) {
    for (;;) {
        struct m *done = NULL;
        bool left = false;
        gort__lock(&gort__sched.lock);
        for (struct m **pm = &gort__sched.freem; *pm != NULL;) {
            struct m *mp = *pm;
            /* Acquire: pairs with mstart_thread's release store, after
             * which the thread touches neither mp nor its g0. */
            if (atomic_load_explicit(&mp->thread_done, memory_order_acquire)) {
                *pm = mp->freelink;
                mp->freelink = done;
                done = mp;
            } else {
                left = true;
                pm = &mp->freelink;
            }
        }
        gort__unlock(&gort__sched.lock);
        while (done != NULL) {
            struct m *next = done->freelink;
            gfree_g0(done->g0);
            gort__fixfree(done);
            done = next;
        }
        if (!wait || !left)
            return;
        usleep(50);
    }
}

static struct m *allocm(void) {
    freem_reap(false);
    /* Not malloc: an M may be made while the caller holds a runtime lock
     * (wakep under a lock held across goready, lockrank.c's READY;
     * mfixalloc.c). */
    struct m *mp = gort__fixalloc(sizeof *mp);
    if (mp == NULL)
        return NULL;
    mp->g0 = malg((size_t)G0_STACK_SIZE, false);
    if (mp->g0 == NULL) {
        gort__fixfree(mp);
        return NULL;
    }
    mp->g0->m = mp;
    mp->g0->goid = 0;
    atomic_store_explicit(&mp->g0->status, G_RUNNING, memory_order_relaxed);
    mp->g0_top = (void *)(mp->g0->stack.hi & ~(uintptr_t)15);
    gort__lock(&gort__sched.lock);
    mp->id = gort__sched.mnext++;
    mp->alllink = gort__sched.allm;
    gort__sched.allm = mp;
    gort__unlock(&gort__sched.lock);
    return mp;
}

/* Runs on the native stack of a new thread (or of gort_main's thread for
 * m0): installs the thread state and switches to g0. */
static void mstart_native(struct m *mp) {
    gort__tls_m = mp;
    mp->errnop = &errno;
    mp->ehglobals = __cxa_get_globals != NULL ? __cxa_get_globals() : NULL;
    /* The C++ exception state of gort_main's caller (m0), given back when
     * the thread returns to it. */
    void *native_eh[2] = {NULL, NULL};
    if (mp->ehglobals != NULL)
        eh_copy(native_eh, mp->ehglobals);
    /* Before preempt_minit, which takes the mask as the thread's usual
     * one.  m0's thread is the program's: its mask is given back below. */
    sigset_t oldmask;
    gort__minit_sigmask(&oldmask);
    gort__preempt_minit(mp);
    mp->fastrand = (uint64_t)mp->id * 0x9e3779b97f4a7c15ull + (uint64_t)gort_nanotime();
    int serr = mp->sigaltstack == NULL ? gort__minit_signals(mp) : 0; /* m0: done */
    if (serr != 0) {
        /* Go's mpreinit throws when it cannot allocate gsignal: without an
         * alternate stack a stack overflow on this M would die silently. */
        gort__printf("runtime: cannot allocate a signal stack for M%lld (errno %d)\n",
                     (long long)mp->id, -serr);
        gort__throw("out of memory allocating signal stack");
    }
    gort__prof_minit(mp);
    mp->native_tsan_fiber = san_fiber_current();
    struct g *g0 = mp->g0;
    san_switch_begin(&mp->native_fake, (void *)g0->stack.lo, g0->stack.hi - g0->stack.lo,
                     g0->tsan_fiber);
    gort__ctx_mcall(&mp->native_sp, mp->g0_top, mstart0, mp);
    /* Back on the native stack: the M is done (mexit, or m0 at shutdown). */
    san_switch_end(mp->native_fake, NULL, NULL);
    if (mp->ehglobals != NULL)
        eh_copy(mp->ehglobals, native_eh);
    gort__prof_unminit(mp);
    gort__preempt_unminit(mp);
    gort__unminit_signals(mp);
    if (mp->is_m0)
        pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    gort__tls_m = NULL;
}

static void *mstart_thread(void *arg) {
    struct m *mp = arg;
    mstart_native(mp);
    atomic_store_explicit(&mp->thread_done, true, memory_order_release);
    return NULL;
}

/* Leaves g0 for good and returns to the native context of this M's
 * thread.  Runs on g0. */
GORT_NO_TSAN_FRAME static void __attribute__((noreturn)) gotonative(struct m *mp) {
    san_ignore_end(); /* g0's for good ends with it (mstart0) */
    san_switch_begin(NULL, mp->native_bottom, mp->native_size, mp->native_tsan_fiber);
    gort__ctx_jump(mp->native_sp);
}

static TSAN_OUTLINE void mstart0_body(struct m *mp) {
    if (mp->nextp) {
        struct p *pp = mp->nextp;
        mp->nextp = NULL;
        acquirep(mp, pp);
    }
}

GORT_NO_TSAN_FRAME static void mstart0(void *arg) {
    struct m *mp = arg;
    san_switch_end(NULL, &mp->native_bottom, &mp->native_size);
    san_ignore_begin(); /* g0 runs only the runtime: for good (san.h) */
    mstart0_body(mp);
    if (mp->is_m0) /* m0 starts by running the main goroutine directly. */
        execute(mp, gort__sched.gmain, false);
    schedule(mp);
}

#define SYS_THREAD_STACK_MIN ((size_t)1 << 20)

void gort__sys_thread_attr(pthread_attr_t *attr) {
    pthread_attr_init(attr);
    size_t size = 0;
    /* 0 set yet: glibc reports the default a thread would get. */
    if (pthread_attr_getstacksize(attr, &size) != 0 || size < SYS_THREAD_STACK_MIN)
        pthread_attr_setstacksize(attr, SYS_THREAD_STACK_MIN);
}

/* Create a new M that will start with pp (may be NULL) and spinning state.
 * Returns 0 or -errno. */
static int newm(struct p *pp, bool spinning) {
    struct m *mp = allocm();
    if (mp == NULL)
        return -ENOMEM;
    mp->nextp = pp;
    mp->spinning = spinning;
    gort__prof_newm();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* The native stack only runs mstart_native and the thread exit path;
     * goroutines and the scheduler run on their own stacks. */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int r = gort__pthread_create(&mp->thread, &attr, mstart_thread, mp);
    pthread_attr_destroy(&attr);
    gort__lock(&gort__sched.lock);
    if (r != 0) {
        /* Counted as gone; no thread will touch it (released to the next
         * allocm's acquire by sched.lock, which freem_reap takes). */
        gort__sched.nmfreed++;
        atomic_store_explicit(&mp->thread_done, true, memory_order_relaxed);
        mp->exiting = true;
        mfree_later(mp);
    } else {
        mp->thread_started = true;
    }
    atomic_store_explicit(&gort__newm_failing, r != 0, memory_order_relaxed);
    gort__unlock(&gort__sched.lock);
    return r == 0 ? 0 : -r;
}

/* Is a P other than pp running goroutines on an M of its own?  sched.lock
 * held; a snapshot (a P may block just after), good for newm_failed. */
static bool other_p_running(const struct p *pp) {
    int32_t n = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < n; i++) {
        struct p *q = gort__allp[i];
        if (q != pp && atomic_load_explicit(&q->status, memory_order_relaxed) == P_RUNNING)
            return true;
    }
    return false;
}

/* startm could not make a thread for pp (errno err).  Go throws; gort
 * goes on with the Ms it has where it can: pp's queued goroutines move to
 * the global queue (head, in order), where running Ms look, and pp goes
 * idle.  A P handed off (from a blocking call or a locked M) with work
 * queued while no other P runs is the exception: nobody would run that
 * work until some blocking call returns, which may be never, so it is
 * Go's fatal error (newosproc) rather than a silent hang.  A P whose M
 * blocks later comes back here through sysmon's retake. */
static void newm_failed(struct p *pp, bool handoff, bool spinning, int err) {
    gort__lock(&gort__sched.lock);
    bool work =
        !runqempty(pp) || atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) > 0;
    if (handoff && work && !other_p_running(pp)) {
        int64_t mcount = gort__sched.mnext - gort__sched.nmfreed;
        gort__unlock(&gort__sched.lock);
        gort__printf("runtime: failed to create new OS thread (have %lld already; errno=%d)\n",
                     (long long)mcount, err);
        if (err == EAGAIN)
            gort__printf("runtime: may need to increase max user processes (ulimit -u)\n");
        gort__throw("newosproc");
    }
    runq_to_global(pp);
    pidleput(pp);
    gort__unlock(&gort__sched.lock);
    static _Atomic int warned;
    if (!atomic_exchange(&warned, 1))
        gort__printf("runtime: failed to create new OS thread (continuing with fewer)\n");
    if (spinning)
        atomic_fetch_sub_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst);
}

/* Schedules some M to run pp (creates an M if necessary).  If pp == NULL,
 * tries to get an idle P; if none, does nothing.  spinning: the caller
 * incremented nmspinning and the new M starts spinning.
 * As Go's startm, with preemption off (gort__acquirem): from pidleget
 * until the M that gets pp has it, pp belongs to no M that a stop of the
 * world waits for, and the stop counts it as neither idle nor running.
 * A stop that suspended this thread meanwhile (in newm's mmap, inside a
 * goroutine's wakep) waited for ever for pp (test
 * heap.foreign_stops_while_main_returns, one call at a time: 4 runs of 4
 * hung so with gort_read_stats alone, 2 of 4 with gort_gc alone).  A caller
 * that passes pp has no P of its own (it released it) or holds worldsema
 * (start_the_world): no stop suspends it in between. */
static void startm_body(struct p *pp, bool spinning);
static void startm(struct p *pp, bool spinning) {
    gort__acquirem();
    startm_body(pp, spinning);
    gort__releasem();
}

static void startm_body(struct p *pp, bool spinning) {
    bool handoff = pp != NULL;
    gort__lock(&gort__sched.lock);
    if (pp == NULL) {
        pp = pidleget();
        if (pp == NULL) {
            gort__unlock(&gort__sched.lock);
            if (spinning) {
                /* The caller incremented nmspinning, but there are no idle
                 * Ps, so it's okay to just undo the increment and give up. */
                if (atomic_fetch_sub_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst) <=
                    0)
                    gort__throw("startm: negative nmspinning");
            }
            return;
        }
    }
    struct m *nmp = mget();
    if (nmp == NULL) {
        gort__unlock(&gort__sched.lock);
        int err = newm(pp, spinning);
        if (err != 0)
            newm_failed(pp, handoff, spinning, -err);
        return;
    }
    gort__unlock(&gort__sched.lock);
    if (nmp->spinning)
        gort__throw("startm: m is spinning");
    if (nmp->nextp)
        gort__throw("startm: m has p");
    nmp->spinning = spinning;
    nmp->nextp = pp;
    /* Release (in notewakeup): nextp/spinning are visible to the woken M. */
    gort__notewakeup(&nmp->park);
}

/* Takes mp off the idle M list if it is still there.  sched.lock held. */
static bool mremove(struct m *mp) {
    for (struct m **pm = &gort__sched.midle; *pm; pm = &(*pm)->schedlink) {
        if (*pm == mp) {
            *pm = mp->schedlink;
            gort__sched.nmidle--;
            return true;
        }
    }
    return false;
}

static bool poller_missing(void);

/* Hands off P from a syscall or locked M.  Always runs without a P. */
static void handoffp(struct p *pp) {
    /* If it has local work or there is global work, start it straight away. */
    if (!runqempty(pp) || atomic_load_explicit(&gort__sched.runqsize, memory_order_seq_cst) != 0) {
        startm(pp, false);
        return;
    }
    /* No local work: if there are no spinning/idle Ms, we need one
     * (there can be more work to do, and no one else is looking). */
    if (atomic_load_explicit(&gort__sched.nmspinning, memory_order_seq_cst) +
            atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst) ==
        0) {
        int32_t zero = 0;
        if (atomic_compare_exchange_strong(&gort__sched.nmspinning, &zero, 1)) {
            startm(pp, true);
            return;
        }
    }
    gort__lock(&gort__sched.lock);
    if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed)) {
        atomic_store_explicit(&pp->status, P_GCSTOP, memory_order_relaxed);
        gort__sched.stopwait--;
        if (gort__sched.stopwait == 0)
            gort__notewakeup(&gort__sched.stopnote);
        gort__unlock(&gort__sched.lock);
        return;
    }
    if (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) != 0) {
        gort__unlock(&gort__sched.lock);
        startm(pp, false);
        return;
    }
    /* The last running P goes idle while goroutines wait for I/O and no M
     * polls (Go's handoffp: "nobody is polling network"): start an M to
     * poll.  The M going idle here does not poll (a locked M waits for its
     * goroutine; one in a blocking call is in it), an idle M may only nap
     * (become_poller), and checkdead would see every M idle. */
    if (atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst) ==
            atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed) - 1 &&
        poller_missing()) {
        gort__unlock(&gort__sched.lock);
        startm(pp, false);
        return;
    }
    /* The P goes idle with its timers: make sure some M will run them
     * (Go: wakeNetPoller(nobarrierWakeTime(pp))). */
    int64_t when = gort__timers_next(pp);
    pidleput(pp);
    gort__unlock(&gort__sched.lock);
    if (when != 0)
        gort__timer_wake(when, false);
}

/* Tries to add one more P to execute G's.  Called when a G is made runnable. */
void gort__wakep(void) {
    if (atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst) == 0)
        return;
    /* Be conservative about spinning threads: only one at a time here. */
    if (atomic_load_explicit(&gort__sched.nmspinning, memory_order_seq_cst) != 0)
        return;
    int32_t zero = 0;
    if (!atomic_compare_exchange_strong_explicit(&gort__sched.nmspinning, &zero, 1,
                                                 memory_order_seq_cst, memory_order_relaxed))
        return;
    startm(NULL, true);
}

/* Stops execution of the current m until new work is available, or for at
 * most ns (ns < 0: no limit; a finite ns is the nap, see become_poller).  Returns
 * true with an acquired P (or none when the runtime is exiting); false if
 * the time ran out with nobody starting us (then mp has no P and is off the
 * idle list). */
static bool stopm_for(struct m *mp, int64_t ns) {
    if (mp->p)
        gort__throw("stopm holding p");
    if (mp->spinning)
        gort__throw("stopm spinning");
    gort__lock(&gort__sched.lock);
    if (atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed)) {
        gort__unlock(&gort__sched.lock);
        return true;
    }
    mp->blocked = true;
    mput(mp);
    gort__unlock(&gort__sched.lock);
    if (!gort__notetsleep(&mp->park, ns)) {
        gort__lock(&gort__sched.lock);
        bool idle = mremove(mp);
        gort__unlock(&gort__sched.lock);
        if (idle) {
            mp->blocked = false;
            return false;
        }
        /* startm took us off the list: its notewakeup is on the way. */
        gort__notesleep(&mp->park);
    }
    gort__noteclear(&mp->park);
    mp->blocked = false;
    if (mp->nextp) {
        struct p *pp = mp->nextp;
        mp->nextp = NULL;
        acquirep(mp, pp);
    }
    return true;
}

static void stopm(struct m *mp) {
    (void)stopm_for(mp, -1);
}

static void acquirep(struct m *mp, struct p *pp) {
    if (mp->p != NULL || pp->m != NULL) {
        gort__printf("runtime: acquirep: m%lld p=%p pp->m=%p status=%u\n", (long long)mp->id,
                     (void *)mp->p, (void *)pp->m, atomic_load(&pp->status));
        gort__throw("acquirep: invalid p state");
    }
    mp->p = pp;
    pp->m = mp;
    atomic_store_explicit(&pp->status, P_RUNNING, memory_order_relaxed);
}

static struct p *releasep(struct m *mp) {
    struct p *pp = mp->p;
    if (pp == NULL || pp->m != mp)
        gort__throw("releasep: invalid p state");
    GORT_TRACE(gort__trace_procstop(mp));
    pp->m = NULL;
    mp->p = NULL;
    atomic_store_explicit(&pp->runningg, NULL, memory_order_relaxed);
    atomic_store_explicit(&pp->status, P_IDLE, memory_order_relaxed);
    return pp;
}

/* Stops the current m for stopTheWorld.  Returns when the world is restarted. */
static void gcstopm(struct m *mp) {
    if (mp->spinning) {
        mp->spinning = false;
        if (atomic_fetch_sub_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst) <= 0)
            gort__throw("gcstopm: negative nmspinning");
    }
    struct p *pp = releasep(mp);
    gort__lock(&gort__sched.lock);
    atomic_store_explicit(&pp->status, P_GCSTOP, memory_order_relaxed);
    gort__sched.stopwait--;
    if (gort__sched.stopwait == 0)
        gort__notewakeup(&gort__sched.stopnote);
    gort__unlock(&gort__sched.lock);
    stopm(mp);
}

/* Stops execution of the current m that is locked to a g until the g is
 * runnable again.  Returns with an acquired P.  As Go's, the M counts
 * itself idle-locked here and startlockedm, which hands it a P, takes it
 * off that count, before the M is even awake: checkdead, run by the Ms
 * going idle meanwhile, must not count it asleep then. */
static void stoplockedm(struct m *mp) {
    if (mp->p) {
        struct p *pp = releasep(mp);
        handoffp(pp);
    }
    gort__lock(&gort__sched.lock);
    if (atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed)) {
        gort__unlock(&gort__sched.lock);
        return;
    }
    gort__sched.nmidlelocked++;
    /* Still false if startlockedm came first (it will not be asleep
     * long): only a sleeper is left for begin_exit to wake. */
    mp->lockedidle = mp->nextp == NULL;
    checkdead();
    gort__unlock(&gort__sched.lock);
    gort__notesleep(&mp->park);
    gort__noteclear(&mp->park);
    if (mp->nextp) {
        struct p *pp = mp->nextp;
        mp->nextp = NULL;
        acquirep(mp, pp);
    }
}

/* Schedules the locked m to run the locked gp.  Runs on g0 of another M,
 * which then stops. */
static void startlockedm(struct m *mp, struct g *gp) {
    struct m *lm = gp->lockedm;
    if (lm == mp)
        gort__throw("startlockedm: locked to me");
    if (lm->nextp)
        gort__throw("startlockedm: m has p");
    /* Directly hand off the current P to the locked m. */
    struct p *pp = releasep(mp);
    gort__lock(&gort__sched.lock);
    /* sched.lock orders nextp before stoplockedm's look at it. */
    lm->nextp = pp;
    /* lm runs from now on (Go's incidlelocked(-1)); the count dips below
     * zero for a moment when lm has not counted itself yet. */
    gort__sched.nmidlelocked--;
    lm->lockedidle = false;
    /* Once exiting is set, begin_exit may have woken lm already (it wakes
     * every idle locked M, without a P): then a second wakeup is no error.
     * Otherwise lm may not be asleep yet (it is between handing off its P
     * and notesleep): the note is one-shot, so the wakeup is not lost.
     * Release (in either wakeup): nextp is visible to lm. */
    if (atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed)) {
        gort__notewakeup_idempotent(&lm->park);
        gort__unlock(&gort__sched.lock);
    } else {
        gort__unlock(&gort__sched.lock);
        gort__notewakeup(&lm->park);
    }
    stopm(mp);
}

/* ------------------------------------------------------------------ scheduling */

static void resetspinning(struct m *mp) {
    mp->spinning = false;
    int32_t n = atomic_fetch_sub_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst) - 1;
    if (n < 0)
        gort__throw("resetspinning: negative nmspinning");
    /* M wakeup policy is deliberately somewhat conservative, so check if we
     * need to wakeup another P here. */
    gort__wakep();
}

/* Coprime stepping through all Ps in random order (proc.go randomOrder). */
static uint32_t coprimes[GORT_MAX_PROCS];
static uint32_t ncoprimes;

static uint32_t gcd(uint32_t a, uint32_t b) {
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void reset_order(uint32_t procs) {
    ncoprimes = 0;
    for (uint32_t i = 1; i <= procs; i++)
        if (gcd(i, procs) == 1)
            coprimes[ncoprimes++] = i;
}

/* ------------------------------------------------------------------ the poller */

/*
 * The poller: Go's M blocked in netpoll(delay).  An
 * M that finds no work while timers are pending or goroutines wait for I/O
 * becomes the one poller: it blocks in epoll_wait (netpoll_epoll.c), holding no
 * P and not on the idle M list, until the earliest deadline of all Ps or
 * until an fd is ready; then it takes an idle P, puts the goroutines the
 * poll readied on it and spins (which runs the due timers of every P, see
 * stealwork).  Other idle Ms sleep in stopm on futexes, as in Go.  Adding
 * a timer earlier than the poller's deadline wakes it through the eventfd
 * (gort__timer_wake, Go's wakeNetPoller -> netpollBreak); sysmon wakes an M
 * for timers that are overdue (a backstop, as Go's sysmon does with
 * timeSleepUntil) and polls the network itself when nobody has for 10 ms.
 *
 * Lost-wakeup argument (Dekker, seq_cst on both sides): the poller stores
 * poller_until (MAXWHEN: "about to sleep") and then loads every P's
 * earliest deadline; an adder stores its P's earliest deadline (time.c
 * update_when0) and then loads poller_until.  Either the poller sees the
 * new timer, or the adder sees the poller and wakes it.  An adder that
 * sees no poller and runs on a P leaves the timer to that P: its M runs it
 * in schedule(), or sees it here when it goes idle.
 *
 * The poll is broken at most once per poller: wakers break it only if
 * poller_woken is clear and set it, under poller_lock; the next poller
 * clears it when it registers.  (A second break would cost the next poll
 * a spurious return.)
 */
static gort__rtlock poller_lock = GORT__RTLOCK_INIT(LOCKRANK_POLLER);
static struct m *poller_m;           /* [poller_lock] the polling M, or NULL */
static bool poller_woken;            /* [poller_lock] the poll was broken */
static _Atomic int64_t poller_until; /* [atomic; write under poller_lock] 0: no poller */

#define POLLER_MAXWHEN INT64_MAX

/* Goroutines wait for I/O and no M is in (or about to enter) the poll.
 * seq_cst: a poller stores poller_until before it polls; a waiter that
 * parks after our look at the count finds no poller and wakes an M
 * itself (netpoll.c). */
static bool poller_missing(void) {
    return atomic_load_explicit(&poller_until, memory_order_seq_cst) == 0 &&
           gort__netpoll_waiters() > 0;
}

/* Wakes the poller if it sleeps past when.  poller_lock held. */
static void poller_wake_locked(int64_t when) {
    if (poller_m != NULL && !poller_woken &&
        atomic_load_explicit(&poller_until, memory_order_relaxed) > when) {
        poller_woken = true;
        /* The eventfd write (a syscall) orders our earlier stores before
         * the poller's return from epoll_wait. */
        gort__netpoll_break();
    }
}

static void sysmon_timer_kick(void);

void gort__timer_wake(int64_t when, bool has_p) {
    /* seq_cst: the adder's side of the Dekker pair described above. */
    int64_t u = atomic_load_explicit(&poller_until, memory_order_seq_cst);
    if (u == 0) {
        /* Nobody sleeps on timers: get an M to look, unless our own P will
         * (Go's wakeNetPoller calls wakep). */
        if (!has_p)
            gort__wakep();
        else if (atomic_load_explicit(&gort__sched.npidle, memory_order_relaxed) == 0)
            sysmon_timer_kick(); /* our P may be busy for long: see sysmon */
        return;
    }
    if (when >= u)
        return;
    gort__lock(&poller_lock);
    poller_wake_locked(when);
    gort__unlock(&poller_lock);
}

static void injectglist(struct m *mp, struct g *list);

/*
 * The nap.  A poller blocked in epoll_wait while another M runs goroutines
 * is woken by every arrival, for work the running M would take at its next
 * netpoll(0) (findrunnable) a few microseconds later: on a machine whose
 * other cores are busy (a load generator on 2 cores) the woken M lands on
 * a busy core, and each wake-up costs the sender too.  So with no timers
 * pending (the poller is then only the I/O poller), an M that goes idle
 * while some P is P_RUNNING does not poll: it naps on its note, on the
 * idle M list like any stopped M (startm takes it), for at most
 * NAP_NS, and then naps again only if the network was polled in the
 * last NAP_NS (sched.lastpoll); else it polls.  The last M to go idle
 * finds no P running and polls, as before.  The cost: a goroutine made
 * ready by I/O while every running M is busy in long goroutines waits up
 * to about 2 * NAP_NS for an idle P (Go's blocked poller would take
 * one at once; sysmon's backstop alone would be 10 to 20 ms).  A P in a
 * blocking call (P_SYSCALL) does not count as running.
 */
#define NAP_NS (1000 * 1000) /* ns */

/* True if a P is running goroutines (its M will poll when it runs out). */
static bool others_running(void) {
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    bool r = false;
    /* Under sched.lock, which pidleput holds to mark a P idle: of two Ms
     * going idle at once, the second sees the first's P idle, and polls. */
    gort__lock(&gort__sched.lock);
    for (int32_t i = 0; i < procs && !r; i++) {
        struct p *p2 = gort__allp[i];
        r = p2 && atomic_load_explicit(&p2->status, memory_order_relaxed) == P_RUNNING;
    }
    gort__unlock(&gort__sched.lock);
    return r;
}

/*
 * The poll spin (not in Go): before blocking in epoll_wait, the poller
 * polls without blocking for up to GORTDEBUG=pollspin us (10 by default).
 * A server between requests is idle for a few microseconds at a time;
 * blocked, each arrival costs the sender a wake-up (try_to_wake_up, and an
 * IPI when this core went idle) and this thread a context switch, which
 * on a machine whose other cores run the load generator comes out of the
 * generator's time: redis-benchmark against examples/kvstore, 2 cores,
 * made ~8% more requests per second with the spin.  An idle program pays
 * one spin per transition to idle.  Ends early when the poll is broken (a
 * timer added earlier than ours, an exit: the blocking poll that follows
 * then returns at once and drains the break) or the earliest timer
 * changed.  Returns the goroutines the spin readied, or NULL with *delay
 * recomputed for the remaining wait.
 */
static struct g *pollspin(int64_t until, int64_t *delay) {
    int64_t now = gort_nanotime();
    int64_t end = now + gort__pollspin_ns;
    bool broke = false;
    struct g *list = NULL;
    for (;;) {
        list = gort__netpoll_ex(0, &broke);
        if (list != NULL || broke)
            break;
        now = gort_nanotime();
        if (now >= end || gort__timers_earliest() != until)
            break;
    }
    if (list == NULL && until != 0)
        *delay = until > now ? until - now : 0;
    return list;
}

/* Called by an M without a P and without work, after its last checks:
 * if timers are pending or goroutines wait for I/O, and no M polls yet,
 * polls until the earliest deadline or an fd is ready, then tries to take
 * an idle P.  Returns true with a P acquired and, in *gpp, the first
 * goroutine the poll readied, to run now; or with *gpp NULL, spinning, to
 * run the timers' work; false with *nap set: the caller naps (see the
 * nap; *nap is true on entry after a nap that ran out); false: the caller
 * stops as usual
 * (the readied goroutines, if any, went to the global queue). */
static bool become_poller(struct m *mp, struct g **gpp, bool *nap) {
    /* seq_cst loads, after our seq_cst decrement of nmspinning: see the
     * argument above; no timers and no I/O waiters: nothing to wait for.
     * An I/O waiter that parks after our load finds no poller (poller_m
     * is set only below) and wakes an M itself (netpoll.c). */
    int64_t w = gort__timers_earliest();
    if (w == 0 && gort__netpoll_waiters() == 0)
        return false;
    if (w == 0 && others_running() &&
        (!*nap ||
         gort_nanotime() - atomic_load_explicit(&gort__sched.lastpoll, memory_order_relaxed) <
             NAP_NS)) {
        *nap = true; /* see the nap, above */
        return false;
    }
    *nap = false;
    gort__lock(&poller_lock);
    if (poller_m != NULL) {
        /* Someone polls already: make sure it wakes for our timers. */
        if (w != 0)
            poller_wake_locked(w);
        gort__unlock(&poller_lock);
        return false;
    }
    poller_m = mp;
    poller_woken = false;
    /* seq_cst: the poller's side of the Dekker pair. */
    atomic_store_explicit(&poller_until, POLLER_MAXWHEN, memory_order_seq_cst);
    gort__unlock(&poller_lock);
    int64_t until = gort__timers_earliest();
    struct g *list = NULL;
    if (until != 0 || gort__netpoll_waiters() != 0) {
        if (until != 0)
            atomic_store_explicit(&poller_until, until, memory_order_seq_cst);
        int64_t delay = -1; /* no timer: until an fd is ready or a break */
        if (until != 0) {
            delay = until - gort_nanotime();
            if (delay < 0)
                delay = 0;
        }
        if (!atomic_load_explicit(&gort__sched.exiting, memory_order_acquire)) {
            if (delay != 0 && gort__pollspin_ns > 0)
                list = pollspin(until, &delay);
            if (list == NULL)
                list = gort__netpoll(delay);
        }
    }
    gort__lock(&poller_lock);
    poller_m = NULL;
    atomic_store_explicit(&poller_until, 0, memory_order_seq_cst);
    gort__unlock(&poller_lock);
    /* Take an idle P to run the timers and the readied goroutines (Go:
     * pidleget after netpoll), even when the poll brought nothing (a break,
     * EINTR): as Go's findRunnable goes back to top then, so that an M
     * polls again while I/O waiters remain.  Stopping here instead left no
     * poller, and checkdead saw every M idle: "all goroutines are asleep"
     * with goroutines in IO wait (e2e.httpd.keep_alive, dev preset).  With
     * none, every P is busy: the readied go to the global queue, timers run
     * in the busy Ps' schedule(). */
    gort__lock(&gort__sched.lock);
    struct p *pp = NULL;
    if (!atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) &&
        !atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed))
        pp = pidleget();
    gort__unlock(&gort__sched.lock);
    if (pp == NULL) {
        injectglist(mp, list);
        return false;
    }
    acquirep(mp, pp);
    /* As Go's findRunnable after netpoll(delay): with goroutines readied,
     * run them as a non-spinning M (injectglist starts Ms for the other
     * idle Ps); with none, look for work as a spinning M (every P's timers,
     * stealing).  Spinning with a list made every poll wake another M
     * (resetspinning -> wakep) that mostly found nothing: on a 2-core
     * machine with redis-benchmark, 0.1 context switches per request. */
    if (list == NULL) {
        mp->spinning = true;
        atomic_fetch_add_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst);
    } else {
        /* The first is ours (Go: gp := list.pop()), not queued where a
         * spinning M would steal it: only the others count against the
         * idle Ps in injectglist, which otherwise started an M for a lone
         * goroutine this M then ran. */
        *gpp = list;
        list = list->schedlink;
        GORT_TRACE(gort__trace_gounblock(*gpp));
        atomic_store_explicit(&(*gpp)->status, G_RUNNABLE, memory_order_relaxed);
    }
    injectglist(mp, list);
    return true;
}

void gort__netpoll_kick(void) {
    /* seq_cst: after the waiter count's seq_cst increment; a poller that
     * registered after our load read the count after its seq_cst store of
     * poller_until, and so sees the waiter. */
    if (atomic_load_explicit(&poller_until, memory_order_seq_cst) != 0)
        return;
    if (GORT_LIKELY(gort__getm_entry() != NULL)) {
        gort__wakep();
        return;
    }
    /* A thread outside the runtime parking on an fd (its wait's commit):
     * counted while its wakep may start an M, and none once shutdown has
     * begun (a new M then outlived the joins; gort__netpoll_fini wakes the
     * thread instead). */
    if (gort__foreign_enter(true)) {
        gort__wakep();
        gort__foreign_unpin();
    }
}

/* Go's injectglist: makes the goroutines of list (linked through
 * schedlink, parked, readied by netpoll) runnable.  Without a P, all go to
 * the global queue and as many idle Ps are started.  With one, as many go
 * to the global queue as there are idle Ps (which are started), the rest
 * to our local queue. */
static void injectglist(struct m *mp, struct g *list) {
    if (list == NULL)
        return;
    int32_t n = 0;
    struct p *pp = mp ? mp->p : NULL;
    if (pp == NULL)
        gort__trace_pless_enter(); /* not stopped by a trace's start: see trace.h */
    for (struct g *gp = list; gp; gp = gp->schedlink) {
        GORT_TRACE(gort__trace_gounblock(gp));
        atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
        n++;
    }
    if (pp == NULL)
        gort__trace_pless_exit();
    int32_t nglob = n;
    if (pp != NULL) {
        int32_t npidle = atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst);
        nglob = npidle < n ? npidle : n;
    }
    if (nglob > 0) {
        gort__lock(&gort__sched.lock);
        for (int32_t i = 0; i < nglob; i++) {
            struct g *gp = list;
            list = gp->schedlink;
            globrunqput(gp);
        }
        gort__unlock(&gort__sched.lock);
        for (int32_t i = 0;
             i < nglob && atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst) > 0; i++)
            startm(NULL, false);
    }
    while (list) {
        struct g *gp = list;
        list = gp->schedlink;
        runqput(pp, gp, false);
    }
}

/*
 * The busy poll (not in Go).  A P whose run queues never run dry never
 * reaches findrunnable's netpoll(0), and with every P busy no M blocks in
 * the poll (the poller that finds no idle P queues what it got and
 * stops): a goroutine readied by I/O then waits for sysmon's poll, every
 * 10 to 20 ms, each time.  The os/signal loop reads its wake-up pipe in
 * the netpoller: 2,000 signals to a program whose goroutines compute and
 * gort_yield on every P took 40 to 60 s (signal.delivery_under_load_counted,
 * past its timeout under a loaded test run).  So every GLOBRUNQ_TICK-th
 * round of schedule() also polls without blocking (gort_yield takes the
 * slow way for it: its fast path skips schedule()), if nobody polled in the
 * last NAP_NS and no M is blocked in the poll (it gets the events).  The
 * cost: a clock read per 61 rounds while goroutines wait for I/O, an
 * epoll_wait(0) at most once per NAP_NS per P.  Concurrent polls are safe
 * (findrunnable's, sysmon's): each event is taken once.
 */
static bool poll_due(void) {
    return gort__netpoll_waiters() != 0 &&
           atomic_load_explicit(&poller_until, memory_order_relaxed) == 0 &&
           gort_nanotime() - atomic_load_explicit(&gort__sched.lastpoll, memory_order_relaxed) >=
               NAP_NS;
}

static void poll_busy(struct m *mp) {
    if (poll_due())
        injectglist(mp, gort__netpoll(0));
}

/* At exit: wake the poller so that it leaves. */
static void poller_break(void) {
    gort__lock(&poller_lock);
    poller_wake_locked(INT64_MIN);
    gort__unlock(&poller_lock);
}

/* Steals a goroutine from another P; in the last round, also runs the due
 * timers of every other P, idle ones included (Go's stealWork).  The poller
 * finds the earliest deadline left by itself (gort__timers_earliest). */
static struct g *stealwork(struct p *pp, bool *inherit, int64_t *now) {
    const int stealtries = 4;
    uint32_t procs = (uint32_t)atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int i = 0; i < stealtries; i++) {
        bool stealrunnext = i == stealtries - 1;
        uint32_t pos = gort__fastrandn(procs);
        uint32_t inc = coprimes[gort__fastrandn(ncoprimes)];
        for (uint32_t c = 0; c < procs; c++, pos = (pos + inc) % procs) {
            if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed))
                return NULL;
            struct p *p2 = gort__allp[pos];
            if (p2 == pp)
                continue;
            if (stealrunnext) {
                /* Run p2's due timers (Go: checkTimers(p2, now)). */
                if (gort__checktimers(p2, now)) {
                    /* Running the timers may have made goroutines ready on
                     * our local run queue. */
                    struct g *gp = runqget(pp, inherit);
                    if (gp)
                        return gp;
                }
            }
            if (atomic_load_explicit(&p2->status, memory_order_relaxed) == P_IDLE)
                continue;
            struct g *gp = runqsteal(pp, p2, stealrunnext);
            if (gp) {
                GORT_COUNTER_INC(pp->nsteal);
                *inherit = false;
                return gp;
            }
        }
    }
    return NULL;
}

/* True if any P's run queue holds a g (seq_cst loads: the spinning
 * protocol's). */
static bool any_p_runq_work(int32_t procs) {
    for (int32_t i = 0; i < procs; i++) {
        struct p *p2 = gort__allp[i];
        if (p2 && !runqempty(p2))
            return true;
    }
    return false;
}

/* The same, or the global queue. */
static bool any_runq_work(int32_t procs) {
    return atomic_load_explicit(&gort__sched.runqsize, memory_order_seq_cst) != 0 ||
           any_p_runq_work(procs);
}

/* For an M with no P that saw work: takes an idle P and spins, to look
 * for that work from findrunnable's top.  False if every P is busy (their
 * Ms find the work). */
static bool take_idle_p_spinning(struct m *mp) {
    gort__lock(&gort__sched.lock);
    struct p *pp = pidleget();
    gort__unlock(&gort__sched.lock);
    if (pp == NULL)
        return false;
    acquirep(mp, pp);
    mp->spinning = true;
    atomic_fetch_add_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst);
    return true;
}

/* Pays the spinner's debt (above runnext_visible) for an M with no P
 * that is about to sleep for long: membarrier, then the look that the
 * call makes certain.  True if there is work and the M took an idle P to
 * look for it, spinning (as the last look of findrunnable does). */
static bool visible_pay_idle(struct m *mp) {
    mp->owes_visible = false;
    runnext_visible();
    return any_runq_work(atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed)) &&
           take_idle_p_spinning(mp);
}

/* Whether an M that owes the call may first sleep VISIBLE_NS: not when
 * it may have to poll the network, or run a timer due within about that
 * time, as the poller (become_poller), which the sleep would delay; such
 * an M pays at once.  An M blocked in the poll already wakes for both.
 * Relaxed: a stale answer costs at most one such delay. */
static bool visible_may_wait(void) {
    if (atomic_load_explicit(&poller_until, memory_order_relaxed) != 0)
        return true;
    int64_t w = gort__timers_earliest();
    if (w != 0 && w - gort_nanotime() < 2 * VISIBLE_NS)
        return false;
    return gort__netpoll_waiters() == 0;
}

/* Settles the debt of an M about to run a goroutine.  It is passed on,
 * not paid, when no P is idle or an M spins (seq_cst loads, the spinning
 * protocol's): what the debt guards against is an idle P beside the g,
 * and a P idled from now on is idled by an M that stops spinning (and
 * owes the same debt, which covers every store made before its
 * decrement of nmspinning), or that does not look because an M spins
 * (handoffp, findrunnable), which will.  Otherwise the call (on the way
 * to the goroutine), then any work wakes an M for the idle Ps
 * (gort__wakep). */
static void visible_pay_running(struct m *mp) {
    mp->owes_visible = false;
    if (atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst) == 0 ||
        atomic_load_explicit(&gort__sched.nmspinning, memory_order_seq_cst) != 0)
        return;
    runnext_visible();
    if (any_runq_work(atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed)))
        gort__wakep();
}

/* Finds a runnable goroutine to execute.  Tries to steal from other P's,
 * get g from local or global queue.  Blocks until one is found.  Returns
 * NULL only when the runtime is exiting or a stop-the-world needs this M. */
static struct g *findrunnable(struct m *mp, bool *inherit) {
top:;
    struct p *pp = mp->p;
    if (pp == NULL)
        return NULL;
    if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) ||
        atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed))
        return NULL;

    /* Run this P's due timers (Go: checkTimers(pp, 0)). */
    int64_t now = 0;
    gort__checktimers(pp, &now);

    /* local runq */
    struct g *gp = runqget(pp, inherit);
    if (gp)
        return gp;
    /* global runq */
    if (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) != 0) {
        gort__lock(&gort__sched.lock);
        gp = globrunqget(pp, 0);
        gort__unlock(&gort__sched.lock);
        if (gp) {
            *inherit = false;
            return gp;
        }
    }

    /* Poll network (Go: netpoll(0) before stealing), unless an M is
     * blocked in it already (it gets the events). */
    if (gort__netpoll_waiters() > 0 &&
        atomic_load_explicit(&poller_until, memory_order_relaxed) == 0) {
        struct g *list = gort__netpoll(0);
        if (list) {
            gp = list;
            injectglist(mp, list->schedlink);
            GORT_TRACE(gort__trace_gounblock(gp));
            atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
            *inherit = false;
            return gp;
        }
    }

    /* Spinning Ms: steal work from other Ps.  Limit the number of spinning
     * Ms to half the number of busy Ps, to prevent excessive CPU consumption
     * when GOMAXPROCS>>1 but the program parallelism is low. */
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    if (mp->spinning ||
        2 * atomic_load_explicit(&gort__sched.nmspinning, memory_order_seq_cst) <
            procs - atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst)) {
        if (!mp->spinning) {
            mp->spinning = true;
            atomic_fetch_add_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst);
        }
        gp = stealwork(pp, inherit, &now);
        if (gp)
            return gp;
        if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed))
            return NULL;
    }

    /* Give our P back: under sched.lock, unless a stop or the exit needs
     * this M, or the global queue got work meanwhile (Go also snapshots
     * allp here; gort's allp only changes while the world is stopped, and
     * a stop is checked first). */
    gort__lock(&gort__sched.lock);
    if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) ||
        atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed)) {
        gort__unlock(&gort__sched.lock);
        return NULL;
    }
    if (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) != 0) {
        gp = globrunqget(pp, 0);
        gort__unlock(&gort__sched.lock);
        *inherit = false;
        return gp;
    }
    if (releasep(mp) != pp)
        gort__throw("findrunnable: wrong p");
    pidleput(pp);
    gort__unlock(&gort__sched.lock);

    /* Delicate dance: thread transitions from spinning to non-spinning
     * state, potentially concurrently with submission of new work.  We must
     * drop nmspinning first and then check all sources again (with a seq_cst
     * fence in between).  If we do it the other way around, another thread
     * can submit work after we've checked all sources but before we drop
     * nmspinning; as a result nobody will unpark a thread to run the work. */
    if (mp->spinning) {
        mp->spinning = false;
        if (atomic_fetch_sub_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst) <= 0)
            gort__throw("findrunnable: negative nmspinning");
        /* The spinner's debt (above runnext_visible): the looks below may
         * miss a g in runnext still in a submitter's store buffer.  Paid
         * at once by an M that ran a goroutine since it last stopped
         * spinning, deferred by one that found nothing to run since. */
        if (mp->spun_idle)
            mp->owes_visible = runnext_asym;
        else
            runnext_visible();
        mp->spun_idle = true;
        /* Check the global queue again: a submitter that saw us spinning
         * (and so did not wake anyone) may have queued there after our check
         * under the lock (proc.go, "Check global and P runqueues again"). */
        if (atomic_load_explicit(&gort__sched.runqsize, memory_order_seq_cst) != 0) {
            gort__lock(&gort__sched.lock);
            if (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) != 0) {
                pp = pidleget();
                if (pp) {
                    struct g *g2 = globrunqget(pp, 0);
                    gort__unlock(&gort__sched.lock);
                    acquirep(mp, pp);
                    mp->spinning = true;
                    atomic_fetch_add_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst);
                    *inherit = false;
                    return g2;
                }
            }
            gort__unlock(&gort__sched.lock);
        }
        /* Check all runqueues once again. */
        if (any_p_runq_work(procs) && take_idle_p_spinning(mp))
            goto top;
    }
    /* No work: poll until the earliest timer or I/O if nobody else does
     * (Go blocks in netpoll(pollUntil - now) here). */
    bool nap = false;
    for (;;) {
        if (mp->owes_visible) {
            if (visible_may_wait() && stopm_for(mp, VISIBLE_NS))
                goto top;
            if (visible_pay_idle(mp))
                goto top;
        }
        struct g *polled = NULL;
        if (become_poller(mp, &polled, &nap)) {
            if (polled != NULL) {
                *inherit = false;
                return polled;
            }
            goto top;
        }
        if (!nap) {
            stopm(mp);
            goto top;
        }
        if (stopm_for(mp, NAP_NS))
            goto top;
        /* Nobody started us: poll unless somebody did lately. */
    }
}

/* gp reaches a cooperative scheduling point (the stall detector's clock,
 * see struct g): not when it resumes from an asynchronous preemption.
 * Relaxed: only gp's M writes it; sysmon's racy read is at worst one of
 * its rounds late. */
static inline void coop_tick(struct g *gp) {
    if (GORT_LIKELY(!gp->asyncresume))
        atomic_store_explicit(&gp->coopticks,
                              atomic_load_explicit(&gp->coopticks, memory_order_relaxed) + 1,
                              memory_order_relaxed);
}

/* Schedules gp to run on the current M.  Never returns.  Runs on g0. */
static TSAN_OUTLINE void execute_body(struct m *mp, struct g *gp, bool inherit) {
    struct p *pp = mp->p;
    GORT_TRACE(gort__trace_gostart(mp, gp));
    mp->curg = gp;
    gp->m = mp;
    atomic_store_explicit(&gp->status, G_RUNNING, memory_order_relaxed);
    atomic_store_explicit(&gp->preempt, false, memory_order_relaxed);
    if (!inherit)
        GORT_COUNTER_INC(pp->schedtick);
    coop_tick(gp);
    /* Release: pairs with sysmon's acquire load (retake), which then
     * writes gp->preempt. */
    atomic_store_explicit(&pp->runningg, gp, memory_order_release);
    GORT_COUNTER_INC(pp->nswitch);
}

GORT_HOT_ALIGN GORT_NO_TSAN_FRAME static void execute(struct m *mp, struct g *gp, bool inherit) {
    execute_body(mp, gp, inherit);
    san_switch_begin(NULL, (void *)gp->stack.lo, gp->stack.hi - gp->stack.lo, gp->tsan_fiber);
    if (gp->ctx.sp != NULL)
        gort__ctx_jump(gp->ctx.sp);
    gort__ctx_jump_fresh((void *)gp->stack.hi, goentry, gp);
}

/* Stops this M for good when the runtime is exiting.  Runs on g0. */
static TSAN_OUTLINE void exit_m_body(struct m *mp) {
    if (mp->spinning) {
        mp->spinning = false;
        atomic_fetch_sub_explicit(&gort__sched.nmspinning, 1, memory_order_seq_cst);
    }
    /* Its P must not leave with it: a goroutine still running when main
     * returned (one collecting, say) may stop the world, which waits for
     * every P.  Under sched.lock, as stop_the_world counts: a stop under
     * way counts it stopped here (as gcstopm); a later one takes it from
     * the idle list.  Its run queue is left as it is (nothing runs after
     * exit: an M that takes the P leaves at its next schedule). */
    if (mp->p != NULL) {
        struct p *pp = releasep(mp);
        gort__lock(&gort__sched.lock);
        if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) &&
            gort__sched.stopwait > 0) {
            atomic_store_explicit(&pp->status, P_GCSTOP, memory_order_relaxed);
            if (--gort__sched.stopwait == 0)
                gort__notewakeup(&gort__sched.stopnote);
        } else {
            atomic_store_explicit(&pp->status, P_IDLE, memory_order_relaxed);
            pp->link = gort__sched.pidle;
            gort__sched.pidle = pp;
            atomic_fetch_add_explicit(&gort__sched.npidle, 1, memory_order_seq_cst);
        }
        gort__unlock(&gort__sched.lock);
    }
}

GORT_NO_TSAN_FRAME static void __attribute__((noreturn)) exit_m(struct m *mp) {
    exit_m_body(mp);
    gotonative(mp);
}

enum { SCHED_RUN, SCHED_EXIT };

/* The body of schedule(): picks the next g (or decides the M must leave). */
static TSAN_OUTLINE int schedule_body(struct m *mp, struct g **gpp, bool *inheritp) {
    if (mp->curg != NULL)
        gort__throw("schedule: in cgo / curg set");
    forked_child_check();
top:
    if (atomic_load_explicit(&gort__sched.exiting, memory_order_acquire))
        return SCHED_EXIT;
    if (mp->lockedg) {
        stoplockedm(mp);
        if (atomic_load_explicit(&gort__sched.exiting, memory_order_acquire))
            return SCHED_EXIT;
        *gpp = mp->lockedg;
        *inheritp = false;
        return SCHED_RUN;
    }
    struct p *pp = mp->p;
    if (pp == NULL) {
        stopm(mp);
        goto top;
    }
    if (atomic_load_explicit(&gort__sched.gcwaiting, memory_order_acquire)) {
        gcstopm(mp);
        goto top;
    }
    struct g *gp = NULL;
    bool inherit = false;
    {
        /* Go's schedule: checkTimers(pp, 0). */
        int64_t now = 0;
        gort__checktimers(pp, &now);
    }
    /* Check the global runnable queue once in a while to ensure fairness.
     * Otherwise two goroutines can completely occupy the local runqueue by
     * constantly respawning each other. */
    uint32_t tick = atomic_load_explicit(&pp->schedtick, memory_order_relaxed);
    if (tick % GLOBRUNQ_TICK == 0 &&
        atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) > 0) {
        gort__lock(&gort__sched.lock);
        gp = globrunqget(pp, 1);
        gort__unlock(&gort__sched.lock);
    }
    if (tick % GLOBRUNQ_TICK == 0)
        poll_busy(mp);
    if (gp == NULL)
        gp = runqget(pp, &inherit);
    if (gp == NULL) {
        gp = findrunnable(mp, &inherit);
        if (gp == NULL)
            goto top; /* exiting, STW, or lost the P */
    }
    /* This thread is going to run a goroutine and is not spinning anymore,
     * so if it was marked as spinning we need to reset it now and
     * potentially start a new spinning M. */
    if (mp->spinning)
        resetspinning(mp);
    mp->spun_idle = false;
    if (mp->owes_visible)
        visible_pay_running(mp);
    if (gp->lockedm) {
        /* Hands off own p to the locked m, then blocks waiting for a new p. */
        startlockedm(mp, gp);
        goto top;
    }
    *gpp = gp;
    *inheritp = inherit;
    return SCHED_RUN;
}

/* One round of scheduler: find a runnable goroutine and execute it.
 * Never returns.  Runs on g0. */
GORT_HOT_ALIGN GORT_NO_TSAN_FRAME static void schedule(struct m *mp) {
    struct g *gp;
    bool inherit;
    if (schedule_body(mp, &gp, &inherit) == SCHED_EXIT)
        exit_m(mp);
    execute(mp, gp, inherit);
}

/* ------------------------------------------------------------------ park / ready */

/* park continuation on g0 (proc.go park_m).  Returns false if gp must run
 * again at once (unlockf said so). */
static TSAN_OUTLINE bool park_m_body(struct g *gp, struct m *mp) {
    atomic_store_explicit(&gp->status, G_WAITING, memory_order_relaxed);
    bool (*fn)(struct g *, void *) = mp->waitunlockf;
    void *lock = mp->waitlock;
    mp->waitunlockf = NULL;
    mp->waitlock = NULL;
    /* Read before fn publishes gp: after it, gp may run (and exit) anywhere. */
    struct gort__bubble *bubble = gp->bubble;
    bool ok = fn == NULL || fn(gp, lock);
    if (GORT_UNLIKELY(bubble != NULL))
        gort__synctest_park_end(bubble, gp, ok);
    if (!ok)
        GORT_TRACE(gort__trace_gounblock(gp));
    return ok;
}

GORT_HOT_ALIGN GORT_NO_TSAN_FRAME static void park_m(void *arg) {
    struct g *gp = arg;
    struct m *mp = g0_enter(gp);
    if (!park_m_body(gp, mp))
        execute(mp, gp, true); /* not parking after all: run it again */
    schedule(mp);
}

/* The second half of a direct park (gort__gopark's fast path), run by the
 * goroutine we switched to, now that the parked one's stack is idle: the
 * unlock function publishes it, exactly as park_m does on g0. */
static void finish_park(struct m *mp) {
    struct g *gp = mp->pending_park;
    bool (*fn)(struct g *, void *) = mp->waitunlockf;
    void *lock = mp->waitlock;
    mp->pending_park = NULL;
    mp->waitunlockf = NULL;
    mp->waitlock = NULL;
    struct gort__bubble *bubble = gp->bubble; /* before fn: see park_m_body */
    bool ok = fn == NULL || fn(gp, lock);
    if (GORT_UNLIKELY(bubble != NULL))
        gort__synctest_park_end(bubble, gp, ok);
    if (!ok) {
        /* Not parking after all: it runs next. */
        GORT_TRACE(gort__trace_gounblock(gp));
        atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
        runqput(mp->p, gp, true);
    }
}

/* Switch from gp straight to next on the same M and P; the caller has set
 * the pending action that next (in finish_switch) performs for gp. */
static inline __attribute__((always_inline)) void
switch_direct(struct g *gp, struct m *mp, struct p *pp, struct g *next, bool inherit, bool dying) {
    if (!inherit)
        GORT_COUNTER_INC(pp->schedtick);
    uint64_t nsw = atomic_load_explicit(&pp->nswitch, memory_order_relaxed) + 1;
    atomic_store_explicit(&pp->nswitch, nsw, memory_order_relaxed);
    gp->outswitch = (uint32_t)nsw;
    /* Every caller has just recorded gp's stop on this P. */
    GORT_TRACE(gort__trace_gostart_direct(mp, next));
    mp->curg = next;
    next->m = mp;
    atomic_store_explicit(&next->status, G_RUNNING, memory_order_relaxed);
    atomic_store_explicit(&next->preempt, false, memory_order_relaxed);
    coop_tick(next);
    atomic_store_explicit(&pp->runningg, next, memory_order_release);
    san_switch_begin(dying ? NULL : &gp->asan_fake_stack, (void *)next->stack.lo,
                     next->stack.hi - next->stack.lo, next->tsan_fiber);
    if (next->ctx.sp != NULL)
        gort__ctx_switch(&gp->ctx.sp, next->ctx.sp);
    else
        gort__ctx_switch_fresh(&gp->ctx.sp, (void *)next->stack.hi, goentry, next);
    finish_switch(gp);
}

/* A goroutine without a P where it needs one.  Between gort_syscall_enter
 * and gort_syscall_exit its P is away (the header forbids any other gort
 * call there): a fatal error that names the misuse (a goroutine that
 * returned there crashed in the scheduler, one that slept there was
 * "gopark: no p").  Otherwise the runtime's own error, bug. */
static GORT_NOINLINE _Noreturn void no_p(struct m *mp, const char *bug, const char *misuse) {
    gort__throw(mp->oldp != NULL ? misuse : bug);
}

/* The next local goroutine to switch to directly from gp (park, yield
 * and exit fast paths), or NULL when the scheduler must decide (global
 * queue due, stop-the-world, exit, locked goroutines). */
static inline struct g *direct_next(struct g *gp, struct p *pp, bool *inherit) {
    if (GORT_UNLIKELY(gp->lockedm != NULL ||
                      atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) ||
                      atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed)))
        return NULL;
    /* Timers due on this P: let schedule() run them. */
    int64_t tw = gort__timers_next(pp);
    if (GORT_UNLIKELY(tw != 0) && tw <= gort_nanotime())
        return NULL;
    struct g *next = runqget(pp, inherit);
    if (next == NULL)
        return NULL;
    uint32_t tick = atomic_load_explicit(&pp->schedtick, memory_order_relaxed);
    if (GORT_LIKELY(next->lockedm == NULL &&
                    (*inherit || (tick + 1) % GLOBRUNQ_TICK != 0 ||
                     atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) == 0)))
        return next;
    runqput(pp, next, true); /* back in front; schedule() decides */
    return NULL;
}

GORT_HOT_ALIGN void gort__gopark(bool (*unlockf)(struct g *gp, void *arg), void *arg,
                                 uint8_t reason) {
    struct g *gp = gort__getg_entry();
    if (gp == NULL) {
        /* A thread outside the runtime (or g0): sleep on the fake g's note. */
        gp = gort__getg_or_foreign();
        gp->waitreason = reason;
        gort__noteclear(&gp->park);
        atomic_store_explicit(&gp->status, G_WAITING, memory_order_relaxed);
        if (unlockf != NULL && !unlockf(gp, arg)) {
            atomic_store_explicit(&gp->status, G_RUNNING, memory_order_relaxed);
            return;
        }
        gort__foreign_block(1);
        gort__notesleep(&gp->park);
        gort__foreign_block(-1);
        atomic_store_explicit(&gp->status, G_RUNNING, memory_order_relaxed);
        return;
    }
    struct m *mp = gp->m;
    gp->errno_ = *mp->errnop; /* restored by finish_switch */
    eh_save(mp, gp);
    if (mp->p == NULL)
        no_p(mp, "gopark: no p", "blocking call between gort_syscall_enter and gort_syscall_exit");
    if (GORT_UNLIKELY(atomic_load_explicit(&gp->preempt, memory_order_relaxed))) {
        /* A preemption request raised while gp ran is honoured by this
         * park, and ends the time slice: whoever runs next (runnext
         * included) starts a new one, as if gp had been preempted on entry
         * (Go checks the request in every function prologue).  Otherwise
         * the buddy it readied inherits the expired slice and the request
         * is lost when gp resumes (TestPingPongHog). */
        atomic_store_explicit(&gp->preempt, false, memory_order_relaxed);
        GORT_COUNTER_INC(mp->p->schedtick);
    }
    if (GORT_UNLIKELY(gp->bubble != NULL))
        gort__synctest_park_begin(gp, reason); /* park_end runs after unlockf */
    gp->waitreason = reason;
    gp->waitsince = atomic_load_explicit(&coarse_now, memory_order_relaxed);
    int64_t bt0 = GORT_BLOCKPROF_T0(reason);
    /* Ask the waker for the time it readies us (gort__goready): the delay
     * ends there, not when we run again.  Plain store: it is published to
     * the waker with the park itself, by unlockf's release of the lock
     * the waker takes to find us. */
    if (GORT_UNLIKELY(bt0 != 0))
        gp->releasetime = -1;
    GORT_TRACE(gort__trace_goblock(gp, reason));
    if (gp->stack.guard == GUARD_CANARY)
        gort__stack_check_canary(&gp->stack, gp->goid);
    mp->waitunlockf = unlockf;
    mp->waitlock = arg;
    /* Fast path: hand the P straight to the next local goroutine (usually
     * the runnext that our own send just readied), skipping g0. */
    struct p *pp = mp->p;
    bool inherit;
    struct g *next = direct_next(gp, pp, &inherit);
    if (next != NULL) {
        atomic_store_explicit(&gp->status, G_WAITING, memory_order_relaxed);
        mp->pending_park = gp;
        switch_direct(gp, mp, pp, next, inherit, false);
    } else {
        mcall(gp, park_m);
    }
    if (GORT_UNLIKELY(bt0 != 0)) {
        /* Go's "if mysg.releasetime > 0 { blockevent(releasetime - t0) }":
         * not stamped (the park was called off, or the rate was 0 when
         * the waker looked) records nothing.  The waker's store is
         * visible: its goready published gp (runqput's release, taken
         * with an acquire by whoever scheduled us). */
        int64_t rt = gp->releasetime;
        gp->releasetime = 0;
        if (rt > 0) {
            gort__blockevent(rt - bt0, reason); /* skips our frame: we must keep it */
            GORT_NO_TAILCALL();
        }
    }
}

/* A parked g becomes runnable (ready's status change and its check). */
static inline void ready_status(struct g *gp) {
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (st != G_WAITING) {
        gort__printf("runtime: goready: goroutine %lld in status %u\n", (long long)gp->goid, st);
        gort__throw("bad g->status in ready");
    }
    atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
}

/* gp goes into pp's runnext and usually runs next there.  When many
 * other goroutines ran on pp since gp left it (more than
 * READY_COLD_SWITCHES: each switch touches about 1 KB, a stack's top, a
 * g, a channel, and 32 fill an L1), its stack has left this CPU's cache
 * by its turn: fetch the lines its switch pops and its first calls
 * write, 512 bytes from its saved sp (the park path's frames, a sudog
 * among them, are 416-496 bytes in ring and sieve), while this goroutine
 * still runs to its own park.  ring: 106 -> 82 ns per hop (ae73eb5; 9
 * lines were slower).  Not for a goroutine that just left
 * (pingpong): 8 prefetches of lines already in L1 cost 2.5 ns a wake-up
 * there.  A g that left another P or through g0 (park_m) gives a
 * meaningless distance, so a prefetch at worst.  Only a hint: the relaxed
 * load of ctx.sp races with nothing (gp is parked, its sp was stored
 * before the park was published), and a prefetch of any address never
 * faults. */
#define READY_COLD_SWITCHES 32
static inline void ready_prefetch(struct g *gp, struct p *pp) {
    uint32_t now = (uint32_t)atomic_load_explicit(&pp->nswitch, memory_order_relaxed);
    if (now - gp->outswitch <= READY_COLD_SWITCHES)
        return;
    const char *sp = __atomic_load_n((char **)&gp->ctx.sp, __ATOMIC_RELAXED);
    for (int k = 0; k < 8; k++)
        gort__prefetchw(sp + 64 * k);
}

GORT_HOT_ALIGN void gort__goready(struct g *gp) {
    if (gp->foreign) {
        atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
        /* Release (notewakeup): the waker's writes (the value handed over)
         * are visible when the foreign thread wakes. */
        gort__notewakeup(&gp->park);
        return;
    }
    struct m *mp = gort__getm_entry(); /* no switch before it here */
    /* A thread outside the runtime (a channel send from a plain thread)
     * while gort_main returns: as newproc's foreign path, it counts itself
     * in flight and, once shutdown has begun, leaves gp unqueued, abandoned
     * with the rest (queued after the scheduler's reset, or waking an M
     * after they were joined, it was a fatal error).  gp is marked
     * runnable all the same: its waker dequeued it, and shutdown, which
     * unlinks a waiting goroutine from its channel or Cond, must not touch
     * that object, which its waker may free.  The status store precedes
     * the seq_cst decrement that shutdown's wait for zero reads.  The
     * waker's writes to gp between its unlock and this count are covered
     * by its pin (gort__foreign_pin, taken before that unlock). */
    if (mp == NULL) {
        atomic_fetch_add_explicit(&foreign_inflight, 1, memory_order_seq_cst);
        if (!gort__runtime_running() ||
            atomic_load_explicit(&gort__sched.exiting, memory_order_seq_cst)) {
            atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
            atomic_fetch_sub_explicit(&foreign_inflight, 1, memory_order_seq_cst);
            return;
        }
    }
    /* Without a P, not stopped by a trace's start: see trace.h. */
    bool pless = mp == NULL || mp->p == NULL;
    if (pless)
        gort__trace_pless_enter();
    GORT_TRACE(gort__trace_gounblock(gp));
    ready_status(gp);
    if (pless)
        gort__trace_pless_exit();
    /* Block profile: a goroutine parked with it on (releasetime -1) gets
     * the time it is readied, which ends its delay (Go's readyWithTime,
     * and chan.go's stamping of sg.releasetime), so that the time it then
     * waits for a P is not counted.  Relaxed gate on the rate, as
     * GORT_BLOCKPROF_T0's: one predictable branch when the profile is off
     * (a goroutine parked while it was on then records nothing, as Go's
     * blockevent would not).  gp's -1 was published with its park (the
     * lock or CAS through which we found it); our store is published to
     * gp by the runqput below. */
    if (GORT_UNLIKELY(atomic_load_explicit(&gort__blockprof_rate, memory_order_relaxed) > 0) &&
        gp->releasetime != 0)
        gp->releasetime = gort_nanotime();
    /* Relaxed gate: a g of a bubble was made after the bubble was counted,
     * and whoever readies it learned of it through a lock or channel that
     * orders that count before this load. */
    if (GORT_UNLIKELY(atomic_load_explicit(&gort__synctest_nbubbles, memory_order_relaxed) != 0) &&
        gp->bubble != NULL)
        gort__synctest_ready(gp);
    if (mp != NULL && mp->p != NULL) {
        ready_prefetch(gp, mp->p);
        runqput(mp->p, gp, true);
    } else {
        gort__lock(&gort__sched.lock);
        globrunqput(gp);
        gort__unlock(&gort__sched.lock);
    }
    gort__wakep();
    if (mp == NULL)
        atomic_fetch_sub_explicit(&foreign_inflight, 1, memory_order_seq_cst);
}

void gort__foreign_block(int delta) {
    atomic_fetch_add_explicit(&gort__sched.nforeign_blocked, delta, memory_order_seq_cst);
}

/* Gosched continuation on g0: put gp on the global queue, as Go's
 * goschedImpl does (so that any P may take it, and a P with nothing else
 * takes the goroutines queued before it first), then schedule. */
static TSAN_OUTLINE void gosched_m_body(struct g *gp, struct m *mp) {
    (void)mp;
    GORT_TRACE(gort__trace_gosched(gp, false));
    atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
    globrunqput_wake(gp);
}

GORT_NO_TSAN_FRAME static void gosched_m(void *arg) {
    struct g *gp = arg;
    struct m *mp = g0_enter(gp);
    gosched_m_body(gp, mp);
    schedule(mp);
}

/* A preempted goroutine ends its P's time slice: the next one, even from
 * runnext, starts a new slice (schedtick moves, so sysmon's 10 ms clock
 * restarts for it rather than preempting it at once or never). */
static TSAN_OUTLINE void preempt_m_body(struct g *gp, struct m *mp) {
    GORT_TRACE(gort__trace_gosched(gp, true));
    atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
    GORT_COUNTER_INC(mp->p->schedtick);
    gort__lock(&gort__sched.lock);
    globrunqput(gp);
    gort__unlock(&gort__sched.lock);
}

GORT_NO_TSAN_FRAME static void preempt_m(void *arg) {
    struct g *gp = arg;
    struct m *mp = g0_enter(gp);
    preempt_m_body(gp, mp);
    schedule(mp);
}

void gort__gosched(void) {
    struct g *gp = gort__getg();
    if (gp == NULL) {
        sched_yield();
        return;
    }
    gp->errno_ = errno;
    eh_save(gp->m, gp);
    mcall(gp, gosched_m);
}

/* Go's canPreemptM: never with a runtime lock held (the request stays
 * for the next check). */
void gort__preempt_check_slow(struct g *gp) {
    if (gp->foreign || gp->m == NULL || gp->m->curg != gp || gort__tls_locks != 0)
        return;
    atomic_store_explicit(&gp->preempt, false, memory_order_relaxed);
    gp->errno_ = errno;
    eh_save(gp->m, gp);
    mcall(gp, preempt_m);
}

/* One pass over the other Ps' run queues (runnext included) for a
 * yielder with nothing else to run.  Runs on pp's owner. */
static struct g *yield_steal(struct p *pp) {
    uint32_t procs = (uint32_t)atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    uint32_t pos = gort__fastrandn(procs);
    uint32_t inc = coprimes[gort__fastrandn(ncoprimes)];
    for (uint32_t c = 0; c < procs; c++, pos = (pos + inc) % procs) {
        struct p *p2 = gort__allp[pos];
        if (p2 == pp || atomic_load_explicit(&p2->status, memory_order_relaxed) == P_IDLE ||
            runqempty(p2))
            continue;
        struct g *gp = runqsteal(pp, p2, true);
        if (gp != NULL) {
            GORT_COUNTER_INC(pp->nsteal);
            return gp;
        }
    }
    return NULL;
}

/* gort_yield found nothing else to run: gp goes on, and this call counts
 * as its scheduling point (a switch does the same when gp resumes:
 * switch_direct and execute clear the request and tick for it). */
static inline void yield_keep_going(struct g *gp) {
    atomic_store_explicit(&gp->preempt, false, memory_order_relaxed);
    coop_tick(gp);
}

void gort_yield(void) {
    struct m *mp = gort__getm_entry(); /* no switch before it here */
    struct g *gp = mp != NULL ? mp->curg : NULL;
    if (gp == NULL) {
        sched_yield();
        return;
    }
    struct p *pp = mp->p;
    gp->errno_ = *mp->errnop; /* restored by finish_switch */
    eh_save(mp, gp);
    /* Fast path: switch straight to the next local goroutine; it puts us on
     * the run queue tail once our stack is idle (finish_switch). */
    /* Count this yield as a scheduling round, so that schedule()'s every-61st
     * check of the global queue also happens when we take the slow path. */
    uint32_t tick = atomic_load_explicit(&pp->schedtick, memory_order_relaxed) + 1;
    atomic_store_explicit(&pp->schedtick, tick, memory_order_relaxed);
    if (GORT_UNLIKELY(gp->lockedm != NULL ||
                      (tick % GLOBRUNQ_TICK == 0 &&
                       (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) > 0 ||
                        poll_due())) ||
                      atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) ||
                      atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed))) {
        mcall(gp, gosched_m);
        return;
    }
    /* Timers due on this P: schedule() runs them (Go's Gosched goes through
     * schedule's checkTimers; a yield loop must not hold them back). */
    int64_t tw = gort__timers_next(pp);
    if (GORT_UNLIKELY(tw != 0) && tw <= gort_nanotime())
        goto slow;
    if (atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed) == 1) {
        /* One P: nobody else can take from this run queue (stealing needs a
         * P), so the yielder can be queued before the switch, rotating the
         * queue in place: next comes from runnext or the head, we go to the
         * tail.  Go's Gosched queues the yielder on the global queue
         * instead; with one P that queue is served by this P alone, when
         * the local one is empty, so the order of turns is the same round
         * robin. */
        uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
        struct g *next = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
        if (next != NULL) {
            if (GORT_UNLIKELY(t - h >= GORT__RUNQ || next->lockedm != NULL))
                goto slow;
            atomic_store_explicit(&pp->runnext, NULL, memory_order_relaxed);
        } else {
            if (h == t) {
                if (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) == 0) {
                    yield_keep_going(gp); /* nothing else to run here */
                    return;
                }
                goto slow;
            }
            next = atomic_load_explicit(&pp->runq[h % GORT__RUNQ], memory_order_relaxed);
            if (GORT_UNLIKELY(next->lockedm != NULL))
                goto slow;
            atomic_store_explicit(&pp->runqhead, h + 1, memory_order_release);
        }
        GORT_TRACE(gort__trace_gosched(gp, false));
        atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
        atomic_store_explicit(&pp->runq[t % GORT__RUNQ], gp, memory_order_relaxed);
        atomic_store_explicit(&pp->runqtail, t + 1, memory_order_release);
        switch_direct(gp, mp, pp, next, true, false); /* schedtick already counted */
        return;
    }
    /* Several Ps: the yielder goes to the global queue, as with Go's
     * Gosched, where any P may take it, and an idle P is woken
     * (globrunqput_wake, run by next once our stack is idle). */
    bool inherit;
    struct g *next = runqget(pp, &inherit);
    if (next == NULL) {
        if (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) != 0)
            goto slow;
        /* Nothing queued here or globally: a goroutine queued behind one
         * that never yields on another P would wait there for good (no P
         * is idle to steal it), so this P steals it (not in Go, whose
         * asynchronous preemption would end the spinner's turn). */
        next = yield_steal(pp);
        if (next == NULL) {
            yield_keep_going(gp); /* nothing else to run */
            return;
        }
    }
    if (GORT_UNLIKELY(next->lockedm != NULL)) {
        /* It must run on its own M: put it back in front and go the slow way. */
        runqput(pp, next, true);
        goto slow;
    }
    GORT_TRACE(gort__trace_gosched(gp, false));
    atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
    mp->pending_put = gp;
    mp->pending_global = true;
    switch_direct(gp, mp, pp, next, true, false); /* schedtick already counted */
    return;
slow:
    mcall(gp, gosched_m);
}

/* ------------------------------------------------------------------ goroutines */

/* The global pool of free gs: sched.gfa, a stack of pointers (see
 * runtime.h).  Moving a batch copies pointers and touches no g: the gs of a
 * busy pool were just freed by another P, and reading a link in each would
 * be a cache miss per g, one after the other, under the lock. */

/* Pushes n gs on the global pool.  gflock held.  Never allocates: allgadd
 * keeps room for every g of allgs. */
static void gfpush_global(struct g *const *gs, uint32_t n) {
    uint32_t top = atomic_load_explicit(&gort__sched.gfn, memory_order_relaxed);
    if (top + n > atomic_load_explicit(&gort__sched.gfcap, memory_order_relaxed))
        gort__throw("gfput: free pool overflow");
    memcpy(gort__sched.gfa + top, gs, n * sizeof *gs);
    atomic_store_explicit(&gort__sched.gfn, top + n, memory_order_relaxed);
}

/* Pops up to max gs from the top of the global pool (the most recently
 * freed first, then the cold ones at the bottom) into dst, keeping their
 * order.  Returns how many.  gflock held. */
static uint32_t gfpop_global(struct g **dst, uint32_t max) {
    uint32_t top = atomic_load_explicit(&gort__sched.gfn, memory_order_relaxed);
    uint32_t avail = top > gort__sched.gfresv ? top - gort__sched.gfresv : 0;
    uint32_t n = avail < max ? avail : max;
    top -= n;
    memcpy(dst, gort__sched.gfa + top, n * sizeof *dst);
    atomic_store_explicit(&gort__sched.gfn, top, memory_order_relaxed);
    if (top < gort__sched.gfcold)
        gort__sched.gfcold = top;
    if (top < gort__sched.gflow)
        gort__sched.gflow = top;
    return n;
}

/* Room in the global pool for want gs.  Called by allgadd before a new g
 * joins allgs; takes gflock. */
static int gfpool_reserve(uint32_t want) {
    gort__lock(&gort__sched.gflock);
    uint32_t old = atomic_load_explicit(&gort__sched.gfcap, memory_order_relaxed);
    if (want <= old) {
        gort__unlock(&gort__sched.gflock);
        return 0;
    }
    uint32_t cap = old ? old : 1024;
    while (cap < want)
        cap *= 2;
    struct g **n = gort__fixrealloc(gort__sched.gfa, cap * sizeof *n);
    if (n != NULL) {
        gort__sched.gfa = n;
        /* Relaxed: allgadd's unlocked read may be stale only on the small
         * side (it only grows), which costs one more call here. */
        atomic_store_explicit(&gort__sched.gfcap, cap, memory_order_relaxed);
    }
    gort__unlock(&gort__sched.gflock);
    return n != NULL ? 0 : -ENOMEM;
}

static void gfput(struct p *pp, struct g *gp) {
    if (gp->heapg) {
        gfree_custom(gp);
        return;
    }
    if (pp->gfreecnt == GORT__GFREE_LOCAL) {
        /* Move the older half to the global pool; keep the warm half. */
        const int32_t n = GORT__GFREE_LOCAL / 2;
        gort__lock(&gort__sched.gflock);
        gfpush_global(pp->gfree, (uint32_t)n);
        gort__unlock(&gort__sched.gflock);
        memmove(pp->gfree, pp->gfree + n, (size_t)(GORT__GFREE_LOCAL - n) * sizeof pp->gfree[0]);
        pp->gfreecnt -= n;
    }
    pp->gfree[pp->gfreecnt++] = gp;
}

static struct g *gfget(struct p *pp) {
    if (pp == NULL || pp->gfreecnt == 0) {
        /* Peek without the lock (a stale zero only costs an allocation). */
        if (atomic_load_explicit(&gort__sched.gfn, memory_order_relaxed) == 0)
            return NULL;
        gort__lock(&gort__sched.gflock);
        if (pp == NULL) {
            struct g *gp;
            uint32_t n = gfpop_global(&gp, 1);
            gort__unlock(&gort__sched.gflock);
            return n ? gp : NULL;
        }
        pp->gfreecnt = (int32_t)gfpop_global(pp->gfree, GORT__GFREE_LOCAL / 2);
        gort__unlock(&gort__sched.gflock);
        if (pp->gfreecnt == 0)
            return NULL;
    }
    /* newproc1 writes line 0 of the g two spawns from now: fetch it for
     * writing already, as a g that came from the global pool sits in the
     * cache of the core where it ran and died. */
    if (pp->gfreecnt > 1)
        gort__prefetchw(pp->gfree[pp->gfreecnt - 2]);
    return pp->gfree[--pp->gfreecnt];
}

static int64_t newgoid(struct p *pp) {
    if (pp == NULL)
        return (int64_t)atomic_fetch_add_explicit(&gort__sched.goidgen, 1, memory_order_relaxed) +
               1;
    if (pp->goidcache == pp->goidcacheend) {
        /* Sched.goidgen is the last allocated id; this batch is
         * [goidgen+1, goidgen+16] (proc.go _GoidCacheBatch). */
        uint64_t end =
            atomic_fetch_add_explicit(&gort__sched.goidgen, 16, memory_order_relaxed) + 16;
        pp->goidcache = end - 15;
        pp->goidcacheend = end + 1;
    }
    return (int64_t)pp->goidcache++;
}

/* copysize for newproc1 and newproc: arg is passed as it is. */
#define NO_COPY SIZE_MAX

/* gort_go_copy's block of n bytes at src into gp->argbuf: inline, without
 * a call, by two overlapping moves of 32, 16 or 8 bytes (each within the n
 * bytes at src); 32..64 bytes (spawn_args' 64) first, memcpy above 64.
 * src may be NULL when n == 0. */
static inline void copy_argblock(struct g *gp, const unsigned char *src, size_t n) {
    unsigned char *tail = gp->argbuf + n;
    if (GORT_LIKELY(n >= 32 && n <= 64)) {
        __builtin_memcpy(gp->argbuf, src, 32);
        __builtin_memcpy(tail - 32, src + n - 32, 32);
    } else if (n > 64) {
        memcpy(gp->argbuf, src, n);
    } else if (n >= 16) {
        __builtin_memcpy(gp->argbuf, src, 16);
        __builtin_memcpy(tail - 16, src + n - 16, 16);
    } else if (n >= 8) {
        __builtin_memcpy(gp->argbuf, src, 8);
        __builtin_memcpy(tail - 8, src + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            gp->argbuf[i] = src[i];
    }
}

/* newproc's flags. */
enum {
    NEWPROC_MAY_YIELD = 1, /* the caller may yield to the spawn backpressure */
    NEWPROC_SYSTEM = 2,    /* a runtime goroutine: inherits no labels, no bubble */
};

/* Create a new g running fn(arg) (proc.go newproc1).  Returns it runnable
 * but not queued, or NULL with *err set.  copysize != NO_COPY: fn gets a
 * copy of the copysize bytes at arg, kept in the g (gort_go_copy). */
static struct g *newproc1(void (*fn)(void *), void *arg, size_t copysize, size_t stacksize,
                          const char *name, struct g *callergp, void *callerpc, struct p *pp,
                          unsigned flags, int *err) {
    struct g *newg = NULL;
    if (stacksize == gort__default_stack_size)
        newg = gfget(pp);
    if (newg == NULL) {
        newg = malg(stacksize, true);
        if (newg == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        if (newg->stack.guard == GUARD_CANARY)
            *(volatile uint64_t *)newg->stack.lo = GORT__STACK_CANARY;
    } else {
        /* The dead goroutine's frames that never returned (goexit path)
         * leave ASan redzones behind: clear them. */
        san_unpoison((void *)newg->stack.lo, newg->stack.hi - newg->stack.lo);
    }
    /* A recycled g comes back reset by gdestroy (on the P where it died,
     * while its lines were in that core's cache): ctx.sp is NULL, so its
     * first switch starts fn on the untouched stack, and everything outside
     * line 0 is as a new g has it.  Write line 0 only. */
    GORT_ASSERT(newg->ctx.sp == NULL && newg->lockedm == NULL && newg->waiting == NULL &&
                newg->defer_ == NULL && newg->panic_ == NULL && newg->callframe == NULL);
    newg->fn = fn;
    newg->arg = arg;
    if (copysize != NO_COPY) {
        /* gort_go_copy: the block goes into the g, which only the new
         * goroutine uses from now on (published by runqput's release). */
        copy_argblock(newg, arg, copysize);
        newg->arg = newg->argbuf;
        newg->argwords = (uint8_t)((copysize + sizeof(void *) - 1) / sizeof(void *));
    }
    newg->goid = newgoid(pp);
    newg->parentgoid = callergp ? callergp->goid : 0;
    newg->createdby = callerpc;
    newg->is_main = false;
    /* Only a user goroutine inherits its creator's labels and bubble (Go's
     * newproc1: a system goroutine belongs to neither). */
    struct g *heir = (flags & NEWPROC_SYSTEM) ? NULL : callergp;
    if (GORT_UNLIKELY(heir != NULL && heir->labels != NULL))
        newg->labels = heir->labels; /* gdestroy left it NULL */
    if (name) {
        strncpy(newg->name, name, sizeof newg->name - 1);
        newg->name[sizeof newg->name - 1] = '\0';
        newg->named = true;
    }
    /* Made on the creator's fiber, the new goroutine's TSan fiber starts
     * with the creator's clock: everything before gort_go happens before
     * the goroutine runs (Go's racectx inheritance in newproc1). */
    if (newg->tsan_fiber == NULL)
        newg->tsan_fiber = san_fiber_create();
    san_forget((void *)newg->stack.lo, newg->stack.hi - newg->stack.lo);
    groot(newg, true);
    atomic_store_explicit(&newg->status, G_RUNNABLE, memory_order_relaxed);
    /* A goroutine started inside a synctest bubble is in the bubble. */
    if (GORT_UNLIKELY(heir != NULL && heir->bubble != NULL))
        gort__synctest_newg(heir->bubble, newg);
    GORT_TRACE(gort__trace_gocreate(newg));
    if (pp)
        GORT_COUNTER_INC(pp->ngcreated);
    else
        atomic_fetch_add_explicit(&gort__sched.ngcreated_ext, 1, memory_order_relaxed);
    return newg;
}

/*
 * Spawn backpressure (not in Go).  A goroutine that spawns faster than all
 * Ps together run what it spawns (a loop of gort_go) would otherwise pile
 * up runnable goroutines without bound, each holding a stack: a million
 * spawned in a row left ~300,000 waiting, gigabytes of address space and a
 * page fault or two for each new one.  So when its P's queue overflows into
 * a global queue that already holds more than SPAWN_BACKLOG goroutines per
 * P, the spawner is preempted as sysmon would preempt it: it goes to the
 * global queue's tail and runs again once the backlog ahead of it has run.
 * Only user calls (gort_go, gort_go_attr_spawn) from an unlocked goroutine
 * yield: never a runtime path such as an after_func timer.
 */
#define SPAWN_BACKLOG GORT__RUNQ

static int newproc(void (*fn)(void *), void *arg, size_t copysize, size_t stacksize,
                   const char *name, void *callerpc, unsigned flags) {
    if (fn == NULL)
        gort__fatal("go of nil func value");
    /* In a child forked inside gort_main, before the preemption check
     * below, which would run another goroutine there (forked_child_check's
     * fatal error) instead of saying -EAGAIN. */
    if (!gort__runtime_running() || atomic_load_explicit(&forked_child, memory_order_relaxed))
        return -EAGAIN;
    /* A preemption request is honoured on entry, as Go's prologue check
     * does, before the child takes runnext: checked after, the child
     * inherited the expired slice and a goroutine that starts a copy of
     * itself and returns held the P for good (TestStopTheWorldDeadlock). */
    if (flags & NEWPROC_MAY_YIELD)
        gort__preempt_check(gort__getg());
    struct m *mp = gort__getm(); /* after a possible switch: out of line */
    struct g *callergp = mp ? mp->curg : NULL;
    struct p *pp = mp ? mp->p : NULL;
    int err = 0;
    if (pp == NULL) {
        /* A foreign thread: register it so checkdead knows it may still
         * make goroutines, then queue globally. */
        if (mp == NULL)
            (void)gort__getg_or_foreign();
        if (!gort__foreign_enter(true))
            return -EAGAIN;
        /* Its GoCreate and its entry in allgs: see trace.h. */
        gort__trace_pless_enter();
        struct g *newg =
            newproc1(fn, arg, copysize, stacksize, name, callergp, callerpc, NULL, flags, &err);
        gort__trace_pless_exit();
        if (newg != NULL) {
            gort__lock(&gort__sched.lock);
            globrunqput(newg);
            gort__unlock(&gort__sched.lock);
            gort__wakep();
        }
        gort__foreign_unpin();
        return newg == NULL ? err : 0;
    }
    if (atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed))
        return -EAGAIN;
    struct g *newg =
        newproc1(fn, arg, copysize, stacksize, name, callergp, callerpc, pp, flags, &err);
    if (newg == NULL)
        return err;
    bool overflowed = runqput(pp, newg, true);
    gort__wakep();
    if (callergp && overflowed && (flags & NEWPROC_MAY_YIELD) && callergp->lockedm == NULL &&
        atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) >
            SPAWN_BACKLOG * atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed)) {
        atomic_store_explicit(&callergp->preempt, true, memory_order_relaxed);
        gort__preempt_check(callergp);
    }
    return 0;
}

/* gort_go without the spawn backpressure, for runtime paths that must not
 * yield (time.c's after_func timers). */
int gort__go_noyield(void (*fn)(void *arg), void *arg) {
    return newproc(fn, arg, NO_COPY, gort__default_stack_size, NULL, __builtin_return_address(0),
                   0);
}

int gort__go_system(void (*fn)(void *arg), void *arg, const char *name) {
    return newproc(fn, arg, NO_COPY, gort__default_stack_size, name, __builtin_return_address(0),
                   NEWPROC_SYSTEM);
}

int gort_go(void (*fn)(void *arg), void *arg) {
    return newproc(fn, arg, NO_COPY, gort__default_stack_size, NULL, __builtin_return_address(0),
                   NEWPROC_MAY_YIELD);
}

int gort_go_copy(void (*fn)(void *arg), const void *arg, size_t size) {
    if (size > GORT_GO_COPY_MAX || (arg == NULL && size != 0))
        return -EINVAL;
    return newproc(fn, (void *)arg, size, gort__default_stack_size, NULL,
                   __builtin_return_address(0), NEWPROC_MAY_YIELD);
}

int gort_go_attr_spawn(void (*fn)(void *arg), void *arg, const gort_go_attr *attr) {
    size_t size = gort__default_stack_size;
    const char *name = NULL;
    if (attr) {
        name = attr->name;
        if (attr->stack_size != 0) {
            if (attr->stack_size < GORT_MIN_STACK_SIZE || attr->stack_size > GORT_MAX_STACK_SIZE)
                return -EINVAL;
            size = (attr->stack_size + GORT__PAGE - 1) & ~(size_t)(GORT__PAGE - 1);
        }
    }
    return newproc(fn, arg, NO_COPY, size, name, __builtin_return_address(0), NEWPROC_MAY_YIELD);
}

/* goexit continuation on g0 (proc.go goexit0).  Returns true if the
 * goroutine was locked to its thread. */
static TSAN_OUTLINE bool gdestroy(struct g *gp, struct m *mp) {
    struct p *pp = mp->p;
    atomic_store_explicit(&gp->status, G_DEAD, memory_order_relaxed);
    GORT_COUNTER_INC(pp->ngexited);
    if (GORT_UNLIKELY(gp->bubble != NULL))
        gort__synctest_exit(gp); /* leaves its bubble; clears gp->bubble */
    bool locked = gp->lockedm != NULL;
    /* Reset everything newproc1 does not write (see there). */
    gp->m = NULL;
    gp->lockedm = NULL;
    gp->lockedext = 0;
    gp->lockedint = 0;
    mp->lockedg = NULL;
    gp->fn = NULL;
    gp->arg = NULL;
    gp->argwords = 0;
    gp->waitreason = WAIT_ZERO;
    gp->param = NULL;
    gp->waiting = NULL;
    gp->errno_ = 0;
    gp->eh[0] = gp->eh[1] = NULL;
    gp->labels = NULL;
    atomic_store_explicit(&gp->preempt, false, memory_order_relaxed);
    gp->asan_fake_stack = NULL;
    if (gp->named) {
        gp->named = false;
        gp->name[0] = '\0';
    }
    GORT_ASSERT(gp->defer_ == NULL && gp->panic_ == NULL && gp->callframe == NULL &&
                gp->dspare == NULL && gp->connref == NULL && gp->waitfd == 0);
    if (gp->stack.guard == GUARD_CANARY)
        gort__stack_check_canary(&gp->stack, gp->goid);
    /* Frames from goentry down to mcall never returned, nor did those a
     * recovered panic jumped over (below the final sp): unpoison the whole
     * stack for the next goroutine that runs on it. */
    san_unpoison((void *)gp->stack.lo, gp->stack.hi - gp->stack.lo);
    groot(gp, false);
    /* Not started: the next spawn starts it afresh.  Atomic (relaxed): the
     * collector reads ctx.sp of every g racily (forallg_stacks' prefetch,
     * scan_g_concurrent), and TSan reports a plain store beside those
     * atomic loads (stress.heap_torture.graphs in the tsan CI). */
    __atomic_store_n(&gp->ctx.sp, NULL, __ATOMIC_RELAXED);
    /* Only live goroutines hold a TSan fiber: ThreadSanitizer cannot hold
     * more than some tens of thousands (Go's race detector stops at 8128
     * live goroutines), and this one still holds the frames that never
     * returned (goentry down to mcall). */
    san_fiber_destroy(gp->tsan_fiber);
    gp->tsan_fiber = NULL;
    gfput(pp, gp);
    return locked;
}

GORT_NO_TSAN_FRAME static void goexit0(void *arg) {
    struct g *gp = arg;
    struct m *mp = g0_enter(gp);
    if (gdestroy(gp, mp)) {
        /* The goroutine may have locked this thread because it put it in an
         * unusual kernel state.  Kill it rather than returning it to the
         * thread pool (proc.go goexit0). */
        mexit(mp);
    }
    schedule(mp);
}

/* The second half of a direct exit, run by the goroutine we switched to:
 * the dead goroutine's stack is idle now, so its g can be recycled. */
static void finish_exit(struct m *mp) {
    struct g *gp = mp->pending_exit;
    mp->pending_exit = NULL;
    if (gdestroy(gp, mp))
        gort__throw("finish_exit: locked goroutine");
}

_Noreturn void gort__goexit1(void) {
    struct g *gp = gort__getg();
    if (gp == NULL)
        gort__throw("goexit outside a goroutine");
    struct m *mp = gp->m;
    struct p *pp = mp->p;
    if (pp == NULL)
        no_p(mp, "goexit: no p", "goroutine exit between gort_syscall_enter and gort_syscall_exit");
    /* Race mode: what gp did -> its bubble's Wait and Run (edges 26, 27),
     * on gp's fiber: gdestroy counts it out of the bubble later, on g0
     * (goexit0) or on the next goroutine's stack (finish_exit). */
    if (san_tsan_on() && gp->bubble != NULL)
        san_release(gp->bubble);
    GORT_TRACE(gort__trace_goend(gp));
    bool inherit;
    struct g *next = direct_next(gp, pp, &inherit);
    if (next != NULL) {
        mp->pending_exit = gp;
        switch_direct(gp, mp, pp, next, inherit, true);
        GORT_UNREACHABLE();
    }
    mcall(gp, goexit0);
    GORT_UNREACHABLE();
}

/* Main goroutine finished: start the shutdown.  On g0. */
static TSAN_OUTLINE void main_exit0_body(struct g *gp, struct m *mp) {
    atomic_store_explicit(&gp->status, G_DEAD, memory_order_relaxed);
    groot(gp, false);
    GORT_COUNTER_INC(mp->p->ngexited);
    mp->lockedg = NULL;
    gp->lockedm = NULL;
}

GORT_NO_TSAN_FRAME static void main_exit0(void *arg) {
    struct g *gp = arg;
    struct m *mp = g0_enter(gp);
    main_exit0_body(gp, mp);
    exit_m(mp);
}

static void preemptall(void);

static void begin_exit(void) {
    /* main_fn returned in a child forked inside gort_main: gort_main
     * cannot return there (its caller's thread, and the threads that
     * shutdown would join, are the parent's), so the child exits with
     * main_fn's value, as a C main returning it would. */
    if (atomic_load_explicit(&forked_child, memory_order_relaxed))
        exit(gort__sched.main_ret);
    atomic_store_explicit(&gort__sched.exiting, 1, memory_order_seq_cst);
    /* Wake every sleeping M; they leave at their next schedule(). */
    gort__lock(&gort__sched.lock);
    struct m *mp;
    while ((mp = mget()) != NULL)
        gort__notewakeup(&mp->park);
    for (mp = gort__sched.allm; mp; mp = mp->alllink) {
        if (mp->lockedidle) {
            /* It may have been woken already (startlockedm racing with us);
             * at exit a second wakeup is harmless, so don't insist. */
            mp->lockedidle = false;
            gort__notewakeup_idempotent(&mp->park);
        }
    }
    gort__unlock(&gort__sched.lock);
    poller_break();
    preemptall();
    /* And the preemption signal to the thread of every P still running:
     * a goroutine looping without a gort call reaches no scheduling point
     * of its own; stopped at an async-safe point, it is abandoned there
     * (tramp_preempt) and its M leaves.  shutdown_runtime calls this
     * again until every M has left (sysmon, whose slices' signals would
     * repeat it, is stopped by then). */
    gort__stw_signal();
}

/* A deferred call at the goroutine's top level recovered a panic: the
 * goroutine ends as if its function had returned (panic.c has run the
 * remaining deferred calls; for main, main_ret is set). */
_Noreturn void gort__goroutine_return(struct g *gp) {
    if (gp->is_main) {
        world_hold();
        begin_exit();
        mcall(gp, main_exit0);
        GORT_UNREACHABLE();
    }
    gort__goexit1();
}

static void goentry(void *arg) {
    struct g *gp = arg;
    finish_switch(gp);
    if (gp->is_main) {
        if (GORT_UNLIKELY(gort__flightrecorder))
            gort__trace_flight_autostart();
        /* Finalizers that a collection before gort_main queued (with no
         * runtime to run them) start now, not at the next collection. */
        gort__fin_wake();
        int (*main_fn)(void *) = (int (*)(void *))(void (*)(void))gp->fn;
        gort__sched.main_ret = main_fn(gp->arg);
        san_release(&gort__sched.main_ret); /* main's return -> gort_main's */
        gort__run_exit_defers(gp);
        if (gp->m->p == NULL)
            no_p(gp->m, "main exit: no p",
                 "goroutine exit between gort_syscall_enter and gort_syscall_exit");
        world_hold();
        begin_exit();
        mcall(gp, main_exit0);
        GORT_UNREACHABLE();
    }
    gp->fn(gp->arg);
    gort__run_exit_defers(gp);
    gort__goexit1();
}

_Noreturn void gort_goexit(void) {
    struct g *gp = gort__getg();
    if (gp == NULL)
        gort__fatal("runtime.Goexit called outside a goroutine");
    gort__run_exit_defers(gp);
    gort__goexit1();
}

/* An M whose locked goroutine exited: its thread goes away (m0 cannot: it
 * must return from gort_main, so it is wedged until shutdown).  On g0. */
static TSAN_OUTLINE void mexit_body(struct m *mp) {
    struct p *pp = releasep(mp);
    handoffp(pp);
    if (mp->is_m0) {
        gort__lock(&gort__sched.lock);
        if (atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed)) {
            gort__unlock(&gort__sched.lock);
            return;
        }
        mp->lockedidle = true;
        gort__sched.nmidlelocked++;
        checkdead();
        gort__unlock(&gort__sched.lock);
        gort__notesleep(&mp->park);
        return;
    }
    gort__lock(&gort__sched.lock);
    gort__sched.nmfreed++;
    mp->exiting = true;
    /* Nobody joins it: detached, it goes to freem (shutdown only waits
     * for thread_done, after which the thread touches no runtime memory).
     * One that cannot be detached stays on allm for shutdown's join. */
    if (pthread_detach(mp->thread) == 0)
        mfree_later(mp);
    checkdead();
    gort__unlock(&gort__sched.lock);
}

GORT_NO_TSAN_FRAME static void mexit(struct m *mp) {
    mexit_body(mp);
    exit_m(mp);
}

int gort_numgoroutine(void) {
    /* A thread outside the runtime counts itself in flight while it reads
     * the Ps, which shutdown frees after its wait for such calls. */
    bool plain = gort__getm() == NULL;
    if (plain ? !gort__foreign_enter(false) : !gort__runtime_running())
        return 0;
    int64_t n = (int64_t)atomic_load_explicit(&gort__sched.ngcreated_ext, memory_order_relaxed);
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        struct p *pp = gort__allp[i];
        if (pp == NULL)
            break;
        n += (int64_t)atomic_load_explicit(&pp->ngcreated, memory_order_relaxed);
        n -= (int64_t)atomic_load_explicit(&pp->ngexited, memory_order_relaxed);
    }
    /* The finalizer goroutine is a system goroutine except while it runs a
     * finalizer (Go's isSystemGoroutine). */
    n -= atomic_load_explicit(&gort__fing_system, memory_order_relaxed);
    n -= atomic_load_explicit(&gort__trace_sysgs, memory_order_relaxed);
    if (plain)
        gort__foreign_unpin();
    return n < 1 ? 1 : (int)n;
}

int64_t gort_goid(void) {
    struct g *gp = gort__getg();
    return gp ? gp->goid : 0;
}

/* The CPUs of the affinity mask now (Go's getproccount). */
static int ncpu_read(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Go's ncpu: read as gort_main starts (ncpu_read), as Go's osinit reads it
 * at the process's start; 0 before the first run.  Relaxed: written by
 * gort_main's thread before it starts any other of the run, read by any
 * thread, a plain one's read at worst the last run's value. */
static _Atomic int ncpu;

int gort__ncpu(void) {
    int n = atomic_load_explicit(&ncpu, memory_order_relaxed);
    return n > 0 ? n : ncpu_read();
}

int gort_numcpu(void) {
    /* A preemption point, as every public call (see gort_gc). */
    gort__preempt_check(gort__getg());
    return gort__ncpu();
}

/* ------------------------------------------------------------------ LockOSThread */

void gort_lock_os_thread(void) {
    struct g *gp = gort__getg();
    if (gp == NULL)
        return;
    if (gp->lockedext == UINT32_MAX)
        gort__throw("LockOSThread nesting overflow");
    gp->lockedext++;
    gp->lockedm = gp->m;
    gp->m->lockedg = gp;
}

void gort_unlock_os_thread(void) {
    struct g *gp = gort__getg();
    if (gp == NULL || gp->lockedext == 0)
        return;
    gp->lockedext--;
    if (gp->lockedext == 0 && gp->lockedint == 0) {
        gp->m->lockedg = NULL;
        gp->lockedm = NULL;
    }
}

/* ------------------------------------------------------------------ checkdead */

typedef struct deadcount {
    int64_t waiting;
    struct g *bad;
} deadcount;

static void count_g(struct g *gp, void *arg) {
    deadcount *dc = arg;
    switch (atomic_load_explicit(&gp->status, memory_order_relaxed)) {
    case G_WAITING:
        dc->waiting++;
        break;
    case G_RUNNABLE:
    case G_RUNNING:
    case G_SYSCALL:
        dc->bad = gp;
        break;
    default:
        break;
    }
}

/* Threads of this process, from /proc/self/stat (field 20), or -1. */
static int process_threads(void) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* After ") " come fields 3 (state) .. : num_threads is field 20. */
    int field = 2;
    for (; *p && field < 20; p++)
        if (*p == ' ')
            field++;
    return *p ? atoi(p) : -1;
}

/* Threads the runtime itself made and that still run.  sched.lock held. */
static int runtime_threads(void) {
    int n = gort__sched.sysmon_started ? 1 : 0;
    for (struct m *mp = gort__sched.allm; mp; mp = mp->alllink)
        if (mp->thread_started && !atomic_load_explicit(&mp->thread_done, memory_order_acquire))
            n++;
    return n;
}

/* Check for deadlock situation.  The check is based on number of running
 * M's; if 0 -> deadlock.  sched.lock must be held.
 *
 * Threads outside the runtime can wake goroutines (gort_go, channel sends)
 * at any time, and we cannot see them coming: while one blocks in a gort
 * call, or has called into gort and is still alive, or simply exists
 * (the process has more threads than it had when gort_main started plus the
 * runtime's own), no deadlock is reported.  Go behaves the same way once
 * cgo has made an extra M for a C thread. */
static void checkdead(void) {
    if (!gort__runtime_running() ||
        atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed))
        return;
    int64_t mcount = gort__sched.mnext - gort__sched.nmfreed;
    int64_t run = mcount - gort__sched.nmidle - gort__sched.nmidlelocked;
    if (run > 0)
        return;
    if (run < 0) {
        gort__printf("runtime: checkdead: nmidle=%d nmidlelocked=%d mcount=%lld\n",
                     gort__sched.nmidle, gort__sched.nmidlelocked, (long long)mcount);
        gort__throw("checkdead: inconsistent counts");
    }
    /* Threads outside the runtime may still wake someone. */
    if (atomic_load_explicit(&gort__sched.nforeign_blocked, memory_order_seq_cst) > 0 ||
        atomic_load_explicit(&nforeign_alive, memory_order_seq_cst) > 0)
        return;
    if (atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed) > 0)
        return;
    int nthreads = process_threads();
    if (nthreads > gort__sched.baseline_threads + runtime_threads())
        return;
    deadcount dc = {0, NULL};
    gort__forallg(count_g, &dc);
    if (dc.bad) {
        /* A runnable g with every M idle: only possible while a goroutine is
         * being handed between Ms; not a deadlock. */
        return;
    }
    if (dc.waiting == 0) {
        gort__unlock(&gort__sched.lock);
        gort__fatal("no goroutines (main called runtime.Goexit) - deadlock!");
    }
    /* A pending timer will wake someone (the poller waits for it). */
    if (gort__timers_pending())
        return;
    gort__unlock(&gort__sched.lock);
    gort__fatal("all goroutines are asleep - deadlock!");
}

/* ------------------------------------------------------------------ stop the world */

/* Asks every running goroutine but the caller to yield (Go's preemptone
 * skips the caller's own M: a stop-the-world must not preempt the
 * goroutine that is stopping the world). */
static void preemptall(void) {
    struct g *self = gort__getg();
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        struct p *pp = gort__allp[i];
        if (pp == NULL)
            break;
        struct g *gp = atomic_load_explicit(&pp->runningg, memory_order_acquire);
        if (gp && gp != self)
            atomic_store_explicit(&gp->preempt, true, memory_order_relaxed);
    }
}

/* Takes every P that sits in a blocking call for the stop-the-world in
 * progress.  sched.lock held, gcwaiting set (seq_cst): the Dekker partner
 * of gort_syscall_enter's seq_cst P_SYSCALL store and gcwaiting load; the
 * CAS decides who stops the P when both see each other. */
static void stop_syscallps(void) {
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < procs; i++) {
        struct p *pp = gort__allp[i];
        uint32_t exp = P_SYSCALL;
        if (pp != NULL &&
            atomic_compare_exchange_strong_explicit(&pp->status, &exp, P_GCSTOP,
                                                    memory_order_seq_cst, memory_order_relaxed))
            gort__sched.stopwait--;
    }
}

/* How long a stop of the world waits before it names the goroutines it
 * waits for (gort__stw_report_wait). */
#define STW_REPORT_NS (1000 * 1000 * 1000)

/* suspend: where threads that cannot be preempted at once may stop inside
 * the signal handler (preempt.c), keeping their P (GORT__STW_SUSPEND_*);
 * nowhere for GOMAXPROCS, whose procresize may take those Ps away. */
/* Returns false, stopping nothing, when the runtime does not run once
 * worldsema is held: only a thread outside the runtime can find it so
 * (world_hold keeps the flag as it is while worldsema is held).  Then
 * worldsema is released, or kept if keep (gort__stop_the_world_if_running). */
static bool stop_the_world(const char *reason, int suspend, bool keep) {
    forked_child_check(); /* the other Ps' threads are gone */
    gort__mutex_lock_sema(&worldsema, false);
    if (!gort__runtime_running()) {
        if (!keep)
            gort_mutex_unlock(&worldsema);
        return false;
    }
    gort__stw_allow_suspend(suspend);
    struct m *mp = gort__getm();
    struct p *mine = mp ? mp->p : NULL;
    gort__lock(&gort__sched.lock);
    gort__sched.stopwait = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    atomic_store_explicit(&gort__sched.gcwaiting, 1, memory_order_seq_cst);
    gort__noteclear(&gort__sched.stopnote);
    preemptall();
    if (mine) {
        atomic_store_explicit(&mine->status, P_GCSTOP, memory_order_relaxed);
        gort__sched.stopwait--;
    }
    /* Stop Ps in blocking calls. */
    stop_syscallps();
    /* Stop idle Ps. */
    struct p *pp;
    while ((pp = pidleget()) != NULL) {
        atomic_store_explicit(&pp->status, P_GCSTOP, memory_order_relaxed);
        gort__sched.stopwait--;
    }
    bool wait = gort__sched.stopwait > 0;
    gort__unlock(&gort__sched.lock);
    if (wait) {
        /* Goroutines that make no gort call are reached by the signal
         * (Go's preemptall preempts asynchronously at once too). */
        gort__stw_signal();
        int64_t start = gort_nanotime();
        bool told = false;
        for (;;) {
            /* Wait for 100us, then try to re-preempt in case of any races
             * (a signal that found the thread in runtime code). */
            if (gort__notetsleep(&gort__sched.stopnote, 100 * 1000))
                break;
            preemptall();
            gort__stw_signal();
            /* A goroutine no signal stops (under ThreadSanitizer, or with
             * the signal blocked) holds the world until its next gort
             * call: after a second, say so once instead of hanging
             * silently. */
            int64_t waited = gort_nanotime() - start;
            if (!told && waited >= STW_REPORT_NS) {
                told = true;
                gort__stw_report_wait(reason, waited);
            }
        }
    }
    gort__noteclear(&gort__sched.stopnote);
    return true;
}

void gort__stop_the_world(const char *reason) {
    if (!stop_the_world(reason, GORT__STW_SUSPEND_ANY, false))
        gort__throw("stop the world: the runtime is not running");
}

bool gort__stop_the_world_if_running(const char *reason) {
    return stop_the_world(reason, GORT__STW_SUSPEND_ANY, true);
}

void gort__start_the_world_if(bool stopped) {
    if (stopped)
        gort__start_the_world();
    else
        gort_mutex_unlock(&worldsema);
}

void gort__stop_the_world_malloc(const char *reason) {
    if (!stop_the_world(reason, GORT__STW_SUSPEND_USER, false))
        gort__throw("stop the world: the runtime is not running");
}

/*
 * Go's freezetheworld, for a fatal report (an unrecovered panic, a SIGQUIT
 * dump): best effort, never waiting for an answer.  The scheduler stops
 * handing out goroutines (gcwaiting, with a stopwait no stop can count
 * down to zero, so no stop of the world is ever "done" and none restarts
 * it) and the running goroutines are asked to yield, those at an
 * async-safe point by the signal, five times a millisecond apart: the
 * dump then finds them runnable with their frames instead of "running on
 * other thread", as Go's does, and they print nothing more.  No thread is
 * suspended inside the signal handler (it could hold malloc's lock, which
 * the dump takes).  The caller holds no runtime lock (it takes sched.lock)
 * and never runs goroutines again.
 */
void gort__freeze_the_world(void) {
    if (!gort__runtime_running() || gort__tls_locks != 0)
        return;
    gort__stw_allow_suspend(GORT__STW_SUSPEND_NONE);
    for (int i = 0; i < 5; i++) {
        gort__lock(&gort__sched.lock);
        gort__sched.stopwait = INT32_MAX; /* Go's freezeStopWait */
        /* seq_cst, as stop_the_world's: the Dekker partner of the Ms'
         * gcwaiting checks. */
        atomic_store_explicit(&gort__sched.gcwaiting, 1, memory_order_seq_cst);
        preemptall();
        gort__unlock(&gort__sched.lock);
        gort__stw_signal();
        usleep(1000);
    }
}

/* Allocates allp[0..nprocs) where missing.  0 or -ENOMEM (the Ps made so
 * far stay, freed at shutdown). */
static int allocp(int32_t nprocs) {
    for (int32_t i = 0; i < nprocs; i++) {
        if (gort__allp[i] == NULL) {
            struct p *pp = gort__fixalloc(sizeof *pp); /* sched.lock held */
            if (pp == NULL)
                return -ENOMEM;
            pp->id = i;
            atomic_store_explicit(&pp->status, P_GCSTOP, memory_order_relaxed);
            gort__allp[i] = pp;
        }
    }
    return 0;
}

/* Change number of processors.  The world is stopped; sched.lock is held.
 * Returns the list of Ps with local work (linked through link). */
static struct p *procresize(int32_t nprocs) {
    int32_t old = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    if (allocp(nprocs) != 0)
        gort__throw("procresize: out of memory");
    /* Free unused Ps: move their run queues to the global queue, keeping
     * order (runnext first), and their free gs to the global free list. */
    for (int32_t i = nprocs; i < old; i++) {
        struct p *pp = gort__allp[i];
        if (pp->m != NULL && atomic_load_explicit(&pp->m->stwsuspended, memory_order_relaxed))
            gort__throw("procresize: P of a suspended M"); /* stop_the_world(false) */
        runq_to_global(pp);
        gort__lock(&gort__sched.gflock);
        gfpush_global(pp->gfree, (uint32_t)pp->gfreecnt);
        gort__unlock(&gort__sched.gflock);
        pp->gfreecnt = 0;
        atomic_store_explicit(&pp->status, P_DEAD, memory_order_relaxed);
        /* Its timers go to allp[0] (Go moves them to the current P); after
         * the status store, so that an adder that takes pp's timers lock
         * after us sees P_DEAD (time.c addtimer). */
        gort__timers_move(pp, gort__allp[0]);
    }
    struct m *mp = gort__getm();
    if (mp && mp->p && mp->p->id < nprocs) {
        /* continue to use the current P */
        atomic_store_explicit(&mp->p->status, P_RUNNING, memory_order_relaxed);
    } else if (mp && mp->curg) {
        /* release the current P and acquire allp[0] */
        if (mp->p) {
            GORT_TRACE(gort__trace_gosched(mp->curg, false));
            GORT_TRACE(gort__trace_procstop(mp));
            mp->p->m = NULL;
            mp->p = NULL;
        }
        struct p *p0 = gort__allp[0];
        p0->m = NULL;
        acquirep(mp, p0);
        GORT_TRACE(gort__trace_gostart(mp, mp->curg));
        if (mp->curg)
            atomic_store_explicit(&p0->runningg, mp->curg, memory_order_relaxed);
    }
    atomic_store_explicit(&gort__sched.gomaxprocs, nprocs, memory_order_seq_cst);
    reset_order((uint32_t)nprocs);
    gort__sched.pidle = NULL;
    atomic_store_explicit(&gort__sched.npidle, 0, memory_order_relaxed);
    struct p *runnable = NULL;
    for (int32_t i = nprocs - 1; i >= 0; i--) {
        struct p *pp = gort__allp[i];
        if (mp && mp->p == pp)
            continue;
        if (pp->m != NULL && atomic_load_explicit(&pp->m->stwsuspended, memory_order_relaxed)) {
            /* Its M stopped in the signal handler keeping it (preempt.c). */
            atomic_store_explicit(&pp->status, P_RUNNING, memory_order_relaxed);
            continue;
        }
        pp->m = NULL;
        atomic_store_explicit(&pp->status, P_IDLE, memory_order_relaxed);
        if (runqempty(pp)) {
            pidleput(pp);
        } else {
            pp->link = runnable;
            runnable = pp;
        }
    }
    return runnable;
}

/* Restarts the world stopped by stop_the_world with n Ps (procresize),
 * releasing worldsema. */
static void start_the_world_with(int32_t n) {
    gort__lock(&gort__sched.lock);
    struct p *runnable = procresize(n);
    atomic_store_explicit(&gort__sched.gcwaiting, 0, memory_order_seq_cst);
    gort__unlock(&gort__sched.lock);
    gort__stw_wake_suspended();
    /* Until the next stop sets its own. */
    gort__stw_allow_suspend(GORT__STW_SUSPEND_NONE);
    while (runnable) {
        struct p *pp = runnable;
        runnable = pp->link;
        startm(pp, false);
    }
    /* Before worldsema goes, as Go's startTheWorldWithSema: a thread
     * outside the runtime that woke an M after it let main's return take
     * worldsema started that M beside the tear-down (SIGSEGV in the new
     * thread's mstart_native). */
    gort__wakep();
    gort_mutex_unlock(&worldsema);
}

void gort__start_the_world(void) {
    start_the_world_with(atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed));
}

static int32_t gomaxprocs_from_env(void) {
    const char *s = getenv("GOMAXPROCS");
    /* As Go's schedinit: a number Go's atoi32 reads, above 0 (a blank, a
     * sign or a number past int32 is ignored), capped to GORT_MAX_PROCS. */
    int32_t v;
    if (s != NULL && gort__atoi32(s, strlen(s), &v) && v > 0)
        return v > GORT_MAX_PROCS ? GORT_MAX_PROCS : v;
    /* Go 1.25's default: the CPUs of the affinity mask, lowered to the
     * cgroup CPU limit rounded up, but not below 2 for a limit. */
    int n = gort__ncpu();
    double limit = gort__cgroup_cpu_limit();
    if (limit > 0) {
        int l = (int)limit;
        if ((double)l < limit)
            l++;
        if (l < 2)
            l = 2;
        if (l < n)
            n = l;
    }
    return n > GORT_MAX_PROCS ? GORT_MAX_PROCS : n;
}

int gort_gomaxprocs(int n) {
    /* A change is a preemption point: it stops the world (see gort_gc).
     * A query is not (the collector asks, holding runtime locks). */
    if (n > 0)
        gort__preempt_check(gort__getg());
    if (!gort__runtime_running()) {
not_running:;
        int32_t next = atomic_load_explicit(&gomaxprocs_next, memory_order_relaxed);
        int prev = next > 0 ? next : gomaxprocs_from_env();
        if (n > 0)
            atomic_store_explicit(&gomaxprocs_next, n > GORT_MAX_PROCS ? GORT_MAX_PROCS : n,
                                  memory_order_relaxed);
        return prev;
    }
    int prev = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    if (n <= 0 || n == prev)
        return prev;
    if (n > GORT_MAX_PROCS)
        n = GORT_MAX_PROCS;
    /* Takes worldsema: a plain thread's call while gort_main returns
     * waits for the runtime to be gone, and then sets the next run's. */
    if (!stop_the_world("GOMAXPROCS", GORT__STW_SUSPEND_NONE, false))
        goto not_running;
    prev = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    start_the_world_with(n);
    return prev;
}

/* ------------------------------------------------------------------ stack scavenging */

/* Bytes at the top of a stack kept when scavenging: the struct g and the
 * first frames live there, and they are touched again at once on reuse. */
#define SCAVENGE_KEEP (16 * 1024)

/* One scavenger at a time: sysmon's periodic one skips a turn while
 * gort_free_os_memory's runs, which waits for sysmon's.  Acquire/release:
 * the second sees the first's updates of the pool's marks (which the
 * gflock orders anyway) and its madvise calls done. */
static _Atomic int scavenging;

/* Returns the stack pages of the pool's slots [lo, hi): all but the top
 * SCAVENGE_KEEP bytes, or (deep) all but the page(s) of the struct g.
 * The slots are reserved (gfresv) so that nobody takes them while the
 * madvise calls run unlocked; the pool's array may move (allgadd), so the
 * pointers are read under the lock, a batch at a time.  Then the slots
 * below hi are cold, and the low-water mark starts again at gfn. */
static void scavenge_slots(uint32_t lo, uint32_t hi, bool deep) {
    for (uint32_t i = lo; i < hi;) {
        struct g *batch[64];
        uint32_t n = hi - i < 64 ? hi - i : 64;
        gort__lock(&gort__sched.gflock);
        memcpy(batch, gort__sched.gfa + i, n * sizeof batch[0]);
        gort__unlock(&gort__sched.gflock);
        for (uint32_t k = 0; k < n; k++) {
            struct g *c = batch[k];
            uintptr_t top = deep ? (uintptr_t)c : c->stack.hi - SCAVENGE_KEEP;
            top &= ~(uintptr_t)(GORT__PAGE - 1);
            if (top > c->stack.lo) {
                san_unpoison((void *)c->stack.lo, top - c->stack.lo);
                madvise((void *)c->stack.lo, top - c->stack.lo, MADV_DONTNEED);
            }
            if (c->stack.guard == GUARD_CANARY)
                *(volatile uint64_t *)c->stack.lo = GORT__STACK_CANARY;
        }
        i += n;
    }
    gort__lock(&gort__sched.gflock);
    if (gort__sched.gfcold < hi)
        gort__sched.gfcold = hi;
    gort__sched.gfresv = 0;
    gort__sched.gflow = atomic_load_explicit(&gort__sched.gfn, memory_order_relaxed);
    gort__unlock(&gort__sched.gflock);
}

/* Returns the stack pages of dead goroutines that sat unused in the global
 * free pool for a whole period (ARCHITECTURE.md decision 3).  Called by
 * sysmon about once a second.  The slots below the pool's low-water mark
 * since the last call were not taken during that period: the warm ones
 * among them (above gfcold) are scavenged and become cold.  gfget takes
 * from the top, so a busy pool is never scavenged. */
void gort__stack_scavenge(void) {
    if (atomic_exchange_explicit(&scavenging, 1, memory_order_acquire) != 0)
        return;
    gort__lock(&gort__sched.gflock);
    uint32_t lo = gort__sched.gfcold, hi = gort__sched.gflow;
    if (hi <= lo) {
        gort__sched.gflow = atomic_load_explicit(&gort__sched.gfn, memory_order_relaxed);
        gort__unlock(&gort__sched.gflock);
    } else {
        gort__sched.gfresv = hi;
        gort__unlock(&gort__sched.gflock);
        scavenge_slots(lo, hi, false);
    }
    atomic_store_explicit(&scavenging, 0, memory_order_release);
}

/* gort_free_os_memory's part (Go frees dead goroutines' stacks at every
 * collection): every stack in the global pool keeps only the page(s) of
 * its struct g, which the pool needs.  The gs on the Ps' own free lists
 * (a few dozen each) are left warm. */
void gort__stack_scavenge_all(void) {
    while (atomic_exchange_explicit(&scavenging, 1, memory_order_acquire) != 0) {
        struct timespec ts = {0, 100 * 1000};
        nanosleep(&ts, NULL); /* sysmon's turn is short */
    }
    gort__lock(&gort__sched.gflock);
    uint32_t hi = atomic_load_explicit(&gort__sched.gfn, memory_order_relaxed);
    gort__sched.gfresv = hi;
    gort__unlock(&gort__sched.gflock);
    scavenge_slots(0, hi, true);
    atomic_store_explicit(&scavenging, 0, memory_order_release);
}

/* ------------------------------------------------------------------ sysmon */

/*
 * sysmon sleeps on a futex word so that gort_syscall_enter can cut a long
 * sleep short: a P in a blocking call is retaken after one sysmon period
 * (~20 us) only if sysmon is not in a 10 ms back-off.  sysmon_deep says
 * it sleeps 1 ms or more; a kick is a store of 1 and a futex wake.  A
 * kick lost to a stale sysmon_deep only delays the retake to the end of
 * the sleep; a kick that comes after the sleep makes the next one short.
 */
static _Atomic uint32_t sysmon_kick; /* [atomic] futex word: 1 = wake now */
static _Atomic uint32_t sysmon_deep; /* [atomic] 1 while sysmon sleeps >= 1 ms */
static _Atomic uint32_t sysmon_quit; /* [atomic] shutdown asks sysmon to leave */

/* Sleeps up to delay ns or until kicked; true if sysmon must leave. */
static bool sysmon_sleep(int64_t delay) {
    atomic_store_explicit(&sysmon_deep, delay >= 1000 * 1000, memory_order_relaxed);
    if (atomic_load_explicit(&sysmon_kick, memory_order_relaxed) == 0)
        gort__futexsleep(&sysmon_kick, 0, delay);
    atomic_store_explicit(&sysmon_deep, 0, memory_order_relaxed);
    atomic_store_explicit(&sysmon_kick, 0, memory_order_relaxed);
    /* Acquire: pairs with shutdown's release store. */
    return atomic_load_explicit(&sysmon_quit, memory_order_acquire) != 0;
}

static void sysmon_wake(void) {
    if (atomic_exchange_explicit(&sysmon_kick, 1, memory_order_relaxed) == 0)
        gort__futexwakeup(&sysmon_kick, 1);
}

/* Set on sysmon's thread (the SIGQUIT hand-off must not wait for itself). */
static __thread bool tls_is_sysmon __attribute__((tls_model("initial-exec")));

bool gort__sysmon_quit_request(void) {
    /* A child forked inside gort_main has a copy of sysmon_started but no
     * sysmon: the signal handler reports by itself there (a fault waited
     * 10 s for it, and a SIGQUIT was lost). */
    if (tls_is_sysmon || !gort__sched.sysmon_started ||
        atomic_load_explicit(&forked_child, memory_order_relaxed) ||
        atomic_load_explicit(&sysmon_quit, memory_order_relaxed) != 0)
        return false;
    sysmon_wake(); /* an atomic exchange and a futex wake: async-signal-safe */
    return true;
}

bool gort__sysmon_kick(void) {
    if (!gort__sched.sysmon_started || atomic_load_explicit(&forked_child, memory_order_relaxed) ||
        atomic_load_explicit(&sysmon_quit, memory_order_relaxed) != 0)
        return false;
    sysmon_wake();
    return true;
}

/* A timer became the earliest of a busy P while no P is idle: sysmon, if
 * in a long sleep, wakes to sleep until that timer instead, and preempts
 * the P then (a goroutine that never yields would hold the timer back). */
static void sysmon_timer_kick(void) {
    if (atomic_load_explicit(&sysmon_deep, memory_order_relaxed))
        sysmon_wake();
}

/* Returns the number of Ps taken back from blocking calls; *insyscall
 * counts the Ps found in one.  Preemption requests are not counted.
 * away: how long sysmon overslept (SYSMON_AWAY_NS), time no goroutine
 * ran for, which a P's slice does not count. */
static uint32_t retake(int64_t now, int64_t away, uint32_t *insyscall) {
    uint32_t n = 0;
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < procs; i++) {
        struct p *pp = gort__allp[i];
        if (pp == NULL)
            continue;
        /* The process was stopped: the slice's clock stops with it (the
         * blocking-call report of a program continued under gdb counted
         * the time it sat at a breakpoint).  Relaxed, as every access to
         * schedwhen: a clock reading that publishes nothing. */
        int64_t when = atomic_load_explicit(&pp->schedwhen, memory_order_relaxed);
        if (away != 0 && when != 0)
            atomic_store_explicit(&pp->schedwhen, when + away, memory_order_relaxed);
        uint32_t st = atomic_load_explicit(&pp->status, memory_order_relaxed);
        if (st == P_SYSCALL) {
            (*insyscall)++;
            /* Retake P from syscall if it's there for more than 1 sysmon
             * tick (at least 20us). */
            uint32_t t = atomic_load_explicit(&pp->syscalltick, memory_order_relaxed);
            if (pp->sysmonsyscalltick != t) {
                pp->sysmonsyscalltick = t;
                pp->syscallseen = now;
                continue;
            }
            /* On the one hand we don't want to retake Ps if there is no
             * other work to do, but on the other hand we want to retake
             * them eventually because they can prevent the sysmon thread
             * from deep sleep (proc.go). */
            if (runqempty(pp) &&
                atomic_load_explicit(&gort__sched.nmspinning, memory_order_seq_cst) +
                        atomic_load_explicit(&gort__sched.npidle, memory_order_seq_cst) >
                    0 &&
                pp->syscallseen + SYSMON_MAXDELAY_NS > now)
                continue;
            /* Acquire: pairs with gort_syscall_enter's store; the P's state
             * is ours after a successful CAS (its M, when it returns, finds
             * the P gone and takes another). */
            uint32_t exp = P_SYSCALL;
            if (atomic_compare_exchange_strong_explicit(
                    &pp->status, &exp, P_IDLE, memory_order_acq_rel, memory_order_relaxed)) {
                n++;
                handoffp(pp);
            }
            continue;
        }
        /* Stopped for a stop of the world: the P's goroutine (the
         * stopper, or one suspended in the signal handler) runs on after
         * the restart without a schedule(), and its slice with it, so the
         * slice's clock runs on through the stop (forgetting the
         * observation restarted it at every look).  A slice that ends, or
         * a timer that falls due, during the stop asks that goroutine to
         * yield at its next check, without the signal: the stopper is in
         * the runtime's code and a suspended one in the handler, where no
         * signal preempts.  A goroutine that stops the world in a loop
         * (gort_stack of all) has its P stopped nearly all the time: when
         * only a running P was asked, its P's timers waited for seconds
         * (heap.all_stacks_in_a_loop_lets_timers_fire, at one P). */
        bool stopped = st == P_GCSTOP;
        if (st != P_RUNNING && !stopped) {
            /* Idle: the observation is forgotten (schedwhen 0).
             * A goroutine leaving a blocking call may take this P from the
             * idle list and run on without a schedule(), so schedtick
             * would not tell sysmon a new slice began: its start would be
             * this P's last one, any time ago.  tramp_preempt's store may
             * race with this one only while the P runs: either value
             * restarts the clock within a sysmon period. */
            atomic_store_explicit(&pp->schedwhen, 0, memory_order_relaxed);
            continue;
        }
        /* Preempt G if it's running for too long. */
        uint32_t t = atomic_load_explicit(&pp->schedtick, memory_order_relaxed);
        int64_t since = atomic_load_explicit(&pp->schedwhen, memory_order_relaxed);
        if (pp->sysmontick != t || since == 0) {
            pp->sysmontick = t;
            atomic_store_explicit(&pp->schedwhen, now, memory_order_relaxed);
            continue;
        }
        if (!atomic_load_explicit(&gort__sysmon_nopreempt, memory_order_relaxed)) {
            /* The slice is over, or a timer of this P is overdue (it runs
             * only when the P schedules: the goroutine must yield for it;
             * not in Go, whose timers wait for the slice's end). */
            int64_t tw = gort__timers_next(pp);
            if (since + FORCE_PREEMPT_NS <= now || (tw != 0 && tw <= now)) {
                struct g *gp = atomic_load_explicit(&pp->runningg, memory_order_acquire);
                if (gp) {
                    atomic_store_explicit(&gp->preempt, true, memory_order_relaxed);
                    if (!stopped)
                        gort__sysmon_preempt(pp, gp, now, since);
                }
            }
        }
    }
    return n;
}

static void *sysmon(void *arg) {
    san_ignore_begin(); /* runtime only, for good (san.h) */
    (void)arg;
    tls_is_sysmon = true;
    pthread_setname_np(pthread_self(), "gort sysmon");
    /* The mask it inherited from gort_main's caller, which
     * gort__sigqueue_sysmon lifts the notified signals from, with the
     * dump signals blocked: a process-directed SIGQUIT or SIGABRT (kill
     * -QUIT) goes to a thread that runs goroutines, whose dump names its
     * M and goroutine, as Go's.  Taken here, the dump said m=-1, for
     * sysmon is no M.  SIGQUIT cannot be notified; a notified SIGABRT is
     * lifted again. */
    sigset_t sigbase;
    pthread_sigmask(SIG_SETMASK, NULL, &sigbase);
    sigaddset(&sigbase, SIGQUIT);
    sigaddset(&sigbase, SIGABRT);
    pthread_sigmask(SIG_SETMASK, &sigbase, NULL);
    uint32_t sigseen = 0;
    int64_t delay = SYSMON_MINDELAY_NS;
    int64_t lastscavenge = gort_nanotime();
    int64_t lastnow = lastscavenge; /* the last round's clock reading */
    int idle = 0;
    for (;;) {
        if (idle == 0)
            delay = SYSMON_MINDELAY_NS;
        else if (idle > SYSMON_IDLE_ROUNDS)
            delay *= 2;
        if (delay > SYSMON_MAXDELAY_NS)
            delay = SYSMON_MAXDELAY_NS;
        /* Every P busy: no idle M polls for the timers, which wait for
         * their P's next schedule(); wake when the earliest is due, to
         * preempt its P (retake). */
        int64_t sleep = delay;
        if (atomic_load_explicit(&gort__sched.npidle, memory_order_relaxed) == 0) {
            int64_t next = gort__timers_earliest();
            if (next != 0) {
                int64_t d = next - gort_nanotime();
                if (d < sleep)
                    sleep = d < SYSMON_MINDELAY_NS ? SYSMON_MINDELAY_NS : d;
            }
        }
        /* From the last round's clock reading, not from now: a stop that
         * fell in the last round's work, after that reading, is time away
         * too (counted from here, a stop there went unseen: a test's
         * blocking-call report counted its 3 s stop, in one asan run in
         * CI). */
        int64_t due = lastnow + sleep;
        if (sysmon_sleep(sleep))
            break;
        if (GORT_UNLIKELY(gort__quit_pending()))
            gort__quit_dump(); /* SIGQUIT's, handed off by its handler; exits */
        gort__sigqueue_sysmon(&sigseen, &sigbase);
        int64_t now = gort_nanotime();
        int64_t away = now - due >= SYSMON_AWAY_NS ? now - due : 0;
        lastnow = now;
        atomic_store_explicit(&coarse_now, now, memory_order_relaxed);
        /* A test's stand-in for a round's work that takes long. */
        int64_t stall = atomic_load_explicit(&gort__sysmon_stall_ns, memory_order_relaxed);
        if (GORT_UNLIKELY(stall > 0)) {
            struct timespec ts = {stall / 1000000000, stall % 1000000000};
            nanosleep(&ts, NULL);
        }
        /* Poll the network if it was not polled for more than 10ms, and no
         * M is blocked in it (every P busy). */
        int64_t lastpoll = atomic_load_explicit(&gort__sched.lastpoll, memory_order_relaxed);
        if (gort__netpoll_waiters() > 0 &&
            atomic_load_explicit(&poller_until, memory_order_relaxed) == 0 &&
            lastpoll + SYSMON_MAXDELAY_NS < now) {
            struct g *list = gort__netpoll(0);
            injectglist(NULL, list);
        }
        /* As Go's sysmon: back off (up to 10 ms) unless retake took a P
         * back from a blocking call or a P is in one; preemption requests
         * alone don't count, so a busy but healthy program is not polled
         * every 20 us. */
        uint32_t insyscall = 0;
        if (retake(now, away, &insyscall) != 0 || insyscall != 0)
            idle = 0;
        else
            idle++;
        gort__schedtrace_tick(now);
        gort__prof_sysmon(now);
        /* Backstop for timers: one overdue and nobody sleeping on it (or
         * sleeping past it): wake an M (Go: startm when timeSleepUntil()
         * has passed). */
        int64_t next = gort__timers_earliest();
        if (next != 0 && next < now)
            gort__timer_wake(next, false);
        if (now - lastscavenge >= 1000 * 1000 * 1000) {
            lastscavenge = now;
            gort__stack_scavenge();
        }
        gort__heap_scavenge_tick(now);
    }
    san_ignore_end();
    return NULL;
}

/* ------------------------------------------------------------------ blocking calls */

/*
 * Go's entersyscall/exitsyscall.  enter gives up the P without handing it
 * to anyone: the P sits in P_SYSCALL with no M, and whoever CASes it out of
 * that state owns it: our own exit (fast path, the common case for a short
 * call), sysmon's retake (the call took more than one sysmon period; the P
 * goes to another M through handoffp), or a stop-the-world.  The goroutine
 * keeps running on this M meanwhile; on exit it takes its old P back, or an
 * idle one, or queues itself and parks its M (exitsyscall0).
 */

/* The stop-the-world that started while we entered wants our P. */
static void entersyscall_gcwait(struct p *pp) {
    gort__lock(&gort__sched.lock);
    uint32_t exp = P_SYSCALL;
    if (gort__sched.stopwait > 0 &&
        atomic_compare_exchange_strong_explicit(&pp->status, &exp, P_GCSTOP, memory_order_seq_cst,
                                                memory_order_relaxed)) {
        if (--gort__sched.stopwait == 0)
            gort__notewakeup(&gort__sched.stopnote);
    }
    gort__unlock(&gort__sched.lock);
}

/* The registers gort_syscall_enter's assembly entry stores (arch.h). */
__thread uintptr_t gort__sysregs[GORT__SYSREGS] __attribute__((tls_model("initial-exec")));

/* gort_syscall_enter's body: its assembly entry (switch_<arch>.S) jumps
 * here with no frame of its own, so our caller is the user's. */
GORT_NOINLINE void gort__syscall_enter(void) {
    struct m *mp = gort__getm();
    if (mp == NULL || mp->curg == NULL)
        return;           /* a thread outside the runtime, or g0: nothing to hand off */
    if (mp->oldp != NULL) /* before the test of p, which the first enter cleared */
        gort__throw("entersyscall: already in a blocking call");
    if (mp->p == NULL)
        return;
    struct g *gp = mp->curg;
    struct p *pp = mp->p;
    GORT_TRACE(gort__trace_gosyscall(gp));
    GORT_COUNTER_INC(pp->syscalltick);
    gp->waitsince = atomic_load_explicit(&coarse_now, memory_order_relaxed);
    /* Where a dump unwinds from while we are away (Go's syscallpc/sp): our
     * caller's frame outlives this call until the matching exit. */
    gp->syscallpc = (uintptr_t)__builtin_return_address(0);
    gp->syscallfp = *(const uintptr_t *)__builtin_frame_address(0);
    /* The collector reads them while the call runs: in the final pause
     * after taking our P from P_SYSCALL with an acquire CAS, which pairs
     * with the seq_cst store of P_SYSCALL below (so it sees these); a
     * concurrent scan that reads them half-written is made good by that
     * rescan.  The copy is libc's memcpy, which a user's ThreadSanitizer
     * intercepts: no access of the user's goroutine (san.h), which read
     * the TLS of an M made by another goroutine as a race with its
     * thread's TLS set-up. */
    san_ignore_begin();
    memcpy(gp->sysregs, gort__sysregs, sizeof gp->sysregs);
    san_ignore_end();
    atomic_store_explicit(&gp->status, G_SYSCALL, memory_order_relaxed);
    atomic_store_explicit(&pp->runningg, NULL, memory_order_relaxed);
    pp->m = NULL;
    mp->oldp = pp;
    mp->p = NULL;
    /* seq_cst (a release, and the store half of the Dekker pair with
     * stop_syscallps): what we wrote while owning the P (its run queue,
     * caches) is visible to whoever takes it with an acquire CAS. */
    atomic_store_explicit(&pp->status, P_SYSCALL, memory_order_seq_cst);
    if (GORT_UNLIKELY(atomic_load_explicit(&gort__sched.gcwaiting, memory_order_seq_cst)))
        entersyscall_gcwait(pp);
    /* Make sure sysmon looks soon, not after a 10 ms back-off. */
    if (!mp->syscall_nokick && atomic_load_explicit(&sysmon_deep, memory_order_relaxed))
        sysmon_wake();
}

/* exitsyscall0's body on g0: 1 = got an idle P, run gp; 0 = gp queued. */
static TSAN_OUTLINE bool exitsyscall0_body(struct g *gp, struct m *mp) {
    atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_relaxed);
    gp->m = NULL;
    gort__lock(&gort__sched.lock);
    struct p *pp = NULL;
    if (!atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) &&
        !atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed))
        pp = pidleget();
    if (pp == NULL)
        globrunqput(gp);
    gort__unlock(&gort__sched.lock);
    if (pp == NULL)
        return false;
    acquirep(mp, pp);
    gp->m = mp;
    return true;
}

/* Go's exitsyscall0, on g0: no P came back; take an idle one or queue gp
 * and stop this M (a locked M waits for gp in schedule's stoplockedm). */
GORT_NO_TSAN_FRAME static void exitsyscall0(void *arg) {
    struct g *gp = arg;
    struct m *mp = g0_enter(gp);
    if (exitsyscall0_body(gp, mp))
        execute(mp, gp, false);
    schedule(mp);
}

GORT_API void gort_syscall_exit(void) {
    struct m *mp = gort__getm();
    if (mp == NULL || mp->oldp == NULL)
        return;
    struct g *gp = mp->curg;
    gp->errno_ = errno; /* the call's errno, restored if we switch */
    struct p *pp = mp->oldp;
    mp->oldp = NULL;
    /* Fast path: our P is still parked in P_SYSCALL.  Acquire: pairs with
     * the seq_cst store in enter (ours) or of the last M that entered a
     * call on it, if the P was retaken and lent in between. */
    uint32_t exp = P_SYSCALL;
    if (!atomic_compare_exchange_strong_explicit(&pp->status, &exp, P_RUNNING, memory_order_acq_rel,
                                                 memory_order_relaxed)) {
        pp = NULL;
        /* Try an idle P (exitsyscallfast_pidle). */
        if (atomic_load_explicit(&gort__sched.npidle, memory_order_relaxed) > 0 &&
            !atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed)) {
            gort__lock(&gort__sched.lock);
            if (!atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed))
                pp = pidleget();
            gort__unlock(&gort__sched.lock);
        }
        if (pp == NULL) {
            /* The trace's GoSysExit waits for the P that runs gp next
             * (execute's GoStart); it carries this time. */
            GORT_TRACE(gort__trace_sysexit_stamp(gp));
            eh_save(mp, gp);
            mcall(gp, exitsyscall0); /* resumes with a P, maybe on another M */
            return;
        }
    }
    acquirep(mp, pp);
    GORT_COUNTER_INC(pp->syscalltick);
    /* GoSysExit and GoStart, now that a P is ours (see trace.h). */
    GORT_TRACE(gort__trace_gostart(mp, gp));
    atomic_store_explicit(&gp->status, G_RUNNING, memory_order_relaxed);
    /* Release: as in execute (sysmon's acquire load writes gp->preempt). */
    atomic_store_explicit(&pp->runningg, gp, memory_order_release);
    errno = gp->errno_; /* pidleget's lock may have slept on a futex */
}

/* ------------------------------------------------------------------ stats */

void gort_read_stats(gort_stats *s) {
    memset(s, 0, sizeof *s);
    /* A preemption point, as Go's ReadMemStats (a stop of the world): a
     * goroutine that called this in a loop spent nearly all its time in
     * runtime code, where no signal preempts it, and held every other
     * stop up (before the heap was made this took no stop of its own). */
    gort__preempt_check(gort__getg());
    /* One stop for the heap's figures and the scheduler's: Ps (allp) are
     * freed only with worldsema held (world_hold), which a plain thread's
     * read after the running check raced. */
    bool stw = gort__stop_the_world_if_running("read mem stats");
    gort__heap_read_stats(s);
    if (!stw) {
        gort__start_the_world_if(false);
        return;
    }
    s->goroutines = (uint64_t)gort_numgoroutine();
    s->procs = (uint64_t)atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    s->goroutines_created = atomic_load_explicit(&gort__sched.ngcreated_ext, memory_order_relaxed);
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        struct p *pp = gort__allp[i];
        if (pp == NULL)
            break;
        s->goroutines_created += atomic_load_explicit(&pp->ngcreated, memory_order_relaxed);
        s->context_switches += atomic_load_explicit(&pp->nswitch, memory_order_relaxed);
        s->steals += atomic_load_explicit(&pp->nsteal, memory_order_relaxed);
    }
    gort__lock(&gort__sched.lock);
    s->threads = (uint64_t)(gort__sched.mnext - gort__sched.nmfreed);
    s->idle_threads = (uint64_t)gort__sched.nmidle;
    gort__unlock(&gort__sched.lock);
    s->spinning_threads =
        (uint64_t)atomic_load_explicit(&gort__sched.nmspinning, memory_order_relaxed);
    s->global_runq = (uint64_t)atomic_load_explicit(&gort__sched.runqsize, memory_order_relaxed);
    s->stack_sys_bytes = atomic_load_explicit(&gort__stack_sys_bytes, memory_order_relaxed);
    gort__start_the_world_if(true);
    /* After the restart: mincore over every slab is no pause's work. */
    s->stack_inuse_bytes = gort__stack_resident_bytes();
}

/* ------------------------------------------------------------------ gort_main */

/* Zeroes the scheduler's state, whose locks get their ranks again: a
 * thread outside the runtime may take deferlock between two runs. */
static void sched_reset(void) {
    memset(&gort__sched, 0, sizeof gort__sched);
    gort__lockinit(&gort__sched.lock, LOCKRANK_SCHED);
    gort__lockinit(&gort__sched.gflock, LOCKRANK_GFREE);
    gort__lockinit(&gort__sched.sudoglock, LOCKRANK_SUDOG);
    gort__lockinit(&gort__sched.deferlock, LOCKRANK_DEFER);
}

static void sudog_fini(void);

/* gort_main's last rung but the subsystems': stops sysmon and every M and
 * frees what gort_main made from m0 on (Ms, Ps, goroutines, timers,
 * sudogs, signal registrations, the scheduler's state).  The ladder's
 * labels below it close the poller, the signal handlers and the stacks. */
static void shutdown_runtime(void) {
    atomic_store_explicit(&rt_stopping, 1, memory_order_seq_cst);
    /* exiting is set: wait for foreign gort_go calls already past the check. */
    atomic_store_explicit(&gort__sched.exiting, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&foreign_inflight, memory_order_seq_cst) > 0)
        sched_yield();
    /* Stop sysmon. */
    if (gort__sched.sysmon_started) {
        atomic_store_explicit(&sysmon_quit, 1, memory_order_release);
        sysmon_wake();
        pthread_join(gort__sched.sysmon_thread, NULL);
    }
    /* Join every M's thread (they leave at their next schedule()). */
    for (;;) {
        begin_exit(); /* re-wake any M that went to sleep meanwhile */
        bool all = true;
        gort__lock(&gort__sched.lock);
        for (struct m *mp = gort__sched.allm; mp; mp = mp->alllink) {
            if (mp->is_m0 || !mp->thread_started)
                continue;
            if (!atomic_load_explicit(&mp->thread_done, memory_order_acquire))
                all = false;
        }
        gort__unlock(&gort__sched.lock);
        if (all)
            break;
        usleep(50);
    }
    /* Only this thread is left: finish a CPU profile or trace still
     * recording (written to its fd), drop the flight recorder. */
    gort__prof_shutdown();
    /* Dekker with newproc's foreign path (seq_cst both sides): a caller
     * either sees running == 0, or we see it in flight and wait for it. */
    atomic_store_explicit(&rt_running, 0, memory_order_seq_cst);
    while (atomic_load_explicit(&foreign_inflight, memory_order_seq_cst) > 0)
        sched_yield();
    freem_reap(true);
    struct m *mp = gort__sched.allm;
    while (mp) {
        struct m *next = mp->alllink;
        if (mp->thread_started && !mp->is_m0)
            pthread_join(mp->thread, NULL);
        gfree_g0(mp->g0);
        gort__fixfree(mp);
        mp = next;
    }
    /* Timer heaps, while the sleeping goroutines' stacks (which hold their
     * timers) are still mapped. */
    for (int i = 0; i < GORT_MAX_PROCS; i++)
        if (gort__allp[i])
            gort__timers_pfree(gort__allp[i]);
    /* Free every goroutine: own-map stacks are unmapped one by one, slab
     * stacks with their slabs. */
    gort__lock(&allglock);
    struct g **gs = allgs;
    int64_t n = allglen;
    allgs = NULL;
    allglen = allgcap = 0;
    gort__unlock(&allglock);
    /* Parked on channels, semaphores, Conds or fds: still queued there,
     * and unlinked under each queue's (or pollDesc's) lock.  (A readied
     * one was dequeued by its waker, and that channel may be freed
     * since.)  A thread outside the runtime that dequeued one before us
     * pinned the goroutines (gort__foreign_pin; under that lock, or before
     * it took the goroutine off a pollDesc) and may still be readying it:
     * wait for its unpin before anything is freed.  The world is gone, so a
     * waiting status read here stays waiting but for such a waker, which
     * writes only the goroutine it dequeued. */
    for (int64_t i = 0; i < n; i++) {
        if (atomic_load_explicit(&gs[i]->status, memory_order_relaxed) == G_WAITING) {
            gort__chan_abandon(gs[i]);
            gort__sema_abandon(gs[i]);
        }
    }
    gort__netpoll_abandon(); /* and on fds, under each pollDesc's lock */
    while (atomic_load_explicit(&foreign_inflight, memory_order_seq_cst) > 0)
        sched_yield();
    for (int64_t i = 0; i < n; i++) {
        struct g *gp = gs[i];
        gort__panic_reset_g(gp); /* abandoned goroutines' pending defers */
        uint32_t gst = atomic_load_explicit(&gp->status, memory_order_relaxed);
        if (gst != G_DEAD && gst != G_IDLE) {
            /* Readied (by a waker now gone: the Ms are joined, the pins
             * waited for above, whose seq_cst unpins order its writes of
             * gp->param and the status before us) but never run. */
            if (gst != G_WAITING && gp->waiting != NULL)
                gort__chan_abandon_readied(gp);
            gort__sema_abandon_readied(gp); /* semawait kept: readied */
            groot(gp, false);               /* abandoned while blocked */
            gort__conn_abandon(gp);
            gort__pd_abandon(gp);
            if (gp->waitfd != 0) /* its pidfd (exec.c); the poller forgets it below */
                close(gp->waitfd - 1);
        }
        san_fiber_destroy(gp->tsan_fiber);
        san_valgrind_deregister(gp->valgrind_id);
        if (gp->heapg) {
            if (gp->stack.size) {
                gort__stack st = gp->stack;
                san_unpoison((void *)st.lo, st.hi - st.lo);
                gort__stackfree(&st);
            }
            gort__free(gp);
        } else {
            san_unpoison((void *)gp->stack.lo, gp->stack.hi - gp->stack.lo);
        }
    }
    gort__fixfree(gs);
    gort__panic_fini();
    sudog_fini();
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        gort__fixfree(gort__allp[i]);
        gort__allp[i] = NULL;
    }
    gort__fixfree(gort__sched.runq);
    gort__fixfree(gort__sched.gfa);
    gort__sigqueue_fini();
    gort__trace_abandon();
    sched_reset();
    atomic_store_explicit(&sysmon_quit, 0, memory_order_relaxed);
    atomic_store_explicit(&sysmon_kick, 0, memory_order_relaxed);
    atomic_store_explicit(&rt_stopping, 0, memory_order_seq_cst);
}

/* Go's schedinit: the scheduler's state for one run of gort_main, before
 * anything else is made (sched is reset by the previous run's shutdown
 * too). */
static void schedinit(void) {
    sched_reset();
    runnext_init();
    gort__sched.starttime = gort_nanotime();
    atomic_store(&coarse_now, gort__sched.starttime);
    gort__debug_init();
}

int gort_main(int (*main_fn)(void *arg), void *arg) {
    if (main_fn == NULL)
        return -EINVAL;
    pthread_once(&atfork_once, atfork_init);
    uint32_t zero = 0;
    if (!atomic_compare_exchange_strong(&main_busy, &zero, 1))
        return -EBUSY;
    if (gort__getm() != NULL) {
        atomic_store(&main_busy, 0);
        return -EBUSY;
    }
    san_ignore_begin(); /* the set-up is the runtime's (san.h) */
    bool held = false;  /* world_hold's locks, by this thread or the main goroutine */
    gort__fault_init_env();
    atomic_store_explicit(&ncpu, ncpu_read(), memory_order_relaxed);
    schedinit();
    gort__heap_init_run();
    int32_t procs = atomic_exchange_explicit(&gomaxprocs_next, 0, memory_order_relaxed);
    if (procs <= 0)
        procs = gomaxprocs_from_env();
    int err = gort__stack_init();
    if (err != 0)
        goto out;
    err = gort__signal_init();
    if (err != 0)
        goto out_stack;
    err = gort__preempt_init();
    if (err != 0)
        goto out_signal;
    err = gort__netpoll_init();
    if (err != 0)
        goto out_preempt;
    atomic_store_explicit(&gort__sched.lastpoll, gort__sched.starttime, memory_order_relaxed);
    world_hold(); /* released before main runs, and from out_shutdown on at the end */
    held = true;
    atomic_store_explicit(&rt_running, 1, memory_order_release);

    struct m *m0 = allocm();
    if (m0 == NULL) {
        err = -ENOMEM;
        atomic_store_explicit(&rt_running, 0, memory_order_release);
        world_release();
        held = false;
        goto out_netpoll;
    }
    m0->is_m0 = true;
    m0->thread = pthread_self();
    /* From here on shutdown_runtime undoes what is made.  gort_main reports
     * running out of memory here; later, procresize throws. */
    err = allocp(procs);
    if (err != 0)
        goto out_shutdown;

    gort__lock(&gort__sched.lock);
    atomic_store_explicit(&gort__sched.gomaxprocs, 0, memory_order_relaxed);
    /* No P can have work yet (Go's schedinit throws the same). */
    if (procresize(procs) != NULL)
        gort__throw("unknown runnable goroutine during bootstrap");
    struct p *p0 = pidleget(); /* allp[0]: procresize pushes in reverse */
    gort__unlock(&gort__sched.lock);
    if (p0 == NULL || p0->id != 0)
        gort__throw("gort_main: no p0");
    m0->nextp = p0;

    struct g *gmain =
        newproc1((void (*)(void *))(void (*)(void))main_fn, arg, NO_COPY, gort__default_stack_size,
                 "main", NULL, (void *)main_fn, NULL, 0, &err);
    if (gmain == NULL)
        goto out_shutdown;
    gmain->is_main = true;
    gmain->createdby = NULL;
    gort__sched.gmain = gmain;
    /* newproc1 counted it as created by a foreign thread; count it on p0. */
    atomic_fetch_sub_explicit(&gort__sched.ngcreated_ext, 1, memory_order_relaxed);
    GORT_COUNTER_INC(p0->ngcreated);

    pthread_attr_t sysattr;
    gort__sys_thread_attr(&sysattr);
    err = -gort__pthread_create(&gort__sched.sysmon_thread, &sysattr, sysmon, NULL);
    pthread_attr_destroy(&sysattr);
    if (err != 0) {
        /* Without sysmon nothing retakes a P from a blocking call: fail
         * rather than risk a hang (Go throws in newosproc). */
        goto out_shutdown;
    }
    gort__sched.sysmon_started = true;
    /* m0's signal stack, here where failing can still be reported. */
    err = gort__minit_signals(m0);
    if (err != 0)
        goto out_shutdown;
    /* Threads that are not ours but exist from the start (the caller, and
     * e.g. ThreadSanitizer's background thread, which appears at the first
     * pthread_create) don't count as foreign for checkdead. */
    gort__sched.baseline_threads = process_threads() - (gort__sched.sysmon_started ? 1 : 0);

    /* The calling thread's stack from this frame up is a collector root
     * while the runtime runs: main's locals may hold heap pointers (a
     * program passes &local as arg), and nothing else scans them (m0 runs
     * the goroutines on stacks of their own, and g0 below this frame). */
    gort__gcroot callerroot;
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    uintptr_t stackhi = gort__thread_stack_hi();
    if (stackhi > frame)
        gort__gc_root_add(&callerroot, (const void *)frame, stackhi - frame);

    /* Context deadlines set while no gort_main ran get their timers now
     * that allp[0] can hold them. */
    gort__ctx_arm_pending();
    world_release();
    san_ignore_end();
    mstart_native(m0);  /* runs the main goroutine; returns at exit (world_hold) */
    san_ignore_begin(); /* and the tear-down */
    held = true;
    if (stackhi > frame)
        gort__gc_root_del(&callerroot);

    /* main_ret was written before begin_exit's seq_cst store of exiting,
     * which every M (and so m0, before returning here) loads with acquire;
     * the joins in shutdown_runtime order the rest. */
    (void)atomic_load_explicit(&gort__sched.exiting, memory_order_acquire);
    san_acquire(&gort__sched.main_ret);
    err = gort__sched.main_ret;

    /* The unwinding ladder: each label undoes one step and falls through to
     * the ones before it (libdill's style). */
out_shutdown:
    shutdown_runtime();
out_netpoll:
    atomic_store_explicit(&rt_running, 0, memory_order_release);
    gort__netpoll_fini();
out_preempt:
    gort__preempt_fini();
out_signal:
    gort__signal_fini();
out_stack:
    gort__stack_fini();
    if (held)
        world_release(); /* taken by the main goroutine's return, or before a failed start */
out:
    atomic_store(&main_busy, 0);
    san_ignore_end();
    return err;
}

/* ------------------------------------------------------------------ sudogs */

/* A goroutine's sudogs are carved from chunks that live until shutdown, so
 * the sudogs of goroutines abandoned while blocked (gort_main returned) are
 * freed too.  A plain thread's are malloc'd and freed one by one: one
 * blocked in a select across gort_main's return keeps them. */
typedef struct sudogchunk {
    struct sudogchunk *next;
    int used;
    struct sudog s[63];
} sudogchunk;
static sudogchunk *sudogchunks; /* [sched.sudoglock] newest first */

static struct sudog *sudog_alloc(void) {
    gort__lock(&gort__sched.sudoglock);
    sudogchunk *c = sudogchunks;
    if (c == NULL || c->used == (int)(sizeof c->s / sizeof c->s[0])) {
        c = gort__fixalloc(sizeof *c);
        if (c == NULL) {
            gort__unlock(&gort__sched.sudoglock);
            gort__throw("out of memory allocating sudog");
        }
        c->next = sudogchunks;
        sudogchunks = c;
    }
    struct sudog *s = &c->s[c->used++];
    gort__unlock(&gort__sched.sudoglock);
    return s;
}

struct sudog *gort__acquire_sudog(void) {
    struct m *mp = gort__getm_entry(); /* no switch before it here */
    if (mp == NULL) {
        /* Not malloc: a blocking channel operation asks with its channel
         * locked (mfixalloc.c). */
        struct sudog *s = gort__fixalloc(sizeof *s);
        if (s == NULL)
            gort__throw("out of memory allocating sudog");
        return s;
    }
    struct p *pp = mp->p;
    struct sudog *s = NULL;
    if (pp) {
        if (pp->nsudog == 0) {
            /* First, try to grab a batch from the central cache. */
            gort__lock(&gort__sched.sudoglock);
            while (pp->nsudog < GORT__SUDOG_CACHE / 2 && gort__sched.sudogcache) {
                struct sudog *c = gort__sched.sudogcache;
                gort__sched.sudogcache = c->next;
                c->next = NULL;
                pp->sudogcache[pp->nsudog++] = c;
            }
            gort__unlock(&gort__sched.sudoglock);
        }
        if (pp->nsudog > 0)
            s = pp->sudogcache[--pp->nsudog];
    }
    if (s == NULL)
        s = sudog_alloc();
    /* A copy of a zero sudog: GCC turns it into a few vector stores,
     * where a memset of the 96 bytes (or a compound literal) became `rep
     * stos`, whose start-up cost was half of this function's time (measured in
     * pingpong_unbuf_p1, when channel operations still took their sudog here). */
    static const struct sudog zero;
    *s = zero;
    return s;
}

void gort__release_sudog(struct sudog *s) {
    if (s->elem != NULL || s->next != NULL || s->prev != NULL || s->waitlink != NULL ||
        s->c != NULL)
        gort__throw("runtime: sudog with non-nil fields");
    struct m *mp = gort__getm_entry(); /* no switch before it here */
    if (mp == NULL) {
        gort__fixfree(s); /* a plain thread's (acquired on this thread) */
        return;
    }
    struct p *pp = mp->p;
    if (pp == NULL) {
        gort__lock(&gort__sched.sudoglock);
        s->next = gort__sched.sudogcache;
        gort__sched.sudogcache = s;
        gort__unlock(&gort__sched.sudoglock);
        return;
    }
    if (pp->nsudog == GORT__SUDOG_CACHE) {
        /* Transfer half of local cache to the central cache. */
        struct sudog *first = NULL, *last = NULL;
        while (pp->nsudog > GORT__SUDOG_CACHE / 2) {
            struct sudog *p1 = pp->sudogcache[--pp->nsudog];
            if (first == NULL)
                first = p1;
            else
                last->next = p1;
            last = p1;
        }
        gort__lock(&gort__sched.sudoglock);
        last->next = gort__sched.sudogcache;
        gort__sched.sudogcache = first;
        gort__unlock(&gort__sched.sudoglock);
    }
    pp->sudogcache[pp->nsudog++] = s;
}

static void sudog_fini(void) {
    for (int i = 0; i < GORT_MAX_PROCS; i++) {
        struct p *pp = gort__allp[i];
        if (pp == NULL)
            break;
        pp->nsudog = 0;
    }
    gort__sched.sudogcache = NULL;
    sudogchunk *c = sudogchunks;
    sudogchunks = NULL;
    while (c) {
        sudogchunk *n = c->next;
        gort__fixfree(c);
        c = n;
    }
}
