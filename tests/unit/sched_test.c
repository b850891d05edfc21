/*
 * sched_test.c - goroutines and the M:P:G scheduler (issue 2).
 *
 * Every case runs in its own process and calls gort_main itself.  Most
 * cases join goroutines with C11 atomics and gort_yield polling so that
 * they test the scheduler alone; the cases whose names end in _wg repeat
 * the important ones with gort_waitgroup (parking instead of polling).
 *
 * Every wait is bounded (scaled by gt_scale() under sanitizers) and fails
 * with a message saying what it was waiting for: a broken scheduler makes a
 * case fail, never hang.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"
#include "export_test.h"

#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* Monotonic time without any gort call (never a scheduling point). */
static int64_t h_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A timeout of secs seconds, scaled for sanitizer builds. */
static int64_t h_timeout(double secs) {
    return (int64_t)(secs * gt_scale() * 1e9);
}

/* The current OS thread's id.  A real syscall every time: unlike
 * pthread_self() (declared const in glibc), the compiler cannot reuse a
 * value computed before a gort_yield. */
static long h_tid(void) {
    return (long)syscall(SYS_gettid);
}

/* atomic_load for assertions (their message shows "ld(&x)"). */
static long ld(atomic_long *p) {
    return atomic_load(p);
}

static void h_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void h_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* In a goroutine: polls with gort_yield until *v >= target, or fails. */
static void wait_ge(atomic_long *v, long target, double secs, const char *what) {
    int64_t deadline = h_now() + h_timeout(secs);
    while (atomic_load(v) < target) {
        if (h_now() > deadline) {
            fprintf(stderr, "timed out after %.1fs waiting for %s: %ld of %ld\n", secs * gt_scale(),
                    what, atomic_load(v), target);
            ASSERT_GE(ld(v), target);
        }
        gort_yield();
    }
}

/* In a goroutine: polls with gort_yield until gort_numgoroutine() == n. */
static void wait_numgoroutine(int n, double secs, const char *what) {
    int64_t deadline = h_now() + h_timeout(secs);
    while (gort_numgoroutine() != n) {
        if (h_now() > deadline) {
            fprintf(stderr, "timed out after %.1fs waiting for gort_numgoroutine() == %d (%s)\n",
                    secs * gt_scale(), n, what);
            ASSERT_EQ(gort_numgoroutine(), n);
        }
        gort_yield();
    }
}

/* Uses about levels * 4 KiB of stack; volatile so nothing is optimised away. */
static atomic_int h_sink; /* results land here so nothing is optimised away */
static volatile int
    h_never; /* always 0: gives recursions a way out the compiler cannot see through */
__attribute__((noinline)) static int use_stack(int levels) {
    volatile char buf[4096];
    for (int i = 0; i < (int)sizeof buf; i += 256)
        buf[i] = (char)(i + levels);
    buf[sizeof buf - 1] = (char)levels;
    int r = levels > 1 ? use_stack(levels - 1) : 0;
    return r + buf[0] + buf[sizeof buf - 1]; /* not a tail call */
}

static atomic_long g_count; /* generic "goroutines that ran" counter */
static atomic_long g_done;  /* generic completion counter */
static atomic_int g_stop;   /* generic stop flag for looping goroutines */

static void count_fn(void *arg) {
    (void)arg;
    atomic_fetch_add(&g_count, 1);
}

static void never_fn(void *arg) {
    (void)arg;
    atomic_fetch_add(&g_count, 1000000);
    fprintf(stderr, "never_fn ran: a rejected spawn ran after all\n");
}

/* ------------------------------------------------------------------------
 * Parallelism: do all GOMAXPROCS Ps run goroutines at the same moment?
 *
 * n = GOMAXPROCS spinners (the main goroutine and n - 1 new ones) each
 * announce themselves and then spin, making no gort call (so the
 * cooperative scheduler cannot deschedule them), until all n have
 * announced.  A spinner leaves only after the last arrival, so if every
 * spinner saw all n arrive before its deadline, all n were running at once,
 * each on its own OS thread.  The spin is bounded: a scheduler that never
 * runs the last one fails the case instead of hanging.
 *
 * The main goroutine spins too rather than polling with gort_yield: a
 * yielding main would sit in the global run queue, and an idle P finds work
 * there before it tries to steal, so it could keep running main while a
 * spinner waits in the spinning P's local queue (as in Go without async
 * preemption).  For the same reason no other runnable goroutine may exist
 * while the check runs.  The new spinners start in main's P's local queue;
 * the other Ps must be woken and steal them.
 * ------------------------------------------------------------------------ */

static struct {
    atomic_int n;
    atomic_int arrived;
    atomic_long done;
    long tid[GORT_MAX_PROCS];
    int cpu[GORT_MAX_PROCS];
    bool saw_all[GORT_MAX_PROCS];
} par;

static void par_spin(int i) {
    int n = atomic_load(&par.n);
    par.tid[i] = h_tid();
    atomic_fetch_add(&par.arrived, 1);
    int64_t deadline = h_now() + h_timeout(10);
    bool all = false;
    while (h_now() < deadline) {
        if (atomic_load(&par.arrived) >= n) {
            all = true;
            break;
        }
        h_relax();
    }
    par.cpu[i] = sched_getcpu();
    par.saw_all[i] = all;
    atomic_fetch_add(&par.done, 1);
}

static void par_spinner(void *arg) {
    par_spin((int)(intptr_t)arg);
}

static void par_nop(void *arg) {
    (void)arg;
}

/* In the main goroutine, with no other runnable goroutine: checks that
 * every P runs a goroutine at once. */
static void check_every_p_runs(const char *ctx) {
    int n = gort_gomaxprocs(0);
    ASSERT_GE(n, 1);
    ASSERT_LE(n, GORT_MAX_PROCS);
    atomic_store(&par.n, n);
    atomic_store(&par.arrived, 0);
    atomic_store(&par.done, 0);
    memset(par.tid, 0, sizeof par.tid);
    memset(par.saw_all, 0, sizeof par.saw_all);
    for (int i = 0; i < n - 1; i++)
        ASSERT_EQ(gort_go(par_spinner, (void *)(intptr_t)i), 0);
    /* Last, so that it (not a spinner) takes runnext, as Go's newproc does:
     * the spinners can then be stolen from the local queue. */
    ASSERT_EQ(gort_go(par_nop, NULL), 0);
    par_spin(n - 1);
    wait_ge(&par.done, n, 30, "the parallel spinners to finish");

    int together = 0;
    for (int i = 0; i < n; i++)
        together += par.saw_all[i];
    if (together != n)
        fprintf(stderr,
                "%s: GOMAXPROCS=%d but only %d of %d spinning goroutines saw all the others "
                "running at the same time (some P never ran a goroutine)\n",
                ctx, n, together, n);
    ASSERT_EQ(together, n);

    int distinct = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen |= par.tid[j] == par.tid[i];
        distinct += !seen;
    }
    if (distinct != n)
        fprintf(stderr, "%s: %d goroutines running at once on only %d distinct threads\n", ctx, n,
                distinct);
    ASSERT_EQ(distinct, n);

    /* CPUs are informative only: under ctest -j the kernel may time-share. */
    fprintf(stderr, "%s: %d goroutines ran at once on %d threads; cpus:", ctx, n, distinct);
    for (int i = 0; i < n && i < 16; i++)
        fprintf(stderr, " %d", par.cpu[i]);
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------------
 * Lifecycle: gort_main
 * ------------------------------------------------------------------------ */

struct ret_arg {
    int value;
    void *self;
};

static int main_ret(void *arg) {
    struct ret_arg *r = arg;
    ASSERT_TRUE(r->self == (void *)r); /* arg passed through unchanged */
    return r->value;
}

TEST(main_returns_value) {
    struct ret_arg a = {42, &a}, b = {0, &b}, c = {255, &c}, d = {123456, &d};
    ASSERT_EQ(gort_main(main_ret, &a), 42);
    ASSERT_EQ(gort_main(main_ret, &b), 0);
    ASSERT_EQ(gort_main(main_ret, &c), 255);
    ASSERT_EQ(gort_main(main_ret, &d), 123456);
}

static int main_spawn_then_return(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(gort_go(count_fn, NULL), 0);
    wait_ge(&g_count, 100, 10, "100 goroutines");
    return 77;
}

TEST(main_returns_value_after_goroutines) {
    ASSERT_EQ(gort_main(main_spawn_then_return, NULL), 77);
    ASSERT_EQ(ld(&g_count), 100);
}

static pthread_t calling_thread;
static long calling_tid;

static int main_check_thread(void *arg) {
    (void)arg;
    ASSERT_TRUE(pthread_equal(pthread_self(), calling_thread));
    ASSERT_EQ(h_tid(), calling_tid);
    ASSERT_EQ(gort_goid(), 1);
    return 5;
}

static void *thread_runs_gort_main(void *arg) {
    (void)arg;
    calling_thread = pthread_self();
    calling_tid = h_tid();
    ASSERT_EQ(gort_main(main_check_thread, NULL), 5);
    return NULL;
}

TEST(main_goroutine_on_calling_thread) {
    /* From the process's main thread. */
    calling_thread = pthread_self();
    calling_tid = h_tid();
    ASSERT_EQ(gort_main(main_check_thread, NULL), 5);

    /* From another pthread. */
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, thread_runs_gort_main, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);

    /* And from the main thread again. */
    calling_thread = pthread_self();
    calling_tid = h_tid();
    ASSERT_EQ(gort_main(main_check_thread, NULL), 5);
}

static int rep_main(void *arg) {
    int run = (int)(intptr_t)arg;
    ASSERT_EQ(gort_goid(), 1);
    gort_stats s;
    gort_read_stats(&s);
    /* goroutines_created counts since this gort_main started. */
    ASSERT_LT(s.goroutines_created, 1000);
    int cur = gort_gomaxprocs(0);
    ASSERT_EQ(gort_gomaxprocs(run % 2 ? 1 : 2), cur);
    atomic_store(&g_count, 0);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(gort_go(count_fn, NULL), 0);
    wait_ge(&g_count, 1000, 10, "1000 goroutines of this run");
    gort_gomaxprocs(2);
    check_every_p_runs("repeated_gort_main");
    gort_read_stats(&s);
    ASSERT_GE(s.goroutines_created, 1000);
    return 100 + run;
}

TEST(repeated_gort_main) {
    for (int run = 0; run < 5; run++) {
        ASSERT_EQ(gort_main(rep_main, (void *)(intptr_t)run), 100 + run);
        ASSERT_EQ(gort_numgoroutine(), 0);
        ASSERT_EQ(gort_goid(), 0);
        gort_stats s;
        memset(&s, 0xff, sizeof s);
        gort_read_stats(&s); /* zeros when the runtime is not running */
        ASSERT_EQ(s.goroutines, 0);
        ASSERT_EQ(s.threads, 0);
        ASSERT_EQ(s.procs, 0);
    }
}

/* Goroutines still running when main_fn returns are abandoned: never resumed. */
static atomic_long abandon_ticks;

static void abandon_looper(void *arg) {
    (void)arg;
    for (;;) {
        atomic_fetch_add(&abandon_ticks, 1);
        gort_yield();
    }
}

