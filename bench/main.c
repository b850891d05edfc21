/*
 * main.c - gort-bench's driver: the command line, repetitions, GOMAXPROCS,
 * one child process per workload for `-w all`, and the output lines.
 *
 * Mirrors ../shared/reference/go/bench.go (its "driver" section) flag by
 * flag, so the two programs can be run and compared the same way:
 *
 *   gort-bench -w all              every workload, each in a fresh child
 *                                  process (/proc/self/exe -child -w NAME)
 *   gort-bench -w NAME             one workload, in this process
 *   gort-bench -w a,b -reps 5      several, in this process, 5 repetitions
 *   gort-bench -list               names of all workloads
 *   gort-bench -smoke -w all       tiny sizes, 1 repetition (CTest smoke run)
 *
 * Output: "# gomaxprocs=N gort=VERSION" (not with -child), then one line
 * "BENCH <name> <value> <unit>" per result of the best repetition (lowest
 * first value, or highest for higher_better workloads).  Values below 100
 * are printed with two decimals, others with one (Go's fmtVal).
 *
 * Each process runs gort_main once: the workloads of `-w a,b` run one after
 * the other inside the same gort_main, as the Go program runs them in one
 * process.  A GOMAXPROCS-1 workload sets gort_gomaxprocs(1) and restores the
 * previous value afterwards, as runOne does.  There is no runtime.GC() to
 * call before a repetition.
 *
 * Profiling overhead (scripts/bench_profile.sh): with GORT_BENCH_CPUPROFILE=
 * FILE a CPU profile, with GORT_BENCH_TRACE=FILE an execution trace, is
 * recorded over the workloads of the process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* ---------------------------------------------------------------- sizes */

/* The reference sizes: the constants of go/bench.go (and of bench/go/main.go
 * for defer_call and panic_recover). */
static const bench_sizes bench_full_sizes = {
    .spawn_wait_n = 1000000,
    .spawn_seq_n = 3000000,
    .yield_n = 10000000,
    .pingpong_n = 4000000,
    .chan_buf_cap = 1024,
    .spsc_n = 20000000,
    .mpmc_n = 20000000,
    .mpmc_producers = 4,
    .mpmc_consumers = 4,
    .select2_cap = 128,
    .select2_n = 20000000,
    .mutex_unc_n = 200000000,
    .mutex_cont_n = 50000000,
    .mutex_cont_g = 4,
    .rw_read_n = 100000000,
    .rw_read_g = 4,
    .wg_cycle_n = 100000000,
    .timer_churn_n = 5000000,
    .sleep_many_g = 10000,
    .sleep_many_iters = 50,
    .sleep_many_dur = 1000000,
    .ring_g = 10000,
    .ring_hops = 1000000,
    .sieve_primes = 3000,
    .sieve_last_prime = 27449,
    .park_g = 1000000,
    .tcp_clients = 100,
    .tcp_msg_size = 64,
    .tcp_duration = 2000000000,
    .defer_call_n = 20000000,
    .panic_recover_n = 1000000,
    .spawn_args_n = 1000000,
    .ctx_select_n = 1000000,
    .spin_iters = 1L << 27,
    .spin_rounds = 5,
    .bintrees_max_depth = 18,
    .alloc_small_n = 20000000,
    .alloc_small_window = 100000,
    .gc_pause_g = 10000,
    .gc_pause_dur = 10000000000,
};

/* -smoke: about N/1000 (same shapes, same checks), so that every workload
 * runs in milliseconds, also under sanitizers.  The goroutine counts of the
 * fan-out workloads stay as they are (4 producers/consumers/workers). */
