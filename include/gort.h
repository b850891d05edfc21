/*
 * gort.h - the Go runtime's concurrency machinery for C11 on Linux.
 *
 * gort gives C programs goroutines scheduled M:N over OS threads by Go's
 * M:P:G work-stealing scheduler, channels and select, the sync package,
 * timers, an epoll netpoller, defer/panic/recover and the runtime package's
 * introspection.  This header is the whole public API; its signatures are
 * fixed by the project's design (API.md, beside the repository in
 * ../shared/design/), and later versions only add to it.
 *
 * Conventions (read these once, they hold for every call below):
 *   - Fallible calls return 0 (or a count) on success and a negative errno
 *     (-ENOMEM, -EINVAL, -ETIMEDOUT, ...) on failure, like libuv.  No call
 *     reports through the thread-local errno: goroutines move between threads.
 *   - Programmer errors are panics carrying Go's message text (recoverable
 *     with gort_call/gort_defer/gort_recover) or fatal errors (not
 *     recoverable: "fatal error: <msg>", a goroutine dump, exit status 2,
 *     after flushing the stdout and stderr buffers unless another thread
 *     holds their lock), exactly where Go panics or throws.
 *   - Times are int64_t nanoseconds.  Deadlines are absolute values of
 *     gort_nanotime().
 *   - The sync types are plain structs whose all-zero value is ready to use
 *     (GORT_MUTEX_INIT etc. expand to {0}, {} in C++); they need no destroy
 *     call and must not be copied after first use.  gort_cond is the
 *     exception: it needs gort_cond_init.
 *   - "Blocks" means: parks the calling goroutine (its thread runs other
 *     goroutines meanwhile).  Called from a plain thread that is not running
 *     a goroutine, the same call blocks that OS thread instead, and still
 *     works (channels, sync types, gort_go, timers).
 *
 * Thread-local storage caveat: a goroutine may resume on a different OS
 * thread after any gort call that can block or yield.  Do not keep the
 * address of a thread-local variable (including errno) across such a call.
 * The compiler may keep it for you: glibc declares errno's function
 * const, and GCC computes a thread-local's address once per function, so
 * in a function that makes such a call, read errno and thread-locals only
 * before it, or in a separate function (noinline), or lock the goroutine
 * to its thread (gort_lock_os_thread).  errno's value, and a C++
 * program's exception state (the caught exceptions, for
 * std::current_exception and throw;, and std::uncaught_exceptions), are
 * kept per goroutine: a goroutine may block in a catch block.  (The
 * latter when the program is linked with libstdc++, shared as by
 * default, or static with libgort.a; not when only a library the
 * program dlopens brings it in.)
 */
#ifndef GORT_H
#define GORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GORT_BUILDING) && defined(__GNUC__)
#define GORT_API __attribute__((visibility("default")))
#else
#define GORT_API
#endif

/* C11's _Noreturn, or C++'s [[noreturn]]: the header compiles as C++ too. */
#ifdef __cplusplus
#define GORT_NORETURN [[noreturn]]
#else
#define GORT_NORETURN _Noreturn
#endif

#define GORT_VERSION_MAJOR 0
#define GORT_VERSION_MINOR 1
#define GORT_VERSION_PATCH 0
#define GORT_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0".  Never fails. */
GORT_API const char *gort_version(void);

/* ------------------------------------------------------------------------
 * Runtime lifecycle
 * ------------------------------------------------------------------------ */

/*
 * Starts the runtime and runs main_fn(arg) as the main goroutine
 * (goroutine 1) on the calling thread.  Like Go's main goroutine, it may
 * later move to another of the runtime's threads (after a preemption, a
 * block or a yield) unless it calls gort_lock_os_thread; gort_main
 * returns on the calling thread either way.  GOMAXPROCS comes from the
 * GOMAXPROCS environment variable, read now (default: the number of CPUs
 * the process may use), capped at GORT_MAX_PROCS as gort_gomaxprocs's
 * argument is (Go has no cap).  Returns main_fn's value when main_fn returns.
 * Like Go's program exit, goroutines still running then are abandoned
 * (never resumed, their stacks freed), and the runtime's threads are
 * stopped and joined: a goroutine busy in a loop that makes no gort call
 * is stopped where it is by the preemption signal, where asynchronous
 * preemption could stop it (in the executable's code: see "Preemption"
 * below); elsewhere (in libc, under ThreadSanitizer, at
 * asyncpreemptoff=1) its thread is waited for until the goroutine
 * reaches a gort call.  A channel, mutex, Cond, WaitGroup, fd or
 * gort_conn that an abandoned goroutine was blocked on no longer counts
 * it and may be used on and closed; an RWMutex it was blocked on, and any
 * lock it held, stay as it left them.  Timers and
 * context deadlines still pending never fire (see gort_timer_new).
 * Unlike Go's exit, the return first waits for a collection under way
 * (gort_gc, or one the heap's growth started) to finish, and for a stop of
 * the world to end: none is abandoned half done.  A thread outside the
 * runtime whose call stops the world (gort_gc, gort_gomaxprocs,
 * gort_read_stats, gort_free_os_memory, gort_set_mem_profile_rate) while
 * gort_main starts or returns waits until the runtime runs, or is gone,
 * and then does what it does with or without a runtime.
 *
 * May be called again, sequentially, in the same process.
 * Returns -EBUSY if another gort_main is running, -ENOMEM/-EAGAIN if the
 * runtime could not get memory or its first threads.
 *
 * fork() while gort_main runs (from any thread): only the forking thread
 * lives on in the child, so the runtime cannot go on there - fork only to
 * exec (or use gort_process_spawn).  In such a child, a call that would
 * run another goroutine or wait for one (a block, a sleep, a yield, a
 * collection) is the fatal error "gort: a child forked inside gort_main
 * cannot run goroutines (fork only to exec: see gort_process_spawn)"
 * (the parent's goroutines are never run there), gort_go returns
 * -EAGAIN, gort_main -EBUSY, and main_fn's return ends the child with
 * exit(main_fn's value) (gort_main cannot return there).  A call there
 * that needs a runtime lock another thread held at the fork (gort_new's
 * page heap, a channel's lock) is the fatal error "gort: a child forked
 * inside gort_main needs a runtime lock that another thread held at the
 * fork (fork only to exec: see gort_process_spawn)", not a hang.  A child
 * forked outside gort_main may call it (see gort_new).
 */
GORT_API int gort_main(int (*main_fn)(void *arg), void *arg);

/* ------------------------------------------------------------------------
 * Goroutines (runtime.Gosched, Goexit, NumGoroutine, GOMAXPROCS, LockOSThread)
 * ------------------------------------------------------------------------ */

typedef struct gort_go_attr {
    size_t stack_size; /* 0: the runtime's default (GORT_DEFAULT_STACK_SIZE) */
    const char *name;  /* in dumps at GORTRACEBACK=system; may be NULL; copied */
} gort_go_attr;

/* The default usable stack of a goroutine: 256 KiB of virtual memory,
 * committed page by page as it is touched, above a 64 KiB guard.  At least
 * 64 KiB of C frames always fit.  A goroutine that overflows its stack is a
 * fatal error ("fatal error: stack overflow"), never a silent corruption,
 * in code built with -fstack-clash-protection (pkg-config's Cflags add it:
 * the compiler then touches each page of a frame larger than a page, so
 * no frame steps over the guard).  Without it, one frame of more than
 * 64 KiB can step over the guard into the stack below.  Kernels before
 * 6.13 can place guards inside a mapping only by splitting it, which
 * gort does for the first 30,000 stacks; past those, the guard is a canary
 * word checked when the goroutine parks and exits, so an overflow is
 * caught there, after it wrote below its stack (over other goroutines'
 * stacks, or other memory), if it gets that far. */
#define GORT_DEFAULT_STACK_SIZE (256u * 1024u)
/* Smallest and largest stack_size accepted by gort_go_attr_spawn. */
#define GORT_MIN_STACK_SIZE (16u * 1024u)
#define GORT_MAX_STACK_SIZE (1024u * 1024u * 1024u)

/*
 * go fn(arg): starts a new goroutine running fn(arg) and returns (the new
 * goroutine runs later, on any thread).  May be called from any thread,
 * inside the runtime or not, while gort_main is running.  Like any gort
 * call it is a preemption point; in addition, a goroutine that spawns
 * faster than the Ps can run what it spawns is made to wait its turn once
 * more than 256 goroutines per P are queued (spawn backpressure: the
 * number of waiting goroutines, and their stacks, stays bounded).
 * Returns 0, -ENOMEM (no memory for a goroutine or its stack), -EAGAIN (the
 * runtime is not running or is shutting down).  Never aborts on exhaustion.
 * fn == NULL is a fatal error: "go of nil func value".  In C++, an
 * exception that leaves fn (or gort_main's main_fn) is not propagated to
 * the goroutine's creator nor to gort_main's caller: no handler is found
 * above the goroutine's first frame, so std::terminate ends the process
 * ("terminate called after throwing ...", then the SIGABRT report, exit
 * status 2).  Catch it inside fn.
 */
GORT_API int gort_go(void (*fn)(void *arg), void *arg);

/*
 * As gort_go, with attributes (attr may be NULL).  stack_size is rounded up
 * to whole pages; outside [GORT_MIN_STACK_SIZE, GORT_MAX_STACK_SIZE] it is
 * -EINVAL.
 */
GORT_API int gort_go_attr_spawn(void (*fn)(void *arg), void *arg, const gort_go_attr *attr);

/* runtime.Gosched: yields the processor; the caller goes to the back of the
 * run queue and runs again later.  Outside a goroutine: sched_yield(). */
GORT_API void gort_yield(void);

/* runtime.Goexit: runs the goroutine's deferred calls and ends it.  From
 * the main goroutine the others run on; when none is left the runtime
 * reports "fatal error: no goroutines (main called runtime.Goexit) -
 * deadlock!".  Outside a goroutine: fatal error.  Like a recovered panic
 * it leaves the frames in between without unwinding them: no C++
 * destructor, no __attribute__((cleanup)) runs there (unlike
 * pthread_exit's); keep such cleanup in deferred calls. */
GORT_API GORT_NORETURN void gort_goexit(void);

/* The calling goroutine's id (1 for the main goroutine); 0 outside one. */
GORT_API int64_t gort_goid(void);

/* runtime.NumGoroutine: goroutines that exist now (running, runnable,
 * blocked), including the caller.  0 when the runtime is not running.  As
 * in Go, the runtime's own goroutines are not counted (the finalizer
 * goroutine while it runs no finalizer, the flight recorder's); dumps show
 * the flight recorder's only at GORTRACEBACK=system. */
GORT_API int gort_numgoroutine(void);

/* runtime.NumCPU: CPUs usable by the process (sched_getaffinity), read as
 * gort_main starts, as Go reads it at the process's start: a change of the
 * affinity during a run is not seen.  Before the first gort_main it is read
 * at each call; between runs it is the last run's. */
GORT_API int gort_numcpu(void);

/* runtime.GOMAXPROCS: n > 0 sets the number of processors (at run time; it
 * stops the world briefly), n <= 0 only reads.  Returns the previous value.
 * n is capped at GORT_MAX_PROCS.  Outside gort_main: reads/sets the value
 * the next gort_main would start with. */
GORT_API int gort_gomaxprocs(int n);
#define GORT_MAX_PROCS 256

/* runtime.LockOSThread / UnlockOSThread: while locked (calls nest and are
 * counted), the calling goroutine runs only on its current OS thread and no
 * other goroutine runs there.  A goroutine that exits while locked takes its
 * thread with it (the thread exits).  Outside a goroutine: no effect. */
GORT_API void gort_lock_os_thread(void);
GORT_API void gort_unlock_os_thread(void);

/* ------------------------------------------------------------------------
 * Channels
 * ------------------------------------------------------------------------ */

/* Go's hchan.  Opaque; created by gort_chan_make, freed by gort_chan_free. */
typedef struct gort_chan gort_chan;

/* make(chan T, cap) with sizeof(T) == elem_size (0 allowed).  Returns NULL
 * when out of memory (or elem_size >= 64 KiB, as Go's limit). */
