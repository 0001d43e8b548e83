package runtime

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/testcfg"
	"github.com/emiago/sipgo/sip"
)

// udpPeer is a SIP agent on a real UDP socket: it answers every request
// but ACK with code and counts what it received.
type udpPeer struct {
	c        *net.UDPConn
	code     int
	mute     atomic.Bool // read, never answer: a hung agent
	requests atomic.Int64
	options  atomic.Int64
	last     atomic.Pointer[string]
}

func startUDPPeer(t testing.TB, addr string, code int) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	p := &udpPeer{c: c, code: code}
	go func() {
		parser := sip.NewParser()
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			m, err := parser.ParseSIP(buf[:n])
			req, ok := m.(*sip.Request)
			if err != nil || !ok || req.Method == sip.ACK {
				continue
			}
			p.requests.Add(1)
			if p.mute.Load() {
				continue
			}
			if req.Method == sip.OPTIONS {
				p.options.Add(1)
			} else {
				s := string(buf[:n])
				p.last.Store(&s)
			}
			resp := sip.NewResponseFromRequest(req, p.code, "Answer", nil)
			c.WriteToUDPAddrPort([]byte(resp.String()), from)
		}
	}()
	t.Cleanup(func() { c.Close() })
	return p
}

// client sends requests to the SBC over UDP and reads the responses.
type client struct {
	t testing.TB
	c *net.UDPConn
	n int
}

func newClient(t testing.TB, local, sbc string) *client {
	t.Helper()
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(local)), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(sbc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c}
}

// message sends a MESSAGE for user@host and returns the response.
func (c *client) message(host string) string {
	c.t.Helper()
	c.n++
	local := c.c.LocalAddr().String()
	msg := fmt.Sprintf("MESSAGE sip:user@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-c%d;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:c@%s>;tag=c%d\r\nTo: <sip:user@%s>\r\nCall-ID: call-%d@test\r\nCSeq: 1 MESSAGE\r\n"+
		"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi", host, local, c.n, local, c.n, host, c.n)
	if _, err := c.c.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
	c.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.c.Read(buf)
	if err != nil {
		c.t.Fatalf("no response to MESSAGE %d for %s: %v", c.n, host, err)
	}
	return string(buf[:n])
}

func status(resp string) string { line, _, _ := strings.Cut(resp, "\r\n"); return line }

// agentState returns the live state of one session-agent.
func agentState(t testing.TB, e *Engine, host string) control.Agent {
	t.Helper()
	return testcfg.Agent(t, e, host)
}

// waitState waits up to d for the agent's state and returns how long it
// took.
func waitState(t testing.TB, e *Engine, host, state string, d time.Duration) time.Duration {
	t.Helper()
	return testcfg.WaitState(t, e, host, state, d)
}

