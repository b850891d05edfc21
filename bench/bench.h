/*
 * bench.h - shared declarations of gort-bench, the C port of the Go
 * reference benchmarks (../shared/reference/README.md, go/bench.go).
 *
 * gort-bench is one program: bench/main.c is the driver (command line,
 * repetitions, GOMAXPROCS, child processes, output); bench/wl_*.c hold the
 * workloads, registered in bench/workloads.h.  Every workload uses only the
 * public API (gort.h) and C11 <stdatomic.h> where Go uses sync/atomic.
 */
#ifndef GORT_BENCH_H
#define GORT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gort.h"

/* One output line: "BENCH <name> <value> <unit>". */
typedef struct bench_result {
    const char *name; /* static string */
    double value;
    const char *unit; /* "ns/op", "ms", "bytes/op", "rt/s", ... */
} bench_result;

#define BENCH_MAX_RESULTS 6

/*
 * Workload sizes.  Every number is part of the workload definition (the
 * constants at the top of go/bench.go, or of bench/go/main.go for the
 * workloads the reference does not have); a port must use the same numbers.
 * `-smoke` swaps in a tiny set (bench_smoke_sizes in main.c) so that
 * `gort-bench -smoke -w all` runs everything in a few seconds.
 */
typedef struct bench_sizes {
    int64_t spawn_wait_n; /* goroutines spawned by spawn_wait */
    int64_t spawn_seq_n;  /* spawn+wait iterations in spawn_seq */
    int64_t yield_n;      /* gort_yield calls per goroutine in yield_p1 (2 goroutines) */
    int64_t pingpong_n;   /* round trips in pingpong_unbuf_* */
    int64_t chan_buf_cap; /* capacity for chan_buf_spsc and chan_mpmc */
    int64_t spsc_n;       /* items in chan_buf_spsc */
    int64_t mpmc_n;       /* items in chan_mpmc (total, all producers) */
    int mpmc_producers;
    int mpmc_consumers;
    int64_t select2_cap;
    int64_t select2_n;    /* items received by the select2 consumer */
    int64_t mutex_unc_n;  /* lock/unlock pairs in mutex_uncontended */
    int64_t mutex_cont_n; /* lock/unlock pairs in mutex_contended (total) */
    int mutex_cont_g;
    int64_t rw_read_n; /* rlock/runlock pairs in rwmutex_read (total) */
    int rw_read_g;
    int64_t wg_cycle_n;       /* add/done/wait cycles in waitgroup_cycle */
    int64_t timer_churn_n;    /* timer new+stop pairs in timer_churn */
    int sleep_many_g;         /* goroutines in sleep_many */
    int sleep_many_iters;     /* sleeps per goroutine */
    int64_t sleep_many_dur;   /* ns per sleep */
    int ring_g;               /* goroutines (and channels) in the ring */
    int64_t ring_hops;        /* hops the token makes */
    int sieve_primes;         /* primes taken from the sieve */
    int64_t sieve_last_prime; /* the sieve_primes-th prime (checked) */
    int64_t park_g;           /* goroutines parked in park_1m_rss */
    int tcp_clients;
    int tcp_msg_size;
    int64_t tcp_duration; /* ns */
    /* Not in the reference: bench/go/main.go has the same constants. */
    int64_t defer_call_n;    /* gort_call+gort_defer calls in defer_call */
    int64_t panic_recover_n; /* panic+recover cycles in panic_recover */
    int64_t spawn_args_n;    /* goroutines spawned by spawn_args */
    int64_t ctx_select_n;    /* iterations of ctx_select */
    int64_t spin_iters;      /* LCG steps per goroutine per round of spin_overhead */
    int spin_rounds;         /* spin_overhead's rounds with preemption on (and as many off) */
    /* The collected heap (wl_heap.c). */
    int bintrees_max_depth;     /* binary_trees: n */
    int64_t alloc_small_n;      /* allocations in alloc_small */
    int64_t alloc_small_window; /* live objects in alloc_small's ring */
    int gc_pause_g;             /* goroutines (trees) in gc_pause */
    int64_t gc_pause_dur;       /* ns of mutation in gc_pause */
} bench_sizes;

/* The sizes in force (full, or smoke with -smoke).  Set before gort_main. */
extern const bench_sizes *bench_sz;

/* Declare every workload function listed in workloads.h. */
#define BENCH_WORKLOAD(name, procs, higher_better, single_rep) int wl_##name(bench_result *res);
#include "workloads.h"
#undef BENCH_WORKLOAD

/* CLOCK_MONOTONIC in nanoseconds (Go's time.Now/time.Since). */
int64_t bench_now(void);
/* el / n, as a double (Go's nsPer). */
double bench_ns_per(int64_t el, int64_t n);
/* el in milliseconds (Go's ms). */
double bench_ms(int64_t el);

/* Reports a failed check or a failed runtime call (Go's panic in bench.go):
 * prints "gort-bench: <message>" on stderr and exits with status 1. */
_Noreturn void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A workload that cannot run in this build calls bench_skip(reason) and
 * returns 0 results: the driver prints "# <name> skipped: <reason>" and no
 * BENCH line, so the comparison shows it as missing rather than a number. */
void bench_skip(const char *reason);

/* gort_go that fails the benchmark (bench_fail) instead of returning an error. */
void bench_go(void (*fn)(void *arg), void *arg);
/* gort_chan_make that fails the benchmark on NULL. */
gort_chan *bench_chan_make(size_t elem_size, size_t cap);

#endif /* GORT_BENCH_H */
