package main

import (
	"context"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The harness's pure parts, on the host: parsing of /proc and SIPp files,
// the timers check of the shipped configurations, aggregation and the
// Markdown table. The benchmark itself (a UML guest, SIPp, Kamailio) is
// run by `go run ./cmd/acli-bench sip`, never by go test.

func TestParseProcStat(t *testing.T) {
	// A real line of a Kamailio child, with a command name holding blanks
	// and parentheses to check that fields are counted from the last ')'.
	line := "31483 (kamailio (udp) x) S 31481 31481 1234 0 -1 4194624 562 0 0 0 17 4 3 2 20 0 1 0 123456 76333056 646 18446744073709551615 1 1 0 0 0 0 0 4096 17987 0 0 0 17 1 0 0 0 0 0"
	s, err := parseProcStat([]byte(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != 31483 || s.PPID != 31481 || s.Comm != "kamailio (udp) x" || s.State != 'S' {
		t.Errorf("pid %d ppid %d comm %q state %c", s.PID, s.PPID, s.Comm, s.State)
	}
	if s.UTime != 17 || s.STime != 4 || s.CUTime != 3 || s.CSTim != 2 || s.CPUTicks() != 26 {
		t.Errorf("times %d %d %d %d", s.UTime, s.STime, s.CUTime, s.CSTim)
	}
	if s.RSSPages != 646 {
		t.Errorf("rss %d pages", s.RSSPages)
	}
	for _, bad := range []string{"", "12 kamailio S 1", "x (a) S 1 2", "12 (a) S 1 2 3", "12 (a) SS " + strings.Repeat("1 ", 30), "12 (a) S " + strings.Repeat("x ", 30)} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q): no error", bad)
		}
	}
}

func TestProcfsOfThisProcess(t *testing.T) {
	// The live /proc of the test process itself.
	u, err := sampleTree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.Procs < 1 || u.RSSKB <= 0 {
		t.Errorf("sample of this process: %+v", u)
	}
	if _, err := sampleTree(-1); err == nil {
		t.Error("sampleTree(-1): no error")
	}
	if kb, err := memAvailableKB(); err != nil || kb <= 0 {
		t.Errorf("MemAvailable %d: %v", kb, err)
	}
	c, err := readCPUTimes()
	if err != nil || c.Total == 0 || c.Busy > c.Total {
		t.Errorf("cpu times %+v: %v", c, err)
	}
}

func TestParseKBField(t *testing.T) {
	status := "Name:\tkamailio\nVmHWM:\t    2700 kB\nVmRSS:\t    2584 kB\nThreads:\t1\n"
	if v, err := parseKBField([]byte(status), "VmRSS"); err != nil || v != 2584 {
		t.Errorf("VmRSS %d %v", v, err)
	}
	if _, err := parseKBField([]byte(status), "Pss"); err == nil {
		t.Error("missing field: no error")
	}
	if _, err := parseKBField([]byte("VmRSS: 12 MB\n"), "VmRSS"); err == nil {
		t.Error("unit MB: no error")
	}
	if _, err := parseKBField([]byte("VmRSS: x kB\n"), "VmRSS"); err == nil {
		t.Error("non-numeric: no error")
	}
}

