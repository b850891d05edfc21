// EXPECT-EXIT: 2
// ENV: GOMEMLIMIT=-1KiB
// EXPECT-STDERR: GOMEMLIMIT=-1KiB
// EXPECT-STDERR: fatal error: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`
/* A negative GOMEMLIMIT is malformed, as in Go (whose atoi64 reads the
 * sign; only "-0" and a bare "-" before a unit read as 0). */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    fprintf(stderr, "heap_gomemlimit_negative: main ran\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
