/*
 * pprof.c - the profiles of runtime/pprof: CPU (cpuprof.go, the SIGPROF
 * handler of signal_unix.go), goroutine, threadcreate, block, mutex, heap
 * and allocs (mprof.go), profiler labels (runtime/pprof/label.go).
 *
 * CPU.  Every M registers its thread when it starts (gort__prof_minit):
 * its tid and CPU-time clock.  gort_pprof_start_cpu arms, for each, a
 * timer_create timer on that thread's CLOCK_THREAD_CPUTIME_ID clock that
 * sends SIGPROF to the thread itself (SIGEV_THREAD_ID) every 10 ms of its
 * CPU time, as Go 1.18+ does; Ms that start later arm their own.  The
 * handler walks the frame pointers of what it interrupted (the goroutine,
 * or g0 for scheduler time; bounded by that stack's limits, no symbol
 * lookups, no locks, no allocation) into a slot of a lock-free ring.
 * Sysmon drains the ring into a table of stacks every round; the stop
 * call drains the rest and writes the profile.
 *
 * Ring protocol (multi-producer, one consumer at a time under cpu.lock):
 *   producer: h = head (acquire); full when h - tail >= RING; CAS head
 *     h -> h+1 (claims slot h % RING); fill it; store slot.seq = h + 1
 *     (release: publishes the contents).
 *   consumer: for t = tail; slot.seq (acquire) == t + 1: read it, then
 *     tail = t + 1 (release: the producer's acquire of tail sees the slot
 *     free only after we are done reading it).
 *   A producer that finds the ring full counts a lost sample (written as
 *   one sample of the pseudo-frame "gort_lost_samples", as Go writes
 *   runtime._LostExternalCode).
 *
 * Block and mutex events are recorded under a runtime lock into tables of
 * stacks as they happen (they are already rare: sampled).  The heap
 * profile is fed by the collected heap: mallocgc samples one object per
 * MemProfileRate bytes on average (gort__mprof_malloc, which marks the
 * object with a special on its span), the sweeper reports the sampled
 * objects it frees (gort__mprof_sweep), and the collector's cycle
 * publishes them (Go's mProf_NextCycle/Flush/PostSweep; see malloc.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "lockrank.h"
#include "malloc.h"
#include "pprof.h"
#include "trace.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define CPU_HZ 100
#define CPU_PERIOD_NS (1000000000 / CPU_HZ)

/* ------------------------------------------------------------------------
 * Stacks and their tables
 * ------------------------------------------------------------------------ */

/* One distinct (stack, labels) with its values. */
typedef struct bucket {
    struct bucket *next;
    uint64_t hash;
    const gort__labelset *labels;
    int64_t v[4];
    struct memrec *mr; /* heap profile only: the cycles in progress (NULL elsewhere) */
    double count;      /* block and mutex profiles only: Go's bp.count, fractional
                        * (record); v[0] is its integer part */
    int n;
    uintptr_t pcs[];
} bucket;

typedef struct btable {
    bucket **tab;
    uint32_t cap, n;
} btable;

static uint64_t stackhash(const uintptr_t *pcs, int n, const void *labels) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)labels;
    for (int i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

/* The bucket of (pcs, labels), made if missing; NULL when out of memory.
 * The table's lock orders its memory, which TSan does not see: its copies
 * are ignored (san.h, bt_get). */
static bucket *bt_find_or_make(btable *t, const uintptr_t *pcs, int n,
                               const gort__labelset *labels) {
    uint64_t h = stackhash(pcs, n, labels);
    if (t->cap != 0) {
        for (bucket *b = t->tab[h & (t->cap - 1)]; b != NULL; b = b->next)
            if (b->hash == h && b->n == n && b->labels == labels &&
                memcmp(b->pcs, pcs, (size_t)n * sizeof *pcs) == 0)
                return b;
    }
    if (t->n >= t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        bucket **nt = gort__fixcalloc(cap, sizeof *nt);
        if (nt == NULL)
            return NULL;
        for (uint32_t i = 0; i < t->cap; i++) {
            for (bucket *b = t->tab[i], *next; b != NULL; b = next) {
                next = b->next;
                b->next = nt[b->hash & (cap - 1)];
                nt[b->hash & (cap - 1)] = b;
            }
        }
        gort__fixfree(t->tab);
        t->tab = nt;
        t->cap = cap;
    }
    bucket *b = gort__fixalloc(sizeof *b + (size_t)n * sizeof *pcs);
    if (b == NULL)
        return NULL;
    b->hash = h;
    b->n = n;
    b->labels = labels;
    memcpy(b->pcs, pcs, (size_t)n * sizeof *pcs);
    b->next = t->tab[h & (t->cap - 1)];
    t->tab[h & (t->cap - 1)] = b;
    t->n++;
    return b;
}

static bucket *bt_get(btable *t, const uintptr_t *pcs, int n, const gort__labelset *labels) {
    san_ignore_begin();
    bucket *b = bt_find_or_make(t, pcs, n, labels);
    san_ignore_end();
    return b;
}

static void bt_free(btable *t) {
    for (uint32_t i = 0; i < t->cap; i++) {
        for (bucket *b = t->tab[i], *next; b != NULL; b = next) {
            next = b->next;
            gort__fixfree(b->mr);
            gort__fixfree(b);
        }
    }
    gort__fixfree(t->tab);
    memset(t, 0, sizeof *t);
}

#define BT_FOREACH(t, b)                       \
    for (uint32_t _i = 0; _i < (t)->cap; _i++) \
        for (bucket *b = (t)->tab[_i]; b != NULL; b = b->next)

/* The calling goroutine's (or g0's) return addresses above our caller's
 * frame, skipping skip more. */
GORT_NOINLINE int gort__prof_callers(int skip, uintptr_t *pcs, int max) {
    struct m *mp = gort__getm();
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t lo = 0, hi = 0;
    struct g *gp = mp ? mp->curg : NULL;
    if (gp != NULL && fp >= gp->stack.lo && fp < gp->stack.hi) {
        lo = gp->stack.lo;
        hi = gp->stack.hi;
    } else if (mp != NULL && fp >= mp->g0->stack.lo && fp < mp->g0->stack.hi) {
        lo = mp->g0->stack.lo;
        hi = mp->g0->stack.hi;
    } else {
        /* A thread's own stack (sysmon, a thread outside the runtime):
         * its bounds are unknown here, and libc's frames keep no frame
         * pointers, so a walk could leave the stack.  No frames. */
        return 0;
    }
    /* Step over skip + 1 frames (+1: our caller's own) with the checks
     * the walk makes, then walk straight into pcs: no copy (the tracer
     * takes a stack at most of its events). */
    for (int i = 0; i <= skip; i++) {
        if (fp < lo || fp > hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)) != 0)
            return 0;
        const uintptr_t *f = (const uintptr_t *)fp;
        if (f[1] == 0 || f[0] <= fp)
            return 0;
        fp = f[0];
    }
    return gort__traceback_fp(fp, lo, hi, pcs, max);
}

/* ------------------------------------------------------------------------
 * Labels
 * ------------------------------------------------------------------------ */

static gort__rtlock labellock = GORT__RTLOCK_INIT(LOCKRANK_LABELS);
typedef struct lsnode {
    struct lsnode *next;
    uint64_t hash;
    gort__labelset set;
} lsnode;
static lsnode *labeltab[256]; /* [labellock] interned sets, never freed */