static const bench_sizes bench_smoke_sizes = {
    .spawn_wait_n = 1000,
    .spawn_seq_n = 3000,
    .yield_n = 10000,
    .pingpong_n = 4000,
    .chan_buf_cap = 1024,
    .spsc_n = 20000,
    .mpmc_n = 20000,
    .mpmc_producers = 4,
    .mpmc_consumers = 4,
    .select2_cap = 128,
    .select2_n = 20000,
    .mutex_unc_n = 200000,
    .mutex_cont_n = 50000,
    .mutex_cont_g = 4,
    .rw_read_n = 100000,
    .rw_read_g = 4,
    .wg_cycle_n = 100000,
    .timer_churn_n = 5000,
    .sleep_many_g = 100,
    .sleep_many_iters = 5,
    .sleep_many_dur = 1000000,
    .ring_g = 100,
    .ring_hops = 1000,
    .sieve_primes = 100,
    .sieve_last_prime = 541, /* the 100th prime */
    .park_g = 10000,
    .tcp_clients = 4,
    .tcp_msg_size = 64,
    .tcp_duration = 100000000,
    .defer_call_n = 20000,
    .panic_recover_n = 1000,
    .spawn_args_n = 1000,
    .ctx_select_n = 1000,
    .spin_iters = 1L << 16,
    .spin_rounds = 1,
    .bintrees_max_depth = 10,
    .alloc_small_n = 20000,
    .alloc_small_window = 1000,
    .gc_pause_g = 20,
    .gc_pause_dur = 100000000,
};

const bench_sizes *bench_sz = &bench_full_sizes;

/* ---------------------------------------------------------------- helpers */

int64_t bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double bench_ns_per(int64_t el, int64_t n) {
    return (double)el / (double)n;
}

double bench_ms(int64_t el) {
    return (double)el / 1e6;
}

