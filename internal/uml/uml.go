// Package uml runs a Go test package inside a User-Mode Linux (UML) guest
// when the host kernel has no SCTP.
//
// Use it from a test package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(uml.Main(m)) }
//
// Main decides where the tests run:
//
//   - The current kernel supports SCTP: the tests run right here (m.Run).
//   - Otherwise, if linux.uml is installed: one guest is booted for the whole
//     package. Its root file system is the host's / (hostfs), so the guest
//     re-executes this very test binary by its host path, with the same
//     arguments (-test.run, -test.v, -test.bench, ... pass through) and the
//     same working directory. The guest's stdout and stderr are copied to the
//     host's when it halts, and the guest's exit status is returned.
//   - Otherwise Main fails (it never skips): the tests need kernel SCTP or
//     User-Mode Linux, and the message says how to install the latter.
//
// The guest has one CPU, its own network stack with only a loopback
// interface (every address of 127.0.0.0/8 is usable) and no access to the
// host's network.
package uml

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// GuestEnv is the environment variable that marks a test binary running
// inside the guest: there Main just runs the tests.
const GuestEnv = "ACLI_UML_GUEST"

// InstallHint is the command that installs User-Mode Linux (and insmod) on
// a Debian or Ubuntu host.
const InstallHint = "apt-get update && apt-get install -y user-mode-linux kmod"

// Modules are the kernel modules, relative to the guest's
// /usr/lib/uml/modules/$(uname -r)/kernel, that the guest loads in this
// order before running the tests (SCTP and what it depends on).
var Modules = []string{
	"crypto/hmac.ko",
	"lib/crc-ccitt.ko",
	"net/ipv6/ipv6.ko",
	"net/ipv4/udp_tunnel.ko",
	"net/ipv6/ip6_udp_tunnel.ko",
	"net/sctp/sctp.ko",
}

// GuestMemory is the guest's memory size (the mem= kernel argument).
const GuestMemory = "1024M"

// DefaultTimeout bounds the guest when the test binary has no -test.timeout.
const DefaultTimeout = 10 * time.Minute

// bootMargin is added to -test.timeout for booting and halting the guest, so
// that the test binary's own timeout (with its goroutine dump) fires first.
const bootMargin = 30 * time.Second

// Runner is what Main runs: *testing.M.
type Runner interface{ Run() int }

// Main runs the tests of m where the kernel has SCTP (here or in a UML
// guest) and returns the exit code for os.Exit.
func Main(m Runner) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if os.Getenv(GuestEnv) != "" {
		if err := KernelSCTP(); err != nil {
			fmt.Fprintf(os.Stderr, "uml: inside the guest, but SCTP is unavailable (%v); a module failed to load?\n", err)
		}
		return m.Run()
	}
	sctpErr := KernelSCTP()
	if sctpErr == nil || flagString("test.list") != "" {
		return m.Run()
	}
	kernel, err := FindUML()
	if err != nil {
		fmt.Fprint(os.Stderr, MissingMessage(sctpErr, err))
		return 1
	}
	timeout := DefaultTimeout
	if d, ok := flagDuration("test.timeout"); ok && d > 0 {
		timeout = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout+bootMargin)
	defer cancel()
	unlock, err := lockGuest(ctx, LockPath())
	if err != nil {
		fmt.Fprintf(os.Stderr, "uml: %v\n", err)
		return 1
	}
	defer unlock()
	code, err := RunInGuest(ctx, kernel, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "uml: %v\n", err)
		return 1
	}
	return code
}

// guestNice is the scheduling priority of a pinned guest (see pinnedStart).
const guestNice = -10

// pinnedStart starts cmd on one host CPU, the last this process may use,
// at nice guestNice where the process may raise priorities (root).
//
// The guest is a uniprocessor, but linux.uml runs its kernel and each
// guest process as host processes that hand the CPU to each other at every
// system call. Spread over two host CPUs, each hand-over wakes the other
// CPU, and with a busy host the guest's throughput falls to a fraction: a
// SIPp test forwarding 3,000 MESSAGEs through acli at 400/s had 120 to 380
// answered in time with another process spinning, 2,999 pinned. The raised
// priority keeps a CPU hog that the host's scheduler puts on the guest's
// CPU from halving the guest, so that the tests measure the code in the
// guest and not the test machine's other work. The child inherits the
// affinity and priority of the thread that forks it, so that thread has
// them for the fork and gets its own back after.
func pinnedStart(cmd *exec.Cmd) error {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err == nil && all.Count() > 1 {
		last := -1
		for i := 0; i < len(all)*64; i++ {
			if all.IsSet(i) {
				last = i
			}
		}
		var one unix.CPUSet
		one.Set(last)
		if unix.SchedSetaffinity(0, &one) == nil {
			defer unix.SchedSetaffinity(0, &all)
		}
	}
	// Getpriority returns the kernel's 20 - nice.
	if prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil && 20-prio > guestNice {
		if unix.Setpriority(unix.PRIO_PROCESS, 0, guestNice) == nil {
			defer unix.Setpriority(unix.PRIO_PROCESS, 0, 20-prio)
		}
	}
	return cmd.Start()
}

