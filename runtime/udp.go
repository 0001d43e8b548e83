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
	conn  *net.UDPConn
	c     counters
	since time.Time
	wg    sync.WaitGroup
}

func openUDP(s Spec, h *sipr.Handler, log *slog.Logger) (*udpListener, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.Addrs[0], uint16(s.Port))))
	if err != nil {
		return nil, err
	}
	l := &udpListener{conn: conn, since: time.Now()}
	l.spec.Store(&s)
	readers := min(max(goruntime.GOMAXPROCS(0), 1), 4)
	for range readers {
		l.wg.Add(1)
		go l.read(&worker{h: h, c: &l.c, log: log})
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
		if resp := w.handle(buf[:n], sipr.Source{Transport: sipr.UDP, Remote: from}); resp != nil {
			_, err := l.conn.WriteToUDPAddrPort(resp, from)
			w.sent(err)
		}
	}
}

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
