package runtime

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/acli-project/acli/runtime/control"
)

// TestHostFacts: the errors of listeners that failed for a fact of the
// host become one line per fact, whatever the number of sip-ports.
func TestHostFacts(t *testing.T) {
	spec := func(tr string, port int, iface string, addrs ...string) Spec {
		s := Spec{Transport: tr, Port: port, Interface: iface}
		for _, a := range addrs {
			s.Addrs = append(s.Addrs, netip.MustParseAddr(a))
		}
		s.Key = fmt.Sprintf("%s %s", tr, netip.AddrPortFrom(s.Addrs[0], uint16(port)))
		if len(addrs) > 1 {
			s.Key = tr + " {" + strings.Join(addrs, ",") + "}:" + itoa(port)
		}
		return s
	}
	// The errors as the listeners' opens return them.
	noSCTP := fmt.Errorf("listener: %w", os.NewSyscallError("socket", syscall.ESOCKTNOSUPPORT))
	noModule := fmt.Errorf("listener: %w", os.NewSyscallError("socket", syscall.EPROTONOSUPPORT))
	notHere := &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
	inUse := &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	type failure struct {
		s   Spec
		err error
	}
	tests := []struct {
		name     string
		failures []failure
		want     []string
	}{
		{"no sctp, three sip-ports", []failure{
			{spec("SCTP", 5060, "core", "127.0.0.1", "127.0.0.2"), noSCTP},
			{spec("SCTP", 5061, "core", "127.0.0.1"), noSCTP},
			{spec("SCTP", 5060, "access", "127.0.0.3"), noSCTP}},
			[]string{"this host's kernel has no SCTP (socket type not supported): sip-ports SCTP {127.0.0.1,127.0.0.2}:5060 of sip-interface [core], " +
				"SCTP 127.0.0.1:5061 of sip-interface [core], SCTP 127.0.0.3:5060 of sip-interface [access] not opened (load the sctp module, or use UDP or TCP)"}},
		{"no sctp module", []failure{{spec("SCTP", 5060, "core", "127.0.0.1"), noModule}},
			[]string{"this host's kernel has no SCTP (protocol not supported): sip-port SCTP 127.0.0.1:5060 of sip-interface [core] not opened (load the sctp module, or use UDP or TCP)"}},
		{"an address not here", []failure{
			{spec("UDP", 5060, "core", "192.0.2.1"), notHere},
			{spec("TCP", 5060, "core", "192.0.2.1"), notHere},
			{spec("SCTP", 5060, "edge", "192.0.2.1", "192.0.2.2"), notHere}},
			[]string{"address 192.0.2.1 is not an address of this host: sip-ports UDP 192.0.2.1:5060 of sip-interface [core], TCP 192.0.2.1:5060 of sip-interface [core] not opened",
				"an address of 192.0.2.1, 192.0.2.2 is not an address of this host: sip-port SCTP {192.0.2.1,192.0.2.2}:5060 of sip-interface [edge] not opened"}},
		{"not a host fact", []failure{{spec("UDP", 5060, "core", "127.0.0.1"), inUse}, {spec("UDP", 5060, "core", "127.0.0.1"), noSCTP}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hostFacts
			for _, f := range tt.failures {
				if got, want := h.add(f.s, f.err), hostFact(f.s, f.err) != ""; got != want {
					t.Errorf("add(%s, %v) = %v, hostFact says %v", f.s.Key, f.err, got, want)
				}
			}
			var got []string
			for _, err := range h.errors() {
				got = append(got, err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(h.errors()) != 0 {
				t.Error("errors() did not forget the facts")
			}
		})
	}
	if !errors.Is(noSCTP, syscall.ESOCKTNOSUPPORT) {
		t.Fatal("the wrapped errno is lost")
	}
}

// TestSCTPOnThisHost applies three SCTP sip-ports and a UDP one on this
// host: either its kernel has SCTP and they serve, or the apply says so in
// one line that names the three, and nothing else fails.
func TestSCTPOnThisHost(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	rep := e.Apply(config([]port{{"core", "SCTP", "127.0.0.1", p, []string{"127.0.0.2"}}, {"core", "SCTP", "127.0.0.3", p, nil},
		{"access", "SCTP", "127.0.0.4", p, nil}, {"access", "UDP", "127.0.0.1", p, nil}}, nil, nil), "v1")
	if len(rep.Errors) == 0 {
		if len(rep.Opened) != 4 {
			t.Fatalf("this host has SCTP, yet: %+v", rep)
		}
		return
	}
	if len(rep.Errors) != 1 || !strings.HasPrefix(rep.Errors[0], "this host's kernel has no SCTP (") ||
		!strings.Contains(rep.Errors[0], "sip-ports SCTP 127.0.0.4:"+itoa(p)+" of sip-interface [access], SCTP {127.0.0.1,127.0.0.2}:"+itoa(p)+
			" of sip-interface [core], SCTP 127.0.0.3:"+itoa(p)+" of sip-interface [core] not opened") {
		t.Fatalf("apply on a host without SCTP: %q", rep.Errors)
	}
	ports := e.SIPPorts()
	for _, ps := range ports.Failed.Ports {
		if want := ps.Transport == "SCTP"; (ps.State == control.StateFailed) != want || want && !strings.HasPrefix(ps.Reason, "this host's kernel has no SCTP") {
			t.Errorf("sip-port %+v", ps)
		}
	}
}