func TestParseCPULine(t *testing.T) {
	c, err := parseCPULine([]byte("cpu  100 5 50 800 20 3 2 0 7 0\ncpu0 100 5 50 800 20 3 2 0 7 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Busy: user nice system irq softirq steal; guest is inside user.
	if c.Busy != 160 || c.Total != 980 {
		t.Errorf("got %+v, want busy 160 total 980", c)
	}
	if _, err := parseCPULine([]byte("intr 1 2 3\n")); err == nil {
		t.Error("no cpu line: no error")
	}
}

func TestParseSippStat(t *testing.T) {
	// A statistics file of a real run (SIPp 3.6.1, -t sn, 1,000 calls).
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bench", "sipp-stat-sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := parseSippStat(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Created != 1000 || st.Successful != 1000 || st.Failed != 0 {
		t.Errorf("got %+v", st)
	}
	if st.CallRate <= 0 || st.Elapsed <= 0 {
		t.Errorf("rate %v elapsed %v", st.CallRate, st.Elapsed)
	}
	if _, err := parseSippStat([]byte("only;a;header\n")); err == nil {
		t.Error("header only: no error")
	}
	if _, err := parseSippStat([]byte("A;B\n1;2\n")); err == nil {
		t.Error("no known column: no error")
	}
	head := "TotalCallCreated;SuccessfulCall(C);FailedCall(C);Retransmissions(C);CallRate(C);ElapsedTime(C)\n"
	st, err = parseSippStat([]byte(head + "10;7;3;1;2.5;00:01:02\n"))
	if err != nil || st.Created != 10 || st.Successful != 7 || st.Failed != 3 || st.Retrans != 1 || st.CallRate != 2.5 || st.Elapsed != 62 {
		t.Errorf("got %+v, %v", st, err)
	}
	if _, err := parseSippStat([]byte(head + "10;x;3;1;2.5;00:01:02\n")); err == nil {
		t.Error("non-numeric count: no error")
	}
}

func TestParseHMS(t *testing.T) {
	for s, want := range map[string]float64{"00:00:04": 4, "01:02:03": 3723, "00:00:01:500000": 1.5} {
		if got, err := parseHMS(s); err != nil || got != want {
			t.Errorf("parseHMS(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "4", "00:x:01", "00:00:01:-5"} {
		if _, err := parseHMS(s); err == nil {
			t.Errorf("parseHMS(%q): no error", s)
		}
	}
}

func TestSippArgs(t *testing.T) {
	r := sippRun{Bin: "sipp", Scenario: "s.xml", Mode: "sn", Target: "127.0.0.1:5060", Local: "127.0.0.1",
		BasePort: 6000, Instances: 3, Rate: 900, Calls: 10000, Dir: "/d"}
	total := 0
	for i := range 3 {
		a := strings.Join(r.args(i), " ")
		for _, want := range []string{"-t sn", "-p 600" + string(rune('0'+i)), "-r 300.000", "-trace_stat", "127.0.0.1:5060"} {
			if !strings.Contains(a, want) {
				t.Errorf("instance %d: %q lacks %q", i, a, want)
			}
		}
		f := r.args(i)
		m := slices.Index(f, "-m")
		var n int
		for _, c := range f[m+1] {
			n = n*10 + int(c-'0')
		}
		total += n
	}
	if total != 10000 {
		t.Errorf("calls over the instances: %d, want 10000", total)
	}
}

func TestShippedConfigsMatch(t *testing.T) {
	// The shipped configurations of each pair set the same SCTP timers,
	// listen on the same sockets and forward to the same agents: the
	// harness refuses to run otherwise.
	td := filepath.Join("..", "..", "testdata", "bench")
	for _, pair := range [][2]string{{"kamailio.cfg", "acli.acli"}, {"kamailio-host.cfg", "acli-host.acli"}} {
		if err := checkConfigs(filepath.Join(td, pair[0]), filepath.Join(td, pair[1])); err != nil {
			t.Error(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(td, "kamailio.cfg"))
	k, _ := kamailioTimers(string(b))
	if len(k) != len(kamToAcli) {
		t.Errorf("kamailio.cfg sets %d sctp modparams, the harness maps %d: set them all", len(k), len(kamToAcli))
	}
	// The pairs are not interchangeable.
	if err := checkConfigs(filepath.Join(td, "kamailio.cfg"), filepath.Join(td, "acli-host.acli")); err == nil {
		t.Error("kamailio.cfg against acli-host.acli: no difference found")
	}
}

func TestCompareTimers(t *testing.T) {
	kam, err := kamailioTimers("# modparam(\"sctp\", \"sctp_srto_min\", 1)\nmodparam(\"sctp\", \"sctp_srto_min\", 800)\nmodparam(\"sctp\",\"sctp_assoc_reuse\",1)\nmodparam(\"sctp\", \"sctp_hbinterval\", -1)\n")
	if err != nil {
		t.Fatal(err)
	}
	acli, err := acliTimers("system\nnetwork-parameters\nsctp-rto-min 900\nsctp-assoc-reuse enabled\nsctp-max-burst 3\ndone\nsip-interface\nsctp-rto-max 5\n")
	if err != nil {
		t.Fatal(err)
	}
	got := compareTimers(kam, acli)
	want := []string{
		"acli.acli sets sctp-max-burst 3, kamailio.cfg has no matching sctp modparam",
		"kamailio.cfg sets sctp_hbinterval -1, acli.acli does not set sctp-hb-interval",
		"sctp_srto_min 800 in kamailio.cfg, sctp-rto-min 900 in acli.acli",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := kamailioTimers("modparam(\"sctp\", \"sctp_srto_min\", \"x\")\n"); err == nil {
		t.Error("string value: no error")
	}
	if _, err := kamailioTimers("modparam(\"sctp\", \"sctp_srto_min\", 1)\nmodparam(\"sctp\", \"sctp_srto_min\", 2)\n"); err == nil {
		t.Error("set twice: no error")
	}
	if _, err := acliTimers("network-parameters\nsctp-rto-min\n"); err == nil {
		t.Error("no value: no error")
	}
}

func TestKamailioConfigChildren(t *testing.T) {
	cfg := "fork=yes\nchildren=1\nsctp_children=1\n# children=9\n"
	got := kamailioConfig(cfg, 4)
	if got != "fork=yes\nchildren=4\nsctp_children=4\n# children=9\n" {
		t.Errorf("got %q", got)
	}
	if kamailioConfig(cfg, 0) != cfg {
		t.Error("n=0 changed the configuration")
	}
}

func TestHasCommand(t *testing.T) {
	help := []byte("activate-config              make the saved configuration running\nsave-config                  verify and save\nshow    show things\n")
	if !hasCommand(help, "save-config") || !hasCommand(help, "activate-config") || hasCommand(help, "backup-config") || hasCommand(help, "make") {
		t.Error("hasCommand")
	}
}

func TestOptionsRequestAndResponse(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:40000")
	req := string(optionsRequest("SCTP", local, serverAddr, 7))
	for _, want := range []string{"OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n", "Via: SIP/2.0/SCTP 127.0.0.1:40000;branch=z9hG4bK-probe-7;rport\r\n",
		"Call-ID: probe-7@acli-bench\r\n", "CSeq: 1 OPTIONS\r\n"} {
		if !strings.Contains(req, want) {
			t.Errorf("request lacks %q:\n%s", want, req)
		}
	}
	if !strings.HasSuffix(req, "Content-Length: 0\r\n\r\n") {
		t.Errorf("request does not end its headers:\n%q", req)
	}
	if callID([]byte(req)) != "probe-7@acli-bench" {
		t.Errorf("callID of the request: %q", callID([]byte(req)))
	}
	ok := []byte("SIP/2.0 200 OK\r\nVia: x\r\ni: probe-7@acli-bench\r\n\r\n")
	if statusCode(ok) != 200 || matchResponse(ok, "probe-7@acli-bench") != nil {
		t.Error("200 with compact Call-ID not matched")
	}
	if matchResponse(ok, "probe-8@acli-bench") != errOther {
		t.Error("another transaction's response matched")
	}
	bad := []byte("SIP/2.0 501 Not Implemented\r\nCall-ID: probe-7@acli-bench\r\n\r\n")
	if err := matchResponse(bad, "probe-7@acli-bench"); err == nil || err == errOther {
		t.Errorf("501: %v", err)
	}
	if statusCode([]byte("OPTIONS sip:x SIP/2.0\r\n")) != 0 || statusCode([]byte("SIP/2.0 2x")) != 0 {
		t.Error("statusCode of a non-response")
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Microsecond)
	}
	if p := percentile(ds, 50); p != 50 {
		t.Errorf("p50 %v", p)
	}
	if p := percentile(ds, 99); p != 99 {
		t.Errorf("p99 %v", p)
	}
	if p := percentile(ds, 100); p != 100 {
		t.Errorf("p100 %v", p)
	}
	if ds[0] != 100*time.Microsecond {
		t.Error("percentile sorted its argument")
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
}

func TestStat(t *testing.T) {
	s := statOf([]float64{3, 1, 2, math.NaN()})
	if s.N != 3 || s.Min != 1 || s.Med != 2 || s.Max != 3 || s.format(1) != "2.0 (1.0–3.0)" {
		t.Errorf("%+v %q", s, s.format(1))
	}
	if s := statOf([]float64{1, 4}); s.Med != 2.5 {
		t.Errorf("even median %v", s.Med)
	}
	if statOf(nil).format(0) != "—" || statOf([]float64{5}).format(0) != "5" {
		t.Error("format of none or one")
	}
	if ratio(statOf([]float64{3}), statOf([]float64{2})) != "1.50x" || ratio(stat{}, statOf([]float64{2})) != "—" {
		t.Error("ratio")
	}
}

// records of a small sweep: two servers, s1 at two rates, two
// repetitions; kamailio fails at 600 in repetition 2.
func sampleRecords() []Record {
	load := func(server string, rate, rep, ok, failed int, cpu float64) Record {
		return Record{Kind: "load", Server: server, Mode: "s1", Rate: rate, Rep: rep, Calls: ok + failed, Successful: ok, Failed: failed,
			Achieved: float64(rate) * 0.98, Requests: ok + failed + 100, ServerCPU: cpu, SIPpCPU: 10, GuestBusy: 0.9, GuestCPU: 30, Procs: 1,
			RSSKB: 10240, PSSKB: 9216, ProbeN: 100, P50us: 500, P99us: 2000,
			ServerHostCPU: cpu / 5, KernelHostCPU: 8, Stubs: 1}
	}
	noClock := load("kamailio", 600, 2, 19990, 10, 3.3)
	noClock.ServerHostCPU, noClock.KernelHostCPU, noClock.Stubs, noClock.StubErr = 0, 0, 0, "stub 42 is gone"
	return []Record{
		{Kind: "env", Note: "UML kernel 6.1"},
		{Kind: "setup", Server: "acli", Note: "configured"},
		{Kind: "assoc", Server: "acli", Rep: 1, Assocs: 100, IdleRSSKB: 6000, AssocRSSKB: 6400, IdlePSSKB: 6000, AssocPSSKB: 6400, SysDeltaKB: 5000, UsedRSSKB: 6800, UsedPSSKB: 6700},
		{Kind: "assoc", Server: "kamailio", Rep: 1, Assocs: 100, IdleRSSKB: 20000, AssocRSSKB: 20100, IdlePSSKB: 7000, AssocPSSKB: 7050, SysDeltaKB: 6000},
		load("acli", 300, 1, 20000, 0, 2.0), load("kamailio", 300, 1, 20000, 0, 3.0),
		load("acli", 600, 1, 20000, 0, 2.1), load("kamailio", 600, 1, 20000, 0, 3.2),
		load("acli", 300, 2, 20000, 0, 2.2), load("kamailio", 300, 2, 20000, 0, 3.1),
		load("acli", 600, 2, 20000, 0, 2.0), noClock,
	}
}

func TestAggregateAndMarkdown(t *testing.T) {
	rep := aggregate(sampleRecords(), []string{"acli", "kamailio"}, []string{"s1"})
	if rep.CompareRate["s1"] != 300 {
		t.Errorf("compare rate %d, want 300 (kamailio failed at 600)", rep.CompareRate["s1"])
	}
	if len(rep.Rows) != 2 {
		t.Fatalf("%d rows", len(rep.Rows))
	}
	a, k := rep.Rows[0], rep.Rows[1]
	if a.Server != "acli" || k.Server != "kamailio" {
		t.Fatalf("rows %s %s", a.Server, k.Server)
	}
	if a.MaxRate.Med != 588 || k.MaxRate.Min != 294 || k.MaxRate.Max != 588 || k.Failed != 1 || k.Runs != 4 {
		t.Errorf("max rates acli %+v kamailio %+v failed %d/%d", a.MaxRate, k.MaxRate, k.Failed, k.Runs)
	}
	// CPU at 300 calls/s: 2.0 and 2.2 s for 20,100 requests.
	if got := a.CPUPerK.format(4); got != "0.1045 (0.0995–0.1095)" {
		t.Errorf("acli CPU/1k %s", got)
	}
	// acli: in use (after a request on each); kamailio: only bare figures.
	if a.KBPerAssoc.Med != 8 || k.KBPerAssoc.Med != 1 {
		t.Errorf("KB/assoc %v %v", a.KBPerAssoc, k.KBPerAssoc)
	}
	md := rep.markdown("T")
	for _, want := range []string{
		"| SCTP, one association (s1) | acli | 300 | 588 | 0.104 (0.100–0.109) |",
		"| SCTP, one association (s1) | **acli / Kamailio** | | 1.33x | 0.69x | 1.46x | 0.69x | 1.46x | 1.00x | 1.00x |",
		"| acli | s1 | 300 | 1 | 20000 | 0 | 294 | 2.00 (0.00) | 0.100 | 10.0 | 0.400 (1) | 8.000 | 90 (30.0) |",
		"| kamailio | s1 | 600 | 2 | 19990 | 10 | 588 | 3.30 (0.00) | 0.164 | 10.0 | — | — | 90 (30.0) |",
		"kamailio s1 rate 600 rep 2: no host-clock CPU: stub 42 is gone",
		"(1/4 runs failed)",
		"| acli | 100 | 5.9 | 4.00 | 4.00 | 8.00 | 7.00 | 50.0 |",
		"| kamailio | 100 | 19.5 | 1.00 | 0.50 | — | — | 60.0 |",
		"| kamailio | s1 | 600 | 2 | 19990 | 10 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestAggregateUnavailable(t *testing.T) {
	recs := append(sampleRecords()[3:4], Record{Kind: "unavailable", Server: "acli", Err: "acli serve: no SCTP | yet"},
		Record{Kind: "load", Server: "kamailio", Mode: "u1", Rate: 300, Rep: 1, Calls: 100, Successful: 100, Requests: 100, ServerCPU: 0.5})
	rep := aggregate(recs, []string{"acli", "kamailio"}, []string{"u1"})
	if !slices.Equal(rep.Servers, []string{"kamailio"}) {
		t.Errorf("servers %v", rep.Servers)
	}
	md := rep.markdown("T")
	if !strings.Contains(md, "**acli: not available** (acli serve: no SCTP \\| yet)") {
		t.Errorf("no unavailability line:\n%s", md)
	}
	if strings.Contains(md, "acli / Kamailio") {
		t.Errorf("ratios without acli:\n%s", md)
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	g := &guestState{}
	var err error
	if g.out, err = os.Create(filepath.Join(dir, resultsFile)); err != nil {
		t.Fatal(err)
	}
	for _, r := range sampleRecords() {
		g.emit(r)
	}
	g.out.Close()
	recs, err := readRecords(filepath.Join(dir, resultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs, sampleRecords()) {
		t.Errorf("records changed on the way:\n%+v", recs)
	}
}

func TestEstimateAndFlags(t *testing.T) {
	p := Plan{Rates: []int{500}, Calls: 10000, Reps: 2, Modes: []string{"s1"}, Servers: []string{"acli", "kamailio"}}
	if got := estimate(p); got != 4*26*time.Second+30*time.Second {
		t.Errorf("estimate %v", got)
	}
	if loadRuns(p) != 4 {
		t.Errorf("load runs %d", loadRuns(p))
	}
	if r, err := parseInts("300, 600,900"); err != nil || !slices.Equal(r, []int{300, 600, 900}) {
		t.Errorf("parseInts %v %v", r, err)
	}
	for _, bad := range []string{"", "x", "0", "-5"} {
		if _, err := parseInts(bad); err == nil {
			t.Errorf("parseInts(%q): no error", bad)
		}
	}
	if code := run([]string{"sip", "-modes", "s2"}); code != 2 {
		t.Errorf("bad mode: exit %d", code)
	}
	if code := run([]string{"sip", "-h"}); code != 0 {
		t.Errorf("sip -h: exit %d", code)
	}
	if code := run([]string{"nope"}); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}

func TestHostLoad(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h := &hostLoad{samples: []loadSample{
		{at: t0, busy: 0, ours: 0, valid: true},
		{at: t0.Add(time.Second), busy: 150, ours: 100, valid: true},
		{at: t0.Add(2 * time.Second), busy: 300, ours: 200, valid: true},
		{at: t0.Add(3 * time.Second), busy: 500, ours: 250, valid: true},
	}}
	// 1.5 s to 2.5 s is covered by the samples at 1 s and 3 s: 350 busy
	// ticks, 150 of them ours, over 2 s: one core of other work.
	if got := h.other(t0.Add(1500*time.Millisecond), t0.Add(2500*time.Millisecond)); got != 1 {
		t.Errorf("other = %v, want 1", got)
	}
	if got := h.other(t0.Add(-time.Second), t0.Add(time.Second)); got != -1 {
		t.Errorf("uncovered: %v, want -1", got)
	}
	recs := []Record{
		{Kind: "load", Start: t0.Add(1500 * time.Millisecond).UnixMilli(), End: t0.Add(2500 * time.Millisecond).UnixMilli()},
		{Kind: "load", Start: t0.UnixMilli(), End: t0.Add(time.Second).UnixMilli()},
		{Kind: "assoc"},
	}
	annotateLoad(recs, h, 0.6)
	if !recs[0].Contended || recs[0].HostOther != 1 || recs[1].Contended || recs[1].HostOther != 0.5 {
		t.Errorf("annotated %+v", recs[:2])
	}
	// The live sampler: this process's own work is ours.
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	if ourTicks(os.Getpid()) == 0 {
		t.Error("ourTicks: none after 50 ms of work")
	}
}

func TestContendedLeftOut(t *testing.T) {
	recs := sampleRecords()
	for i := range recs {
		if recs[i].Kind == "load" && recs[i].Server == "kamailio" && recs[i].Rep == 2 {
			recs[i].Contended, recs[i].HostOther, recs[i].Start = true, 0.9, 1
		}
	}
	rep := aggregate(recs, []string{"acli", "kamailio"}, []string{"s1"})
	if rep.CompareRate["s1"] != 600 {
		t.Errorf("compare rate %d, want 600 (kamailio's failure was on a busy host)", rep.CompareRate["s1"])
	}
	k := rep.Rows[1]
	if k.Runs != 2 || k.Failed != 0 {
		t.Errorf("kamailio runs %d failed %d, want 2 and 0", k.Runs, k.Failed)
	}
	md := rep.markdown("T")
	if !strings.Contains(md, "left out of the summary, the host was busy with other work (0.90 cores)") || !strings.Contains(md, "| 0.90 (left out) |") {
		t.Errorf("contended runs not reported:\n%s", md)
	}
}

func TestHostLoadRunCoversTheEnd(t *testing.T) {
	// The sampler takes a last sample when stopped: a run that ends just
	// before is covered.
	var h hostLoad
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.run(ctx) }()
	time.Sleep(50 * time.Millisecond) // after the first sample
	start := time.Now()
	time.Sleep(100 * time.Millisecond)
	end := time.Now()
	cancel()
	<-done
	if got := h.oursBetween(start, end); got < 0 {
		t.Errorf("a run ending before the sampler stopped is not covered (%v); samples %d", got, len(h.samples))
	}
}

func TestMaxRateOfPartialRepetitions(t *testing.T) {
	// Repetition 2 ran 300 on a busy host (left out) and failed at 600:
	// its highest passing rate is unknown, not 0.
	recs := sampleRecords()
	for i := range recs {
		r := &recs[i]
		if r.Kind == "load" && r.Server == "kamailio" && r.Rep == 2 && r.Rate == 300 {
			r.Contended, r.Start = true, 1
		}
	}
	rep := aggregate(recs, []string{"acli", "kamailio"}, []string{"s1"})
	if k := rep.Rows[1]; k.MaxRate.N != 1 || k.MaxRate.Med != 588 {
		t.Errorf("kamailio max rate %+v, want only repetition 1's 588", k.MaxRate)
	}
}
