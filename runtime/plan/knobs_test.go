package plan

import (
	"slices"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/internal/testcfg"
)

// Every sctp-* parameter of network-parameters is a knob (it reaches the
// socket options and show sctp options) or a named policy of the runtime:
// none is stored, verified and never applied.
func TestKnobsCoverSchema(t *testing.T) {
	if u := Unplaced(model.NetworkParameters); len(u) > 0 {
		t.Errorf("sctp-* parameters neither in the knob table nor in Policies: %v", u)
	}
	for _, k := range Knobs() {
		if slices.Contains(Policies(), k.Name()) {
			t.Errorf("%s is both a knob and a policy", k.Name())
		}
	}
}

// A schema with one more SCTP parameter and no knob row for it fails the
// coverage check, naming the parameter.
func TestUnplacedNewParameter(t *testing.T) {
	e := *model.NetworkParameters
	e.Params = append(slices.Clone(e.Params),
		&model.Param{Name: "sctp-new-knob", Type: model.Int, Default: "7", Min: 0, Max: 100, Help: "a knob added by this test"})
	if got, want := Unplaced(&e), []string{"sctp-new-knob"}; !slices.Equal(got, want) {
		t.Errorf("Unplaced = %v, want %v", got, want)
	}
}

// Each knob carries its own parameter to its own field: setting one
// parameter to another value changes that knob's value in the options
// built from network-parameters, and no other knob's.
func TestKnobsSetOwnField(t *testing.T) {
	base := SCTPOptionsOf(model.NewInstance(model.NetworkParameters))
	for _, k := range Knobs() {
		t.Run(k.Name(), func(t *testing.T) {
			np := model.NewInstance(model.NetworkParameters)
			v := testcfg.KnobValue(t, k.Param.Param())
			k.Param.Set(np, []string{v})
			o := SCTPOptionsOf(np)
			if got := k.Value(o); got != v {
				t.Errorf("value %q after setting %s %s", got, k.Name(), v)
			}
			for _, k2 := range Knobs() {
				if k2.Name() != k.Name() && k2.Value(o) != k2.Value(base) {
					t.Errorf("setting %s changed %s: %s -> %s", k.Name(), k2.Name(), k2.Value(base), k2.Value(o))
				}
			}
		})
	}
}
