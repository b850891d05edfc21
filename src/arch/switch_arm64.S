/*
 * switch_arm64.S - context switch for AArch64 (AAPCS64).  See arch.h for the
 * frame layout.  Saves x19-x28, fp (x29), lr (x30), d8-d15, sp and FPCR.
 */
    .text

#define FRAME 176

.macro SAVE_CTX
    sub sp, sp, #FRAME
    mrs x9, fpcr
    str x9, [sp, #0]
    stp x19, x20, [sp, #8]
    stp x21, x22, [sp, #24]
    stp x23, x24, [sp, #40]
    stp x25, x26, [sp, #56]
    stp x27, x28, [sp, #72]
    stp x29, x30, [sp, #88]
    stp d8, d9, [sp, #112]
    stp d10, d11, [sp, #128]
    stp d12, d13, [sp, #144]
    stp d14, d15, [sp, #160]
.endm

.macro RESTORE_CTX
    ldr x9, [sp, #0]
    msr fpcr, x9
    ldp x19, x20, [sp, #8]
    ldp x21, x22, [sp, #24]
    ldp x23, x24, [sp, #40]
    ldp x25, x26, [sp, #56]
    ldp x27, x28, [sp, #72]
    ldp x29, x30, [sp, #88]
    ldp d8, d9, [sp, #112]
    ldp d10, d11, [sp, #128]
    ldp d12, d13, [sp, #144]
    ldp d14, d15, [sp, #160]
    add sp, sp, #FRAME
.endm

/* void gort__ctx_switch(void **save_sp [x0], void *new_sp [x1]) */
    .globl gort__ctx_switch
    .hidden gort__ctx_switch
    .type gort__ctx_switch, %function
    .p2align 4
gort__ctx_switch:
    SAVE_CTX
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    RESTORE_CTX
    ret
    .size gort__ctx_switch, .-gort__ctx_switch

/* void gort__ctx_mcall(void **save_sp [x0], void *stack_top [x1], fn [x2], arg [x3]) */
    .globl gort__ctx_mcall
    .hidden gort__ctx_mcall
    .type gort__ctx_mcall, %function
    .p2align 4
gort__ctx_mcall:
    SAVE_CTX
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    mov x29, #0
    mov x30, #0
    mov x0, x3
    blr x2
    brk #0
    .size gort__ctx_mcall, .-gort__ctx_mcall

/* void gort__ctx_jump(void *new_sp [x0]) */
    .globl gort__ctx_jump
    .hidden gort__ctx_jump
    .type gort__ctx_jump, %function
    .p2align 4
gort__ctx_jump:
    mov sp, x0
    RESTORE_CTX
    ret
    .size gort__ctx_jump, .-gort__ctx_jump

/* void gort__ctx_switch_fresh(void **save_sp [x0], void *stack_top [x1],
 *                             fn [x2], arg [x3]): saves like gort__ctx_switch,
 * then starts fn(arg) on the untouched stack, with FPCR cleared (the ABI's
 * initial state).  See switch_amd64.S. */
    .globl gort__ctx_switch_fresh
    .hidden gort__ctx_switch_fresh
    .type gort__ctx_switch_fresh, %function
    .p2align 4
gort__ctx_switch_fresh:
    SAVE_CTX
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    mov x19, x2
    mov x20, x3
    msr fpcr, xzr
    b gort__ctx_start
    .size gort__ctx_switch_fresh, .-gort__ctx_switch_fresh

/* void gort__ctx_jump_fresh(void *stack_top [x0], fn [x1], arg [x2]) */
    .globl gort__ctx_jump_fresh
    .hidden gort__ctx_jump_fresh
    .type gort__ctx_jump_fresh, %function
    .p2align 4
gort__ctx_jump_fresh:
    mov sp, x0
    mov x19, x1
    mov x20, x2
    msr fpcr, xzr
    b gort__ctx_start
    .size gort__ctx_jump_fresh, .-gort__ctx_jump_fresh

/* First code of a fresh context: x19 = entry, x20 = arg. */
    .globl gort__ctx_start
    .hidden gort__ctx_start
    .type gort__ctx_start, %function
    .p2align 4
gort__ctx_start:
    mov x29, #0
    mov x30, #0
    mov x0, x20
    blr x19
    brk #0
    .size gort__ctx_start, .-gort__ctx_start

/* void gort_syscall_enter(void): as in switch_amd64.S, the caller's
 * callee-saved registers x19-x29 into this thread's gort__sysregs, then
 * on to proc.c's gort__syscall_enter with no frame of its own.  x16 and
 * x17 (the intra-procedure-call scratch registers) are free. */
    .globl gort_syscall_enter
    .type gort_syscall_enter, %function
    .p2align 4
gort_syscall_enter:
    mrs x16, tpidr_el0
    adrp x17, :gottprel:gort__sysregs
    ldr x17, [x17, #:gottprel_lo12:gort__sysregs]
    add x16, x16, x17
    stp x19, x20, [x16, #0]
    stp x21, x22, [x16, #16]
    stp x23, x24, [x16, #32]
    stp x25, x26, [x16, #48]
    stp x27, x28, [x16, #64]
    str x29, [x16, #80]
    b gort__syscall_enter
    .size gort_syscall_enter, .-gort_syscall_enter

    .section .note.GNU-stack,"",%progbits
