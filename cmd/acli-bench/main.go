// Command acli-bench benchmarks the acli runtime against the peer an
// operator would otherwise pick.
//
//	go run ./cmd/acli-bench native [flags]
//	go run ./cmd/acli-bench sip [flags]
//
// native: acli and Kamailio on the host kernel (no UML), over UDP and
// TCP, each server pinned to one CPU and SIPp to another: OPTIONS at a
// fixed rate, MESSAGE forwarded statelessly to a SIPp UAS session-agent,
// and OPTIONS at saturation; server CPU from the schedstat clock of every
// thread (native.go).
//
// sip: SIP OPTIONS over SCTP (and UDP as a reference) against Kamailio. It
// installs what it needs (Debian: kamailio, kamailio-sctp-modules,
// sip-tester, user-mode-linux, kmod) when missing, builds acli, boots one
// User-Mode Linux guest (one CPU, kernel SCTP) and in it runs, one after the
// other and alternating, `acli serve` and Kamailio (testdata/bench), each
// driven by SIPp at a rate sweep, several repetitions. It reports per
// server and mode: the highest rate with zero failed calls, server CPU
// seconds per 1,000 requests, resident memory and memory per open
// association, p50/p99 response time, and the acli/Kamailio ratios, as a
// Markdown table on stdout and in a file. See BENCHMARKS.md.
//
// The guest re-executes this binary as `acli-bench guest-run -plan FILE`.
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		printUsage()
		return 2
	}
	switch args[0] {
	case "sip":
		return sipMain(args[1:])
	case "native":
		return nativeMain(args[1:])
	case "guest-run":
		return guestMain(args[1:])
	case "report":
		return reportMain(args[1:])
	case "acli-serve":
		return serveMain(args[1:])
	case "guest-sh":
		return shMain(args[1:])
	case "help", "-h", "--help":
		printUsage()
		return 0
	}
	fmt.Fprintf(os.Stderr, "acli-bench: unknown subcommand %q\n", args[0])
	printUsage()
	return 2
}

func printUsage() {
	fmt.Fprint(os.Stderr, `usage: acli-bench native|sip [flags]   (acli-bench native -h for the flags)

  native     acli serve against Kamailio on the host kernel over UDP and TCP:
             OPTIONS at a fixed rate, MESSAGE forwarded to a SIPp agent,
             OPTIONS at saturation; servers and SIPp pinned to distinct CPUs
  sip        SIP OPTIONS over SCTP and UDP: acli serve against Kamailio, in a
             User-Mode Linux guest, driven by SIPp
  report     render the Markdown of a run's raw records again: acli-bench report FILE.jsonl
  guest-sh   run shell commands in the benchmark's guest: acli-bench guest-sh 'CMDS'
  guest-run  (internal) the driver that runs inside the guest
  acli-serve (internal) acli's daemon in this process, with a CPU profile (sip -profile)
`)
}
