package sip

import (
	"bytes"
	"strings"
	"testing"
)

func TestFrame(t *testing.T) {
	msg := "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK-f\r\nContent-Length: 5\r\n\r\nhello"
	tests := []struct {
		name       string
		data       string
		skip, n    int
		ping       bool
		errContain string
	}{
		{"whole", msg, 0, len(msg), false, ""},
		{"two", msg + msg, 0, len(msg), false, ""},
		{"partial head", msg[:20], 0, 0, false, ""},
		{"partial body", msg[:len(msg)-2], 0, 0, false, ""},
		{"crlf before", "\r\n" + msg, 2, len(msg), false, ""},
		{"ping", "\r\n\r\n", 4, 0, true, ""},
		{"ping then message", "\r\n\r\n" + msg, 4, len(msg), true, ""},
		{"half ping", "\r\n", 2, 0, false, ""},
		{"compact l", "OPTIONS sip:x SIP/2.0\r\nl: 2\r\n\r\nab", 0, 33, false, ""},
		{"case", "OPTIONS sip:x SIP/2.0\r\ncontent-LENGTH : 1\r\n\r\nz", 0, 46, false, ""},
		{"no length", "OPTIONS sip:x SIP/2.0\r\n\r\n", 0, 25, false, ""},
		{"bad length", "OPTIONS sip:x SIP/2.0\r\nContent-Length: x\r\n\r\n", 0, 0, false, "not a number"},
		{"huge length", "OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, 0, false, "larger than"},
		{"too large", "OPTIONS sip:x SIP/2.0\r\nContent-Length: 65530\r\n\r\n", 0, 0, false, "larger than"},
		{"endless head", "OPTIONS sip:x SIP/2.0\r\nX: " + strings.Repeat("a", MaxMessage), 0, 0, false, "header section longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skip, n, ping, err := Frame([]byte(tt.data))
			if tt.errContain != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errContain) {
					t.Fatalf("err %v, want one containing %q", err, tt.errContain)
				}
				return
			}
			if err != nil || skip != tt.skip || n != tt.n || ping != tt.ping {
				t.Errorf("Frame = %d, %d, %v, %v; want %d, %d, %v, nil", skip, n, ping, err, tt.skip, tt.n, tt.ping)
			}
		})
	}
}

// FuzzMessagePath feeds arbitrary bytes to the whole message path of every
// transport: the stream framer, then Process, with routes to a session-agent
// in service (a real UDP socket) and one out of service, so that requests
// are forwarded and answered 503, and responses carrying the handler's own
// Via (the input's "{i}" becomes its instance tag) are relayed or taken as
// ping answers. It must never panic; a response it writes must be a SIP
// response ending with an empty body, a forwarded request must carry the
// handler's Via on top and a relayed response must no longer carry it.
func FuzzMessagePath(f *testing.F) {
	for _, s := range [][]byte{options(), method("INVITE"), method("ACK"), method("CANCEL", "Require: x"),
		[]byte("\r\n\r\n"), []byte("SIP/2.0 200 OK\r\n\r\n"), []byte("OPTIONS sip:x SIP/2.0\r\nl: 3\r\n\r\nabc"),
		[]byte("INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=b\r\nCSeq: x\r\n\r\n"),
		withBody(message(), "hello"), bytes.ReplaceAll(withBody(message(), "hello"), []byte("core-172S1"), []byte("down.example")),
		bytes.Replace(method("ACK"), []byte("bob@127.0.0.1"), []byte("bob@core-172s1"), 1),
		req("SIP/2.0 180 Ringing", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKac{i}fabc.def;rport;acli-in=3.9",
			"Via: SIP/2.0/SCTP 10.1.1.1;branch=z9hG4bK-1;received=10.1.1.2;rport=7", "From: <sip:a@b>;tag=1",
			"To: <sip:c@d>;tag=2", "Call-ID: x", "CSeq: 1 INVITE", "Content-Length: 0"),
		req("SIP/2.0 200 OK", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKac{i}p7.42;rport", "From: <sip:a@b>;tag=1",
			"To: <sip:c@d>;tag=2", "Call-ID: x", "CSeq: 42 OPTIONS", "Content-Length: 0"),
	} {
		f.Add(s)
	}
	h := NewHandler()
	hop := newUDPHop(f)
	go func() { // drain what is forwarded
		buf := make([]byte, 65536)
		for {
			if _, err := hop.peer.Read(buf); err != nil {
				return
			}
		}
	}()
	r := NewRoutes()
	r.Add("core-172S1", 0, &agentTarget{hop: hop})
	r.Add("down.example", 0, &agentTarget{})
	h.SetRoutes(r)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.ReplaceAll(b, []byte("{i}"), []byte(h.Instance()))
		var out bytes.Buffer
		for _, tr := range []Transport{UDP, SCTP} {
			check(t, h, b, Source{Transport: tr, Remote: src.Remote, Ingress: Ingress{Point: 1, Conn: 2}}, &out)
		}
		data := b
		for len(data) > 0 {
			skip, n, _, err := Frame(data)
			if skip < 0 || n < 0 || skip+n > len(data) {
				t.Fatalf("Frame(%q) = %d, %d out of range", data, skip, n)
			}
			if err != nil || n == 0 {
				break
			}
			check(t, h, data[skip:skip+n], Source{Transport: TCP, Remote: src.Remote}, &out)
			data = data[skip+n:]
		}
	})
}

func check(t *testing.T, h *Handler, b []byte, s Source, out *bytes.Buffer) {
	res := h.Process(b, s, out)
	ours := []byte("branch=z9hG4bKac" + h.Instance())
	switch res.Verdict {
	case Answered, Rejected, Unavailable:
		if !bytes.HasPrefix(out.Bytes(), []byte("SIP/2.0 ")) || !bytes.HasSuffix(out.Bytes(), []byte("\r\nContent-Length: 0\r\n\r\n")) {
			t.Fatalf("%v response is not a SIP response:\n%q", res.Verdict, out.Bytes())
		}
	case Forwarded:
		line, rest, _ := bytes.Cut(out.Bytes(), []byte("\r\n"))
		if bytes.HasPrefix(line, []byte("SIP/")) || !bytes.HasPrefix(rest, []byte("Via: SIP/2.0/UDP ")) || !bytes.Contains(rest[:bytes.IndexByte(rest, '\n')], ours) {
			t.Fatalf("forwarded request without our Via on top:\n%q", out.Bytes())
		}
		if res.Target == nil {
			t.Fatal("forwarded without a target")
		}
	case Relayed:
		if !bytes.HasPrefix(out.Bytes(), []byte("SIP/2.0 ")) || bytes.Contains(out.Bytes(), []byte("acli-in=")) && bytes.Count(b, []byte("acli-in=")) < 2 {
			t.Fatalf("relayed response:\n%q", out.Bytes())
		}
	default:
		if out.Len() != 0 {
			t.Fatalf("%v verdict wrote %q", res.Verdict, out.Bytes())
		}
	}
}
