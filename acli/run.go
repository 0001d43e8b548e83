package acli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/acli-project/acli/model/store"
)

// scriptReader reads a script's lines and echoes each after its prompt, so
// that stdout is a transcript of the session.
type scriptReader struct {
	sc     *bufio.Scanner
	out    io.Writer
	lineNo *int
}

func (r scriptReader) ReadLine(prompt string) (string, error) {
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return "", fmt.Errorf("read script: %w", err)
		}
		return "", io.EOF
	}
	*r.lineNo++
	line := strings.TrimRight(r.sc.Text(), "\r")
	fmt.Fprintf(r.out, "%s%s\n", prompt, line)
	return line, nil
}

func (r scriptReader) ReadPassword(prompt string) (string, error) {
	if !r.sc.Scan() {
		return "", fmt.Errorf("input ended while waiting for %q", strings.TrimSpace(prompt))
	}
	*r.lineNo++
	fmt.Fprintf(r.out, "%s\n", prompt) // never echo a secret
	return strings.TrimRight(r.sc.Text(), "\r"), nil
}

// RunScript runs the commands read from in as one transaction: if a command
// fails (and Continue is off) nothing the script did is stored. It returns
// the exit status: 0 when every command succeeded.
//
// A running version the script changed is applied by the runtime daemon
// once the script's transaction has committed and its session closed; a
// version the runtime refuses makes the script exit 1 too.
func (s *Shell) RunScript(in io.Reader) int {
	code := s.runScript(in)
	if err := s.afterScript(); err != nil && !errors.Is(err, store.ErrLocked) {
		fmt.Fprintf(s.opt.Err, "%% %v\n", err)
		code = 1
	}
	return code
}

func (s *Shell) runScript(in io.Reader) int {
	sess, err := s.opt.Store.OpenSession()
	if err != nil {
		fmt.Fprintf(s.opt.Err, "%v\n", err)
		return 1
	}
	defer sess.Close()
	tx, err := sess.Begin()
	if err != nil {
		fmt.Fprintf(s.opt.Err, "%v\n", err)
		return 1
	}
	s.be = txBackend{tx}
	// The transcript is written in blocks, not a syscall per line; it is
	// flushed before anything goes to stderr so the two stay in order.
	bw := bufio.NewWriterSize(s.out, 64*1024)
	defer bw.Flush()
	s.out = bw
	errOut := s.opt.Err
	s.opt.Err = flushFirst{bw, errOut}
	defer func() { s.opt.Err = errOut }()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	s.r = scriptReader{sc: sc, out: s.out, lineNo: &s.lineNo}
	s.script = true
	if err := s.startMode(); err != nil {
		tx.Rollback()
		fmt.Fprintf(s.opt.Err, "%v\n", err)
		return 1
	}
	defer func() {
		if !s.committed {
			s.pending = nil // nothing the script did was stored
		}
	}()
	failed, stopped := false, false
	for !s.done {
		line, err := s.r.ReadLine(s.Prompt())
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = s.Exec(line)
		}
		if err != nil {
			failed = true
			fmt.Fprintf(s.opt.Err, "line %d: %v\n", s.lineNo, err)
			if !s.opt.Continue {
				stopped = true
				break
			}
		}
	}
	if stopped {
		tx.Rollback()
		fmt.Fprintf(s.opt.Err, "line %d: script stopped; nothing it changed was stored (the configuration is as before the script)\n", s.lineNo)
		return 1
	}
	if ed := s.unsaved(); ed != nil {
		fmt.Fprintf(s.opt.Err, "line %d: end of script with unsaved changes to %s; they were discarded (use done to store them)\n", s.lineNo, ed.elem.Name)
	}
	if err := tx.Commit(); err != nil {
		fmt.Fprintf(s.opt.Err, "store the script's changes: %v\n", err)
		return 1
	}
	s.committed = true
	if failed {
		return 1
	}
	return 0
}

// flushFirst flushes the buffered transcript before each write to stderr.
type flushFirst struct {
	out *bufio.Writer
	err io.Writer
}

func (f flushFirst) Write(p []byte) (int, error) {
	f.out.Flush()
	return f.err.Write(p)
}

// RunCommand runs one top-level command given as arguments (acli CMD ARGS)
// and returns its exit status.
func (s *Shell) RunCommand(args []string) int {
	s.r = scriptReader{sc: bufio.NewScanner(strings.NewReader("")), out: io.Discard, lineNo: &s.lineNo}
	s.script = true
	if err := s.startMode(); err != nil {
		fmt.Fprintf(s.opt.Err, "%v\n", err)
		return 1
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quote(a)
		if strings.HasPrefix(a, "(") && strings.HasSuffix(a, ")") {
			q[i] = a
		}
	}
	if err := s.Exec(strings.Join(q, " ")); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(s.opt.Err, "%% %v\n", err)
		}
		return 1
	}
	return 0
}

// errReported marks a failure whose details the command already printed;
// only scripts, which number their lines, repeat its message.
var errReported = errors.New("reported")

type reportedError struct{ msg string }

func (e reportedError) Error() string        { return e.msg }
func (e reportedError) Is(target error) bool { return target == errReported }

// RunInteractive runs the shell on a terminal until exit or end of input.
func (s *Shell) RunInteractive(r LineReader) int {
	s.r = r
	s.be = directBackend{s.opt.Store}
	if err := s.startMode(); err != nil {
		fmt.Fprintf(s.opt.Err, "%% %v\n", err)
		return 1
	}
	status := 0
	for !s.done {
		line, err := r.ReadLine(s.Prompt())
		switch {
		case errors.Is(err, ErrInterrupt):
			continue
		case errors.Is(err, io.EOF):
			err = s.exitMode() // Ctrl-D climbs one level, like exit
		case err != nil:
			fmt.Fprintf(s.opt.Err, "%% %v\n", err)
			return 1
		default:
			err = s.Exec(line)
		}
		if err != nil && !errors.Is(err, errReported) {
			fmt.Fprintf(s.opt.Err, "%% %v\n", err)
		}
		status = 0
		if err != nil {
			status = 1
		}
	}
	if s.refused.Load() {
		return 1 // the runtime refused an activation of this session
	}
	return status
}
