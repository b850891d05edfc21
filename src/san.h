/*
 * san.h - telling AddressSanitizer, ThreadSanitizer, LeakSanitizer and
 * Valgrind about our stack switches and synchronisation.
 *
 * One library serves every program (decision, docs/HACKING.md "Race mode"):
 * the sanitizers' entry points are weak references, resolved at load time
 * to the runtime the user's program was linked with (-fsanitize=thread or
 * =address brings libtsan/libasan, which define them) and NULL otherwise.
 * A constructor (san.c) notes which are there in gort__san_mode: each hook
 * below is then one test of that byte and a predictable branch on the
 * non-sanitized path.  The project's own sanitizer presets
 * compile the library itself instrumented (GORT_TSAN / GORT_ASAN): there
 * the references are strong and the checks constant.
 *
 * Every switch in proc.c is bracketed:
 *
 *   san_switch_begin(fake_save, to_bottom, to_size, to_fiber)
 *   <switch>
 *   san_switch_end(fake, old_bottom, old_size)  -- first thing on the new stack
 *
 * ASan: __sanitizer_start_switch_fiber before (a dying context passes a
 * NULL fake_save, so that its fake stack is released),
 * __sanitizer_finish_switch_fiber after, with the fake stack the
 * destination saved when it last left.
 * TSan: __tsan_switch_to_fiber just before the switch; each live g owns a
 * fiber made by __tsan_create_fiber.  When the library is not instrumented
 * the switch does not synchronise (__tsan_switch_to_fiber_no_sync): the
 * happens-before edges are then exactly the ones the runtime announces with
 * san_acquire/san_release, as Go's race mode does (raceacquire/racerelease
 * in chan.go, sema.go and sync).  An instrumented library (the tsan preset)
 * keeps synchronising switches: its own accesses to a g's fields across a
 * switch are ordered only by the switch.
 * Valgrind: stacks are registered with VALGRIND_STACK_REGISTER when running
 * under it.
 */
#ifndef GORT_SAN_H
#define GORT_SAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__) && !defined(GORT_ASAN)
#define GORT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(GORT_ASAN)
#define GORT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(GORT_TSAN)
#define GORT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) && !defined(GORT_TSAN)
#define GORT_TSAN 1
#endif
#endif

#ifdef GORT_ASAN
#define GORT_SAN_ASAN_REF
#else
#define GORT_SAN_ASAN_REF __attribute__((weak))
#endif
#ifdef GORT_TSAN
#define GORT_SAN_TSAN_REF
#else
#define GORT_SAN_TSAN_REF __attribute__((weak))
#endif

/* AddressSanitizer (libasan; LeakSanitizer's entry points live there and in
 * liblsan). */
GORT_SAN_ASAN_REF void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                                      size_t size);
GORT_SAN_ASAN_REF void __sanitizer_finish_switch_fiber(void *fake_stack_save,
                                                       const void **bottom_old, size_t *size_old);
GORT_SAN_ASAN_REF void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
GORT_SAN_ASAN_REF void __asan_handle_no_return(void);
__attribute__((weak)) void __lsan_register_root_region(const void *p, size_t size);
__attribute__((weak)) void __lsan_unregister_root_region(const void *p, size_t size);

/* ThreadSanitizer (libtsan). */
GORT_SAN_TSAN_REF void *__tsan_get_current_fiber(void);
GORT_SAN_TSAN_REF void *__tsan_create_fiber(unsigned flags);
GORT_SAN_TSAN_REF void __tsan_destroy_fiber(void *fiber);
GORT_SAN_TSAN_REF void __tsan_switch_to_fiber(void *fiber, unsigned flags);
GORT_SAN_TSAN_REF void __tsan_acquire(void *addr);
GORT_SAN_TSAN_REF void __tsan_release(void *addr);
GORT_SAN_TSAN_REF void __tsan_read1_pc(void *addr, void *pc);
GORT_SAN_TSAN_REF void __tsan_write1_pc(void *addr, void *pc);
/* The Java interface's allocation hooks: the C-callable way to forget the
 * accesses recorded for a range (shadow, sync objects). */
