/*
 * http.h - HTTP/1.x request handling for httpd, runtime-free.
 *
 * Wraps Debian's http-parser (nodejs/http-parser 2.9.4, libhttp-parser-dev)
 * and produces the responses of Go's net/http "hello" server
 * (../shared/reference/go/httphello, relative to the repository): GET of
 * any path answers "Hello, World!\n" as text/plain, any other method 405, a malformed
 * request "400 Bad Request" and the end of the connection.  No allocation
 * and no gort calls: httpd's connections, the unit tests and the fuzzer
 * drive it the same way:
 *
 *     http_conn c;
 *     http_conn_init(&c);
 *     for each chunk read:
 *         http_date(&c, time(NULL));              // keeps the Date: header fresh
 *         for (off = 0; off < n; off += used) {
 *             out_len = 0;
 *             int r = http_feed(&c, chunk + off, n - off, out, cap, &out_len, &used);
 *             write out[0..out_len);  if (r == HTTP_CLOSE) close;
 *         }
 *
 * Requests may arrive split anywhere and pipelined any number per chunk.
 */
#ifndef HTTPD_HTTP_H
#define HTTPD_HTTP_H

#include <http_parser.h>
#include <stddef.h>
#include <time.h>

/* The longest response http_feed writes; out must have room for two. */
#define HTTP_RESP_MAX 160

enum {
    HTTP_KEEP = 0,  /* read on */
    HTTP_CLOSE = 1, /* write what out holds, then close the connection */
};

/* One connection's parser state.  Init with http_conn_init; no destroy. */
typedef struct http_conn {
    http_parser parser;
    char *out;        /* during http_feed: the caller's output buffer */
    size_t out_cap;   /* ... its size */
    size_t *out_len;  /* ... and fill */
    int closing;      /* a response said "Connection: close" */
    time_t date_time; /* the second date[] shows */
    char date[64];    /* "Mon, 23 Nov 2026 14:02:41 GMT", as Go's Date: */
    char ok11[192];   /* the common response, with date[]: 1.1, keep-alive, 200 */
    size_t ok11_len;
    unsigned requests; /* requests answered (for tests and stats) */
} http_conn;

void http_conn_init(http_conn *c);

/* Sets the Date: header's time (formats only when the second changed). */
void http_date(http_conn *c, time_t now);

/*
 * Parses data[0..n) and appends a response per complete request to
 * out[*out_len..out_cap), which must have room for 2 * HTTP_RESP_MAX
 * bytes.  Sets *used to the bytes parsed: less than n when out filled up
 * (write it and call again with the rest) or when the connection is to be
 * closed.  Returns HTTP_CLOSE after a malformed request (out then ends
 * with the 400) or after a request whose response closes the connection
 * (HTTP/1.0 without keep-alive, "Connection: close", an Upgrade or
 * CONNECT); the bytes after such a request are ignored.  HTTP_KEEP
 * otherwise.
 */
int http_feed(http_conn *c, const char *data, size_t n, char *out, size_t out_cap, size_t *out_len,
              size_t *used);

#endif /* HTTPD_HTTP_H */
