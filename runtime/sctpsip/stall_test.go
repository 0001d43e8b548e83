package sctpsip

import (
	"bytes"
	"fmt"
	"github.com/acli-project/acli/runtime/internal/sctptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/sctp"
)

// stallRequests is how many requests a stalled peer sends in its 2 s.
const stallRequests = 1000

// stall runs a peer that sends stallRequests requests over 2 s without
// reading, then reads the responses until none comes for 2 s; it returns
// them in the order they came, with the listener's figures. The listener's
// send buffer is small (sctp-socket-sndbuf) and so is the peer's receive
// window, so that a few hundred responses fill them; sctp-send-mode
// ordered, so that order is the stack's promise too.
func stall(t *testing.T, np map[string]string) ([]string, control.Listener) {
	e := sctptest.NewEngine(t)
	p := port()
	key := fmt.Sprintf("SCTP 127.0.0.1:%d", p)
	np["sctp-socket-sndbuf"], np["sctp-send-mode"] = "8192", "ordered"
	sctptest.Apply(t, e, config(np, sipPort{"SCTP", "127.0.0.1", p, nil}), "v1")
	o := sctp.DefaultOptions()
	// A window that reopens by more than loopback's path MTU (64 KiB)
	// when the peer reads again: the kernel then tells the listener at
	// once (a window update), not at its next zero-window probe.
	o.RcvBuf = 128 << 10
	c, err := sctp.Dial(sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), p, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for i := range stallRequests {
		req := bytes.Replace(options(), []byte("CSeq: 1 "), []byte("CSeq: "+strconv.Itoa(i+1)+" "), 1)
		if err := c.WriteMsg(req, 0, 0); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 2 * time.Second / stallRequests)))
	}
	mid := listener(t, e, key)
	t.Logf("after %v without reading: backlog %+v", time.Since(start).Round(time.Millisecond), *mid.Backlog)
	if mid.Backlog.PeakBytes == 0 {
		t.Fatal("nothing was backlogged: the test does not stall the listener")
	}
	var got []string
	buf := make([]byte, 8192)
	resumed := time.Now()
	for len(got) < stallRequests {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := c.ReadMsg(buf)
		if err != nil {
			break // no more responses
		}
		got = append(got, string(buf[:n]))
	}
	l := listener(t, e, key)
	var out bytes.Buffer
	control.WriteSCTPInfo(&out, []control.Listener{l})
	t.Logf("%d of %d responses received %v after the peer read again; show sctp info:\n%s", len(got), stallRequests,
		time.Since(resumed).Round(time.Millisecond), out.String())
	if !strings.Contains(out.String(), fmt.Sprintf("%d expired (sctp-send-ttl), %d overflowed", l.Backlog.Expired, l.Backlog.Overflowed)) ||
		!strings.Contains(out.String(), fmt.Sprintf("dropped by the kernel  %d (SEND_FAILED", l.Backlog.KernelDropped)) ||
		!strings.Contains(out.String(), fmt.Sprintf("%d requests refused 503", l.Counters.Shed)) {
		t.Error("show sctp info lacks the backlog's drops or the overload count")
	}
	if b := l.Backlog; b.Messages != 0 || b.Bytes != 0 {
		t.Errorf("backlog %+v: want empty", *b)
	}
	return got, l
}

var cseqRE = regexp.MustCompile(`\r\nCSeq: (\d+) OPTIONS\r\n`)

// statuses checks that the responses answer rising CSeqs and counts them
// by status line.
func statuses(t *testing.T, got []string) map[string]int {
	n := map[string]int{}
	last := 0
	for i, r := range got {
		m := cseqRE.FindStringSubmatch(r)
		if m == nil {
			t.Fatalf("response %d without its CSeq: %.60q", i+1, r)
		}
		v, _ := strconv.Atoi(m[1])
		if v <= last {
			t.Fatalf("response to CSeq %d after the one to %d", v, last)
		}
		last = v
		line, _, _ := strings.Cut(r, "\r\n")
		n[line]++
		if strings.HasPrefix(line, "SIP/2.0 503 ") && !strings.Contains(r, "\r\nRetry-After: 1\r\n") {
			t.Errorf("503 without Retry-After:\n%s", r)
		}
	}
	return n
}

