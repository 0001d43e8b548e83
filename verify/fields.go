package verify

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/acli-project/acli/model"
)

// Required fields, value formats and address plans of single elements.

// schema returns the configuration's schema, model.Default when unset.
func (s *Snapshot) schema() *model.Schema {
	if s.Config == nil || s.Config.Schema == nil {
		return model.Default
	}
	return s.Config.Schema
}

// eachInstance calls fn for every instance of the schema's elements and for
// every sub-instance (with its parent), in tree and key order.
func (s *Snapshot) eachInstance(fn func(parent, in *model.Instance)) {
	for _, e := range s.schema().Elements() {
		for _, in := range s.list(e) {
			fn(nil, in)
			for _, sub := range in.Subs {
				if sub != nil && sub.Elem != nil {
					fn(in, sub)
				}
			}
		}
	}
}

var ruleKeyMissing = Rule{
	Name: "key-missing", Severity: Error,
	Doc: "every key parameter is set (name, identifier, realm-id, hostname, sip-port address)",
	Check: func(s *Snapshot, report func(Finding)) {
		s.eachInstance(func(parent, in *model.Instance) {
			if in.Elem.Singleton {
				return
			}
			for _, k := range in.Elem.Keys {
				if in.Str(k) == "" {
					report(atAny(parent, in, k, "has no "+k))
				}
			}
		})
	},
}

var ruleParamValue = Rule{
	Name: "param-value", Severity: Error,
	Doc: "every explicitly set value is known to the schema, valid and canonical (guards configurations not built by the shell)",
	Check: func(s *Snapshot, report func(Finding)) {
		var names []string
		s.eachInstance(func(parent, in *model.Instance) {
			names = names[:0]
			for n := range in.Values {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				items := in.Values[n]
				v := br(strings.Join(items, " "))
				p := in.Elem.Param(n)
				if p == nil {
					report(atAny(parent, in, n, "has unknown parameter "+br(n)))
					continue
				}
				c, err := p.Parse(items)
				switch {
				case err != nil:
					report(atAny(parent, in, n, "has "+n+" "+v+" which is not valid: allowed "+p.Allowed()))
				case !slices.Equal(c, items):
					report(atAny(parent, in, n, "has "+n+" "+v+" which is not in canonical form "+br(strings.Join(c, " "))))
				}
			}
		})
	},
}

var ruleNetworkInterfaceAddress = Rule{
	Name: "network-interface-address", Severity: Error,
	Doc: "network-interface ip-address is set and is a unicast address",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, ni := range s.list(model.NetworkInterface) {
			v := niIPAddress.Str(ni)
			a, ok := addr(ni, niIPAddress)
			switch {
			case v == "":
				report(at(ni, niIPAddress, "has no ip-address"))
			case !ok:
				// param-value reports it
			case a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
				report(at(ni, niIPAddress, "has ip-address "+br(v)+" which is not a unicast address"))
			}
		}
	},
}

// maskBits returns the prefix length of a contiguous mask.
func maskBits(m netip.Addr) (int, bool) {
	b := m.AsSlice()
	n := 0
	for n < len(b)*8 && b[n/8]&(0x80>>(n%8)) != 0 {
		n++
	}
	for i := n; i < len(b)*8; i++ {
		if b[i/8]&(0x80>>(i%8)) != 0 {
			return 0, false
		}
	}
	return n, true
}

// subnet returns the subnet of a network-interface from ip-address and netmask.
func subnet(ni *model.Instance) (netip.Prefix, bool) {
	a, ok1 := addr(ni, niIPAddress)
	m, ok2 := addr(ni, niNetmask)
	if !ok1 || !ok2 || a.Is4() != m.Is4() {
		return netip.Prefix{}, false
	}
	bits, ok := maskBits(m)
	if !ok || bits == 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits).Masked(), true
}

