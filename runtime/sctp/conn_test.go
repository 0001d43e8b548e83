package sctp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// A Conn to a multi-homed listener knows the peer's address count and
// the state of each path.
func TestConnPaths(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1, lo2}, 0, testOptions(), false)
	c := dial(t, []netip.Addr{lo3}, []netip.Addr{lo1}, s.Port(), testOptions())
	hello(t, s, c, "hi")
	if n, err := c.PeerAddrCount(); err != nil || n != 2 {
		t.Errorf("PeerAddrCount = %d, %v; want 2", n, err)
	}
	paths, err := c.Paths()
	if err != nil || len(paths) != 2 {
		t.Fatalf("Paths = %+v, %v", paths, err)
	}
	for _, p := range paths {
		t.Logf("path %v: %s srtt %d rto %d cwnd %d", p.Addr, sctpwire.PathStateName(p.State), p.SRTT, p.RTO, p.Cwnd)
		if p.Addr.Port() != uint16(s.Port()) || (p.Addr.Addr() != lo1 && p.Addr.Addr() != lo2) {
			t.Errorf("path address %v", p.Addr)
		}
		if p.Addr.Addr() == lo1 && p.State != sctpwire.PathActive {
			t.Errorf("primary path %v is %s", p.Addr, sctpwire.PathStateName(p.State))
		}
		if p.RTO == 0 {
			t.Errorf("path %v has no RTO", p.Addr)
		}
	}
	if c.Down() {
		t.Error("Down before the association went down")
	}
}

// sendFailed collects the SEND_FAILED notifications of c.
type sendFailed struct {
	mu  sync.Mutex
	got map[uint32][]byte // context → unsent message
	seq []string          // notification order
}

func collect(c *Conn) *sendFailed {
	sf := &sendFailed{got: map[uint32][]byte{}}
	c.OnNotification(func(n Notification) {
		sf.mu.Lock()
		defer sf.mu.Unlock()
		switch n.Type {
		case sctpwire.SendFailedEvent, sctpwire.SendFailed:
			sf.got[n.Context] = bytes.Clone(n.Info)
			if e := fmt.Sprintf("SEND_FAILED(error %d)", n.Error); len(sf.seq) == 0 || sf.seq[len(sf.seq)-1] != e {
				sf.seq = append(sf.seq, e)
			}
		case sctpwire.AssocChange:
			sf.seq = append(sf.seq, n.StateName())
		}
	})
	return sf
}

// fill sends messages of 1 KiB with contexts 1, 2, ... to a peer that
// does not read, until its receive window and then the send buffer are
// full: TryWriteMsg then fails at once.
func fill(t *testing.T, c *Conn) map[uint32][]byte {
	sent := map[uint32][]byte{}
	for i := 1; ; i++ {
		m := fmt.Appendf(nil, "message %04d ", i)
		m = append(m, bytes.Repeat([]byte{'x'}, 1024-len(m))...)
		err := c.TryWriteMsg(m, 0, 0, uint32(i))
		if errors.Is(err, ErrWouldBlock) && errors.Is(err, unix.EAGAIN) {
			t.Logf("send buffer full after %d messages", i-1)
			return sent
		}
		if err != nil || i > 100000 {
			t.Fatalf("message %d: %v", i, err)
		}
		sent[uint32(i)] = m
	}
}

