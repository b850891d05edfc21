/*
 * addr.c - "host:port" splitting for gort_listen and gort_dial (Go's
 * net.SplitHostPort, with the port numeric).  Runtime-free, so that the
 * fuzz target tests/fuzz/fuzz_addr.c compiles it alone.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* Accepts "host:port", "[v6 host]:port" and ":port" (empty host); the
 * host may not contain ':' unless bracketed, nor brackets anywhere else;
 * the port is 0..65535 in decimal.  -EINVAL for anything else (Go's
 * "missing port in address", "too many colons in address", ...), and for
 * a host that does not fit in hostlen (with its NUL). */
int gort__split_hostport(const char *addr, char *host, size_t hostlen, int *port) {
    if (addr == NULL)
        return -EINVAL;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL)
        return -EINVAL; /* missing port in address */
    const char *h = addr, *he = colon;
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (rb == NULL || rb + 1 != colon)
            return -EINVAL; /* missing ']' or junk after it */
        h = addr + 1;
        he = rb;
        if (memchr(h, '[', (size_t)(he - h)) != NULL)
            return -EINVAL;
    } else {
        if (memchr(addr, ':', (size_t)(colon - addr)) != NULL)
            return -EINVAL; /* too many colons in address */
        if (memchr(addr, '[', (size_t)(colon - addr)) || memchr(addr, ']', (size_t)(colon - addr)))
            return -EINVAL;
    }
    size_t hl = (size_t)(he - h);
    if (hl >= hostlen)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    const char *ps = colon + 1;
    if (*ps == '\0')
        return -EINVAL;
    long v = 0;
    for (const char *q = ps; *q; q++) {
        if (*q < '0' || *q > '9')
            return -EINVAL; /* numeric ports only */
        v = v * 10 + (*q - '0');
        if (v > 65535)
            return -EINVAL;
    }
    *port = (int)v;
    return 0;
}
