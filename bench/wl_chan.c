/*
 * wl_chan.c - channel and select workloads: pingpong_unbuf_p1,
 * pingpong_unbuf_pN, chan_buf_spsc, chan_mpmc, select2, ring, sieve.  Each
 * mirrors the function of the same name in ../shared/reference/go/bench.go;
 * README.md there defines them.
 *
 * Channels carry int64_t (Go's int); `chan struct{}` is elem_size 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"

#define INT_SZ sizeof(int64_t)

/* ---------------------------------------------------------------- pingpong */

typedef struct pingpong_state {
    gort_chan *ping, *pong;
    gort_waitgroup wg;
} pingpong_state;

/* B: for v := range ping { pong <- v } */
static void pingpong_echo(void *arg) {
    pingpong_state *s = arg;
    int64_t v;
    while (gort_chan_recv(s->ping, &v))
        gort_chan_send(s->pong, &v);
    gort_wg_done(&s->wg);
}

/* A: ping <- i; check <-pong == i; pingpong_n times; close(ping). */
static void pingpong_driver(void *arg) {
    pingpong_state *s = arg;
    const int64_t n = bench_sz->pingpong_n;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = -1;
        gort_chan_send(s->ping, &i);
        if (!gort_chan_recv(s->pong, &v) || v != i)
            bench_fail("pingpong: bad value: got %lld, want %lld", (long long)v, (long long)i);
    }
    gort_chan_close(s->ping);
    gort_wg_done(&s->wg);
}

static int pingpong(const char *name, bench_result *res) {
    pingpong_state s = {.ping = bench_chan_make(INT_SZ, 0), .pong = bench_chan_make(INT_SZ, 0)};
    int64_t start = bench_now();
    gort_wg_add(&s.wg, 2);
    bench_go(pingpong_echo, &s);
    bench_go(pingpong_driver, &s);
    gort_wg_wait(&s.wg);
    int64_t el = bench_now() - start;
    gort_chan_free(s.ping);
    gort_chan_free(s.pong);
    res[0] = (bench_result){name, bench_ns_per(el, bench_sz->pingpong_n), "ns/op"};
    return 1;
}

int wl_pingpong_unbuf_p1(bench_result *res) {
    return pingpong("pingpong_unbuf_p1", res);
}
int wl_pingpong_unbuf_pN(bench_result *res) {
    return pingpong("pingpong_unbuf_pN", res);
}

/* ---------------------------------------------------------------- chan_buf_spsc */

typedef struct spsc_state {
    gort_chan *ch;
    int64_t sum; /* written by the consumer before wg_done */
    gort_waitgroup wg;
} spsc_state;

static void spsc_producer(void *arg) {
    spsc_state *s = arg;
    const int64_t n = bench_sz->spsc_n;
    for (int64_t i = 0; i < n; i++)
        gort_chan_send(s->ch, &i);
    gort_chan_close(s->ch);
    gort_wg_done(&s->wg);
}

static void spsc_consumer(void *arg) {
    spsc_state *s = arg;
    int64_t v, sum = 0;
    while (gort_chan_recv(s->ch, &v))
        sum += v;
    s->sum = sum;
    gort_wg_done(&s->wg);
}

/* One producer sends 0..spsc_n-1 into a cap-1024 channel then closes it;
 * one consumer receives until closed.  The sum is checked. */
