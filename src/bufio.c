/*
 * bufio.c - buffered reading and writing over fds, connections and the
 * program's own read/write functions.  Mirrors bufio/bufio.go (Reader,
 * Writer) and bufio/scan.go (Scanner with ScanLines, its token limit).
 *
 * The reader's buffer holds the unread bytes buf[r:w]; it is compacted
 * (moved to the front) only when a fill finds no room at the end, and
 * grows, doubling up to max, only when it is full of unread bytes with no
 * delimiter among them: a token never moves more than once per fill.  One
 * byte past cap is always allocated so that scan_line can NUL-terminate a
 * last line that fills the buffer.
 *
 * Neither type is safe for concurrent use (as Go's); they need no
 * synchronisation of their own.
 *
 * A reader or writer over the program's own function keeps its ctx alive
 * for the collector until it is freed, as Go's keeps its io.Reader: ctx
 * may be the only pointer to a gort_new object, and the reader itself is
 * malloc'd (unscanned), so ctx is a runtime root (gort__gc_root_add).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "gort.h"
#include "internal.h"

#define DEFAULT_SIZE 4096       /* bufio.defaultBufSize */
#define DEFAULT_MAX (64 * 1024) /* bufio.MaxScanTokenSize */

struct gort_bufreader {
    gort_read_fn rd;
    void *ctx;
    union {
        int fd;
        gort_conn conn;
    } src;             /* what ctx points at for the fd and conn readers */
    gort__gcroot root; /* [rootlock] ctx as a collector root (the _fn reader; else unlinked) */
    char *buf;         /* cap + 1 bytes */
    size_t cap;        /* current buffer size */
    size_t max;        /* longest token; the buffer never grows past it */
    size_t r, w;       /* unread bytes: buf[r:w] */
    int sticky;        /* -EMSGSIZE once a token was too long, else 0 */
    bool eof;          /* the source returned 0 */
};

struct gort_bufwriter {
    gort_write_fn wr;
    void *ctx;
    union {
        int fd;
        gort_conn conn;
    } dst;
    gort__gcroot root; /* [rootlock] ctx as a collector root (the _fn writer; else unlinked) */
    char *buf;
    size_t cap, n; /* buffered: buf[0:n] */
    int err;       /* the first error, sticky (Go's Writer.err) */
};

static ssize_t fd_read(void *ctx, void *buf, size_t n) {
    return gort_read(*(int *)ctx, buf, n);
}

static ssize_t conn_read(void *ctx, void *buf, size_t n) {
    return gort_conn_read(*(gort_conn *)ctx, buf, n);
}

static ssize_t fd_write(void *ctx, const void *buf, size_t n) {
    return gort_write(*(int *)ctx, buf, n);
}

static ssize_t conn_write(void *ctx, const void *buf, size_t n) {
    return gort_conn_write(*(gort_conn *)ctx, buf, n);
}

/* ------------------------------------------------------------------ reader */

static gort_bufreader *reader_new(size_t size, size_t max) {
    if (size == 0)
        size = DEFAULT_SIZE;
    if (max == 0)
        max = DEFAULT_MAX;
    /* No buffer this large can exist; the cap keeps the buffer's size + 1
     * (the terminator's byte) and the doubling in fill from wrapping. */
    if (max > SIZE_MAX / 2)
        max = SIZE_MAX / 2;
    if (size > SIZE_MAX / 2)
        return NULL;
    if (max < size)
        max = size;
    if (size > max)
        size = max;
    gort_bufreader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->buf = malloc(size + 1);
    if (r->buf == NULL) {
        gort__free(r);
        return NULL;
    }
    r->cap = size;
    r->max = max;
    return r;
}

GORT_API gort_bufreader *gort_bufreader_new(int fd, size_t size, size_t max) {
    gort_bufreader *r = reader_new(size, max);
    if (r) {
        r->src.fd = fd;
        r->rd = fd_read;
        r->ctx = &r->src.fd;
    }
    return r;
}

GORT_API gort_bufreader *gort_bufreader_new_conn(gort_conn c, size_t size, size_t max) {
    gort_bufreader *r = reader_new(size, max);
    if (r) {
        r->src.conn = c;
        r->rd = conn_read;
        r->ctx = &r->src.conn;
    }
    return r;
}

