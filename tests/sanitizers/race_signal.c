/*
 * race_signal.c - signal delivery under the race detector
 * (docs/MEMORY_MODEL.md 29): a raise(3) of a notified signal happens
 * before the receive of the delivery that carries it, also when it was
 * coalesced with one still pending; every delivery to a channel happens
 * before gort_signal_stop of that channel returns.
 */
#include "racecase.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

int gx, gy; /* external: the stores must stay */
static gort_chan *sc, *ack;

/* A channel of one slot that SIGUSR1 is delivered to. */
static gort_chan *notify_usr1(void) {
    int s = SIGUSR1;
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    if (gort_signal_notify(c, &s, 1) != 0)
        abort();
    return c;
}

/* Raised by a thread outside the runtime, each round acknowledged. */
static void *raiser(void *a) {
    (void)a;
    for (int k = 1; k <= 10; k++) {
        gx = k;
        if (raise(SIGUSR1) != 0)
            abort();
        crecv(ack); /* the receiver is done reading */
    }
    return NULL;
}
NORACE(NoRaceSignalRaise) {
    sc = notify_usr1(); /* drained every round: none dropped */
    ack = mkchan(0);
    pthread_t th;
    if (pthread_create(&th, NULL, raiser, NULL) != 0)
        abort();
    for (int k = 1; k <= 10; k++) {
        if (crecv(sc) != SIGUSR1 || gx != k)
            abort();
        csend(ack, 1);
    }
    gort_syscall_enter(); /* the thread is exiting: a short block */
    pthread_join(th, NULL);
    gort_syscall_exit();
    gort_signal_stop(sc);
}

/* Two raises by one goroutine on one P, where nothing preempts it under
 * ThreadSanitizer (src/preempt.c): the signal loop cannot run between
 * them, so the second arrival finds the first still pending and is
 * carried by its delivery, the only one. */
static void raise_twice(void *a) {
    (void)a;
    gx = 1;
    raise(SIGUSR1);
    gy = 1;
    raise(SIGUSR1);
}
NORACE(NoRaceSignalCoalesced) {
    gort_gomaxprocs(1);
    sc = notify_usr1();
    GO(raise_twice, 0);
    if (crecv(sc) != SIGUSR1 || gx != 1 || gy != 1)
        abort();
    gort_signal_stop(sc);
}

/* A write after the raise is not ordered before the receive. */
static void raise_then_write(void *a) {
    (void)a;
    raise(SIGUSR1);
    gx = 2;
}
RACE(RaceSignalWriteAfterRaise) {
    gort_gomaxprocs(1);
    sc = notify_usr1();
    GO(raise_then_write, 0);
    crecv(sc);
    (void)*(volatile int *)&gx;
    gort_signal_stop(sc);
}

/* Stop: the signal loop's send on the channel (a read of it for the race
 * detector, as Go's) happens before gort_signal_stop returns, so the
 * channel may then be closed (a write of it).  Whether the loop has sent
 * when stop is called varies; now and then main lets it run first. */
NORACE(NoRaceSignalStopThenClose) {
    for (int i = 0; i < 10; i++) {
        gort_chan *c = notify_usr1();
        raise(SIGUSR1);
        if (i % 2)
            gort_yield();
        gort_signal_stop(c);
        gort_chan_close(c);
    }
}
