// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: out of memory: cannot allocate 1125899906842624-byte block (
// EXPECT-STDERR: fatal error: runtime: out of memory
// EXPECT-STDERR: goroutine 1 [running]:
// EXPECT-STDERR: main_fn(...)
// ENV: GORTRACEBACK=none
/*
 * Out of memory is a throw of the runtime's (Go's throw("out of memory")):
 * the goroutines are shown with the runtime's frames whatever
 * GORTRACEBACK says, none included, as Go 1.19's gotraceback does (gort
 * printed the two lines alone at GORTRACEBACK=none).  The program is
 * heap_oom.c's.
 */
#include "heap_oom.c"
