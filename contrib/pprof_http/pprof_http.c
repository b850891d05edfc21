/*
 * pprof_http.c - net/http/pprof for gort programs (gort_pprof_http.h).
 *
 * Each profile is written by the core library (gort_pprof_write,
 * gort_pprof_start_cpu, gort_trace_start) into an anonymous memory file
 * (memfd_create), then copied to the connection with gort_write, so that
 * neither the profilers nor their fds ever block on a slow client.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gort_pprof_http.h"

#define REQ_MAX 8192
#define REQ_TARGET 2048 /* the request's target (path and query), NUL included */

/* A connection being answered: its fd, and whether the request was HEAD
 * (answered as GET, with the headers alone: RFC 9110 9.3.2, as Go's
 * server does). */
typedef struct conn {
    int fd;
    bool head;
} conn;

/* Writes all of s; false if the client has gone. */
static bool send_all(const conn *c, const void *p, size_t n) {
    return n == 0 || gort_write(c->fd, p, n) == (ssize_t)n;
}

static void respond(const conn *c, int code, const char *reason, const char *ctype,
                    const char *extra_headers, const void *body, size_t len) {
    char hdr[512];
    int k = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n",
                     code, reason, ctype, len, extra_headers ? extra_headers : "");
    if (send_all(c, hdr, (size_t)k) && !c->head)
        (void)send_all(c, body, len);
}

static void respond_text(const conn *c, int code, const char *reason, const char *msg) {
    respond(c, code, reason, "text/plain; charset=utf-8", NULL, msg, strlen(msg));
}

/* net/http/pprof's serveError: the message and a newline, marked
 * X-Go-Pprof, by which go tool pprof shows it ("server response: 400 Bad
 * Request - ..."). */
static void serve_error(const conn *c, int code, const char *reason, const char *msg) {
    char body[256];
    int k = snprintf(body, sizeof body, "%s\n", msg);
    respond(c, code, reason, "text/plain; charset=utf-8", "X-Go-Pprof: 1\r\n", body,
            (size_t)k < sizeof body ? (size_t)k : sizeof body - 1);
}

/* Sends the contents of the memory file m (then closes it). */
static void respond_file(const conn *c, int m, bool binary, const char *name, const char *suffix) {
    off_t len = lseek(m, 0, SEEK_END);
    if (len < 0) {
        close(m);
        respond_text(c, 500, "Internal Server Error", "cannot read the profile\n");
        return;
    }
    void *p = len > 0 ? mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, m, 0) : NULL;
    close(m);
    if (len > 0 && p == MAP_FAILED) {
        respond_text(c, 500, "Internal Server Error", "cannot map the profile\n");
        return;
    }
    char disp[128] = "";
    if (binary)
        snprintf(disp, sizeof disp, "Content-Disposition: attachment; filename=\"%s%s\"\r\n", name,
                 suffix);
    respond(c, 200, "OK", binary ? "application/octet-stream" : "text/plain; charset=utf-8", disp,
            p, (size_t)len);
    if (len > 0)
        munmap(p, (size_t)len);
}

/* The number that query parameter name holds, or def when it is absent or
 * not a number, as Go's strconv.ParseFloat (a value ends at '&'). */
static double query_num(const char *q, const char *name, double def) {
    size_t n = strlen(name);
    for (const char *s = q; s != NULL && *s; s = strchr(s, '&') ? strchr(s, '&') + 1 : NULL) {
        if (strncmp(s, name, n) != 0 || s[n] != '=')
            continue;
        char *end;
        errno = 0;
        double v = strtod(s + n + 1, &end);
        if (end == s + n + 1 || (*end != '\0' && *end != '&') || errno == ERANGE || v != v)
            return def;
        return v;
    }
    return def;
}

