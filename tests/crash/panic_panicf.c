// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: bad value 42 in worker 7
// EXPECT-STDERR: goroutine
// EXPECT-STDERR: [running]:
/*
 * gort_panicf in a goroutine other than main, nobody recovers: the whole
 * process ends with status 2 while main is blocked.
 */
#include "gort.h"

#include <stdio.h>

static void worker(void *arg) {
    gort_panicf("bad value %d in worker %d", 42, (int)(long)arg);
}

static int main_fn(void *arg) {
    (void)arg;
    gort_go(worker, (void *)7L);
    for (;;)
        gort_yield();
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
