package runtime

import (
	"slices"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/internal/testcfg"
	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp"
)

// Show sctp options and the change messages list every knob of the table
// (plan.Knobs), under its parameter's name, with the schema's "new
// associations only": a knob added to the table needs no edit here.
func TestSCTPOptionRowsFollowKnobs(t *testing.T) {
	rows := sctpOptionRows()
	for _, k := range plan.Knobs() {
		t.Run(k.Name(), func(t *testing.T) {
			i := slices.IndexFunc(rows, func(r sctpOption) bool { return r.name == k.Name() })
			if i < 0 {
				t.Fatalf("no row for %s", k.Name())
			}
			r := rows[i]
			if r.newOnly != k.NewOnly() || r.perAssoc != k.PerAssoc || r.perSend != k.PerSend || r.runtime != k.Runtime {
				t.Errorf("row %+v does not follow knob %+v", r, k)
			}
			np := model.NewInstance(model.NetworkParameters)
			old := sctp.Options(plan.SCTPOptionsOf(np))
			v := testcfg.KnobValue(t, k.Param.Param())
			k.Param.Set(np, []string{v})
			now := sctp.Options(plan.SCTPOptionsOf(np))
			if got := r.get(now); got != v {
				t.Errorf("row shows %s, want %s", got, v)
			}
			// A listener's change message.
			note := ""
			if k.NewOnly() {
				note = " (new associations only)"
			}
			want := k.Name() + " " + r.get(old) + " -> " + v + note
			if ch := sctpOptionChanges(old, now); !slices.Contains(ch, want) {
				t.Errorf("listener changes %q, want %q", ch, want)
			}
			// A session-agent's: kernel knobs only.
			a, b := &AgentSpec{Transport: "SCTP", SCTP: plan.SCTPOptions(old)}, &AgentSpec{Transport: "SCTP", SCTP: plan.SCTPOptions(now)}
			ch, _ := agentChanges(a, b)
			want = k.Name() + " " + r.get(old) + " -> " + v
			switch {
			case k.Runtime:
				if len(ch) != 0 {
					t.Errorf("agent changes %q for a runtime knob", ch)
				}
			case k.PerSend:
				if !slices.Contains(ch, want+" (at once)") {
					t.Errorf("agent changes %q, want %q (at once)", ch, want)
				}
			default:
				if !slices.Contains(ch, want+" (next association)") {
					t.Errorf("agent changes %q, want %q (next association)", ch, want)
				}
			}
		})
	}
}
