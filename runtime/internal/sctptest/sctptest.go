// Package sctptest holds what the runtime's SCTP test packages (agentsctp,
// sctpsip) share: their TestMain, which runs them in a User-Mode Linux
// guest when the host kernel has no SCTP (internal/uml), an Engine per
// test, applying a configuration, address lists and listener ports.
package sctptest

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/acli-project/acli/internal/uml"
	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/testcfg"
)

// Main is a test package's TestMain body: the tests, in a UML guest when
// the host has no kernel SCTP.
func Main(m *testing.M) int { return uml.Main(m) }

// NewEngine starts an Engine that logs to t and closes with the test.
func NewEngine(t testing.TB) *runtime.Engine {
	e := runtime.NewEngine(testcfg.Logger(t))
	t.Cleanup(func() { e.Close() })
	return e
}

// Apply applies cfg as version and fails t on any error.
func Apply(t testing.TB, e *runtime.Engine, cfg *model.Config, version string) control.ApplyReport {
	t.Helper()
	rep := e.Apply(cfg, version)
	if len(rep.Errors) > 0 {
		t.Fatalf("apply %s: %q", version, rep.Errors)
	}
	return rep
}

// Addrs parses IP addresses.
func Addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

// Ports hands out listener ports from Base, 10 apart: the guest has its
// own network stack, so fixed ranges collide with nothing.
type Ports struct {
	Base int
	n    atomic.Int32
}

// Next returns the next port.
func (p *Ports) Next() int { return p.Base + int(p.n.Add(1))*10 }
