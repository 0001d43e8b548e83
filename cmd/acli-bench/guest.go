package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acli-project/acli/internal/uml"
	"github.com/acli-project/acli/runtime/sctp"
	"golang.org/x/sys/unix"
)

// Plan is what the host hands the guest driver (acli-bench guest-run), as
// JSON in the guest's directory.
type Plan struct {
	Dir             string   // the guest's directory on the host (hostfs)
	Acli            string   // acli binary ("" : acli is not available, see AcliErr)
	AcliBase        string   // native: a second acli binary, server acli-base, to compare with (A/B)
	AcliErr         string   // why acli is not available
	AcliScript      string   // configuration script (testdata/bench/acli.acli, acli-host.acli)
	Kamailio        string   // kamailio binary
	KamailioCfg     string   // testdata/bench/kamailio.cfg
	KamailioModules string   // Kamailio's module directory (-L)
	KamChildren     int      // children and sctp_children (0: as in the cfg)
	SIPp            string   // sipp binary
	Scenario        string   // testdata/bench/options.xml
	Servers         []string // acli, kamailio
	Modes           []string // s1, sn, u1
	Rates           []int    // calls per second (total over the SIPp instances)
	Calls           int      // calls (requests) per run
	Reps            int
	Instances       int    // SIPp instances in parallel
	Assocs          int    // associations of the memory phase (0: no memory phase)
	ProbeRate       int    // latency probe requests per second
	Profile         bool   // acli runs as acli-bench acli-serve, with a CPU profile per run
	Command         string // the command line that reproduces the run
	Host            bool   // acli-bench native: the host kernel (no UML, no SCTP)

	// acli-bench native only.
	Workloads                      []string // options, message, saturate
	Transports                     []string // SIPp modes: u1, t1
	OptionsRate                    int      // calls/s of the options workload
	MessageRate                    int      // calls/s of the message workload
	SatLimit                       int      // SIPp -l of the saturate workload
	ServerPin                      string   // taskset -c of the servers ("": not pinned)
	SIPpPin                        string   // taskset -c of SIPp, UAC and agents
	AgentScenario, MessageScenario string
}

