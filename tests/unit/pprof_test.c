/*
 * pprof_test.c - the profiles of runtime/pprof, read back by the real
 * `go tool pprof` (Debian's golang-go; scripts/deps.sh installs it).  A
 * case is skipped, saying so, only when no go command is on PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "export_test.h"
#include "gt.h"
#include "gt_gort.h"
#include "gort.h"
#include "pprof_tools.h"

/* ------------------------------------------------------------------ CPU */

/* In `go tool pprof -traces` output (each sample's stack after a
 * "-----------+" line, and one such line after the last): the number of
 * stacks that hold frame (NULL: every stack), and in *with how many of
 * those hold later below it. */
static int count_stacks(const char *out, const char *frame, const char *later, int *with) {
    static const char sep[] = "-----------+";
    int n = 0;
    *with = 0;
    for (const char *p = strstr(out, sep), *next; p != NULL; p = next) {
        next = strstr(p + 1, sep);
        if (next == NULL)
            break;
        const char *f = frame != NULL ? strstr(p, frame) : p;
        if (f == NULL || f >= next)
            continue;
        n++;
        const char *l = strstr(f, later);
        *with += l != NULL && l < next;
    }
    return n;
}

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

/* A hot function that builds no frame (GCC builds leaves so, even with
 * frame pointers; in assembly here, so also at -O0): its samples still
 * name its caller, whose frame the fp chain starts at. */
#if defined(__x86_64__) && !defined(GORT_TSAN)
__asm__(".text\n"
        ".p2align 4\n"
        ".type frameless_spin, @function\n"
        "frameless_spin:\n"
        "1: decq %rdi\n"
        "  jnz 1b\n"
        "  ret\n"
        ".size frameless_spin, .-frameless_spin\n");
void frameless_spin(uint64_t iters);

__attribute__((noinline)) static void leaf_caller(int64_t ns) {
    int64_t end = gt_thread_cpu_ns() + ns;
    while (gt_thread_cpu_ns() < end)
        frameless_spin(1000000);
}

static int leaf_main(void *arg) {
    (void)arg;
    const char *path = tmp_path("leaf.pb.gz");
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_start_cpu(fd), 0);
    leaf_caller(400 * GT_MS);
    gort_pprof_stop_cpu();
    close(fd);
    static char out[1 << 16];
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -traces %s", path), 0);
    /* Every stack with frameless_spin goes on in leaf_caller. */
    int with_caller = 0;
    int leaf = count_stacks(out, "frameless_spin\n", "leaf_caller", &with_caller);
    if (leaf == 0 || with_caller != leaf)
        GT_FAIL("frameless_spin's caller is missing from %d of its %d stacks:\n%s",
                leaf - with_caller, leaf, out);
    return 0;
}
#endif

TEST(cpu_frameless_leaf_keeps_caller) {
#if defined(GORT_TSAN)
    GT_SKIP("ThreadSanitizer delivers the profiling signal at its next interceptor, not where "
            "the tick came: the interrupted sp is no longer the leaf's");
#elif defined(__x86_64__)
    NEED_GO();
    run(leaf_main, NULL);
#else
    GT_SKIP("the frameless leaf is x86-64 assembly");
#endif
}

/* Contention a starving mutex hands over (a waiter waited over 1 ms) is
 * charged to the unlocker too, not to its caller: that unlock's path was
 * a tail call in the optimised library, one frame short for the skip. */
static gort_mutex starve_mu;
static gort_waitgroup starve_wg;

__attribute__((noinline)) static void starve_hold(void) {
    int64_t end = gt_thread_cpu_ns() + 2 * GT_MS; /* over starvation's 1 ms */
    while (gt_thread_cpu_ns() < end)
        sink++;
}

__attribute__((noinline)) static void starve_unlock_site(void) {
    gort_mutex_unlock(&starve_mu);
}

static void starve_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 30; i++) {
        gort_mutex_lock(&starve_mu);
        starve_hold();
        starve_unlock_site();
    }
    gort_wg_done(&starve_wg);
}

static int starve_main(void *arg) {
    (void)arg;
    gort_set_mutex_profile_fraction(1);
    gort_wg_add(&starve_wg, 4);
    for (int i = 0; i < 4; i++)
        go(starve_worker, NULL);
    gort_wg_wait(&starve_wg);
    gort_set_mutex_profile_fraction(0);
    const char *path = tmp_path("starve.pb.gz");
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_write("mutex", fd, 0), 0);
    close(fd);
    static char out[1 << 16];
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -sample_index=delay -traces %s", path), 0);
    /* Every stack goes through the unlock site. */
    int through = 0;
    int stacks = count_stacks(out, NULL, "starve_unlock_site", &through);
    if (stacks == 0 || through != stacks)
        GT_FAIL("%d of %d mutex profile stacks miss starve_unlock_site:\n%s", stacks - through,
                stacks, out);
    return 0;
}

TEST(mutex_profile_starving_unlock) {
    NEED_GO();
    run(starve_main, NULL);
}

/* The goroutine profile stops the world; a goroutine running C code with no
 * gort call is then suspended in the preemption handler, still running:
 * its stack is read from the interrupted context (it had no frame at all,
 * and the empty sample's encoding handed memcpy a null pointer, which
 * UBSan reported in CI).  Not under ThreadSanitizer, where no preemption
 * signal stops the spinner. */
#if !defined(GORT_TSAN) && !defined(GORT_ASAN)
static atomic_bool gspin_stop, gspin_on;

