/*
 * traceback_test.c - gort_stack: Go's dump format, wait reasons, user
 * frames with file:line, the creator line; and GORTDEBUG=schedtrace.
 *
 * The file:line checks need libdw at build time (GORT_HAVE_LIBDW; without
 * it the frames must show "?:0").
 */
#include "gt.h"

#include "export_test.h"
#include "gort.h"
#include "gt_gort.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char dump[1 << 16];

static gort_chan *c_recv, *c_send, *c_sel;
static gort_mutex mu = GORT_MUTEX_INIT;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;

__attribute__((noinline)) static void park_chan_recv(void *arg) {
    (void)arg;
    gort_chan_recv(c_recv, NULL);
}
__attribute__((noinline)) static void park_chan_send(void *arg) {
    (void)arg;
    int v = 1;
    gort_chan_send(c_send, &v);
}
__attribute__((noinline)) static void park_select(void *arg) {
    (void)arg;
    gort_select_case cs[2] = {{c_sel, GORT_RECV, NULL, false}, {c_recv, GORT_RECV, NULL, false}};
    gort_select(cs, 2, true);
}
__attribute__((noinline)) static void park_mutex(void *arg) {
    (void)arg;
    gort_mutex_lock(&mu);
    gort_mutex_unlock(&mu);
}
__attribute__((noinline)) static void park_wg(void *arg) {
    (void)arg;
    gort_wg_wait(&wg);
}
__attribute__((noinline)) static void park_select_none(void *arg) {
    (void)arg;
    gort_select(NULL, 0, true);
}
__attribute__((noinline)) static void park_nil_recv(void *arg) {
    (void)arg;
    gort_chan_recv(NULL, NULL);
}
__attribute__((noinline)) static void park_sleep(void *arg) {
    (void)arg;
    gort_sleep(3600 * GT_SEC);
}
static int io_pipe[2];
__attribute__((noinline)) static void park_io(void *arg) {
    (void)arg;
    char c;
    (void)gort_read(io_pipe[0], &c, 1); /* until the write at the end */
}
/* A second reader of the same fd waits for the first's read lock: Go's
 * fdMutex, whose waiter shows as "semacquire" (it showed sync.Mutex.Lock). */
__attribute__((noinline)) static void park_io2(void *arg) {
    (void)arg;
    char c;
    (void)gort_read(io_pipe[0], &c, 1); /* EOF, after park_io's byte */
}
static _Atomic int syscall_release;
__attribute__((noinline)) static void park_syscall(void *arg) {
    (void)arg;
    gort_syscall_enter();
    while (!atomic_load(&syscall_release))
        usleep(1000);
    gort_syscall_exit();
}

/* The block of the dump for the goroutine whose header has [reason],
 * copied into out; false if none. */
static bool block_for(const char *d, const char *reason, char *out, size_t len) {
    char hdr[96];
    snprintf(hdr, sizeof hdr, " [%s]:\n", reason);
    const char *h = strstr(d, hdr);
    if (h == NULL)
        return false;
    const char *end = strstr(h, "\n\n");
    size_t n = end ? (size_t)(end - h) : strlen(h);
    if (n >= len)
        n = len - 1;
    memcpy(out, h, n);
    out[n] = '\0';
    return true;
}

typedef struct want {
    const char *reason;
    const char *fn;
} want;

static const want wants[] = {
    {"chan receive", "park_chan_recv"},
    {"chan send", "park_chan_send"},
    {"select", "park_select"},
    {"sync.Mutex.Lock", "park_mutex"},
    {"sync.WaitGroup.Wait", "park_wg"},
    {"select (no cases)", "park_select_none"},
    {"chan receive (nil chan)", "park_nil_recv"},
    {"sleep", "park_sleep"},
    {"IO wait", "park_io"},
    {"semacquire", "park_io2"},
    {"syscall", "park_syscall"},
};
#define NWANT (sizeof wants / sizeof wants[0])

static bool all_parked(void) {
    gort_stack(dump, sizeof dump, true);
    char blk[4096];
    for (size_t i = 0; i < NWANT; i++)
        if (!block_for(dump, wants[i].reason, blk, sizeof blk))
            return false;
    return true;
}

