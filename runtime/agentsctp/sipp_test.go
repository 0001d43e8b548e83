package agentsctp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/sctptest"
	"github.com/acli-project/acli/runtime/internal/sipptest"
)

// The guide's session-agent accessed via SCTP: a SIPp UAS on 127.0.0.10
// and 127.0.0.11 plays core-172S1; the SBC holds a static association to
// it from its multi-homed set (127.0.0.1, 127.0.0.2) and pings it every
// second. A SIPp UAC sends MESSAGEs through the SBC over one association
// (s1) and one per call (sn): every transaction succeeds. Killed, the agent
// is out of service at once (its kernel aborts the association) and the
// SBC answers 503; restarted, it is back in service.
func TestStaticSCTPAgent(t *testing.T) {
	e := sctptest.NewEngine(t)
	p, ap := port(), port()
	np := map[string]string{"sctp-assoc-max-retrans": "8", "sctp-path-max-retrans": "5", "sctp-hb-interval": "1000"}
	sa := []string{"core-172S1", "ip-address", "127.0.0.10", "port", strconv.Itoa(ap), "transport-method", "staticSCTP",
		"reuse-connections", "none", "realm-id", "core", "ping-method", "OPTIONS", "ping-interval", "1"}
	uas := func() *sipptest.Process {
		return sipptest.Start(t, sipptest.Options{Scenario: sipptest.ScenarioFile("agent.xml"), Transport: "s1",
			Local: "127.0.0.10", LocalPort: ap, Extra: []string{"-multihome", "127.0.0.11", "-max_socket", "100"}})
	}
	uac := func(scenario, transport string, localPort, calls, rate int) sipptest.Result {
		return sipptest.Run(t, sipptest.Options{Scenario: sipptest.ScenarioFile(scenario), Transport: transport,
			Local: "127.0.0.3", LocalPort: localPort, Target: "127.0.0.1:" + strconv.Itoa(p), Calls: calls, Rate: rate,
			Extra: []string{"-s", "core-172S1", "-max_socket", "4000"}})
	}
	proc := uas()
	sctptest.Apply(t, e, config(p, np, sa), "v1")
	waitState(t, e, "core-172S1", control.AgentInService, 10*time.Second)

	// The association, its paths and the guide's advice.
	eventually(t, 10*time.Second, "both remote paths active", func() string {
		a := agent(t, e, "core-172S1")
		if a.Conn == nil || len(a.Conn.Remote) != 2 || a.Conn.Remote[0].State != "ACTIVE" || a.Conn.Remote[1].State != "ACTIVE" {
			return fmt.Sprintf("%+v", a.Conn)
		}
		return ""
	})
	a := agent(t, e, "core-172S1")
	var out bytes.Buffer
	control.WriteAgents(&out, []control.Agent{a})
	t.Logf("show session-agents core-172S1:\n%s", out.String())
	if a.Conn.State != "ESTABLISHED" || len(a.Conn.Local) != 2 || !strings.HasPrefix(a.Conn.Local[0], "127.0.0.1:") ||
		!strings.HasPrefix(a.Conn.Local[1], "127.0.0.2:") {
		t.Errorf("association %+v: want ESTABLISHED from 127.0.0.1 and 127.0.0.2", a.Conn)
	}
	if a.Retrans == nil || !a.Retrans.OK || a.Retrans.PeerAddrs != 2 || a.Retrans.AssocMaxRetrans != 8 {
		t.Errorf("retransmission advice %+v: want ok, 8 < 5 x 2", a.Retrans)
	}
	for _, want := range []string{"  association ", "ESTABLISHED, association ", "  remote paths ", "127.0.0.10:" + strconv.Itoa(ap) + " ACTIVE",
		"127.0.0.11:" + strconv.Itoa(ap) + " ACTIVE", "ok: sctp-assoc-max-retrans 8 < 10 (sctp-path-max-retrans 5 x 2 peer addresses)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show session-agents lacks %q", want)
		}
	}

	// Thousands of transactions, over one association and one per call;
	// during the first run activate-config adds an agent, changes this
	// one's ping-interval (in place) and removes the other again.
	//
	// The rates are below what the one-CPU guest carries with three
	// processes in it (SIPp, acli and the SIPp agent): 318-339 MESSAGEs a
	// second when the host is idle, 210-240 with another host process
	// spinning. At 400 a second (the rate before) the guest was above its
	// capacity: the peers' receive buffers overflowed (the kernel's
	// SctpInDataChunkDiscards), T3 retransmissions held responses past
	// SIPp's 5 s, and calls failed whenever the host was busy.
	for i, tt := range []struct {
		transport   string
		calls, rate int
	}{{"s1", 3000, 200}, {"sn", 500, 150}} {
		done := make(chan sipptest.Result, 1)
		go func() { done <- uac("message.xml", tt.transport, 5070, tt.calls, tt.rate) }()
		if i == 0 {
			other := []string{"edge", "ip-address", "127.0.0.13", "port", strconv.Itoa(port()), "transport-method", "staticSCTP", "realm-id", "core"}
			changed := append(append([]string(nil), sa...), "ping-interval", "2")
			for v, agents := range [][][]string{{sa, other}, {changed, other}, {changed}} {
				time.Sleep(time.Second)
				rep := sctptest.Apply(t, e, config(p, np, agents...), "v"+strconv.Itoa(v+2))
				t.Logf("v%d: %s", v+2, strings.TrimSpace(rep.String()))
			}
		}
		r := <-done
		r.Check(t, tt.calls)
		t.Logf("sipp -t %s: %d MESSAGEs through the SBC to the SCTP agent: %d successful, %d failed, %.0f calls/s, %v",
			tt.transport, tt.calls, r.Successful, r.Failed, r.CallRate, r.Elapsed.Round(time.Millisecond))
	}
	if a := agent(t, e, "core-172S1"); a.Ping.Interval != 2 {
		t.Errorf("ping every %ds after v3, want 2", a.Ping.Interval)
	}
	if a := agent(t, e, "core-172S1"); a.Counters.Forwarded < 3500 || a.Counters.Relayed < 3500 || a.Counters.Connects != 1 {
		t.Errorf("agent counters %+v; want 3500 forwarded and relayed on one association", a.Counters)
	}

	// Killed: out of service at once, 503.
	proc.Kill()
	d := waitState(t, e, "core-172S1", control.AgentOutOfService, 5*time.Second)
	t.Logf("agent killed: out of service after %v: %s", d.Round(time.Millisecond), agent(t, e, "core-172S1").Reason)
	if d > time.Second {
		t.Errorf("out of service %v after the kill; want within the ping-interval (1s)", d)
	}
	r := uac("message-503.xml", "s1", 5071, 100, 200)
	r.Check(t, 100)

	// Restarted: back in service, traffic flows.
	proc = uas()
	d = waitState(t, e, "core-172S1", control.AgentInService, 15*time.Second)
	t.Logf("agent restarted: in service after %v", d.Round(time.Millisecond))
	r = uac("message.xml", "s1", 5072, 500, 250)
	r.Check(t, 500)
	a = agent(t, e, "core-172S1")
	if a.Counters.Unavailable < 100 || a.Counters.Lost != 1 {
		t.Errorf("counters after the restart: %+v", a.Counters)
	}
	out.Reset()
	control.WriteAgents(&out, []control.Agent{a})
	t.Logf("show session-agents core-172S1 after the restart:\n%s", out.String())
}

