// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: runtime.SetFinalizer: pointer not at beginning of allocated block
// EXPECT-STDERR: goroutine 1 [running]:
/* gort_set_finalizer on a pointer inside an object panics with Go's text. */
#include "gort.h"

#include <stdio.h>

static void fin(void *p) {
    (void)p;
}

static int main_fn(void *arg) {
    (void)arg;
    char *p = gort_new(64);
    gort_set_finalizer(p + 16, fin);
    fprintf(stderr, "heap_setfinalizer_interior: no panic\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
