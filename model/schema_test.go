package model_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
)

// allElements returns every element of the schema, sub-elements included.
func allElements(s *model.Schema) []*model.Element {
	var out []*model.Element
	var walk func(e *model.Element)
	walk = func(e *model.Element) {
		out = append(out, e)
		for _, sub := range e.Subs {
			walk(sub)
		}
	}
	for _, e := range s.Elements() {
		walk(e)
	}
	return out
}

func TestSchemaInvariants(t *testing.T) {
	s := model.Default
	elems := allElements(s)
	if len(elems) != 7 {
		t.Errorf("schema has %d elements, want 7", len(elems))
	}
	seenElem := map[string]bool{}
	seenCmd := map[string]bool{}
	for _, c := range s.Containers {
		if c.Name == "" || c.Help == "" {
			t.Errorf("container %q has no name or help", c.Name)
		}
		if seenCmd[c.Name] {
			t.Errorf("container name %q is not unique", c.Name)
		}
		seenCmd[c.Name] = true
		if s.Container(c.Name) != c {
			t.Errorf("Container(%q) does not return it", c.Name)
		}
	}
	for _, e := range elems {
		t.Run(e.Name, func(t *testing.T) {
			if seenElem[e.Name] {
				t.Errorf("element name %q is not unique", e.Name)
			}
			seenElem[e.Name] = true
			if e.Parent == nil {
				if s.Element(e.Name) != e {
					t.Errorf("Element(%q) does not return it", e.Name)
				}
				if seenCmd[e.OpenCommand()] {
					t.Errorf("command %q is not unique among top-level names", e.OpenCommand())
				}
				seenCmd[e.OpenCommand()] = true
			} else if e.Parent.Sub(e.Name) != e {
				t.Errorf("parent %s does not list %s", e.Parent.Name, e.Name)
			}
			if e.Help == "" {
				t.Error("element has no help")
			}
			if e.Singleton != (len(e.Keys) == 0) {
				t.Errorf("Singleton = %v with keys %q", e.Singleton, e.Keys)
			}
			seen := map[string]bool{}
			for _, p := range e.Params {
				if p.Name == "" || strings.ContainsAny(p.Name, " \t():\"") {
					t.Errorf("bad parameter name %q", p.Name)
				}
				if seen[p.Name] {
					t.Errorf("parameter %s is declared twice", p.Name)
				}
				seen[p.Name] = true
				if e.Param(p.Name) != p {
					t.Errorf("Param(%q) does not return it", p.Name)
				}
				for _, sub := range e.Subs {
					if sub.OpenCommand() == p.Name {
						t.Errorf("parameter %s shadows the sub-element command", p.Name)
					}
				}
				if p.Help == "" {
					t.Errorf("parameter %s has no help", p.Name)
				}
				if p.Default != "" {
					got, err := p.Parse([]string{p.Default})
					if err != nil {
						t.Errorf("default of %s does not parse: %v", p.Name, err)
					} else if !slices.Equal(got, []string{p.Default}) {
						t.Errorf("default of %s is %q, not in canonical form %q", p.Name, p.Default, got)
					}
				}
				switch p.Type {
				case model.Int:
					if p.Min > p.Max {
						t.Errorf("%s: Min %d > Max %d", p.Name, p.Min, p.Max)
					}
					if p.Default == "" {
						t.Errorf("integer %s has no default", p.Name)
					}
					for i, r := range p.Ranges {
						if r[0] > r[1] || r[0] < p.Min || r[1] > p.Max || i > 0 && r[0] <= p.Ranges[i-1][1] {
							t.Errorf("%s: bad Ranges %v within %d-%d", p.Name, p.Ranges, p.Min, p.Max)
						}
					}
				case model.Enum:
					if p.Ranges != nil {
						t.Errorf("enum %s has Ranges", p.Name)
					}
					if len(p.Values) == 0 {
						t.Errorf("enum %s has no values", p.Name)
					}
					lower := map[string]bool{}
					for _, v := range p.Values {
						if lower[strings.ToLower(v)] {
							t.Errorf("enum %s: %q is not unique ignoring case", p.Name, v)
						}
						lower[strings.ToLower(v)] = true
						if got, _ := p.MatchEnum(v); got != v {
							t.Errorf("enum %s: %q resolves to %q", p.Name, v, got)
						}
					}
				default:
					if p.Values != nil || p.Min != 0 || p.Max != 0 || p.Ranges != nil {
						t.Errorf("%s (%v) has enum values or a range", p.Name, p.Type)
					}
				}
				if p.NewAssocOnly && !strings.Contains(p.Help, "new associations only") {
					t.Errorf("%s affects new associations only but its help does not say so", p.Name)
				}
			}
			for _, k := range e.Keys {
				p := e.Param(k)
				if p == nil {
					t.Errorf("key %s is not a parameter", k)
					continue
				}
				if p.List {
					t.Errorf("key %s is a list", k)
				}
			}
			for _, n := range e.Summary {
				if e.Param(n) == nil {
					t.Errorf("summary %s is not a parameter", n)
				}
			}
			if got := e.Names(); !slices.IsSorted(got) || len(got) != len(e.Params) {
				t.Errorf("Names() = %q", got)
			}
		})
	}
}