__attribute__((weak)) void __tsan_java_alloc(unsigned long ptr, unsigned long size);
__attribute__((weak)) void __tsan_java_free(unsigned long ptr, unsigned long size);
__attribute__((weak)) void AnnotateIgnoreReadsBegin(const char *file, int line);
__attribute__((weak)) void AnnotateIgnoreReadsEnd(const char *file, int line);
__attribute__((weak)) void AnnotateIgnoreWritesBegin(const char *file, int line);
__attribute__((weak)) void AnnotateIgnoreWritesEnd(const char *file, int line);

/* The runtimes present, set once by a constructor (san.c). */
#define GORT_SAN_MODE_TSAN 1
#define GORT_SAN_MODE_ASAN 2
#define GORT_SAN_MODE_LSAN 4
extern unsigned char gort__san_mode;
#define san_any_on() __builtin_expect(gort__san_mode != 0, 0)
#ifdef GORT_TSAN
#define san_tsan_on() 1
#define GORT_SAN_SWITCH_FLAGS 0u
#else
#define san_tsan_on() __builtin_expect((gort__san_mode & GORT_SAN_MODE_TSAN) != 0, 0)
#define GORT_SAN_SWITCH_FLAGS 1u /* __tsan_switch_to_fiber_no_sync */
#endif
#ifdef GORT_ASAN
#define san_asan_on() 1
#else
#define san_asan_on() __builtin_expect((gort__san_mode & GORT_SAN_MODE_ASAN) != 0, 0)
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

/*
 * The hooks.  Each is an inline test of gort__san_mode and, when a
 * sanitizer is there, a call of its out-of-line body in san.c (cold, so
 * that the hot paths that hold hooks keep their size and their inlining).
 */
#define GORT_SAN_COLD __attribute__((cold, noinline))
GORT_SAN_COLD void gort__san_switch_begin(void **fake_save, const void *to_bottom, size_t to_size,
                                          void *to_fiber);
GORT_SAN_COLD void gort__san_switch_end(void *fake, const void **old_bottom, size_t *old_size);
GORT_SAN_COLD void *gort__san_fiber_create(void);
GORT_SAN_COLD void gort__san_fiber_destroy(void *fiber);
GORT_SAN_COLD void *gort__san_fiber_current(void);
GORT_SAN_COLD void gort__san_acquire(const void *addr);
GORT_SAN_COLD void gort__san_release(const void *addr);
GORT_SAN_COLD void gort__san_acqrel(const void *addr);
GORT_SAN_COLD void gort__san_access(const void *addr, void *pc, bool write);
GORT_SAN_COLD void gort__san_ignore(bool begin);
GORT_SAN_COLD void gort__san_unpoison(const void *addr, size_t size);
GORT_SAN_COLD void gort__san_no_return(void);
GORT_SAN_COLD void gort__san_root(const void *p, size_t size, bool add);
GORT_SAN_COLD void gort__san_forget(const void *lo, size_t size);

/* Called on the old stack, right before switching. */
static inline __attribute__((always_inline)) void
san_switch_begin(void **fake_save, const void *to_bottom, size_t to_size, void *to_fiber) {
    if (san_any_on())
        gort__san_switch_begin(fake_save, to_bottom, to_size, to_fiber);
}

/* Called first thing on the new stack. */
static inline __attribute__((always_inline)) void
san_switch_end(void *fake, const void **old_bottom, size_t *old_size) {
    if (san_asan_on())
        gort__san_switch_end(fake, old_bottom, old_size);
}

static inline __attribute__((always_inline)) void *san_fiber_create(void) {
    return san_tsan_on() ? gort__san_fiber_create() : NULL;
}

static inline __attribute__((always_inline)) void san_fiber_destroy(void *fiber) {
    if (san_tsan_on() && fiber != NULL)
        gort__san_fiber_destroy(fiber);
}

static inline __attribute__((always_inline)) void *san_fiber_current(void) {
    return san_tsan_on() ? gort__san_fiber_current() : NULL;
}

