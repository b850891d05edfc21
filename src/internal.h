/*
 * internal.h - the gort__ prototypes shared across the runtime, grouped by
 * the file that defines it.  A subsystem's own shared types and prototypes
 * are in its header instead: chan.h, conn.h, panic.h, fault.h, netpoll.h,
 * lockrank.h, san.h, malloc.h (the collected heap), sizeclasses.h,
 * pprof.h, trace.h, arch/arch.h (and export_test.h, for tests).
 * Internal non-static names start with gort__ (libgort.a exposes them to the
 * user's link; hidden visibility only protects libgort.so).
 */
#ifndef GORT_INTERNAL_H
#define GORT_INTERNAL_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#ifndef GORT_DEBUG
#define GORT_DEBUG 0
#endif

#define GORT_LIKELY(x) __builtin_expect(!!(x), 1)
#define GORT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GORT_NOINLINE __attribute__((noinline))
/* A hot function starts at a 64-byte cache line: on this project's
 * machines where such a function falls within its line moved a ring hop's
 * cost by a fifth (the runtime lock's, lock_futex.c; the goroutine
 * hand-off's, proc.c). */
#define GORT_HOT_ALIGN __attribute__((aligned(64)))
/* After a call that must keep its caller's frame: the call is then not the
 * last thing the caller does, so the compiler makes no tail call (a jump
 * that drops the caller's frame, which a profile counting frames to skip
 * depends on). */
#define GORT_NO_TAILCALL() __asm__ volatile("")
#define GORT_UNUSED __attribute__((unused))

/* Always-on invariant check (runtime bugs): prints and throws. */
#define GORT_CHECK(cond, msg)                        \
    do {                                             \
        if (GORT_UNLIKELY(!(cond)))                  \
            gort__throw_at(msg, __FILE__, __LINE__); \
    } while (0)
#if GORT_DEBUG >= 1
#define GORT_ASSERT(cond) GORT_CHECK(cond, "assertion failed: " #cond)
#else
#define GORT_ASSERT(cond) ((void)0)
#endif
#if GORT_DEBUG >= 3
#define GORT_ASSERT_EXPENSIVE(cond) GORT_CHECK(cond, "assertion failed: " #cond)
#else
#define GORT_ASSERT_EXPENSIVE(cond) ((void)0)
#endif
#define GORT_UNREACHABLE() gort__throw_at("unreachable", __FILE__, __LINE__)

/* Relaxed single-writer counter bump: a plain load/add/store, TSan-clean. */
#define GORT_COUNTER_INC(ctr)                                                             \
    atomic_store_explicit(&(ctr), atomic_load_explicit(&(ctr), memory_order_relaxed) + 1, \
                          memory_order_relaxed)

/* --------------------------------------------------------------- lock_futex.c */
/* Runtime locks; with GORT_LOCKRANK, ranked (lockrank.h). */
void gort__lock(gort__rtlock *l);
void gort__unlock(gort__rtlock *l);
bool gort__trylock(gort__rtlock *l);
void gort__noteclear(gort__note *n);
void gort__notewakeup(gort__note *n);
/* The same, where the note may have been woken already (no error). */
void gort__notewakeup_idempotent(gort__note *n);
void gort__notesleep(gort__note *n);
/* Sleeps at most ns (ns < 0: forever).  Returns true if woken. */
bool gort__notetsleep(gort__note *n, int64_t ns);
/* futex(2) wrappers: sleep while *addr == val (ns < 0: no timeout). */
void gort__futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns);
void gort__futexwakeup(_Atomic uint32_t *addr, int cnt);
void gort__osyield(void);
void gort__procyield(int cycles);

/* -------------------------------------------------------------- mfixalloc.c */
/* Memory of the runtime's own for what it allocates or frees while it holds
 * a runtime lock or gort__acquirem (libc's malloc must not be called there:
 * mfixalloc.c).  Zeroed, 64-byte aligned; NULL with errno ENOMEM when out
 * of memory (or GORT__FAULT_MALLOC).  gort__fixfree takes only what these
 * returned, or NULL. */
void *gort__fixalloc(size_t n);
void *gort__fixcalloc(size_t n, size_t size);
/* As realloc: the first min(old, n) bytes kept; NULL (p untouched) when out
 * of memory. */
void *gort__fixrealloc(void *p, size_t n);
void gort__fixfree(void *p);

/* ------------------------------------------------------------------- proc.c */
/* The current M, or NULL on a thread that is not one of the runtime's.
 * Not inlined and opaque to the optimiser: a goroutine may resume on another
 * thread, so the TLS read must happen at each call (ARCHITECTURE.md, 6). */
struct m *gort__getm(void);
/* The same, uninstrumented, for the preemption signal handler. */
struct m *gort__getm_signal(void);
/* gort_numcpu without its preemption check (callers in the runtime's own
 * paths: the mutex's spin, the collector's helper, the default GOMAXPROCS). */
int gort__ncpu(void);
/* chan.c, at shutdown (proc.c; only the calling thread is left): gp, abandoned
 * while parked in a channel operation or a select, leaves every queue its
 * sudogs are on, since they are about to be freed with its stack or the
 * sudog cache; a channel used after gort_main returned (or by the next
 * gort_main) then has no dangling waiter. */
void gort__chan_abandon(struct g *gp);
/* The same for gp readied (not waiting) but abandoned before it ran: a
 * select readied through one case leaves the queues of the others (its
 * winning sudog, gp->param, is on none, and its channel is not touched). */
void gort__chan_abandon_readied(struct g *gp);
/* conn.c, at shutdown, likewise: gp, abandoned inside a gort_conn call,
 * drops the reference that call holds on its connection, so that a later
 * gort_conn_close (which waits for the calls in progress) returns. */
void gort__conn_abandon(struct g *gp);
/* sema.c, at shutdown, likewise: gp, abandoned while parked on a semaphore
 * (a mutex, an RWMutex, a WaitGroup) or a Cond, leaves its root's treap or
 * the Cond's list. */
void gort__sema_abandon(struct g *gp);
/* The same for gp readied by a semrelease but abandoned before it ran
 * (gp->semawait still set): the wake-up it took (and a count handed to
 * it) goes to the next waiter on the address, which would otherwise wait
 * for ever (a plain thread on a mutex whose unlock woke gp). */
