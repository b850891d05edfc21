// EXPECT-EXIT: 2
// EXPECT-STDERR: SIGQUIT: quit
// EXPECT-STDERR: PC=
// EXPECT-STDERR: goroutine 1 [running]:
// EXPECT-STDERR: main_fn(...)
// EXPECT-STDERR: [chan receive]:
// EXPECT-STDERR: parked(...)
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
/*
 * SIGQUIT dumps every goroutine, the interrupted one first, and exits 2,
 * as Go does.  (Under TSan: sysmon makes the dump while the handler waits,
 * but where sysmon cannot, the handler dumps in place and allocates -
 * symbol tables, libdw - which TSan reports as signal-unsafe; best effort,
 * so report_signal_unsafe=0.)
 */
#include "gort.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static gort_chan *c;

__attribute__((noinline)) static void parked(void *arg) {
    (void)arg;
    gort_chan_recv(c, NULL);
}

__attribute__((noinline)) static void quitter(void) {
    raise(SIGQUIT);
    fprintf(stderr, "sigquit: raise returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    c = gort_chan_make(sizeof(int), 0);
    if (gort_go(parked, NULL) != 0)
        return 1;
    /* Until parked is parked: a hundred yields were not always enough on
     * a loaded machine (a preemption at gort_chan_recv's entry left it
     * runnable on a P whose thread did not run meanwhile, and the dump
     * said [runnable]). */
    static char buf[1 << 14];
    for (int64_t end = gort_nanotime() + 10 * 1000 * 1000 * 1000LL;;) {
        gort_stack(buf, sizeof buf, true);
        if (strstr(buf, "[chan receive]") != NULL || gort_nanotime() > end)
            break;
        gort_sleep(1000 * 1000);
    }
    quitter();
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigquit: gort_main returned %d\n", r);
    return 0;
}
