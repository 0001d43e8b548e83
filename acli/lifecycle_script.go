package acli

import (
	"strings"

	"github.com/acli-project/acli/model"
)

// configScript returns the ACLI commands that rebuild cfg on an empty
// database: configure terminal, then every instance in schema order and key
// order, each with the parameters set explicitly, its sub-elements, done and
// exit. Commands are indented by the depth of the mode they are typed in.
func configScript(cfg *model.Config) string {
	var w strings.Builder
	line := func(depth int, text string) {
		w.WriteString(strings.Repeat("  ", depth) + text + "\n")
	}
	var inst func(depth int, in *model.Instance)
	inst = func(depth int, in *model.Instance) {
		line(depth, in.Elem.OpenCommand())
		for _, p := range in.Elem.Params {
			if in.IsSet(p.Name) {
				line(depth+1, p.Name+" "+scriptValue(p, in.Values[p.Name]))
			}
		}
		for _, sub := range in.Subs {
			inst(depth+1, sub)
		}
		line(depth+1, "done")
		line(depth+1, "exit")
	}
	line(0, "configure terminal")
	for _, c := range cfg.Schema.Containers {
		opened := false
		for _, e := range c.Elements {
			for _, in := range cfg.List(e.Name) {
				if !opened {
					line(1, c.Name)
					opened = true
				}
				inst(2, in)
			}
		}
		if opened {
			line(2, "exit")
		}
	}
	line(1, "exit")
	return w.String()
}

// scriptValue writes a value so that the shell reads it back unchanged:
// lists as (a b c), text quoted when it has spaces, quotes, parentheses or
// control characters, or ends with '?' (which would ask for help).
func scriptValue(p *model.Param, v []string) string {
	q := func(s string) string {
		if strings.HasSuffix(s, "?") || strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		return quote(s)
	}
	if !p.List {
		if len(v) == 0 {
			return `""`
		}
		return q(v[0])
	}
	items := make([]string, len(v))
	for i, x := range v {
		items[i] = q(x)
	}
	return "(" + strings.Join(items, " ") + ")"
}
