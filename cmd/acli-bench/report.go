package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// stat is min/median/max over repetitions.
type stat struct {
	N             int
	Min, Med, Max float64
}

func statOf(vs []float64) stat {
	var s []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return stat{}
	}
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{N: len(s), Min: s[0], Med: med, Max: s[len(s)-1]}
}

// format renders "median (min-max)" with prec decimals, "—" for none.
func (s stat) format(prec int) string {
	if s.N == 0 {
		return "—"
	}
	f := func(v float64) string { return fmt.Sprintf("%.*f", prec, v) }
	if s.N == 1 || f(s.Min) == f(s.Max) {
		return f(s.Med)
	}
	return f(s.Med) + " (" + f(s.Min) + "–" + f(s.Max) + ")"
}

// row is one server and mode of the summary table.
type row struct {
	Server, Mode string
	MaxRate      stat // highest achieved calls/s with zero failures, per repetition
	CPUPerK      stat // server CPU s per 1,000 requests at the comparison rate
	ReqPerCPU    stat // requests per server CPU second at the comparison rate
	RSSMB        stat // peak RSS (sum over processes) at the comparison rate
	PSSMB        stat
	KBPerAssoc   stat // RSS growth per open association (SCTP modes)
	P50, P99     stat // µs, at the comparison rate
	GuestPerK    stat // the whole guest's busy CPU s per 1k requests
	HostPerK     stat // the host's CPU s for the whole guest per 1k requests
	ExactPerK    stat // the server's stubs' CPU s per 1k requests, host clock
	ExactPerCPU  stat // requests per second of that
	KernelPerK   stat // the UML kernel process's CPU s per 1k requests, host clock
	Runs, Failed int
}

// report is everything the Markdown shows.
type report struct {
	Servers     []string
	Unavailable map[string]string
	Setup       map[string]string
	Modes       []string
	CompareRate map[string]int // per mode
	Rows        []row
	Assoc       map[string]assocStats
	Loads       []Record
	Problems    []string
}

type assocStats struct {
	Assocs                 stat
	IdleRSSMB              stat
	RSSPerAssoc, PSSPerAss stat // KB, bare associations
	UsedRSS, UsedPSS       stat // KB, after one request on each
	SysPerAssoc            stat // KB, MemAvailable drop of the whole guest (bare associations)
	Errs                   []string
}

// leftOut reports whether a load run is left out of the summary: a guest
// run while the host was busy with other work. UML charges the guest's
// processes for host time spent elsewhere; on the host itself (acli-bench
// native, with a workload) a process is charged only for the time it
// runs, so contention there costs rate, not accuracy, and its runs are
// only marked.
func (r Record) leftOut() bool { return r.Contended && r.Workload == "" }

// ok reports whether a load run counts as passed: figures and no failed
// call.
func (r Record) ok() bool { return r.Err == "" && r.Failed == 0 && r.Successful > 0 }

