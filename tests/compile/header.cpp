// The public header compiles as C++ (its declarations are extern "C"):
// a C++ program can call gort directly.  Built with -fsyntax-only and
// -Wall -Wextra -Werror: the sync types' initialisers must not warn.
#include "gort.h"

static gort_mutex mu = GORT_MUTEX_INIT;
static gort_rwmutex rw = GORT_RWMUTEX_INIT;
static gort_once once = GORT_ONCE_INIT;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;

static void once_fn(void *) {}

static int real_main(void *) {
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int v = 42;
    gort_chan_send(c, &v);
    gort_chan_recv(c, &v);
    gort_chan_free(c);
    gort_mutex_lock(&mu);
    gort_mutex_unlock(&mu);
    gort_rwmutex_rlock(&rw);
    gort_rwmutex_runlock(&rw);
    gort_once_do(&once, once_fn, nullptr);
    gort_wg_add(&wg, 1);
    gort_wg_done(&wg);
    gort_wg_wait(&wg);
    if (v != 42)
        gort_panic("lost");
    return 0;
}

int main() {
    return gort_main(real_main, nullptr);
}
