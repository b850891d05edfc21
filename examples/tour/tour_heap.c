/*
 * tour_heap.c - the tour's section on the collected heap.
 *
 *     void tour_heap(int smoke);
 *
 * Call it from a goroutine.  A pipeline of goroutines passes messages
 * allocated with gort_new through channels - producers, a stage that
 * wraps every message in a new one, consumers that check and drop them -
 * and nobody ever frees anything: the collector does.  While it runs, a
 * watcher prints a line per collection from gort_read_stats (what
 * GORTDEBUG=gctrace=1 prints in Go's format on stderr), and at the end the
 * MemStats figures.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gort.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

void tour_heap(int smoke);

typedef struct msg {
    int64_t seq;
    char *text;        /* gort_new_noscan: bytes, never scanned */
    struct msg *inner; /* the message this one wraps */
} msg;

typedef struct pipeline {
    gort_chan *raw, *wrapped; /* of msg * */
    int64_t per_producer;
    gort_waitgroup producers, stage, consumers;
    _Atomic int64_t received, bad;
    _Atomic int done;
} pipeline;

static void producer(void *arg) {
    pipeline *pl = arg;
    for (int64_t i = 0; i < pl->per_producer; i++) {
        msg *m = gort_new(sizeof *m);
        m->seq = i;
        m->text = gort_new_noscan(48);
        snprintf(m->text, 48, "message %lld", (long long)i);
        gort_chan_send(pl->raw, &m);
    }
    gort_wg_done(&pl->producers);
}

static void wrapper(void *arg) {
    pipeline *pl = arg;
    msg *m;
    while (gort_chan_recv(pl->raw, &m)) {
        msg *w = gort_new(sizeof *w);
        w->seq = m->seq;
        w->inner = m;
        w->text = gort_new_noscan(64);
        snprintf(w->text, 64, "wrapped(%s)", m->text);
        gort_chan_send(pl->wrapped, &w);
    }
    gort_wg_done(&pl->stage);
}

static void consumer(void *arg) {
    pipeline *pl = arg;
    msg *w;
    char want[64];
    while (gort_chan_recv(pl->wrapped, &w)) {
        snprintf(want, sizeof want, "wrapped(message %lld)", (long long)w->seq);
        if (w->inner == NULL || w->inner->seq != w->seq || strcmp(w->text, want) != 0)
            atomic_fetch_add(&pl->bad, 1);
        atomic_fetch_add(&pl->received, 1);
        /* dropped here: no free */
    }
    gort_wg_done(&pl->consumers);
}

/* Prints a line for every cycle that ended since the last look. */
static void watch(void *arg) {
    pipeline *pl = arg;
    gort_stats s;
    uint64_t seen = 0;
    int printed = 0;
    gort_read_stats(&s);
    seen = s.num_gc;
    while (!atomic_load(&pl->done)) {
        gort_sleep(5 * 1000 * 1000);
        gort_read_stats(&s);
        for (; seen < s.num_gc; seen++) {
            if (printed++ < 6)
                printf("    gc %-4llu pause %7.3f ms   heap %5.1f MB in use, next gc at %5.1f MB\n",
                       (unsigned long long)seen + 1, s.pause_ns[seen % 256] / 1e6,
                       s.heap_alloc_bytes / 1048576.0, s.next_gc_bytes / 1048576.0);
        }
    }
    if (printed > 6)
        printf("    ... and %d more collections\n", printed - 6);
}

void tour_heap(int smoke) {
    pipeline pl = {.per_producer = smoke ? 20000 : 500000};
    pl.raw = gort_chan_make(sizeof(msg *), 64);
    pl.wrapped = gort_chan_make(sizeof(msg *), 64);
    enum { NPROD = 4, NCONS = 2 };
    gort_stats before, after;
    gort_read_stats(&before);
    printf("  %d producers -> wrapper -> %d consumers, %lld gort_new messages each way,\n"
           "  nobody calls free:\n\n",
           NPROD, NCONS, (long long)(NPROD * pl.per_producer));
    gort_waitgroup watcher = GORT_WAITGROUP_INIT;
    gort_wg_add(&pl.producers, NPROD);
    gort_wg_add(&pl.stage, 1);
    gort_wg_add(&pl.consumers, NCONS);
    gort_wg_add(&watcher, 1);
    for (int i = 0; i < NPROD; i++)
        gort_go(producer, &pl);
    gort_go(wrapper, &pl);
    for (int i = 0; i < NCONS; i++)
        gort_go(consumer, &pl);
    gort_go(watch, &pl);
    gort_wg_wait(&pl.producers);
    gort_chan_close(pl.raw);
    gort_wg_wait(&pl.stage);
    gort_chan_close(pl.wrapped);
    gort_wg_wait(&pl.consumers);
    gort_gc(); /* runtime.GC(): a full cycle, sweep included */
    atomic_store(&pl.done, 1);
    gort_sleep(10 * 1000 * 1000);
    gort_read_stats(&after);
    printf("\n  received %lld messages, %lld damaged\n", (long long)atomic_load(&pl.received),
           (long long)atomic_load(&pl.bad));
    printf("  MemStats: Mallocs %llu, Frees %llu, HeapObjects %llu, NumGC %llu\n",
           (unsigned long long)(after.mallocs - before.mallocs),
           (unsigned long long)(after.frees - before.frees), (unsigned long long)after.heap_objects,
           (unsigned long long)(after.num_gc - before.num_gc));
    printf("            HeapAlloc %.1f MB, HeapSys %.1f MB, HeapReleased %.1f MB, "
           "TotalAlloc %.1f MB,\n            PauseTotal %.2f ms, GCCPUFraction %.4f\n",
           after.heap_alloc_bytes / 1048576.0, after.heap_sys_bytes / 1048576.0,
           after.heap_released_bytes / 1048576.0,
           (after.total_alloc_bytes - before.total_alloc_bytes) / 1048576.0,
           (after.pause_total_ns - before.pause_total_ns) / 1e6, after.gc_cpu_fraction);
    gort_chan_free(pl.raw);
    gort_chan_free(pl.wrapped);
}
