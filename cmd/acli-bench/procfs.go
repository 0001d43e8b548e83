package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100 on
// every Linux architecture the harness runs on (x86-64, arm64). In the UML
// guest the accounting is also tick-based (10 ms): a process is charged a
// whole tick when it is running at the timer interrupt.
const clockTicks = 100

// procStat is what the harness reads from /proc/PID/stat.
type procStat struct {
	PID, PPID     int
	PGrp          int
	Comm          string
	State         byte
	UTime, STime  uint64 // clock ticks
	CUTime, CSTim uint64 // clock ticks of waited-for children
	RSSPages      int64
}

// CPUTicks is the process's own CPU time (user + system) plus that of its
// waited-for children.
func (s procStat) CPUTicks() uint64 { return s.UTime + s.STime + s.CUTime + s.CSTim }

// parseProcStat parses the contents of /proc/PID/stat. The command name is
// in parentheses and may itself contain blanks and parentheses: the fields
// are counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	var s procStat
	line := strings.TrimSpace(string(b))
	open := strings.IndexByte(line, '(')
	end := strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return s, fmt.Errorf("/proc stat %q: no command name in parentheses", trunc(line))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return s, fmt.Errorf("/proc stat %q: pid: %v", trunc(line), err)
	}
	s.PID, s.Comm = pid, line[open+1:end]
	f := strings.Fields(line[end+1:])
	// f[0] is field 3 (state) of proc(5); field k is f[k-3].
	if len(f) < 22 {
		return s, fmt.Errorf("/proc stat %q: %d fields after the command, want at least 22", trunc(line), len(f))
	}
	if len(f[0]) != 1 {
		return s, fmt.Errorf("/proc stat %q: state %q", trunc(line), f[0])
	}
	s.State = f[0][0]
	num := func(k int) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(f[k-3], 10, 64)
		if err != nil {
			err = fmt.Errorf("/proc stat field %d %q: %v", k, f[k-3], err)
		}
		return v
	}
	s.PPID = int(num(4))
	s.PGrp = int(num(5))
	s.UTime, s.STime, s.CUTime, s.CSTim = num(14), num(15), num(16), num(17)
	rss, rerr := strconv.ParseInt(f[24-3], 10, 64)
	if err == nil && rerr != nil {
		err = fmt.Errorf("/proc stat field 24 %q: %v", f[24-3], rerr)
	}
	s.RSSPages = rss
	return s, err
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// parseKBField returns the value in kB of the line "name: N kB" of a
// /proc/PID/status, /proc/PID/smaps_rollup or /proc/meminfo file.
func parseKBField(b []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, fmt.Errorf("%s: no value", name)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", name, err)
		}
		if len(f) > 1 && f[1] != "kB" {
			return 0, fmt.Errorf("%s: unit %q, want kB", name, f[1])
		}
		return n, nil
	}
	return 0, fmt.Errorf("no %s line", name)
}

// readStat reads /proc/PID/stat.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// tree returns root and its descendants, root first (nil if root is gone).
func tree(root int) []procStat {
	rs, err := readStat(root)
	if err != nil {
		return nil
	}
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]procStat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil || pid == root {
			continue
		}
		s, err := readStat(pid)
		if err != nil {
			continue // exited meanwhile
		}
		children[s.PPID] = append(children[s.PPID], s)
	}
	out := []procStat{rs}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].PID]...)
	}
	return out
}

// usage is a sample of a process tree: CPU and memory summed over its
// processes.
type usage struct {
	Procs    int
	CPUTicks uint64 // user + system, children included
	SysTicks uint64 // system (kernel) part, children included
	RSSKB    int64  // sum of VmRSS: shared pages count once per process
	PSSKB    int64  // sum of Pss: shared pages split between the processes
}

// CPUSeconds converts the sample's ticks to seconds.
func (u usage) CPUSeconds() float64 { return float64(u.CPUTicks) / clockTicks }

