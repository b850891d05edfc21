/*
 * conn_test.c - connection handles (issue 15): a stale handle after close
 * fails with -EBADF while a new connection reuses its fd number, and never
 * reaches that connection (also under concurrent use and close); a close
 * wakes blocked calls; local and remote addresses and their strings; UDP
 * read_from/write_to with deadlines; Unix-domain stream sockets (file and
 * abstract); tcp4/tcp6; pipes and adopted fds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gt.h"
#include "gort.h"
#include "gt_gort.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MS GT_MS

static int port_of(gort_conn c) {
    gort_addr a;
    ASSERT_EQ(gort_conn_local_addr(c, &a), 0);
    if (a.sa.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&a.sa)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&a.sa)->sin6_port);
}

static void addr_str(gort_conn c, bool remote, char *buf) {
    gort_addr a;
    ASSERT_EQ(remote ? gort_conn_remote_addr(c, &a) : gort_conn_local_addr(c, &a), 0);
    ASSERT_GE(gort_addr_string(&a, buf, GORT_ADDR_STRLEN), 0);
}

/* A listener on 127.0.0.1 and a connected pair through it. */
static void tcp_pair(gort_conn *l, gort_conn *a, gort_conn *b) {
    ASSERT_EQ(gort_conn_listen(l, "tcp", "127.0.0.1:0"), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port_of(*l));
    ASSERT_EQ(gort_conn_dial(a, "tcp", addr, gort_nanotime() + tmo(10)), 0);
    ASSERT_EQ(gort_conn_accept(*l, b), 0);
}

static void read_exact(gort_conn c, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = gort_conn_read(c, buf + got, n - got);
        ASSERT_GT(r, 0);
        got += (size_t)r;
    }
}

/* ------------------------------------------------------------------ stale */

static int stale_main(void *arg) {
    (void)arg;
    gort_conn l, a, b, c, d;
    tcp_pair(&l, &a, &b);
    int afd = gort_conn_fd(a);
    ASSERT_GE(afd, 0);
    gort_conn stale = a; /* a copy, as another goroutine would hold */
    ASSERT_EQ(gort_conn_close(a), 0);
    /* The next socket gets the lowest free number: a's. */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port_of(l));
    ASSERT_EQ(gort_conn_dial(&c, "tcp", addr, 0), 0);
    ASSERT_EQ(gort_conn_fd(c), afd);
    ASSERT_EQ(gort_conn_accept(l, &d), 0);
    /* Every call with the stale handle fails; the new connection is
     * untouched. */
    char buf[8];
    gort_addr ad;
    ASSERT_EQ(gort_conn_write(stale, "stale", 5), -EBADF);
    ASSERT_EQ(gort_conn_read(stale, buf, sizeof buf), -EBADF);
    ASSERT_EQ(gort_conn_set_deadline(stale, 1, 1), -EBADF);
    ASSERT_EQ(gort_conn_local_addr(stale, &ad), -EBADF);
    ASSERT_EQ(gort_conn_remote_addr(stale, &ad), -EBADF);
    ASSERT_EQ(gort_conn_fd(stale), -EBADF);
    ASSERT_EQ(gort_conn_close_write(stale), -EBADF);
    ASSERT_EQ(gort_conn_read_from(stale, buf, sizeof buf, NULL), -EBADF);
    ASSERT_EQ(gort_conn_close(stale), -EBADF);
    ASSERT_EQ(gort_conn_write(c, "fresh", 5), 5);
    read_exact(d, buf, 5);
    ASSERT_EQ(memcmp(buf, "fresh", 5), 0);
    /* Nothing of "stale" arrived: the next bytes are the next write. */
    ASSERT_EQ(gort_conn_write(c, "!", 1), 1);
    read_exact(d, buf, 1);
    ASSERT_EQ(buf[0], '!');
    /* The zero handle and handles of fds never opened are invalid. */
    gort_conn zero = {0};
    ASSERT_EQ(gort_conn_write(zero, "x", 1), -EBADF);
    ASSERT_EQ(gort_conn_close(zero), -EBADF);
    gort_conn junk = {(uint64_t)7 << 32 | 1000000};
    ASSERT_EQ(gort_conn_read(junk, buf, 1), -EBADF);
    ASSERT_EQ(gort_conn_close(b), 0);
    ASSERT_EQ(gort_conn_close(c), 0);
    ASSERT_EQ(gort_conn_close(d), 0);
    ASSERT_EQ(gort_conn_close(l), 0);
    return 0;
}

TEST(stale_handle_ebadf_while_number_reused) {
    run(stale_main, NULL);
}

