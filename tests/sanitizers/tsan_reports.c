/*
 * tsan_reports.c - a user's program with three different races, run under
 * ThreadSanitizer's defaults (halt_on_error=0): every race is reported,
 * one after the other, by the same goroutine, and the program runs to its
 * end.  The first is a send racing with a close (Go's
 * TestRaceChanAsyncCloseSend): the send panics and a deferred call
 * recovers; the second and third are plain writes, one right after a
 * goroutine starts, one after a sleep.  scripts/sanitizers.sh runs it
 * 20 times: each run must print "tsan_reports: done" and exactly three
 * reports, and exit with TSan's exit code (no hang, no CHECK failure).
 *
 * It runs with GOMAXPROCS=1, as the users' race suite's Race cases do:
 * with two Ps, the send and the close can happen at the same moment on
 * two threads, and ThreadSanitizer's shadow update can then miss their
 * race (CI at ee9b627: two reports of three; 1 run in 533 here).  With
 * one P, a racing goroutine runs only when race_main parks, so race_main
 * waits until both writers have written (a relaxed flag each: no
 * happens-before edge to hide the races) before it returns; its 1 ms sleep
 * alone did not do: when write_z's run took longer, the sleep's timer put
 * race_main ahead of write_y, which never ran (27 runs of 100 under load).
 */
#include <gort.h>
#include <stdatomic.h>
#include <stdio.h>

int y, z; /* not static: stores to a static nobody reads are dropped */
static _Atomic int wrote_y, wrote_z;
static gort_chan *c;

static void recover_only(void *arg) {
    (void)arg;
    (void)gort_recover();
}

static void close_c(void *arg) {
    (void)arg;
    gort_chan_close(c);
}

static void send_until_closed(void *arg) {
    (void)arg;
    gort_defer(recover_only, NULL);
    for (int v = 0;; v++)
        gort_chan_send(c, &v);
}

static void write_y(void *arg) {
    (void)arg;
    y = 1;
    atomic_store_explicit(&wrote_y, 1, memory_order_relaxed);
}

static void write_z(void *arg) {
    (void)arg;
    z = 1;
    atomic_store_explicit(&wrote_z, 1, memory_order_relaxed);
}

static int race_main(void *arg) {
    (void)arg;
    c = gort_chan_make(sizeof(int), 10);
    gort_go(close_c, NULL);
    gort_call(send_until_closed, NULL); /* races with the close, panics */
    gort_go(write_y, NULL);
    y = 2;
    gort_go(write_z, NULL);
    gort_sleep(1000000);
    while (!atomic_load_explicit(&wrote_z, memory_order_relaxed))
        gort_yield();
    z = 2;
    while (!atomic_load_explicit(&wrote_y, memory_order_relaxed))
        gort_yield();
    gort_chan_free(c);
    printf("tsan_reports: done\n");
    return 0;
}

int main(void) {
    return gort_main(race_main, NULL);
}
