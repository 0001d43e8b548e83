package sctp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Loopback addresses: every address of 127.0.0.0/8 works on the guest's lo.
var (
	lo1 = netip.MustParseAddr("127.0.0.1")
	lo2 = netip.MustParseAddr("127.0.0.2")
	lo3 = netip.MustParseAddr("127.0.0.3")
	lo4 = netip.MustParseAddr("127.0.0.4")
)

// testOptions are small-footprint options for tests.
func testOptions() Options {
	o := DefaultOptions()
	o.OutStreams, o.InStreams = 8, 8
	return o
}

type message struct {
	data []byte
	info RecvInfo
}

// server is a Listener with a reader goroutine that records (and, if echo,
// sends back) every message.
type server struct {
	*Listener
	msgs chan message
	done chan struct{}
	err  error // the reader's final error, once done is closed
}

func startServer(t testing.TB, addrs []netip.Addr, port int, o Options, echo bool) *server {
	t.Helper()
	l, err := Listen(addrs, port, o)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Listener: l, msgs: make(chan message, 1024), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 64<<10)
		for {
			n, info, err := l.ReadMsg(buf)
			if err != nil {
				s.err = err
				return
			}
			if echo {
				if err := l.WriteMsg(buf[:n], info.Assoc, info.Stream, info.PPID); err != nil {
					t.Errorf("echo to association %d: %v", info.Assoc, err)
				}
			}
			select {
			case s.msgs <- message{bytes.Clone(buf[:n]), info}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-s.done
	})
	return s
}

// next returns the next message the server received.
func (s *server) next(t testing.TB) message {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return message{}
	}
}

func dial(t testing.TB, local, remote []netip.Addr, port int, o Options) *Conn {
	t.Helper()
	c, err := Dial(local, remote, port, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// hello sends text from c and returns the server-side view of it: the
// server's id of c's association.
func hello(t testing.TB, s *server, c *Conn, text string) RecvInfo {
	t.Helper()
	if err := c.WriteMsg([]byte(text), 0, 0); err != nil {
		t.Fatal(err)
	}
	m := s.next(t)
	if string(m.data) != text {
		t.Fatalf("server got %q, want %q", m.data, text)
	}
	return m.info
}

// rawSocket returns a fresh one-to-many SCTP socket.
func rawSocket(t testing.TB) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// eventually polls cond for up to 5s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
