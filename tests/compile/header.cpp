// The public header compiles as C++ (its declarations are extern "C"):
// a C++ program can call gort directly.  Built with -fsyntax-only and
// -Wall -Wextra -Wold-style-cast -Werror: the sync types' initialisers and
// the typed channels' calls, which expand in the user's file, must not
// warn.  Typed channels of pointers compile (their send_case took a
// `const T *`, which is no pointer to const for a pointer T).
#include "gort.h"

struct point {
    int x, y;
};
GORT_CHAN_DECLARE(intchan, int);
GORT_CHAN_DECLARE(strchan, const char *);
GORT_CHAN_DECLARE(jobchan, int *);
GORT_CHAN_DECLARE(pointchan, point);

static void typed(void) {
    intchan ic = intchan_make(1);
    strchan sc = strchan_make(1);
    jobchan jc = jobchan_make(1);
    pointchan pc = pointchan_make(1);
    int i = 1;
    const char *str = "s";
    int *job = &i;
    point pt = {1, 2};
    gort_select_case cs[] = {intchan_send_case(ic, &i), strchan_send_case(sc, &str),
                             jobchan_send_case(jc, &job), pointchan_send_case(pc, &pt),
                             jobchan_recv_case(jc, &job)};
    gort_select(cs, 5, false);
    strchan_send(sc, str);
    jobchan_send(jc, job);
    pointchan_send(pc, pt);
    GORT_CHAN_RANGE(strchan, sc, s) {
        (void)s;
    }
    intchan_free(ic);
    strchan_free(sc);
    jobchan_free(jc);
    pointchan_free(pc);
}

static gort_mutex mu = GORT_MUTEX_INIT;
static gort_rwmutex rw = GORT_RWMUTEX_INIT;
static gort_once once = GORT_ONCE_INIT;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;

static void once_fn(void *) {}

static int real_main(void *) {
    typed();
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
