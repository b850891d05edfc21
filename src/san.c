/*
 * san.c - which sanitizer runtimes the program was linked with (san.h).
 *
 * The weak references of san.h are resolved by the dynamic linker before
 * any constructor of ours runs, and never change: reading them once into a
 * byte makes each hook on the non-sanitized path one test of a byte in our
 * own data and a predictable branch (instead of a load of a GOT entry).
 */
#include "san.h"

#include "internal.h"

unsigned char gort__san_mode;

__attribute__((constructor)) static void san_mode_init(void) {
    unsigned char mode = 0;
#ifdef GORT_TSAN
    mode |= GORT_SAN_MODE_TSAN; /* instrumented: the references are strong */
#else
    if (__tsan_acquire != NULL && __tsan_switch_to_fiber != NULL && __tsan_create_fiber != NULL)
        mode |= GORT_SAN_MODE_TSAN;
#endif
#ifdef GORT_ASAN
    mode |= GORT_SAN_MODE_ASAN;
#else
    if (__sanitizer_start_switch_fiber != NULL && __sanitizer_finish_switch_fiber != NULL)
        mode |= GORT_SAN_MODE_ASAN;
#endif
    if (__lsan_register_root_region != NULL && __lsan_unregister_root_region != NULL)
        mode |= GORT_SAN_MODE_LSAN;
    gort__san_mode = mode;
}

/* None of these is instrumented (GORT_NO_TSAN_FRAME): in the tsan preset a
 * function that switches fibers must not record its own exit on the
 * fiber it switched to. */
GORT_NO_TSAN_FRAME void gort__san_switch_begin(void **fake_save, const void *to_bottom,
                                               size_t to_size, void *to_fiber) {
    if (san_asan_on())
        __sanitizer_start_switch_fiber(fake_save, to_bottom, to_size);
    if (san_tsan_on() && to_fiber != NULL)
        __tsan_switch_to_fiber(to_fiber, GORT_SAN_SWITCH_FLAGS);
}

GORT_NO_TSAN_FRAME void gort__san_switch_end(void *fake, const void **old_bottom,
                                             size_t *old_size) {
    __sanitizer_finish_switch_fiber(fake, old_bottom, old_size);
}

GORT_NO_TSAN_FRAME void *gort__san_fiber_create(void) {
    return __tsan_create_fiber(0);
}

GORT_NO_TSAN_FRAME void *gort__san_fiber_current(void) {
    return __tsan_get_current_fiber();
}

GORT_NO_TSAN_FRAME void gort__san_acquire(const void *addr) {
    __tsan_acquire((void *)addr);
}

GORT_NO_TSAN_FRAME void gort__san_release(const void *addr) {
    __tsan_release((void *)addr);
}

GORT_NO_TSAN_FRAME void gort__san_acqrel(const void *addr) {
    __tsan_acquire((void *)addr);
    __tsan_release((void *)addr);
}

GORT_NO_TSAN_FRAME void gort__san_access(const void *addr, void *pc, bool write) {
    if (write)
        __tsan_write1_pc((void *)addr, pc);
    else
        __tsan_read1_pc((void *)addr, pc);
}

GORT_NO_TSAN_FRAME void gort__san_ignore(bool begin) {
    if (AnnotateIgnoreWritesBegin == NULL || AnnotateIgnoreWritesEnd == NULL)
        return;
    if (begin) {
        AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
        AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
    } else {
        AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
        AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    }
}

GORT_NO_TSAN_FRAME void gort__san_unpoison(const void *addr, size_t size) {
    __asan_unpoison_memory_region(addr, size);
}

GORT_NO_TSAN_FRAME void gort__san_no_return(void) {
    __asan_handle_no_return();
}

/* LSan's root registry is under its global mutex: a stop of the world that
 * suspended this thread while it holds it would wait forever for a thread
 * that needs it before it can stop (a goroutine's exit unregisters its
 * stack on g0, holding its P).  So the preemption signal neither preempts
 * nor suspends the thread in here (gort__acquirem), as for a runtime
 * lock: it stops at the section's end.  asan-ubsan's
 * heap.assists_hold_the_goal hung that way under load. */
GORT_NO_TSAN_FRAME void gort__san_root(const void *p, size_t size, bool add) {
    gort__acquirem();
    if (add)
        __lsan_register_root_region(p, size);
    else
        __lsan_unregister_root_region(p, size);
    gort__releasem();
}

GORT_NO_TSAN_FRAME void gort__san_fiber_destroy(void *fiber) {
    __tsan_destroy_fiber(fiber);
}

/* gdb support (gdb/gort-gdb.py): embedded in a .debug_gdb_scripts section,
 * so gdb loads it with libgort (shared or static) where its auto-load
 * safe-path allows; also installed in gdb's auto-load directory. */
#if defined(GORT_GDB_SCRIPT) && defined(__ELF__)
__asm__(".pushsection .debug_gdb_scripts, \"MS\",@progbits,1\n"
        ".byte 4\n"
        ".ascii \"gdb.inlined-script.gort\\n\"\n"
        ".incbin \"" GORT_GDB_SCRIPT "\"\n"
        ".byte 0\n"
        ".popsection\n");
#endif

GORT_NO_TSAN_FRAME void gort__san_forget(const void *lo, size_t size) {
    if (__tsan_java_free == NULL || __tsan_java_alloc == NULL)
        return;
    uintptr_t p = ((uintptr_t)lo + 7) & ~(uintptr_t)7;
    size_t n = (size - (p - (uintptr_t)lo)) & ~(size_t)7;
    __tsan_java_free(p, n);
    __tsan_java_alloc(p, n);
}
