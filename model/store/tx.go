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
	kv      kv
	btx     *bolt.Tx // the bbolt transaction; nil on etcd
	schema  *model.Schema
	path    string
	err     error    // first damage met; sticky
	session *Session // set by Session.Begin
}

// guard turns a bbolt panic in a Tx method into *err, remembered in t.err.
func (t *Tx) guard(err *error) {
	if r := recover(); r != nil {
		if ferr, ok := kvFailed(r); ok {
			*err = ferr
		} else {
			*err = &damagedError{path: t.path, cause: r}
		}
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
	return t.kv.commit()
}

// Rollback discards a transaction begun with Session.Begin.
func (t *Tx) Rollback() error { return t.kv.rollback() }

// bucket checks that a bucket of the layout exists; its absence means a
// damaged database (open checks the layout, so it is not expected).
func (t *Tx) bucket(p []string) error {
	if !t.kv.hasBucket(nil) {
		return &damagedError{path: t.path, cause: "no acli bucket"}
	}
	if !t.kv.hasBucket(p) {
		return &damagedError{path: t.path, cause: fmt.Sprintf("no %q bucket", p[len(p)-1])}
	}
	return nil
}

// editing returns the path of e's editing bucket and whether it exists,
// creating it when asked.
func (t *Tx) editing(elem string, create bool) ([]string, bool, error) {
	if err := t.bucket(pEditing); err != nil {
		return nil, false, err
	}
	p := under(pEditing, elem)
	if t.kv.hasBucket(p) || !create {
		return p, t.kv.hasBucket(p), nil
	}
	return p, true, t.kv.createBucket(p, false)
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
	b, ok, err := t.editing(e.Name, false)
	if !ok || err != nil {
		return nil, err
	}
	v := t.kv.get(b, skey(key))
	if v == nil {
		return nil, nil
	}
	return decode(e, key, v)
}

// List returns the editing instances of e in key order (model.CompareKeys).
func (t *Tx) List(e *model.Element) (_ []*model.Instance, err error) {
	defer t.guard(&err)
	b, ok, err := t.editing(e.Name, false)
	if !ok || err != nil {
		return nil, err
	}
	var out []*model.Instance
	err = t.kv.each(b, func(k, v []byte) error {
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
	b, ok, err := t.editing(e.Name, false)
	if err != nil {
		return err
	}
	key := in.Key()
	exists := func(k string) bool { return ok && t.kv.get(b, skey(k)) != nil }
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
	seq, err := t.kv.nextSequence(pEditing)
	if err != nil {
		return err
	}
	c := *in
	c.Rev = seq
	enc, err := model.Encode(&c) // validates; nothing is changed yet
	if err != nil {
		return err
	}
	if !ok {
		if b, _, err = t.editing(e.Name, true); err != nil {
			return err
		}
	}
	if rev != 0 && key != origKey {
		if err := t.kv.del(b, skey(origKey)); err != nil {
			return err
		}
	}
	if err := t.kv.put(b, skey(key), enc); err != nil {
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
	b, ok, err := t.editing(e.Name, false)
	if err != nil {
		return err
	}
	if !ok || t.kv.get(b, skey(key)) == nil {
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
	return t.kv.del(b, skey(key))
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
	if err = t.bucket(pMeta); err != nil || key == "" {
		return nil
	}
	return bytes.Clone(t.kv.get(pMeta, []byte(key)))
}

// SetMeta stores a meta value; nil deletes it.
func (t *Tx) SetMeta(key string, val []byte) (err error) {
	defer t.guard(&err)
	if key == "" {
		return fmt.Errorf("meta: empty key")
	}
	if err := t.bucket(pMeta); err != nil {
		return err
	}
	if val == nil {
		return t.kv.del(pMeta, []byte(key))
	}
	return t.kv.put(pMeta, []byte(key), val)
}
