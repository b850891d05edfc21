// EXPECT-EXIT: 2
// EXPECT-STDERR: progress before the fatal error
// EXPECT-STDERR: fatal error: sync: unlock of unlocked mutex
/*
 * A fatal error flushes the program's buffered stdio output first, as a
 * fatal panic does: stderr is made fully buffered here, so the line only
 * reaches the driver if the fatal path flushes it.
 */
#include "gort.h"

#include <stdio.h>

static char buf[4096];

static int main_fn(void *arg) {
    (void)arg;
    fprintf(stderr, "progress before the fatal error\n");
    gort_mutex m = GORT_MUTEX_INIT;
    gort_mutex_unlock(&m);
    return 0;
}

int main(void) {
    setvbuf(stderr, buf, _IOFBF, sizeof buf);
    return gort_main(main_fn, NULL);
}
