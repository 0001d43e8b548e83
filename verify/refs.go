package verify

import (
	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/plan"
)

// References between elements: every name must name something that exists.

var ruleNetworkInterfacePhy = Rule{
	Name: "network-interface-phy", Severity: Error,
	Doc: "network-interface name names an existing phy-interface",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, ni := range s.list(model.NetworkInterface) {
			name := niName.Str(ni)
			if name != "" && s.get(model.PhyInterface, name) == nil {
				report(at(ni, niName, "references phy-interface "+br(name)+" which does not exist"))
			}
		}
	},
}

var ruleRealmNetworkInterface = Rule{
	Name: "realm-network-interface", Severity: Error,
	Doc: "realm-config network-interfaces entries name existing network-interfaces",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, r := range s.list(model.RealmConfig) {
			for _, ref := range rcNetworkInterfaces.Get(r) {
				if s.get(model.NetworkInterface, ref) == nil {
					report(at(r, rcNetworkInterfaces, "references network-interface "+br(ref)+" which does not exist"))
				}
			}
		}
	},
}

var ruleSipInterfaceRealm = Rule{
	Name: "sip-interface-realm", Severity: Error,
	Doc: "sip-interface realm-id names an existing realm-config",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, si := range s.list(model.SipInterface) {
			id := plan.SIRealmID.Str(si)
			if id != "" && s.get(model.RealmConfig, id) == nil {
				report(at(si, plan.SIRealmID, "references realm-id "+br(id)+" which does not exist"))
			}
		}
	},
}

var ruleSessionAgentRealm = Rule{
	Name: "session-agent-realm", Severity: Error,
	Doc: "session-agent realm-id, when set, names an existing realm-config",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, sa := range s.list(model.SessionAgent) {
			id := plan.SARealmID.Str(sa)
			if id != "" && s.get(model.RealmConfig, id) == nil {
				report(at(sa, plan.SARealmID, "references realm-id "+br(id)+" which does not exist"))
			}
		}
	},
}

var ruleRealmParent = Rule{
	Name: "realm-parent", Severity: Error,
	Doc: "realm-config parent-realm, when set, names an existing realm-config",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, r := range s.list(model.RealmConfig) {
			p := rcParentRealm.Str(r)
			if p != "" && s.get(model.RealmConfig, p) == nil {
				report(at(r, rcParentRealm, "references parent-realm "+br(p)+" which does not exist"))
			}
		}
	},
}
