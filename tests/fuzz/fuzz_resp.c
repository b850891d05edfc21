/*
 * fuzz_resp.c - libFuzzer target for examples/kvstore/resp.c.
 *
 * Parses the input as kvstore's connection loop does (every complete
 * command, then stop at an incomplete one or an error) and checks what a
 * caller relies on: progress, arguments inside the buffer, a NUL-terminated
 * error text, and that a prefix of a multibulk command is never parsed as a
 * different complete command.  Build with the fuzz preset; run with
 * scripts/fuzz.sh (`make fuzz`).
 */
#include "resp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size copy: ASan catches any read or write past the end. */
    char *buf = malloc(size ? size : 1);
    char *orig = malloc(size ? size : 1);
    if (buf == NULL || orig == NULL)
        abort();
    memcpy(buf, data, size);
    memcpy(orig, data, size);
    size_t pos = 0;
    while (pos < size) {
        resp_arg argv[MAX_ARGS];
        int argc = -1;
        size_t used = 0;
        char err[RESP_ERR_SIZE];
        err[0] = 'x';
        int r = resp_parse(buf + pos, size - pos, argv, MAX_ARGS, &argc, &used, err);
        if (r == RESP_INCOMPLETE)
            break;
        if (r == RESP_ERROR) {
            if (memchr(err, '\0', RESP_ERR_SIZE) == NULL || strncmp(err, "Protocol error: ", 16))
                abort();
            break;
        }
        if (r != RESP_OK || used == 0 || used > size - pos || argc < 0 || argc > MAX_ARGS)
            abort();
        for (int i = 0; i < argc; i++) {
            if (argv[i].p < buf + pos || argv[i].p + argv[i].n > buf + pos + used)
                abort();
        }
        if (orig[pos] == '*' && argc > 0) {
            /* Every shorter prefix of a multibulk command is incomplete. */
            for (size_t cut = used - 1; cut + 8 >= used && cut > 0; cut--) {
                resp_arg a2[MAX_ARGS];
                int c2;
                size_t u2;
                char e2[RESP_ERR_SIZE];
                memcpy(buf + pos, orig + pos, cut);
                int r2 = resp_parse(buf + pos, cut, a2, MAX_ARGS, &c2, &u2, e2);
                if (r2 == RESP_OK)
                    abort();
            }
        }
        pos += used;
    }
    free(buf);
    free(orig);
    return 0;
}
