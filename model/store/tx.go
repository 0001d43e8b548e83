package store

import (
	"bytes"
	"fmt"

	"github.com/acli-project/acli/model"
	bolt "go.etcd.io/bbolt"
)

// Tx is one transaction on the store. Values it returns are decoded copies
// and stay valid after the transaction ends.
//
// A damaged file (bbolt panicking on inconsistent pages) is reported as an
// error wrapping ErrDamaged by the method that met it, and again by
// Store.Update/View and Commit, which then do not commit.
type Tx struct {
	tx      *bolt.Tx
	schema  *model.Schema
	path    string
	err     error    // first damage met; sticky
	session *Session // set by Session.Begin
}

// guard turns a bbolt panic in a Tx method into *err, remembered in t.err.
func (t *Tx) guard(err *error) {
	if r := recover(); r != nil {
		*err = &damagedError{path: t.path, cause: r}
	}
	if *err != nil && t.err == nil && isDamaged(*err) {
		t.err = *err
	}
}

func isDamaged(err error) bool {
	_, ok := err.(*damagedError)
	return ok
}

// Commit commits a transaction begun with Session.Begin. A transaction that
// met a damaged file is rolled back and the damage reported.
func (t *Tx) Commit() (err error) {
	if t.err != nil {
		t.Rollback()
		return t.err
	}
	defer func() {
		if r := recover(); r != nil {
			err = panicked(t.path, r)
			if t.session != nil {
				t.session.bad = true
			}
		}
	}()
	return t.tx.Commit()
}

// Rollback discards a transaction begun with Session.Begin.
func (t *Tx) Rollback() error { return t.tx.Rollback() }

// root is the acli bucket (nil only in a damaged file; see bucket).
func (t *Tx) root() *bolt.Bucket { return t.tx.Bucket(bRoot) }

// bucket returns a bucket of the layout; its absence means a damaged file
// (open checks the layout, so it is not expected).
func (t *Tx) bucket(name []byte) (*bolt.Bucket, error) {
	root := t.tx.Bucket(bRoot)
	if root == nil {
		return nil, &damagedError{path: t.path, cause: "no acli bucket"}
	}
	b := root.Bucket(name)
	if b == nil {
		return nil, &damagedError{path: t.path, cause: fmt.Sprintf("no %q bucket", name)}
	}
	return b, nil
}

func (t *Tx) editing(elem string, create bool) (*bolt.Bucket, error) {
	ed, err := t.bucket(bEditing)
	if err != nil {
		return nil, err
	}
	if b := ed.Bucket([]byte(elem)); b != nil || !create {
		return b, nil
	}
	return ed.CreateBucket([]byte(elem))
}

// skey is the bucket key of an instance key: bbolt keys cannot be empty,
// and an instance whose key parameters are unset has the empty key.
func skey(key string) []byte { return append([]byte{'='}, key...) }

// decode decodes the record stored under key, which must be the key of the
// instance it holds.
func decode(e *model.Element, key string, v []byte) (*model.Instance, error) {
	in, err := model.Decode(e, v)
	if err != nil {
		return nil, fmt.Errorf("%s [%s]: %w", e.Name, key, err)
	}
	if k := in.Key(); k != key {
		return nil, fmt.Errorf("%s [%s]: %w: the record's key is [%s]", e.Name, key, model.ErrCorrupt, k)
	}
	return in, nil
}

// Get returns the editing instance of e with the key, or nil.
func (t *Tx) Get(e *model.Element, key string) (_ *model.Instance, err error) {
	defer t.guard(&err)
	b, err := t.editing(e.Name, false)
	if b == nil || err != nil {
		return nil, err
	}
	v := b.Get(skey(key))
	if v == nil {
		return nil, nil
	}
	return decode(e, key, v)
}

// List returns the editing instances of e in key order (model.CompareKeys).
func (t *Tx) List(e *model.Element) (_ []*model.Instance, err error) {
	defer t.guard(&err)
	b, err := t.editing(e.Name, false)
	if b == nil || err != nil {
		return nil, err
	}
	var out []*model.Instance
	err = b.ForEach(func(k, v []byte) error {
		if len(k) == 0 || k[0] != '=' || v == nil {
			return fmt.Errorf("%s: %w: unexpected entry %q in the editing configuration", e.Name, model.ErrCorrupt, k)
		}
		in, err := decode(e, string(k[1:]), v)
		if err != nil {
			return err
		}
		out = append(out, in)
		return nil
	})
	if err != nil {
		return nil, err
	}
	model.SortInstances(out)
	return out, nil
}

