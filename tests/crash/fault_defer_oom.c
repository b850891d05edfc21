// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: out of memory
/*
 * Fault injection (issue 6): a defer record that cannot be allocated is
 * fatal (Go's newdefer throws on out of memory).
 */
#include "gort.h"

#include <stdio.h>

#include "fault.h"

static void nop(void *arg) {
    (void)arg;
}

static void body(void *arg) {
    (void)arg;
    gort__fault_arm(GORT__FAULT_MALLOC, 1, false);
    gort_defer(nop, NULL);
    fprintf(stderr, "fault_defer_oom: defer returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    gort_call(body, NULL);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
