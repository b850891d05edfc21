/*
 * panic.h - the records of defer, panic and gort_call frames (panic.c).
 * Mirrors the _defer and _panic structs of runtime/runtime2.go.
 *
 * All three live only on the goroutine that made them ([owner G]): a g's
 * chains (g.defer_, g.panic_, g.callframe) are touched by code running on
 * that g and by nobody else, so none of this needs a lock or an atomic.
 * On a thread outside the runtime the same chains live in a thread-local
 * stand-in for the g (panic.c: foreign_state).
 */
#ifndef GORT_PANIC_H
#define GORT_PANIC_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "san.h"

/*
 * The jump buffer of a frame.  A recovered panic longjmps to the frame that
 * deferred the recovering call; nothing else ever jumps.
 *
 * Plain builds use GCC's __builtin_setjmp: it saves only the frame pointer,
 * the stack pointer and the resume address (three stores, no call, no
 * pointer mangling), which keeps a gort_call frame within the 20 ns budget.
 * Sanitizer builds use sigsetjmp(buf, 0) / siglongjmp: ASan and TSan
 * intercept those (ASan unpoisons the abandoned frames, TSan unwinds its
 * shadow call stack), and they cannot see a __builtin_longjmp.  The signal
 * mask is never saved: that would cost a sigprocmask syscall per frame.
 * clang implements __builtin_setjmp only on some targets: it gets the
 * sigsetjmp variant except on x86-64.
 */
#if !defined(GORT_ASAN) && !defined(GORT_TSAN) && (!defined(__clang__) || defined(__x86_64__)) && \
    defined(__GNUC__)
#define GORT__BUILTIN_SJLJ 1
/* A user's program under ThreadSanitizer or AddressSanitizer (race mode,
 * san.h) takes the sigsetjmp variant at run time: TSan must unwind the
 * shadow call stack of the frames a recovery abandons (else it grows with
 * every recovered panic until it overflows), ASan unpoison them. */
typedef union gort__jmpbuf {
    void *b[5];
    sigjmp_buf s;
} gort__jmpbuf;
#define GORT__SETJMP(jb)                                                       \
    (GORT_UNLIKELY(gort__san_mode & (GORT_SAN_MODE_TSAN | GORT_SAN_MODE_ASAN)) \
         ? sigsetjmp((jb).s, 0)                                                \
         : __builtin_setjmp((jb).b))
#define GORT__LONGJMP(jb)                                                              \
    do {                                                                               \
        if (GORT_UNLIKELY(gort__san_mode & (GORT_SAN_MODE_TSAN | GORT_SAN_MODE_ASAN))) \
            siglongjmp((jb).s, 1);                                                     \
        __builtin_longjmp((jb).b, 1);                                                  \
    } while (0)
#else
typedef sigjmp_buf gort__jmpbuf;
#define GORT__SETJMP(jb) sigsetjmp(jb, 0)
#define GORT__LONGJMP(jb) siglongjmp(jb, 1)
#endif

/*
 * A defer frame: one per gort_call, and one implicit frame around every
 * deferred call that runs (so that a gort_defer made inside a deferred
 * call belongs to that call, as in Go).  Lives on the C stack of gort_call
 * (or of the runner of the deferred call) for exactly as long as that call;
 * linked from g.callframe, innermost first.
 */
struct gort__frame {
    struct gort__frame *link; /* [owner G] the enclosing frame; NULL: the goroutine itself */
    uintptr_t depth;          /* [immutable] link ? link->depth + 1 : 1; the goroutine is 0 */
    /* [immutable] the implicit frame of a deferred call that its gort_call
     * frame (link) runs at its normal end: it has no jb of its own, and a
     * recovery into it resumes link's gort_call (panic.c runlight). */
    bool light;
    /* [owner G] a gort_call frame resumed by a recovery into one of its
     * light frames: its deferred call returned, the others go on. */
    bool resumed;
    /* [owner G] a gort_call frame still on g.callframe, which a C++
     * exception unwinding through gort_call pops (panic.c call_unwound). */
    bool pushed;
    /* [owner G] its cleanup runs its deferred calls for an exception. */
    bool unwinding;
    gort__jmpbuf jb; /* [owner G] where a recovery into this frame resumes */
};

/*
 * A deferred call (Go's _defer).  Allocated by gort_defer from the current
 * P's pool (p.deferpool), else the global pool (sched.deferpool under
 * sched.deferlock), else malloc; returned to the pool of the P that runs it.
 * Never freed while the runtime runs (type-stable, as Go's).  On the g's
 * chain g.defer_, innermost first: the records of a frame are always a
 * contiguous run at the head of the chain while that frame is innermost.
 */
struct gort__defer {
    void (*fn)(void *arg);     /* [owner G] */
    void *arg;                 /* [owner G] */
    struct gort__frame *frame; /* [owner G] the frame it runs at the end of; NULL: goroutine */
    struct gort__defer *link;  /* [owner G] next older record (or pool link) */
};

/*
 * An active panic, or a running Goexit (goexit == true): Go's _panic.
 * Lives on the C stack of gort_panic / gort__run_exit_defers, which never
 * return while it is on g.panic_ (innermost first).
 */
struct gort__panic {
    struct gort__panic *link; /* [owner G] the older panic this one interrupted */
    const char *msg;          /* [owner G] the message (a private copy) */
    bool msg_owned;           /* [owner G] msg came from malloc: free it */
    bool recovered;           /* [owner G] a deferred call recovered it */
    bool goexit;              /* [immutable] a Goexit, not a panic */
    uintptr_t startdepth;     /* [immutable] depth of the innermost frame when it started */
    /* The deferred call this panic is running right now (NULL between calls):
     * gort_recover accepts only a direct call from argfn while the innermost
     * frame is still dframe (Go's argp rule). */
    void (*argfn)(void *arg);   /* [owner G] */
    struct gort__frame *dframe; /* [owner G] argfn's implicit frame */
    /* Goexit only: where a recovery that would jump past it resumes it
     * (Go's "bypassed recovery"), and the frame chain to restore then. */
    struct gort__frame *gframe; /* [immutable] */
    gort__jmpbuf jb;            /* [owner G] */
};

#endif /* GORT_PANIC_H */
