// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: entersyscall: already in a blocking call
/*
 * gort_syscall_enter twice without gort_syscall_exit is a fatal error (the
 * header's rule), not silently ignored.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_syscall_enter();
    gort_syscall_enter();
    fprintf(stderr, "syscall_enter_twice: second enter returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
