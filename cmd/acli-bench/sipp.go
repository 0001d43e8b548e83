package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sippStats is the last line of a SIPp -trace_stat CSV (cumulative
// counters).
type sippStats struct {
	Created    int     // TotalCallCreated
	Successful int     // SuccessfulCall(C)
	Failed     int     // FailedCall(C)
	Retrans    int     // Retransmissions(C)
	CallRate   float64 // CallRate(C): calls per second over the whole run
	Elapsed    float64 // ElapsedTime(C), seconds
}

// parseSippStat parses a SIPp statistics CSV (-trace_stat -stf FILE): a
// header line of ';'-separated column names, then one line per -fd period,
// the last holding the final cumulative counters. Columns are found by
// name.
func parseSippStat(b []byte) (sippStats, error) {
	var st sippStats
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	if len(lines) < 2 {
		return st, fmt.Errorf("SIPp stat file: %d lines, want a header and at least one line of figures", len(lines))
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	var errs []error
	field := func(name string) string {
		i, ok := col[name]
		if !ok {
			errs = append(errs, fmt.Errorf("no column %s", name))
			return ""
		}
		if i >= len(last) {
			errs = append(errs, fmt.Errorf("column %s: the last line has %d fields", name, len(last)))
			return ""
		}
		return strings.TrimSpace(last[i])
	}
	integer := func(name string) int {
		s := field(name)
		if s == "" {
			return 0
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("column %s: %v", name, err))
		}
		return v
	}
	st.Created = integer("TotalCallCreated")
	st.Successful = integer("SuccessfulCall(C)")
	st.Failed = integer("FailedCall(C)")
	st.Retrans = integer("Retransmissions(C)")
	if s := field("CallRate(C)"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("column CallRate(C): %v", err))
		}
		st.CallRate = v
	}
	if s := field("ElapsedTime(C)"); s != "" {
		d, err := parseHMS(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("column ElapsedTime(C): %v", err))
		}
		st.Elapsed = d
	}
	return st, errors.Join(errs...)
}

// parseHMS parses SIPp's elapsed time "HH:MM:SS" (with an optional
// ":micros" or ".frac" part) into seconds.
func parseHMS(s string) (float64, error) {
	p := strings.Split(s, ":")
	if len(p) < 3 || len(p) > 4 {
		return 0, fmt.Errorf("%q: want HH:MM:SS", s)
	}
	var v [3]float64
	for i := range 3 {
		f, err := strconv.ParseFloat(p[i], 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("%q: want HH:MM:SS", s)
		}
		v[i] = f
	}
	sec := v[0]*3600 + v[1]*60 + v[2]
	if len(p) == 4 {
		us, err := strconv.Atoi(p[3])
		if err != nil || us < 0 {
			return 0, fmt.Errorf("%q: want HH:MM:SS:micros", s)
		}
		sec += float64(us) / 1e6
	}
	return sec, nil
}

// sippRun is one load: instances SIPp processes in parallel, each with its
// own local port, sharing rate and calls.
type sippRun struct {
	Bin       string
	Scenario  string
	Mode      string // s1, sn, u1
	Target    string // host:port
	Local     string // local IP
	BasePort  int
	Instances int
	Rate      int // total calls per second (0: as fast as Limit allows)
	Calls     int // total calls
	Dir       string
	Limit     int      // -l, simultaneous calls per instance (0: a second's worth, at least 100)
	Extra     []string // further arguments (-s SERVICE)
	Pin       string   // taskset -c of the instances ("": not pinned)
	// BuffSize is SIPp's socket buffer size (-buff_size; 0: its default,
	// whose receive buffer overflows at saturation: SIPp then loses the
	// server's answers in its own socket and counts them as failed calls).
	BuffSize int
}

// unlimitedRate is the -r of a run without a rate: far above what one
// SIPp sends, so that -l alone bounds it.
const unlimitedRate = 1_000_000

// sippResult sums the instances.
type sippResult struct {
	sippStats
	CPUSeconds float64 // SIPp's own CPU (rusage of the processes)
	Wall       float64
	Errors     []string
}

