/*
 * workloads.h - the list of gort-bench workloads (an X-macro table).
 *
 * One line per workload, in the order of the Go reference program's table
 * (../shared/reference/go/bench.go), so `-w all` and `-list` print them in
 * the same order.  Each line is
 *
 *     BENCH_WORKLOAD(name, procs, higher_better, single_rep)
 *
 *   name           the workload's name; its function is
 *                  `int wl_<name>(bench_result *res)` (defined in some
 *                  bench/wl_*.c), which runs one repetition, fills res[] and
 *                  returns how many results it filled (at most BENCH_MAX_RESULTS).
 *   procs          0: GOMAXPROCS = the default (all CPUs); 1: GOMAXPROCS(1).
 *   higher_better  the best repetition is the one whose first value is the
 *                  highest (rates, e.g. rt/s); else the lowest.
 *   single_rep     run once regardless of -reps.
 *
 * Adding a workload = one line here plus its wl_<name> function.  The
 * last two lines are workloads the reference does not have (defer, panic);
 * our own Go program, bench/go/main.go, times them in Go.
 *
 * This file is included several times on purpose (no include guard).
 */

BENCH_WORKLOAD(spawn_wait, 0, false, false)
BENCH_WORKLOAD(spawn_seq, 0, false, false)
BENCH_WORKLOAD(yield_p1, 1, false, false)
BENCH_WORKLOAD(pingpong_unbuf_p1, 1, false, false)
BENCH_WORKLOAD(pingpong_unbuf_pN, 0, false, false)
BENCH_WORKLOAD(chan_buf_spsc, 0, false, false)
BENCH_WORKLOAD(chan_mpmc, 0, false, false)
BENCH_WORKLOAD(select2, 0, false, false)
BENCH_WORKLOAD(mutex_uncontended, 0, false, false)
BENCH_WORKLOAD(mutex_contended, 0, false, false)
BENCH_WORKLOAD(rwmutex_read, 0, false, false)
BENCH_WORKLOAD(waitgroup_cycle, 0, false, false)
BENCH_WORKLOAD(timer_churn, 0, false, false)
BENCH_WORKLOAD(sleep_many, 0, false, false)
BENCH_WORKLOAD(ring, 0, false, false)
BENCH_WORKLOAD(sieve, 0, false, false)
BENCH_WORKLOAD(park_1m_rss, 0, false, true)
BENCH_WORKLOAD(tcp_echo, 0, true, false)
BENCH_WORKLOAD(spawn_args, 0, false, false)
BENCH_WORKLOAD(ctx_select, 0, false, false)
BENCH_WORKLOAD(binary_trees, 0, false, false)
BENCH_WORKLOAD(alloc_small, 0, false, false)
BENCH_WORKLOAD(gc_pause, 0, false, true)
BENCH_WORKLOAD(preempt_latency, 0, false, true)
/* Not in the reference: bench/go/main.go times these two in Go. */
BENCH_WORKLOAD(defer_call, 0, false, false)
BENCH_WORKLOAD(panic_recover, 0, false, false)
/* Not in the reference and gort's own (issue 12): preemption on vs off. */
BENCH_WORKLOAD(spin_overhead, 0, false, true)
