// Command acli is the ACLI configuration shell of the acli SBC.
//
//	acli [--db FILE] [--prompt NAME] [--continue-on-error] [CMD ARGS...]
//	acli [--db FILE] --init
//	acli --etcd HOST:PORT[,...] [--etcd-prefix /acli/NAME] [--cacert F --cert F --key F] [--user U --password P] ...
//
// With a terminal on stdin it runs the interactive shell; with a pipe it runs
// the piped lines as one script; with CMD it runs that one top-level command
// (for example verify-config) and exits with its status. Only the shell and
// a script create a database that does not exist yet (and --init, which
// creates an empty one); CMD and serve refuse a missing one. With --etcd
// the configuration is under a key prefix of an etcd cluster instead.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/acli-project/acli/acli"
	"github.com/acli-project/acli/model/store"
	"golang.org/x/term"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("acli", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", os.Getenv("ACLI_DB"), "configuration database `file` (default $ACLI_DB, else $XDG_STATE_HOME/acli/acli.db)")
	prompt := fs.String("prompt", "ACLI", "prompt `name`, e.g. ORACLE")
	cont := fs.Bool("continue-on-error", false, "run a piped script on after a failing command (what succeeded is stored)")
	initDB := fs.Bool("init", false, "create an empty configuration database at the --db path (or --etcd prefix) and exit")
	ec := etcdFromEnv()
	ec.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: acli [flags] [command args...]\n\nWith no command, runs the shell (a script when stdin is not a terminal).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.Arg(0) == "migrate" {
		return migrate(ec, fs.Args()[1:], stdout, stderr)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["db"] && set["etcd"] {
		fmt.Fprintf(stderr, "acli: --db and --etcd name two places for the configuration: give one\n")
		return 2
	}
	// A flag beats the environment: --db FILE with $ACLI_ETCD set is the file.
	if ec.endpoints != "" && !set["db"] {
		return runEtcd(fs, &ec, *initDB, *prompt, *cont, stdin, stdout, stderr)
	}
	path := *db
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			fmt.Fprintf(stderr, "acli: %v\n", err)
			return 1
		}
		path = p
	}
	if *initDB {
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "acli: --init takes no command (got %q): it creates an empty database and exits\n", fs.Arg(0))
			return 2
		}
		return initialize(path, stdout, stderr)
	}
	if fs.NArg() > 0 {
		// A one-shot command or serve reads or changes an existing
		// configuration: on a mistyped path it must not make a new one.
		if err := mustExist(path); err != nil {
			fmt.Fprintf(stderr, "acli: %v\n", err)
			return 1
		}
	}
	if fs.Arg(0) == "serve" {
		return serve(path, nil, fs.Args()[1:], stderr)
	}
	return runShell(store.New(path), filepath.Dir(path), fs.Args(), *prompt, *cont, stdin, stdout, stderr)
}

// runShell runs the shell, a script or one command on st; the terminal's
// history is kept in stateDir.
func runShell(st *store.Store, stateDir string, args []string, prompt string, cont bool, stdin io.Reader, stdout, stderr io.Writer) int {
	unit, err := confirmUnit()
	if err != nil {
		fmt.Fprintf(stderr, "acli: %v\n", err)
		return 2
	}
	sh := acli.New(acli.Options{
		Store:    st,
		Prompt:   prompt,
		Out:      stdout,
		Err:      stderr,
		User:     user(),
		Now:      clock(),
		Continue: cont,

		ConfirmUnit: unit,
	})
	if len(args) > 0 {
		return sh.RunCommand(args)
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		history := filepath.Join(stateDir, "history")
		// The state directory may not exist before the first session.
		if err := os.MkdirAll(filepath.Dir(history), 0o700); err != nil {
			fmt.Fprintf(stderr, "acli: %v\n", err)
			return 1
		}
		if f, err := os.OpenFile(history, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
			f.Close() // readline would create it world-readable
		}
		t, err := acli.NewTerminal(sh, history)
		if err != nil {
			fmt.Fprintf(stderr, "acli: %v\n", err)
			return 1
		}
		defer t.Close()
		return sh.RunInteractive(t)
	}
	return sh.RunScript(stdin)
}

// mustExist refuses a database path where no file is.
func mustExist(path string) error {
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no configuration database at %s (acli --db %s --init creates an empty one; the shell or a script creates it too)", path, path)
	}
	return err
}

// initialize is --init: create an empty database at path (its directory
// too), refusing an existing one.
func initialize(path string, stdout, stderr io.Writer) int {
	if _, err := os.Lstat(path); err == nil {
		fmt.Fprintf(stderr, "acli --init: a file already exists at %s; it was left as it is\n", path)
		return 1
	}
	if err := store.New(path).Update(func(*store.Tx) error { return nil }); err != nil {
		fmt.Fprintf(stderr, "acli --init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Created an empty configuration database at %s\n", path)
	return 0
}

// confirmUnitEnv, for tests only, shortens the minute of activate-config
// confirmed MINUTES to a Go duration (e.g. 1s), so that a test can watch a
// confirmed activation expire.
const confirmUnitEnv = "ACLI_TEST_CONFIRM_MINUTE"

func confirmUnit() (time.Duration, error) {
	v := os.Getenv(confirmUnitEnv)
	if v == "" {
		return time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > time.Minute {
		return 0, fmt.Errorf("%s=%q: allowed a duration from 1ns to 1m, e.g. 1s", confirmUnitEnv, v)
	}
	return d, nil
}

// user is recorded as last-modified-by: $ACLI_USER, else $USER, else admin.
func user() string {
	for _, k := range []string{"ACLI_USER", "USER"} {
		if u := os.Getenv(k); u != "" {
			return u
		}
	}
	return "admin"
}

// clock honours SOURCE_DATE_EPOCH (reproducible transcripts), else real time.
func clock() func() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return func() time.Time { return time.Unix(n, 0) }
		}
	}
	return time.Now
}