/* Writers hammer handles while another goroutine closes them and dials
 * new connections that reuse the numbers: no byte of an old connection's
 * writer ever reaches a new connection's peer. */
enum { CHURN_ROUNDS = 200 };

typedef struct churn {
    _Atomic uint64_t id; /* the writer's handle (gort_conn._id) */
    _Atomic int stop;
    _Atomic long ebadf;
} churn;

static void churn_writer(void *arg) {
    churn *w = arg;
    while (!atomic_load(&w->stop)) {
        gort_conn c = {atomic_load(&w->id)};
        if (gort_conn_write(c, "o", 1) == -EBADF)
            atomic_fetch_add(&w->ebadf, 1);
        gort_yield();
    }
}

static int churn_main(void *arg) {
    (void)arg;
    gort_conn l, c, peer;
    ASSERT_EQ(gort_conn_listen(&l, "tcp", "127.0.0.1:0"), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port_of(l));
    ASSERT_EQ(gort_conn_dial(&c, "tcp", addr, 0), 0);
    ASSERT_EQ(gort_conn_accept(l, &peer), 0);
    churn w = {.id = c._id};
    go(churn_writer, &w);
    long reused = 0;
    for (int i = 0; i < CHURN_ROUNDS; i++) {
        gort_conn old = {atomic_load(&w.id)};
        int fd = gort_conn_fd(old);
        ASSERT_EQ(gort_conn_close(old), 0);
        ASSERT_EQ(gort_conn_close(peer), 0);
        /* The writer keeps writing on the stale handle meanwhile. */
        gort_conn fresh, fpeer;
        ASSERT_EQ(gort_conn_dial(&fresh, "tcp", addr, 0), 0);
        ASSERT_EQ(gort_conn_accept(l, &fpeer), 0);
        reused += gort_conn_fd(fresh) == fd || gort_conn_fd(fpeer) == fd;
        /* The new pair carries only what we write. */
        ASSERT_EQ(gort_conn_write(fresh, "n", 1), 1);
        char ch;
        ASSERT_EQ(gort_conn_read(fpeer, &ch, 1), 1);
        ASSERT_EQ(ch, 'n');
        ASSERT_EQ(gort_conn_set_deadline(fpeer, gort_nanotime() + 2 * MS, 0), 0);
        ASSERT_EQ(gort_conn_read(fpeer, &ch, 1), -ETIMEDOUT);
        ASSERT_EQ(gort_conn_set_deadline(fpeer, 0, 0), 0);
        atomic_store(&w.id, fresh._id); /* the writer's now: it may write */
        peer = fpeer;
    }
    atomic_store(&w.stop, 1);
    WAIT_UNTIL(gort_numgoroutine() == 1, 10, "the writer to stop");
    ASSERT_GT(reused, CHURN_ROUNDS / 2); /* numbers were reused */
    ASSERT_GT(atomic_load(&w.ebadf), 0); /* and the stale handle was used */
    ASSERT_EQ(gort_conn_close((gort_conn){atomic_load(&w.id)}), 0);
    ASSERT_EQ(gort_conn_close(peer), 0);
    ASSERT_EQ(gort_conn_close(l), 0);
    return 0;
}

TEST(stale_writer_never_reaches_new_conn) {
    run(churn_main, NULL);
}

/* ------------------------------------------------------------------ close wakes */

typedef struct blocked {
    gort_conn c;
    _Atomic int started;
    _Atomic ssize_t result;
} blocked;

static void blocked_reader(void *arg) {
    blocked *b = arg;
    char buf[8];
    atomic_store(&b->started, 1);
    atomic_store(&b->result, gort_conn_read(b->c, buf, sizeof buf));
}

static void blocked_acceptor(void *arg) {
    blocked *b = arg;
    gort_conn c;
    atomic_store(&b->started, 1);
    atomic_store(&b->result, gort_conn_accept(b->c, &c));
}

static void blocked_read_from(void *arg) {
    blocked *b = arg;
    char buf[8];
    atomic_store(&b->started, 1);
    atomic_store(&b->result, gort_conn_read_from(b->c, buf, sizeof buf, NULL));
}

static void close_wakes(void (*fn)(void *), gort_conn c) {
    blocked b = {.c = c, .result = 1};
    go(fn, &b);
    WAIT_UNTIL(atomic_load(&b.started), 10, "the call to start");
    gort_sleep(5 * MS); /* let it park */
    /* Deadlines the caller set are no obstacle. */
    ASSERT_EQ(gort_conn_set_deadline(c, gort_nanotime() + tmo(60), 0), 0);
    ASSERT_EQ(gort_conn_close(c), 0);
    WAIT_UNTIL(atomic_load(&b.result) != 1, 10, "the blocked call to return");
    ASSERT_EQ(atomic_load(&b.result), -EBADF);
}

