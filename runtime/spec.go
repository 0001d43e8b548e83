package runtime

import (
	"net/netip"

	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp"
)

// Spec is one listener the runtime keeps: a planned listener (see package
// plan, which derives them from the configuration and holds its rules)
// with the socket options of package sctp.
type Spec struct {
	Key       string
	Transport string       // UDP, TCP or SCTP
	Addrs     []netip.Addr // address first, then multi-homed-addrs
	Port      int
	Interface string // realm-id of the sip-interface

	SCTP      sctp.Options // SCTP: from network-parameters
	Tracking  bool         // sctp-assoc-tracking
	Reuse     bool         // sctp-assoc-reuse
	Keepalive Keepalive    // TCP: keepalive of accepted connections
	RcvBuf    int          // UDP: network-parameters udp-socket-rcvbuf
}

// Keepalive is the TCP keepalive of a listener's or an agent's connections.
type Keepalive = plan.Keepalive

// specOf is the Spec of a planned listener.
func specOf(l plan.Listener) Spec {
	return Spec{Key: l.Key, Transport: l.Transport, Addrs: l.Addrs, Port: l.Port, Interface: l.Interface,
		SCTP: sctpOptions(l.SCTP), Tracking: l.Tracking, Reuse: l.Reuse, Keepalive: l.Keepalive, RcvBuf: l.RcvBuf}
}

// sctpOptions converts planned SCTP options: the two structs have the same
// fields, so that a field added to one and not the other does not compile.
func sctpOptions(o plan.SCTPOptions) sctp.Options { return sctp.Options(o) }
