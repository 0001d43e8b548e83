package acli

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/verify"
	"github.com/google/go-cmp/cmp"
)

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
