package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTerminal drives the interactive shell in a real terminal (tmux): Tab
// completion, the ? key, history, Ctrl-C, the save question and Ctrl-D.
// The database's directory does not exist yet: the first session creates
// it (0700) and saves its history there.
func TestTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed to test the interactive shell: apt-get install -y tmux (.ci/run installs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "acli")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "state", "acli")
	db := filepath.Join(state, "acli.db")
	sock := filepath.Join(dir, "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", "acli", "-x", "150", "-y", "50", bin+" --db "+db+" --prompt ORACLE")
	defer exec.Command("tmux", "-S", sock, "kill-server").Run()

	screen := func() string { return tmux("capture-pane", "-p", "-t", "acli") }
	// waitFor polls the screen until it contains want.
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(screen(), want) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", want, screen())
	}
	// waitLast polls until the last non-empty line of the screen is want.
	waitLast := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			lines := strings.Split(strings.TrimRight(screen(), "\n "), "\n")
			if strings.TrimSpace(lines[len(lines)-1]) == want {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("last line never became %q:\n%s", want, screen())
	}
	keys := func(k ...string) { tmux(append([]string{"send-keys", "-t", "acli"}, k...)...) }

	waitFor("ORACLE#")
	keys("conf t", "Enter", "sess", "Enter", "sip-i", "Enter", "sip-p", "Enter")
	waitFor("ORACLE(sip-port)#")
	keys("transport-pro", "Tab")
	waitFor("ORACLE(sip-port)# transport-protocol")
	keys("?")
	waitFor("SCTP  layer 4 protocol")
	waitFor("UDP   layer 4 protocol (default)")
	keys("sc", "Tab")
	waitFor("ORACLE(sip-port)# transport-protocol SCTP")
	// Each command is typed once its prompt shows, as a person would
	// (keys typed ahead while a command prints can garble the screen).
	keys("Enter")
	waitLast("ORACLE(sip-port)#")
	keys("address 172.16.10.76", "Enter")
	waitLast("ORACLE(sip-port)#")
	keys("show", "Enter")
	waitFor("address                         172.16.10.76")
	keys("Up", "Up")
	waitFor("ORACLE(sip-port)# address 172.16.10.76")
	keys("C-c")
	keys("exit", "Enter")
	waitFor("Save changes? [y/n]:")
	keys("y", "Enter")
	waitLast("ORACLE(sip-interface)#")
	// Ctrl-D climbs one level at a time, like exit; each is typed once
	// its prompt is showing, as a person would.
	for _, prompt := range []string{"ORACLE(session-router)#", "ORACLE(configure)#", "ORACLE#"} {
		keys("C-d")
		waitLast(prompt)
	}
	keys("C-d")
	// The session has ended; the sip-port was stored.
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command("tmux", "-S", sock, "has-session", "-t", "acli").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ctrl-D at the top did not end the session:\n%s", screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := exec.Command(bin, "--db", db, "show", "configuration", "sip-interface", "short").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "transport-protocol              SCTP") || !strings.Contains(string(out), "172.16.10.76") {
		t.Fatalf("stored configuration after the terminal session: %v\n%s", err, out)
	}
	history := filepath.Join(state, "history")
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{db, 0o600}, {state, 0o700}, {history, 0o600}} {
		if st, err := os.Stat(f.path); err != nil {
			t.Fatal(err)
		} else if st.Mode().Perm() != f.mode {
			t.Fatalf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
	}
	if h, err := os.ReadFile(history); err != nil || !strings.Contains(string(h), "address 172.16.10.76\n") {
		t.Fatalf("the first session's history was not saved: %v\n%s", err, h)
	}
}
