/*
 * preempt.c - the preemption signal: asynchronous preemption, stop-the-world
 * by signal, and blocking calls made without gort_syscall_enter.  Mirrors
 * runtime/preempt.go, signal_unix.go (preemptM, doSigPreempt,
 * wantAsyncPreempt, isAsyncSafePoint) and preempt_amd64.s.
 *
 * One signal, SIGURG as in Go, sent to one M's thread (tgkill) by sysmon or
 * by a stop-the-world.  A signal already on its way is not sent again
 * (m->signalpending, cleared by the handler).  The handler, on the
 * interrupted thread, looks at what that thread was doing:
 *
 *   - Runtime code, a runtime lock held (gort__tls_locks), g0, a signal
 *     stack, no P or one not running (the thread is stopping the world, or
 *     stopped), a goroutine not in G_RUNNING: nothing (the thread will
 *     reach a scheduling point of its own; the sender tries again later).
 *   - A blocking system call that the kernel restarts after the handler
 *     (the pc is at the `syscall` instruction): the thread is redirected
 *     into the trampoline, which makes the call itself between
 *     gort_syscall_enter and gort_syscall_exit, so that the P is handed off
 *     while it blocks, and returns after the instruction with its result
 *     (TR_SYSCALL).  A read(2) on a pipe made without gort_syscall_enter no
 *     longer holds its P.
 *   - An async-safe point (below): the thread is redirected into the
 *     trampoline, which saves every register and yields (TR_PREEMPT).  The
 *     goroutine is thread-affine until the trampoline returns: it resumes
 *     on this same thread, which runs nothing else meanwhile (the
 *     LockOSThread hand-off), because compiled C may keep a thread-local
 *     address (errno's) or a thread-owned lock across any instruction.
 *   - Otherwise, during a stop-the-world that allows it, the thread stops
 *     inside the handler (its P counted as stopped) until the world starts
 *     again; gort__stw_interrupted_regs gives the collector its registers.
 *
 * Async-safe point (Go's isAsyncSafePoint, for C):
 *   - the interrupted pc is in user code: the executable's text, or that of
 *     a library named in GORTPREEMPTLIBS (a comma-separated list of
 *     file-name prefixes, e.g. "libfoo.so,libbar"), but not the runtime's
 *     own text (the gort_text section, see CMakeLists.txt), the PLT
 *     stubs of those objects (plt_text below), libc, the
 *     dynamic loader, the vDSO or any other library;
 *   - the thread holds no runtime lock, runs a user goroutine on that
 *     goroutine's own stack (not g0, not a signal stack) with a P;
 *   - it is not inside a signal handler: the interrupted signal mask is
 *     the thread's usual one;
 *   - the stack has room below the 128-byte red zone for the trampoline's
 *     frame (registers and the xsave area) and the yield.
 *   - GORTDEBUG=asyncpreemptoff=1 is not set.
 *
 * Under ThreadSanitizer there is no preemption signal (no handler,
 * nothing sent): in the tsan preset, and in a user's program built with
 * -fsanitize=thread against the plain library (TSan found at run time,
 * san.h).  Installed through sigaction, TSan's interceptor defers an
 * asynchronous signal to the thread's next intercepted call, which a
 * spinning loop never makes, and then runs the handler from that call
 * with a copy of the context the signal interrupted: redirecting it (or
 * suspending with its registers for the collector) would act on a stale
 * stack pointer and stale registers.  A redirection wrote its trampoline
 * frame below the stale stack pointer, over the live frames of TSan's
 * delivery: tests/sanitizers/tsan_reports.c failed about one run in 200
 * (a strlen interceptor returned a stack address, and copymsg asked
 * malloc for that many bytes).  Installing it with the raw rt_sigaction
 * system call (bypassing the interceptor; the handler is already
 * HANDLER_NOSAN and calls nothing instrumented) gets it delivered at once,
 * anywhere, including inside the TSan runtime while it holds its own
 * mutexes or is half-way through updating shadow or trace state.  The
 * redirection is then safe only if "pc in user text" excludes that
 * runtime, so that the trampoline's call into the instrumented scheduler
 * (__tsan_func_entry, access hooks, __tsan_switch_to_fiber) is like a
 * call inserted between two instrumented accesses.  It does not here:
 * clang (the tsan preset, and clang's default for -fsanitize=thread)
 * links libclang_rt.tsan statically, with --whole-archive, into the
 * executable, whose text is exactly what counts as user text.  Telling
 * the runtime's functions apart inside it needs the symbol table
 * (missing from stripped programs, which keep only the exported
 * interceptors), and ranges built from symbol names miss the runtime's
 * static and anonymous-namespace helpers, while the linker's grouping of
 * .text.unlikely/.text.hot input sections interleaves runtime and user
 * code.  Redirecting a thread caught in one of those deadlocks the
 * runtime or corrupts it: unsafe, so not done.  Even outside the runtime,
 * user code can run with TSan frames below it (a qsort comparator or
 * pthread_once routine called from an interceptor, a user signal handler
 * run from TSan's deferred-signal queue); yielding there switches fibers
 * in the middle of an interceptor, which TSan does not document as
 * supported.  What would make it sound: the runtime in a DSO of its own
 * (gcc's libtsan.so, or clang -shared-libsan: libclang_rt.tsan-x86_64.so),
 * which the user-text check excludes like libc, with preemption kept off
 * when __tsan_init's address is found in the executable, and the
 * interceptor-callback case excluded (e.g. by walking the frame pointers
 * for a pc outside user text).  Until then, under TSan the scheduler is
 * cooperative, as before issue 12: a goroutine spinning with no gort call
 * holds its P, and a stop waits for every goroutine to reach a gort call;
 * the tests and the bench workload that need the signal skip there.
 *
 * Under Valgrind there is no preemption signal either (gort__preempt_init
 * asks RUNNING_ON_VALGRIND, when built with valgrind.h): the handler writes
 * the trampoline's frame below the interrupted stack pointer and moves it,
 * which Memcheck, tracking the stack pointer itself, reports as invalid
 * writes; and Valgrind runs one thread at a time, so sysmon sees threads
 * waiting for Valgrind's lock as blocked in system calls and redirects
 * them.  The scheduler is cooperative there too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "fault.h"
#include "internal.h"
#include "san.h"

#define SIGPREEMPT SIGURG

/* The handler and its helpers read other threads' fields racily (Ms and gs
 * are type-stable) or run where instrumentation would be wrong (a signal
 * handler on the signal stack).  Not instrumented. */