static int close_main(void *arg) {
    (void)arg;
    gort_conn l, a, b;
    tcp_pair(&l, &a, &b);
    close_wakes(blocked_reader, a);
    close_wakes(blocked_acceptor, l);
    gort_conn u;
    ASSERT_EQ(gort_conn_listen(&u, "udp", "127.0.0.1:0"), 0);
    close_wakes(blocked_read_from, u);
    gort_conn ul;
    ASSERT_EQ(gort_conn_listen(&ul, "unix", "@gort-conn-test-close"), 0);
    close_wakes(blocked_acceptor, ul);
    ASSERT_EQ(gort_conn_close(b), 0);
    return 0;
}

TEST(close_wakes_blocked_calls) {
    run(close_main, NULL);
}

/* A goroutine left blocked in a conn call when gort_main returns is
 * abandoned: its call's reference is dropped, so that closing the
 * connection afterwards, or in the next gort_main, returns (it waited
 * for the call for ever, and in a later gort_main was a deadlock). */
static gort_conn ab_l, ab_a, ab_b;

static void ab_accept(void *arg) {
    (void)arg;
    gort_conn c;
    (void)gort_conn_accept(ab_l, &c);
}

static void ab_read(void *arg) {
    (void)arg;
    char b[8];
    (void)gort_conn_read(ab_a, b, sizeof b);
}

static int abandon_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_conn_listen(&ab_l, "tcp", "127.0.0.1:0"), 0);
    ASSERT_EQ(gort_conn_pipe(&ab_a, &ab_b), 0);
    go(ab_accept, NULL);
    go(ab_read, NULL);
    gort_sleep(20 * MS); /* both block */
    return 0;
}

static int close_later_main(void *arg) {
    (void)arg;
    ASSERT_EQ(gort_conn_close(ab_a), 0);
    return 0;
}

TEST(close_after_abandoned_call) {
    run(abandon_main, NULL);
    ASSERT_EQ(gort_conn_close(ab_l), 0); /* after gort_main */
    run(close_later_main, NULL);         /* in the next one */
    ASSERT_EQ(gort_conn_close(ab_b), 0);
}

/* ------------------------------------------------------------------ addresses */

static int addr_main(void *arg) {
    (void)arg;
    gort_conn l, a, b;
    tcp_pair(&l, &a, &b);
    char s1[GORT_ADDR_STRLEN], s2[GORT_ADDR_STRLEN], want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", port_of(l));
    addr_str(a, true, s1);
    ASSERT_STREQ(s1, want);
    addr_str(b, false, s1);
    ASSERT_STREQ(s1, want);
    /* Each side's remote is the other's local. */
    addr_str(a, false, s1);
    addr_str(b, true, s2);
    ASSERT_STREQ(s1, s2);
    ASSERT_EQ(strncmp(s1, "127.0.0.1:", 10), 0);
    /* RemoteAddr still answers after the peer has gone (it is recorded). */
    ASSERT_EQ(gort_conn_close(a), 0);
    addr_str(b, true, s1);
    ASSERT_STREQ(s1, s2);
    ASSERT_EQ(gort_conn_close(b), 0);
    /* The listener has no remote. */
    gort_addr none;
    ASSERT_EQ(gort_conn_remote_addr(l, &none), 0);
    ASSERT_EQ(none.len, 0);
    ASSERT_EQ(gort_conn_close(l), 0);
    return 0;
}

TEST(local_and_remote_addr) {
    run(addr_main, NULL);
}

