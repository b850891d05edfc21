/*
 * pprof_http_test.c - contrib/pprof_http (libgort_pprof) served from the
 * test's own process, so that a case decides what its goroutines do while
 * the real `go tool pprof` (or a raw request) fetches a profile.  The
 * kvstore e2e pprof_http cases cover the server as a separate program.
 *
 * Delta profiles (net/http/pprof's NAME?seconds=N): the profile N seconds
 * later minus the profile now.  Before, the server ignored seconds and
 * answered the cumulative profile at once.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "gort_pprof_http.h"
#include "gt.h"
#include "gt_gort.h"
#include "gort.h"
#include "pprof_tools.h"

/* The server on a free loopback port: the port. */
static int start_server(void) {
    int port = gort_pprof_http_start("127.0.0.1:0");
    ASSERT_GT(port, 0);
    return port;
}

/* go tool ARGS with this goroutine's P given up meanwhile
 * (gort_syscall_enter), so that the server's goroutines run while the tool
 * waits for them. */
#define GO_TOOL_OFF_P(out, len, ...)              \
    ({                                            \
        gort_syscall_enter();                     \
        int st_ = go_tool(out, len, __VA_ARGS__); \
        gort_syscall_exit();                      \
        st_;                                      \
    })

/* A raw request (method, path with its query) to the server on port: the
 * whole answer (headers and body) into buf, NUL-terminated; its length.
 * With half_close, the request is followed by a shutdown of our side. */
static size_t raw_request(const char *method, int port, const char *path, bool half_close,
                          char *buf, size_t cap) {
    char addr[64], req[512];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    int fd = gort_dial(addr, gort_nanotime() + tmo(10));
    ASSERT_GE(fd, 0);
    int k = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method, path, addr);
    ASSERT_EQ(gort_write(fd, req, (size_t)k), k);
    if (half_close)
        ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
    ASSERT_EQ(gort_set_deadline(fd, gort_nanotime() + tmo(20), 0), 0);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = gort_read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    gort_close(fd);
    return n;
}

static size_t raw_get(int port, const char *path, bool half_close, char *buf, size_t cap) {
    return raw_request("GET", port, path, half_close, buf, cap);
}

/* The answer to path must have status, body (exactly) and the headers of
 * net/http/pprof's serveError. */
static void expect_error(int port, const char *path, const char *status, const char *body) {
    static char buf[1 << 16];
    raw_get(port, path, false, buf, sizeof buf);
    const char *b = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, status, strlen(status)) != 0 || b == NULL || strcmp(b + 4, body) != 0 ||
        strstr(buf, "\r\nContent-Type: text/plain; charset=utf-8\r\n") == NULL ||
        strstr(buf, "\r\nX-Go-Pprof: 1\r\n") == NULL)
        GT_FAIL("GET %s: %s with \"%s\" expected:\n%s", path, status, body, buf);
}

/* ---------------------------------------------------------------- allocs */

static atomic_bool window_open;

/* Objects of another size than alloc_during's: two functions of the same
 * code are one in a release build (GCC's identical code folding). */
__attribute__((noinline)) static void alloc_before(int n) {
    for (int i = 0; i < n; i++)
        gort_keep_alive(gort_new_noscan(48));
}

__attribute__((noinline)) static void alloc_during(int n) {
    for (int i = 0; i < n; i++)
        gort_keep_alive(gort_new_noscan(64));
}

/* Allocates (and collects, which is what publishes allocations to the
 * heap profiles) until window_open is cleared. */
static void allocator(void *arg) {
    gort_chan *done = arg;
    /* Relaxed: a flag polled; the channel orders the end. */
    while (atomic_load_explicit(&window_open, memory_order_relaxed)) {
        alloc_during(100);
        gort_gc();
        gort_sleep(10 * GT_MS);
    }
    gort_chan_close(done);
}

/* allocs?seconds=2 while a goroutine allocates in alloc_during: the
 * delta names alloc_during, and not alloc_before, whose allocations all
 * came before the request.  (Before: the cumulative profile, with
 * alloc_before's, at once.) */
