/*
 * netaddr.c - network names and socket addresses for the connection API
 * (conn.c): Go's net.Dial network strings, address resolution (ipsock.go's
 * internetAddrList, unixsock.go's ResolveUnixAddr) and Addr.String().
 * "host:port" splitting itself is addr.c's gort__split_hostport, and a
 * service name's port is port.c's gort__lookup_port.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "internal.h"
#include "conn.h"

int gort__net_parse(const char *network, gort__net *out) {
    static const struct {
        const char *name;
        gort__net net;
    } nets[] = {
        {"tcp", {AF_UNSPEC, SOCK_STREAM}}, {"tcp4", {AF_INET, SOCK_STREAM}},
        {"tcp6", {AF_INET6, SOCK_STREAM}}, {"udp", {AF_UNSPEC, SOCK_DGRAM}},
        {"udp4", {AF_INET, SOCK_DGRAM}},   {"udp6", {AF_INET6, SOCK_DGRAM}},
        {"unix", {AF_UNIX, SOCK_STREAM}},
    };
    if (network == NULL)
        return -EINVAL;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        if (strcmp(network, nets[i].name) == 0) {
            *out = nets[i].net;
            return 0;
        }
    }
    return -EINVAL; /* Go: "unknown network" */
}

/* A Unix path ("@name": abstract) -> sockaddr_un.  A path needs its NUL
 * in sun_path; an abstract name has none, so "@" and 107 bytes fit, as in
 * Go (syscall's SockaddrUnix). */
static int unix_addr(const char *path, gort_addr *a) {
    struct sockaddr_un *su = (struct sockaddr_un *)&a->sa;
    size_t n = strlen(path);
    if (n == 0 || n > sizeof su->sun_path || (n == sizeof su->sun_path && path[0] != '@'))
        return -EINVAL;
    memset(a, 0, sizeof *a);
    su->sun_family = AF_UNIX;
    memcpy(su->sun_path, path, n);
    if (path[0] == '@')
        su->sun_path[0] = '\0'; /* abstract: no NUL after the name */
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
    return 0;
}

/* The wildcard (listen) or loopback (dial) address of family for an empty
 * host; AF_UNSPEC listens dual-stack on [::] and dials 127.0.0.1, as Go. */
static void empty_host(int family, int port, bool listen, gort_addr *a) {
    memset(a, 0, sizeof *a);
    if (family == AF_INET6 || (family == AF_UNSPEC && listen)) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = listen ? in6addr_any : in6addr_loopback;
        s6->sin6_port = htons((uint16_t)port);
        a->len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(listen ? INADDR_ANY : INADDR_LOOPBACK);
        s4->sin_port = htons((uint16_t)port);
        a->len = sizeof *s4;
    }
}

/* A literal IP host -> address: 1, 0 if host is not a literal, -EINVAL
 * for a literal of the wrong family ("tcp4" with an IPv6 literal: Go's
 * "no suitable address"). */
static int literal(int family, const char *host, int port, gort_addr *a) {
    memset(a, 0, sizeof *a);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;
    char h[256];
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        if (family == AF_INET6)
            return -EINVAL;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        a->len = sizeof *s4;
        return 1;
    }
    /* An IPv6 literal may carry a zone: "fe80::1%eth0". */
    size_t hl = strlen(host);
    if (hl >= sizeof h)
        return 0; /* too long for a literal: a name */
    memcpy(h, host, hl + 1);
    char *zone = strchr(h, '%');
    if (zone)
        *zone++ = '\0';
    if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
        if (family == AF_INET)
            return -EINVAL;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (zone) {
            unsigned idx = if_nametoindex(zone);
            if (idx == 0) {
                char *end;
                unsigned long v = strtoul(zone, &end, 10);
                if (*zone == '\0' || *end != '\0')
                    return -EINVAL;
                idx = (unsigned)v;
            }
            s6->sin6_scope_id = idx;
        }
        a->len = sizeof *s6;
        return 1;
    }
    return 0;
}

int gort__getaddrinfo(const char *host, int port, int family, int socktype, bool passive,
                      struct addrinfo **res) {
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_family = family,
                             .ai_socktype = socktype,
                             .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
    gort_syscall_enter();
    errno = 0;
    int r = getaddrinfo(host, ps, &hints, res);
    int e = errno;
    gort_syscall_exit();
    switch (r) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        /* glibc says "no such name" when it could not look: out of
         * descriptors, it opens neither /etc/hosts nor a socket to the DNS
         * server, and leaves the reason in errno (cleared above).  Go
         * reports the socket's error there, not "no such host". */
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
            return -e;
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return -e;
    default:
        return -EINVAL;
    }
}

