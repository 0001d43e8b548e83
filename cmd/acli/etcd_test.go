package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acli-project/acli/internal/etcdtest"
	"github.com/rogpeppe/go-internal/testscript"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// fileOnly are the transcripts left out of the etcd replay: those about a
// database file's path, and those where acli serve is found by the
// database's socket ($ACLI_DB.sock) and answers as "the runtime" (on etcd
// the runtimes are named HOST/PID: TestServeEtcd, TestTwoServesEtcd,
// TestRefusedEtcd, TestServeEtcdLost and TestActivateMemberKilledEtcd run
// them as processes).
var fileOnly = map[string]string{
	"db-missing":       "a missing database file and --init at a path",
	"confirm-serve":    "acli serve",
	"runtime-serve":    "acli serve",
	"runtime-agents":   "acli serve",
	"runtime-rules":    "acli serve",
	"sip-novelsc":      "acli serve",
	"activate-refused": "acli serve",
}

// TestScriptsEtcd replays the golden transcripts of testdata/script with
// the configuration on a 3-member etcd cluster (ACLI_ETCD) instead of a
// file: the same sessions, the same transcripts.
func TestScriptsEtcd(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close) // after the parallel scripts
	dir := t.TempDir()
	ents, err := os.ReadDir("../../testdata/script")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".txtar")
		if _, ok := fileOnly[name]; ok {
			continue
		}
		if err := os.Link(filepath.Join("../../testdata/script", e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	setup := func(e *testscript.Env) error {
		e.Setenv("ACLI_ETCD", strings.Join(c.Endpoints, ","))
		e.Setenv("ACLI_ETCD_PREFIX", "/acli/"+filepath.Base(e.WorkDir))
		e.Setenv("XDG_STATE_HOME", e.WorkDir+"/state")
		e.Setenv("ACLI_BACKUP_DIR", e.WorkDir+"/backups")
		e.Setenv("SOURCE_DATE_EPOCH", "1795000000")
		e.Setenv("ACLI_USER", "admin")
		for i, ep := range c.Endpoints {
			e.Setenv(fmt.Sprint("ETCD", i), ep)
		}
		return nil
	}
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){"sipudp": sipUDP}
	testscript.Run(t, testscript.Params{Dir: dir, Setup: setup, Cmds: cmds})
	// What only the etcd backend does.
	testscript.Run(t, testscript.Params{Dir: "../../testdata/etcd", Setup: setup, Cmds: cmds, UpdateScripts: *update})
}

