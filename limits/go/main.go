// main.go - the Go side of `make limits` (limits/limits.c does the same
// with gort).  Standard library only; built with GOPROXY=off.
//
//	gortlimits goroutines [-max N] [-cap-mib M]
//	gortlimits timers [-max N] [-cap-mib M]
//	gortlimits conns [-max N] [-cap-mib M]
//
// Prints one line in limits.c's format:
//
//	LIMIT <what> count=N rss_mib=R bytes_each=B per_gib=P stop=<why> ...
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// progress: print the count after each batch (to stderr), so that the
// count is known when the runtime dies at the limit.
var progress bool

const (
	mib = 1024.0 * 1024.0
	gib = 1024.0 * 1024.0 * 1024.0
)

// statm stays open: at an fd limit (the conns run) opening it would fail.
var statm *os.File

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes() int64 {
	if statm == nil {
		f, err := os.Open("/proc/self/statm")
		if err != nil {
			panic(err)
		}
		statm = f
	}
	b := make([]byte, 128)
	n, err := statm.ReadAt(b, 0)
	if n <= 0 {
		panic(err)
	}
	var size, res int64
	fmt.Sscan(string(b[:n]), &size, &res)
	return res * int64(os.Getpagesize())
}

func memAvailableMiB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), "MemAvailable: %d kB", &kb); n == 1 {
			return kb / 1024
		}
	}
	return 0
}

func perGiB(n, used int64) float64 {
	if used <= 0 {
		return 0
	}
	return float64(n) / (float64(used) / gib)
}

func each(n, used int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(used) / float64(n)
}

func goroutines(max, capMiB int64) {
	ch := make(chan struct{})
	var parked, exited int64
	var wg sync.WaitGroup
	limit := capMiB * 1024 * 1024
	base := rssBytes()
	var n int64
	stop := "max"
	t0 := time.Now()
	for n < max {
		batch := int64(10000)
		if max-n < batch {
			batch = max - n
		}
		for i := int64(0); i < batch; i++ {
			wg.Add(1)
			go func() {
				atomic.AddInt64(&parked, 1)
				<-ch
				atomic.AddInt64(&exited, 1)
				wg.Done()
			}()
			n++
		}
		for atomic.LoadInt64(&parked) < n {
			runtime.Gosched()
		}
		if progress {
			// What a crash at the limit leaves behind: the last count.
			fmt.Fprintf(os.Stderr, "progress goroutines=%d\n", n)
		}
		if rssBytes()-base > limit {
			stop = "rss-cap"
			break
		}
	}
	tSpawn := time.Since(t0).Seconds()
	used := rssBytes() - base
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t0 = time.Now()
	close(ch)
	wg.Wait()
	tExit := time.Since(t0).Seconds()
	fmt.Printf("LIMIT goroutines count=%d rss_mib=%.0f bytes_each=%.0f per_gib=%.0f stop=%s "+
		"spawn_s=%.2f release_s=%.2f stack_sys_mib=%.0f cap_mib=%d\n",
		n, float64(used)/mib, each(n, used), perGiB(n, used), stop, tSpawn, tExit,
		float64(ms.StackSys)/mib, capMiB)
}

func timers(max, capMiB int64) {
	ts := make([]*time.Timer, 0, max)
	limit := capMiB * 1024 * 1024
	base := rssBytes()
	stop := "max"
	t0 := time.Now()
	f := func() {}
	for int64(len(ts)) < max {
		ts = append(ts, time.AfterFunc(time.Hour, f))
		if len(ts)%100000 == 0 && rssBytes()-base > limit {
			stop = "rss-cap"
			break
		}
	}
	tStart := time.Since(t0).Seconds()
	used := rssBytes() - base
	n := int64(len(ts))
	t0 = time.Now()
	var stopped int64
	for i, t := range ts {
		if t.Stop() {
			stopped++
		}
		ts[i] = nil
	}
	tStop := time.Since(t0).Seconds()
	fmt.Printf("LIMIT timers count=%d rss_mib=%.0f bytes_each=%.0f per_gib=%.0f stop=%s "+
		"start_s=%.2f stop_s=%.2f stopped=%d cap_mib=%d\n",
		n, float64(used)/mib, each(n, used), perGiB(n, used), stop, tStart, tStop, stopped,
		capMiB)
}

