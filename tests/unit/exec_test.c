/*
 * exec_test.c - child processes (issue 15): exit statuses and signals
 * through gort_process_wait; 40 goroutines waiting for 40 children at once
 * hold no thread each (the runtime's thread count stays small, a ticker
 * keeps ticking); a child's stdout through a pipe and the buffered reader;
 * -ECHILD and -ENOENT; the fallback without pidfd_open; the child's empty
 * signal mask, and SIGPIPE and SIGXFSZ at their defaults in the child.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS GT_MS

static pid_t sh(const char *script) {
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    pid_t pid = -1;
    ASSERT_EQ(gort_process_spawn(&pid, "sh", argv, NULL, NULL), 0);
    ASSERT_GT(pid, 0);
    return pid;
}

/* sleep 30 itself, no shell: a SIGKILL ends it (a shell's child could
 * outlive its shell and hold the test's output open for 30 s). */
static pid_t sleeper(void) {
    char *argv[] = {"sleep", "30", NULL};
    pid_t pid = -1;
    ASSERT_EQ(gort_process_spawn(&pid, "sleep", argv, NULL, NULL), 0);
    ASSERT_GT(pid, 0);
    return pid;
}

static int status_main(void *arg) {
    (void)arg;
    int st = -1;
    ASSERT_EQ(gort_process_wait(sh("exit 7"), &st), 0);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 7);
    pid_t p = sleeper();
    ASSERT_EQ(kill(p, SIGKILL), 0);
    ASSERT_EQ(gort_process_wait(p, &st), 0);
    ASSERT_TRUE(WIFSIGNALED(st));
    ASSERT_EQ(WTERMSIG(st), SIGKILL);
    /* Reaped: a second wait, or a process that is not our child. */
    ASSERT_EQ(gort_process_wait(p, &st), -ECHILD);
    ASSERT_EQ(gort_process_wait(getppid(), &st), -ECHILD);
    ASSERT_EQ(gort_process_wait(0, NULL), -ECHILD);
    ASSERT_EQ(gort_process_wait(sh("true"), NULL), 0);
    char *argv[] = {"no-such-program-gort", NULL};
    pid_t q;
    ASSERT_EQ(gort_process_spawn(&q, "no-such-program-gort", argv, NULL, NULL), -ENOENT);
    ASSERT_EQ(gort_process_spawn(&q, "/no/such/program", argv, NULL, NULL), -ENOENT);
    return 0;
}

TEST(exit_status_and_signals) {
    run(status_main, NULL);
}


/* A goroutine abandoned inside gort_process_wait (gort_main returned)
 * leaves no fd behind: its pidfd is closed at shutdown (one leaked per
 * such goroutine and gort_main run). */
static pid_t ab_pid;

static void ab_waiter(void *arg) {
    (void)arg;
    (void)gort_process_wait(ab_pid, NULL);
}

static int abandon_wait_main(void *arg) {
    (void)arg;
    ab_pid = sleeper();
    go(ab_waiter, NULL);
    gort_sleep(30 * MS); /* it waits on the pidfd */
    return 0;
}

static int open_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

TEST(abandoned_wait_closes_its_pidfd) {
    run(abandon_wait_main, NULL); /* the first run's own fds (the poller's, ...) settle */
    kill(ab_pid, SIGKILL);
    waitpid(ab_pid, NULL, 0);
    int before = open_fds();
    for (int i = 0; i < 3; i++) {
        run(abandon_wait_main, NULL);
        kill(ab_pid, SIGKILL);
        waitpid(ab_pid, NULL, 0);
    }
    ASSERT_EQ(open_fds(), before);
}

TEST(fallback_without_pidfd) {
    gort__export_pidfd_off(true);
    run(status_main, NULL);
}

/* ------------------------------------------------------------------ no thread each */

enum { NCHILD = 40 };

static _Atomic int waited;
static gort_waitgroup wg;

static void waiter(void *arg) {
    pid_t pid = (pid_t)(intptr_t)arg;
    int st = -1;
    ASSERT_EQ(gort_process_wait(pid, &st), 0);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 3);
    atomic_fetch_add(&waited, 1);
    gort_wg_done(&wg);
}

