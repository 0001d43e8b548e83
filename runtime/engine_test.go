package runtime

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/runtime/control"
)

// TestApplyDiff walks an engine through versions on real sockets: added
// listeners open, removed ones release their ports, unchanged ones keep
// their sockets (a TCP connection lives through every apply), updates are
// in place, and a failing version changes nothing and reports every error.
func TestApplyDiff(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()

	udpA := port{"core", "UDP", "127.0.0.1", p, nil}
	tcpA := port{"core", "TCP", "127.0.0.1", p, nil}
	udpB := port{"access", "UDP", "127.0.0.2", p, nil}
	udpC := port{"access", "UDP", "127.0.0.3", p, nil}
	tcpD := port{"access", "TCP", "127.0.0.4", p, nil}

	// v1: two listeners.
	rep := e.Apply(config([]port{udpA, tcpA}, nil, nil), "v1")
	wantReport(t, rep, []string{"TCP 127.0.0.1:" + itoa(p), "UDP 127.0.0.1:" + itoa(p)}, nil, nil, 0)
	if s, err := udpOptions(t, addr("127.0.0.1", p)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("UDP OPTIONS: %q, %v", s, err)
	}
	conn := dialTCP(t, addr("127.0.0.1", p))
	mustOK := func(when string) {
		t.Helper()
		if s, err := conn.options(); err != nil || s != "SIP/2.0 200 OK" {
			t.Fatalf("%s: OPTIONS on the long-lived TCP connection: %q, %v", when, s, err)
		}
	}
	mustOK("v1")

	// v2: one more; the others are unchanged.
	rep = e.Apply(config([]port{udpA, tcpA, udpB}, nil, nil), "v2")
	wantReport(t, rep, []string{"UDP 127.0.0.2:" + itoa(p)}, nil, nil, 2)
	mustOK("v2")
	if s, err := udpOptions(t, addr("127.0.0.2", p)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("UDP OPTIONS to the added listener: %q, %v", s, err)
	}

	// v3: udpA removed: its port is free again.
	rep = e.Apply(config([]port{tcpA, udpB}, nil, nil), "v3")
	wantReport(t, rep, nil, nil, []string{"UDP 127.0.0.1:" + itoa(p)}, 2)
	mustOK("v3")
	u, err := net.ListenPacket("udp", addr("127.0.0.1", p))
	if err != nil {
		t.Fatalf("the removed listener still holds its port: %v", err)
	}
	u.Close()

	// v4 fails three ways at once; the listener it opened (udpC) is closed
	// again and v3 keeps serving.
	busy, err := net.Listen("tcp", addr("127.0.0.4", p))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tls := port{"access", "TLS", "127.0.0.1", p + 1, nil}
	far := port{"access", "UDP", "192.0.2.1", p, nil} // not a local address
	rep = e.Apply(config([]port{tcpA, udpB, udpC, tcpD, tls, far}, nil, nil), "v4")
	if len(rep.Errors) != 3 || rep.Version != "v4" || rep.Previous != "v3" || rep.Changed() {
		t.Fatalf("failing apply report: %+v", rep)
	}
	for i, want := range []string{"sip-port [127.0.0.1:" + itoa(p+1) + ":TLS] of sip-interface [access] has transport-protocol [TLS]",
		"TCP 127.0.0.4:" + itoa(p),
		"address 192.0.2.1 is not an address of this host: sip-port UDP 192.0.2.1:" + itoa(p) + " of sip-interface [access] not opened"} {
		if !strings.Contains(rep.Errors[i], want) {
			t.Errorf("error %d %q does not mention %q", i, rep.Errors[i], want)
		}
	}
	if !strings.Contains(rep.Errors[1], "address already in use") {
		t.Errorf("errors do not say why: %q", rep.Errors)
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "version v3 keeps serving") {
		t.Errorf("Err() = %v", err)
	}
	if v, _ := e.Version(); v != "v3" {
		t.Errorf("serving version %q after a failed apply, want v3", v)
	}
	u, err = net.ListenPacket("udp", addr("127.0.0.3", p))
	if err != nil {
		t.Fatalf("the refused version's new listener was not closed: %v", err)
	}
	u.Close()
	mustOK("after the failed v4")
	ports := e.SIPPorts()
	if ports.Version != "v3" || len(ports.Serving) != 2 || ports.Failed == nil || ports.Failed.Version != "v4" {
		t.Fatalf("sip-ports after the failed v4: %+v", ports)
	}
	states := map[string]string{}
	for _, ps := range ports.Failed.Ports {
		states[ps.Transport+" "+ps.Address] = ps.State
	}
	wantStates := map[string]string{"TCP 127.0.0.1": control.StateNotTried, "UDP 127.0.0.2": control.StateNotTried,
		"UDP 127.0.0.3": control.StateNotTried, "TCP 127.0.0.4": control.StateFailed, "TLS 127.0.0.1": control.StateFailed,
		"UDP 192.0.2.1": control.StateFailed}
	for k, v := range wantStates {
		if states[k] != v {
			t.Errorf("refused version's %s is %q, want %q", k, states[k], v)
		}
	}

	// v5: an update in place (TCP keepalive and the sip-interface name);
	// the connection survives it.
	rep = e.Apply(config([]port{{"core2", "TCP", "127.0.0.1", p, nil}, udpB}, nil, map[string]string{"tcp-keepalive": "enabled"}), "v5")
	if len(rep.Errors) > 0 || len(rep.Updated) != 1 || rep.Unchanged != 1 || len(rep.Opened)+len(rep.Closed) != 0 {
		t.Fatalf("update report: %+v", rep)
	}
	if ch := strings.Join(rep.Updated[0].Changes, "; "); !strings.Contains(ch, "sip-interface core -> core2") ||
		!strings.Contains(ch, "tcp keepalive off -> idle 2h0m0s interval 1m15s count 8 (new connections only)") {
		t.Errorf("TCP listener changes: %s", ch)
	}
	mustOK("v5")
	if p := e.SIPPorts(); p.Failed != nil || p.Version != "v5" {
		t.Errorf("sip-ports after v5: %+v", p)
	}

	// The same version again changes nothing.
	rep = e.Apply(config([]port{{"core2", "TCP", "127.0.0.1", p, nil}, udpB}, nil, map[string]string{"tcp-keepalive": "enabled"}), "v6")
	wantReport(t, rep, nil, nil, nil, 2)
	mustOK("v6")

	// Counters: the long-lived connection's requests are counted (the
	// answer is counted just after it is sent).
	eventually(t, "TCP counters", func() string {
		for _, l := range e.Listeners() {
			if l.Transport == "TCP" && (l.Counters.MessagesIn < 6 || l.Counters.MessagesOut != l.Counters.MessagesIn || l.Counters.Assocs != 1) {
				return fmt.Sprintf("%+v", l.Counters)
			}
		}
		return ""
	})
}

