/*
 * kvstore_test.c - examples/kvstore end to end: every command through the
 * real redis-cli (skipped, saying so, when redis-cli is not installed),
 * pipelining and malformed input over raw sockets, redis-benchmark's
 * start-up questions.  E2E_SERVER is the kvstore binary, E2E_REDIS_CLI and
 * E2E_REDIS_BENCHMARK the tools CMake found ("" if none).
 */
#include "e2e.h"

/* Runs redis-cli -p port args... and returns its stdout (static buffer). */
static const char *cli_v(int port, const char *const *args) {
    static char out[8192];
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        char ports[16];
        snprintf(ports, sizeof ports, "%d", port);
        const char *argv[32] = {E2E_REDIS_CLI, "-p", ports};
        int n = 3;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(E2E_REDIS_CLI, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while (len < sizeof out - 1 && (r = read(p[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(p[0]);
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 127);
    return out;
}

/* CLI(port, "expected output", "arg", ...) */
#define CLI(port, want, ...)                           \
    do {                                               \
        const char *cli_args_[] = {__VA_ARGS__, NULL}; \
        ASSERT_STREQ(cli_v((port), cli_args_), want);  \
    } while (0)

static int have(const char *tool) {
    return tool[0] != '\0' && access(tool, X_OK) == 0;
}

TEST(redis_cli_commands) {
    if (!have(E2E_REDIS_CLI))
        GT_SKIP("redis-cli is not installed (apt-get install redis-tools)");
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int p = s.port;
    CLI(p, "PONG\n", "PING");
    CLI(p, "hello world\n", "PING", "hello world");
    CLI(p, "a\tb\n", "ECHO", "a\tb");
    CLI(p, "\n", "GET", "k");
    CLI(p, "OK\n", "SET", "k", "v1");
    CLI(p, "v1\n", "GET", "k");
    CLI(p, "OK\n", "SET", "k", "a longer value than before");
    CLI(p, "a longer value than before\n", "get", "k");
    CLI(p, "\n", "SET", "k", "x", "NX");
    CLI(p, "OK\n", "SET", "k", "v2", "XX");
    CLI(p, "v2\n", "SET", "k", "v3", "GET");
    CLI(p, "\n", "SET", "nokey", "v", "XX");
    CLI(p, "ERR syntax error\n\n", "SET", "k", "v", "EX", "10");
    CLI(p, "1\n", "INCR", "counter");
    CLI(p, "2\n", "INCR", "counter");
    CLI(p, "OK\n", "SET", "counter", "-10");
    CLI(p, "-9\n", "INCR", "counter");
    CLI(p, "ERR value is not an integer or out of range\n\n", "INCR", "k");
    CLI(p, "OK\n", "SET", "max", "9223372036854775807");
    CLI(p, "ERR increment or decrement would overflow\n\n", "INCR", "max");
    CLI(p, "3\n", "EXISTS", "k", "counter", "nokey", "k");
    CLI(p, "2\n", "DEL", "k", "counter", "nokey", "k");
    CLI(p, "0\n", "EXISTS", "k", "counter");
    CLI(p, "1\n", "DEL", "max");
    CLI(p, "ERR unknown command 'foo', with args beginning with: 'bar' 'baz' \n\n", "foo", "bar",
        "baz");
    CLI(p, "ERR wrong number of arguments for 'get' command\n\n", "GET");
    CLI(p, "ERR wrong number of arguments for 'set' command\n\n", "SET", "k");
    CLI(p, "ERR wrong number of arguments for 'incr' command\n\n", "INCR", "a", "b");
    CLI(p, "ERR wrong number of arguments for 'del' command\n\n", "DEL");
    CLI(p, "ERR wrong number of arguments for 'exists' command\n\n", "EXISTS");
    CLI(p, "ERR wrong number of arguments for 'echo' command\n\n", "ECHO");
    CLI(p, "ERR wrong number of arguments for 'ping' command\n\n", "PING", "a", "b");
    CLI(p, "save\n\nappendonly\nno\n", "CONFIG", "GET", "save", "appendonly");
    CLI(p, "\n", "COMMAND", "DOCS"); /* an empty array */
    CLI(p, "OK\n", "QUIT");
    /* Binary-safe values. */
    CLI(p, "OK\n", "SET", "bin", "line1\nline2\r\n\x01");
    CLI(p, "line1\nline2\r\n\x01\n", "GET", "bin");
    e2e_stop(&s);
}

TEST(redis_benchmark_smoke) {
    /* redis-benchmark's start (CONFIG GET save/appendonly) and a short
     * run of each of the measured tests, pipelined too. */
    if (!have(E2E_REDIS_BENCHMARK))
        GT_SKIP("redis-benchmark is not installed (apt-get install redis-tools)");
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -q -p %d -c 20 -n 2000 -P 4 -t ping,set,get,incr >/dev/null",
             E2E_REDIS_BENCHMARK, s.port);
    ASSERT_EQ(system(cmd), 0);
    e2e_stop(&s);
}

TEST(pipelined) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int fd = e2e_connect(s.port);
    /* 200 commands in one write, mixed multibulk and inline, split at odd
     * places by the kernel or not: 200 replies in order. */
    static char req[64 * 1024], want[64 * 1024];
    size_t rl = 0, wl = 0;
    for (int i = 0; i < 200; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "key%d", i);
        if (i % 2)
            rl +=
                (size_t)snprintf(req + rl, sizeof req - rl,
                                 "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kl, key, kl, key);
        else
            rl += (size_t)snprintf(req + rl, sizeof req - rl, "SET %s %s\r\n", key, key);
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "+OK\r\n");
    }
    for (int i = 0; i < 200; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "key%d", i);
        rl += (size_t)snprintf(req + rl, sizeof req - rl, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kl,
                               key);
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "$%d\r\n%s\r\n", kl, key);
    }
    e2e_send(fd, req, rl);
    static char got[64 * 1024];
    e2e_recv_n(fd, got, wl);
    ASSERT_STREQ(got, want);
    /* A command split over two writes. */
    e2e_sends(fd, "*2\r\n$4\r\nECHO\r\n$10\r\n01234");
    usleep(20000);
    e2e_expect(fd, "56789\r\n", "$10\r\n0123456789\r\n");
    close(fd);
    e2e_stop(&s);
}

