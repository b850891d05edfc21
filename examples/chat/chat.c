/*
 * chat - a broadcast chat server: every line a client sends goes to every
 * client.  The C of chat.go.txt, line for line (README.md): a broker
 * goroutine, a reader and a writer (with write deadlines) per connection,
 * and SIGINT/SIGTERM for a graceful shutdown.
 */
#include "../common/server.h"
#include "gort.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct client {
    gort_conn conn;
    gort_chan *ch; /* outgoing lines: char *, malloc'd */
} client;

static gort_chan *entering, *leaving, *messages, *quit;
static gort_waitgroup writers;
static gort_conn listener;

/* c <- fmt.Sprintf(format, ...): a malloc'd line the receiver frees. */
static void sendf(gort_chan *c, const char *format, ...) {
    va_list ap;
    char *s;
    va_start(ap, format);
    if (vasprintf(&s, format, ap) >= 0)
        gort_chan_send(c, &s);
    va_end(ap);
}

static void broker(void *arg) {
    (void)arg;
    client **clients = NULL; /* all connected clients */
    size_t n = 0;
    for (;;) {
        char *msg;
        client *cli;
        gort_select_case cs[] = {{messages, GORT_RECV, &msg, false},
                                 {entering, GORT_RECV, &cli, false},
                                 {leaving, GORT_RECV, &cli, false},
                                 {quit, GORT_RECV, NULL, false}};
        switch (gort_select(cs, 4, true)) {
        case 0:
            for (size_t i = 0; i < n; i++)
                sendf(clients[i]->ch, "%s", msg);
            free(msg);
            break;
        case 1: {
            client **more = realloc(clients, (n + 1) * sizeof *clients);
            if (more == NULL) {
                gort_chan_close(cli->ch); /* no room for it: let it go */
                break;
            }
            clients = more;
            clients[n++] = cli;
            break;
        }
        case 2:
            for (size_t i = 0; i < n; i++)
                if (clients[i] == cli)
                    clients[i--] = clients[--n];
            gort_chan_close(cli->ch);
            break;
        default:
            for (size_t i = 0; i < n; i++) {
                sendf(clients[i]->ch, "server shutting down");
                gort_chan_close(clients[i]->ch);
            }
            free(clients);
            gort_conn_close(listener);
            return;
        }
    }
}

static void client_writer(void *arg) {
    client *c = arg;
    gort_bufwriter *w = gort_bufwriter_new_conn(c->conn, 0);
    char *msg;
    while (gort_chan_recv(c->ch, &msg)) {
        gort_conn_set_deadline(c->conn, 0, gort_nanotime() + 10 * 1000000000LL);
        ssize_t r = gort_bufwriter_printf(w, "%s\n", msg);
        free(msg);
        if (r < 0 || (gort_chan_len(c->ch) == 0 && gort_bufwriter_flush(w) != 0))
            break; /* too slow, or gone: drop it */
    }
    gort_conn_close(c->conn);
    while (gort_chan_recv(c->ch, &msg)) /* until the broker lets go of it */
        free(msg);
    gort_bufwriter_free(w);
    gort_chan_free(c->ch);
    free(c);
    gort_wg_done(&writers);
}

static void handle_conn(void *arg) {
    client *c = arg;
    c->ch = gort_chan_make(sizeof(char *), 256);
    gort_wg_add(&writers, 1);
    gort_go(client_writer, c);
    gort_addr ra;
    char who[GORT_ADDR_STRLEN], *text;
    gort_conn_remote_addr(c->conn, &ra);
    gort_addr_string(&ra, who, sizeof who);
    sendf(c->ch, "You are %s", who);
    gort_chan_send(entering, &c);
    sendf(messages, "%s has arrived", who);
    gort_bufreader *input = gort_bufreader_new_conn(c->conn, 0, 0);
    while (gort_bufreader_scan_line(input, &text, NULL) > 0)
        sendf(messages, "%s: %s", who, text);
    gort_bufreader_free(input);
    gort_chan_send(leaving, &c);
    sendf(messages, "%s has left", who);
}

static int chat(void *addr) {
    int err = gort_conn_listen(&listener, "tcp", addr);
    if (err) {
        fprintf(stderr, "chat: listen %s: %s\n", (char *)addr, strerror(-err));
        return 1;
    }
    gort_addr la;
    char s[GORT_ADDR_STRLEN];
    gort_conn_local_addr(listener, &la);
    gort_addr_string(&la, s, sizeof s);
    printf("chat: listening on %s (port %d)\n", s, gort_local_port(gort_conn_fd(listener)));
    fflush(stdout);
    entering = gort_chan_make(sizeof(client *), 0);
    leaving = gort_chan_make(sizeof(client *), 0);
    messages = gort_chan_make(sizeof(char *), 0);
    quit = gort_chan_make(sizeof(int), 1);
    gort_signal_notify(quit, (int[]){SIGINT, SIGTERM}, 2);
    gort_go(broker, NULL);
    for (;;) {
        gort_conn conn;
        err = gort_conn_accept(listener, &conn);
        if (err == -EBADF)
            break;
        client *c = err ? NULL : malloc(sizeof *c);
        if (c) {
            c->conn = conn;
            gort_go(handle_conn, c);
        }
    }
    gort_wg_wait(&writers);
    printf("chat: shut down\n");
    fflush(stdout); /* unbuffered, as Go's */
    return 0;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 8000;
    bool graceful; /* always */
    char addr[300];
    if (ex_server_flags(argc, argv, &host, &port, &graceful))
        return 2;
    ex_hostport(addr, sizeof addr, host, port);
    ex_raise_nofile();
    int r = gort_main(chat, addr);
    return r < 0 ? 1 : r;
}
