/*
 * pprof_test.c - the profiles of runtime/pprof, read back by the real
 * `go tool pprof` (Debian's golang-go; scripts/deps.sh installs it).  A
 * case is skipped, saying so, only when no go command is on PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "gt.h"
#include "chan.h"
#include "gt_gort.h"
#include "gort.h"
#include "internal.h"
#include "pprof_tools.h"

/* ------------------------------------------------------------------ CPU */

static volatile uint64_t sink;

/* Two hot functions, hot_a doing twice hot_b's work. */
__attribute__((noinline)) static void hot_a(int64_t ns) {
    int64_t end = gt_thread_cpu_ns() + ns;
    uint64_t x = 1;
    while (gt_thread_cpu_ns() < end)
        for (int i = 0; i < 10000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
}

__attribute__((noinline)) static void hot_b(int64_t ns) {
    int64_t end = gt_thread_cpu_ns() + ns;
    uint64_t x = 7;
    while (gt_thread_cpu_ns() < end)
        for (int i = 0; i < 10000; i++)
            x = x * 2862933555777941757ull + 3037000493ull;
    sink = x;
}

static int cpu_main(void *arg) {
    (void)arg;
    const char *path = tmp_path("cpu.pb.gz");
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_start_cpu(fd), 0);
    ASSERT_EQ(gort_pprof_start_cpu(fd), -EBUSY);
    for (int i = 0; i < 4; i++) {
        hot_a(200 * GT_MS);
        hot_b(100 * GT_MS);
    }
    gort_pprof_stop_cpu();
    gort_pprof_stop_cpu(); /* no-op */
    close(fd);
    char out[1 << 16];
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top -nodecount=40 %s", path), 0);
    double a = top_flat_pct(out, "hot_a"), b = top_flat_pct(out, "hot_b");
    if (a < 0 || b < 0)
        GT_FAIL("go tool pprof -top does not name hot_a and hot_b:\n%s", out);
    /* 2:1 of the CPU time; generous bounds for a loaded machine. */
    if (!(a > 40 && a < 85 && b > 15 && b < 50 && a > b))
        GT_FAIL("implausible shares hot_a %.1f%% hot_b %.1f%%:\n%s", a, b, out);
    /* file:line made it into the profile (no binary needed). */
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -lines -top -nodecount=40 %s", path), 0);
    if (strstr(out, "pprof_test.c:") == NULL)
        GT_FAIL("no file:line in:\n%s", out);
    return 0;
}

TEST(cpu_two_hot_functions) {
    NEED_GO();
    run(cpu_main, NULL);
}

/* ------------------------------------------------------------------ labels */

static void labelled(void *arg) {
    gort_chan *done = arg;
    gort_set_label("worker", "a");
    ASSERT_STREQ(gort_get_label("worker"), "a");
    hot_a(300 * GT_MS);
    gort_set_label("worker", "b");
    gort_set_label("other", "x");
    ASSERT_STREQ(gort_get_label("worker"), "b");
    hot_b(300 * GT_MS);
    gort_set_label("other", NULL);
    ASSERT_NULL(gort_get_label("other"));
    gort_chan_close(done);
}

static int labels_main(void *arg) {
    (void)arg;
    const char *path = tmp_path("labels.pb.gz");
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_start_cpu(fd), 0);
    gort_chan *done = gort_chan_make(0, 0);
    go(labelled, done);
    ASSERT_FALSE(gort_chan_recv(done, NULL));
    gort_pprof_stop_cpu();
    close(fd);
    gort_chan_free(done);
    char out[1 << 16];
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top -tagfocus=worker=a %s", path), 0);
    if (top_flat_pct(out, "hot_a") < 20 || top_flat_pct(out, "hot_b") >= 0)
        GT_FAIL("-tagfocus=worker=a should show hot_a only:\n%s", out);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top -tagfocus=worker=b %s", path), 0);
    if (top_flat_pct(out, "hot_b") < 20 || top_flat_pct(out, "hot_a") >= 0)
        GT_FAIL("-tagfocus=worker=b should show hot_b only:\n%s", out);
    return 0;
}

TEST(labels_tagfocus) {
    NEED_GO();
    run(labels_main, NULL);
}

/* Labels are inherited by the goroutines a goroutine starts, and appear on
 * the goroutine profile. */
static void child_checks(void *arg) {
    ASSERT_STREQ(gort_get_label("req"), "r42");
    gort_chan_recv(arg, NULL);
}

__attribute__((noinline)) static void blocked_in_recv(gort_chan *c) {
    gort_chan_recv(c, NULL);
}

static void parked(void *arg) {
    blocked_in_recv(arg);
}

