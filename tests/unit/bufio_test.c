/*
 * bufio_test.c - buffered reading and writing (issue 15): ScanLines
 * (CRLF, empty and unterminated last lines), delimiter reads across fills
 * and buffer growth, the token limit (-EMSGSIZE, sticky) at and past max,
 * ReadString copies, an error returned once with the buffered bytes kept
 * (a read deadline), Reader.Read, the writer's buffering, direct large
 * writes, printf, its sticky error and short writes, 20,000 lines
 * between goroutines over a pipe, each one checked, and a reader's and a
 * writer's ctx on the collected heap kept alive until they are freed.
 */
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS GT_MS

/* A source that hands out a string a few bytes per read. */
typedef struct src {
    const char *s;
    size_t off, chunk;
    int reads;
} src;

static ssize_t src_read(void *ctx, void *buf, size_t n) {
    src *s = ctx;
    s->reads++;
    size_t left = strlen(s->s) - s->off;
    size_t c = left < n ? left : n;
    if (c > s->chunk)
        c = s->chunk;
    memcpy(buf, s->s + s->off, c);
    s->off += c;
    return (ssize_t)c;
}

TEST(scan_lines) {
    src s = {.s = "a\nbb\r\n\n\rx\r\nlast", .chunk = 3};
    gort_bufreader *r = gort_bufreader_new_fn(src_read, &s, 4, 64);
    ASSERT_NOT_NULL(r);
    char *line;
    size_t len;
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, &len), 1);
    ASSERT_STREQ(line, "a");
    ASSERT_EQ(len, 1);
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, &len), 1);
    ASSERT_STREQ(line, "bb"); /* "\r\n" dropped */
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, &len), 1);
    ASSERT_STREQ(line, "");
    ASSERT_EQ(len, 0);
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, &len), 1);
    ASSERT_STREQ(line, "\rx"); /* only a CR before the newline goes */
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, &len), 1);
    ASSERT_STREQ(line, "last"); /* unterminated last line */
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, &len), 0);
    ASSERT_NULL(line);
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, NULL), 0); /* EOF stays */
    gort_bufreader_free(r);
}

TEST(read_slice_grows_to_max) {
    /* A 40-byte token through a 4-byte first buffer, 3 bytes per read. */
    src s = {.s = "0123456789012345678901234567890123456789,tail", .chunk = 3};
    gort_bufreader *r = gort_bufreader_new_fn(src_read, &s, 4, 41);
    ASSERT_NOT_NULL(r);
    const char *p;
    ASSERT_EQ(gort_bufreader_read_slice(r, ',', &p), 41); /* exactly max, delimiter counted */
    ASSERT_EQ(memcmp(p, "0123456789012345678901234567890123456789,", 41), 0);
    ASSERT_EQ(gort_bufreader_read_slice(r, ',', &p), 4); /* the rest, no delimiter */
    ASSERT_EQ(memcmp(p, "tail", 4), 0);
    ASSERT_EQ(gort_bufreader_read_slice(r, ',', &p), 0);
    gort_bufreader_free(r);
}

/* A size whose buffer cannot be allocated is NULL, as out of memory:
 * SIZE_MAX once wrapped the buffer's size + 1 to a 1-byte malloc that the
 * first fill overran.  A max of SIZE_MAX is no limit, and still works. */
TEST(huge_size_is_null_not_overflow) {
    src s = {.s = "0123456789abcdef\nrest", .chunk = 3};
    ASSERT_NULL(gort_bufreader_new_fn(src_read, &s, SIZE_MAX, 0));
    ASSERT_NULL(gort_bufreader_new_fn(src_read, &s, SIZE_MAX, SIZE_MAX));
    ASSERT_NULL(gort_bufreader_new_fn(src_read, &s, SIZE_MAX - 1, SIZE_MAX));
    ASSERT_EQ(s.reads, 0);
    gort_bufreader *r = gort_bufreader_new_fn(src_read, &s, 4, SIZE_MAX);
    ASSERT_NOT_NULL(r);
    const char *p;
    ASSERT_EQ(gort_bufreader_read_slice(r, '\n', &p), 17);
    ASSERT_EQ(memcmp(p, "0123456789abcdef\n", 17), 0);
    char b[8];
    size_t got = 0;
    ssize_t n;
    while ((n = gort_bufreader_read(r, b + got, sizeof b - got)) > 0)
        got += (size_t)n;
    ASSERT_EQ(n, 0);
    ASSERT_EQ(got, 4);
    ASSERT_EQ(memcmp(b, "rest", 4), 0);
    gort_bufreader_free(r);
}

