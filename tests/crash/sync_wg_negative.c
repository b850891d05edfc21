// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: sync: negative WaitGroup counter
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * A WaitGroup counter below zero panics with Go's text.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    gort_wg_add(&wg, 1);
    gort_wg_done(&wg);
    gort_wg_done(&wg);
    fprintf(stderr, "sync_wg_negative: done returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
