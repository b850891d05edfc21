/*
 * echo_test.c - examples/echo end to end: 1,000 concurrent connections
 * over loopback, every byte verified (by `echo -client`, which exits 1 on
 * any mismatch), and a raw-socket check of the server alone.
 * E2E_SERVER is the echo binary (server and client both).
 */
#include "e2e.h"

TEST(thousand_connections) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -client -port %d -c 1000 -m 20 -size 1000", E2E_SERVER, s.port);
    int st = system(cmd);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
    e2e_stop(&s);
}

TEST(raw_bytes) {
    /* Every byte value, a large write the server echoes in pieces. */
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int fd = e2e_connect(s.port);
    static char out[256 * 1024], in[256 * 1024 + 1];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + (i >> 10));
    size_t sent = 0, got = 0;
    while (got < sizeof out) { /* interleave, so neither side's buffers fill */
        if (sent < sizeof out) {
            size_t n = sizeof out - sent < 16384 ? sizeof out - sent : 16384;
            e2e_send(fd, out + sent, n);
            sent += n;
        }
        ssize_t r = recv(fd, in + got, sizeof out - got, 0);
        ASSERT_TRUE(r > 0);
        got += (size_t)r;
    }
    ASSERT_EQ(memcmp(in, out, sizeof out), 0);
    shutdown(fd, SHUT_WR);
    ASSERT_EQ(recv(fd, in, 1, 0), 0); /* the server closes after our EOF */
    close(fd);
    e2e_stop(&s);
}

GT_MAIN()
