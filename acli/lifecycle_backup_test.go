package acli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
)

// TestBackupRestore: backups taken by a command (bbolt WriteTo) and inside a
// script with uncommitted changes (bucket copy) restore to the state they
// were taken in; files that are not acli databases are refused and change
// nothing.
func TestBackupRestore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config comment one\nactivate-config\n")
	mustOut(t, db, "backup-config", "b1")
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nexit\nexit\nbackup-config b2\nsave-config\n")
	fi, err := os.Stat(filepath.Join(filepath.Dir(db), "backups", "b1.db"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if _, stderr, code := lcCommand(t, db, nil, "backup-config", "b1"); code != 1 || !strings.Contains(stderr, `backup "b1" already exists`) {
		t.Fatalf("second backup-config b1: %s", stderr)
	}
	list := mustOut(t, db, "show", "backup-config")
	want := "name  taken at (UTC)       by     saved  running\n" +
		"b1    2026-11-18 11:06:40  admin      1        1\n" +
		"b2    2026-11-18 11:06:40  admin      1        1\n"
	if list != want {
		t.Fatalf("show backup-config:\n%s\nwant:\n%s", list, want)
	}

	// Not acli databases: refused, nothing changes.
	bdir := filepath.Join(filepath.Dir(db), "backups")
	other := filepath.Join(t.TempDir(), "other.db")
	lcPut(t, other, model.NewConfig(model.Default))
	os.WriteFile(filepath.Join(bdir, "text.db"), []byte("hello\n"), 0o600)
	os.WriteFile(filepath.Join(bdir, "empty.db"), nil, 0o600)
	raw, _ := os.ReadFile(filepath.Join(bdir, "b1.db"))
	os.WriteFile(filepath.Join(bdir, "trunc.db"), raw[:len(raw)/2], 0o600)
	garbled := slices.Clone(raw)
	for i := 2 * 4096; i < len(garbled); i += 7 {
		garbled[i] ^= 0x5a
	}
	os.WriteFile(filepath.Join(bdir, "garbled.db"), garbled, 0o600)
	before, _ := os.ReadFile(db)
	for _, name := range []string{"text", "empty", "trunc", "garbled"} {
		_, stderr, code := lcCommand(t, db, nil, "restore-backup-config", name)
		if code != 1 || !strings.Contains(stderr, "not an acli configuration database") || !strings.Contains(stderr, "nothing was changed") {
			t.Errorf("restore %s: exit %d: %s", name, code, stderr)
		}
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Fatalf("a refused restore changed the database")
	}
	if list := mustOut(t, db, "show", "backup-config"); !strings.Contains(list, "% text: not a valid backup: ") {
		t.Fatalf("show backup-config does not flag the bad file:\n%s", list)
	}

	// b2 holds the script's uncommitted r2, and version 1 only.
	out := mustOut(t, db, "restore-backup-config", "b2")
	if !strings.Contains(out, "Restored backup b2, taken 2026-11-18 11:06:40 UTC by admin: saved version 1, running version 1") {
		t.Fatalf("restore b2: %s", out)
	}
	if c := lcEditing(t, db); c.Len("realm-config") != 2 {
		t.Fatalf("after restoring b2: %d realms", c.Len("realm-config"))
	}
	// Version numbers do not go back: the next save is 3, not 2.
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nidentifier r3\ndone\nexit\nexit\nexit\n")
	if out := mustOut(t, db, "save-config"); !strings.Contains(out, "Current configuration version is 3\n") {
		t.Fatalf("save after restore: %s", out)
	}
	mustOut(t, db, "restore-backup-config", "b1")
	if c := lcEditing(t, db); c.Len("realm-config") != 1 {
		t.Fatalf("after restoring b1: %d realms", c.Len("realm-config"))
	}
	mustOut(t, db, "delete-backup-config", "b2")
	if _, err := os.Stat(filepath.Join(bdir, "b2.db")); !os.IsNotExist(err) {
		t.Fatalf("b2 not deleted")
	}
}
