package runtime

import (
	"errors"
	"net/netip"
	"sync/atomic"

	sipr "github.com/acli-project/acli/runtime/sip"
)

// ingress is a point where messages enter the SBC, a listener or a
// session-agent's connection, numbered by the engine: the forwarded
// requests' Vias carry the number (sip.Ingress), and a response relayed
// back is sent by the point it names.
type ingress interface {
	// reply sends a response back: on connection conn (the SCTP
	// association, the TCP connection) or, for UDP, to the address to. It
	// must not wait for a slow peer: it is called from another point's
	// reading goroutine.
	reply(b []byte, conn uint32, to netip.AddrPort) error
}

// router is the message path's view of the engine's tables: the ingress
// points by number, and through the Handler the routes to session-agents.
// The engine's goroutine builds a new map on every change and swaps it
// in; the reading goroutines load it once per relayed message, without a
// lock.
type router struct {
	h      *sipr.Handler
	points atomic.Pointer[map[uint32]ingress]
}

func newRouter(h *sipr.Handler) *router {
	r := &router{h: h}
	r.points.Store(&map[uint32]ingress{})
	return r
}

// errGone: the point a response should go back by is gone (its listener
// was closed, its agent removed).
var errGone = errors.New("the connection the request came on is gone")

// relay sends a response relayed by Via (res) back by the point it names.
func (r *router) relay(res sipr.Result, b []byte) error {
	p := (*r.points.Load())[res.Back.Point]
	if p == nil {
		return errGone
	}
	return p.reply(b, res.Back.Conn, res.To)
}

// own hands the answer to a ping to its agent.
func (r *router) own(res sipr.Result) {
	if a, ok := (*r.points.Load())[res.Back.Point].(*agent); ok {
		a.pong(res)
	}
}
