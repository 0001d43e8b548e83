package acli

import (
	"fmt"
	"sort"
	"strings"
)

// command is one word a mode understands: a command, an element or a
// parameter. Completion, ? help and execution all read these.
type command struct {
	name      string
	help      string
	superuser bool
	// args returns the candidates for the argument after prev (completion
	// and help). Words starting with '<' describe a value and are not
	// completed.
	args func(s *Shell, prev []Token) []cand
	run  func(s *Shell, args []Token) error
}

type cand struct{ word, help string }

func cands(cmds []*command) []cand {
	out := make([]cand, len(cmds))
	for i, c := range cmds {
		out[i] = cand{c.name, c.help}
	}
	return out
}

func findCmd(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// pick resolves word against the candidates: an exact (case-insensitive)
// match, else the one candidate it is a prefix of. what and where name the
// word's role and the mode for error messages.
func pick(word string, cs []cand, what, where string) (cand, error) {
	lw := strings.ToLower(word)
	var hits []cand
	for _, c := range cs {
		if strings.HasPrefix(c.word, "<") {
			continue
		}
		lc := strings.ToLower(c.word)
		if lc == lw {
			return c, nil
		}
		if strings.HasPrefix(lc, lw) {
			hits = append(hits, c)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return cand{}, fmt.Errorf("Unknown %s %q in %s: allowed %s", what, word, where, wordList(cs))
	}
	return cand{}, fmt.Errorf("Ambiguous %s %q in %s: could be %s", what, word, where, wordList(hits))
}

func wordList(cs []cand) string {
	var w []string
	for _, c := range cs {
		if !strings.HasPrefix(c.word, "<") {
			w = append(w, c.word)
		}
	}
	sort.Strings(w)
	if len(w) == 0 {
		return "nothing"
	}
	return strings.Join(w, ", ")
}

// complete returns the candidates for the word being typed at the end of
// line, and that partial word. Completion, ? help and errors share it.
func (s *Shell) complete(line string) (cs []cand, partial string) {
	cs, partial, _ = s.completeErr(line)
	return cs, partial
}

// completeErr is complete, also returning why nothing can follow (an
// unknown or ambiguous command word, a broken line).
func (s *Shell) completeErr(line string) (cs []cand, partial string, err error) {
	toks, inWord, err := tokenize(line)
	if err != nil {
		return nil, "", err
	}
	if inWord && len(toks) > 0 {
		last := toks[len(toks)-1]
		if last.List {
			return nil, "", nil
		}
		partial = last.Text
		toks = toks[:len(toks)-1]
	}
	cmds := s.commands()
	var all []cand
	if len(toks) == 0 {
		all = cands(cmds)
	} else {
		if toks[0].List || toks[0].Quoted {
			return nil, partial, nil
		}
		c, err := pick(toks[0].Text, cands(cmds), "command", s.modeDesc())
		if err != nil {
			return nil, partial, err
		}
		cmd := findCmd(cmds, c.word)
		if cmd.args == nil {
			return nil, partial, nil
		}
		all = cmd.args(s, toks[1:])
	}
	lp := strings.ToLower(partial)
	for _, c := range all {
		if strings.HasPrefix(strings.ToLower(c.word), lp) || strings.HasPrefix(c.word, "<") {
			cs = append(cs, c)
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].word < cs[j].word })
	return cs, partial, nil
}

// Complete returns the completions of the word at the end of line, as
// whole words (a unique one followed by a space).
func (s *Shell) Complete(line string) []string {
	cs, _ := s.complete(line)
	var out []string
	for _, c := range cs {
		if !strings.HasPrefix(c.word, "<") {
			out = append(out, c.word)
		}
	}
	return out
}

// help prints the candidates for the word at the end of line with their
// one-line help, as the ? key does.
func (s *Shell) help(line string) {
	cs, partial, err := s.completeErr(line)
	if err != nil {
		s.printf("%% %v\n", err)
		return
	}
	if len(cs) == 0 {
		if partial != "" {
			s.printf("%% nothing here starts with %q\n", partial)
		} else {
			s.printf("%% no more arguments: press Enter\n")
		}
		return
	}
	w := 0
	for _, c := range cs {
		w = max(w, len(c.word))
	}
	for _, c := range cs {
		s.printf("%-*s  %s\n", w, c.word, c.help)
	}
}