static int allocs_delta_main(void *arg) {
    (void)arg;
    int old = gort_set_mem_profile_rate(1);
    int port = start_server();
    alloc_before(2000);
    gort_gc();
    gort_gc();
    atomic_store_explicit(&window_open, true, memory_order_relaxed);
    gort_chan *done = gort_chan_make(0, 0);
    go(allocator, done);
    static char out[1 << 16];
    (void)tmp_path("x"); /* go_tool's private pprof directory */
    int st = GO_TOOL_OFF_P(out, sizeof out,
                           "pprof -nodefraction=0 -sample_index=alloc_objects -top "
                           "http://127.0.0.1:%d/debug/pprof/allocs?seconds=2",
                           port);
    atomic_store_explicit(&window_open, false, memory_order_relaxed);
    gort_chan_recv(done, NULL);
    gort_chan_free(done);
    ASSERT_EQ(st, 0);
    if (atoi(top_flat(out, "alloc_during")) < 100 || top_flat(out, "alloc_before")[0] != '\0' ||
        strstr(out, "Duration: 2") == NULL)
        GT_FAIL("allocs?seconds=2: alloc_during's objects and none of alloc_before's, over "
                "2s, expected:\n%s",
                out);
    /* The cumulative profile still has alloc_before's (the test's
     * premise). */
    st = GO_TOOL_OFF_P(out, sizeof out,
                       "pprof -nodefraction=0 -sample_index=alloc_objects -top "
                       "http://127.0.0.1:%d/debug/pprof/allocs",
                       port);
    ASSERT_EQ(st, 0);
    if (strcmp(top_flat(out, "alloc_before"), "2000") != 0)
        GT_FAIL("allocs: 2000 objects at alloc_before expected:\n%s", out);
    gort_set_mem_profile_rate(old);
    return 0;
}

TEST(allocs_delta) {
    NEED_GO();
    run(allocs_delta_main, NULL);
}

/* ----------------------------------------------------------------- block */

typedef struct feeder {
    gort_chan *c;
    int n;
    gort_chan *done; /* closed when feed returns */
} feeder;

static atomic_bool feed_stop;

/* Sends f->n values, 2 ms apart, on f->c, or fewer once feed_stop is
 * set. */
static void feed(void *arg) {
    feeder *f = arg;
    /* Relaxed: a flag polled; f->done orders the end. */
    for (int i = 0; i < f->n && !atomic_load_explicit(&feed_stop, memory_order_relaxed); i++) {
        gort_sleep(2 * GT_MS);
        gort_chan_send(f->c, NULL);
    }
    gort_chan_close(f->done);
}

__attribute__((noinline)) static void block_before(gort_chan *c, int n) {
    for (int i = 0; i < n; i++)
        gort_chan_recv(c, NULL);
}

__attribute__((noinline)) static void block_during(gort_chan *c) {
    gort_chan_recv(c, NULL);
}

static void blocker(void *arg) {
    gort_chan *done = arg;
    /* Buffered, so that the feeder's sends after the last receive do not
     * wait: it stops at feed_stop (the receives still wait, for the
     * feeder's next value). */
    feeder f = {gort_chan_make(0, 1024), 1 << 30, gort_chan_make(0, 0)};
    go(feed, &f);
    /* Relaxed: a flag polled; the channel orders the end. */
    while (atomic_load_explicit(&window_open, memory_order_relaxed))
        block_during(f.c);
    atomic_store_explicit(&feed_stop, true, memory_order_relaxed);
    gort_chan_recv(f.done, NULL);
    gort_chan_free(f.c);
    gort_chan_free(f.done);
    gort_chan_close(done);
}

/* block?seconds=2 while a goroutine blocks in block_during: the delta
 * names block_during, not block_before, which blocked only before the
 * request. */
