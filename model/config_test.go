package model_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
)

// newInst builds an instance of e from name/value pairs, parsing each value.
func newInst(t testing.TB, e *model.Element, kv ...string) *model.Instance {
	t.Helper()
	in := model.NewInstance(e)
	for i := 0; i+1 < len(kv); i += 2 {
		p := param(t, e, kv[i])
		items := []string{kv[i+1]}
		if p.List {
			items = splitList(kv[i+1])
		}
		v, err := p.Parse(items)
		if err != nil {
			t.Fatal(err)
		}
		in.Set(p.Name, v)
	}
	return in
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func TestInstanceGetSet(t *testing.T) {
	sa := model.SessionAgent
	tests := []struct {
		name   string
		set    [][2]string // parameter, single value ("" clears)
		param  string
		want   []string
		isSet  bool
		str    string
		intVal int64
	}{
		{"default int", nil, "port", []string{"5060"}, false, "5060", 5060},
		{"default enum", nil, "transport-method", []string{"UDP"}, false, "UDP", 0},
		{"no default", nil, "realm-id", nil, false, "", 0},
		{"set int", [][2]string{{"port", "5070"}}, "port", []string{"5070"}, true, "5070", 5070},
		{"set enum", [][2]string{{"transport-method", "staticSCTP"}}, "transport-method", []string{"staticSCTP"}, true, "staticSCTP", 0},
		{"set string", [][2]string{{"realm-id", "core"}}, "realm-id", []string{"core"}, true, "core", 0},
		{"clear string", [][2]string{{"realm-id", "core"}, {"realm-id", ""}}, "realm-id", nil, false, "", 0},
		{"clear enum without default", [][2]string{{"ping-method", "OPTIONS"}, {"ping-method", ""}}, "ping-method", nil, false, "", 0},
		{"set to default stays explicit", [][2]string{{"port", "5060"}}, "port", []string{"5060"}, true, "5060", 5060},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := model.NewInstance(sa)
			for _, s := range tt.set {
				in.Set(s[0], []string{s[1]})
			}
			if got := in.Get(tt.param); !slices.Equal(got, tt.want) {
				t.Errorf("Get = %q, want %q", got, tt.want)
			}
			if got := in.IsSet(tt.param); got != tt.isSet {
				t.Errorf("IsSet = %v, want %v", got, tt.isSet)
			}
			if got := in.Str(tt.param); got != tt.str {
				t.Errorf("Str = %q, want %q", got, tt.str)
			}
			if got := in.Int(tt.param); got != tt.intVal {
				t.Errorf("Int = %d, want %d", got, tt.intVal)
			}
		})
	}
}

func TestInstanceListSetAndAddr(t *testing.T) {
	in := newInst(t, model.SipPort, "address", "2001:db8::1", "multi-homed-addrs", "10.0.0.2 10.0.0.3")
	if got := in.Get("multi-homed-addrs"); !slices.Equal(got, []string{"10.0.0.2", "10.0.0.3"}) {
		t.Errorf("list = %q", got)
	}
	if got, want := in.Addr("address"), netip.MustParseAddr("2001:db8::1"); got != want {
		t.Errorf("Addr = %v, want %v", got, want)
	}
	if got := in.Addr("tls-profile"); got.IsValid() {
		t.Errorf("Addr of an unset parameter = %v, want the zero Addr", got)
	}
	in.Set("multi-homed-addrs", []string{})
	if in.IsSet("multi-homed-addrs") || in.Get("multi-homed-addrs") != nil {
		t.Errorf("an empty list did not clear the parameter: %q", in.Values)
	}
	// A defaulted prefix cleared explicitly stays set to empty.
	rc := model.NewInstance(model.RealmConfig)
	rc.Set("addr-prefix", []string{""})
	if !rc.IsSet("addr-prefix") || rc.Str("addr-prefix") != "" {
		t.Errorf("addr-prefix cleared: %q", rc.Values)
	}
}

func TestInstanceKey(t *testing.T) {
	tests := []struct {
		name string
		in   *model.Instance
		want string
		kv   []string
	}{
		{"network-interface defaults sub-port", newInst(t, model.NetworkInterface, "name", "m10"), "m10:0", []string{"m10", "0"}},
		{"network-interface sub-port", newInst(t, model.NetworkInterface, "name", "m10", "sub-port-id", "12"), "m10:12", []string{"m10", "12"}},
		{"sip-port defaults", newInst(t, model.SipPort, "address", "192.168.10.1"), "192.168.10.1:5060:UDP", []string{"192.168.10.1", "5060", "UDP"}},
		{"sip-port sctp", newInst(t, model.SipPort, "address", "192.168.10.1", "transport-protocol", "sctp"), "192.168.10.1:5060:SCTP", []string{"192.168.10.1", "5060", "SCTP"}},
		{"session-agent", newInst(t, model.SessionAgent, "hostname", "core-172S1"), "core-172S1", []string{"core-172S1"}},
		{"unset key", model.NewInstance(model.RealmConfig), "", []string{""}},
		{"singleton", newInst(t, model.NetworkParameters, "sctp-rto-min", "800"), "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Key(); got != tt.want {
				t.Errorf("Key() = %q, want %q", got, tt.want)
			}
			if got := tt.in.KeyValues(); !slices.Equal(got, tt.kv) {
				t.Errorf("KeyValues() = %q, want %q", got, tt.kv)
			}
		})
	}
}

