// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: sync: WaitGroup.Add called from inside and outside synctest bubble
/*
 * A WaitGroup whose Add ran outside a bubble: a Done from inside one is a
 * fatal error, as in Go 1.25 (Done is Add(-1), and an Add inside a bubble
 * associates the WaitGroup with it).
 */
#include "gort.h"

#include <stdio.h>

static gort_waitgroup wg;

static void body(void *arg) {
    (void)arg;
    gort_wg_done(&wg);
    fprintf(stderr, "synctest_wg_inside_outside: done returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    gort_wg_add(&wg, 1);
    (void)gort_synctest_run(body, NULL);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
