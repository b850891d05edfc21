// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: runtime error: invalid memory address or nil pointer dereference
// EXPECT-STDERR: [signal SIGSEGV: segmentation violation code=
// EXPECT-STDERR: addr=0x10 pc=
// EXPECT-STDERR: goroutine
// EXPECT-STDERR: [running]:
// EXPECT-STDERR: write_nil(...)
// EXPECT-STDERR: sigsegv_nil.c:
// EXPECT-STDERR: faulter(...)
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:handle_segv=0
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0:handle_segv=0
/*
 * A write through a NULL struct pointer in a goroutine: Go's nil-pointer
 * report, the signal line, then the goroutine's traceback from the faulting
 * instruction.  (ASan and TSan would catch the SIGSEGV themselves: their
 * handlers are the program's, installed before gort_main, and a fault of
 * the program's code goes there; handle_segv=0 leaves it to gort's.  TSan would report the dump's allocations inside
 * the handler as signal-unsafe: report_signal_unsafe=0.)
 */
#include "gort.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct s {
    long a, b;
    long c;
};

static struct s *volatile nil;

__attribute__((noinline)) static void write_nil(long v) {
    /* Same fault as nil->c = v (address 0x10), written through an address
     * made from an integer so that UBSan's null check does not stop it
     * first. */
    volatile long *p = (volatile long *)((uintptr_t)nil + offsetof(struct s, c));
    *p = v;
}

__attribute__((noinline)) static void faulter(void *arg) {
    (void)arg;
    write_nil(42);
    fprintf(stderr, "sigsegv_nil: write returned\n");
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(faulter, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigsegv_nil: gort_main returned %d\n", r);
    return 0;
}