// Put writes in to the editing configuration under its key. origKey and rev
// say what the caller read: rev 0 means a new instance, which must not exist;
// otherwise the stored instance at origKey must still be at rev (else
// ErrConflict), and a changed key must not collide with another instance.
// On success in.Rev is the new revision; on error nothing changed.
func (t *Tx) Put(in *model.Instance, origKey string, rev uint64) (err error) {
	defer t.guard(&err)
	e := in.Elem
	if e == nil {
		return fmt.Errorf("put: instance of no element")
	}
	b, err := t.editing(e.Name, false)
	if err != nil {
		return err
	}
	key := in.Key()
	exists := func(k string) bool { return b != nil && b.Get(skey(k)) != nil }
	if rev == 0 {
		if exists(key) {
			return fmt.Errorf("%s [%s] %w; use select to edit it", e.Name, key, ErrExists)
		}
	} else {
		cur, err := t.Get(e, origKey)
		if err != nil {
			return err
		}
		if cur == nil || cur.Rev != rev {
			return fmt.Errorf("%s [%s] was %w since you selected it; select it again", e.Name, origKey, ErrConflict)
		}
		if key != origKey && exists(key) {
			return fmt.Errorf("%s [%s] %w; cannot rename [%s] to it", e.Name, key, ErrExists, origKey)
		}
	}
	ed, err := t.bucket(bEditing)
	if err != nil {
		return err
	}
	seq, err := ed.NextSequence()
	if err != nil {
		return err
	}
	c := *in
	c.Rev = seq
	enc, err := model.Encode(&c) // validates; nothing is changed yet
	if err != nil {
		return err
	}
	if b == nil {
		if b, err = t.editing(e.Name, true); err != nil {
			return err
		}
	}
	if rev != 0 && key != origKey {
		if err := b.Delete(skey(origKey)); err != nil {
			return err
		}
	}
	if err := b.Put(skey(key), enc); err != nil {
		return err
	}
	in.Rev = seq
	return nil
}

// Delete removes the editing instance of e with the key; rev, when not 0,
// must match the stored revision. With rev 0 the record is not decoded, so
// that a corrupt one can be removed.
func (t *Tx) Delete(e *model.Element, key string, rev uint64) (err error) {
	defer t.guard(&err)
	b, err := t.editing(e.Name, false)
	if err != nil {
		return err
	}
	if b == nil || b.Get(skey(key)) == nil {
		return fmt.Errorf("%s [%s] %w", e.Name, key, ErrNotFound)
	}
	if rev != 0 {
		cur, err := t.Get(e, key)
		if err != nil {
			return err
		}
		if cur.Rev != rev {
			return fmt.Errorf("%s [%s] was %w since you selected it; select it again", e.Name, key, ErrConflict)
		}
	}
	return b.Delete(skey(key))
}

// Editing loads the whole editing configuration.
func (t *Tx) Editing() (_ *model.Config, err error) {
	defer t.guard(&err)
	c := model.NewConfig(t.schema)
	for _, e := range t.schema.Elements() {
		ins, err := t.List(e)
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			c.Put(in)
		}
	}
	return c, nil
}

// Meta returns a meta value, or nil. On a damaged file it returns nil and
// the transaction reports the damage (see Tx).
func (t *Tx) Meta(key string) (v []byte) {
	var err error
	defer t.guard(&err)
	b, err := t.bucket(bMeta)
	if err != nil || key == "" {
		return nil
	}
	return bytes.Clone(b.Get([]byte(key)))
}

// SetMeta stores a meta value; nil deletes it.
func (t *Tx) SetMeta(key string, val []byte) (err error) {
	defer t.guard(&err)
	if key == "" {
		return fmt.Errorf("meta: empty key")
	}
	b, err := t.bucket(bMeta)
	if err != nil {
		return err
	}
	if val == nil {
		return b.Delete([]byte(key))
	}
	return b.Put([]byte(key), val)
}
