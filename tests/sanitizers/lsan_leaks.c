/*
 * LeakSanitizer: blocks leaked inside gort_main, by the main goroutine and
 * by other goroutines, are reported with their allocation stacks; blocks
 * still referenced from a live goroutine's stack are not.  The runner
 * expects a report naming leak_in_main and leak_in_goroutine and not
 * kept_alive.
 */
#include <gort.h>
#include <stdio.h>
#include <stdlib.h>

static gort_chan *parked;

__attribute__((noinline)) static void leak_in_goroutine(void *arg) {
    (void)arg;
    void *volatile p = malloc(4242);
    p = NULL;
    (void)p;
}

__attribute__((noinline)) static void kept_alive(void *arg) {
    (void)arg;
    char *volatile p = malloc(777);
    p[0] = 1;
    int v;
    gort_chan_recv(parked, &v); /* parked for good, holding p */
    p[0] = 2;
}

__attribute__((noinline)) static void leak_in_main(void) {
    void *volatile p = malloc(4141);
    p = NULL;
    (void)p;
}

static int main_fn(void *arg) {
    (void)arg;
    parked = gort_chan_make(sizeof(int), 0);
    gort_go(kept_alive, NULL);
    gort_go(leak_in_goroutine, NULL);
    leak_in_main();
    gort_sleep(50 * 1000 * 1000);
    /* The check while the runtime runs: what a program that exits from a
     * goroutine gets. */
    extern void __lsan_do_leak_check(void);
    __lsan_do_leak_check();
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
