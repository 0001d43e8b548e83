package store

// Backups (backup-config): whole-database copies in the backups directory
// beside the database, each with a SHA-256 checksum file; restore validates
// a backup completely before it replaces the database in one transaction.

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
	bolt "go.etcd.io/bbolt"
)

// BackupInfo describes a backup file (backup-config).
type BackupInfo struct {
	Name    string    `json:"name"`
	User    string    `json:"user"`
	Time    time.Time `json:"time"`
	Saved   int       `json:"saved"`   // saved version at backup time
	Running int       `json:"running"` // running version at backup time
	// Size in bytes and Err (why the file is not a valid backup) are filled
	// in by ListBackups.
	Size int64 `json:"-"`
	Err  error `json:"-"`
}

// BackupDir is the directory of backups: "backups" beside the database,
// or Etcd.BackupDir for a configuration on etcd.
func (s *Store) BackupDir() string {
	if s.etcd != nil {
		return s.etcd.cfg.BackupDir
	}
	return filepath.Join(filepath.Dir(s.Path), "backups")
}

// BackupPath returns the file of the named backup, NAME.db in BackupDir.
// Names are 1-64 letters, digits, '.', '_' and '-', not starting with '.'.
func (s *Store) BackupPath(name string) (string, error) {
	if err := checkBackupName(name); err != nil {
		return "", err
	}
	if s.BackupDir() == "" {
		return "", fmt.Errorf("backups of %s need a backup directory, and none is set", s.Location())
	}
	return filepath.Join(s.BackupDir(), name+".db"), nil
}

func checkBackupName(name string) error {
	ok := name != "" && len(name) <= 64 && name[0] != '.'
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			ok = false
		}
	}
	if !ok {
		return &model.ValueError{Param: "backup name", Value: name, Allowed: "1-64 letters, digits, '.', '_' and '-', not starting with '.'"}
	}
	return nil
}

