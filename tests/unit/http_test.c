/*
 * http_test.c - examples/httpd/http.c, httpd's request handling on
 * http-parser: pipelined and partial requests, keep-alive against
 * "Connection: close" and HTTP/1.0, 405 and malformed requests.  No
 * runtime needed.
 */
#include "gt.h"
#include "http.h"

#define HELLO_11                                                        \
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"                   \
    "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 14\r\n\r\n" \
    "Hello, World!\n"

#define BAD_REQUEST                                                           \
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" \
    "Connection: close\r\n\r\n400 Bad Request"

/* Feeds the string s in one piece (looping while out fills up) and
 * returns the last result; the responses are in out, NUL-terminated. */
static int feed_all(http_conn *c, const char *s, size_t n, char *out, size_t cap) {
    size_t olen = 0, off = 0;
    int r = HTTP_KEEP;
    while (off < n) {
        size_t used;
        r = http_feed(c, s + off, n - off, out, cap - 1, &olen, &used);
        off += used;
        if (r == HTTP_CLOSE)
            break;
        ASSERT_TRUE(used > 0 || olen > 0);
        if (off < n && cap - 1 - olen < 2 * HTTP_RESP_MAX)
            GT_FAIL("out filled up in a test that does not flush");
    }
    out[olen] = '\0';
    return r;
}

static int feed(http_conn *c, const char *s, char *out, size_t cap) {
    return feed_all(c, s, strlen(s), out, cap);
}

TEST(get_keep_alive) {
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    ASSERT_EQ(feed(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out), HTTP_KEEP);
    ASSERT_STREQ(out, HELLO_11);
    ASSERT_EQ(c.requests, 1);
    /* Any path, and the same connection goes on. */
    ASSERT_EQ(feed(&c, "GET /some/path?q=1 HTTP/1.1\r\n\r\n", out, sizeof out), HTTP_KEEP);
    ASSERT_STREQ(out, HELLO_11);
    ASSERT_EQ(c.requests, 2);
}

TEST(date_header) {
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    http_date(&c, 1795442561); /* 2026-11-23 14:02:41 UTC, a Monday */
    ASSERT_EQ(feed(&c, "GET / HTTP/1.1\r\n\r\n", out, sizeof out), HTTP_KEEP);
    ASSERT_NOT_NULL(strstr(out, "\r\nDate: Mon, 23 Nov 2026 14:02:41 GMT\r\n"));
}

TEST(pipelined) {
    http_conn c;
    char out[8192];
    http_conn_init(&c);
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    char in[2048] = "";
    for (int i = 0; i < 10; i++)
        strcat(in, req);
    ASSERT_EQ(feed(&c, in, out, sizeof out), HTTP_KEEP);
    ASSERT_EQ(c.requests, 10);
    ASSERT_EQ(strlen(out), 10 * strlen(HELLO_11));
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(memcmp(out + i * strlen(HELLO_11), HELLO_11, strlen(HELLO_11)), 0);
}

TEST(pipelined_out_fills) {
    /* More pipelined requests than out holds: http_feed stops early and
     * the rest goes in the next call. */
    http_conn c;
    http_conn_init(&c);
    char in[64 * 32] = "";
    for (int i = 0; i < 64; i++)
        strcat(in, "GET / HTTP/1.1\r\n\r\n");
    char out[4 * HTTP_RESP_MAX];
    size_t n = strlen(in), off = 0, total = 0;
    int calls = 0;
    while (off < n) {
        size_t olen = 0, used;
        ASSERT_EQ(http_feed(&c, in + off, n - off, out, sizeof out, &olen, &used), HTTP_KEEP);
        ASSERT_TRUE(used > 0);
        ASSERT_EQ(olen % strlen(HELLO_11), 0);
        off += used;
        total += olen;
        calls++;
    }
    ASSERT_EQ(c.requests, 64);
    ASSERT_EQ(total, 64 * strlen(HELLO_11));
    ASSERT_GT(calls, 1);
}

