package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acli-project/acli/internal/uml"
)

// hostClockEnv marks this test binary running in the UML guest of
// TestHostClockInUML: TestMain runs the guest's side of it instead of the
// tests. Its value is the directory the host's stubWatch serves.
const hostClockEnv = "ACLI_BENCH_HOSTCLOCK_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(hostClockEnv); dir != "" {
		os.Exit(hostClockGuest(dir))
	}
	os.Exit(m.Run())
}

func TestParseMapsAndMatch(t *testing.T) {
	// A UML stub's mappings: guest pages from the physical memory file.
	maps := []byte(`552aaaa000-552aaad000 r-xs 20866000 00:1b 1247                           /dev/shm/#1247 (deleted)
552aaaf000-552aab2000 r-xs 1e303000 00:1b 1247                           /dev/shm/#1247 (deleted)
7ffd1000-7ffd2000 rw-s 1e331000 00:1b 1247 /dev/shm/#1247 (deleted)
garbage line
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`)
	ms := parseMaps(maps)
	if len(ms) != 4 {
		t.Fatalf("parsed %d mappings, want 4: %+v", len(ms), ms)
	}
	if m := ms[0]; m.Start != 0x552aaaa000 || m.End != 0x552aaad000 || m.Off != 0x20866000 || m.Perms != "r-xs" || m.Path != "/dev/shm/#1247 (deleted)" {
		t.Errorf("first mapping %+v", m)
	}
	for _, tc := range []struct {
		name string
		sig  []pageSig
		want bool
	}{
		{"first page", []pageSig{{0x552aaaa000, 0x20866000}}, true},
		{"third page of the first mapping", []pageSig{{0x552aaac000, 0x20868000}}, true},
		{"the page after it (end is exclusive)", []pageSig{{0x552aaad000, 0x20869000}}, false},
		{"right address, another physical page", []pageSig{{0x552aaac000, 0x20867000}}, false},
		{"right physical page, another address", []pageSig{{0x552aaab000, 0x20868000}}, false},
		{"one of several", []pageSig{{0x1000, 0x1000}, {0x552aab0000, 0x1e304000}}, true},
		{"none", nil, false},
	} {
		if got := mapsMatch(ms, tc.sig); got != tc.want {
			t.Errorf("%s: match %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAnswerStubsOnHostProcesses runs answerStubs on a real process tree
// shaped like UML's: a "kernel" whose command line has uml_dir=DIR, a
// forked child with the same command line (a stub), and the child's own
// children (not stubs). On the host a mapping's offset is a file offset,
// which a signature can name as well as a physical page.
func TestAnswerStubsOnHostProcesses(t *testing.T) {
	dir := t.TempDir()
	kern := exec.Command("sh", "-c", "(while :; do sleep 1; done) & wait", "sh", "uml_dir="+dir)
	if err := kern.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { kern.Process.Kill(); kern.Wait() }()
	var kernel int
	var children []int
	var err error
	for range 100 {
		if kernel, children, err = umlProcesses(dir); err == nil && len(children) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || kernel != kern.Process.Pid || len(children) != 1 {
		t.Fatalf("umlProcesses: kernel %d children %v err %v; want kernel %d and its forked subshell", kernel, children, err, kern.Process.Pid)
	}
	stub := children[0]
	defer exec.Command("kill", fmt.Sprint(stub)).Run()
	if _, _, err := umlProcesses(dir + "x"); err == nil {
		t.Error("umlProcesses found a kernel for a directory nobody booted")
	}

	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", stub))
	if err != nil {
		t.Fatal(err)
	}
	var sig []pageSig
	for _, m := range parseMaps(b) {
		if strings.Contains(m.Perms, "x") && m.Path != "" && !strings.HasPrefix(m.Path, "[") {
			sig = append(sig, pageSig{VA: m.Start + pageSize, Off: m.Off + pageSize})
			break
		}
	}
	if len(sig) == 0 {
		t.Fatalf("no executable file mapping in\n%s", b)
	}
	a := answerStubs(dir, stubQuery{Sig: sig})
	// The kernel maps the same shell at the same address: only its
	// children are stubs.
	if a.Err != "" || !slices.Equal(a.Pids, []int{stub}) || a.CPUns == 0 || a.KernelNS == 0 {
		t.Fatalf("answer by signature %+v, want stub %d with CPU times", a, stub)
	}
	if a := answerStubs(dir, stubQuery{Pids: []int{stub}}); a.Err != "" || a.CPUns == 0 {
		t.Errorf("answer by pid %+v", a)
	}
	if a := answerStubs(dir, stubQuery{Sig: []pageSig{{VA: sig[0].VA, Off: sig[0].Off + pageSize}}}); !strings.Contains(a.Err, "no stub") {
		t.Errorf("a page nobody maps: %+v", a)
	}
	if a := answerStubs(dir, stubQuery{Pids: []int{kernel}}); !strings.Contains(a.Err, "is gone") {
		t.Errorf("a pid that is not a stub: %+v", a)
	}
}

// TestHostClockInUML boots a guest whose process spins for a second and
// asks the host, through stubWatch, for its exact CPU time: the answer
// must name its one stub and account it about the second it spun.
func TestHostClockInUML(t *testing.T) {
	kernel, err := uml.FindUML()
	if err != nil {
		t.Fatalf("the host clock is User-Mode Linux's: %v (install: %s)", err, uml.InstallHint)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	dir := t.TempDir()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); stubWatch(dir, stop) }()
	defer func() { close(stop); <-done }()
	g := &uml.Guest{Dir: dir, Binary: self, Args: []string{"-test.run=^$"}, WorkDir: wd,
		Env: append(uml.GuestEnviron(os.Environ()), hostClockEnv+"="+dir)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	code, err := g.Run(ctx, kernel, &out, &out)
	if err != nil || code != 0 || !strings.Contains(out.String(), "ok: ") {
		t.Fatalf("guest: exit %d, %v:\n%s", code, err, out.String())
	}
	t.Log(strings.TrimSpace(out.String()))
}

// hostClockGuest is TestHostClockInUML's side in the guest.
func hostClockGuest(dir string) int {
	fail := func(format string, a ...any) int {
		fmt.Printf("FAIL: "+format+"\n", a...)
		return 1
	}
	// awk's loop makes no system call: its stub's time is the loop's.
	spin := exec.Command("awk", "BEGIN { for (;;) n++ }")
	if err := spin.Start(); err != nil {
		return fail("awk: %v", err)
	}
	defer func() { spin.Process.Kill(); spin.Wait() }()
	time.Sleep(200 * time.Millisecond)
	sig, err := textSignature(spin.Process.Pid)
	if err != nil {
		return fail("signature: %v", err)
	}
	a0, err := askHost(dir, stubQuery{Sig: sig}, 10*time.Second)
	if err != nil || len(a0.Pids) != 1 {
		return fail("first answer %+v, %v: want the spinner's one stub", a0, err)
	}
	t0 := time.Now()
	time.Sleep(time.Second)
	a1, err := askHost(dir, stubQuery{Pids: a0.Pids}, 10*time.Second)
	wall := time.Since(t0)
	if err != nil {
		return fail("second answer: %v", err)
	}
	cpu := time.Duration(a1.CPUns - a0.CPUns)
	kernel := time.Duration(a1.KernelNS - a0.KernelNS)
	if a1.KernelNS <= a0.KernelNS {
		return fail("the UML kernel's CPU did not grow: %d then %d ns", a0.KernelNS, a1.KernelNS)
	}
	// The spinner is the guest's only busy process: of what the host gave
	// the guest in that second (its stub and the UML kernel), most went to
	// the spinner's stub, however busy the host was; and no single-threaded
	// process runs longer than the wall clock.
	if share := float64(cpu) / float64(cpu+kernel); share < 0.5 || cpu > wall*11/10 {
		return fail("the spinner's stub: %v of CPU in %v of wall time, the UML kernel %v (the stub's share %.0f%%, want at least 50%%)",
			cpu, wall, kernel, share*100)
	}
	if _, err := askHost(dir, stubQuery{Sig: []pageSig{{VA: 0x10000, Off: 0x10000}}}, 10*time.Second); err == nil || !strings.Contains(err.Error(), "no stub") {
		return fail("a page nobody maps: %v", err)
	}
	spin.Process.Kill()
	spin.Wait()
	for i := 0; ; i++ {
		_, err := askHost(dir, stubQuery{Pids: a0.Pids}, 10*time.Second)
		if err != nil && strings.Contains(err.Error(), "is gone") {
			break
		}
		if i == 50 {
			return fail("the spinner's stub outlived it: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("ok: the spinner's stub %d: %v of host CPU in %v (%.0f%%); the UML kernel %v\n",
		a0.Pids[0], cpu, wall.Round(time.Millisecond), float64(cpu)/float64(wall)*100, kernel)
	return 0
}