TEST(addr_string_formats) {
    gort_addr a;
    char buf[GORT_ADDR_STRLEN];
    ASSERT_EQ(gort_resolve_addr("tcp", "10.1.2.3:80", &a), 0);
    ASSERT_EQ(gort_addr_string(&a, buf, sizeof buf), 11);
    ASSERT_STREQ(buf, "10.1.2.3:80");
    ASSERT_EQ(gort_resolve_addr("udp", "[2001:db8::1]:53", &a), 0);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    ASSERT_STREQ(buf, "[2001:db8::1]:53");
    ASSERT_EQ(gort_resolve_addr("tcp", "[::ffff:127.0.0.1]:9", &a), 0);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    ASSERT_STREQ(buf, "127.0.0.1:9"); /* Go prints v4-in-v6 as IPv4 */
    ASSERT_EQ(gort_resolve_addr("tcp", "[fe80::1%1]:7", &a), 0);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    ASSERT_EQ(strncmp(buf, "[fe80::1%", 9), 0);
    ASSERT_EQ(gort_resolve_addr("tcp", ":8080", &a), 0);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    ASSERT_STREQ(buf, "127.0.0.1:8080"); /* dialing ":port" is the local system */
    ASSERT_EQ(gort_resolve_addr("unix", "/tmp/x.sock", &a), 0);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    ASSERT_STREQ(buf, "/tmp/x.sock");
    ASSERT_EQ(gort_resolve_addr("unix", "@abstract", &a), 0);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    ASSERT_STREQ(buf, "@abstract");
    ASSERT_EQ(gort_addr_string(NULL, buf, sizeof buf), 5);
    ASSERT_STREQ(buf, "<nil>");
    ASSERT_EQ(gort_resolve_addr("tcp", "10.1.2.3:80", &a), 0);
    ASSERT_EQ(gort_addr_string(&a, buf, 5), -ENOSPC);
    ASSERT_STREQ(buf, "10.1");
    /* Malformed: as gort_dial. */
    ASSERT_EQ(gort_resolve_addr("tcp", "10.1.2.3", &a), -EINVAL);
    ASSERT_EQ(gort_resolve_addr("tcp4", "[::1]:1", &a), -EINVAL);
    ASSERT_EQ(gort_resolve_addr("sctp", "1.2.3.4:1", &a), -EINVAL);
    ASSERT_EQ(gort_resolve_addr("unix", "", &a), -EINVAL);
}

/* Ports given as service names, looked up for the network's protocol
 * (Go 1.19's ResolveTCPAddr/ResolveUDPAddr, checked against go1.19.8
 * here): Go's built-in names, in any case, and /etc/services' where there
 * is one ("www" is HTTP's alias there, "biff" UDP's only).  An unknown
 * name is -ENOENT (Go's "unknown port"), a number out of range -EINVAL. */
static void resolves_to(const char *network, const char *addr, const char *want) {
    gort_addr a;
    char buf[GORT_ADDR_STRLEN];
    int r = gort_resolve_addr(network, addr, &a);
    if (r != 0)
        GT_FAIL("gort_resolve_addr(\"%s\", \"%s\") = %d, want %s", network, addr, r, want);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    size_t bl = strlen(buf), wl = strlen(want);
    /* want is the whole string, or its ":port" end (a name's address). */
    if (want[0] == ':' ? bl < wl || strcmp(buf + bl - wl, want) != 0 : strcmp(buf, want) != 0)
        GT_FAIL("gort_resolve_addr(\"%s\", \"%s\") = %s, want %s", network, addr, buf, want);
}

TEST(resolve_service_names) {
    gort_addr a;
    resolves_to("tcp", "127.0.0.1:http", "127.0.0.1:80");
    resolves_to("tcp", "127.0.0.1:HTTP", "127.0.0.1:80");
    resolves_to("tcp4", "127.0.0.1:Https", "127.0.0.1:443");
    resolves_to("tcp6", "[::1]:ssh", "[::1]:22");
    resolves_to("tcp", ":imap3", "127.0.0.1:220");
    resolves_to("tcp", "localhost:https", ":443");
    resolves_to("udp", "127.0.0.1:domain", "127.0.0.1:53");
    resolves_to("udp4", "127.0.0.1:DOMAIN", "127.0.0.1:53");
    resolves_to("udp6", "[::1]:domain", "[::1]:53");
    resolves_to("udp", "localhost:domain", ":53");
    resolves_to("tcp", "127.0.0.1:00080", "127.0.0.1:80");
    if (access("/etc/services", R_OK) == 0) {
        resolves_to("tcp", "127.0.0.1:www", "127.0.0.1:80");
        resolves_to("tcp6", "[::1]:WWW", "[::1]:80");
        resolves_to("udp", "127.0.0.1:biff", "127.0.0.1:512");
    } else {
        fprintf(stderr, "no /etc/services here: its names not checked\n");
        ASSERT_EQ(gort_resolve_addr("tcp", "127.0.0.1:www", &a), -ENOENT);
    }
    /* TCP's names are not UDP's, nor UDP's TCP's. */
    ASSERT_EQ(gort_resolve_addr("tcp", "127.0.0.1:biff", &a), -ENOENT);
    ASSERT_EQ(gort_resolve_addr("udp", "127.0.0.1:nosuch", &a), -ENOENT);
    ASSERT_EQ(gort_resolve_addr("tcp", "127.0.0.1:nosuch", &a), -ENOENT);
    ASSERT_EQ(gort_resolve_addr("tcp", "127.0.0.1:+http", &a), -ENOENT);
    ASSERT_EQ(gort_resolve_addr("tcp", "127.0.0.1:http ", &a), -ENOENT);
    ASSERT_EQ(gort_resolve_addr("tcp", "127.0.0.1:mobility-headerxxxxxxxxxxx", &a), -ENOENT);
    /* The port is looked up first: no DNS for this host. */
    ASSERT_EQ(gort_resolve_addr("udp", "nosuchhost.invalid:nosuchsvc", &a), -ENOENT);
    ASSERT_EQ(gort_resolve_addr("tcp", "127.0.0.1:65536", &a), -EINVAL);
    ASSERT_EQ(gort_resolve_addr("udp", "127.0.0.1:-1", &a), -EINVAL);
    /* "" and a bare sign are port 0, not names. */
    resolves_to("udp", "127.0.0.1:", "127.0.0.1:0");
    resolves_to("tcp", "127.0.0.1:+", "127.0.0.1:0");
    resolves_to("tcp", "127.0.0.1:-", "127.0.0.1:0");
}