static int goroutine_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(0, 0);
    for (int i = 0; i < 5; i++)
        go(parked, c);
    gort_set_label("req", "r42");
    go(child_checks, c);
    gort_set_label("req", NULL);
    WAIT_UNTIL(gort_numgoroutine() == 7 && qlen(c, false) == 6, 10, "goroutines parked");
    const char *path = tmp_path("goroutine.pb.gz");
    write_profile("goroutine", path, 0);
    char out[1 << 16];
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top -cum %s", path), 0);
    if (strstr(out, "blocked_in_recv") == NULL || strstr(out, "goroutine_main") == NULL)
        GT_FAIL("goroutine profile does not name blocked_in_recv and goroutine_main:\n%s", out);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -traces -tagfocus=req=r42 %s", path), 0);
    if (strstr(out, "child_checks") == NULL || strstr(out, "blocked_in_recv") != NULL)
        GT_FAIL("the child's inherited label is not on its sample:\n%s", out);

    /* debug=1: Go's grouped counts. */
    const char *tpath = tmp_path("goroutine.txt");
    write_profile("goroutine", tpath, 1);
    ASSERT_TRUE(read_file(tpath, out, sizeof out) > 0);
    if (strstr(out, "goroutine profile: total 7\n") == NULL || strstr(out, "\n5 @ 0x") == NULL ||
        strstr(out, "#\t0x") == NULL || strstr(out, "blocked_in_recv+0x") == NULL ||
        strstr(out, "# labels: {\"req\":\"r42\"}") == NULL)
        GT_FAIL("goroutine debug=1:\n%s", out);
    /* debug=2: the dump. */
    write_profile("goroutine", tpath, 2);
    ASSERT_TRUE(read_file(tpath, out, sizeof out) > 0);
    if (strstr(out, "[chan receive]:") == NULL || strstr(out, "blocked_in_recv(") == NULL)
        GT_FAIL("goroutine debug=2:\n%s", out);
    gort_chan_close(c);
    WAIT_UNTIL(gort_numgoroutine() == 1, 10, "goroutines gone");
    gort_chan_free(c);
    return 0;
}

TEST(goroutine_profile) {
    NEED_GO();
    run(goroutine_main, NULL);
}

/* ------------------------------------------------------------------ block, mutex */

/* A side effect of its own, or -O2 folds it into blocked_in_recv, which
 * compiles to the same code (-fipa-icf), and the profile names that. */
static volatile int block_waits;

__attribute__((noinline)) static void block_waiter(gort_chan *c) {
    block_waits++;
    gort_chan_recv(c, NULL);
}

static void block_g(void *arg) {
    block_waiter(arg);
}

static gort_mutex mu;

/* Holds mu while the waiter (which said it is about to lock) blocks on
 * it, then unlocks: the contention is charged here, at the unlock. */
__attribute__((noinline)) static void mutex_holder(gort_chan *ready) {
    gort_mutex_lock(&mu);
    gort_chan_recv(ready, NULL);
    gort_sleep(30 * GT_MS);
    gort_mutex_unlock(&mu);
}

static gort_chan *mutex_ready, *mutex_done;

static void mutex_waiter(void *arg) {
    (void)arg;
    gort_chan_send(mutex_ready, NULL);
    gort_mutex_lock(&mu);
    gort_mutex_unlock(&mu);
    gort_chan_send(mutex_done, NULL);
}

