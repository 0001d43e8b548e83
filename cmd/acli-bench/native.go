package main

// acli-bench native: acli and Kamailio on the host kernel (no UML), over
// UDP and TCP, each server pinned to one CPU and SIPp to another, the
// server's CPU from the scheduler's nanosecond clock of each of its
// threads.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The workloads of acli-bench native.
const (
	wlOptions  = "options"  // OPTIONS answered 200 at a fixed rate
	wlMessage  = "message"  // MESSAGE forwarded statelessly to a SIPp UAS agent, at a fixed rate
	wlSaturate = "saturate" // OPTIONS as fast as SIPp sends them (-l bounds the calls in flight)
)

var workloadNames = map[string]string{
	wlOptions:  "OPTIONS, fixed rate",
	wlMessage:  "MESSAGE forwarded to an agent, fixed rate",
	wlSaturate: "OPTIONS at saturation",
}

// sippBuffer is the socket buffer of the SIPp UAC in native runs (16 MB):
// at saturation, with SIPp's default one, SIPp's own socket dropped
// thousands of answers per run (its drops counter in /proc/net/udp; the
// server's socket dropped none) and the calls whose retransmissions met
// the same fate failed, whichever server answered.
const sippBuffer = 16 << 20

// nativeAgent is the SIPp UAS that acts as the session-agent of a
// transport (acli-host.acli, kamailio-host.cfg).
type nativeAgent struct {
	Mode string // u1, t1
	Host string // the agent's hostname, the MESSAGEs' Request-URI host
	Addr netip.AddrPort
}

var nativeAgents = []nativeAgent{
	{"u1", "agent-udp", netip.MustParseAddrPort("127.0.0.5:5070")},
	{"t1", "agent-tcp", netip.MustParseAddrPort("127.0.0.5:5071")},
}

func agentOf(mode string) nativeAgent {
	for _, a := range nativeAgents {
		if a.Mode == mode {
			return a
		}
	}
	return nativeAgent{}
}