static uint64_t lshash(const char *const *kv, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 2 * n; i++) {
        for (const char *s = kv[i]; *s; s++)
            h = (h ^ (uint8_t)*s) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

/* The interned set equal to kv[0..2n) (sorted by key): made (copied) if
 * new.  NULL for the empty set or when out of memory. */
static const gort__labelset *label_intern(const char *const *kv, int n) {
    if (n == 0)
        return NULL;
    uint64_t h = lshash(kv, n);
    gort__lock(&labellock);
    for (lsnode *l = labeltab[h & 255]; l != NULL; l = l->next) {
        if (l->hash != h || l->set.n != n)
            continue;
        bool eq = true;
        for (int i = 0; i < 2 * n && eq; i++)
            eq = strcmp(l->set.kv[i], kv[i]) == 0;
        if (eq) {
            gort__unlock(&labellock);
            return &l->set;
        }
    }
    size_t bytes = sizeof(lsnode) + 2 * (size_t)n * sizeof(char *);
    for (int i = 0; i < 2 * n; i++)
        bytes += strlen(kv[i]) + 1;
    lsnode *l = gort__fixalloc(bytes); /* labellock held: not malloc (mfixalloc.c) */
    if (l == NULL) {
        gort__unlock(&labellock);
        return NULL;
    }
    const char **arr = (const char **)(l + 1);
    char *str = (char *)(arr + 2 * n);
    for (int i = 0; i < 2 * n; i++) {
        size_t len = strlen(kv[i]) + 1;
        memcpy(str, kv[i], len);
        arr[i] = str;
        str += len;
    }
    l->hash = h;
    l->set.n = n;
    l->set.kv = arr;
    l->next = labeltab[h & 255];
    labeltab[h & 255] = l;
    gort__unlock(&labellock);
    return &l->set;
}

void gort_set_label(const char *key, const char *value) {
    struct g *gp = gort__getg();
    if (gp == NULL || key == NULL)
        return;
    const gort__labelset *cur = gp->labels;
    int n = cur ? cur->n : 0;
    const char **kv = gort__malloc((size_t)(2 * n + 2) * sizeof *kv);
    if (kv == NULL)
        return;
    int k = 0;
    bool placed = false;
    for (int i = 0; i < n; i++) {
        int c = strcmp(cur->kv[2 * i], key);
        if (c == 0)
            continue; /* replaced (or removed) below */
        if (c > 0 && !placed && value != NULL) {
            kv[2 * k] = key;
            kv[2 * k + 1] = value;
            k++;
            placed = true;
        }
        kv[2 * k] = cur->kv[2 * i];
        kv[2 * k + 1] = cur->kv[2 * i + 1];
        k++;
    }
    if (!placed && value != NULL) {
        kv[2 * k] = key;
        kv[2 * k + 1] = value;
        k++;
    }
    const gort__labelset *set = label_intern(kv, k);
    gort__free(kv);
    if (set == NULL && k > 0)
        return; /* out of memory: the labels stay as they were */
    /* [owner G]: only this goroutine writes it; the SIGPROF handler of its
     * own thread reads it (a pointer store is atomic on our targets, and
     * both sets stay valid for ever). */
    gp->labels = set;
}

const char *gort_get_label(const char *key) {
    struct g *gp = gort__getg();
    const gort__labelset *s = gp ? gp->labels : NULL;
    for (int i = 0; s != NULL && key != NULL && i < s->n; i++)
        if (strcmp(s->kv[2 * i], key) == 0)
            return s->kv[2 * i + 1];
    return NULL;
}

/* ------------------------------------------------------------------------
 * CPU profile
 * ------------------------------------------------------------------------ */

typedef struct cpuslot {
    _Atomic uint64_t seq; /* h + 1 once slot h is filled */
    const gort__labelset *labels;
    uint32_t n;
    uintptr_t pcs[GORT__PROF_MAXSTACK];
} cpuslot;

#define RING 2048

/* A thread of an M (one per M while its thread runs). */
typedef struct profthread {
    struct profthread *next;
    struct m *m;
    pid_t tid;
    clockid_t clock;
    timer_t timer;
    bool armed;
} profthread;

static struct {
    gort__rtlock lock;         /* the fields below but on/head/tail/lost/ring slots */
    _Atomic bool on;           /* [atomic] the handler records */
    bool running;              /* [lock] a profile is being taken */
    bool handler;              /* [lock] SIGPROF handler installed (for good) */
    int fd;                    /* [lock] */
    int64_t start_wall, start; /* [lock] */
    profthread *threads;       /* [lock] registered M threads */
    cpuslot *ring;             /* [lock] RING slots, mapped once, never unmapped */
    _Atomic uint64_t head;     /* [atomic] next slot to claim */
    _Atomic uint64_t tail;     /* [atomic; written by the drainer under lock] */
    _Atomic uint64_t lost;     /* [atomic] samples dropped, ring full */
    btable tab;                /* [lock] drained samples: v[0] count */
} cpu = {.lock = GORT__RTLOCK_INIT(LOCKRANK_CPUPROF)};

static __thread profthread *tls_prof __attribute__((tls_model("initial-exec")));

static void sigprof_handler(int sig, siginfo_t *info, void *uctx);
static int install_handler_locked(void);
/* The entry of SIGURG's handler (the preemption signal), written when a
 * profile starts, before the release store of cpu.on that the handler
 * acquires: see sigprof_handler. */
static uintptr_t urg_entry;

/* The stall detector's request for the stack of one thread.  state is a
 * request's number times 4 plus its phase: SR_ASKED, SR_CLAIMED (the
 * handler is writing pcs), SR_ANSWERED; 0 when no request is out.  sysmon
 * (the only requester) sets tid, then the next number with SR_ASKED
 * (release), and sends that thread SIGPROF with tgkill.  Its handler
 * claims that request by compare and swap (acquire), walks what it
 * interrupted into pcs and n, and sets SR_ANSWERED (release; sysmon's
 * acquire load then reads pcs).  sysmon withdraws a request that was not
 * claimed in time by a compare and swap to 0, so a handler that answers
 * later finds its own number gone and writes nothing; one that claimed it
 * is waited for.  (With a plain 0/1/2 state, a handler that passed the
 * check just before a timeout wrote pcs while sysmon's next request, for
 * another thread, reset n and read them: that thread's report showed this
 * one's stack, or two handlers' stacks mixed.) */
enum { SR_ASKED = 1, SR_CLAIMED = 2, SR_ANSWERED = 3 };
static struct {
    _Atomic pid_t tid;                  /* [atomic] written by sysmon before SR_ASKED */
    _Atomic uint32_t state;             /* [atomic] */
    uint32_t seq;                       /* [owner sysmon] the last request's number */
    int n;                              /* [the claimer] until SR_ANSWERED, then sysmon's */
    uintptr_t pcs[GORT__PROF_MAXSTACK]; /* as n */
} stackreq;

/* cpu.lock held. */
static int arm(profthread *t) {
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_notify_thread_id = t->tid;
    if (timer_create(t->clock, &sev, &t->timer) != 0)
        return -errno;
    /* The first tick at a random point of the period, as Go does, so that
     * threads started together do not tick in step. */
    struct itimerspec its = {{0, CPU_PERIOD_NS}, {0, 1 + (long)gort__fastrandn(CPU_PERIOD_NS)}};
    if (timer_settime(t->timer, 0, &its, NULL) != 0) {
        int e = -errno;
        timer_delete(t->timer);
        return e;
    }
    t->armed = true;
    return 0;
}

static void disarm(profthread *t) {
    if (t->armed) {
        timer_delete(t->timer);
        t->armed = false;
    }
}

void gort__prof_minit(struct m *mp) {
    profthread *t = gort__calloc(1, sizeof *t);
    if (t == NULL)
        return; /* this thread goes unprofiled */
    t->m = mp;
    t->tid = (pid_t)syscall(SYS_gettid);
    if (pthread_getcpuclockid(pthread_self(), &t->clock) != 0) {
        gort__free(t);
        return;
    }
    gort__lock(&cpu.lock);
    t->next = cpu.threads;
    cpu.threads = t;
    if (cpu.running)
        (void)arm(t);
    gort__unlock(&cpu.lock);
    tls_prof = t;
}

void gort__prof_unminit(struct m *mp) {
    (void)mp;
    profthread *t = tls_prof;
    if (t == NULL)
        return;
    gort__lock(&cpu.lock);
    disarm(t);
    for (profthread **pp = &cpu.threads; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    gort__unlock(&cpu.lock);
    tls_prof = NULL;
    gort__free(t);
}

#if defined(__x86_64__)
#define UC_PC(uc) ((uintptr_t)(uc)->uc_mcontext.gregs[REG_RIP])
#define UC_FP(uc) ((uintptr_t)(uc)->uc_mcontext.gregs[REG_RBP])
#define UC_SP(uc) ((uintptr_t)(uc)->uc_mcontext.gregs[REG_RSP])
#elif defined(__aarch64__)
#define UC_PC(uc) ((uintptr_t)(uc)->uc_mcontext.pc)
#define UC_FP(uc) ((uintptr_t)(uc)->uc_mcontext.regs[29])
#define UC_SP(uc) ((uintptr_t)(uc)->uc_mcontext.sp)
#endif

/* Async-signal-safe: atomics, reads of this thread's own M and the stack
 * it interrupted, nothing else.  Reads of the interrupted goroutine's
 * frames are racy only in the sense that it is stopped mid-instruction. */
__attribute__((no_sanitize("address", "thread"))) static void
sigprof_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig, (void)info;
    int saved = errno;
    if (info->si_code == SI_TKILL) {
        /* Acquire: pairs with sysmon's release of SR_ASKED (tid).  The
         * claim's CAS fails if sysmon withdrew the request meanwhile, or
         * moved on to another (a new number); acquire, as the load: our
         * writes of pcs come after sysmon's reads of the last answer. */
        uint32_t req = atomic_load_explicit(&stackreq.state, memory_order_acquire);
        if ((req & 3) == SR_ASKED &&
            atomic_load_explicit(&stackreq.tid, memory_order_relaxed) ==
                (pid_t)syscall(SYS_gettid) &&
            atomic_compare_exchange_strong_explicit(&stackreq.state, &req, (req & ~3u) | SR_CLAIMED,
                                                    memory_order_acquire, memory_order_relaxed)) {
            ucontext_t *uc = uctx;
            uintptr_t pc = UC_PC(uc), fp = UC_FP(uc), sp = UC_SP(uc);
            struct m *mp = gort__getm();
            struct g *gp = mp ? mp->curg : NULL;
            int n = 0;
            stackreq.pcs[n++] = pc + 1;
            if (gp != NULL && sp >= gp->stack.lo && sp < gp->stack.hi)
                n += gort__traceback_sig(pc, fp, sp, gp->stack.lo, gp->stack.hi, stackreq.pcs + 1,
                                         GORT__PROF_MAXSTACK - 1);
            stackreq.n = n;
            /* Release: sysmon's acquire load of SR_ANSWERED reads pcs. */
            atomic_store_explicit(&stackreq.state, (req & ~3u) | SR_ANSWERED, memory_order_release);
        }
        errno = saved;
        return; /* not a profiling tick */
    }
    /* Acquire: pairs with start's release store; the ring is mapped. */
    if (!atomic_load_explicit(&cpu.on, memory_order_acquire)) {
        errno = saved;
        return;
    }
    ucontext_t *uc = uctx;
    uintptr_t pc = UC_PC(uc), fp = UC_FP(uc), sp = UC_SP(uc);
    struct m *mp = gort__getm();
    struct g *gp = mp ? mp->curg : NULL;
#if defined(__x86_64__)
    /* A tick that became pending with another signal (a preemption
     * signal, which the same timer tick delivers) interrupts that
     * signal's handler at its first instruction: the time belongs to what
     * the other signal interrupted, whose context is in the kernel's frame
     * at sp (rt_sigframe: the return address, then the ucontext). */
    if (mp != NULL && mp->sigaltstack != NULL && pc == urg_entry &&
        sp >= (uintptr_t)mp->sigaltstack &&
        sp + 8 + sizeof(ucontext_t) <= (uintptr_t)mp->sigaltstack + mp->sigaltstack_size) {
        const ucontext_t *outer = (const ucontext_t *)(sp + 8);
        pc = UC_PC(outer);
        fp = UC_FP(outer);
        sp = UC_SP(outer);
    }
    /* A tick that came while SIGURG's handler ran (its sa_mask blocks every
     * signal) is delivered as that handler returns into the trampoline it
     * redirected to, at the trampoline's first instruction: that time too
     * belongs to the interrupted function, whose pc and frame pointer the
     * frame the handler made for the trampoline holds ([rbp + 8], [rbp];
     * arch/preempt_amd64.S).  On a loaded machine, where sysmon's signal
     * waits with the tick for the thread to get a CPU, this is most ticks. */
    if (pc == (uintptr_t)gort__sigtramp && gp != NULL && fp >= sp && fp + 16 <= gp->stack.hi &&
        sp >= gp->stack.lo) {
        const uintptr_t *frame = (const uintptr_t *)fp;
        pc = frame[1];
        sp = fp + 144; /* past the red zone the handler left (preempt_amd64.S) */
        fp = frame[0];
    }
#endif
    uintptr_t lo = 0, hi = 0;
    const gort__labelset *labels = NULL;
    if (gp != NULL && sp >= gp->stack.lo && sp < gp->stack.hi) {
        lo = gp->stack.lo;
        hi = gp->stack.hi;
        labels = gp->labels;
    } else if (mp != NULL && sp >= mp->g0->stack.lo && sp < mp->g0->stack.hi) {
        lo = mp->g0->stack.lo;
        hi = mp->g0->stack.hi;
    }
    uint64_t h = atomic_load_explicit(&cpu.head, memory_order_relaxed);
    for (;;) {
        /* Acquire: pairs with the drainer's release of tail. */
        if (h - atomic_load_explicit(&cpu.tail, memory_order_acquire) >= RING) {
            atomic_fetch_add_explicit(&cpu.lost, 1, memory_order_relaxed);
            errno = saved;
            return;
        }
        if (atomic_compare_exchange_weak_explicit(&cpu.head, &h, h + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            break;
    }
    cpuslot *s = &cpu.ring[h % RING];
    s->labels = labels;
    s->pcs[0] = pc + 1; /* as a return address: the profile looks up pc - 1 */
    uint32_t n = 1;
    if (hi > lo)
        n += (uint32_t)gort__traceback_sig(pc, fp, sp, lo, hi, s->pcs + 1, GORT__PROF_MAXSTACK - 1);
    s->n = n;
    /* Release: publishes the slot to the drainer. */
    atomic_store_explicit(&s->seq, h + 1, memory_order_release);
    errno = saved;
}

/* cpu.lock held. */
static void drain_locked(void) {
    if (cpu.ring == NULL)
        return;
    uint64_t t = atomic_load_explicit(&cpu.tail, memory_order_relaxed);
    for (;;) {
        cpuslot *s = &cpu.ring[t % RING];
        /* Acquire: pairs with the handler's release of seq. */
        if (atomic_load_explicit(&s->seq, memory_order_acquire) != t + 1)
            break;
        bucket *b = bt_get(&cpu.tab, s->pcs, (int)s->n, s->labels);
        if (b != NULL)
            b->v[0]++;
        t++;
        /* Release: the slot may be reused only after we read it. */
        atomic_store_explicit(&cpu.tail, t, memory_order_release);
    }
}

/* ------------------------------------------------------------------------
 * Stall detector (GORTDEBUG=stalldetect=MS), run by sysmon
 * ------------------------------------------------------------------------ */

/* print_frame_cb's count of the frames it showed (or, with print false,
 * would show). */
struct frames {
    int shown;
    bool print;
    const uintptr_t *pcs; /* the pcs symbolised less one: for the +0x offsets */
};

/* A frame's "+0x..." from its function's start, as a dump prints it; an
 * inlined frame has none (Go's). */
static void print_offset(uintptr_t pc, bool inlined) {
    uintptr_t start = 0;
    if (!inlined && gort__symtab_lookup(pc - 1, &start, NULL, NULL) == 0)
        gort__printf(" +0x%lx", (unsigned long)(pc - start));
    gort__printf("\n");
}

static void print_frame_cb(void *arg, int i, const char *name, const char *file, int line,
                           bool inlined) {
    /* As a dump shows it: without the runtime's own frames (gort__*
     * functions, static functions of the runtime's sources). */
    const char *slash = strrchr(__FILE__, '/');
    size_t dl = slash ? (size_t)(slash - __FILE__ + 1) : 0;
    if ((name != NULL && strncmp(name, "gort__", 6) == 0) ||
        (file != NULL && dl > 0 && strncmp(file, __FILE__, dl) == 0))
        return;
    struct frames *f = arg;
    f->shown++;
    if (!f->print)
        return;
    size_t n = name ? gort__symtab_namelen(name) : 1;
    gort__printf("%.*s(...)\n\t%s:%d", (int)n, name ? name : "?", file ? file : "?", line);
    print_offset(f->pcs[i] + 1, inlined);
}

/* A stall report's last line, as a dump's: the function that started the
 * goroutine (the innermost one at its gort_go call, which
 * gort__symbolize gives first), its file and line. */
struct createdby {
    int64_t parent;
    uintptr_t pc; /* the return address of the gort_go call */
    bool done;
};

static void createdby_cb(void *arg, int i, const char *name, const char *file, int line,
                         bool inlined) {
    (void)i;
    struct createdby *c = arg;
    if (c->done)
        return;
    c->done = true;
    size_t n = name ? gort__symtab_namelen(name) : 1;
    gort__printf("created by %.*s", (int)n, name ? name : "?");
    if (c->parent != 0) /* none: made outside a goroutine (Go's printcreatedby1) */
        gort__printf(" in goroutine %lld", (long long)c->parent);
    gort__printf("\n\t%s:%d", file ? file : "?", line);
    print_offset(c->pc, inlined);
}

/* The stack of the goroutine running on mp's thread, from its SIGPROF
 * handler (tgkill): the count, 0 if it did not answer within 1 s. */
static int stack_of_thread(struct m *mp, uintptr_t *pcs) {
    pid_t tid = 0;
    /* The handler finds a frameless leaf's caller in the symbol table,
     * which it cannot build itself. */
    (void)gort__symtab_lookup((uintptr_t)&stack_of_thread, NULL, NULL, NULL);
    gort__lock(&cpu.lock);
    for (profthread *t = cpu.threads; t != NULL; t = t->next)
        if (t->m == mp)
            tid = t->tid;
    int herr = tid != 0 ? install_handler_locked() : -ESRCH;
    gort__unlock(&cpu.lock);
    if (herr != 0)
        return 0;
    atomic_store_explicit(&stackreq.tid, tid, memory_order_relaxed);
    /* A number of its own (never 0 with its phase): a handler still
     * holding the last request's number cannot claim this one. */
    stackreq.seq++;
    uint32_t asked = (stackreq.seq << 2) | SR_ASKED;
    uint32_t answered = (asked & ~3u) | SR_ANSWERED;
    /* Release: tid is written before the handler can see the request. */
    atomic_store_explicit(&stackreq.state, asked, memory_order_release);
    int n = 0;
    bool sent = syscall(SYS_tgkill, getpid(), tid, SIGPROF) == 0;
    /* Up to 1 s: on a loaded machine the thread may wait that long for a
     * CPU (sysmon waits too; this is a debugging mode). */
    for (int i = 0; sent && i < 1000; i++) {
        /* Acquire: pairs with the handler's release of SR_ANSWERED. */
        if (atomic_load_explicit(&stackreq.state, memory_order_acquire) == answered)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    /* Withdrawn if not claimed (relaxed: a handler that loads the old
     * value fails its CAS, and writes nothing).  Claimed, it is being
     * answered: wait for the answer (the handler does not block). */
    uint32_t cur = asked;
    if (!atomic_compare_exchange_strong_explicit(&stackreq.state, &cur, 0, memory_order_relaxed,
                                                 memory_order_relaxed)) {
        /* Acquire: pairs with the handler's release of SR_ANSWERED. */
        while (atomic_load_explicit(&stackreq.state, memory_order_acquire) != answered) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        n = stackreq.n;
        memcpy(pcs, stackreq.pcs, (size_t)n * sizeof *pcs);
        atomic_store_explicit(&stackreq.state, 0, memory_order_relaxed);
    }
    return n;
}

/* Reports gp, running on pp ms ms after its last cooperative scheduling
 * point.  Racy reads of a running goroutine, as a dump's.  False if it was
 * not to be reported this round. */
static bool report_stall(struct p *pp, struct g *gp, int64_t ms) {
    uintptr_t pcs[GORT__PROF_MAXSTACK];
    struct m *mp = gp->m;
    /* A stack of one frame was caught on a signal stack (the thread was
     * handling a preemption signal, say): look again, a few times. */
    int n = 0;
    for (int try = 0; mp != NULL && n <= 1 && try < 10; try++) {
        if (try > 0) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        n = stack_of_thread(mp, pcs);
    }
    /* Acquire: pairs with execute's release of runningg.  Switched out
     * meanwhile (a gort call, or an asynchronous preemption: then the
     * stack may be the trampoline's): the next round looks again. */
    if (atomic_load_explicit(&pp->runningg, memory_order_acquire) != gp)
        return false;
    uintptr_t look[GORT__PROF_MAXSTACK];
    for (int i = 0; i < n; i++)
        look[i] = pcs[i] - 1;
    if (n > 1) {
        /* Caught inside the runtime (the trampoline of an asynchronous
         * preemption about to switch it out): look again next round. */
        struct frames probe = {0, false, look};
        gort__symbolize(look, n, print_frame_cb, &probe);
        if (probe.shown == 0)
            return false;
    }
    const char *fname = NULL;
    gort__symtab_lookup((uintptr_t)gp->fn, NULL, NULL, &fname);
    gort__print_lock();
    gort__printf("gort: stall: goroutine %lld has run for %lld ms without a gort call "
                 "(GORTDEBUG=stalldetect=%lld)\n",
                 (long long)gp->goid, (long long)ms, (long long)(gort__stalldetect_ns / 1000000));
    gort__printf("goroutine %lld [running]:\n", (long long)gp->goid);
    if (n > 0) {
        struct frames shown = {0, true, look};
        gort__symbolize(look, n, print_frame_cb, &shown);
        if (shown.shown == 0) /* caught inside the runtime (a preemption signal) */
            gort__printf("\t(in the runtime; started at %s)\n", fname ? fname : "?");
    } else {
        gort__printf("\t(stack unavailable; started at %s)\n", fname ? fname : "?");
    }
    if (gp->createdby != NULL && !gp->is_main) {
        uintptr_t at = (uintptr_t)gp->createdby - 1;
        struct createdby c = {gp->parentgoid, (uintptr_t)gp->createdby, false};
        gort__symbolize(&at, 1, createdby_cb, &c);
    }
    gort__printf("\n");
    gort__print_unlock();
    return true;
}

/* The clock of each running goroutine is its last cooperative scheduling
 * point (struct g: coopticks), which asynchronous preemption does not
 * move, whether the goroutine had its P to itself or gave way to others
 * (the P's schedtick and nswitch move then).  The record is in the g, so a
 * goroutine that resumes on another P (an asynchronous preemption hands
 * its P on) keeps its clock and is reported once. */
static void stall_check(int64_t now) {
    int32_t procs = atomic_load_explicit(&gort__sched.gomaxprocs, memory_order_relaxed);
    for (int32_t i = 0; i < procs && i < GORT_MAX_PROCS; i++) {
        struct p *pp = atomic_load_explicit(&gort__allp[i], memory_order_acquire);
        if (pp == NULL || atomic_load_explicit(&pp->status, memory_order_relaxed) != P_RUNNING)
            continue;
        /* Acquire: pairs with execute's release; gp's fields were written
         * before it started.  gs are never freed: a racy read of one that
         * moved on is harmless (report_stall checks again). */
        struct g *gp = atomic_load_explicit(&pp->runningg, memory_order_acquire);
        if (gp == NULL)
            continue;
        uint32_t tick = atomic_load_explicit(&gp->coopticks, memory_order_relaxed);
        if (tick != gp->stall_ticks || gp->stall_since == 0) {
            gp->stall_ticks = tick;
            gp->stall_since = now;
            gp->stall_reported = false;
            continue;
        }
        if (!gp->stall_reported && now - gp->stall_since >= gort__stalldetect_ns) {
            gp->stall_reported = report_stall(pp, gp, (now - gp->stall_since) / 1000000);
        }
    }
}

void gort__prof_shutdown(void) {
    gort_pprof_stop_cpu();
    gort__trace_shutdown();
}

void gort__prof_sysmon(int64_t now) {
    if (atomic_load_explicit(&cpu.on, memory_order_relaxed) && gort__trylock(&cpu.lock)) {
        drain_locked();
        gort__unlock(&cpu.lock);
    }
    if (gort__stalldetect_ns > 0)
        stall_check(now);
    gort__trace_sysmon(now);
}

/* cpu.lock held.  For good: a tick in flight must never kill us. */
static int install_handler_locked(void) {
    if (cpu.handler)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigprof_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) != 0)
        return -errno;
    cpu.handler = true;
    return 0;
}

int gort_pprof_start_cpu(int fd) {
    /* A preemption point: starting and stopping the profile arm and disarm
     * a timer on every thread, runtime code where no signal preempts a
     * goroutine that does it in a loop (see gort_gc). */
    gort__preempt_check(gort__getg());
    if (fd < 0)
        return -EINVAL;
    /* Built here for the handler (see stack_of_thread). */
    (void)gort__symtab_lookup((uintptr_t)&gort_pprof_start_cpu, NULL, NULL, NULL);
    gort__lock(&cpu.lock);
    if (cpu.running) {
        gort__unlock(&cpu.lock);
        return -EBUSY;
    }
    if (cpu.ring == NULL) {
        void *r = gort__mmap(NULL, RING * sizeof(cpuslot), PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r == MAP_FAILED) {
            gort__unlock(&cpu.lock);
            return -ENOMEM;
        }
        cpu.ring = r;
    }
    int herr = install_handler_locked();
    if (herr != 0) {
        gort__unlock(&cpu.lock);
        return herr;
    }
    struct sigaction urg;
    if (sigaction(SIGURG, NULL, &urg) == 0 && (urg.sa_flags & SA_SIGINFO))
        urg_entry = (uintptr_t)urg.sa_sigaction;
    /* Slots from an earlier profile are stale: start with the ring empty. */
    for (uint32_t i = 0; i < RING; i++)
        atomic_store_explicit(&cpu.ring[i].seq, 0, memory_order_relaxed);
    atomic_store_explicit(&cpu.head, 0, memory_order_relaxed);
    atomic_store_explicit(&cpu.tail, 0, memory_order_relaxed);
    atomic_store_explicit(&cpu.lost, 0, memory_order_relaxed);
    cpu.fd = fd;
    cpu.running = true;
    cpu.start = gort_nanotime();
    cpu.start_wall = gort__walltime_ns();
    /* Release: the ring's reset is visible to a handler that sees on. */
    atomic_store_explicit(&cpu.on, true, memory_order_release);
    int err = 0;
    for (profthread *t = cpu.threads; t != NULL && err == 0; t = t->next)
        err = arm(t);
    if (err != 0) {
        for (profthread *t = cpu.threads; t != NULL; t = t->next)
            disarm(t);
        atomic_store_explicit(&cpu.on, false, memory_order_relaxed);
        cpu.running = false;
    }
    gort__unlock(&cpu.lock);
    return err;
}

void gort_pprof_stop_cpu(void) {
    gort__preempt_check(gort__getg()); /* as gort_pprof_start_cpu */
    gort__lock(&cpu.lock);
    if (!cpu.running) {
        gort__unlock(&cpu.lock);
        return;
    }
    for (profthread *t = cpu.threads; t != NULL; t = t->next)
        disarm(t);
    /* A tick already delivered may still be filling a slot: it finishes
     * (seq) before we stop looking; later ones see on false. */
    atomic_store_explicit(&cpu.on, false, memory_order_relaxed);
    drain_locked();
    btable tab = cpu.tab;
    memset(&cpu.tab, 0, sizeof cpu.tab);
    int fd = cpu.fd;
    int64_t dur = gort_nanotime() - cpu.start, wall = cpu.start_wall;
    uint64_t lost = atomic_load_explicit(&cpu.lost, memory_order_relaxed);
    cpu.running = false;
    gort__unlock(&cpu.lock);

    gort__prof *p = gort__prof_new();
    if (p == NULL) {
        bt_free(&tab);
        return;
    }
    gort__prof_valuetype(p, 1, "samples", "count");
    gort__prof_valuetype(p, 1, "cpu", "nanoseconds");
    BT_FOREACH(&tab, b) {
        int64_t v[2] = {b->v[0], b->v[0] * CPU_PERIOD_NS};
        gort__prof_sample(p, b->pcs, b->n, v, 2, b->labels, NULL, 0);
    }
    if (lost > 0) {
        uintptr_t pc = (uintptr_t)gort_pprof_stop_cpu + 1;
        int64_t v[2] = {(int64_t)lost, (int64_t)lost * CPU_PERIOD_NS};
        gort__prof_sample(p, &pc, 1, v, 2, NULL, NULL, 0);
    }
    bt_free(&tab);
    gort__prof_valuetype(p, 11, "cpu", "nanoseconds");
    gort__prof_int(p, 12, CPU_PERIOD_NS);
    gort__pbuf out = {0};
    if (gort__prof_finish(p, wall, dur, &out) == 0)
        (void)gort__write_all(fd, out.b, out.n, true);
    gort__pb_free(&out);
    gort__prof_free(p);
}

/* ------------------------------------------------------------------------
 * Block and mutex profiles
 * ------------------------------------------------------------------------ */

_Atomic int64_t gort__blockprof_rate;
_Atomic int32_t gort__mutexprof_rate;
static gort__rtlock blocklock = GORT__RTLOCK_INIT(LOCKRANK_BLOCKPROF);
static btable blocktab; /* [blocklock] count, v[0] its integer part, v[1] ns */
static btable mutextab; /* [blocklock] count, v[0] its integer part, v[1] ns */

void gort_set_block_profile_rate(int rate) {
    atomic_store_explicit(&gort__blockprof_rate, rate <= 0 ? 0 : rate, memory_order_relaxed);
}

int gort_set_mutex_profile_fraction(int rate) {
    if (rate < 0)
        return atomic_load_explicit(&gort__mutexprof_rate, memory_order_relaxed);
    return atomic_exchange_explicit(&gort__mutexprof_rate, rate, memory_order_relaxed);
}

static uint64_t fastrand64(void) {
    return (uint64_t)gort__fastrand() << 32 | gort__fastrand();
}

/* Go's saveblockevent: adds an event of cycles ns to the bucket of the
 * caller's stack (skip frames above record skipped).  rate: the block
 * profile's rate, or 0 (the mutex profile).  A block event shorter than
 * the rate was kept with probability cycles/rate, so it counts as
 * rate/cycles events of rate ns each, which removes the sampling bias
 * (golang.org/cl/299991); the count is fractional, as Go's float64, and
 * the profile shows its integer part (Go's BlockProfile: int64(bp.count)). */
static GORT_NOINLINE void record(btable *t, int64_t cycles, int64_t rate, int skip) {
    uintptr_t pcs[GORT__PROF_MAXSTACK];
    int n = gort__prof_callers(skip + 1, pcs, GORT__PROF_MAXSTACK);
    gort__lock(&blocklock);
    bucket *b = bt_get(t, pcs, n, NULL);
    if (b != NULL) {
        if (cycles < rate) {
            b->count += (double)rate / (double)cycles;
            b->v[1] += rate;
        } else {
            b->count++;
            b->v[1] += cycles;
        }
        b->v[0] = (int64_t)b->count;
    }
    gort__unlock(&blocklock);
}

/* Go's blockevent/blocksampled: an event of ns nanoseconds is kept if
 * ns >= rate, else with probability ns/rate. */
GORT_NOINLINE void gort__blockevent(int64_t ns, uint8_t reason) {
    (void)reason;
    int64_t rate = atomic_load_explicit(&gort__blockprof_rate, memory_order_relaxed);
    if (ns <= 0)
        ns = 1;
    if (rate <= 0 || (rate > ns && (int64_t)(fastrand64() % (uint64_t)rate) > ns))
        return;
    record(&blocktab, ns, rate, 1); /* skip gort__gopark */
    GORT_NO_TAILCALL();             /* record skips our frame too */
}

/* Go's mutexevent: one in rate contention events, at the unlock, with the
 * unlocker's stack; the profile scales by the rate. */
GORT_NOINLINE void gort__mutexevent(int64_t ns) {
    int32_t rate = atomic_load_explicit(&gort__mutexprof_rate, memory_order_relaxed);
    if (rate <= 0 || gort__fastrand() % (uint32_t)rate != 0)
        return;
    record(&mutextab, ns < 0 ? 0 : ns, 0, 1); /* skip gort__semrelease */
    GORT_NO_TAILCALL();                       /* record skips our frame too */
}

/* ------------------------------------------------------------------------
 * Heap profile (the recording side; the collected heap calls it)
 * ------------------------------------------------------------------------ */

/* MemProfileRate: one sample per this many bytes allocated, on average
 * (1: every object; <= 0: none).  [atomic] */
_Atomic int64_t gort__memprof_rate = 512 * 1024;

/* Go's memRecord cycles.  A sampled allocation made during profile cycle
 * c counts in future[(c+2) % 3], a free found by the sweep that follows
 * mark termination c in future[(c+1) % 3]; mark termination makes c+1
 * (next_cycle), after it future[c % 3] is published into the bucket's v
 * (flush), and once that cycle's sweep is done, future[(c+1) % 3] as well
 * (postsweep).  So the profile shows every allocation up to the last mark
 * termination and the frees that cycle found: the heap as of the last
 * completed collection, never half a cycle. */
typedef struct memrec {
    int64_t future[3][4]; /* as v: alloc objects, alloc bytes, free objects, free bytes */
} memrec;

/* Go's profile special: a sampled object of a span (mspan.specials). */
typedef struct gort__mprof_special {
    struct gort__mprof_special *next;
    bucket *b;         /* its stack's bucket in heaptab */
    uintptr_t size;    /* bytes sampled (the object's size class) */
    uint32_t objindex; /* the object's index in its span */
} mspecial;

static gort__rtlock heaplock = GORT__RTLOCK_INIT(LOCKRANK_HEAPPROF);
/* [heaplock] v: the published counts (Go's memRecord.active); mr: the
 * counts of the cycles still in progress. */
static btable heaptab;
static uint32_t mprof_cycle;          /* [heaplock] Go's mProfCycle */
static bool mprof_flushed;            /* [heaplock] future[cycle % 3] already published */
static mspecial *specialfree;         /* [heaplock] free specials */
static char *specialpos, *specialend; /* [heaplock] carving area (mmap'd, never unmapped) */

/* A special, or NULL when no memory is left.  From memory of its own (not
 * libc's: the sweeper frees them, and it may run with the world stopped). */
static mspecial *special_alloc(void) {
    mspecial *sp = specialfree;
    if (sp != NULL) {
        specialfree = sp->next;
        return sp;
    }
    if (specialpos == specialend) {
        size_t len = (size_t)64 << 10;
        void *m = gort__mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        specialpos = m;
        specialend = specialpos + len / sizeof(mspecial) * sizeof(mspecial);
    }
    sp = (mspecial *)specialpos;
    specialpos += sizeof(mspecial);
    return sp;
}

/* An exponentially distributed gap of mean `mean` bytes (Go's
 * fastexprand, whose mean is capped at 0x7000000), from a uniform 32-bit
 * draw u: -ln(u / 2^32) * mean, at least 1. */
static int64_t exprand(int64_t mean) {
    if (mean > 0x7000000)
        mean = 0x7000000;
    uint32_t r = gort__fastrand() | 1;
    /* r = 2^e (1 + m), m in [0, 1): ln r = e ln 2 + ln(1 + m), and
     * ln(1 + m) = 2 atanh(z) with z = m / (2 + m) in [0, 1/3), whose series
     * to z^9 is within 2e-6. */
    int e = 31 - __builtin_clz(r);
    double m = (double)r / (double)(1u << e) - 1.0;
    double z = m / (2.0 + m), z2 = z * z;
    double ln1m = 2 * z * (1 + z2 * (1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 / 9))));
    double x = (32 - e) * 0.6931471805599453 - ln1m; /* -ln(r / 2^32) >= 0 */
    if (x < 0)
        x = 0;
    return (int64_t)(x * (double)mean) + 1;
}

