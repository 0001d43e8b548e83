package runtime

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Host facts are what a configuration cannot know: whether this host's
// kernel has SCTP, and which addresses are its own. verify-config accepts
// a configuration without them (package plan); an apply reports each with
// one line that says what is missing and which sip-ports it stopped.

// hostFacts gathers the listeners that could not open for a host fact.
type hostFacts struct {
	noSCTP   []Spec            // the kernel has no SCTP
	sctpWhy  string            // its error, e.g. "socket type not supported"
	notLocal map[string][]Spec // address set -> listeners
	order    []string          // address sets in the order met
}

// hostFact returns the reason an open failed for a host fact: "" when err
// is not one.
func hostFact(s Spec, err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	switch {
	case s.Transport == "SCTP" && (errno == syscall.ESOCKTNOSUPPORT || errno == syscall.EPROTONOSUPPORT):
		return "this host's kernel has no SCTP (" + errno.Error() + ")"
	case errno == syscall.EADDRNOTAVAIL:
		return notLocalText(s) + " (" + errno.Error() + ")"
	}
	return ""
}

func notLocalText(s Spec) string {
	if len(s.Addrs) == 1 {
		return "address " + s.Addrs[0].String() + " is not an address of this host"
	}
	as := make([]string, len(s.Addrs))
	for i, a := range s.Addrs {
		as[i] = a.String()
	}
	return "an address of " + strings.Join(as, ", ") + " is not an address of this host"
}

// add takes the failed open of s; false when err is not a host fact.
func (h *hostFacts) add(s Spec, err error) bool {
	var errno syscall.Errno
	if hostFact(s, err) == "" || !errors.As(err, &errno) {
		return false
	}
	if errno == syscall.EADDRNOTAVAIL {
		if h.notLocal == nil {
			h.notLocal = map[string][]Spec{}
		}
		k := fmt.Sprint(s.Addrs)
		if _, ok := h.notLocal[k]; !ok {
			h.order = append(h.order, k)
		}
		h.notLocal[k] = append(h.notLocal[k], s)
		return true
	}
	h.noSCTP = append(h.noSCTP, s)
	h.sctpWhy = errno.Error()
	return true
}

// errors returns one error per host fact, naming the sip-ports it stopped,
// and forgets them.
func (h *hostFacts) errors() []error {
	var out []error
	if len(h.noSCTP) > 0 {
		out = append(out, fmt.Errorf("this host's kernel has no SCTP (%s): %s not opened (load the sctp module, or use UDP or TCP)",
			h.sctpWhy, sipPorts(h.noSCTP)))
	}
	for _, k := range h.order {
		ss := h.notLocal[k]
		out = append(out, fmt.Errorf("%s: %s not opened", notLocalText(ss[0]), sipPorts(ss)))
	}
	*h = hostFacts{}
	return out
}

// sipPorts names listeners as the sip-ports they are: "SCTP sip-port
// 127.0.0.1:5060 of sip-interface [core]", or a list of them.
func sipPorts(ss []Spec) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Key + " of sip-interface [" + s.Interface + "]"
	}
	if len(ss) == 1 {
		return "sip-port " + parts[0]
	}
	return "sip-ports " + strings.Join(parts, ", ")
}
