package plan

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/internal/testcfg"
)

// port is a sip-port of a test configuration.
type port struct {
	iface, transport, addr string
	port                   int
	multi                  []string
}

// config builds a configuration (see testcfg.Config).
func config(ports []port, np, iface map[string]string, agents ...[]string) *model.Config {
	ps := make([]testcfg.Port, len(ports))
	for i, p := range ports {
		ps[i] = testcfg.Port{Iface: p.iface, Transport: p.transport, Addr: p.addr, Port: p.port, Multi: p.multi}
	}
	return testcfg.Config(ps, np, iface, agents...)
}

func TestMakeKey(t *testing.T) {
	tests := []struct {
		transport string
		addrs     []string
		port      int
		want      string
	}{
		{"UDP", []string{"127.0.0.1"}, 5060, "UDP 127.0.0.1:5060"},
		{"SCTP", []string{"127.0.0.2", "127.0.0.1"}, 5060, "SCTP {127.0.0.1,127.0.0.2}:5060"},
		{"SCTP", []string{"127.0.0.1", "127.0.0.2"}, 5060, "SCTP {127.0.0.1,127.0.0.2}:5060"},
		{"TCP", []string{"::1"}, 5061, "TCP [::1]:5061"},
		{"SCTP", []string{"::2", "::1"}, 5061, "SCTP {[::1],[::2]}:5061"},
	}
	for _, tt := range tests {
		var as []netip.Addr
		for _, a := range tt.addrs {
			as = append(as, netip.MustParseAddr(a))
		}
		if got := MakeKey(tt.transport, as, tt.port); got != tt.want {
			t.Errorf("MakeKey(%s, %v, %d) = %q, want %q", tt.transport, tt.addrs, tt.port, got, tt.want)
		}
	}
}

