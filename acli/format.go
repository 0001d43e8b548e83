package acli

import (
	"io"
	"strings"

	"github.com/acli-project/acli/model"
)

// Layout of element text (show, done, show configuration), as on the
// appliance: the element keyword at the margin, parameters indented 8, names
// padded so that values start in a fixed column, list items one per line
// under the value column, sub-elements 8 deeper.
const (
	indentStep = 8
	nameWidth  = 32
)

// writeInstance shows an instance on the shell's output.
func (s *Shell) writeInstance(in *model.Instance, short bool) {
	writeInstance(s.out, in, 0, short)
}

const spaces = "                                                                "

// writeInstance writes the element text of an instance to w.
func writeInstance(w io.Writer, in *model.Instance, depth int, short bool) {
	sw, ok := w.(io.StringWriter)
	if !ok {
		sw = &stringWriter{w}
	}
	indent := depth * indentStep
	sw.WriteString(spaces[:indent])
	sw.WriteString(in.Elem.Name)
	sw.WriteString("\n")
	inner := indent + indentStep
	line := func(name, value string) {
		sw.WriteString(spaces[:inner])
		if value == "" {
			sw.WriteString(name)
			sw.WriteString("\n")
			return
		}
		sw.WriteString(name)
		if len(name) >= nameWidth {
			sw.WriteString(" ")
		} else {
			sw.WriteString(spaces[:nameWidth-len(name)])
		}
		sw.WriteString(value)
		sw.WriteString("\n")
	}
	for _, p := range in.Elem.Params {
		v := in.Get(p.Name)
		if short && atDefault(p, v) {
			continue
		}
		if len(v) == 0 {
			line(p.Name, "")
			continue
		}
		for i, item := range v {
			name := p.Name
			if i > 0 {
				name = ""
			}
			line(name, item)
		}
	}
	for _, sub := range in.Subs {
		writeInstance(w, sub, depth+1, short)
	}
	if !in.ModifiedAt.IsZero() {
		line("last-modified-by", in.ModifiedBy)
		line("last-modified-date", in.ModifiedAt.Format("2006-01-02 15:04:05"))
	}
}

type stringWriter struct{ w io.Writer }

func (s *stringWriter) WriteString(x string) (int, error) { return io.WriteString(s.w, x) }

// atDefault reports whether v is the parameter's default (empty included).
func atDefault(p *model.Param, v []string) bool {
	if p.Default == "" {
		return len(v) == 0
	}
	return len(v) == 1 && v[0] == p.Default
}

func padRight(s string, w int) string {
	if len(s) >= w {
		return s + " "
	}
	return s + strings.Repeat(" ", w-len(s))
}

// formatValue renders a value inline, lists as (a b c).
func formatValue(p *model.Param, v []string) string {
	if !p.List {
		if len(v) == 0 {
			return `""`
		}
		return quote(v[0])
	}
	q := make([]string, len(v))
	for i, x := range v {
		q[i] = quote(x)
	}
	return "(" + strings.Join(q, " ") + ")"
}