GORT_API gort_chan *gort_chan_make(size_t elem_size, size_t cap);
/* Frees c (NULL: no-op).  Panics if goroutines are still blocked on c. */
GORT_API void gort_chan_free(gort_chan *c);
/* c <- *elem.  Blocks until a receiver takes the value or it fits in the
 * buffer.  Panics "send on closed channel".  c == NULL blocks forever. */
GORT_API void gort_chan_send(gort_chan *c, const void *elem);
/* *elem = <-c.  Blocks until a value arrives.  Returns false when c is
 * closed and drained (elem is then zeroed).  elem may be NULL (value
 * dropped).  c == NULL blocks forever. */
GORT_API bool gort_chan_recv(gort_chan *c, void *elem);
/* select { case c <- *elem: return true; default: return false }.
 * Panics "send on closed channel" on a closed channel. */
GORT_API bool gort_chan_trysend(gort_chan *c, const void *elem);
/* select { case v, ok := <-c: ...; default: }.  Returns false if it would
 * block; else true with *ok as gort_chan_recv's result (ok may be NULL). */
GORT_API bool gort_chan_tryrecv(gort_chan *c, void *elem, bool *ok);
/* close(c): wakes every blocked receiver (they get false) and every blocked
 * sender (they panic).  Panics "close of nil channel" or
 * "close of closed channel". */
GORT_API void gort_chan_close(gort_chan *c);
/* len(c) and cap(c); 0 for NULL. */
GORT_API size_t gort_chan_len(gort_chan *c);
GORT_API size_t gort_chan_cap(gort_chan *c);

/* ------------------------------------------------------------------------
 * Select
 * ------------------------------------------------------------------------ */

enum { GORT_SEND = 1, GORT_RECV = 2 };

typedef struct gort_select_case {
    gort_chan *chan; /* NULL: this case never proceeds */
    int dir;         /* GORT_SEND or GORT_RECV */
    void *elem;      /* value to send, or where to store the received value (may be NULL) */
    bool ok;         /* set for the chosen case: recv as gort_chan_recv; send: true */
} gort_select_case;

/* Go's select.  Returns the index of the case that proceeded; among ready
 * cases the choice is uniformly random.  block == false: returns -1 when no
 * case is ready (Go's default).  ncases == 0 with block blocks forever.
 * A send case on a closed channel panics "send on closed channel". */
GORT_API int gort_select(gort_select_case *cases, int ncases, bool block);

/* ------------------------------------------------------------------------
 * Sync (package sync).  Fields are private: not API.
 * ------------------------------------------------------------------------ */

typedef struct gort_mutex {
    int32_t _state;
    uint32_t _sema;
} gort_mutex;

typedef struct gort_rwmutex {
    gort_mutex _w;
    uint32_t _writer_sem;
    uint32_t _reader_sem;
    int32_t _reader_count;
    int32_t _reader_wait;
} gort_rwmutex;

typedef struct gort_once {
    uint32_t _done;
    gort_mutex _m;
} gort_once;

typedef struct gort_waitgroup {
    uint64_t _state; /* high 32 bits: counter; bit 31: synctest; low 31 bits: waiters */
    uint32_t _sema;
    uint32_t _bubble; /* synctest: the id of the bubble its Add ran in, 0 none */
} gort_waitgroup;

typedef struct gort_cond {
    gort_mutex *_l;
    uint32_t _wait;   /* notifyList: ticket of the next waiter */
    uint32_t _notify; /* notifyList: ticket of the next to be notified */
    uint32_t _lock;   /* notifyList: runtime lock word */
    void *_head;      /* notifyList: waiting sudogs */
    void *_tail;
} gort_cond;

/* In C++ the same zero value is written {}, which -Wextra's
 * -Wmissing-field-initializers accepts there (it warns on {0} in C++). */
#ifdef __cplusplus
#define GORT_MUTEX_INIT \
    {}
#define GORT_RWMUTEX_INIT \
    {}
#define GORT_ONCE_INIT \
    {}
#define GORT_WAITGROUP_INIT \
    {}
#else
#define GORT_MUTEX_INIT \
    { 0 }
#define GORT_RWMUTEX_INIT \
    { 0 }
#define GORT_ONCE_INIT \
    { 0 }
#define GORT_WAITGROUP_INIT \
    { 0 }
#endif

/* sync.Mutex.  lock blocks until acquired; trylock never blocks.
 * Unlocking an unlocked mutex is "fatal error: sync: unlock of unlocked mutex". */
GORT_API void gort_mutex_lock(gort_mutex *m);
GORT_API bool gort_mutex_trylock(gort_mutex *m);
GORT_API void gort_mutex_unlock(gort_mutex *m);

/* sync.RWMutex, writer-preferring as Go's: a blocked lock() stops new
 * readers.  Misuse: "fatal error: sync: RUnlock of unlocked RWMutex" /
 * "sync: Unlock of unlocked RWMutex". */
GORT_API void gort_rwmutex_rlock(gort_rwmutex *rw);
GORT_API bool gort_rwmutex_tryrlock(gort_rwmutex *rw);
GORT_API void gort_rwmutex_runlock(gort_rwmutex *rw);
GORT_API void gort_rwmutex_lock(gort_rwmutex *rw);
GORT_API bool gort_rwmutex_trylock(gort_rwmutex *rw);
GORT_API void gort_rwmutex_unlock(gort_rwmutex *rw);

/*
 * Go inlines the uncontended paths of Lock, Unlock, RLock and RUnlock into
 * the caller; with GCC or clang so does this header: the four macros below
 * expand to inline fast paths (one atomic instruction each, the same as the
 * functions') that call the gort__*_slow functions only when there is
 * contention or misuse.  The gort__ functions are exported for them and are
 * not part of the API.  &gort_mutex_lock and (gort_mutex_lock)(m) still name
 * the functions; define GORT_NO_INLINE before including gort.h to always
 * call them.
 */
GORT_API void gort__mutex_lock_slow(gort_mutex *m);
GORT_API void gort__mutex_unlock_slow(gort_mutex *m, int32_t nstate);
GORT_API void gort__rwmutex_rlock_slow(gort_rwmutex *rw);
GORT_API void gort__rwmutex_runlock_slow(gort_rwmutex *rw, int32_t r);
/* Under ThreadSanitizer (race mode) every lock and unlock goes through the
 * library, which announces its happens-before edge (san.h). */
#if defined(__SANITIZE_THREAD__) && !defined(GORT_NO_INLINE)
#define GORT_NO_INLINE 1
#elif defined(__has_feature) && !defined(GORT_NO_INLINE)
#if __has_feature(thread_sanitizer)
#define GORT_NO_INLINE 1
#endif
#endif
#if defined(__GNUC__) && !defined(GORT_BUILDING) && !defined(GORT_NO_INLINE)
static inline __attribute__((always_inline)) void gort__mutex_lock_inl(gort_mutex *m) {
    int32_t zero = 0; /* unlocked, no waiters -> locked (acquire) */
    if (__builtin_expect(!__atomic_compare_exchange_n(&m->_state, &zero, 1, 0, __ATOMIC_ACQUIRE,
                                                      __ATOMIC_RELAXED),
                         0))
        gort__mutex_lock_slow(m);
}
static inline __attribute__((always_inline)) void gort__mutex_unlock_inl(gort_mutex *m) {
    int32_t n = __atomic_sub_fetch(&m->_state, 1, __ATOMIC_RELEASE);
    if (__builtin_expect(n != 0, 0)) /* waiters, starvation, or not locked */
        gort__mutex_unlock_slow(m, n);
}
static inline __attribute__((always_inline)) void gort__rwmutex_rlock_inl(gort_rwmutex *rw) {
    if (__builtin_expect(__atomic_add_fetch(&rw->_reader_count, 1, __ATOMIC_ACQUIRE) < 0, 0))
        gort__rwmutex_rlock_slow(rw); /* a writer is pending */
}
static inline __attribute__((always_inline)) void gort__rwmutex_runlock_inl(gort_rwmutex *rw) {
    int32_t r = __atomic_sub_fetch(&rw->_reader_count, 1, __ATOMIC_RELEASE);
    if (__builtin_expect(r < 0, 0))
        gort__rwmutex_runlock_slow(rw, r);
}
#define gort_mutex_lock(m) gort__mutex_lock_inl(m)
#define gort_mutex_unlock(m) gort__mutex_unlock_inl(m)
#define gort_rwmutex_rlock(rw) gort__rwmutex_rlock_inl(rw)
#define gort_rwmutex_runlock(rw) gort__rwmutex_runlock_inl(rw)
#endif

/* sync.Once: runs fn(arg) once; concurrent callers block until it returned.
 * A NULL fn is Go's Do(nil): a panic "runtime error: invalid memory address
 * or nil pointer dereference" that can be recovered, and o is done. */
GORT_API void gort_once_do(gort_once *o, void (*fn)(void *arg), void *arg);

/* sync.WaitGroup.  add panics "sync: negative WaitGroup counter"; wait
 * blocks until the counter is zero.  Reusable once the counter is zero.
 * synctest (Go 1.25): an add (or done) from inside a bubble associates the
 * WaitGroup with that bubble until its counter is back to zero with no
 * waiter, and a wait on it there is durably blocking; a wait on a
 * WaitGroup whose adds ran outside is not.  An add from a second bubble is
 * a fatal error "sync: WaitGroup.Add called from multiple synctest
 * bubbles", one from both inside and outside "sync: WaitGroup.Add called
 * from inside and outside synctest bubble". */
GORT_API void gort_wg_add(gort_waitgroup *wg, int64_t delta);
GORT_API void gort_wg_done(gort_waitgroup *wg);
GORT_API void gort_wg_wait(gort_waitgroup *wg);

/* sync.Cond over mutex m (init before first use; not ready at zero).
 * wait: unlocks m, blocks until signalled, relocks m.  signal wakes the
 * longest waiter; broadcast wakes all.  signal/broadcast never block.
 * wait on a Cond without a mutex (never initialised, or m NULL) panics,
 * as Go's Wait with a nil L. */
GORT_API void gort_cond_init(gort_cond *c, gort_mutex *m);
GORT_API void gort_cond_wait(gort_cond *c);
GORT_API void gort_cond_signal(gort_cond *c);
GORT_API void gort_cond_broadcast(gort_cond *c);

/* ------------------------------------------------------------------------
 * Time (package time)
 * ------------------------------------------------------------------------ */

/* Monotonic clock (CLOCK_MONOTONIC) in nanoseconds.  Never fails.  Like
 * every gort call it honours a pending preemption request, so it may run
 * other goroutines before it returns (a loop on the clock gives way): it
 * is not async-signal-safe; a signal handler reads clock_gettime. */
GORT_API int64_t gort_nanotime(void);
/* time.Sleep: blocks for at least ns (ns <= 0 returns at once). */
GORT_API void gort_sleep(int64_t ns);

typedef struct gort_timer gort_timer;
/* time.NewTimer: after ns, sends gort_nanotime() (int64_t) on its channel
 * (cap 1).  NULL when out of memory, or when no gort_main is running (a
 * timer needs the runtime to fire; plain threads may make timers while it
 * runs).  A timer left pending when gort_main returns never fires: Stop
 * then returns false, and Reset and a ticker's Reset only stop it until a
 * later gort_main, where they work again.  So does one that a plain thread
 * makes or resets while gort_main is returning. */
GORT_API gort_timer *gort_timer_new(int64_t ns);
/* time.AfterFunc: after ns runs fn(arg) in its own goroutine.  NULL as
 * gort_timer_new.  A NULL fn makes the timer (as Go's AfterFunc(d, nil)):
 * its firing is "fatal error: go of nil func value"; stopped first, it
 * does nothing. */
GORT_API gort_timer *gort_after_func(int64_t ns, void (*fn)(void *arg), void *arg);
/* The timer's channel; NULL for after_func timers. */
GORT_API gort_chan *gort_timer_chan(gort_timer *t);
/* Timer.Stop: true if the call stopped the timer before it fired (Go 1.19). */
GORT_API bool gort_timer_stop(gort_timer *t);
/* Timer.Reset: true if the timer had been active (Go 1.19). */
GORT_API bool gort_timer_reset(gort_timer *t, int64_t ns);
/* Stops the timer and frees it (and its channel). */
GORT_API void gort_timer_free(gort_timer *t);

typedef struct gort_ticker gort_ticker;
/* time.NewTicker; NULL if period <= 0, out of memory, or no gort_main is
 * running (see gort_timer_new). */
