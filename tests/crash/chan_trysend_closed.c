// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: send on closed channel
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * A non-blocking send on a closed channel panics too, as a select's send
 * case does (API.md clarifications).
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    gort_chan_close(c);
    int v = 1;
    gort_chan_trysend(c, &v);
    fprintf(stderr, "chan_trysend_closed: trysend returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
