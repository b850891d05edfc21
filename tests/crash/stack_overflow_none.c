// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: goroutine stack exceeds
// EXPECT-STDERR: runtime: sp=
// EXPECT-STDERR: fatal error: stack overflow
// EXPECT-STDERR: runtime stack:
// EXPECT-STDERR: fault_handler(
// EXPECT-STDERR: goroutine 2 [running]:
// EXPECT-STDERR: recurse(
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: GORTRACEBACK=none
/*
 * A stack overflow is a throw of the runtime's: Go 1.19's gotraceback
 * shows the runtime stack and every goroutine whatever GOTRACEBACK says,
 * none included (gort printed the limit, sp and fatal error lines alone
 * at GORTRACEBACK=none).  Otherwise as stack_overflow.c.
 */
#include "gort.h"

#include <stdio.h>

static volatile int never; /* a way out the compiler cannot see through */

__attribute__((noinline)) static int recurse(int depth) {
    volatile char buf[1024];
    buf[0] = (char)depth;
    buf[sizeof buf - 1] = (char)depth;
    if (never)
        return 0;
    return recurse(depth + 1) + buf[0] + buf[sizeof buf - 1]; /* not a tail call */
}

static void overflow(void *arg) {
    (void)arg;
    int r = recurse(0);
    fprintf(stderr, "stack_overflow_none: recursion returned %d\n", r);
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(overflow, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "stack_overflow_none: gort_main returned %d\n", r);
    return 0;
}