int gort__parse_hostport(const char *addr, int socktype, char *host, size_t hostlen, int *port) {
    const char *service;
    int r = gort__split_hostport(addr, host, hostlen, port, &service);
    if (r != 1)
        return r;
    /* The first lookup reads /etc/services: a file, so not on our P. */
    gort_syscall_enter();
    r = gort__lookup_port(socktype, service, port);
    gort_syscall_exit();
    return r;
}

int gort__net_resolve(const gort__net *net, const char *addr, bool listen, gort_addr *out,
                      int max) {
    if (addr == NULL || max < 1)
        return -EINVAL;
    if (net->family == AF_UNIX) {
        int err = unix_addr(addr, &out[0]);
        return err ? err : 1;
    }
    if (addr[0] == '\0' && listen)
        addr = ":0"; /* Go's net.Listen and ListenPacket: every address, any port */
    char host[256];
    int port;
    /* The port first, as Go's internetAddrList: an unknown service is
     * -ENOENT whatever the host. */
    int err = gort__parse_hostport(addr, net->socktype, host, sizeof host, &port);
    if (err)
        return err;
    if (host[0] == '\0') {
        empty_host(net->family, port, listen, &out[0]);
        return 1;
    }
    int lit = literal(net->family, host, port, &out[0]);
    if (lit != 0)
        return lit;
    struct addrinfo *res = NULL;
    err = gort__getaddrinfo(host, port, net->family, net->socktype, listen, &res);
    if (err)
        return err;
    int n = 0;
    for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof out[n].sa)
            continue;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(&out[n].sa, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    return n > 0 ? n : -ENOENT;
}

GORT_API int gort_resolve_addr(const char *network, const char *addr, gort_addr *out) {
    gort__net net;
    int err = gort__net_parse(network, &net);
    if (err)
        return err;
    /* Go's ResolveTCPAddr("tcp", "") is ":0" (only a dial of "" is
     * "missing address"): here the empty host's loopback, port 0. */
    if (addr != NULL && addr[0] == '\0' && net.family != AF_UNIX)
        addr = ":0";
    int n = gort__net_resolve(&net, addr, false, out, 1);
    return n < 0 ? n : 0;
}

/* Appends s to buf at *at (as much as fits); false if it did not all fit. */
static bool put(char *buf, size_t n, size_t *at, const char *s) {
    size_t l = strlen(s);
    bool fits = *at + l < n;
    size_t c = fits ? l : (*at < n ? n - 1 - *at : 0);
    if (n > 0) {
        memcpy(buf + *at, s, c);
        buf[*at + c] = '\0';
    }
    *at += c;
    return fits;
}

GORT_API int gort_addr_string(const gort_addr *a, char *buf, size_t n) {
    char tmp[GORT_ADDR_STRLEN];
    size_t at = 0;
    if (n > 0)
        buf[0] = '\0';
    if (a == NULL || a->len == 0)
        return put(buf, n, &at, "<nil>") ? (int)at : -ENOSPC;
    switch (a->sa.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->sa;
        inet_ntop(AF_INET, &s4->sin_addr, tmp, sizeof tmp);
        size_t l = strlen(tmp);
        snprintf(tmp + l, sizeof tmp - l, ":%u", ntohs(s4->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->sa;
        char ip[INET6_ADDRSTRLEN], zone[IF_NAMESIZE + 1] = "";
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            /* Go's IP.String prints a v4-in-v6 address as IPv4. */
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof ip);
            snprintf(tmp, sizeof tmp, "%s:%u", ip, ntohs(s6->sin6_port));
            break;
        }
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        if (s6->sin6_scope_id != 0) {
            char name[IF_NAMESIZE];
            if (if_indextoname(s6->sin6_scope_id, name))
                snprintf(zone, sizeof zone, "%%%s", name);
            else
                snprintf(zone, sizeof zone, "%%%u", s6->sin6_scope_id);
        }
        snprintf(tmp, sizeof tmp, "[%s%s]:%u", ip, zone, ntohs(s6->sin6_port));
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *su = (const struct sockaddr_un *)&a->sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t l = a->len > off ? a->len - off : 0;
        if (l > sizeof su->sun_path)
            l = sizeof su->sun_path;
        if (l > 0 && su->sun_path[0] == '\0') {
            tmp[0] = '@'; /* abstract: the name is the l - 1 bytes after the NUL */
            memcpy(tmp + 1, su->sun_path + 1, l - 1);
            tmp[l] = '\0';
        } else {
            memcpy(tmp, su->sun_path, l);
            tmp[l] = '\0';
        }
        break;
    }
    default:
        return -EAFNOSUPPORT;
    }
    return put(buf, n, &at, tmp) ? (int)at : -ENOSPC;
}
