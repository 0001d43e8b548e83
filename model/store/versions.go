package store

// The configuration lifecycle in the store: saved versions, the saved and
// running pointers, the version limit, confirmed activation, backups.
//
// A version is an immutable copy of the editing configuration: versions/<n>/
// holds "info" (JSON VersionInfo) and one bucket per element with the raw
// records of editing/<element>/ at save time. The saved and running
// configurations are meta pointers to versions ("saved-version",
// "running-version"), so that save and activate are each one bbolt
// transaction: after a crash either the old or the new pointer is in place,
// and each always names a complete version.

import (
	"bytes"
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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
	bolt "go.etcd.io/bbolt"
)

// Meta keys of the lifecycle.
const (
	metaSaved    = "saved-version"   // decimal version number
	metaRunning  = "running-version" // decimal version number
	metaLimit    = "version-limit"   // decimal; versions kept
	metaConfirm  = "confirm"         // JSON Confirm: a confirmed activation pending
	metaRollback = "auto-rollback"   // JSON Confirm: the last one that expired
	metaBackup   = "backup-info"     // JSON BackupInfo, in backup files only
	metaApply    = "runtime-apply"   // JSON RuntimeApply: the daemon is not told yet
)

var kInfo = []byte("info")

// DefaultVersionLimit is the number of versions kept when none is set.
const DefaultVersionLimit = 50

// MaxVersionLimit bounds SetVersionLimit.
const MaxVersionLimit = 100000

// VersionInfo describes a saved version.
type VersionInfo struct {
	Number   int       `json:"number"`
	User     string    `json:"user"`
	Time     time.Time `json:"time"`
	Comment  string    `json:"comment,omitempty"`
	Elements int       `json:"elements"` // instances, sub-elements included
}

// Confirm is a confirmed activation (activate-config confirmed MINUTES):
// unless confirmed before Deadline, running returns to Previous (0: none).
type Confirm struct {
	Version  int       `json:"version"`
	Previous int       `json:"previous"`
	Deadline time.Time `json:"deadline"`
	User     string    `json:"user"`
	// At is when an expired confirmation was rolled back (LastAutoRollback).
	At time.Time `json:"at,omitzero"`
}

// Changes counts the instances that differ between two configurations.
type Changes struct{ Added, Removed, Changed int }

// Any reports whether anything differs.
func (c Changes) Any() bool { return c.Added+c.Removed+c.Changed > 0 }

// String says what differs, e.g. "1 added, 2 changed elements".
func (c Changes) String() string {
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{c.Added, "added"}, {c.Removed, "removed"}, {c.Changed, "changed"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	if c.Added+c.Removed+c.Changed == 1 {
		return parts[0] + " element"
	}
	return strings.Join(parts, ", ") + " elements"
}

// lcBuckets are the buckets of the layout the lifecycle works in.
type lcBuckets struct{ root, meta, editing, versions *bolt.Bucket }

// buckets returns the layout's buckets; a missing one means a damaged file.
func (t *Tx) buckets() (lcBuckets, error) {
	var b lcBuckets
	if b.root = t.tx.Bucket(bRoot); b.root != nil {
		b.meta, b.editing, b.versions = b.root.Bucket(bMeta), b.root.Bucket(bEditing), b.root.Bucket(bVersions)
	}
	if b.meta == nil || b.editing == nil || b.versions == nil {
		return b, fmt.Errorf("%w: the database lacks its acli buckets; restore it from a backup", model.ErrCorrupt)
	}
	return b, nil
}

// recoverDamage turns a bbolt panic on inconsistent pages into an error.
func recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: the database file is damaged (%v); restore it from a backup", model.ErrCorrupt, r)
	}
}

func metaInt(b lcBuckets, key string) int {
	n, _ := strconv.Atoi(string(b.meta.Get([]byte(key))))
	return n
}

func setMetaInt(b lcBuckets, key string, n int) error {
	if n == 0 {
		return b.meta.Delete([]byte(key))
	}
	return b.meta.Put([]byte(key), []byte(strconv.Itoa(n)))
}

func metaJSON(b lcBuckets, key string, v any) (bool, error) {
	raw := b.meta.Get([]byte(key))
	if raw == nil {
		return false, nil
	}
	if err := strictJSON(raw, v); err != nil {
		return false, fmt.Errorf("%w: meta %s: %v", model.ErrCorrupt, key, err)
	}
	return true, nil
}

