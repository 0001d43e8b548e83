package verify

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/acli-project/acli/model"
)

// sip-ports: their addresses, transports and listening conflicts.

var ruleSipInterfaceNoPorts = Rule{
	Name: "sip-interface-no-ports", Severity: Warning,
	Doc: "a sip-interface has at least one sip-port",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, si := range s.list(model.SipInterface) {
			if len(si.SubsOf(model.SipPort)) == 0 {
				report(at(si, "sip-ports", "has no sip-ports, so it receives no SIP traffic"))
			}
		}
	},
}

func isSCTP(p *model.Instance) bool { return p.Str("transport-protocol") == "SCTP" }

// boundAddrs returns the valid local addresses a sip-port binds: its address
// and, for SCTP, its multi-homed-addrs, without repeats, with the parameter
// each came from.
func boundAddrs(p *model.Instance) (addrs []netip.Addr, params []string) {
	if a, ok := addr(p, "address"); ok {
		addrs, params = append(addrs, a), append(params, "address")
	}
	if !isSCTP(p) {
		return addrs, params
	}
next:
	for _, v := range p.Get("multi-homed-addrs") {
		a, err := netip.ParseAddr(v)
		if err != nil {
			continue
		}
		for _, b := range addrs {
			if a == b {
				continue next
			}
		}
		addrs, params = append(addrs, a), append(params, "multi-homed-addrs")
	}
	return addrs, params
}

