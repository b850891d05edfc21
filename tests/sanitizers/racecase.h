/*
 * racecase.h - the harness of the race-detector suite (tests/sanitizers/,
 * run by scripts/sanitizers.sh): C ports of the cases of Go's
 * src/runtime/race/testdata, built as a user builds (-fsanitize=thread and
 * pkg-config gort against the installed library).
 *
 *   RACE(name) { ... }     a case ThreadSanitizer must report
 *   NORACE(name) { ... }   a case that must run silent
 *
 * `prog -list` prints "race NAME" / "norace NAME" lines; `prog NAME` runs
 * one case as the main goroutine and exits 0.  GO(fn, arg) is Go's `go`.
 * Variables shared by a case's goroutines are file-scope statics (Go's
 * captured locals); each case runs in a process of its own.
 */
#ifndef RACECASE_H
#define RACECASE_H

#include <gort.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct racecase {
    const char *name;
    int race;
    void (*fn)(void);
};
static struct racecase rc_cases[128];
static int rc_ncases;

static void rc_register(const char *name, int race, void (*fn)(void)) {
    if (rc_ncases == (int)(sizeof rc_cases / sizeof rc_cases[0]))
        abort();
    rc_cases[rc_ncases++] = (struct racecase){name, race, fn};
}

#define RC_CASE(kind, name)                                        \
    static void name(void);                                        \
    __attribute__((constructor)) static void rc_reg_##name(void) { \
        rc_register(#name, kind, name);                            \
    }                                                              \
    static void name(void)
#define RACE(name) RC_CASE(1, name)
#define NORACE(name) RC_CASE(0, name)

#define GO(fn, arg)                            \
    do {                                       \
        if (gort_go((fn), (void *)(arg)) != 0) \
            abort();                           \
    } while (0)

/* Channels of bools and ints, as the Go tests use them. */
static inline gort_chan *mkchan(size_t cap) {
    return gort_chan_make(sizeof(int), cap);
}
static inline void csend(gort_chan *c, int v) {
    gort_chan_send(c, &v);
}
static inline int crecv(gort_chan *c) {
    int v = 0;
    gort_chan_recv(c, &v);
    return v;
}
static inline void msleep(int ms) {
    gort_sleep((int64_t)ms * 1000000);
}

static int rc_main(void *arg) {
    ((struct racecase *)arg)->fn();
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "-list") == 0) {
        for (int i = 0; i < rc_ncases; i++)
            printf("%s %s\n", rc_cases[i].race ? "race" : "norace", rc_cases[i].name);
        return 0;
    }
    for (int i = 0; argc == 2 && i < rc_ncases; i++)
        if (strcmp(argv[1], rc_cases[i].name) == 0)
            return gort_main(rc_main, &rc_cases[i]);
    fprintf(stderr, "usage: %s -list | CASE\n", argv[0]);
    return 2;
}

#endif
