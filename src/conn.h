/*
 * conn.h - what conn.c and netaddr.c share: network names and address
 * resolution for the connection API (gort_conn_*), and the handle check
 * that bufio.c uses for readers and writers over connections.
 */
#ifndef GORT_CONN_H
#define GORT_CONN_H

#include <stdbool.h>

#include "gort.h"

/* A parsed network name: family (AF_UNSPEC: either IP family) and
 * socket type. */
typedef struct gort__net {
    int family;
    int socktype;
} gort__net;

/* Go's network names ("tcp", "udp6", "unix"...) -> *out; 0 or -EINVAL. */
int gort__net_parse(const char *network, gort__net *out);
/* addr on net -> up to max addresses in out (listen: an empty host is the
 * wildcard, else the loopback).  A name is looked up with getaddrinfo
 * inside gort_syscall_enter/exit.  The count (>= 1), or -EINVAL (malformed),
 * -ENOENT (unknown name), -EAGAIN, -ENOMEM. */
int gort__net_resolve(const gort__net *net, const char *addr, bool listen, gort_addr *out, int max);

#endif /* GORT_CONN_H */