static int dump_main(void *arg) {
    (void)arg;
    c_recv = gort_chan_make(sizeof(int), 0);
    c_send = gort_chan_make(sizeof(int), 0);
    c_sel = gort_chan_make(sizeof(int), 0);
    gort_mutex_lock(&mu);
    gort_wg_add(&wg, 1);
    ASSERT_EQ(pipe(io_pipe), 0);
    atomic_store(&syscall_release, 0);
    void (*fns[])(void *) = {park_chan_recv, park_chan_send,   park_select,   park_mutex,
                             park_wg,        park_select_none, park_nil_recv, park_sleep,
                             park_io,        park_syscall};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (gort_go(fns[i], NULL) != 0)
            return 1;
    /* After park_io holds the fd's read lock. */
    for (int64_t end = gt_now_ns() + 10 * GT_SEC * gt_scale(); gt_now_ns() < end;) {
        gort_stack(dump, sizeof dump, true);
        char blk[4096];
        if (block_for(dump, "IO wait", blk, sizeof blk))
            break;
        gort_sleep(GT_MS);
    }
    if (gort_go(park_io2, NULL) != 0)
        return 1;
    int64_t deadline = gt_now_ns() + 10 * GT_SEC * gt_scale();
    while (!all_parked()) {
        if (gt_now_ns() > deadline) {
            fprintf(stderr, "%s", dump);
            GT_FAIL("goroutines did not all park");
        }
        usleep(1000);
        gort_yield();
    }
    char blk[4096];
    ASSERT_TRUE(strncmp(dump, "goroutine 1 [running]:\n", 23) == 0);
    ASSERT_NOT_NULL(strstr(dump, "dump_main(...)\n"));
    for (size_t i = 0; i < NWANT; i++) {
        ASSERT_TRUE(block_for(dump, wants[i].reason, blk, sizeof blk));
        char fn[128];
        snprintf(fn, sizeof fn, "\n%s(...)\n\t", wants[i].fn);
#ifdef GORT_HAVE_LIBDW
        const char *where = "traceback_test.c:";
#else
        const char *where = "?:0";
#endif
        /* The frame's own line: "\t<file>:<line> +0x..". */
        const char *at = strstr(blk, fn);
        char fl[512] = "";
        if (at != NULL) {
            at += strlen(fn);
            size_t k = strcspn(at, "\n");
            snprintf(fl, sizeof fl, "%.*s", (int)k, at);
        }
        if (at == NULL || strstr(fl, where) == NULL || strstr(fl, " +0x") == NULL) {
            fprintf(stderr, "%s\n", dump);
            GT_FAIL("[%s]: no frame of %s with its file:line", wants[i].reason, wants[i].fn);
        }
        ASSERT_NOT_NULL(strstr(blk, "\ncreated by dump_main in goroutine 1\n\t"));
    }
    /* Runtime-internal frames are hidden at the default level. */
    ASSERT_NULL(strstr(dump, "gort__"));
    /* Let the ones that can finish, finish. */
    gort_mutex_unlock(&mu);
    gort_wg_done(&wg);
    int v = 0;
    gort_chan_recv(c_send, &v);
    gort_chan_close(c_recv);
    gort_chan_close(c_sel);
    atomic_store(&syscall_release, 1);
    ASSERT_EQ(gort_write(io_pipe[1], "x", 1), 1);
    gort_close(io_pipe[1]);
    return 0;
}

/* A wait of a minute or more shows in the header as Go's does: ", 1
 * minutes" (Go's plural is fixed; gort said "1 minute"). */
static int minutes_main(void *arg) {
    (void)arg;
    if (gort_go(park_nil_recv, NULL) != 0)
        return 1;
    gort_sleep(20 * GT_MS);
    ASSERT_TRUE(gort__export_age_wait(2, 61 * GT_SEC));
    gort_stack(dump, sizeof dump, true);
    if (strstr(dump, "goroutine 2 [chan receive (nil chan), 1 minutes]:\n") == NULL)
        GT_FAIL("a wait of 61 s in a dump:\n%s", dump);
    return 0;
}

TEST(dump_wait_minutes) {
    ASSERT_EQ(gort_main(minutes_main, NULL), 0);
}

TEST(dump_wait_reasons) {
    ASSERT_EQ(gort_main(dump_main, NULL), 0);
}

__attribute__((noinline)) static void stack_inner(void *arg) {
    size_t *n = arg;
    *n = gort_stack(dump, sizeof dump, false);
}

static int current_main(void *arg) {
    (void)arg;
    if (gort_go(park_nil_recv, NULL) != 0)
        return 1;
    gort_yield();
    size_t n = 0;
    stack_inner(&n);
    ASSERT_EQ(n, strlen(dump));
    ASSERT_TRUE(strncmp(dump, "goroutine 1 [running]:\nstack_inner(...)\n\t", 41) == 0);
    ASSERT_NOT_NULL(strstr(dump, "\ncurrent_main(...)\n\t"));
    ASSERT_NULL(strstr(dump, "goroutine 2"));
    ASSERT_NULL(strstr(dump, "gort_stack"));
    /* A small buffer: truncated, NUL-terminated. */
    char small[16];
    memset(small, 'x', sizeof small);
    size_t k = gort_stack(small, sizeof small, true);
    ASSERT_EQ(k, (size_t)15);
    ASSERT_EQ(small[15], '\0');
    ASSERT_EQ(gort_stack(small, 0, true), (size_t)0);
    return 0;
}

TEST(stack_current_only) {
    ASSERT_EQ(gort_main(current_main, NULL), 0);
}

/* A caller built without frame pointers may have rbp pointing anywhere
 * in its stack; here it points into a local's left redzone (the
 * AddressSanitizer build poisons it).  A traceback taken below it walks
 * into that word: the walk must neither fault nor report, and still
 * show the frame that took it. */
#if defined(__x86_64__)
__attribute__((noinline)) static void bad_rbp_dump(void) {
    (void)gort_stack(dump, sizeof dump, false);
}

/* Calls fn with rbp set to bad, on a 16-byte aligned stack below the
 * red zone. */
