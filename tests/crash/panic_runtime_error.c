// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: send on closed channel
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * The runtime's own panics go through the same path: unrecovered, they
 * print like any other panic.
 */
#include "gort.h"

static int main_fn(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    gort_chan_close(c);
    int v = 1;
    gort_chan_send(c, &v);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
