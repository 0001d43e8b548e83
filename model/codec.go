package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// RecordVersion is the version of the encoded instance record.
const RecordVersion = 1

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt configuration record")

type record struct {
	V      int                 `json:"v"`
	Values map[string][]string `json:"values,omitempty"`
	Subs   []subRecord         `json:"subs,omitempty"`
	By     string              `json:"by,omitempty"`
	At     time.Time           `json:"at,omitzero"`
	Rev    uint64              `json:"rev,omitempty"`
}

type subRecord struct {
	Elem   string              `json:"elem"`
	Values map[string][]string `json:"values,omitempty"`
}

// Encode returns the stored form of an instance. It refuses an instance
// Decode would refuse (see Validate), so that nothing unreadable is stored.
func Encode(in *Instance) ([]byte, error) {
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	r := record{V: RecordVersion, Values: in.Values, By: in.ModifiedBy, At: in.ModifiedAt, Rev: in.Rev}
	for _, s := range in.Subs {
		r.Subs = append(r.Subs, subRecord{Elem: s.Elem.Name, Values: s.Values})
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", in.Elem.Name, err)
	}
	return b, nil
}

// Decode parses a stored instance of e strictly: unknown fields, unknown
// parameters, trailing data and values the schema rejects or that are not in
// the canonical form Instance.Set stores are errors wrapping ErrCorrupt.
func Decode(e *Element, b []byte) (*Instance, error) {
	var r record
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, e.Name, err)
	}
	// Decoder.More is false before a closing '}' or ']', so look at the rest.
	if rest := bytes.TrimLeft(b[d.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("%w: %s: trailing data", ErrCorrupt, e.Name)
	}
	if r.V != RecordVersion {
		return nil, fmt.Errorf("%w: %s: record version %d, this acli reads %d", ErrCorrupt, e.Name, r.V, RecordVersion)
	}
	in := NewInstance(e)
	in.ModifiedBy, in.ModifiedAt, in.Rev = r.By, r.At, r.Rev
	if r.Values != nil {
		in.Values = r.Values
	}
	for _, s := range r.Subs {
		sub := e.Sub(s.Elem)
		if sub == nil {
			return nil, fmt.Errorf("%w: %s has no sub-element %q", ErrCorrupt, e.Name, s.Elem)
		}
		si := NewInstance(sub)
		if s.Values != nil {
			si.Values = s.Values
		}
		in.Subs = append(in.Subs, si)
	}
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return in, nil
}

// Validate checks that the instance holds only what Instance.Set stores
// after Param.Parse: known parameters, valid values in canonical form, no
// empty lists and no cleared scalars without default; sub-instances of the
// element's sub-elements, with unique keys. Errors wrap ErrInvalidValue.
func (in *Instance) Validate() error {
	if in.Elem == nil {
		return fmt.Errorf("%w: instance of no element", ErrInvalidValue)
	}
	if err := checkValues(in.Elem, in.Values); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range in.Subs {
		if s == nil || s.Elem == nil || in.Elem.Sub(s.Elem.Name) != s.Elem {
			name := "<nil>"
			if s != nil && s.Elem != nil {
				name = s.Elem.Name
			}
			return fmt.Errorf("%w: %s has no sub-element %q", ErrInvalidValue, in.Elem.Name, name)
		}
		if len(s.Subs) > 0 {
			return fmt.Errorf("%w: %s: %s cannot hold sub-elements", ErrInvalidValue, in.Elem.Name, s.Elem.Name)
		}
		if err := checkValues(s.Elem, s.Values); err != nil {
			return fmt.Errorf("%s: %w", in.Elem.Name, err)
		}
		k := s.Elem.Name + "\x00" + s.Key()
		if seen[k] {
			return fmt.Errorf("%w: %s: %s [%s] appears twice", ErrInvalidValue, in.Elem.Name, s.Elem.Name, s.Key())
		}
		seen[k] = true
	}
	return nil
}

func checkValues(e *Element, vals map[string][]string) error {
	// Sorted, so that the first error reported does not vary.
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		items := vals[name]
		p := e.Param(name)
		if p == nil {
			return fmt.Errorf("%w: %s has no parameter %q", ErrInvalidValue, e.Name, name)
		}
		c, err := p.Parse(items)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if !slices.Equal(c, items) || len(items) == 0 ||
			!p.List && p.Default == "" && items[0] == "" {
			return fmt.Errorf("%w: %s: %s value %q is not in canonical form", ErrInvalidValue, e.Name, name, items)
		}
	}
	return nil
}
