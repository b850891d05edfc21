/*
 * kvstore.c - a Redis-protocol (RESP2) key-value server on gort: one
 * goroutine per connection, the keys in sharded hash maps each guarded by
 * a gort_mutex.
 *
 *     kvstore [-addr HOST] [-port N]      (default 127.0.0.1:6379)
 *     redis-benchmark -q -p 6379 -c 50 -n 200000 -t ping,set,get
 *
 * Commands: PING, ECHO, SET (with NX, XX, GET), GET, DEL, INCR, EXISTS,
 * QUIT, and the two that clients send on their own at start: COMMAND
 * (answered with an empty array) and CONFIG GET (save and appendonly).
 * Replies and errors are Redis 7.0's, byte for byte.
 *
 * A connection reads what has arrived, parses every complete command in
 * its buffer (resp.c), appends each reply to one output buffer and sends
 * that with one gort_write: a pipelining client (redis-benchmark -P, or 50
 * clients at once) costs one read and one write per batch, not per
 * command.  Malformed input gets "-ERR Protocol error: ..." and the
 * connection is closed, as Redis does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"
#include "resp.h"
#include "../common/server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------
 * The store: NSHARDS chained hash tables, each under its own mutex.
 * ------------------------------------------------------------------------ */

#define NSHARDS 64 /* a power of two; the hash's top bits pick the shard */

/* One key and its value in one allocation: key bytes, then value bytes. */
struct entry {
    struct entry *next; /* [shard mu] the bucket's chain */
    uint64_t hash;      /* [immutable] */
    size_t klen;        /* [immutable] */
    size_t vlen;        /* [shard mu] */
    size_t vcap;        /* [immutable] room for the value after the key */
    char data[];        /* key (klen), then the value (vlen of vcap) */
};

/* A shard, alone on its cache lines.  Tables only grow; entries are freed
 * by DEL and by a SET that needs more room. */
struct shard {
    gort_mutex mu;
    struct entry **tab; /* [mu] mask + 1 buckets */
    size_t mask;        /* [mu] */
    size_t count;       /* [mu] */
} __attribute__((aligned(64)));

static struct shard shards[NSHARDS];

/* FNV-1a, 64 bits: short keys, no seed needed for an example. */
static uint64_t hash_key(const char *p, size_t n) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static struct shard *shard_of(uint64_t h) {
    return &shards[h >> (64 - 6)];
}

/* Returns the link that points at key's entry (or at the NULL ending its
 * bucket).  sh->mu must be held. */
static struct entry **find(struct shard *sh, uint64_t h, const char *key, size_t klen) {
    struct entry **pe = &sh->tab[h & sh->mask];
    for (; *pe; pe = &(*pe)->next) {
        struct entry *e = *pe;
        if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0)
            break;
    }
    return pe;
}

/* Doubles sh's table (load factor 1).  sh->mu must be held.  On ENOMEM
 * the table stays as it is: chains just get longer. */
static void grow(struct shard *sh) {
    size_t n = (sh->mask + 1) * 2;
    struct entry **t = calloc(n, sizeof *t);
    if (t == NULL)
        return;
    for (size_t i = 0; i <= sh->mask; i++) {
        for (struct entry *e = sh->tab[i], *next; e; e = next) {
            next = e->next;
            e->next = t[e->hash & (n - 1)];
            t[e->hash & (n - 1)] = e;
        }
    }
    free(sh->tab);
    sh->tab = t;
    sh->mask = n - 1;
}

/* Allocates the empty tables; 0 or -ENOMEM. */
static int store_init(void) {
    for (int i = 0; i < NSHARDS; i++) {
        shards[i].mask = 1023;
        shards[i].tab = calloc(shards[i].mask + 1, sizeof(struct entry *));
        if (shards[i].tab == NULL)
            return -ENOMEM;
    }
    return 0;
}

/*
 * Stores val under key at *pe (the link find returned), reusing the old
 * entry when the value fits.  sh->mu must be held.  0 or -ENOMEM.
 */