// TestServeEtcd runs acli serve --etcd as a process on one member: it
// serves the running version, and one activated by a script through
// another member within a second.
func TestServeEtcd(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	dir := t.TempDir()
	run := func(member int, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("acli", append([]string{"--etcd", c.Endpoints[member]}, args...)...)
		cmd.Env = append(os.Environ(), "ACLI_ETCD_PREFIX=/acli/serve", "XDG_STATE_HOME="+dir)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("acli %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	p1, p2 := freeTCPPort(t), freeTCPPort(t)
	run(0, baseScript)
	run(0, sipPortScript("TCP", "127.0.0.1", p1))

	serve := exec.Command("acli", "--etcd", c.Endpoints[1], "serve")
	serve.Env = append(os.Environ(), "ACLI_ETCD_PREFIX=/acli/serve", "XDG_STATE_HOME="+dir)
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
	dial := func(port string) bool {
		conn, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %v; daemon log:\n%s", what, limit, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitFor("version 1 served", 10*time.Second, func() bool { return dial(p1) })
	// The shell finds the runtime's control socket, named after the prefix.
	if out := run(2, "", "show", "sip-ports"); !strings.Contains(out, "serving version 1") {
		t.Errorf("show sip-ports through another member:\n%s", out)
	}

	host, _ := os.Hostname()
	id := fmt.Sprintf("%s/%d", host, serve.Process.Pid)
	if out := run(2, sipPortScript("TCP", "127.0.0.1", p2)); !strings.Contains(out, "% runtime "+id+": version 2 applied\n") {
		t.Errorf("activate-config through member 2 does not report the runtime:\n%s", out)
	}
	d := waitFor("version 2 applied after activate-config", time.Second, func() bool { return dial(p2) })
	t.Logf("version 2 served %v after activate-config returned", d)
	if !strings.Contains(logs.String(), "running version changed: applying it") {
		t.Errorf("daemon log:\n%s", logs.String())
	}
	// show runtimes, through any member, lists it with what it serves.
	waitFor("show runtimes", 3*time.Second, func() bool {
		out := run(0, "", "show", "runtimes")
		return strings.Contains(out, id) && strings.Contains(out, " 2  ") && strings.Contains(out, " ok\n")
	})
	t.Logf("show runtimes:\n%s", run(0, "", "show", "runtimes"))
	serve.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Errorf("acli serve --etcd after SIGTERM: %v\n%s", err, logs.String())
	}
	exited <- nil
	if out := run(1, "", "show", "runtimes"); !strings.Contains(out, "% no runtime serves etcd") {
		t.Errorf("show runtimes after the runtime stopped:\n%s", out)
	}
}

// TestTwoServesEtcd: two runtimes on different members apply the same
// activation, and activate-config says so for each; a confirmed
// activation is rolled back once, by the leader of their election, and by
// the other when the leader dies before the deadline.
func TestTwoServesEtcd(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	dir := t.TempDir()
	env := append(os.Environ(), "ACLI_ETCD_PREFIX=/acli/two", "XDG_STATE_HOME="+dir)
	run := func(member int, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("acli", append([]string{"--etcd", c.Endpoints[member]}, args...)...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("acli %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	realm := func(id string) string {
		return "configure terminal\nmedia-manager\nrealm-config\nidentifier " + id + "\ndone\nexit\nexit\nexit\nsave-config\nactivate-config\n"
	}
	run(0, realm("core"))
	host, _ := os.Hostname()
	var ids []string
	var logs [2]syncBuffer
	var serves [2]*exec.Cmd
	for i := range 2 {
		serve := exec.Command("acli", "--etcd", c.Endpoints[i], "serve", "--control", fmt.Sprintf("%s/s%d.sock", dir, i))
		serve.Env = env
		serve.Stderr = &logs[i]
		if err := serve.Start(); err != nil {
			t.Fatal(err)
		}
		serves[i] = serve
		t.Cleanup(func() {
			serve.Process.Kill()
			serve.Wait()
		})
		ids = append(ids, fmt.Sprintf("%s/%d", host, serve.Process.Pid))
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := run(2, "", "show", "runtimes")
		if strings.Contains(out, ids[0]) && strings.Contains(out, ids[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two runtimes do not report:\n%s", out)
		}
	}
	out := run(2, realm("access"))
	for _, id := range ids {
		if !strings.Contains(out, "% runtime "+id+": version 2 applied\n") {
			t.Errorf("activate-config does not report %s:\n%s", id, out)
		}
	}

	// A confirmed activation of version 3 whose shell is gone: at the
	// deadline running returns to 2, rolled back once, and both apply it.
	env = append(env, "ACLI_TEST_CONFIRM_MINUTE=1s")
	out = run(0, strings.Replace(realm("edge"), "activate-config", "activate-config confirmed 1", 1))
	if !strings.Contains(out, "Confirmed activation: unless activate-config runs again") {
		t.Fatalf("activate-config confirmed:\n%s", out)
	}
	// (show runtimes does not enforce the deadline, as lifecycle commands do.)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out := run(1, "", "show", "runtimes")
		if strings.Count(out, " 2        ") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no return to version 2:\n%s\nlogs:\n%s\n%s", out, logs[0].String(), logs[1].String())
		}
	}
	if out := run(1, "", "display-running-cfg-version"); !strings.Contains(out, "Running configuration version is 2") {
		t.Errorf("after the deadline: %s", out)
	}
	rolled := 0
	for i := range logs {
		rolled += strings.Count(logs[i].String(), "confirmed activation not confirmed in time")
	}
	if rolled != 1 {
		t.Errorf("%d rollbacks, want 1; logs:\n%s\n%s", rolled, logs[0].String(), logs[1].String())
	}

	// The leader (show runtimes names it) dies before the deadline of the
	// next confirmed activation: the other is elected once the leader's
	// lease expires and rolls back, once, at the deadline.
	out = run(2, "", "show", "runtimes")
	leader := -1
	for i, id := range ids {
		if regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + ` +leader `).MatchString(out) {
			leader = i
		}
	}
	if leader < 0 || strings.Count(out, " leader ") != 1 || strings.Count(out, " standby ") != 1 {
		t.Fatalf("show runtimes does not name one leader:\n%s", out)
	}
	other := 1 - leader
	const within = 7 // minutes of a second
	out = run(0, strings.Replace(realm("edge2"), "activate-config", fmt.Sprintf("activate-config confirmed %d", within), 1))
	activated := time.Now()
	if !strings.Contains(out, "% runtime "+ids[other]+": version 4 applied\n") {
		t.Fatalf("activate-config confirmed %d:\n%s", within, out)
	}
	serves[leader].Process.Kill()
	before := strings.Count(logs[other].String(), "confirmed activation not confirmed in time")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out = run(1, "", "show", "runtimes")
		if regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ids[other]) + ` +leader +2 `).MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the survivor does not return to version 2 as leader:\n%s\nits log:\n%s", out, logs[other].String())
		}
	}
	took := time.Since(activated)
	t.Logf("rolled back by the new leader %v after activate-config confirmed %d (1 s minutes); show runtimes:\n%s", took.Round(10*time.Millisecond), within, out)
	if took < (within-1)*time.Second {
		t.Errorf("rolled back %v after the activation, before its deadline", took)
	}
	if n := strings.Count(logs[other].String(), "confirmed activation not confirmed in time") - before; n != 1 {
		t.Errorf("the new leader rolled back %d times, want 1:\n%s", n, logs[other].String())
	}
	if !strings.Contains(logs[other].String(), "leader of the runtimes: this one enforces") {
		t.Errorf("the survivor's log does not say it leads:\n%s", logs[other].String())
	}
}

