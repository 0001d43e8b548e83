package acli

// Displays of the lifecycle: show configuration and show running-config
// (as show does, as a script, or as a diff), the version displays
// (display-current-cfg-version, display-running-cfg-version, show versions)
// and version-limit.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
)

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