// aggregate turns the guest's records into the report.
func aggregate(recs []Record, servers, modes []string) report {
	rep := report{Unavailable: map[string]string{}, Setup: map[string]string{}, CompareRate: map[string]int{}, Assoc: map[string]assocStats{}}
	for _, r := range recs {
		switch r.Kind {
		case "unavailable":
			rep.Unavailable[r.Server] = r.Err
		case "setup":
			if _, seen := rep.Setup[r.Server]; !seen { // the guest's, not the host reference's
				rep.Setup[r.Server] = strings.TrimSpace(r.Note + " " + r.Err)
			}
		case "load":
			rep.Loads = append(rep.Loads, r)
			if r.StubErr != "" {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s %s rate %d rep %d: no host-clock CPU: %s", r.Server, r.Mode, r.Rate, r.Rep, r.StubErr))
			}
			if r.leftOut() {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s %s rate %d rep %d: left out of the summary, the host was busy with other work (%.2f cores) during the run",
					r.Server, r.Mode, r.Rate, r.Rep, r.HostOther))
			}
			if r.Err != "" {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s %s rate %d rep %d: %s", r.Server, r.Mode, r.Rate, r.Rep, r.Err))
			}
		}
	}
	for _, s := range servers {
		if _, gone := rep.Unavailable[s]; !gone {
			rep.Servers = append(rep.Servers, s)
		}
	}
	rep.Modes = modes
	for _, s := range rep.Servers {
		var as assocStats
		var n, idle, rss, pss, sys, urss, upss []float64
		for _, r := range recs {
			if r.Kind != "assoc" || r.Server != s {
				continue
			}
			if r.Err != "" {
				as.Errs = append(as.Errs, fmt.Sprintf("rep %d: %s", r.Rep, r.Err))
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s associations rep %d: %s", s, r.Rep, r.Err))
				continue
			}
			if r.Assocs == 0 {
				continue
			}
			n = append(n, float64(r.Assocs))
			idle = append(idle, float64(r.IdleRSSKB)/1024)
			rss = append(rss, float64(r.AssocRSSKB-r.IdleRSSKB)/float64(r.Assocs))
			pss = append(pss, float64(r.AssocPSSKB-r.IdlePSSKB)/float64(r.Assocs))
			sys = append(sys, float64(r.SysDeltaKB)/float64(r.Assocs))
			if r.UsedRSSKB > 0 {
				urss = append(urss, float64(r.UsedRSSKB-r.IdleRSSKB)/float64(r.Assocs))
				upss = append(upss, float64(r.UsedPSSKB-r.IdlePSSKB)/float64(r.Assocs))
			}
		}
		as.Assocs, as.IdleRSSMB, as.RSSPerAssoc, as.PSSPerAss, as.SysPerAssoc = statOf(n), statOf(idle), statOf(rss), statOf(pss), statOf(sys)
		as.UsedRSS, as.UsedPSS = statOf(urss), statOf(upss)
		rep.Assoc[s] = as
	}
	for _, m := range modes {
		rep.CompareRate[m] = compareRate(rep.Loads, rep.Servers, m)
		for _, s := range rep.Servers {
			rep.Rows = append(rep.Rows, makeRow(rep.Loads, s, m, rep.CompareRate[m], rep.Assoc[s]))
		}
	}
	return rep
}

// compareRate is the highest target rate at which every server passed
// every repetition it ran (the servers are compared at the same load);
// if there is none, the lowest rate run.
func compareRate(loads []Record, servers []string, mode string) int {
	passed := map[int]bool{}
	ran := map[int]map[string]bool{}
	for _, r := range loads {
		if r.Mode != mode || r.leftOut() {
			continue
		}
		if ran[r.Rate] == nil {
			ran[r.Rate] = map[string]bool{}
			passed[r.Rate] = true
		}
		ran[r.Rate][r.Server] = true
		if !r.ok() {
			passed[r.Rate] = false
		}
	}
	best, lowest := 0, 0
	for rate, ok := range passed {
		if lowest == 0 || rate < lowest {
			lowest = rate
		}
		all := true
		for _, s := range servers {
			all = all && ran[rate][s]
		}
		if ok && all && rate > best {
			best = rate
		}
	}
	if best == 0 {
		return lowest
	}
	return best
}

func makeRow(loads []Record, server, mode string, rate int, as assocStats) row {
	rw := row{Server: server, Mode: mode}
	best := map[int]float64{} // per repetition
	reps := map[int]bool{}
	partial := map[int]bool{} // repetitions with runs left out
	var cpu, per, rss, pss, p50, p99, guest, host, exact, exactPer, kernel []float64
	for _, r := range loads {
		if r.Server == server && r.Mode == mode && r.leftOut() {
			partial[r.Rep] = true
		}
		if r.Server != server || r.Mode != mode || r.leftOut() {
			continue
		}
		rw.Runs++
		reps[r.Rep] = true
		if !r.ok() {
			rw.Failed++
		} else {
			best[r.Rep] = max(best[r.Rep], r.Achieved)
		}
		if r.Rate != rate || r.Err != "" || r.Requests == 0 {
			continue
		}
		cpu = append(cpu, perK(r.ServerCPU, r.Requests))
		if r.ServerCPU > 0 {
			per = append(per, float64(r.Requests)/r.ServerCPU)
		}
		rss = append(rss, float64(r.RSSKB)/1024)
		pss = append(pss, float64(r.PSSKB)/1024)
		if r.ProbeN > 0 {
			p50 = append(p50, r.P50us)
			p99 = append(p99, r.P99us)
		}
		if r.GuestCPU > 0 {
			guest = append(guest, perK(r.GuestCPU, r.Requests))
		}
		if r.HostCPU > 0 {
			host = append(host, perK(r.HostCPU, r.Requests))
		}
		if r.ServerHostCPU > 0 {
			exact = append(exact, perK(r.ServerHostCPU, r.Requests))
			exactPer = append(exactPer, float64(r.Requests)/r.ServerHostCPU)
			kernel = append(kernel, perK(r.KernelHostCPU, r.Requests))
		}
	}
	var rates []float64
	for rp := range reps {
		if _, ok := best[rp]; !ok && partial[rp] {
			continue // its only runs failed and the lower rates were left out: unknown
		}
		rates = append(rates, best[rp]) // 0 when no rate passed
	}
	rw.MaxRate = statOf(rates)
	rw.CPUPerK, rw.ReqPerCPU, rw.RSSMB, rw.PSSMB = statOf(cpu), statOf(per), statOf(rss), statOf(pss)
	rw.P50, rw.P99, rw.GuestPerK = statOf(p50), statOf(p99), statOf(guest)
	rw.HostPerK = statOf(host)
	rw.ExactPerK, rw.ExactPerCPU, rw.KernelPerK = statOf(exact), statOf(exactPer), statOf(kernel)
	if transportOf(mode) == "SCTP" {
		rw.KBPerAssoc = as.UsedRSS // in use: the conservative figure
		if rw.KBPerAssoc.N == 0 {
			rw.KBPerAssoc = as.RSSPerAssoc
		}
	}
	return rw
}