/* Inside libc's memset nearly all the time: not a place for an
 * asynchronous preemption, so the stop suspends the thread there. */
__attribute__((noinline)) static void gspin_loop(void) {
    static char buf[32 << 20];
    atomic_store(&gspin_on, true);
    for (int i = 0; !atomic_load_explicit(&gspin_stop, memory_order_relaxed); i++)
        memset(buf, i, sizeof buf);
}

__attribute__((noinline)) static void gspinner(void *arg) {
    (void)arg;
    gspin_loop();
}

static int gspin_main(void *arg) {
    (void)arg;
    if (gort_gomaxprocs(0) < 2)
        (void)gort_gomaxprocs(2);
    go(gspinner, NULL);
    WAIT_UNTIL(atomic_load(&gspin_on), 10, "the spinner to run");
    const char *path = tmp_path("gspin.pb.gz");
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_write("goroutine", fd, 0), 0);
    close(fd);
    atomic_store(&gspin_stop, true);
    static char out[1 << 16];
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -traces %s", path), 0);
    /* (gspin_loop itself is not expected: it calls memset through the
     * PLT, and libc's memset builds no frame, so the walk goes on from
     * gspin_loop's own frame, which names its caller.) */
    if (strstr(out, "gspinner") == NULL)
        GT_FAIL("the running goroutine's stack is not in the goroutine profile:\n%s", out);
    return 0;
}
#endif

