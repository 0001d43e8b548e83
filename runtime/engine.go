// Package runtime is the acli runtime: it turns the running configuration
// into live SIP listeners over UDP, TCP and SCTP and keeps them in step
// with it.
//
// An Engine owns the listener table in ONE goroutine: Apply, the queries of
// the control protocol and Close are requests to that goroutine, so the
// table needs no lock and an apply is never interleaved with another. The
// listeners' own goroutines only read sockets, answer and count (atomics),
// and never touch the table.
//
// Apply works by diff, never by restart. A listener is keyed by transport,
// the sorted set of its addresses (address plus multi-homed-addrs) and its
// port (see plan.MakeKey): new keys are opened first, kept keys are updated in
// place (for SCTP, network-parameters changes become the endpoint's
// defaults and so affect new associations only), and removed keys are
// closed last. A new listener whose address and port a removed one still
// holds (a changed multi-homed address set, a wildcard address replaced by
// a specific one) cannot open first: once everything else has succeeded,
// the removed one is closed and the new one opened in its place. If any
// sip-port is invalid, any open or any update fails, the listeners just
// opened are closed, the replaced ones reopened, updates reverted, the
// previous version keeps serving and every error is returned.
//
// The engine's goroutine owns the session-agents too (see agent.go): an
// apply derives them (package plan), refuses the version with the
// listeners if one cannot be served, and otherwise, once the listeners
// are committed, diffs them by hostname: new agents start, removed ones
// stop, kept ones whose connection is unchanged are updated in place
// (pings, send options, retries), those whose address, port, transport or
// local address set changed are replaced by a new connection; the others
// are not touched. The message path sees listeners and agents through the
// router and the Handler's routes, which the engine swaps atomically after
// every change (routes first, then the removed agents stop).
//
// Capacity and overload. No response waits for a slow peer in a reading
// goroutine: an SCTP response the association cannot take waits in the
// listener's backlog (runtime/sctp) as long as sctp-send-ttl allows, a
// message for a session-agent in its link's queue likewise. Capacity is
// what these hold: an SCTP listener is overloaded for an association when
// more than half of sctp-backlog-assoc waits for it, or more than half of
// sctp-backlog-total for all (its peers do not take responses as fast as
// they send requests). Then every new request on it (but an ACK) is
// answered 503 Service Unavailable with Retry-After 1 instead of being
// answered or forwarded, and counted (show sctp info, overload); what
// cannot be queued even so is dropped and counted (backlog overflowed).
// Responses relayed back are never refused; they are dropped only when the
// backlog is full or sctp-send-ttl passes, and counted. A session-agent
// whose queue (sctp-backlog-assoc bytes) is full gets no more requests:
// they are answered 503 with Retry-After. UDP has no backlog: a burst waits
// in the socket's receive buffer (udp-socket-rcvbuf), and what the kernel
// drops when it is full is counted (show sip-ports).
package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	goruntime "runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/plan"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// Engine keeps a set of live listeners and session-agents equal to a
// configuration.
type Engine struct {
	log  *slog.Logger
	h    *sipr.Handler
	r    *router
	ops  chan func()
	quit chan struct{}
	done chan struct{}

	// owned by the engine goroutine
	table     map[string]*entry
	version   string
	appliedAt time.Time
	ports     []control.PortState // the serving version's sip-ports
	failed    *control.FailedApply
	nextID    uint32 // the last ingress point number given
	agents    map[string]*agent
	disabled  []DisabledAgent
	// sndbufWarned is set once the engine has warned that the SCTP
	// associations of a listener share one send buffer.
	sndbufWarned bool
}

type entry struct {
	spec Spec
	id   uint32 // ingress point
	l    listener
}

// NewEngine starts an engine with no listener.
func NewEngine(log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := sipr.NewHandler()
	e := &Engine{log: log, h: h, r: newRouter(h), ops: make(chan func()), quit: make(chan struct{}),
		done: make(chan struct{}), table: map[string]*entry{}, agents: map[string]*agent{}}
	go e.loop()
	return e
}

