package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/acli-project/acli/runtime/control"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// tcpWriteTimeout bounds one response write on a TCP connection.
const tcpWriteTimeout = 10 * time.Second

// tcpListener accepts TCP connections; each connection has one goroutine
// that frames the stream (sip.Frame) and answers on the same connection.
type tcpListener struct {
	spec  atomic.Pointer[Spec]
	ln    *net.TCPListener
	r     *router
	id    uint32 // ingress point
	log   *slog.Logger
	c     counters
	since time.Time
	wg    sync.WaitGroup

	mu     sync.Mutex // guards conns (taken per connection, not per message)
	conns  map[*net.TCPConn]struct{}
	closed bool
	// byID finds a connection by its number, for relayed responses: a
	// sync.Map, whose loads take no lock.
	byID   sync.Map // uint32 -> *acceptedConn
	nextID atomic.Uint32
}

func openTCP(s Spec, r *router, id uint32, log *slog.Logger) (*tcpListener, error) {
	lc := net.ListenConfig{KeepAlive: -1} // keepalive is set per connection from the Spec
	ln, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(s.Addrs[0], uint16(s.Port)).String())
	if err != nil {
		return nil, err
	}
	l := &tcpListener{ln: ln.(*net.TCPListener), r: r, id: id, log: log, since: time.Now(), conns: map[*net.TCPConn]struct{}{}}
	l.spec.Store(&s)
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *tcpListener) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("tcp accept", "listener", l.spec.Load().Key, "err", err)
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		ka := l.spec.Load().Keepalive
		if ka.Enable {
			c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: ka.Idle, Interval: ka.Interval, Count: ka.Count})
		} else {
			c.SetKeepAlive(false)
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		id := l.nextID.Add(1)
		tc := &acceptedConn{c: c}
		l.byID.Store(id, tc)
		l.c.assocs.Add(1)
		l.c.assocsTotal.Add(1)
		l.wg.Add(1)
		go l.serve(c, id, tc)
	}
}

// serve reads SIP messages from one connection until it ends.
func (l *tcpListener) serve(c *net.TCPConn, id uint32, tc *acceptedConn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		if tc, ok := l.byID.LoadAndDelete(id); ok {
			tc.(*acceptedConn).closeRelays()
		}
		l.c.assocs.Add(-1)
		c.Close()
	}()
	remote, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	src := sipr.Source{Transport: sipr.TCP, Remote: remote, Ingress: sipr.Ingress{Point: l.id, Conn: id}}
	w := &worker{h: l.r.h, r: l.r, c: &l.c, log: l.log}
	q := tc.queue(l)
	if q == nil {
		return // closed meanwhile
	}
	err := readStream(c, func() error { return q.put([]byte("\r\n"), 0, 0) }, func(m []byte) error {
		// A client that does not read its answers: its new requests are
		// answered 503 with Retry-After while its queue is over half full.
		src.Overloaded = q.overHalf()
		resp := w.handle(m, src)
		if resp == nil {
			return nil
		}
		err := q.put(resp, 0, 0)
		w.sent(err)
		if errors.Is(err, errQueueClosed) {
			return err
		}
		return nil // a full queue drops the answer, counted: the client does not read
	})
	switch {
	case errors.Is(err, errUnframeable):
		l.c.parseErrors.Add(1)
		l.log.Warn("tcp: unframeable stream, connection closed", "from", remote, "err", err)
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		l.c.aborts.Add(1)
		if !errors.Is(err, syscall.ECONNRESET) {
			l.log.Debug("tcp read", "from", remote, "err", err)
		}
	}
}

// tcpRelayQueue bounds the bytes of answers and relayed responses waiting
// for one TCP connection (a client that stops reading fills it; later
// ones fail).
const tcpRelayQueue = 1 << 20

// acceptedConn is an accepted connection as its writers see it: its
// reader's answers and the responses relayed to it go through one
// sendQueue, written at once when the socket takes them (no hand-off), so
// that neither its reader nor a session-agent's reader relaying to it
// ever waits for a client that does not read, and that a message the
// socket took in part is finished before the next.
type acceptedConn struct {
	c      *net.TCPConn
	once   sync.Once
	mu     sync.Mutex // guards relays against closeRelays
	relays *sendQueue
	closed bool
}

func (tc *acceptedConn) queue(l *tcpListener) *sendQueue {
	tc.once.Do(func() {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		if tc.closed {
			return
		}
		tc.relays = newSendQueue(tcpRelayQueue, func(m queued) error {
			tc.c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
			_, err := tc.c.Write(m.b)
			if err != nil {
				l.c.sendErrors.Add(1)
				tc.c.Close() // a partial write breaks the stream
				return err
			}
			return nil
		}, nil)
		if rc, err := tc.c.SyscallConn(); err == nil {
			tc.relays.tryStream = func(b []byte) int { return tryWrite(rc, b) }
		}
	})
	return tc.relays
}

func (tc *acceptedConn) closeRelays() {
	tc.mu.Lock()
	tc.closed = true
	q := tc.relays
	tc.mu.Unlock()
	if q != nil {
		q.close()
	}
}

// reply queues a relayed response for connection conn.
func (l *tcpListener) reply(b []byte, conn uint32, _ netip.AddrPort) error {
	v, ok := l.byID.Load(conn)
	if !ok {
		return errGone
	}
	q := v.(*acceptedConn).queue(l)
	if q == nil {
		return errGone
	}
	err := q.put(b, 0, 0)
	if err == nil {
		l.c.out.Add(1)
	}
	return err
}

func (l *tcpListener) update(s Spec) ([]string, error) {
	old := l.spec.Swap(&s)
	ch := metaChanges(old, &s)
	if old.Keepalive != s.Keepalive {
		ch = append(ch, fmt.Sprintf("tcp keepalive %s -> %s (new connections only)", old.Keepalive, s.Keepalive))
	}
	return ch, nil
}

func (l *tcpListener) info() control.Listener {
	s := l.spec.Load()
	return control.Listener{Key: s.Key, Transport: s.Transport, Interface: s.Interface,
		Addrs: []string{l.ln.Addr().String()}, Port: s.Port, Since: l.since, Counters: l.c.snapshot()}
}

// close stops accepting and closes every connection.
func (l *tcpListener) close() error {
	err := l.ln.Close()
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.CloseRead() // the reader sees EOF and closes it after its last write
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}