#define PREEMPT_NOSAN __attribute__((no_sanitize("address", "thread", "undefined")))
/* The handler's own code: under TSan (clang) not even function entry and
 * exit records, since the handler is invisible to TSan and may interrupt
 * its runtime (which would deadlock on itself). */
#if defined(GORT_TSAN) && defined(__clang__)
#define HANDLER_NOSAN __attribute__((disable_sanitizer_instrumentation))
#else
#define HANDLER_NOSAN PREEMPT_NOSAN
#endif

/* Room the trampoline needs below the red zone: its register block, the
 * xsave area (AVX-512: about 2.7 KiB) and the frames of the yield. */
#define TRAMP_ROOM (16 * 1024)

/* What the trampoline does (m->tramp). */
enum { TR_NONE = 0, TR_PREEMPT, TR_SYSCALL };

/* The general registers the trampoline saved, from its rsp upward. */
enum {
    TR_R15,
    TR_R14,
    TR_R13,
    TR_R12,
    TR_R11,
    TR_R10,
    TR_R9,
    TR_R8,
    TR_RDI,
    TR_RSI,
    TR_RBX,
    TR_RDX,
    TR_RCX,
    TR_RAX,
    TR_RFLAGS,
    TR_RBP,
    TR_RETPC,
};

/* Read by the trampoline (arch/preempt_amd64.S). */
uint64_t gort__xsave_size = 512; /* bytes of the xsave area, a multiple of 64 */
uint8_t gort__xsave_ok;          /* 1: xsave/xrstor; 0: fxsave/fxrstor */

/* User text: the executable's executable segments and those of the
 * libraries named in GORTPREEMPTLIBS, found when gort_main starts. */
#define MAX_USER_TEXT 32
static struct { uintptr_t lo, hi; } user_text[MAX_USER_TEXT];
static int nuser_text;
/* libc's text: a blocking call found at a `syscall` instruction there (or
 * in user text) is made again by the trampoline; elsewhere (a sanitizer's
 * runtime, the loader) it could be inside code that must not be
 * re-entered. */
static struct { uintptr_t lo, hi; } libc_text[4];
static int nlibc_text;
static uintptr_t rt_lo, rt_hi;
/* Procedure linkage tables inside user text (.plt, .plt.sec, .plt.got,
 * .iplt): the stubs through which the runtime linked statically into the
 * executable calls libc and the sanitizers.  A pc there is the runtime's
 * (it may be half-way through a goroutine switch: ASan's
 * __sanitizer_finish_switch_fiber is called through one), never a safe
 * point. */
#define MAX_PLT_TEXT 16
static struct { uintptr_t lo, hi; } plt_text[MAX_PLT_TEXT];
static int nplt_text;

/* Set by gort_main (debug.c) before any thread of the run exists. */
static bool preempt_ready;
static struct sigaction old_urg;
static bool urg_installed;

/* Where a stop-the-world may suspend threads in the handler: nowhere
 * (GOMAXPROCS's: procresize moves Ps around), anywhere (GORT__STW_SUSPEND_ANY,
 * the collector's), or only in the program's own code, never inside libc
 * or another library, whose locks (malloc's) a suspended thread would hold
 * (GORT__STW_SUSPEND_USER: a stopper that calls malloc).  Set by the
 * stopper while it holds worldsema, read by the handlers of the stop it
 * waits for. */
static _Atomic int stw_suspend_ok;

/* Restarts of the world: a thread suspended in the handler sleeps on this
 * word until it moves (gcwaiting itself may be set again by the next stop
 * before the thread wakes). */