static int main_abandon(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(gort_go(abandon_looper, NULL), 0);
    wait_ge(&abandon_ticks, 5000, 10, "the loopers to run");
    return 9;
}

static int main_plain(void *arg) {
    (void)arg;
    atomic_store(&g_count, 0);
    for (int i = 0; i < 200; i++)
        ASSERT_EQ(gort_go(count_fn, NULL), 0);
    wait_ge(&g_count, 200, 10, "200 goroutines");
    for (int i = 0; i < 100; i++)
        gort_yield();
    return 10;
}

TEST(abandoned_goroutines_never_resume) {
    ASSERT_EQ(gort_main(main_abandon, NULL), 9);
    long t1 = atomic_load(&abandon_ticks);
    h_sleep_ms(100);
    ASSERT_EQ(ld(&abandon_ticks), t1);
    ASSERT_EQ(gort_main(main_plain, NULL), 10);
    ASSERT_EQ(ld(&abandon_ticks), t1);
}

static atomic_long second_ran;
static atomic_long second_done;
static int second_result;

static int second_main_fn(void *arg) {
    (void)arg;
    atomic_fetch_add(&second_ran, 1);
    return 1;
}

static void *thread_second_gort_main(void *arg) {
    (void)arg;
    second_result = gort_main(second_main_fn, NULL);
    atomic_store(&second_done, 1);
    return NULL;
}

static void nested_main_goroutine(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_main(second_main_fn, NULL), -EBUSY);
    atomic_fetch_add(&g_done, 1);
}

static int main_concurrent(void *arg) {
    (void)arg;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, thread_second_gort_main, NULL), 0);
    wait_ge(&second_done, 1, 10, "the second gort_main on another thread to return");
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(second_result, -EBUSY);

    /* Nested, from the main goroutine and from another goroutine. */
    ASSERT_EQ(gort_main(second_main_fn, NULL), -EBUSY);
    ASSERT_EQ(gort_go(nested_main_goroutine, NULL), 0);
    wait_ge(&g_done, 1, 10, "the nested gort_main goroutine");
    ASSERT_EQ(ld(&second_ran), 0);
    return 3;
}

TEST(concurrent_gort_main_ebusy) {
    ASSERT_EQ(gort_main(main_concurrent, NULL), 3);
    ASSERT_EQ(ld(&second_ran), 0);
    /* The runtime is free again. */
    ASSERT_EQ(gort_main(second_main_fn, NULL), 1);
    ASSERT_EQ(ld(&second_ran), 1);
}

/* fork() inside gort_main: only the forking thread lives on in the child,
 * so the runtime cannot go on there.  The child's first call that would
 * run another goroutine (here a sleep: the parent's ticker was due) is a
 * fatal error, not the parent's goroutines run a second time by the
 * child's thread; gort_go there is -EAGAIN; main_fn's return ends the
 * child with its value (shutdown waited for the parent's threads for
 * ever).  The child's stderr comes back through a pipe. */
static atomic_long fk_ticks;

static void fk_ticker(void *arg) {
    (void)arg;
    for (;;) {
        atomic_fetch_add(&fk_ticks, 1);
        gort_sleep(GT_MS);
    }
}

static void fk_noop(void *arg) {
    (void)arg;
}

/* Waits (bounded) for the child; kills it on timeout.  Returns its
 * status, or -1 on timeout. */
static int fk_wait(pid_t pid) {
    int ws = 0;
    int64_t deadline = h_now() + h_timeout(5);
    gort_syscall_enter();
    while (waitpid(pid, &ws, WNOHANG) == 0) {
        if (h_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            ws = -1;
            break;
        }
        h_sleep_ms(1);
    }
    gort_syscall_exit();
    return ws;
}

/* fork() with the child's stderr on a pipe: returns the pid, 0 in the
 * child (whose stderr is then the pipe); *rfd is the parent's read end. */
static pid_t fk_fork(int *rfd) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    close(fds[1]);
    *rfd = fds[0];
    return pid;
}

/* Waits for the child (fk_wait) and reads what it wrote into out
 * (NUL-terminated).  Waited for first: a hung child would keep the pipe
 * open, and what it wrote fits in the pipe.  Returns its status, -1 if
 * it hung. */
static int fk_collect(pid_t pid, int rfd, char *out, size_t len) {
    int ws = fk_wait(pid);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < len && (r = read(rfd, out + n, len - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(rfd);
    return ws;
}

/* Mode 2: a collection is under way at the fork (its lock held by a
 * thread the child does not have). */
static atomic_int fk_gc_state;

static void *fk_gc_holder(void *arg) {
    (void)arg;
    gort__export_gc_lock(true);
    atomic_store(&fk_gc_state, 1);
    while (atomic_load(&fk_gc_state) != 2)
        usleep(1000);
    gort__export_gc_lock(false);
    return NULL;
}

static int main_fork(void *arg) {
    int mode = (int)(intptr_t)arg;
    ASSERT_EQ(gort_go(fk_ticker, NULL), 0);
    wait_ge(&fk_ticks, 2, 10, "the ticker to run");
    pthread_t holder;
    if (mode == 2) {
        atomic_store(&fk_gc_state, 0);
        ASSERT_EQ(pthread_create(&holder, NULL, fk_gc_holder, NULL), 0);
        while (atomic_load(&fk_gc_state) != 1)
            gort_sleep(GT_MS);
    }
    int rfd;
    pid_t pid = fk_fork(&rfd);
    if (pid == 0) {
        if (mode == 0) {
            ASSERT_EQ(gort_go(fk_noop, NULL), -EAGAIN);
            gort_sleep(5 * GT_MS); /* the fatal error */
            fprintf(stderr, "child slept: ticks %ld\n", ld(&fk_ticks));
            _exit(0);
        }
        return 42; /* gort_main cannot return in the child: exit(42) */
    }
    char out[4096];
    int ws = fk_collect(pid, rfd, out, sizeof out);
    if (mode == 2) {
        atomic_store(&fk_gc_state, 2);
        gort_syscall_enter();
        ASSERT_EQ(pthread_join(holder, NULL), 0);
        gort_syscall_exit();
    }
    ASSERT_NE(ws, -1); /* the child hung */
    if (!WIFEXITED(ws))
        GT_FAIL("the child's status %#x and report:\n%s", ws, out);
    if (mode == 0) {
        ASSERT_EQ(WEXITSTATUS(ws), 2);
        if (strstr(out, "fatal error: gort: a child forked inside gort_main cannot "
                        "run goroutines (fork only to exec: see gort_process_spawn)") == NULL ||
            strstr(out, "goroutine 1 [sleep]:") == NULL)
            GT_FAIL("the child's report:\n%s", out);
    } else if (WEXITSTATUS(ws) != 42) {
        GT_FAIL("the child's status %#x and report:\n%s", ws, out);
    }
    return 7;
}

/* Neither sanitizer's runtime lets such a child go on.  ASan's allocator
 * (gcc 12) keeps the locks a parent thread held at the fork: the child's
 * report, or LeakSanitizer's check at its exit, hung on one now and then
 * (the child in __lsan::LockAllocator; 4 to 6 times in 30 with three
 * copies at once).  TSan kills a child of a multi-threaded fork that
 * starts a thread ("starting new threads after multi-threaded fork is not
 * supported", exit 66), and the report symbolizes on a thread of its own. */
#if defined(GORT_ASAN) || defined(__SANITIZE_ADDRESS__)
#define SKIP_FORK_CHILD_UNDER_ASAN()                                                            \
    GT_SKIP("AddressSanitizer: its allocator's locks stay held in a child of a multi-threaded " \
            "fork")
#else
#define SKIP_FORK_CHILD_UNDER_ASAN() (void)0
#endif

/* A runtime lock that another thread held at the fork stays held in the
 * child for ever: the child's wait for it is the fatal error, not a hang.
 * Here a plain thread holds the page heap's lock, as one in the middle of
 * a large allocation does, and the child allocates a large object. */
static atomic_int hl_state; /* 1: held; 2: release it */

static void *heap_lock_holder(void *arg) {
    (void)arg;
    gort__export_heap_lock(true);
    atomic_store(&hl_state, 1);
    while (atomic_load(&hl_state) != 2)
        h_sleep_ms(1);
    gort__export_heap_lock(false);
    return NULL;
}

static int main_fork_heap_lock(void *arg) {
    (void)arg;
    gort_keep_alive(gort_new(64)); /* the heap is made */
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, heap_lock_holder, NULL), 0);
    while (atomic_load(&hl_state) != 1)
        gort_sleep(GT_MS);
    int rfd;
    pid_t pid = fk_fork(&rfd);
    if (pid == 0) {
        void *p = gort_new(1 << 20); /* the page heap's lock: the fatal error */
        fprintf(stderr, "child allocated %p\n", p);
        _exit(0);
    }
    atomic_store(&hl_state, 2);
    gort_syscall_enter();
    ASSERT_EQ(pthread_join(th, NULL), 0);
    gort_syscall_exit();
    char out[8192];
    int ws = fk_collect(pid, rfd, out, sizeof out);
    ASSERT_NE(ws, -1); /* the child hung */
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 2 ||
        strstr(out, "fatal error: gort: a child forked inside gort_main needs a runtime lock "
                    "that another thread held at the fork (fork only to exec: see "
                    "gort_process_spawn)") == NULL)
        GT_FAIL("the child's status %#x and report:\n%s", ws, out);
    return 7;
}

TEST(fork_child_lock_held_at_fork) {
    SKIP_FORK_CHILD_UNDER_ASAN();
#ifdef GORT_TSAN
    GT_SKIP("ThreadSanitizer: no new thread in a child of a multi-threaded fork");
#endif
    ASSERT_EQ(gort_main(main_fork_heap_lock, NULL), 7);
}

TEST(fork_child_cannot_schedule) {
    SKIP_FORK_CHILD_UNDER_ASAN();
#ifdef GORT_TSAN
    GT_SKIP("ThreadSanitizer: no new thread in a child of a multi-threaded fork");
#endif
    ASSERT_EQ(gort_main(main_fork, (void *)(intptr_t)0), 7);
}

TEST(fork_child_main_return_exits) {
    SKIP_FORK_CHILD_UNDER_ASAN();
    ASSERT_EQ(gort_main(main_fork, (void *)(intptr_t)1), 7);
}

/* main's return waits for a collection under way (proc.c world_hold), but
 * not in such a child, where the collection's thread is gone: it exits. */
TEST(fork_child_main_return_exits_during_a_collection) {
    SKIP_FORK_CHILD_UNDER_ASAN();
    ASSERT_EQ(gort_main(main_fork, (void *)(intptr_t)2), 7);
}

/* A child forked inside gort_main reports a fault or a SIGQUIT by itself:
 * it has no sysmon to hand the report to (its copy of the scheduler said
 * it had).  A fault waited 10 s and then blamed a lock; a SIGQUIT was
 * lost and the child went on. */
static volatile uintptr_t fk_nil;

