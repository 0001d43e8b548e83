package acli

import (
	"errors"
	"slices"
	"strings"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
)

// showDiff is show configuration diff [FROM [TO]]: FROM defaults to
// running, TO to editing; each is a version number, saved, running or
// editing.
func (s *Shell) showDiff(args []Token) error {
	if len(args) > 2 {
		return errors.New("show configuration diff takes [FROM [TO]]: each a version number, saved, running or editing")
	}
	if err := s.expireConfirmed(); err != nil {
		return err
	}
	specs := []Token{{Text: "running"}, {Text: "editing"}}
	copy(specs, args)
	var cfgs [2]*model.Config
	var labels [2]string
	err := s.be.read(func(tx *store.Tx) error {
		for i, t := range specs {
			n, label, err := versionSpec(tx, "show configuration diff", t, true)
			if err != nil {
				return err
			}
			labels[i] = label
			switch {
			case label == "editing":
				cfgs[i], err = tx.Editing()
			case n == 0:
				cfgs[i] = model.NewConfig(s.opt.Store.Schema)
			default:
				cfgs[i], err = tx.VersionConfig(n)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	d := diffConfigs(cfgs[0], cfgs[1])
	if d == "" {
		s.printf("No differences between %s and %s\n", labels[0], labels[1])
		return nil
	}
	s.printf("Differences from %s to %s:\n%s", labels[0], labels[1], d)
	return nil
}

// diffConfigs describes what changed from a to b, element by element in
// schema order and key order: "<element> [<key>] added" with the parameters
// set, "... removed", or "... changed" with "<parameter> from X to Y" and
// the sub-elements added, removed or changed. It is "" when nothing did.
// Who stored an instance and when is not compared.
func diffConfigs(a, b *model.Config) string {
	var w strings.Builder
	for _, e := range a.Schema.Elements() {
		diffInstances(&w, 0, e, a.List(e.Name), b.List(e.Name))
	}
	return w.String()
}

// diffInstances compares two key-sorted lists of instances of e.
func diffInstances(w *strings.Builder, depth int, e *model.Element, old, cur []*model.Instance) {
	byKey := func(ins []*model.Instance) map[string]*model.Instance {
		m := make(map[string]*model.Instance, len(ins))
		for _, in := range ins {
			m[in.Key()] = in
		}
		return m
	}
	om, cm := byKey(old), byKey(cur)
	all := slices.Clone(cur)
	for _, in := range old {
		if cm[in.Key()] == nil {
			all = append(all, in)
		}
	}
	model.SortInstances(all)
	pad := strings.Repeat(" ", depth*indentStep)
	for _, in := range all {
		o, c := om[in.Key()], cm[in.Key()]
		head := pad + instanceName(in)
		switch {
		case o == nil:
			w.WriteString(head + " added\n")
			for _, p := range e.Params {
				if c.IsSet(p.Name) {
					diffLine(w, depth+1, p.Name, formatValue(p, c.Get(p.Name)))
				}
			}
			for _, sub := range e.Subs {
				diffInstances(w, depth+1, sub, nil, sortedSubs(c, sub))
			}
		case c == nil:
			w.WriteString(head + " removed\n")
		default:
			var body strings.Builder
			for _, p := range e.Params {
				ov, cv := o.Get(p.Name), c.Get(p.Name)
				if !slices.Equal(ov, cv) {
					diffLine(&body, depth+1, p.Name, "from "+formatValue(p, ov)+" to "+formatValue(p, cv))
				}
			}
			for _, sub := range e.Subs {
				diffInstances(&body, depth+1, sub, sortedSubs(o, sub), sortedSubs(c, sub))
			}
			if body.Len() > 0 {
				w.WriteString(head + " changed\n" + body.String())
			}
		}
	}
}

func diffLine(w *strings.Builder, depth int, name, text string) {
	w.WriteString(strings.Repeat(" ", depth*indentStep) + padRight(name, nameWidth) + text + "\n")
}

// instanceName is "element [key]", or the element alone for a singleton.
func instanceName(in *model.Instance) string {
	if in.Elem.Singleton {
		return in.Elem.Name
	}
	return in.Elem.Name + " [" + in.Key() + "]"
}

func sortedSubs(in *model.Instance, sub *model.Element) []*model.Instance {
	out := in.SubsOf(sub)
	model.SortInstances(out)
	return out
}
