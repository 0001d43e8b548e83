package sip

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

var src = Source{Transport: UDP, Remote: netip.MustParseAddrPort("127.0.0.9:5070")}

// req builds a request from lines joined with CRLF, ending with the empty
// line.
func req(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

func options(extra ...string) []byte {
	return req(append([]string{
		"OPTIONS sip:127.0.0.1:5060 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1",
		"Max-Forwards: 70",
		"From: <sip:a@127.0.0.9>;tag=abc",
		"To: <sip:127.0.0.1:5060>",
		"Call-ID: call-1@127.0.0.9",
		"CSeq: 7 OPTIONS",
	}, append(extra, "Content-Length: 0")...)...)
}

// novelsc is RFC 4475 3.3.11 (an OPTIONS whose Request-URI has the scheme
// soap.beep), as a message over UDP.
func novelsc() []byte {
	return req("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0",
		"To: sip:framework@example.com",
		"From: sip:tester@example.com;tag=8392034",
		"Max-Forwards: 70",
		"Call-ID: novelsc.asdfasser0q239nvn",
		"CSeq: 3923423 OPTIONS",
		"Via: SIP/2.0/UDP host9.example.com;branch=z9hG4bKkdjuw39234",
		"Content-Length: 0")
}

func method(m string, extra ...string) []byte {
	return req(append([]string{
		m + " sip:bob@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bK-2;rport",
		"Max-Forwards: 70",
		"From: <sip:a@127.0.0.9>;tag=abc",
		"To: <sip:bob@127.0.0.1>",
		"Call-ID: call-2",
		"CSeq: 1 " + m,
	}, append(extra, "Content-Length: 0")...)...)
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name    string
		msg     []byte
		verdict Verdict
		status  string   // first line of the response
		has     []string // lines the response holds
	}{
		{"options", options(), Answered, "SIP/2.0 200 OK", []string{
			"Allow: " + Allow, "Accept: application/sdp", "Supported: ", "CSeq: 7 OPTIONS", "Call-ID: call-1@127.0.0.9",
			"Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1", "Content-Length: 0"}},
		{"compact headers", req("OPTIONS sip:127.0.0.1 SIP/2.0", "v: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-c",
			"f: <sip:a@b>;tag=1", "t: <sip:c@d>", "i: cid", "CSeq: 1 OPTIONS", "l: 0"), Answered, "SIP/2.0 200 OK",
			[]string{"Call-ID: cid"}},
		{"invite", method("INVITE"), Answered, "SIP/2.0 480 Temporarily Unavailable",
			[]string{"Via: SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bK-2;rport=5070;received=127.0.0.9", "Warning: 399 acli"}},
		{"register", method("REGISTER"), Answered, "SIP/2.0 480 Temporarily Unavailable", nil},
		{"bye", method("BYE"), Answered, "SIP/2.0 480 Temporarily Unavailable", nil},
		{"cancel", method("CANCEL"), Answered, "SIP/2.0 481 Call/Transaction Does Not Exist", nil},
		{"unknown method", method("FROBNICATE"), Answered, "SIP/2.0 501 Not Implemented", []string{"Allow: " + Allow}},
		{"ack", method("ACK"), Ignored, "", nil},
		{"malformed ack", req("ACK sip:x SIP/2.0", "Via: nonsense"), Ignored, "", nil},
		{"max-forwards 0", method("INVITE", "Max-Forwards: 0"), Answered, "SIP/2.0 483 Too Many Hops", nil},
		{"novelsc", novelsc(), Answered, "SIP/2.0 416 Unsupported URI Scheme", []string{"CSeq: 3923423 OPTIONS",
			"Call-ID: novelsc.asdfasser0q239nvn", "Via: SIP/2.0/UDP host9.example.com;branch=z9hG4bKkdjuw39234;received=127.0.0.9"}},
		{"mailto", bytes.Replace(method("INVITE"), []byte("sip:bob@127.0.0.1 SIP"), []byte("mailto:bob@example.com SIP"), 1), Answered,
			"SIP/2.0 416 Unsupported URI Scheme", nil},
		{"scheme in capitals", bytes.Replace(method("MESSAGE"), []byte("sip:bob@127.0.0.1 SIP"), []byte("IM:bob@example.com SIP"), 1), Answered,
			"SIP/2.0 416 Unsupported URI Scheme", nil},
		{"ack to a foreign scheme", bytes.Replace(method("ACK"), []byte("sip:bob@127.0.0.1 SIP"), []byte("soap.beep://x SIP"), 1), Ignored, "", nil},
		{"tel", bytes.Replace(options(), []byte("sip:127.0.0.1:5060 SIP"), []byte("tel:+358-555-1234567 SIP"), 1), Answered, "SIP/2.0 200 OK", nil},
		{"SIPS", bytes.Replace(options(), []byte("sip:127.0.0.1:5060 SIP"), []byte("SIPS:127.0.0.1:5060 SIP"), 1), Answered, "SIP/2.0 200 OK", nil},
		{"foreign scheme, no call-id", req("OPTIONS soap.beep://x SIP/2.0", "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK-3",
			"From: <sip:a@b>;tag=1", "To: <sip:c@d>", "CSeq: 1 OPTIONS"), Rejected, "SIP/2.0 400 Bad Request (missing Call-ID)", nil},
		{"options max-forwards 0", options("Max-Forwards: 0"), Answered, "SIP/2.0 200 OK", nil},
		{"require", options("Require: 100rel, timer"), Answered, "SIP/2.0 420 Bad Extension", []string{"Unsupported: 100rel, timer"}},
		{"version", bytes.Replace(options(), []byte("SIP/2.0\r\n"), []byte("SIP/3.0\r\n"), 1), Answered, "SIP/2.0 505 Version Not Supported", nil},
		{"cseq mismatch", bytes.Replace(options(), []byte("7 OPTIONS"), []byte("7 INVITE"), 1), Rejected,
			"SIP/2.0 400 Bad Request (CSeq method does not match the request method)", nil},
		{"missing call-id", req("OPTIONS sip:x SIP/2.0", "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK-3",
			"From: <sip:a@b>;tag=1", "To: <sip:c@d>", "CSeq: 1 OPTIONS"), Rejected, "SIP/2.0 400 Bad Request (missing Call-ID)", nil},
		{"bad header", options("Max-Forwards: lots"), Rejected, "SIP/2.0 400 Bad Request (", nil},
		{"bad header before To", bytes.Replace(options(), []byte("Max-Forwards: 70"), []byte("Max-Forwards: lots"), 1), Malformed, "", nil},
		{"short body", bytes.Replace(options(), []byte("Content-Length: 0"), []byte("Content-Length: 10"), 1), Rejected,
			"SIP/2.0 400 Bad Request (", nil},
		{"no via", req("OPTIONS sip:x SIP/2.0", "From: <sip:a@b>;tag=1", "To: <sip:c@d>", "Call-ID: x", "CSeq: 1 OPTIONS"), Malformed, "", nil},
		{"response", req("SIP/2.0 200 OK", "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK-4", "From: <sip:a@b>;tag=1",
			"To: <sip:c@d>;tag=2", "Call-ID: x", "CSeq: 1 OPTIONS", "Content-Length: 0"), Response, "", nil},
		{"garbage", []byte("hello world\r\n\r\n"), Malformed, "", nil},
		{"binary", []byte{0, 1, 2, 0xff, '\r', '\n'}, Malformed, "", nil},
		{"keepalive", []byte("\r\n\r\n"), Ignored, "", nil},
		{"empty", nil, Ignored, "", nil},
	}
	h := NewHandler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			v := h.Handle(tt.msg, src, &out)
			if v != tt.verdict {
				t.Fatalf("verdict %v, want %v; response:\n%s", v, tt.verdict, out.String())
			}
			if tt.status == "" {
				if out.Len() != 0 {
					t.Fatalf("a response was written for a %v message:\n%s", v, out.String())
				}
				return
			}
			resp := out.String()
			if !strings.HasPrefix(resp, tt.status) {
				t.Errorf("response starts %q, want %q", strings.SplitN(resp, "\r\n", 2)[0], tt.status)
			}
			for _, want := range tt.has {
				if !strings.Contains(resp, "\r\n"+want) {
					t.Errorf("response lacks %q:\n%s", want, resp)
				}
			}
			if !strings.HasSuffix(resp, "\r\nContent-Length: 0\r\n\r\n") {
				t.Errorf("response does not end with Content-Length: 0 and the empty line:\n%q", resp)
			}
			// The response parses, with a To tag.
			m, err := NewHandler().parser.ParseSIP([]byte(resp))
			if err != nil {
				t.Fatalf("response does not parse: %v\n%s", err, resp)
			}
			if _, ok := m.To().Params.Get("tag"); !ok {
				t.Errorf("response has no To tag:\n%s", resp)
			}
		})
	}
}