TEST(too_long_is_emsgsize_and_sticky) {
    src s = {.s = "short\nthis line is far too long for the limit\nnext\n", .chunk = 100};
    gort_bufreader *r = gort_bufreader_new_fn(src_read, &s, 8, 16);
    ASSERT_NOT_NULL(r);
    char *line;
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, NULL), 1);
    ASSERT_STREQ(line, "short");
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, NULL), -EMSGSIZE);
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, NULL), -EMSGSIZE);
    const char *p;
    ASSERT_EQ(gort_bufreader_read_slice(r, '\n', &p), -EMSGSIZE);
    char b[4];
    ASSERT_EQ(gort_bufreader_read(r, b, sizeof b), -EMSGSIZE);
    gort_bufreader_free(r);
    /* The defaults: 64 KiB lines fit, longer ones do not (Scanner). */
    static char big[70000];
    memset(big, 'x', sizeof big);
    big[65535] = '\n';
    big[sizeof big - 1] = '\0';
    src s2 = {.s = big, .chunk = 5000};
    r = gort_bufreader_new_fn(src_read, &s2, 0, 0);
    ASSERT_EQ(gort_bufreader_read_slice(r, '\n', &p), 65536);
    ASSERT_EQ(gort_bufreader_read_slice(r, '\n', &p), (ssize_t)(sizeof big - 1 - 65536));
    gort_bufreader_free(r);
    memset(big, 'x', sizeof big - 1);
    s2.off = 0;
    r = gort_bufreader_new_fn(src_read, &s2, 0, 0);
    ASSERT_EQ(gort_bufreader_read_slice(r, '\n', &p), -EMSGSIZE);
    gort_bufreader_free(r);
}

TEST(read_string_and_read) {
    src s = {.s = "k1=v1;k2=v2;rest of it", .chunk = 2};
    gort_bufreader *r = gort_bufreader_new_fn(src_read, &s, 0, 0);
    char *str;
    ASSERT_EQ(gort_bufreader_read_string(r, ';', &str), 6);
    ASSERT_STREQ(str, "k1=v1;");
    free(str);
    char b[8];
    /* At most one read of the source (2 bytes here), as Go's. */
    ASSERT_EQ(gort_bufreader_read(r, b, 3), 2);
    ASSERT_EQ(memcmp(b, "k2", 2), 0);
    ASSERT_EQ(gort_bufreader_read_string(r, ';', &str), 4);
    ASSERT_STREQ(str, "=v2;");
    free(str);
    ASSERT_EQ(gort_bufreader_read_string(r, ' ', &str), 5);
    ASSERT_STREQ(str, "rest ");
    free(str);
    ASSERT_EQ(gort_bufreader_read(r, b, 1), 1); /* buffered bytes first */
    ASSERT_EQ(b[0], 'o');
    ASSERT_EQ(gort_bufreader_read_string(r, ';', &str), 4);
    ASSERT_STREQ(str, "f it");
    free(str);
    ASSERT_EQ(gort_bufreader_read_string(r, ';', &str), 0);
    ASSERT_NULL(str);
    ASSERT_EQ(gort_bufreader_read(r, b, sizeof b), 0);
    gort_bufreader_free(r);
    /* A read at least as large as the buffer bypasses it. */
    src s3 = {.s = "abcdefghij", .chunk = 100};
    r = gort_bufreader_new_fn(src_read, &s3, 4, 4);
    ASSERT_EQ(gort_bufreader_read(r, b, 8), 8);
    ASSERT_EQ(gort_bufreader_buffered(r), 0);
    ASSERT_EQ(gort_bufreader_read(r, b, 1), 1); /* a fill of 2 */
    ASSERT_EQ(gort_bufreader_buffered(r), 1);
    gort_bufreader_free(r);
}

