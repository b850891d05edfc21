/*
 * gt.h - gort's header-only test harness (libuv's task.h, Go's testing).
 *
 * A test program is one .c file:
 *
 *     #include "gt.h"
 *     #include "gort.h"
 *
 *     TEST(fifo) {                 // a case: the body of a void fifo(void)
 *         ASSERT_EQ(1 + 1, 2);
 *     }
 *
 *     GT_MAIN()
 *
 * CMake finds the cases by scanning the source for lines matching
 * ^TEST\(([a-z0-9_]+)\) (so write TEST(name) at the start of a line, with a
 * lower-case name) and registers one CTest test per case, each its own
 * process: tests/unit/chan_test.c's TEST(fifo) becomes "chan.fifo", run as
 * `chan_test fifo`.
 *
 * The program accepts:
 *     prog --list        the case names, one per line, in source order
 *     prog NAME...       runs those cases, in this process, in that order
 *     prog               runs every case in this process, in source order
 * It prints "ok NAME" after each case that passed ("skip NAME: why" for a
 * skipped one) and exits 0; a failed assertion prints the file, line,
 * expression and both values to stderr and exits with status 1 at once.
 * Running one case in-process is the mode for gdb and rr.
 *
 * A case that needs the runtime calls gort_main itself.  The assertions
 * may be used from any goroutine or thread: the first failure wins, prints
 * with one write(2) and ends the process with _exit(1) (atexit handlers are
 * not run: the runtime's threads may be in any state).
 *
 * The ASSERT_ comparisons are for integers, bools, enums and pointers: each
 * operand is evaluated once and compared by value, correctly across signed
 * and unsigned types (no -Wsign-compare noise, no wrap-around surprises).
 *
 * gt_scale() is the timeout multiplier: GT_TIMEOUT_SCALE from the
 * environment, else the build's default (4 or 5 in the sanitizer presets, 1
 * otherwise).  Use it for every timeout and every "should have happened by
 * now" bound: gort_sleep(100 * GT_MS * gt_scale()).
 *
 * GT_SKIP("why") ends the current case as skipped (only from the case body
 * itself); as a single-case run it exits 77, which CTest reports as skipped.
 */
#ifndef GT_H
#define GT_H

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* RUNNING_ON_VALGRIND: non-zero under valgrind (0 without its headers),
 * for the cases that valgrind changes (one thread at a time, the
 * stop-the-world mark). */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#ifndef GT_DEFAULT_TIMEOUT_SCALE
#define GT_DEFAULT_TIMEOUT_SCALE 1
#endif

#define GT_MAX_CASES 1024
#define GT_SKIP_STATUS 77

#define GT_US INT64_C(1000)
#define GT_MS INT64_C(1000000)
#define GT_SEC INT64_C(1000000000)

#if defined(__GNUC__)
#define GT_UNUSED_ __attribute__((unused))
#else
#define GT_UNUSED_
#endif

typedef struct gt_case_ {
    const char *name;
    void (*fn)(void);
    int line;
} gt_case_;

/* Per program (each test program is one translation unit). */
static gt_case_ gt_cases_[GT_MAX_CASES];
static int gt_ncases_;
static int gt_skipped_;
static const char *gt_skip_why_;
static int gt_failing_; /* set by the first failure, atomically */

GT_UNUSED_ static void gt_register_(const char *name, void (*fn)(void), int line) {
    if (gt_ncases_ == GT_MAX_CASES) {
        fprintf(stderr, "gt: more than %d TEST cases\n", GT_MAX_CASES);
        _exit(2);
    }
    /* Constructors may run in any order: keep the cases sorted by line. */
    int i = gt_ncases_++;
    while (i > 0 && gt_cases_[i - 1].line > line) {
        gt_cases_[i] = gt_cases_[i - 1];
        i--;
    }
    gt_cases_[i].name = name;
    gt_cases_[i].fn = fn;
    gt_cases_[i].line = line;
}

#define TEST(name)                                                      \
    static void gt_case_##name(void);                                   \
    __attribute__((constructor)) static void gt_register_##name(void) { \
        gt_register_(#name, gt_case_##name, __LINE__);                  \
    }                                                                   \
    static void gt_case_##name(void)

