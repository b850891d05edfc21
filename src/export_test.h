/*
 * export_test.h - the white-box hooks of export_test.c, for tests only
 * (Go's export_test.go).  export_test.c is compiled into every test program
 * (CMake: gort_export_test) and never into libgort.
 */
#ifndef GORT_EXPORT_TEST_H
#define GORT_EXPORT_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "gort.h"

/* The goroutines queued on c's receive (send == false) or send queue. */
int gort__export_chan_qlen(gort_chan *c, bool send);
/* While on, sysmon makes no preemption request (retake), so that a test
 * can rely on the interleaving that cooperative scheduling alone fixes on
 * one P.  Set before gort_main. */
void gort__export_sysmon_nopreempt(bool on);
/* Sysmon sleeps ns after each round's clock reading (0: never). */
void gort__export_sysmon_stall(int64_t ns);
/* The earliest timer deadline over all Ps, or 0 if no timer is pending. */
int64_t gort__export_timers_earliest(void);
/* Context nodes made and not yet freed (gort_ctx_*; the background
 * context is not one). */
int64_t gort__export_ctx_live(void);
/* Moves the start of goroutine goid's current wait ns earlier (a dump's
 * ", N minutes" without waiting minutes).  False if there is no such
 * waiting goroutine. */
bool gort__export_age_wait(int64_t goid, int64_t ns);
/* Goroutines parked on an fd (Go's netpollWaiters). */
int gort__export_netpoll_waiters(void);
/* True if the lock ranks are checked (GORT_LOCKRANK: the dev preset). */
bool gort__export_lockrank_enabled(void);
/* Takes and releases two runtime locks of their own, ranked as sched.lock
 * and allglock, in the allowed order (sched first) or reversed; reversed
 * is a lock ordering problem (fatal with GORT_LOCKRANK). */
void gort__export_lockrank_pair(bool reversed);
/* Holds n runtime locks ranked as channel locks at once (a select's), then
 * releases them in the order taken. */
void gort__export_lockrank_nested(int n);
/* Takes (with gort__lock, or with gort__trylock if try) and releases a
 * runtime lock that was never given a rank: fatal with GORT_LOCKRANK. */
void gort__export_lockrank_unranked(bool try);
/* The address of the collected heap's first page (made if need be). */
uintptr_t gort__export_heap_arena(void);
/* Takes (take) or releases the page heap's lock, as a thread in the
 * middle of a large allocation holds it (the same thread both times). */
void gort__export_heap_lock(bool take);
/* Takes (take) or releases the collector's lock (gcsema), as a collection
 * under way holds it. */
void gort__export_gc_lock(bool take);
/* How many allocations the pacer has held back (an assist that marked or
 * waited, a wait at the goal) since the program started. */
uint64_t gort__export_gc_throttled(void);
/* The collector marks concurrently (not GORTDEBUG=gcstw=1, nor a kernel
 * without userfaultfd's write-protect); known once the heap is made. */
bool gort__export_gc_concurrent(void);
/* How the marker scans a grey object of size bytes at p (one that holds
 * no heap pointers): the scans it takes, and the largest in bytes. */
void gort__export_gc_scan_steps(const void *p, size_t size, uint64_t *steps, uint64_t *largest);
/* Lists the loaded objects as the collector does before a pause, runs
 * between(arg) (dlopen or dlclose, say), checks (mgcmark.c, "The loader's
 * lock and the collector": by a walk of the loader's list if walk, with
 * the lister's listing if lister and the walk saw a change or was not
 * made; both as the pause), sets *by_lister to whether the check took the
 * lister's listing, and returns -1 if the check failed, else whether the
 * pause would scan the byte at *where (read after between). */
int gort__export_gc_globals_covers_after(void (*between)(void *arg), void *arg, void *const *where,
                                         bool walk, bool lister, bool *by_lister);
