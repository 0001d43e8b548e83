package sip

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// quickCases are requests the quick path answers (quick) or leaves to the
// parser.
var quickCases = []struct {
	name  string
	msg   []byte
	quick bool
}{
	{"options", options(), true},
	{"sipp", req("OPTIONS sip:127.0.0.1:5060 SIP/2.0", "Via: SIP/2.0/SCTP 127.0.0.3:6000;branch=z9hG4bK-1-1-0",
		"Max-Forwards: 70", "From: \"sipp\" <sip:sipp@127.0.0.3:6000>;tag=4242SIPpTag001", "To: <sip:127.0.0.1:5060>",
		"Call-ID: 1-4242@127.0.0.3", "CSeq: 1 OPTIONS", "Contact: <sip:sipp@127.0.0.3:6000>", "Accept: application/sdp",
		"Content-Length: 0"), true},
	{"compact headers", req("OPTIONS sip:127.0.0.1 SIP/2.0", "v: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-c",
		"f: <sip:a@b>;tag=1", "t: <sip:c@d>", "i: cid", "CSeq: 1 OPTIONS", "l: 0"), true},
	{"invite", method("INVITE"), true},
	{"register", method("REGISTER"), true},
	{"cancel", method("CANCEL"), true},
	{"unknown method", method("FOO"), true},
	{"to tag kept", req("OPTIONS sip:x@127.0.0.1 SIP/2.0", "Via: SIP/2.0/SCTP 127.0.0.9:5070;branch=z9hG4bK-t",
		"From: sip:a@b;tag=f1", "To: <sip:x@127.0.0.1>;tag=given", "Call-ID: c2", "CSeq: 9 OPTIONS",
		"Content-Length: 0"), true},
	{"three vias, name in sent-by", req("OPTIONS sip:127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/SCTP proxy.example.com:5060;branch=z9hG4bK-a;rport",
		"Via: SIP/2.0/SCTP 10.0.0.2;branch=z9hG4bK-b", "Via: SIP/2.0/UDP 10.0.0.3:5062;branch=z9hG4bK-c;received=10.9.9.9",
		"From: <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c3@h", "CSeq: 1 OPTIONS", "Max-Forwards: 69",
		"User-Agent: sipp", "Content-Length: 0"), true},
	{"sent-by is the source", req("OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK-s",
		"From: <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c4", "CSeq: 2 OPTIONS", "Content-Length: 0"), true},
	{"body", []byte("MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-m\r\n" +
		"From: <sip:a@b>;tag=x\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: c5\r\nCSeq: 3 MESSAGE\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"), true},

	// To the parser.
	{"ack", method("ACK"), false},
	{"novelsc", novelsc(), false},
	{"tel", bytes.Replace(options(), []byte("sip:127.0.0.1:5060 SIP"), []byte("tel:+358-555-1234567 SIP"), 1), false},
	{"require", options("Require: 100rel"), false},
	{"max-forwards 0", method("INVITE", "Max-Forwards: 0"), false},
	{"quoted display name with a comma", req("OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1",
		"From: \"Doe, J\" <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c6", "CSeq: 1 OPTIONS", "Content-Length: 0"), true},
	{"ipv6 via", req("OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP [::1]:5070;branch=z9hG4bK-1",
		"From: <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c7", "CSeq: 1 OPTIONS", "Content-Length: 0"), false},
	{"cseq method differs", req("OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1",
		"From: <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c8", "CSeq: 1 INVITE", "Content-Length: 0"), false},
	{"no content-length", req("OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1",
		"From: <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c9", "CSeq: 1 OPTIONS"), false},
	{"folded header", req("OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1",
		"From: <sip:a@b>", " ;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c10", "CSeq: 1 OPTIONS", "Content-Length: 0"), false},
	{"version", req("OPTIONS sip:127.0.0.1 SIP/3.0", "Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1",
		"From: <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "Call-ID: c11", "CSeq: 1 OPTIONS", "Content-Length: 0"), false},
	{"missing call-id", req("OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1",
		"From: <sip:a@b>;tag=x", "To: <sip:127.0.0.1>", "CSeq: 1 OPTIONS", "Content-Length: 0"), false},
	{"response", []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bK-1\r\nFrom: <sip:a@b>;tag=1\r\n" +
		"To: <sip:c@d>;tag=2\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"), false},
}

// canonical parses a response and prints it back, so that two responses
// equal in content compare equal whatever their spelling (compact header
// names, Via lines split or joined).
func canonical(t testing.TB, b []byte) string {
	t.Helper()
	m, err := sip.NewParser().ParseSIP(b)
	if err != nil {
		t.Fatalf("response does not parse: %v\n%s", err, b)
	}
	return m.String()
}

// sameAnswer checks that the quick path and the parser answer msg alike;
// it returns whether the quick path took it.
func sameAnswer(t testing.TB, msg []byte, src Source, routes *Routes) bool {
	t.Helper()
	quick, slow := NewHandler(), NewHandler()
	slow.noQuick = true
	quick.SetRoutes(routes)
	slow.SetRoutes(routes)
	var qo, so bytes.Buffer
	qo.Reset()
	_, took := quick.answerQuick(msg, src, &qo)
	if !took && qo.Len() > 0 {
		t.Fatalf("the quick path wrote a response it did not take:\n%s", qo.Bytes())
	}
	qr := quick.Process(msg, src, &qo)
	sr := slow.Process(msg, src, &so)
	if qr.Verdict != sr.Verdict {
		t.Fatalf("verdict %v, the parser's %v\n%s", qr.Verdict, sr.Verdict, msg)
	}
	if took && (qo.Len() == 0 || so.Len() == 0) {
		t.Fatalf("quick answer %q, the parser's %q", qo.Bytes(), so.Bytes())
	}
	if qo.Len() > 0 || so.Len() > 0 {
		if q, s := canonical(t, qo.Bytes()), canonical(t, so.Bytes()); q != s {
			t.Fatalf("quick answer:\n%s\nthe parser's:\n%s\nrequest:\n%s", q, s, msg)
		}
	}
	return took
}

func TestQuickMatchesParser(t *testing.T) {
	srcs := []Source{src,
		{Transport: SCTP, Remote: netip.MustParseAddrPort("10.9.9.9:5070")},
		{Transport: SCTP, Remote: netip.MustParseAddrPort("[2001:db8::1]:5060")},
		{Transport: TCP},
		{Transport: UDP, Remote: netip.MustParseAddrPort("10.9.9.9:5070"), Overloaded: true}}
	routed := NewRoutes()
	routed.Add("agent.example.com", 0, nil)
	routed.Add("10.1.1.1", 5060, nil)
	for _, c := range quickCases {
		for _, s := range srcs {
			for _, r := range []*Routes{nil, routed} {
				if took := sameAnswer(t, c.msg, s, r); took != c.quick {
					t.Errorf("%s (from %v, routes %v): quick path took it: %v, want %v", c.name, s.Remote, r != nil, took, c.quick)
				}
			}
		}
	}
	// A request for a routed host goes to the parser (it is forwarded).
	for _, uri := range []string{"sip:agent.example.com", "sip:u@10.1.1.1:5060;transport=sctp", "sip:AGENT.example.com"} {
		msg := bytes.Replace(options(), []byte("sip:127.0.0.1:5060 SIP"), []byte(uri+" SIP"), 1)
		if sameAnswer(t, msg, src, routed) {
			t.Errorf("%s: answered by the quick path although it may be routed", uri)
		}
	}
}

func TestQuickAllocs(t *testing.T) {
	h := NewHandler()
	msg := options()
	var out bytes.Buffer
	s := Source{Transport: SCTP, Remote: netip.MustParseAddrPort("127.0.0.3:6000")}
	h.Process(msg, s, &out)
	if n := testing.AllocsPerRun(200, func() { h.Process(msg, s, &out) }); n != 0 {
		t.Errorf("answering OPTIONS allocates %v times, want 0", n)
	}
}

func FuzzQuick(f *testing.F) {
	for _, c := range quickCases {
		f.Add(c.msg)
	}
	routed := NewRoutes()
	routed.Add("127.0.0.2", 0, nil)
	f.Fuzz(func(t *testing.T, msg []byte) {
		quick := NewHandler()
		var out bytes.Buffer
		if _, took := quick.answerQuick(msg, src, &out); !took {
			return
		}
		sameAnswer(t, msg, src, nil)
		sameAnswer(t, msg, src, routed)
	})
}

// recordHop is a session-agent connection that keeps what it is sent.
type recordHop struct{ sent [][]byte }

func (r *recordHop) Via() (string, netip.AddrPort) {
	return "UDP", netip.MustParseAddrPort("127.0.0.1:5060")
}

func (r *recordHop) Send(b []byte) error {
	r.sent = append(r.sent, bytes.Clone(b))
	return nil
}

// semantic parses a message (as the Handler does: the headers it needs,
// the others as text) and returns its start line, each header's
// values by lower-case name in order, and its body: two messages equal in
// content compare equal whatever their header order across names.
func semantic(t testing.TB, b []byte) string {
	t.Helper()
	m, err := NewHandler().parser.ParseSIP(b)
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, b)
	}
	var hs []sip.Header
	var start string
	switch v := m.(type) {
	case *sip.Request:
		hs, start = v.Headers(), v.StartLine()
	case *sip.Response:
		hs, start = v.Headers(), v.StartLine()
	}
	byName := map[string][]string{}
	var names []string
	for _, h := range hs {
		n := strings.ToLower(h.Name())
		if _, ok := byName[n]; !ok {
			names = append(names, n)
		}
		byName[n] = append(byName[n], h.Value())
	}
	sort.Strings(names)
	var s strings.Builder
	s.WriteString(start + "\n")
	for _, n := range names {
		fmt.Fprintf(&s, "%s: %q\n", n, byName[n])
	}
	s.WriteString(string(m.Body()))
	return s.String()
}

