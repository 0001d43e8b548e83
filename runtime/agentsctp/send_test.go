package agentsctp

import (
	"bytes"
	"fmt"
	"github.com/acli-project/acli/runtime/internal/sctptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/sctp"
)

// peer is a session-agent made of a bare SCTP listener: it reads only
// when told to, so that its receive window closes and the SBC's messages
// stay unsent; it records the Call-IDs of the MESSAGEs it reads.
type peer struct {
	l     *sctp.Listener
	mu    sync.Mutex
	calls map[string]bool
}

func listenPeer(t *testing.T, port int, read bool) *peer {
	t.Helper()
	o := sctp.DefaultOptions()
	if !read {
		o.RcvBuf = 4096 // its window closes at once
	}
	l, err := sctp.Listen(sctptest.Addrs("127.0.0.20"), port, o)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{l: l, calls: map[string]bool{}}
	t.Cleanup(func() { l.Close() })
	if read {
		go func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := l.ReadMsg(buf)
				if err != nil {
					return
				}
				m := string(buf[:n])
				if !strings.HasPrefix(m, "MESSAGE ") {
					continue
				}
				_, rest, _ := strings.Cut(m, "\r\nCall-ID: ")
				id, _, _ := strings.Cut(rest, "\r\n")
				p.mu.Lock()
				p.calls[id] = true
				p.mu.Unlock()
			}
		}()
	}
	return p
}

func (p *peer) received() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]bool, len(p.calls))
	for k := range p.calls {
		out[k] = true
	}
	return out
}

// send sends n MESSAGEs of 1 KiB for the agent through the SBC listener at
// port, on one association, and returns their Call-IDs; the SBC's answers
// (503 once the agent's queue is full) are read and dropped.
func send(t *testing.T, port, n int, tag string) map[string]bool {
	t.Helper()
	c, err := sctp.Dial(sctptest.Addrs("127.0.0.3"), sctptest.Addrs("127.0.0.1"), port, sctp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := c.ReadMsg(buf); err != nil {
				return
			}
		}
	}()
	body := strings.Repeat("x", 1024)
	ids := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("%s-%d@test", tag, i)
		ids[id] = true
		m := fmt.Sprintf("MESSAGE sip:user@agent.example SIP/2.0\r\nVia: SIP/2.0/SCTP 127.0.0.3:5999;branch=z9hG4bK-%s-%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:c@127.0.0.3>;tag=%d\r\nTo: <sip:user@agent.example>\r\nCall-ID: %s\r\n"+
			"CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", tag, i, i, id, len(body), body)
		if err := c.WriteMsg([]byte(m), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// sctp-send-ttl and sctp-send-retries as the seed defines them: a message
// still unsent after sctp-send-ttl ms is dropped by the stack; a message
// the stack gave up is sent again on the re-opened association as many
// times as sctp-send-retries says (0: never).
func TestSendTTLAndRetries(t *testing.T) {
	tests := []struct {
		name        string
		ttl         string
		retries     string
		restart     bool // the peer aborts and comes back: the association is re-opened
		wantResent  bool
		wantExpired bool
	}{
		{"ttl drops unsent messages", "300", "0", false, false, true},
		{"peer restarts, retries 1", "0", "1", true, true, false},
		{"peer restarts, retries 0", "0", "0", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sctptest.NewEngine(t)
			p, ap := port(), port()
			stuck := listenPeer(t, ap, false)
			np := map[string]string{"sctp-send-ttl": tt.ttl, "sctp-send-retries": tt.retries,
				"sctp-rto-initial": "200", "sctp-rto-min": "100", "sctp-rto-max": "400", "sctp-sack-timeout": "100"}
			sctptest.Apply(t, e, config(p, np, []string{"agent.example", "ip-address", "127.0.0.20", "port", strconv.Itoa(ap),
				"transport-method", "staticSCTP", "realm-id", "core"}), "v1")
			waitState(t, e, "agent.example", control.AgentInService, 10*time.Second)
			sent := send(t, p, 300, "m")
			time.Sleep(500 * time.Millisecond) // the peer's window closes, the rest waits in the SBC

			var back *peer
			if tt.restart {
				stuck.l.Close() // unread data: its kernel aborts the association
				back = listenPeer(t, ap, true)
				waitState(t, e, "agent.example", control.AgentOutOfService, 5*time.Second)
				waitState(t, e, "agent.example", control.AgentInService, 10*time.Second)
			}
			var a control.Agent
			eventually(t, 10*time.Second, "the stack's give-ups handled", func() string {
				a = agent(t, e, "agent.example")
				c := a.Counters
				switch {
				case tt.wantExpired && c.SendFailed == 0:
					return "no message expired yet"
				case tt.wantResent && c.Resent == 0:
					return "nothing resent yet"
				case tt.restart && c.Resent+c.GivenUp == 0:
					return "nothing given up yet"
				}
				return ""
			})
			if back != nil && tt.wantResent {
				eventually(t, 10*time.Second, "the resent messages received", func() string {
					if n, r := len(back.received()), agent(t, e, "agent.example").Counters.Resent; uint64(n) != r {
						return fmt.Sprintf("%d received, %d resent", n, r)
					}
					return ""
				})
			}
			a = agent(t, e, "agent.example")
			c := a.Counters
			var out bytes.Buffer
			control.WriteAgents(&out, []control.Agent{a})
			t.Logf("%s:\n%s", tt.name, out.String())
			if !tt.wantResent && c.Resent != 0 {
				t.Errorf("%d messages resent with sctp-send-retries %s", c.Resent, tt.retries)
			}
			if tt.wantExpired && (c.SendFailed == 0 || c.GivenUp == 0 || a.State != control.AgentInService || c.Lost != 0) {
				t.Errorf("send-ttl: %+v, %s; want expired messages dropped on a live association", c, a.State)
			}
			if back != nil {
				got := back.received()
				for id := range got {
					if !sent[id] {
						t.Errorf("the restarted peer got %s, never sent", id)
					}
				}
				t.Logf("the restarted peer received %d of the MESSAGEs sent before its restart; %d resent", len(got), c.Resent)
				if tt.wantResent && (len(got) == 0 || uint64(len(got)) != c.Resent) {
					t.Errorf("the restarted peer received %d MESSAGEs, the agent resent %d: want as many, more than 0", len(got), c.Resent)
				}
				if !tt.wantResent && len(got) != 0 {
					t.Errorf("the restarted peer received %d old MESSAGEs with sctp-send-retries 0", len(got))
				}
			}
		})
	}
}
