package runtime

// Session-agents at runtime.
//
// Every enabled session-agent has an agent: one goroutine (run) that owns
// its connection's life, and, while a connection is up, one goroutine
// reading it (link.serve). The engine's goroutine creates, updates and
// stops agents; nothing else changes its table.
//
// The connection is a static one, opened by the SBC: an SCTP association
// from the multi-homed address set of the agent's realm, a TCP connection
// or a UDP socket (see AgentSpec). When it cannot be opened, or goes down,
// it is opened again after a bounded exponential backoff: 500 ms, doubling
// up to 30 s (a TCP agent's tcp-reconn-interval, when set, is its first
// delay), back to the start once a connection has stayed up 30 s. An SCTP
// attempt lasts as long as the kernel tries: sctp-init-max-attempts INITs,
// their timeout doubling from sctp-rto-initial up to sctp-init-max-timeo;
// the runtime only bounds it from above (initTimeout) in case the kernel
// never reports.
//
// Health: with ping-method OPTIONS and a ping-interval, an OPTIONS ping is
// sent on the connection as soon as it is up and then every ping-interval.
// The agent is in service once a ping is answered (any final response:
// the peer is alive), or, without pings, as soon as the connection is up (a
// UDP agent without pings is always in service: nothing tells otherwise).
// It is out of service while there is no connection, when a ping is not
// answered before the next is due, or at once when the kernel reports the
// agent unreachable (ICMP port unreachable on UDP): the detection time of
// a dead agent is the connection's own (an SCTP ABORT or a TCP reset are
// immediate; SCTP heartbeats take sctp-hb-interval and retransmissions) or
// at most two ping-intervals for a silent one. A UDP ping is retransmitted
// at 500 ms, 1 s, 2 s, ... within its interval (RFC 3261 timer E).
//
// Requests for an agent out of service get 503 (see sip.Handler). The
// message path takes none of the runtime's locks: the routes, the agent's
// connection (Hop) and the ingress points are atomic loads of values the
// engine or the agent's goroutine replace whole; forwarding on SCTP or TCP
// is a channel send to the connection's writer (see sendQueue), on UDP a
// socket write.
//
// sctp-send-ttl is the lifetime of every message sent on the association
// (the kernel drops a message still unsent at expiry); sctp-send-retries is
// how many times a message the stack gave up (the SEND_FAILED notification,
// after a TTL expiry or the loss of the association) is sent again, on the
// re-opened association if the old one is gone. The count rides in the
// message's SCTP context, as in Kamailio's sctp module: a resent message
// carries one less. Unlike Kamailio, a failure the peer caused (an ABORT
// with an error cause) is retried too: that is the peer restarting, the
// case the seed's text gives for the knob. Messages waiting for the
// re-opened association are kept up to maxPendingRetries, no longer than
// sctp-send-ttl (when set).

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/sctp"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// Backoff of re-opening a connection.
const (
	backoffMin   = 500 * time.Millisecond
	backoffMax   = 30 * time.Second
	backoffReset = 30 * time.Second // a connection up this long resets the backoff
	pingT1       = 500 * time.Millisecond
	maxPingWait  = 32 * time.Second // a ping's answer is awaited at most this long (RFC 3261 timer F)
	// maxPendingRetries bounds the messages waiting for a re-opened
	// association.
	maxPendingRetries = 1024
	// drainLateWait is how long the SEND_FAILED notifications that follow
	// a lost association are awaited.
	drainLateWait = 200 * time.Millisecond
)

// link is one connection to an agent. Its methods are called from the
// agent's goroutine, its reader and, for Via and Send, the message path.
type link interface {
	sipr.Hop
	// serve reads the connection until it ends, handing every message to
	// w, then tells the agent (agent.lost with box), closes the link and
	// returns.
	serve(a *agent, w *worker, box *linkBox)
	// resend sends any other message (a ping, a response, a message the
	// stack gave up, with left retries); Send (sip.Hop) forwards requests
	// and counts them.
	resend(b []byte, left uint32) error
	// setSendOptions applies a changed sctp-send-ttl or send mode.
	setSendOptions(o sctp.Options)
	// alive is false once a write failed because the connection is going
	// down: messages to resend then wait for the next one.
	alive() bool
	// status describes the connection for show session-agents.
	status(ag *control.Agent)
	close() error
}

