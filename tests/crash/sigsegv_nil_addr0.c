// ENV: TSAN_OPTIONS=halt_on_error=1:report_signal_unsafe=0:handle_segv=0
// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: runtime error: invalid memory address or nil pointer dereference
// EXPECT-STDERR: [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x
// ENV: ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:handle_segv=0
/*
 * A store through a NULL pointer: the signal line shows addr=0x0, as Go
 * prints it (printf's %#lx would print a bare 0).  (ASan's handler, which
 * it installs before gort_main, would get the fault of the program's own
 * code: handle_segv=0 leaves it to gort's.)
 */
#include "gort.h"

#include <stdlib.h>

/* Not checked by UBSan's null check (asan-ubsan preset): the fault is the
 * point. */
__attribute__((noinline, no_sanitize("null"))) static void store(volatile int *p) {
    *p = 1;
}

static int main_fn(void *arg) {
    (void)arg;
    store((volatile int *)(uintptr_t)(getenv("GORT_NEVER_SET_THIS") != NULL));
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
