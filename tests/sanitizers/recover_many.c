/*
 * 20,000 panics, each recovered 20 frames up, in one goroutine: under
 * ThreadSanitizer the frames a recovery abandons must leave its shadow
 * call stack (it overflowed, a CHECK failure, when recovery jumped with
 * __builtin_longjmp), under ASan their redzones must go.  Prints
 * "recover_many: done" and exits 0.
 */
#include <gort.h>
#include <stdio.h>

int x; /* external: the stores must stay */

__attribute__((noinline)) static void deep(int d) {
    if (d == 0)
        gort_panic("p");
    deep(d - 1);
    x++;
}

static void rec(void *a) {
    (void)a;
    (void)gort_recover();
}

static void body(void *a) {
    (void)a;
    gort_defer(rec, NULL);
    deep(20);
}

static int main_fn(void *a) {
    (void)a;
    for (int i = 0; i < 20000; i++)
        gort_call(body, NULL);
    printf("recover_many: done\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
