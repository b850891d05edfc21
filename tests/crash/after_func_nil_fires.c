// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: go of nil func value
/*
 * gort_after_func with a NULL fn is Go's AfterFunc(d, nil): the timer is
 * made, and its firing is the fatal error of a go of a nil func.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_timer *t = gort_after_func(1000000, NULL, NULL);
    fprintf(stderr, "after_func_nil_fires: timer made: %d\n", t != NULL);
    gort_sleep(2000000000);
    fprintf(stderr, "after_func_nil_fires: still running after the firing\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
