// ENV: GOMAXPROCS=4
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: failed to create new OS thread (continuing with fewer)
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
/*
 * Fault injection (issue 6): with every pthread_create failing, the work
 * still gets done on m0, and the Ms that never started are not counted as
 * running: a real deadlock is still reported, not a hang.
 */
#include "gort.h"

#include <stdio.h>

#include "fault.h"

static void work(void *arg) {
    gort_waitgroup *wg = arg;
    for (int i = 0; i < 100; i++)
        gort_yield();
    gort_wg_done(wg);
}

static int main_fn(void *arg) {
    (void)arg;
    gort__fault_arm(GORT__FAULT_PTHREAD_CREATE, 1, true);
    gort_waitgroup wg = {0};
    gort_wg_add(&wg, 16);
    for (int i = 0; i < 16; i++)
        gort_go(work, &wg);
    gort_wg_wait(&wg);
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    int v;
    gort_chan_recv(c, &v);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
