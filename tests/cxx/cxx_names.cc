// cxx_names.cc - a C++ program's goroutines in a dump and a profile: the
// frames show demangled names, shortened as Go prints a function
// ("app::Worker::fail", not _ZNK3app6Worker4failEv).  Run by
// cxx_installed.sh against the installed library; it uses the standard
// library (std::string), as C++ programs do, so libstdc++ is loaded.
#include <gort.h>

#include <string>

namespace app {

struct Worker {
    std::string what;
    gort_chan *park;
    // The frames below must stay frames of their own at -O2.
    __attribute__((noinline)) void fail() const & { gort_panic(what.c_str()); }
    __attribute__((noinline)) static void run(void *arg) {
        static_cast<Worker *>(arg)->fail();
    }
    __attribute__((noinline)) static void wait(void *arg) {
        gort_chan_recv(static_cast<Worker *>(arg)->park, nullptr);
    }
};

namespace {
__attribute__((noinline)) void helper(Worker *w) {
    gort_go(Worker::wait, w);
    while (gort_numgoroutine() < 2)
        gort_yield();
    gort_sleep(50 * 1000 * 1000); // the waiter parks
    // The goroutine profile, with its frames' names, on stdout.
    if (gort_pprof_write("goroutine", 1, 1) != 0)
        gort_panic("gort_pprof_write failed");
    gort_go(Worker::run, w);
    gort_sleep(5LL * 1000 * 1000 * 1000); // the panic ends the process first
}
} // namespace

template <typename T> __attribute__((noinline)) int real_main(void *arg) {
    (void)arg;
    static Worker w{std::string("boom from C++"), gort_chan_make(0, 0)};
    helper(&w);
    return 0;
}

} // namespace app

int main() { return gort_main(app::real_main<int>, nullptr); }
