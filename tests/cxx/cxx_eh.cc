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

// 3. An exception that leaves a gort_call's function runs the frame's
// deferred calls on its way out, as a Go panic runs a function's: nested
// frames innermost first.  gort_once_do's function throwing counts as
// having run (Go's Do with a panicking f): the next Do returns at once.
// (Its frame stayed on the goroutine's chain: the next Do waited for
// ever, and the goroutine's exit ran the deferred unlock on a dead frame.)
static char order[8];
static int norder;

static void note(void *arg) {
    order[norder++] = *static_cast<const char *>(arg);
}

static void inner(void *) {
    gort_defer(note, const_cast<char *>("i"));
    throw std::runtime_error("from inner");
}

static void outer(void *) {
    gort_defer(note, const_cast<char *>("o"));
    gort_call(inner, nullptr);
}

// A deferred call that throws at its frame's normal end: the frame's
// other deferred calls still run, and the exception reaches the caller
// (it was a fatal error: "not the innermost" frame).
static void throw_deferred(void *) {
    throw std::runtime_error("from a deferred call");
}

static void defers_a_thrower(void *) {
    gort_defer(note, const_cast<char *>("a"));
    gort_defer(throw_deferred, nullptr);
}

// A panic raised and recovered inside a deferred call that the exception
// runs stays there: the exception goes on (the recovery jumped into
// gort_call, which returned 1 and dropped the exception).
static const char *inner_recovered;

static void recover_inner(void *) {
    inner_recovered = gort_recover() != nullptr ? "yes" : "no";
}

static void panics_and_recovers(void *) {
    gort_defer(recover_inner, nullptr);
    gort_panic("contained");
}

static void throws_past_a_panicking_defer(void *) {
    gort_defer(panics_and_recovers, nullptr);
    throw std::runtime_error("past a panic");
}

static gort_once once = GORT_ONCE_INIT;
static int once_calls;

static void once_fn(void *) {
    once_calls++;
    throw std::runtime_error("not ready");
}

static void once_again(void *done) {
    gort_once_do(&once, once_fn, nullptr);
    gort_chan_send(static_cast<gort_chan *>(done), nullptr);
}

static void unwound_through_calls() {
    try {
        gort_call(outer, nullptr);
        CHECK(false, "gort_call returned though its function threw");
    } catch (const std::exception &e) {
        CHECK(std::strcmp(e.what(), "from inner") == 0, "caught \"%s\"", e.what());
    }
    CHECK(norder == 2 && order[0] == 'i' && order[1] == 'o',
          "deferred calls run on the way out: \"%.*s\", want \"io\"", norder, order);
    norder = 0;
    try {
        gort_call(defers_a_thrower, nullptr);
        CHECK(false, "gort_call returned though a deferred call threw");
    } catch (const std::exception &e) {
        CHECK(std::strcmp(e.what(), "from a deferred call") == 0, "caught \"%s\"", e.what());
    }
    CHECK(norder == 1 && order[0] == 'a', "the frame's other deferred call did not run");
    try {
        gort_call(throws_past_a_panicking_defer, nullptr);
        CHECK(false, "gort_call returned though its function threw (the exception was dropped)");
    } catch (const std::exception &e) {
        CHECK(std::strcmp(e.what(), "past a panic") == 0, "caught \"%s\"", e.what());
    }
    CHECK(inner_recovered != nullptr && std::strcmp(inner_recovered, "yes") == 0,
          "the panic inside the deferred call was not recovered there");
    // The goroutine's chain is sound again: a frame of its own works.
    norder = 0;
    gort_call(
        [](void *) {
            gort_defer(note, const_cast<char *>("n"));
        },
        nullptr);
    CHECK(norder == 1 && order[0] == 'n', "a later gort_call's deferred call did not run");
    try {
        gort_once_do(&once, once_fn, nullptr);
        CHECK(false, "gort_once_do returned though its function threw");
    } catch (const std::exception &) {
    }
    gort_chan *done = gort_chan_make(0, 1);
    gort_go(once_again, done);
    gort_select_case cs[] = {{done, GORT_RECV, nullptr, false}};
    CHECK(gort_select_timeout(cs, 1, 5LL * 1000 * 1000 * 1000) == 0,
          "a second gort_once_do still waits after 5 s");
    CHECK(once_calls == 1, "the once function ran %d times", once_calls);
}

// 4. gort_recover called from a piece GCC split off a deferred C++
// function (app::recoverer(void*) [clone .part.0]) recovers, as from the
// function itself: both show as "app::recoverer" since names are
// demangled, and the piece's name was compared to "app::recoverer" + ".".
// The piece is written here by hand, as GCC would name it.
static char recovered[16]; // the message lives until the deferred call returns
extern "C" const char *recoverer_piece(void) __asm__("_ZN3app9recovererEPv.part.0");
__asm__(".text\n"
        ".p2align 4\n"
        ".type _ZN3app9recovererEPv.part.0, @function\n"
        "_ZN3app9recovererEPv.part.0:\n"
        "  subq $8, %rsp\n"
        "  call gort_recover@PLT\n"
        "  addq $8, %rsp\n"
        "  ret\n"
        ".size _ZN3app9recovererEPv.part.0, .-_ZN3app9recovererEPv.part.0\n");
namespace app {
__attribute__((noinline)) void recoverer(void *) {
    const char *m = recoverer_piece();
    std::snprintf(recovered, sizeof recovered, "%s", m != nullptr ? m : "(none)");
}
} // namespace app

static void panicker(void *) {
    gort_defer(app::recoverer, nullptr);
    gort_panic("split");
}

static int real_main(void *) {
    CHECK(gort_call(panicker, nullptr) == 1 && std::strcmp(recovered, "split") == 0,
          "gort_recover from a split-off piece of the deferred function gave \"%s\"",
          recovered);
    std::printf("ok: recover from a split-off piece\n");
    unwound_through_calls();
    std::printf("ok: exceptions through gort_call and gort_once_do\n");

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
    // 5. gort_main called from a catch block: the caller's exception is
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
