package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/acli-project/acli/internal/uml"
)

// sipMain is `acli-bench sip`, on the host.
func sipMain(args []string) int {
	fs := flag.NewFlagSet("acli-bench sip", flag.ContinueOnError)
	rates := fs.String("rates", "300,600,900", "comma-separated `rates` of the sweep, calls (OPTIONS) per second, summed over the SIPp instances")
	calls := fs.Int("calls", 20000, "calls (OPTIONS requests) per run: tens of thousands, CPU accounting in the guest is tick-based")
	reps := fs.Int("reps", 3, "repetitions of the whole sweep (min/median/max are over them)")
	modes := fs.String("modes", "s1,sn,u1", "SIPp transport `modes`: s1 (SCTP, one association), sn (SCTP, association per call), u1 (UDP)")
	servers := fs.String("servers", "acli,kamailio", "servers to run, in this order in the first repetition (then alternating)")
	instances := fs.Int("sipp", 1, "SIPp `instances` in parallel (distinct -p ports), sharing rate and calls")
	assocs := fs.Int("assocs", 1000, "associations opened for the memory-per-association measurement (0: skip it)")
	probeRate := fs.Int("probe-rate", 20, "latency probe OPTIONS per second alongside the load (0: no p50/p99)")
	kamChildren := fs.Int("kamailio-children", 0, "Kamailio children and sctp_children (0: as in testdata/bench/kamailio.cfg)")
	out := fs.String("out", "bench-sip.md", "Markdown `file` of the results (the raw records go to FILE.jsonl)")
	install := fs.Bool("install", true, "apt-get install missing packages")
	profile := fs.Bool("profile", false, "run acli's daemon inside acli-bench (acli-serve) with a CPU profile per run, copied to FILE.profiles/")
	maxOther := fs.Float64("max-host-other", 0.25, "leave out of the summary the runs during which the host's CPU was busy with other work for more than this many `cores`")
	keep := fs.Bool("keep", false, "keep the guest's directory (logs, SIPp files)")
	timeout := fs.Duration("timeout", 0, "bound on the guest (0: twice the estimate plus 10 minutes)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "acli-bench sip: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	p := Plan{Calls: *calls, Reps: *reps, Instances: *instances, Assocs: *assocs, ProbeRate: *probeRate, KamChildren: *kamChildren, Profile: *profile}
	var err error
	if p.Rates, err = parseInts(*rates); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench sip: -rates: %v\n", err)
		return 2
	}
	p.Modes = splitList(*modes)
	for _, m := range p.Modes {
		if _, ok := modeNames[m]; !ok {
			fmt.Fprintf(os.Stderr, "acli-bench sip: -modes: %q: allowed s1, sn, u1\n", m)
			return 2
		}
	}
	p.Servers = splitList(*servers)
	for _, s := range p.Servers {
		if s != serverAcli && s != serverKamailio {
			fmt.Fprintf(os.Stderr, "acli-bench sip: -servers: %q: allowed acli, kamailio\n", s)
			return 2
		}
	}
	if p.Calls < 1 || p.Reps < 1 || p.Instances < 1 || len(p.Modes) == 0 || len(p.Servers) == 0 {
		fmt.Fprintln(os.Stderr, "acli-bench sip: -calls, -reps, -sipp, -modes and -servers need at least one")
		return 2
	}
	for _, r := range p.Rates {
		if r < p.Instances {
			fmt.Fprintf(os.Stderr, "acli-bench sip: rate %d is below one call per second per SIPp instance\n", r)
			return 2
		}
	}

	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench sip: %v\n", err)
		return 1
	}
	td := filepath.Join(root, "testdata", "bench")
	p.AcliScript, p.KamailioCfg, p.Scenario = filepath.Join(td, "acli.acli"), filepath.Join(td, "kamailio.cfg"), filepath.Join(td, "options.xml")
	if err := checkConfigs(p.KamailioCfg, p.AcliScript); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench sip: %v\n", err)
		return 1
	}
	tools, err := ensureTools(*install, true)
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench sip: %v\n", err)
		return 1
	}
	p.Kamailio, p.KamailioModules, p.SIPp = tools.kamailio, tools.modules, tools.sipp

	dir, err := os.MkdirTemp("", "acli-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench sip: %v\n", err)
		return 1
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "acli-bench: guest directory %s (kept)\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	p.Dir = dir
	if slices.Contains(p.Servers, serverAcli) {
		buildAcli(&p, root)
	}
	var set []string
	fs.Visit(func(f *flag.Flag) { set = append(set, "-"+f.Name+"="+f.Value.String()) })
	p.Command = strings.TrimSpace("go run ./cmd/acli-bench sip " + strings.Join(set, " "))
	planPath := filepath.Join(dir, planFile)
	b, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(planPath, b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench sip: %v\n", err)
		return 1
	}
	est := estimate(p)
	if *timeout == 0 {
		*timeout = 2*est + 10*time.Minute
	}
	fmt.Fprintf(os.Stderr, "acli-bench: %d load runs, about %v; guest bounded at %v\n", loadRuns(p), est.Round(time.Minute), timeout.Round(time.Minute))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var guestOut bytes.Buffer
	var code int
	var gerr error
	var load hostLoad
	loadCtx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); load.run(loadCtx) }()
	stopStubs, stubsDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(stubsDone); stubWatch(dir, stopStubs) }()
	code, gerr = runGuest(ctx, dir, planPath, &guestOut)
	close(stopStubs)
	<-stubsDone
	stopLoad()
	<-loadDone
	recs, rerr := readRecords(filepath.Join(dir, resultsFile))
	if rerr != nil && len(recs) == 0 {
		fmt.Fprintf(os.Stderr, "acli-bench sip: no results: %v (guest: exit %d, %v)\n", rerr, code, gerr)
		return 1
	}
	annotateLoad(recs, &load, *maxOther)
	if err := writeRecords(filepath.Join(dir, resultsFile), recs); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench sip: %v\n", err)
	}
	rep := aggregate(recs, p.Servers, p.Modes)
	if gerr != nil {
		rep.Problems = append(rep.Problems, "guest: "+gerr.Error()+" (the figures are those of the runs that completed)")
	} else if code != 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("guest driver exited %d: %s", code, lastLines(guestOut.Bytes(), 5)))
	}
	md := header(p, recs) + rep.markdown("SIP OPTIONS: acli against Kamailio")
	fmt.Print(md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "acli-bench sip: %v\n", err)
			return 1
		}
		raw, _ := os.ReadFile(filepath.Join(dir, resultsFile))
		pl, _ := json.Marshal(p)
		head, _ := json.Marshal(Record{Kind: "plan", Note: string(pl)})
		os.WriteFile(*out+".jsonl", append(append(head, '\n'), raw...), 0o644)
		fmt.Fprintf(os.Stderr, "acli-bench: wrote %s and %s.jsonl\n", *out, *out)
		if p.Profile {
			dst := *out + ".profiles"
			os.MkdirAll(dst, 0o755)
			profs, _ := filepath.Glob(filepath.Join(dir, "profiles", "*.pprof"))
			for _, f := range profs {
				if b, err := os.ReadFile(f); err == nil {
					os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644)
				}
			}
			fmt.Fprintf(os.Stderr, "acli-bench: %d CPU profiles of acli in %s (go tool pprof -top FILE)\n", len(profs), dst)
		}
	}
	if gerr != nil || code != 0 {
		return 1
	}
	return 0
}