// sampleTree samples root and its descendants.
func sampleTree(root int) (usage, error) {
	ps := tree(root)
	if len(ps) == 0 {
		return usage{}, fmt.Errorf("process %d is gone", root)
	}
	var u usage
	var errs []error
	for _, p := range ps {
		u.Procs++
		u.CPUTicks += p.CPUTicks()
		u.SysTicks += p.STime + p.CSTim
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID)); err == nil {
			if v, err := parseKBField(b, "VmRSS"); err == nil {
				u.RSSKB += v
			} else {
				errs = append(errs, fmt.Errorf("pid %d: %v", p.PID, err))
			}
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p.PID)); err == nil {
			if v, err := parseKBField(b, "Pss"); err == nil {
				u.PSSKB += v
			}
		}
	}
	return u, errors.Join(errs...)
}

// memAvailableKB reads MemAvailable from /proc/meminfo.
func memAvailableKB() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return parseKBField(b, "MemAvailable")
}

// cpuTimes is the system-wide line "cpu" of /proc/stat, in ticks.
type cpuTimes struct{ Busy, Total uint64 }

// parseCPULine parses /proc/stat's aggregate "cpu" line: idle and iowait
// are not busy.
func parseCPULine(b []byte) (cpuTimes, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		var t cpuTimes
		for i, s := range f[1:] {
			if i >= 8 { // guest and guest_nice are already in user and nice
				break
			}
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return t, fmt.Errorf("/proc/stat cpu field %d %q: %v", i+1, s, err)
			}
			t.Total += v
			if i != 3 && i != 4 { // idle, iowait
				t.Busy += v
			}
		}
		return t, nil
	}
	return cpuTimes{}, errors.New("/proc/stat: no cpu line")
}

func readCPUTimes() (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	return parseCPULine(b)
}

// hostLoad samples, on the host, the CPU busy with other work than the
// benchmark's own processes (the guest's linux.uml process group, SIPp
// and servers of the host reference being in it or in ours).
type hostLoad struct {
	mu      sync.Mutex
	samples []loadSample
}

type loadSample struct {
	at    time.Time
	busy  uint64 // host busy ticks, all CPUs
	ours  uint64 // ticks of our process groups
	valid bool
}

// ourTicks sums the CPU ticks of every process whose process group is
// one of ours: this process's own group and those of its children (the
// guest's kernel and its processes, servers and SIPp started in groups of
// their own). Children's children in further groups are found too.
func ourTicks(self int) uint64 {
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	var all []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		if s, err := readStat(pid); err == nil {
			all = append(all, s)
		}
	}
	byPID := map[int]procStat{}
	for _, s := range all {
		byPID[s.PID] = s
	}
	isOurs := func(s procStat) bool {
		for i := 0; i < 64 && s.PID != 0; i++ {
			if s.PID == self {
				return true
			}
			p, ok := byPID[s.PPID]
			if !ok {
				return false
			}
			s = p
		}
		return false
	}
	groups := map[int]bool{}
	for _, s := range all {
		if isOurs(s) {
			groups[s.PGrp] = true
		}
	}
	var t uint64
	for _, s := range all {
		if groups[s.PGrp] || isOurs(s) {
			// Children's times too: a process that exits and is reaped
			// moves its time into its parent's, keeping the sum monotonic.
			t += s.CPUTicks()
		}
	}
	return t
}

// run samples every second until ctx ends, and once more then (so that
// the last run's end is covered).
func (h *hostLoad) run(ctx context.Context) {
	self := os.Getpid()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		c, err := readCPUTimes()
		s := loadSample{at: time.Now(), busy: c.Busy, ours: ourTicks(self), valid: err == nil}
		h.mu.Lock()
		h.samples = append(h.samples, s)
		h.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// window returns the samples around from and to: the last at or before
// from and the first at or after to (nil if none).
func (h *hostLoad) window(from, to time.Time) (a, b *loadSample) {
	for i := range h.samples {
		s := &h.samples[i]
		if !s.valid {
			continue
		}
		if !s.at.After(from) {
			a = s
		}
		if b == nil && !s.at.Before(to) {
			b = s
		}
	}
	if a == nil || b == nil || !b.at.After(a.at) {
		return nil, nil
	}
	return a, b
}

// ours returns the CPU seconds of our process groups between from and to
// (-1 if the samples do not cover it).
func (h *hostLoad) oursBetween(from, to time.Time) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, b := h.window(from, to)
	if a == nil {
		return -1
	}
	return float64(b.ours-a.ours) / clockTicks
}

