package model_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
)

// TestMisspeltNamePanics: a parameter name the element does not declare
// panics, whether resolved once (MustParam) or read by name, and the panic
// names the element and the name; a Ref read on another element's instance
// panics too.
func TestMisspeltNamePanics(t *testing.T) {
	sa := model.NewInstance(model.SessionAgent)
	port := model.SipPort.MustParam("port")
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"MustParam", func() { model.SessionAgent.MustParam("ip-adress") }, `session-agent has no parameter "ip-adress"`},
		{"Get", func() { sa.Get("ip-adress") }, `session-agent has no parameter "ip-adress"`},
		{"Str", func() { sa.Str("realmid") }, `session-agent has no parameter "realmid"`},
		{"Int", func() { sa.Int("sctp-sack-timout") }, `session-agent has no parameter "sctp-sack-timout"`},
		{"Addr", func() { sa.Addr("adress") }, `session-agent has no parameter "adress"`},
		{"IsSet", func() { sa.IsSet("hostnam") }, `session-agent has no parameter "hostnam"`},
		{"Set", func() { sa.Set("colour", []string{"red"}) }, `session-agent has no parameter "colour"`},
		{"another element's parameter", func() { sa.Int("sctp-sack-timeout") }, `session-agent has no parameter "sctp-sack-timeout"`},
		{"Ref on another element", func() { port.Int(sa) }, "sip-port.port read on an instance of session-agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, tt.want) {
					t.Fatalf("panic %q, want it to say %q", msg, tt.want)
				}
			}()
			tt.call()
		})
	}
}

// TestRefReadsAsByName: for every parameter of every element, set and
// unset, a Ref reads and writes what the accessors by name do.
func TestRefReadsAsByName(t *testing.T) {
	var elems []*model.Element
	for _, e := range model.Default.Elements() {
		elems = append(append(elems, e), e.Subs...)
	}
	for _, e := range elems {
		for _, p := range e.Params {
			r := e.MustParam(p.Name)
			if r.Name() != p.Name || r.Param() != p || r.Element() != e {
				t.Fatalf("%s: MustParam(%q) = %s", e.Name, p.Name, r)
			}
			byName, byRef := model.NewInstance(e), model.NewInstance(e)
			for _, v := range [][]string{nil, {p.Default}, {"7"}, {"10.0.0.1"}, {""}, {}} {
				if v != nil {
					byName.Set(p.Name, v)
					r.Set(byRef, v)
				}
				for _, in := range []*model.Instance{byName, byRef} {
					if !slices.Equal(r.Get(in), in.Get(p.Name)) || r.Str(in) != in.Str(p.Name) ||
						r.Int(in) != in.Int(p.Name) || r.Addr(in) != in.Addr(p.Name) || r.IsSet(in) != in.IsSet(p.Name) {
						t.Fatalf("%s after Set(%q): the Ref reads %q, by name %q", r, v, r.Get(in), in.Get(p.Name))
					}
				}
				if !slices.Equal(byName.Get(p.Name), byRef.Get(p.Name)) || byName.IsSet(p.Name) != byRef.IsSet(p.Name) {
					t.Fatalf("%s after Set(%q): by name %q, by Ref %q", r, v, byName.Get(p.Name), byRef.Get(p.Name))
				}
			}
		}
	}
}
