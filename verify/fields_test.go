package verify

import (
	"testing"

	"github.com/acli-project/acli/model"
)

func TestRuleKeyMissing(t *testing.T) {
	ruleTest(t, ruleKeyMissing, []ruleCase{
		{name: "seed"},
		{name: "network-parameters has no key", edit: func(c *model.Config) { params(c) }},
		{name: "every element", edit: func(c *model.Config) {
			add(c, model.PhyInterface)
			add(c, model.NetworkInterface, "sub-port-id", "7")
			add(c, model.RealmConfig)
			add(c, model.SipInterface)
			add(c, model.SessionAgent)
			si := c.Get(model.SipInterface.Name, "core-172")
			si.Subs = append(si.Subs, mustSet(model.NewInstance(model.SipPort), "transport-protocol", "TCP"))
		}, want: []string{
			"ERROR: phy-interface [] has no name",
			"ERROR: network-interface [:7] has no name",
			"ERROR: realm-config [] has no identifier",
			"ERROR: sip-interface [] has no realm-id",
			"ERROR: sip-port [:5060:TCP] of sip-interface [core-172] has no address",
			"ERROR: session-agent [] has no hostname",
		}},
	})
}

func TestRuleParamValue(t *testing.T) {
	ruleTest(t, ruleParamValue, []ruleCase{
		{name: "seed"},
		{name: "values built by hand", edit: func(c *model.Config) {
			np := model.NewInstance(model.NetworkParameters)
			np.Values["sctp-sack-timeout"] = []string{"600"}
			np.Values["sctp-send-mode"] = []string{"ORDERED"}
			np.Values["bogus"] = []string{"1"}
			c.Put(np)
			seedPort(c).Values["multi-homed-addrs"] = []string{"182.16.10.76", "not-an-ip"}
			seedPort(c).Values["port"] = []string{"5060", "5061"}
		}, want: []string{
			"ERROR: network-parameters has unknown parameter [bogus]",
			"ERROR: network-parameters has sctp-sack-timeout [600] which is not valid: allowed 0-500",
			"ERROR: network-parameters has sctp-send-mode [ORDERED] which is not in canonical form [ordered]",
			"ERROR: sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172] has multi-homed-addrs [182.16.10.76 not-an-ip] which is not valid: allowed a list of IP address, as (a b c)",
			"ERROR: sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172] has port [5060 5061] which is not valid: allowed 1025-65535",
		}},
	})
}

func TestRuleNetworkInterfaceAddress(t *testing.T) {
	ruleTest(t, ruleNetworkInterfaceAddress, []ruleCase{
		{name: "seed"},
		{name: "loopback is usable", edit: func(c *model.Config) { addIface(c, "lo", "127.0.0.2", "255.0.0.0", "") }},
		{name: "missing and not unicast", edit: func(c *model.Config) {
			add(c, model.NetworkInterface, "name", "a")
			add(c, model.NetworkInterface, "name", "b", "ip-address", "0.0.0.0")
			add(c, model.NetworkInterface, "name", "c", "ip-address", "ff02::1")
			add(c, model.NetworkInterface, "name", "d", "ip-address", "255.255.255.255")
		}, want: []string{
			"ERROR: network-interface [a:0] has no ip-address",
			"ERROR: network-interface [b:0] has ip-address [0.0.0.0] which is not a unicast address",
			"ERROR: network-interface [c:0] has ip-address [ff02::1] which is not a unicast address",
			"ERROR: network-interface [d:0] has ip-address [255.255.255.255] which is not a unicast address",
		}},
	})
}

func TestRuleNetworkInterfaceNetmask(t *testing.T) {
	ruleTest(t, ruleNetworkInterfaceNetmask, []ruleCase{
		{name: "seed"},
		{name: "IPv6 and host masks", edit: func(c *model.Config) {
			addIface(c, "v6", "2001:db8::1", "ffff:ffff:ffff:ffff::", "")
			addIface(c, "h", "10.1.1.1", "255.255.255.255", "")
			addIface(c, "h6", "2001:db8::2", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "")
		}},
		{name: "bad masks", edit: func(c *model.Config) {
			add(c, model.NetworkInterface, "name", "a", "ip-address", "10.0.0.1")
			add(c, model.NetworkInterface, "name", "b", "ip-address", "10.0.0.1", "netmask", "255.0.255.0")
			add(c, model.NetworkInterface, "name", "c", "ip-address", "10.0.0.1", "netmask", "ffff::")
			add(c, model.NetworkInterface, "name", "d", "ip-address", "2001:db8::1", "netmask", "255.255.255.0")
			add(c, model.NetworkInterface, "name", "e", "ip-address", "10.0.0.1", "netmask", "0.0.0.0")
			add(c, model.NetworkInterface, "name", "f", "ip-address", "2001:db8::1", "netmask", "ffff:0:ffff::")
			add(c, model.NetworkInterface, "name", "g", "netmask", "255.0.0.0") // no ip-address: not this rule's
		}, want: []string{
			"ERROR: network-interface [a:0] has no netmask, so the subnet of ip-address [10.0.0.1] is unknown",
			"ERROR: network-interface [b:0] has netmask [255.0.255.0] which is not a contiguous subnet mask",
			"ERROR: network-interface [c:0] has netmask [ffff::] which is not of the address family (IPv4) of ip-address [10.0.0.1]",
			"ERROR: network-interface [d:0] has netmask [255.255.255.0] which is not of the address family (IPv6) of ip-address [2001:db8::1]",
			"ERROR: network-interface [e:0] has netmask [0.0.0.0] which leaves no network bits",
			"ERROR: network-interface [f:0] has netmask [ffff:0:ffff::] which is not a contiguous subnet mask",
		}},
	})
}

