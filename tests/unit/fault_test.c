/*
 * fault_test.c - fault injection (issue 6): the runtime's own mmap,
 * pthread_create, epoll_ctl and malloc made to fail (src/fault.h).  Each
 * case checks that the failure reaches the caller as the documented error
 * (-ENOMEM, -EAGAIN, NULL), then disarms and proves the runtime still
 * works: goroutines, channel round trips, a timer, a socket echo, and
 * gort_main returning 0, with no file descriptor or thread left behind
 * (ASan's leak check covers memory in the asan-ubsan preset).  The fatal
 * paths (where Go throws) are crash tests: tests/crash/fault_*.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"

/* ------------------------------------------------------------------ helpers */

static int count_dir(const char *path) {
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* opendir's own fd (or nothing for tasks: harmless) */
}

static int open_fds(void) {
    return count_dir("/proc/self/fd");
}

static void *nothing(void *arg) {
    return arg;
}

/* The process's threads.  The first pthread_create of a process may start
 * helpers of its own (ThreadSanitizer's background thread): one is made
 * and joined before the first count. */
static int threads(void) {
    static bool warm;
    if (!warm) {
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, nothing, NULL), 0);
        ASSERT_EQ(pthread_join(t, NULL), 0);
        warm = true;
    }
    /* A thread just joined may still be listed for a moment (the kernel
     * clears its tid, which pthread_join waits for, before the task goes
     * from /proc): count until two counts 2 ms apart agree. */
    int n = count_dir("/proc/self/task") + 1;
    for (int i = 0; i < 500; i++) {
        usleep(2000);
        int m = count_dir("/proc/self/task") + 1;
        if (m == n)
            break;
        n = m;
    }
    return n;
}

/* No thread left behind: the count comes back down to at most ths (threads
 * of the run that ended may take a moment to leave /proc). */
static void threads_back_to(int ths) {
    int64_t dl = gt_now_ns() + (int64_t)5 * GT_SEC * gt_scale();
    while (threads() > ths && gt_now_ns() < dl)
        usleep(1000);
    ASSERT_LE(threads(), ths);
}

typedef struct {
    gort_chan *in, *out;
} pingpong;

/* The echo goroutines of healthy() that are done with their channel or
 * socket: healthy() waits for both before it frees the channels and
 * returns.  It slept 5 ms for the socket's server to see EOF and close
 * its side, and under ThreadSanitizer beside the suite the server had not
 * by then: gort_main returned with it, and its fd, left behind
 * (fault.main_start_malloc: "open_fds() = 7, fds = 6"). */
static gort_waitgroup echoes_done;

static void echo_chan(void *arg) {
    pingpong *pp = arg;
    int v;
    while (gort_chan_recv(pp->in, &v)) {
        v++;
        gort_chan_send(pp->out, &v);
    }
    gort_wg_done(&echoes_done);
}

static void wg_worker(void *arg) {
    gort_waitgroup *wg = arg;
    for (int i = 0; i < 10; i++)
        gort_yield();
    gort_wg_done(wg);
}

static void echo_server(void *arg) {
    int lfd = (int)(intptr_t)arg;
    int fd = gort_accept(lfd, NULL, NULL);
    ASSERT_GE(fd, 0);
    char buf[64];
    ssize_t n;
    while ((n = gort_read(fd, buf, sizeof buf)) > 0)
        ASSERT_EQ(gort_write(fd, buf, (size_t)n), n);
    ASSERT_EQ(gort_close(fd), 0);
    gort_wg_done(&echoes_done);
}

/* Everything the runtime offers, in one go: must be called in a goroutine
 * with every fault disarmed. */
