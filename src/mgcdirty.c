/*
 * mgcdirty.c - the kernel as the collector's write barrier.
 *
 * Go marks while goroutines run because its compiler puts a write barrier
 * on every pointer store into the heap.  C has none, so gort asks the
 * kernel which pages were written while it marked: the heap's arena is
 * registered with a userfaultfd in write-protect mode with
 * UFFD_FEATURE_WP_ASYNC (Linux 6.7): a write to a write-protected page is
 * resolved by the kernel itself (no fault reaches user space) and leaves
 * the page "written", which the PAGEMAP_SCAN ioctl of /proc/self/pagemap
 * reports (and, with PM_SCAN_WP_MATCHING, write-protects again in the same
 * walk).  A cycle then is:
 *
 *   write-protect the arena's pages in use (UFFDIO_WRITEPROTECT; free
 *   pages are left unprotected, which the scan reports as written);
 *   stop the world briefly: allocate black from now on;
 *   mark concurrently from the roots;
 *   a few rounds of: take the pages written meanwhile (and protect them
 *   again), rescan the marked objects on them;
 *   stop the world: rescan the pages written since the last round, the
 *   stacks, globals and the runtime's roots; finish marking;
 *   with the world running again, lift the protection (the mutator's
 *   first write to a page between cycles then costs no fault).
 *
 * An object a goroutine moved from an unscanned place to a scanned one
 * left the scanned one's page written, so the rescan finds it; one only in
 * a register or on a stack is found by the final scan of the stacks.
 *
 * Soft-dirty bits (/proc/self/clear_refs) would serve the same purpose on
 * older kernels, but this kernel has none (CONFIG_MEM_SOFT_DIRTY off here);
 * without userfaultfd (or with GORTDEBUG=gcstw=1, or under Valgrind, which
 * does not know the ioctls) the collector marks with the world stopped.
 * The mode is chosen once, when the heap is made (again in a forked
 * child: gort__gc_dirty_forked), and gctrace shows it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "malloc.h"

/* From Linux 6.7's uapi headers, which the build machine's may predate. */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1ull << 15)
#endif
struct gort_page_region {
    uint64_t start, end, categories;
};
struct gort_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
};
#define GORT_PM_SCAN_WP_MATCHING (1ull << 0)
#define GORT_PM_SCAN_CHECK_WPASYNC (1ull << 1)
#define GORT_PAGE_IS_WRITTEN (1ull << 1)
#define GORT_PAGEMAP_SCAN _IOWR('f', 16, struct gort_pm_scan_arg)

/* The three below are set at init, and again only by the first cycle of a
 * forked child (gort__gc_dirty_forked, under the cycle's lock). */
static int uffd = -1;    /* [init] */
static int pagemap = -1; /* [init] */
static pid_t owner;      /* [init] the process whose memory uffd and pagemap are */
/* [atomic] 1: uffd-wp concurrent marking.  Set when the heap is first
 * used (or a forked child's first cycle), which may run on one thread
 * while another reads it in commit_goal (gort_set_gc_percent before any
 * allocation).  Relaxed: it orders nothing else; a reader that sees 0 only
 * computes a trigger at the goal, which the next commit_goal corrects. */
_Atomic int gort__gc_concurrent;

void gort__gc_dirty_init(void) {
    if (gort__debug_getenv("gcstw") != 0)
        return;
#ifdef GORT_HAVE_MEMCHECK
    if (RUNNING_ON_VALGRIND)
        return;
#endif
    mheap *h = gort__mheap;
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    struct uffdio_api api = {.api = UFFD_API,
                             .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED};
    struct uffdio_register reg = {
        .range = {.start = h->arena, .len = h->arena_pages * GORT__HEAP_PAGE},
        .mode = UFFDIO_REGISTER_MODE_WP};
    if (ioctl(fd, UFFDIO_API, &api) != 0 || ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
        close(fd);
        return;
    }
    int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm < 0) {
        close(fd);
        return;
    }
    /* Probe PAGEMAP_SCAN on an empty range of the arena. */
    struct gort_page_region vec[1];
    struct gort_pm_scan_arg a = {.size = sizeof a,
                                 .flags = GORT_PM_SCAN_CHECK_WPASYNC,
                                 .start = h->arena,
                                 .end = h->arena + GORT__HEAP_PAGE,
                                 .vec = (uintptr_t)vec,
                                 .vec_len = 1,
                                 .category_mask = GORT_PAGE_IS_WRITTEN,
                                 .return_mask = GORT_PAGE_IS_WRITTEN};
    if (ioctl(pm, GORT_PAGEMAP_SCAN, &a) < 0) {
        close(pm);
        close(fd);
        return;
    }
    uffd = fd;
    pagemap = pm;
    owner = getpid();
    atomic_store_explicit(&gort__gc_concurrent, 1, memory_order_relaxed);
}

/* A forked child inherits the parent's userfaultfd and pagemap fds, which
 * still act on the parent's memory: protecting through them would change
 * the parent's pages and miss the child's writes (its arena is no longer
 * registered: no UFFD_FEATURE_EVENT_FORK), corrupting both processes'
 * heaps.  At each cycle's start (gcsema held; getpid is a syscall, once a
 * cycle), a child closes them and tracks its own arena from then on, or
 * marks with the world stopped if it cannot. */
void gort__gc_dirty_forked(void) {
    if (uffd < 0 || getpid() == owner)
        return;
    close(uffd);
    close(pagemap);
    uffd = pagemap = -1;
    atomic_store_explicit(&gort__gc_concurrent, 0, memory_order_relaxed);
    gort__gc_dirty_init();
}

const char *gort__gc_mode(void) {
    return atomic_load_explicit(&gort__gc_concurrent, memory_order_relaxed)
               ? "concurrent mark, userfaultfd write-protect (PAGEMAP_SCAN)"
               : "stop-the-world mark";
}

/* Write-protects [lo, hi) of the arena (on: writes from now on are seen),
 * or lifts the protection (writes cost no fault again). */
void gort__gc_dirty_protect(uintptr_t lo, uintptr_t hi, bool on) {
    if (uffd < 0 || lo >= hi)
        return;
    struct uffdio_writeprotect wp = {.range = {.start = lo, .len = hi - lo},
                                     .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
    if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
        gort__throw("gc: UFFDIO_WRITEPROTECT failed");
}

/* Calls fn on every run of pages of [lo, hi) written since they were last
 * protected; reprotect: protect them again in the same walk. */
void gort__gc_dirty_scan(uintptr_t lo, uintptr_t hi, bool reprotect,
                         void (*fn)(uintptr_t lo, uintptr_t hi)) {
    enum { NVEC = 512 };
    struct gort_page_region vec[NVEC];
    while (lo < hi) {
        struct gort_pm_scan_arg a = {
            .size = sizeof a,
            .flags = reprotect ? GORT_PM_SCAN_WP_MATCHING | GORT_PM_SCAN_CHECK_WPASYNC : 0,
            .start = lo,
            .end = hi,
            .vec = (uintptr_t)vec,
            .vec_len = NVEC,
            .category_mask = GORT_PAGE_IS_WRITTEN,
            .return_mask = GORT_PAGE_IS_WRITTEN};
        long n = ioctl(pagemap, GORT_PAGEMAP_SCAN, &a);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            gort__throw("gc: PAGEMAP_SCAN failed");
        }
        for (long i = 0; i < n; i++)
            fn(vec[i].start, vec[i].end);
        if (a.walk_end <= lo)
            break;
        lo = a.walk_end;
    }
}
