/*
 * panic_test.c - defer, panic, recover and Goexit (issue 5, item 1).
 *
 * Most cases record what ran into a trace string (tr("x")) and compare it
 * with the order Go would produce.  The exact text of unrecovered panics is
 * checked by forking a child that panics and reading its stderr; the
 * crash tests in tests/crash/panic_*.c check the same through crashdrv.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static char trace[1024];

static void tr(const char *s) {
    size_t n = strlen(trace);
    snprintf(trace + n, sizeof trace - n, "%s%s", n ? " " : "", s);
}

/* A deferred call that appends its argument (a string) to the trace. */
static void d_tr(void *arg) {
    tr(arg);
}

static int run_main(void *arg) {
    ((void (*)(void))(uintptr_t)arg)();
    return 0;
}

/* Runs body as the main goroutine. */
static void run(void (*body)(void)) {
    trace[0] = '\0';
    ASSERT_EQ(gort_main(run_main, (void *)(uintptr_t)body), 0);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* In a goroutine: yields until *v >= n (bounded). */
static void wait_for(atomic_int *v, int n) {
    int64_t deadline = now_ns() + (int64_t)10 * 1000000000 * gt_scale();
    while (atomic_load(v) < n) {
        ASSERT_LT(now_ns(), deadline);
        gort_yield();
    }
}

/* What gort_recover returned in the recovering deferred calls. */
static const char *recovered_msg;
static char recovered_copy[512];

/* The canonical recovering deferred call. */
static void d_recover(void *arg) {
    const char *m = gort_recover();
    recovered_msg = m;
    snprintf(recovered_copy, sizeof recovered_copy, "%s", m ? m : "(null)");
    tr(arg ? arg : "rec");
}

/* ------------------------------------------------------------------------
 * Order
 * ------------------------------------------------------------------------ */

static void f_three_defers(void *arg) {
    (void)arg;
    gort_defer(d_tr, "1");
    gort_defer(d_tr, "2");
    gort_defer(d_tr, "3");
    tr("body");
}

static void b_lifo(void) {
    ASSERT_EQ(gort_call(f_three_defers, NULL), 0);
    tr("after");
    ASSERT_STREQ(trace, "body 3 2 1 after");
}

TEST(defer_lifo) {
    run(b_lifo);
}

static void f_inner(void *arg) {
    (void)arg;
    gort_defer(d_tr, "inner-d1");
    gort_defer(d_tr, "inner-d2");
    tr("inner");
}

static void f_outer(void *arg) {
    (void)arg;
    gort_defer(d_tr, "outer-d1");
    ASSERT_EQ(gort_call(f_inner, NULL), 0);
    tr("between");
    gort_defer(d_tr, "outer-d2");
    ASSERT_EQ(gort_call(f_inner, NULL), 0);
    tr("outer-end");
}

static void b_nested(void) {
    ASSERT_EQ(gort_call(f_outer, NULL), 0);
    ASSERT_STREQ(trace, "inner inner-d2 inner-d1 between inner inner-d2 inner-d1 outer-end "
                        "outer-d2 outer-d1");
}

TEST(nested_frames) {
    run(b_nested);
}

/* A gort_defer made inside a deferred call runs when that call ends,
 * before the next deferred call of the frame. */
static void d_defers_more(void *arg) {
    (void)arg;
    tr("d2");
    gort_defer(d_tr, "d2-inner-a");
    gort_defer(d_tr, "d2-inner-b");
}

static void f_defer_in_defer(void *arg) {
    (void)arg;
    gort_defer(d_tr, "d1");
    gort_defer(d_defers_more, NULL);
    gort_defer(d_tr, "d3");
}

static void b_defer_in_defer(void) {
    ASSERT_EQ(gort_call(f_defer_in_defer, NULL), 0);
    ASSERT_STREQ(trace, "d3 d2 d2-inner-b d2-inner-a d1");
}

TEST(defer_inside_deferred_call) {
    run(b_defer_in_defer);
}

/* Goroutine-level defers (outside any gort_call) run when the goroutine's
 * function returns, for other goroutines and for main. */
static atomic_int g_done;
static char gtrace[256];

static void d_gtrace(void *arg) {
    size_t n = strlen(gtrace);
    snprintf(gtrace + n, sizeof gtrace - n, "%s%s", n ? " " : "", (const char *)arg);
}

static void d_done(void *arg) {
    (void)arg;
    atomic_store(&g_done, 1);
}

static void g_with_defers(void *arg) {
    (void)arg;
    gort_defer(d_done, NULL); /* runs last */
    gort_defer(d_gtrace, "a");
    gort_defer(d_gtrace, "b");
    d_gtrace("body");
}

static int main_with_defers(void *arg) {
    (void)arg;
    gort_defer(d_tr, "main-d1");
    gort_defer(d_tr, "main-d2");
    ASSERT_EQ(gort_go(g_with_defers, NULL), 0);
    wait_for(&g_done, 1);
    ASSERT_STREQ(gtrace, "body b a");
    tr("main-end");
    return 7;
}

TEST(defers_at_goroutine_end) {
    trace[0] = '\0';
    ASSERT_EQ(gort_main(main_with_defers, NULL), 7);
    ASSERT_STREQ(trace, "main-end main-d2 main-d1");
    ASSERT_STREQ(gtrace, "body b a");
}

/* ------------------------------------------------------------------------
 * Recover
 * ------------------------------------------------------------------------ */

static void f_panic_recovered(void *arg) {
    (void)arg;
    gort_defer(d_tr, "d1");
    gort_defer(d_recover, NULL);
    gort_defer(d_tr, "d3");
    gort_panic("boom");
    tr("not-reached");
}

static void b_recover_msg(void) {
    ASSERT_EQ(gort_call(f_panic_recovered, NULL), 1);
    tr("after");
    ASSERT_STREQ(recovered_copy, "boom");
    /* d3 runs first (panic), d_recover stops the panic, d1 runs as the
     * frame ends normally, gort_call returns 1. */
    ASSERT_STREQ(trace, "d3 rec d1 after");
}

TEST(recover_returns_message) {
    run(b_recover_msg);
}

static const char *rec_plain;
static const char *rec_deferred_normal = "unset";

static void d_recover_no_panic(void *arg) {
    (void)arg;
    rec_deferred_normal = gort_recover();
}

static void f_no_panic(void *arg) {
    (void)arg;
    gort_defer(d_recover_no_panic, NULL);
    rec_plain = gort_recover();
}

static void b_not_panicking(void) {
    ASSERT_NULL(gort_recover());
    ASSERT_EQ(gort_call(f_no_panic, NULL), 0);
    ASSERT_NULL(rec_plain);
    ASSERT_NULL(rec_deferred_normal);
}

TEST(recover_null_when_not_panicking) {
    run(b_not_panicking);
}

/* recover must be called directly by the deferred function. */
static const char *helper_got = "unset";

static NOINLINE const char *helper_recover(void) {
    const char *m = gort_recover();
    __asm__ volatile(""); /* not a tail call */
    return m;
}

static void d_recover_via_helper(void *arg) {
    (void)arg;
    helper_got = helper_recover();
    tr("helper");
}

static void f_helper(void *arg) {
    (void)arg;
    gort_defer(d_recover_via_helper, NULL);
    gort_panic("through helper");
}

static void f_outer_recovers(void *arg) {
    gort_defer(d_recover, "outer-rec");
    ASSERT_EQ(gort_call((void (*)(void *))arg, NULL), 99); /* never returns */
}

static void b_helper(void) {
    ASSERT_EQ(gort_call(f_outer_recovers, (void *)f_helper), 1);
    ASSERT_NULL(helper_got);
    ASSERT_STREQ(recovered_copy, "through helper");
    ASSERT_STREQ(trace, "helper outer-rec");
}

TEST(recover_only_direct) {
    run(b_helper);
}

/* A function called through gort_call by the deferred function, and a
 * function deferred by the deferred function, are not the deferred call
 * the panic runs: recover gives NULL in both. */
static const char *nested_call_got = "unset";
static const char *nested_defer_got = "unset";

static void f_calls_recover(void *arg) {
    (void)arg;
    nested_call_got = gort_recover();
}

static void d_recover_nested_defer(void *arg) {
    (void)arg;
    nested_defer_got = gort_recover();
}

static void d_indirect(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_call(f_calls_recover, NULL), 0);
    gort_defer(d_recover_nested_defer, NULL);
    tr("indirect");
}

