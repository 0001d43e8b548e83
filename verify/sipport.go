package verify

import (
	"net/netip"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/plan"
)

// sip-ports: their addresses. Their transports and listening conflicts
// are the runtime's rules (plan.go).

var ruleSipInterfaceNoPorts = Rule{
	Name: "sip-interface-no-ports", Severity: Warning,
	Doc: "a sip-interface has at least one sip-port",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, si := range s.list(model.SipInterface) {
			if len(si.SubsOf(model.SipPort)) == 0 {
				report(atAny(nil, si, model.SipPort.OpenCommand(), "has no sip-ports, so it receives no SIP traffic"))
			}
		}
	},
}

func isSCTP(p *model.Instance) bool { return plan.SPTransportProtocol.Str(p) == "SCTP" }

// boundAddrs returns the valid local addresses a sip-port binds: its address
// and, for SCTP, its multi-homed-addrs, without repeats, with the parameter
// each came from.
func boundAddrs(p *model.Instance) (addrs []netip.Addr, params []model.Ref) {
	if a, ok := addr(p, plan.SPAddress); ok {
		addrs, params = append(addrs, a), append(params, plan.SPAddress)
	}
	if !isSCTP(p) {
		return addrs, params
	}
next:
	for _, v := range plan.SPMultiHomedAddrs.Get(p) {
		a, err := netip.ParseAddr(v)
		if err != nil {
			continue
		}
		for _, b := range addrs {
			if a == b {
				continue next
			}
		}
		addrs, params = append(addrs, a), append(params, plan.SPMultiHomedAddrs)
	}
	return addrs, params
}

// describe names an address of a sip-port in a message.
func describe(param model.Ref, a netip.Addr) string {
	if param == plan.SPAddress {
		return "address " + br(a.String())
	}
	return "multi-homed-addrs entry " + br(a.String())
}

var ruleSipPortAddressOwner = Rule{
	Name: "sip-port-address-owner", Severity: Error,
	Doc: "sip-port address (unless a wildcard) and, for SCTP, each multi-homed-addrs entry is the ip-address of a network-interface",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, p := range s.sipPorts() {
			addrs, params := boundAddrs(p.in)
			for i, a := range addrs {
				if !a.IsUnspecified() && s.owner(a) == nil {
					report(atPort(p, params[i], "has "+describe(params[i], a)+" which is not the ip-address of any network-interface"))
				}
			}
		}
	},
}

var ruleSipPortAddressRealm = Rule{
	Name: "sip-port-address-realm", Severity: Error,
	Doc: "the network-interfaces owning a sip-port's addresses are listed in the network-interfaces of the sip-interface's realm",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, p := range s.sipPorts() {
			realm := plan.SIRealmID.Str(p.sipIf)
			if s.get(model.RealmConfig, realm) == nil {
				continue // sip-interface-realm reports it
			}
			addrs, params := boundAddrs(p.in)
			for i, a := range addrs {
				ni := s.owner(a)
				if ni != nil && !s.realmHas(realm, ni.Key()) {
					report(atPort(p, params[i], "has "+describe(params[i], a)+" on network-interface "+br(ni.Key())+
						" which is not in the network-interfaces of realm-config "+br(realm)))
				}
			}
		}
	},
}

// ruleMultiHomedDuplicate is a warning: a repeated address changes nothing
// the operator meant, but the runtime must bind each address once.
var ruleMultiHomedDuplicate = Rule{
	Name: "multi-homed-duplicate", Severity: Warning,
	Doc: "SCTP multi-homed-addrs entries are listed once and differ from the primary address",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, p := range s.sipPorts() {
			if !isSCTP(p.in) {
				continue
			}
			prim := plan.SPAddress.Str(p.in)
			seen := map[string]bool{}
			for _, v := range plan.SPMultiHomedAddrs.Get(p.in) {
				switch {
				case v == prim && v != "":
					report(atPort(p, plan.SPMultiHomedAddrs, "has multi-homed-addrs entry "+br(v)+" which repeats the primary address"))
				case seen[v]:
					report(atPort(p, plan.SPMultiHomedAddrs, "lists multi-homed-addrs entry "+br(v)+" more than once"))
				}
				seen[v] = true
			}
		}
	},
}
