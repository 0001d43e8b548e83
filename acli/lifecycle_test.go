package acli

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/verify"
)

// lcClock is a settable clock for lifecycle tests.
type lcClock struct{ t time.Time }

func (c *lcClock) now() time.Time { return c.t }

var lcEpoch = time.Date(2026, 11, 18, 11, 6, 40, 0, time.UTC)

// lcShell returns a shell on db with the clock and captured output.
func lcShell(db string, clk *lcClock) (*Shell, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	if clk == nil {
		clk = &lcClock{lcEpoch}
	}
	sh := New(Options{Store: store.New(db), Out: &out, Err: &errb, Now: clk.now})
	return sh, &out, &errb
}

// lcCommand runs one command in the subcommand form (acli CMD ARGS).
func lcCommand(t testing.TB, db string, clk *lcClock, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	sh, out, errb := lcShell(db, clk)
	code = sh.RunCommand(args)
	return out.String(), errb.String(), code
}

// lcScript runs a script and fails the test if it fails.
func lcScript(t testing.TB, db string, clk *lcClock, script string) string {
	t.Helper()
	sh, out, errb := lcShell(db, clk)
	if code := sh.RunScript(strings.NewReader(script)); code != 0 {
		t.Fatalf("script failed (%d): %s\nscript:\n%s", code, errb, script)
	}
	return out.String()
}

