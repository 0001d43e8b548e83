package runtime

import (
	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp"
)

// Spec is one listener the runtime keeps: a planned listener (see package
// plan, which derives them from the configuration and holds its rules).
// Its SCTP options convert to package sctp's with listenerSCTP.
type Spec = plan.Listener

// listenerSCTP is the listener's SCTP socket options.
func listenerSCTP(s *Spec) sctp.Options { return sctpOptions(s.SCTP) }

// Keepalive is the TCP keepalive of a listener's or an agent's connections.
type Keepalive = plan.Keepalive

// sctpOptions converts planned SCTP options: the two structs have the same
// fields, so that a field added to one and not the other does not compile.
func sctpOptions(o plan.SCTPOptions) sctp.Options { return sctp.Options(o) }