void gort__sema_abandon_readied(struct g *gp);
/* sync.c: a goroutine parked for reason on the semaphore sema was
 * abandoned (gort__sema_abandon took it out): a mutex's or a WaitGroup's
 * state stops counting it as a waiter, so that the object works on
 * without it.  (An RWMutex's reader or writer cannot be taken back: like a
 * lock an abandoned goroutine holds, that RWMutex stays as it was.) */
void gort__sync_abandon(_Atomic uint32_t *sema, uint8_t reason);
/* gort_mutex_lock for the runtime's own locks that Go takes with
 * semacquire: a waiter shows as "semacquire" in dumps, not
 * "sync.Mutex.Lock".  profiled: its waits go to the block profile, as an
 * fd's read and write locks' do in Go (fdMutex); worldsema's and gcsema's
 * do not. */
void gort__mutex_lock_sema(gort_mutex *m, bool profiled);
/* gort_syscall_enter's body, entered by a jump from its assembly entry
 * (switch_<arch>.S) once that has stored the caller's registers. */
void gort__syscall_enter(void);
/* The current user goroutine (m->curg), or NULL on g0 and on foreign
 * threads. */
struct g *gort__getg(void);
/* The current goroutine, or, on a thread outside the runtime (or on g0),
 * that thread's fake g (allocated on first use), which parks by sleeping on
 * a futex.  Never NULL, except when memory for the fake g is exhausted
 * (then it throws). */
struct g *gort__getg_or_foreign(void);
/* Attributes for a thread of the runtime's own that runs C code on its
 * native stack (sysmon, the collector's helper): glibc's default stack
 * size, but at least 1 MiB (glibc takes its default from RLIMIT_STACK when
 * the process starts: 16 KiB under ulimit -s 16).  Destroy with
 * pthread_attr_destroy. */
void gort__sys_thread_attr(pthread_attr_t *attr);

/* Park the current goroutine (Go's gopark).  On g0, calls unlockf(gp, arg)
 * after gp's stack is no longer in use; if unlockf returns false, gp resumes
 * at once.  Returns when someone calls gort__goready(gp).  Works for a
 * foreign thread's fake g too (it sleeps on gp->park).  reason is WAIT_*.
 * unlockf may be NULL (then nothing runs and gp stays parked). */
void gort__gopark(bool (*unlockf)(struct g *gp, void *arg), void *arg, uint8_t reason);
/* Make a parked goroutine runnable (Go's goready): it is put in the current
 * P's runnext (or the global queue when called without a P) and an idle P is
 * woken if needed.  For a fake foreign g, wakes its thread. */
void gort__goready(struct g *gp);
/* runtime.Gosched for the current goroutine. */
void gort__gosched(void);
/* Yield if sysmon or a stop-the-world asked this goroutine to. Cheap. */
void gort__preempt_check_slow(struct g *gp);
static inline void gort__preempt_check(struct g *gp) {
    if (GORT_UNLIKELY(gp != NULL && atomic_load_explicit(&gp->preempt, memory_order_relaxed)))
        gort__preempt_check_slow(gp);
}
/* gort_go for runtime paths: never yields the caller (proc.c newproc). */
int gort__go_noyield(void (*fn)(void *arg), void *arg);
/* gort__go_noyield for the runtime's own goroutines (the finalizer
 * goroutine, the flight recorder's, the os/signal loop), named name if it
 * is not NULL: the new goroutine inherits neither its creator's profiler
 * labels nor its synctest bubble. */
int gort__go_system(void (*fn)(void *arg), void *arg, const char *name);
/* Ends the current goroutine (after its deferred calls have run). */
_Noreturn void gort__goexit1(void);
/* gp's function is over without having returned: a call it deferred at its
 * top level recovered a panic (panic.c), and its deferred calls have run.
 * Does what the goroutine entry does after fn returns: for the main
 * goroutine, gort_main returns (main_ret, set by the caller); otherwise
 * goexit1. */
_Noreturn void gort__goroutine_return(struct g *gp);
/* Sudogs from the per-P cache (runtime acquireSudog/releaseSudog). */
struct sudog *gort__acquire_sudog(void);
void gort__release_sudog(struct sudog *s);
/* Per-M (or per-thread) pseudo-random numbers. */
uint32_t gort__fastrand(void);
static inline uint32_t gort__fastrandn(uint32_t n) {
    return (uint32_t)(((uint64_t)gort__fastrand() * n) >> 32);
}
/* Called by a foreign thread before/after it blocks in a gort call, so that
 * checkdead does not report a deadlock while it may still wake someone. */
void gort__foreign_block(int delta);
/* Iterate every goroutine (for dumps); fn is called with allglock held. */
void gort__forallg(void (*fn)(struct g *gp, void *arg), void *arg);
/* The same, prefetching each g and the top of its stack ahead of fn (the
 * collector's scans of the stacks). */
void gort__forallg_stacks(void (*fn)(struct g *gp, void *arg), void *arg);
/* The same in parts: gort__allgs_hold takes allglock and returns every g
 * (*n of them), which stay put until gort__allgs_release; gort__gs_stacks
 * calls fn on n of them, prefetching as gort__forallg_stacks does, on any
 * thread while the lock is held (the final pause splits the gs between
 * the collector and its helper thread). */
struct g **gort__allgs_hold(int64_t *n);
void gort__allgs_release(void);
void gort__gs_stacks(struct g **gs, int64_t n, void (*fn)(struct g *gp, void *arg), void *arg);
/* true while gort_main runs. */
bool gort__runtime_running(void);
/* In a child forked inside gort_main, where a runtime lock another thread
 * held at the fork is never released: lock_futex.c's wait for one is the
 * fatal error (proc.c), not a hang.  Returns only outside such a child. */
void gort__forked_child_lockwait(void);
/* The last attempt to start an M's thread failed (relaxed): an
 * asynchronously preempted goroutine, which waits for its own M, then does
 * not yield, since its P might find no thread to run on. */
extern _Atomic bool gort__newm_failing;
/* Nothing but the running goroutine for pp (owner) to run now: its run
 * queue and the global one are empty, no timer of it is due, no stop is
 * waiting.  A preempted goroutine with nothing else to give way to keeps
 * its P. */
bool gort__p_nothing_else(struct p *pp);
/* Wake an idle P if there is work and nobody spinning (Go's wakep). */
void gort__wakep(void);

