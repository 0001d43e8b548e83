package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBackends compares bbolt (a file, one fsync per commit) with the
// 3-member etcd cluster on loopback (fsync off: the network and etcd's
// limits are what is measured): "script" stores 10,000 session-agents in
// one session transaction (a script; staged on etcd), "save" saves a
// configuration of 10,000 agents after changing one (a 10,000-record
// copy), "activate" activates a saved version.
func BenchmarkBackends(b *testing.B) {
	ins := batch(b)
	for _, be := range []struct {
		name string
		new  func(testing.TB) *Store
	}{
		{"bbolt", func(t testing.TB) *Store { return New(filepath.Join(t.TempDir(), "a.db")) }},
		{"etcd", func(t testing.TB) *Store { return etcdStore(t) }},
	} {
		load := func(b *testing.B, st *Store) {
			ss, err := st.OpenSession()
			if err != nil {
				b.Fatal(err)
			}
			defer ss.Close()
			tx, err := ss.Begin()
			if err != nil {
				b.Fatal(err)
			}
			for _, in := range ins {
				if err := tx.Put(in.Clone(), "", 0); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(be.name+"/script", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st := be.new(b)
				b.StartTimer()
				load(b, st)
			}
		})
		st := be.new(b)
		load(b, st)
		b.Run(be.name+"/save", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if err := st.Update(func(tx *Tx) error {
					in, err := tx.Get(ins[0].Elem, ins[0].Key())
					if err != nil {
						return err
					}
					in.Set("description", []string{fmt.Sprint("change ", i)})
					if err := tx.Put(in, in.Key(), in.Rev); err != nil {
						return err
					}
					_, err = tx.Save(VersionInfo{User: "admin", Time: time.Now()})
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.name+"/activate", func(b *testing.B) {
			for b.Loop() {
				if err := st.Update(func(tx *Tx) error {
					_, err := tx.Activate(tx.SavedVersion(), time.Now(), 0, "admin")
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