static _Atomic uint32_t stwgen;

/* Counters (for tests and the scheduler trace): asynchronous preemptions
 * and blocking calls wrapped by the trampoline. */
_Atomic uint64_t gort__npreempt_async;
_Atomic uint64_t gort__npreempt_syscall;

/* ------------------------------------------------------------------------
 * Where a pc is
 * ------------------------------------------------------------------------ */

static bool named_lib(const char *path) {
    const char *list = getenv("GORTPREEMPTLIBS");
    if (list == NULL || *list == '\0' || path == NULL)
        return false;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    while (*list) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        if (n > 0 && strncmp(base, list, n) == 0)
            return true;
        list = end ? end + 1 : list + n;
    }
    return false;
}

/* Adds the PLT sections of the object info describes, whose file is at
 * path, to plt_text, from the section headers of that file (they are not
 * mapped; strip keeps them).  false if the file cannot be read as the ELF
 * object it is in memory: its text then does not count as user text. */
static bool find_plts(const char *path, const struct dl_phdr_info *info) {
    uintptr_t bias = info->dlpi_addr;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = false;
    ElfW(Phdr) *ph = NULL;
    ElfW(Shdr) *sh = NULL;
    char *names = NULL;
    ElfW(Ehdr) eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_shentsize != sizeof(ElfW(Shdr)) ||
        eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum || eh.e_phentsize != sizeof(ElfW(Phdr)) ||
        eh.e_phnum != info->dlpi_phnum)
        goto out;
    /* The file is the object in memory (not, say, the dynamic loader that
     * /proc/self/exe names when a program is started as `ld.so prog`):
     * the same program headers. */
    size_t phlen = (size_t)eh.e_phnum * sizeof(ElfW(Phdr));
    ph = gort__calloc(eh.e_phnum, sizeof(ElfW(Phdr)));
    if (ph == NULL || pread(fd, ph, phlen, (off_t)eh.e_phoff) != (ssize_t)phlen)
        goto out;
    for (int i = 0; i < eh.e_phnum; i++) {
        const ElfW(Phdr) *mem = &info->dlpi_phdr[i];
        if (ph[i].p_type != mem->p_type || ph[i].p_vaddr != mem->p_vaddr ||
            ph[i].p_memsz != mem->p_memsz)
            goto out;
    }
    size_t shlen = (size_t)eh.e_shnum * sizeof(ElfW(Shdr));
    sh = gort__calloc(eh.e_shnum, sizeof(ElfW(Shdr)));
    if (sh == NULL || pread(fd, sh, shlen, (off_t)eh.e_shoff) != (ssize_t)shlen)
        goto out;
    const ElfW(Shdr) *strs = &sh[eh.e_shstrndx];
    names = gort__calloc(1, strs->sh_size + 1);
    if (names == NULL ||
        pread(fd, names, strs->sh_size, (off_t)strs->sh_offset) != (ssize_t)strs->sh_size)
        goto out;
    ok = true;
    for (int i = 0; i < eh.e_shnum; i++) {
        if (!(sh[i].sh_flags & SHF_EXECINSTR) || sh[i].sh_name >= strs->sh_size)
            continue;
        const char *name = names + sh[i].sh_name;
        if (strncmp(name, ".plt", 4) != 0 && strcmp(name, ".iplt") != 0)
            continue;
        if (nplt_text == MAX_PLT_TEXT) {
            ok = false; /* a stub we could not exclude: no user text here */
            break;
        }
        plt_text[nplt_text].lo = bias + sh[i].sh_addr;
        plt_text[nplt_text].hi = plt_text[nplt_text].lo + sh[i].sh_size;
        nplt_text++;
    }
out:
    gort__free(names);
    gort__free(sh);
    gort__free(ph);
    close(fd);
    return ok;
}

static int text_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    int *idx = arg;
    bool exe = (*idx)++ == 0; /* the main program comes first */
    const char *base = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    base = base ? base + 1 : info->dlpi_name;
    if (!exe && base && strncmp(base, "libc.so", 7) == 0) {
        for (int i = 0; i < info->dlpi_phnum && nlibc_text < 4; i++) {
            const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
            if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
                libc_text[nlibc_text].lo = info->dlpi_addr + ph->p_vaddr;
                libc_text[nlibc_text].hi = libc_text[nlibc_text].lo + ph->p_memsz;
                nlibc_text++;
            }
        }
        return 0;
    }
    if (!exe && !named_lib(info->dlpi_name))
        return 0;
    if (!find_plts(exe ? "/proc/self/exe" : info->dlpi_name, info))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && nuser_text < MAX_USER_TEXT; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        user_text[nuser_text].lo = lo;
        user_text[nuser_text].hi = lo + ph->p_memsz;
        nuser_text++;
    }
    return 0;
}

