/*
 * signal_test.c - signals into channels (issue 15): every one of 2,000
 * signals, each awaited, delivered while 8 goroutines load the Ps; a storm
 * from another thread coalesces but the last signal always arrives; Go's
 * non-blocking delivery (a full or unready channel misses the signal, a
 * second channel still gets it); Stop (no more deliveries, the earlier
 * action back when no channel wants the signal); refused signals; the
 * registrations end with gort_main.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"
#include "export_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS GT_MS

/* Receives one signal from c within secs (scaled); -1 if none came. */
static int recv_within(gort_chan *c, double secs) {
    gort_timer *t = gort_timer_new(tmo(secs));
    int sig = -1;
    gort_select_case cs[2] = {{c, GORT_RECV, &sig, false},
                              {gort_timer_chan(t), GORT_RECV, NULL, false}};
    int i = gort_select(cs, 2, true);
    gort_timer_free(t);
    return i == 0 ? sig : -1;
}

/* TSan runs a handler only once the thread the kernel picked makes an
 * intercepted call, and kill(2) picks the main thread first: an idle M
 * asleep there in a raw futex would hold the signal indefinitely.  So, as
 * programs that dedicate a thread to signals do, the runtime's threads
 * (which inherit the main thread's mask) block the test's signals, and a
 * thread outside the runtime, parked in poll(2), takes them. */
static void *catcher(void *arg) {
    sigset_t *set = arg;
    pthread_sigmask(SIG_UNBLOCK, set, NULL);
    for (;;)
        poll(NULL, 0, -1);
    return NULL;
}

static void catcher_setup(void) {
    static sigset_t set;
    static bool done;
    if (done)
        return;
    done = true;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, catcher, &set), 0);
}

static void ignore(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(sig, &sa, NULL);
}

/* ------------------------------------------------------------------ load */

enum { NSIGNALS = 2000, NLOAD = 8 };

static _Atomic int load_stop;
static _Atomic unsigned load_sink;

static void loader(void *arg) {
    (void)arg;
    unsigned x = 0;
    while (!atomic_load(&load_stop)) {
        for (int i = 0; i < 10000; i++)
            x = x * 31 + (unsigned)i;
        atomic_store_explicit(&load_sink, x, memory_order_relaxed);
        gort_yield();
    }
}

static int load_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int sigs[] = {SIGUSR1, SIGUSR2};
    ASSERT_EQ(gort_signal_notify(c, sigs, 2), 0);
    for (int i = 0; i < NLOAD; i++)
        go(loader, NULL);
    int got[2] = {0, 0};
    for (int i = 0; i < NSIGNALS; i++) {
        int s = i % 2 ? SIGUSR2 : SIGUSR1;
        ASSERT_EQ(kill(getpid(), s), 0);
        int r = recv_within(c, 10);
        ASSERT_EQ(r, s);
        got[i % 2]++;
    }
    ASSERT_EQ(got[0] + got[1], NSIGNALS);
    atomic_store(&load_stop, 1);
    gort_signal_stop(c);
    WAIT_UNTIL(gort_numgoroutine() == 2, 10, "the loaders to stop"); /* main, the loop */
    gort_chan_free(c);
    return 0;
}

TEST(delivery_under_load_counted) {
    catcher_setup();
    ignore(SIGUSR1);
    ignore(SIGUSR2);
    run(load_main, NULL);
}

/* A thread outside the runtime sends as fast as it can: arrivals coalesce
 * (fewer received than sent), but none is lost for good: the last one,
 * sent after the receiver drained, arrives. */
static _Atomic int storm_stop;
static _Atomic long storm_sent;

static void *stormer(void *arg) {
    (void)arg;
    while (!atomic_load(&storm_stop)) {
        kill(getpid(), SIGUSR1);
        atomic_fetch_add(&storm_sent, 1);
    }
    return NULL;
}

