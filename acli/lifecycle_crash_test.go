package acli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/model"
	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/control"
)

const crashEnv = "ACLI_CRASH_CHILD_DB"

// TestCrashChild is the child of TestCrashSafety: with crashEnv set it edits
// a marker realm, runs save-config and activate-config in a loop, forever,
// until killed. Without it, it has nothing to do.
func TestCrashChild(t *testing.T) {
	db := os.Getenv(crashEnv)
	if db == "" {
		return
	}
	for i := 0; ; i++ {
		tag := fmt.Sprintf("pid %d iteration %d", os.Getpid(), i)
		script := fmt.Sprintf("conf t\nmedia\nrealm-config\nselect marker\n1\ndescription %q\ndone\nexit\nexit\nexit\nsave-config comment %q\nactivate-config\n", tag, tag)
		if i%7 == 3 {
			script += "rollback-config running\n" // editing = running: nothing to confirm
		}
		sh := New(Options{Store: store.New(db), Out: io.Discard, Err: os.Stderr, Runtime: noRuntimeAttached{}})
		if code := sh.RunScript(strings.NewReader(script)); code != 0 {
			os.Exit(3)
		}
		if i == 0 {
			fmt.Println("saving") // the parent's kills start now
		}
	}
}

// noRuntimeAttached is a Runtime with no daemon.
type noRuntimeAttached struct{}

func (noRuntimeAttached) Attached(string) bool                       { return false }
func (noRuntimeAttached) Apply(string) (*control.ApplyReport, error) { return nil, nil }

// TestCrashSafety kills (SIGKILL) a process that saves and activates in a
// loop on a database of a few thousand elements, at random moments, many
// times; after each kill the file must open, every kept version must be
// complete (its element count and its marker match what was saved with it),
// and the saved and running versions must exist.
func TestCrashSafety(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	base := largeConfig(2000)
	marker := model.NewInstance(model.RealmConfig)
	marker.Set("identifier", []string{"marker"})
	marker.Set("description", []string{"initial"})
	marker.Set("network-interfaces", []string{"m10:0"})
	base.Put(marker)
	lcPut(t, db, base)
	lcScript(t, db, nil, "save-config comment initial\nactivate-config\n")

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 50
	if testing.Short() {
		kills = 10
	}
	savesSeen := map[int]bool{}
	for k := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+db)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the first save, then kill at a random moment of the loop.
		if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kill %d: the child did not start saving: %v: %s", k, err, stderr.String())
		}
		time.Sleep(time.Duration(r.IntN(120)) * time.Millisecond)
		cmd.Process.Kill()
		err = cmd.Wait()
		if cmd.ProcessState.ExitCode() != -1 { // -1: killed by the signal
			t.Fatalf("kill %d: the child ended by itself (%v): %s", k, err, stderr.String())
		}
		crashCheck(t, db, k, savesSeen)
	}
	// Each child saved at least once before its kill.
	if len(savesSeen) < kills {
		t.Fatalf("only %d distinct versions seen over %d kills: the child did not get to work", len(savesSeen), kills)
	}
	t.Logf("%d kills; %d distinct versions seen", kills, len(savesSeen))
}

// crashCheck verifies the database after a kill. Versions are immutable,
// so each is loaded once: those not in checked yet, which it adds.
func crashCheck(t *testing.T, db string, k int, checked map[int]bool) {
	t.Helper()
	var nums []int
	st := store.New(db)
	err := st.View(func(tx *store.Tx) error {
		if _, err := tx.Editing(); err != nil {
			return fmt.Errorf("editing: %w", err)
		}
		vs, err := tx.Versions()
		if err != nil {
			return err
		}
		kept := map[int]bool{}
		for _, v := range vs {
			kept[v.Number] = true
			nums = append(nums, v.Number)
			if checked[v.Number] {
				continue
			}
			checked[v.Number] = true
			c, err := tx.VersionConfig(v.Number)
			if err != nil {
				return err
			}
			if c.Count() != v.Elements {
				return fmt.Errorf("version %d holds %d elements, its info says %d", v.Number, c.Count(), v.Elements)
			}
			m := c.Get("realm-config", "marker")
			if m == nil || m.Str("description") != v.Comment {
				return fmt.Errorf("version %d: marker %v does not match its comment %q", v.Number, m, v.Comment)
			}
		}
		saved, running := tx.SavedVersion(), tx.RunningVersion()
		if !kept[saved] || !kept[running] {
			return fmt.Errorf("saved %d or running %d is not kept (%v)", saved, running, nums)
		}
		if len(vs) > store.DefaultVersionLimit+2 {
			return fmt.Errorf("%d versions kept, limit %d", len(vs), store.DefaultVersionLimit)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after kill %d: %v", k, err)
	}
}