HANDLER_NOSAN int gort__preempt_pc_class(uintptr_t pc) {
    if (pc >= rt_lo && pc < rt_hi)
        return GORT__PC_RUNTIME;
    for (int i = 0; i < nplt_text; i++)
        if (pc >= plt_text[i].lo && pc < plt_text[i].hi)
            return GORT__PC_RUNTIME;
    for (int i = 0; i < nuser_text; i++)
        if (pc >= user_text[i].lo && pc < user_text[i].hi)
            return GORT__PC_USER;
    for (int i = 0; i < nlibc_text; i++)
        if (pc >= libc_text[i].lo && pc < libc_text[i].hi)
            return GORT__PC_LIBC;
    return GORT__PC_OTHER;
}

/* The pc is at a `syscall` instruction: the kernel rewound it there to
 * restart the interrupted call after the handler (or the thread was about
 * to make the call).  The text is readable: the thread executes it. */
HANDLER_NOSAN static bool at_syscall(uintptr_t pc) {
#if defined(__x86_64__)
    const volatile uint8_t *p = (const volatile uint8_t *)pc;
    return p[0] == 0x0f && p[1] == 0x05;
#else
    (void)pc;
    return false;
#endif
}

/* ------------------------------------------------------------------------
 * Initialisation
 * ------------------------------------------------------------------------ */

static void sigpreempt_handler(int sig, siginfo_t *info, void *uctx);

static int install_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigpreempt_handler;
    /* SA_RESTART: a blocking call the signal interrupts is restarted (and
     * found at its `syscall` instruction, see at_syscall) rather than
     * failing with EINTR, where the kernel allows it. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    /* Every signal blocked while it runs (as Go's setsig): a profiling or
     * stack request (SIGPROF) sent together with it then finds the thread
     * back in its own code, not in this handler on the signal stack. */
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGPREEMPT, &sa, &old_urg) != 0)
        return -errno;
    urg_installed = true;
    return 0;
}

int gort__preempt_init(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    gort__xsave_ok = 0;
    gort__xsave_size = 512;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE)) {
        __cpuid_count(0xd, 0, a, b, c, d);
        if (b >= 576) {
            gort__xsave_size = ((uint64_t)b + 63) & ~(uint64_t)63;
            gort__xsave_ok = 1;
        }
    }
#endif
    nuser_text = 0;
    nlibc_text = 0;
    nplt_text = 0;
    int idx = 0;
    dl_iterate_phdr(text_cb, &idx);
    rt_lo = (uintptr_t)__start_gort_text;
    rt_hi = (uintptr_t)__stop_gort_text;
    /* See the header: no preemption signal under ThreadSanitizer, whether
     * the library is instrumented (the tsan preset) or a user's program
     * built with -fsanitize=thread links it (san_tsan_on() is then true at
     * run time). */
    if (san_tsan_on())
        return 0;
#ifdef GORT_HAVE_VALGRIND
    /* Nor under Valgrind (the header). */
    if (RUNNING_ON_VALGRIND)
        return 0;
#endif
    int r = install_handler();
    if (r != 0)
        return r;
    atomic_store_explicit(&stw_suspend_ok, GORT__STW_SUSPEND_NONE, memory_order_relaxed);
    preempt_ready = true;
    return 0;
}

void gort__preempt_fini(void) {
    preempt_ready = false;
    if (!urg_installed)
        return;
    gort__signal_restore(SIGPREEMPT, &old_urg, sigpreempt_handler);
    urg_installed = false;
}

HANDLER_NOSAN bool gort__async_preempt_enabled(void) {
    return preempt_ready && !gort__asyncpreemptoff && rt_hi > rt_lo && nuser_text > 0 &&
           gort__xsave_size != 0;
}

void gort__preempt_minit(struct m *mp) {
    mp->tid = (int32_t)syscall(SYS_gettid);
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    uint64_t w = 0;
    memcpy(&w, &cur, sizeof w);
    mp->basemask = w;
    atomic_store_explicit(&mp->signalpending, 0, memory_order_relaxed);
}

/* Once the exchange below returns 0, this thread holds signalpending at 1,
 * so every later gort__preempt_m skips it.  A signal already on its way
 * (the exchange returned 1) is normally delivered at the next return from
 * the kernel, and its handler stores 0 (relaxed; the exchange's acq_rel
 * orders nothing else here), which ends the loop.  Bounded: in a program
 * built with -fsanitize=thread, TSan holds the signal back until the
 * thread's next intercepted call, which sched_yield is not; TSan then runs
 * the handler on the thread's own stack, so the signal stack's going does
 * not matter there.  Without this, sysmon could send SIGURG to a thread
 * whose signal stack is unmapped (m0 leaves the scheduler before shutdown
 * stops sysmon; Valgrind then killed the process). */
void gort__preempt_unminit(struct m *mp) {
    for (int i = 0; i < 1000; i++) {
        if (atomic_exchange_explicit(&mp->signalpending, 1, memory_order_acq_rel) == 0)
            return;
        sched_yield();
    }
}

/* ------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------ */

/* Go's preemptM: asks mp's thread to look at its goroutine.  At most one
 * signal on its way per M.  Returns true if one was sent. */
