// EXPECT-SIGNAL: ABRT
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
// EXPECT-STDERR: goroutine 1 [chan receive (nil chan)]:
// EXPECT-STDERR: main_fn(...)
// ENV: GORTRACEBACK=crash
/*
 * GORTRACEBACK=crash: a fatal error prints the dump and then aborts
 * (SIGABRT, a core file where enabled), as Go's GOTRACEBACK=crash.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_chan_recv(NULL, NULL);
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "traceback_crash: gort_main returned %d\n", r);
    return 0;
}