uintptr_t gort__mprof_next_sample(void) {
    /* Relaxed: a setting with nothing to publish; the caches' distances
     * are redrawn by the setter with the world stopped, which orders them. */
    int64_t rate = atomic_load_explicit(&gort__memprof_rate, memory_order_relaxed);
    if (rate <= 0)
        return UINTPTR_MAX;
    if (rate == 1)
        return 0;
    return (uintptr_t)exprand(rate);
}

GORT_API int gort_set_mem_profile_rate(int rate) {
    /* A preemption point: it stops the world (see gort_gc). */
    gort__preempt_check(gort__getg());
    /* Relaxed: see gort__mprof_next_sample. */
    int old = (int)atomic_exchange_explicit(&gort__memprof_rate, rate, memory_order_relaxed);
    gort__mcache_reset_samples();
    return old;
}

/* The frames a heap sample's stack starts with inside the runtime's own
 * code (__start_gort_text, internal.h) are cut, as Go's heap profile hides
 * runtime.mallocgc and its callers down to the user's. */
GORT_NOINLINE void gort__mprof_malloc(mspan *s, uintptr_t v, uintptr_t size) {
    uintptr_t pcs[GORT__PROF_MAXSTACK];
    int n = gort__prof_callers(0, pcs, GORT__PROF_MAXSTACK);
    uintptr_t lo = (uintptr_t)__start_gort_text, hi = (uintptr_t)__stop_gort_text;
    int k = 0;
    while (k < n && pcs[k] > lo && pcs[k] <= hi) /* return addresses: after the call */
        k++;
    gort__lock(&heaplock);
    /* Out of memory for the record: the sample is lost (as the other
     * profiles lose theirs); the object itself is fine. */
    bucket *b = bt_get(&heaptab, pcs + k, n - k, NULL);
    if (b != NULL && b->mr == NULL)
        b->mr = gort__fixalloc(sizeof *b->mr);
    mspecial *sp = b != NULL && b->mr != NULL ? special_alloc() : NULL;
    if (sp == NULL) {
        gort__unlock(&heaplock);
        return;
    }
    int64_t *f = b->mr->future[(mprof_cycle + 2) % 3];
    f[0]++;
    f[1] += (int64_t)size;
    sp->b = b;
    sp->size = size;
    sp->objindex = s->nelems > 1 ? gort__span_objindex(s, v) : 0;
    /* The caller owns s: nobody else reads or writes its specials now. */
    sp->next = s->specials;
    s->specials = sp;
    gort__unlock(&heaplock);
}