// Record is one line of the results file (JSON lines).
type Record struct {
	Kind   string `json:"kind"` // setup, unavailable, load, assoc
	Server string `json:"server,omitempty"`
	Mode   string `json:"mode,omitempty"`
	Rate   int    `json:"rate,omitempty"` // target calls/s
	Rep    int    `json:"rep,omitempty"`
	Note   string `json:"note,omitempty"`
	Start  int64  `json:"start,omitempty"` // unix ms (the guest's clock is the host's)
	End    int64  `json:"end,omitempty"`

	// HostOther is the host's CPU (cores) busy with work other than this
	// benchmark's guest during the run, filled in by the host: UML's
	// accounting charges the guest's processes for time the host spends
	// elsewhere, so runs on a busy host are flagged and left out.
	HostOther float64 `json:"host_other,omitempty"`
	Contended bool    `json:"contended,omitempty"` // HostOther above -max-host-other: left out of the summary
	// HostCPU is the CPU (s) the host spent on the benchmark during the
	// run: the guest as a whole (the UML kernel, SIPp, the server, the
	// probe) in the host's own accounting. Filled in by the host.
	HostCPU float64 `json:"host_cpu,omitempty"`
	Err     string  `json:"err,omitempty"`

	// load
	Calls      int     `json:"calls,omitempty"`    // SIPp calls created
	Successful int     `json:"ok,omitempty"`       // SIPp calls answered 200
	Failed     int     `json:"failed,omitempty"`   // SIPp calls failed
	Retrans    int     `json:"retrans,omitempty"`  // SIPp retransmissions (UDP)
	Achieved   float64 `json:"achieved,omitempty"` // calls/s SIPp achieved (sum of instances)
	Elapsed    float64 `json:"elapsed,omitempty"`  // s, SIPp's run
	Requests   int     `json:"requests,omitempty"` // calls + probe requests the server answered or failed
	ServerCPU  float64 `json:"cpu,omitempty"`      // s, server processes
	ServerSys  float64 `json:"sys,omitempty"`      // s, the kernel part of ServerCPU
	SIPpCPU    float64 `json:"sipp_cpu,omitempty"` // s
	// ServerHostCPU is the server's CPU time on the host's exact clock:
	// the host processes that run its guest address spaces (stubs.go).
	// KernelHostCPU is the UML kernel process's in the same window (every
	// guest process's kernel work). Both s; guest runs only.
	ServerHostCPU float64 `json:"server_host_cpu,omitempty"`
	KernelHostCPU float64 `json:"kernel_host_cpu,omitempty"`
	Stubs         int     `json:"stubs,omitempty"`     // host processes counted in ServerHostCPU
	StubErr       string  `json:"stub_err,omitempty"`  // why ServerHostCPU is missing
	GuestBusy     float64 `json:"busy,omitempty"`      // fraction of the guest's CPU busy
	GuestCPU      float64 `json:"guest_cpu,omitempty"` // s, the whole guest's busy CPU during the run (all processes, kernel included)
	Procs         int     `json:"procs,omitempty"`     // server processes
	RSSKB         int64   `json:"rss_kb,omitempty"`    // max during the run, summed over processes
	PSSKB         int64   `json:"pss_kb,omitempty"`    // likewise
	ProbeN        int     `json:"probe_n,omitempty"`   // probe samples
	ProbeFail     int     `json:"probe_fail,omitempty"`
	P50us         float64 `json:"p50_us,omitempty"`
	P99us         float64 `json:"p99_us,omitempty"`
	ProbeErr      string  `json:"probe_err,omitempty"`
	IdleRSSKB     int64   `json:"idle_rss_kb,omitempty"`
	IdlePSSKB     int64   `json:"idle_pss_kb,omitempty"`
	Assocs        int     `json:"assocs,omitempty"`       // assoc: associations open
	AssocRSSKB    int64   `json:"assoc_rss_kb,omitempty"` // assoc: RSS with them open, no message sent yet
	UsedRSSKB     int64   `json:"used_rss_kb,omitempty"`  // assoc: RSS after one OPTIONS answered on each
	UsedPSSKB     int64   `json:"used_pss_kb,omitempty"`
	AssocPSSKB    int64   `json:"assoc_pss_kb,omitempty"`
	SysDeltaKB    int64   `json:"sys_delta_kb,omitempty"` // assoc: MemAvailable drop, whole guest
	OpenSeconds   float64 `json:"open_s,omitempty"`       // assoc: time to open them

	// acli-bench native: the workload, /proc/loadavg at the run's start,
	// the server's CPU on its process clocks (the check of ServerCPU, which
	// is schedstat summed over its threads there) and its threads.
	Workload string  `json:"workload,omitempty"`
	LoadAvg  string  `json:"loadavg,omitempty"`
	ClockCPU float64 `json:"clock_cpu,omitempty"`
	Threads  int     `json:"threads,omitempty"`
	// UDPDrops is the host's UDP receive-buffer drops during the run
	// (every socket's: the server's, SIPp's, the agents').
	UDPDrops uint64 `json:"udp_drops,omitempty"`
}

// guestState is the guest driver's scratch space.
type guestState struct {
	run    string // tmpfs: databases, control socket
	db     string
	sock   string
	kamCfg string
	out    *os.File  // results
	prog   *os.File  // progress
	echo   io.Writer // progress too (nil: stdout)
	mu     sync.Mutex
	seq    int // probe sequence
	// noHost is set once the host has not answered a stub query: the
	// guest driver runs without acli-bench sip on the host.
	noHost bool
}

func (g *guestState) emit(r Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, _ := json.Marshal(r)
	g.out.Write(append(b, '\n'))
	g.out.Sync()
}

