/*
 * mfixalloc_test.c - the runtime's own memory (src/mfixalloc.c) and the
 * rule it serves: libc's malloc and free are never called with a runtime
 * lock held (fault.h), which debug builds check, so that the whole suite
 * run in the dev preset is the audit of every path it reaches.
 */
#include "gt.h"

#include <string.h>
#include <sys/wait.h>

#include "export_test.h"

TEST(blocks_zeroed_kept_and_reused) {
    ASSERT_EQ(gort__export_fixalloc_check(), 0);
}

static int free_twice(void *arg) {
    (void)arg;
    gort__export_fixfree_twice();
    return 0; /* not reached */
}

TEST(double_free_is_fatal) {
    static char err[8192];
    int ws = gt_run_child(free_twice, NULL, err, sizeof err);
    ASSERT_TRUE(WIFEXITED(ws));
    ASSERT_EQ(WEXITSTATUS(ws), 2);
    ASSERT_NOT_NULL(strstr(err, "fatal error: runtime: fixfree of a freed block"));
}

static int malloc_under_lock(void *arg) {
    gort__export_malloc_under_lock(arg != NULL);
    return 0; /* not reached with the check on */
}

TEST(libc_malloc_under_a_runtime_lock_is_fatal) {
    if (!gort__export_malloc_check_enabled())
        GT_SKIP("built with GORT_DEBUG=0 (debug builds check malloc under runtime locks)");
    static char err[8192];
    for (int free_only = 0; free_only < 2; free_only++) {
        int ws = gt_run_child(malloc_under_lock, free_only ? err : NULL, err, sizeof err);
        ASSERT_TRUE(WIFEXITED(ws));
        ASSERT_EQ(WEXITSTATUS(ws), 2);
        ASSERT_NOT_NULL(strstr(err, "fatal error: malloc or free with a runtime lock held"));
    }
}

GT_MAIN()