// conns opens loopback connections, a goroutine blocked in Read on the
// accepted end of each, until max, the cap or an error (an fd limit; Go
// raised the soft RLIMIT_NOFILE to the hard one at start-up).
func conns(max, capMiB int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Printf("LIMIT conns count=0 stop=listen:%s\n", strings.ReplaceAll(err.Error(), " ", "_"))
		return
	}
	var readers, ended int64
	limit := capMiB * 1024 * 1024
	base := rssBytes()
	cs := make([]net.Conn, 0, 1024)
	stop := "max"
	t0 := time.Now()
	for int64(len(cs)) < max {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			stop = "Dial:" + errName(err)
			break
		}
		s, err := ln.Accept()
		if err != nil {
			c.Close()
			stop = "Accept:" + errName(err)
			break
		}
		go func() {
			atomic.AddInt64(&readers, 1)
			b := make([]byte, 64)
			for {
				if _, err := s.Read(b); err != nil {
					break
				}
			}
			s.Close()
			atomic.AddInt64(&ended, 1)
		}()
		cs = append(cs, c)
		if len(cs)%1000 == 0 {
			for atomic.LoadInt64(&readers) < int64(len(cs)) {
				runtime.Gosched()
			}
			if rssBytes()-base > limit {
				stop = "rss-cap"
				break
			}
		}
	}
	n := int64(len(cs))
	for atomic.LoadInt64(&readers) < n {
		runtime.Gosched()
	}
	tOpen := time.Since(t0).Seconds()
	used := rssBytes() - base
	t0 = time.Now()
	for _, c := range cs {
		c.Close()
	}
	for atomic.LoadInt64(&ended) < n {
		time.Sleep(time.Millisecond)
	}
	tClose := time.Since(t0).Seconds()
	ln.Close()
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	fmt.Printf("LIMIT conns count=%d rss_mib=%.0f bytes_each=%.0f per_gib=%.0f stop=%s "+
		"open_s=%.2f close_s=%.2f nofile=%d cap_mib=%d\n",
		n, float64(used)/mib, each(n, used), perGiB(n, used), stop, tOpen, tClose, rl.Cur, capMiB)
}

// errName: "EMFILE" for "too many open files", else the error without blanks.
func errName(err error) string {
	if errors.Is(err, syscall.EMFILE) {
		return "EMFILE"
	}
	if errors.Is(err, syscall.ENFILE) {
		return "ENFILE"
	}
	return strings.ReplaceAll(err.Error(), " ", "_")
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gortlimits goroutines|timers|conns [-max N] [-cap-mib M]")
		os.Exit(2)
	}
	what := os.Args[1]
	fs := flag.NewFlagSet(what, flag.ExitOnError)
	max := fs.Int64("max", 10000000, "count cap")
	capMiB := fs.Int64("cap-mib", 0, "RSS cap in MiB (0: min(4096, 80% of MemAvailable))")
	fs.BoolVar(&progress, "progress", false, "print the count after each batch to stderr")
	fs.Parse(os.Args[2:])
	if *capMiB <= 0 {
		avail := memAvailableMiB() * 8 / 10
		*capMiB = 4096
		if avail > 0 && avail < 4096 {
			*capMiB = avail
		}
	}
	switch strings.ToLower(what) {
	case "goroutines":
		goroutines(*max, *capMiB)
	case "timers":
		timers(*max, *capMiB)
	case "conns":
		conns(*max, *capMiB)
	default:
		fmt.Fprintln(os.Stderr, "unknown limit", what)
		os.Exit(2)
	}
}
