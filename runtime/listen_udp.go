package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/acli-project/acli/runtime/blockread"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	sipr "github.com/acli-project/acli/runtime/sip"
	"golang.org/x/sys/unix"
)

// udpListener serves one UDP socket. Its socket is blocking, off the Go
// netpoller, and one reading goroutine receives with raw system calls, hot
// or cold (package blockread): a datagram wakes that reader and nothing
// else, and costs a recvfrom and the response's sendto. The response goes
// to the datagram's source address. Overload: while more than half the
// socket's receive buffer waits to be read (looked at every overloadEvery
// datagrams, and after each while overloaded), new requests are answered
// 503 with Retry-After and counted (shed); responses are relayed, never
// refused; what the kernel drops when the buffer is full is counted too
// (socketDrops).
type udpListener struct {
	spec  atomic.Pointer[Spec]
	id    uint32 // ingress point
	fd    int
	w     *blockread.Waiter
	local netip.AddrPort
	c     counters
	since time.Time
	log   *slog.Logger
	wg    sync.WaitGroup
}

func openUDP(s Spec, r *router, id uint32, log *slog.Logger) (*udpListener, error) {
	at := netip.AddrPortFrom(s.Addrs[0].Unmap(), uint16(s.Port))
	fd, err := bindUDP(at)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(at), Err: err}
	}
	w, err := blockread.New(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	w.SetHot(false) // until Engine.tuneReaders allows it: a thousand new hot readers would hold the Ps
	if err := setRcvBuf(fd, s.RcvBuf); err != nil {
		w.Close()
		unix.Close(fd)
		return nil, err
	}
	l := &udpListener{fd: fd, w: w, local: at, id: id, since: time.Now(), log: log}
	if sa, err := unix.Getsockname(fd); err == nil { // the port the kernel chose for port 0
		switch v := sa.(type) {
		case *unix.SockaddrInet4:
			l.local = netip.AddrPortFrom(at.Addr(), uint16(v.Port))
		case *unix.SockaddrInet6:
			l.local = netip.AddrPortFrom(at.Addr(), uint16(v.Port))
		}
	}
	l.spec.Store(&s)
	l.wg.Add(1)
	go l.read(&worker{h: r.h, r: r, c: &l.c, log: log})
	return l, nil
}

// bindUDP returns a blocking UDP socket bound to at, with the timeouts of
// package blockread.
func bindUDP(at netip.AddrPort) (int, error) {
	fam := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: int(at.Port()), Addr: at.Addr().As16()}
	if at.Addr().Is4() {
		fam, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(at.Port()), Addr: at.Addr().As4()}
	}
	fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := blockread.SetTimeouts(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	return fd, nil
}

// setRcvBuf sizes the socket's receive buffer to n bytes (0: leave the
// system's default), so that a burst waits in the kernel instead of being
// dropped: with SO_RCVBUFFORCE where the process may (CAP_NET_ADMIN), else
// with SO_RCVBUF, which the kernel caps at net.core.rmem_max.
func setRcvBuf(fd, n int) error {
	if n <= 0 {
		return nil
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) == nil {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n); err != nil {
		return os.NewSyscallError("setsockopt SO_RCVBUF", err)
	}
	return nil
}

// skMeminfoDrops is the index of the drops counter in SO_MEMINFO's array
// (SK_MEMINFO_DROPS): the datagrams the kernel dropped for the socket,
// mostly because its receive buffer was full (/proc/net/udp's drops).
const skMeminfoDrops = 8

// socketDrops reads the socket's drops counter (0 if the kernel has none).
func socketDrops(fd int) uint64 {
	m, ok := meminfo(fd)
	if !ok {
		return 0
	}
	return uint64(m[skMeminfoDrops])
}

// meminfo reads the socket's SO_MEMINFO array with a raw system call: the
// bytes queued to read (SK_MEMINFO_RMEM_ALLOC, index 0) and the receive
// buffer (SK_MEMINFO_RCVBUF, 1), the drops (skMeminfoDrops), ...
func meminfo(fd int) ([16]uint32, bool) {
	var m [16]uint32
	l := uint32(unsafe.Sizeof(m))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&m[0])), uintptr(unsafe.Pointer(&l)), 0)
	return m, e == 0 && l >= 4*(skMeminfoDrops+1)
}

// overloadEvery is how many datagrams a UDP reader handles between looks
// at its socket's receive queue.
const overloadEvery = 16

// backlogged reports whether more than half the socket's receive buffer
// holds datagrams waiting to be read: the reader does not keep up, and
// the next ones the kernel would drop.
func backlogged(fd int) bool {
	m, ok := meminfo(fd)
	return ok && m[0] > m[1]/2
}

