package model

// This file declares every element and parameter. Adding a parameter here is
// the only change needed for the shell, show, storage and type checks to know
// it.

const maxU32 = 4294967295

var enabledDisabled = []string{"enabled", "disabled"}

func str(name, help string) *Param { return &Param{Name: name, Type: String, Help: help} }

func integer(name string, def string, min, max int64, help string) *Param {
	return &Param{Name: name, Type: Int, Default: def, Min: min, Max: max, Help: help}
}

func enum(name, def string, values []string, help string) *Param {
	return &Param{Name: name, Type: Enum, Default: def, Values: values, Help: help}
}

func ip(name, help string) *Param { return &Param{Name: name, Type: IP, Help: help} }

// sctp declares an SCTP knob of network-parameters; newOnly marks knobs that,
// changed at runtime, affect new associations only.
func sctp(name, def string, min, max int64, newOnly bool, help string) *Param {
	if newOnly {
		help += "; a change affects new associations only"
	}
	p := integer(name, def, min, max, help)
	p.NewAssocOnly = newOnly
	return p
}

// PhyInterface is the phy-interface element.
var PhyInterface = &Element{
	Name: "phy-interface", Keys: []string{"name"},
	Help: "physical interface", Summary: []string{"operation-type", "slot", "port"},
	Params: []*Param{
		str("name", "name of the physical interface; network-interfaces refer to it by this name"),
		enum("operation-type", "Control", []string{"Media", "Control", "Maintenance"}, "what the interface carries"),
		integer("port", "0", 0, 3, "physical port number"),
		integer("slot", "0", 0, 1, "physical slot number"),
		str("virtual-mac", "virtual MAC address for redundancy"),
		enum("admin-state", "enabled", enabledDisabled, "administrative state"),
		enum("auto-negotiation", "enabled", enabledDisabled, "Ethernet auto-negotiation"),
		enum("duplex-mode", "full", []string{"full", "half"}, "duplex mode when auto-negotiation is disabled"),
		enum("speed", "100", []string{"10", "100", "1000"}, "speed in Mb/s when auto-negotiation is disabled"),
	},
}

// NetworkInterface is the network-interface element.
var NetworkInterface = &Element{
	Name: "network-interface", Keys: []string{"name", "sub-port-id"},
	Help: "network interface (IP layer) on a phy-interface", Summary: []string{"ip-address"},
	Params: []*Param{
		str("name", "name of the phy-interface this network interface runs on"),
		integer("sub-port-id", "0", 0, 4095, "VLAN sub-port identifier (0 = untagged)"),
		str("description", "free text description"),
		&Param{Name: "hostname", Type: Host, Help: "host name of this interface"},
		ip("ip-address", "IPv4 or IPv6 address of the interface (required)"),
		ip("netmask", "subnet mask (IPv4 dotted quad, or an IPv6 mask)"),
		ip("gateway", "default gateway; must be inside the interface's subnet"),
		ip("sec-gateway", "secondary gateway"),
		ip("pri-utility-addr", "primary utility address (HA pairs)"),
		ip("sec-utility-addr", "secondary utility address (HA pairs)"),
		ip("dns-ip-primary", "primary DNS server"),
		ip("dns-ip-backup1", "first backup DNS server"),
		ip("dns-ip-backup2", "second backup DNS server"),
		&Param{Name: "hip-ip-list", Type: IP, List: true, Help: "addresses on which management traffic is accepted"},
		&Param{Name: "icmp-address", Type: IP, List: true, Help: "addresses that answer ICMP"},
	},
}

