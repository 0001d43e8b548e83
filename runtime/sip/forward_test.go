package sip

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// udpHop is a session-agent connection over a real UDP socket: what is
// sent arrives at peer.
type udpHop struct {
	conn *net.UDPConn
	peer *net.UDPConn
}

func newUDPHop(t testing.TB) *udpHop {
	t.Helper()
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", nil, peer.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); peer.Close() })
	return &udpHop{conn: conn, peer: peer}
}

func (u *udpHop) Via() (string, netip.AddrPort) {
	return "UDP", u.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (u *udpHop) Send(b []byte) error {
	_, err := u.conn.Write(b)
	return err
}

// recv returns what the peer received next.
func (u *udpHop) recv(t testing.TB) string {
	t.Helper()
	buf := make([]byte, 65536)
	u.peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := u.peer.Read(buf)
	if err != nil {
		t.Fatalf("the agent received nothing: %v", err)
	}
	return string(buf[:n])
}

// agentTarget is a session-agent: in service when hop is set.
type agentTarget struct{ hop Hop }

func (a *agentTarget) Hop() Hop {
	if a.hop == nil {
		return nil
	}
	return a.hop
}

var clientSrc = Source{Transport: SCTP, Remote: netip.MustParseAddrPort("127.0.0.3:5071"), Ingress: Ingress{Point: 4, Conn: 17}}

// message is a request for the agent core-172S1.
func message(extra ...string) []byte {
	return req(append([]string{
		"MESSAGE sip:alice@core-172S1 SIP/2.0",
		"Via: SIP/2.0/SCTP 10.1.1.1:5071;branch=z9hG4bK-m1;rport",
		"Max-Forwards: 70",
		"Route: <sip:sbc.example;lr>",
		"From: <sip:bob@example.com>;tag=f1",
		"To: <sip:alice@core-172S1>",
		"Call-ID: msg-1",
		"CSeq: 5 MESSAGE",
		"X-Custom: kept as is",
		"Content-Type: text/plain",
	}, append(extra, "Content-Length: 5")...)...)
}

func withBody(b []byte, body string) []byte { return append(b, body...) }

func TestForward(t *testing.T) {
	hop := newUDPHop(t)
	agent := &agentTarget{hop: hop}
	h := NewHandler()
	r := NewRoutes()
	r.Add("core-172S1", 0, agent)
	h.SetRoutes(r)
	_, sentBy := hop.Via()

	var out bytes.Buffer
	res := h.Process(withBody(message(), "hello"), clientSrc, &out)
	if res.Verdict != Forwarded || res.Target != agent {
		t.Fatalf("verdict %v, target %v; out:\n%s", res.Verdict, res.Target, out.String())
	}
	got := hop.recv(t)
	if got != out.String() {
		t.Errorf("sent %q, buffer %q", got, out.String())
	}
	lines := strings.Split(got, "\r\n")
	wantTop := "Via: SIP/2.0/UDP " + sentBy.String() + ";branch=z9hG4bKac" + h.Instance() + "f"
	if lines[0] != "MESSAGE sip:alice@core-172S1 SIP/2.0" || !strings.HasPrefix(lines[1], wantTop) ||
		!strings.HasSuffix(lines[1], ";rport;acli-in=4.17") {
		t.Errorf("start line and our Via:\n%s\n%s\nwant our Via to start %q", lines[0], lines[1], wantTop)
	}
	for _, want := range []string{
		"Via: SIP/2.0/SCTP 10.1.1.1:5071;branch=z9hG4bK-m1;rport=5071;received=127.0.0.3",
		"Max-Forwards: 69", "Route: <sip:sbc.example;lr>", "X-Custom: kept as is", "Content-Type: text/plain",
		"CSeq: 5 MESSAGE", "Call-ID: msg-1",
	} {
		if !strings.Contains(got, "\r\n"+want+"\r\n") {
			t.Errorf("forwarded request lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "\r\nContent-Length: 5\r\n\r\nhello") {
		t.Errorf("forwarded request does not end with its body:\n%q", got)
	}
	if strings.Count(got, "Max-Forwards") != 1 || strings.Count(got, "Content-Length") != 1 {
		t.Errorf("Max-Forwards or Content-Length repeated:\n%s", got)
	}

	// The agent's response goes back: our Via removed, to the ingress.
	fwd, err := h.parser.ParseSIP([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	resp := sip.NewResponseFromRequest(fwd.(*sip.Request), 202, "Accepted", []byte("ok"))
	out.Reset()
	res = h.Process([]byte(resp.String()), Source{Transport: UDP, Remote: hop.peer.LocalAddr().(*net.UDPAddr).AddrPort()}, &out)
	if res.Verdict != Relayed || res.Back != clientSrc.Ingress || res.Status != 202 || res.Transport != "SCTP" ||
		res.To != netip.MustParseAddrPort("127.0.0.3:5071") {
		t.Fatalf("response: %+v\n%s", res, out.String())
	}
	back := out.String()
	if !strings.HasPrefix(back, "SIP/2.0 202 Accepted\r\nVia: SIP/2.0/SCTP 10.1.1.1:5071;branch=z9hG4bK-m1;rport=5071;received=127.0.0.3\r\n") ||
		strings.Contains(back, h.Instance()) || !strings.HasSuffix(back, "Content-Length: 2\r\n\r\nok") {
		t.Errorf("relayed response:\n%s", back)
	}
}

// Answers on the way to an agent: Max-Forwards, Proxy-Require, loops,
// out of service, a failed send; ACKs are forwarded, never answered.
func TestForwardAnswers(t *testing.T) {
	hop := newUDPHop(t)
	closed := newUDPHop(t)
	closed.conn.Close()
	up, down, broken := &agentTarget{hop: hop}, &agentTarget{}, &agentTarget{hop: closed}
	h := NewHandler()
	r := NewRoutes()
	r.Add("core-172S1", 0, up)
	r.Add("down.example", 0, down)
	r.Add("broken.example", 0, broken)
	h.SetRoutes(r)
	to := func(host string, b []byte) []byte {
		return bytes.ReplaceAll(b, []byte("core-172S1"), []byte(host))
	}
	var out bytes.Buffer
	h.Process(withBody(message(), "hello"), clientSrc, &out)
	looped := []byte(hop.recv(t))

	tests := []struct {
		name    string
		msg     []byte
		verdict Verdict
		status  string
		target  Target
	}{
		{"max-forwards 0", withBody(bytes.Replace(message(), []byte("Max-Forwards: 70"), []byte("Max-Forwards: 0"), 1), "hello"), Answered, "SIP/2.0 483 Too Many Hops", up},
		{"options max-forwards 0", bytes.Replace(options("Max-Forwards: 0"), []byte("127.0.0.1:5060"), []byte("core-172S1"), 1), Answered, "SIP/2.0 483 Too Many Hops", up},
		{"proxy-require", withBody(message("Proxy-Require: foo"), "hello"), Answered, "SIP/2.0 420 Bad Extension", up},
		{"require is end to end", withBody(message("Require: 100rel"), "hello"), Forwarded, "", up},
		{"loop", looped, Answered, "SIP/2.0 482 Loop Detected", up},
		{"spiral", bytes.Replace(looped, []byte("MESSAGE sip:alice@core-172S1"), []byte("MESSAGE sip:carol@core-172S1"), 1), Forwarded, "", up},
		{"out of service", to("down.example", withBody(message(), "hello")), Unavailable, "SIP/2.0 503 Service Unavailable", down},
		{"send fails", to("broken.example", withBody(message(), "hello")), Unavailable, "SIP/2.0 503 Service Unavailable", broken},
		{"ack", method("ACK"), Ignored, "", nil},
		{"ack forwarded", bytes.Replace(method("ACK"), []byte("bob@127.0.0.1"), []byte("bob@core-172s1"), 1), Forwarded, "", up},
		{"ack out of service", bytes.Replace(method("ACK"), []byte("bob@127.0.0.1"), []byte("bob@down.example"), 1), Ignored, "", down},
		{"malformed for agent", bytes.Replace(withBody(message(), "hello"), []byte("CSeq: 5 MESSAGE"), []byte("CSeq: 5 INVITE"), 1), Rejected, "SIP/2.0 400 Bad Request", nil},
		{"not an agent", method("MESSAGE"), Answered, "SIP/2.0 480 Temporarily Unavailable", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.Process(tt.msg, clientSrc, &out)
			if res.Verdict != tt.verdict || res.Target != tt.target {
				t.Fatalf("verdict %v target %v, want %v %v\n%s", res.Verdict, res.Target, tt.verdict, tt.target, out.String())
			}
			switch {
			case tt.verdict == Forwarded:
				hop.recv(t)
			case tt.status == "":
				if out.Len() != 0 {
					t.Errorf("wrote %q", out.String())
				}
			case !strings.HasPrefix(out.String(), tt.status):
				t.Errorf("response %q, want %q", strings.SplitN(out.String(), "\r\n", 2)[0], tt.status)
			}
			if tt.verdict == Unavailable && !strings.Contains(out.String(), "\r\nWarning: 399 acli \"session-agent out of service\"\r\n") {
				t.Errorf("503 without its Warning:\n%s", out.String())
			}
			if tt.name == "send fails" && (res.SendErr == nil || !strings.Contains(out.String(), "\r\nRetry-After: 1\r\n")) {
				t.Errorf("SendErr %v; 503 without Retry-After:\n%s", res.SendErr, out.String())
			}
		})
	}
}

// An overloaded ingress refuses new requests, its own and those for a
// session-agent, with 503 and Retry-After, before routing; ACKs and
// responses go their way as ever.
func TestOverloaded(t *testing.T) {
	hop := newUDPHop(t)
	agent := &agentTarget{hop: hop}
	h := NewHandler()
	r := NewRoutes()
	r.Add("core-172S1", 0, agent)
	h.SetRoutes(r)
	src := clientSrc
	src.Overloaded = true
	var out bytes.Buffer
	h.Process(withBody(message(), "hello"), clientSrc, &out) // not overloaded: forwarded
	fwd := hop.recv(t)
	i := strings.Index(fwd, "\r\nVia: ")
	resp := "SIP/2.0 200 OK" + fwd[i:strings.Index(fwd, "\r\nMax-Forwards")] + "\r\nFrom: <sip:bob@example.com>;tag=f1\r\n" +
		"To: <sip:alice@core-172S1>;tag=a1\r\nCall-ID: msg-1\r\nCSeq: 5 MESSAGE\r\nContent-Length: 0\r\n\r\n"
	for _, tt := range []struct {
		name    string
		msg     []byte
		verdict Verdict
	}{
		{"options", options(), Shed},
		{"message for an agent", withBody(message(), "hello"), Shed},
		{"not an agent", method("MESSAGE"), Shed},
		{"ack", bytes.Replace(method("ACK"), []byte("bob@127.0.0.1"), []byte("bob@core-172s1"), 1), Forwarded},
		{"response to a forwarded request", []byte(resp), Relayed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := h.Process(tt.msg, src, &out)
			if res.Verdict != tt.verdict {
				t.Fatalf("verdict %v, want %v\n%s", res.Verdict, tt.verdict, out.String())
			}
			switch tt.verdict {
			case Shed:
				if !strings.HasPrefix(out.String(), "SIP/2.0 503 Service Unavailable\r\n") || !strings.Contains(out.String(), "\r\nRetry-After: 1\r\n") {
					t.Errorf("refusal:\n%s", out.String())
				}
			case Forwarded:
				hop.recv(t)
			}
		})
	}
}

// Stateless branches: a retransmission, its CANCEL and the ACK of a
// non-2xx response get the INVITE's branch; another transaction another.
func TestForwardBranch(t *testing.T) {
	hop := newUDPHop(t)
	h := NewHandler()
	r := NewRoutes()
	r.Add("10.9.9.9", 0, &agentTarget{hop: hop})
	h.SetRoutes(r)
	invite := req("INVITE sip:bob@10.9.9.9 SIP/2.0", "Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK-i1",
		"From: <sip:a@x>;tag=1", "To: <sip:bob@10.9.9.9>", "Call-ID: c1", "CSeq: 1 INVITE", "Content-Length: 0")
	branch := func(b []byte) string {
		t.Helper()
		var out bytes.Buffer
		if res := h.Process(b, clientSrc, &out); res.Verdict != Forwarded {
			t.Fatalf("verdict %v:\n%s", res.Verdict, out.String())
		}
		got := hop.recv(t)
		i := strings.Index(got, ";branch=")
		return got[i+8 : strings.Index(got[i:], ";rport")+i]
	}
	b1 := branch(invite)
	if b1 != branch(invite) {
		t.Error("a retransmission got another branch")
	}
	cancel := bytes.ReplaceAll(invite, []byte("INVITE"), []byte("CANCEL"))
	if branch(cancel) != b1 {
		t.Error("the CANCEL got another branch than its INVITE")
	}
	ack := bytes.Replace(bytes.ReplaceAll(invite, []byte("INVITE"), []byte("ACK")), []byte("To: <sip:bob@10.9.9.9>"), []byte("To: <sip:bob@10.9.9.9>;tag=9"), 1)
	if branch(ack) != b1 {
		t.Error("the ACK of a non-2xx response got another branch than its INVITE")
	}
	other := bytes.Replace(invite, []byte("z9hG4bK-i1"), []byte("z9hG4bK-i2"), 1)
	if branch(other) == b1 {
		t.Error("another transaction got the same branch")
	}
	if !strings.HasPrefix(b1, "z9hG4bKac"+h.Instance()+"f") {
		t.Errorf("branch %s", b1)
	}
	if NewHandler().Instance() == h.Instance() {
		t.Error("two handlers share an instance tag")
	}
}

// Routes compare names without case, addresses canonically, and prefer
// host and port.
func TestRoutes(t *testing.T) {
	a, b, c := &agentTarget{}, &agentTarget{}, &agentTarget{}
	r := NewRoutes()
	r.Add("Core-172S1", 0, a)
	r.Add("2001:DB8::1", 0, b)
	r.Add("10.0.0.1", 5070, c)
	r.Add("10.0.0.1", 0, a)
	tests := []struct {
		uri  string
		want Target
	}{
		{"sip:x@core-172s1", a},
		{"sip:x@CORE-172S1:5099", a},
		{"sip:x@[2001:db8:0::1]", b},
		{"sip:10.0.0.1:5070", c},
		{"sip:10.0.0.1:5060", a},
		{"sip:10.0.0.1", a},
		{"sip:10.0.0.2", nil},
		{"sip:other.example", nil},
	}
	for _, tt := range tests {
		var u sip.Uri
		if err := sip.ParseUri(tt.uri, &u); err != nil {
			t.Fatal(err)
		}
		if got := r.Lookup(&u); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.uri, got, tt.want)
		}
	}
	var none *Routes
	if none.Lookup(&sip.Uri{Host: "x"}) != nil {
		t.Error("nil routes found something")
	}
}

// Ping responses come back as Own with the agent and sequence; responses
// that are not ours, or ours without an ingress, are dropped.
func TestPingAndForeignResponses(t *testing.T) {
	hop := newUDPHop(t)
	h := NewHandler()
	var out bytes.Buffer
	h.WritePing(&out, hop, Ping{Point: 7, Seq: 42, Host: "core-172S1", Port: 5060})
	ping := out.String()
	if !strings.HasPrefix(ping, "OPTIONS sip:core-172S1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP ") || !strings.Contains(ping, "\r\nCSeq: 42 OPTIONS\r\n") {
		t.Fatalf("ping:\n%s", ping)
	}
	m, err := h.parser.ParseSIP([]byte(ping))
	if err != nil {
		t.Fatalf("ping does not parse: %v", err)
	}
	resp := sip.NewResponseFromRequest(m.(*sip.Request), 200, "OK", nil)
	res := h.Process([]byte(resp.String()), src, &out)
	if res.Verdict != Own || res.Back.Point != 7 || res.Seq != 42 || res.Status != 200 {
		t.Errorf("ping response: %+v", res)
	}
	foreign := req("SIP/2.0 200 OK", "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK-4", "From: <sip:a@b>;tag=1",
		"To: <sip:c@d>;tag=2", "Call-ID: x", "CSeq: 1 OPTIONS", "Content-Length: 0")
	if res := h.Process(foreign, src, &out); res.Verdict != Response {
		t.Errorf("foreign response: %v", res.Verdict)
	}
	// Ours, but only one Via (nowhere to go): dropped.
	lone := bytes.Replace(foreign, []byte("z9hG4bK-4"), []byte("z9hG4bKac"+h.Instance()+"fx.y;acli-in=1.2"), 1)
	if res := h.Process(lone, src, &out); res.Verdict != Response {
		t.Errorf("our response with one Via: %v", res.Verdict)
	}
	// Another handler's responses are not ours.
	if res := NewHandler().Process([]byte(resp.String()), src, &out); res.Verdict != Response {
		t.Errorf("another instance's ping response: %v", res.Verdict)
	}
}

// viaDest follows received and rport (RFC 3581), then sent-by, then 5060.
func TestViaDest(t *testing.T) {
	tests := []struct {
		via  string
		want string
	}{
		{"SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK-1", "10.0.0.1:5070"},
		{"SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1", "10.0.0.1:5060"},
		{"SIP/2.0/UDP host.example:5070;branch=z9hG4bK-1;received=10.0.0.2", "10.0.0.2:5070"},
		{"SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK-1;received=10.0.0.2;rport=6000", "10.0.0.2:6000"},
		{"SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK-1", "[2001:db8::1]:5070"},
		{"SIP/2.0/UDP host.example;branch=z9hG4bK-1", "invalid AddrPort"},
	}
	for _, tt := range tests {
		var v sip.ViaHeader
		h, err := sip.DefaultHeadersParser()["via"]([]byte("via"), tt.via)
		if err != nil {
			t.Fatal(err)
		}
		v = *h.(*sip.ViaHeader)
		if got := viaDest(&v).String(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.via, got, tt.want)
		}
	}
}

func BenchmarkForward(b *testing.B) {
	hop := newUDPHop(b)
	h := NewHandler()
	r := NewRoutes()
	r.Add("core-172S1", 0, &agentTarget{hop: hop})
	h.SetRoutes(r)
	msg := withBody(message(), "hello")
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := hop.peer.Read(buf); err != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		if h.Process(msg, clientSrc, &out).Verdict != Forwarded {
			b.Fatal("not forwarded")
		}
	}
}