static int storm_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 16);
    int s = SIGUSR1;
    ASSERT_EQ(gort_signal_notify(c, &s, 1), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, stormer, NULL), 0);
    long got = 0;
    while (atomic_load(&storm_sent) < 20000 && got < 1000)
        if (recv_within(c, 10) == SIGUSR1)
            got++;
    atomic_store(&storm_stop, 1);
    pthread_join(t, NULL);
    ASSERT_GT(got, 0);
    ASSERT_LE(got, atomic_load(&storm_sent));
    /* Drain what the storm left, then one more: it must arrive.  (Under
     * TSan a signal the kernel gives to a thread asleep in a raw futex
     * waits until that thread wakes: send again if it is slow.) */
    while (recv_within(c, 0.05) == SIGUSR1)
        ;
    int64_t dl = now_ns() + tmo(10);
    int r = -1;
    while (r != SIGUSR1 && now_ns() < dl) {
        ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
        r = recv_within(c, 0.5);
    }
    ASSERT_EQ(r, SIGUSR1);
    gort_signal_stop(c);
    gort_chan_free(c);
    return 0;
}

TEST(storm_coalesces_last_arrives) {
    catcher_setup();
    ignore(SIGUSR1);
    run(storm_main, NULL);
}

/* ------------------------------------------------------------------ non-blocking */

static int nonblock_main(void *arg) {
    (void)arg;
    gort_chan *full = gort_chan_make(sizeof(int), 1);
    gort_chan *unbuf = gort_chan_make(sizeof(int), 0);
    gort_chan *probe = gort_chan_make(sizeof(int), 1);
    int both[] = {SIGUSR1, SIGUSR2}, u2 = SIGUSR2;
    ASSERT_EQ(gort_signal_notify(full, both, 2), 0);
    ASSERT_EQ(gort_signal_notify(unbuf, both, 2), 0);
    ASSERT_EQ(gort_signal_notify(probe, &u2, 1), 0);
    /* Fill full with SIGUSR1 (unbuf has no receiver: it misses it). */
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    WAIT_UNTIL(gort_chan_len(full) == 1, 10, "SIGUSR1 in the buffer");
    /* SIGUSR2: the loop offers it to every channel in one pass; the probe
     * takes it, so by then full and unbuf have been offered it too. */
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    ASSERT_EQ(recv_within(probe, 10), SIGUSR2);
    int v = 0;
    bool ok;
    ASSERT_TRUE(gort_chan_tryrecv(full, &v, &ok));
    ASSERT_EQ(v, SIGUSR1); /* the buffered one; SIGUSR2 was dropped */
    ASSERT_FALSE(gort_chan_tryrecv(full, &v, &ok));
    ASSERT_FALSE(gort_chan_tryrecv(unbuf, &v, &ok)); /* nothing queued for later */
    /* A receiver waiting on an unbuffered channel gets the signal (one
     * sent before it waits may be missed: send until one arrives). */
    int64_t dl = now_ns() + tmo(10);
    int r = -1;
    while (r != SIGUSR1 && now_ns() < dl) {
        ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
        r = recv_within(unbuf, 0.05);
    }
    ASSERT_EQ(r, SIGUSR1);
    gort_signal_stop(full);
    gort_signal_stop(unbuf);
    gort_signal_stop(probe);
    gort_chan_free(full);
    gort_chan_free(unbuf);
    gort_chan_free(probe);
    return 0;
}

TEST(nonblocking_delivery_drops) {
    catcher_setup();
    ignore(SIGUSR1);
    ignore(SIGUSR2);
    run(nonblock_main, NULL);
}

/* ------------------------------------------------------------------ Stop */

static _Atomic int own_handler_ran;

static void own_handler(int sig) {
    (void)sig;
    atomic_fetch_add(&own_handler_ran, 1);
}