static int many_main(void *arg) {
    (void)arg;
    /* The children wait for a line on their stdin: they exit when we
     * close the pipe, after we have looked at the threads. */
    gort_conn r, w;
    ASSERT_EQ(gort_conn_pipe(&r, &w), 0);
    int fds[3] = {gort_conn_fd(r), -1, -1};
    char *argv[] = {"sh", "-c", "read x; exit 3", NULL};
    gort_wg_add(&wg, NCHILD);
    for (int i = 0; i < NCHILD; i++) {
        pid_t pid;
        ASSERT_EQ(gort_process_spawn(&pid, "sh", argv, NULL, fds), 0);
        go(waiter, (void *)(intptr_t)pid);
    }
    ASSERT_EQ(gort_conn_close(r), 0);
    gort_ticker *t = gort_ticker_new(2 * MS);
    for (int i = 0; i < 20; i++) /* the waiters park; ticks go on */
        ASSERT_TRUE(gort_chan_recv(gort_ticker_chan(t), NULL));
    gort_ticker_free(t);
    gort_stats s;
    gort_read_stats(&s);
    /* One thread per waiter would be NCHILD more. */
    ASSERT_LT(s.threads, (uint64_t)gort_gomaxprocs(0) + 8);
    ASSERT_EQ(atomic_load(&waited), 0);
    ASSERT_EQ(gort_conn_close(w), 0); /* EOF on their stdin: they exit */
    gort_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&waited), NCHILD);
    return 0;
}

TEST(waiters_hold_no_thread) {
    run(many_main, NULL);
}

/* ------------------------------------------------------------------ pipes */

static int pipe_main(void *arg) {
    (void)arg;
    gort_conn r, w;
    ASSERT_EQ(gort_conn_pipe(&r, &w), 0);
    int fds[3] = {-1, gort_conn_fd(w), -1};
    char *argv[] = {"sh", "-c", "echo hello; echo from the child", NULL};
    pid_t pid;
    ASSERT_EQ(gort_process_spawn(&pid, "/bin/sh", argv, NULL, fds), 0);
    ASSERT_EQ(gort_conn_close(w), 0); /* the child's end lives in the child */
    gort_bufreader *br = gort_bufreader_new_conn(r, 0, 0);
    char *line;
    ASSERT_EQ(gort_bufreader_scan_line(br, &line, NULL), 1);
    ASSERT_STREQ(line, "hello");
    ASSERT_EQ(gort_bufreader_scan_line(br, &line, NULL), 1);
    ASSERT_STREQ(line, "from the child");
    ASSERT_EQ(gort_bufreader_scan_line(br, &line, NULL), 0);
    gort_bufreader_free(br);
    int st;
    ASSERT_EQ(gort_process_wait(pid, &st), 0);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ASSERT_EQ(gort_conn_close(r), 0);
    return 0;
}

TEST(child_stdout_through_a_pipe) {
    run(pipe_main, NULL);
}

/* The child's line of /proc/self/status for field ("SigBlk"), copied to
 * buf (len bytes), read from its stdout through a pipe. */
static void child_status(const char *field, char *buf, size_t len) {
    gort_conn r, w;
    ASSERT_EQ(gort_conn_pipe(&r, &w), 0);
    int fds[3] = {-1, gort_conn_fd(w), -1};
    char *argv[] = {"grep", (char *)field, "/proc/self/status", NULL};
    pid_t pid;
    ASSERT_EQ(gort_process_spawn(&pid, "grep", argv, NULL, fds), 0);
    ASSERT_EQ(gort_conn_close(w), 0);
    gort_bufreader *br = gort_bufreader_new_conn(r, 0, 0);
    char *line;
    ASSERT_EQ(gort_bufreader_scan_line(br, &line, NULL), 1);
    snprintf(buf, len, "%s", line);
    gort_bufreader_free(br);
    ASSERT_EQ(gort_process_wait(pid, NULL), 0);
    ASSERT_EQ(gort_conn_close(r), 0);
}

