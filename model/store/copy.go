package store

import "fmt"

// CopyTo copies the whole configuration (editing, every version, the saved
// and running pointers, settings, sequences) into dst, which must hold no
// configuration yet: acli migrate, between a file and etcd either way. It
// reads s in one transaction and writes dst in one.
func (s *Store) CopyTo(dst *Store) error {
	if ok, err := dst.Exists(); err != nil {
		return err
	} else if ok && !dst.empty() {
		return fmt.Errorf("%s already holds a configuration: migrate copies into a new one only", dst.Location())
	}
	return s.View(func(src *Tx) error {
		if err := src.validateAll(); err != nil {
			return fmt.Errorf("%s: %w", s.Location(), err)
		}
		return dst.Update(func(t *Tx) error { return copyRoot(t.kv, src.kv) })
	})
}

// empty reports whether the store holds an empty layout only (acli --init
// made it): no element, no version, no setting.
func (s *Store) empty() bool {
	empty := false
	s.View(func(t *Tx) error {
		b, err := t.lcKV()
		if err != nil {
			return err
		}
		empty = len(b.buckets(pEditing)) == 0 && len(b.buckets(pVersions)) == 0 && len(entries(b, pMeta)) == 0
		return nil
	})
	return empty
}

// validateAll checks every record, as restoring a backup does.
func (t *Tx) validateAll() error {
	b, err := t.lcKV()
	if err != nil {
		return err
	}
	return t.validate(b)
}
