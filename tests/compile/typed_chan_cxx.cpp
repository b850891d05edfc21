// Typed channels in C++: a channel copies its elements' bytes, so an
// element type that is not trivially copyable is rejected at compile time
// (a std::string sent by value was freed twice, and the receiver's string
// overwritten).  Variant 0 compiles; variant 1 must fail with the
// static_assert's message (CMakeLists.txt, compile.typed_chan_cxx_*).
#include "gort.h"

#include <string>

#if VARIANT == 0
struct msg {
    int id;
    const char *text;
};
GORT_CHAN_DECLARE(msgchan, msg);
GORT_CHAN_DECLARE(strpchan, std::string *); // a pointer to one is fine
#elif VARIANT == 1
GORT_CHAN_DECLARE(strchan, std::string);
#endif

int main() {
    return 0;
}
