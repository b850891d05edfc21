/*
 * fuzz_http.c - libFuzzer target for examples/httpd/http.c, httpd's
 * request handling on http-parser.
 *
 * The first input byte picks how the rest is cut into reads (1 to 256
 * bytes each) and the second how small the output buffer is, so partial
 * requests and out-filling pipelines are exercised; every call is checked
 * for progress, for staying inside out, and for whole responses only
 * ("HTTP/1." first, a 400 last when the connection closes on an error).
 * (Debian ships http-parser as a plain shared library: this fuzzes our
 * wrapper and drives the parser, without coverage feedback from inside it.)
 */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    size_t step = (size_t)data[0] + 1;
    size_t cap = 2 * HTTP_RESP_MAX + (size_t)data[1] * 8;
    data += 2;
    size -= 2;
    char *out = malloc(cap);
    if (out == NULL)
        abort();
    http_conn c;
    http_conn_init(&c);
    http_date(&c, (time_t)step * 86400 * 365);
    int closed = 0;
    for (size_t off = 0; off < size && !closed;) {
        size_t n = size - off < step ? size - off : step;
        /* An exact-size copy of the read, so ASan sees over-reads. */
        char *chunk = malloc(n);
        if (chunk == NULL)
            abort();
        memcpy(chunk, data + off, n);
        for (size_t done = 0; done < n;) {
            size_t olen = 0, used = 0;
            unsigned before = c.requests;
            int r = http_feed(&c, chunk + done, n - done, out, cap, &olen, &used);
            if (used > n - done || olen > cap)
                abort();
            if (olen > 0 && memcmp(out, "HTTP/1.", 7) != 0)
                abort();
            if (r == HTTP_CLOSE) {
                closed = 1;
                break;
            }
            if (r != HTTP_KEEP || (used == 0 && c.requests == before))
                abort(); /* no progress */
            done += used;
        }
        free(chunk);
        off += n;
    }
    free(out);
    return 0;
}
