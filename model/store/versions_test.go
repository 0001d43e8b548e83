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
	"sync"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	bolt "go.etcd.io/bbolt"
)

var vEpoch = time.Date(2026, 11, 18, 11, 6, 40, 0, time.UTC)

func vStore(t *testing.T) *store.Store {
	t.Helper()
	return store.New(filepath.Join(t.TempDir(), "a.db"))
}

func vRealm(id string, kv ...string) *model.Instance {
	in := model.NewInstance(model.RealmConfig)
	in.Set("identifier", []string{id})
	for i := 0; i+1 < len(kv); i += 2 {
		in.Set(kv[i], []string{kv[i+1]})
	}
	return in
}

// vPut stores instances as new or, when they exist, over the stored ones.
func vPut(t *testing.T, st *store.Store, ins ...*model.Instance) {
	t.Helper()
	err := st.Update(func(tx *store.Tx) error {
		for _, in := range ins {
			cur, err := tx.Get(in.Elem, in.Key())
			if err != nil {
				return err
			}
			var rev uint64
			if cur != nil {
				rev = cur.Rev
			}
			if err := tx.Put(in.Clone(), in.Key(), rev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func vSave(t *testing.T, st *store.Store, comment string) store.VersionInfo {
	t.Helper()
	var info store.VersionInfo
	err := st.Update(func(tx *store.Tx) (err error) {
		info, err = tx.Save(store.VersionInfo{User: "admin", Time: vEpoch, Comment: comment})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func vNumbers(t *testing.T, st *store.Store) []int {
	t.Helper()
	var nums []int
	err := st.View(func(tx *store.Tx) error {
		vs, err := tx.Versions()
		for _, v := range vs {
			nums = append(nums, v.Number)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return nums
}

func TestSaveCopiesEditing(t *testing.T) {
	st := vStore(t)
	si := model.NewInstance(model.SipInterface)
	si.Set("realm-id", []string{"r1"})
	sp := model.NewInstance(model.SipPort)
	sp.Set("address", []string{"10.0.0.1"})
	si.Subs = []*model.Instance{sp}
	vPut(t, st, vRealm("r1"), si)
	info := vSave(t, st, "first")
	if info.Number != 1 || info.Elements != 3 || info.Comment != "first" {
		t.Fatalf("info %+v", info)
	}
	vPut(t, st, vRealm("r2"))
	err := st.View(func(tx *store.Tx) error {
		c, err := tx.VersionConfig(1)
		if err != nil {
			return err
		}
		if c.Len("realm-config") != 1 || c.Get("sip-interface", "r1") == nil || len(c.Get("sip-interface", "r1").Subs) != 1 {
			return fmt.Errorf("version 1 holds %d realms", c.Len("realm-config"))
		}
		if tx.SavedVersion() != 1 || tx.RunningVersion() != 0 {
			return fmt.Errorf("saved %d running %d", tx.SavedVersion(), tx.RunningVersion())
		}
		if _, err := tx.Version(2); !errors.Is(err, store.ErrNotFound) || err.Error() != "version 2 does not exist: only version 1 is kept" {
			return fmt.Errorf("Version(2): %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEditingChanges: what counts as an unsaved change.
func TestEditingChanges(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, st *store.Store)
		want store.Changes
	}{
		{"nothing", func(*testing.T, *store.Store) {}, store.Changes{}},
		{"stored again unchanged", func(t *testing.T, st *store.Store) { vPut(t, st, vRealm("r1", "description", "x")) }, store.Changes{}},
		{"default set explicitly", func(t *testing.T, st *store.Store) {
			vPut(t, st, vRealm("r1", "description", "x", "max-bandwidth", "0"))
		}, store.Changes{}},
		{"changed", func(t *testing.T, st *store.Store) { vPut(t, st, vRealm("r1", "description", "y")) }, store.Changes{Changed: 1}},
		{"added", func(t *testing.T, st *store.Store) { vPut(t, st, vRealm("r3")) }, store.Changes{Added: 1}},
		{"removed", func(t *testing.T, st *store.Store) {
			if err := st.Update(func(tx *store.Tx) error { return tx.Delete(model.RealmConfig, "r2", 0) }); err != nil {
				t.Fatal(err)
			}
		}, store.Changes{Removed: 1}},
		{"cleared", func(t *testing.T, st *store.Store) {
			if err := st.Update(func(tx *store.Tx) error { _, err := tx.ClearEditing(); return err }); err != nil {
				t.Fatal(err)
			}
		}, store.Changes{Removed: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := vStore(t)
			vPut(t, st, vRealm("r1", "description", "x"), vRealm("r2"))
			vSave(t, st, "")
			tt.edit(t, st)
			var got, empty store.Changes
			err := st.View(func(tx *store.Tx) (err error) {
				if got, err = tx.EditingChanges(1); err != nil {
					return err
				}
				empty, err = tx.EditingChanges(0)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got.Any() != (tt.want != store.Changes{}) {
				t.Errorf("changes %+v (%s), want %+v", got, got, tt.want)
			}
			if empty.Removed != 0 || empty.Changed != 0 {
				t.Errorf("against the empty configuration: %+v", empty)
			}
		})
	}
}

func TestChangesString(t *testing.T) {
	for _, tt := range []struct {
		c    store.Changes
		want string
	}{
		{store.Changes{}, "no changes"},
		{store.Changes{Added: 1}, "1 added element"},
		{store.Changes{Added: 2, Changed: 1}, "2 added, 1 changed elements"},
	} {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.c, got, tt.want)
		}
	}
}

// TestPrune: beyond the limit the oldest versions go, never the saved or
// running one or those of a pending confirmed activation.
func TestPrune(t *testing.T) {
	st := vStore(t)
	update := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := st.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		vPut(t, st, vRealm(fmt.Sprint("r", i)))
		vSave(t, st, "")
	}
	update(func(tx *store.Tx) error { _, err := tx.Activate(1, vEpoch, 0, "admin"); return err })
	update(func(tx *store.Tx) error { return tx.SetVersionLimit(2) })
	if got := vNumbers(t, st); !slices.Equal(got, []int{1, 3}) {
		t.Fatalf("limit 2: %v, want [1 3]", got)
	}
	vPut(t, st, vRealm("r4"))
	vSave(t, st, "") // 4
	update(func(tx *store.Tx) error { _, err := tx.Activate(4, vEpoch, time.Minute, "admin"); return err })
	// running 4, confirm returns to 1: 1 and 4 are protected.
	if got := vNumbers(t, st); !slices.Equal(got, []int{1, 4}) {
		t.Fatalf("after a confirmed activation: %v, want [1 4]", got)
	}
	vPut(t, st, vRealm("r5"))
	vSave(t, st, "") // 5: saved; running 4; confirm 4 → 1
	if got := vNumbers(t, st); !slices.Equal(got, []int{1, 4, 5}) {
		t.Fatalf("protected beyond the limit: %v, want [1 4 5]", got)
	}
	update(func(tx *store.Tx) error {
		if err := tx.SetVersionLimit(0); err == nil || !strings.Contains(err.Error(), "allowed 1-100000") {
			return fmt.Errorf("limit 0: %v", err)
		}
		return nil
	})
}

// TestConfirm: a confirmed activation expires at its deadline, back to the
// version that ran before the first of a chain; a plain one confirms it.
func TestConfirm(t *testing.T) {
	st := vStore(t)
	for i := 1; i <= 3; i++ {
		vPut(t, st, vRealm(fmt.Sprint("r", i)))
		vSave(t, st, "")
	}
	step := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := st.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	step(func(tx *store.Tx) error { _, err := tx.Activate(1, vEpoch, 0, "admin"); return err })
	step(func(tx *store.Tx) error {
		c, err := tx.Activate(2, vEpoch, 5*time.Minute, "admin")
		if err != nil || c.Previous != 1 || !c.Deadline.Equal(vEpoch.Add(5*time.Minute)) {
			return fmt.Errorf("confirmed 2: %+v %v", c, err)
		}
		c, err = tx.Activate(3, vEpoch.Add(time.Minute), 5*time.Minute, "admin")
		if err != nil || c.Previous != 1 {
			return fmt.Errorf("confirmed 3: %+v %v, want previous 1", c, err)
		}
		return nil
	})
	step(func(tx *store.Tx) error {
		if c, err := tx.ExpireConfirm(vEpoch.Add(5*time.Minute + 59*time.Second)); c != nil || err != nil {
			return fmt.Errorf("expired early: %+v %v", c, err)
		}
		c, err := tx.ExpireConfirm(vEpoch.Add(6 * time.Minute))
		if err != nil || c == nil || c.Version != 3 || c.Previous != 1 {
			return fmt.Errorf("expire: %+v %v", c, err)
		}
		if tx.RunningVersion() != 1 {
			return fmt.Errorf("running %d after expiry, want 1", tx.RunningVersion())
		}
		if r, err := tx.LastAutoRollback(); err != nil || r == nil || r.Version != 3 {
			return fmt.Errorf("last auto rollback %+v %v", r, err)
		}
		if c, _ := tx.PendingConfirm(); c != nil {
			return fmt.Errorf("still pending: %+v", c)
		}
		return nil
	})
	// A plain activation confirms: nothing expires.
	step(func(tx *store.Tx) error {
		if _, err := tx.Activate(2, vEpoch, time.Minute, "admin"); err != nil {
			return err
		}
		if _, err := tx.Activate(2, vEpoch, 0, "admin"); err != nil {
			return err
		}
		if c, err := tx.ExpireConfirm(vEpoch.Add(time.Hour)); c != nil || err != nil || tx.RunningVersion() != 2 {
			return fmt.Errorf("confirmed activation expired: %+v %v", c, err)
		}
		if r, _ := tx.LastAutoRollback(); r != nil {
			return fmt.Errorf("an activation keeps the old rollback notice")
		}
		return nil
	})
}

func TestRuntimeApplyMark(t *testing.T) {
	st := vStore(t)
	vPut(t, st, vRealm("r1"))
	vSave(t, st, "")
	vPut(t, st, vRealm("r2"))
	vSave(t, st, "")
	err := st.Update(func(tx *store.Tx) error {
		if err := tx.MarkRuntimeApply(1, 0); err != nil {
			return err
		}
		if err := tx.MarkRuntimeApply(2, 1); err != nil {
			return err
		}
		ra, err := tx.TakeRuntimeApply()
		if err != nil || ra == nil || *ra != (store.RuntimeApply{Version: 2, Previous: 0}) {
			return fmt.Errorf("take %+v %v, want {2 0}", ra, err)
		}
		if ra, _ := tx.TakeRuntimeApply(); ra != nil {
			return fmt.Errorf("taken twice")
		}
		if _, err := tx.Activate(2, vEpoch, time.Minute, "admin"); err != nil {
			return err
		}
		if ok, err := tx.RevertRunning(1, 0); ok || err != nil {
			return fmt.Errorf("revert from a version not running: %v %v", ok, err)
		}
		if ok, err := tx.RevertRunning(2, 1); !ok || err != nil || tx.RunningVersion() != 1 {
			return fmt.Errorf("revert: %v %v running %d", ok, err, tx.RunningVersion())
		}
		if c, _ := tx.PendingConfirm(); c != nil {
			return fmt.Errorf("the refused confirmed activation is still pending")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

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

func TestLoadVersionAndClear(t *testing.T) {
	st := vStore(t)
	vPut(t, st, vRealm("r1"))
	vSave(t, st, "")
	vPut(t, st, vRealm("r2"))
	err := st.Update(func(tx *store.Tx) error {
		if err := tx.LoadVersion(1); err != nil {
			return err
		}
		if ch, err := tx.EditingChanges(1); err != nil || ch.Any() {
			return fmt.Errorf("after LoadVersion(1): %+v %v", ch, err)
		}
		if err := tx.LoadVersion(9); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("LoadVersion(9): %v", err)
		}
		n, err := tx.ClearEditing()
		if err != nil || n != 1 {
			return fmt.Errorf("ClearEditing: %d %v", n, err)
		}
		c, err := tx.Editing()
		if err != nil || c.Count() != 0 {
			return fmt.Errorf("editing not empty")
		}
		// Edits after a load continue the revision sequence.
		in := vRealm("r9")
		if err := tx.Put(in, "", 0); err != nil || in.Rev < 3 {
			return fmt.Errorf("put after load: rev %d %v", in.Rev, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExpireConfirmOnce: the shell's timer, the next command and the
// runtime daemon may all enforce the same deadline at once, each in a
// transaction of its own (here: processes' worth of stores on one file);
// exactly one of them rolls back.
func TestExpireConfirmOnce(t *testing.T) {
	st := vStore(t)
	for i := 1; i <= 2; i++ {
		vPut(t, st, vRealm(fmt.Sprint("r", i)))
		vSave(t, st, "")
	}
	if err := st.Update(func(tx *store.Tx) error {
		if _, err := tx.Activate(1, vEpoch, 0, "admin"); err != nil {
			return err
		}
		_, err := tx.Activate(2, vEpoch, time.Minute, "admin")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	rolled := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := store.New(st.Path)
			s.LockTimeout = 10 * time.Second
			var c *store.Confirm
			if err := s.Update(func(tx *store.Tx) (err error) { c, err = tx.ExpireConfirm(vEpoch.Add(time.Hour)); return err }); err != nil {
				t.Error(err)
			}
			if c != nil {
				rolled <- c.Version
			}
		}()
	}
	wg.Wait()
	close(rolled)
	var got []int
	for v := range rolled {
		got = append(got, v)
	}
	if !slices.Equal(got, []int{2}) {
		t.Fatalf("rollbacks %v, want exactly one, of version 2", got)
	}
}
