/*
 * cgroup_linux.c - the CPU limit of the process's cgroup, for the default
 * GOMAXPROCS.  Mirrors runtime/cgroup_linux.go and internal/runtime/cgroup
 * (Go 1.25), with one difference: Go reads the limit of the leaf cgroup
 * only; gort walks from the leaf up to the root of the hierarchy and takes
 * the tightest limit, since a parent's quota bounds its children too.
 *
 * cgroup v2: /proc/self/cgroup has "0::/path"; the cgroup2 mount (from
 * /proc/self/mountinfo) holds cpu.max ("max 100000" or "QUOTA PERIOD") in
 * each directory.  cgroup v1: the line naming the cpu controller
 * ("N:cpu,cpuacct:/path") and the cgroup mount with the cpu option, whose
 * directories hold cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us.
 *
 * Read once, when gort_main starts, with plain file I/O (no runtime state
 * involved).  Not in Go 1.25: updates while the process runs.
 *
 * The path and line buffers (about 30 KiB) live in one heap block, not on
 * the stack: this runs on the thread that called gort_main (or
 * gort_gomaxprocs), whose stack may be as small as PTHREAD_STACK_MIN
 * (16 KiB, or ulimit -s 16): on the stack, they ran past it, a bare
 * SIGSEGV.  Without memory for them the limit is unknown (0), as for a
 * process without a cgroup.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "internal.h"

#define PATHMAX 4096

/* The buffers of one look-up (see the top of the file). */
typedef struct cgbuf {
    char cg[PATHMAX], mnt[PATHMAX], root[PATHMAX], dir[PATHMAX];
    char line[PATHMAX], r[PATHMAX], m[PATHMAX];
    char path[PATHMAX + 64];
} cgbuf;

/* Reads a whole small file into buf (NUL-terminated); false if unreadable. */
static bool readfile(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* The limit in CPUs of one directory, or 0 if it has none. */
static double dir_limit(cgbuf *b, const char *dir, bool v2) {
    char *path = b->path, buf[128];
    if (v2) {
        int n = snprintf(path, sizeof b->path, "%s/cpu.max", dir);
        if (n < 0 || (size_t)n >= sizeof b->path || !readfile(path, buf, sizeof buf))
            return 0;
        long long quota, period;
        if (strncmp(buf, "max", 3) == 0 || sscanf(buf, "%lld %lld", &quota, &period) != 2 ||
            quota <= 0 || period <= 0)
            return 0;
        return (double)quota / (double)period;
    }
    int n = snprintf(path, sizeof b->path, "%s/cpu.cfs_quota_us", dir);
    if (n < 0 || (size_t)n >= sizeof b->path || !readfile(path, buf, sizeof buf))
        return 0;
    long long quota = atoll(buf);
    n = snprintf(path, sizeof b->path, "%s/cpu.cfs_period_us", dir);
    if (n < 0 || (size_t)n >= sizeof b->path || quota <= 0 || !readfile(path, buf, sizeof buf))
        return 0;
    long long period = atoll(buf);
    return period > 0 ? (double)quota / (double)period : 0;
}

/* The process's cgroup path for v2 ("0::") or for the v1 cpu controller. */
static bool cgroup_path(cgbuf *b, const char *procfile, char *out, size_t len, bool *v2) {
    FILE *f = fopen(procfile, "re");
    if (f == NULL)
        return false;
    char *line = b->line;
    bool found = false;
    while (fgets(line, sizeof b->line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c1 = '\0';
        *c2 = '\0';
        const char *ctrls = c1 + 1;
        if (strcmp(line, "0") == 0 && *ctrls == '\0') {
            if (!found) { /* v1 cpu wins if both are listed (hybrid) */
                snprintf(out, len, "%s", c2 + 1);
                *v2 = true;
                found = true;
            }
            continue;
        }
        /* v1: a comma-separated controller list naming "cpu". */
        char tmp[256];
        snprintf(tmp, sizeof tmp, ",%s,", ctrls);
        if (strstr(tmp, ",cpu,") != NULL) {
            snprintf(out, len, "%s", c2 + 1);
            *v2 = false;
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

/* The mount of the hierarchy (cgroup2, or v1 with the cpu option): its
 * mount point and the cgroup path of its root. */
static bool cgroup_mount(cgbuf *b, const char *mountinfo, bool v2, char *mnt, size_t mlen,
                         char *root, size_t rlen) {
    FILE *f = fopen(mountinfo, "re");
    if (f == NULL)
        return false;
    char *line = b->line;
    bool found = false;
    while (!found && fgets(line, sizeof b->line, f) != NULL) {
        /* id parent maj:min root mountpoint options ... - fstype source superopts */
        char *sep = strstr(line, " - ");
        if (sep == NULL)
            continue;
        char fstype[64] = "", source[256] = "", superopts[512] = "";
        if (sscanf(sep + 3, "%63s %255s %511s", fstype, source, superopts) < 2)
            continue;
        if (v2 ? strcmp(fstype, "cgroup2") != 0 : strcmp(fstype, "cgroup") != 0)
            continue;
        if (!v2) {
            char tmp[520];
            snprintf(tmp, sizeof tmp, ",%s,", superopts);
            if (strstr(tmp, ",cpu,") == NULL)
                continue;
        }
        char *r = b->r, *m = b->m;
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
            continue;
        snprintf(mnt, mlen, "%s", m);
        snprintf(root, rlen, "%s", r);
        found = true;
    }
    fclose(f);
    return found;
}

static double cpu_limit(cgbuf *b, const char *procfile, const char *mountinfo) {
    char *cg = b->cg, *mnt = b->mnt, *root = b->root;
    bool v2 = false;
    if (!cgroup_path(b, procfile, cg, PATHMAX, &v2) ||
        !cgroup_mount(b, mountinfo, v2, mnt, PATHMAX, root, PATHMAX))
        return 0;
    /* The cgroup path relative to the mount's root (a namespaced mount
     * shows only its own subtree). */
    const char *rel = cg;
    size_t rl = strlen(root);
    if (strcmp(root, "/") != 0 && strncmp(cg, root, rl) == 0)
        rel = cg + rl;
    char *dir = b->dir;
    int n = snprintf(dir, PATHMAX, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
    if (n < 0 || (size_t)n >= PATHMAX)
        return 0;
    double best = 0;
    size_t mlen = strlen(mnt);
    for (;;) {
        double l = dir_limit(b, dir, v2);
        if (l > 0 && (best == 0 || l < best))
            best = l;
        if (strlen(dir) <= mlen)
            break;
        char *slash = strrchr(dir, '/');
        if (slash == NULL || (size_t)(slash - dir) < mlen)
            break;
        *slash = '\0';
    }
    return best;
}

double gort__cgroup_cpu_limit_from(const char *procfile, const char *mountinfo) {
    cgbuf *b = gort__malloc(sizeof *b);
    if (b == NULL)
        return 0;
    double l = cpu_limit(b, procfile, mountinfo);
    gort__free(b);
    return l;
}

double gort__cgroup_cpu_limit(void) {
    return gort__cgroup_cpu_limit_from("/proc/self/cgroup", "/proc/self/mountinfo");
}
