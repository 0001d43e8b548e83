package sctp

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// maxBacklog bounds a Listener's backlog: a message that finds its
// association's send buffer full while the backlog holds that many fails
// at once.
const maxBacklog = 1024

var (
	errNoRoom      = errors.New("send buffer full: the peer does not read")
	errBacklogFull = fmt.Errorf("send buffer full and %d messages waiting already", maxBacklog)
)

// backlog holds the queued messages of a blocking endpoint that found
// their association's send buffer full when the reader flushed, so that
// the reader goes on reading (and answering) every other association
// instead of waiting for one peer: a peer that is slow to read may itself
// be waiting for the reader. One goroutine, started when first needed,
// sends them in order, each waiting for room up to sendWaits HotTimeouts;
// when one fails that way, the rest of its association's backlog fails
// with it. Messages for an association with a backlog join it, so that
// an association's messages keep their order.
type backlog struct {
	e    *endpoint
	n    atomic.Int32 // len(q), for the reader's check without the lock
	mu   sync.Mutex
	q    []pending
	per  map[AssocID]int // messages in q per association
	wake chan struct{}   // 1-buffered: q grew
	quit chan struct{}   // closed by stop
	done chan struct{}   // closed when the sender has returned
	run  bool            // the sender was started
}

// pending is a backlogged message, ready for sendmsg(2).
type pending struct {
	data  []byte
	assoc AssocID
	oob   [64]byte
	oobn  int
}

func newBacklog(e *endpoint) *backlog {
	return &backlog{e: e, per: map[AssocID]int{}, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// holds reports whether assoc has messages in the backlog.
func (k *backlog) holds(assoc AssocID) bool {
	if k.n.Load() == 0 {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.per[assoc] > 0
}

// push appends a copy of a message (data and its control message) for
// assoc, or reports false when the backlog is full or stopped.
func (k *backlog) push(data []byte, assoc AssocID, oob []byte) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.q) >= maxBacklog || k.e.closed.Load() {
		return false
	}
	p := pending{data: append([]byte(nil), data...), assoc: assoc}
	p.oobn = copy(p.oob[:], oob)
	k.q = append(k.q, p)
	k.per[assoc]++
	k.n.Add(1)
	if !k.run {
		k.run = true
		go k.send()
	}
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return true
}

// send is the sender goroutine.
func (k *backlog) send() {
	defer close(k.done)
	for {
		k.mu.Lock()
		if len(k.q) == 0 {
			k.mu.Unlock()
			select {
			case <-k.wake:
				continue
			case <-k.quit:
				return
			}
		}
		p := k.q[0] // only this goroutine removes q's head
		k.mu.Unlock()
		err := k.sendOne(&p)
		k.mu.Lock()
		if err == nil {
			k.e.txSent.Add(1)
			k.q[0] = pending{}
			k.q = k.q[1:]
			if k.per[p.assoc]--; k.per[p.assoc] == 0 {
				delete(k.per, p.assoc)
			}
			k.n.Add(-1)
		} else {
			k.e.txFailed.Add(uint64(k.drop(func(q *pending) bool { return q.assoc == p.assoc })))
		}
		k.mu.Unlock()
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// drop removes the messages f selects and returns how many; k.mu is held.
func (k *backlog) drop(f func(*pending) bool) int {
	out := k.q[:0]
	n := 0
	for i := range k.q {
		if f(&k.q[i]) {
			k.per[k.q[i].assoc]--
			n++
			continue
		}
		out = append(out, k.q[i])
	}
	clear(k.q[len(out):])
	k.q = out
	for a, c := range k.per {
		if c == 0 {
			delete(k.per, a)
		}
	}
	k.n.Add(-int32(n))
	return n
}

// sendOne sends p, waiting for room up to sendWaits HotTimeouts (the
// socket's SO_SNDTIMEO) in calls the scheduler sees: this goroutine must
// not hold a P while it waits.
func (k *backlog) sendOne(p *pending) error {
	for waits := 0; ; {
		if k.e.closed.Load() {
			return net.ErrClosed
		}
		_, err := sendmsg(k.e.fd, p.data, p.oob[:p.oobn])
		if err != unix.EAGAIN {
			return err
		}
		if waits++; waits > sendWaits {
			return errNoRoom
		}
	}
}

// stop ends the sender and fails what is left; the endpoint is closed.
func (k *backlog) stop() {
	k.mu.Lock()
	run := k.run
	k.run = true // no sender from now on
	k.mu.Unlock()
	close(k.quit)
	if run {
		<-k.done
	}
	k.mu.Lock()
	k.e.txFailed.Add(uint64(k.drop(func(*pending) bool { return true })))
	k.mu.Unlock()
}
