package main

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The native mode's pure parts: schedstat, the thread sampler's sums, the
// configurations' comparison, stream framing, SIPp's arguments, the plan's
// checks, the summary and its goals.

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"123456789 2000 17\n", 123456789, true},
		{"0 0 0", 0, true},
		{"", 0, false},
		{"12 34", 0, false},
		{"x 1 2", 0, false},
		{"-5 1 2", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSchedstat([]byte(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSchedstat(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestThreadCPUDelta(t *testing.T) {
	// A thread seen at the base, one born later (counted whole) and one
	// that exited after its last sample (its last value stands).
	c := threadCPU{
		base: map[[2]int]uint64{{1, 1}: 100, {1, 2}: 50},
		last: map[[2]int]uint64{{1, 1}: 400, {1, 2}: 80, {1, 3}: 25},
	}
	if d, n := c.delta(); d != 300+30+25 || n != 3 {
		t.Errorf("delta %d over %d threads, want 355 over 3", d, n)
	}
}

func TestThreadCPUOfThisProcess(t *testing.T) {
	// The live /proc of the test process: schedstat summed over its
	// threads agrees with its process CPU clock.
	pid := os.Getpid()
	var c threadCPU
	if err := c.sample(pid); err != nil {
		t.Fatal(err)
	}
	clock0, err := processClocks(c.pids)
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
	}
	if err := c.sample(pid); err != nil {
		t.Fatal(err)
	}
	clock1, err := processClocks(c.pids)
	if err != nil {
		t.Fatal(err)
	}
	d, n := c.delta()
	clock := clock1 - clock0
	// The busy loop runs at least 200 ms of wall time; on a loaded machine
	// it gets less of the CPU. Both clocks saw the same work.
	if n < 1 || d < uint64(20*time.Millisecond) || clock < d*9/10 || clock > d*11/10 {
		t.Errorf("schedstat %v over %d threads, process clock %v", time.Duration(d), n, time.Duration(clock))
	}
	if err := c.sample(-1); err == nil {
		t.Error("sample(-1): no error")
	}
	for _, pids := range [][]int{nil, {-1}} {
		if _, err := processClocks(pids); err == nil {
			t.Errorf("processClocks(%v): no error", pids)
		}
	}
	if la := loadAvg(); len(strings.Fields(la)) != 3 {
		t.Errorf("loadAvg %q", la)
	}
}

func TestCompareConfigs(t *testing.T) {
	kam := `listen=udp:127.0.0.1:5060
listen=tcp:127.0.0.1:5060
# if ($rd == "old") { $du = "sip:1.2.3.4:1;transport=udp"; forward(); exit; }
	if ($rd == "agent-udp") { $du = "sip:127.0.0.5:5070;transport=udp"; forward(); exit; }
`
	acli := `sip-ports
address 127.0.0.1
port 5060
transport-protocol UDP
done
exit
sip-ports
address 127.0.0.1
port 5060
transport-protocol tcp
done
session-agent
hostname agent-udp
ip-address 127.0.0.5
port 5070
transport-method UDP
done
`
	tests := []struct {
		name      string
		kam, acli string
		want      []string
		err       string
	}{
		{"same", kam, acli, nil, ""},
		{"a listener more", kam + "listen=sctp:127.0.0.1:5060\n", acli,
			[]string{"kamailio.cfg listens on sctp:127.0.0.1:5060, acli has no such sip-port"}, ""},
		{"a sip-port more", kam, acli + "sip-ports\naddress 127.0.0.2\nport 5060\ntransport-protocol udp\ndone\n",
			[]string{"acli has a sip-port udp:127.0.0.2:5060, kamailio.cfg does not listen there"}, ""},
		{"another agent port", strings.Replace(kam, "5070;", "5071;", 1), acli,
			[]string{`kamailio.cfg forwards agent-udp to udp:127.0.0.5:5071, acli's session-agent agent-udp is "udp:127.0.0.5:5070"`}, ""},
		{"an agent more", kam, acli + "session-agent\nhostname agent-tcp\nip-address 127.0.0.5\nport 5071\ntransport-method StaticTCP\ndone\n",
			[]string{"acli has a session-agent agent-tcp (tcp:127.0.0.5:5071), kamailio.cfg does not forward to it"}, ""},
		{"an SCTP timer on one side", kam + "modparam(\"sctp\", \"sctp_srto_min\", 800)\n", acli,
			[]string{"kamailio.cfg sets sctp_srto_min 800, acli.acli does not set sctp-rto-min"}, ""},
		{"listen not parsed", "listen=127.0.0.1\n", acli, nil, "want listen=PROTO:IP:PORT"},
		{"forward on two lines", "if ($rd == \"a\") {\n $du = \"sip:1.2.3.4:5\";\n", acli, nil, "on one line"},
		{"sip-port without transport", kam, "sip-ports\naddress 1.2.3.4\nport 5\ndone\n", nil, "want address, port and transport-protocol"},
		{"agent with an unknown transport", kam, acli + "session-agent\nhostname x\nip-address 1.2.3.4\nport 5\ntransport-method DynamicTLS\ndone\n", nil, "UDP or StaticTCP"},
		{"block without done", kam, "sip-ports\naddress 1.2.3.4\n", nil, "sip-ports without done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compareConfigs(tt.kam, tt.acli)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMessageRequestAndStreamFraming(t *testing.T) {
	req := string(sipRequest("MESSAGE", "user@agent-tcp", "TCP", loopback4(5062), 7))
	for _, want := range []string{"MESSAGE sip:user@agent-tcp SIP/2.0\r\n", "Via: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK-probe-7;rport\r\n",
		"CSeq: 1 MESSAGE\r\n", "Content-Type: text/plain\r\n", "Content-Length: 7\r\n\r\nprobe 7"} {
		if !strings.Contains(req, want) {
			t.Errorf("request lacks %q:\n%s", want, req)
		}
	}
	tests := []struct {
		name, in string
		want     []string // the messages read, in order
		err      string
	}{
		{"two messages and keep-alives", "\r\n\r\nSIP/2.0 200 OK\r\nl: 2\r\n\r\nhiSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
			[]string{"SIP/2.0 200 OK\r\nl: 2\r\n\r\nhi", "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"}, ""},
		{"no Content-Length", "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n", nil, "without Content-Length"},
		{"bad Content-Length", "SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n", nil, "Content-Length"},
		{"short body", "SIP/2.0 200 OK\r\nContent-Length: 9\r\n\r\nab", nil, "EOF"},
	}
	for _, tt := range tests {
		r := bufio.NewReader(strings.NewReader(tt.in))
		var got []string
		var err error
		for {
			var b []byte
			if b, err = readStreamMessage(r); err != nil {
				break
			}
			got = append(got, string(b))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: read %q, want %q", tt.name, got, tt.want)
		}
		if tt.err == "" && err.Error() != "EOF" || tt.err != "" && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want %q (EOF when none)", tt.name, err, tt.err)
		}
	}
}

func TestSippArgsOfTheWorkloads(t *testing.T) {
	base := sippRun{Bin: "sipp", Scenario: "s.xml", Mode: "t1", Target: "127.0.0.1:5060", Local: "127.0.0.1", BasePort: 6000, Instances: 1, Calls: 30000, Dir: "/d"}
	tests := []struct {
		name      string
		rate      int
		limit     int
		extra     []string
		want, not []string
	}{
		{"fixed rate", 3000, 0, nil, []string{"-r 3000.000", "-l 3000", "-timeout 50s", "-t t1"}, nil},
		{"low rate", 50, 0, nil, []string{"-r 50.000", "-l 100"}, nil},
		{"saturation", 0, 2000, nil, []string{"-r 1000000.000", "-l 2000", "-timeout 90s"}, nil},
		{"forwarded", 1500, 0, []string{"-s", "agent-tcp"}, []string{"-s agent-tcp 127.0.0.1:5060"}, nil},
	}
	for _, tt := range tests {
		r := base
		r.Rate, r.Limit, r.Extra = tt.rate, tt.limit, tt.extra
		a := r.args(0)
		s := strings.Join(a, " ")
		for _, w := range tt.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %q lacks %q", tt.name, s, w)
			}
		}
		if a[len(a)-1] != "127.0.0.1:5060" {
			t.Errorf("%s: the target is not last: %q", tt.name, s)
		}
	}
	if c := pinned(cmdAt("acli", "--db", "x"), "0"); !slices.Equal(c.Args, []string{"taskset", "-c", "0", "/bin/acli", "--db", "x"}) {
		t.Errorf("pinned: %q", c.Args)
	}
	if c := pinned(cmdAt("acli"), ""); c.Args[0] != "acli" {
		t.Errorf("not pinned: %q", c.Args)
	}
}

func TestCheckNative(t *testing.T) {
	good := Plan{Workloads: []string{"options", "message", "saturate"}, Transports: []string{"u1", "t1"}, Servers: []string{"acli", "kamailio"},
		Calls: 1, Reps: 1, OptionsRate: 1, MessageRate: 1, SatLimit: 1, ServerPin: "0", SIPpPin: "1"}
	if err := good.checkNative(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Plan)
		err  string
	}{
		{"workload", func(p *Plan) { p.Workloads = []string{"invite"} }, `-workloads: "invite": allowed options, message, saturate`},
		{"transport", func(p *Plan) { p.Transports = []string{"s1"} }, `-transports: "s1": allowed u1 (UDP), t1 (TCP)`},
		{"server", func(p *Plan) { p.Servers = []string{"opensips"} }, `-servers: "opensips"`},
		{"same CPU", func(p *Plan) { p.SIPpPin = "0" }, "must not share a CPU"},
		{"CPU list", func(p *Plan) { p.ServerPin = "0-1" }, `"0-1": want a CPU number`},
		{"no workload", func(p *Plan) { p.Workloads = nil }, "need at least one"},
		{"no calls", func(p *Plan) { p.Calls = 0 }, "must be positive"},
	}
	for _, tt := range tests {
		p := good
		tt.mod(&p)
		if err := p.checkNative(); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
	if good.rateOf("options") != 1 || good.rateOf("saturate") != 0 {
		t.Error("rateOf")
	}
	if code := run([]string{"native", "-transports", "x"}); code != 2 {
		t.Errorf("bad transport: exit %d", code)
	}
}

func nativeRecords() []Record {
	load := func(s, w, m string, rep int, cpu, achieved float64, failed int, contended bool) Record {
		return Record{Kind: "load", Server: s, Workload: w, Mode: m, Rep: rep, Calls: 1000, Successful: 1000 - failed, Failed: failed,
			Requests: 1000, ServerCPU: cpu, ClockCPU: cpu * 1.001, Achieved: achieved, ProbeN: 10, P50us: 100, P99us: 300, Contended: contended, Threads: 7}
	}
	return []Record{
		load("acli", "options", "u1", 1, 0.010, 3000, 0, false),
		load("acli", "options", "u1", 2, 0.012, 3000, 0, true),
		load("acli", "options", "u1", 3, 0.011, 3000, 0, false),
		load("kamailio", "options", "u1", 1, 0.014, 3000, 0, false),
		load("kamailio", "options", "u1", 2, 0.014, 3000, 0, false),
		load("acli", "saturate", "u1", 1, 0.020, 5840, 120, false),
		load("kamailio", "saturate", "u1", 1, 0.015, 8360, 0, false),
		{Kind: "load", Server: "kamailio", Workload: "saturate", Mode: "u1", Rep: 2, Err: "sipp 0: no stat file"},
	}
}

func TestNativeRowsGoalsAndMarkdown(t *testing.T) {
	p := Plan{Workloads: []string{"options", "saturate"}, Transports: []string{"u1"}, Servers: []string{"acli", "kamailio"}}
	rows := nativeRows(nativeRecords(), p)
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	a, k := rows[0], rows[1]
	if a.CPUus.format(1) != "11.0 (10.0–12.0)" || a.UnderLoad != 1 || a.Runs != 3 || k.CPUus.Med != 14 {
		t.Errorf("options rows %+v %+v", a, k)
	}
	if ks := rows[3]; ks.Runs != 2 || ks.Errs != 1 || ks.Throughput.N != 1 {
		t.Errorf("saturate kamailio row %+v", ks)
	}
	gs := nativeGoals(rows)
	want := []goal{
		{"options", "u1", "CPU per request <= 0.8x Kamailio's", "11.0 vs 14.0 µs (0.79x)", true},
		{"saturate", "u1", "throughput >= Kamailio's, 0 failed calls", "5840 vs 8360 calls/s (0.70x), failed calls up to 120 (Kamailio 0)", false},
	}
	if !slices.Equal(gs, want) {
		t.Errorf("goals\n%+v\nwant\n%+v", gs, want)
	}
	head := nativeHeader(p, []Record{{Kind: "env", Note: "host kernel 6.1"}, {Kind: "setup", Server: "acli", Note: "configured"}})
	if !strings.Contains(head, "\n- host kernel 6.1\n- acli: configured\n") {
		t.Errorf("header:\n%s", head)
	}
	md := nativeMarkdown(nativeRecords(), p)
	for _, w := range []string{
		"| OPTIONS, fixed rate | UDP | acli | 11.0 (10.0–12.0) | 3000 | 0 | 100 | 300 | 3 (1, 0) |",
		"| | | **acli / Kamailio** | 0.79x | 1.00x | | 1.00x | 1.00x | |",
		"- OPTIONS, fixed rate, UDP: CPU per request <= 0.8x Kamailio's — met: 11.0 vs 14.0 µs (0.79x)",
		"- OPTIONS at saturation, UDP: throughput >= Kamailio's, 0 failed calls — **not met**",
		"| options | UDP | acli | 2 | none | 1000 | 0 | 3000 | 0 | 0.012 (0.012) | 7 | 12.0 | 100 | 300 |  | 0.00 (under load) |",
		"at most 0.10% apart",
		"kamailio saturate UDP rep 2: sipp 0: no stat file",
	} {
		if !strings.Contains(md, w) {
			t.Errorf("markdown lacks %q:\n%s", w, md)
		}
	}
}

func loopback4(port uint16) netip.AddrPort { return netip.AddrPortFrom(loopback, port) }

// cmdAt is exec.Command with a fixed path, for comparing argument lists.
func cmdAt(name string, args ...string) *osexec.Cmd {
	c := osexec.Command(name, args...)
	c.Path = "/bin/" + name
	return c
}

func TestSnmpField(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 2838759 2660 179868 3021310 179860 3\nUdpLite: InDatagrams RcvbufErrors\nUdpLite: 0 0\n"
	tests := []struct {
		proto, name string
		want        uint64
		err         string
	}{
		{"Udp", "RcvbufErrors", 179860, ""},
		{"Udp", "SndbufErrors", 3, ""},
		{"UdpLite", "RcvbufErrors", 0, ""},
		{"Udp", "MemErrors", 0, "no Udp MemErrors"},
		{"Tcp", "InErrs", 0, "no Tcp lines"},
	}
	for _, tt := range tests {
		got, err := snmpField([]byte(snmp), tt.proto, tt.name)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("snmpField(%s, %s) = %d, %v; want %d, %q", tt.proto, tt.name, got, err, tt.want, tt.err)
		}
	}
	if _, err := snmpField([]byte("Udp: RcvbufErrors\nUdp: x\n"), "Udp", "RcvbufErrors"); err == nil {
		t.Error("a value that is not a number: no error")
	}
	if _, err := udpRcvbufErrors(); err != nil {
		t.Errorf("this host's /proc/net/snmp: %v", err)
	}
}

func TestReportOfNativeRecords(t *testing.T) {
	// acli-bench report renders a native run's records (plan first) again.
	p := Plan{Host: true, Workloads: []string{"options", "saturate"}, Transports: []string{"u1"}, Servers: []string{"acli", "kamailio"}, Command: "go run ./cmd/acli-bench native"}
	pl, _ := json.Marshal(p)
	path := filepath.Join(t.TempDir(), "native.jsonl")
	if err := writeRecords(path, append([]Record{{Kind: "plan", Note: string(pl)}}, nativeRecords()...)); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"report", path}); code != 0 {
		t.Errorf("report: exit %d", code)
	}
	for _, file := range []string{"native-1.jsonl", "uml-sctp-1.jsonl", "native-saturate-udp-2.jsonl"} {
		recs, err := readRecords(filepath.Join("..", "..", "testdata", "bench", "results", file))
		if err != nil || len(recs) == 0 || recs[0].Kind != "plan" {
			t.Errorf("the committed records %s: %d records, %v", file, len(recs), err)
		}
	}
}

