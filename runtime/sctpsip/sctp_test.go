package sctpsip

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/sctptest"
	"github.com/acli-project/acli/runtime/internal/sipptest"
	"github.com/acli-project/acli/runtime/internal/testcfg"
	"github.com/acli-project/acli/runtime/internal/testwait"
	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp"
	"github.com/acli-project/acli/runtime/sctp/sctpwire"
)

// Each row of the knob table (plan.Knobs), set alone away from its default
// on a running listener, reaches the socket and show sctp options: the
// kernel's value read back (the one in force for a knob the runtime
// enforces) and the configured one are the value set, in the row of the
// knob's parameter. A row added to the table is tested here with no edit.
func TestEveryKnobInShowSCTPOptions(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	for i, k := range plan.Knobs() {
		v := testcfg.KnobValue(t, k.Param.Param())
		sctptest.Apply(t, e, config(map[string]string{k.Name(): v}, sipPort{"SCTP", "127.0.0.1", p, nil}), "v"+strconv.Itoa(i+1))
		los, err := e.SCTPOptions("127.0.0.1")
		if err != nil || len(los) != 1 || los[0].Error != "" {
			t.Fatalf("%s %s: options %+v, %v", k.Name(), v, los, err)
		}
		i := slices.IndexFunc(los[0].Options, func(o control.Option) bool { return o.Name == k.Name() })
		if i < 0 {
			t.Errorf("%s: no row", k.Name())
			continue
		}
		if o := los[0].Options[i]; o.Kernel != v || o.Configured != v {
			t.Errorf("%s %s: kernel %s, configured %s", k.Name(), v, o.Kernel, o.Configured)
		}
		var out bytes.Buffer
		control.WriteSCTPOptions(&out, los)
		if !hasRowPrefix(out.String(), k.Name()+" "+v+" "+v) {
			t.Errorf("show sctp options has no row %q:\n%s", k.Name()+" "+v+" "+v, out.String())
		}
	}
}

// Every SCTP knob of network-parameters, set away from its default, reads
// back from the kernel with the configured value, and show sctp options
// prints both.
func TestOptionsReadBack(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	np := map[string]string{
		"sctp-rto-initial": "1500", "sctp-rto-min": "700", "sctp-rto-max": "9000",
		"sctp-hb-interval": "7000", "sctp-path-max-retrans": "3", "sctp-assoc-max-retrans": "6",
		"sctp-sack-timeout": "150", "sctp-sack-freq": "3", "sctp-max-burst": "5",
		"sctp-init-max-attempts": "4", "sctp-init-max-timeo": "5000",
		"sctp-socket-rcvbuf": "262144", "sctp-socket-sndbuf": "131072",
		"sctp-autoclose": "120", "sctp-send-ttl": "16000", "sctp-send-mode": "ordered",
		"sctp-max-assocs": "50",
	}
	sctptest.Apply(t, e, config(np, sipPort{"SCTP", "127.0.0.1", p, []string{"127.0.0.2"}}), "v1")
	los, err := e.SCTPOptions("127.0.0.2")
	if err != nil || len(los) != 1 {
		t.Fatalf("options of 127.0.0.2: %v, %v", los, err)
	}
	lo := los[0]
	if lo.Error != "" {
		t.Fatalf("read back: %s", lo.Error)
	}
	for name, want := range np {
		if got := option(lo.Options, name); got != want {
			t.Errorf("%s: kernel %s, configured %s", name, got, want)
		}
	}
	for _, o := range lo.Options {
		if o.Kernel != o.Configured {
			t.Errorf("%s: kernel %s differs from configured %s", o.Name, o.Kernel, o.Configured)
		}
	}
	var out bytes.Buffer
	control.WriteSCTPOptions(&out, los)
	t.Logf("show sctp options 127.0.0.2:\n%s", out.String())
	if !strings.Contains(out.String(), "SCTP listener SCTP {127.0.0.1,127.0.0.2}:"+strconv.Itoa(p)) {
		t.Errorf("show sctp options does not name the listener")
	}
	for _, want := range []string{"sctp-rto-initial 1500 1500", "sctp-hb-interval 7000 7000", "sctp-socket-rcvbuf 262144 262144"} {
		if !hasRow(out.String(), want) {
			t.Errorf("show sctp options lacks the row %q", want)
		}
	}
	// Heartbeat disabled and SACK at once read back as 0.
	np["sctp-hb-interval"], np["sctp-sack-timeout"] = "0", "0"
	rep := sctptest.Apply(t, e, config(np, sipPort{"SCTP", "127.0.0.1", p, []string{"127.0.0.2"}}), "v2")
	if len(rep.Updated) != 1 || !strings.Contains(strings.Join(rep.Updated[0].Changes, ","), "sctp-hb-interval 7000 -> 0 (new associations only)") {
		t.Errorf("update report: %+v", rep.Updated)
	}
	los, _ = e.SCTPOptions("127.0.0.1:" + strconv.Itoa(p))
	if hb, sd := option(los[0].Options, "sctp-hb-interval"), option(los[0].Options, "sctp-sack-timeout"); hb != "0" || sd != "0" {
		t.Errorf("heartbeat %s, sack timeout %s after disabling both; want 0 0", hb, sd)
	}
	if _, err := e.SCTPOptions("127.0.0.9"); err == nil {
		t.Error("options of an address no listener has: no error")
	}
}

