package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acli-project/acli/internal/etcdtest"
)

// The package's tests share one 3-member etcd cluster on loopback.
var (
	cluster  *etcdtest.Cluster
	prefixes atomic.Int64 // a fresh key prefix per store
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "acli-etcd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster, err = etcdtest.Start(dir, 3)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	cluster.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// etcdStore returns a store under a fresh prefix of the test cluster,
// talking to the given members (all when none given).
func etcdStore(t testing.TB, members ...int) *Store {
	t.Helper()
	eps := cluster.Endpoints
	if len(members) > 0 {
		eps = nil
		for _, m := range members {
			eps = append(eps, cluster.Endpoints[m])
		}
	}
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	st, err := NewEtcd(Etcd{Endpoints: eps, Prefix: fmt.Sprintf("/acli-test/%s-%d", name, prefixes.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// sameEtcd returns another client (on the given members) of st's prefix:
// another process's store.
func sameEtcd(t testing.TB, st *Store, members ...int) *Store {
	t.Helper()
	var eps []string
	for _, m := range members {
		eps = append(eps, cluster.Endpoints[m])
	}
	o, err := NewEtcd(Etcd{Endpoints: eps, Prefix: st.etcd.base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// backends runs fn once per backend on a new, empty store.
func backends(t *testing.T, fn func(t *testing.T, st *Store)) {
	t.Helper()
	for _, b := range []struct {
		name string
		new  func(testing.TB) *Store
	}{
		{"bbolt", func(t testing.TB) *Store { return New(filepath.Join(t.TempDir(), "state", "acli", "acli.db")) }},
		{"etcd", func(t testing.TB) *Store { return etcdStore(t) }},
	} {
		t.Run(b.name, func(t *testing.T) { fn(t, b.new(t)) })
	}
}
