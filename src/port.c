/*
 * port.c - service names for ports ("http" for 80), as Go 1.19's pure-Go
 * resolver reads them: net/lookup.go (the built-in table, lookupPortMap)
 * and net/port_unix.go (readServices, goLookupPort).  Runtime-free, like
 * addr.c, so that tests/fuzz/fuzz_addr.c compiles the two alone.
 *
 * The names are Go's built-in table (a few TCP services and UDP "domain",
 * there even without /etc/services) and every name and alias of
 * /etc/services, which the first lookup reads (services_get).  A name is
 * found when the file has it for the network's protocol ("tcp" or "udp"),
 * the last line that names it winning (Go fills a map line by line, over
 * the built-in table), else when the built-in table has it.  The name
 * asked for is compared in ASCII lower case, the file's names as written
 * (one the file spells with a capital is never found, as in Go); a name
 * longer than Go's maxPortBufSize (25 bytes) is never found either.
 *
 * Go's cgo resolver, where Go uses it (GODEBUG=netdns=cgo, or an
 * /etc/nsswitch.conf or resolv.conf that its own resolver does not
 * handle), asks getaddrinfo first, which takes the first line for a name
 * the file lists twice: "dicom" on Debian is 104 there, 11112 here and in
 * the pure-Go resolver (go1.19's choice on this machine, checked).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* Go's maxPortBufSize: len("mobility-header") + 10. */
enum { MAX_PORT_BUF = 15 + 10 };

/* Go's dtoi gives up at big (0xFFFFFF): such a port field is no line. */
enum { SERVICES_BIG = 0xFFFFFF };

/* One name of Go's services map: a line's name or alias, or a built-in. */
typedef struct service_ent {
    char name[MAX_PORT_BUF + 1]; /* NUL-terminated; longer names are never kept */
    int port;                    /* 1 .. SERVICES_BIG - 1: the file's may exceed 65535 */
    int socktype;                /* SOCK_STREAM ("tcp") or SOCK_DGRAM ("udp") */
} service_ent;

/* lookup.go's services: what Go knows without /etc/services. */
static const service_ent builtin[] = {
    {"domain", 53, SOCK_DGRAM},  {"ftp", 21, SOCK_STREAM},    {"ftps", 990, SOCK_STREAM},
    {"gopher", 70, SOCK_STREAM}, {"http", 80, SOCK_STREAM},   {"https", 443, SOCK_STREAM},
    {"imap2", 143, SOCK_STREAM}, {"imap3", 220, SOCK_STREAM}, {"imaps", 993, SOCK_STREAM},
    {"pop3", 110, SOCK_STREAM},  {"pop3s", 995, SOCK_STREAM}, {"smtp", 25, SOCK_STREAM},
    {"ssh", 22, SOCK_STREAM},    {"telnet", 23, SOCK_STREAM},
};

/*
 * The names read from a services file, in the file's order.  Built by one
 * thread, then published (services_get) and never changed or freed:
 * every field is [immutable] once published.
 */
typedef struct services {
    size_t n;          /* [immutable] entries used */
    size_t cap;        /* [immutable] entries allocated */
    service_ent ent[]; /* [immutable] */
} services;

/* Appends a name; false when out of memory. */
static bool services_add(services **sp, const char *name, size_t len, int port, int socktype) {
    services *s = *sp;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        services *t = realloc(s, sizeof *s + cap * sizeof s->ent[0]);
        if (t == NULL)
            return false;
        t->cap = cap;
        *sp = s = t;
    }
    service_ent *e = &s->ent[s->n++];
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->port = port;
    e->socktype = socktype;
    return true;
}

static bool is_field_sep(char c) {
    return c == ' ' || c == '\r' || c == '\t' || c == '\n'; /* Go's getFields */
}

/* The next field of line[*at..len) (Go's getFields): false when there is
 * none; else *f and *fl, and *at past it. */
static bool next_field(const char *line, size_t len, size_t *at, const char **f, size_t *fl) {
    size_t i = *at;
    while (i < len && is_field_sep(line[i]))
        i++;
    if (i == len)
        return false;
    size_t start = i;
    while (i < len && !is_field_sep(line[i]))
        i++;
    *f = line + start;
    *fl = i - start;
    *at = i;
    return true;
}

/* One line of the file, without its '\n', as readServices takes it:
 * "http 80/tcp www www-http # World Wide Web HTTP".  false when out of
 * memory. */
static bool parse_line(services **sp, const char *line, size_t len) {
    const char *hash = memchr(line, '#', len);
    if (hash != NULL)
        len = (size_t)(hash - line);
    size_t at = 0;
    const char *name, *pn;
    size_t namelen, pnlen;
    if (!next_field(line, len, &at, &name, &namelen) || !next_field(line, len, &at, &pn, &pnlen))
        return true; /* fewer than two fields */
    /* The second field is "80/tcp": digits (Go's dtoi), '/', the protocol. */
    size_t j = 0;
    int port = 0;
    for (; j < pnlen && pn[j] >= '0' && pn[j] <= '9'; j++) {
        port = port * 10 + (pn[j] - '0');
        if (port >= SERVICES_BIG)
            return true;
    }
    if (j == 0 || port <= 0 || j >= pnlen || pn[j] != '/')
        return true;
    const char *proto = pn + j + 1;
    size_t protolen = pnlen - j - 1;
    int socktype;
    if (protolen == 3 && memcmp(proto, "tcp", 3) == 0)
        socktype = SOCK_STREAM;
    else if (protolen == 3 && memcmp(proto, "udp", 3) == 0)
        socktype = SOCK_DGRAM;
    else
        return true; /* ddp, sctp...: no network of ours looks there */
    /* The name, then every alias after the port.  One longer than
     * MAX_PORT_BUF, or with a NUL in it, is never asked for
     * (lookup_port_map), so it is not kept. */
    do {
        if (namelen <= MAX_PORT_BUF && memchr(name, '\0', namelen) == NULL &&
            !services_add(sp, name, namelen, port, socktype))
            return false;
    } while (next_field(line, len, &at, &name, &namelen));
    return true;
}

