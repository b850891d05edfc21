// EXPECT-EXIT: 2
// EXPECT-STDERR: fatal error: go of nil func value
/* gort_go_attr_spawn(NULL, ...) from a non-main goroutine: the same fatal error. */
#include "gort.h"

#include <stdio.h>

static void spawner(void *arg) {
    (void)arg;
    gort_go_attr attr = {0, "nil"};
    int r = gort_go_attr_spawn(NULL, NULL, &attr);
    fprintf(stderr, "go_nil_attr: gort_go_attr_spawn(NULL) returned %d\n", r);
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(spawner, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "go_nil_attr: gort_main returned %d\n", r);
    return 0;
}
