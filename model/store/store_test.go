package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bolt "go.etcd.io/bbolt"
)

// cfgOpts compares configurations and instances: elements by name, empty
// and nil alike, the unexported snapshot index through Config.List.
var cfgOpts = cmp.Options{
	cmp.Comparer(func(a, b *model.Element) bool {
		return a == b || a != nil && b != nil && a.Name == b.Name
	}),
	cmp.Transformer("elements", func(c *model.Config) map[string][]*model.Instance {
		m := map[string][]*model.Instance{}
		for _, e := range c.Schema.Elements() {
			if l := c.List(e.Name); len(l) > 0 {
				m[e.Name] = l
			}
		}
		return m
	}),
	cmpopts.EquateEmpty(),
}

func tempStore(t testing.TB) *Store {
	t.Helper()
	return New(filepath.Join(t.TempDir(), "state", "acli", "acli.db"))
}

// agent builds a session-agent from name/value pairs.
func agent(t testing.TB, host string, kv ...string) *model.Instance {
	t.Helper()
	in := model.NewInstance(model.SessionAgent)
	kv = append([]string{"hostname", host}, kv...)
	for i := 0; i+1 < len(kv); i += 2 {
		v, err := model.SessionAgent.Param(kv[i]).Parse([]string{kv[i+1]})
		if err != nil {
			t.Fatal(err)
		}
		in.Set(kv[i], v)
	}
	return in
}

