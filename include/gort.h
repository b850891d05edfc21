/*
 * gort.h - the Go runtime's concurrency machinery for C11 on Linux.
 *
 * gort gives C programs goroutines scheduled M:N over OS threads by Go's
 * M:P:G work-stealing scheduler, channels and select, the sync package,
 * timers, an epoll netpoller, defer/panic/recover and the runtime package's
 * introspection.  This header is the whole public API; docs/API.md of the
 * project's design fixes every signature in it.
 *
 * Conventions (read these once, they hold for every call below):
 *   - Fallible calls return 0 (or a count) on success and a negative errno
 *     (-ENOMEM, -EINVAL, -ETIMEDOUT, ...) on failure, like libuv.  No call
 *     reports through the thread-local errno: goroutines move between threads.
 *   - Programmer errors are panics carrying Go's message text (recoverable
 *     with gort_call/gort_defer/gort_recover) or fatal errors (not
 *     recoverable: "fatal error: <msg>", a goroutine dump, exit status 2),
 *     exactly where Go panics or throws.
 *   - Times are int64_t nanoseconds.  Deadlines are absolute values of
 *     gort_nanotime().
 *   - The sync types are plain structs whose all-zero value is ready to use
 *     (GORT_MUTEX_INIT etc. expand to {0}); they need no destroy call and must
 *     not be copied after first use.  gort_cond is the exception: it needs
 *     gort_cond_init.
 *   - "Blocks" means: parks the calling goroutine (its thread runs other
 *     goroutines meanwhile).  Called from a plain thread that is not running
 *     a goroutine, the same call blocks that OS thread instead, and still
 *     works (channels, sync types, gort_go, timers).
 *
 * Thread-local storage caveat: a goroutine may resume on a different OS
 * thread after any gort call that can block or yield.  Do not keep the
 * address of a thread-local variable (including errno) across such a call.
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
 * (goroutine 1) on the calling thread.  GOMAXPROCS comes from the
 * GOMAXPROCS environment variable, read now (default: the number of CPUs
 * the process may use).  Returns main_fn's value when main_fn returns.
 * Like Go's program exit, goroutines still running then are abandoned
 * (never resumed, their stacks freed), and the runtime's threads are
 * stopped and joined: a thread busy in a goroutine that makes no gort call
 * is waited for until that goroutine reaches one.
 *
 * May be called again, sequentially, in the same process.
 * Returns -EBUSY if another gort_main is running, -ENOMEM/-EAGAIN if the
 * runtime could not get memory or its first threads.
 */
GORT_API int gort_main(int (*main_fn)(void *arg), void *arg);

/* ------------------------------------------------------------------------
 * Goroutines (runtime.Gosched, Goexit, NumGoroutine, GOMAXPROCS, LockOSThread)
 * ------------------------------------------------------------------------ */

typedef struct gort_go_attr {
    size_t stack_size; /* 0: the runtime's default (GORT_DEFAULT_STACK_SIZE) */
    const char *name;  /* shown in stack dumps; may be NULL; copied */
} gort_go_attr;

/* The default usable stack of a goroutine: 256 KiB of virtual memory,
 * committed page by page as it is touched, below a guard page.  At least
 * 64 KiB of C frames always fit.  A goroutine that overflows its stack is a
 * fatal error ("fatal error: stack overflow"), never a silent corruption. */
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
 * fn == NULL is a fatal error: "go of nil func value".
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
 * deadlock!".  Outside a goroutine: fatal error. */
GORT_API _Noreturn void gort_goexit(void);

/* The calling goroutine's id (1 for the main goroutine); 0 outside one. */
GORT_API int64_t gort_goid(void);

/* runtime.NumGoroutine: goroutines that exist now (running, runnable,
 * blocked), including the caller.  0 when the runtime is not running. */
GORT_API int gort_numgoroutine(void);

/* runtime.NumCPU: CPUs usable by the process (sched_getaffinity). */
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
    uint64_t _state; /* high 32 bits: counter; low 32 bits: waiters */
    uint32_t _sema;
} gort_waitgroup;

typedef struct gort_cond {
    gort_mutex *_l;
    uint32_t _wait;   /* notifyList: ticket of the next waiter */
    uint32_t _notify; /* notifyList: ticket of the next to be notified */
    uint32_t _lock;   /* notifyList: runtime lock word */
    void *_head;      /* notifyList: waiting sudogs */
    void *_tail;
} gort_cond;

#define GORT_MUTEX_INIT \
    { 0 }
#define GORT_RWMUTEX_INIT \
    { 0 }
#define GORT_ONCE_INIT \
    { 0 }
#define GORT_WAITGROUP_INIT \
    { 0 }

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

/* sync.Once: runs fn(arg) once; concurrent callers block until it returned. */
GORT_API void gort_once_do(gort_once *o, void (*fn)(void *arg), void *arg);

/* sync.WaitGroup.  add panics "sync: negative WaitGroup counter"; wait
 * blocks until the counter is zero.  Reusable once the counter is zero. */
