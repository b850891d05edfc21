// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: blocking call between gort_syscall_enter and gort_syscall_exit
/*
 * A blocking gort call between gort_syscall_enter and gort_syscall_exit
 * (forbidden by the header): a fatal error that names the misuse, not the
 * scheduler's internal "gopark: no p".
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_syscall_enter();
    gort_sleep(1000 * 1000);
    gort_syscall_exit();
    fprintf(stderr, "syscall_sleep_inside: the sleep returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
