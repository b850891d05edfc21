/* Ports of Go's src/runtime/race/testdata mutex_test.go, rwmutex_test.go,
 * waitgroup_test.go and (Once, Cond) sync_test.go (racecase.h). */
#include "racecase.h"

#include <stdatomic.h>

int x, y; /* external: the stores must stay */
static gort_mutex mu, mu1, mu2;
static gort_rwmutex rw;
static gort_waitgroup wg;
static gort_chan *ch;

/* mutex_test.go TestNoRaceMutex */
static void lock_set1(void *a) {
    (void)a;
    gort_mutex_lock(&mu);
    x = 1;
    gort_mutex_unlock(&mu);
    csend(ch, 1);
}
static void lock_set2(void *a) {
    (void)a;
    gort_mutex_lock(&mu);
    x = 2;
    gort_mutex_unlock(&mu);
    csend(ch, 1);
}
NORACE(NoRaceMutex) {
    ch = mkchan(2);
    GO(lock_set1, 0);
    GO(lock_set2, 0);
    crecv(ch);
    crecv(ch);
}

/* TestRaceMutex: the write before the lock. */
static void set_then_lock(void *a) {
    x = (int)(long)a;
    gort_mutex_lock(&mu);
    gort_mutex_unlock(&mu);
    csend(ch, 1);
}
RACE(RaceMutex) {
    ch = mkchan(2);
    GO(set_then_lock, 1);
    GO(set_then_lock, 2);
    crecv(ch);
    crecv(ch);
}

/* TestRaceMutex2: two different mutexes. */
static void lock_m(void *a) {
    gort_mutex *m = a;
    gort_mutex_lock(m);
    x = m == &mu1 ? 1 : 2;
    gort_mutex_unlock(m);
    csend(ch, 1);
}
RACE(RaceMutex2) {
    ch = mkchan(2);
    GO(lock_m, &mu1);
    GO(lock_m, &mu2);
    crecv(ch);
    crecv(ch);
}

/* TestNoRaceMutexPureHappensBefore */
static atomic_int phb_unlocked;
static void phb_1(void *a) {
    (void)a;
    x = 1;
    gort_mutex_lock(&mu);
    gort_mutex_unlock(&mu);
    atomic_store_explicit(&phb_unlocked, 1, memory_order_relaxed);
    csend(ch, 1);
}
/* Go's test relies on the first goroutine locking first (main's sleep
 * before starting the second): on a loaded machine it may not, and the
 * writes are then unordered.  The second waits for the first's Unlock
 * through a relaxed flag (no happens-before edge of its own: the order
 * comes from the mutex, as in Go's test). */
static void phb_2(void *a) {
    (void)a;
    msleep(1);
    while (!atomic_load_explicit(&phb_unlocked, memory_order_relaxed))
        msleep(1);
    gort_mutex_lock(&mu);
    gort_mutex_unlock(&mu);
    x = 1;
    csend(ch, 1);
}
NORACE(NoRaceMutexPureHappensBefore) {
    ch = mkchan(2);
    GO(phb_1, 0);
    msleep(5); /* Go's test relies on the first goroutine locking first */
    GO(phb_2, 0);
    crecv(ch);
    crecv(ch);
}

/* TestNoRaceMutexSemaphore: unlocked by another goroutine. */
static void sem_1(void *a) {
    (void)a;
    x = 1;
    gort_mutex_unlock(&mu);
    csend(ch, 1);
}
NORACE(NoRaceMutexSemaphore) {
    ch = mkchan(2);
    gort_mutex_lock(&mu);
    GO(sem_1, 0);
    GO(lock_set2, 0);
    crecv(ch);
    crecv(ch);
}

/* rwmutex_test.go TestRaceMutexRWMutex */
static void rw_lock_set(void *a) {
    (void)a;
    gort_rwmutex_lock(&rw);
    x = 2;
    gort_rwmutex_unlock(&rw);
    csend(ch, 1);
}
RACE(RaceMutexRWMutex) {
    ch = mkchan(2);
    GO(lock_m, &mu1);
    GO(rw_lock_set, 0);
    crecv(ch);
    crecv(ch);
}

