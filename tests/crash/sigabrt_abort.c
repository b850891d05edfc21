// EXPECT-EXIT: 2
// EXPECT-STDERR: SIGABRT: abort
// EXPECT-STDERR: PC=
// EXPECT-STDERR: sigcode=18446744073709551610
// EXPECT-STDERR: goroutine
// EXPECT-STDERR: [running]:
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:handle_abort=0
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
/*
 * abort() in a goroutine (what a failed assert() calls): as Go's SIGABRT,
 * "SIGABRT: abort", the PC line and every goroutine, the aborting one
 * first, then exit 2.  (The process died of SIGABRT before, with nothing
 * printed.)  The aborting goroutine's own frames are not checked here: the
 * signal comes from inside libc, built without frame pointers, where the
 * dump scans for the first frame record (HACKING.md, dumps;
 * traceback.dump_abort_shows_its_caller checks what it finds).
 */
#include "gort.h"

#include <stdio.h>
#include <stdlib.h>

static volatile int go_on = 1;

__attribute__((noinline)) static void aborter(void *arg) {
    (void)arg;
    if (go_on)
        abort();
    fprintf(stderr, "sigabrt_abort: abort returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(aborter, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigabrt_abort: gort_main returned %d\n", r);
    return 0;
}
