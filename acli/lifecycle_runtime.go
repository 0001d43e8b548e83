package acli

// The lifecycle's link to the runtime daemon (acli serve): a command that
// changes the running version has the daemon apply it once the change is
// stored, and a version the daemon refuses is not left recorded as running.

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/control"
)

// Runtime is the shell's link to the runtime daemon (acli serve) serving
// its database; Options.Runtime replaces it in tests.
type Runtime interface {
	// Attached reports whether a daemon serves the database at dbPath.
	Attached(dbPath string) bool
	// Apply has that daemon apply the running version and returns its
	// report (Errors set when it refused the version); nil and no error
	// when no daemon serves the database.
	Apply(dbPath string) (*control.ApplyReport, error)
}

// controlRuntime is the daemon on the database's control socket.
type controlRuntime struct{}

func (controlRuntime) Attached(dbPath string) bool {
	c := control.NewClient(control.SocketPath(dbPath))
	c.Timeout = 2 * time.Second
	_, err := c.Status()
	return !errors.Is(err, control.ErrNotAttached)
}

func (controlRuntime) Apply(dbPath string) (*control.ApplyReport, error) {
	r, err := control.NewClient(control.SocketPath(dbPath)).Apply()
	if errors.Is(err, control.ErrNotAttached) {
		return nil, nil
	}
	return r, err
}

// etcdRuntime is the runtime of a configuration on etcd: acli serve reads
// a database file only, so none is attached.
type etcdRuntime struct{}

func (etcdRuntime) Attached(string) bool                       { return false }
func (etcdRuntime) Apply(string) (*control.ApplyReport, error) { return nil, nil }

// runtimeAttached reports whether a runtime applies this configuration:
// one on the database's control socket, or on etcd any that reports.
func (s *Shell) runtimeAttached() bool {
	if s.opt.Store.OnEtcd() {
		reps, err := s.opt.Store.Runtimes()
		return err == nil && len(reps) > 0
	}
	return s.opt.Runtime.Attached(s.opt.Store.Path)
}

// activation is a change of the running version that the runtime daemon
// has to apply: the command that made it and what it prints once the
// version is applied (or no runtime is attached to refuse it).
type activation struct{ cmd, done string }

// tellRuntime has the runtime daemon apply the running version once the
// change is stored: at once, or, in a script, when the script's
// transaction has committed (afterScript).
func (s *Shell) tellRuntime(a activation, version int) error {
	if _, inScript := s.be.(txBackend); !inScript {
		if err := s.syncRuntime(s.out, &a); err != nil {
			return fmt.Errorf("%s: %w", a.cmd, err)
		}
		return nil
	}
	if s.runtimeAttached() {
		s.printf("The runtime applies version %d when the script ends and its changes are stored\n", version)
		s.pending = &a
		return nil
	}
	s.printf("%s%s\n", a.done, noRuntime(version))
	s.pending = nil
	return nil
}

func noRuntime(version int) string {
	return fmt.Sprintf("No runtime is attached to this database: %s is recorded as running and is applied when the runtime starts (acli serve)", versionName(version))
}

// syncRuntime tells the runtime daemon to apply the running version when a
// committed change of it is pending (store.RuntimeApply). Once the daemon
// has applied it, or when none is attached, it writes a's lines to out
// (with the daemon's report, or that none is attached); a nil a writes
// only the daemon's report.
//
// When the daemon refuses the version it keeps serving the one it served,
// and the running pointer goes back to the version that ran before, in a
// transaction that does so only while running still names the refused
// version (store.Tx.RevertRunning): a configuration the runtime cannot
// apply is not left recorded as running. The refusal is a *refusedError
// and makes the invocation exit 1.
func (s *Shell) syncRuntime(out io.Writer, a *activation) error {
	st := s.opt.Store
	var ra *store.RuntimeApply
	if err := st.View(func(tx *store.Tx) (err error) { ra, err = tx.TakeRuntimeApply(); return err }); err != nil {
		return err
	}
	if ra != nil {
		if err := st.Update(func(tx *store.Tx) (err error) { ra, err = tx.TakeRuntimeApply(); return err }); err != nil {
			return err
		}
	}
	if ra == nil { // told already (another session took the mark)
		if a != nil {
			fmt.Fprint(out, a.done)
		}
		return nil
	}
	if st.OnEtcd() {
		return s.waitRuntimes(out, a, ra.Version)
	}
	rep, err := s.opt.Runtime.Apply(st.Path)
	switch {
	case err != nil:
		s.refused.Store(true)
		return fmt.Errorf("%s is recorded as running, but the runtime did not answer: %v (show sip-ports tells what it serves)", versionName(ra.Version), err)
	case rep == nil:
		if a != nil {
			fmt.Fprintf(out, "%s%s\n", a.done, noRuntime(ra.Version))
		}
		return nil
	case len(rep.Errors) == 0:
		if a != nil {
			fmt.Fprint(out, a.done)
		}
		fmt.Fprintf(out, "%s\n", strings.TrimRight(rep.String(), "\n"))
		return nil
	}
	s.refused.Store(true)
	e := &refusedError{version: ra.Version, serving: rep.Previous, reasons: rep.Errors}
	if uerr := st.Update(func(tx *store.Tx) (uerr error) {
		e.reverted, uerr = tx.RevertRunning(ra.Version, ra.Previous)
		e.running = tx.RunningVersion()
		return uerr
	}); uerr != nil {
		return fmt.Errorf("%w\n%%   and running could not be put back to %s: %v", e, versionName(ra.Previous), uerr)
	}
	return e
}