// udpReader is the reading goroutine's receive state, bound once so that
// a datagram allocates nothing.
type udpReader struct {
	fd      int
	buf     []byte
	name    [sctpwire.SizeofSockaddrInet6]byte
	namelen uint32
	fn      func(flags int) (int, unix.Errno)
}

func (r *udpReader) recv(flags int) (int, unix.Errno) {
	r.namelen = uint32(len(r.name))
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(r.fd), uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)),
		uintptr(flags), uintptr(unsafe.Pointer(&r.name[0])), uintptr(unsafe.Pointer(&r.namelen)))
	return int(n), e
}

func (l *udpListener) read(w *worker) {
	defer l.wg.Done()
	r := &udpReader{fd: l.fd, buf: make([]byte, 65536)} // the largest UDP payload fits
	r.fn = r.recv
	overloaded, check := false, 0
	for {
		n, err := l.w.Recv(r.fn)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("udp read", "listener", l.spec.Load().Key, "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		from, _, err := sctpwire.ParseSockaddr(r.name[:min(int(r.namelen), len(r.name))])
		if err != nil || !from.IsValid() {
			continue
		}
		// Over half the receive buffer queued: new requests are answered
		// 503 with Retry-After (Shed) until the reader catches up;
		// responses are relayed as ever.
		if check++; check >= overloadEvery || overloaded {
			check, overloaded = 0, backlogged(l.fd)
		}
		src := sipr.Source{Transport: sipr.UDP, Remote: from, Ingress: sipr.Ingress{Point: l.id}, Overloaded: overloaded}
		if resp := w.handle(r.buf[:n], src); resp != nil {
			w.sent(l.sendTo(resp, from))
		}
	}
}

// sendTo sends one datagram, without entering the scheduler (a UDP send
// does not wait but for room in a full send buffer, which the socket's
// send timeout, HotTimeout, bounds; then the datagram is dropped, as the
// network may drop it anyway: SIP over UDP retransmits).
func (l *udpListener) sendTo(b []byte, to netip.AddrPort) error {
	var name [sctpwire.SizeofSockaddrInet6]byte
	sa := sctpwire.AppendSockaddr(name[:0], to) // an AF_INET6 socket takes a sockaddr_in too
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(l.fd), uintptr(p), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&name[0])), uintptr(len(sa)))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("sendto", e)
	}
}

// reply sends a relayed response to the address of its Via.
func (l *udpListener) reply(b []byte, _ uint32, to netip.AddrPort) error {
	if !to.IsValid() {
		return errNoAddress
	}
	err := l.sendTo(b, to)
	if err == nil {
		l.c.out.Add(1)
	}
	return err
}

// errNoAddress: a UDP response's Via has a host name and no received.
var errNoAddress = errors.New("the Via names no address to send the response to")

func (l *udpListener) update(s Spec) ([]string, error) {
	old := l.spec.Load()
	ch := metaChanges(old, &s)
	if old.RcvBuf != s.RcvBuf {
		if err := setRcvBuf(l.fd, s.RcvBuf); err != nil {
			return nil, err
		}
		ch = append(ch, fmt.Sprintf("%s %d -> %d", plan.NPUDPSocketRcvbuf.Name(), old.RcvBuf, s.RcvBuf))
	}
	l.spec.Store(&s)
	return ch, nil
}

// setHot allows or forbids the reader to go hot (Engine.tuneReaders).
func (l *udpListener) setHot(on bool) { l.w.SetHot(on) }

func (l *udpListener) info() control.Listener {
	s := l.spec.Load()
	li := control.Listener{Key: s.Key, Transport: s.Transport, Interface: s.Interface,
		Addrs: []string{l.local.String()}, Port: s.Port, Since: l.since, Counters: l.c.snapshot()}
	li.RcvBuf, _ = unix.GetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	li.Counters.KernelDrops = socketDrops(l.fd)
	return li
}

func (l *udpListener) close() error {
	if !l.w.Close() {
		return net.ErrClosed
	}
	l.wg.Wait() // the reader leaves within HotTimeout; then the fd may go
	return unix.Close(l.fd)
}

// metaChanges describes changes that need no socket change.
func metaChanges(old, s *Spec) []string {
	var ch []string
	if old.Interface != s.Interface {
		ch = append(ch, "sip-interface "+old.Interface+" -> "+s.Interface)
	}
	if old.Addrs[0] != s.Addrs[0] {
		ch = append(ch, "primary address "+old.Addrs[0].String()+" -> "+s.Addrs[0].String()+" (takes effect when the listener is reopened)")
	}
	return ch
}