static int main_fork_signal(void *arg) {
    int mode = (int)(intptr_t)arg;
    int rfd;
    pid_t pid = fk_fork(&rfd);
    if (pid == 0) {
        if (mode == 0)
            *(volatile int *)fk_nil = 1;
        fprintf(stderr, "ready\n");
        for (int i = 0; i < 40; i++)
            usleep(250 * 1000);
        _exit(0);
    }
    if (mode == 1) {
        char c;
        gort_syscall_enter();
        ASSERT_EQ(read(rfd, &c, 1), 1); /* "ready": its handlers are set */
        gort_syscall_exit();
        ASSERT_EQ(kill(pid, SIGQUIT), 0);
    }
    char out[16384];
    int ws = fk_collect(pid, rfd, out, sizeof out);
    ASSERT_NE(ws, -1); /* the child hung */
    const char *want = mode == 0 ? "[signal SIGSEGV: segmentation violation" : "SIGQUIT: quit";
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 2 || strstr(out, want) == NULL ||
        strstr(out, "dump stalled") != NULL)
        GT_FAIL("the child's status %#x and report:\n%s", ws, out);
    return 7;
}

TEST(fork_child_fault_reports) {
    SKIP_FORK_CHILD_UNDER_ASAN();
#ifdef GORT_TSAN
    GT_SKIP("ThreadSanitizer: no new thread in a child of a multi-threaded fork");
#endif
    ASSERT_EQ(gort_main(main_fork_signal, (void *)(intptr_t)0), 7);
}

TEST(fork_child_sigquit_dumps) {
    SKIP_FORK_CHILD_UNDER_ASAN();
#ifdef GORT_TSAN
    GT_SKIP("ThreadSanitizer: no new thread in a child of a multi-threaded fork");
#endif
    ASSERT_EQ(gort_main(main_fork_signal, (void *)(intptr_t)1), 7);
}

/* ------------------------------------------------------------------------
 * Calls outside the runtime
 * ------------------------------------------------------------------------ */

static void *thread_go_outside(void *arg) {
    (void)arg;
    gort_go_attr attr = {0, "outside"};
    ASSERT_EQ(gort_go(never_fn, NULL), -EAGAIN);
    ASSERT_EQ(gort_go_attr_spawn(never_fn, NULL, &attr), -EAGAIN);
    return NULL;
}

static int main_yield_some(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++)
        gort_yield();
    return 4;
}

TEST(go_outside_runtime_eagain) {
    gort_go_attr attr = {0, "outside"};
    pthread_t t;
    /* Before the runtime ever ran. */
    ASSERT_EQ(gort_go(never_fn, NULL), -EAGAIN);
    ASSERT_EQ(gort_go_attr_spawn(never_fn, NULL, &attr), -EAGAIN);
    ASSERT_EQ(gort_go_attr_spawn(never_fn, NULL, NULL), -EAGAIN);
    ASSERT_EQ(pthread_create(&t, NULL, thread_go_outside, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);

    ASSERT_EQ(gort_main(main_yield_some, NULL), 4);
    ASSERT_EQ(ld(&g_count), 0); /* nothing queued before it ran in it */

    /* After it returned. */
    ASSERT_EQ(gort_go(never_fn, NULL), -EAGAIN);
    ASSERT_EQ(gort_go_attr_spawn(never_fn, NULL, &attr), -EAGAIN);
    ASSERT_EQ(pthread_create(&t, NULL, thread_go_outside, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);

    ASSERT_EQ(gort_main(main_yield_some, NULL), 4);
    ASSERT_EQ(ld(&g_count), 0);
}

TEST(calls_outside_runtime) {
    ASSERT_EQ(gort_goid(), 0);
    ASSERT_EQ(gort_numgoroutine(), 0);
    gort_yield();          /* sched_yield() */
    gort_lock_os_thread(); /* no effect */
    gort_unlock_os_thread();
    gort_unlock_os_thread();
    gort_stats s;
    memset(&s, 0xff, sizeof s);
    gort_read_stats(&s);
    ASSERT_EQ(s.goroutines, 0);
    ASSERT_EQ(s.threads, 0);
    ASSERT_EQ(s.procs, 0);
    ASSERT_EQ(s.goroutines_created, 0);
    ASSERT_GE(gort_numcpu(), 1);
    ASSERT_NOT_NULL(gort_version());
    ASSERT_STREQ(gort_version(), GORT_VERSION_STRING);
}

/* ------------------------------------------------------------------------
 * Goroutine ids
 * ------------------------------------------------------------------------ */

static int main_goid_one(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_goid(), 1);
    gort_yield();
    ASSERT_EQ(gort_goid(), 1);
    return 0;
}

TEST(goid_main_is_one) {
    ASSERT_EQ(gort_goid(), 0);
    ASSERT_EQ(gort_main(main_goid_one, NULL), 0);
    ASSERT_EQ(gort_goid(), 0);
}

#define GOID_N 2000
static int64_t goids[GOID_N];

static void goid_child(void *arg) {
    int i = (int)(intptr_t)arg;
    goids[i] = gort_goid();
    gort_yield();
    ASSERT_EQ(gort_goid(), goids[i]); /* stable across a yield */
    atomic_fetch_add(&g_done, 1);
}

static void goid_parent(void *arg) {
    int i = (int)(intptr_t)arg;
    goids[i] = gort_goid();
    ASSERT_EQ(gort_go(goid_child, (void *)(intptr_t)(i + GOID_N / 2)), 0);
    atomic_fetch_add(&g_done, 1);
}

static void *thread_goid_zero(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_goid(), 0); /* a thread outside the runtime, while it runs */
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int main_goid_unique(void *arg) {
    (void)arg;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, thread_goid_zero, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    for (int i = 0; i < GOID_N / 2; i++)
        ASSERT_EQ(gort_go(goid_parent, (void *)(intptr_t)i), 0);
    wait_ge(&g_done, GOID_N, 20, "goid goroutines");
    qsort(goids, GOID_N, sizeof goids[0], cmp_i64);
    ASSERT_GT(goids[0], 1);
    for (int i = 1; i < GOID_N; i++) {
        if (goids[i] == goids[i - 1])
            fprintf(stderr, "goroutine id %lld given twice\n", (long long)goids[i]);
        ASSERT_GT(goids[i], goids[i - 1]);
    }
    ASSERT_EQ(gort_goid(), 1);
    return 0;
}

TEST(goid_unique) {
    ASSERT_EQ(gort_main(main_goid_unique, NULL), 0);
}

/* ------------------------------------------------------------------------
 * 100,000 goroutines
 * ------------------------------------------------------------------------ */

#define N100K 100000
static atomic_uchar ran100k[N100K];
static gort_waitgroup wg100k;

static void mark100k(void *arg) {
    size_t i = (size_t)arg;
    atomic_fetch_add(&ran100k[i], 1);
    atomic_fetch_add(&g_done, 1);
}

static void check_each_ran_once(void) {
    for (size_t i = 0; i < N100K; i++) {
        if (atomic_load(&ran100k[i]) != 1)
            fprintf(stderr, "goroutine %zu ran %d times\n", i, atomic_load(&ran100k[i]));
        ASSERT_EQ((int)atomic_load(&ran100k[i]), 1);
    }
}

static int main_100k(void *arg) {
    (void)arg;
    for (size_t i = 0; i < N100K; i++)
        ASSERT_EQ(gort_go(mark100k, (void *)i), 0);
    wait_ge(&g_done, N100K, 60, "100,000 goroutines to finish");
    check_each_ran_once();
    wait_numgoroutine(1, 30, "the 100,000 goroutines to exit");
    gort_stats s;
    gort_read_stats(&s);
    ASSERT_GE(s.goroutines_created, N100K);
    return 7;
}

TEST(spawn_100k) {
    ASSERT_EQ(gort_main(main_100k, NULL), 7);
    ASSERT_EQ(ld(&g_done), N100K);
}

/* 100 spawners on all Ps each start 1,000 goroutines. */
static void spawner_1000(void *arg) {
    size_t base = (size_t)arg * 1000;
    for (size_t i = 0; i < 1000; i++) {
        ASSERT_EQ(gort_go(mark100k, (void *)(base + i)), 0);
        if (i % 100 == 0)
            gort_yield();
    }
}

static int main_100k_tree(void *arg) {
    (void)arg;
    int cur = gort_gomaxprocs(0);
    ASSERT_EQ(gort_gomaxprocs(2), cur);
    for (size_t s = 0; s < N100K / 1000; s++)
        ASSERT_EQ(gort_go(spawner_1000, (void *)s), 0);
    wait_ge(&g_done, N100K, 60, "100,000 goroutines (from 100 spawners) to finish");
    check_each_ran_once();
    wait_numgoroutine(1, 30, "the goroutines to exit");
    return 8;
}

TEST(spawn_100k_tree) {
    ASSERT_EQ(gort_main(main_100k_tree, NULL), 8);
}

static void mark100k_wg(void *arg) {
    mark100k(arg);
    gort_wg_done(&wg100k);
}

static int main_100k_wg(void *arg) {
    (void)arg;
    gort_wg_add(&wg100k, N100K);
    for (size_t i = 0; i < N100K; i++)
        ASSERT_EQ(gort_go(mark100k_wg, (void *)i), 0);
    gort_wg_wait(&wg100k);
    ASSERT_EQ(ld(&g_done), N100K);
    check_each_ran_once();
    wait_numgoroutine(1, 30, "the 100,000 goroutines to exit");
    return 6;
}

TEST(spawn_100k_wg) {
    ASSERT_EQ(gort_main(main_100k_wg, NULL), 6);
}

/* ------------------------------------------------------------------------
 * Parallelism reaches every P
 * ------------------------------------------------------------------------ */

static int main_parallel(void *arg) {
    int procs = (int)(intptr_t)arg;
    gort_gomaxprocs(procs);
    ASSERT_EQ(gort_gomaxprocs(0), procs);
    for (int round = 0; round < 3; round++)
        check_every_p_runs("parallelism");
    gort_stats s;
    gort_read_stats(&s);
    ASSERT_EQ(s.procs, procs);
    ASSERT_GE(s.threads, procs);
    return 0;
}

TEST(parallelism_every_p) {
    ASSERT_EQ(gort_main(main_parallel, (void *)(intptr_t)2), 0);
}

/* More Ps than CPUs: the kernel time-shares, but every P still gets an M. */
TEST(parallelism_every_p_4) {
    ASSERT_EQ(gort_main(main_parallel, (void *)(intptr_t)4), 0);
}

/* ------------------------------------------------------------------------
 * gort_yield fairness on one P
 * ------------------------------------------------------------------------ */

#define FAIR_G 3
#define FAIR_K 3000
static atomic_long fair_count[FAIR_G];
static atomic_int fair_log[FAIR_G * FAIR_K];
static atomic_int fair_pos;
static atomic_int fair_started;
static atomic_long fair_max_spread;
static atomic_long fair_done;

static void fair_worker(void *arg) {
    int me = (int)(intptr_t)arg;
    atomic_fetch_add(&fair_started, 1);
    /* Start together: each yield here must let the others start. */
    int64_t deadline = h_now() + h_timeout(10);
    while (atomic_load(&fair_started) < FAIR_G) {
        if (h_now() > deadline)
            fprintf(stderr, "gort_yield never let the other goroutines start\n");
        ASSERT_LE(h_now(), deadline);
        gort_yield();
    }
    for (int k = 0; k < FAIR_K; k++) {
        atomic_fetch_add(&fair_count[me], 1);
        atomic_store(&fair_log[atomic_fetch_add(&fair_pos, 1)], me);
        long mn = atomic_load(&fair_count[0]), mx = mn;
        for (int j = 1; j < FAIR_G; j++) {
            long c = atomic_load(&fair_count[j]);
            mn = c < mn ? c : mn;
            mx = c > mx ? c : mx;
        }
        long prev = atomic_load(&fair_max_spread);
        while (mx - mn > prev && !atomic_compare_exchange_weak(&fair_max_spread, &prev, mx - mn)) {
        }
        gort_yield();
    }
    atomic_fetch_add(&fair_done, 1);
}

static int main_fairness(void *arg) {
    (void)arg;
    gort_gomaxprocs(1);
    ASSERT_EQ(gort_gomaxprocs(0), 1);
    for (int i = 0; i < FAIR_G; i++)
        ASSERT_EQ(gort_go(fair_worker, (void *)(intptr_t)i), 0);
    wait_ge(&fair_done, FAIR_G, 30, "the yielding goroutines");

    int n = atomic_load(&fair_pos);
    ASSERT_EQ(n, FAIR_G * FAIR_K);
    int repeats = 0;
    for (int i = 1; i < n; i++)
        repeats += atomic_load(&fair_log[i]) == atomic_load(&fair_log[i - 1]);
    long spread = atomic_load(&fair_max_spread);
    if (spread > 2 || repeats > n / 20) {
        fprintf(stderr,
                "unfair gort_yield on one P: max spread %ld between iteration counts, %d of %d "
                "yields ran the same goroutine again; first 60 turns:",
                spread, repeats, n);
        for (int i = 0; i < 60 && i < n; i++)
            fprintf(stderr, " %d", atomic_load(&fair_log[i]));
        fprintf(stderr, "\n");
    }
    /* Round robin keeps the counts within 1; Go's 1-in-61 global queue
     * check can let one goroutine get one turn ahead more. */
    ASSERT_LE(spread, 2);
    ASSERT_LE(repeats, n / 20);
    return 0;
}

TEST(yield_fairness_one_p) {
    ASSERT_EQ(gort_main(main_fairness, NULL), 0);
}

/* ------------------------------------------------------------------------
 * GOMAXPROCS
 * ------------------------------------------------------------------------ */

static void busy_yielder(void *arg) {
    int iters = (int)(intptr_t)arg;
    for (int i = 0; i < iters; i++) {
        for (volatile int w = 0; w < 200; w++) {
        }
        if (i % 3 == 0)
            gort_yield();
    }
    atomic_fetch_add(&g_done, 1);
}

static int main_gomaxprocs_change(void *arg) {
    (void)arg;
    int cur = gort_gomaxprocs(0);
    ASSERT_EQ(gort_gomaxprocs(2), cur);
    cur = 2;
    long spawned = 0;
    for (int i = 0; i < 64; i++, spawned++)
        ASSERT_EQ(gort_go(busy_yielder, (void *)(intptr_t)3000), 0);

    static const int seq[] = {1, 2, 4, 1, 2, 3, 3, 1, 4, 2, 1, 2};
    for (int rep = 0; rep < 4; rep++) {
        for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
            int prev = gort_gomaxprocs(seq[i]);
            if (prev != cur)
                fprintf(stderr, "gort_gomaxprocs(%d) returned %d, previous value was %d\n", seq[i],
                        prev, cur);
            ASSERT_EQ(prev, cur);
            cur = seq[i];
            ASSERT_EQ(gort_gomaxprocs(0), cur);
            ASSERT_EQ(gort_gomaxprocs(-3), cur); /* n <= 0 only reads */
            gort_stats s;
            gort_read_stats(&s);
            ASSERT_EQ(s.procs, cur);
            for (int y = 0; y < 20; y++)
                gort_yield();
            /* New goroutines run under every setting too. */
            for (int j = 0; j < 4; j++, spawned++)
                ASSERT_EQ(gort_go(busy_yielder, (void *)(intptr_t)300), 0);
        }
    }
    wait_ge(&g_done, spawned, 60, "the busy goroutines to finish across GOMAXPROCS changes");
    wait_numgoroutine(1, 10, "busy goroutines to exit");

    /* After all that, every P still runs goroutines. */
    ASSERT_EQ(gort_gomaxprocs(2), cur);
    check_every_p_runs("after GOMAXPROCS changes");
    ASSERT_EQ(gort_gomaxprocs(3), 2);
    check_every_p_runs("after GOMAXPROCS changes");
    return 0;
}