// SIPp over SCTP: one association for all calls (s1) and one per call
// (sn), to a multi-homed listener, through each of its addresses.
func TestSIPp(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	key := fmt.Sprintf("SCTP {127.0.0.1,127.0.0.2}:%d", p)
	sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p, []string{"127.0.0.2"}}), "v1")
	tests := []struct {
		transport, target string
		calls, rate       int
	}{
		{"s1", "127.0.0.1", 3000, 500},
		{"sn", "127.0.0.1", 2000, 250},
		{"s1", "127.0.0.2", 500, 250},
		{"sn", "127.0.0.2", 500, 250},
	}
	total := 0
	for i, tt := range tests {
		t.Run(tt.transport+"-"+tt.target, func(t *testing.T) {
			r := sipptest.Run(t, sipptest.Options{Scenario: sipptest.Scenario(), Transport: tt.transport,
				Local: "127.0.0.3", LocalPort: 5070 + i, Target: tt.target + ":" + strconv.Itoa(p),
				Calls: tt.calls, Rate: tt.rate, Extra: []string{"-max_socket", "4000"}})
			r.Check(t, tt.calls)
			t.Logf("sipp -t %s to %s: %d calls, %d successful, %d failed, %.0f calls/s, %v",
				tt.transport, tt.target, tt.calls, r.Successful, r.Failed, r.CallRate, r.Elapsed.Round(time.Millisecond))
			total += tt.calls
		})
	}
	l := listener(t, e, key)
	c := l.Counters
	if c.MessagesIn != uint64(total) || c.MessagesOut != uint64(total) || c.ParseErrors != 0 || c.SendErrors != 0 {
		t.Errorf("counters %+v; want %d in and out", c, total)
	}
	if c.AssocsTotal < 2+2500 {
		t.Errorf("%d associations opened in total; want at least %d", c.AssocsTotal, 2+2500)
	}
	var out bytes.Buffer
	control.WriteSCTPInfo(&out, e.SCTPInfo())
	t.Logf("show sctp info:\n%s", out.String())
}

