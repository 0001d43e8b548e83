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

func sipPortScript(transport, addr, port string) string {
	return "configure terminal\nsession-router\nsip-interface\nselect\ncore\n1\nsip-ports\naddress " + addr + "\nport " + port +
		"\ntransport-protocol " + transport + "\ndone\nexit\ndone\nexit\nexit\nexit\n"
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
// sip-ports; SIGHUP applies an edited configuration (an added port
// listens); a failing one (TLS) is refused and shown while the old one
// serves; SIGTERM stops it gracefully, releasing ports and socket.
func TestServeProcess(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acli.db")
	p1, p2 := freeTCPPort(t), freeTCPPort(t)
	acliCmd(t, db, "configure terminal\nsession-router\nsip-interface\nrealm-id core\ndone\nexit\nexit\nexit\n")
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
	if !strings.Contains(out, "TCP        127.0.0.1  "+p1+"  listening") {
		t.Fatalf("show sip-ports:\n%s", out)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:"+p1)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// SIGHUP: an added port opens.
	acliCmd(t, db, sipPortScript("UDP", "127.0.0.1", p2))
	serve.Process.Signal(syscall.SIGHUP)
	waitFor("the added port", func() bool {
		return strings.Contains(acliCmd(t, db, "", "show", "sip-ports"), "UDP        127.0.0.1  "+p2+"  listening")
	})

	// SIGHUP with a TLS port: refused, the old version serves on.
	acliCmd(t, db, sipPortScript("TLS", "127.0.0.1", p2))
	serve.Process.Signal(syscall.SIGHUP)
	waitFor("the refused version", func() bool { return strings.Contains(acliCmd(t, db, "", "show", "sip-ports"), "last apply FAILED") })
	out = acliCmd(t, db, "", "show", "sip-ports")
	for _, want := range []string{"UDP        127.0.0.1  " + p2 + "  listening", "TLS        127.0.0.1  " + p2 + "  failed",
		"TLS is not supported by the runtime yet (no tls-profile support): allowed UDP, TCP or SCTP"} {
		if !strings.Contains(out, want) {
			t.Errorf("show sip-ports after a refused version lacks %q:\n%s", want, out)
		}
	}

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
		`msg="runtime stopped"`, `msg="SIGHUP: applying the running configuration again"`} {
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
	if !strings.Contains(acliCmd(t, db, "", "show", "sip-ports"), "no runtime is attached") {
		t.Error("show sip-ports after the daemon stopped does not say that no runtime is attached")
	}
}