/* The connection calls take service names too: an unknown one fails
 * before any socket, and a known one is the port (UDP's "domain" here: a
 * dial of UDP sends nothing). */
static int conn_service_main(void *arg) {
    (void)arg;
    gort_conn c;
    ASSERT_EQ(gort_conn_dial(&c, "tcp", "127.0.0.1:nosuch", 0), -ENOENT);
    ASSERT_EQ(gort_conn_dial(&c, "udp", "127.0.0.1:nosuch", 0), -ENOENT);
    ASSERT_EQ(gort_conn_listen(&c, "tcp", "127.0.0.1:nosuch"), -ENOENT);
    ASSERT_EQ(gort_conn_listen(&c, "udp4", "127.0.0.1:nosuch"), -ENOENT);
    ASSERT_EQ(gort_conn_dial(&c, "udp", "127.0.0.1:Domain", 0), 0);
    gort_addr ra;
    char buf[GORT_ADDR_STRLEN];
    ASSERT_EQ(gort_conn_remote_addr(c, &ra), 0);
    ASSERT_GT(gort_addr_string(&ra, buf, sizeof buf), 0);
    ASSERT_STREQ(buf, "127.0.0.1:53");
    ASSERT_EQ(gort_conn_close(c), 0);
    return 0;
}

TEST(conn_service_names) {
    run(conn_service_main, NULL);
}

/* The process's first lookups race to read /etc/services and publish its
 * table (port.c's compare-and-swap): every thread gets the same answers,
 * the copies of those that lost are freed (ASan's leak check), and the
 * reads of the winner's table are ordered after its writes (TSan). */
enum { SVC_RACERS = 8 };
static pthread_barrier_t svc_barrier;

static int svc_port(const char *network, const char *addr) {
    gort_addr a;
    int r = gort_resolve_addr(network, addr, &a);
    return r != 0 ? r : ntohs(((struct sockaddr_in *)&a.sa)->sin_port);
}

static void *svc_racer(void *arg) {
    int *got = arg;
    pthread_barrier_wait(&svc_barrier);
    got[0] = svc_port("tcp", "127.0.0.1:www");
    got[1] = svc_port("udp", "127.0.0.1:biff");
    got[2] = svc_port("tcp", "127.0.0.1:Http");
    return NULL;
}

TEST(service_first_lookups_race) {
    bool file = access("/etc/services", R_OK) == 0;
    const int want[3] = {file ? 80 : -ENOENT, file ? 512 : -ENOENT, 80};
    pthread_t t[SVC_RACERS];
    int got[SVC_RACERS][3];
    ASSERT_EQ(pthread_barrier_init(&svc_barrier, NULL, SVC_RACERS), 0);
    for (int i = 0; i < SVC_RACERS; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, svc_racer, got[i]), 0);
    for (int i = 0; i < SVC_RACERS; i++)
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&svc_barrier);
    for (int i = 0; i < SVC_RACERS; i++)
        for (int j = 0; j < 3; j++)
            ASSERT_EQ(got[i][j], want[j]);
}

/* ------------------------------------------------------------------ UDP */

