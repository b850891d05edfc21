/*
 * heap_torture_test.c - the collected heap under load (issue 11): workers
 * on every P allocate object graphs (trees with shared nodes and cycles,
 * scanned and noscan objects of every size class and large ones), link
 * them, hand them to each other through channels (buffered and not), drop
 * them, and verify every graph they still hold: each node carries its id,
 * a checksum of its payload and of its children's ids, and a "finalized"
 * word its finalizer sets.  A premature free shows as a bad checksum (freed
 * memory is reused and zeroed) or as a finalizer that ran on a node still
 * reachable; either fails the test with the seed.
 *
 * Meanwhile collections start on their own (the pacer) and explicitly
 * (gort_gc from some workers), GOGC and GOMAXPROCS change (the latter
 * stops the world, also while a collection marks concurrently), and
 * gort_free_os_memory returns pages to the OS under the workers' feet.
 *
 * GORT_TORTURE_SECONDS (default 20 s, 10 s in sanitizer builds) sets the
 * duration; GORT_TORTURE_SEED repeats a program shape.  `make stress` runs
 * it on the release build after the scheduler torture.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed;

#define GT_CHECK(cond, what)                              \
    do {                                                  \
        if (!(cond))                                      \
            GT_FAIL("%s (seed %" PRIu64 ")", what, seed); \
    } while (0)

static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum { MAXKIDS = 4, SLOTS = 64, NCHAN = 4 };

typedef struct hnode {
    uint64_t id;
    uint64_t sum;         /* check(id, kids' ids, blob) */
    _Atomic uint64_t fin; /* set by the finalizer: must never be seen */
    struct hnode *kid[MAXKIDS];
    uint8_t *blob; /* noscan bytes, blob_len of them */
    size_t blob_len;
    uint64_t pad[]; /* to vary the size class */
} hnode;

static _Atomic uint64_t next_id = 1;
static _Atomic uint64_t nodes_made, nodes_checked, finalizers_ran;

static uint64_t node_sum(const hnode *n) {
    uint64_t s = n->id * 0x9e3779b97f4a7c15ull ^ n->blob_len;
    for (int i = 0; i < MAXKIDS; i++)
        s = s * 31 + (n->kid[i] ? n->kid[i]->id : 0);
    for (size_t i = 0; i < n->blob_len; i += 61)
        s = s * 131 + n->blob[i];
    return s;
}

static void node_fin(void *p) {
    hnode *n = p;
    atomic_store(&n->fin, 1);
    atomic_fetch_add(&finalizers_ran, 1);
}

static hnode *new_node(uint64_t *rs) {
    uint64_t r = rnd(rs);
    size_t extra = (r % 32 == 0) ? (size_t)(r >> 8) % 5000 : (size_t)(r >> 8) % 64;
    hnode *n = gort_new(sizeof *n + extra * sizeof(uint64_t));
    GT_CHECK(n->id == 0 && n->blob == NULL, "gort_new: object not zeroed");
    n->id = atomic_fetch_add(&next_id, 1);
    size_t bl = (r >> 20) % 64 == 0 ? (size_t)(r >> 24) % 70000 : (size_t)(r >> 24) % 200;
    if (bl > 0) {
        n->blob = gort_new_noscan(bl);
        for (size_t i = 0; i < bl; i++) {
            GT_CHECK(n->blob[i] == 0, "gort_new_noscan: object not zeroed");
            n->blob[i] = (uint8_t)(n->id + i);
        }
        n->blob_len = bl;
    }
    if ((r >> 40) % 16 == 0)
        gort_set_finalizer(n, node_fin);
    atomic_fetch_add(&nodes_made, 1);
    return n;
}

/* A random graph of about size nodes, reusing earlier nodes as kids
 * (sharing) and sometimes pointing back (cycles).  The sums are computed
 * once all kids are set. */
static hnode *build(uint64_t *rs, int size) {
    /* On the collected heap (scanned): until linked, the nodes are held
     * only here. */
    hnode **all = gort_new((size_t)size * sizeof *all);
    for (int i = 0; i < size; i++)
        all[i] = new_node(rs);
    for (int i = 0; i < size; i++) {
        for (int k = 0; k < MAXKIDS; k++) {
            uint64_t r = rnd(rs);
            if (r % 3 == 0)
                continue;
            int j = i + 1 + (int)((r >> 8) % 4);
            if (j < size)
                all[i]->kid[k] = all[j];
            else if ((r >> 16) % 8 == 0)
                all[i]->kid[k] = all[(r >> 24) % (uint64_t)size]; /* a cycle */
        }
    }
    /* Make every node reachable from all[0]. */
    for (int i = 1; i < size; i++) {
        hnode *p = all[(i - 1) / 2 * 1];
        if (p->kid[MAXKIDS - 1] == NULL)
            p->kid[MAXKIDS - 1] = all[i];
        else
            all[i - 1]->kid[0] = all[i];
    }
    for (int i = 0; i < size; i++)
        all[i]->sum = node_sum(all[i]);
    return all[0];
}

