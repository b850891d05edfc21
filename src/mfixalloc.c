/*
 * mfixalloc.c - memory of the runtime's own, for what it allocates or frees
 * while it holds a runtime lock or gort__acquirem.  Go's fixalloc and
 * persistentalloc (mfixalloc.go, malloc.go) serve the same end: Go's
 * runtime never calls an allocator whose locks a stopped thread may hold.
 *
 * Why not malloc there: a collector's stop of the world suspends threads
 * anywhere, inside libc's malloc or free too, holding an arena's lock
 * (preempt.c, stw_suspend), and waits for every thread that cannot be
 * suspended, one that holds a runtime lock or acquirem.  Such a thread
 * that then calls malloc or free and needs that arena's lock waits for
 * ever, and so does the stop.  glibc shares an arena between threads once
 * there are more threads than arenas (8 a core), and free() takes the lock
 * of the arena a block came from, which is another thread's whenever a
 * goroutine frees on another M what it allocated on the first.  The tracer
 * interned new stacks and strings under its tables' locks, the profiles
 * their buckets under theirs, the scheduler grew its queues under
 * sched.lock: all now come from here.  Debug builds throw "malloc or free
 * with a runtime lock held" when libc is asked all the same (fault.h);
 * the symboliser is the one exception (libdw allocates inside it).
 *
 * Blocks are powers of two from 128 bytes to 64 KiB, each with a 64-byte
 * header (the payload is 64-byte aligned: struct p, whose fields are
 * cache-line aligned, comes from here), carved from 256 KiB chunks of
 * pages mapped for it and kept on a free list per size when freed; a
 * larger block is a mapping of its own, unmapped when freed.  Chunks are
 * never unmapped.  Memory comes zeroed.  fixlock orders the lists and
 * the carving; a block's contents are ordered between its free and its
 * next allocation by the lock's release and acquire.  The lock is a
 * leaf (lockrank.c): nothing is taken under it, and it may be taken under
 * any other.
 *
 * The collector does not scan these blocks: a block must not be the only
 * reference to a collected object.  LeakSanitizer scans every chunk and
 * large block (registered as roots), as it scanned malloc'd runtime
 * memory reachable from the runtime's globals: a channel the runtime
 * lists is not reported as leaked.  GORT__FAULT_MALLOC fails these
 * allocations as it fails malloc's (the callers' out-of-memory paths are
 * the same).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"

enum {
    FIX_HDR = 64,      /* header bytes: the payload stays 64-byte aligned */
    FIX_MINSHIFT = 7,  /* 128-byte blocks */
    FIX_MAXSHIFT = 16, /* 64 KiB blocks; larger ones are mappings of their own */
    FIX_NCLASS = FIX_MAXSHIFT - FIX_MINSHIFT + 1,
    FIX_CHUNK = 256 << 10 /* bytes mapped at a time for carving */
};

/* A block's header: its whole size (a power of two, or a large block's
 * mapped bytes) and a mark that is FIX_LIVE while it is allocated, so that
 * a free of a pointer not from here, or a second free, throws. */
typedef struct fixhdr {
    size_t size;
    size_t mark;
} fixhdr;
_Static_assert(sizeof(fixhdr) <= FIX_HDR, "fixhdr fits in the header");
#define FIX_LIVE ((size_t)0x6669786c69766521ULL)
#define FIX_DEAD ((size_t)0x6669786465616421ULL)

typedef struct fixfree {
    struct fixfree *next;
} fixfree;

__thread int32_t gort__tls_mallocok __attribute__((tls_model("initial-exec")));

#if GORT_DEBUG >= 1
void gort__malloc_locked(void) {
    if (!gort__dying())
        gort__throw("malloc or free with a runtime lock held (mfixalloc.c)");
}
#endif

static gort__rtlock fixlock = GORT__RTLOCK_INIT(LOCKRANK_FIXALLOC);
static fixfree *freelist[FIX_NCLASS]; /* [fixlock] freed blocks of 2^(class+FIX_MINSHIFT) bytes */
static char *carvepos, *carveend;     /* [fixlock] the chunk being carved */

