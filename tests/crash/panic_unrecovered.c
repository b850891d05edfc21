// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: boom
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * An unrecovered panic in the main goroutine: "panic: <msg>", a blank
 * line, the goroutine header, exit status 2.  The deferred calls ran
 * first (their output comes before the panic text).
 */
#include "gort.h"

#include <stdio.h>

static void d_print(void *arg) {
    fprintf(stderr, "deferred %s ran\n", (const char *)arg);
}

static void f(void *arg) {
    (void)arg;
    gort_defer(d_print, "in frame");
    gort_panic("boom");
}

static int main_fn(void *arg) {
    (void)arg;
    gort_defer(d_print, "at top level");
    gort_call(f, NULL);
    fprintf(stderr, "not reached\n");
    return 0;
}

int main(void) {
    gort_main(main_fn, NULL);
    fprintf(stderr, "gort_main returned\n");
    return 0;
}
