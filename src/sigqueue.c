/*
 * sigqueue.c - signals into channels (os/signal's Notify and Stop).
 * Mirrors runtime/sigqueue.go (the signal-safe queue: one pending bit per
 * signal, so arrivals of one kind coalesce until they are taken) and
 * os/signal/signal.go (the handlers table and the loop goroutine that
 * delivers without blocking).
 *
 * The handler runs on whatever thread the kernel picks, in any state, so
 * it only does what is async-signal-safe: an atomic OR of the signal's bit
 * into pending and, when it set the bit (0 -> 1), a one-byte write to a
 * nonblocking pipe.  The loop goroutine ("os/signal.loop", started by the
 * first Notify of a run) blocks in gort_read on the pipe's read end - in
 * the netpoller, so it holds no thread and does not count as a deadlock,
 * as Go's signal_recv - then takes the pending bits with an exchange and
 * sends each signal to every channel that wants it with gort_chan_trysend:
 * a channel that is not ready misses it (Go's non-blocking delivery).
 *
 * Why the bit before the byte: the loop reads (at least) one byte, then
 * exchanges pending to 0.  A handler whose fetch_or comes before the
 * exchange in pending's modification order has its signal taken by it; one
 * whose fetch_or comes after finds the bit clear, sets it and writes a new
 * byte, which wakes the loop again.  No signal is lost, and the pipe holds
 * at most one byte per signal number between two exchanges, so it never
 * fills (a full pipe would only drop a wake-up byte for bits that a
 * pending byte already covers).
 *
 * regmu (a gort_mutex: Notify and Stop run in goroutines or foreign
 * threads) guards the registrations, the per-signal counts, the saved
 * actions and the loop's start; the loop holds it while it delivers, so
 * once Stop returns, the channel receives nothing more (Go's guarantee).
 * When gort_main ends (gort__sigqueue_fini, after every M has stopped),
 * the saved actions come back and the registrations are forgotten.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "fault.h"
#include "internal.h"

#define NWORDS ((NSIG + 63) / 64)

/* One channel's signals. */
typedef struct sigreg {
    gort_chan *c;
    uint64_t want[NWORDS]; /* bit s: signal s */
} sigreg;

static gort_mutex regmu;
/* A goroutine holds regmu (set after the lock, cleared before the unlock,
 * by the holder): one abandoned holding it when gort_main returns (Stop
 * sleeps with it held) leaves it to gort__sigqueue_fini to unlock. */
static bool reg_goroutine;               /* [regmu] */
static sigreg *regs;                     /* [regmu] */
static int nregs, capregs;               /* [regmu] */
static int nwant[NSIG];                  /* [regmu] channels that want signal s */
static struct sigaction saved[NSIG];     /* [regmu] the action before the first Notify */
static bool loop_started;                /* [regmu] this run's loop goroutine exists */
static _Atomic uint64_t pending[NWORDS]; /* [atomic] arrived, not yet taken */
/* The signals some channel wants (nwant[s] > 0), written under regmu, and
 * a count of the changes to them, for sysmon's thread mask. */
static _Atomic uint64_t notified[NWORDS];
static _Atomic uint32_t notified_gen;
/* The last notified_gen sysmon's mask reflects (sysmon writes it). */
static _Atomic uint32_t applied_gen;
/* The wake-up pipe, made once per process (the handler may run at any
 * time after a Notify, even between runs). */
static _Atomic int wake_r = -1, wake_w = -1;

