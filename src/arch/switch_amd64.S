/*
 * switch_amd64.S - context switch for x86-64 System V.  See arch.h for the
 * frame layout.  Saves only what the ABI says a callee must preserve:
 * rbx, rbp, r12-r15, rsp, the return address, MXCSR and the x87 control word.
 */
    .text

/* Pushes the callee-saved registers and the FP control words (the frame
 * arch.h describes) and stores the stack pointer at (%rdi). */
.macro SAVE_CTX
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
.endm
/* Pops the frame SAVE_CTX pushed, from %rsp, and returns into the context
 * that saved it. */
.macro RESTORE_CTX
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.endm

/* void gort__ctx_switch(void **save_sp [rdi], void *new_sp [rsi]) */
    .globl gort__ctx_switch
    .hidden gort__ctx_switch
    .type gort__ctx_switch, @function
    .p2align 4
gort__ctx_switch:
    .cfi_startproc
    SAVE_CTX
    movq %rsi, %rsp
    RESTORE_CTX
    .cfi_endproc
    .size gort__ctx_switch, .-gort__ctx_switch

/* void gort__ctx_mcall(void **save_sp [rdi], void *stack_top [rsi],
 *                      void (*fn)(void *) [rdx], void *arg [rcx]) */
    .globl gort__ctx_mcall
    .hidden gort__ctx_mcall
    .type gort__ctx_mcall, @function
    .p2align 4
gort__ctx_mcall:
    .cfi_startproc
    SAVE_CTX
    movq %rsi, %rsp
    /* On g0's stack now: fn's caller is the outermost frame, for
     * gdb and the CFI unwinders as for the frame-pointer chain (they
     * read a return address above g0's stack top, and `bt` ended in
     * "0x0000000000000000 in ?? ()"). */
    .cfi_undefined rip
    xorl %ebp, %ebp          /* end of the frame-pointer chain */
    movq %rcx, %rdi
    callq *%rdx
    ud2
    .cfi_endproc
    .size gort__ctx_mcall, .-gort__ctx_mcall

/* void gort__ctx_jump(void *new_sp [rdi]) */
    .globl gort__ctx_jump
    .hidden gort__ctx_jump
    .type gort__ctx_jump, @function
    .p2align 4
gort__ctx_jump:
    .cfi_startproc
    movq %rdi, %rsp
    RESTORE_CTX
    .cfi_endproc
    .size gort__ctx_jump, .-gort__ctx_jump

/* void gort__ctx_switch_fresh(void **save_sp [rdi], void *stack_top [rsi],
 *                             void (*fn)(void *) [rdx], void *arg [rcx])
 * Saves the current context like gort__ctx_switch, then starts fn(arg) on
 * the untouched stack whose 16-byte aligned top is stack_top, with the
 * ABI's initial MXCSR and x87 control word: a goroutine's first run needs
 * no frame built on its stack beforehand (by another thread, whose cache
 * would then hold that line). */
    .globl gort__ctx_switch_fresh
    .hidden gort__ctx_switch_fresh
    .type gort__ctx_switch_fresh, @function
    .p2align 4
gort__ctx_switch_fresh:
    .cfi_startproc
    SAVE_CTX
    movq %rsi, %rsp
    movq %rdx, %r12
    movq %rcx, %r13
    jmp gort__ctx_start_fp
    .cfi_endproc
    .size gort__ctx_switch_fresh, .-gort__ctx_switch_fresh

/* void gort__ctx_jump_fresh(void *stack_top [rdi], void (*fn)(void *) [rsi],
 *                           void *arg [rdx])
 * Like gort__ctx_switch_fresh, abandoning the current context. */
    .globl gort__ctx_jump_fresh
    .hidden gort__ctx_jump_fresh
    .type gort__ctx_jump_fresh, @function
    .p2align 4
gort__ctx_jump_fresh:
    .cfi_startproc
    movq %rdi, %rsp
    movq %rsi, %r12
    movq %rdx, %r13
    jmp gort__ctx_start_fp
    .cfi_endproc
    .size gort__ctx_jump_fresh, .-gort__ctx_jump_fresh

/* The initial floating-point control state, then gort__ctx_start. */
    .p2align 4
    .type gort__ctx_start_fp, @function
gort__ctx_start_fp:
    .cfi_startproc
    .cfi_undefined rip
    ldmxcsr ctx_mxcsr_init(%rip)
    fldcw ctx_fpucw_init(%rip)
    jmp gort__ctx_start
    .cfi_endproc
    .size gort__ctx_start_fp, .-gort__ctx_start_fp

    .section .rodata
    .p2align 2
ctx_mxcsr_init:
    .long 0x1f80             /* all exceptions masked, round to nearest */
ctx_fpucw_init:
    .word 0x037f
    .text

/* First code of a fresh context: r12 = entry, r13 = arg.  Entered by a jump
 * from gort__ctx_start_fp with rsp 16-byte aligned (the stack's top). */
    .globl gort__ctx_start
    .hidden gort__ctx_start
    .type gort__ctx_start, @function
    .p2align 4
gort__ctx_start:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %r13, %rdi
    callq *%r12
    ud2
    .cfi_endproc
    .size gort__ctx_start, .-gort__ctx_start

/* void gort_syscall_enter(void): the public entry of proc.c's
 * gort__syscall_enter.  Stores the caller's callee-saved registers (rbx,
 * rbp, r12-r15) in this thread's gort__sysregs, for the collector (a
 * pointer the caller keeps in one of them across the blocking call is on
 * no stack), and jumps there: no frame of its own, so that function sees
 * the user's frame as its caller, as if called directly.  rax is free
 * (caller-saved, not an argument). */
    .globl gort_syscall_enter
    .type gort_syscall_enter, @function
    .p2align 4
gort_syscall_enter:
    .cfi_startproc
    movq gort__sysregs@gottpoff(%rip), %rax
    movq %rbx, %fs:0(%rax)
    movq %rbp, %fs:8(%rax)
    movq %r12, %fs:16(%rax)
    movq %r13, %fs:24(%rax)
    movq %r14, %fs:32(%rax)
    movq %r15, %fs:40(%rax)
    jmp gort__syscall_enter
    .cfi_endproc
    .size gort_syscall_enter, .-gort_syscall_enter

    .section .note.GNU-stack,"",@progbits