static int stop_main(void *arg) {
    (void)arg;
    gort_chan *a = gort_chan_make(sizeof(int), 4);
    gort_chan *b = gort_chan_make(sizeof(int), 4);
    int s = SIGUSR1;
    ASSERT_EQ(gort_signal_notify(a, &s, 1), 0);
    ASSERT_EQ(gort_signal_notify(b, &s, 1), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(recv_within(a, 10), SIGUSR1);
    ASSERT_EQ(recv_within(b, 10), SIGUSR1);
    gort_signal_stop(a);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(recv_within(b, 10), SIGUSR1); /* b still gets it, a not */
    ASSERT_EQ(gort_chan_len(a), 0);
    ASSERT_EQ(atomic_load(&own_handler_ran), 0);
    gort_signal_stop(b);
    /* No channel wants it: the program's own handler is back. */
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    WAIT_UNTIL(atomic_load(&own_handler_ran) == 1, 10, "the earlier handler");
    ASSERT_EQ(gort_chan_len(b), 0);
    gort_signal_stop(b); /* not registered: no-op */
    gort_chan_free(a);
    gort_chan_free(b);
    return 0;
}

TEST(stop_restores_earlier_action) {
    catcher_setup();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigaction(SIGUSR1, &sa, NULL);
    run(stop_main, NULL);
}

/* A SIGPIPE handler the program installed before gort_main stays in place
 * while it runs (Go leaves a C program's SIGPIPE handler to non-Go code):
 * a write(2) to a pipe with no reader, made outside gort_write, calls it.
 * The runtime put SIG_IGN over it, so it was never called. */
static atomic_int pipe_handler_ran;

static void pipe_handler(int sig) {
    (void)sig;
    atomic_fetch_add(&pipe_handler_ran, 1);
}

static int pipe_handler_main(void *arg) {
    (void)arg;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    close(fds[0]);
    /* SIGPIPE goes to the writing thread, before write returns. */
    ASSERT_EQ(write(fds[1], "x", 1), -1);
    ASSERT_EQ(errno, EPIPE);
    ASSERT_EQ(atomic_load(&pipe_handler_ran), 1);
    close(fds[1]);
    return 0;
}

TEST(program_sigpipe_handler_kept) {
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pipe_handler;
    sigaction(SIGPIPE, &sa, NULL);
    run(pipe_handler_main, NULL);
    ASSERT_EQ(sigaction(SIGPIPE, NULL, &cur), 0);
    ASSERT_TRUE(cur.sa_handler == pipe_handler);
}

/* A handler the program installs while gort_main runs, for a signal the
 * runtime handles (a fault, SIGQUIT, the preemption signal), stays when
 * gort_main returns: the runtime puts back the action from before it only
 * where its own handler is still in place (each was replaced by the one
 * from before gort_main, and a later fault took the default action). */
static void kept_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig, (void)info, (void)uctx;
}

static const int kept_sigs[] = {SIGSEGV, SIGBUS, SIGQUIT, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGURG};

static int kept_handlers_main(void *arg) {
    (void)arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = kept_handler;
    sa.sa_flags = SA_SIGINFO;
    for (size_t i = 0; i < sizeof kept_sigs / sizeof kept_sigs[0]; i++)
        ASSERT_EQ(sigaction(kept_sigs[i], &sa, NULL), 0);
    return 0;
}

TEST(program_handlers_set_during_run_kept) {
    struct sigaction before[sizeof kept_sigs / sizeof kept_sigs[0]], cur;
    for (size_t i = 0; i < sizeof kept_sigs / sizeof kept_sigs[0]; i++)
        ASSERT_EQ(sigaction(kept_sigs[i], NULL, &before[i]), 0);
    run(kept_handlers_main, NULL);
    for (size_t i = 0; i < sizeof kept_sigs / sizeof kept_sigs[0]; i++) {
        ASSERT_EQ(sigaction(kept_sigs[i], &before[i], &cur), 0);
        if (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != kept_handler)
            GT_FAIL("signal %d: the program's handler was replaced at gort_main's return",
                    kept_sigs[i]);
    }
}

/* The thread that calls gort_main keeps its own signal stack afterwards
 * (it was left with none: a program's stack-overflow handler then died of
 * a bare SIGSEGV). */
static int altstack_main(void *arg) {
    (void)arg;
    return 0;
}

TEST(callers_signal_stack_restored) {
    static char mine[64 * 1024];
    stack_t ss = {.ss_sp = mine, .ss_size = sizeof mine, .ss_flags = 0}, cur, prev;
    ASSERT_EQ(sigaltstack(&ss, &prev), 0);
    run(altstack_main, NULL);
    ASSERT_EQ(sigaltstack(&prev, &cur), 0);
    ASSERT_TRUE(!(cur.ss_flags & SS_DISABLE));
    ASSERT_TRUE(cur.ss_sp == (void *)mine);
    ASSERT_EQ(cur.ss_size, sizeof mine);
}

/* A SIGSEGV handler the program installed before gort_main (a lazy-commit
 * scheme: it makes the faulting page writable and returns) gets the
 * faults goroutines make in its region, as Go forwards a fault in cgo
 * code to the handler it found.  gort reported the first one and exited
 * 2. */
#define LC_PAGES 16
static char *lc_region;
static atomic_int lc_handled;
static struct sigaction lc_before;

