/*
 * fault.h - fault injection for tests: make the nth mmap, pthread_create,
 * epoll_ctl or malloc of the runtime fail (issue 6).
 *
 * The runtime calls these wrappers instead of libc for its own resources.
 * When nothing is armed, gort__fault() is one relaxed load of a global flag
 * and a not-taken branch.  Armed (gort__fault_arm from tests, or
 * GORT_FAULT=site:n[:persist] read when gort_main starts), the nth call of
 * that kind counted from the arming fails as the OS would fail it:
 *
 *   GORT__FAULT_MMAP            mmap returns MAP_FAILED, errno ENOMEM
 *   GORT__FAULT_PTHREAD_CREATE  pthread_create returns EAGAIN
 *   GORT__FAULT_EPOLL_CTL       epoll_ctl returns -1, errno ENOMEM
 *   GORT__FAULT_MALLOC          malloc/calloc/realloc return NULL, errno
 *                               ENOMEM; posix_memalign returns ENOMEM
 *
 * With persist, every later call of that kind fails too, until
 * gort__fault_disarm.  The wrappers are used only for the runtime's own
 * calls; user memory and threads are never touched.
 */
#ifndef GORT_FAULT_H
#define GORT_FAULT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>

#include "san.h"

/* libc's malloc and free are not called with a runtime lock or
 * gort__acquirem held (gort__tls_locks, lock_futex.c): a collector's stop
 * may leave another thread suspended inside malloc with an arena's lock,
 * and wait for ever for this one (mfixalloc.c, whose gort__fixalloc
 * serves there).  The symboliser is the exception (libdw allocates
 * inside it, and its tables are malloc's): it runs between
 * gort__malloc_ok_begin and _end.  Debug builds (GORT_DEBUG >= 1) check
 * every call of the wrappers below and throw. */
extern __thread int32_t gort__tls_locks __attribute__((tls_model("initial-exec")));
extern __thread int32_t gort__tls_mallocok __attribute__((tls_model("initial-exec")));
static inline void gort__malloc_ok_begin(void) {
    gort__tls_mallocok++;
}
static inline void gort__malloc_ok_end(void) {
    gort__tls_mallocok--;
}
#if GORT_DEBUG >= 1
/* Throws "malloc or free with a runtime lock held" (not while dying). */
void gort__malloc_locked(void);
#define GORT__MALLOC_CHECK()                                                      \
    do {                                                                          \
        if (__builtin_expect(gort__tls_locks != 0 && gort__tls_mallocok == 0, 0)) \
            gort__malloc_locked();                                                \
    } while (0)
#else
#define GORT__MALLOC_CHECK() ((void)0)
#endif

enum {
    GORT__FAULT_MMAP,
    GORT__FAULT_PTHREAD_CREATE,
    GORT__FAULT_EPOLL_CTL,
    GORT__FAULT_MALLOC,
    GORT__FAULT_NSITES
};

/* [atomic] true while some site is armed.  Relaxed: arming happens before
 * the calls it should affect by program order or by the test's own
 * synchronisation (gort_main, channels); a racing call may miss it. */
extern _Atomic bool gort__fault_armed;

/* Counts the call and returns true if it must fail (armed only). */
bool gort__fault_slow(int site);

static inline bool gort__fault(int site) {
    if (__builtin_expect(!atomic_load_explicit(&gort__fault_armed, memory_order_relaxed), 1))
        return false;
    return gort__fault_slow(site);
}

/* Arms site: its nth call from now fails (n >= 1); persist: and every
 * later one until disarmed.  Replaces an earlier arming of that site. */
void gort__fault_arm(int site, int64_t n, bool persist);
/* Disarms every site (the fired counts stay). */
void gort__fault_disarm(void);
/* How many calls of site were made to fail since the process started. */
uint64_t gort__fault_fired(int site);
/* Arms from GORT_FAULT=site:n[:persist][,site:n...] (site: mmap,
 * pthread_create, epoll_ctl, malloc).  Called when gort_main starts;
 * prints and ignores a malformed entry. */
void gort__fault_init_env(void);

static inline void *gort__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    if (gort__fault(GORT__FAULT_MMAP)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return mmap(addr, len, prot, flags, fd, off);
}

static inline int gort__pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                       void *(*fn)(void *), void *arg) {
    if (gort__fault(GORT__FAULT_PTHREAD_CREATE))
        return EAGAIN;
    return pthread_create(t, attr, fn, arg);
}

static inline int gort__epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
    if (gort__fault(GORT__FAULT_EPOLL_CTL)) {
        errno = ENOMEM;
        return -1;
    }
    return epoll_ctl(epfd, op, fd, ev);
}

static inline void *gort__malloc(size_t n) {
    GORT__MALLOC_CHECK();
    if (gort__fault(GORT__FAULT_MALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    san_ignore_begin();
    void *p = malloc(n);
    san_ignore_end();
    return p;
}

static inline void *gort__calloc(size_t n, size_t size) {
    GORT__MALLOC_CHECK();
    if (gort__fault(GORT__FAULT_MALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    san_ignore_begin();
    void *p = calloc(n, size);
    san_ignore_end();
    return p;
}

static inline void *gort__realloc(void *p, size_t n) {
    GORT__MALLOC_CHECK();
    if (gort__fault(GORT__FAULT_MALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    san_ignore_begin();
    void *q = realloc(p, n);
    san_ignore_end();
    return q;
}

static inline int gort__posix_memalign(void **p, size_t align, size_t n) {
    GORT__MALLOC_CHECK();
    if (gort__fault(GORT__FAULT_MALLOC))
        return ENOMEM;
    san_ignore_begin();
    int err = posix_memalign(p, align, n);
    san_ignore_end();
    return err;
}

/* free(3) for what libc allocated (the wrappers above, strdup, libdw). */
static inline void gort__free(void *p) {
    GORT__MALLOC_CHECK();
    free(p);
}

#endif /* GORT_FAULT_H */
