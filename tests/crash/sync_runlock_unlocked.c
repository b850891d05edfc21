// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: sync: RUnlock of unlocked RWMutex
/*
 * RUnlock of an RWMutex that is not read-locked is a fatal error.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_rwmutex rw = GORT_RWMUTEX_INIT;
    gort_rwmutex_runlock(&rw);
    fprintf(stderr, "sync_runlock_unlocked: runlock returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
