package sctp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// TestEcho: a SIP-like message with PPID 0 on stream 0 reaches the listener
// tagged with its association, and the reply goes back on that association.
func TestEcho(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1}, 0, testOptions(), true)
	c := dial(t, []netip.Addr{lo3}, []netip.Addr{lo1}, s.Port(), testOptions())
	req := "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n"
	info := hello(t, s, c, req)
	if info.PPID != 0 || info.Stream != 0 || !info.EOR || info.Unordered() {
		t.Errorf("server RecvInfo %+v: want PPID 0, stream 0, EOR, ordered", info)
	}
	if info.Peer.Addr() != lo3 {
		t.Errorf("peer %v, want %v", info.Peer, lo3)
	}
	if info.Assoc <= sctpwire.AllAssoc {
		t.Errorf("association id %d", info.Assoc)
	}
	buf := make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, rinfo, err := c.ReadMsg(buf)
	if err != nil || string(buf[:n]) != req {
		t.Fatalf("reply %q, %v", buf[:n], err)
	}
	if rinfo.Assoc != c.Assoc() || rinfo.PPID != 0 || rinfo.Peer != netip.AddrPortFrom(lo1, uint16(s.Port())) {
		t.Errorf("client RecvInfo %+v", rinfo)
	}

	// PPIDs travel as their wire value; streams and the unordered flag too.
	uo := testOptions()
	uo.Unordered, uo.SendTTL = true, 5000
	cu := dial(t, nil, []netip.Addr{lo1}, s.Port(), uo)
	if err := cu.WriteMsg([]byte("x"), 5, 46); err != nil {
		t.Fatal(err)
	}
	m := s.next(t)
	if m.info.PPID != 46 || m.info.Stream != 5 || !m.info.Unordered() {
		t.Errorf("RecvInfo %+v: want PPID 46, stream 5, unordered", m.info)
	}
	cu.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, ri, err := cu.ReadMsg(buf); err != nil || string(buf[:n]) != "x" || ri.PPID != 46 || ri.Stream != 5 { // the server sends ordered
		t.Fatalf("echo of x: %q %+v %v", buf[:n], ri, err)
	}
	// A message bigger than the buffer comes in pieces, the last with EOR.
	big := make([]byte, 3000)
	for i := range big {
		big[i] = byte(i)
	}
	if err := s.WriteMsg(big, m.info.Assoc, 1, 0); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		n, ri, err := cu.ReadMsg(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
		if ri.EOR {
			break
		}
	}
	if !slices.Equal(got, big) {
		t.Errorf("reassembled %d bytes, want the 3000 sent", len(got))
	}
}

// TestMultiHoming: a listener bound to 127.0.0.1 and 127.0.0.2 is reached
// through each address, and a multi-homed client shows both its addresses.
func TestMultiHoming(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1, lo2}, 0, testOptions(), true)
	port := uint16(s.Port())
	local, err := s.LocalAddrs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(local, netip.AddrPortFrom(lo1, port)) || !slices.Contains(local, netip.AddrPortFrom(lo2, port)) || len(local) != 2 {
		t.Errorf("listener bound to %v, want %v and %v on port %d", local, lo1, lo2, port)
	}
	for _, remote := range []netip.Addr{lo1, lo2} {
		c := dial(t, nil, []netip.Addr{remote}, int(port), testOptions())
		info := hello(t, s, c, "via "+remote.String())
		st, err := c.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.PrimaryAddr.Addr != netip.AddrPortFrom(remote, port) {
			t.Errorf("client's primary path %v, want %v", st.PrimaryAddr.Addr, remote)
		}
		// The client learns both server addresses from the INIT-ACK.
		peers, err := c.PeerAddrs()
		if err != nil || len(peers) != 2 {
			t.Errorf("client sees server addresses %v (%v), want 2", peers, err)
		}
		s.Abort(info.Assoc)
	}
	// A multi-homed client (127.0.0.3 + 127.0.0.4).
	c := dial(t, []netip.Addr{lo3, lo4}, []netip.Addr{lo2, lo1}, int(port), testOptions())
	info := hello(t, s, c, "multi-homed client")
	peers, err := s.PeerAddrs(info.Assoc)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []netip.Addr
	for _, p := range peers {
		addrs = append(addrs, p.Addr())
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	if !slices.Equal(addrs, []netip.Addr{lo3, lo4}) {
		t.Errorf("server sees client addresses %v, want %v", peers, []netip.Addr{lo3, lo4})
	}
	if n, err := s.PeerAddrCount(info.Assoc); err != nil || n != 2 {
		t.Errorf("PeerAddrCount %d (%v), want 2", n, err)
	}
	if _, err := Listen([]netip.Addr{lo1, netip.MustParseAddr("::1")}, 0, testOptions()); err == nil {
		t.Error("Listen accepted addresses of two families")
	}
}

