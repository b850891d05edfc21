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
 */
#include <gort.h>
#include <stdio.h>

int y, z; /* not static: stores to a static nobody reads are dropped */
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
}

static void write_z(void *arg) {
    (void)arg;
    z = 1;
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
    z = 2;
    gort_chan_free(c);
    printf("tsan_reports: done\n");
    return 0;
}

int main(void) {
    return gort_main(race_main, NULL);
}