// nativeMain is `acli-bench native`.
func nativeMain(args []string) int {
	fs := flag.NewFlagSet("acli-bench native", flag.ContinueOnError)
	workloads := fs.String("workloads", "options,message,saturate", "`workloads`: options (OPTIONS at -options-rate), message (MESSAGE forwarded to a SIPp agent at -message-rate), saturate (OPTIONS, no rate, -saturate-limit calls in flight)")
	transports := fs.String("transports", "u1,t1", "SIPp transport `modes`: u1 (UDP), t1 (TCP, one connection)")
	optionsRate := fs.Int("options-rate", 3000, "calls/s of the options workload")
	messageRate := fs.Int("message-rate", 1500, "calls/s of the message workload")
	satLimit := fs.Int("saturate-limit", 2000, "SIPp -l (calls in flight) of the saturate workload")
	calls := fs.Int("calls", 30000, "calls per run")
	reps := fs.Int("reps", 5, "repetitions (min/median/max are over them)")
	servers := fs.String("servers", "acli,kamailio", "servers, in this order in the first run (then alternating)")
	serverCPU := fs.String("server-cpu", "0", "CPU (taskset -c) of the servers (\"\": not pinned)")
	sippCPU := fs.String("sipp-cpu", "1", "CPU (taskset -c) of SIPp and its agents (\"\": not pinned)")
	probeRate := fs.Int("probe-rate", 20, "latency probe requests per second alongside the load (0: no p50/p99)")
	maxOther := fs.Float64("max-host-other", 0.25, "mark as under load the runs during which the host's CPU was busy with other work for more than this many `cores`")
	out := fs.String("out", "bench-native.md", "Markdown `file` of the results (the raw records go to FILE.jsonl)")
	install := fs.Bool("install", true, "apt-get install missing packages (kamailio, sip-tester)")
	keep := fs.Bool("keep", false, "keep the run's directory (logs, SIPp files)")
	base := fs.String("acli-base", "", "a second acli `binary` to compare with: run as server acli-base beside the others (A/B), with the same configuration")
	profile := fs.Bool("profile", false, "run acli as acli-bench acli-serve with a CPU profile per run (kept in the run's directory: use -keep)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "acli-bench native: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	p := Plan{Host: true, Calls: *calls, Reps: *reps, Instances: 1, ProbeRate: *probeRate,
		OptionsRate: *optionsRate, MessageRate: *messageRate, SatLimit: *satLimit, ServerPin: *serverCPU, SIPpPin: *sippCPU,
		Workloads: splitList(*workloads), Transports: splitList(*transports), Servers: splitList(*servers), Profile: *profile}
	if *base != "" {
		abs, err := filepath.Abs(*base)
		if err != nil {
			fmt.Fprintf(os.Stderr, "acli-bench native: -acli-base: %v\n", err)
			return 2
		}
		p.AcliBase = abs
		if !slices.Contains(p.Servers, serverAcliBase) {
			p.Servers = append(p.Servers, serverAcliBase)
		}
	}
	if err := p.checkNative(); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
		return 2
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
		return 1
	}
	td := filepath.Join(root, "testdata", "bench")
	p.AcliScript, p.KamailioCfg, p.Scenario = filepath.Join(td, "acli-host.acli"), filepath.Join(td, "kamailio-host.cfg"), filepath.Join(td, "options.xml")
	p.MessageScenario, p.AgentScenario = filepath.Join(root, "runtime", "testdata", "sipp", "message.xml"), filepath.Join(root, "runtime", "testdata", "sipp", "agent.xml")
	if err := checkConfigs(p.KamailioCfg, p.AcliScript); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
		return 1
	}
	tools, err := ensureTools(*install, false)
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
		return 1
	}
	p.Kamailio, p.KamailioModules, p.SIPp = tools.kamailio, tools.modules, tools.sipp
	if p.Dir, err = os.MkdirTemp("", "acli-bench-native-"); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
		return 1
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "acli-bench: run directory %s (kept)\n", p.Dir)
	} else {
		defer os.RemoveAll(p.Dir)
	}
	if slices.Contains(p.Servers, serverAcli) {
		buildAcli(&p, root)
	}
	var set []string
	fs.Visit(func(f *flag.Flag) { set = append(set, "-"+f.Name+"="+f.Value.String()) })
	p.Command = strings.TrimSpace("go run ./cmd/acli-bench native " + strings.Join(set, " "))
	fmt.Fprintf(os.Stderr, "acli-bench: %d runs; load average at the start %s\n", p.Reps*len(p.Workloads)*len(p.Transports)*len(p.Servers), loadAvg())

	g, err := setupGuest(&p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
		return 1
	}
	g.echo = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var load hostLoad
	loadCtx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); load.run(loadCtx) }()
	g.emit(Record{Kind: "env", Note: fmt.Sprintf("host kernel %s, %d CPU, servers on CPU %q, SIPp on CPU %q, load average at the start %s",
		unameRelease(), goruntime.NumCPU(), p.ServerPin, p.SIPpPin, loadAvg())})
	runNative(ctx, &p, g)
	stopLoad()
	<-loadDone
	g.out.Close()
	g.prog.Close()

	recs, rerr := readRecords(filepath.Join(p.Dir, resultsFile))
	if rerr != nil && len(recs) == 0 {
		fmt.Fprintf(os.Stderr, "acli-bench native: no results: %v\n", rerr)
		return 1
	}
	annotateLoad(recs, &load, *maxOther)
	pl, _ := json.Marshal(p)
	recs = append([]Record{{Kind: "plan", Note: string(pl)}}, recs...)
	md := nativeHeader(p, recs) + nativeMarkdown(recs, p)
	fmt.Print(md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
			return 1
		}
		if err := writeRecords(*out+".jsonl", recs); err != nil {
			fmt.Fprintf(os.Stderr, "acli-bench native: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "acli-bench: wrote %s and %s.jsonl\n", *out, *out)
	}
	return 0
}

// checkNative checks a native plan's lists and numbers.
func (p *Plan) checkNative() error {
	for _, w := range p.Workloads {
		if _, ok := workloadNames[w]; !ok {
			return fmt.Errorf("-workloads: %q: allowed options, message, saturate", w)
		}
	}
	for _, m := range p.Transports {
		if m != "u1" && m != "t1" {
			return fmt.Errorf("-transports: %q: allowed u1 (UDP), t1 (TCP)", m)
		}
	}
	for _, s := range p.Servers {
		if s != serverAcli && s != serverKamailio && s != serverAcliBase {
			return fmt.Errorf("-servers: %q: allowed acli, kamailio, acli-base (with -acli-base)", s)
		}
		if s == serverAcliBase && p.AcliBase == "" {
			return errors.New("-servers: acli-base needs -acli-base BINARY")
		}
	}
	if p.AcliBase != "" {
		if fi, err := os.Stat(p.AcliBase); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("-acli-base: %s is not an executable file", p.AcliBase)
		}
	}
	for _, c := range []string{p.ServerPin, p.SIPpPin} {
		if c == "" {
			continue
		}
		if n, err := strconv.Atoi(c); err != nil || n < 0 {
			return fmt.Errorf("-server-cpu, -sipp-cpu: %q: want a CPU number or \"\"", c)
		}
	}
	if p.ServerPin != "" && p.ServerPin == p.SIPpPin {
		return fmt.Errorf("-server-cpu and -sipp-cpu are both %s: the server and SIPp must not share a CPU", p.ServerPin)
	}
	if len(p.Workloads) == 0 || len(p.Transports) == 0 || len(p.Servers) == 0 {
		return errors.New("-workloads, -transports and -servers need at least one")
	}
	if p.Calls < 1 || p.Reps < 1 || p.OptionsRate < 1 || p.MessageRate < 1 || p.SatLimit < 1 || p.ProbeRate < 0 {
		return errors.New("-calls, -reps, -options-rate, -message-rate and -saturate-limit must be positive")
	}
	return nil
}

