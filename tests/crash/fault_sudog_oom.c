// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: out of memory allocating sudog
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * Fault injection (issue 6): with every malloc of the runtime failing, a
 * goroutine about to block in a select cannot get its sudogs (a plain
 * channel operation keeps its one sudog in its frame).  Go throws on out
 * of memory; so does gort, with a readable message and a traceback (made
 * without the heap), never a bare SIGSEGV.
 */
#include "gort.h"

#include <stdio.h>

#include "fault.h"

static int main_fn(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    gort_chan *d = gort_chan_make(sizeof(int), 0);
    int v, w;
    gort_select_case cs[2] = {{c, GORT_RECV, &v, false}, {d, GORT_RECV, &w, false}};
    gort__fault_arm(GORT__FAULT_MALLOC, 1, true);
    gort_select(cs, 2, true); /* no sudog cached yet: allocates */
    fprintf(stderr, "fault_sudog_oom: select returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