// A peer that stops reading for 2 s while it goes on sending requests:
// the responses its window and the listener's send buffer cannot take wait
// in the listener's backlog. With the default sctp-send-ttl (32 s) every
// response arrives once the peer reads again, in order; with 300 ms those
// that waited longer are dropped and counted as expired, and show sctp
// info says so.
func TestStalledPeer(t *testing.T) {
	t.Run("sctp-send-ttl 32000", func(t *testing.T) {
		got, l := stall(t, map[string]string{})
		n := statuses(t, got)
		if n["SIP/2.0 200 OK"] != stallRequests || l.Backlog.Expired != 0 || l.Backlog.KernelDropped != 0 ||
			l.Counters.SendErrors != 0 || l.Counters.MessagesOut != stallRequests {
			t.Errorf("responses %v, %d expired, %d dropped by the kernel, %d send errors, %d out; want all %d answered 200, none lost",
				n, l.Backlog.Expired, l.Backlog.KernelDropped, l.Counters.SendErrors, l.Counters.MessagesOut, stallRequests)
		}
	})
	t.Run("sctp-send-ttl 300", func(t *testing.T) {
		got, l := stall(t, map[string]string{"sctp-send-ttl": "300"})
		statuses(t, got)
		// The kernel drops the expired ones it holds itself and says so
		// (SEND_FAILED, dropped by the kernel); the backlog drops and
		// counts the rest. What the kernel gave up after transmitting it
		// once (a zero-window probe the peer could not take: 2 in each
		// run seen) it abandons without a SEND_FAILED, so the three come
		// within 1% of the requests, not to all of them.
		b := l.Backlog
		sum := len(got) + int(b.Expired) + int(b.KernelDropped)
		t.Logf("%d received, %d expired in the backlog, %d dropped by the kernel: %d of %d", len(got), b.Expired, b.KernelDropped, sum, stallRequests)
		if b.Expired == 0 || b.KernelDropped == 0 || len(got) == 0 || sum > stallRequests || sum < stallRequests*99/100 {
			t.Errorf("%d received, %d expired in the backlog, %d dropped by the kernel: want some of each, within 1%% of %d in all",
				len(got), b.Expired, b.KernelDropped, stallRequests)
		}
		if l.Counters.SendErrors < b.Expired {
			t.Errorf("%d send errors, below the %d expired", l.Counters.SendErrors, b.Expired)
		}
	})
}

// Overload: with a backlog of at most 64 KiB for the association
// (sctp-backlog-assoc), a peer that stops reading for 2 s has its new
// requests refused 503 with Retry-After once more than half of it waits,
// and what does not fit at all is dropped and counted: every request is
// answered, in order, or counted, none lost silently.
func TestOverloadedPeer(t *testing.T) {
	got, l := stall(t, map[string]string{"sctp-backlog-assoc": "65536"})
	n := statuses(t, got)
	t.Logf("responses %v", n)
	ok, refused := n["SIP/2.0 200 OK"], n["SIP/2.0 503 Service Unavailable"]
	if refused == 0 || ok == 0 || ok+refused != len(got) {
		t.Errorf("responses %v: want 200s, then 503s", n)
	}
	if ok+refused+int(l.Backlog.Overflowed) != stallRequests {
		t.Errorf("%d answered 200, %d refused 503, %d dropped (overflowed): want the %d requests", ok, refused,
			l.Backlog.Overflowed, stallRequests)
	}
	if int(l.Counters.Shed) < refused {
		t.Errorf("overload count %d, below the %d 503s received", l.Counters.Shed, refused)
	}
	if l.Backlog.LimitAssoc != 65536 {
		t.Errorf("backlog limit %d, want sctp-backlog-assoc 65536", l.Backlog.LimitAssoc)
	}
}
