package runtime

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime/control"
)

func startDaemon(t *testing.T, db string) *Daemon {
	t.Helper()
	d, err := Start(DaemonOptions{DB: db, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestControl drives a daemon through its control socket as the shell and
// activate-config do.
func TestControl(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "acli.db")
	p := freePort(t)
	// No running version yet: nothing listens.
	d := startDaemon(t, db)
	if stat, err := control.NewClient(db + ".sock").Status(); err != nil || stat.Version != "none" || stat.Listeners != 0 {
		t.Fatalf("status with no running version: %+v, %v", stat, err)
	}
	writeConfig(t, db, config([]port{{"core", "UDP", "127.0.0.1", p, nil}, {"core", "TCP", "127.0.0.1", p, nil}}, nil, nil))
	if rep := d.Apply(); len(rep.Errors) > 0 || rep.Version != "1" || rep.Previous != "none" || len(rep.Opened) != 2 {
		t.Fatalf("first apply: %+v", rep)
	}
	sock := db + ".sock"

	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket %s: %v, mode %v; want a socket of mode 0600", sock, err, fi.Mode())
	}
	// The daemon does not hold the database: a writer gets it at once.
	st := store.New(db)
	st.LockTimeout = 100 * time.Millisecond
	if err := st.Update(func(*store.Tx) error { return nil }); err != nil {
		t.Fatalf("the daemon holds the database: %v", err)
	}

	c := control.NewClient(sock)
	stat, err := c.Status()
	if err != nil || stat.PID != os.Getpid() || stat.Listeners != 2 || stat.Version != "1" {
		t.Fatalf("status: %+v, %v", stat, err)
	}
	ports, err := c.SIPPorts()
	if err != nil || len(ports.Serving) != 2 || ports.Serving[0].State != control.StateListening {
		t.Fatalf("sip-ports: %+v, %v", ports, err)
	}
	if ls, err := c.SCTPInfo(); err != nil || len(ls) != 0 {
		t.Errorf("sctp-info without SCTP listeners: %v, %v", ls, err)
	}
	if o, err := c.SCTPOptions(""); err != nil || len(o) != 0 {
		t.Errorf("sctp-options without SCTP listeners: %v, %v", o, err)
	}

	tests := []struct {
		name string
		req  control.Request
		err  string
	}{
		{"bad address", control.Request{Command: control.CmdSCTPOptions, Address: "nowhere"}, `runtime: address "nowhere": allowed an IP address or IP:port`},
		{"no such listener", control.Request{Command: control.CmdSCTPOptions, Address: "127.0.0.1"}, "runtime: no SCTP listener is bound to 127.0.0.1 (0 SCTP listeners; show sctp info lists them)"},
		{"unknown command", control.Request{Command: "reboot"}, `runtime: unknown command "reboot": allowed apply, sctp-info, sctp-options, session-agents, sip-ports, status`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Do(tt.req); err == nil || err.Error() != tt.err {
				t.Errorf("error %v, want %s", err, tt.err)
			}
		})
	}
	t.Run("malformed request", func(t *testing.T) {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte(`{"command": "status", "bogus": 1}`))
		conn.(*net.UnixConn).CloseWrite()
		var r control.Response
		if err := json.NewDecoder(conn).Decode(&r); err != nil || !strings.Contains(r.Error, "malformed request") {
			t.Errorf("answer %+v, %v", r, err)
		}
	})

	// A second daemon on the same socket is refused.
	if _, err := Start(DaemonOptions{DB: db}); err == nil || !strings.Contains(err.Error(), "another runtime is serving it") {
		t.Errorf("second daemon: %v", err)
	}

	// activate-config: an added port opens.
	q := freePort(t)
	writeConfig(t, db, config([]port{{"core", "UDP", "127.0.0.1", p, nil}, {"core", "TCP", "127.0.0.1", p, nil},
		{"core", "UDP", "127.0.0.2", q, nil}}, nil, nil))
	report, attached, err := control.NotifyApply(db)
	if err != nil || !attached || !strings.Contains(report, "version 2 applied: 1 opened, 0 updated, 0 closed, 2 unchanged") ||
		!strings.Contains(report, "opened  UDP 127.0.0.2:"+itoa(q)) {
		t.Fatalf("NotifyApply: %q, %v, %v", report, attached, err)
	}
	if s, err := udpOptions(t, addr("127.0.0.2", q)); err != nil || s != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS to the activated port: %q, %v", s, err)
	}
	// A refused version: the report says so and err carries every error.
	writeConfig(t, db, config([]port{{"core", "TLS", "127.0.0.1", p, nil}, {"core", "UDP", "", p, nil}}, nil, nil))
	report, attached, err = control.NotifyApply(db)
	if err == nil || !attached || !strings.Contains(report, "version 3 was NOT applied; version 2 keeps serving") || strings.Count(report, "error:") != 2 ||
		!strings.Contains(err.Error(), "has transport-protocol [TLS]") || !strings.Contains(err.Error(), "has no address") {
		t.Fatalf("NotifyApply of a bad version: %q, %v, %v", report, attached, err)
	}
	if stat, _ := c.Status(); stat.Listeners != 3 || stat.LastError == "" {
		t.Errorf("status after the refused version: %+v", stat)
	}

	// After Close: the socket is gone and nothing is attached.
	d.Close()
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
	report, attached, err = control.NotifyApply(db)
	if report != "" || attached || err != nil {
		t.Errorf("NotifyApply without a daemon: %q, %v, %v", report, attached, err)
	}
	if _, err := c.Status(); !errors.Is(err, control.ErrNotAttached) || !strings.Contains(err.Error(), "start one with: acli serve") {
		t.Errorf("client without a daemon: %v", err)
	}
	if _, err := net.ListenPacket("udp", addr("127.0.0.2", q)); err != nil {
		t.Errorf("a port is still held after Close: %v", err)
	}
}

// A socket file left by a killed daemon is replaced; a long path (beyond
// sockaddr_un) works; something else at the path is refused.
func TestControlSocketPath(t *testing.T) {
	t.Run("stale", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "acli.db")
		fd, _ := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: db + ".sock"}); err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd) // bound, never listening: ECONNREFUSED
		startDaemon(t, db)
		if _, err := control.NewClient(db + ".sock").Status(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("long", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
		os.Mkdir(dir, 0o700)
		db := filepath.Join(dir, "acli.db")
		startDaemon(t, db)
		if _, err := control.NewClient(db + ".sock").Status(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "acli.db")
		os.WriteFile(db+".sock", nil, 0o600)
		if _, err := Start(DaemonOptions{DB: db}); err == nil || !strings.Contains(err.Error(), "exists and is not a socket") {
			t.Errorf("Start: %v", err)
		}
	})
}
