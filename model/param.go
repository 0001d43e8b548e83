package model

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Ref is a parameter of one element, looked up by name once, where a
// package declares the parameters it reads:
//
//	var spPort = model.SipPort.MustParam("port")
//
// A misspelt name panics when the package is loaded, so that every test of
// the package fails, rather than reading as an unset parameter; reading an
// instance through a Ref skips the schema's lookup of the name.
type Ref struct {
	elem  *Element
	param *Param
}

// MustParam returns the parameter of e called name. It panics when e
// declares no such parameter. It reads e.Params, so package-level variables
// may call it before the schema that holds e is built.
func (e *Element) MustParam(name string) Ref {
	for _, p := range e.Params {
		if p.Name == name {
			return Ref{elem: e, param: p}
		}
	}
	panicUnknown(e, name)
	return Ref{}
}

// panicUnknown panics for a name e does not declare.
func panicUnknown(e *Element, name string) {
	names := make([]string, len(e.Params))
	for i, p := range e.Params {
		names[i] = p.Name
	}
	panic(fmt.Sprintf("model: %s has no parameter %q (it has %s)", e.Name, name, strings.Join(names, ", ")))
}

// Name is the parameter's name.
func (r Ref) Name() string { return r.param.Name }

// Param is the parameter's description in the schema.
func (r Ref) Param() *Param { return r.param }

// Element is the element the parameter belongs to.
func (r Ref) Element() *Element { return r.elem }

// String is "element.parameter".
func (r Ref) String() string { return r.elem.Name + "." + r.param.Name }

// of returns the parameter as in's element declares it. in must be an
// instance of r's element, or of an element of the same name (in another
// schema) that declares the parameter; anything else panics.
func (r Ref) of(in *Instance) *Param {
	if in.Elem == r.elem {
		return r.param
	}
	return r.other(in)
}

// other is of for an instance of another *Element.
func (r Ref) other(in *Instance) *Param {
	if in.Elem != nil && in.Elem.Name == r.elem.Name {
		if p := in.Elem.Param(r.param.Name); p != nil {
			return p
		}
	}
	elem := "no element"
	if in.Elem != nil {
		elem = in.Elem.Name
	}
	panic(fmt.Sprintf("model: %s read on an instance of %s", r, elem))
}

// Get returns the parameter's value in in: the explicit one, else the
// default (Instance.Get).
func (r Ref) Get(in *Instance) []string { return in.value(r.of(in)) }

// Str returns a scalar value ("" when unset without default).
func (r Ref) Str(in *Instance) string { return in.str(r.of(in)) }

// Int returns an integer value (0 when unset without default).
func (r Ref) Int(in *Instance) int64 { return parseInt(r.Str(in)) }

// Addr returns an IP value; the zero Addr when unset.
func (r Ref) Addr(in *Instance) netip.Addr { return parseAddr(r.Str(in)) }

// IsSet reports whether the parameter is set explicitly in in.
func (r Ref) IsSet(in *Instance) bool {
	_, ok := in.Values[r.of(in).Name]
	return ok
}

// Set stores canonical items for the parameter in in (Instance.Set).
func (r Ref) Set(in *Instance, items []string) { in.set(r.of(in), items) }

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func parseAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}