__attribute__((noinline)) static void call_with_rbp(uintptr_t bad, void (*fn)(void)) {
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "sub $128, %%rsp\n\t"
                     "and $-16, %%rsp\n\t"
                     "push %%rbp\n\t"
                     "push %%rbp\n\t"
                     "mov %[bad], %%rbp\n\t"
                     "call *%[fn]\n\t"
                     "pop %%rbp\n\t"
                     "pop %%rbp\n\t"
                     "mov %%rbx, %%rsp\n\t"
                     :
                     : [bad] "r"(bad), [fn] "r"(fn)
                     : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0",
                       "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

static int bad_rbp_main(void *arg) {
    (void)arg;
    volatile char local[64];
    local[0] = 1;
    call_with_rbp((uintptr_t)local - 16, bad_rbp_dump);
    const char *prefix = "goroutine 1 [running]:\nbad_rbp_dump(";
    ASSERT_TRUE(strncmp(dump, prefix, strlen(prefix)) == 0);
    return local[0] - 1;
}

TEST(stack_walk_bad_frame_pointer) {
    ASSERT_EQ(gort_main(bad_rbp_main, NULL), 0);
}
#endif

/* Calls the compiler inlined are frames of their own (as in Go), the inner
 * one at the line inside the inlined body, without +0xoff; the function
 * they were inlined into at the line of the call. */
enum { INLINED_LINE = __LINE__ + 3 };
static inline __attribute__((always_inline)) size_t inlined_dump(void) {
    /* Keep the call on the line right after this comment. */
    return gort_stack(dump, sizeof dump, false);
}

/* A second level: each inlined frame at the line of the call inside it. */
enum { OUTER_LINE = __LINE__ + 2 };
static inline __attribute__((always_inline)) size_t inlined_outer(void) {
    return inlined_dump();
}

static int inlined_main(void *arg) {
    (void)arg;
    enum { CALLER_LINE = __LINE__ + 1 };
    size_t n = inlined_outer();
    ASSERT_EQ(n, strlen(dump));
    ASSERT_TRUE(strncmp(dump, "goroutine 1 [running]:\ninlined_dump(...)\n\t", 42) == 0);
#ifdef GORT_HAVE_LIBDW
    char expect[512];
    snprintf(
        expect, sizeof expect,
        "inlined_dump(...)\n\t%s:%d\ninlined_outer(...)\n\t%s:%d\ninlined_main(...)\n\t%s:%d +0x",
        __FILE__, (int)INLINED_LINE, __FILE__, (int)OUTER_LINE, __FILE__, (int)CALLER_LINE);
    if (strstr(dump, expect) == NULL)
        fprintf(stderr, "dump:\n%s\nexpected:\n%s\n", dump, expect);
    ASSERT_NOT_NULL(strstr(dump, expect));
#endif
    return 0;
}

TEST(stack_inlined_frames) {
    ASSERT_EQ(gort_main(inlined_main, NULL), 0);
}

/* A goroutine that has not run yet has no frames: the dump shows its
 * function (as Go does), and a g recycled from a named goroutine does not
 * keep the old name. */
static _Atomic int unstarted_ran;

__attribute__((noinline)) static void not_started_yet(void *arg) {
    (void)arg;
    atomic_store(&unstarted_ran, 1);
}

__attribute__((noinline)) static void named_body(void *arg) {
    (void)arg;
    atomic_fetch_add(&unstarted_ran, 1);
}

static int unstarted_main(void *arg) {
    (void)arg;
    gort_gomaxprocs(1); /* nothing runs it until we yield */
    atomic_store(&unstarted_ran, 0);
    ASSERT_EQ(gort_go(not_started_yet, NULL), 0);
    gort_stack(dump, sizeof dump, true);
    ASSERT_EQ(atomic_load(&unstarted_ran), 0);
    char blk[4096];
    if (!block_for(dump, "runnable", blk, sizeof blk) ||
        strstr(blk, "\nnot_started_yet(...)\n\t") == NULL) {
        fprintf(stderr, "%s\n", dump);
        GT_FAIL("the runnable goroutine does not show its function");
    }
#ifdef GORT_HAVE_LIBDW
    ASSERT_NOT_NULL(strstr(blk, "traceback_test.c:"));
#endif
    ASSERT_NOT_NULL(strstr(blk, "\ncreated by unstarted_main in goroutine 1\n\t"));
    while (atomic_load(&unstarted_ran) == 0)
        gort_yield();

    /* Names: shown at GORTRACEBACK=system, gone with the goroutine. */
    setenv("GORTRACEBACK", "system", 1);
    atomic_store(&unstarted_ran, 0);
    gort_go_attr attr = {0, "named-worker"};
    ASSERT_EQ(gort_go_attr_spawn(named_body, NULL, &attr), 0);
    gort_stack(dump, sizeof dump, true);
    ASSERT_NOT_NULL(strstr(dump, "(name: named-worker)"));
    while (atomic_load(&unstarted_ran) == 0)
        gort_yield();
    for (int i = 0; i < 8; i++) /* the unnamed ones reuse its g */
        ASSERT_EQ(gort_go(named_body, NULL), 0);
    gort_stack(dump, sizeof dump, true);
    ASSERT_NULL(strstr(dump, "named-worker"));
    while (atomic_load(&unstarted_ran) < 9)
        gort_yield();
    unsetenv("GORTRACEBACK");
    return 0;
}

TEST(dump_unstarted_and_names) {
    ASSERT_EQ(gort_main(unstarted_main, NULL), 0);
}

/* A goroutine started by a thread outside the runtime has no parent
 * goroutine: its creator line is "created by fn", without " in goroutine
 * 0" (Go's printcreatedby1 names the parent only when there is one). */
static gort_chan *foreign_park;

__attribute__((noinline)) static void foreign_child(void *arg) {
    (void)arg;
    gort_chan_recv(foreign_park, NULL);
}

__attribute__((noinline)) static void *foreign_starter(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_go(foreign_child, NULL), 0);
    return NULL;
}

