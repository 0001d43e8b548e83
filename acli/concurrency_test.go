package acli

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model/store"
)

// scriptedReader answers questions from a fixed list, as a terminal user would.
type scriptedReader struct{ answers []string }

func (r *scriptedReader) ReadLine(string) (string, error) {
	if len(r.answers) == 0 {
		return "", errEOFTest
	}
	a := r.answers[0]
	r.answers = r.answers[1:]
	return a, nil
}
func (r *scriptedReader) ReadPassword(p string) (string, error) { return r.ReadLine(p) }

func interactiveShell(db string, answers ...string) (*Shell, *bytes.Buffer) {
	var out bytes.Buffer
	sh := New(Options{Store: store.New(db), Out: &out})
	sh.r = &scriptedReader{answers: answers}
	return sh, &out
}

func execAll(t *testing.T, sh *Shell, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := sh.Exec(l); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
}

// TestConcurrentEdit: two terminal sessions select the same realm; the
// second done is refused instead of silently overwriting the first.
func TestConcurrentEdit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	if _, e, code := runScript(t, db, "conf t\nmedia\nrealm-config\nidentifier r1\ndone\n", false); code != 0 {
		t.Fatal(e)
	}
	a, _ := interactiveShell(db, "r1", "1")
	b, _ := interactiveShell(db, "r1", "1")
	for _, sh := range []*Shell{a, b} {
		execAll(t, sh, "conf t", "media", "realm-config", "select")
	}
	execAll(t, a, "description first", "done")
	execAll(t, b, "description second")
	err := b.Exec("done")
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "realm-config [r1] was changed by another session since you selected it; select it again") {
		t.Fatalf("second done: %v, want a conflict", err)
	}
	var got string
	store.New(db).View(func(tx *store.Tx) error {
		c, err := tx.Editing()
		got = c.Get("realm-config", "r1").Str("description")
		return err
	})
	if got != "first" {
		t.Fatalf("description = %q, want the first session's", got)
	}
}

// TestLocked: a second process finds the file held by a running script and
// reports it promptly instead of hanging.
func TestLocked(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	sess, err := store.New(db).OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	st := store.New(db)
	st.LockTimeout = 100 * time.Millisecond
	var out, errb bytes.Buffer
	sh := New(Options{Store: st, Out: &out, Err: &errb})
	start := time.Now()
	if code := sh.RunCommand([]string{"show", "configuration"}); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "configuration database is locked by another process") {
		t.Fatalf("stderr %q does not say the database is locked", errb.String())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v to report the lock", d)
	}
}
