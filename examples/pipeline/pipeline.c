/* pipeline: the sum of the squares of 1..n through a generator, a fan-out
 * of workers and a fan-in, cancelled by a timeout or by the first error
 * (a worker refuses the number -fail).  Mirrors pipeline.go.txt; -smoke
 * (CTest) runs it small and checks the sum. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"

GORT_CHAN_DECLARE(i64chan, int64_t);

static int64_t n = 100000, fail, timeout_ms = 10000, refused;
static int workers = 8;
static gort_ctx *ctx;
static i64chan nums, squares;
static gort_waitgroup wg;

static int send_or_done(i64chan c, int64_t v) {
    gort_select_case cs[] = {i64chan_send_case(c, &v), {gort_ctx_done(ctx), GORT_RECV, NULL, 0}};
    return gort_select(cs, 2, true) == 0 ? 0 : gort_ctx_err(ctx);
}

static int generate(void *arg) {
    (void)arg;
    int err = 0;
    for (int64_t i = 1; i <= n && err == 0; i++)
        err = send_or_done(nums, i);
    i64chan_close(nums);
    return err;
}

static int square(void *arg) {
    (void)arg;
    int err = 0;
    GORT_CHAN_RANGE(i64chan, nums, x) {
        if (x == fail) {
            refused = x;
            err = -EDOM;
        }
        if (err != 0 || (err = send_or_done(squares, x * x)) != 0)
            break;
    }
    gort_wg_done(&wg);
    return err;
}

static void closer(void *arg) {
    (void)arg;
    gort_wg_wait(&wg);
    i64chan_close(squares);
}

static int run(void *arg) {
    gort_ctx *top = gort_ctx_with_timeout(gort_ctx_background(), timeout_ms * 1000000);
    gort_errgroup *g = gort_errgroup_with_context(top, &ctx);
    nums = i64chan_make(0), squares = i64chan_make(0);
    gort_errgroup_go(g, generate, NULL);
    for (int w = 0; w < workers; w++) {
        gort_wg_add(&wg, 1);
        gort_errgroup_go(g, square, NULL);
    }
    gort_go(closer, NULL);

    int64_t sum = 0;
    GORT_CHAN_RANGE(i64chan, squares, s)
        sum += s;
    int err = gort_errgroup_wait(g);
    gort_errgroup_free(g), gort_ctx_free(top), i64chan_free(nums), i64chan_free(squares);
    if (err == -EDOM)
        fprintf(stderr, "pipeline: refused %lld\n", (long long)refused);
    else if (err != 0)
        fprintf(stderr, "pipeline: %s\n", strerror(-err));
    if (err != 0)
        return 1;
    printf("sum of squares: %lld\n", (long long)sum);
    return *(bool *)arg && sum != n * (n + 1) * (2 * n + 1) / 6; /* -smoke: check it */
}

int main(int argc, char **argv) {
    bool smoke = false;
    for (int i = 1; i < argc; i++) {
        char *v = i + 1 < argc ? argv[i + 1] : "0";
        if (strcmp(argv[i], "-smoke") == 0)
            smoke = true, n = 1000;
        else if (strcmp(argv[i], "-n") == 0)
            n = atoll(v), i++;
        else if (strcmp(argv[i], "-workers") == 0)
            workers = atoi(v), i++;
        else if (strcmp(argv[i], "-fail") == 0)
            fail = atoll(v), i++;
        else if (strcmp(argv[i], "-timeout") == 0)
            timeout_ms = atoll(v), i++;
    }
    return gort_main(run, &smoke);
}
