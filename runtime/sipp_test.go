package runtime

import (
	"testing"

	"github.com/acli-project/acli/runtime/internal/sipptest"
)

// TestSIPp sends SIPp OPTIONS to UDP and TCP listeners: one socket for
// all calls (u1, t1) and one per call (un, tn). Every call must succeed.
func TestSIPp(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	wantReport(t, e.Apply(config([]port{{"core", "UDP", "127.0.0.1", p, nil}, {"core", "TCP", "127.0.0.1", p, nil}}, nil, nil), "v1"),
		[]string{"UDP 127.0.0.1:" + itoa(p), "TCP 127.0.0.1:" + itoa(p)}, nil, nil, 0)
	tests := []struct {
		transport   string
		calls, rate int
	}{
		{"u1", 2000, 500},
		{"t1", 2000, 500},
		{"un", 500, 250},
		{"tn", 500, 250},
	}
	total := map[string]uint64{}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			r := sipptest.Run(t, sipptest.Options{Scenario: sipptest.Scenario(), Transport: tt.transport,
				Local: "127.0.0.2", LocalPort: freePort(t), Target: addr("127.0.0.1", p), Calls: tt.calls, Rate: tt.rate,
				Extra: []string{"-max_socket", "1000"}})
			r.Check(t, tt.calls)
			t.Logf("sipp -t %s: %d calls, %d successful, %d failed, %.0f calls/s, %v",
				tt.transport, tt.calls, r.Successful, r.Failed, r.CallRate, r.Elapsed.Round(1e6))
			total[tt.transport[:1]] += uint64(tt.calls)
		})
	}
	for _, l := range e.Listeners() {
		want := total["u"]
		if l.Transport == "TCP" {
			want = total["t"]
		}
		if c := l.Counters; c.MessagesIn != want || c.MessagesOut != want || c.ParseErrors != 0 || c.SendErrors != 0 {
			t.Errorf("%s counters %+v; want %d in and out, no error", l.Key, c, want)
		}
	}
}