_Noreturn void bench_fail(const char *fmt, ...) {
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fputs("gort-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    _exit(1);
}

void bench_go(void (*fn)(void *arg), void *arg) {
    int rc = gort_go(fn, arg);
    if (rc != 0)
        bench_fail("gort_go: %s (%d)", strerror(-rc), rc);
}

gort_chan *bench_chan_make(size_t elem_size, size_t cap) {
    gort_chan *c = gort_chan_make(elem_size, cap);
    if (c == NULL)
        bench_fail("gort_chan_make(%zu, %zu) returned NULL", elem_size, cap);
    return c;
}

/* ---------------------------------------------------------------- registry */

typedef struct workload {
    const char *name;
    int procs;          /* 0: GOMAXPROCS = default (all CPUs); 1: GOMAXPROCS(1) */
    bool higher_better; /* best repetition = highest first value (else lowest) */
    bool single_rep;    /* run once regardless of -reps */
    int (*run)(bench_result *res);
} workload;

static const workload workloads[] = {
#define BENCH_WORKLOAD(name, procs, higher_better, single_rep) \
    {#name, procs, higher_better, single_rep, wl_##name},
#include "workloads.h"
#undef BENCH_WORKLOAD
};

#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

static const workload *find(const char *name) {
    for (size_t i = 0; i < NWORKLOADS; i++)
        if (strcmp(workloads[i].name, name) == 0)
            return &workloads[i];
    return NULL;
}

/* Go's fmtVal: %.2f below 100, else %.1f. */
static void print_result(const bench_result *r) {
    if (r->value < 100)
        printf("BENCH %s %.2f %s\n", r->name, r->value, r->unit);
    else
        printf("BENCH %s %.1f %s\n", r->name, r->value, r->unit);
}

/* ---------------------------------------------------------------- driver */

static int default_procs; /* gort_gomaxprocs(0) when gort_main started */

static const char *skip_reason; /* set by bench_skip during a run */

void bench_skip(const char *reason) {
    skip_reason = reason;
}

/* Go's runOne: set GOMAXPROCS, run the repetitions, print the best. */
static void run_one(const workload *w, int reps) {
    int procs = w->procs == 1 ? 1 : default_procs;
    int old = gort_gomaxprocs(procs);
    if (w->single_rep)
        reps = 1;
    bench_result best[BENCH_MAX_RESULTS], res[BENCH_MAX_RESULTS];
    int nbest = 0;
    for (int r = 0; r < reps; r++) {
        skip_reason = NULL;
        int n = w->run(res);
        if (n == 0 && skip_reason != NULL) {
            printf("# %s skipped: %s\n", w->name, skip_reason);
            break;
        }
        if (n < 1 || n > BENCH_MAX_RESULTS)
            bench_fail("%s: returned %d results", w->name, n);
        if (nbest == 0 || (w->higher_better && res[0].value > best[0].value) ||
            (!w->higher_better && res[0].value < best[0].value)) {
            memcpy(best, res, sizeof(bench_result) * (size_t)n);
            nbest = n;
        }
    }
    for (int i = 0; i < nbest; i++)
        print_result(&best[i]);
    fflush(stdout);
    gort_gomaxprocs(old);
}

typedef struct driver_args {
    const workload **list;
    size_t n;
    int reps;
    bool header;
} driver_args;

static void print_header(void) {
    printf("# gomaxprocs=%d gort=%s\n", default_procs, gort_version());
    fflush(stdout);
}

/* The main goroutine of a run in this process. */
static int driver_main(void *arg) {
    driver_args *a = arg;
    default_procs = gort_gomaxprocs(0);
    if (a->header)
        print_header();
    const char *cpu = getenv("GORT_BENCH_CPUPROFILE"), *trace = getenv("GORT_BENCH_TRACE");
    int cfd = -1, tfd = -1;
    if (cpu != NULL && *cpu != '\0') {
        cfd = open(cpu, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (cfd < 0 || gort_pprof_start_cpu(cfd) != 0)
            bench_fail("GORT_BENCH_CPUPROFILE=%s: cannot profile", cpu);
    }
    if (trace != NULL && *trace != '\0') {
        tfd = open(trace, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (tfd < 0 || gort_trace_start(tfd) != 0)
            bench_fail("GORT_BENCH_TRACE=%s: cannot trace", trace);
    }
    for (size_t i = 0; i < a->n; i++)
        run_one(a->list[i], a->reps);
    if (tfd >= 0) {
        gort_trace_stop();
        close(tfd);
    }
    if (cfd >= 0) {
        gort_pprof_stop_cpu();
        close(cfd);
    }
    return 0;
}

/* The main goroutine of the `-w all` parent: only the header line (it needs
 * the runtime's default GOMAXPROCS). */
static int header_main(void *arg) {
    (void)arg;
    default_procs = gort_gomaxprocs(0);
    print_header();
    return 0;
}

static void run_gort_main(int (*fn)(void *), void *arg) {
    int rc = gort_main(fn, arg);
    if (rc != 0) {
        fflush(stdout);
        fprintf(stderr, "gort-bench: gort_main: %s (%d)\n", rc < 0 ? strerror(-rc) : "failed", rc);
        exit(1);
    }
}

/* `-w all`: every workload in a fresh child process, as bench.go does with
 * exec.Command(self, "-child", "-reps", N, "-w", name). */
static int run_all_children(const char *argv0, int reps, bool smoke) {
    char reps_s[32];
    snprintf(reps_s, sizeof reps_s, "%d", reps);
    for (size_t i = 0; i < NWORKLOADS; i++) {
        const char *name = workloads[i].name;
        char *cargv[10];
        int k = 0;
        cargv[k++] = (char *)argv0;
        cargv[k++] = "-child";
        cargv[k++] = "-reps";
        cargv[k++] = reps_s;
        if (smoke)
            cargv[k++] = "-smoke";
        cargv[k++] = "-w";
        cargv[k++] = (char *)name;
        cargv[k] = NULL;
        fflush(stdout);
        fflush(stderr);
        pid_t pid;
        int rc = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, cargv, environ);
        if (rc != 0) {
            fprintf(stderr, "workload %s failed: %s\n", name, strerror(rc));
            return 1;
        }
        int st;
        while (waitpid(pid, &st, 0) < 0) {
            if (errno != EINTR) {
                fprintf(stderr, "workload %s failed: waitpid: %s\n", name, strerror(errno));
                return 1;
            }
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        if (WIFEXITED(st))
            fprintf(stderr, "workload %s failed: exit status %d\n", name, WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            fprintf(stderr, "workload %s failed: signal: %s\n", name, strsignal(WTERMSIG(st)));
        else
            fprintf(stderr, "workload %s failed: status %#x\n", name, st);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- flags */

static const char *prog_name = "gort-bench";

static void usage(FILE *f) {
    fprintf(f,
            "Usage of %s:\n"
            "  -child\n"
            "    \tinternal: no header line\n"
            "  -list\n"
            "    \tlist workload names\n"
            "  -reps int\n"
            "    \trepetitions per workload (best is printed) (default 3)\n"
            "  -smoke\n"
            "    \ttiny sizes and 1 repetition (smoke test; results still checked)\n"
            "  -w string\n"
            "    \tworkload name, comma-separated names, or all (default \"all\")\n",
            prog_name);
}

static _Noreturn void flag_error(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    usage(stderr);
    exit(2);
}

/* Parses a Go flag.Bool value given as -name=value. */
static bool parse_bool(const char *name, const char *v) {
    if (!strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "T") || !strcmp(v, "true") ||
        !strcmp(v, "TRUE") || !strcmp(v, "True"))
        return true;
    if (!strcmp(v, "0") || !strcmp(v, "f") || !strcmp(v, "F") || !strcmp(v, "false") ||
        !strcmp(v, "FALSE") || !strcmp(v, "False"))
        return false;
    flag_error("invalid boolean value \"%s\" for -%s: parse error", v, name);
}

int main(int argc, char **argv) {
    const char *wflag = "all";
    int reps = 3;
    bool reps_set = false, child = false, list = false, smoke = false;

    if (argc > 0 && argv[0] != NULL)
        prog_name = argv[0];

    /* Go's flag package syntax: -flag, --flag, -flag=value, -flag value;
     * parsing stops at "--" or at the first non-flag argument. */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        if (!strcmp(arg, "--"))
            break;
        const char *name = arg + 1;
        if (name[0] == '-')
            name++;
        char nbuf[64];
        const char *eq = strchr(name, '=');
        const char *val = NULL;
        if (eq != NULL) {
            size_t len = (size_t)(eq - name);
            if (len >= sizeof nbuf)
                len = sizeof nbuf - 1;
            memcpy(nbuf, name, len);
            nbuf[len] = '\0';
            name = nbuf;
            val = eq + 1;
        }
        if (!strcmp(name, "h") || !strcmp(name, "help")) {
            usage(stderr);
            exit(0);
        } else if (!strcmp(name, "child")) {
            child = val ? parse_bool(name, val) : true;
        } else if (!strcmp(name, "list")) {
            list = val ? parse_bool(name, val) : true;
        } else if (!strcmp(name, "smoke")) {
            smoke = val ? parse_bool(name, val) : true;
        } else if (!strcmp(name, "w") || !strcmp(name, "reps")) {
            if (val == NULL) {
                if (i + 1 >= argc)
                    flag_error("flag needs an argument: -%s%s", name, "");
                val = argv[++i];
            }
            if (!strcmp(name, "w")) {
                wflag = val;
            } else {
                char *end;
                errno = 0;
                long v = strtol(val, &end, 0);
                if (errno != 0 || end == val || *end != '\0' || v < -2147483647L || v > 2147483647L)
                    flag_error("invalid value \"%s\" for flag -reps: %s", val, "parse error");
                reps = (int)v;
                reps_set = true;
            }
        } else {
            flag_error("flag provided but not defined: -%s%s", name, "");
        }
    }

    if (list) {
        for (size_t i = 0; i < NWORKLOADS; i++)
            puts(workloads[i].name);
        return 0;
    }
    if (smoke) {
        bench_sz = &bench_smoke_sizes;
        if (!reps_set)
            reps = 1;
    }

    if (!strcmp(wflag, "all")) {
        if (!child)
            run_gort_main(header_main, NULL);
        return run_all_children(prog_name, reps, smoke);
    }

    /* Several names: run them one after the other in this process.  Names
     * are checked before anything runs (Go checks each when it reaches it). */
    size_t cap = 1;
    for (const char *p = wflag; *p; p++)
        cap += *p == ',';
    const workload **sel = calloc(cap, sizeof *sel);
    char *copy = strdup(wflag);
    if (sel == NULL || copy == NULL) {
        fprintf(stderr, "gort-bench: out of memory\n");
        return 1;
    }
    size_t n = 0;
    char *save = copy;
    for (;;) {
        char *comma = strchr(save, ',');
        if (comma != NULL)
            *comma = '\0';
        char *s = save, *e = save + strlen(save);
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
            *--e = '\0';
        const workload *w = find(s);
        if (w == NULL) {
            fprintf(stderr, "unknown workload \"%s\" (use -list)\n", save);
            return 2;
        }
        sel[n++] = w;
        if (comma == NULL)
            break;
        save = comma + 1;
    }

    driver_args a = {.list = sel, .n = n, .reps = reps, .header = !child};
    run_gort_main(driver_main, &a);
    free(sel);
    free(copy);
    return 0;
}
