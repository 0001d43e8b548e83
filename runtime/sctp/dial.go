package sctp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	"golang.org/x/sys/unix"
)

// Conn is one outbound association: a one-to-many socket of its own,
// bound to the given local addresses (or chosen by the kernel), on the Go
// netpoller like Listener.
type Conn struct {
	e     *endpoint
	assoc AssocID
	down  atomic.Bool
}

// Dial is DialContext without a context.
func Dial(local, remote []netip.Addr, port int, o Options) (*Conn, error) {
	return DialContext(context.Background(), local, remote, port, o)
}

// DialContext opens an association to port on remote (the peer's addresses,
// all of one family; the first is tried first) from local (none: the kernel
// chooses; several: multi-homed) and waits until it is up, the kernel gives
// up (after Options.InitMaxAttempts) or ctx ends.
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
	e, err := newEndpoint(fam, o, func(fd int) error {
		if len(local) == 0 {
			return nil
		}
		if err := bindx(fd, local, 0); err != nil {
			return fmt.Errorf("sctp: bind %v: %w", local, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var assoc int32
	err = e.control(func(fd int) error {
		a, err := connectx(fd, remote, uint16(port))
		assoc = a
		if errors.Is(err, unix.EINPROGRESS) {
			return nil
		}
		return err
	})
	if err == nil {
		err = e.waitAssoc(ctx, AssocID(assoc))
	}
	if err != nil {
		e.close()
		return nil, fmt.Errorf("sctp: connect %v port %d: %w", remote, port, err)
	}
	return &Conn{e: e, assoc: AssocID(assoc)}, nil
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
	if err == nil && n == 0 && c.down.Load() {
		return 0, RecvInfo{}, io.EOF
	}
	return n, info, err
}

// WriteMsg sends b as one message on stream with ppid (see
// Listener.WriteMsg).
func (c *Conn) WriteMsg(b []byte, stream uint16, ppid uint32) error {
	return c.e.writeMsg(b, c.assoc, stream, ppid)
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

// LocalAddrs returns the local addresses (with the local port).
func (c *Conn) LocalAddrs() ([]netip.AddrPort, error) { return c.e.localAddrs() }

// Stats returns the socket's notification counters.
func (c *Conn) Stats() Stats { return c.e.statsSnapshot() }

// Abort aborts the association and closes the socket.
func (c *Conn) Abort() error {
	err := c.e.sendFlags(c.assoc, sctpwire.FlagAbort)
	return errors.Join(err, c.e.close())
}

// Close shuts the association down gracefully and closes the socket.
func (c *Conn) Close() error { return c.e.close() }
