/*
 * arch.h - the context-switch contract each architecture implements in
 * switch_<arch>.S.
 *
 * A saved context is a single stack pointer: the switch pushes the
 * callee-saved registers, the floating-point control words and the return
 * address on the stack it leaves, and stores the resulting stack pointer.
 * Resuming pops them from the stack it enters.  Nothing else is saved: the
 * switch is a call, so caller-saved registers are dead across it, and the
 * signal mask is per thread (never swapcontext, which makes a syscall).
 *
 * x86-64 frame, from the saved sp upward (8-byte slots):
 *   [0] mxcsr (low 4 bytes) | x87 control word (bytes 4-5)
 *   [1] r15  [2] r14  [3] r13  [4] r12  [5] rbx  [6] rbp  [7] return address
 * arm64 frame, from the saved sp upward (8-byte slots):
 *   [0] fpcr  [1] x19 ... [10] x28  [11] x29 (fp)  [12] x30 (lr)
 *   [13] pad  [14] d8 ... [21] d15
 */
#ifndef GORT_ARCH_H
#define GORT_ARCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct gort__ctx {
    void *sp; /* saved stack pointer; the frame above it holds the registers */
} gort__ctx;

/* Saves the current context into *save_sp and resumes new_sp. */
void gort__ctx_switch(void **save_sp, void *new_sp);
/* Saves the current context into *save_sp, switches to the fresh stack top
 * stack_top (16-byte aligned) and calls fn(arg) there; fn must not return. */
void gort__ctx_mcall(void **save_sp, void *stack_top, void (*fn)(void *), void *arg);
/* Resumes new_sp, abandoning the current context. */
__attribute__((noreturn)) void gort__ctx_jump(void *new_sp);

/* Saves the current context into *save_sp, then runs fn(arg) on the
 * unused stack whose top (16-byte aligned) is stack_top, with the ABI's
 * initial floating-point control state.  fn must not return.  Nothing is
 * written to that stack before the switch, so the thread that prepares a
 * context need not be the one that runs it (a frame built there in advance
 * would be a cache line moved from one to the other). */
void gort__ctx_switch_fresh(void **save_sp, void *stack_top, void (*fn)(void *), void *arg);
/* The same, abandoning the current context. */
__attribute__((noreturn)) void gort__ctx_jump_fresh(void *stack_top, void (*fn)(void *), void *arg);

/* The current stack pointer (approximate: the caller's frame). */
static inline uintptr_t gort__getsp(void) {
    return (uintptr_t)__builtin_frame_address(0);
}

/* gort_syscall_enter (switch_<arch>.S) stores its caller's callee-saved
 * registers here (x86-64: rbx, rbp, r12-r15; arm64: x19-x29), for proc.c
 * to keep in the goroutine while it is in the blocking call. */
#if defined(__x86_64__)
#define GORT__SYSREGS 6
#elif defined(__aarch64__)
#define GORT__SYSREGS 11
#endif
extern __thread uintptr_t gort__sysregs[GORT__SYSREGS] __attribute__((tls_model("initial-exec")));

#if defined(__x86_64__)
#define GORT__CTX_FRAME_WORDS 8
static inline void gort__cpu_relax(void) {
    __asm__ volatile("pause" ::: "memory");
}
/* Fetches the cache line at p for writing (in exclusive state), so that a
 * store to it soon after need not wait for another core to give it up.
 * PREFETCHW is a no-op on x86-64 CPUs without it; compilers only emit it
 * with -mprfchw, hence the asm. */
static inline void gort__prefetchw(const void *p) {
    __asm__("prefetchw %0" ::"m"(*(const char *)p));
}
#elif defined(__aarch64__)
#define GORT__CTX_FRAME_WORDS 22
static inline void gort__cpu_relax(void) {
    __asm__ volatile("yield" ::: "memory");
}
static inline void gort__prefetchw(const void *p) {
    __builtin_prefetch(p, 1, 3); /* prfm pstl1keep */
}
#else
#error "gort supports x86-64 and arm64"
#endif

#endif /* GORT_ARCH_H */