TEST(gomaxprocs_change_while_running) {
    ASSERT_EQ(gort_main(main_gomaxprocs_change, NULL), 0);
}

static int main_gomaxprocs_cap(void *arg) {
    (void)arg;
    int cur = gort_gomaxprocs(0);
    ASSERT_EQ(gort_gomaxprocs(100000), cur);
    ASSERT_EQ(gort_gomaxprocs(0), GORT_MAX_PROCS);
    atomic_store(&g_count, 0);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(gort_go(count_fn, NULL), 0);
    wait_ge(&g_count, 1000, 30, "goroutines with GOMAXPROCS at its cap");
    ASSERT_EQ(gort_gomaxprocs(2), GORT_MAX_PROCS);
    check_every_p_runs("after GOMAXPROCS cap");
    return 0;
}

TEST(gomaxprocs_cap) {
    ASSERT_EQ(gort_main(main_gomaxprocs_cap, NULL), 0);
}

static int main_report_procs(void *arg) {
    int want = (int)(intptr_t)arg;
    ASSERT_EQ(gort_gomaxprocs(0), want);
    gort_stats s;
    gort_read_stats(&s);
    ASSERT_EQ(s.procs, want);
    check_every_p_runs("GOMAXPROCS at start");
    return 0;
}

TEST(gomaxprocs_default_is_numcpu) {
    unsetenv("GOMAXPROCS");
    cpu_set_t set;
    CPU_ZERO(&set);
    ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    ASSERT_EQ(gort_numcpu(), CPU_COUNT(&set));
    int want = gort_numcpu() < GORT_MAX_PROCS ? gort_numcpu() : GORT_MAX_PROCS;
    ASSERT_EQ(gort_main(main_report_procs, (void *)(intptr_t)want), 0);
}

/* gort_numcpu is read as gort_main starts, as Go's NumCPU at the
 * process's start: a narrower affinity mask set during the run is not
 * seen (it was: a system call each time), one set before the run is, and
 * so is one set between runs, read at the next start. */
/* one: the first CPU of all alone. */
static void first_cpu(const cpu_set_t *all, cpu_set_t *one) {
    CPU_ZERO(one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, all)) {
            CPU_SET(c, one);
            return;
        }
}

static int main_numcpu_fixed(void *arg) {
    int before = (int)(intptr_t)arg;
    ASSERT_EQ(gort_numcpu(), before);
    cpu_set_t all, one;
    ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
    first_cpu(&all, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    int during = gort_numcpu();
    ASSERT_EQ(sched_setaffinity(0, sizeof all, &all), 0);
    ASSERT_EQ(during, before);
    return 0;
}

static int main_numcpu_is(void *arg) {
    ASSERT_EQ(gort_numcpu(), (int)(intptr_t)arg);
    return 0;
}

TEST(numcpu_read_at_start) {
    cpu_set_t all, one;
    ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
    int n = CPU_COUNT(&all);
    if (n < 2)
        GT_SKIP("one CPU: no narrower affinity mask to set");
    ASSERT_EQ(gort_main(main_numcpu_fixed, (void *)(intptr_t)n), 0);
    ASSERT_EQ(gort_numcpu(), n);
    first_cpu(&all, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    ASSERT_EQ(gort_main(main_numcpu_is, (void *)(intptr_t)1), 0);
    ASSERT_EQ(sched_setaffinity(0, sizeof all, &all), 0);
    /* Between runs it is the last run's. */
    ASSERT_EQ(gort_numcpu(), 1);
    ASSERT_EQ(gort_main(main_numcpu_is, (void *)(intptr_t)n), 0);
}

TEST(gomaxprocs_env) {
    ASSERT_EQ(setenv("GOMAXPROCS", "3", 1), 0);
    ASSERT_EQ(gort_main(main_report_procs, (void *)(intptr_t)3), 0);
}

/* A value Go's atoi32 does not read (a blank, a sign, past int32) is
 * ignored, as in Go: the default (it gave 3 for " 3", and 256 for numbers
 * past int32). */
TEST(gomaxprocs_env_not_a_number) {
    unsetenv("GOMAXPROCS");
    int def = gort_gomaxprocs(0);
    const char *bad[] = {" 3", "+3", "3 ", "x", "4294967297", "99999999999999999999"};
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ(setenv("GOMAXPROCS", bad[i], 1), 0);
        ASSERT_EQ(gort_main(main_report_procs, (void *)(intptr_t)def), 0);
    }
    unsetenv("GOMAXPROCS");
}

TEST(gomaxprocs_set_outside_runtime) {
    unsetenv("GOMAXPROCS");
    int def = gort_gomaxprocs(0); /* the value the next gort_main starts with */
    ASSERT_GE(def, 1);
    ASSERT_EQ(gort_gomaxprocs(3), def);
    ASSERT_EQ(gort_gomaxprocs(0), 3);
    ASSERT_EQ(gort_main(main_report_procs, (void *)(intptr_t)3), 0);
}

/* gort_main from a thread with a small stack (ulimit -s 32, or a pthread
 * made with a small stack size): only gort_main's own start and tear-down
 * run there.  The default GOMAXPROCS's cgroup look-up kept ~30 KiB of
 * path buffers on that stack and died of a bare SIGSEGV in it. */
static int main_small_stack(void *arg) {
    (void)arg;
    ASSERT_GE(gort_gomaxprocs(0), 1);
    gort_sleep(GT_MS);
    return 7;
}

static void *small_stack_thread(void *arg) {
    (void)arg;
    ASSERT_GE(gort_gomaxprocs(0), 1); /* the default, read outside gort_main */
    return (void *)(intptr_t)gort_main(main_small_stack, NULL);
}

TEST(main_on_small_caller_stack) {
    unsetenv("GOMAXPROCS");
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 32 * 1024), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, &attr, small_stack_thread, NULL), 0);
    pthread_attr_destroy(&attr);
    void *r;
    ASSERT_EQ(pthread_join(t, &r), 0);
    ASSERT_EQ((intptr_t)r, 7);
}

/* The runtime's own threads get a stack of their own size, not glibc's
 * default, which comes from RLIMIT_STACK when the process starts (ulimit
 * -s 16: 16 KiB; pthread_setattr_default_np here, the same thing): sysmon
 * overflowed it printing its first scheddetail lines, a bare SIGSEGV. */
static gort_waitgroup small_default_wg;

static void small_default_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++)
        (void)gort_new(64);
    gort_wg_done(&small_default_wg);
}

