package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/acli-project/acli/runtime"
)

// serveMain is `acli-bench acli-serve -db F -control S -cpuprofile P`: the
// daemon of `acli serve` (runtime.Start, as cmd/acli/serve.go runs it),
// in this process, with a CPU profile written when it stops on SIGTERM or
// SIGINT. acli-bench sip -profile runs it in place of `acli serve` to
// show where the runtime spends its CPU under SIPp (go tool pprof -top
// acli-bench FILE).
func serveMain(args []string) int {
	fs := flag.NewFlagSet("acli-bench acli-serve", flag.ContinueOnError)
	db := fs.String("db", "", "configuration database")
	sock := fs.String("control", "", "control socket")
	prof := fs.String("cpuprofile", "", "CPU profile `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *db == "" || *prof == "" {
		fmt.Fprintln(os.Stderr, "acli-bench acli-serve: -db and -cpuprofile are required")
		return 2
	}
	f, err := os.Create(*prof)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pprof.StopCPUProfile()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := runtime.Start(runtime.DaemonOptions{DB: *db, Control: *sock, Log: log})
	if err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench acli-serve: %v\n", err)
		return 1
	}
	<-sigs
	if err := d.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "acli-bench acli-serve: %v\n", err)
		return 1
	}
	return 0
}