/* The runtime's clock (CLOCK_MONOTONIC ns).  Inside the library the name
 * gort_nanotime stands for it: the scheduler, the poller and the per-P
 * timers always mean real time.  The public gort_nanotime() (synctest.c)
 * is gort__now(): a synctest bubble's fake clock inside one. */
int64_t gort__nanotime(void);
#define gort_nanotime gort__nanotime

/* ------------------------------------------------------------- vmaname.c */
/* Names the anonymous mapping [p, p + len) "[anon:<name>]" in
 * /proc/self/maps (PR_SET_VMA_ANON_NAME); silently nothing on kernels
 * without it.  errno is left as it was. */
void gort__vma_name(void *p, size_t len, const char *name);

/* --------------------------------------------------------- cgroup_linux.c */
/* The tightest CPU limit (quota / period, in CPUs) of the process's cgroup
 * and its ancestors (v2 cpu.max, v1 cpu.cfs_quota_us), or 0 if none. */
double gort__cgroup_cpu_limit(void);
/* The same from other files than /proc/self/cgroup and mountinfo (tests). */
double gort__cgroup_cpu_limit_from(const char *procfile, const char *mountinfo);

/* ------------------------------------------------------------------ stack.c */
int gort__stack_init(void);
void gort__stack_fini(void);
/* Allocates a region with a guard, a usable stack of `size` bytes and room
 * for a struct g at the top.  Returns 0 or -ENOMEM/-EINVAL. */
int gort__stackalloc(size_t size, gort__stack *out);
/* Frees an own-map region (slab stacks are never freed before fini). */
void gort__stackfree(gort__stack *s);
/* true if addr lies in the guard of the stack. */
bool gort__stack_in_guard(const gort__stack *s, uintptr_t addr);
/* Canary-guarded stacks: check the canary; throws on corruption. */
void gort__stack_check_canary(const gort__stack *s, int64_t goid);
/* Returns pages of stacks on the global free list to the OS: those idle
 * for a period, down to their top 16 KiB (sysmon); all of them, down to
 * their struct g (gort_free_os_memory). */
void gort__stack_scavenge(void);
void gort__stack_scavenge_all(void);
/* The resident bytes of every stack mapping: live goroutines' stacks and
 * the pooled stacks of dead ones alike; stacks of a size of their own
 * count whole (gort_read_stats, the memory limit's heap goal). */
uint64_t gort__stack_resident_bytes(void);
extern size_t gort__default_stack_size;
extern _Atomic uint64_t gort__stack_sys_bytes;

/* ------------------------------------------------------------------ print.c */
/* Non-allocating (no malloc) formatted write to fd 2. */
void gort__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gort__vprintf(const char *fmt, va_list ap);
void gort__print_lock(void);
/* How many writes gort__printf and the dumps have made to fd 2: a dump's
 * progress, for a fault handler that waits for sysmon's (signal_linux.c). */
extern _Atomic uint64_t gort__print_writes;
void gort__print_unlock(void);
/* Go's throw: fatal error: msg + every goroutine with the runtime's frames,
 * whatever GORTRACEBACK says (gort__traceback_level); exit 2.  For runtime
 * bugs and the runtime's own failures (out of memory, stack overflow). */
_Noreturn void gort__throw(const char *msg);
_Noreturn void gort__throw_at(const char *msg, const char *file, int line);
/* Go's fatal: fatal error: msg + every goroutine per GORTRACEBACK; exit 2
 * (the program's error, e.g. deadlock, unlock of unlocked). */
_Noreturn void gort__fatal(const char *msg);
/* The panic of a call of a nil func (Go's fault at pc 0: "runtime error:
 * invalid memory address or nil pointer dereference", recoverable), for a
 * runtime path that finds its fn NULL before it would call it. */
_Noreturn void gort__panic_nilfunc(void);
/* A throw found on a stack of the runtime's own (a fault handler's): Go's
 * "runtime stack:" section (gort__print_runtime_stack) before the dump. */
_Noreturn void gort__fatal_sysstack(const char *msg);
/* The report being printed is a throw (Go's m.throwing ==
 * throwTypeRuntime): gort__traceback_level says "system" from now on
 * (crash stays crash). */
void gort__set_throwing(void);
/* Ends the process now with status (no atexit handlers, no joins). */
_Noreturn void gort__die(int status);
/* The end of every fatal report (fatal errors, unrecovered panics, fault
 * and dump signals): GORTDEBUG=flightrecorder=1's file, then abort() at
 * GORTRACEBACK=crash (a core file), else exit status 2. */
_Noreturn void gort__fatal_exit(void);
/* True once a fatal error has begun (its dump takes locks out of order). */
bool gort__dying(void);
/* Dumps cur (as running) and, if all, every other goroutine (traceback.c),
 * with a blank line between two; blank_first: one before the first too
 * (after a message), none when there is no goroutine to show. */
void gort__dump_goroutines(struct g *cur, bool all, bool blank_first);
/* "runtime stack:" and the frames of the calling thread's current stack. */
void gort__print_runtime_stack(void);
/* "goroutine 0 [idle]:" and the frames of mp's thread, which a signal
 * interrupted at pc (fp, sp) while it ran no goroutine. */
void gort__print_idle_m(struct m *mp, uintptr_t pc, uintptr_t fp, uintptr_t sp);
/* GORTRACEBACK level: 0 none, 1 single, 2 all, 3 system, 4 crash. */
int gort__traceback_level(void);

/* -------------------------------------------------------------- traceback.c */
/* Prints "goroutine N [status]:", frames and creator of gp to fd 2 (no
 * blank line after: the caller separates goroutines). */
void gort__print_goroutine(struct g *gp, bool current);
/* A fault handler tells the traceback of gp (the goroutine it interrupted,
 * on this thread) to start at the interrupted pc, frame pointer and sp. */
void gort__traceback_set_sigctx(struct g *gp, uintptr_t pc, uintptr_t fp, uintptr_t sp);
/* The interrupted code at sp kept no frame pointer (libc's, libstdc++'s):
 * the first frame record above sp that a live call chain could have made,
 * or 0; *own: the return address into that record's function (the
 * frame-pointer walk from the record starts at its caller), or 0. */