static int main_small_default(void *arg) {
    (void)arg;
    for (int r = 0; r < 20; r++) {
        gort_wg_add(&small_default_wg, 4);
        for (int i = 0; i < 4; i++)
            ASSERT_EQ(gort_go(small_default_worker, NULL), 0);
        gort_wg_wait(&small_default_wg);
        gort_gc();
        gort_sleep(5 * GT_MS);
    }
    return 7;
}

static int child_small_default(void *arg) {
    (void)arg;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 16 * 1024) != 0 ||
        pthread_setattr_default_np(&attr) != 0)
        return 3;
    pthread_attr_destroy(&attr);
    /* Every 10 ms, a scheduler line with every P, M and G: stderr goes to
     * /dev/null (a pipe the parent stops reading would block the child). */
    if (setenv("GORTDEBUG", "schedtrace=10,scheddetail=1", 1) != 0 ||
        freopen("/dev/null", "w", stderr) == NULL)
        return 4;
    gort_gomaxprocs(2);
    return gort_main(main_small_default, NULL) == 7 ? 0 : 5;
}

TEST(runtime_threads_on_small_default_stack) {
    char out[4096];
    int ws = gt_run_child(child_small_default, NULL, out, sizeof out);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        GT_FAIL("child: status %#x", ws);
}

/* GORTDEBUG's settings are whole items of its list, with a number, as
 * Go's GODEBUG: gcstw (read when the heap is first used, outside
 * gort_main's parse) was found by a search for "gcstw=1" anywhere, so
 * xgcstw=1 (or nogcstw=1) turned concurrent marking off, and gcstw=2 did
 * not.  The child reports whether the collector marks concurrently. */
static int child_gc_mode(void *arg) {
    if (arg != NULL && setenv("GORTDEBUG", arg, 1) != 0)
        return 3;
    (void)gort_new(8); /* the heap, and its mode */
    return gort__export_gc_concurrent() ? 1 : 0;
}

static int gc_mode(const char *gortdebug) {
    char out[4096];
    int ws = gt_run_child(child_gc_mode, (void *)gortdebug, out, sizeof out);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) > 1)
        GT_FAIL("child under GORTDEBUG=%s: status %#x\n%s", gortdebug ? gortdebug : "(unset)", ws,
                out);
    return WEXITSTATUS(ws);
}

TEST(gortdebug_gcstw_is_a_whole_item) {
    unsetenv("GORTDEBUG");
    int deflt = gc_mode(NULL); /* 0 where the kernel cannot track writes */
    ASSERT_EQ(gc_mode("gcstw=1"), 0);
    ASSERT_EQ(gc_mode("gctrace=0,gcstw=2"), 0);
    ASSERT_EQ(gc_mode("xgcstw=1"), deflt);
    ASSERT_EQ(gc_mode("nogcstw=1,gctrace=0"), deflt);
    ASSERT_EQ(gc_mode("gcstw=0"), deflt);
    ASSERT_EQ(gc_mode("gcstw=1,gcstw=0"), deflt); /* the last one counts */
}

/* ------------------------------------------------------------------------
 * LockOSThread
 *
 * While a goroutine is locked, it runs only on its thread and no other
 * goroutine runs there.  "Noise" goroutines record the thread they run on
 * and count any turn taken on the locked thread.
 * ------------------------------------------------------------------------ */

static atomic_long locked_tid;      /* 0: nobody locked */
static atomic_long lock_violations; /* noise turns on the locked thread */
static atomic_long noise_turns_while_locked;
static atomic_long noise_done;

static void noise(void *arg) {
    (void)arg;
    while (!atomic_load(&g_stop)) {
        long lt = atomic_load(&locked_tid);
        if (lt != 0) {
            if (h_tid() == lt)
                atomic_fetch_add(&lock_violations, 1);
            atomic_fetch_add(&noise_turns_while_locked, 1);
        }
        for (volatile int w = 0; w < 100; w++) {
        }
        gort_yield();
    }
    atomic_fetch_add(&noise_done, 1);
}

static void start_noise(int n) {
    for (int i = 0; i < n; i++)
        ASSERT_EQ(gort_go(noise, NULL), 0);
}

static void stop_noise(int n) {
    atomic_store(&g_stop, 1);
    wait_ge(&noise_done, n, 20, "the noise goroutines to stop");
    if (atomic_load(&lock_violations) != 0)
        fprintf(stderr, "%ld goroutine turns ran on a thread locked to another goroutine\n",
                atomic_load(&lock_violations));
    ASSERT_EQ(ld(&lock_violations), 0);
}

/* Yields (and spawns, and changes GOMAXPROCS) iters times while locked;
 * the thread must never change.  Publishes the locked thread meanwhile. */
static void locked_phase(int iters, bool change_procs) {
    long me = h_tid();
    atomic_store(&locked_tid, me);
    long turns0 = atomic_load(&noise_turns_while_locked);
    for (int i = 0; i < iters; i++) {
        gort_yield();
        if (i % 50 == 0)
            ASSERT_EQ(gort_go(count_fn, NULL), 0);
        if (change_procs && i == iters / 4)
            gort_gomaxprocs(1);
        if (change_procs && i == iters / 2)
            gort_gomaxprocs(4);
        if (change_procs && i == 3 * iters / 4)
            gort_gomaxprocs(2);
        long now = h_tid();
        if (now != me)
            fprintf(stderr, "locked goroutine moved from thread %ld to %ld after %d yields\n", me,
                    now, i + 1);
        ASSERT_EQ(now, me);
    }
    /* Other goroutines run meanwhile (on other threads).  The phase above
     * can take only a few milliseconds, during which a loaded machine may
     * not run the other P's thread at all, so keep yielding (still locked,
     * still checked) until a noise turn is seen; a runtime that starved them
     * fails after the deadline. */
    int64_t deadline = h_now() + h_timeout(10);
    while (ld(&noise_turns_while_locked) == turns0 && h_now() < deadline) {
        gort_yield();
        ASSERT_EQ(h_tid(), me);
    }
    ASSERT_GT(ld(&noise_turns_while_locked), turns0);
    atomic_store(&locked_tid, 0);
}

static void locker(void *arg) {
    (void)arg;
    gort_lock_os_thread();
    locked_phase(2000, true);
    gort_unlock_os_thread();
    atomic_fetch_add(&g_done, 1);
}

static int main_lock_goroutine(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    start_noise(8);
    ASSERT_EQ(gort_go(locker, NULL), 0);
    wait_ge(&g_done, 1, 30, "the locked goroutine");
    stop_noise(8);
    return 0;
}

TEST(lock_os_thread_keeps_thread) {
    ASSERT_EQ(gort_main(main_lock_goroutine, NULL), 0);
}

static int main_lock_main(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    /* The main goroutine starts on the calling thread; unlocked, it may
     * move to another M like any goroutine (a sysmon preemption while the
     * noise starts, say), as Go's may.  Locked, it must stay. */
    ASSERT_EQ(h_tid(), calling_tid);
    start_noise(8);
    gort_lock_os_thread();
    long tid0 = h_tid();
    locked_phase(2000, true);
    ASSERT_EQ(h_tid(), tid0);
    gort_unlock_os_thread();
    stop_noise(8);
    return 0;
}

TEST(lock_os_thread_main_goroutine) {
    calling_tid = h_tid();
    ASSERT_EQ(gort_main(main_lock_main, NULL), 0);
}

static void nested_locker(void *arg) {
    (void)arg;
    gort_unlock_os_thread(); /* not locked: no effect, as in Go */
    gort_lock_os_thread();
    gort_lock_os_thread();
    gort_unlock_os_thread();
    locked_phase(1000, false); /* still locked once */
    gort_lock_os_thread();
    gort_lock_os_thread();
    gort_unlock_os_thread();
    gort_unlock_os_thread();
    locked_phase(1000, false); /* still locked once */
    gort_unlock_os_thread();   /* now unlocked */
    for (int i = 0; i < 100; i++)
        gort_yield();
    gort_lock_os_thread(); /* and it locks again */
    locked_phase(500, false);
    gort_unlock_os_thread();
    atomic_fetch_add(&g_done, 1);
}

static int main_lock_nesting(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    start_noise(8);
    ASSERT_EQ(gort_go(nested_locker, NULL), 0);
    wait_ge(&g_done, 1, 30, "the nesting goroutine");
    stop_noise(8);
    return 0;
}

TEST(lock_os_thread_nesting) {
    ASSERT_EQ(gort_main(main_lock_nesting, NULL), 0);
}

/* A locked goroutine ping-pongs with main, which returns right after its
 * last send: the locked M is handed a P (startlockedm) while the program
 * exits, and while the other Ms go idle.  Before, about one run in 100
 * died with "notewakeup - double wakeup" (begin_exit had woken the
 * locked M first), and the M handed a P still counted as idle-locked, so
 * an M going idle could see none running. */
static gort_chan *lx_c, *lx_ack;

static void lx_side(void *arg) {
    (void)arg;
    gort_lock_os_thread();
    for (long k = 1; k <= 50; k++) {
        gort_chan_send(lx_c, &k);
        long x;
        gort_chan_recv(lx_ack, &x);
    }
}

static int main_lock_pingpong_exit(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    ASSERT_EQ(gort_go(lx_side, NULL), 0);
    for (long k = 1; k <= 50; k++) {
        long v;
        ASSERT_TRUE(gort_chan_recv(lx_c, &v));
        ASSERT_EQ(v, k);
        gort_chan_send(lx_ack, &k);
    }
    return 0; /* lx_side is being handed its P, or leaving */
}

TEST(lock_os_thread_pingpong_at_exit) {
    int runs = RUNNING_ON_VALGRIND ? 10 : 400;
    for (int i = 0; i < runs; i++) {
        lx_c = gort_chan_make(sizeof(long), 1);
        lx_ack = gort_chan_make(sizeof(long), 0);
        ASSERT_EQ(gort_main(main_lock_pingpong_exit, NULL), 0);
        gort_chan_free(lx_c);
        gort_chan_free(lx_ack);
    }
}

/* A locked goroutine writes to a pipe and waits for a goroutine that
 * reads it to answer.  The reader's M, finding the locked goroutine's P
 * running, naps instead of polling (become_poller); when the locked
 * goroutine parks, its M hands off the last running P and nobody polled:
 * every M idle, "all goroutines are asleep - deadlock!" (50 of 50 runs
 * of a program that raised a signal it had asked for with
 * gort_signal_notify).  handoffp starts an M to poll then, as Go's. */
static int lio_fds[2];
static gort_chan *lio_c;

static void lio_reader(void *arg) {
    (void)arg;
    for (int k = 0; k < 200; k++) {
        char b;
        ASSERT_EQ(gort_read(lio_fds[0], &b, 1), 1);
        int v = b;
        gort_chan_send(lio_c, &v);
    }
}

static void lio_locked(void *arg) {
    gort_lock_os_thread();
    for (int k = 0; k < 200; k++) {
        char b = (char)k;
        ASSERT_EQ(gort_write(lio_fds[1], &b, 1), 1);
        int v;
        ASSERT_TRUE(gort_chan_recv(lio_c, &v));
        ASSERT_EQ(v, (int)(char)k);
    }
    gort_wg_done(arg);
}

