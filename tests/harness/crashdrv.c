/*
 * crashdrv.c - runs one crash test program and checks how it died (Go's
 * testprog + crash_test.go).
 *
 *     crashdrv [--timeout SECONDS] SOURCE.c PROGRAM [ARGS...]
 *
 * The expectations are read from SOURCE.c, from lines of this form (at the
 * start of a line, normally the file's first lines):
 *
 *     // EXPECT-EXIT: 2                   the exit status (required unless EXPECT-SIGNAL)
 *     // EXPECT-SIGNAL: ABRT              killed by this signal instead (ABRT, SIGSEGV, 6, ...);
 *                                         EXPECT-EXIT is then not checked
 *     // EXPECT-STDERR: fatal error: x    a substring of stderr; several lines must match
 *                                         in the order given, each after the previous match
 *     // ENV: GORTRACEBACK=all            set in the program's environment (repeatable)
 *
 * Whatever the directives, stderr must not end with a blank line (Go's
 * dumps put one between goroutines, not after the last).
 *
 * PROGRAM runs with stdin from /dev/null, stdout inherited, stderr captured,
 * core dumps off, in its own process group (killed as a group when the
 * timeout expires).  Exit status 0 when everything matched; otherwise 1,
 * after printing what differed and the program's whole stderr.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ITEMS 64

static const char *stderr_want[MAX_ITEMS];
static int nstderr;
static char *env_set[MAX_ITEMS];
static int nenv;
static int want_exit = -1;
static int want_signal = 0;

static const struct {
    const char *name;
    int sig;
} signames[] = {
    {"ABRT", SIGABRT}, {"SEGV", SIGSEGV}, {"BUS", SIGBUS},   {"ILL", SIGILL},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"QUIT", SIGQUIT}, {"TERM", SIGTERM}, {"TRAP", SIGTRAP}, {"INT", SIGINT},
    {"PIPE", SIGPIPE}, {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"SYS", SIGSYS},
};

static const char *signame(int sig) {
    static char buf[16];
    for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
        if (signames[i].sig == sig)
            return snprintf(buf, sizeof buf, "SIG%s", signames[i].name), buf;
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}

static int parse_signal(const char *s) {
    if (isdigit((unsigned char)*s))
        return atoi(s);
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
        if (strcmp(signames[i].name, s) == 0)
            return signames[i].sig;
    return -1;
}

/* Strips trailing whitespace (including \r) in place. */
static char *rstrip(char *s) {
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Returns the text after "// KEY:" (leading blanks skipped), or NULL. */
static char *directive(char *line, const char *key) {
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, "//", 2) != 0)
        return NULL;
    line += 2;
    while (*line == ' ' || *line == '\t')
        line++;
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0 || line[k] != ':')
        return NULL;
    line += k + 1;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

static int parse_source(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "crashdrv: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        rstrip(line);
        char *v;
        if ((v = directive(line, "EXPECT-EXIT"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (end == v || *end || n < 0 || n > 255) {
                fprintf(stderr, "crashdrv: %s:%d: bad EXPECT-EXIT '%s'\n", path, lineno, v);
                bad = 1;
            }
            want_exit = (int)n;
        } else if ((v = directive(line, "EXPECT-SIGNAL"))) {
            want_signal = parse_signal(v);
            if (want_signal <= 0) {
                fprintf(stderr, "crashdrv: %s:%d: unknown signal '%s'\n", path, lineno, v);
                bad = 1;
            }
        } else if ((v = directive(line, "EXPECT-STDERR"))) {
            if (nstderr == MAX_ITEMS || !*v) {
                fprintf(stderr, "crashdrv: %s:%d: bad or too many EXPECT-STDERR\n", path, lineno);
                bad = 1;
                continue;
            }
            stderr_want[nstderr++] = strdup(v);
        } else if ((v = directive(line, "ENV"))) {
            if (nenv == MAX_ITEMS || !strchr(v, '=') || *v == '=') {
                fprintf(stderr, "crashdrv: %s:%d: bad ENV '%s' (want NAME=value)\n", path, lineno,
                        v);
                bad = 1;
                continue;
            }
            env_set[nenv++] = strdup(v);
        }
    }
    fclose(f);
    if (want_exit < 0 && want_signal == 0) {
        fprintf(stderr,
                "crashdrv: %s: needs a '// EXPECT-EXIT: N' or '// EXPECT-SIGNAL: NAME' line\n",
                path);
        bad = 1;
    }
    return bad ? -1 : 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    double timeout = 55;
    int a = 1;
    if (a + 1 < argc && strcmp(argv[a], "--timeout") == 0) {
        timeout = atof(argv[a + 1]);
        a += 2;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: crashdrv [--timeout SECONDS] SOURCE.c PROGRAM [ARGS...]\n");
        return 2;
    }
    const char *source = argv[a];
    char **prog = &argv[a + 1];
    if (parse_source(source) < 0)
        return 1;

    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        perror("crashdrv: pipe");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    if (pid < 0) {
        perror("crashdrv: fork");
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        for (int i = 0; i < nenv; i++)
            putenv(env_set[i]);
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        signal(SIGPIPE, SIG_DFL);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(p[1], 2);
        execv(prog[0], prog);
        dprintf(2, "crashdrv: exec %s: %s\n", prog[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(p[1]);

    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    double deadline = now() + timeout;
    int timed_out = 0;
    for (;;) {
        int ms = (int)((deadline - now()) * 1000);
        if (ms <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            timed_out = 1;
            break;
        }
        if (len + 4096 + 1 > cap)
            out = realloc(out, cap *= 2);
        ssize_t n = read(p[0], out + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF: every writer of the pipe is gone */
        len += (size_t)n;
    }
    out[len] = '\0';
    if (timed_out)
        kill(-pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* Processes the program left behind in its group hold no interest. */
    kill(-pid, SIGKILL);

    int ok = 1;
    char got[64];
    if (WIFEXITED(status))
        snprintf(got, sizeof got, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(got, sizeof got, "killed by %s", signame(WTERMSIG(status)));
    else
        snprintf(got, sizeof got, "wait status 0x%x", status);

    if (timed_out) {
        printf("FAIL: %s did not finish in %.0f s (%s)\n", prog[0], timeout, got);
        ok = 0;
    } else if (want_signal) {
        if (!WIFSIGNALED(status) || WTERMSIG(status) != want_signal) {
            printf("FAIL: want killed by %s, got %s\n", signame(want_signal), got);
            ok = 0;
        }
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != want_exit) {
        printf("FAIL: want exit status %d, got %s\n", want_exit, got);
        ok = 0;
    }

    const char *at = out;
    for (int i = 0; i < nstderr; i++) {
        const char *m = strstr(at, stderr_want[i]);
        if (!m) {
            printf("FAIL: stderr lacks (after the previous match): %s\n", stderr_want[i]);
            ok = 0;
            break;
        }
        at = m + strlen(stderr_want[i]);
    }

    /* Go's reports end with their last line: a blank line goes between two
     * goroutines of a dump, never after the last one. */
    if (ok && len >= 2 && out[len - 1] == '\n' && out[len - 2] == '\n') {
        printf("FAIL: stderr ends with a blank line\n");
        ok = 0;
    }

    if (!ok) {
        printf("---- stderr of %s (%zu bytes) ----\n%s%s---- end of stderr ----\n", prog[0], len,
               out, len && out[len - 1] != '\n' ? "\n" : "");
        return 1;
    }
    printf("ok %s: %s, %d stderr pattern%s matched\n", prog[0], got, nstderr,
           nstderr == 1 ? "" : "s");
    return 0;
}