GORT_API gort_ticker *gort_ticker_new(int64_t period);
/* Cap-1 channel of int64_t ticks: ticks a slow receiver misses are dropped. */
GORT_API gort_chan *gort_ticker_chan(gort_ticker *t);
/* Ticker.Reset; period <= 0 panics "non-positive interval for Ticker.Reset". */
GORT_API void gort_ticker_reset(gort_ticker *t, int64_t period);
GORT_API void gort_ticker_stop(gort_ticker *t);
GORT_API void gort_ticker_free(gort_ticker *t);

/* ------------------------------------------------------------------------
 * Network and file descriptors (the netpoller)
 * ------------------------------------------------------------------------ */

/*
 * Every fd these calls return is nonblocking and close-on-exec; sockets they
 * make have TCP_NODELAY (accept, dial) or SO_REUSEADDR (listen).  A
 * goroutine blocked in I/O is parked, never its thread.  A thread outside
 * the runtime may call them too (it sleeps on a futex while it waits);
 * before gort_main, or after it returns, they work by blocking the calling
 * thread in poll(2), and a thread's call that is waiting when gort_main
 * returns goes on waiting there.
 *
 * gort_read, gort_write, gort_set_deadline and gort_wait_fd also take fds
 * gort did not make (pipes, sockets, eventfds...): the fd is registered with
 * the poller on first use, and gort_read/gort_write/gort_set_deadline make
 * it nonblocking (gort_wait_fd leaves its flags alone).  A regular file
 * cannot be polled: its reads and writes run inside gort_syscall_enter/exit.
 * Close such fds with gort_close: one closed behind gort's back with
 * close(2) is noticed before its next wait, and a new file that gets its
 * number has none of the old one's deadlines (and is made nonblocking by
 * gort_read and gort_write, which check the flags of fds gort did not
 * make: one fcntl a call).
 *
 * Concurrent gort_read calls on one fd take turns (one reader at a time,
 * as Go's net.Conn), and so do concurrent gort_write calls, whose n bytes
 * are never interleaved with another writer's.  Reads and writes may run
 * at the same time.
 *
 * Addresses are "host:port".  The port is a number (decimal, 0 to 65535,
 * read as Go reads one: an empty port is 0, a '+' or a "-0" is taken,
 * leading zeros too) or, if it has a byte that is not a digit (after one
 * sign), a service name, looked up as Go 1.19's own resolver does
 * (net.LookupPort): for TCP, or UDP for the "udp*" networks, in Go's
 * built-in names ("http" 80, "https" 443, "ssh" 22, "ftp" 21, "smtp" 25,
 * "telnet" 23, "imap2" 143, "imap3" 220, "imaps" 993, "pop3" 110, "pop3s"
 * 995, "ftps" 990, "gopher" 70; "domain" 53 for UDP) and in /etc/services,
 * read at the first lookup, whose last line for a name wins.  The name is
 * matched in ASCII lower case ("HTTP" is 80), untrimmed and whole ("+http"
 * and "http " are unknown), up to 25 bytes.  The host is an IPv4 literal,
 * an IPv6 literal in brackets ("[::1]:0"), a name ("localhost:80":
 * resolved with getaddrinfo inside gort_syscall_enter/exit, so the lookup
 * never stalls a processor; so is /etc/services read), or empty (":8080":
 * every address, IPv6 and IPv4, for gort_listen; the loopback for
 * gort_dial, as in Go).  An empty address ("") is ":0" for gort_listen,
 * gort_conn_listen and gort_resolve_addr, as Go's Listen, ListenPacket and
 * Resolve*Addr take it; gort_dial and gort_conn_dial reject it (-EINVAL,
 * Go's "missing address").  A malformed address, or a port number out of
 * range, is -EINVAL; a host name that does not resolve, or a service name
 * that is not known (Go's "unknown port", looked up before the host),
 * -ENOENT; a lookup that could not run for want of descriptors (it opens
 * /etc/hosts and a socket to the DNS server, or /etc/services for a name
 * not built in), -EMFILE/-ENFILE.
 */
enum { GORT_POLL_READ = 1, GORT_POLL_WRITE = 2 };

/* net.Listen("tcp", addr): a listening TCP socket.  backlog <= 0 means
 * SOMAXCONN.  Returns the fd, or -errno (-EINVAL for a malformed address,
 * -ENOENT for an unknown host or service name, -EADDRINUSE, -EACCES,
 * -EMFILE, ...).  Does not block (beyond a name lookup). */
GORT_API int gort_listen(const char *addr, int backlog);
/* The local port fd is bound to (e.g. after ":0"), or -errno. */
GORT_API int gort_local_port(int fd);
/* Blocks until a connection arrives on the listening lfd; returns its fd
 * (nonblocking, close-on-exec, TCP_NODELAY) or -errno: -EBADF once lfd is
 * closed (also when gort_close(lfd) runs while we wait), -ETIMEDOUT at the
 * read deadline of lfd, -EMFILE/-ENFILE when out of descriptors (lfd stays
 * usable).  sa and salen may be NULL; else as for accept(2). */
GORT_API int gort_accept(int lfd, struct sockaddr *sa, socklen_t *salen);
/* net.Dial("tcp", addr): connects, blocking the goroutine until the
 * connection is made, refused or timed out.  A name resolving to several
 * addresses is tried in order.  deadline: absolute gort_nanotime(), 0 for
 * none; one in the past (any negative value too) times out at once.
 * Returns the fd, or -errno (-ECONNREFUSED, -ETIMEDOUT at the
 * deadline, -ENETUNREACH, -ENOENT for an unknown host or service name,
 * -EINVAL, -EMFILE/-ENFILE when out of descriptors, for the socket or the
 * name's lookup). */
GORT_API int gort_dial(const char *addr, int64_t deadline);
/* Reads up to n bytes, blocking the goroutine until at least one byte (or
 * EOF, or an error) arrives.  Returns the count, 0 at EOF (and for n == 0),
 * or -errno: -ETIMEDOUT once the read deadline has passed (even if data is
 * waiting, as Go), -EBADF if fd is not open or gort_close closes it
 * meanwhile, -ECONNRESET, ... */
GORT_API ssize_t gort_read(int fd, void *buf, size_t n);
/* Writes all n bytes, blocking the goroutine while the socket buffer is
 * full.  Returns n, or -errno: -EPIPE/-ECONNRESET for a peer that has gone
 * (the process never dies of SIGPIPE, even on a pipe), -ETIMEDOUT at the
 * write deadline (some bytes may have been written), -EBADF when closed,
 * -EFBIG past the file size limit (RLIMIT_FSIZE; the bytes up to it are
 * written): while gort_main runs, SIGXFSZ is caught and dropped unless
 * the program set an action for it, as a Go program drops it. */
GORT_API ssize_t gort_write(int fd, const void *buf, size_t n);
/* SetReadDeadline + SetWriteDeadline: absolute gort_nanotime() values, 0
 * for none.  A deadline in the past expires at once; a goroutine already
 * blocked on that side wakes with -ETIMEDOUT; a later call replaces an
 * earlier deadline.  A deadline set before gort_main holds in its run
 * (one already past expires at once); an fd's deadlines end with the run:
 * when gort_main returns the fds stay open, with none.  Returns 0 or
 * -errno: -EBADF, -ENOTSUP for a regular file or a directory, whose reads
 * and writes never wait (Go's os.ErrNoDeadline; the fd keeps no
 * deadline). */
GORT_API int gort_set_deadline(int fd, int64_t read_deadline, int64_t write_deadline);
/* Blocks the goroutine until the nonblocking fd (of any kind) is ready for
 * any of events (GORT_POLL_READ | GORT_POLL_WRITE), as poll(2) would say.
 * Returns 0 when ready, -ETIMEDOUT at deadline (absolute, 0: none; one in
 * the past, any negative value too, at once) or at the fd's own deadline,
 * -EBADF when gort_close closes fd meanwhile, -EINVAL for no events. */
GORT_API int gort_wait_fd(int fd, int events, int64_t deadline);
/* Closes fd: every goroutine blocked on it wakes with -EBADF, the close
 * waits until the calls in progress on fd have returned, and only then
 * close(2) frees the number for reuse.  Returns 0, or -EBADF if fd is
 * already being closed (or is not open). */
GORT_API int gort_close(int fd);

/* ------------------------------------------------------------------------
 * Blocking foreign calls (entersyscall/exitsyscall)
 * ------------------------------------------------------------------------ */

/* Bracket a call that may block its thread (Go's entersyscall/exitsyscall,
 * the cgo crossing): gort_syscall_enter(); read(file...); gort_syscall_exit().
 * enter releases the goroutine's processor without handing it to anyone;
 * if the call has not returned after one sysmon period (~20-40 us) sysmon
 * hands the processor to another thread, so the rest of the program runs
 * on.  exit takes the processor back if it is still free (the cheap, common
 * case), else any idle one, else queues the goroutine and parks the thread
 * until a processor is free: the goroutine may continue on another thread
 * (unless it called gort_lock_os_thread).  Between enter and exit make no
 * other gort call; enter twice without exit, a blocking call or the
 * goroutine's end in between are fatal errors.  Outside a
 * goroutine (a thread outside the runtime, or no runtime), and exit without
 * enter, do nothing.  Neither blocks. */
GORT_API void gort_syscall_enter(void);
GORT_API void gort_syscall_exit(void);

/* ------------------------------------------------------------------------
 * defer, panic, recover
 * ------------------------------------------------------------------------ */

/* defer fn(arg): registers fn(arg) to run when the innermost gort_call
 * frame ends (outside any gort_call: when the goroutine ends), LIFO with
 * the frame's other deferred calls: when the frame returns normally, during
 * a panic, and during gort_goexit.  Deferred calls always run before any C
 * frame is unwound, so arg may point at locals of the deferring function
 * (or of anything below it on the stack).  A gort_defer made inside a
 * running deferred call belongs to that call: it runs when that call ends.
 * fn == NULL panics when the call would run (Go's nil func).  Cheap: the
 * record comes from a per-processor pool.  On a thread outside the runtime
 * it needs an enclosing gort_call (else fatal error). */
GORT_API void gort_defer(void (*fn)(void *arg), void *arg);
/* Runs fn(arg) in a new defer frame: the Go function call whose defers
 * gort_defer adds to.  Returns 0 when fn returned (the frame's deferred
 * calls have run), 1 when fn panicked and one of the calls deferred in this
 * frame recovered (the frame's other deferred calls have run too).  A panic
 * that no call deferred here recovers goes on to the enclosing frames.
 *
 * What the longjmp-based unwind means for C code: when a recovered panic
 * unwinds to this gort_call, the C frames in between - fn and everything it
 * called, down to the gort_panic - are abandoned with one longjmp.  They run
 * no cleanup of their own: no free, no unlock, no fclose, no
 * __attribute__((cleanup)), no C++ destructor; a lock they hold stays held
 * and memory they own leaks, unless that cleanup was registered with
 * gort_defer (deferred calls run before the jump, while those frames'
 * locals are still valid).  Code that a panic may cross should keep its
 * cleanup in deferred calls, or hold no resources.  The caller of gort_call
 * needs no volatile locals and no special care: it never sees the jump
 * (gort_call returns to it normally, with 1); only gort_call itself is
 * resumed by it, and the abandoned frames are never resumed at all.
 * A C++ exception that leaves fn passes through gort_call to the caller's
 * handler after running the frame's deferred calls, as Go runs a
 * panicking function's (so gort_once_do's function that throws counts as
 * having run, as Go's Do with a panicking f).  A deferred call must not
 * panic (or throw) while an exception unwinds it. */
GORT_API int gort_call(void (*fn)(void *arg), void *arg);
/* panic(msg): runs the deferred calls of the innermost frames outward, LIFO,
 * until one recovers (gort_recover); then that frame ends normally and its
 * gort_call returns 1.  msg is copied (NULL means "panic called with nil
 * argument").  Works in goroutines and on threads outside the runtime.
 * If no deferred call recovers, the process prints what Go prints -
 * "panic: <msg>" (a panic raised while panicking follows on a tab-indented
 * line, a recovered-then-repanicked one is marked " [recovered]"), then
 * "goroutine N [running]:" and its traceback (per GORTRACEBACK) - flushes
 * the stdio buffers (fflush(NULL), so that the program's own printf output
 * is not lost) and exits with status 2 without running atexit handlers,
 * like Go's exit(2) (GORTRACEBACK=crash: SIGABRT instead).  Never returns. */
