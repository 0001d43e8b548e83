package runtime

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	sipr "github.com/acli-project/acli/runtime/sip"
)

// TestTCPOverload: a TCP client that sends requests and does not read its
// answers never holds up the connection's reader; once its unread answers
// fill more than half the connection's queue, its new requests are
// answered 503 with Retry-After and counted (shed); when the queue is
// full, answers are dropped and counted as send errors. When the client
// reads at last it finds its answers in order: 200s, then 503s.
func TestTCPOverload(t *testing.T) {
	p := freePort(t)
	e := NewEngine(testLog(t))
	defer e.Close()
	wantReport(t, e.Apply(config([]port{{"core", "TCP", "127.0.0.1", p, nil}}, nil, nil), "v1"), []string{"TCP " + addr("127.0.0.1", p)}, nil, nil, 0)
	// A small receive buffer, set before connecting so that the window
	// never shrinks: the client's kernel holds few answers.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 16384) })
	}}
	c, err := d.Dial("tcp", addr("127.0.0.1", p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const requests = 12000 // about 5 MB of answers: more than the queue (1 MB) and the kernel's buffers
	w := bufio.NewWriter(c)
	for i := 0; i < requests; i++ {
		w.Write(optionsMsg("TCP"))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every request read", func() string {
		if k := e.Listeners()[0].Counters; k.MessagesIn != requests {
			return fmt.Sprintf("%d of %d requests read", k.MessagesIn, requests)
		}
		return ""
	})
	k := e.Listeners()[0].Counters
	var got200, got503, noRetry, after503 int
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		switch {
		case line == "SIP/2.0 200 OK\r\n":
			got200++
			if got503 > 0 {
				after503++
			}
		case line == "SIP/2.0 503 Service Unavailable\r\n":
			got503++
			head, _ := readHead(r)
			if !strings.Contains(head, "\r\nRetry-After: "+itoa(sipr.RetryAfter)+"\r\n") {
				noRetry++
			}
		}
	}
	t.Logf("%d requests, their answers read only at the end: %d answered 200, %d 503 received (shed %d), %d answers dropped (queue full)",
		requests, got200, got503, k.Shed, k.SendErrors)
	if k.Shed == 0 || got503 == 0 || noRetry > 0 || after503 > 0 {
		t.Errorf("shed %d, %d 503s received (%d without Retry-After, %d 200s after them): want 503s with Retry-After once overloaded", k.Shed, got503, noRetry, after503)
	}
	if uint64(got200+got503)+k.SendErrors != requests {
		t.Errorf("%d + %d answers received, %d dropped: want %d", got200, got503, k.SendErrors, requests)
	}
}

// readHead reads the rest of a message's header section.
func readHead(r *bufio.Reader) (string, error) {
	var b strings.Builder
	b.WriteString("\r\n")
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(l)
		if l == "\r\n" {
			return b.String(), nil
		}
	}
}
