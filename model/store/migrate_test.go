package store

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
	bolt "go.etcd.io/bbolt"
)

// withMigrations replaces the migration list for one test.
func withMigrations(t *testing.T, ms []func(*bolt.Bucket) error) {
	t.Helper()
	saved := migrations
	migrations = ms
	t.Cleanup(func() { migrations = saved })
}

// recorder returns n migrations that record their index in *ran; migration
// i also creates the bucket "m<i>" and checks that "m<i-1>" exists.
func recorder(ran *[]int, n int) []func(*bolt.Bucket) error {
	ms := make([]func(*bolt.Bucket) error, n)
	for i := range ms {
		ms[i] = func(root *bolt.Bucket) error {
			*ran = append(*ran, i)
			if i > 0 && root.Bucket([]byte("m"+strconv.Itoa(i-1))) == nil {
				return errors.New("previous migration not applied")
			}
			_, err := root.CreateBucket([]byte("m" + strconv.Itoa(i)))
			return err
		}
	}
	return ms
}

// schemaVersion reads the file's schema-version with bbolt.
func schemaVersion(t *testing.T, path string) string {
	t.Helper()
	var v string
	raw(t, path, func(tx *bolt.Tx) error { v = string(tx.Bucket(bRoot).Get(kSchema)); return nil })
	return v
}

func TestMigrationsInOrder(t *testing.T) {
	var ran []int
	// The real layout, then three recorded migrations.
	ms := append([]func(*bolt.Bucket) error{migrations[0]}, recorder(&ran, 3)...)
	withMigrations(t, ms)
	st := tempStore(t)

	mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	if !slices.Equal(ran, []int{0, 1, 2}) {
		t.Fatalf("migrations ran %v on a fresh file, want [0 1 2]", ran)
	}
	if v := schemaVersion(t, st.Path); v != "4" || SchemaVersion() != 4 {
		t.Errorf("schema-version %q (SchemaVersion %d), want 4", v, SchemaVersion())
	}

	// Reopening an up-to-date file runs nothing, whichever way.
	ran = nil
	mustUpdate(t, st, func(*Tx) error { return nil })
	if err := st.View(func(*Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ss, err := st.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	ss.Close()
	if len(ran) != 0 {
		t.Errorf("migrations ran %v on an up-to-date file", ran)
	}

	// A newer acli with one more migration runs only that one, even for a
	// read, and the data survives.
	ran = nil
	withMigrations(t, append(ms, func(root *bolt.Bucket) error {
		ran = append(ran, 3)
		_, err := root.CreateBucket([]byte("m3"))
		return err
	}))
	if in := get(t, st, model.SessionAgent, "sa1"); in == nil {
		t.Error("sa1 lost by the migration")
	}
	if !slices.Equal(ran, []int{3}) {
		t.Errorf("migrations ran %v, want [3]", ran)
	}
	if v := schemaVersion(t, st.Path); v != "5" {
		t.Errorf("schema-version %q after View, want 5", v)
	}
}

func TestMigrationFails(t *testing.T) {
	st := tempStore(t)
	mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	image := readFile(t, st.Path)
	withMigrations(t, append(slices.Clone(migrations),
		func(root *bolt.Bucket) error { _, err := root.CreateBucket([]byte("half")); return err },
		func(*bolt.Bucket) error { return errors.New("disk says no") },
	))
	for _, fn := range []func(func(*Tx) error) error{st.Update, st.View} {
		err := fn(func(*Tx) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "migrate database from version 2 to 3: disk says no") {
			t.Errorf("error %v", err)
		}
	}
	if string(image) != string(readFile(t, st.Path)) {
		t.Error("a failed migration changed the file")
	}
}

// TestExistingFileNotMigratedAgain opens a version-1 file many times with
// the real migration list, counting the runs of migration 0.
func TestExistingFileNotMigratedAgain(t *testing.T) {
	runs := 0
	first := migrations[0]
	withMigrations(t, []func(*bolt.Bucket) error{func(root *bolt.Bucket) error { runs++; return first(root) }})
	st := tempStore(t)
	mustUpdate(t, st, func(tx *Tx) error {
		if err := tx.SetMeta("secret", []byte("h")); err != nil {
			return err
		}
		return tx.Put(agent(t, "sa1"), "", 0)
	})
	for range 3 {
		mustUpdate(t, st, func(*Tx) error { return nil })
		if get(t, st, model.SessionAgent, "sa1") == nil {
			t.Fatal("sa1 lost")
		}
	}
	if runs != 1 {
		t.Errorf("migration 0 ran %d times, want once", runs)
	}
	if v := schemaVersion(t, st.Path); v != "1" {
		t.Errorf("schema-version %q", v)
	}
	st.View(func(tx *Tx) error {
		if string(tx.Meta("secret")) != "h" {
			t.Error("meta lost")
		}
		return nil
	})
}

// TestViewOldVersion reads a file at schema version 0 (an acli bucket and
// nothing else): View must migrate it first, not trip over missing buckets.
func TestViewOldVersion(t *testing.T) {
	tests := []struct {
		name string
		fn   func(tx *Tx) error
	}{
		{"List", func(tx *Tx) error { _, err := tx.List(model.SessionAgent); return err }},
		{"Get", func(tx *Tx) error { _, err := tx.Get(model.SessionAgent, "x"); return err }},
		{"Editing", func(tx *Tx) error { _, err := tx.Editing(); return err }},
		{"Meta", func(tx *Tx) error { tx.Meta("secret"); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tempStore(t)
			raw(t, st.Path, func(tx *bolt.Tx) error {
				root, err := tx.CreateBucket(bRoot)
				if err != nil {
					return err
				}
				return root.Put(kSchema, []byte("0"))
			})
			if err := st.View(tt.fn); err != nil {
				t.Fatal(err)
			}
			if v := schemaVersion(t, st.Path); v != strconv.Itoa(SchemaVersion()) {
				t.Errorf("schema-version %q after View", v)
			}
		})
	}
}