/* pc counts as user text for the preemption signal: an async-safe place
 * as far as its address goes (not the runtime, nor a PLT stub).  After
 * gort_main started. */
bool gort__export_preempt_pc_is_user(uintptr_t pc);
/* The dumps' scan for the first frame record above sp in [lo, hi) when
 * the code at sp kept no frame pointer (traceback.c): the record, or 0,
 * and in *own the return address into its function, or 0. */
uintptr_t gort__export_traceback_scan_fp(uintptr_t sp, uintptr_t lo, uintptr_t hi, uintptr_t *own);
/* While on, gort_process_wait polls waitpid with a backoff, as where
 * pidfd_open is missing (exec.c). */
void gort__export_pidfd_off(bool on);
/* The collector's trace hooks, called as a cycle calls them (mgc.c):
 * GCStart, HeapAlloc/HeapGoal and GCDone in a trace being recorded. */
void gort__export_trace_gc_start(void);
void gort__export_trace_heap(uint64_t live, uint64_t goal);
void gort__export_trace_gc_done(void);
/* Asynchronous preemptions (a goroutine redirected at a safe point) and
 * blocking calls made again between enter and exit by the preemption
 * signal (preempt.c), since the program started. */
uint64_t gort__export_npreempt_async(void);
uint64_t gort__export_npreempt_syscall(void);
/* Turns asynchronous preemption off (GORTDEBUG=asyncpreemptoff=1, which
 * gort_main reads once) or back on while the program runs; returns the
 * previous setting. */
bool gort__export_set_asyncpreemptoff(bool off);
/* A runtime lock's futex wait (lock_futex.c): sleeps while *addr == val,
 * at most ns (-1: no limit). */
void gort__export_futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns);
/* The CPU limit (cores) the cgroup files procfile (a /proc/self/cgroup)
 * and mountinfo set, or 0 if none (cgroup_linux.c). */
double gort__export_cgroup_cpu_limit_from(const char *procfile, const char *mountinfo);
/* The calling goroutine, as an opaque handle for the calls below. */
void *gort__export_getg(void);
/* Stops the world as the collector does (by signal where it must), and
 * restarts it; from a goroutine. */
void gort__export_stop_the_world(void);
void gort__export_start_the_world(void);
/* A stop of the world is in progress or pending (sched.gcwaiting). */
bool gort__export_gcwaiting(void);
/* With the world stopped by the caller: true if every P but the caller's
 * is stopped (P_GCSTOP). */
bool gort__export_others_stopped(void);
/* With the world stopped: for goroutine g, 1 if its thread was suspended
 * in the signal handler with its sp inside g's stack and at least 16
 * saved registers, 0 if it is not running (its saved context is what
 * counts), -1 otherwise (suspended with a bad sp or registers, or
 * running yet not suspended). */
int gort__export_stw_interrupted(void *g);

/* mfixalloc.c: 0 when gort__fixalloc, gort__fixrealloc and gort__fixfree
 * behave (zeroed blocks of every size, the contents kept across a realloc,
 * a freed block reused zeroed, under a runtime lock too), else the number
 * of the step that failed. */
int gort__export_fixalloc_check(void);
/* Frees a fixalloc block twice (a fatal error). */
void gort__export_fixfree_twice(void);
/* Whether debug builds check libc's malloc against runtime locks (fault.h). */
bool gort__export_malloc_check_enabled(void);
/* malloc (free if `free_only`) with a runtime lock held: a fatal error where
 * the check is on. */
void gort__export_malloc_under_lock(bool free_only);

/* port.c: Go's LookupPort of service for socktype (SOCK_STREAM, SOCK_DGRAM)
 * against the services file at path, read now, not /etc/services (NULL:
 * Go's built-in names alone).  0 and *port, -ENOENT (unknown), -EINVAL
 * (the file's port above 65535), -EMFILE/-ENFILE, -ENOMEM. */
int gort__export_lookup_port_in(const char *path, int socktype, const char *service, int *port);

#endif
