package verify

import (
	"net/netip"
	"strconv"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/plan"
)

// Snapshot is the configuration under verification plus indexes the rules
// share, each built once, on first use, in linear time. The zero value over
// a Config is ready to use: &Snapshot{Config: c}. Indexes are read-only
// views; nothing is written into the configuration.
type Snapshot struct {
	Config *model.Config

	lists  map[string][]*model.Instance
	owners map[netip.Addr]*model.Instance // ip-address -> first network-interface
	realms map[string]map[string]bool     // realm identifier -> network-interface keys
	ports  []port
	ported bool
	ranks  map[string]map[string]int // element -> key -> position in list

	planned  bool
	problems []*plan.Problem // the runtime's (see plan.go)
}

// port is a sip-port with the sip-interface it belongs to.
type port struct {
	sipIf, in *model.Instance
}

// list returns the instances of e sorted by key (cached).
func (s *Snapshot) list(e *model.Element) []*model.Instance {
	if s.Config == nil {
		return nil
	}
	if l, ok := s.lists[e.Name]; ok {
		return l
	}
	if s.lists == nil {
		s.lists = map[string][]*model.Instance{}
	}
	l := s.Config.List(e.Name)
	s.lists[e.Name] = l
	return l
}

// get returns the instance of e with the key, or nil.
func (s *Snapshot) get(e *model.Element, key string) *model.Instance {
	if s.Config == nil {
		return nil
	}
	return s.Config.Get(e.Name, key)
}

// params returns network-parameters, or an instance of defaults.
func (s *Snapshot) params() *model.Instance {
	if s.Config == nil {
		return model.NewInstance(model.NetworkParameters)
	}
	return s.Config.NetworkParameters()
}

// owner returns the first network-interface (in key order) whose ip-address
// is a, or nil.
func (s *Snapshot) owner(a netip.Addr) *model.Instance {
	if s.owners == nil {
		s.owners = map[netip.Addr]*model.Instance{}
		for _, ni := range s.list(model.NetworkInterface) {
			if ip, ok := addr(ni, niIPAddress); ok {
				if _, dup := s.owners[ip]; !dup {
					s.owners[ip] = ni
				}
			}
		}
	}
	return s.owners[a]
}

// realmHas reports whether realm-config realm lists the network-interface
// with the key ("name:sub-port").
func (s *Snapshot) realmHas(realm, niKey string) bool {
	if s.realms == nil {
		s.realms = map[string]map[string]bool{}
		for _, r := range s.list(model.RealmConfig) {
			set := map[string]bool{}
			for _, ref := range rcNetworkInterfaces.Get(r) {
				set[ref] = true
			}
			s.realms[r.Key()] = set
		}
	}
	return s.realms[realm][niKey]
}

// sipPorts returns every sip-port, by sip-interface key then port order.
func (s *Snapshot) sipPorts() []port {
	if !s.ported {
		s.ported = true
		for _, si := range s.list(model.SipInterface) {
			for _, p := range si.SubsOf(model.SipPort) {
				s.ports = append(s.ports, port{si, p})
			}
		}
	}
	return s.ports
}

// addr parses an IP parameter; ok is false when unset or invalid.
func addr(in *model.Instance, r model.Ref) (netip.Addr, bool) {
	a, err := netip.ParseAddr(r.Str(in))
	return a, err == nil && a.Zone() == ""
}

// integer parses an integer parameter (explicit or default); ok is false
// when unset or not a number.
func integer(in *model.Instance, r model.Ref) (int64, bool) {
	n, err := strconv.ParseInt(r.Str(in), 10, 64)
	return n, err == nil
}

// at returns a finding about parameter r of a top-level instance.
func at(in *model.Instance, r model.Ref, msg string) Finding { return atAny(nil, in, r.Name(), msg) }

// atPort returns a finding about parameter r of a sip-port.
func atPort(p port, r model.Ref, msg string) Finding { return atAny(p.sipIf, p.in, r.Name(), msg) }

// atAny returns a finding about param of a top-level instance (parent nil)
// or of a sub-instance.
func atAny(parent, in *model.Instance, param, msg string) Finding {
	f := Finding{Element: in.Elem.Name, Key: in.Key(), Param: param, Message: msg}
	if parent != nil {
		f.Parent = parent.Key()
	}
	return f
}

// family names the address family of a.
func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// sameFamily treats IPv4-mapped IPv6 addresses as IPv6, as the socket
// layer does.
func sameFamily(a, b netip.Addr) bool { return a.Is4() == b.Is4() }

func br(s string) string { return "[" + s + "]" }

// rank returns the positions of a finding's parent and instance in key
// order; a key not in the configuration ranks after every other.
func (s *Snapshot) rank(f Finding) (parent, key int) {
	const none = 1 << 62
	pos := func(elem, key string) int {
		e := s.schema().Element(elem)
		if e == nil {
			return none
		}
		if s.ranks == nil {
			s.ranks = map[string]map[string]int{}
		}
		m, ok := s.ranks[elem]
		if !ok {
			m = map[string]int{}
			for i, in := range s.list(e) {
				m[in.Key()] = i
			}
			s.ranks[elem] = m
		}
		if i, ok := m[key]; ok {
			return i
		}
		return none
	}
	if f.Parent == "" {
		return 0, pos(f.Element, f.Key)
	}
	pe := parentElement(s.schema(), f.Element)
	if pe == nil {
		return none, none
	}
	parent = pos(pe.Name, f.Parent)
	key = none
	if in := s.get(pe, f.Parent); in != nil {
		for i, sub := range in.Subs {
			if sub != nil && sub.Elem != nil && sub.Elem.Name == f.Element && sub.Key() == f.Key {
				key = i
				break
			}
		}
	}
	return parent, key
}

// parentElement returns the top-level element of schema that has the
// sub-element named sub, or nil.
func parentElement(schema *model.Schema, sub string) *model.Element {
	for _, e := range schema.Elements() {
		if e.Sub(sub) != nil {
			return e
		}
	}
	return nil
}
