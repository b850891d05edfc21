/*
 * leak_canary.c - a program that leaks on purpose, for scripts/leakcheck.sh.
 *
 * The leak checks (LeakSanitizer in the asan-ubsan build, valgrind memcheck
 * in the valgrind build) pass when they report nothing; this canary proves
 * they are live in a gort process: a goroutine drops the only pointer to
 * LEAK_CANARY_BYTES bytes, gort_main returns, main returns, and the checker
 * must report exactly that block.  (A runtime that ended the process with
 * _exit, or a checker disabled by an option, would make every leak check
 * pass vacuously.)  Not a CTest test: it fails by design.
 */
#include <stdlib.h>
#include <string.h>

#include "gort.h"

#define LEAK_CANARY_BYTES 4242

/* volatile: the compiler may not drop the malloc as dead. */
static void *volatile leak_ptr;

static void leaker(void *arg) {
    (void)arg;
    leak_ptr = malloc(LEAK_CANARY_BYTES);
    if (leak_ptr != NULL)
        memset(leak_ptr, 0x5a, LEAK_CANARY_BYTES);
    leak_ptr = NULL; /* the only pointer is gone: a definite leak */
}

static int canary_main(void *arg) {
    (void)arg;
    if (gort_go(leaker, NULL) != 0)
        return 1;
    /* The leaker is the only other goroutine: wait until it has run. */
    while (gort_numgoroutine() > 1)
        gort_yield();
    return 0;
}

int main(void) {
    return gort_main(canary_main, NULL);
}