GORT_API GORT_NORETURN void gort_panic(const char *msg);
/* panic(fmt.Sprintf(fmt, ...)): as gort_panic with a formatted message. */
GORT_API GORT_NORETURN void gort_panicf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* recover(): the panic message when called directly by a deferred function
 * that a panic is running (which stops the panic), else NULL.  The string
 * stays valid until the deferred function that recovered returns: copy it
 * to keep it. */
GORT_API const char *gort_recover(void);

/* ------------------------------------------------------------------------
 * Introspection (runtime.Stack, MemStats)
 * ------------------------------------------------------------------------ */

/* runtime.Stack: formats the calling goroutine's stack (all: every
 * goroutine's) into buf, NUL-terminated when len > 0.  Returns the bytes
 * written (without the NUL); output that does not fit is cut off.  Go's
 * format: "goroutine N [running]:", then per frame "fn(...)" and
 * "\tfile:line +0xoff", then "created by fn in goroutine M" ("created by
 * fn" for one started outside a goroutine); goroutines are separated by
 * a blank line; calls the compiler inlined show as frames of their own
 * (from the DWARF of code built with -g), without +0xoff.  A C++
 * function shows as Go shows one, demangled without its parameters
 * ("app::Worker::run"), when the program has libstdc++ (any that uses
 * the standard library, shared or -static-libstdc++); an inlined one by
 * its DWARF name ("run").
 * Frames are found by frame pointers: code built without them
 * (-fomit-frame-pointer) ends a trace early, and a function that ended in
 * a tail call (-O2; -fno-optimize-sibling-calls keeps it) has no frame to
 * show.  all stops the world while it reads the other goroutines' stacks.
 * From a thread outside the runtime there is no calling goroutine: all ==
 * false gives an empty string, all == true the goroutines only. */
GORT_API size_t gort_stack(char *buf, size_t len, bool all);

typedef struct gort_stats {
    uint64_t goroutines;         /* live goroutines */
    uint64_t threads;            /* OS threads (Ms) the runtime created and still holds */
    uint64_t procs;              /* GOMAXPROCS */
    uint64_t stack_inuse_bytes;  /* resident stack memory: live goroutines' stacks and the
                                  * pooled stacks of dead ones, kept for reuse; stacks of a
                                  * size of their own count whole */
    uint64_t stack_sys_bytes;    /* stack memory obtained from the OS */
    uint64_t goroutines_created; /* since gort_main started */
    uint64_t context_switches;
    uint64_t steals; /* successful work steals */
    /* more fields may follow */
    uint64_t idle_threads;     /* Ms parked with no work */
    uint64_t spinning_threads; /* Ms looking for work */
    uint64_t global_runq;      /* goroutines in the global run queue */
    /* The collected heap (gort_new), as Go's runtime.MemStats; filled even
     * when the runtime is not running, once the heap has been used. */
    uint64_t heap_alloc_bytes;    /* HeapAlloc: bytes of allocated objects (not yet swept
                                   * garbage included, as Go's) */
    uint64_t heap_sys_bytes;      /* HeapSys: heap memory obtained from the OS */
    uint64_t heap_idle_bytes;     /* HeapIdle: heap pages in no span */
    uint64_t heap_released_bytes; /* HeapReleased: idle pages returned to the OS */
    uint64_t heap_objects;        /* HeapObjects: mallocs - frees */
    uint64_t mallocs;             /* Mallocs: objects allocated, cumulative */
    uint64_t frees;               /* Frees: objects freed, cumulative */
    uint64_t total_alloc_bytes;   /* TotalAlloc: bytes allocated, cumulative */
    uint64_t num_gc;              /* NumGC: completed cycles */
    uint64_t pause_total_ns;      /* PauseTotalNs: stop-the-world time, cumulative */
    uint64_t pause_ns[256];       /* PauseNs: recent pauses, latest at (num_gc + 255) % 256 */
    uint64_t last_gc_unix_ns;     /* LastGC: end of the last cycle, ns since 1970 */
    uint64_t next_gc_bytes;       /* NextGC: the heap goal of the next cycle */
    double gc_cpu_fraction;       /* GCCPUFraction: the collector's share of the CPU
                                   * time available since the heap was first used */
    uint64_t heap_inuse_bytes;    /* HeapInuse: bytes in spans holding objects */
} gort_stats;

/* Fills *s with a snapshot of the runtime's counters (zeros when the
 * runtime is not running).  Stops the world for a moment, as Go's
 * ReadMemStats does, so that the heap figures are exact: objects
 * allocated so far, not the slots a P's cache holds for later. */
GORT_API void gort_read_stats(gort_stats *s);

/* ------------------------------------------------------------------------
 * Toolkit (issue 15): spawning with arguments, context, synctest
 * ------------------------------------------------------------------------ */

/* The largest argument block gort_go_copy copies. */
#define GORT_GO_COPY_MAX 256u

/*
 * go fn(*arg): as gort_go, but copies the size bytes at arg into storage the
 * new goroutine owns (its g: no malloc, nothing to free) and calls fn with a
 * pointer to the copy, aligned for max_align_t and valid until fn returns.
 * size 0 is allowed (fn gets a non-NULL pointer to no bytes; arg may then
 * be NULL).  Returns 0, -EINVAL (size > GORT_GO_COPY_MAX, or arg NULL with
 * size > 0), or gort_go's errors.
 */
GORT_API int gort_go_copy(void (*fn)(void *arg), const void *arg, size_t size);

/*
 * Go's context.Context.  A context is cancelled by gort_ctx_cancel, by the
 * cancellation of its parent (propagated to every descendant), by its
 * deadline, or by gort_ctx_free.  Once cancelled its done channel (element
 * size 0, Go's chan struct{}) is closed, so a receive or a select case on
 * it proceeds, and gort_ctx_err says why: -ECANCELED (context.Canceled) or
 * -ETIMEDOUT (context.DeadlineExceeded); 0 before.  As Go's Err, a
 * non-zero gort_ctx_err means the cancel has finished: done is closed and
 * the descendants are cancelled.  Deadlines are absolute
 * gort_nanotime() values; a deadline later than the parent's is the
 * parent's (Go).  A deadline set while no gort_main runs (before it, or
 * after it returned) has no timer until the next gort_main starts, which
 * arms it (one already past then expires at once); until then
 * gort_ctx_err stays 0.  The with_* calls return NULL when out of memory
 * (a NULL parent panics "cannot create context from nil parent").
 *
 * Lifetime: every context made by a with_* call is freed by exactly one
 * gort_ctx_free, which cancels it (and so its descendants) first.  A
 * context's children stay valid until they are freed themselves, in any
 * order: the memory of a freed parent lasts until its last child is freed.
 * The done channel is valid until the context is freed.  A cancelled tree
 * holds no timer and no goroutine: cancelling removes a deadline's timer
 * at once; no context ever starts a goroutine.  The background context is
 * never cancelled and never freed (free and cancel ignore it); its done
 * channel is NULL (a select case on NULL never proceeds).
 */
typedef struct gort_ctx gort_ctx;
GORT_API gort_ctx *gort_ctx_background(void);
GORT_API gort_ctx *gort_ctx_with_cancel(gort_ctx *parent);
GORT_API gort_ctx *gort_ctx_with_deadline(gort_ctx *parent, int64_t deadline);
/* with_deadline(parent, gort_nanotime() + ns). */
GORT_API gort_ctx *gort_ctx_with_timeout(gort_ctx *parent, int64_t ns);
/* Cancels ctx and its descendants with -ECANCELED; idempotent (an earlier
 * cause stays). */
GORT_API void gort_ctx_cancel(gort_ctx *ctx);
GORT_API gort_chan *gort_ctx_done(gort_ctx *ctx);
GORT_API int gort_ctx_err(gort_ctx *ctx);
GORT_API void gort_ctx_free(gort_ctx *ctx);
/* context.WithValue: a child of parent carrying key -> val (compared by
 * address, as Go compares keys by identity), cancelled with its parent.
 * Unlike Go's, whose Done is its parent's, it is a context of its own, as
 * every with_* one: a done channel of its own (also under the background
 * context), cancelled by gort_ctx_cancel and gort_ctx_free. */
GORT_API gort_ctx *gort_ctx_with_value(gort_ctx *parent, const void *key, void *val);
/* ctx.Value(key): the value of the nearest context up the chain whose key
 * is key, or NULL. */
GORT_API void *gort_ctx_value(gort_ctx *ctx, const void *key);
/* ctx.Deadline(): the deadline (own or inherited), or 0 for none.  A
 * deadline given as 0 (long past, as any) reads as -1. */
GORT_API int64_t gort_ctx_deadline(gort_ctx *ctx);

/*
 * testing/synctest (Go 1.25).  gort_synctest_run runs fn(arg) in a new
 * goroutine inside a new bubble and returns 0 when every goroutine of the
 * bubble has exited (-EINVAL when not called from a goroutine, -EAGAIN
 * when the runtime is not running, -ENOMEM).  Goroutines, channels and
 * timers made inside the bubble belong to it; the runtime's own goroutines
 * never do, whoever starts them (the finalizer goroutine, the flight
 * recorder's, the os/signal loop): signals are delivered from outside
 * every bubble, so a bubble that waits for one receives it on a channel
 * made outside the bubble.  Inside, gort_nanotime() is
 * the bubble's fake clock, which starts at 946684800000000000 (Go's
 * 2000-01-01 00:00:00 UTC) and advances only when every goroutine of the
 * bubble is durably blocked: on a channel of the bubble (a select whose
 * channels are all the bubble's), a nil channel, an empty select, in
 * gort_sleep, gort_cond_wait, gort_synctest_wait, or gort_wg_wait on a
 * WaitGroup whose add ran in the bubble - not on a mutex, a WaitGroup or a
 * channel from outside, or I/O.  Then it jumps to the next timer of the
 * bubble (sleeps, timers, tickers, after_func, context deadlines, fd
 * deadlines).  fd deadlines set inside a bubble (gort_set_deadline,
 * gort_conn_set_deadline, the dial and gort_wait_fd deadlines) are on its
 * clock too, and - unlike Go 1.25, which keeps them on the real clock and
 * never counts I/O as durable - a wait on an fd that ends at such a
 * deadline is durably blocked, so an hour's read deadline expires in
 * microseconds of real time; before moving the clock the bubble polls the
 * network, so that data already written (by a goroutine of the bubble)
 * wins over the deadline.  I/O without a deadline of the bubble is not
 * durable, as in Go.  Such a deadline never fires once its bubble ended.
 *
 * A deadlock (every goroutine of the bubble durably blocked and no timer
 * left, or goroutines left blocked once the main one has exited) prints
 * the goroutines left behind and panics in the caller with Go's text,
 * "deadlock: all goroutines in bubble are blocked" or "deadlock: main
 * bubble goroutine has exited but blocked goroutines remain"; those
 * goroutines stay blocked for good.  Using a bubble's channel from outside
 * it is a fatal error ("send on synctest channel from outside bubble"...),
 * checked while any bubble runs (a channel that outlives its bubble is not
 * checked once no bubble runs).
 * Calling it from inside a bubble panics
 * "synctest.Run called from within a synctest bubble".
 */
GORT_API int gort_synctest_run(void (*fn)(void *arg), void *arg);
/* synctest.Wait: blocks until every other goroutine of the caller's bubble
 * is durably blocked; does not advance the clock.  Outside a bubble panics
 * "goroutine is not in a bubble"; two at once "wait already in progress". */
GORT_API void gort_synctest_wait(void);

/* ------------------------------------------------------------------------
 * Toolkit (issue 15): channel lifetime, typed channels, select with a
 * deadline, self-freeing After channels, errgroup, WaitGroup.Go
 * ------------------------------------------------------------------------ */