static int unhex(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* s[0..n) unescaped as url.QueryUnescape does ('+' a space, %XX a byte)
 * into buf, NUL-terminated (buf holds n + 1 bytes); false for a bad
 * escape. */
static bool query_unescape(const char *s, size_t n, char *buf) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || unhex(s[i + 1]) < 0 || unhex(s[i + 2]) < 0)
                return false;
            buf[k++] = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 2;
        } else {
            buf[k++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    buf[k] = '\0';
    return true;
}

/* The value of query parameter name as Go's r.FormValue gives it: that of
 * the first pair url.ParseQuery keeps (it skips a pair with a ';' or a bad
 * escape), "" when none.  The value is unescaped into buf (as long as the
 * request's target: REQ_TARGET bytes). */
static const char *query_value(const char *q, const char *name, char *buf) {
    char key[64];
    for (const char *s = q; s != NULL && *s; s = strchr(s, '&') ? strchr(s, '&') + 1 : NULL) {
        const char *end = strchr(s, '&');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len >= REQ_TARGET || memchr(s, ';', len) != NULL)
            continue;
        const char *eq = memchr(s, '=', len);
        size_t kl = eq ? (size_t)(eq - s) : len;
        /* A key of more than 3 bytes per byte of name ("%XX" each) is
         * longer than name once unescaped. */
        if (kl >= sizeof key || kl > 3 * strlen(name) || !query_unescape(s, kl, key) ||
            strcmp(key, name) != 0)
            continue;
        if (!query_unescape(eq ? eq + 1 : s + len, eq ? len - kl - 1 : 0, buf))
            continue;
        return buf;
    }
    return "";
}

/* query_num's number if it is an integer (Go's strconv.Atoi and
 * ParseInt), else def. */
static double query_int(const char *q, const char *name, double def) {
    double v = query_num(q, name, def);
    return v > -9e18 && v < 9e18 && v == (double)(int64_t)v ? v : def;
}

static const char *const profiles[][2] = {
    {"allocs", "A sampling of all past memory allocations"},
    {"block", "Stack traces that led to blocking on synchronization primitives"},
    {"goroutine", "Stack traces of all current goroutines"},
    {"heap", "A sampling of memory allocations of live objects"},
    {"mutex", "Stack traces of holders of contended mutexes"},
    {"threadcreate", "Stack traces that led to the creation of new OS threads"},
};

static void index_page(const conn *c) {
    char body[4096];
    int k = snprintf(body, sizeof body,
                     "<html><head><title>/debug/pprof/</title></head><body>\n"
                     "/debug/pprof/<br><br>Types of profiles available:\n<table>\n");
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        k += snprintf(body + k, sizeof body - (size_t)k,
                      "<tr><td><a href=\"%s?debug=1\">%s</a></td><td>%s</td></tr>\n",
                      profiles[i][0], profiles[i][0], profiles[i][1]);
    k += snprintf(body + k, sizeof body - (size_t)k,
                  "<tr><td><a href=\"profile\">profile</a></td><td>CPU profile (?seconds=N, "
                  "default 30)</td></tr>\n"
                  "<tr><td><a href=\"trace?seconds=1\">trace</a></td><td>execution trace "
                  "(?seconds=N)</td></tr>\n"
                  "</table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>\n"
                  "</body></html>\n");
    respond(c, 200, "OK", "text/html; charset=utf-8", NULL, body, (size_t)k);
}

/* net/http/pprof's sleep: sec seconds, or less if the client goes away
 * (Go's ends when the request's context is done, which its server does on
 * the connection's EOF or error).  A profile whose client gave up (go tool
 * pprof interrupted) held the profiler for the rest of its seconds, and
 * each profile asked for meanwhile was refused.  What the client sends
 * during the wait is read and dropped.  False when the client went away
 * (a delta profile then answers as Go's does to its done context). */
static bool sleep_or_gone(const conn *c, double sec) {
    /* More than a century (which overflowed the clock) waits for the
     * client alone; less than a nanosecond (a trace's seconds=1e-10) is
     * none, as Go's time.Duration makes it, not for ever. */
    bool forever = !(sec < 3.2e9);
    int64_t ns = forever ? 0 : (int64_t)(sec * 1e9);
    if (!forever && ns < 1)
        ns = 1;
    if (gort_set_deadline(c->fd, forever ? 0 : gort_nanotime() + ns, 0) != 0) {
        gort_sleep(forever ? INT64_MAX : ns);
        return true;
    }
    char drop[512];
    ssize_t r;
    while ((r = gort_read(c->fd, drop, sizeof drop)) > 0)
        continue; /* until EOF, an error or the deadline (-ETIMEDOUT) */
    (void)gort_set_deadline(c->fd, 0, 0);
    return r == -ETIMEDOUT;
}