func mustUpdate(t testing.TB, st *Store, fn func(*Tx) error) {
	t.Helper()
	if err := st.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func get(t testing.TB, st *Store, e *model.Element, key string) *model.Instance {
	t.Helper()
	var in *model.Instance
	if err := st.View(func(tx *Tx) (err error) { in, err = tx.Get(e, key); return err }); err != nil {
		t.Fatal(err)
	}
	return in
}

func editing(t testing.TB, st *Store) *model.Config {
	t.Helper()
	var c *model.Config
	if err := st.View(func(tx *Tx) (err error) { c, err = tx.Editing(); return err }); err != nil {
		t.Fatal(err)
	}
	return c
}

// raw runs fn in a read-write transaction of the file opened with bbolt only.
func raw(t testing.TB, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name string
		open func(st *Store) error
	}{
		{"Update", func(st *Store) error { return st.Update(func(*Tx) error { return nil }) }},
		{"View", func(st *Store) error { return st.View(func(*Tx) error { return nil }) }},
		{"OpenSession", func(st *Store) error {
			ss, err := st.OpenSession()
			if err == nil {
				err = ss.Close()
			}
			return err
		}},
		{"View of an empty file", func(st *Store) error {
			if err := os.MkdirAll(filepath.Dir(st.Path), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(st.Path, nil, 0o600); err != nil {
				return err
			}
			return st.View(func(tx *Tx) error {
				ins, err := tx.List(model.SessionAgent)
				if err == nil && len(ins) != 0 {
					err = fmt.Errorf("List = %v", ins)
				}
				return err
			})
		}},
		{"Update of an empty file", func(st *Store) error {
			if err := os.MkdirAll(filepath.Dir(st.Path), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(st.Path, nil, 0o600); err != nil {
				return err
			}
			return st.Update(func(*Tx) error { return nil })
		}},
		{"View of an empty bbolt file", func(st *Store) error {
			raw(t, st.Path, func(*bolt.Tx) error { return nil })
			return st.View(func(*Tx) error { return nil })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := setUmask(0o022)
			defer setUmask(old)
			st := tempStore(t)
			if err := tt.open(st); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(st.Path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
			}
			if di, err := os.Stat(filepath.Dir(st.Path)); err != nil || !di.IsDir() {
				t.Errorf("directory not created: %v", err)
			}
			db, err := bolt.Open(st.Path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.View(func(tx *bolt.Tx) error {
				root := tx.Bucket(bRoot)
				if root == nil {
					t.Fatal("no acli bucket")
				}
				if got := string(root.Get(kSchema)); got != strconv.Itoa(SchemaVersion()) {
					t.Errorf("schema-version %q, want %d", got, SchemaVersion())
				}
				for _, b := range [][]byte{bMeta, bEditing, bVersions} {
					if root.Bucket(b) == nil {
						t.Errorf("no %s bucket", b)
					}
				}
				return nil
			})
		})
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if p, err := DefaultPath(); err != nil || p != "/x/state/acli/acli.db" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/op")
	if p, err := DefaultPath(); err != nil || p != "/home/op/.local/state/acli/acli.db" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
}

// pageSize is bbolt's default page size, the one the test files use.
const pageSize = 4096

// TestOpenRefuses checks files that are not acli databases this acli reads:
// each open refuses them with a clear error, never a panic, and leaves the
// file as it was.
func TestOpenRefuses(t *testing.T) {
	junk := make([]byte, 4*pageSize)
	rand.Read(junk)
	writeFile := func(data []byte) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	withRoot := func(version string, buckets ...string) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			raw(t, path, func(tx *bolt.Tx) error {
				root, err := tx.CreateBucket(bRoot)
				if err != nil {
					return err
				}
				if version != "-" {
					if err := root.Put(kSchema, []byte(version)); err != nil {
						return err
					}
				}
				for _, b := range buckets {
					if name, ok := strings.CutPrefix(b, "key:"); ok {
						err = root.Put([]byte(name), []byte("x"))
					} else {
						_, err = root.CreateBucket([]byte(b))
					}
					if err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T, path string)
		is     []error
		substr string
	}{
		{"random bytes", writeFile(junk), []error{ErrForeign}, "not an acli configuration database"},
		{"text file", writeFile([]byte("ORACLE# show running-config\n")), []error{ErrForeign}, "not an acli configuration database"},
		{"longer text file", writeFile(bytes.Repeat([]byte("sctp-rto-min 1000\n"), 300)), []error{ErrForeign}, "not an acli configuration database"},
		{"foreign bbolt file", func(t *testing.T, path string) {
			raw(t, path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
		}, []error{ErrForeign}, "holds no acli bucket"},
		{"future schema version", withRoot("99", "meta", "editing", "versions"), []error{ErrNewer}, "database schema version 99 is newer than this acli reads (1)"},
		{"no schema version", withRoot("-", "meta"), []error{ErrForeign}, `bad schema version ""`},
		{"word schema version", withRoot("one"), []error{ErrForeign}, `bad schema version "one"`},
		{"negative schema version", withRoot("-1"), []error{ErrForeign}, `bad schema version "-1"`},
		{"signed schema version", withRoot("+1", "meta", "editing", "versions"), []error{ErrForeign}, `bad schema version "+1"`},
		{"current version without editing bucket", withRoot("1", "meta", "versions"), []error{ErrDamaged, model.ErrCorrupt}, `without its "editing" bucket`},
		{"current version with editing as a value", withRoot("1", "meta", "versions", "key:editing"), []error{ErrDamaged, model.ErrCorrupt}, `without its "editing" bucket`},
	}
	opens := []struct {
		name string
		fn   func(st *Store) error
	}{
		{"Update", func(st *Store) error { return st.Update(func(*Tx) error { return nil }) }},
		{"View", func(st *Store) error { return st.View(func(*Tx) error { return nil }) }},
		{"OpenSession", func(st *Store) error {
			ss, err := st.OpenSession()
			if err == nil {
				ss.Close()
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tempStore(t)
			st.LockTimeout = 100 * time.Millisecond
			os.MkdirAll(filepath.Dir(st.Path), 0o700)
			tt.setup(t, st.Path)
			before := readFile(t, st.Path)
			for _, o := range opens {
				err := o.fn(st)
				if err == nil {
					t.Fatalf("%s succeeded", o.name)
				}
				for _, want := range tt.is {
					if !errors.Is(err, want) {
						t.Errorf("%s: error %q does not wrap %q", o.name, err, want)
					}
				}
				if !strings.Contains(err.Error(), tt.substr) || !strings.Contains(err.Error(), st.Path) {
					t.Errorf("%s: error %q, want it to name the file and contain %q", o.name, err, tt.substr)
				}
				if errors.Is(err, ErrLocked) {
					t.Errorf("%s: a refused open left the file locked: %v", o.name, err)
				}
			}
			if !bytes.Equal(before, readFile(t, st.Path)) {
				t.Error("a refused open changed the file")
			}
		})
	}
}

// TestDamagedPages corrupts each page of a valid database in turn: opening
// and reading it must give an error (or, for a page in no use, succeed),
// never panic or hang.
func TestDamagedPages(t *testing.T) {
	dir := t.TempDir()
	good := New(filepath.Join(dir, "good.db"))
	mustUpdate(t, good, func(tx *Tx) error {
		for i := range 200 {
			if err := tx.Put(agent(t, fmt.Sprintf("sa%d", i), "description", strings.Repeat("x", 100)), "", 0); err != nil {
				return err
			}
		}
		return tx.SetMeta("secret", []byte("hash"))
	})
	img := readFile(t, good.Path)
	damaged := 0
	for pg := 2; pg*pageSize < len(img); pg++ {
		for _, part := range []struct {
			name     string
			from, to int
		}{{"header", 0, 16}, {"body", 16, pageSize}} {
			c := bytes.Clone(img)
			for i := pg*pageSize + part.from; i < pg*pageSize+part.to; i++ {
				c[i] = 0xA5
			}
			for _, write := range []bool{false, true} {
				st := New(filepath.Join(dir, fmt.Sprintf("p%d-%s-%v.db", pg, part.name, write)))
				st.LockTimeout = 100 * time.Millisecond
				if err := os.WriteFile(st.Path, c, 0o600); err != nil {
					t.Fatal(err)
				}
				fn := st.View
				if write {
					fn = st.Update
				}
				err := func() (err error) {
					defer func() {
						if r := recover(); r != nil {
							err = fmt.Errorf("PANIC: %v", r)
						}
					}()
					return fn(func(tx *Tx) error {
						if _, err := tx.Editing(); err != nil {
							return err
						}
						tx.Meta("secret")
						if write {
							return tx.Put(agent(t, "new"), "", 0)
						}
						return nil
					})
				}()
				switch {
				case err == nil:
				case strings.HasPrefix(err.Error(), "PANIC"):
					t.Errorf("page %d %s (write %v): %v", pg, part.name, write, err)
				case errors.Is(err, ErrLocked):
					t.Errorf("page %d %s (write %v): %v", pg, part.name, write, err)
				case errors.Is(err, ErrDamaged):
					damaged++
					if !errors.Is(err, model.ErrCorrupt) || !strings.Contains(err.Error(), st.Path) {
						t.Errorf("page %d %s: %v does not match model.ErrCorrupt or name the file", pg, part.name, err)
					}
				}
			}
		}
	}
	if damaged == 0 {
		t.Error("no damage was detected: the test does not exercise bbolt's panics")
	}
}

// TestDamagedStaysDamaged checks that a file on which bbolt panicked while
// opening (and may still hold the lock) keeps being reported as damaged,
// not as locked, until it is replaced.
func TestDamagedStaysDamaged(t *testing.T) {
	st := tempStore(t)
	st.LockTimeout = 100 * time.Millisecond
	mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	good := readFile(t, st.Path)
	if err := os.WriteFile(st.Path, good[:2*pageSize+100], 0o600); err != nil {
		t.Fatal(err)
	}
	for i, fn := range []func(func(*Tx) error) error{st.Update, st.Update, st.View} {
		err := fn(func(*Tx) error { return nil })
		var de *damagedError
		if !errors.As(err, &de) || !de.panicked {
			t.Errorf("open %d of a truncated file: %v, want a panic in bbolt turned into ErrDamaged", i, err)
		}
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("open %d of a truncated file: %v, want ErrDamaged", i, err)
		}
	}
	// Restored from a backup (a new file renamed over it).
	tmp := st.Path + ".new"
	if err := os.WriteFile(tmp, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, st.Path); err != nil {
		t.Fatal(err)
	}
	if in := get(t, st, model.SessionAgent, "sa1"); in == nil {
		t.Error("sa1 missing from the restored file")
	}
}

func TestLocked(t *testing.T) {
	st := tempStore(t)
	mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	ss, err := st.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	other := New(st.Path)
	other.LockTimeout = 100 * time.Millisecond
	tests := []struct {
		name string
		fn   func() error
	}{
		{"Update", func() error { return other.Update(func(*Tx) error { return nil }) }},
		{"View", func() error { return other.View(func(*Tx) error { return nil }) }},
		{"OpenSession", func() error {
			s, err := other.OpenSession()
			if err == nil {
				s.Close()
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := tt.fn()
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("error %v, want ErrLocked", err)
			}
			if !strings.Contains(err.Error(), "configuration database is locked by another process") {
				t.Errorf("error %q", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v with a 100ms lock timeout", d)
			}
		})
	}
	if err := ss.Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Update(func(tx *Tx) error { return nil }); err != nil {
		t.Errorf("after Close: %v", err)
	}
}

func TestReadersShareTheFile(t *testing.T) {
	st := tempStore(t)
	mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	other := New(st.Path)
	other.LockTimeout = 100 * time.Millisecond
	err := st.View(func(*Tx) error {
		// A second reader gets in; a writer waits, then reports the lock.
		if in := get(t, other, model.SessionAgent, "sa1"); in == nil {
			t.Error("second reader did not see sa1")
		}
		if err := other.Update(func(*Tx) error { return nil }); !errors.Is(err, ErrLocked) {
			t.Errorf("writer during a read: %v, want ErrLocked", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestZeroLockTimeout checks that a Store built without New still gives up.
func TestZeroLockTimeout(t *testing.T) {
	st := tempStore(t)
	ss, err := st.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	done := make(chan error, 1)
	go func() { done <- (&Store{Path: st.Path}).View(func(*Tx) error { return nil }) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLocked) {
			t.Errorf("error %v, want ErrLocked", err)
		}
	case <-time.After(DefaultLockTimeout + 5*time.Second):
		t.Fatal("a zero LockTimeout waits forever")
	}
}

func TestPut(t *testing.T) {
	backends(t, func(t *testing.T, st *Store) {
		sa := model.SessionAgent

		// A new instance.
		in := agent(t, "sa1", "ip-address", "10.0.0.1")
		mustUpdate(t, st, func(tx *Tx) error { return tx.Put(in, "", 0) })
		if in.Rev == 0 {
			t.Fatal("Put left Rev 0")
		}
		got := get(t, st, sa, "sa1")
		if d := cmp.Diff(in, got, cfgOpts); d != "" {
			t.Errorf("stored instance differs (-put +got):\n%s", d)
		}

		// rev 0 on an existing key.
		err := st.Update(func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "session-agent [sa1] already exists; use select to edit it") {
			t.Errorf("new instance over an existing one: %v", err)
		}

		// Two shells select the same instance; the first done wins.
		a, b := get(t, st, sa, "sa1"), get(t, st, sa, "sa1")
		a.Set("port", []string{"5070"})
		b.Set("port", []string{"5080"})
		if a.Rev != in.Rev || b.Rev != in.Rev {
			t.Fatalf("selected revs %d and %d, want %d", a.Rev, b.Rev, in.Rev)
		}
		mustUpdate(t, st, func(tx *Tx) error { return tx.Put(a, "sa1", in.Rev) })
		err = st.Update(func(tx *Tx) error { return tx.Put(b, "sa1", in.Rev) })
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "session-agent [sa1] was changed by another session since you selected it; select it again") {
			t.Errorf("stale rev: %v", err)
		}
		if got := get(t, st, sa, "sa1"); got.Str("port") != "5070" || got.Rev != a.Rev {
			t.Errorf("after the conflict sa1 has port %s rev %d, want 5070 rev %d", got.Str("port"), got.Rev, a.Rev)
		}

		// Revisions increase.
		if a.Rev <= in.Rev {
			t.Errorf("rev went from %d to %d", in.Rev, a.Rev)
		}

		// Deleted and created again meanwhile: still a conflict (no ABA).
		mustUpdate(t, st, func(tx *Tx) error {
			if err := tx.Delete(sa, "sa1", 0); err != nil {
				return err
			}
			return tx.Put(agent(t, "sa1"), "", 0)
		})
		if err := st.Update(func(tx *Tx) error { return tx.Put(a, "sa1", a.Rev) }); !errors.Is(err, ErrConflict) {
			t.Errorf("re-created instance: %v, want ErrConflict", err)
		}
		// Deleted meanwhile.
		mustUpdate(t, st, func(tx *Tx) error { return tx.Delete(sa, "sa1", 0) })
		if err := st.Update(func(tx *Tx) error { return tx.Put(a, "sa1", a.Rev) }); !errors.Is(err, ErrConflict) {
			t.Errorf("deleted instance: %v, want ErrConflict", err)
		}
	})
}

func TestPutRename(t *testing.T) {
	backends(t, func(t *testing.T, st *Store) {
		sa := model.SessionAgent
		mustUpdate(t, st, func(tx *Tx) error {
			for _, h := range []string{"sa1", "sa2"} {
				if err := tx.Put(agent(t, h), "", 0); err != nil {
					return err
				}
			}
			return nil
		})
		before := editing(t, st)

		// Renaming onto another instance is refused and changes nothing.
		in := get(t, st, sa, "sa1")
		in.Set("hostname", []string{"sa2"})
		err := st.Update(func(tx *Tx) error { return tx.Put(in, "sa1", in.Rev) })
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "session-agent [sa2] already exists; cannot rename [sa1] to it") {
			t.Errorf("rename onto sa2: %v", err)
		}
		if d := cmp.Diff(before, editing(t, st), cfgOpts); d != "" {
			t.Errorf("refused rename changed the configuration:\n%s", d)
		}

		// A rename moves the record.
		in = get(t, st, sa, "sa1")
		in.Set("hostname", []string{"sa9"})
		mustUpdate(t, st, func(tx *Tx) error { return tx.Put(in, "sa1", in.Rev) })
		if get(t, st, sa, "sa1") != nil {
			t.Error("sa1 still exists after the rename")
		}
		if got := get(t, st, sa, "sa9"); got == nil || got.Rev != in.Rev {
			t.Errorf("sa9 after the rename: %+v", got)
		}
		if n := editing(t, st).Len("session-agent"); n != 2 {
			t.Errorf("%d session-agents after the rename, want 2", n)
		}
	})
}

// TestPutFailsCleanly checks that a Put or Delete that fails changes
// nothing, even inside a transaction that is committed afterwards (a script
// with --continue-on-error).
func TestPutFailsCleanly(t *testing.T) {
	backends(t, func(t *testing.T, st *Store) {
		sa := model.SessionAgent
		mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
		before := editing(t, st)
		cur := get(t, st, sa, "sa1")
		tests := []struct {
			name string
			fn   func(tx *Tx) error
		}{
			{"invalid value", func(tx *Tx) error {
				in := cur.Clone()
				in.Values["port"] = []string{"80"}
				return tx.Put(in, "sa1", cur.Rev)
			}},
			{"unknown parameter", func(tx *Tx) error {
				in := cur.Clone()
				in.Values["colour"] = []string{"red"}
				return tx.Put(in, "sa1", cur.Rev)
			}},
			{"rename that cannot be encoded", func(tx *Tx) error {
				in := cur.Clone()
				in.Set("hostname", []string{"sa2"})
				in.ModifiedAt = time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)
				return tx.Put(in, "sa1", cur.Rev)
			}},
			{"new instance that cannot be encoded", func(tx *Tx) error {
				in := agent(t, "sa3")
				in.ModifiedAt = time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)
				return tx.Put(in, "", 0)
			}},
			{"delete stale", func(tx *Tx) error { return tx.Delete(sa, "sa1", cur.Rev+100) }},
			{"delete missing", func(tx *Tx) error { return tx.Delete(sa, "nope", 0) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rev := cur.Rev
				var putErr error
				mustUpdate(t, st, func(tx *Tx) error { putErr = tt.fn(tx); return nil })
				if putErr == nil {
					t.Fatal("no error")
				}
				if d := cmp.Diff(before, editing(t, st), cfgOpts); d != "" {
					t.Errorf("failed call changed the configuration:\n%s", d)
				}
				if cur.Rev != rev {
					t.Errorf("Rev changed to %d", cur.Rev)
				}
			})
		}
	})
}

func TestDelete(t *testing.T) {
	backends(t, func(t *testing.T, st *Store) {
		sa := model.SessionAgent
		in := agent(t, "sa1")
		mustUpdate(t, st, func(tx *Tx) error { return tx.Put(in, "", 0) })
		stale := in.Rev
		in.Set("port", []string{"5070"})
		mustUpdate(t, st, func(tx *Tx) error { return tx.Put(in, "sa1", in.Rev) })

		err := st.Update(func(tx *Tx) error { return tx.Delete(sa, "sa1", stale) })
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "session-agent [sa1] was changed by another session") {
			t.Errorf("stale delete: %v", err)
		}
		err = st.Update(func(tx *Tx) error { return tx.Delete(sa, "sa2", 0) })
		if !errors.Is(err, ErrNotFound) || err.Error() != "session-agent [sa2] does not exist" {
			t.Errorf("missing delete: %v", err)
		}
		err = st.Update(func(tx *Tx) error { return tx.Delete(model.RealmConfig, "r1", 0) })
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("delete from an element never stored: %v", err)
		}
		mustUpdate(t, st, func(tx *Tx) error { return tx.Delete(sa, "sa1", in.Rev) })
		if get(t, st, sa, "sa1") != nil {
			t.Error("sa1 not deleted")
		}
	})
}

func TestListAndEditing(t *testing.T) {
	backends(t, func(t *testing.T, st *Store) {
		mustUpdate(t, st, func(tx *Tx) error {
			for _, h := range []string{"sa10", "sa2", "10.0.0.10", "9.0.0.1"} {
				if err := tx.Put(agent(t, h), "", 0); err != nil {
					return err
				}
			}
			np := model.NewInstance(model.NetworkParameters)
			np.Set("sctp-sack-timeout", []string{"0"})
			if err := tx.Put(np, "", 0); err != nil {
				return err
			}
			for _, sub := range []string{"10", "2"} {
				ni := model.NewInstance(model.NetworkInterface)
				ni.Set("name", []string{"m1"})
				ni.Set("sub-port-id", []string{sub})
				if err := tx.Put(ni, "", 0); err != nil {
					return err
				}
			}
			return nil
		})
		err := st.View(func(tx *Tx) error {
			tests := []struct {
				e    *model.Element
				want []string
			}{
				{model.SessionAgent, []string{"9.0.0.1", "10.0.0.10", "sa10", "sa2"}},
				{model.NetworkInterface, []string{"m1:2", "m1:10"}},
				{model.NetworkParameters, []string{""}},
				{model.RealmConfig, nil},
			}
			for _, tt := range tests {
				ins, err := tx.List(tt.e)
				if err != nil {
					return err
				}
				var keys []string
				for _, in := range ins {
					keys = append(keys, in.Key())
				}
				if !cmp.Equal(keys, tt.want) {
					t.Errorf("List(%s) keys %q, want %q", tt.e.Name, keys, tt.want)
				}
			}
			c, err := tx.Editing()
			if err != nil {
				return err
			}
			if c.Count() != 7 || c.NetworkParameters().Int("sctp-sack-timeout") != 0 {
				t.Errorf("Editing: %d instances, sack timeout %d", c.Count(), c.NetworkParameters().Int("sctp-sack-timeout"))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestSubInstancesStored(t *testing.T) {
	backends(t, func(t *testing.T, st *Store) {
		si := model.NewInstance(model.SipInterface)
		si.Set("realm-id", []string{"core"})
		for _, addr := range []string{"192.168.10.1", "2001:db8::1"} {
			sp := model.NewInstance(model.SipPort)
			sp.Set("address", []string{addr})
			sp.Set("transport-protocol", []string{"SCTP"})
			si.Subs = append(si.Subs, sp)
		}
		mustUpdate(t, st, func(tx *Tx) error { return tx.Put(si, "", 0) })
		got := get(t, st, model.SipInterface, "core")
		if d := cmp.Diff(si, got, cfgOpts); d != "" {
			t.Errorf("sip-interface with sip-ports (-put +got):\n%s", d)
		}
		// A duplicate sip-port is refused before anything is written.
		dup := got.Clone()
		dup.Subs = append(dup.Subs, dup.Subs[0].Clone())
		if err := st.Update(func(tx *Tx) error { return tx.Put(dup, "core", got.Rev) }); err == nil || !strings.Contains(err.Error(), "appears twice") {
			t.Errorf("duplicate sip-port: %v", err)
		}
	})
}

func TestCorruptRecord(t *testing.T) {
	sa := model.SessionAgent
	tests := []struct {
		name   string
		key    string
		value  []byte // nil: a nested bucket
		substr string
	}{
		{"garbage", "=sa1", []byte("\x00\x01garbage"), "session-agent [sa1]: corrupt configuration record"},
		{"truncated", "=sa1", []byte(`{"v":1,"values":{"hostname":["sa1"]`), "unexpected EOF"},
		{"unknown parameter", "=sa1", []byte(`{"v":1,"values":{"hostname":["sa1"],"colour":["red"]}}`), `no parameter "colour"`},
		{"out of range", "=sa1", []byte(`{"v":1,"values":{"hostname":["sa1"],"port":["80"]}}`), `Invalid value "80" for port`},
		{"future record", "=sa1", []byte(`{"v":2,"values":{"hostname":["sa1"]}}`), "record version 2"},
		{"stored under another key", "=sa1", []byte(`{"v":1,"values":{"hostname":["sa2"]}}`), "the record's key is [sa2]"},
		{"key without prefix", "sa1", []byte(`{"v":1,"values":{"hostname":["sa1"]}}`), `unexpected entry "sa1"`},
		{"nested bucket", "=sa1", nil, `unexpected entry "=sa1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tempStore(t)
			mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa0"), "", 0) })
			raw(t, st.Path, func(tx *bolt.Tx) error {
				b := tx.Bucket(bRoot).Bucket(bEditing).Bucket([]byte(sa.Name))
				if tt.value == nil {
					_, err := b.CreateBucket([]byte(tt.key))
					return err
				}
				return b.Put([]byte(tt.key), tt.value)
			})
			calls := []struct {
				name string
				fn   func(tx *Tx) error
			}{
				{"List", func(tx *Tx) error { _, err := tx.List(sa); return err }},
				{"Editing", func(tx *Tx) error { _, err := tx.Editing(); return err }},
			}
			if tt.key == "=sa1" && tt.value != nil {
				calls = append(calls,
					struct {
						name string
						fn   func(tx *Tx) error
					}{"Get", func(tx *Tx) error { _, err := tx.Get(sa, "sa1"); return err }},
					struct {
						name string
						fn   func(tx *Tx) error
					}{"Delete at a revision", func(tx *Tx) error { return tx.Delete(sa, "sa1", 1) }},
					struct {
						name string
						fn   func(tx *Tx) error
					}{"Put over it", func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "sa1", 1) }},
				)
			}
			for _, c := range calls {
				for _, write := range []bool{false, true} {
					fn := st.View
					if write {
						fn = st.Update
					}
					err := fn(c.fn)
					if !errors.Is(err, model.ErrCorrupt) {
						t.Errorf("%s (write %v): error %v does not wrap model.ErrCorrupt", c.name, write, err)
					} else if !strings.Contains(err.Error(), tt.substr) {
						t.Errorf("%s: error %q, want it to contain %q", c.name, err, tt.substr)
					}
				}
			}
			// The other records stay readable.
			if in := get(t, st, sa, "sa0"); in == nil {
				t.Error("sa0 unreadable")
			}
			// Deleting without a revision removes the corrupt record.
			if tt.key == "=sa1" && tt.value != nil {
				mustUpdate(t, st, func(tx *Tx) error { return tx.Delete(sa, "sa1", 0) })
				if c := editing(t, st); c.Len(sa.Name) != 1 {
					t.Errorf("after deleting the corrupt record: %d session-agents", c.Len(sa.Name))
				}
			}
		})
	}
}

func TestSessionRollback(t *testing.T) {
	st := tempStore(t)
	sa := model.SessionAgent
	mustUpdate(t, st, func(tx *Tx) error {
		if err := tx.SetMeta("secret", []byte("h1")); err != nil {
			return err
		}
		for _, h := range []string{"sa1", "sa2"} {
			if err := tx.Put(agent(t, h), "", 0); err != nil {
				return err
			}
		}
		return nil
	})
	before := editing(t, st)

	ss, err := st.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	image := readFile(t, st.Path)
	tx, err := ss.Begin()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := tx.Get(sa, "sa1")
	if err != nil {
		t.Fatal(err)
	}
	cur.Set("port", []string{"5070"})
	steps := []error{
		tx.Put(cur, "sa1", cur.Rev),
		tx.Put(agent(t, "sa3"), "", 0),
		tx.Delete(sa, "sa2", 0),
		tx.SetMeta("secret", []byte("h2")),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if c, err := tx.Editing(); err != nil || c.Len("session-agent") != 2 || c.Get("session-agent", "sa3") == nil {
		t.Fatalf("inside the transaction: %v, %v", c, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(image, readFile(t, st.Path)) {
		t.Error("a rolled-back transaction changed the file")
	}
	// The session goes on: a committed transaction.
	tx, err = ss.Begin()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tx.Editing()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, c, cfgOpts); d != "" {
		t.Errorf("after rollback (-before +after):\n%s", d)
	}
	if got := string(tx.Meta("secret")); got != "h1" {
		t.Errorf("meta after rollback %q", got)
	}
	if err := tx.Put(agent(t, "sa4"), "", 0); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	ss.Close()
	if get(t, st, sa, "sa4") == nil {
		t.Error("committed sa4 missing")
	}
}

// TestUpdateError checks that an error from fn rolls the transaction back.
func TestUpdateError(t *testing.T) {
	st := tempStore(t)
	mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	image := readFile(t, st.Path)
	boom := errors.New("boom")
	err := st.Update(func(tx *Tx) error {
		if err := tx.Put(agent(t, "sa2"), "", 0); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	if !bytes.Equal(image, readFile(t, st.Path)) {
		t.Error("a failed Update changed the file")
	}
}

// TestCallerPanic checks that a panic in the caller's function is not
// swallowed, commits nothing and leaves the file usable.
func TestCallerPanic(t *testing.T) {
	st := tempStore(t)
	mustUpdate(t, st, func(tx *Tx) error { return nil })
	for _, write := range []bool{false, true} {
		fn := st.View
		if write {
			fn = st.Update
		}
		got := func() (r any) {
			defer func() { r = recover() }()
			fn(func(tx *Tx) error {
				if write {
					tx.Put(agent(t, "sa1"), "", 0)
				}
				panic("caller bug")
			})
			return nil
		}()
		if got != "caller bug" {
			t.Errorf("write %v: recovered %v, want the caller's panic", write, got)
		}
	}
	st.LockTimeout = 100 * time.Millisecond
	if get(t, st, model.SessionAgent, "sa1") != nil {
		t.Error("a panicking Update committed")
	}
}

// TestOpenDoesNotWrite checks that opening an up-to-date file writes nothing
// (one fsync per transaction, not two).
func TestOpenDoesNotWrite(t *testing.T) {
	st := tempStore(t)
	mustUpdate(t, st, func(tx *Tx) error { return tx.Put(agent(t, "sa1"), "", 0) })
	image := readFile(t, st.Path)
	ss, err := st.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	ss.Close()
	if err := st.View(func(*Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(image, readFile(t, st.Path)) {
		t.Error("opening the file wrote to it")
	}
}

func TestMeta(t *testing.T) {
	backends(t, func(t *testing.T, st *Store) {
		var kept []byte
		mustUpdate(t, st, func(tx *Tx) error {
			if tx.Meta("secret") != nil {
				t.Error("Meta of a missing key is not nil")
			}
			if err := tx.SetMeta("secret", []byte("h1")); err != nil {
				return err
			}
			if err := tx.SetMeta("secret", []byte("h2")); err != nil {
				return err
			}
			if err := tx.SetMeta("empty", []byte{}); err != nil {
				return err
			}
			kept = tx.Meta("secret")
			return nil
		})
		if string(kept) != "h2" {
			t.Errorf("Meta returned %q after the transaction, want h2", kept)
		}
		err := st.View(func(tx *Tx) error {
			if got := tx.Meta("secret"); string(got) != "h2" {
				t.Errorf("Meta = %q", got)
			}
			if got := tx.Meta("empty"); got == nil || len(got) != 0 {
				t.Errorf("empty value read back as %#v, want a non-nil empty slice", got)
			}
			if tx.Meta("") != nil {
				t.Error("Meta of the empty key")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		mustUpdate(t, st, func(tx *Tx) error { return tx.SetMeta("secret", nil) })
		st.View(func(tx *Tx) error {
			if got := tx.Meta("secret"); got != nil {
				t.Errorf("SetMeta(nil) did not delete: %q", got)
			}
			return nil
		})
		if err := st.Update(func(tx *Tx) error { return tx.SetMeta("", []byte("x")) }); err == nil {
			t.Error("SetMeta with an empty key succeeded")
		}
	})
}
