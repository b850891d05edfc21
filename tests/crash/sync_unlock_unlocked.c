// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: sync: unlock of unlocked mutex
/*
 * Unlocking an unlocked mutex is a fatal error (Go's fatal), not a panic.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_mutex m = GORT_MUTEX_INIT;
    gort_mutex_lock(&m);
    gort_mutex_unlock(&m);
    gort_mutex_unlock(&m);
    fprintf(stderr, "sync_unlock_unlocked: unlock returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
