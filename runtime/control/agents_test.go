package control

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteAgents(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sctpAgent := Agent{Hostname: "core-172S1", Realm: "core-172", Method: "staticSCTP", Transport: "SCTP", Address: "10.0.0.9:5060",
		State: AgentInService, Since: at,
		Conn: &AgentConn{State: "ESTABLISHED", Assoc: 3, Since: at, Local: []string{"10.0.0.1:40001", "10.0.1.1:40001"},
			Remote: []Path{{Addr: "10.0.0.9:5060", State: "ACTIVE", Primary: true, SRTT: 1, RTO: 1000}, {Addr: "10.0.1.9:5060", State: "UNCONFIRMED", RTO: 3000}}},
		Ping:     AgentPing{Method: "OPTIONS", Interval: 5, Last: at, LastStatus: 200, LastRTT: 1500 * time.Microsecond, Sent: 4, Answered: 4},
		Counters: AgentCounters{Attempts: 1, Connects: 1, Forwarded: 10, Relayed: 10, SendFailed: 2, Resent: 1, GivenUp: 1},
		Retrans:  &RetransCheck{AssocMaxRetrans: 10, PathMaxRetrans: 5, PeerAddrs: 2}}
	down := Agent{Hostname: "edge", Method: "UDP", Transport: "UDP", Address: "10.0.0.8:5070", State: AgentOutOfService, Since: at,
		Reason: "connect: connection refused; next attempt in 2s", NextAttempt: at.Add(2 * time.Second)}
	off := Agent{Hostname: "spare", Method: "StaticTCP", Address: "10.0.0.7:5060", State: AgentDisabled}
	var b bytes.Buffer
	WriteAgents(&b, []Agent{sctpAgent, down, off})
	want := `session-agent core-172S1 (realm core-172)
  state                 in-service since 2026-01-02T03:04:05Z
  transport             staticSCTP to 10.0.0.9:5060 (SCTP)
  association           ESTABLISHED, association 3, up since 2026-01-02T03:04:05Z
  local paths           10.0.0.1:40001 10.0.1.1:40001
  remote paths          10.0.0.9:5060 ACTIVE srtt 1 ms rto 1000 ms (primary)
                        10.0.1.9:5060 UNCONFIRMED srtt 0 ms rto 3000 ms
  retransmissions       WARNING: sctp-assoc-max-retrans 10 is not smaller than 10 (sctp-path-max-retrans 5 x 2 peer addresses): all the peer's addresses can become inactive while the association still considers the peer reachable
  health pings          OPTIONS every 5s: 4 sent, 4 answered, 0 missed
  last ping             200 in 1.5 ms at 2026-01-02T03:04:05Z
  connections           1 attempts, 1 up, 0 lost
  requests forwarded    10
  responses relayed     10
  answered 503          0
  messages from agent   0
  send errors           0
  unsent (SEND_FAILED)  2: 1 resent, 1 given up

session-agent edge
  state                out-of-service since 2026-01-02T03:04:05Z
  reason               connect: connection refused; next attempt in 2s
  next attempt         2026-01-02T03:04:07Z
  transport            UDP to 10.0.0.8:5070
  connection           none
  health pings         none (ping-method and ping-interval not both set)
  connections          0 attempts, 0 up, 0 lost
  requests forwarded   0
  responses relayed    0
  answered 503         0
  messages from agent  0
  send errors          0

session-agent spare
  state      disabled
  transport  StaticTCP to 10.0.0.7:5060
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing blank: %q", l)
		}
	}
	b.Reset()
	WriteAgents(&b, nil)
	if b.String() != "% no session-agent is configured in the serving version\n" {
		t.Errorf("no agents: %q", b.String())
	}
}

func TestRetransCheck(t *testing.T) {
	tests := []struct {
		r    RetransCheck
		want string
	}{
		{RetransCheck{AssocMaxRetrans: 8, PathMaxRetrans: 5, PeerAddrs: 2, OK: true}, "ok: sctp-assoc-max-retrans 8 < 10 (sctp-path-max-retrans 5 x 2 peer addresses)"},
		{RetransCheck{AssocMaxRetrans: 10, PathMaxRetrans: 5, PeerAddrs: 1}, "WARNING: sctp-assoc-max-retrans 10 is not smaller than 5 (sctp-path-max-retrans 5 x 1 peer address): "},
	}
	for _, tt := range tests {
		if got := tt.r.Text(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%+v: %q, want it to start %q", tt.r, got, tt.want)
		}
	}
}

func TestApplyReportAgents(t *testing.T) {
	r := ApplyReport{Version: "3", Previous: "2", Unchanged: 2, AgentsAdded: []string{"b"},
		AgentsUpdated: []Update{{Key: "a", Changes: []string{"pings none -> OPTIONS every 5s"}}}, AgentsRemoved: []string{"c"}, AgentsUnchanged: 1}
	want := "% runtime: version 3 applied: no listener changed (2 unchanged)\n" +
		"% runtime: session-agents: 1 added, 1 updated, 1 removed, 1 unchanged\n" +
		"%   added   session-agent b\n" +
		"%   updated session-agent a: pings none -> OPTIONS every 5s\n" +
		"%   removed session-agent c\n"
	if got := r.String(); got != want || !r.Changed() {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
