/*
 * http.c - httpd's request handling on http-parser (see http.h).
 *
 * Only on_headers_complete (reject versions other than 1.x, as Go does)
 * and on_message_complete (write the response) are set: the server looks
 * at no header itself, http-parser tracks Content-Length, chunked bodies
 * and keep-alive.  Responses are Go net/http's bytes; the common one
 * (200, HTTP/1.1, keep-alive) is kept ready per connection and copied.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>

static const char hello[] = "Hello, World!\n";

static const char bad_request[] = "HTTP/1.1 400 Bad Request\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "400 Bad Request";

void http_conn_init(http_conn *c) {
    memset(c, 0, sizeof *c);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->date_time = (time_t)-1;
    http_date(c, 0);
}

void http_date(http_conn *c, time_t now) {
    if (now == c->date_time)
        return;
    c->date_time = now;
    struct tm tm;
    gmtime_r(&now, &tm);
    /* RFC 7231 IMF-fixdate, which Go's http.TimeFormat is (names in English
     * whatever the locale: C's strftime would follow LC_TIME). */
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(c->date, sizeof c->date, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    int n = snprintf(c->ok11, sizeof c->ok11,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: %s\r\n"
                     "Content-Length: 14\r\n\r\n%s",
                     c->date, hello);
    c->ok11_len = (size_t)n;
}

/* Go answers only HTTP/1.x (0.9 and 2.0 requests are errors here). */
static int on_headers_complete(http_parser *p) {
    return p->http_major == 1 ? 0 : -1;
}

/* Appends the response to the request just parsed; pauses the parser when
 * the connection is to close or out has no room for another response. */
static int on_message_complete(http_parser *p) {
    http_conn *c = p->data;
    int keep = http_should_keep_alive(p) && !p->upgrade;
    int v11 = p->http_minor >= 1;
    char *o = c->out + *c->out_len;
    size_t n;
    if (p->method == HTTP_GET && keep && v11) {
        memcpy(o, c->ok11, c->ok11_len);
        n = c->ok11_len;
    } else {
        /* Go's header order: Content-Type, Connection, Date, Content-Length. */
        const char *conn = !keep  ? "Connection: close\r\n"
                           : !v11 ? "Connection: keep-alive\r\n"
                                  : "";
        int get = p->method == HTTP_GET;
        int w = snprintf(
            o, HTTP_RESP_MAX, "HTTP/1.%d %s\r\n%s%sDate: %s\r\nContent-Length: %d\r\n\r\n%s", v11,
            get ? "200 OK" : "405 Method Not Allowed", get ? "Content-Type: text/plain\r\n" : "",
            conn, c->date, get ? 14 : 0, get ? hello : "");
        n = (size_t)w;
    }
    *c->out_len += n;
    c->requests++;
    if (!keep)
        c->closing = 1;
    if (!keep || c->out_cap - *c->out_len < 2 * HTTP_RESP_MAX)
        http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_headers_complete = on_headers_complete,
    .on_message_complete = on_message_complete,
};

int http_feed(http_conn *c, const char *data, size_t n, char *out, size_t out_cap, size_t *out_len,
              size_t *used) {
    *used = 0;
    if (c->closing)
        return HTTP_CLOSE;
    if (out_cap - *out_len < 2 * HTTP_RESP_MAX) {
        *used = 0;
        return HTTP_KEEP; /* the caller must flush first */
    }
    c->out = out;
    c->out_cap = out_cap;
    c->out_len = out_len;
    size_t k = http_parser_execute(&c->parser, &settings, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    c->out = NULL;
    c->out_len = NULL;
    *used = k;
    if (e == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        return c->closing ? HTTP_CLOSE : HTTP_KEEP;
    }
    if (e != HPE_OK || (c->parser.upgrade && !c->closing)) {
        /* Malformed (or an upgrade whose message did not complete). */
        memcpy(out + *out_len, bad_request, sizeof bad_request - 1);
        *out_len += sizeof bad_request - 1;
        c->closing = 1;
        return HTTP_CLOSE;
    }
    return c->closing ? HTTP_CLOSE : HTTP_KEEP;
}