// TestSetOptionsNewAssociationsOnly: options changed on a listener apply to
// associations created afterwards; existing ones keep theirs.
func TestSetOptionsNewAssociationsOnly(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1}, 0, testOptions(), false)
	old := hello(t, s, dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions()), "old").Assoc

	o := testOptions()
	o.RTOInitial, o.RTOMin, o.RTOMax = 1500, 700, 5000
	o.HBInterval, o.PathMaxRetrans, o.AssocMaxRetrans = 0, 2, 4
	o.SackDelay, o.MaxBurst = 100, 2
	if err := s.SetOptions(o); err != nil {
		t.Fatal(err)
	}
	if lo, err := s.ReadOptions(); err != nil || lo.RTOInitial != 1500 || lo.RTOMin != 700 || lo.RTOMax != 5000 {
		t.Fatalf("listener options after SetOptions: %v, %v", lo, err)
	}
	niu := hello(t, s, dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions()), "new").Assoc

	type knobs struct{ initial, min, max, hb, path, assoc, sack, burst int }
	get := func(a AssocID) knobs {
		ao, err := s.ReadAssocOptions(a)
		if err != nil {
			t.Fatal(err)
		}
		return knobs{ao.RTOInitial, ao.RTOMin, ao.RTOMax, ao.HBInterval, ao.PathMaxRetrans, ao.AssocMaxRetrans, ao.SackDelay, ao.MaxBurst}
	}
	if got, want := get(old), (knobs{3000, 1000, 60000, 30000, 5, 10, 200, 4}); got != want {
		t.Errorf("old association: %+v, want its original %+v", got, want)
	}
	if got, want := get(niu), (knobs{1500, 700, 5000, 0, 2, 4, 100, 2}); got != want {
		t.Errorf("new association: %+v, want the changed %+v", got, want)
	}
	// The per-association RTO bounds hold for the live RTO too.
	if st, err := s.Status(niu); err != nil || st.PrimaryAddr.RTO < 700 || st.PrimaryAddr.RTO > 5000 {
		t.Errorf("new association's RTO %d (%v) outside [700, 5000]", st.PrimaryAddr.RTO, err)
	}
	// An existing association can be changed on its own.
	o.RTOMin = 600
	if err := s.SetAssocOptions(old, o); err != nil {
		t.Fatal(err)
	}
	if got := get(old); got.min != 600 || got.initial != 1500 {
		t.Errorf("old association after SetAssocOptions: %+v", got)
	}
}

// TestCloseReleasesPort: Close wakes a blocked reader at once and the port
// can be listened on again right away.
func TestCloseReleasesPort(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1, lo2}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	port := l.Port()
	woke := make(chan time.Time, 1)
	var rerr error
	go func() {
		buf := make([]byte, 1024)
		for {
			if _, _, rerr = l.ReadMsg(buf); rerr != nil {
				woke <- time.Now()
				return
			}
		}
	}()
	c := dial(t, nil, []netip.Addr{lo1}, port, testOptions())
	time.Sleep(50 * time.Millisecond) // the reader is blocked in ReadMsg
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-woke:
		if d := at.Sub(start); d > 100*time.Millisecond {
			t.Errorf("reader woke %v after Close, want < 100ms", d)
		}
		if !errors.Is(rerr, net.ErrClosed) {
			t.Errorf("reader error %v, want net.ErrClosed", rerr)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not wake the blocked reader within 1s")
	}
	if _, _, err := l.ReadMsg(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadMsg after Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	// Re-listen on the same port at once, and serve.
	s := startServer(t, []netip.Addr{lo1, lo2}, port, testOptions(), false)
	hello(t, s, dial(t, nil, []netip.Addr{lo2}, port, testOptions()), "again")
	// The old association was shut down by the kernel.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMsg(make([]byte, 100)); err != io.EOF {
		t.Errorf("old client's read: %v, want io.EOF", err)
	}
}

// TestMaxAssocs: beyond MaxAssocs a new association is aborted at once and
// counted; its early data never reaches the reader; when one closes, a new
// one is accepted again.
func TestMaxAssocs(t *testing.T) {
	o := testOptions()
	o.MaxAssocs = 2
	s := startServer(t, []netip.Addr{lo1}, 0, o, false)
	var mu sync.Mutex
	var events []Notification
	s.OnNotification(func(n Notification) {
		mu.Lock()
		events = append(events, n)
		mu.Unlock()
	})
	c1 := dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions())
	hello(t, s, c1, "c1")
	c2 := dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions())
	hello(t, s, c2, "c2")
	c3, err := Dial(nil, []netip.Addr{lo1}, s.Port(), testOptions())
	if err == nil { // up on the client's side before the server aborts it
		defer c3.Close()
		c3.WriteMsg([]byte("c3"), 0, 0) // may fail: the abort may be there already
		c3.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c3.ReadMsg(make([]byte, 100)); err != io.EOF {
			t.Errorf("third client: %v, want io.EOF (aborted)", err)
		}
	}
	eventually(t, "the third association to be rejected", func() bool { return s.Stats().Rejected == 1 })
	st := s.Stats()
	if st.Assocs != 2 || st.Up != 3 {
		t.Errorf("stats %+v: want 2 associations, 3 up, 1 rejected", st)
	}
	eventually(t, "the kernel to drop the third association", func() bool {
		n, err := s.Assocs()
		return err == nil && n == 2
	})
	// One leaves: room for another.
	c1.Close()
	eventually(t, "the first association to go", func() bool { return s.Stats().Assocs == 1 })
	c4 := dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions())
	hello(t, s, c4, "c4")
	if st := s.Stats(); st.Assocs != 2 || st.Rejected != 1 || st.Down != 1 {
		t.Errorf("stats %+v: want 2 associations, 1 rejected, 1 down", st)
	}
	select {
	case m := <-s.msgs:
		t.Errorf("unexpected message %q from association %d", m.data, m.info.Assoc)
	default:
	}
	eventually(t, "the rejected association to be forgotten", func() bool { return !s.e.isRejectedAny() })
	mu.Lock()
	defer mu.Unlock()
	var ups int
	for _, n := range events {
		if n.Type == sctpwire.AssocChange && n.State == sctpwire.CommUp {
			ups++
		}
	}
	if ups != 4 {
		t.Errorf("handler saw %d COMM_UP, want 4: %v", ups, events)
	}
}

