package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	bolt "go.etcd.io/bbolt"
)

const batchSize = 10000

// batch returns batchSize session-agents as a script would create them.
func batch(b *testing.B) []*model.Instance {
	ins := make([]*model.Instance, batchSize)
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := range ins {
		ins[i] = agent(b, fmt.Sprintf("sa%05d.example.com", i),
			"ip-address", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			"transport-method", "staticSCTP", "realm-id", "core", "description", "peer")
		ins[i].ModifiedBy, ins[i].ModifiedAt = "admin@console", at
	}
	return ins
}

// BenchmarkPutBatch writes 10,000 session-agents in one transaction:
// "store" through Session and Tx.Put (validation, conflict checks,
// revisions, encoding), "bbolt" the same encoded records with bbolt alone,
// the physical floor. Both open a fresh file and commit (one fsync).
func BenchmarkPutBatch(b *testing.B) {
	ins := batch(b)
	b.Run("store", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			st := New(filepath.Join(b.TempDir(), fmt.Sprintf("%d.db", i)))
			ss, err := st.OpenSession()
			if err != nil {
				b.Fatal(err)
			}
			tx, err := ss.Begin()
			if err != nil {
				b.Fatal(err)
			}
			for _, in := range ins {
				if err := tx.Put(in, "", 0); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			ss.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/instance")
	})
	// The records as Put stores them.
	keys, vals := make([][]byte, len(ins)), make([][]byte, len(ins))
	for i, in := range ins {
		c := *in
		c.Rev = uint64(i + 1)
		enc, err := model.Encode(&c)
		if err != nil {
			b.Fatal(err)
		}
		keys[i], vals[i] = skey(in.Key()), enc
	}
	b.Run("bbolt", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			db, err := bolt.Open(filepath.Join(b.TempDir(), fmt.Sprintf("%d.db", i)), 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				root, err := tx.CreateBucket(bRoot)
				if err != nil {
					return err
				}
				ed, err := root.CreateBucket(bEditing)
				if err != nil {
					return err
				}
				bk, err := ed.CreateBucket([]byte(model.SessionAgent.Name))
				if err != nil {
					return err
				}
				for j := range keys {
					if err := bk.Put(keys[j], vals[j]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/instance")
	})
}