// wantReport checks a successful report.
func wantReport(t *testing.T, rep control.ApplyReport, opened, updated, closed []string, unchanged int) {
	t.Helper()
	if len(rep.Errors) > 0 {
		t.Fatalf("apply %s failed: %q", rep.Version, rep.Errors)
	}
	slices.Sort(opened)
	slices.Sort(closed)
	got := slices.Sorted(slices.Values(rep.Opened))
	if !slices.Equal(got, opened) || !slices.Equal(rep.Closed, closed) || rep.Unchanged != unchanged || len(rep.Updated) != len(updated) {
		t.Fatalf("apply %s: opened %q closed %q updated %v unchanged %d; want opened %q closed %q updated %q unchanged %d",
			rep.Version, rep.Opened, rep.Closed, rep.Updated, rep.Unchanged, opened, closed, updated, unchanged)
	}
}

// Malformed input is counted, answered 400 where possible, and never
// takes a TCP listener down.
func TestMalformed(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	wantReport(t, e.Apply(config([]port{{"core", "TCP", "127.0.0.1", p, nil}, {"core", "UDP", "127.0.0.1", p, nil}}, nil, nil), "v1"),
		[]string{"TCP 127.0.0.1:" + itoa(p), "UDP 127.0.0.1:" + itoa(p)}, nil, nil, 0)

	c := dialTCP(t, addr("127.0.0.1", p))
	bad := strings.Replace(string(optionsMsg("TCP")), "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1)
	c.Write([]byte("\r\n\r\n" + bad))
	if l, err := c.r.ReadString('\n'); err != nil || l != "\r\n" {
		t.Fatalf("CRLFCRLF ping not answered with a CRLF pong: %q, %v", l, err)
	}
	if s, err := c.readResponse(); err != nil || !strings.HasPrefix(s, "SIP/2.0 400 Bad Request") {
		t.Fatalf("malformed request: %q, %v", s, err)
	}
	if s, err := c.options(); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS after a malformed request: %q, %v", s, err)
	}
	// A stream that cannot be framed is closed; the listener goes on.
	c.Write([]byte("OPTIONS sip:x SIP/2.0\r\nContent-Length: banana\r\n\r\n"))
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("an unframeable stream was not closed")
	}
	u, _ := net.Dial("udp", addr("127.0.0.1", p))
	u.Write([]byte("\x00\x01garbage"))
	u.Close()
	if s, err := dialTCP(t, addr("127.0.0.1", p)).options(); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS on a new connection: %q, %v", s, err)
	}
	if s, err := udpOptions(t, addr("127.0.0.1", p)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("UDP OPTIONS after garbage: %q, %v", s, err)
	}
	for _, l := range e.Listeners() {
		if l.Counters.ParseErrors == 0 {
			t.Errorf("%s counted no parse error: %+v", l.Key, l.Counters)
		}
	}
}