func (g *guestState) progress(format string, a ...any) {
	msg := fmt.Sprintf("[%s] ", time.Now().Format("15:04:05")) + fmt.Sprintf(format, a...) + "\n"
	g.prog.WriteString(msg)
	g.prog.Sync()
	if g.echo != nil {
		io.WriteString(g.echo, msg)
	} else {
		os.Stdout.WriteString(msg)
	}
}

// Files of the guest's directory.
const (
	planFile     = "plan.json"
	resultsFile  = "results.jsonl"
	progressFile = "progress.log"
)

// guestMain is `acli-bench guest-run -plan FILE`, inside the UML guest.
func guestMain(args []string) int {
	fs := flag.NewFlagSet("acli-bench guest-run", flag.ContinueOnError)
	planPath := fs.String("plan", "", "the plan `file` (JSON)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	b, err := os.ReadFile(*planPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", *planPath, err)
		return 1
	}
	g, err := setupGuest(&p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "guest setup: %v\n", err)
		return 1
	}
	defer g.out.Close()
	defer g.prog.Close()
	if err := uml.KernelSCTP(); err != nil {
		g.progress("no SCTP in the guest: %v", err)
		return 1
	}
	g.emit(Record{Kind: "env", Note: guestEnv(&p)})
	runPlan(context.Background(), &p, g)
	return 0
}

// guestEnv describes the guest: kernel, CPUs, memory, SIPp and Kamailio.
func guestEnv(p *Plan) string {
	parts := []string{"UML kernel " + unameRelease(), fmt.Sprintf("%d CPU", goruntime.NumCPU())}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseKBField(b, "MemTotal"); err == nil {
			parts = append(parts, fmt.Sprintf("%d MB", kb/1024))
		}
	}
	out, _ := exec.Command(p.SIPp, "-v").CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "SIPp v"); i >= 0 {
			parts = append(parts, strings.TrimSpace(l[i:]))
			break
		}
	}
	if out, err := exec.Command(p.Kamailio, "-v").CombinedOutput(); err == nil {
		parts = append(parts, firstLine(out))
	}
	return strings.Join(parts, ", ")
}

