/*
 * stw_tmp.c - TEMPORARY: the stop-the-world's register query until the
 * preempt branch's src/preempt.c (signal-based suspension, Go's suspendG)
 * is merged; then this file goes.
 *
 * The stop-the-world in proc.c is cooperative: every goroutine of a stopped
 * P has yielded at a gort call and saved its context, so no goroutine is
 * ever "interrupted while running" and there are no registers to report.
 * (A goroutine looping in C without gort calls delays the stop until it
 * makes one.)
 */
#include "internal.h"

bool gort__stw_interrupted_regs(struct g *gp, uintptr_t *sp, const void **regs, size_t *regs_len) {
    (void)gp;
    (void)sp;
    (void)regs;
    (void)regs_len;
    return false;
}