// NetworkParameters is the network-parameters element: the system-wide TCP
// and SCTP knobs. It carries every SCTP parameter of the SBC guide and of the
// SIP server's SCTP module, under the guide's naming.
var NetworkParameters = &Element{
	Name: "network-parameters", Singleton: true,
	Help: "system-wide TCP and SCTP protocol parameters",
	Params: []*Param{
		integer("tcp-keepinit-timer", "75", 0, 999999999, "seconds to establish a TCP connection before giving up"),
		integer("tcp-keepalive-count", "8", 0, maxU32, "unanswered TCP keepalives before the connection is dropped"),
		integer("tcp-keepalive-idle-timer", "7200", 30, 7200, "idle seconds before the first TCP keepalive"),
		integer("tcp-keepalive-interval-timer", "75", 15, 75, "seconds between TCP keepalives"),
		integer("tcp-keepalive-mode", "0", 0, 3, "TCP keepalive mode"),
		enum("sctp-send-mode", "unordered", []string{"ordered", "unordered"}, "SCTP delivery mode of sent SIP messages"),
		integer("udp-socket-rcvbuf", "4194304", 0, 2147483647, "receive buffer in bytes of each UDP sip-port's socket, to absorb bursts; the kernel caps it at net.core.rmem_max unless acli may force it (0 = operating system default)"),
		sctp("sctp-rto-initial", "3000", 0, maxU32, true, "initial retransmission timeout in ms (RFC 4960 RTO.Initial)"),
		sctp("sctp-rto-min", "1000", 0, maxU32, true, "minimum retransmission timeout in ms (RTO.Min); below 500 peers' delayed SACKs cause retransmissions"),
		sctp("sctp-rto-max", "60000", 0, maxU32, true, "maximum retransmission timeout in ms (RTO.Max)"),
		sctp("sctp-hb-interval", "30000", 0, maxU32, true, "heartbeat interval in ms (HB.Interval); 0 disables heartbeats"),
		sctp("sctp-max-burst", "4", 0, maxU32, true, "maximum DATA chunks sent at one time (Max.Burst)"),
		sctp("sctp-sack-timeout", "200", 0, 500, true, "delayed SACK timer in ms (0 = SACK at once)"),
		sctp("sctp-sack-freq", "2", 0, maxU32, true, "packets received before a SACK is sent without waiting (1 disables delayed SACK)"),
		sctp("sctp-assoc-max-retrans", "10", 0, maxU32, true, "retransmissions before the peer is unreachable (Association.Max.Retrans)"),
		sctp("sctp-path-max-retrans", "5", 0, maxU32, true, "retransmissions before a peer address is inactive (Path.Max.Retrans)"),
		sctp("sctp-init-max-attempts", "8", 0, 65535, false, "INIT retransmissions before an outbound association fails"),
		sctp("sctp-init-max-timeo", "60000", 0, 65535, false, "maximum INIT retransmission timeout in ms"),
		sctp("sctp-socket-rcvbuf", "0", 0, 2147483647, false, "SCTP socket receive buffer in bytes (0 = operating system default)"),
		sctp("sctp-socket-sndbuf", "0", 0, 2147483647, false, "SCTP socket send buffer in bytes (0 = operating system default)"),
		sctp("sctp-autoclose", "180", 0, maxU32, true, "seconds before an idle association is closed (0 = never)"),
		sctp("sctp-send-ttl", "32000", 0, maxU32, false, "ms before an unsent SIP message is dropped (0 = never)"),
		sctp("sctp-send-retries", "0", 0, 9, false, "times to resend a message on a re-opened association after the stack gave up; keep low (1-3)"),
		sctp("sctp-backlog-assoc", "4194304", 65536, 2147483647, false, "bytes of SIP messages for one association that may wait for room in its send buffer, up to sctp-send-ttl; more are dropped and counted"),
		sctp("sctp-backlog-total", "67108864", 65536, 2147483647, false, "bytes of SIP messages for all associations of an SCTP sip-port that may wait for room in the send buffer"),
		enum("sctp-assoc-tracking", "enabled", enabledDisabled, "track associations inside acli (needed by sctp-assoc-reuse)"),
		enum("sctp-assoc-reuse", "enabled", enabledDisabled, "reuse the request's association for responses (requires sctp-assoc-tracking)"),
		sctp("sctp-max-assocs", "-1", -1, 2147483647, false, "maximum open SCTP associations; new ones beyond it are closed at once (-1 = operating system maximum)"),
		&Param{Name: "options", Type: String, List: true, Help: "free-form options (name=value)"},
	},
}

// RealmConfig is the realm-config element.
var RealmConfig = &Element{
	Name: "realm-config", Keys: []string{"identifier"},
	Help:         "realm: a set of network interfaces and the address space behind them",
	SelectPrompt: "identifier", Summary: []string{"network-interfaces", "addr-prefix"},
	Params: []*Param{
		str("identifier", "name of the realm"),
		str("description", "free text description"),
		&Param{Name: "addr-prefix", Type: Prefix, Default: "0.0.0.0", Help: "address prefix of the realm's endpoints"},
		&Param{Name: "network-interfaces", Type: IfaceRef, List: true, Help: "network interfaces of the realm, as name or name:sub-port; several for SCTP multi-homing"},
		enum("mm-in-realm", "disabled", enabledDisabled, "media between endpoints of this realm is anchored"),
		enum("mm-in-network", "enabled", enabledDisabled, "media between realms of one network is anchored"),
		enum("qos-enable", "disabled", enabledDisabled, "QoS reporting"),
		integer("max-bandwidth", "0", 0, maxU32, "maximum bandwidth in kb/s (0 = unlimited)"),
		str("parent-realm", "identifier of the parent realm"),
		enum("access-control-trust-level", "none", []string{"none", "low", "medium", "high"}, "trust level of the realm's endpoints"),
	},
}

