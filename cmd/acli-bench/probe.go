package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/runtime/sctp"
)

// The harness's own SIP client: SIPp reports response times in whole
// milliseconds, which on loopback is 0 or 1, so p50/p99 come from this
// probe (nanosecond clock), which sends OPTIONS at a low rate alongside
// SIPp's load, one transaction at a time, in the same mode (s1: one
// association, sn: a new association per request, u1: one UDP socket).
// It also opens the associations of the memory-per-association phase.

// clientOptions are the SCTP options of the harness's associations: the
// kernel defaults SIPp gets (10 outbound streams, up to 65,535 inbound),
// so that the server sees the peer it sees under SIPp.
var clientOptions = sctp.Options{OutStreams: 10, InStreams: 65535, HBInterval: -1, SackDelay: -1}

var loopback = netip.MustParseAddr("127.0.0.1")

// optionsRequest builds one OPTIONS request from local (the Via sent-by)
// to server. n makes the Call-ID and branch unique.
func optionsRequest(transport string, local netip.AddrPort, server netip.AddrPort, n int) []byte {
	return sipRequest("OPTIONS", server.String(), transport, local, n)
}

// sipRequest builds one request of method to the Request-URI sip:ruri
// from local (the Via sent-by); a MESSAGE carries a short text body. n
// makes the Call-ID and branch unique.
func sipRequest(method, ruri, transport string, local netip.AddrPort, n int) []byte {
	id := strconv.Itoa(n)
	body := ""
	if method == "MESSAGE" {
		body = "probe " + id
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-probe-%s;rport\r\n", transport, local, id)
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:probe@%s>;tag=probe%s\r\n", local.Addr(), id)
	fmt.Fprintf(&b, "To: <sip:%s>\r\n", ruri)
	fmt.Fprintf(&b, "Call-ID: probe-%s@acli-bench\r\n", id)
	fmt.Fprintf(&b, "CSeq: 1 %s\r\n", method)
	if body != "" {
		b.WriteString("Content-Type: text/plain\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

// statusCode returns the status code of a SIP response (0 if b is not
// one).
func statusCode(b []byte) int {
	const prefix = "SIP/2.0 "
	if len(b) < len(prefix)+3 || string(b[:len(prefix)]) != prefix {
		return 0
	}
	c, err := strconv.Atoi(string(b[len(prefix) : len(prefix)+3]))
	if err != nil {
		return 0
	}
	return c
}

// callID returns the Call-ID header's value of a SIP message ("" if none).
func callID(b []byte) string {
	for _, l := range strings.Split(string(b), "\r\n") {
		name, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		if n := strings.TrimSpace(name); strings.EqualFold(n, "Call-ID") || n == "i" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// transaction sends one request and waits for its 200 OK.
type transactor interface {
	do(req []byte, id string, deadline time.Time) error
	local() netip.AddrPort
	close() error
}

// sctpClient is one association (runtime/sctp.Dial).
type sctpClient struct {
	c   *sctp.Conn
	loc netip.AddrPort
	buf []byte
}

func dialSCTP(ctx context.Context, server netip.AddrPort) (*sctpClient, error) {
	c, err := sctp.DialContext(ctx, []netip.Addr{loopback}, []netip.Addr{server.Addr()}, int(server.Port()), clientOptions)
	if err != nil {
		return nil, err
	}
	loc := netip.AddrPortFrom(loopback, 0)
	if ls, err := c.LocalAddrs(); err == nil && len(ls) > 0 {
		loc = ls[0]
	}
	return &sctpClient{c: c, loc: loc, buf: make([]byte, 65536)}, nil
}

func (s *sctpClient) local() netip.AddrPort { return s.loc }
func (s *sctpClient) close() error          { return s.c.Close() }

func (s *sctpClient) do(req []byte, id string, deadline time.Time) error {
	if err := s.c.WriteMsg(req, 0, 0); err != nil {
		return err
	}
	s.c.SetReadDeadline(deadline)
	for {
		n, _, err := s.c.ReadMsg(s.buf)
		if err != nil {
			return err
		}
		if err := matchResponse(s.buf[:n], id); err != errOther {
			return err
		}
	}
}

var errOther = errors.New("a response to another request")

// matchResponse checks that b is the 200 OK to the request with Call-ID
// id; errOther if it answers another request.
func matchResponse(b []byte, id string) error {
	if got := callID(b); got != id {
		return errOther
	}
	if c := statusCode(b); c != 200 {
		return fmt.Errorf("response %d, want 200", c)
	}
	return nil
}

// udpClient is one UDP socket.
type udpClient struct {
	c   *net.UDPConn
	srv netip.AddrPort
	buf []byte
}

func dialUDP(server netip.AddrPort) (*udpClient, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		return nil, err
	}
	return &udpClient{c: c, srv: server, buf: make([]byte, 65536)}, nil
}

func (u *udpClient) local() netip.AddrPort { return u.c.LocalAddr().(*net.UDPAddr).AddrPort() }
func (u *udpClient) close() error          { return u.c.Close() }

func (u *udpClient) do(req []byte, id string, deadline time.Time) error {
	if _, err := u.c.WriteToUDPAddrPort(req, u.srv); err != nil {
		return err
	}
	u.c.SetReadDeadline(deadline)
	for {
		n, _, err := u.c.ReadFromUDPAddrPort(u.buf)
		if err != nil {
			return err
		}
		if err := matchResponse(u.buf[:n], id); err != errOther {
			return err
		}
	}
}

// tcpClient is one TCP connection.
type tcpClient struct {
	c net.Conn
	r *bufio.Reader
}

func dialTCP(ctx context.Context, server netip.AddrPort) (*tcpClient, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		return nil, err
	}
	return &tcpClient{c: c, r: bufio.NewReader(c)}, nil
}

func (t *tcpClient) local() netip.AddrPort { return t.c.LocalAddr().(*net.TCPAddr).AddrPort() }
func (t *tcpClient) close() error          { return t.c.Close() }

func (t *tcpClient) do(req []byte, id string, deadline time.Time) error {
	t.c.SetDeadline(deadline)
	if _, err := t.c.Write(req); err != nil {
		return err
	}
	for {
		b, err := readStreamMessage(t.r)
		if err != nil {
			return err
		}
		if err := matchResponse(b, id); err != errOther {
			return err
		}
	}
}

// readStreamMessage reads one SIP message from a stream: the start line
// and headers up to the empty line, then Content-Length bytes of body
// (RFC 3261 18.3: Content-Length is mandatory over a stream). CRLF
// keep-alives before the start line are skipped.
func readStreamMessage(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(msg) == 0 && len(bytes.TrimSpace(line)) == 0 {
			continue // keep-alive
		}
		msg = append(msg, line...)
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			break
		}
		name, v, ok := bytes.Cut(t, []byte(":"))
		if n := string(bytes.TrimSpace(name)); ok && (strings.EqualFold(n, "Content-Length") || n == "l") {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil || length < 0 {
				return nil, fmt.Errorf("Content-Length %q", bytes.TrimSpace(v))
			}
		}
	}
	if length < 0 {
		return nil, errors.New("a SIP message over a stream without Content-Length")
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(msg, body...), nil
}

// probeResult is what a probe measured.
type probeResult struct {
	RTTs     []time.Duration
	Failures int
	LastErr  string
}

// transportOf returns the Via transport of a SIPp mode.
func transportOf(mode string) string {
	switch mode[0] {
	case 'u':
		return "UDP"
	case 't':
		return "TCP"
	}
	return "SCTP"
}

// ask performs one OPTIONS transaction in mode on cl (nil for sn: a new
// association for the request) and returns its response time (request
// written to response read; for sn the association set-up is not
// included).
func ask(ctx context.Context, mode string, cl transactor, server netip.AddrPort, n int) (time.Duration, error) {
	return askReq(ctx, mode, cl, server, probeReq{"OPTIONS", server.String()}, n)
}

// probeReq is the request a probe sends: a method and a Request-URI
// (without "sip:").
type probeReq struct{ Method, RURI string }

// askReq is ask with the request q.
func askReq(ctx context.Context, mode string, cl transactor, server netip.AddrPort, q probeReq, n int) (time.Duration, error) {
	if cl == nil {
		c, err := dialSCTP(ctx, server)
		if err != nil {
			return 0, err
		}
		defer c.close()
		cl = c
	}
	req := sipRequest(q.Method, q.RURI, transportOf(mode), cl.local(), n)
	id := "probe-" + strconv.Itoa(n) + "@acli-bench"
	start := time.Now()
	err := cl.do(req, id, start.Add(5*time.Second))
	return time.Since(start), err
}

// newClient returns the long-lived client of mode (nil for sn).
func newClient(ctx context.Context, mode string, server netip.AddrPort) (transactor, error) {
	switch mode {
	case "s1":
		return dialSCTP(ctx, server)
	case "u1":
		return dialUDP(server)
	case "t1":
		return dialTCP(ctx, server)
	case "sn":
		return nil, nil
	}
	return nil, fmt.Errorf("mode %q: allowed s1, sn, u1, t1", mode)
}

// probe sends OPTIONS at rate per second until ctx ends.
func probe(ctx context.Context, mode string, server netip.AddrPort, rate int, seq *int) probeResult {
	return probeWith(ctx, mode, server, probeReq{"OPTIONS", server.String()}, rate, seq)
}

// probeWith sends q at rate per second until ctx ends.
func probeWith(ctx context.Context, mode string, server netip.AddrPort, q probeReq, rate int, seq *int) probeResult {
	var res probeResult
	cl, err := newClient(ctx, mode, server)
	if err != nil {
		res.Failures++
		res.LastErr = err.Error()
		return res
	}
	if cl != nil {
		defer cl.close()
	}
	tick := time.NewTicker(time.Second / time.Duration(max(rate, 1)))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return res
		case <-tick.C:
		}
		*seq++
		d, err := askReq(ctx, mode, cl, server, q, *seq)
		if err != nil {
			if ctx.Err() != nil {
				return res
			}
			res.Failures++
			res.LastErr = err.Error()
			continue
		}
		res.RTTs = append(res.RTTs, d)
	}
}

// percentile returns the p-th percentile (0-100) of ds by the
// nearest-rank method (NaN for none).
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return float64(s[rank-1]) / float64(time.Microsecond)
}