static int udp_main(void *arg) {
    (void)arg;
    gort_conn srv, cli;
    ASSERT_EQ(gort_conn_listen(&srv, "udp", "127.0.0.1:0"), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port_of(srv));
    ASSERT_EQ(gort_conn_dial(&cli, "udp", addr, 0), 0);
    ASSERT_EQ(gort_conn_write(cli, "ping", 4), 4);
    char buf[16];
    gort_addr from;
    ASSERT_EQ(gort_conn_read_from(srv, buf, sizeof buf, &from), 4);
    ASSERT_EQ(memcmp(buf, "ping", 4), 0);
    char s1[GORT_ADDR_STRLEN], s2[GORT_ADDR_STRLEN];
    ASSERT_GT(gort_addr_string(&from, s1, sizeof s1), 0);
    addr_str(cli, false, s2);
    ASSERT_STREQ(s1, s2);
    ASSERT_EQ(gort_conn_write_to(srv, "pong!", 5, &from), 5);
    ASSERT_EQ(gort_conn_read(cli, buf, sizeof buf), 5);
    ASSERT_EQ(memcmp(buf, "pong!", 5), 0);
    /* A datagram longer than the buffer is truncated, the rest dropped. */
    ASSERT_EQ(gort_conn_write(cli, "0123456789", 10), 10);
    ASSERT_EQ(gort_conn_read_from(srv, buf, 3, NULL), 3);
    ASSERT_EQ(gort_conn_write(cli, "ab", 2), 2);
    ASSERT_EQ(gort_conn_read_from(srv, buf, sizeof buf, NULL), 2);
    /* Read deadline: expires within a bound... */
    int64_t t0 = gort_nanotime();
    ASSERT_EQ(gort_conn_set_deadline(srv, t0 + 30 * MS, 0), 0);
    ASSERT_EQ(gort_conn_read_from(srv, buf, sizeof buf, NULL), -ETIMEDOUT);
    int64_t el = gort_nanotime() - t0;
    ASSERT_GE(el, 30 * MS);
    ASSERT_LT(el, 30 * MS + tmo(1));
    /* ...and stays expired even with a datagram waiting, as Go. */
    ASSERT_EQ(gort_conn_write(cli, "late", 4), 4);
    gort_sleep(5 * MS);
    ASSERT_EQ(gort_conn_read_from(srv, buf, sizeof buf, NULL), -ETIMEDOUT);
    ASSERT_EQ(gort_conn_set_deadline(srv, 0, 0), 0);
    ASSERT_EQ(gort_conn_read_from(srv, buf, sizeof buf, NULL), 4);
    /* Write deadline in the past: write_to fails at once. */
    ASSERT_EQ(gort_conn_set_deadline(srv, 0, 1), 0);
    ASSERT_EQ(gort_conn_write_to(srv, "x", 1, &from), -ETIMEDOUT);
    ASSERT_EQ(gort_conn_write_to(srv, "x", 1, NULL), -EINVAL);
    ASSERT_EQ(gort_conn_close(cli), 0);
    ASSERT_EQ(gort_conn_close(srv), 0);
    return 0;
}

TEST(udp_read_from_write_to_deadlines) {
    run(udp_main, NULL);
}

/* ------------------------------------------------------------------ Unix */

static void unix_echo(void *arg) {
    gort_conn c = *(gort_conn *)arg;
    char buf[64];
    ssize_t r;
    while ((r = gort_conn_read(c, buf, sizeof buf)) > 0)
        ASSERT_EQ(gort_conn_write(c, buf, (size_t)r), r);
    ASSERT_EQ(gort_conn_close(c), 0);
}

static void unix_round(const char *path) {
    gort_conn l, a;
    static gort_conn b;
    ASSERT_EQ(gort_conn_listen(&l, "unix", path), 0);
    /* The name is taken while the listener lives. */
    gort_conn l2;
    ASSERT_EQ(gort_conn_listen(&l2, "unix", path), -EADDRINUSE);
    ASSERT_EQ(gort_conn_dial(&a, "unix", path, gort_nanotime() + tmo(10)), 0);
    ASSERT_EQ(gort_conn_accept(l, &b), 0);
    go(unix_echo, &b);
    ASSERT_EQ(gort_conn_write(a, "hello unix", 10), 10);
    char buf[16];
    read_exact(a, buf, 10);
    ASSERT_EQ(memcmp(buf, "hello unix", 10), 0);
    char s[GORT_ADDR_STRLEN];
    addr_str(a, true, s);
    ASSERT_STREQ(s, path);
    addr_str(l, false, s);
    ASSERT_STREQ(s, path);
    ASSERT_EQ(gort_conn_close_write(a), 0); /* the echo goroutine reads EOF */
    ASSERT_EQ(gort_conn_read(a, buf, sizeof buf), 0);
    ASSERT_EQ(gort_conn_close(a), 0);
    ASSERT_EQ(gort_conn_close(l), 0);
}

static int unix_main(void *arg) {
    (void)arg;
    char path[64];
    snprintf(path, sizeof path, "/tmp/gort-conn-test-%d.sock", (int)getpid());
    unlink(path);
    unix_round(path);
    struct stat st;
    ASSERT_EQ(stat(path, &st), -1); /* the close removed the socket file */
    gort_conn c;
    ASSERT_EQ(gort_conn_dial(&c, "unix", path, 0), -ENOENT);
    snprintf(path, sizeof path, "@gort-conn-test-%d", (int)getpid());
    unix_round(path);
    return 0;
}

