/*
 * traceback.c - goroutine tracebacks and dumps.  Mirrors runtime/traceback.go
 * (traceback1, goroutineheader, tracebackothers, printcreatedby) and
 * runtime.Stack (mprof.go).
 *
 * Unwinding follows the frame-pointer chain: every frame built with frame
 * pointers holds [fp] = the caller's fp and [fp+8] = the return address
 * (x86-64 rbp, arm64 x29/x30 alike).  libgort and its tests build with
 * -fno-omit-frame-pointer; user code needs it too for complete traces (a
 * frame without one ends the walk early, never faults).  Where the walk
 * starts:
 *   - the current goroutine: its own frame (or, in a fault handler, the
 *     interrupted context's fp and pc, see gort__traceback_set_sigctx);
 *   - a parked or runnable goroutine: its saved context (arch.h: fp and
 *     return address in the frame at ctx.sp);
 *   - a goroutine running on another thread: not unwound ("stack
 *     unavailable", as Go says for a running g it cannot stop).
 * Every fp must lie inside the goroutine's stack bounds, be aligned and
 * increase; at most TB_MAXFRAMES frames are printed.
 *
 * Symbols: function names from symtab.c (ELF .symtab/.dynsym); file:line
 * from the DWARF line tables through elfutils libdwfl when gort was built
 * with it (GORT_HAVE_LIBDW), else "?:0".  libdwfl is not thread-safe and
 * allocates: it is used under dwlock, taken with trylock so that a fault
 * inside it (or a dump racing another) degrades to names only.  Its
 * line-table reading needs more stack than g0 or a signal stack offers, so
 * the lookups of one goroutine run as a batch on a short-lived helper
 * thread (resolve_lines) while the caller waits.
 *
 * Runtime frames (gort__* functions, static functions of the runtime's own
 * source files, the switch assembly) are hidden unless GORTRACEBACK=system,
 * as Go elides runtime.* frames; public gort_* calls stay visible (Go shows
 * sync.(*Mutex).Lock and panic).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "trace.h"
#include "lockrank.h"

#ifdef GORT_HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#endif

#define TB_MAXFRAMES 100

/* A dump reads other goroutines' fields and stacks racily, as Go's does
 * (the runtime is not race-instrumented there either): a fatal error or
 * SIGQUIT cannot stop the world first.  Those readers are not TSan-
 * instrumented. */
#define TB_RACY __attribute__((no_sanitize("thread")))
/* The fp-chain walk follows frame pointers that code built without them
 * may have left as any value (rbp used as a data register).  The words it
 * reads are within the goroutine's stack and checked, not trusted, but may
 * be AddressSanitizer redzones: the walk is not ASan-instrumented, or a
 * library built with ASan would report the user's frame as its error. */
#define TB_ANYWORD __attribute__((no_sanitize("address")))

/* ------------------------------------------------------------------------
 * Output: fd 2 (dumps) or a caller's buffer (gort_stack).
 * ------------------------------------------------------------------------ */

typedef struct tbout {
    char *buf; /* NULL: write to fd 2 through gort__printf */
    size_t cap;
    size_t n;
} tbout;

__attribute__((format(printf, 2, 3))) static void outf(tbout *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (o->buf == NULL) {
        gort__vprintf(fmt, ap);
    } else if (o->n + 1 < o->cap) {
        int k = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
        if (k > 0) {
            o->n += (size_t)k;
            if (o->n >= o->cap)
                o->n = o->cap - 1;
        }
    }
    va_end(ap);
}

/* ------------------------------------------------------------------------
 * Symbolisation
 * ------------------------------------------------------------------------ */

/* The directory of the runtime's sources, from this file's own path. */
static size_t srcdir_len(void) {
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    return slash ? (size_t)(slash - f + 1) : 0;
}

#ifdef GORT_HAVE_LIBDW
static gort__rtlock dwlock = GORT__RTLOCK_INIT(LOCKRANK_DWARF);
static Dwfl *dwfl; /* [dwlock] */
/* [dwlock] dwfl may hold a module whose file could not be opened for want
 * of descriptors: libdw keeps that error for good, so the next lookup
 * starts from a new dwfl (not this one: the last lookup's files and names
 * point into it until the caller is done). */
static bool dwfl_poisoned;

static int find_debuginfo_none(Dwfl_Module *mod, void **userdata, const char *modname,
                               Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                               GElf_Word debuglink_crc, char **debuginfo_file_name) {
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1; /* only the object's own DWARF: no debuginfod, no searching */
}

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = find_debuginfo_none,
};

/* dwlock held.  A failure is not for good: the maps file may be
 * unreadable only for now (RLIMIT_NOFILE, memory), and the next dump tries
 * again. */
static bool dwfl_report(void) {
    if (dwfl == NULL) {
        dwfl = dwfl_begin(&dwfl_callbacks);
        if (dwfl == NULL)
            return false;
    } else {
        dwfl_report_begin(dwfl);
    }
    if (dwfl_linux_proc_report(dwfl, getpid()) != 0 || dwfl_report_end(dwfl, NULL, NULL) != 0) {
        dwfl_end(dwfl);
        dwfl = NULL;
        return false;
    }
    return true;
}

/* Is a descriptor free?  libdw opens an object's file on its first lookup
 * and keeps a failure to. */
static bool fd_available(void) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != EMFILE && errno != ENFILE;
    close(fd);
    return true;
}

/* Frames inlined at one pc, innermost first, above the frame of the
 * function the symbol table finds (which srcline gives the line of): Go
 * shows each inlined call as a frame of its own, and so do we (gort.h's
 * mutex fast paths, the user's static inline functions, what -O2 folds
 * into its callers). */
#define TB_INLINE 8
typedef struct tbinl {
    int n;
    const char *name[TB_INLINE];
    const char *file[TB_INLINE];
    int line[TB_INLINE];
} tbinl;
static tbinl inl[TB_MAXFRAMES + 1]; /* [dwlock] per pc of resolve_lines */

/* The name of an inlined subroutine's function (DW_AT_abstract_origin). */
static const char *inlined_name(Dwarf_Die *die) {
    Dwarf_Attribute a;
    Dwarf_Die origin;
    if (dwarf_formref_die(dwarf_attr(die, DW_AT_abstract_origin, &a), &origin) == NULL)
        return NULL;
    const char *name = dwarf_diename(&origin);
    if (name == NULL && dwarf_formref_die(dwarf_attr(&origin, DW_AT_specification, &a), &origin))
        name = dwarf_diename(&origin);
    return name;
}

/* The offset of the DIE a function's instance is of (its
 * DW_AT_abstract_origin), or of the DIE itself when it has none. */
static Dwarf_Off origin_off(Dwarf_Die *die) {
    Dwarf_Attribute a;
    Dwarf_Die origin;
    if (dwarf_formref_die(dwarf_attr(die, DW_AT_abstract_origin, &a), &origin) != NULL)
        return dwarf_dieoffset(&origin);
    return dwarf_dieoffset(die);
}

