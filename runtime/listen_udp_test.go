package runtime

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"golang.org/x/sys/unix"
)

// TestUDPListener: the blocking UDP listener answers small and large
// datagrams over IPv4 and IPv6, counts them, and frees its port on close.
func TestUDPListener(t *testing.T) {
	for _, c := range []struct{ name, addr string }{{"IPv4", "127.0.0.1"}, {"IPv6", "::1"}} {
		t.Run(c.name, func(t *testing.T) {
			p := freePort(t)
			e := NewEngine(testLog(t))
			defer e.Close()
			key := "UDP " + addr(c.addr, p)
			wantReport(t, e.Apply(config([]port{{"core", "UDP", c.addr, p, nil}}, nil, nil), "v1"), []string{key}, nil, nil, 0)

			u, err := net.Dial("udp", addr(c.addr, p))
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			buf := make([]byte, 65536)
			for _, pad := range []int{0, 9000, 60000} { // a batch slot of the SCTP reader is 8 KB; UDP takes the largest
				msg := optionsMsg("UDP")
				if pad > 0 {
					msg = bytes.Replace(msg, []byte("Max-Forwards: 70\r\n"),
						[]byte("Max-Forwards: 70\r\nX-Pad: "+strings.Repeat("a", pad)+"\r\n"), 1)
				}
				u.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := u.Write(msg); err != nil {
					t.Fatal(err)
				}
				n, err := u.Read(buf)
				if err != nil {
					t.Fatalf("%d-byte OPTIONS: %v", len(msg), err)
				}
				if line, _, _ := bytes.Cut(buf[:n], []byte("\r\n")); string(line) != "SIP/2.0 200 OK" {
					t.Fatalf("%d-byte OPTIONS answered %q", len(msg), line)
				}
			}
			var ls []control.Listener
			eventually(t, "3 messages in and 3 out", func() string { // counted after the send
				if ls = e.Listeners(); len(ls) != 1 || ls[0].Counters.MessagesIn != 3 || ls[0].Counters.MessagesOut != 3 {
					return fmt.Sprintf("%+v", ls)
				}
				return ""
			})
			if len(ls[0].Addrs) != 1 || ls[0].Addrs[0] != addr(c.addr, p) {
				t.Errorf("listener address %v, want %s", ls[0].Addrs, addr(c.addr, p))
			}
			wantReport(t, e.Apply(config(nil, nil, nil), "v2"), nil, nil, []string{key}, 0)
			l, err := net.ListenPacket("udp", addr(c.addr, p))
			if err != nil {
				t.Fatalf("the port is still held after the listener closed: %v", err)
			}
			l.Close()
		})
	}
}

// TestUDPHot: new UDP listeners start cold; the engine lets their readers
// go hot only when they leave a P to the rest (Engine.tuneReaders).
func TestUDPHot(t *testing.T) {
	procs := goruntime.GOMAXPROCS(0)
	e := NewEngine(testLog(t))
	defer e.Close()
	hot := func() (n int) {
		e.do(func() {
			for _, ent := range e.table {
				if l, ok := ent.l.(*udpListener); ok && l.w.HotAllowed() {
					n++
				}
			}
		})
		return n
	}
	var many []port
	for range procs + 1 { // more readers than Ps: all cold
		many = append(many, port{"core", "UDP", "127.0.0.1", freePort(t), nil})
	}
	if rep := e.Apply(config(many, nil, nil), "v1"); len(rep.Opened) != len(many) {
		t.Fatalf("apply: %+v", rep)
	}
	if n := hot(); n != 0 {
		t.Errorf("%d UDP listeners on %d Ps: %d hot, want 0", len(many), procs, n)
	}
	if rep := e.Apply(config(many[:1], nil, nil), "v2"); len(rep.Closed) != len(many)-1 {
		t.Fatalf("apply: %+v", rep)
	}
	if n := hot(); n != 1 {
		t.Errorf("one UDP listener alone: %d hot, want 1", n)
	}
	if s, err := udpOptions(t, addr("127.0.0.1", many[0].port)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS to the hot listener: %q, %v", s, err)
	}
}

