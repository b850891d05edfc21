// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: out of memory: cannot allocate 1125899906842624-byte block (
// EXPECT-STDERR: in use)
// EXPECT-STDERR: fatal error: runtime: out of memory
// EXPECT-STDERR: goroutine 1 [running]:
/* An allocation the heap cannot hold is Go's fatal error, never NULL. */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    char *p = gort_new((size_t)1 << 50);
    fprintf(stderr, "heap_oom: gort_new returned %p\n", (void *)p);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