PREEMPT_NOSAN bool gort__preempt_m(struct m *mp) {
    if (!preempt_ready || mp == NULL || mp->tid == 0)
        return false;
    /* Acq_rel: the handler's relaxed store of 0 comes after it ran; a
     * signal lost to a stale 1 is sent again at the next attempt. */
    if (atomic_exchange_explicit(&mp->signalpending, 1, memory_order_acq_rel) != 0)
        return false;
    if (syscall(SYS_tgkill, getpid(), mp->tid, SIGPREEMPT) != 0) {
        atomic_store_explicit(&mp->signalpending, 0, memory_order_relaxed);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * The handler
 * ------------------------------------------------------------------------ */

static inline __attribute__((always_inline)) uintptr_t uc_pc(ucontext_t *uc) {
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#else
    return (uintptr_t)uc->uc_mcontext.pc;
#endif
}

static inline __attribute__((always_inline)) uintptr_t uc_sp(ucontext_t *uc) {
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#else
    return (uintptr_t)uc->uc_mcontext.sp;
#endif
}

/* Points the thread at the trampoline, entered as if called from retpc
 * with the red zone below sp left alone, and with its rbp frame made. */
HANDLER_NOSAN static void redirect(struct m *mp, ucontext_t *uc, uintptr_t retpc, int kind) {
#if defined(__x86_64__)
    uintptr_t sp = uc_sp(uc) - 128 - 8;
    *(uintptr_t *)sp = retpc;
    sp -= 8;
    *(uintptr_t *)sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RBP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)gort__sigtramp;
    mp->tramp = (uint8_t)kind;
#else
    (void)mp, (void)uc, (void)retpc, (void)kind;
#endif
}

/* Stops this thread inside the handler for the stop-the-world in
 * progress: its P counts as stopped, its registers stay in uc (on the
 * signal stack) for the collector, until gort__start_the_world. */
#ifndef GORT_TSAN
PREEMPT_NOSAN static void stw_suspend(struct m *mp, struct g *gp, ucontext_t *uc) {
    gort__lock(&gort__sched.lock);
    struct p *pp = mp->p;
    if (!atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) ||
        atomic_load_explicit(&pp->status, memory_order_relaxed) != P_RUNNING) {
        gort__unlock(&gort__sched.lock);
        return;
    }
    uint32_t gen = atomic_load_explicit(&stwgen, memory_order_relaxed);
#if defined(__x86_64__)
    /* The registers to scan: the general ones, then xmm0-15 (libc's
     * memcpy and friends carry pointers there). */
    memcpy(mp->stwregs, uc->uc_mcontext.gregs, sizeof uc->uc_mcontext.gregs);
    if (uc->uc_mcontext.fpregs != NULL)
        memcpy(mp->stwregs + 23, uc->uc_mcontext.fpregs->_xmm, 32 * sizeof(uintptr_t));
    else
        memset(mp->stwregs + 23, 0, 32 * sizeof(uintptr_t));
#endif
    /* Release: the collector's acquire load in gort__stw_interrupted_regs
     * sees the context complete. */
    atomic_store_explicit(&gp->stwctx, (void *)uc, memory_order_release);
    atomic_store_explicit(&mp->stwsuspended, true, memory_order_relaxed);
    atomic_store_explicit(&pp->status, P_GCSTOP, memory_order_relaxed);
    if (--gort__sched.stopwait == 0)
        gort__notewakeup(&gort__sched.stopnote);
    gort__unlock(&gort__sched.lock);
    /* Acquire: pairs with gort__stw_wake_suspended's release increment
     * (after procresize gave the P back to this M, P_RUNNING). */
    while (atomic_load_explicit(&stwgen, memory_order_acquire) == gen)
        gort__futexsleep(&stwgen, gen, -1);
    gort__lock(&gort__sched.lock);
    atomic_store_explicit(&gp->stwctx, NULL, memory_order_relaxed);
    atomic_store_explicit(&mp->stwsuspended, false, memory_order_relaxed);
    if (atomic_load_explicit(&pp->status, memory_order_relaxed) != P_RUNNING || pp->m != mp)
        gort__throw("stw: suspended M lost its P");
    gort__unlock(&gort__sched.lock);
}
#endif

