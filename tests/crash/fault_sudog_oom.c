// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: out of memory allocating sudog
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * Fault injection (issue 6): with every malloc of the runtime failing, a
 * goroutine about to block on a channel cannot get a sudog.  Go throws on
 * out of memory; so does gort, with a readable message and a traceback
 * (made without the heap), never a bare SIGSEGV.
 */
#include "gort.h"

#include <stdio.h>

#include "fault.h"

static int main_fn(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    gort__fault_arm(GORT__FAULT_MALLOC, 1, true);
    int v;
    gort_chan_recv(c, &v); /* no sudog cached yet: allocates */
    fprintf(stderr, "fault_sudog_oom: recv returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
