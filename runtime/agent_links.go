package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/sctp"
	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// lost tells the agent that box's connection ended. Unlike other events
// it waits for room: the agent must hear of it (or be stopping).
func (a *agent) lost(box *linkBox, err error) {
	select {
	case a.events <- event{kind: evLost, l: box, err: err}:
	case <-a.stop:
	}
}

// sctpLink is an SCTP association to an agent on a socket of its own
// (sctp.Conn), bound to the multi-homed address set of the agent's realm.
// Messages go through a sendQueue of sctp-backlog-assoc bytes: its writer
// waits for room when the agent falls behind, as long as sctp-send-ttl
// allows from when the message was queued. A message the writer could not
// send (its lifetime passed, or the association went down) counts as one
// the stack gave up: resent per sctp-send-retries like those of
// SEND_FAILED.
type sctpLink struct {
	a      *agent
	c      *sctp.Conn
	via    netip.AddrPort
	peer   netip.AddrPort
	q      *sendQueue
	broken atomic.Bool // a write failed: the association is going down
}

// linkQueue bounds the bytes waiting for an agent's writer: the SCTP
// association's sctp-backlog-assoc, for TCP too.
func linkQueue(s *AgentSpec) int {
	n, _ := agentSCTP(s).BacklogLimits()
	return n
}

func dialSCTPLink(a *agent, s *AgentSpec, remote netip.AddrPort) (link, error) {
	ctx, cancel := context.WithTimeout(a.ctx, initTimeout(agentSCTP(s)))
	defer cancel()
	c, err := sctp.DialContext(ctx, s.Local, []netip.Addr{remote.Addr()}, int(remote.Port()), agentSCTP(s))
	if err != nil {
		return nil, err
	}
	k := &sctpLink{a: a, c: c, peer: remote}
	locals, err := c.LocalAddrs()
	if err != nil || len(locals) == 0 {
		c.Close()
		return nil, fmt.Errorf("sctp: local addresses of the association: %v", err)
	}
	k.via = locals[0]
	if len(s.Local) > 0 && !s.Local[0].IsUnspecified() {
		k.via = netip.AddrPortFrom(s.Local[0], locals[0].Port())
	} else {
		for _, l := range locals {
			if !l.Addr().IsUnspecified() && l.Addr().Is4() == remote.Addr().Is4() {
				k.via = l
				break
			}
		}
	}
	c.OnNotification(k.notification)
	k.q = newSendQueue(linkQueue(s), func(m queued) error {
		return c.WriteMsgQueued(m.b, 0, sipPPID, m.context, m.at)
	}, func(m queued, err error) {
		if errors.Is(err, sctp.ErrExpired) {
			k.a.c.sendFailed.Add(1) // as the stack's own TTL expiry
		} else {
			k.broken.Store(true)
		}
		k.a.log.Debug("message not sent", "err", err, "retries_left", m.context)
		k.a.gaveUp(m.b, m.context)
	})
	k.q.try = func(b []byte, context uint32) bool { return c.TryWriteMsg(b, 0, sipPPID, context) == nil }
	return k, nil
}

// gaveUp handles a message the stack gave up: resent while it has retries
// left (its context), else counted.
func (a *agent) gaveUp(b []byte, context uint32) {
	if context == 0 || len(b) == 0 || !a.tell(event{kind: evRetry, data: b, left: context - 1, at: time.Now()}) {
		a.c.givenUp.Add(1)
	}
}

func (k *sctpLink) Via() (string, netip.AddrPort) { return "SCTP", k.via }

// Send forwards a request, with sctp-send-retries in its context.
func (k *sctpLink) Send(b []byte) error {
	return forward(k.a, k.resend, b, uint32(k.a.spec.Load().SendRetries))
}

func (k *sctpLink) resend(b []byte, left uint32) error {
	if err := k.q.put(b, 0, left); err != nil {
		k.a.c.sendErrors.Add(1)
		return err
	}
	return nil
}

func (k *sctpLink) setSendOptions(o sctp.Options) { k.c.SetSendOptions(o.SendTTL, o.Unordered) }

func (k *sctpLink) alive() bool { return !k.broken.Load() && !k.c.Down() }