/* A read error is returned once; the partial line stays buffered. */
static int deadline_main(void *arg) {
    (void)arg;
    gort_conn l, a, b;
    ASSERT_EQ(gort_conn_listen(&l, "tcp", "127.0.0.1:0"), 0);
    gort_addr la;
    ASSERT_EQ(gort_conn_local_addr(l, &la), 0);
    char addr[GORT_ADDR_STRLEN];
    ASSERT_GT(gort_addr_string(&la, addr, sizeof addr), 0);
    ASSERT_EQ(gort_conn_dial(&a, "tcp", addr, 0), 0);
    ASSERT_EQ(gort_conn_accept(l, &b), 0);
    gort_bufreader *r = gort_bufreader_new_conn(b, 0, 0);
    gort_bufwriter *w = gort_bufwriter_new_conn(a, 0);
    ASSERT_EQ(gort_bufwriter_write_string(w, "hel"), 3);
    ASSERT_EQ(gort_bufwriter_flush(w), 0);
    ASSERT_EQ(gort_conn_set_deadline(b, gort_nanotime() + 20 * MS, 0), 0);
    char *line;
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, NULL), -ETIMEDOUT);
    ASSERT_EQ(gort_bufreader_buffered(r), 3);
    ASSERT_EQ(gort_conn_set_deadline(b, 0, 0), 0);
    ASSERT_EQ(gort_bufwriter_printf(w, "lo\n"), 3);
    ASSERT_EQ(gort_bufwriter_flush(w), 0);
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, NULL), 1);
    ASSERT_STREQ(line, "hello");
    /* The writer over a closed connection: -EBADF, sticky. */
    ASSERT_EQ(gort_conn_close(a), 0);
    ASSERT_EQ(gort_bufwriter_write_string(w, "x"), 1);
    ASSERT_EQ(gort_bufwriter_flush(w), -EBADF);
    ASSERT_EQ(gort_bufwriter_write_string(w, "y"), -EBADF);
    gort_bufwriter_free(w);
    /* A closed connection: -EBADF. */
    ASSERT_EQ(gort_conn_close(b), 0);
    ASSERT_EQ(gort_bufreader_scan_line(r, &line, NULL), -EBADF);
    gort_bufreader_free(r);
    ASSERT_EQ(gort_conn_close(l), 0);
    return 0;
}

TEST(error_returned_once_buffer_kept) {
    run(deadline_main, NULL);
}

/* ------------------------------------------------------------------ writer */

typedef struct sinkbuf {
    char data[4096];
    size_t len;
    int writes;
    ssize_t fail; /* returned instead of writing, once set */
} sinkbuf;

static ssize_t sink_write(void *ctx, const void *buf, size_t n) {
    sinkbuf *s = ctx;
    s->writes++;
    if (s->fail)
        return s->fail;
    ASSERT_LE(s->len + n, sizeof s->data);
    memcpy(s->data + s->len, buf, n);
    s->len += n;
    return (ssize_t)n;
}