/* Where an inlined subroutine was called from (DW_AT_call_file/line). */
static bool callsite(Dwarf_Die *cu, Dwarf_Die *die, const char **file, int *line) {
    Dwarf_Attribute a;
    Dwarf_Word fidx = 0, ln = 0;
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &fidx) != 0 ||
        dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &ln) != 0 ||
        dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || fidx >= nfiles)
        return false;
    const char *f = dwarf_filesrc(files, fidx, NULL, NULL);
    if (f == NULL)
        return false;
    *file = f;
    *line = (int)ln;
    return true;
}

/* With pc's line from the line table in *file and *line: when pc lies in code
 * inlined into its function, moves that line to the innermost inlined
 * frame in *out and gives the function's own frame the line of the
 * outermost inlined call; each inlined frame between gets the line of the
 * call inlined into it.  Frames past TB_INLINE are dropped from the
 * inner end. */
static void inline_frames(Dwarf_Die *cu, Dwarf_Addr addr, const char **file, int *line,
                          tbinl *out) {
    out->n = 0;
    /* dwarf_getscopes lists the innermost inlined subroutine at addr and
     * then its abstract origin's parents: the calls it was inlined through
     * and the concrete function holding them come from the DIE's own
     * parents (dwarf_getscopes_die). */
    Dwarf_Die *scopes = NULL, inner;
    int n = dwarf_getscopes(cu, addr, &scopes);
    bool inlined = false;
    for (int i = 0; i < n && !inlined; i++) {
        if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine) {
            inner = scopes[i];
            inlined = true;
        }
    }
    gort__free(scopes);
    scopes = NULL;
    n = inlined ? dwarf_getscopes_die(&inner, &scopes) : 0;
    int k = 0;
    Dwarf_Die *chain[TB_INLINE]; /* inlined subroutines, outermost first */
    Dwarf_Off self = 0;          /* the function they were inlined into */
    for (int i = n - 1; i >= 0 && k < TB_INLINE; i--) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_subprogram && k == 0) {
            self = origin_off(&scopes[i]);
        } else if (tag == DW_TAG_inlined_subroutine) {
            /* GCC can inline a function's abstract body into its own
             * out-of-line copy (addr2line -i shows f inlined in f): no
             * call, and no frame. */
            if (k == 0 && origin_off(&scopes[i]) == self)
                continue;
            chain[k++] = &scopes[i];
        }
    }
    /* chain[0] is the outermost: its call site is the function's line.
     * Going inward, each frame's line is the call site of the one inlined
     * into it; the innermost keeps the line table's line.  A call site
     * missing from the DWARF: no inlined frames (the line table's line). */
    const char *cf[TB_INLINE];
    int cl[TB_INLINE];
    for (int j = 0; j < k; j++)
        if (!callsite(cu, chain[j], &cf[j], &cl[j]))
            k = 0;
    for (int j = 0; j < k; j++) {
        int idx = k - 1 - j;
        out->name[idx] = inlined_name(chain[j]);
        out->file[idx] = j == k - 1 ? *file : cf[j + 1];
        out->line[idx] = j == k - 1 ? *line : cl[j + 1];
    }
    if (k > 0) {
        *file = cf[0];
        *line = cl[0];
    }
    out->n = k;
    gort__free(scopes);
}

/* file:line of pc, or false, and in *out the frames inlined there.  *file
 * and the names point into libdw's data (kept until the next report;
 * dwlock is held by the caller while they are used).  dwfl reported. */
