// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: close of nil channel
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * Closing a nil channel panics with Go's text (issue 3).
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_chan_close(NULL);
    fprintf(stderr, "chan_close_nil: close returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