// LockPath is the host-wide lock file that makes the guests of test
// packages run one at a time.
//
// go test runs several packages at once (one per CPU); two guests each
// driving SIPp at the rates the tests offer would share the host's CPUs
// and each would run above its capacity, so calls would time out for
// reasons of the test machine, not of the code under test. One guest at a
// time gets a whole host CPU (its guest kernel runs on one).
func LockPath() string { return filepath.Join(os.TempDir(), "acli-uml-guest.lock") }

// lockGuest waits until this process holds the exclusive lock on path (a
// flock(2), released by the kernel when the process exits) or ctx ends,
// and returns the function that releases it.
func lockGuest(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("the guest lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("the guest lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another test package's guest to finish (lock %s): %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MissingMessage is what Main prints, before failing, where the kernel has
// no SCTP and User-Mode Linux is not installed.
func MissingMessage(sctpErr, umlErr error) string {
	return fmt.Sprintf("uml: these tests need kernel SCTP or User-Mode Linux, and this machine has neither.\n"+
		"uml: this kernel has no SCTP (%v) and linux.uml is not installed (%v).\n"+
		"uml: install User-Mode Linux with:\n\n\t%s\n\n", sctpErr, umlErr, InstallHint)
}

// KernelSCTP reports whether the running kernel supports SCTP: nil if a
// one-to-many SCTP socket can be created.
func KernelSCTP() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return fmt.Errorf("socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP): %w", err)
	}
	unix.Close(fd)
	return nil
}

// FindUML returns the path of the linux.uml kernel: from PATH, else
// /usr/bin/linux.uml.
func FindUML() (string, error) {
	if p, err := exec.LookPath("linux.uml"); err == nil {
		return p, nil
	}
	const fallback = "/usr/bin/linux.uml"
	if _, err := os.Stat(fallback); err != nil {
		return "", fmt.Errorf("linux.uml not in PATH nor at %s", fallback)
	}
	return fallback, nil
}

// Guest describes one guest run: the program the guest executes and the
// host directory that holds the init script and the results.
type Guest struct {
	Dir     string   // host directory (visible in the guest by the same path)
	Binary  string   // absolute path of the program to run
	Args    []string // its arguments (without the program name)
	WorkDir string   // its working directory
	Env     []string // its complete environment, KEY=VALUE
	// Pin runs the guest on one host CPU at a raised priority (see
	// pinnedStart).
	Pin bool
}

// Files written by the guest into Guest.Dir.
const (
	InitFile    = "init.sh"
	StdoutFile  = "stdout"
	StderrFile  = "stderr"
	StatusFile  = "status"
	StartedFile = "started"
	LogFile     = "guest.log" // the guest kernel's console
)

// InitScript returns the guest's init script (run as PID 1): it mounts
// /proc and /sys, loads the SCTP modules, brings lo up, raises the open-file
// limit, runs the program in its working directory with stdout and stderr to
// files, records its exit status and halts the guest.
func (g *Guest) InitScript() string {
	var b strings.Builder
	q := ShellQuote
	b.WriteString("#!/bin/sh\n")
	b.WriteString("# Generated by internal/uml: init of a User-Mode Linux guest running one Go test binary.\n")
	b.WriteString("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PATH\n")
	b.WriteString("mount -t proc proc /proc\nmount -t sysfs sys /sys\n")
	b.WriteString("mods=/usr/lib/uml/modules/$(uname -r)/kernel\n")
	b.WriteString("for m in")
	for _, m := range Modules {
		b.WriteString(" " + q(m))
	}
	b.WriteString("; do\n\tinsmod \"$mods/$m\" || echo \"uml: insmod $m failed\"\ndone\n")
	b.WriteString("ip link set lo up || echo 'uml: ip link set lo up failed'\n")
	b.WriteString("ulimit -n 65536 || echo 'uml: ulimit -n 65536 failed'\n")
	dir := func(name string) string { return q(filepath.Join(g.Dir, name)) }
	fmt.Fprintf(&b, ": >%s\n", dir(StartedFile))
	b.WriteString("status=125\n")
	fmt.Fprintf(&b, "if cd %s; then\n\tenv -i", q(g.WorkDir))
	for _, kv := range g.Env {
		b.WriteString(" " + q(kv))
	}
	b.WriteString(" " + q(g.Binary))
	for _, a := range g.Args {
		b.WriteString(" " + q(a))
	}
	fmt.Fprintf(&b, " </dev/null >%s 2>%s\n\tstatus=$?\nfi\n", dir(StdoutFile), dir(StderrFile))
	fmt.Fprintf(&b, "echo \"$status\" >%s\n", dir(StatusFile))
	b.WriteString("halt -f\n")
	return b.String()
}

// ShellQuote quotes s for a POSIX shell.
func ShellQuote(s string) string {
	if s != "" && safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// ParseStatus parses the guest's status file: a decimal exit status.
func ParseStatus(b []byte) (int, error) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("malformed exit status %q", s)
	}
	return n, nil
}