/* TestNoRaceRWMutex */
static void rw_read(void *a) {
    gort_rwmutex_rlock(&rw);
    y = x + (int)(long)a;
    gort_rwmutex_runlock(&rw);
    csend(ch, 1);
}
NORACE(NoRaceRWMutex) {
    ch = mkchan(2);
    GO(rw_lock_set, 0);
    GO(rw_read, 0);
    crecv(ch);
    crecv(ch);
}

/* TestRaceRWMutexMultipleReaders: readers write y concurrently. */
RACE(RaceRWMutexMultipleReaders) {
    ch = mkchan(4);
    GO(rw_lock_set, 0);
    GO(rw_read, 1);
    GO(rw_read, 2);
    GO(rw_read, 3);
    for (int i = 0; i < 4; i++)
        crecv(ch);
}

/* TestNoRaceRWMutexMultipleReaders: readers only read. */
static void rw_read_only(void *a) {
    (void)a;
    gort_rwmutex_rlock(&rw);
    (void)*(volatile int *)&x;
    gort_rwmutex_runlock(&rw);
    csend(ch, 1);
}
NORACE(NoRaceRWMutexMultipleReaders) {
    ch = mkchan(4);
    GO(rw_lock_set, 0);
    GO(rw_read_only, 0);
    GO(rw_read_only, 0);
    GO(rw_read_only, 0);
    for (int i = 0; i < 4; i++)
        crecv(ch);
}

/* TestNoRaceRWMutexTransitive */
static void rw_read_late(void *a) {
    (void)a;
    msleep(10);
    rw_read_only(NULL);
}
NORACE(NoRaceRWMutexTransitive) {
    ch = mkchan(2);
    GO(rw_read_only, 0);
    GO(rw_read_late, 0);
    msleep(20);
    gort_rwmutex_lock(&rw);
    x = 42;
    gort_rwmutex_unlock(&rw);
    crecv(ch);
    crecv(ch);
}

/* waitgroup_test.go TestNoRaceWaitGroup2 */
static void wg_set(void *a) {
    x = (int)(long)a;
    gort_wg_done(&wg);
}
NORACE(NoRaceWaitGroup2) {
    gort_wg_add(&wg, 1);
    GO(wg_set, 1);
    gort_wg_wait(&wg);
    x = 2;
}

/* TestRaceWaitGroup2: correct use, still a race between the two. */
RACE(RaceWaitGroup2) {
    gort_wg_add(&wg, 2);
    GO(wg_set, 1);
    GO(wg_set, 2);
    gort_wg_wait(&wg);
}

/* TestRaceWaitGroupAsMutex.  Go's test relies on both goroutines passing
 * Wait within the 100 ms sleep: one that starts later acquires the other's
 * Add(-1) in its Wait and the race is gone.  Here each also waits until
 * both have passed Wait, counted with relaxed atomics (no happens-before
 * edge, so nothing orders the two writes of x). */
static atomic_int wg_waited;
static void wg_as_mutex(void *a) {
    gort_wg_wait(&wg);
    atomic_fetch_add_explicit(&wg_waited, 1, memory_order_relaxed);
    while (atomic_load_explicit(&wg_waited, memory_order_relaxed) < 2)
        msleep(1);
    msleep(100);
    gort_wg_add(&wg, 1);
    x = (int)(long)a;
    gort_wg_add(&wg, -1);
    csend(ch, 1);
}
RACE(RaceWaitGroupAsMutex) {
    ch = mkchan(2);
    GO(wg_as_mutex, 1);
    GO(wg_as_mutex, 2);
    crecv(ch);
    crecv(ch);
}

/* TestRaceWaitGroupWrongAdd: Add too late, detected as Add racing Wait
 * (the Add from zero reads, a Wait that blocks writes).  Go's test relies
 * on the Adds coming within main's 50 ms sleep and main's Wait within the
 * goroutines' 100 ms: on a loaded machine either may not, and a Wait that
 * finds the counter at zero is no race.  Here main waits until both Adds
 * are done, and the goroutines until main is about to Wait, through
 * relaxed atomics (no happens-before edge: nothing orders the Add before
 * the Wait). */
