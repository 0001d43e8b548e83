package runtime

import (
	"bytes"
	"errors"
	"sync"
)

// sendQueue decouples senders from a connection that may be slow: put
// copies the message into a bounded queue and returns at once (failing
// when the queue is full), one writer goroutine sends in order and waits
// for room in the socket's buffer as long as needed. A goroutine that
// reads one connection and sends on another (forwarding to an agent,
// relaying a response back to a client) is so never held up by the
// other's peer; a burst the peer cannot take yet waits in the queue
// instead of being dropped, and a peer that stops reading fills the queue
// and gets 503s, not a stalled SBC.
type sendQueue struct {
	q     chan queued
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	write func(queued) error
	// failed is called with what could not be sent, by write's error or
	// because the queue was closed first; it may be nil.
	failed func(queued, error)
}

// queued is one message: on connection conn (an SCTP association on a
// listener), with an SCTP context (sctp-send-retries left).
type queued struct {
	b       []byte
	conn    uint32
	context uint32
}

// errQueueFull: the peer does not take messages as fast as they come.
var errQueueFull = errors.New("send queue full: the peer does not keep up")

// errQueueClosed: the connection is closing.
var errQueueClosed = errors.New("connection closed")

func newSendQueue(size int, write func(queued) error, failed func(queued, error)) *sendQueue {
	s := &sendQueue{q: make(chan queued, size), done: make(chan struct{}), write: write, failed: failed}
	s.wg.Add(1)
	go s.run()
	return s
}

// put queues a copy of b.
func (s *sendQueue) put(b []byte, conn, context uint32) error {
	select {
	case <-s.done:
		return errQueueClosed
	default:
	}
	select {
	case s.q <- queued{b: bytes.Clone(b), conn: conn, context: context}:
		return nil
	default:
		return errQueueFull
	}
}

func (s *sendQueue) run() {
	defer s.wg.Done()
	for {
		select {
		case m := <-s.q:
			if err := s.write(m); err != nil && s.failed != nil {
				s.failed(m, err)
			}
		case <-s.done:
			for {
				select {
				case m := <-s.q:
					if s.failed != nil {
						s.failed(m, errQueueClosed)
					}
				default:
					return
				}
			}
		}
	}
}

// close stops the writer (after the write in progress, which closing the
// socket ends) and hands what is left to failed.
func (s *sendQueue) close() {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
}