GORT_API void gort_wg_add(gort_waitgroup *wg, int64_t delta);
GORT_API void gort_wg_done(gort_waitgroup *wg);
GORT_API void gort_wg_wait(gort_waitgroup *wg);

/* sync.Cond over mutex m (init before first use; not ready at zero).
 * wait: unlocks m, blocks until signalled, relocks m.  signal wakes the
 * longest waiter; broadcast wakes all.  signal/broadcast never block. */
GORT_API void gort_cond_init(gort_cond *c, gort_mutex *m);
GORT_API void gort_cond_wait(gort_cond *c);
GORT_API void gort_cond_signal(gort_cond *c);
GORT_API void gort_cond_broadcast(gort_cond *c);

/* ------------------------------------------------------------------------
 * Time (package time)
 * ------------------------------------------------------------------------ */

/* Monotonic clock (CLOCK_MONOTONIC) in nanoseconds.  Never fails. */
GORT_API int64_t gort_nanotime(void);
/* time.Sleep: blocks for at least ns (ns <= 0 returns at once). */
GORT_API void gort_sleep(int64_t ns);

typedef struct gort_timer gort_timer;
/* time.NewTimer: after ns, sends gort_nanotime() (int64_t) on its channel
 * (cap 1).  NULL when out of memory. */
