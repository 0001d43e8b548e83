// Package sipptest runs SIPp (the sip-tester package) against a runtime
// listener in tests and reads its statistics.
package sipptest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Options of one SIPp run. Calls are OPTIONS transactions of the scenario.
type Options struct {
	Scenario  string   // scenario XML file
	Transport string   // SIPp -t: u1, un, t1, tn, s1, sn
	Local     string   // -i: local address
	LocalPort int      // -p: local port (0: SIPp's default, 5060)
	Target    string   // remote address:port
	Calls     int      // -m
	Rate      int      // -r calls per second
	Extra     []string // more arguments (e.g. -multihome ADDR, -max_socket N)
	Timeout   time.Duration
}

// Result is what a run reported.
type Result struct {
	ExitCode   int
	Successful int     // SuccessfulCall(C): column 16 of the -trace_stat CSV
	Failed     int     // FailedCall(C): column 18
	CallRate   float64 // CallRate(C): column 8, calls per second
	Elapsed    time.Duration
	Output     string // stdout and stderr
}

// Scenario returns the absolute path of the OPTIONS scenario shipped in
// runtime/testdata/sipp.
func Scenario() string { return ScenarioFile("options.xml") }

// ScenarioFile returns the absolute path of a scenario shipped in
// runtime/testdata/sipp: agent.xml (a session-agent answering MESSAGE and
// OPTIONS), message.xml (a MESSAGE through the SBC to the agent named by
// -s, expecting its 200) and message-503.xml (expecting the SBC's 503).
func ScenarioFile(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "sipp", name)
}

// Run runs SIPp and returns its result; it fails t only when SIPp cannot be
// run or its statistics cannot be read.
func Run(t testing.TB, o Options) Result {
	t.Helper()
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is not installed (apt-get install sip-tester): %v", err)
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	dir := t.TempDir()
	stat := filepath.Join(dir, "stat.csv")
	args := []string{"-sf", o.Scenario, "-t", o.Transport, "-m", strconv.Itoa(o.Calls), "-r", strconv.Itoa(o.Rate),
		"-nostdin", "-timeout", fmt.Sprintf("%ds", int(o.Timeout.Seconds())), "-timeout_error",
		"-trace_stat", "-stf", stat, "-fd", "1", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	if o.Local != "" {
		args = append(args, "-i", o.Local)
	}
	if o.LocalPort != 0 {
		args = append(args, "-p", strconv.Itoa(o.LocalPort))
	}
	args = append(append(args, o.Extra...), o.Target)
	cmd := exec.Command(sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	res := Result{Elapsed: time.Since(start), Output: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ExitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sipp %s: %v", strings.Join(args, " "), err)
	}
	if errs, _ := os.ReadFile(filepath.Join(dir, "errors.log")); len(errs) > 0 {
		res.Output += "\n--- sipp error log ---\n" + tail(string(errs), 4000)
	}
	b, err := os.ReadFile(stat)
	if err != nil {
		t.Fatalf("sipp wrote no statistics (%v); exit %d; output:\n%s", err, res.ExitCode, tail(res.Output, 4000))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		t.Fatalf("sipp statistics have no data line:\n%s", b)
	}
	cols := strings.Split(lines[len(lines)-1], ";")
	if len(cols) < 18 {
		t.Fatalf("sipp statistics line has %d columns:\n%s", len(cols), lines[len(lines)-1])
	}
	res.Successful, _ = strconv.Atoi(cols[15])
	res.Failed, _ = strconv.Atoi(cols[17])
	res.CallRate, _ = strconv.ParseFloat(cols[7], 64)
	return res
}

// Process is a SIPp running in the background: a UAS playing a
// session-agent.
type Process struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// Start starts SIPp with o (Calls 0: no limit) and returns at once; the
// process is killed when the test ends, if it has not been before.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is not installed (apt-get install sip-tester): %v", err)
	}
	dir := t.TempDir()
	args := []string{"-sf", o.Scenario, "-t", o.Transport, "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	if o.Calls > 0 {
		args = append(args, "-m", strconv.Itoa(o.Calls))
	}
	if o.Local != "" {
		args = append(args, "-i", o.Local)
	}
	if o.LocalPort != 0 {
		args = append(args, "-p", strconv.Itoa(o.LocalPort))
	}
	args = append(args, o.Extra...)
	if o.Target != "" {
		args = append(args, o.Target)
	}
	p := &Process{cmd: exec.Command(sipp, args...), out: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("sipp %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	return p
}

// Kill kills the process (SIGKILL: as abrupt as a crash) and waits for it.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// Exited reports whether the process has ended, with its output.
func (p *Process) Exited() (bool, string) {
	select {
	case <-p.done:
		return true, tail(p.out.String(), 4000)
	default:
		return false, ""
	}
}

// Check fails t unless every one of want calls succeeded and SIPp exited 0.
func (r Result) Check(t testing.TB, want int) {
	t.Helper()
	if r.ExitCode != 0 || r.Successful != want || r.Failed != 0 {
		t.Fatalf("sipp: exit %d, %d successful, %d failed calls; want exit 0, %d successful, 0 failed\n%s\n%s",
			r.ExitCode, r.Successful, r.Failed, want, tail(r.Output, 4000), KernelCounters())
	}
}

// KernelCounters returns the kernel's counters that tell where messages
// waited or were lost (SCTP retransmissions, the per-CPU backlog's
// drops), the SCTP ones that are not zero, for a failure's message.
func KernelCounters() string {
	var b strings.Builder
	if snmp, err := os.ReadFile("/proc/net/sctp/snmp"); err == nil {
		b.WriteString("kernel SCTP counters:")
		for _, line := range strings.Split(string(snmp), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[1] != "0" {
				b.WriteString(" " + f[0] + "=" + f[1])
			}
		}
		b.WriteString("\n")
	}
	if ss, err := os.ReadFile("/proc/net/softnet_stat"); err == nil {
		b.WriteString("softnet_stat (per CPU: processed dropped squeezed ...): " + strings.TrimSpace(string(ss)) + "\n")
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
