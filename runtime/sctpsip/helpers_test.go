package sctpsip

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/internal/sctptest"
	"github.com/acli-project/acli/runtime/internal/testcfg"
	"github.com/acli-project/acli/runtime/internal/testwait"
	"github.com/acli-project/acli/runtime/sctp"
)

// sipPort is a sip-port of a test configuration.
type sipPort struct {
	transport, addr string
	port            int
	multi           []string
}

// config builds a configuration with one sip-interface "core" holding the
// ports, and network-parameters np.
func config(np map[string]string, ports ...sipPort) *model.Config {
	var ps []testcfg.Port
	for _, p := range ports {
		ps = append(ps, testcfg.Port{Iface: "core", Transport: p.transport, Addr: p.addr, Port: p.port, Multi: p.multi})
	}
	return testcfg.Config(ps, np, nil)
}

// ports are the test listeners' ports (sctptest.Ports).
var ports = sctptest.Ports{Base: 20000}

// port returns a port for a test.
func port() int { return ports.Next() }

var seq atomic.Int64

// options is an OPTIONS request whose Via says SCTP (RFC 4168).
func options() []byte {
	n := seq.Add(1)
	return []byte(fmt.Sprintf("OPTIONS sip:sbc SIP/2.0\r\n"+
		"Via: SIP/2.0/SCTP 127.0.0.3:5999;branch=z9hG4bK-%d\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.3>;tag=t%d\r\nTo: <sip:sbc>\r\n"+
		"Call-ID: c%d@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", n, n, n))
}

// dial opens an association from local to the listener at remote:port.
func dial(t *testing.T, local, remote []netip.Addr, port int) *sctp.Conn {
	t.Helper()
	c, err := sctp.Dial(local, remote, port, sctp.Options{})
	if err != nil {
		t.Fatalf("dial %v port %d from %v: %v", remote, port, local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends an OPTIONS on c and returns the response and how it came.
func ask(t *testing.T, c *sctp.Conn) (string, sctp.RecvInfo) {
	t.Helper()
	if err := c.WriteMsg(options(), 0, 0); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, info, err := c.ReadMsg(buf)
	if err != nil {
		t.Fatalf("no answer on association %d: %v", c.Assoc(), err)
	}
	return string(buf[:n]), info
}

// eventually waits up to 10 s for check to return "".
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	testwait.Eventually(t, 10*time.Second, what, check)
}

// listener returns the live listener with key.
func listener(t *testing.T, e *runtime.Engine, key string) control.Listener {
	t.Helper()
	for _, l := range e.Listeners() {
		if l.Key == key {
			return l
		}
	}
	t.Fatalf("no listener %s", key)
	return control.Listener{}
}

// option returns the named option's kernel value.
func option(opts []control.Option, name string) string {
	for _, o := range opts {
		if o.Name == name {
			return o.Kernel
		}
	}
	return "(missing)"
}

// sctpListen binds an SCTP listener on 127.0.0.1:port outside the engine.
func sctpListen(port int) (*sctp.Listener, error) {
	return sctp.Listen(sctptest.Addrs("127.0.0.1"), port, sctp.Options{})
}