func TestRuleNetworkInterfaceGateway(t *testing.T) {
	ruleTest(t, ruleNetworkInterfaceGateway, []ruleCase{
		{name: "seed"},
		{name: "inside", edit: func(c *model.Config) {
			edit(c, model.NetworkInterface, "m10:0", "gateway", "172.16.10.1", "sec-gateway", "172.16.10.254")
			addIface(c, "v6", "2001:db8:0:1::10", "ffff:ffff:ffff:ffff::", "")
			edit(c, model.NetworkInterface, "v6:0", "gateway", "2001:db8:0:1::1")
		}},
		{name: "no netmask: the netmask rule reports", edit: func(c *model.Config) {
			add(c, model.NetworkInterface, "name", "a", "ip-address", "10.0.0.1", "gateway", "192.168.0.1")
		}},
		{name: "outside", edit: func(c *model.Config) {
			edit(c, model.NetworkInterface, "m10:0", "gateway", "172.16.11.1", "sec-gateway", "172.16.10.76")
			addIface(c, "v6", "2001:db8:0:1::10", "ffff:ffff:ffff:ffff::", "")
			edit(c, model.NetworkInterface, "v6:0", "gateway", "2001:db8:0:2::1")
			edit(c, model.NetworkInterface, "m01:0", "gateway", "fe80::1")
		}, want: []string{
			"ERROR: network-interface [m01:0] has gateway [fe80::1] which is not inside its subnet 182.16.10.0/24 (ip-address [182.16.10.76] netmask [255.255.255.0])",
			"ERROR: network-interface [m10:0] has gateway [172.16.11.1] which is not inside its subnet 172.16.10.0/24 (ip-address [172.16.10.76] netmask [255.255.255.0])",
			"ERROR: network-interface [m10:0] has sec-gateway [172.16.10.76] which is its own ip-address",
			"ERROR: network-interface [v6:0] has gateway [2001:db8:0:2::1] which is not inside its subnet 2001:db8:0:1::/64 (ip-address [2001:db8:0:1::10] netmask [ffff:ffff:ffff:ffff::])",
		}},
	})
}

func TestRuleNetworkInterfaceDuplicateAddress(t *testing.T) {
	ruleTest(t, ruleNetworkInterfaceDuplicateAddress, []ruleCase{
		{name: "seed"},
		{name: "distinct utility addresses", edit: func(c *model.Config) {
			edit(c, model.NetworkInterface, "m10:0", "pri-utility-addr", "172.16.10.77", "sec-utility-addr", "172.16.10.78")
		}},
		{name: "duplicates", edit: func(c *model.Config) {
			add(c, model.NetworkInterface, "name", "m10", "sub-port-id", "5", "ip-address", "172.16.10.76", "netmask", "255.255.255.0")
			edit(c, model.NetworkInterface, "m01:0", "pri-utility-addr", "182.16.10.77", "sec-utility-addr", "182.16.10.77")
			edit(c, model.NetworkInterface, "m11:0", "pri-utility-addr", "182.16.10.76")
		}, want: []string{
			"ERROR: network-interface [m01:0] has sec-utility-addr [182.16.10.77] which is also the pri-utility-addr of this network-interface",
			"ERROR: network-interface [m10:5] has ip-address [172.16.10.76] which is also the ip-address of network-interface [m10:0]",
			"ERROR: network-interface [m11:0] has pri-utility-addr [182.16.10.76] which is also the ip-address of network-interface [m01:0]",
		}},
	})
}

func TestRulePhyInterfaceDuplicatePort(t *testing.T) {
	ruleTest(t, rulePhyInterfaceDuplicatePort, []ruleCase{
		{name: "seed"},
		{name: "control interfaces are not counted", edit: func(c *model.Config) {
			add(c, model.PhyInterface, "name", "wancom0", "operation-type", "Control", "slot", "1", "port", "0")
		}},
		{name: "same slot and port", edit: func(c *model.Config) {
			add(c, model.PhyInterface, "name", "x10", "operation-type", "Media", "slot", "1", "port", "0")
		}, want: []string{"ERROR: phy-interface [x10] has slot [1] port [0] which phy-interface [m10] also uses"}},
	})
}