// TestListeners: the listeners of a configuration and every problem of
// its sip-ports and network-parameters, each in the words verify-config
// prints.
func TestListeners(t *testing.T) {
	tests := []struct {
		name  string
		ports []port
		np    map[string]string
		iface map[string]string
		keys  []string
		errs  []string // the problems, in order
		bad   int      // sip-ports with an Err
	}{
		{"udp and tcp", []port{{"core", "UDP", "127.0.0.1", 5060, nil}, {"core", "TCP", "127.0.0.1", 5060, nil}}, nil, nil,
			[]string{"UDP 127.0.0.1:5060", "TCP 127.0.0.1:5060"}, nil, 0},
		{"multi-homed sctp", []port{{"core", "SCTP", "127.0.0.2", 5060, []string{"127.0.0.1"}}}, nil, nil,
			[]string{"SCTP {127.0.0.1,127.0.0.2}:5060"}, nil, 0},
		{"repeated multi-homed address", []port{{"core", "SCTP", "127.0.0.2", 5060, []string{"127.0.0.1", "127.0.0.2", "127.0.0.1"}}}, nil, nil,
			[]string{"SCTP {127.0.0.1,127.0.0.2}:5060"}, nil, 0},
		{"disabled interface", []port{{"core", "TLS", "127.0.0.1", 5060, []string{"::1"}}}, nil, map[string]string{"state": "disabled"},
			nil, nil, 0},
		{"tls", []port{{"core", "TLS", "127.0.0.1", 5061, nil}}, nil, nil, nil,
			[]string{"sip-port [127.0.0.1:5061:TLS] of sip-interface [core] has transport-protocol [TLS] which the runtime does not serve (there is no tls-profile element yet): allowed UDP, TCP or SCTP"}, 1},
		{"no address", []port{{"core", "UDP", "", 5060, nil}}, nil, nil, nil,
			[]string{"sip-port [:5060:UDP] of sip-interface [core] has no address: a sip-port needs the IP address to listen on"}, 1},
		{"multi-homed udp", []port{{"core", "UDP", "127.0.0.1", 5060, []string{"127.0.0.2"}}}, nil, nil, nil,
			[]string{"sip-port [127.0.0.1:5060:UDP] of sip-interface [core] has multi-homed-addrs [127.0.0.2] but transport-protocol [UDP]: multi-homed-addrs are allowed only with transport-protocol SCTP"}, 1},
		{"family", []port{{"core", "SCTP", "127.0.0.1", 5060, []string{"::1"}}}, nil, nil, nil,
			[]string{"sip-port [127.0.0.1:5060:SCTP] of sip-interface [core] has multi-homed-addrs entry [::1] which is not of the address family (IPv4) of address [127.0.0.1]"}, 1},
		{"wildcard", []port{{"core", "SCTP", "0.0.0.0", 5060, []string{"127.0.0.1", "0.0.0.0"}}}, nil, nil, nil,
			[]string{"has multi-homed-addrs but address [0.0.0.0] is a wildcard that already binds every local address",
				"has multi-homed-addrs entry [0.0.0.0] which is a wildcard, not a local address"}, 1},
		{"duplicate", []port{{"a", "UDP", "127.0.0.1", 5060, nil}, {"b", "UDP", "127.0.0.1", 5060, nil}}, nil, nil,
			[]string{"UDP 127.0.0.1:5060"},
			[]string{"sip-port [127.0.0.1:5060:UDP] of sip-interface [b] conflicts with sip-port [127.0.0.1:5060:UDP] of sip-interface [a]: both listen on UDP port [5060] at [127.0.0.1]: allowed one sip-port per transport, address and port"}, 1},
		{"wildcard conflict", []port{{"a", "TCP", "127.0.0.1", 5060, nil}, {"a", "TCP", "0.0.0.0", 5060, nil}, {"a", "TCP", "::1", 5061, nil}}, nil, nil,
			[]string{"TCP 127.0.0.1:5060", "TCP [::1]:5061"},
			[]string{"sip-port [0.0.0.0:5060:TCP] of sip-interface [a] conflicts with sip-port [127.0.0.1:5060:TCP] of sip-interface [a]: both listen on TCP port [5060] at [0.0.0.0] and [127.0.0.1]"}, 1},
		{"a wildcard takes both families", []port{{"a", "UDP", "::", 5060, nil}, {"a", "UDP", "127.0.0.1", 5060, nil}, {"a", "UDP", "0.0.0.0", 5061, nil},
			{"a", "UDP", "::1", 5061, nil}, {"a", "UDP", "127.0.0.1", 5062, nil}, {"a", "UDP", "::1", 5062, nil}}, nil, nil,
			[]string{"UDP [::]:5060", "UDP 0.0.0.0:5061", "UDP 127.0.0.1:5062", "UDP [::1]:5062"},
			[]string{"sip-port [127.0.0.1:5060:UDP] of sip-interface [a] conflicts with sip-port [:::5060:UDP] of sip-interface [a]: both listen on UDP port [5060] at [127.0.0.1] and [::]",
				"sip-port [::1:5061:UDP] of sip-interface [a] conflicts with sip-port [0.0.0.0:5061:UDP] of sip-interface [a]: both listen on UDP port [5061] at [::1] and [0.0.0.0]"}, 2},
		{"overlapping sctp address sets", []port{{"a", "SCTP", "127.0.0.1", 5060, []string{"127.0.0.2"}}, {"a", "SCTP", "127.0.0.3", 5060, []string{"127.0.0.2"}}}, nil, nil,
			[]string{"SCTP {127.0.0.1,127.0.0.2}:5060"}, []string{"at [127.0.0.2]"}, 1},
		{"tls and tcp share ports", []port{{"a", "TCP", "127.0.0.1", 5060, nil}, {"a", "TLS", "127.0.0.1", 5060, nil}}, nil, nil,
			[]string{"TCP 127.0.0.1:5060"}, []string{"has transport-protocol [TLS]", "both listen on TCP port [5060]"}, 1},
		{"rto initial", []port{{"core", "SCTP", "127.0.0.1", 5060, nil}, {"core", "UDP", "127.0.0.1", 5060, nil}},
			map[string]string{"sctp-rto-initial": "100"}, nil, []string{"UDP 127.0.0.1:5060"},
			[]string{"network-parameters has sctp-rto-initial [100] below sctp-rto-min [1000]: allowed sctp-rto-min <= sctp-rto-initial <= sctp-rto-max"}, 1},
		{"rto order", nil, map[string]string{"sctp-rto-min": "5000", "sctp-rto-max": "4000"}, nil, nil,
			[]string{"has sctp-rto-min [5000] above sctp-rto-max [4000]", "has sctp-rto-initial [3000] below sctp-rto-min [5000]"}, 0},
		{"reuse without tracking", nil, map[string]string{"sctp-assoc-tracking": "disabled"}, nil, nil,
			[]string{"network-parameters has sctp-assoc-reuse [enabled] which requires sctp-assoc-tracking [enabled], not [disabled]"}, 0},
		{"no association", nil, map[string]string{"sctp-max-assocs": "0"}, nil, nil,
			[]string{"has sctp-max-assocs [0] which allows no SCTP association at all: allowed -1"}, 0},
		{"every error", []port{{"core", "TLS", "127.0.0.1", 5061, []string{"127.0.0.2"}}, {"core", "UDP", "", 5060, nil}}, nil, nil, nil,
			[]string{"has transport-protocol [TLS]", "but transport-protocol [TLS]", "has no address"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(config(tt.ports, tt.np, tt.iface))
			var keys []string
			for _, l := range p.Listeners {
				keys = append(keys, l.Key)
			}
			if !slices.Equal(keys, tt.keys) {
				t.Errorf("keys %q, want %q", keys, tt.keys)
			}
			bad := 0
			for _, ps := range p.Ports {
				if ps.Err != nil {
					bad++
					if ps.Key != "" {
						t.Errorf("sip-port %+v has a key and an error", ps)
					}
				}
			}
			if bad != tt.bad {
				t.Errorf("%d sip-ports with errors, want %d", bad, tt.bad)
			}
			ps := Problems(err)
			if len(ps) != len(tt.errs) {
				t.Fatalf("problems %q, want %d like %q", err, len(tt.errs), tt.errs)
			}
			for i, want := range tt.errs {
				if !strings.Contains(ps[i].Error(), want) {
					t.Errorf("problem %q does not contain %q", ps[i], want)
				}
				if ps[i].Rule == "" || ps[i].Param == "" || !strings.Contains(ps[i].Message, "[") && !strings.HasPrefix(ps[i].Message, "has no ") {
					t.Errorf("problem %+v does not name its rule, parameter and value", ps[i])
				}
			}
		})
	}
}

