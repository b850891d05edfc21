// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: go of nil func value
/* gort_go(NULL, ...) is Go's `go f()` with a nil f: a fatal error. */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    int r = gort_go(NULL, NULL);
    fprintf(stderr, "go_nil: gort_go(NULL) returned %d\n", r);
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "go_nil: gort_main returned %d\n", r);
    return 0;
}
