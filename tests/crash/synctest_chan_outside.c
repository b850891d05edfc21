// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: send on synctest channel from outside bubble
/*
 * A channel made inside a synctest bubble is the bubble's: a send on it
 * from a goroutine outside the bubble is a fatal error, as in Go.
 */
#include "gort.h"

#include <stdatomic.h>
#include <stdio.h>

static _Atomic(gort_chan *) inner;
static gort_chan *never; /* made outside: blocking on it is not durable */

static void body(void *arg) {
    (void)arg;
    atomic_store(&inner, gort_chan_make(sizeof(int), 1));
    gort_chan_recv(never, NULL);
}

static void intruder(void *arg) {
    (void)arg;
    gort_chan *c;
    while ((c = atomic_load(&inner)) == NULL)
        gort_sleep(1000000);
    int v = 1;
    gort_chan_send(c, &v);
    fprintf(stderr, "synctest_chan_outside: send returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    never = gort_chan_make(0, 0);
    if (gort_go(intruder, NULL) != 0)
        return 1;
    (void)gort_synctest_run(body, NULL);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