uintptr_t gort__traceback_scan_fp(uintptr_t sp, uintptr_t lo, uintptr_t hi, uintptr_t *own);
/* The same for a dump another thread makes (the SIGQUIT hand-off), while
 * the interrupted thread waits in the handler: async-signal-safe (four
 * stores); a dump with gp as its current goroutine starts there. */
void gort__traceback_capture_sig(struct g *gp, uintptr_t pc, uintptr_t fp, uintptr_t sp);

/* ------------------------------------------------------------------ debug.c */
/* GORTDEBUG=schedtrace=N,scheddetail=1: called by sysmon on every round;
 * prints the SCHED line every N ms (cheap when schedtrace is off). */
void gort__schedtrace_tick(int64_t now);
/* Parses GORTDEBUG (debug.c); gort_main calls it before any other thread
 * of the run starts. */
void gort__debug_init(void);
/* Go's runtime atoi64 (string.go) on s[0..n): an optional '-', then
 * decimal digits (none at all reads as 0: Go takes GOGC=- as 0), within
 * int64; nothing else (strtol would also take blanks and '+').  False,
 * and *out untouched, for anything else.  The environment's numbers
 * (GOGC, GOMEMLIMIT, GOMAXPROCS, GORTDEBUG, GORTRACEBACK) are read with
 * it, as Go reads its own. */
bool gort__atoi64(const char *s, size_t n, int64_t *out);
/* Go's atoi32: gort__atoi64 within int32. */
bool gort__atoi32(const char *s, size_t n, int32_t *out);
/* The value of name=N in GORTDEBUG as it is now (0 when absent), parsed as
 * gort__debug_init parses its settings: for one read outside gort_main. */
int32_t gort__debug_getenv(const char *name);
/* GORTDEBUG=pollspin, in ns (see proc.c's become_poller); read-only in a run. */
extern int64_t gort__pollspin_ns;
/* GORTDEBUG=stalldetect (ns, 0 off) and flightrecorder; read-only in a run. */
extern int64_t gort__stalldetect_ns;
extern bool gort__flightrecorder;

/* --------------------------------------------------------- signal_linux.c */
int gort__signal_init(void);
void gort__signal_fini(void);
/* Puts back sig's action old from before gort_main if sig still has the
 * runtime's handler h (SA_SIGINFO), or, h NULL, the handler that drops
 * SIGPIPE and SIGXFSZ; a handler the program installed since stays. */
void gort__signal_restore(int sig, const struct sigaction *old,
                          void (*h)(int, siginfo_t *, void *));
/* A fatal signal's dump (SIGQUIT, SIGABRT, SIGSEGV, SIGBUS), handed off by
 * its handler: true when one is pending (acquire), and the dump itself,
 * which exits (run by sysmon). */
bool gort__quit_pending(void);
/* print.c: flushes stdout and stderr where their locks are free (never
 * from a signal handler, which may have cut into stdio on its own
 * thread). */
void gort__flush_stdio(void);
GORT_NORETURN void gort__quit_dump(void);
/* proc.c: asks sysmon to run gort__quit_dump; false when sysmon is not
 * running or this thread is sysmon's (async-signal-safe). */
bool gort__sysmon_quit_request(void);
/* Readability probes, for the collector's scan of the writable segments
 * (a program may make a page of its own data unreadable).
 * gort__probe_ok: gort's fault handler is the one installed (a handler
 * the program installed since would get the probes' faults).
 * gort__probe_readable: reads one byte of each page of [lo, hi) in turn
 * (lo's own first); returns where the first page that faults starts
 * (lo if it is lo's), or hi.  Only while gort__probe_ok. */
bool gort__probe_ok(void);
uintptr_t gort__probe_readable(uintptr_t lo, uintptr_t hi);
/* gort__copy_readable: copies the words [src, src + 8 * words), which lie
 * in one page, to dst; returns words, or 0 if the page faulted (unmapped
 * meanwhile: a library unloaded while the collector copies its data).
 * Only while gort__probe_ok. */
size_t gort__copy_readable(uintptr_t *dst, uintptr_t src, size_t words);
/* Sets up the calling thread's alternate signal stack (per M). */
int gort__minit_signals(struct m *mp);
/* Unblocks, on the calling thread, the signals the runtime must receive
 * (Go's minitSignalMask); the mask before in *old. */
void gort__minit_sigmask(sigset_t *old);
void gort__unminit_signals(struct m *mp);

/* --------------------------------------------------------------- preempt.c */
/* The preemption signal (SIGURG): asynchronous preemption, the
 * stop-the-world by signal and blocking calls made without
 * gort_syscall_enter.  See preempt.c's header for the safe-point rules. */

/* The trampoline the SIGURG handler redirects a thread into
 * (arch/preempt_amd64.S; not a C function: never call it). */
void gort__sigtramp(void);
/* What the trampoline calls, on the goroutine's stack (preempt.c). */
void gort__sigtramp_go(uintptr_t *regs);
/* Start and end of the runtime's own code (the linker makes them for the
 * gort_text section; weak: without the section, no pc counts as user
 * code, asynchronous preemption is off and heap samples keep the
 * runtime's frames). */
extern char __start_gort_text[] __attribute__((weak, visibility("hidden")));
extern char __stop_gort_text[] __attribute__((weak, visibility("hidden")));
/* The system call nr with six arguments, made from the trampoline
 * (arch/preempt_amd64.S): the kernel's result (a negative errno on
 * failure), errno untouched. */
long gort__rawsyscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

/* Stops the world: returns when every other P is stopped.  Each M that was
 * running a goroutine is then either at a cooperative safe point (its
 * goroutine parked or runnable with a saved context: ctx.sp, below which
 * nothing of it lives; an asynchronously preempted goroutine's registers
 * are in the trampoline's frame on its own stack, above ctx.sp) or
 * suspended inside the SIGURG handler with its interrupted registers saved
 * (gort__stw_interrupted_regs).  Bounded in time even when goroutines spin
 * in C loops that never call gort, or block in restartable system calls
 * without gort_syscall_enter.  One stop at a time: a second caller waits
 * (parks) until the first has started the world again; calls do not nest.
 * Call it from a goroutine or a thread outside the runtime, never from g0.
 * reason is for diagnostics ("GC", "GOMAXPROCS").  The runtime must run
 * (a thread outside it checks under gcsema, which keeps the running flag
 * as it is; a throw otherwise). (proc.c) */
