package acli

// The configuration lifecycle: save-config, activate-config [confirmed],
// rollback-config, delete-config, backups, version displays and the show
// topics of saved and running configurations.
//
// Editing, saved and running configurations live in the store (see
// model/store/versions.go): save copies editing into a new version, activate
// moves the running pointer; each is one transaction.

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/control"
	"github.com/acli-project/acli/verify"
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

// maxConfirmMinutes bounds activate-config confirmed MINUTES (one day).
const maxConfirmMinutes = 1440

const dateLayout = "2006-01-02 15:04:05"

// lifecycleCommands are the configuration lifecycle commands (save-config,
// activate-config, versions, backups), available wherever show is.
func (s *Shell) lifecycleCommands() []*command {
	return []*command{
		{name: "save-config", superuser: true, args: saveArgs, run: (*Shell).saveConfig,
			help: "verify and save the editing configuration as a new version: [comment TEXT]"},
		{name: "activate-config", superuser: true, args: activateArgs, run: (*Shell).activateConfig,
			help: "make the saved configuration running: [confirmed MINUTES] rolls back unless confirmed"},
		{name: "rollback-config", superuser: true, args: rollbackArgs, run: (*Shell).rollbackConfig,
			help: "make a saved version the editing configuration: VERSION, saved or running"},
		{name: "delete-config", superuser: true, args: forceArgs, run: (*Shell).deleteConfig,
			help: "delete every element of the editing configuration (asks first; --force does not)"},
		{name: "backup-config", superuser: true, args: backupNameArgs(false), run: (*Shell).backupConfig,
			help: "copy the whole database (versions included) to a named backup: NAME"},
		{name: "restore-backup-config", superuser: true, args: backupNameArgs(true), run: (*Shell).restoreBackup,
			help: "replace the whole database with a named backup: NAME"},
		{name: "delete-backup-config", superuser: true, args: backupNameArgs(true), run: (*Shell).deleteBackup,
			help: "delete a named backup: NAME"},
		{name: "display-current-cfg-version", run: (*Shell).displayCurrent,
			help: "the version of the saved (current) configuration"},
		{name: "display-running-cfg-version", run: (*Shell).displayRunning,
			help: "the version of the running configuration"},
		{name: "version-limit", args: limitArgs, run: (*Shell).versionLimit,
			help: "show or set how many saved versions are kept: [N]"},
	}
}

// moreShowTopics are the show topics of the lifecycle.
func (s *Shell) moreShowTopics() []showTopic {
	return []showTopic{
		{"running-config", "the running configuration: [element [key]] [short] | script",
			configTopicArgs(scriptWord), (*Shell).showRunning},
		{"versions", "the saved versions kept, with who saved them, when and why", nil, (*Shell).showVersions},
		{"backup-config", "the backups made by backup-config", nil, (*Shell).showBackups},
	}
}

// configurationTopic is show configuration: the editing configuration, its
// script, or a diff between configurations.
func (s *Shell) configurationTopic() showTopic {
	return showTopic{"configuration", "the editing configuration: [element [key]] [short] | script | diff [FROM [TO]]",
		configTopicArgs(scriptWord, diffWord), (*Shell).showConfiguration}
}

// Words that may follow show configuration and show running-config besides
// show's [element [key]] [short].
var (
	scriptWord = cand{"script", "the commands that rebuild it on an empty database"}
	diffWord   = cand{"diff", "what changed: [FROM [TO]], each a version number, saved, running or editing; default running to editing"}
)

// topicWord resolves the first argument of a configuration topic: one of
// extras, or "" for show's own [element [key]] [short].
func (s *Shell) topicWord(cmd string, args []Token, extras ...cand) (string, error) {
	if len(args) == 0 || args[0].List {
		return "", nil
	}
	words := append(slices.Clone(extras), cand{"short", ""})
	for _, e := range s.opt.Store.Schema.Elements() {
		words = append(words, cand{e.Name, ""})
	}
	c, err := pick(args[0].Text, words, "argument", cmd)
	if err != nil || !slices.Contains(extras, c) {
		return "", err
	}
	return c.word, nil
}

