package sctp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/acli-project/acli/runtime/blockread"
	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// AssocID identifies an association on a one-to-many socket.
type AssocID int32

// Notification is an SCTP notification (association up or down, peer
// address change, ...); see sctpwire.Notification.
type Notification = sctpwire.Notification

// RecvInfo describes a received message.
type RecvInfo struct {
	Assoc  AssocID
	Stream uint16
	SSN    uint16
	// PPID is the payload protocol identifier as it is on the wire (SIP
	// sends 0).
	PPID uint32
	// Flags are the SCTP receive flags: sctpwire.FlagUnordered if the peer
	// sent the message unordered.
	Flags uint16
	// Peer is the source address of the message.
	Peer netip.AddrPort
	// EOR is true when the message is complete; false when the buffer was
	// too small and the next read returns the rest.
	EOR bool
}

// Unordered reports whether the message was sent unordered.
func (r RecvInfo) Unordered() bool { return r.Flags&sctpwire.FlagUnordered != 0 }

// Stats are the association counters of a socket, kept from the kernel's
// notifications as they are read.
type Stats struct {
	Assocs        int    // associations up now (as notified)
	Up            uint64 // COMM_UP: associations established
	Down          uint64 // COMM_LOST or SHUTDOWN_COMP of established associations
	Restarts      uint64 // RESTART: the peer restarted an association
	Failed        uint64 // CANT_STR_ASSOC: an association could not be started
	Rejected      uint64 // aborted at once because MaxAssocs was reached
	Notifications uint64 // every notification read
	// KernelFailed counts SEND_FAILED notifications: messages the kernel
	// had accepted and gave up (their sctp-send-ttl expired in its queue,
	// or the association went down before they were sent).
	KernelFailed uint64
	Malformed    uint64 // notifications that did not parse
	// Reads and Messages count a Listener's batched receives: system
	// calls that returned messages, and the messages (notifications and
	// pieces included) they returned.
	Reads, Messages uint64
	// Sent and SendFailed count a Listener's messages (QueueMsg and
	// WriteMsg) that were sent, and that failed (the association was gone,
	// the peer did not read within sctp-send-ttl, the backlog was full,
	// the Listener was closed).
	Sent, SendFailed uint64
	// Backlog describes a Listener's messages waiting for room.
	Backlog BacklogStats
}

// endpoint is an SCTP socket in an os.File: a Conn's, one-to-one, is
// non-blocking, on the Go netpoller (its RawConn parks goroutines instead
// of OS threads); a Listener's, one-to-many, is blocking and off it
// (batch.go).
type endpoint struct {
	f      *os.File
	rc     syscall.RawConn
	family int
	opts   atomic.Pointer[Options]
	closed atomic.Bool

	// blocking endpoints (Listeners) are off the netpoller: their reader
	// receives in batches (see batch.go), hot while messages flow and cold
	// (parked in the netpoller) when idle (package blockread).
	blocking bool
	fd       int               // the socket, for blocking reads (under rmu)
	w        *blockread.Waiter // a blocking endpoint's reader: hot or cold, Close, deadline
	tracking atomic.Bool       // subscribed to association changes (Listener.TrackAssocs)
	in       *recvBatch        // a blocking endpoint's receive batch (under rmu)
	out      *sendBatch        // a blocking endpoint's queued sends (under rmu)
	slow     *backlog          // a blocking endpoint's sends waiting for room

	rmu   sync.Mutex // serializes reads (notifications may come in pieces)
	notif []byte     // a notification being reassembled
	rd    reader     // the read state, under rmu

	mu       sync.Mutex
	assocs   map[AssocID]struct{} // up (COMM_UP read)
	rejected map[AssocID]struct{} // aborted for MaxAssocs, not yet gone
	nrej     atomic.Int32         // len(rejected), read without mu per message
	stats    Stats
	handler  func(Notification)

	rxBatches, rxMsgs atomic.Uint64 // a blocking endpoint's recvmmsg calls and what they returned
	txSent, txFailed  atomic.Uint64 // its queued messages sent and failed
}

// familyOf returns the address family of addrs, which must all be of one.
func familyOf(addrs []netip.Addr) (int, []netip.Addr, error) {
	if len(addrs) == 0 {
		return 0, nil, errors.New("sctp: no address")
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() {
			return 0, nil, fmt.Errorf("sctp: invalid address %v", addrs[i])
		}
		if i > 0 && a.Is4() != out[0].Is4() {
			return 0, nil, fmt.Errorf("sctp: addresses %v and %v are of different families", out[0], a)
		}
		out[i] = a
	}
	if out[0].Is4() {
		return unix.AF_INET, out, nil
	}
	return unix.AF_INET6, out, nil
}