static void lc_handler(int sig, siginfo_t *si, void *uctx) {
    (void)uctx;
    char *a = si->si_addr;
    if (a >= lc_region && a < lc_region + LC_PAGES * 4096) {
        mprotect((void *)((uintptr_t)a & ~(uintptr_t)4095), 4096, PROT_READ | PROT_WRITE);
        atomic_fetch_add(&lc_handled, 1);
        return;
    }
    sigaction(sig, &lc_before, NULL); /* not ours: the fault again kills */
}

static void lc_touch(void *arg) {
    int from = (int)(intptr_t)arg;
    for (int i = from; i < LC_PAGES; i += 2)
        lc_region[i * 4096] = 1;
}

static int lc_main(void *arg) {
    (void)arg;
    gort_waitgroup wg = {0};
    gort_wg_go(&wg, lc_touch, (void *)(intptr_t)1);
    lc_touch((void *)(intptr_t)0);
    gort_wg_wait(&wg);
    return 0;
}

TEST(program_fault_handler_gets_its_faults) {
#if defined(GORT_ASAN) || defined(__SANITIZE_ADDRESS__)
    GT_SKIP("AddressSanitizer keeps SIGSEGV to itself (allow_user_segv_handler=0)");
#endif
    lc_region = mmap(NULL, LC_PAGES * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(lc_region != MAP_FAILED);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = lc_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGSEGV, &sa, &lc_before), 0);
    run(lc_main, NULL);
    ASSERT_EQ(sigaction(SIGSEGV, &lc_before, NULL), 0);
    ASSERT_EQ(atomic_load(&lc_handled), LC_PAGES);
    munmap(lc_region, LC_PAGES * 4096);
}

/* The same for a trap: an int3 in a goroutine goes to the SIGTRAP
 * handler the program had (a debugger-like breakpoint scheme). */
static atomic_int tr_handled;

static void tr_handler(int sig, siginfo_t *si, void *uctx) {
    (void)sig, (void)si, (void)uctx;
    atomic_fetch_add(&tr_handled, 1); /* int3 has been passed: returning goes on */
}

static int tr_main(void *arg) {
    (void)arg;
#if defined(__x86_64__)
    __asm__ volatile("int3");
#endif
    return 0;
}

TEST(program_trap_handler_gets_its_traps) {
#if !defined(__x86_64__)
    GT_SKIP("int3 is x86-64's");
#endif
    struct sigaction sa, before;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = tr_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGTRAP, &sa, &before), 0);
    run(tr_main, NULL);
    ASSERT_EQ(sigaction(SIGTRAP, &before, NULL), 0);
    ASSERT_EQ(atomic_load(&tr_handled), 1);
}

/* ------------------------------------------------------------------ misuse, runs */

static gort_chan *refuse_c;

static int refuse_main(void *arg) {
    (void)arg;
    gort_chan *c = refuse_c = gort_chan_make(sizeof(int), 1);
    int bad[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGPIPE, SIGQUIT, SIGURG, SIGPROF, 0, 65, 32};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ(gort_signal_notify(c, &bad[i], 1), -EINVAL);
    gort_chan *wrong = gort_chan_make(sizeof(long), 1);
    int s = SIGUSR1;
    ASSERT_EQ(gort_signal_notify(wrong, &s, 1), -EINVAL);
    /* All signals: SIGHUP among them. */
    ASSERT_EQ(gort_signal_notify(c, NULL, 0), 0);
    ASSERT_EQ(kill(getpid(), SIGHUP), 0);
    ASSERT_EQ(recv_within(c, 10), SIGHUP);
    gort_chan_free(wrong);
    return 0; /* c stays notified: the run's end takes the handlers back */
}

static int rerun_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int s = SIGHUP;
    ASSERT_EQ(gort_signal_notify(c, &s, 1), 0);
    ASSERT_EQ(kill(getpid(), SIGHUP), 0);
    ASSERT_EQ(recv_within(c, 10), SIGHUP);
    gort_signal_stop(c);
    gort_chan_free(c);
    return 0;
}

TEST(refused_signals_and_runs) {
    catcher_setup();
    ignore(SIGHUP);
    int s = SIGUSR1;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    ASSERT_EQ(gort_signal_notify(c, &s, 1), -EAGAIN); /* no runtime */
    gort_chan_free(c);
    run(refuse_main, NULL);
    /* After the run: SIGHUP is ignored again (we would die otherwise). */
    struct sigaction old;
    sigaction(SIGHUP, NULL, &old);
    ASSERT_TRUE(old.sa_handler == SIG_IGN);
    ASSERT_EQ(kill(getpid(), SIGHUP), 0);
    gort_chan_free(refuse_c);
    /* A new run starts its own loop. */
    run(rerun_main, NULL);
}

