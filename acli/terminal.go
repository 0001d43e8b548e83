package acli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/chzyer/readline"
)

// Terminal is the interactive LineReader: readline with history, Tab
// completion and the ? key, all answered by the shell's resolver.
type Terminal struct {
	rl     *readline.Instance
	sh     *Shell
	asking bool // answering a question: no completion, ? help or history
}

// NewTerminal opens readline on stdin/stdout for the shell. history is the
// history file ("" for none).
func NewTerminal(sh *Shell, history string) (*Terminal, error) {
	t := &Terminal{sh: sh}
	rl, err := readline.NewEx(&readline.Config{
		HistoryFile:       history,
		AutoComplete:      completer{t},
		InterruptPrompt:   "^C",
		EOFPrompt:         "",
		HistorySearchFold: true,
		Listener:          readline.FuncListener(t.onKey),
	})
	if err != nil {
		return nil, fmt.Errorf("open terminal: %w", err)
	}
	t.rl = rl
	// Commands print straight to the terminal. readline's writers redraw
	// the prompt around every write whenever its reader waits for a key,
	// which it already does between two lines: that redraw erased lines
	// of a command's output (a show came out blank now and then). Only
	// what is printed while a line is being edited goes through readline:
	// ? help (onKey) and a confirmed activation's expiry (notice).
	sh.out = rl.Config.Stdout
	sh.opt.Err = rl.Config.Stderr
	sh.notice = rl.Stderr()
	return t, nil
}

// onKey implements the ? key: print the help for what is typed so far, then
// give the line back without the '?'.
func (t *Terminal) onKey(line []rune, pos int, key rune) ([]rune, int, bool) {
	if key == '\t' && !t.asking {
		return t.canonicalCase(line, pos)
	}
	if t.asking || key != '?' || pos == 0 || line[pos-1] != '?' {
		return nil, 0, false
	}
	before := string(line[:pos-1])
	if inQuotes(before) {
		return nil, 0, false
	}
	var b strings.Builder
	out := t.sh.out
	t.sh.out = &b
	t.sh.help(before)
	t.sh.out = out
	fmt.Fprintf(t.rl.Stdout(), "%s%s?\n%s", t.sh.Prompt(), before, b.String())
	nl := append(append([]rune{}, line[:pos-1]...), line[pos:]...)
	return nl, pos - 1, true
}

// canonicalCase rewrites the word just completed by Tab in its canonical
// spelling: readline can only append to what was typed, so "tr sc<Tab>"
// reads "tr scTP" until this makes it "tr SCTP".
func (t *Terminal) canonicalCase(line []rune, pos int) ([]rune, int, bool) {
	end := pos
	for end > 0 && line[end-1] == ' ' {
		end--
	}
	start := end
	for start > 0 && line[start-1] != ' ' && line[start-1] != '(' {
		start--
	}
	if start == end {
		return nil, 0, false
	}
	word := string(line[start:end])
	cs, _ := t.sh.complete(string(line[:start]))
	for _, c := range cs {
		if c.word != word && strings.EqualFold(c.word, word) {
			nl := append(append(append([]rune{}, line[:start]...), []rune(c.word)...), line[end:]...)
			return nl, pos + len([]rune(c.word)) - (end - start), true
		}
	}
	return nil, 0, false
}

// ReadLine reads one line with the prompt.
func (t *Terminal) ReadLine(prompt string) (string, error) {
	t.rl.SetPrompt(prompt)
	line, err := t.rl.Readline()
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", ErrInterrupt
	case errors.Is(err, io.EOF):
		return "", io.EOF
	}
	return line, err
}

// ReadAnswer reads the answer to a question (Save changes?, selection:)
// without completion, ? help or history.
func (t *Terminal) ReadAnswer(prompt string) (string, error) {
	t.asking = true
	t.rl.HistoryDisable()
	defer func() { t.asking = false; t.rl.HistoryEnable() }()
	return t.ReadLine(prompt)
}

// ReadPassword reads a secret without echo.
func (t *Terminal) ReadPassword(prompt string) (string, error) {
	b, err := t.rl.ReadPassword(prompt)
	if errors.Is(err, readline.ErrInterrupt) {
		return "", ErrInterrupt
	}
	return string(b), err
}

// Close restores the terminal.
func (t *Terminal) Close() error { return t.rl.Close() }

type completer struct{ t *Terminal }

// Do returns the completions of the word before the cursor as suffixes.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	if c.t.asking {
		return nil, 0
	}
	cs, partial := c.t.sh.complete(string(line[:pos]))
	var out [][]rune
	for _, cd := range cs {
		if strings.HasPrefix(cd.word, "<") {
			continue
		}
		suffix := cd.word[min(len(partial), len(cd.word)):]
		if !strings.HasPrefix(strings.ToLower(cd.word), strings.ToLower(partial)) {
			continue
		}
		out = append(out, []rune(suffix+" "))
	}
	return out, len([]rune(partial))
}
