package verify

import (
	"testing"

	"github.com/acli-project/acli/model"
)

func TestRuleSipInterfaceNoPorts(t *testing.T) {
	ruleTest(t, ruleSipInterfaceNoPorts, []ruleCase{
		{name: "seed"},
		{name: "no ports", edit: func(c *model.Config) {
			c.Get(model.SipInterface.Name, "core-172").Subs = nil
		}, want: []string{"WARNING: sip-interface [core-172] has no sip-ports, so it receives no SIP traffic"}},
	})
}

func TestRuleSipPortAddressOwner(t *testing.T) {
	ruleTest(t, ruleSipPortAddressOwner, []ruleCase{
		{name: "seed"},
		{name: "wildcard", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "0.0.0.0", "transport-protocol", "UDP")
		}},
		{name: "entries of non-SCTP ports are multi-homed-transport's", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "172.16.10.76", "transport-protocol", "TCP", "multi-homed-addrs", "9.9.9.9")
		}},
		{name: "as printed", edit: func(c *model.Config) {
			c.Delete(model.NetworkInterface.Name, "m11:0")
			c.Delete(model.NetworkInterface.Name, "m02:0")
		}, want: []string{
			"ERROR: " + seedSIPort + " has multi-homed-addrs entry [192.16.10.76] which is not the ip-address of any network-interface",
			"ERROR: " + seedSIPort + " has multi-homed-addrs entry [196.15.32.108] which is not the ip-address of any network-interface",
		}},
		{name: "primary", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "172.16.10.99", "transport-protocol", "UDP")
		}, want: []string{"ERROR: sip-port [172.16.10.99:5060:UDP] of sip-interface [core-172] has address [172.16.10.99] which is not the ip-address of any network-interface"}},
	})
}

func TestRuleSipPortAddressRealm(t *testing.T) {
	ruleTest(t, ruleSipPortAddressRealm, []ruleCase{
		{name: "seed"},
		{name: "missing realm is sip-interface-realm's", edit: func(c *model.Config) {
			c.Delete(model.RealmConfig.Name, "core-172")
		}},
		{name: "interfaces outside the realm", edit: func(c *model.Config) {
			edit(c, model.RealmConfig, "core-172", "network-interfaces", "m01 m11")
			addIface(c, "m03", "10.0.0.1", "255.0.0.0", "")
			addPort(c, "core-172", "address", "10.0.0.1", "transport-protocol", "UDP")
		}, want: []string{ // sip-ports in configured order
			"ERROR: " + seedSIPort + " has address [172.16.10.76] on network-interface [m10:0] which is not in the network-interfaces of realm-config [core-172]",
			"ERROR: " + seedSIPort + " has multi-homed-addrs entry [196.15.32.108] on network-interface [m02:0] which is not in the network-interfaces of realm-config [core-172]",
			"ERROR: sip-port [10.0.0.1:5060:UDP] of sip-interface [core-172] has address [10.0.0.1] on network-interface [m03:0] which is not in the network-interfaces of realm-config [core-172]",
		}},
	})
}

func TestRuleSipPortConflict(t *testing.T) {
	ruleTest(t, planRule("sip-port-conflict"), []ruleCase{
		{name: "seed"},
		{name: "different transports, ports and families", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "172.16.10.76", "transport-protocol", "UDP")
			addPort(c, "core-172", "address", "172.16.10.76", "transport-protocol", "TCP")
			addPort(c, "core-172", "address", "172.16.10.76", "transport-protocol", "TLS", "port", "5061")
			addPort(c, "other", "address", "182.16.10.76", "transport-protocol", "SCTP", "port", "5062")
			addPort(c, "other", "address", "2001:db8::1", "transport-protocol", "SCTP")
		}},
		{name: "the IPv6 wildcard is dual-stack", edit: func(c *model.Config) {
			addPort(c, "other", "address", "::", "transport-protocol", "SCTP")
		}, want: []string{"ERROR: sip-port [:::5060:SCTP] of sip-interface [other] conflicts with sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172]: " +
			"both listen on SCTP port [5060] at [::] and [172.16.10.76]: allowed one sip-port per transport, address and port"}},
		{name: "same address", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "172.16.10.76", "transport-protocol", "TCP")
			addPort(c, "other", "address", "172.16.10.76", "transport-protocol", "TLS")
		}, want: []string{"ERROR: sip-port [172.16.10.76:5060:TLS] of sip-interface [other] conflicts with sip-port [172.16.10.76:5060:TCP] of sip-interface [core-172]: both listen on TCP port [5060] at [172.16.10.76]: allowed one sip-port per transport, address and port"}},
		{name: "wildcard", edit: func(c *model.Config) {
			addPort(c, "a", "address", "0.0.0.0", "transport-protocol", "UDP")
			addPort(c, "a", "address", "0.0.0.0", "transport-protocol", "SCTP")
			addPort(c, "b", "address", "0.0.0.0", "transport-protocol", "UDP")
		}, want: []string{
			"ERROR: sip-port [0.0.0.0:5060:UDP] of sip-interface [b] conflicts with sip-port [0.0.0.0:5060:UDP] of sip-interface [a]: both listen on UDP port [5060] at [0.0.0.0]: allowed one sip-port per transport, address and port",
			"ERROR: " + seedSIPort + " conflicts with sip-port [0.0.0.0:5060:SCTP] of sip-interface [a]: both listen on SCTP port [5060] at [172.16.10.76] and [0.0.0.0]: allowed one sip-port per transport, address and port",
		}},
		{name: "wildcard after specific", edit: func(c *model.Config) {
			addPort(c, "z", "address", "0.0.0.0", "transport-protocol", "SCTP")
			addPort(c, "z", "address", "0.0.0.0", "transport-protocol", "TCP")
		}, want: []string{
			"ERROR: sip-port [0.0.0.0:5060:SCTP] of sip-interface [z] conflicts with sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172]: both listen on SCTP port [5060] at [0.0.0.0] and [172.16.10.76]: allowed one sip-port per transport, address and port",
		}},
		{name: "multi-homed address", edit: func(c *model.Config) {
			addPort(c, "other", "address", "192.16.10.76", "transport-protocol", "SCTP")
		}, want: []string{"ERROR: sip-port [192.16.10.76:5060:SCTP] of sip-interface [other] conflicts with sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172]: both listen on SCTP port [5060] at [192.16.10.76]: allowed one sip-port per transport, address and port"}},
	})
}

