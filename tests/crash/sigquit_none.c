// EXPECT-EXIT: 2
// EXPECT-STDERR: SIGQUIT: quit
// EXPECT-STDERR: PC=
// EXPECT-STDERR: goroutine 1 [running]:
// EXPECT-STDERR: main_fn(...)
// EXPECT-STDERR: [chan receive]:
// EXPECT-STDERR: parked(...)
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: GORTRACEBACK=none
// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
/*
 * SIGQUIT is a throw of the runtime's: Go 1.19's gotraceback shows every
 * goroutine with the runtime's frames (level "system") whatever
 * GOTRACEBACK says, none included (gort printed the two signal lines
 * alone at GORTRACEBACK=none).  The program is sigquit.c's.
 */
#include "sigquit.c"