// When the stack gives up a message (its send TTL expired while the peer's
// window was closed, or the association was lost), the SEND_FAILED
// notification hands back the message itself and the context it was sent
// with; after COMM_LOST, Drain reads those that come late.
func TestSendFailedContext(t *testing.T) {
	o := testOptions()
	o.RcvBuf = 4096
	tests := []struct {
		name string
		ttl  int
		end  func(l *Listener, c *Conn)
	}{
		{"send ttl", 100, func(l *Listener, c *Conn) {
			// The kernel drops expired messages when it next looks at
			// its queue: the zero-window probe, after an RTO.
			c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
			c.ReadMsg(make([]byte, 4096)) // runs the handler until the deadline
			m := []byte("room again")
			if err := c.TryWriteMsg(m, 0, 0, 0); err != nil {
				t.Errorf("the expired messages still fill the send buffer: %v", err)
			}
		}},
		{"association lost", 0, func(l *Listener, c *Conn) {
			l.Close() // unread data: the kernel aborts
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := c.ReadMsg(make([]byte, 4096)); err != io.EOF {
				t.Errorf("ReadMsg after the peer aborted: %v, want io.EOF", err)
			}
			if !c.Down() {
				t.Error("not Down after COMM_LOST")
			}
			c.Drain(300 * time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Listen([]netip.Addr{lo1}, 0, o) // never read: its window closes
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			co := testOptions()
			co.SendTTL = tt.ttl
			co.RTOInitial, co.RTOMin, co.RTOMax = 200, 100, 400
			c := dial(t, []netip.Addr{lo3}, []netip.Addr{lo1}, l.Port(), co)
			sf := collect(c)
			sent := fill(t, c)
			tt.end(l, c)
			sf.mu.Lock()
			defer sf.mu.Unlock()
			t.Logf("%d of %d messages reported unsent; notifications %v", len(sf.got), len(sent), sf.seq)
			if len(sf.got) == 0 {
				t.Fatal("no SEND_FAILED notification")
			}
			for ctx, m := range sf.got {
				if !bytes.Equal(m, sent[ctx]) {
					t.Fatalf("context %d came back with %d bytes %.20q, want the message sent with it", ctx, len(m), m)
				}
			}
		})
	}
}

// SetSendOptions changes the lifetime of later messages.
func TestSetSendOptions(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1}, 0, testOptions(), false)
	c := dial(t, []netip.Addr{lo3}, []netip.Addr{lo1}, s.Port(), testOptions())
	c.SetSendOptions(1234, false)
	info := hello(t, s, c, "ordered")
	if info.Unordered() {
		t.Error("sent unordered after SetSendOptions(_, false)")
	}
	c.SetSendOptions(0, true)
	if info := hello(t, s, c, "unordered"); !info.Unordered() {
		t.Error("sent ordered after SetSendOptions(_, true)")
	}
}

// WriteMsgQueued waits for room no longer than the message's lifetime,
// counted from when it was queued: to a peer that does not read, with
// sctp-send-ttl 300, a message queued now fails with ErrExpired after
// 300 ms, one queued 400 ms ago at once; with no lifetime it waits until
// the peer reads.
func TestWriteMsgQueued(t *testing.T) {
	o := testOptions()
	o.RcvBuf = 4096
	l, err := Listen([]netip.Addr{lo1}, 0, o) // not read until the end: its window closes
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := dial(t, []netip.Addr{lo3}, []netip.Addr{lo1}, l.Port(), testOptions())
	// Full, without a lifetime (the kernel keeps them), once the peer's
	// SACKs of what its window took have come back too.
	for range 3 {
		fill(t, c)
		time.Sleep(400 * time.Millisecond)
	}
	c.SetSendOptions(300, false)
	m := []byte("late")
	for _, tt := range []struct {
		name     string
		queued   time.Time
		min, max time.Duration
	}{
		{"queued now", time.Now(), 250 * time.Millisecond, 2 * time.Second},
		{"queued 400 ms ago", time.Now().Add(-400 * time.Millisecond), 0, 50 * time.Millisecond},
	} {
		start := time.Now()
		err := c.WriteMsgQueued(m, 0, 0, 0, tt.queued)
		d := time.Since(start)
		if !errors.Is(err, ErrExpired) || d < tt.min || d > tt.max {
			t.Errorf("%s: %v after %v; want ErrExpired after %v to %v", tt.name, err, d, tt.min, tt.max)
		}
	}
	c.SetSendOptions(0, false)
	done := make(chan error, 1)
	go func() { done <- c.WriteMsgQueued(m, 0, 0, 0, time.Now().Add(-time.Hour)) }()
	select {
	case err := <-done:
		t.Fatalf("without a lifetime, to a peer that does not read: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	go func() { // the peer reads: room again
		buf := make([]byte, 4096)
		l.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, _, err := l.ReadMsg(buf); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("once the peer reads: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("still waiting 8s after the peer began to read")
	}
}