// TestServeEtcdLost: a runtime whose only member stops keeps serving the
// version it serves and says so: in its log, in show runtimes through its
// control socket (since when), and to shells elsewhere once its lease
// expires; activate-config meanwhile names it and does not wait for it.
// When the member is back the runtime applies what runs then.
func TestServeEtcdLost(t *testing.T) {
	t.Parallel() // a cluster of its own, mostly waiting for leases to expire and members to stop
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	here, elsewhere := t.TempDir(), t.TempDir() // state directories: with the runtime's control socket, without
	run := func(state string, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("acli", append([]string{"--etcd", c.Endpoints[0]}, args...)...)
		cmd.Env = append(os.Environ(), "ACLI_ETCD_PREFIX=/acli/lost", "XDG_STATE_HOME="+state)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("acli %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	realm := func(id string) string {
		return "configure terminal\nmedia-manager\nrealm-config\nidentifier " + id + "\ndone\nexit\nexit\nexit\nsave-config\nactivate-config\n"
	}
	run(here, realm("core"))
	serve := exec.Command("acli", "--etcd", c.Endpoints[1], "--command-timeout", "1s", "serve")
	serve.Env = append(os.Environ(), "ACLI_ETCD_PREFIX=/acli/lost", "XDG_STATE_HOME="+here)
	var logs syncBuffer
	serve.Stderr = &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Kill()
		serve.Wait()
	})
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s/%d", host, serve.Process.Pid)
	row := func(state, want string) func() bool {
		return func() bool {
			return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + ` +` + want).MatchString(run(state, "", "show", "runtimes"))
		}
	}
	state := func() string { return run(elsewhere, "", "show", "runtimes") + "log:\n" + logs.String() }
	waitUntil(t, "the runtime to report", 10*time.Second, row(elsewhere, `leader +1 .* ok$`), state)

	c.Kill(1)
	lost := time.Now()
	waitUntil(t, "the runtime's own word", 10*time.Second, row(here, `leader +1 .* etcd lost since \S+ \S+ UTC, serving version 1; ok$`), state)
	waitUntil(t, "the others' view", 10*time.Second, row(elsewhere, `\S+ +1 .* LOST: not reaching etcd, or stopped without saying so \(last report .*\); ok$`), state)
	t.Logf("shown lost elsewhere %v after its member stopped", time.Since(lost).Round(10*time.Millisecond))
	if !strings.Contains(logs.String(), `msg="etcd lost: serving version 1 until it is back"`) {
		t.Errorf("the runtime's log does not say it lost etcd:\n%s", logs.String())
	}
	start := time.Now()
	out := run(elsewhere, realm("access"))
	if !strings.Contains(out, "% runtime "+id+" is cut off from etcd (last report ") ||
		!strings.Contains(out, "serving version 1): it applies the running version when it reaches etcd again\n") {
		t.Errorf("activate-config while the runtime is cut off:\n%s", out)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("activate-config waited %v for a runtime cut off from etcd", d)
	}

	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitUntil(t, "the runtime to apply version 2 when etcd is back", 15*time.Second, row(elsewhere, `\S+ +2 .* ok$`), state)
	t.Logf("version 2 applied %v after the member restarted", time.Since(back).Round(10*time.Millisecond))
	if !strings.Contains(logs.String(), `msg="etcd back: reading the running configuration again"`) {
		t.Errorf("the runtime's log does not say etcd is back:\n%s", logs.String())
	}

	// The whole cluster crashes and comes back: the runtime serves on,
	// then reports again and applies the next activation.
	for i := range c.Endpoints {
		c.Kill(i)
	}
	waitUntil(t, "the runtime to lose etcd again", 10*time.Second, func() bool {
		return strings.Count(logs.String(), `msg="etcd lost: serving version 2 until it is back"`) == 1
	}, logs.String)
	if err := c.Restart(0, 1, 2); err != nil {
		t.Fatal(err)
	}
	back = time.Now()
	waitUntil(t, "the runtime to be back", 15*time.Second, func() bool {
		return strings.Count(logs.String(), `msg="etcd back: reading the running configuration again"`) == 2
	}, logs.String)
	out = run(elsewhere, realm("edge"))
	if !strings.Contains(out, "% runtime "+id+": version 3 applied\n") {
		t.Errorf("activate-config after the cluster restarted:\n%s\nlog:\n%s", out, logs.String())
	}
	t.Logf("back %v after the cluster restarted", time.Since(back).Round(10*time.Millisecond))
}