GORT_API gort_bufreader *gort_bufreader_new_fn(gort_read_fn read, void *ctx, size_t size,
                                               size_t max) {
    if (read == NULL)
        return NULL;
    gort_bufreader *r = reader_new(size, max);
    if (r) {
        r->rd = read;
        r->ctx = ctx;
        gort__gc_root_add(&r->root, &r->ctx, sizeof r->ctx);
    }
    return r;
}

GORT_API void gort_bufreader_free(gort_bufreader *r) {
    if (r) {
        if (r->root.next != NULL)
            gort__gc_root_del(&r->root);
        gort__free(r->buf);
        gort__free(r);
    }
}

GORT_API size_t gort_bufreader_buffered(const gort_bufreader *r) {
    return r->w - r->r;
}

/* Reads once more from the source into the buffer, making room first
 * (compacting, or growing a full buffer up to max).  > 0: bytes added;
 * 0: EOF (r->eof set); -EMSGSIZE: the buffer is max bytes of unread data;
 * -errno from the source. */
static ssize_t fill(gort_bufreader *r) {
    if (r->w == r->cap && r->r > 0) {
        memmove(r->buf, r->buf + r->r, r->w - r->r);
        r->w -= r->r;
        r->r = 0;
    }
    if (r->w == r->cap) {
        if (r->cap >= r->max)
            return -EMSGSIZE;
        size_t ncap = r->cap * 2 < r->max ? r->cap * 2 : r->max;
        char *nb = realloc(r->buf, ncap + 1);
        if (nb == NULL)
            return -ENOMEM;
        r->buf = nb;
        r->cap = ncap;
    }
    ssize_t n;
    do
        n = r->rd(r->ctx, r->buf + r->w, r->cap - r->w);
    while (n == -EINTR);
    if (n > 0)
        r->w += (size_t)n;
    else if (n == 0)
        r->eof = true;
    return n;
}

GORT_API ssize_t gort_bufreader_read(gort_bufreader *r, void *buf, size_t n) {
    if (r->sticky)
        return r->sticky;
    if (n == 0)
        return 0;
    if (r->r == r->w) {
        if (r->eof)
            return 0;
        r->r = r->w = 0;
        if (n >= r->cap) {
            /* Large read, empty buffer: read directly into buf (Go). */
            ssize_t d = r->rd(r->ctx, buf, n);
            if (d == 0)
                r->eof = true;
            return d;
        }
        ssize_t f = fill(r);
        if (f <= 0)
            return f;
    }
    size_t c = r->w - r->r < n ? r->w - r->r : n;
    memcpy(buf, r->buf + r->r, c);
    r->r += c;
    return (ssize_t)c;
}

GORT_API ssize_t gort_bufreader_read_slice(gort_bufreader *r, int delim, const char **p) {
    *p = NULL;
    if (r->sticky)
        return r->sticky;
    size_t scanned = 0; /* bytes of buf[r:] already searched */
    for (;;) {
        size_t avail = r->w - r->r;
        char *q = memchr(r->buf + r->r + scanned, delim, avail - scanned);
        if (q != NULL) {
            size_t len = (size_t)(q + 1 - (r->buf + r->r));
            *p = r->buf + r->r;
            r->r += len;
            return (ssize_t)len;
        }
        scanned = avail;
        if (r->eof) {
            /* The last bytes, without a delimiter; then 0 (EOF). */
            *p = r->buf + r->r;
            r->r = r->w;
            return (ssize_t)avail;
        }
        ssize_t f = fill(r);
        if (f == -EMSGSIZE)
            r->sticky = -EMSGSIZE;
        if (f < 0)
            return f;
    }
}

GORT_API ssize_t gort_bufreader_read_string(gort_bufreader *r, int delim, char **s) {
    const char *p;
    *s = NULL;
    ssize_t n = gort_bufreader_read_slice(r, delim, &p);
    if (n <= 0)
        return n;
    char *c = malloc((size_t)n + 1);
    if (c == NULL) {
        r->r -= (size_t)n; /* unread: the caller may try again */
        return -ENOMEM;
    }
    memcpy(c, p, (size_t)n);
    c[n] = '\0';
    *s = c;
    return n;
}

