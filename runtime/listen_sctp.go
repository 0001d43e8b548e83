package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/runtime/plan"
	"github.com/acli-project/acli/runtime/sctp"
	"github.com/acli-project/acli/runtime/sctp/sctpwire"
	sipr "github.com/acli-project/acli/runtime/sip"
)

// sctpListener serves one multi-homed SCTP endpoint: a one-to-many socket
// (runtime/sctp.Listener) whose associations all arrive on one reading
// goroutine. Each SCTP user message is one SIP message (RFC 4168); the
// response goes back on the association the request came on, stream 0,
// PPID 0.
type sctpListener struct {
	spec  atomic.Pointer[Spec]
	id    uint32 // ingress point
	l     *sctp.Listener
	c     counters
	since time.Time
	log   *slog.Logger
	wg    sync.WaitGroup

	mu     sync.Mutex // guards assocs; taken per notification, not per message
	assocs map[sctp.AssocID]struct{}
}

// sipPPID is the payload protocol identifier of SIP messages (RFC 4168).
const sipPPID = 0

func openSCTP(s Spec, r *router, id uint32, log *slog.Logger) (*sctpListener, error) {
	l, err := sctp.Listen(s.Addrs, s.Port, listenerSCTP(&s))
	if err != nil {
		return nil, err
	}
	if !tracks(s) {
		if err := l.TrackAssocs(false); err != nil {
			l.Close()
			return nil, err
		}
	}
	l.SetHot(false) // until Engine.tuneReaders allows it
	sl := &sctpListener{l: l, id: id, since: time.Now(), log: log, assocs: map[sctp.AssocID]struct{}{}}
	sl.spec.Store(&s)
	l.OnNotification(sl.notification)
	sl.wg.Add(1)
	go sl.read(&worker{h: r.h, r: r, c: &sl.c, log: log})
	return sl, nil
}

// checkSndbufPolicy warns, once per engine, when the kernel gives all the
// associations of an SCTP listener one send buffer: a peer that stops
// reading then delays every peer's responses (runtime/sctp, "Sending").
func (e *Engine) checkSndbufPolicy(log *slog.Logger) {
	if e.sndbufWarned {
		return
	}
	v, err := sctp.SndbufPolicy()
	if err != nil || v != 0 {
		return
	}
	e.sndbufWarned = true
	log.Warn("net.sctp.sndbuf_policy is 0: the associations of each SCTP sip-port share one send buffer, " +
		"so a peer that stops reading delays the responses to every peer; " +
		"sysctl -w net.sctp.sndbuf_policy=1 gives each association a buffer of its own")
}

// sndbufPolicyNote describes net.sctp.sndbuf_policy for show sctp options
// ("" if it cannot be read).
func sndbufPolicyNote() string {
	switch v, err := sctp.SndbufPolicy(); {
	case err != nil:
		return ""
	case v == 0:
		return "0: all associations share the listener's send buffer; a peer that stops reading delays every peer's responses (sysctl -w net.sctp.sndbuf_policy=1)"
	default:
		return strconv.Itoa(v) + ": each association has a send buffer of its own"
	}
}

// tracks reports whether the listener tracks associations: as
// sctp-assoc-tracking says, and always while sctp-max-assocs limits them
// (the limit is enforced on the association-up notifications).
func tracks(s Spec) bool { return s.Tracking || s.SCTP.MaxAssocs > 0 }

// notification tracks associations: counts and the ids whose options
// show sctp options reads back.
func (sl *sctpListener) notification(n sctp.Notification) {
	if n.Type != sctpwire.AssocChange {
		return
	}
	id := sctp.AssocID(n.Assoc)
	switch n.State {
	case sctpwire.CommUp, sctpwire.Restart:
		if n.State == sctpwire.CommUp {
			sl.c.assocsTotal.Add(1)
		}
		sl.mu.Lock()
		sl.assocs[id] = struct{}{}
		sl.mu.Unlock()
	case sctpwire.CommLost, sctpwire.ShutdownComp:
		if n.State == sctpwire.CommLost {
			sl.c.aborts.Add(1)
		}
		sl.mu.Lock()
		delete(sl.assocs, id)
		sl.mu.Unlock()
	}
}

