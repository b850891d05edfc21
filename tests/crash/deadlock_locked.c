// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
/*
 * As deadlock.c, with the main goroutine locked to its thread (Go's main
 * goroutine is locked during init and deadlocks are still detected).
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_lock_os_thread();
    gort_chan_recv(NULL, NULL);
    fprintf(stderr, "deadlock_locked: gort_chan_recv(NULL) returned\n");
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "deadlock_locked: gort_main returned %d\n", r);
    return 0;
}
