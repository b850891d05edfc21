/*
 * print.c - runtime output that never allocates, and the fatal paths.
 * Mirrors runtime/print.go and the throw/fatal parts of runtime/panic.go.
 *
 * Everything goes straight to fd 2 with write(2), formatted into a stack
 * buffer, so it works in a signal handler, on g0 and with the heap broken.
 * printlock serialises whole messages across threads; it is recursive per
 * thread so a crash while printing still prints.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "lockrank.h"
#include "san.h"
#include "trace.h"

static __thread int printdepth;
static gort__rtlock printlk = GORT__RTLOCK_INIT(LOCKRANK_PRINT);

void gort__print_lock(void) {
    if (printdepth++ > 0)
        return;
    gort__lock(&printlk);
}

void gort__print_unlock(void) {
    if (--printdepth > 0)
        return;
    gort__unlock(&printlk);
}

_Atomic uint64_t gort__print_writes;

static void writeall(const char *buf, size_t n) {
    /* Relaxed: a count that a waiting fault handler only compares. */
    atomic_fetch_add_explicit(&gort__print_writes, 1, memory_order_relaxed);
    while (n > 0) {
        ssize_t w = write(2, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        n -= (size_t)w;
    }
}

void gort__vprintf(const char *fmt, va_list ap) {
    char buf[1024];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    writeall(buf, (size_t)n);
}

void gort__printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gort__vprintf(fmt, ap);
    va_end(ap);
}

/* Set once a throw of the runtime's (gort__throw, a fault, SIGQUIT...)
 * has begun to print: Go's m.throwing == throwTypeRuntime.  Relaxed: read
 * back by the thread that set it, which prints the report. */
static _Atomic bool throwing;

void gort__set_throwing(void) {
    atomic_store_explicit(&throwing, true, memory_order_relaxed);
}

/* GORTRACEBACK as set: see gort__traceback_level. */
static int traceback_env(void) {
    const char *s = getenv("GORTRACEBACK");
    if (s == NULL || *s == '\0' || strcmp(s, "single") == 0)
        return 1;
    if (strcmp(s, "none") == 0)
        return 0;
    if (strcmp(s, "all") == 0)
        return 2;
    if (strcmp(s, "system") == 0)
        return 3;
    if (strcmp(s, "crash") == 0)
        return 4;
    /* Go's setTraceback: a number Go's atoi reads that fits a uint32 is
     * that level; anything else is level 0. */
    int64_t n;
    if (!gort__atoi64(s, strlen(s), &n) || n < 0 || n > UINT32_MAX)
        return 0;
    return n == 0 ? 0 : n == 1 ? 2 : 3;
}

/* GORTRACEBACK: none=0 single=1 (default) all=2 system=3 crash=4.  As
 * Go's setTraceback: a number N is Go's level N with every goroutine (0:
 * none, 1: all, 2 and up: system), and any other value is level 0 (only
 * the panic's message).  As Go's gotraceback, a throw of the runtime's
 * (gort__set_throwing) always shows the runtime's frames and every
 * goroutine ("system"), whatever the variable says; crash still ends in
 * SIGABRT. */
int gort__traceback_level(void) {
    int level = traceback_env();
    if (atomic_load_explicit(&throwing, memory_order_relaxed) && level < 4)
        return 3;
    return level;
}

/* Ends the process at once with status, as Go's exit(2) after a fatal
 * error: no atexit handlers, no thread joins.  Under ThreadSanitizer (the
 * library instrumented, or the user's program in race mode) the
 * exit_group syscall is made directly: TSan's _exit interceptor would
 * first report the runtime's unjoined threads, or the ignores that g0 and
 * sysmon keep on for good (san.h), and exit 66 instead. */
_Noreturn void gort__die(int status) {
    if (san_tsan_on())
        syscall(SYS_exit_group, status);
    _exit(status);
}

/* See internal.h. */
_Noreturn void gort__fatal_exit(void) {
    gort__trace_flight_crash(); /* GORTDEBUG=flightrecorder=1 */
    if (gort__traceback_level() >= 4) {
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    gort__die(2);
}

static _Atomic int dying;

/* A fatal error flushes the program's stdout and stderr buffers first, as
 * a fatal panic does (so what the program printed earlier is not lost and
 * comes before the error when both streams share a file), but only when
 * the stream's lock is free: the error may be found by a thread holding a
 * runtime lock that the stream lock's holder waits for, and a fatal error
 * must end the process, never hang it.  Streams the program opened itself
 * are left to it (fflush(NULL) would wait on each one's lock). */
void gort__flush_stdio(void) {
    FILE *streams[2] = {stdout, stderr};
    for (int i = 0; i < 2; i++) {
        if (ftrylockfile(streams[i]) == 0) {
            fflush_unlocked(streams[i]);
            funlockfile(streams[i]);
        }
    }
}

bool gort__dying(void) {
    return atomic_load_explicit(&dying, memory_order_relaxed) != 0;
}

/* sysstack: the error was found on a stack of the runtime's own (a fault
 * handler's signal stack): Go's "runtime stack:" section comes before the
 * goroutines, as dopanic_m prints it for a throw on the system stack. */
static _Noreturn void fatal_common(const char *msg, const char *file, int line, bool runtime_bug,
                                   bool sysstack) {
    if (atomic_fetch_add(&dying, 1) > 0) {
        /* A second fatal error while dying: don't recurse. */
        gort__printf("fatal error: %s\n", msg);
        for (;;)
            pause();
    }
    if (runtime_bug || sysstack)
        gort__set_throwing(); /* Go's throw, not fatal: see gort__traceback_level */
    gort__freeze_the_world(); /* Go's startpanic_m (not with a runtime lock held) */
    if (!sysstack)
        gort__flush_stdio(); /* not from a signal handler: it may have cut into stdio */
    gort__print_lock();
    if (file && runtime_bug)
        gort__printf("fatal error: %s [%s:%d]\n", msg, file, line);
    else
        gort__printf("fatal error: %s\n", msg);
    int level = gort__traceback_level();
    struct m *mp = gort__getm();
    /* Go's dopanic_m: the stack the error was found on when it is not a
     * goroutine's - a fault handler's signal stack, or g0's (checkdead, a
     * throw in the scheduler) at level system (which a throw implies). */
    if ((level > 0 && sysstack) || (level >= 3 && mp != NULL && mp->curg == NULL)) {
        gort__printf("\n");
        gort__print_runtime_stack();
    }
    /* Go: a fatal error shows every goroutine (GORTRACEBACK>=1); the
     * current one first.  On g0 (checkdead) there is none, and where no
     * goroutine is left (main called Goexit) the message is all. */
    if (level > 0)
        gort__dump_goroutines(mp ? gort__getg() : NULL, true, true);
    gort__print_unlock();
    gort__fatal_exit();
}

void gort__throw(const char *msg) {
    fatal_common(msg, NULL, 0, true, false);
}
void gort__throw_at(const char *msg, const char *file, int line) {
    fatal_common(msg, file, line, true, false);
}
void gort__fatal(const char *msg) {
    fatal_common(msg, NULL, 0, false, false);
}
void gort__fatal_sysstack(const char *msg) {
    fatal_common(msg, NULL, 0, false, true);
}
