/*
 * wl_toolkit.c - issue 15's workloads: spawn_args (gort_go_copy of a 64-byte
 * argument block) and ctx_select (a context with a timeout per iteration).
 * Each mirrors the function of the same name in
 * ../shared/reference/go/bench.go; README.md there defines them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdatomic.h>

#include "bench.h"

/* ---------------------------------------------------------------- spawn_args */

/* The goroutine's argument, passed by value (Go: go func(a [8]int64)):
 * exactly the 64-byte block.  The WaitGroup and the total, which the Go
 * closure captures by reference, are shared statics here. */
typedef struct spawn_args_block {
    int64_t a[8];
} spawn_args_block;
_Static_assert(sizeof(spawn_args_block) == 64, "spawn_args: a 64-byte block");

static gort_waitgroup spawn_args_wg;
static _Atomic int64_t spawn_args_total;

static void spawn_args_body(void *arg) {
    const spawn_args_block *b = arg; /* the goroutine's own copy */
    int64_t s = 0;
    for (int k = 0; k < 8; k++)
        s += b->a[k];
    atomic_fetch_add_explicit(&spawn_args_total, s, memory_order_relaxed);
    gort_wg_done(&spawn_args_wg);
}

/* As spawn_wait, but each goroutine gets eight int64 (i .. i+7) by value,
 * copied into the goroutine by gort_go_copy, and adds their sum to a shared
 * atomic total; the total is checked. */
int wl_spawn_args(bench_result *res) {
    const int64_t n = bench_sz->spawn_args_n;
    atomic_store(&spawn_args_total, 0);
    int64_t start = bench_now();
    gort_wg_add(&spawn_args_wg, n);
    for (int64_t i = 0; i < n; i++) {
        spawn_args_block b;
        for (int k = 0; k < 8; k++)
            b.a[k] = i + k;
        int err = gort_go_copy(spawn_args_body, &b, sizeof b);
        if (err != 0)
            bench_fail("spawn_args: gort_go_copy: %d", err);
    }
    gort_wg_wait(&spawn_args_wg);
    int64_t el = bench_now() - start;
    int64_t want = 8 * (n * (n - 1) / 2) + 28 * n;
    if (atomic_load(&spawn_args_total) != want)
        bench_fail("spawn_args: total %lld, want %lld", (long long)atomic_load(&spawn_args_total),
                   (long long)want);
    res[0] = (bench_result){"spawn_args", bench_ns_per(el, n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- ctx_select */

/* In one goroutine, ctx_select_n times: a context with a 1-hour timeout
 * from the background; select between its done channel and a send of i on
 * a buffered channel of capacity 1 (always ready); receive i back; cancel
 * the context (its timer is released).  gort_ctx_free is Go's cancel(): it
 * cancels, and it also gives back the memory Go's collector would. */
int wl_ctx_select(bench_result *res) {
    const int64_t n = bench_sz->ctx_select_n;
    gort_ctx *parent = gort_ctx_background();
    gort_chan *c = bench_chan_make(sizeof(int64_t), 1);
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++) {
        gort_ctx *ctx = gort_ctx_with_timeout(parent, 3600 * INT64_C(1000000000));
        if (ctx == NULL)
            bench_fail("ctx_select: out of memory");
        gort_select_case cs[2] = {{gort_ctx_done(ctx), GORT_RECV, NULL, false},
                                  {c, GORT_SEND, &i, false}};
        if (gort_select(cs, 2, true) != 1)
            bench_fail("ctx_select: context done");
        int64_t v = -1;
        gort_chan_recv(c, &v);
        if (v != i)
            bench_fail("ctx_select: wrong value");
        gort_ctx_free(ctx);
    }
    int64_t el = bench_now() - start;
    gort_chan_free(c);
    res[0] = (bench_result){"ctx_select", bench_ns_per(el, n), "ns/op"};
    return 1;
}