// forwardCases are requests for the agent core-172S1 the quick path
// forwards (quick) or leaves to the parser.
var forwardCases = []struct {
	name  string
	msg   []byte
	quick bool
}{
	{"message", withBody(message(), "hello"), true},
	{"sipp message", withBody(req("MESSAGE sip:user@core-172s1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK-1-1;rport",
		"Max-Forwards: 70", "From: \"sipp\" <sip:sipp@127.0.0.1:6000>;tag=77SIPpTag001", "To: <sip:user@core-172s1>",
		"Call-ID: 1-77@127.0.0.1", "CSeq: 1 MESSAGE", "Content-Type: text/plain", "Content-Length: 7"), "hello 1"), true},
	{"invite, compact, no max-forwards", req("INVITE sip:bob@CORE-172S1:5060;transport=udp SIP/2.0",
		"v: SIP/2.0/TCP proxy.example:5070;branch=z9hG4bK-x", "v: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-y;received=10.0.0.9",
		"f: <sip:a@b>;tag=1", "t: <sip:bob@core-172S1>", "i: cid-2", "CSeq: 7 INVITE", "Contact: <sip:a@10.0.0.2>",
		"l: 0"), true},
	{"cancel", req("CANCEL sip:bob@core-172S1 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-i1",
		"From: <sip:a@x>;tag=1", "To: <sip:bob@core-172S1>", "Call-ID: c1", "CSeq: 1 CANCEL", "Content-Length: 0"), true},

	// To the parser.
	{"ack", req("ACK sip:bob@core-172S1 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-i1",
		"From: <sip:a@x>;tag=1", "To: <sip:bob@core-172S1>;tag=2", "Call-ID: c1", "CSeq: 1 ACK", "Content-Length: 0"), false},
	{"max-forwards 0", message("Max-Forwards: 0"), false},
	{"proxy-require", withBody(message("Proxy-Require: foo"), "hello"), false},
	{"ipv6 via", req("MESSAGE sip:u@core-172S1 SIP/2.0", "Via: SIP/2.0/UDP [::1]:5070;branch=z9hG4bK-6",
		"From: <sip:a@b>;tag=x", "To: <sip:u@core-172S1>", "Call-ID: c6", "CSeq: 1 MESSAGE", "Content-Length: 0"), false},
	{"other port", req("MESSAGE sip:u@10.2.2.2:5070 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-7",
		"From: <sip:a@b>;tag=x", "To: <sip:u@10.2.2.2>", "Call-ID: c7", "CSeq: 1 MESSAGE", "Content-Length: 0"), false},
}

