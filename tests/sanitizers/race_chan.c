/* Ports of Go's src/runtime/race/testdata/chan_test.go (racecase.h). */
#include "racecase.h"

int v, v1, v2, x; /* external: the stores must stay */
static gort_chan *c, *c1, *c2, *compl, *done;

/* TestNoRaceChanSync */
static void sync_w(void *a) {
    (void)a;
    v = 1;
    csend(c, 0);
}
NORACE(NoRaceChanSync) {
    c = mkchan(0);
    GO(sync_w, 0);
    crecv(c);
    v = 2;
}

/* TestNoRaceChanSyncRev */
static void syncrev_w(void *a) {
    (void)a;
    csend(c, 0);
    v = 2;
}
NORACE(NoRaceChanSyncRev) {
    c = mkchan(0);
    GO(syncrev_w, 0);
    v = 1;
    crecv(c);
}

/* TestNoRaceChanAsync */
NORACE(NoRaceChanAsync) {
    c = mkchan(10);
    GO(sync_w, 0);
    crecv(c);
    v = 2;
}

/* TestRaceChanAsyncRev */
static void asyncrev_w(void *a) {
    (void)a;
    csend(c, 0);
    v = 1;
}
RACE(RaceChanAsyncRev) {
    c = mkchan(10);
    GO(asyncrev_w, 0);
    v = 2;
    crecv(c);
}

/* TestNoRaceChanAsyncCloseRecv2 / SyncCloseRecv2 / ...Recv3 */
static void close_w(void *a) {
    (void)a;
    v = 1;
    gort_chan_close(c);
}
NORACE(NoRaceChanAsyncCloseRecv2) {
    c = mkchan(10);
    GO(close_w, 0);
    crecv(c);
    v = 2;
}
NORACE(NoRaceChanAsyncCloseRecv3) {
    c = mkchan(10);
    GO(close_w, 0);
    int e;
    while (gort_chan_recv(c, &e)) {
    }
    v = 2;
}
NORACE(NoRaceChanSyncCloseRecv2) {
    c = mkchan(0);
    GO(close_w, 0);
    crecv(c);
    v = 2;
}

/* TestNoRaceChanSyncCloseRecv: the receive in a frame with a deferred
 * recover (gort_call). */
static void set_v2(void *a) {
    (void)a;
    (void)gort_recover();
    v = 2;
}
static void recv_deferred(void *a) {
    (void)a;
    gort_defer(set_v2, NULL);
    crecv(c);
}
NORACE(NoRaceChanSyncCloseRecv) {
    c = mkchan(0);
    GO(close_w, 0);
    gort_call(recv_deferred, NULL);
}

/* TestRaceChanSyncCloseSend: the send panics (closed) and is recovered. */
static void recover_only(void *a) {
    (void)a;
    (void)gort_recover();
}
static void send_deferred(void *a) {
    (void)a;
    gort_defer(recover_only, NULL);
    csend(c, 0);
}
RACE(RaceChanSyncCloseSend) {
    c = mkchan(0);
    GO(close_w, 0);
    gort_call(send_deferred, NULL);
    v = 2;
}

/* TestRaceChanAsyncCloseSend */
static void send_loop_deferred(void *a) {
    (void)a;
    gort_defer(recover_only, NULL);
    for (;;)
        csend(c, 0);
}
RACE(RaceChanAsyncCloseSend) {
    c = mkchan(10);
    GO(close_w, 0);
    gort_call(send_loop_deferred, NULL);
    v = 2;
}

/* TestRaceChanSendLen: len is no synchronisation. */
static void sendlen_w(void *a) {
    (void)a;
    v = 1;
    csend(c, 1);
}
RACE(RaceChanSendLen) {
    c = mkchan(10);
    GO(sendlen_w, 0);
    while (gort_chan_len(c) == 0)
        gort_yield();
    v = 2;
}

/* TestRaceChanSendSend */
static void sendsend_1(void *a) {
    (void)a;
    v1 = 1;
    int one = 1;
    if (!gort_chan_trysend(c, &one))
        v2 = 2;
    csend(compl, 1);
}
static void sendsend_2(void *a) {
    (void)a;
    v2 = 1;
    int one = 1;
    if (!gort_chan_trysend(c, &one))
        v1 = 2;
    csend(compl, 1);
}
RACE(RaceChanSendSend) {
    compl = mkchan(2);
    c = mkchan(1);
    GO(sendsend_1, 0);
    GO(sendsend_2, 0);
    crecv(compl );
    crecv(compl );
}

/* TestNoRaceChanPtr */
struct msg {
    int x;
};
static void ptr_w(void *a) {
    (void)a;
    struct msg *m = malloc(sizeof *m);
    m->x = 1;
    gort_chan_send(c, &m);
}
NORACE(NoRaceChanPtr) {
    c = gort_chan_make(sizeof(struct msg *), 0);
    GO(ptr_w, 0);
    struct msg *m;
    gort_chan_recv(c, &m);
    m->x = 2;
    free(m);
}

/* TestRaceChanWrongSend */
static void wrong_1(void *a) {
    (void)a;
    v1 = 1;
    csend(c, 1);
}
static void wrong_2(void *a) {
    (void)a;
    v2 = 2;
    csend(c, 2);
}
RACE(RaceChanWrongSend) {
    c = mkchan(2);
    GO(wrong_1, 0);
    GO(wrong_2, 0);
    msleep(10);
    if (crecv(c) == 1)
        v2 = 3;
    else
        v1 = 3;
}

