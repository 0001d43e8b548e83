package runtime

import (
	"fmt"
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

func TestDesiredAgents(t *testing.T) {
	sctpPorts := []port{{"core", "SCTP", "127.0.0.1", 5060, []string{"127.0.0.2"}}, {"core", "UDP", "127.0.0.1", 5060, nil},
		{"core", "TCP", "127.0.0.1", 5060, nil}}
	tests := []struct {
		name     string
		ports    []port
		np       map[string]string
		agent    sa
		want     string // fields of the spec, formatted by specText
		disabled bool
		err      string
	}{
		{"guide's staticSCTP", sctpPorts, map[string]string{"sctp-send-retries": "2", "sctp-send-ttl": "5000"},
			sa{"core-172S1", []string{"ip-address", "127.0.0.10", "port", "0", "transport-method", "staticSCTP", "realm-id", "core",
				"ping-method", "OPTIONS", "ping-interval", "5"}},
			"SCTP 127.0.0.10:5060 local [127.0.0.1 127.0.0.2] ping OPTIONS every 5s retries 2 ttl 5000 autoclose 0", false, ""},
		{"hostname is the address", sctpPorts, nil, sa{"127.0.0.10", []string{"transport-method", "DynamicSCTP", "realm-id", "core", "port", "5070"}},
			"SCTP 127.0.0.10:5070 local [127.0.0.1 127.0.0.2] ping none every 0s retries 0 ttl 32000 autoclose 0", false, ""},
		{"name to resolve", sctpPorts, nil, sa{"agent.example", []string{"transport-method", "UDP", "realm-id", "core"}},
			"UDP agent.example:5060 local [127.0.0.1] ping none every 0s retries 0 ttl 0 autoclose 0", false, ""},
		{"udp without realm", nil, nil, sa{"a", []string{"ip-address", "127.0.0.10", "ping-method", "OPTIONS", "ping-interval", "1"}},
			"UDP 127.0.0.10:5060 local [] ping OPTIONS every 1s retries 0 ttl 0 autoclose 0", false, ""},
		{"udp+tcp is udp", sctpPorts, nil, sa{"a", []string{"ip-address", "127.0.0.10", "transport-method", "UDP+TCP", "realm-id", "core"}},
			"UDP 127.0.0.10:5060 local [127.0.0.1] ping none every 0s retries 0 ttl 0 autoclose 0", false, ""},
		{"tcp", sctpPorts, map[string]string{"tcp-keepinit-timer": "9"}, sa{"a", []string{"ip-address", "127.0.0.10", "transport-method", "StaticTCP",
			"realm-id", "core", "tcp-reconn-interval", "4", "tcp-keepalive", "enabled"}},
			"TCP 127.0.0.10:5060 local [127.0.0.1] ping none every 0s retries 0 ttl 0 autoclose 0 connect 9s reconnect 4s keepalive true", false, ""},
		{"ping method without interval", nil, nil, sa{"a", []string{"ip-address", "127.0.0.10", "ping-method", "OPTIONS"}},
			"UDP 127.0.0.10:5060 local [] ping none every 0s retries 0 ttl 0 autoclose 0", false, ""},
		{"wildcard sip-port", []port{{"core", "SCTP", "0.0.0.0", 5060, nil}}, nil,
			sa{"a", []string{"ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "core"}},
			"SCTP 127.0.0.10:5060 local [] ping none every 0s retries 0 ttl 32000 autoclose 0", false, ""},
		{"disabled", nil, nil, sa{"a", []string{"state", "disabled", "transport-method", "StaticTLS"}}, "", true, ""},
		{"sctp without realm", sctpPorts, nil, sa{"a", []string{"ip-address", "127.0.0.10", "transport-method", "staticSCTP"}}, "", false,
			`session-agent "a": transport-method staticSCTP needs a realm-id whose sip-interface has an SCTP sip-port`},
		{"realm without sip-interface", sctpPorts, nil, sa{"a", []string{"ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "edge"}}, "", false,
			`session-agent "a": transport-method staticSCTP: realm-id "edge" has no sip-interface`},
		{"no sctp sip-port", []port{{"core", "UDP", "127.0.0.1", 5060, nil}}, nil,
			sa{"a", []string{"ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "core"}}, "", false,
			`the sip-interface of realm-id "core" has no valid SCTP sip-port of the agent's address family`},
		{"family", sctpPorts, nil, sa{"a", []string{"ip-address", "::1", "transport-method", "staticSCTP", "realm-id", "core"}}, "", false,
			"has no valid SCTP sip-port of the agent's address family"},
		{"tls", nil, nil, sa{"a", []string{"transport-method", "StaticTLS"}}, "", false, "TLS is not supported by the runtime yet"},
		{"h323", nil, nil, sa{"a", []string{"app-protocol", "H323"}}, "", false, "app-protocol H323: the runtime speaks SIP only"},
		{"bad sctp options", sctpPorts, map[string]string{"sctp-rto-initial": "10"},
			sa{"a", []string{"ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "core"}}, "", false,
			"sctp-rto-initial 10: allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, disabled, err := DesiredAgents(withAgents(config(tt.ports, tt.np, nil), tt.agent))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || len(specs) != 0 {
					t.Fatalf("err %v (specs %d), want one containing %q", err, len(specs), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.disabled {
				if len(specs) != 0 || len(disabled) != 1 || disabled[0].Hostname != tt.agent.host {
					t.Fatalf("specs %v, disabled %v", specs, disabled)
				}
				return
			}
			if len(specs) != 1 {
				t.Fatalf("%d specs", len(specs))
			}
			if got := specText(&specs[0]); got != tt.want {
				t.Errorf("spec\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func specText(s *AgentSpec) string {
	t := fmt.Sprintf("%s %s local %v ping %s every %v retries %d ttl %d autoclose %d", s.Transport, s.Target(), s.Local,
		orNone(s.PingMethod), s.PingInterval, s.SendRetries, s.SCTP.SendTTL, s.SCTP.Autoclose)
	if s.Transport == "TCP" {
		t += fmt.Sprintf(" connect %v reconnect %v keepalive %v", s.ConnectTimeout, s.Reconnect, s.Keepalive.Enable)
	}
	return t
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Every problem of every agent is reported.
func TestDesiredAgentsEveryError(t *testing.T) {
	_, _, err := DesiredAgents(withAgents(config(nil, nil, nil),
		sa{"a", []string{"transport-method", "StaticTLS"}}, sa{"b", []string{"transport-method", "staticSCTP"}}))
	if err == nil || len(err.(interface{ Unwrap() []error }).Unwrap()) != 2 {
		t.Fatalf("err %v, want two errors", err)
	}
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