// configTopicArgs completes a configuration topic: extras or show's
// arguments, and versions after diff.
func configTopicArgs(extras ...cand) func(s *Shell, prev []Token) []cand {
	return func(s *Shell, prev []Token) []cand {
		if len(prev) == 0 {
			return append(configArgs(s, prev), extras...)
		}
		switch w, _ := s.topicWord("", prev, extras...); {
		case w == "diff" && len(prev) < 3:
			return s.versionCands(true)
		case w != "":
			return nil
		}
		return configArgs(s, prev)
	}
}

func (s *Shell) showConfiguration(args []Token) error {
	w, err := s.topicWord("show configuration", args, scriptWord, diffWord)
	if err != nil {
		return err
	}
	if w == "diff" {
		return s.showDiff(args[1:])
	}
	var cfg *model.Config
	if err := s.be.read(func(tx *store.Tx) (err error) { cfg, err = tx.Editing(); return err }); err != nil {
		return err
	}
	return s.showTopicConfig(cfg, w, args, "show configuration")
}

func (s *Shell) showRunning(args []Token) error {
	w, err := s.topicWord("show running-config", args, scriptWord)
	if err != nil {
		return err
	}
	if err := s.expireConfirmed(); err != nil {
		return err
	}
	var cfg *model.Config
	err = s.be.read(func(tx *store.Tx) (err error) {
		n := tx.RunningVersion()
		if n == 0 {
			return errors.New("show running-config: no configuration is running yet: save-config, then activate-config")
		}
		cfg, err = tx.VersionConfig(n)
		return err
	})
	if err != nil {
		return err
	}
	return s.showTopicConfig(cfg, w, args, "show running-config")
}

// showTopicConfig shows cfg as show does, or as a script.
func (s *Shell) showTopicConfig(cfg *model.Config, word string, args []Token, cmd string) error {
	if word != "script" {
		return s.showConfig(cfg, args, cmd)
	}
	if err := noArgs(cmd+" script", args[1:]); err != nil {
		return err
	}
	s.printf("%s", configScript(cfg))
	return nil
}

// --- save-config --------------------------------------------------------

func saveArgs(s *Shell, prev []Token) []cand {
	switch len(prev) {
	case 0:
		return []cand{{"comment", "a one-line comment recorded with the version"}}
	case 1:
		return []cand{{"<text>", "the comment, quoted when it has spaces"}}
	}
	return nil
}

// saveConfig is save-config [comment TEXT]: verify the editing
// configuration (errors block the save), copy it into a new version and make
// that the saved one.
func (s *Shell) saveConfig(args []Token) error {
	comment := ""
	switch {
	case len(args) == 0:
	case len(args) == 2 && !args[0].List && !args[1].List:
		if _, err := pick(args[0].Text, []cand{{"comment", ""}}, "argument", "save-config"); err != nil {
			return err
		}
		comment = args[1].Text
	default:
		return errors.New("save-config takes [comment TEXT] (quote a comment with spaces)")
	}
	if err := s.expireConfirmed(); err != nil {
		return err
	}
	// Output is printed once the transaction is over, so that "Save
	// complete" follows a commit (at a terminal) and never a failed one.
	var w strings.Builder
	done := -1 // where the success lines start
	err := s.be.write(func(tx *store.Tx) error {
		saved, running := tx.SavedVersion(), tx.RunningVersion()
		if saved != 0 {
			ch, err := tx.EditingChanges(saved)
			if err != nil {
				return err
			}
			if !ch.Any() {
				fmt.Fprintf(&w, "Nothing to save: the editing configuration is saved version %d\n", saved)
				mismatchNote(&w, saved, running)
				return nil
			}
		}
		cfg, err := tx.Editing()
		if err != nil {
			return err
		}
		fmt.Fprintf(&w, "checking configuration\n")
		if err := verifyBefore(&w, "save-config", "nothing was saved", cfg); err != nil {
			return err
		}
		info, err := tx.Save(store.VersionInfo{User: s.opt.User, Time: s.now(), Comment: comment})
		if err != nil {
			return fmt.Errorf("save-config: %w", err)
		}
		done = w.Len()
		fmt.Fprintf(&w, "Save-Config received, processing.\nwaiting for request to finish\nRequest to 'SAVE-CONFIG' has Finished,\nSave complete\n")
		fmt.Fprintf(&w, "Current configuration version is %d\n", info.Number)
		mismatchNote(&w, info.Number, running)
		return nil
	})
	s.printf("%s", successful(w.String(), done, err))
	return err
}