static void f_indirect(void *arg) {
    (void)arg;
    gort_defer(d_indirect, NULL);
    gort_panic("indirect");
}

static void b_indirect(void) {
    ASSERT_EQ(gort_call(f_outer_recovers, (void *)f_indirect), 1);
    ASSERT_NULL(nested_call_got);
    ASSERT_NULL(nested_defer_got);
    ASSERT_STREQ(recovered_copy, "indirect");
}

TEST(recover_null_in_nested_call_or_defer) {
    run(b_indirect);
}

/* gort_recover deferred directly does not recover (Go: defer recover()). */
static void f_defer_recover_itself(void *arg) {
    (void)arg;
    gort_defer((void (*)(void *))(void (*)(void))gort_recover, NULL);
    gort_panic("defer recover");
}

static void b_defer_recover_itself(void) {
    ASSERT_EQ(gort_call(f_outer_recovers, (void *)f_defer_recover_itself), 1);
    ASSERT_STREQ(recovered_copy, "defer recover");
}

TEST(defer_recover_itself_does_not_recover) {
    run(b_defer_recover_itself);
}

/* A deferred function whose last statement is gort_recover() (compiled
 * as a tail call with optimisation). */
static void d_tail_recover(void *arg) {
    (void)arg;
    gort_recover();
}

