package verify

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/plan"
)

// mutator changes a configuration at random where the runtime's rules
// look: values drawn from the schema (every enum value, the edges of
// integer ranges) and from a small pool of addresses and names, so that
// conflicts, families and references meet.
type mutator struct{ r *rand.Rand }

var (
	propAddrs  = []string{"172.16.10.76", "182.16.10.76", "192.16.10.76", "196.15.32.108", "0.0.0.0", "::", "2001:db8::1", "::ffff:172.16.10.76", "10.0.0.1"}
	propRealms = []string{"core-172", "edge", "nowhere", ""}
	propHosts  = []string{"a.example", "10.0.0.9", "2001:db8::9", "core-172S1"}
)

func (m mutator) pick(s []string) string { return s[m.r.IntN(len(s))] }

// value draws a value of the parameter from the schema; rarely one the
// schema refuses, as a configuration not built by the shell might hold.
func (m mutator) value(p *model.Param) string {
	if m.r.IntN(40) == 0 {
		return m.pick([]string{"x", "-7", "1.2.3"})
	}
	switch p.Type {
	case model.Enum:
		return m.pick(p.Values)
	case model.Int:
		switch m.r.IntN(6) {
		case 0:
			return strconv.FormatInt(p.Min, 10)
		case 1:
			return strconv.FormatInt(p.Max, 10)
		case 2:
			return p.Default
		case 3: // small values, in range
			return strconv.FormatInt(min(max(int64(m.r.IntN(3)), p.Min), p.Max), 10)
		}
		hi := min(p.Max, p.Min+120000)
		return strconv.FormatInt(p.Min+m.r.Int64N(hi-p.Min+1), 10)
	case model.IP:
		return m.pick(propAddrs)
	case model.Host:
		return m.pick(propHosts)
	}
	return m.pick(propRealms)
}

// set sets the named parameter of in to a value of the schema (a list of
// zero to two for a list parameter), in canonical form.
func (m mutator) set(in *model.Instance, name string) {
	p := in.Elem.Param(name)
	items := []string{m.value(p)}
	if p.List {
		items = items[:0]
		for range m.r.IntN(3) {
			items = append(items, m.value(p))
		}
	}
	if c, err := p.Parse(items); err == nil {
		items = c
	}
	in.Set(name, items)
}

// params sets a few of the named parameters of in.
func (m mutator) params(in *model.Instance, names ...string) {
	for range 1 + m.r.IntN(2) {
		m.set(in, m.pick(names))
	}
}

var (
	portParams  = []string{"transport-protocol", "transport-protocol", "address", "multi-homed-addrs", "multi-homed-addrs", "port"}
	agentParams = []string{"transport-method", "transport-method", "realm-id", "state", "app-protocol", "ip-address", "port"}
	npParams    = []string{"sctp-rto-initial", "sctp-rto-min", "sctp-rto-max", "sctp-assoc-tracking", "sctp-assoc-reuse", "sctp-max-assocs", "sctp-send-mode"}
)

// mutate applies zero to three changes to c.
func (m mutator) mutate(c *model.Config) {
	for range m.r.IntN(4) {
		switch m.r.IntN(7) {
		case 0, 1: // a new sip-port, on the seed's sip-interface or another
			realm := m.pick([]string{"core-172", "core-172", "edge"})
			si := c.Get(model.SipInterface.Name, realm)
			if si == nil {
				si = model.NewInstance(model.SipInterface)
				si.Set("realm-id", []string{realm})
				c.Put(si)
			}
			sp := model.NewInstance(model.SipPort)
			sp.Set("address", []string{m.pick(append(propAddrs[:5:5], ""))})
			m.params(sp, portParams...)
			si.Subs = append(si.Subs, sp)
		case 2: // the seed's sip-port
			for _, si := range c.List(model.SipInterface.Name) {
				if ps := si.SubsOf(model.SipPort); len(ps) > 0 {
					m.params(ps[0], portParams...)
				}
			}
		case 3:
			for _, si := range c.List(model.SipInterface.Name) {
				m.set(si, "state")
			}
		case 4:
			m.params(c.NetworkParameters(), npParams...)
			c.Put(c.NetworkParameters())
		case 5: // a new session-agent
			sa := model.NewInstance(model.SessionAgent)
			sa.Set("hostname", []string{m.pick(propHosts[:3])})
			m.params(sa, agentParams...)
			c.Put(sa)
		case 6:
			for _, sa := range c.List(model.SessionAgent.Name) {
				m.params(sa, agentParams...)
			}
		}
	}
}

// TestPlanIsVerify is the property that makes verify-config and the runtime
// agree: on random configurations, every reason the runtime's plan gives
// is an ERROR of verify-config at the same element, key and parameter (the
// plan's own rules with the same words; a missing key or a value the
// schema refuses by key-missing or param-value), and every finding of the
// plan's rules is one of the plan's. So no configuration passes
// verify-config and fails the plan, and none is refused by verify for a
// rule of the runtime that the runtime would serve.
func TestPlanIsVerify(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 4475))
	m := mutator{r}
	planRules := map[string]bool{}
	for _, pr := range plan.Rules() {
		planRules[pr.Name] = true
	}
	hits := map[string]int{}
	clean, refused := 0, 0
	const n = 4000
	for i := range n {
		c := SeedExample(true)
		m.mutate(c)
		_, err := plan.Build(c)
		problems := plan.Problems(err)
		fs := Run(c)
		where := func(f Finding) string { return strings.Join([]string{f.Element, f.Parent, f.Key, f.Param}, "|") }
		var errs []Finding
		for _, f := range fs {
			if f.Severity == Error {
				errs = append(errs, f)
			}
		}
		report := func(format string, args ...any) {
			var b strings.Builder
			Report(&b, fs)
			t.Fatalf("configuration %d: %s\nverify-config:\n%s", i, fmt.Sprintf(format, args...), b.String())
		}
		for _, p := range problems {
			hits[p.Rule]++
			f := Finding{Element: p.Element, Parent: p.Parent, Key: p.Key, Param: p.Param}
			ok := slices.ContainsFunc(errs, func(e Finding) bool {
				if where(e) != where(f) {
					return false
				}
				if planRules[p.Rule] {
					return e.Rule == p.Rule && e.Message == p.Message
				}
				return e.Rule == p.Rule // key-missing, param-value
			})
			if !ok {
				report("the runtime's problem %q (rule %s) is not an error of verify-config", p, p.Rule)
			}
		}
		for _, f := range fs {
			if !planRules[f.Rule] {
				continue
			}
			if f.Severity != Error || !slices.ContainsFunc(problems, func(p *plan.Problem) bool {
				return p.Rule == f.Rule && p.Message == f.Message && where(f) == strings.Join([]string{p.Element, p.Parent, p.Key, p.Param}, "|")
			}) {
				report("verify-config's %q of the runtime's rule %s is not a problem of the plan", Line(f), f.Rule)
			}
		}
		if len(errs) == 0 {
			clean++
		}
		if len(problems) > 0 {
			refused++
		}
	}
	t.Logf("%d configurations: %d pass verify-config, %d refused by the plan; problems by rule: %v", n, clean, refused, hits)
	if clean < n/10 || refused < n/10 {
		t.Errorf("the generator is lopsided: %d clean and %d refused of %d", clean, refused, n)
	}
	for _, name := range append(slices.Sorted(maps.Keys(planRules)), plan.RuleKeyMissing, plan.RuleParamValue) {
		if hits[name] == 0 {
			t.Errorf("no random configuration broke the runtime's rule %s", name)
		}
	}
}