// other returns the CPU cores busy with other work between from and to
// (-1 if the samples do not cover it).
func (h *hostLoad) other(from, to time.Time) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, b := h.window(from, to)
	if a == nil {
		return -1
	}
	busy := float64(b.busy-a.busy) - float64(b.ours-a.ours)
	return max(busy, 0) / clockTicks / b.at.Sub(a.at).Seconds()
}

// threadCPU is the CPU time of every thread of a server's process tree on
// the scheduler's clock: the first field of /proc/PID/task/TID/schedstat,
// in nanoseconds, summed over the threads. It is sampled often (every
// 100 ms during a run): a thread that exits keeps the value of its last
// sample, so at most one interval of an exiting thread's time is lost.
// processClocks is the check: each process's CPU clock, which keeps its
// exited threads' time.
// The processes are those of root's tree at the first sample (both
// servers fork only at start-up), so that a sample reads no more than
// their threads' files.
type threadCPU struct {
	pids []int
	base map[[2]int]uint64 // (pid, tid): ns at the first sample
	last map[[2]int]uint64 // ns at the last sample it was seen in
}

// sample reads every thread of root and its descendants (the first call
// sets the base and the processes).
func (c *threadCPU) sample(root int) error {
	first := c.last == nil
	if first {
		ps := tree(root)
		if len(ps) == 0 {
			return fmt.Errorf("process %d is gone", root)
		}
		for _, p := range ps {
			c.pids = append(c.pids, p.PID)
		}
		c.base, c.last = map[[2]int]uint64{}, map[[2]int]uint64{}
	} else if _, err := os.Stat(fmt.Sprintf("/proc/%d", root)); err != nil {
		return fmt.Errorf("process %d is gone", root)
	}
	for _, pid := range c.pids {
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*/schedstat", pid))
		for _, f := range files {
			tid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			if err != nil {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				continue // exited meanwhile: its last sample stands
			}
			ns, err := parseSchedstat(b)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			k := [2]int{pid, tid}
			c.last[k] = ns
			if first {
				c.base[k] = ns
			}
		}
	}
	return nil
}

// delta returns the CPU time (ns) since the first sample, and the number
// of threads seen.
func (c *threadCPU) delta() (uint64, int) {
	var d uint64
	for k, v := range c.last {
		d += v - c.base[k] // a thread born after the base counts whole
	}
	return d, len(c.last)
}

// processClocks sums the CPU clocks (CLOCK_PROCESS_CPUTIME of another
// process, in ns, exited threads included) of the processes pids.
func processClocks(pids []int) (uint64, error) {
	if len(pids) == 0 {
		return 0, errors.New("no process")
	}
	var sum uint64
	for _, pid := range pids {
		if pid <= 0 { // the clock id of pid 0 is the calling process's
			return 0, fmt.Errorf("process %d: not a process id", pid)
		}
		var ts unix.Timespec
		// MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) of the kernel.
		if err := unix.ClockGettime(int32(^pid<<3|2), &ts); err != nil {
			return 0, fmt.Errorf("the CPU clock of process %d: %w", pid, err)
		}
		sum += uint64(ts.Nano())
	}
	return sum, nil
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// snmpField returns the value of field name in the protocol proto ("Udp")
// of /proc/net/snmp: a header line of names, then a line of values.
func snmpField(b []byte, proto, name string) (uint64, error) {
	var head []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != proto+":" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		i := slices.Index(head, name)
		if i < 0 || i >= len(f) {
			return 0, fmt.Errorf("/proc/net/snmp: no %s %s", proto, name)
		}
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/net/snmp %s %s: %v", proto, name, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("/proc/net/snmp: no %s lines", proto)
}

// udpRcvbufErrors is the host's count of UDP datagrams dropped because a
// socket's receive buffer was full (every socket, SIPp's included).
func udpRcvbufErrors() (uint64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, err
	}
	return snmpField(b, "Udp", "RcvbufErrors")
}
