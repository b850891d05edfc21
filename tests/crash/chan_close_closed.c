// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: close of closed channel
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * Closing a closed channel panics with Go's text (issue 3).
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    gort_chan_close(c);
    gort_chan_close(c);
    fprintf(stderr, "chan_close_closed: second close returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