/*
 * Channel lifetime by reference counts (chosen over a deferred free: the
 * count says who may still touch the channel, which no wait queue can).
 * gort_chan_make gives its caller one reference.  Every other party that
 * will use the channel after the maker may have let go takes one of its own
 * with gort_chan_retain - the maker retains for a goroutine before it
 * starts it - and each party calls gort_chan_release after its last
 * operation on the channel.  The release that drops the last reference
 * frees the channel, as gort_chan_free would, so nobody polls for the
 * others to finish.  A goroutine blocked on the channel is still using it
 * (it has not released), so the last release never finds one blocked.
 * gort_chan_free ignores the count: use one scheme or the other for a
 * given channel.  retain returns c; both accept NULL (no-op).
 */
GORT_API gort_chan *gort_chan_retain(gort_chan *c);
GORT_API void gort_chan_release(gort_chan *c);

/*
 * GORT_CHAN_DECLARE(name, T) declares `name`, a channel of T: a struct
 * holding the gort_chan (field `chan`, for gort_select and the untyped
 * calls), and static inline calls whose element arguments are T or T *:
 * passing a channel declared for another type, or a pointer to another
 * element type, does not compile (the latter is a constraint violation of
 * C11: an error under -pedantic-errors and by default in newer compilers).
 *
 *     GORT_CHAN_DECLARE(intchan, int)
 *     intchan c = intchan_make(16);      // make(chan int, 16); .chan NULL: no memory
 *     intchan_send(c, 42);               // c <- 42
 *     int v; bool ok = intchan_recv(c, &v);            // v, ok := <-c
 *     intchan_trysend(c, 1); intchan_tryrecv(c, &v, &ok);
 *     gort_select_case cs[] = {intchan_recv_case(c, &v), ...};
 *     GORT_CHAN_RANGE(intchan, c, x) { use(x); }      // for x := range c
 *     intchan_close(c); intchan_release(c);           // or intchan_free(c)
 *
 * name_recv_case and name_send_case build gort_select cases (elem points
 * at the T to fill or to send).  name_elem is T.  A channel copies its
 * elements' bytes: in C++, T must be trivially copyable (a static_assert
 * says so; send a pointer to anything else).
 */
/* The typed calls are static inline; a program uses few of them (clang
 * warns of unused static functions in the including file). */
#if defined(__GNUC__)
#define GORT__CHAN_FN static inline __attribute__((unused))
#else
#define GORT__CHAN_FN static inline
#endif
/* A channel moves its elements' bytes (memcpy): in C++ the element type
 * must be trivially copyable (a std::string sent by value was freed
 * twice).  And the macro's casts are C++'s there (-Wold-style-cast). */
#ifdef __cplusplus
#define GORT__CHAN_ELEM_CHECK(name)                                                            \
    static_assert(__is_trivially_copyable(name##_elem),                                        \
                  "GORT_CHAN_DECLARE: a channel copies its elements' bytes; the element type " \
                  "must be trivially copyable (send a pointer to anything else)");
#define GORT__CHAN_UNCONST(p) const_cast<void *>(static_cast<const void *>(p))
#else
#define GORT__CHAN_ELEM_CHECK(name)
#define GORT__CHAN_UNCONST(p) ((void *)(uintptr_t)(const void *)(p))
#endif
#define GORT_CHAN_DECLARE(name, T)                                                   \
    typedef T name##_elem;                                                           \
    GORT__CHAN_ELEM_CHECK(name)                                                      \
    typedef struct name {                                                            \
        gort_chan *chan;                                                             \
    } name;                                                                          \
    GORT__CHAN_FN name name##_make(size_t cap) {                                     \
        name ch = {gort_chan_make(sizeof(T), cap)};                                  \
        return ch;                                                                   \
    }                                                                                \
    GORT__CHAN_FN name name##_retain(name ch) {                                      \
        gort_chan_retain(ch.chan);                                                   \
        return ch;                                                                   \
    }                                                                                \
    GORT__CHAN_FN void name##_release(name ch) {                                     \
        gort_chan_release(ch.chan);                                                  \
    }                                                                                \
    GORT__CHAN_FN void name##_free(name ch) {                                        \
        gort_chan_free(ch.chan);                                                     \
    }                                                                                \
    GORT__CHAN_FN void name##_send(name ch, T v) {                                   \
        gort_chan_send(ch.chan, &v);                                                 \
    }                                                                                \
    GORT__CHAN_FN bool name##_recv(name ch, T *v) {                                  \
        return gort_chan_recv(ch.chan, v);                                           \
    }                                                                                \
    GORT__CHAN_FN bool name##_trysend(name ch, T v) {                                \
        return gort_chan_trysend(ch.chan, &v);                                       \
    }                                                                                \
    GORT__CHAN_FN bool name##_tryrecv(name ch, T *v, bool *ok) {                     \
        return gort_chan_tryrecv(ch.chan, v, ok);                                    \
    }                                                                                \
    GORT__CHAN_FN void name##_close(name ch) {                                       \
        gort_chan_close(ch.chan);                                                    \
    }                                                                                \
    GORT__CHAN_FN size_t name##_len(name ch) {                                       \
        return gort_chan_len(ch.chan);                                               \
    }                                                                                \
    GORT__CHAN_FN size_t name##_cap(name ch) {                                       \
        return gort_chan_cap(ch.chan);                                               \
    }                                                                                \
    GORT__CHAN_FN gort_select_case name##_recv_case(name ch, T *v) {                 \
        gort_select_case sc = {ch.chan, GORT_RECV, v, false};                        \
        return sc;                                                                   \
    }                                                                                \
    GORT__CHAN_FN gort_select_case name##_send_case(name ch, const name##_elem *v) { \
        gort_select_case sc = {ch.chan, GORT_SEND, GORT__CHAN_UNCONST(v), false};    \
        return sc;                                                                   \
    }                                                                                \
    typedef int name##_declared_ /* so that the macro's use ends with ';' */

/* for v := range ch { body }: receives into a fresh `name_elem v` until ch
 * is closed and drained.  break and continue work as in any for loop. */
#define GORT_CHAN_RANGE(name, ch, v) for (name##_elem v; name##_recv((ch), &v);)

/*
 * select with a deadline in one call: as gort_select(cases, ncases, true),
 * but gives up after ns nanoseconds and then returns GORT_SELECT_TIMEOUT.
 * ns <= 0 polls once (Go's select with a default).  Cases are as for
 * gort_select (NULL channels never proceed); ncases may be 0 (then it
 * sleeps ns).  Nothing is left behind: the timer is gone on return.
 * Outside gort_main, where no timer fires, it polls the cases instead,
 * sleeping between polls (20 us at first, up to 1 ms), and so does a
 * thread outside the runtime inside it (a timer it waited on would never
 * fire once gort_main returns).
 */
#define GORT_SELECT_TIMEOUT (-2)
GORT_API int gort_select_timeout(gort_select_case *cases, int ncases, int64_t ns);

/*
 * time.After(ns): a channel (int64_t, capacity 1) on which gort_nanotime()
 * is sent once, ns from now, and that frees itself: the receive that takes
 * its value (gort_chan_recv, gort_chan_tryrecv, or a gort_select case)
 * drops the receiver's reference and the timer drops its own after
 * sending, so after that receive the channel must not be used again.  A
 * caller that will not receive (a select chose another case) releases it
 * with gort_chan_release: it is then freed when it fires.  NULL when out
 * of memory, or when no gort_main is running (as gort_timer_new).  Never
 * received and never released, it stays allocated after
 * firing (Go's garbage collector would reclaim it).
 */
GORT_API gort_chan *gort_after(int64_t ns);

/*
 * golang.org/x/sync/errgroup.  A group runs functions in goroutines of
 * their own and waits for them; the first non-zero value one returns is
 * the group's error (use negative errnos, or any non-zero code).
 *   new: errgroup.Group{} (NULL when out of memory).
 *   with_context: errgroup.WithContext(parent): also makes *ctx, a child
 *     of parent that is cancelled when a function first returns non-zero
 *     or when wait returns.  The group owns *ctx: free frees it.
 *   set_limit: at most n functions run at once (n < 0: no limit); a go
 *     that would exceed it blocks until one returns.  Changing the limit
 *     while functions run panics "errgroup: modify limit while N goroutines
 *     in the group are still active" (Go's text).
 *   go: runs fn(arg) in a new goroutine (after waiting for a free slot).
 *     Returns 0 or gort_go's -errno (fn then does not run).
 *   go_copy: as go, with fn getting a copy of the size bytes at arg, as
 *     gort_go_copy (size <= GORT_ERRGROUP_COPY_MAX, else -EINVAL).
 *   try_go: as go, but returns -EAGAIN instead of waiting for a slot.
 *   wait: waits for every function started; returns the first error or 0.
 *   free: frees the group (after wait).
 */
typedef struct gort_errgroup gort_errgroup;
#define GORT_ERRGROUP_COPY_MAX (GORT_GO_COPY_MAX - 32u)
GORT_API gort_errgroup *gort_errgroup_new(void);
GORT_API gort_errgroup *gort_errgroup_with_context(gort_ctx *parent, gort_ctx **ctx);
GORT_API void gort_errgroup_set_limit(gort_errgroup *g, int n);
GORT_API int gort_errgroup_go(gort_errgroup *g, int (*fn)(void *arg), void *arg);
GORT_API int gort_errgroup_go_copy(gort_errgroup *g, int (*fn)(void *arg), const void *arg,
                                   size_t size);
GORT_API int gort_errgroup_try_go(gort_errgroup *g, int (*fn)(void *arg), void *arg);
GORT_API int gort_errgroup_wait(gort_errgroup *g);
GORT_API void gort_errgroup_free(gort_errgroup *g);

/* sync.WaitGroup.Go (Go 1.25): wg.Add(1), then runs fn(arg) in a new
 * goroutine that calls wg.Done when fn returns.  Returns 0 or gort_go's
 * -errno (then the count is back where it was). */
GORT_API int gort_wg_go(gort_waitgroup *wg, void (*fn)(void *arg), void *arg);

/* ------------------------------------------------------------------------
 * Connections (net.Conn, net.Listener, net.PacketConn, os.Pipe)
 * ------------------------------------------------------------------------ */

/*
 * A connection handle: an fd number paired with the generation of its
 * slot, so that it cannot be confused with a later connection that reuses
 * the number.  Once gort_conn_close(c) has begun, every call with c (and
 * every copy of it) fails with -EBADF, even after the fd number has been
 * reused by a new connection; the number is not reused (close(2) is not
 * called) until every call in progress with c has returned.  Copy handles
 * freely; the all-zero handle is never valid.  Use a connection's fd only
 * through these calls (closing it with close(2) or gort_close behind the
 * handle's back is a programming error).
 *
 * Networks (Go's names): "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6" take
 * "host:port" addresses as gort_listen and gort_dial do (a service name is
 * looked up for UDP on the "udp*" ones: "domain" is 53); "unix" (stream)
 * takes a filesystem path, or "@name" for Linux's abstract namespace.  An
 * unknown network is -EINVAL (Go's "unknown network").
 */
typedef struct gort_conn {
    uint64_t _id; /* generation << 32 | fd; private */
} gort_conn;

/* A socket address (net.Addr): len == 0 means none. */
typedef struct gort_addr {
    struct sockaddr_storage sa;
    socklen_t len;
} gort_addr;

/* Longest string gort_addr_string writes, with its NUL (a Unix path). */
#define GORT_ADDR_STRLEN 128

/* net.Addr.String(): "1.2.3.4:80", "[::1]:80" (an IPv4-mapped IPv6
 * address prints as IPv4, as Go's), "[fe80::1%eth0]:80", a Unix path
 * ("@name" for an abstract one, "" for an unnamed socket), "<nil>" for
 * none.  Returns the length written (NUL-terminated), or -ENOSPC when it
 * does not fit in n bytes (buf then holds as much as fits), -EAFNOSUPPORT
 * for another family. */
GORT_API int gort_addr_string(const gort_addr *a, char *buf, size_t n);
/* net.ResolveTCPAddr/ResolveUDPAddr/ResolveUnixAddr: the first address of
 * addr on network (a name is looked up as gort_dial does, a service name
 * for network's protocol; an empty host is the loopback).  0, -EINVAL,
 * -ENOENT (an unknown host or service name), -EMFILE/-ENFILE (no
 * descriptor for the lookup). */
GORT_API int gort_resolve_addr(const char *network, const char *addr, gort_addr *out);

