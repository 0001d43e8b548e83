// Package store keeps acli configurations in a bbolt file: the editing
// configuration (what done writes), saved versions and the running one.
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
)

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

// SchemaVersion is the layout version this acli writes.
func SchemaVersion() int { return len(migrations) }

// Store is an acli configuration database file.
type Store struct {
	Path        string
	Schema      *model.Schema
	LockTimeout time.Duration
}

// New returns a store for the file at path; nothing is opened yet.
func New(path string) *Store {
	return &Store{Path: path, Schema: model.Default, LockTimeout: 2 * time.Second}
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

func (s *Store) open(readOnly bool) (*bolt.DB, error) {
	if !readOnly {
		if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	} else if _, err := os.Stat(s.Path); errors.Is(err, os.ErrNotExist) {
		// A read of a database that does not exist yet creates it, so that
		// reads and writes see the same (empty) configuration.
		return s.open(false)
	}
	db, err := bolt.Open(s.Path, 0o600, &bolt.Options{Timeout: s.LockTimeout, ReadOnly: readOnly})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%s: %w", s.Path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("%s: %w: %v", s.Path, ErrForeign, err)
	case err != nil:
		return nil, fmt.Errorf("open configuration database %s: %w", s.Path, err)
	}
	if readOnly {
		laidOut := false
		err := db.View(func(tx *bolt.Tx) error {
			laidOut = tx.Bucket(bRoot) != nil
			return checkLayout(tx, s.Path)
		})
		if err != nil || laidOut {
			if err != nil {
				db.Close()
				return nil, err
			}
			return db, nil
		}
		db.Close() // an empty bbolt file: lay it out first
		return s.open(false)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return migrate(tx, s.Path) }); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// checkLayout verifies that the file is an acli database of a version this
// acli reads.
func checkLayout(tx *bolt.Tx, path string) error {
	root := tx.Bucket(bRoot)
	if root == nil {
		empty := true
		tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if empty {
			return nil // migrate creates it
		}
		return fmt.Errorf("%s: %w (it holds no acli bucket)", path, ErrForeign)
	}
	v, err := strconv.Atoi(string(root.Get(kSchema)))
	if err != nil {
		return fmt.Errorf("%s: %w (bad schema version %q)", path, ErrForeign, root.Get(kSchema))
	}
	if v > SchemaVersion() {
		return fmt.Errorf("%s: database schema version %d is newer than this acli reads (%d)", path, v, SchemaVersion())
	}
	return nil
}

func migrate(tx *bolt.Tx, path string) error {
	if err := checkLayout(tx, path); err != nil {
		return err
	}
	root, err := tx.CreateBucketIfNotExists(bRoot)
	if err != nil {
		return err
	}
	v := 0
	if b := root.Get(kSchema); b != nil {
		v, _ = strconv.Atoi(string(b))
	}
	for ; v < len(migrations); v++ {
		if err := migrations[v](root); err != nil {
			return fmt.Errorf("migrate database from version %d to %d: %w", v, v+1, err)
		}
		if err := root.Put(kSchema, []byte(strconv.Itoa(v+1))); err != nil {
			return err
		}
	}
	return nil
}

// Update runs fn in one read-write transaction on a briefly opened file.
func (s *Store) Update(fn func(*Tx) error) error {
	db, err := s.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, schema: s.Schema}) })
}

// View runs fn in one read-only transaction on a briefly opened file.
func (s *Store) View(fn func(*Tx) error) error {
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx, schema: s.Schema}) })
}

// Session holds the file open for a series of transactions (a script, the
// daemon's apply). Close it promptly: it holds the file lock.
type Session struct {
	db     *bolt.DB
	schema *model.Schema
}

// OpenSession opens the file for read-write transactions until Close.
func (s *Store) OpenSession() (*Session, error) {
	db, err := s.open(false)
	if err != nil {
		return nil, err
	}
	return &Session{db: db, schema: s.Schema}, nil
}

// Begin starts a read-write transaction; the caller commits or rolls back.
func (ss *Session) Begin() (*Tx, error) {
	tx, err := ss.db.Begin(true)
	if err != nil {
		return nil, err
	}
	return &Tx{tx: tx, schema: ss.schema}, nil
}

// Close releases the file.
func (ss *Session) Close() error { return ss.db.Close() }
