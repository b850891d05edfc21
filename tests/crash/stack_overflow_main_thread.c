// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: goroutine stack exceeds
// EXPECT-STDERR: fatal error: stack overflow
// EXPECT-STDERR: runtime stack:
// EXPECT-STDERR: goroutine 1
/*
 * gort_main called from a pthread with a 256 KiB stack; the main goroutine
 * overflows that thread's stack.  Still Go's report, not a bare SIGSEGV.
 */
#include "gort.h"

#include <pthread.h>
#include <stdio.h>

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

static void *thread(void *arg) {
    (void)arg;
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "stack_overflow_main_thread: gort_main returned %d\n", r);
    return NULL;
}

int main(void) {
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&t, &attr, thread, NULL) != 0) {
        fprintf(stderr, "stack_overflow_main_thread: pthread_create failed\n");
        return 1;
    }
    pthread_join(t, NULL);
    return 0;
}
