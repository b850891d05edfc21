// ENV: GORT_FAULT=epoll_ctl:1
// EXPECT-EXIT: 3
// EXPECT-STDERR: fault_env_start: gort_main returned -12
/*
 * GORT_FAULT (src/fault.h) read when gort_main starts: the netpoller's
 * first epoll_ctl fails, and gort_main reports -ENOMEM instead of running
 * (issue 6).  A second gort_main, with nothing armed, runs.
 */
#include "gort.h"

#include <stdio.h>
#include <stdlib.h>

static int main_fn(void *arg) {
    (void)arg;
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "fault_env_start: gort_main returned %d\n", r);
    unsetenv("GORT_FAULT");
    if (r != 0 && gort_main(main_fn, NULL) == 0)
        return 3;
    return 1;
}
