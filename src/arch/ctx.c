/*
 * ctx.c - building fresh contexts for switch_<arch>.S (see arch.h).
 */
#include <stdint.h>
#include <string.h>

#include "arch/arch.h"

extern void gort__ctx_start(void);

void *gort__ctx_make(void *stack_top, void (*entry)(void *), void *arg) {
    uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* After the final `ret` of a resume, rsp = top - 16 (16-byte aligned),
     * which is what gort__ctx_start needs before its `call`. */
    uint64_t *f = (uint64_t *)(top - 16 - 8 * GORT__CTX_FRAME_WORDS);
    memset(f, 0, 8 * GORT__CTX_FRAME_WORDS + 16);
    uint32_t mxcsr = 0x1f80; /* the ABI's initial state: all exceptions masked */
    uint16_t fpucw = 0x037f;
    memcpy((char *)&f[0], &mxcsr, 4);
    memcpy((char *)&f[0] + 4, &fpucw, 2);
    f[1] = 0;                                    /* r15 */
    f[2] = 0;                                    /* r14 */
    f[3] = (uint64_t)(uintptr_t)arg;             /* r13 */
    f[4] = (uint64_t)(uintptr_t)entry;           /* r12 */
    f[5] = 0;                                    /* rbx */
    f[6] = 0;                                    /* rbp */
    f[7] = (uint64_t)(uintptr_t)gort__ctx_start; /* return address */
    return f;
#elif defined(__aarch64__)
    uint64_t *f = (uint64_t *)(top - 176);
    memset(f, 0, 176);
    f[1] = (uint64_t)(uintptr_t)entry;            /* x19 */
    f[2] = (uint64_t)(uintptr_t)arg;              /* x20 */
    f[12] = (uint64_t)(uintptr_t)gort__ctx_start; /* x30 (lr) */
    return f;
#endif
}
