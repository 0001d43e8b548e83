// Package store keeps acli configurations in a bbolt file, or under a key
// prefix of an etcd cluster (etcd.go): the editing configuration (what done
// writes), saved versions and the running one. The rules (Tx) are written
// once, against a small ordered key-value interface (kv.go) that both
// backends implement.
//
// The file is opened only for the duration of one transaction, so several
// shells, scripts and the runtime daemon can share it; a file locked longer
// than the lock timeout is reported as ErrLocked instead of hanging.
//
// Layout (root bucket "acli"):
//
//	schema-version        decimal text
//	meta/                 key → value (enable secret hash, version pointers)
//	editing/<element>/    instance key → encoded instance
//	versions/<n>/         "info" → JSON VersionInfo; <element>/ as editing
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acli-project/acli/model"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors callers branch on.
var (
	ErrLocked   = errors.New("configuration database is locked by another process")
	ErrForeign  = errors.New("not an acli configuration database")
	ErrConflict = errors.New("changed by another session")
	ErrExists   = errors.New("already exists")
	ErrNotFound = errors.New("does not exist")
	// ErrDamaged is wrapped when the file's pages are inconsistent (bbolt
	// panicked reading them); such errors also match model.ErrCorrupt.
	ErrDamaged = errors.New("configuration database is damaged")
	// ErrNewer is wrapped when the file was laid out by a newer acli.
	ErrNewer = errors.New("configuration database is newer than this acli")
)

// damagedError reports a file bbolt could not read consistently.
type damagedError struct {
	path  string
	cause any
	// panicked: bbolt panicked outside a Tx method; its locks may still be
	// held, so the DB must not be closed (Close could wait forever).
	panicked bool
}

// damagedFiles remembers, by path, the files on which bbolt panicked while
// opening or beginning a transaction: it may keep their lock (through its
// memory map) until the process ends, and a later open of the same file
// should say why rather than report it locked.
var damagedFiles sync.Map // path → damagedFile

type damagedFile struct {
	err *damagedError
	fi  os.FileInfo // the file then; nil if unknown
}

func panicked(path string, cause any) *damagedError {
	e := &damagedError{path: path, cause: cause, panicked: true}
	fi, _ := os.Stat(path)
	damagedFiles.Store(path, damagedFile{err: e, fi: fi})
	return e
}

// knownDamaged returns the error of an earlier panic on the file now at
// path, or nil; a file replaced since (a restored backup) is forgotten.
func knownDamaged(path string) error {
	v, ok := damagedFiles.Load(path)
	if !ok {
		return nil
	}
	d := v.(damagedFile)
	if fi, err := os.Stat(path); err == nil && d.fi != nil && !os.SameFile(fi, d.fi) {
		damagedFiles.Delete(path)
		return nil
	}
	return d.err
}

// closeUnlessPanicked closes db unless err says bbolt panicked in it.
func closeUnlessPanicked(db *bolt.DB, err error) {
	var de *damagedError
	if errors.As(err, &de) && de.panicked {
		return
	}
	db.Close()
}

func (e *damagedError) Error() string {
	return fmt.Sprintf("%s: %v (%v); restore it from a backup", e.path, ErrDamaged, e.cause)
}

// Is matches ErrDamaged and model.ErrCorrupt.
func (e *damagedError) Is(target error) bool {
	return target == ErrDamaged || target == model.ErrCorrupt
}

var (
	bRoot     = []byte("acli")
	bMeta     = []byte("meta")
	bEditing  = []byte("editing")
	bVersions = []byte("versions")
	kSchema   = []byte("schema-version")
)

// migrations[i] moves the layout from schema version i to i+1, in order.
var migrations = []func(root *bolt.Bucket) error{
	// 0 → 1: the initial layout.
	func(root *bolt.Bucket) error {
		for _, b := range [][]byte{bMeta, bEditing, bVersions} {
			if _, err := root.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
}

// layout is what the current schema version holds under the root bucket.
var layout = [][]byte{bMeta, bEditing, bVersions}

// SchemaVersion is the layout version this acli writes.
func SchemaVersion() int { return len(migrations) }

// DefaultLockTimeout is how long an open waits for another process's lock
// when Store.LockTimeout is zero.
const DefaultLockTimeout = 2 * time.Second

// Store is an acli configuration database file, or a configuration on
// etcd (NewEtcd).
type Store struct {
	// Path is the database file; on etcd, where files about the
	// configuration are named from (Path+".sock": a runtime's control
	// socket), "" when none.
	Path   string
	Schema *model.Schema // nil: model.Default
	// LockTimeout bounds the wait for another process's lock; zero means
	// DefaultLockTimeout (bbolt itself would wait forever).
	LockTimeout time.Duration

	etcd *etcdBackend // set by NewEtcd: the configuration is on etcd, not at Path
}

// New returns a store for the file at path; nothing is opened yet.
func New(path string) *Store {
	return &Store{Path: path, Schema: model.Default, LockTimeout: DefaultLockTimeout}
}

// DefaultPath is the embedded default database: $XDG_STATE_HOME/acli/acli.db,
// else ~/.local/state/acli/acli.db.
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find a state directory (set XDG_STATE_HOME or use --db): %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "acli", "acli.db"), nil
}

