package runtime

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/sctp"
)

// AgentSpec is one enabled session-agent: the connection the runtime keeps
// to it and how it watches its health.
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
type DisabledAgent struct {
	Hostname, Realm, Method, Target string
}

// DesiredAgents derives the session-agents of cfg: the enabled ones, and
// the disabled ones for show. err joins the problems of the enabled ones
// that the runtime cannot serve (an apply refuses the version, as for an
// invalid sip-port).
func DesiredAgents(cfg *model.Config) (specs []AgentSpec, disabled []DisabledAgent, err error) {
	np := cfg.NetworkParameters()
	opts, optErr := SCTPOptions(np)
	opts.Autoclose = 0
	opts.MaxAssocs = 0
	ka := keepaliveOf(np)
	var errs []error
	for _, sa := range cfg.List(model.SessionAgent.Name) {
		s := AgentSpec{Hostname: sa.Str("hostname"), Realm: sa.Str("realm-id"), Method: sa.Str("transport-method"),
			Port: int(sa.Int("port"))}
		if s.Port == 0 {
			s.Port = 5060
		}
		s.Addr = sa.Addr("ip-address").Unmap()
		if !s.Addr.IsValid() {
			if a, err := netip.ParseAddr(s.Hostname); err == nil {
				s.Addr = a.Unmap()
			}
		}
		if sa.Str("state") != "enabled" {
			disabled = append(disabled, DisabledAgent{Hostname: s.Hostname, Realm: s.Realm, Method: s.Method, Target: s.Target()})
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("session-agent %q: "+format, append([]any{s.Hostname}, args...)...))
		}
		switch s.Method {
		case "UDP", "UDP+TCP":
			s.Transport = "UDP"
		case "StaticTCP", "DynamicTCP":
			s.Transport = "TCP"
		case "staticSCTP", "DynamicSCTP":
			s.Transport = "SCTP"
		case "StaticTLS", "DynamicTLS":
			fail("transport-method %s: TLS is not supported by the runtime yet (no tls-profile support): allowed UDP, TCP or SCTP methods", s.Method)
			continue
		default:
			fail("transport-method %q: allowed UDP, UDP+TCP, StaticTCP, DynamicTCP, staticSCTP or DynamicSCTP", s.Method)
			continue
		}
		if p := sa.Str("app-protocol"); p != "" && p != "SIP" {
			fail("app-protocol %s: the runtime speaks SIP only", p)
			continue
		}
		local, err := localAddrs(cfg, &s)
		if err != nil {
			fail("%v", err)
			continue
		}
		s.Local = local
		if s.Transport == "SCTP" {
			if optErr != nil {
				fail("%v", optErr)
				continue
			}
			s.SCTP = opts
			s.SendRetries = int(np.Int("sctp-send-retries"))
		}
		if s.Transport == "TCP" {
			s.Keepalive = ka
			s.Keepalive.Enable = sa.Str("tcp-keepalive") == "enabled"
			s.ConnectTimeout = time.Duration(np.Int("tcp-keepinit-timer")) * time.Second
			s.Reconnect = time.Duration(sa.Int("tcp-reconn-interval")) * time.Second
		}
		s.PingMethod = sa.Str("ping-method")
		s.PingInterval = time.Duration(sa.Int("ping-interval")) * time.Second
		if !s.Pings() {
			s.PingMethod, s.PingInterval = "", 0
		}
		specs = append(specs, s)
	}
	return specs, disabled, errors.Join(errs...)
}

// localAddrs finds where a connection to the agent s starts: the sip-port
// of the agent's transport (and address family) of the sip-interface of
// its realm. SCTP needs one: its address set is the SBC's multi-homed
// endpoint in that realm (the guide's "SCTP-based transport connection");
// UDP and TCP without one let the kernel choose.
func localAddrs(cfg *model.Config, s *AgentSpec) ([]netip.Addr, error) {
	var si *model.Instance
	if s.Realm != "" {
		for _, in := range cfg.List(model.SipInterface.Name) {
			if in.Str("realm-id") == s.Realm {
				si = in
				break
			}
		}
	}
	if si == nil || si.Str("state") != "enabled" {
		if s.Transport != "SCTP" {
			return nil, nil
		}
		switch {
		case s.Realm == "":
			return nil, fmt.Errorf("transport-method %s needs a realm-id whose sip-interface has an SCTP sip-port: the agent's association starts from its addresses", s.Method)
		case si == nil:
			return nil, fmt.Errorf("transport-method %s: realm-id %q has no sip-interface, so no SCTP sip-port to start the association from", s.Method, s.Realm)
		default:
			return nil, fmt.Errorf("transport-method %s: the sip-interface of realm-id %q is disabled", s.Method, s.Realm)
		}
	}
	for _, sp := range si.SubsOf(model.SipPort) {
		if sp.Str("transport-protocol") != s.Transport {
			continue
		}
		spec, err := portSpec(s.Realm, sp)
		if err != nil {
			continue // the listener reports it
		}
		if s.Addr.IsValid() && spec.Addrs[0].Is4() != s.Addr.Is4() {
			continue
		}
		if spec.Addrs[0].IsUnspecified() {
			return nil, nil
		}
		return slices.Clone(spec.Addrs), nil
	}
	if s.Transport != "SCTP" {
		return nil, nil
	}
	fam := ""
	if s.Addr.IsValid() {
		fam = " of the agent's address family"
	}
	return nil, fmt.Errorf("transport-method %s: the sip-interface of realm-id %q has no valid SCTP sip-port%s to start the association from", s.Method, s.Realm, fam)
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
			changes = append(changes, fmt.Sprintf("tcp-keepinit-timer %v -> %v", old.ConnectTimeout, s.ConnectTimeout))
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
		changes = append(changes, fmt.Sprintf("sctp-send-retries %d -> %d", old.SendRetries, s.SendRetries))
	}
	if old.Reconnect != s.Reconnect {
		changes = append(changes, fmt.Sprintf("tcp-reconn-interval %v -> %v", old.Reconnect, s.Reconnect))
	}
	for _, o := range optionTable {
		if o.runtime || o.name == "sctp-autoclose" {
			continue
		}
		if a, b := o.get(old.SCTP), o.get(s.SCTP); a != b {
			note := " (next association)"
			if o.name == "sctp-send-ttl" || o.name == "sctp-send-mode" {
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
