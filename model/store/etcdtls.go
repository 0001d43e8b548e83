package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// tlsProbeTimeout bounds each endpoint's probe when a request timed out.
const tlsProbeTimeout = time.Second

// tlsTrouble says why TLS with the endpoints fails, when it does: gRPC
// keeps a handshake's error to itself and a request just times out. Each
// endpoint is dialed with the client's TLS configuration (or, with none,
// to find one that speaks TLS). "" : nothing wrong with TLS was found.
func (e *etcdBackend) tlsTrouble() string {
	var out []string
	for _, ep := range e.cfg.Endpoints {
		if err := probeTLS(ep, e.tls); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", ep, err))
		}
	}
	return strings.Join(out, "; ")
}

// probeTLS dials ep as the client would and returns what TLS said against
// it; nil when TLS works, or the endpoint does not answer at all.
func probeTLS(ep string, cfg *tls.Config) error {
	addr := ep
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	d := &net.Dialer{Timeout: tlsProbeTimeout}
	if cfg == nil {
		// Without TLS flags: does the server want TLS?
		conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			return nil
		}
		conn.Close()
		return errors.New("the server speaks TLS: give --cacert (and --cert, --key if it asks for a client certificate)")
	}
	c := cfg.Clone()
	if c.ServerName == "" {
		c.ServerName = host
	}
	c.NextProtos = []string{"h2"}
	conn, err := tls.DialWithDialer(d, "tcp", addr, c)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil // nothing listens: not TLS's fault
		}
		return fmt.Errorf("TLS handshake failed: %w (check --cacert)", err)
	}
	defer conn.Close()
	// With TLS 1.3 the server judges the client's certificate after the
	// client's handshake is done: its alert comes with the first read.
	conn.SetReadDeadline(time.Now().Add(tlsProbeTimeout))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return fmt.Errorf("the server refused this client: %w (check --cert and --key)", err)
	}
	return nil
}
