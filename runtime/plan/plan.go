// Package plan turns a configuration into what the runtime serves: its
// listeners (one per sip-port of an enabled sip-interface), its
// session-agents and the options of both, and every reason the runtime
// cannot serve it. It opens no socket and reads no file: verify-config
// reports its problems as errors, and the runtime applies its output, so
// that a configuration verify-config accepts is one activate-config can
// apply on a host that has the transports (whether it has them, and owns
// the addresses, is for the runtime to find out).
//
// The rules are those of what is served: the sip-ports of enabled
// sip-interfaces, enabled session-agents and network-parameters. A
// disabled sip-interface or session-agent is not checked until it is
// enabled. Each rule has a name ([Rules]); every [Problem] names its
// rule, the element, key and parameter at fault, the value and what is
// allowed.
package plan

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
)

// Plan is the runtime's desired state for one configuration.
type Plan struct {
	// Listeners are the sip-ports of enabled sip-interfaces that can
	// listen, in configuration order; no two share a Key.
	Listeners []Listener
	// Ports are every sip-port of the enabled sip-interfaces, valid or
	// not, for show sip-ports.
	Ports []Port
	// Agents are the enabled session-agents; Disabled the others.
	Agents   []Agent
	Disabled []DisabledAgent
}

// Listener is one socket the runtime listens on.
type Listener struct {
	Key       string       // see MakeKey
	Transport string       // UDP, TCP or SCTP
	Addrs     []netip.Addr // address first, then multi-homed-addrs, without repeats
	Port      int
	Interface string // realm-id of the sip-interface

	SCTP      SCTPOptions // SCTP: from network-parameters
	Tracking  bool        // sctp-assoc-tracking
	Reuse     bool        // sctp-assoc-reuse
	Keepalive Keepalive   // TCP: keepalive of accepted connections
	RcvBuf    int         // UDP: network-parameters udp-socket-rcvbuf (bytes; 0: the system's)
}

// Port is one configured sip-port of an enabled sip-interface.
type Port struct {
	Interface  string
	Transport  string
	Address    string
	MultiHomed []string
	Port       int
	Key        string // the listener's key; "" when the sip-port cannot listen
	Err        error  // why it cannot listen (its problems joined), or nil
}

// Keepalive is the TCP keepalive of a connection.
type Keepalive struct {
	Enable   bool
	Idle     time.Duration
	Interval time.Duration
	Count    int
}

func (k Keepalive) String() string {
	if !k.Enable {
		return "off"
	}
	return fmt.Sprintf("idle %v interval %v count %d", k.Idle, k.Interval, k.Count)
}

// Streams is the number of SCTP streams offered each way.
const Streams = 32

// SCTPOptions are the SCTP socket options of network-parameters, in
// milliseconds unless noted, built by SCTPOptionsOf from the knob table
// (Knobs). The fields are those of the runtime's sctp.Options (which
// converts from it), so that this package needs no socket code.
type SCTPOptions struct {
	RTOInitial int
	RTOMin     int
	RTOMax     int

	HBInterval      int
	PathMaxRetrans  int
	AssocMaxRetrans int

	SackDelay int
	SackFreq  int
	MaxBurst  int

	InitMaxAttempts int
	InitMaxTimeout  int

	RcvBuf int
	SndBuf int

	Autoclose int // seconds; 0: never
	SendTTL   int
	Unordered bool

	OutStreams int
	InStreams  int

	MaxAssocs int // <= 0: unlimited

	// BacklogAssoc and BacklogTotal bound in bytes the messages waiting
	// for send room (sctp-backlog-assoc, sctp-backlog-total).
	BacklogAssoc, BacklogTotal int
}

