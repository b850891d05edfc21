// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: foreign boom
// EXPECT-STDERR: goroutine 0 [running]:
/*
 * A panic nobody recovers on a thread outside the runtime (while the
 * runtime runs) is fatal in the same way.  The thread's own deferred call
 * runs first.
 */
#include "gort.h"

#include <pthread.h>
#include <stdio.h>

static void d_print(void *arg) {
    (void)arg;
    fprintf(stderr, "foreign deferred call ran\n");
}

static void f(void *arg) {
    (void)arg;
    gort_defer(d_print, NULL);
    gort_panic("foreign boom");
}

static void *thread(void *arg) {
    (void)arg;
    gort_call(f, NULL);
    return NULL;
}

static int main_fn(void *arg) {
    (void)arg;
    pthread_t t;
    pthread_create(&t, NULL, thread, NULL);
    pthread_join(t, NULL);
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