static int block_delta_main(void *arg) {
    (void)arg;
    gort_set_block_profile_rate(1);
    int port = start_server();
    feeder f = {gort_chan_make(0, 0), 20, gort_chan_make(0, 0)};
    go(feed, &f);
    block_before(f.c, 20);
    gort_chan_recv(f.done, NULL);
    gort_chan_free(f.c);
    gort_chan_free(f.done);
    atomic_store_explicit(&window_open, true, memory_order_relaxed);
    gort_chan *done = gort_chan_make(0, 0);
    go(blocker, done);
    static char out[1 << 16];
    (void)tmp_path("x");
    int st =
        GO_TOOL_OFF_P(out, sizeof out,
                      "pprof -nodefraction=0 -sample_index=contentions -top -prune_from='^block_' "
                      "http://127.0.0.1:%d/debug/pprof/block?seconds=2",
                      port);
    atomic_store_explicit(&window_open, false, memory_order_relaxed);
    gort_chan_recv(done, NULL);
    gort_chan_free(done);
    ASSERT_EQ(st, 0);
    /* -prune_from: the stacks cut below block_*, so that they are the
     * leaves, with their contentions flat. */
    if (atoi(top_flat(out, "block_during")) < 10 || top_flat(out, "block_before")[0] != '\0' ||
        strstr(out, "Type: contentions") == NULL)
        GT_FAIL("block?seconds=2: block_during's contentions and none of block_before's "
                "expected:\n%s",
                out);
    gort_set_block_profile_rate(0);
    return 0;
}

TEST(block_delta) {
    NEED_GO();
    run(block_delta_main, NULL);
}

/* ------------------------------------------------------- bad parameters */

/* net/http/pprof's answers to a seconds it cannot serve, and to the
 * paths that ignore seconds.  (Before: each named profile answered 200
 * with its cumulative profile.) */
static int delta_params_main(void *arg) {
    (void)arg;
    int port = start_server();
    static const char bad[] = "invalid value for \"seconds\" - must be a positive integer\n";
    expect_error(port, "/debug/pprof/heap?seconds=0", "HTTP/1.1 400 ", bad);
    expect_error(port, "/debug/pprof/heap?seconds=-1", "HTTP/1.1 400 ", bad);
    expect_error(port, "/debug/pprof/allocs?seconds=1.5", "HTTP/1.1 400 ", bad);
    expect_error(port, "/debug/pprof/block?seconds=abc", "HTTP/1.1 400 ", bad);
    expect_error(port, "/debug/pprof/mutex?seconds=+1", "HTTP/1.1 400 ", bad); /* '+': a space */
    expect_error(port, "/debug/pprof/threadcreate?seconds=99999999999999999999", "HTTP/1.1 400 ",
                 bad);
    expect_error(port, "/debug/pprof/goroutine?seconds=1&debug=1", "HTTP/1.1 400 ",
                 "seconds and debug params are incompatible\n");
    expect_error(port, "/debug/pprof/goroutine?debug=2&seconds=5", "HTTP/1.1 400 ",
                 "seconds and debug params are incompatible\n");
    static char buf[1 << 16];
    /* Not a delta: an empty seconds, and the paths outside Go's named
     * profiles (cmdline ignores it; an unknown profile is 404 first). */
    raw_get(port, "/debug/pprof/heap?seconds=", false, buf, sizeof buf);
    if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || strstr(buf, "filename=\"heap\"\r\n") == NULL)
        GT_FAIL("heap?seconds= (empty): the profile expected:\n%.300s", buf);
    raw_get(port, "/debug/pprof/cmdline?seconds=1", false, buf, sizeof buf);
    if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || strstr(buf, "pprof_http_test") == NULL)
        GT_FAIL("cmdline?seconds=1: the command line expected:\n%.300s", buf);
    raw_get(port, "/debug/pprof/nonesuch?seconds=1", false, buf, sizeof buf);
    if (strncmp(buf, "HTTP/1.1 404 ", 13) != 0 || strstr(buf, "\r\n\r\nUnknown profile\n") == NULL)
        GT_FAIL("nonesuch?seconds=1: 404 Unknown profile expected:\n%.300s", buf);
    /* A delta (%31 is "1"): after a second, as NAME-delta. */
    int64_t t0 = now_ns();
    size_t n = raw_get(port, "/debug/pprof/goroutine?seconds=%31&debug=0", false, buf, sizeof buf);
    int64_t took = now_ns() - t0;
    if (n == 0 || strncmp(buf, "HTTP/1.1 200 ", 13) != 0 ||
        strstr(buf, "\r\nContent-Type: application/octet-stream\r\n") == NULL ||
        strstr(buf, "filename=\"goroutine-delta\"\r\n") == NULL || took < GT_SEC)
        GT_FAIL("goroutine?seconds=1 after %lld ms: goroutine-delta after 1 s expected:\n%.300s",
                (long long)(took / GT_MS), buf);
    return 0;
}