/*
 * Happens-before edges (Go's raceacquire / racerelease).  addr names a
 * synchronisation object: the user's gort_mutex, a channel, one slot of a
 * channel's buffer, a waiter's sudog.  Everything the current goroutine did
 * before san_release(a) happens before everything it does after a later
 * san_acquire(a) on any goroutine.  san_acqrel is Go's racenotify for a
 * buffer slot: the k-th receive from it synchronises with the k-th send,
 * and the k-th send with the (k-C)-th receive.
 */
static inline __attribute__((always_inline)) void san_acquire(const void *addr) {
    if (san_tsan_on())
        gort__san_acquire(addr);
}
static inline __attribute__((always_inline)) void san_release(const void *addr) {
    if (san_tsan_on())
        gort__san_release(addr);
}
static inline __attribute__((always_inline)) void san_acqrel(const void *addr) {
    if (san_tsan_on())
        gort__san_acqrel(addr);
}
/* A read or write of the object at addr by the user's code at pc (Go's
 * racereadpc on c.raceaddr() in chansend, racewritepc in closechan): an
 * unsynchronised close and send on one channel are a race. */
#ifdef GORT_TSAN
/* The instrumented library (tsan preset) accesses these words itself,
 * atomically: a pretended plain access would race with them. */
#define san_read(addr, pc) ((void)(addr), (void)(pc))
#define san_write(addr, pc) ((void)(addr), (void)(pc))
#else
static inline __attribute__((always_inline)) void san_read(const void *addr, void *pc) {
    if (san_tsan_on())
        gort__san_access(addr, pc, false);
}
static inline __attribute__((always_inline)) void san_write(const void *addr, void *pc) {
    if (san_tsan_on())
        gort__san_access(addr, pc, true);
}
#endif

/*
 * The library is not instrumented, but the calls it makes to malloc, free,
 * memcpy, memset, close, ... are intercepted by ThreadSanitizer and count as
 * accesses of the current fiber.  The runtime's own memory is ordered by
 * the runtime's atomics, which TSan does not see: so such calls are made
 * between san_ignore_begin and san_ignore_end (the allocation wrappers of
 * fault.h, element copies between goroutines' variables), and g0, sysmon
 * and gort_main's set-up and tear-down ignore them for good.  Only memory
 * accesses are ignored; the acquire/release edges above still count.
 */
static inline __attribute__((always_inline)) void san_ignore_begin(void) {
    if (san_tsan_on())
        gort__san_ignore(true);
}
static inline __attribute__((always_inline)) void san_ignore_end(void) {
    if (san_tsan_on())
        gort__san_ignore(false);
}

/* Memory that will have a new owner (a stack for a new goroutine, a heap
 * object the collector frees, a page the heap commits): TSan forgets the
 * accesses of its earlier owners, as Go's race runtime does (racemalloc,
 * racefree), instead of reporting them as races with the new one. */
static inline __attribute__((always_inline)) void san_forget(const void *lo, size_t size) {
    if (san_tsan_on())
        gort__san_forget(lo, size);
}

static inline __attribute__((always_inline)) void san_unpoison(const void *addr, size_t size) {
    if (san_asan_on())
        gort__san_unpoison(addr, size);
}

/* Before a jump that abandons frames (a recovered panic): ASan clears the
 * redzones of the current stack below the jump's target. */
static inline __attribute__((always_inline)) void san_no_return(void) {
    if (san_asan_on())
        gort__san_no_return();
}

/* LeakSanitizer scans thread stacks, globals and registered root regions:
 * a goroutine stack (mmap'd by the runtime) is a root while it is live. */
static inline __attribute__((always_inline)) void san_root_add(const void *p, size_t size) {
    if (__builtin_expect((gort__san_mode & GORT_SAN_MODE_LSAN) != 0, 0))
        gort__san_root(p, size, true);
}
static inline __attribute__((always_inline)) void san_root_del(const void *p, size_t size) {
    if (__builtin_expect((gort__san_mode & GORT_SAN_MODE_LSAN) != 0, 0))
        gort__san_root(p, size, false);
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
