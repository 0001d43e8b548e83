package runtime

import (
	"bytes"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/acli-project/acli/runtime/control"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// listener is a live SIP listener of one transport. The engine's goroutine
// calls its methods; the listener's own goroutines read, answer and count.
type listener interface {
	// reply sends a relayed response back on one of its connections.
	ingress
	// update applies a changed Spec of the same key in place and returns
	// what changed.
	update(s Spec) ([]string, error)
	// info returns the listener's bound addresses and counters.
	info() control.Listener
	// close stops it gracefully and waits for its goroutines.
	close() error
}

// counters are a listener's counters: atomics, updated without locks.
type counters struct {
	in, out, parseErrors, dropped, sendErrors atomic.Uint64
	assocsTotal, aborts, refused              atomic.Uint64
	assocs                                    atomic.Int64
	forwarded, relayed                        atomic.Uint64
	shed                                      atomic.Uint64 // requests refused 503 for overload
}

func (c *counters) snapshot() control.Counters {
	return control.Counters{
		MessagesIn: c.in.Load(), MessagesOut: c.out.Load(), ParseErrors: c.parseErrors.Load(),
		Dropped: c.dropped.Load(), SendErrors: c.sendErrors.Load(),
		Assocs: int(c.assocs.Load()), AssocsTotal: c.assocsTotal.Load(),
		Aborts: c.aborts.Load(), Refused: c.refused.Load(), Shed: c.shed.Load(),
	}
}

// worker is one reading goroutine's message path: the shared Handler and
// router, its own response buffer (reused: no allocation per message) and
// the listener's (or session-agent's) counters.
type worker struct {
	h   *sipr.Handler
	r   *router
	c   *counters
	out bytes.Buffer
	log *slog.Logger
	// agent is the session-agent whose connection this worker reads (nil
	// for a listener).
	agent *agent
	// lastLog limits malformed-message logs to one a second.
	lastLog time.Time
}

// handle runs one message through the Handler and returns the response to
// send back to its source, or nil. Requests for a session-agent have been
// forwarded, responses to forwarded requests relayed back by the point
// their Via names, and answers to pings handed to their agent, all by the
// time it returns.
func (w *worker) handle(b []byte, src sipr.Source) []byte {
	w.c.in.Add(1)
	res := w.h.Process(b, src, &w.out)
	switch v := res.Verdict; v {
	case sipr.Answered:
		return w.out.Bytes()
	case sipr.Unavailable:
		if a, ok := res.Target.(*agent); ok {
			a.c.unavailable.Add(1)
		}
		return w.out.Bytes()
	case sipr.Forwarded:
		w.c.forwarded.Add(1) // the agent's link counted it when it sent it
	case sipr.Relayed:
		w.c.relayed.Add(1)
		if err := w.r.relay(res, w.out.Bytes()); err != nil {
			w.c.sendErrors.Add(1)
			w.limited("response not relayed", "to", res.To, "ingress", res.Back, "err", err)
		} else if w.agent != nil {
			w.agent.c.relayed.Add(1)
		}
	case sipr.Own:
		w.r.own(res)
	case sipr.Shed:
		w.c.shed.Add(1)
		return w.out.Bytes()
	case sipr.Rejected, sipr.Malformed:
		w.c.parseErrors.Add(1)
		w.limited("malformed SIP message", "from", src.Remote, "transport", src.Transport, "verdict", v, "bytes", len(b))
		if v == sipr.Rejected {
			return w.out.Bytes()
		}
	case sipr.Response:
		w.c.dropped.Add(1)
	}
	return nil
}

// limited logs a warning, at most one a second per worker.
func (w *worker) limited(msg string, args ...any) {
	if now := time.Now(); now.Sub(w.lastLog) > time.Second {
		w.lastLog = now
		w.log.Warn(msg, args...)
	}
}

// sent counts the result of sending a response.
func (w *worker) sent(err error) {
	if err != nil {
		w.c.sendErrors.Add(1)
		return
	}
	w.c.out.Add(1)
}
