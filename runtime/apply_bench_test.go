package runtime

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkApply1000 applies 1,000 UDP sip-ports to a new engine, then a
// one-parameter change (one sip-port's port): only that listener may be
// touched. It reports both phases; the second is the cost of a typical
// activate-config on a large SBC.
func BenchmarkApply1000(b *testing.B) {
	const n = 1000
	base := make([]port, n)
	for i := range base {
		base[i] = port{iface: "core", transport: "UDP", addr: "127.0.0.1", port: 21000 + i}
	}
	changed := append([]port(nil), base...)
	changed[n/2].port = 21000 + n
	cfgA, cfgB := config(base, nil, nil), config(changed, nil, nil)
	var full, delta time.Duration
	for i := 0; i < b.N; i++ {
		e := NewEngine(slog.New(slog.NewTextHandler(io.Discard, nil)))
		start := time.Now()
		rep := e.Apply(cfgA, "1")
		full += time.Since(start)
		if len(rep.Errors) > 0 || len(rep.Opened) != n {
			b.Fatalf("first apply: opened %d, errors %v", len(rep.Opened), rep.Errors)
		}
		start = time.Now()
		rep = e.Apply(cfgB, "2")
		delta += time.Since(start)
		if len(rep.Errors) > 0 || len(rep.Opened) != 1 || len(rep.Closed) != 1 || rep.Unchanged != n-1 {
			b.Fatalf("one-parameter change: opened %v closed %v unchanged %d errors %v", rep.Opened, rep.Closed, rep.Unchanged, rep.Errors)
		}
		e.Close()
	}
	b.ReportMetric(float64(full.Microseconds())/float64(b.N)/1000, "apply1000-ms/op")
	b.ReportMetric(float64(delta.Microseconds())/float64(b.N)/1000, "change1-ms/op")
}