func (e *Engine) loop() {
	defer close(e.done)
	for {
		select {
		case f := <-e.ops:
			f()
		case <-e.quit:
			e.closeAll()
			return
		}
	}
}

// ErrClosed is returned by an Engine after Close.
var ErrClosed = errors.New("runtime engine is closed")

// do runs f on the engine goroutine and waits for it.
func (e *Engine) do(f func()) error {
	ran := make(chan struct{})
	select {
	case e.ops <- func() { f(); close(ran) }:
		<-ran
		return nil
	case <-e.done:
		return ErrClosed
	}
}

// Close closes every listener gracefully (SCTP associations are shut down,
// not aborted) and stops the engine.
func (e *Engine) Close() error {
	select {
	case <-e.quit:
	default:
		close(e.quit)
	}
	<-e.done
	return nil
}

func (e *Engine) closeAll() {
	e.h.SetRoutes(nil)
	for _, k := range slices.Sorted(mapsKeys(e.agents)) {
		e.agents[k].close()
		delete(e.agents, k)
	}
	for _, k := range slices.Sorted(mapsKeys(e.table)) {
		if err := e.table[k].l.close(); err != nil {
			e.log.Warn("listener did not close cleanly", "listener", k, "err", err)
		} else {
			e.log.Info("listener closed", "listener", k)
		}
		delete(e.table, k)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Apply makes the live listeners those of cfg, labelled version. See the
// package documentation for the order and for what a failure leaves.
func (e *Engine) Apply(cfg *model.Config, version string) control.ApplyReport {
	var rep control.ApplyReport
	if err := e.do(func() { rep = e.apply(cfg, version) }); err != nil {
		return control.ApplyReport{Version: version, Errors: []string{err.Error()}}
	}
	return rep
}

// open opens the listener of s, numbered as a new ingress point.
func (e *Engine) open(s Spec) (*entry, error) {
	var l listener
	var err error
	log := e.log.With("listener", s.Key)
	e.nextID++
	id := e.nextID
	switch s.Transport {
	case "UDP":
		l, err = openUDP(s, e.r, id, log)
	case "TCP":
		l, err = openTCP(s, e.r, id, log)
	case "SCTP":
		if l, err = openSCTP(s, e.r, id, log); err == nil {
			e.checkSndbufPolicy(log)
		}
	default:
		err = fmt.Errorf("transport %s: allowed UDP, TCP or SCTP", s.Transport)
	}
	if err != nil {
		return nil, fmt.Errorf("listener %s (sip-interface %q): %w", s.Key, s.Interface, err)
	}
	return &entry{spec: s, id: id, l: l}, nil
}

func (e *Engine) apply(cfg *model.Config, version string) control.ApplyReport {
	rep := control.ApplyReport{Version: version, Previous: e.version}
	pl, planErr := plan.Build(cfg)
	var errs []error
	for _, p := range plan.Problems(planErr) {
		errs = append(errs, p)
	}
	keyErr := map[string]error{}
	ports := pl.Ports
	specs := make([]Spec, len(pl.Listeners))
	want := map[string]Spec{}
	for i, l := range pl.Listeners {
		specs[i] = l
		want[l.Key] = specs[i]
	}
	agentSpecs := pl.Agents

	// 1. Open the new listeners (every one is tried, to report every error).
	// One whose address and port a listener this version removes still
	// holds (a changed multi-homed address set, a wildcard address) must
	// wait for it to close: it is replaced in step 3.
	opened := map[string]*entry{}
	var openOrder []string
	var replace []Spec
	var facts hostFacts // failures that are facts of this host: one line each
	failed := func(s Spec, err error) {
		if why := hostFact(s, err); why != "" {
			keyErr[s.Key] = errors.New(why)
			facts.add(s, err)
			return
		}
		errs = append(errs, err)
		keyErr[s.Key] = err
	}
	for _, s := range specs {
		if _, ok := e.table[s.Key]; ok {
			continue
		}
		ent, err := e.open(s)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) && len(e.conflicts(s, want)) > 0 {
				replace = append(replace, s)
				continue
			}
			failed(s, err)
			continue
		}
		opened[s.Key] = ent
		openOrder = append(openOrder, s.Key)
	}
	errs = append(errs, facts.errors()...)

	// 2. Update the kept ones in place, if nothing failed so far.
	type undo struct {
		ent *entry
		old Spec
	}
	var updated []undo
	if len(errs) == 0 {
		for _, s := range specs {
			ent, ok := e.table[s.Key]
			if !ok || specEqual(ent.spec, s) {
				continue
			}
			ch, err := ent.l.update(s)
			if err != nil {
				err = fmt.Errorf("listener %s: update in place: %w", s.Key, err)
				errs = append(errs, err)
				keyErr[s.Key] = err
				continue
			}
			updated = append(updated, undo{ent, ent.spec})
			ent.spec = s
			if len(ch) > 0 {
				rep.Updated = append(rep.Updated, control.Update{Key: s.Key, Changes: ch})
			}
		}
	}

	// 3. Replace: close the removed listeners in the way, then open.
	closedEarly := map[string]bool{}
	if len(errs) == 0 {
		for _, s := range replace {
			for _, k := range e.conflicts(s, want) {
				if closedEarly[k] {
					continue
				}
				closedEarly[k] = true
				if err := e.table[k].l.close(); err != nil {
					rep.Warnings = append(rep.Warnings, fmt.Sprintf("listener %s did not close cleanly: %v", k, err))
				}
				e.log.Info("listener closed to release its port for its replacement", "listener", k, "replacement", s.Key)
			}
			ent, err := e.open(s)
			if err != nil {
				failed(s, err)
				continue
			}
			opened[s.Key] = ent
			openOrder = append(openOrder, s.Key)
		}
		errs = append(errs, facts.errors()...)
	} else {
		for _, s := range replace {
			err := fmt.Errorf("listener %s (sip-interface %q): waits for %s to release the port; not tried because of the other errors",
				s.Key, s.Interface, strings.Join(e.conflicts(s, want), ", "))
			errs = append(errs, err)
			keyErr[s.Key] = err
		}
	}

	// On any failure: undo, and the previous version keeps serving.
	if len(errs) > 0 {
		for _, k := range openOrder {
			if err := opened[k].l.close(); err != nil {
				e.log.Warn("closing a listener of a refused version", "listener", k, "err", err)
			}
		}
		for _, k := range slices.Sorted(mapsKeys(closedEarly)) {
			ent := e.table[k]
			reopened, err := e.open(ent.spec)
			if err != nil {
				err = fmt.Errorf("%w: it was closed for a replacement that failed and could not be reopened: it is NOT serving", err)
				errs = append(errs, err)
				delete(e.table, k)
				e.log.Error("listener lost", "listener", k, "err", err)
				continue
			}
			ent.l, ent.id = reopened.l, reopened.id
			e.log.Info("listener reopened", "listener", k)
		}
		for _, u := range slices.Backward(updated) {
			if _, err := u.ent.l.update(u.old); err != nil {
				e.log.Error("reverting an update failed", "listener", u.old.Key, "err", err)
			}
			u.ent.spec = u.old
		}
		rep.Updated = nil
		for _, err := range errs {
			rep.Errors = append(rep.Errors, err.Error())
		}
		e.failed = &control.FailedApply{Version: version, At: time.Now(), Errors: rep.Errors,
			Ports: e.portStates(ports, keyErr, true)}
		e.publish() // a reopened listener has a new number
		e.log.Error("apply failed: the previous version keeps serving", "version", version,
			"previous", e.version, "err", errors.Join(errs...))
		return rep
	}

	// 4. Commit: keep the new ones, close the removed ones.
	for _, k := range openOrder {
		e.table[k] = opened[k]
		rep.Opened = append(rep.Opened, k)
		e.log.Info("listener opened", "listener", k, "interface", opened[k].spec.Interface)
	}
	for _, k := range slices.Sorted(mapsKeys(e.table)) {
		if _, ok := want[k]; ok {
			continue
		}
		if !closedEarly[k] {
			if err := e.table[k].l.close(); err != nil {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("listener %s did not close cleanly: %v", k, err))
			}
		}
		delete(e.table, k)
		rep.Closed = append(rep.Closed, k)
		e.log.Info("listener closed", "listener", k)
	}
	for _, u := range rep.Updated {
		e.log.Info("listener updated", "listener", u.Key, "changes", strings.Join(u.Changes, "; "))
	}
	rep.Unchanged = len(e.table) - len(rep.Opened) - len(rep.Updated)
	stop := e.applyAgents(agentSpecs, pl.Disabled, &rep)
	e.publish()
	for _, a := range stop {
		a.close()
	}
	e.version, e.appliedAt, e.failed = version, time.Now(), nil
	e.ports = e.portStates(ports, nil, false)
	e.log.Info("applied", "version", version, "opened", len(rep.Opened), "updated", len(rep.Updated),
		"closed", len(rep.Closed), "unchanged", rep.Unchanged, "agents_added", len(rep.AgentsAdded),
		"agents_updated", len(rep.AgentsUpdated), "agents_removed", len(rep.AgentsRemoved))
	return rep
}

