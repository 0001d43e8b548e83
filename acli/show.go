package acli

import (
	"errors"
	"fmt"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/verify"
)

// showTopic is one word after show: its help, argument completion and
// handler. Topics are declared in the files of the features they show.
type showTopic struct {
	name, help string
	args       func(s *Shell, prev []Token) []cand
	run        func(s *Shell, args []Token) error
}

func (s *Shell) showTopics() []showTopic {
	// show configuration is in lifecycle_show.go, with its diff and script.
	return append([]showTopic{s.configurationTopic()}, append(s.moreShowTopics(), s.runtimeShowTopics()...)...)
}

func topicCands(ts []showTopic) []cand {
	out := make([]cand, len(ts))
	for i, t := range ts {
		out[i] = cand{t.name, t.help}
	}
	return out
}

func showArgs(s *Shell, prev []Token) []cand {
	ts := s.showTopics()
	if len(prev) == 0 {
		return topicCands(ts)
	}
	c, err := pick(prev[0].Text, topicCands(ts), "show topic", "show")
	if err != nil {
		return nil
	}
	for _, t := range ts {
		if t.name == c.word && t.args != nil {
			return t.args(s, prev[1:])
		}
	}
	return nil
}

func (s *Shell) show(args []Token) error {
	ts := s.showTopics()
	if len(args) == 0 {
		return fmt.Errorf("show needs a topic: allowed %s", wordList(topicCands(ts)))
	}
	c, err := pick(args[0].Text, topicCands(ts), "show topic", "show")
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.name == c.word {
			return t.run(s, args[1:])
		}
	}
	return nil
}

// configArgs completes [element [key]] [short].
func configArgs(s *Shell, prev []Token) []cand {
	short := cand{"short", "only parameters not at their default"}
	switch len(prev) {
	case 0:
		out := []cand{short}
		for _, e := range s.opt.Store.Schema.Elements() {
			out = append(out, cand{e.Name, e.Help})
		}
		return out
	case 1:
		e := s.opt.Store.Schema.Element(prev[0].Text)
		if e == nil {
			return nil
		}
		out := []cand{short}
		var ins []*model.Instance
		_ = s.be.read(func(tx *store.Tx) (err error) { ins, err = tx.List(e); return err })
		for _, in := range ins {
			out = append(out, cand{in.Key(), e.Name})
		}
		return out
	}
	return []cand{short}
}

// showConfig prints a configuration, or one element type or instance of it:
// [element [key]] [short].
func (s *Shell) showConfig(cfg *model.Config, args []Token, cmd string) error {
	short := false
	if n := len(args); n > 0 && !args[n-1].List && args[n-1].Text == "short" {
		short, args = true, args[:n-1]
	}
	if len(args) > 2 {
		return fmt.Errorf("%s takes [element [key]] [short], got %d more words", cmd, len(args))
	}
	elems := cfg.Schema.Elements()
	if len(args) >= 1 {
		var cs []cand
		for _, e := range elems {
			cs = append(cs, cand{e.Name, ""})
		}
		c, err := pick(args[0].Text, cs, "element", cmd)
		if err != nil {
			return err
		}
		elems = []*model.Element{cfg.Schema.Element(c.word)}
	}
	n := 0
	for _, e := range elems {
		for _, in := range cfg.List(e.Name) {
			if len(args) == 2 && in.Key() != args[1].Text {
				continue
			}
			s.writeInstance(in, short)
			n++
		}
	}
	if len(args) == 2 && n == 0 {
		return fmt.Errorf("%s: %s [%s] %v", cmd, elems[0].Name, args[1].Text, store.ErrNotFound)
	}
	if n == 0 && len(args) == 0 {
		s.printf("%% the configuration is empty\n")
	}
	return nil
}

func verifyArgs(s *Shell, prev []Token) []cand {
	if n := len(prev); n > 0 && prev[n-1].Text == "--format" {
		return []cand{{"text", "ACLI style (default)"}, {"json", "findings as JSON, for CI tooling"}}
	}
	return []cand{{"--strict", "warnings fail too"}, {"--format", "text or json"}}
}

// verifyConfig checks the editing configuration: verify-config [--strict]
// [--format text|json]. It fails (exit status 1 in the command form) when
// there are errors, or warnings with --strict.
func (s *Shell) verifyConfig(args []Token) error {
	strict, format := false, "text"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a.List:
			return fmt.Errorf("verify-config takes [--strict] [--format text|json], not a list")
		case a.Text == "--strict" || a.Text == "strict":
			strict = true
		case a.Text == "--format" || a.Text == "format":
			if i+1 >= len(args) {
				return errors.New("verify-config --format needs a value: allowed text, json")
			}
			i++
			c, err := pick(args[i].Text, []cand{{"text", ""}, {"json", ""}}, "format", "verify-config")
			if err != nil {
				return err
			}
			format = c.word
		default:
			return fmt.Errorf("verify-config: unknown argument %q: allowed --strict, --format text|json", a.Text)
		}
	}
	var cfg *model.Config
	if err := s.be.read(func(tx *store.Tx) (err error) { cfg, err = tx.Editing(); return err }); err != nil {
		return err
	}
	fs := verify.Run(cfg)
	if format == "json" {
		if err := verify.WriteJSON(s.out, fs); err != nil {
			return err
		}
	} else if err := verify.Report(s.out, fs); err != nil {
		return err
	}
	errs, warns := verify.Counts(fs)
	if errs > 0 || strict && warns > 0 {
		return reportedError{fmt.Sprintf("verify-config found %s and %s", plural(errs, "error"), plural(warns, "warning"))}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
