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
// served: the reader yields its P after every timeout and signal, and,
// when it is the program's only P, between receives: before each one after
// a timeout or a signal, then every 2, 4 and at most YieldEvery receives
// while messages keep coming. (Not before every receive: the scheduler
// samples one goroutine switch in eight for its latency metrics and reads
// the clock twice then, which in User-Mode Linux, where a clock read is a
// system call, was 15% of the reader's CPU. Not a fixed YieldEvery
// either: a reader that kept the P 10 ms would be preempted by a signal,
// which costs more than the clock reads; the signal sets it back to every
// receive.)
//
// A reader may be kept cold (SetHot(false)): a hot reader holds a P between
// messages, and with a single P every goroutine waiting on the netpoller
// (other listeners, outbound connections) would wait for the scheduler's
// network poll, every 10 ms, while messages flow.
//
// Cold, after ColdAfter timeouts in a row (or always, when hot is not
// allowed), its goroutine parks in the Go netpoller like any network read:
// the socket itself stays blocking and off the netpoller, and a private
// epoll instance that watches it while the reader is cold is what the
// netpoller watches. A message, Close or the deadline wakes it, and it
// costs no thread and no system call while it waits (a blocking poll(2)
// would cost a P hand-off and clock reads per message: in User-Mode Linux
// that was 0.2 ms per UDP datagram).
package blockread

import (
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"sync/atomic"
	"syscall"
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
	// YieldEvery is the most receives a hot reader that holds the
	// program's only P makes between yields of it.
	YieldEvery = 8
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
	fd       int
	ep       *os.File        // the private epoll instance, non-blocking, on the netpoller
	rc       syscall.RawConn // ep's
	closed   atomic.Bool
	deadline atomic.Int64 // Unix ns; 0: none
	hotOK    atomic.Bool

	// the reader's state, under Recv
	hot     bool
	idle    int  // hot timeouts in a row
	every   int  // receives between yields, 1 to YieldEvery
	recvs   int  // receives since the last yield
	watched bool // the socket is in ep (the reader is cold)
	recv    func(flags int) (int, unix.Errno)
	n       int
	errno   unix.Errno
	coldFn  func(uintptr) bool // coldRecv, bound once
}

// New returns a Waiter for fd (a blocking socket with SetTimeouts), hot
// allowed. Close frees it; the socket stays the caller's.
func New(fd int) (*Waiter, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	f := os.NewFile(uintptr(ep), "blockread-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &Waiter{fd: fd, ep: f, rc: rc, hot: true, every: 1}
	w.coldFn = w.coldRecv
	w.hotOK.Store(true)
	return w, nil
}

// mustYield reports whether a hot reader must give up its P now and then
// between receives: when it is the program's only P, nothing else runs
// while the reader blocks.
func mustYield() bool { return goruntime.GOMAXPROCS(0) == 1 }

// Recv calls recv until it returns a result: recv makes one raw receive
// system call on the socket with flags (0, or MSG_DONTWAIT when cold) added
// to its own, blocking at most HotTimeout. Recv returns net.ErrClosed
// after Close, os.ErrDeadlineExceeded once the deadline has passed, and
// recv's errors other than EAGAIN and EINTR.
func (w *Waiter) Recv(recv func(flags int) (int, unix.Errno)) (int, error) {
	for {
		if w.closed.Load() {
			return 0, net.ErrClosed
		}
		if d := w.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
			return 0, os.ErrDeadlineExceeded
		}
		if !w.hot || !w.hotOK.Load() {
			w.hot = false
			n, err := w.waitCold(recv)
			if err != nil || n < 0 {
				if err != nil {
					return 0, err
				}
				continue // EINTR
			}
			if w.hotOK.Load() {
				w.hot, w.idle = true, 0
				w.watch(false) // on failure only extra wake-ups
			}
			return n, nil
		}
		if w.recvs >= w.every && mustYield() {
			w.recvs, w.every = 0, min(2*w.every, YieldEvery)
			goruntime.Gosched()
		}
		n, errno := recv(0)
		switch errno {
		case 0:
			w.idle = 0
			w.recvs++
			return n, nil
		case unix.EAGAIN: // HotTimeout without a message
			if w.idle++; w.idle >= ColdAfter {
				w.hot = false
			}
			w.recvs, w.every = 0, 1
			goruntime.Gosched()
		case unix.EINTR: // a signal: maybe the scheduler asking for the P
			w.recvs, w.every = 0, 1
			goruntime.Gosched()
		default:
			return 0, errno
		}
	}
}

// waitCold receives with MSG_DONTWAIT, parked in the netpoller between
// tries until the socket is readable. It returns -1 after EINTR.
func (w *Waiter) waitCold(recv func(flags int) (int, unix.Errno)) (int, error) {
	if err := w.watch(true); err != nil {
		return 0, err
	}
	w.recv = recv
	err := w.rc.Read(w.coldFn)
	w.recv = nil
	switch {
	case err != nil:
		if w.closed.Load() || errors.Is(err, os.ErrClosed) {
			return 0, net.ErrClosed
		}
		return 0, err // os.ErrDeadlineExceeded
	case w.errno == unix.EINTR:
		return -1, nil
	case w.errno != 0:
		return 0, w.errno
	}
	return w.n, nil
}

func (w *Waiter) coldRecv(uintptr) bool {
	w.n, w.errno = w.recv(unix.MSG_DONTWAIT)
	return w.errno != unix.EAGAIN
}

// watch adds the socket to the epoll instance (on) or removes it: a cold
// reader's socket wakes the netpoller, a hot one's must not.
func (w *Waiter) watch(on bool) error {
	if w.watched == on {
		return nil
	}
	var cerr error
	err := w.rc.Control(func(ep uintptr) {
		if on {
			ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(w.fd)}
			cerr = unix.EpollCtl(int(ep), unix.EPOLL_CTL_ADD, w.fd, &ev)
		} else {
			cerr = unix.EpollCtl(int(ep), unix.EPOLL_CTL_DEL, w.fd, nil)
		}
	})
	if err != nil {
		if w.closed.Load() {
			return net.ErrClosed
		}
		return err
	}
	if cerr != nil {
		return fmt.Errorf("epoll_ctl: %w", cerr)
	}
	w.watched = on
	return nil
}

// SetHot allows (true, the default) or forbids the reader to go hot.
func (w *Waiter) SetHot(on bool) { w.hotOK.Store(on) }

// HotAllowed reports whether the reader may go hot.
func (w *Waiter) HotAllowed() bool { return w.hotOK.Load() }

// SetDeadline sets the deadline of Recv (the zero time: none), waking a
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
	if err := w.ep.SetReadDeadline(t); err != nil {
		return net.ErrClosed
	}
	return nil
}

// Close makes Recv return net.ErrClosed: at once when cold, within
// HotTimeout when hot, and frees the Waiter. It reports false if the
// Waiter was closed already. The socket must stay open until the reader
// has left Recv.
func (w *Waiter) Close() bool {
	if !w.closed.CompareAndSwap(false, true) {
		return false
	}
	w.ep.Close()
	return true
}
