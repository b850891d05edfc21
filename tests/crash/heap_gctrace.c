// EXPECT-EXIT: 0
// ENV: GORTDEBUG=gctrace=1
// EXPECT-STDERR: gc 1 @
// EXPECT-STDERR: ms clock,
// EXPECT-STDERR: ms cpu,
// EXPECT-STDERR: MB goal,
// EXPECT-STDERR: MB stacks,
// EXPECT-STDERR: MB globals,
// EXPECT-STDERR: P (forced)
// EXPECT-STDERR: gc 2 @
// EXPECT-STDERR: gctrace: done
/* GORTDEBUG=gctrace=1 prints Go's gctrace line for every cycle: the
 * forced ones (gort_gc) end in "(forced)", the ones the pacer starts do
 * not. */
#include "gort.h"

#include <stdio.h>
#include <string.h>

static int main_fn(void *arg) {
    (void)arg;
    gort_gc();
    for (int i = 0; i < 200000; i++) {
        char *p = gort_new(128);
        memset(p, 1, 128);
    }
    gort_gc();
    fprintf(stderr, "gctrace: done\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
