// EXPECT-EXIT: 2
// EXPECT-STDERR: synctest: deadlock: all goroutines in bubble are blocked; goroutines in the bubble:
// EXPECT-STDERR: [chan receive (durable)]:
// EXPECT-STDERR: panic: deadlock: all goroutines in bubble are blocked
/*
 * Every goroutine of a synctest bubble is blocked on the bubble's channels
 * with no timer left: the goroutines are listed and gort_synctest_run
 * panics in its caller with Go's text.
 */
#include "gort.h"

#include <stdio.h>

static void body(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    int v;
    gort_chan_recv(c, &v);
}

static int main_fn(void *arg) {
    (void)arg;
    int r = gort_synctest_run(body, NULL);
    fprintf(stderr, "synctest_deadlock: gort_synctest_run returned %d\n", r);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