TEST(unix_stream_listen_dial) {
    run(unix_main, NULL);
}

/* The longest names sun_path holds, as Go takes them: a path of 107 bytes
 * (its NUL is the 108th) and an abstract name of "@" and 107 bytes (which
 * has no NUL: it was -EINVAL).  One byte more is -EINVAL for either. */
static int unix_longest_main(void *arg) {
    (void)arg;
    char path[128];
    gort_addr a;
    gort_conn c;
    int n = snprintf(path, sizeof path, "/tmp/gort-conn-test-%d-", (int)getpid());
    memset(path + n, 'p', (size_t)(107 - n));
    path[107] = '\0';
    unlink(path);
    unix_round(path);
    path[107] = 'p';
    path[108] = '\0';
    ASSERT_EQ(gort_resolve_addr("unix", path, &a), -EINVAL);
    ASSERT_EQ(gort_conn_listen(&c, "unix", path), -EINVAL);
    n = snprintf(path, sizeof path, "@gort-conn-test-%d-", (int)getpid());
    memset(path + n, 'a', (size_t)(108 - n));
    path[108] = '\0';
    unix_round(path);
    path[108] = 'a';
    path[109] = '\0';
    ASSERT_EQ(gort_resolve_addr("unix", path, &a), -EINVAL);
    ASSERT_EQ(gort_conn_listen(&c, "unix", path), -EINVAL);
    return 0;
}

TEST(unix_longest_names) {
    run(unix_longest_main, NULL);
}

/* ------------------------------------------------------------------ tcp4/tcp6 */

static int tcp46_main(void *arg) {
    (void)arg;
    gort_conn l, a, b;
    ASSERT_EQ(gort_conn_listen(&l, "tcp4", "127.0.0.1:0"), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port_of(l));
    ASSERT_EQ(gort_conn_dial(&a, "tcp4", addr, 0), 0);
    ASSERT_EQ(gort_conn_accept(l, &b), 0);
    ASSERT_EQ(gort_conn_write(a, "v4", 2), 2);
    char buf[4];
    read_exact(b, buf, 2);
    ASSERT_EQ(gort_conn_close(a), 0);
    ASSERT_EQ(gort_conn_close(b), 0);
    ASSERT_EQ(gort_conn_close(l), 0);
    /* A port nobody listens on: refused. */
    ASSERT_EQ(gort_conn_dial(&a, "tcp4", addr, 0), -ECONNREFUSED);
    ASSERT_EQ(gort_conn_dial(&a, "sctp", addr, 0), -EINVAL);
    if (gort_conn_listen(&l, "tcp6", "[::1]:0") != 0)
        return 0; /* no IPv6 loopback here */
    snprintf(addr, sizeof addr, "[::1]:%d", port_of(l));
    ASSERT_EQ(gort_conn_dial(&a, "tcp6", addr, 0), 0);
    ASSERT_EQ(gort_conn_accept(l, &b), 0);
    char s[GORT_ADDR_STRLEN];
    addr_str(a, true, s);
    ASSERT_STREQ(s, addr);
    ASSERT_EQ(gort_conn_close(a), 0);
    ASSERT_EQ(gort_conn_close(b), 0);
    ASSERT_EQ(gort_conn_close(l), 0);
    return 0;
}

TEST(tcp4_tcp6) {
    run(tcp46_main, NULL);
}

/* ------------------------------------------------------------------ empty address */

/* Go's net.Listen("tcp", ""), ListenPacket("udp", "") and
 * ResolveTCPAddr("tcp", "") take "" as ":0"; only a dial of "" fails
 * ("missing address"). */
