// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: sync: WaitGroup.Add called from multiple synctest bubbles
/*
 * A WaitGroup whose Add ran in one bubble (its counter never back to zero)
 * stays that bubble's: an Add from another bubble is a fatal error, as in
 * Go 1.25.
 */
#include "gort.h"

#include <stdio.h>

static gort_waitgroup wg;

static void first(void *arg) {
    (void)arg;
    gort_wg_add(&wg, 1); /* left at 1 */
}

static void second(void *arg) {
    (void)arg;
    gort_wg_add(&wg, 1);
    fprintf(stderr, "synctest_wg_two_bubbles: add returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    (void)gort_synctest_run(first, NULL);
    (void)gort_synctest_run(second, NULL);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