// linkBox holds a link in an atomic.Pointer.
type linkBox struct {
	link
	since time.Time
}

// agentCounters are an agent's counters: atomics.
type agentCounters struct {
	attempts, connects, lost              atomic.Uint64
	forwarded, relayed, unavailable       atomic.Uint64
	fromAgent, sendErrors                 atomic.Uint64
	pingsSent, pingsAnswered, pingsMissed atomic.Uint64
	sendFailed, resent, givenUp           atomic.Uint64
}

// carry continues the counts of a replaced agent.
func (c *agentCounters) carry(from *agentCounters) {
	for _, p := range [][2]*atomic.Uint64{
		{&c.attempts, &from.attempts}, {&c.connects, &from.connects}, {&c.lost, &from.lost},
		{&c.forwarded, &from.forwarded}, {&c.relayed, &from.relayed}, {&c.unavailable, &from.unavailable},
		{&c.fromAgent, &from.fromAgent}, {&c.sendErrors, &from.sendErrors},
		{&c.pingsSent, &from.pingsSent}, {&c.pingsAnswered, &from.pingsAnswered}, {&c.pingsMissed, &from.pingsMissed},
		{&c.sendFailed, &from.sendFailed}, {&c.resent, &from.resent}, {&c.givenUp, &from.givenUp},
	} {
		p[0].Add(p[1].Load())
	}
}

// agentView is the state show session-agents prints, replaced as a whole
// by the agent's goroutine.
type agentView struct {
	state, reason string
	since         time.Time
	next          time.Time // next connection attempt
	lastPing      time.Time
	lastRTT       time.Duration
	lastStatus    int
}

// event is what a reader or the message path tells the agent's goroutine.
type event struct {
	kind   eventKind
	l      *linkBox
	err    error
	seq    uint32
	status int
	at     time.Time
	data   []byte // retry: the message
	left   uint32 // retry: retries left
}

type eventKind uint8

const (
	evLost    eventKind = iota // the connection ended (err)
	evPong                     // a ping was answered (seq, status, at)
	evRefused                  // the kernel reported the agent unreachable (UDP: ICMP)
	evRetry                    // a message the stack gave up (data, left)
)

// agent is one session-agent at runtime.
type agent struct {
	id  uint32 // ingress point: responses to its requests come back by it
	r   *router
	log *slog.Logger

	spec atomic.Pointer[AgentSpec]
	hop  atomic.Pointer[linkBox] // the connection while in service
	cur  atomic.Pointer[linkBox] // the connection while up
	view atomic.Pointer[agentView]
	c    agentCounters

	events  chan event
	changed chan struct{}
	stop    chan struct{}
	done    chan struct{}
	cancel  context.CancelFunc
	ctx     context.Context
}

