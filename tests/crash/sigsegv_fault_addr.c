// EXPECT-EXIT: 2
// EXPECT-STDERR: unexpected fault address 0x12345678
// EXPECT-STDERR: fatal error: fault
// EXPECT-STDERR: [signal SIGSEGV: segmentation violation code=
// EXPECT-STDERR: addr=0x12345678 pc=
// EXPECT-STDERR: goroutine 1 [running]:
// EXPECT-STDERR: write_far(...)
// EXPECT-STDERR: main_fn(...)
// EXPECT-STDERR: [chan receive]:
// EXPECT-STDERR: parked(...)
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:handle_segv=0
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0:handle_segv=0
/*
 * A fault at an address that is not nil (not in the first page) is Go's
 * throw("fault"), not a panic: at the default GORTRACEBACK the report
 * shows every goroutine, as Go 1.19's gotraceback does for any throw (the
 * parked goroutine was missing: only the faulting one was shown).
 */
#include "gort.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static gort_chan *c;

__attribute__((noinline)) static void parked(void *arg) {
    (void)arg;
    gort_chan_recv(c, NULL);
}

__attribute__((noinline)) static void write_far(long v) {
    volatile long *p = (volatile long *)(uintptr_t)0x12345678;
    *p = v;
}

static int main_fn(void *arg) {
    (void)arg;
    c = gort_chan_make(sizeof(int), 0);
    if (gort_go(parked, NULL) != 0)
        return 1;
    /* Until parked is parked (as crash/sigquit.c: a hundred yields were
     * not always enough on a loaded machine). */
    static char buf[1 << 14];
    for (int64_t end = gort_nanotime() + 10 * 1000 * 1000 * 1000LL;;) {
        gort_stack(buf, sizeof buf, true);
        if (strstr(buf, "[chan receive]") != NULL || gort_nanotime() > end)
            break;
        gort_sleep(1000 * 1000);
    }
    write_far(42);
    fprintf(stderr, "sigsegv_fault_addr: write returned\n");
    return 0;
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigsegv_fault_addr: gort_main returned %d\n", r);
    return 0;
}
