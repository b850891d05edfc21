// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: send on closed channel
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * A select whose chosen send case is on a closed channel panics.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    gort_chan *d = gort_chan_make(sizeof(int), 0);
    gort_chan_close(c);
    int v = 1, w;
    gort_select_case cs[2] = {{d, GORT_RECV, &w, false}, {c, GORT_SEND, &v, false}};
    gort_select(cs, 2, true);
    fprintf(stderr, "select_send_closed: select returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
