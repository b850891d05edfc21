/*
 * lockrank_test.c - the lock-rank checker (src/lockrank.c, GORT_LOCKRANK:
 * the dev preset): runtime locks taken against the order in the rank table
 * are a fatal "lock ordering problem", and so is a lock that was never
 * given a rank; taken in order, or many of a rank that nests in itself (a
 * select's channel locks), they are not.  Skipped where the checker is
 * compiled out.
 */
#include "gt.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export_test.h"

/* GT_SKIP returns from the case: a macro, not a function. */
#define NEED_LOCKRANK()                                                                \
    do {                                                                               \
        if (!gort__export_lockrank_enabled())                                          \
            GT_SKIP("built without GORT_LOCKRANK (the dev preset checks lock ranks)"); \
    } while (0)

TEST(in_order_is_fine) {
    NEED_LOCKRANK();
    gort__export_lockrank_pair(false);
    gort__export_lockrank_pair(false);
}

/* A select over thousands of channels holds that many channel locks. */
TEST(nesting_rank_many_held) {
    NEED_LOCKRANK();
    gort__export_lockrank_nested(5000);
    gort__export_lockrank_pair(false); /* the count went back to zero */
}

static int reversed_pair(void *arg) {
    (void)arg;
    gort__export_lockrank_pair(true);
    return 0; /* not reached with the checker on */
}

TEST(out_of_order_is_fatal) {
    NEED_LOCKRANK();
    static char err[8192];
    int ws = gt_run_child(reversed_pair, NULL, err, sizeof err);
    ASSERT_TRUE(WIFEXITED(ws));
    ASSERT_EQ(WEXITSTATUS(ws), 2);
    ASSERT_NOT_NULL(strstr(err, "runtime: lock ordering problem: taking sched"));
    ASSERT_NOT_NULL(strstr(err, "\tallg"));
    ASSERT_NOT_NULL(strstr(err, "fatal error: lock ordering problem"));
}

static int unranked_lock(void *arg) {
    gort__export_lockrank_unranked(arg != NULL);
    return 0; /* not reached with the checker on */
}

/* A lock never given a rank (zeroed, without gort__lockinit) is a fatal
 * error at its first gort__lock or gort__trylock, not a lock the checker
 * skips. */
TEST(unranked_is_fatal) {
    NEED_LOCKRANK();
    static char err[8192];
    for (int try = 0; try < 2; try++) {
        int ws = gt_run_child(unranked_lock, (void *)(intptr_t)try, err, sizeof err);
        ASSERT_TRUE(WIFEXITED(ws));
        ASSERT_EQ(WEXITSTATUS(ws), 2);
        ASSERT_NOT_NULL(strstr(err, "runtime: lock ordering problem: lock 0x"));
        ASSERT_NOT_NULL(strstr(err, " has no rank\n"));
        ASSERT_NOT_NULL(strstr(err, "fatal error: lock ordering problem: lock without a rank"));
    }
}

GT_MAIN()
