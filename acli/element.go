package acli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
)

// editor is the state of an element mode: the instance being edited.
type editor struct {
	elem    *model.Element
	inst    *model.Instance // working copy
	origKey string          // key it was read or last stored under
	rev     uint64          // store revision read (0: new, not yet stored)
	dirty   bool            // changed since read or stored
	parent  *editor         // set for a sub-element (sip-port)
	subIdx  int             // index in parent.inst.Subs; -1 new
}

// openElement starts editing a new instance of e (a singleton: the stored
// one). parent is the editor of the enclosing element for sub-elements.
func (s *Shell) openElement(e *model.Element, parent *editor) (*editor, error) {
	ed := &editor{elem: e, inst: model.NewInstance(e), parent: parent, subIdx: -1}
	if e.Singleton {
		err := s.be.read(func(tx *store.Tx) error {
			in, err := tx.Get(e, "")
			if in != nil {
				ed.inst, ed.rev = in, in.Rev
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return ed, nil
}

// elementCommands are the commands of an element mode: its parameters, its
// sub-elements and show, select, done, no. They act on the editor of the
// current mode, so one list per element serves every instance edited.
func (s *Shell) elementCommands(e *model.Element) []*command {
	if cmds, ok := s.elemCmds[e]; ok {
		return cmds
	}
	var out []*command
	for _, p := range e.Params {
		out = append(out, paramCommand(p))
	}
	for _, sub := range e.Subs {
		out = append(out, &command{name: sub.OpenCommand(), help: "configure " + sub.Help, run: func(s *Shell, args []Token) error {
			if err := noArgs(sub.OpenCommand(), args); err != nil {
				return err
			}
			sed, _ := s.openElement(sub, s.cur().ed)
			s.modes = append(s.modes, &mode{kind: modeElement, ed: sed})
			return nil
		}})
	}
	out = append(out,
		&command{name: "show", help: "show the " + e.Name + " being edited", run: func(s *Shell, args []Token) error {
			if err := noArgs("show", args); err != nil {
				return err
			}
			s.writeInstance(s.cur().ed.inst, false)
			return nil
		}},
		&command{name: "done", help: "store the " + e.Name + " in the editing configuration", run: func(s *Shell, args []Token) error {
			if err := noArgs("done", args); err != nil {
				return err
			}
			ed := s.cur().ed
			if err := s.store(ed); err != nil {
				return err
			}
			s.writeInstance(ed.inst, false)
			return nil
		}},
	)
	if !e.Singleton {
		out = append(out,
			&command{name: "select", help: "choose an existing " + e.Name + " to edit", args: keyCands, run: func(s *Shell, args []Token) error {
				return s.selectCmd(s.cur().ed, args)
			}},
			&command{name: "no", help: "delete an existing " + e.Name, args: keyCands, run: func(s *Shell, args []Token) error {
				return s.noCmd(s.cur().ed, args)
			}},
		)
	}
	if s.elemCmds == nil {
		s.elemCmds = map[*model.Element][]*command{}
	}
	out = out[:len(out):len(out)] // callers append; never into the cache
	s.elemCmds[e] = out
	return out
}

// keyCands completes the key argument of select and no.
func keyCands(s *Shell, prev []Token) []cand {
	if len(prev) > 0 {
		return nil
	}
	ins, err := s.instances(s.cur().ed)
	if err != nil {
		return nil
	}
	out := make([]cand, 0, len(ins))
	for _, in := range ins {
		out = append(out, cand{in.Key(), summary(in)})
	}
	return out
}

func paramCommand(p *model.Param) *command {
	return &command{name: p.Name, help: p.Help,
		args: func(s *Shell, prev []Token) []cand {
			if len(prev) > 0 {
				return nil
			}
			return valueCands(p, s.cur().ed)
		},
		run: func(s *Shell, args []Token) error { return s.setParam(s.cur().ed, p, args) }}
}

// valueCands describes the values a parameter takes, for completion and ?.
func valueCands(p *model.Param, ed *editor) []cand {
	cur := ""
	if ed != nil {
		if v := ed.inst.Get(p.Name); len(v) > 0 {
			cur = "; now " + formatValue(p, v)
		}
	}
	def := ""
	if p.Default != "" {
		def = ", default " + p.Default
	}
	if p.Type == model.Enum {
		out := make([]cand, 0, len(p.Values))
		for _, v := range p.Values {
			h := p.Help
			if v == p.Default {
				h += " (default)"
			}
			out = append(out, cand{v, h})
		}
		return out
	}
	return []cand{{"<" + p.Type.String() + ">", "allowed " + p.Allowed() + def + cur}}
}

// setParam parses and sets one parameter of the instance being edited.
func (s *Shell) setParam(ed *editor, p *model.Param, args []Token) error {
	var items []string
	switch {
	case len(args) == 0:
		return fmt.Errorf("%s needs a value: allowed %s", p.Name, p.Allowed())
	case len(args) > 1:
		return fmt.Errorf("%s takes one value, got %d words (quote text with spaces, bracket lists as (a b c)): allowed %s", p.Name, len(args), p.Allowed())
	case args[0].List && !p.List:
		return fmt.Errorf("%s takes a single value, not a list: allowed %s", p.Name, p.Allowed())
	default:
		items = args[0].values()
	}
	vals, err := p.Parse(items)
	if err != nil {
		return err
	}
	if p.List {
		vals = dedup(vals)
	}
	if slices.Equal(ed.inst.Get(p.Name), vals) && ed.inst.IsSet(p.Name) == (len(vals) > 0) {
		return nil
	}
	ed.inst.Set(p.Name, vals)
	ed.dirty = true
	return nil
}

func dedup(v []string) []string {
	var out []string
	for _, x := range v {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// store writes the edited instance: a top-level element to the editing
// configuration, a sub-element into its parent, which is then stored.
func (s *Shell) store(ed *editor) error {
	if ed.parent != nil {
		return s.storeSub(ed)
	}
	in := ed.inst.Clone()
	in.ModifiedBy = s.opt.User + "@console"
	in.ModifiedAt = s.opt.Now().UTC().Truncate(1e9)
	err := s.be.write(func(tx *store.Tx) error { return tx.Put(in, ed.origKey, ed.rev) })
	if err != nil {
		return err
	}
	ed.inst, ed.origKey, ed.rev, ed.dirty = in, in.Key(), in.Rev, false
	return nil
}

func (s *Shell) storeSub(ed *editor) error {
	p := ed.parent
	key := ed.inst.Key()
	for i, sib := range p.inst.Subs {
		if i != ed.subIdx && sib.Elem == ed.elem && sib.Key() == key {
			return fmt.Errorf("%s [%s] already exists in this %s; use select to edit it", ed.elem.Name, key, p.elem.Name)
		}
	}
	saved := p.inst.Clone()
	sub := ed.inst.Clone()
	if ed.subIdx >= 0 {
		p.inst.Subs[ed.subIdx] = sub
	} else {
		p.inst.Subs = append(p.inst.Subs, sub)
	}
	if err := s.store(p); err != nil {
		p.inst = saved
		return err
	}
	if ed.subIdx < 0 {
		ed.subIdx = len(p.inst.Subs) - 1
	}
	ed.dirty = false
	return nil
}

// instances lists the stored instances an editor can select from.
func (s *Shell) instances(ed *editor) ([]*model.Instance, error) {
	if ed.parent != nil {
		return ed.parent.inst.SubsOf(ed.elem), nil
	}
	var ins []*model.Instance
	err := s.be.read(func(tx *store.Tx) (err error) {
		ins, err = tx.List(ed.elem)
		return err
	})
	return ins, err
}

// choose runs the select dialogue: ask the key (a filter; empty lists all),
// show a numbered list, ask the selection. It returns nil when cancelled.
func (s *Shell) choose(ed *editor, verb string, args []Token) (*model.Instance, int, error) {
	e := ed.elem
	ins, err := s.instances(ed)
	if err != nil {
		return nil, -1, err
	}
	var filter string
	if len(args) > 1 || len(args) == 1 && args[0].List {
		return nil, -1, fmt.Errorf("%s takes at most one key, got %d words", verb, len(args))
	}
	if len(args) == 1 {
		filter = args[0].Text
	} else if filter, err = s.ask(selectPrompt(e)); err != nil {
		return nil, -1, err
	}
	var match []int
	for i, in := range ins {
		if strings.HasPrefix(strings.ToLower(in.Key()), strings.ToLower(filter)) {
			match = append(match, i)
		}
	}
	if len(match) == 0 {
		if len(ins) == 0 {
			return nil, -1, fmt.Errorf("%s: there is no %s to %s", verb, e.Name, verb)
		}
		return nil, -1, fmt.Errorf("%s: no %s matches %q", verb, e.Name, filter)
	}
	for n, i := range match {
		s.printf("%d: %s\n", n+1, summary(ins[i]))
	}
	s.printf("\n")
	ans, err := s.ask("selection: ")
	if err != nil {
		return nil, -1, err
	}
	if ans == "" {
		return nil, -1, nil
	}
	n, err := strconv.Atoi(ans)
	if err != nil || n < 1 || n > len(match) {
		return nil, -1, fmt.Errorf("%s: invalid selection %q: allowed 1-%d", verb, ans, len(match))
	}
	i := match[n-1]
	return ins[i], i, nil
}

func selectPrompt(e *model.Element) string {
	if e.SelectPrompt != "" {
		return e.SelectPrompt + ": "
	}
	return "<" + e.Keys[0] + ">: "
}

// summary is the one-line description of an instance in a select list.
func summary(in *model.Instance) string {
	parts := []string{in.Key()}
	for _, name := range in.Elem.Summary {
		if v := in.Get(name); len(v) > 0 {
			parts = append(parts, strings.Join(v, ","))
		}
	}
	return strings.Join(parts, " ")
}

// confirmDiscard asks to save pending changes before another instance is
// selected; false means the caller must not go on.
func (s *Shell) saveFirst(ed *editor) error {
	if !ed.dirty {
		return nil
	}
	save, err := s.askYesNo("Save changes? [y/n]: ")
	if err != nil {
		return err
	}
	if save {
		return s.store(ed)
	}
	return nil
}

func (s *Shell) selectCmd(ed *editor, args []Token) error {
	if err := s.saveFirst(ed); err != nil {
		return err
	}
	in, idx, err := s.choose(ed, "select", args)
	if err != nil || in == nil {
		return err
	}
	ed.inst, ed.origKey, ed.rev, ed.dirty = in.Clone(), in.Key(), in.Rev, false
	ed.subIdx = -1
	if ed.parent != nil {
		ed.subIdx = idx
		ed.rev = 0
	}
	return nil
}

func (s *Shell) noCmd(ed *editor, args []Token) error {
	in, idx, err := s.choose(ed, "no", args)
	if err != nil || in == nil {
		return err
	}
	if ed.parent != nil {
		p := ed.parent
		saved := p.inst.Clone()
		p.inst.Subs = slices.Delete(p.inst.Subs, idx, idx+1)
		if err := s.store(p); err != nil {
			p.inst = saved
			return err
		}
		if ed.subIdx == idx {
			ed.inst, ed.subIdx, ed.dirty = model.NewInstance(ed.elem), -1, false
		} else if ed.subIdx > idx {
			ed.subIdx--
		}
		return nil
	}
	err = s.be.write(func(tx *store.Tx) error { return tx.Delete(ed.elem, in.Key(), in.Rev) })
	if err != nil {
		return err
	}
	if ed.rev != 0 && ed.origKey == in.Key() {
		ed.inst, ed.origKey, ed.rev, ed.dirty = model.NewInstance(ed.elem), "", 0, false
	}
	return nil
}