// GuestEnviron returns the environment for the program in the guest: the
// host's, less GOMAXPROCS (the guest has its own CPU count) and any variable
// whose name the shell cannot carry, plus GuestEnv=1.
func GuestEnviron(host []string) []string {
	env := make([]string, 0, len(host)+1)
	for _, kv := range host {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || !envName.MatchString(name) || name == "GOMAXPROCS" || name == GuestEnv {
			continue
		}
		env = append(env, kv)
	}
	return append(env, GuestEnv+"=1")
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// KernelArgs returns linux.uml's command line for a guest whose init is the
// script at initPath; the guest's control files (uml_dir) go to dir.
func KernelArgs(initPath, dir string) []string {
	return []string{
		"mem=" + GuestMemory,
		"root=/dev/root", "rootfstype=hostfs", "rootflags=/", "rw",
		"init=" + initPath,
		"uml_dir=" + dir,
		"con=null", "con0=fd:0,fd:1",
	}
}

// RunInGuest boots a guest that runs this test binary with this process's
// arguments and working directory, copies its stdout and stderr to stdout
// and stderr, and returns its exit status. It prints one line to stdout when
// the guest has booted. The guest is killed when ctx ends.
func RunInGuest(ctx context.Context, kernel string, stdout, stderr io.Writer) (int, error) {
	bin, err := os.Executable()
	if err != nil {
		return 0, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "uml-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	g := &Guest{Dir: dir, Binary: bin, Args: os.Args[1:], WorkDir: wd, Env: GuestEnviron(os.Environ()), Pin: true}
	return g.Run(ctx, kernel, stdout, stderr)
}

// Run boots the guest with the linux.uml at kernel and returns the exit
// status of g's program; see RunInGuest.
func (g *Guest) Run(ctx context.Context, kernel string, stdout, stderr io.Writer) (int, error) {
	initPath := filepath.Join(g.Dir, InitFile)
	if strings.ContainsAny(g.Dir, " \t\n") {
		return 0, fmt.Errorf("temporary directory %q has blanks: it cannot be on the kernel command line", g.Dir)
	}
	if err := os.WriteFile(initPath, []byte(g.InitScript()), 0o755); err != nil {
		return 0, err
	}
	logf, err := os.Create(filepath.Join(g.Dir, LogFile))
	if err != nil {
		return 0, err
	}
	defer logf.Close()

	cmd := exec.CommandContext(ctx, kernel, KernelArgs(initPath, g.Dir)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// linux.uml runs every guest process as a host process: kill them all.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	startFn := cmd.Start
	if g.Pin {
		startFn = func() error { return pinnedStart(cmd) }
	}
	if err := startFn(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", kernel, err)
	}
	exited, done := make(chan struct{}), make(chan struct{})
	booted := func() bool {
		_, err := os.Stat(filepath.Join(g.Dir, StartedFile))
		return err == nil
	}
	announce := func() {
		fmt.Fprintf(stdout, "uml: no SCTP in this kernel: running %s in a User-Mode Linux guest (booted in %.1fs)\n",
			filepath.Base(g.Binary), time.Since(start).Seconds())
	}
	go func() { // announce the guest as soon as it has booted
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-exited:
				if booted() {
					announce()
				}
				return
			case <-tick.C:
				if booted() {
					announce()
					return
				}
			}
		}
	}()
	waitErr := cmd.Wait()
	close(exited)
	<-done
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers, if any
	elapsed := time.Since(start)

	copyFile(stdout, filepath.Join(g.Dir, StdoutFile))
	copyFile(stderr, filepath.Join(g.Dir, StderrFile))
	if ctxErr := ctx.Err(); ctxErr != nil {
		g.showLog(stderr)
		return 0, fmt.Errorf("guest stopped after %v: %w", elapsed.Round(time.Millisecond), context.Cause(ctx))
	}
	status, err := os.ReadFile(filepath.Join(g.Dir, StatusFile))
	if err == nil {
		var code int
		if code, err = ParseStatus(status); err == nil {
			return code, nil
		}
	}
	g.showLog(stderr)
	if waitErr != nil {
		return 0, fmt.Errorf("guest failed (%v) without an exit status: %v", waitErr, err)
	}
	return 0, fmt.Errorf("guest halted without an exit status: %v", err)
}

// showLog writes the end of the guest's console log to w.
func (g *Guest) showLog(w io.Writer) {
	b, _ := os.ReadFile(filepath.Join(g.Dir, LogFile))
	const max = 16 << 10
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	fmt.Fprintf(w, "uml: --- guest console log (end) ---\n%s\numl: --- end of guest console log ---\n", b)
}

func copyFile(w io.Writer, path string) {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "uml: %v\n", err)
		}
		return
	}
	defer f.Close()
	io.Copy(w, f)
}

func flagString(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

func flagDuration(name string) (time.Duration, bool) {
	f := flag.Lookup(name)
	if f == nil {
		return 0, false
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if d, ok := g.Get().(time.Duration); ok {
			return d, true
		}
	}
	d, err := time.ParseDuration(f.Value.String())
	return d, err == nil
}