// newEndpoint creates a one-to-many socket of family, subscribed to the
// notifications it needs and with o applied, and calls setup (if not nil)
// on it. A blocking one (a Listener's) is created blocking, with its
// timeouts, so that os.NewFile leaves it off the netpoller: its messages
// wake no thread but its reader.
func newEndpoint(family int, o Options, events []sctpwire.NotificationType, blocking bool, setup func(fd int) error) (*endpoint, error) {
	typ := unix.SOCK_SEQPACKET | unix.SOCK_CLOEXEC
	if !blocking {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(family, typ, unix.IPPROTO_SCTP)
	if err != nil {
		return nil, fmt.Errorf("sctp: socket: %w", err)
	}
	err = initSocket(fd, o, events)
	if err == nil && blocking {
		if err = blockread.SetTimeouts(fd); err != nil {
			err = fmt.Errorf("sctp: %w", err)
		}
	}
	if err == nil && setup != nil {
		err = setup(fd)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return wrapEndpoint(fd, family, o, events, blocking)
}

// wrapEndpoint makes an endpoint of the SCTP socket fd, initialized
// (initSocket) with o and events, and takes it over: closed on failure. A
// non-blocking fd is put on the netpoller.
func wrapEndpoint(fd, family int, o Options, events []sctpwire.NotificationType, blocking bool) (*endpoint, error) {
	var w *blockread.Waiter
	if blocking {
		var err error
		if w, err = blockread.New(fd); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("sctp: %w", err)
		}
	}
	f := os.NewFile(uintptr(fd), "sctp")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		if w != nil {
			w.Close()
		}
		return nil, err
	}
	e := &endpoint{f: f, rc: rc, family: family, blocking: blocking, fd: fd, w: w,
		assocs: make(map[AssocID]struct{}), rejected: make(map[AssocID]struct{})}
	if blocking {
		e.in, e.out, e.slow = newRecvBatch(fd), new(sendBatch), newBacklog(e)
	}
	e.opts.Store(&o)
	e.tracking.Store(slices.Contains(events, sctpwire.AssocChange))
	e.rd.fn = e.rd.recv
	return e, nil
}

func (e *endpoint) setReadDeadline(t time.Time) error {
	if !e.blocking {
		return e.f.SetReadDeadline(t)
	}
	return e.w.SetDeadline(t)
}

// reader is the state of one read (a recvmsg on the netpoller, or a
// message handed out of a batch), kept with its function so that a read
// allocates nothing.
type reader struct {
	buf                     []byte
	oob                     [64]byte
	name                    [sctpwire.SizeofSockaddrInet6]byte
	n, oobn, namelen, flags int
	err                     error
	fn                      func(fd uintptr) bool // recv, bound once
}

func (r *reader) recv(fd uintptr) bool {
	r.n, r.oobn, r.namelen, r.flags, r.err = recvmsg(int(fd), r.buf, r.oob[:], r.name[:])
	return r.err != unix.EAGAIN
}

// sender is the state of one sendmsg, pooled so that a send allocates
// nothing.
type sender struct {
	e    *endpoint
	b    []byte
	oob  [64]byte
	oobn int
	err  error
	fn   func(fd uintptr) bool // send, bound once
	ctl  func(fd uintptr)      // send, for RawConn.Control
}

// send makes the sendmsg; on a blocking endpoint (a Listener's Abort or
// Shutdown) it waits for room up to sendWaits HotTimeouts (SO_SNDTIMEO).
func (s *sender) send(fd uintptr) bool {
	for waits := 0; ; waits++ {
		_, s.err = sendmsg(int(fd), s.b, s.oob[:s.oobn])
		if s.err != unix.EAGAIN || !s.e.blocking {
			return s.err != unix.EAGAIN
		}
		if s.e.closed.Load() { // timed out (SO_SNDTIMEO) and closed
			s.err = net.ErrClosed
			return true
		}
		if waits >= sendWaits {
			s.err = errNoRoom
			return true
		}
	}
}

var senders = sync.Pool{New: func() any {
	s := new(sender)
	s.fn = s.send
	s.ctl = func(fd uintptr) { s.send(fd) }
	return s
}}

