package verify

import (
	"testing"

	"github.com/acli-project/acli/model"
)

// np sets network-parameters values for a case.
func npCase(name string, want []string, kv ...string) ruleCase {
	return ruleCase{name: name, want: want, edit: func(c *model.Config) { params(c, kv...) }}
}

const rtoOrder = ": allowed sctp-rto-min <= sctp-rto-initial <= sctp-rto-max"

func TestRuleSCTPRTOOrder(t *testing.T) {
	ruleTest(t, planRule("sctp-rto-order"), []ruleCase{
		{name: "defaults"},
		npCase("equal", nil, "sctp-rto-min", "2000", "sctp-rto-initial", "2000", "sctp-rto-max", "2000"),
		npCase("initial below min", []string{"ERROR: network-parameters has sctp-rto-initial [500] below sctp-rto-min [1000]" + rtoOrder}, "sctp-rto-initial", "500"),
		npCase("initial above max", []string{"ERROR: network-parameters has sctp-rto-initial [70000] above sctp-rto-max [60000]" + rtoOrder}, "sctp-rto-initial", "70000"),
		npCase("min above max", []string{
			"ERROR: network-parameters has sctp-rto-min [5000] above sctp-rto-max [4000]" + rtoOrder,
			"ERROR: network-parameters has sctp-rto-initial [3000] below sctp-rto-min [5000]" + rtoOrder,
		}, "sctp-rto-min", "5000", "sctp-rto-max", "4000"),
	})
}

func TestRuleSCTPSackVsRTOMin(t *testing.T) {
	ruleTest(t, ruleSCTPSackVsRTOMin, []ruleCase{
		{name: "defaults"},
		npCase("sack 0", nil, "sctp-sack-timeout", "0", "sctp-rto-min", "0"),
		npCase("sack-freq 1", nil, "sctp-sack-timeout", "400", "sctp-rto-min", "300", "sctp-sack-freq", "1"),
		npCase("above max is an error elsewhere", nil, "sctp-sack-timeout", "500", "sctp-rto-min", "100", "sctp-rto-max", "400"),
		npCase("equal", []string{"WARNING: network-parameters has sctp-sack-timeout [300] not below sctp-rto-min [300]: delayed SACKs can arrive after the retransmission timer and cause retransmissions"},
			"sctp-sack-timeout", "300", "sctp-rto-min", "300"),
	})
}

func TestRuleSCTPSackVsRTOMax(t *testing.T) {
	ruleTest(t, ruleSCTPSackVsRTOMax, []ruleCase{
		{name: "defaults"},
		npCase("sack-freq 1", nil, "sctp-sack-timeout", "500", "sctp-rto-min", "100", "sctp-rto-max", "400", "sctp-sack-freq", "1"),
		npCase("equal", nil, "sctp-sack-timeout", "400", "sctp-rto-min", "100", "sctp-rto-max", "400"),
		npCase("above", []string{"ERROR: network-parameters has sctp-sack-timeout [500] above sctp-rto-max [400]: every delayed SACK arrives after the retransmission timer, making associations unstable"},
			"sctp-sack-timeout", "500", "sctp-rto-min", "100", "sctp-rto-max", "400"),
	})
}

func TestRuleSCTPRTOMinLow(t *testing.T) {
	const w = "WARNING: network-parameters has sctp-rto-min [499] below 500 ms: peers may delay SACKs up to 500 ms, which causes retransmissions (set sctp-sack-timeout 0 or sctp-sack-freq 1 when every peer SACKs at once)"
	ruleTest(t, ruleSCTPRTOMinLow, []ruleCase{
		{name: "defaults"},
		npCase("500", nil, "sctp-rto-min", "500"),
		npCase("sack 0", nil, "sctp-rto-min", "100", "sctp-sack-timeout", "0"),
		npCase("sack-freq 1", nil, "sctp-rto-min", "100", "sctp-sack-freq", "1"),
		npCase("499", []string{w}, "sctp-rto-min", "499"),
	})
}

