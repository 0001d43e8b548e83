package main

import (
	"cmp"
	"fmt"
	"math"
	goruntime "runtime"
	"slices"
	"strings"
)

// nativeRow is one workload, transport and server of the native summary:
// each stat is over the repetitions.
type nativeRow struct {
	Workload, Mode, Server string
	CPUus                  stat // server CPU per request, µs
	Throughput             stat // calls/s SIPp achieved
	Failed                 stat // failed calls per run
	P50, P99               stat // µs, the probe's
	Runs, UnderLoad        int
	Errs                   int // runs without figures
}

// nativeRows aggregates the load records of a native run, in the order
// of the plan's workloads, transports and servers.
func nativeRows(recs []Record, p Plan) []nativeRow {
	var rows []nativeRow
	for _, w := range p.Workloads {
		for _, m := range p.Transports {
			for _, s := range p.Servers {
				rw := nativeRow{Workload: w, Mode: m, Server: s}
				var cpu, thr, failed, p50, p99 []float64
				for _, r := range recs {
					if r.Kind != "load" || r.Workload != w || r.Mode != m || r.Server != s {
						continue
					}
					rw.Runs++
					if r.Contended {
						rw.UnderLoad++
					}
					if r.Requests == 0 || r.Err != "" {
						rw.Errs++
						continue
					}
					cpu = append(cpu, usPer(r.ServerCPU, r.Requests))
					thr = append(thr, r.Achieved)
					failed = append(failed, float64(r.Failed))
					if r.ProbeN > 0 {
						p50 = append(p50, r.P50us)
						p99 = append(p99, r.P99us)
					}
				}
				if rw.Runs == 0 {
					continue
				}
				rw.CPUus, rw.Throughput, rw.Failed, rw.P50, rw.P99 = statOf(cpu), statOf(thr), statOf(failed), statOf(p50), statOf(p99)
				rows = append(rows, rw)
			}
		}
	}
	return rows
}

// findRow returns the row of workload w, transport m and server s.
func findRow(rows []nativeRow, w, m, s string) (nativeRow, bool) {
	i := slices.IndexFunc(rows, func(r nativeRow) bool { return r.Workload == w && r.Mode == m && r.Server == s })
	if i < 0 {
		return nativeRow{}, false
	}
	return rows[i], true
}

// goal is one of issue 15's goals, judged on the medians of a native run.
type goal struct {
	Workload, Mode string
	Want, Got      string
	Met            bool
}

// nativeGoals judges each workload and transport where both servers ran:
// CPU per request at most 0.8x Kamailio's (fixed rates); at saturation,
// throughput at least Kamailio's with no failed call in any run.
func nativeGoals(rows []nativeRow) []goal {
	var out []goal
	for _, rw := range rows {
		if rw.Server != serverAcli {
			continue
		}
		k, ok := findRow(rows, rw.Workload, rw.Mode, serverKamailio)
		if !ok || rw.CPUus.N == 0 || k.CPUus.N == 0 {
			continue
		}
		g := goal{Workload: rw.Workload, Mode: rw.Mode}
		if rw.Workload == wlSaturate {
			g.Want = "throughput >= Kamailio's, 0 failed calls"
			g.Met = rw.Throughput.Med >= k.Throughput.Med && rw.Failed.Max == 0
			g.Got = fmt.Sprintf("%.0f vs %.0f calls/s (%.2fx), failed calls up to %.0f (Kamailio %.0f)",
				rw.Throughput.Med, k.Throughput.Med, rw.Throughput.Med/k.Throughput.Med, rw.Failed.Max, k.Failed.Max)
		} else {
			g.Want = "CPU per request <= 0.8x Kamailio's"
			r := rw.CPUus.Med / k.CPUus.Med
			g.Met = r <= 0.8
			g.Got = fmt.Sprintf("%.1f vs %.1f µs (%.2fx)", rw.CPUus.Med, k.CPUus.Med, r)
		}
		out = append(out, g)
	}
	return out
}

func transportName(mode string) string {
	return map[string]string{"u1": "UDP", "t1": "TCP"}[mode]
}

// nativeHeader describes the machine and the command of a native run.
func nativeHeader(p Plan, recs []Record) string {
	var b strings.Builder
	b.WriteString("# acli-bench native\n\n")
	fmt.Fprintf(&b, "Command: `%s`\n\n", p.Command)
	fmt.Fprintf(&b, "- Host: %s, %d cores, kernel %s, %s\n", cpuModel(), goruntime.NumCPU(), unameRelease(), goruntime.Version())
	for _, r := range recs {
		if r.Kind == "env" || r.Kind == "setup" {
			who := ""
			if r.Server != "" {
				who = r.Server + ": "
			}
			fmt.Fprintf(&b, "- %s%s\n", who, oneLine(strings.TrimSpace(r.Note+" "+r.Err)))
		}
	}
	fmt.Fprintf(&b, "- Runs: %d calls each, %d repetitions; options at %d/s, message at %d/s, saturate with -l %d; probe %d req/s\n\n",
		p.Calls, p.Reps, p.OptionsRate, p.MessageRate, p.SatLimit, p.ProbeRate)
	return b.String()
}