static int empty_addr_main(void *arg) {
    (void)arg;
    int lfd = gort_listen("", 0);
    ASSERT_GE(lfd, 0);
    int port = gort_local_port(lfd);
    ASSERT_GT(port, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    int c = gort_dial(addr, gort_nanotime() + tmo(10));
    ASSERT_GE(c, 0);
    gort_close(c);
    gort_close(lfd);
    ASSERT_EQ(gort_dial("", 0), -EINVAL);

    gort_conn l, u;
    ASSERT_EQ(gort_conn_listen(&l, "tcp", ""), 0);
    ASSERT_GT(port_of(l), 0);
    ASSERT_EQ(gort_conn_close(l), 0);
    ASSERT_EQ(gort_conn_listen(&u, "udp", ""), 0);
    ASSERT_GT(port_of(u), 0);
    ASSERT_EQ(gort_conn_close(u), 0);
    ASSERT_EQ(gort_conn_dial(&u, "udp", "", 0), -EINVAL);

    gort_addr a;
    char buf[GORT_ADDR_STRLEN];
    ASSERT_EQ(gort_resolve_addr("tcp", "", &a), 0);
    ASSERT_GT(gort_addr_string(&a, buf, sizeof buf), 0);
    ASSERT_STREQ(buf, "127.0.0.1:0");
    ASSERT_EQ(gort_resolve_addr("unix", "", &a), -EINVAL);
    return 0;
}

TEST(empty_address_listens_on_any_port) {
    run(empty_addr_main, NULL);
}

/* ------------------------------------------------------------------ pipes, adopt */

static void pipe_writer(void *arg) {
    gort_conn w = *(gort_conn *)arg;
    static char big[256 * 1024];
    memset(big, 'p', sizeof big);
    /* More than a pipe holds: the writer parks until the reader drains. */
    ASSERT_EQ(gort_conn_write(w, big, sizeof big), (ssize_t)sizeof big);
    ASSERT_EQ(gort_conn_close(w), 0);
}

static int pipe_main(void *arg) {
    (void)arg;
    static gort_conn r, w;
    ASSERT_EQ(gort_conn_pipe(&r, &w), 0);
    go(pipe_writer, &w);
    char buf[4096];
    long total = 0;
    ssize_t n;
    while ((n = gort_conn_read(r, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            ASSERT_EQ(buf[i], 'p');
        total += n;
    }
    ASSERT_EQ(n, 0); /* EOF once the writer closed */
    ASSERT_EQ(total, 256 * 1024);
    gort_addr a;
    ASSERT_EQ(gort_conn_remote_addr(r, &a), 0);
    ASSERT_EQ(a.len, 0);
    ASSERT_EQ(gort_conn_close_write(r), -ENOTSOCK);
    ASSERT_EQ(gort_conn_close(r), 0);

    /* An eventfd adopted: read deadline through the poller. */
    int efd = eventfd(0, EFD_CLOEXEC);
    ASSERT_GE(efd, 0);
    gort_conn e;
    ASSERT_EQ(gort_conn_adopt(&e, efd), 0);
    gort_conn e2;
    ASSERT_EQ(gort_conn_adopt(&e2, efd), -EEXIST);
    ASSERT_EQ(gort_conn_set_deadline(e, gort_nanotime() + 20 * MS, 0), 0);
    uint64_t v;
    ASSERT_EQ(gort_conn_read(e, &v, sizeof v), -ETIMEDOUT);
    ASSERT_EQ(gort_conn_set_deadline(e, 0, 0), 0);
    v = 3;
    ASSERT_EQ(gort_conn_write(e, &v, sizeof v), 8);
    ASSERT_EQ(gort_conn_read(e, &v, sizeof v), 8);
    ASSERT_EQ(v, 3);
    ASSERT_EQ(gort_conn_close(e), 0);
    ASSERT_EQ(gort_conn_adopt(&e, efd), -EBADF); /* closed for good */
    return 0;
}

TEST(pipe_and_adopt) {
    run(pipe_main, NULL);
}

GT_MAIN()

/* gort_conn calls in a loop beside busy goroutines: each is a preemption
 * point (gt_loop_lets_timers_fire). */
static gort_conn lp_r, lp_w;

static void lp_conn_read_past_deadline(void) {
    char b;
    /* Each time: an fd's deadlines end with the run (gort.h), and the
     * loop runs twice. */
    if (gort_conn_set_deadline(lp_r, 1, 0) != 0)
        GT_FAIL("gort_conn_set_deadline");
    ssize_t r = gort_conn_read(lp_r, &b, 1);
    if (r != -ETIMEDOUT)
        GT_FAIL("gort_conn_read past its deadline: %zd", r);
}

static void lp_conn_pipe_close(void) {
    gort_conn r, w;
    if (gort_conn_pipe(&r, &w) != 0)
        GT_FAIL("gort_conn_pipe");
    (void)gort_conn_close(r);
    (void)gort_conn_close(w);
}

TEST(conn_calls_in_a_loop_let_timers_fire) {
    ASSERT_EQ(gort_conn_pipe(&lp_r, &lp_w), 0);
    gt_loop_lets_timers_fire(lp_conn_read_past_deadline);
    gt_loop_lets_timers_fire(lp_conn_pipe_close);
    ASSERT_EQ(gort_conn_close(lp_r), 0);
    ASSERT_EQ(gort_conn_close(lp_w), 0);
}
