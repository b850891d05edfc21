/*
 * trace.h - the execution tracer's hooks (trace.c), called from the
 * scheduler.  Each is one line at its call site, GORT_TRACE(call): a
 * relaxed load of gort__trace_enabled and a branch predicted not taken
 * when tracing is off.
 */
#ifndef GORT_TRACE_H
#define GORT_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct g;
struct m;

/* Nonzero while a trace records (written under stop-the-world). */
extern _Atomic uint32_t gort__trace_enabled;

#define GORT_TRACE(call)                                                                           \
    do {                                                                                           \
        if (__builtin_expect(atomic_load_explicit(&gort__trace_enabled, memory_order_relaxed), 0)) \
            call;                                                                                  \
    } while (0)

/* newg was made runnable by the caller (GoCreate, before it is queued). */
void gort__trace_gocreate(struct g *newg);
/* mp starts running gp (GoStart). */
void gort__trace_gostart(struct m *mp, struct g *gp);
/* The same for a direct switch (switch_direct), right after the stop
 * event of the goroutine it switches from: stamped without a clock read. */
void gort__trace_gostart_direct(struct m *mp, struct g *gp);
/* The running gp parks for reason (GoBlock*, GoSleep), before its unlock
 * function can let anyone ready it. */
void gort__trace_goblock(struct g *gp, uint8_t reason);
/* gp yields (GoSched) or is preempted (GoPreempt), before it is queued. */
void gort__trace_gosched(struct g *gp, bool preempted);
/* gp exits (GoEnd). */
void gort__trace_goend(struct g *gp);
/* gp, parked, is made runnable by the caller (GoUnblock), before it is
 * queued. */
void gort__trace_gounblock(struct g *gp);
/* gp enters a blocking call (GoSysCall, GoSysBlock) while it still holds
 * its P.  Its GoSysExit is written by the GoStart of the P it runs on
 * next (gort__trace_gostart), as Go's execute writes it: only with a P is
 * the goroutine's trace state out of reach of a trace's start, which
 * stops the world but not the threads in blocking calls. */
void gort__trace_gosyscall(struct g *gp);
/* gp's blocking call returned and no P is at hand (the exit's slow path,
 * no P held): notes the time for its GoSysExit. */
void gort__trace_sysexit_stamp(struct g *gp);
/* The snapshot gate.  A thread without a P (a plain thread, an M back
 * from the poller with none) that makes a goroutine runnable or creates
 * one runs its trace check and state change between enter and exit, not
 * stopped by a stop of the world; a trace's start and a flight recorder's
 * generation wait, with the world stopped, for those inside and keep new
 * ones out while they read every goroutine's state.  Called whether or
 * not a trace records (its check is inside). */
void gort__trace_pless_enter(void);
void gort__trace_pless_exit(void);
/* mp is about to release its P (ProcStop). */
void gort__trace_procstop(struct m *mp);
/* For the collected heap (mgc.c), each one line GORT_TRACE(...): a GC
 * cycle starts (GCStart, with the caller's stack) and ends (GCDone); the
 * live heap and the goal changed (HeapAlloc, HeapGoal; goal 0: unchanged). */
void gort__trace_gc_start(void);
void gort__trace_gc_done(void);
void gort__trace_heap(uint64_t live, uint64_t goal);
/* The GC's stops of the world, called with the world stopped: kind 1
 * after the stop for sweep termination, 0 for mark termination (GCSTWStart),
 * and before the world restarts (GCSTWDone). */
void gort__trace_stw_start(int kind);
void gort__trace_stw_done(void);
/* A sweep loop of an allocating goroutine (GCSweepStart at its first span,
 * GCSweepDone), bracketed by gort__acquirem; gort__sweep_span reports each
 * span (bytes swept, bytes freed), which counts only inside a loop. */
void gort__trace_sweep_start(void);
void gort__trace_sweep_span(uint64_t swept, uint64_t reclaimed);
void gort__trace_sweep_done(void);
/* A goroutine's mark assist (GCMarkAssistStart, GCMarkAssistDone). */
void gort__trace_assist_start(void);
void gort__trace_assist_done(void);
/* Sysmon, every round: wakes the flight recorder's goroutine when a new
 * generation is due. */
void gort__trace_sysmon(int64_t now);
/* GORTDEBUG=flightrecorder=1: the main goroutine starts the recorder
 * (proc.c goentry); a fatal error, an unrecovered panic or SIGQUIT writes
 * it out. */
void gort__trace_flight_autostart(void);
void gort__trace_flight_crash(void);
/* The flight recorder's goroutine is the runtime's own (Go's
 * isSystemGoroutine): gort_numgoroutine does not count it (it subtracts
 * gort__trace_sysgs, 1 while it exists), and dumps below
 * GORTRACEBACK=system and the goroutine profile leave it out
 * (gort__trace_is_sysg). */
extern _Atomic int gort__trace_sysgs;
bool gort__trace_is_sysg(const struct g *gp);
/* gort_main's end, only the calling thread left: a trace still recording
 * is finished (written to its fd); the flight recorder is dropped. */
void gort__trace_shutdown(void);
/* At gort_main's end, after the goroutines waiting on it are unlinked:
 * releases the tracer's lock for a goroutine abandoned holding it. */
void gort__trace_abandon(void);

#endif /* GORT_TRACE_H */
