package acli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model/store"
)

// runScript runs a script on a fresh database and returns stdout, stderr and
// the exit status.
func runScript(t testing.TB, db, script string, cont bool) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	sh := New(Options{Store: store.New(db), Out: &out, Err: &errb, Continue: cont,
		Now: func() time.Time { return time.Unix(0, 0) }})
	code := sh.RunScript(strings.NewReader(script))
	return out.String(), errb.String(), code
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"range", "conf t\nsystem\nnetwork-parameters\nsctp-sack-timeout 600\n", `line 4: Invalid value "600" for sctp-sack-timeout: allowed 0-500`},
		{"not a number", "conf t\nsystem\nnetwork-parameters\nsctp-rto-min fast\n", `line 4: Invalid value "fast" for sctp-rto-min: allowed 0-4294967295`},
		{"enum", "conf t\nsess\nsip-i\nsip-p\ntransport-protocol quic\n", `line 5: Invalid value "quic" for transport-protocol: allowed UDP, TCP, TLS, SCTP`},
		{"ambiguous enum", "conf t\nsess\nsession-agent\ntransport-method dynamic\n", `line 4: Invalid value "dynamic" for transport-method: allowed one of DynamicTCP, DynamicTLS, DynamicSCTP (ambiguous)`},
		{"ip", "conf t\nsess\nsip-i\nsip-p\naddress 300.1.1.1\n", `line 5: Invalid value "300.1.1.1" for address: allowed IP address`},
		{"ip in list", "conf t\nsess\nsip-i\nsip-p\nmulti-homed-addrs (10.0.0.1 nope)\n", `line 5: Invalid value "nope" for multi-homed-addrs: allowed IP address`},
		{"list to scalar", "conf t\nsess\nsip-i\nsip-p\naddress (10.0.0.1 10.0.0.2)\n", `line 5: address takes a single value, not a list: allowed IP address`},
		{"missing value", "conf t\nsystem\nphy-interface\nport\n", `line 4: port needs a value: allowed 0-3`},
		{"too many words", "conf t\nmedia\nrealm-config\ndescription core realm\n", `line 4: description takes one value, got 2 words (quote text with spaces, bracket lists as (a b c)): allowed string`},
		{"unknown command", "conf t\nfrobnicate\n", `line 2: Unknown command "frobnicate" in configure mode: allowed activate-config, backup-config, delete-backup-config, delete-config, display-current-cfg-version, display-running-cfg-version, exit, media-manager, restore-backup-config, rollback-config, save-config, session-router, show, system, verify-config, version-limit`},
		{"ambiguous command", "conf t\ns\n", `line 2: Ambiguous command "s" in configure mode: could be save-config, session-router, show, system`},
		{"configure arg", "configure x\n", `line 1: Unknown argument "x" in configure: allowed terminal`},
		{"unbalanced", "conf t\nsess\nsip-i\nsip-p\nmulti-homed-addrs (10.0.0.1\n", `line 5: unbalanced '(' at column 19: close the list with ')'`},
		{"quote", "conf t\nmedia\nrealm-config\ndescription \"abc\n", `line 4: unterminated quoted string starting at column 13`},
		{"select nothing", "conf t\nmedia\nrealm-config\nselect\n\n", `line 5: select: there is no realm-config to select`},
		{"bad selection", "conf t\nmedia\nrealm-config\nidentifier r1\ndone\nselect\n\n7\n", `line 8: select: invalid selection "7": allowed 1-1`},
		{"duplicate", "conf t\nmedia\nrealm-config\nidentifier r1\ndone\nexit\nrealm-config\nidentifier r1\ndone\n", `line 9: realm-config [r1] already exists; use select to edit it`},
		{"save answer", "conf t\nmedia\nrealm-config\nidentifier r1\nexit\nmaybe\n", `line 6: answer "maybe" to "Save changes? [y/n]:": allowed y or n`},
		{"eof in question", "conf t\nmedia\nrealm-config\nidentifier r1\nexit\n", `line 5: input ended while waiting for an answer to "Save changes? [y/n]:"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "a.db")
			_, stderr, code := runScript(t, db, tt.script, false)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			first, _, _ := strings.Cut(stderr, "\n")
			if first != tt.want {
				t.Errorf("stderr:\n%s\nwant first line:\n%s", stderr, tt.want)
			}
			if !strings.Contains(stderr, "nothing it changed was stored") {
				t.Errorf("stderr does not say the script was not stored:\n%s", stderr)
			}
		})
	}
}

// TestScriptIsOneTransaction checks that a failing script stores nothing and
// that --continue-on-error stores what succeeded.
func TestScriptIsOneTransaction(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	base := "conf t\nmedia\nrealm-config\nidentifier keep\ndone\n"
	if _, e, code := runScript(t, db, base, false); code != 0 {
		t.Fatalf("base script failed: %s", e)
	}
	bad := "conf t\nmedia\nrealm-config\nidentifier r2\ndone\nexit\nrealm-config\nmax-bandwidth -5\n"
	if _, _, code := runScript(t, db, bad, false); code != 1 {
		t.Fatalf("bad script exit %d, want 1", code)
	}
	if got := realms(t, db); got != "keep" {
		t.Fatalf("after failed script realms = %q, want keep", got)
	}
	if _, _, code := runScript(t, db, bad, true); code != 1 {
		t.Fatalf("continue-on-error exit %d, want 1", code)
	}
	if got := realms(t, db); got != "keep r2" {
		t.Fatalf("after --continue-on-error realms = %q, want \"keep r2\"", got)
	}
}

func realms(t *testing.T, db string) string {
	t.Helper()
	var keys []string
	err := store.New(db).View(func(tx *store.Tx) error {
		c, err := tx.Editing()
		for _, in := range c.List("realm-config") {
			keys = append(keys, in.Key())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(keys, " ")
}

func TestComplete(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	if _, e, code := runScript(t, db, "conf t\nmedia\nrealm-config\nidentifier core-172\ndone\nexit\nexit\nsess\nsip-interface\nrealm-id core-172\ndone\n", false); code != 0 {
		t.Fatal(e)
	}
	sh := New(Options{Store: store.New(db)})
	tests := []struct {
		setup []string
		line  string
		want  string
	}{
		{nil, "", "activate-config backup-config configure delete-backup-config delete-config disable display-current-cfg-version display-running-cfg-version enable exit restore-backup-config rollback-config save-config secret show verify-config version-limit"},
		{nil, "conf", "configure"},
		{nil, "configure ", "terminal"},
		{[]string{"conf t"}, "s", "save-config session-router show system"},
		{[]string{"conf t", "sess", "sip-interface"}, "sip", "sip-ports"},
		{[]string{"conf t", "sess", "sip-interface", "sip-ports"}, "transport-protocol ", "SCTP TCP TLS UDP"},
		{[]string{"conf t", "sess", "sip-interface", "sip-ports"}, "tr s", "SCTP"},
		{[]string{"conf t", "sess", "session-agent"}, "transport-method st", "StaticTCP StaticTLS staticSCTP"},
		{[]string{"conf t", "sess", "session-agent"}, "port ", ""},
		{nil, "show configuration realm-config ", "core-172 short"},
		{[]string{"conf t", "media", "realm-config"}, "select c", "core-172"},
		{[]string{"conf t", "media", "realm-config"}, "no ", "core-172"},
	}
	for _, tt := range tests {
		sh.modes = sh.modes[:1]
		for _, l := range tt.setup {
			if err := sh.Exec(l); err != nil {
				t.Fatalf("%s: %v", l, err)
			}
		}
		if got := strings.Join(sh.Complete(tt.line), " "); got != tt.want {
			t.Errorf("after %q, Complete(%q) = %q, want %q", tt.setup, tt.line, got, tt.want)
		}
	}
}

// FuzzExec feeds arbitrary lines to the shell in every mode: it must never
// panic, whatever the line.
func FuzzExec(f *testing.F) {
	for _, s := range []string{"conf t", "sess", "sip-i", "sip-p", "address 10.0.0.1", "multi-homed-addrs (a b", "select", "no", "done", "exit", "?", "tr ?", `description "x`, "show configuration x y z short"} {
		f.Add(s)
	}
	db := filepath.Join(f.TempDir(), "fuzz.db")
	sess, err := store.New(db).OpenSession()
	if err != nil {
		f.Fatal(err)
	}
	defer sess.Close()
	f.Fuzz(func(t *testing.T, line string) {
		tx, err := sess.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var out bytes.Buffer
		sh := New(Options{Store: store.New(db), Out: &out})
		sh.be = txBackend{tx}
		sh.script = true
		sh.r = emptyReader{}
		for _, setup := range [][]string{nil, {"conf t"}, {"conf t", "sess", "sip-i"}, {"conf t", "sess", "sip-i", "sip-p"}, {"conf t", "system", "network-parameters"}} {
			sh.modes = sh.modes[:1]
			for _, l := range setup {
				_ = sh.Exec(l)
			}
			_ = sh.Exec(line)
			sh.Complete(line)
			sh.help(line)
		}
	})
}

type emptyReader struct{}

func (emptyReader) ReadLine(string) (string, error)     { return "", errEOFTest }
func (emptyReader) ReadPassword(string) (string, error) { return "", errEOFTest }

var errEOFTest = &testErr{}

type testErr struct{}

func (*testErr) Error() string { return "end of test input" }
