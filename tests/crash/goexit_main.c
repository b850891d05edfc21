// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: no goroutines (main called runtime.Goexit) - deadlock!
/*
 * The main goroutine calls gort_goexit and no other goroutine exists.
 * Needs nothing but the scheduler (no channels): this is the checkdead
 * test that does not depend on later issues.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_goexit();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "goexit_main: gort_main returned %d\n", r);
    return 0;
}