func TestListenerOptions(t *testing.T) {
	p, err := Build(config([]port{{"core", "SCTP", "127.0.0.1", 5060, nil}, {"core", "TCP", "::ffff:127.0.0.1", 5060, nil}},
		map[string]string{"sctp-rto-initial": "1500", "sctp-send-mode": "ordered", "sctp-max-assocs": "7", "tcp-keepalive-count": "3"},
		map[string]string{"tcp-keepalive": "enabled"}))
	if err != nil {
		t.Fatal(err)
	}
	s, tcp := p.Listeners[0], p.Listeners[1]
	if s.SCTP.RTOInitial != 1500 || s.SCTP.Unordered || s.SCTP.MaxAssocs != 7 || s.SCTP.Autoclose != 180 || s.SCTP.OutStreams != Streams ||
		!s.Tracking || !s.Reuse {
		t.Errorf("SCTP listener %+v", s)
	}
	if tcp.Key != "TCP 127.0.0.1:5060" || tcp.Keepalive != (Keepalive{true, 2 * time.Hour, 75 * time.Second, 3}) {
		t.Errorf("TCP listener %+v", tcp)
	}
}

func TestAgents(t *testing.T) {
	sctpPorts := []port{{"core", "SCTP", "127.0.0.1", 5060, []string{"127.0.0.2"}}, {"core", "UDP", "127.0.0.1", 5060, nil},
		{"core", "TCP", "127.0.0.1", 5060, nil}}
	tests := []struct {
		name     string
		ports    []port
		np       map[string]string
		iface    map[string]string
		agent    []string // hostname, then parameter/value pairs
		want     string   // fields of the agent, formatted by agentText
		disabled bool
		errs     []string
	}{
		{"guide's staticSCTP", sctpPorts, map[string]string{"sctp-send-retries": "2", "sctp-send-ttl": "5000"}, nil,
			[]string{"core-172S1", "ip-address", "127.0.0.10", "port", "0", "transport-method", "staticSCTP", "realm-id", "core",
				"ping-method", "OPTIONS", "ping-interval", "5"},
			"SCTP 127.0.0.10:5060 local [127.0.0.1 127.0.0.2] ping OPTIONS every 5s retries 2 ttl 5000 autoclose 0", false, nil},
		{"hostname is the address", sctpPorts, nil, nil, []string{"127.0.0.10", "transport-method", "DynamicSCTP", "realm-id", "core", "port", "5070"},
			"SCTP 127.0.0.10:5070 local [127.0.0.1 127.0.0.2] ping none every 0s retries 0 ttl 32000 autoclose 0", false, nil},
		{"name to resolve", sctpPorts, nil, nil, []string{"agent.example", "transport-method", "UDP", "realm-id", "core"},
			"UDP agent.example:5060 local [127.0.0.1] ping none every 0s retries 0 ttl 0 autoclose 0", false, nil},
		{"udp without realm", nil, nil, nil, []string{"a", "ip-address", "127.0.0.10", "ping-method", "OPTIONS", "ping-interval", "1"},
			"UDP 127.0.0.10:5060 local [] ping OPTIONS every 1s retries 0 ttl 0 autoclose 0", false, nil},
		{"udp+tcp is udp", sctpPorts, nil, nil, []string{"a", "ip-address", "127.0.0.10", "transport-method", "UDP+TCP", "realm-id", "core"},
			"UDP 127.0.0.10:5060 local [127.0.0.1] ping none every 0s retries 0 ttl 0 autoclose 0", false, nil},
		{"tcp", sctpPorts, map[string]string{"tcp-keepinit-timer": "9"}, nil, []string{"a", "ip-address", "127.0.0.10", "transport-method", "StaticTCP",
			"realm-id", "core", "tcp-reconn-interval", "4", "tcp-keepalive", "enabled"},
			"TCP 127.0.0.10:5060 local [127.0.0.1] ping none every 0s retries 0 ttl 0 autoclose 0 connect 9s reconnect 4s keepalive true", false, nil},
		{"ping method without interval", nil, nil, nil, []string{"a", "ip-address", "127.0.0.10", "ping-method", "OPTIONS"},
			"UDP 127.0.0.10:5060 local [] ping none every 0s retries 0 ttl 0 autoclose 0", false, nil},
		{"wildcard sip-port", []port{{"core", "SCTP", "0.0.0.0", 5060, nil}}, nil, nil,
			[]string{"a", "ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "core"},
			"SCTP 127.0.0.10:5060 local [] ping none every 0s retries 0 ttl 32000 autoclose 0", false, nil},
		{"disabled", nil, nil, nil, []string{"a", "state", "disabled", "transport-method", "StaticTLS"}, "", true, nil},
		{"sctp without realm", sctpPorts, nil, nil, []string{"a", "ip-address", "127.0.0.10", "transport-method", "staticSCTP"}, "", false,
			[]string{"session-agent [a] has transport-method [staticSCTP] but no realm-id, so no SCTP sip-port is chosen for it: allowed a realm-id whose sip-interface has an SCTP sip-port"}},
		{"realm without sip-interface", sctpPorts, nil, nil, []string{"a", "ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "edge"}, "", false,
			[]string{"session-agent [a] has transport-method [staticSCTP] but realm-id [edge] has no sip-interface"}},
		{"disabled sip-interface", sctpPorts, nil, map[string]string{"state": "disabled"},
			[]string{"a", "ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "core"}, "", false,
			[]string{"but sip-interface [core] of its realm is disabled"}},
		{"no sctp sip-port", []port{{"core", "UDP", "127.0.0.1", 5060, nil}}, nil, nil,
			[]string{"a", "ip-address", "127.0.0.10", "transport-method", "staticSCTP", "realm-id", "core"}, "", false,
			[]string{"but sip-interface [core] of its realm has no SCTP sip-port"}},
		{"family", sctpPorts, nil, nil, []string{"a", "ip-address", "::1", "transport-method", "staticSCTP", "realm-id", "core"}, "", false,
			[]string{"toward [::1] but sip-interface [core] of its realm has no SCTP sip-port of that address family (IPv6) that can listen"}},
		{"sctp sip-port that cannot listen", []port{{"core", "SCTP", "127.0.0.1", 5060, []string{"::1"}}}, nil, nil,
			[]string{"a", "transport-method", "staticSCTP", "realm-id", "core"}, "", false,
			[]string{"multi-homed-addrs entry [::1]", "but no SCTP sip-port of sip-interface [core] of its realm can listen"}},
		{"tls", nil, nil, nil, []string{"a", "transport-method", "StaticTLS"}, "", false,
			[]string{"session-agent [a] has transport-method [StaticTLS] which the runtime does not serve"}},
		{"h323", nil, nil, nil, []string{"a", "app-protocol", "H323"}, "", false,
			[]string{"session-agent [a] has app-protocol [H323] which the runtime does not speak: allowed SIP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(config(tt.ports, tt.np, tt.iface, tt.agent))
			ps := Problems(err)
			if len(ps) != len(tt.errs) {
				t.Fatalf("problems %v, want %q", err, tt.errs)
			}
			for i, want := range tt.errs {
				if !strings.Contains(ps[i].Error(), want) {
					t.Errorf("problem %q does not contain %q", ps[i], want)
				}
			}
			if len(tt.errs) > 0 {
				if len(p.Agents) != 0 {
					t.Errorf("an agent with problems is planned: %+v", p.Agents)
				}
				return
			}
			if tt.disabled {
				if len(p.Agents) != 0 || len(p.Disabled) != 1 || p.Disabled[0].Hostname != tt.agent[0] {
					t.Fatalf("agents %v, disabled %v", p.Agents, p.Disabled)
				}
				return
			}
			if len(p.Agents) != 1 {
				t.Fatalf("%d agents", len(p.Agents))
			}
			if got := agentText(&p.Agents[0]); got != tt.want {
				t.Errorf("agent\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func agentText(a *Agent) string {
	t := fmt.Sprintf("%s %s local %v ping %s every %v retries %d ttl %d autoclose %d", a.Transport, a.Target(), a.Local,
		orNone(a.PingMethod), a.PingInterval, a.SendRetries, a.SCTP.SendTTL, a.SCTP.Autoclose)
	if a.Transport == "TCP" {
		t += fmt.Sprintf(" connect %v reconnect %v keepalive %v", a.ConnectTimeout, a.Reconnect, a.Keepalive.Enable)
	}
	return t
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Every problem of every element is reported, and each names a rule of
// Rules.
func TestEveryProblem(t *testing.T) {
	_, err := Build(config([]port{{"core", "TLS", "127.0.0.1", 5061, nil}}, map[string]string{"sctp-max-assocs": "0"}, nil,
		[]string{"a", "transport-method", "StaticTLS"}, []string{"b", "transport-method", "staticSCTP"}))
	ps := Problems(err)
	if len(ps) != 4 {
		t.Fatalf("problems %v, want 4", err)
	}
	names := map[string]bool{RuleKeyMissing: true, RuleParamValue: true}
	for i, r := range Rules() {
		if i > 0 && Rules()[i-1].Name >= r.Name || r.Doc == "" {
			t.Errorf("rule %q out of order or without a doc", r.Name)
		}
		names[r.Name] = true
	}
	for _, p := range ps {
		if !names[p.Rule] {
			t.Errorf("problem %q names rule %q, not in Rules", p, p.Rule)
		}
	}
}

func TestEmpty(t *testing.T) {
	p, err := Build(model.NewConfig(model.Default))
	if err != nil || len(p.Listeners)+len(p.Ports)+len(p.Agents)+len(p.Disabled) != 0 {
		t.Fatalf("empty configuration: %+v, %v", p, err)
	}
}
