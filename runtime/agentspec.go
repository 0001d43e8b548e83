package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp"
)

// AgentSpec is one enabled session-agent as package plan plans it: the
// connection the runtime keeps to it and how it watches its health. Its
// SCTP options convert to package sctp's with agentSCTP.
type AgentSpec = plan.Agent

// agentSCTP is the agent's SCTP socket options.
func agentSCTP(s *AgentSpec) sctp.Options { return sctpOptions(s.SCTP) }

// connKey is what identifies the connection: a change of any of it needs
// a new one (the agent is replaced); anything else is updated in place.
func connKey(s *AgentSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%v|%d|", s.Transport, s.Hostname, s.Addr, s.Port)
	for _, a := range s.Local {
		b.WriteString(a.String() + ",")
	}
	if s.Transport == "TCP" {
		fmt.Fprintf(&b, "|%v|%v", s.Keepalive, s.ConnectTimeout)
	}
	return b.String()
}

// DisabledAgent is a session-agent whose state is disabled: listed, not
// connected.
type DisabledAgent = plan.DisabledAgent

// agentChanges compares the kept agent's old and new spec: what changed,
// and whether it needs a new connection.
func agentChanges(old, s *AgentSpec) (changes []string, reconnect bool) {
	if connKey(old) != connKey(s) {
		if old.Transport != s.Transport || old.Method != s.Method {
			changes = append(changes, "transport-method "+old.Method+" -> "+s.Method)
		}
		if old.Target() != s.Target() {
			changes = append(changes, "address "+old.Target()+" -> "+s.Target())
		}
		if !slices.Equal(old.Local, s.Local) {
			changes = append(changes, fmt.Sprintf("local addresses %v -> %v", old.Local, s.Local))
		}
		if old.Keepalive != s.Keepalive {
			changes = append(changes, fmt.Sprintf("tcp keepalive %s -> %s", old.Keepalive, s.Keepalive))
		}
		if old.ConnectTimeout != s.ConnectTimeout {
			changes = append(changes, fmt.Sprintf("%s %v -> %v", plan.NPKeepinitTimer.Name(), old.ConnectTimeout, s.ConnectTimeout))
		}
		changes = append(changes, "reconnects")
		return changes, true
	}
	if old.Realm != s.Realm {
		changes = append(changes, "realm-id "+old.Realm+" -> "+s.Realm)
	}
	if old.PingMethod != s.PingMethod || old.PingInterval != s.PingInterval {
		changes = append(changes, fmt.Sprintf("pings %s -> %s", pingText(old), pingText(s)))
	}
	if old.SendRetries != s.SendRetries {
		changes = append(changes, fmt.Sprintf("%s %d -> %d", plan.NPSendRetries.Name(), old.SendRetries, s.SendRetries))
	}
	if old.Reconnect != s.Reconnect {
		changes = append(changes, fmt.Sprintf("%s %v -> %v", plan.SAReconnInterval.Name(), old.Reconnect, s.Reconnect))
	}
	for _, o := range sctpOptionRows() {
		if o.runtime {
			continue
		}
		if a, b := o.get(agentSCTP(old)), o.get(agentSCTP(s)); a != b {
			note := " (next association)"
			if o.perSend {
				note = " (at once)"
			}
			changes = append(changes, o.name+" "+a+" -> "+b+note)
		}
	}
	return changes, false
}

func pingText(s *AgentSpec) string {
	if !s.Pings() {
		return "none"
	}
	return fmt.Sprintf("%s every %v", s.PingMethod, s.PingInterval)
}
