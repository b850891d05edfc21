/*
 * wl_heap.c - the collected heap's workloads: binary_trees, alloc_small,
 * gc_pause.  Each mirrors the function of the same name in
 * ../shared/reference/go/bench.go; README.md there defines them.  Every
 * object comes from gort_new and none is freed by hand.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* The binary-trees node: two pointers, 16 bytes. */
typedef struct node {
    struct node *left, *right;
} node;

static node *bottom_up(int d) {
    node *n = gort_new(sizeof *n);
    if (d > 0) {
        n->left = bottom_up(d - 1);
        n->right = bottom_up(d - 1);
    }
    return n;
}

static int64_t check(const node *n) {
    if (n->left == NULL)
        return 1;
    return 1 + check(n->left) + check(n->right);
}

/* ---------------------------------------------------------------- binary_trees */

enum { BT_MIN_DEPTH = 4 };

typedef struct bt_state {
    int max_depth;
    int64_t sums[16];
    gort_waitgroup wg;
} bt_state;

typedef struct bt_arg {
    bt_state *st;
    int i;
} bt_arg;

static void bt_worker(void *p) {
    bt_arg *a = p;
    int d = BT_MIN_DEPTH + 2 * a->i;
    int64_t iters = (int64_t)1 << (a->st->max_depth - d + BT_MIN_DEPTH);
    int64_t s = 0;
    for (int64_t k = 0; k < iters; k++)
        s += check(bottom_up(d));
    a->st->sums[a->i] = s;
    gort_wg_done(&a->st->wg);
}

/* Stretch tree of depth n+1, long-lived tree of depth n, then one goroutine
 * per depth d = 4, 6, ..., n building 2^(n - d + 4) trees of depth d. */
int wl_binary_trees(bench_result *res) {
    bt_state st = {.max_depth = bench_sz->bintrees_max_depth};
    int maxd = st.max_depth;
    int64_t want = ((int64_t)1 << (maxd + 2)) - 1 + ((int64_t)1 << (maxd + 1)) - 1;
    for (int d = BT_MIN_DEPTH; d <= maxd; d += 2)
        want += ((int64_t)1 << (maxd - d + BT_MIN_DEPTH)) * (((int64_t)1 << (d + 1)) - 1);
    int nd = (maxd - BT_MIN_DEPTH) / 2 + 1;
    bt_arg args[16];
    int64_t start = bench_now();
    int64_t total = check(bottom_up(maxd + 1));
    node *long_lived = bottom_up(maxd);
    gort_wg_add(&st.wg, nd);
    for (int i = 0; i < nd; i++) {
        args[i] = (bt_arg){&st, i};
        bench_go(bt_worker, &args[i]);
    }
    gort_wg_wait(&st.wg);
    for (int i = 0; i < nd; i++)
        total += st.sums[i];
    total += check(long_lived);
    int64_t el = bench_now() - start;
    if (total != want)
        bench_fail("binary_trees: checksum %lld, want %lld", (long long)total, (long long)want);
    res[0] = (bench_result){"binary_trees", bench_ms(el), "ms"};
    return 1;
}

/* ---------------------------------------------------------------- alloc_small */

/* The ring is a global (scanned): its slots keep the window alive. */
static void *alloc_ring[100000];

int wl_alloc_small(bench_result *res) {
    const int64_t n = bench_sz->alloc_small_n;
    const int64_t w = bench_sz->alloc_small_window;
    if (w > (int64_t)(sizeof alloc_ring / sizeof alloc_ring[0]))
        bench_fail("alloc_small: window %lld too big", (long long)w);
    int64_t start = bench_now();
    for (int64_t i = 0; i < n; i++)
        alloc_ring[i % w] = gort_new((size_t)(i % 8 + 1) * 16);
    int64_t el = bench_now() - start;
    memset(alloc_ring, 0, sizeof alloc_ring);
    /* The same work with glibc malloc and free (calloc: zeroed, as
     * gort_new's), for comparison; not in the reference. */
    int64_t mstart = bench_now();
    for (int64_t i = 0; i < n; i++) {
        free(alloc_ring[i % w]);
        alloc_ring[i % w] = calloc(1, (size_t)(i % 8 + 1) * 16);
        if (alloc_ring[i % w] == NULL)
            bench_fail("alloc_small: calloc failed");
    }
    int64_t mel = bench_now() - mstart;
    for (int64_t i = 0; i < w; i++)
        free(alloc_ring[i]);
    memset(alloc_ring, 0, sizeof alloc_ring);
    res[0] = (bench_result){"alloc_small", bench_ns_per(el, n), "ns/op"};
    res[1] = (bench_result){"alloc_small_glibc", bench_ns_per(mel, n), "ns/op"};
    return 2;
}