TEST(goroutine_profile_running_goroutine) {
#if defined(GORT_TSAN)
    GT_SKIP("ThreadSanitizer: no preemption signal stops the spinner (it waits for a gort call)");
#elif defined(GORT_ASAN)
    GT_SKIP("AddressSanitizer's memset interceptor: the frame walk does not get out of it");
#else
    NEED_GO();
    run(gspin_main, NULL);
#endif
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

/* The goroutine profile's debug=1 text quotes label keys and values as
 * Go's %q (strconv.Quote): a quote or a newline in a value ended the
 * string and the line, and go tool pprof rejected the profile as
 * malformed.  The expected lines are Go 1.19's fmt.Sprintf("%q:%q"). */
static void quoted_labels_g(void *arg) {
    gort_set_label("quote", "say \"hi\"\nbye");
    gort_set_label("k\\e\ty",
                   "\x01\x7f\a\r \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xff\xc3(\xed\xa0\x80"
                   "\xc2\xa0\xe2\x80\x8b\xee\x80\x80\xf3\xb0\x80\x81\xf4\x90\x80\x80\xc2\xad");
    gort_chan_recv(arg, NULL);
}

static int quoted_labels_main(void *arg) {
    (void)arg;
    gort_chan *c = gort_chan_make(0, 0);
    go(quoted_labels_g, c);
    WAIT_UNTIL(qlen(c, false) == 1, 10, "the labelled goroutine parked");
    static char out[1 << 16];
    const char *path = tmp_path("quoted.txt");
    write_profile("goroutine", path, 1);
    ASSERT_TRUE(read_file(path, out, sizeof out) > 0);
    static const char want[] =
        "# labels: {\"k\\\\e\\ty\":\"\\x01\\x7f\\a\\r \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
        "\\xff\\xc3(\\xed\\xa0\\x80\\u00a0\\u200b\\ue000\\U000f0001\\xf4\\x90\\x80\\x80\\u00ad\", "
        "\"quote\":\"say \\\"hi\\\"\\nbye\"}\n";
    if (strstr(out, want) == NULL)
        GT_FAIL("goroutine debug=1 labels, want\n%s\nin\n%s", want, out);
    if (have_go() && go_tool(out, sizeof out, "pprof -top %s", path) != 0)
        GT_FAIL("go tool pprof rejects the text:\n%s", out);
    gort_chan_close(c);
    WAIT_UNTIL(gort_numgoroutine() == 1, 10, "goroutine gone");
    gort_chan_free(c);
    return 0;
}

TEST(goroutine_profile_quotes_labels) {
    run(quoted_labels_main, NULL);
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

/* Blocked in a send, a select and an RWMutex read lock: each sample keeps
 * its caller (an optimised runtime's tail calls dropped one frame more
 * than the profile skipped, and these lost theirs).  The asm keeps the
 * call out of tail position here too. */
static gort_rwmutex block_rw;

__attribute__((noinline)) static void send_waiter(gort_chan *c) {
    block_waits++;
    gort_chan_send(c, NULL);
    __asm__ volatile("");
}

__attribute__((noinline)) static void select_waiter(gort_chan *c) {
    block_waits++;
    gort_select_case cs[2] = {{c, GORT_RECV, NULL, false}, {NULL, GORT_RECV, NULL, false}};
    (void)gort_select(cs, 2, true);
    __asm__ volatile("");
}

__attribute__((noinline)) static void rlock_waiter(void) {
    block_waits++;
    gort_rwmutex_rlock(&block_rw);
    gort_rwmutex_runlock(&block_rw);
    __asm__ volatile("");
}

static void block_send_g(void *arg) {
    send_waiter(arg);
}

static void block_select_g(void *arg) {
    select_waiter(arg);
}

static void block_rlock_g(void *arg) {
    (void)arg;
    rlock_waiter();
}

/* Collections from two goroutines at once: one waits for the other's (on
 * gcsema), a wait of the runtime's own that Go does not profile. */
static void gc_twice_g(void *arg) {
    gort_waitgroup *wg = arg;
    for (int i = 0; i < 5; i++)
        gort_gc();
    gort_wg_done(wg);
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
    go(block_send_g, c);
    gort_sleep(30 * GT_MS);
    gort_chan_recv(c, NULL);
    go(block_select_g, c);
    gort_sleep(30 * GT_MS);
    gort_chan_send(c, NULL);
    gort_rwmutex_lock(&block_rw);
    go(block_rlock_g, NULL);
    gort_sleep(30 * GT_MS);
    gort_rwmutex_unlock(&block_rw);
    WAIT_UNTIL(gort_numgoroutine() == 1, 10, "the blocked goroutines finish");
    static gort_waitgroup gcwg;
    gort_wg_add(&gcwg, 2);
    go(gc_twice_g, &gcwg);
    go(gc_twice_g, &gcwg);
    gort_wg_wait(&gcwg);
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
        strstr(out, "block_waiter+0x") == NULL || strstr(out, "send_waiter+0x") == NULL ||
        strstr(out, "select_waiter+0x") == NULL || strstr(out, "rlock_waiter+0x") == NULL ||
        strstr(out, "gc_twice_g") != NULL)
        GT_FAIL("block debug=1:\n%s", out);
    gort_chan_free(c);
    return 0;
}

TEST(block_and_mutex_profiles) {
    NEED_GO();
    run(contention_main, NULL);
}

/* Sums the records of the debug=1 text of profile name (block or mutex:
 * "cycles count @ pcs" lines, each followed by its "#\t" frame lines)
 * whose stack names frame (NULL: all of them). */
static void contention_sums(const char *name, const char *frame, int64_t *count, int64_t *delay) {
    static char out[1 << 18];
    const char *path = tmp_path("contention.txt");
    write_profile(name, path, 1);
    ASSERT_TRUE(read_file(path, out, sizeof out) > 0);
    *count = *delay = 0;
    for (const char *l = out; l != NULL && *l != '\0';) {
        long long cyc, cnt;
        if (sscanf(l, "%lld %lld @", &cyc, &cnt) == 2) {
            const char *r = strchr(l, '\n');
            while (r != NULL && r[1] == '#')
                r = strchr(r + 1, '\n');
            size_t len = r != NULL ? (size_t)(r - l) : strlen(l);
            if (frame == NULL || memmem(l, len, frame, strlen(frame)) != NULL) {
                *count += cnt;
                *delay += cyc;
            }
            l = r;
        } else {
            l = strchr(l, '\n');
        }
        if (l != NULL)
            l++;
    }
}

/* The mutex profile charges an unlock only the wait since the previous
 * unlock (Go's semaRoot.dequeue resets the next waiter's acquiretime):
 * the holder keeps the lock 100 ms while 4 goroutines queue, and the
 * profile shows about 100 ms.  It showed 400: every waiter's whole wait,
 * the last three charged to the waiters' own unlocks. */
static gort_mutex queue_mu;
static gort_chan *queue_ready;
static gort_waitgroup queue_wg;

__attribute__((noinline)) static void queue_holder_unlock(void) {
    gort_mutex_unlock(&queue_mu);
    __asm__ volatile("");
}

static void queue_waiter(void *arg) {
    (void)arg;
    gort_chan_send(queue_ready, NULL);
    gort_mutex_lock(&queue_mu);
    gort_mutex_unlock(&queue_mu);
    gort_wg_done(&queue_wg);
}

static int mutex_queue_main(void *arg) {
    (void)arg;
    gort_set_mutex_profile_fraction(1);
    queue_ready = gort_chan_make(0, 0);
    gort_mutex_lock(&queue_mu);
    gort_wg_add(&queue_wg, 4);
    for (int i = 0; i < 4; i++) {
        go(queue_waiter, NULL);
        gort_chan_recv(queue_ready, NULL);
    }
    gort_sleep(100 * GT_MS);
    queue_holder_unlock();
    gort_wg_wait(&queue_wg);
    gort_chan_free(queue_ready);
    int64_t count, delay, hcount, hdelay;
    contention_sums("mutex", NULL, &count, &delay);
    contention_sums("mutex", "queue_holder_unlock", &hcount, &hdelay);
    gort_set_mutex_profile_fraction(0);
    /* The waiters queued during the 100 ms: the holder's unlock is
     * charged most of them; the waiters' unlocks only the moments between
     * one waiter's wake-up and the next. */
    if (hcount != 1 || hdelay < 50 * GT_MS || delay >= 250 * GT_MS)
        GT_FAIL("mutex profile: %lld ms in %lld events, %lld ms in %lld on the holder's unlock "
                "(want about 100 ms, all but a little on the holder's)",
                (long long)(delay / GT_MS), (long long)count, (long long)(hdelay / GT_MS),
                (long long)hcount);
    return 0;
}

TEST(mutex_profile_charges_wait_since_previous_unlock) {
    run(mutex_queue_main, NULL);
}

/* The block profile removes its sampling bias (Go's saveblockevent): an
 * event shorter than the rate, kept with probability ns/rate, counts as
 * rate/ns events and rate ns.  BIAS_N receives each block at least 20 us
 * with the rate at 200 us: the count's expectation is BIAS_N whatever
 * the lengths (each 1/p with probability p), its deviation about 5%.  It
 * was about a tenth (one per kept event). */
#define BIAS_N 4000

__attribute__((noinline)) static void bias_recv(gort_chan *c) {
    gort_chan_recv(c, NULL);
    __asm__ volatile("");
}

static void bias_receiver(void *arg) {
    for (int i = 0; i < BIAS_N; i++)
        bias_recv(arg);
}

static int block_bias_main(void *arg) {
    (void)arg;
    gort_set_block_profile_rate(200000);
    gort_chan *c = gort_chan_make(0, 0);
    go(bias_receiver, c);
    for (int i = 0; i < BIAS_N; i++) {
        /* The receiver is queued (so it blocks), then waits 20 us more. */
        while (qlen(c, false) == 0)
            gort_yield();
        int64_t end = gt_now_ns() + 20000;
        while (gt_now_ns() < end)
            sink++;
        gort_chan_send(c, NULL);
    }
    gort_set_block_profile_rate(0);
    int64_t count, delay;
    contention_sums("block", "bias_recv", &count, &delay);
    gort_chan_free(c);
    if (count < BIAS_N / 2 || count > 2 * BIAS_N)
        GT_FAIL("block profile: %lld contentions for %d blocks (rate 200 us, blocks of 20 us "
                "or more), %lld ms",
                (long long)count, BIAS_N, (long long)(delay / GT_MS));
    return 0;
}

TEST(block_profile_removes_sampling_bias) {
    run(block_bias_main, NULL);
}

/* A block's delay ends when the waker readies the goroutine (Go's
 * sg.releasetime, stamped by send), not when it runs again: with one P,
 * the receiver blocks 20 ms, and the sender then keeps the P 50 ms more.
 * The profile showed 70 ms.  The block lasts as long as the sender takes
 * to send, which a loaded machine can make longer than the 20 ms sleep
 * (48 and 97 ms under ThreadSanitizer beside a suite, 2 runs in 61), so
 * the delay is checked against the block's own bounds: it starts after
 * rr_before_recv (the receiver's clock before its receive) and before
 * main sees it queued, and ends inside gort_chan_send.  A delay that ended
 * when the receiver ran again would pass the upper bound by the 50 ms. */
static _Atomic int64_t rr_before_recv;

__attribute__((noinline)) static void ready_recv(gort_chan *c) {
    block_waits++; /* not folded into bias_recv (see block_waits) */
    /* Release, paired with block_ready_main's acquire after the receiver
     * is gone (ordered before that also by c's lock and the exit). */
    atomic_store_explicit(&rr_before_recv, gt_now_ns(), memory_order_release);
    gort_chan_recv(c, NULL);
    __asm__ volatile("");
}

static void ready_receiver(void *arg) {
    ready_recv(arg);
}

static int block_ready_main(void *arg) {
    (void)arg;
    int procs = gort_gomaxprocs(1);
    gort_set_block_profile_rate(1);
    gort_chan *c = gort_chan_make(0, 0);
    go(ready_receiver, c);
    WAIT_UNTIL(qlen(c, false) == 1, 10, "the receiver blocked");
    /* The receiver's delay began before this: qlen takes c's lock, which
     * the receiver drops only once parked (its start stamped). */
    int64_t seen_blocked = gt_now_ns();
    gort_sleep(20 * GT_MS);
    /* The P stays here: the readied receiver waits for it (no preemption
     * signal meanwhile, which would give it the P after 10 ms, a delay the
     * test could not tell from the right one). */
    bool was = gort__export_set_asyncpreemptoff(true);
    int64_t send0 = gt_now_ns();
    gort_chan_send(c, NULL);
    int64_t send1 = gt_now_ns();
    int64_t end = send1 + 50 * GT_MS;
    while (gt_now_ns() < end)
        sink++;
    gort__export_set_asyncpreemptoff(was);
    WAIT_UNTIL(gort_numgoroutine() == 1, 10, "the receiver finished");
    gort_set_block_profile_rate(0);
    gort_gomaxprocs(procs);
    int64_t count, delay;
    contention_sums("block", "ready_recv", &count, &delay);
    gort_chan_free(c);
    /* Acquire: pairs with ready_recv's release. */
    int64_t lo = send0 - seen_blocked,
            hi = send1 - atomic_load_explicit(&rr_before_recv, memory_order_acquire);
    if (count != 1 || delay < lo || delay > hi)
        GT_FAIL("block profile: %lld us in %lld events for a block of %lld to %lld us (want 1 "
                "event in those bounds)",
                (long long)(delay / GT_US), (long long)count, (long long)(lo / GT_US),
                (long long)(hi / GT_US));
    return 0;
}

TEST(block_profile_delay_ends_at_ready) {
    run(block_ready_main, NULL);
}

/* ------------------------------------------------------------------ heap, allocs, threadcreate */

/* A list of gort_new objects; the global head keeps it alive (the
 * program's data segment is a root). */
typedef struct hnode {
    struct hnode *next;
    char payload[1016]; /* 1024 bytes: a size class of its own */
} hnode;

static hnode *kept;

/* Allocates n objects and keeps them all. */
__attribute__((noinline)) static void keep_site(int n) {
    for (int i = 0; i < n; i++) {
        hnode *h = gort_new(sizeof *h);
        h->next = kept;
        kept = h;
    }
}

/* Allocates n objects and drops each at once. */
__attribute__((noinline)) static void drop_site(int n) {
    for (int i = 0; i < n; i++) {
        hnode *h = gort_new(sizeof *h);
        h->payload[0] = (char)i;
        gort_keep_alive(h);
    }
}

typedef struct site_job {
    void (*fn)(int);
    int n;
    gort_chan *done;
} site_job;

static void site_g(void *arg) {
    site_job *j = arg;
    j->fn(j->n);
    gort_chan_close(j->done);
}

/* Runs fn(n) on a goroutine of its own and waits for it to exit, so that
 * no stale pointer to a dropped object stays in this goroutine's stack or
 * registers for the conservative scan to find. */
static void on_own_goroutine(void (*fn)(int), int n) {
    site_job j = {fn, n, gort_chan_make(0, 0)};
    go(site_g, &j);
    gort_chan_recv(j.done, NULL);
    gort_chan_free(j.done);
}

/* The default rate (512 KiB): keep_site keeps 32 MiB, drop_site allocates
 * 96 MiB and drops it.  After a collection, inuse_space is keep_site's;
 * alloc_space is shared about 1:3 (about 250 samples in all, so the
 * shares are within a few percent). */
static int heap_sampled_main(void *arg) {
    (void)arg;
    on_own_goroutine(keep_site, 32 << 10);
    on_own_goroutine(drop_site, 96 << 10);
    gort_gc();
    char out[1 << 16];
    const char *path = tmp_path("heap.pb.gz");
    write_profile("heap", path, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -sample_index=inuse_space -top %s", path), 0);
    double keep = top_flat_pct(out, "keep_site"), drop = top_flat_pct(out, "drop_site");
    if (keep < 90 || drop > 5)
        GT_FAIL("inuse_space: keep_site ~100%% and drop_site ~0%% expected (%.1f, %.1f):\n%s", keep,
                drop, out);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -sample_index=alloc_space -top %s", path), 0);
    keep = top_flat_pct(out, "keep_site");
    drop = top_flat_pct(out, "drop_site");
    if (keep < 12 || keep > 40 || drop < 60 || drop > 88)
        GT_FAIL("alloc_space: keep_site ~25%% and drop_site ~75%% expected (%.1f, %.1f):\n%s", keep,
                drop, out);
    /* allocs: the same data, alloc_space by default. */
    write_profile("allocs", path, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top %s", path), 0);
    if (strstr(out, "Type: alloc_space") == NULL || top_flat_pct(out, "drop_site") < 60)
        GT_FAIL("allocs profile: alloc_space, mostly drop_site expected:\n%s", out);
    gort_keep_alive(kept);
    return 0;
}

TEST(heap_profile_sampled) {
    NEED_GO();
    run(heap_sampled_main, NULL);
}

typedef struct small {
    struct small *next;
    char pad[40]; /* 48 bytes: a size class of its own */
} small;

static small *kept_small;

__attribute__((noinline)) static void exact_keep(int n) {
    for (int i = 0; i < n; i++) {
        small *o = gort_new(sizeof *o);
        o->next = kept_small;
        kept_small = o;
    }
}

__attribute__((noinline)) static void exact_drop(int n) {
    for (int i = 0; i < n; i++)
        gort_keep_alive(gort_new_noscan(sizeof(small)));
}

static void *kept_large;

/* n large objects (a span each, 5 pages: 40960 bytes); keeps the first. */
__attribute__((noinline)) static void exact_large(int n) {
    for (int i = 0; i < n; i++) {
        void *p = gort_new_noscan(40000);
        if (i == 0)
            kept_large = p;
    }
}

__attribute__((noinline)) static void unsampled_site(int n) {
    for (int i = 0; i < n; i++)
        gort_keep_alive(gort_new(64));
}

/* Rate 1: every allocation is in the profile, unscaled. */
static int heap_exact_main(void *arg) {
    (void)arg;
    int old = gort_set_mem_profile_rate(1);
    ASSERT_EQ(old, 512 * 1024);
    on_own_goroutine(exact_keep, 300);
    on_own_goroutine(exact_drop, 700);
    on_own_goroutine(exact_large, 4);
    char out[1 << 16];
    const char *path = tmp_path("heap.pb.gz");
    /* Before any collection the profile shows none of it (the heap as of
     * the last completed cycle). */
    write_profile("heap", path, 0);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=alloc_objects -top %s", path),
        0);
    if (top_flat(out, "exact_keep")[0] != '\0')
        GT_FAIL("no sample before the first collection expected:\n%s", out);
    gort_gc();
    write_profile("heap", path, 0);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=inuse_objects -top %s", path),
        0);
    /* exact_drop's objects are all free, but for one a stale word may
     * still point to (the scan is conservative). */
    if (strcmp(top_flat(out, "exact_keep"), "300") != 0 || atoi(top_flat(out, "exact_drop")) > 1)
        GT_FAIL("inuse_objects: 300 at exact_keep, none at exact_drop expected:\n%s", out);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=alloc_objects -top %s", path),
        0);
    if (strcmp(top_flat(out, "exact_keep"), "300") != 0 ||
        strcmp(top_flat(out, "exact_drop"), "700") != 0)
        GT_FAIL("alloc_objects: 300 at exact_keep, 700 at exact_drop expected:\n%s", out);
    if (strcmp(top_flat(out, "exact_large"), "4") != 0)
        GT_FAIL("alloc_objects: 4 at exact_large expected:\n%s", out);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=inuse_space -top %s", path),
        0);
    if (strcmp(top_flat(out, "exact_large"), "40kB") != 0) /* one span of 5 pages */
        GT_FAIL("inuse_space: 40kB at exact_large expected:\n%s", out);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=alloc_space -top %s", path),
        0);
    if (strcmp(top_flat(out, "exact_drop"), "32.81kB") != 0) /* 700 x 48 bytes */
        GT_FAIL("alloc_space: 33600 bytes at exact_drop expected:\n%s", out);
    /* debug=1: Go's text, "inuse: bytes [allocs: bytes] @ pcs". */
    const char *txt = tmp_path("heap.txt");
    write_profile("heap", txt, 1);
    ASSERT_TRUE(read_file(txt, out, sizeof out) > 0);
    if (strncmp(out, "heap profile: ", 14) != 0 || strstr(out, "@ heap/2\n") == NULL ||
        strstr(out, "300: 14400 [300: 14400] @ ") == NULL ||
        strstr(out, " [700: 33600] @ ") == NULL || strstr(out, "exact_keep") == NULL ||
        strstr(out, "\n# runtime.MemStats\n") == NULL || strstr(out, "# NumGC = 1\n") == NULL)
        GT_FAIL("debug=1 heap profile:\n%s", out);
    /* A second cycle with nothing new changes nothing. */
    gort_gc();
    write_profile("heap", path, 0);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=inuse_objects -top %s", path),
        0);
    if (strcmp(top_flat(out, "exact_keep"), "300") != 0)
        GT_FAIL("inuse_objects after a second cycle: 300 at exact_keep expected:\n%s", out);
    /* Dropping the kept ones: the next cycle frees them (all but the
     * few a stale word somewhere may still point to: the scan is
     * conservative, and a word pointing into the list keeps its tail). */
    kept_small = NULL;
    gort_gc();
    write_profile("heap", path, 0);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=inuse_objects -top %s", path),
        0);
    if (atoi(top_flat(out, "exact_keep")) > 10)
        GT_FAIL("inuse_objects: (almost) nothing at exact_keep after dropping it expected:\n%s",
                out);
    /* Rate 0: nothing is sampled. */
    ASSERT_EQ(gort_set_mem_profile_rate(0), 1);
    on_own_goroutine(unsampled_site, 1000);
    gort_gc();
    write_profile("allocs", path, 0);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=alloc_objects -top %s", path),
        0);
    if (top_flat(out, "unsampled_site")[0] != '\0' || strcmp(top_flat(out, "exact_drop"), "700"))
        GT_FAIL("rate 0: no sample of unsampled_site, exact_drop's kept expected:\n%s", out);
    gort_keep_alive(kept_large);
    ASSERT_EQ(gort_set_mem_profile_rate(old), 0);
    return 0;
}