// A UDP session-agent: pings put it in service, requests for it are
// forwarded and its responses relayed back; killed, it is out of service
// at the next ping (ICMP) and requests get 503; back, it is in service.
func TestAgentUDP(t *testing.T) {
	p := freePort(t)
	ap := freePort(t)
	agentAddr := addr("127.0.0.5", ap)
	peer := startUDPPeer(t, agentAddr, 202)
	e := NewEngine(testLog(t))
	defer e.Close()
	cfg := withAgents(config([]port{{"core", "UDP", "127.0.0.1", p, nil}}, nil, nil),
		sa{"core-agent", []string{"ip-address", "127.0.0.5", "port", itoa(ap), "realm-id", "core", "ping-method", "OPTIONS", "ping-interval", "1"}})
	rep := e.Apply(cfg, "v1")
	if len(rep.Errors) > 0 || len(rep.AgentsAdded) != 1 {
		t.Fatalf("apply: %+v", rep)
	}
	if !strings.Contains(rep.String(), "% runtime: session-agents: 1 added, 0 updated, 0 removed, 0 unchanged\n%   added   session-agent core-agent\n") {
		t.Errorf("report:\n%s", rep.String())
	}
	waitState(t, e, "core-agent", control.AgentInService, 3*time.Second)
	c := newClient(t, "127.0.0.3:0", addr("127.0.0.1", p))
	for _, host := range []string{"core-agent", "CORE-AGENT", "127.0.0.5"} {
		resp := c.message(host)
		if status(resp) != "SIP/2.0 202 Answer" || strings.Contains(resp, "acli-in") || !strings.Contains(resp, ";rport=") {
			t.Errorf("response for %s:\n%s", host, resp)
		}
	}
	fwd := *peer.last.Load()
	if !strings.Contains(fwd, "\r\nVia: SIP/2.0/UDP 127.0.0.1:") || !strings.Contains(fwd, "Max-Forwards: 69\r\n") {
		t.Errorf("the agent received:\n%s", fwd)
	}
	if resp := c.message("elsewhere.example"); status(resp) != "SIP/2.0 480 Temporarily Unavailable" {
		t.Errorf("request for no agent: %s", status(resp))
	}

	peer.mute.Store(true) // hung: pings go unanswered
	d := waitState(t, e, "core-agent", control.AgentOutOfService, 3*time.Second)
	t.Logf("hung UDP agent out of service %v after it stopped answering (ping-interval 1s): %s", d.Round(time.Millisecond),
		agentState(t, e, "core-agent").Reason)
	if r := agentState(t, e, "core-agent").Reason; r != "no answer to the OPTIONS ping within 1s" || d > 2500*time.Millisecond {
		t.Errorf("out of service after %v (%q); want within two ping-intervals", d, r)
	}
	peer.mute.Store(false)
	waitState(t, e, "core-agent", control.AgentInService, 3*time.Second)

	peer.c.Close() // killed: the next ping meets ICMP port unreachable
	d = waitState(t, e, "core-agent", control.AgentOutOfService, 3*time.Second)
	t.Logf("UDP agent out of service %v after it stopped (ping-interval 1s)", d.Round(time.Millisecond))
	if resp := c.message("core-agent"); status(resp) != "SIP/2.0 503 Service Unavailable" {
		t.Errorf("request for the dead agent: %s", status(resp))
	}
	peer = startUDPPeer(t, agentAddr, 200)
	waitState(t, e, "core-agent", control.AgentInService, 3*time.Second)
	if resp := c.message("core-agent"); status(resp) != "SIP/2.0 200 Answer" {
		t.Errorf("after the agent came back: %s", status(resp))
	}
	a := agentState(t, e, "core-agent")
	if a.Counters.Forwarded != 4 || a.Counters.Relayed != 4 || a.Counters.Unavailable != 1 || a.Ping.Answered == 0 || a.Ping.Missed == 0 ||
		a.Ping.LastStatus != 200 || a.Conn == nil || a.Conn.State != "open" {
		t.Errorf("agent state %+v, counters %+v, ping %+v", a, a.Counters, a.Ping)
	}
	var out bytes.Buffer
	control.WriteAgents(&out, []control.Agent{a})
	t.Logf("show session-agents core-agent:\n%s", out.String())
	for _, want := range []string{"session-agent core-agent (realm core)", "  state ", " in-service since ",
		"  transport            UDP to 127.0.0.5:" + itoa(ap) + "\n", "  connection           open", "  requests forwarded   4\n",
		"  answered 503         1\n", "  health pings         OPTIONS every 1s: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q", want)
		}
	}
	if _, err := e.SessionAgents("nobody"); err == nil || !strings.Contains(err.Error(), "no session-agent nobody in the serving version (1 session-agents") {
		t.Errorf("unknown agent: %v", err)
	}
}

