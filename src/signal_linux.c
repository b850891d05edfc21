/*
 * signal_linux.c - synchronous fault signals.  Mirrors the parts of
 * runtime/signal_unix.go that matter without a garbage collector or async
 * preemption: a SIGSEGV/SIGBUS on a goroutine stack is reported as Go
 * reports it, a hit on a guard page as a stack overflow; SIGFPE, SIGILL
 * and SIGTRAP in a goroutine as Go's runtime error or throw; SIGQUIT and
 * SIGABRT dump every goroutine (through sysmon).
 *
 * Every M (and gort_main's thread) runs with an alternate signal stack, so
 * the handler runs even when the fault is a stack overflow.  Faults that are
 * not ours (a thread outside the runtime, or no goroutine running) go to the
 * handler that was installed before gort_main (e.g. a sanitizer's), or get
 * the default action.
 *
 * SIGPIPE is caught and dropped while the runtime runs (writes report
 * -EPIPE), and so is SIGXFSZ (writes past RLIMIT_FSIZE report -EFBIG, as
 * in Go), each unless the program handles it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "malloc.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* Linux 4.7's; glibc's headers may lack it */
#endif

/* Room for the dump a fault handler prints (libdw's line-table reading
 * runs on it); only touched pages are committed. */
#define ALTSTACK_SIZE (256 * 1024)

static struct sigaction old_segv, old_bus, old_pipe, old_quit, old_abrt, old_fpe, old_ill, old_trap;
static bool installed;
/* SIGXFSZ's action before gort_main, and whether we drop it since (see
 * gort__signal_init).  Written while no M runs. */
static struct sigaction old_xfsz;
static bool xfsz_dropped;
/* The same for SIGPIPE (old_pipe above). */
static bool pipe_dropped;

/* SIGPIPE's and SIGXFSZ's handler while the runtime runs: it drops the
 * signal, so the write that raised it fails with EPIPE or EFBIG.  Caught
 * rather than ignored, as Go catches them: an ignored signal stays ignored
 * across exec, and every child a goroutine started by system(), popen()
 * or its own fork and exec inherited SIGPIPE ignored ('yes | head -1'
 * printed "Broken pipe"); a caught one is reset to the default there. */
static void drop_handler(int sig) {
    (void)sig;
}

/* Whether sig's current action is the default one; if so, sets it to
 * drop_handler and keeps the default in *old. */
