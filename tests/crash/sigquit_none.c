// EXPECT-EXIT: 2
// EXPECT-STDERR: SIGQUIT: quit
// EXPECT-STDERR: PC=
// EXPECT-STDERR: goroutine 1 [running]:
// EXPECT-STDERR: main_fn(...)
// EXPECT-STDERR: [chan receive]:
// EXPECT-STDERR: parked(...)
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: GORTRACEBACK=none
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
/*
 * SIGQUIT is a throw of the runtime's: Go 1.19's gotraceback shows every
 * goroutine with the runtime's frames (level "system") whatever
 * GOTRACEBACK says, none included (gort printed the two signal lines
 * alone at GORTRACEBACK=none).
 */
#include "gort.h"

#include <signal.h>
#include <stdio.h>

static gort_chan *c;

__attribute__((noinline)) static void parked(void *arg) {
    (void)arg;
    gort_chan_recv(c, NULL);
}

__attribute__((noinline)) static void quitter(void) {
    raise(SIGQUIT);
    fprintf(stderr, "sigquit_none: raise returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    c = gort_chan_make(sizeof(int), 0);
    if (gort_go(parked, NULL) != 0)
        return 1;
    while (gort_numgoroutine() < 2)
        gort_yield();
    for (int i = 0; i < 100; i++)
        gort_yield();
    quitter();
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigquit_none: gort_main returned %d\n", r);
    return 0;
}