HANDLER_NOSAN static void dosigpreempt(struct m *mp, ucontext_t *uc) {
    struct g *gp = mp->curg;
    if (gp == NULL || mp->p == NULL || mp->oldp != NULL || gort__tls_locks != 0)
        return;
    uintptr_t sp = uc_sp(uc), pc = uc_pc(uc);
    /* On the goroutine's own stack (not g0, not a signal stack). */
    if (sp <= gp->stack.lo || sp > gp->stack.hi)
        return;
    if (atomic_load_explicit(&gp->status, memory_order_relaxed) != G_RUNNING)
        return;
    /* A thread whose P is not running a goroutine's slice is stopping the
     * world (its P already P_GCSTOP) or being stopped: its system calls
     * are the runtime's, not blocking calls of the program's.  A signal
     * sent before the stop began once found the stopper at the `syscall`
     * of the getpid in its own tgkill; wrapped in gort_syscall_enter/exit,
     * that left it waiting for a P that only the restart of the world it
     * was stopping would give back. */
    if (atomic_load_explicit(&mp->p->status, memory_order_relaxed) != P_RUNNING)
        return;
    bool stw = atomic_load_explicit(&gort__sched.gcwaiting, memory_order_relaxed) != 0;
    if (!stw && !atomic_load_explicit(&gp->preempt, memory_order_relaxed))
        return; /* nobody asked (a stale or foreign SIGURG) */
    int cls = gort__preempt_pc_class(pc);
    if (cls == GORT__PC_RUNTIME)
        return;
    /* Not inside a signal handler: the interrupted mask is the usual one
     * (its first word: signals 1-64). */
    uint64_t mask = *(const uint64_t *)(const void *)&uc->uc_sigmask;
    bool inhandler = (mask & ~mp->basemask) != 0;
    bool room = sp - gp->stack.lo > TRAMP_ROOM + 128;
    /* Either kind of redirection may leave this thread waiting for its P
     * to be run by another (see tramp_preempt). */
    bool threads = !atomic_load_explicit(&gort__newm_failing, memory_order_relaxed);
    if (!inhandler && room && threads) {
        if ((cls == GORT__PC_USER || cls == GORT__PC_LIBC) && at_syscall(pc)) {
            atomic_fetch_add_explicit(&gort__npreempt_syscall, 1, memory_order_relaxed);
            redirect(mp, uc, pc + 2, TR_SYSCALL);
            return;
        }
        if (cls == GORT__PC_USER && gort__async_preempt_enabled()) {
            atomic_fetch_add_explicit(&gort__npreempt_async, 1, memory_order_relaxed);
            redirect(mp, uc, pc, TR_PREEMPT);
            return;
        }
    }
#ifndef GORT_TSAN
    /* (Not under TSan: suspending takes runtime locks, instrumented code
     * the handler must not run there; the stop waits for a safe point.) */
    int suspend = atomic_load_explicit(&stw_suspend_ok, memory_order_relaxed);
    if (stw && (suspend == GORT__STW_SUSPEND_ANY ||
                (suspend == GORT__STW_SUSPEND_USER && cls == GORT__PC_USER)))
        stw_suspend(mp, gp, uc);
#else
    (void)stw;
#endif
}

HANDLER_NOSAN static void sigpreempt_handler(int sig, siginfo_t *info, void *uctx) {
    int saved = errno;
    struct m *mp = gort__getm_signal();
    if (mp != NULL) {
        /* Relaxed: see gort__preempt_m. */
        atomic_store_explicit(&mp->signalpending, 0, memory_order_relaxed);
        dosigpreempt(mp, uctx);
    }
    errno = saved;
    /* Even a preemption signal may have been coalesced with one the
     * program expects: let it through, as Go does. */
    if (old_urg.sa_flags & SA_SIGINFO) {
        if (old_urg.sa_sigaction != NULL)
            old_urg.sa_sigaction(sig, info, uctx);
    } else if (old_urg.sa_handler != SIG_DFL && old_urg.sa_handler != SIG_IGN) {
        old_urg.sa_handler(sig);
    }
}

/* ------------------------------------------------------------------------
 * The trampoline's C part (runs on the goroutine's stack, as a call)
 * ------------------------------------------------------------------------ */

/* A blocking call the signal found in progress, made again between
 * gort_syscall_enter and gort_syscall_exit.  The goroutine stays on this
 * thread until the trampoline returns (the code around the call may keep
 * thread-owned state, a stdio lock, in its registers). */
static void tramp_syscall(struct g *gp, uintptr_t *regs) {
    struct m *mp = gp->m;
    gp->lockedint++;
    gp->lockedm = mp;
    mp->lockedg = gp;
    gort_syscall_enter();
    long r = gort__rawsyscall6((long)regs[TR_RAX], (long)regs[TR_RDI], (long)regs[TR_RSI],
                               (long)regs[TR_RDX], (long)regs[TR_R10], (long)regs[TR_R8],
                               (long)regs[TR_R9]);
    gort_syscall_exit();
    /* The syscall instruction's own effects: rax the result, rcx and r11
     * clobbered (the kernel leaves the return rip and rflags there). */
    regs[TR_RAX] = (uintptr_t)r;
    regs[TR_RCX] = regs[TR_RETPC];
    regs[TR_R11] = regs[TR_RFLAGS];
    mp = gp->m;
    if (--gp->lockedint == 0 && gp->lockedext == 0) {
        mp->lockedg = NULL;
        gp->lockedm = NULL;
    }
}

/* Asynchronous preemption: yield, thread-affine (Go's asyncPreempt2 ->
 * gopreempt_m; the LockOSThread hand-off brings the goroutine back to this
 * M, whose P goes to another thread meanwhile). */
