// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: free of channel with blocked goroutines
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * gort_chan_free panics while a goroutine is blocked on the channel (there is
 * no GC: a channel is freed explicitly, never under a waiting goroutine).
 */
#include "gort.h"

#include <stdio.h>

static gort_chan *c;

static void receiver(void *arg) {
    (void)arg;
    int v;
    gort_chan_recv(c, &v);
}

static int main_fn(void *arg) {
    (void)arg;
    c = gort_chan_make(sizeof(int), 0);
    gort_go(receiver, NULL);
    for (;;) { /* a trysend succeeds once the receiver is blocked */
        int v = 0;
        if (gort_chan_trysend(c, &v))
            break;
        gort_yield();
    }
    gort_go(receiver, NULL);
    /* Let it block: while main sleeps, this P (or another, woken for it)
     * runs the receiver, which parks at once.  Yields alone were not
     * enough under TSan with two Ps (the receiver had not run after 1000). */
    gort_sleep(100 * 1000 * 1000);
    gort_chan_free(c);
    fprintf(stderr, "chan_free_blocked: free returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