TEST(heap_profile_exact) {
    NEED_GO();
    run(heap_exact_main, NULL);
}

static void *env_kept;

__attribute__((noinline)) static void env_site(int n) {
    (void)n;
    env_kept = gort_new(64);
}

/* GORTDEBUG=memprofilerate=1 (Go's GODEBUG=memprofilerate) sets the rate
 * when gort_main starts: a single allocation is in the profile. */
static int memprofilerate_env_main(void *arg) {
    (void)arg;
    on_own_goroutine(env_site, 1);
    gort_gc();
    char out[1 << 16];
    const char *txt = tmp_path("heap.txt");
    write_profile("heap", txt, 1);
    ASSERT_TRUE(read_file(txt, out, sizeof out) > 0);
    if (strstr(out, "1: 64 [1: 64] @ ") == NULL || strstr(out, "env_site") == NULL)
        GT_FAIL("GORTDEBUG=memprofilerate=1: env_site's one object expected:\n%s", out);
    ASSERT_EQ(gort_set_mem_profile_rate(512 * 1024), 1);
    gort_keep_alive(env_kept);
    return 0;
}

TEST(memprofilerate_env) {
    setenv("GORTDEBUG", "memprofilerate=1", 1);
    run(memprofilerate_env_main, NULL);
}

/* A negative GORTDEBUG=memprofilerate is the rate too, as Go's
 * MemProfileRate = n (none sampled): it was ignored, and the rate stayed
 * 512 KiB. */