static int main_lock_waits_on_io(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    ASSERT_EQ(pipe2(lio_fds, O_NONBLOCK | O_CLOEXEC), 0);
    lio_c = gort_chan_make(sizeof(int), 0);
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    gort_wg_add(&wg, 1);
    ASSERT_EQ(gort_go(lio_reader, NULL), 0);
    ASSERT_EQ(gort_go(lio_locked, &wg), 0);
    gort_wg_wait(&wg);
    gort_chan_free(lio_c);
    gort_close(lio_fds[0]);
    gort_close(lio_fds[1]);
    return 0;
}

TEST(lock_os_thread_waits_on_io_goroutine) {
    ASSERT_EQ(gort_main(main_lock_waits_on_io, NULL), 0);
}

/* Locked goroutines parked on a waitgroup wake on their own thread. */
static gort_waitgroup lock_wg_gate;
static gort_waitgroup lock_wg_done;

static void wg_locker(void *arg) {
    (void)arg;
    gort_lock_os_thread();
    long me = h_tid();
    gort_wg_wait(&lock_wg_gate); /* parks */
    ASSERT_EQ(h_tid(), me);
    for (int i = 0; i < 100; i++) {
        gort_yield();
        ASSERT_EQ(h_tid(), me);
    }
    gort_unlock_os_thread();
    gort_wg_done(&lock_wg_done);
}

static int main_lock_wg(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    start_noise(4);
    gort_wg_add(&lock_wg_gate, 1);
    gort_wg_add(&lock_wg_done, 4);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(gort_go(wg_locker, NULL), 0);
    for (int i = 0; i < 200; i++)
        gort_yield();
    gort_wg_done(&lock_wg_gate);
    gort_wg_wait(&lock_wg_done);
    stop_noise(4);
    return 0;
}

TEST(lock_os_thread_across_wg_wait) {
    ASSERT_EQ(gort_main(main_lock_wg, NULL), 0);
}

/* A goroutine that exits while locked takes its thread with it. */
static atomic_long exit_locked_tids[16];

static void exit_locked(void *arg) {
    int i = (int)(intptr_t)arg;
    gort_lock_os_thread();
    if (i % 2)
        gort_lock_os_thread(); /* nested: still exits locked */
    for (int y = 0; y < 10; y++)
        gort_yield();
    atomic_store(&exit_locked_tids[i], h_tid());
    atomic_fetch_add(&g_done, 1);
    if (i % 4 == 3)
        gort_goexit();
}

static bool thread_exists(long tid) {
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/self/task/%ld", tid);
    return stat(path, &st) == 0;
}

static int main_exit_locked(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    long caller = h_tid();
    /* Keep other goroutines off the thread that called gort_main: that one
     * must come back to return from gort_main. */
    gort_lock_os_thread();
    for (int i = 0; i < 16; i++) {
        ASSERT_EQ(gort_go(exit_locked, (void *)(intptr_t)i), 0);
        wait_ge(&g_done, i + 1, 20, "the goroutine that exits locked");
    }
    /* Each of those threads exits. */
    for (int i = 0; i < 16; i++) {
        long tid = atomic_load(&exit_locked_tids[i]);
        ASSERT_NE(tid, 0);
        ASSERT_NE(tid, caller);
        int64_t deadline = h_now() + h_timeout(10);
        while (thread_exists(tid) && h_now() < deadline)
            gort_yield();
        if (thread_exists(tid))
            fprintf(stderr, "thread %ld is still alive after its locked goroutine exited\n", tid);
        ASSERT_FALSE(thread_exists(tid));
    }
    /* And the program goes on with every P. */
    atomic_store(&g_count, 0);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(gort_go(count_fn, NULL), 0);
    wait_ge(&g_count, 1000, 20, "goroutines after locked exits");
    check_every_p_runs("after locked goroutines exited");
    wait_numgoroutine(1, 10, "goroutines to exit");
    gort_unlock_os_thread();
    return 12;
}

TEST(locked_goroutine_exit) {
    ASSERT_EQ(gort_main(main_exit_locked, NULL), 12);
    atomic_store(&g_done, 0);
    ASSERT_EQ(gort_main(main_plain, NULL), 10); /* and the runtime restarts */
}

/* The Ms of goroutines that exited locked are freed while the program
 * runs, not at shutdown: each kept its M and g0 until then, 132 KiB of
 * stack memory from the OS (the g0 stack and its guard) a goroutine. */
static void exit_locked_quietly(void *arg) {
    (void)arg;
    gort_lock_os_thread();
    atomic_fetch_add(&g_done, 1);
}

static uint64_t stack_sys_after_locked_exits(int n) {
    for (int i = 0; i < n; i++) {
        long want = atomic_load(&g_done) + 1;
        ASSERT_EQ(gort_go(exit_locked_quietly, NULL), 0);
        wait_ge(&g_done, want, 20, "the goroutine that exits locked");
    }
    gort_stats st;
    gort_read_stats(&st);
    return st.stack_sys_bytes;
}

static int main_locked_exits_freed(void *arg) {
    (void)arg;
    atomic_store(&g_done, 0);
    uint64_t first = stack_sys_after_locked_exits(200);
    uint64_t then = stack_sys_after_locked_exits(400);
    /* Before: 400 more exits took 400 * 132 KiB (52 MiB) more. */
    if (then > first + (8u << 20))
        GT_FAIL("stack memory from the OS grew from %llu to %llu bytes over 400 locked exits",
                (unsigned long long)first, (unsigned long long)then);
    return 0;
}

TEST(locked_goroutine_exits_free_their_ms) {
    run(main_locked_exits_freed, NULL);
}

/* ------------------------------------------------------------------------
 * gort_go from a thread outside the runtime
 * ------------------------------------------------------------------------ */

static atomic_long foreign_spawned;

static void *foreign_spawner(void *arg) {
    int n = (int)(intptr_t)arg;
    ASSERT_EQ(gort_goid(), 0);
    gort_go_attr attr = {64 * 1024, "from-foreign"};
    for (int i = 0; i < n; i++) {
        int r = i % 10 == 0 ? gort_go_attr_spawn(count_fn, NULL, &attr) : gort_go(count_fn, NULL);
        if (r != 0)
            fprintf(stderr, "gort_go from a foreign thread returned %d (spawn %d)\n", r, i);
        ASSERT_EQ(r, 0);
        atomic_fetch_add(&foreign_spawned, 1);
        if (i % 100 == 0)
            gort_yield(); /* sched_yield() here */
    }
    return NULL;
}

static int main_foreign(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_spawner, (void *)(intptr_t)1000), 0);
    wait_ge(&foreign_spawned, 1000, 20, "the foreign thread's spawns");
    ASSERT_EQ(pthread_join(t, NULL), 0);
    wait_ge(&g_count, 1000, 20, "goroutines spawned from a foreign thread to run");
    ASSERT_EQ(ld(&g_count), 1000);
    wait_numgoroutine(1, 10, "foreign-spawned goroutines to exit");
    return 0;
}

TEST(go_from_foreign_thread) {
    ASSERT_EQ(gort_main(main_foreign, NULL), 0);
}

/* The main goroutine spins on its P without any gort call, the other P is
 * idle: goroutines spawned from the foreign thread must wake an idle P. */
static int main_foreign_idle(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    for (int i = 0; i < 20; i++) /* let the other P go idle */
        h_sleep_ms(1);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_spawner, (void *)(intptr_t)1000), 0);
    int64_t deadline = h_now() + h_timeout(20);
    while (atomic_load(&g_count) < 1000 && h_now() < deadline)
        h_relax();
    if (atomic_load(&g_count) < 1000)
        fprintf(stderr,
                "only %ld of 1000 goroutines spawned from a foreign thread ran while the idle "
                "P was free (no idle P was woken)\n",
                atomic_load(&g_count));
    ASSERT_EQ(ld(&g_count), 1000);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    return 0;
}

TEST(go_from_foreign_thread_wakes_idle_p) {
    ASSERT_EQ(gort_main(main_foreign_idle, NULL), 0);
}

/* Every P idle and main parked: the foreign thread's goroutines still run. */
static gort_waitgroup foreign_wg;

static void count_wg(void *arg) {
    (void)arg;
    atomic_fetch_add(&g_count, 1);
    gort_wg_done(&foreign_wg);
}

static void *foreign_spawner_wg(void *arg) {
    (void)arg;
    h_sleep_ms(20); /* main parks first */
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(gort_go(count_wg, NULL), 0);
    return NULL;
}

static int main_foreign_wg(void *arg) {
    (void)arg;
    pthread_t t;
    gort_wg_add(&foreign_wg, 1000);
    ASSERT_EQ(pthread_create(&t, NULL, foreign_spawner_wg, NULL), 0);
    gort_wg_wait(&foreign_wg);
    ASSERT_EQ(ld(&g_count), 1000);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    return 0;
}

TEST(go_from_foreign_thread_wg) {
    ASSERT_EQ(gort_main(main_foreign_wg, NULL), 0);
}

/* A foreign thread keeps spawning while gort_main returns: every call
 * returns 0 or -EAGAIN, and -EAGAIN once the runtime is gone. */
static atomic_long race_last;
static atomic_long race_bad;
static atomic_long race_ok;

static void *foreign_racer(void *arg) {
    (void)arg;
    int64_t deadline = h_now() + h_timeout(20);
    for (;;) {
        int r = gort_go(count_fn, NULL);
        atomic_store(&race_last, r);
        if (r != 0 && r != -EAGAIN)
            atomic_fetch_add(&race_bad, 1);
        if (r == -EAGAIN && atomic_load(&g_stop))
            break;
        if (h_now() > deadline)
            break;
        if (r == 0 && atomic_fetch_add(&race_ok, 1) % 16 == 0)
            h_sleep_ms(0);
    }
    return NULL;
}

static int main_race(void *arg) {
    (void)arg;
    wait_ge(&race_ok, 500, 20, "the racing foreign thread to spawn");
    return 21;
}

TEST(go_from_foreign_thread_races_shutdown) {
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_racer, NULL), 0);
    /* Before the runtime starts, the thread sees -EAGAIN and goes on. */
    ASSERT_EQ(gort_main(main_race, NULL), 21);
    atomic_store(&g_stop, 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(ld(&race_bad), 0);
    ASSERT_EQ(ld(&race_last), -EAGAIN);
    ASSERT_EQ(gort_main(main_plain, NULL), 10); /* still restartable */
}

/* ------------------------------------------------------------------------
 * NumGoroutine and stats
 * ------------------------------------------------------------------------ */

static atomic_int release_waiters;

static void waiter(void *arg) {
    (void)arg;
    while (!atomic_load(&release_waiters))
        gort_yield();
    atomic_fetch_add(&g_done, 1);
}

static void *foreign_spawn_waiters(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(gort_go(waiter, NULL), 0);
    return NULL;
}

static int main_numgoroutine(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_numgoroutine(), 1);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(gort_go(waiter, NULL), 0);
    ASSERT_EQ(gort_numgoroutine(), 11); /* runnable goroutines count at once */
    for (int i = 0; i < 50; i++)
        gort_yield();
    ASSERT_EQ(gort_numgoroutine(), 11);

    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_spawn_waiters, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(gort_numgoroutine(), 16);
    gort_stats s;
    gort_read_stats(&s);
    ASSERT_EQ(s.goroutines, 16);

    atomic_store(&release_waiters, 1);
    wait_ge(&g_done, 15, 10, "the waiters");
    wait_numgoroutine(1, 10, "the waiters to exit");
    gort_read_stats(&s);
    ASSERT_EQ(s.goroutines, 1);
    return 0;
}

