/*
 * pprof_proto.c - profile.proto by hand (runtime/pprof/proto.go,
 * protobuf.go), gzip with stored deflate blocks, and Go's legacy text
 * formats.  Everything a profile needs to be read by `go tool pprof`
 * without the binary: the samples, their locations with the function
 * names and file:line of every frame (inlined calls included, from
 * gort__symbolize), and the string table.
 *
 * The core library needs only libc: gzip here is RFC 1952 around RFC 1951
 * stored (uncompressed) blocks, with a table-driven CRC-32.  Profiles are
 * small (a few hundred KiB at most), so compressing them is not worth a
 * deflate coder of our own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "pprof.h"

/* ------------------------------------------------------------------------
 * Byte buffers and the protobuf wire format
 * ------------------------------------------------------------------------ */

void gort__pb_grow(gort__pbuf *b, size_t more) {
    if (b->oom || b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *nb = gort__fixrealloc(b->b, cap);
    if (nb == NULL) {
        b->oom = true;
        return;
    }
    b->b = nb;
    b->cap = cap;
}

void gort__pb_put(gort__pbuf *b, const void *p, size_t n) {
    if (n == 0)
        return; /* p may be NULL (an empty field): memcpy must not see it */
    gort__pb_grow(b, n);
    if (b->oom)
        return;
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

void gort__pb_printf(gort__pbuf *b, const char *fmt, ...) {
    va_list ap;
    char tmp[512];
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if ((size_t)k < sizeof tmp) {
        gort__pb_put(b, tmp, (size_t)k);
        return;
    }
    gort__pb_grow(b, (size_t)k + 1);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->b + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

void gort__pb_free(gort__pbuf *b) {
    gort__fixfree(b->b);
    memset(b, 0, sizeof *b);
}

void gort__pb_varint(gort__pbuf *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    gort__pb_put(b, tmp, n);
}

/* Wire types: 0 varint, 2 length-delimited. */
static void pb_key(gort__pbuf *b, int field, int wt) {
    gort__pb_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

static void pb_uint(gort__pbuf *b, int field, uint64_t v) {
    pb_key(b, field, 0);
    gort__pb_varint(b, v);
}

/* An optional field: omitted when zero, as proto3 does. */
static void pb_uint_opt(gort__pbuf *b, int field, uint64_t v) {
    if (v != 0)
        pb_uint(b, field, v);
}

static void pb_bytes(gort__pbuf *b, int field, const void *p, size_t n) {
    pb_key(b, field, 2);
    gort__pb_varint(b, n);
    gort__pb_put(b, p, n);
}

/* A packed repeated varint field. */
static void pb_packed(gort__pbuf *b, int field, const uint64_t *v, int n) {
    gort__pbuf tmp = {0};
    for (int i = 0; i < n; i++)
        gort__pb_varint(&tmp, v[i]);
    pb_bytes(b, field, tmp.b, tmp.n);
    if (tmp.oom)
        b->oom = true;
    gort__pb_free(&tmp);
}

/* An embedded message from the bytes of sub (freed). */
static void pb_msg(gort__pbuf *b, int field, gort__pbuf *sub) {
    pb_bytes(b, field, sub->b, sub->n);
    if (sub->oom)
        b->oom = true;
    gort__pb_free(sub);
}

/* ------------------------------------------------------------------------
 * gzip (RFC 1952) of stored deflate blocks (RFC 1951 3.2.4)
 * ------------------------------------------------------------------------ */

static uint32_t crctab[256];
static pthread_once_t crconce = PTHREAD_ONCE_INIT;

static void crcinit(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crctab[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    pthread_once(&crconce, crcinit);
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crctab[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static void put32le(gort__pbuf *b, uint32_t v) {
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gort__pb_put(b, t, 4);
}

void gort__gzip(gort__pbuf *out, const uint8_t *p, size_t n) {
    /* ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=0 OS=255 (unknown) */
    static const uint8_t hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    gort__pb_put(out, hdr, sizeof hdr);
    size_t off = 0;
    do {
        size_t k = n - off > 65535 ? 65535 : n - off;
        bool last = off + k == n;
        /* BFINAL, BTYPE 00 (stored), then LEN and NLEN, little-endian. */
        uint8_t bh[5] = {last ? 1 : 0, (uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k,
                         (uint8_t)(~k >> 8)};
        gort__pb_put(out, bh, sizeof bh);
        gort__pb_put(out, p + off, k);
        off += k;
    } while (off < n);
    put32le(out, crc32(p, n));
    put32le(out, (uint32_t)n);
}

int gort__write_all(int fd, const uint8_t *p, size_t n, bool park) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
            /* Full: it was -EAGAIN, the output cut wherever the buffer
             * filled (a profile written to a gort_conn_pipe end or an
             * accepted socket).  Not while a runtime lock is held (the
             * tracer's): a wait there, in poll(2), held up every thread
             * that records an event, the reader too when it is one of
             * the program's goroutines - a hang. */
            if (!park)
                return -EAGAIN;
            int err = gort_wait_fd(fd, GORT_POLL_WRITE, 0);
            if (err != 0)
                return err;
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The profile builder
 * ------------------------------------------------------------------------ */

/* Open-addressing hash from a 64-bit key to an index (+1; 0 = empty). */
typedef struct idxmap {
    uint64_t *keys;
    uint32_t *vals;
    uint32_t cap, n;
} idxmap;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t strhash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static bool idxmap_grow(idxmap *m) {
    uint32_t cap = m->cap ? m->cap * 2 : 256;
    uint64_t *k = gort__fixcalloc(cap, sizeof *k);
    uint32_t *v = gort__fixcalloc(cap, sizeof *v);
    if (k == NULL || v == NULL) {
        gort__fixfree(k);
        gort__fixfree(v);
        return false;
    }
    for (uint32_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == 0)
            continue;
        uint32_t j = (uint32_t)mix64(m->keys[i]) & (cap - 1);
        while (v[j] != 0)
            j = (j + 1) & (cap - 1);
        k[j] = m->keys[i];
        v[j] = m->vals[i];
    }
    gort__fixfree(m->keys);
    gort__fixfree(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = cap;
    return true;
}

/* The slot for key: *found tells whether it holds key already. */
static uint32_t *idxmap_slot(idxmap *m, uint64_t key, bool (*eq)(void *, uint64_t, uint32_t),
                             void *ctx) {
    if ((m->n + 1) * 2 > m->cap && !idxmap_grow(m))
        return NULL;
    uint32_t j = (uint32_t)mix64(key) & (m->cap - 1);
    for (;;) {
        if (m->vals[j] == 0) {
            m->keys[j] = key;
            return &m->vals[j];
        }
        if (m->keys[j] == key && (eq == NULL || eq(ctx, key, m->vals[j])))
            return &m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
}

typedef struct pline {
    uint64_t func; /* function id */
    int64_t line;
} pline;

typedef struct ploc {
    uintptr_t pc; /* a return address (or the exact pc + 1) */
    int nline;
    pline lines[9]; /* innermost first (traceback.c keeps up to 8 inlined) */
} ploc;

/* A sample kept by a collecting profile (gort__prof_collect): its key
 * (the stack without its zero pcs, the labels, the numeric label) and the
 * sum of the values of the samples with that key. */
typedef struct psample {
    const gort__labelset *labels;
    const char *numkey;
    int64_t num;
    int64_t v[8];
    int nvals, n;
    uintptr_t pcs[];
} psample;

struct gort__prof {
    gort__pbuf body; /* Profile fields written so far (samples) */
    char **strs;
    uint32_t nstrs, capstrs;
    idxmap strmap;
    ploc *locs;
    uint32_t nlocs, caplocs;
    idxmap locmap;
    uint64_t *funcs; /* triples (name, system_name, file) string indices; id = index/3 + 1 */
    uint32_t nfuncs, capfuncs;
    idxmap funcmap;
    bool oom;
    /* Collecting (gort__prof_collect): samples are kept here, summed by
     * key, instead of being encoded; the period is kept too.  Owned by
     * whoever builds the profile: no lock (a finished snapshot is only
     * read). */
    bool collect;
    psample **samps;
    uint32_t nsamps, capsamps;
    idxmap sampmap;
    int64_t period;
};

static bool streq(void *ctx, uint64_t key, uint32_t v) {
    (void)key;
    gort__prof *p = ((void **)ctx)[0];
    const char *s = ((void **)ctx)[1];
    return strcmp(p->strs[v - 1], s) == 0;
}

int64_t gort__prof_str(gort__prof *p, const char *s) {
    if (s == NULL)
        s = "";
    void *ctx[2] = {p, (void *)s};
    uint32_t *slot = idxmap_slot(&p->strmap, strhash(s), streq, ctx);
    if (slot == NULL) {
        p->oom = true;
        return 0;
    }
    if (*slot != 0)
        return *slot - 1;
    if (p->nstrs == p->capstrs) {
        uint32_t cap = p->capstrs ? p->capstrs * 2 : 64;
        char **ns = gort__fixrealloc(p->strs, cap * sizeof *ns);
        if (ns == NULL) {
            p->oom = true;
            return 0;
        }
        p->strs = ns;
        p->capstrs = cap;
    }
    size_t sl = strlen(s);
    char *c = gort__fixalloc(sl + 1);
    if (c != NULL)
        memcpy(c, s, sl + 1);
    if (c == NULL) {
        p->oom = true;
        return 0;
    }
    p->strs[p->nstrs++] = c;
    p->strmap.n++;
    *slot = p->nstrs;
    return p->nstrs - 1;
}

gort__prof *gort__prof_new(void) {
    gort__prof *p = gort__fixcalloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    gort__prof_str(p, ""); /* string_table[0] must be "" */
    return p;
}

void gort__prof_free(gort__prof *p) {
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->nstrs; i++)
        gort__fixfree(p->strs[i]);
    gort__fixfree(p->strs);
    gort__fixfree(p->strmap.keys);
    gort__fixfree(p->strmap.vals);
    gort__fixfree(p->locs);
    gort__fixfree(p->locmap.keys);
    gort__fixfree(p->locmap.vals);
    gort__fixfree(p->funcs);
    gort__fixfree(p->funcmap.keys);
    gort__fixfree(p->funcmap.vals);
    for (uint32_t i = 0; i < p->nsamps; i++)
        gort__fixfree(p->samps[i]);
    gort__fixfree(p->samps);
    gort__fixfree(p->sampmap.keys);
    gort__fixfree(p->sampmap.vals);
    gort__pb_free(&p->body);
    gort__fixfree(p);
}

/* ValueType {type = 1, unit = 2} as field `field` of Profile. */
void gort__prof_valuetype(gort__prof *p, int field, const char *type, const char *unit) {
    gort__pbuf vt = {0};
    pb_uint(&vt, 1, (uint64_t)gort__prof_str(p, type));
    pb_uint(&vt, 2, (uint64_t)gort__prof_str(p, unit));
    pb_msg(&p->body, field, &vt);
}

void gort__prof_int(gort__prof *p, int field, int64_t v) {
    if (p->collect && field == 12) {
        p->period = v; /* written by gort__prof_delta */
        return;
    }
    pb_uint_opt(&p->body, field, (uint64_t)v);
}

static uint64_t loc_id(gort__prof *p, uintptr_t pc) {
    uint32_t *slot = idxmap_slot(&p->locmap, pc, NULL, NULL);
    if (slot == NULL) {
        p->oom = true;
        return 0;
    }
    if (*slot != 0)
        return *slot;
    if (p->nlocs == p->caplocs) {
        uint32_t cap = p->caplocs ? p->caplocs * 2 : 256;
        ploc *nl = gort__fixrealloc(p->locs, cap * sizeof *nl);
        if (nl == NULL) {
            p->oom = true;
            return 0;
        }
        p->locs = nl;
        p->caplocs = cap;
    }
    p->locs[p->nlocs] = (ploc){.pc = pc};
    p->nlocs++;
    p->locmap.n++;
    *slot = p->nlocs;
    return p->nlocs;
}

static void collect_sample(gort__prof *p, const uintptr_t *pcs, int n, const int64_t *vals,
                           int nvals, const gort__labelset *labels, const char *numkey,
                           int64_t num);

void gort__prof_sample(gort__prof *p, const uintptr_t *pcs, int n, const int64_t *vals, int nvals,
                       const gort__labelset *labels, const char *numkey, int64_t num) {
    if (p->collect) {
        collect_sample(p, pcs, n, vals, nvals, labels, numkey, num);
        return;
    }
    gort__pbuf s = {0};
    uint64_t ids[GORT__PROF_MAXSTACK];
    int k = 0;
    for (int i = 0; i < n && k < GORT__PROF_MAXSTACK; i++)
        if (pcs[i] != 0)
            ids[k++] = loc_id(p, pcs[i]);
    pb_packed(&s, 1, ids, k);
    uint64_t v[8];
    for (int i = 0; i < nvals && i < 8; i++)
        v[i] = (uint64_t)vals[i];
    pb_packed(&s, 2, v, nvals);
    for (int i = 0; labels != NULL && i < labels->n; i++) {
        gort__pbuf l = {0};
        pb_uint(&l, 1, (uint64_t)gort__prof_str(p, labels->kv[2 * i]));
        pb_uint(&l, 2, (uint64_t)gort__prof_str(p, labels->kv[2 * i + 1]));
        pb_msg(&s, 3, &l);
    }
    if (numkey != NULL) {
        gort__pbuf l = {0};
        pb_uint(&l, 1, (uint64_t)gort__prof_str(p, numkey));
        pb_uint(&l, 3, (uint64_t)num);
        pb_msg(&s, 3, &l);
    }
    pb_msg(&p->body, 2, &s);
}

/* ------------------------------------------------------------------------
 * Deltas (net/http/pprof's ?seconds=N: p1 - p0)
 * ------------------------------------------------------------------------ */

void gort__prof_collect(gort__prof *p) {
    p->collect = true;
}

/* A sample's key as Go's profile.Merge has it (sampleKey): the locations
 * (here the pcs, one location each), the labels (interned: one set, one
 * pointer) and the numeric label. */
typedef struct skey {
    const uintptr_t *pcs;
    int n;
    const gort__labelset *labels;
    const char *numkey;
    int64_t num;
} skey;

static uint64_t skey_hash(const skey *k) {
    uint64_t h = mix64((uint64_t)(uintptr_t)k->labels ^ (uint64_t)k->num * 0x9e3779b97f4a7c15ull);
    if (k->numkey != NULL)
        h ^= strhash(k->numkey);
    for (int i = 0; i < k->n; i++)
        h = mix64(h ^ k->pcs[i]);
    return h;
}

static bool skey_eq(const skey *k, const psample *s) {
    return s->n == k->n && s->labels == k->labels && s->num == k->num &&
           (s->numkey == NULL) == (k->numkey == NULL) &&
           (s->numkey == NULL || strcmp(s->numkey, k->numkey) == 0) &&
           memcmp(s->pcs, k->pcs, (size_t)k->n * sizeof *k->pcs) == 0;
}

static bool sampeq(void *ctx, uint64_t key, uint32_t v) {
    (void)key;
    const gort__prof *p = ((void **)ctx)[0];
    return skey_eq(((void **)ctx)[1], p->samps[v - 1]);
}

/* The index + 1 of p's sample with key k, or 0.  (p is only read.) */
static uint32_t find_sample(const gort__prof *p, const skey *k) {
    if (p->sampmap.cap == 0)
        return 0;
    uint64_t h = skey_hash(k);
    for (uint32_t j = (uint32_t)mix64(h) & (p->sampmap.cap - 1); p->sampmap.vals[j] != 0;
         j = (j + 1) & (p->sampmap.cap - 1))
        if (p->sampmap.keys[j] == h && skey_eq(k, p->samps[p->sampmap.vals[j] - 1]))
            return p->sampmap.vals[j];
    return 0;
}

static void collect_sample(gort__prof *p, const uintptr_t *pcs, int n, const int64_t *vals,
                           int nvals, const gort__labelset *labels, const char *numkey,
                           int64_t num) {
    /* The pcs the encoder keeps (it drops zeros and stops at the limit). */
    uintptr_t kp[GORT__PROF_MAXSTACK];
    int k = 0;
    for (int i = 0; i < n && k < GORT__PROF_MAXSTACK; i++)
        if (pcs[i] != 0)
            kp[k++] = pcs[i];
    if (nvals > 8)
        nvals = 8;
    skey key = {kp, k, labels, numkey, num};
    void *ctx[2] = {p, &key};
    uint32_t *slot = idxmap_slot(&p->sampmap, skey_hash(&key), sampeq, ctx);
    if (slot == NULL) {
        p->oom = true;
        return;
    }
    if (*slot != 0) {
        psample *s = p->samps[*slot - 1];
        for (int i = 0; i < nvals; i++)
            s->v[i] = (int64_t)((uint64_t)s->v[i] + (uint64_t)vals[i]);
        return;
    }
    if (p->nsamps == p->capsamps) {
        uint32_t cap = p->capsamps ? p->capsamps * 2 : 64;
        psample **ns = gort__fixrealloc(p->samps, cap * sizeof *ns);
        if (ns == NULL) {
            p->oom = true;
            return;
        }
        p->samps = ns;
        p->capsamps = cap;
    }
    psample *s = gort__fixcalloc(1, sizeof *s + (size_t)k * sizeof *kp);
    if (s == NULL) {
        p->oom = true;
        return;
    }
    s->labels = labels;
    s->numkey = numkey;
    s->num = num;
    s->nvals = nvals;
    s->n = k;
    memcpy(s->pcs, kp, (size_t)k * sizeof *kp);
    memcpy(s->v, vals, (size_t)nvals * sizeof *vals);
    p->samps[p->nsamps++] = s;
    p->sampmap.n++;
    *slot = p->nsamps;
}

int gort__prof_delta(gort__prof *p1, const gort__prof *p0) {
    if (p1->oom || p0->oom)
        return -ENOMEM;
    bool *done = gort__fixcalloc(p1->nsamps + 1, sizeof *done);
    if (done == NULL)
        return -ENOMEM;
    p1->collect = false; /* from here on samples are encoded */
    /* Go: p0.Scale(-1), then profile.Merge(p0, p1), which sums the values
     * of samples with one key, p0's first, and drops the samples whose
     * values are all zero. */
    for (uint32_t i = 0; i < p0->nsamps; i++) {
        const psample *s0 = p0->samps[i];
        skey key = {s0->pcs, s0->n, s0->labels, s0->numkey, s0->num};
        uint32_t i1 = find_sample(p1, &key);
        const psample *s1 = i1 != 0 ? p1->samps[i1 - 1] : NULL;
        int64_t v[8];
        bool zero = true;
        for (int j = 0; j < s0->nvals; j++) {
            uint64_t a = s1 != NULL && j < s1->nvals ? (uint64_t)s1->v[j] : 0;
            v[j] = (int64_t)(a - (uint64_t)s0->v[j]);
            zero &= v[j] == 0;
        }
        if (i1 != 0)
            done[i1 - 1] = true;
        if (!zero)
            gort__prof_sample(p1, s0->pcs, s0->n, v, s0->nvals, s0->labels, s0->numkey, s0->num);
    }
    for (uint32_t i = 0; i < p1->nsamps; i++) {
        const psample *s1 = p1->samps[i];
        bool zero = true;
        for (int j = 0; j < s1->nvals; j++)
            zero &= s1->v[j] == 0;
        if (!done[i] && !zero)
            gort__prof_sample(p1, s1->pcs, s1->n, s1->v, s1->nvals, s1->labels, s1->numkey,
                              s1->num);
    }
    gort__fixfree(done);
    /* Go's combineHeaders: the larger period. */
    pb_uint_opt(&p1->body, 12, (uint64_t)(p0->period > p1->period ? p0->period : p1->period));
    return p1->oom ? -ENOMEM : 0;
}

static bool funceq(void *ctx, uint64_t key, uint32_t v) {
    (void)key;
    gort__prof *p = ((void **)ctx)[0];
    const uint64_t *nf = ((void **)ctx)[1];
    return p->funcs[3 * (v - 1)] == nf[0] && p->funcs[3 * (v - 1) + 2] == nf[2];
}

/* A function by its name and file; sysname is its system_name, the
 * symbol as the file has it (a C++ name mangled: pprof takes a
 * system_name equal to the name as one it may demangle and simplify
 * again, and cut "app::(anonymous namespace)::f" to "app::::f"). */
static uint64_t func_id(gort__prof *p, const char *name, const char *sysname, const char *file) {
    uint64_t nf[3] = {(uint64_t)gort__prof_str(p, name), (uint64_t)gort__prof_str(p, sysname),
                      (uint64_t)gort__prof_str(p, file)};
    void *ctx[2] = {p, nf};
    uint32_t *slot = idxmap_slot(&p->funcmap, nf[0] * 1000003u ^ nf[2], funceq, ctx);
    if (slot == NULL) {
        p->oom = true;
        return 0;
    }
    if (*slot != 0)
        return *slot;
    if (p->nfuncs == p->capfuncs) {
        uint32_t cap = p->capfuncs ? p->capfuncs * 2 : 256;
        uint64_t *nfs = gort__fixrealloc(p->funcs, cap * 3 * sizeof *nfs);
        if (nfs == NULL) {
            p->oom = true;
            return 0;
        }
        p->funcs = nfs;
        p->capfuncs = cap;
    }
    p->funcs[3 * p->nfuncs] = nf[0];
    p->funcs[3 * p->nfuncs + 1] = nf[1];
    p->funcs[3 * p->nfuncs + 2] = nf[2];
    p->nfuncs++;
    p->funcmap.n++;
    *slot = p->nfuncs;
    return p->nfuncs;
}

/* The name a frame shows: the symbol without the suffix of a piece GCC
 * split off (f.constprop.0, f.part.0, f.cold), as the dumps print it;
 * unknown code as its address. */
static void frame_name(char *buf, size_t len, const char *name, uintptr_t pc) {
    if (name == NULL) {
        snprintf(buf, len, "%#lx", (unsigned long)pc);
        return;
    }
    size_t n = gort__symtab_namelen(name);
    if (n >= len)
        n = len - 1;
    memcpy(buf, name, n);
    buf[n] = '\0';
}

static void symcb(void *arg, int i, const char *name, const char *file, int line, bool inlined) {
    gort__prof *p = arg;
    ploc *l = &p->locs[i];
    if (l->nline == (int)(sizeof l->lines / sizeof l->lines[0]))
        return;
    char nb[256];
    frame_name(nb, sizeof nb, name, l->pc - 1);
    /* The function's own frame: its symbol's name in the file (an inlined
     * call's DWARF name has none). */
    const char *sysname = inlined || name == NULL ? NULL : gort__symtab_sysname(l->pc - 1);
    l->lines[l->nline].func =
        func_id(p, nb, sysname != NULL && sysname != name ? sysname : nb, file ? file : "");
    l->lines[l->nline].line = line;
    l->nline++;
}

int gort__prof_finish(gort__prof *p, int64_t time_nanos, int64_t duration_nanos, gort__pbuf *out) {
    uintptr_t *look = gort__fixalloc((p->nlocs + 1) * sizeof *look);
    if (look == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < p->nlocs; i++)
        look[i] = p->locs[i].pc - 1; /* the call, not the return */
    gort__symbolize(look, (int)p->nlocs, symcb, p);
    gort__fixfree(look);
    gort__pbuf *b = &p->body;
    for (uint32_t i = 0; i < p->nlocs; i++) {
        gort__pbuf l = {0};
        pb_uint(&l, 1, i + 1);
        pb_uint(&l, 3, p->locs[i].pc - 1);
        for (int j = 0; j < p->locs[i].nline; j++) {
            gort__pbuf ln = {0};
            pb_uint(&ln, 1, p->locs[i].lines[j].func);
            pb_uint_opt(&ln, 2, (uint64_t)p->locs[i].lines[j].line);
            pb_msg(&l, 4, &ln);
        }
        pb_msg(b, 4, &l);
    }
    for (uint32_t i = 0; i < p->nfuncs; i++) {
        gort__pbuf f = {0};
        pb_uint(&f, 1, i + 1);
        pb_uint_opt(&f, 2, p->funcs[3 * i]);
        pb_uint_opt(&f, 3, p->funcs[3 * i + 1]);
        pb_uint_opt(&f, 4, p->funcs[3 * i + 2]);
        pb_msg(b, 5, &f);
    }
    pb_uint_opt(b, 9, (uint64_t)time_nanos);
    pb_uint_opt(b, 10, (uint64_t)duration_nanos);
    /* The string table last: everything above has interned its strings. */
    for (uint32_t i = 0; i < p->nstrs; i++)
        pb_bytes(b, 6, p->strs[i], strlen(p->strs[i]));
    if (b->oom || p->oom)
        return -ENOMEM;
    gort__gzip(out, b->b, b->n);
    return out->oom ? -ENOMEM : 0;
}

int64_t gort__walltime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------------
 * Go's legacy text format: "#\t0xpc\tfunc+0xoff\tfile:line" per frame
 * ------------------------------------------------------------------------ */

typedef struct textctx {
    gort__pbuf *out;
    const uintptr_t *pcs;
} textctx;

static void textcb(void *arg, int i, const char *name, const char *file, int line, bool inlined) {
    textctx *t = arg;
    uintptr_t pc = t->pcs[i] - 1;
    uintptr_t start = 0;
    char nb[256];
    frame_name(nb, sizeof nb, name, pc);
    if (inlined || gort__symtab_lookup(pc, &start, NULL, NULL) != 0)
        start = pc;
    gort__pb_printf(t->out, "#\t0x%lx\t%s+0x%lx\t%s:%d\n", (unsigned long)pc, nb,
                    (unsigned long)(pc - start), file ? file : "?", line);
}

void gort__prof_text_stack(gort__pbuf *out, const uintptr_t *pcs, int n) {
    textctx t = {out, pcs};
    uintptr_t look[GORT__PROF_MAXSTACK];
    int k = n < GORT__PROF_MAXSTACK ? n : GORT__PROF_MAXSTACK;
    for (int i = 0; i < k; i++)
        look[i] = pcs[i] - 1;
    gort__symbolize(look, k, textcb, &t);
}

void gort__prof_text_pcs(gort__pbuf *out, const uintptr_t *pcs, int n) {
    gort__pb_printf(out, " @");
    for (int i = 0; i < n; i++)
        gort__pb_printf(out, " %#lx", (unsigned long)pcs[i]);
    gort__pb_printf(out, "\n");
}
