/*
 * For tests/gdb/gdb_test.sh: goroutines parked on a channel (one of them
 * locked to its thread), a mutex, a WaitGroup, a sleep (one with a stack
 * size of its own) and the network, two preempted while spinning and one
 * not started; then the main goroutine stops the program with SIGTRAP so
 * that gdb can look at it (live and in a core).
 */
#include <gort.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

gort_chan *park_chan;
gort_chan *locked_chan;
gort_mutex park_mutex;
gort_waitgroup park_wg;
/* Added to in a synctest bubble: its state has the bubble flag (bit 31,
 * next to the waiter count). */
gort_waitgroup bubble_wg;
static int lfd;
/* Goroutines about to make their parking call (a count: it publishes
 * nothing, the default seq_cst is more than enough). */
static atomic_int nparking;

__attribute__((noinline)) static void parked_on_chan(void *arg) {
    (void)arg;
    int v;
    atomic_fetch_add(&nparking, 1);
    gort_chan_recv(park_chan, &v);
}

/* Locked to its thread (gort_lock_os_thread), as dumps say in its header. */
__attribute__((noinline)) static void parked_locked(void *arg) {
    (void)arg;
    int v;
    gort_lock_os_thread();
    atomic_fetch_add(&nparking, 1);
    gort_chan_recv(locked_chan, &v);
}

__attribute__((noinline)) static void parked_on_mutex(void *arg) {
    (void)arg;
    atomic_fetch_add(&nparking, 1);
    gort_mutex_lock(&park_mutex);
    gort_mutex_unlock(&park_mutex);
}

/* Code built without frame pointers (a library built with the compiler's
 * defaults) between the user's function and the runtime: gdb must unwind
 * through it by its CFI, or parked_on_wg would be lost. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("omit-frame-pointer")))
#endif
__attribute__((noinline)) static void
wait_no_fp(gort_waitgroup *wg) {
    gort_wg_wait(wg);
}

__attribute__((noinline)) static void parked_on_wg(void *arg) {
    (void)arg;
    atomic_fetch_add(&nparking, 1);
    wait_no_fp(&park_wg);
}

__attribute__((noinline)) static void parked_on_sleep(void *arg) {
    (void)arg;
    atomic_fetch_add(&nparking, 1);
    gort_sleep(3600LL * 1000000000LL);
}

/* Started with a stack size of its own: its struct g is on the heap, its
 * stack a mapping of its own (in a gcore core, the record without the
 * stack). */
__attribute__((noinline)) static void parked_own_stack(void *arg) {
    (void)arg;
    atomic_fetch_add(&nparking, 1);
    gort_sleep(3600LL * 1000000000LL);
}

__attribute__((noinline)) static void parked_on_net(void *arg) {
    (void)arg;
    atomic_fetch_add(&nparking, 1);
    (void)gort_accept(lfd, NULL, NULL);
}

/* Two goroutines that never make a gort call, on the one P (GOMAXPROCS
 * 1): asynchronous preemption takes turns between them, so each is
 * runnable, stopped in the preemption trampoline (src/arch/
 * preempt_amd64.S), when the program stops. */
static atomic_int spin_stop;
static atomic_long spin_sink;

__attribute__((noinline)) static long spin_loop(long n) {
    long s = 0;
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) {
        s += n; /* relaxed: a counter no one waits for */
        atomic_store_explicit(&spin_sink, s, memory_order_relaxed);
    }
    return s;
}

__attribute__((noinline)) static void spinning(void *arg) {
    atomic_fetch_add(&nparking, 1);
    atomic_fetch_add(&spin_sink, spin_loop((long)(intptr_t)arg));
}

static void bubble_add(void *arg) {
    (void)arg;
    gort_wg_add(&bubble_wg, 1);
}

/* Created just before the program stops: runnable, not started. */
static void never_started(void *arg) {
    (void)arg;
}

/* Stops the program.  Inlined into main_fn: gdb_test.sh also stops it at
 * a breakpoint here, where the thread's innermost frame is an inline
 * frame (as libc's are, with its debug information, in a thread blocked
 * in read or epoll_wait that gdb -p finds). */
static inline __attribute__((always_inline)) void stop(void) {
    fprintf(stderr, "gdb_parked: ready\n");
    raise(SIGTRAP);
}

static int main_fn(void *arg) {
    (void)arg;
    park_chan = gort_chan_make(sizeof(int), 3);
    locked_chan = gort_chan_make(sizeof(int), 0);
    int one = 1;
    gort_chan_send(park_chan, &one);
    gort_chan_recv(park_chan, &one);
    gort_mutex_lock(&park_mutex);
    gort_wg_add(&park_wg, 2);
    lfd = gort_listen("127.0.0.1:0", 16);
    if (lfd < 0)
        return 1;
    gort_go(parked_on_chan, NULL);
    gort_go(parked_locked, NULL);
    gort_go(parked_on_mutex, NULL);
    gort_go(parked_on_wg, NULL);
    gort_go(parked_on_sleep, NULL);
    gort_go(parked_on_net, NULL);
    gort_go_attr own = {.stack_size = 1024 * 1024, .name = NULL};
    if (gort_go_attr_spawn(parked_own_stack, NULL, &own) != 0)
        return 1;
    gort_go(spinning, (void *)1);
    gort_go(spinning, (void *)2);
    /* Every one at its call (bounded: 60 s), then time to park in it. */
    for (int i = 0; i < 6000 && atomic_load(&nparking) < 9; i++)
        gort_sleep(10 * 1000 * 1000);
    gort_sleep(100 * 1000 * 1000);
    if (gort_synctest_run(bubble_add, NULL) != 0)
        return 1;
    gort_go(never_started, NULL); /* the one P stays with this goroutine */
    stop();
    return 0;
}

int main(void) {
    gort_gomaxprocs(1);
    return gort_main(main_fn, NULL);
}
