package store

// The configuration lifecycle in the store: saved versions, the saved and
// running pointers, the version limit, and what differs between editing and
// a version (Changes). Confirmed activation is in activate.go, backups in
// backup.go; the meta keys and helpers here serve all three.
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
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acli-project/acli/model"
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

// lcKV returns the transaction's kv once the layout's buckets are checked;
// a missing one means a damaged database.
func (t *Tx) lcKV() (kv, error) {
	for _, p := range [][]string{nil, pMeta, pEditing, pVersions} {
		if !t.kv.hasBucket(p) {
			return nil, fmt.Errorf("%w: the database lacks its acli buckets; restore it from a backup", model.ErrCorrupt)
		}
	}
	return t.kv, nil
}

// recoverDamage turns a bbolt panic on inconsistent pages into an error.
func recoverDamage(err *error) {
	if r := recover(); r != nil {
		if ferr, ok := kvFailed(r); ok {
			*err = ferr
			return
		}
		*err = fmt.Errorf("%w: the database file is damaged (%v); restore it from a backup", model.ErrCorrupt, r)
	}
}

func metaInt(b kv, key string) int {
	n, _ := strconv.Atoi(string(b.get(pMeta, []byte(key))))
	return n
}

func setMetaInt(b kv, key string, n int) error {
	if n == 0 {
		return b.del(pMeta, []byte(key))
	}
	return b.put(pMeta, []byte(key), []byte(strconv.Itoa(n)))
}

func metaJSON(b kv, key string, v any) (bool, error) {
	raw := b.get(pMeta, []byte(key))
	if raw == nil {
		return false, nil
	}
	if err := strictJSON(raw, v); err != nil {
		return false, fmt.Errorf("%w: meta %s: %v", model.ErrCorrupt, key, err)
	}
	return true, nil
}

