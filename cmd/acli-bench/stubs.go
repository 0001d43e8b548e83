package main

// Exact CPU time of guest processes, on the host's clock.
//
// The guest's own CPU accounting is tick-based, and in User-Mode Linux the
// ticks land unevenly: over one association a server that spends most of
// its time in short system calls between waits is charged a few percent
// of what it uses (BENCHMARKS.md before issue 15, "An exact clock for the servers"). The
// host, however, runs every guest address space as a host process of its
// own (a stub that the UML kernel's process traces), and accounts each one
// to the nanosecond (/proc/PID/schedstat). A stub's time is its guest
// process's user-mode code plus the host's side of each of its system
// calls, page faults and signals; the guest kernel's work on its behalf
// runs in the UML kernel's process, which is reported beside it.
//
// The guest driver asks the host through files in the shared directory:
// it writes a query (stubs/qN.json) and waits for the answer (stubs/aN.json).
// A query names the guest processes by their text pages: a stub maps each
// page of its guest process at the same virtual address from UML's
// physical memory file, at offset PFN×4096, and the guest reads the PFN
// from /proc/PID/pagemap. A binary's text pages are shared by every process
// that runs it, so the answer covers all of a server's processes (and only
// processes running the same binary at the same address).

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const stubDir = "stubs" // in the plan's directory

// pageSig is one page of a guest process: its virtual address and the
// offset of its physical page in UML's memory file.
type pageSig struct {
	VA  uint64 `json:"va"`
	Off uint64 `json:"off"`
}

// stubQuery asks for the CPU of the stubs that map any of Sig's pages, or
// of the stubs Pids (an earlier answer's).
type stubQuery struct {
	Sig  []pageSig `json:"sig,omitempty"`
	Pids []int     `json:"pids,omitempty"`
}

// stubAnswer is the host's answer: the matching stubs, their CPU time and
// the UML kernel process's, in nanoseconds.
type stubAnswer struct {
	Pids     []int  `json:"pids"`
	CPUns    uint64 `json:"cpu_ns"`
	KernelNS uint64 `json:"kernel_ns"`
	Err      string `json:"err,omitempty"`
}

// maxSigPages bounds a signature: enough that every process of a binary
// maps at least one of them.
const maxSigPages = 256

// textSignature returns up to maxSigPages present pages of pid's
// executable text (the mappings of its own binary with execute
// permission). It needs root (PFNs are hidden from others).
func textSignature(pid int) ([]pageSig, error) {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, err
	}
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, err
	}
	defer pm.Close()
	var sig []pageSig
	for _, m := range parseMaps(maps) {
		if !strings.Contains(m.Perms, "x") || m.Path != exe {
			continue
		}
		n := (m.End - m.Start) / pageSize
		buf := make([]byte, 8*n)
		if _, err := pm.ReadAt(buf, int64(m.Start/pageSize*8)); err != nil {
			return nil, fmt.Errorf("/proc/%d/pagemap: %w", pid, err)
		}
		for i := range n {
			e := binary.LittleEndian.Uint64(buf[8*i:])
			pfn := e & (1<<55 - 1)
			if e&(1<<63) == 0 || pfn == 0 {
				continue // not present, or the PFN hidden (not root)
			}
			sig = append(sig, pageSig{VA: m.Start + i*pageSize, Off: pfn * pageSize})
			if len(sig) == maxSigPages {
				return sig, nil
			}
		}
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("process %d: no present text page of %s with a PFN", pid, exe)
	}
	return sig, nil
}

const pageSize = 4096

// mapping is one line of /proc/PID/maps.
type mapping struct {
	Start, End, Off uint64
	Perms, Path     string
}

