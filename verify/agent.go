package verify

import (
	"net/netip"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/plan"
)

// session-agents: what their transport-method needs from the rest of the
// configuration.

func isStaticSCTP(sa *model.Instance) bool { return plan.SATransportMethod.Str(sa) == "staticSCTP" }

// agentAddr returns the address a session-agent is reached at: ip-address,
// else the hostname when it is an IP address.
func agentAddr(sa *model.Instance) (netip.Addr, bool) {
	if a, ok := addr(sa, plan.SAIPAddress); ok {
		return a, true
	}
	return addr(sa, plan.SAHostname)
}

var ruleSessionAgentStaticSCTPReuse = Rule{
	Name: "session-agent-static-sctp-reuse", Severity: Error,
	Doc: "a session-agent with transport-method staticSCTP has reuse-connections none",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, sa := range s.list(model.SessionAgent) {
			if r := saReuseConnections.Str(sa); isStaticSCTP(sa) && r != "none" {
				report(at(sa, saReuseConnections, "has transport-method [staticSCTP] which requires reuse-connections [none], not "+br(r)))
			}
		}
	},
}

var ruleSessionAgentSCTPAddress = Rule{
	Name: "session-agent-sctp-address", Severity: Warning,
	Doc: "a staticSCTP session-agent has an ip-address or an IP hostname; an FQDN alone must resolve",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, sa := range s.list(model.SessionAgent) {
			h := plan.SAHostname.Str(sa)
			if !isStaticSCTP(sa) || h == "" {
				continue
			}
			if _, ok := agentAddr(sa); !ok {
				report(at(sa, plan.SAIPAddress, "has transport-method [staticSCTP], no ip-address and hostname "+br(h)+
					" which is not an IP address: the name must resolve when the association is opened"))
			}
		}
	},
}

var ruleSessionAgentAddressMismatch = Rule{
	Name: "session-agent-address-mismatch", Severity: Warning,
	Doc: "a session-agent whose hostname is an IP address has no different ip-address",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, sa := range s.list(model.SessionAgent) {
			h, ok1 := addr(sa, plan.SAHostname)
			a, ok2 := addr(sa, plan.SAIPAddress)
			if ok1 && ok2 && h != a {
				report(at(sa, plan.SAIPAddress, "has ip-address "+br(a.String())+" which differs from its hostname "+br(h.String())+", itself an IP address"))
			}
		}
	},
}