// buildAcli builds acli into p.Dir (p.Acli), or says why not (p.AcliErr).
func buildAcli(p *Plan, root string) {
	p.Acli = filepath.Join(p.Dir, "acli")
	fmt.Fprintln(os.Stderr, "acli-bench: building acli (CGO_ENABLED=0 go build ./cmd/acli)")
	build := exec.Command("go", "build", "-o", p.Acli, "./cmd/acli")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := build.CombinedOutput(); err != nil {
		p.AcliErr = fmt.Sprintf("go build ./cmd/acli failed: %v: %s", err, lastLines(o, 8))
		p.Acli = ""
		fmt.Fprintf(os.Stderr, "acli-bench: %s\n", p.AcliErr)
	}
}

// annotateLoad sets each load run's HostOther and marks the runs above
// maxOther as contended.
func annotateLoad(recs []Record, load *hostLoad, maxOther float64) {
	for i := range recs {
		r := &recs[i]
		if r.Kind != "load" || r.Start == 0 || r.End == 0 {
			continue
		}
		o := load.other(time.UnixMilli(r.Start), time.UnixMilli(r.End))
		if o < 0 {
			continue
		}
		r.HostOther = o
		r.Contended = o > maxOther
		r.HostCPU = max(load.oursBetween(time.UnixMilli(r.Start), time.UnixMilli(r.End)), 0)
	}
}

