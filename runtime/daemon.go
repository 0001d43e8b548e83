package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/control"
)

// Daemon is the runtime process (acli serve): an Engine fed from the
// database's running configuration, and the control socket. It opens the
// database only for the moment it reads the configuration (at start, on
// SIGHUP and on a control apply), so shells and scripts keep working on
// the file while it runs.
//
// It owns confirmed activation (activate-config confirmed MINUTES): the
// deadline is stored with the pending confirmation (store.Confirm), and
// after each apply the daemon keeps a timer for it. At the deadline, or at
// start when the deadline passed while no daemon ran, it returns running to
// the previous version (store.Tx.ExpireConfirm, a transaction that does so
// only while the confirmation is still pending and due, so that a shell
// enforcing the same deadline rolls back no second time) and applies that
// version, whatever became of the shell that activated.
// On etcd only the runtime leading the prefix's election (store.Campaign)
// does so: one rollback, not one per runtime; when it dies another is
// elected within store.ElectionTTL and enforces what fell due meanwhile.
type Daemon struct {
	st      *store.Store
	eng     *Engine
	srv     *control.Server
	log     *slog.Logger
	started time.Time

	mu      sync.Mutex // serializes applies; guards lastErr, confirm, closed, tried, lost, leader
	lastErr string
	confirm *time.Timer // fires at a pending confirmation's deadline
	closed  bool
	done    chan error
	// On etcd: the running version last read and applied (or refused),
	// whether the watch is lost, and how to stop it.
	tried     string
	lost      time.Time // zero: etcd reachable
	stopWatch context.CancelFunc
	reporter  *store.Reporter // keeps this runtime's state in etcd (show runtimes)
	// leader: this runtime leads the prefix's election, so it enforces
	// confirmed activations' deadlines (on a file the daemon always does);
	// campaigned is closed when the candidacy has ended (resigned).
	leader     bool
	campaigned chan struct{}
	reread     *time.Timer // reads the running version again after a failed read
}

// DaemonOptions configure a Daemon.
type DaemonOptions struct {
	DB string // the configuration database
	// Store, when set, is the configuration instead of DB (on etcd, whose
	// commits the daemon watches: a new running version is applied as
	// soon as it is activated). Control must then be set.
	Store   *store.Store
	Control string       // the control socket ("" : control.SocketPath(DB))
	Log     *slog.Logger // nil: discard
}

// Start creates the control socket, applies the running configuration
// and serves the socket until Close. A failing first apply does not stop
// it: it serves nothing and says why (show sip-ports, the log) until an
// apply succeeds.
func Start(o DaemonOptions) (*Daemon, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Control == "" {
		o.Control = control.SocketPath(o.DB)
	}
	st := o.Store
	if st == nil {
		st = store.New(o.DB)
		st.LockTimeout = 5 * time.Second
	}
	d := &Daemon{st: st, eng: NewEngine(log), log: log, started: time.Now(), done: make(chan error, 1)}
	srv, err := control.Listen(o.Control, d, log)
	if err != nil {
		d.eng.Close()
		return nil, err
	}
	d.srv = srv
	log.Info("runtime starting", "database", st.Location(), "control", o.Control, "pid", os.Getpid())
	d.mu.Lock()
	d.expireConfirmed() // a deadline that passed while no daemon ran
	d.applyLocked()
	d.armConfirm()
	d.mu.Unlock()
	if st.OnEtcd() {
		host, _ := os.Hostname()
		d.reporter = st.NewReporter(fmt.Sprintf("%s/%d", host, os.Getpid()))
		d.forgetGone(host)
		d.mu.Lock()
		d.report()
		d.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		d.stopWatch = cancel
		go st.WatchCommits(ctx, d.committed)
		d.campaigned = make(chan struct{})
		go func() {
			defer close(d.campaigned)
			st.Campaign(ctx, d.reporter.ID(), d.leading)
		}()
	}
	go func() { d.done <- srv.Serve() }()
	return d, nil
}