static int foreign_creator_main(void *arg) {
    (void)arg;
    foreign_park = gort_chan_make(0, 0);
    ASSERT_NOT_NULL(foreign_park);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_starter, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    char blk[4096];
    int64_t deadline = gt_now_ns() + 10 * GT_SEC * gt_scale();
    for (;;) {
        gort_stack(dump, sizeof dump, true);
        if (block_for(dump, "chan receive", blk, sizeof blk))
            break;
        if (gt_now_ns() > deadline) {
            fprintf(stderr, "%s\n", dump);
            GT_FAIL("the child did not park");
        }
        gort_sleep(GT_MS);
    }
    if (strstr(blk, "\ncreated by foreign_starter\n\t") == NULL) {
        fprintf(stderr, "%s\n", blk);
        GT_FAIL("no \"created by foreign_starter\" line (without a parent goroutine)");
    }
    gort_chan_close(foreign_park);
    return 0;
}

TEST(dump_created_outside_goroutine) {
    ASSERT_EQ(gort_main(foreign_creator_main, NULL), 0);
}

static int sleepy_main(void *arg) {
    (void)arg;
    int64_t end = gt_now_ns() + 450 * GT_MS;
    while (gt_now_ns() < end) {
        usleep(1000);
        gort_yield();
    }
    return 0;
}

/* Runs main_fn in a forked child with env NAME=value set; its stderr goes
 * to out; returns its wait status. */
static const char *child_name, *child_value;
static int (*child_main)(void *);

static int child_body(void *arg) {
    (void)arg;
    setenv(child_name, child_value, 1);
    return gort_main(child_main, NULL);
}

static int run_child_fn(const char *name, const char *env, int (*main_fn)(void *), char *out,
                        size_t len) {
    child_name = name;
    child_value = env;
    child_main = main_fn;
    return gt_run_child(child_body, NULL, out, len);
}

static void run_child(const char *env, char *out, size_t len) {
    int st = run_child_fn("GORTDEBUG", env, sleepy_main, out, len);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
}

TEST(schedtrace) {
    /* The first line comes at sysmon's first round, "SCHED 0ms", as Go's
     * (it came a period later): at schedtrace=1000 there is one in a 450
     * ms run.  A loaded machine delays that round (126 ms under TSan with
     * four tests at once), which a bound of one 100 ms period failed. */
    run_child("schedtrace=1000", dump, sizeof dump);
    int first = -1;
    if (sscanf(dump, "SCHED %dms:", &first) != 1 || first >= 1000)
        GT_FAIL("no SCHED line at sysmon's first round at schedtrace=1000:\n%s", dump);
    run_child("schedtrace=100", dump, sizeof dump);
    int lines = 0;
    for (const char *p = dump; (p = strstr(p, "SCHED ")) != NULL; p++) {
        lines++;
        const char *eol = strchr(p, '\n');
        ASSERT_NOT_NULL(eol);
        char line[512];
        size_t n = (size_t)(eol - p) < sizeof line - 1 ? (size_t)(eol - p) : sizeof line - 1;
        memcpy(line, p, n);
        line[n] = '\0';
        int ms, procs, idle, threads, spinning, idlethreads, runq;
        if (sscanf(line,
                   "SCHED %dms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d "
                   "needspinning=0 idlethreads=%d runqueue=%d [",
                   &ms, &procs, &idle, &threads, &spinning, &idlethreads, &runq) != 7)
            GT_FAIL("bad line: %s", line);
        ASSERT_GE(procs, 1);
        ASSERT_NOT_NULL(strstr(line, "]"));
    }
    if (lines < 2) {
        fprintf(stderr, "%s", dump);
        GT_FAIL("%d SCHED lines in 450 ms at schedtrace=100", lines);
    }
}

static int parked_main(void *arg) {
    (void)arg;
    if (gort_go(park_nil_recv, NULL) != 0)
        return 1;
    gort_sleep(450 * GT_MS);
    return 0;
}

