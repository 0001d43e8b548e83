package model

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrInvalidValue is wrapped by every value error.
var ErrInvalidValue = errors.New("invalid value")

// ValueError reports a value a parameter does not accept.
type ValueError struct {
	Param   string
	Value   string
	Allowed string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("Invalid value %q for %s: allowed %s", e.Value, e.Param, e.Allowed)
}

// Unwrap lets callers test for ErrInvalidValue.
func (e *ValueError) Unwrap() error { return ErrInvalidValue }

// countError reports a scalar parameter given other than one value.
type countError struct {
	p *Param
	n int
}

func (e *countError) Error() string {
	return fmt.Sprintf("%s takes one value, got %d: allowed %s", e.p.Name, e.n, e.p.Allowed())
}

// Unwrap lets callers test for ErrInvalidValue.
func (e *countError) Unwrap() error { return ErrInvalidValue }

// Parse checks items against the parameter and returns their canonical text.
// A scalar parameter takes exactly one item; an empty scalar of a String, IP
// or Host type clears it. A list parameter takes any number of items.
// Every error wraps ErrInvalidValue.
func (p *Param) Parse(items []string) ([]string, error) {
	if !p.List && len(items) != 1 {
		return nil, &countError{p: p, n: len(items)}
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		c, err := p.parseItem(it)
		if err != nil {
			return nil, err
		}
		if p.List && c == "" {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// MatchEnum resolves an enum word by exact (case-insensitive) match or unique
// prefix. It returns the canonical value and the candidates when ambiguous.
func (p *Param) MatchEnum(s string) (string, []string) {
	var cands []string
	for _, v := range p.Values {
		if strings.EqualFold(v, s) {
			return v, nil
		}
		if len(s) <= len(v) && strings.EqualFold(v[:len(s)], s) {
			cands = append(cands, v)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	return "", cands
}

func (p *Param) bad(s string) error {
	allowed := p.Allowed()
	if p.List {
		allowed = strings.TrimSuffix(strings.TrimPrefix(allowed, "a list of "), ", as (a b c)")
	}
	return &ValueError{Param: p.Name, Value: s, Allowed: allowed}
}

func (p *Param) parseItem(s string) (string, error) {
	if s == "" {
		switch p.Type {
		case String, IP, Host, Prefix, IfaceRef:
			return "", nil
		case Enum:
			if p.Default == "" {
				return "", nil
			}
		}
		return "", p.bad(s)
	}
	switch p.Type {
	case String:
		return s, nil
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !p.inRange(n) {
			return "", p.bad(s)
		}
		return strconv.FormatInt(n, 10), nil
	case Enum:
		v, cands := p.MatchEnum(s)
		if v == "" {
			if len(cands) > 1 {
				return "", &ValueError{Param: p.Name, Value: s, Allowed: "one of " + strings.Join(cands, ", ") + " (ambiguous)"}
			}
			return "", p.bad(s)
		}
		return v, nil
	case IP:
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return "", p.bad(s)
		}
		return a.String(), nil
	case Prefix:
		if strings.Contains(s, "/") {
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				return "", p.bad(s)
			}
			return pf.String(), nil
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return "", p.bad(s)
		}
		return a.String(), nil
	case IfaceRef:
		name, sub, ok := strings.Cut(s, ":")
		if !ok {
			sub = "0"
		}
		n, err := strconv.ParseUint(sub, 10, 16)
		if name == "" || !validName(name) || err != nil || n > 4095 {
			return "", p.bad(s)
		}
		return name + ":" + strconv.FormatUint(n, 10), nil
	case Host:
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			return a.String(), nil
		}
		if !validHostname(s) {
			return "", p.bad(s)
		}
		return s, nil
	}
	return "", p.bad(s)
}

// inRange reports whether n is within [Min, Max] and, when Ranges is set,
// within one of them.
func (p *Param) inRange(n int64) bool {
	if n < p.Min || n > p.Max {
		return false
	}
	if len(p.Ranges) == 0 {
		return true
	}
	for _, r := range p.Ranges {
		if n >= r[0] && n <= r[1] {
			return true
		}
	}
	return false
}

func validName(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == ':' || r == '(' || r == ')' || r == '"' || r == 0x7f {
			return false
		}
	}
	return true
}

// validHostname accepts RFC 1123 host names (letters, digits, '-', '_',
// dots). The last label must not be all digits (RFC 3696 section 2), so that
// a mistyped address such as 10.0.0.300 is not taken for a name.
func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