static void f_tail(void *arg) {
    (void)arg;
    gort_defer(d_tail_recover, NULL);
    gort_panic("tail");
}

static void b_tail(void) {
    ASSERT_EQ(gort_call(f_tail, NULL), 1);
}

TEST(recover_as_tail_call) {
    run(b_tail);
}

/* Only the first recover of a panic gets the message. */
static const char *second_got = "unset";

static void d_recover_twice(void *arg) {
    (void)arg;
    const char *a = gort_recover();
    second_got = gort_recover();
    ASSERT_NOT_NULL(a);
    ASSERT_STREQ(a, "twice");
}

static void f_twice(void *arg) {
    (void)arg;
    gort_defer(d_recover_twice, NULL);
    gort_panic("twice");
}

static void b_twice(void) {
    ASSERT_EQ(gort_call(f_twice, NULL), 1);
    ASSERT_NULL(second_got);
}

TEST(recover_only_once) {
    run(b_twice);
}

/* The message is a copy (the caller's buffer may change) and stays valid
 * until the recovering deferred function returns. */
static void d_recover_check_copy(void *arg) {
    char *buf = arg;
    memset(buf, 'x', 15);
    const char *m = gort_recover();
    ASSERT_NOT_NULL(m);
    for (int i = 0; i < 100; i++)
        free(malloc(64)); /* reuse of freed blocks would show */
    ASSERT_STREQ(m, "original text");
}

static void f_copy(void *arg) {
    (void)arg;
    char buf[32];
    snprintf(buf, sizeof buf, "original text");
    gort_defer(d_recover_check_copy, buf);
    gort_panic(buf);
}

static void b_copy(void) {
    ASSERT_EQ(gort_call(f_copy, NULL), 1);
}

TEST(message_copied_and_valid) {
    run(b_copy);
}

/* Deferred calls run before anything is unwound: a pointer to a local of
 * the deferring frame (and of frames below it) is valid inside them. */
static void d_bump(void *arg) {
    int *p = arg;
    ASSERT_EQ(*p, 41);
    *p = 42;
}

static void d_check_and_recover(void *arg) {
    int *p = arg;
    ASSERT_EQ(*p, 42);
    ASSERT_STREQ(gort_recover(), "locals");
    *p = 43;
}

static NOINLINE void deep_panic(int *local_of_caller, int depth) {
    int mine = 41;
    if (depth > 0) {
        deep_panic(local_of_caller, depth - 1);
        __asm__ volatile("" ::"r"(&mine) : "memory"); /* not a tail call */
        return;
    }
    gort_defer(d_bump, &mine); /* mine lives in this C frame */
    gort_defer(d_check_and_recover, local_of_caller);
    *local_of_caller = 41;
    gort_defer(d_bump, local_of_caller);
    /* Through a volatile pointer: GCC would otherwise see an infinite
     * recursion (every path either recurses or never returns). */
    void (*volatile panic_fn)(const char *) = gort_panic;
    panic_fn("locals");
}

static int frame_local;

static void f_locals(void *arg) {
    (void)arg;
    int local = 0;
    deep_panic(&local, 5);
    frame_local = local;
}

