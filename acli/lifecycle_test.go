package acli

import (
	"bytes"
	"fmt"
	"github.com/acli-project/acli/runtime/control"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/verify"
	"github.com/google/go-cmp/cmp"
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

// TestScriptRebuildsConfiguration: show configuration script piped into a
// shell on an empty database gives an equal configuration, for the guide's
// example and for large random configurations built from the schema.
func TestScriptRebuildsConfiguration(t *testing.T) {
	tests := []struct {
		name string
		cfg  *model.Config
	}{
		{"guide example", verify.SeedExample(false)},
		{"guide example with owners", verify.SeedExample(true)},
		{"empty", model.NewConfig(model.Default)},
		{"random 1", randomConfig(rand.New(rand.NewPCG(1, 1)), model.Default, 300)},
		{"random 2", randomConfig(rand.New(rand.NewPCG(2, 2)), model.Default, 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
			lcPut(t, src, tt.cfg)
			script, stderr, code := lcCommand(t, src, nil, "show", "configuration", "script")
			if code != 0 {
				t.Fatalf("show configuration script: %s", stderr)
			}
			lcScript(t, dst, nil, script)
			want, got := plain(lcEditing(t, src)), plain(lcEditing(t, dst))
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("rebuilt configuration differs (-want +got):\n%s", d)
			}
			if d := cmp.Diff(plain(tt.cfg), want); d != "" {
				t.Fatalf("stored configuration differs from the fixture (-want +got):\n%s", d)
			}
			// The script of the copy is the same script.
			again, _, _ := lcCommand(t, dst, nil, "show", "configuration", "script")
			if again != script {
				t.Fatalf("the script of the rebuilt configuration differs:\n%s", cmp.Diff(script, again))
			}
		})
	}
}

// TestScriptValueQuoting: every value the script writes reads back as itself.
func TestScriptValueQuoting(t *testing.T) {
	p := model.RealmConfig.Param("description")
	lp := model.NetworkParameters.Param("options")
	tests := []struct {
		p    *model.Param
		v    []string
		want string
	}{
		{p, []string{"plain"}, "plain"},
		{p, []string{"two words"}, `"two words"`},
		{p, []string{`say "hi"`}, `"say \"hi\""`},
		{p, []string{`back\slash`}, `"back\\slash"`},
		{p, []string{"why?"}, `"why?"`},
		{p, []string{"(x)"}, `"(x)"`},
		{p, []string{"tab\there"}, "\"tab\there\""},
		{lp, []string{"a=1", "b c", "d?"}, `(a=1 "b c" "d?")`},
	}
	for _, tt := range tests {
		got := scriptValue(tt.p, tt.v)
		if got != tt.want {
			t.Errorf("scriptValue(%q) = %s, want %s", tt.v, got, tt.want)
		}
		toks, err := Tokenize(tt.p.Name + " " + got)
		if err != nil || len(toks) != 2 || !slices.Equal(toks[1].values(), tt.v) {
			t.Errorf("%s reads back as %+v (%v)", got, toks, err)
		}
	}
}

func lcInst(e *model.Element, kv ...string) *model.Instance {
	in := model.NewInstance(e)
	for i := 0; i+1 < len(kv); i += 2 {
		p := e.Param(kv[i])
		v, err := p.Parse(strings.Fields(kv[i+1]))
		if err != nil {
			panic(err)
		}
		in.Set(kv[i], v)
	}
	return in
}