// lcPut stores cfg as the editing configuration of db.
func lcPut(t testing.TB, db string, cfg *model.Config) {
	t.Helper()
	err := store.New(db).Update(func(tx *store.Tx) error {
		for _, e := range cfg.Schema.Elements() {
			for _, in := range cfg.List(e.Name) {
				if err := tx.Put(in.Clone(), "", 0); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func lcEditing(t testing.TB, db string) *model.Config {
	t.Helper()
	var c *model.Config
	if err := store.New(db).View(func(tx *store.Tx) (err error) { c, err = tx.Editing(); return err }); err != nil {
		t.Fatal(err)
	}
	return c
}

// plainConfig is a configuration as plain values, for go-cmp: element →
// key → parameter values and sub-instances, without who stored them when.
type plainInstance struct {
	Values map[string][]string
	Subs   map[string]map[string][]string // "elem [key]" → values
}

func plain(c *model.Config) map[string]map[string]plainInstance {
	out := map[string]map[string]plainInstance{}
	for _, e := range c.Schema.Elements() {
		for _, in := range c.List(e.Name) {
			if out[e.Name] == nil {
				out[e.Name] = map[string]plainInstance{}
			}
			p := plainInstance{Values: in.Values, Subs: map[string]map[string][]string{}}
			for _, s := range in.Subs {
				p.Subs[s.Elem.Name+" ["+s.Key()+"]"] = s.Values
			}
			out[e.Name][in.Key()] = p
		}
	}
	return out
}

// randomConfig builds a configuration of about n instances from the schema
// alone: every element, random valid values of every type (text with spaces,
// quotes, backslashes, parentheses and a trailing '?'), lists, sub-elements.
func randomConfig(r *rand.Rand, schema *model.Schema, n int) *model.Config {
	c := model.NewConfig(schema)
	elems := schema.Elements()
	for tries := 0; c.Count() < n && tries < 20*n; tries++ {
		e := elems[r.IntN(len(elems))]
		in := randomInstance(r, e)
		if e.Singleton {
			if c.Get(e.Name, "") != nil {
				continue
			}
		} else if c.Get(e.Name, in.Key()) != nil {
			continue
		}
		for _, sub := range e.Subs {
			for range r.IntN(4) {
				si := randomInstance(r, sub)
				if !slices.ContainsFunc(in.Subs, func(o *model.Instance) bool { return o.Key() == si.Key() }) {
					in.Subs = append(in.Subs, si)
				}
			}
		}
		if in.Validate() == nil {
			c.Put(in)
		}
	}
	return c
}

func randomInstance(r *rand.Rand, e *model.Element) *model.Instance {
	in := model.NewInstance(e)
	for _, p := range e.Params {
		if !slices.Contains(e.Keys, p.Name) && r.IntN(2) == 0 {
			continue
		}
		count := 1
		if p.List {
			count = 1 + r.IntN(4)
		}
		var items []string
		for range count {
			items = append(items, randomValue(r, p))
		}
		v, err := p.Parse(items)
		if err != nil || len(v) == 0 {
			continue
		}
		if p.List {
			v = dedup(v)
		}
		in.Set(p.Name, v)
	}
	return in
}

func randomValue(r *rand.Rand, p *model.Param) string {
	switch p.Type {
	case model.Int:
		lo, hi := p.Min, p.Max
		if len(p.Ranges) > 0 {
			rg := p.Ranges[r.IntN(len(p.Ranges))]
			lo, hi = rg[0], rg[1]
		}
		return fmt.Sprint(lo + r.Int64N(hi-lo+1))
	case model.Enum:
		return p.Values[r.IntN(len(p.Values))]
	case model.IP:
		return randomAddr(r).String()
	case model.Prefix:
		a := randomAddr(r)
		if r.IntN(2) == 0 {
			return a.String()
		}
		return netip.PrefixFrom(a, r.IntN(a.BitLen()+1)).Masked().String()
	case model.IfaceRef:
		return fmt.Sprintf("m%d:%d", r.IntN(40), r.IntN(4096))
	case model.Host:
		if r.IntN(3) == 0 {
			return randomAddr(r).String()
		}
		return fmt.Sprintf("h%d.example-%d.net", r.IntN(1000), r.IntN(100))
	}
	const alphabet = `abcXYZ019 -_.:/\"()?#!é	`
	runes := []rune(alphabet)
	var b strings.Builder
	for range 1 + r.IntN(12) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

func randomAddr(r *rand.Rand) netip.Addr {
	if r.IntN(3) == 0 {
		var a [16]byte
		for i := range a {
			a[i] = byte(r.IntN(256))
		}
		a[0] = 0x20
		return netip.AddrFrom16(a)
	}
	return netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
}

// largeConfig is the guide's example with n session-agents added: large
// and free of verify-config errors, as save-config needs.
func largeConfig(n int) *model.Config {
	c := verify.SeedExample(true)
	for i := range n {
		in := model.NewInstance(model.SessionAgent)
		in.Set("hostname", []string{fmt.Sprintf("agent%d.example.net", i)})
		in.Set("ip-address", []string{netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()})
		in.Set("realm-id", []string{"core-172"})
		c.Put(in)
	}
	return c
}

// TestLifecycleErrors: each refusal names the command, what is wrong and
// what to do, exits 1 and changes nothing.
func TestLifecycleErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup []string // scripts run first
		args  []string
		want  string
	}{
		{"activate nothing saved", nil, []string{"activate-config"},
			"% activate-config: there is no saved configuration to activate: run save-config first"},
		{"activate unsaved", []string{lcSeed, "save-config\n", "conf t\nmedia\nrealm-config\nidentifier r2\ndone\n"}, []string{"activate-config"},
			"% activate-config: the editing configuration has unsaved changes (1 added element since saved version 1): run save-config to save them, then activate-config; or rollback-config saved to discard them"},
		{"confirmed minutes", nil, []string{"activate-config", "confirmed", "0"},
			`% activate-config confirmed: invalid number of minutes "0": allowed 1-1440`},
		{"confirmed no minutes", nil, []string{"activate-config", "conf"},
			"% activate-config confirmed needs a number of minutes: allowed 1-1440"},
		{"activate junk", nil, []string{"activate-config", "now"},
			"% activate-config takes [confirmed MINUTES]"},
		{"rollback missing", []string{lcSeed, "save-config\n"}, []string{"rollback-config", "7"},
			"% rollback-config: version 7 does not exist: only version 1 is kept"},
		{"rollback nothing saved", nil, []string{"rollback-config", "3"},
			"% rollback-config: version 3 does not exist: no version has been saved yet"},
		{"rollback none running", []string{lcSeed, "save-config\n"}, []string{"rollback-config", "running"},
			"% rollback-config: there is no running configuration"},
		{"rollback word", nil, []string{"rollback-config", "latest"},
			`% Unknown version "latest" in rollback-config: allowed running, saved, or a version number`},
		{"show running none", nil, []string{"show", "running-config"},
			"% show running-config: no configuration is running yet: save-config, then activate-config"},
		{"diff missing", nil, []string{"show", "configuration", "diff", "4"},
			"% show configuration diff: version 4 does not exist: no version has been saved yet"},
		{"delete-config asks", []string{lcSeed}, []string{"delete-config"},
			`% delete-config: input ended while waiting for an answer to "Delete all 1 element of the editing configuration? [y/n]:" (to delete without a question, add --force)`},
		{"backup name", nil, []string{"backup-config", "../x"},
			`% backup-config: Invalid value "../x" for backup name: allowed 1-64 letters, digits, '.', '_' and '-', not starting with '.'`},
		{"restore missing", nil, []string{"restore-backup-config", "nope"},
			`% restore-backup-config: backup "nope" does not exist (`},
		{"version-limit", nil, []string{"version-limit", "0"},
			`% Invalid value "0" for version-limit: allowed 1-100000`},
		{"save comment", nil, []string{"save-config", "hello"},
			"% save-config takes [comment TEXT] (quote a comment with spaces)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "a.db")
			for _, s := range tt.setup {
				lcScript(t, db, nil, s)
			}
			before, err := os.ReadFile(db)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			_, stderr, code := lcCommand(t, db, nil, tt.args...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if !strings.HasPrefix(stderr, tt.want) {
				t.Errorf("stderr:\n%s\nwant it to start with:\n%s", stderr, tt.want)
			}
			if after, _ := os.ReadFile(db); before != nil && !bytes.Equal(before, after) {
				t.Errorf("the database changed")
			}
		})
	}
}

func mustOut(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, stderr, code := lcCommand(t, db, nil, args...)
	if code != 0 {
		t.Fatalf("%s: %s", args, stderr)
	}
	return out
}

// TestUserMode: in user mode the lifecycle's changes are refused, displays
// work.
func TestUserMode(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config\nsecret enable\npassword1\npassword1\n")
	for _, cmd := range []string{"save-config", "activate-config", "rollback-config 1", "delete-config --force", "backup-config x", "restore-backup-config x", "version-limit 5"} {
		_, stderr, code := lcCommand(t, db, nil, strings.Fields(cmd)...)
		if code != 1 || !strings.Contains(stderr, "requires superuser mode") {
			t.Errorf("%s in user mode: %d %s", cmd, code, stderr)
		}
	}
	if out := mustOut(t, db, "display-current-cfg-version"); out != "Current configuration version is 1\n" {
		t.Errorf("display in user mode: %q", out)
	}
}

// TestLifecycleComplete: Tab completion of the lifecycle's arguments comes
// from the versions and backups there are.
func TestLifecycleComplete(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config comment first\nbackup-config nightly\n")
	sh, _, _ := lcShell(db, nil)
	tests := []struct{ line, want string }{
		{"save", "save-config"},
		{"save-config ", "comment"},
		{"activate-config ", "confirmed"},
		{"rollback-config ", "1 running saved"},
		{"show configuration ", "diff network-interface network-parameters phy-interface realm-config script session-agent short sip-interface"},
		{"show configuration diff ", "1 editing running saved"},
		{"show configuration diff 1 ed", "editing"},
		{"show running-config sc", "script"},
		{"show ver", "versions"},
		{"restore-backup-config ", "nightly"},
		{"delete-config ", "--force"},
	}
	for _, tt := range tests {
		if got := strings.Join(sh.Complete(tt.line), " "); got != tt.want {
			t.Errorf("Complete(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}