TEST(numgoroutine_counts) {
    ASSERT_EQ(gort_numgoroutine(), 0);
    ASSERT_EQ(gort_main(main_numgoroutine, NULL), 0);
    ASSERT_EQ(gort_numgoroutine(), 0);
}

static void parked_waiter_yields(void *arg) {
    (void)arg;
    use_stack(4); /* commit some stack */
    while (!atomic_load(&release_waiters))
        gort_yield();
    atomic_fetch_add(&g_done, 1);
}

static int main_stats(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    gort_stats s0, s1, s2;
    gort_read_stats(&s0);
    ASSERT_EQ(s0.procs, 2);
    ASSERT_EQ(s0.procs, gort_gomaxprocs(0));
    ASSERT_EQ(s0.goroutines, gort_numgoroutine());
    ASSERT_GE(s0.threads, 1);

    check_every_p_runs("stats"); /* every P has had a thread */
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(gort_go(parked_waiter_yields, NULL), 0);
    for (int i = 0; i < 200; i++)
        gort_yield();
    gort_read_stats(&s1);
    ASSERT_GE(s1.goroutines_created, s0.goroutines_created + 100 + 2);
    ASSERT_GE(s1.goroutines, 101);
    ASSERT_GE(s1.threads, s1.procs);
    ASSERT_GT(s1.context_switches, s0.context_switches);
    ASSERT_GE(s1.steals, s0.steals);
    ASSERT_GT(s1.stack_sys_bytes, 0);
    ASSERT_GT(s1.stack_inuse_bytes, 0);
    ASSERT_LE(s1.stack_inuse_bytes, s1.stack_sys_bytes);
    ASSERT_LE(s1.idle_threads, s1.threads);
    ASSERT_LE(s1.spinning_threads, s1.threads);

    atomic_store(&release_waiters, 1);
    wait_ge(&g_done, 100, 10, "the waiters");
    wait_numgoroutine(1, 10, "the waiters to exit");
    gort_read_stats(&s2);
    ASSERT_EQ(s2.goroutines, 1);
    ASSERT_GE(s2.goroutines_created, s1.goroutines_created);
    ASSERT_GE(s2.context_switches, s1.context_switches);
    ASSERT_GE(s2.steals, s1.steals);

    ASSERT_EQ(gort_gomaxprocs(1), 2);
    gort_read_stats(&s2);
    ASSERT_EQ(s2.procs, 1);
    return 0;
}

TEST(read_stats_sane) {
    ASSERT_EQ(gort_main(main_stats, NULL), 0);
}

/* ------------------------------------------------------------------------
 * Stacks and attributes
 * ------------------------------------------------------------------------ */

static void stack_user(void *arg) {
    int levels = (int)(intptr_t)arg;
    atomic_store(&h_sink, use_stack(levels));
    atomic_fetch_add(&g_done, 1);
}

static void big_frame(void *arg) {
    (void)arg;
    volatile char big[64 * 1024];
    for (size_t i = 0; i < sizeof big; i += 64)
        big[i] = (char)i;
    big[sizeof big - 1] = 1;
    atomic_store(&h_sink, big[0] + big[sizeof big - 1]);
    atomic_fetch_add(&g_done, 1);
}

static int main_stack_64k(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(stack_user, (void *)(intptr_t)16), 0); /* 16 x 4 KiB frames */
    ASSERT_EQ(gort_go(big_frame, NULL), 0);                  /* one 64 KiB frame */
    gort_go_attr dflt = {0, NULL};
    ASSERT_EQ(gort_go_attr_spawn(stack_user, (void *)(intptr_t)16, &dflt), 0);
    ASSERT_EQ(gort_go_attr_spawn(big_frame, NULL, NULL), 0);
    wait_ge(&g_done, 4, 10, "goroutines using 64 KiB of stack");
    return 0;
}

TEST(stack_64k_default) {
    ASSERT_EQ(gort_main(main_stack_64k, NULL), 0);
}

static int main_attr(void *arg) {
    (void)arg;
    gort_go_attr a = {0, NULL};
    static const size_t bad[] = {1,
                                 4096,
                                 GORT_MIN_STACK_SIZE / 2,
                                 GORT_MAX_STACK_SIZE + 1,
                                 (size_t)GORT_MAX_STACK_SIZE * 4,
                                 SIZE_MAX,
                                 SIZE_MAX - 4095};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a.stack_size = bad[i];
        int r = gort_go_attr_spawn(never_fn, NULL, &a);
        if (r != -EINVAL)
            fprintf(stderr, "gort_go_attr_spawn with stack_size %zu returned %d, want -EINVAL\n",
                    bad[i], r);
        ASSERT_EQ(r, -EINVAL);
    }

    char name[32];
    snprintf(name, sizeof name, "worker-%d", 7);
    long want = 0;
    /* 1 MiB stack, named; uses 768 KiB of it. */
    a.stack_size = 1024 * 1024;
    a.name = name;
    ASSERT_EQ(gort_go_attr_spawn(stack_user, (void *)(intptr_t)192, &a), 0);
    want++;
    memset(name, 'x', sizeof name - 1); /* the name was copied */
    /* The smallest allowed stack. */
    a.stack_size = GORT_MIN_STACK_SIZE;
    a.name = NULL;
    ASSERT_EQ(gort_go_attr_spawn(stack_user, (void *)(intptr_t)1, &a), 0);
    want++;
    /* Not a multiple of the page size: rounded up. */
    a.stack_size = 100000;
    a.name = "odd-size";
    ASSERT_EQ(gort_go_attr_spawn(stack_user, (void *)(intptr_t)16, &a), 0);
    want++;
    /* The largest allowed stack (virtual, committed lazily); uses 2 MiB. */
    a.stack_size = GORT_MAX_STACK_SIZE;
    ASSERT_EQ(gort_go_attr_spawn(stack_user, (void *)(intptr_t)512, &a), 0);
    want++;
    /* attr == NULL is gort_go. */
    ASSERT_EQ(gort_go_attr_spawn(stack_user, (void *)(intptr_t)2, NULL), 0);
    want++;

    wait_ge(&g_done, want, 20, "goroutines with custom stacks");
    for (int i = 0; i < 100; i++)
        gort_yield();
    ASSERT_EQ(ld(&g_count), 0); /* no rejected spawn ran */
    wait_numgoroutine(1, 10, "attr goroutines to exit");
    return 0;
}

TEST(attr_spawn) {
    ASSERT_EQ(gort_main(main_attr, NULL), 0);
}

/* ------------------------------------------------------------------------
 * Goexit
 * ------------------------------------------------------------------------ */

static atomic_long goexit_before;
static atomic_long goexit_after;

__attribute__((noinline)) static void deep_goexit(int depth) {
    if (h_never)
        return;
    if (depth == 0) {
        atomic_fetch_add(&goexit_before, 1);
        gort_goexit();
    }
    deep_goexit(depth - 1);
    atomic_fetch_add(&goexit_after, 1); /* never reached */
}

static void goexit_fn(void *arg) {
    int depth = (int)(intptr_t)arg;
    if (depth % 2)
        gort_yield();
    deep_goexit(depth);
    atomic_fetch_add(&goexit_after, 1); /* never reached */
}

static int main_goexit(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    for (int i = 0; i < 200; i++)
        ASSERT_EQ(gort_go(goexit_fn, (void *)(intptr_t)(i % 20)), 0);
    wait_ge(&goexit_before, 200, 20, "goroutines to reach gort_goexit");
    wait_numgoroutine(1, 10, "goroutines that called gort_goexit to end");
    for (int i = 0; i < 100; i++)
        gort_yield();
    ASSERT_EQ(ld(&goexit_after), 0);
    /* The runtime goes on (reusing those goroutines' structures). */
    atomic_store(&g_count, 0);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(gort_go(count_fn, NULL), 0);
    wait_ge(&g_count, 1000, 20, "goroutines after goexit");
    return 0;
}

TEST(goexit_nonmain) {
    ASSERT_EQ(gort_main(main_goexit, NULL), 0);
    ASSERT_EQ(ld(&goexit_after), 0);
}

/* ------------------------------------------------------------------------
 * TLS across switches, compiled at -O2 (ARCHITECTURE.md decision 6)
 *
 * A goroutine that yields may come back on another thread.  Every thread
 * keeps its own tid in a _Thread_local; each read after a yield must see the
 * current thread's slot (or an unwritten 0), never the old thread's, and the
 * runtime's own "current goroutine" must follow the goroutine: gort_goid()
 * stays the same.  A runtime that caches a TLS address across its switch
 * returns another goroutine's id here.
 * ------------------------------------------------------------------------ */

#if defined(__GNUC__) && !defined(__clang__)
#define H_OPT_O2 __attribute__((optimize("O2")))
#else
#define H_OPT_O2
#endif

/* Atomic only so that TSan, which sees each goroutine as its own thread,
 * accepts two goroutines on one OS thread sharing the slot. */
static _Thread_local _Atomic long tls_tid;
static atomic_long tls_stale;
static atomic_long tls_direct_stale;
static atomic_long tls_goid_bad;
static atomic_long tls_migrations;
static atomic_int tls_enough; /* set by main once enough migrations were seen */

/* The documented way for user code to use TLS across gort calls: through a
 * function that computes the address afresh on every call. */
__attribute__((noinline)) static void tls_set(long v) {
    atomic_store_explicit(&tls_tid, v, memory_order_relaxed);
}

__attribute__((noinline)) static long tls_get(void) {
    return atomic_load_explicit(&tls_tid, memory_order_relaxed);
}

H_OPT_O2 static void tls_worker(void *arg) {
    (void)arg;
    const int64_t me = gort_goid();
    long before = h_tid();
    for (int i = 0; i < 2000 || !atomic_load(&tls_enough); i++) {
        tls_set(h_tid());
        long direct_before = atomic_load_explicit(&tls_tid, memory_order_relaxed);
        gort_yield();
        long now = h_tid();
        long seen = tls_get();
        if (seen != 0 && seen != now)
            atomic_fetch_add(&tls_stale, 1);
        /* Direct access in the same function: the compiler may reuse the
         * TLS address it computed before the yield (clang does).  That is
         * the caveat gort.h documents, so it is only counted. */
        long direct = atomic_load_explicit(&tls_tid, memory_order_relaxed);
        if (direct != 0 && direct != now && direct == direct_before)
            atomic_fetch_add(&tls_direct_stale, 1);
        if (gort_goid() != me)
            atomic_fetch_add(&tls_goid_bad, 1);
        if (now != before)
            atomic_fetch_add(&tls_migrations, 1);
        before = now;
        if (i % 500 == 0)
            ASSERT_EQ(gort_go(count_fn, NULL), 0);
    }
    atomic_fetch_add(&g_done, 1);
}

static void tls_spinner(void *arg) {
    (void)arg;
    while (!atomic_load(&g_stop)) {
        for (volatile int w = 0; w < 2000; w++) {
        }
        gort_yield();
    }
    atomic_fetch_add(&noise_done, 1);
}

