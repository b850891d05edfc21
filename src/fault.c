/*
 * fault.c - the fault injection counters behind fault.h (tests only in
 * practice: nothing is armed unless a test calls gort__fault_arm or
 * GORT_FAULT is set).
 *
 * Each site has a countdown: left > 0 means armed, and the call that takes
 * it from 1 to 0 fails.  With persist, that call also sets tripped, and
 * every later call fails until gort__fault_disarm.  gort__fault_armed stays
 * set while any site is armed or tripped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "internal.h"

_Atomic bool gort__fault_armed;

static struct {
    _Atomic int64_t left;   /* [atomic] calls until the failing one; 0: off */
    _Atomic bool persist;   /* [atomic] fail every call after the nth too */
    _Atomic bool tripped;   /* [atomic] persist and the nth call happened */
    _Atomic uint64_t fired; /* [atomic] calls made to fail, ever */
} sites[GORT__FAULT_NSITES];

static const char *const site_names[GORT__FAULT_NSITES] = {
    [GORT__FAULT_MMAP] = "mmap",
    [GORT__FAULT_PTHREAD_CREATE] = "pthread_create",
    [GORT__FAULT_EPOLL_CTL] = "epoll_ctl",
    [GORT__FAULT_MALLOC] = "malloc",
};

bool gort__fault_slow(int site) {
    if (site < 0 || site >= GORT__FAULT_NSITES)
        return false;
    /* Relaxed throughout: the counters only decide which call fails; the
     * caller's own synchronisation orders what the failure leads to. */
    if (atomic_load_explicit(&sites[site].tripped, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&sites[site].fired, 1, memory_order_relaxed);
        return true;
    }
    int64_t n = atomic_load_explicit(&sites[site].left, memory_order_relaxed);
    while (n > 0) {
        if (atomic_compare_exchange_weak_explicit(&sites[site].left, &n, n - 1,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            if (n != 1)
                return false;
            if (atomic_load_explicit(&sites[site].persist, memory_order_relaxed))
                atomic_store_explicit(&sites[site].tripped, true, memory_order_relaxed);
            atomic_fetch_add_explicit(&sites[site].fired, 1, memory_order_relaxed);
            return true;
        }
    }
    return false;
}

void gort__fault_arm(int site, int64_t n, bool persist) {
    if (site < 0 || site >= GORT__FAULT_NSITES || n < 1)
        return;
    atomic_store_explicit(&sites[site].tripped, false, memory_order_relaxed);
    atomic_store_explicit(&sites[site].persist, persist, memory_order_relaxed);
    atomic_store_explicit(&sites[site].left, n, memory_order_relaxed);
    atomic_store_explicit(&gort__fault_armed, true, memory_order_seq_cst);
}

void gort__fault_disarm(void) {
    atomic_store_explicit(&gort__fault_armed, false, memory_order_seq_cst);
    for (int i = 0; i < GORT__FAULT_NSITES; i++) {
        atomic_store_explicit(&sites[i].left, 0, memory_order_relaxed);
        atomic_store_explicit(&sites[i].tripped, false, memory_order_relaxed);
    }
}

uint64_t gort__fault_fired(int site) {
    if (site < 0 || site >= GORT__FAULT_NSITES)
        return 0;
    return atomic_load_explicit(&sites[site].fired, memory_order_relaxed);
}

/* Parses one "site:n[:persist]" entry of len bytes. */
static bool arm_entry(const char *s, size_t len) {
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *colon = strchr(buf, ':');
    if (colon == NULL)
        return false;
    *colon = '\0';
    int site = -1;
    for (int i = 0; i < GORT__FAULT_NSITES; i++)
        if (strcmp(buf, site_names[i]) == 0)
            site = i;
    if (site < 0)
        return false;
    char *end;
    long long n = strtoll(colon + 1, &end, 10);
    if (end == colon + 1 || n < 1)
        return false;
    bool persist = false;
    if (*end == ':' && strcmp(end + 1, "persist") == 0)
        persist = true;
    else if (*end != '\0')
        return false;
    gort__fault_arm(site, n, persist);
    return true;
}

void gort__fault_init_env(void) {
    const char *env = getenv("GORT_FAULT");
    if (env == NULL || *env == '\0')
        return;
    while (*env) {
        size_t len = strcspn(env, ",");
        if (!arm_entry(env, len))
            gort__printf("runtime: GORT_FAULT: ignoring \"%.*s\" (want site:n[:persist], site "
                         "mmap, pthread_create, epoll_ctl or malloc)\n",
                         (int)len, env);
        env += len;
        if (*env == ',')
            env++;
    }
}