func setMetaJSON(b lcBuckets, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.meta.Put([]byte(key), raw)
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(b[d.InputOffset():]); len(rest) > 0 {
		return errors.New("trailing data")
	}
	return nil
}

// versionPointer reads a meta pointer (0 when unset or unreadable).
func (t *Tx) versionPointer(key string) (n int) {
	defer func() {
		if recover() != nil {
			n = 0
		}
	}()
	b, err := t.buckets()
	if err != nil {
		return 0
	}
	return metaInt(b, key)
}

// SavedVersion is the number of the last saved version (0: none).
func (t *Tx) SavedVersion() int { return t.versionPointer(metaSaved) }

// RunningVersion is the number of the running version (0: none).
func (t *Tx) RunningVersion() int { return t.versionPointer(metaRunning) }

func vkey(n int) []byte { return []byte(strconv.Itoa(n)) }

func version(b lcBuckets, n int) *bolt.Bucket {
	if n <= 0 {
		return nil
	}
	return b.versions.Bucket(vkey(n))
}

// versionNumbers returns the numbers of the kept versions, ascending.
func versionNumbers(b lcBuckets) []int {
	var nums []int
	b.versions.ForEachBucket(func(k []byte) error {
		if n, err := strconv.Atoi(string(k)); err == nil && n > 0 {
			nums = append(nums, n)
		}
		return nil
	})
	slices.Sort(nums)
	return nums
}

// notFound says that version n is not kept, and which are.
func notFound(b lcBuckets, n int) error {
	nums := versionNumbers(b)
	switch len(nums) {
	case 0:
		return fmt.Errorf("version %d %w: no version has been saved yet", n, ErrNotFound)
	case 1:
		return fmt.Errorf("version %d %w: only version %d is kept", n, ErrNotFound, nums[0])
	}
	return fmt.Errorf("version %d %w: versions %d to %d are kept (%d of them)", n, ErrNotFound, nums[0], nums[len(nums)-1], len(nums))
}

func versionInfo(b lcBuckets, n int) (VersionInfo, error) {
	var info VersionInfo
	vb := version(b, n)
	if vb == nil {
		return info, notFound(b, n)
	}
	if err := strictJSON(vb.Get(kInfo), &info); err != nil {
		return info, fmt.Errorf("%w: version %d info: %v", model.ErrCorrupt, n, err)
	}
	if info.Number != n {
		return info, fmt.Errorf("%w: version %d info names version %d", model.ErrCorrupt, n, info.Number)
	}
	return info, nil
}

// Version returns the description of version n; a version not kept is an
// error wrapping ErrNotFound that says which versions are.
func (t *Tx) Version(n int) (_ VersionInfo, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return VersionInfo{}, err
	}
	return versionInfo(b, n)
}

// Versions describes the kept versions, oldest first.
func (t *Tx) Versions() (_ []VersionInfo, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return nil, err
	}
	var out []VersionInfo
	for _, n := range versionNumbers(b) {
		info, err := versionInfo(b, n)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// VersionConfig loads the whole configuration of version n.
func (t *Tx) VersionConfig(n int) (_ *model.Config, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return nil, err
	}
	vb := version(b, n)
	if vb == nil {
		return nil, notFound(b, n)
	}
	c, err := t.loadConfig(vb)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", n, err)
	}
	return c, nil
}