/* Exits while locked to its thread, which takes the thread with it. */
static atomic_long tls_killers;

static void thread_killer(void *arg) {
    (void)arg;
    gort_lock_os_thread();
    atomic_fetch_add(&tls_killers, 1);
}

/* Spinners keep both Ps busy while the workers yield.  To make goroutines
 * really change threads, whatever the scheduler's placement policy, main
 * repeatedly starts a goroutine that exits locked: its thread dies, and
 * every goroutine that last ran there resumes on another one.  Main also
 * moves GOMAXPROCS between 2 and 1. */
static int main_tls(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    int procs = 2;
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(gort_go(tls_spinner, NULL), 0);
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(gort_go(tls_worker, NULL), 0);
    int64_t deadline = h_now() + h_timeout(5);
    long killers = 0;
    while (atomic_load(&g_done) < 6) {
        if (!atomic_load(&tls_enough) &&
            (atomic_load(&tls_migrations) >= 100 || h_now() > deadline))
            atomic_store(&tls_enough, 1);
        if (!atomic_load(&tls_enough) && killers < 200) {
            ASSERT_EQ(gort_go(thread_killer, NULL), 0);
            killers++;
            wait_ge(&tls_killers, killers, 10, "the thread-killing goroutine");
        }
        for (int i = 0; i < 50; i++)
            gort_yield();
        procs = 3 - procs;
        gort_gomaxprocs(procs);
        ASSERT_LT(h_now(), deadline + h_timeout(30)); /* the workers end */
    }
    gort_gomaxprocs(2);
    atomic_store(&g_stop, 1);
    wait_ge(&noise_done, 2, 10, "the spinners");
    fprintf(stderr,
            "tls: %ld migrations across yields (%ld threads killed), %ld stale TLS reads, %ld "
            "wrong goids; %ld stale reads through a TLS address the compiler kept across "
            "gort_yield (the documented caveat, not checked)\n",
            atomic_load(&tls_migrations), killers, atomic_load(&tls_stale),
            atomic_load(&tls_goid_bad), atomic_load(&tls_direct_stale));
    ASSERT_EQ(ld(&tls_goid_bad), 0);
    ASSERT_EQ(ld(&tls_stale), 0);
    /* Without migrations the checks above prove nothing. */
    ASSERT_GT(ld(&tls_migrations), 0);
    return 0;
}

TEST(tls_after_yield_o2) {
    ASSERT_EQ(gort_main(main_tls, NULL), 0);
}

/* ---- spawn backpressure: a spawning loop cannot pile up runnable
 * goroutines without bound (proc.c newproc, SPAWN_BACKLOG). */

static _Atomic long bp_ran;

static void bp_body(void *arg) {
    (void)arg;
    atomic_fetch_add_explicit(&bp_ran, 1, memory_order_relaxed);
}

static int main_backpressure(void *arg) {
    int procs = *(int *)arg;
    gort_gomaxprocs(procs);
    atomic_store(&bp_ran, 0);
    const long n = 300000;
    int maxlive = 0;
    for (long i = 0; i < n; i++) {
        ASSERT_EQ(gort_go(bp_body, NULL), 0);
        if ((i & 255) == 0) {
            int live = gort_numgoroutine();
            if (live > maxlive)
                maxlive = live;
        }
    }
    int64_t deadline = h_now() + h_timeout(30);
    while (atomic_load(&bp_ran) < n) {
        ASSERT_LT(h_now(), deadline);
        gort_sleep(GT_MS);
    }
    /* Runnable ones: the global backlog (256 per P) plus what one put can
     * add to it (half a local queue), each P's local queue and runnext. */
    int bound = 256 * procs + 129 + 257 * procs + procs + 1;
    fprintf(stderr, "backpressure: procs=%d, at most %d goroutines alive (bound %d)\n", procs,
            maxlive, bound);
    ASSERT_LE(maxlive, bound);
    ASSERT_EQ(atomic_load(&bp_ran), n);
    return 0;
}

TEST(spawn_backpressure_p1) {
    int procs = 1;
    ASSERT_EQ(gort_main(main_backpressure, &procs), 0);
}

TEST(spawn_backpressure_p2) {
    int procs = 2;
    ASSERT_EQ(gort_main(main_backpressure, &procs), 0);
}

/* A goroutine locked to its thread never yields in gort_go: it would hand
 * its thread off for nothing.  All spawned goroutines still run. */
static int main_backpressure_locked(void *arg) {
    (void)arg;
    gort_gomaxprocs(1);
    atomic_store(&bp_ran, 0);
    gort_lock_os_thread();
    pthread_t self = pthread_self();
    for (long i = 0; i < 20000; i++) {
        ASSERT_EQ(gort_go(bp_body, NULL), 0);
        ASSERT_TRUE(pthread_equal(self, pthread_self()));
    }
    gort_unlock_os_thread();
    int64_t deadline = h_now() + h_timeout(30);
    while (atomic_load(&bp_ran) < 20000) {
        ASSERT_LT(h_now(), deadline);
        gort_sleep(GT_MS);
    }
    return 0;
}

TEST(spawn_backpressure_locked) {
    ASSERT_EQ(gort_main(main_backpressure_locked, NULL), 0);
}

/* ---- a new goroutine starts with the ABI's initial floating-point control
 * state, whatever the goroutine that ran last on its thread left behind
 * (gort__ctx_switch_fresh / gort__ctx_jump_fresh). */

static gort_chan *fp_c, *fp_done;

static void fp_child(void *arg) {
    (void)arg;
    int r = fegetround();
    gort_chan_send(fp_c, &r);
}

static void fp_parent(void *arg) {
    (void)arg;
    ASSERT_EQ(fesetround(FE_UPWARD), 0);
    ASSERT_EQ(fegetround(), FE_UPWARD);
    for (int i = 0; i < 50; i++) {
        ASSERT_EQ(gort_go(fp_child, NULL), 0);
        int r = -1;
        /* Parks: on one P the child starts on this thread, right from here
         * (a direct switch) or from the scheduler. */
        ASSERT_TRUE(gort_chan_recv(fp_c, &r));
        ASSERT_EQ(r, FE_TONEAREST);
        ASSERT_EQ(fegetround(), FE_UPWARD); /* ours is kept across switches */
        if (i % 2)
            gort_sleep(100 * 1000); /* the next child may start from the scheduler */
    }
    ASSERT_EQ(fesetround(FE_TONEAREST), 0);
    gort_chan_send(fp_done, &(int){1});
}

static int main_fp(void *arg) {
    (void)arg;
    gort_gomaxprocs(1);
    fp_c = gort_chan_make(sizeof(int), 0);
    fp_done = gort_chan_make(sizeof(int), 0);
    ASSERT_EQ(gort_go(fp_parent, NULL), 0);
    int done = -1;
    ASSERT_TRUE(gort_chan_recv(fp_done, &done));
    ASSERT_EQ(done, 1);
    gort_chan_free(fp_c);
    gort_chan_free(fp_done);
    return 0;
}

TEST(new_goroutine_default_fpenv) {
    ASSERT_EQ(gort_main(main_fp, NULL), 0);
}

GT_MAIN()

/* Plain threads sending on a channel that goroutines receive from while
 * gort_main returns: a send that readied a receiver then queued it after
 * the scheduler's reset ("global run queue overflow") or woke an M after
 * they had been joined ("negative nmspinning"), 4 runs in 25. */
static gort_chan *shut_ch;
static atomic_int shut_stop, shut_exited;

static void shut_receiver(void *arg) {
    (void)arg;
    int v;
    while (gort_chan_recv(shut_ch, &v))
        ;
}

static void *shut_sender(void *arg) {
    (void)arg;
    for (int v = 0; !atomic_load(&shut_stop); v++)
        gort_chan_send(shut_ch, &v);
    atomic_fetch_add(&shut_exited, 1);
    return NULL;
}

static int main_shut(void *arg) {
    pthread_t *t = arg;
    shut_ch = gort_chan_make(sizeof(int), 0);
    for (int i = 0; i < 4; i++)
        gort_go(shut_receiver, NULL);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, shut_sender, NULL), 0);
    gort_sleep(20 * 1000 * 1000);
    return 7;
}

TEST(foreign_send_while_main_returns) {
    for (int round = 0; round < 20; round++) {
        pthread_t t[4];
        atomic_store(&shut_stop, 0);
        atomic_store(&shut_exited, 0);
        ASSERT_EQ(gort_main(main_shut, t), 7);
        /* The senders' last sends find no goroutine: receive them here. */
        atomic_store(&shut_stop, 1);
        int v;
        while (atomic_load(&shut_exited) < 4)
            if (!gort_chan_tryrecv(shut_ch, &v, NULL))
                sched_yield();
        for (int i = 0; i < 4; i++)
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
        gort_chan_free(shut_ch);
    }
}

/* The same with a Cond: plain threads signal and broadcast it while
 * goroutines wait on it and gort_main returns.  A thread that took a
 * waiter off the Cond's list readied it after shutdown had freed its
 * stack (the waiter's status store, as in the channel case above: about
 * one run in a hundred of that case died there of SIGSEGV) unless it
 * pinned the goroutines before it dropped the list's lock. */
static gort_mutex shutc_mu = GORT_MUTEX_INIT;
static gort_cond shutc_cv;

static void shutc_waiter(void *arg) {
    (void)arg;
    for (;;) {
        gort_mutex_lock(&shutc_mu);
        gort_cond_wait(&shutc_cv);
        gort_mutex_unlock(&shutc_mu);
    }
}

static void *shutc_notifier(void *arg) {
    (void)arg;
    for (unsigned i = 0; !atomic_load(&shut_stop); i++) {
        if (i % 2)
            gort_cond_signal(&shutc_cv);
        else
            gort_cond_broadcast(&shutc_cv);
    }
    atomic_fetch_add(&shut_exited, 1);
    return NULL;
}

static int main_shutc(void *arg) {
    pthread_t *t = arg;
    for (int i = 0; i < 4; i++)
        gort_go(shutc_waiter, NULL);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, shutc_notifier, NULL), 0);
    gort_sleep(20 * 1000 * 1000);
    return 7;
}

TEST(foreign_cond_notify_while_main_returns) {
    for (int round = 0; round < 20; round++) {
        pthread_t t[4];
        atomic_store(&shut_stop, 0);
        atomic_store(&shut_exited, 0);
        shutc_mu = (gort_mutex)GORT_MUTEX_INIT;
        gort_cond_init(&shutc_cv, &shutc_mu);
        ASSERT_EQ(gort_main(main_shutc, t), 7);
        atomic_store(&shut_stop, 1);
        for (int i = 0; i < 4; i++)
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
    }
}

/* gort_numcpu in a loop beside busy goroutines: a preemption point
 * (gt_loop_lets_timers_fire; it runs in the kernel and libc). */
static void lp_numcpu(void) {
    if (gort_numcpu() < 1)
        GT_FAIL("gort_numcpu() < 1");
}

TEST(numcpu_in_a_loop_lets_timers_fire) {
    gt_loop_lets_timers_fire(lp_numcpu);
}
