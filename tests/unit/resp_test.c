/*
 * resp_test.c - examples/kvstore/resp.c, the RESP2 request parser:
 * complete, partial, pipelined, inline and malformed commands, with
 * Redis's error texts.  No runtime needed.
 */
#include "gt.h"
#include "resp.h"

#define MAXA 16

/* One parse of the string s (copied: the parser may write inline args). */
struct parsed {
    int r, argc;
    size_t used;
    resp_arg argv[MAXA];
    char err[RESP_ERR_SIZE];
    char buf[256];
};

static struct parsed *parse_n(struct parsed *p, const char *s, size_t n) {
    memset(p, 0, sizeof *p);
    memcpy(p->buf, s, n);
    p->argc = -1;
    p->r = resp_parse(p->buf, n, p->argv, MAXA, &p->argc, &p->used, p->err);
    return p;
}

static struct parsed *parse(struct parsed *p, const char *s) {
    return parse_n(p, s, strlen(s));
}

/* argv[i] equals the string s. */
static int arg_is(const struct parsed *p, int i, const char *s) {
    return p->argv[i].n == strlen(s) && memcmp(p->argv[i].p, s, p->argv[i].n) == 0;
}

TEST(multibulk_complete) {
    struct parsed p;
    parse(&p, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    ASSERT_EQ(p.r, RESP_OK);
    ASSERT_EQ(p.argc, 3);
    ASSERT_EQ(p.used, strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"));
    ASSERT_TRUE(arg_is(&p, 0, "SET"));
    ASSERT_TRUE(arg_is(&p, 1, "k"));
    ASSERT_TRUE(arg_is(&p, 2, "hello"));
}

TEST(multibulk_binary_and_empty) {
    struct parsed p;
    parse_n(&p, "*2\r\n$4\r\na\r\n\0\r\n$0\r\n\r\n", 20);
    ASSERT_EQ(p.r, RESP_OK);
    ASSERT_EQ(p.argc, 2);
    ASSERT_EQ(p.argv[0].n, 4);
    ASSERT_EQ(memcmp(p.argv[0].p, "a\r\n\0", 4), 0);
    ASSERT_EQ(p.argv[1].n, 0);
    ASSERT_EQ(p.used, 20);
}

TEST(multibulk_partial) {
    const char *s = "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
    size_t n = strlen(s);
    struct parsed p;
    for (size_t i = 0; i < n; i++) /* every proper prefix is incomplete */
        ASSERT_EQ(parse_n(&p, s, i)->r, RESP_INCOMPLETE);
    ASSERT_EQ(parse_n(&p, s, n)->r, RESP_OK);
    ASSERT_TRUE(arg_is(&p, 1, "hello world"));
}

TEST(pipelined) {
    const char *s = "*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nx\r\n*1\r\n$3\r\nDEL";
    struct parsed p;
    parse(&p, s);
    const char *names[] = {"PING", "PING", "GET"};
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(p.r, RESP_OK);
        ASSERT_TRUE(arg_is(&p, 0, names[i]));
        off += p.used;
        char rest[256];
        strcpy(rest, s + off);
        parse(&p, rest);
    }
    ASSERT_EQ(p.r, RESP_INCOMPLETE); /* the DEL has not fully arrived */
}

TEST(empty_commands) {
    struct parsed p;
    ASSERT_EQ(parse(&p, "*0\r\n")->r, RESP_OK);
    ASSERT_EQ(p.argc, 0);
    ASSERT_EQ(p.used, 4);
    ASSERT_EQ(parse(&p, "*-1\r\n")->r, RESP_OK);
    ASSERT_EQ(p.argc, 0);
    ASSERT_EQ(parse(&p, "\r\n")->r, RESP_OK);
    ASSERT_EQ(p.argc, 0);
    ASSERT_EQ(p.used, 2);
    ASSERT_EQ(parse(&p, "   \n")->r, RESP_OK);
    ASSERT_EQ(p.argc, 0);
    ASSERT_EQ(parse(&p, "")->r, RESP_INCOMPLETE);
}

TEST(inline_commands) {
    struct parsed p;
    parse(&p, "SET  key\tvalue\r\n");
    ASSERT_EQ(p.r, RESP_OK);
    ASSERT_EQ(p.argc, 3);
    ASSERT_TRUE(arg_is(&p, 0, "SET"));
    ASSERT_TRUE(arg_is(&p, 1, "key"));
    ASSERT_TRUE(arg_is(&p, 2, "value"));
    ASSERT_EQ(p.used, 16);
    /* A bare "\n" ends a line too. */
    parse(&p, "PING\nGET");
    ASSERT_EQ(p.r, RESP_OK);
    ASSERT_EQ(p.argc, 1);
    ASSERT_EQ(p.used, 5);
    ASSERT_EQ(parse(&p, "GET k")->r, RESP_INCOMPLETE);
}

TEST(inline_quotes) {
    struct parsed p;
    parse(&p, "SET \"a b\\n\\x41\\\"\" 'it\\'s' \"\"\r\n");
    ASSERT_EQ(p.r, RESP_OK);
    ASSERT_EQ(p.argc, 4);
    ASSERT_TRUE(arg_is(&p, 1, "a b\nA\""));
    ASSERT_TRUE(arg_is(&p, 2, "it's"));
    ASSERT_TRUE(arg_is(&p, 3, ""));
}

TEST(inline_unbalanced_quotes) {
    struct parsed p;
    ASSERT_EQ(parse(&p, "SET \"abc\r\n")->r, RESP_ERROR);
    ASSERT_STREQ(p.err, "Protocol error: unbalanced quotes in request");
    ASSERT_EQ(parse(&p, "SET \"abc\"def\r\n")->r, RESP_ERROR); /* text after the quote */
    ASSERT_EQ(parse(&p, "SET 'abc\r\n")->r, RESP_ERROR);
}

TEST(malformed_multibulk_length) {
    struct parsed p;
    const char *bad[] = {"*x\r\n",  "*\r\n",        "*1x\r\n", "*+1\r\n",
                         "*01\r\n", "*1048577\r\n", "*17\r\n" /* more than max_args */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(parse(&p, bad[i])->r, RESP_ERROR);
        ASSERT_STREQ(p.err, "Protocol error: invalid multibulk length");
    }
}

TEST(malformed_bulk) {
    struct parsed p;
    ASSERT_EQ(parse(&p, "*1\r\n:3\r\nfoo\r\n")->r, RESP_ERROR);
    ASSERT_STREQ(p.err, "Protocol error: expected '$', got ':'");
    ASSERT_EQ(parse(&p, "*1\r\n\r\n")->r, RESP_ERROR);
    ASSERT_STREQ(p.err, "Protocol error: expected '$', got ' '");
    const char *bad[] = {"*1\r\n$-1\r\n", "*1\r\n$x\r\n", "*1\r\n$\r\n", "*1\r\n$536870913\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(parse(&p, bad[i])->r, RESP_ERROR);
        ASSERT_STREQ(p.err, "Protocol error: invalid bulk length");
    }
    /* The largest bulk Redis accepts is just incomplete. */
    ASSERT_EQ(parse(&p, "*1\r\n$536870912\r\nabc")->r, RESP_INCOMPLETE);
}

TEST(too_big_lines) {
    static char big[RESP_INLINE_MAX + 10];
    resp_arg argv[4];
    int argc;
    size_t used;
    char err[RESP_ERR_SIZE];
    memset(big, 'a', sizeof big);
    ASSERT_EQ(resp_parse(big, RESP_INLINE_MAX, argv, 4, &argc, &used, err), RESP_INCOMPLETE);
    ASSERT_EQ(resp_parse(big, sizeof big, argv, 4, &argc, &used, err), RESP_ERROR);
    ASSERT_STREQ(err, "Protocol error: too big inline request");
    big[0] = '*';
    ASSERT_EQ(resp_parse(big, sizeof big, argv, 4, &argc, &used, err), RESP_ERROR);
    ASSERT_STREQ(err, "Protocol error: too big mbulk count string");
    memcpy(big, "*1\r\n$", 5);
    ASSERT_EQ(resp_parse(big, sizeof big, argv, 4, &argc, &used, err), RESP_ERROR);
    ASSERT_STREQ(err, "Protocol error: too big bulk count string");
}

TEST(str2ll) {
    long long v = 1;
    ASSERT_TRUE(resp_str2ll("0", 1, &v));
    ASSERT_EQ(v, 0);
    ASSERT_TRUE(resp_str2ll("-42", 3, &v));
    ASSERT_EQ(v, -42);
    ASSERT_TRUE(resp_str2ll("9223372036854775807", 19, &v));
    ASSERT_EQ(v, INT64_MAX);
    ASSERT_TRUE(resp_str2ll("-9223372036854775808", 20, &v));
    ASSERT_EQ(v, INT64_MIN);
    const char *bad[] = {"",
                         "-",
                         "-0",
                         "01",
                         "+1",
                         " 1",
                         "1 ",
                         "1.5",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_FALSE(resp_str2ll(bad[i], strlen(bad[i]), &v));
}

GT_MAIN()
