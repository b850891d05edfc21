/*
 * httpd_test.c - examples/httpd end to end over loopback: keep-alive,
 * pipelined, split, malformed and closing requests, and one slow client
 * not holding up the others.  E2E_SERVER is the httpd binary.
 */
#include "e2e.h"

/* The response without its Date: value, which changes every second. */
#define HELLO_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: "
#define HELLO_DATE_LEN 29 /* "Mon, 23 Nov 2026 14:02:41 GMT" */
#define HELLO_TAIL "\r\nContent-Length: 14\r\n\r\nHello, World!\n"
#define HELLO_LEN (sizeof HELLO_HEAD - 1 + HELLO_DATE_LEN + sizeof HELLO_TAIL - 1)

#define BAD_REQUEST                                                           \
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" \
    "Connection: close\r\n\r\n400 Bad Request"

/* Checks that p holds one hello response. */
static void check_hello(const char *p) {
    ASSERT_EQ(strncmp(p, HELLO_HEAD, sizeof HELLO_HEAD - 1), 0);
    const char *date = p + sizeof HELLO_HEAD - 1;
    ASSERT_EQ(memcmp(date + 25, " GMT", 4), 0);
    ASSERT_EQ(strncmp(date + HELLO_DATE_LEN, HELLO_TAIL, sizeof HELLO_TAIL - 1), 0);
}

TEST(keep_alive) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int fd = e2e_connect(s.port);
    char buf[4096];
    for (int i = 0; i < 50; i++) { /* one connection, request after request */
        e2e_sends(fd, "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: e2e\r\n\r\n");
        e2e_recv_n(fd, buf, HELLO_LEN);
        check_hello(buf);
    }
    /* 405 for other methods, the body read past, the connection kept. */
    e2e_sends(fd, "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody");
    const char *h405 = "HTTP/1.1 405 Method Not Allowed\r\nDate: ";
    size_t n405 = strlen(h405) + HELLO_DATE_LEN + strlen("\r\nContent-Length: 0\r\n\r\n");
    e2e_recv_n(fd, buf, n405);
    ASSERT_EQ(strncmp(buf, h405, strlen(h405)), 0);
    e2e_sends(fd, "GET / HTTP/1.1\r\n\r\n");
    e2e_recv_n(fd, buf, HELLO_LEN);
    check_hello(buf);
    close(fd);
    e2e_stop(&s);
}

TEST(pipelined) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int fd = e2e_connect(s.port);
    enum { N = 500 }; /* more than fit in one output buffer */
    static char req[N * 64], got[N * HELLO_LEN + 1];
    size_t rl = 0;
    for (int i = 0; i < N; i++)
        rl += (size_t)snprintf(req + rl, sizeof req - rl, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    e2e_send(fd, req, rl);
    e2e_recv_n(fd, got, N * HELLO_LEN);
    for (int i = 0; i < N; i++)
        check_hello(got + (size_t)i * HELLO_LEN);
    /* A request split over several writes. */
    e2e_sends(fd, "GET / HT");
    usleep(10000);
    e2e_sends(fd, "TP/1.1\r\nHost: x\r");
    usleep(10000);
    e2e_sends(fd, "\n\r\n");
    e2e_recv_n(fd, got, HELLO_LEN);
    check_hello(got);
    close(fd);
    e2e_stop(&s);
}