void gort__stop_the_world(const char *reason);
/* The same for a caller that may be a thread outside the runtime and holds
 * neither gcsema nor worldsema: false, with nothing stopped, when the
 * runtime does not run (a call while gort_main returns waits until the
 * runtime is gone, and then finds it so).  Either way it holds worldsema
 * until gort__start_the_world_if(its result): no gort_main starts
 * meanwhile, so what the caller reads without a stop stays still. */
bool gort__stop_the_world_if_running(const char *reason);
void gort__start_the_world_if(bool stopped);
/* The same for a stopper that calls malloc or free, or takes another
 * library's lock (the loader's), while the world is stopped: threads are
 * suspended only in the program's own code, never inside libc or another
 * library, so a goroutine in malloc is waited for until it returns.  The
 * collector's stops suspend anywhere (they take no such lock). */
void gort__stop_the_world_malloc(const char *reason);
/* Go's freezetheworld: before a fatal report, stops handing out
 * goroutines and asks the running ones to yield (best effort, ~5 ms, no
 * wait).  No runtime lock held; the world never restarts. */
void gort__freeze_the_world(void);
/* Restarts the world stopped by gort__stop_the_world (same caller). */
void gort__start_the_world(void);
/* During a stop, for a goroutine gp that was interrupted while running
 * (its M suspended in the handler): sp receives the lowest stack address
 * that may hold its data (the interrupted sp less the x86-64 red zone:
 * scan from it to gp->stack.hi), regs and regs_len the saved general registers
 * (x86-64: the 23 greg_t of mcontext_t, then xmm0-15 as 32 words; arm64: x0-x30), to scan as words.
 * Valid until gort__start_the_world.  Returns false if gp was not
 * interrupted running: then its saved context is authoritative. */
bool gort__stw_interrupted_regs(struct g *gp, uintptr_t *sp, const void **regs, size_t *regs_len);
/* The same goroutine's interrupted pc, frame pointer and sp (its frames,
 * for the goroutine profile); false if it is not suspended so. */
bool gort__stw_interrupted_ctx(struct g *gp, uintptr_t *pc, uintptr_t *fp, uintptr_t *sp);

/* gort_main: sets up the handler and the user-text table (0 or -errno);
 * shutdown removes the handler. */
int gort__preempt_init(void);
void gort__preempt_fini(void);
/* Each M's thread, when it starts: its tid and usual signal mask. */
void gort__preempt_minit(struct m *mp);
/* Each M's thread, as it leaves the scheduler and before its signal stack
 * goes: no preemption signal reaches it after this returns. */
void gort__preempt_unminit(struct m *mp);
/* true unless GORTDEBUG=asyncpreemptoff=1 or the runtime's text range is
 * unknown (built without the gort_text section). */
bool gort__async_preempt_enabled(void);
/* Where a pc is, for the preemption signal (preempt.c; after
 * gort__preempt_init): user text (an async-safe place as far as its
 * address goes), the runtime's own text or a PLT stub of user text, libc,
 * or elsewhere. */
enum { GORT__PC_OTHER, GORT__PC_USER, GORT__PC_RUNTIME, GORT__PC_LIBC };
int gort__preempt_pc_class(uintptr_t pc);
/* Go's preemptM: one SIGURG to mp's thread unless one is on its way. */
bool gort__preempt_m(struct m *mp);
/* Where the stop in progress may suspend threads in the handler (preempt.c
 * stw_suspend_ok). */
enum { GORT__STW_SUSPEND_NONE, GORT__STW_SUSPEND_ANY, GORT__STW_SUSPEND_USER };
void gort__stw_allow_suspend(int where);
/* The world restarts (Ps given back): wakes the threads suspended in the
 * handler. */
void gort__stw_wake_suspended(void);
/* Signals the M of every P still P_RUNNING (the stop's wait loop). */
void gort__stw_signal(void);
/* The stop of the world for reason has waited `waited` ns: prints, for
 * every P still P_RUNNING, the goroutine it waits for (proc.c's
 * stop_the_world calls it once per stop, after STW_REPORT_NS). */
void gort__stw_report_wait(const char *reason, int64_t waited);
/* sysmon: pp's goroutine gp has run since `since` without a scheduling
 * point; signal its thread or, blocked in a call a signal would break,
 * report it once after a second. */
void gort__sysmon_preempt(struct p *pp, struct g *gp, int64_t now, int64_t since);
/* Asynchronous preemptions and blocking calls wrapped, since the process
 * started (relaxed counters). */
extern _Atomic uint64_t gort__npreempt_async;
extern _Atomic uint64_t gort__npreempt_syscall;
/* GORTDEBUG=asyncpreemptoff (debug.c). */
extern bool gort__asyncpreemptoff;
/* Runtime locks held by this thread (lock_futex.c; Go's m.locks). */
extern __thread int32_t gort__tls_locks __attribute__((tls_model("initial-exec")));
/* Go's acquirem/releasem: raise and lower gort__tls_locks around a section
 * the preemption signal must neither preempt nor suspend (a runtime lock's
 * hold, the heap's span hand-offs).  Only this thread writes the count and
 * only its own signal handler reads it, so a signal fence orders it
 * against the section's accesses.  The section must not park. */
static inline void gort__acquirem(void) {
    gort__tls_locks++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
static inline void gort__releasem(void) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    gort__tls_locks--;
}

/* ------------------------------------------------------------- sigqueue.c */
/* At the end of gort_main, after every M has stopped: gives the notified
 * signals back their earlier actions and forgets the registrations. */
void gort__sigqueue_fini(void);
/* Sysmon, every round: its thread unblocks the signals a channel wants
 * (base: its mask at its start, less those), so that a signal the program
 * blocked in the thread that called gort_main, whose mask every runtime
 * thread inherits, still reaches the channels (Go's ensureSigM).  seen:
 * sysmon's count of the changes it applied. */
void gort__sigqueue_sysmon(uint32_t *seen, const sigset_t *base);
/* Wakes sysmon for a round now; false when there is no sysmon to wake
 * (the runtime not running, or ending). (proc.c) */
bool gort__sysmon_kick(void);

/* ----------------------------------------------------------------- exec.c */
/* White-box (tests): gort_process_wait takes its fallback path (polling
 * waitpid) as if the kernel had no pidfd_open. */