static atomic_int wg_added, wg_waiting;
static void wrong_add(void *a) {
    (void)a;
    gort_wg_add(&wg, 1);
    atomic_fetch_add_explicit(&wg_added, 1, memory_order_relaxed);
    while (!atomic_load_explicit(&wg_waiting, memory_order_relaxed))
        msleep(1);
    msleep(100);
    gort_wg_done(&wg);
    csend(ch, 1);
}
RACE(RaceWaitGroupWrongAdd) {
    ch = mkchan(2);
    GO(wrong_add, 0);
    GO(wrong_add, 0);
    msleep(50);
    while (atomic_load_explicit(&wg_added, memory_order_relaxed) < 2)
        msleep(1);
    atomic_store_explicit(&wg_waiting, 1, memory_order_relaxed);
    gort_wg_wait(&wg);
    crecv(ch);
    crecv(ch);
}

/* TestNoRaceWaitGroupTransitive */
static void wg_set_late(void *a) {
    (void)a;
    msleep(10);
    y = 42;
    gort_wg_done(&wg);
}
NORACE(NoRaceWaitGroupTransitive) {
    gort_wg_add(&wg, 2);
    GO(wg_set, 42);
    GO(wg_set_late, 0);
    gort_wg_wait(&wg);
    (void)*(volatile int *)&x;
    (void)*(volatile int *)&y;
}

/* TestNoRaceWaitGroupReuse */
#define P 3
int data[P];
static void wg_inc(void *a) {
    data[(long)a]++;
    gort_wg_done(&wg);
}
NORACE(NoRaceWaitGroupReuse) {
    for (int t = 0; t < 3; t++) {
        gort_wg_add(&wg, P);
        for (long p = 0; p < P; p++)
            GO(wg_inc, p);
        gort_wg_wait(&wg);
        for (int p = 0; p < P; p++)
            data[p]++;
    }
}

/* sync_test.go (Once): everything fn did happens before every Do's return. */
static gort_once once;
static void once_fn(void *a) {
    (void)a;
    x = 1;
}
static void once_user(void *a) {
    (void)a;
    gort_once_do(&once, once_fn, NULL);
    (void)*(volatile int *)&x;
    csend(ch, 1);
}
NORACE(NoRaceOnce) {
    ch = mkchan(2);
    GO(once_user, 0);
    GO(once_user, 0);
    crecv(ch);
    crecv(ch);
}

/* sync_test.go (Cond): signal under the mutex -> the waiter. */
static gort_cond cond;
static int ready;
static void cond_signaller(void *a) {
    (void)a;
    x = 1;
    gort_mutex_lock(&mu);
    ready = 1;
    gort_cond_signal(&cond);
    gort_mutex_unlock(&mu);
}
NORACE(NoRaceCond) {
    gort_cond_init(&cond, &mu);
    GO(cond_signaller, 0);
    gort_mutex_lock(&mu);
    while (!ready)
        gort_cond_wait(&cond);
    gort_mutex_unlock(&mu);
    x = 2;
}

/* select_test.go TestNoRaceSelect1-style: the case taken orders the write. */
static gort_chan *sc1, *sc2;
static void sel_w(void *a) {
    (void)a;
    x = 1;
    csend(sc1, 1);
}
NORACE(NoRaceSelect) {
    sc1 = mkchan(0);
    sc2 = mkchan(0);
    GO(sel_w, 0);
    int v1 = 0, v2 = 0;
    gort_select_case cs[2] = {{.chan = sc1, .dir = GORT_RECV, .elem = &v1},
                              {.chan = sc2, .dir = GORT_RECV, .elem = &v2}};
    if (gort_select(cs, 2, true) != 0)
        abort();
    x = 2;
}

/* The same with the write after the send: a race.  Main must not return
 * before the sender's write (then there is no second access to report):
 * it waits for it through a relaxed flag, no happens-before edge (a 20 ms
 * sleep left it to timing: a sender running late was never reported). */
static atomic_int sel_wrote;
static void sel_w_after(void *a) {
    (void)a;
    csend(sc1, 1);
    x = 1;
    atomic_store_explicit(&sel_wrote, 1, memory_order_relaxed);
}
RACE(RaceSelect) {
    sc1 = mkchan(10);
    sc2 = mkchan(0);
    GO(sel_w_after, 0);
    int v1 = 0, v2 = 0;
    gort_select_case cs[2] = {{.chan = sc1, .dir = GORT_RECV, .elem = &v1},
                              {.chan = sc2, .dir = GORT_RECV, .elem = &v2}};
    (void)gort_select(cs, 2, true);
    x = 2;
    while (!atomic_load_explicit(&sel_wrote, memory_order_relaxed))
        msleep(1);
}
