package sctp

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// Default bounds of a Listener's backlog (Options.BacklogAssoc and
// BacklogTotal when 0): what one association, and all of them, may hold
// waiting for room.
const (
	DefaultBacklogAssoc = 4 << 20
	DefaultBacklogTotal = 64 << 20
)

var (
	// ErrExpired is the error of a message whose lifetime (sctp-send-ttl,
	// from when it was queued) passed before the send buffer had room.
	ErrExpired = errors.New("send buffer full until sctp-send-ttl passed")
	// errNoRoom fails an ABORT or SHUTDOWN that found no room.
	errNoRoom = errors.New("send buffer full: the peer does not read")
	// errAssocFull and errTotalFull refuse a message that would take the
	// backlog over one of its bounds.
	errAssocFull = errors.New("send buffer full and the association's backlog at its limit (sctp-backlog-assoc)")
	errTotalFull = errors.New("send buffer full and the listener's backlog at its limit (sctp-backlog-total)")
)

// BacklogStats describe a Listener's backlog: the messages waiting for room
// in the send buffer and those it dropped.
type BacklogStats struct {
	Messages      int // waiting now
	Bytes         int // waiting now
	MaxAssocBytes int // bytes of the association that has most waiting now
	PeakBytes     int // the most bytes that waited at once
	// LimitAssoc and LimitTotal bound Bytes per association and in all.
	LimitAssoc, LimitTotal int
	// Expired counts messages dropped because their lifetime
	// (sctp-send-ttl) passed while they waited, Overflowed those refused
	// because a limit was reached.
	Expired, Overflowed uint64
}

// backlog holds the messages of a blocking endpoint (a Listener's) that
// found their association's send buffer full, so that neither its reader
// nor the goroutines relaying responses ever wait for one peer: a peer that
// is slow to read may itself be waiting for the reader. Each association
// has a queue of its own; one goroutine, started when first needed, sends
// them, going round the associations with non-blocking sends and, when none
// has room, waiting up to HotTimeout (the socket's SO_SNDTIMEO) for one.
// A message waits as long as its lifetime allows (sctp-send-ttl, counted
// from when it was queued; for ever when 0), and the kernel gets what is
// left of it; then it is dropped and counted (Expired). The queues are
// bounded in bytes, per association and in all (Options.BacklogAssoc,
// BacklogTotal): a message beyond a bound is refused and counted
// (Overflowed). Messages for an association with a queue join it, so that
// an association's messages keep their order.
type backlog struct {
	e      *endpoint
	n      atomic.Int32 // messages held, for the reader's check without the lock
	mu     sync.Mutex
	queues map[AssocID]*assocQueue
	order  []AssocID // associations with a queue, in the order they got it
	bytes  int
	peak   int
	// expired and overflowed are counted under mu.
	expired, overflowed uint64
	wake                chan struct{} // 1-buffered: a queue grew
	quit                chan struct{} // closed by stop
	done                chan struct{} // closed when the sender has returned
	run                 bool          // the sender was started
}

// assocQueue is one association's messages, oldest first.
type assocQueue struct {
	q     []pending
	bytes int
}

// pending is a backlogged message.
type pending struct {
	data     []byte
	info     sctpwire.SndRcvInfo
	deadline time.Time // zero: none
}

