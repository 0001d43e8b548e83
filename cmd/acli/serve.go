package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/acli-project/acli/model/store"
	"github.com/acli-project/acli/runtime"
	"github.com/acli-project/acli/runtime/control"
)

// serve runs the runtime daemon on the database at path:
//
//	acli [--db FILE] serve [--control SOCK] [--log-level LEVEL]
//
// It applies the running configuration, answers the shells on the control
// socket, re-applies on SIGHUP and stops gracefully on SIGTERM or SIGINT.
// Logs are structured (log/slog text) on stderr.
//
// With --etcd, st is the configuration on etcd and path the base of the
// control socket's default name; the daemon watches etcd and applies a new
// running version as soon as it is activated.
func serve(path string, st *store.Store, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("acli serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sock := fs.String("control", control.SocketPath(path), "control socket `path` (default $ACLI_CONTROL, else the database path + .sock)")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: acli [--db FILE] serve [--control SOCK] [--log-level LEVEL]\n\nRuns the runtime: live SIP listeners of the running configuration.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "acli serve: unexpected argument %q: allowed --control SOCK, --log-level LEVEL\n", fs.Arg(0))
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "acli serve: --log-level %q: allowed debug, info, warn or error\n", *level)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	d, err := runtime.Start(runtime.DaemonOptions{DB: path, Store: st, Control: *sock, Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "acli serve: %v\n", err)
		return 1
	}
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				log.Info("SIGHUP: applying the running configuration again")
				d.Apply()
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			if err := d.Close(); err != nil {
				log.Error("shutdown", "err", err)
				return 1
			}
			return 0
		case err := <-d.Done():
			if err != nil {
				log.Error("control socket failed", "err", err)
			}
			d.Close()
			return 1
		}
	}
}