static int memprofilerate_negative_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_set_mem_profile_rate(512 * 1024), -3);
    return 0;
}

TEST(memprofilerate_env_negative) {
    setenv("GORTDEBUG", "memprofilerate=-3", 1);
    run(memprofilerate_negative_main, NULL);
}

/* ---------------------------------------------------------- deltas */

static small *delta_kept;

__attribute__((noinline)) static void delta_before(int n) {
    for (int i = 0; i < n; i++) {
        small *o = gort_new(sizeof *o);
        o->next = delta_kept;
        delta_kept = o;
    }
}

__attribute__((noinline)) static void delta_during(int n) {
    for (int i = 0; i < n; i++)
        gort_keep_alive(gort_new_noscan(sizeof(small)));
}

/* The delta of net/http/pprof's ?seconds=N, without HTTP: the heap
 * profile after minus the heap profile before, every value a difference
 * as Go's p0.Scale(-1) and Merge make it.  At rate 1: delta_before's 300
 * objects, kept before the snapshot and dropped after it, are -300
 * inuse_objects and no alloc_objects; delta_during's 500, allocated and
 * dropped after it, are +500 alloc_objects.  (Before: no such calls; the
 * profile was only ever cumulative.) */
static int delta_heap_main(void *arg) {
    (void)arg;
    int old = gort_set_mem_profile_rate(1);
    gort_pprof_snapshot *base = (gort_pprof_snapshot *)&old;
    ASSERT_EQ(gort_pprof_snapshot_take("nonesuch", &base), -EINVAL);
    ASSERT_TRUE(base == NULL);
    ASSERT_EQ(gort_pprof_snapshot_take("heap", NULL), -EINVAL);
    ASSERT_EQ(gort_pprof_write_delta(NULL, 1), -EINVAL);
    gort_pprof_snapshot_free(NULL);
    on_own_goroutine(delta_before, 300);
    gort_gc();
    ASSERT_EQ(gort_pprof_snapshot_take("heap", &base), 0);
    ASSERT_NOT_NULL(base);
    int64_t t0 = gt_now_ns();
    on_own_goroutine(delta_during, 500);
    delta_kept = NULL;
    gort_gc();
    pause_ms(100); /* a duration go tool pprof prints */
    const char *path = tmp_path("heap-delta.pb.gz");
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_write_delta(base, fd), 0);
    close(fd);
    int64_t took = gt_now_ns() - t0;
    char out[1 << 16];
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=alloc_objects -top %s", path),
        0);
    if (strcmp(top_flat(out, "delta_during"), "500") != 0 ||
        top_flat(out, "delta_before")[0] != '\0')
        GT_FAIL("alloc_objects of the delta: 500 at delta_during, none at delta_before "
                "expected:\n%s",
                out);
    /* Duration: the time between the two (Go's p1.TimeNanos - p0's). */
    const char *d = strstr(out, "Duration: ");
    double ms = 0;
    char unit[3] = "";
    if (d != NULL && sscanf(d, "Duration: %lf%2[ms]", &ms, unit) == 2)
        ms *= strcmp(unit, "s") == 0 ? 1000 : strcmp(unit, "ms") == 0 ? 1 : 0;
    if (ms < 100 || ms > (double)took / 1e6 + 1)
        GT_FAIL("Duration of 100ms to %.0fms expected:\n%s", (double)took / 1e6, out);
    ASSERT_EQ(
        go_tool(out, sizeof out, "pprof -nodefraction=0 -sample_index=inuse_objects -top %s", path),
        0);
    /* All but the few a stale word may keep (the scan is conservative). */
    if (atoi(top_flat(out, "delta_before")) > -290)
        GT_FAIL("inuse_objects of the delta: about -300 at delta_before expected:\n%s", out);
    /* The same base again: a delta of one base may be written twice. */
    fd = create_file(path);
    ASSERT_EQ(gort_pprof_write_delta(base, fd), 0);
    close(fd);
    gort_pprof_snapshot_free(base);
    /* Nothing between the two: no sample at all (samples whose values
     * all cancel out are dropped, as Go's Merge drops them). */
    ASSERT_EQ(gort_pprof_snapshot_take("allocs", &base), 0);
    fd = create_file(path);
    ASSERT_EQ(gort_pprof_write_delta(base, fd), 0);
    close(fd);
    gort_pprof_snapshot_free(base);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -raw %s", path), 0);
    const char *smp = strstr(out, "Samples:\n");
    const char *loc = strstr(out, "Locations");
    if (strstr(out, "alloc_objects/count") == NULL || smp == NULL || loc == NULL ||
        strchr(strchr(smp, '\n') + 1, '\n') + 1 != loc)
        GT_FAIL("a delta of nothing: no samples expected:\n%s", out);
    ASSERT_EQ(gort_set_mem_profile_rate(old), 1);
    return 0;
}