// applyAgents makes the agent table that of specs: it starts new agents,
// updates kept ones in place or replaces them (a new connection), and
// returns those to stop once the routes no longer name them.
func (e *Engine) applyAgents(specs []AgentSpec, disabled []DisabledAgent, rep *control.ApplyReport) (stop []*agent) {
	want := map[string]bool{}
	for _, s := range specs {
		want[s.Hostname] = true
		a, ok := e.agents[s.Hostname]
		if !ok {
			e.nextID++
			e.agents[s.Hostname] = newAgent(s, e.nextID, e.r, e.log, nil)
			rep.AgentsAdded = append(rep.AgentsAdded, s.Hostname)
			e.log.Info("session-agent added", "session-agent", s.Hostname, "transport", s.Method, "address", s.Target())
			continue
		}
		ch, reconnect := agentChanges(a.spec.Load(), &s)
		switch {
		case reconnect:
			e.agents[s.Hostname] = newAgent(s, a.id, e.r, e.log, a)
			stop = append(stop, a)
		case len(ch) > 0:
			a.update(s)
		default:
			rep.AgentsUnchanged++
			continue
		}
		rep.AgentsUpdated = append(rep.AgentsUpdated, control.Update{Key: s.Hostname, Changes: ch})
		e.log.Info("session-agent updated", "session-agent", s.Hostname, "changes", strings.Join(ch, "; "))
	}
	for _, h := range slices.Sorted(mapsKeys(e.agents)) {
		if !want[h] {
			stop = append(stop, e.agents[h])
			delete(e.agents, h)
			rep.AgentsRemoved = append(rep.AgentsRemoved, h)
			e.log.Info("session-agent removed", "session-agent", h)
		}
	}
	e.disabled = disabled
	return stop
}