static void healthy(void) {
    ASSERT_FALSE(atomic_load(&gort__fault_armed));
    /* Goroutines. */
    gort_waitgroup wg = {0};
    gort_wg_add(&wg, 100);
    for (int i = 0; i < 100; i++)
        go(wg_worker, &wg);
    gort_wg_wait(&wg);
    /* Channel round trips. */
    pingpong pp = {gort_chan_make(sizeof(int), 0), gort_chan_make(sizeof(int), 0)};
    ASSERT_NOT_NULL(pp.in);
    ASSERT_NOT_NULL(pp.out);
    gort_wg_add(&echoes_done, 2); /* echo_chan and echo_server */
    go(echo_chan, &pp);
    for (int i = 0; i < 100; i++) {
        int v = i;
        gort_chan_send(pp.in, &v);
        ASSERT_TRUE(gort_chan_recv(pp.out, &v));
        ASSERT_EQ(v, i + 1);
    }
    gort_chan_close(pp.in);
    /* A timer. */
    gort_timer *t = gort_timer_new(1 * GT_MS);
    ASSERT_NOT_NULL(t);
    int64_t when;
    ASSERT_TRUE(gort_chan_recv(gort_timer_chan(t), &when));
    gort_timer_free(t);
    gort_sleep(1 * GT_MS);
    /* A socket echo. */
    int lfd = gort_listen("127.0.0.1:0", 0);
    ASSERT_GE(lfd, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", gort_local_port(lfd));
    go(echo_server, (void *)(intptr_t)lfd);
    int cfd = gort_dial(addr, 0);
    ASSERT_GE(cfd, 0);
    for (int i = 0; i < 10; i++) {
        char msg[32], got[32];
        int n = snprintf(msg, sizeof msg, "ping %d", i);
        ASSERT_EQ(gort_write(cfd, msg, (size_t)n), n);
        ASSERT_EQ(gt_read_full(cfd, got, (size_t)n), 0);
        ASSERT_EQ(memcmp(msg, got, (size_t)n), 0);
    }
    ASSERT_EQ(gort_close(cfd), 0);
    ASSERT_EQ(gort_close(lfd), 0);
    /* The server has seen EOF and closed its side, and echo_chan has
     * left its channels. */
    gort_wg_wait(&echoes_done);
    gort_chan_free(pp.out);
    gort_chan_free(pp.in);
}

static int healthy_main(void *arg) {
    (void)arg;
    gort__fault_disarm();
    healthy();
    return 0;
}

/* What a process keeps for good once made (the collected heap's arena is
 * registered with a userfaultfd and its /proc/self/pagemap kept open, as
 * Go keeps its heap) comes from the first gort_main: the counts of fds
 * left behind start after one healthy run.  Outside gort_main. */
static void warm_up(void) {
    static bool warm;
    if (!warm) {
        warm = true;
        run(healthy_main, NULL);
    }
}

/* gort_main(healthy_main) returns 0, and leaves no fd or thread behind. */
static void healthy_run(void) {
    warm_up();
    int fds = open_fds(), ths = threads();
    run(healthy_main, NULL);
    ASSERT_EQ(open_fds(), fds);
    threads_back_to(ths);
}

/* ------------------------------------------------------------------ gort_main */

/* Fails the nth call of site while gort_main starts, for n = 1, 2, ...
 * until the nth call is no longer part of the start: each time gort_main
 * must return 0 (a failure it can work around) or errs, and leave no fd or
 * thread behind; a healthy run must follow. */
static void startup_sweep(int site, int errs) {
    int last = 0;
    warm_up();
    for (int n = 1; n < 1000; n++) {
        int fds = open_fds(), ths = threads();
        uint64_t fired = gort__fault_fired(site);
        gort__fault_arm(site, n, false);
        int r = gort_main(healthy_main, NULL);
        gort__fault_disarm();
        if (gort__fault_fired(site) == fired) {
            ASSERT_EQ(r, 0);
            last = n;
            break;
        }
        if (r != 0 && r != -errs)
            GT_FAIL("site %d, call %d: gort_main returned %d, want 0 or %d", site, n, r, -errs);
        ASSERT_EQ(open_fds(), fds);
        threads_back_to(ths);
        healthy_run();
    }
    ASSERT_GT(last, 1); /* at least one call was made to fail */
    fprintf(stderr, "site %d: the first %d calls of gort_main's start failed in turn\n", site,
            last - 1);
}

TEST(main_start_mmap) {
    startup_sweep(GORT__FAULT_MMAP, ENOMEM);
}

TEST(main_start_malloc) {
    startup_sweep(GORT__FAULT_MALLOC, ENOMEM);
}

TEST(main_start_epoll_ctl) {
    uint64_t fired = gort__fault_fired(GORT__FAULT_EPOLL_CTL);
    gort__fault_arm(GORT__FAULT_EPOLL_CTL, 1, false);
    ASSERT_EQ(gort_main(healthy_main, NULL), -ENOMEM);
    ASSERT_EQ(gort__fault_fired(GORT__FAULT_EPOLL_CTL), fired + 1);
    gort__fault_disarm();
    healthy_run();
}

TEST(main_start_pthread_create) {
    /* The first thread gort_main makes is sysmon: without it gort_main
     * fails with -EAGAIN rather than run without preemption or hand-off. */
    warm_up();
    int fds = open_fds(), ths = threads();
    gort__fault_arm(GORT__FAULT_PTHREAD_CREATE, 1, false);
    ASSERT_EQ(gort_main(healthy_main, NULL), -EAGAIN);
    ASSERT_EQ(gort__fault_fired(GORT__FAULT_PTHREAD_CREATE), 1u);
    ASSERT_EQ(open_fds(), fds);
    threads_back_to(ths);
    gort__fault_disarm();
    healthy_run();
}

/* ------------------------------------------------------------------ malloc */

static int malloc_user_calls(void *arg) {
    (void)arg;
    uint64_t fired = gort__fault_fired(GORT__FAULT_MALLOC);
    gort__fault_arm(GORT__FAULT_MALLOC, 1, false);
    ASSERT_NULL(gort_chan_make(sizeof(int), 4));
    gort__fault_arm(GORT__FAULT_MALLOC, 1, false); /* the gort_timer */
    ASSERT_NULL(gort_timer_new(GT_SEC));
    gort__fault_arm(GORT__FAULT_MALLOC, 2, false); /* its channel */
    ASSERT_NULL(gort_timer_new(GT_SEC));
    gort__fault_arm(GORT__FAULT_MALLOC, 1, false);
    ASSERT_NULL(gort_ticker_new(GT_SEC));
    gort__fault_arm(GORT__FAULT_MALLOC, 2, false);
    ASSERT_NULL(gort_ticker_new(GT_SEC));
    gort__fault_arm(GORT__FAULT_MALLOC, 1, false);
    ASSERT_NULL(gort_after_func(GT_SEC, (void (*)(void *))gort_yield, NULL));
    ASSERT_EQ(gort__fault_fired(GORT__FAULT_MALLOC), fired + 6);
    gort__fault_disarm();
    healthy();
    return 0;
}

TEST(malloc_chan_timer_ticker) {
    healthy_run();
    run(malloc_user_calls, NULL);
    healthy_run();
}

static _Atomic int release_spinners;
static _Atomic int spinners_done;

/* Stays alive until released, allocating nothing (no sudog, no timer). */
static void spinner(void *arg) {
    (void)arg;
    while (!atomic_load(&release_spinners))
        gort_yield();
    atomic_fetch_add(&spinners_done, 1);
}

/* Starts goroutines that stay alive until gort_go fails; returns how many
 * started, checking the error. */
static int go_until_failure(const gort_go_attr *attr, int limit) {
    for (int i = 0; i < limit; i++) {
        int r = attr ? gort_go_attr_spawn(spinner, NULL, attr) : gort_go(spinner, NULL);
        if (r != 0) {
            ASSERT_EQ(r, -ENOMEM);
            return i;
        }
    }
    GT_FAIL("gort_go never failed in %d calls", limit);
}

static void release_and_wait(int n) {
    atomic_store(&release_spinners, 1);
    WAIT_UNTIL(atomic_load(&spinners_done) == n, 10, "the spinners to finish");
    atomic_store(&release_spinners, 0);
    atomic_store(&spinners_done, 0);
}

static int go_fails(void *arg) {
    int site = (int)(intptr_t)arg;
    /* One P: no new M while a fault is armed.  A second P's M could be
     * made meanwhile, and its signal stack's mmap take the failure meant
     * for gort_go: a fatal error, as in Go (CI saw it once). */
    int procs = gort_gomaxprocs(1);
    /* Default stacks: a new slab (mmap, then its record: malloc) or a
     * bigger allgs (realloc) is needed within 2048 goroutines. */
    gort__fault_arm(site, 1, true);
    int n = go_until_failure(NULL, 2048);
    gort__fault_disarm();
    ASSERT_GE(gort__fault_fired(site), 1u);
    release_and_wait(n);
    /* A stack of its own: its mmap, or its g (calloc: none to reuse yet). */
    gort_go_attr attr = {.stack_size = 128 * 1024, .name = "own"};
    gort__fault_arm(site, 1, false);
    ASSERT_EQ(go_until_failure(&attr, 1), 0);
    gort__fault_disarm();
    /* And it works again, with both kinds. */
    n = 0;
    for (; n < 300; n++)
        go(spinner, NULL);
    for (int i = 0; i < 10; i++, n++)
        ASSERT_EQ(gort_go_attr_spawn(spinner, NULL, &attr), 0);
    release_and_wait(n);
    gort_gomaxprocs(procs);
    healthy();
    return 0;
}

TEST(malloc_go) {
    ASSERT_EQ(gort_main(go_fails, (void *)(intptr_t)GORT__FAULT_MALLOC), 0);
    healthy_run();
}

/* ------------------------------------------------------------------ mmap */

TEST(mmap_go) {
    ASSERT_EQ(gort_main(go_fails, (void *)(intptr_t)GORT__FAULT_MMAP), 0);
    healthy_run();
}

/* ------------------------------------------------------------------ pthread_create */

static _Atomic long work_sum;

static void busy(void *arg) {
    gort_waitgroup *wg = arg;
    long s = 0;
    for (int i = 0; i < 200; i++) {
        for (int k = 0; k < 10000; k++)
            s += k;
        gort_yield();
    }
    atomic_fetch_add(&work_sum, s > 0);
    gort_wg_done(wg);
}

/* Runs 64 busy goroutines to their end: more runnable work than the Ms
 * there are, so the scheduler asks for new ones. */
static void run_busy64(void) {
    gort_waitgroup wg = {0};
    gort_wg_add(&wg, 64);
    for (int i = 0; i < 64; i++)
        go(busy, &wg);
    gort_wg_wait(&wg);
}

static int pthread_fails(void *arg) {
    (void)arg;
    /* No new M can start: the work runs on the Ms there are (m0). */
    gort__fault_arm(GORT__FAULT_PTHREAD_CREATE, 1, true);
    run_busy64();
    ASSERT_EQ(atomic_load(&work_sum), 64);
    ASSERT_GE(gort__fault_fired(GORT__FAULT_PTHREAD_CREATE), 1u);
    /* Timers and the netpoller still fire without extra threads. */
    gort_sleep(2 * GT_MS);
    gort__fault_disarm();
    /* Ms can be made again. */
    atomic_store(&work_sum, 0);
    run_busy64();
    ASSERT_EQ(atomic_load(&work_sum), 64);
    healthy();
    return 0;
}

TEST(pthread_create_newm) {
    gort_gomaxprocs(4);
    run(pthread_fails, NULL);
    gort_gomaxprocs(4);
    healthy_run();
}

/* A goroutine blocked, without gort_syscall_enter, in a call the
 * preemption signal would only restart (a read of a pipe) while no thread
 * can be made (RLIMIT_NPROC): its P cannot be handed over, and with every
 * thread in such calls the program stood still without a word.  After a
 * second it is reported, with the reason, as a call the signal would make
 * fail is. */
static int block_pipe[2];

static void *late_writer(void *arg) {
    (void)arg;
    usleep(1500 * 1000); /* libc's pthread_create: no fault, no M */
    ssize_t w = write(block_pipe[1], "x", 1);
    (void)w;
    return NULL;
}

static int blocked_without_threads_main(void *arg) {
    (void)arg;
    gort__fault_arm(GORT__FAULT_PTHREAD_CREATE, 1, true);
    run_busy64();
    ASSERT_GE(gort__fault_fired(GORT__FAULT_PTHREAD_CREATE), 1u); /* a new M failed */
    ASSERT_EQ(pipe(block_pipe), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, late_writer, NULL), 0);
    char c;
    ASSERT_EQ(read(block_pipe[0], &c, 1), 1); /* ~1.5 s, holding P 0 */
    pthread_join(t, NULL);
    gort__fault_disarm();
    return 0;
}