TEST(malformed_closes_only_that_connection) {
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    int good = e2e_connect(s.port);
    e2e_expect(good, "PING\r\n", "+PONG\r\n");
    static const struct {
        const char *in, *out;
    } bad[] = {
        {"*1\r\n:3\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
        {"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
        {"PING\r\n*1\r\n$-5\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
        {"SET \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
        {"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nQUIT\r\nPING\r\n", "$-1\r\n+OK\r\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = e2e_connect(s.port);
        char buf[4096];
        e2e_sends(fd, bad[i].in);
        e2e_recv_eof(fd, buf, sizeof buf); /* the server closes */
        ASSERT_STREQ(buf, bad[i].out);
        close(fd);
    }
    /* 64 KiB of inline garbage without a newline. */
    int fd = e2e_connect(s.port);
    static char junk[70 * 1024];
    memset(junk, 'x', sizeof junk);
    e2e_send(fd, junk, sizeof junk);
    char buf[4096];
    e2e_recv_eof(fd, buf, sizeof buf);
    ASSERT_STREQ(buf, "-ERR Protocol error: too big inline request\r\n");
    close(fd);
    /* A half-sent command on one connection blocks no one else. */
    int stuck = e2e_connect(s.port);
    e2e_sends(stuck, "*2\r\n$3\r\nGET\r\n$100\r\nabc");
    e2e_expect(good, "*1\r\n$4\r\nPING\r\n", "+PONG\r\n");
    close(stuck);
    close(good);
    e2e_stop(&s);
}

TEST(many_clients) {
    /* 100 connections open at once, each with its own INCR counter and a
     * shared one: the shards' locking keeps every increment. */
    e2e_server s = e2e_start(E2E_SERVER, NULL);
    enum { N = 100, ROUNDS = 20 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = e2e_connect(s.port);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++)
            e2e_sends(fds[i], "INCR shared\r\n");
        for (int i = 0; i < N; i++) {
            char buf[64];
            ssize_t n = recv(fds[i], buf, sizeof buf - 1, 0);
            ASSERT_TRUE(n > 0 && buf[0] == ':');
        }
    }
    e2e_expect(fds[0], "GET shared\r\n", "$4\r\n2000\r\n");
    for (int i = 0; i < N; i++)
        close(fds[i]);
    e2e_stop(&s);
}

GT_MAIN()

/* ------------------------------------------------------------------------
 * -pprof ADDR: /debug/pprof/ (contrib/pprof_http), read by go tool pprof
 * ------------------------------------------------------------------------ */

#include <pthread.h>

#include "pprof_tools.h"

/* A free loopback port: bound, then released for the server to bind. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* GET path from 127.0.0.1:port into buf (headers and body); returns the
 * body. */
static const char *http_get(int port, const char *path, char *buf, size_t cap) {
    int fd = e2e_connect(port);
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    e2e_sends(fd, req);
    size_t n = e2e_recv_eof(fd, buf, cap);
    close(fd);
    const char *body = strstr(buf, "\r\n\r\n");
    if (n == 0 || body == NULL || strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
        GT_FAIL("GET %s: \"%.200s\"", path, buf);
    return body + 4;
}

typedef struct load {
    int port;
    int64_t until;
} load;

/* PINGs the server until l->until, so that the CPU profile has samples. */
static void *pinger(void *arg) {
    load *l = arg;
    int fd = e2e_connect(l->port);
    char buf[8];
    while (gt_now_ns() < l->until) {
        e2e_sends(fd, "PING\r\n");
        e2e_recv_n(fd, buf, 7);
    }
    close(fd);
    return NULL;
}

/* Starts the server with -pprof on a free port, written to addr; returns
 * once the pprof listener accepts. */
static e2e_server start_with_pprof(char *addr, size_t cap, int *pport) {
    *pport = free_port();
    snprintf(addr, cap, "127.0.0.1:%d", *pport);
    const char *args[] = {"-pprof", addr, NULL};
    e2e_server s = e2e_start(E2E_SERVER, args);
    /* The pprof listener comes up right after the server's. */
    int64_t deadline = gt_now_ns() + 10 * GT_SEC * gt_scale();
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*pport)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        close(fd);
        if (r == 0)
            break;
        if (gt_now_ns() > deadline)
            GT_FAIL("no /debug/pprof/ listener on %s", addr);
        usleep(10 * 1000);
    }
    return s;
}

TEST(pprof_http) {
    NEED_GO();
    int pport;
    char addr[64];
    e2e_server s = start_with_pprof(addr, sizeof addr, &pport);
    load l = {s.port, gt_now_ns() + 3 * GT_SEC};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, pinger, &l), 0);
    static char out[1 << 16];
    (void)tmp_path("x"); /* go_tool's private pprof directory */
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top http://%s/debug/pprof/profile?seconds=2", addr),
              0);
    pthread_join(t, NULL);
    if (strstr(out, "Type: cpu") == NULL || strstr(out, "Duration: 2") == NULL)
        GT_FAIL("go tool pprof of /debug/pprof/profile:\n%s", out);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top -cum http://%s/debug/pprof/goroutine", addr), 0);
    if (strstr(out, "Type: goroutine") == NULL || strstr(out, "ex_accept_loop") == NULL)
        GT_FAIL("go tool pprof of /debug/pprof/goroutine:\n%s", out);
    /* heap (?gc=1: a collection first, as net/http/pprof) and allocs. */
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top http://%s/debug/pprof/heap?gc=1", addr), 0);
    if (strstr(out, "Type: inuse_space") == NULL)
        GT_FAIL("go tool pprof of /debug/pprof/heap?gc=1:\n%s", out);
    ASSERT_EQ(go_tool(out, sizeof out, "pprof -top http://%s/debug/pprof/allocs", addr), 0);
    if (strstr(out, "Type: alloc_space") == NULL)
        GT_FAIL("go tool pprof of /debug/pprof/allocs:\n%s", out);
    static char buf[1 << 20];
    const char *body = http_get(pport, "/debug/pprof/goroutine?debug=2", buf, sizeof buf);
    if (strstr(body, "goroutine 1 [IO wait]:") == NULL || strstr(body, "gort_accept(") == NULL)
        GT_FAIL("goroutine?debug=2:\n%s", body);
    body = http_get(pport, "/debug/pprof/", buf, sizeof buf);
    if (strstr(body, "threadcreate") == NULL)
        GT_FAIL("index:\n%s", body);
    /* A trace over HTTP parses. */
    body = http_get(pport, "/debug/pprof/trace?seconds=1", buf, sizeof buf);
    if (memcmp(body, "go 1.19 trace", 13) != 0)
        GT_FAIL("trace?seconds=1 is no Go 1.19 trace");
    const char *path = tmp_path("http.trace");
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    /* The body's length from Content-Length (it is binary). */
    const char *cl = strstr(buf, "Content-Length: ");
    ASSERT_NOT_NULL(cl);
    ASSERT_EQ(fwrite(body, 1, (size_t)atol(cl + 16), f), (size_t)atol(cl + 16));
    fclose(f);
    ASSERT_EQ(go_tool(out, sizeof out, "trace -pprof=net %s > /dev/null", path), 0);
    e2e_stop(&s);
}