func TestDiff(t *testing.T) {
	cfg := func(ins ...*model.Instance) *model.Config {
		c := model.NewConfig(model.Default)
		for _, in := range ins {
			c.Put(in)
		}
		return c
	}
	realm := func(kv ...string) *model.Instance {
		return lcInst(model.RealmConfig, append([]string{"identifier", "r1"}, kv...)...)
	}
	si := func(ports ...*model.Instance) *model.Instance {
		in := lcInst(model.SipInterface, "realm-id", "r1")
		in.Subs = ports
		return in
	}
	port := func(addr string, kv ...string) *model.Instance {
		return lcInst(model.SipPort, append([]string{"address", addr}, kv...)...)
	}
	tests := []struct {
		name string
		a, b *model.Config
		want string
	}{
		{"same", cfg(realm()), cfg(realm()), ""},
		{"explicit default is no change", cfg(realm()), cfg(realm("max-bandwidth", "0")), ""},
		{"added", cfg(), cfg(realm("max-bandwidth", "10")),
			"realm-config [r1] added\n        identifier                      r1\n        max-bandwidth                   10\n"},
		{"removed", cfg(realm()), cfg(), "realm-config [r1] removed\n"},
		{"changed", cfg(realm("max-bandwidth", "10", "network-interfaces", "m1")), cfg(realm("max-bandwidth", "20", "description", "x")),
			"realm-config [r1] changed\n" +
				"        description                     from \"\" to x\n" +
				"        network-interfaces              from (m1:0) to ()\n" +
				"        max-bandwidth                   from 10 to 20\n"},
		{"singleton", cfg(lcInst(model.NetworkParameters)), cfg(lcInst(model.NetworkParameters, "sctp-sack-timeout", "100")),
			"network-parameters changed\n        sctp-sack-timeout               from 200 to 100\n"},
		{"sub-elements", cfg(si(port("10.0.0.1"), port("10.0.0.2"))), cfg(si(port("10.0.0.2", "allow-anonymous", "agents-only"), port("10.0.0.3"))),
			"sip-interface [r1] changed\n" +
				"        sip-port [10.0.0.1:5060:UDP] removed\n" +
				"        sip-port [10.0.0.2:5060:UDP] changed\n" +
				"                allow-anonymous                 from all to agents-only\n" +
				"        sip-port [10.0.0.3:5060:UDP] added\n" +
				"                address                         10.0.0.3\n"},
		{"key order", cfg(), cfg(lcInst(model.PhyInterface, "name", "m10"), lcInst(model.PhyInterface, "name", "m9")),
			"phy-interface [m10] added\n        name                            m10\nphy-interface [m9] added\n        name                            m9\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diffConfigs(tt.a, tt.b); got != tt.want {
				t.Errorf("diff:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

const lcSeed = `configure terminal
media-manager
realm-config
identifier r1
done
exit
exit
exit
`

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

// TestSaveBlockedByErrors: verify errors block save-config, with the
// findings printed; warnings do not.
func TestSaveBlockedByErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcPut(t, db, verify.SeedExample(false))
	out, stderr, code := lcCommand(t, db, nil, "save-config")
	if code != 1 || !strings.Contains(stderr, "save-config: the configuration has ") || !strings.Contains(stderr, "nothing was saved") {
		t.Fatalf("save-config exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(out, "checking configuration\n"+verify.RuleLine+"\nERROR: ") {
		t.Fatalf("stdout does not print the findings:\n%s", out)
	}
	if out, _, _ := lcCommand(t, db, nil, "display-current-cfg-version"); out != "Current configuration version is 0\n" {
		t.Fatalf("after a blocked save: %q", out)
	}
}

// TestSaveActivate walks the lifecycle: saves, activation, unchanged saves,
// diff and rollback, and the version displays.
func TestSaveActivate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcPut(t, db, verify.SeedExample(true))
	step := func(want string, args ...string) {
		t.Helper()
		out, stderr, code := lcCommand(t, db, nil, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", args, code, stderr)
		}
		if !strings.Contains(out, want) {
			t.Fatalf("%s: stdout\n%s\ndoes not contain %q", args, out, want)
		}
	}
	step("Save complete\nCurrent configuration version is 1\nCurrently active and saved configurations do not match!", "save-config", "comment", "guide")
	step("Nothing to save: the editing configuration is saved version 1", "save-config")
	step("Activate Complete\nRunning configuration version is 1\nNo runtime is attached", "activate-config")
	step("Running configuration version is 1\n", "display-running-cfg-version")
	// Storing an instance again unchanged is no change.
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nselect core-172\n1\ndone\n")
	step("Nothing to save", "save-config")
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nselect core-172\n1\nmax-bandwidth 64\ndone\n")
	step("Differences from running (version 1) to editing:\nrealm-config [core-172] changed\n        max-bandwidth                   from 0 to 64\n", "show", "configuration", "diff")
	step("Current configuration version is 2\n", "save-config")
	step("No differences between saved (version 2) and editing", "show", "conf", "diff", "saved")
	step("Differences from version 2 to version 1:\nrealm-config [core-172] changed\n        max-bandwidth                   from 64 to 0\n", "show", "configuration", "diff", "2", "1")
	step("The editing configuration is now version 1, saved", "rollback-config", "1")
	step("No differences between running (version 1) and editing", "show", "configuration", "diff")
	step("Current configuration version is 2\n", "display-current-cfg-version")
	// Editing now differs from saved version 2: activate refuses.
	if _, stderr, code := lcCommand(t, db, nil, "activate-config"); code != 1 || !strings.Contains(stderr, "1 changed element since saved version 2") {
		t.Fatalf("activate with unsaved changes: %d %s", code, stderr)
	}
	step("Current configuration version is 3\n", "save-config")
	step("Running configuration version is 3\n", "activate-config")
	step("  2  2026-11-18 11:06:40  admin        12", "show", "versions")
	if want := "      3  2026-11-18 11:06:40  admin        12  saved,running\n"; !strings.Contains(mustOut(t, db, "show", "versions"), want) {
		t.Fatalf("show versions lacks %q", want)
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

// TestRollbackAsks: rollback-config over unsaved changes asks first.
func TestRollbackAsks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config\n")
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nidentifier r2\ndone\n")
	out := lcScript(t, db, nil, "rollback-config 1\nn\n")
	if !strings.Contains(out, "discard them? [y/n]: n\nrollback-config cancelled") {
		t.Fatalf("no question or no cancel:\n%s", out)
	}
	if c := lcEditing(t, db); c.Len("realm-config") != 2 {
		t.Fatalf("cancelled rollback changed editing")
	}
	lcScript(t, db, nil, "rollback-config 1\ny\n")
	if c := lcEditing(t, db); c.Len("realm-config") != 1 {
		t.Fatalf("rollback did not restore version 1")
	}
}

// TestConfirmedActivation: activate-config confirmed rolls running back by
// itself when the deadline passes, at the next command on the database,
// unless a plain activate-config confirmed it.
func TestConfirmedActivation(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		t.Run(fmt.Sprint("confirm=", confirm), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "a.db")
			clk := &lcClock{lcEpoch}
			lcScript(t, db, clk, lcSeed+"save-config\nactivate-config\n")
			lcScript(t, db, clk, "conf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nexit\nexit\nsave-config\n")
			out, _, _ := lcCommand(t, db, clk, "activate-config", "confirmed", "10")
			if !strings.Contains(out, "Confirmed activation: unless activate-config runs again by 2026-11-18 11:16:40 UTC (10 minutes), running returns to version 1") {
				t.Fatalf("activate confirmed:\n%s", out)
			}
			clk.t = lcEpoch.Add(9 * time.Minute)
			if confirm {
				out, _, _ = lcCommand(t, db, clk, "activate-config")
				if !strings.Contains(out, "Activation confirmed: the return to version 1 is cancelled") {
					t.Fatalf("plain activate:\n%s", out)
				}
			}
			out, stderr, _ := lcCommand(t, db, clk, "display-running-cfg-version")
			if stderr != "" || !strings.HasPrefix(out, "Running configuration version is 2\n") {
				t.Fatalf("before the deadline: %q %q", out, stderr)
			}
			clk.t = lcEpoch.Add(10 * time.Minute)
			out, stderr, _ = lcCommand(t, db, clk, "display-running-cfg-version")
			if confirm {
				if stderr != "" || out != "Running configuration version is 2\n" {
					t.Fatalf("confirmed, after the deadline: %q %q", out, stderr)
				}
				return
			}
			wantErr := "% activate-config confirmed of version 2 was not confirmed by 2026-11-18 11:16:40 UTC: running returned to version 1 at 2026-11-18 11:16:40 UTC\n"
			if !strings.HasPrefix(stderr, wantErr) || !strings.Contains(stderr, "No runtime is attached") || !strings.HasPrefix(out, "Running configuration version is 1\n") {
				t.Fatalf("after the deadline:\nstdout %q\nstderr %q", out, stderr)
			}
			// Reported once; then display shows what happened.
			out, stderr, _ = lcCommand(t, db, clk, "display-running-cfg-version")
			if stderr != "" || !strings.Contains(out, "was not confirmed") {
				t.Fatalf("later: %q %q", out, stderr)
			}
		})
	}
}

// TestConfirmedChain: several confirmed activations in a row return to the
// version before the first; the versions involved are never pruned.
func TestConfirmedChain(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	clk := &lcClock{lcEpoch}
	lcScript(t, db, clk, lcSeed+"save-config\nactivate-config\nversion-limit 1\n")
	for i := 2; i <= 4; i++ {
		lcScript(t, db, clk, fmt.Sprintf("conf t\nmedia\nrealm-config\nidentifier r%d\ndone\nexit\nexit\nexit\nsave-config\nactivate-config confirmed 5\n", i))
	}
	var nums []int
	store.New(db).View(func(tx *store.Tx) error {
		vs, _ := tx.Versions()
		for _, v := range vs {
			nums = append(nums, v.Number)
		}
		return nil
	})
	if !slices.Equal(nums, []int{1, 4}) {
		t.Fatalf("versions kept %v, want [1 4] (previous running and saved)", nums)
	}
	clk.t = lcEpoch.Add(time.Hour)
	if out, _, _ := lcCommand(t, db, clk, "display-running-cfg-version"); !strings.HasPrefix(out, "Running configuration version is 1\n") {
		t.Fatalf("after expiry: %s", out)
	}
}

// TestVersionLimit: old versions are pruned beyond the limit, never the
// saved or running one.
func TestVersionLimit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config\nactivate-config\nversion-limit 3\n")
	for i := 2; i <= 6; i++ {
		lcScript(t, db, nil, fmt.Sprintf("conf t\nmedia\nrealm-config\nidentifier r%d\ndone\nexit\nexit\nexit\nsave-config\n", i))
	}
	out := mustOut(t, db, "show", "versions")
	var nums []string
	for _, l := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 3 && strings.HasPrefix(f[1], "2026-") {
			nums = append(nums, f[0])
		}
	}
	if strings.Join(nums, " ") != "1 5 6" {
		t.Fatalf("versions kept %v, want 1 (running) 5 6:\n%s", nums, out)
	}
	if !strings.Contains(out, "3 versions kept, at most 3") {
		t.Fatalf("show versions:\n%s", out)
	}
}