func TestSchemaTree(t *testing.T) {
	tests := []struct {
		container string
		elements  []string
	}{
		{"system", []string{"phy-interface", "network-interface", "network-parameters"}},
		{"media-manager", []string{"realm-config"}},
		{"session-router", []string{"sip-interface", "session-agent"}},
	}
	for _, tt := range tests {
		c := model.Default.Container(tt.container)
		if c == nil {
			t.Errorf("no container %s", tt.container)
			continue
		}
		var got []string
		for _, e := range c.Elements {
			got = append(got, e.Name)
		}
		if !slices.Equal(got, tt.elements) {
			t.Errorf("%s elements = %q, want %q", tt.container, got, tt.elements)
		}
	}
	if model.Default.Container("nope") != nil || model.Default.Element("sip-port") != nil {
		t.Error("lookup of an unknown or sub-element name succeeded")
	}
	sp := model.SipInterface.Sub("sip-port")
	if sp != model.SipPort || sp.Parent != model.SipInterface || sp.OpenCommand() != "sip-ports" || sp.PromptName() != "sip-port" {
		t.Errorf("sip-port sub-element wrongly wired: %+v", sp)
	}
	if model.SessionAgent.OpenCommand() != "session-agent" || model.SessionAgent.PromptName() != "session-agent" {
		t.Error("OpenCommand/PromptName of session-agent")
	}
}

// TestSchemaParams checks the list of elements, keys and parameters.
func TestSchemaParams(t *testing.T) {
	tests := []struct {
		elem   *model.Element
		keys   []string
		params []string
	}{
		{model.PhyInterface, []string{"name"}, []string{"name", "operation-type", "port", "slot", "virtual-mac", "admin-state", "auto-negotiation", "duplex-mode", "speed"}},
		{model.NetworkInterface, []string{"name", "sub-port-id"}, []string{"name", "sub-port-id", "description", "hostname", "ip-address", "netmask", "gateway", "pri-utility-addr", "sec-utility-addr", "dns-ip-primary", "hip-ip-list", "icmp-address"}},
		{model.RealmConfig, []string{"identifier"}, []string{"identifier", "description", "addr-prefix", "network-interfaces", "mm-in-realm", "parent-realm", "max-bandwidth"}},
		{model.SipInterface, []string{"realm-id"}, []string{"state", "realm-id", "description"}},
		{model.SipPort, []string{"address", "port", "transport-protocol"}, []string{"address", "port", "transport-protocol", "multi-homed-addrs", "allow-anonymous", "tls-profile"}},
		{model.SessionAgent, []string{"hostname"}, []string{"hostname", "ip-address", "port", "state", "app-protocol", "transport-method", "reuse-connections", "realm-id", "description", "ping-method", "ping-interval"}},
		{model.NetworkParameters, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.elem.Name, func(t *testing.T) {
			if !slices.Equal(tt.elem.Keys, tt.keys) {
				t.Errorf("keys = %q, want %q", tt.elem.Keys, tt.keys)
			}
			for _, n := range tt.params {
				if tt.elem.Param(n) == nil {
					t.Errorf("missing parameter %s", n)
				}
			}
		})
	}
	if !model.NetworkParameters.Singleton {
		t.Error("network-parameters is not a singleton")
	}
}

func TestSchemaDefaults(t *testing.T) {
	tests := []struct {
		elem   *model.Element
		param  string
		def    string
		values []string // Enum only
	}{
		{model.SipPort, "port", "5060", nil},
		{model.SipPort, "transport-protocol", "UDP", []string{"UDP", "TCP", "TLS", "SCTP"}},
		{model.SessionAgent, "port", "5060", nil},
		{model.SessionAgent, "app-protocol", "SIP", nil},
		{model.SessionAgent, "transport-method", "UDP", []string{"UDP", "UDP+TCP", "DynamicTCP", "StaticTCP", "DynamicTLS", "StaticTLS", "DynamicSCTP", "staticSCTP"}},
		{model.SessionAgent, "reuse-connections", "none", []string{"none", "tcp", "sctp"}},
		{model.PhyInterface, "operation-type", "Control", []string{"Media", "Control", "Maintenance"}},
		{model.NetworkParameters, "sctp-send-mode", "unordered", []string{"ordered", "unordered"}},
		{model.RealmConfig, "addr-prefix", "0.0.0.0", nil},
		{model.RealmConfig, "mm-in-realm", "disabled", nil},
	}
	for _, tt := range tests {
		t.Run(tt.elem.Name+"/"+tt.param, func(t *testing.T) {
			p := param(t, tt.elem, tt.param)
			if p.Default != tt.def {
				t.Errorf("default %q, want %q", p.Default, tt.def)
			}
			if tt.values != nil && !slices.Equal(p.Values, tt.values) {
				t.Errorf("values %q, want %q", p.Values, tt.values)
			}
		})
	}
}