// activate-config changes agents by diff: an added one starts, a changed
// ping interval is applied in place (same connection), a changed port is
// a new connection, a removed one stops, a disabled one is listed; the
// agent nobody touched keeps its connection and serves throughout.
func TestAgentsApplyDiff(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	ports := []port{{"core", "UDP", "127.0.0.1", p, nil}}
	pa, pb, pb2, pc := freePort(t), freePort(t), freePort(t), freePort(t)
	startUDPPeer(t, addr("127.0.0.5", pa), 200)
	startUDPPeer(t, addr("127.0.0.6", pb), 200)
	startUDPPeer(t, addr("127.0.0.6", pb2), 200)
	startUDPPeer(t, addr("127.0.0.7", pc), 200)
	agent := func(host, ip string, port int, ping string) sa {
		return sa{host, []string{"ip-address", ip, "port", itoa(port), "ping-method", "OPTIONS", "ping-interval", ping}}
	}
	a, b := agent("a.example", "127.0.0.5", pa, "1"), agent("b.example", "127.0.0.6", pb, "1")
	rep := e.Apply(withAgents(config(ports, nil, nil), a, b), "v1")
	if len(rep.Errors) > 0 || fmt.Sprint(rep.AgentsAdded) != "[a.example b.example]" {
		t.Fatalf("v1: %+v", rep)
	}
	waitState(t, e, "a.example", control.AgentInService, 3*time.Second)
	waitState(t, e, "b.example", control.AgentInService, 3*time.Second)
	aSince := agentState(t, e, "a.example").Conn.Since
	c := newClient(t, "127.0.0.3:0", addr("127.0.0.1", p))

	// v2: b's ping interval (in place), c added, d disabled.
	b2 := agent("b.example", "127.0.0.6", pb, "2")
	d := sa{"d.example", []string{"ip-address", "127.0.0.8", "state", "disabled"}}
	rep = e.Apply(withAgents(config(ports, nil, nil), a, b2, agent("c.example", "127.0.0.7", pc, "1"), d), "v2")
	want := "% runtime: session-agents: 1 added, 1 updated, 0 removed, 1 unchanged\n" +
		"%   added   session-agent c.example\n" +
		"%   updated session-agent b.example: pings OPTIONS every 1s -> OPTIONS every 2s\n"
	if len(rep.Errors) > 0 || !strings.Contains(rep.String(), want) {
		t.Fatalf("v2 report:\n%s\nwant it to contain:\n%s", rep.String(), want)
	}
	if st := agentState(t, e, "b.example"); st.State != control.AgentInService || st.Counters.Connects != 1 || st.Ping.Interval != 2 {
		t.Errorf("b after an in-place update: %s, %d connects, ping every %ds", st.State, st.Counters.Connects, st.Ping.Interval)
	}
	if st := agentState(t, e, "d.example"); st.State != control.AgentDisabled {
		t.Errorf("d: %+v", st)
	}
	waitState(t, e, "c.example", control.AgentInService, 3*time.Second)

	// v3: b's port (a new connection), c removed, d gone.
	rep = e.Apply(withAgents(config(ports, nil, nil), a, agent("b.example", "127.0.0.6", pb2, "2")), "v3")
	want = "% runtime: session-agents: 0 added, 1 updated, 1 removed, 1 unchanged\n" +
		"%   updated session-agent b.example: address 127.0.0.6:" + itoa(pb) + " -> 127.0.0.6:" + itoa(pb2) + ", reconnects\n" +
		"%   removed session-agent c.example\n"
	if len(rep.Errors) > 0 || !strings.Contains(rep.String(), want) {
		t.Fatalf("v3 report:\n%s\nwant it to contain:\n%s", rep.String(), want)
	}
	waitState(t, e, "b.example", control.AgentInService, 3*time.Second)
	if st := agentState(t, e, "b.example"); st.Counters.Connects != 2 || !strings.HasSuffix(st.Address, itoa(pb2)) {
		t.Errorf("b after a new port: %d connects (counts carried over), address %s", st.Counters.Connects, st.Address)
	}
	if resp := c.message("c.example"); status(resp) != "SIP/2.0 480 Temporarily Unavailable" {
		t.Errorf("request for the removed agent: %s", status(resp))
	}
	for _, h := range []string{"a.example", "b.example"} {
		if resp := c.message(h); status(resp) != "SIP/2.0 200 Answer" {
			t.Errorf("%s after v3: %s", h, status(resp))
		}
	}
	if st := agentState(t, e, "a.example"); st.Counters.Connects != 1 || !st.Conn.Since.Equal(aSince) {
		t.Errorf("a was disturbed: %d connects, connection since %v (was %v)", st.Counters.Connects, st.Conn.Since, aSince)
	}

	// v4 is refused (a TLS agent): nothing changes.
	rep = e.Apply(withAgents(config(ports, nil, nil), sa{"t.example", []string{"transport-method", "StaticTLS"}}), "v4")
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], `session-agent [t.example] has transport-method [StaticTLS]`) || rep.Changed() {
		t.Errorf("v4: %+v", rep)
	}
	if as, _ := e.SessionAgents(""); len(as) != 2 {
		t.Errorf("%d agents after a refused version, want 2", len(as))
	}
}