TEST(scheddetail) {
    int st =
        run_child_fn("GORTDEBUG", "schedtrace=100,scheddetail=1", parked_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
    ASSERT_NOT_NULL(strstr(dump, "SCHED "));
    ASSERT_NOT_NULL(strstr(dump, " gcwaiting="));
    ASSERT_NOT_NULL(strstr(dump, " stopwait=0 sysmonwait=0\n"));
    /* A parked goroutine is on no M (it showed the last one it ran on). */
    ASSERT_NOT_NULL(strstr(dump, "\n  G1: status=4(sleep) m=nil lockedm=nil\n"));
    ASSERT_NOT_NULL(strstr(dump, "\n  G2: status=4(chan receive (nil chan)) m=nil lockedm=nil\n"));
    ASSERT_NOT_NULL(strstr(dump, "\n  P0: status="));
    ASSERT_NOT_NULL(strstr(dump, "\n  M0: p="));
    ASSERT_NOT_NULL(strstr(dump, "\n  G1: status="));
}

TEST(schedtrace_off) {
    run_child("scheddetail=1", dump, sizeof dump);
    ASSERT_NULL(strstr(dump, "SCHED "));
}

/* A value Go's atoi32 does not read leaves the setting as it was, as Go's
 * parsedebugvars (strtol read "100ms" as 100 and traced). */
TEST(schedtrace_not_a_number) {
    const char *bad[] = {"schedtrace=100ms", "schedtrace= 100", "schedtrace=+100",
                         "schedtrace=4294967396"};
    for (int i = 0; i < 4; i++) {
        run_child(bad[i], dump, sizeof dump);
        if (strstr(dump, "SCHED ") != NULL)
            GT_FAIL("GORTDEBUG=%s traced:\n%s", bad[i], dump);
    }
}

static int deadlock_main(void *arg) {
    (void)arg;
    if (gort_go(park_nil_recv, NULL) != 0)
        return 1;
    gort_chan_recv(NULL, NULL);
    return 0;
}

/* GORTRACEBACK=none: the fatal error's message, no goroutine. */
TEST(gorttraceback_none) {
    int st = run_child_fn("GORTRACEBACK", "none", deadlock_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    ASSERT_NOT_NULL(strstr(dump, "fatal error: all goroutines are asleep - deadlock!"));
    ASSERT_NULL(strstr(dump, "goroutine "));
}

/* GORTRACEBACK=system: a fatal error found on g0 (checkdead) shows g0's
 * frames first, as Go's dopanic_m prints "runtime stack:" for an error
 * off any goroutine at level 2, then the goroutines with the runtime's
 * frames. */
TEST(gorttraceback_system_runtime_stack) {
    int st = run_child_fn("GORTRACEBACK", "system", deadlock_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    const char *f = strstr(dump, "fatal error: all goroutines are asleep - deadlock!\n\n");
    const char *rs = strstr(dump, "\nruntime stack:\n");
    const char *g1 = strstr(dump, "\ngoroutine 1 [chan receive (nil chan)]:\n");
    if (f == NULL || rs == NULL || g1 == NULL || !(f < rs && rs < g1) ||
        strstr(rs, "\ngort__gopark(...)\n") == NULL) {
        fprintf(stderr, "%s", dump);
        GT_FAIL("no runtime stack before the goroutines at GORTRACEBACK=system");
    }
}

/* Values Go's setTraceback does not know are level 0, as "none" (they
 * showed one goroutine, as "single"); numbers are Go's levels with every
 * goroutine: 0 none, 1 all.  A number past uint32 is level 0, as in Go
 * (it was "system"). */
TEST(gorttraceback_unknown_and_numbers) {
    const char *none[] = {"bogus", "ALL", " all", "0", "-1", "4294967298", "99999999999999999999"};
    for (int i = 0; i < 7; i++) {
        int st = run_child_fn("GORTRACEBACK", none[i], deadlock_main, dump, sizeof dump);
        ASSERT_TRUE(WIFEXITED(st));
        ASSERT_EQ(WEXITSTATUS(st), 2);
        if (strstr(dump, "goroutine ") != NULL)
            GT_FAIL("GORTRACEBACK=\"%s\" showed goroutines:\n%s", none[i], dump);
    }
    int st = run_child_fn("GORTRACEBACK", "1", deadlock_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_NOT_NULL(strstr(dump, "goroutine 1 [chan receive (nil chan)]:\n"));
}

/* abort() from a frame of the program's, under libc's frameless code (what
 * a failed assert() does): the dump shows the function that called abort
 * and its callers, each once, and nothing else after the signal's pc.
 * Whether a stale frame record lies in the stack under libc's frames
 * depends on the build (at -O0 a goroutine's start left one of
 * finish_park's); scan_fp_skips_stale_record checks the scan itself. */
static volatile int abort_for_real = 1;

__attribute__((noinline)) static void check_config(void) {
    if (abort_for_real)
        abort();
}

__attribute__((noinline)) static void aborter(void *arg) {
    (void)arg;
    check_config();
    gort_chan_recv(NULL, NULL);
}

static int abort_main(void *arg) {
    (void)arg;
    /* Stale frame records in the stack below: deep calls first. */
    gort_chan *c = gort_chan_make(sizeof(int), 0);
    for (int i = 0; i < 3; i++)
        (void)gort_select_timeout(NULL, 0, 1000);
    if (gort_go(aborter, NULL) != 0)
        return 1;
    gort_chan_recv(c, NULL);
    return 0;
}

TEST(dump_abort_shows_its_caller) {
    int st = run_child_fn("GORTRACEBACK", "single", abort_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    const char *g = strstr(dump, " [running]:\n");
    ASSERT_NOT_NULL(g);
    const char *first = strstr(g, "\n?(...)\n");
    if (first == NULL) {
        fprintf(stderr, "%s", dump);
        GT_FAIL("the aborting goroutine's first frame is not the signal's pc");
    }
    /* The function lines after it, up to the creator line. */
    char frames[512] = "";
    size_t n = 0;
    for (const char *p = strchr(first + 1, '\n') + 1;
         *p != '\0' && strncmp(p, "created by", 10) != 0; p = strchr(p, '\n') + 1) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            break;
        if (*p != '\t' && n + (size_t)(eol - p) + 2 < sizeof frames) {
            memcpy(frames + n, p, (size_t)(eol - p));
            n += (size_t)(eol - p);
            frames[n++] = ';';
            frames[n] = '\0';
        }
    }
#if GT_SANITIZER_ADDRESS_SPACE
    /* A sanitizer's interceptors may add frames of their own. */
    if (strstr(frames, "check_config(...);") == NULL || strstr(frames, "aborter(...);") == NULL)
#else
    if (strncmp(frames, "check_config(...);aborter(...);", 31) != 0)
#endif
    {
        fprintf(stderr, "%s", dump);
        GT_FAIL("frames after the signal's pc: %s", frames);
    }
}

/* The scan for the first frame record above code without frame pointers
 * (libc's abort, libstdc++'s throw) skips a stale record, which an earlier
 * call left at that depth, whose saved fp points to a live record that no
 * call from the stale record's function made: it showed that function as
 * a frame (finish_park, gort__goroutine_return, under __cxa_throw) and hid
 * the live one.  A synthetic stack of real return addresses, lowest
 * address first: one into g_fn just after its call of h_fn (where the
 * live record's function stands), the stale record (into p_fn, after its
 * call of q_fn; its fp the live record), the live record (into f2_fn,
 * after its call of g_fn) and its caller's (into f3_fn, after its call of
 * f2_fn).  The live record is found, and the return into g_fn below it
 * (the frame that called the frameless code). */
#if defined(__clang__)
#define SCAN_NOINLINE __attribute__((noinline))
#else
#define SCAN_NOINLINE __attribute__((noinline, noclone))
#endif
static uintptr_t r_park, r_g, r_f2, r_f3;
SCAN_NOINLINE static void q_fn(void) {
    r_park = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("");
}
SCAN_NOINLINE static void p_fn(void) {
    q_fn();
    __asm__ volatile("");
}
SCAN_NOINLINE static void h_fn(void) {
    r_g = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("");
}
SCAN_NOINLINE static void g_fn(void) {
    h_fn();
    r_f2 = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("");
}
SCAN_NOINLINE static void f2_fn(void) {
    g_fn();
    r_f3 = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("");
}
SCAN_NOINLINE static void f3_fn(void) {
    f2_fn();
    __asm__ volatile("");
}

TEST(scan_fp_skips_stale_record) {
#if !defined(__x86_64__)
    GT_SKIP("the check reads x86-64 call instructions");
#endif
    p_fn();
    f3_fn();
    ASSERT_TRUE(r_park != 0 && r_g != 0 && r_f2 != 0 && r_f3 != 0);
    _Alignas(16) uintptr_t w[10] = {0};
    w[0] = r_g;              /* the live record's function, at its call */
    w[2] = (uintptr_t)&w[4]; /* stale: its fp points at the live record */
    w[3] = r_park;           /*        into p_fn, which never called g_fn */
    w[4] = (uintptr_t)&w[6]; /* live: into f2_fn, after its call of g_fn */
    w[5] = r_f2;
    w[6] = (uintptr_t)&w[8]; /* its caller's: into f3_fn, after f2_fn */
    w[7] = r_f3;
    uintptr_t own = 0;
    uintptr_t fp =
        gort__export_traceback_scan_fp((uintptr_t)&w[0], (uintptr_t)&w[0], (uintptr_t)&w[10], &own);
    if (fp != (uintptr_t)&w[4])
        GT_FAIL("the scan took the record at word %d, not the live one at word 4",
                fp ? (int)((fp - (uintptr_t)&w[0]) / 8) : -1);
    ASSERT_EQ(own, r_g);
}

/* A live record whose caller reached its function by a tail call (the
 * caller called tc_jump, which jumps to tc_target: -O2's sibling calls)
 * is not taken for a stale one: it was, and the dump lost the frames
 * below it. */
uintptr_t gt_tc_ret_f3, gt_tc_ret_target;
void gt_tc_target(void);
void gt_tc_jump(void);
__asm__(".text\n"
        ".p2align 4\n"
        ".globl gt_tc_jump\n"
        ".type gt_tc_jump, @function\n"
        "gt_tc_jump:\n"
        "  jmp gt_tc_target\n"
        ".size gt_tc_jump, .-gt_tc_jump\n");
SCAN_NOINLINE static void tc_leaf(void) {
    gt_tc_ret_target = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("");
}
__attribute__((noinline, used)) void gt_tc_target(void) {
    gt_tc_ret_f3 = (uintptr_t)__builtin_return_address(0);
    tc_leaf();
    __asm__ volatile("");
}
SCAN_NOINLINE static void tc_f3(void) {
    gt_tc_jump();
    __asm__ volatile("");
}

TEST(scan_fp_takes_record_after_tail_call) {
#if !defined(__x86_64__)
    GT_SKIP("the check reads x86-64 call instructions");
#endif
    tc_f3();
    ASSERT_TRUE(gt_tc_ret_f3 != 0 && gt_tc_ret_target != 0);
    _Alignas(16) uintptr_t w[8] = {0};
    w[2] = (uintptr_t)&w[4]; /* live: into gt_tc_target, after its call */
    w[3] = gt_tc_ret_target;
    w[4] = (uintptr_t)&w[6]; /* its caller's: into tc_f3, after the call of */
    w[5] = gt_tc_ret_f3;     /* gt_tc_jump, which jumped to gt_tc_target */
    uintptr_t own = 0;
    uintptr_t fp =
        gort__export_traceback_scan_fp((uintptr_t)&w[0], (uintptr_t)&w[0], (uintptr_t)&w[8], &own);
    if (fp != (uintptr_t)&w[2])
        GT_FAIL("the scan took the record at word %d, not the live one at word 2",
                fp ? (int)((fp - (uintptr_t)&w[0]) / 8) : -1);
}

/* A fault or a signal in a libc function that builds no frame, reached
 * through the PLT, shows the function that called it, as Go's dumps show
 * the caller: the check of the call before the return address took only a
 * direct call of the function itself, and lost the caller of strlen,
 * memcpy (IFUNC variants in no symbol table of a stripped libc) or kill.
 * rawmemchr stands for strlen here: the sanitizers intercept strlen (the
 * fault is then inside their interceptor), not rawmemchr; syscall for
 * tgkill likewise. */
static char *volatile leaf_far = (char *)0xdeadbeef;
static volatile uintptr_t leaf_sink;

SCAN_NOINLINE static void leaf_rawmemchr_caller(void) {
    leaf_sink = (uintptr_t)rawmemchr(leaf_far, 0);
    leaf_sink++;
}

/* tgkill to its own thread, not kill: the kernel may hand a signal sent
 * to the process to another thread (sysmon's, m=-1), while this goroutine
 * returns and exits before the dump (a dev run of the suite failed so). */
SCAN_NOINLINE static void leaf_kill_caller(void) {
    leaf_sink = (uintptr_t)syscall(SYS_tgkill, (long)getpid(), (long)gettid(), (long)SIGQUIT);
    leaf_sink++;
}

/* The caller under test, run by a goroutine of the child's main. */
static void (*leaf_caller)(void);

static void leaf_g(void *arg) {
    (void)arg;
    leaf_caller();
}

static int leaf_main(void *arg) {
    (void)arg;
    gort_go(leaf_g, NULL);
    gort_sleep(10LL * 1000 * 1000 * 1000);
    return 0;
}

/* Runs caller in a child's goroutine: its report (exit 2) must say what
 * and name caller as a frame. */
static void expect_leaf_caller(void (*caller)(void), const char *name, const char *what) {
    leaf_caller = caller;
    int st = run_child_fn("GORTRACEBACK", "single", leaf_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    ASSERT_NOT_NULL(strstr(dump, what));
    char frame[64];
    snprintf(frame, sizeof frame, "\n%s(...)\n", name);
    if (strstr(dump, frame) == NULL)
        GT_FAIL("the dump lost %s:\n%s", name, dump);
}

TEST(fault_in_libc_leaf_shows_caller) {
#if !defined(__x86_64__)
    GT_SKIP("the check reads x86-64 call instructions");
#endif
#if GT_SANITIZER_ADDRESS_SPACE
    GT_SKIP("the sanitizer's own fault handler reports the fault (the crash tests turn it "
            "off with handle_segv=0, read at its start)");
#endif
    expect_leaf_caller(leaf_rawmemchr_caller, "leaf_rawmemchr_caller",
                       "unexpected fault address 0xdeadbeef");
}

TEST(sigquit_in_libc_leaf_shows_caller) {
#if !defined(__x86_64__)
    GT_SKIP("the check reads x86-64 call instructions");
#endif
#if defined(GORT_TSAN) || defined(__SANITIZE_THREAD__)
    GT_SKIP("ThreadSanitizer delivers the signal at a point of its own choosing, not at the "
            "syscall's return");
#endif
    expect_leaf_caller(leaf_kill_caller, "leaf_kill_caller", "SIGQUIT: quit");
}

/* A panic's dump starts at the function that panicked, as Go's starts at
 * panic's caller; a panic further out (the one a deferred call's panic
 * interrupted) shows, where the deferred code began, as Go's shows
 * panic() there.  gort_panic was the dump's first frame. */
SCAN_NOINLINE static void pan_inner(void) {
    gort_panic("first");
}

SCAN_NOINLINE static void pan_deferred(void *arg) {
    (void)arg;
    gort_panicf("second %d", 2);
}

static int pan_main(void *arg) {
    if (arg != NULL)
        gort_defer(pan_deferred, NULL);
    pan_inner();
    return 0;
}

static int pan_main_repanic(void *arg) {
    (void)arg;
    return pan_main((void *)1);
}

TEST(panic_dump_starts_at_the_panicking_function) {
    int st = run_child_fn("GORTRACEBACK", "single", pan_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    if (strstr(dump, "goroutine 1 [running]:\npan_inner(...)\n") == NULL)
        GT_FAIL("the dump does not start at pan_inner:\n%s", dump);
    st = run_child_fn("GORTRACEBACK", "single", pan_main_repanic, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    const char *d = strstr(dump, "goroutine 1 [running]:\npan_deferred(...)\n");
    if (d == NULL || strstr(d, "\ngort_panic(...)\n") == NULL ||
        strstr(d, "\npan_inner(...)\n") == NULL)
        GT_FAIL("the dump does not go from pan_deferred through gort_panic to pan_inner:\n%s",
                dump);
}

/* The default (single): a fatal error still shows every goroutine. */
TEST(gorttraceback_default_fatal) {
    int st = run_child_fn("GORTRACEBACK", "single", deadlock_main, dump, sizeof dump);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 2);
    ASSERT_NOT_NULL(strstr(dump, "goroutine 1 [chan receive (nil chan)]:\n"));
    ASSERT_NOT_NULL(strstr(dump, "\ndeadlock_main(...)\n"));
    ASSERT_NOT_NULL(strstr(dump, "\npark_nil_recv(...)\n"));
}

/* White-box (traceback.c): what profiles symbolise with. */
void gort__symbolize(const uintptr_t *pcs, int n,
                     void (*fn)(void *arg, int i, const char *name, const char *file, int line,
                                bool inlined),
                     void *arg);

static char sym_file[2][256];

static void sym_cb(void *arg, int i, const char *name, const char *file, int line, bool inlined) {
    (void)arg, (void)name, (void)line;
    if (!inlined && i < 2)
        snprintf(sym_file[i], sizeof sym_file[i], "%s", file != NULL ? file : "");
}

/* A profile's pcs symbolised after a library was unloaded.  A pc in no
 * module (here a made-up one) makes the symboliser report the process's
 * objects again, which frees the DWARF of the unloaded library: that must
 * happen before the batch's first lookup, not after the file name of the
 * library's pc was found in it (the sanitizer builds read it freed; the
 * tour's CPU profile crashed 2 runs in 10 under TSan). */
TEST(symbolize_after_dlclose) {
#ifdef GORT_HAVE_LIBDW
    void *h = dlopen(GT_DLMOD, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NOT_NULL(h);
    void *fn = dlsym(h, "traceback_dlmod_fn");
    ASSERT_NOT_NULL(fn);
    uintptr_t pcs[2] = {(uintptr_t)fn + 1, 4096};
    gort__symbolize(pcs, 1, sym_cb, NULL);
    ASSERT_NOT_NULL(strstr(sym_file[0], "traceback_dlmod.c"));
    ASSERT_EQ(dlclose(h), 0);
    sym_file[0][0] = '\0';
    gort__symbolize(pcs, 2, sym_cb, NULL);
    /* The library is gone: no file for its pc now (or the right one). */
    ASSERT_TRUE(sym_file[0][0] == '\0' || strstr(sym_file[0], "traceback_dlmod.c") != NULL);
    ASSERT_STREQ(sym_file[1], "");
#else
    GT_SKIP("no libdw: no file:line to look up");
#endif
}

/* A dump taken while the process is out of descriptors (RLIMIT_NOFILE)
 * cannot read the objects' files for their symbols and lines; one taken
 * after they are free again must have them all.  The symbol table built
 * at EMFILE was kept for good (every later dump, panic and profile showed
 * "?(...)"), and so was libdw's failure. */
static __attribute__((noinline)) size_t emfile_dump(char *buf, size_t n) {
    size_t r = gort_stack(buf, n, false);
    __asm__ volatile("" ::: "memory"); /* not a tail call: this frame stays */
    return r;
}

static int stack_after_emfile_main(void *arg) {
    (void)arg;
    static char buf[16384];
    static int hog[1024];
    struct rlimit old, rl;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    rl = old;
    rl.rlim_cur = 256;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int nhog = 0;
    for (int fd; nhog < 1024 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
        hog[nhog++] = fd;
    (void)emfile_dump(buf, sizeof buf); /* whatever it can */
    for (int i = 0; i < nhog; i++)
        close(hog[i]);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    size_t n = emfile_dump(buf, sizeof buf);
    buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
    if (strstr(buf, "\nemfile_dump(...)\n") == NULL ||
        strstr(buf, "\nstack_after_emfile_main(...)\n") == NULL)
        GT_FAIL("no function names after the descriptors were freed:\n%s", buf);
#ifdef GORT_HAVE_LIBDW
    if (strstr(buf, "traceback_test.c:") == NULL)
        GT_FAIL("no file:line after the descriptors were freed:\n%s", buf);
#endif
    return 0;
}

TEST(symbols_after_fd_exhaustion) {
    ASSERT_EQ(gort_main(stack_after_emfile_main, NULL), 0);
}

GT_MAIN()

/* gort_stack of the caller alone, in a loop beside busy goroutines: a
 * preemption point (gt_loop_lets_timers_fire; it runs in runtime code and
 * libdw).  Before, main's sleep did not end in 2 to 3 runs of 5 at
 * GOMAXPROCS=1. */
static void lp_own_stack(void) {
    char buf[2048];
    if (gort_stack(buf, sizeof buf, false) == 0)
        GT_FAIL("gort_stack(false) wrote nothing");
}

TEST(own_stack_in_a_loop_lets_timers_fire) {
    gt_loop_lets_timers_fire(lp_own_stack);
}
