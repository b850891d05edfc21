/*
 * switch_amd64.S - context switch for x86-64 System V.  See arch.h for the
 * frame layout.  Saves only what the ABI says a callee must preserve:
 * rbx, rbp, r12-r15, rsp, the return address, MXCSR and the x87 control word.
 */
    .text

/* void gort__ctx_switch(void **save_sp [rdi], void *new_sp [rsi]) */
    .globl gort__ctx_switch
    .hidden gort__ctx_switch
    .type gort__ctx_switch, @function
    .p2align 4
gort__ctx_switch:
    .cfi_startproc
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
    movq %rsi, %rsp
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
    movq %rsi, %rsp
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
    .cfi_endproc
    .size gort__ctx_jump, .-gort__ctx_jump

/* First code of a fresh context: r12 = entry, r13 = arg (see gort__ctx_make).
 * Entered by `ret` with rsp 16-byte aligned. */
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

    .section .note.GNU-stack,"",@progbits