static int contention_main(void *arg) {
    (void)arg;
    gort_set_block_profile_rate(1);
    ASSERT_EQ(gort_set_mutex_profile_fraction(1), 0);
    ASSERT_EQ(gort_set_mutex_profile_fraction(-1), 1);
    gort_chan *c = gort_chan_make(0, 0);
    go(block_g, c);
    gort_sleep(30 * GT_MS);
    gort_chan_send(c, NULL);
    mutex_ready = gort_chan_make(0, 0);
    mutex_done = gort_chan_make(0, 0);
    for (int i = 0; i < 3; i++) {
        go(mutex_waiter, NULL);
        mutex_holder(mutex_ready);
        gort_chan_recv(mutex_done, NULL);
    }
    gort_chan_free(mutex_ready);
    gort_chan_free(mutex_done);
    gort_set_block_profile_rate(0);
    ASSERT_EQ(gort_set_mutex_profile_fraction(0), 1);
    char out[1 << 16];
    const char *bpath = tmp_path("block.pb.gz"), *mpath = tmp_path("mutex.pb.gz");
    write_profile("block", bpath, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top -cum %s", bpath), 0);
    if (strstr(out, "block_waiter") == NULL || strstr(out, "delay") == NULL)
        GT_FAIL("block profile does not name block_waiter:\n%s", out);
    write_profile("mutex", mpath, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top -cum %s", mpath), 0);
    if (strstr(out, "mutex_holder") == NULL)
        GT_FAIL("mutex profile does not name the unlocker mutex_holder:\n%s", out);
    /* Text forms. */
    const char *tpath = tmp_path("block.txt");
    write_profile("block", tpath, 1);
    ASSERT_TRUE(read_file(tpath, out, sizeof out) > 0);
    if (strstr(out, "--- contention:\ncycles/second=") == NULL ||
        strstr(out, "block_waiter+0x") == NULL)
        GT_FAIL("block debug=1:\n%s", out);
    gort_chan_free(c);
    return 0;
}

TEST(block_and_mutex_profiles) {
    NEED_GO();
    run(contention_main, NULL);
}

/* ------------------------------------------------------------------ heap, threadcreate */

static char heapblocks[64][4096];

__attribute__((noinline)) static void heap_alloc_site(int i) {
    ASSERT_TRUE(gort__mprof_malloc(heapblocks[i], sizeof heapblocks[i]));
}

static int heap_main(void *arg) {
    (void)arg;
    int64_t old = gort__memprof_rate;
    gort__memprof_rate = 1; /* every allocation */
    for (int i = 0; i < 64; i++)
        heap_alloc_site(i);
    for (int i = 0; i < 16; i++)
        gort__mprof_free(heapblocks[i]);
    char out[1 << 16];
    const char *path = tmp_path("heap.pb.gz");
    write_profile("heap", path, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -sample_index=inuse_objects -top %s", path), 0);
    if (strstr(out, "heap_alloc_site") == NULL ||
        strstr(out, "accounting for 48, 100% of 48 total") == NULL)
        GT_FAIL("heap profile: 48 objects in use at heap_alloc_site expected:\n%s", out);
    write_profile("allocs", path, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top %s", path), 0);
    if (strstr(out, "alloc_space") == NULL || strstr(out, "of 256kB total") == NULL)
        GT_FAIL("allocs profile: 256kB allocated at heap_alloc_site expected:\n%s", out);
    write_profile("threadcreate", path, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top %s", path), 0);
    if (strstr(out, "Type: threadcreate") == NULL)
        GT_FAIL("threadcreate profile:\n%s", out);
    gort__memprof_rate = old;
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_write("nonesuch", fd, 0), -EINVAL);
    close(fd);
    ASSERT_EQ(gort_pprof_write("heap", -1, 0), -EINVAL);
    return 0;
}

TEST(heap_allocs_threadcreate) {
    NEED_GO();
    run(heap_main, NULL);
}

/* ------------------------------------------------------------------ stall detector */

static _Atomic int64_t staller_id;

/* Runs 400 ms without a gort call. */
__attribute__((noinline)) static void stalling_loop(void) {
    int64_t end = now_ns() + 400 * GT_MS;
    uint64_t x = 3;
    while (now_ns() < end)
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005ull + 1;
    sink = x;
}

static void staller(void *arg) {
    atomic_store(&staller_id, gort_goid());
    stalling_loop();
    gort_chan_close(arg);
}

/* Parked while the staller runs (WAIT_UNTIL's polling would hold a P
 * without a gort call too). */
static int stall_main(void *arg) {
    (void)arg;
    gort_chan *done = gort_chan_make(0, 0);
    go(staller, done);
    gort_chan_recv(done, NULL);
    gort_chan_free(done);
    return 0;
}

/* Goroutines that yield in a loop (gort calls: never a stall) beside the
 * staller, on every P: asynchronous preemption switches the staller out
 * and back (other work waits), maybe onto another P, which is no gort call
 * of the staller's either. */
static _Atomic int busy_stop;

static void busy_yielder(void *arg) {
    (void)arg;
    while (!atomic_load(&busy_stop))
        gort_yield();
}

static int stall_busy_main(void *arg) {
    (void)arg;
    atomic_store(&busy_stop, 0);
    for (int i = 0; i < 4; i++)
        go(busy_yielder, NULL);
    gort_chan *done = gort_chan_make(0, 0);
    go(staller, done);
    gort_chan_recv(done, NULL);
    gort_chan_free(done);
    atomic_store(&busy_stop, 1);
    return 0;
}

/* Runs fn with GORTDEBUG=stalldetect=100 and checks that the staller is
 * reported, once. */
static void check_stall_report(int (*fn)(void *)) {
    setenv("GORTDEBUG", "stalldetect=100", 1);
    const char *path = tmp_path("stall.txt");
    fflush(stderr);
    int saved = dup(2);
    int fd = create_file(path);
    dup2(fd, 2);
    close(fd);
    run(fn, NULL);
    dup2(saved, 2);
    close(saved);
    unsetenv("GORTDEBUG");
    char out[1 << 14];
    ASSERT_TRUE(read_file(path, out, sizeof out) > 0);
    const char *at = strstr(out, "gort: stall: goroutine ");
    if (at == NULL || strstr(out, "without a gort call (GORTDEBUG=stalldetect=100)") == NULL ||
        strstr(out, "stalling_loop(...)") == NULL || strstr(out, "staller(...)") == NULL ||
        strstr(out, "goentry") != NULL || strstr(out, " in goroutine 1\n") == NULL)
        GT_FAIL("stall report:\n%s", out);
    /* The staller is reported once.  Another goroutine may be reported
     * too: on a loaded machine its thread can go unscheduled for longer
     * than the threshold (the detector measures wall time, as sysmon). */
    char mine[64];
    snprintf(mine, sizeof mine, "gort: stall: goroutine %lld ",
             (long long)atomic_load(&staller_id));
    const char *first = strstr(out, mine);
    if (first == NULL || strstr(first + 1, mine) != NULL)
        GT_FAIL("the staller is not reported exactly once:\n%s", out);
}

TEST(stall_detector) {
    check_stall_report(stall_main);
}

TEST(stall_detector_busy) {
    check_stall_report(stall_busy_main);
}

GT_MAIN()