// connEvents are the notifications a Conn subscribes to: its users follow
// paths, shutdowns and messages the stack gave up (sctp-send-retries).
var connEvents = []sctpwire.NotificationType{
	sctpwire.AssocChange, sctpwire.PeerAddrChange, sctpwire.ShutdownEvent,
	sctpwire.RemoteError, sctpwire.SendFailedEvent,
}

// listenerEvents are the notifications a Listener subscribes to:
// association changes (Stats, MaxAssocs) and the messages the kernel gave
// up (Stats.KernelFailed: a read each, only when a message is lost), so
// that no other notification costs the server a read.
var listenerEvents = []sctpwire.NotificationType{sctpwire.AssocChange, sctpwire.SendFailedEvent}

// initSocket subscribes fd to events and receive information and applies
// o.
func initSocket(fd int, o Options, events []sctpwire.NotificationType) error {
	for _, ev := range events {
		if err := setsockopt(fd, sctpwire.OptEvent, sctpwire.Event{Type: uint16(ev), On: true}.Marshal()); err != nil {
			return fmt.Errorf("sctp: SCTP_EVENT %v: %w", ev, err)
		}
	}
	if err := unix.SetsockoptInt(fd, sctpwire.SolSCTP, sctpwire.OptRecvRcvInfo, 1); err != nil {
		return fmt.Errorf("sctp: SCTP_RECVRCVINFO: %w", err)
	}
	// A SIP message goes at once, as in Kamailio's sctp module: with
	// Nagle's algorithm the stack holds a message while earlier ones are
	// unacknowledged until a full packet's worth waits (64 KiB on
	// loopback), that is until the peer's delayed SACK (200 ms) when
	// less is queued, as when a send buffer full of a slow peer's
	// messages drains.
	if err := unix.SetsockoptInt(fd, sctpwire.SolSCTP, sctpwire.OptNoDelay, 1); err != nil {
		return fmt.Errorf("sctp: SCTP_NODELAY: %w", err)
	}
	return Apply(fd, o)
}

// control runs fn on the fd.
func (e *endpoint) control(fn func(fd int) error) error {
	var ferr error
	if err := e.rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return mapErr(err)
	}
	return ferr
}

func mapErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return net.ErrClosed
	}
	return err
}

// recvmsg is recvmsg(2) without allocations; name receives the source
// address.
func recvmsg(fd int, p, oob, name []byte) (n, oobn, namelen, flags int, err error) {
	var msg unix.Msghdr
	var iov unix.Iovec
	iov.Base = &p[0]
	iov.SetLen(len(p))
	msg.Iov, msg.Iovlen = &iov, 1
	msg.Name, msg.Namelen = &name[0], uint32(len(name))
	msg.Control = &oob[0]
	msg.SetControllen(len(oob))
	for {
		r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, 0, 0, 0, e
		}
		return int(r), int(msg.Controllen), int(msg.Namelen), int(msg.Flags), nil
	}
}

// sendmsg is sendmsg(2); unlike unix.SendmsgN it sends an empty message as
// such (SCTP_ABORT and SCTP_EOF need that).
func sendmsg(fd int, p, oob []byte) (int, error) { return sendmsgFlags(fd, p, oob, 0) }