func setMetaJSON(b kv, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.put(pMeta, []byte(key), raw)
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
	b, err := t.lcKV()
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

// version returns the path of version n, or nil when it is not kept.
func version(b kv, n int) []string {
	if n <= 0 {
		return nil
	}
	if p := under(pVersions, string(vkey(n))); b.hasBucket(p) {
		return p
	}
	return nil
}

// versionNumbers returns the numbers of the kept versions, ascending.
func versionNumbers(b kv) []int {
	var nums []int
	for _, k := range b.buckets(pVersions) {
		if n, err := strconv.Atoi(k); err == nil && n > 0 {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums
}

// notFound says that version n is not kept, and which are.
func notFound(b kv, n int) error {
	nums := versionNumbers(b)
	switch len(nums) {
	case 0:
		return fmt.Errorf("version %d %w: no version has been saved yet", n, ErrNotFound)
	case 1:
		return fmt.Errorf("version %d %w: only version %d is kept", n, ErrNotFound, nums[0])
	}
	return fmt.Errorf("version %d %w: versions %d to %d are kept (%d of them)", n, ErrNotFound, nums[0], nums[len(nums)-1], len(nums))
}

func versionInfo(b kv, n int) (VersionInfo, error) {
	var info VersionInfo
	vb := version(b, n)
	if vb == nil {
		return info, notFound(b, n)
	}
	if err := strictJSON(b.get(vb, kInfo), &info); err != nil {
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
	b, err := t.lcKV()
	if err != nil {
		return VersionInfo{}, err
	}
	return versionInfo(b, n)
}

// Versions describes the kept versions, oldest first.
func (t *Tx) Versions() (_ []VersionInfo, err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
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
	b, err := t.lcKV()
	if err != nil {
		return nil, err
	}
	vb := version(b, n)
	if vb == nil {
		return nil, notFound(b, n)
	}
	c, err := t.loadConfig(b, vb)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", n, err)
	}
	return c, nil
}

// loadConfig decodes the element buckets under parent (editing or a version).
func (t *Tx) loadConfig(b kv, parent []string) (*model.Config, error) {
	c := model.NewConfig(t.schema)
	for _, e := range t.schema.Elements() {
		err := b.each(under(parent, e.Name), func(k, v []byte) error {
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
func (t *Tx) copyElements(dst, src []string) (int, error) {
	n := 0
	for _, e := range t.schema.Elements() {
		dp, sp := under(dst, e.Name), under(src, e.Name)
		if t.kv.hasBucket(dp) {
			if err := t.kv.deleteBucket(dp); err != nil {
				return 0, err
			}
		}
		if !t.kv.hasBucket(sp) {
			continue
		}
		if err := t.kv.createBucket(dp, true); err != nil {
			return 0, err
		}
		err := t.kv.each(sp, func(k, v []byte) error {
			var r struct {
				Subs []json.RawMessage `json:"subs"`
			}
			if len(k) == 0 || k[0] != '=' || v == nil || json.Unmarshal(v, &r) != nil {
				return fmt.Errorf("%s: %w: unreadable entry %q", e.Name, model.ErrCorrupt, k)
			}
			n += 1 + len(r.Subs)
			return t.kv.put(dp, k, v)
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
	b, err := t.lcKV()
	if err != nil {
		return info, err
	}
	seq, err := b.nextSequence(pVersions)
	if err != nil {
		return info, err
	}
	info.Number = int(seq)
	vb := under(pVersions, string(vkey(info.Number)))
	if err := b.createBucket(vb, false); err != nil {
		return info, fmt.Errorf("create version %d: %w", info.Number, err)
	}
	if info.Elements, err = t.copyElements(vb, pEditing); err != nil {
		return info, err
	}
	raw, err := json.Marshal(info)
	if err != nil {
		return info, err
	}
	if err := b.put(vb, kInfo, raw); err != nil {
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
	b, err := t.lcKV()
	if err != nil {
		return err
	}
	if err := b.put(pMeta, []byte(metaLimit), []byte(strconv.Itoa(n))); err != nil {
		return err
	}
	return prune(b)
}

// prune deletes the oldest versions beyond the limit, never a protected one.
func prune(b kv) error {
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
		if err := b.deleteBucket(under(pVersions, string(vkey(n)))); err != nil {
			return fmt.Errorf("prune version %d: %w", n, err)
		}
		excess--
	}
	return nil
}

// LoadVersion makes version n the editing configuration (rollback-config).
func (t *Tx) LoadVersion(n int) (err error) {
	defer recoverDamage(&err)
	b, err := t.lcKV()
	if err != nil {
		return err
	}
	vb := version(b, n)
	if vb == nil {
		return notFound(b, n)
	}
	_, err = t.copyElements(pEditing, vb)
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
	b, err := t.lcKV()
	if err != nil {
		return 0, err
	}
	for _, e := range t.schema.Elements() {
		if p := under(pEditing, e.Name); b.hasBucket(p) {
			if err := b.deleteBucket(p); err != nil {
				return 0, err
			}
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
	b, err := t.lcKV()
	if err != nil {
		return Changes{}, err
	}
	var vb []string
	if n != 0 {
		if vb = version(b, n); vb == nil {
			return Changes{}, notFound(b, n)
		}
	}
	var ch Changes
	for _, e := range t.schema.Elements() {
		var old, cur []entry
		if vb != nil {
			old = entries(b, under(vb, e.Name))
		}
		cur = entries(b, under(pEditing, e.Name))
		if err := compareBuckets(e, old, cur, &ch); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// entry is a key and value of a bucket.
type entry struct{ k, v []byte }

// entries lists bucket p's keys and values in order.
func entries(b kv, p []string) []entry {
	var out []entry
	b.each(p, func(k, v []byte) error { out = append(out, entry{k, v}); return nil })
	return out
}

// compareBuckets walks two element buckets' entries in key order.
func compareBuckets(e *model.Element, a, b []entry, ch *Changes) error {
	next := func(es []entry, i int) ([]byte, []byte) {
		if i < len(es) {
			return es[i].k, es[i].v
		}
		return nil, nil
	}
	i, j := 0, 0
	ka, va := next(a, i)
	kb, vb := next(b, j)
	for ka != nil || kb != nil {
		switch c := compareKeys(ka, kb); {
		case c < 0:
			ch.Removed++
			i++
			ka, va = next(a, i)
		case c > 0:
			ch.Added++
			j++
			kb, vb = next(b, j)
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
			i, j = i+1, j+1
			ka, va = next(a, i)
			kb, vb = next(b, j)
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
