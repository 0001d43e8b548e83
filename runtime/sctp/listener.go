package sctp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// ListenBacklog is the listen(2) backlog of a Listener. (On one-to-many
// sockets Linux does not limit new associations by it, but a library
// default of 128 made the kernel abort bursts of one-to-one associations.)
const ListenBacklog = 4096

// Listener is an SCTP server endpoint for SIP: ONE one-to-many
// (SOCK_SEQPACKET) socket that carries every association, bound to a
// primary address plus any secondary (multi-homed) addresses of the same
// family. The socket is not on the Go netpoller: its reader receives
// batches of messages with recvmmsg(2), keeping its P while messages flow
// and parked in the netpoller when idle (see package blockread). Responses queued with
// QueueMsg go out together in one sendmmsg(2) at Flush. Close and read
// deadlines take effect at once on an idle reader, within 5 ms on a busy
// one.
//
// Messages of all associations arrive through ReadMsg, each tagged with its
// association; WriteMsg sends on one association. Notifications (association
// up, down, ...) are handled inside ReadMsg: they update Stats, enforce
// MaxAssocs and are passed to the OnNotification handler. ReadMsg must
// therefore be called continuously for Stats and MaxAssocs to be current.
type Listener struct {
	e    *endpoint
	port int
}

// Listen opens a Listener on port (0: an ephemeral port) of addrs: addrs[0]
// is the primary address, the others are added with sctp_bindx. All must be
// of one family; an unspecified address (0.0.0.0, ::) binds every local
// address. o is applied before bind, so that it holds for every association;
// an option the kernel refuses makes Listen fail.
func Listen(addrs []netip.Addr, port int, o Options) (*Listener, error) {
	fam, addrs, err := familyOf(addrs)
	if err != nil {
		return nil, err
	}
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("sctp: port %d out of range", port)
	}
	bound := 0
	e, err := newEndpoint(fam, o, listenerEvents, true, func(fd int) error {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fmt.Errorf("sctp: SO_REUSEADDR: %w", err)
		}
		if err := bindx(fd, addrs, port); err != nil {
			return fmt.Errorf("sctp: bind %v port %d: %w", addrs, port, err)
		}
		if err := unix.Listen(fd, ListenBacklog); err != nil {
			return fmt.Errorf("sctp: listen: %w", err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return fmt.Errorf("sctp: getsockname: %w", err)
		}
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			bound = sa.Port
		case *unix.SockaddrInet6:
			bound = sa.Port
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Listener{e: e, port: bound}, nil
}

// QueueMsg queues a copy of b for association assoc, to be sent by the
// next Flush (or sooner, when the queue is full). Only the goroutine that
// calls ReadMsg may call it (it takes no lock unless it must flush).
func (l *Listener) QueueMsg(b []byte, assoc AssocID, stream uint16, ppid uint32) {
	l.e.queue(b, assoc, stream, ppid)
}

// Flush sends the queued messages, as many as the socket takes in one
// sendmmsg(2), and returns how many were sent and how many failed since
// the last Flush, with the first failure. It does not wait for room: a
// message whose association's send buffer is full waits in the Listener's
// backlog, sent in order by another goroutine (and counted in Stats, not
// here) while the reader goes on, for as long as sctp-send-ttl allows
// (Options.SendTTL, from when it was backlogged). Only the goroutine that calls
// ReadMsg may call it. ReadMsg sends what is queued itself before it waits
// for the kernel, so nothing queued waits for the next message; Flush
// collects the counts (and sends at once what ReadMsg would).
func (l *Listener) Flush() (sent, failed int, err error) {
	s := l.e.out
	if s.n > 0 {
		l.e.rmu.Lock() // Close must not close the socket under the send
		l.e.flushLocked()
		l.e.rmu.Unlock()
	}
	sent, failed, err = s.sent, s.failed, s.err
	s.sent, s.failed, s.err = 0, 0, nil
	return sent, failed, err
}

// Overloaded reports whether the Listener is over its capacity for assoc:
// the messages waiting for room, assoc's or all of them, are more than half
// their bound (Options.BacklogAssoc, BacklogTotal). Then the peer, or the
// peers together, do not take responses as fast as they send requests, and
// a server should refuse new work until they catch up. Any goroutine may
// call it; it takes no lock while nothing waits.
func (l *Listener) Overloaded(assoc AssocID) bool { return l.e.slow.overloaded(assoc) }

// SetHot allows (true, the default) or forbids the reader to keep its P
// between messages while they flow (see package blockread). Forbid it when
// the program has a single P (GOMAXPROCS 1) and other goroutines wait on
// the network: a hot reader would delay them by up to 10 ms. A cold reader
// parks in the netpoller between batches.
func (l *Listener) SetHot(on bool) { l.e.w.SetHot(on) }

// Buffered returns the number of messages (or message pieces and
// notifications) received from the kernel that ReadMsg has not returned
// yet: while it is not 0, ReadMsg does not wait. Only the goroutine that
// calls ReadMsg may call it.
func (l *Listener) Buffered() int { return l.e.in.buffered() }

// Port returns the local port.
func (l *Listener) Port() int { return l.port }

// LocalAddrs returns the local addresses the kernel has bound (with the port).
func (l *Listener) LocalAddrs() ([]netip.AddrPort, error) { return l.e.localAddrs() }

// ReadMsg reads the next message of any association into buf. See RecvInfo.
// After Close it returns net.ErrClosed at once; after a read deadline
// passes, os.ErrDeadlineExceeded. Concurrent calls are served one at a time.
func (l *Listener) ReadMsg(buf []byte) (int, RecvInfo, error) { return l.e.readMsg(buf, nil) }

// WriteMsg sends b as one message on association assoc, stream and ppid
// (the wire value; SIP uses 0), unordered if Options.Unordered and with
// lifetime Options.SendTTL. It never waits: when the association's send
// buffer is full, or earlier messages for it wait in the backlog, b joins
// them (see Flush); it fails when the backlog is at one of its bounds
// (Options.BacklogAssoc, BacklogTotal) or the association is gone. Any
// goroutine may call it.
func (l *Listener) WriteMsg(b []byte, assoc AssocID, stream uint16, ppid uint32) error {
	return l.e.writeMsg(b, assoc, stream, ppid, 0)
}

// SetReadDeadline sets the deadline of ReadMsg (zero: none).
func (l *Listener) SetReadDeadline(t time.Time) error { return l.e.setReadDeadline(t) }

// OnNotification sets a function called (from ReadMsg's goroutine, before
// ReadMsg goes on) with every notification. A Listener subscribes to
// association changes only (a Conn to paths, shutdowns, remote errors and
// send failures too). It must not call ReadMsg. The
// notification's Info aliases a read buffer: copy it to keep it.
func (l *Listener) OnNotification(h func(Notification)) { l.e.setHandler(h) }

// SetOptions applies o to the listening socket. Protocol options (RTO,
// heartbeat, retransmissions, SACK, burst, streams, INIT, autoclose) are
// endpoint defaults copied into associations when they are created: they
// affect only NEW associations. SendTTL, Unordered and MaxAssocs hold from
// the next message or association on; buffer sizes are the socket's own.
func (l *Listener) SetOptions(o Options) error {
	if o.MaxAssocs > 0 && !l.e.tracking.Load() {
		return errors.New("sctp: a maximum of associations needs association tracking (TrackAssocs)")
	}
	err := l.e.control(func(fd int) error { return Apply(fd, o) })
	l.e.opts.Store(&o)
	return err
}

// Options returns the options last given to Listen or SetOptions.
func (l *Listener) Options() Options { return *l.e.opts.Load() }

// ReadOptions reads the listener's options back from the kernel (see the
// function ReadOptions): what new associations get. MaxAssocs and the
// backlog bounds, not kernel options, are those in force.
func (l *Listener) ReadOptions() (Options, error) { return l.e.readOptions(sctpwire.FutureAssoc) }

// ReadAssocOptions reads the options of the existing association assoc from
// the kernel: its own RTO, retransmission, heartbeat, SACK, burst and send
// values, and the streams negotiated for it; INIT, autoclose and buffer
// values are the socket's.
func (l *Listener) ReadAssocOptions(assoc AssocID) (Options, error) {
	if assoc <= sctpwire.AllAssoc {
		return Options{}, fmt.Errorf("sctp: %d is not an association id", assoc)
	}
	return l.e.readOptions(assoc)
}

// SetAssocOptions applies the per-association options of o to the existing
// association assoc (see ApplyAssoc).
func (l *Listener) SetAssocOptions(assoc AssocID, o Options) error {
	if assoc <= sctpwire.AllAssoc {
		return fmt.Errorf("sctp: %d is not an association id", assoc)
	}
	return l.e.control(func(fd int) error { return ApplyAssoc(fd, assoc, o) })
}

// Status returns the kernel's status of association assoc (state, streams,
// primary path with its RTO).
func (l *Listener) Status(assoc AssocID) (sctpwire.Status, error) { return l.e.status(assoc) }

// PeerAddrs returns the peer's addresses on association assoc
// (SCTP_GET_PEER_ADDRS).
func (l *Listener) PeerAddrs(assoc AssocID) ([]netip.AddrPort, error) { return l.e.peerAddrs(assoc) }

// PeerAddrCount returns the number of the peer's addresses on association
// assoc (SCTP_ASSOCINFO).
func (l *Listener) PeerAddrCount(assoc AssocID) (int, error) { return l.e.peerAddrCount(assoc) }

// Abort aborts association assoc (an ABORT chunk, no shutdown handshake).
func (l *Listener) Abort(assoc AssocID) error {
	if err := l.e.sendFlags(assoc, sctpwire.FlagAbort); err != nil {
		return fmt.Errorf("sctp: abort association %d: %w", assoc, err)
	}
	return nil
}

// Shutdown gracefully shuts association assoc down (SHUTDOWN handshake).
func (l *Listener) Shutdown(assoc AssocID) error {
	if err := l.e.sendFlags(assoc, sctpwire.FlagEOF); err != nil {
		return fmt.Errorf("sctp: shut down association %d: %w", assoc, err)
	}
	return nil
}

// Assocs returns the number of associations the kernel has on the socket
// (SCTP_GET_ASSOC_NUMBER), in any state, whether or not notified yet.
func (l *Listener) Assocs() (int, error) {
	var n int
	err := l.e.control(func(fd int) (err error) {
		n, err = unix.GetsockoptInt(fd, sctpwire.SolSCTP, sctpwire.OptGetAssocNumber)
		return err
	})
	return n, err
}

// Stats returns the association counters kept from notifications. Without
// association tracking only Assocs (from the kernel), Reads, Messages,
// Sent and SendFailed are counted.
func (l *Listener) Stats() Stats {
	st := l.e.statsSnapshot()
	if !l.e.tracking.Load() {
		st.Assocs, _ = l.Assocs()
	}
	return st
}

// TrackAssocs turns association tracking on (the default) or off. On, the
// Listener subscribes to association-change notifications: two more
// messages to read for every association (up, then down), which keep Stats
// and enforce MaxAssocs. Off, the server reads its peers' messages only;
// Stats.Assocs then comes from the kernel, AssocIDs lists the associations,
// and MaxAssocs cannot be set.
func (l *Listener) TrackAssocs(on bool) error {
	if !on && l.e.opts.Load().MaxAssocs > 0 {
		return errors.New("sctp: a maximum of associations needs association tracking")
	}
	err := l.e.control(func(fd int) error {
		return setsockopt(fd, sctpwire.OptEvent, sctpwire.Event{Type: uint16(sctpwire.AssocChange), On: on}.Marshal())
	})
	if err != nil {
		return fmt.Errorf("sctp: association tracking: %w", err)
	}
	l.e.tracking.Store(on)
	return nil
}

// Tracking reports whether association tracking is on.
func (l *Listener) Tracking() bool { return l.e.tracking.Load() }

// AssocIDs returns the ids of the associations the kernel has on the socket
// (SCTP_GET_ASSOC_ID_LIST), tracked or not.
func (l *Listener) AssocIDs() ([]AssocID, error) {
	var ids []AssocID
	err := l.e.control(func(fd int) error {
		for try := 0; ; try++ {
			n, err := unix.GetsockoptInt(fd, sctpwire.SolSCTP, sctpwire.OptGetAssocNumber)
			if err != nil {
				return err
			}
			b, err := getsockopt(fd, sctpwire.OptGetAssocIDList, make([]byte, 4+4*(n+8)))
			if err == unix.EINVAL && try < 3 { // more associations since
				continue
			}
			if err != nil {
				return err
			}
			if len(b) < 4 {
				return fmt.Errorf("sctp: SCTP_GET_ASSOC_ID_LIST: %d bytes", len(b))
			}
			count := int(binary.NativeEndian.Uint32(b))
			for i := 0; i < count && 4+4*i+4 <= len(b); i++ {
				ids = append(ids, AssocID(int32(binary.NativeEndian.Uint32(b[4+4*i:]))))
			}
			return nil
		}
	})
	if err != nil {
		return nil, fmt.Errorf("sctp: association ids: %w", err)
	}
	return ids, nil
}

// Close closes the socket: blocked and later ReadMsg calls return
// net.ErrClosed at once, the kernel shuts every association down and the
// port can be bound again right away.
func (l *Listener) Close() error { return l.e.close() }