// A single-homed agent with the guide's defaults (10 retransmissions per
// association, 5 per path): the advice warns.
func TestRetransAdvice(t *testing.T) {
	e := sctptest.NewEngine(t)
	p, ap := port(), port()
	proc := sipptest.Start(t, sipptest.Options{Scenario: sipptest.ScenarioFile("agent.xml"), Transport: "s1",
		Local: "127.0.0.12", LocalPort: ap, Extra: []string{"-max_socket", "100"}})
	defer proc.Kill()
	sctptest.Apply(t, e, config(p, nil, []string{"single", "ip-address", "127.0.0.12", "port", strconv.Itoa(ap),
		"transport-method", "staticSCTP", "realm-id", "core"}), "v1")
	waitState(t, e, "single", control.AgentInService, 10*time.Second)
	a := agent(t, e, "single")
	if a.Retrans == nil || a.Retrans.OK || a.Retrans.PeerAddrs != 1 || a.Retrans.AssocMaxRetrans != 10 || a.Retrans.PathMaxRetrans != 5 {
		t.Fatalf("advice %+v", a.Retrans)
	}
	if txt := a.Retrans.Text(); !strings.HasPrefix(txt, "WARNING: sctp-assoc-max-retrans 10 is not smaller than 5 (sctp-path-max-retrans 5 x 1 peer address)") {
		t.Errorf("advice text %q", txt)
	}
}