TEST(writer_buffers_until_flush) {
    sinkbuf s = {0};
    gort_bufwriter *w = gort_bufwriter_new_fn(sink_write, &s, 16);
    ASSERT_NOT_NULL(w);
    ASSERT_EQ(gort_bufwriter_write_string(w, "hello "), 6);
    ASSERT_EQ(gort_bufwriter_printf(w, "%s %d", "world", 42), 8);
    ASSERT_EQ(s.writes, 0);
    ASSERT_EQ(gort_bufwriter_buffered(w), 14);
    /* Overflowing the buffer writes out a full buffer. */
    ASSERT_EQ(gort_bufwriter_write(w, "abcd", 4), 4);
    ASSERT_EQ(s.writes, 1);
    ASSERT_EQ(s.len, 16);
    ASSERT_EQ(gort_bufwriter_flush(w), 0);
    ASSERT_EQ(s.len, 18);
    ASSERT_EQ(memcmp(s.data, "hello world 42abcd", 18), 0);
    /* A large write to an empty buffer goes straight to the sink. */
    char big[40];
    memset(big, 'B', sizeof big);
    ASSERT_EQ(gort_bufwriter_write(w, big, sizeof big), 40);
    ASSERT_EQ(s.writes, 3);
    ASSERT_EQ(gort_bufwriter_buffered(w), 0);
    /* printf longer than the room left. */
    ASSERT_EQ(gort_bufwriter_write_string(w, "xy"), 2);
    ASSERT_EQ(gort_bufwriter_printf(w, "%030d", 7), 30);
    ASSERT_EQ(gort_bufwriter_flush(w), 0);
    ASSERT_EQ(s.len, 18 + 40 + 32);
    ASSERT_EQ(memcmp(s.data + 58, "xy000000000000000000000000000007", 32), 0);
    ASSERT_EQ(gort_bufwriter_flush(w), 0); /* nothing to do */
    gort_bufwriter_free(w);
}

/* A writer's buffer that cannot exist is NULL, as the reader's, without
 * asking malloc (whose AddressSanitizer version aborts the program). */
TEST(writer_huge_size_is_null) {
    sinkbuf s = {0};
    ASSERT_NULL(gort_bufwriter_new_fn(sink_write, &s, SIZE_MAX));
    ASSERT_NULL(gort_bufwriter_new_fn(sink_write, &s, SIZE_MAX / 2 + 1));
    ASSERT_EQ(s.writes, 0);
}

TEST(writer_error_is_sticky) {
    sinkbuf s = {0};
    gort_bufwriter *w = gort_bufwriter_new_fn(sink_write, &s, 8);
    ASSERT_EQ(gort_bufwriter_write(w, "1234", 4), 4);
    s.fail = -EPIPE;
    ASSERT_EQ(gort_bufwriter_flush(w), -EPIPE);
    s.fail = 0;
    ASSERT_EQ(gort_bufwriter_flush(w), -EPIPE);
    ASSERT_EQ(gort_bufwriter_write(w, "5", 1), -EPIPE);
    ASSERT_EQ(gort_bufwriter_printf(w, "%d", 6), -EPIPE);
    ASSERT_EQ(s.len, 0);
    gort_bufwriter_free(w);
}

static ssize_t zero_write(void *ctx, const void *buf, size_t n) {
    (void)ctx;
    (void)buf;
    (void)n;
    return 0;
}

TEST(writer_short_write_is_eio) {
    gort_bufwriter *w = gort_bufwriter_new_fn(zero_write, NULL, 8);
    ASSERT_EQ(gort_bufwriter_write(w, "ab", 2), 2);
    ASSERT_EQ(gort_bufwriter_flush(w), -EIO);
    gort_bufwriter_free(w);
}

/* ------------------------------------------------------------------ pipe */

enum { NLINES = 20000 };

static int pipe_w;

static void line_writer(void *arg) {
    (void)arg;
    gort_bufwriter *w = gort_bufwriter_new(pipe_w, 0);
    ASSERT_NOT_NULL(w);
    for (int i = 0; i < NLINES; i++)
        ASSERT_GT(
            gort_bufwriter_printf(w, "line %d %.*s\n", i, i % 50,
                                  "0123456789012345678901234567890123456789012345678901234567890"),
            0);
    ASSERT_EQ(gort_bufwriter_flush(w), 0);
    gort_bufwriter_free(w);
    ASSERT_EQ(gort_close(pipe_w), 0);
}