void gort__mprof_sweep(mspan *s) {
    gort__lock(&heaplock);
    uint32_t c = (mprof_cycle + 1) % 3;
    for (mspecial **pp = &s->specials; *pp != NULL;) {
        mspecial *sp = *pp;
        if (s->markbits[sp->objindex / 64] >> (sp->objindex % 64) & 1) {
            pp = &sp->next;
            continue;
        }
        int64_t *f = sp->b->mr->future[c];
        f[2]++;
        f[3] += (int64_t)sp->size;
        *pp = sp->next;
        sp->next = specialfree;
        specialfree = sp;
    }
    gort__unlock(&heaplock);
}

/* Adds future[i] of every bucket into its published counts. */
static void publish_locked(uint32_t i) {
    BT_FOREACH(&heaptab, b) {
        if (b->mr == NULL)
            continue;
        for (int j = 0; j < 4; j++) {
            b->v[j] += b->mr->future[i][j];
            b->mr->future[i][j] = 0;
        }
    }
}

void gort__mprof_next_cycle(void) {
    gort__lock(&heaplock);
    mprof_cycle++;
    mprof_flushed = false;
    gort__unlock(&heaplock);
}

void gort__mprof_flush(void) {
    gort__lock(&heaplock);
    if (!mprof_flushed)
        publish_locked(mprof_cycle % 3);
    mprof_flushed = true;
    gort__unlock(&heaplock);
}