func parseMaps(b []byte) []mapping {
	var ms []mapping
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		s, err1 := strconv.ParseUint(lo, 16, 64)
		e, err2 := strconv.ParseUint(hi, 16, 64)
		o, err3 := strconv.ParseUint(f[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil || e <= s {
			continue
		}
		m := mapping{Start: s, End: e, Off: o, Perms: f[1]}
		if len(f) >= 6 {
			m.Path = strings.Join(f[5:], " ")
		}
		ms = append(ms, m)
	}
	return ms
}

// mapsMatch reports whether a stub's mappings map any page of sig: at its
// virtual address, from the file offset of its physical page.
func mapsMatch(ms []mapping, sig []pageSig) bool {
	for _, p := range sig {
		for _, m := range ms {
			if p.VA >= m.Start && p.VA < m.End && m.Off+(p.VA-m.Start) == p.Off {
				return true
			}
		}
	}
	return false
}

// askHost sends q to the host's stubWatch and waits up to timeout for the
// answer.
func askHost(dir string, q stubQuery, timeout time.Duration) (stubAnswer, error) {
	d := filepath.Join(dir, stubDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return stubAnswer{}, err
	}
	n := querySeq.Add(1)
	b, _ := json.Marshal(q)
	name := fmt.Sprintf("q%d.json", n)
	if err := writeAtomic(filepath.Join(d, name), b); err != nil {
		return stubAnswer{}, err
	}
	ans := filepath.Join(d, fmt.Sprintf("a%d.json", n))
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(ans); err == nil {
			os.Remove(ans)
			var a stubAnswer
			if err := json.Unmarshal(b, &a); err != nil {
				return a, fmt.Errorf("%s: %w", ans, err)
			}
			if a.Err != "" {
				return a, errors.New(a.Err)
			}
			return a, nil
		}
		if time.Now().After(deadline) {
			os.Remove(filepath.Join(d, name))
			return stubAnswer{}, fmt.Errorf("no answer from the host in %v (is acli-bench sip running it?)", timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var querySeq atomic.Int64 // numbers the queries of this guest driver

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// stubWatch answers the guest's queries until stop is closed. The UML
// kernel is the linux.uml process whose command line has uml_dir=dir and
// whose parent is not one of them; its stubs are its children.
func stubWatch(dir string, stop <-chan struct{}) {
	d := filepath.Join(dir, stubDir)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		qs, _ := filepath.Glob(filepath.Join(d, "q*.json"))
		for _, q := range qs {
			b, err := os.ReadFile(q)
			if err != nil {
				continue
			}
			var query stubQuery
			var a stubAnswer
			if err := json.Unmarshal(b, &query); err != nil {
				a.Err = fmt.Sprintf("%s: %v", filepath.Base(q), err)
			} else {
				a = answerStubs(dir, query)
			}
			out, _ := json.Marshal(a)
			n := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(q), "q"), ".json")
			writeAtomic(filepath.Join(d, "a"+n+".json"), out)
			os.Remove(q)
		}
	}
}

// answerStubs finds the UML kernel of dir and the stubs q asks for.
func answerStubs(dir string, q stubQuery) stubAnswer {
	var a stubAnswer
	kernel, children, err := umlProcesses(dir)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	if a.KernelNS, err = schedRuntime(kernel); err != nil {
		a.Err = err.Error()
		return a
	}
	switch {
	case len(q.Pids) > 0:
		for _, pid := range q.Pids {
			if !slices.Contains(children, pid) {
				a.Err = fmt.Sprintf("stub %d is gone", pid)
				return a
			}
		}
		a.Pids = q.Pids
	case len(q.Sig) > 0:
		for _, pid := range children {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
			if err == nil && mapsMatch(parseMaps(b), q.Sig) {
				a.Pids = append(a.Pids, pid)
			}
		}
		if len(a.Pids) == 0 {
			a.Err = fmt.Sprintf("no stub of the UML kernel %d maps the %d pages asked for", kernel, len(q.Sig))
			return a
		}
	}
	for _, pid := range a.Pids {
		ns, err := schedRuntime(pid)
		if err != nil {
			a.Err = err.Error()
			return a
		}
		a.CPUns += ns
	}
	return a
}

// umlProcesses returns the UML kernel process booted with uml_dir=dir and
// its children.
func umlProcesses(dir string) (kernel int, children []int, err error) {
	want := []byte("uml_dir=" + dir + "\x00")
	ents, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	ours := map[int]int{} // pid: ppid
	for _, e := range ents {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(e)
		if err != nil || !bytes.Contains(b, want) {
			continue
		}
		if s, err := readStat(pid); err == nil {
			ours[pid] = s.PPID
		}
	}
	for pid, ppid := range ours {
		if _, child := ours[ppid]; !child {
			if kernel != 0 {
				return 0, nil, fmt.Errorf("two UML kernels with uml_dir=%s: %d and %d", dir, kernel, pid)
			}
			kernel = pid
		}
	}
	if kernel == 0 {
		return 0, nil, fmt.Errorf("no UML kernel with uml_dir=%s", dir)
	}
	for pid, ppid := range ours {
		if ppid == kernel {
			children = append(children, pid)
		}
	}
	slices.Sort(children)
	return kernel, children, nil
}

// schedRuntime is the CPU time of pid's main thread in nanoseconds, the
// first field of /proc/PID/schedstat (UML's processes have one thread each).
func schedRuntime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0, err
	}
	return parseSchedstat(b)
}

// parseSchedstat returns the first field of a schedstat file: the time
// the task has run, in nanoseconds.
func parseSchedstat(b []byte) (uint64, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 0, fmt.Errorf("schedstat %q: want 3 fields", trunc(string(b)))
	}
	v, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat %q: %v", trunc(string(b)), err)
	}
	return v, nil
}