// TestQuickForwardMatchesParser holds the quick forwarding and relaying
// paths to the parser's: the same verdicts, the same messages sent (in
// content), the same branches, and the agent's responses relayed alike.
func TestQuickForwardMatchesParser(t *testing.T) {
	hop := &recordHop{}
	agent := &agentTarget{hop: hop}
	h := NewHandler()
	r := NewRoutes()
	r.Add("core-172S1", 0, agent)
	r.Add("10.2.2.2", 5060, agent)
	h.SetRoutes(r)
	for _, c := range forwardCases {
		for _, s := range []Source{clientSrc, src, {Transport: TCP, Remote: netip.MustParseAddrPort("10.0.0.2:5060"), Ingress: Ingress{Point: 2, Conn: 9}}} {
			var q, p bytes.Buffer
			hop.sent = nil
			h.noQuick = false
			_, took := h.quick(c.msg, s, &q)
			q.Reset()
			hop.sent = nil
			qr := h.Process(c.msg, s, &q)
			h.noQuick = true
			pr := h.Process(c.msg, s, &p)
			if took != c.quick {
				t.Errorf("%s: quick path took it: %v, want %v", c.name, took, c.quick)
			}
			if qr.Verdict != pr.Verdict || qr.Target != pr.Target {
				t.Fatalf("%s: verdict %v (target %v), the parser's %v (%v)", c.name, qr.Verdict, qr.Target, pr.Verdict, pr.Target)
			}
			if qr.Verdict != Forwarded {
				if q.Len() > 0 || p.Len() > 0 {
					if a, b := canonical(t, q.Bytes()), canonical(t, p.Bytes()); a != b {
						t.Errorf("%s: answer\n%s\nthe parser's\n%s", c.name, a, b)
					}
				}
				continue
			}
			if len(hop.sent) != 2 {
				t.Fatalf("%s: %d messages sent, want 2", c.name, len(hop.sent))
			}
			if a, b := semantic(t, hop.sent[0]), semantic(t, hop.sent[1]); a != b {
				t.Errorf("%s: forwarded\n%s\nthe parser's\n%s", c.name, a, b)
			}
			// The agent answers: both paths relay it alike.
			fwd, err := h.parser.ParseSIP(hop.sent[0])
			if err != nil {
				t.Fatal(err)
			}
			resp := []byte(sip.NewResponseFromRequest(fwd.(*sip.Request), 200, "OK", []byte("ok")).String())
			h.noQuick = false
			_, took = h.quick(resp, src, &q)
			q.Reset()
			p.Reset()
			qr = h.Process(resp, src, &q)
			h.noQuick = true
			pr = h.Process(resp, src, &p)
			// Relayed quick unless the next Via is one it cannot read (IPv6).
			if took == bytes.Contains(c.msg, []byte("[::1]")) || qr.Verdict != Relayed || qr != pr {
				t.Errorf("%s: response relayed quick %v: %+v, the parser's %+v", c.name, took, qr, pr)
			}
			if a, b := semantic(t, q.Bytes()), semantic(t, p.Bytes()); a != b {
				t.Errorf("%s: relayed\n%s\nthe parser's\n%s", c.name, a, b)
			}
		}
	}
}

