// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: first
// EXPECT-STDERR: panic: second
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * A deferred call run by a panic panics too, nobody recovers: Go prints
 * both, oldest first, the newer one after a tab (printpanics).
 */
#include "gort.h"

static void d_panic(void *arg) {
    (void)arg;
    gort_panic("second");
}

static int main_fn(void *arg) {
    (void)arg;
    gort_defer(d_panic, NULL);
    gort_panic("first");
}

int main(void) {
    return gort_main(main_fn, NULL);
}