static void f_locals_outer(void *arg) {
    (void)arg;
    int x = 0;
    ASSERT_EQ(gort_call(f_locals, NULL), 1);
    ASSERT_EQ(x, 0);
}

static void b_locals(void) {
    gort_call(f_locals_outer, NULL);
}

TEST(locals_valid_in_deferred_calls) {
    run(b_locals);
}

/* gort_panicf formats; long messages are kept whole. */
static void f_panicf(void *arg) {
    (void)arg;
    gort_defer(d_recover, NULL);
    gort_panicf("bad value %d of %s", 42, "x");
}

static char longmsg[2000];

static void f_panicf_long(void *arg) {
    (void)arg;
    gort_defer(d_recover, NULL);
    gort_panicf("%s|%d", longmsg, 7);
}

static char recovered_long[2100];

static void d_recover_long(void *arg) {
    (void)arg;
    const char *m = gort_recover();
    ASSERT_NOT_NULL(m);
    snprintf(recovered_long, sizeof recovered_long, "%s", m);
}

static void f_panicf_long2(void *arg) {
    (void)arg;
    gort_defer(d_recover_long, NULL);
    gort_panicf("%s|%d", longmsg, 7);
}

static void b_panicf(void) {
    ASSERT_EQ(gort_call(f_panicf, NULL), 1);
    ASSERT_STREQ(recovered_copy, "bad value 42 of x");
    memset(longmsg, 'L', sizeof longmsg - 1);
    ASSERT_EQ(gort_call(f_panicf_long2, NULL), 1);
    ASSERT_EQ(strlen(recovered_long), sizeof longmsg - 1 + 2);
    ASSERT_EQ(recovered_long[sizeof longmsg - 1], '|');
    (void)f_panicf_long;
}

TEST(panicf_formats) {
    run(b_panicf);
}

/* ------------------------------------------------------------------------
 * Nested panics
 * ------------------------------------------------------------------------ */

/* A deferred call that panics replaces the panic: recover sees the newer. */
static void d_panic_second(void *arg) {
    (void)arg;
    tr("d-panics");
    gort_panic("second");
}

static void f_panic_in_deferred(void *arg) {
    (void)arg;
    gort_defer(d_tr, "d1");
    gort_defer(d_panic_second, NULL);
    gort_defer(d_tr, "d3");
    gort_panic("first");
}

static void b_panic_in_deferred(void) {
    ASSERT_EQ(gort_call(f_outer_recovers, (void *)f_panic_in_deferred), 1);
    ASSERT_STREQ(recovered_copy, "second");
    ASSERT_STREQ(trace, "d3 d-panics d1 outer-rec");
}

TEST(panic_in_deferred_call) {
    run(b_panic_in_deferred);
}

/* Recover, then panic again from the same deferred call. */
static void d_repanic(void *arg) {
    (void)arg;
    const char *m = gort_recover();
    ASSERT_NOT_NULL(m);
    gort_panicf("again: %s", m);
}

static void f_repanic(void *arg) {
    (void)arg;
    gort_defer(d_repanic, NULL);
    gort_panic("first");
}

static void b_repanic(void) {
    ASSERT_EQ(gort_call(f_outer_recovers, (void *)f_repanic), 1);
    ASSERT_STREQ(recovered_copy, "again: first");
}

TEST(repanic_recovered_outside) {
    run(b_repanic);
}

/* While panic p1 runs deferred call D, D runs a frame that panics p2 and
 * recovers it; D goes on, and p1 is still there to be recovered. */
static void f_inner_panic_recovered(void *arg) {
    (void)arg;
    gort_defer(d_recover, "inner-rec");
    gort_panic("p2");
}

static void d_runs_inner_panic(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_call(f_inner_panic_recovered, NULL), 1);
    ASSERT_STREQ(recovered_copy, "p2");
    tr("D-continues");
}

static void f_p1(void *arg) {
    (void)arg;
    gort_defer(d_recover, "outer-rec");
    gort_defer(d_runs_inner_panic, NULL);
    gort_panic("p1");
}

static void b_inner_recovered(void) {
    ASSERT_EQ(gort_call(f_p1, NULL), 1);
    ASSERT_STREQ(recovered_copy, "p1");
    ASSERT_STREQ(trace, "inner-rec D-continues outer-rec");
}