// args returns one instance's SIPp arguments.
func (r sippRun) args(i int) []string {
	n := r.Instances
	calls := r.Calls / n
	if i < r.Calls%n {
		calls++
	}
	rate := float64(r.Rate) / float64(n)
	limit := max(int(rate), 100) // simultaneous calls: a second's worth
	// SIPp stops by itself: every call is sent and answered or timed out
	// (5 s); -timeout bounds the whole run at twice its nominal length
	// (a run without a rate: at 1,000 calls/s).
	timeout := int(float64(calls)/max(rate, 1000)*2) + 30
	if r.Rate == 0 {
		rate = unlimitedRate
	}
	if r.Limit > 0 {
		limit = r.Limit
	}
	return append(append([]string{
		"-sf", r.Scenario, "-nostdin", "-t", r.Mode,
		"-i", r.Local, "-p", strconv.Itoa(r.BasePort + i),
		"-m", strconv.Itoa(calls), "-r", strconv.FormatFloat(rate, 'f', 3, 64), "-rp", "1000",
		"-l", strconv.Itoa(limit),
		"-max_socket", "60000",
		"-timeout", strconv.Itoa(timeout) + "s", "-timeout_error",
		"-trace_stat", "-stf", r.statFile(i), "-fd", "1",
		"-trace_err", "-error_file", r.errFile(i),
	}, append(r.buffArgs(), r.Extra...)...), r.Target)
}

func (r sippRun) buffArgs() []string {
	if r.BuffSize <= 0 {
		return nil
	}
	return []string{"-buff_size", strconv.Itoa(r.BuffSize)}
}

func (r sippRun) statFile(i int) string {
	return filepath.Join(r.Dir, fmt.Sprintf("sipp-%d-stat.csv", i))
}

func (r sippRun) errFile(i int) string {
	return filepath.Join(r.Dir, fmt.Sprintf("sipp-%d-errors.log", i))
}

// run starts the instances, waits for all of them and sums their
// statistics. Failures to parse an instance's figures are errors; SIPp's
// exit status is not (it is 1 whenever a call failed, which the figures
// say).
func (r sippRun) run(ctx context.Context) sippResult {
	var res sippResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := range r.Instances {
		os.Remove(r.statFile(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, r.Bin, r.args(i)...)
			if r.Pin != "" {
				cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", r.Pin, r.Bin}, r.args(i)...)...)
			}
			cmd.Dir = r.Dir
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			cmd.WaitDelay = 5 * time.Second
			err := cmd.Run()
			mu.Lock()
			defer mu.Unlock()
			if ps := cmd.ProcessState; ps != nil {
				res.CPUSeconds += ps.UserTime().Seconds() + ps.SystemTime().Seconds()
			}
			b, rerr := os.ReadFile(r.statFile(i))
			if rerr != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("sipp %d: %v (exit: %v): %s", i, rerr, err, lastLines(out.Bytes(), 5)))
				return
			}
			st, perr := parseSippStat(b)
			if perr != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("sipp %d: %v", i, perr))
				return
			}
			if code := exitCode(err); code > 1 {
				// SIPp's fatal errors (its watchdog's among them) end its
				// error file; its output ends with the statistics screen.
				eb, _ := os.ReadFile(r.errFile(i))
				res.Errors = append(res.Errors, fmt.Sprintf("sipp %d exited %d: error file: %s; output: %s", i, code, lastLines(eb, 2), lastLines(out.Bytes(), 5)))
			}
			res.Created += st.Created
			res.Successful += st.Successful
			res.Failed += st.Failed
			res.Retrans += st.Retrans
			res.CallRate += st.CallRate
			res.Elapsed = max(res.Elapsed, st.Elapsed)
		}()
	}
	wg.Wait()
	res.Wall = time.Since(start).Seconds()
	return res
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return 255
	}
	return 0
}

// lastLines returns the last n non-empty lines of b, joined by " | ".
func lastLines(b []byte, n int) string {
	var ls []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}
