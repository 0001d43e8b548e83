package sip

import (
	"bytes"
	"net/netip"
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
		{Transport: TCP}}
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
