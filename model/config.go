package model

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Instance is one configured instance of an element. Values holds only the
// parameters set explicitly, in canonical text; Get falls back to defaults.
type Instance struct {
	Elem   *Element
	Values map[string][]string
	Subs   []*Instance // sub-element instances, e.g. sip-ports of a sip-interface

	ModifiedBy string
	ModifiedAt time.Time
	// Rev is the store revision the instance was read at (0: never stored).
	Rev uint64
}

// NewInstance returns an empty instance of e.
func NewInstance(e *Element) *Instance {
	return &Instance{Elem: e, Values: map[string][]string{}}
}

// The accessors by name below panic when in's element declares no
// parameter of that name: a misspelt name is a programming error that must
// fail every test that reaches it, not read as an unset parameter. Code
// that reads known parameters resolves them once instead (Element.MustParam).

// Get returns the value of the parameter: the explicit one, else the default.
func (in *Instance) Get(name string) []string { return in.value(in.param(name)) }

// Str returns a scalar value ("" when unset without default).
func (in *Instance) Str(name string) string { return in.str(in.param(name)) }

// Int returns an integer value (0 when unset without default).
func (in *Instance) Int(name string) int64 { return parseInt(in.Str(name)) }

// Addr returns an IP value; the zero Addr when unset.
func (in *Instance) Addr(name string) netip.Addr { return parseAddr(in.Str(name)) }

// IsSet reports whether the parameter was set explicitly.
func (in *Instance) IsSet(name string) bool {
	_, ok := in.Values[in.param(name).Name]
	return ok
}

// Set stores canonical items for the parameter. Setting a value equal to the
// empty default removes it.
func (in *Instance) Set(name string, items []string) { in.set(in.param(name), items) }

// param returns the parameter of in's element called name; it panics when
// there is none.
func (in *Instance) param(name string) *Param {
	p := in.Elem.byName[name]
	if p == nil {
		panicUnknown(in.Elem, name)
	}
	return p
}

// value returns p's value in in: the explicit one, else the default.
func (in *Instance) value(p *Param) []string {
	if v, ok := in.Values[p.Name]; ok {
		return v
	}
	if p.Default == "" {
		return nil
	}
	return []string{p.Default}
}

