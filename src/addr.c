/*
 * addr.c - "host:port" splitting for gort_listen, gort_dial and the
 * connection calls: Go's net.SplitHostPort, then port.go's parsePort,
 * which tells a port number from a service name for port.c to look up.
 * Runtime-free, so that the fuzz target tests/fuzz/fuzz_addr.c compiles
 * it (with port.c) alone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Accepts "host:port", "[v6 host]:port" and ":port" (empty host); the
 * host may not contain ':' unless bracketed, nor brackets anywhere else.
 * -EINVAL for anything else (Go's "missing port in address", "too many
 * colons in address", ...), for a host that does not fit in hostlen (with
 * its NUL), and for a port number out of range (Go's "invalid port").
 * Else the port as Go's parsePort reads it: 0 and *port for a number
 * ("" is 0, "+80" 80, "00080" 80, "-0" 0), 1 and *service (the port's
 * text, in addr) for a name to look up (gort__lookup_port). */
int gort__split_hostport(const char *addr, char *host, size_t hostlen, int *port,
                         const char **service) {
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
    /* parsePort: empty is 0 (Go keeps that for golang.org/issue/13610),
     * then one sign at most and digits (leading zeros too).  A byte that
     * is not a digit makes the whole text, sign included, a service name
     * ("+http", "1x", " 80"), unless Go has stopped reading before it: n
     * is Go's uint32 (its product may wrap, as Go's does), given up at
     * 2^30 or at a carry, so "10737418240x" is a number, too big, and
     * "42949673000x" a name.  v is the true value, kept once past 65535:
     * a negative port but -0, or one above 65535, is Go's "invalid port"
     * (where Go 1.19 takes a product that wrapped, "4294967376" as 80,
     * we do not). */
    const char *q = colon + 1;
    bool neg = *q == '-';
    if (*q == '+' || *q == '-')
        q++;
    const uint32_t cutoff = UINT32_C(1) << 30;
    uint32_t n = 0;
    uint64_t v = 0;
    for (; *q; q++) {
        if (*q < '0' || *q > '9') {
            *service = colon + 1;
            return 1;
        }
        uint32_t d = (uint32_t)(*q - '0');
        if (v <= 65535)
            v = v * 10 + d;
        if (n >= cutoff)
            break;
        n *= 10;
        if (n + d < n)
            break;
        n += d;
    }
    if (v > 65535 || (neg && v != 0))
        return -EINVAL;
    *port = (int)v;
    return 0;
}
