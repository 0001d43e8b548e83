package sctp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/internal/testcfg"
	"github.com/acli-project/acli/runtime/plan"
)

// TestKnobsReachSocket: every knob of the runtime's table (plan.Knobs)
// goes from network-parameters to the socket. One parameter at a time is
// set to a value other than its default; the options the plan builds from
// network-parameters are applied by Listen, and the listener's options
// read back (the kernel's for a socket option, the ones in force for a
// knob the runtime enforces) carry that value under the knob, as show sctp
// options prints it. A knob added to the table is tested here with no edit.
func TestKnobsReachSocket(t *testing.T) {
	for _, k := range plan.Knobs() {
		t.Run(k.Name(), func(t *testing.T) {
			np := model.NewInstance(model.NetworkParameters)
			v := testcfg.KnobValue(t, k.Param.Param())
			k.Param.Set(np, []string{v})
			o := Options(plan.SCTPOptionsOf(np))
			if got := k.Value(plan.SCTPOptions(o)); got != v {
				t.Fatalf("the plan's options carry %s %s, want %s", k.Name(), got, v)
			}
			l, err := Listen([]netip.Addr{lo1}, 0, o)
			if err != nil {
				t.Fatalf("Listen with %s %s: %v", k.Name(), v, err)
			}
			defer l.Close()
			back, err := l.ReadOptions()
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Value(plan.SCTPOptions(back)); got != v {
				t.Errorf("read back %s %s, want %s", k.Name(), got, v)
			}
			if s := back.String(); !strings.Contains(s, k.Name()+" "+v+" ") {
				t.Errorf("String does not show %s %s: %s", k.Name(), v, s)
			}
		})
	}
}
