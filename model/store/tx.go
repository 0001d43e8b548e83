package store

import (
	"fmt"

	"github.com/acli-project/acli/model"
	bolt "go.etcd.io/bbolt"
)

// Tx is one transaction on the store. Values it returns are decoded copies
// and stay valid after the transaction ends.
type Tx struct {
	tx     *bolt.Tx
	schema *model.Schema
}

// Commit commits a transaction begun with Session.Begin.
func (t *Tx) Commit() error { return t.tx.Commit() }

// Rollback discards a transaction begun with Session.Begin.
func (t *Tx) Rollback() error { return t.tx.Rollback() }

func (t *Tx) root() *bolt.Bucket { return t.tx.Bucket(bRoot) }

func (t *Tx) editing(elem string, create bool) (*bolt.Bucket, error) {
	ed := t.root().Bucket(bEditing)
	if b := ed.Bucket([]byte(elem)); b != nil || !create {
		return b, nil
	}
	return ed.CreateBucket([]byte(elem))
}

// skey is the bucket key of an instance key: bbolt keys cannot be empty,
// and an instance whose key parameters are unset has the empty key.
func skey(key string) []byte { return append([]byte{'='}, key...) }

// Get returns the editing instance of e with the key, or nil.
func (t *Tx) Get(e *model.Element, key string) (*model.Instance, error) {
	b, _ := t.editing(e.Name, false)
	if b == nil {
		return nil, nil
	}
	v := b.Get(skey(key))
	if v == nil {
		return nil, nil
	}
	return model.Decode(e, v)
}

// List returns the editing instances of e in key order.
func (t *Tx) List(e *model.Element) ([]*model.Instance, error) {
	b, _ := t.editing(e.Name, false)
	if b == nil {
		return nil, nil
	}
	var out []*model.Instance
	err := b.ForEach(func(k, v []byte) error {
		in, err := model.Decode(e, v)
		if err != nil {
			return err
		}
		out = append(out, in)
		return nil
	})
	return out, err
}

// Put writes in to the editing configuration under its key. origKey and rev
// say what the caller read: rev 0 means a new instance, which must not exist;
// otherwise the stored instance at origKey must still be at rev (else
// ErrConflict), and a changed key must not collide with another instance.
// On success in.Rev is the new revision.
func (t *Tx) Put(in *model.Instance, origKey string, rev uint64) error {
	e := in.Elem
	b, err := t.editing(e.Name, true)
	if err != nil {
		return err
	}
	key := in.Key()
	if rev == 0 {
		if b.Get(skey(key)) != nil {
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
		if key != origKey {
			if b.Get(skey(key)) != nil {
				return fmt.Errorf("%s [%s] %w; cannot rename [%s] to it", e.Name, key, ErrExists, origKey)
			}
			if err := b.Delete(skey(origKey)); err != nil {
				return err
			}
		}
	}
	seq, err := t.root().Bucket(bEditing).NextSequence()
	if err != nil {
		return err
	}
	in.Rev = seq
	enc, err := model.Encode(in)
	if err != nil {
		return err
	}
	return b.Put(skey(key), enc)
}

// Delete removes the editing instance of e with the key; rev, when not 0,
// must match the stored revision.
func (t *Tx) Delete(e *model.Element, key string, rev uint64) error {
	b, _ := t.editing(e.Name, false)
	cur, err := t.Get(e, key)
	if err != nil {
		return err
	}
	if cur == nil {
		return fmt.Errorf("%s [%s] %w", e.Name, key, ErrNotFound)
	}
	if rev != 0 && cur.Rev != rev {
		return fmt.Errorf("%s [%s] was %w since you selected it; select it again", e.Name, key, ErrConflict)
	}
	return b.Delete(skey(key))
}

// Editing loads the whole editing configuration.
func (t *Tx) Editing() (*model.Config, error) {
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

// Meta returns a meta value, or nil.
func (t *Tx) Meta(key string) []byte {
	v := t.root().Bucket(bMeta).Get([]byte(key))
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

// SetMeta stores a meta value; nil deletes it.
func (t *Tx) SetMeta(key string, val []byte) error {
	b := t.root().Bucket(bMeta)
	if val == nil {
		return b.Delete(skey(key))
	}
	return b.Put([]byte(key), val)
}
