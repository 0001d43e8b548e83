package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// acliCmd runs acli (the test binary under that name, on PATH through
// testscript.Main) on db with stdin and returns its stdout.
func acliCmd(t *testing.T, db, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("acli", append([]string{"--db", db}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("acli %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// baseScript configures an interface on 127.0.0.1 in realm core with an
// empty sip-interface (valid for save-config).
const baseScript = "configure terminal\nsystem\nphy-interface\nname m10\noperation-type media\ndone\nexit\n" +
	"network-interface\nname m10\nip-address 127.0.0.1\nnetmask 255.0.0.0\ndone\nexit\nexit\n" +
	"media-manager\nrealm-config\nidentifier core\nnetwork-interfaces (m10)\ndone\nexit\nexit\n" +
	"session-router\nsip-interface\nrealm-id core\ndone\nexit\nexit\nexit\n"

// sipPortScript adds a sip-port to sip-interface core, then saves and
// activates the configuration.
func sipPortScript(transport, addr, port string) string {
	return "configure terminal\nsession-router\nsip-interface\nselect\ncore\n1\nsip-ports\naddress " + addr + "\nport " + port +
		"\ntransport-protocol " + transport + "\ndone\nexit\ndone\nexit\nexit\nsave-config\nactivate-config\nexit\n"
}

func freeTCPPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestServeProcess runs acli serve as a process: the shell sees its
// sip-ports; activate-config makes it open an added port and print what
// changed; a version it cannot apply (port in use) is refused and shown
// while the old one serves; SIGHUP re-applies; SIGTERM stops it
// gracefully, releasing ports and socket.
func TestServeProcess(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acli.db")
	p1, p2 := freeTCPPort(t), freeTCPPort(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	p3 := fmt.Sprint(busy.Addr().(*net.TCPAddr).Port)
	acliCmd(t, db, baseScript)
	acliCmd(t, db, sipPortScript("TCP", "127.0.0.1", p1))

	serve := exec.Command("acli", "--db", db, "serve")
	var logs syncBuffer
	serve.Stderr = &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		serve.Process.Kill()
		<-exited
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; daemon log:\n%s", what, logs.String())
			}
		}
	}
	waitFor("the control socket", func() bool { _, err := os.Stat(db + ".sock"); return err == nil })

	out := acliCmd(t, db, "", "show", "sip-ports")
	if !strings.Contains(out, "serving version 1") || !strings.Contains(out, "TCP        127.0.0.1  "+p1+"  listening") {
		t.Fatalf("show sip-ports:\n%s", out)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:"+p1)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// activate-config: an added port opens, and the shell says so.
	out = acliCmd(t, db, sipPortScript("UDP", "127.0.0.1", p2))
	if !strings.Contains(out, "% runtime: version 2 applied: 1 opened, 0 updated, 0 closed, 1 unchanged") {
		t.Fatalf("activate-config output:\n%s", out)
	}
	if out := acliCmd(t, db, "", "show", "sip-ports"); !strings.Contains(out, "UDP        127.0.0.1  "+p2+"  listening") {
		t.Fatalf("show sip-ports after activate-config:\n%s", out)
	}

	// A version the runtime cannot apply: refused, the old version serves on.
	cmd := exec.Command("acli", "--db", db)
	cmd.Stdin = strings.NewReader(sipPortScript("TCP", "127.0.0.1", p3))
	outb, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 ||
		!strings.Contains(string(outb), "% activate-config: version 3 was NOT applied: the runtime refused it and keeps serving version 2; running configuration version is 2\n") {
		t.Fatalf("activate-config of a refused version: exit %d\n%s", code, outb)
	}
	out = acliCmd(t, db, "", "show", "sip-ports")
	for _, want := range []string{"serving version 2", "last apply FAILED: version 3", "TCP        127.0.0.1  " + p3 + "  failed",
		"address already in use"} {
		if !strings.Contains(out, want) {
			t.Errorf("show sip-ports after a refused version lacks %q:\n%s", want, out)
		}
	}

	// SIGHUP re-applies the running version (nothing changes).
	serve.Process.Signal(syscall.SIGHUP)
	waitFor("the re-apply", func() bool {
		return strings.Contains(logs.String(), "SIGHUP: applying the running configuration again")
	})

	// SIGTERM: graceful stop.
	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("acli serve exited with %v after SIGTERM; log:\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("acli serve did not stop on SIGTERM; log:\n%s", logs.String())
	}
	for _, want := range []string{`msg="shutting down" signal=terminated`, `msg="listener closed" listener="TCP 127.0.0.1:` + p1 + `"`,
		`msg="runtime stopped"`, `msg=applied version=2 opened=0 updated=0 closed=0 unchanged=2`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("daemon log lacks %s:\n%s", want, logs.String())
		}
	}
	if _, err := os.Stat(db + ".sock"); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
	if l, err := net.Listen("tcp", "127.0.0.1:"+p1); err != nil {
		t.Errorf("port %s still held after SIGTERM: %v", p1, err)
	} else {
		l.Close()
	}
	if u, err := net.ListenPacket("udp", "127.0.0.1:"+p2); err != nil {
		t.Errorf("UDP port %s still held after SIGTERM: %v", p2, err)
	} else {
		u.Close()
	}
	if !strings.Contains(acliCmd(t, db, "", "show", "sip-ports"), "no runtime is attached") {
		t.Error("show sip-ports after the daemon stopped does not say that no runtime is attached")
	}
}
