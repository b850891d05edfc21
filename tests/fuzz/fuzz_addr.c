/*
 * fuzz_addr.c - libFuzzer target for the address parser of gort_listen and
 * gort_dial (src/addr.c, gort__split_hostport) and the service names it
 * hands to src/port.c (gort__lookup_port, which reads /etc/services).
 *
 * Checks what the callers rely on: a NUL-terminated host that fits the
 * buffer, a port in 0..65535, a service name that is the text after the
 * last colon and is looked up, for TCP and for UDP, to such a port or to
 * -ENOENT/-EINVAL, never a read past the input, and that a parsed
 * address formats back ("host:port", "[host]:port" when the host has a
 * colon, with the port's number) into a string that parses to the same
 * host and port.  Build with the fuzz preset; run with scripts/fuzz.sh
 * (`make fuzz`).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* host and port format back, and parse to the same. */
static void round_trip(const char *host, int port) {
    if (memchr(host, '\0', 64) == NULL || port < 0 || port > 65535)
        abort();
    char again[160];
    snprintf(again, sizeof again, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    char host2[64];
    int port2 = -1;
    const char *svc2 = NULL;
    if (gort__split_hostport(again, host2, sizeof host2, &port2, &svc2) != 0 ||
        strcmp(host, host2) != 0 || port != port2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1); /* exact size: ASan catches overreads */
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    char host[64];
    memset(host, 'x', sizeof host);
    int port = -1;
    const char *svc = NULL;
    int r = gort__split_hostport(s, host, sizeof host, &port, &svc);
    if (r < 0) {
        if (r != -EINVAL)
            abort();
        free(s);
        return 0;
    }
    if (strchr(s, ':') == NULL)
        abort(); /* no port, yet parsed */
    if (r == 0) {
        round_trip(host, port);
    } else {
        if (r != 1 || svc != strrchr(s, ':') + 1 || *svc == '\0')
            abort();
        static const int socktypes[] = {SOCK_STREAM, SOCK_DGRAM};
        for (size_t i = 0; i < 2; i++) {
            port = -1;
            int lr = gort__lookup_port(socktypes[i], svc, &port);
            if (lr == 0)
                round_trip(host, port);
            else if (lr != -ENOENT && lr != -EINVAL)
                abort();
        }
    }
    free(s);
    return 0;
}
