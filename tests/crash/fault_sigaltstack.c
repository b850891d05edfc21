// ENV: GOMAXPROCS=2
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: cannot allocate a signal stack for M
// EXPECT-STDERR: fatal error: out of memory allocating signal stack
/*
 * Fault injection (issue 6): a new M gets its g0 stack (the first mmap)
 * but not its signal stack (the second).  Without one, a stack overflow
 * on that M would kill the process with a bare SIGSEGV; like Go's
 * mpreinit, gort throws instead.
 */
#include "gort.h"

#include <stdatomic.h>
#include <stdio.h>

#include "fault.h"

static _Atomic int stop;

static void spin(void *arg) {
    (void)arg;
    while (!atomic_load(&stop))
        gort_yield();
}

static int main_fn(void *arg) {
    (void)arg;
    gort__fault_arm(GORT__FAULT_MMAP, 2, false);
    gort_go(spin, NULL); /* wakes an idle P: a new M */
    for (int i = 0; i < 100000; i++)
        gort_yield();
    atomic_store(&stop, 1);
    fprintf(stderr, "fault_sigaltstack: no M was started\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