static int memfile(void) {
    return memfd_create("gort-pprof", MFD_CLOEXEC);
}

/* Go's strconv.ParseInt(s, 10, 64): an optional sign, then decimal
 * digits only, in range.  False otherwise. */
static bool parse_int64(const char *s, int64_t *v) {
    bool neg = *s == '-';
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '\0')
        return false;
    uint64_t x = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (lim - (uint64_t)(*s - '0')) / 10)
            return false;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}

/* net/http/pprof's serveDeltaProfile (NAME?seconds=N): the profile, N
 * seconds' wait (less if the client goes away), the profile again, and
 * the second minus the first (gort_pprof_write_delta), in a file named
 * NAME-delta.  The checks and their answers are Go's, in its order. */
static void serve_delta(const conn *c, const char *name, const char *secstr, const char *query) {
    int64_t sec;
    if (!parse_int64(secstr, &sec) || sec <= 0) {
        serve_error(c, 400, "Bad Request",
                    "invalid value for \"seconds\" - must be a positive integer");
        return;
    }
    /* Go answers 400 "\"seconds\" parameter is not supported for this
     * profile type" for a profile outside profileSupportsDelta: every one
     * gort has is in it.  Nor has this server a WriteTimeout for N to
     * exceed (Go's "profile duration exceeds server's WriteTimeout").
     * debug is Go's strconv.Atoi(r.FormValue("debug")): not a number is
     * 0. */
    char dbuf[REQ_TARGET];
    int64_t debug;
    if (parse_int64(query_value(query, "debug", dbuf), &debug) && debug != 0) {
        serve_error(c, 400, "Bad Request", "seconds and debug params are incompatible");
        return;
    }
    gort_pprof_snapshot *p0;
    if (gort_pprof_snapshot_take(name, &p0) != 0) {
        serve_error(c, 500, "Internal Server Error", "failed to collect profile");
        return;
    }
    /* The client gone: Go's answer to the request's context cancelled,
     * which no one reads. */
    if (!sleep_or_gone(c, (double)sec)) {
        gort_pprof_snapshot_free(p0);
        serve_error(c, 500, "Internal Server Error", "context canceled");
        return;
    }
    int m = memfile();
    int r = m < 0 ? -errno : gort_pprof_write_delta(p0, m);
    gort_pprof_snapshot_free(p0);
    if (r != 0) {
        if (m >= 0)
            close(m);
        serve_error(c, 500, "Internal Server Error", "failed to collect profile");
        return;
    }
    respond_file(c, m, true, name, "-delta");
}

