// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: during goexit
// EXPECT-STDERR: goroutine
/*
 * A deferred call run by gort_goexit panics and nobody recovers: fatal,
 * and the Goexit itself is not shown (printpanics skips it).
 */
#include "gort.h"

static void d_panic(void *arg) {
    (void)arg;
    gort_panic("during goexit");
}

static void g(void *arg) {
    (void)arg;
    gort_defer(d_panic, NULL);
    gort_goexit();
}

static int main_fn(void *arg) {
    (void)arg;
    gort_go(g, NULL);
    for (;;)
        gort_yield();
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