extern _Atomic bool gort__pidfd_off;

/* -------------------------------------------------------------- context.c */
/* Live context nodes (export_test.c: a freed tree must leave none). */
extern _Atomic int64_t gort__ctx_live;
/* gort_main, once its Ps exist: arms the deadline timers of the contexts
 * made while no gort_main ran (they wait for it on a list). */
void gort__ctx_arm_pending(void);

/* ---------------------------------------------------------------- panic.c */
/* Runs the deferred calls of a goroutine that is exiting (goexit path). */
void gort__run_exit_defers(struct g *gp);
/* Called when a goroutine is started/reused: clears defer/panic state. */
void gort__panic_reset_g(struct g *gp);
/* At shutdown, before the Ps are freed: frees the pooled defer records. */
void gort__panic_fini(void);

/* ---------------------------------------------------------------- symtab.c */
/* The function symbol (from the ELF .symtab/.dynsym of the loaded objects)
 * that contains pc: 0 and its start, size and name (any out-pointer may be
 * NULL), or -ENOENT.  The name stays valid for the life of the process. */
int gort__symtab_lookup(uintptr_t pc, uintptr_t *start, size_t *size, const char **name);
/* The same from the table built so far (none built or refreshed here):
 * async-signal-safe. */
int gort__symtab_lookup_built(uintptr_t pc, uintptr_t *start, size_t *size);
/* The lowest start of a known symbol above addr, or UINTPTR_MAX. */
uintptr_t gort__symtab_next_start(uintptr_t addr);
/* The name of the symbol that contains pc as its file has it (for a C++
 * function, the mangled name that gort__symtab_lookup's demangles), or
 * NULL; valid for the life of the process. */
const char *gort__symtab_sysname(uintptr_t pc);
/* The length of a function's name as dumps and profiles show it: without
 * the suffix of a piece the compiler split off (f.constprop.0, f.isra.0,
 * f.part.0, f.cold; C names have no dots); a dot of an ellipsis, as in a
 * C++ template's arguments, stays. */
size_t gort__symtab_namelen(const char *name);

/* ----------------------------------------------------------------- sema.c */
/* Go's semacquire1 / semrelease1 on an address-keyed table.  Blocks (parks)
 * until *addr > 0, then decrements it.  lifo: queue at the head. */
void gort__semacquire(_Atomic uint32_t *addr, bool lifo, uint8_t reason);
/* Increments *addr and wakes one waiter; handoff: pass the count directly to
 * the waiter and yield to it (starvation mode). */
void gort__semrelease(_Atomic uint32_t *addr, bool handoff);
/* notifyList (sync.Cond's waiter list) over the _wait/_notify/_lock/_head/
 * _tail fields of a gort_cond (Go's notifyListAdd/Wait/NotifyOne/NotifyAll). */
void gort__notifylist_init(gort_cond *c);
uint32_t gort__notifylist_add(gort_cond *c);
void gort__notifylist_wait(gort_cond *c, uint32_t ticket);
void gort__notifylist_notify_one(gort_cond *c);
void gort__notifylist_notify_all(gort_cond *c);

/* ----------------------------------------------------------------- time.c */
struct ptimers;

/* One timer (Go's runtime timer).  Embedded in gort_timer, gort_ticker, a
 * pollDesc (deadlines), or on the stack of a sleeping goroutine.  Fields
 * other than f, arg, seq and track belong to time.c. */
typedef struct timer {
    _Atomic(struct ptimers *) pt; /* [pt->lock; read as a hint without it] heap, or NULL */
    int32_t idx;                  /* [pt->lock] index in pt->h */
    int64_t when;                 /* [pt->lock] deadline (gort_nanotime) */
    int64_t period;               /* [pt->lock] > 0: a ticker */
    /* The function run when the timer fires, on g0 of some M with a P, with
     * no lock held.  It must not block. */
    void (*f)(struct timer *t, int64_t now, uintptr_t seq); /* [immutable while in a heap] */
    void *arg;                                              /* [immutable while in a heap] */
    uintptr_t seq;           /* [owner, while in no heap] passed to f as it was when t fired */
    bool track;              /* [immutable] count calls in firing */
    _Atomic uint32_t firing; /* [atomic] calls of f in progress */
} timer;

/* Go's addtimer: puts t, which is in no heap, in the current P's heap
 * (allp[0]'s off a P) with deadline when (< 0: never). */
void gort__addtimer(timer *t, int64_t when);
/* Go's deltimer: removes t from its heap; true if it was in one. */
bool gort__deltimer(timer *t);
/* Waits until no call of t->f is in progress (t->track timers only; t must
 * be in no heap). */
void gort__waitfiring(timer *t);
/* gort__deltimer, then gort__waitfiring: after it, t->f is not running and
 * will not run (Go 1.19's Stop).  Returns gort__deltimer's answer. */
bool gort__deltimer_sync(timer *t);
/* Go's checkTimers: runs pp's due timers (on g0 of an M holding a P, not
 * necessarily pp).  *now: 0 or a recent gort_nanotime(), filled in when
 * needed.  True if a timer ran. */
bool gort__checktimers(struct p *pp, int64_t *now);
/* Go's nobarrierWakeTime: pp's earliest deadline, or 0 (seq_cst load). */
int64_t gort__timers_next(struct p *pp);
/* The earliest deadline over all Ps, or 0. */
int64_t gort__timers_earliest(void);
/* procresize (world stopped): moves from's timers to to. */
void gort__timers_move(struct p *from, struct p *to);
/* Shutdown: frees pp's timer heap. */
void gort__timers_pfree(struct p *pp);
/* checkdead: true if some P has a timer. */
bool gort__timers_pending(void);
/* (proc.c) Go's wakeNetPoller: a timer with deadline `when` became the
 * earliest of its heap; wake the timer-sleeping M if it sleeps past it.
 * has_p: the caller runs on a P that will look at its timers itself. */
void gort__timer_wake(int64_t when, bool has_p);

/* Toolkit timers (time.c) for synctest bubbles.  A timer that a goroutine
 * of a bubble makes (sleep, timer, ticker, after_func, a context's
 * deadline) goes into its bubble's heap, keyed by the fake clock; only the
 * bubble's root runs that heap (gort__timers_run). */
