package acli

// save-config, activate-config [confirmed MINUTES], and the return of
// running to the version before when a confirmed activation is not
// confirmed in time (by the next command, or by this session's timer).

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/verify"
)

// maxConfirmMinutes bounds activate-config confirmed MINUTES (one day).
const maxConfirmMinutes = 1440

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
		w.Reset() // on etcd a transaction may run again
		done = -1
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
		pre.Reset() // on etcd a transaction may run again
		done.Reset()
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