var modeNames = map[string]string{
	"s1": "SCTP, one association (s1)",
	"sn": "SCTP, association per call (sn)",
	"u1": "UDP, reference (u1)",
}

func modeName(m string) string { return cmp.Or(modeNames[m], m) }

// ratio returns a/b's medians as "1.23x" ("—" if either is missing).
func ratio(a, b stat) string {
	if a.N == 0 || b.N == 0 || b.Med == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", a.Med/b.Med)
}

// markdown renders the report.
func (rep report) markdown(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", title)
	for _, s := range []string{serverAcli, serverKamailio} {
		if why, gone := rep.Unavailable[s]; gone {
			fmt.Fprintf(&b, "- **%s: not available** (%s)\n", s, oneLine(why))
		} else if note := rep.Setup[s]; note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", s, oneLine(note))
		}
	}
	b.WriteString("\nCells: median (min–max) over repetitions. CPU, RSS and response times are taken at the comparison rate " +
		"(the highest target rate every server passed with zero failures in every repetition). " +
		"Max rate: the highest rate SIPp achieved with zero failed calls. " +
		"Server CPU: utime+stime of the server's processes (tick-sampled). Whole guest CPU: every busy tick of the guest " +
		"during the run (SIPp, the server, the kernel's network work, the probe) per 1,000 requests: immune to how ticks " +
		"are attributed, and SIPp's share is the same for both servers. Host CPU: the CPU the host spent on the whole guest " +
		"(UML kernel, SIPp, server, probe) in the host's own accounting; on the host reference, SIPp, server and probe. " +
		"Server CPU, host clock: the exact CPU time (schedstat, ns) of the host processes that run the server's guest " +
		"address spaces: its own code and the host's side of its system calls, not the guest kernel's work for it, which is in " +
		"the UML kernel column (the UML kernel process: every guest process's kernel work, SIPp's included). " +
		"p50/p99: the harness's probe, in the run's mode.\n\n")
	b.WriteString("| mode | server | compare at (calls/s) | max rate, 0 failures (calls/s) | server CPU s / 1k req | req / CPU s | server CPU s / 1k req, host clock | req / CPU s, host clock | UML kernel CPU s / 1k req | whole guest CPU s / 1k req | host CPU s / 1k req | peak RSS MB (PSS) | RSS KB / assoc | p50 µs | p99 µs |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range rep.Modes {
		byServer := map[string]row{}
		for _, rw := range rep.Rows {
			if rw.Mode != m {
				continue
			}
			byServer[rw.Server] = rw
			failed := ""
			if rw.Failed > 0 {
				failed = fmt.Sprintf(" (%d/%d runs failed)", rw.Failed, rw.Runs)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s%s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s |\n",
				modeName(m), rw.Server, rep.CompareRate[m], rw.MaxRate.format(0), failed, rw.CPUPerK.format(3), rw.ReqPerCPU.format(0),
				rw.ExactPerK.format(4), rw.ExactPerCPU.format(0), rw.KernelPerK.format(3), rw.GuestPerK.format(3), rw.HostPerK.format(3), rw.RSSMB.format(1), rw.PSSMB.format(1), rw.KBPerAssoc.format(2), rw.P50.format(0), rw.P99.format(0))
		}
		a, ok1 := byServer[serverAcli]
		k, ok2 := byServer[serverKamailio]
		if ok1 && ok2 {
			kb := "—"
			if transportOf(m) == "SCTP" {
				kb = ratio(a.KBPerAssoc, k.KBPerAssoc)
			}
			fmt.Fprintf(&b, "| %s | **acli / Kamailio** | | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				modeName(m), ratio(a.MaxRate, k.MaxRate), ratio(a.CPUPerK, k.CPUPerK), ratio(a.ReqPerCPU, k.ReqPerCPU),
				ratio(a.ExactPerK, k.ExactPerK), ratio(a.ExactPerCPU, k.ExactPerCPU), ratio(a.KernelPerK, k.KernelPerK), ratio(a.GuestPerK, k.GuestPerK), ratio(a.HostPerK, k.HostPerK), ratio(a.RSSMB, k.RSSMB), kb, ratio(a.P50, k.P50), ratio(a.P99, k.P99))
		}
	}
	b.WriteString("\n### Memory per open SCTP association\n\n")
	b.WriteString("Associations opened by the harness (runtime/sctp.Dial, 10 streams out, 65,535 in: what SIPp asks for). " +
		"Bare: open, no message yet. In use: after one OPTIONS answered on each (the main table's figure). " +
		"Guest memory: the drop of MemAvailable with the bare associations open, both ends' kernel memory included.\n\n")
	b.WriteString("| server | associations | idle RSS MB | RSS KB / assoc, bare | PSS KB / assoc, bare | RSS KB / assoc, in use | PSS KB / assoc, in use | guest memory KB / assoc |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range rep.Servers {
		as := rep.Assoc[s]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", s, as.Assocs.format(0), as.IdleRSSMB.format(1),
			as.RSSPerAssoc.format(2), as.PSSPerAss.format(2), as.UsedRSS.format(2), as.UsedPSS.format(2), as.SysPerAssoc.format(1))
	}
	b.WriteString("\n### Every load run\n\n")
	b.WriteString("| server | mode | rate | rep | calls ok | failed | achieved/s | server CPU s (sys) | CPU s / 1k | SIPp CPU s | server CPU s, host clock (stubs) | UML kernel CPU s | guest busy % (CPU s) | host CPU s | procs | peak RSS MB | p50 µs | p99 µs | probes (failed) | host other cores |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	loads := slices.Clone(rep.Loads)
	slices.SortStableFunc(loads, func(x, y Record) int {
		return cmp.Or(cmp.Compare(slices.Index(rep.Modes, x.Mode), slices.Index(rep.Modes, y.Mode)),
			cmp.Compare(x.Rate, y.Rate), cmp.Compare(x.Server, y.Server), cmp.Compare(x.Rep, y.Rep))
	})
	for _, r := range loads {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %.0f | %.2f (%.2f) | %.3f | %.1f | %s | %s | %.0f (%.1f) | %.1f | %d | %.1f | %.0f | %.0f | %d (%d) | %s |\n",
			r.Server, r.Mode, r.Rate, r.Rep, r.Successful, r.Failed, r.Achieved, r.ServerCPU, r.ServerSys, perK(r.ServerCPU, r.Requests),
			r.SIPpCPU, hostClock(r.ServerHostCPU, r.Stubs), hostClock(r.KernelHostCPU, -1), r.GuestBusy*100, r.GuestCPU, r.HostCPU, r.Procs, float64(r.RSSKB)/1024, r.P50us, r.P99us, r.ProbeN, r.ProbeFail, hostOther(r))
	}
	if len(rep.Problems) > 0 {
		b.WriteString("\nProblems:\n\n")
		for _, p := range rep.Problems {
			fmt.Fprintf(&b, "- %s\n", oneLine(p))
		}
	}
	return b.String()
}

// hostClock renders a host-clock CPU figure ("—" if none), with the
// number of stubs counted unless stubs < 0.
func hostClock(s float64, stubs int) string {
	if s == 0 {
		return "—"
	}
	if stubs < 0 {
		return fmt.Sprintf("%.3f", s)
	}
	return fmt.Sprintf("%.3f (%d)", s, stubs)
}

func hostOther(r Record) string {
	if r.Start == 0 {
		return "—"
	}
	s := fmt.Sprintf("%.2f", r.HostOther)
	if r.leftOut() {
		s += " (left out)"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
