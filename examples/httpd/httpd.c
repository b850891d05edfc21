/*
 * httpd.c - an HTTP/1.1 keep-alive server on gort, one goroutine per
 * connection, answering as Go's net/http hello server does
 * (../shared/reference/go/httphello, relative to the repository):
 * "Hello, World!\n" for GET.
 *
 *     httpd [-addr HOST] [-port N]        (default 127.0.0.1:8080)
 *     wrk -t2 -c100 -d10s --latency http://127.0.0.1:8080/
 *
 * Request parsing and the responses live in http.c (runtime-free, unit
 * tested and fuzzed).  Per read this file does no allocation: the
 * connection's buffers are allocated once, every complete request in the
 * bytes read is answered (pipelining) and the responses go out with one
 * gort_write.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"
#include "http.h"
#include "../common/server.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IN_SIZE 16384
#define OUT_SIZE 16384 /* ~100 responses per write; more just takes two */

/* A connection's state and buffers, one allocation. */
struct conn {
    http_conn http;
    char in[IN_SIZE];
    char out[OUT_SIZE];
};

/* The connection goroutine: until EOF, an error or a response that
 * closes the connection. */
static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    struct conn *c = malloc(sizeof *c);
    if (c == NULL) {
        gort_close(fd);
        return;
    }
    http_conn_init(&c->http);
    int closing = 0;
    while (!closing) {
        ssize_t n = gort_read(fd, c->in, sizeof c->in);
        if (n <= 0)
            break;
        http_date(&c->http, time(NULL));
        size_t olen = 0;
        for (size_t off = 0; off < (size_t)n;) {
            size_t used;
            int r = http_feed(&c->http, c->in + off, (size_t)n - off, c->out, sizeof c->out, &olen,
                              &used);
            off += used;
            if (r == HTTP_CLOSE) {
                closing = 1;
                break;
            }
            if (off < (size_t)n) { /* out is full: send it, parse on */
                if (gort_write(fd, c->out, olen) < 0) {
                    closing = 1;
                    olen = 0;
                    break;
                }
                olen = 0;
            }
        }
        if (olen > 0 && gort_write(fd, c->out, olen) < 0)
            break;
    }
    gort_close(fd);
    free(c);
}

int main(int argc, char **argv) {
    return ex_server_main(argc, argv, "httpd", 8080, NULL, serve);
}
