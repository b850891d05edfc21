/*
 * resp.h - a RESP2 request parser (the Redis protocol), runtime-free.
 *
 * Parses one command at a time out of a byte buffer, the way Redis's
 * networking.c does (processMultibulkBuffer, processInlineBuffer), with
 * Redis's limits and its exact protocol error texts.  No allocation, no
 * gort calls: kvstore's connections, the unit tests and the fuzzer share it.
 *
 *   "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"  a multibulk command ("*" first)
 *   "GET k\r\n"                       an inline command (anything else),
 *                                     split as Redis's sdssplitargs does
 *                                     ("..." with \n \xHH escapes, '...')
 */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>

/* Redis's limits (server.h: PROTO_INLINE_MAX_SIZE, proto-max-bulk-len,
 * the multibulk length check in processMultibulkBuffer). */
#define RESP_INLINE_MAX (64 * 1024)
#define RESP_BULK_MAX (512LL * 1024 * 1024)
#define RESP_MULTIBULK_MAX (1024 * 1024)

/* Room for an error text (the longest is the expected-'$' one). */
#define RESP_ERR_SIZE 64

/* One argument: bytes inside the parsed buffer (not NUL-terminated). */
typedef struct resp_arg {
    const char *p;
    size_t n;
} resp_arg;

enum {
    RESP_ERROR = -1,     /* malformed: *err says why; reply "-ERR <err>" and close */
    RESP_INCOMPLETE = 0, /* need more bytes: call again with the buffer extended */
    RESP_OK = 1,         /* one command parsed (argc may be 0: nothing to run) */
};

/*
 * Parses the command at the start of buf[0..len).  On RESP_OK sets *argc,
 * fills argv[0..*argc) (pointers into buf) and sets *consumed to the
 * command's length in bytes; *argc == 0 means an empty command that Redis
 * skips ("*0\r\n", "*-1\r\n", a blank inline line).  On RESP_ERROR writes
 * Redis's text without the "-ERR " ("Protocol error: invalid bulk length"),
 * NUL-terminated, to err.  RESP_INCOMPLETE leaves everything unset.
 *
 * Inline commands are unescaped in place, which is why buf is not const
 * (only inside the complete line, so a RESP_INCOMPLETE call writes nothing).
 * A multibulk command with more than max_args arguments is a RESP_ERROR
 * ("Protocol error: invalid multibulk length"): Redis allows 1024*1024,
 * a server may allow fewer.
 */
int resp_parse(char *buf, size_t len, resp_arg *argv, int max_args, int *argc, size_t *consumed,
               char err[RESP_ERR_SIZE]);

/*
 * Redis's string2ll: s[0..n) as a strict decimal long long (optional '-',
 * no '+', no spaces, no leading zeros, within range).  1 on success.
 */
int resp_str2ll(const char *s, size_t n, long long *out);

#endif /* RESP_H */