func setupGuest(p *Plan) (*guestState, error) {
	g := &guestState{run: filepath.Join(p.Dir, "run")}
	if err := os.MkdirAll(g.run, 0o755); err != nil {
		return nil, err
	}
	// A tmpfs of the guest's own for the databases and the control socket:
	// hostfs cannot hold a Unix socket, and bbolt's mmap is safer there.
	if !p.Host {
		if err := unix.Mount("tmpfs", g.run, "tmpfs", 0, "size=256m"); err != nil {
			return nil, fmt.Errorf("mount tmpfs on %s: %w", g.run, err)
		}
	}
	g.db = filepath.Join(g.run, "acli.db")
	g.sock = filepath.Join(g.run, "acli.sock")
	var err error
	if g.out, err = os.OpenFile(filepath.Join(p.Dir, resultsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	if g.prog, err = os.OpenFile(filepath.Join(p.Dir, progressFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	return g, nil
}

// runPlan prepares both servers, checks that each serves, then runs the
// memory phase and the load sweep, alternating the servers.
func runPlan(ctx context.Context, p *Plan, g *guestState) {
	var servers []string
	for _, s := range p.Servers {
		if err := prepare(ctx, p, g, s); err != nil {
			g.progress("%s: not available: %v", s, err)
			g.emit(Record{Kind: "unavailable", Server: s, Err: err.Error()})
			continue
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return
	}
	flip := false
	order := func() []string {
		o := slices.Clone(servers)
		if flip {
			slices.Reverse(o)
		}
		flip = !flip
		return o
	}
	skip := map[string]bool{} // server/mode/rep that failed at a lower rate
	for rep := 1; rep <= p.Reps; rep++ {
		if p.Assocs > 0 {
			for _, s := range order() {
				assocRun(ctx, p, g, s, rep)
			}
		}
		for _, mode := range p.Modes {
			for _, rate := range p.Rates {
				for _, s := range order() {
					key := fmt.Sprintf("%s/%s/%d", s, mode, rep)
					if skip[key] {
						continue
					}
					r := loadRun(ctx, p, g, s, mode, rate, rep)
					if r.Failed > 0 || r.Err != "" {
						skip[key] = true
					}
				}
			}
		}
	}
}

// prepare sets a server up and checks that it answers.
func prepare(ctx context.Context, p *Plan, g *guestState, name string) error {
	switch name {
	case serverAcli, serverAcliBase:
		if p.Acli == "" {
			return errors.New(p.AcliErr)
		}
		note, err := prepareAcli(p, g)
		g.emit(Record{Kind: "setup", Server: name, Note: note, Err: errString(err)})
		if err != nil {
			return err
		}
		g.progress("acli: %s", note)
	case serverKamailio:
		cfg, err := os.ReadFile(p.KamailioCfg)
		if err != nil {
			return err
		}
		g.kamCfg = filepath.Join(g.run, "kamailio.cfg")
		if err := os.WriteFile(g.kamCfg, []byte(kamailioConfig(string(cfg), p.KamChildren)), 0o644); err != nil {
			return err
		}
		out, _ := exec.Command(p.Kamailio, "-v").CombinedOutput()
		g.emit(Record{Kind: "setup", Server: name, Note: firstLine(out)})
	default:
		return fmt.Errorf("unknown server %q", name)
	}
	s, err := startReady(ctx, p, g, name, name+"-check")
	if s != nil {
		if serr := s.stop(); err == nil && serr != nil {
			err = serr
		}
	}
	return err
}

// prepareAcli creates the database from the script, then saves and
// activates it when the shell has those commands.
func prepareAcli(p *Plan, g *guestState) (string, error) {
	return buildDB(p, p.AcliScript, g.db)
}

func buildDB(p *Plan, scriptPath, db string) (string, error) {
	os.Remove(db)
	script, err := os.Open(scriptPath)
	if err != nil {
		return "", err
	}
	defer script.Close()
	cmd := exec.Command(p.Acli, "--db", db)
	cmd.Stdin = script
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("acli --db %s < %s: %v: %s", db, filepath.Base(scriptPath), err, lastLines(out.Bytes(), 5))
	}
	notes := []string{"configured by " + filepath.Base(scriptPath)}
	help, _ := exec.Command(p.Acli, "--db", db, "?").CombinedOutput()
	for _, c := range []string{"save-config", "activate-config"} {
		if !hasCommand(help, c) {
			notes = append(notes, c+" not available (the runtime serves the editing configuration)")
			continue
		}
		o, err := exec.Command(p.Acli, "--db", db, c).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("acli %s: %v: %s", c, err, lastLines(o, 5))
		}
		notes = append(notes, c+" done")
	}
	return strings.Join(notes, ", "), nil
}

// hasCommand reports whether the shell's "?" help lists command c.
func hasCommand(help []byte, c string) bool {
	for _, l := range strings.Split(string(help), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == c {
			return true
		}
	}
	return false
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// loadRun runs one SIPp load against a freshly started server.
func loadRun(ctx context.Context, p *Plan, g *guestState, name, mode string, rate, rep int) Record {
	r := Record{Kind: "load", Server: name, Mode: mode, Rate: rate, Rep: rep}
	tag := fmt.Sprintf("%s-%s-%d-rep%d", name, mode, rate, rep)
	defer func() {
		g.emit(r)
		g.progress("%-8s %-2s rate %4d rep %d: ok %d failed %d achieved %.0f/s cpu %.2fs (%.3f s/1k) sipp %.1fs busy %.0f%% p50 %.0fus p99 %.0fus %s",
			name, mode, rate, rep, r.Successful, r.Failed, r.Achieved, r.ServerCPU, perK(r.ServerCPU, r.Requests), r.SIPpCPU, r.GuestBusy*100, r.P50us, r.P99us, r.Err)
	}()
	s, err := startReady(ctx, p, g, name, tag)
	if s != nil {
		defer s.stopInto(&r.Err)
	}
	if err != nil {
		r.Err = err.Error()
		return r
	}
	time.Sleep(time.Second) // let start-up work settle
	idle, err := sampleTree(s.pid())
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.IdleRSSKB, r.IdlePSSKB = idle.RSSKB, idle.PSSKB
	stub0, stubErr := g.askStubs(p, stubQuery{}, s.pid())
	cpu0, _ := readCPUTimes()
	r.Start = time.Now().UnixMilli()

	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var pr probeResult
	var peak usage
	wg.Add(2)
	go func() {
		defer wg.Done()
		if p.ProbeRate > 0 {
			pr = probe(lctx, mode, serverAddr, p.ProbeRate, &g.seq)
		}
	}()
	go func() { // memory: the peak of the samples
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if u, err := sampleTree(s.pid()); err == nil {
				peak.RSSKB = max(peak.RSSKB, u.RSSKB)
				peak.PSSKB = max(peak.PSSKB, u.PSSKB)
			}
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	run := sippRun{Bin: p.SIPp, Scenario: p.Scenario, Mode: mode, Target: serverAddr.String(), Local: "127.0.0.1",
		BasePort: 6000, Instances: p.Instances, Rate: rate, Calls: p.Calls, Dir: filepath.Join(p.Dir, "sipp", tag)}
	os.MkdirAll(run.Dir, 0o755)
	sr := run.run(ctx)
	stop()
	wg.Wait()
	after, err := sampleTree(s.pid())
	cpu1, _ := readCPUTimes()
	r.End = time.Now().UnixMilli()
	if stubErr == nil {
		var stub1 stubAnswer
		if stub1, stubErr = g.askStubs(p, stubQuery{Pids: stub0.Pids}, 0); stubErr == nil {
			r.ServerHostCPU = float64(stub1.CPUns-stub0.CPUns) / 1e9
			r.KernelHostCPU = float64(stub1.KernelNS-stub0.KernelNS) / 1e9
			r.Stubs = len(stub1.Pids)
		}
	}
	if stubErr != nil {
		r.StubErr = stubErr.Error()
	}
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Calls, r.Successful, r.Failed, r.Retrans = sr.Created, sr.Successful, sr.Failed, sr.Retrans
	r.Achieved, r.Elapsed, r.SIPpCPU = sr.CallRate, sr.Elapsed, sr.CPUSeconds
	r.ServerCPU = float64(after.CPUTicks-idle.CPUTicks) / clockTicks
	r.ServerSys = float64(after.SysTicks-idle.SysTicks) / clockTicks
	r.Procs = after.Procs
	r.RSSKB, r.PSSKB = max(peak.RSSKB, after.RSSKB), max(peak.PSSKB, after.PSSKB)
	if d := cpu1.Total - cpu0.Total; d > 0 {
		r.GuestBusy = float64(cpu1.Busy-cpu0.Busy) / float64(d)
		r.GuestCPU = float64(cpu1.Busy-cpu0.Busy) / clockTicks
	}
	r.ProbeN, r.ProbeFail, r.ProbeErr = len(pr.RTTs), pr.Failures, pr.LastErr
	r.Requests = r.Calls + r.ProbeN + r.ProbeFail
	if len(pr.RTTs) > 0 {
		r.P50us, r.P99us = percentile(pr.RTTs, 50), percentile(pr.RTTs, 99)
	}
	if len(sr.Errors) > 0 {
		r.Err = strings.Join(sr.Errors, "; ")
	}
	return r
}

// askStubs asks the host for the CPU of the server's stubs: those of q.Pids,
// or if none, those that map pid's text.
func (g *guestState) askStubs(p *Plan, q stubQuery, pid int) (stubAnswer, error) {
	if p.Host {
		return stubAnswer{}, errors.New("not in a UML guest")
	}
	if g.noHost {
		return stubAnswer{}, errors.New("the host does not answer stub queries")
	}
	if len(q.Pids) == 0 {
		sig, err := textSignature(pid)
		if err != nil {
			return stubAnswer{}, err
		}
		q.Sig = sig
	}
	a, err := askHost(p.Dir, q, 3*time.Second)
	if err != nil && a.Err == "" { // no answer at all, not the host's refusal
		g.noHost = true
	}
	return a, err
}

func perK(cpu float64, requests int) float64 {
	if requests == 0 {
		return 0
	}
	return cpu / float64(requests) * 1000
}

// assocRun opens p.Assocs associations to a freshly started server (one
// OPTIONS answered on each) and measures its memory with them open.
func assocRun(ctx context.Context, p *Plan, g *guestState, name string, rep int) {
	r := Record{Kind: "assoc", Server: name, Rep: rep}
	defer func() {
		g.emit(r)
		g.progress("%-8s assocs %d rep %d: idle RSS %d KB, with them %d KB (%.2f KB/assoc), after a request on each %d KB (%.2f KB/assoc), guest %.2f KB/assoc %s",
			name, r.Assocs, rep, r.IdleRSSKB, r.AssocRSSKB, perAssoc(r.AssocRSSKB-r.IdleRSSKB, r.Assocs),
			r.UsedRSSKB, perAssoc(r.UsedRSSKB-r.IdleRSSKB, r.Assocs), perAssoc(r.SysDeltaKB, r.Assocs), r.Err)
	}()
	s, err := startReady(ctx, p, g, name, fmt.Sprintf("%s-assoc-rep%d", name, rep))
	if s != nil {
		defer s.stopInto(&r.Err)
	}
	if err != nil {
		r.Err = err.Error()
		return
	}
	time.Sleep(time.Second)
	idle, err := sampleTree(s.pid())
	if err != nil {
		r.Err = err.Error()
		return
	}
	avail0, _ := memAvailableKB()
	r.IdleRSSKB, r.IdlePSSKB = idle.RSSKB, idle.PSSKB
	var conns []*sctpClient
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	// First the bare associations, then one OPTIONS answered on each: the
	// second sample includes what handling a request leaves behind (for
	// Go, heap not yet collected).
	start := time.Now()
	for i := range p.Assocs {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := dialSCTP(cctx, serverAddr)
		cancel()
		if err != nil {
			r.Err = fmt.Sprintf("association %d: %v", i+1, err)
			return
		}
		conns = append(conns, c)
	}
	r.OpenSeconds = time.Since(start).Seconds()
	r.Assocs = len(conns)
	time.Sleep(2 * time.Second)
	with, err := sampleTree(s.pid())
	if err != nil {
		r.Err = err.Error()
		return
	}
	avail1, _ := memAvailableKB()
	r.AssocRSSKB, r.AssocPSSKB = with.RSSKB, with.PSSKB
	r.SysDeltaKB = avail0 - avail1
	r.Procs = with.Procs
	for i, c := range conns {
		g.seq++
		if _, err := ask(ctx, "s1", c, serverAddr, g.seq); err != nil {
			r.Err = fmt.Sprintf("association %d: OPTIONS: %v", i+1, err)
			return
		}
	}
	time.Sleep(2 * time.Second)
	used, err := sampleTree(s.pid())
	if err != nil {
		r.Err = err.Error()
		return
	}
	r.UsedRSSKB, r.UsedPSSKB = used.RSSKB, used.PSSKB
}

func perAssoc(kb int64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(kb) / float64(n)
}

// portFree reports whether 127.0.0.1:5060 can be bound for both UDP and
// SCTP (UDP only where the kernel has no SCTP).
func portFree() bool {
	u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(serverAddr))
	if err != nil {
		return false
	}
	u.Close()
	if uml.KernelSCTP() != nil {
		return true
	}
	l, err := sctp.Listen([]netip.Addr{serverAddr.Addr()}, int(serverAddr.Port()), sctp.Options{})
	if err != nil {
		return false
	}
	l.Close()
	return true
}