// refusedError is a version the runtime refused: what runs now, and one
// line per reason the runtime gave.
type refusedError struct {
	version  int
	serving  string // the version the runtime keeps serving ("": none)
	reverted bool   // running went back (else it had changed meanwhile)
	running  int    // the running version now
	reasons  []string
}

func (e *refusedError) Error() string {
	var b strings.Builder
	serving := "nothing"
	if e.serving != "" {
		serving = "version " + e.serving
	}
	fmt.Fprintf(&b, "%s was NOT applied: the runtime refused it and keeps serving %s", versionName(e.version), serving)
	if e.reverted {
		fmt.Fprintf(&b, "; running configuration version is %d", e.running)
	} else {
		fmt.Fprintf(&b, "; running configuration version is %d (changed by another session meanwhile)", e.running)
	}
	for _, r := range e.reasons {
		fmt.Fprintf(&b, "\n%%   runtime: %s", r)
	}
	return b.String()
}

// afterScript runs when a script's session has closed and its transaction
// has committed: the runtime daemon is told about a running version the
// script changed, now that it is stored, and the script's activation
// prints what became of it. (The script already said when none is
// attached.)
func (s *Shell) afterScript() error {
	a := s.pending
	s.pending = nil
	err := s.syncRuntime(s.opt.Out, a)
	if err != nil && a != nil {
		return fmt.Errorf("%s: %w", a.cmd, err)
	}
	return err
}

// runtimeWait bounds how long activate-config on etcd waits for the
// runtimes watching it to report the version applied.
const runtimeWait = 3 * time.Second

// waitRuntimes is syncRuntime on etcd: each runtime watching the prefix
// applies the running version by itself; this waits for every one that
// reports (show runtimes) to have tried it, then says what each did. With
// none reporting it says that none is attached, as for a file. A runtime
// cut off from etcd (its lease expired) is not waited for: it is named,
// and applies the version when it is back. A version refused by a
// runtime, or not applied in time, makes the invocation exit 1; running
// stays as recorded.
func (s *Shell) waitRuntimes(out io.Writer, a *activation, version int) error {
	want := "none"
	if version != 0 {
		want = strconv.Itoa(version)
	}
	var reps []store.RuntimeReport
	for deadline := time.Now().Add(runtimeWait); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if reps, err = s.opt.Store.Runtimes(); err != nil {
			return err
		}
		done := true
		for _, r := range reps {
			done = done && (r.Tried == want || r.Lost)
		}
		if done || time.Now().After(deadline) {
			break
		}
	}
	if a != nil {
		fmt.Fprint(out, a.done)
	}
	if len(reps) == 0 {
		if a != nil {
			fmt.Fprintf(out, "%s\n", noRuntime(version))
		}
		return nil
	}
	var bad []string
	for _, r := range reps {
		switch {
		case r.Lost && r.Tried != want:
			fmt.Fprintf(out, "%% runtime %s is cut off from etcd (last report %s UTC, serving version %s): it applies the running version when it reaches etcd again\n",
				r.ID, r.Reported.UTC().Format(dateLayout), r.Version)
		case r.Tried != want:
			bad = append(bad, fmt.Sprintf("runtime %s did not apply it within %v (it serves version %s)", r.ID, runtimeWait, r.Version))
		case r.Version != want:
			bad = append(bad, fmt.Sprintf("runtime %s refused it and keeps serving version %s: %s", r.ID, r.Version, r.Error))
		default:
			fmt.Fprintf(out, "%% runtime %s: %s applied\n", r.ID, versionName(version))
		}
	}
	if len(bad) > 0 {
		s.refused.Store(true)
		return fmt.Errorf("%s is recorded as running, but %s", versionName(version), strings.Join(bad, "; "))
	}
	return nil
}
