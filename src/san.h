/*
 * san.h - telling AddressSanitizer, ThreadSanitizer and Valgrind about our
 * stack switches.  Every switch in proc.c is bracketed:
 *
 *   san_switch_begin(fake_save, to_bottom, to_size, to_fiber)
 *   <switch>
 *   san_switch_end(fake, old_bottom, old_size)  -- first thing on the new stack
 *
 * ASan: __sanitizer_start_switch_fiber before (a dying context passes a
 * NULL fake_save, so that its fake stack is released),
 * __sanitizer_finish_switch_fiber after, with the fake stack the
 * destination saved when it last left.
 * TSan: __tsan_switch_to_fiber just before the switch; each g owns a fiber
 * made by __tsan_create_fiber.  Valgrind: stacks are registered with
 * VALGRIND_STACK_REGISTER when running under it.
 */
#ifndef GORT_SAN_H
#define GORT_SAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define GORT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GORT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORT_TSAN 1
#endif
#endif

#ifdef GORT_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#ifdef GORT_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_set_fiber_name(void *fiber, const char *name);
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GORT_HAVE_VALGRIND 1
#endif

/* For functions that run on g0 and never return (schedule, execute, the
 * mcall continuations): their frames are abandoned at every switch, so
 * ThreadSanitizer's per-fiber shadow stack would only ever grow.  They get
 * no entry/exit records (and no access checks; what they touch is owned by
 * the M or published through atomics that the callees check). */
#if defined(GORT_TSAN) && defined(__clang__)
#define GORT_NO_TSAN_FRAME __attribute__((disable_sanitizer_instrumentation))
#elif defined(GORT_TSAN)
#define GORT_NO_TSAN_FRAME __attribute__((no_sanitize_thread))
#else
#define GORT_NO_TSAN_FRAME
#endif

/* Called on the old stack, right before switching. */
static inline __attribute__((always_inline)) void
san_switch_begin(void **fake_save, const void *to_bottom, size_t to_size, void *to_fiber) {
#ifdef GORT_ASAN
    __sanitizer_start_switch_fiber(fake_save, to_bottom, to_size);
#else
    (void)fake_save;
    (void)to_bottom;
    (void)to_size;
#endif
#ifdef GORT_TSAN
    __tsan_switch_to_fiber(to_fiber, 0);
#else
    (void)to_fiber;
#endif
}

/* Called first thing on the new stack. */
static inline __attribute__((always_inline)) void
san_switch_end(void *fake, const void **old_bottom, size_t *old_size) {
#ifdef GORT_ASAN
    __sanitizer_finish_switch_fiber(fake, old_bottom, old_size);
#else
    (void)fake;
    (void)old_bottom;
    (void)old_size;
#endif
}

static inline __attribute__((always_inline)) void *san_fiber_create(void) {
#ifdef GORT_TSAN
    return __tsan_create_fiber(0);
#else
    return NULL;
#endif
}

static inline __attribute__((always_inline)) void san_fiber_destroy(void *fiber) {
#ifdef GORT_TSAN
    if (fiber)
        __tsan_destroy_fiber(fiber);
#else
    (void)fiber;
#endif
}

static inline __attribute__((always_inline)) void *san_fiber_current(void) {
#ifdef GORT_TSAN
    return __tsan_get_current_fiber();
#else
    return NULL;
#endif
}

static inline __attribute__((always_inline)) void san_unpoison(const void *addr, size_t size) {
#ifdef GORT_ASAN
    __asan_unpoison_memory_region(addr, size);
#else
    (void)addr;
    (void)size;
#endif
}

static inline __attribute__((always_inline)) unsigned san_valgrind_register(const void *lo,
                                                                            const void *hi) {
#ifdef GORT_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return VALGRIND_STACK_REGISTER(lo, hi);
#else
    (void)lo;
    (void)hi;
#endif
    return 0;
}

static inline __attribute__((always_inline)) void san_valgrind_deregister(unsigned id) {
#ifdef GORT_HAVE_VALGRIND
    if (id && RUNNING_ON_VALGRIND)
        VALGRIND_STACK_DEREGISTER(id);
#else
    (void)id;
#endif
}

#endif /* GORT_SAN_H */