/* A CPU profile whose client went away ends then, as net/http/pprof's
 * wait ends with the request's context: it held the profiler for the rest
 * of its 30 seconds, and every profile asked for meanwhile was refused
 * "Could not enable CPU profiling: cpu profiling already in use". */
TEST(pprof_http_client_gone) {
    int pport;
    char addr[64];
    e2e_server s = start_with_pprof(addr, sizeof addr, &pport);
    int fd = e2e_connect(pport);
    e2e_sends(fd, "GET /debug/pprof/profile?seconds=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    usleep(200 * 1000); /* the profile starts; then the client gives up */
    close(fd);
    static char buf[1 << 20];
    int64_t deadline = gt_now_ns() + 10 * GT_SEC * gt_scale();
    for (;;) {
        /* The server may see the close a little later: retried while it is
         * refused, for far less than the 30 s the profile was asked for. */
        fd = e2e_connect(pport);
        e2e_sends(fd, "GET /debug/pprof/profile?seconds=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        size_t n = e2e_recv_eof(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n] = '\0';
        if (strncmp(buf, "HTTP/1.1 200 ", 13) == 0)
            break;
        if (strstr(buf, "cpu profiling already in use") == NULL)
            GT_FAIL("profile?seconds=1: \"%.200s\"", buf);
        if (gt_now_ns() > deadline)
            GT_FAIL("the first profile still held the profiler after its client left");
        usleep(100 * 1000);
    }
    e2e_stop(&s);
}
