package runtime

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/runtime/plan"
)

// TestPlanOpens is the runtime's half of "what verify-config accepts,
// activate-config applies": random versions of UDP and TCP sip-ports on
// this host's loopback addresses and wildcards, applied one after the
// other to one engine, open every listener when the plan accepts them (on
// real sockets, by diff: kept, replaced, closed), and when the plan
// refuses a version the engine refuses it and the previous one serves on.
func TestPlanOpens(t *testing.T) {
	ports := []int{freePort(t), freePort(t)}
	addrs := []string{"127.0.0.1", "127.0.0.2", "0.0.0.0", "::1", "::", "::ffff:127.0.0.3"}
	r := rand.New(rand.NewPCG(16, 1))
	e := NewEngine(testLog(t))
	defer e.Close()
	serving, accepted, refused := "", 0, 0
	for i := range 600 {
		var ps []port
		for range 1 + r.IntN(4) {
			p := port{iface: []string{"core", "edge"}[r.IntN(2)], transport: []string{"UDP", "TCP", "UDP", "TCP", "TLS"}[r.IntN(5)],
				addr: addrs[r.IntN(len(addrs))], port: ports[r.IntN(2)]}
			if r.IntN(8) == 0 {
				p.multi = []string{addrs[r.IntN(len(addrs))]}
			}
			ps = append(ps, p)
		}
		cfg := config(ps, nil, nil)
		pl, err := plan.Build(cfg)
		version := "v" + itoa(i)
		var before []string
		for _, l := range e.Listeners() {
			before = append(before, l.Key)
		}
		rep := e.Apply(cfg, version)
		if err != nil {
			refused++
			if len(rep.Errors) == 0 {
				t.Fatalf("%s %v: the plan refuses it (%v) but the engine applied it", version, ps, err)
			}
			if v, _ := e.Version(); v != serving {
				t.Fatalf("%s was refused, yet %s serves (want %s)", version, v, serving)
			}
			continue
		}
		accepted++
		if len(rep.Errors) > 0 {
			t.Fatalf("%s %v: the plan accepts it but the engine, serving %q, refused it:\n%s", version, ps, before, strings.Join(rep.Errors, "\n"))
		}
		serving = version
		var want, got []string
		for _, l := range pl.Listeners {
			want = append(want, l.Key)
		}
		for _, l := range e.Listeners() {
			got = append(got, l.Key)
		}
		if strings.Join(slices.Sorted(slices.Values(want)), " ") != strings.Join(got, " ") {
			t.Fatalf("%s: listening on %q, want %q", version, got, want)
		}
	}
	t.Logf("600 versions: %d accepted and opened, %d refused", accepted, refused)
	if accepted < 100 || refused < 100 {
		t.Errorf("lopsided: %d accepted, %d refused", accepted, refused)
	}
}
