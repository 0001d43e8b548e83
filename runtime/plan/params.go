package plan

import "github.com/acli-project/acli/model"

// The parameters the plan reads, resolved once (model.Element.MustParam):
// a misspelt name panics when the package loads. The exported ones are
// read by the runtime and verify too, declared here only. The SCTP knobs
// are in the knob table (knobs.go).
var (
	NPSendRetries     = model.NetworkParameters.MustParam("sctp-send-retries")
	NPAssocTracking   = model.NetworkParameters.MustParam("sctp-assoc-tracking")
	NPAssocReuse      = model.NetworkParameters.MustParam("sctp-assoc-reuse")
	NPMaxAssocs       = model.NetworkParameters.MustParam("sctp-max-assocs")
	npKeepaliveCount  = model.NetworkParameters.MustParam("tcp-keepalive-count")
	npKeepaliveIdle   = model.NetworkParameters.MustParam("tcp-keepalive-idle-timer")
	npKeepaliveIntvl  = model.NetworkParameters.MustParam("tcp-keepalive-interval-timer")
	NPKeepinitTimer   = model.NetworkParameters.MustParam("tcp-keepinit-timer")
	NPUDPSocketRcvbuf = model.NetworkParameters.MustParam("udp-socket-rcvbuf")

	siState     = model.SipInterface.MustParam("state")
	SIRealmID   = model.SipInterface.MustParam("realm-id")
	siKeepalive = model.SipInterface.MustParam("tcp-keepalive")

	SPAddress           = model.SipPort.MustParam("address")
	spPort              = model.SipPort.MustParam("port")
	SPTransportProtocol = model.SipPort.MustParam("transport-protocol")
	SPMultiHomedAddrs   = model.SipPort.MustParam("multi-homed-addrs")

	SAHostname        = model.SessionAgent.MustParam("hostname")
	SAIPAddress       = model.SessionAgent.MustParam("ip-address")
	saPort            = model.SessionAgent.MustParam("port")
	SAState           = model.SessionAgent.MustParam("state")
	SARealmID         = model.SessionAgent.MustParam("realm-id")
	SATransportMethod = model.SessionAgent.MustParam("transport-method")
	saAppProtocol     = model.SessionAgent.MustParam("app-protocol")
	saKeepalive       = model.SessionAgent.MustParam("tcp-keepalive")
	SAReconnInterval  = model.SessionAgent.MustParam("tcp-reconn-interval")
	saPingMethod      = model.SessionAgent.MustParam("ping-method")
	saPingInterval    = model.SessionAgent.MustParam("ping-interval")
)