static void *map_pages(size_t len) {
    /* Not gort__mmap: a test that injects mmap failures aims at a
     * particular mapping (a trace buffer's, a stack slab's). */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The class of a block of `need` bytes (header included), need <= 64 KiB. */
static unsigned size_class(size_t need) {
    unsigned c = 0;
    while (((size_t)1 << (c + FIX_MINSHIFT)) < need)
        c++;
    return c;
}

void *gort__fixalloc(size_t n) {
    if (gort__fault(GORT__FAULT_MALLOC) || n > SIZE_MAX / 2) {
        errno = ENOMEM;
        return NULL;
    }
    size_t need = n + FIX_HDR;
    fixhdr *h;
    if (need > ((size_t)1 << FIX_MAXSHIFT)) {
        size_t len = (need + 4095) & ~(size_t)4095;
        h = map_pages(len);
        if (h == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        h->size = len;
        h->mark = FIX_LIVE;
        san_root_add(h, len);
        return (char *)h + FIX_HDR; /* fresh pages: zeroed */
    }
    unsigned c = size_class(need);
    size_t size = (size_t)1 << (c + FIX_MINSHIFT);
    bool reused = false;
    gort__lock(&fixlock);
    if (freelist[c] != NULL) {
        fixfree *f = freelist[c];
        freelist[c] = f->next;
        h = (fixhdr *)(void *)f;
        reused = true;
    } else {
        if ((size_t)(carveend - carvepos) < size) {
            /* The old chunk's tail (less than one block) is left unused. */
            char *chunk = map_pages(FIX_CHUNK);
            if (chunk == NULL) {
                gort__unlock(&fixlock);
                errno = ENOMEM;
                return NULL;
            }
            san_root_add(chunk, FIX_CHUNK);
            carvepos = chunk;
            carveend = chunk + FIX_CHUNK;
        }
        h = (fixhdr *)(void *)carvepos;
        carvepos += size;
    }
    h->size = size;
    h->mark = FIX_LIVE;
    gort__unlock(&fixlock);
    /* Zeroed outside the lock: the block is ours alone now. */
    if (reused)
        memset((char *)h + FIX_HDR, 0, size - FIX_HDR);
    return (char *)h + FIX_HDR;
}

void *gort__fixcalloc(size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return gort__fixalloc(n * size);
}

/* The header of the live block at p; `what` is thrown for a freed one. */
static fixhdr *live_header(void *p, const char *what) {
    fixhdr *h = (fixhdr *)(void *)((char *)p - FIX_HDR);
    if (h->mark != FIX_LIVE)
        gort__throw(h->mark == FIX_DEAD ? what : "runtime: fixfree of a block not from fixalloc");
    return h;
}

void *gort__fixrealloc(void *p, size_t n) {
    if (p == NULL)
        return gort__fixalloc(n);
    size_t old = live_header(p, "runtime: fixrealloc of a freed block")->size - FIX_HDR;
    if (n <= old && n > old / 2)
        return p; /* fits, and not much too large */
    void *q = gort__fixalloc(n);
    if (q == NULL)
        return NULL; /* p is untouched, as realloc's */
    memcpy(q, p, n < old ? n : old);
    gort__fixfree(p);
    return q;
}

void gort__fixfree(void *p) {
    if (p == NULL)
        return;
    fixhdr *h = live_header(p, "runtime: fixfree of a freed block");
    if (h->size > ((size_t)1 << FIX_MAXSHIFT)) {
        h->mark = FIX_DEAD;
        san_root_del(h, h->size);
        munmap(h, h->size);
        return;
    }
    unsigned c = size_class(h->size);
    gort__lock(&fixlock);
    h->mark = FIX_DEAD;
    fixfree *f = (fixfree *)(void *)h;
    /* The list link overwrites the size, not the mark. */
    f->next = freelist[c];
    freelist[c] = f;
    gort__unlock(&fixlock);
}
