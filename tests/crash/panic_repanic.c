// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: first [recovered]
// EXPECT-STDERR: panic: again: first
// EXPECT-STDERR: goroutine 1 [running]:
/*
 * A deferred call recovers, then panics again: the recovered panic is
 * still on the chain and is marked " [recovered]".
 */
#include "gort.h"

static void d_repanic(void *arg) {
    (void)arg;
    const char *m = gort_recover();
    gort_panicf("again: %s", m ? m : "(nil)");
}

static void f(void *arg) {
    (void)arg;
    gort_defer(d_repanic, NULL);
    gort_panic("first");
}

static int main_fn(void *arg) {
    (void)arg;
    gort_call(f, NULL);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