TEST(delta_heap_exact) {
    NEED_GO();
    run(delta_heap_main, NULL);
}

static int threadcreate_main(void *arg) {
    (void)arg;
    char out[1 << 16];
    const char *path = tmp_path("tc.pb.gz");
    write_profile("threadcreate", path, 0);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top %s", path), 0);
    if (strstr(out, "Type: threadcreate") == NULL)
        GT_FAIL("threadcreate profile:\n%s", out);
    /* The text form counts every thread the runtime has, the one that
     * called gort_main included, as Go counts its m0 (the total was 0 on
     * one thread). */
    const char *tpath = tmp_path("tc.txt");
    write_profile("threadcreate", tpath, 1);
    ASSERT_TRUE(read_file(tpath, out, sizeof out) > 0);
    int total = -1;
    ASSERT_EQ(sscanf(out, "threadcreate profile: total %d", &total), 1);
    gort_stats st;
    gort_read_stats(&st);
    if (total < 1 || (uint64_t)total < st.threads)
        GT_FAIL("threadcreate total %d with %llu threads:\n%s", total,
                (unsigned long long)st.threads, out);
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_write("nonesuch", fd, 0), -EINVAL);
    close(fd);
    ASSERT_EQ(gort_pprof_write("heap", -1, 0), -EINVAL);
    return 0;
}