// str returns p's scalar value in in, the default when unset.
func (in *Instance) str(p *Param) string {
	if v, ok := in.Values[p.Name]; ok {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	return p.Default
}

func (in *Instance) set(p *Param, items []string) {
	if !p.List && p.Default == "" && len(items) == 1 && items[0] == "" || p.List && len(items) == 0 {
		delete(in.Values, p.Name)
		return
	}
	in.Values[p.Name] = items
}

// KeyValues returns the values of the element's key parameters.
func (in *Instance) KeyValues() []string {
	kv := make([]string, len(in.Elem.Keys))
	for i, k := range in.Elem.Keys {
		kv[i] = in.Str(k)
	}
	return kv
}

// Key identifies the instance among its element's instances, e.g. "m10:0"
// for a network-interface. Singletons have the empty key.
func (in *Instance) Key() string { return strings.Join(in.KeyValues(), ":") }

// Clone returns a deep copy.
func (in *Instance) Clone() *Instance {
	c := *in
	c.Values = make(map[string][]string, len(in.Values))
	for k, v := range in.Values {
		c.Values[k] = slices.Clone(v)
	}
	c.Subs = make([]*Instance, len(in.Subs))
	for i, s := range in.Subs {
		c.Subs[i] = s.Clone()
	}
	if len(in.Subs) == 0 {
		c.Subs = nil
	}
	return &c
}

// SubsOf returns the sub-instances of the given sub-element.
func (in *Instance) SubsOf(sub *Element) []*Instance {
	var out []*Instance
	for _, s := range in.Subs {
		if s.Elem == sub {
			out = append(out, s)
		}
	}
	return out
}

// Config is an in-memory snapshot of a whole configuration.
type Config struct {
	Schema *Schema
	elems  map[string]map[string]*Instance
}

// NewConfig returns an empty configuration over the schema.
func NewConfig(s *Schema) *Config {
	return &Config{Schema: s, elems: map[string]map[string]*Instance{}}
}

// Put adds or replaces the instance under its key.
func (c *Config) Put(in *Instance) {
	m := c.elems[in.Elem.Name]
	if m == nil {
		m = map[string]*Instance{}
		c.elems[in.Elem.Name] = m
	}
	m[in.Key()] = in
}

// Delete removes the instance of the element with the key.
func (c *Config) Delete(elem, key string) { delete(c.elems[elem], key) }

// Get returns the instance of the element with the key, or nil.
func (c *Config) Get(elem, key string) *Instance { return c.elems[elem][key] }

// List returns the instances of an element in key order (see CompareKeys).
func (c *Config) List(elem string) []*Instance {
	m := c.elems[elem]
	out := make([]*Instance, 0, len(m))
	for _, in := range m {
		out = append(out, in)
	}
	SortInstances(out)
	return out
}

// CompareKeys orders two instances of one element by their key parameters
// in turn: integers by value, IP addresses by address, other values as
// text; so m1:0 comes before m1:2 and m10:0, and 9.0.0.1 before 10.0.0.1.
func CompareKeys(a, b *Instance) int {
	ka, kb := a.KeyValues(), b.KeyValues()
	for i, k := range a.Elem.Keys {
		if c := compareValue(a.Elem.Param(k), ka[i], kb[i]); c != 0 {
			return c
		}
	}
	return strings.Compare(a.Key(), b.Key())
}

// compareValue is a total order: values of the parameter's type (integers,
// addresses) first, by value; anything else after them, as text.
func compareValue(p *Param, a, b string) int {
	if a == b {
		return 0
	}
	switch p.Type {
	case Int:
		x, errx := strconv.ParseInt(a, 10, 64)
		y, erry := strconv.ParseInt(b, 10, 64)
		if c := cmp.Compare(errNil(errx), errNil(erry)); c != 0 || errx != nil {
			return cmp.Or(c, strings.Compare(a, b))
		}
		return cmp.Compare(x, y)
	case IP, Host:
		x, errx := netip.ParseAddr(a)
		y, erry := netip.ParseAddr(b)
		if c := cmp.Compare(errNil(errx), errNil(erry)); c != 0 || errx != nil {
			return cmp.Or(c, strings.Compare(a, b))
		}
		return cmp.Or(x.Compare(y), strings.Compare(a, b))
	}
	return strings.Compare(a, b)
}

// errNil is 0 for a nil error, else 1.
func errNil(err error) int {
	if err == nil {
		return 0
	}
	return 1
}

// SortInstances sorts instances of one element in key order (CompareKeys).
// Each instance's key is parsed once, not at every comparison.
func SortInstances(ins []*Instance) {
	if len(ins) < 2 {
		return
	}
	type keyed struct {
		in   *Instance
		vals []sortVal
		key  string
	}
	ks := make([]keyed, len(ins))
	for i, in := range ins {
		kv := in.KeyValues()
		vals := make([]sortVal, len(kv))
		for j, k := range in.Elem.Keys {
			vals[j] = newSortVal(in.Elem.Param(k), kv[j])
		}
		ks[i] = keyed{in, vals, strings.Join(kv, ":")}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		for i := range a.vals {
			if c := a.vals[i].compare(b.vals[i]); c != 0 {
				return c
			}
		}
		return strings.Compare(a.key, b.key)
	})
	for i := range ks {
		ins[i] = ks[i].in
	}
}

// sortVal is a key value parsed for ordering as compareValue orders it.
type sortVal struct {
	typed bool // parsed as the parameter's type
	n     int64
	a     netip.Addr
	s     string
}

func newSortVal(p *Param, s string) sortVal {
	v := sortVal{s: s}
	switch p.Type {
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		v.typed, v.n = err == nil, n
	case IP, Host:
		a, err := netip.ParseAddr(s)
		v.typed, v.a = err == nil, a
	}
	return v
}

func (x sortVal) compare(y sortVal) int {
	if x.s == y.s {
		return 0
	}
	if x.typed != y.typed {
		if x.typed {
			return -1
		}
		return 1
	}
	if !x.typed {
		return strings.Compare(x.s, y.s)
	}
	return cmp.Or(cmp.Compare(x.n, y.n), x.a.Compare(y.a), strings.Compare(x.s, y.s))
}

// Len returns the number of instances of the element.
func (c *Config) Len(elem string) int { return len(c.elems[elem]) }

// Count returns the number of instances of every element, sub-elements included.
func (c *Config) Count() int {
	n := 0
	for _, m := range c.elems {
		for _, in := range m {
			n += 1 + len(in.Subs)
		}
	}
	return n
}

// NetworkParameters returns the network-parameters instance, or one holding
// only defaults when none is configured.
func (c *Config) NetworkParameters() *Instance {
	if in := c.Get(NetworkParameters.Name, ""); in != nil {
		return in
	}
	return NewInstance(NetworkParameters)
}

// Clone returns a deep copy of the configuration.
func (c *Config) Clone() *Config {
	n := NewConfig(c.Schema)
	for _, m := range c.elems {
		for _, in := range m {
			n.Put(in.Clone())
		}
	}
	return n
}
