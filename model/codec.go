package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
	b, err := appendRecord(make([]byte, 0, 512), &r)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", in.Elem.Name, err)
	}
	return b, nil
}

// appendRecord appends the JSON of r, byte for byte what json.Marshal
// writes (a test holds it to that), without reflection: done and save write
// one record per instance, and encoding/json dominated them.
func appendRecord(b []byte, r *record) ([]byte, error) {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(r.V), 10)
	if len(r.Values) > 0 {
		b = append(b, `,"values":`...)
		b = appendValues(b, r.Values)
	}
	if len(r.Subs) > 0 {
		b = append(b, `,"subs":[`...)
		for i, s := range r.Subs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"elem":`...)
			b = appendString(b, s.Elem)
			if len(s.Values) > 0 {
				b = append(b, `,"values":`...)
				b = appendValues(b, s.Values)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.By != "" {
		b = append(b, `,"by":`...)
		b = appendString(b, r.By)
	}
	if !r.At.IsZero() {
		t, err := r.At.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(b, `,"at":`...)
		b = append(b, t...)
	}
	if r.Rev != 0 {
		b = append(b, `,"rev":`...)
		b = strconv.AppendUint(b, r.Rev, 10)
	}
	return append(b, '}'), nil
}

func appendValues(b []byte, vals map[string][]string) []byte {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		items := vals[k]
		if items == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, it := range items {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, it)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendString writes plain printable ASCII directly and leaves everything
// else (escapes, HTML-safe forms, UTF-8 checks) to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
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