TEST(delta_params) {
    run(delta_params_main, NULL);
}

/* ------------------------------------------------------------------ HEAD */

/* HEAD is answered as GET with the headers alone (RFC 9110: the
 * Content-Length a GET would have, no content), as Go's server does; the
 * body followed them. */
static int head_main(void *arg) {
    (void)arg;
    int port = start_server();
    static const char *const paths[] = {"/debug/pprof/", "/debug/pprof/cmdline",
                                        "/debug/pprof/goroutine?debug=1", "/debug/pprof/nonesuch"};
    static char get[1 << 16], head[1 << 16];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        size_t gn = raw_get(port, paths[i], false, get, sizeof get);
        size_t n = raw_request("HEAD", port, paths[i], false, head, sizeof head);
        const char *gb = strstr(get, "\r\n\r\n"), *hb = strstr(head, "\r\n\r\n");
        const char *gl = strstr(get, "\r\nContent-Length: "),
                   *hl = strstr(head, "\r\nContent-Length: ");
        if (gb == NULL || hb == NULL || gl == NULL || hl == NULL || strncmp(get, head, 13) != 0 ||
            hb + 4 != head + n)
            GT_FAIL("HEAD %s: GET's status and headers, no content, expected:\n%.400s\n"
                    "(GET:\n%.400s)",
                    paths[i], head, get);
        /* The goroutine profile's length may change between the two. */
        if (i != 2 && atol(gl + 18) != atol(hl + 18))
            GT_FAIL("HEAD %s: Content-Length %ld, GET's %ld", paths[i], atol(hl + 18),
                    atol(gl + 18));
        size_t body = gn - (size_t)(gb + 4 - get);
        if (atol(hl + 18) <= 0 || (size_t)atol(gl + 18) != body)
            GT_FAIL("HEAD %s: Content-Length %ld, GET's body %zu bytes", paths[i], atol(hl + 18),
                    body);
    }
    return 0;
}

TEST(head_has_no_body) {
    run(head_main, NULL);
}

/* ----------------------------------------------------------- client gone */

/* A delta whose client goes away (here: shuts down its side, which Go's
 * server reads as the request's context done) ends then, with Go's answer
 * to a cancelled context, rather than after its 30 seconds. */
static int delta_client_gone_main(void *arg) {
    (void)arg;
    int port = start_server();
    static char buf[1 << 16];
    int64_t t0 = now_ns();
    raw_get(port, "/debug/pprof/heap?seconds=30", true, buf, sizeof buf);
    int64_t took = now_ns() - t0;
    if (strncmp(buf, "HTTP/1.1 500 ", 13) != 0 ||
        strstr(buf, "\r\n\r\ncontext canceled\n") == NULL || took > tmo(10))
        GT_FAIL("heap?seconds=30, client gone, after %lld ms: 500 context canceled at once "
                "expected:\n%.300s",
                (long long)(took / GT_MS), buf);
    return 0;
}

TEST(delta_client_gone) {
    run(delta_client_gone_main, NULL);
}

/* ------------------------------------------------------------ short trace */

/* A trace of less than a nanosecond (seconds=1e-10) is answered at once,
 * as Go's (time.Duration(sec * 1e9) is 0), and the tracer is free again.
 * It waited for the client to go away instead, tracing all the while, and
 * every other trace was refused meanwhile ("tracing already enabled"). */
static int trace_tiny_seconds_main(void *arg) {
    (void)arg;
    int port = start_server();
    static char buf[1 << 20];
    int64_t t0 = now_ns();
    raw_get(port, "/debug/pprof/trace?seconds=0.0000000001", false, buf, sizeof buf);
    int64_t took = now_ns() - t0;
    if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || strstr(buf, "filename=\"trace\"\r\n") == NULL ||
        took > tmo(5))
        GT_FAIL("trace?seconds=1e-10 after %lld ms: a trace at once expected:\n%.300s",
                (long long)(took / GT_MS), buf);
    raw_get(port, "/debug/pprof/trace?seconds=0.01", false, buf, sizeof buf);
    if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
        GT_FAIL("trace?seconds=0.01 after it: a trace expected:\n%.300s", buf);
    return 0;
}

TEST(trace_tiny_seconds) {
    run(trace_tiny_seconds_main, NULL);
}

GT_MAIN()
