/*
 * resp.c - the RESP2 request parser (see resp.h), after Redis 7.0's
 * networking.c: processMultibulkBuffer, processInlineBuffer and
 * sds.c:sdssplitargs, with their limits and error texts.
 *
 * Redis's quirks kept on purpose: a line ends at the first '\r' and the
 * byte after it is skipped unread, as are the two bytes after a bulk's
 * data; a non-positive multibulk count is an empty command.
 */
#include "resp.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

int resp_str2ll(const char *s, size_t n, long long *out) {
    /* Redis's string2ll: at most 20 characters ("-9223372036854775808"). */
    if (n == 0 || n >= 21)
        return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        if (++i == n)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Writes msg to err and returns RESP_ERROR. */
static int fail(char err[RESP_ERR_SIZE], const char *msg) {
    snprintf(err, RESP_ERR_SIZE, "%s", msg);
    return RESP_ERROR;
}

/* C's isspace in the "C" locale, as sdssplitargs uses it. */
static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_val(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * sdssplitargs over line[0..n), unescaping in place (every output byte
 * comes from at least one input byte, so the writer never passes the
 * reader).  A NUL ends the line, as it ends Redis's C string.  Returns the
 * number of arguments, or -1 for unbalanced quotes or too many arguments.
 */
static int split_inline(char *line, size_t n, resp_arg *argv, int max_args) {
    char *nul = memchr(line, '\0', n);
    char *p = line, *end = nul ? nul : line + n;
    int argc = 0;
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (p == end)
            return argc;
        if (argc == max_args)
            return -1;
        char *start = p, *w = p; /* the argument is written at start.. */
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            char c = p < end ? *p : '\0';
            if (inq) {
                if (c == '\\' && end - p >= 4 && p[1] == 'x' && hex_val(p[2]) >= 0 &&
                    hex_val(p[3]) >= 0) {
                    *w++ = (char)(hex_val(p[2]) * 16 + hex_val(p[3]));
                    p += 3;
                } else if (c == '\\' && end - p >= 2) {
                    char e = *++p;
                    *w++ = e == 'n'   ? '\n'
                           : e == 'r' ? '\r'
                           : e == 't' ? '\t'
                           : e == 'b' ? '\b'
                           : e == 'a' ? '\a'
                                      : e;
                } else if (c == '"') {
                    /* The closing quote must be followed by a space or nothing. */
                    if (end - p >= 2 && !is_space(p[1]))
                        return -1;
                    done = 1;
                } else if (c == '\0') {
                    return -1; /* unterminated quotes */
                } else {
                    *w++ = c;
                }
            } else if (insq) {
                if (c == '\\' && end - p >= 2 && p[1] == '\'') {
                    p++;
                    *w++ = '\'';
                } else if (c == '\'') {
                    if (end - p >= 2 && !is_space(p[1]))
                        return -1;
                    done = 1;
                } else if (c == '\0') {
                    return -1;
                } else {
                    *w++ = c;
                }
            } else {
                switch (c) {
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                case '\0':
                    done = 1;
                    break;
                case '"':
                    inq = 1;
                    break;
                case '\'':
                    insq = 1;
                    break;
                default:
                    *w++ = c;
                    break;
                }
            }
            if (p < end)
                p++;
        }
        argv[argc].p = start;
        argv[argc].n = (size_t)(w - start);
        argc++;
    }
}

/* processInlineBuffer: one line ending in "\n" (or "\r\n"). */
static int parse_inline(char *buf, size_t len, resp_arg *argv, int max_args, int *argc,
                        size_t *consumed, char err[RESP_ERR_SIZE]) {
    char *nl = memchr(buf, '\n', len);
    if (nl == NULL) {
        if (len > RESP_INLINE_MAX)
            return fail(err, "Protocol error: too big inline request");
        return RESP_INCOMPLETE;
    }
    size_t n = (size_t)(nl - buf);
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    int c = split_inline(buf, n, argv, max_args);
    if (c < 0)
        return fail(err, "Protocol error: unbalanced quotes in request");
    *argc = c;
    *consumed = (size_t)(nl - buf) + 1;
    return RESP_OK;
}

/*
 * Finds the line starting at buf[pos]: sets *nl to the offset of its '\r'.
 * RESP_OK, RESP_INCOMPLETE, or RESP_ERROR with toobig as the text when no
 * '\r' came within RESP_INLINE_MAX bytes.
 */
static int find_line(const char *buf, size_t len, size_t pos, size_t *nl, const char *toobig,
                     char err[RESP_ERR_SIZE]) {
    const char *r = memchr(buf + pos, '\r', len - pos);
    if (r == NULL) {
        if (len - pos > RESP_INLINE_MAX)
            return fail(err, toobig);
        return RESP_INCOMPLETE;
    }
    *nl = (size_t)(r - buf);
    if (*nl + 2 > len) /* the '\n' has not arrived */
        return RESP_INCOMPLETE;
    return RESP_OK;
}

int resp_parse(char *buf, size_t len, resp_arg *argv, int max_args, int *argc, size_t *consumed,
               char err[RESP_ERR_SIZE]) {
    if (len == 0)
        return RESP_INCOMPLETE;
    if (buf[0] != '*')
        return parse_inline(buf, len, argv, max_args, argc, consumed, err);

    size_t nl;
    int r = find_line(buf, len, 0, &nl, "Protocol error: too big mbulk count string", err);
    if (r != RESP_OK)
        return r;
    long long count;
    if (!resp_str2ll(buf + 1, nl - 1, &count) || count > RESP_MULTIBULK_MAX || count > max_args)
        return fail(err, "Protocol error: invalid multibulk length");
    size_t pos = nl + 2;
    if (count <= 0) {
        *argc = 0;
        *consumed = pos;
        return RESP_OK;
    }
    for (long long i = 0; i < count; i++) {
        if (pos == len)
            return RESP_INCOMPLETE;
        r = find_line(buf, len, pos, &nl, "Protocol error: too big bulk count string", err);
        if (r != RESP_OK)
            return r;
        if (buf[pos] != '$') {
            /* Redis's addReplyErrorFormat turns '\r' and '\n' into spaces
             * (and a NUL here would cut the text short). */
            char c = buf[pos] == '\r' || buf[pos] == '\n' || buf[pos] == '\0' ? ' ' : buf[pos];
            snprintf(err, RESP_ERR_SIZE, "Protocol error: expected '$', got '%c'", c);
            return RESP_ERROR;
        }
        long long n;
        if (!resp_str2ll(buf + pos + 1, nl - pos - 1, &n) || n < 0 || n > RESP_BULK_MAX)
            return fail(err, "Protocol error: invalid bulk length");
        pos = nl + 2;
        if ((unsigned long long)n + 2 > len - pos)
            return RESP_INCOMPLETE;
        argv[i].p = buf + pos;
        argv[i].n = (size_t)n;
        pos += (size_t)n + 2;
    }
    *argc = (int)count;
    *consumed = pos;
    return RESP_OK;
}
