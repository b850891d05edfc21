/*
 * tour_prof.c - the tour's section on profiles and the execution tracer.
 *
 *     void tour_profiles(int smoke);
 *
 * Writes a CPU profile (runtime/pprof's format) of two labelled goroutines
 * and an execution trace (runtime/trace's) of a ping-pong with a task and
 * regions, and prints the commands that open them: `go tool pprof` and
 * `go tool trace` read them as they read a Go program's.  smoke != 0 uses
 * small sizes and removes the files afterwards.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void tour_profiles(int smoke);

static int64_t prof_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile uint64_t prof_sink;

/* Two functions to find in the profile: hashing and sorting. */
__attribute__((noinline)) static void tour_hash(int64_t ns) {
    int64_t end = prof_cpu_ns() + ns;
    uint64_t h = 1469598103934665603ull;
    while (prof_cpu_ns() < end)
        for (int i = 0; i < 4096; i++)
            h = (h ^ (uint64_t)i) * 1099511628211ull;
    prof_sink = h;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

__attribute__((noinline)) static void tour_sort(int64_t ns) {
    static uint32_t v[4096];
    int64_t end = prof_cpu_ns() + ns;
    uint32_t x = 7;
    while (prof_cpu_ns() < end) {
        for (int i = 0; i < 4096; i++)
            v[i] = x = x * 1664525u + 1013904223u;
        qsort(v, 4096, sizeof v[0], cmp_u32);
    }
}

struct prof_job {
    const char *label;
    void (*work)(int64_t ns);
    int64_t ns;
    gort_waitgroup *wg;
};

static void prof_worker(void *arg) {
    struct prof_job *j = arg;
    gort_set_label("job", j->label); /* pprof.Do: -tagfocus=job=hash */
    j->work(j->ns);
    gort_wg_done(j->wg);
}

struct pong_args {
    gort_chan *in, *out;
    gort_waitgroup *done;
};

static void pong(void *arg) {
    struct pong_args *a = arg;
    int v;
    while (gort_chan_recv(a->in, &v))
        gort_chan_send(a->out, &v);
    gort_wg_done(a->done);
}

static int tmpfile_named(char *path, size_t n, const char *name) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, n, "%s/gort-tour-%d-%s", dir, (int)getpid(), name);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

void tour_profiles(int smoke) {
    char cpu[256], tr[256];
    int fd = tmpfile_named(cpu, sizeof cpu, "cpu.pb.gz");
    if (fd < 0 || gort_pprof_start_cpu(fd) != 0) {
        printf("  (cannot write a CPU profile here)\n");
        if (fd >= 0)
            close(fd);
        return;
    }
    int64_t ns = smoke ? 20000000 : 300000000;
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    struct prof_job jobs[2] = {{"hash", tour_hash, 2 * ns, &wg}, {"sort", tour_sort, ns, &wg}};
    gort_wg_add(&wg, 2);
    for (int i = 0; i < 2; i++)
        gort_go(prof_worker, &jobs[i]);
    gort_wg_wait(&wg);
    gort_pprof_stop_cpu();
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    printf("  CPU profile of two labelled goroutines (hash does twice sort's work):\n"
           "    %s (%lld bytes)\n    open it with:  go tool pprof -top %s\n"
           "    one job only:  go tool pprof -top -tagfocus=job=hash %s\n",
           cpu, (long long)size, cpu, cpu);

    fd = tmpfile_named(tr, sizeof tr, "trace.out");
    if (fd < 0 || gort_trace_start(fd) != 0) {
        printf("  (cannot write a trace here)\n");
        if (fd >= 0)
            close(fd);
        return;
    }
    uint64_t task = gort_trace_task_new(0, "pingpong");
    gort_trace_region_start(task, "exchange");
    gort_chan *c[2] = {gort_chan_make(sizeof(int), 0), gort_chan_make(sizeof(int), 0)};
    gort_waitgroup pong_done = GORT_WAITGROUP_INIT;
    struct pong_args pa = {c[0], c[1], &pong_done};
    gort_wg_add(&pong_done, 1);
    gort_go(pong, &pa);
    int n = smoke ? 100 : 10000;
    for (int i = 0; i < n; i++) {
        gort_chan_send(c[0], &i);
        gort_chan_recv(c[1], NULL);
    }
    gort_chan_close(c[0]);
    gort_trace_region_end(task, "exchange");
    gort_trace_log(task, "round trips", smoke ? "100" : "10000");
    gort_trace_task_end(task);
    /* pong sees the close and returns; only then may the channels be freed
     * (nothing else orders pong's last touch of c[0] before the free) */
    gort_wg_wait(&pong_done);
    gort_trace_stop();
    size = lseek(fd, 0, SEEK_END);
    close(fd);
    gort_chan_free(c[0]);
    gort_chan_free(c[1]);
    printf("  execution trace of %d channel round trips (a task with a region):\n"
           "    %s (%lld bytes)\n    open it with:  go tool trace %s\n"
           "    or, as a profile:  go tool trace -pprof=sync %s > sync.pprof\n",
           n, tr, (long long)size, tr, tr);
    if (smoke) {
        unlink(cpu);
        unlink(tr);
    }
}