static int blocked_without_threads_child(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    return gort_main(blocked_without_threads_main, NULL);
}

TEST(blocked_call_reported_without_threads) {
#ifdef GORT_TSAN
    GT_SKIP("no preemption under ThreadSanitizer (preempt.c)");
#endif
    char out[8192];
    int ws = gt_run_child(blocked_without_threads_child, NULL, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    if (strstr(out, "has held P 0 for 1.") == NULL ||
        strstr(out, "in a blocking call without gort_syscall_enter") == NULL ||
        strstr(out, "no thread can take P 0 over") == NULL)
        GT_FAIL("no report of the blocked call; stderr:\n%s", out);
}

/* ------------------------------------------------------------------ epoll_ctl */

static int epoll_fails(void *arg) {
    (void)arg;
    int fds = open_fds();
    /* gort_listen: the socket is closed again. */
    gort__fault_arm(GORT__FAULT_EPOLL_CTL, 1, false);
    ASSERT_EQ(gort_listen("127.0.0.1:0", 0), -ENOMEM);
    ASSERT_EQ(open_fds(), fds);
    int lfd = gort_listen("127.0.0.1:0", 0);
    ASSERT_GE(lfd, 0);
    int port = gort_local_port(lfd);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    /* gort_dial: registered before connecting, so nothing reaches lfd. */
    gort__fault_arm(GORT__FAULT_EPOLL_CTL, 1, false);
    ASSERT_EQ(gort_dial(addr, 0), -ENOMEM);
    ASSERT_EQ(open_fds(), fds + 1);
    /* gort_accept: the accepted connection is closed; its peer sees EOF. */
    int raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(raw, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(raw, (struct sockaddr *)&sin, sizeof sin), 0);
    gort__fault_arm(GORT__FAULT_EPOLL_CTL, 1, false);
    ASSERT_EQ(gort_accept(lfd, NULL, NULL), -ENOMEM);
    ASSERT_EQ(open_fds(), fds + 2);
    char c;
    ASSERT_EQ(read(raw, &c, 1), 0);
    close(raw);
    /* An fd gort did not make, registered lazily by gort_read. */
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    gort__fault_arm(GORT__FAULT_EPOLL_CTL, 1, false);
    ASSERT_EQ(gort_read(p[0], &c, 1), -ENOMEM);
    gort__fault_disarm();
    ASSERT_EQ(write(p[1], "x", 1), 1);
    ASSERT_EQ(gort_read(p[0], &c, 1), 1);
    ASSERT_EQ(c, 'x');
    ASSERT_EQ(gort_close(p[0]), 0);
    close(p[1]);
    ASSERT_EQ(gort_close(lfd), 0);
    ASSERT_EQ(open_fds(), fds);
    healthy();
    return 0;
}

TEST(epoll_ctl_fd_calls) {
    run(epoll_fails, NULL);
    healthy_run();
}

/* gort_process_wait whose pidfd the poller cannot take (epoll_ctl fails:
 * out of memory, fs.epoll.max_user_watches): it polls the child as
 * without a pidfd, instead of -ENOMEM with the child left to reap.  The
 * child exits only once the wait has met the failure (its stdin closed
 * then): one that had exited already was reaped without the poller. */
static uint64_t pw_fired;
static int pw_stdin;

static void pw_release(void *arg) {
    (void)arg;
    WAIT_UNTIL(gort__fault_fired(GORT__FAULT_EPOLL_CTL) == pw_fired + 1, 10,
               "gort_process_wait to meet the failed epoll_ctl");
    close(pw_stdin);
}

static int process_wait_main(void *arg) {
    (void)arg;
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0); /* the child holds no write end */
    char *argv[] = {"sh", "-c", "read x; exit 3", NULL};
    int fds[3] = {p[0], -1, -1};
    pid_t pid;
    ASSERT_EQ(gort_process_spawn(&pid, "/bin/sh", argv, NULL, fds), 0);
    close(p[0]);
    pw_stdin = p[1];
    pw_fired = gort__fault_fired(GORT__FAULT_EPOLL_CTL);
    gort__fault_arm(GORT__FAULT_EPOLL_CTL, 1, false);
    go(pw_release, NULL);
    int st = 0;
    ASSERT_EQ(gort_process_wait(pid, &st), 0);
    gort__fault_disarm();
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 3);
    ASSERT_EQ(gort__fault_fired(GORT__FAULT_EPOLL_CTL), pw_fired + 1);
    return 0;
}