static int put(struct shard *sh, struct entry **pe, uint64_t h, const char *key, size_t klen,
               const char *val, size_t vlen) {
    struct entry *e = *pe;
    if (e && e->vcap >= vlen) {
        memcpy(e->data + klen, val, vlen);
        e->vlen = vlen;
        return 0;
    }
    size_t vcap = vlen < 16 ? 16 : vlen; /* room for INCR's digits and small rewrites */
    struct entry *n = malloc(sizeof *n + klen + vcap);
    if (n == NULL)
        return -ENOMEM;
    n->hash = h;
    n->klen = klen;
    n->vlen = vlen;
    n->vcap = vcap;
    memcpy(n->data, key, klen);
    memcpy(n->data + klen, val, vlen);
    if (e) { /* replace in place in the chain */
        n->next = e->next;
        *pe = n;
        free(e);
    } else {
        n->next = NULL;
        *pe = n;
        if (++sh->count > sh->mask + 1)
            grow(sh);
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Buffers and replies
 * ------------------------------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
};

/* Makes room for n more bytes; 0 or -ENOMEM. */
static int buf_reserve(struct buf *b, size_t n) {
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 16384;
    while (cap - b->len < n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Appends n bytes.  Out of memory, the reply is dropped and the
 * connection's oom flag (checked after the batch) closes it. */
static void put_bytes(struct buf *b, const void *p, size_t n, int *oom) {
    if (buf_reserve(b, n) < 0) {
        *oom = 1;
        return;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Appends a string literal. */
#define PUT_LIT(b, s, oom) put_bytes((b), (s), sizeof(s) - 1, (oom))

static void put_bulk(struct buf *b, const char *p, size_t n, int *oom) {
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    if (buf_reserve(b, (size_t)h + n + 2) < 0) {
        *oom = 1;
        return;
    }
    memcpy(b->p + b->len, hdr, (size_t)h);
    memcpy(b->p + b->len + h, p, n);
    memcpy(b->p + b->len + h + n, "\r\n", 2);
    b->len += (size_t)h + n + 2;
}

static void put_int(struct buf *b, long long v, int *oom) {
    char s[32];
    int n = snprintf(s, sizeof s, ":%lld\r\n", v);
    put_bytes(b, s, (size_t)n, oom);
}

/* "-ERR wrong number of arguments for 'get' command" (name: lower case,
 * as in Redis's command table). */
static void put_arity(struct buf *b, const char *name, int *oom) {
    char s[128];
    int n = snprintf(s, sizeof s, "-ERR wrong number of arguments for '%s' command\r\n", name);
    put_bytes(b, s, (size_t)n, oom);
}

/*
 * Redis 7.0's unknown-command error: "-ERR unknown command '%.128s', with
 * args beginning with: " and then "'%.*s' " per argument while the list is
 * shorter than 128 bytes; '\r' and '\n' become spaces; a NUL ends a
 * string, as in C's printf.
 */
static void put_unknown(struct buf *b, const resp_arg *argv, int argc, int *oom) {
    char s[512];
    size_t n = 0;
#define CAT(p, len)                \
    do {                           \
        memcpy(s + n, (p), (len)); \
        n += (len);                \
    } while (0)
    CAT("-ERR unknown command '", 22);
    size_t l = strnlen(argv[0].p, argv[0].n < 128 ? argv[0].n : 128);
    CAT(argv[0].p, l);
    CAT("', with args beginning with: ", 29);
    size_t args0 = n;
    for (int i = 1; i < argc && n - args0 < 128; i++) {
        size_t room = 128 - (n - args0);
        size_t al = strnlen(argv[i].p, argv[i].n < room ? argv[i].n : room);
        CAT("'", 1);
        CAT(argv[i].p, al);
        CAT("' ", 2);
    }
#undef CAT
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n')
            s[i] = ' ';
    }
    put_bytes(b, s, n, oom);
    PUT_LIT(b, "\r\n", oom);
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

/* True if a (the command name) is s, ignoring case. */
static int is(const resp_arg *a, const char *s) {
    size_t n = strlen(s);
    return a->n == n && strncasecmp(a->p, s, n) == 0;
}

static void cmd_set(struct buf *out, const resp_arg *argv, int argc, int *oom) {
    int nx = 0, xx = 0, get = 0;
    for (int i = 3; i < argc; i++) {
        if (is(&argv[i], "nx") && !xx)
            nx = 1;
        else if (is(&argv[i], "xx") && !nx)
            xx = 1;
        else if (is(&argv[i], "get"))
            get = 1;
        else { /* EX, PX, EXAT, PXAT, KEEPTTL: no expiry in this store */
            PUT_LIT(out, "-ERR syntax error\r\n", oom);
            return;
        }
    }
    const resp_arg *k = &argv[1], *v = &argv[2];
    uint64_t h = hash_key(k->p, k->n);
    struct shard *sh = shard_of(h);
    gort_mutex_lock(&sh->mu);
    struct entry **pe = find(sh, h, k->p, k->n);
    int exists = *pe != NULL;
    if (get) { /* the old value, or nil */
        if (exists)
            put_bulk(out, (*pe)->data + k->n, (*pe)->vlen, oom);
        else
            PUT_LIT(out, "$-1\r\n", oom);
    }
    if ((nx && exists) || (xx && !exists)) {
        gort_mutex_unlock(&sh->mu);
        if (!get)
            PUT_LIT(out, "$-1\r\n", oom);
        return;
    }
    int err = put(sh, pe, h, k->p, k->n, v->p, v->n);
    gort_mutex_unlock(&sh->mu);
    if (err < 0)
        PUT_LIT(out, "-OOM command not allowed when used memory > 'maxmemory'.\r\n", oom);
    else if (!get)
        PUT_LIT(out, "+OK\r\n", oom);
}

static void cmd_get(struct buf *out, const resp_arg *k, int *oom) {
    uint64_t h = hash_key(k->p, k->n);
    struct shard *sh = shard_of(h);
    gort_mutex_lock(&sh->mu);
    struct entry *e = *find(sh, h, k->p, k->n);
    if (e)
        put_bulk(out, e->data + k->n, e->vlen, oom); /* copied under the lock */
    else
        PUT_LIT(out, "$-1\r\n", oom);
    gort_mutex_unlock(&sh->mu);
}

/* DEL (del = 1) and EXISTS (del = 0): how many of the keys there were. */
static void cmd_del_exists(struct buf *out, const resp_arg *argv, int argc, int del, int *oom) {
    long long n = 0;
    for (int i = 1; i < argc; i++) {
        uint64_t h = hash_key(argv[i].p, argv[i].n);
        struct shard *sh = shard_of(h);
        gort_mutex_lock(&sh->mu);
        struct entry **pe = find(sh, h, argv[i].p, argv[i].n);
        struct entry *e = *pe;
        if (e) {
            n++;
            if (del) {
                *pe = e->next;
                sh->count--;
            }
        }
        gort_mutex_unlock(&sh->mu);
        if (e && del)
            free(e);
    }
    put_int(out, n, oom);
}

static void cmd_incr(struct buf *out, const resp_arg *k, int *oom) {
    uint64_t h = hash_key(k->p, k->n);
    struct shard *sh = shard_of(h);
    gort_mutex_lock(&sh->mu);
    struct entry **pe = find(sh, h, k->p, k->n);
    long long v = 0;
    if (*pe && !resp_str2ll((*pe)->data + k->n, (*pe)->vlen, &v)) {
        gort_mutex_unlock(&sh->mu);
        PUT_LIT(out, "-ERR value is not an integer or out of range\r\n", oom);
        return;
    }
    if (v == INT64_MAX) {
        gort_mutex_unlock(&sh->mu);
        PUT_LIT(out, "-ERR increment or decrement would overflow\r\n", oom);
        return;
    }
    v++;
    char s[24];
    int n = snprintf(s, sizeof s, "%lld", v);
    int err = put(sh, pe, h, k->p, k->n, s, (size_t)n);
    gort_mutex_unlock(&sh->mu);
    if (err < 0)
        PUT_LIT(out, "-OOM command not allowed when used memory > 'maxmemory'.\r\n", oom);
    else
        put_int(out, v, oom);
}

/* CONFIG GET pattern...: the values redis-benchmark asks for (exact names
 * only, no glob patterns), as name/value pairs. */
static void cmd_config(struct buf *out, const resp_arg *argv, int argc, int *oom) {
    if (argc < 2) {
        put_arity(out, "config", oom);
        return;
    }
    if (!is(&argv[1], "get")) {
        char s[200];
        size_t l = strnlen(argv[1].p, argv[1].n < 128 ? argv[1].n : 128);
        int n = snprintf(s, sizeof s, "-ERR unknown subcommand '%.*s'. Try CONFIG HELP.\r\n",
                         (int)l, argv[1].p);
        put_bytes(out, s, (size_t)n, oom);
        return;
    }
    if (argc < 3) {
        put_arity(out, "config|get", oom);
        return;
    }
    static const struct {
        const char *name, *value;
    } params[] = {{"save", ""}, {"appendonly", "no"}, {"databases", "1"}};
    int found = 0;
    struct buf tmp = {0};
    for (int i = 2; i < argc; i++) {
        for (size_t j = 0; j < sizeof params / sizeof params[0]; j++) {
            if (is(&argv[i], params[j].name)) {
                put_bulk(&tmp, params[j].name, strlen(params[j].name), oom);
                put_bulk(&tmp, params[j].value, strlen(params[j].value), oom);
                found++;
            }
        }
    }
    char hdr[32];
    int h = snprintf(hdr, sizeof hdr, "*%d\r\n", 2 * found);
    put_bytes(out, hdr, (size_t)h, oom);
    if (tmp.len)
        put_bytes(out, tmp.p, tmp.len, oom);
    free(tmp.p);
}

/*
 * Runs one command, appending its reply to out.  Returns 1 if the
 * connection is to be closed after the reply (QUIT).
 */
static int exec_cmd(struct buf *out, const resp_arg *argv, int argc, int *oom) {
    const resp_arg *c = &argv[0];
    switch (c->n) { /* the length first: one strncasecmp per command */
    case 3:
        if (is(c, "get")) {
            if (argc != 2)
                put_arity(out, "get", oom);
            else
                cmd_get(out, &argv[1], oom);
            return 0;
        }
        if (is(c, "set")) {
            if (argc < 3)
                put_arity(out, "set", oom);
            else
                cmd_set(out, argv, argc, oom);
            return 0;
        }
        if (is(c, "del")) {
            if (argc < 2)
                put_arity(out, "del", oom);
            else
                cmd_del_exists(out, argv, argc, 1, oom);
            return 0;
        }
        break;
    case 4:
        if (is(c, "ping")) {
            if (argc > 2)
                put_arity(out, "ping", oom);
            else if (argc == 2)
                put_bulk(out, argv[1].p, argv[1].n, oom);
            else
                PUT_LIT(out, "+PONG\r\n", oom);
            return 0;
        }
        if (is(c, "echo")) {
            if (argc != 2)
                put_arity(out, "echo", oom);
            else
                put_bulk(out, argv[1].p, argv[1].n, oom);
            return 0;
        }
        if (is(c, "incr")) {
            if (argc != 2)
                put_arity(out, "incr", oom);
            else
                cmd_incr(out, &argv[1], oom);
            return 0;
        }
        if (is(c, "quit")) {
            PUT_LIT(out, "+OK\r\n", oom);
            return 1;
        }
        break;
    case 6:
        if (is(c, "exists")) {
            if (argc < 2)
                put_arity(out, "exists", oom);
            else
                cmd_del_exists(out, argv, argc, 0, oom);
            return 0;
        }
        if (is(c, "config")) {
            cmd_config(out, argv, argc, oom);
            return 0;
        }
        break;
    case 7:
        if (is(c, "command")) { /* COMMAND, COMMAND DOCS (redis-cli's hints): none */
            PUT_LIT(out, "*0\r\n", oom);
            return 0;
        }
        break;
    }
    put_unknown(out, argv, argc, oom);
    return 0;
}

/* ------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------ */

#define MAX_ARGS 1024              /* per command (Redis: 1024*1024) */
#define MAX_QUERY (1024LL << 20)   /* Redis's client-query-buffer-limit: 1 GiB */
#define SHRINK_ABOVE (1024 * 1024) /* buffers grown past this shrink when idle */

/* The connection goroutine: read, run every complete command, write the
 * replies, until EOF, an error, QUIT or a protocol error. */
static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    struct buf in = {0}, out = {0};
    resp_arg *argv = malloc(MAX_ARGS * sizeof *argv);
    int oom = 0, quit = 0;
    if (argv == NULL || buf_reserve(&in, 16384) < 0 || buf_reserve(&out, 16384) < 0)
        goto done;
    while (!quit && !oom) {
        if (in.len == in.cap) { /* a command bigger than the buffer */
            if ((long long)in.cap * 2 > MAX_QUERY + 16384 || buf_reserve(&in, in.cap) < 0)
                break;
        }
        ssize_t n = gort_read(fd, in.p + in.len, in.cap - in.len);
        if (n <= 0)
            break;
        in.len += (size_t)n;
        size_t pos = 0;
        while (pos < in.len && !quit) {
            int argc;
            size_t used;
            char err[RESP_ERR_SIZE];
            int r = resp_parse(in.p + pos, in.len - pos, argv, MAX_ARGS, &argc, &used, err);
            if (r == RESP_INCOMPLETE)
                break;
            if (r == RESP_ERROR) {
                PUT_LIT(&out, "-ERR ", &oom);
                put_bytes(&out, err, strlen(err), &oom);
                PUT_LIT(&out, "\r\n", &oom);
                quit = 1;
                break;
            }
            pos += used;
            if (argc > 0)
                quit = exec_cmd(&out, argv, argc, &oom);
        }
        if (out.len > 0 && gort_write(fd, out.p, out.len) < 0)
            break;
        out.len = 0;
        memmove(in.p, in.p + pos, in.len - pos);
        in.len -= pos;
        if (in.cap > SHRINK_ABOVE && in.len < 16384) {
            char *p = realloc(in.p, 16384);
            if (p) {
                in.p = p;
                in.cap = 16384;
            }
        }
        if (out.cap > SHRINK_ABOVE) {
            free(out.p);
            out = (struct buf){0};
            if (buf_reserve(&out, 16384) < 0)
                break;
        }
    }
done:
    gort_close(fd);
    free(argv);
    free(in.p);
    free(out.p);
}

int main(int argc, char **argv) {
    return ex_server_main(argc, argv, "kvstore", 6379, store_init, serve);
}
