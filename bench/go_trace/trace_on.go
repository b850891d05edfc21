// trace_on.go - compiled into a copy of the Go reference
// (../shared/reference/go/bench.go) by scripts/bench_profile.sh, to measure
// Go's own tracing overhead: with GOBENCH_TRACE=FILE the whole run is
// recorded with runtime/trace, as GORT_BENCH_TRACE does for gort-bench.
// The trace is not stopped: the process exits with it running (the
// overhead being measured is the recording, not the final flush).
package main

import (
	"os"
	"runtime/trace"
)

func init() {
	path := os.Getenv("GOBENCH_TRACE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	if err := trace.Start(f); err != nil {
		panic(err)
	}
}
