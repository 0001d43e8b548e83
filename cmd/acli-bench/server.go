package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The two servers under test, as the guest driver starts them. Each runs in
// its own process group, so that stopping it stops all its processes.

const (
	serverAcli     = "acli"
	serverKamailio = "kamailio"
	// serverAcliBase is acli run from another binary (native -acli-base):
	// the same configuration, to compare two builds in one run.
	serverAcliBase = "acli-base"
)

// serverAddr is where both servers listen (SCTP and UDP).
var serverAddr = netip.MustParseAddrPort("127.0.0.1:5060")

type server struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// startReady starts server name and waits (30 s at most) until it
// answers. A server that started is returned even when it does not
// answer: the caller stops it (stopInto).
func startReady(ctx context.Context, p *Plan, g *guestState, name, tag string) (*server, error) {
	s, err := startServer(p, g, name, tag)
	if err != nil {
		return nil, err
	}
	return s, s.ready(ctx, p, 30*time.Second)
}

// stopInto stops the server and records why it failed in *errp, unless
// that holds an error already.
func (s *server) stopInto(errp *string) {
	if err := s.stop(); err != nil && *errp == "" {
		*errp = err.Error()
	}
}

// startServer starts server name as p describes (acli on the database the
// guest prepared), pinned to p.ServerPin's CPUs when it is set.
func startServer(p *Plan, g *guestState, name, tag string) (*server, error) {
	logPath := filepath.Join(p.Dir, "logs", tag+".log")
	os.MkdirAll(filepath.Dir(logPath), 0o755)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	var cmd *exec.Cmd
	db := g.db
	switch name {
	case serverAcli, serverAcliBase:
		bin := p.Acli
		if name == serverAcliBase {
			bin = p.AcliBase
		}
		cmd = exec.Command(bin, "--db", db, "serve", "--control", g.sock, "--log-level", "warn")
		if p.Profile && name == serverAcli {
			self, err := os.Executable()
			if err != nil {
				return nil, err
			}
			os.MkdirAll(filepath.Join(p.Dir, "profiles"), 0o755)
			cmd = exec.Command(self, "acli-serve", "-db", db, "-control", g.sock,
				"-cpuprofile", filepath.Join(p.Dir, "profiles", tag+".pprof"))
		}
	case serverKamailio:
		cmd = exec.Command(p.Kamailio, "-f", g.kamCfg, "-L", p.KamailioModules, "-DD", "-E")
	default:
		return nil, fmt.Errorf("unknown server %q", name)
	}
	cmd = pinned(cmd, p.ServerPin)
	cmd.Dir = g.run
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	return s, nil
}

// pinned returns cmd run by taskset on cpus ("": cmd itself). taskset
// sets its own affinity and executes cmd in the same process, so every
// thread and child of the server inherits it.
func pinned(cmd *exec.Cmd, cpus string) *exec.Cmd {
	if cpus == "" {
		return cmd
	}
	return exec.Command("taskset", append([]string{"-c", cpus, cmd.Path}, cmd.Args[1:]...)...)
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// ready waits until the server answers OPTIONS over SCTP and UDP (UDP
// and TCP on the host).
func (s *server) ready(ctx context.Context, p *Plan, timeout time.Duration) error {
	modes := []string{"s1", "u1"}
	if p.Host {
		modes = []string{"u1", "t1"}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for n := 1; ; n++ {
		if s.exited() {
			return fmt.Errorf("%s exited (%v) before answering: %s", s.name, s.err, s.logTail())
		}
		last = nil
		for _, mode := range modes {
			if err := askOnce(ctx, mode, n); err != nil {
				last = fmt.Errorf("%s: %w", mode, err)
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer OPTIONS within %v (%v): %s", s.name, timeout, last, s.logTail())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// askOnce sends one OPTIONS in mode with a short client of its own.
func askOnce(ctx context.Context, mode string, n int) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cl, err := newClient(cctx, mode, serverAddr)
	if err != nil {
		return err
	}
	if cl != nil {
		defer cl.close()
	}
	_, err = ask(cctx, mode, cl, serverAddr, -n)
	return err
}

// stop sends SIGTERM, waits up to 10 s, then kills the process group.
func (s *server) stop() error {
	var err error
	if !s.exited() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			err = fmt.Errorf("%s did not stop within 10 s of SIGTERM: killed", s.name)
		}
	}
	syscall.Kill(-s.pid(), syscall.SIGKILL) // stragglers of the group
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		err = errors.Join(err, fmt.Errorf("%s survived SIGKILL", s.name))
	}
	// Let the kernel finish the associations' shutdown before the next
	// server binds the port.
	waitPortFree()
	return err
}

// waitPortFree waits (up to 5 s) until nothing is bound to the servers'
// port, by trying to bind it.
func waitPortFree() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if portFree() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	t := lastLines(b, 6)
	if t == "" {
		return "(empty log " + s.log + ")"
	}
	return t
}

// kamailioConfig returns the Kamailio configuration with children and
// sctp_children set to n (n <= 0: as shipped).
func kamailioConfig(cfg string, n int) string {
	if n <= 0 {
		return cfg
	}
	re := regexp.MustCompile(`(?m)^(children|sctp_children)\s*=\s*\d+`)
	return re.ReplaceAllStringFunc(cfg, func(m string) string {
		name, _, _ := strings.Cut(m, "=")
		return strings.TrimSpace(name) + "=" + strconv.Itoa(n)
	})
}
