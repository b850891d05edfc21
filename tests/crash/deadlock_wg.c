// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
/*
 * The main goroutine waits on a waitgroup that nobody will ever finish:
 * the one goroutine that could call done has already exited.
 */
#include "gort.h"

#include <stdatomic.h>
#include <stdio.h>

static gort_waitgroup wg;
static atomic_int ran;

static void helper(void *arg) {
    (void)arg;
    atomic_store(&ran, 1); /* forgets gort_wg_done */
}

static int main_fn(void *arg) {
    (void)arg;
    gort_wg_add(&wg, 1);
    if (gort_go(helper, NULL) != 0)
        return 1;
    gort_wg_wait(&wg);
    fprintf(stderr, "deadlock_wg: gort_wg_wait returned\n");
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "deadlock_wg: gort_main returned %d\n", r);
    return 0;
}
