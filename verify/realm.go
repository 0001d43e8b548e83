package verify

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/acli-project/acli/model"
)

// Realm structure: the parent-realm tree and address families.

var ruleRealmParentCycle = Rule{
	Name: "realm-parent-cycle", Severity: Error,
	Doc: "realm-config parent-realm links do not form a cycle",
	Check: func(s *Snapshot, report func(Finding)) {
		realms := s.list(model.RealmConfig)
		// parent links form a functional graph: walk each chain once.
		const (
			unseen = iota
			onPath
			done
		)
		state := make(map[string]int, len(realms))
		type cycle struct {
			n     int      // realms on the cycle
			chain []string // the cycle from the member back to it, when short
		}
		cycles := map[string]cycle{}
		for _, r := range realms {
			var path []string
			id := r.Key()
			for id != "" && state[id] == unseen {
				in := s.get(model.RealmConfig, id)
				if in == nil {
					break
				}
				state[id] = onPath
				path = append(path, id)
				id = rcParentRealm.Str(in)
			}
			if id != "" && state[id] == onPath {
				i := len(path) - 1
				for path[i] != id {
					i--
				}
				cyc := path[i:]
				for j, m := range cyc {
					c := cycle{n: len(cyc)}
					if len(cyc) <= 6 {
						c.chain = append(append(append(c.chain, cyc[j:]...), cyc[:j]...), m)
					}
					cycles[m] = c
				}
			}
			for _, p := range path {
				state[p] = done
			}
		}
		for _, r := range realms {
			c, ok := cycles[r.Key()]
			if !ok {
				continue
			}
			p := br(rcParentRealm.Str(r))
			switch {
			case c.n == 1:
				report(at(r, rcParentRealm, "has parent-realm "+p+" which is the realm itself"))
			case c.chain == nil:
				report(at(r, rcParentRealm, "has parent-realm "+p+" which leads back to this realm through a cycle of "+strconv.Itoa(c.n)+" realms"))
			default:
				report(at(r, rcParentRealm, "has parent-realm "+p+" which forms a cycle: "+strings.Join(c.chain, " -> ")))
			}
		}
	},
}

// prefixAddr parses addr-prefix ("a.b.c.d[/bits]").
func prefixAddr(in *model.Instance) (netip.Addr, bool) {
	v := rcAddrPrefix.Str(in)
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Addr(), err == nil
	}
	a, err := netip.ParseAddr(v)
	return a, err == nil && a.Zone() == ""
}

var ruleRealmAddrFamily = Rule{
	Name: "realm-addr-family", Severity: Error,
	Doc: "realm-config addr-prefix and its network-interfaces' ip-addresses are of one address family",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, r := range s.list(model.RealmConfig) {
			pa, ok := prefixAddr(r)
			if !ok {
				continue
			}
			for _, ref := range rcNetworkInterfaces.Get(r) {
				ni := s.get(model.NetworkInterface, ref)
				if ni == nil {
					continue
				}
				if a, ok := addr(ni, niIPAddress); ok && !sameFamily(a, pa) {
					report(at(r, rcAddrPrefix, "addr-prefix "+br(rcAddrPrefix.Str(r))+" and network-interface "+br(ref)+
						" (ip-address "+br(a.String())+") belong to different address families"))
				}
			}
		}
	},
}

var ruleRealmParentFamily = Rule{
	Name: "realm-parent-family", Severity: Error,
	Doc: "a realm-config and its parent-realm have addr-prefixes of one address family",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, r := range s.list(model.RealmConfig) {
			pid := rcParentRealm.Str(r)
			if pid == "" {
				continue
			}
			p := s.get(model.RealmConfig, pid)
			if p == nil {
				continue
			}
			a, ok1 := prefixAddr(r)
			b, ok2 := prefixAddr(p)
			if ok1 && ok2 && !sameFamily(a, b) {
				report(at(r, rcAddrPrefix, "addr-prefix "+br(rcAddrPrefix.Str(r))+" and parent-realm "+br(pid)+
					" addr-prefix "+br(rcAddrPrefix.Str(p))+" belong to different address families"))
			}
		}
	},
}
