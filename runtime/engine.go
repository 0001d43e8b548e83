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
// port (see MakeKey): new keys are opened first, kept keys are updated in
// place (for SCTP, network-parameters changes become the endpoint's
// defaults and so affect new associations only), and removed keys are
// closed last. A new listener whose address and port a removed one still
// holds (a changed multi-homed address set, a wildcard address replaced by
// a specific one) cannot open first: once everything else has succeeded,
// the removed one is closed and the new one opened in its place. If any
// sip-port is invalid, any open or any update fails, the listeners just
// opened are closed, the replaced ones reopened, updates reverted, the
// previous version keeps serving and every error is returned.
package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/runtime/control"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// Engine keeps a set of live listeners equal to a configuration.
type Engine struct {
	log  *slog.Logger
	h    *sipr.Handler
	ops  chan func()
	quit chan struct{}
	done chan struct{}

	// owned by the engine goroutine
	table     map[string]*entry
	version   string
	appliedAt time.Time
	ports     []control.PortState // the serving version's sip-ports
	failed    *control.FailedApply
}

type entry struct {
	spec Spec
	l    listener
}

// NewEngine starts an engine with no listener.
func NewEngine(log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{log: log, h: sipr.NewHandler(), ops: make(chan func()), quit: make(chan struct{}),
		done: make(chan struct{}), table: map[string]*entry{}}
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

// open opens the listener of s.
func (e *Engine) open(s Spec) (listener, error) {
	var l listener
	var err error
	log := e.log.With("listener", s.Key)
	switch s.Transport {
	case "UDP":
		l, err = openUDP(s, e.h, log)
	case "TCP":
		l, err = openTCP(s, e.h, log)
	case "SCTP":
		l, err = openSCTP(s, e.h, log)
	default:
		err = fmt.Errorf("transport %s: allowed UDP, TCP or SCTP", s.Transport)
	}
	if err != nil {
		return nil, fmt.Errorf("listener %s (sip-interface %q): %w", s.Key, s.Interface, err)
	}
	return l, nil
}

func (e *Engine) apply(cfg *model.Config, version string) control.ApplyReport {
	rep := control.ApplyReport{Version: version, Previous: e.version}
	specs, ports, _ := Desired(cfg)
	var errs []error
	keyErr := map[string]error{}
	for _, p := range ports {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	want := map[string]Spec{}
	for _, s := range specs {
		want[s.Key] = s
	}

	// 1. Open the new listeners (every one is tried, to report every error).
	// One whose address and port a listener this version removes still
	// holds (a changed multi-homed address set, a wildcard address) must
	// wait for it to close: it is replaced in step 3.
	opened := map[string]*entry{}
	var openOrder []string
	var replace []Spec
	for _, s := range specs {
		if _, ok := e.table[s.Key]; ok {
			continue
		}
		l, err := e.open(s)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) && len(e.conflicts(s, want)) > 0 {
				replace = append(replace, s)
				continue
			}
			errs = append(errs, err)
			keyErr[s.Key] = err
			continue
		}
		opened[s.Key] = &entry{spec: s, l: l}
		openOrder = append(openOrder, s.Key)
	}

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
			l, err := e.open(s)
			if err != nil {
				errs = append(errs, err)
				keyErr[s.Key] = err
				continue
			}
			opened[s.Key] = &entry{spec: s, l: l}
			openOrder = append(openOrder, s.Key)
		}
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
			l, err := e.open(ent.spec)
			if err != nil {
				err = fmt.Errorf("%w: it was closed for a replacement that failed and could not be reopened: it is NOT serving", err)
				errs = append(errs, err)
				delete(e.table, k)
				e.log.Error("listener lost", "listener", k, "err", err)
				continue
			}
			ent.l = l
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
	e.version, e.appliedAt, e.failed = version, time.Now(), nil
	e.ports = e.portStates(ports, nil, false)
	e.log.Info("applied", "version", version, "opened", len(rep.Opened), "updated", len(rep.Updated),
		"closed", len(rep.Closed), "unchanged", rep.Unchanged)
	return rep
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
		a.Tracking == b.Tracking && a.Reuse == b.Reuse && a.Keepalive == b.Keepalive
}

// portStates gives each sip-port its state: for a refused version, failed
// (with why) or not applied.
func (e *Engine) portStates(ports []PortSpec, keyErr map[string]error, refused bool) []control.PortState {
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
				c := ent.l.info().Counters
				ps.In, ps.Out = c.MessagesIn, c.MessagesOut
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