int wl_chan_buf_spsc(bench_result *res) {
    const int64_t n = bench_sz->spsc_n;
    spsc_state s = {.ch = bench_chan_make(INT_SZ, (size_t)bench_sz->chan_buf_cap)};
    int64_t start = bench_now();
    gort_wg_add(&s.wg, 2);
    bench_go(spsc_producer, &s);
    bench_go(spsc_consumer, &s);
    gort_wg_wait(&s.wg);
    int64_t el = bench_now() - start;
    gort_chan_free(s.ch);
    if (s.sum != n * (n - 1) / 2)
        bench_fail("chan_buf_spsc: bad sum: %lld, want %lld", (long long)s.sum,
                   (long long)(n * (n - 1) / 2));
    res[0] = (bench_result){"chan_buf_spsc", bench_ns_per(el, n), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- chan_mpmc */

typedef struct mpmc_state {
    gort_chan *ch;
    int64_t per;
    _Atomic int64_t got; /* atomic.AddInt64(&got, n) */
    gort_waitgroup prod, cons;
} mpmc_state;

static void mpmc_producer(void *arg) {
    mpmc_state *s = arg;
    for (int64_t i = 0; i < s->per; i++)
        gort_chan_send(s->ch, &i);
    gort_wg_done(&s->prod);
}

static void mpmc_consumer(void *arg) {
    mpmc_state *s = arg;
    int64_t n = 0;
    while (gort_chan_recv(s->ch, NULL))
        n++;
    atomic_fetch_add_explicit(&s->got, n, memory_order_seq_cst);
    gort_wg_done(&s->cons);
}

/* mpmc_producers producers each send mpmc_n/mpmc_producers ints into one
 * cap-1024 channel; mpmc_consumers consumers receive until it is closed; the
 * main goroutine closes it once all producers are done.  The total received
 * is checked. */
int wl_chan_mpmc(bench_result *res) {
    const int np = bench_sz->mpmc_producers, nc = bench_sz->mpmc_consumers;
    mpmc_state s = {.ch = bench_chan_make(INT_SZ, (size_t)bench_sz->chan_buf_cap),
                    .per = bench_sz->mpmc_n / np};
    atomic_init(&s.got, 0);
    int64_t start = bench_now();
    gort_wg_add(&s.prod, np);
    gort_wg_add(&s.cons, nc);
    for (int p = 0; p < np; p++)
        bench_go(mpmc_producer, &s);
    for (int c = 0; c < nc; c++)
        bench_go(mpmc_consumer, &s);
    gort_wg_wait(&s.prod);
    gort_chan_close(s.ch);
    gort_wg_wait(&s.cons);
    int64_t el = bench_now() - start;
    gort_chan_free(s.ch);
    int64_t got = atomic_load_explicit(&s.got, memory_order_seq_cst);
    if (got != s.per * np)
        bench_fail("chan_mpmc: lost items: got %lld, want %lld", (long long)got,
                   (long long)(s.per * np));
    res[0] = (bench_result){"chan_mpmc", bench_ns_per(el, s.per * np), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- select2 */

typedef struct select2_state {
    gort_chan *c1, *c2;
    int64_t half;
    gort_waitgroup wg;
} select2_state;

typedef struct select2_producer_arg {
    select2_state *s;
    gort_chan *c;
} select2_producer_arg;

static void select2_producer(void *arg) {
    select2_producer_arg *a = arg;
    for (int64_t i = 0; i < a->s->half; i++)
        gort_chan_send(a->c, &i);
    gort_wg_done(&a->s->wg);
}

/* for got < 2*half { select { case <-c1: got++; case <-c2: got++ } } */
static void select2_consumer(void *arg) {
    select2_state *s = arg;
    int64_t v1, v2, got = 0;
    gort_select_case cases[2] = {
        {.chan = s->c1, .dir = GORT_RECV, .elem = &v1},
        {.chan = s->c2, .dir = GORT_RECV, .elem = &v2},
    };
    while (got < 2 * s->half) {
        int i = gort_select(cases, 2, true);
        if (i != 0 && i != 1)
            bench_fail("select2: gort_select returned %d", i);
        got++;
    }
    gort_wg_done(&s->wg);
}

/* Producers P1, P2 each send select2_n/2 ints into their own cap-128
 * channel; one consumer selects over both until it has select2_n items. */
int wl_select2(bench_result *res) {
    select2_state s = {.c1 = bench_chan_make(INT_SZ, (size_t)bench_sz->select2_cap),
                       .c2 = bench_chan_make(INT_SZ, (size_t)bench_sz->select2_cap),
                       .half = bench_sz->select2_n / 2};
    select2_producer_arg pa[2] = {{&s, s.c1}, {&s, s.c2}};
    int64_t start = bench_now();
    gort_wg_add(&s.wg, 3);
    for (int p = 0; p < 2; p++)
        bench_go(select2_producer, &pa[p]);
    bench_go(select2_consumer, &s);
    gort_wg_wait(&s.wg);
    int64_t el = bench_now() - start;
    gort_chan_free(s.c1);
    gort_chan_free(s.c2);
    res[0] = (bench_result){"select2", bench_ns_per(el, 2 * s.half), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- ring */

typedef struct ring_state {
    gort_chan *done; /* chan struct{} */
    int64_t hops;
    gort_waitgroup wg;
} ring_state;

typedef struct ring_arg {
    ring_state *s;
    gort_chan *in, *out;
} ring_arg;

/* for v := range in { if v == hops { done <- struct{}{}; continue }; out <- v + 1 } */
static void ring_body(void *arg) {
    ring_arg *a = arg;
    int64_t v;
    while (gort_chan_recv(a->in, &v)) {
        if (v == a->s->hops) {
            gort_chan_send(a->s->done, NULL);
            continue;
        }
        v++;
        gort_chan_send(a->out, &v);
    }
    gort_wg_done(&a->s->wg);
}

/* ring_g goroutines, goroutine i receives from c[i] and sends value+1 to
 * c[(i+1)%ring_g]; all channels unbuffered.  Spawning the ring is not
 * timed; the clock covers injecting 0 into c[0] until the goroutine that
 * receives ring_hops reports on done.  Then (not timed) close every channel
 * and wait for the goroutines to exit. */
int wl_ring(bench_result *res) {
    const int g = bench_sz->ring_g;
    gort_chan **chans = calloc((size_t)g, sizeof *chans);
    ring_arg *args = calloc((size_t)g, sizeof *args);
    if (chans == NULL || args == NULL)
        bench_fail("ring: out of memory");
    for (int i = 0; i < g; i++)
        chans[i] = bench_chan_make(INT_SZ, 0);
    ring_state s = {.done = bench_chan_make(0, 0), .hops = bench_sz->ring_hops};
    gort_wg_add(&s.wg, g);
    for (int i = 0; i < g; i++) {
        args[i] = (ring_arg){&s, chans[i], chans[(i + 1) % g]};
        bench_go(ring_body, &args[i]);
    }
    int64_t start = bench_now();
    int64_t zero = 0;
    gort_chan_send(chans[0], &zero);
    gort_chan_recv(s.done, NULL);
    int64_t el = bench_now() - start;
    for (int i = 0; i < g; i++)
        gort_chan_close(chans[i]);
    gort_wg_wait(&s.wg);
    for (int i = 0; i < g; i++)
        gort_chan_free(chans[i]);
    gort_chan_free(s.done);
    free(chans);
    free(args);
    res[0] = (bench_result){"ring", bench_ns_per(el, s.hops), "ns/op"};
    return 1;
}

/* ---------------------------------------------------------------- sieve */

static void sieve_generate(void *arg) {
    gort_chan *ch = arg;
    for (int64_t i = 2;; i++)
        gort_chan_send(ch, &i);
}

typedef struct sieve_filter_arg {
    gort_chan *in, *out;
    int64_t prime;
    struct sieve_filter_arg *next; /* sieve_abandoned */
} sieve_filter_arg;

/* Every filter's argument (and through it every sieve channel), kept
 * reachable from here so that LeakSanitizer, in the sanitizer builds of the
 * smoke test, does not report the blocked generator and filters that the
 * workload abandons by design.  Only the main goroutine touches it. */
static sieve_filter_arg *sieve_abandoned;

static void sieve_filter(void *arg) {
    sieve_filter_arg *a = arg;
    for (;;) {
        int64_t i;
        gort_chan_recv(a->in, &i);
        if (i % a->prime != 0)
            gort_chan_send(a->out, &i);
    }
}

/* The classic concurrent prime sieve, unbuffered channels, one filter
 * goroutine per prime; take the first sieve_primes primes; the last one is
 * checked.  The generator and filters are left blocked afterwards, as in
 * the Go program: their channels and arguments are never freed (gort_main
 * abandons the goroutines when the process's run ends). */
int wl_sieve(bench_result *res) {
    const int nprimes = bench_sz->sieve_primes;
    int64_t start = bench_now();
    gort_chan *ch = bench_chan_make(INT_SZ, 0);
    bench_go(sieve_generate, ch);
    int64_t prime = 0;
    for (int i = 0; i < nprimes; i++) {
        gort_chan_recv(ch, &prime);
        gort_chan *ch1 = bench_chan_make(INT_SZ, 0);
        sieve_filter_arg *a = malloc(sizeof *a);
        if (a == NULL)
            bench_fail("sieve: out of memory");
        *a = (sieve_filter_arg){ch, ch1, prime, sieve_abandoned};
        sieve_abandoned = a;
        bench_go(sieve_filter, a);
        ch = ch1;
    }
    int64_t el = bench_now() - start;
    if (prime != bench_sz->sieve_last_prime)
        bench_fail("sieve: wrong last prime: %lld, want %lld", (long long)prime,
                   (long long)bench_sz->sieve_last_prime);
    res[0] = (bench_result){"sieve", bench_ms(el), "ms"};
    return 1;
}
