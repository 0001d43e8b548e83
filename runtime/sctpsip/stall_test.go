package sctpsip

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/sctp"
)

// A peer that stops reading for 2 s while it goes on sending requests:
// the responses its window and the listener's send buffer cannot take wait
// in the listener's backlog. With the default sctp-send-ttl (32 s) every
// response arrives once the peer reads again, in order; with 300 ms those
// that waited longer are dropped and counted as expired, and show sctp
// info says so. The listener's send buffer is small (sctp-socket-sndbuf)
// and so is the peer's receive window, so that a few hundred responses
// fill them; sctp-send-mode ordered, so that order is the stack's promise
// too.
func TestStalledPeer(t *testing.T) {
	for _, tt := range []struct {
		ttl     string
		allSent bool
	}{{"32000", true}, {"300", false}} {
		t.Run("sctp-send-ttl "+tt.ttl, func(t *testing.T) {
			e := newEngine(t)
			p := port()
			key := fmt.Sprintf("SCTP 127.0.0.1:%d", p)
			np := map[string]string{"sctp-send-ttl": tt.ttl, "sctp-socket-sndbuf": "8192", "sctp-send-mode": "ordered"}
			apply(t, e, config(np, sipPort{"SCTP", "127.0.0.1", p, nil}), "v1")
			o := sctp.DefaultOptions()
			// A window that reopens by more than loopback's path MTU
			// (64 KiB) when the peer reads again: the kernel then tells
			// the listener at once (a window update), not at its next
			// zero-window probe.
			o.RcvBuf = 128 << 10
			c, err := sctp.Dial(addrs("127.0.0.3"), addrs("127.0.0.1"), p, o)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			// 2 s of requests, 500 a second, none of their responses read.
			const total = 1000
			start := time.Now()
			for i := range total {
				req := bytes.Replace(options(), []byte("CSeq: 1 "), []byte("CSeq: "+strconv.Itoa(i+1)+" "), 1)
				if err := c.WriteMsg(req, 0, 0); err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				time.Sleep(time.Until(start.Add(time.Duration(i+1) * 2 * time.Second / total)))
			}
			mid := listener(t, e, key)
			t.Logf("after %v without reading: backlog %+v", time.Since(start).Round(time.Millisecond), *mid.Backlog)
			if mid.Backlog.PeakBytes == 0 {
				t.Fatal("nothing was backlogged: the test does not stall the listener")
			}

			// The peer reads again: the responses, in order.
			cseq := regexp.MustCompile(`\r\nCSeq: (\d+) OPTIONS\r\n`)
			buf := make([]byte, 8192)
			var got []int
			resumed := time.Now()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(got) < total {
				n, _, err := c.ReadMsg(buf)
				if err != nil {
					break // the deadline: no more responses
				}
				m := cseq.FindSubmatch(buf[:n])
				if m == nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200 OK\r\n")) {
					t.Fatalf("response %d: %.60q", len(got)+1, buf[:n])
				}
				v, _ := strconv.Atoi(string(m[1]))
				if len(got) > 0 && v <= got[len(got)-1] {
					t.Fatalf("response to CSeq %d after the one to %d", v, got[len(got)-1])
				}
				got = append(got, v)
				if len(got) == total {
					break
				}
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
			}
			l := listener(t, e, key)
			b := l.Backlog
			var out bytes.Buffer
			control.WriteSCTPInfo(&out, []control.Listener{l})
			t.Logf("%d of %d responses received %v after the peer read again; show sctp info:\n%s", len(got), total,
				time.Since(resumed).Round(time.Millisecond), out.String())
			if b.Messages != 0 || b.Bytes != 0 || b.Overflowed != 0 {
				t.Errorf("backlog %+v: want empty, none overflowed", *b)
			}
			if tt.allSent {
				if len(got) != total || b.Expired != 0 || l.Counters.SendErrors != 0 || l.Counters.MessagesOut != total {
					t.Errorf("%d responses received, %d expired, %d send errors, %d out; want all %d, none lost",
						len(got), b.Expired, l.Counters.SendErrors, l.Counters.MessagesOut, total)
				}
				return
			}
			// The kernel drops the expired ones it holds itself (not
			// counted here); the backlog drops and counts the rest.
			if b.Expired == 0 || len(got)+int(b.Expired) > total || len(got) == 0 {
				t.Errorf("%d received, %d expired in the backlog, of %d: want some of each", len(got), b.Expired, total)
			}
			if l.Counters.SendErrors < b.Expired {
				t.Errorf("%d send errors, below the %d expired", l.Counters.SendErrors, b.Expired)
			}
			if want := fmt.Sprintf("%d expired (sctp-send-ttl)", b.Expired); !bytes.Contains(out.Bytes(), []byte(want)) {
				t.Errorf("show sctp info lacks %q", want)
			}
		})
	}
}