TEST(connection_close_and_http10) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    char buf[4096];
    int fd = e2e_connect(s.port);
    e2e_sends(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    size_t n = e2e_recv_eof(fd, buf, sizeof buf); /* one response, then EOF */
    ASSERT_EQ(
        strncmp(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n", 62),
        0);
    ASSERT_EQ(strcmp(buf + n - 14, "Hello, World!\n"), 0);
    close(fd);
    fd = e2e_connect(s.port);
    e2e_sends(fd, "GET / HTTP/1.0\r\n\r\n");
    n = e2e_recv_eof(fd, buf, sizeof buf);
    ASSERT_EQ(strncmp(buf, "HTTP/1.0 200 OK\r\n", 17), 0);
    ASSERT_NOT_NULL(strstr(buf, "\r\nConnection: close\r\n"));
    close(fd);
    fd = e2e_connect(s.port); /* HTTP/1.0 keep-alive: two on one connection */
    for (int i = 0; i < 2; i++) {
        e2e_sends(fd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        const char *head =
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n";
        e2e_recv_n(fd, buf, HELLO_LEN + strlen(head) - 17 - 26);
        ASSERT_EQ(strncmp(buf, head, strlen(head)), 0);
    }
    close(fd);
    e2e_stop(&s);
}

TEST(malformed) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    static const char *bad[] = {
        "GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nHost x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS hello */
    };
    char buf[4096];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = e2e_connect(s.port);
        e2e_sends(fd, bad[i]);
        e2e_recv_eof(fd, buf, sizeof buf);
        ASSERT_STREQ(buf, BAD_REQUEST);
        close(fd);
    }
    /* Good requests before the bad one are answered first. */
    int fd = e2e_connect(s.port);
    e2e_sends(fd, "GET / HTTP/1.1\r\n\r\nNOT HTTP\r\n\r\n");
    size_t n = e2e_recv_eof(fd, buf, sizeof buf);
    ASSERT_EQ(n, HELLO_LEN + strlen(BAD_REQUEST));
    check_hello(buf);
    ASSERT_STREQ(buf + HELLO_LEN, BAD_REQUEST);
    close(fd);
    /* An oversized header: 400, the server lives on. */
    fd = e2e_connect(s.port);
    static char big[128 * 1024];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    e2e_send(fd, big, 100 * 1024); /* the server may close before the rest */
    e2e_recv_eof(fd, buf, sizeof buf);
    ASSERT_STREQ(buf, BAD_REQUEST);
    close(fd);
    e2e_stop(&s);
}

TEST(slow_client_blocks_no_one) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int slow = e2e_connect(s.port);
    e2e_sends(slow, "GET / HTTP/1.1\r\nHos"); /* and nothing more for now */
    int idle[50];
    for (int i = 0; i < 50; i++)
        idle[i] = e2e_connect(s.port); /* open, silent */
    int fd = e2e_connect(s.port);
    char buf[4096];
    e2e_sends(fd, "GET / HTTP/1.1\r\n\r\n");
    e2e_recv_n(fd, buf, HELLO_LEN);
    check_hello(buf);
    e2e_sends(slow, "t: x\r\n\r\n");
    e2e_recv_n(slow, buf, HELLO_LEN);
    check_hello(buf);
    for (int i = 0; i < 50; i++)
        close(idle[i]);
    close(fd);
    close(slow);
    e2e_stop(&s);
}

/* -graceful: SIGTERM closes the listener (new connections are refused),
 * the connection in flight is still served, and the server exits 0 once
 * it is done; SIGINT does the same. */
static void graceful(int sig) {
    const char *args[] = {"-graceful", NULL};
    e2e_server s = e2e_start(E2E_SERVER, args);
    int fd = e2e_connect(s.port);
    char buf[4096];
    e2e_sends(fd, "GET / HTTP/1.1\r\n\r\n");
    e2e_recv_n(fd, buf, HELLO_LEN);
    check_hello(buf);
    ASSERT_EQ(kill(s.pid, sig), 0);
    int64_t deadline = gt_now_ns() + 10 * GT_SEC * gt_scale();
    for (int tries = 1;; tries++) {
        if (tries % 100 == 0) /* see e2e_signal_threads */
            e2e_signal_threads(s.pid, sig);
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int r = connect(c, (struct sockaddr *)&sa, sizeof sa);
        int e = errno;
        close(c);
        if (r != 0 && e == ECONNREFUSED)
            break;
        ASSERT_LT(gt_now_ns(), deadline); /* the listener never closed */
        usleep(1000);
    }
    e2e_sends(fd, "GET /after HTTP/1.1\r\n\r\n");
    e2e_recv_n(fd, buf, HELLO_LEN);
    check_hello(buf);
    close(fd);
    int st = 0;
    pid_t r;
    while ((r = waitpid(s.pid, &st, WNOHANG)) == 0) {
        ASSERT_LT(gt_now_ns(), deadline); /* it did not exit */
        usleep(1000);
    }
    ASSERT_EQ(r, s.pid);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
}

TEST(graceful_shutdown_sigterm) {
    graceful(SIGTERM);
}

TEST(graceful_shutdown_sigint) {
    graceful(SIGINT);
}

GT_MAIN()
