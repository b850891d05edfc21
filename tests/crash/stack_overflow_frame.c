// ENV: TSAN_OPTIONS=halt_on_error=1:report_signal_unsafe=0
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: goroutine stack exceeds 262144-byte limit
// EXPECT-STDERR: fatal error: stack overflow
// EXPECT-STDERR: runtime stack:
/*
 * One 300 KiB local array in a goroutine on the default 256 KiB stack:
 * larger than the stack and its guard together.  Built with
 * -fstack-clash-protection (the library's and gort.pc's flags) the frame
 * probes each page on the way down and faults in the guard: Go's stack
 * overflow report with the real limit, never a silent write into the
 * neighbouring goroutine's stack (which it did with a one-page guard).
 */
#include "gort.h"

#include <stdio.h>

/* Every page of the array is stored to, lowest address first (as a
 * memset would), through volatile: no compiler can shrink the frame. */
__attribute__((noinline)) static int big_frame(int seed) {
    volatile char buf[300 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 4096)
        buf[i] = (char)seed;
    return buf[seed] + buf[sizeof buf - 1];
}

static void overflow(void *arg) {
    (void)arg;
    fprintf(stderr, "stack_overflow_frame: returned %d\n", big_frame(1));
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(overflow, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    return gort_main(main_fn, NULL);
}
