/*
 * exec.c - child processes: starting one (os/exec's Cmd.Start, by
 * posix_spawn) and waiting for one without blocking a thread (os's
 * Process.Wait, which Go 1.23 does through a pidfd: pidfd_linux.go).
 *
 * A pidfd becomes readable when its process exits, so the wait is
 * gort_wait_fd on it - the goroutine parks in the netpoller like any
 * reader - then a waitpid(WNOHANG) that finds the zombie at once.  The
 * rejected alternative, waitpid inside gort_syscall_enter/exit, costs a
 * thread per waiting goroutine.  Kernels before 5.3 have no pidfd_open:
 * then the goroutine polls waitpid(WNOHANG), sleeping with a backoff.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

_Atomic bool gort__pidfd_off;

GORT_API int gort_process_spawn(pid_t *pid, const char *path, char *const argv[],
                                char *const envp[], const int fds[3]) {
    if (pid == NULL || path == NULL || argv == NULL)
        return -EINVAL;
    posix_spawn_file_actions_t fa;
    int err = posix_spawn_file_actions_init(&fa);
    if (err)
        return -err;
    /* The child starts with no signal blocked (as Go's forkExec restores
     * the mask), whatever the calling thread blocks; the exec gives it the
     * default action for every signal this process catches (SIGPIPE and
     * SIGXFSZ among them while the runtime runs).  One the program ignored
     * before gort_main stays ignored in the child. */
    posix_spawnattr_t at;
    err = posix_spawnattr_init(&at);
    if (err) {
        posix_spawn_file_actions_destroy(&fa);
        return -err;
    }
    sigset_t none;
    sigemptyset(&none);
    (void)posix_spawnattr_setsigmask(&at, &none);
    (void)posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    /* The child's dup2s run in order, so a source below its target (fds =
     * {-1, 2, 1}: stdout and stderr swapped) would be read after an
     * earlier dup2 replaced it: such a source is first copied above the
     * three (close-on-exec, closed here after the spawn), as Go's
     * forkAndExecInChild moves fd[i] < i up before its dups. */
    int src[3] = {-1, -1, -1}, moved[3] = {-1, -1, -1};
    for (int i = 0; fds && i < 3 && err == 0; i++) {
        src[i] = fds[i];
        if (fds[i] >= 0 && fds[i] < i) {
            moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            if (moved[i] < 0)
                err = errno;
            src[i] = moved[i];
        }
    }
    for (int i = 0; fds && i < 3 && err == 0; i++) {
        if (src[i] < 0)
            continue;
        int fl = fcntl(src[i], F_GETFL);
        if (fl < 0) {
            err = errno;
            break;
        }
        if ((fl & O_NONBLOCK) && fcntl(src[i], F_SETFL, fl & ~O_NONBLOCK) != 0) {
            err = errno;
            break;
        }
        /* fds[i] == i: glibc's adddup2 clears close-on-exec (POSIX 2024). */
        err = posix_spawn_file_actions_adddup2(&fa, src[i], i);
    }
    if (err == 0) {
        /* posix_spawn (vfork + exec) returns quickly; the path search may
         * touch the disk: hand the P off meanwhile. */
        gort_syscall_enter();
        if (strchr(path, '/'))
            err = posix_spawn(pid, path, &fa, &at, argv, envp ? envp : environ);
        else
            err = posix_spawnp(pid, path, &fa, &at, argv, envp ? envp : environ);
        gort_syscall_exit();
    }
    for (int i = 0; i < 3; i++)
        if (moved[i] >= 0)
            close(moved[i]);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return -err;
}

/* waitpid(WNOHANG): 1 reaped, 0 still running, -errno. */
static int reap(pid_t pid, int *status) {
    int st = 0;
    pid_t r;
    do
        r = waitpid(pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return 0;
    if (status)
        *status = st;
    return 1;
}

GORT_API int gort_process_wait(pid_t pid, int *status) {
    if (pid <= 0)
        return -ECHILD; /* process groups are not Process.Wait's */
    int pfd = -1;
    if (!atomic_load_explicit(&gort__pidfd_off, memory_order_relaxed)) {
        pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0 && errno == ESRCH)
            return -ECHILD;
        /* ENOSYS (an old kernel), EPERM (a seccomp filter): poll instead. */
    }
    if (pfd >= 0) {
        /* Noted for shutdown: an abandoned wait's pidfd was never closed. */
        struct g *gp = gort__getg();
        if (gp != NULL && gp->foreign)
            gp = NULL;
        if (gp != NULL)
            gp->waitfd = pfd + 1;
        int r;
        for (;;) {
            r = reap(pid, status);
            if (r != 0)
                break;
            r = gort_wait_fd(pfd, GORT_POLL_READ, 0);
            if (r < 0)
                break;
        }
        if (gp != NULL)
            gp->waitfd = 0;
        (void)gort_close(pfd);
        /* The poller could not take the pidfd (epoll_ctl: out of memory,
         * or fs.epoll.max_user_watches reached): poll instead, as without
         * a pidfd, rather than fail with the child still to reap. */
        if (r != -ENOMEM && r != -ENOSPC)
            return r < 0 ? r : 0;
    }
    int64_t nap = 1000000; /* 1 ms, doubling up to 50 ms */
    for (;;) {
        int r = reap(pid, status);
        if (r != 0)
            return r < 0 ? r : 0;
        gort_sleep(nap);
        nap = nap * 2 > 50000000 ? 50000000 : nap * 2;
    }
}