// writeRecords rewrites the results file with recs.
func writeRecords(path string, recs []Record) error {
	var b bytes.Buffer
	for _, r := range recs {
		j, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b.Write(append(j, '\n'))
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// runGuest boots the guest that runs the plan, showing its progress.
func runGuest(ctx context.Context, dir, planPath string, out io.Writer) (int, error) {
	kernel, err := uml.FindUML()
	if err != nil {
		return 0, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	tailDone := make(chan struct{})
	tailCtx, stopTail := context.WithCancel(context.Background())
	go func() { defer close(tailDone); tail(tailCtx, filepath.Join(dir, progressFile), os.Stderr) }()
	g := &uml.Guest{Dir: dir, Binary: self, Args: []string{"guest-run", "-plan", planPath}, WorkDir: dir,
		Env: uml.GuestEnviron(os.Environ())}
	code, err := g.Run(ctx, kernel, out, os.Stderr)
	stopTail()
	<-tailDone
	return code, err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: want positive integers", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no rate")
	}
	return out, nil
}

func loadRuns(p Plan) int { return p.Reps * len(p.Modes) * len(p.Rates) * len(p.Servers) }

// estimate is the guest's nominal duration: each run's calls at its rate
// (SIPp may fall short of high rates, making runs longer) plus about 6 s of
// server start, settling and stop, plus the memory phases.
func estimate(p Plan) time.Duration {
	var d time.Duration
	for _, r := range p.Rates {
		d += time.Duration(float64(p.Calls)/float64(r)*float64(time.Second)) + 6*time.Second
	}
	d *= time.Duration(p.Reps * len(p.Modes) * len(p.Servers))
	if p.Assocs > 0 {
		d += time.Duration(p.Reps*len(p.Servers)) * (10*time.Second + time.Duration(p.Assocs)*3*time.Millisecond)
	}
	return d + 30*time.Second
}

// repoRoot finds the module's root from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/acli-project/acli\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside the acli repository (no go.mod of github.com/acli-project/acli above it)", dir)
		}
	}
}

// checkConfigs refuses a Kamailio configuration and an ACLI script that
// differ in what the harness compares (compareConfigs).
func checkConfigs(kamCfg, acliScript string) error {
	kb, err := os.ReadFile(kamCfg)
	if err != nil {
		return err
	}
	ab, err := os.ReadFile(acliScript)
	if err != nil {
		return err
	}
	diffs, err := compareConfigs(string(kb), string(ab))
	if err != nil {
		return fmt.Errorf("%s against %s: %w", filepath.Base(kamCfg), filepath.Base(acliScript), err)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the two servers' configurations differ (%s, %s):\n  %s", filepath.Base(kamCfg), filepath.Base(acliScript), strings.Join(diffs, "\n  "))
	}
	return nil
}

type toolPaths struct{ kamailio, modules, sipp string }

// ensureTools finds kamailio (with its sctp and sl modules), sipp and, if
// needUML, linux.uml and insmod, installing the missing Debian packages first.
func ensureTools(install, needUML bool) (toolPaths, error) {
	find := func() (toolPaths, []string) {
		var t toolPaths
		var missing []string
		if p, err := lookPath("kamailio", "/usr/sbin/kamailio"); err == nil {
			t.kamailio = p
		} else {
			missing = append(missing, "kamailio")
		}
		if m := kamailioModules(); m != "" {
			t.modules = m
			if _, err := os.Stat(filepath.Join(m, "sctp.so")); err != nil {
				missing = append(missing, "kamailio-sctp-modules")
			}
		} else if t.kamailio != "" {
			missing = append(missing, "kamailio-sctp-modules")
		}
		if p, err := lookPath("sipp", "/usr/bin/sipp"); err == nil {
			t.sipp = p
		} else {
			missing = append(missing, "sip-tester")
		}
		if !needUML {
			return t, missing
		}
		if _, err := uml.FindUML(); err != nil {
			missing = append(missing, "user-mode-linux")
		}
		if _, err := lookPath("insmod", "/usr/sbin/insmod"); err != nil {
			missing = append(missing, "kmod")
		}
		return t, missing
	}
	t, missing := find()
	if len(missing) == 0 {
		return t, nil
	}
	if !install {
		return t, fmt.Errorf("missing packages %s (apt-get install -y %s)", strings.Join(missing, " "), strings.Join(missing, " "))
	}
	fmt.Fprintf(os.Stderr, "acli-bench: installing %s\n", strings.Join(missing, " "))
	for _, c := range [][]string{{"apt-get", "update"}, append([]string{"apt-get", "install", "-y"}, missing...)} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if o, err := cmd.CombinedOutput(); err != nil {
			return t, fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, lastLines(o, 8))
		}
	}
	t, missing = find()
	if len(missing) > 0 {
		return t, fmt.Errorf("still missing after apt-get install: %s", strings.Join(missing, " "))
	}
	return t, nil
}

