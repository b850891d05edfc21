// Go timings of the gort-bench workloads that the reference program
// (../shared/reference/go/bench.go) does not have: defer_call and
// panic_recover (issue 5).  scripts/bench.sh builds this program (when
// bench/go/go.mod exists) and runs it next to gort-bench; bench/wl_panic.c
// is the C side.  Flags, output and measurement rules are the reference's:
//
//	go build -o extra . && ./extra -w all   # every workload, each in a fresh child process
//	./extra -w defer_call -reps 5
//	./extra -list
//
// Output: "# gomaxprocs=N go=VERSION" (not with -child), then one line
// "BENCH <name> <value> <unit>" per result of the best of -reps (default 3)
// repetitions, each preceded by runtime.GC().  Standard library only
// (GOPROXY=off).
//
// The workloads (identical in bench/wl_panic.c; main goroutine, GOMAXPROCS
// the default, the clock around the loop only):
//
// defer_call - deferCallN (20,000,000) calls of deferOnce, which defers one
// call to noop (a function taking a pointer argument) and returns; noop
// increments the counter, checked == N afterwards.  Both are noinline.
// gort: gort_call(defer_once, &counter) with defer_once doing
// gort_defer(noop, arg).  Value: elapsed / N, ns/op.
//
// panic_recover - panicRecoverN (1,000,000) calls of panicOnce, which defers
// rec and then panics with the constant string "boom"; rec calls recover()
// and counts a non-nil result; count == N is checked.  gort:
// gort_call(panic_once, &count) with panic_once doing gort_defer(rec, arg)
// then gort_panic("boom"), rec doing if (gort_recover()) (*count)++.
// Value: elapsed / N, ns/op.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Workload sizes; bench/main.c (bench_full_sizes) uses the same numbers.
const (
	deferCallN    = 20000000 // deferOnce calls in defer_call
	panicRecoverN = 1000000  // panic+recover cycles in panic_recover
)

type result struct {
	name  string
	value float64
	unit  string
}

type workload struct {
	name         string
	procs        int  // 0: GOMAXPROCS = all cores (default); 1: GOMAXPROCS(1)
	higherBetter bool // best repetition is the highest first value (else lowest)
	singleRep    bool // run once regardless of -reps
	run          func() []result
}

var defaultProcs = runtime.GOMAXPROCS(0)

func nsPer(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

func fmtVal(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// ---------------------------------------------------------------- workloads

//go:noinline
func noop(p *int) { *p++ }

//go:noinline
func deferOnce(p *int) { defer noop(p) }

// defer_call: deferCallN calls of a function that defers noop(p) and returns.
func deferCall() []result {
	counter := 0
	start := time.Now()
	for i := 0; i < deferCallN; i++ {
		deferOnce(&counter)
	}
	el := time.Since(start)
	if counter != deferCallN {
		panic("defer_call: bad counter")
	}
	return []result{{"defer_call", nsPer(el, deferCallN), "ns/op"}}
}

//go:noinline
func rec(c *int) {
	if recover() != nil {
		*c++
	}
}

//go:noinline
func panicOnce(c *int) {
	defer rec(c)
	panic("boom")
}

// panic_recover: panicRecoverN calls of a function that defers rec(c) and
// panics with a constant string; rec recovers and counts.
func panicRecover() []result {
	count := 0
	start := time.Now()
	for i := 0; i < panicRecoverN; i++ {
		panicOnce(&count)
	}
	el := time.Since(start)
	if count != panicRecoverN {
		panic("panic_recover: bad count")
	}
	return []result{{"panic_recover", nsPer(el, panicRecoverN), "ns/op"}}
}

// ---------------------------------------------------------------- driver

var workloads = []workload{
	{name: "defer_call", run: deferCall},
	{name: "panic_recover", run: panicRecover},
}

func find(name string) *workload {
	for i := range workloads {
		if workloads[i].name == name {
			return &workloads[i]
		}
	}
	return nil
}

func runOne(w *workload, reps int) {
	procs := defaultProcs
	if w.procs == 1 {
		procs = 1
	}
	old := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(old)
	if w.singleRep {
		reps = 1
	}
	var best []result
	for r := 0; r < reps; r++ {
		runtime.GC()
		res := w.run()
		if best == nil ||
			(w.higherBetter && res[0].value > best[0].value) ||
			(!w.higherBetter && res[0].value < best[0].value) {
			best = res
		}
	}
	for _, r := range best {
		fmt.Printf("BENCH %s %s %s\n", r.name, fmtVal(r.value), r.unit)
	}
}

func main() {
	wflag := flag.String("w", "all", "workload name, comma-separated names, or all")
	reps := flag.Int("reps", 3, "repetitions per workload (best is printed)")
	child := flag.Bool("child", false, "internal: no header line")
	list := flag.Bool("list", false, "list workload names")
	flag.Parse()

	if *list {
		for _, w := range workloads {
			fmt.Println(w.name)
		}
		return
	}
	if !*child {
		fmt.Printf("# gomaxprocs=%d go=%s\n", defaultProcs, runtime.Version())
	}
	if *wflag == "all" {
		// Each workload in a fresh process, as the reference does.
		self, err := os.Executable()
		if err != nil {
			panic(err)
		}
		for _, w := range workloads {
			cmd := exec.Command(self, "-child", "-reps", strconv.Itoa(*reps), "-w", w.name)
			cmd.Stdout = os.Stdout
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "workload %s failed: %v\n", w.name, err)
				os.Exit(1)
			}
		}
		return
	}
	for _, name := range strings.Split(*wflag, ",") {
		w := find(strings.TrimSpace(name))
		if w == nil {
			fmt.Fprintf(os.Stderr, "unknown workload %q (use -list)\n", name)
			os.Exit(2)
		}
		runOne(w, *reps)
	}
}
