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

// Encode returns the stored form of an instance.
func Encode(in *Instance) ([]byte, error) {
	r := record{V: RecordVersion, Values: in.Values, By: in.ModifiedBy, At: in.ModifiedAt, Rev: in.Rev}
	for _, s := range in.Subs {
		r.Subs = append(r.Subs, subRecord{Elem: s.Elem.Name, Values: s.Values})
	}
	return json.Marshal(r)
}

// Decode parses a stored instance of e strictly: unknown fields, unknown
// parameters and values the schema rejects are errors wrapping ErrCorrupt.
func Decode(e *Element, b []byte) (*Instance, error) {
	var r record
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, e.Name, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: %s: trailing data", ErrCorrupt, e.Name)
	}
	if r.V != RecordVersion {
		return nil, fmt.Errorf("%w: %s: record version %d, this acli reads %d", ErrCorrupt, e.Name, r.V, RecordVersion)
	}
	in := NewInstance(e)
	in.ModifiedBy, in.ModifiedAt, in.Rev = r.By, r.At, r.Rev
	if err := checkValues(e, r.Values); err != nil {
		return nil, err
	}
	if r.Values != nil {
		in.Values = r.Values
	}
	for _, s := range r.Subs {
		sub := e.Sub(s.Elem)
		if sub == nil {
			return nil, fmt.Errorf("%w: %s has no sub-element %q", ErrCorrupt, e.Name, s.Elem)
		}
		if err := checkValues(sub, s.Values); err != nil {
			return nil, err
		}
		si := NewInstance(sub)
		if s.Values != nil {
			si.Values = s.Values
		}
		in.Subs = append(in.Subs, si)
	}
	return in, nil
}

func checkValues(e *Element, vals map[string][]string) error {
	for name, items := range vals {
		p := e.Param(name)
		if p == nil {
			return fmt.Errorf("%w: %s has no parameter %q", ErrCorrupt, e.Name, name)
		}
		c, err := p.Parse(items)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, e.Name, err)
		}
		if !slices.Equal(c, items) {
			return fmt.Errorf("%w: %s: %s value %q is not in canonical form", ErrCorrupt, e.Name, name, items)
		}
	}
	return nil
}
