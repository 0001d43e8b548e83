package store

import "testing"

// Backends runs fn once per backend on a new, empty store (for the
// package store_test).
func Backends(t *testing.T, fn func(t *testing.T, st *Store)) { backends(t, fn) }

// SameEtcd returns another client of st's etcd prefix on the given members.
func SameEtcd(t testing.TB, st *Store, members ...int) *Store { return sameEtcd(t, st, members...) }
