/*
 * race_synctest.c - synctest bubbles under the race detector
 * (docs/MEMORY_MODEL.md 26, 27): what a goroutine of the bubble did before
 * it became durably blocked, or exited, happens before gort_synctest_wait
 * returns; everything the bubble did, before gort_synctest_run returns.  A
 * goroutine woken because the fake clock moved gets no edge from the
 * others (Go leaves it out so that the races fake time hides are still
 * reported).
 */
#include "racecase.h"

int sx, sy; /* external: the stores must stay */
static gort_chan *release;

static void blocker(void *a) {
    sx = (int)(intptr_t)a;
    crecv(release); /* durably blocked: a channel of the bubble */
}
static void exiter(void *a) {
    sx = (int)(intptr_t)a;
}
static void last(void *a) {
    (void)a;
    sy = 1;
}
static void body(void *a) {
    (void)a;
    release = mkchan(0);
    for (int k = 1; k <= 4; k++) {
        GO(k % 2 ? blocker : exiter, (intptr_t)k);
        gort_synctest_wait();
        if (sx != k)
            abort();
        if (k % 2)
            csend(release, 0);
    }
    /* May still run once the bubble's main goroutine has returned. */
    GO(last, 0);
}
NORACE(NoRaceSynctestWaitAndRun) {
    for (int b = 0; b < 3; b++) {
        if (gort_synctest_run(body, NULL) != 0)
            abort();
        if (sy != 1)
            abort();
        sy = 0;
    }
}

/* A sleeper woken by the fake clock reads what a goroutine wrote before it
 * blocked: the clock orders them in time, nothing in memory. */
static void sleep_blocker(void *a) {
    (void)a;
    sx = 1;
    crecv(release);
}
static void sleep_body(void *a) {
    (void)a;
    release = mkchan(0);
    GO(sleep_blocker, 0);
    gort_sleep(1000000000); /* fake time: moves once the blocker blocks */
    (void)*(volatile int *)&sx;
    csend(release, 0);
}
RACE(RaceSynctestSleep) {
    if (gort_synctest_run(sleep_body, NULL) != 0)
        abort();
}