// committed is called after each commit to a configuration on etcd (err
// nil) and when the watch is lost (err set): a changed running version is
// applied; while etcd is lost the daemon serves on what it serves.
func (d *Daemon) committed(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if err != nil {
		if d.lost.IsZero() {
			d.lost = time.Now()
			v, _ := d.eng.Version()
			d.log.Warn("etcd lost: serving version "+v+" until it is back", "err", err)
		}
		return
	}
	if !d.lost.IsZero() {
		d.log.Info("etcd back: reading the running configuration again", "lost_for", time.Since(d.lost).Round(time.Second).String())
		d.lost = time.Time{}
		d.report()
	}
	var n int
	if err := d.st.View(func(tx *store.Tx) error { n = tx.RunningVersion(); return nil }); err != nil {
		// A commit not read is not missed: read again until it is.
		d.log.Error("read the running version; trying again", "err", err, "in", confirmRetry)
		if d.reread == nil {
			d.reread = time.AfterFunc(confirmRetry, func() { d.committed(nil) })
		} else {
			d.reread.Reset(confirmRetry)
		}
		return
	}
	version := "none"
	if n != 0 {
		version = strconv.Itoa(n)
	}
	if version != d.tried {
		d.log.Info("running version changed: applying it", "version", version)
		d.applyLocked()
	}
	d.armConfirm()
}

// leading is called when this runtime becomes, or stops being, the leader
// of the prefix's election: the leader enforces confirmed activations'
// deadlines, one that passed meanwhile at once.
func (d *Daemon) leading(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || on == d.leader {
		d.leader = on
		return
	}
	d.leader = on
	if !on {
		d.log.Warn("no longer the leader of the runtimes: another enforces confirmed activations' deadlines")
		d.armConfirm()
		return
	}
	d.log.Info("leader of the runtimes: this one enforces confirmed activations' deadlines")
	if d.expireConfirmed() {
		d.applyLocked()
	}
	d.armConfirm()
}

// forgetGone removes the reports left by runtimes of this host that died
// without stopping (their processes are gone), which show runtimes would
// otherwise list as lost.
func (d *Daemon) forgetGone(host string) {
	reps, err := d.st.Runtimes()
	if err != nil {
		return // the watch says etcd is lost
	}
	var gone []string
	for _, r := range reps {
		h, p, _ := strings.Cut(r.ID, "/")
		pid, err := strconv.Atoi(p)
		if h == host && r.Lost && err == nil && syscall.Kill(pid, 0) == syscall.ESRCH {
			gone = append(gone, r.ID)
		}
	}
	if err := d.st.Forget(gone); err != nil {
		d.log.Warn("cannot remove the reports of runtimes gone", "err", err)
	}
}

// enforces reports whether this daemon enforces confirmed activations'
// deadlines: on a file always, on etcd while it leads. d.mu is held.
func (d *Daemon) enforces() bool { return !d.st.OnEtcd() || d.leader }

// Engine returns the daemon's engine.
func (d *Daemon) Engine() *Engine { return d.eng }

// Done is closed (after sending Serve's error) when the control socket
// stops serving.
func (d *Daemon) Done() <-chan error { return d.done }

// Close removes the control socket and closes every listener gracefully.
func (d *Daemon) Close() error {
	d.mu.Lock()
	d.closed = true
	if d.confirm != nil {
		d.confirm.Stop()
	}
	if d.reread != nil {
		d.reread.Stop()
	}
	if d.stopWatch != nil {
		d.stopWatch()
	}
	d.reporter.Close()
	d.mu.Unlock()
	if d.campaigned != nil {
		<-d.campaigned // resigned: another runtime leads at once
	}
	err := d.srv.Close()
	d.eng.Close()
	d.log.Info("runtime stopped")
	return err
}