struct ptimers *gort__timers_heap_new(void);
/* Frees a bubble's heap; its timers are left in no heap (never fire). */
void gort__timers_heap_free(struct ptimers *pt);
/* Runs pt's timers due at now (on a goroutine: the bubble's root).
 * Returns the earliest deadline left, or 0. */
int64_t gort__timers_run(struct ptimers *pt, int64_t now);
/* The earliest deadline of pt, or 0. */
int64_t gort__timers_heap_next(struct ptimers *pt);
/* Adds t (in no heap) with deadline when to heap pt, or, pt == NULL, to the
 * current P's heap (gort__addtimer). */
void gort__addtimer_to(timer *t, int64_t when, struct ptimers *pt);

/* ------------------------------------------------------------ synctest.c */
struct gort__bubble;
/* Bubbles in existence (gates the hooks in goready). */
extern _Atomic int32_t gort__synctest_nbubbles;
/* Goroutines parked durably on an fd (their g.syncio set; netpoll.c). */
extern _Atomic int32_t gort__synctest_iowait;
/* The calling goroutine's clock: its bubble's fake time, else real time. */
int64_t gort__now(void);
/* The heap the calling goroutine's new timers belong in (its bubble's), or
 * NULL for the per-P heaps. */
struct ptimers *gort__synctest_timers(void);
/* Hooks (proc.c): newg, made by a goroutine of b, joins b. */
void gort__synctest_newg(struct gort__bubble *b, struct g *newg);
/* gp (in a bubble) exits: leaves it; clears gp->bubble.  On g0 or a
 * finishing switch. */
void gort__synctest_exit(struct g *gp);
/* gp (in a bubble) is about to park for reason (gopark).  park_end(ok)
 * follows once the unlock function has run (ok: it parked). */
void gort__synctest_park_begin(struct g *gp, uint8_t reason);
void gort__synctest_park_end(struct gort__bubble *b, struct g *gp, bool ok);
/* gp (in a bubble, G_WAITING) is being readied. */
void gort__synctest_ready(struct g *gp);
/* The calling goroutine's bubble, or NULL (a channel made now is its). */
struct gort__bubble *gort__synctest_bubble(void);
/* gort_chan_make for the runtime's own channels whose elements are never
 * pointers (the times of timers, tickers and gort_after): the collector
 * does not scan them, and making one takes no global lock. */
gort_chan *gort__chan_make_noscan(size_t elem_size, size_t cap);

/* Channel checks (chan.c, select.c): c belongs to the bubble that made it;
 * an operation from outside it is a fatal error with Go's text (op: "send
 * on", "receive on", "close of", "select on"). */
void gort__synctest_chan_check(struct gort__bubble *cb, const char *op);
/* Go's internal/synctest association of an object (a WaitGroup) with a
 * bubble, kept in a word of the object (*slot: the bubble's id, 0 none).
 * associate: in no bubble SYNCTEST_UNBUBBLED; else associates an
 * unassociated object with the caller's bubble and says whether the object
 * is now the caller's bubble's or another's. */
enum { SYNCTEST_UNBUBBLED, SYNCTEST_CURRENT, SYNCTEST_OTHER };
int gort__synctest_associate(_Atomic uint32_t *slot);
/* The object is associated with the caller's bubble. */
bool gort__synctest_is_associated(_Atomic uint32_t *slot);

/* -------------------------------------------------------------- netpoll.c */
/* The scheduler's side of the poller (netpoll.h has the pollDesc's).  The
 * backend (netpoll_epoll.c): made by gort_main, closed at its end. */
int gort__netpoll_init(void);
void gort__netpoll_fini(void);
/* shutdown_runtime, once every M has left: unlinks the goroutines parked
 * on a pollDesc (not the threads outside the runtime, which
 * gort__netpoll_fini wakes), under each pollDesc's lock, before the
 * goroutines are freed. */
void gort__netpoll_abandon(void);
/* shutdown_runtime: drops the reference to a pollDesc that gp, abandoned
 * in a call on an fd, holds (g.pdref). */
void gort__pd_abandon(struct g *gp);
/* Go's netpoll(delay): polls for ready fds, blocking up to delay ns (< 0:
 * until something is ready or gort__netpoll_break; 0: not at all).  Returns
 * the goroutines made ready, still G_WAITING, linked through schedlink
 * (threads outside the runtime are woken directly instead). */
struct g *gort__netpoll(int64_t delay);
/* As gort__netpoll; *broke set when the poll saw a break (netpoll_break). */
struct g *gort__netpoll_ex(int64_t delay, bool *broke);
/* Go's netpollBreak: makes a blocked gort__netpoll return (defined by the
 * backend, netpoll_epoll.c). */
void gort__netpoll_break(void);
/* Goroutines parked on an fd (Go's netpollWaiters), seq_cst load. */
int32_t gort__netpoll_waiters(void);
/* (proc.c) A goroutine parked on an fd while no M may be polling: make
 * sure one will (wakep if no M is blocked in netpoll). */
void gort__netpoll_kick(void);
/* (addr.c) "host:port" -> host (NUL-terminated, brackets removed) and the
 * port: Go's net.SplitHostPort, then parsePort.  0 and *port for a port
 * number; 1 and *service (the port's text, inside addr) for a service
 * name (gort__lookup_port); -EINVAL for a malformed address, a host longer
 * than hostlen - 1 or a number out of 0..65535.  Runtime-free. */
int gort__split_hostport(const char *addr, char *host, size_t hostlen, int *port,
                         const char **service);
/* (port.c) Go's LookupPort of a service name for socktype (SOCK_STREAM:
 * "tcp", SOCK_DGRAM: "udp"): Go's built-in names and /etc/services, which
 * the first call reads.  0 and *port; -ENOENT for an unknown name (Go's
 * "unknown port"), -EINVAL for a port of the file above 65535 (Go's
 * "invalid port"); -EMFILE/-ENFILE when no descriptor was free to open the
 * file (a later call reads it) and the name is not a built-in one, -ENOMEM
 * likewise.  Runtime-free: it may read a file, so a goroutine calls it
 * inside gort_syscall_enter/exit. */
int gort__lookup_port(int socktype, const char *service, int *port);
/* (port.c) As gort__lookup_port, with the services file at path read
 * afresh each call (NULL: Go's built-in names alone), for the tests
 * (export_test.c) and their own files. */