TEST(epoll_ctl_process_wait) {
    run(process_wait_main, NULL);
}

/* The pollDesc table grows by chunks of 1024 fds (calloc). */
static int pdtab_fails(void *arg) {
    (void)arg;
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    int hi = dup2(p[0], 3000);
    ASSERT_EQ(hi, 3000); /* the case raised RLIMIT_NOFILE */
    gort__fault_arm(GORT__FAULT_MALLOC, 1, false);
    char c;
    ASSERT_EQ(gort_read(hi, &c, 1), -ENOMEM);
    gort__fault_disarm();
    ASSERT_EQ(write(p[1], "y", 1), 1);
    ASSERT_EQ(gort_read(hi, &c, 1), 1);
    ASSERT_EQ(c, 'y');
    ASSERT_EQ(gort_close(hi), 0);
    close(p[0]);
    close(p[1]);
    healthy();
    return 0;
}

TEST(malloc_polldesc_table) {
    struct rlimit rl;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 4096) {
        if (rl.rlim_max < 4096)
            GT_SKIP("RLIMIT_NOFILE below 4096");
        rl.rlim_cur = 4096;
        ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    run(pdtab_fails, NULL);
    healthy_run();
}

/* ------------------------------------------------------------------ the hook itself */

TEST(hook_counts) {
    /* Off: nothing fails, nothing counts. */
    ASSERT_FALSE(gort__fault(GORT__FAULT_MALLOC));
    uint64_t f = gort__fault_fired(GORT__FAULT_MALLOC);
    gort__fault_arm(GORT__FAULT_MALLOC, 3, false);
    ASSERT_FALSE(gort__fault(GORT__FAULT_MALLOC));
    ASSERT_FALSE(gort__fault(GORT__FAULT_MMAP)); /* other sites don't count */
    ASSERT_FALSE(gort__fault(GORT__FAULT_MALLOC));
    ASSERT_TRUE(gort__fault(GORT__FAULT_MALLOC));
    ASSERT_FALSE(gort__fault(GORT__FAULT_MALLOC));
    ASSERT_EQ(gort__fault_fired(GORT__FAULT_MALLOC), f + 1);
    gort__fault_arm(GORT__FAULT_MALLOC, 2, true);
    ASSERT_FALSE(gort__fault(GORT__FAULT_MALLOC));
    for (int i = 0; i < 5; i++)
        ASSERT_TRUE(gort__fault(GORT__FAULT_MALLOC));
    gort__fault_disarm();
    ASSERT_FALSE(gort__fault(GORT__FAULT_MALLOC));
    ASSERT_EQ(gort__fault_fired(GORT__FAULT_MALLOC), f + 6);
    /* The environment variable, read by gort_main. */
    setenv("GORT_FAULT", "epoll_ctl:1", 1);
    ASSERT_EQ(gort_main(healthy_main, NULL), -ENOMEM);
    setenv("GORT_FAULT", "bogus:1,malloc:x", 1); /* ignored, with a message */
    healthy_run();
    unsetenv("GORT_FAULT");
}

GT_MAIN()
