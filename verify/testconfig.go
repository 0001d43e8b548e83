package verify

import (
	"github.com/acli-project/acli/model"
)

// SeedExample returns the example configuration of the SBC SCTP guide
// ("Example Configurations"): phy-interfaces m10 and m01, network-interfaces
// m10 (172.16.10.76) and m01 (182.16.10.76), sip-interface core-172 with an
// SCTP sip-port at 172.16.10.76 whose multi-homed-addrs are (182.16.10.76
// 192.16.10.76 196.15.32.108), realm-config core-172 with network-interfaces
// (m01 m10) and session-agent core-172S1 with transport-method staticSCTP and
// reuse-connections none. The guide elides netmasks; they are set to
// 255.255.255.0 here.
//
// As printed (withOwners false) no network-interface owns 192.16.10.76 and
// 196.15.32.108, and the session-agent has neither realm-id nor ip-address:
// Run reports those. withOwners adds phy- and network-interfaces m11
// (192.16.10.76) and m02 (196.15.32.108) to the realm and gives the agent
// ip-address 172.16.10.80 and realm-id core-172: Run finds nothing.
//
// It is a fixture for tests of this and other packages.
func SeedExample(withOwners bool) *model.Config {
	c := model.NewConfig(model.Default)
	phy := func(name, slot, port string) {
		c.Put(inst(model.PhyInterface, "name", name, "operation-type", "Media", "port", port, "slot", slot))
	}
	ni := func(name, ip string) {
		c.Put(inst(model.NetworkInterface, "name", name, "ip-address", ip, "netmask", "255.255.255.0"))
	}
	phy("m10", "1", "0")
	phy("m01", "0", "1")
	ni("m10", "172.16.10.76")
	ni("m01", "182.16.10.76")

	sp := inst(model.SipPort, "address", "172.16.10.76", "transport-protocol", "SCTP")
	set(sp, "multi-homed-addrs", "182.16.10.76", "192.16.10.76", "196.15.32.108")
	si := inst(model.SipInterface, "realm-id", "core-172")
	si.Subs = append(si.Subs, sp)
	c.Put(si)

	realm := inst(model.RealmConfig, "identifier", "core-172")
	set(realm, "network-interfaces", "m01", "m10")
	sa := inst(model.SessionAgent, "hostname", "core-172S1", "transport-method", "staticSCTP", "reuse-connections", "none")

	if withOwners {
		phy("m11", "1", "1")
		phy("m02", "0", "2")
		ni("m11", "192.16.10.76")
		ni("m02", "196.15.32.108")
		set(realm, "network-interfaces", "m01", "m10", "m11", "m02")
		set(sa, "ip-address", "172.16.10.80")
		set(sa, "realm-id", "core-172")
	}
	c.Put(realm)
	c.Put(sa)
	return c
}

// inst returns an instance of e with scalar parameters set from name, value
// pairs.
func inst(e *model.Element, kv ...string) *model.Instance {
	in := model.NewInstance(e)
	for i := 0; i+1 < len(kv); i += 2 {
		set(in, kv[i], kv[i+1])
	}
	return in
}

// set stores the canonical form of items; it panics on a value the schema
// rejects (fixtures are static).
func set(in *model.Instance, name string, items ...string) {
	p := in.Elem.Param(name)
	if p == nil {
		panic("verify: " + in.Elem.Name + " has no parameter " + name)
	}
	c, err := p.Parse(items)
	if err != nil {
		panic("verify: " + err.Error())
	}
	in.Set(name, c)
}