// sendmsgFlags is sendmsg with flags (MSG_DONTWAIT) besides MSG_NOSIGNAL.
func sendmsgFlags(fd int, p, oob []byte, flags int) (int, error) {
	var msg unix.Msghdr
	var iov unix.Iovec
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov, msg.Iovlen = &iov, 1
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	for {
		r, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(unix.MSG_NOSIGNAL|flags))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// readMsg returns the next data message, handling the notifications read
// before it. If until is not nil it is called with each notification and
// readMsg returns (0, RecvInfo{}, nil) as soon as it returns true.
func (e *endpoint) readMsg(buf []byte, until func(Notification) bool) (int, RecvInfo, error) {
	if len(buf) == 0 {
		return 0, RecvInfo{}, io.ErrShortBuffer
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	r := &e.rd
	defer func() { r.buf = nil }()
	// A message longer than a read (the caller's buffer, a batch slot or
	// the kernel's partial delivery point) comes in pieces, which are
	// joined in buf; off is what buf holds of the message so far.
	off := 0
	var info RecvInfo
	skip := false // the rest of a message of a rejected association
	for {
		r.buf = buf[off:]
		var err error
		if e.blocking {
			err = e.readBlocking(r)
		} else {
			err = e.rc.Read(r.fn)
		}
		if err == nil {
			err = r.err
		}
		n, oobn, namelen, flags := r.n, r.oobn, r.namelen, r.flags
		if err != nil {
			if e.closed.Load() {
				return 0, RecvInfo{}, net.ErrClosed
			}
			return 0, RecvInfo{}, mapErr(err)
		}
		if flags&sctpwire.MsgNotification != 0 {
			msg := r.buf[:n]
			if flags&sctpwire.MsgEOR == 0 || len(e.notif) > 0 {
				e.notif = append(e.notif, msg...)
				if flags&sctpwire.MsgEOR == 0 {
					if len(e.notif) > 1<<16 { // no notification is that long
						e.notif = e.notif[:0]
						e.count(func(s *Stats) { s.Malformed++ })
					}
					continue
				}
				msg = e.notif
			}
			nt, ok := e.notification(msg)
			e.notif = e.notif[:0]
			if ok && until != nil && until(nt) {
				return 0, RecvInfo{}, nil
			}
			continue
		}
		if n == 0 && off == 0 { // a one-to-one socket whose association ended
			return 0, RecvInfo{}, io.EOF
		}
		eor := flags&sctpwire.MsgEOR != 0
		if skip {
			skip = !eor
			continue
		}
		if off == 0 {
			if namelen > len(r.name) {
				namelen = len(r.name)
			}
			info.Peer, _, _ = sctpwire.ParseSockaddr(r.name[:namelen])
			if ri, ok, _ := sctpwire.ParseRecvCmsgs(r.oob[:min(oobn, len(r.oob))]); ok {
				info.Assoc, info.Stream, info.SSN, info.Flags = AssocID(ri.Assoc), ri.Stream, ri.SSN, ri.Flags
				info.PPID = ntohl(ri.PPID)
			}
			if e.nrej.Load() > 0 && e.isRejected(info.Assoc) {
				skip = !eor // sent early by a peer beyond MaxAssocs
				info = RecvInfo{}
				continue
			}
		}
		off += n
		if eor || off == len(buf) {
			info.EOR = eor
			return off, info, nil
		}
	}
}

func (e *endpoint) count(f func(*Stats)) {
	e.mu.Lock()
	f(&e.stats)
	e.mu.Unlock()
}

func (e *endpoint) isRejected(a AssocID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, r := e.rejected[a]
	return r
}

// notification parses and accounts for one notification, enforces
// MaxAssocs and calls the handler.
func (e *endpoint) notification(b []byte) (Notification, bool) {
	n, err := sctpwire.ParseNotification(b)
	e.mu.Lock()
	e.stats.Notifications++
	if err != nil {
		e.stats.Malformed++
		e.mu.Unlock()
		return n, false
	}
	id := AssocID(n.Assoc)
	abort := false
	if n.Type == sctpwire.SendFailedEvent || n.Type == sctpwire.SendFailed {
		e.stats.KernelFailed++
	}
	if n.Type == sctpwire.AssocChange {
		switch n.State {
		case sctpwire.CommUp:
			e.stats.Up++
			if max := e.opts.Load().MaxAssocs; max > 0 && len(e.assocs) >= max {
				e.rejected[id] = struct{}{}
				e.nrej.Store(int32(len(e.rejected)))
				e.stats.Rejected++
				abort = true
			} else {
				e.assocs[id] = struct{}{}
			}
		case sctpwire.Restart:
			e.stats.Restarts++
		case sctpwire.CommLost, sctpwire.ShutdownComp:
			if _, ok := e.assocs[id]; ok {
				delete(e.assocs, id)
				e.stats.Down++
			}
			delete(e.rejected, id)
			e.nrej.Store(int32(len(e.rejected)))
		case sctpwire.CantStrAssoc:
			e.stats.Failed++
		}
	}
	e.stats.Assocs = len(e.assocs)
	h := e.handler
	e.mu.Unlock()
	if abort {
		e.sendFlags(id, sctpwire.FlagAbort) // the association is gone either way
	}
	if h != nil {
		h(n)
	}
	return n, true
}

// sndInfo is the send information of a message on assoc with the
// endpoint's send options; context is the sender's tag that a SEND_FAILED
// notification of the message carries back. A TTL without a PR-SCTP
// policy flag is the kernel's timed reliability (it drops the message when
// it is still unsent at expiry, the next time it looks at its queue: on a
// retransmission or a zero-window probe).
func (e *endpoint) sndInfo(assoc AssocID, stream uint16, ppid, context uint32) sctpwire.SndRcvInfo {
	o := e.opts.Load()
	info := sctpwire.SndRcvInfo{Stream: stream, PPID: htonl(ppid), AssocID: int32(assoc), TTL: uint32(o.SendTTL),
		Context: context}
	if o.Unordered {
		info.Flags |= sctpwire.FlagUnordered
	}
	return info
}

// writeMsg sends b on assoc: a Conn waits for room in the send buffer, a
// Listener sends at once or queues b in its backlog.
func (e *endpoint) writeMsg(b []byte, assoc AssocID, stream uint16, ppid, context uint32) error {
	info := e.sndInfo(assoc, stream, ppid, context)
	var err error
	if e.blocking {
		err = e.sendOrQueue(b, info)
	} else {
		err = e.send(b, info)
	}
	if err != nil {
		return fmt.Errorf("sctp: send to association %d: %w", assoc, err)
	}
	return nil
}

// tryWriteMsg sends b on assoc, or fails with ErrWouldBlock.
func (e *endpoint) tryWriteMsg(b []byte, assoc AssocID, stream uint16, ppid, context uint32) error {
	if err := e.trySend(b, e.sndInfo(assoc, stream, ppid, context)); err != nil {
		return fmt.Errorf("sctp: send to association %d: %w", assoc, err)
	}
	return nil
}

// sendOrQueue sends b on a blocking endpoint without waiting: at once when
// the association has room and nothing in the backlog, else into the
// backlog (see backlog).
func (e *endpoint) sendOrQueue(b []byte, info sctpwire.SndRcvInfo) error {
	if !e.slow.holds(AssocID(info.AssocID)) {
		var oob [64]byte
		n := sctpwire.PutSndRcvCmsg(oob[:], info)
		var serr error
		if err := e.rc.Control(func(fd uintptr) { _, serr = sendmsgFlags(int(fd), b, oob[:n], unix.MSG_DONTWAIT) }); err != nil {
			e.txFailed.Add(1)
			return mapErr(err)
		}
		switch serr {
		case nil:
			e.txSent.Add(1)
			return nil
		case unix.EAGAIN:
		default:
			e.txFailed.Add(1)
			return serr
		}
	}
	if err := e.slow.push(b, info, time.Now()); err != nil {
		e.txFailed.Add(1)
		return err
	}
	return nil
}

// sendFlags sends an empty message with flags (SCTP_ABORT, SCTP_EOF).
func (e *endpoint) sendFlags(assoc AssocID, flags uint16) error {
	return e.send(nil, sctpwire.SndRcvInfo{AssocID: int32(assoc), Flags: flags})
}

// ErrWouldBlock is the error of a non-blocking write that found the
// socket's send buffer full (errors.Is(err, unix.EAGAIN) holds too).
var ErrWouldBlock = fmt.Errorf("sctp: send buffer full: %w", unix.EAGAIN)

// trySend is send without waiting for room in the send buffer.
func (e *endpoint) trySend(b []byte, info sctpwire.SndRcvInfo) error {
	if e.blocking {
		return errors.New("sctp: non-blocking send on a blocking endpoint")
	}
	err := e.sendWith(b, info, false)
	if errors.Is(err, unix.EAGAIN) {
		return ErrWouldBlock
	}
	return err
}

func (e *endpoint) send(b []byte, info sctpwire.SndRcvInfo) error { return e.sendWith(b, info, true) }

// sendWith makes the sendmsg of b with info: through the RawConn's Write,
// which waits for room (wait), or its Control, which does not.
func (e *endpoint) sendWith(b []byte, info sctpwire.SndRcvInfo, wait bool) error {
	s := senders.Get().(*sender)
	s.e, s.b, s.oobn = e, b, sctpwire.PutSndRcvCmsg(s.oob[:], info)
	var err error
	if wait {
		err = e.rc.Write(s.fn)
	} else {
		err = e.rc.Control(s.ctl)
	}
	if err == nil {
		err = s.err
	}
	s.e, s.b, s.err = nil, nil, nil
	senders.Put(s)
	return mapErr(err)
}

// waitAssoc reads notifications until assoc is up (nil) or failed.
func (e *endpoint) waitAssoc(ctx context.Context, assoc AssocID) error {
	if d, ok := ctx.Deadline(); ok {
		e.f.SetReadDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { e.f.SetReadDeadline(time.Unix(1, 0)) })
	defer func() {
		stop()
		e.f.SetReadDeadline(time.Time{})
	}()
	var result error
	buf := make([]byte, 512)
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		_, _, err := e.readMsg(buf, func(n Notification) bool {
			if n.Type != sctpwire.AssocChange || AssocID(n.Assoc) != assoc {
				return false
			}
			switch n.State {
			case sctpwire.CommUp:
				return true
			case sctpwire.CantStrAssoc, sctpwire.CommLost:
				result = fmt.Errorf("sctp: association could not be started (%s, error %d)", n.StateName(), n.Error)
				return true
			}
			return false
		})
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		}
		if result != nil || e.hasAssoc(assoc) {
			return result
		}
	}
}