TEST(partial) {
    /* Every split point, byte by byte: one response, after the last byte. */
    const char *req = "GET /x HTTP/1.1\r\nHost: example\r\nX-A: b\r\n\r\n";
    size_t n = strlen(req);
    for (size_t cut = 0; cut <= n; cut++) {
        http_conn c;
        char out[4096];
        http_conn_init(&c);
        ASSERT_EQ(feed_all(&c, req, cut, out, sizeof out), HTTP_KEEP);
        ASSERT_EQ(c.requests, cut == n ? 1 : 0);
        ASSERT_EQ(feed_all(&c, req + cut, n - cut, out, sizeof out), HTTP_KEEP);
        ASSERT_EQ(c.requests, 1);
    }
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(feed_all(&c, req + i, 1, out, sizeof out), HTTP_KEEP);
    ASSERT_STREQ(out, HELLO_11);
}

TEST(connection_close) {
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    /* The request after the closing one is not answered. */
    ASSERT_EQ(feed(&c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n", out,
                   sizeof out),
              HTTP_CLOSE);
    ASSERT_EQ(c.requests, 1);
    ASSERT_STREQ(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                      "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 14\r\n\r\n"
                      "Hello, World!\n");
    ASSERT_EQ(feed(&c, "GET / HTTP/1.1\r\n\r\n", out, sizeof out), HTTP_CLOSE);
}

TEST(http10) {
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    ASSERT_EQ(feed(&c, "GET / HTTP/1.0\r\n\r\n", out, sizeof out), HTTP_CLOSE);
    ASSERT_STREQ(out, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                      "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 14\r\n\r\n"
                      "Hello, World!\n");
    http_conn_init(&c);
    ASSERT_EQ(feed(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", out, sizeof out),
              HTTP_KEEP);
    ASSERT_STREQ(out, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n"
                      "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 14\r\n\r\n"
                      "Hello, World!\n");
}

TEST(method_not_allowed) {
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    /* The body is read past; the connection stays usable. */
    ASSERT_EQ(feed(&c, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
                   out, sizeof out),
              HTTP_KEEP);
    ASSERT_EQ(c.requests, 2);
    const char *r405 = "HTTP/1.1 405 Method Not Allowed\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                       "Content-Length: 0\r\n\r\n";
    ASSERT_EQ(strncmp(out, r405, strlen(r405)), 0);
    ASSERT_STREQ(out + strlen(r405), HELLO_11);
    http_conn_init(&c);
    ASSERT_EQ(feed(&c,
                   "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                   "HEAD / HTTP/1.1\r\n\r\n",
                   out, sizeof out),
              HTTP_KEEP);
    ASSERT_EQ(c.requests, 2);
    ASSERT_EQ(strlen(out), 2 * strlen(r405));
}

TEST(malformed) {
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost x\r\n\r\n",            /* no colon */
        "GET / HTTP/9.9.9\r\n\r\n",                    /* version */
        "GET / HTTP/2.0\r\n\r\n",                      /* not 1.x, as Go */
        "GET /\r\n\r\n",                               /* HTTP/0.9 */
        "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", /* bad length */
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "\x01\x02\x03",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_conn c;
        char out[4096];
        http_conn_init(&c);
        ASSERT_EQ(feed(&c, bad[i], out, sizeof out), HTTP_CLOSE);
        ASSERT_EQ(c.requests, 0);
        ASSERT_STREQ(out, BAD_REQUEST);
    }
}

TEST(malformed_after_good) {
    /* Responses to the good requests first, then the 400, then nothing. */
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    ASSERT_EQ(feed(&c, "GET / HTTP/1.1\r\n\r\nBAD REQUEST\r\n\r\nGET / HTTP/1.1\r\n\r\n", out,
                   sizeof out),
              HTTP_CLOSE);
    ASSERT_EQ(c.requests, 1);
    ASSERT_STREQ(out, HELLO_11 BAD_REQUEST);
}

TEST(huge_header) {
    /* http-parser's 80 KiB header limit: a 400, not unbounded memory. */
    http_conn c;
    char out[4096];
    http_conn_init(&c);
    static char req[100 * 1024];
    strcpy(req, "GET / HTTP/1.1\r\nX: ");
    memset(req + strlen(req), 'a', sizeof req - 64);
    ASSERT_EQ(feed_all(&c, req, sizeof req - 40, out, sizeof out), HTTP_CLOSE);
    ASSERT_STREQ(out, BAD_REQUEST);
}

GT_MAIN()
