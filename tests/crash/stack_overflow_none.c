// ENV: TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0
// EXPECT-EXIT: 2
// EXPECT-STDERR: runtime: goroutine stack exceeds
// EXPECT-STDERR: runtime: sp=
// EXPECT-STDERR: fatal error: stack overflow
// EXPECT-STDERR: runtime stack:
// EXPECT-STDERR: fault_handler(
// EXPECT-STDERR: goroutine 2 [running]:
// EXPECT-STDERR: recurse(
// EXPECT-STDERR: created by main_fn in goroutine 1
// ENV: GORTRACEBACK=none
/*
 * A stack overflow is a throw of the runtime's: Go 1.19's gotraceback
 * shows the runtime stack and every goroutine whatever GOTRACEBACK says,
 * none included (gort printed the limit, sp and fatal error lines alone
 * at GORTRACEBACK=none).  The program is stack_overflow.c's.
 */
#include "stack_overflow.c"