uint32_t gort__mprof_cycle(void) {
    gort__lock(&heaplock);
    uint32_t c = mprof_cycle;
    gort__unlock(&heaplock);
    return c;
}

void gort__mprof_postsweep(uint32_t cycle) {
    gort__lock(&heaplock);
    /* A cycle that has begun since would have its sweep half done. */
    if (mprof_cycle == cycle)
        publish_locked((mprof_cycle + 1) % 3);
    gort__unlock(&heaplock);
}

/* exp(x) for x <= 0 without libm: x / 2^k into [-1/16, 0], a Taylor
 * polynomial, then k squarings. */
static double expneg(double x) {
    if (x < -700)
        return 0;
    int k = 0;
    while (x < -0.0625) {
        x /= 2;
        k++;
    }
    double r = 1 + x * (1 + x / 2 * (1 + x / 3 * (1 + x / 4 * (1 + x / 5))));
    while (k-- > 0)
        r *= r;
    return r;
}

/* Go's scaleHeapSample: unsample count objects of size bytes in all. */
static void scaleheap(int64_t count, int64_t size, int64_t rate, int64_t *c, int64_t *s) {
    if (count == 0 || size == 0) {
        *c = *s = 0;
        return;
    }
    if (rate <= 1) {
        *c = count;
        *s = size;
        return;
    }
    double avg = (double)size / (double)count;
    double scale = 1 / (1 - expneg(-avg / (double)rate));
    *c = (int64_t)((double)count * scale);
    *s = (int64_t)((double)size * scale);
}