TEST(panic_recovered_inside_deferred_call) {
    run(b_inner_recovered);
}

/* A deferred call D defers E, then panics; E recovers: D counts as having
 * returned normally, and the panic that was running D goes on. */
static void d_panics_after_defer(void *arg) {
    (void)arg;
    gort_defer(d_recover, "E");
    gort_panic("p2");
}

static void f_p1_b(void *arg) {
    (void)arg;
    gort_defer(d_recover, "outer-rec");
    gort_defer(d_panics_after_defer, NULL);
    gort_panic("p1");
}

static void b_recover_into_deferred(void) {
    ASSERT_EQ(gort_call(f_p1_b, NULL), 1);
    ASSERT_STREQ(trace, "E outer-rec");
    ASSERT_STREQ(recovered_copy, "p1");
}

TEST(recover_into_deferred_call_frame) {
    run(b_recover_into_deferred);
}

/* At a frame's normal end (no panic running), deferred call D defers E
 * and panics; E recovers.  D counts as having returned: the frame's other
 * deferred calls run after it and gort_call returns 0 (Go: the function
 * returns normally).  Twice in one frame, the second time in a gort_call
 * nested inside a deferred call, and the caller's locals intact after. */
static void d_panics_recovers(void *arg) {
    gort_defer(d_recover, arg);
    gort_panic("p");
}

static void f_normal_end_recovered(void *arg) {
    (void)arg;
    gort_defer(d_tr, "x1");
    gort_defer(d_panics_recovers, "E1");
    gort_defer(d_tr, "x2");
    gort_defer(d_panics_recovers, "E2");
    tr("body");
}

static void d_nested_call(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_call(f_normal_end_recovered, NULL), 0);
    tr("nested-done");
}

static void f_outer_normal_end(void *arg) {
    (void)arg;
    gort_defer(d_tr, "outer-x");
    gort_defer(d_nested_call, NULL);
    tr("outer-body");
}

static void b_recover_at_normal_end(void) {
    volatile int before = 42;
    ASSERT_EQ(gort_call(f_normal_end_recovered, NULL), 0);
    ASSERT_STREQ(recovered_copy, "p");
    ASSERT_STREQ(trace, "body E2 x2 E1 x1");
    trace[0] = '\0';
    ASSERT_EQ(gort_call(f_outer_normal_end, NULL), 0);
    ASSERT_STREQ(trace, "outer-body body E2 x2 E1 x1 nested-done outer-x");
    ASSERT_EQ(before, 42);
}

TEST(recover_into_deferred_call_at_normal_end) {
    run(b_recover_at_normal_end);
}

/* At a frame's normal end, deferred call D panics and nothing inside D
 * recovers; R, deferred earlier in the same frame, does: the frame ends
 * (gort_call returns 1, as for a panic of its function), R's later
 * siblings are not run twice. */
static void d_panics(void *arg) {
    (void)arg;
    tr("D");
    gort_panic("q");
}

static void f_normal_end_frame_recovers(void *arg) {
    (void)arg;
    gort_defer(d_tr, "x0");
    gort_defer(d_recover, "R");
    gort_defer(d_tr, "x1");
    gort_defer(d_panics, NULL);
    tr("body");
}

static void b_frame_recovers_at_normal_end(void) {
    ASSERT_EQ(gort_call(f_normal_end_frame_recovers, NULL), 1);
    ASSERT_STREQ(recovered_copy, "q");
    ASSERT_STREQ(trace, "body D x1 R x0");
}

TEST(deferred_call_panics_at_normal_end) {
    run(b_frame_recovers_at_normal_end);
}

/* The runtime's own panics are recoverable. */
static void f_send_closed(void *arg) {
    gort_chan *c = arg;
    gort_defer(d_recover, NULL);
    int v = 1;
    gort_chan_send(c, &v);
}

static void f_close_nil(void *arg) {
    (void)arg;
    gort_defer(d_recover, NULL);
    gort_chan_close(NULL);
}

static void b_runtime_panics(void) {
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    ASSERT_NOT_NULL(c);
    gort_chan_close(c);
    ASSERT_EQ(gort_call(f_send_closed, c), 1);
    ASSERT_STREQ(recovered_copy, "send on closed channel");
    ASSERT_EQ(gort_call(f_close_nil, NULL), 1);
    ASSERT_STREQ(recovered_copy, "close of nil channel");
    gort_chan_free(c);
}