func (sl *sctpListener) read(w *worker) {
	defer sl.wg.Done()
	buf := make([]byte, sipr.MaxMessage+1)
	for {
		// Responses to the messages of a batch go out together, before
		// the reader waits for the next one (ReadMsg also sends them
		// itself when the batch ends with notifications).
		if sl.l.Buffered() == 0 {
			sl.flush()
		}
		n, info, err := sl.l.ReadMsg(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			sl.log.Warn("sctp read", "listener", sl.spec.Load().Key, "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !info.EOR { // larger than any SIP message: drop it whole
			sl.c.in.Add(1)
			sl.c.parseErrors.Add(1)
			for !info.EOR {
				if _, info, err = sl.l.ReadMsg(buf); err != nil {
					break
				}
			}
			continue
		}
		src := sipr.Source{Transport: sipr.SCTP, Remote: info.Peer, Ingress: sipr.Ingress{Point: sl.id, Conn: uint32(info.Assoc)},
			Overloaded: sl.l.Overloaded(info.Assoc)}
		if resp := w.handle(buf[:n], src); resp != nil {
			sl.l.QueueMsg(resp, info.Assoc, 0, sipPPID)
		}
	}
}

// flush sends the queued responses. The Listener counts them (see info).
func (sl *sctpListener) flush() {
	if _, failed, err := sl.l.Flush(); failed > 0 {
		sl.log.Debug("sctp responses not sent", "listener", sl.spec.Load().Key, "failed", failed, "err", err)
	}
}

// reply sends a relayed response on association conn, or leaves it in the
// Listener's backlog: the caller reads another connection and must not
// wait for this one. The Listener counts it (see info).
func (sl *sctpListener) reply(b []byte, conn uint32, _ netip.AddrPort) error {
	return sl.l.WriteMsg(b, sctp.AssocID(conn), 0, sipPPID)
}

func (sl *sctpListener) update(s Spec) ([]string, error) {
	old := sl.spec.Load()
	ch := append(metaChanges(old, &s), sctpOptionChanges(listenerSCTP(old), listenerSCTP(&s))...)
	if old.Tracking != s.Tracking || old.Reuse != s.Reuse {
		ch = append(ch, fmt.Sprintf("%s %s, %s %s", plan.NPAssocTracking.Name(), onOff(s.Tracking), plan.NPAssocReuse.Name(), onOff(s.Reuse)))
	}
	if tracks(s) && !tracks(*old) {
		if err := sl.l.TrackAssocs(true); err != nil {
			return nil, err
		}
	}
	if old.SCTP != s.SCTP {
		if err := sl.l.SetOptions(listenerSCTP(&s)); err != nil {
			sl.l.SetOptions(listenerSCTP(old)) // best effort: back to what was serving
			if !tracks(*old) {
				sl.l.TrackAssocs(false)
			}
			return nil, err
		}
	}
	if !tracks(s) && tracks(*old) {
		if err := sl.l.TrackAssocs(false); err != nil {
			return nil, err
		}
		sl.mu.Lock()
		clear(sl.assocs) // no longer kept current
		sl.mu.Unlock()
	}
	sl.spec.Store(&s)
	return ch, nil
}

// sctpOptionChanges are a listener's change messages from options old to
// o: one per option row that differs.
func sctpOptionChanges(old, o sctp.Options) []string {
	var ch []string
	for _, r := range sctpOptionRows() {
		if a, b := r.get(old), r.get(o); a != b {
			note := ""
			if r.newOnly {
				note = " (new associations only)"
			}
			ch = append(ch, r.name+" "+a+" -> "+b+note)
		}
	}
	return ch
}

// setHot allows or forbids the reader to go hot (Engine.tuneReaders).
func (sl *sctpListener) setHot(on bool) { sl.l.SetHot(on) }

// trackingNote explains the kernel column of sctp-assoc-tracking.
func trackingNote(s *Spec) string {
	switch {
	case s.Tracking:
		return "association up/down notifications counted and listed"
	case s.SCTP.MaxAssocs > 0:
		return "kept on: sctp-max-assocs is enforced on association-up notifications"
	}
	return "no association notifications read; counts come from the kernel"
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func (sl *sctpListener) info() control.Listener {
	s := sl.spec.Load()
	li := control.Listener{Key: s.Key, Transport: s.Transport, Interface: s.Interface, Port: s.Port,
		Since: sl.since, Counters: sl.c.snapshot()}
	st := sl.l.Stats()
	li.Counters.MessagesOut += st.Sent // responses, queued and relayed
	li.Counters.SendErrors += st.SendFailed
	li.Counters.Assocs = st.Assocs
	li.Counters.Refused = st.Rejected
	b := st.Backlog
	li.Backlog = &control.Backlog{Messages: b.Messages, Bytes: b.Bytes, MaxAssocBytes: b.MaxAssocBytes, PeakBytes: b.PeakBytes,
		LimitAssoc: b.LimitAssoc, LimitTotal: b.LimitTotal, Expired: b.Expired, Overflowed: b.Overflowed,
		KernelDropped: st.KernelFailed}
	if addrs, err := sl.l.LocalAddrs(); err == nil {
		for _, a := range addrs {
			li.Addrs = append(li.Addrs, a.String())
		}
	} else {
		for _, a := range s.Addrs {
			li.Addrs = append(li.Addrs, netip.AddrPortFrom(a, uint16(s.Port)).String())
		}
	}
	return li
}

// matches reports whether the listener is bound to address (IP or
// IP:port).
func (sl *sctpListener) matches(address string) bool {
	s := sl.spec.Load()
	if ap, err := netip.ParseAddrPort(address); err == nil {
		return int(ap.Port()) == s.Port && slices.Contains(s.Addrs, ap.Addr().Unmap())
	}
	a, err := netip.ParseAddr(address)
	return err == nil && slices.Contains(s.Addrs, a.Unmap())
}

// maxAssocOptions bounds the associations listed by options.
const maxAssocOptions = 16

// options reads the listener's options back from the kernel, with those of
// up to maxAssocOptions existing associations.
func (sl *sctpListener) options() control.ListenerOptions {
	li := sl.info()
	s := sl.spec.Load()
	lo := control.ListenerOptions{Key: s.Key, Addrs: li.Addrs, Port: s.Port, SndbufPolicy: sndbufPolicyNote()}
	k, err := sl.l.ReadOptions()
	if err != nil {
		lo.Error = err.Error()
	}
	for _, o := range sctpOptionRows() {
		opt := control.Option{Name: o.name, Kernel: o.get(k), Configured: o.get(listenerSCTP(s))}
		if o.runtime {
			opt.Note = "enforced by the runtime"
		}
		lo.Options = append(lo.Options, opt)
	}
	lo.Options = append(lo.Options,
		control.Option{Name: plan.NPAssocTracking.Name(), Kernel: onOff(sl.l.Tracking()), Configured: onOff(s.Tracking), Note: trackingNote(s)},
		control.Option{Name: plan.NPAssocReuse.Name(), Kernel: onOff(true), Configured: onOff(s.Reuse), Note: "responses always use the request's association"})
	var ids []sctp.AssocID
	if sl.l.Tracking() {
		sl.mu.Lock()
		for id := range sl.assocs {
			ids = append(ids, id)
		}
		sl.mu.Unlock()
	} else if all, err := sl.l.AssocIDs(); err == nil {
		ids = all
	}
	slices.Sort(ids)
	if len(ids) > maxAssocOptions {
		lo.MoreAssocs = len(ids) - maxAssocOptions
		ids = ids[len(ids)-maxAssocOptions:] // the newest
	}
	for _, id := range ids {
		ao := control.AssocOptions{ID: int32(id)}
		if peers, err := sl.l.PeerAddrs(id); err == nil {
			for _, p := range peers {
				ao.Peer = append(ao.Peer, p.String())
			}
		}
		o, err := sl.l.ReadAssocOptions(id)
		if err != nil {
			ao.Error = err.Error()
		}
		for _, t := range sctpOptionRows() {
			if t.perAssoc {
				ao.Options = append(ao.Options, control.Option{Name: t.name, Kernel: t.get(o)})
			}
		}
		lo.Assocs = append(lo.Assocs, ao)
	}
	return lo
}

func (sl *sctpListener) close() error {
	err := sl.l.Close() // the kernel shuts every association down gracefully
	sl.wg.Wait()
	return err
}

// sctpOption is one row of show sctp options and of the change messages:
// a knob of network-parameters (plan.Knobs), or the streams the runtime
// offers.
type sctpOption struct {
	name     string // the network-parameters parameter
	get      func(sctp.Options) string
	newOnly  bool // a change affects new associations only (the schema's word)
	perAssoc bool // readable per association
	perSend  bool // applied to each message sent: a change is at once
	runtime  bool // not a kernel option
}

// sctpOptionRows are the knobs, then the streams.
func sctpOptionRows() []sctpOption {
	var rows []sctpOption
	for _, k := range plan.Knobs() {
		rows = append(rows, sctpOption{name: k.Name(), get: func(o sctp.Options) string { return k.Value(plan.SCTPOptions(o)) },
			newOnly: k.NewOnly(), perAssoc: k.PerAssoc, perSend: k.PerSend, runtime: k.Runtime})
	}
	return append(rows,
		sctpOption{name: "streams-out", get: func(o sctp.Options) string { return strconv.Itoa(o.OutStreams) }, newOnly: true, perAssoc: true},
		sctpOption{name: "streams-in", get: func(o sctp.Options) string { return strconv.Itoa(o.InStreams) }, newOnly: true, perAssoc: true})
}
