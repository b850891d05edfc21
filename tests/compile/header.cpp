// The public header compiles as C++ (its declarations are extern "C"):
// a C++ program can call gort directly.  Built with -fsyntax-only.
#include "gort.h"

static int real_main(void *) {
    gort_chan *c = gort_chan_make(sizeof(int), 1);
    int v = 42;
    gort_chan_send(c, &v);
    gort_chan_recv(c, &v);
    gort_chan_free(c);
    if (v != 42)
        gort_panic("lost");
    return 0;
}

int main() {
    return gort_main(real_main, nullptr);
}