// TestReadDeadline: the netpoller gives ReadMsg deadlines.
func TestReadDeadline(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, _, err = l.ReadMsg(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadMsg: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > time.Second {
		t.Errorf("deadline fired after %v", d)
	}
}

// TestDialRefused: an association to a port nobody listens on fails (the
// peer answers INIT with ABORT) instead of hanging.
func TestDialRefused(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	port := l.Port()
	l.Close()
	if c, err := Dial(nil, []netip.Addr{lo1}, port, testOptions()); err == nil {
		c.Close()
		t.Fatal("Dial to a closed port succeeded")
	} else {
		t.Log(err)
	}
}

// TestSmallBuffer: notifications read through a buffer smaller than they
// are are reassembled, and data comes in pieces.
func TestSmallBuffer(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := dial(t, nil, []netip.Addr{lo1}, l.Port(), testOptions())
	if err := c.WriteMsg([]byte("0123456789abcdef"), 0, 0); err != nil {
		t.Fatal(err)
	}
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 6) // COMM_UP is 20 bytes
	var got []byte
	for {
		n, info, err := l.ReadMsg(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
		if info.EOR {
			break
		}
	}
	if string(got) != "0123456789abcdef" {
		t.Errorf("data %q", got)
	}
	if st := l.Stats(); st.Up != 1 || st.Malformed != 0 || st.Assocs != 1 {
		t.Errorf("stats %+v: want the COMM_UP reassembled", st)
	}
}

// TestWriteErrors: sending to an association that does not exist fails.
func TestWriteErrors(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1}, 0, testOptions(), false)
	if err := s.WriteMsg([]byte("x"), 4242, 0, 0); err == nil {
		t.Error("WriteMsg to association 4242 succeeded")
	} else {
		t.Log(err)
	}
	if err := s.Abort(4242); err == nil {
		t.Error("Abort of association 4242 succeeded")
	}
	// A second listener on a port in use fails.
	if l, err := Listen([]netip.Addr{lo1}, s.Port(), testOptions()); err == nil {
		l.Close()
		t.Errorf("a second Listen on port %d succeeded", s.Port())
	}
}

// TestDialContextCanceled: DialContext gives up when its context ends.
func TestDialContextCanceled(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1}, 0, testOptions(), false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := DialContext(ctx, nil, []netip.Addr{lo1}, s.Port(), testOptions()); err == nil {
		c.Close()
		t.Error("DialContext with a canceled context succeeded")
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestDialUnreachable: a dial to an address that cannot answer
// (TEST-NET-1) fails at once with the kernel's error where it has no route
// (as in the UML guest), else at its context's deadline (the library's
// blocking connect is bounded by SO_SNDTIMEO).
func TestDialUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := DialContext(ctx, nil, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, 5060, testOptions())
	d := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatal("a dial to TEST-NET-1 succeeded")
	}
	t.Logf("after %v: %v", d.Round(time.Millisecond), err)
	switch {
	case errors.Is(err, unix.ENETUNREACH):
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, unix.ETIMEDOUT):
		if d < 400*time.Millisecond {
			t.Errorf("timed out after %v, before the deadline", d)
		}
	default:
		t.Errorf("err = %v, want ENETUNREACH or the deadline", err)
	}
	if d > 2*time.Second {
		t.Errorf("the dial ended after %v, its deadline was 500ms", d)
	}
}

// TestIPv6: the same over ::1.
func TestIPv6(t *testing.T) {
	v6 := netip.IPv6Loopback()
	s := startServer(t, []netip.Addr{v6}, 0, testOptions(), true)
	c := dial(t, nil, []netip.Addr{v6}, s.Port(), testOptions())
	info := hello(t, s, c, "v6")
	if info.Peer.Addr() != v6 {
		t.Errorf("peer %v", info.Peer)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 10)
	if n, ri, err := c.ReadMsg(buf); err != nil || string(buf[:n]) != "v6" || ri.Peer != netip.AddrPortFrom(v6, uint16(s.Port())) {
		t.Errorf("reply %q %+v %v", buf[:n], ri, err)
	}
}