// notification runs on the reader: a message the stack gave up is resent
// while it has retries left (its context).
func (k *sctpLink) notification(n sctp.Notification) {
	switch n.Type {
	case sctpwire.SendFailedEvent, sctpwire.SendFailed:
		k.a.c.sendFailed.Add(1)
		k.a.gaveUp(bytes.Clone(n.Info), n.Context)
	case sctpwire.PeerAddrChange:
		k.a.log.Info("session-agent path change", "addr", n.Addr, "state", n.StateName())
	}
}

func (k *sctpLink) serve(a *agent, w *worker, box *linkBox) {
	buf := make([]byte, sipr.MaxMessage+1)
	src := sipr.Source{Transport: sipr.SCTP, Ingress: sipr.Ingress{Point: a.id}}
	var err error
	for {
		n, info, rerr := k.c.ReadMsg(buf)
		if rerr != nil {
			err = rerr
			break
		}
		a.c.fromAgent.Add(1)
		if !info.EOR { // larger than any SIP message: drop it whole
			for !info.EOR && rerr == nil {
				_, info, rerr = k.c.ReadMsg(buf)
			}
			continue
		}
		src.Remote = info.Peer
		if resp := w.handle(buf[:n], src); resp != nil {
			k.resend(resp, 0)
		}
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("association down")
	}
	a.lost(box, err)
	if !errors.Is(err, net.ErrClosed) {
		k.c.Drain(drainLateWait) // SEND_FAILED of the lost association's messages
	}
	k.close()
}

func (k *sctpLink) status(ag *control.Agent) {
	c := ag.Conn
	c.Assoc = int32(k.c.Assoc())
	st, err := k.c.Status()
	if err != nil {
		c.State, c.Error = "unknown", err.Error()
		return
	}
	c.State = sctpwire.StateName(st.State)
	if locals, err := k.c.LocalAddrs(); err == nil {
		for _, l := range locals {
			c.Local = append(c.Local, l.String())
		}
	}
	paths, err := k.c.Paths()
	if err != nil {
		c.Error = err.Error()
	}
	for _, p := range paths {
		c.Remote = append(c.Remote, control.Path{Addr: p.Addr.String(), State: sctpwire.PathStateName(p.State),
			SRTT: p.SRTT, RTO: p.RTO, Primary: p.Addr == st.PrimaryAddr.Addr})
	}
	n, err1 := k.c.PeerAddrCount()
	o, err2 := k.c.ReadOptions()
	if st.State == 4 && err1 == nil && err2 == nil && n > 0 { // ESTABLISHED
		ag.Retrans = &control.RetransCheck{AssocMaxRetrans: o.AssocMaxRetrans, PathMaxRetrans: o.PathMaxRetrans,
			PeerAddrs: n, OK: o.AssocMaxRetrans < o.PathMaxRetrans*n}
	}
}

func (k *sctpLink) close() error {
	err := k.c.Close() // ends a write in progress
	k.q.close()
	return err
}

// tcpLink is a TCP connection to an agent. Sends go through a sendQueue,
// so that a slow agent never holds up the goroutine forwarding to it: a
// full queue fails the send (503).
type tcpLink struct {
	a    *agent
	c    *net.TCPConn
	via  netip.AddrPort
	peer netip.AddrPort
	q    *sendQueue
}

func dialTCPLink(a *agent, s *AgentSpec, remote netip.AddrPort) (link, error) {
	d := net.Dialer{Timeout: s.ConnectTimeout, KeepAlive: -1}
	if len(s.Local) > 0 {
		d.LocalAddr = &net.TCPAddr{IP: s.Local[0].AsSlice()}
	}
	nc, err := d.DialContext(a.ctx, "tcp", remote.String())
	if err != nil {
		return nil, err
	}
	c := nc.(*net.TCPConn)
	if s.Keepalive.Enable {
		c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: s.Keepalive.Idle, Interval: s.Keepalive.Interval, Count: s.Keepalive.Count})
	}
	via := c.LocalAddr().(*net.TCPAddr).AddrPort()
	k := &tcpLink{a: a, c: c, peer: remote, via: netip.AddrPortFrom(via.Addr().Unmap(), via.Port())}
	k.q = newSendQueue(linkQueue(s), func(m queued) error {
		c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
		_, err := c.Write(m.b)
		if err != nil {
			c.Close() // a partial write breaks the stream: the reader ends, the agent reconnects
		}
		return err
	}, func(queued, error) { a.c.givenUp.Add(1) })
	if rc, err := c.SyscallConn(); err == nil {
		k.q.tryStream = func(b []byte) int { return tryWrite(rc, b) }
	}
	return k, nil
}