// RFC 4475 3.3.11 "novelsc": an OPTIONS whose Request-URI has the scheme
// soap.beep is answered 416 Unsupported URI Scheme, over UDP and over TCP,
// and the listener counts it as answered, not as a parse error.
func TestUnsupportedURIScheme(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	wantReport(t, e.Apply(config([]port{{"core", "UDP", "127.0.0.1", p, nil}, {"core", "TCP", "127.0.0.1", p, nil}}, nil, nil), "v1"),
		[]string{"UDP 127.0.0.1:" + itoa(p), "TCP 127.0.0.1:" + itoa(p)}, nil, nil, 0)
	novelsc := func(transport string) []byte {
		return []byte("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n" +
			"To: sip:framework@example.com\r\n" +
			"From: sip:tester@example.com;tag=8392034\r\n" +
			"Max-Forwards: 70\r\n" +
			"Call-ID: novelsc.asdfasser0q239nvn\r\n" +
			"CSeq: 3923423 OPTIONS\r\n" +
			"Via: SIP/2.0/" + transport + " host9.example.com;branch=z9hG4bKkdjuw39234\r\n" +
			"Content-Length: 0\r\n\r\n")
	}
	u, err := net.Dial("udp", addr("127.0.0.1", p))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := u.Write(novelsc("UDP")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	n, err := u.Read(buf)
	if err != nil {
		t.Fatalf("no answer to novelsc over UDP: %v", err)
	}
	resp := string(buf[:n])
	if !strings.HasPrefix(resp, "SIP/2.0 416 Unsupported URI Scheme\r\n") || !strings.Contains(resp, "\r\nCSeq: 3923423 OPTIONS\r\n") ||
		!strings.Contains(resp, "\r\nVia: SIP/2.0/UDP host9.example.com;branch=z9hG4bKkdjuw39234;received=127.0.0.1\r\n") {
		t.Fatalf("novelsc over UDP:\n%s", resp)
	}

	c := dialTCP(t, addr("127.0.0.1", p))
	c.Write(novelsc("TCP"))
	if s, err := c.readResponse(); err != nil || !strings.HasPrefix(s, "SIP/2.0 416 Unsupported URI Scheme") {
		t.Fatalf("novelsc over TCP: %q, %v", s, err)
	}
	eventually(t, "counters", func() string { // an answer is counted just after it is sent
		for _, l := range e.Listeners() {
			if l.Counters.MessagesIn != 1 || l.Counters.MessagesOut != 1 || l.Counters.ParseErrors != 0 {
				return fmt.Sprintf("%s counters %+v", l.Key, l.Counters)
			}
		}
		return ""
	})
}

// TestUDPReceiveBuffer: a burst of datagrams that nobody reads yet waits in
// the socket's receive buffer when it is sized as udp-socket-rcvbuf says
// (4 MiB, the default), where the operating system's default drops most
// of it; either way the kernel's drops counter accounts for every datagram
// that did not arrive.
func TestUDPReceiveBuffer(t *testing.T) {
	const burst, size = 400, 1200
	for _, tt := range []struct {
		name      string
		rcvbuf    int
		wantDrops bool
	}{{"operating system default", 0, true}, {"udp-socket-rcvbuf 4194304", 4 << 20, false}} {
		t.Run(tt.name, func(t *testing.T) {
			fd, err := bindUDP(netip.MustParseAddrPort("127.0.0.1:0"))
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := setRcvBuf(fd, tt.rcvbuf); err != nil {
				t.Fatal(err)
			}
			sa, err := unix.Getsockname(fd)
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for range burst {
				if _, err := c.Write(make([]byte, size)); err != nil {
					t.Fatal(err)
				}
			}
			got := 0
			buf := make([]byte, 2*size)
			for {
				if _, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT); err != nil {
					break
				}
				got++
			}
			drops := socketDrops(fd)
			rcvbuf, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
			t.Logf("receive buffer %d bytes: %d of %d datagrams received, %d dropped", rcvbuf, got, burst, drops)
			if got+int(drops) != burst {
				t.Errorf("%d received + %d dropped, want the %d sent", got, drops, burst)
			}
			if (drops > 0) != tt.wantDrops {
				t.Errorf("%d dropped; want drops %v", drops, tt.wantDrops)
			}
		})
	}
}