static void serve_path(const conn *c, const char *path, const char *query) {
    const char *pre = "/debug/pprof";
    size_t pl = strlen(pre);
    if (strncmp(path, pre, pl) != 0) {
        respond_text(c, 404, "Not Found", "404 page not found\n");
        return;
    }
    const char *name = path + pl;
    if (*name == '/')
        name++;
    if (*name == '\0') {
        index_page(c);
        return;
    }
    if (strcmp(name, "cmdline") == 0) {
        char buf[4096];
        int f = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n = f >= 0 ? read(f, buf, sizeof buf) : -1;
        if (f >= 0)
            close(f);
        respond(c, 200, "OK", "text/plain; charset=utf-8", NULL, buf, n > 0 ? (size_t)n : 0);
        return;
    }
    bool cpu = strcmp(name, "profile") == 0, trace = strcmp(name, "trace") == 0;
    /* A negative debug is 0 too (Go writes the proto for those). */
    double dbg = query_int(query, "debug", 0);
    int debug = dbg <= 0 ? 0 : dbg > 1e6 ? 1000000 : (int)dbg;
    if (!cpu && !trace) {
        bool known = false;
        for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
            known |= strcmp(name, profiles[i][0]) == 0;
        if (!known) {
            respond_text(c, 404, "Not Found", "Unknown profile\n");
            return;
        }
    }
    /* net/http/pprof: a named profile with seconds (not empty) is a
     * delta. */
    char secbuf[REQ_TARGET];
    const char *secstr = cpu || trace ? "" : query_value(query, "seconds", secbuf);
    if (*secstr != '\0') {
        serve_delta(c, name, secstr, query);
        return;
    }
    int m = memfile();
    if (m < 0) {
        respond_text(c, 500, "Internal Server Error", "memfd_create failed\n");
        return;
    }
    if (cpu || trace) {
        /* net/http/pprof: whole seconds for a CPU profile (ParseInt),
         * any number for a trace (ParseFloat); none, or not above 0, is 30
         * or 1. */
        double sec = cpu ? query_int(query, "seconds", 0) : query_num(query, "seconds", 0);
        if (!(sec > 0))
            sec = cpu ? 30 : 1;
        int r = cpu ? gort_pprof_start_cpu(m) : gort_trace_start(m);
        if (r != 0) {
            close(m);
            char msg[160];
            snprintf(
                msg, sizeof msg, "Could not enable %s: %s\n", cpu ? "CPU profiling" : "tracing",
                r == -EBUSY ? (cpu ? "cpu profiling already in use" : "tracing already enabled")
                            : strerror(-r));
            respond_text(c, 500, "Internal Server Error", msg);
            return;
        }
        (void)sleep_or_gone(c, sec);
        if (cpu)
            gort_pprof_stop_cpu();
        else
            gort_trace_stop();
        respond_file(c, m, true, cpu ? "profile" : "trace", "");
        return;
    }
    /* net/http/pprof: heap?gc=1 runs a collection first, so the profile
     * is as of now rather than the last cycle. */
    if (strcmp(name, "heap") == 0 && query_num(query, "gc", 0) > 0)
        gort_gc();
    int r = gort_pprof_write(name, m, debug);
    if (r != 0) {
        close(m);
        respond_text(c, 500, "Internal Server Error", strerror(-r));
        return;
    }
    respond_file(c, m, debug == 0, name, "");
}

void gort_pprof_http_conn(int fd) {
    char req[REQ_MAX + 1];
    size_t n = 0;
    while (n < REQ_MAX) {
        ssize_t r = gort_read(fd, req + n, REQ_MAX - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
            break;
    }
    req[n] = '\0';
    char method[16], target[REQ_TARGET];
    conn c = {.fd = fd};
    if (n == 0 || sscanf(req, "%15s %2047s", method, target) != 2) {
        if (n > 0)
            respond_text(&c, 400, "Bad Request", "400 Bad Request\n");
        gort_close(fd);
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        respond_text(&c, 405, "Method Not Allowed", "405 method not allowed\n");
        gort_close(fd);
        return;
    }
    c.head = strcmp(method, "HEAD") == 0;
    char *query = strchr(target, '?');
    if (query != NULL)
        *query++ = '\0';
    serve_path(&c, target, query ? query : "");
    gort_close(fd);
}

static void conn_g(void *arg) {
    gort_pprof_http_conn((int)(intptr_t)arg);
}

int gort_pprof_http_serve(int lfd) {
    for (;;) {
        int fd = gort_accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (fd == -EBADF)
                return 0;
            if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM || fd == -ENOBUFS) {
                gort_sleep(10 * 1000 * 1000); /* as net/http: back off, retry */
                continue;
            }
            if (fd == -ECONNABORTED || fd == -EINTR)
                continue;
            return fd;
        }
        if (gort_go(conn_g, (void *)(intptr_t)fd) < 0)
            gort_close(fd);
    }
}

static void serve_g(void *arg) {
    (void)gort_pprof_http_serve((int)(intptr_t)arg);
}

int gort_pprof_http_start(const char *addr) {
    int lfd = gort_listen(addr, 64);
    if (lfd < 0)
        return lfd;
    int port = gort_local_port(lfd);
    int r = gort_go(serve_g, (void *)(intptr_t)lfd);
    if (r < 0) {
        gort_close(lfd);
        return r;
    }
    return port;
}