/* net.DialTimeout: connects to addr (for "udp*": sets the default peer of
 * a new UDP socket).  deadline: absolute gort_nanotime(), 0 for none (one
 * in the past, any negative value too, times out at once); a name
 * resolving to several addresses is tried in order.  0 and *c, or
 * -errno (-ECONNREFUSED, -ETIMEDOUT, -ENOENT for a path, host or service
 * name that does not exist, -EINVAL, -EMFILE...). */
GORT_API int gort_conn_dial(gort_conn *c, const char *network, const char *addr, int64_t deadline);
/* net.Listen ("tcp*", "unix": a listening socket; backlog SOMAXCONN) or
 * net.ListenPacket ("udp*": a bound UDP socket for read_from/write_to).
 * An empty host listens on every address.  A Unix socket file that this
 * call made is removed by gort_conn_close, as Go does.  0 and *c, or
 * -errno (-EADDRINUSE, -EACCES, -EINVAL, -ENOENT for an unknown host or
 * service name...). */
GORT_API int gort_conn_listen(gort_conn *c, const char *network, const char *addr);
/* Listener.Accept: blocks until a connection arrives on the listener l.
 * 0 and *c, or -errno: -EBADF once l is closed (also by a close while we
 * wait), -ETIMEDOUT at l's read deadline, -EMFILE/-ENFILE (l stays
 * usable). */
GORT_API int gort_conn_accept(gort_conn l, gort_conn *c);
/* Makes a connection handle of an open fd the program made (a pipe end,
 * a socketpair, a tty, a socket...): it becomes nonblocking and is polled
 * as gort_read describes.  0 and *c, -EBADF (not open), -EEXIST (already
 * a live connection's fd).  The handle owns fd from now on. */
GORT_API int gort_conn_adopt(gort_conn *c, int fd);
/* os.Pipe: *r reads what *w writes.  0 or -errno. */
GORT_API int gort_conn_pipe(gort_conn *r, gort_conn *w);

/* Read, Write, SetDeadline, Close: as gort_read, gort_write,
 * gort_set_deadline and gort_close on the connection's fd, with the
 * handle checked: -EBADF for a closed (stale) handle.  A call blocked in
 * c when gort_conn_close(c) runs returns -EBADF. */
GORT_API ssize_t gort_conn_read(gort_conn c, void *buf, size_t n);
GORT_API ssize_t gort_conn_write(gort_conn c, const void *buf, size_t n);
GORT_API int gort_conn_set_deadline(gort_conn c, int64_t read_deadline, int64_t write_deadline);
GORT_API int gort_conn_close(gort_conn c);
/* TCPConn.CloseWrite / UnixConn.CloseWrite: shuts down the writing side
 * (the peer reads EOF); 0 or -errno (-ENOTSOCK for a pipe). */
GORT_API int gort_conn_close_write(gort_conn c);
/* PacketConn.ReadFrom: one datagram (truncated to n bytes, as Go's),
 * blocking until one arrives; *from (may be NULL) gets the sender.  The
 * count, or -errno: -ETIMEDOUT once the read deadline has passed (even if
 * a datagram is waiting, as Go), -EBADF. */
GORT_API ssize_t gort_conn_read_from(gort_conn c, void *buf, size_t n, gort_addr *from);
/* PacketConn.WriteTo: sends one datagram to *to, blocking while the
 * socket buffer is full.  n, or -errno (-ETIMEDOUT at the write deadline,
 * -EMSGSIZE, -EBADF, -EINVAL for a NULL or empty address). */
GORT_API ssize_t gort_conn_write_to(gort_conn c, const void *buf, size_t n, const gort_addr *to);
/* LocalAddr and RemoteAddr, recorded when the connection was made (so
 * RemoteAddr still answers after the peer has gone): 0, or -EBADF.  A
 * connection without one (an unconnected UDP socket's peer, a pipe) gets
 * len == 0. */
GORT_API int gort_conn_local_addr(gort_conn c, gort_addr *a);
GORT_API int gort_conn_remote_addr(gort_conn c, gort_addr *a);
/* The connection's fd (for calls gort does not wrap), or -EBADF for a
 * closed handle.  The fd is only good while the connection is open. */
GORT_API int gort_conn_fd(gort_conn c);

/* ------------------------------------------------------------------------
 * Buffered I/O (bufio.Reader, bufio.Scanner, bufio.Writer)
 * ------------------------------------------------------------------------ */

/*
 * A buffered reader or writer over an fd (gort_read/gort_write), a
 * connection (gort_conn_read/gort_conn_write) or a function of the
 * program's that reads or writes like them (a count, 0 at EOF, or -errno).
 * One goroutine at a time per reader or writer, as Go's (they are not
 * safe for concurrent use).  The *_new calls return NULL when out of
 * memory; free does not close the fd or connection, nor flush a writer.
 * The ctx of the _fn variants is kept alive for the collector until free
 * (it may be the only pointer to a gort_new object).
 */
typedef struct gort_bufreader gort_bufreader;
typedef struct gort_bufwriter gort_bufwriter;
typedef ssize_t (*gort_read_fn)(void *ctx, void *buf, size_t n);
typedef ssize_t (*gort_write_fn)(void *ctx, const void *buf, size_t n);

/* size: the first buffer size (0: 4096, Go's defaultBufSize); max: the
 * longest line or delimited token (its delimiter counted) the reader
 * holds, up to which the buffer grows (0: 65536, bufio.MaxScanTokenSize;
 * less than size: size). */
GORT_API gort_bufreader *gort_bufreader_new(int fd, size_t size, size_t max);
GORT_API gort_bufreader *gort_bufreader_new_conn(gort_conn c, size_t size, size_t max);
GORT_API gort_bufreader *gort_bufreader_new_fn(gort_read_fn read, void *ctx, size_t size,
                                               size_t max);
GORT_API void gort_bufreader_free(gort_bufreader *r);
/* Reader.Read: up to n bytes, from the buffer if it holds any (else with
 * at most one read of the source).  The count, 0 at EOF, or -errno. */
GORT_API ssize_t gort_bufreader_read(gort_bufreader *r, void *buf, size_t n);
/* Reader.ReadSlice(delim), with the limit: the bytes up to and including
 * the next delim; *p points into the buffer, valid until the next call on
 * r.  Returns the length; at EOF the bytes left without a delim (so a
 * result not ending in delim is the last), then 0.  -EMSGSIZE when max
 * bytes hold no delim (bufio.ErrTooLong: from then on every read of r
 * returns -EMSGSIZE, as a Scanner stops); -errno of a failed read (returned
 * once, the buffered bytes kept: a call after a -ETIMEDOUT goes on). */
GORT_API ssize_t gort_bufreader_read_slice(gort_bufreader *r, int delim, const char **p);
/* Reader.ReadString(delim): as read_slice, into a malloc'd NUL-terminated
 * copy *s that the caller frees (*s is NULL for 0 and errors). */
GORT_API ssize_t gort_bufreader_read_string(gort_bufreader *r, int delim, char **s);
/* Scanner.Scan with ScanLines: the next line without its "\n" or "\r\n"
 * (a last line without "\n" too), NUL-terminated, in *line (inside the
 * buffer, valid until the next call) with its length in *len (may be
 * NULL).  1 for a line, 0 at EOF, -EMSGSIZE for a line longer than max
 * (sticky), -errno as read_slice. */
GORT_API int gort_bufreader_scan_line(gort_bufreader *r, char **line, size_t *len);
/* Reader.Buffered: bytes that can be read without touching the source. */
GORT_API size_t gort_bufreader_buffered(const gort_bufreader *r);

/* size: the buffer (0: 4096).  Writes that do not fit are flushed; a write
 * of at least size bytes to an empty buffer goes to the sink directly. */
GORT_API gort_bufwriter *gort_bufwriter_new(int fd, size_t size);
GORT_API gort_bufwriter *gort_bufwriter_new_conn(gort_conn c, size_t size);
GORT_API gort_bufwriter *gort_bufwriter_new_fn(gort_write_fn write, void *ctx, size_t size);
GORT_API void gort_bufwriter_free(gort_bufwriter *w);
/* Writer.Write / WriteString / fmt.Fprintf: n (the length) or -errno.  As
 * Go's Writer, the first error is sticky: every later write and flush
 * returns it.  A sink that writes 0 bytes is -EIO (io.ErrShortWrite). */