// show sip-ports gives a UDP port's receive buffer and the kernel's drops.
func TestUDPPortsShowBuffer(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	np := map[string]string{"udp-socket-rcvbuf": "1048576"}
	wantReport(t, e.Apply(config([]port{{"core", "UDP", "127.0.0.1", p, nil}}, np, nil), "v1"), []string{"UDP " + addr("127.0.0.1", p)}, nil, nil, 0)
	ports := e.SIPPorts()
	var b bytes.Buffer
	control.WritePorts(&b, &ports)
	want := fmt.Sprintf("  UDP 127.0.0.1:%d receive buffer 2097152 bytes, 0 datagrams dropped by the kernel (buffer full)\n", p)
	if !strings.Contains(b.String(), want) {
		t.Errorf("show sip-ports:\n%s\nlacks %q", b.String(), want)
	}
}

// TestUDPOverload drives a UDP sip-port past what its reader keeps up
// with: a burst of OPTIONS into a small receive buffer. While more than
// half the buffer waits, requests are answered 503 with Retry-After and
// counted (shed, shown in show sip-ports); every datagram is accounted
// for: answered 200, answered 503, or dropped by the kernel and counted.
func TestUDPOverload(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	np := map[string]string{"udp-socket-rcvbuf": "65536"}
	wantReport(t, e.Apply(config([]port{{"core", "UDP", "127.0.0.1", p, nil}}, np, nil), "v1"), []string{"UDP " + addr("127.0.0.1", p)}, nil, nil, 0)

	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr("127.0.0.1", p))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, _ := c.SyscallConn()
	rc.Control(func(fd uintptr) { setRcvBuf(int(fd), 64<<20) }) // the client keeps every answer
	const burst = 20000
	var got200, got503, noRetry int
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			line, rest, _ := bytes.Cut(buf[:n], []byte("\r\n"))
			switch string(line) {
			case "SIP/2.0 200 OK":
				got200++
			case "SIP/2.0 503 Service Unavailable":
				got503++
				if !bytes.Contains(rest, []byte("\r\nRetry-After: 1\r\n")) {
					noRetry++
				}
			}
		}
	}()
	for i := 0; i < burst; i++ {
		if _, err := c.Write(optionsMsg("UDP")); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	var ls []control.Listener
	eventually(t, "every datagram counted", func() string {
		ls = e.Listeners()
		if k := ls[0].Counters; k.MessagesIn+k.KernelDrops != burst {
			return fmt.Sprintf("%d in + %d dropped by the kernel, want %d", k.MessagesIn, k.KernelDrops, burst)
		}
		return ""
	})
	k := ls[0].Counters
	t.Logf("%d OPTIONS in a burst: %d answered 200, %d refused 503 (shed %d), %d dropped by the kernel",
		burst, got200, got503, k.Shed, k.KernelDrops)
	if got503 == 0 || k.Shed != uint64(got503) || noRetry > 0 {
		t.Errorf("%d 503s received (%d without Retry-After), %d counted shed; want some, all with Retry-After, all counted", got503, noRetry, k.Shed)
	}
	if uint64(got200+got503) != k.MessagesIn || k.MessagesOut != k.MessagesIn {
		t.Errorf("%d + %d answers received, %d in, %d out: want every request in answered", got200, got503, k.MessagesIn, k.MessagesOut)
	}
	ports := e.SIPPorts()
	var out bytes.Buffer
	control.WritePorts(&out, &ports)
	if want := fmt.Sprintf("overload: %d requests refused 503 with Retry-After (receive queue over half the buffer)", k.Shed); !strings.Contains(out.String(), want) {
		t.Errorf("show sip-ports lacks %q:\n%s", want, out.String())
	}
}
