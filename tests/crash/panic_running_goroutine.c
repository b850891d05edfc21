// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: boom
// EXPECT-STDERR: goroutine 1 [running]:
// EXPECT-STDERR: main_fn(...)
// EXPECT-STDERR: goroutine 2 [runnable]:
// EXPECT-STDERR: spinner(...)
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: GORTRACEBACK=all
// ENV: GOMAXPROCS=2
/*
 * An unrecovered panic while another goroutine runs on another thread:
 * Go's startpanic_m freezes the world first (freezetheworld: the
 * scheduler stops, running goroutines are preempted), so the dump shows
 * that goroutine runnable with its frames.  gort showed it "[running]:"
 * with "goroutine running on other thread; stack unavailable".  The
 * spinner makes a gort call now and then, so that it stops where no
 * preemption signal reaches it too (ThreadSanitizer).
 */
#include "gort.h"

#include <stdatomic.h>
#include <stdio.h>

static _Atomic long spins;

__attribute__((noinline)) static void spinner(void *arg) {
    (void)arg;
    for (long i = 1;; i++) {
        atomic_store_explicit(&spins, i, memory_order_relaxed);
        if (i % 100000 == 0)
            gort_yield();
    }
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(spinner, NULL) != 0)
        return 1;
    while (atomic_load_explicit(&spins, memory_order_relaxed) < 1000)
        gort_sleep(1000000);
    gort_panic("boom");
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "panic_running_goroutine: gort_main returned %d\n", r);
    return 0;
}