// successful is a command's output without its success lines (from done)
// when the transaction failed after all.
func successful(out string, done int, err error) string {
	if err != nil && done >= 0 {
		return out[:done]
	}
	return out
}

func (s *Shell) now() time.Time { return s.opt.Now().UTC().Truncate(time.Second) }

// mismatchNote says, as the appliance does, when saved is not running.
func mismatchNote(w io.Writer, saved, running int) {
	if saved != running {
		fmt.Fprintf(w, "Currently active and saved configurations do not match!\nTo sync & activate, run 'activate-config'.\n")
	}
}

// verifyBefore runs verify-config's checks for cmd: errors write the report
// to w and fail (what says what did not happen), warnings a summary.
func verifyBefore(w io.Writer, cmd, what string, cfg *model.Config) error {
	fs := verify.Run(cfg)
	errs, warns := verify.Counts(fs)
	if errs > 0 {
		if err := verify.Report(w, fs); err != nil {
			return err
		}
		return fmt.Errorf("%s: the configuration has %s; %s (verify-config lists them)", cmd, plural(errs, "error"), what)
	}
	if warns > 0 {
		fmt.Fprintf(w, "%s\nResults of config verification:\n    %s\nRun 'verify-config' for more details\n%s\n",
			verify.RuleLine, plural(warns, "configuration warning"), verify.RuleLine)
	}
	return nil
}

// --- activate-config ----------------------------------------------------

func activateArgs(s *Shell, prev []Token) []cand {
	switch len(prev) {
	case 0:
		return []cand{{"confirmed", "roll back by itself unless confirmed by activate-config within MINUTES"}}
	case 1:
		return []cand{{"<minutes>", fmt.Sprintf("allowed 1-%d", maxConfirmMinutes)}}
	}
	return nil
}

