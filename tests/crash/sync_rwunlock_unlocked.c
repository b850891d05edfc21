// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: sync: Unlock of unlocked RWMutex
/*
 * Unlock of an RWMutex that is not write-locked is a fatal error.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_rwmutex rw = GORT_RWMUTEX_INIT;
    gort_rwmutex_lock(&rw);
    gort_rwmutex_unlock(&rw);
    gort_rwmutex_unlock(&rw);
    fprintf(stderr, "sync_rwunlock_unlocked: unlock returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
