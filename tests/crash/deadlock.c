// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
/*
 * The main goroutine blocks forever on a nil channel and nothing can wake
 * it: checkdead must report Go's deadlock error and exit with status 2.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_chan_recv(NULL, NULL); /* a nil channel never wakes */
    fprintf(stderr, "deadlock: gort_chan_recv(NULL) returned\n");
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "deadlock: gort_main returned %d\n", r);
    return 0;
}