/* Verifies every node reachable from n (iteratively, with a malloc'd
 * stack: not a root, the graph itself holds every node). */
static uint64_t verify(hnode *root) {
    size_t cap = 256, len = 0;
    hnode **st = malloc(cap * sizeof *st);
    /* Visited set: ids in a small open hash. */
    size_t hcap = 1024, hlen = 0;
    uint64_t *seen = calloc(hcap, sizeof *seen);
    GT_CHECK(st != NULL && seen != NULL, "malloc");
    st[len++] = root;
    uint64_t count = 0;
    while (len > 0) {
        hnode *n = st[--len];
        if (n == NULL)
            continue;
        if (n->id == 0 || n->sum != node_sum(n) || atomic_load(&n->fin) != 0) {
            fprintf(stderr,
                    "heap_torture: seed=%" PRIu64 ": node %p damaged (id %" PRIu64 ", fin %" PRIu64
                    "): premature free\n",
                    seed, (void *)n, n->id, (uint64_t)atomic_load(&n->fin));
            GT_FAIL("premature free (seed %" PRIu64 ")", seed);
        }
        size_t h = (size_t)(n->id * 0x9e3779b97f4a7c15ull >> 20) & (hcap - 1);
        bool dup = false;
        while (seen[h] != 0) {
            if (seen[h] == n->id) {
                dup = true;
                break;
            }
            h = (h + 1) & (hcap - 1);
        }
        if (dup)
            continue;
        seen[h] = n->id;
        if (++hlen * 2 > hcap) {
            size_t ncap = hcap * 2;
            uint64_t *ns = calloc(ncap, sizeof *ns);
            GT_CHECK(ns != NULL, "malloc");
            for (size_t i = 0; i < hcap; i++) {
                if (seen[i] == 0)
                    continue;
                size_t j = (size_t)(seen[i] * 0x9e3779b97f4a7c15ull >> 20) & (ncap - 1);
                while (ns[j] != 0)
                    j = (j + 1) & (ncap - 1);
                ns[j] = seen[i];
            }
            free(seen);
            seen = ns;
            hcap = ncap;
        }
        count++;
        for (int k = 0; k < MAXKIDS; k++) {
            if (len == cap) {
                cap *= 2;
                st = realloc(st, cap * sizeof *st);
                GT_CHECK(st != NULL, "malloc");
            }
            st[len++] = n->kid[k];
        }
    }
    free(st);
    free(seen);
    atomic_fetch_add(&nodes_checked, count);
    return count;
}

/* ------------------------------------------------------------------ workers */

typedef struct shared {
    gort_chan *ch[NCHAN]; /* of hnode *; some buffered, one unbuffered */
    int64_t deadline;
    _Atomic int stop;
    gort_waitgroup wg;
    _Atomic uint64_t passed;
} shared;

typedef struct worker {
    shared *sh;
    uint64_t rs;
    hnode *slots[SLOTS]; /* malloc'd memory, registered as a root */
} worker;

static void work(void *arg) {
    worker *w = arg;
    shared *sh = w->sh;
    while (!atomic_load(&sh->stop)) {
        uint64_t r = rnd(&w->rs);
        int s = (int)(r % SLOTS);
        switch ((r >> 8) % 11) {
        case 0:
        case 1:
        case 2: /* build a graph into a slot (dropping what was there) */
            w->slots[s] = build(&w->rs, 1 + (int)((r >> 16) % 300));
            break;
        case 3: { /* link two graphs under a new node (nodes never change once
                   * built: graphs are shared read-only between workers) */
            hnode *a = new_node(&w->rs);
            a->kid[0] = w->slots[s];
            a->kid[1] = w->slots[(s + 1) % SLOTS];
            a->sum = node_sum(a);
            w->slots[s] = a;
            break;
        }
        case 4: /* drop */
        case 10:
            w->slots[s] = NULL;
            break;
        case 5: { /* hand a graph to someone else */
            gort_chan *c = sh->ch[(r >> 16) % NCHAN];
            hnode *g = w->slots[s];
            if (g != NULL && gort_chan_trysend(c, &g)) {
                w->slots[s] = NULL;
                atomic_fetch_add(&sh->passed, 1);
            }
            break;
        }
        case 6: { /* take one */
            gort_chan *c = sh->ch[(r >> 16) % NCHAN];
            hnode *g = NULL;
            bool ok;
            if (gort_chan_tryrecv(c, &g, &ok) && ok && g != NULL) {
                verify(g);
                w->slots[s] = g;
            }
            break;
        }
        case 7:
        case 8: /* verify */
            if (w->slots[s])
                verify(w->slots[s]);
            break;
        case 9:
            if ((r >> 16) % 50 == 0)
                gort_gc();
            else if ((r >> 16) % 400 == 1)
                gort_free_os_memory();
            else if ((r >> 16) % 200 == 2)
                gort_set_gc_percent(25 + (int)((r >> 24) % 200));
            else if ((r >> 16) % 300 == 3)
                gort_gomaxprocs(1 + (int)((r >> 24) % 4)); /* stops the world, maybe mid-mark */
            else
                gort_yield();
            break;
        }
        if (gort_nanotime() > sh->deadline)
            atomic_store(&sh->stop, 1);
    }
    for (int i = 0; i < SLOTS; i++)
        if (w->slots[i])
            verify(w->slots[i]);
    gort_wg_done(&sh->wg);
}