// publish gives the message path the current listeners and agents: the
// router's ingress points and the Handler's routes. A session-agent is
// routed by its hostname and ip-address with its port, and by each alone
// when no other agent shares it and it is not an address the SBC listens
// on (a request for the SBC itself, sip:ITS-ADDRESS:ITS-PORT, is the
// SBC's to answer).
func (e *Engine) publish() {
	points := make(map[uint32]ingress, len(e.table)+len(e.agents))
	for _, ent := range e.table {
		points[ent.id] = ent.l
	}
	for _, a := range e.agents {
		points[a.id] = a
	}
	e.r.points.Store(&points)

	routes := sipr.NewRoutes()
	alone := map[string]*agent{}
	shared := map[string]bool{}
	for _, ent := range e.table {
		for _, a := range ent.spec.Addrs {
			shared[a.String()] = true
		}
	}
	for _, h := range slices.Sorted(mapsKeys(e.agents)) {
		a := e.agents[h]
		s := a.spec.Load()
		hosts := []string{s.Hostname}
		if s.Addr.IsValid() {
			hosts = append(hosts, s.Addr.String())
		}
		for _, host := range hosts {
			routes.Add(host, s.Port, a)
			key := strings.ToLower(host)
			if other, ok := alone[key]; ok && other != a {
				shared[key] = true
			}
			alone[key] = a
		}
	}
	for host, a := range alone {
		if !shared[host] {
			routes.Add(host, 0, a)
		}
	}
	e.h.SetRoutes(routes)
	e.tuneReaders()
}

