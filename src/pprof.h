/*
 * pprof.h - what pprof.c, pprof_proto.c and trace.c share: byte buffers,
 * the profile.proto builder, label sets.  Not part of internal.h: only
 * the profilers use it.
 */
#ifndef GORT_PPROF_H
#define GORT_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames kept per sample (Go's maxCPUProfStack and runtime/pprof's 64). */
#define GORT__PROF_MAXSTACK 64

/* A growable byte buffer; oom is set (and the buffer left as it was)
 * when it cannot grow. */
typedef struct gort__pbuf {
    uint8_t *b;
    size_t n, cap;
    bool oom;
} gort__pbuf;

void gort__pb_grow(gort__pbuf *b, size_t more);
void gort__pb_put(gort__pbuf *b, const void *p, size_t n);
void gort__pb_printf(gort__pbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gort__pb_varint(gort__pbuf *b, uint64_t v);
void gort__pb_free(gort__pbuf *b);
/* Appends the gzip stream of p[0..n) to out (stored deflate blocks). */
void gort__gzip(gort__pbuf *out, const uint8_t *p, size_t n);
/* write(2) all of p, retrying on EINTR: 0 or -errno.  A nonblocking fd
 * (every fd gort makes is one) whose buffer is full - a pipe or socket
 * with a slower reader - is waited for when park (no runtime lock held:
 * the calling goroutine parks in gort_wait_fd, as a blocking fd's write
 * waits); without park it is -EAGAIN. */
int gort__write_all(int fd, const uint8_t *p, size_t n, bool park);
int64_t gort__walltime_ns(void);

/* An immutable, interned set of profiler labels: n pairs kv[2i] = key,
 * kv[2i+1] = value, sorted by key.  Never freed (pprof.c), so that a
 * signal handler may read a goroutine's set at any time. */
typedef struct gort__labelset {
    int n;
    const char **kv;
} gort__labelset;

/* A profile.proto under construction. */
typedef struct gort__prof gort__prof;
gort__prof *gort__prof_new(void);
void gort__prof_free(gort__prof *p);
int64_t gort__prof_str(gort__prof *p, const char *s);
/* Profile field `field` (1 sample_type, 11 period_type) as a ValueType. */
void gort__prof_valuetype(gort__prof *p, int field, const char *type, const char *unit);
/* A scalar Profile field (12 period, 14 default_sample_type, ...). */
void gort__prof_int(gort__prof *p, int field, int64_t v);
/* One sample: pcs are return addresses (a leaf's exact pc + 1), leaf
 * first; numkey/num an optional numeric label ("bytes"). */
void gort__prof_sample(gort__prof *p, const uintptr_t *pcs, int n, const int64_t *vals, int nvals,
                       const gort__labelset *labels, const char *numkey, int64_t num);
/* Makes p keep its samples (summed by key: stack, labels, numeric label)
 * and its period (field 12) instead of encoding them: a snapshot for
 * gort__prof_delta.  Call it before any sample. */
void gort__prof_collect(gort__prof *p);
/* Encodes into the collecting p1 the samples of p1 - p0 (two collecting
 * profiles of one kind), as net/http/pprof's delta: p0's values scaled by
 * -1 and merged with p1's by key, the samples left all zero dropped, the
 * larger period.  p1 then encodes as usual; p0 is only read.  0 or
 * -ENOMEM. */
int gort__prof_delta(gort__prof *p1, const gort__prof *p0);
/* Symbolises the locations, appends functions, strings and times, and
 * the gzip of the whole to out.  0 or -ENOMEM. */
int gort__prof_finish(gort__prof *p, int64_t time_nanos, int64_t duration_nanos, gort__pbuf *out);
/* Legacy text: " @ 0x.. 0x..\n" and the "#\t..." frame lines. */
void gort__prof_text_pcs(gort__pbuf *out, const uintptr_t *pcs, int n);
void gort__prof_text_stack(gort__pbuf *out, const uintptr_t *pcs, int n);

/* traceback.c */
int gort__traceback_pcs(struct g *gp, uintptr_t *pcs, int max);
int gort__traceback_fp(uintptr_t fp, uintptr_t lo, uintptr_t hi, uintptr_t *pcs, int max);
/* The return addresses above an interrupted pc (sp, fp: the interrupted
 * context's), within [lo, hi): as gort__traceback_fp, led by the return
 * address into the caller when pc's function has built no frame (a leaf,
 * which GCC builds without one even with frame pointers).  Async-signal-
 * safe, for the profiling signal's handler. */
int gort__traceback_sig(uintptr_t pc, uintptr_t fp, uintptr_t sp, uintptr_t lo, uintptr_t hi,
                        uintptr_t *pcs, int max);
void gort__symbolize(const uintptr_t *pcs, int n,
                     void (*fn)(void *arg, int i, const char *name, const char *file, int line,
                                bool inlined),
                     void *arg);

/* pprof.c: the calling goroutine's (or g0's) stack (return addresses; none on
 * a thread of its own, sysmon's or one outside the runtime), skipping
 * skip frames above the caller's caller. */
int gort__prof_callers(int skip, uintptr_t *pcs, int max);

#endif /* GORT_PPROF_H */