func lookPath(name, fallback string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if _, err := os.Stat(fallback); err != nil {
		return "", err
	}
	return fallback, nil
}

// kamailioModules returns Kamailio's module directory ("" if not found).
func kamailioModules() string {
	for _, pat := range []string{"/usr/lib/*/kamailio/modules/sl.so", "/usr/lib/kamailio/modules/sl.so", "/usr/local/lib*/kamailio/modules/sl.so"} {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return filepath.Dir(m[0])
		}
	}
	return ""
}

// tail copies what is appended to path to w until ctx ends.
func tail(ctx context.Context, path string, w io.Writer) {
	var off int64
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if f, err := os.Open(path); err == nil {
			f.Seek(off, io.SeekStart)
			n, _ := io.Copy(w, f)
			off += n
			f.Close()
		}
		if ctx.Err() != nil {
			return // after a last copy
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

func readRecords(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			errs = append(errs, fmt.Errorf("%s line %d: %v", filepath.Base(path), n, err))
			continue
		}
		recs = append(recs, r)
	}
	return recs, errors.Join(append(errs, sc.Err())...)
}

// reportMain is `acli-bench report FILE.jsonl`: it renders the Markdown
// of the raw records a sip run wrote (FILE.jsonl), again.
func reportMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: acli-bench report FILE.jsonl")
		return 2
	}
	recs, err := readRecords(args[0])
	if err != nil && len(recs) == 0 {
		fmt.Fprintf(os.Stderr, "acli-bench report: %v\n", err)
		return 1
	}
	var p Plan
	for _, r := range recs {
		if r.Kind == "plan" {
			if err := json.Unmarshal([]byte(r.Note), &p); err != nil {
				fmt.Fprintf(os.Stderr, "acli-bench report: the plan record: %v\n", err)
				return 1
			}
		}
	}
	if len(p.Servers) == 0 {
		fmt.Fprintf(os.Stderr, "acli-bench report: %s has no plan record\n", args[0])
		return 1
	}
	if p.Host {
		fmt.Print(nativeHeader(p, recs) + nativeMarkdown(recs, p))
		return 0
	}
	rep := aggregate(recs, p.Servers, p.Modes)
	fmt.Print(header(p, recs) + rep.markdown("SIP OPTIONS: acli against Kamailio"))
	return 0
}

// header describes the machine and the command of a run.
func header(p Plan, recs []Record) string {
	var b strings.Builder
	b.WriteString("# acli-bench sip\n\n")
	fmt.Fprintf(&b, "Command: `%s`\n\n", p.Command)
	fmt.Fprintf(&b, "- Host: %s, %d cores, kernel %s, %s\n", cpuModel(), goruntime.NumCPU(), unameRelease(), goruntime.Version())
	for _, r := range recs {
		if r.Kind == "env" {
			fmt.Fprintf(&b, "- Guest: %s\n", r.Note)
		}
	}
	fmt.Fprintf(&b, "- Sweep: modes %s, rates %v calls/s, %d calls per run, %d repetitions, %d SIPp instance(s), latency probe %d req/s, %d associations for memory\n\n",
		strings.Join(p.Modes, ","), p.Rates, p.Calls, p.Reps, p.Instances, p.ProbeRate, p.Assocs)
	if p.Profile {
		b.WriteString("**Profiled run**: acli ran as `acli-bench acli-serve` (the same daemon, in the bench binary) with a CPU profile; its figures include the profiler's cost.\n\n")
	}
	return b.String()
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return goruntime.GOARCH
}

func unameRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