static bool srcline(uintptr_t pc, const char **file, int *line, tbinl *out) {
    out->n = 0;
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
    if (mod == NULL)
        return false;
    Dwfl_Line *ln = dwfl_module_getsrc(mod, pc);
    if (ln != NULL) {
        int l = 0;
        const char *f = dwfl_lineinfo(ln, NULL, &l, NULL, NULL, NULL);
        if (f == NULL)
            return false;
        *file = f;
        *line = l;
        Dwarf_Addr bias = 0;
        Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
        if (cu != NULL)
            inline_frames(cu, pc - bias, file, line, out);
        return true;
    }
    /* libdw before 0.189 finds a CU only through .debug_aranges, which
     * clang does not emit: search the CUs' address ranges instead. */
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = NULL;
    while ((cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL) {
        if (dwarf_haspc(cu, pc - bias) <= 0)
            continue;
        Dwarf_Line *dl = dwarf_getsrc_die(cu, pc - bias);
        int l = 0;
        const char *f = dl ? dwarf_linesrc(dl, NULL, NULL) : NULL;
        if (f == NULL || dwarf_lineno(dl, &l) != 0)
            return false;
        *file = f;
        *line = l;
        inline_frames(cu, pc - bias, file, line, out);
        return true;
    }
    return false;
}

/* libdw's line-table reading needs more stack than g0 or a signal stack
 * has: the lookups run on a helper thread with an ordinary stack (the
 * caller waits for it).  dwlock held. */
typedef struct lines_req {
    const uintptr_t *pcs;
    int n;
    const char **files;
    int *lines;
} lines_req;

static void *lines_thread(void *arg) {
    lines_req *r = arg;
    if (dwfl_poisoned) {
        dwfl_end(dwfl); /* the caller is done with the last lookup's names */
        dwfl = NULL;
        dwfl_poisoned = false;
    }
    /* Out of descriptors: no lines this time, and no failure kept. */
    if (!fd_available())
        return NULL;
    if (dwfl == NULL && !dwfl_report())
        return NULL;
    /* A pc in no module may be in an object loaded since: report again,
     * once and before the first lookup.  Never between two: a report
     * frees the DWARF of a module gone from the maps (dwarf_end), and
     * the files and names found for the earlier pcs may point there (a
     * CPU profile's symbolisation read a freed file name under TSan). */
    for (int i = 0; i < r->n; i++) {
        if (r->pcs[i] != 0 && dwfl_addrmodule(dwfl, r->pcs[i]) == NULL) {
            if (!dwfl_report())
                return NULL;
            break;
        }
    }
    bool missed = false;
    for (int i = 0; i < r->n; i++) {
        if (r->pcs[i] == 0 || !srcline(r->pcs[i], &r->files[i], &r->lines[i], &inl[i])) {
            r->files[i] = NULL;
            missed |= r->pcs[i] != 0;
        }
    }
    /* The descriptors ran out meanwhile: a module may have kept the
     * failure to open its file. */
    if (missed && !fd_available())
        dwfl_poisoned = true;
    return NULL;
}

/* Runs fn(arg) on a helper thread with a 4 MiB stack and waits for it. */
static void on_lines_thread(void *(*fn)(void *), void *arg) {
    pthread_t t;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setstacksize(&attr, 4u << 20);
    if (pthread_create(&t, &attr, fn, arg) == 0)
        pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
}

static void resolve_lines(const uintptr_t *pcs, int n, const char **files, int *lines) {
    lines_req r = {pcs, n, files, lines};
    for (int i = 0; i < n; i++) {
        files[i] = NULL;
        inl[i].n = 0;
    }
    on_lines_thread(lines_thread, &r);
}

/* Any number of pcs on one helper thread, TB_MAXFRAMES at a time, each
 * batch's inlined frames copied out of inl[] into inls.  dwlock held. */
typedef struct lines_all {
    const uintptr_t *pcs;
    int n;
    const char **files;
    int *lines;
    tbinl *inls;
} lines_all;

static void *lines_all_thread(void *arg) {
    lines_all *a = arg;
    for (int base = 0; base < a->n; base += TB_MAXFRAMES) {
        int k = a->n - base < TB_MAXFRAMES ? a->n - base : TB_MAXFRAMES;
        lines_req r = {a->pcs + base, k, a->files + base, a->lines + base};
        for (int i = 0; i < k; i++) {
            r.files[i] = NULL;
            inl[i].n = 0;
        }
        (void)lines_thread(&r);
        memcpy(a->inls + base, inl, (size_t)k * sizeof *inl);
    }
    return NULL;
}

static void resolve_lines_all(const uintptr_t *pcs, int n, const char **files, int *lines,
                              tbinl *inls) {
    lines_all a = {pcs, n, files, lines, inls};
    for (int i = 0; i < n; i++) {
        files[i] = NULL;
        inls[i].n = 0;
    }
    on_lines_thread(lines_all_thread, &a);
}

/* libdw allocates with malloc under dwlock: the symboliser's exception to
 * "no malloc under a runtime lock" (fault.h). */
static bool dwlock_try(void) {
    for (int i = 0; i < 1000; i++) {
        if (gort__trylock(&dwlock)) {
            gort__malloc_ok_begin();
            return true;
        }
        gort__osyield();
    }
    return false;
}
static void dwlock_release(void) {
    gort__malloc_ok_end();
    gort__unlock(&dwlock);
}
#else
typedef struct tbinl {
    int n;
    const char *name[1];
    const char *file[1];
    int line[1];
} tbinl;
static tbinl inl[TB_MAXFRAMES + 1]; /* never filled: no inlined frames */
static void resolve_lines(const uintptr_t *pcs, int n, const char **files, int *lines) {
    (void)pcs, (void)lines;
    for (int i = 0; i < n; i++)
        files[i] = NULL;
}
static void resolve_lines_all(const uintptr_t *pcs, int n, const char **files, int *lines,
                              tbinl *inls) {
    (void)pcs, (void)lines;
    for (int i = 0; i < n; i++) {
        files[i] = NULL;
        inls[i].n = 0;
    }
}
static bool dwlock_try(void) {
    return true;
}
static void dwlock_release(void) {}
#endif

/* Does Go's showframe say to print this frame?  level: GORTRACEBACK. */
static bool showframe(const char *name, const char *file, uintptr_t pc, int level) {
    if (level >= 3)
        return true;
    if (name != NULL && strncmp(name, "gort__", 6) == 0)
        return false;
    if (name != NULL && strncmp(name, "gort_", 5) == 0)
        return true; /* the public API, as Go shows exported runtime functions */
    /* The runtime's own code, named or not: without debug information (a
     * stripped library, a build without libdw) the file test below never
     * hid its static functions. */
    if (pc >= (uintptr_t)__start_gort_text && pc < (uintptr_t)__stop_gort_text)
        return false;
    if (name == NULL)
        return true;
    if (file != NULL) {
        size_t n = srcdir_len();
        if (n > 0 && strncmp(file, __FILE__, n) == 0)
            return false; /* a static function of the runtime */
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Unwinding
 * ------------------------------------------------------------------------ */

/* Collects return addresses by walking the fp chain from fp within
 * [lo, hi).  pcs[0] = pc0 when pc0 != 0.  Returns the count; *more is set
 * when the chain went on past max. */
TB_RACY TB_ANYWORD static int unwind(uintptr_t pc0, uintptr_t fp, uintptr_t lo, uintptr_t hi,
                                     uintptr_t *pcs, int max, bool *more) {
    int n = 0;
    *more = false;
    if (pc0 != 0 && max > 0)
        pcs[n++] = pc0;
    if (hi <= lo || hi - lo < 2 * sizeof(uintptr_t))
        return n; /* no stack known */
    while (fp >= lo && fp <= hi - 2 * sizeof(uintptr_t) && (fp & (sizeof(uintptr_t) - 1)) == 0) {
        const volatile uintptr_t *f = (const volatile uintptr_t *)fp;
        uintptr_t next = f[0];
        uintptr_t ret = f[1];
        if (ret == 0)
            break;
        if (n == max) {
            *more = true;
            break;
        }
        pcs[n++] = ret;
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

static int preempted_leaf(uintptr_t fp, int k0, uintptr_t lo, uintptr_t hi, uintptr_t *pcs, int n,
                          int max, bool *more, bool sigsafe);

/* Unwinds a switched-out goroutine from the frame its context switch saved
 * at sp (arch.h, switch_*.S): the caller's frame pointer and the return
 * address are words 6 and 7 of it on x86-64 (above the FP control words
 * and r15..rbx), 11 and 12 on arm64.  0 frames if the frame is not inside
 * [lo, hi). */
TB_RACY static int unwind_switched(const uintptr_t *sp, uintptr_t lo, uintptr_t hi, uintptr_t *pcs,
                                   int max, bool *more) {
    if ((uintptr_t)sp < lo || (uintptr_t)sp + GORT__CTX_FRAME_WORDS * 8 > hi)
        return 0;
#if defined(__x86_64__)
    uintptr_t fp = sp[6], ret = sp[7];
    int n = unwind(ret, fp, lo, hi, pcs, max, more);
    return preempted_leaf(fp, ret != 0 && max > 0 ? 1 : 0, lo, hi, pcs, n, max, more, false);
#else
    uintptr_t fp = sp[11], ret = sp[12];
    return unwind(ret, fp, lo, hi, pcs, max, more);
#endif
}

/* The length of a symbol's name as dumps show it (gort__symtab_namelen:
 * without the suffix of a piece the compiler split off); 1 for the "?"
 * of no name. */
static int fnlen(const char *name) {
    return name ? (int)gort__symtab_namelen(name) : 1;
}

/* A frame's second line: file:line, and +offset from the function's start
 * for a function's own frame (named: fname); inlined frames have none, as
 * in Go's tracebacks (pc 0).  No name: the pc. */
static void printline(tbout *o, const char *file, int line, const char *fname, uintptr_t off,
                      uintptr_t pc) {
    if (file)
        outf(o, "\t%s:%d", file, line);
    else
        outf(o, "\t?:0");
    if (fname)
        outf(o, " +0x%lx\n", (unsigned long)off); /* Go: +0x0 for 0, not %#lx's +0 */
    else if (pc == 0)
        outf(o, "\n");
    else
        outf(o, " pc=%#lx\n", (unsigned long)pc);
}

#if defined(__x86_64__)
static uintptr_t call_target(uintptr_t ret, bool sigsafe);
#endif

/* Is pcs[i] the pc an asynchronous preemption interrupted (the record
 * the SIGURG handler made, right after the return into the trampoline's
 * call of gort__sigtramp_go: see preempted_leaf)?  That pc is the
 * instruction itself, not a return address, so it is looked up as it is,
 * as Go's traceback takes the pc under asyncPreempt without the -1: one
 * less is in the function before when the goroutine was interrupted at
 * its function's first instruction (a dump showed "?" or that other
 * function in place of a leaf spinning from its entry), and on the line
 * before when at a line's first instruction. */
TB_RACY static bool preempted_pc(const uintptr_t *pcs, int i, bool sigsafe) {
#if defined(__x86_64__)
    return i > 0 && call_target(pcs[i - 1], sigsafe) == (uintptr_t)gort__sigtramp_go;
#else
    (void)pcs, (void)i, (void)sigsafe;
    return false;
#endif
}

/* Profiles take every pc of a stack as a return address and look up
 * pc - 1 (as pprof does): the pc a preemption interrupted goes in as
 * pc + 1, as Go's tracebackPCs stores it.  sigsafe: as for call_target. */
TB_RACY static void preempted_pc_as_return(uintptr_t *pcs, int n, bool sigsafe) {
    for (int i = 1; i < n; i++) {
        if (preempted_pc(pcs, i, sigsafe)) {
            pcs[i]++;
            return;
        }
    }
}

/* Prints the frames pcs[0..n) and the creator line of gp (if any; NULL:
 * a stack of no goroutine).
 * exact0: pcs[0] is the faulting pc itself, not a return address. */
TB_RACY static void printframes(tbout *o, struct g *gp, const uintptr_t *pcs, int n, bool exact0,
                                bool more, int level) {
    uintptr_t look[TB_MAXFRAMES + 1];
    const char *files[TB_MAXFRAMES + 1];
    int lines[TB_MAXFRAMES + 1];
    for (int i = 0; i < n; i++)
        look[i] = (i == 0 && exact0) || preempted_pc(pcs, i, false)
                      ? pcs[i]
                      : pcs[i] - 1; /* the call, not the return */
    uintptr_t cpc = gp != NULL && !gp->is_main ? (uintptr_t)gp->createdby : 0;
    look[n] = cpc ? cpc - 1 : 0;
    bool locked = dwlock_try();
    if (locked)
        resolve_lines(look, n + 1, files, lines);
    else
        for (int i = 0; i <= n; i++)
            files[i] = NULL;
    bool shown = false; /* a frame printed */
    for (int i = 0; i <= n; i++) {
        if (i == n && more)
            outf(o, "...additional frames elided...\n");
        if (i == n && cpc == 0)
            break;
        uintptr_t pc = i < n ? pcs[i] : cpc;
        uintptr_t start = 0;
        const char *name = NULL;
        if (gort__symtab_lookup(look[i], &start, NULL, &name) != 0)
            name = NULL;
        int ni = locked && files[i] ? inl[i].n : 0;
        if (i == n) {
            /* As Go's printcreatedby: the innermost function at the call. */
            const char *cname = ni > 0 ? inl[i].name[0] : name;
            const char *cfile = ni > 0 ? inl[i].file[0] : files[i];
            int cline = ni > 0 ? inl[i].line[0] : lines[i];
            if (!showframe(cname, cfile, look[i], level))
                continue;
            /* Go's printcreatedby1: the parent only when there is one (a
             * thread outside the runtime, a timer: none). */
            outf(o, "created by %.*s", fnlen(cname), cname ? cname : "?");
            if (gp->parentgoid != 0)
                outf(o, " in goroutine %lld", (long long)gp->parentgoid);
            outf(o, "\n");
            printline(o, cfile, cline, ni > 0 ? NULL : name, pc - start, ni > 0 ? 0 : pc);
            continue;
        }
        for (int j = 0; j < ni; j++) {
            if (!showframe(inl[i].name[j], inl[i].file[j], look[i], level))
                continue;
            shown = true;
            outf(o, "%s(...)\n", inl[i].name[j] ? inl[i].name[j] : "?");
            printline(o, inl[i].file[j], inl[i].line[j], NULL, 0, 0);
        }
        if (!showframe(name, files[i], look[i], level))
            continue;
        /* Go's panic dump starts at panic's caller; a panic further out
         * (a deferred call's) shows, marking where the deferred code
         * began. */
        if (!shown && level < 3 && name != NULL &&
            (strcmp(name, "gort_panic") == 0 || strcmp(name, "gort_panicf") == 0))
            continue;
        shown = true;
        outf(o, "%.*s(...)\n", fnlen(name), name ? name : "?");
        printline(o, files[i], lines[i], name, pc - start, pc);
    }
    if (locked)
        dwlock_release();
}

/* An interrupted context, for the traceback of the goroutine a signal
 * interrupted: a fault handler's, for its own dump (per thread), and the
 * one SIGQUIT's handler hands to sysmon's dump (cap_ctx: written by the
 * handler before the hand-off's release store, read after its acquire;
 * the interrupted thread waits in the handler, on its signal stack,
 * while the dump reads the goroutine's stack). */
typedef struct sigctx {
    struct g *g;
    uintptr_t pc, fp, sp;
} sigctx;
static __thread sigctx sig_ctx;
static sigctx cap_ctx;

void gort__traceback_set_sigctx(struct g *gp, uintptr_t pc, uintptr_t fp, uintptr_t sp) {
    sig_ctx = (sigctx){gp, pc, fp, sp};
}

void gort__traceback_capture_sig(struct g *gp, uintptr_t pc, uintptr_t fp, uintptr_t sp) {
    cap_ctx = (sigctx){gp, pc, fp, sp};
}

#if defined(__x86_64__)
/* The target of the direct call (x86-64 call rel32) that ends at the
 * return address ret, or 0 if the 5 bytes before ret are not one inside a
 * known function.  The call lies wholly inside that function's text, so
 * reading it cannot fault.  sigsafe: symbols from the table built so far
 * only (gort__symtab_lookup_built). */
TB_RACY TB_ANYWORD static uintptr_t call_target(uintptr_t ret, bool sigsafe) {
    uintptr_t cstart = 0;
    size_t csize = 0;
    if (ret < 5 ||
        (sigsafe ? gort__symtab_lookup_built(ret - 5, &cstart, &csize)
                 : gort__symtab_lookup(ret - 5, &cstart, &csize, NULL)) != 0 ||
        ret - 5 < cstart || ret > cstart + csize)
        return 0;
    const volatile unsigned char *call = (const volatile unsigned char *)(ret - 5);
    if (call[0] != 0xe8)
        return 0;
    int32_t rel;
    unsigned char b[4] = {call[1], call[2], call[3], call[4]};
    memcpy(&rel, b, sizeof rel);
    return ret + (uintptr_t)(intptr_t)rel;
}

/* Copies n bytes at addr without faulting: process_vm_readv on this
 * process fails with EFAULT where the memory is not mapped (and is
 * async-signal-safe).  False then, or where a seccomp filter refuses it. */
static bool read_nofault(void *dst, uintptr_t addr, size_t n) {
    struct iovec l = {dst, n}, r = {(void *)addr, n};
    return syscall(SYS_process_vm_readv, (long)getpid(), &l, 1L, &r, 1L, 0L) == (long)n;
}

/* Where the PLT stub at stub jumps: the word in its GOT slot, or 0 if stub
 * is not one (jmp *disp32(%rip), after an endbr64 and a bnd prefix in the
 * IBT and MPX forms).  stub is the target of what looks like a call
 * (call_target), which the word at sp may only imitate: both reads are
 * made without faulting. */
TB_RACY TB_ANYWORD static uintptr_t plt_target(uintptr_t stub) {
    unsigned char c[11];
    if (!read_nofault(c, stub, sizeof c))
        return 0;
    size_t i = 0;
    if (c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
        i = 4; /* endbr64 */
    if (c[i] == 0xf2)
        i++; /* bnd */
    if (c[i] != 0xff || c[i + 1] != 0x25)
        return 0;
    int32_t disp;
    memcpy(&disp, &c[i + 2], sizeof disp);
    uintptr_t slot = stub + i + 6 + (uintptr_t)(intptr_t)disp;
    uintptr_t target = 0;
    return read_nofault(&target, slot, sizeof target) ? target : 0;
}
#endif

/* How far into a function without a symbol (libc's IFUNC variants, such
 * as __strlen_avx2, are in no symbol table a stripped libc keeps) a pc
 * may lie for the call through the PLT to that function's start to count
 * as its caller's (leaf_ret). */
#define LEAF_UNNAMED_MAX ((uintptr_t)64 << 10)

/* The interrupted pc is in a function that has not built a frame (a leaf,
 * which GCC builds without one even with -fno-omit-frame-pointer, or the
 * first instruction of any function): the return address into its caller
 * is then the word at sp, and the fp chain starts at the caller's frame,
 * whose own pc the walk would skip.  Recognised by the call instruction
 * just before that word being a direct call to pc's function (x86-64 call
 * rel32), or to a PLT stub that jumps there, which a saved register or a
 * local practically never imitates.  A pc in no known function (an IFUNC
 * variant) counts as in the function the PLT's jump reaches when it lies
 * at most LEAF_UNNAMED_MAX past its start.  Before, a fault in strlen or
 * memcpy (reached through the PLT) or a signal in kill lost the caller,
 * the frame the user needs.  Returns the return address, or 0.  sigsafe:
 * from a signal handler that may have interrupted anything (symbols from
 * the table built so far). */
TB_RACY TB_ANYWORD static uintptr_t leaf_ret(uintptr_t pc, uintptr_t sp, uintptr_t lo, uintptr_t hi,
                                             bool sigsafe) {
#if defined(__x86_64__)
    uintptr_t fstart = 0;
    size_t fsize = 0;
    if (pc == 0 || sp < lo || sp + 8 > hi || (sp & 7) != 0)
        return 0;
    bool known = (sigsafe ? gort__symtab_lookup_built(pc, &fstart, &fsize)
                          : gort__symtab_lookup(pc, &fstart, NULL, NULL)) == 0;
    uintptr_t ret = *(const volatile uintptr_t *)sp;
    uintptr_t target = call_target(ret, sigsafe);
    if (target == 0)
        return 0;
    if (known && target == fstart)
        return ret;
    target = plt_target(target);
    if (target == 0)
        return 0;
    if (known)
        return target == fstart ? ret : 0;
    return target <= pc && pc - target < LEAF_UNNAMED_MAX ? ret : 0;
#else
    (void)pc, (void)sp, (void)lo, (void)hi, (void)sigsafe;
    return 0; /* arm64: the return address is in x30, not kept here */
#endif
}

/* pcs[0..n) from unwind(ret, fp, ...) of a goroutine (switched out, or
 * interrupted by a signal): if it was preempted asynchronously, the
 * record after the return into the trampoline (the return address of its
 * call of gort__sigtramp_go) is the one the SIGURG handler made,
 * [interrupted rbp, interrupted pc], with the interrupted sp 144 bytes
 * above it (arch/preempt_amd64.S).  A function interrupted before it made
 * a frame (a leaf, which GCC builds without one even with
 * -fno-omit-frame-pointer) left the return address into its caller at
 * that sp, in no record: the walk skipped the caller (gdb, by the
 * trampoline's CFI, did not).  Inserts it after the interrupted pc.
 * pcs[k] (k >= k0) came from the record at f_k: f_k0 = fp, f_k+1 = [f_k],
 * each read by the walk already.  sigsafe: as for leaf_ret.  Returns the
 * new n. */
TB_RACY TB_ANYWORD static int preempted_leaf(uintptr_t fp, int k0, uintptr_t lo, uintptr_t hi,
                                             uintptr_t *pcs, int n, int max, bool *more,
                                             bool sigsafe) {
#if defined(__x86_64__)
    uintptr_t f = fp;
    for (int k = k0; k < n; k++) {
        if (k > k0)
            f = *(const volatile uintptr_t *)f;
        if (!preempted_pc(pcs, k, sigsafe))
            continue;
        uintptr_t ret = leaf_ret(pcs[k], f + 144, lo, hi, sigsafe);
        if (ret == 0)
            return n;
        if (k + 1 >= max) {
            *more = true;
            return n;
        }
        if (n == max) { /* the outermost frame makes room */
            n--;
            *more = true;
        }
        memmove(pcs + k + 2, pcs + k + 1, (size_t)(n - k - 1) * sizeof *pcs);
        pcs[k + 1] = ret;
        return n + 1;
    }
#else
    (void)fp, (void)k0, (void)lo, (void)hi, (void)pcs, (void)max, (void)more, (void)sigsafe;
#endif
    return n;
}

#if defined(__x86_64__)
/* Does the function at [tstart, tstart + tsize) jump to fstart (a tail
 * call: jmp rel32, jmp rel8, jcc rel32)?  Reads its bytes, at most 64 KiB
 * of them; a byte inside another instruction that reads as such a jump
 * only makes the answer yes more often. */
TB_RACY static bool jumps_to(uintptr_t tstart, size_t tsize, uintptr_t fstart) {
    const volatile unsigned char *c = (const volatile unsigned char *)tstart;
    size_t n = tsize < 65536 ? tsize : 65536;
    for (size_t i = 0; i + 2 <= n; i++) {
        size_t len = 0, rel = 0;
        if (c[i] == 0xe9)
            len = 5, rel = 1;
        else if (c[i] == 0x0f && (c[i + 1] & 0xf0) == 0x80)
            len = 6, rel = 2;
        else if (c[i] == 0xeb && tstart + i + 2 + (uintptr_t)(intptr_t)(int8_t)c[i + 1] == fstart)
            return true;
        if (len == 0 || i + len > n)
            continue;
        unsigned char b[4] = {c[i + rel], c[i + rel + 1], c[i + rel + 2], c[i + rel + 3]};
        int32_t d;
        memcpy(&d, b, sizeof d);
        if (tstart + i + len + (uintptr_t)(intptr_t)d == fstart)
            return true;
    }
    return false;
}
#endif

/* Could the record whose return address is ret (into function fstart,
 * named fname) have been made by a call from the function ret2 returns
 * into?  No when the call before ret2 is a direct call (x86-64 call
 * rel32) to the start of another known function that does not jump to
 * fstart either (a tail call): a stale record, left in the stack by an
 * earlier call at that depth, and the next record a live one.  A call
 * through a pointer, a PLT stub or a retpoline thunk, or to fname's own
 * function under another symbol (f and f.cold), cannot be told apart:
 * yes. */
TB_RACY static bool chain_consistent(uintptr_t fstart, const char *fname, uintptr_t ret2) {
#if defined(__x86_64__)
    uintptr_t tstart = 0;
    size_t tsize = 0;
    const char *tname = NULL;
    uintptr_t target = call_target(ret2, false);
    if (target == 0 || target == fstart ||
        gort__symtab_lookup(target, &tstart, &tsize, &tname) != 0 || tstart != target ||
        tname == NULL || fname == NULL || strncmp(tname, "__x86_indirect_", 15) == 0)
        return true;
    size_t n = gort__symtab_namelen(fname);
    return (n == gort__symtab_namelen(tname) && strncmp(fname, tname, n) == 0) ||
           jumps_to(tstart, tsize, fstart);
#else
    (void)fstart, (void)fname, (void)ret2;
    return true;
#endif
}

/* The interrupted code kept no frame pointer (libc, a sanitizer's
 * interceptor): looks upward from sp for the nearest word that reads as a
 * frame record - [a] a higher fp in the stack, [a+8] a return address
 * into a known function, and the same one level up, made by a call that
 * could have called the first (chain_consistent: the stale records of
 * earlier calls in the space below a frameless function's frame showed
 * a frame that was never called, and hid the live ones).  0 if none. */
__attribute__((no_sanitize_address)) /* reads across frames' redzones */
TB_RACY static uintptr_t
scan_fp(uintptr_t sp, uintptr_t lo, uintptr_t hi) {
    if (sp < lo || sp >= hi)
        return 0;
    for (uintptr_t a = sp & ~(uintptr_t)7; a + 16 <= hi && a < sp + 16384; a += 8) {
        const uintptr_t *f = (const uintptr_t *)a;
        uintptr_t next = f[0], ret = f[1];
        uintptr_t fstart = 0;
        const char *fname = NULL;
        if (next <= a || next + 16 > hi || (next & 7) != 0 || ret == 0)
            continue;
        if (gort__symtab_lookup(ret - 1, &fstart, NULL, &fname) != 0)
            continue;
        uintptr_t ret2 = ((const uintptr_t *)next)[1];
        if (ret2 != 0 && gort__symtab_lookup(ret2 - 1, NULL, NULL, NULL) == 0 &&
            chain_consistent(fstart, fname, ret2))
            return a;
    }
    return 0;
}

/* The return address into the function whose frame record scan_fp found
 * at fp (the function its record's call went to: known when that call is
 * direct), which the frame-pointer walk would skip: the highest word of
 * [sp, fp) that returns into that function just after a call.  It shows
 * the frame that called the frameless code (the throw in
 * "parse_config -> __cxa_throw -> std::terminate -> abort").  0 if
 * unknown. */
__attribute__((no_sanitize_address)) /* reads across frames' redzones */
TB_RACY static uintptr_t
scan_own_ret(uintptr_t sp, uintptr_t fp) {
#if defined(__x86_64__)
    uintptr_t gstart = 0;
    size_t gsize = 0;
    uintptr_t target = call_target(((const uintptr_t *)fp)[1], false);
    if (target == 0 || gort__symtab_lookup(target, &gstart, &gsize, NULL) != 0 || gstart != target)
        return 0;
    for (uintptr_t a = fp - 8; a >= sp && a >= 8; a -= 8) {
        uintptr_t w = *(const volatile uintptr_t *)a;
        if (w < gstart + 5 || w > gstart + gsize)
            continue;
        /* A call ends at w: call rel32, or call through a register or
         * memory (ff /2, 2 to 7 bytes). */
        const volatile unsigned char *c = (const volatile unsigned char *)w;
        if (c[-5] == 0xe8)
            return w;
        for (int k = 2; k <= 7 && w - (uintptr_t)k >= gstart; k++)
            if (c[-k] == 0xff && ((c[-k + 1] >> 3) & 7) == 2)
                return w;
    }
    return 0;
#else
    (void)sp, (void)fp;
    return 0;
#endif
}

uintptr_t gort__traceback_scan_fp(uintptr_t sp, uintptr_t lo, uintptr_t hi, uintptr_t *own) {
    uintptr_t fp = scan_fp(sp, lo, hi);
    *own = fp != 0 ? scan_own_ret(sp, fp) : 0;
    return fp;
}

TB_RACY static const char *status_string(struct g *gp, uint32_t st) {
    switch (st) {
    case G_RUNNABLE:
        return "runnable";
    case G_RUNNING:
        return "running";
    case G_SYSCALL:
        return "syscall";
    case G_WAITING:
        return gp->waitreason < WAIT_NREASONS && gort__waitreason_str[gp->waitreason][0]
                   ? gort__waitreason_str[gp->waitreason]
                   : "waiting";
    case G_DEAD:
        return "dead";
    default:
        return "idle";
    }
}

/* One goroutine: header, frames, creator.  self_fp: the frame to start
 * from when gp is the calling goroutine (0: not the caller). */
TB_RACY static void traceback_g(tbout *o, struct g *gp, bool current, uintptr_t self_fp,
                                int level) {
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    char wait[64] = "";
    if (!current && (st == G_WAITING || st == G_SYSCALL) && gp->waitsince > 0) {
        int64_t mins = (gort_nanotime() - gp->waitsince) / (60LL * 1000000000LL);
        if (mins >= 1)
            snprintf(wait, sizeof wait, ", %lld minutes", (long long)mins); /* Go's: "1 minutes" */
    }
    /* Locked by gort_lock_os_thread: the preemption trampoline's own lock
     * (lockedint) keeps a goroutine on its thread too, but Go shows an
     * asynchronously preempted goroutine as plain "runnable". */
    const char *locked = gp->lockedm && gp->lockedext > 0 ? ", locked to thread" : "";
    outf(o, "goroutine %lld [%s%s%s]:\n", (long long)gp->goid,
         current ? "running" : status_string(gp, st), wait, locked);
    if (level >= 3 && gp->name[0])
        outf(o, "\t(name: %s)\n", gp->name);
    uintptr_t pcs[TB_MAXFRAMES];
    bool more = false;
    int n = 0;
    bool exact0 = false;
    uintptr_t lo = gp->stack.lo, hi = gp->stack.hi;
    if (gp->foreign) {
        outf(o, "\t(thread outside the runtime)\n");
    } else if (current && (sig_ctx.g == gp || cap_ctx.g == gp)) {
        const sigctx *sc = sig_ctx.g == gp ? &sig_ctx : &cap_ctx;
        uintptr_t ret = leaf_ret(sc->pc, sc->sp, lo, hi, false);
        if (ret != 0) {
            /* The caller's frame is the fp chain's first. */
            pcs[n++] = sc->pc;
            n += unwind(ret, sc->fp, lo, hi, pcs + n, TB_MAXFRAMES - n, &more);
        } else {
            n = unwind(sc->pc, sc->fp, lo, hi, pcs, TB_MAXFRAMES, &more);
        }
        exact0 = sc->pc != 0;
        if (n <= 1) {
            uintptr_t own;
            uintptr_t fp = gort__traceback_scan_fp(sc->sp, lo, hi, &own);
            if (own != 0 && n < TB_MAXFRAMES)
                pcs[n++] = own;
            if (fp != 0) {
                bool more2 = false;
                int k = unwind(0, fp, lo, hi, pcs + n, TB_MAXFRAMES - n, &more2);
                n += k;
                more = more2;
            }
        }
    } else if (current && self_fp != 0) {
        n = unwind(0, self_fp, lo, hi, pcs, TB_MAXFRAMES, &more);
    } else if (st == G_RUNNABLE && gp->ctx.sp == NULL) {
        /* Not started yet: its function, at its first line (as Go shows
         * a goroutine that has not run). */
        pcs[n++] = (uintptr_t)gp->fn;
        exact0 = true;
    } else if (st == G_WAITING || st == G_RUNNABLE) {
        n = unwind_switched(gp->ctx.sp, lo, hi, pcs, TB_MAXFRAMES, &more);
    } else if (st == G_SYSCALL && gp->syscallpc != 0) {
        /* In a blocking call on another thread: from the frame that made
         * it (racy but stable: that frame waits for the call). */
        n = unwind(gp->syscallpc, gp->syscallfp, lo, hi, pcs, TB_MAXFRAMES, &more);
    } else {
        outf(o, "\tgoroutine running on other thread; stack unavailable\n");
    }
    printframes(o, gp, pcs, n, exact0, more, level);
}

/* Go's "runtime stack:" section (dopanic_m, for a throw on the system
 * stack): the frames of the stack the calling thread is on - the signal
 * stack of a fault handler, g0's, or a goroutine's - from the caller of
 * the fatal path up, the runtime's own frames included (Go shows
 * runtime.throw, runtime.newstack ... there at any GOTRACEBACK). */
void gort__print_runtime_stack(void) {
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t lo = 0, hi = 0;
    struct m *mp = gort__getm();
    struct g *gp = mp ? mp->curg : NULL;
    if (mp != NULL && mp->sigaltstack != NULL && fp >= (uintptr_t)mp->sigaltstack &&
        fp < (uintptr_t)mp->sigaltstack + mp->sigaltstack_size) {
        lo = (uintptr_t)mp->sigaltstack;
        hi = lo + mp->sigaltstack_size;
    } else if (mp != NULL && fp >= mp->g0->stack.lo && fp < mp->g0->stack.hi) {
        lo = mp->g0->stack.lo;
        hi = mp->g0->stack.hi;
    } else if (gp != NULL && fp >= gp->stack.lo && fp < gp->stack.hi) {
        lo = gp->stack.lo;
        hi = gp->stack.hi;
    }
    tbout o = {0};
    outf(&o, "runtime stack:\n");
    uintptr_t pcs[TB_MAXFRAMES];
    bool more = false;
    int n = unwind(0, fp, lo, hi, pcs, TB_MAXFRAMES, &more);
    printframes(&o, NULL, pcs, n, false, more, 3);
}

/* Go's goroutineheader and tracebacktrap for a signal that interrupted a
 * thread running no goroutine (mp on g0: idle in the scheduler, sysmon):
 * "goroutine 0 [idle]:" and the frames from the interrupted pc, fp and sp
 * (on g0's stack when sp is in it; else the pc alone).  The interrupted
 * thread waits in its handler meanwhile, so its stack stays put. */
TB_RACY void gort__print_idle_m(struct m *mp, uintptr_t pc, uintptr_t fp, uintptr_t sp) {
    uintptr_t lo = 0, hi = 0;
    if (mp != NULL && mp->g0 != NULL && sp >= mp->g0->stack.lo && sp < mp->g0->stack.hi) {
        lo = mp->g0->stack.lo;
        hi = mp->g0->stack.hi;
    }
    tbout o = {0};
    outf(&o, "goroutine 0 [idle]:\n");
    uintptr_t pcs[TB_MAXFRAMES];
    bool more = false;
    int n = 0;
    uintptr_t ret = leaf_ret(pc, sp, lo, hi, false);
    if (ret != 0) {
        /* A leaf without a frame of its own: its caller is at sp. */
        pcs[n++] = pc;
        n += unwind(ret, fp, lo, hi, pcs + n, TB_MAXFRAMES - n, &more);
    } else {
        n = unwind(pc, fp, lo, hi, pcs, TB_MAXFRAMES, &more);
    }
    if (n <= 1) {
        /* libc's frames keep no frame pointer: the first frame above sp
         * that is one. */
        uintptr_t own;
        uintptr_t f = gort__traceback_scan_fp(sp, lo, hi, &own);
        if (own != 0 && n < TB_MAXFRAMES)
            pcs[n++] = own;
        if (f != 0)
            n += unwind(0, f, lo, hi, pcs + n, TB_MAXFRAMES - n, &more);
    }
    printframes(&o, NULL, pcs, n, pc != 0, more, gort__traceback_level());
}

static struct g *current_g(void) {
    return gort__getm() ? gort__getg() : NULL;
}

/* Prints gp to fd 2 ("goroutine N [...]:", frames, creator).  As in Go's
 * dumps, a blank line goes between two goroutines, not after the last:
 * the callers print it. */
void gort__print_goroutine(struct g *gp, bool current) {
    tbout o = {0};
    uintptr_t fp = 0;
    if (current && gp == current_g())
        fp = (uintptr_t)__builtin_frame_address(0);
    traceback_g(&o, gp, current, fp, gort__traceback_level());
}

typedef struct dumpctx {
    struct g *skip;
    tbout *o;
    int level;
    bool sep; /* a blank line goes before the next one */
} dumpctx;

TB_RACY static void dump_one(struct g *gp, void *arg) {
    dumpctx *dc = arg;
    if (gp == dc->skip)
        return;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (st == G_DEAD || st == G_IDLE || (dc->level < 3 && gort__trace_is_sysg(gp)))
        return;
    if (dc->sep)
        outf(dc->o, "\n");
    dc->sep = true;
    traceback_g(dc->o, gp, false, 0, dc->level);
}

void gort__dump_goroutines(struct g *cur, bool all, bool blank_first) {
    tbout o = {0};
    if (cur) {
        if (blank_first)
            outf(&o, "\n");
        gort__print_goroutine(cur, true);
    }
    if (all && gort__runtime_running()) {
        dumpctx dc = {cur, &o, gort__traceback_level(), cur != NULL || blank_first};
        gort__forallg(dump_one, &dc);
    }
}

/* runtime.Stack: the calling goroutine ("running"), then, if all, every
 * other one, each after a blank line.  The world is stopped for all, as Go
 * does, so that the parked stacks stay put while they are read. */
size_t gort_stack(char *buf, size_t len, bool all) {
    if (buf == NULL || len == 0)
        return 0;
    /* A preemption point: it stops the world for all, and a goroutine
     * that reads its own stack in a loop runs nearly all its time in
     * runtime code and libdw (see gort_gc). */
    gort__preempt_check(gort__getg());
    buf[0] = '\0';
    tbout o = {buf, len, 0};
    int level = gort__traceback_level();
    if (level < 1)
        level = 1;
    struct g *gp = current_g();
    bool stw = all && gp != NULL && gort__runtime_running();
    if (stw)
        gort__stop_the_world_malloc("stack trace"); /* one STW at a time: worldsema */
    if (gp != NULL)
        traceback_g(&o, gp, true, (uintptr_t)__builtin_frame_address(0), level);
    if (all && gort__runtime_running()) {
        dumpctx dc = {gp, &o, level, gp != NULL};
        gort__forallg(dump_one, &dc);
    }
    if (stw)
        gort__start_the_world();
    return o.n;
}

/* ------------------------------------------------------------------------
 * For the profilers (pprof.c, trace.c)
 * ------------------------------------------------------------------------ */

/* The stack of gp, which is not running on any thread (waiting, runnable,
 * in a blocking call, or not started), as traceback_g finds it; the
 * world is stopped or gp's owner is the caller.  pcs[i] are return
 * addresses (a not-started goroutine: its function + 1).  Returns n. */
TB_RACY int gort__traceback_pcs(struct g *gp, uintptr_t *pcs, int max) {
    bool more = false;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    uintptr_t lo = gp->stack.lo, hi = gp->stack.hi;
    if (gp->foreign || max <= 0)
        return 0;
    if (st == G_RUNNABLE && gp->ctx.sp == NULL) {
        pcs[0] = (uintptr_t)gp->fn + 1;
        return 1;
    }
    if (st == G_WAITING || st == G_RUNNABLE) {
        int n = unwind_switched(gp->ctx.sp, lo, hi, pcs, max, &more);
        preempted_pc_as_return(pcs, n, false);
        return n;
    }
    if (st == G_SYSCALL && gp->syscallpc != 0)
        return unwind(gp->syscallpc + 1, gp->syscallfp, lo, hi, pcs, max, &more);
    /* Running C code when the world stopped, suspended in the preemption
     * handler: from the interrupted context (it had no frame at all in
     * the goroutine profile). */
    uintptr_t ipc, ifp, isp;
    if (st == G_RUNNING && gort__stw_interrupted_ctx(gp, &ipc, &ifp, &isp)) {
        pcs[0] = ipc + 1;
        return 1 + unwind(leaf_ret(ipc, isp, lo, hi, false), ifp, lo, hi, pcs + 1, max - 1, &more);
    }
    return 0;
}

/* Return addresses from the frame fp up, within [lo, hi) (the caller's
 * own stack): frame-pointer walk only, no symbol lookups, no locks. */
int gort__traceback_fp(uintptr_t fp, uintptr_t lo, uintptr_t hi, uintptr_t *pcs, int max) {
    bool more = false;
    return unwind(0, fp, lo, hi, pcs, max, &more);
}

/* See pprof.h. */
int gort__traceback_sig(uintptr_t pc, uintptr_t fp, uintptr_t sp, uintptr_t lo, uintptr_t hi,
                        uintptr_t *pcs, int max) {
    bool more = false;
    uintptr_t ret = leaf_ret(pc, sp, lo, hi, true);
    int n = unwind(ret, fp, lo, hi, pcs, max, &more);
    /* A tick in the preemption trampoline's own work, above a leaf it
     * interrupted (pprof.cpu_frameless_leaf_keeps_caller). */
    n = preempted_leaf(fp, ret != 0 && max > 0 ? 1 : 0, lo, hi, pcs, n, max, &more, true);
    preempted_pc_as_return(pcs, n, true);
    return n;
}

/* Symbolises pcs[0..n) (each the address of the instruction itself: pass
 * a return address minus one): for each, fn(arg, i, name, file, line,
 * inlined) once per frame, innermost inlined call first and the
 * function's own frame last (inlined false).  name and file may be NULL;
 * they live only during the call (copy them).  May take the DWARF lock
 * and call malloc (under that lock only: fault.h): not from a signal
 * handler.  Every pc is looked up on
 * one helper thread (libdw's stack), made for the call: give it all the
 * pcs at hand at once. */
void gort__symbolize(const uintptr_t *pcs, int n,
                     void (*fn)(void *arg, int i, const char *name, const char *file, int line,
                                bool inlined),
                     void *arg) {
    /* More than a batch: one helper thread for all of them (a thread a
     * batch cost a trace's write of thousands of stacks seconds); out of
     * memory for their results, a thread a batch. */
    const char **afiles = NULL;
    int *alines = NULL;
    tbinl *ainls = NULL;
    if (n > TB_MAXFRAMES) {
        /* The runtime's own memory: a trace's write calls us under
         * tr.lock (mfixalloc.c). */
        afiles = gort__fixcalloc((size_t)n, sizeof *afiles);
        alines = gort__fixcalloc((size_t)n, sizeof *alines);
        ainls = gort__fixcalloc((size_t)n, sizeof *ainls);
    }
    if (afiles != NULL && alines != NULL && ainls != NULL) {
        bool locked = dwlock_try();
        if (locked)
            resolve_lines_all(pcs, n, afiles, alines, ainls);
        for (int i = 0; i < n; i++) {
            const char *name = NULL;
            if (gort__symtab_lookup(pcs[i], NULL, NULL, &name) != 0)
                name = NULL;
            const char *file = locked ? afiles[i] : NULL;
            int ni = locked && file ? ainls[i].n : 0;
            for (int j = 0; j < ni; j++)
                fn(arg, i, ainls[i].name[j], ainls[i].file[j], ainls[i].line[j], true);
            fn(arg, i, name, file, file ? alines[i] : 0, false);
        }
        if (locked)
            dwlock_release();
        gort__fixfree(afiles);
        gort__fixfree(alines);
        gort__fixfree(ainls);
        return;
    }
    gort__fixfree(afiles);
    gort__fixfree(alines);
    gort__fixfree(ainls);
    const char *files[TB_MAXFRAMES + 1];
    int lines[TB_MAXFRAMES + 1];
    for (int base = 0; base < n; base += TB_MAXFRAMES) {
        int k = n - base < TB_MAXFRAMES ? n - base : TB_MAXFRAMES;
        bool locked = dwlock_try();
        if (locked)
            resolve_lines(pcs + base, k, files, lines);
        for (int i = 0; i < k; i++) {
            const char *name = NULL;
            if (gort__symtab_lookup(pcs[base + i], NULL, NULL, &name) != 0)
                name = NULL;
            const char *file = locked ? files[i] : NULL;
            int ni = locked && file ? inl[i].n : 0;
            for (int j = 0; j < ni; j++)
                fn(arg, base + i, inl[i].name[j], inl[i].file[j], inl[i].line[j], true);
            fn(arg, base + i, name, file, file ? lines[i] : 0, false);
        }
        if (locked)
            dwlock_release();
    }
}