func newBacklog(e *endpoint) *backlog {
	return &backlog{e: e, queues: map[AssocID]*assocQueue{}, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// limits returns the bounds in bytes, per association and in all.
func (k *backlog) limits() (assoc, total int) { return k.e.opts.Load().BacklogLimits() }

// BacklogLimits returns BacklogAssoc and BacklogTotal, defaults resolved.
func (o Options) BacklogLimits() (assoc, total int) {
	assoc, total = o.BacklogAssoc, o.BacklogTotal
	if assoc <= 0 {
		assoc = DefaultBacklogAssoc
	}
	if total <= 0 {
		total = DefaultBacklogTotal
	}
	return assoc, total
}

// holds reports whether assoc has messages in the backlog.
func (k *backlog) holds(assoc AssocID) bool {
	if k.n.Load() == 0 {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.queues[assoc] != nil
}

// push appends a copy of data, to be sent with info, queued at the time
// queued; it fails when a bound is reached or the backlog is stopped.
func (k *backlog) push(data []byte, info sctpwire.SndRcvInfo, queued time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.e.closed.Load() {
		return net.ErrClosed
	}
	assoc := AssocID(info.AssocID)
	limAssoc, limTotal := k.limits()
	aq := k.queues[assoc]
	held := 0
	if aq != nil {
		held = aq.bytes
	}
	switch {
	case held+len(data) > limAssoc:
		k.overflowed++
		return errAssocFull
	case k.bytes+len(data) > limTotal:
		k.overflowed++
		return errTotalFull
	}
	if aq == nil {
		aq = &assocQueue{}
		k.queues[assoc] = aq
		k.order = append(k.order, assoc)
	}
	p := pending{data: append([]byte(nil), data...), info: info}
	if info.TTL > 0 {
		p.deadline = queued.Add(time.Duration(info.TTL) * time.Millisecond)
	}
	aq.q = append(aq.q, p)
	aq.bytes += len(data)
	k.bytes += len(data)
	k.peak = max(k.peak, k.bytes)
	k.n.Add(1)
	if !k.run {
		k.run = true
		go k.send()
	}
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return nil
}

// overloaded reports whether assoc's queue or the whole backlog holds more
// than half its bound.
func (k *backlog) overloaded(assoc AssocID) bool {
	if k.n.Load() == 0 {
		return false
	}
	limAssoc, limTotal := k.limits()
	k.mu.Lock()
	defer k.mu.Unlock()
	aq := k.queues[assoc]
	return (aq != nil && 2*aq.bytes > limAssoc) || 2*k.bytes > limTotal
}

// stats returns the backlog's figures.
func (k *backlog) stats() BacklogStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := BacklogStats{Bytes: k.bytes, PeakBytes: k.peak, Expired: k.expired, Overflowed: k.overflowed}
	st.LimitAssoc, st.LimitTotal = k.limits()
	for _, aq := range k.queues {
		st.Messages += len(aq.q)
		st.MaxAssocBytes = max(st.MaxAssocBytes, aq.bytes)
	}
	return st
}

// send is the sender goroutine.
func (k *backlog) send() {
	defer close(k.done)
	var ids []AssocID
	turn := 0 // the association waited for when none has room
	for {
		k.mu.Lock()
		if len(k.order) == 0 {
			k.mu.Unlock()
			select {
			case <-k.wake:
				continue
			case <-k.quit:
				return
			}
		}
		now := time.Now()
		k.expire(now)
		ids = append(ids[:0], k.order...)
		k.mu.Unlock()
		progress := false
		for _, id := range ids {
			for {
				sent, err := k.sendHead(id, now, unix.MSG_DONTWAIT)
				if errors.Is(err, net.ErrClosed) {
					return
				}
				if !sent {
					break
				}
				progress = true
			}
		}
		if progress || len(ids) == 0 {
			continue
		}
		// No association has room: wait for one, in turn, up to
		// HotTimeout in a call the scheduler sees (this goroutine must
		// not hold a P while it waits).
		turn++
		if _, err := k.sendHead(ids[turn%len(ids)], now, 0); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// sendHead sends the oldest message of assoc with flags (MSG_DONTWAIT, or
// 0 to wait for room up to the socket's SO_SNDTIMEO) and reports whether
// it went (or failed for good: the association is gone, and the rest of
// its queue fails with it); it does not send a message expired at now.
func (k *backlog) sendHead(assoc AssocID, now time.Time, flags int) (bool, error) {
	if k.e.closed.Load() {
		return false, net.ErrClosed
	}
	k.mu.Lock()
	aq := k.queues[assoc]
	if aq == nil || len(aq.q) == 0 {
		k.mu.Unlock()
		return false, nil
	}
	p := aq.q[0] // only this goroutine removes a queue's head
	k.mu.Unlock()
	info := p.info
	if !p.deadline.IsZero() {
		left := p.deadline.Sub(now)
		if left <= 0 {
			return false, nil // expired: dropped by the next expire
		}
		info.TTL = uint32((left + time.Millisecond - 1) / time.Millisecond)
	}
	var oob [64]byte
	n := sctpwire.PutSndRcvCmsg(oob[:], info)
	_, err := sendmsgFlags(k.e.fd, p.data, oob[:n], flags)
	if err == unix.EAGAIN {
		return false, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		k.e.txSent.Add(1)
		k.pop(assoc, aq, 1)
		return true, nil
	}
	k.e.txFailed.Add(uint64(len(aq.q)))
	k.pop(assoc, aq, len(aq.q))
	return true, nil
}

// pop removes the n oldest messages of assoc's queue aq; k.mu is held.
func (k *backlog) pop(assoc AssocID, aq *assocQueue, n int) {
	for i := range n {
		aq.bytes -= len(aq.q[i].data)
		k.bytes -= len(aq.q[i].data)
	}
	clear(aq.q[:n])
	aq.q = aq.q[n:]
	k.n.Add(-int32(n))
	if len(aq.q) > 0 {
		return
	}
	delete(k.queues, assoc)
	for i, id := range k.order {
		if id == assoc {
			k.order = append(k.order[:i], k.order[i+1:]...)
			break
		}
	}
}

// expire drops the messages whose lifetime has passed at now, oldest
// first in each queue (an association's messages expire in the order they
// were queued, unless sctp-send-ttl changed meanwhile); k.mu is held.
func (k *backlog) expire(now time.Time) {
	for i := len(k.order) - 1; i >= 0; i-- { // pop removes k.order[i] only
		id := k.order[i]
		aq := k.queues[id]
		n := 0
		for n < len(aq.q) && !aq.q[n].deadline.IsZero() && !now.Before(aq.q[n].deadline) {
			n++
		}
		if n > 0 {
			k.expired += uint64(n)
			k.e.txFailed.Add(uint64(n))
			k.pop(id, aq, n)
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
	for len(k.order) > 0 {
		id := k.order[0]
		aq := k.queues[id]
		k.e.txFailed.Add(uint64(len(aq.q)))
		k.pop(id, aq, len(aq.q))
	}
	k.mu.Unlock()
}
