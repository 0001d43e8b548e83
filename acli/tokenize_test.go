package acli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		line string
		want []Token
		err  string
	}{
		{"", nil, ""},
		{"conf t", []Token{{Text: "conf", Pos: 0}, {Text: "t", Pos: 5}}, ""},
		{"  address\t172.16.10.76  ", []Token{{Text: "address", Pos: 2}, {Text: "172.16.10.76", Pos: 10}}, ""},
		{`description "core realm"`, []Token{{Text: "description"}, {Text: "core realm", Quoted: true, Pos: 12}}, ""},
		{`description ""`, []Token{{Text: "description"}, {Text: "", Quoted: true, Pos: 12}}, ""},
		{`d "say \"hi\" \\ now"`, []Token{{Text: "d"}, {Text: `say "hi" \ now`, Quoted: true, Pos: 2}}, ""},
		{"multi-homed-addrs (182.16.10.76 192.16.10.76 196.15.32.108)", []Token{{Text: "multi-homed-addrs"}, {List: true, Items: []string{"182.16.10.76", "192.16.10.76", "196.15.32.108"}, Pos: 18}}, ""},
		{"n (a)(b)", []Token{{Text: "n"}, {List: true, Items: []string{"a"}, Pos: 2}, {List: true, Items: []string{"b"}, Pos: 5}}, ""},
		{"n ()", []Token{{Text: "n"}, {List: true, Items: []string{}, Pos: 2}}, ""},
		{`n ("a b" c)`, []Token{{Text: "n"}, {List: true, Items: []string{"a b", "c"}, Pos: 2}}, ""},
		{"n (a b", nil, "unbalanced '(' at column 3: close the list with ')'"},
		{"n a)", nil, "unbalanced ')' at column 4"},
		{"n ((a))", nil, "nested '(' at column 4: lists cannot contain lists"},
		{`description "open`, nil, "unterminated quoted string starting at column 13"},
	}
	for _, tt := range tests {
		got, err := Tokenize(tt.line)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Tokenize(%q) error = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Tokenize(%q): %v", tt.line, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Tokenize(%q) mismatch (-want +got):\n%s", tt.line, diff)
		}
	}
}

// TestQuoteRoundTrip checks that quote renders any value so that Tokenize
// reads it back as the same single word.
func TestQuoteRoundTrip(t *testing.T) {
	for _, v := range []string{"", "a", "a b", `a"b`, `a\b`, "(x)", "tab\there", "m10:0"} {
		toks, err := Tokenize("p " + quote(v))
		if err != nil || len(toks) != 2 || toks[1].Text != v || toks[1].List {
			t.Errorf("quote(%q) = %s: read back %+v, %v", v, quote(v), toks, err)
		}
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"conf t", `d "a b"`, "m (a b c)", "(", ")", `"`, `"\`, "a?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		toks, err := Tokenize(line)
		if err != nil {
			return
		}
		for _, tk := range toks {
			if tk.Pos < 0 || tk.Pos > len(line) {
				t.Fatalf("token %+v has position outside %q", tk, line)
			}
		}
	})
}
