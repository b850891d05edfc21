/*
 * pipeline_test.c - end-to-end runs of examples/pipeline (issue 15): the
 * full sum, the first error cancelling the pipeline, and the timeout.
 */
#include "gt.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* Runs the example with args; returns its exit status, output in out. */
static int run_pipeline(const char *args, char *out, size_t len) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", E2E_SERVER, args);
    FILE *f = popen(cmd, "r");
    ASSERT_TRUE(f != NULL);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    ASSERT_TRUE(WIFEXITED(st));
    return WEXITSTATUS(st);
}

TEST(sum) {
    char out[256];
    ASSERT_EQ(run_pipeline("-n 100000 -workers 8", out, sizeof out), 0);
    ASSERT_STREQ(out, "sum of squares: 333338333350000\n");
    ASSERT_EQ(run_pipeline("-n 5000 -workers 1", out, sizeof out), 0);
    ASSERT_STREQ(out, "sum of squares: 41679167500\n");
}

TEST(first_error_cancels) {
    char out[256];
    ASSERT_EQ(run_pipeline("-n 100000 -fail 500", out, sizeof out), 1);
    ASSERT_STREQ(out, "pipeline: refused 500\n");
}

TEST(timeout) {
    char out[256];
    ASSERT_EQ(run_pipeline("-n 100000000 -timeout 0", out, sizeof out), 1);
    ASSERT_STREQ(out, "pipeline: Connection timed out\n");
    ASSERT_EQ(run_pipeline("-n 100000000 -timeout 20", out, sizeof out), 1);
    ASSERT_STREQ(out, "pipeline: Connection timed out\n");
}

GT_MAIN()
