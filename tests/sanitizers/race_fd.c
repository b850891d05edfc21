/*
 * race_fd.c - the edges of fds and connections under the race detector
 * (docs/MEMORY_MODEL.md 18 to 20 and 28): a write before the read that
 * returns its bytes; a close, and a deadline already past, before the call
 * they wake returns.  Each with a plain variable written on one side and
 * read on the other (racecase.h).
 *
 * The close and deadline cases need the reader parked on its fd first (a
 * call that starts after the close gets no edge from it).  They run on one
 * P, where no goroutine is preempted under ThreadSanitizer (src/preempt.c):
 * the reader says so through a relaxed atomic (no edge) just before its
 * read, and main sees it only once the reader has given the P up, which it
 * does by parking in the read.
 */
#include "racecase.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

int fx; /* external: the stores must stay */
static gort_waitgroup wg;
static int sv[2];
static gort_conn cv[2];
static atomic_int reading;

static void pair(void) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
}
static void conn_pair(void) {
    pair();
    if (gort_conn_adopt(&cv[0], sv[0]) != 0 || gort_conn_adopt(&cv[1], sv[1]) != 0)
        abort();
}

/* 18: a gort_write happens before the gort_read that returns its bytes
 * (the reader parks first, mostly). */
static void fd_writer(void *a) {
    (void)a;
    for (int k = 1; k <= 20; k++) {
        fx = k;
        char b = (char)k;
        if (gort_write(sv[0], &b, 1) != 1 || gort_read(sv[0], &b, 1) != 1)
            abort();
    }
    gort_wg_done(&wg);
}
NORACE(NoRaceFdWriteRead) {
    pair();
    gort_wg_add(&wg, 1);
    GO(fd_writer, 0);
    for (int k = 1; k <= 20; k++) {
        char b;
        if (gort_read(sv[1], &b, 1) != 1 || b != (char)k || fx != k)
            abort();
        if (gort_write(sv[1], &b, 1) != 1) /* the ack: the reader is done */
            abort();
    }
    gort_wg_wait(&wg);
    gort_close(sv[0]);
    gort_close(sv[1]);
}

/* 28: the same through connections. */
static void conn_writer(void *a) {
    (void)a;
    for (int k = 1; k <= 20; k++) {
        fx = k;
        char b = (char)k;
        if (gort_conn_write(cv[0], &b, 1) != 1 || gort_conn_read(cv[0], &b, 1) != 1)
            abort();
    }
    gort_wg_done(&wg);
}
NORACE(NoRaceConnWriteRead) {
    conn_pair();
    gort_wg_add(&wg, 1);
    GO(conn_writer, 0);
    for (int k = 1; k <= 20; k++) {
        char b;
        if (gort_conn_read(cv[1], &b, 1) != 1 || b != (char)k || fx != k)
            abort();
        if (gort_conn_write(cv[1], &b, 1) != 1)
            abort();
    }
    gort_wg_wait(&wg);
    gort_conn_close(cv[0]);
    gort_conn_close(cv[1]);
}

/* 19, 20, 28: close and a past deadline before the woken call returns.
 * how: 0 gort_close, 1 gort_set_deadline, 2 gort_conn_close,
 * 3 gort_conn_set_deadline. */
static void blocked_reader(void *a) {
    int how = (int)(intptr_t)a;
    char b;
    atomic_store_explicit(&reading, 1, memory_order_relaxed);
    ssize_t r = how < 2 ? gort_read(sv[0], &b, 1) : gort_conn_read(cv[0], &b, 1);
    if (r != (how % 2 ? -ETIMEDOUT : -EBADF))
        abort();
    (void)*(volatile int *)&fx;
    gort_wg_done(&wg);
}
static void unblock(int how, int write_after) {
    gort_gomaxprocs(1);
    if (how < 2)
        pair();
    else
        conn_pair();
    atomic_store_explicit(&reading, 0, memory_order_relaxed);
    gort_wg_add(&wg, 1);
    GO(blocked_reader, (intptr_t)how);
    while (!atomic_load_explicit(&reading, memory_order_relaxed))
        gort_yield(); /* the reader runs until it parks in its read */
    if (!write_after)
        fx = 50 + how;
    if (how == 0)
        gort_close(sv[0]);
    else if (how == 1)
        gort_set_deadline(sv[0], gort_nanotime() - 1, 0);
    else if (how == 2)
        gort_conn_close(cv[0]);
    else
        gort_conn_set_deadline(cv[0], gort_nanotime() - 1, 0);
    if (write_after)
        fx = 60;
    gort_wg_wait(&wg);
    if (how == 1)
        gort_close(sv[0]);
    if (how == 3)
        gort_conn_close(cv[0]);
    if (how < 2)
        gort_close(sv[1]);
    else
        gort_conn_close(cv[1]);
}
NORACE(NoRaceFdCloseWakes) {
    unblock(0, 0);
}
NORACE(NoRaceFdDeadlineWakes) {
    unblock(1, 0);
}
NORACE(NoRaceConnCloseWakes) {
    unblock(2, 0);
}
NORACE(NoRaceConnDeadlineWakes) {
    unblock(3, 0);
}

/* A write after the close is not ordered before the woken reader. */
RACE(RaceFdWriteAfterClose) {
    unblock(0, 1);
}
RACE(RaceConnWriteAfterDeadline) {
    unblock(3, 1);
}
