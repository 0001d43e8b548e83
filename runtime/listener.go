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
}

func (c *counters) snapshot() control.Counters {
	return control.Counters{
		MessagesIn: c.in.Load(), MessagesOut: c.out.Load(), ParseErrors: c.parseErrors.Load(),
		Dropped: c.dropped.Load(), SendErrors: c.sendErrors.Load(),
		Assocs: int(c.assocs.Load()), AssocsTotal: c.assocsTotal.Load(),
		Aborts: c.aborts.Load(), Refused: c.refused.Load(),
	}
}

// worker is one reading goroutine's message path: the shared Handler, its
// own response buffer (reused: no allocation per message) and the
// listener's counters.
type worker struct {
	h   *sipr.Handler
	c   *counters
	out bytes.Buffer
	log *slog.Logger
	// lastLog limits malformed-message logs to one a second.
	lastLog time.Time
}

// handle runs one message through the Handler and returns the response to
// send, or nil.
func (w *worker) handle(b []byte, src sipr.Source) []byte {
	w.c.in.Add(1)
	switch v := w.h.Handle(b, src, &w.out); v {
	case sipr.Answered:
		return w.out.Bytes()
	case sipr.Rejected, sipr.Malformed:
		w.c.parseErrors.Add(1)
		if now := time.Now(); now.Sub(w.lastLog) > time.Second {
			w.lastLog = now
			w.log.Warn("malformed SIP message", "from", src.Remote, "transport", src.Transport, "verdict", v, "bytes", len(b))
		}
		if v == sipr.Rejected {
			return w.out.Bytes()
		}
	case sipr.Response:
		w.c.dropped.Add(1)
	}
	return nil
}

// sent counts the result of sending a response.
func (w *worker) sent(err error) {
	if err != nil {
		w.c.sendErrors.Add(1)
		return
	}
	w.c.out.Add(1)
}
