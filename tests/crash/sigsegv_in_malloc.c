// EXPECT-EXIT: 2
// EXPECT-STDERR: panic: runtime error: invalid memory address or nil pointer dereference
// EXPECT-STDERR: [signal SIGSEGV: segmentation violation
// EXPECT-STDERR: goroutine
// EXPECT-STDERR: [running]:
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:handle_segv=0
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:handle_segv=0
/*
 * A fault inside malloc, on a heap the program corrupted: glibc's malloc
 * faults with its arena locked, and the report's symbolisation (the symbol
 * table, libdw, the thread it starts) mallocs.  Made in the fault handler,
 * on the faulting thread, the report waited for that lock for ever after
 * its first line; sysmon makes it now (signal_linux.c).  The corruption:
 * a freed chunk in the unsorted bin gets a wild back link, and the next
 * malloc that walks the bin reads through it.  The sanitizers' allocators
 * keep no such links: under them the goroutine reads page 0 instead, and
 * only the report is checked (ASan's own fault handler, installed before
 * gort_main, would get that fault: handle_segv=0 leaves it to gort's).
 */
#include "gort.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GLIBC_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GLIBC_MALLOC 0
#endif
#endif
#ifndef GLIBC_MALLOC
#define GLIBC_MALLOC 1
#endif

static void *volatile sink;

__attribute__((noinline)) static void corrupt(void *arg) {
    (void)arg;
#if GLIBC_MALLOC
    /* Three chunks in a row, so that the middle one, freed, merges with
     * neither neighbour nor the top chunk and goes to the unsorted bin
     * whole (its size is above tcache's).  Retried until malloc carves
     * them from one run of memory rather than from old free chunks. */
    static char *volatile chunk; /* the write after free is the point */
    for (int i = 0; i < 1000; i++) {
        char *a = malloc(0x500), *b = malloc(0x500), *c = malloc(0x500);
        if (b == a + 0x510 && c == b + 0x510) {
            chunk = b;
            break;
        }
    }
    if (chunk == NULL) {
        fprintf(stderr, "sigsegv_in_malloc: no three adjacent chunks\n");
        exit(1);
    }
    free(chunk);
    ((void *volatile *)chunk)[1] = (void *)0x4242424242424242ULL; /* its back link */
    sink = malloc(0x600); /* walks the unsorted bin with the arena locked */
#else
    /* 16, not NULL: UBSan reports a load through a null pointer itself. */
    sink = *(void *volatile *)((uintptr_t)sink + 16); /* sink is NULL */
#endif
    fprintf(stderr, "sigsegv_in_malloc: malloc did not fault\n");
}

static int main_fn(void *arg) {
    (void)arg;
    if (gort_go(corrupt, NULL) != 0)
        return 1;
    for (;;)
        gort_yield();
}

int main(void) {
    int r = gort_main(main_fn, NULL);
    fprintf(stderr, "sigsegv_in_malloc: gort_main returned %d\n", r);
    return 0;
}
