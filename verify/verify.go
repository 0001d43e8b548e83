// Package verify checks a whole acli configuration, as verify-config,
// save-config and activate-config do, and reports every problem at once.
//
// The checks are small named [Rule] values over an in-memory snapshot of a
// [model.Config]; they do no I/O and never modify the configuration (a
// default is read through the schema, never written into an instance). Each
// rule has one severity: an Error blocks save-config, a Warning is advice.
// The rules cover references between elements, required keys and values,
// network-interface address plans, sip-port addresses, transports and
// listening conflicts, session-agent transports and the SCTP timers and
// counters of network-parameters; each Rule's Doc says what it checks.
// What the runtime can serve is decided by package runtime/plan, whose
// rules are rules here (plan.go): verify-config accepting a configuration
// means activate-config can apply it.
//
// [Run] applies every rule of [Rules] and returns the findings in a
// deterministic order: by element type in schema tree order (sub-elements
// right after their parent element), then parent key, then key (keys in the
// configuration's key order, m1:2 before m1:10), then rule name, then the
// order in which the rule met them.
//
// [Report] prints findings the way the ACLI does; [WriteJSON] prints them for
// scripts and CI; [Counts] gives the totals an exit status is derived from.
// [SeedExample] is the SBC guide's example configuration, for tests.
package verify

import (
	"cmp"
	"slices"

	"github.com/acli-project/acli/model"
)

// Severity tells whether a finding blocks save-config (Error) or is advice
// (Warning).
type Severity int

// Severities.
const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "unknown"
}

// MarshalText encodes the severity as "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "error" or "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	default:
		return &model.ValueError{Param: "severity", Value: string(b), Allowed: "error, warning"}
	}
	return nil
}

// Finding is one problem found in the configuration.
type Finding struct {
	Severity Severity `json:"severity"`
	// Element is the element type, e.g. "sip-port".
	Element string `json:"element"`
	// Parent is the key of the parent instance of a sub-element (the
	// sip-interface of a sip-port); empty for top-level elements.
	Parent string `json:"parent,omitempty"`
	// Key is the instance key, e.g. "m10:0"; empty for network-parameters.
	Key string `json:"key"`
	// Param is the parameter at fault, when there is one.
	Param string `json:"param,omitempty"`
	// Rule is the name of the rule that found it.
	Rule string `json:"rule"`
	// Message follows "<element> [<key>]" in the report line.
	Message string `json:"message"`
}

// Rule is one named check. Check calls report once per problem; [Run] fills
// in the finding's Rule and Severity.
type Rule struct {
	Name     string
	Severity Severity
	// Doc says in one line what the rule checks.
	Doc   string
	Check func(s *Snapshot, report func(Finding))
}

// Rules is every rule Run applies, sorted by name.
var Rules = sortedRules(append(planRules(),
	// references
	ruleNetworkInterfacePhy,
	ruleRealmNetworkInterface,
	ruleSipInterfaceRealm,
	ruleSessionAgentRealm,
	ruleRealmParent,
	ruleRealmParentCycle,
	ruleRealmAddrFamily,
	ruleRealmParentFamily,
	// required fields and formats
	ruleKeyMissing,
	ruleParamValue,
	ruleNetworkInterfaceAddress,
	ruleNetworkInterfaceNetmask,
	ruleNetworkInterfaceGateway,
	ruleNetworkInterfaceDuplicateAddress,
	rulePhyInterfaceDuplicatePort,
	// sip-ports
	ruleSipInterfaceNoPorts,
	ruleSipPortAddressOwner,
	ruleSipPortAddressRealm,
	ruleMultiHomedDuplicate,
	// session-agents
	ruleSessionAgentStaticSCTPReuse,
	ruleSessionAgentSCTPAddress,
	ruleSessionAgentAddressMismatch,
	// SCTP timers and counters
	ruleSCTPSackVsRTOMin,
	ruleSCTPSackVsRTOMax,
	ruleSCTPRTOMinLow,
	ruleSCTPFailureDetection,
	ruleSCTPHeartbeat,
	ruleSCTPMaxAssocsAgents,
	ruleSCTPMaxAssocsUntracked,
)...)

func sortedRules(rs ...Rule) []Rule {
	slices.SortFunc(rs, func(a, b Rule) int { return cmp.Compare(a.Name, b.Name) })
	return rs
}

// Run applies every rule of Rules to c and returns the findings sorted. A
// nil c is an empty configuration.
func Run(c *model.Config) []Finding { return RunRules(c, Rules) }

// RunRules applies the given rules to c and returns the findings in the
// order Run documents: element type in schema tree order, then parent, then
// key (both in the configuration's key order, as show lists them), then rule
// name; findings of one rule on one instance keep the order it found them.
func RunRules(c *model.Config, rules []Rule) []Finding {
	return run(&Snapshot{Config: c}, rules)
}

func run(s *Snapshot, rules []Rule) []Finding {
	var out []Finding
	for _, r := range rules {
		r.Check(s, func(f Finding) {
			f.Rule, f.Severity = r.Name, r.Severity
			out = append(out, f)
		})
	}
	order := elementOrder(s.schema())
	type ranked struct {
		elem, parent, key int
		f                 Finding
	}
	rs := make([]ranked, len(out))
	for i, f := range out {
		elem, ok := order[f.Element]
		if !ok {
			elem = len(order)
		}
		parent, key := s.rank(f)
		rs[i] = ranked{elem, parent, key, f}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		return cmp.Or(
			cmp.Compare(a.elem, b.elem),
			cmp.Compare(a.f.Element, b.f.Element),
			cmp.Compare(a.parent, b.parent),
			cmp.Compare(a.f.Parent, b.f.Parent),
			cmp.Compare(a.key, b.key),
			cmp.Compare(a.f.Key, b.f.Key),
			cmp.Compare(a.f.Rule, b.f.Rule),
		)
	})
	for i := range rs {
		out[i] = rs[i].f
	}
	return out
}

func elementOrder(schema *model.Schema) map[string]int {
	if schema == nil {
		schema = model.Default
	}
	order := map[string]int{}
	var walk func(e *model.Element)
	walk = func(e *model.Element) {
		if _, ok := order[e.Name]; !ok {
			order[e.Name] = len(order)
		}
		for _, s := range e.Subs {
			walk(s)
		}
	}
	for _, e := range schema.Elements() {
		walk(e)
	}
	return order
}

// Counts returns the number of errors and of warnings.
func Counts(fs []Finding) (errs, warns int) {
	for _, f := range fs {
		if f.Severity == Warning {
			warns++
		} else {
			errs++
		}
	}
	return errs, warns
}
