// ENV: GOMAXPROCS=2
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: failed to create new OS thread (have
// EXPECT-STDERR: runtime: may need to increase max user processes (ulimit -u)
// EXPECT-STDERR: fatal error: newosproc
/*
 * Fault injection: no thread can be made, and the only M blocks in a raw
 * read(2) between gort_syscall_enter and gort_syscall_exit with work
 * queued behind it.  sysmon hands the P off, no M can take it and none is
 * running: Go's fatal error (newosproc), not the "pidleput: P has
 * non-empty run queue" the fallback hit, nor a silent hang.
 */
#include "gort.h"

#include <stdio.h>
#include <unistd.h>

#include "fault.h"

static int p[2];

static void blocker(void *arg) {
    (void)arg;
    char c;
    gort_syscall_enter();
    ssize_t r = read(p[0], &c, 1);
    gort_syscall_exit();
    (void)r;
}

static int main_fn(void *arg) {
    (void)arg;
    if (pipe(p) != 0)
        return 1;
    gort__fault_arm(GORT__FAULT_PTHREAD_CREATE, 1, true);
    for (int i = 0; i < 2; i++)
        if (gort_go(blocker, NULL) != 0)
            return 1;
    gort_sleep(3000 * 1000 * 1000LL);
    fprintf(stderr, "fault_newosproc: main ran again\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
