package acli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRollbackAsks: rollback-config over unsaved changes asks first.
func TestRollbackAsks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config\n")
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nidentifier r2\ndone\n")
	out := lcScript(t, db, nil, "rollback-config 1\nn\n")
	if !strings.Contains(out, "discard them? [y/n]: n\nrollback-config cancelled") {
		t.Fatalf("no question or no cancel:\n%s", out)
	}
	if c := lcEditing(t, db); c.Len("realm-config") != 2 {
		t.Fatalf("cancelled rollback changed editing")
	}
	lcScript(t, db, nil, "rollback-config 1\ny\n")
	if c := lcEditing(t, db); c.Len("realm-config") != 1 {
		t.Fatalf("rollback did not restore version 1")
	}
}

// TestDeleteConfig: delete-config asks, --force does not; saved and running
// stay.
func TestDeleteConfig(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config\n")
	out := lcScript(t, db, nil, "delete-config\nn\n")
	if !strings.Contains(out, "Delete all 1 element of the editing configuration? [y/n]: n\ndelete-config cancelled: nothing was deleted\n") {
		t.Fatalf("delete-config n:\n%s", out)
	}
	out = mustOut(t, db, "delete-config", "--force")
	if out != "Deleted the editing configuration (1 element); saved version 1 and running (none) are unchanged\n" {
		t.Fatalf("delete-config --force: %q", out)
	}
	if lcEditing(t, db).Count() != 0 {
		t.Fatal("editing not empty")
	}
	if out := mustOut(t, db, "show", "configuration", "diff", "saved"); !strings.Contains(out, "realm-config [r1] removed") {
		t.Fatalf("diff after delete: %s", out)
	}
}
