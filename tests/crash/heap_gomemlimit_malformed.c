// EXPECT-EXIT: 2
// ENV: GOMEMLIMIT=12XB
// EXPECT-STDERR: GOMEMLIMIT=12XB
// EXPECT-STDERR: fatal error: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`
/* A malformed GOMEMLIMIT is fatal when gort_main starts, as in Go. */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    fprintf(stderr, "heap_gomemlimit_malformed: main ran\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