static void tramp_preempt(struct g *gp) {
    struct m *mp = gp->m;
    /* Its P goes to another thread while it waits for this one: with no
     * thread to be had, it keeps the P (cooperative preemption still
     * applies at its next gort call). */
    if (atomic_load_explicit(&gort__newm_failing, memory_order_relaxed))
        return;
    /* Nothing else to run: a new time slice instead of a round trip
     * through another thread.  sysmon's clock of the slice restarts (it
     * waits 10 ms again before the next signal); schedtick does not move,
     * since the goroutine passed no scheduling point (the stall detector,
     * GORTDEBUG=stalldetect, still sees it running without a gort call).
     * Not once the program is exiting (begin_exit signals every running
     * M): the goroutine then goes to the scheduler, which stops this M
     * for good, and gort_main's shutdown does not wait for a loop that
     * makes no gort call.  Relaxed: begin_exit's seq_cst store of exiting
     * came before its signal, and the signal's delivery orders it; a
     * late sight of 0 only makes this slice one more, ended by the next
     * signal. */
    if (!atomic_load_explicit(&gort__sched.exiting, memory_order_relaxed) &&
        gort__p_nothing_else(mp->p)) {
        atomic_store_explicit(&gp->preempt, false, memory_order_relaxed);
        atomic_store_explicit(&mp->p->schedwhen, gort_nanotime(), memory_order_relaxed);
        return;
    }
    gp->lockedint++;
    gp->lockedm = mp;
    mp->lockedg = gp;
    atomic_store_explicit(&gp->preempt, true, memory_order_relaxed);
    gp->asyncresume = true; /* not a gort call: the stall detector's clock runs on */
    gort__preempt_check_slow(gp);
    gp->asyncresume = false;
    if (gp->m != mp)
        gort__throw("asynchronous preemption: goroutine resumed on another thread");
    if (--gp->lockedint == 0 && gp->lockedext == 0) {
        mp->lockedg = NULL;
        gp->lockedm = NULL;
    }
}

void gort__sigtramp_go(uintptr_t *regs) {
    int saved = errno;
    struct g *gp = gort__getg();
    struct m *mp = gp->m;
    int kind = mp->tramp;
    mp->tramp = TR_NONE;
    if (kind == TR_SYSCALL)
        tramp_syscall(gp, regs);
    else if (kind == TR_PREEMPT)
        tramp_preempt(gp);
    else
        gort__throw("sigtramp: no action");
    errno = saved;
}

/* ------------------------------------------------------------------------
 * Stop the world
 * ------------------------------------------------------------------------ */

void gort__stw_wake_suspended(void) {
    /* Release: see stw_suspend. */
    atomic_fetch_add_explicit(&stwgen, 1, memory_order_release);
    gort__futexwakeup(&stwgen, INT32_MAX);
}

void gort__stw_allow_suspend(int where) {
    atomic_store_explicit(&stw_suspend_ok, where, memory_order_relaxed);
}

/* The M of P i if that P is still running and the M is not ours, else
 * NULL (racy reads of pp->m: Ms are type-stable, a stale one gets a
 * signal it ignores or a message names its goroutine). */
PREEMPT_NOSAN static struct m *running_m(int32_t i, struct m *self) {
    struct p *pp = gort__allp[i];
    if (pp == NULL || atomic_load_explicit(&pp->status, memory_order_relaxed) != P_RUNNING)
        return NULL;
    struct m *mp = pp->m;
    return mp != self ? mp : NULL;
}

/* Signals the M of every P still running. */
PREEMPT_NOSAN void gort__stw_signal(void) {
    struct m *self = gort__getm();
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < procs; i++) {
        struct m *mp = running_m(i, self);
        if (mp != NULL)
            gort__preempt_m(mp);
    }
}

/* Racy reads, as gort__stw_signal's (gs are type-stable too): a name
 * that changed meanwhile only makes the message stale. */
PREEMPT_NOSAN void gort__stw_report_wait(const char *reason, int64_t waited) {
    struct m *self = gort__getm();
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < procs; i++) {
        struct m *mp = running_m(i, self);
        struct g *gp = mp != NULL ? mp->curg : NULL;
        if (gp == NULL)
            continue;
        gort__printf("runtime: stop the world (%s) has waited %lld ms for goroutine %lld on P %d, "
                     "which makes no gort call%s\n",
                     reason, (long long)(waited / 1000000), (long long)gp->goid, (int)i,
                     san_tsan_on() ? " (under ThreadSanitizer no preemption signal can stop it)"
                                   : "");
    }
}

bool gort__stw_interrupted_ctx(struct g *gp, uintptr_t *pc, uintptr_t *fp, uintptr_t *sp) {
    /* Acquire: pairs with the handler's release store. */
    ucontext_t *uc = atomic_load_explicit(&gp->stwctx, memory_order_acquire);
    if (uc == NULL)
        return false;
    *pc = uc_pc(uc);
#if defined(__x86_64__)
    *fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#else
    *fp = (uintptr_t)uc->uc_mcontext.regs[29];
#endif
    *sp = uc_sp(uc);
    return true;
}