// A retransmission gets the same To tag (RFC 3261 8.2.7); another
// request gets another.
func TestToTagStable(t *testing.T) {
	h := NewHandler()
	tag := func(b []byte) string {
		var out bytes.Buffer
		if v := h.Handle(b, src, &out); v != Answered {
			t.Fatalf("verdict %v", v)
		}
		m, err := h.parser.ParseSIP(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		v, _ := m.To().Params.Get("tag")
		return v
	}
	a, b := tag(options()), tag(options())
	c := tag(bytes.Replace(options(), []byte("call-1"), []byte("call-2"), 1))
	if a == "" || a != b {
		t.Errorf("retransmission tags %q and %q differ", a, b)
	}
	if a == c {
		t.Errorf("two calls got the same tag %q", a)
	}
}

// The received parameter is added only when the sent-by host is not the
// source address; SCTP responses keep the SCTP Via.
func TestVia(t *testing.T) {
	h := NewHandler()
	tests := []struct {
		name, via string
		src       Source
		want      string
	}{
		{"same host", "SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-v", src, "Via: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-v\r\n"},
		{"other host", "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-v", src, "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-v;received=127.0.0.9\r\n"},
		{"name", "SIP/2.0/TCP pc.example.com;branch=z9hG4bK-v", src, ";received=127.0.0.9\r\n"},
		{"rport", "SIP/2.0/UDP 127.0.0.9;branch=z9hG4bK-v;rport", src, "Via: SIP/2.0/UDP 127.0.0.9;branch=z9hG4bK-v;rport=5070\r\n"},
		{"ipv6", "SIP/2.0/UDP [::1]:5070;branch=z9hG4bK-v",
			Source{Transport: UDP, Remote: netip.MustParseAddrPort("[::1]:5070")}, "Via: SIP/2.0/UDP [::1]:5070;branch=z9hG4bK-v\r\n"},
		{"sctp", "SIP/2.0/SCTP 127.0.0.3:5060;branch=z9hG4bK-s",
			Source{Transport: SCTP, Remote: netip.MustParseAddrPort("127.0.0.3:5060")}, "Via: SIP/2.0/SCTP 127.0.0.3:5060;branch=z9hG4bK-s\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := bytes.Replace(options(), []byte("SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bK-1"), []byte(tt.via), 1)
			var out bytes.Buffer
			if v := h.Handle(msg, tt.src, &out); v != Answered {
				t.Fatalf("verdict %v", v)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("response lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

// Every Via is returned, in order.
func TestViaList(t *testing.T) {
	msg := bytes.Replace(options(), []byte("Max-Forwards: 70"),
		[]byte("Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-b, SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK-c\r\nMax-Forwards: 70"), 1)
	var out bytes.Buffer
	if v := NewHandler().Handle(msg, src, &out); v != Answered {
		t.Fatalf("verdict %v", v)
	}
	s := out.String()
	a, b, c := strings.Index(s, "z9hG4bK-1"), strings.Index(s, "z9hG4bK-b"), strings.Index(s, "z9hG4bK-c")
	if a < 0 || b < a || c < b {
		t.Errorf("Via headers missing or out of order:\n%s", s)
	}
}

func BenchmarkHandleOptions(b *testing.B) {
	h := NewHandler()
	msg := options()
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		if h.Handle(msg, src, &out) != Answered {
			b.Fatal("not answered")
		}
	}
}