/* TestRaceChanSendClose: close and send, unsynchronised. */
static void sendclose_s(void *a) {
    (void)a;
    gort_defer(recover_only, NULL);
    csend(c, 1);
}
static void sendclose_sender(void *a) {
    gort_call(sendclose_s, a);
    csend(compl, 1);
}
static void sendclose_closer(void *a) {
    (void)a;
    msleep(10);
    gort_chan_close(c);
    csend(compl, 1);
}
RACE(RaceChanSendClose) {
    compl = mkchan(2);
    c = mkchan(1);
    GO(sendclose_sender, 0);
    GO(sendclose_closer, 0);
    crecv(compl );
    crecv(compl );
}

/* TestRaceChanReadWriteAsync: the read of x for the send races with the
 * write of the received value. */
static void rwasync_w(void *a) {
    (void)a;
    csend(c1, x);
    csend(done, 1);
}
RACE(RaceChanReadWriteAsync) {
    done = mkchan(0);
    c1 = mkchan(10);
    c2 = mkchan(10);
    csend(c2, 10);
    GO(rwasync_w, 0);
    x = crecv(c2);
    crecv(done);
}

/* TestNoRaceChanReadWriteAsync */
NORACE(NoRaceChanReadWriteAsync) {
    done = mkchan(0);
    c1 = mkchan(10);
    GO(rwasync_w, 0);
    x = crecv(c1);
    crecv(done);
}

/* TestRaceChanReadWriteSync */
static void drain_c1(void *a) {
    (void)a;
    crecv(c1);
}
static void fill_c2(void *a) {
    (void)a;
    csend(c2, 10);
}
RACE(RaceChanReadWriteSync) {
    done = mkchan(0);
    c1 = mkchan(0);
    c2 = mkchan(0);
    GO(drain_c1, 0);
    GO(fill_c2, 0);
    GO(rwasync_w, 0);
    x = crecv(c2);
    crecv(done);
}

/* TestNoRaceProducerConsumerUnbuffered */
struct task {
    void (*f)(void);
    gort_chan *done;
};
static gort_chan *queue;
static void consumer(void *a) {
    (void)a;
    struct task t;
    gort_chan_recv(queue, &t);
    t.f();
    csend(t.done, 1);
}
static void set_x(void) {
    x = 1;
}
NORACE(NoRaceProducerConsumerUnbuffered) {
    queue = gort_chan_make(sizeof(struct task), 0);
    GO(consumer, 0);
    struct task t = {set_x, mkchan(1)};
    gort_chan_send(queue, &t);
    crecv(t.done);
    (void)*(volatile int *)&x;
}

/* TestRaceChanItselfSend: the variable holding the channel. */
static void itself_w(void *a) {
    (void)a;
    csend(c, 0);
    csend(compl, 1);
}
RACE(RaceChanItselfSend) {
    compl = mkchan(1);
    c = mkchan(10);
    GO(itself_w, 0);
    c = mkchan(20);
    crecv(compl );
}

/* TestRaceChanCloseSend */
static void closesend_w(void *a) {
    (void)a;
    gort_chan_close(c);
    csend(compl, 1);
}
static void send_recovered(void *a) {
    (void)a;
    gort_defer(recover_only, NULL);
    csend(c, 0);
}
RACE(RaceChanCloseSend) {
    compl = mkchan(1);
    c = mkchan(10);
    GO(closesend_w, 0);
    gort_call(send_recovered, NULL); /* Go's test panics here when close won */
    crecv(compl );
}

/* TestNoRaceChanMutex: a channel of capacity 1 as a mutex. */
int data;
static gort_chan *mtx;
static void chanmutex_w(void *a) {
    (void)a;
    csend(mtx, 1);
    data = 42;
    crecv(mtx);
    csend(done, 1);
}
NORACE(NoRaceChanMutex) {
    done = mkchan(0);
    mtx = mkchan(1);
    GO(chanmutex_w, 0);
    csend(mtx, 1);
    data = 43;
    crecv(mtx);
    crecv(done);
}

/* TestRaceChanSem: capacity 2 admits both. */
RACE(RaceChanSem) {
    done = mkchan(0);
    mtx = mkchan(2);
    GO(chanmutex_w, 0);
    csend(mtx, 1);
    data = 43;
    crecv(mtx);
    crecv(done);
}

/* TestNoRaceChanWaitGroup */
#define N 10
int darr[N];
static gort_chan *chanwg;
static void chanwg_w(void *a) {
    darr[(long)a] = 42;
    crecv(chanwg);
}
NORACE(NoRaceChanWaitGroup) {
    chanwg = mkchan(N / 2);
    for (long i = 0; i < N; i++) {
        csend(chanwg, 1);
        GO(chanwg_w, i);
    }
    for (size_t i = 0; i < gort_chan_cap(chanwg); i++)
        csend(chanwg, 1);
    for (int i = 0; i < N; i++)
        (void)*(volatile int *)&darr[i];
}

/* TestNoRaceBlockedSendSync */
static void blocked_w(void *a) {
    (void)a;
    int *i = malloc(sizeof *i);
    *i = 42;
    gort_chan_send(c, &i);
}
NORACE(NoRaceBlockedSendSync) {
    c = gort_chan_make(sizeof(int *), 1);
    int *p = NULL;
    gort_chan_send(c, &p);
    GO(blocked_w, 0);
    msleep(10);
    gort_chan_recv(c, &p);
    gort_chan_recv(c, &p);
    if (*p != 42)
        abort();
    free(p);
}
