/*
 * san.c - which sanitizer runtimes the program was linked with (san.h).
 *
 * The weak references of san.h are resolved by the dynamic linker before
 * any constructor of ours runs, and never change: reading them once into a
 * byte makes each hook on the non-sanitized path one test of a byte in our
 * own data and a predictable branch (instead of a load of a GOT entry).
 */
#include "san.h"

unsigned char gort__san_mode;

__attribute__((constructor)) static void san_mode_init(void) {
    unsigned char mode = 0;
    if (__tsan_acquire != NULL && __tsan_switch_to_fiber != NULL && __tsan_create_fiber != NULL)
        mode |= GORT_SAN_MODE_TSAN;
    if (__sanitizer_start_switch_fiber != NULL && __sanitizer_finish_switch_fiber != NULL)
        mode |= GORT_SAN_MODE_ASAN;
    if (__lsan_register_root_region != NULL && __lsan_unregister_root_region != NULL)
        mode |= GORT_SAN_MODE_LSAN;
    gort__san_mode = mode;
}

void gort__san_switch_begin(void **fake_save, const void *to_bottom, size_t to_size,
                            void *to_fiber) {
    if (san_asan_on())
        __sanitizer_start_switch_fiber(fake_save, to_bottom, to_size);
    if (san_tsan_on() && to_fiber != NULL)
        __tsan_switch_to_fiber(to_fiber, GORT_SAN_SWITCH_FLAGS);
}

void gort__san_switch_end(void *fake, const void **old_bottom, size_t *old_size) {
    __sanitizer_finish_switch_fiber(fake, old_bottom, old_size);
}

void *gort__san_fiber_create(void) {
    return __tsan_create_fiber(0);
}

void gort__san_fiber_destroy(void *fiber) {
    __tsan_destroy_fiber(fiber);
}

void *gort__san_fiber_current(void) {
    return __tsan_get_current_fiber();
}

void gort__san_acquire(const void *addr) {
    __tsan_acquire((void *)addr);
}

void gort__san_release(const void *addr) {
    __tsan_release((void *)addr);
}

void gort__san_acqrel(const void *addr) {
    __tsan_acquire((void *)addr);
    __tsan_release((void *)addr);
}

void gort__san_access(const void *addr, void *pc, bool write) {
    if (write)
        __tsan_write1_pc((void *)addr, pc);
    else
        __tsan_read1_pc((void *)addr, pc);
}

void gort__san_ignore(bool begin) {
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

void gort__san_unpoison(const void *addr, size_t size) {
    __asan_unpoison_memory_region(addr, size);
}

void gort__san_no_return(void) {
    __asan_handle_no_return();
}

void gort__san_root(const void *p, size_t size, bool add) {
    if (add)
        __lsan_register_root_region(p, size);
    else
        __lsan_unregister_root_region(p, size);
}
