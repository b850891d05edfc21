// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: os/signal: Notify using nil channel
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * signal.Notify with a nil channel panics with Go's text (issue 15).
 */
#include "gort.h"

#include <signal.h>
#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    int sig = SIGUSR1;
    gort_signal_notify(NULL, &sig, 1);
    fprintf(stderr, "signal_notify_nil: notify returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