TEST(threadcreate_and_errors) {
    NEED_GO();
    run(threadcreate_main, NULL);
}

/* A profile written to a nonblocking fd whose buffer fills up (every fd
 * gort makes is nonblocking: a gort_conn_pipe end, an accepted socket)
 * waits for the slower reader, as Go's WriteTo(conn) does, and arrives
 * whole.  It was -EAGAIN, the dump cut where the pipe's buffer filled
 * (shrunk to one page here, so that a few hundred goroutines fill it many
 * times over: 2,000 took 25-30 s to dump under AddressSanitizer). */
enum { NB_PARKED = 300 };

typedef struct nb_sink {
    gort_conn r;
    char *buf;
    size_t n, cap;
    gort_waitgroup wg;
} nb_sink;

static void nb_reader(void *arg) {
    nb_sink *s = arg;
    gort_sleep(50 * GT_MS); /* let the writer fill the pipe first */
    ssize_t r;
    while ((r = gort_conn_read(s->r, s->buf + s->n, s->cap - 1 - s->n)) > 0)
        s->n += (size_t)r;
    s->buf[s->n] = '\0';
    gort_wg_done(&s->wg);
}

static void nb_parked(void *arg) {
    gort_chan_recv(arg, NULL);
}

static int nonblocking_fd_main(void *arg) {
    (void)arg;
    gort_chan *release = gort_chan_make(0, 0);
    for (int i = 0; i < NB_PARKED; i++)
        go(nb_parked, release);
    static nb_sink s;
    s.cap = 8 << 20;
    s.buf = malloc(s.cap);
    ASSERT_NOT_NULL(s.buf);
    gort_conn w;
    ASSERT_EQ(gort_conn_pipe(&s.r, &w), 0);
    ASSERT_EQ(fcntl(gort_conn_fd(w), F_SETPIPE_SZ, 4096), 4096);
    gort_wg_add(&s.wg, 1);
    go(nb_reader, &s);
    ASSERT_EQ(gort_pprof_write("goroutine", gort_conn_fd(w), 2), 0);
    ASSERT_EQ(gort_conn_close(w), 0);
    gort_wg_wait(&s.wg);
    ASSERT_GT(s.n, 16 << 10);
    int dumped = 0;
    for (const char *p = s.buf; (p = strstr(p, "\ngoroutine ")) != NULL; p++)
        dumped++;
    ASSERT_GE(dumped, NB_PARKED);
    gort_conn_close(s.r);
    free(s.buf);
    gort_chan_close(release);
    for (int i = 0; i < 5000 && gort_numgoroutine() > 1; i++)
        gort_sleep(GT_MS);
    ASSERT_EQ(gort_numgoroutine(), 1);
    gort_chan_free(release);
    return 0;
}

