package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/acli-project/acli/internal/uml"
)

// shMain is `acli-bench guest-sh 'COMMANDS'`: it boots the benchmark's
// guest (one CPU, SCTP modules loaded, ulimit -n 65536) and runs COMMANDS
// with /bin/sh in the current directory, for reproducing a figure by hand
// (strace -c of a server under SIPp, say). The guest is bounded at 30
// minutes.
func shMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: acli-bench guest-sh 'COMMANDS'")
		return 2
	}
	kernel, err := uml.FindUML()
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench guest-sh: %v\n", err)
		return 1
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench guest-sh: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "acli-bench-sh-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench guest-sh: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	g := &uml.Guest{Dir: dir, Binary: "/bin/sh", Args: []string{"-c", args[0]}, WorkDir: wd, Env: uml.GuestEnviron(os.Environ())}
	code, err := g.Run(ctx, kernel, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench guest-sh: %v\n", err)
		return 1
	}
	return code
}