GORT_API int gort_bufreader_scan_line(gort_bufreader *r, char **line, size_t *len) {
    const char *p;
    *line = NULL;
    ssize_t n = gort_bufreader_read_slice(r, '\n', &p);
    if (n <= 0) {
        if (len)
            *len = 0;
        return (int)n;
    }
    /* p points into r->buf, which we own: terminate the line in place (a
     * last line without "\n" ends at w <= cap, and buf has cap + 1 bytes). */
    char *l = r->buf + (p - r->buf);
    size_t m = (size_t)n;
    if (l[m - 1] == '\n')
        m--;
    if (m > 0 && l[m - 1] == '\r')
        m--; /* ScanLines drops a carriage return before the newline */
    l[m] = '\0';
    *line = l;
    if (len)
        *len = m;
    return 1;
}

/* ------------------------------------------------------------------ writer */

static gort_bufwriter *writer_new(size_t size) {
    if (size == 0)
        size = DEFAULT_SIZE;
    /* No buffer this large can exist, as for the reader: NULL without
     * asking malloc (AddressSanitizer's malloc aborts on such a size). */
    if (size > SIZE_MAX / 2)
        return NULL;
    gort_bufwriter *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->buf = malloc(size);
    if (w->buf == NULL) {
        gort__free(w);
        return NULL;
    }
    w->cap = size;
    return w;
}

GORT_API gort_bufwriter *gort_bufwriter_new(int fd, size_t size) {
    gort_bufwriter *w = writer_new(size);
    if (w) {
        w->dst.fd = fd;
        w->wr = fd_write;
        w->ctx = &w->dst.fd;
    }
    return w;
}

GORT_API gort_bufwriter *gort_bufwriter_new_conn(gort_conn c, size_t size) {
    gort_bufwriter *w = writer_new(size);
    if (w) {
        w->dst.conn = c;
        w->wr = conn_write;
        w->ctx = &w->dst.conn;
    }
    return w;
}

GORT_API gort_bufwriter *gort_bufwriter_new_fn(gort_write_fn write, void *ctx, size_t size) {
    if (write == NULL)
        return NULL;
    gort_bufwriter *w = writer_new(size);
    if (w) {
        w->wr = write;
        w->ctx = ctx;
        gort__gc_root_add(&w->root, &w->ctx, sizeof w->ctx);
    }
    return w;
}

GORT_API void gort_bufwriter_free(gort_bufwriter *w) {
    if (w) {
        if (w->root.next != NULL)
            gort__gc_root_del(&w->root);
        gort__free(w->buf);
        gort__free(w);
    }
}

GORT_API size_t gort_bufwriter_buffered(const gort_bufwriter *w) {
    return w->n;
}

/* Writes p[0:n] to the sink, all of it or an error (sticky). */
static int sink(gort_bufwriter *w, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = w->wr(w->ctx, p, n);
        if (k == -EINTR)
            continue;
        if (k <= 0) {
            w->err = k == 0 ? -EIO : (int)k; /* 0: io.ErrShortWrite */
            return w->err;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

GORT_API int gort_bufwriter_flush(gort_bufwriter *w) {
    if (w->err)
        return w->err;
    int err = sink(w, w->buf, w->n);
    if (err == 0)
        w->n = 0;
    return err;
}

GORT_API ssize_t gort_bufwriter_write(gort_bufwriter *w, const void *p, size_t n) {
    const char *s = p;
    size_t left = n;
    while (left > w->cap - w->n) {
        if (w->err)
            return w->err;
        if (w->n == 0) {
            /* Large write, empty buffer: write directly (Go). */
            int err = sink(w, s, left);
            return err ? err : (ssize_t)n;
        }
        size_t c = w->cap - w->n;
        memcpy(w->buf + w->n, s, c);
        w->n += c;
        s += c;
        left -= c;
        int err = gort_bufwriter_flush(w);
        if (err)
            return err;
    }
    if (w->err)
        return w->err;
    memcpy(w->buf + w->n, s, left);
    w->n += left;
    return (ssize_t)n;
}

GORT_API ssize_t gort_bufwriter_write_string(gort_bufwriter *w, const char *s) {
    return gort_bufwriter_write(w, s, strlen(s));
}

GORT_API ssize_t gort_bufwriter_printf(gort_bufwriter *w, const char *fmt, ...) {
    if (w->err)
        return w->err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->n, w->cap - w->n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < w->cap - w->n) {
        w->n += (size_t)n; /* it fitted (with its NUL, which is not kept) */
        return n;
    }
    /* Too long for what is left: format into a temporary. */
    char *t = malloc((size_t)n + 1);
    if (t == NULL)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(t, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ssize_t r = gort_bufwriter_write(w, t, (size_t)n);
    gort__free(t);
    return r;
}
