package runtime

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp"
)

// AgentSpec is one enabled session-agent: the connection the runtime keeps
// to it and how it watches its health (a planned agent, see package plan,
// with the socket options of package sctp).
type AgentSpec struct {
	Hostname string
	Realm    string
	Method   string // transport-method as configured
	// Transport is what the runtime opens: staticSCTP and DynamicSCTP an
	// SCTP association, StaticTCP and DynamicTCP a TCP connection, UDP and
	// UDP+TCP a UDP socket. Dynamic methods are held open like static ones:
	// the runtime has no per-request connection management, and the
	// difference matters for connections the agent opens, which arrive on
	// the listeners anyway.
	Transport string
	// Addr is ip-address, else hostname when it is an address; invalid
	// when hostname is a name, resolved at each connection attempt.
	Addr netip.Addr
	Port int // the session-agent port; 0 is the SIP default 5060
	// Local is where the connection starts: for SCTP the multi-homed
	// address set (address and multi-homed-addrs) of the SCTP sip-port of
	// the agent's realm, for UDP and TCP the address of its sip-port of
	// that transport; empty lets the kernel choose. The local port is an
	// ephemeral one: the listener holds the sip-port's.
	Local []netip.Addr

	SCTP        sctp.Options // network-parameters; no autoclose (the association is static)
	SendRetries int          // sctp-send-retries

	PingMethod   string        // OPTIONS, or "" (no pings)
	PingInterval time.Duration // 0: no pings

	Keepalive      Keepalive     // TCP: tcp-keepalive enabled, network-parameters timers
	ConnectTimeout time.Duration // TCP: network-parameters tcp-keepinit-timer
	Reconnect      time.Duration // TCP: tcp-reconn-interval, the first retry's delay
}

// Pings reports whether the agent is pinged.
func (s *AgentSpec) Pings() bool { return s.PingMethod != "" && s.PingInterval > 0 }

// Target is the agent's address and port as shown: "name:port" until a
// name is resolved.
func (s *AgentSpec) Target() string {
	if s.Addr.IsValid() {
		return netip.AddrPortFrom(s.Addr, uint16(s.Port)).String()
	}
	return s.Hostname + ":" + strconv.Itoa(s.Port)
}

// connKey is what identifies the connection: a change of any of it needs
// a new one (the agent is replaced); anything else is updated in place.
func (s *AgentSpec) connKey() string {
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

// agentSpecOf is the AgentSpec of a planned session-agent.
func agentSpecOf(a plan.Agent) AgentSpec {
	return AgentSpec{Hostname: a.Hostname, Realm: a.Realm, Method: a.Method, Transport: a.Transport, Addr: a.Addr, Port: a.Port,
		Local: a.Local, SCTP: sctpOptions(a.SCTP), SendRetries: a.SendRetries, PingMethod: a.PingMethod, PingInterval: a.PingInterval,
		Keepalive: a.Keepalive, ConnectTimeout: a.ConnectTimeout, Reconnect: a.Reconnect}
}

// agentChanges compares the kept agent's old and new spec: what changed,
// and whether it needs a new connection.
func agentChanges(old, s *AgentSpec) (changes []string, reconnect bool) {
	if old.connKey() != s.connKey() {
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
			changes = append(changes, fmt.Sprintf("%s %v -> %v", npKeepinitTimer.Name(), old.ConnectTimeout, s.ConnectTimeout))
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
		changes = append(changes, fmt.Sprintf("%s %d -> %d", npSendRetries.Name(), old.SendRetries, s.SendRetries))
	}
	if old.Reconnect != s.Reconnect {
		changes = append(changes, fmt.Sprintf("%s %v -> %v", saReconnInterval.Name(), old.Reconnect, s.Reconnect))
	}
	for _, o := range sctpOptionRows() {
		if o.runtime {
			continue
		}
		if a, b := o.get(old.SCTP), o.get(s.SCTP); a != b {
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
