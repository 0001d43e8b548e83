package sip

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// benchHop is a session-agent connection that keeps the last message it
// was sent, so that the benchmark measures the Handler alone.
type benchHop struct{ last []byte }

func (h *benchHop) Via() (string, netip.AddrPort) {
	return "UDP", netip.MustParseAddrPort("127.0.0.1:5060")
}
func (h *benchHop) Send(b []byte) error { h.last = append(h.last[:0], b...); return nil }

// BenchmarkForwardRelay forwards a MESSAGE as SIPp sends it to its agent
// and relays the agent's 200 back: one transaction through the Handler.
func BenchmarkForwardRelay(b *testing.B) {
	hop := &benchHop{}
	h := NewHandler()
	r := NewRoutes()
	r.Add("agent-udp", 0, &agentTarget{hop: hop})
	h.SetRoutes(r)
	msg := []byte("MESSAGE sip:user@agent-udp SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-77-1-0;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: \"sipp\" <sip:sipp@127.0.0.1:6000>;tag=77SIPpTag001\r\nTo: <sip:user@agent-udp>\r\n" +
		"Call-ID: 1-77@127.0.0.1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nhello 1")
	client := Source{Transport: UDP, Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Ingress: Ingress{Point: 1}}
	agent := Source{Transport: UDP, Remote: netip.MustParseAddrPort("127.0.0.5:5070"), Ingress: Ingress{Point: 2}}
	var out bytes.Buffer
	if h.Process(msg, client, &out).Verdict != Forwarded {
		b.Fatal("not forwarded")
	}
	fwd, err := h.parser.ParseSIP(hop.last)
	if err != nil {
		b.Fatal(err)
	}
	resp := []byte(sip.NewResponseFromRequest(fwd.(*sip.Request), 200, "OK", nil).String())
	b.ReportAllocs()
	for b.Loop() {
		if h.Process(msg, client, &out).Verdict != Forwarded || h.Process(resp, agent, &out).Verdict != Relayed {
			b.Fatal("not forwarded and relayed")
		}
	}
}
