package sctp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/blockread"
	"github.com/acli-project/acli/runtime/internal/testcfg"
)

// TestBatchLargeMessages: messages longer than a batch slot arrive whole,
// between ordinary ones, through a large buffer.
func TestBatchLargeMessages(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	o := testOptions()
	o.SndBuf = 1 << 20
	c := dial(t, nil, []netip.Addr{lo1}, l.Port(), o)
	sizes := []int{100, slotSize - 1, slotSize, slotSize + 1, 3*slotSize + 17, 60000, 300}
	for i, n := range sizes {
		if err := c.WriteMsg(bytes.Repeat([]byte{byte('a' + i)}, n), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	for i, want := range sizes {
		n, info, err := l.ReadMsg(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !info.EOR || n != want || !bytes.Equal(buf[:n], bytes.Repeat([]byte{byte('a' + i)}, want)) {
			t.Fatalf("message %d: %d bytes (EOR %v), want %d bytes of %q", i, n, info.EOR, want, rune('a'+i))
		}
	}
}

// TestBatchBurst: a burst on one association is read in fewer system
// calls than messages, complete and in order.
func TestBatchBurst(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := dial(t, nil, []netip.Addr{lo1}, l.Port(), testOptions())
	const n = 200
	for i := range n {
		if err := c.WriteMsg(fmt.Appendf(nil, "message %d", i), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	for i := range n {
		k, _, err := l.ReadMsg(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := fmt.Sprintf("message %d", i); string(buf[:k]) != want {
			t.Fatalf("got %q, want %q", buf[:k], want)
		}
	}
	st := l.Stats()
	t.Logf("%d messages (COMM_UP included) in %d reads", st.Messages, st.Reads)
	if st.Messages != n+1 || st.Reads >= st.Messages {
		t.Errorf("stats %+v: want %d messages in fewer reads", st, n+1)
	}
}

// TestQueueFlush: queued responses go to their associations; one to an
// association that does not exist fails alone.
func TestQueueFlush(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	var conns []*Conn
	var ids []AssocID
	buf := make([]byte, 1024)
	for i := range 3 {
		c := dial(t, nil, []netip.Addr{lo1}, l.Port(), testOptions())
		if err := c.WriteMsg(fmt.Appendf(nil, "hello %d", i), 0, 0); err != nil {
			t.Fatal(err)
		}
		_, info, err := l.ReadMsg(buf)
		if err != nil {
			t.Fatal(err)
		}
		conns, ids = append(conns, c), append(ids, info.Assoc)
	}
	// More than a batch, so that QueueMsg flushes on its own once.
	total := 0
	for r := range batchSlots {
		for i, id := range ids {
			l.QueueMsg(fmt.Appendf(nil, "answer %d to %d", r, i), id, 0, 0)
			total++
		}
	}
	l.QueueMsg([]byte("nobody"), 4242, 0, 0)
	sent, failed, err := l.Flush()
	if sent != total || failed != 1 || err == nil {
		t.Fatalf("Flush: sent %d, failed %d, err %v; want %d, 1 and an error", sent, failed, err, total)
	}
	t.Log(err)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for r := range batchSlots {
			n, _, err := c.ReadMsg(buf)
			if err != nil {
				t.Fatalf("conn %d: %v", i, err)
			}
			if want := fmt.Sprintf("answer %d to %d", r, i); string(buf[:n]) != want {
				t.Fatalf("conn %d got %q, want %q", i, buf[:n], want)
			}
		}
	}
	if sent, failed, err := l.Flush(); sent != 0 || failed != 0 || err != nil {
		t.Errorf("second Flush: %d, %d, %v; want nothing", sent, failed, err)
	}
}

// TestColdReader: an idle reader parks; a message, a new deadline and
// Close each wake it at once.
func TestColdReader(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
		at  time.Time
	}
	read := func() chan result {
		ch := make(chan result, 1)
		go func() {
			n, _, err := l.ReadMsg(make([]byte, 1024))
			ch <- result{n, err, time.Now()}
		}()
		return ch
	}
	// A message.
	ch := read()
	time.Sleep(blockread.ColdAfter*blockread.HotTimeout + 100*time.Millisecond)
	c := dial(t, nil, []netip.Addr{lo1}, l.Port(), testOptions())
	if err := c.WriteMsg([]byte("wake up"), 0, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		if r.err != nil || r.n != len("wake up") {
			t.Fatalf("ReadMsg: %d, %v", r.n, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a message did not wake the reader")
	}

	// A deadline set while the reader is parked without one.
	ch = read()
	time.Sleep(blockread.ColdAfter*blockread.HotTimeout + 100*time.Millisecond)
	set := time.Now()
	l.SetReadDeadline(set.Add(50 * time.Millisecond))
	select {
	case r := <-ch:
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("ReadMsg: %v, want the deadline", r.err)
		}
		if d := r.at.Sub(set); d < 40*time.Millisecond || d > time.Second {
			t.Errorf("deadline fired after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a new deadline did not wake the reader")
	}
	l.SetReadDeadline(time.Time{})

	// Close.
	ch = read()
	time.Sleep(blockread.ColdAfter*blockread.HotTimeout + 100*time.Millisecond)
	closed := time.Now()
	l.Close()
	select {
	case r := <-ch:
		if !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("ReadMsg: %v, want net.ErrClosed", r.err)
		}
		if d := r.at.Sub(closed); d > time.Second {
			t.Errorf("Close took %v to wake the reader", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the reader")
	}
}

// TestColdOnly: a reader kept cold (SetHot(false)) reads bursts and
// echoes like a hot one.
func TestColdOnly(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1}, 0, testOptions(), true)
	s.SetHot(false)
	c := dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	for round := range 3 {
		for i := range 50 {
			if err := c.WriteMsg(fmt.Appendf(nil, "%d.%d", round, i), 0, 0); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 50 {
			n, _, err := c.ReadMsg(buf)
			if err != nil {
				t.Fatalf("round %d, echo %d: %v", round, i, err)
			}
			if want := fmt.Sprintf("%d.%d", round, i); string(buf[:n]) != want {
				t.Fatalf("echo %q, want %q", buf[:n], want)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := s.Stats(); st.Reads == 0 || st.Messages < 151 {
		t.Errorf("stats %+v", st)
	}
}

// TestTrackAssocsOff: without association tracking the Listener reads no
// notification, yet knows how many associations there are and which.
func TestTrackAssocsOff(t *testing.T) {
	s := startServer(t, []netip.Addr{lo1}, 0, testOptions(), false)
	if err := s.TrackAssocs(false); err != nil {
		t.Fatal(err)
	}
	want := map[AssocID]bool{}
	for i := range 3 {
		c := dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions())
		want[hello(t, s, c, fmt.Sprintf("hello %d", i)).Assoc] = true
	}
	st := s.Stats()
	if st.Notifications != 0 || st.Up != 0 || st.Assocs != 3 {
		t.Errorf("stats %+v: want no notification and 3 associations (from the kernel)", st)
	}
	ids, err := s.AssocIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("AssocIDs %v, want 3", ids)
	}
	for _, id := range ids {
		if !want[id] {
			t.Errorf("AssocIDs %v, want those of the messages %v", ids, want)
		}
	}
	o := testOptions()
	o.MaxAssocs = 10
	if err := s.SetOptions(o); err == nil {
		t.Error("SetOptions with MaxAssocs succeeded without tracking")
	}
	// Back on: new associations are counted again.
	if err := s.TrackAssocs(true); err != nil {
		t.Fatal(err)
	}
	c := dial(t, nil, []netip.Addr{lo1}, s.Port(), testOptions())
	hello(t, s, c, "tracked")
	if st := s.Stats(); st.Up != 1 || st.Notifications != 1 {
		t.Errorf("stats %+v: want the new association's COMM_UP", st)
	}
	if err := s.SetOptions(o); err != nil {
		t.Errorf("SetOptions with MaxAssocs and tracking: %v", err)
	}
	if err := s.TrackAssocs(false); err == nil {
		t.Error("TrackAssocs(false) succeeded with MaxAssocs set")
	}
}

// TestFlushBeforeWait: a response queued for a message that a batch's
// notifications follow goes out before the reader waits for more, although
// the caller never saw Buffered at 0 (ReadMsg consumed the notifications).
func TestFlushBeforeWait(t *testing.T) {
	l, err := Listen([]netip.Addr{lo1}, 0, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a := dial(t, nil, []netip.Addr{lo1}, l.Port(), testOptions())
	if err := a.WriteMsg([]byte("request"), 0, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)                        // the request reaches the listener's queue
	dial(t, nil, []netip.Addr{lo1}, l.Port(), testOptions()) // then a COMM_UP after it
	time.Sleep(50 * time.Millisecond)
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	n, info, err := l.ReadMsg(buf)
	if err != nil || string(buf[:n]) != "request" {
		t.Fatalf("ReadMsg: %q, %v", buf[:n], err)
	}
	if l.Buffered() == 0 {
		t.Fatal("setup: the second association's COMM_UP did not come in the request's batch")
	}
	l.QueueMsg([]byte("response"), info.Assoc, 0, 0)
	done := make(chan error, 1)
	go func() { _, _, err := l.ReadMsg(buf); done <- err }() // consumes the COMM_UP, then waits
	a.SetReadDeadline(time.Now().Add(2 * time.Second))
	got := make([]byte, 1024)
	if n, _, err := a.ReadMsg(got); err != nil || string(got[:n]) != "response" {
		t.Fatalf("client: %q, %v; want the response while the listener waits", got[:n], err)
	}
	if st := l.Stats(); st.Sent != 1 || st.SendFailed != 0 {
		t.Errorf("stats: sent %d, failed %d; want 1 and 0", st.Sent, st.SendFailed)
	}
	l.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("waiting ReadMsg after Close: %v", err)
	}
}

// TestBacklog: a peer that does not read fills its association's send
// buffer. Flush then returns at once, the Listener goes on answering
// another association, and the stuck association's messages wait in the
// backlog: sent in order once the peer reads, dropped and counted as
// expired when the peer leaves them without room beyond sctp-send-ttl.
// The kernel's default sndbuf_policy (0) shares one send buffer among a
// socket's associations, so that a peer that does not read leaves none to
// the others; the test asks for one buffer per association (1), as an
// operator would for a server with many peers.
func TestBacklog(t *testing.T) {
	testcfg.SndbufPolicy(t, "1")
	l := smallSendBuffer(t)
	l.SetReadDeadline(time.Now().Add(10 * time.Second))
	slowOpts := testOptions()
	// Windows large enough to reopen by more than loopback's path MTU
	// (64 KiB) when the peer reads, which is what makes the kernel send
	// a window update at once.
	slowOpts.RcvBuf = 64 << 10
	buf := make([]byte, 16<<10)
	connect := func(name string, o Options) (*Conn, AssocID) {
		c := dial(t, nil, []netip.Addr{lo1}, l.Port(), o)
		if err := c.WriteMsg([]byte(name), 0, 0); err != nil {
			t.Fatal(err)
		}
		n, info, err := l.ReadMsg(buf)
		if err != nil || string(buf[:n]) != name {
			t.Fatalf("ReadMsg: %q, %v; want %q", buf[:n], err, name)
		}
		return c, info.Assoc
	}
	msg := func(i int) []byte {
		m := fmt.Appendf(nil, "message %04d ", i)
		return append(m, bytes.Repeat([]byte{'x'}, 4096-len(m))...)
	}
	// stuff queues messages for a peer that does not read until the
	// backlog holds some; no Flush may wait for room.
	stuff := func(assoc AssocID) int {
		n := 0
		for ; l.e.slow.n.Load() < 8; n++ {
			if n > 10000 {
				t.Fatal("10,000 messages and no backlog")
			}
			l.QueueMsg(msg(n), assoc, 0, 0)
			start := time.Now()
			if _, failed, err := l.Flush(); failed != 0 {
				t.Fatalf("Flush of message %d: %d failed: %v", n, failed, err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Fatalf("Flush of message %d took %v: the reader waited for room", n, d)
			}
		}
		return n
	}

	slow, slowID := connect("slow", slowOpts)
	fast, fastID := connect("fast", testOptions())
	total := stuff(slowID)
	t.Logf("%d messages, %d of them backlogged", total, l.e.slow.n.Load())
	l.QueueMsg([]byte("answer"), fastID, 0, 0)
	if sent, failed, err := l.Flush(); sent != 1 || failed != 0 {
		t.Fatalf("Flush to the reading peer: sent %d, failed %d, %v", sent, failed, err)
	}
	fast.SetReadDeadline(time.Now().Add(time.Second))
	if n, _, err := fast.ReadMsg(buf); err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("the reading peer: %q, %v; want its answer while the other is stuck", buf[:n], err)
	}
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range total {
		n, _, err := slow.ReadMsg(buf)
		if err != nil {
			t.Fatalf("slow peer, message %d of %d: %v", i, total, err)
		}
		if !bytes.Equal(buf[:n], msg(i)) {
			t.Fatalf("slow peer: message %d is %.13q, want %.13q", i, buf[:n], msg(i))
		}
	}
	if st := l.Stats(); st.Sent != uint64(total)+1 || st.SendFailed != 0 || l.e.slow.n.Load() != 0 {
		t.Fatalf("after the slow peer read: sent %d, failed %d, backlog %d; want %d, 0, 0",
			st.Sent, st.SendFailed, l.e.slow.n.Load(), total+1)
	}

	// A peer that never reads, with sctp-send-ttl 300: its backlog
	// expires after 300 ms, all of it, counted.
	o := l.Options()
	o.SendTTL = 300
	if err := l.SetOptions(o); err != nil {
		t.Fatal(err)
	}
	stuckOpts := testOptions()
	stuckOpts.RcvBuf = 4096
	stuck, stuckID := connect("stuck", stuckOpts)
	defer stuck.Close()
	before := l.Stats()
	more := stuff(stuckID)
	backlogged := uint64(l.e.slow.n.Load())
	start := time.Now()
	for l.e.slow.n.Load() > 0 && time.Since(start) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	st := l.Stats()
	if n := l.e.slow.n.Load(); n != 0 {
		t.Fatalf("backlog of a peer that never reads: %d messages left after 5s", n)
	}
	t.Logf("%d backlogged messages expired after %v", backlogged, time.Since(start).Round(time.Millisecond))
	// Every message queued was either sent or expired, counted once. The
	// backlog may hand one more to the kernel after the count above: a
	// zero-window probe the peer acknowledges frees room in the send
	// buffer. All but such a one expire.
	expired := st.Backlog.Expired - before.Backlog.Expired
	if failed := st.SendFailed - before.SendFailed; failed != expired || expired == 0 || expired+1 < backlogged || expired > backlogged {
		t.Errorf("failed %d, expired %d; want the %d backlogged (or one fewer) (of %d queued)", failed,
			expired, backlogged, more)
	}
	if sent := st.Sent - before.Sent; sent+expired != uint64(more) {
		t.Errorf("sent %d + expired %d, want the %d queued", sent, expired, more)
	}
	if st.Backlog.Messages != 0 || st.Backlog.Bytes != 0 || st.Backlog.PeakBytes < 8*4096 ||
		st.Backlog.LimitAssoc != DefaultBacklogAssoc || st.Backlog.LimitTotal != DefaultBacklogTotal {
		t.Errorf("backlog stats %+v", st.Backlog)
	}
}

// TestWriteMsgBacklog: a Listener's WriteMsg to a peer that does not read
// never waits: the messages the send buffer cannot take wait in the
// backlog up to its bound per association (sctp-backlog-assoc), and
// those beyond it are refused at once and counted.
func TestWriteMsgBacklog(t *testing.T) {
	l := smallSendBuffer(t)
	o := l.Options()
	o.BacklogAssoc = 64 << 10
	if err := l.SetOptions(o); err != nil {
		t.Fatal(err)
	}
	co := testOptions()
	co.RcvBuf = 4096
	c := dial(t, nil, []netip.Addr{lo1}, l.Port(), co)
	if err := c.WriteMsg([]byte("hello"), 0, 0); err != nil {
		t.Fatal(err)
	}
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	_, info, err := l.ReadMsg(buf)
	if err != nil {
		t.Fatal(err)
	}
	m := bytes.Repeat([]byte{'x'}, 4096)
	for i := 0; ; i++ {
		start := time.Now()
		err := l.WriteMsg(m, info.Assoc, 0, 0)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("WriteMsg %d waited %v", i, d)
		}
		if err == nil {
			if i > 1000 {
				t.Fatalf("%d messages to a peer that does not read, all taken", i)
			}
			continue
		}
		if !errors.Is(err, errAssocFull) {
			t.Fatalf("message %d: %v, want the backlog-full error", i, err)
		}
		st := l.Stats().Backlog
		if st.Overflowed != 1 || st.Bytes > 64<<10 || st.Bytes < 60<<10 || st.MaxAssocBytes != st.Bytes || st.LimitAssoc != 64<<10 {
			t.Errorf("backlog %+v: want 1 overflowed, 16 messages of 4096 bytes held", st)
		}
		t.Logf("message %d: %v; backlog %+v", i, err, st)
		return
	}
}

// smallSendBuffer returns a Listener on lo1 whose send buffer a peer that
// does not read fills after a few messages, closed after the test.
func smallSendBuffer(t *testing.T) *Listener {
	o := testOptions()
	o.SndBuf = 8 << 10
	l, err := Listen([]netip.Addr{lo1}, 0, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