// nativeMarkdown renders the summary, the goals and every run.
func nativeMarkdown(recs []Record, p Plan) string {
	var b strings.Builder
	rows := nativeRows(recs, p)
	b.WriteString("## acli against Kamailio on the host kernel\n\n")
	for _, r := range recs {
		if r.Kind == "unavailable" {
			fmt.Fprintf(&b, "- **%s: not available** (%s)\n", r.Server, oneLine(r.Err))
		}
	}
	b.WriteString("Cells: median (min–max) over the repetitions. CPU: schedstat run time of every thread of the server's processes " +
		"(sampled every 100 ms) from after start-up to the end of the load, per request (SIPp's calls and the probe's). " +
		"Throughput: SIPp's average calls/s over the run. p50/p99: the harness's probe, same transport and request.\n\n")
	b.WriteString("| workload | transport | server | CPU µs / request | throughput calls/s | failed calls | p50 µs | p99 µs | runs (under load, without figures) |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|\n")
	for i, rw := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d (%d, %d) |\n", workloadNames[rw.Workload], transportName(rw.Mode), rw.Server,
			rw.CPUus.format(1), rw.Throughput.format(0), rw.Failed.format(0), rw.P50.format(0), rw.P99.format(0), rw.Runs, rw.UnderLoad, rw.Errs)
		if i+1 < len(rows) && rows[i+1].Workload == rw.Workload && rows[i+1].Mode == rw.Mode {
			continue // the ratios follow the last server of the workload and transport
		}
		for _, pair := range [][2]string{{serverAcli, serverKamailio}, {serverAcliBase, serverKamailio}, {serverAcli, serverAcliBase}} {
			a, ok1 := findRow(rows, rw.Workload, rw.Mode, pair[0])
			k, ok2 := findRow(rows, rw.Workload, rw.Mode, pair[1])
			if ok1 && ok2 {
				fmt.Fprintf(&b, "| | | **%s / %s** | %s | %s | | %s | %s | |\n", a.Server, strings.Replace(k.Server, serverKamailio, "Kamailio", 1),
					ratio(a.CPUus, k.CPUus), ratio(a.Throughput, k.Throughput), ratio(a.P50, k.P50), ratio(a.P99, k.P99))
			}
		}
	}
	if gs := nativeGoals(rows); len(gs) > 0 {
		b.WriteString("\nGoals (issue 15), on the medians:\n\n")
		for _, g := range gs {
			verdict := "**not met**"
			if g.Met {
				verdict = "met"
			}
			fmt.Fprintf(&b, "- %s, %s: %s — %s: %s\n", workloadNames[g.Workload], transportName(g.Mode), g.Want, verdict, g.Got)
		}
	}
	b.WriteString("\n### Every run\n\n")
	b.WriteString("| workload | transport | server | rep | target/s | calls ok | failed | calls/s | UDP drops | server CPU s (process clocks) | threads | µs / request | p50 µs | p99 µs | load average | other work, cores |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n")
	loads := slices.DeleteFunc(slices.Clone(recs), func(r Record) bool { return r.Kind != "load" })
	slices.SortStableFunc(loads, func(x, y Record) int {
		return cmp.Or(cmp.Compare(slices.Index(p.Workloads, x.Workload), slices.Index(p.Workloads, y.Workload)),
			cmp.Compare(slices.Index(p.Transports, x.Mode), slices.Index(p.Transports, y.Mode)), cmp.Compare(x.Server, y.Server), cmp.Compare(x.Rep, y.Rep))
	})
	var problems []string
	worst := 0.0
	for _, r := range loads {
		other := hostOther(r)
		if r.Contended {
			other = fmt.Sprintf("%.2f (under load)", r.HostOther)
		}
		target := "none"
		if r.Rate > 0 {
			target = fmt.Sprint(r.Rate)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %d | %d | %.0f | %d | %.3f (%.3f) | %d | %.1f | %.0f | %.0f | %s | %s |\n",
			r.Workload, transportName(r.Mode), r.Server, r.Rep, target, r.Successful, r.Failed, r.Achieved, r.UDPDrops, r.ServerCPU, r.ClockCPU, r.Threads,
			usPer(r.ServerCPU, r.Requests), r.P50us, r.P99us, r.LoadAvg, other)
		if r.Err != "" {
			problems = append(problems, fmt.Sprintf("%s %s %s rep %d: %s", r.Server, r.Workload, transportName(r.Mode), r.Rep, r.Err))
		}
		if r.ClockCPU > 0 {
			worst = max(worst, math.Abs(r.ServerCPU-r.ClockCPU)/r.ClockCPU)
		}
	}
	fmt.Fprintf(&b, "\nschedstat against the process clocks: at most %.2f%% apart in any run.\n", worst*100)
	if len(problems) > 0 {
		b.WriteString("\nProblems:\n\n")
		for _, p := range problems {
			fmt.Fprintf(&b, "- %s\n", oneLine(p))
		}
	}
	return b.String()
}
