// EXPECT-EXIT: 2
// EXPECT-STDERR: SIGILL: illegal instruction
// EXPECT-STDERR: PC=
// EXPECT-STDERR: instruction bytes: 0x
// EXPECT-STDERR: goroutine
// EXPECT-STDERR: [running]:
// EXPECT-STDERR: trapper(...)
// EXPECT-STDERR: sigill_trap.c:
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:handle_sigill=0
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
/*
 * __builtin_trap (an illegal instruction) in a goroutine: Go's throw for
 * the signal ("SIGILL: illegal instruction", the PC line), then the
 * goroutine's traceback.  (The process died of SIGILL before, with
 * nothing printed.)
 */
#include "gort.h"

#include <stdio.h>

static volatile int go_on = 1;

__attribute__((noinline)) static void trapper(void *arg) {
    (void)arg;
    if (go_on)
        __builtin_trap();
    fprintf(stderr, "sigill_trap: trap returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(trapper, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigill_trap: gort_main returned %d\n", r);
    return 0;
}
