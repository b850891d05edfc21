// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: runtime error: integer divide by zero
// EXPECT-STDERR: [signal SIGFPE: floating-point exception code=0x1 addr=
// EXPECT-STDERR: goroutine
// EXPECT-STDERR: [running]:
// EXPECT-STDERR: divide(...)
// EXPECT-STDERR: sigfpe_divide.c:
// EXPECT-STDERR: divider(...)
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:handle_sigfpe=0
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0:handle_sigfpe=0
/*
 * An integer division by zero in a goroutine: Go's runtime error, the
 * signal line, then the goroutine's traceback from the faulting
 * instruction.  (The process died of SIGFPE before, with nothing printed.
 * The division is an instruction of its own on x86-64, so that UBSan's
 * check does not report it first.)
 */
#include "gort.h"

#include <stdio.h>

static volatile long zero;

__attribute__((noinline)) static long divide(long a, long b) {
#if defined(__x86_64__)
    long q;
    __asm__ volatile("cqto; idivq %2" : "=a"(q) : "a"(a), "r"(b) : "rdx");
    return q;
#else
    return a / b;
#endif
}

__attribute__((noinline)) static void divider(void *arg) {
    (void)arg;
    long q = divide(42, zero);
    fprintf(stderr, "sigfpe_divide: divide returned %ld\n", q);
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(divider, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigfpe_divide: gort_main returned %d\n", r);
    return 0;
}