func (s *Store) schema() *model.Schema {
	if s.Schema == nil {
		return model.Default
	}
	return s.Schema
}

func (s *Store) newTx(tx *bolt.Tx) *Tx {
	return &Tx{kv: boltKV{tx}, btx: tx, schema: s.schema(), path: s.Path}
}

// open opens the file, laid out at SchemaVersion. A read-only open of a file
// that does not exist, is empty or needs migrating opens read-write instead,
// so that reads and writes see the same (possibly empty) configuration.
func (s *Store) open(readOnly bool) (*bolt.DB, error) {
	if readOnly {
		if fi, err := os.Stat(s.Path); errors.Is(err, os.ErrNotExist) || err == nil && fi.Size() == 0 {
			readOnly = false
		}
	}
	if !readOnly {
		if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	db, err := s.boltOpen(readOnly)
	if err != nil {
		return nil, err
	}
	var v int
	if err := s.run(db, false, func(tx *bolt.Tx) (err error) { v, err = layoutVersion(tx, s.Path); return err }); err != nil {
		closeUnlessPanicked(db, err)
		return nil, err
	}
	if v < SchemaVersion() {
		if readOnly {
			db.Close()
			return s.open(false)
		}
		if err := s.run(db, true, func(tx *bolt.Tx) error { return migrate(tx, s.Path) }); err != nil {
			closeUnlessPanicked(db, err)
			return nil, err
		}
	}
	return db, nil
}

// boltOpen opens the file with bbolt, mapping its errors and panics.
func (s *Store) boltOpen(readOnly bool) (db *bolt.DB, err error) {
	timeout := s.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	if err := knownDamaged(s.Path); err != nil {
		return nil, err
	}
	var f *os.File
	defer func() {
		if r := recover(); r != nil {
			// bbolt panics on some damaged files. Closing the file does not
			// release its lock while bbolt's memory map holds it.
			if f != nil {
				f.Close()
			}
			db, err = nil, panicked(s.Path, r)
		}
	}()
	db, err = bolt.Open(s.Path, 0o600, &bolt.Options{
		Timeout: timeout, ReadOnly: readOnly,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			var err error
			f, err = os.OpenFile(name, flag, perm)
			return f, err
		},
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%s: %w", s.Path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("%s: %w: %v", s.Path, ErrForeign, err)
	case err != nil && strings.Contains(err.Error(), "file size too small"):
		// bbolt's text for a short file that is not a database.
		return nil, fmt.Errorf("%s: %w: %v", s.Path, ErrForeign, err)
	case err != nil:
		return nil, fmt.Errorf("open configuration database %s: %w", s.Path, err)
	}
	return db, nil
}

// run runs one of the store's own functions in a bbolt transaction,
// turning bbolt's panics on a damaged file into errors.
func (s *Store) run(db *bolt.DB, writable bool, fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked(s.Path, r)
		}
	}()
	if writable {
		return db.Update(fn)
	}
	return db.View(fn)
}

// checkLayout verifies that the file is an acli database of a version this
// acli reads.
func checkLayout(tx *bolt.Tx, path string) error {
	_, err := layoutVersion(tx, path)
	return err
}

