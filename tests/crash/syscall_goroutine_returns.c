// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: goroutine exit between gort_syscall_enter and gort_syscall_exit
/*
 * A goroutine that returns between gort_syscall_enter and gort_syscall_exit
 * (the header forbids any gort call there, and the exit is one): a fatal
 * error that names the misuse.  Its P was away, and the goroutine's exit
 * crashed in the scheduler (a nil P), reported as a nil dereference.
 */
#include "gort.h"

#include <stdio.h>

static void forgets_exit(void *arg) {
    (void)arg;
    gort_syscall_enter();
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(forgets_exit, NULL) != 0)
        return 1;
    gort_sleep(2000 * 1000 * 1000LL);
    fprintf(stderr, "syscall_goroutine_returns: main slept on\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