GORT_API ssize_t gort_bufwriter_write(gort_bufwriter *w, const void *p, size_t n);
GORT_API ssize_t gort_bufwriter_write_string(gort_bufwriter *w, const char *s);
GORT_API ssize_t gort_bufwriter_printf(gort_bufwriter *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writer.Flush: writes the buffer out.  0 or the sticky -errno. */
GORT_API int gort_bufwriter_flush(gort_bufwriter *w);
/* Writer.Buffered: bytes waiting for a flush. */
GORT_API size_t gort_bufwriter_buffered(const gort_bufwriter *w);

/* ------------------------------------------------------------------------
 * Signals (os/signal: Notify, Stop)
 * ------------------------------------------------------------------------ */

/*
 * signal.Notify: from now on, each arrival of one of sigs[0..n) is sent
 * to c as an int (the signal number; c's element size must be sizeof(int))
 * without blocking: if c is not ready to receive (full, or unbuffered
 * with no receiver waiting) the signal is dropped for c, as Go's.  n == 0
 * means every signal that may be caught.  Signals of one kind that arrive
 * while an earlier one is still being delivered are delivered once
 * (coalesced, as Go's).  A signal may be notified on several channels;
 * calling Notify again for c adds signals to it.  Delivery runs in a
 * goroutine named "os/signal.loop" that the first Notify of a gort_main
 * run starts (it counts in gort_numgoroutine, as Go's).  The registrations
 * end with the run: when gort_main returns the signals' earlier actions
 * are back.  A signal the program blocked in the thread that calls
 * gort_main (whose mask every runtime thread inherits: one inherited
 * across exec, say) is unblocked on one runtime thread for as long as a
 * channel wants it, within 10 ms, as Go's Notify unblocks it; one that
 * arrived meanwhile is delivered then.  Under ThreadSanitizer
 * (-fsanitize=thread) a signal may be
 * held, or lost, while the thread it came to sleeps in the runtime: TSan
 * delivers it only at that thread's next intercepted call (docs/HACKING.md).
 * Returns 0, -EINVAL for a signal that cannot be notified - SIGKILL,
 * SIGSTOP, the synchronous SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGTRAP,
 * SIGPIPE (the runtime catches and drops it while it runs: writes return
 * -EPIPE, and a child gets the default action back at its exec;
 * a handler the program installed before gort_main stays in place and is
 * called instead, except for gort_write's own calls), SIGQUIT (the
 * runtime's goroutine dump), SIGURG and SIGPROF (the runtime's), glibc's
 * two internal real-time signals - or for a wrong element size; -EAGAIN
 * outside gort_main; -EMFILE/-ENFILE when the run's first Notify cannot
 * make its wake-up pipe (out of descriptors), -ENOMEM.  c == NULL panics
 * "os/signal: Notify using nil channel".
 */
GORT_API int gort_signal_notify(gort_chan *c, const int *sigs, int n);
/* signal.Stop: c receives no more signals once this returns; a signal no
 * channel wants any more gets back the action it had before its first
 * Notify (and, if the program blocked it, is blocked again first: Stop
 * waits up to a sysmon round for that).
 * No-op for a channel never notified. */
GORT_API void gort_signal_stop(gort_chan *c);

/* ------------------------------------------------------------------------
 * Processes (os.StartProcess, Process.Wait)
 * ------------------------------------------------------------------------ */

/*
 * exec.Cmd.Start, reduced: starts path (looked up in PATH when it has no
 * '/') with argv (argv[0] first, NULL-terminated) and envp (NULL: this
 * process's environment) by posix_spawn.  fds[0..2] become the child's
 * stdin, stdout and stderr (-1, or fds == NULL: inherited); they are put
 * in blocking mode first, as Go's File.Fd does, so pass the child's ends
 * (for a gort_conn_pipe end, gort_conn_fd), and close them in the parent
 * afterwards.  The child starts with no signal blocked and with the
 * default action for every signal this process catches (SIGPIPE and
 * SIGXFSZ among them while the runtime runs; one the program ignored
 * before gort_main stays ignored, posix_spawn's rule).  0 and
 * *pid, or -errno (-ENOENT: no such program).
 */
GORT_API int gort_process_spawn(pid_t *pid, const char *path, char *const argv[],
                                char *const envp[], const int fds[3]);
/*
 * Process.Wait: blocks the calling goroutine - not its thread - until the
 * child pid exits, reaps it and stores its waitpid(2) status in *status
 * (may be NULL).  The wait is a pidfd (pidfd_open, Linux 5.3) in the
 * netpoller; where the kernel has no pidfd_open (or the poller cannot take
 * the pidfd: out of memory or epoll watches), the goroutine polls
 * waitpid(WNOHANG) instead, sleeping 1 ms doubling up to 50 ms between
 * polls (still no thread blocked, but up to 50 ms late).  0, or -errno:
 * -ECHILD (not a child of this process, or already reaped).
 */
GORT_API int gort_process_wait(pid_t pid, int *status);

/* ------------------------------------------------------------------------
 * Profiles and the execution tracer (runtime/pprof, runtime/trace)
 *
 * Profiles are gzipped profile.proto, symbolised inside (function names,
 * file:line from the program's DWARF: build with -g and frame pointers),
 * so `go tool pprof FILE` reads them without the binary.  Traces are in
 * Go 1.19's format: `go tool trace FILE`.
 * ------------------------------------------------------------------------ */

/* pprof.StartCPUProfile: samples every thread's CPU time at 100 Hz
 * (SIGPROF from per-thread CPU-time timers) until gort_pprof_stop_cpu,
 * which writes the profile to fd.  0, -EBUSY if one is running, -EINVAL
 * (fd < 0), -ENOMEM, or -errno of timer_create/sigaction. */
GORT_API int gort_pprof_start_cpu(int fd);
/* pprof.StopCPUProfile: stops sampling and writes the profile to the fd
 * given to gort_pprof_start_cpu (which the caller still owns).  No-op if
 * none is running. */
GORT_API void gort_pprof_stop_cpu(void);
/* pprof.Lookup(name).WriteTo(fd, debug).  name: "goroutine",
 * "threadcreate", "block", "mutex", "heap", "allocs".  debug 0: gzipped
 * profile.proto; 1: Go's legacy text format (counts, "@ pcs", "#" frame
 * lines); 2 with "goroutine": every goroutine's stack as a dump (as a
 * panic prints).  0, -EINVAL for an unknown name or fd < 0, -errno of
 * write(2), -ENOMEM. */
GORT_API int gort_pprof_write(const char *name, int fd, int debug);
/* Delta profiles, as net/http/pprof serves NAME?seconds=N: what happened
 * between two moments rather than since the start.
 *   gort_pprof_snapshot_take: takes profile name ("goroutine",
 *     "threadcreate", "block", "mutex", "heap", "allocs") as
 *     gort_pprof_write(name, fd, 0) would write it, kept unencoded, into
 *     *out.  0, -EINVAL (unknown name, out NULL), -ENOMEM.
 *   gort_pprof_write_delta: takes the same profile again and writes to fd
 *     the gzipped profile.proto of now minus base, as Go's: base's values
 *     scaled by -1 and merged with now's per sample (the stack, the
 *     labels, heap's "bytes" label), samples whose values all cancel out
 *     dropped; every value is a difference (inuse_* too, so they may be
 *     negative); time is now, duration now minus base's time.  0, -EINVAL
 *     (base NULL, fd < 0), -ENOMEM, -errno of write(2).
 *   gort_pprof_snapshot_free: frees s (NULL: no-op).
 * A snapshot is read only once taken: deltas against one base may be
 * written from several goroutines at once; free it after the last.  The
 * heap profiles change only as collections complete (see
 * gort_set_mem_profile_rate). */
typedef struct gort_pprof_snapshot gort_pprof_snapshot;
GORT_API int gort_pprof_snapshot_take(const char *name, gort_pprof_snapshot **out);
GORT_API int gort_pprof_write_delta(const gort_pprof_snapshot *base, int fd);
GORT_API void gort_pprof_snapshot_free(gort_pprof_snapshot *s);
/* runtime.MemProfileRate: the heap and allocs profiles sample one
 * allocation (gort_new, gort_new_noscan) per rate bytes allocated on
 * average, each P drawing exponentially distributed distances between
 * samples (default 512 KiB; 1: every allocation; <= 0: none).  Profiles
 * scale the samples back up (Go's scaling) and show the heap as of the
 * last completed collection: allocations up to its mark, frees its sweep
 * found (call gort_gc before writing one, as Go's docs advise).  Set it as
 * early as possible: takes effect at once on every P (it stops the world
 * while the runtime runs), but objects sampled before keep counting.
 * GORTDEBUG=memprofilerate=N sets it when gort_main starts (Go's
 * GODEBUG=memprofilerate).  Returns the previous rate. */
GORT_API int gort_set_mem_profile_rate(int rate);
/* runtime.SetBlockProfileRate: rate <= 0 turns the block profile off;
 * otherwise one blocking event per rate nanoseconds spent blocked is
 * sampled (1: every event).  Recorded: channel operations, select,
 * sync.Mutex/RWMutex/WaitGroup/Cond/Once waits (not sleeps or I/O). */
GORT_API void gort_set_block_profile_rate(int rate);
/* runtime.SetMutexProfileFraction: on average 1/rate of the contention
 * events on gort_mutex/gort_rwmutex are recorded, with the stack of the
 * unlocker (0: off; < 0: only read).  Returns the previous rate. */
GORT_API int gort_set_mutex_profile_fraction(int rate);
/* A profiler label on the calling goroutine (pprof.SetGoroutineLabels of
 * its labels plus key=value; value NULL removes key).  key and value are
 * copied; goroutines it starts afterwards inherit its labels; every
 * profile sample taken on it (CPU, goroutine) carries them (go tool pprof
 * -tagfocus key=value).  Each distinct label set is kept for the life of
 * the process.  From outside a goroutine: no effect. */
GORT_API void gort_set_label(const char *key, const char *value);
/* The value of the calling goroutine's label key (pprof.Label), or NULL.
 * Valid for the life of the process. */
GORT_API const char *gort_get_label(const char *key);

/* runtime/trace.Start: records the execution trace to fd until
 * gort_trace_stop.  0, -EBUSY if tracing already, -EINVAL (fd < 0, or
 * not called from a goroutine: from a thread outside the runtime, or with
 * no gort_main running), -ENOMEM.  The trace is written as it is
 * recorded, by whichever thread fills a buffer, with the tracer's lock
 * held: give it a file (a memfd to copy out, as contrib/pprof_http does),
 * or a blocking pipe or socket that another process reads.  On a
 * nonblocking fd (every fd gort makes) whose buffer fills, the trace ends
 * there, cut short: it does not wait, since the reader may be one of this
 * program's goroutines. */
GORT_API int gort_trace_start(int fd);
/* runtime/trace.Stop: flushes everything to fd and stops (fd stays the
 * caller's).  No-op if not tracing. */
GORT_API void gort_trace_stop(void);
/* runtime/trace user annotations.  A task (trace.NewTask): a fresh id > 0,
 * tracing or not (as Go's), parent 0 for none; end it with
 * gort_trace_task_end.
 * Regions (trace.StartRegion/End) nest on the calling goroutine; a log
 * (trace.Log) is a key=value message in a task (0: none).  From a thread
 * outside the runtime they record nothing (a task still gets its id):
 * the trace has no goroutine to put them on, as Go's always has. */
GORT_API uint64_t gort_trace_task_new(uint64_t parent, const char *name);
GORT_API void gort_trace_task_end(uint64_t task);
GORT_API void gort_trace_region_start(uint64_t task, const char *name);
GORT_API void gort_trace_region_end(uint64_t task, const char *name);
GORT_API void gort_trace_log(uint64_t task, const char *key, const char *value);
/* true while a trace (or the flight recorder) is recording
 * (trace.IsEnabled). */
GORT_API bool gort_trace_enabled(void);

/* The flight recorder (Go 1.25's trace.FlightRecorder): the execution
 * trace of the last window_ns nanoseconds (0 or less: 10 s) or a little
 * more, kept in memory.  Start: 0, -EBUSY while a trace or recorder runs,
 * -EINVAL outside a goroutine, -ENOMEM.  It runs one goroutine of its own
 * and stops the world about once a second to start a new generation.
 * Write: the recording up to now as a trace for `go tool trace` (0,
 * -EINVAL when not recording, -errno).  A generation (about a second) that
 * lost a buffer while memory ran out is left out, with those before it;
 * when the newest did, write returns -ENOMEM (and a fatal error's dump
 * says it cannot write).  With GORTDEBUG=flightrecorder=1 it starts with
 * the main goroutine, and a fatal error, an unrecovered panic or SIGQUIT
 * writes what it holds (up to its last generation, at most a second
 * before) to gort-flightrecorder-PID.trace in the working directory;
 * before its first generation has ended (a generation lasts half the
 * window, at most a second) it writes nothing and says so on stderr. */
GORT_API int gort_flight_recorder_start(int64_t window_ns);
GORT_API int gort_flight_recorder_write(int fd);
GORT_API void gort_flight_recorder_stop(void);

/* ------------------------------------------------------------------------
 * The collected heap (runtime.GC, SetFinalizer, KeepAlive, MemStats,
 * debug.SetGCPercent, SetMemoryLimit, FreeOSMemory)
 * ------------------------------------------------------------------------ */

/*
 * gort_new returns zeroed memory that the garbage collector frees once
 * nothing refers to it any more: no free call exists.  The allocator is
 * Go's (size classes up to 32 KiB, a per-processor cache that allocates
 * without a lock, spans of 8 KiB pages, large objects in spans of their
 * own), and so is the collector's contract, with C's conservative twist:
 *
 * What keeps an object alive: any aligned pointer-sized word holding an
 * address inside the object (interior pointers count, as in Go) found in
 *   - the data and bss segments of the executable and of every loaded
 *     shared object (global and static variables), but the sanitizers'
 *     runtimes (libtsan, libasan: their own tables, 47 MiB for TSan's);
 *   - the stack of every goroutine, from its current stack pointer to its
 *     top, and its saved registers (for one between gort_syscall_enter and
 *     gort_syscall_exit: its whole stack, and the registers its caller
 *     kept across gort_syscall_enter);
 *   - while gort_main runs, the stack of the thread that called it, from
 *     gort_main's frame up (so main's locals may hold heap pointers, and
 *     &local may be passed as gort_main's argument);
 *   - objects from gort_new that are themselves alive (gort_new_noscan
 *     objects are never looked into);
 *   - ranges registered with gort_gc_add_roots;
 *   - what the runtime holds for you: values in channel buffers (until
 *     received: a received slot no longer counts, as Go clears it), values
 *     blocked senders offer, gort_go arguments, gort_go_copy argument
 *     blocks (until the goroutine exits), gort_defer arguments,
 *     gort_after_func arguments (until gort_timer_free), gort_ctx_with_value
 *     keys and values (until the context and every child made under it
 *     are freed), the ctx of a gort_bufreader_new_fn reader or
 *     gort_bufwriter_new_fn writer (until it is freed), objects with a
 *     finalizer and what they reach, queued finalizers' objects.
 * What is NOT scanned, so must not be the only place a pointer lives:
 *   - memory from malloc, calloc, realloc, mmap (register it with
 *     gort_gc_add_roots if it holds heap pointers); in C++ that includes
 *     operator new, the standard containers' storage and exception
 *     objects (a gort_new object reached only from a caught exception
 *     may be freed while the catch block uses it);
 *   - thread-local variables (__thread, _Thread_local);
 *   - pages of the program's own data it made unreadable (mprotect
 *     PROT_NONE): the collector probes each page and skips those (while
 *     gort's fault handler is installed; a SIGSEGV handler the program
 *     installs over it makes the collector read every page, as if all
 *     were readable);
 *   - stacks of threads that are not running goroutines: a thread outside
 *     the runtime may call gort_new, but what it holds only in its own
 *     locals may be freed by a collection another thread starts, and it
 *     must not store heap pointers into scanned memory while a collection
 *     runs (nothing stops it).  While gort_main runs, such a thread's
 *     gort_new is paced as a goroutine's is, as far as it can be: it does
 *     not assist, but past the trigger while a collection runs it waits for
 *     that collection to end, and past the trigger it starts one itself
 *     (the new object is kept through it);
 *   - channels whose elements are smaller than a pointer;
 *   - pointers hidden (xor'ed, tagged in their low bits beyond the object,
 *     stored misaligned, or written to disk).
 * A word that merely looks like a pointer keeps its object alive too (the
 * collector is conservative): false retention, never a premature free.
 * fork(): a child forked outside gort_main (before it, or after it
 * returned) keeps the heap and may call gort_main and collect; from its
 * first collection it tracks its own writes (the parent's userfaultfd it
 * inherited is closed, never used).  Inside gort_main only the forking
 * thread survives in the child, so the runtime cannot go on there: fork
 * only to exec (or use gort_process_spawn; see gort_main).
 *
 * A collection marks while the goroutines run, with the kernel as its
 * write barrier (Linux 6.7+: the heap is write-protected through a
 * userfaultfd in asynchronous mode, and the pages written while marking are
 * rescanned); it stops the world twice, briefly at the start and at the end
 * to rescan the written pages, the stacks and the globals.  Where the kernel
 * cannot track writes (or with GORTDEBUG=gcstw=1) it marks with the world
 * stopped.  "Stops the world": every goroutine stops at its next gort call,
 * and the thread of one that does not call gort is signalled: at an
 * async-safe point it is preempted at once, elsewhere (inside libc, say)
 * the collector's stop suspends the thread in the signal handler with its
 * registers saved (other stops wait for it to leave libc).  Under
 * ThreadSanitizer, or where the program blocks the signal, a stop waits for
 * the next gort call.
 * Sweeping is lazy, span by span, by the allocating goroutines.  Code
 * between gort_syscall_enter and gort_syscall_exit keeps running during a
 * collection: it must not store heap pointers into heap objects or globals
 * there (as cgo code may not), and its stack is scanned whole, with the
 * registers its caller had at gort_syscall_enter (a pointer that code there
 * loads only into a register, from memory it then clears, is not seen).  A
 * collection starts before the heap reaches its goal (as early as the
 * last collection needed to finish on time): live heap after the last
 * collection + (that + the stacks and globals it scanned) x GOGC/100, as
 * Go 1.18 on, at least 4 MiB x GOGC/100, lowered to stay under
 * GOMEMLIMIT.  While it marks, goroutines that allocate help it (Go's
 * mark assists): each new span of the heap a goroutine takes costs it
 * marking work in proportion to the room left before the goal (paced to
 * use half of it, so that a collection ends well before the goal, as
 * Go's do), paid from the collector's progress, by marking, or by
 * waiting for the collector (shown as "[GC assist wait]" in dumps); one
 * that finds the heap past its goal marks what it can and then waits for
 * the collection to end.  In a program with 512 goroutines or more, on
 * two CPUs or more, the runtime starts one more thread ("gort gc helper"
 * in /proc/PID/task/TID/comm), which runs no goroutine: it shares the
 * end-of-collection pause's scan of the stacks and written pages.  From
 * the first collection on, another such thread ("gort gc lister") lists
 * the loaded objects, under the dynamic loader's lock, for a pause that
 * finds them changed since its own listing (a library unloaded, or a load
 * under way, in a thread the stop does not stop): the pause itself may
 * not wait for that lock, which a goroutine it stopped inside
 * dl_iterate_phdr's callback can hold.
 *
 * Running out of memory is Go's fatal error "fatal error: runtime: out of
 * memory" (after "runtime: out of memory: cannot allocate N-byte block"):
 * neither allocator returns NULL.
 */

/* Zeroed, collected memory of size bytes, scanned for pointers.  size 0
 * gives a distinct 8-byte object.  Works on any thread, before and after
 * gort_main too.  Aligned to 8 bytes; sizes that are multiples of 16 are
 * 16-aligned. */
GORT_API void *gort_new(size_t size);
/* As gort_new, for memory that holds no heap pointers (byte buffers,
 * strings): never scanned, which is cheaper and avoids false retention. */
GORT_API void *gort_new_noscan(size_t size);
/* runtime.GC: a full collection, including the sweep: when it returns,
 * every object unreachable when it started has been freed (or, if it has
 * a finalizer, queued to the finalizer goroutine).  Stops the world. */
GORT_API void gort_gc(void);
/* runtime.KeepAlive: p stays reachable at least until this call. */
GORT_API void gort_keep_alive(const void *p);
/*
 * runtime.SetFinalizer: fn(obj) runs on the finalizer goroutine (one for
 * the program, created when first needed, shown as "[finalizer wait]" in
 * dumps while idle) after a collection finds obj unreachable; obj, and
 * everything it reaches, survive that collection, and are freed by a later
 * one if still unreachable then (fn may make obj reachable again).
 * Finalizers run one at a time, in the order their objects were found.
 * An object reachable from a finalized object runs its finalizer only once
 * that one has run; cycles through finalized objects are never collected.
 * fn NULL removes obj's finalizer.  obj must be the start of a gort_new
 * object, else panic: "runtime.SetFinalizer: pointer not at beginning of
 * allocated block" (inside an object), "runtime.SetFinalizer: pointer not
 * in allocated block" (not in the heap), "runtime.SetFinalizer: first
 * argument is nil", "runtime.SetFinalizer: finalizer already set".  A
 * global or static variable is let be (no finalizer, no panic), as Go
 * lets be one that its linker allocated.
 */
GORT_API void gort_set_finalizer(void *obj, void (*fn)(void *obj));
/* debug.SetGCPercent: GOGC; returns the previous value.  < 0 turns the
 * collector off (except under a memory limit), and returns once a cycle
 * under way has ended, as Go's does; 0 collects continuously,
 * leaving the goroutines 1 MiB to allocate in while a cycle runs (as Go
 * does).  GOGC ("off" or a number,
 * default 100) is read when gort_main starts; a value set outside
 * gort_main (before it, or after it returned) is the one the next
 * gort_main starts with instead, as for gort_gomaxprocs. */
GORT_API int gort_set_gc_percent(int percent);
/* debug.SetMemoryLimit: a soft limit on the runtime's memory (heap,
 * stacks' resident pages, metadata) that the pacer keeps the heap goal
 * under; returns the previous limit (INT64_MAX: none).  bytes < 0 only
 * reads.  GOMEMLIMIT (bytes, with an optional B, KiB, MiB, GiB or TiB
 * suffix, or "off") is read when gort_main starts; a malformed value is a
 * fatal error, as in Go.  A limit set outside gort_main (bytes >= 0) is
 * the one the next gort_main starts with instead of GOMEMLIMIT's. */
GORT_API int64_t gort_set_memory_limit(int64_t bytes);
/* debug.FreeOSMemory: a collection, then every free heap page goes back to
 * the OS, and so do the stack pages of dead goroutines' pooled stacks, all
 * but the page of each one's struct g (about 4 KiB each, kept for reuse;
 * the few dozen on each P's own free list stay warm).  (In the
 * background, a scavenger in sysmon keeps the heap's resident free pages
 * to about 10% above the heap goal, and trims a pooled stack idle for
 * about a second to its top 16 KiB: so a burst of goroutines leaves up to
 * 16 KiB resident per goroutine of the peak until this call.) */
GORT_API void gort_free_os_memory(void);
/* Registers [start, start + len) as a root: the collector scans it for heap
 * pointers (memory from malloc that holds gort_new pointers) until it is
 * removed, so it must stay readable until then.  0, -EINVAL (start NULL
 * with len > 0, or a range that wraps around the address space) or
 * -ENOMEM.  remove takes back a range registered with the same start and
 * len: 0, or -ENOENT. */
GORT_API int gort_gc_add_roots(const void *start, size_t len);
GORT_API int gort_gc_remove_roots(const void *start, size_t len);

/* ------------------------------------------------------------------------
 * Preemption, threads and blocking calls (caveats; no functions)
 * ------------------------------------------------------------------------
 *
 * - Every gort call is a preemption point.  A goroutine that runs 10 ms
 *   without one is interrupted by SIGURG (Go's asynchronous preemption)
 *   at a safe point: its pc in the executable, or in a library named in
 *   GORTPREEMPTLIBS (comma-separated file-name prefixes, read when
 *   gort_main starts), but not in their PLT stubs, never in libc, the
 *   dynamic loader, the vDSO, the runtime or any other library; no
 *   runtime lock held; not inside a signal handler.  Every register
 *   (general, vector, x87/MXCSR) is saved and restored, and the x87
 *   register stack is empty for other goroutines meanwhile.
 *   GORTDEBUG=asyncpreemptoff=1 turns it off.  Under
 *   ThreadSanitizer (a program built with -fsanitize=thread, or the
 *   library's own tsan build) there is no preemption signal: there a
 *   goroutine that spins with no gort call holds its P until it makes
 *   one (see docs/HACKING.md), and a stop of the world (a collection, a
 *   goroutine profile, the tracer's start) waits for it.  A stop that
 *   has waited a second for such a goroutine (there, under
 *   asyncpreemptoff=1, or where a thread blocks the signal) prints once
 *   "runtime: stop the world (REASON) has waited N ms for goroutine G on
 *   P P, which makes no gort call".
 * - The same-thread rule: a goroutine preempted that way resumes on the
 *   same OS thread, which runs no other goroutine meanwhile (its P goes to
 *   another thread), so thread-local addresses held in registers and locks
 *   its thread owns stay valid.  At a gort call that may block or yield,
 *   a goroutine may move to another thread as before (unless locked with
 *   gort_lock_os_thread): errno's value is kept per goroutine across the
 *   call, but the compiler may reuse errno's address computed before it
 *   (see the thread-local storage caveat at the top).
 * - A blocking system call made without gort_syscall_enter holds its P
 *   until sysmon notices (about 10 ms): if the kernel restarts the call
 *   after a signal handler (read, write, accept, recv, send, wait4, futex
 *   waits without a timeout), the thread is interrupted and the call made
 *   again between gort_syscall_enter and gort_syscall_exit, its result
 *   unchanged; for the others (poll, nanosleep, epoll_wait, timed waits)
 *   the P stays held, and after a second sysmon prints once per goroutine
 *   "goroutine N has held P M for Xs in a blocking call without
 *   gort_syscall_enter" with where it is.  Bracket such calls yourself.
 * - SIGURG belongs to the runtime; a handler the program installed before
 *   gort_main is still called for each one (as Go lets it through).  A call
 *   the kernel does not restart can fail with EINTR when the signal lands
 *   while it blocks (as in Go since 1.14).  Whatever signal mask the
 *   program gave the thread that calls gort_main (which the runtime's
 *   threads inherit), every thread running goroutines unblocks SIGURG,
 *   SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and SIGPROF, as Go's threads
 *   do; gort_main gives its caller's thread its own mask back.  The
 *   runtime's monitor thread ("gort sysmon" in /proc/PID/task/TID/comm),
 *   which runs no goroutine, blocks SIGQUIT and SIGABRT, so that a
 *   process-directed one (kill -QUIT) is taken, and its dump headed, by a
 *   thread that runs goroutines (a notified SIGABRT is unblocked there).
 * - A fault (SIGSEGV, SIGBUS) or trap (SIGFPE, SIGILL, SIGTRAP) in a
 *   goroutine ends the process with Go's report and exit status 2.  When
 *   the program installed a handler of its own for that signal before
 *   gort_main, a fault its own code raises goes to that handler instead,
 *   as Go forwards a synchronous signal raised in cgo code: a guard-page
 *   or lazy-commit scheme keeps working.  Not a fault in the runtime's
 *   own code, nor one on a goroutine stack's guard page (the "goroutine
 *   stack exceeds" report), nor a signal sent by kill.  A sanitizer's
 *   handler is such a handler: under AddressSanitizer or ThreadSanitizer
 *   a fault is the sanitizer's report, as without gort (handle_segv=0,
 *   handle_sigfpe=0 in ASAN_OPTIONS or TSAN_OPTIONS leave it to gort's).
 * - The default GOMAXPROCS is the number of CPUs in the affinity mask
 *   (gort_numcpu), lowered to the cgroup CPU limit (v2 cpu.max, v1 CFS
 *   quota; the tightest of the cgroup and its ancestors) rounded up, but
 *   not below 2 for a limit, as Go 1.25.
 */

#ifdef __cplusplus
}
#endif
#endif /* GORT_H */
