// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: timers: out of memory
/*
 * Fault injection (issue 6): the first timer of a P allocates the P's
 * timer heap; if that malloc fails there is no one to report it to
 * (gort_sleep returns nothing), so gort throws as Go does on out of memory.
 */
#include "gort.h"

#include <stdio.h>

#include "fault.h"

static int main_fn(void *arg) {
    (void)arg;
    gort__fault_arm(GORT__FAULT_MALLOC, 1, true);
    gort_sleep(1000000);
    fprintf(stderr, "fault_timers_oom: sleep returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