/* A signal the program blocked before gort_main (a mask inherited across
 * exec, say), which every runtime thread inherits, still reaches the
 * channel that wants it, as in Go (os/signal: "Notify for a blocked
 * signal will cause it to be unblocked"); it stayed pending for ever.
 * After Stop it is blocked again: SIGUSR2's default action would end the
 * process. */
static int blocked_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int s = SIGUSR2;
    ASSERT_EQ(gort_signal_notify(c, &s, 1), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    ASSERT_EQ(recv_within(c, 10), SIGUSR2);
    /* Stopped: blocked again before Stop returns (the default action,
     * back, would end the process: it did when the signal came at once);
     * one sent then waits, pending, and arrives at the next Notify. */
    gort_signal_stop(c);
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    gort_sleep(50 * MS);
    sigset_t pend;
    ASSERT_EQ(sigpending(&pend), 0);
    ASSERT_TRUE(sigismember(&pend, SIGUSR2));
    ASSERT_EQ(gort_signal_notify(c, &s, 1), 0);
    ASSERT_EQ(recv_within(c, 10), SIGUSR2);
    gort_signal_stop(c);
    gort_chan_free(c);
    return 0;
}

TEST(blocked_signal_notified) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    run(blocked_main, NULL);
}

/* The first Notify of a run makes the loop's wake-up pipe: out of
 * descriptors (RLIMIT_NOFILE) it is -EMFILE, as gort.h says, and a Notify
 * once they are free works (the failed one left nothing half made). */
static int nofd_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int s = SIGUSR2;
    static gt_fd_hog hog;
    gt_fds_exhaust(&hog);
    ASSERT_EQ(gort_signal_notify(c, &s, 1), -EMFILE);
    gt_fds_release(&hog);
    ASSERT_EQ(gort_signal_notify(c, &s, 1), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    ASSERT_EQ(recv_within(c, 10), SIGUSR2);
    gort_signal_stop(c);
    gort_chan_free(c);
    return 0;
}

TEST(notify_out_of_fds) {
    run(nofd_main, NULL);
}

/* SIGQUIT lands on a thread inside malloc (holding its arena's lock) in
 * about half the tries here: the dump, which allocates to symbolise, must
 * still be printed and the process exit 2.  (The handler dumped in place
 * and hung forever in such tries: its malloc waited for the lock its own
 * thread held.)  Ten children, each killed at a different moment. */
__attribute__((noinline)) static void qm_churn(void) {
    volatile uintptr_t sink __attribute__((unused)) = 0; /* each goroutine its own */
    void *p[64] = {0};
    for (unsigned long i = 0;; i++) {
        unsigned k = i % 64;
        free(p[k]);
        p[k] = malloc(16 + (i * 2654435761u) % 4000);
        sink += (uintptr_t)p[k];
    }
}

static void qm_worker(void *arg) {
    (void)arg;
    qm_churn();
}

static int qm_ready_fd = -1;

static int qm_main(void *arg) {
    (void)arg;
    go(qm_worker, NULL);
    /* The handlers are in place now: the parent kills only after this
     * byte (before it, a loaded machine once let SIGQUIT's default action
     * end a child still starting, with nothing printed). */
    ssize_t w = write(qm_ready_fd, "r", 1);
    (void)w;
    qm_churn();
    return 0;
}

TEST(sigquit_inside_malloc_dumps_and_exits) {
    for (int i = 0; i < 10; i++) {
        int ready[2];
        ASSERT_EQ(pipe(ready), 0);
        fflush(NULL);
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 2);
            close(ready[0]);
            qm_ready_fd = ready[1];
            gort_main(qm_main, NULL);
            _exit(4);
        }
        close(ready[1]);
        struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
        char c;
        ASSERT_EQ(poll(&pfd, 1, 10000), 1);
        ASSERT_EQ(read(ready[0], &c, 1), 1);
        close(ready[0]);
        struct timespec ts = {0, (20 + 13 * i) * 1000000L};
        nanosleep(&ts, NULL);
        ASSERT_EQ(kill(pid, SIGQUIT), 0);
        int st = 0;
        pid_t r = 0;
        for (int t = 0; t < 1000 && r == 0; t++) {
            r = waitpid(pid, &st, WNOHANG);
            if (r == 0)
                pause_ms(10);
        }
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            GT_FAIL("try %d: the SIGQUIT dump hung (no exit in 10 s)", i);
        }
        ASSERT_TRUE(WIFEXITED(st));
        ASSERT_EQ(WEXITSTATUS(st), 2);
    }
}

