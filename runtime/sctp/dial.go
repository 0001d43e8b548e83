package sctp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	libsctp "github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// Conn is one outbound association on a one-to-one (SOCK_STREAM) socket
// of its own, bound to the given local addresses (or chosen by the
// kernel), on the Go netpoller (a Listener's reader is off it, see
// batch.go).
type Conn struct {
	e     *endpoint
	assoc AssocID
	down  atomic.Bool
}

// Dial is DialContext without a context.
func Dial(local, remote []netip.Addr, port int, o Options) (*Conn, error) {
	return DialContext(context.Background(), local, remote, port, o)
}

// dialBound bounds a dial without a deadline: the kernel gives up sooner
// (after Options.InitMaxAttempts), and a finite SO_SNDTIMEO makes a
// signal end the blocking connect with EINTR (redialled) rather than
// restart it (which would fail with EALREADY).
const dialBound = time.Hour

// DialContext opens an association to port on remote (the peer's addresses,
// all of one family; the first is tried first) from local (none: the kernel
// chooses; several: multi-homed) and waits until it is up, the kernel gives
// up (after Options.InitMaxAttempts) or ctx ends.
//
// The association is made by github.com/ishidawataru/sctp's dialer: it
// creates the socket, calls the Control hook (where our events, NODELAY and
// every option of o are set, and SO_SNDTIMEO bounds its blocking connect by
// ctx's deadline), binds the local address set and connects with
// sctp_connectx. Its connect blocks a thread, so it runs in a goroutine that
// ctx can leave behind (it then closes what it made); the connected socket
// is then made non-blocking and moved onto the Go netpoller, where the
// library's SCTPConn (blocking reads and writes, no deadlines) is not.
func DialContext(ctx context.Context, local, remote []netip.Addr, port int, o Options) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sctp: connect %v port %d: %w", remote, port, context.Cause(ctx))
	}
	fam, remote, err := familyOf(remote)
	if err != nil {
		return nil, err
	}
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("sctp: port %d out of range", port)
	}
	if len(local) > 0 {
		lfam, l, err := familyOf(local)
		if err != nil {
			return nil, err
		}
		if lfam != fam {
			return nil, fmt.Errorf("sctp: local %v and remote %v are of different families", l, remote)
		}
		local = l
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(dialBound)
	}
	done := make(chan dialed, 1)
	go func() { done <- dialFD(fam, local, remote, port, o, deadline) }()
	var d dialed
	select {
	case d = <-done:
	case <-ctx.Done():
		go func() {
			if d := <-done; d.err == nil {
				unix.Close(d.fd)
			}
		}()
		return nil, fmt.Errorf("sctp: connect %v port %d: %w", remote, port, context.Cause(ctx))
	}
	if d.err != nil {
		return nil, fmt.Errorf("sctp: connect %v port %d: %w", remote, port, d.err)
	}
	e, err := wrapEndpoint(d.fd, fam, o, connEvents, false)
	if err != nil {
		return nil, err
	}
	var assoc int32
	err = e.control(func(fd int) error {
		st, err := status(fd, 0) // one-to-one: the socket's association
		assoc = st.Assoc
		return err
	})
	if err == nil {
		err = e.waitAssoc(ctx, AssocID(assoc)) // reads the queued COMM_UP
	}
	if err != nil {
		e.close()
		return nil, fmt.Errorf("sctp: connect %v port %d: %w", remote, port, err)
	}
	return &Conn{e: e, assoc: AssocID(assoc)}, nil
}

// dialed is the outcome of dialFD: a connected socket or an error.
type dialed struct {
	fd  int
	err error
}