int gort__lookup_port_in(const char *path, int socktype, const char *service, int *port);
/* (netaddr.c) gort__split_hostport, then, for a service name,
 * gort__lookup_port for socktype inside gort_syscall_enter/exit: 0 and
 * *port, -EINVAL, -ENOENT (unknown service), -EMFILE/-ENFILE, -ENOMEM. */
int gort__parse_hostport(const char *addr, int socktype, char *host, size_t hostlen, int *port);
/* (netaddr.c) getaddrinfo of host and the numeric port for family and
 * socktype (passive: AI_PASSIVE), inside gort_syscall_enter/exit: DNS may
 * block, the P is handed off meanwhile.  0 (*res for freeaddrinfo), or
 * -ENOENT (no such host, or none in family), -EAGAIN, -ENOMEM, -errno,
 * -EINVAL. */
struct addrinfo;
int gort__getaddrinfo(const char *host, int port, int family, int socktype, bool passive,
                      struct addrinfo **res);
/* (net.c) Go's selfConnect: true if the connected TCP socket fd has its own
 * address as its peer's. */
bool gort__self_connected(int fd);

/* ----------------------------------------------------------------- pprof.c */
/* The block profile's rate (ns; 0 off) and the mutex profile's fraction
 * (0 off): read relaxed on the parking paths. */
extern _Atomic int64_t gort__blockprof_rate;
extern _Atomic int32_t gort__mutexprof_rate;
/* Registers / unregisters the calling M's thread for CPU profiling (on
 * that thread, at its start and end). */
void gort__prof_minit(struct m *mp);
void gort__prof_unminit(struct m *mp);
/* The threadcreate profile: a new M is being created (the creator's stack). */
void gort__prof_newm(void);
/* Sysmon, every round: drains CPU samples, runs the stall detector. */
void gort__prof_sysmon(int64_t now);
/* gort_main's end, with only the calling thread left: a CPU profile or an
 * execution trace still recording is finished (written to its fd), the
 * flight recorder dropped. */
void gort__prof_shutdown(void);
/* The block profile: a goroutine that parked for reason was blocked ns,
 * from its park to its waker's goready (called by gort__gopark when it
 * runs again). */
void gort__blockevent(int64_t ns, uint8_t reason);
/* The mutex profile: an unlock woke a waiter, whose wait charged to this
 * unlock lasted ns (sema.c). */
void gort__mutexevent(int64_t ns);
static inline bool gort__blockprof_reason(uint8_t r) {
    return (r >= WAIT_CHAN_RECV && r <= WAIT_SELECT_NO_CASES) ||
           (r >= WAIT_SEMACQUIRE && r <= WAIT_SYNC_ONCE);
}
/* t0 for gort__blockevent: nanotime when the block profile is on and
 * reason is one it records, else 0 (one predictable branch when off). */
#define GORT_BLOCKPROF_T0(reason)                                                            \
    (GORT_UNLIKELY(atomic_load_explicit(&gort__blockprof_rate, memory_order_relaxed) > 0) && \
             gort__blockprof_reason(reason)                                                  \
         ? gort_nanotime()                                                                   \
         : 0)
/* t0 for a sudog's acquiretime: nanotime when the mutex profile is on and
 * reason is a sync.Mutex/RWMutex wait, else 0. */
#define GORT_MUTEXPROF_T0(reason)                                                            \
    (GORT_UNLIKELY(atomic_load_explicit(&gort__mutexprof_rate, memory_order_relaxed) > 0) && \
             (reason) >= WAIT_SYNC_MUTEX && (reason) <= WAIT_SYNC_RWMUTEX_W                  \
         ? gort_nanotime()                                                                   \
         : 0)
/* MemProfileRate (pprof.c): bytes between heap profile samples on
 * average; 1 every object; <= 0 none.  The recording side is in malloc.h. */
extern _Atomic int64_t gort__memprof_rate;
/* ------------------------------------------- malloc.c, mgc.c (the heap) */
/* gort_main starts: reads GOGC and GOMEMLIMIT, forgets the previous run's
 * finalizer goroutine. */
void gort__heap_init_run(void);
/* sysmon: returns free heap pages to the OS (the background scavenger). */
void gort__heap_scavenge_tick(int64_t now);
/* gort_read_stats: the heap and collector fields, with the world stopped
 * (or worldsema held and no runtime running: gort__stop_the_world_if_running). */
void gort__heap_read_stats(gort_stats *s);
/* Channels whose elements may hold pointers are collector roots:
 * gort_chan_make registers them (0 or -ENOMEM), gort_chan_free forgets.
 * Not a channel made noscan (gort__chan_make_noscan). */
int gort__gc_chan_add(struct gort_chan *c);
void gort__gc_chan_del(struct gort_chan *c);
/* A collector root the runtime embeds in memory it mallocs for a user's
 * pointers (a value context's key and value, an after-func's argument):
 * linked into a list under the registry's lock, so adding and removing
 * are O(1) and cannot fail (gort_gc_add_roots's array is searched on
 * removal: 18 us per free with 100,000 value contexts live). */
typedef struct gort__gcroot {
    struct gort__gcroot *next, *prev; /* [rootlock] */
    uintptr_t lo, len;                /* [rootlock] the range scanned */
} gort__gcroot;
void gort__gc_root_add(gort__gcroot *r, const void *lo, size_t len);
void gort__gc_root_del(gort__gcroot *r);
/* The top of the calling thread's stack (0 if unknown). */
uintptr_t gort__thread_stack_hi(void);
/* 1 while the finalizer goroutine exists and is not running a finalizer:
 * gort_numgoroutine leaves it out, as Go's NumGoroutine does. */
extern _Atomic int gort__fing_system;
/* mfinal.c: wakes (or starts) the finalizer goroutine if finalizers are
 * queued: after a collection restarts the world, and when the main
 * goroutine starts (a collection before gort_main may have queued some). */
void gort__fin_wake(void);
/* mgc.c's gcsema (no cycle runs while it is held): taken by gort_main's
 * start until the runtime runs, and by the main goroutine's return until
 * the runtime is gone (proc.c world_hold). */
void gort__gc_hold(void);
void gort__gc_release(void);
/* GORTDEBUG=gctrace=1 (debug.c sets it). */
extern int32_t gort__debug_gctrace;

#endif /* GORT_INTERNAL_H */