func TestRuleSCTPFailureDetection(t *testing.T) {
	ruleTest(t, ruleSCTPFailureDetection, []ruleCase{
		{name: "defaults"},
		npCase("assoc-max-retrans above path-max-retrans is not judged", nil, "sctp-assoc-max-retrans", "20", "sctp-path-max-retrans", "1"),
		npCase("zeros", []string{
			"WARNING: network-parameters has sctp-assoc-max-retrans [0] which switches endpoint failure detection off: an unreachable peer is never declared down by SCTP",
			"WARNING: network-parameters has sctp-path-max-retrans [0] which switches path failure detection off: a failed peer address is never marked inactive, so multi-homed associations do not fail over",
		}, "sctp-assoc-max-retrans", "0", "sctp-path-max-retrans", "0"),
	})
}

func TestRuleSCTPHeartbeat(t *testing.T) {
	ruleTest(t, ruleSCTPHeartbeat, []ruleCase{
		{name: "defaults"},
		npCase("1 ms", nil, "sctp-hb-interval", "1"),
		npCase("disabled", []string{"WARNING: network-parameters has sctp-hb-interval [0] which disables heartbeats: the failure of an idle path or peer is not detected until traffic is sent"},
			"sctp-hb-interval", "0"),
	})
}

func TestRuleSCTPAssocReuseTracking(t *testing.T) {
	ruleTest(t, planRule("sctp-assoc-reuse-tracking"), []ruleCase{
		{name: "defaults"},
		npCase("both off", nil, "sctp-assoc-reuse", "disabled", "sctp-assoc-tracking", "disabled"),
		npCase("reuse without tracking", []string{"ERROR: network-parameters has sctp-assoc-reuse [enabled] which requires sctp-assoc-tracking [enabled], not [disabled]"},
			"sctp-assoc-tracking", "disabled"),
	})
}

func TestRuleSCTPMaxAssocsZero(t *testing.T) {
	ruleTest(t, planRule("sctp-max-assocs-zero"), []ruleCase{
		{name: "defaults (-1)"},
		npCase("1", nil, "sctp-max-assocs", "1"),
		npCase("0", []string{"ERROR: network-parameters has sctp-max-assocs [0] which allows no SCTP association at all: allowed -1 (the operating system maximum) or a positive limit"},
			"sctp-max-assocs", "0"),
	})
}

func TestRuleSCTPMaxAssocsAgents(t *testing.T) {
	ruleTest(t, ruleSCTPMaxAssocsAgents, []ruleCase{
		{name: "defaults (-1)"},
		npCase("room for the agent", nil, "sctp-max-assocs", "1"),
		{name: "disabled agents do not count", edit: func(c *model.Config) {
			params(c, "sctp-max-assocs", "1")
			add(c, model.SessionAgent, "hostname", "10.0.0.9", "transport-method", "staticSCTP", "state", "disabled")
		}},
		{name: "too few", edit: func(c *model.Config) {
			params(c, "sctp-max-assocs", "1")
			add(c, model.SessionAgent, "hostname", "10.0.0.9", "transport-method", "staticSCTP")
		}, want: []string{"WARNING: network-parameters has sctp-max-assocs [1] below the 2 enabled session-agents with transport-method [staticSCTP], each of which holds an association"}},
	})
}

func TestRuleSCTPMaxAssocsUntracked(t *testing.T) {
	ruleTest(t, ruleSCTPMaxAssocsUntracked, []ruleCase{
		{name: "defaults"},
		npCase("unlimited, untracked", nil, "sctp-assoc-tracking", "disabled", "sctp-assoc-reuse", "disabled"),
		npCase("limit, tracked", nil, "sctp-max-assocs", "10"),
		npCase("limit, untracked", []string{"WARNING: network-parameters has sctp-max-assocs [10] with sctp-assoc-tracking [disabled]: beyond the limit a new outbound association is opened and at once closed, so its first SIP message still leaves"},
			"sctp-max-assocs", "10", "sctp-assoc-tracking", "disabled", "sctp-assoc-reuse", "disabled"),
	})
}
