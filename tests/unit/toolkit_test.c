/*
 * toolkit_test.c - issue 15's smaller calls: gort_go_copy (the copy is the
 * goroutine's own, aligned, up to GORT_GO_COPY_MAX bytes, size 0 allowed).
 */
#include "gt.h"
#include "gort.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MS GT_MS

static void run(int (*fn)(void *)) {
    ASSERT_EQ(gort_main(fn, NULL), 0);
}

/* ------------------------------------------------------------------ go_copy */

typedef struct block {
    int64_t v[8];
} block;

static _Atomic int64_t total;
static gort_waitgroup wg;

static void sum_block(void *arg) {
    ASSERT_EQ((uintptr_t)arg % alignof(max_align_t), 0);
    const block *b = arg;
    int64_t s = 0;
    for (int i = 0; i < 8; i++)
        s += b->v[i];
    atomic_fetch_add(&total, s);
    gort_wg_done(&wg);
}

static int copy_main(void *arg) {
    (void)arg;
    enum { N = 20000 };
    block b;
    gort_wg_add(&wg, N);
    for (int64_t i = 0; i < N; i++) {
        for (int k = 0; k < 8; k++)
            b.v[k] = i + k;
        ASSERT_EQ(gort_go_copy(sum_block, &b, sizeof b), 0);
        /* The goroutine has its own copy: overwrite ours at once. */
        for (int k = 0; k < 8; k++)
            b.v[k] = -1000000;
    }
    gort_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&total), 8 * (int64_t)N * (N - 1) / 2 + 28 * (int64_t)N);
    return 0;
}
TEST(copy_is_owned) {
    run(copy_main);
}

static unsigned char pattern[GORT_GO_COPY_MAX];
static atomic_int checked;

static void check_max(void *arg) {
    const unsigned char *p = arg;
    for (unsigned i = 0; i < GORT_GO_COPY_MAX; i++)
        ASSERT_EQ(p[i], (unsigned char)(i * 7 + 1));
    /* The copy is writable and the goroutine's own. */
    ((unsigned char *)arg)[0] = 0;
    atomic_fetch_add(&checked, 1);
    gort_wg_done(&wg);
}

static void check_zero(void *arg) {
    ASSERT_TRUE(arg != NULL);
    ASSERT_EQ((uintptr_t)arg % alignof(max_align_t), 0);
    atomic_fetch_add(&checked, 1);
    gort_wg_done(&wg);
}

static int sizes_main(void *arg) {
    (void)arg;
    for (unsigned i = 0; i < GORT_GO_COPY_MAX; i++)
        pattern[i] = (unsigned char)(i * 7 + 1);
    ASSERT_TRUE(GORT_GO_COPY_MAX >= 256);
    gort_wg_add(&wg, 4);
    ASSERT_EQ(gort_go_copy(check_max, pattern, GORT_GO_COPY_MAX), 0);
    ASSERT_EQ(gort_go_copy(check_max, pattern, GORT_GO_COPY_MAX), 0);
    ASSERT_EQ(gort_go_copy(check_zero, NULL, 0), 0);
    ASSERT_EQ(gort_go_copy(check_zero, pattern, 0), 0);
    ASSERT_EQ(gort_go_copy(check_max, pattern, GORT_GO_COPY_MAX + 1), -EINVAL);
    ASSERT_EQ(gort_go_copy(check_max, NULL, 8), -EINVAL);
    gort_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&checked), 4);
    ASSERT_EQ(pattern[0], 1); /* the caller's block was not touched */
    return 0;
}
TEST(copy_sizes) {
    run(sizes_main);
}

/* From a thread outside the runtime (the global queue path). */
#include <pthread.h>
static void *foreign_spawner(void *arg) {
    (void)arg;
    block b;
    for (int k = 0; k < 8; k++)
        b.v[k] = 1000 + k;
    ASSERT_EQ(gort_go_copy(sum_block, &b, sizeof b), 0);
    return NULL;
}
static int foreign_main(void *arg) {
    (void)arg;
    atomic_store(&total, 0);
    gort_wg_add(&wg, 1);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_spawner, NULL), 0);
    gort_wg_wait(&wg);
    pthread_join(t, NULL);
    ASSERT_EQ(atomic_load(&total), 8 * 1000 + 28);
    return 0;
}
TEST(copy_from_foreign_thread) {
    run(foreign_main);
}

GT_MAIN()
