package acli

import "github.com/acli-project/acli/model/store"

// backend runs store transactions: one short transaction per call at a
// terminal, or the one transaction of a whole script.
type backend interface {
	read(fn func(*store.Tx) error) error
	write(fn func(*store.Tx) error) error
}

// directBackend opens the file for each transaction.
type directBackend struct{ st *store.Store }

func (b directBackend) read(fn func(*store.Tx) error) error  { return b.st.View(fn) }
func (b directBackend) write(fn func(*store.Tx) error) error { return b.st.Update(fn) }

// txBackend runs everything in one transaction (a script).
type txBackend struct{ tx *store.Tx }

func (b txBackend) read(fn func(*store.Tx) error) error  { return fn(b.tx) }
func (b txBackend) write(fn func(*store.Tx) error) error { return fn(b.tx) }
