/*
 * race_conn.c - connections under the race detector: the runtime's table
 * of connection slots is reused from goroutine to goroutine, and what the
 * runtime writes there (the addresses getsockname fills in) is no access
 * of the user's goroutines.
 */
#include "racecase.h"

static char addr[64];
static gort_waitgroup wg;

static void acceptor(void *arg) {
    gort_conn l = *(gort_conn *)arg;
    gort_conn c;
    while (gort_conn_accept(l, &c) == 0)
        gort_conn_close(c);
}

/* Dials and closes, over and over: each connection takes a slot another
 * goroutine's closed connection left. */
static void dialer(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) {
        gort_conn c;
        if (gort_conn_dial(&c, "tcp", addr, 0) == 0) {
            gort_addr a;
            (void)gort_conn_local_addr(c, &a);
            gort_conn_close(c);
        }
        if (i % 10 == 0)
            gort_yield();
    }
    gort_wg_done(&wg);
}

NORACE(NoRaceConnSlotReuse) {
    static gort_conn l;
    if (gort_conn_listen(&l, "tcp", "127.0.0.1:0") != 0)
        abort();
    gort_addr la;
    if (gort_conn_local_addr(l, &la) != 0)
        abort();
    gort_addr_string(&la, addr, sizeof addr);
    GO(acceptor, &l);
    gort_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        GO(dialer, NULL);
    gort_wg_wait(&wg);
    gort_conn_close(l);
}
