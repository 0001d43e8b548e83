package runtime

import (
	"bytes"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/sipptest"
)

// TestAgentSIPp runs a SIPp UAS as a session-agent over UDP and over TCP
// and a SIPp UAC sending MESSAGEs through the SBC to it: every transaction
// succeeds, also while other agents are added, changed and removed;
// killing the agent takes it out of service within its detection time and
// the SBC answers 503; restarting it brings it back.
func TestAgentSIPp(t *testing.T) {
	tests := []struct {
		name, transport, method string
		ping                    string
		detection               time.Duration // killed agent to out of service, at most
	}{
		// A killed UDP agent: the next ping (every 2 s once changed)
		// meets ICMP port unreachable.
		{"udp", "u1", "UDP", "1", 3 * time.Second},
		// A killed TCP agent: its kernel closes the connection.
		{"tcp", "t1", "StaticTCP", "1", 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ap, cp := freePort(t), freePort(t), freePort(t)
			tr := map[string]string{"u1": "UDP", "t1": "TCP"}[tt.transport]
			e := NewEngine(testLog(t))
			defer e.Close()
			ports := []port{{"core", tr, "127.0.0.1", p, nil}}
			agent := sa{"core-agent", []string{"ip-address", "127.0.0.5", "port", itoa(ap), "transport-method", tt.method,
				"realm-id", "core", "ping-method", "OPTIONS", "ping-interval", tt.ping}}
			uas := func() *sipptest.Process {
				return sipptest.Start(t, sipptest.Options{Scenario: sipptest.ScenarioFile("agent.xml"), Transport: tt.transport,
					Local: "127.0.0.5", LocalPort: ap, Extra: []string{"-max_socket", "100"}})
			}
			uac := func(scenario string, calls, rate int) sipptest.Result {
				return sipptest.Run(t, sipptest.Options{Scenario: sipptest.ScenarioFile(scenario), Transport: tt.transport,
					Local: "127.0.0.3", LocalPort: cp, Target: addr("127.0.0.1", p), Calls: calls, Rate: rate,
					Extra: []string{"-s", "core-agent", "-max_socket", "100"}})
			}
			agentProc := uas()
			if rep := e.Apply(withAgents(config(ports, nil, nil), agent), "v1"); len(rep.Errors) > 0 {
				t.Fatal(rep.Errors)
			}
			waitState(t, e, "core-agent", control.AgentInService, 5*time.Second)

			// 2,000 transactions while other agents come and go.
			const calls = 2000
			done := make(chan sipptest.Result, 1)
			go func() { done <- uac("message.xml", calls, 500) }()
			other := sa{"other-agent", []string{"ip-address", "127.0.0.6", "port", itoa(freePort(t)), "transport-method", tt.method}}
			time.Sleep(time.Second)
			changed := sa{agent.host, append(append([]string(nil), agent.params...), "ping-interval", "2")}
			for i, cfg := range [][]sa{{agent, other}, {changed, other}, {changed}} {
				if rep := e.Apply(withAgents(config(ports, nil, nil), cfg...), "v"+itoa(i+2)); len(rep.Errors) > 0 {
					t.Fatal(rep.Errors)
				}
				time.Sleep(500 * time.Millisecond)
			}
			r := <-done
			r.Check(t, calls)
			st := agentState(t, e, "core-agent")
			t.Logf("sipp -t %s: %d MESSAGEs through the SBC to a SIPp agent, %d successful, %d failed, %.0f calls/s; agent: %d forwarded, %d relayed",
				tt.transport, calls, r.Successful, r.Failed, r.CallRate, st.Counters.Forwarded, st.Counters.Relayed)
			if st.Counters.Forwarded < calls || st.Counters.Relayed < calls || st.Counters.Connects != 1 || st.Ping.Interval != 2 {
				t.Errorf("agent counters %+v (ping every %ds): want %d forwarded and relayed on one connection, ping every 2s",
					st.Counters, st.Ping.Interval, calls)
			}

			// Killed: out of service, 503.
			agentProc.Kill()
			killed := time.Now()
			d := waitState(t, e, "core-agent", control.AgentOutOfService, 5*time.Second)
			t.Logf("agent killed: out of service after %v (allowed %v): %s", d.Round(time.Millisecond), tt.detection, agentState(t, e, "core-agent").Reason)
			if d > tt.detection {
				t.Errorf("out of service %v after the kill; want at most %v", d, tt.detection)
			}
			r = uac("message-503.xml", 100, 200)
			r.Check(t, 100)
			if st := agentState(t, e, "core-agent"); st.Counters.Unavailable < 100 {
				t.Errorf("%d requests answered 503, want 100", st.Counters.Unavailable)
			}

			// Restarted: back in service.
			agentProc = uas()
			d = waitState(t, e, "core-agent", control.AgentInService, 10*time.Second)
			t.Logf("agent restarted: in service after %v (%v after the kill)", d.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
			r = uac("message.xml", 500, 500)
			r.Check(t, 500)

			var out bytes.Buffer
			as, _ := e.SessionAgents("")
			control.WriteAgents(&out, as)
			t.Logf("show session-agents:\n%s", out.String())
		})
	}
}