/* SA_SIGINFO: the race mode announcement below needs the sender. */
static void notify_handler(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    int e = errno;
    uint64_t bit = UINT64_C(1) << (sig % 64);
    /* Race mode (edge 29): a raise(3) or a pthread_kill of the calling
     * thread (tgkill from our own process: SI_TKILL; the handler then runs
     * on the raising thread, with its goroutine's history) -> the receive
     * of the delivery that carries it, which the loop's acquire on the
     * same word orders after it (merged: a coalesced arrival adds its
     * history to the one pending).  Before the fetch_or, so that an
     * exchange that takes the bit finds the release made.  An arrival from
     * kill(2) or another thread is handled on whatever thread the kernel
     * (or TSan, which runs a deferred handler at the thread's next
     * intercepted call) picks, whose history is no edge of the sender's:
     * it releases nothing. */
    if (san_tsan_on() && info != NULL && info->si_code == SI_TKILL && info->si_pid == getpid())
        san_release(&pending[sig / 64]);
    /* seq_cst: against the loop's exchange (see the file comment). */
    uint64_t old = atomic_fetch_or_explicit(&pending[sig / 64], bit, memory_order_seq_cst);
    if (!(old & bit)) {
        ssize_t r = write(atomic_load_explicit(&wake_w, memory_order_relaxed), "", 1);
        (void)r; /* EAGAIN: bytes are waiting already, the loop will look */
    }
    errno = e;
}

/* regmu held.  Signal s is wanted now (on) or no longer. */
static void notified_set(int s, bool on) {
    uint64_t bit = UINT64_C(1) << (s % 64);
    if (on)
        atomic_fetch_or_explicit(&notified[s / 64], bit, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&notified[s / 64], ~bit, memory_order_relaxed);
    /* Release: sysmon's acquire of the count sees the bit changed above
     * (and a later change, if any, with the count after it). */
    atomic_fetch_add_explicit(&notified_gen, 1, memory_order_release);
}

/* Go's ensureSigM keeps a thread locked to a goroutine that unblocks every
 * notified signal; here sysmon's thread, which runs no goroutine and whose
 * sleeps a signal only cuts short, does: a process-directed signal goes to
 * a thread that does not block it, and the handler (notify_handler) may
 * run on any thread.  It applies a change within a round (10 ms at most).
 * A signal that arrived while every thread blocked it stays pending and
 * is delivered when sysmon unblocks it. */
void gort__sigqueue_sysmon(uint32_t *seen, const sigset_t *base) {
    /* Acquire: pairs with notified_set's release. */
    uint32_t gen = atomic_load_explicit(&notified_gen, memory_order_acquire);
    if (gen == *seen)
        return;
    *seen = gen;
    sigset_t m = *base;
    for (int w = 0; w < NWORDS; w++) {
        uint64_t bits = atomic_load_explicit(&notified[w], memory_order_relaxed);
        while (bits) {
            int b = __builtin_ctzll(bits);
            bits &= bits - 1;
            sigdelset(&m, w * 64 + b);
        }
    }
    pthread_sigmask(SIG_SETMASK, &m, NULL);
    /* Release: a Stop that acquires it restores the signal's earlier
     * action only after this thread blocks it again. */
    atomic_store_explicit(&applied_gen, gen, memory_order_release);
}

/* regmu held.  Waits (at most a second) until sysmon's mask reflects the
 * notified set as of now, so that a signal no channel wants any more is
 * blocked again on sysmon's thread before its earlier action comes back:
 * SIGUSR2's default action would end the process (Go's sigdisable waits
 * for ensureSigM the same way). */
static void wait_sysmon_mask(void) {
    uint32_t want = atomic_load_explicit(&notified_gen, memory_order_relaxed);
    for (int i = 0; i < 10000; i++) {
        /* Acquire: pairs with gort__sigqueue_sysmon's release. */
        if ((int32_t)(atomic_load_explicit(&applied_gen, memory_order_acquire) - want) >= 0)
            return;
        if (!gort__sysmon_kick())
            return; /* no sysmon: no mask of its to wait for */
        if (gort__getg() != NULL && !gort__getg()->foreign)
            gort_sleep(100 * 1000);
        else
            usleep(100);
    }
}