// dialFD connects a blocking one-to-one socket with the library's dialer,
// redialling when a signal interrupts its connect, until deadline.
func dialFD(fam int, local, remote []netip.Addr, port int, o Options, deadline time.Time) dialed {
	network := "sctp4"
	if fam == unix.AF_INET6 {
		network = "sctp6"
	}
	var laddr *libsctp.SCTPAddr
	if len(local) > 0 {
		laddr = sctpAddr(local, 0)
	}
	raddr := sctpAddr(remote, port)
	r := o.resolve(cachedDefaults())
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return dialed{err: unix.ETIMEDOUT}
		}
		cfg := libsctp.SocketConfig{
			// The dialer sets INITMSG after Control: the same values.
			InitMsg: initMsg(r),
			Control: func(_, _ string, rc syscall.RawConn) error {
				var err error
				cerr := rc.Control(func(fd uintptr) {
					tv := unix.NsecToTimeval(max(left, time.Millisecond).Nanoseconds())
					if err = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
						err = fmt.Errorf("SO_SNDTIMEO: %w", err)
						return
					}
					err = initSocket(int(fd), o, connEvents)
				})
				return errors.Join(cerr, err)
			},
		}
		c, err := cfg.Dial(network, laddr, raddr)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EINPROGRESS) { // SO_SNDTIMEO passed
			err = unix.ETIMEDOUT
		}
		if err != nil {
			return dialed{err: err}
		}
		// The socket is ours now: the SCTPConn holds nothing else and is
		// dropped (its Close would shut the association down).
		var fd int
		rc, err := c.SyscallConn()
		if err == nil {
			err = rc.Control(func(f uintptr) { fd = int(f) })
		}
		if err != nil {
			c.Close()
			return dialed{err: err}
		}
		var zero unix.Timeval
		if err := errors.Join(unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &zero),
			unix.SetNonblock(fd, true)); err != nil {
			unix.Close(fd)
			return dialed{err: err}
		}
		return dialed{fd: fd}
	}
}

// Assoc returns the association's id.
func (c *Conn) Assoc() AssocID { return c.assoc }

// ReadMsg reads the next message into buf. It returns io.EOF once the
// association is down, net.ErrClosed after Close.
func (c *Conn) ReadMsg(buf []byte) (int, RecvInfo, error) {
	if c.down.Load() {
		return 0, RecvInfo{}, io.EOF
	}
	n, info, err := c.e.readMsg(buf, func(n Notification) bool {
		if n.Type == sctpwire.AssocChange && AssocID(n.Assoc) == c.assoc &&
			(n.State == sctpwire.CommLost || n.State == sctpwire.ShutdownComp) {
			c.down.Store(true)
			return true
		}
		return false
	})
	if errors.Is(err, io.EOF) {
		c.down.Store(true)
	}
	if err == nil && n == 0 && c.down.Load() {
		return 0, RecvInfo{}, io.EOF
	}
	return n, info, err
}

// WriteMsg sends b as one message on stream with ppid, unordered if
// Options.Unordered and with lifetime Options.SendTTL, waiting for room in
// the send buffer as long as it takes (see WriteMsgQueued).
func (c *Conn) WriteMsg(b []byte, stream uint16, ppid uint32) error {
	return c.e.writeMsg(b, c.assoc, stream, ppid, 0)
}

// WriteMsgContext is WriteMsg with a context: an opaque tag that the
// kernel hands back, with the message itself, in the SEND_FAILED
// notification if it gives up sending it (Notification.Context and Info).
// The runtime counts resend attempts in it, as sctp_send_retries does.
func (c *Conn) WriteMsgContext(b []byte, stream uint16, ppid, context uint32) error {
	return c.e.writeMsg(b, c.assoc, stream, ppid, context)
}

// WriteMsgQueued is WriteMsgContext for a message queued at queued (zero:
// now): it waits for room only as long as the message's lifetime allows
// (Options.SendTTL from queued; for ever when 0), gives the kernel what is
// left of that lifetime, and fails with ErrExpired when it passes first.
// Only one goroutine at a time may call it (it sets the write deadline).
func (c *Conn) WriteMsgQueued(b []byte, stream uint16, ppid, context uint32, queued time.Time) error {
	info := c.e.sndInfo(c.assoc, stream, ppid, context)
	err := c.e.trySend(b, info)
	if errors.Is(err, ErrWouldBlock) {
		err = c.writeQueued(b, info, queued)
	}
	if err != nil {
		return fmt.Errorf("sctp: send to association %d: %w", c.assoc, err)
	}
	return nil
}