/* SIGQUIT's report ends as Go's sighandler ends it: after the goroutines,
 * a blank line and the interrupted thread's registers (dumpregs), each
 * "name" padded, then its value in hex ("0x0" for zero). */
static gort_chan *sq_park;

static void sq_parked(void *arg) {
    (void)arg;
    gort_chan_recv(sq_park, NULL);
}

static int sq_main(void *arg) {
    (void)arg;
    sq_park = gort_chan_make(0, 0);
    go(sq_parked, NULL);
    /* Until it is queued on the channel: a goroutine still on its way
     * there when the report stops the world is preempted at a gort call
     * and shown runnable (under tsan, where the other P may start it late,
     * 100 yields of main were once not enough: one run in 133).  Queued,
     * it parks before the stop completes. */
    while (gort__export_chan_qlen(sq_park, false) < 1)
        gort_yield();
    for (int i = 0; i < 100; i++)
        gort_yield();
    raise(SIGQUIT);
    return 0;
}

static int sq_child(void *arg) {
    (void)arg;
    gort_main(sq_main, NULL);
    return 4;
}

static char sq_out[1 << 16];

TEST(sigquit_dumps_registers) {
    int st = gt_run_child(sq_child, NULL, sq_out, sizeof sq_out);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
#if defined(__x86_64__)
    static const char *const regs[] = {"rax   ", "rbx   ", "rcx   ", "rdx   ", "rdi   ", "rsi   ",
                                       "rbp   ", "rsp   ", "r8    ", "r9    ", "r10   ", "r11   ",
                                       "r12   ", "r13   ", "r14   ", "r15   ", "rip   ", "rflags",
                                       "cs    ", "fs    ", "gs    "};
#elif defined(__aarch64__)
    static const char *const regs[] = {
        "r0     ", "r1     ", "r2     ", "r3     ", "r4     ", "r5     ", "r6     ",
        "r7     ", "r8     ", "r9     ", "r10    ", "r11    ", "r12    ", "r13    ",
        "r14    ", "r15    ", "r16    ", "r17    ", "r18    ", "r19    ", "r20    ",
        "r21    ", "r22    ", "r23    ", "r24    ", "r25    ", "r26    ", "r27    ",
        "r28    ", "r29    ", "lr     ", "sp     ", "pc     ", "fault  "};
#endif
    /* The parked goroutine is the last one: the registers follow it. */
    char first[32];
    snprintf(first, sizeof first, "%s 0x", regs[0]);
    const char *p = strstr(sq_out, " [chan receive]:\n");
    p = p ? strstr(p, "\n\n") : NULL;
    if (p == NULL || strncmp(p + 2, first, strlen(first)) != 0) {
        fprintf(stderr, "%s", sq_out);
        GT_FAIL("no registers after the goroutines and a blank line");
    }
    p += 2;
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "%s 0x", regs[i]);
        if (strncmp(p, want, strlen(want)) != 0) {
            fprintf(stderr, "%s", sq_out);
            GT_FAIL("register line %zu is not \"%s...\"", i, want);
        }
        p = strchr(p, '\n');
        ASSERT_NOT_NULL(p);
        p++;
    }
    ASSERT_STREQ(p, "");
}

/* A SIGQUIT that lands on a thread running no goroutine (here the main
 * goroutine's thread while that goroutine sleeps: idle in the scheduler)
 * shows that thread first, as Go's "goroutine 0 [idle]:" with its frames,
 * then the goroutines (it showed the goroutines alone). */
static pid_t iq_tid;

static void *iq_killer(void *arg) {
    (void)arg;
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    syscall(SYS_tgkill, getpid(), iq_tid, SIGQUIT);
    return NULL;
}

static int iq_main(void *arg) {
    (void)arg;
    gort_lock_os_thread(); /* this thread stays the goroutine's, idle while it sleeps */
    iq_tid = (pid_t)syscall(SYS_gettid);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, iq_killer, NULL), 0);
    gort_sleep(10 * GT_SEC);
    return 0;
}