// TestNetworkParametersSCTP checks every SCTP knob of both seeds.
func TestNetworkParametersSCTP(t *testing.T) {
	const any = "" // default checked only to parse
	const u32 = 4294967295
	tests := []struct {
		name     string
		def      string
		min, max int64
		newOnly  bool
	}{
		{"sctp-rto-initial", "3000", 0, u32, true},
		{"sctp-rto-min", "1000", 0, u32, true},
		{"sctp-rto-max", "60000", 0, u32, true},
		{"sctp-hb-interval", "30000", 0, u32, true},
		{"sctp-sack-timeout", "200", 0, 500, true},
		{"sctp-max-burst", "4", 0, u32, true},
		{"sctp-assoc-max-retrans", "10", 0, u32, true},
		{"sctp-path-max-retrans", "5", 0, u32, true},
		{"sctp-socket-rcvbuf", any, 0, 0, false},
		{"sctp-socket-sndbuf", any, 0, 0, false},
		{"sctp-autoclose", "180", 0, 0, true},
		{"sctp-send-ttl", "32000", 0, 0, false},
		{"sctp-send-retries", "0", 0, 0, false},
		{"sctp-max-assocs", "-1", -1, 0, false},
		{"sctp-init-max-attempts", any, 0, 0, false},
		{"sctp-init-max-timeo", any, 0, 0, false},
		{"sctp-sack-freq", any, 0, 0, true},
		{"sctp-backlog-assoc", "4194304", 65536, 2147483647, false},
		{"sctp-backlog-total", "67108864", 65536, 2147483647, false},
	}
	np := model.NetworkParameters
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := param(t, np, tt.name)
			if p.Type != model.Int || p.List {
				t.Fatalf("type %v list %v, want a scalar integer", p.Type, p.List)
			}
			if tt.def != any && p.Default != tt.def {
				t.Errorf("default %q, want %q", p.Default, tt.def)
			}
			if p.Min != tt.min {
				t.Errorf("min %d, want %d", p.Min, tt.min)
			}
			if tt.max != 0 && p.Max != tt.max {
				t.Errorf("max %d, want %d", p.Max, tt.max)
			}
			if p.NewAssocOnly != tt.newOnly {
				t.Errorf("NewAssocOnly = %v, want %v", p.NewAssocOnly, tt.newOnly)
			}
			if p.NewAssocOnly != strings.Contains(p.Help, "new associations only") {
				t.Errorf("help %q disagrees with NewAssocOnly", p.Help)
			}
		})
	}
	enums := []struct {
		name, def string
		values    []string
	}{
		{"sctp-send-mode", "unordered", []string{"ordered", "unordered"}},
		{"sctp-assoc-tracking", "enabled", []string{"enabled", "disabled"}},
		{"sctp-assoc-reuse", "enabled", []string{"enabled", "disabled"}},
	}
	for _, tt := range enums {
		t.Run(tt.name, func(t *testing.T) {
			p := param(t, np, tt.name)
			if p.Type != model.Enum || p.Default != tt.def || !slices.Equal(p.Values, tt.values) {
				t.Errorf("%v default %q values %q; want enum %q of %q", p.Type, p.Default, p.Values, tt.def, tt.values)
			}
		})
	}
	// Every sctp-* parameter of the element is covered above.
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.name] = true
	}
	for _, tt := range enums {
		covered[tt.name] = true
	}
	for _, p := range np.Params {
		if strings.HasPrefix(p.Name, "sctp-") && !covered[p.Name] {
			t.Errorf("sctp parameter %s is not checked by this test", p.Name)
		}
	}
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		t    model.Type
		want string
	}{
		{model.String, "string"}, {model.Int, "integer"}, {model.Enum, "enumeration"},
		{model.IP, "IP address"}, {model.Prefix, "IP address[/bits]"},
		{model.IfaceRef, "interface name[:sub-port]"}, {model.Host, "hostname or IP address"},
		{model.Type(42), "Type(42)"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("Type(%d).String() = %q, want %q", int(tt.t), got, tt.want)
		}
	}
}