// readRunning reads the running version's configuration and its number,
// in one short read transaction. With no running version yet it is the
// empty configuration, labelled "none".
func readRunning(st *store.Store) (*model.Config, string, error) {
	var cfg *model.Config
	version := "none"
	err := st.View(func(tx *store.Tx) (err error) {
		n := tx.RunningVersion()
		if n == 0 {
			cfg = model.NewConfig(st.Schema)
			return nil
		}
		version = strconv.Itoa(n)
		cfg, err = tx.VersionConfig(n)
		if err != nil {
			return fmt.Errorf("running version %d: %w", n, err)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return cfg, version, nil
}

// Apply reads the running configuration and applies it (control apply,
// SIGHUP), then keeps a timer for the confirmed activation pending, if
// any (a plain activate-config that confirmed it leaves none).
func (d *Daemon) Apply() control.ApplyReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	rep := d.applyLocked()
	d.armConfirm()
	return rep
}

func (d *Daemon) applyLocked() control.ApplyReport {
	cfg, version, err := readRunning(d.st)
	if err != nil {
		err = fmt.Errorf("read the running configuration: %w", err)
		d.lastErr = err.Error()
		d.log.Error("apply: cannot read the configuration", "err", err)
		prev, _ := d.eng.Version()
		return control.ApplyReport{Version: "(unread)", Previous: prev, Errors: []string{err.Error()}}
	}
	d.tried = version
	rep := d.eng.Apply(cfg, version)
	d.lastErr = ""
	if e := rep.Err(); e != nil {
		d.lastErr = errors.Join(e).Error()
	}
	d.report()
	return rep
}

// report stores what the daemon serves in etcd, for show runtimes (a
// configuration on etcd only). d.mu is held.
func (d *Daemon) report() {
	if d.reporter == nil {
		return
	}
	v, at := d.eng.Version()
	err := d.reporter.Report(store.RuntimeReport{Version: v, Tried: d.tried, AppliedAt: at, Listeners: len(d.eng.Listeners()),
		Error: d.lastErr, Started: d.started})
	if err != nil {
		d.log.Warn("cannot report to etcd", "err", err)
	}
}

// confirmRetry is how soon the daemon tries again to read or enforce a
// confirmation when the database could not be read (locked by a script).
const confirmRetry = time.Second

// armConfirm sets the timer for the pending confirmed activation's
// deadline, or stops it when none is pending. d.mu is held.
func (d *Daemon) armConfirm() {
	if d.confirm != nil {
		d.confirm.Stop()
		d.confirm = nil
	}
	if d.closed || !d.enforces() {
		return
	}
	var c *store.Confirm
	if err := d.st.View(func(tx *store.Tx) (err error) { c, err = tx.PendingConfirm(); return err }); err != nil {
		d.log.Error("confirmed activation: cannot read it; trying again", "err", err, "in", confirmRetry)
		d.confirm = time.AfterFunc(confirmRetry, d.confirmDue)
		return
	}
	if c == nil {
		return
	}
	wait := time.Until(c.Deadline)
	d.log.Info("confirmed activation pending", "version", c.Version, "deadline", c.Deadline.UTC().Format(time.RFC3339),
		"returns_to", c.Previous)
	d.confirm = time.AfterFunc(max(wait, 0), d.confirmDue)
}

// confirmDue runs at a deadline: it rolls back when the confirmation is
// still pending and due, applies the version that runs then, and sets the
// timer again.
func (d *Daemon) confirmDue() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if d.expireConfirmed() {
		d.applyLocked()
	}
	d.armConfirm()
}

// expireConfirmed enforces a pending confirmed activation whose deadline
// has passed and reports whether running changed (on etcd, only the
// leader does). d.mu is held.
func (d *Daemon) expireConfirmed() bool {
	if !d.enforces() {
		return false
	}
	var c *store.Confirm
	err := d.st.View(func(tx *store.Tx) (err error) { c, err = tx.PendingConfirm(); return err })
	if err != nil || c == nil || time.Now().Before(c.Deadline) {
		return false // a read error is retried by armConfirm
	}
	if err := d.st.Update(func(tx *store.Tx) (err error) { c, err = tx.ExpireConfirm(time.Now()); return err }); err != nil {
		d.log.Error("confirmed activation: cannot enforce its deadline", "err", err)
		return false
	}
	if c == nil {
		return false
	}
	d.log.Warn("confirmed activation not confirmed in time: running returns to the previous version",
		"version", c.Version, "deadline", c.Deadline.UTC().Format(time.RFC3339), "running", c.Previous)
	return true
}

// SCTPInfo implements control.Backend.
func (d *Daemon) SCTPInfo() []control.Listener { return d.eng.SCTPInfo() }

// SCTPOptions implements control.Backend.
func (d *Daemon) SCTPOptions(address string) ([]control.ListenerOptions, error) {
	return d.eng.SCTPOptions(address)
}

// SIPPorts implements control.Backend.
func (d *Daemon) SIPPorts() control.Ports { return d.eng.SIPPorts() }

// SessionAgents implements control.Backend.
func (d *Daemon) SessionAgents(hostname string) ([]control.Agent, error) {
	return d.eng.SessionAgents(hostname)
}

// Status implements control.Backend.
func (d *Daemon) Status() control.Status {
	v, at := d.eng.Version()
	d.mu.Lock()
	last, leader, lost := d.lastErr, d.leader, d.lost
	d.mu.Unlock()
	return control.Status{PID: os.Getpid(), Started: d.started, Database: d.st.Location(), Control: d.srv.Path(),
		Version: v, AppliedAt: at, Listeners: len(d.eng.Listeners()), LastError: last,
		ID: d.reporter.ID(), Leader: leader, EtcdLost: lost}
}