/* Takes graphs off the unbuffered channel (blocking receives), verifies
 * and drops them. */
static void taker(void *arg) {
    shared *sh = arg;
    hnode *g;
    while (gort_chan_recv(sh->ch[0], &g))
        verify(g);
}

static int torture_main(void *arg) {
    (void)arg;
    double secs = 20;
    const char *d = getenv("GORT_TORTURE_SECONDS");
    if (d && *d)
        secs = atof(d);
    else if (gt_scale() > 1)
        secs = 10;
    shared *sh = calloc(1, sizeof *sh);
    sh->ch[0] = gort_chan_make(sizeof(hnode *), 0);
    for (int i = 1; i < NCHAN; i++)
        sh->ch[i] = gort_chan_make(sizeof(hnode *), (size_t)(1 << (2 * i)));
    sh->deadline = gort_nanotime() + (int64_t)(secs * 1e9);
    int nw = 4 * gort_gomaxprocs(0);
    worker *ws = calloc((size_t)nw, sizeof *ws);
    /* The workers' slots live in malloc'd memory: registered as roots. */
    ASSERT_EQ(gort_gc_add_roots(ws, (size_t)nw * sizeof *ws), 0);
    ASSERT_EQ(gort_go(taker, sh), 0);
    gort_wg_add(&sh->wg, nw);
    for (int i = 0; i < nw; i++) {
        ws[i].sh = sh;
        ws[i].rs = seed ^ ((uint64_t)i * 0xc2b2ae3d27d4eb4full);
        ASSERT_EQ(gort_go(work, &ws[i]), 0);
    }
    gort_wg_wait(&sh->wg);
    for (int i = 1; i < NCHAN; i++) {
        hnode *g;
        bool ok;
        while (gort_chan_tryrecv(sh->ch[i], &g, &ok) && ok)
            verify(g);
    }
    gort_stats st;
    gort_read_stats(&st);
    fprintf(stderr,
            "heap_torture: seed=%" PRIu64 " nodes=%" PRIu64 " checked=%" PRIu64 " passed=%" PRIu64
            " finalizers=%" PRIu64 " gcs=%" PRIu64 " heap_sys=%" PRIu64 "MiB\n",
            seed, (uint64_t)atomic_load(&nodes_made), (uint64_t)atomic_load(&nodes_checked),
            (uint64_t)atomic_load(&sh->passed), (uint64_t)atomic_load(&finalizers_ran), st.num_gc,
            st.heap_sys_bytes >> 20);
    ASSERT_TRUE(st.num_gc > 0);
    ASSERT_TRUE(atomic_load(&nodes_checked) > 0);
    ASSERT_EQ(gort_gc_remove_roots(ws, (size_t)nw * sizeof *ws), 0);
    return 0;
}

TEST(graphs) {
    const char *s = getenv("GORT_TORTURE_SEED");
    seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)gort_nanotime();
    fprintf(stderr, "heap_torture: seed=%" PRIu64 "\n", seed);
    ASSERT_EQ(gort_main(torture_main, NULL), 0);
}

/* The same with the stop-the-world collector (GORTDEBUG=gcstw=1). */
TEST(graphs_stw) {
    setenv("GORTDEBUG", "gcstw=1", 1);
    const char *s = getenv("GORT_TORTURE_SEED");
    seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)gort_nanotime();
    fprintf(stderr, "heap_torture: seed=%" PRIu64 " (stop-the-world mark)\n", seed);
    ASSERT_EQ(gort_main(torture_main, NULL), 0);
}

GT_MAIN()