// A new listener whose port a removed one holds replaces it; if the
// replacement fails, the removed one is reopened and serves on.
func TestReplace(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	spec := func(a string) []port { return []port{{"core", "UDP", a, p, nil}} }
	wantReport(t, e.Apply(config(spec("0.0.0.0"), nil, nil), "v1"), []string{"UDP 0.0.0.0:" + itoa(p)}, nil, nil, 0)

	// The wildcard gives way to a specific address.
	wantReport(t, e.Apply(config(spec("127.0.0.1"), nil, nil), "v2"), []string{"UDP 127.0.0.1:" + itoa(p)}, nil, []string{"UDP 0.0.0.0:" + itoa(p)}, 0)
	if s, err := udpOptions(t, addr("127.0.0.1", p)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS to the replacement: %q, %v", s, err)
	}

	// Back to the wildcard while another socket holds 127.0.0.2:p: the
	// replacement fails, 127.0.0.1 is reopened.
	busy, err := net.ListenPacket("udp", addr("127.0.0.2", p))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	rep := e.Apply(config(spec("0.0.0.0"), nil, nil), "v3")
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "address already in use") || rep.Changed() {
		t.Fatalf("failed replacement: %+v", rep)
	}
	if v, _ := e.Version(); v != "v2" {
		t.Errorf("serving %s, want v2", v)
	}
	if s, err := udpOptions(t, addr("127.0.0.1", p)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS to the reopened listener: %q, %v", s, err)
	}

	// A replacement is not tried when anything else fails.
	busy.Close()
	rep = e.Apply(config(append(spec("0.0.0.0"), port{"core", "TLS", "127.0.0.1", p + 1, nil}), nil, nil), "v4")
	if len(rep.Errors) != 2 || !strings.Contains(rep.Errors[1], "waits for UDP 127.0.0.1:"+itoa(p)+" to release the port; not tried") {
		t.Fatalf("replacement beside an error: %+v", rep.Errors)
	}
	if s, err := udpOptions(t, addr("127.0.0.1", p)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS after v4: %q, %v", s, err)
	}
}

func TestHotReaders(t *testing.T) {
	for _, c := range []struct {
		procs, readers, listeners, agents int
		want                              bool
	}{
		{1, 1, 1, 0, true},  // one SCTP or UDP listener alone: nothing to delay
		{1, 1, 2, 0, false}, // a TCP listener would wait for the reader's P
		{1, 1, 1, 1, false}, // so would a session-agent's connection
		{1, 2, 2, 0, false}, // and a second reader (SCTP and UDP)
		{2, 1, 3, 5, true},  // the other P serves the rest
		{2, 2, 2, 0, false}, // two hot readers would hold both Ps
		{4, 3, 6, 2, true},
	} {
		if got := hotReaders(c.procs, c.readers, c.listeners, c.agents); got != c.want {
			t.Errorf("hotReaders(%d procs, %d SCTP/UDP of %d listeners, %d agents) = %v, want %v",
				c.procs, c.readers, c.listeners, c.agents, got, c.want)
		}
	}
}