// A multi-homed client reaches the multi-homed listener; the response
// comes back on the request's association, PPID 0, with the SCTP Via.
func TestMultiHoming(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p, []string{"127.0.0.2"}}), "v1")
	l := listener(t, e, fmt.Sprintf("SCTP {127.0.0.1,127.0.0.2}:%d", p))
	if got := strings.Join(l.Addrs, " "); got != fmt.Sprintf("127.0.0.1:%d 127.0.0.2:%d", p, p) {
		t.Errorf("bound addresses %q", got)
	}
	for _, remote := range [][]string{{"127.0.0.1"}, {"127.0.0.2"}, {"127.0.0.2", "127.0.0.1"}} {
		c := dial(t, sctptest.Addrs("127.0.0.3", "127.0.0.4"), sctptest.Addrs(remote...), p)
		resp, info := ask(t, c)
		if !strings.HasPrefix(resp, "SIP/2.0 200 OK\r\n") || !strings.Contains(resp, "\r\nVia: SIP/2.0/SCTP 127.0.0.3:5999;") {
			t.Errorf("via %v: response %q", remote, resp)
		}
		if info.PPID != 0 || info.Assoc != c.Assoc() {
			t.Errorf("via %v: response PPID %d on association %d, want 0 on %d", remote, info.PPID, info.Assoc, c.Assoc())
		}
		peers, _ := c.PeerAddrs()
		if len(peers) != 2 {
			t.Errorf("via %v: the listener offers %v, want both of its addresses", remote, peers)
		}
	}
	eventually(t, "3 associations counted", func() string {
		if c := listener(t, e, l.Key).Counters; c.Assocs != 3 || c.AssocsTotal != 3 {
			return fmt.Sprintf("%+v", c)
		}
		return ""
	})
}

// sctp-max-assocs: associations beyond it are aborted at once and counted.
func TestMaxAssocs(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	sctptest.Apply(t, e, config(map[string]string{"sctp-max-assocs": "2"}, sipPort{"SCTP", "127.0.0.1", p, nil}), "v1")
	for range 2 {
		if resp, _ := ask(t, dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p)); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
			t.Fatalf("response %q", resp)
		}
	}
	third := dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p)
	third.WriteMsg(options(), 0, 0)
	third.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, _, err := third.ReadMsg(make([]byte, 65536)); err == nil {
		t.Errorf("an association beyond sctp-max-assocs was answered (%d bytes)", n)
	}
	key := fmt.Sprintf("SCTP 127.0.0.1:%d", p)
	eventually(t, "one refused association", func() string {
		if c := listener(t, e, key).Counters; c.Refused != 1 || c.Assocs != 2 {
			return fmt.Sprintf("%+v", c)
		}
		return ""
	})
}

