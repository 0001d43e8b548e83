package acli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
)

// LineReader reads command lines and answers to questions. A terminal uses
// readline; a script reads plain lines and echoes them as a transcript.
type LineReader interface {
	// ReadLine shows prompt and returns one line without its newline, or
	// io.EOF at the end of input.
	ReadLine(prompt string) (string, error)
	// ReadPassword reads a secret without echoing it.
	ReadPassword(prompt string) (string, error)
}

// ErrInterrupt is returned by a LineReader when the user pressed Ctrl-C.
var ErrInterrupt = errors.New("interrupt")

// Options configure a Shell.
type Options struct {
	Store  *store.Store
	Prompt string    // prompt name, default "ACLI"
	Out    io.Writer // command output and transcript
	Err    io.Writer // errors
	User   string    // recorded as last-modified-by (user@console)
	Now    func() time.Time
	// Continue runs a script on after a failing command.
	Continue bool
	// Runtime is the runtime daemon's control channel (nil: the daemon on
	// the database's control socket, when one runs).
	Runtime Runtime
	// ConfirmUnit is the length of one of activate-config confirmed's
	// MINUTES (0: a minute); tests shorten it.
	ConfirmUnit time.Duration
}

// Shell is one ACLI session.
type Shell struct {
	opt Options
	r   LineReader
	out io.Writer
	// notice receives what is printed while the operator may be typing
	// (a confirmed activation's expiry); nil: opt.Err.
	notice io.Writer
	modes  []*mode
	super  bool // superuser (#) rather than user (>) mode
	be     backend
	// elemCmds caches the commands of each element mode.
	elemCmds map[*model.Element][]*command
	done     bool // the session ended (exit at the top)
	// script state
	script bool
	lineNo int
	// pending is the activation a script made, printed when the runtime
	// has applied it after the script (nil: none, or already printed).
	pending   *activation
	committed bool // the script's transaction committed
	// refused: the runtime refused an activation of this invocation,
	// which therefore exits 1 (set from a confirmation timer too).
	refused atomic.Bool
}

type modeKind int

const (
	modeTop modeKind = iota
	modeConfigure
	modeContainer
	modeElement
)

type mode struct {
	kind      modeKind
	container *model.Container
	ed        *editor
	cmds      []*command // what the mode understands, built on first use
}

func (m *mode) name() string {
	switch m.kind {
	case modeConfigure:
		return "configure"
	case modeContainer:
		return m.container.Name
	case modeElement:
		return m.ed.elem.PromptName()
	}
	return ""
}

// New returns a shell over the options' store, starting at the top level.
func New(opt Options) *Shell {
	if opt.Prompt == "" {
		opt.Prompt = "ACLI"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.User == "" {
		opt.User = "admin"
	}
	if opt.Err == nil {
		opt.Err = io.Discard
	}
	switch {
	case opt.Runtime != nil:
	case opt.Store.OnEtcd():
		opt.Runtime = etcdRuntime{}
	default:
		opt.Runtime = controlRuntime{}
	}
	if opt.ConfirmUnit <= 0 {
		opt.ConfirmUnit = time.Minute
	}
	s := &Shell{opt: opt, out: opt.Out, modes: []*mode{{kind: modeTop}}, super: true}
	s.be = directBackend{opt.Store}
	return s
}

func (s *Shell) cur() *mode { return s.modes[len(s.modes)-1] }

// Prompt returns the prompt of the current mode, e.g. "ACLI(sip-port)# ".
func (s *Shell) Prompt() string {
	m := s.cur()
	mark := "#"
	if !s.super {
		mark = ">"
	}
	if m.kind == modeTop {
		return s.opt.Prompt + mark + " "
	}
	return s.opt.Prompt + "(" + m.name() + ")" + mark + " "
}

func (s *Shell) printf(format string, a ...any) { fmt.Fprintf(s.out, format, a...) }

// ask puts a question and returns the answer (in a script: the next line).
func (s *Shell) ask(prompt string) (string, error) {
	read := s.r.ReadLine
	if a, ok := s.r.(interface{ ReadAnswer(string) (string, error) }); ok {
		read = a.ReadAnswer
	}
	ans, err := read(prompt)
	if errors.Is(err, io.EOF) {
		return "", fmt.Errorf("input ended while waiting for an answer to %q", strings.TrimSpace(prompt))
	}
	if errors.Is(err, ErrInterrupt) {
		return "", errors.New("cancelled")
	}
	return strings.TrimSpace(ans), err
}

// askYesNo asks until the answer is y or n (a script gets one chance).
func (s *Shell) askYesNo(prompt string) (bool, error) {
	for {
		ans, err := s.ask(prompt)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(ans) {
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		if s.script {
			return false, fmt.Errorf("answer %q to %q: allowed y or n", ans, strings.TrimSpace(prompt))
		}
	}
}

// Exec runs one command line in the current mode.
func (s *Shell) Exec(line string) error {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "!") {
		return nil
	}
	if strings.HasSuffix(trimmed, "?") && !inQuotes(trimmed) {
		s.help(strings.TrimSuffix(trimmed, "?"))
		return nil
	}
	toks, err := Tokenize(line)
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return nil
	}
	if toks[0].List || toks[0].Quoted {
		return fmt.Errorf("a command starts with a command name, not %s", describeTok(toks[0]))
	}
	cmd, err := s.lookup(toks[0].Text)
	if err != nil {
		return err
	}
	if cmd.superuser && !s.super {
		return fmt.Errorf("%s requires superuser mode: type enable first", cmd.name)
	}
	return cmd.run(s, toks[1:])
}

// lookup resolves a command word of the current mode: an exact name, else a
// unique prefix.
func (s *Shell) lookup(word string) (*command, error) {
	cmds := s.commands()
	for _, c := range cmds {
		if c.name == word {
			return c, nil
		}
	}
	c, err := pick(word, cands(cmds), "command", s.modeDesc())
	if err != nil {
		return nil, err
	}
	return findCmd(cmds, c.word), nil
}

func (s *Shell) modeDesc() string {
	if m := s.cur(); m.kind != modeTop {
		return m.name() + " mode"
	}
	if s.super {
		return "superuser mode"
	}
	return "user mode"
}

func describeTok(t Token) string {
	if t.List {
		return "a list"
	}
	return fmt.Sprintf("%q", t.Text)
}

// inQuotes reports whether the line ends inside an open quoted string.
func inQuotes(line string) bool {
	in := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			if in {
				i++
			}
		case '"':
			in = !in
		}
	}
	return in
}

// unsaved returns the innermost element editor with changes not yet stored.
func (s *Shell) unsaved() *editor {
	for i := len(s.modes) - 1; i >= 0; i-- {
		if ed := s.modes[i].ed; ed != nil && ed.dirty {
			return ed
		}
	}
	return nil
}

// exitMode climbs one level, asking to save an element with unsaved changes.
func (s *Shell) exitMode() error {
	m := s.cur()
	if m.kind == modeTop {
		s.done = true
		return nil
	}
	if m.ed != nil && m.ed.dirty {
		save, err := s.askYesNo("Save changes? [y/n]: ")
		if err != nil {
			return err
		}
		if save {
			if err := s.store(m.ed); err != nil {
				return err
			}
		}
	}
	s.modes = s.modes[:len(s.modes)-1]
	return nil
}

// Done reports whether the session has ended.
func (s *Shell) Done() bool { return s.done }
