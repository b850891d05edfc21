// EXPECT-EXIT: 2
// EXPECT-STDERR: goexit_main_others: worker started after main's Goexit
// EXPECT-STDERR: goexit_main_others: 100 goroutines ran after main's Goexit
// EXPECT-STDERR: fatal error: no goroutines (main called runtime.Goexit) - deadlock!
/*
 * The main goroutine calls gort_goexit while another goroutine still runs:
 * the others run on (they even spawn more) and only when none is left does
 * the runtime report the Goexit deadlock.  The markers on stderr must come
 * before the fatal error.
 */
#include "gort.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int main_exiting;
static atomic_int children;

static void say(const char *s) {
    (void)!write(2, s, strlen(s));
}

static void child(void *arg) {
    (void)arg;
    gort_yield();
    atomic_fetch_add(&children, 1);
}

static void worker(void *arg) {
    (void)arg;
    while (!atomic_load(&main_exiting))
        gort_yield();
    for (int i = 0; i < 100; i++) /* main is gone by now, or about to be */
        gort_yield();
    say("goexit_main_others: worker started after main's Goexit\n");
    for (int i = 0; i < 100; i++)
        if (gort_go(child, NULL) != 0)
            say("goexit_main_others: gort_go failed\n");
    while (atomic_load(&children) < 100)
        gort_yield();
    say("goexit_main_others: 100 goroutines ran after main's Goexit\n");
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(worker, NULL) != 0)
        return 1;
    atomic_store(&main_exiting, 1);
    gort_goexit();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "goexit_main_others: gort_main returned %d\n", r);
    return 0;
}
