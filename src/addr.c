/*
 * addr.c - "host:port" splitting for gort_listen and gort_dial (Go's
 * net.SplitHostPort, with the port numeric).  Runtime-free, so that the
 * fuzz target tests/fuzz/fuzz_addr.c compiles it alone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* Accepts "host:port", "[v6 host]:port" and ":port" (empty host); the
 * host may not contain ':' unless bracketed, nor brackets anywhere else;
 * the port is 0..65535 in decimal, as Go reads one ("" is 0, "+80" 80,
 * "00080" 80, "-0" 0).  -EINVAL for anything else (Go's
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
    /* The port as Go's parsePort reads a number: empty is 0 (Go keeps that
     * for golang.org/issue/13610), then one sign at most and any number of
     * digits (leading zeros too); a negative port but -0, or one above
     * 65535, is Go's "invalid port". */
    const char *q = colon + 1;
    bool neg = *q == '-';
    if (*q == '+' || *q == '-')
        q++;
    long v = 0;
    for (; *q; q++) {
        if (*q < '0' || *q > '9')
            return -EINVAL; /* numeric ports only */
        if (v <= 65535)
            v = v * 10 + (*q - '0');
    }
    if (v > 65535 || (neg && v != 0))
        return -EINVAL;
    *port = (int)v;
    return 0;
}
