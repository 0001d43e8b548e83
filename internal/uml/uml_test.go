package uml

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func testGuest() *Guest {
	return &Guest{
		Dir:     "/tmp/uml-123",
		Binary:  "/tmp/go-build1/b001/sctp.test",
		Args:    []string{"-test.run=^TestA$|B", "-test.v=true", "-test.timeout=10m0s", "it's a 'quoted' arg", ""},
		WorkDir: "/work/main/runtime/sctp",
		Env:     []string{"HOME=/root", "X=a b $HOME `id`", GuestEnv + "=1"},
	}
}

func TestInitScriptOrder(t *testing.T) {
	s := testGuest().InitScript()
	if !strings.HasPrefix(s, "#!/bin/sh\n") {
		t.Fatalf("no shebang:\n%s", s)
	}
	// Steps must come in this order.
	steps := []string{
		"mount -t proc proc /proc",
		"mount -t sysfs sys /sys",
		"/usr/lib/uml/modules/$(uname -r)/kernel",
	}
	steps = append(steps, Modules...)
	steps = append(steps,
		"insmod",
		"ip link set lo up",
		"ulimit -n 65536",
		"/tmp/uml-123/started",
		"cd /work/main/runtime/sctp",
		"env -i",
		"/tmp/go-build1/b001/sctp.test",
		">/tmp/uml-123/stdout 2>/tmp/uml-123/stderr",
		`echo "$status" >/tmp/uml-123/status`,
		"halt -f",
	)
	at := 0
	for _, step := range steps {
		i := strings.Index(s[at:], step)
		if i < 0 {
			t.Fatalf("step %q missing or out of order in:\n%s", step, s)
		}
		at += i + len(step)
	}
	if !strings.HasSuffix(s, "halt -f\n") {
		t.Errorf("script does not end with halt -f:\n%s", s)
	}
}

func TestInitScriptSyntax(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-n")
	cmd.Stdin = strings.NewReader(testGuest().InitScript())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s", err, out)
	}
}

// TestShellQuote runs the quoted words through a real shell.
func TestShellQuote(t *testing.T) {
	words := []string{"", "plain", "-test.run=^TestA$|B", "it's", "a b", "$HOME", "`id`", "\"x\"", "tab\tnl\n", "'''", `back\slash`}
	var script strings.Builder
	script.WriteString("for w in")
	for _, w := range words {
		script.WriteString(" " + ShellQuote(w))
	}
	script.WriteString("; do printf '%s\\0' \"$w\"; done")
	out, err := exec.Command("/bin/sh", "-c", script.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, words) {
		t.Fatalf("shell saw %q, want %q", got, words)
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0\n", 0, true},
		{"1\n", 1, true},
		{" 2 ", 2, true},
		{"255", 255, true},
		{"", 0, false},
		{"\n", 0, false},
		{"abc\n", 0, false},
		{"-1", 0, false},
		{"256", 0, false},
		{"1\n2\n", 0, false},
	} {
		got, err := ParseStatus([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseStatus(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestGuestEnviron(t *testing.T) {
	env := GuestEnviron([]string{"PATH=/bin", "GOMAXPROCS=8", "A=1", "BAD-NAME=x", "noequals", GuestEnv + "=0", "GODEBUG=x=1"})
	want := []string{"PATH=/bin", "A=1", "GODEBUG=x=1", GuestEnv + "=1"}
	if !slices.Equal(env, want) {
		t.Fatalf("GuestEnviron = %q, want %q", env, want)
	}
}

func TestKernelArgs(t *testing.T) {
	args := KernelArgs("/tmp/uml-1/init.sh", "/tmp/uml-1")
	for _, want := range []string{"mem=" + GuestMemory, "rootfstype=hostfs", "rootflags=/", "rw", "init=/tmp/uml-1/init.sh", "uml_dir=/tmp/uml-1", "con0=fd:0,fd:1"} {
		if !slices.Contains(args, want) {
			t.Errorf("KernelArgs lacks %q: %q", want, args)
		}
	}
}

// guestForTest returns a Guest running /bin/sh -c script, or nil where no
// guest is needed (the kernel has SCTP) and none is installed.
func guestForTest(t *testing.T, script string) (*Guest, string) {
	kernel, err := FindUML()
	if err != nil {
		if KernelSCTP() == nil {
			t.Logf("no linux.uml, and none needed: this kernel has SCTP (%v)", err)
			return nil, ""
		}
		t.Fatalf("%v; install it with: %s", err, InstallHint)
	}
	return &Guest{Dir: t.TempDir(), Binary: "/bin/sh", Args: []string{"-c", script},
		WorkDir: t.TempDir(), Env: GuestEnviron([]string{"PATH=/usr/bin:/bin"})}, kernel
}

// TestGuestRun boots a real guest: output, exit status, working directory,
// environment and kernel SCTP inside.
func TestGuestRun(t *testing.T) {
	g, kernel := guestForTest(t, `echo "out $ACLI_UML_GUEST $(pwd)"; echo err >&2; grep -q sctp /proc/modules && echo sctp; exit 3`)
	if g == nil {
		return
	}
	var out, errb strings.Builder
	code, err := g.Run(context.Background(), kernel, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	if want := "out 1 " + g.WorkDir + "\nsctp\n"; !strings.HasSuffix(out.String(), want) || !strings.HasPrefix(out.String(), "uml: ") {
		t.Errorf("stdout %q, want the boot line then %q", out.String(), want)
	}
	if errb.String() != "err\n" {
		t.Errorf("stderr %q", errb.String())
	}
}

// TestGuestTimeout: a guest that outlives its context is killed and
// reported, with its console log.
func TestGuestTimeout(t *testing.T) {
	g, kernel := guestForTest(t, "sleep 600")
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var out, errb strings.Builder
	start := time.Now()
	_, err := g.Run(ctx, kernel, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run returned %v after the start, want about 4s", d)
	}
	if !strings.Contains(errb.String(), "guest console log") {
		t.Errorf("no console log on stderr: %q", errb.String())
	}
}

func TestMissingMessage(t *testing.T) {
	msg := MissingMessage(errors.New("protocol not supported"), errors.New("not found"))
	for _, want := range []string{"need kernel SCTP or User-Mode Linux", "protocol not supported", "apt-get install -y user-mode-linux kmod"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

// The guest lock is exclusive: a second holder waits until the first
// releases it, and gives up with its context.
func TestLockGuest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guest.lock")
	unlock, err := lockGuest(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if u, err := lockGuest(short, path); err == nil {
		u()
		t.Fatal("a second holder got the lock while the first held it")
	} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another test package's guest") {
		t.Errorf("second holder: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := lockGuest(context.Background(), path)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second holder did not wait: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second holder still waits after the first released the lock")
	}
}
