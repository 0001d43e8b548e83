package verify

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
)

// tested records the rules exercised by ruleTest; TestMain checks that every
// rule of Rules has its table.
var tested = map[string]int{}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		for _, r := range Rules {
			if tested[r.Name] < 2 {
				fmt.Fprintf(os.Stderr, "rule %s has %d test cases; want a failing and a passing one at least\n", r.Name, tested[r.Name])
				code = 1
			}
		}
	}
	os.Exit(code)
}

// ruleCase is one case of a rule's table: edit changes a copy of the clean
// seed example (nil: unchanged) and want lists the report lines the rule
// alone must produce (none: it passes).
type ruleCase struct {
	name string
	edit func(c *model.Config)
	want []string
}

func ruleTest(t *testing.T, r Rule, cases []ruleCase) {
	t.Helper()
	fails, passes := 0, 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := SeedExample(true)
			if tc.edit != nil {
				tc.edit(c)
			}
			var got []string
			for _, f := range RunRules(c, []Rule{r}) {
				if f.Rule != r.Name || f.Severity != r.Severity {
					t.Errorf("finding %+v: want rule %s severity %v", f, r.Name, r.Severity)
				}
				got = append(got, Line(f))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s:\n got %s\nwant %s", r.Name, strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
			}
		})
		if len(tc.want) > 0 {
			fails++
		} else {
			passes++
		}
	}
	if fails == 0 || passes == 0 {
		t.Errorf("rule %s: %d failing and %d passing cases; want one of each at least", r.Name, fails, passes)
	}
	tested[r.Name] += len(cases)
}

// planRule returns the rule of Rules named name (a rule of runtime/plan).
func planRule(name string) Rule {
	for _, r := range Rules {
		if r.Name == name {
			return r
		}
	}
	panic("no rule " + name)
}

// mustSet sets a parameter of in, failing loudly on a value the schema rejects.
func mustSet(in *model.Instance, kv ...string) *model.Instance {
	for i := 0; i+1 < len(kv); i += 2 {
		if p := in.Elem.Param(kv[i]); p != nil && p.List {
			set(in, kv[i], strings.Fields(kv[i+1])...)
		} else {
			set(in, kv[i], kv[i+1])
		}
	}
	return in
}

// edit sets parameters of an existing instance; key parameters must not change.
func edit(c *model.Config, e *model.Element, key string, kv ...string) {
	in := c.Get(e.Name, key)
	if in == nil {
		panic("no " + e.Name + " " + key)
	}
	mustSet(in, kv...)
}

// rekey changes parameters of an instance, key parameters included.
func rekey(c *model.Config, e *model.Element, key string, kv ...string) {
	in := c.Get(e.Name, key)
	if in == nil {
		panic("no " + e.Name + " " + key)
	}
	c.Delete(e.Name, key)
	c.Put(mustSet(in, kv...))
}

// add puts a new instance built from parameter pairs (list values space separated).
func add(c *model.Config, e *model.Element, kv ...string) *model.Instance {
	in := mustSet(model.NewInstance(e), kv...)
	c.Put(in)
	return in
}

// params sets network-parameters values.
func params(c *model.Config, kv ...string) {
	in := c.Get(model.NetworkParameters.Name, "")
	if in == nil {
		in = model.NewInstance(model.NetworkParameters)
		c.Put(in)
	}
	mustSet(in, kv...)
}

// seedPort returns the seed's SCTP sip-port of sip-interface core-172.
func seedPort(c *model.Config) *model.Instance {
	return c.Get(model.SipInterface.Name, "core-172").SubsOf(model.SipPort)[0]
}

// addPort adds a sip-port to a sip-interface, creating the sip-interface
// (with its realm-config) when missing.
func addPort(c *model.Config, realm string, kv ...string) *model.Instance {
	si := c.Get(model.SipInterface.Name, realm)
	if si == nil {
		si = add(c, model.SipInterface, "realm-id", realm)
		if c.Get(model.RealmConfig.Name, realm) == nil {
			add(c, model.RealmConfig, "identifier", realm)
		}
	}
	p := mustSet(model.NewInstance(model.SipPort), kv...)
	si.Subs = append(si.Subs, p)
	return p
}

// addIface adds a phy-interface and a network-interface named name with
// ip/netmask, listed in the realm when realm is not empty.
func addIface(c *model.Config, name, ip, mask, realm string) {
	add(c, model.PhyInterface, "name", name)
	add(c, model.NetworkInterface, "name", name, "ip-address", ip, "netmask", mask)
	if realm != "" {
		r := c.Get(model.RealmConfig.Name, realm)
		set(r, "network-interfaces", append(slices.Clone(r.Get("network-interfaces")), name)...)
	}
}

const (
	seedSIPort = "sip-port [172.16.10.76:5060:SCTP] of sip-interface [core-172]"
	seedAgent  = "session-agent [core-172S1]"
	np         = "network-parameters"
)
