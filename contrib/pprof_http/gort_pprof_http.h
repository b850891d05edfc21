/*
 * gort_pprof_http.h - /debug/pprof/ over HTTP for gort programs, as Go's
 * net/http/pprof: `go tool pprof http://HOST:PORT/debug/pprof/profile`,
 * `.../goroutine?debug=2`, `curl .../trace?seconds=5 > trace.out`.
 *
 * A companion library (libgort_pprof.a, pkg-config gort-pprof): the core
 * library does not depend on it.  It speaks just enough HTTP/1.1 for the
 * Go toolchain, curl and browsers: GET, and HEAD (GET's answer without
 * its content, the request served all the same, as Go's: a HEAD of
 * profile?seconds=N takes N s), one request per connection; other
 * methods are 405.
 *
 *   /debug/pprof/                     index
 *   /debug/pprof/profile?seconds=N    CPU profile over N s (default 30)
 *   /debug/pprof/trace?seconds=N      execution trace over N s (default 1;
 *                                     N may have a fraction)
 *   /debug/pprof/NAME?debug=N         goroutine, heap, allocs, block, mutex,
 *                                     threadcreate (debug 0: proto; 1, 2: text)
 *   /debug/pprof/heap?gc=1            gort_gc() first, as net/http/pprof
 *   /debug/pprof/NAME?seconds=N       a delta profile (the six above): the
 *                                     profile N s later minus the one now
 *                                     (gort_pprof_write_delta); N a positive
 *                                     integer, debug 0, else 400 as Go's
 *   /debug/pprof/cmdline              the command line, NUL-separated
 *
 * A profile, delta or trace ends early when its client goes away (closes or
 * resets the connection), as net/http/pprof's does with the request's
 * context: otherwise the profiler stays busy for the rest of N, and other
 * clients are refused ("cpu profiling already in use").
 *
 * Expose it on loopback or behind access control: a profile shows the
 * program's code and data.
 */
#ifndef GORT_PPROF_HTTP_H
#define GORT_PPROF_HTTP_H

#include "gort.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Serves one connection fd (from gort_accept: gort's non-blocking socket)
 * and closes it.  For servers that route requests themselves: hand over
 * a connection whose first request is for /debug/pprof/. */
GORT_API void gort_pprof_http_conn(int fd);
/* Accepts on the listening socket lfd and serves each connection in a
 * goroutine of its own, until accepting fails (lfd closed: returns 0;
 * another error: -errno).  Blocks: run it in a goroutine. */
GORT_API int gort_pprof_http_serve(int lfd);
/* gort_listen(addr) and a goroutine running gort_pprof_http_serve on it.
 * Returns the bound port (addr may say port 0) or -errno.  From a
 * goroutine (inside gort_main). */
GORT_API int gort_pprof_http_start(const char *addr);

#ifdef __cplusplus
}
#endif
#endif /* GORT_PPROF_HTTP_H */
