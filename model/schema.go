// Package model holds the element schema of the acli configuration, the
// in-memory configuration snapshot and the codec that stores it.
//
// The schema is the single source of truth: every element, parameter, key,
// type, default, range and help line is declared once here and read by the
// shell (parsing, completion, help, show), by verify and by the store.
package model

import (
	"fmt"
	"sort"
	"strings"
)

// Type is the value type of a parameter.
type Type int

// Parameter value types.
const (
	String   Type = iota // free text; quoted when it contains spaces
	Int                  // integer within [Min, Max]
	Enum                 // one of Values, matched case-insensitively by unique prefix
	IP                   // IPv4 or IPv6 address
	Prefix               // IP address with optional /bits
	IfaceRef             // network-interface reference: name or name:sub-port
	Host                 // host name (FQDN) or IP address
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int:
		return "integer"
	case Enum:
		return "enumeration"
	case IP:
		return "IP address"
	case Prefix:
		return "IP address[/bits]"
	case IfaceRef:
		return "interface name[:sub-port]"
	case Host:
		return "hostname or IP address"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Param describes one parameter of an element.
type Param struct {
	Name    string
	Type    Type
	List    bool   // value is a list, typed as (a b c)
	Default string // canonical text of the default; "" means empty
	Min     int64  // Int only
	Max     int64  // Int only
	// Ranges, when set (Int only), are the [lo, hi] ranges within Min-Max
	// the value must lie in, in increasing order: 0, 1025-65535.
	Ranges [][2]int64
	Values []string // Enum only, in canonical spelling
	Help   string   // one line
	// NewAssocOnly marks SCTP knobs whose change affects new associations only.
	NewAssocOnly bool
}

// Allowed describes the values the parameter accepts, for error messages and help.
func (p *Param) Allowed() string {
	var s string
	switch p.Type {
	case Int:
		if len(p.Ranges) == 0 {
			s = intRange(p.Min, p.Max)
			break
		}
		rs := make([]string, len(p.Ranges))
		for i, r := range p.Ranges {
			rs[i] = intRange(r[0], r[1])
		}
		s = strings.Join(rs, ", ")
	case Enum:
		s = strings.Join(p.Values, ", ")
	default:
		s = p.Type.String()
	}
	if p.List {
		s = "a list of " + s + ", as (a b c)"
	}
	return s
}

// intRange formats [lo, hi]: "0-500", "0", "-1 to 2147483647".
func intRange(lo, hi int64) string {
	switch {
	case lo == hi:
		return fmt.Sprint(lo)
	case lo < 0:
		return fmt.Sprintf("%d to %d", lo, hi)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// Element describes a configuration element (a configurable object type).
type Element struct {
	Name      string   // command name, e.g. "sip-interface"
	Command   string   // command that opens it when different from Name ("sip-ports")
	Prompt    string   // name shown in the prompt when different from Name ("sip-port")
	Keys      []string // parameters that identify an instance, in order
	Singleton bool     // exactly one instance (network-parameters)
	Params    []*Param
	Subs      []*Element // sub-elements edited inside an instance (sip-port in sip-interface)
	Parent    *Element   // set for sub-elements
	Help      string
	// SelectPrompt is the question select asks ("identifier"); default "<key>".
	SelectPrompt string
	// Summary lists the parameters shown after the key in select lists.
	Summary []string

	byName map[string]*Param
}

// Param returns the parameter with the exact name, or nil.
func (e *Element) Param(name string) *Param { return e.byName[name] }

// OpenCommand is the command that opens the element's mode.
func (e *Element) OpenCommand() string {
	if e.Command != "" {
		return e.Command
	}
	return e.Name
}

// PromptName is the element's name in the prompt.
func (e *Element) PromptName() string {
	if e.Prompt != "" {
		return e.Prompt
	}
	return e.Name
}

// Sub returns the sub-element with the given name, or nil.
func (e *Element) Sub(name string) *Element {
	for _, s := range e.Subs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Container is a configuration branch that only groups elements (system,
// media-manager, session-router).
type Container struct {
	Name     string
	Help     string
	Elements []*Element
}

// Schema is the whole element tree.
type Schema struct {
	Containers []*Container
	elements   map[string]*Element
	order      []*Element // top-level elements in tree order
}

// Element returns the top-level element with the exact name, or nil.
func (s *Schema) Element(name string) *Element { return s.elements[name] }

// Elements returns the top-level elements in tree order.
func (s *Schema) Elements() []*Element { return s.order }

// Container returns the container with the exact name, or nil.
func (s *Schema) Container(name string) *Container {
	for _, c := range s.Containers {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func newSchema(cs ...*Container) *Schema {
	s := &Schema{Containers: cs, elements: map[string]*Element{}}
	var index func(e *Element)
	index = func(e *Element) {
		e.byName = map[string]*Param{}
		for _, p := range e.Params {
			if _, dup := e.byName[p.Name]; dup {
				panic("model: duplicate parameter " + e.Name + "." + p.Name)
			}
			e.byName[p.Name] = p
			if p.Default != "" {
				if _, err := p.Parse([]string{p.Default}); err != nil && !p.List {
					panic(fmt.Sprintf("model: bad default for %s.%s: %v", e.Name, p.Name, err))
				}
			}
		}
		for _, k := range e.Keys {
			if e.byName[k] == nil {
				panic("model: key " + k + " is not a parameter of " + e.Name)
			}
		}
		for _, n := range e.Summary {
			if e.byName[n] == nil {
				panic("model: summary " + n + " is not a parameter of " + e.Name)
			}
		}
		for _, sub := range e.Subs {
			sub.Parent = e
			index(sub)
		}
	}
	for _, c := range cs {
		for _, e := range c.Elements {
			index(e)
			s.elements[e.Name] = e
			s.order = append(s.order, e)
		}
	}
	return s
}

// Names returns the parameter names of e, sorted.
func (e *Element) Names() []string {
	n := make([]string, 0, len(e.Params))
	for _, p := range e.Params {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}
