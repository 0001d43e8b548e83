package agentsctp

import (
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/sctptest"
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

// ports are the test listeners' ports (sctptest.Ports).
var ports = sctptest.Ports{Base: 21000}

// port returns a port for a test.
func port() int { return ports.Next() }

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