func TestRuleSipPortTransport(t *testing.T) {
	ruleTest(t, planRule("sip-port-transport"), []ruleCase{
		{name: "seed"},
		{name: "TLS on a disabled sip-interface", edit: func(c *model.Config) {
			addPort(c, "other", "address", "172.16.10.76", "transport-protocol", "TLS", "tls-profile", "tp")
			edit(c, model.SipInterface, "other", "state", "disabled")
		}},
		{name: "TLS", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "172.16.10.76", "transport-protocol", "TLS", "tls-profile", "tp")
		}, want: []string{"ERROR: sip-port [172.16.10.76:5060:TLS] of sip-interface [core-172] has transport-protocol [TLS] which the runtime does not serve (there is no tls-profile element yet): allowed UDP, TCP or SCTP"}},
	})
}

func TestRuleMultiHomedTransport(t *testing.T) {
	ruleTest(t, planRule("multi-homed-transport"), []ruleCase{
		{name: "seed"},
		{name: "UDP", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "172.16.10.76", "transport-protocol", "UDP", "multi-homed-addrs", "182.16.10.76")
		}, want: []string{"ERROR: sip-port [172.16.10.76:5060:UDP] of sip-interface [core-172] has multi-homed-addrs [182.16.10.76] but transport-protocol [UDP]: multi-homed-addrs are allowed only with transport-protocol SCTP"}},
	})
}

func TestRuleMultiHomedFamily(t *testing.T) {
	ruleTest(t, planRule("multi-homed-family"), []ruleCase{
		{name: "seed"},
		{name: "IPv6 entry", edit: func(c *model.Config) {
			set(seedPort(c), "multi-homed-addrs", "182.16.10.76", "2001:db8::1")
		}, want: []string{"ERROR: " + seedSIPort + " has multi-homed-addrs entry [2001:db8::1] which is not of the address family (IPv4) of address [172.16.10.76]"}},
	})
}

func TestRuleMultiHomedDuplicate(t *testing.T) {
	ruleTest(t, ruleMultiHomedDuplicate, []ruleCase{
		{name: "seed"},
		{name: "repeats", edit: func(c *model.Config) {
			set(seedPort(c), "multi-homed-addrs", "182.16.10.76", "172.16.10.76", "182.16.10.76")
		}, want: []string{
			"WARNING: " + seedSIPort + " has multi-homed-addrs entry [172.16.10.76] which repeats the primary address",
			"WARNING: " + seedSIPort + " lists multi-homed-addrs entry [182.16.10.76] more than once",
		}},
	})
}

func TestRuleMultiHomedWildcard(t *testing.T) {
	ruleTest(t, planRule("multi-homed-wildcard"), []ruleCase{
		{name: "seed"},
		{name: "wildcard without entries", edit: func(c *model.Config) {
			addPort(c, "other", "address", "0.0.0.0", "transport-protocol", "SCTP")
		}},
		{name: "wildcards", edit: func(c *model.Config) {
			set(seedPort(c), "multi-homed-addrs", "0.0.0.0")
			addPort(c, "other", "address", "::", "transport-protocol", "SCTP", "multi-homed-addrs", "2001:db8::1")
		}, want: []string{
			"ERROR: " + seedSIPort + " has multi-homed-addrs entry [0.0.0.0] which is a wildcard, not a local address: allowed specific addresses",
			"ERROR: sip-port [:::5060:SCTP] of sip-interface [other] has multi-homed-addrs but address [::] is a wildcard that already binds every local address: allowed a specific address with multi-homed-addrs",
		}},
	})
}