/* ------------------------------------------------------------------------
 * threadcreate
 * ------------------------------------------------------------------------ */

static gort__rtlock tclock = GORT__RTLOCK_INIT(LOCKRANK_THREADPROF);
static btable tctab; /* [tclock] v[0]: threads created from that stack */

void gort__prof_newm(void) {
    uintptr_t pcs[GORT__PROF_MAXSTACK];
    int n = gort__prof_callers(0, pcs, GORT__PROF_MAXSTACK);
    gort__lock(&tclock);
    bucket *b = bt_get(&tctab, pcs, n, NULL);
    if (b != NULL)
        b->v[0]++;
    gort__unlock(&tclock);
}

/* ------------------------------------------------------------------------
 * gort_pprof_write
 * ------------------------------------------------------------------------ */

/* A copy of a table taken under its lock, so that symbolising (slow) runs
 * without it. */
static int bt_copy(btable *dst, btable *src, gort__rtlock *l) {
    int err = 0;
    gort__lock(l);
    BT_FOREACH(src, b) {
        bucket *c = bt_get(dst, b->pcs, b->n, b->labels);
        if (c == NULL) {
            err = -ENOMEM;
            break;
        }
        memcpy(c->v, b->v, sizeof c->v);
    }
    gort__unlock(l);
    return err;
}

typedef struct gstacks {
    btable tab;
    struct g *self;
    int64_t total;
    bool oom;
} gstacks;

static void collect_g(struct g *gp, void *arg) {
    gstacks *gs = arg;
    uint32_t st = atomic_load_explicit(&gp->status, memory_order_relaxed);
    if (st == G_DEAD || st == G_IDLE || gp->foreign || gp == gs->self || gort__trace_is_sysg(gp))
        return;
    uintptr_t pcs[GORT__PROF_MAXSTACK];
    int n = gort__traceback_pcs(gp, pcs, GORT__PROF_MAXSTACK);
    /* A parked goroutine's stack starts in the switch machinery, whose
     * frames differ between the park paths (switch_direct, mcall): start
     * it at the runtime call that switched, as Go's start at gopark, so
     * that goroutines waiting in the same place share one stack.  (One
     * running, suspended by the stop, starts where it was.) */
    int skip = 0;
    for (int i = 0; i < n && i < 4 && st != G_RUNNING; i++) {
        const char *name = NULL;
        uintptr_t start = 0;
        if (gort__symtab_lookup(pcs[i] - 1, &start, NULL, &name) == 0 && name != NULL &&
            strncmp(name, "gort", 4) == 0) {
            /* Each park path returns to a call of its own in that
             * function (gort__gopark's direct switch or mcall): one pc
             * for all, the function's entry, as Go's stacks share
             * gopark's single call of mcall. */
            skip = i;
            pcs[i] = start + 1;
            break;
        }
    }
    bucket *b = bt_get(&gs->tab, pcs + skip, n - skip, gp->labels);
    if (b == NULL) {
        gs->oom = true;
        return;
    }
    b->v[0]++;
    gs->total++;
}

static GORT_NOINLINE int goroutine_stacks(gstacks *gs) {
    struct g *self = gort__getg();
    gs->self = self;
    if (self != NULL) {
        uintptr_t pcs[GORT__PROF_MAXSTACK];
        /* Skips build and the API function that called it
         * (gort_pprof_write, ..._snapshot_take, ..._write_delta). */
        int n = gort__prof_callers(2, pcs, GORT__PROF_MAXSTACK);
        bucket *b = bt_get(&gs->tab, pcs, n, self->labels);
        if (b == NULL)
            return -ENOMEM;
        b->v[0]++;
        gs->total++;
    }
    if (gort__runtime_running()) {
        bool stw = self != NULL;
        if (stw)
            gort__stop_the_world_malloc("goroutine profile");
        gort__forallg(collect_g, gs);
        if (stw)
            gort__start_the_world();
    }
    return gs->oom ? -ENOMEM : 0;
}

