package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// kv is the ordered key-value transaction the store's rules are written
// against: nested buckets named by a path below the store's root, each
// holding keys in byte order and a sequence. bbolt implements it directly
// (boltKV); etcd with an optimistic transaction (etcdKV).
//
// Values returned are valid until the transaction ends. Writes to a bucket
// that does not exist fail; createBucket makes it.
type kv interface {
	// get returns the value of k in bucket b, or nil (no such key, or a
	// sub-bucket).
	get(b []string, k []byte) []byte
	put(b []string, k, v []byte) error
	del(b []string, k []byte) error
	// each calls fn for the keys of b in byte order; a sub-bucket's value
	// is nil.
	each(b []string, fn func(k, v []byte) error) error
	// buckets lists the names of b's sub-buckets in byte order.
	buckets(b []string) []string
	hasBucket(b []string) bool
	// createBucket makes b, which must not exist; ordered says that its
	// keys will arrive in order (bbolt then fills its pages).
	createBucket(b []string, ordered bool) error
	// deleteBucket removes b and everything in it.
	deleteBucket(b []string) error
	nextSequence(b []string) (uint64, error)
	sequence(b []string) uint64
	setSequence(b []string, n uint64) error
	writable() bool
	// commit and rollback end a transaction begun by Session.Begin.
	commit() error
	rollback() error
}

// Bucket paths of the layout, below the root.
var (
	pMeta     = []string{string(bMeta)}
	pEditing  = []string{string(bEditing)}
	pVersions = []string{string(bVersions)}
)

// under returns the path of bucket name below p.
func under(p []string, name ...string) []string {
	return append(append(make([]string, 0, len(p)+len(name)), p...), name...)
}

// boltKV is a kv on a bbolt transaction, rooted at the "acli" bucket.
type boltKV struct{ tx *bolt.Tx }

func (b boltKV) bucket(p []string) *bolt.Bucket {
	bk := b.tx.Bucket(bRoot)
	for _, n := range p {
		if bk == nil {
			return nil
		}
		bk = bk.Bucket([]byte(n))
	}
	return bk
}

func (b boltKV) must(p []string) (*bolt.Bucket, error) {
	if bk := b.bucket(p); bk != nil {
		return bk, nil
	}
	return nil, fmt.Errorf("no bucket %q", p)
}

func (b boltKV) get(p []string, k []byte) []byte {
	if bk := b.bucket(p); bk != nil {
		return bk.Get(k)
	}
	return nil
}

func (b boltKV) put(p []string, k, v []byte) error {
	bk, err := b.must(p)
	if err != nil {
		return err
	}
	return bk.Put(k, v)
}

func (b boltKV) del(p []string, k []byte) error {
	bk, err := b.must(p)
	if err != nil {
		return err
	}
	return bk.Delete(k)
}

func (b boltKV) each(p []string, fn func(k, v []byte) error) error {
	if bk := b.bucket(p); bk != nil {
		return bk.ForEach(fn)
	}
	return nil
}

func (b boltKV) buckets(p []string) []string {
	var out []string
	if bk := b.bucket(p); bk != nil {
		bk.ForEachBucket(func(k []byte) error { out = append(out, string(k)); return nil })
	}
	return out
}

func (b boltKV) hasBucket(p []string) bool { return b.bucket(p) != nil }

func (b boltKV) createBucket(p []string, ordered bool) error {
	if len(p) == 0 {
		_, err := b.tx.CreateBucket(bRoot)
		return err
	}
	parent, err := b.must(p[:len(p)-1])
	if err != nil {
		return err
	}
	bk, err := parent.CreateBucket([]byte(p[len(p)-1]))
	if err != nil {
		return err
	}
	if ordered {
		bk.FillPercent = 1
	}
	return nil
}

func (b boltKV) deleteBucket(p []string) error {
	if len(p) == 0 {
		return b.tx.DeleteBucket(bRoot)
	}
	parent, err := b.must(p[:len(p)-1])
	if err != nil {
		return err
	}
	return parent.DeleteBucket([]byte(p[len(p)-1]))
}

func (b boltKV) nextSequence(p []string) (uint64, error) {
	bk, err := b.must(p)
	if err != nil {
		return 0, err
	}
	return bk.NextSequence()
}

func (b boltKV) sequence(p []string) uint64 {
	if bk := b.bucket(p); bk != nil {
		return bk.Sequence()
	}
	return 0
}

func (b boltKV) setSequence(p []string, n uint64) error {
	bk, err := b.must(p)
	if err != nil {
		return err
	}
	return bk.SetSequence(n)
}

func (b boltKV) writable() bool  { return b.tx.Writable() }
func (b boltKV) commit() error   { return b.tx.Commit() }
func (b boltKV) rollback() error { return b.tx.Rollback() }

// copyKV copies bucket p of src, with its keys, sub-buckets and sequences,
// into dst, where it must not exist. Values are copied out of src.
func copyKV(dst, src kv, p []string) error {
	if err := dst.createBucket(p, true); err != nil {
		return err
	}
	if err := dst.setSequence(p, src.sequence(p)); err != nil {
		return err
	}
	if err := src.each(p, func(k, v []byte) error {
		if v == nil {
			return nil // a sub-bucket
		}
		return dst.put(p, append([]byte(nil), k...), append([]byte(nil), v...))
	}); err != nil {
		return err
	}
	for _, n := range src.buckets(p) {
		if err := copyKV(dst, src, under(p, n)); err != nil {
			return err
		}
	}
	return nil
}