// TestRefusedEtcd: two runtimes on one host, a version with a TCP
// sip-port: one opens it, the other cannot (address in use) and refuses
// the version. activate-config names the refusing runtime and its reason,
// exits 1 and puts running back to the previous version, to which the
// runtime that applied it returns (the port is released).
func TestRefusedEtcd(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	dir := t.TempDir()
	env := append(os.Environ(), "ACLI_ETCD_PREFIX=/acli/refused", "XDG_STATE_HOME="+dir)
	acli := func(member int, stdin string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command("acli", append([]string{"--etcd", c.Endpoints[member]}, args...)...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("acli %v: %v", args, err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := acli(0, baseScript+"save-config\nactivate-config\n"); code != 0 {
		t.Fatalf("version 1: exit %d\n%s", code, out)
	}
	host, _ := os.Hostname()
	var ids []string
	var logs [2]syncBuffer
	for i := range 2 {
		serve := exec.Command("acli", "--etcd", c.Endpoints[i], "serve", "--control", fmt.Sprintf("%s/s%d.sock", dir, i))
		serve.Env = env
		serve.Stderr = &logs[i]
		if err := serve.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			serve.Process.Kill()
			serve.Wait()
		})
		ids = append(ids, fmt.Sprintf("%s/%d", host, serve.Process.Pid))
	}
	waitUntil(t, "the two runtimes to serve version 1", 10*time.Second, func() bool {
		out, _ := acli(2, "", "show", "runtimes")
		return strings.Count(out, " 1        ") == 2
	}, func() string { return logs[0].String() + logs[1].String() })

	port := freeTCPPort(t)
	out, code := acli(2, sipPortScript("TCP", "127.0.0.1", port))
	refused := regexp.MustCompile(`% activate-config: version 2 was NOT applied: runtime (\S+) refused it and keeps serving version 1; ` +
		`running configuration version is 1 \(runtime (\S+) applied it and returns to it\)\n` +
		`%   runtime (\S+): .*TCP 127\.0\.0\.1:` + port + ` .*address already in use`).FindStringSubmatch(out)
	if code != 1 || refused == nil {
		t.Fatalf("activate-config of a version one runtime refuses: exit %d\n%s", code, out)
	}
	if refused[1] == refused[2] || refused[1] != refused[3] || !slices.Contains(ids, refused[1]) || !slices.Contains(ids, refused[2]) {
		t.Errorf("the refusing runtime %s, the other %s (runtimes %v)", refused[1], refused[2], ids)
	}
	if !strings.Contains(out, "% runtime "+refused[2]+": version 2 applied\n") || !strings.Contains(out, "% runtime "+refused[2]+": back to version 1\n") {
		t.Errorf("activate-config does not follow the runtime that applied version 2 back:\n%s", out)
	}
	if strings.Contains(out, "Activate Complete") {
		t.Errorf("activate-config says Activate Complete of a refused version:\n%s", out)
	}
	t.Logf("activate-config:\n%s", out[strings.Index(out, "ACLI(configure)# exit"):])
	if out, _ := acli(1, "", "display-running-cfg-version"); !strings.Contains(out, "Running configuration version is 1") {
		t.Errorf("after the refusal: %s", out)
	}
	waitUntil(t, "the port to be released", 5*time.Second, func() bool {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err == nil {
			l.Close()
		}
		return err == nil
	}, func() string { return logs[0].String() + logs[1].String() })
}

// TestActivateMemberKilledEtcd: the member activate-config commits
// through (its only one), or the cluster's raft leader, is stopped as the
// activation is committed: the activation happens once or not at all, as
// the shell says, and the runtime serves what is then running.
func TestActivateMemberKilledEtcd(t *testing.T) {
	t.Parallel() // a cluster of its own, mostly waiting for leases to expire and members to stop
	c, err := etcdtest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	dir := t.TempDir()
	const prefix = "/acli/kill"
	env := append(os.Environ(), "ACLI_ETCD_PREFIX="+prefix, "XDG_STATE_HOME="+dir)
	all := strings.Join(c.Endpoints, ",")
	acli := func(endpoints, stdin string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command("acli", append([]string{"--etcd", endpoints, "--command-timeout", "2s"}, args...)...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("acli %v: %v", args, err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	realm := func(id string) string {
		return "configure terminal\nmedia-manager\nrealm-config\nidentifier " + id + "\ndone\nexit\nexit\nexit\nsave-config\n"
	}
	acli(all, realm("core")+"activate-config\n")
	serve := exec.Command("acli", "--etcd", all, "serve", "--control", dir+"/s.sock")
	serve.Env = env
	var logs syncBuffer
	serve.Stderr = &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Kill()
		serve.Wait()
	})
	serving := func(member int, version string) func() bool {
		return func() bool {
			out, _ := acli(c.Endpoints[member], "", "show", "runtimes")
			return regexp.MustCompile(`(?m)^\S+ +leader +` + version + ` .* ok$`).MatchString(out)
		}
	}
	waitUntil(t, "the runtime to serve version 1", 10*time.Second, serving(1, "1"), logs.String)

	for i, tt := range []struct {
		name string
		// the shell's endpoints and the member stopped, given the raft leader
		endpoints func() string
		stop      func(leader int) int
	}{
		{"the shell's only member", func() string { return c.Endpoints[0] }, func(int) int { return 0 }},
		{"the raft leader", func() string { return all }, func(leader int) int { return leader }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			version := strconv.Itoa(i + 2)
			if out, code := acli(all, realm(fmt.Sprint("r", i))); code != 0 || !strings.Contains(out, "configuration version is "+version) {
				t.Fatalf("save version %s: exit %d\n%s", version, code, out)
			}
			runningNow := func(member int) string {
				out, _ := acli(c.Endpoints[member], "", "display-running-cfg-version")
				return strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "Running configuration version is ")
			}
			was := runningNow(2)
			stop := tt.stop(c.Leader())
			survivor := (stop + 1) % 3
			cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Endpoints[survivor]}, Logger: zap.NewNop()})
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			w := cli.Watch(ctx, prefix+"/d/", clientv3.WithPrefix())
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				for resp := range w {
					for _, ev := range resp.Events {
						if ev.Type == clientv3.EventTypePut && strings.HasSuffix(string(ev.Kv.Key), "/running-version") {
							c.Kill(stop)
							return
						}
					}
				}
			}()
			before := strings.Count(logs.String(), "msg=applied version="+version+" ")
			out, code := acli(tt.endpoints(), "", "activate-config")
			<-stopped
			defer func() {
				if err := c.Restart(stop); err != nil {
					t.Fatal(err)
				}
			}()
			running, now := was, runningNow(survivor)
			switch {
			case strings.Contains(out, "Activate Complete") || strings.Contains(out, "version "+version+" is recorded as running"):
				running = version
			case strings.Contains(out, "may or may not"):
				running = now // either is right: the shell said so
			}
			t.Logf("stopped member %d (the raft leader now %d); activate-config exit %d:\n%s", stop, c.Leader(), code, out)
			if now != running {
				t.Errorf("running is version %s through member %d; the shell said (exit %d):\n%s", now, survivor, code, out)
			}
			if code == 0 && running != version {
				t.Errorf("activate-config exits 0 but version %s is not running", version)
			}
			waitUntil(t, "the runtime to serve version "+now, 10*time.Second, serving(survivor, now), logs.String)
			if n := strings.Count(logs.String(), "msg=applied version="+version+" ") - before; now == version && n != 1 {
				t.Errorf("the runtime applied version %s %d times:\n%s", version, n, logs.String())
			}
		})
	}
}