/* The length of the UTF-8 sequence at s (1 to 4 bytes) and its code point
 * in *r, or 0 if it is not valid UTF-8 (Go's utf8.DecodeRuneInString
 * returning RuneError, 1): a continuation byte first, an overlong form, a
 * surrogate, a code point above U+10FFFF, or a sequence cut short. */
static int utf8_decode(const unsigned char *s, uint32_t *r) {
    unsigned char c = s[0];
    int n;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c < 0x80) {
        *r = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        *r = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        *r = c & 0x0f;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        *r = c & 0x07;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        unsigned char x = s[i]; /* the NUL that ends s fails the check */
        if (x < (i == 1 ? lo : 0x80) || x > (i == 1 ? hi : 0xbf))
            return 0;
        *r = *r << 6 | (x & 0x3f);
    }
    return n;
}

/* Whether Go's strconv.IsPrint holds for the non-ASCII code point r:
 * Unicode's letters, marks, numbers, punctuation and symbols.  Without
 * Unicode's tables, every code point is taken as one except the common
 * others: the C1 controls, the spaces other than U+0020, the format
 * characters (soft hyphen, zero-width and bidirectional controls, the
 * BOM), private use and the noncharacters U+FFFE and U+FFFF.  (Go also
 * escapes unassigned code points.) */
static bool rune_printable(uint32_t r) {
    if (r <= 0xa0 || r == 0xad || r == 0x1680 || r == 0x3000 || r == 0xfeff)
        return false;
    if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f))
        return false;
    if ((r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000) /* private use */
        return false;
    return !(r >= 0xfff9 && r <= 0xfffb) && r != 0xfffe && r != 0xffff;
}

/* s as Go's strconv.Quote (%q) writes it: in double quotes, with \" and
 * \\, the C escapes \a \b \f \n \r \t \v, other control bytes and each
 * byte of invalid UTF-8 as \xHH, non-printable code points as \uHHHH or
 * \UHHHHHHHH; printable non-ASCII stays as it is. */
static void text_quote(gort__pbuf *o, const char *str) {
    static const char esc[] = "abtnvfr"; /* \a (7) to \r (13) */
    const unsigned char *s = (const unsigned char *)str;
    gort__pb_put(o, "\"", 1);
    while (*s != '\0') {
        uint32_t r;
        int n = utf8_decode(s, &r);
        if (n == 0) {
            gort__pb_printf(o, "\\x%02x", s[0]);
            s++;
            continue;
        }
        if (r == '"' || r == '\\')
            gort__pb_printf(o, "\\%c", (int)r);
        else if (r >= 0x20 && r < 0x7f)
            gort__pb_put(o, s, 1);
        else if (r >= 7 && r <= 13)
            gort__pb_printf(o, "\\%c", esc[r - 7]);
        else if (r < 0x20 || r == 0x7f)
            gort__pb_printf(o, "\\x%02x", (unsigned)r);
        else if (rune_printable(r))
            gort__pb_put(o, s, (size_t)n);
        else if (r < 0x10000)
            gort__pb_printf(o, "\\u%04x", (unsigned)r);
        else
            gort__pb_printf(o, "\\U%08x", (unsigned)r);
        s += n;
    }
    gort__pb_put(o, "\"", 1);
}

/* Go's labelMap.String: each key and value formatted with %q. */
static void text_labels(gort__pbuf *o, const gort__labelset *l) {
    if (l == NULL)
        return;
    gort__pb_printf(o, "# labels: {");
    for (int i = 0; i < l->n; i++) {
        if (i > 0)
            gort__pb_printf(o, ", ");
        text_quote(o, l->kv[2 * i]);
        gort__pb_put(o, ":", 1);
        text_quote(o, l->kv[2 * i + 1]);
    }
    gort__pb_printf(o, "}\n");
}

/* The profile.proto a writer builds: a new one, or into (a collecting
 * snapshot's, gort_pprof_snapshot_take), which prof_close leaves as it
 * is, for gort__prof_delta. */
static gort__prof *prof_open(gort__prof *into) {
    return into != NULL ? into : gort__prof_new();
}

static int prof_close(gort__prof *p, gort__prof *into, gort__pbuf *out) {
    if (p == into)
        return 0; /* its oom is gort__prof_delta's to report */
    int err = gort__prof_finish(p, gort__walltime_ns(), 0, out);
    gort__prof_free(p);
    return err;
}

/* The text of a count profile (goroutine, threadcreate): Go's
 * printCountProfile, most frequent stacks first. */
static int cmp_bucket_desc(const void *a, const void *b) {
    const bucket *x = *(bucket *const *)a, *y = *(bucket *const *)b;
    return x->v[0] < y->v[0] ? 1 : x->v[0] > y->v[0] ? -1 : 0;
}

static bucket **sorted(btable *t) {
    bucket **arr = gort__malloc((t->n + 1) * sizeof *arr);
    if (arr == NULL)
        return NULL;
    uint32_t k = 0;
    BT_FOREACH(t, b) arr[k++] = b;
    qsort(arr, k, sizeof *arr, cmp_bucket_desc);
    return arr;
}

static int write_count(btable *t, const char *name, int debug, gort__prof *into, gort__pbuf *out) {
    if (debug > 0) {
        int64_t total = 0;
        BT_FOREACH(t, b) total += b->v[0];
        bucket **arr = sorted(t);
        if (arr == NULL)
            return -ENOMEM;
        gort__pb_printf(out, "%s profile: total %lld\n", name, (long long)total);
        for (uint32_t i = 0; i < t->n; i++) {
            bucket *b = arr[i];
            gort__pb_printf(out, "%lld", (long long)b->v[0]);
            gort__prof_text_pcs(out, b->pcs, b->n);
            text_labels(out, b->labels);
            gort__prof_text_stack(out, b->pcs, b->n);
            gort__pb_printf(out, "\n");
        }
        gort__free(arr);
        return out->oom ? -ENOMEM : 0;
    }
    gort__prof *p = prof_open(into);
    if (p == NULL)
        return -ENOMEM;
    gort__prof_valuetype(p, 1, name, "count");
    BT_FOREACH(t, b) gort__prof_sample(p, b->pcs, b->n, b->v, 1, b->labels, NULL, 0);
    gort__prof_valuetype(p, 11, name, "count");
    gort__prof_int(p, 12, 1);
    return prof_close(p, into, out);
}

/* block and mutex: contentions/count, delay/nanoseconds (Go's
 * printCountCycleProfile).  scale: the mutex profile's sampling rate. */
static int write_contention(btable *t, const char *name, int64_t scale, int debug, gort__prof *into,
                            gort__pbuf *out) {
    if (debug > 0) {
        gort__pb_printf(out, "--- %s:\ncycles/second=1000000000\n", name);
        if (scale > 0)
            gort__pb_printf(out, "sampling period=%lld\n", (long long)scale);
        bucket **arr = sorted(t);
        if (arr == NULL)
            return -ENOMEM;
        for (uint32_t i = 0; i < t->n; i++) {
            bucket *b = arr[i];
            gort__pb_printf(out, "%lld %lld", (long long)b->v[1], (long long)b->v[0]);
            gort__prof_text_pcs(out, b->pcs, b->n);
            gort__prof_text_stack(out, b->pcs, b->n);
        }
        gort__free(arr);
        return out->oom ? -ENOMEM : 0;
    }
    gort__prof *p = prof_open(into);
    if (p == NULL)
        return -ENOMEM;
    gort__prof_valuetype(p, 1, "contentions", "count");
    gort__prof_valuetype(p, 1, "delay", "nanoseconds");
    int64_t k = scale > 0 ? scale : 1;
    BT_FOREACH(t, b) {
        int64_t v[2] = {b->v[0] * k, b->v[1] * k};
        gort__prof_sample(p, b->pcs, b->n, v, 2, NULL, NULL, 0);
    }
    gort__prof_valuetype(p, 11, "contentions", "count");
    gort__prof_int(p, 12, 1);
    return prof_close(p, into, out);
}

/* The MemStats trailer of Go's debug=1 heap profile (pprof ignores it),
 * with the fields gort keeps. */
static void text_memstats(gort__pbuf *out) {
    gort_stats st;
    gort_read_stats(&st);
    gort__pb_printf(
        out,
        "\n# runtime.MemStats\n# Alloc = %llu\n# TotalAlloc = %llu\n"
        "# Mallocs = %llu\n# Frees = %llu\n# HeapAlloc = %llu\n# HeapSys = %llu\n"
        "# HeapIdle = %llu\n# HeapInuse = %llu\n# HeapReleased = %llu\n"
        "# HeapObjects = %llu\n\n# Stack = %llu / %llu\n# NextGC = %llu\n"
        "# LastGC = %llu\n# PauseNs = [",
        (unsigned long long)st.heap_alloc_bytes, (unsigned long long)st.total_alloc_bytes,
        (unsigned long long)st.mallocs, (unsigned long long)st.frees,
        (unsigned long long)st.heap_alloc_bytes, (unsigned long long)st.heap_sys_bytes,
        (unsigned long long)st.heap_idle_bytes, (unsigned long long)st.heap_inuse_bytes,
        (unsigned long long)st.heap_released_bytes, (unsigned long long)st.heap_objects,
        (unsigned long long)st.stack_inuse_bytes, (unsigned long long)st.stack_sys_bytes,
        (unsigned long long)st.next_gc_bytes, (unsigned long long)st.last_gc_unix_ns);
    for (int i = 0; i < 256; i++)
        gort__pb_printf(out, i ? " %llu" : "%llu", (unsigned long long)st.pause_ns[i]);
    gort__pb_printf(out, "]\n# NumGC = %llu\n# GCCPUFraction = %g\n", (unsigned long long)st.num_gc,
                    st.gc_cpu_fraction);
}