/*
 * Takes regmu for a Notify, a Stop or a delivery.  A thread outside the
 * runtime counts itself in flight once it holds it (gort__foreign_enter),
 * so that gort__sigqueue_fini, which runs after shutdown's last wait for
 * such calls, never tears the registrations down under it; false (regmu
 * released) once the runtime stopped running, or, for a Notify (which may
 * start the loop goroutine), once shutdown began.  It counts only once it
 * holds regmu: a thread counted while it waited for regmu could hold up
 * shutdown behind a goroutine that shutdown abandons.
 */
static bool reg_lock(bool waking) {
    gort_mutex_lock(&regmu);
    struct g *gp = gort__getg();
    if (gp != NULL && !gp->foreign) {
        reg_goroutine = true;
        return true;
    }
    if (gort__foreign_enter(waking))
        return true;
    gort_mutex_unlock(&regmu);
    return false;
}

static void reg_unlock(void) {
    struct g *gp = gort__getg();
    bool foreign = gp == NULL || gp->foreign;
    reg_goroutine = false;
    gort_mutex_unlock(&regmu);
    if (foreign)
        gort__foreign_unpin();
}

/* Sends sig to every channel that wants it, without blocking. */
static void deliver(int sig) {
    if (!reg_lock(false))
        return;
    for (int i = 0; i < nregs; i++)
        if (regs[i].want[sig / 64] & (UINT64_C(1) << (sig % 64)))
            (void)gort_chan_trysend(regs[i].c, &sig);
    reg_unlock();
}

static void signal_loop(void *arg) {
    int rfd = (int)(intptr_t)arg;
    char buf[64];
    for (;;) {
        ssize_t n = gort_read(rfd, buf, sizeof buf);
        if (n < 0 && n != -EINTR && n != -EAGAIN) {
            gort__printf("os/signal: read of the wake-up pipe: errno %d\n", (int)-n);
            gort__throw("os/signal: signal loop failed");
        }
        for (int w = 0; w < NWORDS; w++) {
            /* seq_cst exchange: takes every bit set by a fetch_or before
             * it; acquire for nothing else (the bits are the message). */
            uint64_t bits = atomic_exchange_explicit(&pending[w], 0, memory_order_seq_cst);
            if (bits != 0)
                san_acquire(&pending[w]); /* <- the raises (race mode, notify_handler) */
            while (bits) {
                int b = __builtin_ctzll(bits);
                bits &= bits - 1;
                deliver(w * 64 + b);
            }
        }
    }
}

static bool notifiable(int s) {
    if (s <= 0 || s >= NSIG)
        return false;
    switch (s) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGPIPE:
    case SIGQUIT:
    case SIGURG:
    case SIGPROF:
        return false;
    default:
        /* 32 and 33: glibc's SIGCANCEL and SIGSETXID. */
        return s < 32 || s >= SIGRTMIN;
    }
}

/* regmu held.  The wake-up pipe and this run's loop goroutine. */
static int start_loop(void) {
    if (atomic_load_explicit(&wake_r, memory_order_relaxed) < 0) {
        int p[2];
        if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
            return -errno;
        atomic_store_explicit(&wake_r, p[0], memory_order_relaxed);
        /* The handler reads wake_w only after a sigaction we make below,
         * a system call after this store on this thread. */
        atomic_store_explicit(&wake_w, p[1], memory_order_relaxed);
    }
    if (loop_started)
        return 0;
    /* The loop serves every bubble and none: made by a goroutine of a
     * synctest bubble, it would have kept that bubble from ever ending. */
    int err = gort__go_system(signal_loop,
                              (void *)(intptr_t)atomic_load_explicit(&wake_r, memory_order_relaxed),
                              "os/signal.loop");
    if (err == 0)
        loop_started = true;
    return err;
}

