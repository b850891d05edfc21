/*
 * typed_chan.c - compile-time checks of GORT_CHAN_DECLARE, run by
 * tests/compile/check.cmake: built once with -DVARIANT=0 (it must compile)
 * and once per misuse with -DVARIANT=N (it must not, with the diagnostic
 * named in check.cmake).  Never linked or run.
 */
#include "gort.h"

typedef struct point {
    int x, y;
} point;

GORT_CHAN_DECLARE(intchan, int);
GORT_CHAN_DECLARE(longchan, long);
GORT_CHAN_DECLARE(pointchan, point);

int use(intchan ic, longchan lc, pointchan pc);
int use(intchan ic, longchan lc, pointchan pc) {
    int i = 0;
    long l = 0;
    point p = {1, 2};
    (void)l;
    (void)lc;
#if VARIANT == 0
    /* Correct uses. */
    intchan_send(ic, 1);
    (void)intchan_recv(ic, &i);
    pointchan_send(pc, p);
    (void)pointchan_recv(pc, &p);
    gort_select_case cs[] = {intchan_recv_case(ic, &i), pointchan_send_case(pc, &p)};
    (void)cs;
    GORT_CHAN_RANGE(intchan, ic, v) {
        i += v;
    }
#elif VARIANT == 1
    /* A channel of another element type. */
    intchan_send(lc, 1);
#elif VARIANT == 2
    /* Receiving into a variable of another type. */
    (void)intchan_recv(ic, &l);
#elif VARIANT == 3
    /* Sending a value of another (struct) type. */
    intchan_send(ic, p);
#elif VARIANT == 4
    /* A select case pointing at another type. */
    gort_select_case c = pointchan_recv_case(pc, &i);
    (void)c;
#elif VARIANT == 5
    /* An untyped gort_chan where a typed channel is expected. */
    intchan_close(ic.chan);
#endif
    return i + p.x;
}