// An A/B run (-acli-base): the base build's row, its ratio to Kamailio and
// acli's to it follow the workload's rows; the goals stay acli's.
func TestNativeMarkdownBase(t *testing.T) {
	p := Plan{Workloads: []string{"options"}, Transports: []string{"u1"}, Servers: []string{"acli", "kamailio", "acli-base"}, AcliBase: "/tmp/acli-old"}
	recs := append(nativeRecords(), Record{Kind: "load", Server: "acli-base", Workload: "options", Mode: "u1", Rep: 1,
		Calls: 1000, Successful: 1000, Requests: 1000, ServerCPU: 0.022, ClockCPU: 0.022, Achieved: 3000, ProbeN: 10, P50us: 100, P99us: 300})
	md := nativeMarkdown(recs, p)
	for _, w := range []string{
		"| OPTIONS, fixed rate | UDP | acli-base | 22.0 | 3000 | 0 | 100 | 300 | 1 (0, 0) |\n| | | **acli / Kamailio** | 0.79x",
		"| | | **acli-base / Kamailio** | 1.57x |",
		"| | | **acli / acli-base** | 0.50x |",
	} {
		if !strings.Contains(md, w) {
			t.Errorf("markdown lacks %q:\n%s", w, md)
		}
	}
	if gs := nativeGoals(nativeRows(recs, p)); len(gs) != 1 || gs[0].Got != "11.0 vs 14.0 µs (0.79x)" {
		t.Errorf("goals %+v: want acli's only", gs)
	}
	p.AcliBase = ""
	if err := p.checkNative(); err == nil || !strings.Contains(err.Error(), "acli-base needs -acli-base") {
		t.Errorf("acli-base without a binary: %v", err)
	}
}
