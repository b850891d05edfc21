// cxx_names.cc - a C++ program's goroutines in a dump and in profiles: the
// frames show demangled names, shortened as Go prints a function
// ("app::Worker::fail", not _ZNK3app6Worker4failEv).  Run by
// cxx_installed.sh against the installed library, with libstdc++ shared
// and static; it uses the standard library (std::string), as C++ programs
// do.  argv[1]: where to write the goroutine profile in pprof's format.
#include <gort.h>

#include <fcntl.h>
#include <string>
#include <unistd.h>

// The frames below must stay frames of their own at -O2.
#define NOINLINE __attribute__((noinline))

namespace app {

NOINLINE void park() {
    gort_chan_recv(nullptr, nullptr);
}

struct Worker {
    std::string what;
    gort_chan *park;
    NOINLINE void fail() const & { gort_panic(what.c_str()); }
    NOINLINE static void run(void *arg) { static_cast<Worker *>(arg)->fail(); }
    NOINLINE static void wait(void *arg) { gort_chan_recv(static_cast<Worker *>(arg)->park, nullptr); }
};

// Names that are hard to shorten: an ellipsis in template arguments, a
// return type whose name contains "operator", a function that returns a
// function pointer, an operator.
template <typename F> struct Logger {
    NOINLINE static void run(void *) { park(); }
};
struct Cooperator {
    int v;
};
template <typename T> NOINLINE Cooperator make_coop(T) {
    park();
    return {1};
}
template <typename T> NOINLINE void (*get_handler(T))(int) {
    park();
    return nullptr;
}
struct Vec {
    NOINLINE bool operator<(const Vec &) const {
        park();
        return true;
    }
};

static void coop(void *) { make_coop(1); }
static void handler(void *) { get_handler(1); }
static void less(void *) {
    Vec v;
    (void)(v < v);
}

namespace {
NOINLINE void helper(Worker *w, const char *path) {
    gort_go(Worker::wait, w);
    gort_go(Logger<int (*)(const char *, ...)>::run, nullptr);
    gort_go(coop, nullptr);
    gort_go(handler, nullptr);
    gort_go(less, nullptr);
    while (gort_numgoroutine() < 6)
        gort_yield();
    gort_sleep(50 * 1000 * 1000); // they park
    // The goroutine profile: as text on stdout, in pprof's format at path.
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (gort_pprof_write("goroutine", 1, 1) != 0 || fd < 0 ||
        gort_pprof_write("goroutine", fd, 0) != 0 || close(fd) != 0)
        gort_panic("cannot write the goroutine profile");
    gort_go(Worker::run, w);
    gort_sleep(5LL * 1000 * 1000 * 1000); // the panic ends the process first
}
} // namespace

template <typename T> NOINLINE int real_main(void *arg) {
    static Worker w{std::string("boom from C++"), gort_chan_make(0, 0)};
    helper(&w, static_cast<const char *>(arg));
    return 0;
}

} // namespace app

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    return gort_main(app::real_main<int>, argv[1]);
}
