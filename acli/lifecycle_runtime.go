package acli

// The lifecycle's link to the runtime daemon (acli serve): a command that
// changes the running version has the daemon apply it once the change is
// stored, and a version the daemon refuses is not left recorded as running.

import (
	"errors"
	"fmt"
	"io"
	"slices"
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
type activation struct {
	cmd, done string
	version   int // made running (set by tellRuntime)
}

// unknown is err of a command whose change of running is stored, when
// what the runtime did with it cannot be learned (the database or etcd
// did not answer): the operator is told that the change stands.
func (a *activation) unknown(err error) error {
	if a == nil || a.cmd == "" {
		return err
	}
	return fmt.Errorf("%s is recorded as running, but what the runtime did with it is not known: %w", versionName(a.version), err)
}

// tellRuntime has the runtime daemon apply the running version once the
// change is stored: at once, or, in a script, when the script's
// transaction has committed (afterScript).
func (s *Shell) tellRuntime(a activation, version int) error {
	a.version = version
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
		return a.unknown(err)
	}
	if ra != nil {
		if err := st.Update(func(tx *store.Tx) (err error) { ra, err = tx.TakeRuntimeApply(); return err }); err != nil {
			return a.unknown(err)
		}
	}
	if ra == nil { // told already (another session took the mark)
		if a != nil {
			fmt.Fprint(out, a.done)
		}
		return nil
	}
	if st.OnEtcd() {
		return s.waitRuntimes(out, a, ra)
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
	e := &refusedError{version: ra.Version, refusers: []refuser{{"the runtime", rep.Previous}}}
	for _, r := range rep.Errors {
		e.reasons = append(e.reasons, "runtime: "+r)
	}
	return s.revert(e, ra)
}

// revert puts running back to the version that ran before ra's when it
// still is ra's (store.Tx.RevertRunning), saying so in e.
func (s *Shell) revert(e *refusedError, ra *store.RuntimeApply) error {
	if uerr := s.opt.Store.Update(func(tx *store.Tx) (uerr error) {
		e.reverted, uerr = tx.RevertRunning(ra.Version, ra.Previous)
		e.running = tx.RunningVersion()
		return uerr
	}); uerr != nil {
		return fmt.Errorf("%w\n%%   and running could not be put back to %s: %v", e, versionName(ra.Previous), uerr)
	}
	return e
}

// refusedError is a version refused by the runtime (on etcd, by one or
// more of the runtimes): what runs now, and one line per reason given.
type refusedError struct {
	version  int
	refusers []refuser
	reverted bool // running went back (else it had changed meanwhile)
	running  int  // the running version now
	reasons  []string
	// applied: on etcd, the runtimes that applied the version and go back.
	applied []string
}

// refuser is a runtime that refused a version: who ("the runtime", or
// "runtime HOST/PID") and the version it keeps serving ("": none).
type refuser struct{ who, serving string }

func (e *refusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s was NOT applied: ", versionName(e.version))
	for i, r := range e.refusers {
		serving := "nothing"
		if r.serving != "" {
			serving = "version " + r.serving
		}
		if i > 0 {
			b.WriteString(", and ")
		}
		fmt.Fprintf(&b, "%s refused it and keeps serving %s", r.who, serving)
	}
	if e.reverted {
		fmt.Fprintf(&b, "; running configuration version is %d", e.running)
	} else {
		fmt.Fprintf(&b, "; running configuration version is %d (changed by another session meanwhile)", e.running)
	}
	if len(e.applied) > 0 && e.reverted {
		fmt.Fprintf(&b, " (%s applied it and returns to it)", strings.Join(e.applied, ", "))
	}
	for _, r := range e.reasons {
		fmt.Fprintf(&b, "\n%%   %s", r)
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
// and applies the version when it is back.
//
// When any runtime refuses the version, running goes back to the version
// that ran before, as with a file's runtime (store.Tx.RevertRunning): the
// refusing runtimes are named with their reasons, and those that applied
// it return to the previous version, which this waits for as well. A
// refusal, or a runtime too slow to try the version, makes the invocation
// exit 1.
func (s *Shell) waitRuntimes(out io.Writer, a *activation, ra *store.RuntimeApply) error {
	reps, err := s.runtimesTried(ra.Version)
	if err != nil {
		return a.unknown(err)
	}
	if len(reps) == 0 {
		if a != nil {
			fmt.Fprintf(out, "%s%s\n", a.done, noRuntime(ra.Version))
		}
		return nil
	}
	want := servedName(ra.Version)
	if a != nil && !slices.ContainsFunc(reps, func(r store.RuntimeReport) bool { return r.Tried == want && r.Version != want }) {
		fmt.Fprint(out, a.done) // else NOT applied, as the error says
	}
	var slow []string
	e := &refusedError{version: ra.Version}
	for _, r := range reps {
		switch {
		case r.Lost && r.Tried != want:
			fmt.Fprintf(out, "%% runtime %s is cut off from etcd (last report %s UTC, serving version %s): it applies the running version when it reaches etcd again\n",
				r.ID, r.Reported.UTC().Format(dateLayout), r.Version)
		case r.Tried != want:
			slow = append(slow, fmt.Sprintf("runtime %s did not apply it within %v (it serves version %s)", r.ID, runtimeWait, r.Version))
		case r.Version != want:
			serving := r.Version
			if serving == "none" {
				serving = ""
			}
			e.refusers = append(e.refusers, refuser{"runtime " + r.ID, serving})
			for _, line := range strings.Split(r.Error, "\n") {
				e.reasons = append(e.reasons, "runtime "+r.ID+": "+line)
			}
		default:
			e.applied = append(e.applied, "runtime "+r.ID)
			fmt.Fprintf(out, "%% runtime %s: %s applied\n", r.ID, versionName(ra.Version))
		}
	}
	if len(e.refusers) > 0 {
		s.refused.Store(true)
		err := s.revert(e, ra)
		if e.reverted && len(e.applied) > 0 {
			// Those that applied it go back by themselves (they watch).
			back, werr := s.runtimesTried(ra.Previous)
			for _, r := range back {
				if !r.Lost && r.Version == servedName(ra.Previous) && slices.Contains(e.applied, "runtime "+r.ID) {
					fmt.Fprintf(out, "%% runtime %s: back to %s\n", r.ID, versionName(ra.Previous))
				}
			}
			if werr != nil {
				err = fmt.Errorf("%w\n%%   %v", err, werr)
			}
		}
		if len(slow) > 0 {
			err = fmt.Errorf("%w\n%%   %s", err, strings.Join(slow, "\n%   "))
		}
		return err
	}
	if len(slow) > 0 {
		s.refused.Store(true)
		return fmt.Errorf("%s is recorded as running, but %s", versionName(ra.Version), strings.Join(slow, "; "))
	}
	return nil
}

// servedName is how a runtime names version n it serves ("none": 0).
func servedName(n int) string {
	if n == 0 {
		return "none"
	}
	return strconv.Itoa(n)
}

// runtimesTried waits, up to runtimeWait, for every runtime reporting and
// reaching etcd to have tried version n, and returns the reports.
func (s *Shell) runtimesTried(n int) ([]store.RuntimeReport, error) {
	want := servedName(n)
	for deadline := time.Now().Add(runtimeWait); ; time.Sleep(20 * time.Millisecond) {
		reps, err := s.opt.Store.Runtimes()
		if err != nil {
			return nil, err
		}
		done := true
		for _, r := range reps {
			done = done && (r.Tried == want || r.Lost)
		}
		if done || time.Now().After(deadline) {
			return reps, nil
		}
	}
}