// loadConfig decodes the element buckets under parent (editing or a version).
func (t *Tx) loadConfig(parent *bolt.Bucket) (*model.Config, error) {
	c := model.NewConfig(t.schema)
	for _, e := range t.schema.Elements() {
		b := parent.Bucket([]byte(e.Name))
		if b == nil {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			in, err := decodeAt(e, k, v)
			if err != nil {
				return err
			}
			c.Put(in)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// decodeAt decodes the record v stored under bucket key k.
func decodeAt(e *model.Element, k, v []byte) (*model.Instance, error) {
	if len(k) == 0 || k[0] != '=' || v == nil {
		return nil, fmt.Errorf("%s: %w: unexpected entry %q", e.Name, model.ErrCorrupt, k)
	}
	in, err := model.Decode(e, v)
	if err != nil {
		return nil, fmt.Errorf("%s [%s]: %w", e.Name, k[1:], err)
	}
	if in.Key() != string(k[1:]) {
		return nil, fmt.Errorf("%s [%s]: %w: the record's key is [%s]", e.Name, k[1:], model.ErrCorrupt, in.Key())
	}
	return in, nil
}

// copyElements replaces the element buckets under dst with copies of those
// under src (raw records) and returns the number of instances copied,
// sub-elements included. Only the records' framing is decoded on the way
// (their sub-records are counted); the values were checked when stored.
func (t *Tx) copyElements(dst, src *bolt.Bucket) (int, error) {
	n := 0
	for _, e := range t.schema.Elements() {
		name := []byte(e.Name)
		if dst.Bucket(name) != nil {
			if err := dst.DeleteBucket(name); err != nil {
				return 0, err
			}
		}
		sb := src.Bucket(name)
		if sb == nil {
			continue
		}
		db, err := dst.CreateBucket(name)
		if err != nil {
			return 0, err
		}
		db.FillPercent = 1 // keys arrive in order
		err = sb.ForEach(func(k, v []byte) error {
			var r struct {
				Subs []json.RawMessage `json:"subs"`
			}
			if len(k) == 0 || k[0] != '=' || v == nil || json.Unmarshal(v, &r) != nil {
				return fmt.Errorf("%s: %w: unreadable entry %q", e.Name, model.ErrCorrupt, k)
			}
			n += 1 + len(r.Subs)
			return db.Put(k, v)
		})
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// Save copies the editing configuration into a new version, makes it the
// saved one and prunes old versions beyond the limit. info's User, Time and
// Comment are kept; Number and Elements are filled in.
func (t *Tx) Save(info VersionInfo) (_ VersionInfo, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return info, err
	}
	seq, err := b.versions.NextSequence()
	if err != nil {
		return info, err
	}
	info.Number = int(seq)
	vb, err := b.versions.CreateBucket(vkey(info.Number))
	if err != nil {
		return info, fmt.Errorf("create version %d: %w", info.Number, err)
	}
	if info.Elements, err = t.copyElements(vb, b.editing); err != nil {
		return info, err
	}
	raw, err := json.Marshal(info)
	if err != nil {
		return info, err
	}
	if err := vb.Put(kInfo, raw); err != nil {
		return info, err
	}
	if err := setMetaInt(b, metaSaved, info.Number); err != nil {
		return info, err
	}
	return info, prune(b)
}

// VersionLimit is the number of versions kept (DefaultVersionLimit unless set).
func (t *Tx) VersionLimit() int {
	if n := t.versionPointer(metaLimit); n > 0 {
		return n
	}
	return DefaultVersionLimit
}

// SetVersionLimit sets the number of versions kept and prunes to it. The
// saved and running versions, and those of a pending confirmed activation,
// are kept even beyond the limit.
func (t *Tx) SetVersionLimit(n int) (err error) {
	defer recoverDamage(&err)
	if n < 1 || n > MaxVersionLimit {
		return &model.ValueError{Param: "version-limit", Value: strconv.Itoa(n), Allowed: fmt.Sprintf("1-%d", MaxVersionLimit)}
	}
	b, err := t.buckets()
	if err != nil {
		return err
	}
	if err := b.meta.Put([]byte(metaLimit), []byte(strconv.Itoa(n))); err != nil {
		return err
	}
	return prune(b)
}

// prune deletes the oldest versions beyond the limit, never a protected one.
func prune(b lcBuckets) error {
	keep := map[int]bool{metaInt(b, metaSaved): true, metaInt(b, metaRunning): true}
	var c Confirm
	if ok, err := metaJSON(b, metaConfirm, &c); err != nil {
		return err
	} else if ok {
		keep[c.Version], keep[c.Previous] = true, true
	}
	limit := metaInt(b, metaLimit)
	if limit <= 0 {
		limit = DefaultVersionLimit
	}
	nums := versionNumbers(b)
	excess := len(nums) - limit
	for _, n := range nums {
		if excess <= 0 {
			break
		}
		if keep[n] {
			continue
		}
		if err := b.versions.DeleteBucket(vkey(n)); err != nil {
			return fmt.Errorf("prune version %d: %w", n, err)
		}
		excess--
	}
	return nil
}

// LoadVersion makes version n the editing configuration (rollback-config).
func (t *Tx) LoadVersion(n int) (err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return err
	}
	vb := version(b, n)
	if vb == nil {
		return notFound(b, n)
	}
	_, err = t.copyElements(b.editing, vb)
	return err
}

// ClearEditing deletes every instance of the editing configuration and
// returns how many there were, sub-elements included (delete-config).
func (t *Tx) ClearEditing() (n int, err error) {
	defer recoverDamage(&err)
	c, err := t.Editing()
	if err != nil {
		return 0, err
	}
	b, err := t.buckets()
	if err != nil {
		return 0, err
	}
	for _, e := range t.schema.Elements() {
		if b.editing.Bucket([]byte(e.Name)) == nil {
			continue
		}
		if err := b.editing.DeleteBucket([]byte(e.Name)); err != nil {
			return 0, err
		}
	}
	return c.Count(), nil
}

// EditingChanges compares the editing configuration with version n (0: the
// empty configuration). Byte-identical records are not decoded; others are
// compared by value (SameInstance), so that storing an instance again
// unchanged is not a change.
func (t *Tx) EditingChanges(n int) (_ Changes, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return Changes{}, err
	}
	var vb *bolt.Bucket
	if n != 0 {
		if vb = version(b, n); vb == nil {
			return Changes{}, notFound(b, n)
		}
	}
	var ch Changes
	for _, e := range t.schema.Elements() {
		name := []byte(e.Name)
		var old, cur *bolt.Cursor
		if vb != nil && vb.Bucket(name) != nil {
			old = vb.Bucket(name).Cursor()
		}
		if b.editing.Bucket(name) != nil {
			cur = b.editing.Bucket(name).Cursor()
		}
		if err := compareBuckets(e, old, cur, &ch); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// compareBuckets walks two element buckets (nil: empty) in key order.
func compareBuckets(e *model.Element, a, b *bolt.Cursor, ch *Changes) error {
	next := func(c *bolt.Cursor, first bool) ([]byte, []byte) {
		switch {
		case c == nil:
			return nil, nil
		case first:
			return c.First()
		}
		return c.Next()
	}
	ka, va := next(a, true)
	kb, vb := next(b, true)
	for ka != nil || kb != nil {
		switch c := compareKeys(ka, kb); {
		case c < 0:
			ch.Removed++
			ka, va = next(a, false)
		case c > 0:
			ch.Added++
			kb, vb = next(b, false)
		default:
			if !bytes.Equal(va, vb) {
				x, err := decodeAt(e, ka, va)
				if err != nil {
					return err
				}
				y, err := decodeAt(e, kb, vb)
				if err != nil {
					return err
				}
				if !SameInstance(x, y) {
					ch.Changed++
				}
			}
			ka, va = next(a, false)
			kb, vb = next(b, false)
		}
	}
	return nil
}

// compareKeys orders bucket keys, nil (exhausted) last.
func compareKeys(a, b []byte) int {
	switch {
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return bytes.Compare(a, b)
}

// SameInstance reports whether two instances have the same parameter values
// (a parameter set to its default equals an unset one) and sub-instances
// (matched by key, in any order), ignoring who stored them, when, and at
// which revision.
func SameInstance(x, y *model.Instance) bool {
	if x.Elem != y.Elem || !sameValues(x, y) || len(x.Subs) != len(y.Subs) {
		return false
	}
	for _, s := range x.Subs {
		found := false
		for _, o := range y.Subs {
			if o.Elem == s.Elem && o.Key() == s.Key() {
				found = sameValues(s, o)
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func sameValues(x, y *model.Instance) bool {
	for _, p := range x.Elem.Params {
		if !slices.Equal(x.Get(p.Name), y.Get(p.Name)) {
			return false
		}
	}
	return true
}

// PendingConfirm returns the confirmed activation waiting for confirmation,
// or nil.
func (t *Tx) PendingConfirm() (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return nil, err
	}
	var c Confirm
	if ok, err := metaJSON(b, metaConfirm, &c); !ok || err != nil {
		return nil, err
	}
	return &c, nil
}

// LastAutoRollback returns the last confirmed activation that expired and
// was rolled back by ExpireConfirm, or nil.
func (t *Tx) LastAutoRollback() (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return nil, err
	}
	var c Confirm
	if ok, err := metaJSON(b, metaRollback, &c); !ok || err != nil {
		return nil, err
	}
	return &c, nil
}

// Activate makes version n running. A plain activation (within 0) confirms
// a pending confirmed activation. With within > 0, unless Activate is called
// again before now+within, ExpireConfirm returns running to the version
// that ran before (before the first of several confirmed activations in a
// row); the returned Confirm describes that.
func (t *Tx) Activate(n int, now time.Time, within time.Duration, user string) (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return nil, err
	}
	if version(b, n) == nil {
		return nil, notFound(b, n)
	}
	var pending Confirm
	hadPending, err := metaJSON(b, metaConfirm, &pending)
	if err != nil {
		return nil, err
	}
	prev := metaInt(b, metaRunning)
	if err := setMetaInt(b, metaRunning, n); err != nil {
		return nil, err
	}
	if err := b.meta.Delete([]byte(metaRollback)); err != nil {
		return nil, err
	}
	var c *Confirm
	if within <= 0 {
		err = b.meta.Delete([]byte(metaConfirm))
	} else {
		c = &Confirm{Version: n, Previous: prev, Deadline: now.Add(within).UTC().Truncate(time.Second), User: user}
		if hadPending {
			c.Previous = pending.Previous
		}
		err = setMetaJSON(b, metaConfirm, c)
	}
	if err != nil {
		return nil, err
	}
	return c, prune(b) // the version that stopped running may go
}

// ExpireConfirm enforces a pending confirmed activation whose deadline has
// passed at now: running returns to the previous version (none if none ran)
// and the expired confirmation is returned, with At set; otherwise nil.
func (t *Tx) ExpireConfirm(now time.Time) (_ *Confirm, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return nil, err
	}
	var c Confirm
	if ok, err := metaJSON(b, metaConfirm, &c); !ok || err != nil || now.Before(c.Deadline) {
		return nil, err
	}
	if version(b, c.Previous) == nil {
		c.Previous = 0 // prune keeps it; a damaged pointer runs nothing
	}
	if err := setMetaInt(b, metaRunning, c.Previous); err != nil {
		return nil, err
	}
	if err := b.meta.Delete([]byte(metaConfirm)); err != nil {
		return nil, err
	}
	c.At = now.UTC().Truncate(time.Second)
	return &c, setMetaJSON(b, metaRollback, &c)
}

// RuntimeApply records a change of the running version that the runtime
// daemon has not been told about yet: it is marked in the transaction that
// changes running and taken once that transaction has committed.
type RuntimeApply struct {
	Version  int `json:"version"`  // running now
	Previous int `json:"previous"` // running before (0: none)
}

// MarkRuntimeApply records that running changed from previous to version;
// an earlier mark not yet taken keeps its Previous.
func (t *Tx) MarkRuntimeApply(version, previous int) (err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return err
	}
	var ra RuntimeApply
	if ok, err := metaJSON(b, metaApply, &ra); err != nil {
		return err
	} else if ok {
		previous = ra.Previous
	}
	return setMetaJSON(b, metaApply, RuntimeApply{Version: version, Previous: previous})
}

// TakeRuntimeApply returns the pending mark, or nil, and clears it when
// the transaction is writable.
func (t *Tx) TakeRuntimeApply() (_ *RuntimeApply, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return nil, err
	}
	var ra RuntimeApply
	if ok, err := metaJSON(b, metaApply, &ra); !ok || err != nil {
		return nil, err
	}
	if t.tx.Writable() {
		if err := b.meta.Delete([]byte(metaApply)); err != nil {
			return nil, err
		}
	}
	return &ra, nil
}

// RevertRunning puts back version to as running when from still is (the
// runtime refused from and keeps serving to), dropping a pending confirmed
// activation of from. It reports whether it did.
func (t *Tx) RevertRunning(from, to int) (_ bool, err error) {
	defer recoverDamage(&err)
	b, err := t.buckets()
	if err != nil {
		return false, err
	}
	if metaInt(b, metaRunning) != from || to != 0 && version(b, to) == nil {
		return false, nil
	}
	var c Confirm
	if ok, err := metaJSON(b, metaConfirm, &c); err != nil {
		return false, err
	} else if ok && c.Version == from {
		if err := b.meta.Delete([]byte(metaConfirm)); err != nil {
			return false, err
		}
	}
	return true, setMetaInt(b, metaRunning, to)
}

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

// BackupDir is the directory of backups: "backups" beside the database.
func (s *Store) BackupDir() string { return filepath.Join(filepath.Dir(s.Path), "backups") }

// BackupPath returns the file of the named backup, NAME.db in BackupDir.
// Names are 1-64 letters, digits, '.', '_' and '-', not starting with '.'.
func (s *Store) BackupPath(name string) (string, error) {
	if err := checkBackupName(name); err != nil {
		return "", err
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
	b, err := t.buckets()
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
	if !t.tx.Writable() {
		if _, err := t.tx.WriteTo(f); err != nil {
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
		if t.tx.Writable() {
			if err := copyRoot(btx, b.root); err != nil {
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

// copyRoot replaces the root bucket of dst with a deep copy of src,
// sequences included. Keys and values are copied out of src's memory map,
// which may close before dst commits.
func copyRoot(dst *bolt.Tx, src *bolt.Bucket) error {
	if dst.Bucket(bRoot) != nil {
		if err := dst.DeleteBucket(bRoot); err != nil {
			return err
		}
	}
	root, err := dst.CreateBucket(bRoot)
	if err != nil {
		return err
	}
	return copyInto(root, src)
}

func copyInto(dst, src *bolt.Bucket) error {
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		if v != nil {
			return dst.Put(bytes.Clone(k), bytes.Clone(v))
		}
		sub, err := dst.CreateBucket(bytes.Clone(k))
		if err != nil {
			return err
		}
		return copyInto(sub, src.Bucket(k))
	})
}

// ListBackups describes the backups of the store, by name. A file that is
// not a valid backup is listed with Err set.
func (s *Store) ListBackups() ([]BackupInfo, error) {
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
		info.Err = s.openBackup(filepath.Join(s.BackupDir(), e.Name()), func(t *Tx, b lcBuckets) error {
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
func (s *Store) openBackup(path string, fn func(*Tx, lcBuckets) error) (err error) {
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
		t := &Tx{tx: btx, schema: s.Schema}
		if t.schema == nil {
			t.schema = model.Default
		}
		b, err := t.buckets()
		if err != nil {
			return fmt.Errorf("%s: %w (%v)", path, ErrForeign, err)
		}
		return fn(t, b)
	})
}

// validate checks every record of the editing configuration and of every
// version, strictly. (Restore copies records, not pages, so the file's page
// structure only has to be readable.)
func (t *Tx) validate(b lcBuckets) error {
	if _, err := t.loadConfig(b.editing); err != nil {
		return fmt.Errorf("editing configuration: %w", err)
	}
	for _, n := range versionNumbers(b) {
		if _, err := versionInfo(b, n); err != nil {
			return err
		}
		if _, err := t.loadConfig(version(b, n)); err != nil {
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
	cur, err := t.buckets()
	if err != nil {
		return info, err
	}
	edSeq, verSeq := cur.editing.Sequence(), cur.versions.Sequence()
	err = st.openBackup(path, func(bt *Tx, b lcBuckets) error {
		if err := bt.validate(b); err != nil {
			return fmt.Errorf("%s: %w: %v", path, ErrForeign, err)
		}
		if _, err := metaJSON(b, metaBackup, &info); err != nil {
			return err
		}
		return copyRoot(t.tx, b.root)
	})
	if err != nil {
		return info, err
	}
	if err := migrate(t.tx, st.Path); err != nil {
		return info, err
	}
	b, err := t.buckets()
	if err != nil {
		return info, err
	}
	if err := b.meta.Delete([]byte(metaBackup)); err != nil {
		return info, err
	}
	for _, s := range []struct {
		b   *bolt.Bucket
		seq uint64
	}{{b.editing, edSeq}, {b.versions, verSeq}} {
		if s.b.Sequence() < s.seq {
			if err := s.b.SetSequence(s.seq); err != nil {
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
