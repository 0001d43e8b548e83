// Package blockread receives from a blocking socket off the Go netpoller,
// hot while messages flow and cold when idle.
//
// Hot, a reader's receive system call goes through RawSyscall: its thread
// keeps its P while the call blocks, so that a message costs no hand-off of
// the P, no wake-up of sysmon, the netpoller or another thread and none of
// the scheduler's clock reads (in User-Mode Linux, where every system call
// is a round trip through the host, that was most of what a message cost).
// The socket's receive timeout (HotTimeout, see SetTimeouts) bounds each
// call, so that Close, read deadlines and the rest of the program are
// served: the reader yields its P after every timeout and signal, and
// before every receive when it is the program's only P.
//
// A reader may be kept cold (SetHot(false)): a hot reader holds a P between
// messages, and with a single P every goroutine waiting on the netpoller
// (other listeners, outbound connections) would wait for the scheduler's
// network poll, every 10 ms, while messages flow.
//
// Cold, after ColdAfter timeouts in a row, it parks in poll(2) like any
// blocking system call (the scheduler hands its P to other goroutines, and
// an idle program sleeps) until a message arrives, Close or a new deadline
// wakes it through an eventfd, or the deadline passes.
package blockread

import (
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// HotTimeout is a blocking socket's receive and send timeout: how
	// often a hot reader (or a send into a full buffer) returns to Go.
	HotTimeout = 5 * time.Millisecond
	// ColdAfter is the number of hot timeouts in a row (100 ms without a
	// message) before a reader goes cold.
	ColdAfter = 20
)

// SetTimeouts gives a blocking socket its receive and send timeouts
// (HotTimeout).
func SetTimeouts(fd int) error {
	tv := unix.NsecToTimeval(HotTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("SO_RCVTIMEO: %w", err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("SO_SNDTIMEO: %w", err)
	}
	return nil
}

// A Waiter runs the receive calls of one blocking socket's reader, hot or
// cold. Recv is for one goroutine at a time; the other methods are safe
// for concurrent use.
type Waiter struct {
	fd, wake int
	closed   atomic.Bool
	deadline atomic.Int64 // Unix ns; 0: none
	hotOK    atomic.Bool

	hot  bool // the reader's state, under Recv
	idle int  // hot timeouts in a row
}

// New returns a Waiter for fd (a blocking socket with SetTimeouts), hot
// allowed. Release frees it.
func New(fd int) (*Waiter, error) {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	w := &Waiter{fd: fd, wake: wake, hot: true}
	w.hotOK.Store(true)
	return w, nil
}

// yieldEachRecv reports whether a hot reader must give up its P before
// every receive: when it is the program's only P, nothing else runs while
// the reader blocks.
func yieldEachRecv() bool { return goruntime.GOMAXPROCS(0) == 1 }

// Recv calls recv until it returns a result: recv makes one raw receive
// system call on the socket with flags (0, or MSG_DONTWAIT after the
// reader was woken cold) added to its own, blocking at most HotTimeout.
// Recv returns net.ErrClosed after Close, os.ErrDeadlineExceeded once the
// deadline has passed, and recv's errors other than EAGAIN and EINTR.
func (w *Waiter) Recv(recv func(flags int) (int, unix.Errno)) (int, error) {
	for {
		if w.closed.Load() {
			return 0, net.ErrClosed
		}
		if d := w.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
			return 0, os.ErrDeadlineExceeded
		}
		flags := 0
		if !w.hot || !w.hotOK.Load() {
			w.hot = false
			readable, err := w.waitCold()
			if err != nil {
				return 0, err
			}
			if !readable {
				continue
			}
			flags = unix.MSG_DONTWAIT
			if w.hotOK.Load() {
				w.hot, w.idle = true, 0
			}
		} else if yieldEachRecv() {
			goruntime.Gosched()
		}
		n, errno := recv(flags)
		switch errno {
		case 0:
			w.idle = 0
			return n, nil
		case unix.EAGAIN: // HotTimeout without a message (or nothing after all)
			if flags&unix.MSG_DONTWAIT == 0 {
				if w.idle++; w.idle >= ColdAfter {
					w.hot = false
				}
			}
			goruntime.Gosched()
		case unix.EINTR: // a signal: maybe the scheduler asking for the P
			goruntime.Gosched()
		default:
			return 0, errno
		}
	}
}

// waitCold parks in poll(2) until the socket is readable (true), the
// eventfd is written (Close, a new deadline) or the deadline passes.
func (w *Waiter) waitCold() (bool, error) {
	timeout := -1
	if d := w.deadline.Load(); d != 0 {
		ms := (d - time.Now().UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
		timeout = int(max(min(ms, 1<<30), 0))
	}
	fds := [2]unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}, {Fd: int32(w.wake), Events: unix.POLLIN}}
	_, err := unix.Poll(fds[:], timeout)
	if err != nil && err != unix.EINTR {
		return false, fmt.Errorf("poll: %w", err)
	}
	if fds[1].Revents != 0 && !w.closed.Load() {
		var v [8]byte
		unix.Read(w.wake, v[:])
	}
	return fds[0].Revents != 0, nil
}

// wakeCold wakes a cold reader (to look at Close or a new deadline).
func (w *Waiter) wakeCold() {
	one := [8]byte{1}
	unix.Write(w.wake, one[:])
}

// SetHot allows (true, the default) or forbids the reader to go hot.
func (w *Waiter) SetHot(on bool) { w.hotOK.Store(on) }

// HotAllowed reports whether the reader may go hot.
func (w *Waiter) HotAllowed() bool { return w.hotOK.Load() }

// SetDeadline sets the deadline of Recv (the zero time: none) and wakes a
// cold reader to look at it.
func (w *Waiter) SetDeadline(t time.Time) error {
	if w.closed.Load() {
		return net.ErrClosed
	}
	var d int64
	if !t.IsZero() {
		d = max(t.UnixNano(), 1)
	}
	w.deadline.Store(d)
	w.wakeCold()
	return nil
}

// Close makes Recv return net.ErrClosed: at once when cold, within
// HotTimeout when hot. It reports false if the Waiter was closed already.
// The socket must stay open until the reader has left Recv.
func (w *Waiter) Close() bool {
	if !w.closed.CompareAndSwap(false, true) {
		return false
	}
	w.wakeCold()
	return true
}

// Closed reports whether Close was called.
func (w *Waiter) Closed() bool { return w.closed.Load() }

// Release frees the Waiter's eventfd, once closed and its reader gone.
func (w *Waiter) Release() { unix.Close(w.wake) }
