package runtime

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/sctp"
)

// sa is a session-agent of a test configuration: hostname, then
// parameter/value pairs.
type sa struct {
	host   string
	params []string
}

// withAgents adds session-agents to cfg.
func withAgents(cfg *model.Config, agents ...sa) *model.Config {
	for _, a := range agents {
		in := model.NewInstance(model.SessionAgent)
		in.Set("hostname", []string{a.host})
		for i := 0; i+1 < len(a.params); i += 2 {
			in.Set(a.params[i], []string{a.params[i+1]})
		}
		cfg.Put(in)
	}
	return cfg
}

func TestAgentChanges(t *testing.T) {
	base := AgentSpec{Hostname: "a", Realm: "core", Method: "staticSCTP", Transport: "SCTP", Addr: netip.MustParseAddr("127.0.0.10"),
		Port: 5060, Local: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, PingMethod: "OPTIONS", PingInterval: 5 * time.Second}
	tests := []struct {
		name      string
		change    func(s *AgentSpec)
		want      string
		reconnect bool
	}{
		{"nothing", func(*AgentSpec) {}, "", false},
		{"ping interval", func(s *AgentSpec) { s.PingInterval = time.Second }, "pings OPTIONS every 5s -> OPTIONS every 1s", false},
		{"pings off", func(s *AgentSpec) { s.PingMethod, s.PingInterval = "", 0 }, "pings OPTIONS every 5s -> none", false},
		{"send ttl", func(s *AgentSpec) { s.SCTP.SendTTL = 100 }, "sctp-send-ttl 0 -> 100 (at once)", false},
		{"rto", func(s *AgentSpec) { s.SCTP.RTOInitial = 500 }, "sctp-rto-initial 0 -> 500 (next association)", false},
		{"retries", func(s *AgentSpec) { s.SendRetries = 3 }, "sctp-send-retries 0 -> 3", false},
		{"realm label", func(s *AgentSpec) { s.Realm = "other" }, "realm-id core -> other", false},
		{"address", func(s *AgentSpec) { s.Addr = netip.MustParseAddr("127.0.0.11") }, "address 127.0.0.10:5060 -> 127.0.0.11:5060; reconnects", true},
		{"port", func(s *AgentSpec) { s.Port = 5070 }, "address 127.0.0.10:5060 -> 127.0.0.10:5070; reconnects", true},
		{"multi-homed set", func(s *AgentSpec) { s.Local = append(s.Local, netip.MustParseAddr("127.0.0.2")) },
			"local addresses [127.0.0.1] -> [127.0.0.1 127.0.0.2]; reconnects", true},
		{"transport", func(s *AgentSpec) { s.Method, s.Transport = "UDP", "UDP" }, "transport-method staticSCTP -> UDP; reconnects", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			s.Local = slices.Clone(base.Local)
			tt.change(&s)
			ch, reconnect := agentChanges(&base, &s)
			if got := strings.Join(ch, "; "); got != tt.want || reconnect != tt.reconnect {
				t.Errorf("changes %q reconnect %v, want %q %v", got, reconnect, tt.want, tt.reconnect)
			}
		})
	}
}

// initTimeout covers the kernel's INIT retransmissions.
func TestInitTimeout(t *testing.T) {
	tests := []struct {
		attempts, rto, maxTimeo int
		want                    time.Duration
	}{
		{2, 1000, 60000, (1000 + 2000 + 4000 + 1000) * time.Millisecond},
		{4, 1000, 2000, (1000 + 2000 + 2000 + 2000 + 2000 + 1000) * time.Millisecond},
		{0, 0, 0, 0}, // kernel defaults: 8 attempts from 3 s up to 60 s
	}
	for _, tt := range tests {
		got := initTimeout(sctpOpts(tt.attempts, tt.rto, tt.maxTimeo))
		if tt.want == 0 {
			if got < 4*time.Minute || got > 10*time.Minute {
				t.Errorf("kernel defaults: %v", got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("attempts %d rto %d max %d: %v, want %v", tt.attempts, tt.rto, tt.maxTimeo, got, tt.want)
		}
	}
}

func sctpOpts(attempts, rto, maxTimeo int) sctp.Options {
	return sctp.Options{InitMaxAttempts: attempts, RTOInitial: rto, InitMaxTimeout: maxTimeo}
}
