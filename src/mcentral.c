/*
 * mcentral.c - the spans of one span class.  Mirrors runtime/mcentral.go.
 *
 * Go keeps four spanSets per class: partial and full, each swept and
 * unswept, indexed by sweepgen/2 % 2 so that advancing sweepgen by 2 at the
 * end of a cycle turns every swept set into an unswept one at no cost.
 * Here they are singly linked stacks under the central's lock (a span
 * leaves one only from its head).  A span is on at most one list; a span
 * in an mcache or being swept is on none.
 */
#include "malloc.h"

static mspan **list_of(mcentral *c, int which) {
    return which < 2 ? &c->partial[which] : &c->full[which - 2];
}

static void push(mcentral *c, int which, mspan *s) {
    mspan **head = list_of(c, which);
    s->next = *head;
    *head = s;
}

static mspan *pop(mcentral *c, int which) {
    mspan **head = list_of(c, which);
    mspan *s = *head;
    if (s == NULL)
        return NULL;
    *head = s->next;
    s->next = NULL;
    return s;
}

static inline uint32_t sweepgen_now(void) {
    /* Acquire: pairs with the collector's release store of the new sweepgen
     * (mgc.c), after which the lists it flipped are ours to sweep. */
    return atomic_load_explicit(&gort__mheap->sweepgen, memory_order_acquire);
}

static inline bool claim(mspan *s, uint32_t sg) {
    uint32_t want = sg - 2;
    /* acq_rel: the claim orders our sweep after the collector's marks
     * (ordered by the stop-the-world already) and publishes nothing yet;
     * gort__sweep_span's release store of sg publishes the sweep. */
    return atomic_compare_exchange_strong_explicit(&s->sweepgen, &want, sg - 1,
                                                   memory_order_acq_rel, memory_order_relaxed);
}

void gort__mcentral_put_swept(mcentral *c, mspan *s) {
    uint32_t sg = sweepgen_now();
    /* A span with an older sweepgen would never be claimed for sweeping
     * again (its mark bits would stay set): the callers' critical sections
     * (gort__acquirem) keep a cycle from flipping sweepgen while they
     * hold a span off the lists. */
    GORT_CHECK(atomic_load_explicit(&s->sweepgen, memory_order_relaxed) == sg,
               "mcentral: span put on a swept list with a stale sweepgen");
    int sw = (int)(sg / 2 % 2);
    gort__lock(&c->lock);
    push(c, s->alloccount == s->nelems ? 2 + sw : sw, s);
    gort__unlock(&c->lock);
}

void gort__mcentral_uncache(mcentral *c, mspan *s) {
    gort__mcentral_put_swept(c, s);
}

mspan *gort__mcentral_take_unswept(mcentral *c) {
    uint32_t sg = sweepgen_now();
    int un = 1 - (int)(sg / 2 % 2);
    gort__lock(&c->lock);
    for (;;) {
        mspan *s = pop(c, un);
        if (s == NULL)
            s = pop(c, 2 + un);
        if (s == NULL)
            break;
        if (claim(s, sg)) {
            gort__unlock(&c->lock);
            return s;
        }
        /* Not unswept after all (cannot happen while every unswept span
         * is claimed off a list under this lock); keep it as swept. */
        push(c, s->alloccount == s->nelems ? 2 + (1 - un) : 1 - un, s);
    }
    gort__unlock(&c->lock);
    return NULL;
}

mspan *gort__mcentral_cache(mcentral *c) {
    uint32_t sg = sweepgen_now();
    int sw = (int)(sg / 2 % 2), un = 1 - sw;
    mspan *s;
    gort__lock(&c->lock);
    if ((s = pop(c, sw)) != NULL)
        goto havespan_locked;
    /* Partial unswept spans: sweep one and use it (it had room before the
     * sweep and can only have gained some). */
    while ((s = pop(c, un)) != NULL) {
        if (claim(s, sg)) {
            gort__unlock(&c->lock);
            gort__sweep_span(s, true);
            goto havespan;
        }
    }
    /* Full unswept spans: sweeping may free some objects (Go tries 100). */
    for (int tries = 0; tries < 100 && (s = pop(c, 2 + un)) != NULL; tries++) {
        if (!claim(s, sg))
            continue;
        gort__unlock(&c->lock);
        gort__sweep_span(s, true);
        if (s->alloccount < s->nelems)
            goto havespan;
        gort__lock(&c->lock);
        push(c, 2 + sw, s);
    }
    gort__unlock(&c->lock);
    /* Grow: a fresh span from the page heap. */
    {
        uint8_t cls = c->spc >> 1;
        uintptr_t size = gort__class_to_size[cls];
        uintptr_t npages = gort__class_to_allocnpages[cls];
        s = gort__mheap_alloc(npages, c->spc, size, (uint32_t)(npages * GORT__HEAP_PAGE / size));
    }
    goto havespan;
havespan_locked:
    gort__unlock(&c->lock);
havespan:
    gort__span_refill_alloccache(s, s->freeindex / 64);
    s->alloccache >>= s->freeindex % 64;
    return s;
}