// writeQueued waits for room to send b up to the end of its lifetime.
func (c *Conn) writeQueued(b []byte, info sctpwire.SndRcvInfo, queued time.Time) error {
	if info.TTL == 0 {
		return c.e.send(b, info)
	}
	if queued.IsZero() {
		queued = time.Now()
	}
	deadline := queued.Add(time.Duration(info.TTL) * time.Millisecond)
	if !time.Now().Before(deadline) {
		return ErrExpired
	}
	c.e.f.SetWriteDeadline(deadline)
	defer c.e.f.SetWriteDeadline(time.Time{})
	var oob [64]byte
	var serr error
	err := c.e.rc.Write(func(fd uintptr) bool {
		left := time.Until(deadline)
		if left <= 0 {
			serr = ErrExpired
			return true
		}
		info.TTL = uint32((left + time.Millisecond - 1) / time.Millisecond)
		_, serr = sendmsg(int(fd), b, oob[:sctpwire.PutSndRcvCmsg(oob[:], info)])
		return serr != unix.EAGAIN
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ErrExpired
	}
	if err != nil {
		return mapErr(err)
	}
	return serr
}

// TryWriteMsg is WriteMsgContext without waiting: when the send buffer is full
// (the peer's window is closed, or it is unreachable) it fails at once
// with ErrWouldBlock, so that a caller serving others is never held up.
func (c *Conn) TryWriteMsg(b []byte, stream uint16, ppid, context uint32) error {
	return c.e.tryWriteMsg(b, c.assoc, stream, ppid, context)
}

// SetSendOptions changes the per-message send options of later writes:
// the lifetime (Options.SendTTL, ms; 0 unlimited) and unordered delivery.
// The association's protocol options are fixed when it is opened.
func (c *Conn) SetSendOptions(sendTTL int, unordered bool) {
	o := *c.e.opts.Load()
	o.SendTTL, o.Unordered = sendTTL, unordered
	c.e.opts.Store(&o)
}

// Drain reads, for d, what is left on the socket after the association
// went down: notifications are handled as by ReadMsg (the kernel reports
// the messages it gave up, SEND_FAILED, after COMM_LOST, when it frees the
// association); data is discarded. It returns at the deadline or when the
// socket is closed.
func (c *Conn) Drain(d time.Duration) {
	c.e.f.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, _, err := c.e.readMsg(buf, nil)
		if errors.Is(err, unix.ECONNRESET) {
			continue // the lost association's error, reported once
		}
		if err != nil {
			return
		}
	}
}

// SetReadDeadline sets the deadline of ReadMsg (zero: none).
func (c *Conn) SetReadDeadline(t time.Time) error { return c.e.f.SetReadDeadline(t) }

// OnNotification sets the notification handler (see Listener.OnNotification).
func (c *Conn) OnNotification(h func(Notification)) { c.e.setHandler(h) }

// ReadOptions reads the association's options from the kernel (see
// Listener.ReadAssocOptions).
func (c *Conn) ReadOptions() (Options, error) { return c.e.readOptions(c.assoc) }

// Status returns the kernel's status of the association.
func (c *Conn) Status() (sctpwire.Status, error) { return c.e.status(c.assoc) }

// PeerAddrs returns the peer's addresses.
func (c *Conn) PeerAddrs() ([]netip.AddrPort, error) { return c.e.peerAddrs(c.assoc) }

// PeerAddrCount returns the number of the peer's addresses (SCTP_ASSOCINFO).
func (c *Conn) PeerAddrCount() (int, error) { return c.e.peerAddrCount(c.assoc) }

// Paths returns the kernel's state of each of the peer's addresses: path
// state (active, inactive, ...), smoothed RTT, RTO, congestion window.
func (c *Conn) Paths() ([]sctpwire.PaddrInfo, error) {
	peers, err := c.e.peerAddrs(c.assoc)
	if err != nil {
		return nil, err
	}
	out := make([]sctpwire.PaddrInfo, 0, len(peers))
	for _, p := range peers {
		pi, err := c.e.pathInfo(c.assoc, p)
		if err != nil {
			return out, err
		}
		out = append(out, pi)
	}
	return out, nil
}

// Down reports whether ReadMsg has seen the association go down.
func (c *Conn) Down() bool { return c.down.Load() }

// LocalAddrs returns the local addresses (with the local port).
func (c *Conn) LocalAddrs() ([]netip.AddrPort, error) { return c.e.localAddrs() }

// Stats returns the socket's notification counters.
func (c *Conn) Stats() Stats { return c.e.statsSnapshot() }

// Abort aborts the association and closes the socket (SO_LINGER 0: a
// one-to-one socket takes no SCTP_ABORT flag).
func (c *Conn) Abort() error {
	err := c.e.control(func(fd int) error {
		return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
	})
	return errors.Join(err, c.e.close())
}

// Close shuts the association down gracefully and closes the socket.
func (c *Conn) Close() error { return c.e.close() }
