// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: goroutine stack exceeds
// EXPECT-STDERR: fatal error: stack overflow
// EXPECT-STDERR: runtime stack:
// EXPECT-STDERR: goroutine 1
/*
 * The same unbounded recursion in the main goroutine, which runs on the
 * stack of the process's main thread (the thread that called gort_main).
 * RLIMIT_STACK is capped at 8 MiB first so that an unlimited stack limit
 * cannot turn the test into a memory hog.
 */
#include "gort.h"

#include <stdio.h>
#include <sys/resource.h>

static volatile int never;

__attribute__((noinline)) static int recurse(int depth) {
    volatile char buf[1024];
    buf[0] = (char)depth;
    buf[sizeof buf - 1] = (char)depth;
    if (never)
        return 0;
    return recurse(depth + 1) + buf[0] + buf[sizeof buf - 1];
}

static int main_fn(void *arg) {
    (void)arg;
    return recurse(0);
}

int main(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 &&
        (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 8u << 20)) {
        rl.rlim_cur = 8u << 20;
        setrlimit(RLIMIT_STACK, &rl);
    }
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "stack_overflow_main: gort_main returned %d\n", r);
    return 0;
}
