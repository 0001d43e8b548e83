package control

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestApplyReportText(t *testing.T) {
	tests := []struct {
		name string
		r    ApplyReport
		want string
		err  string
	}{
		{"changes", ApplyReport{Version: "4", Previous: "3", Opened: []string{"UDP 127.0.0.1:5060"},
			Updated: []Update{{Key: "SCTP 127.0.0.1:5060", Changes: []string{"sctp-rto-initial 3000 -> 500 (new associations only)"}}},
			Closed:  []string{"TCP 127.0.0.1:5060"}, Unchanged: 2},
			"% runtime: version 4 applied: 1 opened, 1 updated, 1 closed, 2 unchanged\n" +
				"%   opened  UDP 127.0.0.1:5060\n" +
				"%   updated SCTP 127.0.0.1:5060: sctp-rto-initial 3000 -> 500 (new associations only)\n" +
				"%   closed  TCP 127.0.0.1:5060\n", ""},
		{"nothing", ApplyReport{Version: "5", Previous: "4", Unchanged: 3},
			"% runtime: version 5 applied: no listener changed (3 unchanged)\n", ""},
		{"refused", ApplyReport{Version: "6", Previous: "5", Errors: []string{"a: port in use", "b: TLS"}},
			"% runtime: version 6 was NOT applied; version 5 keeps serving\n%   error: a: port in use\n%   error: b: TLS\n",
			"runtime refused version 6 (version 5 keeps serving): a: port in use\nb: TLS"},
		{"refused first", ApplyReport{Version: "1", Errors: []string{"x"}},
			"% runtime: version 1 was NOT applied; version (none) keeps serving\n%   error: x\n",
			"runtime refused version 1 (version (none) keeps serving): x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("String:\n%s\nwant:\n%s", got, tt.want)
			}
			err := tt.r.Err()
			if (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
				t.Errorf("Err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv(EnvSocket, "")
	if got := SocketPath("/var/lib/acli/acli.db"); got != "/var/lib/acli/acli.db.sock" {
		t.Errorf("default: %s", got)
	}
	t.Setenv(EnvSocket, "/run/acli.sock")
	if got := SocketPath("/var/lib/acli/acli.db"); got != "/run/acli.sock" {
		t.Errorf("with %s: %s", EnvSocket, got)
	}
}

func TestWritePorts(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Ports{Version: "2", AppliedAt: at,
		Serving: []PortState{{Interface: "core", Transport: "SCTP", Address: "10.0.0.1", MultiHomed: []string{"10.0.0.2"},
			Port: 5060, State: StateListening, In: 12, Out: 12}},
		Failed: &FailedApply{Version: "3", At: at, Errors: []string{"listener UDP 10.0.0.9:5060: bind: cannot assign requested address"},
			Ports: []PortState{
				{Interface: "core", Transport: "SCTP", Address: "10.0.0.1", Port: 5060, State: StateNotTried, Reason: "still listening for the serving version"},
				{Interface: "core", Transport: "UDP", Address: "10.0.0.9", Port: 5060, State: StateFailed, Reason: "bind: cannot assign requested address"}}}}
	var b bytes.Buffer
	WritePorts(&b, p)
	want := `serving version 2, applied 2026-01-02T03:04:05Z
sip-interface  transport  address            port  state      in  out
core           SCTP       10.0.0.1+10.0.0.2  5060  listening  12  12

last apply FAILED: version 3 at 2026-01-02T03:04:05Z was refused; the version above keeps serving
sip-interface  transport  address   port  state
core           SCTP       10.0.0.1  5060  not applied (still listening for the serving version)
core           UDP        10.0.0.9  5060  failed
%   UDP 10.0.0.9:5060 failed: bind: cannot assign requested address
%   error: listener UDP 10.0.0.9:5060: bind: cannot assign requested address
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing blank: %q", l)
		}
	}
}