// Agent is one enabled session-agent: the connection the runtime keeps to
// it and how it watches its health.
type Agent struct {
	Hostname string
	Realm    string
	Method   string // transport-method as configured
	// Transport is what the runtime opens: staticSCTP and DynamicSCTP an
	// SCTP association, StaticTCP and DynamicTCP a TCP connection, UDP and
	// UDP+TCP a UDP socket.
	Transport string
	// Addr is ip-address, else hostname when it is an address; invalid
	// when hostname is a name, resolved at each connection attempt.
	Addr netip.Addr
	Port int // the session-agent port; 0 is the SIP default 5060
	// Local is where the connection starts: for SCTP the address set of
	// the SCTP sip-port of the agent's realm, for UDP and TCP the address
	// of its sip-port of that transport; empty lets the kernel choose.
	Local []netip.Addr

	SCTP        SCTPOptions // network-parameters; no autoclose, no association limit
	SendRetries int         // sctp-send-retries

	PingMethod   string        // OPTIONS, or "" (no pings)
	PingInterval time.Duration // 0: no pings

	Keepalive      Keepalive     // TCP: tcp-keepalive enabled, network-parameters timers
	ConnectTimeout time.Duration // TCP: network-parameters tcp-keepinit-timer
	Reconnect      time.Duration // TCP: tcp-reconn-interval, the first retry's delay
}

// Pings reports whether the agent is pinged.
func (a *Agent) Pings() bool { return a.PingMethod != "" && a.PingInterval > 0 }

// Target is the agent's address and port as shown: "name:port" until a
// name is resolved.
func (a *Agent) Target() string {
	if a.Addr.IsValid() {
		return netip.AddrPortFrom(a.Addr, uint16(a.Port)).String()
	}
	return a.Hostname + ":" + strconv.Itoa(a.Port)
}

// DisabledAgent is a session-agent whose state is disabled: listed, not
// connected.
type DisabledAgent struct {
	Hostname, Realm, Method, Target string
}

// MakeKey is a listener's identity: transport, the sorted address set and
// the port, e.g. "UDP 127.0.0.1:5060" or "SCTP {127.0.0.1,127.0.0.2}:5060".
func MakeKey(transport string, addrs []netip.Addr, port int) string {
	s := slices.Clone(addrs)
	slices.SortFunc(s, func(a, b netip.Addr) int { return a.Compare(b) })
	s = slices.Compact(s)
	p := strconv.Itoa(port)
	if len(s) == 1 {
		return transport + " " + netip.AddrPortFrom(s[0], uint16(port)).String()
	}
	parts := make([]string, len(s))
	for i, a := range s {
		parts[i] = a.String()
		if a.Is6() {
			parts[i] = "[" + parts[i] + "]"
		}
	}
	return transport + " {" + strings.Join(parts, ",") + "}:" + p
}

// Build derives the plan of cfg. err joins a *Problem for every reason the
// runtime cannot serve cfg (see Problems); the plan holds what can be
// served all the same (the runtime tries it, to report every error).
func Build(cfg *model.Config) (*Plan, error) {
	b := builder{cfg: cfg, np: cfg.NetworkParameters()}
	b.options()
	b.sipPorts()
	b.agents()
	errs := make([]error, len(b.problems))
	for i, p := range b.problems {
		errs[i] = p
	}
	return &b.plan, errors.Join(errs...)
}

// builder gathers a plan and its problems.
type builder struct {
	cfg      *model.Config
	np       *model.Instance
	plan     Plan
	problems []*Problem
	sctp     SCTPOptions
	sctpErr  []*Problem // network-parameters problems that stop SCTP
	ports    []*portInfo
	portsOf  map[*model.Instance][]*portInfo // by sip-interface
}

// portInfo is a sip-port of an enabled sip-interface as the rules see it.
type portInfo struct {
	si, in   *model.Instance
	addrs    []netip.Addr // valid addresses, unmapped, without repeats
	problems []*Problem
}

func (b *builder) report(p *Problem) { b.problems = append(b.problems, p) }