// layoutVersion verifies that the file is an acli database of a version
// this acli reads and returns its schema version: 0 for an empty bbolt file.
func layoutVersion(tx *bolt.Tx, path string) (int, error) {
	root := tx.Bucket(bRoot)
	if root == nil {
		empty := true
		tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if empty {
			return 0, nil // migrate creates it
		}
		return 0, fmt.Errorf("%s: %w (it holds no acli bucket)", path, ErrForeign)
	}
	raw := root.Get(kSchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 0 || strconv.Itoa(v) != string(raw) {
		return 0, fmt.Errorf("%s: %w (bad schema version %q)", path, ErrForeign, raw)
	}
	if v > SchemaVersion() {
		return 0, fmt.Errorf("%s: %w: database schema version %d is newer than this acli reads (%d)", path, ErrNewer, v, SchemaVersion())
	}
	if v == SchemaVersion() {
		for _, b := range layout {
			if root.Bucket(b) == nil {
				return 0, &damagedError{path: path, cause: fmt.Sprintf("schema version %d without its %q bucket", v, b)}
			}
		}
	}
	return v, nil
}

func migrate(tx *bolt.Tx, path string) error {
	v, err := layoutVersion(tx, path)
	if err != nil {
		return err
	}
	root, err := tx.CreateBucketIfNotExists(bRoot)
	if err != nil {
		return err
	}
	for ; v < len(migrations); v++ {
		if err := migrations[v](root); err != nil {
			return fmt.Errorf("%s: migrate database from version %d to %d: %w", path, v, v+1, err)
		}
		if err := root.Put(kSchema, []byte(strconv.Itoa(v+1))); err != nil {
			return err
		}
	}
	return checkLayout(tx, path)
}

// Update runs fn in one read-write transaction on a briefly opened file.
// An error fn returns, or any error a Tx method reported, rolls it back.
// On etcd, fn runs again when another session committed while it ran (see
// etcdBackend.run): it should only use the Tx and set its results.
func (s *Store) Update(fn func(*Tx) error) error {
	if s.etcd != nil {
		return s.etcd.run(s, true, fn)
	}
	db, err := s.open(false)
	if err != nil {
		return err
	}
	err = s.runUser(db, true, fn)
	closeUnlessPanicked(db, err)
	return err
}

// View runs fn in one read-only transaction on a briefly opened file.
func (s *Store) View(fn func(*Tx) error) error {
	if s.etcd != nil {
		return s.etcd.run(s, false, fn)
	}
	db, err := s.open(true)
	if err != nil {
		return err
	}
	err = s.runUser(db, false, fn)
	closeUnlessPanicked(db, err)
	return err
}

// runUser runs a caller's function in a transaction. bbolt's panics in Tx
// methods become errors there; one while committing becomes the returned
// error; a panic raised by fn itself is passed on.
func (s *Store) runUser(db *bolt.DB, writable bool, fn func(*Tx) error) (err error) {
	inUser := false
	defer func() {
		if r := recover(); r != nil {
			if inUser {
				db.Close() // bbolt's deferred rollback has run
				panic(r)
			}
			err = panicked(s.Path, r)
		}
	}()
	f := func(btx *bolt.Tx) error {
		t := s.newTx(btx)
		inUser = true
		err := fn(t)
		inUser = false
		if err == nil {
			err = t.err
		}
		return err
	}
	if writable {
		return db.Update(f)
	}
	return db.View(f)
}

// Session holds the file open for a series of transactions (a script, the
// daemon's apply). Close it promptly: it holds the file lock. On etcd it
// holds nothing.
type Session struct {
	db  *bolt.DB // nil on etcd
	st  *Store
	bad bool // bbolt panicked in Begin or Commit: do not Close
}

// OpenSession opens the file for read-write transactions until Close.
func (s *Store) OpenSession() (*Session, error) {
	if s.etcd != nil {
		return &Session{st: s}, nil
	}
	db, err := s.open(false)
	if err != nil {
		return nil, err
	}
	return &Session{db: db, st: s}, nil
}

// Begin starts a read-write transaction; the caller commits or rolls back.
func (ss *Session) Begin() (t *Tx, err error) {
	if ss.bad {
		return nil, panicked(ss.st.Path, "an earlier transaction failed")
	}
	if e := ss.st.etcd; e != nil {
		k, err := e.begin(true)
		if err != nil {
			return nil, err
		}
		t = &Tx{kv: k, schema: ss.st.schema(), path: e.where(), session: ss}
		return t, t.kvLayout()
	}
	defer func() {
		if r := recover(); r != nil {
			ss.bad = true
			t, err = nil, panicked(ss.st.Path, r)
		}
	}()
	tx, err := ss.db.Begin(true)
	if err != nil {
		return nil, err
	}
	t = ss.st.newTx(tx)
	t.session = ss
	return t, nil
}

// Close releases the file.
func (ss *Session) Close() error {
	if ss.bad || ss.db == nil {
		return nil
	}
	return ss.db.Close()
}

// migrate brings a database restored in this transaction to SchemaVersion.
func (t *Tx) migrate() error {
	if t.btx != nil {
		return migrate(t.btx, t.path)
	}
	return t.kvLayout()
}

// kvLayout checks the schema version of a database on a kv other than
// bbolt, which has only ever been laid out at SchemaVersion. Its read
// failing (etcd lost after the transaction began) is its error.
func (t *Tx) kvLayout() (err error) {
	defer t.guard(&err)
	raw := t.kv.get(nil, kSchema)
	if v, err := strconv.Atoi(string(raw)); err != nil || v != SchemaVersion() {
		if err == nil && v > SchemaVersion() {
			return fmt.Errorf("%s: %w: database schema version %d is newer than this acli reads (%d)", t.path, ErrNewer, v, SchemaVersion())
		}
		return fmt.Errorf("%s: %w (bad schema version %q)", t.path, ErrForeign, raw)
	}
	return nil
}
