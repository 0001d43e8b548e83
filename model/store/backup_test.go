package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	bolt "go.etcd.io/bbolt"
)

// TestBackupFiles: backups are 0600 with a sha256sum checksum beside them;
// ListBackups reads their info and flags files that are not backups;
// restore refuses those and changes nothing.
func TestBackupFiles(t *testing.T) {
	st := vStore(t)
	vPut(t, st, vRealm("r1"))
	vSave(t, st, "")
	info := store.BackupInfo{Name: "b1", User: "admin", Time: vEpoch}
	if err := st.View(func(tx *store.Tx) error { return tx.WriteBackup(st, info) }); err != nil {
		t.Fatal(err)
	}
	path, _ := st.BackupPath("b1")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if side, _ := os.ReadFile(path + ".sha256"); string(side) != hex.EncodeToString(sum[:])+"  b1.db\n" {
		t.Fatalf("checksum file %q", side)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if err := st.View(func(tx *store.Tx) error { return tx.WriteBackup(st, info) }); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second backup b1: %v", err)
	}
	if _, err := st.BackupPath("../etc"); err == nil {
		t.Fatal("a name with a slash is accepted")
	}

	dir := st.BackupDir()
	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	db.Close()
	bad := map[string][]byte{
		"text":      []byte("not a database\n"),
		"truncated": raw[:len(raw)-4096],
		"flipped":   append(slices.Clone(raw[:len(raw)-1]), raw[len(raw)-1]^1), // checksum catches it
	}
	for name, data := range bad {
		os.WriteFile(filepath.Join(dir, name+".db"), data, 0o600)
	}
	os.WriteFile(filepath.Join(dir, "flipped.db.sha256"), []byte(hex.EncodeToString(sum[:])+"  flipped.db\n"), 0o600)

	list, err := st.ListBackups()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list {
		names = append(names, fmt.Sprintf("%s:%v", b.Name, b.Err == nil))
	}
	if want := "b1:true flipped:false foreign:false text:false truncated:false"; strings.Join(names, " ") != want {
		t.Fatalf("ListBackups: %s, want %s", strings.Join(names, " "), want)
	}
	if list[0].Saved != 1 || list[0].User != "admin" || !list[0].Time.Equal(vEpoch) {
		t.Fatalf("b1 info %+v", list[0])
	}
	for _, name := range []string{"text", "truncated", "flipped", "foreign"} {
		err := st.Update(func(tx *store.Tx) error { _, err := tx.RestoreBackup(st, name); return err })
		if !errors.Is(err, store.ErrForeign) {
			t.Errorf("restore %s: %v, want ErrForeign", name, err)
		}
		t.Logf("restore %s: %v", name, err)
	}
	if got := vNumbers(t, st); !slices.Equal(got, []int{1}) {
		t.Fatalf("after refused restores: %v", got)
	}
	if err := st.DeleteBackup("b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".sha256"); !os.IsNotExist(err) {
		t.Fatal("the checksum file stays")
	}
	if err := st.DeleteBackup("b1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestRestoreBackup: a restore brings back everything of the backup, and
// version numbers continue where the database was.
func TestRestoreBackup(t *testing.T) {
	st := vStore(t)
	vPut(t, st, vRealm("r1"))
	vSave(t, st, "one")
	if err := st.View(func(tx *store.Tx) error {
		return tx.WriteBackup(st, store.BackupInfo{Name: "b", User: "admin", Time: vEpoch})
	}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		vPut(t, st, vRealm(fmt.Sprint("r", i)))
		vSave(t, st, "")
	}
	err := st.Update(func(tx *store.Tx) error {
		info, err := tx.RestoreBackup(st, "b")
		if err != nil {
			return err
		}
		if info.Saved != 1 || info.Name != "b" {
			return fmt.Errorf("info %+v", info)
		}
		c, err := tx.Editing()
		if err != nil || c.Len("realm-config") != 1 {
			return fmt.Errorf("editing after restore: %v", err)
		}
		next, err := tx.Save(store.VersionInfo{User: "admin", Time: vEpoch})
		if err != nil || next.Number != 5 {
			return fmt.Errorf("save after restore: version %d %v, want 5", next.Number, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := vNumbers(t, st); !slices.Equal(got, []int{1, 5}) {
		t.Fatalf("versions %v, want [1 5]", got)
	}
}

// TestBackupInScript: a backup taken inside a read-write transaction holds
// its uncommitted changes.
func TestBackupInScript(t *testing.T) {
	st := vStore(t)
	ss, err := st.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ss.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Put(vRealm("uncommitted"), "", 0); err != nil {
		t.Fatal(err)
	}
	if err := tx.WriteBackup(st, store.BackupInfo{Name: "s", User: "admin", Time: vEpoch}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	ss.Close()
	err = st.Update(func(tx *store.Tx) error {
		if _, err := tx.RestoreBackup(st, "s"); err != nil {
			return err
		}
		in, err := tx.Get(model.RealmConfig, "uncommitted")
		if in == nil {
			return fmt.Errorf("the backup lacks the transaction's change (%v)", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
