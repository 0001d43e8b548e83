package acli

// rollback-config and delete-config: commands that replace or empty the
// editing configuration; and the version words (a number, saved, running,
// editing) that rollback-config and show configuration diff take.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/acli-project/acli/model/store"
)

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