// activateConfig is activate-config [confirmed MINUTES]: make the saved
// version running. Unsaved editing changes refuse it; the saved version is
// verified again. With confirmed, unless activate-config runs again within
// MINUTES, running returns to the version that ran before.
func (s *Shell) activateConfig(args []Token) error {
	minutes := 0
	switch {
	case len(args) == 0:
	case len(args) == 2 && !args[0].List && !args[1].List:
		if _, err := pick(args[0].Text, []cand{{"confirmed", ""}}, "argument", "activate-config"); err != nil {
			return err
		}
		m, err := strconv.Atoi(args[1].Text)
		if err != nil || m < 1 || m > maxConfirmMinutes {
			return fmt.Errorf("activate-config confirmed: invalid number of minutes %q: allowed 1-%d", args[1].Text, maxConfirmMinutes)
		}
		minutes = m
	case len(args) == 1 && !args[0].List && strings.HasPrefix("confirmed", strings.ToLower(args[0].Text)):
		return fmt.Errorf("activate-config confirmed needs a number of minutes: allowed 1-%d", maxConfirmMinutes)
	default:
		return errors.New("activate-config takes [confirmed MINUTES]")
	}
	if err := s.expireConfirmed(); err != nil {
		return err
	}
	// verify's warnings print at once; the lines that say the version is
	// running wait for the runtime's word (tellRuntime).
	var version int
	var confirm *store.Confirm
	var pre, done strings.Builder
	err := s.be.write(func(tx *store.Tx) error {
		saved := tx.SavedVersion()
		if saved == 0 {
			return errors.New("activate-config: there is no saved configuration to activate: run save-config first")
		}
		ch, err := tx.EditingChanges(saved)
		if err != nil {
			return err
		}
		if ch.Any() {
			return fmt.Errorf("activate-config: the editing configuration has unsaved changes (%s since saved version %d): run save-config to save them, then activate-config; or rollback-config saved to discard them", ch, saved)
		}
		cfg, err := tx.VersionConfig(saved)
		if err != nil {
			return err
		}
		if err := verifyBefore(&pre, "activate-config", "nothing was activated", cfg); err != nil {
			return err
		}
		pending, err := tx.PendingConfirm()
		if err != nil {
			return err
		}
		prev := tx.RunningVersion()
		c, err := tx.Activate(saved, s.now(), time.Duration(minutes)*s.opt.ConfirmUnit, s.opt.User)
		if err == nil {
			err = tx.MarkRuntimeApply(saved, prev)
		}
		if err != nil {
			return fmt.Errorf("activate-config: %w", err)
		}
		version = saved
		fmt.Fprintf(&done, "Activate-Config received, processing.\nwaiting for request to finish\nRequest to 'ACTIVATE-CONFIG' has Finished,\nActivate Complete\n")
		fmt.Fprintf(&done, "Running configuration version is %d\n", saved)
		confirm = c
		switch {
		case c != nil:
			fmt.Fprintf(&done, "Confirmed activation: unless activate-config runs again by %s UTC (%d minutes), running returns to %s\n",
				c.Deadline.Format(dateLayout), minutes, versionName(c.Previous))
		case pending != nil:
			fmt.Fprintf(&done, "Activation confirmed: the return to %s is cancelled\n", versionName(pending.Previous))
		}
		return nil
	})
	s.printf("%s", pre.String())
	if err != nil {
		return err
	}
	if confirm != nil && !s.script {
		// A terminal session that outlives the deadline (an operator cut
		// off by the activation) rolls back by itself, as the runtime
		// daemon does when one serves the database.
		c := *confirm
		time.AfterFunc(time.Duration(minutes)*s.opt.ConfirmUnit, func() { s.confirmTimer(c) })
	}
	return s.tellRuntime(activation{cmd: "activate-config", done: done.String()}, version)
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
	if s.opt.Runtime.Attached(s.opt.Store.Path) {
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

func versionName(n int) string {
	if n == 0 {
		return "no running configuration"
	}
	return fmt.Sprintf("version %d", n)
}

// expireConfirmed enforces a confirmed activation whose time is up (in the
// session's transaction) and says so on stderr.
func (s *Shell) expireConfirmed() error {
	_, err := s.expireWith(s.be, s.opt.Err)
	return err
}

// confirmTimer runs at the deadline of the confirmed activation c that
// this terminal session made: it enforces it in a transaction of its own,
// or, when the runtime daemon did so first, says that it did. What it
// prints goes to the notice writer.
func (s *Shell) confirmTimer(c store.Confirm) {
	w := s.notice
	if w == nil {
		w = s.opt.Err
	}
	st := s.opt.Store
	if rolled, err := s.expireWith(directBackend{st}, w); err != nil || rolled {
		return
	}
	var r *store.Confirm
	if err := st.View(func(tx *store.Tx) (err error) { r, err = tx.LastAutoRollback(); return err }); err != nil || r == nil {
		return
	}
	if r.Version == c.Version && r.Deadline.Equal(c.Deadline) {
		fmt.Fprintf(w, "%% the runtime: %s\n", rollbackNotice(r))
	}
}

// expireWith enforces a confirmed activation whose time is up, in be's
// transaction, says so on w and reports whether it rolled back.
func (s *Shell) expireWith(be backend, w io.Writer) (bool, error) {
	now := s.opt.Now()
	due := false
	err := be.read(func(tx *store.Tx) error {
		c, err := tx.PendingConfirm()
		due = c != nil && !now.Before(c.Deadline)
		return err
	})
	if err != nil || !due {
		return false, err
	}
	var c *store.Confirm
	err = be.write(func(tx *store.Tx) (err error) {
		if c, err = tx.ExpireConfirm(now); err != nil || c == nil {
			return err
		}
		return tx.MarkRuntimeApply(c.Previous, c.Version)
	})
	if err != nil || c == nil {
		return false, err
	}
	fmt.Fprintf(w, "%% %s\n", rollbackNotice(c))
	if _, inScript := be.(txBackend); !inScript {
		// The command that noticed goes on whatever the runtime says.
		if err := s.syncRuntime(w, &activation{}); err != nil {
			fmt.Fprintf(w, "%% activate-config confirmed: %v\n", err)
		}
	}
	return true, nil
}

func rollbackNotice(c *store.Confirm) string {
	return fmt.Sprintf("activate-config confirmed of version %d was not confirmed by %s UTC: running returned to %s at %s UTC",
		c.Version, c.Deadline.Format(dateLayout), versionName(c.Previous), c.At.Format(dateLayout))
}

// --- rollback-config, delete-config --------------------------------------

func rollbackArgs(s *Shell, prev []Token) []cand {
	if len(prev) == 0 {
		return s.versionCands(false)
	}
	return nil
}

// versionCands lists saved, running, the kept version numbers, and editing
// when withEditing.
func (s *Shell) versionCands(withEditing bool) []cand {
	out := []cand{{"saved", "the saved (current) configuration"}, {"running", "the running configuration"}}
	if withEditing {
		out = append(out, cand{"editing", "the editing configuration"})
	}
	var vs []store.VersionInfo
	_ = s.be.read(func(tx *store.Tx) (err error) { vs, err = tx.Versions(); return err })
	for _, v := range vs {
		out = append(out, cand{strconv.Itoa(v.Number), "saved " + v.Time.Format(dateLayout) + " by " + v.User + commentSuffix(v.Comment)})
	}
	return out
}

func commentSuffix(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}

// versionSpec resolves a version word: a number, saved, running or (when
// allowed) editing. n is 0 for editing; label names it for the operator.
func versionSpec(tx *store.Tx, cmd string, t Token, withEditing bool) (n int, label string, err error) {
	words := []cand{{"saved", ""}, {"running", ""}}
	if withEditing {
		words = append(words, cand{"editing", ""})
	}
	if t.List {
		return 0, "", fmt.Errorf("%s: a version is a number, %s; not a list", cmd, wordList(words))
	}
	if v, err := strconv.Atoi(t.Text); err == nil {
		if _, err := tx.Version(v); err != nil {
			return 0, "", fmt.Errorf("%s: %w", cmd, err)
		}
		return v, fmt.Sprintf("version %d", v), nil
	}
	c, err := pick(t.Text, words, "version", cmd)
	if err != nil {
		return 0, "", fmt.Errorf("%v, or a version number", err)
	}
	switch c.word {
	case "saved":
		n = tx.SavedVersion()
	case "running":
		n = tx.RunningVersion()
	default:
		return 0, "editing", nil
	}
	if n == 0 {
		return 0, c.word + " (none)", nil
	}
	return n, fmt.Sprintf("%s (version %d)", c.word, n), nil
}

// rollbackConfig is rollback-config VERSION|saved|running: that version
// becomes the editing configuration. Unsaved changes are lost, so it asks
// first when there are any.
func (s *Shell) rollbackConfig(args []Token) error {
	if len(args) != 1 {
		return errors.New("rollback-config takes one version: a number (show versions lists them), saved or running")
	}
	var n int
	var label string
	var ch store.Changes
	err := s.be.read(func(tx *store.Tx) (err error) {
		if n, label, err = versionSpec(tx, "rollback-config", args[0], false); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("rollback-config: there is no %s configuration", strings.TrimSuffix(label, " (none)"))
		}
		ch, err = tx.EditingChanges(tx.SavedVersion())
		return err
	})
	if err != nil {
		return err
	}
	if ch.Any() {
		ok, err := s.askYesNo(fmt.Sprintf("The editing configuration has unsaved changes (%s); discard them? [y/n]: ", ch))
		if err != nil {
			return fmt.Errorf("rollback-config: %w", err)
		}
		if !ok {
			s.printf("rollback-config cancelled: the editing configuration is unchanged\n")
			return nil
		}
	}
	var info store.VersionInfo
	var saved, running int
	err = s.be.write(func(tx *store.Tx) (err error) {
		if err := tx.LoadVersion(n); err != nil {
			return fmt.Errorf("rollback-config: %w", err)
		}
		saved, running = tx.SavedVersion(), tx.RunningVersion()
		info, err = tx.Version(n)
		return err
	})
	if err != nil {
		return err
	}
	s.printf("The editing configuration is now %s, saved %s UTC by %s%s\n", label, info.Time.Format(dateLayout), info.User, commentSuffix(info.Comment))
	switch {
	case n == saved && n == running:
	case n == saved:
		s.printf("To make it running: activate-config\n")
	case n == running:
		s.printf("It is running; save-config makes it the saved configuration too\n")
	default:
		s.printf("To make it running: save-config, then activate-config\n")
	}
	return nil
}

func forceArgs(s *Shell, prev []Token) []cand {
	if len(prev) == 0 {
		return []cand{{"--force", "do not ask for confirmation"}}
	}
	return nil
}

// deleteConfig is delete-config [--force]: delete every element of the
// editing configuration, after asking unless --force.
func (s *Shell) deleteConfig(args []Token) error {
	force := false
	for _, a := range args {
		if a.List || a.Text != "--force" && a.Text != "force" {
			return errors.New("delete-config takes [--force]")
		}
		force = true
	}
	var n int
	if err := s.be.read(func(tx *store.Tx) error {
		c, err := tx.Editing()
		if err == nil {
			n = c.Count()
		}
		return err
	}); err != nil {
		return err
	}
	if !force {
		ok, err := s.askYesNo(fmt.Sprintf("Delete all %s of the editing configuration? [y/n]: ", plural(n, "element")))
		if err != nil {
			return fmt.Errorf("delete-config: %w (to delete without a question, add --force)", err)
		}
		if !ok {
			s.printf("delete-config cancelled: nothing was deleted\n")
			return nil
		}
	}
	var saved, running int
	err := s.be.write(func(tx *store.Tx) (err error) {
		n, err = tx.ClearEditing()
		saved, running = tx.SavedVersion(), tx.RunningVersion()
		return err
	})
	if err != nil {
		return err
	}
	s.printf("Deleted the editing configuration (%s); saved %s and running %s are unchanged\n",
		plural(n, "element"), versionOrNone(saved), versionOrNone(running))
	return nil
}

func versionOrNone(n int) string {
	if n == 0 {
		return "(none)"
	}
	return fmt.Sprintf("version %d", n)
}

// --- versions -------------------------------------------------------------

func (s *Shell) displayCurrent(args []Token) error {
	if err := noArgs("display-current-cfg-version", args); err != nil {
		return err
	}
	var n int
	if err := s.be.read(func(tx *store.Tx) error { n = tx.SavedVersion(); return nil }); err != nil {
		return err
	}
	s.printf("Current configuration version is %d\n", n)
	return nil
}

func (s *Shell) displayRunning(args []Token) error {
	if err := noArgs("display-running-cfg-version", args); err != nil {
		return err
	}
	if err := s.expireConfirmed(); err != nil {
		return err
	}
	return s.be.read(func(tx *store.Tx) error {
		s.printf("Running configuration version is %d\n", tx.RunningVersion())
		return s.confirmStatus(tx)
	})
}

// confirmStatus prints a pending confirmed activation or the last one that
// was rolled back.
func (s *Shell) confirmStatus(tx *store.Tx) error {
	c, err := tx.PendingConfirm()
	if err != nil {
		return err
	}
	if c != nil {
		s.printf("Version %d is pending confirmation until %s UTC (%s): unless activate-config confirms it by then, running returns to %s\n",
			c.Version, c.Deadline.Format(time.TimeOnly), c.Deadline.Format(time.DateOnly), versionName(c.Previous))
		return nil
	}
	r, err := tx.LastAutoRollback()
	if err != nil || r == nil {
		return err
	}
	s.printf("%s\n", rollbackNotice(r))
	return nil
}

func limitArgs(s *Shell, prev []Token) []cand {
	if len(prev) == 0 {
		return []cand{{"<number>", fmt.Sprintf("versions to keep: allowed 1-%d, default %d", store.MaxVersionLimit, store.DefaultVersionLimit)}}
	}
	return nil
}

// versionLimit is version-limit [N]: show or set how many versions are kept.
// The saved and running versions are never deleted.
func (s *Shell) versionLimit(args []Token) error {
	switch {
	case len(args) == 0:
	case len(args) == 1 && !args[0].List:
		if !s.super {
			return errors.New("version-limit N requires superuser mode: type enable first")
		}
		n, err := strconv.Atoi(args[0].Text)
		if err != nil {
			n = -1
		}
		if err := s.be.write(func(tx *store.Tx) error { return tx.SetVersionLimit(n) }); err != nil {
			var ve *model.ValueError
			if errors.As(err, &ve) {
				ve.Value = args[0].Text
			}
			return err
		}
	default:
		return errors.New("version-limit takes [N]: the number of versions to keep")
	}
	return s.be.read(func(tx *store.Tx) error {
		vs, err := tx.Versions()
		s.printf("Keeping at most %d versions (%d kept now; the saved and running ones are never deleted)\n", tx.VersionLimit(), len(vs))
		return err
	})
}

// showVersions lists the kept versions.
func (s *Shell) showVersions(args []Token) error {
	if err := noArgs("show versions", args); err != nil {
		return err
	}
	if err := s.expireConfirmed(); err != nil {
		return err
	}
	return s.be.read(func(tx *store.Tx) error {
		vs, err := tx.Versions()
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			s.printf("%% no version has been saved yet (save-config saves one)\n")
			return nil
		}
		saved, running := tx.SavedVersion(), tx.RunningVersion()
		rows := [][]string{{"version", "saved at (UTC)", "by", "elements", "state", "comment"}}
		for _, v := range vs {
			var state []string
			if v.Number == saved {
				state = append(state, "saved")
			}
			if v.Number == running {
				state = append(state, "running")
			}
			rows = append(rows, []string{strconv.Itoa(v.Number), v.Time.Format(dateLayout), v.User, strconv.Itoa(v.Elements), strings.Join(state, ","), v.Comment})
		}
		s.printf("%s", table(rows, 0, 3))
		s.printf("%s kept, at most %d\n", plural(len(vs), "version"), tx.VersionLimit())
		return s.confirmStatus(tx)
	})
}

