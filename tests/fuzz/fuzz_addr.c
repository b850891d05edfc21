/*
 * fuzz_addr.c - libFuzzer target for the address parser of gort_listen and
 * gort_dial (src/addr.c, gort__split_hostport).
 *
 * Checks what the callers rely on: a NUL-terminated host that fits the
 * buffer, a port in 0..65535, never a read past the input, and that a
 * parsed address formats back ("host:port", "[host]:port" when the host
 * has a colon) into a string that parses to the same host and port.
 * Build with the fuzz preset; run with scripts/fuzz.sh (`make fuzz`).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1); /* exact size: ASan catches overreads */
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    char host[64];
    memset(host, 'x', sizeof host);
    int port = -1;
    int r = gort__split_hostport(s, host, sizeof host, &port);
    if (r != 0) {
        if (r != -EINVAL)
            abort();
        free(s);
        return 0;
    }
    if (memchr(host, '\0', sizeof host) == NULL || port < 0 || port > 65535)
        abort();
    if (strchr(s, ':') == NULL)
        abort(); /* no port, yet parsed */
    char again[160];
    snprintf(again, sizeof again, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    char host2[64];
    int port2 = -1;
    if (gort__split_hostport(again, host2, sizeof host2, &port2) != 0 || strcmp(host, host2) != 0 ||
        port != port2)
        abort();
    free(s);
    return 0;
}