TEST(runtime_panics_recoverable) {
    run(b_runtime_panics);
}

/* gort_call(NULL) and a NULL deferred function panic like Go's nil func. */
static void f_call_nil(void *arg) {
    (void)arg;
    gort_defer(d_recover, NULL);
    gort_call(NULL, NULL);
}

static void f_defer_nil(void *arg) {
    (void)arg;
    gort_defer(d_recover, NULL);
    gort_defer(NULL, NULL);
}

static void b_nil(void) {
    ASSERT_EQ(gort_call(f_call_nil, NULL), 1);
    ASSERT_STREQ(recovered_copy,
                 "runtime error: invalid memory address or nil pointer dereference");
    recovered_copy[0] = '\0';
    ASSERT_EQ(gort_call(f_defer_nil, NULL), 1);
    ASSERT_STREQ(recovered_copy,
                 "runtime error: invalid memory address or nil pointer dereference");
}

TEST(nil_function_panics) {
    run(b_nil);
}

/* Many panics in a row: no state leaks from one to the next. */
static void f_count(void *arg) {
    int *n = arg;
    gort_defer(d_recover, NULL);
    if (++*n % 2)
        gort_panic("odd");
}

static void b_many(void) {
    int n = 0, recovered = 0;
    for (int i = 0; i < 10000; i++)
        recovered += gort_call(f_count, &n);
    ASSERT_EQ(recovered, 5000);
}

TEST(many_panics) {
    run(b_many);
}

/* ------------------------------------------------------------------------
 * Goexit and the goroutine's top level
 * ------------------------------------------------------------------------ */

static const char *goexit_rec = "unset";

static void d_recover_in_goexit(void *arg) {
    (void)arg;
    goexit_rec = gort_recover();
    d_gtrace(arg ? arg : "rec");
}

static void f_goexit_inner(void *arg) {
    (void)arg;
    gort_defer(d_gtrace, "inner-d");
    gort_defer(d_recover_in_goexit, NULL);
    gort_goexit();
}

static void f_goexit_outer(void *arg) {
    (void)arg;
    gort_defer(d_gtrace, "outer-d");
    gort_call(f_goexit_inner, NULL);
    d_gtrace("not-reached");
}

static void g_goexit(void *arg) {
    (void)arg;
    gort_defer(d_done, NULL);
    gort_defer(d_gtrace, "top-d");
    gort_call(f_goexit_outer, NULL);
    d_gtrace("not-reached-either");
}

static void b_goexit(void) {
    ASSERT_EQ(gort_go(g_goexit, NULL), 0);
    wait_for(&g_done, 1);
    ASSERT_STREQ(gtrace, "rec inner-d outer-d top-d");
    ASSERT_NULL(goexit_rec);
}

TEST(goexit_runs_defers_and_ends) {
    run(b_goexit);
}

/* A deferred call run by a panic calls Goexit: the other deferred calls
 * run (recover gives NULL in them), the goroutine ends, nothing crashes. */
static void d_goexit(void *arg) {
    (void)arg;
    d_gtrace("goexit");
    gort_goexit();
}

static void f_goexit_in_panic(void *arg) {
    (void)arg;
    gort_defer(d_gtrace, "d1");
    gort_defer(d_recover_in_goexit, NULL);
    gort_defer(d_goexit, NULL);
    gort_panic("abandoned");
}

static void g_goexit_in_panic(void *arg) {
    (void)arg;
    gort_defer(d_done, NULL);
    gort_defer(d_gtrace, "top-d");
    gort_call(f_goexit_in_panic, NULL);
    d_gtrace("not-reached");
}

static void b_goexit_in_panic(void) {
    ASSERT_EQ(gort_go(g_goexit_in_panic, NULL), 0);
    wait_for(&g_done, 1);
    ASSERT_STREQ(gtrace, "goexit rec d1 top-d");
    ASSERT_NULL(goexit_rec);
}

TEST(goexit_during_panic) {
    run(b_goexit_in_panic);
}

/* At a frame's normal end, a deferred call calls Goexit: the frame's
 * other deferred calls and the goroutine's run, and it ends. */
static void f_goexit_at_normal_end(void *arg) {
    (void)arg;
    gort_defer(d_gtrace, "d1");
    gort_defer(d_goexit, NULL);
    d_gtrace("body");
}

