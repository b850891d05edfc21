/*
 * pprof_tools.h - driving the Go toolchain's `go tool pprof` and `go tool
 * trace` from the profile and trace tests (header-only, with gt.h).
 */
#ifndef GT_PPROF_TOOLS_H
#define GT_PPROF_TOOLS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "gort.h"
#include "gt.h"

/* The calling thread's CPU time. */
static inline int64_t gt_thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline bool have_go(void) {
    return system("command -v go >/dev/null 2>&1") == 0;
}

/* Skips the case when the Go toolchain is absent. */
#define NEED_GO()                                                                        \
    do {                                                                                 \
        if (!have_go())                                                                  \
            GT_SKIP("no go command on PATH (apt-get install golang-go; scripts/deps.sh " \
                    "installs it for make test)");                                       \
    } while (0)

/* A file name in this process's own temporary directory (removed at exit). */
static char gt_tmpdir_[64];
static void gt_rmtmp_(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", gt_tmpdir_);
    if (getenv("GT_KEEP_TMP") == NULL && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", gt_tmpdir_);
}
/* Each call's path has a buffer of its own for the life of the process:
 * a ring of 8 reused them, and a test that held a path across nine calls
 * (a viewer retried) wrote a profile over its own trace (trace_test.c's
 * "failed to read header" in CI). */
static inline const char *tmp_path(const char *name) {
    static char bufs[256][256];
    static int next;
    if (next == 256) {
        fprintf(stderr, "tmp_path: more than 256 paths in one test\n");
        exit(1);
    }
    if (gt_tmpdir_[0] == '\0') {
        snprintf(gt_tmpdir_, sizeof gt_tmpdir_, "%s/gort-pprof.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(gt_tmpdir_) == NULL) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(gt_rmtmp_);
    }
    char *b = bufs[next++];
    snprintf(b, 256, "%s/%s", gt_tmpdir_, name);
    return b;
}

/* Runs `go tool ARGS` (a printf format) with stdout and stderr into out;
 * returns its exit status (or -1). ARGS may redirect the tool's stdout to a
 * file: its stderr still reaches out (the braces apply the 2>&1 to the
 * whole command, after ARGS' own redirection). */
__attribute__((format(printf, 3, 4))) static inline int go_tool(char *out, size_t len,
                                                                const char *fmt, ...) {
    char args[1024], cmd[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* No network, no browser, no symbol server; a private pprof home. */
    snprintf(cmd, sizeof cmd,
             "{ GOFLAGS=-mod=mod GOPROXY=off PPROF_TMPDIR='%s' PPROF_BINARY_PATH=/nonexistent "
             "go tool %s; } 2>&1",
             gt_tmpdir_[0] ? gt_tmpdir_ : "/tmp", args);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    /* Drain what did not fit so the tool is not killed by SIGPIPE. */
    char sinkbuf[4096];
    while (fread(sinkbuf, 1, sizeof sinkbuf, f) > 0) {
    }
    int st = pclose(f);
    if (st != 0)
        fprintf(stderr, "go tool %s: status %d\n%s\n", args, st, out);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* In `go tool pprof -top` output, the line whose name is fn: its flat
 * value as printed ("300", "40kB") into flat and its flat% into *pct;
 * false when no line names it. */
static inline bool top_line(const char *out, const char *fn, char flat[64], double *pct) {
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[512];
        if (len >= sizeof line)
            continue;
        memcpy(line, l, len);
        line[len] = '\0';
        char p[64], name[256];
        if (sscanf(line, " %63s %63s %*s %*s %*s %255s", flat, p, name) == 3 &&
            strcmp(name, fn) == 0 && strchr(p, '%')) {
            *pct = atof(p);
            return true;
        }
    }
    return false;
}

/* The flat% of fn's line in `go tool pprof -top` output, or -1 when no
 * line names it. */
static inline double top_flat_pct(const char *out, const char *fn) {
    char flat[64];
    double pct;
    return top_line(out, fn, flat, &pct) ? pct : -1;
}

/* The flat value of fn's line as printed, or "" when no line names it. */
static inline const char *top_flat(const char *out, const char *fn) {
    static char flat[64];
    double pct;
    if (!top_line(out, fn, flat, &pct))
        flat[0] = '\0';
    return flat;
}

static inline ssize_t read_file(const char *path, char *out, size_t len) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
    return (ssize_t)n;
}

/* Creates (or truncates) path for writing: the fd, or the test fails. */
static inline int create_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        GT_FAIL("cannot create %s", path);
    return fd;
}

/* gort_pprof_write(name, ..., debug) into the file path (created). */
static inline void write_profile(const char *name, const char *path, int debug) {
    int fd = create_file(path);
    ASSERT_EQ(gort_pprof_write(name, fd, debug), 0);
    close(fd);
}

#endif /* GT_PPROF_TOOLS_H */
