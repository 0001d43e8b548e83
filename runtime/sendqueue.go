package runtime

import (
	"errors"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendQueue decouples senders from a connection that may be slow: put
// sends the message itself when nothing waits and the socket takes it at
// once (try), else copies it into a queue bounded in bytes and returns at
// once (failing when the queue is full); one writer goroutine sends in order and
// waits for room in the socket's buffer as long as the message's lifetime
// allows (write decides, given when the message was queued). A goroutine
// that reads one connection and sends on another (forwarding to an agent)
// is so never held up by the other's peer; a burst the peer cannot take
// yet waits in the queue instead of being dropped, and a peer that stops
// reading fills the queue and gets 503s, not a stalled SBC.
type sendQueue struct {
	mu      sync.Mutex
	q       []queued
	bytes   int
	limit   int           // bound of bytes
	closed  bool          // close was called
	busy    bool          // a message is being sent (by put's try or the writer)
	started bool          // the writer runs
	wake    chan struct{} // 1-buffered: q grew or closed
	done    chan struct{} // closed when the writer has returned
	write   func(queued) error
	// try sends a message without waiting and reports whether it went;
	// nil: every message goes through the writer.
	try func(b []byte, context uint32) bool
	// tryStream, for a byte stream (TCP) in place of try, writes what the
	// socket takes at once and returns how many bytes that was: the rest
	// goes first in the queue.
	tryStream func(b []byte) int
	// failed is called with what could not be sent, by write's error or
	// because the queue was closed first; it may be nil.
	failed func(queued, error)
}

// queued is one message: on connection conn (an SCTP association on a
// listener), with an SCTP context (sctp-send-retries left), queued at
// (zero when the writer was idle: it was queued just now).
type queued struct {
	b       []byte
	conn    uint32
	context uint32
	at      time.Time
}

// errQueueFull: the peer does not take messages as fast as they come.
var errQueueFull = errors.New("send queue full: the peer does not keep up")

// errQueueClosed: the connection is closing.
var errQueueClosed = errors.New("connection closed")

// newSendQueue starts a queue of at most limit bytes.
func newSendQueue(limit int, write func(queued) error, failed func(queued, error)) *sendQueue {
	return &sendQueue{limit: limit, wake: make(chan struct{}, 1), done: make(chan struct{}), write: write, failed: failed}
}

// start starts the writer on the first message queued (under mu): a
// connection whose messages all went at once (try) has no writer.
func (s *sendQueue) start() {
	if !s.started {
		s.started = true
		go s.run()
	}
}

// put sends b at once (try) when nothing else is being sent or waits,
// else queues a copy. The time is taken only when messages wait already:
// an idle writer takes the message at once.
func (s *sendQueue) put(b []byte, conn, context uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errQueueClosed
	case s.bytes+len(b) > s.limit:
		return errQueueFull
	}
	now := len(s.q) > 0 || s.busy
	first := false // b is the rest of a message partly written: it goes first
	if (s.try != nil || s.tryStream != nil) && !now {
		s.busy = true
		s.mu.Unlock()
		sent := false
		if s.try != nil {
			sent = s.try(b, context)
		} else if n := s.tryStream(b); n > 0 {
			b, first = b[n:], true
			sent = len(b) == 0
		}
		s.mu.Lock()
		s.busy = false
		if len(s.q) > 0 || s.closed {
			s.kick() // what was queued meanwhile waited for this one
		}
		if sent {
			return nil
		}
		if s.closed {
			return errQueueClosed
		}
		now = true
	}
	m := queued{b: append([]byte(nil), b...), conn: conn, context: context}
	if now {
		m.at = time.Now()
	}
	if first {
		s.q = append(s.q, queued{})
		copy(s.q[1:], s.q)
		s.q[0] = m
	} else {
		s.q = append(s.q, m)
	}
	s.bytes += len(b)
	s.start()
	s.kick()
	return nil
}

// tryWrite writes what a stream socket of the netpoller takes of b at
// once, with one raw write (no wait, no scheduler), and returns how many
// bytes that was.
func tryWrite(rc syscall.RawConn, b []byte) int {
	if len(b) == 0 {
		return 0
	}
	var n uintptr
	var errno unix.Errno
	rc.Write(func(fd uintptr) bool {
		n, _, errno = unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		return true
	})
	if errno != 0 {
		return 0
	}
	return int(n)
}

// overHalf reports whether the messages waiting hold more than half the
// queue's bound: the peer does not read as fast as it is sent to.
func (s *sendQueue) overHalf() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes > s.limit/2
}

// kick wakes the writer.
func (s *sendQueue) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sendQueue) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		if len(s.q) == 0 || s.busy {
			closed := s.closed && len(s.q) == 0
			s.mu.Unlock()
			if closed {
				return
			}
			<-s.wake
			continue
		}
		m := s.q[0]
		s.q[0] = queued{}
		s.q = s.q[1:]
		s.bytes -= len(m.b)
		closed := s.closed
		s.busy = true
		s.mu.Unlock()
		var err error
		if closed {
			err = errQueueClosed
		} else {
			err = s.write(m)
		}
		if err != nil && s.failed != nil {
			s.failed(m, err)
		}
		s.mu.Lock()
		s.busy = false
		s.mu.Unlock()
	}
}

// close stops the writer (after the write in progress, which closing the
// socket ends) and hands what is left to failed.
func (s *sendQueue) close() {
	s.mu.Lock()
	s.closed = true
	s.start()
	s.kick()
	s.mu.Unlock()
	<-s.done
}
