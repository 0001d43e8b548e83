package acli

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/verify"
)

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