// describe names an address of a sip-port in a message.
func describe(param string, a netip.Addr) string {
	if param == "address" {
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
			realm := p.sipIf.Str("realm-id")
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

// portSpace is the port number space of a transport: TLS runs over TCP.
func portSpace(transport string) string {
	if transport == "TLS" {
		return "TCP"
	}
	return transport
}

var ruleSipPortConflict = Rule{
	Name: "sip-port-conflict", Severity: Error,
	Doc: "no two sip-ports listen on the same transport, address and port (TCP and TLS share TCP ports; a wildcard covers every address of its family)",
	Check: func(s *Snapshot, report func(Finding)) {
		type slot struct {
			space, port string
			a           netip.Addr // the address, or the unspecified address of the family
		}
		type holder struct {
			p port
			a netip.Addr
		}
		exact := map[slot]holder{}       // first listener on a specific address
		wild := map[slot]holder{}        // first wildcard listener of a family
		anySpecific := map[slot]holder{} // first specific listener of a family
		for _, p := range s.sipPorts() {
			space, pn := portSpace(p.in.Str("transport-protocol")), p.in.Str("port")
			addrs, _ := boundAddrs(p.in)
			var reported []port // one finding per pair of sip-ports
			for _, a := range addrs {
				fam := netip.IPv6Unspecified()
				if a.Is4() {
					fam = netip.IPv4Unspecified()
				}
				fk := slot{space, pn, fam}
				var other holder
				found := false
				if a.IsUnspecified() {
					if h, ok := wild[fk]; ok && h.p != p {
						other, found = h, true
					} else if h, ok := anySpecific[fk]; ok && h.p != p {
						other, found = h, true
					}
					if _, ok := wild[fk]; !ok {
						wild[fk] = holder{p, a}
					}
				} else {
					ek := slot{space, pn, a}
					if h, ok := exact[ek]; ok && h.p != p {
						other, found = h, true
					} else if h, ok := wild[fk]; ok && h.p != p {
						other, found = h, true
					}
					if _, ok := exact[ek]; !ok {
						exact[ek] = holder{p, a}
					}
					if _, ok := anySpecific[fk]; !ok {
						anySpecific[fk] = holder{p, a}
					}
				}
				if !found || slices.Contains(reported, other.p) {
					continue
				}
				reported = append(reported, other.p)
				where := br(a.String())
				if a != other.a {
					where = br(a.String()) + " and " + br(other.a.String())
				}
				report(atPort(p, "port", "conflicts with sip-port "+br(other.p.in.Key())+" of sip-interface "+br(other.p.sipIf.Key())+
					": both listen on "+space+" port "+br(pn)+" at "+where))
			}
		}
	},
}

var ruleSipPortTLSProfile = Rule{
	Name: "sip-port-tls-profile", Severity: Error,
	Doc: "a TLS sip-port names an existing tls-profile (there is no tls-profile element yet, so TLS is refused)",
	Check: func(s *Snapshot, report func(Finding)) {
		tp := s.schema().Element("tls-profile")
		for _, p := range s.sipPorts() {
			if p.in.Str("transport-protocol") != "TLS" {
				continue
			}
			name := p.in.Str("tls-profile")
			switch {
			case tp == nil:
				report(atPort(p, "transport-protocol", "has transport-protocol [TLS] which is not supported until a tls-profile element exists"))
			case name == "":
				report(atPort(p, "tls-profile", "has transport-protocol [TLS] but no tls-profile"))
			case s.Config.Get(tp.Name, name) == nil:
				report(atPort(p, "tls-profile", "references tls-profile "+br(name)+" which does not exist"))
			}
		}
	},
}

var ruleMultiHomedTransport = Rule{
	Name: "multi-homed-transport", Severity: Warning,
	Doc: "multi-homed-addrs is set only on SCTP sip-ports",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, p := range s.sipPorts() {
			if mh := p.in.Get("multi-homed-addrs"); len(mh) > 0 && !isSCTP(p.in) {
				report(atPort(p, "multi-homed-addrs", "has multi-homed-addrs "+br(strings.Join(mh, " "))+
					" but transport-protocol "+br(p.in.Str("transport-protocol"))+"; they are used only with SCTP"))
			}
		}
	},
}

var ruleMultiHomedFamily = Rule{
	Name: "multi-homed-family", Severity: Error,
	Doc: "SCTP multi-homed-addrs entries are of the address family of the sip-port address",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, p := range s.sipPorts() {
			prim, ok := addr(p.in, "address")
			if !ok || !isSCTP(p.in) {
				continue
			}
			for _, v := range p.in.Get("multi-homed-addrs") {
				if a, err := netip.ParseAddr(v); err == nil && !sameFamily(a, prim) {
					report(atPort(p, "multi-homed-addrs", "has multi-homed-addrs entry "+br(v)+
						" which is not of the address family ("+family(prim)+") of address "+br(prim.String())))
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
			prim := p.in.Str("address")
			seen := map[string]bool{}
			for _, v := range p.in.Get("multi-homed-addrs") {
				switch {
				case v == prim && v != "":
					report(atPort(p, "multi-homed-addrs", "has multi-homed-addrs entry "+br(v)+" which repeats the primary address"))
				case seen[v]:
					report(atPort(p, "multi-homed-addrs", "lists multi-homed-addrs entry "+br(v)+" more than once"))
				}
				seen[v] = true
			}
		}
	},
}

var ruleMultiHomedWildcard = Rule{
	Name: "multi-homed-wildcard", Severity: Error,
	Doc: "an SCTP sip-port with multi-homed-addrs has a specific address, and no entry is a wildcard",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, p := range s.sipPorts() {
			mh := p.in.Get("multi-homed-addrs")
			if !isSCTP(p.in) || len(mh) == 0 {
				continue
			}
			if a, ok := addr(p.in, "address"); ok && a.IsUnspecified() {
				report(atPort(p, "multi-homed-addrs", "has multi-homed-addrs but address "+br(a.String())+
					" is a wildcard that already binds every local address"))
			}
			for _, v := range mh {
				if a, err := netip.ParseAddr(v); err == nil && a.IsUnspecified() {
					report(atPort(p, "multi-homed-addrs", "has multi-homed-addrs entry "+br(v)+" which is a wildcard, not a local address"))
				}
			}
		}
	},
}