static int iq_child(void *arg) {
    (void)arg;
    gort_main(iq_main, NULL);
    return 4;
}

TEST(sigquit_on_idle_thread) {
    int st = gt_run_child(iq_child, NULL, sq_out, sizeof sq_out);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    const char *p = strstr(sq_out, "\n\ngoroutine 0 [idle]:\n");
    if (p == NULL || strstr(p, "(...)\n\t") == NULL ||
        strstr(p, "\n\ngoroutine 1 [sleep, locked to thread]:\n") == NULL) {
        fprintf(stderr, "%s", sq_out);
        GT_FAIL("no \"goroutine 0 [idle]:\" with frames before the goroutines");
    }
}

/* Sysmon's thread ("gort sysmon") blocks the dump signals, so that a
 * process-directed SIGQUIT or SIGABRT (kill -QUIT) goes to a thread that
 * runs goroutines: taken by sysmon, the dump's first line said m=-1.
 * Its blocked set, from /proc, while the caller of gort_main has both
 * unblocked. */
static bool sysmon_sigblk(unsigned long long *blk) {
    DIR *d = opendir("/proc/self/task");
    ASSERT_TRUE(d != NULL);
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[320], line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        bool is = fgets(line, sizeof line, f) != NULL && strcmp(line, "gort sysmon\n") == 0;
        fclose(f);
        if (!is)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
        f = fopen(path, "r");
        ASSERT_TRUE(f != NULL);
        while (fgets(line, sizeof line, f) != NULL)
            if (sscanf(line, "SigBlk: %llx", blk) == 1)
                found = true;
        fclose(f);
    }
    closedir(d);
    return found;
}

static int sysmon_mask_main(void *arg) {
    (void)arg;
    unsigned long long blk = 0;
    WAIT_UNTIL(sysmon_sigblk(&blk), 5, "a thread named \"gort sysmon\"");
    if (!(blk >> (SIGQUIT - 1) & 1) || !(blk >> (SIGABRT - 1) & 1))
        GT_FAIL("sysmon's SigBlk %016llx: SIGQUIT or SIGABRT not blocked", blk);
    return 0;
}

TEST(sysmon_blocks_dump_signals) {
    sigset_t dump, old;
    sigemptyset(&dump);
    sigaddset(&dump, SIGQUIT);
    sigaddset(&dump, SIGABRT);
    ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &dump, &old), 0);
    ASSERT_EQ(gort_main(sysmon_mask_main, NULL), 0);
    ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

GT_MAIN()

/* Plain threads notify and stop a channel for SIGUSR1 while gort_main
 * returns: gort__sigqueue_fini freed the registrations and zeroed regmu
 * under a call that had passed the running check (SIGSEGV in
 * gort_signal_stop, "sync: unlock of unlocked mutex", or a thread parked on
 * regmu for ever). */
static atomic_int fsn_stop, fsn_exited;

static void *fsn_thread(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int sigs[1] = {SIGUSR1};
    while (!atomic_load(&fsn_stop)) {
        if (gort_signal_notify(c, sigs, 1) == 0)
            gort_signal_stop(c);
        (void)gort_chan_tryrecv(c, NULL, NULL);
    }
    gort_chan_free(c);
    atomic_fetch_add(&fsn_exited, 1);
    return NULL;
}

static int fsn_main(void *arg) {
    pthread_t *t = arg;
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, fsn_thread, NULL), 0);
    gort_sleep(20 * MS);
    return 7;
}

TEST(foreign_notify_while_main_returns) {
    if (RUNNING_ON_VALGRIND)
        GT_SKIP("valgrind runs one thread at a time, and the plain threads' loops starve "
                "the run (ThreadSanitizer and AddressSanitizer run it)");
    for (int round = 0; round < 20; round++) {
        pthread_t t[2];
        atomic_store(&fsn_stop, 0);
        atomic_store(&fsn_exited, 0);
        ASSERT_EQ(gort_main(fsn_main, t), 7);
        atomic_store(&fsn_stop, 1);
        int64_t dl = now_ns() + tmo(5);
        while (atomic_load(&fsn_exited) < 2) {
            if (now_ns() > dl)
                GT_FAIL("round %d: a plain thread still in gort_signal_notify/stop", round);
            gort_yield();
        }
        for (int i = 0; i < 2; i++)
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
    }
}