// Activation while SIPp runs: a changed RTO shows on new associations only,
// an added sip-port listens, a removed one releases its port, the unchanged
// listener drops nothing, and a failing activation leaves it all serving.
func TestActivateUnderLoad(t *testing.T) {
	e := sctptest.NewEngine(t)
	pa, pb, pc := port(), port(), port()
	a := sipPort{"SCTP", "127.0.0.1", pa, []string{"127.0.0.2"}}
	c := sipPort{"SCTP", "127.0.0.1", pc, nil}
	sctptest.Apply(t, e, config(nil, a, c), "v1")
	keyA := fmt.Sprintf("SCTP {127.0.0.1,127.0.0.2}:%d", pa)

	old := dial(t, sctptest.Addrs("127.0.0.5"), sctptest.Addrs("127.0.0.1"), pa)
	ask(t, old)

	const calls = 1500
	done := make(chan sipptest.Result, 1)
	go func() {
		done <- sipptest.Run(t, sipptest.Options{Scenario: sipptest.Scenario(), Transport: "sn", Local: "127.0.0.3",
			LocalPort: 5090, Target: "127.0.0.2:" + strconv.Itoa(pa), Calls: calls, Rate: 300,
			Extra: []string{"-max_socket", "4000"}})
	}()
	time.Sleep(1500 * time.Millisecond) // SIPp is sending

	// v2: RTO changed, b added, c removed.
	np := map[string]string{"sctp-rto-initial": "400", "sctp-rto-min": "200", "sctp-rto-max": "2000"}
	b := sipPort{"SCTP", "127.0.0.1", pb, nil}
	rep := sctptest.Apply(t, e, config(np, a, b), "v2")
	if len(rep.Opened) != 1 || len(rep.Closed) != 1 || len(rep.Updated) != 1 || rep.Updated[0].Key != keyA {
		t.Fatalf("v2 report: %+v", rep)
	}
	if ch := strings.Join(rep.Updated[0].Changes, "; "); !strings.Contains(ch, "sctp-rto-initial 3000 -> 400 (new associations only)") {
		t.Errorf("v2 changes: %s", ch)
	}
	if resp, _ := ask(t, dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), pb)); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
		t.Errorf("the added port answers %q", resp)
	}
	if cc, err := sctpListen(pc); err != nil {
		t.Errorf("the removed port is still held: %v", err)
	} else {
		cc.Close()
	}
	newer := dial(t, sctptest.Addrs("127.0.0.6"), sctptest.Addrs("127.0.0.1"), pa)
	ask(t, newer)
	ask(t, old) // the old association still works

	// v3 fails (b's port taken by another socket, TLS); v2 keeps serving.
	busy, err := sctpListen(pc)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	rep = e.Apply(config(np, a, b, c, sipPort{"TLS", "127.0.0.1", pc, nil}), "v3")
	if len(rep.Errors) != 2 || rep.Changed() {
		t.Errorf("v3 report: %+v", rep)
	}
	if v, _ := e.Version(); v != "v2" {
		t.Errorf("serving %s after the failed v3, want v2", v)
	}
	ask(t, old)

	r := <-done
	r.Check(t, calls)
	t.Logf("sipp -t sn during three activations: %d calls, %d successful, %d failed", calls, r.Successful, r.Failed)

	// RTO of the old association is the old one, of the new one the new.
	// Read once SIPp's associations are gone: show sctp options lists the
	// newest 16 associations, and under -t sn the old one is not among
	// them.
	var los []control.ListenerOptions
	eventually(t, "SIPp's associations closed", func() string {
		var err error
		if los, err = e.SCTPOptions("127.0.0.1:" + strconv.Itoa(pa)); err != nil {
			return err.Error()
		}
		if n := len(los[0].Assocs) + los[0].MoreAssocs; n > 2 {
			return fmt.Sprintf("%d associations", n)
		}
		return ""
	})
	if got := option(los[0].Options, "sctp-rto-initial"); got != "400" {
		t.Errorf("listener rto-initial %s after v2, want 400", got)
	}
	rto := map[string]string{}
	for _, as := range los[0].Assocs {
		for _, peer := range as.Peer {
			rto[strings.Split(peer, ":")[0]] = option(as.Options, "sctp-rto-initial")
		}
	}
	if rto["127.0.0.5"] != "3000" || rto["127.0.0.6"] != "400" {
		t.Errorf("rto-initial of the association opened before v2: %s (want 3000), after: %s (want 400)", rto["127.0.0.5"], rto["127.0.0.6"])
	}
	var out bytes.Buffer
	control.WriteSCTPOptions(&out, los)
	t.Logf("show sctp options 127.0.0.1:%d:\n%s", pa, out.String())
}

// Scale: 1,000 concurrent associations held open on one listener, with the
// process's threads and resident memory per association.
func TestScale(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p, nil}), "v1")
	key := fmt.Sprintf("SCTP 127.0.0.1:%d", p)
	ask(t, dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p)) // warm up
	threads0, rss0 := procStatus(t)

	const n = 1000
	scenario := holdScenario(t)
	done := make(chan sipptest.Result, 1)
	go func() {
		done <- sipptest.Run(t, sipptest.Options{Scenario: scenario, Transport: "sn", Local: "127.0.0.4",
			LocalPort: 5100, Target: "127.0.0.1:" + strconv.Itoa(p), Calls: n, Rate: 250,
			Extra: []string{"-max_socket", "4000", "-l", strconv.Itoa(n)}})
	}()
	testwait.Eventually(t, 30*time.Second, "1000 associations open", func() string {
		if c := listener(t, e, key).Counters; c.Assocs < n+1 {
			return fmt.Sprintf("%d open", c.Assocs)
		}
		return ""
	})
	threads, rss := procStatus(t)
	per := float64(rss-rss0) / n
	t.Logf("%d associations: %d threads (%d before), resident %d KiB (+%d KiB, %.1f KiB per association)",
		n, threads, threads0, rss, rss-rss0, per)
	if threads > 32 {
		t.Errorf("%d OS threads for %d associations; want a handful", threads, n)
	}
	if per > 64 {
		t.Errorf("%.1f KiB of process memory per idle association; want well under 64", per)
	}
	r := <-done
	r.Check(t, n)
}

