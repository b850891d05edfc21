// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
// EXPECT-STDERR: goroutine 1 [chan receive (nil chan)]:
/*
 * A receive from a nil channel blocks forever: with nothing else to run that
 * is a deadlock, and the dump shows Go's wait reason.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    int v;
    gort_chan_recv(NULL, &v);
    fprintf(stderr, "chan_nil_deadlock: recv returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