GORT_API gort_timer *gort_timer_new(int64_t ns);
/* time.AfterFunc: after ns runs fn(arg) in its own goroutine. */
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
/* time.NewTicker; NULL if period <= 0 or out of memory. */
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
 * thread in poll(2).
 *
 * gort_read, gort_write, gort_set_deadline and gort_wait_fd also take fds
 * gort did not make (pipes, sockets, eventfds...): the fd is registered with
 * the poller on first use, and gort_read/gort_write/gort_set_deadline make
 * it nonblocking (gort_wait_fd leaves its flags alone).  A regular file
 * cannot be polled: its reads and writes run inside gort_syscall_enter/exit.
 * Close such fds with gort_close: one closed behind gort's back with
 * close(2) is noticed (at a cost) before its next wait.
 *
 * Concurrent gort_read calls on one fd take turns (one reader at a time,
 * as Go's net.Conn), and so do concurrent gort_write calls, whose n bytes
 * are never interleaved with another writer's.  Reads and writes may run
 * at the same time.
 *
 * Addresses are "host:port" with a numeric port: an IPv4 literal, an IPv6
 * literal in brackets ("[::1]:0"), a name ("localhost:80": resolved with
 * getaddrinfo inside gort_syscall_enter/exit, so the lookup never stalls a
 * processor), or an empty host (":8080": every address, IPv6 and IPv4, for
 * gort_listen; the loopback for gort_dial, as in Go).  A malformed address
 * is -EINVAL; a name that does not resolve, -ENOENT.
 */
enum { GORT_POLL_READ = 1, GORT_POLL_WRITE = 2 };

/* net.Listen("tcp", addr): a listening TCP socket.  backlog <= 0 means
 * SOMAXCONN.  Returns the fd, or -errno (-EINVAL for a malformed address,
 * -EADDRINUSE, -EACCES, -EMFILE, ...).  Does not block (beyond a name
 * lookup). */
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
 * none.  Returns the fd, or -errno (-ECONNREFUSED, -ETIMEDOUT at the
 * deadline, -ENETUNREACH, -ENOENT for an unknown name, -EINVAL). */
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
 * write deadline (some bytes may have been written), -EBADF when closed. */
GORT_API ssize_t gort_write(int fd, const void *buf, size_t n);
/* SetReadDeadline + SetWriteDeadline: absolute gort_nanotime() values, 0
 * for none.  A deadline in the past expires at once; a goroutine already
 * blocked on that side wakes with -ETIMEDOUT; a later call replaces an
 * earlier deadline.  Returns 0 or -errno (-EBADF). */
GORT_API int gort_set_deadline(int fd, int64_t read_deadline, int64_t write_deadline);
/* Blocks the goroutine until the nonblocking fd (of any kind) is ready for
 * any of events (GORT_POLL_READ | GORT_POLL_WRITE), as poll(2) would say.
 * Returns 0 when ready, -ETIMEDOUT at deadline (absolute, 0: none) or at
 * the fd's own deadline, -EBADF when gort_close closes fd meanwhile,
 * -EINVAL for no events. */
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
 * other gort call; enter twice without exit is a fatal error.  Outside a
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
 * resumed by it, and the abandoned frames are never resumed at all. */
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
GORT_API _Noreturn void gort_panic(const char *msg);
/* panic(fmt.Sprintf(fmt, ...)): as gort_panic with a formatted message. */
GORT_API _Noreturn void gort_panicf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* recover(): the panic message when called directly by a deferred function
 * that a panic is running (which stops the panic), else NULL. */
GORT_API const char *gort_recover(void);

/* ------------------------------------------------------------------------
 * Introspection (runtime.Stack, MemStats)
 * ------------------------------------------------------------------------ */

/* runtime.Stack: formats the calling goroutine's stack (all: every
 * goroutine's) into buf, NUL-terminated when len > 0.  Returns the bytes
 * written (without the NUL); output that does not fit is cut off.  Go's
 * format: "goroutine N [running]:", then per frame "fn(...)" and
 * "\tfile:line +0xoff", then "created by fn in goroutine M"; goroutines are
 * separated by a blank line; calls the compiler inlined show as frames of
 * their own (from the DWARF of code built with -g), without +0xoff.
 * Frames are found by frame pointers: code built without them
 * (-fomit-frame-pointer) ends a trace early, and a function that ended in
 * a tail call (-O2; -fno-optimize-sibling-calls keeps it) has no frame to
 * show.  all stops the world while it reads the other goroutines' stacks. */
GORT_API size_t gort_stack(char *buf, size_t len, bool all);

typedef struct gort_stats {
    uint64_t goroutines;         /* live goroutines */
    uint64_t threads;            /* OS threads (Ms) the runtime created and still holds */
    uint64_t procs;              /* GOMAXPROCS */
    uint64_t stack_inuse_bytes;  /* committed stack memory of live goroutines */
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
 * runtime is not running).  Never blocks for long. */
GORT_API void gort_read_stats(gort_stats *s);

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
 *     shared object (global and static variables);
 *   - the stack of every goroutine, from its current stack pointer to its
 *     top, and its saved registers;
 *   - objects from gort_new that are themselves alive (gort_new_noscan
 *     objects are never looked into);
 *   - ranges registered with gort_gc_add_roots;
 *   - what the runtime holds for you: values in channel buffers (until
 *     received: a received slot no longer counts, as Go clears it), values
 *     blocked senders offer, gort_go arguments, gort_defer arguments,
 *     gort_after_func arguments (until gort_timer_free), objects with a
 *     finalizer and what they reach, queued finalizers' objects.
 * What is NOT scanned, so must not be the only place a pointer lives:
 *   - memory from malloc, calloc, realloc, mmap (register it with
 *     gort_gc_add_roots if it holds heap pointers);
 *   - thread-local variables (__thread, _Thread_local);
 *   - stacks of threads that are not running goroutines: a thread outside
 *     the runtime may call gort_new, but what it holds only in its own
 *     locals may be freed by a collection another thread starts, and it
 *     must not store heap pointers into scanned memory while a collection
 *     runs (nothing stops it);
 *   - channels whose elements are smaller than a pointer;
 *   - pointers hidden (xor'ed, tagged in their low bits beyond the object,
 *     stored misaligned, or written to disk).
 * A word that merely looks like a pointer keeps its object alive too (the
 * collector is conservative): false retention, never a premature free.
 *
 * A collection marks while the goroutines run, with the kernel as its
 * write barrier (Linux 6.7+: the heap is write-protected through a
 * userfaultfd in asynchronous mode, and the pages written while marking are
 * rescanned); it stops the world twice, briefly at the start and at the end
 * to rescan the written pages, the stacks and the globals.  Where the kernel
 * cannot track writes (or with GORTDEBUG=gcstw=1) it marks with the world
 * stopped.  "Stops the world": every goroutine stops at its next gort call.
 * Sweeping is lazy, span by span, by the allocating goroutines.  Code
 * between gort_syscall_enter and gort_syscall_exit keeps running during a
 * collection: it must not store heap pointers into heap objects or globals
 * there (as cgo code may not), and its stack is scanned whole.  A
 * collection starts before the heap reaches its goal: live heap after the
 * last collection x (1 + GOGC/100), at least 4 MiB x GOGC/100, lowered to
 * stay under GOMEMLIMIT; an allocation that finds the heap past its goal
 * while marking runs waits for the collection to end.
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
 * argument is nil", "runtime.SetFinalizer: finalizer already set".
 */
GORT_API void gort_set_finalizer(void *obj, void (*fn)(void *obj));
/* debug.SetGCPercent: GOGC; returns the previous value.  < 0 turns the
 * collector off (except under a memory limit).  GOGC ("off" or a number,
 * default 100) is read when gort_main starts. */
GORT_API int gort_set_gc_percent(int percent);
/* debug.SetMemoryLimit: a soft limit on the runtime's memory (heap, stacks,
 * metadata) that the pacer keeps the heap goal under; returns the previous
 * limit (INT64_MAX: none).  bytes < 0 only reads.  GOMEMLIMIT (bytes, with
 * an optional B, KiB, MiB, GiB or TiB suffix, or "off") is read when
 * gort_main starts; a malformed value is a fatal error, as in Go. */
GORT_API int64_t gort_set_memory_limit(int64_t bytes);
/* debug.FreeOSMemory: a collection, then every free heap page goes back to
 * the OS.  (In the background, a scavenger in sysmon keeps the heap's
 * resident free pages to about 10% above the heap goal.) */
GORT_API void gort_free_os_memory(void);
/* Registers [start, start + len) as a root: the collector scans it for heap
 * pointers (memory from malloc that holds gort_new pointers).  0 or
 * -ENOMEM.  remove takes back a range registered with the same start and
 * len: 0, or -ENOENT. */
GORT_API int gort_gc_add_roots(const void *start, size_t len);
GORT_API int gort_gc_remove_roots(const void *start, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* GORT_H */