/* heap and allocs: Go's writeHeapProto / the legacy "heap profile:" text. */
static int write_heap(btable *t, bool allocs, int debug, gort__prof *into, gort__pbuf *out) {
    /* Relaxed: a setting (see gort__mprof_next_sample). */
    int64_t rate = atomic_load_explicit(&gort__memprof_rate, memory_order_relaxed);
    if (debug > 0) {
        int64_t tot[4] = {0};
        BT_FOREACH(t, b) for (int i = 0; i < 4; i++) tot[i] += b->v[i];
        gort__pb_printf(out, "heap profile: %lld: %lld [%lld: %lld] @ heap/%lld\n",
                        (long long)(tot[0] - tot[2]), (long long)(tot[1] - tot[3]),
                        (long long)tot[0], (long long)tot[1], (long long)(2 * rate));
        BT_FOREACH(t, b) {
            gort__pb_printf(out, "%lld: %lld [%lld: %lld]", (long long)(b->v[0] - b->v[2]),
                            (long long)(b->v[1] - b->v[3]), (long long)b->v[0], (long long)b->v[1]);
            gort__prof_text_pcs(out, b->pcs, b->n);
            gort__prof_text_stack(out, b->pcs, b->n);
        }
        text_memstats(out);
        return out->oom ? -ENOMEM : 0;
    }
    gort__prof *p = prof_open(into);
    if (p == NULL)
        return -ENOMEM;
    gort__prof_valuetype(p, 1, "alloc_objects", "count");
    gort__prof_valuetype(p, 1, "alloc_space", "bytes");
    gort__prof_valuetype(p, 1, "inuse_objects", "count");
    gort__prof_valuetype(p, 1, "inuse_space", "bytes");
    BT_FOREACH(t, b) {
        int64_t v[4];
        scaleheap(b->v[0], b->v[1], rate, &v[0], &v[1]);
        scaleheap(b->v[0] - b->v[2], b->v[1] - b->v[3], rate, &v[2], &v[3]);
        int64_t blocksize = b->v[0] > 0 ? b->v[1] / b->v[0] : 0;
        gort__prof_sample(p, b->pcs, b->n, v, 4, NULL, "bytes", blocksize);
    }
    gort__prof_valuetype(p, 11, "space", "bytes");
    gort__prof_int(p, 12, rate);
    if (allocs)
        gort__prof_int(p, 14, gort__prof_str(p, "alloc_space"));
    return prof_close(p, into, out);
}

/* debug=2 goroutine: every goroutine's dump (runtime.Stack(all)). */
static int write_dump(gort__pbuf *out) {
    size_t len = 1 << 16;
    for (;;) {
        gort__pb_grow(out, len);
        if (out->oom)
            return -ENOMEM;
        size_t n = gort_stack((char *)out->b + out->n, len, true);
        if (n + 1 < len) {
            out->n += n;
            return 0;
        }
        len *= 2;
    }
}

/* Profile name as gort_pprof_write writes it: its text or gzipped proto
 * into out, or (debug 0, into a collecting profile) its samples into
 * into.  -EINVAL for an unknown name.  Called straight from the API
 * functions, so that the goroutine profile starts the calling goroutine's
 * stack at their caller (goroutine_stacks skips this frame and theirs). */
static GORT_NOINLINE int build(const char *name, int debug, gort__prof *into, gort__pbuf *out) {
    /* A preemption point (gort_pprof_write, ..._snapshot_take,
     * ..._write_delta): the goroutine profile stops the world, and the
     * others run nearly all their time in runtime code and libdw, where
     * no signal preempts (see gort_gc). */
    gort__preempt_check(gort__getg());
    btable t = {0};
    int err;
    if (strcmp(name, "goroutine") == 0) {
        if (debug >= 2) {
            err = write_dump(out);
        } else {
            gstacks gs = {0};
            err = goroutine_stacks(&gs);
            t = gs.tab;
            if (err == 0)
                err = write_count(&t, "goroutine", debug, into, out);
        }
    } else if (strcmp(name, "threadcreate") == 0) {
        err = bt_copy(&t, &tctab, &tclock);
        /* The thread that called gort_main, Go's m0: one sample with no
         * stack, as Go's profile has (the total was 0 with only the main
         * thread).  Added here, not at start-up: allocating the table
         * then made timer_churn 15% slower (135 -> 155 ns), through where
         * the later malloc'd timers and channels landed (not found why). */
        uintptr_t none[1] = {0};
        bucket *m0 = err == 0 ? bt_get(&t, none, 0, NULL) : NULL;
        if (err == 0 && m0 == NULL)
            err = -ENOMEM;
        if (m0 != NULL)
            m0->v[0]++;
        if (err == 0)
            err = write_count(&t, "threadcreate", debug, into, out);
    } else if (strcmp(name, "block") == 0) {
        err = bt_copy(&t, &blocktab, &blocklock);
        if (err == 0)
            err = write_contention(&t, "contention", 0, debug, into, out);
    } else if (strcmp(name, "mutex") == 0) {
        err = bt_copy(&t, &mutextab, &blocklock);
        if (err == 0)
            err = write_contention(
                &t, "mutex", atomic_load_explicit(&gort__mutexprof_rate, memory_order_relaxed),
                debug, into, out);
    } else if (strcmp(name, "heap") == 0 || strcmp(name, "allocs") == 0) {
        err = bt_copy(&t, &heaptab, &heaplock);
        if (err == 0)
            err = write_heap(&t, name[0] == 'a', debug, into, out);
    } else {
        err = -EINVAL;
    }
    bt_free(&t);
    return err;
}

GORT_NOINLINE int gort_pprof_write(const char *name, int fd, int debug) {
    if (name == NULL || fd < 0)
        return -EINVAL;
    gort__pbuf out = {0};
    int err = build(name, debug, NULL, &out);
    if (err == 0)
        err = out.oom ? -ENOMEM : gort__write_all(fd, out.b, out.n, true);
    gort__pb_free(&out);
    return err;
}

/* A snapshot owns its collecting profile; after gort_pprof_snapshot_take
 * returns it is only read (gort__prof_delta takes it as const), so deltas
 * against one base may run on several goroutines at once. */
struct gort_pprof_snapshot {
    gort__prof *p;
    int64_t time_nanos; /* the wall clock once taken: Go's collectProfile's time.Now() */
    char name[16];
};

GORT_NOINLINE int gort_pprof_snapshot_take(const char *name, gort_pprof_snapshot **out) {
    if (out != NULL)
        *out = NULL;
    if (name == NULL || out == NULL || strlen(name) >= sizeof((gort_pprof_snapshot *)0)->name)
        return -EINVAL;
    gort_pprof_snapshot *s = gort__calloc(1, sizeof *s);
    gort__prof *p = s != NULL ? gort__prof_new() : NULL;
    if (p == NULL) {
        gort__free(s);
        return -ENOMEM;
    }
    gort__prof_collect(p);
    gort__pbuf unused = {0};
    int err = build(name, 0, p, &unused);
    gort__pb_free(&unused);
    if (err != 0) {
        gort__prof_free(p);
        gort__free(s);
        return err;
    }
    s->p = p;
    s->time_nanos = gort__walltime_ns();
    strcpy(s->name, name);
    *out = s;
    return 0;
}

GORT_NOINLINE int gort_pprof_write_delta(const gort_pprof_snapshot *base, int fd) {
    if (base == NULL || fd < 0)
        return -EINVAL;
    gort__prof *p = gort__prof_new();
    if (p == NULL)
        return -ENOMEM;
    gort__prof_collect(p);
    gort__pbuf out = {0};
    int err = build(base->name, 0, p, &out);
    /* Go: TimeNanos is p1's time, DurationNanos p1's minus p0's. */
    int64_t now = gort__walltime_ns();
    if (err == 0)
        err = gort__prof_delta(p, base->p);
    if (err == 0)
        err = gort__prof_finish(p, now, now - base->time_nanos, &out);
    gort__prof_free(p);
    if (err == 0)
        err = out.oom ? -ENOMEM : gort__write_all(fd, out.b, out.n, true);
    gort__pb_free(&out);
    return err;
}

void gort_pprof_snapshot_free(gort_pprof_snapshot *s) {
    if (s == NULL)
        return;
    gort__prof_free(s->p);
    gort__free(s);
}
