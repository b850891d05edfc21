/*
 * ASan: goroutines that end through gort_goexit (deep in their frames) or
 * through a recovered panic leave their frames' redzones poisoned; the
 * goroutines that reuse their stacks must not see a false
 * stack-buffer-overflow.  Exits 0 and prints "asan_goexit: ok".
 */
#include <gort.h>
#include <stdio.h>
#include <string.h>

static gort_waitgroup wg;

__attribute__((noinline)) static void deep_goexit(int depth) {
    volatile char buf[200]; /* redzones around it */
    memset((char *)buf, depth, sizeof buf);
    if (depth == 0) {
        gort_wg_done(&wg);
        gort_goexit();
    }
    deep_goexit(depth - 1);
    buf[0]++;
}

static void exiter(void *arg) {
    (void)arg;
    deep_goexit(8);
}

__attribute__((noinline)) static void deep_panic(int depth) {
    volatile char buf[200];
    memset((char *)buf, depth, sizeof buf);
    if (depth == 0)
        gort_panic("deep");
    deep_panic(depth - 1);
    buf[0]++;
}

static void recover_it(void *arg) {
    (void)arg;
    (void)gort_recover();
}

static void panicker(void *arg) {
    (void)arg;
    gort_defer(recover_it, NULL);
    deep_panic(8);
}

static void panicker_top(void *arg) {
    gort_call(panicker, arg);
    gort_wg_done(&wg);
}

/* Touches the whole region the dead goroutines' frames used. */
__attribute__((noinline)) static void user(void *arg) {
    (void)arg;
    volatile char big[8192];
    memset((char *)big, 1, sizeof big);
    gort_wg_done(&wg);
}

static int main_fn(void *arg) {
    (void)arg;
    for (int round = 0; round < 20; round++) {
        gort_wg_add(&wg, 2);
        gort_go(round % 2 ? exiter : panicker_top, NULL);
        gort_go(round % 2 ? panicker_top : exiter, NULL);
        gort_wg_wait(&wg);
        gort_wg_add(&wg, 4);
        for (int i = 0; i < 4; i++)
            gort_go(user, NULL);
        gort_wg_wait(&wg);
    }
    printf("asan_goexit: ok\n");
    return 0;
}

int main(void) {
    return gort_main(main_fn, NULL);
}
