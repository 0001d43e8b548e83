package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
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
	store.Backends(t, func(t *testing.T, st *store.Store) {
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
	})
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
	store.Backends(t, func(t *testing.T, st *store.Store) {
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
	})
}

func TestLoadVersionAndClear(t *testing.T) {
	store.Backends(t, func(t *testing.T, st *store.Store) {
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
	})
}