// SipPort is the sip-port sub-element of sip-interface.
var SipPort = &Element{
	Name: "sip-port", Command: "sip-ports", Keys: []string{"address", "port", "transport-protocol"},
	Help: "SIP listening port of the SIP interface", Summary: []string{"multi-homed-addrs"},
	Params: []*Param{
		ip("address", "IPv4 or IPv6 address of the network interface (the primary SCTP address)"),
		integer("port", "5060", 1025, 65535, "port number (5060 is the well-known SIP port)"),
		enum("transport-protocol", "UDP", []string{"UDP", "TCP", "TLS", "SCTP"}, "layer 4 protocol"),
		str("tls-profile", "TLS profile name (TLS only)"),
		&Param{Name: "multi-homed-addrs", Type: IP, List: true, Help: "secondary local addresses of the SCTP endpoint, same family as address"},
		enum("allow-anonymous", "all", []string{"all", "agents-only", "realm-prefix", "registered", "register-prefix"}, "who may send requests to this port"),
		str("ims-aka-profile", "IMS-AKA profile name"),
	},
}

// SipInterface is the sip-interface element.
var SipInterface = &Element{
	Name: "sip-interface", Keys: []string{"realm-id"},
	Help: "SIP interface of a realm", Summary: []string{"state"},
	Subs: []*Element{SipPort},
	Params: []*Param{
		enum("state", "enabled", enabledDisabled, "whether the SIP interface is used"),
		str("realm-id", "realm (realm-config identifier) of this SIP interface"),
		str("description", "free text description"),
		integer("trans-expire", "0", 0, 999999999, "transaction expiry in seconds (0 = default)"),
		integer("invite-expire", "0", 0, 999999999, "INVITE transaction expiry in seconds (0 = default)"),
		&Param{Name: "proxy-mode", Type: Enum, Values: []string{"proxy", "redirect", "record-route"}, Help: "proxy behaviour"},
		enum("nat-traversal", "none", []string{"none", "rport", "always"}, "NAT traversal mode"),
		integer("nat-interval", "30", 0, 999999999, "NAT refresh interval in seconds"),
		enum("registration-caching", "disabled", enabledDisabled, "cache REGISTER bindings"),
		enum("tcp-keepalive", "none", []string{"none", "enabled", "disabled"}, "TCP keepalive on connections of this interface"),
		&Param{Name: "options", Type: String, List: true, Help: "free-form options (name=value)"},
	},
}

// SessionAgent is the session-agent element.
var SessionAgent = &Element{
	Name: "session-agent", Keys: []string{"hostname"},
	Help: "adjacent SIP server or peer", Summary: []string{"ip-address", "realm-id", "transport-method"},
	Params: []*Param{
		&Param{Name: "hostname", Type: Host, Help: "FQDN or IP address identifying the agent"},
		ip("ip-address", "IP address of the agent (when hostname is a name)"),
		&Param{Name: "port", Type: Int, Default: "5060", Min: 0, Max: 65535, Ranges: [][2]int64{{0, 0}, {1025, 65535}}, Help: "SIP port of the agent (0 or 1025-65535)"},
		enum("state", "enabled", enabledDisabled, "whether the agent is used"),
		enum("app-protocol", "SIP", []string{"SIP", "H323"}, "signalling protocol"),
		enum("transport-method", "UDP", []string{"UDP", "UDP+TCP", "DynamicTCP", "StaticTCP", "DynamicTLS", "StaticTLS", "DynamicSCTP", "staticSCTP"}, "layer 4 transport to the agent"),
		enum("reuse-connections", "none", []string{"none", "tcp", "sctp"}, "reuse connections opened by the agent"),
		str("realm-id", "realm in which the agent is reached"),
		str("description", "free text description"),
		enum("ping-method", "", []string{"OPTIONS"}, "SIP method of health pings (empty = no pings)"),
		integer("ping-interval", "0", 0, maxU32, "seconds between health pings (0 = no pings)"),
		enum("tcp-keepalive", "none", []string{"none", "enabled", "disabled"}, "TCP keepalive toward the agent"),
		&Param{Name: "tcp-reconn-interval", Type: Int, Default: "0", Min: 0, Max: 300, Ranges: [][2]int64{{0, 0}, {2, 300}}, Help: "seconds before a failed TCP connection is retried (0, or 2-300)"},
		&Param{Name: "options", Type: String, List: true, Help: "free-form options (name=value)"},
	},
}

// Default is the acli schema.
var Default = newSchema(
	&Container{Name: "system", Help: "system-level elements", Elements: []*Element{PhyInterface, NetworkInterface, NetworkParameters}},
	&Container{Name: "media-manager", Help: "media and realm elements", Elements: []*Element{RealmConfig}},
	&Container{Name: "session-router", Help: "SIP signalling elements", Elements: []*Element{SipInterface, SessionAgent}},
)