// tuneReaders lets the SCTP and UDP listeners keep their readers hot (see
// runtime/blockread) only where that delays nothing else. New listeners
// start cold, so that opening many costs nothing until this runs.
func (e *Engine) tuneReaders() {
	var readers []hotReader
	for _, ent := range e.table {
		if r, ok := ent.l.(hotReader); ok {
			readers = append(readers, r)
		}
	}
	hot := hotReaders(goruntime.GOMAXPROCS(0), len(readers), len(e.table), len(e.agents))
	for _, r := range readers {
		r.setHot(hot)
	}
}

// hotReader is a listener whose one reader is off the netpoller and may be
// hot (package blockread): SCTP and UDP.
type hotReader interface{ setHot(bool) }

// hotReaders reports whether the SCTP and UDP readers may be hot. A hot
// reader holds its P between messages, so the hot readers must leave a P
// to everything else (TCP listeners and the session-agents' connections,
// on the netpoller, the control socket, timers): fewer such listeners than
// Ps, or, with a single P, one such listener alone.
func hotReaders(procs, readers, listeners, agents int) bool {
	return readers < procs || (readers == 1 && listeners == 1 && agents == 0)
}

// SessionAgents returns the session-agents of the serving version, in
// hostname order, with their live state: the one named hostname (without
// case), or all ("").
func (e *Engine) SessionAgents(hostname string) ([]control.Agent, error) {
	var out []control.Agent
	n := 0
	e.do(func() {
		rows := map[string]control.Agent{}
		for h, a := range e.agents {
			if hostname == "" || strings.EqualFold(h, hostname) {
				rows[h] = a.info()
			}
		}
		for _, d := range e.disabled {
			if hostname == "" || strings.EqualFold(d.Hostname, hostname) {
				rows[d.Hostname] = control.Agent{Hostname: d.Hostname, Realm: d.Realm, Method: d.Method,
					Address: d.Target, State: control.AgentDisabled}
			}
		}
		n = len(e.agents) + len(e.disabled)
		for _, h := range slices.Sorted(mapsKeys(rows)) {
			out = append(out, rows[h])
		}
	})
	if hostname != "" && len(out) == 0 {
		return nil, fmt.Errorf("no session-agent %s in the serving version (%d session-agents; show session-agents lists them)", hostname, n)
	}
	return out, nil
}