static bool drop_if_default(int sig, struct sigaction *old) {
    struct sigaction cur, drop;
    memset(&drop, 0, sizeof drop);
    drop.sa_handler = drop_handler;
    drop.sa_flags = SA_RESTART | SA_ONSTACK; /* as every handler of the runtime's */
    sigemptyset(&drop.sa_mask);
    return sigaction(sig, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
           cur.sa_handler == SIG_DFL && sigaction(sig, &drop, old) == 0;
}

/* Restores sig's action from before gort_main, unless the program set an
 * action since: only while sig still has the runtime's handler (h, or
 * drop_handler when h is NULL). */
void gort__signal_restore(int sig, const struct sigaction *old,
                          void (*h)(int, siginfo_t *, void *)) {
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return;
    if (h != NULL ? (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == h
                  : !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == drop_handler)
        sigaction(sig, old, NULL);
}

static void chain(int sig, siginfo_t *info, void *uctx, struct sigaction *old) {
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) {
            old->sa_sigaction(sig, info, uctx);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* Default action: restore and return; the fault re-executes and kills. */
    signal(sig, SIG_DFL);
}

static uintptr_t ctx_pc(void *uctx) {
    ucontext_t *uc = uctx;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#endif
}

static uintptr_t ctx_fp(void *uctx) {
    ucontext_t *uc = uctx;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.regs[29];
#endif
}

static uintptr_t ctx_sp(void *uctx) {
    ucontext_t *uc = uctx;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#endif
}

/* The interrupted registers, as Go's dumpregs prints them after the
 * goroutines of a report the signal handler makes for a throw (SIGQUIT,
 * SIGABRT, SIGILL, SIGTRAP: sighandler with _SigThrow). */
typedef struct sigregs {
#if defined(__x86_64__)
    greg_t gregs[NGREG];
#elif defined(__aarch64__)
    uint64_t regs[31], sp, pc, fault;
#endif
} sigregs;

static void save_regs(sigregs *r, void *uctx) {
    const ucontext_t *uc = uctx;
#if defined(__x86_64__)
    memcpy(r->gregs, uc->uc_mcontext.gregs, sizeof r->gregs);
#elif defined(__aarch64__)
    memcpy(r->regs, uc->uc_mcontext.regs, sizeof r->regs);
    r->sp = uc->uc_mcontext.sp;
    r->pc = uc->uc_mcontext.pc;
    r->fault = uc->uc_mcontext.fault_address;
#endif
}

/* signal_amd64.go / signal_arm64.go dumpregs: "0x0" for zero, as Go's
 * hex. */
static void dumpregs(const sigregs *r) {
#if defined(__x86_64__)
    static const struct {
        char name[8];
        int reg;
    } tab[] = {
        {"rax", REG_RAX}, {"rbx", REG_RBX}, {"rcx", REG_RCX},    {"rdx", REG_RDX}, {"rdi", REG_RDI},
        {"rsi", REG_RSI}, {"rbp", REG_RBP}, {"rsp", REG_RSP},    {"r8", REG_R8},   {"r9", REG_R9},
        {"r10", REG_R10}, {"r11", REG_R11}, {"r12", REG_R12},    {"r13", REG_R13}, {"r14", REG_R14},
        {"r15", REG_R15}, {"rip", REG_RIP}, {"rflags", REG_EFL},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        gort__printf("%-6s 0x%llx\n", tab[i].name, (unsigned long long)r->gregs[tab[i].reg]);
    /* REG_CSGSFS packs cs, gs and fs (16 bits each, from the low end). */
    unsigned long long csgsfs = (unsigned long long)r->gregs[REG_CSGSFS];
    gort__printf("cs     0x%llx\n", csgsfs & 0xffff);
    gort__printf("fs     0x%llx\n", (csgsfs >> 32) & 0xffff);
    gort__printf("gs     0x%llx\n", (csgsfs >> 16) & 0xffff);
#elif defined(__aarch64__)
    for (int i = 0; i < 30; i++)
        gort__printf("r%-6d 0x%llx\n", i, (unsigned long long)r->regs[i]);
    gort__printf("lr      0x%llx\n", (unsigned long long)r->regs[30]);
    gort__printf("sp      0x%llx\n", (unsigned long long)r->sp);
    gort__printf("pc      0x%llx\n", (unsigned long long)r->pc);
    gort__printf("fault   0x%llx\n", (unsigned long long)r->fault);
#endif
}

/* A readability probe under way on this thread (gort__probe_readable):
 * where a fault on probe_page returns to.  Thread-local, initial-exec (the
 * handler reads it). */
static __thread sigjmp_buf *probe_jb __attribute__((tls_model("initial-exec")));
static __thread uintptr_t probe_page __attribute__((tls_model("initial-exec")));

/* The report of a fault in a goroutine (SIGSEGV, SIGBUS), as Go's
 * sigpanic and dieFromSignal print it: a nil dereference is a runtime
 * error, any other address "unexpected fault address" and a throw; the
 * signal line; the goroutines per GORTRACEBACK; exit 2.  stdio: flushed
 * by the caller. */
static GORT_NORETURN void fault_report(int sig, int code, uintptr_t addr, uintptr_t pc,
                                       struct g *gp) {
    gort__freeze_the_world(); /* Go's startpanic_m */
    gort__print_lock();
    bool throw = addr >= 4096;
    if (!throw) {
        gort__printf("panic: runtime error: invalid memory address or nil pointer dereference\n");
    } else {
        gort__set_throwing(); /* Go's throw("fault"): every goroutine, at any level */
        gort__printf("unexpected fault address %#lx\nfatal error: fault\n", (unsigned long)addr);
    }
    /* 0x%lx, not %#lx: Go prints addr=0x0 (and code=0x0) for zeros.  The
     * code as Go's sigcode(), a uint64: a negative si_code (a signal sent
     * with tgkill, SI_TKILL) is 0xfffffffffffffffa there. */
    gort__printf("[signal %s: %s code=0x%llx addr=0x%lx pc=0x%lx]\n",
                 sig == SIGSEGV ? "SIGSEGV" : "SIGBUS",
                 sig == SIGSEGV ? "segmentation violation" : "bus error",
                 (unsigned long long)(long long)code, (unsigned long)addr, (unsigned long)pc);
    if (gort__traceback_level() > 0)
        gort__dump_goroutines(gp, throw || gort__traceback_level() >= 2, true);
    gort__print_unlock();
    gort__fatal_exit();
}

/* SIGQUIT and SIGABRT (signal_unix.go sighandler with _SigThrow): "SIGQUIT:
 * quit" or "SIGABRT: abort", the PC line, every goroutine (the interrupted
 * one first; a thread that ran none as "goroutine 0 [idle]:"), the
 * registers, exit 2 (GORTRACEBACK=crash: SIGABRT).
 *
 * The dump is handed from the handler to sysmon: the handler may have
 * interrupted a thread inside malloc, the dynamic loader or stdio, holding
 * their locks (abort() is often called from inside malloc, on a corrupted
 * heap), and the dump's symbolisation takes them (a SIGQUIT dump made in
 * the handler hung forever that way).  The handler takes the interrupted
 * goroutine's context (no locks, no allocation), publishes what the dump's
 * first line shows, wakes sysmon and waits; sysmon prints the dump and
 * exits.  Where sysmon cannot (it is not running, or the signal came to
 * its own thread), the handler dumps in place as before.
 *
 * A fault in a goroutine goes the same way, for the same reason: a
 * corrupted heap makes malloc itself fault with its arena locked, and the
 * symbolisation (libdw, the symbol table, the thread it starts) mallocs
 * from that arena (the fault's report hung for good).  The faulting
 * thread cannot go on: it waits for sysmon's dump to end the process.  If
 * sysmon in turn waits for that thread's lock (sysmon's thread may share
 * its malloc arena), the dump stops printing, and after FAULT_STALL_NS
 * without a write the faulting thread ends the process itself with a
 * last line that says so. */
static _Atomic int quit_state; /* 0, 1 taken (one dump only), 2 published */
static int quit_sig;
static uintptr_t quit_pc;
static long long quit_mid;
static int quit_code;
static uintptr_t quit_addr; /* a fault's address */
static struct g *quit_g;
static struct m *quit_m;           /* the thread the signal interrupted (NULL: not an M) */
static uintptr_t quit_fp, quit_sp; /* and where, for a thread running no goroutine */
static sigregs quit_regs;

bool gort__quit_pending(void) {
    /* Acquire: pairs with the handler's release store of 2. */
    return atomic_load_explicit(&quit_state, memory_order_acquire) == 2;
}

/* stdio: flushed by sysmon, not by the handler (see gort__flush_stdio). */
static GORT_NORETURN void quit_dump(int sig, uintptr_t pc, long long mid, int code, struct g *gp,
                                    bool flush) {
    gort__freeze_the_world(); /* Go's startpanic_m */
    if (flush)
        gort__flush_stdio();
    gort__print_lock();
    gort__set_throwing(); /* Go's sighandler: m.throwing = throwTypeRuntime */
    /* sigcode as Go prints it, a uint64: abort()'s SI_TKILL (-6) is
     * 18446744073709551610. */
    gort__printf("%s\nPC=%#lx m=%lld sigcode=%llu\n",
                 sig == SIGABRT ? "SIGABRT: abort" : "SIGQUIT: quit", (unsigned long)pc, mid,
                 (unsigned long long)(long long)code);
    if (gort__traceback_level() > 0) {
        if (gp == NULL && quit_m != NULL) {
            /* Go's g0: the thread ran no goroutine (idle, sysmon). */
            gort__printf("\n");
            gort__print_idle_m(quit_m, pc, quit_fp, quit_sp);
        }
        gort__dump_goroutines(gp, true, true);
        gort__printf("\n");
        dumpregs(&quit_regs);
    }
    gort__print_unlock();
    gort__fatal_exit();
}

void gort__quit_dump(void) {
    if (quit_sig == SIGSEGV || quit_sig == SIGBUS) {
        gort__flush_stdio();
        fault_report(quit_sig, quit_code, quit_addr, quit_pc, quit_g);
    }
    quit_dump(quit_sig, quit_pc, quit_mid, quit_code, quit_g, true);
}

/* Claims the one report of a fatal signal the process makes: false when
 * another is under way (it ends the process). */
static bool claim(void) {
    int expect = 0;
    return atomic_compare_exchange_strong_explicit(&quit_state, &expect, 1, memory_order_relaxed,
                                                   memory_order_relaxed);
}

/* Publishes the claimed report of sig (gp: the goroutine it interrupted,
 * or NULL) and asks sysmon to print it: true when sysmon will.  No locks,
 * no allocation. */
static bool publish(int sig, siginfo_t *info, void *uctx, struct m *mp, struct g *gp) {
    quit_sig = sig;
    quit_pc = ctx_pc(uctx);
    quit_mid = mp ? (long long)mp->id : -1LL;
    quit_code = info->si_code;
    quit_addr = (uintptr_t)info->si_addr;
    quit_g = gp;
    quit_m = mp;
    quit_fp = ctx_fp(uctx);
    quit_sp = ctx_sp(uctx);
    save_regs(&quit_regs, uctx);
    if (gp != NULL)
        gort__traceback_capture_sig(gp, ctx_pc(uctx), ctx_fp(uctx), ctx_sp(uctx));
    /* Release: the fields above (and the captured context) before sysmon
     * sees the request. */
    atomic_store_explicit(&quit_state, 2, memory_order_release);
    return gort__sysmon_quit_request();
}

#define FAULT_STALL_NS (10 * 1000 * 1000 * 1000LL)

/* A faulting thread waits here while another ends the process with its
 * report (sysmon's dump of this fault, or a report already under way):
 * for good while the report prints, and until FAULT_STALL_NS pass without
 * a write to fd 2, then it ends the process itself (see above). */
static GORT_NORETURN void fault_wait(void) {
    uint64_t seen = atomic_load_explicit(&gort__print_writes, memory_order_relaxed);
    int64_t still = 0;
    for (;;) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t now = atomic_load_explicit(&gort__print_writes, memory_order_relaxed);
        if (now != seen) {
            seen = now;
            still = 0;
        } else if ((still += ts.tv_nsec) >= FAULT_STALL_NS) {
            static const char msg[] = "\nfatal error: fault: the goroutine dump stalled for 10 s "
                                      "(it waits for a lock that the faulting thread holds)\n";
            ssize_t w = write(2, msg, sizeof msg - 1);
            (void)w;
            _exit(2);
        }
    }
}

/* Go's sigfwdgo for a synchronous signal raised in non-Go code: the
 * handler the program had before gort_main gets it.  Every goroutine runs
 * the program's C code, so a fault its own code makes goes to the
 * program's handler if it has one (a guard-page or lazy-commit scheme,
 * libsigsegv, a VM's guard region: the handler fixes the page and
 * returns), but not one in the runtime's own text nor a signal sent by
 * kill (si_code <= 0); the caller has dealt with a goroutine stack's guard
 * page.  Before, gort reported the fault and exited 2. */
static bool forward_to_program(int sig, siginfo_t *info, void *uctx, struct sigaction *old) {
    void (*h)(int) = old->sa_handler; /* sa_sigaction shares its storage */
    if (info->si_code <= 0 || h == SIG_DFL || h == SIG_IGN)
        return false;
    uintptr_t pc = ctx_pc(uctx);
    if (__start_gort_text != NULL && pc >= (uintptr_t)__start_gort_text &&
        pc < (uintptr_t)__stop_gort_text)
        return false;
    /* A one-shot handler (SA_RESETHAND) is the program's only once, as the
     * kernel would have reset it: a fault after it is gort's to report
     * (called again at each re-fault, a handler that logs and lets the
     * fault kill looped for ever).  A plain store: faults on two threads
     * at once may both reach it, as they could without gort. */
    struct sigaction once = *old;
    if (old->sa_flags & SA_RESETHAND) {
        old->sa_handler = SIG_DFL;
        old->sa_flags = 0;
    }
    chain(sig, info, uctx, &once);
    return true;
}

static void fault_handler(int sig, siginfo_t *info, void *uctx) {
    uintptr_t pa = (uintptr_t)info->si_addr & ~(uintptr_t)(GORT__PAGE - 1);
    if (probe_jb != NULL && pa == probe_page) {
        sigjmp_buf *jb = probe_jb;
        probe_jb = NULL;
        siglongjmp(*jb, 1);
    }
    struct m *mp = gort__getm();
    struct g *gp = mp ? mp->curg : NULL;
    uintptr_t addr = (uintptr_t)info->si_addr;
    uintptr_t sp = ctx_sp(uctx);
    if (mp == NULL) {
        chain(sig, info, uctx, sig == SIGSEGV ? &old_segv : &old_bus);
        return;
    }
    struct g *onstack = NULL;
    if (gp && sp >= gp->stack.base && sp < gp->stack.hi)
        onstack = gp;
    else if (sp >= mp->g0->stack.base && sp < mp->g0->stack.hi)
        onstack = mp->g0;
    bool overflow = onstack && (gort__stack_in_guard(&onstack->stack, addr) ||
                                (addr < onstack->stack.lo && addr + 65536 >= onstack->stack.lo &&
                                 sp < onstack->stack.lo + 4096));
    /* Forwarded, the fault is the program's: the context is not recorded
     * for this goroutine's later tracebacks (they would start from it). */
    if (!overflow && forward_to_program(sig, info, uctx, sig == SIGSEGV ? &old_segv : &old_bus))
        return;
    if (onstack != NULL && onstack == gp)
        gort__traceback_set_sigctx(gp, ctx_pc(uctx), ctx_fp(uctx), sp);
    if (overflow) {
        gort__print_lock();
        /* The usable bytes exceed the requested (page-multiple) size by
         * less than a page of rounding: the limit is the size asked for. */
        gort__printf("runtime: goroutine stack exceeds %zu-byte limit\n",
                     (size_t)(onstack->stack.hi - onstack->stack.lo) & ~(size_t)(GORT__PAGE - 1));
        gort__printf("runtime: sp=%#lx stack=[%#lx, %#lx]\n", (unsigned long)sp,
                     (unsigned long)onstack->stack.lo, (unsigned long)onstack->stack.hi);
        gort__print_unlock();
        gort__fatal_sysstack("stack overflow"); /* on the signal stack */
    }
    if (gp == NULL && onstack == NULL) {
        chain(sig, info, uctx, sig == SIGSEGV ? &old_segv : &old_bus);
        return;
    }
    if (onstack == gp) {
        if (!claim() || publish(sig, info, uctx, mp, gp))
            fault_wait(); /* sysmon reports the fault, or another report ends the process */
    }
    fflush(NULL);
    fault_report(sig, info->si_code, addr, ctx_pc(uctx), gp);
}

/* SIGFPE, SIGILL and SIGTRAP in a goroutine: a division by zero, a
 * __builtin_trap (ud2), an int3.  As Go: SIGFPE is a runtime error
 * ("panic: runtime error: integer divide by zero" and the signal line, as
 * a nil dereference's), the others a throw ("SIGILL: illegal instruction",
 * the PC line); then the goroutines and exit 2.  The process died of the
 * signal before with nothing printed.  Elsewhere (a thread outside the
 * runtime, the runtime's own stacks), the handler before gort_main's. */
static void trap_handler(int sig, siginfo_t *info, void *uctx) {
    struct m *mp = gort__getm();
    struct g *gp = mp ? mp->curg : NULL;
    uintptr_t sp = ctx_sp(uctx), pc = ctx_pc(uctx);
    struct sigaction *old = sig == SIGFPE ? &old_fpe : sig == SIGILL ? &old_ill : &old_trap;
    if (gp == NULL || !(sp >= gp->stack.lo && sp < gp->stack.hi)) {
        chain(sig, info, uctx, old);
        return;
    }
    if (forward_to_program(sig, info, uctx, old))
        return;
    gort__traceback_set_sigctx(gp, pc, ctx_fp(uctx), sp);
    gort__freeze_the_world(); /* Go's startpanic_m */
    gort__print_lock();
    if (sig == SIGFPE) {
        const char *what = info->si_code == FPE_INTDIV   ? "integer divide by zero"
                           : info->si_code == FPE_INTOVF ? "integer overflow"
                                                         : "floating point error";
        gort__printf("panic: runtime error: %s\n", what);
        gort__printf("[signal SIGFPE: floating-point exception code=0x%llx addr=0x%lx pc=0x%lx]\n",
                     (unsigned long long)(long long)info->si_code, (unsigned long)info->si_addr,
                     (unsigned long)pc);
    } else {
        /* Go's sighandler: a throw (m.throwing = throwTypeRuntime), every
         * goroutine at any level; SIGFPE is a panic (sigpanic). */
        gort__set_throwing();
        gort__printf("%s\nPC=%#lx m=%lld sigcode=%llu\n",
                     sig == SIGILL ? "SIGILL: illegal instruction" : "SIGTRAP: trace trap",
                     (unsigned long)pc, (long long)mp->id,
                     (unsigned long long)(long long)info->si_code);
        if (sig == SIGILL) {
            /* Go: up to 16 bytes at the pc, not past its page (the next
             * one may be unmapped). */
            size_t n = 16, left = GORT__PAGE - pc % GORT__PAGE;
            if (n > left)
                n = left;
            gort__printf("instruction bytes:");
            for (size_t i = 0; i < n; i++)
                gort__printf(" 0x%x", ((const volatile unsigned char *)pc)[i]);
            gort__printf("\n");
        }
    }
    if (gort__traceback_level() > 0) {
        gort__dump_goroutines(gp, sig != SIGFPE || gort__traceback_level() >= 2, true);
        if (sig != SIGFPE) {
            /* Go's sighandler: the registers after the goroutines. */
            sigregs r;
            save_regs(&r, uctx);
            gort__printf("\n");
            dumpregs(&r);
        }
    }
    gort__print_unlock();
    gort__fatal_exit();
}

static void quit_handler(int sig, siginfo_t *info, void *uctx) {
    struct m *mp = gort__getm();
    if (sig == SIGABRT && mp == NULL) {
        /* A thread outside the runtime: the handler before gort_main's
         * (the default: the process dies of SIGABRT). */
        chain(sig, info, uctx, &old_abrt);
        return;
    }
    struct g *gp = mp ? mp->curg : NULL;
    uintptr_t sp = ctx_sp(uctx);
    if (gp != NULL && !(sp >= gp->stack.lo && sp < gp->stack.hi))
        gp = NULL; /* on g0 or the signal stack: no goroutine interrupted */
    if (!claim()) {
        if (sig == SIGABRT)
            chain(sig, info, uctx, &old_abrt); /* a second abort: as before */
        return;                                /* a dump is under way */
    }
    if (publish(sig, info, uctx, mp, gp)) {
        /* Sysmon's dump ends the process: this thread waits for it, so
         * the program goes no further (as in Go), but not for ever.  If
         * the dump needs a lock this thread holds (it may have been
         * interrupted inside malloc), returning after a second lets the
         * thread release it and the dump go on (an abort() goes on to
         * kill the process with SIGABRT instead).  errno as it was. */
        int saved = errno;
        for (int i = 0; i < 100; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        errno = saved;
        if (sig == SIGABRT)
            chain(sig, info, uctx, &old_abrt);
        return;
    }
    if (gp != NULL)
        gort__traceback_set_sigctx(gp, ctx_pc(uctx), ctx_fp(uctx), sp);
    quit_dump(sig, quit_pc, quit_mid, quit_code, gp, false);
}

bool gort__probe_ok(void) {
    struct sigaction cur;
    return installed && sigaction(SIGSEGV, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
           cur.sa_sigaction == fault_handler;
}

/* After a probe's jump out of the fault handler: SIGSEGV and SIGBUS
 * unblocked again (see gort__probe_readable). */
static void probe_unblock(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigaddset(&set, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Arms the probe: a fault on page jumps to jb.  Before the read, after
 * probe_page: the handler may run at the read (a signal on this thread
 * sees its program order). */
static inline __attribute__((always_inline)) void probe_arm(uintptr_t page, sigjmp_buf *jb) {
    probe_page = page;
    atomic_signal_fence(memory_order_seq_cst);
    probe_jb = jb;
    atomic_signal_fence(memory_order_seq_cst);
}

static inline __attribute__((always_inline)) void probe_disarm(void) {
    atomic_signal_fence(memory_order_seq_cst);
    probe_jb = NULL;
}

/* See internal.h.  The jump out of the handler leaves SIGSEGV and SIGBUS
 * blocked (the handler's mask; sigsetjmp does not save the mask, which
 * would cost a system call per probe): unblocked again here, on the
 * rare path.  Not instrumented: the bytes read may be a global's redzone
 * (AddressSanitizer) or another thread's data. */
GORT_NOSAN_SCAN uintptr_t gort__probe_readable(uintptr_t lo, uintptr_t hi) {
    sigjmp_buf jb;
    /* Volatile: live across the jump back. */
    volatile uintptr_t page = lo & ~(uintptr_t)(GORT__PAGE - 1), first = lo, end = hi;
    volatile char sink __attribute__((unused));
    if (sigsetjmp(jb, 0) != 0) {
        probe_unblock();
        return page < first ? first : page;
    }
    for (; page < end; page += GORT__PAGE) {
        probe_arm(page, &jb);
        /* Stored, not dropped: Valgrind's translation removes a load
         * whose value nobody uses, and its fault with it. */
        sink = *(volatile const char *)(page < first ? first : page);
        probe_disarm();
    }
    return end;
}

/* See internal.h.  As gort__probe_readable, for one page's words. */
GORT_NOSAN_SCAN size_t gort__copy_readable(uintptr_t *dst, uintptr_t src, size_t words) {
    sigjmp_buf jb;
    if (sigsetjmp(jb, 0) != 0) {
        probe_unblock();
        return 0;
    }
    probe_arm(src & ~(uintptr_t)(GORT__PAGE - 1), &jb);
    for (size_t i = 0; i < words; i++)
        dst[i] = ((volatile const uintptr_t *)src)[i];
    probe_disarm();
    return words;
}

/* Installs h for sig (on the signal stack), the earlier action in *old. */
static int install(int sig, void (*h)(int, siginfo_t *, void *), struct sigaction *old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, old);
}

int gort__signal_init(void) {
    if (install(SIGSEGV, fault_handler, &old_segv) != 0)
        return -errno;
    install(SIGBUS, fault_handler, &old_bus);
    /* SIGPIPE's default action would end the process at a write to a
     * closed pipe or socket made outside gort_write (printf, a library's
     * write): dropped while the runtime runs (drop_handler).  A handler
     * the program installed before gort_main stays in place, as Go leaves
     * a C program's SIGPIPE handler to non-Go code; gort_write blocks the
     * signal for its own calls either way. */
    pipe_dropped = drop_if_default(SIGPIPE, &old_pipe);
    /* A write past RLIMIT_FSIZE raises SIGXFSZ, whose default action ends
     * the process (with a core): gort_write's loop met it at its second
     * write, where the first had written up to the limit.  Go's handler
     * drops it (a notifiable signal nobody asked for), so Go's writes fail
     * with EFBIG; here it is dropped while the runtime runs, unless the
     * program has an action of its own.  gort_signal_notify may still ask
     * for it. */
    xfsz_dropped = drop_if_default(SIGXFSZ, &old_xfsz);
    install(SIGQUIT, quit_handler, &old_quit);
    install(SIGABRT, quit_handler, &old_abrt);
    install(SIGFPE, trap_handler, &old_fpe);
    install(SIGILL, trap_handler, &old_ill);
    install(SIGTRAP, trap_handler, &old_trap);
    installed = true;
    return 0;
}

/* Each handler goes back to the program's from before gort_main, unless
 * the program installed one of its own since (which stays). */
void gort__signal_fini(void) {
    if (!installed)
        return;
    gort__signal_restore(SIGSEGV, &old_segv, fault_handler);
    gort__signal_restore(SIGBUS, &old_bus, fault_handler);
    if (pipe_dropped)
        gort__signal_restore(SIGPIPE, &old_pipe, NULL);
    pipe_dropped = false;
    if (xfsz_dropped)
        gort__signal_restore(SIGXFSZ, &old_xfsz, NULL);
    xfsz_dropped = false;
    gort__signal_restore(SIGQUIT, &old_quit, quit_handler);
    gort__signal_restore(SIGABRT, &old_abrt, quit_handler);
    gort__signal_restore(SIGFPE, &old_fpe, trap_handler);
    gort__signal_restore(SIGILL, &old_ill, trap_handler);
    gort__signal_restore(SIGTRAP, &old_trap, trap_handler);
    installed = false;
}

/* Go's minitSignalMask for a c-archive: the signals marked _SigUnblock in
 * its sigtable (the synchronous ones, SIGPROF) and the preemption signal
 * are unblocked on every thread that runs goroutines, whatever mask the
 * program gave the thread that called gort_main (which the runtime's
 * threads inherit).  Blocked, a fault in a goroutine killed the process
 * with the bare signal (the kernel forces a blocked synchronous signal's
 * default action), and no goroutine could be preempted. */
void gort__minit_sigmask(sigset_t *old) {
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGPROF, SIGURG};
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    pthread_sigmask(SIG_UNBLOCK, &set, old);
}

int gort__minit_signals(struct m *mp) {
    void *p =
        gort__mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    gort__vma_name(p, ALTSTACK_SIZE, "gort signal stack");
    stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, &mp->sigaltstack_old) != 0) {
        munmap(p, ALTSTACK_SIZE);
        return -errno;
    }
    mp->sigaltstack = p;
    mp->sigaltstack_size = ALTSTACK_SIZE;
    return 0;
}

/* The thread gets back the signal stack it had before (gort_main's caller
 * may have one of its own, for its own overflow handler: it was left with
 * none, as Go's unminitSignals restores a cgo thread's). */
void gort__unminit_signals(struct m *mp) {
    if (mp->sigaltstack == NULL)
        return;
    stack_t ss = mp->sigaltstack_old;
    if (ss.ss_flags & SS_DISABLE || ss.ss_sp == NULL)
        ss = (stack_t){.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    else
        ss.ss_flags &= (int)SS_AUTODISARM; /* the caller's flag, without SS_ONSTACK */
    sigaltstack(&ss, NULL);
    munmap(mp->sigaltstack, mp->sigaltstack_size);
    mp->sigaltstack = NULL;
}