func (k *tcpLink) Via() (string, netip.AddrPort) { return "TCP", k.via }

func (k *tcpLink) alive() bool { return true }

// Send forwards a request.
func (k *tcpLink) Send(b []byte) error { return forward(k.a, k.resend, b, 0) }

// resend queues a message for the writer.
func (k *tcpLink) resend(b []byte, _ uint32) error {
	if err := k.q.put(b, 0, 0); err != nil {
		k.a.c.sendErrors.Add(1)
		return err
	}
	return nil
}

func (k *tcpLink) setSendOptions(sctp.Options) {}

func (k *tcpLink) serve(a *agent, w *worker, box *linkBox) {
	src := sipr.Source{Transport: sipr.TCP, Remote: k.peer, Ingress: sipr.Ingress{Point: a.id}}
	err := readStream(k.c, func() error { return k.resend([]byte("\r\n"), 0) }, func(m []byte) error {
		a.c.fromAgent.Add(1)
		if resp := w.handle(m, src); resp != nil {
			k.resend(resp, 0)
		}
		return nil
	})
	if errors.Is(err, io.EOF) {
		err = errors.New("connection closed by the agent")
	}
	a.lost(box, err)
	k.close()
}

func (k *tcpLink) status(ag *control.Agent) {
	ag.Conn.State = "connected"
	ag.Conn.Local = []string{k.via.String()}
	ag.Conn.Remote = []control.Path{{Addr: k.peer.String()}}
}

func (k *tcpLink) close() error {
	err := k.c.Close()
	k.q.close()
	return err
}

// udpLink is a connected UDP socket to an agent, bound to the address of
// the UDP sip-port of its realm: ICMP errors come back to it.
type udpLink struct {
	a    *agent
	c    *net.UDPConn
	via  netip.AddrPort
	peer netip.AddrPort
}

func dialUDPLink(a *agent, s *AgentSpec, remote netip.AddrPort) (link, error) {
	var laddr *net.UDPAddr
	if len(s.Local) > 0 {
		laddr = &net.UDPAddr{IP: s.Local[0].AsSlice()}
	}
	c, err := net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(remote))
	if err != nil {
		return nil, err
	}
	via := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return &udpLink{a: a, c: c, peer: remote, via: netip.AddrPortFrom(via.Addr().Unmap(), via.Port())}, nil
}

func (k *udpLink) Via() (string, netip.AddrPort) { return "UDP", k.via }

func (k *udpLink) alive() bool { return true }

// Send forwards a request.
func (k *udpLink) Send(b []byte) error { return forward(k.a, k.resend, b, 0) }

func (k *udpLink) resend(b []byte, _ uint32) error {
	if _, err := k.c.Write(b); err != nil {
		k.a.c.sendErrors.Add(1)
		return err
	}
	return nil
}

func (k *udpLink) setSendOptions(sctp.Options) {}

func (k *udpLink) serve(a *agent, w *worker, box *linkBox) {
	buf := make([]byte, 65536)
	src := sipr.Source{Transport: sipr.UDP, Remote: k.peer, Ingress: sipr.Ingress{Point: a.id}}
	for {
		n, err := k.c.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				a.tell(event{kind: evRefused})
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				a.lost(box, err)
				return
			}
			continue
		}
		a.c.fromAgent.Add(1)
		if resp := w.handle(buf[:n], src); resp != nil {
			k.resend(resp, 0)
		}
	}
}

func (k *udpLink) status(ag *control.Agent) {
	ag.Conn.State = "open"
	ag.Conn.Local = []string{k.via.String()}
	ag.Conn.Remote = []control.Path{{Addr: k.peer.String()}}
}

func (k *udpLink) close() error { return k.c.Close() }

// forward sends a request on an agent's link with resend, counted as
// forwarded before the send (the answer may be relayed before the send
// returns) and uncounted if it fails.
func forward(a *agent, resend func([]byte, uint32) error, b []byte, retries uint32) error {
	a.c.forwarded.Add(1)
	if err := resend(b, retries); err != nil {
		a.c.forwarded.Add(^uint64(0))
		return err
	}
	return nil
}