// procStatus returns the process's threads and resident KiB.
func procStatus(t *testing.T) (threads, rssKiB int) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Threads:":
			threads, _ = strconv.Atoi(f[1])
		case "VmRSS:":
			rssKiB, _ = strconv.Atoi(f[1])
		}
	}
	return threads, rssKiB
}

// holdScenario is the OPTIONS scenario with a pause after the answer, so
// that each call's association stays open.
func holdScenario(t *testing.T) string {
	b, err := os.ReadFile(sipptest.Scenario())
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "  <Reference", "  <pause milliseconds=\"8000\"/>\n  <Reference", 1)
	path := t.TempDir() + "/hold.xml"
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// hasRow reports whether text has a line whose fields are those of row.
func hasRow(text, row string) bool { return hasLine(text, row, slices.Equal) }

// hasRowPrefix reports whether a line of text starts with the fields of
// row (a note may follow).
func hasRowPrefix(text, row string) bool {
	return hasLine(text, row, func(f, want []string) bool { return len(f) >= len(want) && slices.Equal(f[:len(want)], want) })
}

// hasLine reports whether match holds for the fields of a line of text and
// those of row.
func hasLine(text, row string, match func(f, want []string) bool) bool {
	want := strings.Fields(row)
	for _, l := range strings.Split(text, "\n") {
		if match(strings.Fields(l), want) {
			return true
		}
	}
	return false
}

// Closing the engine (SIGTERM) shuts associations down gracefully: the
// peer sees SHUTDOWN, not ABORT.
func TestGracefulShutdown(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p, nil}), "v1")
	c := dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p)
	ask(t, c)
	var mu sync.Mutex
	var events []string
	c.OnNotification(func(n sctp.Notification) {
		mu.Lock()
		defer mu.Unlock()
		switch n.Type {
		case sctpwire.ShutdownEvent:
			events = append(events, "SHUTDOWN")
		case sctpwire.AssocChange:
			events = append(events, n.StateName())
		}
	})
	e.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	c.ReadMsg(make([]byte, 4096)) // runs the notification handler until the deadline
	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(events, " ")
	t.Logf("peer notifications after Close: %s", got)
	if !strings.Contains(got, "SHUTDOWN") || strings.Contains(got, "COMM_LOST") {
		t.Errorf("peer saw %q; want a graceful SHUTDOWN, no COMM_LOST (abort)", got)
	}
}

// Adding a multi-homed address changes the listener's key: the new
// endpoint replaces the old one on the same port.
func TestMultiHomedChange(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p, nil}), "v1")
	ask(t, dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p))
	rep := sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p, []string{"127.0.0.2"}}), "v2")
	if len(rep.Opened) != 1 || len(rep.Closed) != 1 || rep.Closed[0] != fmt.Sprintf("SCTP 127.0.0.1:%d", p) {
		t.Fatalf("v2 report: %+v", rep)
	}
	for _, a := range []string{"127.0.0.1", "127.0.0.2"} {
		if resp, _ := ask(t, dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs(a), p)); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
			t.Errorf("via %s after v2: %q", a, resp)
		}
	}
}