// conflicts returns the listeners this version removes that may hold the
// port of s: same transport and port, and a shared or a wildcard address.
func (e *Engine) conflicts(s Spec, want map[string]Spec) []string {
	var out []string
	for _, k := range slices.Sorted(mapsKeys(e.table)) {
		old := e.table[k].spec
		if _, kept := want[k]; kept || old.Transport != s.Transport || old.Port != s.Port {
			continue
		}
		for _, a := range s.Addrs {
			if a.IsUnspecified() || slices.ContainsFunc(old.Addrs, func(b netip.Addr) bool { return b == a || b.IsUnspecified() }) {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// specEqual reports whether a kept listener needs no update.
func specEqual(a, b Spec) bool {
	return a.Interface == b.Interface && slices.Equal(a.Addrs, b.Addrs) && a.SCTP == b.SCTP &&
		a.Tracking == b.Tracking && a.Reuse == b.Reuse && a.Keepalive == b.Keepalive && (a.Transport != "UDP" || a.RcvBuf == b.RcvBuf)
}

// portStates gives each sip-port its state: for a refused version, failed
// (with why) or not applied.
func (e *Engine) portStates(ports []plan.Port, keyErr map[string]error, refused bool) []control.PortState {
	out := make([]control.PortState, 0, len(ports))
	for _, p := range ports {
		ps := control.PortState{Interface: p.Interface, Transport: p.Transport, Address: p.Address,
			MultiHomed: p.MultiHomed, Port: p.Port, Key: p.Key, State: control.StateListening}
		switch {
		case p.Err != nil:
			ps.State, ps.Reason = control.StateFailed, p.Err.Error()
		case keyErr[p.Key] != nil:
			ps.State, ps.Reason = control.StateFailed, keyErr[p.Key].Error()
		case refused:
			ps.State = control.StateNotTried
			if _, ok := e.table[p.Key]; ok {
				ps.Reason = "still listening for the serving version"
			}
		}
		out = append(out, ps)
	}
	return out
}

// Version returns the version serving now ("" before the first apply).
func (e *Engine) Version() (version string, at time.Time) {
	e.do(func() { version, at = e.version, e.appliedAt })
	return version, at
}

// Listeners returns every live listener, in key order.
func (e *Engine) Listeners() []control.Listener {
	var out []control.Listener
	e.do(func() {
		for _, k := range slices.Sorted(mapsKeys(e.table)) {
			out = append(out, e.table[k].l.info())
		}
	})
	return out
}

// SCTPInfo returns the SCTP listeners.
func (e *Engine) SCTPInfo() []control.Listener {
	var out []control.Listener
	for _, l := range e.Listeners() {
		if l.Transport == "SCTP" {
			out = append(out, l)
		}
	}
	return out
}

// SCTPOptions reads back the options of the SCTP listeners bound to
// address (IP or IP:port; "" for all).
func (e *Engine) SCTPOptions(address string) ([]control.ListenerOptions, error) {
	if address != "" {
		if _, err := parseAddress(address); err != nil {
			return nil, err
		}
	}
	var out []control.ListenerOptions
	n := 0
	e.do(func() {
		for _, k := range slices.Sorted(mapsKeys(e.table)) {
			sl, ok := e.table[k].l.(*sctpListener)
			if !ok {
				continue
			}
			n++
			if address == "" || sl.matches(address) {
				out = append(out, sl.options())
			}
		}
	})
	if address != "" && len(out) == 0 {
		return nil, fmt.Errorf("no SCTP listener is bound to %s (%d SCTP listeners; show sctp info lists them)", address, n)
	}
	return out, nil
}

// SIPPorts returns the sip-ports of the serving version with their
// counters and, if the last apply failed, those of the refused version.
func (e *Engine) SIPPorts() control.Ports {
	var p control.Ports
	e.do(func() {
		p.Version, p.AppliedAt = e.version, e.appliedAt
		for _, ps := range e.ports {
			if ent, ok := e.table[ps.Key]; ok {
				li := ent.l.info()
				c := li.Counters
				ps.In, ps.Out = c.MessagesIn, c.MessagesOut
				ps.RcvBuf, ps.KernelDrops, ps.Shed = li.RcvBuf, c.KernelDrops, c.Shed
			}
			p.Serving = append(p.Serving, ps)
		}
		if e.failed != nil {
			f := *e.failed
			p.Failed = &f
		}
	})
	return p
}
