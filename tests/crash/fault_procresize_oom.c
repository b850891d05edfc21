// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: procresize: out of memory
/*
 * Fault injection (issue 6): raising GOMAXPROCS at run time allocates the
 * new Ps with the world stopped; gort_gomaxprocs cannot report a failure,
 * so, as in Go's procresize, running out of memory there is fatal.  (At
 * gort_main start the same failure is returned as -ENOMEM: fault_test.)
 */
#include "gort.h"

#include <stdio.h>

#include "fault.h"

static int main_fn(void *arg) {
    (void)arg;
    int n = gort_gomaxprocs(0);
    gort__fault_arm(GORT__FAULT_MALLOC, 1, true);
    gort_gomaxprocs(n + 2);
    fprintf(stderr, "fault_procresize_oom: gomaxprocs returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
