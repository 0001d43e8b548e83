package verify

import (
	"github.com/acli-project/acli/runtime/plan"
)

// The runtime's rules: what acli serve can serve is decided by package
// runtime/plan, which activate-config applies too; each of its rules is a
// rule here, of severity Error, so that a configuration verify-config
// accepts is one the runtime can apply. Its problems of the schema's own
// rules (a missing key, a value the schema refuses) are left to key-missing
// and param-value, which check every element.

// planRules returns a Rule for each rule of plan.Rules.
func planRules() []Rule {
	var rs []Rule
	for _, r := range plan.Rules() {
		rs = append(rs, Rule{Name: r.Name, Severity: Error, Doc: r.Doc + " (the runtime's rule)",
			Check: func(s *Snapshot, report func(Finding)) {
				for _, p := range s.plan() {
					if p.Rule == r.Name {
						report(Finding{Element: p.Element, Parent: p.Parent, Key: p.Key, Param: p.Param, Message: p.Message})
					}
				}
			}})
	}
	return rs
}

// plan returns the problems of the runtime's plan of the configuration
// (cached).
func (s *Snapshot) plan() []*plan.Problem {
	if !s.planned {
		s.planned = true
		if s.Config != nil {
			_, err := plan.Build(s.Config)
			s.problems = plan.Problems(err)
		}
	}
	return s.problems
}
