// Package testcfg builds the configurations and loggers of the runtime's
// tests, so that each test package describes its listeners and agents in
// a line and every package builds them the same way.
package testcfg

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/control"
)

// Port is a sip-port of a test configuration, on the sip-interface whose
// realm-id is Iface.
type Port struct {
	Iface, Transport, Addr string
	Port                   int
	Multi                  []string // multi-homed-addrs
}

// Config builds a configuration: one sip-interface per distinct Iface of
// ports (in order, each with ifaceParams set) holding its sip-ports,
// network-parameters np (if not nil), and session-agents, each a hostname
// then parameter/value pairs.
func Config(ports []Port, np, ifaceParams map[string]string, agents ...[]string) *model.Config {
	cfg := model.NewConfig(model.Default)
	var order []*model.Instance
	byName := map[string]*model.Instance{}
	for _, p := range ports {
		si := byName[p.Iface]
		if si == nil {
			si = model.NewInstance(model.SipInterface)
			si.Set("realm-id", []string{p.Iface})
			for k, v := range ifaceParams {
				si.Set(k, []string{v})
			}
			byName[p.Iface] = si
			order = append(order, si)
		}
		sp := model.NewInstance(model.SipPort)
		sp.Set("address", []string{p.Addr})
		sp.Set("port", []string{strconv.Itoa(p.Port)})
		sp.Set("transport-protocol", []string{p.Transport})
		if len(p.Multi) > 0 {
			sp.Set("multi-homed-addrs", p.Multi)
		}
		si.Subs = append(si.Subs, sp)
	}
	for _, si := range order {
		cfg.Put(si)
	}
	if np != nil {
		in := model.NewInstance(model.NetworkParameters)
		for k, v := range np {
			in.Set(k, []string{v})
		}
		cfg.Put(in)
	}
	for _, a := range agents {
		in := model.NewInstance(model.SessionAgent)
		in.Set("hostname", []string{a[0]})
		for i := 1; i+1 < len(a); i += 2 {
			in.Set(a[i], []string{a[i+1]})
		}
		cfg.Put(in)
	}
	return cfg
}

// Logger returns a logger (debug level) that writes to the test's log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(writer{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type writer struct{ t testing.TB }

func (w writer) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Agents is what the tests ask of an engine about session-agents
// (runtime.Engine).
type Agents interface {
	SessionAgents(hostname string) ([]control.Agent, error)
}

// Agent returns the live state of one session-agent.
func Agent(t testing.TB, e Agents, host string) control.Agent {
	t.Helper()
	as, err := e.SessionAgents(host)
	if err != nil || len(as) != 1 {
		t.Fatalf("session-agents %s: %v, %v", host, as, err)
	}
	return as[0]
}

// WaitState waits up to d for the agent's state and returns how long it
// took.
func WaitState(t testing.TB, e Agents, host, state string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		a := Agent(t, e, host)
		if a.State == state {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("session-agent %s still %s (%s) after %v, want %s", host, a.State, a.Reason, d, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SndbufPolicy sets net.sctp.sndbuf_policy (runtime/sctp.SndbufPolicyFile)
// to v for the rest of the test and restores it afterwards. It needs root,
// as in the tests' UML guest.
func SndbufPolicy(t testing.TB, v string) {
	t.Helper()
	const f = "/proc/sys/net/sctp/sndbuf_policy"
	old, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(f, old, 0o644) })
}

// KnobValue is an allowed value of the parameter p other than its default
// that the kernel keeps as given, for the tests that carry one knob from
// network-parameters to a socket: the other enum value, the default plus
// one (minus one at the maximum; 1 rather than 0, which often means none),
// or 1 MiB where the default is 0 (a buffer's "operating system default":
// the kernel rounds small buffers up). It fails t for a parameter of
// another type.
func KnobValue(t testing.TB, p *model.Param) string {
	t.Helper()
	switch p.Type {
	case model.Enum:
		for _, v := range p.Values {
			if v != p.Default {
				return v
			}
		}
	case model.Int:
		d, err := strconv.ParseInt(p.Default, 10, 64)
		switch {
		case err != nil:
		case d == 0 && p.Max >= 1<<20:
			return "1048576"
		case d+1 == 0 && 1 <= p.Max:
			return "1" // 0 often means none at all (sctp-max-assocs)
		case d+1 <= p.Max:
			return strconv.FormatInt(d+1, 10)
		default:
			return strconv.FormatInt(d-1, 10)
		}
	}
	t.Fatalf("%s: no test value besides the default %q", p.Name, p.Default)
	return ""
}