/* The contents of path in a malloc'd *buf of *len bytes: 0, or -errno of
 * open (the file is then not read at all).  After a read error, *buf
 * holds the whole lines before it; -ENOMEM. */
static int read_file(const char *path, char **buf, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16384;
            char *nb = realloc(b, ncap);
            if (nb == NULL) {
                free(b);
                close(fd);
                return -ENOMEM;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            /* Go's readLine stops at the error; its partial line is lost. */
            while (n > 0 && b[n - 1] != '\n')
                n--;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}

/*
 * Go's readServices of path: the table of its names (an empty one if the
 * file cannot be opened, as in Go), or NULL and *err: -EMFILE/-ENFILE
 * when no descriptor was free to open it (Go's once is spent then, and
 * Go goes on without the file for good; we keep no such answer, so a
 * later lookup reads the file), -ENOMEM.
 */
static services *read_services(const char *path, int *err) {
    services *s = malloc(sizeof *s);
    if (s == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    s->n = s->cap = 0;
    char *buf = NULL;
    size_t len = 0;
    int r = read_file(path, &buf, &len);
    if (r == -EMFILE || r == -ENFILE || r == -ENOMEM) {
        free(s);
        *err = r;
        return NULL;
    }
    /* Line by line; the last one may lack its '\n'. */
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - buf) : len;
        if (!parse_line(&s, buf + at, end - at)) {
            free(buf);
            free(s);
            *err = -ENOMEM;
            return NULL;
        }
        at = end + 1;
    }
    free(buf);
    return s;
}

/* The table of /etc/services, read by the first lookup that finds none.
 * [atomic]: set once, by compare-and-swap, never changed after. */
static _Atomic(services *) etc_services;

/*
 * The table of /etc/services (Go's onceReadServices), or NULL and *err
 * (read_services's: the next call tries again, which pthread_once could
 * not).  Threads that find it missing at once each read the file; the
 * first to publish its table wins and the others free theirs, so no
 * thread ever waits for another.
 */
static services *services_get(int *err) {
    /* Acquire: pairs with the release of the CAS below, so the entries
     * written before the table was published are seen complete. */
    services *s = atomic_load_explicit(&etc_services, memory_order_acquire);
    if (s != NULL)
        return s;
    s = read_services("/etc/services", err);
    if (s == NULL)
        return NULL;
    services *old = NULL;
    /* Release on success: publishes s's entries to the acquire loads
     * above.  Acquire on failure: another thread's table, read as above. */
    if (atomic_compare_exchange_strong_explicit(&etc_services, &old, s, memory_order_acq_rel,
                                                memory_order_acquire))
        return s;
    free(s);
    return old;
}

/* Go's lookupPortMap over table s (which may be NULL) and the built-in
 * names: 0 and *port, or -ENOENT (Go's "unknown port"). */
static int lookup_port_map(const services *s, int socktype, const char *service, int *port) {
    char lower[MAX_PORT_BUF + 1];
    size_t n = strnlen(service, MAX_PORT_BUF + 1);
    if (n > MAX_PORT_BUF)
        return -ENOENT; /* Go: the name does not fit lowerService */
    for (size_t i = 0; i < n; i++) {
        char c = service[i];
        lower[i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
    }
    lower[n] = '\0';
    /* The file's last line for the name first: it overwrote the others,
     * and the built-in entry, in Go's map. */
    for (size_t i = s ? s->n : 0; i-- > 0;) {
        if (s->ent[i].socktype == socktype && strcmp(s->ent[i].name, lower) == 0) {
            *port = s->ent[i].port;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        if (builtin[i].socktype == socktype && strcmp(builtin[i].name, lower) == 0) {
            *port = builtin[i].port;
            return 0;
        }
    }
    return -ENOENT;
}

/* A port found but above 65535 (a line of the file) is Go's "invalid
 * port" that LookupPort checks last. */
static int check_port(int r, int *port) {
    return r == 0 && *port > 65535 ? -EINVAL : r;
}

int gort__lookup_port(int socktype, const char *service, int *port) {
    int err = 0;
    const services *s = services_get(&err);
    int r = lookup_port_map(s, socktype, service, port);
    /* Without the file for now (out of descriptors or memory), a built-in
     * name is still found, as go1.19's cgo resolver falls back on Go's
     * table (checked here); any other is err, not "unknown". */
    if (s == NULL && r != 0)
        return err;
    return check_port(r, port);
}

int gort__lookup_port_in(const char *path, int socktype, const char *service, int *port) {
    int err = 0;
    services *s = path ? read_services(path, &err) : NULL;
    if (path != NULL && s == NULL)
        return err;
    int r = check_port(lookup_port_map(s, socktype, service, port), port);
    free(s);
    return r;
}