// table aligns rows in columns two spaces apart; the columns listed in
// right are right-aligned. Trailing spaces are trimmed.
func table(rows [][]string, right ...int) string {
	var w []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(w) {
				w = append(w, 0)
			}
			w[i] = max(w[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", w[i]-len(c))
			if slices.Contains(right, i) {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return b.String()
}

// --- backups --------------------------------------------------------------

func backupNameArgs(existing bool) func(s *Shell, prev []Token) []cand {
	return func(s *Shell, prev []Token) []cand {
		if len(prev) > 0 {
			return nil
		}
		if !existing {
			return []cand{{"<name>", "letters, digits, '.', '_' and '-'"}}
		}
		bs, _ := s.opt.Store.ListBackups()
		var out []cand
		for _, b := range bs {
			if b.Err == nil {
				out = append(out, cand{b.Name, "taken " + b.Time.Format(dateLayout) + " by " + b.User})
			}
		}
		return out
	}
}

func oneName(cmd string, args []Token) (string, error) {
	if len(args) != 1 || args[0].List {
		return "", fmt.Errorf("%s takes one backup name", cmd)
	}
	return args[0].Text, nil
}

// backupConfig is backup-config NAME: a consistent copy of the whole
// database in the backups directory beside it.
func (s *Shell) backupConfig(args []Token) error {
	name, err := oneName("backup-config", args)
	if err != nil {
		return err
	}
	info := store.BackupInfo{Name: name, User: s.opt.User, Time: s.now()}
	if err := s.be.read(func(tx *store.Tx) error { return tx.WriteBackup(s.opt.Store, info) }); err != nil {
		return fmt.Errorf("backup-config: %w", err)
	}
	s.printf("Backup %s written to backups/%s.db beside the database\n", name, name)
	return nil
}

// restoreBackup is restore-backup-config NAME: the backup replaces the whole
// database, in one transaction, after checking that it is a valid acli
// database.
func (s *Shell) restoreBackup(args []Token) error {
	name, err := oneName("restore-backup-config", args)
	if err != nil {
		return err
	}
	var info store.BackupInfo
	changed := false
	err = s.be.write(func(tx *store.Tx) (err error) {
		prev := tx.RunningVersion()
		if info, err = tx.RestoreBackup(s.opt.Store, name); err != nil {
			return err
		}
		// The backup may come from another database: tell the runtime
		// whenever something runs, even under the same number.
		if changed = tx.RunningVersion() != 0 || prev != 0; changed {
			return tx.MarkRuntimeApply(tx.RunningVersion(), prev)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore-backup-config: %w; nothing was changed", err)
	}
	s.printf("Restored backup %s, taken %s UTC by %s: saved %s, running %s\n",
		name, info.Time.Format(dateLayout), info.User, versionOrNone(info.Saved), versionOrNone(info.Running))
	if changed {
		return s.tellRuntime(activation{cmd: "restore-backup-config"}, info.Running)
	}
	return nil
}

func (s *Shell) deleteBackup(args []Token) error {
	name, err := oneName("delete-backup-config", args)
	if err != nil {
		return err
	}
	if err := s.opt.Store.DeleteBackup(name); err != nil {
		return fmt.Errorf("delete-backup-config: %w", err)
	}
	s.printf("Backup %s deleted\n", name)
	return nil
}

func (s *Shell) showBackups(args []Token) error {
	if err := noArgs("show backup-config", args); err != nil {
		return err
	}
	bs, err := s.opt.Store.ListBackups()
	if err != nil {
		return fmt.Errorf("show backup-config: %w", err)
	}
	if len(bs) == 0 {
		s.printf("%% no backups in %s (backup-config NAME makes one)\n", s.opt.Store.BackupDir())
		return nil
	}
	rows := [][]string{{"name", "taken at (UTC)", "by", "saved", "running"}}
	var bad []string
	for _, b := range bs {
		if b.Err != nil {
			bad = append(bad, fmt.Sprintf("%s: not a valid backup: %v", b.Name, b.Err))
			continue
		}
		rows = append(rows, []string{b.Name, b.Time.Format(dateLayout), b.User, versionNum(b.Saved), versionNum(b.Running)})
	}
	s.printf("%s", table(rows, 3, 4))
	for _, l := range bad {
		s.printf("%% %s\n", l)
	}
	return nil
}

func versionNum(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