// options reads network-parameters: the SCTP options and their rules.
func (b *builder) options() {
	np := b.np
	b.sctp = SCTPOptionsOf(np)
	o := b.sctp
	at := func(rule string, param model.Ref, msg string) {
		p := &Problem{Rule: rule, Element: np.Elem.Name, Param: param.Name(), Message: msg}
		b.report(p)
		b.sctpErr = append(b.sctpErr, p)
	}
	val := func(r model.Ref, n int) string { return r.Name() + " [" + strconv.Itoa(n) + "]" }
	order := ": allowed " + NPRTOMin.Name() + " <= " + NPRTOInitial.Name() + " <= " + NPRTOMax.Name()
	if o.RTOMin > o.RTOMax {
		at(RuleSCTPRTOOrder, NPRTOMin, "has "+val(NPRTOMin, o.RTOMin)+" above "+val(NPRTOMax, o.RTOMax)+order)
	}
	if o.RTOInitial < o.RTOMin {
		at(RuleSCTPRTOOrder, NPRTOInitial, "has "+val(NPRTOInitial, o.RTOInitial)+" below "+val(NPRTOMin, o.RTOMin)+order)
	}
	if o.RTOInitial > o.RTOMax {
		at(RuleSCTPRTOOrder, NPRTOInitial, "has "+val(NPRTOInitial, o.RTOInitial)+" above "+val(NPRTOMax, o.RTOMax)+order)
	}
	if NPAssocReuse.Str(np) == "enabled" && NPAssocTracking.Str(np) != "enabled" {
		at(RuleSCTPAssocReuseTracking, NPAssocReuse, "has "+NPAssocReuse.Name()+" [enabled] which requires "+NPAssocTracking.Name()+
			" [enabled], not "+br(NPAssocTracking.Str(np)))
	}
	if NPMaxAssocs.Str(np) == "0" {
		at(RuleSCTPMaxAssocsZero, NPMaxAssocs, "has "+NPMaxAssocs.Name()+" [0] which allows no SCTP association at all: allowed -1 "+
			"(the operating system maximum) or a positive limit")
	}
}

func keepaliveOf(np *model.Instance) Keepalive {
	return Keepalive{
		Idle:     time.Duration(npKeepaliveIdle.Int(np)) * time.Second,
		Interval: time.Duration(npKeepaliveIntvl.Int(np)) * time.Second,
		Count:    int(npKeepaliveCount.Int(np)),
	}
}

func br(s string) string { return "[" + s + "]" }

// enabledInterfaces returns the enabled sip-interfaces in key order.
func (b *builder) enabledInterfaces() []*model.Instance {
	var out []*model.Instance
	for _, si := range b.cfg.List(model.SipInterface.Name) {
		if siState.Str(si) == "enabled" {
			out = append(out, si)
		}
	}
	return out
}

// sipPorts checks the sip-ports of the enabled sip-interfaces and derives
// their listeners.
func (b *builder) sipPorts() {
	b.portsOf = map[*model.Instance][]*portInfo{}
	for _, si := range b.enabledInterfaces() {
		for _, sp := range si.SubsOf(model.SipPort) {
			pi := &portInfo{si: si, in: sp}
			b.checkPort(pi)
			b.ports = append(b.ports, pi)
			b.portsOf[si] = append(b.portsOf[si], pi)
		}
	}
	b.conflicts()
	np := b.np
	ka := keepaliveOf(np)
	for _, pi := range b.ports {
		sp, name := pi.in, SIRealmID.Str(pi.si)
		tr := SPTransportProtocol.Str(sp)
		port := Port{Interface: name, Transport: tr, Address: SPAddress.Str(sp), MultiHomed: SPMultiHomedAddrs.Get(sp),
			Port: int(spPort.Int(sp))}
		errs := make([]error, 0, len(pi.problems)+len(b.sctpErr))
		for _, p := range pi.problems {
			errs = append(errs, p)
		}
		if tr == "SCTP" {
			for _, p := range b.sctpErr {
				errs = append(errs, p)
			}
		}
		if len(errs) > 0 {
			port.Err = errors.Join(errs...)
			b.plan.Ports = append(b.plan.Ports, port)
			continue
		}
		l := Listener{Transport: tr, Addrs: pi.addrs, Port: port.Port, Interface: name, SCTP: b.sctp,
			Tracking: NPAssocTracking.Str(np) == "enabled", Reuse: NPAssocReuse.Str(np) == "enabled"}
		l.Key = MakeKey(tr, l.Addrs, l.Port)
		if tr == "UDP" {
			l.RcvBuf = int(NPUDPSocketRcvbuf.Int(np))
		}
		if tr == "TCP" {
			// sip-interface tcp-keepalive enabled turns keepalive on with
			// the network-parameters timers; none and disabled leave it off.
			l.Keepalive = ka
			l.Keepalive.Enable = siKeepalive.Str(pi.si) == "enabled"
		}
		port.Key = l.Key
		b.plan.Listeners = append(b.plan.Listeners, l)
		b.plan.Ports = append(b.plan.Ports, port)
	}
}