TEST(write_to_full_nonblocking_fd) {
    run(nonblocking_fd_main, NULL);
}

/* ------------------------------------------------------------------ stall detector */

static _Atomic int64_t staller_id;
/* Where check_stall_report sends stderr, and what it reads back. */
static const char *stall_path;
static char stall_out[1 << 14];

/* The staller's report is in the file. */
static bool stall_reported(void) {
    char mine[64];
    snprintf(mine, sizeof mine, "gort: stall: goroutine %lld ",
             (long long)atomic_load(&staller_id));
    return read_file(stall_path, stall_out, sizeof stall_out) > 0 &&
           strstr(stall_out, mine) != NULL;
}

/* Runs without a gort call for 400 ms, then on until its report is out
 * (looked for every 10 ms; 20 s at most): on a loaded machine sysmon may
 * not see it running twice 100 ms apart in 400 ms (it failed so once,
 * beside two other test processes).  It reads the clock rarely (every
 * ~100 us): a report taken inside clock_gettime (libc and the vDSO have no
 * frame pointers) would unwind past this frame, and the check wants it. */
__attribute__((noinline)) static void stalling_loop(void) {
    int64_t start = now_ns(), looked = start;
    int64_t most = 20000 * GT_MS * gt_scale();
    uint64_t x = 3;
    for (;;) {
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1;
        int64_t t = now_ns();
        if (t - start >= 400 * GT_MS && t - looked >= 10 * GT_MS) {
            looked = t;
            if (t - start >= most || stall_reported())
                break;
        }
    }
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
    stall_path = path;
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
        strstr(out, "goentry") != NULL || strstr(out, "created by go in goroutine 1\n\t") == NULL ||
        strstr(out, "gt_gort.h:") == NULL)
        GT_FAIL("stall report:\n%s", out);
    /* A function's own frame has its "+0x" offset after its file:line, as
     * in a dump (an inlined one has none: the creator, `go`, is inlined in
     * an optimised build). */
    const char *st = strstr(out, "staller(...)\n\t");
    if (st == NULL || strstr(st, " +0x") == NULL || strstr(st, " +0x") > strchr(st + 14, '\n'))
        GT_FAIL("stall report without +0x offsets:\n%s", out);
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

/* The profiles' writes in a loop beside busy goroutines: each is a
 * preemption point (gt_loop_lets_timers_fire).  The goroutine profile
 * stops the world; the others run in runtime code and libdw.  Before,
 * main's sleep did not end in 4 to 5 runs of 5 (goroutine, threadcreate)
 * or 1 to 5 (heap, by GOMAXPROCS). */
static int lp_fd = -1;

static void lp_goroutine_snapshot(void) {
    gort_pprof_snapshot *s = NULL;
    if (gort_pprof_snapshot_take("goroutine", &s) == 0)
        gort_pprof_snapshot_free(s);
}

static void lp_write_goroutine(void) {
    (void)gort_pprof_write("goroutine", lp_fd, 0);
}

static void lp_write_threadcreate(void) {
    (void)gort_pprof_write("threadcreate", lp_fd, 0);
}

static void lp_write_heap(void) {
    (void)gort_pprof_write("heap", lp_fd, 0);
}

TEST(profile_writes_in_a_loop_let_timers_fire) {
    lp_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(lp_fd, 0);
    gt_loop_lets_timers_fire(lp_goroutine_snapshot);
    gt_loop_lets_timers_fire(lp_write_goroutine);
    gt_loop_lets_timers_fire(lp_write_threadcreate);
    gt_loop_lets_timers_fire(lp_write_heap);
    close(lp_fd);
}

/* The CPU profile started and stopped in a loop: each arms or disarms a
 * timer on every thread (session 39: main's sleep did not end, at two Ps
 * and at one). */
static void lp_cpu_start_stop(void) {
    if (gort_pprof_start_cpu(lp_fd) == 0)
        gort_pprof_stop_cpu();
}

TEST(cpu_profile_start_stop_in_a_loop_lets_timers_fire) {
    lp_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(lp_fd, 0);
    gt_loop_lets_timers_fire(lp_cpu_start_stop);
    close(lp_fd);
}