/* ---------------------------------------------------------------- gc_pause */

enum { GCP_DEPTH = 11, GCP_SUB = 7 };

typedef struct gcp_state {
    gort_waitgroup ready, done;
    gort_chan *start; /* closed to start the mutation */
    _Atomic int32_t stop;
    _Atomic int32_t damaged;
} gcp_state;

typedef struct gcp_arg {
    gcp_state *st;
    uint64_t seed;
} gcp_arg;

static void gcp_worker(void *p) {
    gcp_arg *a = p;
    gcp_state *st = a->st;
    node *root = bottom_up(GCP_DEPTH);
    uint64_t rng = a->seed * 0x9e3779b97f4a7c15ull + 1;
    gort_wg_done(&st->ready);
    gort_chan_recv(st->start, NULL);
    while (atomic_load_explicit(&st->stop, memory_order_relaxed) == 0) {
        node *n = root;
        for (int l = 0; l < GCP_DEPTH - GCP_SUB - 1; l++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            n = (rng >> 32) & 1 ? n->right : n->left;
        }
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if ((rng >> 32) & 1)
            n->right = bottom_up(GCP_SUB);
        else
            n->left = bottom_up(GCP_SUB);
        gort_yield();
    }
    if (check(root) != ((int64_t)1 << (GCP_DEPTH + 1)) - 1)
        atomic_store(&st->damaged, 1);
    gort_wg_done(&st->done);
}

static int64_t vm_hwm(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        bench_fail("gc_pause: /proc/self/status");
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            break;
    fclose(f);
    if (kb < 0)
        bench_fail("gc_pause: no VmHWM");
    return kb * 1024;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int wl_gc_pause(bench_result *res) {
    const int g = bench_sz->gc_pause_g;
    gcp_state *st = calloc(1, sizeof *st);
    gcp_arg *args = calloc((size_t)g, sizeof *args);
    if (st == NULL || args == NULL)
        bench_fail("gc_pause: out of memory");
    st->start = bench_chan_make(0, 0);
    gort_wg_add(&st->ready, g);
    gort_wg_add(&st->done, g);
    for (int i = 0; i < g; i++) {
        args[i] = (gcp_arg){st, (uint64_t)i + 1};
        bench_go(gcp_worker, &args[i]);
    }
    gort_wg_wait(&st->ready);
    static gort_stats before, after;
    gort_read_stats(&before);
    gort_chan_close(st->start);
    gort_sleep(bench_sz->gc_pause_dur);
    gort_read_stats(&after);
    atomic_store(&st->stop, 1);
    gort_wg_wait(&st->done);
    if (atomic_load(&st->damaged))
        bench_fail("gc_pause: tree damaged");
    static double pauses[256];
    int np = 0;
    for (uint64_t c = before.num_gc + 1; c <= after.num_gc; c++) {
        if (after.num_gc - c >= 256)
            continue;
        pauses[np++] = (double)after.pause_ns[(c + 255) % 256] / 1e3;
    }
    qsort(pauses, (size_t)np, sizeof pauses[0], cmp_double);
    double r[3] = {0, 0, 0};
    const double q[3] = {0.50, 0.99, 1.0};
    for (int k = 0; k < 3 && np > 0; k++) {
        int i = (int)(q[k] * np + 0.999999) - 1;
        r[k] = pauses[i < 0 ? 0 : i];
    }
    double live = (double)g * (double)((1 << (GCP_DEPTH + 1)) - 1) * 16;
    res[0] = (bench_result){"gc_pause_p50", r[0], "us"};
    res[1] = (bench_result){"gc_pause_p99", r[1], "us"};
    res[2] = (bench_result){"gc_pause_max", r[2], "us"};
    res[3] = (bench_result){"gc_pause_cycles", (double)np, "count"};
    res[4] = (bench_result){"heap_overhead", (double)vm_hwm() / live, "ratio"};
    gort_chan_free(st->start);
    free(args);
    free(st);
    return 5;
}