func TestInstanceClone(t *testing.T) {
	si := newInst(t, model.SipInterface, "realm-id", "core", "options", "a=1 b=2")
	sp := newInst(t, model.SipPort, "address", "10.0.0.1", "multi-homed-addrs", "10.0.0.2")
	si.Subs = []*model.Instance{sp}
	si.ModifiedBy, si.ModifiedAt, si.Rev = "admin@console", time.Unix(1700000000, 0).UTC(), 7

	c := si.Clone()
	if c == si || c.Subs[0] == sp {
		t.Fatal("Clone returned shared instances")
	}
	if c.Elem != si.Elem || c.ModifiedBy != si.ModifiedBy || !c.ModifiedAt.Equal(si.ModifiedAt) || c.Rev != si.Rev {
		t.Errorf("Clone lost fields: %+v", c)
	}
	// Mutating the clone, its lists and its subs leaves the original alone.
	c.Set("realm-id", []string{"access"})
	c.Values["options"][0] = "changed"
	c.Subs[0].Values["multi-homed-addrs"][0] = "10.9.9.9"
	c.Subs[0].Set("port", []string{"5070"})
	c.Subs = append(c.Subs, model.NewInstance(model.SipPort))
	if si.Str("realm-id") != "core" || si.Get("options")[0] != "a=1" || len(si.Subs) != 1 ||
		sp.Get("multi-homed-addrs")[0] != "10.0.0.2" || sp.IsSet("port") {
		t.Errorf("mutating the clone changed the original: %+v / %+v", si.Values, sp.Values)
	}
	// No subs: nil stays nil.
	if c := model.NewInstance(model.SessionAgent).Clone(); c.Subs != nil || c.Values == nil {
		t.Errorf("Clone of an empty instance: Subs %v, Values %v", c.Subs, c.Values)
	}
	// SubsOf filters by element.
	if got := si.SubsOf(model.SipPort); len(got) != 1 || got[0] != sp {
		t.Errorf("SubsOf = %v", got)
	}
}

func TestConfigList(t *testing.T) {
	c := model.NewConfig(model.Default)
	for _, h := range []string{"sa10", "core-172S1", "sa2", "10.0.0.1", "Access", "1a", "::1", "9.0.0.1"} {
		c.Put(newInst(t, model.SessionAgent, "hostname", h))
	}
	c.Put(newInst(t, model.NetworkInterface, "name", "m10", "sub-port-id", "1"))
	c.Put(newInst(t, model.NetworkInterface, "name", "m1"))
	c.Put(newInst(t, model.NetworkInterface, "name", "m1", "sub-port-id", "10"))
	c.Put(newInst(t, model.NetworkInterface, "name", "m1", "sub-port-id", "2"))
	for _, n := range []string{"m1", "m00", "m0"} {
		c.Put(newInst(t, model.PhyInterface, "name", n))
	}
	c.Put(newInst(t, model.NetworkParameters, "sctp-rto-min", "800"))
	c.Put(newInst(t, model.NetworkParameters, "sctp-rto-min", "900")) // replaces

	tests := []struct {
		elem string
		want []string
	}{
		{"session-agent", []string{"9.0.0.1", "10.0.0.1", "::1", "1a", "Access", "core-172S1", "sa10", "sa2"}},
		{"network-interface", []string{"m1:0", "m1:2", "m1:10", "m10:1"}},
		{"phy-interface", []string{"m0", "m00", "m1"}},
		{"network-parameters", []string{""}},
		{"realm-config", []string{}},
		{"no-such-element", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.elem, func(t *testing.T) {
			got := []string{}
			for _, in := range c.List(tt.elem) {
				got = append(got, in.Key())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("List keys = %q, want %q", got, tt.want)
			}
			if c.Len(tt.elem) != len(tt.want) {
				t.Errorf("Len = %d, want %d", c.Len(tt.elem), len(tt.want))
			}
		})
	}
	if got := c.NetworkParameters().Str("sctp-rto-min"); got != "900" {
		t.Errorf("network-parameters sctp-rto-min = %q, want the replacing 900", got)
	}
	if c.Count() != 16 {
		t.Errorf("Count = %d, want 16", c.Count())
	}
	c.Delete("session-agent", "sa2")
	c.Delete("no-such-element", "x")
	if c.Get("session-agent", "sa2") != nil || c.Len("session-agent") != 7 {
		t.Error("Delete did not remove sa2")
	}
	// CompareKeys on sip-ports: address, then port by value, then transport.
	ports := []*model.Instance{
		newInst(t, model.SipPort, "address", "10.0.0.1", "port", "5061"),
		newInst(t, model.SipPort, "address", "9.0.0.1", "transport-protocol", "TCP"),
		newInst(t, model.SipPort, "address", "10.0.0.1", "port", "10000"),
		newInst(t, model.SipPort, "address", "9.0.0.1"),
		newInst(t, model.SipPort, "address", "2001:db8::1"),
	}
	model.SortInstances(ports)
	var keys []string
	for _, p := range ports {
		keys = append(keys, p.Key())
	}
	if want := []string{"9.0.0.1:5060:TCP", "9.0.0.1:5060:UDP", "10.0.0.1:5061:UDP", "10.0.0.1:10000:UDP", "2001:db8::1:5060:UDP"}; !slices.Equal(keys, want) {
		t.Errorf("sorted sip-ports %q, want %q", keys, want)
	}
	// Clone is deep.
	cl := c.Clone()
	cl.Get("session-agent", "sa10").Set("port", []string{"5070"})
	cl.Delete("session-agent", "sa10")
	if in := c.Get("session-agent", "sa10"); in == nil || in.IsSet("port") {
		t.Errorf("changing the clone changed the original: %v", in)
	}
	// An empty configuration has default network-parameters.
	if got := model.NewConfig(model.Default).NetworkParameters().Int("sctp-sack-timeout"); got != 200 {
		t.Errorf("default sctp-sack-timeout = %d", got)
	}
}
