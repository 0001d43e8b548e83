package agentsctp

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/testcfg"
	"github.com/acli-project/acli/runtime/internal/testwait"
)

// config builds a configuration: sip-interface "core" with an SCTP
// sip-port on 127.0.0.1 and 127.0.0.2 (the SBC's multi-homed set),
// network-parameters np, and session-agents, each a hostname then
// parameter/value pairs.
func config(port int, np map[string]string, agents ...[]string) *model.Config {
	return testcfg.Config([]testcfg.Port{{Iface: "core", Transport: "SCTP", Addr: "127.0.0.1", Port: port, Multi: []string{"127.0.0.2"}}},
		np, nil, agents...)
}

var nextPort atomic.Int32

// port returns a port for a test: the guest has its own network stack.
func port() int { return 21000 + int(nextPort.Add(1))*10 }

func newEngine(t *testing.T) *runtime.Engine {
	e := runtime.NewEngine(testcfg.Logger(t))
	t.Cleanup(func() { e.Close() })
	return e
}

func apply(t *testing.T, e *runtime.Engine, cfg *model.Config, version string) control.ApplyReport {
	t.Helper()
	rep := e.Apply(cfg, version)
	if len(rep.Errors) > 0 {
		t.Fatalf("apply %s: %q", version, rep.Errors)
	}
	return rep
}

// agent returns the live state of one session-agent.
func agent(t testing.TB, e *runtime.Engine, host string) control.Agent {
	t.Helper()
	return testcfg.Agent(t, e, host)
}

// waitState waits up to d for the agent's state and returns how long it
// took.
func waitState(t testing.TB, e *runtime.Engine, host, state string, d time.Duration) time.Duration {
	t.Helper()
	return testcfg.WaitState(t, e, host, state, d)
}

// eventually waits up to d for check to return "".
func eventually(t testing.TB, d time.Duration, what string, check func() string) {
	t.Helper()
	testwait.Eventually(t, d, what, check)
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}
