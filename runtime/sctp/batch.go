package sctp

import (
	"fmt"
	"net"
	goruntime "runtime"
	"time"
	"unsafe"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// A Listener's reader receives with recvmmsg(2) (up to batchSlots
// messages, whatever has arrived, in one system call) on a blocking socket
// off the Go netpoller, hot while messages flow and cold when idle (see
// package blockread).
//
// Responses are sent the same way: QueueMsg copies them into a batch that
// Flush sends with one sendmmsg(2).
const (
	batchSlots = 16      // messages per recvmmsg or sendmmsg
	slotSize   = 8 << 10 // bytes per received message piece; larger messages come in pieces
	// sendWaits bounds how many HotTimeouts a Listener's ABORT or
	// SHUTDOWN waits for room in a full send buffer (messages wait in the
	// backlog instead, up to sctp-send-ttl).
	sendWaits = 40
)

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// recvBatch is a blocking endpoint's received messages, read together and
// handed out one by one; it is used under the endpoint's rmu.
type recvBatch struct {
	hdr  [batchSlots]mmsghdr
	iov  [batchSlots]unix.Iovec
	oob  [batchSlots][64]byte
	name [batchSlots][sctpwire.SizeofSockaddrInet6]byte
	data []byte // batchSlots * slotSize

	next, count int // slots next..count-1 hold messages not yet handed out
	off         int // bytes of slot next already handed out

	fd     int
	recvFn func(flags int) (int, unix.Errno) // recv, bound once
}

func newRecvBatch(fd int) *recvBatch {
	b := &recvBatch{data: make([]byte, batchSlots*slotSize), fd: fd}
	b.recvFn = b.recv
	for i := range b.hdr {
		b.iov[i].Base = &b.data[i*slotSize]
		b.iov[i].SetLen(slotSize)
		b.hdr[i].hdr.Iov, b.hdr[i].hdr.Iovlen = &b.iov[i], 1
		b.hdr[i].hdr.Name = &b.name[i][0]
		b.hdr[i].hdr.Control = &b.oob[i][0]
	}
	return b
}

// recv reads up to batchSlots messages without entering the scheduler,
// blocking (up to HotTimeout) for the first unless flags has MSG_DONTWAIT.
func (b *recvBatch) recv(flags int) (int, unix.Errno) {
	for i := range b.hdr {
		h := &b.hdr[i].hdr
		h.Namelen = uint32(len(b.name[i]))
		h.SetControllen(len(b.oob[i]))
		h.Flags = 0
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(b.fd), uintptr(unsafe.Pointer(&b.hdr[0])), batchSlots,
		uintptr(flags|unix.MSG_WAITFORONE), 0, 0)
	return int(n), e
}

// pop hands the next message (or as much of it as r.buf takes) to r.
func (b *recvBatch) pop(r *reader) {
	i := b.next
	h := &b.hdr[i]
	piece := b.data[i*slotSize : i*slotSize+int(h.n)][b.off:]
	r.n = copy(r.buf, piece)
	r.flags = int(h.hdr.Flags)
	if r.n < len(piece) {
		r.flags &^= sctpwire.MsgEOR // the rest comes with the next read
		b.off += r.n
	} else {
		b.next++
		b.off = 0
	}
	r.oobn = copy(r.oob[:], b.oob[i][:min(int(h.hdr.Controllen), len(b.oob[i]))])
	r.namelen = copy(r.name[:], b.name[i][:min(int(h.hdr.Namelen), len(b.name[i]))])
	r.err = nil
}

// buffered is the number of messages (or pieces) read but not handed out.
func (b *recvBatch) buffered() int { return b.count - b.next }

// readBlocking hands the next received message to r, reading a batch when
// none is left; e.rmu is held.
func (e *endpoint) readBlocking(r *reader) error {
	b := e.in
	if b.next < b.count {
		b.pop(r)
		return nil
	}
	// Queued responses go out before the reader waits: the caller's
	// Flush at Buffered 0 misses those queued before a batch's trailing
	// notifications, which ReadMsg consumes itself.
	if e.out.n > 0 {
		e.flushLocked()
	}
	n, err := e.w.Recv(b.recvFn)
	if err != nil {
		if errno, ok := err.(unix.Errno); ok {
			return errno // as recvmsg's, for mapErr
		}
		return err
	}
	b.next, b.count, b.off = 0, n, 0
	e.rxBatches.Add(1)
	e.rxMsgs.Add(uint64(n))
	b.pop(r)
	return nil
}

// sendBatch is a blocking endpoint's queued messages, used by its reader
// only; sending them (flushLocked) takes the endpoint's rmu.
type sendBatch struct {
	hdr  [batchSlots]mmsghdr
	iov  [batchSlots]unix.Iovec
	oob  [batchSlots][64]byte
	data [batchSlots][]byte // copies, their capacity reused
	info [batchSlots]sctpwire.SndRcvInfo
	n    int

	sent, failed int   // since the last Flush
	err          error // the first error since the last Flush
}

// queue copies b into the batch, sending the batch first when it is full;
// only the reader calls it.
func (e *endpoint) queue(b []byte, assoc AssocID, stream uint16, ppid uint32) {
	s := e.out
	if s.n == batchSlots {
		e.rmu.Lock()
		e.flushLocked()
		e.rmu.Unlock()
	}
	i := s.n
	s.data[i] = append(s.data[i][:0], b...)
	s.info[i] = e.sndInfo(assoc, stream, ppid, 0)
	oobn := sctpwire.PutSndRcvCmsg(s.oob[i][:], s.info[i])
	h := &s.hdr[i].hdr
	*h = unix.Msghdr{}
	if len(s.data[i]) > 0 {
		s.iov[i].Base = &s.data[i][0]
		s.iov[i].SetLen(len(s.data[i]))
		h.Iov, h.Iovlen = &s.iov[i], 1
	}
	h.Control = &s.oob[i][0]
	h.SetControllen(oobn)
	s.n++
}

// flushLocked sends the queued messages with as few sendmmsg(2) calls as
// the socket allows, without waiting for room: a message whose
// association's send buffer is full goes to the backlog, and so do the
// messages behind it for that association; e.rmu is held.
func (e *endpoint) flushLocked() {
	s := e.out
	fail := func(i int, err error) {
		s.failed++
		e.txFailed.Add(1)
		if s.err == nil {
			s.err = fmt.Errorf("sctp: send to association %d: %w", s.info[i].AssocID, err)
		}
	}
	var now time.Time // when the first message went to the backlog
	toBacklog := func(i int) {
		if now.IsZero() {
			now = time.Now()
		}
		if err := e.slow.push(s.data[i], s.info[i], now); err != nil {
			fail(i, err)
		}
	}
	for i := 0; i < s.n; {
		if e.closed.Load() {
			for ; i < s.n; i++ {
				fail(i, net.ErrClosed)
			}
			break
		}
		j := s.n // messages i..j-1 may go now: none is behind a backlog
		if e.slow.n.Load() > 0 {
			if e.slow.holds(AssocID(s.info[i].AssocID)) {
				toBacklog(i)
				i++
				continue
			}
			for j = i + 1; j < s.n && !e.slow.holds(AssocID(s.info[j].AssocID)); j++ {
			}
		}
		k, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(e.fd), uintptr(unsafe.Pointer(&s.hdr[i])),
			uintptr(j-i), unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			s.sent += int(k)
			e.txSent.Add(uint64(k))
			i += int(k)
		case unix.EINTR:
			goruntime.Gosched()
		case unix.EAGAIN: // no room on message i's association: the reader goes on
			toBacklog(i)
			i++
		default: // this message: the association is gone, ...
			fail(i, errno)
			i++
		}
	}
	s.n = 0
}
