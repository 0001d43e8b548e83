package verify

import (
	"strconv"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/plan"
)

// SCTP timers and counters of network-parameters (the SBC guide and the SIP
// server's SCTP module manual). Values are read with their defaults; an
// invalid value is left to param-value.
//
// Deliberately absent: the guide's advice that sctp-assoc-max-retrans be
// smaller than the sum of sctp-path-max-retrans over the peer's destination
// addresses. The number of destination addresses is known only once an
// association is up (a peer configured by one address may advertise more),
// and the RFC defaults (10 and 5) would warn on every single-homed peer. The
// runtime judges it per live association.

// knobs reads integer parameters of network-parameters; ok is false when
// any is not a number.
func knobs(np *model.Instance, refs ...model.Ref) (v []int64, ok bool) {
	v = make([]int64, len(refs))
	for i, r := range refs {
		x, good := integer(np, r)
		if !good {
			return nil, false
		}
		v[i] = x
	}
	return v, true
}

func val(r model.Ref, n int64) string { return r.Name() + " [" + strconv.FormatInt(n, 10) + "]" }

// delayedSACK reports whether the local delayed-SACK timer is in use:
// sctp-sack-timeout 0 SACKs at once and sctp-sack-freq 1 SACKs every packet.
func delayedSACK(sack, freq int64) bool { return sack != 0 && freq != 1 }

// The delayed-SACK rules skip sctp-sack-timeout 0 and sctp-sack-freq 1: then
// the delayed-SACK timer never runs (the kernel SACKs every packet at once).
var ruleSCTPSackVsRTOMin = Rule{
	Name: "sctp-sack-vs-rto-min", Severity: Warning,
	Doc: "a delayed SACK (sctp-sack-timeout) shorter than sctp-rto-min; above sctp-rto-max is sctp-sack-vs-rto-max",
	Check: func(s *Snapshot, report func(Finding)) {
		np := s.params()
		v, ok := knobs(np, plan.NPSackTimeout, plan.NPSackFreq, plan.NPRTOMin, plan.NPRTOMax)
		if !ok {
			return
		}
		sack, freq, lo, hi := v[0], v[1], v[2], v[3]
		if delayedSACK(sack, freq) && sack >= lo && sack <= hi {
			report(at(np, plan.NPSackTimeout, "has "+val(plan.NPSackTimeout, sack)+" not below "+val(plan.NPRTOMin, lo)+
				": delayed SACKs can arrive after the retransmission timer and cause retransmissions"))
		}
	},
}

var ruleSCTPSackVsRTOMax = Rule{
	Name: "sctp-sack-vs-rto-max", Severity: Error,
	Doc: "a delayed SACK (sctp-sack-timeout) not longer than sctp-rto-max",
	Check: func(s *Snapshot, report func(Finding)) {
		np := s.params()
		v, ok := knobs(np, plan.NPSackTimeout, plan.NPSackFreq, plan.NPRTOMax)
		if !ok {
			return
		}
		sack, freq, hi := v[0], v[1], v[2]
		if delayedSACK(sack, freq) && sack > hi {
			report(at(np, plan.NPSackTimeout, "has "+val(plan.NPSackTimeout, sack)+" above "+val(plan.NPRTOMax, hi)+
				": every delayed SACK arrives after the retransmission timer, making associations unstable"))
		}
	},
}

var ruleSCTPRTOMinLow = Rule{
	Name: "sctp-rto-min-low", Severity: Warning,
	Doc: "sctp-rto-min of at least 500 ms unless sctp-sack-timeout is 0 or sctp-sack-freq is 1",
	Check: func(s *Snapshot, report func(Finding)) {
		np := s.params()
		v, ok := knobs(np, plan.NPRTOMin, plan.NPSackTimeout, plan.NPSackFreq)
		if !ok {
			return
		}
		if lo := v[0]; lo < 500 && delayedSACK(v[1], v[2]) {
			report(at(np, plan.NPRTOMin, "has "+val(plan.NPRTOMin, lo)+" below 500 ms: peers may delay SACKs up to 500 ms, "+
				"which causes retransmissions (set sctp-sack-timeout 0 or sctp-sack-freq 1 when every peer SACKs at once)"))
		}
	},
}

// ruleSCTPFailureDetection is a warning, not an error: the configuration is
// consistent and may be intended (a lab, or peers watched by SIP OPTIONS
// pings), and SIP transaction timers still end requests to a dead peer; but
// without it a dead association lingers and multi-homing never fails over.
var ruleSCTPFailureDetection = Rule{
	Name: "sctp-failure-detection", Severity: Warning,
	Doc: "sctp-assoc-max-retrans and sctp-path-max-retrans are not 0 (failure detection off)",
	Check: func(s *Snapshot, report func(Finding)) {
		np := s.params()
		if n, ok := integer(np, plan.NPAssocMaxRetrans); ok && n == 0 {
			report(at(np, plan.NPAssocMaxRetrans, "has sctp-assoc-max-retrans [0] which switches endpoint failure detection off: "+
				"an unreachable peer is never declared down by SCTP"))
		}
		if n, ok := integer(np, plan.NPPathMaxRetrans); ok && n == 0 {
			report(at(np, plan.NPPathMaxRetrans, "has sctp-path-max-retrans [0] which switches path failure detection off: "+
				"a failed peer address is never marked inactive, so multi-homed associations do not fail over"))
		}
	},
}

var ruleSCTPHeartbeat = Rule{
	Name: "sctp-heartbeat", Severity: Warning,
	Doc: "sctp-hb-interval is not 0 (heartbeats disabled)",
	Check: func(s *Snapshot, report func(Finding)) {
		np := s.params()
		if n, ok := integer(np, plan.NPHBInterval); ok && n == 0 {
			report(at(np, plan.NPHBInterval, "has sctp-hb-interval [0] which disables heartbeats: "+
				"the failure of an idle path or peer is not detected until traffic is sent"))
		}
	},
}

var ruleSCTPMaxAssocsAgents = Rule{
	Name: "sctp-max-assocs-agents", Severity: Warning,
	Doc: "a positive sctp-max-assocs leaves room for one association per enabled staticSCTP session-agent",
	Check: func(s *Snapshot, report func(Finding)) {
		np := s.params()
		n, ok := integer(np, plan.NPMaxAssocs)
		if !ok || n <= 0 {
			return
		}
		var agents int64
		for _, sa := range s.list(model.SessionAgent) {
			if isStaticSCTP(sa) && plan.SAState.Str(sa) == "enabled" {
				agents++
			}
		}
		if agents > n {
			report(at(np, plan.NPMaxAssocs, "has "+val(plan.NPMaxAssocs, n)+" below the "+strconv.FormatInt(agents, 10)+
				" enabled session-agents with transport-method [staticSCTP], each of which holds an association"))
		}
	},
}

var ruleSCTPMaxAssocsUntracked = Rule{
	Name: "sctp-max-assocs-untracked", Severity: Warning,
	Doc: "a positive sctp-max-assocs is enforced before sending only with sctp-assoc-tracking enabled",
	Check: func(s *Snapshot, report func(Finding)) {
		np := s.params()
		if n, ok := integer(np, plan.NPMaxAssocs); ok && n > 0 && plan.NPAssocTracking.Str(np) == "disabled" {
			report(at(np, plan.NPMaxAssocs, "has "+val(plan.NPMaxAssocs, n)+" with sctp-assoc-tracking [disabled]: "+
				"beyond the limit a new outbound association is opened and at once closed, so its first SIP message still leaves"))
		}
	},
}
