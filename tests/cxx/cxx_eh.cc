// cxx_eh.cc - C++ exception state is per goroutine: libstdc++ keeps the
// caught exceptions and the uncaught count per thread, and gort switches
// them with the goroutine (proc.c, eh_save).  Without that a goroutine
// that blocked in a catch block, or in a destructor run by unwinding,
// found another goroutine's exception there.  Run by cxx_installed.sh,
// at GOMAXPROCS=1 and 2; prints "ok" lines, or "FAIL" ones.
#include <gort.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

static int failures;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);                                   \
            std::printf("FAIL: " __VA_ARGS__);                                                    \
            std::printf("\n");                                                                    \
        }                                                                                         \
    } while (0)

// 1. Workers back off (sleep) inside their catch blocks, then look at
// what they caught, rethrow it and catch it again.
static gort_waitgroup wg = GORT_WAITGROUP_INIT;

static void fetch(int id, int attempt) {
    if (attempt < 3)
        throw std::runtime_error("worker " + std::to_string(id) + " attempt " +
                                 std::to_string(attempt) + ": a message long enough for the heap");
}

static void worker(void *arg) {
    int id = static_cast<int>(reinterpret_cast<long>(arg));
    for (int attempt = 0;; attempt++) {
        try {
            fetch(id, attempt);
            break;
        } catch (const std::exception &e) {
            std::string want = "worker " + std::to_string(id) + " attempt " + std::to_string(attempt);
            gort_sleep(100000 * (attempt + 1));
            CHECK(std::strncmp(e.what(), want.c_str(), want.size()) == 0,
                  "worker %d caught \"%.40s\" after a sleep in its catch block", id, e.what());
            try {
                throw;
            } catch (const std::exception &r) {
                CHECK(&r == &e, "worker %d: throw; rethrew another exception (\"%.40s\")", id,
                      r.what());
            }
        }
        CHECK(!std::current_exception(), "worker %d: an exception is current after its catch", id);
    }
    gort_wg_done(&wg);
}

// 2. A goroutine parked in a destructor that unwinding runs leaves the
// uncaught count of the others alone.
static gort_chan *notify;
static int txn_uncaught = -1;

struct Notify {
    ~Notify() {
        int x = 1;
        gort_chan_send(notify, &x); // blocks until the receiver is there
    }
};

static void thrower(void *) {
    try {
        Notify n;
        throw std::runtime_error("thrower failed");
    } catch (...) {
    }
    gort_wg_done(&wg);
}

static void bystander(void *) {
    {
        int n0 = std::uncaught_exceptions();
        gort_sleep(20 * 1000 * 1000); // the thrower parks in ~Notify meanwhile
        txn_uncaught = std::uncaught_exceptions() - n0;
    }
    int x;
    gort_chan_recv(notify, &x);
    gort_wg_done(&wg);
}

static int real_main(void *) {
    const int workers = 50;
    gort_wg_add(&wg, workers);
    for (long i = 0; i < workers; i++)
        gort_go(worker, reinterpret_cast<void *>(i));
    gort_wg_wait(&wg);
    std::printf("ok: %d workers' caught exceptions\n", workers);

    notify = gort_chan_make(sizeof(int), 0);
    gort_wg_add(&wg, 2);
    gort_go(bystander, nullptr);
    gort_sleep(5 * 1000 * 1000);
    gort_go(thrower, nullptr);
    gort_wg_wait(&wg);
    CHECK(txn_uncaught == 0, "a goroutine that never threw saw %d uncaught exceptions",
          txn_uncaught);
    std::printf("ok: uncaught exceptions\n");
    return 0;
}

int main() {
    // 3. gort_main called from a catch block: the caller's exception is
    // current again when it returns.
    try {
        throw std::runtime_error("the caller's");
    } catch (const std::exception &e) {
        int r = gort_main(real_main, nullptr);
        CHECK(r == 0, "gort_main returned %d", r);
        try {
            throw;
        } catch (const std::exception &r2) {
            CHECK(std::strcmp(r2.what(), "the caller's") == 0,
                  "after gort_main the caller rethrew \"%s\"", r2.what());
        }
    }
    std::printf("ok: the caller's exception\n");
    return failures == 0 ? 0 : 1;
}