// TestBackupRestore: backups taken by a command (bbolt WriteTo) and inside a
// script with uncommitted changes (bucket copy) restore to the state they
// were taken in; files that are not acli databases are refused and change
// nothing.
func TestBackupRestore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config comment one\nactivate-config\n")
	mustOut(t, db, "backup-config", "b1")
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nexit\nexit\nbackup-config b2\nsave-config\n")
	fi, err := os.Stat(filepath.Join(filepath.Dir(db), "backups", "b1.db"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if _, stderr, code := lcCommand(t, db, nil, "backup-config", "b1"); code != 1 || !strings.Contains(stderr, `backup "b1" already exists`) {
		t.Fatalf("second backup-config b1: %s", stderr)
	}
	list := mustOut(t, db, "show", "backup-config")
	want := "name  taken at (UTC)       by     saved  running\n" +
		"b1    2026-11-18 11:06:40  admin      1        1\n" +
		"b2    2026-11-18 11:06:40  admin      1        1\n"
	if list != want {
		t.Fatalf("show backup-config:\n%s\nwant:\n%s", list, want)
	}

	// Not acli databases: refused, nothing changes.
	bdir := filepath.Join(filepath.Dir(db), "backups")
	other := filepath.Join(t.TempDir(), "other.db")
	lcPut(t, other, model.NewConfig(model.Default))
	os.WriteFile(filepath.Join(bdir, "text.db"), []byte("hello\n"), 0o600)
	os.WriteFile(filepath.Join(bdir, "empty.db"), nil, 0o600)
	raw, _ := os.ReadFile(filepath.Join(bdir, "b1.db"))
	os.WriteFile(filepath.Join(bdir, "trunc.db"), raw[:len(raw)/2], 0o600)
	garbled := slices.Clone(raw)
	for i := 2 * 4096; i < len(garbled); i += 7 {
		garbled[i] ^= 0x5a
	}
	os.WriteFile(filepath.Join(bdir, "garbled.db"), garbled, 0o600)
	before, _ := os.ReadFile(db)
	for _, name := range []string{"text", "empty", "trunc", "garbled"} {
		_, stderr, code := lcCommand(t, db, nil, "restore-backup-config", name)
		if code != 1 || !strings.Contains(stderr, "not an acli configuration database") || !strings.Contains(stderr, "nothing was changed") {
			t.Errorf("restore %s: exit %d: %s", name, code, stderr)
		}
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Fatalf("a refused restore changed the database")
	}
	if list := mustOut(t, db, "show", "backup-config"); !strings.Contains(list, "% text: not a valid backup: ") {
		t.Fatalf("show backup-config does not flag the bad file:\n%s", list)
	}

	// b2 holds the script's uncommitted r2, and version 1 only.
	out := mustOut(t, db, "restore-backup-config", "b2")
	if !strings.Contains(out, "Restored backup b2, taken 2026-11-18 11:06:40 UTC by admin: saved version 1, running version 1") {
		t.Fatalf("restore b2: %s", out)
	}
	if c := lcEditing(t, db); c.Len("realm-config") != 2 {
		t.Fatalf("after restoring b2: %d realms", c.Len("realm-config"))
	}
	// Version numbers do not go back: the next save is 3, not 2.
	lcScript(t, db, nil, "conf t\nmedia\nrealm-config\nidentifier r3\ndone\nexit\nexit\nexit\n")
	if out := mustOut(t, db, "save-config"); !strings.Contains(out, "Current configuration version is 3\n") {
		t.Fatalf("save after restore: %s", out)
	}
	mustOut(t, db, "restore-backup-config", "b1")
	if c := lcEditing(t, db); c.Len("realm-config") != 1 {
		t.Fatalf("after restoring b1: %d realms", c.Len("realm-config"))
	}
	mustOut(t, db, "delete-backup-config", "b2")
	if _, err := os.Stat(filepath.Join(bdir, "b2.db")); !os.IsNotExist(err) {
		t.Fatalf("b2 not deleted")
	}
}

// TestDeleteConfig: delete-config asks, --force does not; saved and running
// stay.
func TestDeleteConfig(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	lcScript(t, db, nil, lcSeed+"save-config\n")
	out := lcScript(t, db, nil, "delete-config\nn\n")
	if !strings.Contains(out, "Delete all 1 element of the editing configuration? [y/n]: n\ndelete-config cancelled: nothing was deleted\n") {
		t.Fatalf("delete-config n:\n%s", out)
	}
	out = mustOut(t, db, "delete-config", "--force")
	if out != "Deleted the editing configuration (1 element); saved version 1 and running (none) are unchanged\n" {
		t.Fatalf("delete-config --force: %q", out)
	}
	if lcEditing(t, db).Count() != 0 {
		t.Fatal("editing not empty")
	}
	if out := mustOut(t, db, "show", "configuration", "diff", "saved"); !strings.Contains(out, "realm-config [r1] removed") {
		t.Fatalf("diff after delete: %s", out)
	}
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

// fakeRuntime stands in for the runtime daemon (a Runtime): it records
// each apply with the running version it finds in the database (which must
// be stored and unlocked by then) and refuses it with the reasons in
// refuse.
type fakeRuntime struct {
	t       *testing.T
	db      string
	refuse  []string
	applied []int
	serving int
}

func (f *fakeRuntime) Attached(string) bool { return true }

func (f *fakeRuntime) Apply(path string) (*control.ApplyReport, error) {
	if path != f.db {
		f.t.Errorf("notified for %s, want %s", path, f.db)
	}
	st := store.New(path)
	st.LockTimeout = 100 * time.Millisecond
	n := -1
	if err := st.View(func(tx *store.Tx) error { n = tx.RunningVersion(); return nil }); err != nil {
		f.t.Errorf("the daemon cannot read the database: %v", err)
	}
	f.applied = append(f.applied, n)
	rep := &control.ApplyReport{Version: strconv.Itoa(n), Previous: strconv.Itoa(f.serving), Errors: f.refuse}
	if f.serving == 0 {
		rep.Previous = ""
	}
	if f.refuse == nil {
		f.serving = n
	}
	return rep, nil
}

// fakeShell is lcShell with f as its runtime.
func (f *fakeRuntime) shell() (*Shell, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	sh := New(Options{Store: store.New(f.db), Out: &out, Err: &errb, Now: (&lcClock{lcEpoch}).now, Runtime: f})
	return sh, &out, &errb
}

// TestRuntimeNotified: activate-config has an attached runtime apply the
// version once it is stored: at once in the command form, when the script
// ends in a script, never when the script failed.
func TestRuntimeNotified(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	f := &fakeRuntime{t: t, db: db}
	lcScript(t, db, nil, lcSeed+"save-config\n")
	sh, out, _ := f.shell()
	if code := sh.RunCommand([]string{"activate-config"}); code != 0 || !strings.HasSuffix(out.String(), "Activate Complete\nRunning configuration version is 1\n% runtime: version 1 applied: no listener changed (0 unchanged)\n") {
		t.Fatalf("command form (%d):\n%s", code, out)
	}
	sh, out, _ = f.shell()
	script := "conf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nexit\nexit\nsave-config\nactivate-config\n"
	if code := sh.RunScript(strings.NewReader(script)); code != 0 {
		t.Fatal("script failed")
	}
	// The script says it is running only once the runtime has applied it.
	if !strings.Contains(out.String(), "ACLI# activate-config\nThe runtime applies version 2 when the script ends and its changes are stored\n") ||
		!strings.HasSuffix(out.String(), "Activate Complete\nRunning configuration version is 2\n% runtime: version 2 applied: no listener changed (0 unchanged)\n") {
		t.Fatalf("script:\n%s", out)
	}
	// A script that fails after activate-config stores nothing: no apply,
	// and it never says that the version runs.
	sh, out, _ = f.shell()
	if code := sh.RunScript(strings.NewReader("conf t\nmedia\nrealm-config\nidentifier r3\ndone\nexit\nexit\nexit\nsave-config\nactivate-config\nfrobnicate\n")); code != 1 || strings.Contains(out.String(), "Activate Complete") {
		t.Fatalf("the failing script (%d):\n%s", code, out)
	}
	if !slices.Equal(f.applied, []int{1, 2}) {
		t.Fatalf("applies %v, want [1 2]", f.applied)
	}
}

// lineReader feeds lines to RunInteractive as a terminal would.
type lineReader struct{ lines []string }

func (r *lineReader) ReadLine(string) (string, error) {
	if len(r.lines) == 0 {
		return "", io.EOF
	}
	l := r.lines[0]
	r.lines = r.lines[1:]
	return l, nil
}

func (r *lineReader) ReadPassword(p string) (string, error) { return r.ReadLine(p) }

// TestRuntimeRefused: a version the runtime refuses, in every form of
// invocation, is never said to be running, is not left running (running
// stays the version the runtime serves), prints one line per reason, and
// makes the invocation exit 1, even when later commands succeed.
func TestRuntimeRefused(t *testing.T) {
	reasons := []string{"listen UDP 127.0.0.1:5060: address already in use", "listen TCP 127.0.0.1:5061: address already in use"}
	wantErr := "% activate-config: version 2 was NOT applied: the runtime refused it and keeps serving version 1; running configuration version is 1\n" +
		"%   runtime: listen UDP 127.0.0.1:5060: address already in use\n" +
		"%   runtime: listen TCP 127.0.0.1:5061: address already in use\n"
	activate := "activate-config\ndisplay-current-cfg-version\n"
	for _, tc := range []struct {
		name string
		run  func(sh *Shell) int
	}{
		{"one command", func(sh *Shell) int { return sh.RunCommand([]string{"activate-config"}) }},
		{"script", func(sh *Shell) int { return sh.RunScript(strings.NewReader(activate)) }},
		{"script continue-on-error", func(sh *Shell) int {
			sh.opt.Continue = true
			return sh.RunScript(strings.NewReader(activate))
		}},
		{"terminal", func(sh *Shell) int { return sh.RunInteractive(&lineReader{strings.Split(activate+"exit", "\n")}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "a.db")
			// Version 1 runs and is served; version 2 is saved.
			f := &fakeRuntime{t: t, db: db, serving: 1, refuse: reasons}
			lcScript(t, db, nil, lcSeed+"save-config\nactivate-config\nconf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nexit\nexit\nsave-config\n")
			sh, out, errb := f.shell()
			if code := tc.run(sh); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if strings.Contains(out.String(), "Activate Complete") || strings.Contains(out.String(), "Running configuration version is 2") {
				t.Errorf("a refused version said to be running:\n%s", out)
			}
			if !strings.HasSuffix(errb.String(), wantErr) {
				t.Errorf("stderr:\n%s\nwant it to end with:\n%s", errb, wantErr)
			}
			if out := mustOut(t, db, "display-running-cfg-version"); out != "Running configuration version is 1\n" {
				t.Errorf("after a refusal: %q", out)
			}
		})
	}
}

// BenchmarkSaveConfig measures save-config (verify, copy into a version,
// commit) of the guide's example with 10,000 session-agents, each save
// after one change, as an operator's session would.
func BenchmarkSaveConfig(b *testing.B) {
	db := filepath.Join(b.TempDir(), "a.db")
	lcPut(b, db, largeConfig(10000))
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		lcScript(b, db, nil, fmt.Sprintf("conf t\nsess\nsession-agent\nselect agent1.example.net\n1\ndescription d%d\ndone\n", i))
		b.StartTimer()
		if _, stderr, code := lcCommand(b, db, nil, "save-config"); code != 0 {
			b.Fatal(stderr)
		}
	}
}

// BenchmarkActivateConfig measures activate-config of that configuration
// (change check against the saved version, verify, pointer move).
func BenchmarkActivateConfig(b *testing.B) {
	db := filepath.Join(b.TempDir(), "a.db")
	lcPut(b, db, largeConfig(10000))
	mustOutB(b, db, "save-config")
	b.ResetTimer()
	for range b.N {
		mustOutB(b, db, "activate-config")
	}
}

func mustOutB(b *testing.B, db string, args ...string) {
	if _, stderr, code := lcCommand(b, db, nil, args...); code != 0 {
		b.Fatal(stderr)
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
