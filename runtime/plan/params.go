package plan

import "github.com/acli-project/acli/model"

// The parameters the plan reads, resolved once (model.Element.MustParam):
// a misspelt name panics when the package loads. The SCTP knobs are in the
// knob table (knobs.go).
var (
	npSendRetries     = model.NetworkParameters.MustParam("sctp-send-retries")
	npAssocTracking   = model.NetworkParameters.MustParam("sctp-assoc-tracking")
	npAssocReuse      = model.NetworkParameters.MustParam("sctp-assoc-reuse")
	npMaxAssocs       = model.NetworkParameters.MustParam("sctp-max-assocs")
	npKeepaliveCount  = model.NetworkParameters.MustParam("tcp-keepalive-count")
	npKeepaliveIdle   = model.NetworkParameters.MustParam("tcp-keepalive-idle-timer")
	npKeepaliveIntvl  = model.NetworkParameters.MustParam("tcp-keepalive-interval-timer")
	npKeepinitTimer   = model.NetworkParameters.MustParam("tcp-keepinit-timer")
	npUDPSocketRcvbuf = model.NetworkParameters.MustParam("udp-socket-rcvbuf")

	siState     = model.SipInterface.MustParam("state")
	siRealmID   = model.SipInterface.MustParam("realm-id")
	siKeepalive = model.SipInterface.MustParam("tcp-keepalive")

	spAddress           = model.SipPort.MustParam("address")
	spPort              = model.SipPort.MustParam("port")
	spTransportProtocol = model.SipPort.MustParam("transport-protocol")
	spMultiHomedAddrs   = model.SipPort.MustParam("multi-homed-addrs")

	saHostname        = model.SessionAgent.MustParam("hostname")
	saIPAddress       = model.SessionAgent.MustParam("ip-address")
	saPort            = model.SessionAgent.MustParam("port")
	saState           = model.SessionAgent.MustParam("state")
	saRealmID         = model.SessionAgent.MustParam("realm-id")
	saTransportMethod = model.SessionAgent.MustParam("transport-method")
	saAppProtocol     = model.SessionAgent.MustParam("app-protocol")
	saKeepalive       = model.SessionAgent.MustParam("tcp-keepalive")
	saReconnInterval  = model.SessionAgent.MustParam("tcp-reconn-interval")
	saPingMethod      = model.SessionAgent.MustParam("ping-method")
	saPingInterval    = model.SessionAgent.MustParam("ping-interval")
)