static void g_goexit_at_normal_end(void *arg) {
    (void)arg;
    gort_defer(d_done, NULL);
    gort_defer(d_gtrace, "top-d");
    gort_call(f_goexit_at_normal_end, NULL);
    d_gtrace("not-reached");
}

static void b_goexit_at_normal_end(void) {
    atomic_store(&g_done, 0);
    gtrace[0] = '\0';
    ASSERT_EQ(gort_go(g_goexit_at_normal_end, NULL), 0);
    wait_for(&g_done, 1);
    ASSERT_STREQ(gtrace, "body goexit d1 top-d");
}

TEST(goexit_at_normal_end) {
    run(b_goexit_at_normal_end);
}

/* A deferred call run by Goexit panics and a call deferred further out
 * recovers: the recovery must not resume that frame (it would skip the
 * Goexit); the Goexit goes on and the goroutine still ends (Go's
 * "bypassed recovery"). */
static void d_panic_in_goexit(void *arg) {
    (void)arg;
    d_gtrace("panics");
    gort_panic("in goexit");
}

static void f_panic_in_goexit(void *arg) {
    (void)arg;
    gort_defer(d_recover, "rec");
    gort_defer(d_panic_in_goexit, NULL);
    gort_goexit();
}

static void g_panic_in_goexit(void *arg) {
    (void)arg;
    gort_defer(d_done, NULL);
    gort_defer(d_gtrace, "top-d");
    gort_call(f_panic_in_goexit, NULL);
    d_gtrace("not-reached");
}

static void b_panic_in_goexit(void) {
    ASSERT_EQ(gort_go(g_panic_in_goexit, NULL), 0);
    wait_for(&g_done, 1);
    ASSERT_STREQ(gtrace, "panics top-d");
    ASSERT_STREQ(recovered_copy, "in goexit");
    ASSERT_STREQ(trace, "rec");
}

TEST(panic_during_goexit_recovered) {
    run(b_panic_in_goexit);
}

/* A call deferred at a goroutine's top level recovers: the goroutine's
 * function counts as returned; its other top-level deferred calls run. */
static void g_top_recover(void *arg) {
    (void)arg;
    gort_defer(d_done, NULL);
    gort_defer(d_gtrace, "top-d1");
    gort_defer(d_recover, "top-rec");
    gort_defer(d_gtrace, "top-d3");
    gort_panic("top");
}

static void b_top_recover(void) {
    ASSERT_EQ(gort_go(g_top_recover, NULL), 0);
    wait_for(&g_done, 1);
    ASSERT_STREQ(gtrace, "top-d3 top-d1");
    ASSERT_STREQ(trace, "top-rec");
    ASSERT_STREQ(recovered_copy, "top");
}

TEST(recover_at_goroutine_top_level) {
    run(b_top_recover);
}

/* The same in the main goroutine: gort_main returns 0 (Go: main returned
 * normally). */
static int main_top_recover(void *arg) {
    (void)arg;
    gort_defer(d_tr, "main-d1");
    gort_defer(d_recover, "main-rec");
    gort_panic("main top");
}

TEST(recover_at_main_top_level) {
    trace[0] = '\0';
    ASSERT_EQ(gort_main(main_top_recover, NULL), 0);
    ASSERT_STREQ(trace, "main-rec main-d1");
    ASSERT_STREQ(recovered_copy, "main top");
}

/* ------------------------------------------------------------------------
 * Threads outside the runtime
 * ------------------------------------------------------------------------ */

static void foreign_body(void) {
    ASSERT_EQ(gort_goid(), 0);
    ASSERT_NULL(gort_recover());
    ASSERT_EQ(gort_call(f_three_defers, NULL), 0);
    ASSERT_STREQ(trace, "body 3 2 1");
    trace[0] = '\0';
    ASSERT_EQ(gort_call(f_panic_recovered, NULL), 1);
    ASSERT_STREQ(trace, "d3 rec d1");
    ASSERT_STREQ(recovered_copy, "boom");
    trace[0] = '\0';
    ASSERT_EQ(gort_call(f_p1, NULL), 1);
    ASSERT_STREQ(trace, "inner-rec D-continues outer-rec");
}

