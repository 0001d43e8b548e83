package acli

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/acli-project/acli/runtime"
)

// TestRuntimeShow runs the runtime's show topics in a script, first with
// no daemon, then against a daemon serving the script's own configuration.
func TestRuntimeShow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acli.db")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	setup := "configure terminal\nsystem\nphy-interface\nname m10\noperation-type media\ndone\nexit\n" +
		"network-interface\nname m10\nip-address 127.0.0.1\nnetmask 255.0.0.0\ndone\nexit\nexit\n" +
		"media-manager\nrealm-config\nidentifier core\nnetwork-interfaces (m10)\ndone\nexit\nexit\n" +
		sipPort("TCP", port, false) + "save-config\nactivate-config\nexit\n"
	if _, stderr, code := runScript(t, db, setup, false); code != 0 {
		t.Fatalf("setup script failed: %s", stderr)
	}

	notAttached := "% no runtime is attached: nothing serves " + db + ".sock (start one with: acli serve)\n"
	for _, cmd := range []string{"show sip-ports", "show sctp info", "show sctp options", "show sctp options 127.0.0.1"} {
		out, stderr, code := runScript(t, db, cmd+"\n", false)
		if code != 0 || !strings.HasSuffix(out, notAttached) {
			t.Errorf("%s without a runtime: exit %d, stdout %q, stderr %q; want the not-attached message", cmd, code, out, stderr)
		}
	}

	d, err := runtime.Start(runtime.DaemonOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tests := []struct {
		cmd  string
		out  []string // substrings of stdout
		err  string   // first line of stderr
		code int
	}{
		{"show sip-ports", []string{"serving version 1, applied", "sip-interface  transport  address    port", "core           TCP        127.0.0.1  " + port + "  listening  0   0"}, "", 0},
		{"sh sip", []string{"listening"}, "", 0},
		{"show sctp info", []string{"% no SCTP listener is open"}, "", 0},
		{"show sctp opt", []string{"% no SCTP listener is open"}, "", 0},
		{"show sctp options 127.0.0.1", nil, "line 1: runtime: no SCTP listener is bound to 127.0.0.1 (0 SCTP listeners; show sctp info lists them)", 1},
		{"show sctp options here", nil, `line 1: runtime: address "here": allowed an IP address or IP:port`, 1},
		{"show sctp", nil, "line 1: show sctp needs a topic: allowed info, options", 1},
		{"show sctp status", nil, `line 1: Unknown sctp topic "status" in show sctp: allowed info, options`, 1},
		{"show sctp info now", nil, `line 1: show sctp info takes no argument, got "now"`, 1},
		{"show sip-ports all", nil, `line 1: show sip-ports takes no argument, got "all"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			out, stderr, code := runScript(t, db, tt.cmd+"\n", false)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, stderr)
			}
			for _, want := range tt.out {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if first, _, _ := strings.Cut(stderr, "\n"); first != tt.err {
				t.Errorf("stderr %q, want first line %q", stderr, tt.err)
			}
		})
	}
}

// sipPort is the script that adds a sip-port to sip-interface core (an
// existing one, else a new one).
func sipPort(transport, port string, existing bool) string {
	open := "sip-interface\nrealm-id core\n"
	if existing {
		open = "sip-interface\nselect\ncore\n1\n"
	}
	return "session-router\n" + open + "sip-ports\naddress 127.0.0.1\nport " + port + "\ntransport-protocol " + transport +
		"\ndone\nexit\ndone\nexit\nexit\n"
}

// activate-config tells the attached runtime, which reports what changed
// or why it refused the version (the lifecycle then puts running back).
func TestActivateTellsRuntime(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acli.db")
	ports := make([]string, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		if i == 2 {
			defer l.Close() // busy: the runtime cannot listen there
		} else {
			l.Close()
		}
	}
	setup := "configure terminal\nsystem\nphy-interface\nname m10\noperation-type media\ndone\nexit\n" +
		"network-interface\nname m10\nip-address 127.0.0.1\nnetmask 255.0.0.0\ndone\nexit\nexit\n" +
		"media-manager\nrealm-config\nidentifier core\nnetwork-interfaces (m10)\ndone\nexit\nexit\n" +
		sipPort("TCP", ports[0], false) + "save-config\nactivate-config\nexit\n"
	if _, stderr, code := runScript(t, db, setup, false); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	d, err := runtime.Start(runtime.DaemonOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	out, stderr, code := runScript(t, db, "configure terminal\n"+sipPort("UDP", ports[1], true)+"save-config\nactivate-config\nexit\n", false)
	if code != 0 || !strings.Contains(out, "% runtime: version 2 applied: 1 opened, 0 updated, 0 closed, 1 unchanged") ||
		!strings.Contains(out, "%   opened  UDP 127.0.0.1:"+ports[1]) {
		t.Fatalf("activate-config with a runtime: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}

	out, stderr, code = runScript(t, db, "configure terminal\n"+sipPort("TCP", ports[2], true)+"save-config\nactivate-config\nexit\n", true)
	if code != 1 || strings.Contains(out, "Activate Complete") ||
		!strings.Contains(stderr, "% activate-config: version 3 was NOT applied: the runtime refused it and keeps serving version 2; running configuration version is 2\n") ||
		!strings.Contains(stderr, "address already in use") {
		t.Fatalf("activate-config of a version the runtime refuses: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	out, _, _ = runScript(t, db, "show sip-ports\n", false)
	for _, want := range []string{"serving version 2", "last apply FAILED: version 3", "TCP        127.0.0.1  " + ports[2] + "  failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("show sip-ports lacks %q:\n%s", want, out)
		}
	}
}
