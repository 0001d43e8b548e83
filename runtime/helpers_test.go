package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/internal/testcfg"
	"github.com/acli-project/acli/runtime/internal/testwait"
)

// port is a sip-port of a test configuration.
type port struct {
	iface, transport, addr string
	port                   int
	multi                  []string
}

// config builds a configuration: one sip-interface per distinct iface (in
// order), with its sip-ports; np sets network-parameters values.
func config(ports []port, np map[string]string, ifaceParams map[string]string) *model.Config {
	ps := make([]testcfg.Port, len(ports))
	for i, p := range ports {
		ps[i] = testcfg.Port{Iface: p.iface, Transport: p.transport, Addr: p.addr, Port: p.port, Multi: p.multi}
	}
	return testcfg.Config(ps, np, ifaceParams)
}

// writeConfig stores cfg as the editing configuration of the database,
// saves it as a new version and makes that running, as save-config and
// activate-config do (without verify-config). It returns the version.
func writeConfig(t testing.TB, db string, cfg *model.Config) int {
	t.Helper()
	var version int
	err := store.New(db).Update(func(tx *store.Tx) error {
		for _, e := range model.Default.Elements() {
			old, err := tx.List(e)
			if err != nil {
				return err
			}
			for _, in := range old {
				if err := tx.Delete(e, in.Key(), 0); err != nil {
					return err
				}
			}
			for _, in := range cfg.List(e.Name) {
				c := in.Clone()
				if err := tx.Put(c, "", 0); err != nil {
					return err
				}
			}
		}
		info, err := tx.Save(store.VersionInfo{User: "test", Time: time.Now()})
		if err != nil {
			return err
		}
		version = info.Number
		_, err = tx.Activate(version, time.Now(), 0, "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return version
}

// freePort returns a port free for both UDP and TCP on 127.0.0.1-4.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := true
		for _, a := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"} {
			u, err := net.ListenPacket("udp", net.JoinHostPort(a, strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			u.Close()
			t, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			t.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

var optionsSeq int

// optionsMsg is an OPTIONS request over transport.
func optionsMsg(transport string) []byte {
	optionsSeq++
	return []byte(fmt.Sprintf("OPTIONS sip:sbc SIP/2.0\r\n"+
		"Via: SIP/2.0/%s 127.0.0.9:5999;branch=z9hG4bK-%d\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.9>;tag=t%d\r\nTo: <sip:sbc>\r\n"+
		"Call-ID: c%d@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", transport, optionsSeq, optionsSeq, optionsSeq))
}

// udpOptions sends an OPTIONS to addr over UDP and returns the status line
// of the answer.
func udpOptions(t testing.TB, addr string) (string, error) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(optionsMsg("UDP")); err != nil {
		return "", err
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	line, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
	return string(line), nil
}

// tcpConn is a SIP connection over TCP.
type tcpConn struct {
	net.Conn
	r *bufio.Reader
}

func dialTCP(t testing.TB, addr string) *tcpConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &tcpConn{Conn: c, r: bufio.NewReader(c)}
}

// options sends an OPTIONS on the connection and returns the answer's
// status line.
func (c *tcpConn) options() (string, error) {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(optionsMsg("TCP")); err != nil {
		return "", err
	}
	return c.readResponse()
}

// readResponse reads one response (headers; the runtime sends no body).
func (c *tcpConn) readResponse() (string, error) {
	status := ""
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return status, err
		}
		line = strings.TrimRight(line, "\r\n")
		if status == "" {
			status = line
			continue
		}
		if line == "" {
			return status, nil
		}
	}
}

// testLog is a logger writing to the test log.
func testLog(t testing.TB) *slog.Logger { return testcfg.Logger(t) }

func addr(a string, p int) string { return net.JoinHostPort(a, strconv.Itoa(p)) }

// eventually waits up to 5 s for check to return "".
func eventually(t testing.TB, what string, check func() string) {
	t.Helper()
	testwait.Eventually(t, 5*time.Second, what, check)
}

func itoa(v int) string { return strconv.Itoa(v) }