// WriteBackup writes a consistent copy of the database, as this transaction
// sees it, to the backup file info.Name (mode 0600), recording info in it.
// An existing backup of that name is an error wrapping ErrExists. A
// read-only transaction is copied with bbolt's Tx.WriteTo; a read-write one
// (a script that may have changed things) bucket by bucket, since WriteTo
// copies only committed pages.
func (t *Tx) WriteBackup(st *Store, info BackupInfo) (err error) {
	defer recoverDamage(&err)
	path, err := st.BackupPath(info.Name)
	if err != nil {
		return err
	}
	b, err := t.lcKV()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup %q %w (delete-backup-config %s first, or choose another name)", info.Name, ErrExists, info.Name)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the backup directory: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+info.Name+".*.tmp") // 0600
	if err != nil {
		return fmt.Errorf("create the backup: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	// Pages can be copied from a read-only bbolt transaction only.
	pages := t.btx != nil && !t.kv.writable()
	if pages {
		if _, err := t.btx.WriteTo(f); err != nil {
			f.Close()
			return fmt.Errorf("write the backup: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the backup: %w", err)
	}
	info.Saved, info.Running = metaInt(b, metaSaved), metaInt(b, metaRunning)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("write the backup: %w", err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		if !pages {
			if err := copyRoot(boltKV{btx}, b); err != nil {
				return err
			}
		}
		raw, err := json.Marshal(info)
		if err != nil {
			return err
		}
		return btx.Bucket(bRoot).Bucket(bMeta).Put([]byte(metaBackup), raw)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the backup: %w", err)
	}
	sum, err := fileSum(tmp)
	if err != nil {
		return fmt.Errorf("write the backup: %w", err)
	}
	// A link, unlike a rename, never replaces a backup made meanwhile.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("backup %q %w (delete-backup-config %s first, or choose another name)", info.Name, ErrExists, info.Name)
		}
		return fmt.Errorf("write the backup: %w", err)
	}
	// The checksum, in sha256sum's format, lets restore refuse a damaged
	// copy before bbolt reads it.
	line := fmt.Sprintf("%s  %s\n", sum, filepath.Base(path))
	sumTmp := path + sumSuffix + ".tmp"
	defer os.Remove(sumTmp)
	if err := os.WriteFile(sumTmp, []byte(line), 0o600); err != nil {
		return fmt.Errorf("write the backup checksum: %w", err)
	}
	if err := os.Rename(sumTmp, path+sumSuffix); err != nil {
		return fmt.Errorf("write the backup checksum: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// sumSuffix names a backup's checksum file: NAME.db.sha256.
const sumSuffix = ".sha256"

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkSum compares a backup with its checksum file, when it has one.
func checkSum(path string) error {
	want, err := os.ReadFile(path + sumSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a database copied in by hand: checked structurally
	}
	if err != nil {
		return err
	}
	got, err := fileSum(path)
	if err != nil {
		return err
	}
	if f := strings.Fields(string(want)); len(f) == 0 || f[0] != got {
		return fmt.Errorf("%s: %w (damaged: its SHA-256 does not match %s)", path, ErrForeign, filepath.Base(path+sumSuffix))
	}
	return nil
}

// checkBoltMeta reads a bbolt file's meta pages and refuses a file that is
// not one, or that is shorter than its pages (bbolt would fault reading
// past the end of its memory map).
func checkBoltMeta(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	meta := func(off int64) (pageSize, pgid uint64, ok bool) {
		var b [80]byte
		if _, err := f.ReadAt(b[:], off); err != nil {
			return 0, 0, false
		}
		m := b[16:] // after the page header
		ne := binary.NativeEndian
		h := fnv.New64a()
		h.Write(m[:56])
		if ne.Uint32(m[0:]) != 0xED0CDAED || ne.Uint32(m[4:]) != 2 || ne.Uint64(m[56:]) != h.Sum64() {
			return 0, 0, false
		}
		return uint64(ne.Uint32(m[8:])), ne.Uint64(m[40:]), true
	}
	valid := 0
	ps0, pg0, ok0 := meta(0)
	offsets := []int64{4096, 8192, 16384, 32768, 65536}
	if ok0 {
		valid++
		if pg0*ps0 > uint64(size) {
			return fmt.Errorf("%s: %w (truncated: %d bytes, its pages need %d)", path, ErrForeign, size, pg0*ps0)
		}
		offsets = []int64{int64(ps0)}
	}
	for _, off := range offsets {
		if ps, pg, ok := meta(off); ok && uint64(off) == ps {
			valid++
			if pg*ps > uint64(size) {
				return fmt.Errorf("%s: %w (truncated: %d bytes, its pages need %d)", path, ErrForeign, size, pg*ps)
			}
			break
		}
	}
	if valid == 0 {
		return fmt.Errorf("%s: %w (not a bbolt database file)", path, ErrForeign)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// copyRoot replaces everything in dst with a deep copy of src, sequences
// included. Keys and values are copied out of src, which may end before
// dst commits.
func copyRoot(dst, src kv) error {
	if dst.hasBucket(nil) {
		if err := dst.deleteBucket(nil); err != nil {
			return err
		}
	}
	return copyKV(dst, src, nil)
}

// ListBackups describes the backups of the store, by name. A file that is
// not a valid backup is listed with Err set.
func (s *Store) ListBackups() ([]BackupInfo, error) {
	if s.BackupDir() == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(s.BackupDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []BackupInfo
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".db")
		if !ok || !e.Type().IsRegular() || checkBackupName(name) != nil {
			continue
		}
		var info BackupInfo
		info.Err = s.openBackup(filepath.Join(s.BackupDir(), e.Name()), func(t *Tx, b kv) error {
			_, err := metaJSON(b, metaBackup, &info)
			return err
		})
		info.Name = name
		if fi, err := e.Info(); err == nil {
			info.Size = fi.Size()
		}
		out = append(out, info)
	}
	return out, nil
}

// openBackup opens a backup file read-only, checks that it is laid out as
// an acli database this acli reads, and runs fn on it. A damaged or foreign
// file is an error wrapping ErrForeign, never a panic.
func (s *Store) openBackup(path string, fn func(*Tx, kv) error) (err error) {
	// bbolt reads the file through a memory map: a fault on a damaged page
	// must be a panic recovered here, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w (damaged: %v)", path, ErrForeign, r)
		}
	}()
	if fi, err := os.Stat(path); err != nil {
		return err
	} else if fi.Size() == 0 {
		return fmt.Errorf("%s: %w (the file is empty)", path, ErrForeign)
	}
	if err := checkSum(path); err != nil {
		return err
	}
	if err := checkBoltMeta(path); err != nil {
		return err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: %w: %v", path, ErrForeign, err)
	}
	defer db.Close()
	return db.View(func(btx *bolt.Tx) error {
		root := btx.Bucket(bRoot)
		if root == nil {
			return fmt.Errorf("%s: %w (it holds no acli bucket)", path, ErrForeign)
		}
		v, err := strconv.Atoi(string(root.Get(kSchema)))
		if err != nil || v < 1 || v > SchemaVersion() {
			return fmt.Errorf("%s: %w (schema version %q; this acli reads 1 to %d)", path, ErrForeign, root.Get(kSchema), SchemaVersion())
		}
		t := &Tx{kv: boltKV{btx}, btx: btx, schema: s.Schema}
		if t.schema == nil {
			t.schema = model.Default
		}
		b, err := t.lcKV()
		if err != nil {
			return fmt.Errorf("%s: %w (%v)", path, ErrForeign, err)
		}
		return fn(t, b)
	})
}

// validate checks every record of the editing configuration and of every
// version, strictly. (Restore copies records, not pages, so the file's page
// structure only has to be readable.)
func (t *Tx) validate(b kv) error {
	if _, err := t.loadConfig(b, pEditing); err != nil {
		return fmt.Errorf("editing configuration: %w", err)
	}
	for _, n := range versionNumbers(b) {
		if _, err := versionInfo(b, n); err != nil {
			return err
		}
		if _, err := t.loadConfig(b, version(b, n)); err != nil {
			return fmt.Errorf("version %d: %w", n, err)
		}
	}
	for _, n := range []int{metaInt(b, metaSaved), metaInt(b, metaRunning)} {
		if n != 0 && version(b, n) == nil {
			return fmt.Errorf("%w: version %d is saved or running but not kept", model.ErrCorrupt, n)
		}
	}
	var c Confirm
	_, err := metaJSON(b, metaConfirm, &c)
	return err
}

// RestoreBackup replaces the whole database (editing configuration,
// versions, saved and running pointers, settings) with the named backup, in
// this transaction. The backup is validated first: a file that is not a
// valid acli database is refused (ErrForeign) and nothing changes. Version
// numbers and revisions never go back, so that sessions editing during the
// restore and versions saved after it are not confused with older ones.
func (t *Tx) RestoreBackup(st *Store, name string) (info BackupInfo, err error) {
	defer recoverDamage(&err)
	info.Name = name
	path, err := st.BackupPath(name)
	if err != nil {
		return info, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return info, fmt.Errorf("backup %q %w (show backup-config lists them)", name, ErrNotFound)
	}
	cur, err := t.lcKV()
	if err != nil {
		return info, err
	}
	edSeq, verSeq := cur.sequence(pEditing), cur.sequence(pVersions)
	err = st.openBackup(path, func(bt *Tx, b kv) error {
		if err := bt.validate(b); err != nil {
			return fmt.Errorf("%s: %w: %v", path, ErrForeign, err)
		}
		if _, err := metaJSON(b, metaBackup, &info); err != nil {
			return err
		}
		return copyRoot(t.kv, b)
	})
	if err != nil {
		return info, err
	}
	if err := t.migrate(); err != nil {
		return info, err
	}
	b, err := t.lcKV()
	if err != nil {
		return info, err
	}
	if err := b.del(pMeta, []byte(metaBackup)); err != nil {
		return info, err
	}
	for _, s := range []struct {
		p   []string
		seq uint64
	}{{pEditing, edSeq}, {pVersions, verSeq}} {
		if b.sequence(s.p) < s.seq {
			if err := b.setSequence(s.p, s.seq); err != nil {
				return info, err
			}
		}
	}
	info.Name = name
	return info, nil
}

// DeleteBackup removes the named backup file.
func (s *Store) DeleteBackup(name string) error {
	path, err := s.BackupPath(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup %q %w (show backup-config lists them)", name, ErrNotFound)
	} else if err != nil {
		return err
	}
	if err := os.Remove(path + sumSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
