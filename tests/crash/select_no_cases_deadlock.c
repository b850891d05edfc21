// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
// EXPECT-STDERR: goroutine 1 [select (no cases)]:
/*
 * select {} blocks forever: a deadlock when nothing else can run.
 */
#include "gort.h"

#include <stdio.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_select(NULL, 0, true);
    fprintf(stderr, "select_no_cases_deadlock: select returned\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