func (e *endpoint) hasAssoc(a AssocID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.assocs[a]
	return ok
}

func (e *endpoint) close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	if e.blocking {
		// A cold reader wakes at once, a hot one within HotTimeout; the
		// fd must not be closed (and reused) under either.
		e.w.Close()
		e.slow.stop()
		e.rmu.Lock()
		defer e.rmu.Unlock()
	}
	return e.f.Close()
}

func (e *endpoint) statsSnapshot() Stats {
	e.mu.Lock()
	st := e.stats
	e.mu.Unlock()
	st.Reads, st.Messages = e.rxBatches.Load(), e.rxMsgs.Load()
	st.Sent, st.SendFailed = e.txSent.Load(), e.txFailed.Load()
	if e.slow != nil {
		st.Backlog = e.slow.stats()
	}
	return st
}

func (e *endpoint) setHandler(h func(Notification)) {
	e.mu.Lock()
	e.handler = h
	e.mu.Unlock()
}

func (e *endpoint) localAddrs() ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	err := e.control(func(fd int) (err error) {
		out, err = getAddrs(fd, sctpwire.OptGetLocalAddrs, 0)
		return err
	})
	return out, err
}

func (e *endpoint) peerAddrs(assoc AssocID) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	err := e.control(func(fd int) (err error) {
		out, err = getAddrs(fd, sctpwire.OptGetPeerAddrs, int32(assoc))
		return err
	})
	return out, err
}

