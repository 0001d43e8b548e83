package main

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemon is an acli serve process.
type daemon struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

// startServe runs acli serve on db and waits for its control socket.
func startServe(t *testing.T, db string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command("acli", "--db", db, "serve"), logs: &syncBuffer{}, exited: make(chan error, 1)}
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(d.kill)
	pid := strconv.Itoa(d.cmd.Process.Pid)
	waitUntil(t, "the daemon's control socket", 10*time.Second, func() bool {
		return strings.Contains(d.logs.String(), "pid="+pid) && socketUp(db+".sock")
	}, d.logs.String)
	return d
}

// kill stops the daemon with SIGKILL (nothing closes gracefully).
func (d *daemon) kill() {
	if d.cmd.ProcessState == nil {
		d.cmd.Process.Kill()
		<-d.exited
		d.exited <- nil
	}
}

func socketUp(path string) bool {
	c, err := net.Dial("unix", path)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func waitUntil(t *testing.T, what string, limit time.Duration, ok func() bool, state func() string) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s:\n%s", what, state())
		}
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sipOptions sends an OPTIONS over UDP to 127.0.0.1:port and returns the
// status line of the answer ("" when none came within 500 ms).
func sipOptions(port int) string {
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	fmt.Fprintf(c, "OPTIONS sip:sbc SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-%d\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=t1\r\nTo: <sip:sbc>\r\nCall-ID: c%d@test\r\n"+
		"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", time.Now().UnixNano(), time.Now().UnixNano())
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	line, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
	return string(line)
}

// udpFree reports whether port can be bound on 127.0.0.1 (nothing holds it).
func udpFree(port int) bool {
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestConfirmedServe: acli serve owns a confirmed activation. At a
// terminal, activate-config confirmed 3 (minutes of one second, through
// the test hook) makes version 2 run: UDP port a closes and port b opens.
// The shell is then killed (SIGKILL, as a dropped SSH session), so only
// the daemon can roll back: at the deadline it returns running to version
// 1 by itself, port a serves again and port b is released. The same when
// the daemon is killed and restarted before the deadline (it reads the
// deadline at start) and after it (it rolls back at once). With the shell
// alive as well, one of the two rolls back and the terminal says so once.
func TestConfirmedServe(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed to run the interactive shell: apt-get install -y tmux (.ci/run installs it)")
	}
	bin, err := exec.LookPath("acli") // this test binary, as testscript.Main installed it
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// restart kills the daemon and starts another; after waits for
		// the deadline to pass before the restart; alive keeps the shell.
		restart, after, alive bool
	}{
		{"daemon runs", false, false, false},
		{"daemon restarted before the deadline", true, false, false},
		{"daemon restarted after the deadline", true, true, false},
		{"shell alive too", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "acli.db")
			a, b := freeUDPPort(t), freeUDPPort(t)
			acliCmd(t, db, baseScript)
			acliCmd(t, db, sipPortScript("UDP", "127.0.0.1", strconv.Itoa(a)))
			// Version 2 moves the sip-port from a to b.
			acliCmd(t, db, fmt.Sprintf("configure terminal\nsession-router\nsip-interface\nselect\ncore\n1\nsip-ports\nselect\n127.0.0.1\n1\n"+
				"port %d\ndone\nexit\ndone\nexit\nexit\nsave-config\nexit\n", b))
			d := startServe(t, db)
			waitUntil(t, "version 1's port to serve", 10*time.Second, func() bool { return sipOptions(a) == "SIP/2.0 200 OK" }, d.logs.String)

			sock := filepath.Join(dir, "tmux.sock")
			tmux := func(args ...string) string {
				t.Helper()
				out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("tmux %v: %v\n%s", args, err, out)
				}
				return string(out)
			}
			tmux("new-session", "-d", "-s", "acli", "-x", "200", "-y", "50",
				fmt.Sprintf("exec env %s=1s %s --db %s", confirmUnitEnv, bin, db))
			t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
			screen := func() string { return tmux("capture-pane", "-p", "-t", "acli") }
			waitUntil(t, "the prompt", 10*time.Second, func() bool { return strings.Contains(screen(), "ACLI#") }, screen)
			tmux("send-keys", "-t", "acli", "activate-config confirmed 3", "Enter")
			waitUntil(t, "the runtime's report", 10*time.Second, func() bool {
				return strings.Contains(screen(), "% runtime: version 2 applied: 1 opened, 0 updated, 1 closed, 0 unchanged")
			}, screen)
			if s := sipOptions(b); s != "SIP/2.0 200 OK" {
				t.Fatalf("version 2's port %d answers %q", b, s)
			}
			if !udpFree(a) {
				t.Fatalf("version 1's port %d still held while version 2 runs", a)
			}
			if tt.alive {
				// Both the shell's timer and the daemon's are due: one
				// rolls back, and the terminal says so once.
				const notice = "activate-config confirmed of version 2 was not confirmed by "
				waitUntil(t, "the shell's notice", 10*time.Second, func() bool { return strings.Contains(screen(), notice) }, screen)
				time.Sleep(time.Second)
				if n := strings.Count(screen(), notice); n != 1 {
					t.Errorf("the terminal says %d times that version 2 was rolled back:\n%s", n, screen())
				}
				waitUntil(t, "version 1's port to serve again", 10*time.Second, func() bool { return sipOptions(a) == "SIP/2.0 200 OK" }, d.logs.String)
				waitUntil(t, "version 2's port to be released", 5*time.Second, func() bool { return udpFree(b) }, d.logs.String)
				if n := strings.Count(d.logs.String(), "not confirmed in time"); n > 1 {
					t.Errorf("the daemon rolled back %d times:\n%s", n, d.logs.String())
				}
				return
			}
			// The operator's terminal is lost.
			pid, err := strconv.Atoi(strings.TrimSpace(tmux("display-message", "-p", "-t", "acli", "#{pane_pid}")))
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill the shell: %v", err)
			}
			killed := time.Now()
			if tt.restart {
				d.kill()
				if tt.after {
					time.Sleep(4 * time.Second) // past the deadline, with no daemon and no shell
				}
				d = startServe(t, db)
			}
			waitUntil(t, "version 1's port to serve again", 10*time.Second, func() bool { return sipOptions(a) == "SIP/2.0 200 OK" }, d.logs.String)
			waitUntil(t, "version 2's port to be released", 5*time.Second, func() bool { return udpFree(b) }, d.logs.String)
			t.Logf("rolled back %v after the shell was killed", time.Since(killed).Round(10*time.Millisecond))
			if !strings.Contains(d.logs.String(), `msg="confirmed activation not confirmed in time: running returns to the previous version" version=2`) {
				t.Errorf("the daemon's log does not say it rolled back:\n%s", d.logs.String())
			}
			out := acliCmd(t, db, "", "display-running-cfg-version")
			if !strings.HasPrefix(out, "Running configuration version is 1\nactivate-config confirmed of version 2 was not confirmed by ") {
				t.Errorf("display-running-cfg-version after the rollback:\n%s", out)
			}
		})
	}
}
