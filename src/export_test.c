/*
 * export_test.c - white-box hooks for the tests (Go's export_test.go):
 * each exposes one internal the tests need, so that they include
 * export_test.h instead of the runtime's private headers.  Compiled only
 * into test programs (CMake: gort_export_test), never into libgort.
 */
#include "export_test.h"

#include "chan.h"
#include "internal.h"

int gort__export_chan_qlen(gort_chan *c, bool send) {
    gort__lock(&c->lock);
    int n = 0;
    /* Relaxed: c->lock orders every write of the queue before us. */
    for (struct sudog *s =
             atomic_load_explicit(send ? &c->sendq.first : &c->recvq.first, memory_order_relaxed);
         s != NULL; s = s->next)
        n++;
    gort__unlock(&c->lock);
    return n;
}

void gort__export_sysmon_nopreempt(bool on) {
    /* Relaxed: set before gort_main starts sysmon (pthread_create orders it). */
    atomic_store_explicit(&gort__sysmon_nopreempt, on, memory_order_relaxed);
}