// sctp-assoc-tracking disabled: the listener reads no association
// notification, yet counts its associations (from the kernel) and lists
// them in show sctp options; enabling it again counts new ones.
func TestAssocTrackingDisabled(t *testing.T) {
	e := sctptest.NewEngine(t)
	p := port()
	key := fmt.Sprintf("SCTP 127.0.0.1:%d", p)
	off := map[string]string{"sctp-assoc-tracking": "disabled", "sctp-assoc-reuse": "disabled"}
	sctptest.Apply(t, e, config(off, sipPort{"SCTP", "127.0.0.1", p, nil}), "v1")
	r := sipptest.Run(t, sipptest.Options{Scenario: sipptest.Scenario(), Transport: "sn", Local: "127.0.0.3",
		LocalPort: 5090, Target: "127.0.0.1:" + strconv.Itoa(p), Calls: 300, Rate: 200, Extra: []string{"-max_socket", "4000"}})
	r.Check(t, 300)
	for range 2 {
		if resp, _ := ask(t, dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p)); !strings.HasPrefix(resp, "SIP/2.0 200 OK") {
			t.Fatalf("response %q", resp)
		}
	}
	c := listener(t, e, key).Counters
	if c.MessagesIn != 302 || c.MessagesOut != 302 || c.Assocs != 2 || c.AssocsTotal != 0 {
		t.Errorf("counters %+v: want 302 in and out, 2 associations open (from the kernel), none counted as opened", c)
	}
	los, err := e.SCTPOptions("127.0.0.1")
	if err != nil || len(los) != 1 {
		t.Fatalf("options: %v, %v", los, err)
	}
	if got := option(los[0].Options, "sctp-assoc-tracking"); got != "disabled" {
		t.Errorf("sctp-assoc-tracking in the kernel column: %s", got)
	}
	if len(los[0].Assocs) != 2 {
		t.Errorf("show sctp options lists %d associations, want 2", len(los[0].Assocs))
	}
	rep := sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p, nil}), "v2")
	if len(rep.Updated) != 1 {
		t.Fatalf("update report: %+v", rep)
	}
	ask(t, dial(t, sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p))
	eventually(t, "the new association counted", func() string {
		if c := listener(t, e, key).Counters; c.AssocsTotal != 1 {
			return fmt.Sprintf("%+v", c)
		}
		return ""
	})
}

// net.sctp.sndbuf_policy 0, the kernel's default, gives all the
// associations of a listener one send buffer: the engine warns once, when
// it opens SCTP listeners, and show sctp options says what the setting
// means either way.
func TestSndbufPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy string
		warns  int
		show   string
	}{
		{"0", 1, "host: net.sctp.sndbuf_policy 0: all associations share the listener's send buffer"},
		{"1", 0, "host: net.sctp.sndbuf_policy 1: each association has a send buffer of its own"},
	} {
		t.Run("policy "+tc.policy, func(t *testing.T) {
			testcfg.SndbufPolicy(t, tc.policy)
			var log lockedBuffer
			e := runtime.NewEngine(slog.New(slog.NewTextHandler(&log, nil)))
			t.Cleanup(func() { e.Close() })
			p1, p2 := port(), port()
			sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p1, nil}, sipPort{"SCTP", "127.0.0.2", p2, nil}), "v1")
			sctptest.Apply(t, e, config(nil, sipPort{"SCTP", "127.0.0.1", p1, nil}, sipPort{"SCTP", "127.0.0.3", port(), nil}), "v2")
			if n := strings.Count(log.String(), "net.sctp.sndbuf_policy is 0"); n != tc.warns {
				t.Errorf("%d warnings about sndbuf_policy over three SCTP listeners, want %d:\n%s", n, tc.warns, log.String())
			}
			los, err := e.SCTPOptions("127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			control.WriteSCTPOptions(&out, los)
			if !strings.Contains(out.String(), tc.show) {
				t.Errorf("show sctp options lacks %q:\n%s", tc.show, out.String())
			}
		})
	}
}

// lockedBuffer is a log destination the engine's goroutine writes while
// the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