static int pipe_main(void *arg) {
    (void)arg;
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pipe_w = p[1];
    go(line_writer, NULL);
    gort_bufreader *r = gort_bufreader_new(p[0], 512, 0);
    char *line;
    size_t len;
    int n = 0, st;
    char want[128];
    while ((st = gort_bufreader_scan_line(r, &line, &len)) == 1) {
        int wl = snprintf(want, sizeof want, "line %d %.*s", n, n % 50,
                          "0123456789012345678901234567890123456789012345678901234567890");
        ASSERT_EQ(len, (size_t)wl);
        ASSERT_STREQ(line, want);
        n++;
    }
    ASSERT_EQ(st, 0);
    ASSERT_EQ(n, NLINES);
    gort_bufreader_free(r);
    ASSERT_EQ(gort_close(p[0]), 0);
    return 0;
}

TEST(lines_over_a_pipe) {
    run(pipe_main, NULL);
}

/* A reader and a writer over the program's own functions, each with a ctx
 * from gort_new that only they point to (they are malloc'd, which the
 * collector does not scan): it stays alive until they are freed, as a Go
 * bufio.Reader keeps its io.Reader; then it is collected. */
static _Atomic int heapctx_fin;
static gort_bufreader *heapctx_r; /* globals: malloc'd, not the ctx */
static gort_bufwriter *heapctx_w;

static void heapctx_finalizer(void *obj) {
    (void)obj;
    atomic_fetch_add(&heapctx_fin, 1);
}

typedef struct hsink {
    uint64_t magic; /* 0x5eed while the object is ours */
    size_t n;
    char out[64];
} hsink;

static ssize_t hsink_write(void *ctx, const void *buf, size_t n) {
    hsink *k = ctx;
    ASSERT_EQ(k->magic, 0x5eed);
    ASSERT_TRUE(k->n + n <= sizeof k->out);
    memcpy(k->out + k->n, buf, n);
    k->n += n;
    ASSERT_EQ(k->n, 5);
    ASSERT_EQ(memcmp(k->out, "hello", 5), 0);
    return (ssize_t)n;
}

static __attribute__((noinline)) void heapctx_make(void) {
    src *s = gort_new(sizeof *s);
    s->s = "one\ntwo\n";
    s->chunk = 3;
    gort_set_finalizer(s, heapctx_finalizer);
    heapctx_r = gort_bufreader_new_fn(src_read, s, 0, 0);
    ASSERT_NOT_NULL(heapctx_r);
    hsink *k = gort_new(sizeof *k);
    k->magic = 0x5eed;
    gort_set_finalizer(k, heapctx_finalizer);
    heapctx_w = gort_bufwriter_new_fn(hsink_write, k, 0);
    ASSERT_NOT_NULL(heapctx_w);
}

/* Collects a few times, with garbage in between and the finalizer
 * goroutine given its turn. */
static void collect(void) {
    gort_gc();
    for (int j = 0; j < 2000; j++)
        gort_keep_alive(gort_new(64));
    gort_sleep(5 * MS);
}

static int heapctx_main(void *arg) {
    (void)arg;
    heapctx_make();
    gt_clear_stack_below();
    for (int i = 0; i < 20; i++) {
        collect();
        ASSERT_EQ(atomic_load(&heapctx_fin), 0);
    }
    char *line;
    ASSERT_EQ(gort_bufreader_scan_line(heapctx_r, &line, NULL), 1);
    ASSERT_STREQ(line, "one");
    ASSERT_EQ(gort_bufreader_scan_line(heapctx_r, &line, NULL), 1);
    ASSERT_STREQ(line, "two");
    ASSERT_EQ(gort_bufreader_scan_line(heapctx_r, &line, NULL), 0);
    ASSERT_EQ(gort_bufwriter_write_string(heapctx_w, "hello"), 5);
    ASSERT_EQ(gort_bufwriter_flush(heapctx_w), 0);
    gort_bufreader_free(heapctx_r);
    gort_bufwriter_free(heapctx_w);
    gt_clear_stack_below();
    /* Freed: both objects go (a stale copy may hold one a cycle or two). */
    for (int i = 0; i < 50 && atomic_load(&heapctx_fin) < 2; i++)
        collect();
    ASSERT_EQ(atomic_load(&heapctx_fin), 2);
    return 0;
}

TEST(fn_ctx_on_heap_kept_alive) {
    run(heapctx_main, NULL);
}

GT_MAIN()