/* The timeout multiplier (always >= 1). */
GT_UNUSED_ static int gt_scale(void) {
    const char *s = getenv("GT_TIMEOUT_SCALE");
    int v = s && *s ? atoi(s) : GT_DEFAULT_TIMEOUT_SCALE;
    return v >= 1 ? v : 1;
}

/* CLOCK_MONOTONIC in nanoseconds, independent of the runtime under test. */
GT_UNUSED_ static int64_t gt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * GT_SEC + ts.tv_nsec;
}

/* Reports a failure and ends the process; the first caller wins. */
__attribute__((noreturn, format(printf, 3, 4), unused)) static void
gt_fail_(const char *file, int line, const char *fmt, ...) {
    if (__atomic_exchange_n(&gt_failing_, 1, __ATOMIC_ACQ_REL)) {
        for (;;)
            pause(); /* another thread is reporting and exiting */
    }
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s:%d: ", file, line);
    if (n < 0)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    buf[len++] = '\n';
    fflush(stdout);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(2, buf + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    _exit(1);
}

/* 1 for unsigned integer types: they are compared and printed unsigned. */
#define GT_IS_UNSIGNED_(x)                                                                    \
    _Generic((x), unsigned char : 1, unsigned short : 1, unsigned int : 1, unsigned long : 1, \
             unsigned long long : 1, default : 0)

/* Three-way comparison of two values held as intmax_t bit patterns. */
GT_UNUSED_ static int gt_cmp_(intmax_t a, int ua, intmax_t b, int ub) {
    if (!ua && !ub)
        return a < b ? -1 : a > b;
    if (!ua && a < 0)
        return -1; /* negative < any unsigned */
    if (!ub && b < 0)
        return 1;
    uintmax_t x = (uintmax_t)a, y = (uintmax_t)b;
    return x < y ? -1 : x > y;
}

/* Decimal, and hex too when that may say more (pointers, flags, -1). */
GT_UNUSED_ static void gt_fmt_(char *buf, size_t n, intmax_t v, int u) {
    int small = u ? (uintmax_t)v < 10 : (v > -10 && v < 10);
    if (small && u)
        snprintf(buf, n, "%ju", (uintmax_t)v);
    else if (small)
        snprintf(buf, n, "%jd", v);
    else if (u)
        snprintf(buf, n, "%ju (0x%jx)", (uintmax_t)v, (uintmax_t)v);
    else
        snprintf(buf, n, "%jd (0x%jx)", v, (uintmax_t)v);
}

GT_UNUSED_ static void gt_cmp_fail_(const char *file, int line, const char *op, const char *ea,
                                    const char *eb, intmax_t a, int ua, intmax_t b, int ub) {
    char sa[64], sb[64];
    gt_fmt_(sa, sizeof sa, a, ua);
    gt_fmt_(sb, sizeof sb, b, ub);
    gt_fail_(file, line, "ASSERT_%s(%s, %s) failed\n    %s = %s\n    %s = %s", op, ea, eb, ea, sa,
             eb, sb);
}

/*
 * Each operand is evaluated once and held as an intmax_t bit pattern:
 * (intmax_t)(x) is exact for integers and for pointers on the LP64 targets
 * gort supports.  (Floating-point operands would be truncated: compare those
 * with ASSERT_TRUE.)
 */
#define GT_CMP_(op, rel, a, b)                                                          \
    do {                                                                                \
        int gt_ua_ = GT_IS_UNSIGNED_(a), gt_ub_ = GT_IS_UNSIGNED_(b);                   \
        intmax_t gt_a_ = (intmax_t)(a);                                                 \
        intmax_t gt_b_ = (intmax_t)(b);                                                 \
        if (!(gt_cmp_(gt_a_, gt_ua_, gt_b_, gt_ub_) rel 0))                             \
            gt_cmp_fail_(__FILE__, __LINE__, op, #a, #b, gt_a_, gt_ua_, gt_b_, gt_ub_); \
    } while (0)

#define ASSERT_EQ(a, b) GT_CMP_("EQ", ==, a, b)
#define ASSERT_NE(a, b) GT_CMP_("NE", !=, a, b)
#define ASSERT_LT(a, b) GT_CMP_("LT", <, a, b)
#define ASSERT_LE(a, b) GT_CMP_("LE", <=, a, b)
#define ASSERT_GT(a, b) GT_CMP_("GT", >, a, b)
#define ASSERT_GE(a, b) GT_CMP_("GE", >=, a, b)

#define ASSERT_TRUE(x)                                                  \
    do {                                                                \
        if (!(x))                                                       \
            gt_fail_(__FILE__, __LINE__, "ASSERT_TRUE(%s) failed", #x); \
    } while (0)

#define ASSERT_FALSE(x)                                                  \
    do {                                                                 \
        if (x)                                                           \
            gt_fail_(__FILE__, __LINE__, "ASSERT_FALSE(%s) failed", #x); \
    } while (0)

#define ASSERT_NULL(p)                                                             \
    do {                                                                           \
        const void *gt_p_ = (p);                                                   \
        if (gt_p_ != NULL)                                                         \
            gt_fail_(__FILE__, __LINE__, "ASSERT_NULL(%s) failed: %p", #p, gt_p_); \
    } while (0)

#define ASSERT_NOT_NULL(p)                                                  \
    do {                                                                    \
        if ((p) == NULL)                                                    \
            gt_fail_(__FILE__, __LINE__, "ASSERT_NOT_NULL(%s) failed", #p); \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                        \
    do {                                                                                          \
        const char *gt_sa_ = (a), *gt_sb_ = (b);                                                  \
        if (gt_sa_ == NULL || gt_sb_ == NULL ? gt_sa_ != gt_sb_ : strcmp(gt_sa_, gt_sb_) != 0)    \
            gt_fail_(__FILE__, __LINE__,                                                          \
                     "ASSERT_STREQ(%s, %s) failed\n    %s = \"%s\"\n    %s = \"%s\"", #a, #b, #a, \
                     gt_sa_ ? gt_sa_ : "(null)", #b, gt_sb_ ? gt_sb_ : "(null)");                 \
    } while (0)

/* Fails unconditionally with a printf-style message. */
#define GT_FAIL(...) gt_fail_(__FILE__, __LINE__, __VA_ARGS__)

/* Runs fn(arg) in a forked child whose stderr goes into out (len bytes,
 * NUL-terminated); the child exits with fn's result.  Returns the child's
 * wait status.  For cases that check a fatal error's text and status. */
static inline int gt_run_child(int (*fn)(void *), void *arg, char *out, size_t len) {
    int fds[2];
    if (pipe(fds) != 0)
        gt_fail_(__FILE__, __LINE__, "pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        gt_fail_(__FILE__, __LINE__, "fork failed");
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        _exit(fn(arg));
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < len && (r = read(fds[0], out + n, len - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int ws = 0;
    if (waitpid(pid, &ws, 0) != pid)
        gt_fail_(__FILE__, __LINE__, "waitpid failed");
    return ws;
}

/* Whether RLIMIT_AS means nothing useful in this build: the sanitizers
 * reserve terabytes of address space (valgrind is asked at run time). */
#if defined(GORT_ASAN) || defined(GORT_TSAN) || defined(__SANITIZE_ADDRESS__) || \
    defined(__SANITIZE_THREAD__)
#define GT_SANITIZER_ADDRESS_SPACE 1
#else
#define GT_SANITIZER_ADDRESS_SPACE 0
#endif

/* Limits the address space (RLIMIT_AS) to what the process maps now plus
 * room bytes, for a child of gt_run_child that checks what the runtime
 * does without room.  0, or -1 if it could not. */
static inline int gt_limit_address_space(unsigned long long room) {
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    int n = fscanf(f, "%ld", &pages);
    fclose(f);
    if (n != 1)
        return -1;
    struct rlimit rl = {.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + room,
                        .rlim_max = RLIM_INFINITY};
    return setrlimit(RLIMIT_AS, &rl);
}

/* The process's descriptors used up: RLIMIT_NOFILE's soft limit lowered
 * to 256 (the old limit kept) and /dev/null opened until that fails. */
typedef struct gt_fd_hog {
    struct rlimit old;
    int n;
    int fd[256];
} gt_fd_hog;

static inline void gt_fds_exhaust(gt_fd_hog *h) {
    if (getrlimit(RLIMIT_NOFILE, &h->old) != 0)
        gt_fail_(__FILE__, __LINE__, "getrlimit failed");
    struct rlimit rl = h->old;
    rl.rlim_cur = 256;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        gt_fail_(__FILE__, __LINE__, "setrlimit failed");
    h->n = 0;
    for (int fd; h->n < 256 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
        h->fd[h->n++] = fd;
    if (h->n == 256)
        gt_fail_(__FILE__, __LINE__, "256 descriptors opened under a limit of 256");
}

/* Closes what gt_fds_exhaust opened and puts the old limit back. */
static inline void gt_fds_release(gt_fd_hog *h) {
    for (int i = 0; i < h->n; i++)
        close(h->fd[i]);
    h->n = 0;
    if (setrlimit(RLIMIT_NOFILE, &h->old) != 0)
        gt_fail_(__FILE__, __LINE__, "setrlimit failed");
}

/* Overwrites 4 KiB of the stack below the caller, where the frames of the
 * calls it made were: a test that dropped its last pointer to an object
 * can then expect a conservative collector to find no stale copy there
 * (volatile stores: a memset of a dead local may be dropped). */
static __attribute__((noinline, unused)) void gt_clear_stack_below(void) {
    volatile char buf[4096];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 0;
}

/* Ends the current case as skipped.  Only in the case body itself. */
#define GT_SKIP(why)          \
    do {                      \
        gt_skipped_ = 1;      \
        gt_skip_why_ = (why); \
        return;               \
    } while (0)

/* Runs one case; returns 1 if it was skipped. */
GT_UNUSED_ static int gt_run_case_(const gt_case_ *c) {
    gt_skipped_ = 0;
    gt_skip_why_ = NULL;
    c->fn();
    if (gt_skipped_) {
        printf("skip %s: %s\n", c->name, gt_skip_why_ ? gt_skip_why_ : "");
        return 1;
    }
    printf("ok %s\n", c->name);
    return 0;
}

GT_UNUSED_ static int gt_main_(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* "ok" lines survive a later crash */
    if (argc > 1 && (strcmp(argv[1], "--list") == 0 || strcmp(argv[1], "-l") == 0)) {
        for (int i = 0; i < gt_ncases_; i++)
            printf("%s\n", gt_cases_[i].name);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s [--list | CASE...]\n"
               "  no argument: run every case, each in a child process, in source order\n"
               "  env GT_TIMEOUT_SCALE=N multiplies timeouts (default %d)\n",
               argv[0], GT_DEFAULT_TIMEOUT_SCALE);
        return 0;
    }
    if (argc <= 1) {
        /* Cases share the file's globals and the runtime's process-wide
         * state, as CTest (one process per case) expects: run each apart. */
        int failed = 0;
        for (int i = 0; i < gt_ncases_; i++) {
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                perror("fork");
                return 2;
            }
            if (pid == 0) {
                char *args[] = {argv[0], (char *)gt_cases_[i].name, NULL};
                execv("/proc/self/exe", args);
                perror("execv /proc/self/exe");
                _exit(127);
            }
            int st = 0;
            while (waitpid(pid, &st, 0) < 0) {
            }
            if (!(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == GT_SKIP_STATUS))) {
                failed++;
                if (WIFSIGNALED(st))
                    printf("FAIL %s (signal %d)\n", gt_cases_[i].name, WTERMSIG(st));
                else
                    printf("FAIL %s (exit %d)\n", gt_cases_[i].name, WEXITSTATUS(st));
            }
        }
        printf("%d of %d cases failed\n", failed, gt_ncases_);
        return failed ? 1 : 0;
    }
    int skipped = 0;
    for (int a = 1; a < argc; a++) {
        int i = 0;
        while (i < gt_ncases_ && strcmp(gt_cases_[i].name, argv[a]) != 0)
            i++;
        if (i == gt_ncases_) {
            fprintf(stderr, "%s: no test case named '%s' (see --list)\n", argv[0], argv[a]);
            return 2;
        }
        skipped += gt_run_case_(&gt_cases_[i]);
    }
    return argc == 2 && skipped ? GT_SKIP_STATUS : 0;
}

#define GT_MAIN()                     \
    int main(int argc, char **argv) { \
        return gt_main_(argc, argv);  \
    }

#endif /* GT_H */
