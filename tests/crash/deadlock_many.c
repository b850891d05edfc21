// EXPECT-EXIT: 2
// EXPECT-STDERR: deadlock_many: all blocked
// EXPECT-STDERR: fatal error: all goroutines are asleep - deadlock!
/*
 * Main and 100 goroutines (on every P) all block forever on nil channels:
 * the last one to block triggers checkdead.
 */
#include "gort.h"

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int started;

static void blocker(void *arg) {
    (void)arg;
    atomic_fetch_add(&started, 1);
    gort_yield();
    gort_chan_send(NULL, &started);
    fprintf(stderr, "deadlock_many: gort_chan_send(NULL) returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    gort_gomaxprocs(2);
    for (int i = 0; i < 100; i++)
        if (gort_go(blocker, NULL) != 0)
            return 1;
    while (atomic_load(&started) < 100)
        gort_yield();
    static const char msg[] = "deadlock_many: all blocked\n";
    (void)!write(2, msg, sizeof msg - 1);
    gort_chan_recv(NULL, NULL);
    fprintf(stderr, "deadlock_many: gort_chan_recv(NULL) returned\n");
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "deadlock_many: gort_main returned %d\n", r);
    return 0;
}