// checkPort applies the rules of one sip-port and gathers its addresses.
func (b *builder) checkPort(pi *portInfo) {
	sp := pi.in
	bad := func(rule, param, msg string) {
		p := &Problem{Rule: rule, Element: sp.Elem.Name, Parent: pi.si.Key(), Key: sp.Key(), Param: param, Message: msg}
		pi.problems = append(pi.problems, p)
		b.report(p)
	}
	tr := SPTransportProtocol.Str(sp)
	switch tr {
	case "UDP", "TCP", "SCTP":
	case "TLS":
		bad(RuleSipPortTransport, "transport-protocol", "has transport-protocol [TLS] which the runtime does not serve "+
			"(there is no tls-profile element yet): allowed UDP, TCP or SCTP")
	default:
		bad(RuleParamValue, "transport-protocol", "has transport-protocol "+br(tr)+": allowed UDP, TCP or SCTP")
	}
	v := SPAddress.Str(sp)
	a, err := netip.ParseAddr(v)
	switch {
	case v == "":
		bad(RuleKeyMissing, "address", "has no address: a sip-port needs the IP address to listen on")
	case err != nil || a.Zone() != "":
		bad(RuleParamValue, "address", "has address "+br(v)+" which is not an IP address: allowed an IPv4 or IPv6 address")
	default:
		pi.addrs = []netip.Addr{a.Unmap()}
	}
	mh := SPMultiHomedAddrs.Get(sp)
	if len(mh) == 0 {
		return
	}
	if tr != "SCTP" {
		bad(RuleMultiHomedTransport, "multi-homed-addrs", "has multi-homed-addrs "+br(strings.Join(mh, " "))+
			" but transport-protocol "+br(tr)+": multi-homed-addrs are allowed only with transport-protocol SCTP")
		return
	}
	if len(pi.addrs) == 1 && pi.addrs[0].IsUnspecified() {
		bad(RuleMultiHomedWildcard, "multi-homed-addrs", "has multi-homed-addrs but address "+br(v)+
			" is a wildcard that already binds every local address: allowed a specific address with multi-homed-addrs")
	}
	for _, m := range mh {
		e, err := netip.ParseAddr(m)
		switch {
		case err != nil || e.Zone() != "":
			bad(RuleParamValue, "multi-homed-addrs", "has multi-homed-addrs entry "+br(m)+" which is not an IP address")
			continue
		case e.IsUnspecified():
			bad(RuleMultiHomedWildcard, "multi-homed-addrs", "has multi-homed-addrs entry "+br(m)+
				" which is a wildcard, not a local address: allowed specific addresses")
			continue
		}
		e = e.Unmap()
		if len(pi.addrs) > 0 && e.Is4() != pi.addrs[0].Is4() {
			bad(RuleMultiHomedFamily, "multi-homed-addrs", "has multi-homed-addrs entry "+br(m)+
				" which is not of the address family ("+family(pi.addrs[0])+") of address "+br(v))
			continue
		}
		if !slices.Contains(pi.addrs, e) {
			pi.addrs = append(pi.addrs, e) // a repeat changes nothing (verify warns)
		}
	}
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// portSpace is the port number space of a transport: TLS runs over TCP.
func portSpace(transport string) string {
	if transport == "TLS" {
		return "TCP"
	}
	return transport
}

// conflicts reports the sip-ports that would listen where an earlier one
// does: the same port space and port, and a shared address or a wildcard.
// A wildcard takes the port on every address, of both families: :: binds
// a dual-stack socket, and Linux refuses 0.0.0.0 beside any dual-stack
// IPv6 socket on the port (the runtime's IPv6 sockets are dual-stack, as
// Linux makes them by default).
func (b *builder) conflicts() {
	type slot struct {
		space string
		port  int64
	}
	type holder struct {
		p   *portInfo
		a   netip.Addr
		seq int // the order met
	}
	// Each index keeps the first holders of a few distinct sip-ports: the
	// first one that is neither the sip-port itself nor one it was already
	// reported against is the first conflict in configuration order.
	const keep = 4
	type index struct {
		exact map[netip.Addr][]holder
		wild  []holder // on a wildcard
		all   []holder
	}
	push := func(l []holder, h holder) []holder {
		if len(l) < keep && !slices.ContainsFunc(l, func(o holder) bool { return o.p == h.p }) {
			l = append(l, h)
		}
		return l
	}
	held := map[slot]*index{}
	seq := 0
	for _, p := range b.ports {
		space, pn := portSpace(SPTransportProtocol.Str(p.in)), spPort.Int(p.in)
		ix := held[slot{space, pn}]
		if ix == nil {
			ix = &index{exact: map[netip.Addr][]holder{}}
			held[slot{space, pn}] = ix
		}
		var reported []*portInfo // one problem per pair of sip-ports
		for _, a := range p.addrs {
			var other holder
			found := false
			consider := func(l []holder) {
				for _, h := range l {
					if h.p != p && !slices.Contains(reported, h.p) && (!found || h.seq < other.seq) {
						other, found = h, true
						return
					}
				}
			}
			consider(ix.exact[a])
			consider(ix.wild)
			if a.IsUnspecified() {
				consider(ix.all)
			}
			h := holder{p, a, seq}
			seq++
			ix.exact[a] = push(ix.exact[a], h)
			ix.all = push(ix.all, h)
			if a.IsUnspecified() {
				ix.wild = push(ix.wild, h)
			}
			if !found {
				continue
			}
			reported = append(reported, other.p)
			where := br(a.String())
			if a != other.a {
				where = br(a.String()) + " and " + br(other.a.String())
			}
			pr := &Problem{Rule: RuleSipPortConflict, Element: p.in.Elem.Name, Parent: p.si.Key(), Key: p.in.Key(), Param: "port",
				Message: "conflicts with sip-port " + br(other.p.in.Key()) + " of sip-interface " + br(other.p.si.Key()) +
					": both listen on " + space + " port " + br(strconv.FormatInt(pn, 10)) + " at " + where +
					": allowed one sip-port per transport, address and port"}
			p.problems = append(p.problems, pr)
			b.report(pr)
		}
	}
}

// overlap reports whether sockets bound to a and b on one port would
// conflict.
func overlap(a, b netip.Addr) bool { return a == b || a.IsUnspecified() || b.IsUnspecified() }

// agents checks the session-agents and derives the enabled ones.
func (b *builder) agents() {
	np := b.np
	ka := keepaliveOf(np)
	for _, sa := range b.cfg.List(model.SessionAgent.Name) {
		a := Agent{Hostname: SAHostname.Str(sa), Realm: SARealmID.Str(sa), Method: SATransportMethod.Str(sa),
			Port: int(saPort.Int(sa))}
		if a.Port == 0 {
			a.Port = 5060
		}
		a.Addr = SAIPAddress.Addr(sa).Unmap()
		if !a.Addr.IsValid() {
			if h, err := netip.ParseAddr(a.Hostname); err == nil {
				a.Addr = h.Unmap()
			}
		}
		if SAState.Str(sa) != "enabled" {
			b.plan.Disabled = append(b.plan.Disabled, DisabledAgent{Hostname: a.Hostname, Realm: a.Realm, Method: a.Method, Target: a.Target()})
			continue
		}
		n := len(b.problems)
		bad := func(rule, param, msg string) {
			b.report(&Problem{Rule: rule, Element: sa.Elem.Name, Key: sa.Key(), Param: param, Message: msg})
		}
		switch a.Method {
		case "UDP", "UDP+TCP":
			a.Transport = "UDP"
		case "StaticTCP", "DynamicTCP":
			a.Transport = "TCP"
		case "staticSCTP", "DynamicSCTP":
			a.Transport = "SCTP"
		case "StaticTLS", "DynamicTLS":
			bad(RuleSessionAgentTransport, "transport-method", "has transport-method "+br(a.Method)+
				" which the runtime does not serve (there is no tls-profile element yet): allowed UDP, UDP+TCP, StaticTCP, DynamicTCP, staticSCTP or DynamicSCTP")
		default:
			bad(RuleParamValue, "transport-method", "has transport-method "+br(a.Method)+
				": allowed UDP, UDP+TCP, StaticTCP, DynamicTCP, staticSCTP or DynamicSCTP")
		}
		switch p := saAppProtocol.Str(sa); p {
		case "SIP":
		case "H323":
			bad(RuleSessionAgentAppProtocol, "app-protocol", "has app-protocol [H323] which the runtime does not speak: allowed SIP")
		default:
			bad(RuleParamValue, "app-protocol", "has app-protocol "+br(p)+" which the runtime does not speak: allowed SIP")
		}
		if a.Transport != "" {
			a.Local = b.localAddrs(&a, bad)
		}
		if len(b.problems) > n {
			continue
		}
		if a.Transport == "SCTP" {
			a.SCTP = b.sctp
			a.SCTP.Autoclose = 0 // the association is static
			a.SCTP.MaxAssocs = 0
			a.SendRetries = int(NPSendRetries.Int(np))
		}
		if a.Transport == "TCP" {
			a.Keepalive = ka
			a.Keepalive.Enable = saKeepalive.Str(sa) == "enabled"
			a.ConnectTimeout = time.Duration(NPKeepinitTimer.Int(np)) * time.Second
			a.Reconnect = time.Duration(SAReconnInterval.Int(sa)) * time.Second
		}
		a.PingMethod = saPingMethod.Str(sa)
		a.PingInterval = time.Duration(saPingInterval.Int(sa)) * time.Second
		if !a.Pings() {
			a.PingMethod, a.PingInterval = "", 0
		}
		b.plan.Agents = append(b.plan.Agents, a)
	}
}

// localAddrs finds where a connection to the agent a starts: the first
// sip-port of the agent's transport (and address family) of the enabled
// sip-interface of its realm that can listen. SCTP needs one: its address
// set is the SBC's multi-homed endpoint in that realm; UDP and TCP without
// one let the kernel choose.
func (b *builder) localAddrs(a *Agent, bad func(rule, param, msg string)) []netip.Addr {
	var si *model.Instance
	if a.Realm != "" {
		si = b.cfg.Get(model.SipInterface.Name, a.Realm)
	}
	sctp := a.Transport == "SCTP"
	tm := br(a.Method)
	if si == nil || siState.Str(si) != "enabled" {
		switch {
		case !sctp:
		case a.Realm == "":
			bad(RuleSessionAgentSCTPPort, "realm-id", "has transport-method "+tm+" but no realm-id, so no SCTP sip-port is chosen for it: "+
				"allowed a realm-id whose sip-interface has an SCTP sip-port to start the association from")
		case si == nil:
			bad(RuleSessionAgentSCTPPort, "realm-id", "has transport-method "+tm+" but realm-id "+br(a.Realm)+
				" has no sip-interface, so no SCTP sip-port to start the association from")
		default:
			bad(RuleSessionAgentSCTPPort, "realm-id", "has transport-method "+tm+" but sip-interface "+br(a.Realm)+
				" of its realm is disabled, so no SCTP sip-port to start the association from")
		}
		return nil
	}
	any := false
	for _, pi := range b.portsOf[si] {
		if SPTransportProtocol.Str(pi.in) != a.Transport {
			continue
		}
		any = true
		if len(pi.problems) > 0 || len(pi.addrs) == 0 {
			continue // its own problems are reported
		}
		if a.Addr.IsValid() && pi.addrs[0].Is4() != a.Addr.Is4() {
			continue
		}
		if pi.addrs[0].IsUnspecified() {
			return nil
		}
		return slices.Clone(pi.addrs)
	}
	switch {
	case !sctp:
	case !any:
		bad(RuleSessionAgentSCTPPort, "transport-method", "has transport-method "+tm+" but sip-interface "+br(a.Realm)+
			" of its realm has no SCTP sip-port to start the association from")
	case a.Addr.IsValid():
		bad(RuleSessionAgentSCTPPort, "transport-method", "has transport-method "+tm+" toward "+br(a.Addr.String())+" but sip-interface "+
			br(a.Realm)+" of its realm has no SCTP sip-port of that address family ("+family(a.Addr)+") that can listen")
	default:
		bad(RuleSessionAgentSCTPPort, "transport-method", "has transport-method "+tm+" but no SCTP sip-port of sip-interface "+
			br(a.Realm)+" of its realm can listen")
	}
	return nil
}