bool gort__stw_interrupted_regs(struct g *gp, uintptr_t *sp, const void **regs, size_t *regs_len) {
    /* Acquire: pairs with the handler's release store. */
    ucontext_t *uc = atomic_load_explicit(&gp->stwctx, memory_order_acquire);
    if (uc == NULL)
        return false;
    uintptr_t s = uc_sp(uc);
#if defined(__x86_64__)
    s = s - 128 > gp->stack.lo ? s - 128 : gp->stack.lo; /* the red zone */
    *regs = gp->m->stwregs;
    *regs_len = sizeof gp->m->stwregs;
#else
    *regs = uc->uc_mcontext.regs;
    *regs_len = sizeof uc->uc_mcontext.regs;
#endif
    *sp = s;
    return true;
}

/* ------------------------------------------------------------------------
 * sysmon: goroutines that hold their P too long
 * ------------------------------------------------------------------------ */

/* The state letter of thread tid (/proc/self/task/TID/stat), or 0. */
static char thread_state(int32_t tid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* The system call thread tid is blocked in (/proc/self/task/TID/syscall):
 * its number and arguments, and its sp and pc; false if it is in none. */
static bool thread_syscall(int32_t tid, long *nr, unsigned long args[6], unsigned long *sp,
                           unsigned long *pc) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx %lx %lx", nr, &args[0], &args[1], &args[2],
                  &args[3], &args[4], &args[5], sp, pc) == 9 &&
           *nr >= 0;
}

/* Blocking calls the kernel restarts after a handler installed with
 * SA_RESTART (it returns -ERESTARTSYS for them): interrupting them is
 * harmless, and the handler then wraps them (TR_SYSCALL).  Others (poll,
 * nanosleep, epoll_wait, timed futex waits...) would fail with EINTR. */
static bool restartable(long nr, const unsigned long args[6]) {
#if defined(__x86_64__)
    switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_accept:
    case SYS_accept4:
    case SYS_recvfrom:
    case SYS_sendto:
    case SYS_recvmsg:
    case SYS_sendmsg:
    case SYS_wait4:
    case SYS_waitid:
    case SYS_flock:
        return true;
    case SYS_futex: /* FUTEX_WAIT without a timeout */
        return (args[1] & 0x7f) == 0 && args[3] == 0;
    default:
        return false;
    }
#else
    (void)nr, (void)args;
    return false;
#endif
}

/* Called by sysmon for a P whose goroutine gp has run since `since`
 * (nanotime) without a scheduling point, after it set gp->preempt.  Sends
 * the preemption signal to the thread unless that thread is blocked in a
 * call the signal would make fail, or in one it could only restart because
 * no thread can be made to take the P over (RLIMIT_NPROC: the handler
 * leaves the call alone then); such a goroutine is reported once, with
 * where it is, when it has held the P for a second.  (A program whose every
 * thread sat in restartable calls then hung without a word.) */
PREEMPT_NOSAN void gort__sysmon_preempt(struct p *pp, struct g *gp, int64_t now, int64_t since) {
    struct m *mp = pp->m;
    if (mp == NULL || mp->curg != gp || !preempt_ready)
        return;
    if (atomic_load_explicit(&mp->signalpending, memory_order_relaxed))
        return;
    char st = thread_state(mp->tid);
    if (st == 'R' || st == 0) {
        gort__preempt_m(mp);
        return;
    }
    long nr;
    unsigned long args[6], sp, pc;
    if (!thread_syscall(mp->tid, &nr, args, &sp, &pc)) {
        gort__preempt_m(mp); /* between calls by now */
        return;
    }
    bool threads = !atomic_load_explicit(&gort__newm_failing, memory_order_relaxed);
    if (threads && restartable(nr, args)) {
        gort__preempt_m(mp);
        return;
    }
    if (now - since < 1000 * 1000 * 1000)
        return;
    if (mp->syscall_reported == gp && mp->syscall_reported_goid == gp->goid)
        return;
    mp->syscall_reported = gp;
    mp->syscall_reported_goid = gp->goid;
    int64_t held = now - since;
    const char *fn = NULL;
    uintptr_t start = 0;
    gort__print_lock();
    gort__printf("goroutine %lld has held P %d for %lld.%llds in a blocking call without "
                 "gort_syscall_enter\n",
                 (long long)gp->goid, pp->id, (long long)(held / 1000000000),
                 (long long)(held / 100000000 % 10));
    if (gort__symtab_lookup(pc, &start, NULL, &fn) == 0)
        gort__printf("\t%s+%#lx (system call %ld)\n", fn, (unsigned long)(pc - start), nr);
    else
        gort__printf("\tpc=%#lx (system call %ld)\n", pc, nr);
    /* Leaf system-call wrappers leave their caller's return address at sp. */
    fn = NULL;
    if (sp >= gp->stack.lo && sp + sizeof(uintptr_t) <= gp->stack.hi) {
        uintptr_t ret = *(const uintptr_t *)sp;
        if (gort__symtab_lookup(ret, &start, NULL, &fn) == 0)
            gort__printf("\tcalled from %s+%#lx\n", fn, (unsigned long)(ret - start));
    }
    if (!threads)
        gort__printf("\tno thread can take P %d over: thread creation fails (ulimit -u?)\n",
                     pp->id);
    gort__print_unlock();
}