/* The child starts with no signal blocked, whatever our threads block. */
static int mask_main(void *arg) {
    (void)arg;
    char line[128];
    child_status("SigBlk", line, sizeof line);
    ASSERT_STREQ(line, "SigBlk:\t0000000000000000");
    return 0;
}

TEST(child_signal_mask_empty) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &s, NULL); /* the runtime's threads inherit it */
    run(mask_main, NULL);
}

/* The bits of SIGPIPE and SIGXFSZ in a child's SigIgn line. */
static unsigned long long child_sigign(void) {
    char line[128];
    child_status("SigIgn", line, sizeof line);
    ASSERT_EQ(strncmp(line, "SigIgn:\t", 8), 0);
    unsigned long long ign = strtoull(line + 8, NULL, 16);
    return ign & ((1ULL << (SIGPIPE - 1)) | (1ULL << (SIGXFSZ - 1)));
}

static int sigign_default_main(void *arg) {
    (void)arg;
    ASSERT_EQ(child_sigign(), 0);
    return 0;
}

static int sigign_kept_main(void *arg) {
    (void)arg;
    ASSERT_EQ(child_sigign(), 1ULL << (SIGPIPE - 1));
    return 0;
}

/* The runtime drops SIGPIPE and SIGXFSZ while it runs (writes report
 * -EPIPE and -EFBIG); a child gets their default actions back, as a Go
 * program's child does (Go catches them).  A signal the program itself
 * ignored before gort_main stays ignored in the child, posix_spawn's rule. */
TEST(child_pipe_and_xfsz_default) {
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    run(sigign_default_main, NULL);
    signal(SIGPIPE, SIG_IGN);
    run(sigign_kept_main, NULL);
    signal(SIGPIPE, SIG_DFL);
}

/* A child started otherwise than by gort_process_spawn (popen, system, a
 * fork and exec of the program's own) gets SIGPIPE's and SIGXFSZ's
 * default actions too: the runtime catches them rather than ignoring
 * them, and an exec resets a caught signal ('yes | head -1' printed
 * "Broken pipe" in a shell that popen started). */
static int popen_sigign_main(void *arg) {
    (void)arg;
    char line[128] = "";
    gort_syscall_enter();
    FILE *f = popen("grep SigIgn /proc/self/status", "r");
    ASSERT_TRUE(f != NULL);
    char *got = fgets(line, sizeof line, f);
    int st = pclose(f);
    gort_syscall_exit();
    ASSERT_TRUE(got != NULL);
    ASSERT_EQ(st, 0);
    ASSERT_EQ(strncmp(line, "SigIgn:\t", 8), 0);
    unsigned long long ign = strtoull(line + 8, NULL, 16);
    ASSERT_EQ(ign & ((1ULL << (SIGPIPE - 1)) | (1ULL << (SIGXFSZ - 1))), 0);
    return 0;
}

TEST(popen_child_pipe_and_xfsz_default) {
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    run(popen_sigign_main, NULL);
}

/* A source below its target: fds = {-1, pipe, 1} sends the child's
 * stderr to our stdout.  The dup2 to the child's stdout ran first and
 * replaced the 1 that its stderr was then copied from: both streams went
 * into the pipe. */
static int fd_order_main(void *arg) {
    (void)arg;
    gort_conn r, w;
    ASSERT_EQ(gort_conn_pipe(&r, &w), 0);
    int fds[3] = {-1, gort_conn_fd(w), 1};
    char *argv[] = {"sh", "-c", "echo out; echo err-to-the-tests-stdout >&2", NULL};
    pid_t pid;
    ASSERT_EQ(gort_process_spawn(&pid, "sh", argv, NULL, fds), 0);
    ASSERT_EQ(gort_conn_close(w), 0);
    char buf[256];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = gort_conn_read(r, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    ASSERT_STREQ(buf, "out\n");
    ASSERT_EQ(gort_process_wait(pid, NULL), 0);
    ASSERT_EQ(gort_conn_close(r), 0);
    return 0;
}

TEST(child_fds_source_below_target) {
    run(fd_order_main, NULL);
}

GT_MAIN()