static void *foreign_thread(void *arg) {
    (void)arg;
    foreign_body();
    return NULL;
}

static int main_spawns_thread(void *arg) {
    (void)arg;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_thread, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0); /* blocks this M briefly: fine */
    return 0;
}

TEST(foreign_thread_while_running) {
    trace[0] = '\0';
    ASSERT_EQ(gort_main(main_spawns_thread, NULL), 0);
}

TEST(foreign_thread_no_runtime) {
    trace[0] = '\0';
    foreign_body(); /* this thread, before any gort_main */
    trace[0] = '\0';
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, foreign_thread, NULL), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
}

/* ------------------------------------------------------------------------
 * Unrecovered panics: the exact text, from a child process
 * ------------------------------------------------------------------------ */

/* Runs body as the main goroutine of a forked child with stderr captured;
 * returns the child's stderr (static) and its exit status in *status. */
static char child_err[8192];
static int (*child_main)(void *);
static const char *child_env;

static int child_body(void *arg) {
    (void)arg;
    if (child_env)
        putenv((char *)child_env);
    gort_main(child_main, NULL);
    return 0;
}

static const char *run_child(int (*main_fn)(void *), const char *env, int *status) {
    child_main = main_fn;
    child_env = env;
    int ws = gt_run_child(child_body, NULL, child_err, sizeof child_err);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return child_err;
}

static void expect_prefix(const char *got, const char *want) {
    if (strncmp(got, want, strlen(want)) != 0) {
        fprintf(stderr, "stderr was:\n%s\n--- wanted a prefix:\n%s\n", got, want);
        ASSERT_TRUE(false);
    }
}

static int main_simple(void *arg) {
    (void)arg;
    gort_defer(d_tr, "x");
    gort_panic("boom");
}

TEST(output_unrecovered) {
    int st;
    const char *e = run_child(main_simple, NULL, &st);
    ASSERT_EQ(st, 2);
    expect_prefix(e, "panic: boom\n\ngoroutine 1 [running]:\n");
}

TEST(output_traceback_none) {
    int st;
    const char *e = run_child(main_simple, "GORTRACEBACK=none", &st);
    ASSERT_EQ(st, 2);
    ASSERT_STREQ(e, "panic: boom\n");
}

static int main_nested(void *arg) {
    (void)arg;
    gort_call(f_panic_in_deferred, NULL);
    return 0;
}

TEST(output_nested_panic) {
    int st;
    const char *e = run_child(main_nested, NULL, &st);
    ASSERT_EQ(st, 2);
    expect_prefix(e, "panic: first\n\tpanic: second\n\ngoroutine 1 [running]:\n");
}

static int main_repanic(void *arg) {
    (void)arg;
    gort_call(f_repanic, NULL);
    return 0;
}

TEST(output_repanic) {
    int st;
    const char *e = run_child(main_repanic, NULL, &st);
    ASSERT_EQ(st, 2);
    expect_prefix(e, "panic: first [recovered]\n\tpanic: again: first\n\ngoroutine 1 [running]:\n");
}

static void f_goexit_then_panic(void *arg) {
    (void)arg;
    gort_defer(d_panic_in_goexit, NULL);
    gort_goexit();
}

static int main_goexit_then_panic(void *arg) {
    (void)arg;
    gort_call(f_goexit_then_panic, NULL);
    return 0;
}

TEST(output_panic_during_goexit) {
    int st;
    const char *e = run_child(main_goexit_then_panic, NULL, &st);
    ASSERT_EQ(st, 2);
    /* The Goexit is not shown, and so no tab either. */
    expect_prefix(e, "panic: in goexit\n\ngoroutine 1 [running]:\n");
}

static void d_panic_third(void *arg) {
    (void)arg;
    gort_panic("third");
}

static void f_three_panics(void *arg) {
    (void)arg;
    gort_defer(d_panic_third, NULL);
    gort_defer(d_panic_second, NULL);
    gort_panic("first");
}

static int main_three(void *arg) {
    (void)arg;
    gort_call(f_three_panics, NULL);
    return 0;
}

TEST(output_three_panics) {
    int st;
    const char *e = run_child(main_three, NULL, &st);
    ASSERT_EQ(st, 2);
    expect_prefix(e, "panic: first\n\tpanic: second\n\tpanic: third\n\ngoroutine 1 [running]:\n");
}

GT_MAIN()
