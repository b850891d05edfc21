// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: runtime error: invalid memory address or nil pointer dereference
// EXPECT-STDERR: [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * A NULL deferred function panics when it is run, as Go's nil deferred
 * func does, with Go's report: the message and the signal's line (which
 * was missing), then the goroutine.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_defer(NULL, NULL);
    fprintf(stderr, "defer_nil_func: body\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