// peerAddrCount returns the number of peer addresses of assoc
// (SCTP_ASSOCINFO sasoc_number_peer_destinations).
func (e *endpoint) peerAddrCount(assoc AssocID) (int, error) {
	var n int
	err := e.control(func(fd int) error {
		b, err := getsockopt(fd, sctpwire.OptAssocInfo, sctpwire.AssocParams{Assoc: int32(assoc)}.Marshal())
		if err != nil {
			return err
		}
		ap, err := sctpwire.ParseAssocParams(b)
		n = int(ap.PeerDests)
		return err
	})
	return n, err
}

// pathInfo returns the kernel's state of the peer address addr of assoc
// (SCTP_GET_PEER_ADDR_INFO).
func (e *endpoint) pathInfo(assoc AssocID, addr netip.AddrPort) (sctpwire.PaddrInfo, error) {
	var p sctpwire.PaddrInfo
	err := e.control(func(fd int) error {
		b, err := getsockopt(fd, sctpwire.OptGetPeerAddrInfo, sctpwire.PaddrInfo{Assoc: int32(assoc), Addr: addr}.Marshal())
		if err != nil {
			return err
		}
		p, err = sctpwire.ParsePaddrInfo(b)
		return err
	})
	if err == nil && !p.Addr.IsValid() {
		p.Addr = addr
	}
	return p, err
}

func (e *endpoint) status(assoc AssocID) (sctpwire.Status, error) {
	var st sctpwire.Status
	err := e.control(func(fd int) (err error) {
		st, err = status(fd, int32(assoc))
		return err
	})
	return st, err
}

func (e *endpoint) readOptions(assoc AssocID) (Options, error) {
	var o Options
	err := e.control(func(fd int) (err error) {
		o, err = readOptions(fd, int32(assoc))
		return err
	})
	cur := e.opts.Load()
	o.MaxAssocs = cur.MaxAssocs
	o.BacklogAssoc, o.BacklogTotal = cur.BacklogLimits()
	return o, err
}

// htonl and ntohl convert the PPID between its wire value and the bytes the
// kernel copies verbatim.
func htonl(v uint32) uint32 {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return binary.NativeEndian.Uint32(b[:])
}

func ntohl(v uint32) uint32 { return htonl(v) }