// newAgent starts the agent of s; prev, if not nil, is the agent it
// replaces, whose counts it continues.
func newAgent(s AgentSpec, id uint32, r *router, log *slog.Logger, prev *agent) *agent {
	ctx, cancel := context.WithCancel(context.Background())
	a := &agent{id: id, r: r, log: log.With("session-agent", s.Hostname),
		events: make(chan event, 1024), changed: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	if prev != nil {
		a.c.carry(&prev.c)
	}
	a.spec.Store(&s)
	a.view.Store(&agentView{state: control.AgentOutOfService, reason: "connecting", since: time.Now()})
	go a.run()
	return a
}

// Hop implements sip.Target: the connection while in service, else nil.
func (a *agent) Hop() sipr.Hop {
	if l := a.hop.Load(); l != nil {
		return l
	}
	return nil
}

// reply implements ingress: a response to a request the agent sent goes
// back on its connection, in service or not.
func (a *agent) reply(b []byte, _ uint32, _ netip.AddrPort) error {
	l := a.cur.Load()
	if l == nil {
		return errGone
	}
	return l.resend(b, 0)
}

// pong hands a ping's answer to the agent's goroutine.
func (a *agent) pong(res sipr.Result) {
	a.tell(event{kind: evPong, seq: res.Seq, status: res.Status, at: time.Now()})
}

// tell sends ev to the agent's goroutine without waiting: a full queue
// drops it (pings are retried anyway; a lost evRetry is counted).
func (a *agent) tell(ev event) bool {
	select {
	case a.events <- ev:
		return true
	default:
		return false
	}
}

// update gives the agent a changed spec of the same connection.
func (a *agent) update(s AgentSpec) {
	a.spec.Store(&s)
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// close stops the agent and closes its connection (an SCTP association is
// shut down gracefully).
func (a *agent) close() {
	close(a.stop)
	a.cancel()
	<-a.done
}

func (a *agent) setView(f func(v *agentView)) {
	v := *a.view.Load()
	f(&v)
	a.view.Store(&v)
}

// inService puts l in service.
func (a *agent) inService(l *linkBox, why string) {
	was := a.view.Load().state
	a.hop.Store(l)
	a.setView(func(v *agentView) {
		if v.state != control.AgentInService {
			v.since = time.Now()
		}
		v.state, v.reason, v.next = control.AgentInService, "", time.Time{}
	})
	if was != control.AgentInService {
		a.log.Info("session-agent in service", "why", why)
	}
}

// outOfService takes the agent out of service.
func (a *agent) outOfService(reason string, next time.Time) {
	was := a.view.Load().state
	a.hop.Store(nil)
	a.setView(func(v *agentView) {
		if v.state != control.AgentOutOfService {
			v.since = time.Now()
		}
		v.state, v.reason, v.next = control.AgentOutOfService, reason, next
	})
	if was == control.AgentInService {
		a.log.Warn("session-agent out of service", "reason", reason)
	}
}

// run is the agent's goroutine: connect, watch, re-open.
func (a *agent) run() {
	defer close(a.done)
	var pending []event // messages waiting for a re-opened association
	backoff := time.Duration(0)
	for {
		s := a.spec.Load()
		a.c.attempts.Add(1)
		a.setView(func(v *agentView) { v.reason, v.next = "connecting to "+s.Target(), time.Time{} })
		l, err := a.connect(s)
		if err == nil {
			a.c.connects.Add(1)
			box := &linkBox{link: l, since: time.Now()}
			a.cur.Store(box)
			w := &worker{h: a.r.h, r: a.r, c: &counters{}, log: a.log, agent: a}
			go l.serve(a, w, box)
			var up time.Duration
			pending, up, err = a.connected(box, pending)
			a.hop.Store(nil)
			a.cur.Store(nil)
			if err == nil { // stopped
				box.close()
				return
			}
			// Lost: the reader closes the link once it has read what the
			// kernel still reports about it (SEND_FAILED).
			a.c.lost.Add(1)
			if up >= backoffReset {
				backoff = 0
			}
			a.log.Warn("session-agent connection lost", "err", err, "up", up.Round(time.Millisecond))
		} else if a.ctx.Err() != nil {
			return
		}
		backoff = nextBackoff(backoff, s)
		next := time.Now().Add(backoff)
		a.outOfService(fmt.Sprintf("%v; next attempt in %v", err, backoff), next)
		if a.c.attempts.Load() <= 1 || a.c.attempts.Load()%10 == 0 {
			a.log.Info("session-agent not connected", "err", err, "retry_in", backoff)
		}
		t := time.NewTimer(backoff)
	wait:
		for {
			select {
			case <-a.stop:
				t.Stop()
				return
			case <-t.C:
				break wait
			case ev := <-a.events:
				if ev.kind == evRetry {
					pending = a.keep(pending, ev)
				}
			case <-a.changed:
			}
		}
	}
}

// nextBackoff doubles the delay, from backoffMin (or a TCP agent's
// tcp-reconn-interval) up to backoffMax.
func nextBackoff(d time.Duration, s *AgentSpec) time.Duration {
	first := backoffMin
	if s.Transport == "TCP" && s.Reconnect > 0 {
		first = s.Reconnect
	}
	if d < first {
		return first
	}
	return min(2*d, max(backoffMax, first))
}

// keep adds a message to resend to pending, dropping the oldest beyond
// maxPendingRetries.
func (a *agent) keep(pending []event, ev event) []event {
	if len(pending) >= maxPendingRetries {
		a.c.givenUp.Add(1)
		pending = pending[1:]
	}
	return append(pending, ev)
}

// connected watches the connection l until it ends (err) or the agent
// stops (err nil), pinging when configured; pending messages are resent
// at once. It returns the messages still to resend and how long l was up.
func (a *agent) connected(l *linkBox, pending []event) ([]event, time.Duration, error) {
	s := a.spec.Load()
	start := time.Now()
	for _, ev := range pending {
		a.resend(l, ev, s)
	}
	pending = nil

	var (
		tick    *time.Ticker
		tickC   <-chan time.Time
		answer  *time.Timer // the ping's answer is due
		answerC <-chan time.Time
		rtx     *time.Timer // UDP: retransmit the ping
		rtxC    <-chan time.Time
		rtxWait time.Duration
		seq     uint32
		waiting bool        // the ping is unanswered and not yet missed
		sentAt  time.Time   // of the ping
		txs     []time.Time // of its transmissions: the round trip is measured from the last before the answer
		pingBuf bytes.Buffer
	)
	stopTimer := func(t *time.Timer) {
		if t != nil {
			t.Stop()
		}
	}
	stopPings := func() {
		if tick != nil {
			tick.Stop()
			tick, tickC = nil, nil
		}
		stopTimer(answer)
		stopTimer(rtx)
		answerC, rtxC = nil, nil
		waiting = false
	}
	// missed: the ping was not answered in time.
	missed := func() {
		waiting = false
		answerC, rtxC = nil, nil
		a.c.pingsMissed.Add(1)
		a.outOfService(fmt.Sprintf("no answer to the OPTIONS ping within %v", min(s.PingInterval, maxPingWait)), time.Time{})
	}
	ping := func() {
		if waiting { // the tick came first: the previous ping is missed all the same
			missed()
		}
		seq++
		a.r.h.WritePing(&pingBuf, l, sipr.Ping{Point: a.id, Seq: seq, Host: s.Hostname, Port: s.Port})
		waiting, sentAt = true, time.Now()
		txs = append(txs[:0], sentAt)
		a.c.pingsSent.Add(1)
		if err := l.resend(pingBuf.Bytes(), 0); err != nil { // no sctp-send-retries for pings
			a.log.Debug("ping not sent", "err", err)
		}
		wait := min(s.PingInterval, maxPingWait)
		if answer == nil {
			answer = time.NewTimer(wait)
		} else {
			answer.Reset(wait)
		}
		answerC = answer.C
		if s.Transport == "UDP" {
			rtxWait = pingT1
			if rtx == nil {
				rtx = time.NewTimer(rtxWait)
			} else {
				rtx.Reset(rtxWait)
			}
			rtxC = rtx.C
		}
	}
	startPings := func() {
		stopPings()
		if !s.Pings() {
			a.inService(l, "connected")
			return
		}
		if a.view.Load().state != control.AgentInService { // changed pings keep a live agent in service
			a.setView(func(v *agentView) { v.reason = "connected; waiting for the answer to an OPTIONS ping" })
		}
		tick = time.NewTicker(s.PingInterval)
		tickC = tick.C
		ping()
	}
	startPings()
	defer stopPings()

	for {
		select {
		case <-a.stop:
			return nil, time.Since(start), nil
		case <-a.changed:
			old := s
			s = a.spec.Load()
			l.setSendOptions(agentSCTP(s))
			if old.PingMethod != s.PingMethod || old.PingInterval != s.PingInterval {
				startPings()
			}
		case ev := <-a.events:
			switch ev.kind {
			case evLost:
				if ev.l == l {
					return pending, time.Since(start), ev.err
				}
			case evPong:
				if !s.Pings() || ev.seq != seq {
					continue // of an earlier ping or connection
				}
				// A late answer (after the ping was missed) still shows
				// the agent alive.
				waiting = false
				answerC, rtxC = nil, nil
				a.c.pingsAnswered.Add(1)
				rtt := ev.at.Sub(sentAt)
				for _, tx := range txs {
					if !tx.After(ev.at) {
						rtt = ev.at.Sub(tx)
					}
				}
				a.setView(func(v *agentView) { v.lastPing, v.lastRTT, v.lastStatus = ev.at, rtt, ev.status })
				a.inService(l, fmt.Sprintf("OPTIONS ping answered %d", ev.status))
			case evRefused:
				if s.Pings() {
					a.outOfService("unreachable (ICMP port unreachable)", time.Time{})
				}
			case evRetry:
				if l.alive() {
					a.resend(l, ev, s)
				} else {
					pending = a.keep(pending, ev)
				}
			}
		case <-tickC:
			ping()
		case <-answerC:
			answerC = nil
			if waiting {
				missed()
			}
		case <-rtxC:
			if !waiting {
				continue
			}
			l.resend(pingBuf.Bytes(), 0)
			txs = append(txs, time.Now())
			rtxWait *= 2
			if time.Since(sentAt)+rtxWait < min(s.PingInterval, maxPingWait) {
				rtx.Reset(rtxWait)
			} else {
				rtxC = nil
			}
		}
	}
}

// resend sends a message the stack gave up again, with one retry less,
// unless its lifetime (sctp-send-ttl) has passed.
func (a *agent) resend(l *linkBox, ev event, s *AgentSpec) {
	if ttl := time.Duration(s.SCTP.SendTTL) * time.Millisecond; ttl > 0 && !ev.at.IsZero() && time.Since(ev.at) > ttl {
		a.c.givenUp.Add(1)
		return
	}
	if err := l.resend(ev.data, ev.left); err != nil {
		a.c.givenUp.Add(1)
		a.log.Debug("resend failed", "err", err)
		return
	}
	a.c.resent.Add(1)
}

// connect opens a connection for s.
func (a *agent) connect(s *AgentSpec) (link, error) {
	addr := s.Addr
	if !addr.IsValid() {
		var err error
		if addr, err = a.resolve(s); err != nil {
			return nil, err
		}
	}
	remote := netip.AddrPortFrom(addr, uint16(s.Port))
	switch s.Transport {
	case "SCTP":
		return dialSCTPLink(a, s, remote)
	case "TCP":
		return dialTCPLink(a, s, remote)
	default:
		return dialUDPLink(a, s, remote)
	}
}

// resolve looks the agent's hostname up (A/AAAA), preferring the family
// of its local addresses.
func (a *agent) resolve(s *AgentSpec) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", s.Hostname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", s.Hostname, err)
	}
	for _, ad := range addrs {
		ad = ad.Unmap()
		if len(s.Local) == 0 || ad.Is4() == s.Local[0].Is4() {
			return ad, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("resolve %s: no address of the family of %v", s.Hostname, s.Local)
}

// initTimeout bounds an SCTP connection attempt from above: the kernel
// sends up to 1+sctp-init-max-attempts INITs, each timeout doubling from
// sctp-rto-initial up to sctp-init-max-timeo; the bound is their sum and a
// second. Zero knobs are the kernel's defaults (8 attempts, the RTO max).
func initTimeout(o sctp.Options) time.Duration {
	attempts, rto, maxTimeo := o.InitMaxAttempts, o.RTOInitial, o.InitMaxTimeout
	if attempts <= 0 {
		attempts = 8
	}
	if rto <= 0 {
		rto = 3000
	}
	if maxTimeo <= 0 {
		maxTimeo = max(o.RTOMax, 60000)
	}
	total := 0
	for i := 0; i <= attempts && total < 3600_000; i++ {
		total += min(rto, maxTimeo)
		rto *= 2
	}
	return time.Duration(total)*time.Millisecond + time.Second
}

// info describes the agent for show session-agents.
func (a *agent) info() control.Agent {
	s := a.spec.Load()
	v := a.view.Load()
	ag := control.Agent{Hostname: s.Hostname, Realm: s.Realm, Method: s.Method, Transport: s.Transport,
		Address: s.Target(), State: v.state, Reason: v.reason, Since: v.since, NextAttempt: v.next,
		Ping: control.AgentPing{Method: s.PingMethod, Interval: int(s.PingInterval / time.Second),
			Last: v.lastPing, LastStatus: v.lastStatus, LastRTT: v.lastRTT,
			Sent: a.c.pingsSent.Load(), Answered: a.c.pingsAnswered.Load(), Missed: a.c.pingsMissed.Load()},
		Counters: control.AgentCounters{Attempts: a.c.attempts.Load(), Connects: a.c.connects.Load(), Lost: a.c.lost.Load(),
			Forwarded: a.c.forwarded.Load(), Relayed: a.c.relayed.Load(), Unavailable: a.c.unavailable.Load(),
			FromAgent: a.c.fromAgent.Load(), SendErrors: a.c.sendErrors.Load(),
			SendFailed: a.c.sendFailed.Load(), Resent: a.c.resent.Load(), GivenUp: a.c.givenUp.Load()}}
	if l := a.cur.Load(); l != nil {
		ag.Conn = &control.AgentConn{Since: l.since}
		l.status(&ag)
	}
	return ag
}
