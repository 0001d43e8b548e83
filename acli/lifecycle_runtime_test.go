package acli

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/control"
)

// fakeRuntime stands in for the runtime daemon (a Runtime): it records
// each apply with the running version it finds in the database (which must
// be stored and unlocked by then) and refuses it with the reasons in
// refuse.
type fakeRuntime struct {
	t       *testing.T
	db      string
	refuse  []string
	applied []int
	serving int
}

func (f *fakeRuntime) Attached(string) bool { return true }

func (f *fakeRuntime) Apply(path string) (*control.ApplyReport, error) {
	if path != f.db {
		f.t.Errorf("notified for %s, want %s", path, f.db)
	}
	st := store.New(path)
	st.LockTimeout = 100 * time.Millisecond
	n := -1
	if err := st.View(func(tx *store.Tx) error { n = tx.RunningVersion(); return nil }); err != nil {
		f.t.Errorf("the daemon cannot read the database: %v", err)
	}
	f.applied = append(f.applied, n)
	rep := &control.ApplyReport{Version: strconv.Itoa(n), Previous: strconv.Itoa(f.serving), Errors: f.refuse}
	if f.serving == 0 {
		rep.Previous = ""
	}
	if f.refuse == nil {
		f.serving = n
	}
	return rep, nil
}

// fakeShell is lcShell with f as its runtime.
func (f *fakeRuntime) shell() (*Shell, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	sh := New(Options{Store: store.New(f.db), Out: &out, Err: &errb, Now: (&lcClock{lcEpoch}).now, Runtime: f})
	return sh, &out, &errb
}

// TestRuntimeNotified: activate-config has an attached runtime apply the
// version once it is stored: at once in the command form, when the script
// ends in a script, never when the script failed.
func TestRuntimeNotified(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	f := &fakeRuntime{t: t, db: db}
	lcScript(t, db, nil, lcSeed+"save-config\n")
	sh, out, _ := f.shell()
	if code := sh.RunCommand([]string{"activate-config"}); code != 0 || !strings.HasSuffix(out.String(), "Activate Complete\nRunning configuration version is 1\n% runtime: version 1 applied: no listener changed (0 unchanged)\n") {
		t.Fatalf("command form (%d):\n%s", code, out)
	}
	sh, out, _ = f.shell()
	script := "conf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nexit\nexit\nsave-config\nactivate-config\n"
	if code := sh.RunScript(strings.NewReader(script)); code != 0 {
		t.Fatal("script failed")
	}
	// The script says it is running only once the runtime has applied it.
	if !strings.Contains(out.String(), "ACLI# activate-config\nThe runtime applies version 2 when the script ends and its changes are stored\n") ||
		!strings.HasSuffix(out.String(), "Activate Complete\nRunning configuration version is 2\n% runtime: version 2 applied: no listener changed (0 unchanged)\n") {
		t.Fatalf("script:\n%s", out)
	}
	// A script that fails after activate-config stores nothing: no apply,
	// and it never says that the version runs.
	sh, out, _ = f.shell()
	if code := sh.RunScript(strings.NewReader("conf t\nmedia\nrealm-config\nidentifier r3\ndone\nexit\nexit\nexit\nsave-config\nactivate-config\nfrobnicate\n")); code != 1 || strings.Contains(out.String(), "Activate Complete") {
		t.Fatalf("the failing script (%d):\n%s", code, out)
	}
	if !slices.Equal(f.applied, []int{1, 2}) {
		t.Fatalf("applies %v, want [1 2]", f.applied)
	}
}

// lineReader feeds lines to RunInteractive as a terminal would.
type lineReader struct{ lines []string }

func (r *lineReader) ReadLine(string) (string, error) {
	if len(r.lines) == 0 {
		return "", io.EOF
	}
	l := r.lines[0]
	r.lines = r.lines[1:]
	return l, nil
}

func (r *lineReader) ReadPassword(p string) (string, error) { return r.ReadLine(p) }

// TestRuntimeRefused: a version the runtime refuses, in every form of
// invocation, is never said to be running, is not left running (running
// stays the version the runtime serves), prints one line per reason, and
// makes the invocation exit 1, even when later commands succeed.
func TestRuntimeRefused(t *testing.T) {
	reasons := []string{"listen UDP 127.0.0.1:5060: address already in use", "listen TCP 127.0.0.1:5061: address already in use"}
	wantErr := "% activate-config: version 2 was NOT applied: the runtime refused it and keeps serving version 1; running configuration version is 1\n" +
		"%   runtime: listen UDP 127.0.0.1:5060: address already in use\n" +
		"%   runtime: listen TCP 127.0.0.1:5061: address already in use\n"
	activate := "activate-config\ndisplay-current-cfg-version\n"
	for _, tc := range []struct {
		name string
		run  func(sh *Shell) int
	}{
		{"one command", func(sh *Shell) int { return sh.RunCommand([]string{"activate-config"}) }},
		{"script", func(sh *Shell) int { return sh.RunScript(strings.NewReader(activate)) }},
		{"script continue-on-error", func(sh *Shell) int {
			sh.opt.Continue = true
			return sh.RunScript(strings.NewReader(activate))
		}},
		{"terminal", func(sh *Shell) int { return sh.RunInteractive(&lineReader{strings.Split(activate+"exit", "\n")}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "a.db")
			// Version 1 runs and is served; version 2 is saved.
			f := &fakeRuntime{t: t, db: db, serving: 1, refuse: reasons}
			lcScript(t, db, nil, lcSeed+"save-config\nactivate-config\nconf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nexit\nexit\nsave-config\n")
			sh, out, errb := f.shell()
			if code := tc.run(sh); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if strings.Contains(out.String(), "Activate Complete") || strings.Contains(out.String(), "Running configuration version is 2") {
				t.Errorf("a refused version said to be running:\n%s", out)
			}
			if !strings.HasSuffix(errb.String(), wantErr) {
				t.Errorf("stderr:\n%s\nwant it to end with:\n%s", errb, wantErr)
			}
			if out := mustOut(t, db, "display-running-cfg-version"); out != "Running configuration version is 1\n" {
				t.Errorf("after a refusal: %q", out)
			}
		})
	}
}
