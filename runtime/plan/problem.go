package plan

import (
	"errors"
	"strings"

	"github.com/acli-project/acli/model"
)

// Problem is one reason the runtime cannot serve a configuration.
type Problem struct {
	Rule    string // the rule's name (see Rules)
	Element string // e.g. "sip-port"
	Parent  string // the key of the parent instance of a sub-element (a sip-port's sip-interface)
	Key     string // the instance's key; "" for network-parameters
	Param   string // the parameter at fault
	// Message follows "<element> [<key>]" and names the value and what is
	// allowed, e.g. "has transport-protocol [TLS] which ...".
	Message string
}

// Error is the problem as verify-config prints it, without the severity:
// "sip-port [127.0.0.1:5060:UDP] of sip-interface [core] has ...".
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Element)
	if e := model.Default.Element(p.Element); e == nil || !e.Singleton || p.Key != "" {
		b.WriteString(" [" + p.Key + "]")
	}
	if p.Parent != "" {
		b.WriteString(" of " + parentName(p.Element) + " [" + p.Parent + "]")
	}
	b.WriteString(" " + p.Message)
	return b.String()
}

func parentName(sub string) string {
	for _, e := range model.Default.Elements() {
		if e.Sub(sub) != nil {
			return e.Name
		}
	}
	return "parent"
}

// Problems returns the problems joined in an error of Build, in order.
func Problems(err error) []*Problem {
	if err == nil {
		return nil
	}
	var out []*Problem
	var walk func(error)
	walk = func(err error) {
		if p, ok := err.(*Problem); ok {
			out = append(out, p)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e := errors.Unwrap(err); e != nil {
			walk(e)
		}
	}
	walk(err)
	return out
}

// The rules of Build. A value the schema refuses, or a missing key, is
// a problem of the schema's rules, which verify-config applies to every
// element: RuleParamValue and RuleKeyMissing (not in Rules).
const (
	RuleParamValue = "param-value"
	RuleKeyMissing = "key-missing"

	RuleSipPortTransport        = "sip-port-transport"
	RuleSipPortConflict         = "sip-port-conflict"
	RuleMultiHomedTransport     = "multi-homed-transport"
	RuleMultiHomedFamily        = "multi-homed-family"
	RuleMultiHomedWildcard      = "multi-homed-wildcard"
	RuleSessionAgentTransport   = "session-agent-transport"
	RuleSessionAgentAppProtocol = "session-agent-app-protocol"
	RuleSessionAgentSCTPPort    = "session-agent-sctp-port"
	RuleSCTPRTOOrder            = "sctp-rto-order"
	RuleSCTPAssocReuseTracking  = "sctp-assoc-reuse-tracking"
	RuleSCTPMaxAssocsZero       = "sctp-max-assocs-zero"
)

// Rule names and describes one rule of Build.
type Rule struct {
	Name string
	Doc  string // what it requires, in one line
}

// Rules lists the rules of Build, sorted by name, but for the schema's.
func Rules() []Rule {
	return []Rule{
		{RuleMultiHomedFamily, "SCTP multi-homed-addrs entries are of the address family of the sip-port address"},
		{RuleMultiHomedTransport, "multi-homed-addrs is set only on SCTP sip-ports"},
		{RuleMultiHomedWildcard, "an SCTP sip-port with multi-homed-addrs has a specific address, and no entry is a wildcard"},
		{RuleSCTPAssocReuseTracking, "sctp-assoc-reuse enabled requires sctp-assoc-tracking enabled"},
		{RuleSCTPMaxAssocsZero, "sctp-max-assocs is not 0 (no association could be opened; -1 is the operating system maximum)"},
		{RuleSCTPRTOOrder, "sctp-rto-min <= sctp-rto-initial <= sctp-rto-max (the kernel accepts an initial outside the range)"},
		{RuleSessionAgentAppProtocol, "an enabled session-agent has app-protocol SIP"},
		{RuleSessionAgentSCTPPort, "an enabled SCTP session-agent has a realm-id whose enabled sip-interface has an SCTP sip-port of the agent's address family that can listen"},
		{RuleSessionAgentTransport, "an enabled session-agent has a transport-method the runtime serves (not TLS)"},
		{RuleSipPortConflict, "no two sip-ports of enabled sip-interfaces listen on the same transport, address and port (TCP and TLS share TCP ports; a wildcard, 0.0.0.0 or ::, takes the port on every address of both families)"},
		{RuleSipPortTransport, "a sip-port of an enabled sip-interface has transport-protocol UDP, TCP or SCTP (TLS needs a tls-profile element, which does not exist yet)"},
	}
}