// A TCP session-agent: a connection closed by the agent takes it out of
// service at once; it is re-opened with backoff.
func TestAgentTCP(t *testing.T) {
	p, ap := freePort(t), freePort(t)
	ln, err := net.Listen("tcp", addr("127.0.0.5", ap))
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	e := NewEngine(testLog(t))
	defer e.Close()
	cfg := withAgents(config([]port{{"core", "TCP", "127.0.0.1", p, nil}}, nil, nil),
		sa{"tcp-agent", []string{"ip-address", "127.0.0.5", "port", itoa(ap), "transport-method", "StaticTCP", "realm-id", "core"}})
	if rep := e.Apply(cfg, "v1"); len(rep.Errors) > 0 {
		t.Fatal(rep.Errors)
	}
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-time.After(3 * time.Second):
		t.Fatal("the agent's connection was not opened")
	}
	if got := conn.LocalAddr().String(); got != addr("127.0.0.5", ap) || !strings.HasPrefix(conn.RemoteAddr().String(), "127.0.0.1:") {
		t.Errorf("connection %s -> %s; want it from the realm's TCP sip-port address", conn.RemoteAddr(), got)
	}
	waitState(t, e, "tcp-agent", control.AgentInService, 3*time.Second) // no pings: in service once connected
	st := agentState(t, e, "tcp-agent")
	if st.Conn == nil || st.Conn.State != "connected" || st.Conn.Local[0] != conn.RemoteAddr().String() {
		t.Errorf("connection state %+v", st.Conn)
	}
	conn.Close()
	d := waitState(t, e, "tcp-agent", control.AgentOutOfService, 2*time.Second)
	t.Logf("TCP agent out of service %v after it closed the connection", d.Round(time.Millisecond))
	select {
	case conn = <-accepted:
		conn.Close()
	case <-time.After(3 * time.Second):
		t.Fatal("the agent's connection was not re-opened")
	}
	ln.Close()
	time.Sleep(300 * time.Millisecond)
	if st := agentState(t, e, "tcp-agent"); st.State != control.AgentOutOfService || st.Counters.Lost < 2 || st.NextAttempt.IsZero() {
		t.Errorf("after the agent went away: %s (%s), %d lost, next attempt %v", st.State, st.Reason, st.Counters.Lost, st.NextAttempt)
	}
}

// An agent on one of the SBC's own addresses is reached by its port: a
// request for the SBC's address and port is the SBC's to answer.
func TestAgentOnSBCAddress(t *testing.T) {
	p, ap := freePort(t), freePort(t)
	startUDPPeer(t, addr("127.0.0.1", ap), 200)
	e := NewEngine(testLog(t))
	defer e.Close()
	cfg := withAgents(config([]port{{"core", "UDP", "127.0.0.1", p, nil}}, nil, nil),
		sa{"local-agent", []string{"ip-address", "127.0.0.1", "port", itoa(ap)}})
	if rep := e.Apply(cfg, "v1"); len(rep.Errors) > 0 {
		t.Fatal(rep.Errors)
	}
	waitState(t, e, "local-agent", control.AgentInService, 3*time.Second)
	c := newClient(t, "127.0.0.3:0", addr("127.0.0.1", p))
	if resp := c.message("127.0.0.1:" + itoa(ap)); status(resp) != "SIP/2.0 200 Answer" {
		t.Errorf("request for the agent's address and port: %s", status(resp))
	}
	for _, host := range []string{"127.0.0.1:" + itoa(p), "127.0.0.1"} {
		if resp := c.message(host); status(resp) != "SIP/2.0 480 Temporarily Unavailable" {
			t.Errorf("request for the SBC's own %s: %s, want the SBC's own answer", host, status(resp))
		}
	}
	if resp := c.message("local-agent"); status(resp) != "SIP/2.0 200 Answer" {
		t.Errorf("request for the agent's hostname: %s", status(resp))
	}
}
