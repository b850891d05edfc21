/*
 * preempt_amd64.S - the trampoline the preemption signal handler redirects
 * a goroutine's thread into (Go's asyncPreempt, preempt_amd64.s).
 *
 * The handler (preempt.c) leaves the interrupted stack pointer S untouched
 * for 128 bytes (the System V red zone, where a leaf function may keep
 * data below its sp), stores the address to return to at S - 136 and the
 * interrupted rbp at S - 144, and points rsp and rbp there and rip here:
 * the trampoline is entered as if called from the interrupted instruction,
 * with its frame already made, so that a frame-pointer walk from any of
 * its instructions (a profiling signal right after the handler returns)
 * passes through the interrupted function.  It saves every general
 * register and rflags, then the whole extended state (x87, SSE/AVX/AVX-512,
 * MXCSR) with xsave, or fxsave on a CPU without it, empties the x87
 * register stack, and calls gort__sigtramp_go with a pointer to the saved
 * general registers (layout in preempt.c, TR_*).
 * That may yield the goroutine (which resumes on this same thread) or run
 * a system call on its behalf, writing the result into the saved rax.
 * Then everything is restored and `ret $128` returns to the interrupted pc
 * with rsp = S.
 */
    .text

    .globl gort__sigtramp
    .hidden gort__sigtramp
    .type gort__sigtramp, @function
    .p2align 4
gort__sigtramp:
    .cfi_startproc
    /* The frame: [rbp] the interrupted rbp, [rbp+8] the interrupted pc,
     * then the 128-byte red zone: the interrupted sp S (the CFA, what a
     * DWARF unwinder such as gdb's gives the interrupted function) is
     * rbp + 144. */
    .cfi_def_cfa rbp, 144
    .cfi_offset rbp, -144
    .cfi_offset rip, -136
    pushfq
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rbx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    /* The interrupted function's callee-saved registers, for unwinders. */
    .cfi_offset rbx, -184
    .cfi_offset r12, -240
    .cfi_offset r13, -248
    .cfi_offset r14, -256
    .cfi_offset r15, -264
    movq %rsp, %rbx             /* the saved registers; rbx survives the call */
    andq $-64, %rsp
    subq gort__xsave_size(%rip), %rsp
    /* The xsave header must be zero where xsave does not write it. */
    xorl %eax, %eax
    movq %rax, 512(%rsp)
    movq %rax, 520(%rsp)
    movq %rax, 528(%rsp)
    movq %rax, 536(%rsp)
    movq %rax, 544(%rsp)
    movq %rax, 552(%rsp)
    movq %rax, 560(%rsp)
    movq %rax, 568(%rsp)
    cmpb $0, gort__xsave_ok(%rip)
    je 1f
    movl $-1, %eax
    movl $-1, %edx
    xsave64 (%rsp)
    jmp 2f
1:  fxsave64 (%rsp)
    /* The x87 register stack is the interrupted code's, maybe not empty
     * (a long double loop): emptied, as the ABI has it at every call, for
     * the runtime code this calls, the other goroutines it switches to
     * and the threads it starts (clone copies the FPU state), whose long
     * double arithmetic would otherwise overflow the stack into NaNs.
     * fninit also clears the status word's flags and sets the default
     * control word; each goroutine loads its own at its switch, and the
     * restore below brings back all of this one's. */
2:  fninit
    movq %rbx, %rdi
    callq gort__sigtramp_go
    cmpb $0, gort__xsave_ok(%rip)
    je 3f
    movl $-1, %eax
    movl $-1, %edx
    xrstor64 (%rsp)
    jmp 4f
3:  fxrstor64 (%rsp)
4:  movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rbx
    popq %rdx
    popq %rcx
    popq %rax
    popfq
    popq %rbp
    .cfi_def_cfa rsp, 136
    .cfi_same_value rbp
    ret $128
    .cfi_endproc
    .size gort__sigtramp, .-gort__sigtramp

/* long gort__rawsyscall6(long nr [rdi], long a1 [rsi], long a2 [rdx],
 *                        long a3 [rcx], long a4 [r8], long a5 [r9],
 *                        long a6 [8(%rsp)])
 * The kernel's result (a negative errno on failure), errno untouched. */
    .globl gort__rawsyscall6
    .hidden gort__rawsyscall6
    .type gort__rawsyscall6, @function
    .p2align 4
gort__rawsyscall6:
    .cfi_startproc
    movq %rdi, %rax
    movq %rsi, %rdi
    movq %rdx, %rsi
    movq %rcx, %rdx
    movq %r8, %r10
    movq %r9, %r8
    movq 8(%rsp), %r9
    syscall
    ret
    .cfi_endproc
    .size gort__rawsyscall6, .-gort__rawsyscall6

    .section .note.GNU-stack,"",@progbits
