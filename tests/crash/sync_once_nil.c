// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: runtime error: invalid memory address or nil pointer dereference
// EXPECT-STDERR: [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * gort_once_do with a NULL fn is Go's Do(nil): the nil func's call panics,
 * and unrecovered that panic ends the process with Go's report.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_once o = GORT_ONCE_INIT;
    gort_once_do(&o, NULL, NULL);
    fprintf(stderr, "sync_once_nil: gort_once_do returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
