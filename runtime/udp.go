package runtime

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acli-project/acli/runtime/control"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// udpListener serves one UDP socket with a few reading goroutines; each
// answers the datagrams it reads to their source address.
type udpListener struct {
	spec  atomic.Pointer[Spec]
	id    uint32 // ingress point
	conn  *net.UDPConn
	c     counters
	since time.Time
	wg    sync.WaitGroup
}

func openUDP(s Spec, r *router, id uint32, log *slog.Logger) (*udpListener, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.Addrs[0], uint16(s.Port))))
	if err != nil {
		return nil, err
	}
	l := &udpListener{conn: conn, id: id, since: time.Now()}
	l.spec.Store(&s)
	readers := min(max(goruntime.GOMAXPROCS(0), 1), 4)
	for range readers {
		l.wg.Add(1)
		go l.read(&worker{h: r.h, r: r, c: &l.c, log: log})
	}
	return l, nil
}

func (l *udpListener) read(w *worker) {
	defer l.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors and the like
		}
		if resp := w.handle(buf[:n], sipr.Source{Transport: sipr.UDP, Remote: from, Ingress: sipr.Ingress{Point: l.id}}); resp != nil {
			_, err := l.conn.WriteToUDPAddrPort(resp, from)
			w.sent(err)
		}
	}
}

// reply sends a relayed response to the address of its Via.
func (l *udpListener) reply(b []byte, _ uint32, to netip.AddrPort) error {
	if !to.IsValid() {
		return errNoAddress
	}
	_, err := l.conn.WriteToUDPAddrPort(b, to)
	if err == nil {
		l.c.out.Add(1)
	}
	return err
}

// errNoAddress: a UDP response's Via has a host name and no received.
var errNoAddress = errors.New("the Via names no address to send the response to")

func (l *udpListener) update(s Spec) ([]string, error) {
	old := l.spec.Swap(&s)
	return metaChanges(old, &s), nil
}

func (l *udpListener) info() control.Listener {
	s := l.spec.Load()
	return control.Listener{Key: s.Key, Transport: s.Transport, Interface: s.Interface,
		Addrs: []string{l.conn.LocalAddr().String()}, Port: s.Port, Since: l.since, Counters: l.c.snapshot()}
}

func (l *udpListener) close() error {
	err := l.conn.Close()
	l.wg.Wait()
	return err
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
