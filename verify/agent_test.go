package verify

import (
	"testing"

	"github.com/acli-project/acli/model"
)

func TestRuleSessionAgentStaticSCTPReuse(t *testing.T) {
	ruleTest(t, ruleSessionAgentStaticSCTPReuse, []ruleCase{
		{name: "seed"},
		{name: "other methods may reuse", edit: func(c *model.Config) {
			add(c, model.SessionAgent, "hostname", "b", "transport-method", "DynamicSCTP", "reuse-connections", "sctp")
		}},
		{name: "reuse", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "reuse-connections", "sctp")
		}, want: []string{"ERROR: " + seedAgent + " has transport-method [staticSCTP] which requires reuse-connections [none], not [sctp]"}},
	})
}

func TestRuleSessionAgentSCTPPort(t *testing.T) {
	ruleTest(t, planRule("session-agent-sctp-port"), []ruleCase{
		{name: "seed"},
		{name: "UDP agent without realm", edit: func(c *model.Config) { add(c, model.SessionAgent, "hostname", "b") }},
		{name: "disabled agent", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "realm-id", "nowhere", "state", "disabled")
		}},
		{name: "missing realm", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "realm-id", "nowhere")
		}, want: []string{"ERROR: " + seedAgent + " has transport-method [staticSCTP] but realm-id [nowhere] has no sip-interface, so no SCTP sip-port to start the association from"}},
		{name: "disabled sip-interface", edit: func(c *model.Config) {
			edit(c, model.SipInterface, "core-172", "state", "disabled")
		}, want: []string{"ERROR: " + seedAgent + " has transport-method [staticSCTP] but sip-interface [core-172] of its realm is disabled, so no SCTP sip-port to start the association from"}},
		{name: "IPv6 agent and an IPv6 SCTP port", edit: func(c *model.Config) {
			addPort(c, "core-172", "address", "::", "transport-protocol", "SCTP", "port", "5062")
			edit(c, model.SessionAgent, "core-172S1", "ip-address", "2001:db8::5")
		}},
		{name: "as printed: no realm-id", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "realm-id", "")
		}, want: []string{"ERROR: " + seedAgent + " has transport-method [staticSCTP] but no realm-id, so no SCTP sip-port is chosen for it: allowed a realm-id whose sip-interface has an SCTP sip-port to start the association from"}},
		{name: "realm without sip-interface, interface without SCTP", edit: func(c *model.Config) {
			add(c, model.RealmConfig, "identifier", "bare")
			add(c, model.SessionAgent, "hostname", "10.9.9.9", "transport-method", "DynamicSCTP", "realm-id", "bare")
			seedPort(c).Set("transport-protocol", []string{"TCP"})
		}, want: []string{
			"ERROR: session-agent [10.9.9.9] has transport-method [DynamicSCTP] but realm-id [bare] has no sip-interface, so no SCTP sip-port to start the association from",
			"ERROR: " + seedAgent + " has transport-method [staticSCTP] but sip-interface [core-172] of its realm has no SCTP sip-port to start the association from",
		}},
		{name: "family", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "ip-address", "2001:db8::5")
		}, want: []string{"ERROR: " + seedAgent + " has transport-method [staticSCTP] toward [2001:db8::5] but sip-interface [core-172] of its realm has no SCTP sip-port of that address family (IPv6) that can listen"}},
	})
}

func TestRuleSessionAgentTransport(t *testing.T) {
	ruleTest(t, planRule("session-agent-transport"), []ruleCase{
		{name: "seed"},
		{name: "disabled TLS agent", edit: func(c *model.Config) {
			add(c, model.SessionAgent, "hostname", "b", "transport-method", "StaticTLS", "state", "disabled")
		}},
		{name: "TLS", edit: func(c *model.Config) {
			add(c, model.SessionAgent, "hostname", "b", "transport-method", "DynamicTLS")
		}, want: []string{"ERROR: session-agent [b] has transport-method [DynamicTLS] which the runtime does not serve (there is no tls-profile element yet): " +
			"allowed UDP, UDP+TCP, StaticTCP, DynamicTCP, staticSCTP or DynamicSCTP"}},
	})
}

func TestRuleSessionAgentAppProtocol(t *testing.T) {
	ruleTest(t, planRule("session-agent-app-protocol"), []ruleCase{
		{name: "seed"},
		{name: "H323", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "app-protocol", "H323")
		}, want: []string{"ERROR: " + seedAgent + " has app-protocol [H323] which the runtime does not speak: allowed SIP"}},
	})
}

func TestRuleSessionAgentSCTPAddress(t *testing.T) {
	ruleTest(t, ruleSessionAgentSCTPAddress, []ruleCase{
		{name: "seed"},
		{name: "IP hostname", edit: func(c *model.Config) {
			add(c, model.SessionAgent, "hostname", "172.16.10.81", "transport-method", "staticSCTP", "realm-id", "core-172")
		}},
		{name: "FQDN for UDP", edit: func(c *model.Config) { add(c, model.SessionAgent, "hostname", "proxy.example.com") }},
		{name: "as printed: FQDN only", edit: func(c *model.Config) {
			edit(c, model.SessionAgent, "core-172S1", "ip-address", "")
		}, want: []string{"WARNING: " + seedAgent + " has transport-method [staticSCTP], no ip-address and hostname [core-172S1] which is not an IP address: the name must resolve when the association is opened"}},
	})
}

func TestRuleSessionAgentAddressMismatch(t *testing.T) {
	ruleTest(t, ruleSessionAgentAddressMismatch, []ruleCase{
		{name: "seed"},
		{name: "same", edit: func(c *model.Config) { add(c, model.SessionAgent, "hostname", "10.0.0.9", "ip-address", "10.0.0.9") }},
		{name: "different", edit: func(c *model.Config) {
			add(c, model.SessionAgent, "hostname", "10.0.0.9", "ip-address", "10.0.0.8")
		}, want: []string{"WARNING: session-agent [10.0.0.9] has ip-address [10.0.0.8] which differs from its hostname [10.0.0.9], itself an IP address"}},
	})
}