// rateOf returns the target calls/s of a workload (0: no rate).
func (p *Plan) rateOf(workload string) int {
	switch workload {
	case wlOptions:
		return p.OptionsRate
	case wlMessage:
		return p.MessageRate
	}
	return 0
}

// runNative prepares both servers, then runs every repetition, workload
// and transport with both, the order alternating.
func runNative(ctx context.Context, p *Plan, g *guestState) {
	var servers []string
	for _, s := range p.Servers {
		if err := prepare(ctx, p, g, s); err != nil {
			g.progress("%s: not available: %v", s, err)
			g.emit(Record{Kind: "unavailable", Server: s, Err: err.Error()})
			continue
		}
		servers = append(servers, s)
	}
	flip := false
	for rep := 1; rep <= p.Reps; rep++ {
		for _, w := range p.Workloads {
			for _, m := range p.Transports {
				o := slices.Clone(servers)
				if flip {
					slices.Reverse(o)
				}
				flip = !flip
				for _, s := range o {
					if ctx.Err() != nil {
						return
					}
					nativeRun(ctx, p, g, s, w, m, rep)
				}
			}
		}
	}
}

// nativeRun runs one SIPp load against a freshly started server, with
// both agents running.
func nativeRun(ctx context.Context, p *Plan, g *guestState, name, workload, mode string, rep int) Record {
	r := Record{Kind: "load", Server: name, Mode: mode, Workload: workload, Rate: p.rateOf(workload), Rep: rep, LoadAvg: loadAvg()}
	tag := fmt.Sprintf("%s-%s-%s-rep%d", name, workload, mode, rep)
	defer func() {
		g.emit(r)
		g.progress("%-8s %-8s %s rep %d: ok %d failed %d achieved %.0f/s cpu %.3fs (%.1f us/req; clocks %.3fs, %d threads) p50 %.0fus p99 %.0fus load %s %s",
			name, workload, mode, rep, r.Successful, r.Failed, r.Achieved, r.ServerCPU, usPer(r.ServerCPU, r.Requests), r.ClockCPU, r.Threads, r.P50us, r.P99us, r.LoadAvg, r.Err)
	}()
	agents, err := startAgents(p, tag)
	defer stopAgents(agents)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	s, err := startReady(ctx, p, g, name, tag)
	if s != nil {
		defer s.stopInto(&r.Err)
	}
	if err != nil {
		r.Err = err.Error()
		return r
	}
	q := probeReq{"OPTIONS", serverAddr.String()}
	if workload == wlMessage {
		q = probeReq{"MESSAGE", "user@" + agentOf(mode).Host}
		if err := forwards(ctx, mode, q, 10*time.Second); err != nil {
			r.Err = fmt.Sprintf("%s does not forward to %s: %v: %s", name, agentOf(mode).Host, err, s.logTail())
			return r
		}
	}
	time.Sleep(time.Second) // let start-up work settle
	var cpu threadCPU
	if err := cpu.sample(s.pid()); err != nil {
		r.Err = err.Error()
		return r
	}
	clock0, cerr := processClocks(cpu.pids)
	drops0, derr := udpRcvbufErrors()
	r.Start = time.Now().UnixMilli()

	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var pr probeResult
	var peak usage
	var sampleErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		if p.ProbeRate > 0 {
			pr = probeWith(lctx, mode, serverAddr, q, p.ProbeRate, &g.seq)
		}
	}()
	go func() { // threads' CPU every 100 ms, memory every 500 ms
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for n := 0; ; n++ {
			if err := cpu.sample(s.pid()); err != nil && sampleErr == nil {
				sampleErr = err
			}
			if n%5 == 0 {
				if u, err := sampleTree(s.pid()); err == nil {
					peak.RSSKB = max(peak.RSSKB, u.RSSKB)
				}
			}
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	run := sippRun{Bin: p.SIPp, Scenario: p.Scenario, Mode: mode, Target: serverAddr.String(), Local: "127.0.0.1",
		BasePort: 6000, Instances: 1, Rate: r.Rate, Calls: p.Calls, Dir: filepath.Join(p.Dir, "sipp", tag), Pin: p.SIPpPin,
		BuffSize: sippBuffer}
	switch workload {
	case wlMessage:
		run.Scenario, run.Extra = p.MessageScenario, []string{"-s", agentOf(mode).Host}
	case wlSaturate:
		run.Limit = p.SatLimit
	}
	os.MkdirAll(run.Dir, 0o755)
	sr := run.run(ctx)
	stop()
	wg.Wait()
	if err := cpu.sample(s.pid()); err != nil && sampleErr == nil {
		sampleErr = err
	}
	clock1, cerr1 := processClocks(cpu.pids)
	if drops1, err := udpRcvbufErrors(); err == nil && derr == nil {
		r.UDPDrops = drops1 - drops0
	}
	r.End = time.Now().UnixMilli()
	ns, threads := cpu.delta()
	r.ServerCPU, r.Threads = float64(ns)/1e9, threads
	if cerr == nil && cerr1 == nil {
		r.ClockCPU = float64(clock1-clock0) / 1e9
	}
	if u, err := sampleTree(s.pid()); err == nil {
		r.Procs, r.RSSKB = u.Procs, max(peak.RSSKB, u.RSSKB)
	}
	r.Calls, r.Successful, r.Failed, r.Retrans = sr.Created, sr.Successful, sr.Failed, sr.Retrans
	r.Achieved, r.Elapsed, r.SIPpCPU = sr.CallRate, sr.Elapsed, sr.CPUSeconds
	r.ProbeN, r.ProbeFail, r.ProbeErr = len(pr.RTTs), pr.Failures, pr.LastErr
	r.Requests = r.Calls + r.ProbeN + r.ProbeFail
	if len(pr.RTTs) > 0 {
		r.P50us, r.P99us = percentile(pr.RTTs, 50), percentile(pr.RTTs, 99)
	}
	var errs []string
	if sampleErr != nil {
		errs = append(errs, "server CPU: "+sampleErr.Error())
	}
	errs = append(errs, sr.Errors...)
	r.Err = strings.Join(errs, "; ")
	return r
}

// forwards waits until one request q in mode is answered 200 through the
// server (the agent in service).
func forwards(ctx context.Context, mode string, q probeReq, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for n := 1; ; n++ {
		err := func() error {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			cl, err := newClient(cctx, mode, serverAddr)
			if err != nil {
				return err
			}
			defer cl.close()
			_, err = askReq(cctx, mode, cl, serverAddr, q, -1000-n)
			return err
		}()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startAgents starts a SIPp UAS (agent.xml) for every agent of the
// configurations and waits until each has bound its port.
func startAgents(p *Plan, tag string) ([]*exec.Cmd, error) {
	var cmds []*exec.Cmd
	dir := filepath.Join(p.Dir, "sipp", tag)
	os.MkdirAll(dir, 0o755)
	for _, a := range nativeAgents {
		args := []string{"-sf", p.AgentScenario, "-nostdin", "-t", a.Mode, "-i", a.Addr.Addr().String(), "-p", strconv.Itoa(int(a.Addr.Port())),
			"-max_socket", "60000", "-trace_err", "-error_file", filepath.Join(dir, "agent-"+a.Host+"-errors.log")}
		cmd := exec.Command(p.SIPp, args...)
		if p.SIPpPin != "" {
			cmd = exec.Command("taskset", append([]string{"-c", p.SIPpPin, p.SIPp}, args...)...)
		}
		logf, err := os.Create(filepath.Join(dir, "agent-"+a.Host+".log"))
		if err != nil {
			return cmds, err
		}
		cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err = cmd.Start()
		logf.Close()
		if err != nil {
			return cmds, fmt.Errorf("agent %s: %w", a.Host, err)
		}
		cmds = append(cmds, cmd)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range nativeAgents {
		for !bound(a) {
			if time.Now().After(deadline) {
				return cmds, fmt.Errorf("agent %s: SIPp did not bind %s %s within 10 s", a.Host, transportOf(a.Mode), a.Addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return cmds, nil
}

// bound reports whether something holds agent a's address (binding it
// fails).
func bound(a nativeAgent) bool {
	if a.Mode == "t1" {
		l, err := net.Listen("tcp", a.Addr.String())
		if err != nil {
			return true
		}
		l.Close()
		return false
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a.Addr))
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func stopAgents(cmds []*exec.Cmd) {
	for _, c := range cmds {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		c.Wait()
	}
}

// usPer returns CPU seconds per request in microseconds.
func usPer(cpu float64, requests int) float64 {
	if requests == 0 {
		return 0
	}
	return cpu / float64(requests) * 1e6
}
