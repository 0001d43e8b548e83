package sctp

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scaleAssocs is the number of concurrent associations of the scale test.
const scaleAssocs = 1000

// clientsEnv makes the test binary a client process for holdAssociations:
// "PORT:N".
const clientsEnv = "ACLI_SCTP_TEST_CLIENTS"

// scaleOptions keep an idle association small: few streams.
func scaleOptions() Options {
	o := testOptions()
	o.OutStreams, o.InStreams = 2, 2
	return o
}

// TestClientsProcess is the client side of holdAssociations, run in a child
// process (so that the server's memory and threads are measured alone). In
// a normal test run it has nothing to do.
func TestClientsProcess(t *testing.T) {
	spec := os.Getenv(clientsEnv)
	if spec == "" {
		return // not the child process
	}
	var port, n int
	if _, err := fmt.Sscanf(spec, "%d:%d", &port, &n); err != nil {
		t.Fatalf("%s=%q: %v", clientsEnv, spec, err)
	}
	// Dial from a few goroutines: handshakes overlap.
	conns := make([]*Conn, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				c, err := Dial(nil, []netip.Addr{lo1}, port, scaleOptions())
				if err != nil {
					t.Errorf("association %d: %v", i, err)
					continue
				}
				if err := c.WriteMsg([]byte("OPTIONS sip:x SIP/2.0\r\n\r\n"), 0, 0); err != nil {
					t.Errorf("association %d: %v", i, err)
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		return
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin) // hold them until the parent closes stdin
	for _, c := range conns {
		c.Abort()
	}
}

type holdResult struct {
	assocs       int
	threads      int     // OS threads of the server process
	rssPerAssoc  float64 // bytes of server VmRSS per idle association
	slabPerAssoc float64 // bytes of kernel slab per association (both ends)
	setup        time.Duration
}

// holdAssociations opens n associations from a child process to one
// listener of this process, has each send one message, and measures this
// process's OS threads and resident memory with the associations idle.
func holdAssociations(tb testing.TB, n int) holdResult {
	s := startServer(tb, []netip.Addr{lo1}, 0, scaleOptions(), false)
	settle()
	rss0, slab0 := procValue(tb, "/proc/self/status", "VmRSS"), procValue(tb, "/proc/meminfo", "Slab")

	start := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestClientsProcess$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%d", clientsEnv, s.Port(), n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				ready <- true
				io.Copy(io.Discard, stdout)
				return
			}
			tb.Logf("client process: %s", sc.Text())
		}
		ready <- false
	}()
	received := 0
	deadline := time.After(2 * time.Minute)
	for received < n {
		select {
		case <-s.msgs:
			received++
		case ok := <-ready:
			if !ok {
				tb.Fatalf("client process failed after %d associations", received)
			}
			ready = nil
		case <-deadline:
			tb.Fatalf("only %d of %d associations sent their message within 2 minutes", received, n)
		}
	}
	if ready != nil && !<-ready {
		tb.Fatal("client process failed")
	}
	r := holdResult{setup: time.Since(start)}
	st := s.Stats()
	r.assocs = st.Assocs
	if st.Assocs != n || st.Up != uint64(n) {
		tb.Fatalf("server stats %+v, want %d associations up", st, n)
	}
	if k, err := s.Assocs(); err != nil || k != n {
		tb.Fatalf("kernel has %d associations on the listener (%v), want %d", k, err, n)
	}
	settle()
	r.threads = int(procValue(tb, "/proc/self/status", "Threads"))
	rss1, slab1 := procValue(tb, "/proc/self/status", "VmRSS"), procValue(tb, "/proc/meminfo", "Slab")
	r.rssPerAssoc = float64(rss1-rss0) * 1024 / float64(n)
	r.slabPerAssoc = float64(slab1-slab0) * 1024 / float64(n)
	return r
}

// settle collects garbage and returns it to the OS, so that VmRSS holds
// what is live.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(50 * time.Millisecond)
}

// procValue returns the number of the "key:" line of a /proc file (kB for
// sizes).
func procValue(tb testing.TB, file, key string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	tb.Fatalf("no %s in %s", key, file)
	return 0
}

// TestThousandAssociations: one listener holds 1,000 concurrent
// associations on a few OS threads and little memory per association.
func TestThousandAssociations(t *testing.T) {
	r := holdAssociations(t, scaleAssocs)
	t.Logf("%d associations: set up and one message each in %v; server process: %d OS threads, "+
		"%.0f bytes RSS per idle association; kernel slab %.0f bytes per association (both ends)",
		r.assocs, r.setup.Round(time.Millisecond), r.threads, r.rssPerAssoc, r.slabPerAssoc)
	if r.threads > 16 {
		t.Errorf("%d OS threads for %d associations: one reader thread and the netpoller should need a few", r.threads, r.assocs)
	}
	if r.rssPerAssoc > 64<<10 {
		t.Errorf("%.0f bytes of RSS per association, want well under 64 KiB", r.rssPerAssoc)
	}
}

// BenchmarkThousandAssociations reports the figures of
// TestThousandAssociations as metrics (run with -bench and -benchtime=1x).
func BenchmarkThousandAssociations(b *testing.B) {
	r := holdAssociations(b, scaleAssocs)
	for b.Loop() {
	}
	b.ReportMetric(float64(r.threads), "threads")
	b.ReportMetric(r.rssPerAssoc, "rss-B/assoc")
	b.ReportMetric(r.slabPerAssoc, "slab-B/assoc")
	b.ReportMetric(float64(r.setup.Microseconds())/float64(r.assocs), "setup-µs/assoc")
	b.ReportMetric(0, "ns/op")
}
