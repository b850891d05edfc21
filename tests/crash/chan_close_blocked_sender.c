// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: send on closed channel
// EXPECT-STDERR: goroutine 2 [running]:
/*
 * A sender blocked on a channel panics when the channel is closed.  The main
 * goroutine waits for the sender's announcement on a second channel and
 * yields a while, so that the sender is blocked when the close comes.
 */
#include "gort.h"

#include <stdio.h>

static gort_chan *c, *started;

static void sender(void *arg) {
    (void)arg;
    int v = 1;
    gort_chan_send(started, &v);
    gort_chan_send(c, &v); /* blocks until the close, then panics */
    fprintf(stderr, "chan_close_blocked_sender: send returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    c = gort_chan_make(sizeof(int), 0);
    started = gort_chan_make(sizeof(int), 1);
    gort_go(sender, NULL);
    int v;
    gort_chan_recv(started, &v);
    for (int i = 0; i < 1000; i++) /* let it reach the blocking send */
        gort_yield();
    gort_chan_close(c);
    for (int i = 0; i < 1000000; i++)
        gort_yield(); /* the sender's panic ends the process */
    fprintf(stderr, "chan_close_blocked_sender: the sender did not panic\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