func TestQuickForwardAllocs(t *testing.T) {
	hop := &recordHop{}
	h := NewHandler()
	r := NewRoutes()
	r.Add("core-172S1", 0, &agentTarget{hop: hop})
	h.SetRoutes(r)
	msg := withBody(message(), "hello")
	var out bytes.Buffer
	h.Process(msg, clientSrc, &out)
	fwd, _ := h.parser.ParseSIP(hop.sent[0])
	resp := []byte(sip.NewResponseFromRequest(fwd.(*sip.Request), 200, "OK", nil).String())
	discard := &discardHop{}
	r.Add("core-172S1", 0, &agentTarget{hop: discard})
	for name, m := range map[string][]byte{"forwarding a MESSAGE": msg, "relaying its response": resp} {
		if n := testing.AllocsPerRun(200, func() { h.Process(m, clientSrc, &out) }); n != 0 {
			t.Errorf("%s allocates %v times, want 0", name, n)
		}
	}
}

// discardHop is a connection that drops what it is sent.
type discardHop struct{}

func (discardHop) Via() (string, netip.AddrPort) {
	return "UDP", netip.MustParseAddrPort("127.0.0.1:5060")
}
func (discardHop) Send([]byte) error { return nil }

// FuzzQuickForward: whatever the quick path forwards or relays, the
// parser forwards or relays alike.
func FuzzQuickForward(f *testing.F) {
	for _, c := range forwardCases {
		f.Add(c.msg)
	}
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKacXf1.2;rport;acli-in=4.17\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-1;received=10.0.0.9;rport=5070\r\nFrom: <sip:a@b>;tag=1\r\n" +
		"To: <sip:c@d>;tag=2\r\nCall-ID: r\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nok"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		hop := &recordHop{}
		h := NewHandler()
		r := NewRoutes()
		r.Add("core-172S1", 0, &agentTarget{hop: hop})
		h.SetRoutes(r)
		// Responses carry this handler's branches.
		msg = bytes.ReplaceAll(msg, []byte("z9hG4bKacX"), []byte(h.branchPrefix()))
		var q, p bytes.Buffer
		qr, took := h.quick(msg, clientSrc, &q)
		if !took || (qr.Verdict != Forwarded && qr.Verdict != Relayed) {
			return
		}
		h.noQuick = true
		pr := h.Process(msg, clientSrc, &p)
		if qr.Verdict != pr.Verdict || qr.Back != pr.Back || qr.To != pr.To || qr.Status != pr.Status {
			t.Fatalf("quick %+v, the parser's %+v\n%q", qr, pr, msg)
		}
		a, b := q.Bytes(), p.Bytes()
		if qr.Verdict == Forwarded {
			a, b = hop.sent[0], hop.sent[1]
		}
		if x, y := semantic(t, a), semantic(t, b); x != y {
			t.Fatalf("quick\n%s\nthe parser's\n%s\nfrom %q", x, y, msg)
		}
	})
}