GORT_API int gort_signal_notify(gort_chan *c, const int *sigs, int n) {
    if (c == NULL)
        gort_panic("os/signal: Notify using nil channel");
    if (c->elemsize != sizeof(int) || n < 0 || (n > 0 && sigs == NULL))
        return -EINVAL;
    uint64_t add[NWORDS] = {0};
    if (n == 0) {
        for (int s = 1; s < NSIG; s++)
            if (notifiable(s))
                add[s / 64] |= UINT64_C(1) << (s % 64);
    }
    for (int i = 0; i < n; i++) {
        if (!notifiable(sigs[i]))
            return -EINVAL;
        add[sigs[i] / 64] |= UINT64_C(1) << (sigs[i] % 64);
    }
    if (!gort__runtime_running() || !reg_lock(true))
        return -EAGAIN;
    int err = start_loop();
    sigreg *r = NULL;
    for (int i = 0; err == 0 && i < nregs && r == NULL; i++)
        if (regs[i].c == c)
            r = &regs[i];
    if (err == 0 && r == NULL) {
        if (nregs == capregs) {
            int ncap = capregs ? capregs * 2 : 8;
            sigreg *nr = realloc(regs, (size_t)ncap * sizeof *nr);
            if (nr == NULL)
                err = -ENOMEM;
            else {
                regs = nr;
                capregs = ncap;
            }
        }
        if (err == 0) {
            r = &regs[nregs++];
            memset(r, 0, sizeof *r);
            r->c = c;
        }
    }
    for (int s = 1; err == 0 && s < NSIG; s++) {
        uint64_t bit = UINT64_C(1) << (s % 64);
        if (!(add[s / 64] & bit) || (r->want[s / 64] & bit))
            continue;
        if (nwant[s] == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = notify_handler;
            sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
            sigfillset(&sa.sa_mask);
            if (sigaction(s, &sa, &saved[s]) != 0) {
                err = -errno;
                break;
            }
            notified_set(s, true);
        }
        nwant[s]++;
        r->want[s / 64] |= bit;
    }
    reg_unlock();
    return err;
}

/* Once the runtime stopped, there is nothing to stop: gort__sigqueue_fini
 * forgets every registration and restores the actions. */
GORT_API void gort_signal_stop(gort_chan *c) {
    if (!reg_lock(false))
        return;
    for (int i = 0; i < nregs; i++) {
        if (regs[i].c != c)
            continue;
        for (int s = 1; s < NSIG; s++) {
            if (!(regs[i].want[s / 64] & (UINT64_C(1) << (s % 64))))
                continue;
            if (--nwant[s] == 0) {
                notified_set(s, false);
                wait_sysmon_mask();
                (void)sigaction(s, &saved[s], NULL);
            }
        }
        regs[i] = regs[--nregs];
        break;
    }
    reg_unlock();
}

void gort__sigqueue_fini(void) {
    /* Every M has stopped, and every call of a thread outside the runtime
     * that holds regmu and counted itself has left (shutdown's waits);
     * one that takes regmu now finds the runtime stopped and touches
     * nothing else: nothing else touches the registrations. */
    for (int s = 1; s < NSIG; s++) {
        if (nwant[s] > 0) {
            notified_set(s, false);
            (void)sigaction(s, &saved[s], NULL);
        }
        nwant[s] = 0;
    }
    gort__free(regs);
    regs = NULL;
    nregs = capregs = 0;
    loop_started = false;
    /* A goroutine abandoned holding regmu: released for it (the next
     * waiter, a plain thread, then finds the runtime stopped).  A plain
     * thread may wait on regmu: it is not zeroed under it. */
    if (reg_goroutine) {
        reg_goroutine = false;
        gort_mutex_unlock(&regmu);
    }
    int r = atomic_load_explicit(&wake_r, memory_order_relaxed);
    char buf[64];
    while (r >= 0 && read(r, buf, sizeof buf) > 0) {
    }
    for (int w = 0; w < NWORDS; w++)
        atomic_store_explicit(&pending[w], 0, memory_order_relaxed);
}