var ruleNetworkInterfaceNetmask = Rule{
	Name: "network-interface-netmask", Severity: Error,
	Doc: "network-interface netmask is set, a contiguous mask with network bits, of the family of ip-address",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, ni := range s.list(model.NetworkInterface) {
			a, ok := addr(ni, niIPAddress)
			if !ok {
				continue
			}
			v := niNetmask.Str(ni)
			m, ok := addr(ni, niNetmask)
			if v == "" {
				report(at(ni, niNetmask, "has no netmask, so the subnet of ip-address "+br(a.String())+" is unknown"))
				continue
			}
			if !ok {
				continue // param-value reports it
			}
			if a.Is4() != m.Is4() {
				report(at(ni, niNetmask, "has netmask "+br(v)+" which is not of the address family ("+family(a)+") of ip-address "+br(a.String())))
				continue
			}
			bits, ok := maskBits(m)
			switch {
			case !ok:
				report(at(ni, niNetmask, "has netmask "+br(v)+" which is not a contiguous subnet mask"))
			case bits == 0:
				report(at(ni, niNetmask, "has netmask "+br(v)+" which leaves no network bits"))
			}
		}
	},
}

var ruleNetworkInterfaceGateway = Rule{
	Name: "network-interface-gateway", Severity: Error,
	Doc: "network-interface gateway and sec-gateway lie inside the interface's subnet and are not its own address",
	Check: func(s *Snapshot, report func(Finding)) {
		for _, ni := range s.list(model.NetworkInterface) {
			sn, ok := subnet(ni)
			if !ok {
				continue
			}
			own, _ := addr(ni, niIPAddress)
			for _, p := range []model.Ref{niGateway, niSecGateway} {
				g, ok := addr(ni, p)
				switch {
				case !ok:
				case g == own:
					report(at(ni, p, "has "+p.Name()+" "+br(g.String())+" which is its own ip-address"))
				case !sn.Contains(g):
					report(at(ni, p, "has "+p.Name()+" "+br(g.String())+" which is not inside its subnet "+sn.String()+
						" (ip-address "+br(own.String())+" netmask "+br(niNetmask.Str(ni))+")"))
				}
			}
		}
	},
}

var ruleNetworkInterfaceDuplicateAddress = Rule{
	Name: "network-interface-duplicate-address", Severity: Error,
	Doc: "no two network-interfaces share an ip-address or utility address",
	Check: func(s *Snapshot, report func(Finding)) {
		type use struct {
			ni    *model.Instance
			param model.Ref
		}
		first := map[netip.Addr]use{}
		for _, ni := range s.list(model.NetworkInterface) {
			for _, p := range []model.Ref{niIPAddress, niPriUtilityAddr, niSecUtilityAddr} {
				a, ok := addr(ni, p)
				if !ok || a.IsUnspecified() {
					continue
				}
				u, dup := first[a]
				if !dup {
					first[a] = use{ni, p}
					continue
				}
				whose := "of network-interface " + br(u.ni.Key())
				if u.ni == ni {
					whose = "of this network-interface"
				}
				report(at(ni, p, "has "+p.Name()+" "+br(a.String())+" which is also the "+u.param.Name()+" "+whose))
			}
		}
	},
}

var rulePhyInterfaceDuplicatePort = Rule{
	Name: "phy-interface-duplicate-port", Severity: Error,
	Doc: "no two Media phy-interfaces use the same slot and port",
	Check: func(s *Snapshot, report func(Finding)) {
		first := map[[2]string]*model.Instance{}
		for _, ph := range s.list(model.PhyInterface) {
			if phyOperationType.Str(ph) != "Media" {
				continue
			}
			k := [2]string{phySlot.Str(ph), phyPort.Str(ph)}
			if f, dup := first[k]; dup {
				report(at(ph, phyPort, "has slot "+br(k[0])+" port "+br(k[1])+" which phy-interface "+br(f.Key())+" also uses"))
				continue
			}
			first[k] = ph
		}
	},
}
