package runtime

import "github.com/acli-project/acli/model"

// The parameters the runtime names in its change messages and in show sctp
// options beside the knob table (plan.Knobs), resolved once
// (model.Element.MustParam): a parameter renamed in the schema panics when
// the package loads, rather than leaving a stale name on the screen.
var (
	npUDPSocketRcvbuf = model.NetworkParameters.MustParam("udp-socket-rcvbuf")
	npKeepinitTimer   = model.NetworkParameters.MustParam("tcp-keepinit-timer")
	npSendRetries     = model.NetworkParameters.MustParam("sctp-send-retries")
	npAssocTracking   = model.NetworkParameters.MustParam("sctp-assoc-tracking")
	npAssocReuse      = model.NetworkParameters.MustParam("sctp-assoc-reuse")
	saReconnInterval  = model.SessionAgent.MustParam("tcp-reconn-interval")
)
